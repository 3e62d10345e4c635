#!/usr/bin/env bash
# Builds the Debian package (CPack DEB) from a build tree, reusing what is
# built there: only regeventd is brought up to date, never the tests.
#   scripts/package.sh [BUILD_DIR [OUT_DIR]]
# BUILD_DIR defaults to build-release/, configured like scripts/run.sh's
# (no tests, no fault injection) when it does not exist yet; OUT_DIR (the
# .deb) to BUILD_DIR/package/. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-release}
out=${2:-$dir/package}
if [ ! -f "$dir/CPackConfig.cmake" ]; then
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DREGEVENT_FAULT_INJECTION=OFF -DREGEVENT_SANITIZE=OFF \
    -DREGEVENT_BUILD_TESTS=OFF -DREGEVENT_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$dir" --target regeventd -j "${JOBS:-2}" >/dev/null
mkdir -p "$out"
# The packaging scratch space stays per output directory, so that two
# packagings of one build tree (a test and an operator) do not collide.
cpack --config "$dir/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 || {
  cat "$out/cpack.log" >&2
  exit 1
}
ls -t "$out"/regevent_*.deb | head -n 1
