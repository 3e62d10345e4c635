# Shared by the benchmark scripts that run real processes (replication.sh,
# reconcile.sh): sourced after the script sets `script_name`, `work`,
# `results`, `keep` and `made_work`. Every process they start is recorded in
# `pids` and ended by PID at exit, nothing else.
pids=()
declare -A ports

die() {
  echo "$script_name: $*" >&2
  exit 1
}
fail() {
  echo "$script_name: FAILED: $*" >&2
  status=1
}

# Only what this script started, by PID: SIGTERM, then SIGKILL after 10 s.
cleanup() {
  local pid i
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  pids=()
  if [ -n "$work" ] && [ -d "$work" ]; then
    cp "$work"/*.log "$results/logs/" 2>/dev/null
    if [ "$keep" = 1 ] || [ "$made_work" = 0 ]; then
      echo "work directory kept: $work" >&2
    else
      rm -rf "$work"
    fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }
# Seconds with 3 decimals between two now_ns readings.
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
per_s() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.2f", n / s; else print "-" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# children_cpu: CPU seconds (user + system) of the processes this shell has
# reaped, from `times`, into children_cpu_s. `times` runs in this shell,
# never in a $(...) subshell: a fork starts its children's times at zero.
children_cpu() {
  times >"$work/times.out"
  children_cpu_s="$(awk 'NR == 2 {
    n = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); n += p[1] * 60 + p[2] }
    printf "%.3f", n }' "$work/times.out")"
}
# since A B: B - A with 3 decimals.
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# CPU seconds (user + system) of a process.
process_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
machine() {
  local psi=""
  [ -r /proc/pressure/cpu ] \
    && psi=", CPU pressure $(awk '/^some/ { sub("avg60=", "", $3); print $3 }' /proc/pressure/cpu) %"
  echo "load $(cut -d' ' -f1-3 /proc/loadavg)$psi"
}

skopeo_policy=""
# skopeo with its own signature policy and no credentials from the machine,
# each process within COPY_TIMEOUT (`copy_timeout`) seconds.
skopeo_run() {
  if [ -z "$skopeo_policy" ]; then
    skopeo_policy=$work/skopeo-policy.json
    echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$skopeo_policy"
  fi
  timeout "${copy_timeout:-1800}" skopeo --policy "$skopeo_policy" "$@"
}

# start_registry NAME: Distribution on 127.0.0.1:0 with filesystem storage
# in the work directory and deletes enabled; its port (read from its
# `listening on` log line) goes to ports[NAME] once GET /v2/ answers 200.
start_registry() {
  local name=$1
  local config=$work/$name.yml log=$work/$name.log port="" i pid
  mkdir -p "$work/$name-storage" || die "cannot create $work/$name-storage"
  cat >"$config" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: $name
storage:
  filesystem:
    rootdirectory: $work/$name-storage
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:0
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  docker-registry serve "$config" </dev/null >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || {
      wait "$pid"
      die "registry $name exited with status $?: $(tail -5 "$log")"
    }
    [ -z "$port" ] \
      && port=$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$log" | head -1 | cut -d: -f2)
    if [ -n "$port" ] \
      && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" = 200 ]; then
      ports[$name]=$port
      return
    fi
    sleep 0.1
  done
  die "registry $name not up within 30 s (port '${port}'): $(tail -5 "$log")"
}

# start_regeventd CONFIG: the daemon with CONFIG (which must listen on port
# 0), its log in the work directory; once /readyz answers 200, its PID is
# in daemon_pid and its URL in daemon.
start_regeventd() {
  local i ready=0 daemon_port=""
  rm -f "$work/regevent.port"
  "$regeventd" --config "$1" --port-file "$work/regevent.port" \
    </dev/null >>"$work/regeventd.log" 2>&1 &
  daemon_pid=$!
  pids+=("$daemon_pid")
  for ((i = 0; i < 300; i++)); do
    kill -0 "$daemon_pid" 2>/dev/null || {
      wait "$daemon_pid"
      die "regeventd exited with status $?: $(tail -5 "$work/regeventd.log")"
    }
    [ -s "$work/regevent.port" ] && daemon_port=$(cat "$work/regevent.port")
    if [ -n "$daemon_port" ] \
      && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$daemon_port/readyz")" = 200 ]; then
      ready=1
      break
    fi
    sleep 0.1
  done
  [ "$ready" = 1 ] || die "regeventd not ready within 30 s: $(tail -5 "$work/regeventd.log")"
  daemon=http://127.0.0.1:$daemon_port
}

# setup_dirs NAME: checks regeventd and the tools, then makes the results
# directory (RESULTS_DIR, else a new one) and the work directory (WORK_DIR,
# kept, else a new one, removed at exit unless KEEP=1).
setup_dirs() {
  [ -x "$regeventd" ] || die "no regeventd at $regeventd (REGEVENTD=path)"
  local tool
  for tool in docker-registry skopeo python3 curl jq openssl timeout; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
  done
  results=${RESULTS_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/regevent-$1-XXXXXX")} \
    || die "cannot make a results directory"
  mkdir -p "$results/logs" || die "cannot create $results"
  if [ -n "${WORK_DIR:-}" ]; then
    work=$WORK_DIR
    mkdir -p "$work" || die "cannot create $work"
  else
    work=$(mktemp -d "${TMPDIR:-/tmp}/regevent-$1-work-XXXXXX") \
      || die "cannot make a work directory"
    made_work=1
  fi
}
