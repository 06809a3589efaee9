#!/usr/bin/env bash
# The outbox with a lease (docs/design.md): an instance killed -9 after it
# sent a command but before the SMSC accepted it (no submit_sm_resp) leaves
# the transaction in the outbox; another instance claims it after
# resubmit_lease_s and sends it again with the SAME OTA counter, and the
# transaction completes OK.  The simulator's hold_first behaviour leaves every
# submit_sm on the first link unanswered (tests/sim/README.md).
. "$(dirname "$0")/lib.sh"

N=84960000001 # Viettel, RSA; hold_first here instead of confirm
SIM_SCEN_EDIT="(.subscribers[] | select(.msisdn == \"$N\") | .behaviour) = \"hold_first\"" TXN_TIMEOUT_S=40 stack_up

txn_key() { redis-cli -p "$REDIS_PORT" --scan --pattern "spk:*:txn:$1" | head -n1; }
in_outbox() { # ID: its score in its shard's outbox, or nothing
  local k; k=$(txn_key "$1")
  redis-cli -p "$REDIS_PORT" zscore "${k%%:txn:*}:outbox" "$1"
}

j=$(sign "$N")
[ "$(code)" = 202 ] || { bad "POST $N: $(code) $j"; finish; exit 1; }
id=$(jq -r .id <<<"$j")
check "the simulator holds the first submit_sm unanswered" wait_for 10 grep -q 'hold_first: submit_sm' "$T/sim.log"
stop_gw -KILL

key=$(txn_key "$id")
read -r st cntr sent < <(redis-cli -p "$REDIS_PORT" hmget "$key" state cntr sent | paste -sd' ')
check "stored pending with an OTA counter ($st, cntr $cntr), never marked sent ($sent)" \
  test "$st" = pending -a -n "$cntr" -a "${sent:-0}" != 1
check "the unaccepted command is in the outbox" test -n "$(in_outbox "$id")"
check "no card answered yet" test "$(grep -c '\[hold_first\] cmd' "$T/sim.log" || true)" = 0

start_gw
r=$(wait_result "$id" 40)
check "completed OK after the other instance resubmitted: $(jq -c '{state, result}' <<<"$r")" \
  test "$(jq -r '"\(.state) \(.result)"' <<<"$r")" = "completed OK"
check "the signature verifies with openssl" openssl_verify "$r" "$DEFAULT_DIGEST"
check "the other instance logged the resubmission with that counter" grep -q "resubmitting (counter $cntr)" "$T/gateway.log"

# The simulator's record: one command reached the card, with the stored counter.
cards=$(grep '\[hold_first\] cmd' "$T/sim.log" || true)
check "the card ran exactly one command: $cards" test "$(grep -c . <<<"$cards")" = 1
got=$(sed -n 's/.* cntr \([0-9]*\) .*/\1/p' <<<"$cards")
check "the resubmitted command carries the SAME OTA counter (stored $cntr, card saw $got)" test "$got" = "$cntr"
check "the simulator held submits on the first link only" test "$(grep -c 'hold_first: submit_sm' "$T/sim.log")" -ge 1

read -r st2 res2 cntr2 sent2 < <(redis-cli -p "$REDIS_PORT" hmget "$key" state result cntr sent | paste -sd' ')
check "stored completed OK, counter unchanged ($st2 $res2 cntr $cntr2)" \
  test "$st2 $res2 $cntr2" = "completed OK $cntr"
check "the transaction left the outbox" test -z "$(in_outbox "$id")"
finish
