#!/usr/bin/env bash
# Fails when a test secret shows in what the suite's daemons wrote: every
# file under LOG_DIR (their logs, --check-config output, API answers) is
# searched for each quoted value of SECRETS_HEADER that holds the marker
# TSECRET, and each hit is named by file, line and secret.
#   check_logs.sh SECRETS_HEADER LOG_DIR
#   check_logs.sh --self-test SECRETS_HEADER   (proves a leak is found)
set -euo pipefail

# "name value" for every secret of the header.
secrets_of() {
  sed -n 's/.*[^a-z_]\([a-z_]*\) = "\([^"]*TSECRET[^"]*\)".*/\1 \2/p' "$1"
}

check() {
  local header=$1 dir=$2 leaks=0 count=0 name value hit
  [ -d "$dir" ] || { echo "no log directory $dir"; return 2; }
  while read -r name value; do
    count=$((count + 1))
    while IFS= read -r hit; do
      echo "LEAK: $name in ${hit%%:*}, line $(cut -d: -f2 <<<"$hit")"
      leaks=$((leaks + 1))
    done < <(grep -rnF -- "$value" "$dir" | cut -d: -f1,2 || true)
  done < <(secrets_of "$header")
  [ "$count" -gt 0 ] || { echo "no TSECRET values in $header"; return 2; }
  echo "$(find "$dir" -type f | wc -l) files searched for $count secrets:" \
    "$leaks leaks"
  [ "$leaks" -eq 0 ]
}

if [ "${1:-}" = "--self-test" ]; then
  header=$2
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
  read -r name value < <(secrets_of "$header" | tail -1)
  printf 'a clean line\n' >"$dir/clean.log"
  check "$header" "$dir" >/dev/null || { echo "a clean log failed"; exit 1; }
  printf 'one\nsaid %s here\n' "$value" >"$dir/leaky.log"
  if out=$(check "$header" "$dir"); then
    echo "a leaked $name was not found: $out"
    exit 1
  fi
  grep -qF "LEAK: $name in $dir/leaky.log, line 2" <<<"$out" ||
    { echo "the leak was not named by file and line: $out"; exit 1; }
  echo "a leaked $name is found and named: ok"
  exit 0
fi
check "$1" "$2"
