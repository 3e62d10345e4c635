#!/usr/bin/env bash
# Replication side by side (issue 11): regevent's copy engine against skopeo,
# in one run, on this machine, between real registries (Debian's
# `docker-registry serve`, CNCF Distribution 2.8.2) on 127.0.0.1 port 0.
#   bench/replication.sh
# From the environment: REGEVENTD (default /work/bench-bin/regeventd),
# LARGE_MIB (256: the big image's one random layer), SMALL_COUNT (50:
# single-layer images, one repository each), SMALL_KIB (4: their layers),
# WORKERS (4: replication.workers), POLL_INTERVAL_MS (the daemon's default
# replication.poll_interval_ms unless set), VERIFY_SAMPLE (5: small images
# whose digests are checked on both destinations), COPY_TIMEOUT (1800 s,
# per skopeo process and per execution), RESULTS_DIR (a new directory: the
# table as replication.md and .json, and the logs), WORK_DIR (a new
# directory under $TMPDIR: layouts, registries' storage, the daemon's
# database; removed at the end unless KEEP=1). Needs docker-registry,
# skopeo, python3, curl, jq, openssl. Exit status 1 when anything fails,
# a copy included, or a manifest digest on a destination differs from the
# source's.
#
# What is measured, in this order:
#  1. skopeo copy docker://SRC/bench/big:1 docker://DST2/skopeo/bench/big:1,
#     wall time from exec to exit (MiB/s of the layer blob);
#  2. regevent: POST /api/v2.0/replication/executions for a manual policy
#     selecting bench/big, wall time from the POST to the first poll (every
#     50 ms) that sees it no longer InProgress; the daemon's VmRSS before,
#     at every poll and after, and VmHWM before and after (a streaming copy
#     grows them by a few MiB, not by the layer);
#  3. skopeo, one process per small image, one after the other (images/s);
#  4. regevent, a second manual policy selecting bench/small-*, copied by
#     WORKERS workers at once (one per destination repository, as the
#     daemon runs them).
# CPU is each side's client: skopeo processes (user + system, from the
# shell's children times) against the daemon's (/proc/PID/stat); the
# registries' CPU is in neither.
#
# Fairness: each tool copies into an empty registry of its own (same
# configuration, same disk), not into two namespaces of one. Distribution
# keeps blobs once per registry, so a second copy of the same layer into
# the same registry could mount or link what the first uploaded, and
# skopeo's blob-info cache (/var/lib/containers/cache for root, shared
# across runs) makes it try cross-repository mounts within any registry it
# has seen a blob in; two fresh registries on fresh ports leave neither
# tool anything to reuse. Both read the same source blobs, which the pushes
# just wrote (in the page cache for both). skopeo goes first in each pair.
# The regevent time includes what a user waits for after the POST: the
# catalog listing and the workers' poll tick (POLL_INTERVAL_MS).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo_root=$PWD
helper=$repo_root/bench/replication_helper.py
regeventd=${REGEVENTD:-/work/bench-bin/regeventd}
large_mib=${LARGE_MIB:-256}
small_count=${SMALL_COUNT:-50}
small_kib=${SMALL_KIB:-4}
workers=${WORKERS:-4}
verify_sample=${VERIFY_SAMPLE:-5}
copy_timeout=${COPY_TIMEOUT:-1800}
poll_interval_ms=${POLL_INTERVAL_MS:-}
keep=${KEEP:-0}
status=0
declare -A daemon_cpu
work=""
made_work=0
script_name=replication.sh
# shellcheck source=bench/lib.sh
. "$repo_root/bench/lib.sh"

for pair in "LARGE_MIB=$large_mib" "SMALL_COUNT=$small_count" \
  "SMALL_KIB=$small_kib" "WORKERS=$workers" "VERIFY_SAMPLE=$verify_sample" \
  "COPY_TIMEOUT=$copy_timeout" ${poll_interval_ms:+"POLL_INTERVAL_MS=$poll_interval_ms"}; do
  [[ ${pair#*=} =~ ^[1-9][0-9]*$ ]] || die "${pair%%=*} must be a positive whole number, not '${pair#*=}'"
done
setup_dirs replication





# The digest of the manifest stored at docker://REF, as stored.
manifest_digest() {
  local out=$work/inspect.out
  skopeo_run inspect --raw --tls-verify=false --no-creds "docker://$1" \
    >"$out" 2>>"$work/inspect.log" || return 1
  echo "sha256:$(sha256sum <"$out" | cut -d' ' -f1)"
}

# verify WHO SRC_REF DST_REF: the destination's manifest digest equals the
# source's; counted in verified[WHO] / mismatched[WHO].
verify() {
  local who=$1 src dst
  src=$(manifest_digest "$2") || src="(inspect failed)"
  dst=$(manifest_digest "$3") || dst="(missing)"
  if [ "$src" = "$dst" ]; then
    verified[$who]=$((verified[$who] + 1))
  else
    mismatched[$who]=$((mismatched[$who] + 1))
    fail "$who: $3 is $dst, the source $2 is $src"
  fi
}
declare -A verified=([skopeo]=0 [regevent]=0) mismatched=([skopeo]=0 [regevent]=0)

# Which small images are verified: all of them up to VERIFY_SAMPLE, else
# VERIFY_SAMPLE spread evenly from the first to the last.
sample=()
if [ "$small_count" -le "$verify_sample" ] || [ "$verify_sample" -eq 1 ]; then
  for ((i = 1; i <= small_count && i <= verify_sample; i++)); do sample+=("$i"); done
else
  for ((k = 0; k < verify_sample; k++)); do
    sample+=($((1 + k * (small_count - 1) / (verify_sample - 1))))
  done
fi

machine_start=$(machine)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "== work $work, results $results ($machine_start)" >&2

# ---- registries and images
start_registry source
start_registry dest_regevent
start_registry dest_skopeo
src=127.0.0.1:${ports[source]}
dst_regevent=127.0.0.1:${ports[dest_regevent]}
dst_skopeo=127.0.0.1:${ports[dest_skopeo]}
echo "== registries: source $src, regevent's destination $dst_regevent, skopeo's destination $dst_skopeo" >&2

echo "== writing the images: 1 x $large_mib MiB, $small_count x $small_kib KiB" >&2
layer_bytes=$(python3 "$helper" big "$work/big" 1 $((large_mib << 20))) \
  || die "cannot write the big image's layout"
python3 "$helper" small "$work/small" "$small_count" $((small_kib << 10)) \
  || die "cannot write the small images' layout"

echo "== pushing them to the source" >&2
push() {
  skopeo_run copy --dest-tls-verify=false --dest-no-creds "oci:$1" \
    "docker://$src/$2" >>"$work/push.log" 2>&1 \
    || die "push of $1 to $src/$2 failed: $(tail -3 "$work/push.log")"
}
push "$work/big:1" bench/big:1
for ((i = 1; i <= small_count; i++)); do
  push "$work/small:s$i" "bench/small-$i:1"
done
rm -rf "$work/big" "$work/small" # the layouts are no longer needed

# ---- regevent
token=$(openssl rand -hex 24) || die "openssl rand failed"
secrets_key=$(openssl rand -base64 32) || die "openssl rand failed"
cat >"$work/regevent.yml" <<EOF
listen: 127.0.0.1:0
database:
  url: sqlite://$work/regevent.db
log:
  level: info
auth:
  admin_token: $token
secrets:
  key: $secrets_key
source_registry:
  url: http://$src
replication:
  workers: $workers
${poll_interval_ms:+  poll_interval_ms: $poll_interval_ms}
EOF
chmod 600 "$work/regevent.yml"
start_regeventd "$work/regevent.yml"
daemon_version=$("$regeventd" --version 2>&1 | head -1)

# post PATH JSON: POSTs to the management API, expects 201, prints the id.
post() {
  local code
  code=$(curl -sS -o "$work/api.out" -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data "$2" "$daemon$1") || die "POST $1: curl failed"
  [ "$code" = 201 ] || die "POST $1: $code $(cat "$work/api.out")"
  jq -er .id "$work/api.out" || die "POST $1: no id in $(cat "$work/api.out")"
}
registry_id=$(post /api/v2.0/registries "$(jq -nc --arg url "http://$dst_regevent" \
  '{name: "bench-destination", type: "docker-registry", url: $url, insecure: false}')") \
  || exit 1
# dest_namespace_replace_count 0: bench/big lands at mirror/bench/big.
policy() {
  jq -nc --arg name "$1" --arg filter "$2" --argjson registry "$registry_id" \
    '{name: $name, enabled: true, dest_registry: {id: $registry},
      dest_namespace: "mirror", dest_namespace_replace_count: 0,
      filters: [{type: "name", value: $filter}], trigger: {type: "manual"},
      override: true, deletion: false, speed: 0}'
}
policy_big=$(post /api/v2.0/replication/policies "$(policy bench-big bench/big)") || exit 1
policy_small=$(post /api/v2.0/replication/policies "$(policy bench-small 'bench/small-*')") || exit 1

# execute NAME POLICY EXPECTED_TASKS: one manual execution, its JSON in
# NAME.json; checks that it succeeded with every task.
execute() {
  local name=$1 cpu_before
  cpu_before=$(process_cpu "$daemon_pid")
  python3 "$helper" execute "$daemon" "$token" "$2" "$daemon_pid" 0.05 \
    "$copy_timeout" >"$work/$name.json" || {
    fail "regevent $name: the execution did not finish"
    echo '{}' >"$work/$name.json"
  }
  daemon_cpu[$name]=$(since "$cpu_before" "$(process_cpu "$daemon_pid")")
  jq -e --argjson n "$3" \
    '.execution.status == "Succeed" and .tasks == $n and .tasks_succeed == $n' \
    "$work/$name.json" >/dev/null \
    || fail "regevent $name: expected $3 succeeded tasks: $(jq -c \
      '{status: .execution.status, status_text: .execution.status_text,
        total: .execution.total, failed: .execution.failed, tasks,
        tasks_succeed, errors}' "$work/$name.json")"
}

# ---- the big image
echo "== big: skopeo" >&2
children_cpu
cpu0=$children_cpu_s
t0=$(now_ns)
skopeo_run copy --src-tls-verify=false --dest-tls-verify=false \
  --src-no-creds --dest-no-creds \
  "docker://$src/bench/big:1" "docker://$dst_skopeo/skopeo/bench/big:1" \
  >>"$work/skopeo.log" 2>&1 || fail "skopeo copy of bench/big:1 failed: $(tail -3 "$work/skopeo.log")"
t1=$(now_ns)
skopeo_big_s=$(seconds "$t0" "$t1")
children_cpu
skopeo_big_cpu=$(since "$cpu0" "$children_cpu_s")
verify skopeo "$src/bench/big:1" "$dst_skopeo/skopeo/bench/big:1"

echo "== big: regevent" >&2
execute big "$policy_big" 1
regevent_big_s=$(jq -r '.seconds // 0' "$work/big.json")
verify regevent "$src/bench/big:1" "$dst_regevent/mirror/bench/big:1"

# ---- the small images
echo "== small: skopeo, $small_count processes one after the other" >&2
children_cpu
cpu0=$children_cpu_s
t0=$(now_ns)
for ((i = 1; i <= small_count; i++)); do
  skopeo_run copy --src-tls-verify=false --dest-tls-verify=false \
    --src-no-creds --dest-no-creds \
    "docker://$src/bench/small-$i:1" "docker://$dst_skopeo/skopeo/bench/small-$i:1" \
    >>"$work/skopeo.log" 2>&1 || {
    fail "skopeo copy of bench/small-$i:1 failed: $(tail -3 "$work/skopeo.log")"
    break
  }
done
t1=$(now_ns)
skopeo_small_s=$(seconds "$t0" "$t1")
children_cpu
skopeo_small_cpu=$(since "$cpu0" "$children_cpu_s")

echo "== small: regevent, $workers workers" >&2
execute small "$policy_small" "$small_count"
regevent_small_s=$(jq -r '.seconds // 0' "$work/small.json")

for i in "${sample[@]}"; do
  verify skopeo "$src/bench/small-$i:1" "$dst_skopeo/skopeo/bench/small-$i:1"
  verify regevent "$src/bench/small-$i:1" "$dst_regevent/mirror/bench/small-$i:1"
done

# ---- the table
layer_mib=$(awk -v b="$layer_bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
skopeo_mib_s=$(per_s "$layer_mib" "$skopeo_big_s")
regevent_mib_s=$(per_s "$layer_mib" "$regevent_big_s")
skopeo_img_s=$(per_s "$small_count" "$skopeo_small_s")
regevent_img_s=$(per_s "$small_count" "$regevent_small_s")
# The copies alone: the tasks' first start to last end (millisecond times
# of the API), without the listing and the poll tick before them.
copy_big_s=$(jq -r '.copy_seconds // 0' "$work/big.json")
copy_small_s=$(jq -r '.copy_seconds // 0' "$work/small.json")
mem() { jq -r ".$1 // 0" "$work/big.json"; }
hwm_growth=$(($(mem hwm_after_kib) - $(mem hwm_before_kib)))
rss_growth=$(($(mem rss_max_sampled_kib) - $(mem rss_before_kib)))
machine_end=$(machine)
skopeo_version=$(skopeo --version 2>&1 | head -1)
registry_version=$(docker-registry --version 2>&1 | head -1)
verdict=PASSED
[ "$status" -ne 0 ] && verdict=FAILED
checked="big + ${#sample[@]} of $small_count small"

table=$(
  cat <<EOF
## Replication: regevent vs skopeo ($started_at)

Big: one image, one layer of $large_mib MiB random bytes ($layer_bytes bytes as pushed).
Small: $small_count images of one $small_kib KiB layer, one repository each.
regevent: \`$regeventd\` ($daemon_version), replication.workers $workers, a manual
execution timed from its POST to the poll (50 ms) that saw it done.
skopeo: $skopeo_version, \`skopeo copy docker:// docker://\`, one process per image,
one after the other. Registries: $registry_version, filesystem storage, 127.0.0.1;
each tool copies into an empty registry of its own. The ratios compare
skopeo's wall time with regevent's POST to done; "tasks only" is the first
task's start to the last task's end (the API's millisecond times), without
the catalog listing and the workers' poll tick before the first copy.

| tool | big s | big MiB/s | small s | small images/s | CPU s big / small | digests equal |
|---|---|---|---|---|---|---|
| skopeo | $skopeo_big_s | $skopeo_mib_s | $skopeo_small_s | $skopeo_img_s | $skopeo_big_cpu / $skopeo_small_cpu | ${verified[skopeo]} of $((1 + ${#sample[@]})) |
| regevent | $regevent_big_s | $regevent_mib_s | $regevent_small_s | $regevent_img_s | ${daemon_cpu[big]:-0} / ${daemon_cpu[small]:-0} | ${verified[regevent]} of $((1 + ${#sample[@]})) |
| regevent, tasks only | $copy_big_s | $(per_s "$layer_mib" "$copy_big_s") | $copy_small_s | $(per_s "$small_count" "$copy_small_s") | | |
| **regevent / skopeo** | | **$(ratio "$regevent_mib_s" "$skopeo_mib_s")** | | **$(ratio "$regevent_img_s" "$skopeo_img_s")** | $(ratio "${daemon_cpu[big]:-0}" "$skopeo_big_cpu") / $(ratio "${daemon_cpu[small]:-0}" "$skopeo_small_cpu") | |

regeventd memory around the big copy: VmRSS $(mib "$(mem rss_before_kib)") MiB before,
$(mib "$(mem rss_max_sampled_kib)") MiB at most while copying (every poll), $(mib "$(mem rss_after_kib)") MiB after;
VmHWM $(mib "$(mem hwm_before_kib)") -> $(mib "$(mem hwm_after_kib)") MiB: peak grew by $(mib "$hwm_growth") MiB
(sampled RSS by $(mib "$rss_growth") MiB) for a $layer_mib MiB layer.
regevent bytes copied: big $(jq -r '.bytes_copied // 0' "$work/big.json"), small $(jq -r '.bytes_copied // 0' "$work/small.json").
Digests checked ($checked, \`skopeo inspect --raw\` | sha256sum, destination against source).
Machine: $machine_start at the start, $machine_end at the end.

$verdict
EOF
)
echo
echo "$table"
echo "$table" >"$results/replication.md"
jq -n --arg started_at "$started_at" --arg verdict "$verdict" \
  --arg regeventd "$regeventd" --arg daemon_version "$daemon_version" \
  --arg skopeo_version "$skopeo_version" --arg registry_version "$registry_version" \
  --argjson large_mib "$large_mib" --argjson layer_bytes "$layer_bytes" \
  --argjson small_count "$small_count" --argjson small_kib "$small_kib" \
  --argjson workers "$workers" \
  --argjson skopeo_big_s "$skopeo_big_s" --argjson skopeo_small_s "$skopeo_small_s" \
  --argjson skopeo_big_cpu "$skopeo_big_cpu" --argjson skopeo_small_cpu "$skopeo_small_cpu" \
  --argjson regevent_big_cpu "${daemon_cpu[big]:-0}" --argjson regevent_small_cpu "${daemon_cpu[small]:-0}" \
  --arg mib_s_ratio "$(ratio "$regevent_mib_s" "$skopeo_mib_s")" \
  --arg images_s_ratio "$(ratio "$regevent_img_s" "$skopeo_img_s")" \
  --argjson verified_skopeo "${verified[skopeo]}" --argjson verified_regevent "${verified[regevent]}" \
  --argjson mismatched_skopeo "${mismatched[skopeo]}" --argjson mismatched_regevent "${mismatched[regevent]}" \
  --arg machine_start "$machine_start" --arg machine_end "$machine_end" \
  --slurpfile big "$work/big.json" --slurpfile small "$work/small.json" '
  {started_at: $started_at, passed: ($verdict == "PASSED"),
   config: {regeventd: $regeventd, regeventd_version: $daemon_version,
            skopeo_version: $skopeo_version, registry_version: $registry_version,
            large_mib: $large_mib, layer_bytes: $layer_bytes,
            small_count: $small_count, small_kib: $small_kib, workers: $workers},
   skopeo: {big_seconds: $skopeo_big_s, small_seconds: $skopeo_small_s,
            big_cpu_seconds: $skopeo_big_cpu, small_cpu_seconds: $skopeo_small_cpu,
            digests_equal: $verified_skopeo, digests_differ: $mismatched_skopeo},
   regevent: {big: $big[0], small: $small[0],
              big_cpu_seconds: $regevent_big_cpu, small_cpu_seconds: $regevent_small_cpu,
              digests_equal: $verified_regevent, digests_differ: $mismatched_regevent},
   ratios: {mib_per_s: $mib_s_ratio, images_per_s: $images_s_ratio},
   machine: {start: $machine_start, end: $machine_end}}' \
  >"$results/replication.json" || fail "cannot write $results/replication.json"
echo "Results: $results/replication.md, replication.json, logs/"
exit $status
