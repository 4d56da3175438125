#!/bin/sh
# A throw-away PostgreSQL for the tests: initdb in a temporary directory,
# listening on 127.0.0.1 only (no Unix socket outside the directory), on a
# free port, trust authentication for the loopback user "postgres", a
# database "coach". Root cannot run postgres, so as root the server runs as
# the Debian "postgres" user (runuser).
#
#   pgtmp.sh start DIR   initdb + start; prints the URL on stdout
#   pgtmp.sh stop DIR    stop the server and remove DIR
#   pgtmp.sh down|up DIR stop / start the server only (fault tests)
#   pgtmp.sh freeze|thaw DIR  SIGSTOP / SIGCONT the server and its backends
#                        (a server that hangs: connections open, no answer)
#   pgtmp.sh run CMD...  start, run CMD with COACHD_PG_URL (and COACHD_PG_DIR)
#                        set, stop; CMD's status
set -e
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bindir/initdb" ] || { echo "pgtmp: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  dir=$1
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  free_port >"$dir/port"
  # Tests trade durability for speed (fsync off); PGTMP_DURABLE=1 keeps
  # PostgreSQL's defaults, as the benchmarks do.
  fast="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PGTMP_DURABLE:-0}" = 1 ] && fast=""
  echo "$fast" >"$dir/fast"
  launch "$dir"
  as_pg "$bindir/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U postgres coach
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/coach"
}

# Starts the server of an initialised DIR on its port. The connection
# limit is set explicitly: each coachd holds STORE_PG_CONNECTIONS (3); the
# suites run a handful of instances at a time.
launch() {
  dir=$1
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $(cat "$dir/port") -c unix_socket_directories=$dir -c max_connections=40 $(cat "$dir/fast")" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

stop() {
  dir=$1
  [ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "$1" in
  start) start "$2" ;;
  stop) stop "$2" ;;
  # the fault tests: the server goes away and comes back on the same port
  down) as_pg "$bindir/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null ;;
  up) launch "$2" ;;
  freeze|thaw)
    sig=STOP; [ "$1" = thaw ] && sig=CONT
    pid=$(head -n 1 "$2/data/postmaster.pid")
    kill -s "$sig" "$pid"
    # a backend may exit between ps and kill (a client that just left)
    for p in $(ps -o pid= --ppid "$pid"); do kill -s "$sig" "$p" 2>/dev/null || true; done
    ;;
  run)
    shift
    dir=$(mktemp -d /tmp/coachd-pg-XXXXXX)
    chmod 755 "$dir"
    trap 'stop "$dir"' EXIT INT TERM
    COACHD_PG_URL=$(start "$dir")
    COACHD_PG_DIR=$dir
    export COACHD_PG_URL COACHD_PG_DIR
    set +e
    "$@"
    status=$?
    exit $status
    ;;
  *) echo "usage: pgtmp.sh start DIR | stop DIR | run CMD..." >&2; exit 2 ;;
esac
