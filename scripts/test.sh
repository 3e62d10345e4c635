#!/usr/bin/env bash
# Sets up and runs every test: installs packages, builds with warnings as
# errors under CI, and runs the whole ctest suite (unit, actor, integration
# and end-to-end tests; the end-to-end tests start their own registry and
# PostgreSQL on free loopback ports).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j "${TEST_JOBS:-2}" "$@"
