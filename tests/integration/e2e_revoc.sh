#!/usr/bin/env bash
# Revocation in the signing path and CMS output, end to end: a real `openssl
# ocsp` responder for the demo PKI (lib.sh), the gateway checking every
# signing certificate, and openssl alone checking what comes back.
. "$(dirname "$0")/lib.sh"

TXN_TIMEOUT_S=20 stack_up
PKI=$T/demo/pki

# sign_as TOKEN MSISDN [DIGEST [FORMAT]] -> final JSON (POST, then wait)
sign_as() {
  local tok=$1 m=$2 d=${3:-$DEFAULT_DIGEST} f=${4:-raw} j body
  body=$(jq -n --arg m "$m" --arg d "$d" --arg f "$f" \
            '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"Ký văn bản", format:$f}')
  j=$(TOKEN=$tok api POST /v1/signatures "$body")
  if [ "$(code)" != 202 ]; then echo "$j"; return; fi
  TOKEN=$tok wait_result "$(jq -r .id <<<"$j")" 30
}
field() { jq -r "$1 // \"none\"" <<<"$2"; }

# openssl accepts the OCSP response kept with the transaction.
ocsp_ok() { # json
  field .ocsp_response "$1" | base64 -d >"$T/ocsp.der" 2>/dev/null || return 1
  openssl ocsp -respin "$T/ocsp.der" -CAfile "$PKI/trust.pem" -verify_other "$PKI/intermediates.pem" \
    -resp_text >"$T/ocsp.txt" 2>&1 || return 1
  grep -q 'Response verify OK' "$T/ocsp.txt"
}

# --- responder up ---------------------------------------------------------
j=$(sign_as "$TOKEN" 84960000001)
check "good certificate: OK 502" test "$(jq -r '"\(.result) \(.etsi_status)"' <<<"$j")" = "OK 502"
check "OK carries an OCSP response openssl verifies" ocsp_ok "$j"
check "the OCSP response says good" grep -q 'Cert Status: good' "$T/ocsp.txt"
check "raw format reported" test "$(field .format "$j")" = raw

j=$(sign_as "$TOKEN" 84960000171)
check "revoked certificate: REVOKED_CERTIFICATE 501" \
  test "$(jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$j")" = "failed REVOKED_CERTIFICATE 501"
check "no signature for a revoked certificate" test "$(field .signature "$j")" = none

# --- CMS / CAdES-B-B -------------------------------------------------------
printf 'Quyết định 123/QĐ-UBND về việc ...\n' >"$T/doc.txt"
printf 'Quyết định 124/QĐ-UBND về việc ...\n' >"$T/tampered.txt"
DOC_DIGEST=$(openssl dgst -sha256 -binary "$T/doc.txt" | base64 -w0)
for n in 84960000001 84960000002; do
  j=$(sign_as "$TOKEN" "$n" "$DOC_DIGEST" cms)
  check "$n cms: OK, format cms" test "$(jq -r '"\(.result) \(.format)"' <<<"$j")" = "OK cms"
  field .signature "$j" | base64 -d >"$T/$n.p7s" 2>/dev/null || true
  check "$n cms: openssl cms -verify accepts it over the document" \
    openssl cms -verify -binary -content "$T/doc.txt" -inform DER -in "$T/$n.p7s" -CAfile "$PKI/trust.pem" \
      -certfile "$PKI/intermediates.pem" -out /dev/null
  check "$n cms: a tampered document fails" \
    bash -c "! openssl cms -verify -binary -content '$T/tampered.txt' -inform DER -in '$T/$n.p7s' \
      -CAfile '$PKI/trust.pem' -certfile '$PKI/intermediates.pem' -out /dev/null 2>/dev/null"
done
j=$(TOKEN=$TOKEN api POST /v1/signatures '{"msisdn":"84960000001","digest":"'"$DOC_DIGEST"'","display_text":"x","format":"pdf"}')
check "an unknown format is refused" test "$(code) $(field .field "$j")" = "400 format"

# --- responder down ----------------------------------------------------------
stop_ocsp
# What was fetched is shared through Redis: forget it, or it would still answer.
redis-cli -p "$REDIS_PORT" --scan --pattern 'spk:rv:*' | while read -r k; do redis-cli -p "$REDIS_PORT" DEL "$k" >/dev/null; done
j=$(sign_as "$TOKEN" 84910000001)
check "responder down, hard-fail: REVOCATION_UNKNOWN 425" \
  test "$(jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$j")" = "failed REVOCATION_UNKNOWN 425"
check "no signature when the status is unknown" test "$(field .signature "$j")" = none
j=$(sign_as "other-$TOKEN" 84910000002)
check "responder down, soft-fail relying party: OK" test "$(jq -r .result <<<"$j")" = OK
check "soft-fail says why" grep -q '^revocation not checked: ' <<<"$(field .message "$j")"

finish
