#!/usr/bin/env bash
# Callbacks (issue 13, docs/callbacks.md) against the real stack and a real
# receiver (cb_receiver.py: records every POST, answers 500 to the first N):
#  1. delivered exactly once, the body is GET's JSON, the HMAC verifies with
#     docs/callbacks.md's few lines of shell and a tampered body fails them;
#  2. a receiver failing the first 3 tries gets it on the 4th (attempts 4);
#  3. kill -9 of the instance that owed it: another instance delivers it once;
#  4. refused at POST: off the allow-list, http:// without callback_http.
# Outcomes are read from the store (cb_state, cb_tries) and the receiver's
# files, not from log lines.
. "$(dirname "$0")/lib.sh"

SECRET=cb-secret-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
RPORT=

# lib.sh's configuration plus the relying parties' callback settings: ours may
# call back http://127.0.0.1:RPORT/ (callback_http), other-rp https:// only.
write_cb_config() {
  write_config
  jq --arg s "$SECRET" --arg http "http://127.0.0.1:$RPORT/" --arg https "https://127.0.0.1:$RPORT/" '
    .api_keys[0] += {callback_secret: $s, callback_allow: [$http], callback_http: true}
    | .api_keys[1] += {callback_secret: $s, callback_allow: [$https]}' "$T/simpki.json" >"$T/simpki.json.tmp"
  mv "$T/simpki.json.tmp" "$T/simpki.json"
}

RCV_PID=
start_receiver() { # DIR FAIL
  : >"$T/receiver.log"
  python3 "$SRC/tests/integration/cb_receiver.py" "$RPORT" "$1" "$2" >>"$T/receiver.log" 2>&1 &
  RCV_PID=$!
  PIDS+=("$RCV_PID")
  wait_for 10 grep -q "^ready $RPORT" "$T/receiver.log"
}
stop_receiver() { kill "$RCV_PID" 2>/dev/null || true; wait "$RCV_PID" 2>/dev/null || true; }

# sign_cb MSISDN URL -> JSON; code in $T/code
sign_cb() {
  api POST /v1/signatures "$(jq -n --arg m "$1" --arg d "$DEFAULT_DIGEST" --arg u "$2" \
    '{msisdn: $m, digest: $d, display_text: "Ký văn bản số 7/QĐ", callback_url: $u}')"
}
# txn_field ID FIELD -> the stored field ("" when absent)
txn_field() {
  local k; k=$(redis-cli -p "$REDIS_PORT" --scan --pattern "spk:*:txn:$1" | head -n1)
  [ -n "$k" ] && redis-cli -p "$REDIS_PORT" hget "$k" "$2"
}
cb_state_is() { [ "$(txn_field "$1" cb_state)" = "$2" ]; }
posts() { ls "$1"/*.body 2>/dev/null | wc -l; }
oks() { cat "$1"/*.status 2>/dev/null | grep -c '^2' || true; }
header() { sed -n "s/^$2: //p" "$1" | tr -d '\r'; }

# docs/callbacks.md's check, its sh block run as written (so the documented lines are
# what is tested): $sig the X-Simpki-Signature value, the body in the file "body".
DOC_CHECK=$(sed -n '/^```sh$/,/^```$/p' "$SRC/docs/callbacks.md" | sed '1d;$d')
[ -n "$DOC_CHECK" ] || { echo "no sh block in docs/callbacks.md" >&2; exit 1; }
verify() { # HEADERS BODY
  local d; d=$(mktemp -d "$T/verify.XXXXXX")
  cp "$2" "$d/body"
  (cd "$d" && sig=$(header "$1" X-Simpki-Signature) && eval "$DOC_CHECK") >/dev/null 2>&1
}

start_redis
make_demo
start_ocsp
start_sim
RPORT=$(free_port)
write_cb_config
import_registry
start_gw

# 1. Delivered once; the body is what GET shows; the HMAC verifies, a tampered body does not.
R1=$T/rcv1
start_receiver "$R1" 0
j=$(sign_cb 84960000001 "http://127.0.0.1:$RPORT/hook/1?x=1")
check "1: POST with callback_url accepted (202)" test "$(code)" = 202
id1=$(jq -r .id <<<"$j")
check "1: the POST's answer shows the callback pending" \
  test "$(jq -c .callback <<<"$j")" = "{\"url\":\"http://127.0.0.1:$RPORT/hook/1?x=1\",\"state\":\"pending\",\"attempts\":0}"
wait_result "$id1" 30 >/dev/null
wait_for 10 cb_state_is "$id1" delivered || true
check "1: stored cb_state delivered" cb_state_is "$id1" delivered
sleep 1.5 # a second delivery, if any, would come within the claim interval
check "1: the receiver saw exactly 1 POST ($(posts "$R1"))" test "$(posts "$R1")" = 1
g=$(api GET "/v1/signatures/$id1")
check "1: GET shows the callback delivered after 1 attempt" \
  test "$(jq -c '.callback | [.state, .attempts]' <<<"$g")" = '["delivered",1]'
check "1: the body is GET's transaction JSON" \
  test "$(jq -Sc 'del(.callback)' "$R1/1.body")" = "$(jq -Sc 'del(.callback)' <<<"$g")"
check "1: the body says completed OK" test "$(jq -r '"\(.state) \(.result)"' "$R1/1.body")" = "completed OK"
check "1: X-Simpki-Transaction is the id" test "$(header "$R1/1.headers" X-Simpki-Transaction)" = "$id1"
check "1: X-Simpki-Attempt is 1" test "$(header "$R1/1.headers" X-Simpki-Attempt)" = 1
check "1: Content-Type application/json" test "$(header "$R1/1.headers" Content-Type)" = application/json
check "1: the HMAC verifies with docs/callbacks.md's lines" verify "$R1/1.headers" "$R1/1.body"
sed 's/"completed"/"failed"/' "$R1/1.body" >"$T/tampered.body"
check "1: the tampered body differs" bash -c "! cmp -s '$R1/1.body' '$T/tampered.body'"
if verify "$R1/1.headers" "$T/tampered.body"; then bad "1: the tampered body verified"; else ok "1: the tampered body does not verify"; fi
SECRET_OK=$SECRET; SECRET=wrong-secret-0123456789
if verify "$R1/1.headers" "$R1/1.body"; then bad "1: another secret verified"; else ok "1: another secret does not verify"; fi
SECRET=$SECRET_OK
stop_receiver

# 2. The receiver fails the first 3 tries (500): delivered on the 4th (backoff 2 s, 4 s, 8 s).
R2=$T/rcv2
start_receiver "$R2" 3
j=$(sign_cb 84910000001 "http://127.0.0.1:$RPORT/hook/2")
id2=$(jq -r .id <<<"$j")
wait_result "$id2" 30 >/dev/null
wait_for 40 cb_state_is "$id2" delivered || true
check "2: stored cb_state delivered" cb_state_is "$id2" delivered
sleep 1.5
check "2: 4 POSTs ($(posts "$R2")), one answered 2xx ($(oks "$R2"))" test "$(posts "$R2")" = 4 -a "$(oks "$R2")" = 1
check "2: stored cb_tries 4" test "$(txn_field "$id2" cb_tries)" = 4
check "2: GET's callback says delivered, attempts 4" \
  test "$(api GET "/v1/signatures/$id2" | jq -c '.callback | [.state, .attempts]')" = '["delivered",4]'
check "2: the 4th POST was attempt 4" test "$(header "$R2/4.headers" X-Simpki-Attempt)" = 4
all_verify() { local n; for n in 1 2 3 4; do verify "$R2/$n.headers" "$R2/$n.body" || return 1; done; }
check "2: every attempt's HMAC verifies" all_verify
stop_receiver

# 3. Nobody listens: the callback stays pending with failed tries; kill -9 of the instance
#    that owes it; another instance (another API port, the same Redis) delivers it once.
R3=$T/rcv3
j=$(sign_cb 84900000001 "http://127.0.0.1:$RPORT/hook/3")
id3=$(jq -r .id <<<"$j")
wait_result "$id3" 30 >/dev/null
tries_ge2() { [ "$(txn_field "$id3" cb_tries)" -ge 2 ] 2>/dev/null; }
wait_for 20 tries_ge2 || true
check "3: pending with $(txn_field "$id3" cb_tries) failed tries before the kill" \
  test "$(txn_field "$id3" cb_state)" = pending -a "$(txn_field "$id3" cb_tries)" -ge 2
before=$(txn_field "$id3" cb_tries)
stop_gw -KILL
start_receiver "$R3" 0
API_PORT=
write_cb_config
start_gw
wait_for 40 cb_state_is "$id3" delivered || true
check "3: delivered after the kill -9 (stored)" cb_state_is "$id3" delivered
sleep 1.5
check "3: the receiver saw exactly 1 POST ($(posts "$R3"))" test "$(posts "$R3")" = 1 -a "$(oks "$R3")" = 1
check "3: by the new instance: attempt $(header "$R3/1.headers" X-Simpki-Attempt) > $before" \
  test "$(header "$R3/1.headers" X-Simpki-Attempt)" -gt "$before"
check "3: the HMAC verifies" verify "$R3/1.headers" "$R3/1.body"
check "3: the body is the transaction" test "$(jq -r .id "$R3/1.body")" = "$id3"

# 4. Refused at POST, nothing created.
ntxn() { redis-cli -p "$REDIS_PORT" --scan --pattern 'spk:*:txn:*' | wc -l; }
n0=$(ntxn)
j=$(sign_cb 84960000002 "http://127.0.0.1:$((RPORT + 1))/hook")
check "4: a callback_url off the allow-list: 400 INVALID_FIELD callback_url" \
  test "$(code) $(jq -r '"\(.error) \(.field)"' <<<"$j")" = "400 INVALID_FIELD callback_url"
check "4: ... saying why" grep -q "not on this relying party's callback_allow list" <<<"$j"
j=$(sign_cb 84960000002 "http://127.0.0.1:$RPORT.evil.test/hook")
check "4: a host that only starts like the allowed one: 400" test "$(code)" = 400
j=$(sign_cb 84960000002 "http://127.0.0.1:$RPORT/a b")
check "4: a space in callback_url: 400" test "$(code)" = 400
j=$(sign_cb 84960000002 "$(printf 'http://127.0.0.1:%s/%0600d' "$RPORT" 0)")
check "4: a callback_url over 512 octets: 400" test "$(code)" = 400
OWN_TOKEN=$TOKEN; TOKEN=other-$OWN_TOKEN
j=$(sign_cb 84960000002 "http://127.0.0.1:$RPORT/hook")
check "4: http:// for a relying party without callback_http: 400 INVALID_FIELD" \
  test "$(code) $(jq -r '"\(.error) \(.field)"' <<<"$j")" = "400 INVALID_FIELD callback_url"
check "4: ... must be https://" grep -q "callback_url must be https://" <<<"$j"
TOKEN=$OWN_TOKEN
check "4: no transaction was created ($n0 -> $(ntxn))" test "$(ntxn)" = "$n0"
j=$(sign 84960000002)
check "4: the number is not busy: a POST without callback is accepted" test "$(code)" = 202
check "4: ... and shows no callback" test "$(jq -c .callback <<<"$j")" = null
id4=$(jq -r .id <<<"$j")
wait_result "$id4" 30 >/dev/null
check "4: a transaction without callback is never queued" test -z "$(txn_field "$id4" cb_state)"
finish
