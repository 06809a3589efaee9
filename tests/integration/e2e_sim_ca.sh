#!/usr/bin/env bash
# simpki-sim-ca (tests/sim/sim_ca.c), the test CA that really issues and revokes, checked with
# independent tools: `openssl cmp` as the client, `openssl verify` and `openssl ocsp` (lib.sh
# ca_start starts one on the CA's database, ca_revoked asks it).  Then the lifecycle engine
# against it: a Mẫu 07 change (the SIM's key, a kur with the new subject) and a Mẫu 09
# revocation, as in e2e_life.sh but with a CA whose answers are new certificates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/requests_lib.sh"

make_demo
PKI=$T/demo/pki
ca_start
CMP=(openssl cmp -server "127.0.0.1:$CMP_PORT" -path "$CMP_PATH" -ref "$CMP_REF" -secret "file:$CMP_SECRET_FILE")
ca_log() { cat "$T/sim-ca.log"; }
index_has() { grep -Eq "$1" "$CA_INDEX"; } # an ERE on the database's lines
serial_of() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }
pub_of() { openssl pkey -in "$1" -pubout 2>/dev/null || openssl x509 -in "$1" -noout -pubkey; }
subject_of() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253,utf8 | sed 's/^subject=//'; }
verifies() { openssl verify -CAfile "$PKI/trust.pem" -untrusted "$PKI/intermediates.pem" -policy 2.16.704.1.1.1.1.1 \
  -explicit_policy "$1" >/dev/null 2>&1; }

# ---- ir: a certificate for the client's key, with the requested subject -----------------------
# (`openssl cmp -subject` takes ASCII only: the UTF-8 subject comes in the p10cr below.)
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/k1.pem" 2>/dev/null
"${CMP[@]}" -cmd ir -newkey "$T/k1.pem" -subject "/C=VN/O=So Noi vu tinh Bac Ninh/CN=Nguyen Van Thu" \
  -sans "thu.simpki.test" -certout "$T/ir.pem" >"$T/cmp-ir.log" 2>&1
check "ir: openssl cmp gets a certificate" test -s "$T/ir.pem"
check "ir: for the client's key" bash -c "[ \"\$(openssl pkey -in '$T/k1.pem' -pubout)\" = \"\$(openssl x509 -in '$T/ir.pem' -noout -pubkey)\" ]"
check "ir: with the requested subject" bash -c "[ \"\$(openssl x509 -in '$T/ir.pem' -noout -subject -nameopt RFC2253)\" = 'subject=CN=Nguyen Van Thu,O=So Noi vu tinh Bac Ninh,C=VN' ]"
check "ir: openssl verify accepts it against the demo trust, policy required" verifies "$T/ir.pem"
check "ir: the subscriber profile (nonRepudiation, CA:FALSE, the requested SAN, the CA's OCSP)" bash -c "
  x=\$(openssl x509 -in '$T/ir.pem' -noout -ext keyUsage,basicConstraints,subjectAltName,authorityInfoAccess | tr '\n' ' ')
  grep -q 'Key Usage: critical *Digital Signature, Non Repudiation ' <<<\"\$x\" && grep -q 'critical *CA:FALSE ' <<<\"\$x\" &&
  grep -q 'OCSP - URI:$CA_OCSP_URL ' <<<\"\$x\" && grep -q 'DNS:thu.simpki.test ' <<<\"\$x\""
IR_SERIAL=$(serial_of "$T/ir.pem")
check "ir: valid in the database, with its serial" index_has "^V	[0-9]{12}Z		$IR_SERIAL	unknown	/C=VN/"
if ca_revoked "$T/ir.pem"; then bad "ir: not revoked yet"; else ok "ir: not revoked yet (ca_revoked says no)"; fi

# ---- kur: the same key, a new subject (Mẫu 07 as the gateway sends it: raVerified) -------------
"${CMP[@]}" -cmd kur -oldcert "$T/ir.pem" -newkey "$T/k1.pem" -popo 0 \
  -subject "/C=VN/O=So Noi vu tinh Bac Ninh moi/CN=Nguyen Van Thu" -certout "$T/kur.pem" >"$T/cmp-kur.log" 2>&1
check "kur: openssl cmp gets a certificate" test -s "$T/kur.pem"
check "kur: a new serial" bash -c "[ '$(serial_of "$T/kur.pem" 2>/dev/null)' != '$IR_SERIAL' ]"
check "kur: the same key, the new subject" bash -c "[ \"\$(openssl x509 -in '$T/ir.pem' -noout -pubkey)\" = \"\$(openssl x509 -in '$T/kur.pem' -noout -pubkey)\" ] &&
  openssl x509 -in '$T/kur.pem' -noout -subject -nameopt RFC2253,utf8 | grep -q 'O=So Noi vu tinh Bac Ninh moi'"
check "kur: openssl verify accepts it" verifies "$T/kur.pem"
KUR_SERIAL=$(serial_of "$T/kur.pem")

# ---- p10cr (as the gateway enrols): the PKCS#10's UTF-8 subject and e-mail ----------------------
openssl req -new -utf8 -key "$T/k1.pem" -subj "/C=VN/O=Sở Nội vụ tỉnh Bắc Ninh/CN=Nguyễn Văn Thử" \
  -addext "subjectAltName=email:thu@simpki.test" -out "$T/p10.csr" 2>/dev/null
"${CMP[@]}" -cmd p10cr -csr "$T/p10.csr" -certout "$T/p10.pem" >"$T/cmp-p10.log" 2>&1
check "p10cr: the CSR's UTF-8 subject, key and e-mail" bash -c "
  [ \"\$(openssl x509 -in '$T/p10.pem' -noout -subject -nameopt utf8)\" = 'subject=C=VN, O=Sở Nội vụ tỉnh Bắc Ninh, CN=Nguyễn Văn Thử' ] &&
  [ \"\$(openssl req -in '$T/p10.csr' -noout -pubkey)\" = \"\$(openssl x509 -in '$T/p10.pem' -noout -pubkey)\" ] &&
  openssl x509 -in '$T/p10.pem' -noout -ext subjectAltName | grep -q 'email:thu@simpki.test'"
check "p10cr: openssl verify accepts it" verifies "$T/p10.pem"

# ---- rr: revoked in the database, and the responder says so -------------------------------------
"${CMP[@]}" -cmd rr -oldcert "$T/ir.pem" -revreason 4 >"$T/cmp-rr.log" 2>&1
check "rr: accepted" grep -q 'revocation accepted' "$T/cmp-rr.log"
check "rr: the database line is revoked, reason superseded" index_has "^R	[0-9]{12}Z	[0-9]{12}Z,superseded	$IR_SERIAL	"
if ca_revoked "$T/ir.pem"; then ok "rr: openssl ocsp says revoked"; else bad "rr: openssl ocsp says revoked"; fi
if ca_revoked "$KUR_SERIAL"; then bad "rr: the kur's certificate still good"; else ok "rr: the kur's certificate still good"; fi
"${CMP[@]}" -cmd rr -oldcert "$T/ir.pem" -revreason 1 >"$T/cmp-rr2.log" 2>&1 && bad "rr again: refused" || ok "rr again: refused"
check "... with PKIStatus rejection, failInfo certRevoked" grep -q 'rejection; PKIFailureInfo: certRevoked' "$T/cmp-rr2.log"
check "... the first reason kept" index_has "	[0-9]{12}Z,superseded	$IR_SERIAL	"

# A pre-made certificate of the demo (in the seeded database) and one this CA never recorded.
PRE=$PKI/subs/84960000001.crt.pem
"${CMP[@]}" -cmd rr -oldcert "$PRE" -revreason 1 >"$T/cmp-rr3.log" 2>&1
if ca_revoked "$PRE"; then ok "rr of a pre-made certificate: revoked (keyCompromise)"; else bad "rr of a pre-made certificate: revoked"; fi
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/stray.key.pem" -subj "/C=VN/CN=Stray" \
  -out "$T/stray.csr" 2>/dev/null
openssl x509 -req -in "$T/stray.csr" -CA "$CA_CERT" -CAkey "$PKI/ca.key.pem" -set_serial 0x5EED0001 -days 30 \
  -out "$T/stray.pem" 2>/dev/null
check "a certificate the database does not know: not there before" bash -c "! grep -q '	5EED0001	' '$CA_INDEX'"
"${CMP[@]}" -cmd rr -oldcert "$T/stray.pem" -revreason 5 >"$T/cmp-rr4.log" 2>&1
check "... its rr accepted and recorded from the issuer and serial" index_has "^R	99991231235959Z	[0-9]{12}Z,cessationOfOperation	5EED0001	"
if ca_revoked "$T/stray.pem"; then ok "... and openssl ocsp says revoked"; else bad "... and openssl ocsp says revoked"; fi
"${CMP[@]}" -cmd rr -oldcert "$PKI/subs/84960000182.crt.pem" -revreason 1 >"$T/cmp-rr5.log" 2>&1 &&
  bad "rr of another CA's certificate: refused" || ok "rr of another CA's certificate: refused"
check "... badCertId" grep -q 'badCertId' "$T/cmp-rr5.log"

# ---- a refused certificate (negative certConf) is revoked; implicitConfirm is granted -----------
lines=$(wc -l <"$CA_INDEX")
"${CMP[@]}" -cmd ir -newkey "$T/k1.pem" -subject "/C=VN/CN=Refused" -out_trusted "$PKI/other-root.pem" \
  -certout "$T/refused.pem" >"$T/cmp-refused.log" 2>&1 && bad "client refuses the certificate" || ok "client refuses the certificate"
check "... the CA revoked what it issued" bash -c "[ \$(wc -l <'$CA_INDEX') -eq $((lines + 1)) ] && tail -n 1 '$CA_INDEX' | grep -Eq '^R	.*,unspecified	.*/CN=Refused\$'"
"${CMP[@]}" -cmd cr -newkey "$T/k1.pem" -subject "/C=VN/CN=Implicit" -implicit_confirm -certout "$T/implicit.pem" \
  >"$T/cmp-implicit.log" 2>&1
check "cr with implicitConfirm: issued, no certConf" bash -c "test -s '$T/implicit.pem' && ! grep -q 'sending CERTCONF' '$T/cmp-implicit.log'"

# ---- what must be refused, and the CA goes on ----------------------------------------------------
lines=$(wc -l <"$CA_INDEX")
openssl cmp -server "127.0.0.1:$CMP_PORT" -path "$CMP_PATH" -ref "$CMP_REF" -secret pass:not-the-secret -cmd ir \
  -newkey "$T/k1.pem" -subject "/C=VN/CN=Wrong Secret" -certout "$T/wrong.pem" >"$T/cmp-wrong.log" 2>&1 &&
  bad "a wrong PBM secret: refused" || ok "a wrong PBM secret: refused"
check "... nothing issued" bash -c "[ ! -s '$T/wrong.pem' ] && [ \$(wc -l <'$CA_INDEX') -eq $lines ]"
check "... the CA logged the refusal" bash -c "grep -q 'wrong pbm value' '$T/sim-ca.log' && grep -q 'ir serial=- cn=- result=error answer' '$T/sim-ca.log'"
code=$(curl -s -o "$T/garbage.out" -w '%{http_code}' -H 'Content-Type: application/pkixcmp' --data-binary 'not a PKIMessage' \
  "$CMP_URL")
check "a garbage body: an error answer (HTTP 400)" test "$code" = 400
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/pkixcmp' --data-binary 'x' \
  "http://127.0.0.1:$CMP_PORT/elsewhere")
check "another path: 404" test "$code" = 404
"${CMP[@]}" -cmd ir -newkey "$T/k1.pem" -subject "/C=VN/CN=After Garbage" -certout "$T/after.pem" >"$T/cmp-after.log" 2>&1
check "the CA keeps running: the next ir is issued" bash -c "kill -0 $CA_PID && test -s '$T/after.pem'"
check "one log line per message (ir, kur, rr, certConf with serial and CN)" bash -c "
  grep -q 'ir serial=$IR_SERIAL cn=Nguyen Van Thu result=issued' '$T/sim-ca.log' &&
  grep -q 'kur serial=$KUR_SERIAL cn=Nguyen Van Thu result=issued' '$T/sim-ca.log' &&
  grep -q 'p10cr serial=.* cn=Nguyễn Văn Thử result=issued' '$T/sim-ca.log' &&
  grep -q 'rr serial=$IR_SERIAL .*result=revoked (superseded)' '$T/sim-ca.log' &&
  grep -q 'certConf serial=$KUR_SERIAL .*result=PKIStatus: accepted' '$T/sim-ca.log'"

# A restart keeps the state: the database is read again.
ca_start
if ca_revoked "$T/ir.pem"; then ok "after a restart: still revoked"; else bad "after a restart: still revoked"; fi
"${CMP[@]}" -cmd rr -oldcert "$T/ir.pem" -revreason 1 >/dev/null 2>&1 && bad "after a restart: rr again refused" ||
  ok "after a restart: rr again refused"

[ -n "${SIM_CA_ONLY:-}" ] && { finish; exit; }

# ---- the lifecycle engine against it: Mẫu 07 change, Mẫu 09 revocation ---------------------------
start_redis
start_ocsp
start_sim
write_config
import_registry
jq --argjson port "$CMP_PORT" --arg ref "$CMP_REF" --arg secret "$CMP_SECRET" --arg path "$CMP_PATH" \
  '.ca = {key_alg: "ecp256", sim_timeout_s: 30, tick_ms: 200, lease_s: 12, max_attempts: 3,
          cmp: {server: "127.0.0.1", port: $port, path: $path, timeout_s: 10, pbm_ref: $ref, pbm_secret: $secret}}' \
  "$T/simpki.json" > "$T/simpki.json.tmp" && mv "$T/simpki.json.tmp" "$T/simpki.json"
: >"$T/gateway.log"
start_gw


M=84960000002
old_serial=$(serial_of "$PKI/subs/$M.crt.pem")
NEW_O="Sở Nội vụ tỉnh Bắc Ninh (sau hợp nhất)"
chg=$(jq -n --arg s "$old_serial" --arg o "$NEW_O" '{form: "change", action: "change", unit: "Bộ Tư pháp",
  subscriber: {full_name: "Trần Đức Hà", organisation: $o, phone: "0960000002"}, sim_pki: "Viettel",
  certificate: {serial: $s}, changes: [{field: "organisation", old: "Bộ Tư pháp", new: $o}], reason: "Hợp nhất đơn vị"}')
id=$(file "$chg")
confirm "$id"
check "Mẫu 07 change through simpki-sim-ca reaches done" wait_state "$id" done failed
jq -r .result.certificate "$T/doc" > "$T/changed.pem"
NEW_SERIAL=$(serial_of "$T/changed.pem" 2>/dev/null || echo none)
check "... a new certificate of this CA (new serial, in its database as valid)" bash -c "
  [ '$NEW_SERIAL' != '$old_serial' ] && grep -Eq '^V	[0-9]{12}Z		$NEW_SERIAL	' '$CA_INDEX'"
check "... the SIM's existing key, the new organisation" bash -c "
  [ \"\$(openssl x509 -in '$T/changed.pem' -noout -pubkey)\" = \"\$(openssl x509 -in '$PKI/subs/$M.crt.pem' -noout -pubkey)\" ] &&
  openssl x509 -in '$T/changed.pem' -noout -subject -nameopt utf8 | grep -qF 'O=$NEW_O'"
check "... sent as a kur" grep -q "kur serial=$NEW_SERIAL " "$T/sim-ca.log"
if ca_revoked "$PKI/subs/$M.crt.pem"; then ok "... the replaced certificate retired: openssl ocsp says revoked"
else bad "... the replaced certificate retired: openssl ocsp says revoked"; fi
check "... as superseded" index_has "^R	[0-9]{12}Z	[0-9]{12}Z,superseded	$old_serial	"
check "registry: active with the CA's new certificate" bash -c "[ '$(reg $M status)' = active ] &&
  cmp -s <(redis-cli -p $REDIS_PORT --raw HGET 'spk:{$(shard $M)}:sub:$M' cert | head -c -1) <(openssl x509 -in '$T/changed.pem' -outform DER)"

rev=$(jq -n --arg s "$NEW_SERIAL" '{form: "revoke", unit: "Bộ Tư pháp", subscriber: {full_name: "Trần Đức Hà", phone: "0960000002"},
  certificate: {serial: $s}, reason: "Mất thiết bị lưu khóa"}')
id=$(file "$rev")
confirm "$id"
check "Mẫu 09 revocation through simpki-sim-ca reaches done" wait_state "$id" done failed
check "... keyCompromise in the CA's database" index_has "^R	[0-9]{12}Z	[0-9]{12}Z,keyCompromise	$NEW_SERIAL	"
if ca_revoked "$T/changed.pem"; then ok "... and ca_revoked (openssl ocsp) says revoked"; else bad "... and ca_revoked says revoked"; fi
check "registry: revoked" test "$(reg $M status)" = revoked
finish
