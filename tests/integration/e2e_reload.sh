#!/usr/bin/env bash
# Reload without a restart (issue 15, gateway/gw_reload.h): SIGHUP under steady signing load.
#   1. a new key file adds B and removes A: B works, A gets 401, a request A started before
#      the reload finishes (its long poll included), no request of the load (key C, in both
#      files) fails; a restart-only setting changed meanwhile is logged as such;
#   2. a key file with a syntax error, then one with a bad hex and one with a duplicate name:
#      refused with the loader's reason, the keys in use keep working, /metrics counts them;
#   3. log_level info -> debug: debug lines appear;
#   4. trust anchors: a file without the demo subscribers' root makes their signatures
#      UNTRUSTED_CHAIN, the full file makes them verify again, a broken file is refused.
. "$(dirname "$0")/lib.sh"

tok() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
TOK_A=$(tok) TOK_B=$(tok) TOK_C=$(tok)
TOKEN=$TOK_C # lib.sh's api/sign use key C, present in every key file
key() { jq -nc --arg n "$1" --arg h "$(printf %s "$2" | sha256sum | cut -d' ' -f1)" '{name: $n, sha256: $h}'; }
# put FILE TEXT: replace FILE whole (a rename), as an operator's tooling should.
put() { printf '%s\n' "$2" >"$1.tmp" && mv "$1.tmp" "$1"; }

# A's request (84900000002, confirm) takes 12 s on the card: pending across the reload.
SIM_SCEN_EDIT='(.subscribers[] | select(.msisdn == "84900000002")).delay_ms = 12000'
start_redis
make_demo
start_ocsp
start_sim
cp "$T/demo/pki/trust.pem" "$T/anchors.pem"
put "$T/keys.json" "[$(key rp-a "$TOK_A"), $(key rp-c "$TOK_C")]"
CONFIG_EDIT="del(.api_keys) | .api_keys_file = \"$T/keys.json\" | .trust_anchors = \"$T/anchors.pem\"
             | .log_level = \"info\""
write_config
import_registry
start_gw

URL=http://127.0.0.1:$API_PORT
GW_LOG=$T/gateway.log
# logged_since FROM REGEX: a gateway log line after its first FROM lines matches.
logged_since() { tail -n +"$(($1 + 1))" "$GW_LOG" | grep -Eq "$2"; }
# hup: SIGHUP, then wait for the reload's verdict; prints the line count before it (for logged_since).
hup() {
  local from; from=$(wc -l <"$GW_LOG")
  kill -HUP "$GW_PID"
  wait_for 20 logged_since "$from" "configuration reloaded|new configuration refused" || echo "no verdict" >&2
  echo "$from"
}
# status TOKEN: the HTTP status of reading an unknown transaction (404 = the key is accepted).
status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$URL/v1/signatures/0123456789abcdef0123456789"; }
metric() { curl -sf "$URL/metrics" | grep -F "simpki_$1 " | awk '{print $2}'; }

# ---- the load: 4 workers, each signing with key C on its own number, POST then long poll to the end.
load_worker() { # MSISDN
  local n=$1 out=$T/load.$1 body c id
  body=$(jq -nc --arg m "$n" --arg d "$DEFAULT_DIGEST" '{msisdn: $m, digest: $d, digest_alg: "SHA-256", display_text: "Tải"}')
  while [ ! -e "$T/stop" ]; do
    c=$(curl -s -m 30 -o "$out.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOK_C" \
          -H 'Content-Type: application/json' --data-binary "$body" "$URL/v1/signatures")
    echo "POST $c" >>"$out.log"
    [ "$c" = 202 ] || { sleep 0.2; continue; }
    id=$(jq -r .id "$out.body")
    while :; do
      c=$(curl -s -m 30 -o "$out.body" -w '%{http_code}' -H "Authorization: Bearer $TOK_C" "$URL/v1/signatures/$id?wait=10")
      echo "GET $c" >>"$out.log"
      [ "$c" = 200 ] || break
      [ "$(jq -r .state "$out.body")" = pending ] && continue
      echo "RESULT $(jq -r .result "$out.body")" >>"$out.log"
      break
    done
  done
}
# Behaviour 00 (confirm) on two networks, RSA and EC (tests/sim/README.md's number plan).
LOAD=(84960000001 84910000001 84960000002 84910000002)
LOAD_PIDS=()
for n in "${LOAD[@]}"; do
  load_worker "$n" &
  LOAD_PIDS+=($!)
  PIDS+=($!)
done
wait_for 20 bash -c "cat $T/load.*.log 2>/dev/null | grep -c '^RESULT' | grep -qv '^[0-3]\$'" ||
  bad "the load did not get going"

# ---- 1. a valid key file: + B, - A; a request of A's under way across the reload.
check "before: A accepted" test "$(status "$TOK_A")" = 404
check "before: B refused" test "$(status "$TOK_B")" = 401
# 84900000002 confirms after 12 s: its long poll, with key A, is still waiting when A goes.
saved=$TOKEN; TOKEN=$TOK_A
j=$(sign 84900000002); a_code=$(code); a_id=$(jq -r .id <<<"$j")
TOKEN=$saved
check "A signs before the reload (202)" test "$a_code" = 202
curl -s -m 40 -o "$T/a-poll.body" -w '%{http_code}' -H "Authorization: Bearer $TOK_A" \
  "$URL/v1/signatures/$a_id?wait=30" >"$T/a-poll.code" &
A_POLL=$!
sleep 0.5
jq '.user_timeout_s = 25' "$T/simpki.json" >"$T/simpki.json.tmp" && mv "$T/simpki.json.tmp" "$T/simpki.json"
put "$T/keys.json" "[$(key rp-c "$TOK_C"), $(key rp-b "$TOK_B")]"
from=$(hup)
check "A's long poll still waiting after the reload" kill -0 "$A_POLL"
check "reload taken" logged_since "$from" "\"level\":\"info\".*\"subsys\":\"reload\",\"msg\":\"configuration reloaded: 2 relying parties"
check "a restart-only setting is named, not taken" \
  logged_since "$from" "\"level\":\"warn\".*\"subsys\":\"reload\",\"msg\":\"user_timeout_s changed in $T/simpki.json, takes effect at restart"
check "after: B accepted" test "$(status "$TOK_B")" = 404
check "after: A refused (401)" test "$(status "$TOK_A")" = 401
check "after: C accepted" test "$(status "$TOK_C")" = 404
wait "$A_POLL" || true
check "A's long poll, begun before the reload, got its answer (200 completed OK)" \
  test "$(cat "$T/a-poll.code") $(jq -r '.state + " " + .result' "$T/a-poll.body" 2>/dev/null)" = "200 completed OK"
sleep 1

# ---- 2. bad key files: refused with the reason, the keys in use kept.
ok0=$(curl -sf "$URL/metrics" | sed -n 's/^simpki_config_reloads_total{result="ok"} //p')
put "$T/keys.json" "[$(key rp-c "$TOK_C"), $(key rp-a "$TOK_A")"
from=$(hup)
check "syntax error refused, the file and place named" \
  logged_since "$from" "\"level\":\"error\".*\"subsys\":\"reload\",\"msg\":\"new configuration refused, the one in use is kept: $T/keys.json:[0-9]+:[0-9]+: "
put "$T/keys.json" "[$(key rp-c "$TOK_C"), {\"name\": \"rp-a\", \"sha256\": \"$(printf 'z%.0s' $(seq 64))\"}]"
from=$(hup)
check "bad hex refused: file, key and problem" \
  logged_since "$from" "refused, the one in use is kept: $T/keys.json: api_keys\[1\]\.sha256: must be 64 hex digits"
put "$T/keys.json" "[$(key rp-c "$TOK_C"), $(key rp-c "$TOK_A")]"
from=$(hup)
check "duplicate name refused" logged_since "$from" "$T/keys.json: api_keys\[1\]\.name: \\\\\"rp-c\\\\\" is used by api_keys\[0\] too"
check "after the refusals: B still accepted" test "$(status "$TOK_B")" = 404
check "after the refusals: A still refused" test "$(status "$TOK_A")" = 401
check "after the refusals: C still accepted" test "$(status "$TOK_C")" = 404
m=$(curl -sf "$URL/metrics")
check "metrics: 3 failed reloads" grep -qx 'simpki_config_reloads_total{result="failed"} 3' <<<"$m"
check "metrics: no ok reload among them" grep -qx "simpki_config_reloads_total{result=\"ok\"} $ok0" <<<"$m"
check "metrics: the last reload failed" grep -qx 'simpki_config_last_reload_successful 0' <<<"$m"
check "metrics: the success timestamp is there" grep -Eq '^simpki_config_last_reload_success_timestamp_seconds [1-9]' <<<"$m"

# The load ran through all of it: stop it, then count.
sleep 1
touch "$T/stop"
for p in "${LOAD_PIDS[@]}"; do wait "$p" || true; done
codes=$(cat "$T"/load.*.log | awk '{print $1 " " $2}' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
echo "load: $codes"
check "load: requests were made (${codes})" grep -q 'RESULT OK' <(cat "$T"/load.*.log)
check "load: every POST 202, every GET 200 (${codes})" \
  test -z "$(cat "$T"/load.*.log | grep -Ev '^(POST 202|GET 200|RESULT OK)$')"

# The key file in use again (B and C): the reloads below must be taken.
put "$T/keys.json" "[$(key rp-c "$TOK_C"), $(key rp-b "$TOK_B")]"

# ---- 3. log level: info -> debug.
check "no debug line while at info" bash -c "! grep -q '\"level\":\"debug\"' '$GW_LOG'"
jq '.log_level = "debug"' "$T/simpki.json" >"$T/simpki.json.tmp" && mv "$T/simpki.json.tmp" "$T/simpki.json"
from=$(hup)
check "reload to debug taken" logged_since "$from" "configuration reloaded: .* log level debug"
j=$(sign 84900000001); id=$(jq -r .id <<<"$j")
j=$(wait_result "$id" 20)
check "a debug line after the reload" logged_since "$from" '"level":"debug"'

# ---- 4. trust anchors: without the subscribers' root (G2), then with it again; a broken file.
verdict() { # MSISDN -> the final result
  local j id; j=$(sign "$1"); id=$(jq -r .id <<<"$j")
  [ "$(code)" = 202 ] || { echo "POST $(code)"; return; }
  wait_result "$id" 20 | jq -r .result
}
check "before: a G2 subscriber's signature verifies" test "$(verdict 84900000001)" = OK
cp "$T/demo/pki/root-g1.pem" "$T/anchors.pem.tmp" && mv "$T/anchors.pem.tmp" "$T/anchors.pem"
from=$(hup)
check "anchors without G2 taken" logged_since "$from" "configuration reloaded"
v=$(verdict 84900000001)
check "without its root: UNTRUSTED_CHAIN (got $v)" test "$v" = UNTRUSTED_CHAIN
echo "not a certificate" >"$T/anchors.pem.tmp" && mv "$T/anchors.pem.tmp" "$T/anchors.pem"
from=$(hup)
check "a broken anchors file is refused with the reason" \
  logged_since "$from" "refused, the one in use is kept: $T/simpki.json: trust_anchors: trust anchors: no certificate in $T/anchors.pem"
cp "$T/demo/pki/trust.pem" "$T/anchors.pem.tmp" && mv "$T/anchors.pem.tmp" "$T/anchors.pem"
from=$(hup)
check "full anchors taken" logged_since "$from" "configuration reloaded"
v=$(verdict 84900000001)
check "with its root again: OK (got $v)" test "$v" = OK

# ---- two SIGHUPs at once: the second waits for the first (one event each), nothing breaks.
from=$(wc -l <"$GW_LOG")
kill -HUP "$GW_PID"
kill -HUP "$GW_PID"
check "two SIGHUPs: reloaded" wait_for 20 logged_since "$from" "configuration reloaded"
sleep 1
check "two SIGHUPs: no refusal" bash -c "! tail -n +$((from + 1)) '$GW_LOG' | grep -q 'configuration refused'"
check "two SIGHUPs: C still accepted" test "$(status "$TOK_C")" = 404

# ---- the daemon is still the one started, and stops cleanly (ASan reports at exit).
check "the daemon ran throughout" kill -0 "$GW_PID"
stop_gw
check "no sanitizer report" bash -c "! grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' '$GW_LOG'"
finish
