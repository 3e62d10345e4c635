#!/usr/bin/env bash
# Sets up and runs every test: installs packages, builds with warnings as
# errors under CI, and runs the whole ctest suite (unit, actor, integration
# and end-to-end tests; the end-to-end tests start their own registry and
# PostgreSQL on free loopback ports) twice: in build/ (g++), then in
# build-asan/ (clang) with AddressSanitizer + UndefinedBehaviorSanitizer,
# where any finding in a test or in a daemon it starts fails the test, and
# with a short run of each fuzz target (tests/fuzz/README.md). Both builds
# have the test-only fault injection. SANITIZE=0 skips the second run (local use).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh build -DREGEVENT_FAULT_INJECTION=ON
(cd build && ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@")
[ "${SANITIZE:-1}" = "0" ] && exit 0
# No bench: CI never runs it, so its sanitized build would be time lost.
# clang, not g++: the same build then holds the libFuzzer targets
# (tests/fuzz/), whose ctest tests are a short fuzzing run each, for a few
# links more instead of a second build of everything. A build-asan/ made
# with g++ before starts over: CMake forgets the options given to it when
# its compiler changes.
if [ -f build-asan/CMakeCache.txt ] \
   && ! grep -q '^CMAKE_CXX_COMPILER:.*clang' build-asan/CMakeCache.txt; then
  rm -rf build-asan
fi
scripts/build.sh build-asan -DCMAKE_CXX_COMPILER=clang++-14 \
  -DREGEVENT_SANITIZE=ON -DREGEVENT_FUZZ=ON \
  -DREGEVENT_FAULT_INJECTION=ON -DREGEVENT_BUILD_BENCH=OFF
cd build-asan
ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@"
