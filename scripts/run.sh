#!/usr/bin/env bash
# Sets up and runs the daemon on its embedded default: SQLite ./regevent.db,
# listening on 127.0.0.1:8080. Extra arguments go to regeventd.
# The release daemon is built in build-release/, without the tests and
# without the test-only fault injection (which build/ has for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh build-release -DREGEVENT_FAULT_INJECTION=OFF \
  -DREGEVENT_SANITIZE=OFF -DREGEVENT_BUILD_TESTS=OFF -DREGEVENT_BUILD_BENCH=OFF
exec build-release/regeventd "$@"
