#!/usr/bin/env bash
# The webhook comparison of bench/README.md ("Webhook delivery"): the same
# parallel run three times back to back on the same disk, without policies,
# with 10 live policies and with 9 live + 1 dead, then (unless
# THROUGHPUT_EVENTS=0) the delivery rate to one receiver with 1 policy, and
# the ratios of the end-to-end ingest rates.
#   bench/webhooks.sh [BENCH] [-- EXTRA REGEVENT-BENCH OPTIONS]
# BENCH: the regevent-bench binary (default build/bench/regevent-bench).
# EVENTS (40000), SENDERS (64), POLICIES (10), THROUGHPUT_EVENTS (100000),
# WORK_DIR (the harness's default) and RESULTS_DIR (a new directory) from
# the environment. Exit status 1 when any run failed its check.
set -uo pipefail
cd "$(dirname "$0")/.."
bench=build/bench/regevent-bench
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  bench=$1
  shift
fi
[ "${1:-}" = "--" ] && shift
events=${EVENTS:-40000}
senders=${SENDERS:-64}
policies=${POLICIES:-10}
throughput_events=${THROUGHPUT_EVENTS:-100000}
results=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/regevent-webhooks-XXXXXX")}
mkdir -p "$results"
common=(--scenario parallel --senders "$senders" --results-dir "$results")
[ -n "${WORK_DIR:-}" ] && common+=(--work-dir "$WORK_DIR")
status=0

# run NAME OPTIONS...: one harness run; its JSON report becomes NAME.json.
run() {
  local name=$1
  shift
  echo "== $name: $bench ${common[*]} $*" >&2
  local before
  before=$(ls "$results"/*.json 2>/dev/null | wc -l)
  "$bench" "${common[@]}" "$@" >"$results/$name.out" 2>"$results/$name.err"
  local code=$?
  [ $code -ne 0 ] && status=1
  local json
  json=$(ls -t "$results"/parallel-*.json 2>/dev/null | head -1)
  if [ "$(ls "$results"/*.json 2>/dev/null | wc -l)" -le "$before" ] \
    || [ -z "$json" ]; then
    echo "$name: no report (exit $code); see $results/$name.err" >&2
    tail -5 "$results/$name.err" >&2
    status=1
    return
  fi
  mv "$json" "$results/$name.json"
  mv "${json%.json}.md" "$results/$name.md"
  jq -r --arg name "$name" --arg code "$code" '
    "\($name): end to end \(.end_to_end_per_s | floor) /s, deliveries \(
      .webhooks.deliveries_per_s // 0 | floor) /s (backlog after the events \(
      .webhooks.backlog_after_done // 0) at \(.webhooks.backlog_per_s // 0 | floor
      ) /s), distinct ids \(
      .webhooks.distinct_ids // 0) of \(.webhooks.expected // 0), requests \(
      .webhooks.requests // 0), dead tasks pending/failed \(
      .webhooks.tasks.dead_pending // 0)/\(.webhooks.tasks.dead_failed // 0
      ), CPU/event \(.daemon_cpu_us_per_event // 0 | floor) µs, load \(
      .load_average_start) -> \(.load_average_end), \(
      if .passed then "PASSED" else "FAILED" end) (exit \($code))"' \
    "$results/$name.json"
}

run none --events "$events" --webhook-policies 0 "$@"
run live --events "$events" --webhook-policies "$policies" "$@"
run dead --events "$events" --webhook-policies "$policies" \
  --webhook-dead 1 "$@"
if [ "$throughput_events" -gt 0 ]; then
  run throughput --events "$throughput_events" --webhook-policies 1 "$@"
fi

e2e() { jq -r '.end_to_end_per_s // 0' "$results/$1.json" 2>/dev/null || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
none=$(e2e none)
live=$(e2e live)
dead=$(e2e dead)
echo
echo "(b) end to end with $policies live policies / without: $(ratio "$live" "$none") (aim >= 0.8)"
echo "(c) end to end with 1 of $policies dead / all live: $(ratio "$dead" "$live") (aim >= 0.9); / without: $(ratio "$dead" "$none")"
if [ -f "$results/throughput.json" ]; then
  echo "(a) deliveries /s to one receiver, 1 policy: $(jq -r '.webhooks.deliveries_per_s | floor' "$results/throughput.json"), backlog after ingest $(jq -r '.webhooks.backlog_per_s | floor' "$results/throughput.json") /s (aim >= 5000)"
fi
echo "Reports: $results"
exit $status
