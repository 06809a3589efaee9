#!/usr/bin/env bash
# Redis Sentinel and acknowledged writes (queue/q_sentinel.c, q_conn.c): the
# gateway finds the master through three real sentinels, with wait_replicas 1.
#   1. signing works; with both replicas stopped (SIGSTOP) a signature request
#      is refused 503 UNAVAILABLE: WAIT counted no replica, the 202 is not given;
#   2. a transaction is created (202) and left pending (its SIM answers after
#      8 s); kill -9 of the master: requests meanwhile get 503 UNAVAILABLE with
#      Retry-After (counted), then signing works again without a restart; the
#      pending transaction is on the new master and completes; a long poll
#      (GET ?wait) returns on the completion (pub/sub re-subscribed);
#   3. a manual failover (SENTINEL FAILOVER: the master is demoted to a replica
#      under the gateway): the gateway follows to the new master and signs (once
#      the demoted master replicates from it: WAIT needs a replica).
# The time from the kill to the first successful request is printed, not asserted.
. "$(dirname "$0")/lib.sh"

SLOW=84960000002 # its SIM answers after 8 s: pending across the failover
NUMS=(84960000001 84910000001 84900000001 84910000002 84900000002)

sentinel_start
make_demo
start_ocsp
SIM_SCEN_EDIT="(.subscribers[] | select(.msisdn == \"$SLOW\") | .delay_ms) = 8000" start_sim
CONFIG_EDIT="$(sentinel_config_edit) | .redis.wait_replicas = 1 | .redis.wait_timeout_ms = 300
  | .redis.connect_timeout_ms = 500" TXN_TIMEOUT_S=60 write_config
import_registry
start_gw
check "the gateway found the master through the sentinels" \
  grep -q "the sentinels name 127.0.0.1:${REDIS_NODE_PORTS[0]} the master" "$T/gateway.log"

completed_ok() { # ID
  local j; j=$(wait_result "$1" 30)
  [ "$(jq -r '"\(.state) \(.result)"' <<<"$j")" = "completed OK" ]
}

# 1. signing; then no replica to acknowledge: 503, not 202.
for n in "${NUMS[@]:0:3}"; do
  j=$(sign "$n")
  if [ "$(code)" = 202 ]; then
    check "before the failover: $n signs" completed_ok "$(jq -r .id <<<"$j")"
  else
    bad "before the failover: POST $n: $(code) $j"
  fi
done
kill -STOP "${REDIS_NODE_PIDS[1]}" "${REDIS_NODE_PIDS[2]}"
j=$(sign "${NUMS[3]}")
c=$(code)
kill -CONT "${REDIS_NODE_PIDS[1]}" "${REDIS_NODE_PIDS[2]}"
check "no replica acknowledges: 503 UNAVAILABLE, not 202 (got $c)" \
  test "$c $(jq -r .error <<<"$j")" = "503 UNAVAILABLE"
check "the refused WAIT is counted in /metrics" \
  bash -c "curl -sf http://127.0.0.1:$API_PORT/metrics | grep -Eq '^simpki_redis_wait_failures_total [1-9]'"
# The write may exist (that is what Idempotency-Key is for): let its transaction end before reusing the number.
wait_for 30 bash -c "! redis-cli -p ${REDIS_NODE_PORTS[0]} --scan --pattern 'spk:*:busy:*' | grep -q ."

# 2. kill -9 of the master with a transaction pending.
j=$(sign "$SLOW")
check "the slow transaction is accepted" test "$(code)" = 202
slow_id=$(jq -r .id <<<"$j")
old=$(sentinel_master_port)
t0=$(date +%s%N)
redis_node_kill 0
n503=0 nbad=0 first_ok=
i=0
while [ -z "$first_ok" ] && [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt 40 ]; do
  n=${NUMS[$((i % 3))]}
  i=$((i + 1))
  c=$(curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data-binary \
        "$(jq -n --arg m "$n" --arg d "$DEFAULT_DIGEST" '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"Ký"}')" \
        "http://127.0.0.1:$API_PORT/v1/signatures")
  case "$c" in
    202) first_ok=$(( ($(date +%s%N) - t0) / 1000000 )); after_id=$(jq -r .id "$T/body") ;;
    503) if [ "$(jq -r .error "$T/body")" = UNAVAILABLE ] && grep -qi '^Retry-After: [0-9]' "$T/hdr"; then
           n503=$((n503 + 1))
         else
           nbad=$((nbad + 1)); echo "unexpected 503: $(cat "$T/body")" >&2
         fi
         sleep 0.05 ;;
    409) sleep 0.05 ;; # the number's previous transaction still pending: another turn
    *) nbad=$((nbad + 1)); echo "unexpected $c: $(cat "$T/body")" >&2; sleep 0.05 ;;
  esac
done
echo "failover: first successful request ${first_ok:-never} ms after the kill; $n503 requests refused 503 meanwhile"
check "signing works again after the failover, without a restart" test -n "$first_ok"
check "every refusal meanwhile was 503 UNAVAILABLE with Retry-After ($n503 of them, $nbad others)" test "$nbad" -eq 0
new=$(sentinel_master_port)
check "the sentinels promoted a replica ($old -> $new)" test "$new" != "$old"
check "the gateway logged the move to $new" grep -Eq "(master moved:|failover: master) .* -> 127.0.0.1:$new(\"|\$)" "$T/gateway.log"
check "the pending transaction is on the new master (acknowledged after WAIT)" \
  bash -c "redis-cli -p $new --scan --pattern 'spk:*:txn:$slow_id' | grep -q ."
# The long poll: returns on the completion (pub/sub on the new master), not at the end of its wait.
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/signatures/$slow_id?wait=25" >"$T/poll.json"
check "the long poll returned the completed transaction" \
  test "$(jq -r '"\(.state) \(.result)"' "$T/poll.json")" = "completed OK"
check "the request made after the failover completes" completed_ok "$after_id"
check "/metrics counts the failover" \
  bash -c "curl -sf http://127.0.0.1:$API_PORT/metrics | grep -Eq '^simpki_redis_failovers_total [1-9]'"

# 3. manual failover: the master is demoted under the gateway.
before=$(sentinel_master_port)
wait_for 20 bash -c "redis-cli -p ${SENTINEL_PORTS[1]} sentinel failover $SENTINEL_MASTER_NAME | grep -q OK"
after=$(sentinel_wait_master "$before" 30 || true)
check "SENTINEL FAILOVER moved the master ($before -> $after)" test -n "$after"
role_is() { [ "$(redis_node_role "$1")" = "$2" ]; }
check "the old master is a replica now" wait_for 30 role_is "$before" slave
# Sentinel tells the demoted master to replicate only when it next looks at it (INFO, every
# 10 s): until then the new master has no replica to acknowledge WAIT, and creates get 503.
ok_after=
end=$(( $(date +%s) + 40 ))
while [ -z "$ok_after" ] && [ "$(date +%s)" -lt "$end" ]; do
  j=$(sign "${NUMS[4]}")
  case "$(code)" in
    202) ok_after=$(jq -r .id <<<"$j") ;;
    503) sleep 0.2 ;;
    *) echo "after the manual failover: $(code) $j" >&2; sleep 0.2 ;;
  esac
done
check "after the manual failover the gateway signs on the new master" test -n "$ok_after"
[ -n "$ok_after" ] && check "that transaction is on $after" \
  bash -c "redis-cli -p $after --scan --pattern 'spk:*:txn:$ok_after' | grep -q ."
[ -n "$ok_after" ] && check "and completes" completed_ok "$ok_after"
finish
