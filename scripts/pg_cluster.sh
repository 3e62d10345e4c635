#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests: initdb in DIR, listening on
# 127.0.0.1 on a free port, trust authentication, unix socket inside DIR.
#   pg_cluster.sh start DIR    -> writes DIR/url (postgresql://...)
#   pg_cluster.sh stop DIR
#   pg_cluster.sh restart DIR  (same port; for outage tests)
#   pg_cluster.sh down DIR / up DIR  (stop and start again on the same port)
set -euo pipefail
cmd=${1:?usage: pg_cluster.sh start|stop|restart DIR}
dir=${2:?usage: pg_cluster.sh start|stop|restart DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "pg_cluster: PostgreSQL server not installed" >&2; exit 1; }

# initdb and postgres refuse to run as root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_ctl_start() {
  local port=$1
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" \
    start >/dev/null
}

case "$cmd" in
  start)
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust \
      --encoding=UTF8 --no-sync >/dev/null
    # A free port: try random ones until the server starts.
    for _ in $(seq 1 20); do
      port=$(( (RANDOM % 20000) + 30000 ))
      if pg_ctl_start "$port" 2>/dev/null; then
        echo "$port" > "$dir/port"
        echo "postgresql://postgres@127.0.0.1:$port/postgres" > "$dir/url"
        echo "pg_cluster: started on 127.0.0.1:$port"
        exit 0
      fi
    done
    echo "pg_cluster: could not start; see $dir/server.log" >&2
    exit 1
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
  restart)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    pg_ctl_start "$(cat "$dir/port")"
    ;;
  down)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  up)
    pg_ctl_start "$(cat "$dir/port")"
    ;;
  *)
    echo "usage: pg_cluster.sh start|stop|restart|down|up DIR" >&2
    exit 2
    ;;
esac
