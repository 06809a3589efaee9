#!/usr/bin/env bash
# Nothing is lost: kill -9 of the daemon with transactions pending, a
# redis-server restart (AOF) mid-flight.  Each transaction finishes exactly
# once, completed OK (the simulated SIM answers 2.5 s after the submit, the
# gateway is back within a second: an expiry would mean a lost answer), and
# none stays pending.  Finishes are counted from the store, not the log.
# TRANSPORT=etsi204: the MSSP's own id (MSSP_TransID) is stored before the
# crash and the next instance only asks for it: not one MSS_Signature again.
# (The simulated MSSP deduplicates a request sent again by its AP_TransID, so
# every transaction would complete OK without the id: its log tells.)
. "$(dirname "$0")/lib.sh"

SIM_DELAY_MS=2500 TXN_TIMEOUT_S=40 stack_up
nums=(84960000001 84910000001 84900000001 84960000002 84910000002 84900000002)

start_all() {
  ids=()
  for n in "${nums[@]}"; do
    j=$(sign "$n")
    if [ "$(code)" = 202 ]; then ids+=("$(jq -r .id <<<"$j")"); else bad "POST $n: $(code) $j"; fi
  done
}
all_final() { # label
  for id in "${ids[@]}"; do
    j=$(wait_result "$id" 60)
    st=$(jq -r '"\(.state) \(.result)"' <<<"$j")
    case "$st" in
      "completed OK") ok "$1: $id completed" ;;
      *) bad "$1: $id ended as '$st': $j" ;;
    esac
  done
}
# store_state ID -> "state result finished_ms" of the transaction's hash in Redis.
store_state() {
  local k; k=$(redis-cli -p "$REDIS_PORT" --scan --pattern "spk:*:txn:$1" | head -n1)
  [ -n "$k" ] || { echo "missing"; return; }
  redis-cli -p "$REDIS_PORT" hmget "$k" state result finished_ms | paste -sd' '
}
# Every transaction of this round is stored completed OK with a finish time.
store_all_ok() { # label
  local id st
  for id in "${ids[@]}"; do
    st=$(store_state "$id")
    if [[ "$st" =~ ^completed\ OK\ [0-9]+$ ]]; then ok "$1: $id stored completed OK"; else bad "$1: $id stored as '$st'"; fi
    all_ids+=("$id")
  done
}
all_ids=()
# far_ref ID -> the far end's id stored with the transaction ("" when none).
far_ref() {
  local k; k=$(redis-cli -p "$REDIS_PORT" --scan --pattern "spk:*:txn:$1" | head -n1)
  [ -n "$k" ] || return 0
  redis-cli -p "$REDIS_PORT" hget "$k" far_ref
}
all_tracked() { local id; for id in "${ids[@]}"; do [ -n "$(far_ref "$id")" ] || return 1; done; }
# signatures_since LINE -> MSS_Signature requests the simulated MSSP logged past line LINE.
signatures_since() { tail -n +"$(($1 + 1))" "$T/sim.log" | grep -c 'MSS_SignaturePort' || true; }
pending_keys() { redis-cli -p "$REDIS_PORT" --scan --pattern 'spk:*:due' | while read -r k; do redis-cli -p "$REDIS_PORT" zcard "$k"; done | awk '{s+=$1} END {print s+0}'; }

# 1. kill -9 with every transaction pending, restart.
start_all
if [ "$TRANSPORT" = etsi204 ]; then
  # Before the crash: every request taken by the MSSP, its id in the store.
  check "every transaction stored with the MSSP's id before kill -9" wait_for 2 all_tracked
  mark=$(wc -l <"$T/sim.log")
fi
stop_gw -KILL
sleep 1
start_gw
all_final "after kill -9"
store_all_ok "after kill -9"
if [ "$TRANSPORT" = etsi204 ]; then
  check "after kill -9 the MSSP was only asked, by its id: no MSS_Signature sent again ($(signatures_since "$mark"))" \
    test "$(signatures_since "$mark")" = 0
fi
check "no transaction left pending after kill -9" test "$(pending_keys)" = 0

# 2. redis-server restarted mid-flight; AOF keeps every transaction.
start_all
sleep 0.5
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
wait "$REDIS_PID" 2>/dev/null || true
sleep 0.5
start_redis
all_final "after a Redis restart"
store_all_ok "after a Redis restart"
check "no transaction left pending after the Redis restart" test "$(pending_keys)" = 0
# Counted from the store: the compare-and-set lets one finish in, so exactly
# one stored "completed OK" per transaction, and no other transaction finished.
n=0
for id in "${all_ids[@]}"; do [[ "$(store_state "$id")" == "completed OK "* ]] && n=$((n + 1)); done
total=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'spk:*:txn:*' | while read -r k; do
  redis-cli -p "$REDIS_PORT" hget "$k" state; done | grep -c '^completed$' || true)
check "each transaction finished exactly once ($n of ${#all_ids[@]} stored OK, $total completed in the store)" \
  test "$n" -eq "${#all_ids[@]}" -a "$total" -eq "${#all_ids[@]}" -a "${#all_ids[@]}" -eq $((${#nums[@]} * 2))

# 3. Graceful stop with long polls waiting: they are answered, not cut.
start_all
# The poll waits on a card that never answers (behaviour 02): under load a confirming card
# could answer before the SIGTERM, and the poll would rightly get 200.
hold=$(sign 84960000021 | jq -r .id)
( api GET "/v1/signatures/$hold?wait=30" >/dev/null; echo "$(code)" > "$T/lp.code" ) &
lp=$!
sleep 0.5
stop_gw -TERM
wait $lp || true
check "a waiting long poll is answered on shutdown" grep -q '^503$' "$T/lp.code"
start_gw
all_final "after a graceful restart"
store_all_ok "after a graceful restart"
finish
