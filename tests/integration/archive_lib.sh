# archive_lib.sh - what the evidence archive's integration tests (e2e_archive.sh,
# e2e_archive_outage.sh) read: the events as PostgreSQL stores them (pg_sql), the Redis
# streams they come from, the archive's metrics.  Source it after lib.sh.  Every helper reads
# stored state, never a log.

# The event streams of docs/archive.md: one per shard (redis.shards, 16 in write_config) and
# the certificate requests'.
AR_SHARDS=${AR_SHARDS:-16}
ar_streams() {
  local i
  echo 'spk:{enr}:ev'
  for i in $(seq 0 $((AR_SHARDS - 1))); do echo "spk:{$i}:ev"; done
}

# An id we put into SQL text: transaction ids and request ids are [0-9a-z.], nothing else.
ar_safe() { [[ $1 =~ ^[0-9A-Za-z._-]+$ ]] || { echo "ar_safe: refusing '$1'" >&2; return 1; }; }

# ar_count EVENT_ID: rows for that event id (an event archived twice, under any time, counts 2).
ar_count() { ar_safe "$1" && pg_sql -c "select count(*) from archive_events where event_id = '$1'" 2>/dev/null; }
# ar_body EVENT_ID: the stored body (the exact bytes hashed), as text.
ar_body() { ar_safe "$1" && pg_sql -c "select convert_from(body, 'UTF8') from archive_events where event_id = '$1'"; }
# ar_has EVENT_ID [N]: exactly N (1) rows for it.
ar_has() { [ "$(ar_count "$1")" = "${2:-1}" ]; }
# wait_until SECONDS COMMAND...: COMMAND until it succeeds or SECONDS of the clock have passed
# (lib.sh's wait_for counts tries, and a psql try can take a second on a busy machine).
# Once one wait ran out, the later ones wait 5 s at most: a broken archive fails the test in
# minutes, not at ctest's timeout.
WAIT_UNTIL_LATE=
wait_until() {
  local s=$1 end
  shift
  [ -n "$WAIT_UNTIL_LATE" ] && [ "$s" -gt 5 ] && s=5
  end=$(( $(date +%s) + s ))
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(date +%s)" -lt "$end" ] || { WAIT_UNTIL_LATE=1; return 1; }
    sleep 0.2
  done
}
# ar_wait EVENT_ID [SECONDS]: until it is archived (its row count > 0).
ar_wait() { wait_until "${2:-30}" ar_present "$1"; }
ar_present() { local n; n=$(ar_count "$1") && [ "${n:-0}" -gt 0 ]; }

# Every archived event id appearing more than once: empty when each is there once.
ar_dups() { pg_sql -c "select event_id || ' x' || count(*) from archive_events group by event_id having count(*) > 1"; }
# The signature events' transaction ids, sorted.
ar_sig_ids() { pg_sql -c "select event_id from archive_events where etype = 'signature' order by 1" | sort; }

# Redis: entries still in the streams (the backlog) and read but unacknowledged (pending).
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
ar_xlen() {
  local s n t=0
  for s in $(ar_streams); do n=$(rcli XLEN "$s"); t=$((t + ${n:-0})); done
  echo $t
}
# Pending entries of group "archive" in every stream; a stream or group not there yet counts 0.
ar_xpending() {
  local s n t=0
  for s in $(ar_streams); do
    n=$(rcli --raw XPENDING "$s" archive 2>/dev/null | head -1)
    [[ $n =~ ^[0-9]+$ ]] || n=0
    t=$((t + n))
  done
  echo $t
}
# ar_pending_by_consumer: "consumer count" lines, summed over every stream.
ar_pending_by_consumer() {
  local s
  for s in $(ar_streams); do
    rcli --raw XPENDING "$s" archive 2>/dev/null | tail -n +4 | paste - - || true
  done | awk 'NF == 2 {n[$1] += $2} END {for (c in n) print c, n[c]}'
}

# ar_metric NAME [PORT]: a series' value from /metrics (the whole series name, labels included).
ar_metric() {
  curl -sf "http://127.0.0.1:${2:-$API_PORT}/metrics" | awk -v m="$1" '$1 == m {print $2; exit}'
}
