#!/usr/bin/env bash
# Sets up and runs every test: installs packages, builds with warnings as
# errors under CI, and runs the whole ctest suite (unit, actor, integration
# and end-to-end tests; the end-to-end tests start their own registry and
# PostgreSQL on free loopback ports) twice: in build/, then in build-asan/
# with AddressSanitizer + UndefinedBehaviorSanitizer, where any finding in
# a test or in a daemon it starts fails the test. Both builds have the
# test-only fault injection. SANITIZE=0 skips the second run (local use).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh build -DREGEVENT_FAULT_INJECTION=ON
(cd build && ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@")
[ "${SANITIZE:-1}" = "0" ] && exit 0
# No bench: CI never runs it, so its sanitized build would be time lost.
scripts/build.sh build-asan -DREGEVENT_SANITIZE=ON \
  -DREGEVENT_FAULT_INJECTION=ON -DREGEVENT_BUILD_BENCH=OFF
cd build-asan
ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@"
