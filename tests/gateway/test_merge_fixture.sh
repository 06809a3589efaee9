#!/usr/bin/env bash
# test_merge_fixture.sh - the merger fixture (merge_fixture.c) is sound, without the gateway:
#
#   bash test_merge_fixture.sh MERGE_FIXTURE DEMO_DIR
#
# DEMO_DIR gets tests/sim/mkdemo.sh's PKI (built once: mkpki.sh skips it when up to date).
# Generates 2,000 certificates, then checks: the files are there and deterministic for a seed;
# a sample of certificates (and 20 with their own key) verifies against the demo trust with `openssl
# verify -x509_strict` and carries the profile; every rule and decision of gw_merge_rules.h is
# reached at least twice in expected.tsv; every key of expected.tsv is a registry certificate of
# that number and unit, and D3 keys name staff.csv lines that exist; the overrides answer every
# decide row; the final registry agrees with them; the simulator subscribers' keys fit their
# certificates; and `simpki-admin import --dry-run` takes registry.csv.
# Runs on tests/integration/lib.sh (scratch directory, ok/bad/finish).
set -euo pipefail

FIXTURE=${1:?usage: test_merge_fixture.sh MERGE_FIXTURE DEMO_DIR}
DEMO=${2:?usage: test_merge_fixture.sh MERGE_FIXTURE DEMO_DIR}
N=${MERGE_FIXTURE_N:-2000}
. "$(dirname "$0")/../integration/lib.sh"

bash "$SRC/tests/sim/mkdemo.sh" "$DEMO" >"$T/mkdemo.log" 2>&1 || { cat "$T/mkdemo.log" >&2; exit 1; }
PKI=$DEMO/pki

F=$T/fx
"$FIXTURE" "$F" "$PKI" "$N" 42 >"$T/fixture.log" 2>&1 || { cat "$T/fixture.log" >&2; exit 1; }
for f in registry.csv reorg.csv staff.csv expected.tsv overrides.tsv expected-final.tsv sim-subscribers.json \
    ca-index.txt keys/shared.key.pem; do
    check "merge_fixture wrote $f" test -s "$F/$f"
done
check "registry.csv has N_CERTS active certificates and the two revoked ones" \
    test "$(awk -F, 'NR > 1 && $6 == "active"' "$F/registry.csv" | wc -l) $(awk -F, 'NR > 1 && $6 == "revoked"' "$F/registry.csv" | wc -l)" = "$N 2"
check "registry.csv has the cs column, some numbers on /cs SIMs" \
    test "$(awk -F, 'NR > 1 && $7 == 1' "$F/registry.csv" | wc -l)" -ge 5

# ---- deterministic for a seed, another seed another fixture -----------------------
"$FIXTURE" "$T/fx2" "$PKI" "$N" 42 >/dev/null 2>&1
"$FIXTURE" "$T/fx3" "$PKI" "$N" 43 >/dev/null 2>&1
same=1
for f in reorg.csv staff.csv expected.tsv overrides.tsv expected-final.tsv; do
    cmp -s "$F/$f" "$T/fx2/$f" || { same=0; echo "differs with the same seed: $f" >&2; }
done
check "the same seed makes the same files" test $same = 1
check "another seed makes another registry" bash -c "! cmp -s '$F/expected.tsv' '$T/fx3/expected.tsv'"
rm -rf "$T/fx2" "$T/fx3"

# ---- certificates against the demo trust ----------------------------------------------
# Every 50th row, every organisation in expected.tsv's first rows, and the own-key ones.
# The certificates as PEM files, $T/c/<msisdn>.pem, in one pass over the registry.
mkdir -p "$T/c"
awk -F, -v dir="$T/c" 'NR > 1 { print $5 > (dir "/" $1 ".b64"); close(dir "/" $1 ".b64") }' "$F/registry.csv"
der_of() { # msisdn -> $T/c/<msisdn>.pem
    [ -s "$T/c/$1.pem" ] || base64 -d "$T/c/$1.b64" | openssl x509 -inform DER -out "$T/c/$1.pem"
}
# Every 100th row, the first organisations of expected.tsv, 20 of the own-key ones.
sample=$( (awk -F, 'NR > 1 && NR % 100 == 0 { print $1 }' "$F/registry.csv"
    awk -F'\t' 'NR > 1 && $2 != "" && $4 == "organisation" { print $2 }' "$F/expected.tsv" | head -5
    jq -r '.[].msisdn' "$F/sim-subscribers.json" | head -20) | sort -u)
nv=0 nbad=0
for m in $sample; do
    der_of "$m"
    nv=$((nv + 1))
    if ! openssl verify -x509_strict -CAfile "$PKI/trust.pem" -untrusted "$PKI/intermediates.pem" "$T/c/$m.pem" \
        >"$T/verify.out" 2>&1; then
        nbad=$((nbad + 1))
        cat "$T/verify.out" >&2
    fi
done
check "$nv sample certificates verify against the demo trust (x509_strict)" test "$nbad" = 0 -a "$nv" -ge 30
m=$(awk -F'\t' 'NR > 1 && $4 == "person" && $2 != "" { print $2; exit }' "$F/expected.tsv")
der_of "$m"
openssl x509 -in "$T/c/$m.pem" -noout -subject -nameopt utf8,sep_comma_plus -ext \
    keyUsage,certificatePolicies,subjectAltName >"$T/profile.txt"
check "a person's subject: C, ST, O, CN in capitals, UID CCCD" \
    grep -Eq '^subject=C=VN,ST=Tuyên Quang,O=[^,]+,CN=[^a-z,]+,UID=CCCD:008[0-9]{9}$' "$T/profile.txt"
check "the Government CA profile: nonRepudiation, policy, e-mail" \
    bash -c "grep -q 'Non Repudiation' '$T/profile.txt' && grep -q '2.16.704.1.1.1.1.1' '$T/profile.txt' &&
             grep -q 'email:$m@sim.simpki.test' '$T/profile.txt'"

# ---- the expected plan ------------------------------------------------------------
awk -F'\t' 'NR > 1 { n[$6]++ } END { for (r in n) print r, n[r] }' "$F/expected.tsv" | sort >"$T/rules.txt"
missing=
for r in O1 O2 O3 O4 P1 P2 P3 P4 P5 D1 D2 D3 D4 D5 D6; do
    c=$(awk -v r="$r" '$1 == r { print $2 }' "$T/rules.txt")
    [ "${c:-0}" -ge 2 ] || missing="$missing $r(${c:-0})"
done
check "every rule and decision at least twice in expected.tsv ($(tr '\n' ' ' <"$T/rules.txt"))" test -z "$missing"
rows=$(($(wc -l <"$F/expected.tsv") - 1))
check "a few hundred plan rows ($rows), most units unaffected" test "$rows" -ge 150 -a "$rows" -le 600
check "actions follow the rules (O1 O3 P1 change, O2 P5 keep, O4 P2-P4 revoke, D decide)" \
    awk -F'\t' 'NR > 1 {
                     a = "decide"
                     if ($6 ~ /^(O1|O3|P1)$/) a = "change"
                     if ($6 ~ /^(O2|P5)$/) a = "keep"
                     if ($6 ~ /^(O4|P2|P3|P4)$/) a = "revoke"
                     if (a != $5) bad = 1
                 }
                 END { exit bad }' "$F/expected.tsv"
check "revokes carry RFC 5280 codes (O4 4, P2 P4 3, P3 5) and a receiving body" \
    awk -F'\t' 'NR > 1 && $5 == "revoke" { w = ($6 == "O4") ? 4 : ($6 == "P3") ? 5 : 3;
                if ($7 != w || $9 == "") bad = 1 } END { exit bad }' "$F/expected.tsv"
# The registry side of every certificate row: serial -> msisdn and unit (O) as the certificate says.
awk -F'\t' '{ print $4, $1 }' "$F/ca-index.txt" | sort >"$T/serials.txt"
check "every certificate key of expected.tsv is a registry serial" \
    bash -c "awk -F'\t' 'NR > 1 && \$1 !~ /^staff:/ { print \$1 }' '$F/expected.tsv' | sort |
             join -v 1 - <(cut -d' ' -f1 '$T/serials.txt') | grep -q . && exit 1 || exit 0"
bad=0
for k in $(awk -F'\t' 'NR > 1 && $1 !~ /^staff:/ && NR % 7 == 0 { print $1 }' "$F/expected.tsv"); do
    m=$(awk -F'\t' -v k="$k" '$1 == k { print $2 }' "$F/expected.tsv")
    u=$(awk -F'\t' -v k="$k" '$1 == k { print $3 }' "$F/expected.tsv")
    der_of "$m"
    s=$(openssl x509 -in "$T/c/$m.pem" -noout -serial | cut -d= -f2)
    o=$(openssl x509 -in "$T/c/$m.pem" -noout -subject -nameopt utf8,sep_comma_plus,sname | sed -n 's/.*,O=\([^,]*\),.*/\1/p')
    [ "$s" = "$k" ] && [ "$o" = "$u" ] || { bad=1; echo "row $k: certificate $s of $o" >&2; }
done
check "expected.tsv's number and unit are the certificate's (every 7th row)" test $bad = 0
# D3 keys name staff lines that are records of their own (staff.csv: BOM, CRLF, one cell with a line break).
check "staff.csv starts with a UTF-8 BOM and has CRLF records" \
    bash -c "head -c 3 '$F/staff.csv' | od -An -tx1 | grep -q 'ef bb bf' && head -1 '$F/staff.csv' | grep -q $'\r$'"
check "D3 keys are the staff.csv lines where their records start (a cell before them spans two lines)" \
    python3 - "$F" <<'EOF'
import csv, io, sys
d = sys.argv[1]
rows = list(csv.reader(io.StringIO(open(d + "/staff.csv", encoding="utf-8-sig", newline="").read(), newline="")))
line, starts = 1, {}
for r in rows:
    starts[line] = r
    line += 1 + sum(f.count("\n") for f in r)
keys = [l.split("\t") for l in open(d + "/expected.tsv", encoding="utf-8") if l.startswith("staff:")]
assert len(keys) >= 2, keys
assert any("\n" in f for r in rows for f in r), "no cell with a line break"
for k in keys:
    n = int(k[0].split(":")[1])
    assert n in starts and n > 1, k[0]
    assert starts[n][3] == k[2], (k[0], starts[n][3], k[2])  # the row's old unit is the row's
EOF

# ---- overrides and the final registry ---------------------------------------------
check "overrides.tsv answers every decide row, and nothing else" \
    bash -c "diff <(awk -F'\t' 'NR > 1 && \$5 == \"decide\" { print \$1 }' '$F/expected.tsv' | sort) \
                  <(awk -F'\t' 'NR > 1 { print \$1 }' '$F/overrides.tsv' | sort)"
check "D3 rows can only be kept (no certificate to change or revoke)" \
    bash -c "! awk -F'\t' '\$1 ~ /^staff:/ && \$2 != \"keep\"' '$F/overrides.tsv' | grep -q ."
check "expected-final.tsv: one line per registry number" \
    test "$(($(wc -l <"$F/expected-final.tsv") - 1))" = "$(($(wc -l <"$F/registry.csv") - 1))"
check "the final registry follows each row's action or override; numbers no row names stay as they are" \
    python3 - "$F" <<'EOF'
import csv, sys
d = sys.argv[1]
tsv = lambda f: list(csv.DictReader(open(d + "/" + f, encoding="utf-8"), delimiter="\t", quoting=csv.QUOTE_NONE))
exp = {r["key"]: r for r in tsv("expected.tsv") if not r["key"].startswith("staff:")}
ovr = {r["key"]: r["action"] for r in tsv("overrides.tsv")}
final = {r["msisdn"]: r for r in tsv("expected-final.tsv")}
reg = {r["msisdn"]: r["status"] for r in csv.DictReader(open(d + "/registry.csv"))}
want = {"revoke": ("revoked", "same"), "change": ("active", "new"), "keep": ("active", "same")}
rowed = set()
for k, r in exp.items():
    a = ovr[k] if r["action"] == "decide" else r["action"]
    f = final[r["msisdn"]]
    assert (f["status"], f["certificate"]) == want[a] and f["serial"] == k, (k, a, f)
    rowed.add(r["msisdn"])
for m, f in final.items():
    if m not in rowed:
        assert (f["status"], f["certificate"]) == (reg[m], "same"), (m, f)
EOF

# ---- simulator subscribers: the numbers whose SIM signs a CSR --------------------------
check "sim-subscribers.json: exactly the numbers whose certificate changes" \
    test "$(jq length "$F/sim-subscribers.json")" = "$(awk -F'\t' '$3 == "new"' "$F/expected-final.tsv" | wc -l)"
bad=0
for m in $(jq -r '.[].msisdn' "$F/sim-subscribers.json" | head -20); do
    k=$(jq -r --arg m "$m" '.[] | select(.msisdn == $m) | .key' "$F/sim-subscribers.json")
    c=$(jq -r --arg m "$m" '.[] | select(.msisdn == $m) | .cert' "$F/sim-subscribers.json")
    [ "$(openssl pkey -in "$k" -pubout)" = "$(openssl x509 -inform DER -in "$c" -noout -pubkey)" ] || bad=1
    i=$(jq -r --arg m "$m" '.[] | select(.msisdn == $m) | .iccid' "$F/sim-subscribers.json")
    [ "${i:6:4}" = 0000 ] && [ "${i:10:9}" = "${m:2}" ] || bad=1
done
check "their keys are their certificates' keys, their ICCIDs the number plan's" test $bad = 0
check "ICCIDs pass the Luhn check" python3 - "$F/registry.csv" <<'EOF'
import csv, sys
def luhn(s):
    t = 0
    for i, ch in enumerate(reversed(s)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        t += d
    return t % 10 == 0
rows = list(csv.DictReader(open(sys.argv[1])))
assert all(len(r["iccid"]) == 20 and luhn(r["iccid"]) for r in rows)
assert len({r["msisdn"] for r in rows}) == len(rows), "a number twice"
assert all(r["msisdn"][2:4] in ("96", "91", "90") and r["msisdn"][4:8] != "0000" for r in rows)
EOF

# ---- simpki-admin import --dry-run ------------------------------------------------------
cat >"$T/simpki.json" <<EOF
{
  "trust_anchors": "$PKI/trust.pem", "intermediates": "$PKI/intermediates.pem",
  "redis": {"host": "127.0.0.1", "port": 1, "shards": 16},
  "api_keys": [{"name": "merge-fixture", "sha256": "$(printf x | sha256sum | cut -d' ' -f1)"}],
  "carriers": [$(jq -c '[.carriers[] | {name, service_number, ota_master_key: .master_key}] | .[]' \
    "$SRC/tests/sim/scenario-default.json" | paste -sd,)]
}
EOF
if "$SIMPKI_ADMIN" -c "$T/simpki.json" import --dry-run "$F/registry.csv" >"$T/dry.out" 2>"$T/dry.err"; then
    ok "simpki-admin import --dry-run takes registry.csv with its cs column ($(cat "$T/dry.out"))"
elif grep -q 'CSV header column 7: unknown column' "$T/dry.err"; then
    # The cs column comes with another change to the importer (issue 14); until it lands, the
    # rest of the file must still be valid.
    echo "note: this simpki-admin does not know the cs column yet; checking the file without it" >&2
    cut -d, -f1-6 "$F/registry.csv" >"$T/registry-nocs.csv"
    if "$SIMPKI_ADMIN" -c "$T/simpki.json" import --dry-run "$T/registry-nocs.csv" >"$T/dry.out" 2>"$T/dry.err"; then
        ok "simpki-admin import --dry-run takes registry.csv without the cs column ($(cat "$T/dry.out"))"
    else
        head -20 "$T/dry.err" >&2
        bad "simpki-admin import --dry-run refuses registry.csv (without cs)"
    fi
else
    head -20 "$T/dry.err" >&2
    bad "simpki-admin import --dry-run refuses registry.csv"
fi
check "the dry run warns about nothing (ICCIDs, carriers by prefix)" bash -c "! grep -q warning '$T/dry.err'"

finish
