#!/usr/bin/env bash
# Overload control (gateway/api/gw_admit.h) against the real daemon, Redis and
# the simulator, whose SIMs never answer here (every card "no_answer"): a
# transaction stays in flight until the sweeper expires it.
#
#   1. limits.max_in_flight 5: five 202s, then 503 OVERLOADED with Retry-After
#      on the JSON API and the SOAP endpoint's fault, and nothing stored for them
#   2. limits.max_long_polls 2: a third long poll is answered at once (the state
#      as it is, Retry-After as a hint)
#   3. once the five expired (a finish announced to every instance), 202 again
#   4. a relying party's own max_in_flight 2: 429 RATE_LIMITED
#   5. rate_per_s 3 shared by two more instances on the same Redis: what passed
#      the rate gate, across both, is at most 3 per one-second window touched
#   6. Redis away: a rate-limited relying party gets 503 UNAVAILABLE
# Every check is of states (answers, stored keys, counters), never of timing.
. "$(dirname "$0")/lib.sh"

TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
AP_PWD=ap-pwd-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
rate_hash=$(printf %s "rate-$TOKEN" | sha256sum | cut -d' ' -f1)
pwd_hash=$(printf %s "$AP_PWD" | sha256sum | cut -d' ' -f1)
export TOKEN
export CONFIG_EDIT=".limits = {max_in_flight: 5, max_long_polls: 2, retry_after_s: 2}
  | .api_keys[0] += {ap_id: \"http://eoffice.test/ap\", ap_pwd_sha256: \"$pwd_hash\"}
  | .api_keys[1].max_in_flight = 2
  | .api_keys += [{name: \"rate-rp\", sha256: \"$rate_hash\", rate_per_s: 3}]"
export SIM_SCEN_EDIT='.subscribers |= map(.behaviour = "no_answer")'
TXN_TIMEOUT_S=12 stack_up || { bad "the stack did not start"; finish; }

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
metric() { # name [port] -> value
  curl -sf "http://127.0.0.1:${2:-$API_PORT}/metrics" | awk -v m="simpki_$1" '$1 == m {print $2}'
}
header() { # name: from the last answer's headers ($T/headers)
  tr -d '\r' <"$T/headers" | awk -v h="$1" 'tolower($1) == tolower(h) ":" {print $2}'
}
sign_h() { # MSISDN -> body; status in $T/code, headers in $T/headers
  api POST /v1/signatures "$(jq -n --arg m "$1" --arg d "$DEFAULT_DIGEST" \
    '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"Ky van ban"}')" -D "$T/headers"
}
txns() { rcli --scan --pattern 'spk:*:txn:*' | wc -l; }
# stored N: 1 when Redis holds anything of a transaction for number N (a txn or the subscriber's busy mark)
stored() {
  local k
  for k in $(rcli --scan --pattern 'spk:*:txn:*'); do
    [ "$(rcli hget "$k" msisdn)" = "$1" ] && { echo 1; return; }
  done
  k=$(rcli --scan --pattern "spk:*:sub:$1")
  [ -n "$(rcli hget "$k" busy)" ] && { echo 1; return; }
  echo 0
}
# Numbers with a certificate, in the registry.
mapfile -t NUMS < <(jq -r '.subscribers[] | select(.cert) | .msisdn' "$T/scenario.json" \
  | while read -r n; do [ -n "$(rcli --scan --pattern "spk:*:sub:$n")" ] && echo "$n"; done)
check "the registry has enough numbers (${#NUMS[@]})" test "${#NUMS[@]}" -ge 40

# --- 1. max_in_flight 5 --------------------------------------------------------------------------
ids=()
for i in 0 1 2 3 4; do
  j=$(sign "${NUMS[$i]}")
  [ "$(code)" = 202 ] && ids+=("$(jq -r .id <<<"$j")") || bad "POST ${NUMS[$i]}: $(code) $j"
done
check "five requests accepted (${#ids[@]})" test "${#ids[@]}" = 5
check "in flight: 5 (gauge)" test "$(metric sign_in_flight)" = 5
over0=$(metric sign_overloaded_total)
for i in 5 6; do
  j=$(sign_h "${NUMS[$i]}")
  check "request $((i + 1)): 503 ($(code))" test "$(code)" = 503
  check "... error OVERLOADED" test "$(jq -r .error <<<"$j")" = OVERLOADED
  check "... Retry-After: 2 (limits.retry_after_s)" test "$(header Retry-After)" = 2
  check "... nothing stored for ${NUMS[$i]}" test "$(stored "${NUMS[$i]}")" = 0
done
saved=$TOKEN; TOKEN="other-$saved"
j=$(sign "${NUMS[7]}")
check "another relying party: 503 OVERLOADED too (the instance is full)" test "$(code) $(jq -r .error <<<"$j")" = "503 OVERLOADED"
TOKEN=$saved
check "still exactly 5 transactions in Redis" test "$(txns)" = 5
check "sign_overloaded_total counted 3" test "$(($(metric sign_overloaded_total) - over0))" = 3

# The SOAP endpoint's MSS_Signature: a Receiver fault mss:_900 naming OVERLOADED, and Retry-After.
dtbs=$( (printf '3031300d060960864801650304020105000420' | xxd -r -p; printf 'overload' | openssl dgst -sha256 -binary) | base64 -w0)
soap_req() { # msisdn ap_trans_id
  cat <<EOF
<?xml version='1.0' encoding='UTF-8'?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Body><MSS_Signature><MSS_SignatureReq MajorVersion="1" MinorVersion="1" TimeOut="300" MessagingMode="asynchClientServer"><ns0:AP_Info xmlns:ns0="http://uri.etsi.org/TS102204/v1.1.2#" AP_ID="http://eoffice.test/ap" AP_PWD="$AP_PWD" AP_TransID="$2" Instant="2026-12-05T19:40:00+00:00"/><ns1:MSSP_Info xmlns:ns1="http://uri.etsi.org/TS102204/v1.1.2#"><ns1:MSSP_ID><ns1:URI>http://hmssp.mobile-id.vn</ns1:URI></ns1:MSSP_ID></ns1:MSSP_Info><ns2:MobileUser xmlns:ns2="http://uri.etsi.org/TS102204/v1.1.2#"><ns2:MSISDN>$1</ns2:MSISDN></ns2:MobileUser><ns3:DataToBeSigned xmlns:ns3="http://uri.etsi.org/TS102204/v1.1.2#" MimeType="application/octet-stream" Encoding="base64">$dtbs</ns3:DataToBeSigned><ns4:DataToBeDisplayed xmlns:ns4="http://uri.etsi.org/TS102204/v1.1.2#" MimeType="text/plain" Encoding="UTF-8">Ky van ban</ns4:DataToBeDisplayed><ns5:SignatureProfile xmlns:ns5="http://uri.etsi.org/TS102204/v1.1.2#"><ns5:mssURI>http://mobile-id.vn/digitalSignature</ns5:mssURI></ns5:SignatureProfile></MSS_SignatureReq></MSS_Signature></soap-env:Body></soap-env:Envelope>
EOF
}
soap() { # msisdn ap_trans_id -> body; status in $T/code, headers in $T/headers
  soap_req "$1" "$2" | curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' \
    -H 'Content-Type: application/soap+xml; charset=utf-8' --data-binary @- \
    "http://127.0.0.1:$API_PORT/soap/services/MSS_SignaturePort" >"$T/code"
  cat "$T/body"
}
b=$(soap "${NUMS[8]}" "AP-OVER-1")
check "SOAP MSS_Signature when full: HTTP 500 Receiver fault ($(code))" test "$(code)" = 500
check "... subcode mss:_900, reason naming OVERLOADED" \
  bash -c 'grep -q "_900" <<<"$1" && grep -q "OVERLOADED" <<<"$1" && grep -q "Receiver" <<<"$1"' _ "$b"
check "... Retry-After: 2" test "$(header Retry-After)" = 2
check "... the AP_TransID was not even claimed (no spk:once key)" test "$(rcli exists "spk:once:eoffice-test:AP-OVER-1")" = 0

# --- 2. max_long_polls 2 -------------------------------------------------------------------------
limited0=$(metric long_poll_limited_total)
for k in 0 1; do
  curl -s -o "$T/lp$k" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/signatures/${ids[$k]}?wait=40" &
  PIDS+=($!)
done
wait_for 20 sh -c "[ \"\$(curl -sf http://127.0.0.1:$API_PORT/metrics | awk '\$1 == \"simpki_long_polls\" {print \$2}')\" = 2 ]" \
  && ok "two long polls held (gauge)" || bad "long polls held: $(metric long_polls)"
j=$(api GET "/v1/signatures/${ids[2]}?wait=40" "" -D "$T/headers")
check "a third long poll is answered, not refused ($(code))" test "$(code)" = 200
check "... with the state as it is: pending" test "$(jq -r .state <<<"$j")" = pending
check "... Retry-After: 2 as a hint" test "$(header Retry-After)" = 2
check "... counted: long_poll_limited_total +1" test "$(($(metric long_poll_limited_total) - limited0))" = 1
check "... and the two held are still held" test "$(metric long_polls)" = 2

# --- 3. after they finish (expired by the sweeper, announced to every instance) --------------------
wait_for 60 sh -c "[ \"\$(curl -sf http://127.0.0.1:$API_PORT/metrics | awk '\$1 == \"simpki_sign_in_flight\" {print \$2}')\" = 0 ]" \
  && ok "in flight back to 0 once the five finished" || bad "in flight: $(metric sign_in_flight)"
check "... released by the finish announcements, not by the deadline backstop (sign_in_flight_expired_total 0)" \
  test "$(metric sign_in_flight_expired_total)" = 0
check "the five are finished in Redis (expired)" \
  test "$(for id in "${ids[@]}"; do api GET "/v1/signatures/$id" | jq -r .result; done | sort -u)" = EXPIRED
wait_for 20 sh -c "[ \"\$(curl -sf http://127.0.0.1:$API_PORT/metrics | awk '\$1 == \"simpki_long_polls\" {print \$2}')\" = 0 ]" \
  && ok "the held long polls were answered with the outcome" || bad "long polls still held: $(metric long_polls)"
check "... EXPIRED" test "$(jq -r .result "$T/lp0") $(jq -r .result "$T/lp1")" = "EXPIRED EXPIRED"
j=$(sign "${NUMS[9]}")
check "a new request is accepted again ($(code))" test "$(code)" = 202

# --- 4. a relying party's own max_in_flight (2) ------------------------------------------------
TOKEN="other-$saved"
sign "${NUMS[10]}" >/dev/null; c1=$(code)
sign "${NUMS[11]}" >/dev/null; c2=$(code)
check "other-rp: two accepted ($c1 $c2)" test "$c1 $c2" = "202 202"
j=$(sign_h "${NUMS[12]}")
check "other-rp's third: 429 RATE_LIMITED ($(code))" test "$(code) $(jq -r .error <<<"$j")" = "429 RATE_LIMITED"
check "... Retry-After: 2" test "$(header Retry-After)" = 2
check "... nothing stored for it" test "$(stored "${NUMS[12]}")" = 0
check "... while the instance has room (in flight 3 of 5)" test "$(metric sign_in_flight)" = 3
TOKEN=$saved
j=$(sign "${NUMS[13]}")
check "eoffice-test is not held back by other-rp's bound ($(code))" test "$(code)" = 202

# --- 5. rate_per_s 3, shared by two instances on one Redis ---------------------------------------
# Two more instances with room enough (max_in_flight 1000), so only the rate refuses.
start_inst() { # NAME -> its port on stdout
  local port from
  for _ in 1 2 3; do
    port=$(free_port)
    jq --argjson p "$port" '.listen_port = $p | .limits.max_in_flight = 1000' "$T/simpki.json" >"$T/simpki-$1.json"
    from=$(wc -l 2>/dev/null <"$T/gateway-$1.log" || echo 0)
    "$SIMPKID" -c "$T/simpki-$1.json" >>"$T/gateway-$1.log" 2>&1 &
    echo $! >"$T/$1.pid"
    if wait_for 30 own_listen "$T/gateway-$1.log" "$from" "$port"; then
      wait_for 15 sh -c "curl -sf http://127.0.0.1:$port/healthz | jq -e '.carrier_links == true'" >/dev/null
      echo "$port"
      return 0
    fi
    tail -n +"$((from + 1))" "$T/gateway-$1.log" | grep -q "cannot listen" || return 1
  done
  return 1
}
B_PORT=$(start_inst b); PIDS+=("$(cat "$T/b.pid")")
C_PORT=$(start_inst c); PIDS+=("$(cat "$T/c.pid")")
check "instances B and C up ($B_PORT $C_PORT)" test -n "$B_PORT" -a -n "$C_PORT"
# 60 requests, alternately to B and C, all at once from one curl (--parallel): bodies and the
# curl configuration are written first, so the burst is as short as this machine allows.
mkdir -p "$T/rb"
: >"$T/rb/curl.cfg"
for i in $(seq 0 59); do
  jq -n --arg m "${NUMS[$(((i + 14) % ${#NUMS[@]}))]}" --arg d "$DEFAULT_DIGEST" \
    '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"rate"}' >"$T/rb/$i.json"
  [ $((i % 2)) = 0 ] && port=$B_PORT || port=$C_PORT
  echo "$port" >"$T/rb/$i.port"
  [ "$i" = 0 ] || echo next >>"$T/rb/curl.cfg"
  printf '%s\n' "url = \"http://127.0.0.1:$port/v1/signatures\"" \
    "header = \"Authorization: Bearer rate-$TOKEN\"" "header = \"Content-Type: application/json\"" \
    "data-binary = \"@$T/rb/$i.json\"" "output = \"$T/rb/$i.b\"" "dump-header = \"$T/rb/$i.h\"" \
    >>"$T/rb/curl.cfg"
done
t0=$(date +%s.%N)
curl -s --parallel --parallel-immediate --parallel-max 60 -K "$T/rb/curl.cfg"
t1=$(date +%s.%N)
n=$(rcli hget spk:rate:rate-rp n) # the last window's count, read before it expires
for i in $(seq 0 59); do
  echo "$(awk 'NR == 1 {print $2}' "$T/rb/$i.h") $(tr -d '\r' <"$T/rb/$i.h" | awk 'tolower($1) == "retry-after:" {print $2}')" \
    >>"$T/rate.$(cat "$T/rb/$i.port")"
done
windows=$(( ${t1%.*} - ${t0%.*} + 1 ))
total=$(cat "$T/rate.$B_PORT" "$T/rate.$C_PORT" | wc -l)
limited=$(cat "$T/rate.$B_PORT" "$T/rate.$C_PORT" | awk '$1 == 429' | wc -l)
# Passed the rate gate: whatever the engine answered then (202; 409 for a number still busy).  A 503
# would be a lease not answered within its bound: not passed, and not expected on this quiet Redis.
passed=$(cat "$T/rate.$B_PORT" "$T/rate.$C_PORT" | awk '$1 != 429 && $1 < 500' | wc -l)
echo "     rate burst: $total requests over ${windows} one-second window(s): $passed passed the rate gate" \
     "(B $(awk '$1 != 429 && $1 < 500' "$T/rate.$B_PORT" | wc -l), C $(awk '$1 != 429 && $1 < 500' "$T/rate.$C_PORT" | wc -l))," \
     "$limited got 429, $(cat "$T/rate.$B_PORT" "$T/rate.$C_PORT" | awk '$1 >= 500' | wc -l) got 5xx"
check "every request answered ($total of 60)" test "$total" = 60
check "passed across both instances <= 3 x windows touched ($passed <= $((3 * windows)))" test "$passed" -le $((3 * windows))
check "some passed ($passed)" test "$passed" -ge 1
check "the rest got 429 with Retry-After: 2" \
  test "$(cat "$T/rate.$B_PORT" "$T/rate.$C_PORT" | awk '$1 == 429 && $2 != 2' | wc -l)" = 0
check "... and never OVERLOADED (B and C have room)" test "$(cat "$T"/rb/*.b | grep -c OVERLOADED)" = 0
check "Redis's window count is within the rate (n = $n)" test "${n:-0}" -le 3

# --- 6. Redis away: a limit that cannot be counted is not waved through ----------------------------
stop_redis
j=$(curl -s -D "$T/headers" -w '\n%{http_code}' -H "Authorization: Bearer rate-$TOKEN" -H 'Content-Type: application/json' \
  --data-binary "$(jq -n --arg m "${NUMS[0]}" --arg d "$DEFAULT_DIGEST" '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"x"}')" \
  "http://127.0.0.1:$B_PORT/v1/signatures")
check "Redis away, rate-limited relying party: 503 UNAVAILABLE ($(tail -1 <<<"$j"))" \
  test "$(tail -1 <<<"$j") $(head -1 <<<"$j" | jq -r .error)" = "503 UNAVAILABLE"
check "... with Retry-After" test -n "$(header Retry-After)"

finish
