#!/usr/bin/env bash
# The reconcile's walk rate (issue 15): a real registry (Debian's
# `docker-registry serve`, CNCF Distribution 2.8.2, on 127.0.0.1 port 0)
# holding REPOS repositories pushed with skopeo before regevent starts,
# then regeventd importing it at start (`reconcile.on_start`).
#   bench/reconcile.sh
# From the environment: REGEVENTD (default build/regeventd), REPOS (200:
# repositories, one tag each), CONCURRENCY (4: reconcile.concurrency), RATE
# (0: reconcile.rate, requests per second, 0 unlimited), PAGE_SIZE (100:
# reconcile.page_size), RESULTS_DIR (a new directory: reconcile.md, .json
# and the logs), WORK_DIR (a new directory under $TMPDIR, removed at the
# end unless KEEP=1). Needs docker-registry, skopeo, python3, curl, jq.
# Exit status 1 when the run fails or imports another number of
# repositories or tags than were pushed.
#
# What is measured: the run's own start and end times (the daemon's
# clock, from GET /api/v2.0/system/reconcile), so repositories/s covers the
# catalog walk, every repository's tag list and HEADs, and the writes; the
# daemon's CPU seconds over the run. The pushes before are not measured.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo_root=$PWD
helper=$repo_root/bench/replication_helper.py
regeventd=${REGEVENTD:-$repo_root/build/regeventd}
repos=${REPOS:-200}
concurrency=${CONCURRENCY:-4}
rate=${RATE:-0}
page_size=${PAGE_SIZE:-100}
keep=${KEEP:-0}
status=0
work=""
made_work=0
script_name=reconcile.sh
# shellcheck source=bench/lib.sh
. "$repo_root/bench/lib.sh"

for pair in "REPOS=$repos" "CONCURRENCY=$concurrency" "PAGE_SIZE=$page_size"; do
  [[ ${pair#*=} =~ ^[1-9][0-9]*$ ]] || die "${pair%%=*} must be a positive whole number, not '${pair#*=}'"
done
[[ $rate =~ ^[0-9]+$ ]] || die "RATE must be a whole number, not '$rate'"
setup_dirs reconcile

echo "== work $work, results $results ($(machine))" >&2
start_registry source
src=127.0.0.1:${ports[source]}
echo "== pushing $repos repositories to $src" >&2
python3 "$helper" small "$work/images" "$repos" 1024 \
  || die "cannot write the images' layout"
for ((i = 1; i <= repos; i++)); do
  skopeo_run copy --dest-tls-verify=false --dest-no-creds "oci:$work/images:s$i" \
    "docker://$src/bench/repo-$i:1" >>"$work/push.log" 2>&1 \
    || die "push $i failed: $(tail -3 "$work/push.log")"
done

token=$(openssl rand -hex 24) || die "openssl rand failed"
cat >"$work/regevent.yml" <<EOF
listen: 127.0.0.1:0
database:
  url: sqlite://$work/regevent.db
log:
  level: info
auth:
  admin_token: $token
source_registry:
  url: http://$src
reconcile:
  on_start: true
  concurrency: $concurrency
  rate: $rate
  page_size: $page_size
EOF
chmod 600 "$work/regevent.yml"
machine_start=$(machine)
start_regeventd "$work/regevent.yml"
cpu_before=$(process_cpu "$daemon_pid")
run=""
for ((i = 0; i < 36000; i++)); do
  run=$(curl -s -H "Authorization: Bearer $token" "$daemon/api/v2.0/system/reconcile")
  case "$(jq -r '.status // ""' <<<"$run" 2>/dev/null)" in
    succeeded | failed) break ;;
  esac
  sleep 0.1
done
cpu=$(since "$cpu_before" "$(process_cpu "$daemon_pid")")
echo "$run" >"$results/reconcile.json"
[ "$(jq -r .status <<<"$run")" = succeeded ] || fail "the run did not succeed: $run"
walked=$(jq -r .repositories_walked <<<"$run")
created=$(jq -r .created <<<"$run")
[ "$walked" = "$repos" ] || fail "walked $walked repositories, pushed $repos"
# One artifact and one tag per repository.
[ "$created" = $((2 * repos)) ] || fail "created $created, expected $((2 * repos))"
start_s=$(date -d "$(jq -r .start_time <<<"$run")" +%s.%N)
end_s=$(date -d "$(jq -r .end_time <<<"$run")" +%s.%N)
elapsed=$(since "$start_s" "$end_s")
version=$("$regeventd" --version 2>&1 | head -1)
{
  echo "| repositories | concurrency | rate (req/s) | seconds | repositories/s | daemon CPU s |"
  echo "|---|---|---|---|---|---|"
  echo "| $repos | $concurrency | $rate | $elapsed | $(per_s "$repos" "$elapsed") | $cpu |"
  echo
  echo "$version; $(date -u +%Y-%m-%dT%H:%M:%SZ); $machine_start; registry docker-registry (Distribution 2.8.2), SQLite"
} | tee "$results/reconcile.md"
exit $status
