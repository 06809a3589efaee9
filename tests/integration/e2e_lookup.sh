#!/usr/bin/env bash
# GET /v1/subscribers/{msisdn}/certificate (the "lookup" role) and
# POST /v1/signatures/{id}/receipt (ETSI MSS_Receipt), against the real stack.
# The certificate's octets and fields are checked against `openssl x509` on
# the file simpki-admin imported, not against simpki's own signer.
. "$(dirname "$0")/lib.sh"

LOOKUP_RP=1 stack_up
MAIN=$TOKEN                # eoffice-test: sign, enrol (no lookup)
LOOKUP="lookup-$TOKEN"     # lookup-rp: sign, lookup
OTHER="other-$TOKEN"       # other-rp: sign

expect() { # description, http code, error code ('' = none), body
  local d=$1 c=$2 e=$3 j=$4
  if [ "$(code)" = "$c" ] && { [ -z "$e" ] || [ "$(jq -r .error <<<"$j" 2>/dev/null)" = "$e" ]; }; then
    ok "$d -> $c $e"
  else
    bad "$d: want $c $e, got $(code): $j"
  fi
}
as() { # TOKEN api-args...: one request with another relying party's key
  local saved=$TOKEN; TOKEN=$1; shift
  api "$@"; TOKEN=$saved
}
cert() { as "$LOOKUP" GET "/v1/subscribers/$1/certificate"; }

# ---- the certificate of a registered number ---------------------------------------------------
M=84960000001
file=$(jq -r --arg m "$M" '.[] | select(.msisdn == $m) | .cert_file' "$T/demo/registry.json")
j=$(cert 0960000001)
expect "lookup of a registered number" 200 "" "$j"
check "msisdn normalised" test "$(jq -r .msisdn <<<"$j")" = "$M"
check "subscriber_status as imported" test "$(jq -r .subscriber_status <<<"$j")" = active
check "certificate: the DER simpki-admin imported from $(basename "$file")" \
  test "$(jq -r .certificate <<<"$j")" = "$(openssl x509 -in "$file" -inform "$(case $file in *.der) echo DER ;; *) echo PEM ;; esac)" -outform DER | base64 -w0)"
jq -r .certificate <<<"$j" | base64 -d >"$T/lookup.der"
x509() { openssl x509 -inform DER -in "$T/lookup.der" -noout "$@"; }
check "serial is openssl's" test "$(jq -r .serial <<<"$j")" = "$(x509 -serial | sed 's/^serial=//')"
check "subject is openssl's (RFC 2253, UTF-8)" \
  test "$(jq -r .subject <<<"$j")" = "$(x509 -subject -nameopt RFC2253,-esc_msb,utf8 | sed 's/^subject=//')"
check "issuer is openssl's" \
  test "$(jq -r .issuer <<<"$j")" = "$(x509 -issuer -nameopt RFC2253,-esc_msb,utf8 | sed 's/^issuer=//')"
check "not_after is openssl's" \
  test "$(jq -r .not_after <<<"$j")" = "$(date -u -d "$(x509 -enddate | sed 's/^notAfter=//')" +%Y-%m-%dT%H:%M:%SZ)"
check "not_before is openssl's" \
  test "$(jq -r .not_before <<<"$j")" = "$(date -u -d "$(x509 -startdate | sed 's/^notBefore=//')" +%Y-%m-%dT%H:%M:%SZ)"
check "key_type" test "$(jq -r .key_type <<<"$j")" = RSA-2048
check "certificate_status OK, saying revocation is not checked here" \
  test "$(jq -r '.certificate_status + " " + (.message | test("revocation") | tostring)' <<<"$j")" = "OK true"
j=$(cert 0960000002)
check "an EC subscriber's key_type" test "$(jq -r .key_type <<<"$j")" = EC-P256
j=$(cert "%2B84%2096%20000%200001")
expect "+84 96 000 0001, percent-encoded" 200 "" "$j"
check "... the same subscriber" test "$(jq -r .msisdn <<<"$j")" = "$M"
# 84960000171's certificate is revoked at its CA: the lookup does not ask (each signature does).
j=$(cert 0960000171)
check "a revoked-at-the-CA certificate still reads OK here" test "$(code) $(jq -r .certificate_status <<<"$j")" = "200 OK"

# ---- refusals ----------------------------------------------------------------------------------
j=$(api GET /v1/subscribers/0960000001/certificate)
expect "a key without the lookup role" 403 FORBIDDEN "$j"
check "... says which role" grep -q '"lookup" role' <<<"$(jq -r .message <<<"$j")"
j=$(as "$OTHER" GET /v1/subscribers/0960000001/certificate)
expect "another key without it" 403 FORBIDDEN "$j"
j=$(curl -s -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$API_PORT/v1/subscribers/0960000001/certificate" >"$T/code"; cat "$T/body")
expect "no key" 401 UNAUTHORIZED "$j"
j=$(cert 0969999991)
expect "a number not in the registry" 404 UNKNOWN_SUBSCRIBER "$j"
j=$(cert 12345)
expect "number too short" 400 INVALID_MSISDN "$j"
j=$(cert 02438251234)
expect "a landline" 400 INVALID_MSISDN "$j"
j=$(cert "09600%000001")
expect "a NUL in the number" 400 INVALID_MSISDN "$j"
j=$(cert "$(printf '9%.0s' $(seq 1 80))")
expect "an 80-digit number" 400 INVALID_MSISDN "$j"
j=$(as "$LOOKUP" POST /v1/subscribers/0960000001/certificate '{}')
expect "POST on the certificate" 405 METHOD_NOT_ALLOWED "$j"
j=$(as "$LOOKUP" GET /v1/subscribers/0960000001)
expect "the subscriber itself is not a resource" 404 NOT_FOUND "$j"
j=$(as "$LOOKUP" GET /v1/subscribers/0960000001/certificate/x)
expect "below the certificate" 404 NOT_FOUND "$j"

# Registry entries simpki-admin would not write, put behind its back: a SIM being enrolled (no
# certificate yet) and a certificate that chains to no configured anchor.  Keys as queue/q.h.
fnv1a() { # the 32-bit FNV-1a of $1 (config/util.c util_fnv1a): the shard of a number
  local s=$1 h=2166136261 i c
  for ((i = 0; i < ${#s}; i++)); do printf -v c %d "'${s:i:1}"; h=$(( ((h ^ c) * 16777619) & 0xffffffff )); done
  echo $h
}
subkey() { echo "spk:{$(( $(fnv1a "$1") % 16 ))}:sub:$1"; }
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
check "the shard computed here is the one simpki-admin wrote" test "$(rc EXISTS "$(subkey $M)")" = 1
rc HSET "$(subkey 84960000991)" msisdn 84960000991 status enrolling iccid 89840400009600009910 kv 1 >/dev/null
j=$(cert 0960000991)
expect "an entry without a certificate" 404 NO_CERTIFICATE "$j"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/self.key" -subj "/CN=self-issued" \
  -days 30 -addext keyUsage=critical,digitalSignature,nonRepudiation -outform DER -out "$T/self.der" 2>/dev/null
rc HSET "$(subkey 84960000992)" msisdn 84960000992 status suspended >/dev/null
rc -x HSET "$(subkey 84960000992)" cert <"$T/self.der" >/dev/null
j=$(cert 0960000992)
expect "a self-issued certificate" 200 "" "$j"
check "... UNTRUSTED_CHAIN, with a reason" \
  test "$(jq -r '.certificate_status + " " + (.message | length > 0 | tostring)' <<<"$j")" = "UNTRUSTED_CHAIN true"
check "... its status as stored" test "$(jq -r .subscriber_status <<<"$j")" = suspended
check "... its octets" test "$(jq -r .certificate <<<"$j")" = "$(base64 -w0 <"$T/self.der")"

# ---- receipts ------------------------------------------------------------------------------------
# The slow-confirm SIM (5 s): the first receipt surely meets the transaction pending.
j=$(sign 0960000161); id=$(jq -r .id <<<"$j")
expect "a signature request" 202 "" "$j"
j=$(api POST "/v1/signatures/$id/receipt" '{"message": "early"}')
expect "a receipt while pending" 409 NOT_FINISHED "$j"
j=$(wait_result "$id" 20)
check "the transaction completes" test "$(jq -r .result <<<"$j")" = OK
check "... without a receipt (the early one was not kept)" test "$(jq -r .receipt <<<"$j")" = null
t0=$(date -u +%s)
j=$(api POST "/v1/signatures/$id/receipt" '{"message": "Đã nhận văn bản số 123/QĐ-UBND"}')
expect "a receipt once finished" 200 "" "$j"
check "... answers the transaction" test "$(jq -r '.id + " " + .state' <<<"$j")" = "$id completed"
check "... with the receipt's message" test "$(jq -r .receipt.message <<<"$j")" = "Đã nhận văn bản số 123/QĐ-UBND"
at=$(date -u -d "$(jq -r .receipt.at <<<"$j")" +%s 2>/dev/null || echo 0)
check "... and its time (ISO 8601, now)" test $((at - t0)) -ge -1 -a $((at - t0)) -le 5
j=$(api GET "/v1/signatures/$id")
check "GET shows the receipt" test "$(jq -r .receipt.message <<<"$j")" = "Đã nhận văn bản số 123/QĐ-UBND"
check "... and the signature as before" test "$(jq -r .signature <<<"$j" | wc -c)" -gt 100
j=$(as "$OTHER" POST "/v1/signatures/$id/receipt" '{"message": "not mine"}')
expect "another relying party's receipt" 404 NOT_FOUND "$j"
j=$(as "$LOOKUP" POST "/v1/signatures/$id/receipt")
expect "... also with the lookup role" 404 NOT_FOUND "$j"
check "... changed nothing" test "$(api GET "/v1/signatures/$id" | jq -r .receipt.message)" = "Đã nhận văn bản số 123/QĐ-UBND"
j=$(api POST "/v1/signatures/$id/receipt")
expect "a second receipt, no body" 200 "" "$j"
check "... replaces the first: no message" test "$(api GET "/v1/signatures/$id" | jq -c .receipt | jq -r 'keys | join(",")')" = at
j=$(api POST "/v1/signatures/$id/receipt" "{\"message\": \"$(printf 'x%.0s' $(seq 1 256))\"}")
expect "a message of 256 octets" 200 "" "$j"
j=$(api POST "/v1/signatures/$id/receipt" "{\"message\": \"$(printf 'x%.0s' $(seq 1 257))\"}")
expect "a message of 257 octets" 400 INVALID_FIELD "$j"
j=$(api POST "/v1/signatures/$id/receipt" '{"message": 7}')
expect "a message that is not a string" 400 INVALID_FIELD "$j"
j=$(api POST "/v1/signatures/$id/receipt" '{"msg": "x"}')
expect "an unknown member" 400 UNKNOWN_FIELD "$j"
j=$(api POST "/v1/signatures/$id/receipt" '{"message": ')
expect "truncated JSON" 400 MALFORMED_JSON "$j"
j=$(api GET "/v1/signatures/$id/receipt")
expect "GET on the receipt" 405 METHOD_NOT_ALLOWED "$j"
j=$(api POST "/v1/signatures/0123456789abcdef0123456789/receipt")
expect "an unknown id" 404 NOT_FOUND "$j"
j=$(api POST "/v1/signatures/zzzz/receipt")
expect "a malformed id" 404 NOT_FOUND "$j"
check "the last receipt stands: 256 x" test "$(api GET "/v1/signatures/$id" | jq -r '.receipt.message | length')" = 256

# A failed transaction takes a receipt too (the relying party got the outcome, whatever it is).
j=$(sign 0960000011); id2=$(jq -r .id <<<"$j")     # BB 01: the official cancels
j=$(wait_result "$id2" 20)
check "a cancelled transaction" test "$(jq -r .result <<<"$j")" = USER_CANCEL
j=$(api POST "/v1/signatures/$id2/receipt" '{"message": "ok"}')
expect "... takes a receipt" 200 "" "$j"
check "... shown with its outcome" test "$(jq -r '.result + " " + .receipt.message' <<<"$j")" = "USER_CANCEL ok"
finish
