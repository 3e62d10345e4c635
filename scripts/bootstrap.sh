#!/usr/bin/env bash
# Installs every Debian package regevent needs to build, run, test and
# benchmark, on a fresh Debian 12 as root. Idempotent: installed packages are
# left alone.
set -euo pipefail

packages=(
  # build
  build-essential cmake ccache pkg-config clang-format
  # the sanitized build and the fuzz targets (scripts/test.sh): Debian's
  # clang 14, and its run-time libraries (ASan, UBSan, libFuzzer), which
  # clang only recommends
  clang clang-14 libclang-rt-14-dev
  # libraries (design card: CAF, Beast, nlohmann/json, SOCI, spdlog)
  libcaf-dev libboost1.74-dev libboost-system1.74-dev nlohmann-json3-dev
  libsoci-dev libsqlite3-dev libpq-dev libspdlog-dev libfmt-dev
  libyaml-cpp-dev libcli11-dev liburiparser-dev libssl-dev
  # random UUIDs (scanner registration ids)
  uuid-dev
  # metrics: counters, gauges, histograms and the text exposition
  prometheus-cpp-dev
  # tests (libarchive: the end-to-end tests write OCI image layouts)
  libgtest-dev googletest sqlite3 curl libarchive-dev
  # the webhook tests' receiver (tests/fixtures/webhook_receiver.py) and the
  # registry client tests' token service double
  python3
  # htpasswd: bcrypt password files for registries with Basic auth
  apache2-utils
  # the outbound client tests make their CA and certificates with the CLI
  openssl ca-certificates
  # the Debian package (scripts/package.sh): CPack finds the ELF files
  # with `file`, dpkg-shlibdeps (dpkg-dev) derives the dependencies
  dpkg-dev file
  # real peers for end-to-end and PostgreSQL tests
  docker-registry skopeo postgresql postgresql-client
  # benchmark profiles (bench/README.md): perf, callgrind where perf is
  # not supported
  linux-perf valgrind
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}; run as root" >&2
  exit 1
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian packages enable system services we never use: tests start
# their own registry and PostgreSQL on free loopback ports.
for svc in docker-registry postgresql; do
  if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now "$svc" >/dev/null 2>&1 || true
  fi
done
echo "bootstrap: done"
