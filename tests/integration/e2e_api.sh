#!/usr/bin/env bash
# The API's contract with e-office systems: authentication, validation with
# stable error codes, BUSY, idempotency, isolation between relying parties.
. "$(dirname "$0")/lib.sh"

SIM_DELAY_MS=300 stack_up
D=$DEFAULT_DIGEST

expect() { # description, http code, error code ('' = none), body
  local d=$1 c=$2 e=$3 j=$4
  if [ "$(code)" = "$c" ] && { [ -z "$e" ] || [ "$(jq -r .error <<<"$j" 2>/dev/null)" = "$e" ]; }; then
    ok "$d -> $c $e"
  else
    bad "$d: want $c $e, got $(code): $j"
  fi
}

j=$(curl -s -o "$T/body" -w '%{http_code}' -X POST "http://127.0.0.1:$API_PORT/v1/signatures" -d '{}' >"$T/code"; cat "$T/body")
expect "no Authorization header" 401 UNAUTHORIZED "$j"
j=$(curl -s -o "$T/body" -w '%{http_code}' -H 'Authorization: Bearer wrong' "http://127.0.0.1:$API_PORT/v1/signatures/00" >"$T/code"; cat "$T/body")
expect "unknown API key" 401 UNAUTHORIZED "$j"
# The two mistakes get different words; every wrong key gets the same words (nothing tells
# how close a key is, or whether it exists).
m_none=$(curl -s -X POST "http://127.0.0.1:$API_PORT/v1/signatures" -d '{}' | jq -r .message)
m_bad1=$(curl -s -H 'Authorization: Bearer wrong' "http://127.0.0.1:$API_PORT/v1/signatures/00" | jq -r .message)
m_bad2=$(curl -s -H "Authorization: Bearer ${TOKEN%?}x" -X POST "http://127.0.0.1:$API_PORT/v1/signatures" -d '{}' | jq -r .message)
check "401 without a header says so: $m_none" grep -q 'no Authorization header' <<<"$m_none"
check "401 with a wrong key says so: $m_bad1" grep -q 'not accepted' <<<"$m_bad1"
check "every wrong key gets the same message" test "$m_bad1" = "$m_bad2"

j=$(api POST /v1/signatures '{"msisdn": "0960000001", "digest": ')
expect "truncated JSON" 400 MALFORMED_JSON "$j"
j=$(api POST /v1/signatures '[1,2,3]')
expect "JSON that is not an object" 400 MALFORMED_JSON "$j"
j=$(api POST /v1/signatures "{\"msisdn\":\"0960000001\",\"msisdn\":\"0960000001\",\"digest\":\"$D\",\"display_text\":\"x\"}")
expect "duplicate key" 400 MALFORMED_JSON "$j"
j=$(api POST /v1/signatures "{\"msisdn\":\"0960000001\",\"digest\":\"$D\",\"display_text\":\"x\",\"colour\":\"red\"}")
expect "unknown field" 400 UNKNOWN_FIELD "$j"
j=$(api POST /v1/signatures "{\"digest\":\"$D\",\"display_text\":\"x\"}")
expect "missing msisdn" 400 INVALID_FIELD "$j"
j=$(sign "12345")
expect "number too short" 400 INVALID_MSISDN "$j"
j=$(sign "02438251234")
expect "a landline" 400 INVALID_MSISDN "$j"
j=$(sign "0521234567")
expect "another network (Vietnamobile)" 422 UNSUPPORTED_NETWORK "$j"
j=$(sign "0969999991")
expect "a number not in the registry" 404 UNKNOWN_SUBSCRIBER "$j"
j=$(sign "0960000001" "$(printf 'short' | base64)")
expect "digest of the wrong length" 400 DIGEST_LENGTH "$j"
j=$(sign "0960000001" "$(printf 'x' | openssl dgst -sha256 -hex | sed 's/^.*= //')")
expect "a hex digest" 400 DIGEST_LENGTH "$j"
check "... with a hint that base64 is expected" grep -q 'looks like hex' <<<"$(jq -r .message <<<"$j")"
j=$(sign "0960000001" "not*base64")
expect "digest not base64" 400 INVALID_FIELD "$j"
j=$(sign "0960000001" "$D" "MD5")
expect "unknown digest_alg" 400 INVALID_FIELD "$j"
j=$(sign "0960000001" "$D" "SHA-256" "$(printf 'Văn bản %.0s' $(seq 1 20))")
expect "UCS2 text over 90 characters" 400 TEXT_TOO_LONG "$j"
j=$(sign "0960000001" "$D" "SHA-256" "$(printf 'a%.0s' $(seq 1 181))")
expect "GSM text over 180 characters" 400 TEXT_TOO_LONG "$j"
# The GSM limit is 180 octets and '{' takes two (an escape): 100 'a' + 40 '{' fit, one more 'a'
# does not (141 characters; as UCS2 the first would not fit either).
j=$(sign "0960000021" "$D" "SHA-256" "$(printf 'a%.0s' $(seq 1 100))$(printf '{%.0s' $(seq 1 40))")
expect "100 'a' + 40 '{' = 180 GSM octets" 202 "" "$j"
j=$(sign "0960000001" "$D" "SHA-256" "$(printf 'a%.0s' $(seq 1 101))$(printf '{%.0s' $(seq 1 40))")
expect "101 'a' + 40 '{' = 181 GSM octets" 400 TEXT_TOO_LONG "$j"
j=$(sign "0960000001" "$D" "SHA-256" "Ký 😀")
expect "a character neither GSM 7-bit nor UCS2 (emoji)" 400 INVALID_TEXT "$j"
j=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
      --data-binary "{\"msisdn\":\"0960000001\",\"digest\":\"$D\",\"display_text\":\"x\"}" \
      "http://127.0.0.1:$API_PORT/v1/signatures" >"$T/code"; cat "$T/body")
expect "wrong content type" 415 UNSUPPORTED_MEDIA_TYPE "$j"
j=$(api GET /v1/signatures)
expect "GET on the collection" 405 METHOD_NOT_ALLOWED "$j"
j=$(api GET /v1/signatures/zzzz)
expect "malformed id" 404 NOT_FOUND "$j"
j=$(api GET "/v1/signatures/0123456789abcdef0123456789")
expect "unknown id" 404 NOT_FOUND "$j"

# Every accepted form of a number lands on the same subscriber.  The number
# is the slow-confirm SIM (behaviour 16, 5 s), so the second request below
# surely meets the first one still pending, however loaded the machine is.
j=$(sign "+84 96 000 0161")
expect "+84 form with spaces accepted" 202 "" "$j"
id=$(jq -r .id <<<"$j")
check "number normalised to 84..." test "$(jq -r .msisdn <<<"$j")" = 84960000161
check "verification code is 4 digits" grep -Eq '^[0-9]{4}$' <<<"$(jq -r .verification_code <<<"$j")"
j=$(sign "0960000161")
expect "second request while one is pending" 409 BUSY "$j"
j=$(wait_result "$id" 20)
check "first request completes" test "$(jq -r .result <<<"$j")" = OK

# Verification code formula (docs/api.md): ((d[0] >> 2) << 7) | (d[last] & 0x7f)
hex=$(base64 -d <<<"$D" | od -An -tu1 | tr -s ' \n' ' ')
set -- $hex; first=$1; last=${!#}
vc=$(printf '%04d' $(( ((first >> 2) << 7) | (last & 127) )))
check "verification code follows the documented formula" test "$(jq -r .verification_code <<<"$j")" = "$vc"

# Another relying party cannot see it.
saved=$TOKEN; TOKEN="other-$saved"
j=$(api GET "/v1/signatures/$id")
expect "another relying party's transaction" 404 NOT_FOUND "$j"
TOKEN=$saved

# Idempotency-Key: a retried POST returns the same transaction; a different body is refused.
body='{"msisdn":"0910000001","digest":"'$D'","digest_alg":"SHA-256","display_text":"Duyệt"}'
j1=$(api POST /v1/signatures "$body" -H 'Idempotency-Key: doc-42'); c1=$(code)
j2=$(api POST /v1/signatures "$body" -H 'Idempotency-Key: doc-42'); c2=$(code)
check "idempotent retry returns the same id" test "$(jq -r .id <<<"$j1")" = "$(jq -r .id <<<"$j2")"
check "first POST 202, retry 200" test "$c1 $c2" = "202 200"
j=$(api POST /v1/signatures "${body/Duyệt/Khác}" -H 'Idempotency-Key: doc-42')
expect "same key, different body" 422 IDEMPOTENCY_KEY_REUSED "$j"

# Long poll returns as soon as the transaction finishes, not at the wait limit.
j=$(sign "0900000001"); id=$(jq -r .id <<<"$j")
start=$(date +%s)
j=$(api GET "/v1/signatures/$id?wait=30")
check "long poll answered with the outcome" test "$(jq -r .state <<<"$j")" = completed
check "long poll woke before its limit" test $(( $(date +%s) - start )) -lt 25
j=$(api GET "/v1/signatures/$id?wait=999")
expect "wait beyond the maximum" 400 INVALID_FIELD "$j"

check "healthz reports ok" bash -c "curl -sf http://127.0.0.1:$API_PORT/healthz | jq -e '.status == \"ok\"'"
check "metrics exposed" bash -c "curl -sf http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_sign_accepted_total [1-9]'"
# The signature counters add up, also across requests refused before the handler (auth).
metric() { curl -sf "http://127.0.0.1:$API_PORT/metrics" | sed -n "s/^simpki_$1 //p"; }
r0=$(metric sign_requests_total); a0=$(metric sign_accepted_total); x0=$(metric sign_rejected_total)
j=$(sign "0960000011")                                                        # accepted
curl -s -o /dev/null -X POST "http://127.0.0.1:$API_PORT/v1/signatures" -d '{}' # no key
curl -s -o /dev/null -H 'Authorization: Bearer wrong' -X POST "http://127.0.0.1:$API_PORT/v1/signatures" -d '{}'
j=$(sign "12345")                                                             # invalid
r1=$(metric sign_requests_total); a1=$(metric sign_accepted_total); x1=$(metric sign_rejected_total)
check "a mix of 1 good, 2 unauthorised, 1 invalid: +4 requests, +1 accepted, +3 rejected" \
  test "$((r1 - r0)) $((a1 - a0)) $((x1 - x0))" = "4 1 3"
check "sign_requests_total = accepted + rejected ($r1 = $a1 + $x1)" test "$r1" -eq "$((a1 + x1))"
finish
