#!/usr/bin/env bash
# Sets up and runs the daemon on its embedded default: SQLite ./regevent.db,
# listening on 127.0.0.1:8080. Extra arguments go to regeventd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh
exec build/regeventd "$@"
