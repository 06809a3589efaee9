#!/usr/bin/env bash
# The lifecycle engine end to end (gateway/life/gw_life.h): certificate requests
# confirmed with the CA connector configured go through the simulator's SIMs
# (GENKEY, CSR signature, PUTCERT) and OpenSSL's CMP mock server, with the
# real gateway and Redis.  Checked with openssl alone where it can be: the
# stored CSR, the issued certificate, the registry's certificate and a
# signature made with it.
#
# The CA is lib.sh's CMP mock (cmp_mock_start RSP_CERT: (re)start `openssl
# cmp` on $CMP_PORT with PBM $CMP_REF/$CMP_SECRET answering that certificate).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/requests_lib.sh"

stack_up
PKI=$T/demo/pki
SUBS=$PKI/subs
cmp_mock_start "$SUBS/84960000182.crt.pem"

# The same stack with the CA connector: a short lease so the kill -9 below resumes quickly.
jq --argjson port "$CMP_PORT" --arg ref "$CMP_REF" --arg secret "$CMP_SECRET" \
  '.ca = {key_alg: "ecp256", sim_timeout_s: 30, tick_ms: 200, lease_s: 12, max_attempts: 3,
          cmp: {server: "127.0.0.1", port: $port, timeout_s: 10, pbm_ref: $ref, pbm_secret: $secret}}' \
  "$T/simpki.json" > "$T/simpki.json.tmp" && mv "$T/simpki.json.tmp" "$T/simpki.json"
check "--check-config accepts the ca section" bash -c "'$SIMPKID' -c '$T/simpki.json' --check-config | grep -q 'CA connector'"
stop_gw
start_gw

expect() { # description, http code, jq test on the body
  local d=$1 c=$2 t=$3 j; j=$(cat "$T/body")
  if [ "$(code)" = "$c" ] && jq -e "$t" >/dev/null 2>&1 <<<"$j"; then ok "$d"; else bad "$d: got $(code): $j"; fi
}
reg_raw() { reg "$@"; }
# wait_doc ID JQ SECONDS: poll the request every 0.1 s until JQ holds on it (the document in $T/doc).
wait_doc() {
  local end=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    api GET "/v1/requests/$1" > "$T/doc"
    doc "$2" && return 0
    sleep 0.1
  done
  return 1
}
cert_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null || openssl x509 -inform DER -in "$1" -noout -fingerprint -sha256; }

# ---- Mẫu 01, person, EC: the whole flow ----------------------------------------------------
M=84960000182
id=$(file "$(person $M "Trần Minh Khoa" "Ủy ban nhân dân huyện Gia Lâm" Viettel)")
api POST "/v1/requests/$id/transitions" '{"to":"sent_to_ca"}' >/dev/null
expect "submitted cannot skip to sent_to_ca" 409 '.error == "TRANSITION_NOT_ALLOWED"'
confirm "$id"
expect "Mẫu 01 confirmed without the new SIM: refused, naming sim" 400 '.field == "sim"'
confirm "$id" '{"iccid":"12345"}'
expect "a malformed ICCID refused" 400 '.field == "sim.iccid"'
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"kv\":1,\"key_alg\":\"ecp256\"}"
expect "confirmed with the new SIM: handed to the engine" 200 '.state == "confirmed" and .progress.step == "read"'
api POST "/v1/requests/$id/transitions" '{"to":"installed"}' >/dev/null
expect "an engine-owned state refused by hand" 409 '.error == "ENGINE_OWNS_REQUEST"'
# kill -9 mid-enrolment (once the SIM has made the key): the restarted instance resumes after the lease.
wait_doc "$id" '.progress.spki != null or .state != "confirmed"' 30
stop_gw -KILL
check "killed mid-enrolment, before it finished" doc '.state != "done" and .state != "failed"'
start_gw
check "Mẫu 01 (EC) resumed after the kill and reaches done" wait_state "$id" done failed
expect "history: confirmed, sent_to_ca, issued, installed, done by simpki" 200 \
  '[.history[].state] == ["submitted","confirmed","sent_to_ca","issued","installed","done"] and .history[2].by == "simpki"'
jq -r .result.certificate "$T/doc" > "$T/issued.pem"
jq -r .progress.csr "$T/doc" | base64 -d > "$T/req.der"
check "the stored CSR verifies (openssl req)" bash -c "openssl req -inform DER -in '$T/req.der' -verify -noout 2>&1 | grep -q 'verify OK\|Certificate request self-signature verify OK'"
check "the CSR subject is the request's (CN, UID=CCCD)" bash -c "openssl req -inform DER -in '$T/req.der' -noout -subject -nameopt utf8,sep_multiline | grep -q 'CN=TRẦN MINH KHOA' && openssl req -inform DER -in '$T/req.der' -noout -subject -nameopt utf8 | grep -q 'CCCD:001060000182'"
check "the CSR key is the certified key" bash -c "[ \"\$(openssl req -inform DER -in '$T/req.der' -pubkey -noout)\" = \"\$(openssl x509 -in '$T/issued.pem' -pubkey -noout)\" ]"
check "result is the CA's certificate" bash -c "[ \"\$(openssl x509 -in '$T/issued.pem' -noout -fingerprint -sha256)\" = \"\$(openssl x509 -in '$SUBS/$M.crt.pem' -noout -fingerprint -sha256)\" ]"
check "result.serial is the certificate's" bash -c "[ \"\$(openssl x509 -in '$T/issued.pem' -noout -serial | cut -d= -f2)\" = \"\$(jq -r .result.serial '$T/doc')\" ]"
check "registry: active, new ICCID, the issued certificate" bash -c "[ '$(reg $M status)' = active ] && [ '$(reg $M iccid)' = '$(iccid_of $M)' ]"
check "registry: a plain Mẫu 01 (not /cs) writes no cs" bash -c "[ -z '$(reg $M cs)' ]"
redis-cli -p "$REDIS_PORT" --raw HGET "spk:{$(shard $M)}:sub:$M" cert | head -c -1 > "$T/reg.der"
check "registry certificate = issued (DER)" bash -c "cmp -s '$T/reg.der' <(openssl x509 -in '$T/issued.pem' -outform DER)"

# A real signature with the new certificate (ca2: the demo OCSP answers for ca only -> soft RP).
saved=$TOKEN; TOKEN="other-$saved"
D=$(printf 'Quyết định 7/QĐ-UBND' | openssl dgst -sha256 -binary | base64 -w0)
sid=$(sign $M "$D" | jq -r .id)
j=$(wait_result "$sid")
TOKEN=$saved
printf '%s' "$j" > "$T/sig.json"
check "a signature with the enrolled certificate: OK" jq -e '.result == "OK"' "$T/sig.json"
check "that signature verifies with openssl and the issued certificate" openssl_verify "$j" "$D"

# ---- Mẫu 01, person, RSA: the certificate is larger than a PUTCERT ----------------------
M=84960000181
cmp_mock_start "$SUBS/$M.crt.pem"
id=$(file "$(person $M "Nguyễn Thị Thanh Hương" "Sở Tài chính tỉnh Nghệ An" Viettel)")
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"rsa2048\"}"
check "Mẫu 01 (RSA) reaches done" wait_state "$id" done failed
check "too large for PUTCERT: kept in the registry, warned" doc '[.warnings[].error] | index("CERT_NOT_ON_SIM") != null'
check "registry: active with the certificate" bash -c "[ '$(reg $M status)' = active ]"

# ---- Mẫu 03, organisation (Vinaphone, EC) ---------------------------------------------------
M=84910000182
cmp_mock_start "$SUBS/$M.crt.pem"
org=$(jq -n '{form: "org_new", unit: "Văn phòng UBND tỉnh Bắc Ninh", place: "Bắc Ninh",
  organisation: {name: "Văn phòng Ủy ban nhân dân tỉnh Bắc Ninh", code: "0100001825", province: "Bắc Ninh",
                 email: "vp@bacninh.gov.vn"},
  subscriber: {full_name: "Lê Văn Tám", phone: "0910000182"}, sim_pki: "Vinaphone"}')
id=$(file "$org")
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"ecp256\"}"
check "Mẫu 03 reaches done" wait_state "$id" done failed
jq -r .progress.csr "$T/doc" | base64 -d > "$T/req.der"
check "Mẫu 03 CSR carries UID=MST" bash -c "openssl req -inform DER -in '$T/req.der' -noout -subject -nameopt utf8 | grep -q 'MST:0100001825'"

# ---- a CSR the SIM signed with the wrong key ------------------------------------------------
M=84960000201
cmp_mock_start "$SUBS/$M.crt.pem"
id=$(file "$(person $M "Phạm Văn Sai" "Sở Nội vụ" Viettel)")
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"rsa2048\"}"
check "wrong-key CSR: failed" wait_state "$id" failed done
check "... with the reason as the history note" doc '.history[-1].by == "simpki" and (.history[-1].note | test("CSR signature does not verify"))'
check "... nothing sent to the CA" doc '([.history[].state] | index("sent_to_ca")) == null'

# ---- the CA answers a certificate for another key -------------------------------------------
M=84910000212
cmp_mock_start "$SUBS/$M.other.crt.pem"
id=$(file "$(person $M "Hoàng Văn Khác" "Sở Nội vụ" Vinaphone)")
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"ecp256\"}"
check "another key's certificate: failed" wait_state "$id" failed done
check "... with the CA's reason" doc '.history[-1].note | test("another key")'
check "... nothing installed, the registry has no certificate" bash -c "[ -z '$(reg_raw $M cert)' ] && [ '$(reg $M status)' != active ]"

# ---- /cs: the number moves from its old SIM to a new one -------------------------------------
M=84900000192
jq -n --arg c "$SUBS/$M.old.crt.pem" '[{msisdn: "84900000192", carrier: "mobifone", iccid: "8984019999900000192",
  kv: 1, cert_file: $c, status: "active"}]' > "$T/old.json"
"$SIMPKI_ADMIN" -c "$T/simpki.json" import "$T/old.json" >>"$T/import.log" 2>&1
cmp_mock_start "$SUBS/$M.crt.pem"
id=$(file "$(person $M "Lê Thị Mỹ Duyên" "Sở Giáo dục và Đào tạo thành phố Đà Nẵng" Mobifone)")
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"ecp256\"}"
check "plain Mẫu 01 for a number with an active certificate: failed" wait_state "$id" failed done
check "... told to use /cs" doc '.history[-1].note | test("/cs")'
id=$(file "$(person $M "Lê Thị Mỹ Duyên" "Sở Giáo dục và Đào tạo thành phố Đà Nẵng" Mobifone/cs)")
confirm "$id" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"ecp256\"}"
check "Mobifone/cs migration reaches done" wait_state "$id" done failed
check "old ICCID and old certificate recorded" doc '.progress.old_iccid == "8984019999900000192" and (.progress.old_cert | length) > 100'
check "old certificate retired (revoked as superseded, or the CA's refusal warned)" \
  doc '.progress.old_revoked == "superseded" or ([.warnings[].error] | index("OLD_CERT_NOT_REVOKED") != null)'
check "registry: the new ICCID and certificate" bash -c "[ '$(reg $M iccid)' = '$(iccid_of $M)' ] && [ '$(reg $M status)' = active ]"
check "registry: the number is marked as moved onto the SIM PKI (cs)" bash -c "[ '$(reg $M cs)' = 1 ]"

# ---- Mẫu 07, renewal with the same key (the card's own), a CMP kur ---------------------------
# The gateway renews with a kur naming the registered certificate in its oldCertID control
# (signer/sig_cmp.h).  OpenSSL 3.0's mock takes a kur only when that oldCertID is its own
# -rsp_cert's issuer and serial (apps/lib/cmp_mock_srv.c; OpenSSL 3.2 moved the check to an
# optional -ref_cert), so the CA's answer here cannot be the ca2 fixture $M.renew.crt.pem with
# its new serial, as a real CA's would be.  The renewed certificate is the registered one
# re-issued by its CA under the same serial with a new validity (two years from now): the same
# key, subject and extensions, another certificate (DER).
M=84960000002
old_serial=$(openssl x509 -in "$SUBS/$M.crt.pem" -noout -serial | cut -d= -f2)
openssl x509 -x509toreq -in "$SUBS/$M.crt.pem" -signkey "$SUBS/$M.key.pem" -copy_extensions copyall \
  -out "$T/renewed.csr" 2>>"$T/openssl.log"
openssl x509 -req -in "$T/renewed.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key.pem" -set_serial "0x$old_serial" \
  -days 730 -copy_extensions copyall -out "$T/renewed.crt.pem" 2>>"$T/openssl.log"
openssl x509 -in "$T/renewed.crt.pem" -outform DER -out "$T/renewed.crt.der"
check "the renewed certificate: same issuer, serial and key, another certificate" bash -c "
  [ \"\$(openssl x509 -in '$T/renewed.crt.pem' -noout -issuer -serial -pubkey)\" = \"\$(openssl x509 -in '$SUBS/$M.crt.pem' -noout -issuer -serial -pubkey)\" ] &&
  ! cmp -s '$T/renewed.crt.der' '$SUBS/$M.crt.der' &&
  openssl verify -CAfile '$PKI/trust.pem' -untrusted '$PKI/intermediates.pem' '$T/renewed.crt.pem' >/dev/null"
cmp_mock_start "$T/renewed.crt.pem"
mock_from=$(wc -l <"$T/cmp-mock.log")
chg=$(jq -n --arg s "$old_serial" '{form: "change", action: "renew", unit: "Bộ Tư pháp",
  subscriber: {full_name: "Trần Đức Hà", phone: "0960000002"}, sim_pki: "Viettel",
  certificate: {serial: $s}, reason: "Gia hạn"}')
id=$(file "$chg")
confirm "$id"
expect "Mẫu 07 confirmed without a SIM: the same SIM and key" 200 '.progress.step == "read" and .progress.iccid == null'
check "Mẫu 07 reaches done" wait_state "$id" done failed
check "... done, not failed" doc '.state == "done" and ([.history[].state] | index("issued")) != null'
# What the mock logged since it started for this case (-verbosity 7 names each message).
mock_since() { tail -n +"$((mock_from + 1))" "$T/cmp-mock.log"; }
sent_as_kur() {
  mock_since | grep -q '^CMP DEBUG: received KUR' &&
    ! mock_since | grep -q 'received P10CR\|popo raverified not accepted\|wrong certid'
}
check "... sent to the CA as a kur (raVerified, oldCertID accepted), no p10cr" sent_as_kur
check "registry holds the renewed certificate" bash -c "cmp -s <(redis-cli -p $REDIS_PORT --raw HGET 'spk:{$(shard $M)}:sub:$M' cert | head -c -1) '$T/renewed.crt.der'"
jq -r .progress.csr "$T/doc" | base64 -d > "$T/req.der"
check "Mẫu 07 CSR signed by the card's existing key" bash -c "[ \"\$(openssl req -inform DER -in '$T/req.der' -pubkey -noout)\" = \"\$(openssl x509 -in '$SUBS/$M.crt.pem' -pubkey -noout)\" ]"

# ---- Mẫu 09, revocation (the mock accepts an rr for its rsp_cert: the renewed one) ----------
# The renewed certificate kept the old serial (above); $M.renew.crt.pem is one of this card's
# certificates that was never registered.
other_serial=$(openssl x509 -in "$SUBS/$M.renew.crt.pem" -noout -serial | cut -d= -f2)
rev=$(jq -n --arg s "$other_serial" '{form: "revoke", unit: "Bộ Tư pháp", subscriber: {full_name: "Trần Đức Hà", phone: "0960000002"},
  certificate: {serial: $s}, reason: "Mất thiết bị lưu khóa"}')
id=$(file "$rev")
confirm "$id"
check "revocation naming a certificate that is not the registered one: failed" wait_state "$id" failed done
id=$(file "$(jq --arg s "$old_serial" '.certificate.serial = $s' <<<"$rev")")
confirm "$id"
check "Mẫu 09 reaches done" wait_state "$id" done failed
check "... through sent_to_ca, reason keyCompromise" doc '[.history[].state] == ["submitted","confirmed","sent_to_ca","done"] and .progress.revoked_reason == "keyCompromise"'
check "registry: revoked, the record kept" bash -c "[ '$(reg $M status)' = revoked ] && [ -n '$(reg_raw $M cert | head -c 4)' ]"
api POST /v1/requests '{"form":"handover","unit":"Bộ Tư pháp","giver":{"full_name":"Trần Đức Hà"},"receiver":{"full_name":"Lê Văn Tám"},
  "devices":[{"cert_name":"Trần Đức Hà","organisation":"Bộ Tư pháp","serial":"89840400009600000020","note":"SIM PKI"}]}' >/dev/null
hid=$(jq -r .id "$T/body")
api POST "/v1/requests/$hid/transitions" '{"to":"done","sim":{"iccid":"89840400009600000020"}}' >/dev/null
expect "Mẫu 14 stays manual (no sim, no engine)" 400 '.field == "sim"'
api POST "/v1/requests/$hid/transitions" '{"to":"done","note":"devices received"}' >/dev/null
expect "Mẫu 14 closed by hand when the devices are received" 200 '.state == "done"'

# ---- an operator's abort wins over the engine ------------------------------------------------
# Mẫu 07 for the slow card (behaviour 16: answers after 5 s): the engine sends the CSR signature
# and waits; the operator fails the request meanwhile.  The SIM's late answer, the engine's next
# looks and its claim must not move it again, and the engine lets it go.
M=84900000161
serial=$(openssl x509 -in "$SUBS/$M.crt.pem" -noout -serial | cut -d= -f2)
id=$(file "$(jq -n --arg s "$serial" '{form: "change", action: "renew", unit: "Sở Nội vụ",
  subscriber: {full_name: "Đỗ Văn Chậm", phone: "0900000161"}, sim_pki: "Mobifone",
  certificate: {serial: $s}, reason: "Gia hạn"}')")
confirm "$id"
expect "Mẫu 07 for the slow card: handed to the engine" 200 '.progress.step == "read"'
wait_doc "$id" '.progress.step == "csr" and .progress.txn != null' 20
check "the engine owns it: the CSR signature is pending on the SIM" doc '.state == "confirmed" and .progress.step == "csr" and .progress.txn != null'
NOTE="Hủy: sai số CCCD trên hồ sơ (e2e abort)"
for _ in 1 2 3 4 5; do # a CONFLICT only means the engine wrote first: read again and retry
  api POST "/v1/requests/$id/transitions" "$(jq -n --arg n "$NOTE" '{to: "failed", by: "Văn thư", note: $n}')" >/dev/null
  [ "$(code)" = 409 ] && jq -e '.error == "CONFLICT"' "$T/body" >/dev/null 2>&1 || break
done
expect "the operator fails it while the engine owns it" 200 '.state == "failed"'
aborted_rev=$(jq -r .rev "$T/body")
# Past the card's answer (5 s), several ticks and polls (200 ms, 1 s) and the claim's lease (12 s).
in_index() { [ -n "$(redis-cli -p "$REDIS_PORT" --raw ZSCORE 'spk:{enr}:life' "$id")" ]; } # Q_DOC_KEY_LIFE (queue/q_docs.h)
not_in_index() { ! in_index; }
end=$(( $(date +%s) + 20 ))
while in_index && [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
check "the aborted request leaves the engine's index" not_in_index
sleep 8
api GET "/v1/requests/$id" > "$T/doc"
check "it stays failed, with the operator's note last in its history" \
  jq -e --arg n "$NOTE" '.state == "failed" and .history[-1].state == "failed" and .history[-1].note == $n and .history[-1].by != "simpki"' "$T/doc"
check "no engine write after the abort (same revision, never sent to the CA)" \
  jq -e --argjson r "$aborted_rev" '.rev == $r and ([.history[].state] | index("sent_to_ca")) == null and .result == null' "$T/doc"
check "still out of the engine's index" not_in_index

curl -s "http://127.0.0.1:$API_PORT/metrics" > "$T/metrics"
check "metrics: steps by outcome and CMP calls" bash -c "grep -q 'simpki_life_steps_total{step=\"cmp\",outcome=\"advanced\"}' '$T/metrics' && grep -q 'simpki_cmp_calls_total{op=\"enrol\"}' '$T/metrics'"
check "logs never carry the CCCD number" bash -c "! grep -q '001060000182' '$T/gateway.log'"
finish
