#!/usr/bin/env bash
# test_enrol_import.sh - simpki-admin import-requests against hostile and large
# input and a real throwaway redis-server:
#   - 100,000 generated rows with a few broken ones (bad quoting, wrong column
#     count, a Vietnamobile number, a CCCD that contradicts the birth date, a
#     Gmail address): refused, every bad row reported by row or line, no ID or
#     phone number in the report, nothing written;
#   - the same 100,000 rows all valid: imported in one transaction, counted
#     with ZCARD, the time printed (not asserted);
#   - a small file with Vietnamese text, doubled quotes, embedded line breaks,
#     a BOM and CRLF: read back with redis-cli GET, equal field by field;
#   - --dry-run writes nothing; bad headers and --form mismatches are refused.
#
#   bash test_enrol_import.sh path/to/simpki-admin
#
# ROWS=N changes the size of the big file; KEEP_TMP=1 keeps the scratch directory.
# Runs on tests/integration/lib.sh, which needs SRC, SIMPKID, SIMPKI_ADMIN and
# SIMPKI_SIM in the environment (tests/gateway/CMakeLists.txt passes them).
set -euo pipefail

ADMIN=${1:?usage: test_enrol_import.sh SIMPKI_ADMIN}
ADMIN=$(cd "$(dirname "$ADMIN")" && pwd)/$(basename "$ADMIN") # the test runs in its scratch directory
ROWS=${ROWS:-100000}

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
    if grep -q -e 'AddressSanitizer' -e 'runtime error' -e 'LeakSanitizer' "$T/$name.err"; then
        head -50 "$T/$name.err" >&2
        fail "$name: sanitizer report"
    fi
    if [ "$rc" != "$want" ]; then
        echo "--- stdout" >&2; head -20 "$T/$name.out" >&2
        echo "--- stderr" >&2; head -40 "$T/$name.err" >&2
        fail "$name: exit $rc, expected $want"
    fi
}

must_grep() { # must_grep NAME FILE PATTERN
    grep -q -e "$3" "$2" || { head -40 "$2" >&2; fail "$1: no '$3' in $(basename "$2")"; }
}
must_not_grep() { # must_not_grep NAME FILE PATTERN
    if grep -q -e "$3" "$2"; then grep -e "$3" "$2" | head -5 >&2; fail "$1: '$3' in $(basename "$2")"; fi
}

# ---- a throwaway redis-server on a free loopback port -------------------------
start_redis || fail "could not start redis-server on a free port"
R() { redis-cli -p "$REDIS_PORT" "$@"; }
INDEX='spk:{enr}:reqs'
ok "redis-server on 127.0.0.1:$REDIS_PORT"

# ---- a minimal configuration -----------------------------------------------------
cd "$T"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
    -days 30 -subj "/CN=simpki test root" 2>openssl.log
cat >simpki.json <<EOF
{
  "trust_anchors": "$T/root.pem",
  "redis": {"host": "127.0.0.1", "port": $REDIS_PORT, "shards": 4},
  "carriers": [{"name": "viettel", "service_number": "8088", "ota_master_key": "000102030405060708090a0b0c0d0e0f"}],
  "api_keys": [{"name": "test-rp", "sha256": "$(printf 'not a key' | sha256sum | cut -d' ' -f1)"}]
}
EOF
A() { "$ADMIN" -c "$T/simpki.json" "$@"; }

# ---- the big file ----------------------------------------------------------------
# gen ROWS BROKEN: one Mẫu 01 per row, valid unless its row number is in the
# comma-separated BROKEN list, where kind = row % 6 picks the fault.
HEADER='form,unit,place,date,subscriber.full_name,subscriber.birth_date,subscriber.id_number,subscriber.position,subscriber.email,subscriber.phone,sim_pki'
gen() {
    awk -v rows="$1" -v broken="$2" -v header="$HEADER" 'BEGIN {
        split("Nguyễn Trần Lê Phạm Hoàng Vũ Đặng Bùi Đỗ Hồ", ho, " ")
        split("Văn Thị Hữu Minh Thu Quốc Ngọc Thanh", dem, " ")
        split("An Bình Chi Dũng Giang Hà Hùng Khánh Linh Nhung Phương Quân Sơn Trang Yến", ten, " ")
        n = split(broken, b, ","); for (k = 1; k <= n; k++) bad[b[k]] = 1
        printf "%s\r\n", header
        for (i = 1; i <= rows; i++) {
            yy = 60 + i % 40; d = 1 + i % 28; m = 1 + i % 12
            name = ho[1 + i % 10] " " dem[1 + int(i / 10) % 8] " " ten[1 + int(i / 80) % 15]
            id = sprintf("001%d%02d%06d", i % 2, yy, i % 1000000)
            phone = sprintf("098%07d", i % 10000000)
            mail = sprintf("u%d@bacninh.gov.vn", i)
            unit = "\"Sở Nội vụ, tỉnh Bắc Ninh\""
            if (bad[i]) {
                k = i % 6
                if (k == 0) { printf "person_new,Sở \"Nội\" vụ,Bắc Ninh\r\n"; continue }       # stray quote
                if (k == 1) { printf "person_new,Sở Nội vụ,Bắc Ninh,05/03/2026\r\n"; continue } # 4 fields
                if (k == 2) phone = sprintf("052%07d", i % 10000000)                          # Vietnamobile
                if (k == 3) id = sprintf("001%d%02d%06d", i % 2, (yy + 1) % 100, i % 1000000) # CCCD year
                if (k == 4) mail = sprintf("u%d@gmail.com", i)                                # personal mail
                if (k == 5) { printf "person_new,\"Sở Nội vụ\"x,Bắc Ninh\r\n"; continue }     # text after quote
            }
            printf "person_new,%s,Bắc Ninh,05/03/2026,%s,%02d/%02d/19%02d,%s,Chuyên viên,%s,%s,Viettel\r\n",
                unit, name, d, m, yy, id, mail, phone
        }
    }'
}
# One of each fault, spread through the file (row numbers, so lines are +1).
BROKEN="12,17,5000,7777,33333,$((ROWS - 6))"
t0=$(date +%s.%N)
gen "$ROWS" "$BROKEN" >big-bad.csv
gen "$ROWS" "" >big.csv
t1=$(date +%s.%N)
[ "$(wc -l <big.csv)" -eq $((ROWS + 1)) ] || fail "generator wrote $(wc -l <big.csv) lines"
ok "generated 2 x $ROWS rows in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

run big_bad 1 A import-requests big-bad.csv
for r in ${BROKEN//,/ }; do
    case $((r % 6)) in
    0 | 1 | 5) must_grep big_bad "$T/big_bad.err" "^line $((r + 1)): MALFORMED_LINE: " ;;
    2) must_grep big_bad "$T/big_bad.err" "^row $r (subscriber.phone): NOT_SIM_PKI_NETWORK: " ;;
    3) must_grep big_bad "$T/big_bad.err" "^row $r (subscriber.id_number): CCCD_BIRTH_YEAR_MISMATCH: " ;;
    4) must_grep big_bad "$T/big_bad.err" "^row $r (subscriber.email): EMAIL_PERSONAL_DOMAIN: " ;;
    esac
done
nbad=$(echo "$BROKEN" | tr ',' '\n' | wc -l)
must_grep big_bad "$T/big_bad.err" "^error: $nbad of $ROWS rows are invalid"
[ "$(grep -c -e '^row ' -e '^line ' "$T/big_bad.err")" -eq "$nbad" ] || fail "big_bad: more findings than broken rows"
ok "every broken row reported by row or line, and nothing else"
# The report never holds a cell: no ID number, no phone number (any 9+ digit run).
must_not_grep big_bad "$T/big_bad.err" '[0-9]\{9,\}'
ok "no ID or phone number in the report"
[ "$(R DBSIZE)" = 0 ] || fail "something was written: DBSIZE $(R DBSIZE)"
ok "nothing written for a file with bad rows"
if [ ! -t 2 ]; then
    must_grep big_bad "$T/big_bad.err" "^checked 10000/$ROWS rows ("
    ok "progress line every 10,000 rows when stderr is not a terminal"
fi

t0=$(date +%s.%N)
run big_ok 0 A import-requests big.csv
t1=$(date +%s.%N)
must_grep big_ok "$T/big_ok.out" "^imported $ROWS requests from big.csv"
[ "$(R ZCARD "$INDEX")" = "$ROWS" ] || fail "ZCARD $(R ZCARD "$INDEX"), expected $ROWS"
[ "$(R DBSIZE)" = $((ROWS + 1)) ] || fail "DBSIZE $(R DBSIZE), expected $((ROWS + 1))"
ok "$ROWS requests imported and indexed"
echo "# import of $ROWS rows: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s wall; $(cat "$T/big_ok.out")"

# The first and last rows, in file order in the index (newest last), as the API stores them.
first=$(R ZRANGE "$INDEX" 0 0)
last=$(R ZRANGE "$INDEX" -1 -1)
R GET "spk:{enr}:req:$first" >first.json
R GET "spk:{enr}:req:$last" >last.json
jq -e --arg id "$first" '.id == $id and .state == "submitted" and .rev == 1 and .created_by == "import:big.csv"
    and .history == [{"state": "submitted", "at": .created_at, "by": "import:big.csv"}] and .warnings == []
    and .request.subscriber.email == "u1@bacninh.gov.vn" and .request.subscriber.birth_date == "1961-02-02"
    and .request.date == "2026-03-05" and .request.subscriber.full_name == "TRẦN VĂN AN"' first.json >/dev/null ||
    { cat first.json >&2; fail "row 1 stored wrong"; }
jq -e ".request.subscriber.email == \"u$ROWS@bacninh.gov.vn\"" last.json >/dev/null ||
    { cat last.json >&2; fail "the last row is not last in the index"; }
ok "stored documents: state submitted, rev 1, history, created_by import:big.csv, normalised, file order"

# ---- Vietnamese text, quotes, embedded line breaks, BOM, CRLF --------------------
R FLUSHALL >/dev/null
{
    printf '\xef\xbb\xbf'
    printf 'form,unit,parent_unit,doc_no,place,date,subscriber.full_name,subscriber.id_number,subscriber.position,sim_pki,certificate.serial,reason\r\n'
    printf 'revoke,"Văn phòng UBND, tỉnh ""Bắc Ninh""",UBND TỈNH BẮC NINH,12/VP-HCTC,Bắc Ninh,2026-03-05,'
    printf 'lê  thị  thu hà,001186004512,"Phó Chánh\nVăn phòng",mobifone,0a:1b:2c:3d,"Mất SIM; ""đề nghị"" thu hồi\ngấp, trong ngày"\r\n'
    printf 'handover,Sở Tư pháp,,,Hà Nội,,,,,,,\r\n'
} >small.csv
# The handover row needs devices: a second file shape would do, but --form must also be refused here.
run small_bad 1 A import-requests small.csv
must_grep small_bad "$T/small_bad.err" '^row 2 (devices): REQUIRED: '
[ "$(R DBSIZE)" = 0 ] || fail "small_bad wrote something"
ok "one missing field in the last row: nothing written"

{
    printf '\xef\xbb\xbf'
    printf 'form,unit,parent_unit,doc_no,place,date,subscriber.full_name,subscriber.id_number,subscriber.position,sim_pki,certificate.serial,reason,devices[0].serial,devices[0].cert_name,devices[1].serial\r\n'
    printf 'revoke,"Văn phòng UBND, tỉnh ""Bắc Ninh""",UBND TỈNH BẮC NINH,12/VP-HCTC,Bắc Ninh,2026-03-05,'
    printf 'lê  thị  thu hà,001186004512,"Phó Chánh\nVăn phòng",mobifone,0a:1b:2c:3d,"Mất SIM; ""đề nghị"" thu hồi\ngấp, trong ngày",,,\r\n'
    printf 'handover,Sở Tư pháp,,,Hà Nội,,,,,,,,5404FFFE,"Chứng thư ""Sở Tư pháp""",\r\n'
} >small.csv
run small_dry 0 A import-requests --dry-run small.csv
must_grep small_dry "$T/small_dry.out" '^2 requests valid .*dry run, nothing written'
[ "$(R DBSIZE)" = 0 ] || fail "--dry-run wrote something"
ok "--dry-run checks and writes nothing"

run small 0 A import-requests small.csv
[ "$(R ZCARD "$INDEX")" = 2 ] || fail "ZCARD $(R ZCARD "$INDEX"), expected 2"
R GET "spk:{enr}:req:$(R ZRANGE "$INDEX" 0 0)" >revoke.json
R GET "spk:{enr}:req:$(R ZRANGE "$INDEX" 1 1)" >handover.json
jq -e '.created_by == "import:small.csv" and .request == {
    "form": "revoke", "unit": "Văn phòng UBND, tỉnh \"Bắc Ninh\"", "parent_unit": "UBND TỈNH BẮC NINH",
    "doc_no": "12/VP-HCTC", "place": "Bắc Ninh", "date": "2026-03-05",
    "subscriber": {"full_name": "LÊ THỊ THU HÀ", "id_number": "001186004512", "position": "Phó Chánh\nVăn phòng"},
    "sim_pki": "Mobifone", "certificate": {"serial": "0A1B2C3D"},
    "reason": "Mất SIM; \"đề nghị\" thu hồi\ngấp, trong ngày"}' revoke.json >/dev/null ||
    { cat revoke.json >&2; fail "revoke row read back differs"; }
jq -e '.request == {"form": "handover", "unit": "Sở Tư pháp", "place": "Hà Nội",
    "devices": [{"serial": "5404FFFE", "cert_name": "Chứng thư \"Sở Tư pháp\""}]}' handover.json >/dev/null ||
    { cat handover.json >&2; fail "handover row read back differs"; }
ok "Vietnamese, doubled quotes and embedded line breaks read back equal through redis-cli GET"
[ "$(R XLEN 'spk:{enr}:ev')" = 0 ] || fail "events appended without an archive section"

# With the archive on, the same import appends each request's event (docs/archive.md), in the
# same transaction: eid <id>.1, the document as stored.
R FLUSHALL >/dev/null
jq '.archive = {conninfo: "host=/nonexistent dbname=simpki"}' simpki.json >simpki-ar.json
run small_ar 0 "$ADMIN" -c "$T/simpki-ar.json" import-requests small.csv
[ "$(R XLEN 'spk:{enr}:ev')" = 2 ] || fail "archive on: XLEN $(R XLEN 'spk:{enr}:ev'), expected 2 events"
for id in $(R ZRANGE "$INDEX" 0 -1); do
    R --raw XRANGE 'spk:{enr}:ev' - + >events.txt
    grep -qx "$id.1" events.txt || fail "no event $id.1"
    R --raw GET "spk:{enr}:req:$id" >doc.txt
    grep -qF "$(head -c 60 doc.txt)" events.txt || fail "event of $id does not hold its document"
done
ok "archive on: one request event per imported request, with its document"

# ---- refusals of the file itself -------------------------------------------------
R FLUSHALL >/dev/null
printf 'form,unit,subscrber.full_name\nperson_new,X,An\n' >typo.csv
run typo 1 A import-requests typo.csv
must_grep typo "$T/typo.err" '^line 1 (subscrber.full_name): UNKNOWN_COLUMN: '
printf 'unit,subscriber.full_name,subscriber.full_name\nX,An,An\n' >dup.csv
run dup 1 A import-requests --form revoke dup.csv
must_grep dup "$T/dup.err" 'BAD_HEADER: columns 2 and 3'
printf 'unit,subscriber.full_name\nX,An\n' >noform.csv
run noform 1 A import-requests noform.csv
must_grep noform "$T/noform.err" 'no form column'
printf 'form,unit,subscriber.full_name,certificate.serial,reason\nrevoke,X,An,0A,lost\nperson_new,X,An,,\n' >mismatch.csv
run mismatch 1 A import-requests --form revoke mismatch.csv
must_grep mismatch "$T/mismatch.err" '^row 2 (form): FORM_MISMATCH: '
printf 'form,unit,reason\nrevoke,"X,lost\n' >unterminated.csv
run unterminated 1 A import-requests unterminated.csv
must_grep unterminated "$T/unterminated.err" '^line 2: UNTERMINATED_QUOTE: '
printf 'form,unit\nrevoke,\xff\xfe\n' >latin.csv
run latin 1 A import-requests latin.csv
must_grep latin "$T/latin.err" '^row 1 (unit): INVALID_FIELD: not UTF-8'
run badform 2 A import-requests --form mau99 small.csv
run nofile 1 A import-requests "$T/no-such.csv"
[ "$(R DBSIZE)" = 0 ] || fail "a refused file wrote something"
ok "bad headers, --form mismatches, unterminated quotes, non-UTF-8 and missing files refused"

finish
