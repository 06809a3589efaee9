#!/usr/bin/env bash
# Certificates from the signature service (MSS_Registration), over etsi204:
#   - a number the registry lacks but the MSSP serves is looked up once by the
#     gateway, stored, and signs like any other (openssl verifies it);
#   - a number the MSSP does not know fails UNKNOWN_SUBSCRIBER, and the miss is
#     remembered: a second request does not reach the MSSP again;
#   - simpki-admin fetch-cert writes a known number's certificate, refreshes an
#     existing one, and exits non-zero with a clear message for an unknown one.
# MSS_Registration requests are counted by the simulator (GET /sim/registrations/N).
. "$(dirname "$0")/lib.sh"
TRANSPORT=etsi204

regs() { # msisdn -> MSS_Registration requests for it the simulator saw
  curl -sf --cacert "$T/demo/pki/mssp/ca.pem" --cert "$T/demo/pki/mssp/ap.crt.pem" \
    --key "$T/demo/pki/mssp/ap.key.pem" "https://127.0.0.1:$MSSP_PORT/sim/registrations/$1" | jq -r .registrations
}
admin() { "$SIMPKI_ADMIN" -c "$T/simpki.json" "$@"; }

LOOKED_UP=84910000001 # Vinaphone, confirm, RSA: deleted from the registry before signing
FETCHED=84900000001   # Mobifone, confirm: deleted, then fetch-cert
REFRESHED=84960000001 # Viettel, confirm: in the registry, fetch-cert refreshes it
UNKNOWN=84969999990   # a Viettel prefix, no card in the simulator
DEAD=84960000301      # dead_socket: the MSSP closes every request about it unanswered

stack_up
# The carrier has no SMPP link: a subscriber without ICCID or key version imports.
NO_ICCID=84960000002
jq --arg m "$NO_ICCID" '[.[] | select(.msisdn == $m) | del(.iccid, .kv)]' "$T/demo/registry.json" >"$T/no-iccid.json"
check "import takes a subscriber without ICCID/kv on an MSSP-only carrier" admin import "$T/no-iccid.json"
admin show "$NO_ICCID" >"$T/show0.txt" 2>&1 || true
check "$NO_ICCID: stored without ICCID" grep -q "^iccid          none" "$T/show0.txt"
j=$(sign "$NO_ICCID")
j=$(wait_result "$(jq -r .id <<<"$j")" 30)
check "$NO_ICCID: signs without ICCID" test "$(jq -r .result <<<"$j")" = OK

# ---- the gateway looks an unknown subscriber up once ----------------------
check "delete $LOOKED_UP from the registry" admin delete "$LOOKED_UP"
j=$(sign "$LOOKED_UP")
if [ "$(code)" = 202 ]; then
  j=$(wait_result "$(jq -r .id <<<"$j")" 30)
  check "$LOOKED_UP: looked up at the MSSP, then signed OK" test "$(jq -r '"\(.state) \(.result)"' <<<"$j")" = "completed OK"
  check "$LOOKED_UP: openssl verifies the signature" openssl_verify "$j" "$DEFAULT_DIGEST" sha256
else
  bad "$LOOKED_UP: POST answered $(code): $j"
fi
check "$LOOKED_UP: one MSS_Registration" test "$(regs "$LOOKED_UP")" = 1
admin show "$LOOKED_UP" >"$T/show1.txt" 2>&1 || true
check "$LOOKED_UP: show has its certificate now" grep -q "^certificate    [0-9]* octets" "$T/show1.txt"
check "$LOOKED_UP: and no ICCID" grep -q "^iccid          none" "$T/show1.txt"
j=$(sign "$LOOKED_UP")
check "$LOOKED_UP: a second signature needs no lookup" test "$(code)" = 202
wait_result "$(jq -r .id <<<"$j")" 30 >/dev/null
check "$LOOKED_UP: still one MSS_Registration" test "$(regs "$LOOKED_UP")" = 1

# ---- a number the MSSP does not know: one lookup, then the cached miss ----
j=$(sign "$UNKNOWN")
check "$UNKNOWN: 404 UNKNOWN_SUBSCRIBER" test "$(code) $(jq -r .error <<<"$j")" = "404 UNKNOWN_SUBSCRIBER"
check "$UNKNOWN: asked the MSSP once" test "$(regs "$UNKNOWN")" = 1
j=$(sign "$UNKNOWN")
check "$UNKNOWN: again 404 UNKNOWN_SUBSCRIBER" test "$(code) $(jq -r .error <<<"$j")" = "404 UNKNOWN_SUBSCRIBER"
check "$UNKNOWN: the miss was remembered (no second MSS_Registration)" test "$(regs "$UNKNOWN")" = 1

# ---- a lookup that fails for another reason is not remembered --------------
check "delete $DEAD from the registry" admin delete "$DEAD"
j=$(sign "$DEAD")
check "$DEAD: lookup cut off: 404 UNKNOWN_SUBSCRIBER" test "$(code) $(jq -r .error <<<"$j")" = "404 UNKNOWN_SUBSCRIBER"
# libcurl may retry a request whose reused connection was closed: count "more", not "exactly one more".
first=$(regs "$DEAD")
j=$(sign "$DEAD")
check "$DEAD: again 404 UNKNOWN_SUBSCRIBER" test "$(code) $(jq -r .error <<<"$j")" = "404 UNKNOWN_SUBSCRIBER"
check "$DEAD: asked again (a transport error is no miss)" test "$(regs "$DEAD")" -gt "$first"
admin show "$DEAD" >/dev/null 2>&1 && bad "$DEAD was written" || ok "$DEAD not in the registry"

# ---- simpki-admin fetch-cert ------------------------------------------------
check "delete $FETCHED from the registry" admin delete "$FETCHED"
if admin fetch-cert "$FETCHED" >"$T/fetch1.out" 2>"$T/fetch1.err"; then ok "fetch-cert $FETCHED exits 0"; else bad "fetch-cert $FETCHED: $(cat "$T/fetch1.err")"; fi
check "fetch-cert says it added it" grep -q "^ok 8490\*\*\*\*001: added, certificate serial" "$T/fetch1.out"
admin show "$FETCHED" >"$T/show2.txt" 2>&1 || true
check "$FETCHED: show has its certificate" grep -q "^certificate    [0-9]* octets" "$T/show2.txt"
openssl x509 -in "$(cert_file "$FETCHED")" -noout -serial | sed 's/serial=//' >"$T/serial.txt"
check "$FETCHED: the simulator card's certificate" grep -qi "serial       $(cat "$T/serial.txt")" "$T/show2.txt"
if admin fetch-cert "$REFRESHED" >"$T/fetch2.out" 2>"$T/fetch2.err"; then ok "fetch-cert $REFRESHED exits 0"; else bad "fetch-cert $REFRESHED: $(cat "$T/fetch2.err")"; fi
check "fetch-cert refreshed the existing subscriber" grep -q "^ok 8496\*\*\*\*001: refreshed" "$T/fetch2.out"
rc=0; admin fetch-cert "$UNKNOWN" >"$T/fetch3.out" 2>"$T/fetch3.err" || rc=$?
check "fetch-cert $UNKNOWN exits 1" test "$rc" = 1
check "fetch-cert $UNKNOWN says the service has no certificate for it" \
  grep -q "^error: 8496\*\*\*\*990: the signature service of mssp has no certificate for it" "$T/fetch3.err"
admin show "$UNKNOWN" >/dev/null 2>&1 && bad "$UNKNOWN was written" || ok "$UNKNOWN not in the registry"
# An enrolment card: the MSSP knows it, but it has no certificate yet (422).
rc=0; admin fetch-cert "$ENROL_EC" >"$T/fetch5.out" 2>"$T/fetch5.err" || rc=$?
check "fetch-cert of a card without certificate exits 1" test "$rc" = 1
check "fetch-cert says 422 NO_CERT_FOUND" grep -q "has no certificate for it (signature service: 422 NO_CERT_FOUND)" "$T/fetch5.err"
rc=0; admin fetch-cert "$FETCHED" "$UNKNOWN" >"$T/fetch4.out" 2>"$T/fetch4.err" || rc=$?
check "fetch-cert of a good and a bad number: the good one written, exit 1" \
  test "$rc $(grep -c '^ok ' "$T/fetch4.out")" = "1 1"
finish
