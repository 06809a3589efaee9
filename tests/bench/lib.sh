# tests/bench/lib.sh - helpers shared by run.sh, kannel.sh and archive.sh (sourced).

# A free loopback port, tried by connecting: nothing answers there now.
free_port() {
  local p
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (32768+), where outgoing connections take ports: a
    # port picked there can be a connection's by the time the server binds it.
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
  done
  return 1
}

wait_for() { # seconds, command...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq 1 $n); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# utime+stime of a process in microseconds (what getrusage reports for it)
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000000 / hz }' "/proc/$1/stat"; }

# bench_scratch NAME LABEL: a scratch directory $T (/tmp/simpki-NAME.XXXXXX) and the
# list PIDS of the processes the bench starts; on exit they are stopped, and $T
# removed, or kept with the tail of its logs when the bench (LABEL) failed.
bench_scratch() {
  BENCH_NAME=$2
  T=$(mktemp -d "/tmp/simpki-$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "${BENCH_PG:-}" ] || bench_pg_stop immediate
  if [ $rc -ne 0 ]; then
    echo "--- $BENCH_NAME failed; logs kept in $T" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 20 "$f" >&2; }; done
  else
    rm -rf "$T"
  fi
}

# bench_pg_start: a private PostgreSQL (Debian's, the newest in /usr/lib/postgresql) for
# the archive bench, as tests/integration/lib.sh's pg_start makes one for a test: cluster
# in $T/pg, socket in $T/pgsock, 127.0.0.1:PG_PORT, user and database "simpki" (trust),
# run as user postgres when we are root; durable as in production (fsync and
# synchronous_commit on, the defaults).  Sets PG_CONNINFO (archive.conninfo) and PG_PID
# (the postmaster: pg_cpu_us sums it and its backends); bench_cleanup stops it.
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
bench_pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
bench_pg_start() {
  mkdir -p "$T/pg" "$T/pgsock"
  touch "$T/postgres.log"
  if [ "$(id -u)" = 0 ]; then chown postgres "$T/pg" "$T/pgsock" "$T/postgres.log"; chmod 755 "$T"; fi
  bench_pg_as "$PG_BIN/initdb" -D "$T/pg" -U simpki --auth=trust -E UTF8 --locale=C.UTF-8 >"$T/pg-initdb.log" 2>&1
  for _ in 1 2 3 4 5; do # a port free_port found can be taken before the server binds it
    PG_PORT=$(free_port)
    if bench_pg_as "$PG_BIN/pg_ctl" -D "$T/pg" -l "$T/postgres.log" -w -t 60 \
         -o "-p $PG_PORT -k $T/pgsock -c listen_addresses=127.0.0.1" start >/dev/null; then
      BENCH_PG=1
      PG_PID=$(head -1 "$T/pg/postmaster.pid")
      PG_CONNINFO="host=$T/pgsock port=$PG_PORT user=simpki dbname=simpki"
      createdb -h "$T/pgsock" -p "$PG_PORT" -U simpki simpki
      return 0
    fi
  done
  return 1
}
bench_pg_stop() { bench_pg_as "$PG_BIN/pg_ctl" -D "$T/pg" -m "${1:-fast}" -w stop >/dev/null 2>&1 || true; }
pg_sql() { psql -h "$T/pgsock" -p "$PG_PORT" -U simpki -d simpki -v ON_ERROR_STOP=1 -qAt "$@"; }
# CPU of the whole cluster (µs): the postmaster with its reaped children, and its live backends
pg_cpu_us() {
  local p sum
  sum=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15 + $16 + $17) * 1000000 / hz }' "/proc/$PG_PID/stat")
  for p in $(ps -o pid= --ppid "$PG_PID"); do sum=$(( sum + $(cpu_us "$p" 2>/dev/null || echo 0) )); done
  echo "$sum"
}
