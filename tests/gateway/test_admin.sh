#!/usr/bin/env bash
# test_admin.sh - simpki-admin end to end: decoders against the SPKA/1 vectors
# and golden files, hostile PDUs, hash-key, and the registry commands against
# a real throwaway redis-server.
#
#   bash test_admin.sh path/to/simpki-admin
#
# KEEP_TMP=1 keeps the scratch directory (outputs, PKI, config) for a look.
# UPDATE_GOLDEN=1 rewrites tests/gateway/golden/admin_*.ok from the current
# output (review the diff before committing it).
# Runs on tests/integration/lib.sh, which needs SRC, SIMPKID, SIMPKI_ADMIN and
# SIMPKI_SIM in the environment (tests/gateway/CMakeLists.txt passes them).
set -euo pipefail

ADMIN=${1:?usage: test_admin.sh SIMPKI_ADMIN}
HERE=$(cd "$(dirname "$0")" && pwd)
VECTORS=$HERE/../data/spka1.json
GOLDEN=$HERE/golden
DATA=$HERE/data
MK=000102030405060708090a0b0c0d0e0f
ICCID=8984040000000000019

# A sanitizer report must not pass for the expected "exit 1".
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:exitcode=86
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=87

# The integration harness: scratch directory $T, cleanup on exit, ok/bad/finish, start_redis.
. "$(dirname "$0")/../integration/lib.sh"
fail() { # the first failure ends the test
    bad "$*"
    exit 1
}

# run NAME EXPECTED_RC CMD...: stdout to $T/NAME.out, stderr to $T/NAME.err.
run() {
    local name=$1 want=$2 rc=0
    shift 2
    "$@" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "--- stdout" >&2; cat "$T/$name.out" >&2
        echo "--- stderr" >&2; cat "$T/$name.err" >&2
        fail "$name: exit $rc, expected $want"
    fi
    if grep -q -e 'AddressSanitizer' -e 'runtime error' "$T/$name.err"; then
        cat "$T/$name.err" >&2
        fail "$name: sanitizer report"
    fi
}

golden() {
    local name=$1
    if [ -n "${UPDATE_GOLDEN:-}" ]; then
        cp "$T/$name.out" "$GOLDEN/$name.ok"
    fi
    diff -u "$GOLDEN/$name.ok" "$T/$name.out" || fail "$name: output differs from golden/$name.ok"
    ok "$name matches golden"
}

must_grep() { # must_grep NAME FILE PATTERN
    grep -q -e "$3" "$2" || { cat "$2" >&2; fail "$1: no '$3' in $(basename "$2")"; }
}

# vec SECTION FIELD: the string (or each string of the array) FIELD of SECTION in the vectors.
vec() {
    awk -v sec="$1" -v fld="$2" '
        /^ "[a-z_]+": \{/ { cur = $1; gsub(/[":]/, "", cur) }
        cur == sec && $0 ~ "^  \"" fld "\": \\[" { inarr = 1; next }
        inarr && /^  \]/ { inarr = 0 }
        inarr { v = $1; gsub(/[",]/, "", v); print v }
        cur == sec && $0 ~ "^  \"" fld "\": \"" { v = $2; gsub(/[",]/, "", v); print v }
    ' "$VECTORS"
}

# The application data hex the decoder printed, joined.
printed_appdata() {
    awk '/^application data/ { on = 1; next } on && /^    [0-9a-f]+$/ { printf "%s", $1; next } { on = 0 }' "$1"
}

# ---- help and usage ---------------------------------------------------------
run help 0 "$ADMIN" help
must_grep help "$T/help.out" 'simpki-admin -c .* import'
run noargs 2 "$ADMIN"
run badcmd 2 "$ADMIN" frobnicate
must_grep badcmd "$T/badcmd.err" 'unknown command'
ok "help and usage errors"

# ---- decode-ud on the SPKA/1 vectors -----------------------------------------
for sec in sign_command sign_por_ok sign_por_user_cancel; do
    mapfile -t segs < <(vec "$sec" sms_user_data)
    [ "${#segs[@]}" -ge 1 ] || fail "no segments for $sec in $VECTORS"
    # Reassembly must not depend on order: give the segments last first.
    rev=()
    for ((i = ${#segs[@]} - 1; i >= 0; i--)); do rev+=("${segs[$i]}"); done
    run "admin_ud_$sec" 0 "$ADMIN" decode-ud --mk $MK --iccid $ICCID "${rev[@]}"
    golden "admin_ud_$sec"
    want=$(vec "$sec" application_data)
    got=$(printed_appdata "$T/admin_ud_$sec.out")
    [ "$got" = "$want" ] || fail "$sec: application data $got, vector says $want"
    ok "$sec: application data equals the vector"
    # The master key never appears in the output.
    if grep -qi "$MK" "$T/admin_ud_$sec.out" "$T/admin_ud_$sec.err"; then fail "$sec: master key printed"; fi
done
must_grep sign_command "$T/admin_ud_sign_command.out" '"Ký văn bản 123/QĐ-UBND"'
must_grep sign_command "$T/admin_ud_sign_command.out" 'vc  *"4821"'
must_grep sign_por_ok "$T/admin_ud_sign_por_ok.out" 'signature *256 octets'
must_grep sign_por_user_cancel "$T/admin_ud_sign_por_user_cancel.out" 'result *0x01 (USER_CANCEL)'

mapfile -t segs < <(vec sign_por_user_cancel sms_user_data)
run admin_ud_nokeys 0 "$ADMIN" decode-ud "${segs[@]}"
golden admin_ud_nokeys
must_grep nokeys "$T/admin_ud_nokeys.out" 'keys needed'

run ud_wrongkey 1 "$ADMIN" decode-ud --mk 00000000000000000000000000000000 --iccid $ICCID "${segs[@]}"
must_grep ud_wrongkey "$T/ud_wrongkey.err" 'cryptographic checksum does not match'
ok "wrong master key is refused"

mapfile -t segs < <(vec sign_por_ok sms_user_data)
run ud_incomplete 1 "$ADMIN" decode-ud --mk $MK --iccid $ICCID "${segs[0]}" "${segs[2]}"
must_grep ud_incomplete "$T/ud_incomplete.err" 'incomplete'
ok "incomplete set is refused"

run ud_nomk_iccid 2 "$ADMIN" decode-ud --mk $MK "${segs[0]}"
ok "keys without --iccid is a usage error"

# ---- decode-pdu ---------------------------------------------------------------
for name in admin_pdu_deliver_sm_por admin_pdu_submit_sm_seg1 admin_pdu_enquire_link; do
    run "$name" 0 "$ADMIN" decode-pdu "$(cat "$DATA/admin_${name#admin_pdu_}.hex")"
    golden "$name"
done
must_grep deliver_sm "$T/admin_pdu_deliver_sm_por.out" 'source_addr  *8496\*\*\*\*567 (masked'
if grep -q 84961234567 "$T/admin_pdu_deliver_sm_por.out"; then fail "decode-pdu printed a number unmasked"; fi
run pdu_unmask 0 "$ADMIN" decode-pdu --unmask "$(cat "$DATA/admin_deliver_sm_por.hex")"
must_grep pdu_unmask "$T/pdu_unmask.out" '"84961234567"'
ok "decode-pdu masks numbers unless --unmask"

run hostile_tlvs 1 "$ADMIN" decode-pdu "$(cat "$DATA/admin_hostile_100_tlvs.hex")"
must_grep hostile_tlvs "$T/hostile_tlvs.err" 'refused.*more than 16 TLVs'
ok "100 TLVs refused by the pre-check"
run hostile_trunc 1 "$ADMIN" decode-pdu "$(cat "$DATA/admin_hostile_100_tlvs_truncated.hex")"
must_grep hostile_trunc "$T/hostile_trunc.err" 'refused: truncated: command_length is 489'
ok "truncated PDU refused"
run hostile_unterm 1 "$ADMIN" decode-pdu "$(cat "$DATA/admin_hostile_unterminated.hex")"
must_grep hostile_unterm "$T/hostile_unterm.err" 'refused.*not NUL-terminated'
ok "unterminated C-octet string refused"
run hostile_len 1 "$ADMIN" decode-pdu "$(cat "$DATA/admin_hostile_length.hex")"
must_grep hostile_len "$T/hostile_len.err" 'command_length 2147483647 is impossible'
ok "impossible command_length refused"
run hostile_hex 1 "$ADMIN" decode-pdu 0000001g
must_grep hostile_hex "$T/hostile_hex.err" 'not a PDU in hex'
ok "non-hex refused"

# ---- hash-key -------------------------------------------------------------------
TOKEN='s3cr3t-T0ken_for/test'
want=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
run hash_arg 0 "$ADMIN" hash-key "$TOKEN"
[ "$(cat "$T/hash_arg.out")" = "$want" ] || fail "hash-key TOKEN: $(cat "$T/hash_arg.out") != $want"
printf '%s\n' "$TOKEN" >"$T/token"
run hash_stdin 0 "$ADMIN" hash-key - <"$T/token"
[ "$(cat "$T/hash_stdin.out")" = "$want" ] || fail "hash-key - : $(cat "$T/hash_stdin.out") != $want"
ok "hash-key matches sha256sum"
run hash_gen 0 "$ADMIN" hash-key
gen_tok=$(awk '$1 == "token" { print $2 }' "$T/hash_gen.out")
gen_sha=$(awk '$1 == "sha256" { print $2 }' "$T/hash_gen.out")
[[ "$gen_tok" =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "generated token '$gen_tok' is not 43 base64url characters"
[ "$(printf %s "$gen_tok" | sha256sum | cut -d' ' -f1)" = "$gen_sha" ] || fail "generated token hash mismatch"
must_grep hash_gen "$T/hash_gen.err" 'store it safely'
ok "hash-key generates a 32-octet token and its hash"

# ---- registry against a real redis-server ------------------------------------------
start_redis || fail "could not start redis-server on a free port"
R() { redis-cli -p "$REDIS_PORT" "$@"; }
subkeys() { R --scan --pattern '*sub:*' | sort; }
ok "redis-server on 127.0.0.1:$REDIS_PORT"

# A tiny PKI: root CA, leaves with nonRepudiation, one from an untrusted root, one without the usage.
cd "$T"
cat >ca.cnf <<'EOF'
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_auth]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
mkca() { # mkca NAME CN
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
        -days 30 -subj "/CN=$2" -config ca.cnf -extensions v3_ca 2>>openssl.log
}
mkleaf() { # mkleaf NAME CN CA EXT
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
        -subj "/CN=$2" 2>>openssl.log
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -days 10 -out "$1.pem" \
        -extfile ca.cnf -extensions "$4" 2>>openssl.log
    openssl x509 -in "$1.pem" -outform DER -out "$1.der"
}
mkca root "simpki test root"
mkca rogue "rogue root"
mkleaf leaf1 "Nguyen Van A" root v3_leaf
mkleaf leaf2 "Tran Thi B" root v3_leaf
mkleaf leaf3 "Le Van C" root v3_leaf
mkleaf leaf4 "Pham Van D" root v3_leaf
mkleaf evil "Mallory" rogue v3_leaf
mkleaf authonly "Auth Only" root v3_auth
cp leaf4.der "leaf, four.der" # a name that needs CSV quoting
ok "test PKI generated"

cat >simpki.json <<EOF
{
  "trust_anchors": "$T/root.pem",
  "redis": {"host": "127.0.0.1", "port": $REDIS_PORT, "shards": 4},
  "carriers": [{"name": "viettel", "service_number": "8088", "ota_master_key": "$MK"}],
  "api_keys": [{"name": "test-rp", "sha256": "$want"}]
}
EOF
A() { "$ADMIN" -c "$T/simpki.json" "$@"; }

# decode-ud with the configured carrier's key gives the same output as --mk.
mapfile -t segs < <(vec sign_por_user_cancel sms_user_data)
run admin_ud_carrier 0 A decode-ud --carrier viettel --iccid $ICCID "${segs[@]}"
diff -u "$T/admin_ud_sign_por_user_cancel.out" "$T/admin_ud_carrier.out" || fail "--carrier output differs from --mk"
ok "decode-ud --carrier uses the configured master key"
run ud_nocarrier 1 A decode-ud --carrier mobifone --iccid $ICCID "${segs[@]}"
must_grep ud_nocarrier "$T/ud_nocarrier.err" 'not configured'

# 1. A file with bad rows imports nothing, and says which rows and why.
cat >bad.json <<EOF
[
  {"msisdn": "0981234567", "carrier": "viettel", "iccid": "8984040000000000058", "kv": 1, "cert_file": "leaf1.pem"},
  {"msisdn": "0981234001", "iccid": "12345", "kv": 1, "cert_file": "leaf2.pem"},
  {"msisdn": "0981234002", "iccid": "8984040000000000066", "kv": 16, "cert_file": "evil.der", "status": "gone"},
  {"msisdn": "0981234003", "iccid": "8984040000000000066", "kv": 1, "cert_file": "authonly.der"},
  {"msisdn": "12345", "iccid": "8984040000000000066", "kv": 1, "cert_file": "leaf3.pem"},
  {"msisdn": "0981234004", "carrier": "viettel", "cert_file": "leaf3.pem"}
]
EOF
run import_bad 1 A import "$T/bad.json"
must_grep import_bad "$T/import_bad.err" '^row 2 (msisdn 8498\*\*\*\*001): iccid: must be 18-20 digits'
must_grep import_bad "$T/import_bad.err" '^row 3 (msisdn 8498\*\*\*\*002): kv: must be a key version 1..15'
must_grep import_bad "$T/import_bad.err" '^row 3 (msisdn 8498\*\*\*\*002): status: must be active, suspended or revoked'
must_grep import_bad "$T/import_bad.err" '^row 3 (msisdn 8498\*\*\*\*002): cert: '
must_grep import_bad "$T/import_bad.err" '^row 4 (msisdn 8498\*\*\*\*003): cert: '
must_grep import_bad "$T/import_bad.err" '^row 5 (msisdn .*): msisdn: '
# No ICCID: optional only for a carrier served over an MSSP alone (e2e_etsi_reg imports one); viettel has OTA keys.
must_grep import_bad "$T/import_bad.err" '^row 6 (msisdn 8498\*\*\*\*004): iccid: is required'
must_grep import_bad "$T/import_bad.err" '^row 6 (msisdn 8498\*\*\*\*004): kv: is required'
must_grep import_bad "$T/import_bad.err" 'nothing was imported'
if grep -q '^row 1 ' "$T/import_bad.err"; then fail "row 1 is valid but was reported"; fi
[ -z "$(subkeys)" ] || fail "a failed import wrote: $(subkeys)"
ok "a file with bad rows imports nothing and reports each row"

# 1b. Duplicates, typos in field names and broken CSV quoting are row errors too.
printf '%s\n' 'msisdn,iccid,kv,cert_file' '0961234567,8984040000000000025,1,leaf1.pem' \
    '84961234567,8984040000000000025,1,leaf1.pem' >dup.csv
run import_dup 1 A import "$T/dup.csv"
must_grep import_dup "$T/import_dup.err" '^row 2 (msisdn 8496\*\*\*\*567): msisdn: duplicate of row 1'
printf '[{"msisdn": "0961234567", "iccd": "8984040000000000025"}]' >typo.json
run import_typo 1 A import "$T/typo.json"
must_grep import_typo "$T/import_typo.err" 'row: unknown field "iccd"'
printf '%s\n' 'msisdn,iccid,kv,cert_file' '"0961234567,8984040000000000025,1,leaf1.pem' >quote.csv
run import_quote 1 A import "$T/quote.csv"
must_grep import_quote "$T/import_quote.err" 'quote is unterminated'
[ -z "$(subkeys)" ] || fail "a failed import wrote: $(subkeys)"
ok "duplicates, unknown fields and broken quotes are refused"

# 2. Dry run validates and writes nothing.
cat >good.json <<EOF
[
  {"msisdn": "0961234567", "carrier": "viettel", "iccid": "$ICCID", "kv": 1, "cert_file": "leaf1.pem",
   "status": "active"},
  {"msisdn": "+84 912 345 678", "carrier": "", "iccid": "8984020000000000037", "kv": "2",
   "cert": "$(base64 -w0 leaf2.der)", "status": "suspended"}
]
EOF
run import_dry 0 A import --dry-run "$T/good.json"
must_grep import_dry "$T/import_dry.out" '2 subscribers valid'
[ -z "$(subkeys)" ] || fail "a dry run wrote: $(subkeys)"
ok "dry run writes nothing"

# 3. JSON import; the vector ICCID has a bad Luhn digit: a warning, not a failure.
run import_json 0 A import "$T/good.json"
must_grep import_json "$T/import_json.out" '^imported 2 subscribers$'
must_grep import_json "$T/import_json.err" 'warning: row 1 (msisdn 8496\*\*\*\*567): iccid: the Luhn check digit is wrong'
[ "$(subkeys | wc -l)" = 2 ] || fail "after JSON import: $(subkeys)"
subkeys | grep -q ':sub:84961234567$' || fail "84961234567 not in redis: $(subkeys)"
subkeys | grep -q ':sub:84912345678$' || fail "84912345678 not in redis: $(subkeys)"
ok "JSON import wrote 2 subscribers"

# 4. CSV import with quoting, CRLF, a ported number (warning) and a PEM and a DER file.
printf '%s\r\n' 'msisdn,carrier,iccid,kv,cert_file,status' \
    '0971234567,viettel,8984040000000000025,3,leaf3.pem,active' \
    '"0901234567","viettel","8984010000000000047","1","leaf, four.der",revoked' >good.csv
run import_csv 0 A import "$T/good.csv"
must_grep import_csv "$T/import_csv.out" '^imported 2 subscribers$'
must_grep import_csv "$T/import_csv.err" 'warning: row 2 (msisdn 8490\*\*\*\*567): carrier: viettel differs from prefix routing (mobifone)'
[ "$(subkeys | wc -l)" = 4 ] || fail "after CSV import: $(subkeys)"
ok "CSV import wrote 2 more subscribers"

# 5. show prints the record, unmasked: the operator asked for it.
run show 0 A show 0901234567
must_grep show "$T/show.out" '^msisdn  *84901234567$'
must_grep show "$T/show.out" '^carrier  *viettel (set in the registry)$'
must_grep show "$T/show.out" '^iccid  *8984010000000000047$'
must_grep show "$T/show.out" '^kv  *1$'
must_grep show "$T/show.out" '^status  *revoked$'
must_grep show "$T/show.out" 'subject .*CN=Pham Van D'
must_grep show "$T/show.out" 'issuer .*CN=simpki test root'
must_grep show "$T/show.out" 'serial  *[0-9A-Fa-f]'
must_grep show "$T/show.out" 'not after  *20[0-9][0-9]-'
must_grep show "$T/show.out" 'check now  *ok'
serial=$(openssl x509 -in leaf4.pem -noout -serial | cut -d= -f2)
grep -qi "serial *$serial" "$T/show.out" || fail "show: serial is not $serial"
run show2 0 A show 84912345678
must_grep show2 "$T/show2.out" '^carrier  *vinaphone (by prefix)$'
must_grep show2 "$T/show2.out" '^status  *suspended$'
must_grep show2 "$T/show2.out" 'CN=Tran Thi B'
ok "show prints the record"

# 6. delete, then it is gone; deleting again fails.
run delete 0 A delete 0971234567
[ "$(subkeys | wc -l)" = 3 ] || fail "after delete: $(subkeys)"
run show_gone 1 A show 0971234567
must_grep show_gone "$T/show_gone.err" 'no such subscriber'
run delete_again 1 A delete 0971234567
ok "delete removes the entry"

# 7. Re-import replaces an entry (status change) without touching the others.
printf '%s\n' 'msisdn,carrier,iccid,kv,cert_file,status' \
    '0961234567,viettel,8984040000000000019,2,leaf1.pem,suspended' >update.csv
run import_update 0 A import "$T/update.csv"
run show3 0 A show 0961234567
must_grep show3 "$T/show3.out" '^kv  *2$'
must_grep show3 "$T/show3.out" '^status  *suspended$'
[ "$(subkeys | wc -l)" = 3 ] || fail "after update: $(subkeys)"
ok "re-import replaces an entry"

# 7b. The cs column (the number moved onto the SIM PKI): 0/1, or the carrier written "viettel/cs".
shard_of() { R --scan --pattern "*:sub:$1"; }
printf '%s\n' 'msisdn,carrier,iccid,kv,cert_file,cs' \
    '0981234567,viettel,8984040000000000058,1,leaf2.pem,2' \
    '0981234568,Viettel/cs,8984040000000000058,1,leaf2.pem,0' >cs_bad.csv
run import_cs_bad 1 A import "$T/cs_bad.csv"
must_grep import_cs_bad "$T/import_cs_bad.err" '^row 1 (msisdn 8498\*\*\*\*567): cs: must be 0 or 1'
must_grep import_cs_bad "$T/import_cs_bad.err" '^row 2 (msisdn 8498\*\*\*\*568): cs: is 0 but the carrier is written with /cs'
[ "$(subkeys | wc -l)" = 3 ] || fail "a failed cs import wrote: $(subkeys)"
printf '%s\n' 'msisdn,carrier,iccid,kv,cert_file,cs' \
    '0981234567,viettel,8984040000000000058,1,leaf2.pem,1' \
    '0981234568,Viettel/cs,8984040000000000058,1,leaf2.pem,' \
    '0961234567,viettel,8984040000000000019,2,leaf1.pem,0' >cs.csv
run import_cs 0 A import "$T/cs.csv"
[ "$(R HGET "$(shard_of 84981234567)" cs)" = 1 ] || fail "cs column 1: no cs field"
[ "$(R HGET "$(shard_of 84981234568)" cs)" = 1 ] || fail "carrier viettel/cs: no cs field"
[ "$(R HGET "$(shard_of 84981234568)" net)" = "$(R HGET "$(shard_of 84961234567)" net)" ] ||
    fail "carrier viettel/cs: not routed to viettel"
[ "$(R HEXISTS "$(shard_of 84961234567)" cs)" = 0 ] || fail "cs 0 wrote a cs field"
run show_cs 0 A show 0981234568
must_grep show_cs "$T/show_cs.out" '^sim pki  *yes (cs)'
run show_nocs 0 A show 0961234567
if grep -q '^sim pki' "$T/show_nocs.out"; then fail "show: sim pki on a number without cs"; fi
# A re-import without the column takes the number off again; JSON takes 1, true, "1".
printf '[{"msisdn": "0981234567", "carrier": "viettel", "iccid": "8984040000000000058", "kv": 1, "cert_file": "leaf2.pem"},
 {"msisdn": "0961234567", "carrier": "viettel", "iccid": "8984040000000000019", "kv": 2, "cert_file": "leaf1.pem", "cs": true},
 {"msisdn": "0971234567", "carrier": "viettel", "iccid": "8984040000000000025", "kv": 3, "cert_file": "leaf3.pem", "cs": 1}]' >cs.json
run import_cs_json 0 A import "$T/cs.json"
[ "$(R HEXISTS "$(shard_of 84981234567)" cs)" = 0 ] || fail "re-import without cs kept the cs field"
[ "$(R HGET "$(shard_of 84961234567)" cs)" = 1 ] || fail "JSON cs true: no cs field"
[ "$(R HGET "$(shard_of 84971234567)" cs)" = 1 ] || fail "JSON cs 1: no cs field"
ok "the cs column and viettel/cs write the registry's cs field, show prints it"

# 8. Redis down: a clear error, exit 1.
stop_redis
run show_down 1 A show 0961234567
must_grep show_down "$T/show_down.err" 'redis'
ok "redis down is reported"

finish
