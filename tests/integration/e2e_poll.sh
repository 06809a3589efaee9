#!/usr/bin/env bash
# Long polls: a POST and its GET ?wait=N on the instance that finishes the
# transaction cost no Redis read (the engine hands the stored transaction
# over); every other path reads, and none may miss an outcome: another
# relying party, an expiry by the sweeper, a completion announcement lost
# with the subscription, and a second instance that finishes what the first
# one created (the simulator delivers each answer to either bind).
. "$(dirname "$0")/lib.sh"

SIM_DELAY_MS=300 TXN_TIMEOUT_S=10 stack_up

metric() { # name [port] -> value
  curl -sf "http://127.0.0.1:${2:-$API_PORT}/metrics" | awk -v m="simpki_$1" '$1 == m {print $2}'
}
snap() { own0=$(metric long_poll_own_total); hand0=$(metric long_poll_handoff_total); reads0=$(metric txn_reads_total); }
delta() { # own hand reads (since snap)
  echo "$(($(metric long_poll_own_total) - own0)) $(($(metric long_poll_handoff_total) - hand0)) $(($(metric txn_reads_total) - reads0))"
}
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# 1. POST, then a long poll on the same instance: answered by the hand-off, no read.
snap
j=$(sign 84960000002)
id=$(jq -r .id <<<"$j")
check "POST accepted" test "$(code)" = 202
w=$(api GET "/v1/signatures/$id?wait=20")
check "the long poll gets the completed signature" test "$(jq -r '"\(.state) \(.result)"' <<<"$w")" = "completed OK"
d=$(delta); check "own pending, handed over, not read: own/handoff/reads = 1 1 0 (counted: $d)" test "$d" = "1 1 0"
r=$(api GET "/v1/signatures/$id")
check "the handed-over answer is the stored one, byte for byte" test "$w" = "$r"
openssl_verify "$w" "$DEFAULT_DIGEST" && ok "the handed-over signature verifies with openssl" || bad "signature does not verify"

# 2. Another relying party's long poll on it while pending: read, and refused like an unknown id.
j=$(sign 84960000001)
id=$(jq -r .id <<<"$j")
saved=$TOKEN; TOKEN="other-$saved"
snap
w=$(api GET "/v1/signatures/$id?wait=20")
check "another relying party's long poll -> 404" test "$(code)" = 404
d=$(delta); check "... after a read, never the own shortcut: own/handoff/reads = 0 0 1 (counted: $d)" test "$d" = "0 0 1"
TOKEN=$saved
w=$(wait_result "$id" 20)
check "the owner still gets its signature" test "$(jq -r .result <<<"$w")" = OK

# 3. No answer: the sweeper expires it; the waiter that skipped its first read is woken by the announcement.
snap
j=$(sign 84960000021)
id=$(jq -r .id <<<"$j")
w=$(api GET "/v1/signatures/$id?wait=30")
check "expired while the own long poll waited" test "$(jq -r '"\(.state) \(.result)"' <<<"$w")" = "failed EXPIRED"
d=$(delta); check "expiry: own, woken by the announcement, one read: own/handoff/reads = 1 0 1 (counted: $d)" test "$d" = "1 0 1"

# 4. The announcement is lost: the gateway's subscription is cut (CLIENT KILL) and cannot come
#    back (an ACL refuses SUBSCRIBE) while the sweeper expires the transaction, so its PUBLISH
#    reaches nobody.  Once SUBSCRIBE is allowed again the gateway subscribes anew; its own
#    entries are from before, so the next long poll must read -- trusting them would wait out
#    the whole wait=N (and count an own shortcut).
j=$(sign 84960000021)
id=$(jq -r .id <<<"$j")
check "POST accepted (no-answer card)" test "$(code)" = 202
# "redis-sub connected" in a text log, {"subsys":"redis-sub","msg":"connected"} in a JSON one.
subs() { grep -cE 'redis-sub( |","msg":")connected' "$T/gateway.log" || true; }
subs_more() { [ "$(subs)" -gt "$1" ]; }
subs0=$(subs)
rcli acl setuser default -subscribe >/dev/null
rcli client kill type pubsub >/dev/null
key="spk:{$((16#${id:0:2} % 16))}:txn:$id"
wait_for 20 sh -c "[ \"\$(redis-cli -p $REDIS_PORT hget '$key' state)\" = failed ]" \
  && ok "expired by the sweeper while nobody was subscribed" || bad "not expired: $(rcli hget "$key" state)"
check "... and the gateway could not subscribe meanwhile" test "$(subs)" = "$subs0"
rcli acl setuser default +subscribe >/dev/null
wait_for 20 subs_more "$subs0" \
  && ok "subscribed again" || bad "no new subscription"
snap
w=$(api GET "/v1/signatures/$id?wait=20")
check "the long poll after the lost announcement: EXPIRED" test "$(jq -r .result <<<"$w")" = EXPIRED
d=$(delta); check "... read at once, no shortcut on a stale entry: own/handoff/reads = 0 0 1 (counted: $d)" test "$d" = "0 0 1"

# 5. Two instances on one Redis and one SMSC: each answer goes to either bind, so a transaction
#    created on A is finished by A or by B.  Long polls on A and on B: every one completes.
A_PORT=$API_PORT
# A port free when picked may be a neighbour test's by the time B binds it, and
# then the neighbour answers B's health check: B is up only when its own log
# says it listens there (another port if it could not).
start_b() {
  local from
  for _ in 1 2 3; do
    B_PORT=$(free_port)
    jq --argjson p "$B_PORT" '.listen_port = $p' "$T/simpki.json" >"$T/simpki-b.json"
    from=$(wc -l 2>/dev/null <"$T/gateway-b.log" || echo 0)
    "$SIMPKID" -c "$T/simpki-b.json" >>"$T/gateway-b.log" 2>&1 &
    PIDS+=($!)
    if wait_for 30 own_listen "$T/gateway-b.log" "$from" "$B_PORT"; then
      wait_for 15 sh -c "curl -sf http://127.0.0.1:$B_PORT/healthz | jq -e '.carrier_links == true'"
      return
    fi
    tail -n +"$((from + 1))" "$T/gateway-b.log" | grep -q "cannot listen" || return 1
  done
  return 1
}
start_b && ok "second instance up" || bad "second instance did not come up"
nums=(84960000001 84960000002 84910000001 84910000002 84900000001 84900000002)
handA0=$(metric long_poll_handoff_total "$A_PORT"); handB0=$(metric long_poll_handoff_total "$B_PORT")
good=0
for round in 1 2 3; do
  for n in "${nums[@]}"; do
    API_PORT=$A_PORT
    j=$(sign "$n")
    id=$(jq -r .id <<<"$j")
    [ "$(code)" = 202 ] || { bad "POST $n on A: $(code) $j"; continue; }
    # Alternate: the poll on A (its own transaction) or on B (someone else's).
    if [ $(( (round + ${n: -1}) % 2 )) -eq 0 ]; then API_PORT=$B_PORT; fi
    w=$(api GET "/v1/signatures/$id?wait=20")
    if [ "$(jq -r '"\(.state) \(.result)"' <<<"$w")" = "completed OK" ]; then
      good=$((good + 1))
    else
      bad "round $round $n polled on $API_PORT: $w"
    fi
  done
done
API_PORT=$A_PORT
check "18 long polls across two instances, all completed OK ($good)" test "$good" = 18
handA=$(($(metric long_poll_handoff_total "$A_PORT") - handA0)); handB=$(($(metric long_poll_handoff_total "$B_PORT") - handB0))
echo "     hand-offs: A $handA, B $handB (the other polls were woken by the announcement and read)"

finish
