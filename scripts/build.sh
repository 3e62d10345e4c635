#!/usr/bin/env bash
# Configures and builds regevent (Release with debug info).
#   scripts/build.sh [DIR [CMAKE_OPTION...]]
# DIR is the build directory (default build/); the options go to the
# configure step, e.g. -DREGEVENT_FAULT_INJECTION=ON for the tests (see
# scripts/test.sh) or -DREGEVENT_BUILD_TESTS=OFF for the daemon alone (see
# scripts/run.sh). One directory per set of options, so that switching
# between them never rebuilds the world.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DREGEVENT_WERROR="$werror" "$@" >/dev/null
cmake --build "$dir" -j "${JOBS:-2}"
