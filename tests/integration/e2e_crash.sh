#!/usr/bin/env bash
# Nothing is lost: kill -9 of the daemon with transactions pending, a
# redis-server restart (AOF) mid-flight.  Each transaction finishes exactly
# once, and none stays pending.
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
      "failed EXPIRED") ok "$1: $id expired (its answer came while no gateway was up)" ;;
      *) bad "$1: $id ended as '$st': $j" ;;
    esac
  done
}
pending_keys() { redis-cli -p "$REDIS_PORT" --scan --pattern 'spk:*:due' | while read -r k; do redis-cli -p "$REDIS_PORT" zcard "$k"; done | awk '{s+=$1} END {print s+0}'; }

# 1. kill -9 with every transaction pending, restart.
start_all
stop_gw -KILL
sleep 1
start_gw
all_final "after kill -9"
check "no transaction left pending after kill -9" test "$(pending_keys)" = 0

# 2. redis-server restarted mid-flight; AOF keeps every transaction.
start_all
sleep 0.5
redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
wait "$REDIS_PID" 2>/dev/null || true
sleep 0.5
start_redis
all_final "after a Redis restart"
check "no transaction left pending after the Redis restart" test "$(pending_keys)" = 0
n=$(grep -c 'finished: OK' "$T/gateway.log" || true)
check "each transaction finished at most once ($n OK finishes for ${#nums[@]}x2 transactions)" test "$n" -le 12

# 3. Graceful stop with long polls waiting: they are answered, not cut.
start_all
( api GET "/v1/signatures/${ids[0]}?wait=30" >/dev/null; echo "$(code)" > "$T/lp.code" ) &
lp=$!
sleep 0.5
stop_gw -TERM
wait $lp || true
check "a waiting long poll is answered on shutdown" grep -q '^503$' "$T/lp.code"
start_gw
all_final "after a graceful restart"
finish
