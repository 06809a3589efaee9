#!/usr/bin/env bash
# test_admin_plan.sh - simpki-admin plan against plan_stub.py, a stand-in for
# the daemon's /v1/plans (gateway/merge/gw_plan.h's shapes, none of its rules):
# what the CLI prints, its exit codes, and what it sent (the stub records every
# request).  The end-to-end run against the real daemon is e2e's.
#
#   bash test_admin_plan.sh path/to/simpki-admin
#
# KEEP_TMP=1 keeps the scratch directory.  Runs on tests/integration/lib.sh
# (SRC, SIMPKID, SIMPKI_ADMIN, SIMPKI_SIM in the environment).
set -euo pipefail

ADMIN=${1:?usage: test_admin_plan.sh SIMPKI_ADMIN}
HERE=$(cd "$(dirname "$0")" && pwd)

export ASAN_OPTIONS=${ASAN_OPTIONS:-}:exitcode=86
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-}:halt_on_error=1:exitcode=87

. "$HERE/../integration/lib.sh"
fail() {
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
    ok "$name: exit $want"
}
has() { # has NAME out|err FIXED-STRING
    grep -qF -e "$3" "$T/$1.$2" || { cat "$T/$1.$2" >&2; fail "$1: no '$3' in its std$2"; }
}
hasnt() {
    ! grep -qF -e "$3" "$T/$1.$2" || { cat "$T/$1.$2" >&2; fail "$1: '$3' in its std$2"; }
}
# The stub's log: how many requests so far, and a Python expression over the last one.
nreq() { wc -l <"$T/stub.log"; }
last() { # last PYEXPR (r = the last request)
    python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; sys.exit(0 if eval(sys.argv[2]) else 1)' \
        "$T/stub.log" "$1" || { tail -n 1 "$T/stub.log" >&2; fail "last request: not $1"; }
}

cd "$T"
: >stub.log
python3 "$HERE/plan_stub.py" "$T/stub.port" "$T/stub.log" 2>"$T/stub.log.err" &
PIDS+=($!)
wait_for 20 test -s "$T/stub.port" || fail "plan_stub.py did not start"
API=http://127.0.0.1:$(cat "$T/stub.port")
P() { "$ADMIN" plan --api "$API" "$@"; }
export SIMPKI_API_KEY=operator-key

cat >reorg.csv <<'EOF'
old_unit,new_unit,province,basis,basis_date,effective
UBND xã Tân Lập,UBND xã Tân Thành,Tuyên Quang,Nghị quyết 202/2025/QH15,2025-06-12,2025-07-01
EOF
cat >staff.csv <<'EOF'
id_number,full_name,old_unit,new_unit,leader,state_sector
001234567890,"Nguyễn Văn Ánh, ""Ánh""",UBND xã Tân Lập,UBND xã Tân Thành,có,có
EOF

# ---- where the daemon is, and the key
run no_api 2 env -u SIMPKI_API_KEY "$ADMIN" plan list
has no_api err "give --api URL, or -c CONFIG"
run key_on_cmdline 2 P list --key operator-key
has key_on_cmdline err "never taken from the command line"
run no_key 2 env -u SIMPKI_API_KEY "$ADMIN" plan --api "$API" list
has no_key err "--key-file FILE or set SIMPKI_API_KEY"
[ "$(nreq)" = 0 ] || fail "a request was sent without a key"
ok "nothing sent without a key"
printf 'operator-key\n' >op.key
chmod 600 op.key
run key_file 0 env -u SIMPKI_API_KEY "$ADMIN" plan --api "$API" --key-file op.key list
last 'r["authorization"] == "Bearer operator-key"'
has key_file out "no plans"
ok "--key-file's first line is the bearer token"
run key_401 1 env SIMPKI_API_KEY=wrong-key "$ADMIN" plan --api "$API" list
has key_401 err "the daemon refused the API key (401)"
hasnt key_401 err "wrong-key"
run key_403 1 env SIMPKI_API_KEY=signer-key "$ADMIN" plan --api "$API" list
has key_403 err "lacks the operator role (403)"
DOWN=$(free_port)
run unreachable 1 "$ADMIN" plan --api "http://127.0.0.1:$DOWN" list
has unreachable err "the daemon at http://127.0.0.1:$DOWN cannot be reached"
run bad_url 2 "$ADMIN" plan --api "ftp://x/" list
# -c CONFIG: the daemon's listen address (0.0.0.0 is reached on the loopback).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
    -subj "/CN=plan test root" -days 2 2>/dev/null
cat >simpki.json <<EOF
{"listen_host": "0.0.0.0", "listen_port": $(cat stub.port), "trust_anchors": "$T/root.pem",
 "api_keys": [{"name": "ops", "sha256": "$(printf operator-key | sha256sum | cut -c1-64)"}]}
EOF
n0=$(nreq)
run from_config 0 "$ADMIN" -c simpki.json plan list
[ "$(nreq)" -gt "$n0" ] || fail "-c CONFIG did not reach the stub"
ok "-c CONFIG: the API at the configured listen address"

# ---- build: refused files never leave the machine
n0=$(nreq)
run bad_deadline 2 P build --reorg reorg.csv --staff staff.csv --name X --deadline 2026-02-30
truncate -s 65M big.csv
run too_large 1 P build --reorg big.csv --staff staff.csv --name X --deadline 2026-12-31
has too_large err "more than the 64 MB"
printf 'id_number,full_name\n001234567890,Nguy\xe1n\n' >latin.csv
run not_utf8 1 P build --reorg reorg.csv --staff latin.csv --name X --deadline 2026-12-31
has not_utf8 err "--staff latin.csv line 2: not UTF-8 text"
run missing_opt 2 P build --reorg reorg.csv --name X --deadline 2026-12-31
has missing_opt err "missing --staff"
[ "$(nreq)" = "$n0" ] || fail "a refused file was sent"
ok "refused files: nothing sent"

# Findings: every one, named by the file the operator gave; control characters neutralised.
{ cat staff.csv; echo 'BROKEN,x,y,z,1,1'; } >staff-bad.csv
run findings 1 P build --reorg reorg.csv --staff staff-bad.csv --name X --deadline 2026-12-31
has findings err "staff-bad.csv line 12 column id_number: INVALID: must be 12 digits"
has findings err "reorg.csv: HEADER: required column basis is missing"
has findings err "staff-bad.csv line 30 column full_name: FORMULA: a spreadsheet formula?[2J is never taken as data"
has findings err "warning: reorg.csv line 4 column old_unit: SPLIT:"
has findings err "... and 7 more findings"
has findings err "error: plan build: 3 errors in the files; nothing was stored"
if grep -q $'\x1b' findings.err; then fail "an escape character reached the terminal"; fi
ok "findings: one a line, escape neutralised"

# A build that takes a few polls: the files sent as they are, progress one line per 10%.
run build 0 P build --reorg reorg.csv --staff staff.csv --name "Sáp nhập Tân Lập" --deadline 2026-12-31 \
    --by "Trần Văn Bình"
python3 - "$T/stub.log" <<'EOF' || fail "build: what was sent"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
post = [r for r in reqs if r["method"] == "POST" and r["path"] == "/v1/plans"][-1]
b = post["body"]
assert b["reorg"] == open("reorg.csv", encoding="utf-8").read(), "reorg differs"
assert b["staff"] == open("staff.csv", encoding="utf-8").read(), "staff differs"
assert (b["name"], b["deadline"], b["by"]) == ("Sáp nhập Tân Lập", "2026-12-31", "Trần Văn Bình"), b
assert sorted(b) == ["by", "deadline", "name", "reorg", "staff"], sorted(b)
polls = [r for r in reqs if r["method"] == "GET" and r["path"] == "/v1/plans/p000000abc001"]
assert len(polls) >= 5, len(polls)
EOF
ok "build: both files sent byte for byte, the plan polled until built"
has build out "plan       p000000abc001"
has build out "state      review (version 1)"
has build out "rows       6: 1 keep, 2 change, 1 revoke, 2 decide"
grep -qE '^decide +2$' build.out || fail "build: no 'decide 2' in the summary"
grep -qE '^D4 +decide +1  not in the staff list$' build.out || fail "build: the rule table"
has build err "matching: 100% (1000/1000)"
[ "$(grep -c '^matching: ' build.err)" -le 11 ] || fail "build: more than one progress line per 10%"
if grep -q $'\r' build.err; then fail "build: a carriage return on a stderr that is not a terminal"; fi
has build err "warning: reorg.csv line 4 column old_unit: SPLIT"
ok "build: summary by action and by rule; plain progress lines"
ID=p000000abc001

# The bar on a terminal: redrawn in place.
if command -v script >/dev/null; then
    script -qec "\"$ADMIN\" plan --api $API build --reorg reorg.csv --staff staff.csv \
        --name Tty --deadline 2026-12-31 >/dev/null" tty.out >/dev/null 2>&1 || fail "build on a terminal"
    grep -q $'\r\033\[Kmatching \[#' tty.out || { cat -A tty.out | head >&2; fail "no bar drawn on a terminal"; }
    ok "build on a terminal: a bar redrawn in place"
fi

run build_failed 1 P build --reorg reorg.csv --staff staff.csv --name FAILBUILD --deadline 2026-12-31
has build_failed err "the build failed: the registry could not be read"

# ---- list, show
run list 0 P list
has list out "$ID  Sáp nhập Tân Lập"
run show 0 P show $ID
has show out "deadline   2026-12-31"
hasnt show out "001234567890"
has show out "8496****502"
hasnt show out "84961234502"
if grep -q $'\x1b' show.out; then fail "show: an escape character in the table"; fi
# Columns line up in terminal columns (code points), not octets: each heading starts where its cells do.
python3 - "$T/show.out" <<'EOF' || fail "show: columns not aligned"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
i = next(i for i, l in enumerate(lines) if l.startswith("NO  UNIT"))
head, rows = lines[i], [l for l in lines[i + 2:] if l[:2].strip().isdigit()]
assert len(rows) == 6, rows
for col in ("HOLDER", "NUMBER", "SERIAL", "ACTION", "RULE"):
    at = head.index(col)
    for r in rows:
        # a column boundary there; the cell starts on it unless it is empty (row 6 has no number)
        assert r[at - 2:at] == "  " and (r[at] != " " or not r[at:at + len(col)].strip()), (col, r)
assert all(not l.endswith(" ") for l in lines), "a line ends in blanks"
EOF
ok "show: aligned by code points (Vietnamese), no trailing blanks"
n0=$(nreq)
run show_filter 0 P show $ID --unit "UBND xã Tân Lập" --action decide
last 'r["query"].get("unit") == ["UBND xã Tân Lập"] and r["query"].get("action") == ["decide"]'
has show_filter out "Trần Thị Bích Ngọc"
hasnt show_filter out "Phạm Thu Hà"
ok "show --unit --action: sent percent-encoded, filtered"
run show_csv 0 P show $ID --csv
python3 - "$T/show_csv.out" <<'EOF' || fail "show --csv"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
assert len(rows) == 6, len(rows)   # the stub pages by 4: all six came
assert rows[1]["msisdn"] == "84961234502" and rows[1]["holder"] == "Nguyễn Văn Ánh", rows[1]
assert rows[5]["holder"] == "'=HYPERLINK(\"x\")", rows[5]["holder"]
assert "id_number" not in rows[0]
EOF
python3 -c 'import sys; sys.exit(0 if open(sys.argv[1],"rb").read(3) == b"\xef\xbb\xbf" else 1)' show_csv.out ||
    fail "show --csv to a file: no byte order mark"
ok "show --csv: every row (paged), formula neutralised, BOM for a spreadsheet, no CCCD"
run show_404 1 P show p000000000000
has show_404 err "plan p000000000000: not found (404 NOT_FOUND): no such plan"
run show_badid 2 P show 12345
run show_badaction 2 P show $ID --action maybe

# ---- override, approve
run approve_pending 1 P approve $ID --by "Lê C"
has approve_pending err "refused (409 DECISIONS_PENDING): 2 rows need a decision"
has approve_pending out "Trần Thị Bích Ngọc"
grep -qE '^ 6 .*decide +D1' approve_pending.out || fail "approve: row 6 not listed"
run override 0 P override $ID 3 --action revoke --reason "nghỉ hưu" --by "Lê C"
has override out "row 3: decide -> revoke; plan $ID is at version 2"
python3 - "$T/stub.log" <<'EOF' || fail "override: what was sent"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
post, get = reqs[-1], reqs[-2]
assert post["method"] == "POST" and post["path"].endswith("/rows/3"), post
assert post["body"] == {"action": "revoke", "reason": "nghỉ hưu", "by": "Lê C", "version": 1}, post["body"]
assert get["method"] == "GET" and get["path"].endswith("p000000abc001"), get  # the version, read just before
EOF
ok "override: the version read first and sent"
curl -s -X POST "$API/_stub/conflict" >/dev/null
run override_conflict 1 P override $ID 6 --action change --reason "ghế"
has override_conflict err "refused (409 VERSION_CONFLICT): the plan is at version 3"
has override_conflict err "the plan changed after it was read"
run override_noreason 2 P override $ID 6 --action keep --reason ""
has override_noreason err "--reason must say why"
run override_badrow 2 P override $ID 0 --action keep --reason x
run override_norow 2 P override $ID --action keep --reason x
run override 0 P override $ID 6 --action change --reason "ghế của đơn vị mới"
curl -s -X POST "$API/_stub/conflict" >/dev/null
run approve_conflict 1 P approve $ID
has approve_conflict err "409 VERSION_CONFLICT"
run approve 0 P approve $ID --by "Lê C"
last 'r["body"] == {"by": "Lê C", "version": 3}'
has approve out "plan $ID approved at version 3 by Lê C"
run override_late 1 P override $ID 5 --action revoke --reason x
has override_late err "409 PLAN_APPROVED"

# ---- follow: progress until finished, then the report; one request failed -> exit 1
run follow 1 P follow $ID
has follow out "state      finished"
grep -qE '^done +4$' follow.out || fail "follow: no 'done 4'"
grep -qE '^failed +1$' follow.out || fail "follow: no 'failed 1'"
grep -qE '^ 4 .*Lê Văn FAIL Cường.*failed' follow.out || fail "follow: the failed row is not listed"
has follow out "m000000abc001h1"
has follow err "running: 100% (5/5) 4 done, 1 failed, 0 waiting for PIN, 0 waiting for device"
has follow err "error: plan $ID finished with failed requests"
# A clean plan: exit 0.
run build_clean 0 P build --reorg reorg.csv --staff staff.csv --name CLEAN --deadline 2026-12-31
CLEAN=$(awk '/^plan /{print $2}' build_clean.out)
run clean_o3 0 P override "$CLEAN" 3 --action keep --reason "ở lại"
run clean_o6 0 P override "$CLEAN" 6 --action keep --reason "ở lại"
run clean_approve 0 P approve "$CLEAN"
run follow_clean 0 P follow "$CLEAN"
hasnt follow_clean out "failed or was rejected"
run build_review 0 P build --reorg reorg.csv --staff staff.csv --name Review --deadline 2026-12-31
REVIEW=$(awk '/^plan /{print $2}' build_review.out)
run follow_review 1 P follow "$REVIEW"
has follow_review err "is in review: nothing runs until it is approved"

# ---- open, bundle, export
run open 0 P open "$REVIEW"
has open out "open       3 rows in 2 units"
grep -qE '^UBND xã Tân Lập +UBND xã Tân Thành +3 +2$' open.out || fail "open: the unit's line"
run open_csv 0 P open "$REVIEW" --csv
has open_csv out "UBND xã Tân Lập,2"
run bundle 0 P bundle $ID --unit "UBND xã Tân Lập" -o bundle.html
last 'r["query"] == {"unit": ["UBND xã Tân Lập"]}'
grep -q '<title>UBND xã Tân Lập</title>' bundle.html || fail "bundle: the file"
run bundle_404 1 P bundle $ID --unit "Nowhere" -o nowhere.html
[ ! -e nowhere.html ] || fail "bundle: a file written for a refused unit"
ls nowhere.html.tmp.* >/dev/null 2>&1 && fail "bundle: a temporary file left behind"
ok "bundle: nothing written when refused"
run bundle_noout 2 P bundle $ID --unit X
run export_csv 0 P export $ID --format csv -o export.csv
has export_csv out "export.csv (33 octets)"
grep -q "^m000000abc001r1,change" export.csv || fail "export: the file"
run export_json 0 P export $ID --format json -o export.json
python3 -c 'import json,sys; assert json.load(open("export.json"))["format"] == "simpki-forms/1"' || fail "export json"
run export_badfmt 2 P export $ID --format xml -o x

# ---- no request ever carried the key anywhere but the header
if grep -q 'operator-key' <(python3 -c '
import json
for l in open("stub.log"):
    r = json.loads(l); r.pop("authorization"); print(json.dumps(r))'); then
    fail "the key appears outside the Authorization header"
fi
ok "the key only in the Authorization header"

finish
