# tests/bench/lib.sh - helpers shared by run.sh and kannel.sh (sourced).

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
  if [ $rc -ne 0 ]; then
    echo "--- $BENCH_NAME failed; logs kept in $T" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 20 "$f" >&2; }; done
  else
    rm -rf "$T"
  fi
}
