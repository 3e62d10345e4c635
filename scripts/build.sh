#!/usr/bin/env bash
# Configures and builds regevent into build/ (Release with debug info).
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREGEVENT_WERROR="$werror" >/dev/null
cmake --build build -j "${JOBS:-2}"
