#!/usr/bin/env bash
# Start (or stop) a throw-away PostgreSQL server for the tests and print its URL.
#   eval "$(bash scripts/postgres.sh start)"   # exports PLANTSCOUT_TEST_POSTGRES_URL
#   bash scripts/postgres.sh stop
set -euo pipefail
dir="${PLANTSCOUT_PG_DIR:-/tmp/plantscout-pg}"
port="${PLANTSCOUT_PG_PORT:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
as_pg() {
  # From /: the checkout may sit in a directory the postgres user cannot enter.
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
case "${1:-start}" in
  start)
    if [ -z "$bin" ]; then
      if [ "$(id -u)" = 0 ]; then
        bash "$(dirname "$0")/apt-install.sh" postgresql  # waits for the dpkg lock
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
      else
        echo "PostgreSQL server binaries not found; install the 'postgresql' package" >&2
        exit 1
      fi
    fi
    if [ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      :
    else
      rm -rf "$dir"
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres "$dir"
      as_pg "$bin/initdb" -D "$dir/data" -U plantscout --auth=trust -E UTF8 >/dev/null
      as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
      as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U plantscout plantscout_test
    fi
    echo "export PLANTSCOUT_TEST_POSTGRES_URL=postgresql+psycopg://plantscout@127.0.0.1:$port/plantscout_test"
    ;;
  stop)
    [ -n "$bin" ] && [ -d "$dir/data" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
