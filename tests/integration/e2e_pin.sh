#!/usr/bin/env bash
# Serial pinning (issue 4), end to end: the first signature pins the
# certificate in the registry; a certificate swapped into the registry behind
# the admin tool's back is refused (CERT_MISMATCH); `simpki-admin import` of
# the new certificate approves it (repin) and the next signature re-pins.
. "$(dirname "$0")/lib.sh"

TXN_TIMEOUT_S=20 stack_up
PKI=$T/demo/pki
M=84960000001

sign_wait() { # MSISDN -> final JSON
  local j; j=$(sign "$1")
  if [ "$(code)" != 202 ]; then echo "$j"; return; fi
  wait_result "$(jq -r .id <<<"$j")" 30
}
outcome() { jq -r '"\(.result) \(.etsi_status)"' <<<"$1"; }
KEY=$(redis-cli -p "$REDIS_PORT" --scan --pattern "spk:*:sub:$M" | head -n1)
hget() { redis-cli -p "$REDIS_PORT" HGET "$KEY" "$1"; }
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

check "registry entry found" test -n "$KEY"
check "not pinned before the first signature" test -z "$(hget pin_serial)"

j=$(sign_wait $M)
check "first signature: OK 502" test "$(outcome "$j")" = "OK 502"
check "pin stored: the registered certificate's serial" test "$(hget pin_serial)" = "$(serial_of "$PKI/subs/$M.crt.pem")"
check "pin stored: a 64-hex SPKI hash" grep -Eq '^[0-9a-f]{64}$' <<<"$(hget pin_spki)"
SPKI1=$(hget pin_spki)
check "simpki-admin show prints the pin" \
  bash -c "'$SIMPKI_ADMIN' -c '$T/simpki.json' show $M | grep -q '^pinned  *serial $(hget pin_serial)'"

j=$(sign_wait $M)
check "second signature with the same certificate: OK" test "$(outcome "$j")" = "OK 502"

# A second valid certificate for the same key, from the same CA (in its index, so OCSP knows it).
openssl req -new -utf8 -config "$PKI/openssl.cnf" -key "$PKI/subs/$M.key.pem" \
  -subj "/C=VN/O=Bộ Tài chính/CN=Nguyễn Văn An/UID=CCCD:001060000001" -out "$T/new.csr" 2>/dev/null
CA_STATE=$PKI/state/ca CA_NAME=ca SUB_EMAIL=$M@sim.simpki.test OCSP_URL=http://127.0.0.1:$PKI_PORT/ \
  HTTP_BASE=http://127.0.0.1:$((PKI_PORT + 1)) \
  openssl ca -batch -utf8 -preserveDN -notext -config "$PKI/openssl.cnf" -cert "$PKI/ca.pem" \
    -keyfile "$PKI/ca.key.pem" -in "$T/new.csr" -out "$T/new.pem" -extensions v3_sub_good -days 365 \
    >"$T/ca.log" 2>&1
openssl x509 -in "$T/new.pem" -outform DER -out "$T/new.der"
# `openssl ocsp` reads its index once: restart it so it knows the new serial.
stop_ocsp
start_ocsp
check "second certificate issued (another serial)" \
  test "$(serial_of "$T/new.pem")" != "$(serial_of "$PKI/subs/$M.crt.pem")"

# Swapped in directly, as an attacker or a bug would: no repin.
redis-cli -p "$REDIS_PORT" -x HSET "$KEY" cert <"$T/new.der" >/dev/null
j=$(sign_wait $M)
check "swapped certificate: CERT_MISMATCH 503" \
  test "$(jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$j")" = "failed CERT_MISMATCH 503"
check "no signature on CERT_MISMATCH" test "$(jq -r '.signature // "none"' <<<"$j")" = none
check "the pin is unchanged" test "$(hget pin_serial)" = "$(serial_of "$PKI/subs/$M.crt.pem")"
check "/metrics counts the mismatch" \
  bash -c "curl -s http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_cert_mismatch_total 1$'"

# The registry says so: import the new certificate.
jq --arg m "$M" --arg f "$T/new.pem" '[.[] | select(.msisdn == $m) | .cert_file = $f]' \
  "$T/demo/registry.json" >"$T/reimport.json"
check "simpki-admin import of the new certificate" \
  "$SIMPKI_ADMIN" -c "$T/simpki.json" import "$T/reimport.json"
check "import set repin" test "$(hget repin)" = 1
check "simpki-admin show says repin" \
  bash -c "'$SIMPKI_ADMIN' -c '$T/simpki.json' show $M | grep -q '^repin  *yes'"
j=$(sign_wait $M)
check "after the import: OK 502" test "$(outcome "$j")" = "OK 502"
check "re-pinned to the new serial" test "$(hget pin_serial)" = "$(serial_of "$T/new.pem")"
check "same key, same SPKI hash" test "$(hget pin_spki)" = "$SPKI1"
check "repin cleared" test -z "$(hget repin)"
check "the certificate returned is the new one" \
  test "$(jq -r .certificate <<<"$j")" = "$(base64 -w0 "$T/new.der")"

# Re-importing the same certificate approves nothing new.
"$SIMPKI_ADMIN" -c "$T/simpki.json" import "$T/reimport.json" >/dev/null
check "same certificate again: no repin" test -z "$(hget repin)"

finish
