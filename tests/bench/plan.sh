#!/usr/bin/env bash
#
# plan.sh - the merger review's benchmark (issue 14): building a plan for a
# whole province's registry, beside the time to read that registry once.
#
#   tests/bench/plan.sh [--smoke] [--n N] [--out FILE] [--no-build]
#
# Builds a Release tree (build-bench/, or $BENCH_BUILD as run.sh does), makes a
# test PKI (tests/pki/mkpki.sh), generates N (default 100,000) certificates
# with a reorganisation that affects every unit (tests/gateway/merge_fixture
# --all, issued by the PKI's RSA-2048 G1 CA for speed), imports them into a
# private redis-server with simpki-admin, then measures:
#
#   (a) reading the registry once: tests/bench/bench_regread (SCAN over
#       spk:{*}:sub:* and pipelined HMGET, as q_plan.h's q_reg_scan), and the
#       certificates' decoding on top (d2i_X509, and the subject Name alone);
#   (b) building the plan through the daemon's API (gateway/merge/gw_plan.h):
#       POST /v1/plans with reorg.csv and staff.csv, then GET /v1/plans/{id}
#       until its state is "review"; simpkid's peak memory (VmHWM of
#       /proc/PID/status) before and after.
#
# Prints a table and writes JSON (plan-bench.json in the build tree, or
# --out).  If this simpkid has no plans API yet (its configuration refuses
# the operator role, or POST /v1/plans answers 404), (b) says so and (a)
# is still measured.  --smoke: N = 3,000, to check that the script runs.
#
# Environment: BENCH_PLAN_ROLES (JSON array, default ["sign","enrol","operator"]:
# the API key's roles), BENCH_PLAN_CONFIG_EDIT (a jq filter applied to the
# daemon's configuration, e.g. a larger body limit for plans if the API has
# one: the 100,000-row staff list is ~13 MB), BENCH_PLAN_TIMEOUT_S (600).
# tests/bench/run.sh runs this as its optional last section with BENCH_PLAN=1.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=100000
SMOKE=0
BUILD=1
OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) SMOKE=1; N=3000 ;;
    --n) N=$2; shift ;;
    --no-build) BUILD=0 ;;
    --out) OUT=$2; shift ;;
    *) echo "usage: $0 [--smoke] [--n N] [--out FILE] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done
B=${BENCH_BUILD:-$SRC/build-bench}
OUT=${OUT:-$B/plan-bench.json}
TIMEOUT_S=${BENCH_PLAN_TIMEOUT_S:-600}

if [ $BUILD -eq 1 ] && [ -z "${BENCH_BUILD:-}" ]; then
  cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j"$(nproc)" --target simpkid simpki-admin merge_fixture bench_regread >/dev/null
fi
SIMPKID=$B/gateway/simpkid
ADMIN=$B/gateway/simpki-admin
FIXTURE=$B/tests/gateway/merge_fixture
REGREAD=$B/tests/bench/bench_regread
for f in "$SIMPKID" "$ADMIN" "$FIXTURE" "$REGREAD"; do
  [ -x "$f" ] || { echo "plan.sh: $f not built" >&2; exit 1; }
done

. "$SRC/tests/bench/lib.sh" # free_port, wait_for, cpu_us, bench_scratch
bench_scratch bench-plan plan.sh
log() { printf '[bench-plan %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# ---- PKI, fixture ---------------------------------------------------------------
log "PKI"
printf '84960000002\tec\tBench EC\tUBND Bench\tgood\n' >"$T/subs.tsv"
bash "$SRC/tests/pki/mkpki.sh" "$T/pki" "$T/subs.tsv" >"$T/mkpki.log" 2>&1
log "fixture: $N certificates, every unit reorganised"
t0=$(now)
"$FIXTURE" --all -i ca-g1 -j 2 "$T/fx" "$T/pki" "$N" 1 >"$T/fixture.log" 2>&1
GEN_S=$(since "$t0")
ROWS=$(($(wc -l <"$T/fx/expected.tsv") - 1))
STAFF_ROWS=$(($(wc -l <"$T/fx/staff.csv") - 1))

# ---- Redis and the registry ----------------------------------------------------
REDIS_PORT=$(free_port)
mkdir -p "$T/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T/redis" \
  --logfile "$T/redis.log" &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
wait_for 10 redis-cli -p "$REDIS_PORT" ping

API_PORT=$(free_port)
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
ROLES=${BENCH_PLAN_ROLES:-'["sign","enrol","operator"]'}
jq -n --slurpfile s "$SRC/tests/sim/scenario-default.json" --arg pki "$T/pki" \
   --arg hash "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" --argjson roles "$ROLES" \
   --argjson api "$API_PORT" --argjson redis "$REDIS_PORT" --argjson dead "$(free_port)" '{
    listen_host: "127.0.0.1", listen_port: $api, log_level: "warn",
    trust_anchors: ($pki + "/trust.pem"), intermediates: ($pki + "/intermediates.pem"),
    redis: {host: "127.0.0.1", port: $redis, shards: 16},
    api_keys: [{name: "bench-operator", sha256: $hash, roles: $roles}],
    # no simulator: the SMPP links retry in the background, the plan needs none of them
    carriers: [ $s[0].carriers[] | {name, service_number, ota_master_key: .master_key,
                smpp: [{host: "127.0.0.1", port: $dead, system_id, password,
                        reconnect_min_ms: 5000, reconnect_max_ms: 60000}]} ] }' >"$T/simpki.json"
if [ -n "${BENCH_PLAN_CONFIG_EDIT:-}" ]; then
  jq "$BENCH_PLAN_CONFIG_EDIT" "$T/simpki.json" >"$T/simpki.json.tmp" && mv "$T/simpki.json.tmp" "$T/simpki.json"
fi
# The importer's config must not carry a role it does not know either: the same file with sign only.
jq '.api_keys[0].roles = ["sign"]' "$T/simpki.json" >"$T/admin.json"

# simpki-admin import reads at most 64 MiB a file: 30,000 rows (~42 MB) a part.
tail -n +2 "$T/fx/registry.csv" | split -l 30000 - "$T/regpart."
for p in "$T"/regpart.*; do { head -1 "$T/fx/registry.csv"; cat "$p"; } >"$p.csv"; rm "$p"; done
if ! "$ADMIN" -c "$T/admin.json" import --dry-run "$T/regpart.aa.csv" >/dev/null 2>"$T/dry.log"; then
  if grep -q 'unknown column' "$T/dry.log"; then # the cs column comes with another change (issue 14)
    log "this simpki-admin does not know the cs column: importing without it"
    for p in "$T"/regpart.*.csv; do cut -d, -f1-6 "$p" >"$p.tmp" && mv "$p.tmp" "$p"; done
  else
    cat "$T/dry.log" >&2; exit 1
  fi
fi
log "import ($N + 2 subscribers)"
t0=$(now)
for p in "$T"/regpart.*.csv; do "$ADMIN" -c "$T/admin.json" import "$p" >>"$T/import.log" 2>&1; done
IMPORT_S=$(since "$t0")
[ "$(redis-cli -p "$REDIS_PORT" DBSIZE)" -ge "$N" ] || { echo "plan.sh: the import left fewer than $N entries" >&2; exit 1; }
rm -f "$T"/regpart.*.csv

# ---- (a) the registry, read once -----------------------------------------------
log "registry read"
"$REGREAD" "$REDIS_PORT" 1000 >"$T/regread.json"
"$REGREAD" "$REDIS_PORT" 1000 >"$T/regread.json" # the second, warm, is the figure
jq . "$T/regread.json" >/dev/null

# ---- (b) the plan through the API -------------------------------------------------
PLAN='{"error": "not measured"}'
log "simpkid"
"$SIMPKID" -c "$T/simpki.json" >"$T/gateway.log" 2>&1 &
GW_PID=$!; PIDS+=("$GW_PID")
# up, or gone (a configuration it refuses ends it at once)
api_up() { curl -s -o /dev/null "http://127.0.0.1:$API_PORT/healthz" || ! kill -0 "$GW_PID" 2>/dev/null; }
if ! wait_for 30 api_up || ! kill -0 "$GW_PID" 2>/dev/null; then
  why=$(grep -m1 -E 'error|not a role' "$T/gateway.log" || echo "simpkid did not start")
  PLAN=$(jq -n --arg why "simpkid does not start with this configuration ($why): no plans API yet?" '{error: $why}')
else
  jq -n --rawfile reorg "$T/fx/reorg.csv" --rawfile staff "$T/fx/staff.csv" \
     '{name: "benchmark: every unit", deadline: "2026-12-31", by: "bench", reorg: $reorg, staff: $staff}' \
     >"$T/plan-body.json"
  HWM0=$(hwm_kb "$GW_PID"); RSS0=$(rss_kb "$GW_PID")
  log "POST /v1/plans ($(($(stat -c %s "$T/plan-body.json") / 1024)) KiB: $STAFF_ROWS staff rows), then poll until review"
  t0=$(now)
  code=$(curl -s -o "$T/post.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
           -H 'Content-Type: application/json' --data-binary @"$T/plan-body.json" \
           "http://127.0.0.1:$API_PORT/v1/plans" || echo 000)
  POST_S=$(since "$t0")
  id=$(jq -r '.id // empty' "$T/post.json" 2>/dev/null || true)
  if [ "$code" != 202 ] || [ -z "$id" ]; then
    PLAN=$(jq -n --arg code "$code" --arg body "$(head -c 300 "$T/post.json" | tr -s '\r\n' '  ')" \
             '{error: "POST /v1/plans answered \($code): \($body)"}')
  else
    state=building
    deadline=$(( $(date +%s) + TIMEOUT_S ))
    while [ "$state" = building ] && [ "$(date +%s)" -lt "$deadline" ]; do
      sleep 0.1
      curl -s -o "$T/plan.json" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/plans/$id" || true
      state=$(jq -r '.state // "building"' "$T/plan.json" 2>/dev/null || echo building)
    done
    BUILD_S=$(since "$t0")
    HWM1=$(hwm_kb "$GW_PID"); RSS1=$(rss_kb "$GW_PID")
    PLAN=$(jq -n --arg state "$state" --argjson build_s "$BUILD_S" --argjson post_s "$POST_S" \
             --argjson hwm0 "$HWM0" --argjson hwm1 "$HWM1" --argjson rss0 "$RSS0" --argjson rss1 "$RSS1" \
             --slurpfile p "$T/plan.json" --argjson expected_rows "$ROWS" '
      {state: $state, build_s: $build_s, post_s: $post_s,
       vmhwm_kb: {before: $hwm0, after: $hwm1}, vmrss_kb: {before: $rss0, after: $rss1},
       rows: ($p[0].summary.rows // null), expected_rows: $expected_rows,
       read: ($p[0].build.read // null), total: ($p[0].build.total // null)}
      | if .state != "review" then . + {error: "the plan ended \(.state) (timeout \(env.BENCH_PLAN_TIMEOUT_S // "600") s)"} else . end')
  fi
fi

jq -n --argjson n "$N" --argjson rows "$ROWS" --argjson staff "$STAFF_ROWS" --argjson gen "$GEN_S" \
   --argjson imp "$IMPORT_S" --slurpfile read "$T/regread.json" --argjson plan "$PLAN" \
   --arg cpu "$(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')" \
   --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson smoke "$SMOKE" '
  {machine: {cpu: $cpu, cores: '"$(nproc)"', loadavg_after: $load}, smoke: ($smoke == 1),
   certificates: $n, plan_rows_expected: $rows, staff_rows: $staff,
   fixture_generation_s: $gen, import_s: $imp, registry_read: $read[0], plan: $plan}' >"$OUT"

jq -r '
  def s: (. * 100 | round / 100 | tostring) + " s";
  def mb: (. / 1024 * 10 | round / 10 | tostring) + " MB";
  def row($a; $b; $c): "| \($a) | \($b) | \($c) |";
  "simpki merger plan benchmark — \(.machine.cpu), \(.machine.cores) cores\(if .smoke then " (SMOKE RUN: numbers mean nothing)" else "" end)",
  "",
  row("figure"; "measured"; "beside"), "|---|---|---|",
  row("registry read once, \(.registry_read.entries) entries (SCAN + pipelined HMGET)"; (.registry_read.read_s | s);
      "+ \(.registry_read.decode_s | s) to d2i_X509 every certificate, + \(.registry_read.subject_only_s | s) to read only the subject Name"),
  (if .plan.error then row("plan build through the API, \(.certificates) certificates"; "—"; .plan.error)
   else
     row("plan build through the API, \(.certificates) certificates, \(.plan.rows // "?") rows (expected \(.plan_rows_expected))";
         (.plan.build_s | s); "registry read once \(.registry_read.read_s | s) (+ decode \(.registry_read.decode_s | s)); POST answered in \(.plan.post_s | s)"),
     row("simpkid peak memory (VmHWM) before → after the build"; "\(.plan.vmhwm_kb.before | mb) → \(.plan.vmhwm_kb.after | mb)";
         "\(((.plan.vmhwm_kb.after - .plan.vmhwm_kb.before) * 1024 / .certificates) | round) bytes per certificate; RSS after \(.plan.vmrss_kb.after | mb)")
   end),
  row("fixture: \(.certificates) certificates generated / imported"; "\(.fixture_generation_s | s) / \(.import_s | s)";
      "merge_fixture --all -i ca-g1 -j 2; simpki-admin import (every certificate checked)")' "$OUT"
echo
echo "written: $OUT"
