#!/usr/bin/env bash
# The evidence archive when things break (docs/archive.md), checked in PostgreSQL and Redis:
#
#  (c) PostgreSQL stopped (pg_stop fast) for 30 s under a steady signing load (10/s through
#      the simulator), then started again on its port: signing goes on (202s during the
#      outage), the backlog gauge (simpki_archive_backlog_entries) rises above 0 and returns to
#      0, and every transaction the load created and saw finish is archived exactly once: one
#      row per txn id, the set of signature events = the set of transactions;
#  (d) two instances (gw-1, gw-2) archiving from one Redis: PostgreSQL stopped, a burst of
#      signatures on both, so that both archivers read entries and hold them unacknowledged;
#      kill -9 the one holding more; PostgreSQL started: the survivor takes the dead
#      consumer's entries over after claim_idle_s (5 s with ARCHIVE=1), every event ends
#      archived exactly once, XPENDING is empty and the streams are drained.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/archive_lib.sh"

RATE=${ARCHIVE_LOAD_RATE:-10}
OUTAGE_S=${ARCHIVE_OUTAGE_S:-30}

pg_start || { bad "PostgreSQL did not start (see $T/postgres.log)"; finish; exit 1; }
start_redis
make_demo
start_ocsp
# The load's numbers: every registered number that can sign (not no_key or wrong_key, not the
# revoked certificate, not the enrolment cards), each made a plain confirm (as e2e_failover.sh).
jq -r --slurpfile s "$SRC/tests/sim/scenario-default.json" \
  '[.[].msisdn] as $reg | $s[0].subscribers[] | select(.msisdn as $m | $reg | index($m))
   | select(.behaviour != "no_key" and .behaviour != "wrong_key" and .msisdn != "84960000171") | .msisdn' \
  "$T/demo/registry.json" > "$T/numbers"
mapfile -t NUMS < "$T/numbers"
SIM_DELAY_MS=200 SIM_SCEN_ARGS="--rawfile nums $T/numbers" \
SIM_SCEN_EDIT='($nums | split("\n") | map(select(. != ""))) as $n
  | .subscribers |= map(if (.msisdn as $m | $n | index($m)) then .behaviour = "confirm" | del(.delay_ms) else . end)' \
  start_sim
ARCHIVE=1 TXN_TIMEOUT_S=15 write_config
import_registry
start_gw || { bad "the gateway did not start"; finish; exit 1; }
GW1_PID=$GW_PID GW1_PORT=$API_PORT
check "${#NUMS[@]} numbers for the load (>= 40)" test "${#NUMS[@]}" -ge 40
check "the archive is on: the backlog gauge is exposed" wait_until 20 sh -c \
  "curl -sf http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_archive_backlog_entries '"

now() { date +%s.%N; }
L=$T/load
mkdir -p "$L"
: >"$L/log"
# load URLS OUT [archive_load.py options]: the steady signing load (archive_load.py), a line
# "SEQ T_SENT T_ANSWERED HTTP_CODE ID" per request in OUT.
load() { local u=$1 o=$2; shift 2; python3 "$SRC/tests/integration/archive_load.py" "$u" "$TOKEN" "$T/numbers" "$o" "$@"; }
# The backlog gauge every 0.5 s ("TIME VALUE" lines in $L/gauge) until $L/gauge.stop exists.
sample_gauge() {
  while [ ! -e "$L/gauge.stop" ]; do
    echo "$(now) $(ar_metric simpki_archive_backlog_entries)" >>"$L/gauge"
    sleep 0.5
  done
}
# finished ID PORT: the transaction is no longer pending (its final state on stdout).
final_state() { curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$2/v1/signatures/$1" | jq -r '.state // "?"'; }
# wait_finished IDS_FILE PORT SECONDS: until none is pending; the ones still pending in $L/pending.
wait_finished() {
  local end=$(( $(date +%s) + $3 )) i
  cp "$1" "$L/pending"
  while [ -s "$L/pending" ] && [ "$(date +%s)" -lt "$end" ]; do
    while read -r i; do
      case "$(final_state "$i" "$2")" in completed|failed) ;; *) echo "$i" ;; esac
    done <"$L/pending" >"$L/pending.next"
    mv "$L/pending.next" "$L/pending"
    [ -s "$L/pending" ] && sleep 1
  done
  [ ! -s "$L/pending" ]
}
# archived_set_is FILE: the signature events' ids are exactly FILE's (sorted, unique) ids.
archived_set_is() { diff <(ar_sig_ids) <(sort -u "$1") >"$L/set.diff"; }
drained() { [ "$(ar_xpending)" = 0 ] && [ "$(ar_xlen)" = 0 ]; }

# ---- (c) PostgreSQL down for 30 s under load -------------------------------------------------
sample_gauge &
GAUGE_PID=$!
PIDS+=("$GAUGE_PID")
load "http://127.0.0.1:$API_PORT" "$L/log" --rate "$RATE" --stop "$L/stop" &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
sleep 5
t_down=$(now)
pg_stop fast
t_down_done=$(now)
check "PostgreSQL is down" bash -c "! psql -h '$T/pgsock' -p $PG_PORT -U simpki -d simpki -qAtc 'select 1' >/dev/null 2>&1"
sleep "$OUTAGE_S"
t_up=$(now)
pg_start || bad "PostgreSQL did not start again"
t_up_done=$(now)
check "PostgreSQL started again on its port ($PG_PORT)" pg_sql -c 'select 1'
sleep 8
touch "$L/stop"
wait "$LOAD_PID" || true
awk '$4 == 202 {print $5}' "$L/log" >"$L/ids-c"
n_sent=$(wc -l <"$L/log") n_202=$(wc -l <"$L/ids-c")
n_202_out=$(awk -v a="$t_down_done" -v b="$t_up" '$4 == 202 && $2 > a && $3 < b' "$L/log" | wc -l)
n_bad_out=$(awk -v a="$t_down_done" -v b="$t_up" '$2 > a && $3 < b && $4 != 202 && $4 != 409' "$L/log" | wc -l)
check "load: $n_sent requests, $n_202 accepted (202)" test "$n_202" -ge $((n_sent * 9 / 10))
check "signing went on while PostgreSQL was down: $n_202_out accepted during the outage" test "$n_202_out" -ge $((OUTAGE_S * RATE / 2))
check "... and nothing else than 202 (or 409 BUSY) answered during the outage ($n_bad_out)" test "$n_bad_out" = 0
out_samples() { awk -v a="$t_down_done" -v b="$t_up" '$1 > a && $1 < b' "$L/gauge"; }
peak=$(out_samples | awk '{if ($2 + 0 > m) m = $2 + 0} END {print m + 0}')
check "backlog gauge rose above 0 during the outage (peak $peak)" test "$peak" -gt 0
check "the gauge was read throughout the outage ($(out_samples | awk 'NF == 2' | wc -l) samples, none missing)" \
  test "$(out_samples | awk 'NF < 2' | wc -l)" = 0 -a "$(out_samples | wc -l)" -ge $((OUTAGE_S))
check "every accepted transaction finished" wait_finished "$L/ids-c" "$API_PORT" 60
gauge_zero() { [ "$(ar_metric simpki_archive_backlog_entries)" = 0 ]; }
check "backlog gauge back to 0 after PostgreSQL returned" wait_until 90 gauge_zero
touch "$L/gauge.stop"
wait "$GAUGE_PID" || true
# The first sample at 0 after PostgreSQL was up, once the load had stopped adding.
drain_s=$(awk -v a="$t_up_done" '$1 > a && NF == 2 && $2 == 0 {printf "%.1f", $1 - a; exit}' "$L/gauge")
check "all $n_202 signature events archived" wait_until 60 archived_set_is "$L/ids-c"
check "the set of signature events = the set of transactions the load created ($(wc -l <"$L/set.diff") diff lines)" \
  archived_set_is "$L/ids-c"
dups=$(ar_dups)
check "each archived exactly once (count per event_id = 1)" test -z "$dups"
[ -z "$dups" ] || echo "$dups" | head -5 >&2
check "Redis: streams drained, nothing pending (XLEN $(ar_xlen), XPENDING $(ar_xpending))" drained
held=$(pg_sql -c "select count(*) from archive_events where etype = 'signature'
                  and archived_at > to_timestamp($t_up)
                  and at < to_timestamp($t_up)")
check "events of the outage ($held) were archived after PostgreSQL returned" test "$held" -gt 0
echo "figures (c): $n_sent requests, $n_202 accepted, $n_202_out during the ${OUTAGE_S} s outage; backlog peak $peak; drained ${drain_s} s after PostgreSQL was up"

# ---- (d) two archiving instances, kill -9 the one holding entries ---------------------------
GW2_PORT=
start_gw2() {
  local from
  for _ in 1 2 3; do
    GW2_PORT=$(free_port)
    jq --argjson p "$GW2_PORT" '.listen_port = $p | .instance = "gw-2"
        | .carriers |= map(.name as $c | .smpp |= map(.name = ($c + "-gw-2")))' "$T/simpki.json" >"$T/simpki-2.json"
    touch "$T/gateway-2.log"
    from=$(wc -l <"$T/gateway-2.log")
    "$SIMPKID" -c "$T/simpki-2.json" >>"$T/gateway-2.log" 2>&1 &
    GW2_PID=$!
    PIDS+=("$GW2_PID")
    wait_for 30 own_listen "$T/gateway-2.log" "$from" "$GW2_PORT" &&
      wait_for 15 sh -c "curl -sf http://127.0.0.1:$GW2_PORT/healthz | jq -e '.carrier_links == true'" && return 0
    kill -0 "$GW2_PID" 2>/dev/null && return 1
    grep -q "cannot listen" "$T/gateway-2.log" || return 1
  done
  return 1
}
start_gw2 || { bad "the second instance did not start"; finish; exit 1; }
ok "two instances: gw-1 on $GW1_PORT, gw-2 on $GW2_PORT"
declare -A PORT_OF=([gw-1]=$GW1_PORT [gw-2]=$GW2_PORT) PID_OF=([gw-1]=$GW1_PID [gw-2]=$GW2_PID)

pg_stop fast
# A burst on both instances, distinct numbers (no BUSY): 40 transactions.
load "http://127.0.0.1:$GW1_PORT,http://127.0.0.1:$GW2_PORT" "$L/log-d" --rate 40 --count 40
awk '$4 == 202 {print $5}' "$L/log-d" >"$L/ids-d"
check "burst on both instances while PostgreSQL is down: $(wc -l <"$L/ids-d") of 40 accepted" test "$(wc -l <"$L/ids-d")" = 40
check "every transaction of the burst finished" wait_finished "$L/ids-d" "$GW1_PORT" 60
# An archiver whose database is down holds the batch it read (unacknowledged) and retries it:
# wait until some are read, then a little for the other instance to read too.
some_read() { [ "$(ar_xpending)" -gt 0 ]; }
wait_for 15 some_read || true
sleep 2
ar_pending_by_consumer | sort -k2,2nr >"$L/consumers"
echo "pending by consumer: $(tr '\n' ';' <"$L/consumers")"
victim_consumer=$(awk 'NR == 1 {print $1}' "$L/consumers")
victim_pending=$(awk 'NR == 1 {print $2}' "$L/consumers")
victim=
for g in gw-1 gw-2; do [[ ${victim_consumer:-} == *"$g"* ]] && victim=$g; done
check "an instance holds read, unacknowledged entries (${victim_consumer:-none}: ${victim_pending:-0})" \
  test -n "$victim" -a "${victim_pending:-0}" -gt 0
victim=${victim:-gw-2}
survivor=gw-1; [ "$victim" = gw-1 ] && survivor=gw-2
# The dead consumer's entries, by event id, before they move.
: >"$L/victim-eids"
for s in $(ar_streams); do
  rcli --raw XPENDING "$s" archive - + 10000 "${victim_consumer:-none}" 2>/dev/null | awk 'NR % 4 == 1' |
    while read -r e; do
      rcli --raw XRANGE "$s" "$e" "$e" | awk 'p == "eid" {print; exit} {p = $0}'
    done >>"$L/victim-eids"
done
check "the victim's pending entries are named by event id ($(wc -l <"$L/victim-eids"))" \
  test "$(wc -l <"$L/victim-eids")" = "${victim_pending:-0}"
kill -9 "${PID_OF[$victim]}"
wait "${PID_OF[$victim]}" 2>/dev/null || true
t_kill=$(now)
pg_start || bad "PostgreSQL did not start again"
cat "$L/ids-c" "$L/ids-d" >"$L/ids-all"
archived_all() { archived_set_is "$L/ids-all" && drained; }
check "the survivor ($survivor) archives everything, the dead consumer's entries too" wait_until 90 archived_all
took=$(awk -v a="$t_kill" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
check "the set of signature events = every transaction of (c) and (d) ($(wc -l <"$L/set.diff") diff lines)" \
  archived_set_is "$L/ids-all"
victim_archived() {
  local e
  while read -r e; do ar_has "$e" 1 || { echo "not archived once: $e" >&2; return 1; }; done <"$L/victim-eids"
}
check "each of the dead consumer's $(wc -l <"$L/victim-eids") entries archived exactly once" victim_archived
dups=$(ar_dups)
check "no event archived twice (count per event_id = 1)" test -z "$dups"
[ -z "$dups" ] || echo "$dups" | head -5 >&2
check "XPENDING empty in every stream, XLEN 0 ($(ar_xpending) / $(ar_xlen))" drained
# The gauge is refreshed every 5 s (ar_archiver.c): it may still show the backlog just drained.
check "the survivor is alive and its gauge says 0 (within two refreshes)" wait_for 12 bash -c \
  "kill -0 ${PID_OF[$survivor]} && [ \"\$(curl -sf http://127.0.0.1:${PORT_OF[$survivor]}/metrics | awk '\$1 == \"simpki_archive_backlog_entries\" {print \$2}')\" = 0 ]"
echo "figures (d): $(wc -l <"$L/ids-d") transactions, $victim held ${victim_pending:-0} pending, killed; all archived ${took} s after the kill (claim_idle_s 5, counted from when the entries were read)"
echo "events: $(pg_sql -c "select string_agg(etype || '=' || n, ' ') from (select etype, count(*) n from archive_events group by 1 order by 1) x")"
finish
