#!/usr/bin/env bash
#
# run.sh - simpki's benchmark suite: one command, every figure, one table.
#
#   tests/bench/run.sh [--smoke] [--out FILE] [--no-build]
#   BENCH_PLAN=1 tests/bench/run.sh      ... and the merger plan benchmark last
#                                        (tests/bench/plan.sh: 100,000 certificates)
#   BENCH_ONLY=overload tests/bench/run.sh   only the flat-out maximum and the open
#                                        loop at 50/90/120/200 % of it (EC, RSA): a
#                                        few minutes; JSON in bench-overload.json
#   BENCH_ARCHIVE=1 tests/bench/run.sh   ... and the evidence archive's last (its own
#                                        stack, table and JSON: *-archive.json)
#   BENCH_ONLY=archive tests/bench/run.sh    the evidence archive: the same closed loop
#                                        with the archive off, then on (a private
#                                        PostgreSQL), side by side; its insert rate,
#                                        lag and drain (tests/bench/archive.sh, which
#                                        runs this); JSON in bench-archive.json
#
# Builds a Release tree (build-bench/, or $BENCH_BUILD), starts the real stack
# on free loopback ports (redis-server with AOF everysec, simpki-sim with
# generated subscribers, simpkid), drives the JSON API with tests/bench/loadgen
# (through the SMPP links; the same closed loop as ETSI TS 102 204 MSS_Signature
# synch requests to the SOAP endpoint; then the JSON load through one etsi204
# link to the simulator's MSSP),
# prints the table and writes it as JSON (bench-results.json in the build
# tree, or --out).  --smoke does the same in a few seconds with tiny numbers:
# it is what ctest's bench_smoke runs, so the suite cannot rot; it asserts no
# timing.  How each figure is obtained: docs/benchmarks.md.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SMOKE=0
BUILD=1
OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) SMOKE=1 ;;
    --no-build) BUILD=0 ;;
    --out) OUT=$2; shift ;;
    *) echo "usage: $0 [--smoke] [--out FILE] [--no-build]" >&2; exit 2 ;;
  esac
  shift
done
B=${BENCH_BUILD:-$SRC/build-bench}
ONLY=${BENCH_ONLY:-}
case $ONLY in "" | overload | archive) ;; *) echo "run.sh: BENCH_ONLY is empty, overload or archive" >&2; exit 2 ;; esac
OUT=${OUT:-$B/bench-${ONLY:-results}.json}

if [ $SMOKE -eq 1 ]; then
  N_SUBS=300; N_IDLE=500; LEVELS=1000,2000; PROBES=200
  DUR=2; WARM=0.5; CONC=32; OPEN_DUR=1; VERIFY_S=0.3; OL_DRAIN_S=10
else
  N_SUBS=20000; N_IDLE=100000; LEVELS=1000,10000,100000,1000000; PROBES=2000
  DUR=15; WARM=3; CONC=256; OPEN_DUR=15; VERIFY_S=3; OL_DRAIN_S=70
fi
[ -z "$ONLY" ] || N_IDLE=0 # the never-answering numbers serve the capacity runs only

if [ $BUILD -eq 1 ] && [ -z "${BENCH_BUILD:-}" ]; then
  cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$B" -j"$(nproc)" >/dev/null
fi
SIMPKID=$B/gateway/simpkid
ADMIN=$B/gateway/simpki-admin
SIM=$B/tests/sim/simpki-sim
LOADGEN=$B/tests/bench/loadgen
FILL=$B/tests/bench/bench_fill
VERIFY=$B/tests/bench/bench_verify
for f in "$SIMPKID" "$ADMIN" "$SIM" "$LOADGEN" "$FILL" "$VERIFY"; do
  [ -x "$f" ] || { echo "run.sh: $f not built" >&2; exit 1; }
done

. "$SRC/tests/bench/lib.sh" # free_port, wait_for, cpu_us, bench_scratch
. "$SRC/tests/bench/overload.sh" # ol_run, ol_json, ol_table: the 50/90/120/200 % levels
bench_scratch bench run.sh
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
cmdstats() { rcli INFO commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ { sub("cmdstat_", "", $1); printf "%s %s\n", $1, $3 }'; }
# Redis commands (incl. those run inside scripts) between run_alg's snapshots
cs_delta() { # name -> JSON {cmd: calls}
  join -a 2 -e 0 -o 2.1,1.2,2.2 <(sort "$R/$1.cs0") <(sort "$R/$1.cs1") |
    awk '{ d = $3 - $2; if (d > 0 && $1 != "info") printf "%s\t%d\n", $1, d }' |
    jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}
redis_mem() { rcli INFO memory | tr -d '\r' | awk -F: '/^used_memory:/ { print $2 }'; }
# Redis's own stalls during a run: AOF writes that waited for a slow fsync, and
# the latency monitor's events over 2 ms (event -> max ms).
aof_delayed() { rcli INFO persistence | tr -d '\r' | awk -F: '/^aof_delayed_fsync:/ { print $2 }'; }
redis_stalls() { # label -> $R/label-stalls.json
  rcli LATENCY LATEST | paste - - - - | awk 'NF >= 4 { printf "%s\t%s\n", $1, $4 }' |
    jq -R -s --argjson d "$(( $(aof_delayed) - ${AOF_D0:-0} ))" \
      'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add // {} | {aof_delayed_fsync: $d, latency_max_ms: .}' \
      >"$R/$1-stalls.json"
  rcli LATENCY RESET >/dev/null
}
metric() { # name label-substring
  curl -sf "http://127.0.0.1:$API_PORT/metrics" | awk -v n="simpki_$1" -v l="$2" \
    'index($0, n) == 1 && index($0, l) { s += $NF } END { printf "%.0f", s }'
}

# ---- machine ------------------------------------------------------------
CPU_MODEL=$(lscpu | awk -F: '/Model name/ { gsub(/^ +/, "", $2); print $2; exit }')
NCPU=$(nproc)
MEM_GB=$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
KERNEL=$(uname -r)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)   # other work on the machine skews every figure

# ---- PKI, subscribers, scenario, registry -------------------------------
log "PKI and $N_SUBS subscribers per key type"
printf '84960000001\trsa\tBench RSA\tUBND Bench\tgood\n84960000002\tec\tBench EC\tUBND Bench\tgood\n' >"$T/subs.tsv"
bash "$SRC/tests/pki/mkpki.sh" "$T/pki" "$T/subs.tsv" >"$T/mkpki.log" 2>&1
bash "$SRC/tests/sim/mkmssp.sh" "$T/pki/mssp" >>"$T/mkpki.log" 2>&1 # the MSSP's TLS and the AP's client certificate
P1=$(free_port); P2=$(free_port); P3=$(free_port); PM=$(free_port)
# The MSSP forgets a transaction MSSP_KEEP_S after its answer and the last
# request about it (the bench's finish in well under a second).
MSSP_KEEP_S=60
EC_FIRST=84961000000; RSA_FIRST=84962000000; IDLE_FIRST=84963000000
# The simulated SIM's own delay (the official reading and typing the PIN): 0, the
# gateway's time alone.  loadgen subtracts it; max_in_flight below counts it.
SIM_DELAY_MS=0
# delay 0 for throughput (both key types); no_answer numbers for the capacity run
jq -n --slurpfile d "$SRC/tests/sim/scenario-default.json" --arg pki "$T/pki" \
   --argjson p1 "$P1" --argjson p2 "$P2" --argjson p3 "$P3" --argjson pm "$PM" --argjson keep "$MSSP_KEEP_S" \
   --argjson n "$N_SUBS" --argjson ni "$N_IDLE" \
   --argjson ec "$EC_FIRST" --argjson rsa "$RSA_FIRST" --argjson idle "$IDLE_FIRST" --argjson delay "$SIM_DELAY_MS" '
  def sub($m; $k; $b): {msisdn: ($m | tostring), carrier: "viettel",
      iccid: ("8984040000" + ($m | tostring | .[2:])), kv: 1, behaviour: $b, delay_ms: $delay}
      + (if $k == "" then {} else {key: ("subs/" + $k + ".key.pem"), cert: ("subs/" + $k + ".crt.der")} end);
  $d[0] | .pki = $pki | .carriers[0].port = $p1 | .carriers[1].port = $p2 | .carriers[2].port = $p3
  | .mssp.port = $pm | .mssp.keep_s = $keep
  | .defaults.delay_ms = $delay
  | .subscribers = ([range(0; $n) | sub($ec + .; "84960000002"; "confirm")]
                  + [range(0; $n) | sub($rsa + .; "84960000001"; "confirm")]
                  + [range(0; $ni) | sub($idle + .; ""; "no_answer")])' >"$T/scenario.json"
jq --arg pki "$T/pki" '[.subscribers[] | {msisdn, carrier, iccid, kv,
      cert_file: ($pki + "/" + (.cert // "subs/84960000002.crt.der")), status: "active"}]' \
   "$T/scenario.json" >"$T/registry.json"

# ---- the stack ----------------------------------------------------------
REDIS_PORT=$(free_port)
mkdir -p "$T/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0 \
  --latency-monitor-threshold 2 \
  --dir "$T/redis" --logfile "$T/redis.log" &
REDIS_PID=$!; PIDS+=("$REDIS_PID")
wait_for 10 rcli ping

log "simulator"
"$SIM" --scenario "$T/scenario.json" --log-level warn >"$T/sim.log" 2>&1 &
SIM_PID=$!; PIDS+=("$SIM_PID")
wait_for 300 grep -q "simpki-sim ready" "$T/sim.log"

API_PORT=$(free_port)
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The relying party's AP identity for the SOAP endpoint (the same "bench" key)
AP_ID=http://bench.simpki.test/ap
AP_PWD=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
WINDOW=10
# The etsi204 link (asynch, PKCS#1): the cards answer at once (delay_ms 0), so
# a transaction is MSS_Signature (100 REQUEST_OK), one pause of poll_min_ms,
# MSS_StatusQuery (500 SIGNATURE).  50 ms is the smallest pause the
# configuration allows; poll_max_ms only matters for a card slower than that
# (none here).  max_in_flight (transactions the link holds) is twice the
# closed loop's concurrency, so the link never refuses one.
ETSI_POLL_MIN_MS=50; ETSI_POLL_MAX_MS=400; ETSI_MAX_IN_FLIGHT=$(( 2 * CONC ))
ETSI_LINK=mssp-1
# The gateway's configuration: the scenario's SMPP binds, one per carrier
# ("smpp"), or every network through one etsi204 link to the simulator's
# MSSP ("etsi204").  Everything else is the same.
gw_config() { # smpp|etsi204 [limits JSON] -> stdout
  jq -n --slurpfile s "$T/scenario.json" --arg pki "$T/pki" --arg hash "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" \
     --arg ap_id "$AP_ID" --arg ap_hash "$(printf %s "$AP_PWD" | sha256sum | cut -d' ' -f1)" \
     --argjson api "$API_PORT" --argjson redis "$REDIS_PORT" --argjson window "$WINDOW" --arg transport "$1" \
     --arg link "$ETSI_LINK" --argjson pmin "$ETSI_POLL_MIN_MS" --argjson pmax "$ETSI_POLL_MAX_MS" \
     --argjson inflight "$ETSI_MAX_IN_FLIGHT" --argjson limits "${2:-null}" '{
      listen_host: "127.0.0.1", listen_port: $api, log_level: "warn",
      revocation_check: (env.BENCH_REVOCATION // "false" | . == "true"),
      transaction_timeout_s: 600, trust_anchors: ($pki + "/trust.pem"), intermediates: ($pki + "/intermediates.pem"),
      redis: {host: "127.0.0.1", port: $redis, shards: 16},
      api_keys: [{name: "bench", sha256: $hash, ap_id: $ap_id, ap_pwd_sha256: $ap_hash}],
      carriers: (if $transport == "etsi204" then
                   [{name: "mssp", route: "viettel,vinaphone,mobifone",
                     links: [{name: $link, transport: "etsi204", mode: "asynch", format: "pkcs1",
                              url: "https://127.0.0.1:\($s[0].mssp.port)/soap/services/",
                              ap_id: $s[0].mssp.ap_id, ap_pwd: $s[0].mssp.ap_pwd, mssp_id: $s[0].mssp.mssp_id,
                              ca_file: ($pki + "/mssp/ca.pem"), cert_file: ($pki + "/mssp/ap.crt.pem"),
                              key_file: ($pki + "/mssp/ap.key.pem"),
                              poll_min_ms: $pmin, poll_max_ms: $pmax, max_in_flight: $inflight}]}]
                 else
                   [ $s[0].carriers[] | {name, service_number, ota_master_key: .master_key,
                     smpp: [{host: "127.0.0.1", port, system_id, password, window: $window}]} ]
                 end) } + (if $limits then {limits: $limits} else {} end)'
}
# With overload control (tests/bench/overload.sh), the gateway's default
# limits.max_in_flight (10,000) would refuse the capacity run's pending
# transactions: the runs other than the overload levels get room for all of them.
BASE_LIMITS=
[ -z "$OL_KEYS" ] || BASE_LIMITS=$(jq -n --argjson n $(( N_IDLE + 4 * CONC + 1000 )) '{max_in_flight: $n}')
gw_config smpp "$BASE_LIMITS" >"$T/simpki.json"
gw_config etsi204 "$BASE_LIMITS" >"$T/simpki-etsi.json"
log "registry import ($(jq length "$T/registry.json") subscribers)"
"$ADMIN" -c "$T/simpki.json" import "$T/registry.json" >"$T/import.log" 2>&1

links_up() { curl -sf "http://127.0.0.1:$API_PORT/healthz" | jq -e '.carrier_links == true' >/dev/null; }
start_gw() { # config
  "$SIMPKID" -c "$1" >>"$T/gateway.log" 2>&1 &
  GW_PID=$!; PIDS+=("$GW_PID")
  wait_for 30 links_up
}
stop_gw() { kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; }
start_gw "$T/simpki.json"
lg() { "$LOADGEN" --port "$API_PORT" --token "$TOKEN" "$@" 2>>"$T/loadgen.log"; }

R=$T/results; mkdir -p "$R"
if [ -n "${BENCH_HOLD:-}" ]; then  # BENCH_HOLD=1: keep the stack up for manual loadgen/perf runs
  echo "stack up: API $API_PORT token $TOKEN (SOAP: --ap-id $AP_ID --ap-pwd $AP_PWD) redis $REDIS_PORT" \
       "gateway pid $GW_PID sim pid $SIM_PID" \
       "numbers EC $EC_FIRST:$N_SUBS RSA $RSA_FIRST:$N_SUBS idle $IDLE_FIRST:$N_IDLE; Ctrl-C stops it" >&2
  while :; do sleep 3600; done
fi

# ---- signature verification vs openssl speed ------------------------------
if [ -z "$ONLY" ]; then
log "signature verification"
bash "$SRC/tests/signer/mksigs.sh" "$SRC/tests/pki" "$T/sigpki" >"$T/mksigs.log" 2>&1
"$VERIFY" "$T/sigpki" "$VERIFY_S" >"$R/verify.txt"
openssl speed -seconds "$(printf '%.0f' "$(echo "$VERIFY_S + 0.5" | bc)")" rsa2048 ecdsap256 >"$R/speed.txt" 2>/dev/null
V_RSA=$(awk '/^good-rsa/ { print $(NF-1) }' "$R/verify.txt")
V_EC=$(awk '/^good-ec/ { print $(NF-1) }' "$R/verify.txt")
S_RSA=$(awk '$1 == "rsa" && $2 == "2048" { print $NF }' "$R/speed.txt" | tail -1)
S_EC=$(awk '$1 == "256" && /nistp256/ { print $NF }' "$R/speed.txt" | tail -1)
fi

# ---- throughput, CPU, Redis commands, SMPP, for each key type -------------
# LINK (a label substring of the link metrics), OPEN (0: the flat-out run only) and
# API (json, or soap: MSS_Signature synch requests) from the environment.
run_alg() { # name first
  local name=$1 first=$2 link=${LINK:-viettel} c0 r0 s0 sub0 rcpt0 rc0 sq0 sf0 t0 t1 dt api=()
  [ "${API:-json}" = json ] || api=(--api "$API" --ap-id "$AP_ID" --ap-pwd "$AP_PWD")
  log "$name: closed loop, $CONC in flight, ${DUR}s"
  cmdstats >"$R/$name.cs0"
  c0=$(cpu_us "$GW_PID"); r0=$(cpu_us "$REDIS_PID"); s0=$(cpu_us "$SIM_PID")
  sub0=$(metric link_submitted_total "$link"); rcpt0=$(metric link_receipts_total "$link")
  rc0=$(metric redis_calls_total ""); sq0=$(metric soap_requests_total ""); sf0=$(metric soap_faults_total "")
  t0=$(date +%s.%N)
  local perf_pid=
  if [ -n "${BENCH_PERF:-}" ]; then  # BENCH_PERF=DIR: perf profile of the gateway during the flat-out run
    mkdir -p "$BENCH_PERF"
    perf record -q --call-graph dwarf,32768 -F 499 -p "$GW_PID" -o "$BENCH_PERF/gw-$name.data" -- sleep "$DUR" 2>/dev/null &
    perf_pid=$!
  fi
  lg "${api[@]}" --label "$name-max" --mode closed --concurrency "$CONC" --numbers "$first:$N_SUBS" \
     --duration "$DUR" --warmup "$WARM" >"$R/$name-max.json"
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  t1=$(date +%s.%N)
  jq -n --argjson gw $(( $(cpu_us "$GW_PID") - c0 )) --argjson redis $(( $(cpu_us "$REDIS_PID") - r0 )) \
        --argjson sim $(( $(cpu_us "$SIM_PID") - s0 )) \
        --argjson sub $(( $(metric link_submitted_total "$link") - sub0 )) \
        --argjson rcpt $(( $(metric link_receipts_total "$link") - rcpt0 )) \
        --argjson rcalls $(( $(metric redis_calls_total "") - rc0 )) \
        --argjson sq $(( $(metric soap_requests_total "") - sq0 )) --argjson sf $(( $(metric soap_faults_total "") - sf0 )) \
        --argjson dt "$(echo "$t1 - $t0" | bc)" '{gw: $gw, redis: $redis, sim: $sim, submits: $sub, receipts: $rcpt, redis_calls: $rcalls,
                                                  soap_requests: $sq, soap_faults: $sf, wall_s: $dt}' \
        >"$R/$name-cpu.json"
  cmdstats >"$R/$name.cs1"
  [ "${OPEN:-1}" -eq 1 ] || return 0
  # open loop at 50, 90, 120 and 200 % of this maximum (tests/bench/overload.sh)
  ol_run "$name" "$first" "$(jq .completed_per_s "$R/$name-max.json")"
}
# BENCH_ONLY=archive: the archive off, then on, and its own figures (tests/bench/archive.sh)
if [ "$ONLY" = archive ]; then
  . "$SRC/tests/bench/archive.sh"
  ar_main
  exit 0
fi
run_alg ec "$EC_FIRST"
run_alg rsa "$RSA_FIRST"
ol_json >"$R/overload.json"

if [ "$ONLY" = overload ]; then
  jq -n --arg cpu "$CPU_MODEL" --argjson ncpu "$NCPU" --arg mem "$MEM_GB" --arg kernel "$KERNEL" \
     --arg load0 "$LOAD_START" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson smoke "$SMOKE" \
     --slurpfile ecmax "$R/ec-max.json" --slurpfile rsamax "$R/rsa-max.json" --slurpfile ol "$R/overload.json" \
     '{machine: {cpu: $cpu, cores: $ncpu, memory_gib: $mem, kernel: $kernel, loadavg_before: $load0, loadavg_after: $load1},
       smoke: ($smoke == 1), ecdsa_p256: {max_tps: $ecmax[0].completed_per_s, max_run: $ecmax[0]},
       rsa_2048: {max_tps: $rsamax[0].completed_per_s, max_run: $rsamax[0]}, overload: $ol[0]}' >"$OUT"
  echo "simpki benchmark (BENCH_ONLY=overload) — $CPU_MODEL, $NCPU cores, load average before $LOAD_START, after $(cut -d' ' -f1-3 /proc/loadavg)$([ $SMOKE -eq 1 ] && echo ' (SMOKE RUN: numbers mean nothing)')"
  echo "flat out: EC $(jq .completed_per_s "$R/ec-max.json")/s, RSA $(jq .completed_per_s "$R/rsa-max.json")/s ($CONC in flight)"
  echo
  ol_table "$OUT"
  echo
  echo "written: $OUT"
  missing=$(ol_missing "$OUT")
  [ -z "$missing" ] || { echo "run.sh: figures missing from $OUT:" $missing >&2; exit 1; }
  exit 0
fi

# ---- the same closed loop through the SOAP endpoint ------------------------
# Same gateway, SMPP binds, numbers, concurrency and duration as the JSON
# flat-out runs above: each transaction is one MSS_Signature synch POST, held
# by the gateway until the signature is verified.
log "soap: MSS_Signature synch to /soap/services/MSS_SignaturePort"
API=soap OPEN=0 run_alg soap-ec "$EC_FIRST"
API=soap OPEN=0 run_alg soap-rsa "$RSA_FIRST"

# ---- the same load through the ETSI TS 102 204 transport ------------------
# Same Redis, simulator, subscribers, digests and closed loop; the gateway is
# restarted with one etsi204 link to the simulator's MSSP instead of the SMPP
# binds (one gateway at a time: the idle one's sweeper would count in Redis),
# then with the SMPP binds again for the capacity runs.
log "etsi204: the gateway with one link to the simulator's MSSP (poll ${ETSI_POLL_MIN_MS}..${ETSI_POLL_MAX_MS} ms)"
stop_gw
start_gw "$T/simpki-etsi.json"
LINK=$ETSI_LINK OPEN=0 run_alg etsi-ec "$EC_FIRST"
LINK=$ETSI_LINK OPEN=0 run_alg etsi-rsa "$RSA_FIRST"
stop_gw
start_gw "$T/simpki.json"

# ---- the same SMPP leg through Kannel (optional) ---------------------------
# Only where Debian's kannel is installed: the bench never installs packages.
# kannel.sh runs its own simulator, bearerbox and smsbox (this stack idles
# meanwhile) and answers {"error": ...} when it cannot set Kannel up; a crash
# of the script itself must not cost the other figures either.
KANNEL_INSTALLED=0
if command -v bearerbox >/dev/null && command -v smsbox >/dev/null; then
  KANNEL_INSTALLED=1
  log "Kannel: the SMPP leg through bearerbox + smsbox"
  bash "$SRC/tests/bench/kannel.sh" $([ $SMOKE -eq 1 ] && echo --smoke) "$SIM" "$R/kannel.json" ||
    jq -n '{error: "tests/bench/kannel.sh failed"}' >"$R/kannel.json"
else
  jq -n '{error: "not measured: Debian kannel is not installed on this machine (apt-get install kannel enables this row)"}' \
    >"$R/kannel.json"
fi

# redis-benchmark for the same mix: one script call doing what create does
log "redis-benchmark"
REDIS_BENCH=$(redis-benchmark -p "$REDIS_PORT" -q -c 50 -n $([ $SMOKE -eq 1 ] && echo 5000 || echo 200000) -r 1000000 \
  EVAL "redis.call('HSET', KEYS[1], 'id', 'x', 'state', 'pending', 'digest', ARGV[1], 'cntr', '1', 'created_ms', '1700000000000') redis.call('ZADD', 'bench:due', 1, KEYS[1]) return redis.call('HGETALL', KEYS[1])" \
  1 bench:txn:__rand_int__ 0123456789abcdef0123456789abcdef 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | awk '{ v = $1 } END { printf "%.0f", v + 0 }')
rcli --scan --pattern 'bench:*' | xargs -r -n 1000 redis-cli -p "$REDIS_PORT" DEL >/dev/null

# ---- capacity: pending transactions through the API (SIMs that never answer) -
log "capacity: $N_IDLE pending through the API, SIMs never answer"
GW_RSS0=$(rss_kb "$GW_PID"); MEM0=$(redis_mem)
lg --label idle-fill --mode fill --rate 5000 --count "$N_IDLE" --numbers "$IDLE_FIRST:$N_IDLE" --max-conns 64 \
   --duration 1 >"$R/idle-fill.json"
sleep 1
GW_RSS1=$(rss_kb "$GW_PID"); MEM1=$(redis_mem); SIM_RSS=$(rss_kb "$SIM_PID")
PENDING_API=$(jq .ok "$R/idle-fill.json")

# ---- capacity: Redis bytes per pending, hot path at 1k .. 1M pending -------
log "capacity: pending levels $LEVELS in Redis (q_txn_create + q_txn_sent)"
"$FILL" "$REDIS_PORT" 16 "$T/pki/subs/84960000002.crt.der" "$LEVELS" "$PROBES" >"$R/fill.jsonl" 2>>"$T/fill.log"
TOP=${LEVELS##*,}
log "ec: open loop at 50% with $TOP + $PENDING_API pending"
AOF_D0=$(aof_delayed); rcli LATENCY RESET >/dev/null
lg --label ec-50-loaded --mode open --rate "$(echo "$(jq .completed_per_s "$R/ec-max.json") * 50 / 100" | bc)" \
   --numbers "$EC_FIRST:$N_SUBS" --duration "$OPEN_DUR" --warmup "$WARM" >"$R/ec-50-loaded.json"
redis_stalls ec-50-loaded
GW_RSS2=$(rss_kb "$GW_PID")

# ---- assemble -------------------------------------------------------------
for a in ec rsa etsi-ec etsi-rsa soap-ec soap-rsa; do cs_delta "$a" >"$R/$a-cmds.json"; done

jq -n \
  --arg cpu "$CPU_MODEL" --argjson ncpu "$NCPU" --arg mem "$MEM_GB" --arg kernel "$KERNEL" \
  --arg load0 "$LOAD_START" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --argjson smoke "$SMOKE" --argjson window "$WINDOW" --argjson subs "$N_SUBS" \
  --slurpfile ecmax "$R/ec-max.json" --slurpfile ec50 "$R/ec-50.json" --slurpfile ec90 "$R/ec-90.json" \
  --slurpfile rsamax "$R/rsa-max.json" --slurpfile rsa50 "$R/rsa-50.json" --slurpfile rsa90 "$R/rsa-90.json" \
  --slurpfile eccpu "$R/ec-cpu.json" --slurpfile rsacpu "$R/rsa-cpu.json" \
  --slurpfile eccmd "$R/ec-cmds.json" --slurpfile rsacmd "$R/rsa-cmds.json" \
  --slurpfile fill <(jq -s . "$R/fill.jsonl") --slurpfile loaded "$R/ec-50-loaded.json" \
  --slurpfile idle "$R/idle-fill.json" \
  --slurpfile st50 "$R/ec-50-stalls.json" --slurpfile stloaded "$R/ec-50-loaded-stalls.json" \
  --argjson v_rsa "${V_RSA:-0}" --argjson v_ec "${V_EC:-0}" --argjson s_rsa "${S_RSA:-0}" --argjson s_ec "${S_EC:-0}" \
  --argjson rbench "${REDIS_BENCH:-0}" \
  --argjson rss0 "$GW_RSS0" --argjson rss1 "$GW_RSS1" --argjson rss2 "$GW_RSS2" --argjson mem0 "$MEM0" \
  --argjson mem1 "$MEM1" --argjson simrss "$SIM_RSS" --argjson papi "$PENDING_API" \
  --slurpfile kannel "$R/kannel.json" --slurpfile overload "$R/overload.json" \
  --slurpfile etsiecmax "$R/etsi-ec-max.json" --slurpfile etsirsamax "$R/etsi-rsa-max.json" \
  --slurpfile etsieccpu "$R/etsi-ec-cpu.json" --slurpfile etsirsacpu "$R/etsi-rsa-cpu.json" \
  --slurpfile etsieccmd "$R/etsi-ec-cmds.json" --slurpfile etsirsacmd "$R/etsi-rsa-cmds.json" \
  --slurpfile soapecmax "$R/soap-ec-max.json" --slurpfile soaprsamax "$R/soap-rsa-max.json" \
  --slurpfile soapeccpu "$R/soap-ec-cpu.json" --slurpfile soaprsacpu "$R/soap-rsa-cpu.json" \
  --slurpfile soapeccmd "$R/soap-ec-cmds.json" --slurpfile soaprsacmd "$R/soap-rsa-cmds.json" \
  --argjson conc "$CONC" --argjson pmin "$ETSI_POLL_MIN_MS" --argjson pmax "$ETSI_POLL_MAX_MS" \
  --argjson inflight "$ETSI_MAX_IN_FLIGHT" --argjson keep "$MSSP_KEEP_S" '
  def flat($max; $cpu; $cmd): # what the closed-loop run measured, either transport
    ($max.finished) as $n |
    { max_tps: $max.completed_per_s, max_run: $max,
      cpu_us_per_txn: {gateway: ($cpu.gw / $n), redis: ($cpu.redis / $n), simulator: ($cpu.sim / $n),
                       loadgen: ($max.cpu_us / $n)},
      gateway_cpu_ceiling_tps: (if $cpu.gw > 0 then 1000000 * $n / $cpu.gw else 0 end),
      redis_commands_per_txn: (($cmd | to_entries | map(.value) | add // 0) / $n),
      redis_commands: ($cmd | map_values(. / $n)),
      engine_round_trips_per_txn: ((($cmd.evalsha // 0) + ($cmd.eval // 0)) / $n),
      gateway_redis_calls_per_txn: ($cpu.redis_calls / $n),
      link_submit_per_s: ($cpu.submits / $cpu.wall_s), link_submit_per_txn: ($cpu.submits / $n),
      link_receipts_per_txn: ($cpu.receipts / $n) };
  def alg($max; $p50; $p90; $cpu; $cmd):
    flat($max; $cpu; $cmd) + {
      at_50: {rate: $p50.rate_target, completed_per_s: $p50.completed_per_s, added_us: $p50.lat_us, failed: $p50.failed},
      at_90: {rate: $p90.rate_target, completed_per_s: $p90.completed_per_s, added_us: $p90.lat_us, failed: $p90.failed},
      smpp_submit_per_s: ($cpu.submits / $cpu.wall_s), smpp_submit_per_txn: ($cpu.submits / $max.finished) };
  # link_receipts_total counts every HTTP answer the etsi204 link read
  def etsi($max; $cpu; $cmd; $smpp):
    flat($max; $cpu; $cmd) as $f |
    $f + { http_answers_per_txn: $f.link_receipts_per_txn,
           smpp_same_run: {max_tps: $smpp.max_tps, cpu_us_per_txn: $smpp.cpu_us_per_txn,
                           engine_round_trips_per_txn: $smpp.engine_round_trips_per_txn,
                           gateway_redis_calls_per_txn: $smpp.gateway_redis_calls_per_txn} };
  # the SOAP endpoint over the same SMPP binds, beside the JSON API of the same run
  def soap($max; $cpu; $cmd; $json):
    flat($max; $cpu; $cmd) + {
      # the gateway count: SOAP requests, and the faults it answered, during the run
      gateway_soap_requests: $cpu.soap_requests, gateway_soap_faults: $cpu.soap_faults,
      json_same_run: {max_tps: $json.max_tps, cpu_us_per_txn: $json.cpu_us_per_txn,
                      gateway_cpu_ceiling_tps: $json.gateway_cpu_ceiling_tps,
                      engine_round_trips_per_txn: $json.engine_round_trips_per_txn,
                      gateway_redis_calls_per_txn: $json.gateway_redis_calls_per_txn,
                      redis_commands_per_txn: $json.redis_commands_per_txn} };
  { machine: {cpu: $cpu, cores: $ncpu, memory_gib: $mem, kernel: $kernel, loadavg_before: $load0, loadavg_after: $load1}, smoke: ($smoke == 1),
    config: {revocation_check: (env.BENCH_REVOCATION // "false"), smpp_window: $window, subscribers_per_key_type: $subs, redis: "AOF appendfsync everysec, no automatic rewrite", shards: 16},
    ecdsa_p256: alg($ecmax[0]; $ec50[0]; $ec90[0]; $eccpu[0]; $eccmd[0]),
    rsa_2048: alg($rsamax[0]; $rsa50[0]; $rsa90[0]; $rsacpu[0]; $rsacmd[0]),
    etsi204: {
      config: {mode: "asynch", format: "pkcs1", poll_min_ms: $pmin, poll_max_ms: $pmax, max_in_flight: $inflight,
               concurrency: $conc, mssp_keep_s: $keep, card_delay_ms: 0},
      # closed loop: every transaction waits at least one poll_min_ms pause, so no more than this complete per second
      poll_bound_tps: ($conc * 1000 / $pmin),
      ecdsa_p256: etsi($etsiecmax[0]; $etsieccpu[0]; $etsieccmd[0];
                       alg($ecmax[0]; $ec50[0]; $ec90[0]; $eccpu[0]; $eccmd[0])),
      rsa_2048: etsi($etsirsamax[0]; $etsirsacpu[0]; $etsirsacmd[0];
                     alg($rsamax[0]; $rsa50[0]; $rsa90[0]; $rsacpu[0]; $rsacmd[0])) },
    soap: {
      config: {operation: "MSS_Signature", messaging_mode: "synch", mss_format: "PKCS1", additional_services: [],
               transport: "smpp", concurrency: $conc},
      ecdsa_p256: soap($soapecmax[0]; $soapeccpu[0]; $soapeccmd[0];
                       alg($ecmax[0]; $ec50[0]; $ec90[0]; $eccpu[0]; $eccmd[0])),
      rsa_2048: soap($soaprsamax[0]; $soaprsacpu[0]; $soaprsacmd[0];
                     alg($rsamax[0]; $rsa50[0]; $rsa90[0]; $rsacpu[0]; $rsacmd[0])) },
    redis_benchmark_script_calls_per_s: $rbench,
    verify_per_s: {rsa_2048: $v_rsa, ecdsa_p256: $v_ec, openssl_speed_rsa_2048: $s_rsa, openssl_speed_ecdsa_p256: $s_ec},
    capacity: {
      api_pending: $papi, gateway_rss_kb: {before: $rss0, with_api_pending: $rss1, with_all_pending: $rss2},
      gateway_rss_bytes_per_api_pending: (if $papi > 0 then ($rss1 - $rss0) * 1024 / $papi else 0 end),
      redis_bytes_per_api_pending: (if $papi > 0 then ($mem1 - $mem0) / $papi else 0 end),
      simulator_rss_kb: $simrss,
      levels: $fill[0],
      hot_path_ecdsa_50pct_with_max_pending: {pending: (($fill[0] | last | .pending) + $papi), added_us: $loaded[0].lat_us,
        completed_per_s: $loaded[0].completed_per_s, failed: $loaded[0].failed,
        redis_stalls: $stloaded[0], redis_stalls_without: $st50[0]} },
    kannel: ($kannel[0] | if .error then .error
              else "Kannel \(.kannel_version): \(.submit_sm_per_s | round) submit_sm/s on one bind fed by HTTP sendsms, \(.drain.submit_sm_per_s // 0 | round)/s draining a queue, max-pending-submits \(.window)" end),
    kannel_smpp: $kannel[0], overload: $overload[0] }' >"$OUT"

# ---- the table --------------------------------------------------------------
jq -r '
  def f0: if type == "number" then (. * 10 | round / 10 | tostring) else tostring end;
  def ms: (. / 1000 * 100 | round / 100 | tostring) + " ms";
  def row($a; $b; $c): "| \($a) | \($b) | \($c) |";
  "simpki benchmark — \(.machine.cpu), \(.machine.cores) cores, \(.machine.memory_gib) GiB, Linux \(.machine.kernel), load average before \(.machine.loadavg_before)\(if .smoke then " (SMOKE RUN: numbers mean nothing)" else "" end)",
  "",
  row("figure"; "measured"; "beside (ceiling / target)"),
  "|---|---|---|",
  (. as $r | ["ecdsa_p256", "rsa_2048"][] as $k | $r[$k] as $a |
    row("\($k): completed txn/s flat out (\($a.max_run.ok * 100 / ([$a.max_run.finished, 1] | max) | round)% OK)"; ($a.max_tps | f0); "gateway CPU ceiling \($a.gateway_cpu_ceiling_tps | f0)/s; target ≥ 5000"),
    row("\($k): added latency at 50% (\($a.at_50.rate)/s) p50/p99/p99.9"; "\($a.at_50.added_us.p50 | ms) / \($a.at_50.added_us.p99 | ms) / \($a.at_50.added_us.p999 | ms)"; "target p99 < 10 ms"),
    row("\($k): added latency at 90% (\($a.at_90.rate)/s) p50/p99/p99.9"; "\($a.at_90.added_us.p50 | ms) / \($a.at_90.added_us.p99 | ms) / \($a.at_90.added_us.p999 | ms)"; ""),
    row("\($k): CPU µs per txn gateway / redis / sim / loadgen"; "\($a.cpu_us_per_txn.gateway | f0) / \($a.cpu_us_per_txn.redis | f0) / \($a.cpu_us_per_txn.simulator | f0) / \($a.cpu_us_per_txn.loadgen | f0)"; "5000/s on 2 cores leaves 400 µs per txn for all four"),
    row("\($k): Redis round trips per txn: engine EVALSHA / all gateway calls / commands incl. inside scripts"; "\($a.engine_round_trips_per_txn * 100 | round / 100) / \($a.gateway_redis_calls_per_txn * 100 | round / 100) / \($a.redis_commands_per_txn | f0)"; "target ≤ 3 engine round trips; redis-benchmark \($r.redis_benchmark_script_calls_per_s) script calls/s"),
    row("\($k): SMPP submit_sm PDUs/s, one bind, window \($r.config.smpp_window)"; ($a.smpp_submit_per_s | f0); "\($a.smpp_submit_per_txn | f0) PDUs per txn (the SIGN command is 2 concatenated segments)")),
  (.etsi204 as $e | ["ecdsa_p256", "rsa_2048"][] as $k | $e[$k] as $a |
    row("etsi204 \($k): completed txn/s flat out (\($a.max_run.ok * 100 / ([$a.max_run.finished, 1] | max) | round)% OK), one link, asynch, PKCS#1, poll \($e.config.poll_min_ms)..\($e.config.poll_max_ms) ms"; ($a.max_tps | f0); "SMPP \($a.smpp_same_run.max_tps | f0)/s (same run); gateway CPU ceiling \($a.gateway_cpu_ceiling_tps | f0)/s; \($e.config.concurrency) in flight / \($e.config.poll_min_ms) ms poll = \($e.poll_bound_tps | f0)/s"),
    row("etsi204 \($k): CPU µs per txn gateway / redis / sim / loadgen"; "\($a.cpu_us_per_txn.gateway | f0) / \($a.cpu_us_per_txn.redis | f0) / \($a.cpu_us_per_txn.simulator | f0) / \($a.cpu_us_per_txn.loadgen | f0)"; "SMPP (same run) \($a.smpp_same_run.cpu_us_per_txn.gateway | f0) / \($a.smpp_same_run.cpu_us_per_txn.redis | f0) / \($a.smpp_same_run.cpu_us_per_txn.simulator | f0) / \($a.smpp_same_run.cpu_us_per_txn.loadgen | f0)"),
    row("etsi204 \($k): Redis round trips per txn: engine EVALSHA / all gateway calls / commands incl. inside scripts; HTTP answers per txn"; "\($a.engine_round_trips_per_txn * 100 | round / 100) / \($a.gateway_redis_calls_per_txn * 100 | round / 100) / \($a.redis_commands_per_txn | f0); \($a.http_answers_per_txn * 100 | round / 100)"; "SMPP (same run) \($a.smpp_same_run.engine_round_trips_per_txn * 100 | round / 100) / \($a.smpp_same_run.gateway_redis_calls_per_txn * 100 | round / 100); MSS_Signature + MSS_StatusQuery = 2")),
  (.soap as $s | ["ecdsa_p256", "rsa_2048"][] as $k | $s[$k] as $a |
    row("soap synch \($k): completed txn/s flat out (\($a.max_run.ok * 100 / ([$a.max_run.finished, 1] | max) | round)% OK), MSS_Signature synch, PKCS1, SMPP"; ($a.max_tps | f0); "JSON (same run) \($a.json_same_run.max_tps | f0)/s; gateway CPU ceiling \($a.gateway_cpu_ceiling_tps | f0)/s (JSON \($a.json_same_run.gateway_cpu_ceiling_tps | f0)/s)"),
    row("soap synch \($k): CPU µs per txn gateway / redis / sim / loadgen"; "\($a.cpu_us_per_txn.gateway | f0) / \($a.cpu_us_per_txn.redis | f0) / \($a.cpu_us_per_txn.simulator | f0) / \($a.cpu_us_per_txn.loadgen | f0)"; "JSON (same run) \($a.json_same_run.cpu_us_per_txn.gateway | f0) / \($a.json_same_run.cpu_us_per_txn.redis | f0) / \($a.json_same_run.cpu_us_per_txn.simulator | f0) / \($a.json_same_run.cpu_us_per_txn.loadgen | f0)"),
    row("soap synch \($k): Redis round trips per txn: engine EVALSHA / all gateway calls / commands incl. inside scripts"; "\($a.engine_round_trips_per_txn * 100 | round / 100) / \($a.gateway_redis_calls_per_txn * 100 | round / 100) / \($a.redis_commands_per_txn | f0)"; "JSON (same run) \($a.json_same_run.engine_round_trips_per_txn * 100 | round / 100) / \($a.json_same_run.gateway_redis_calls_per_txn * 100 | round / 100) / \($a.json_same_run.redis_commands_per_txn | f0)")),
  row("verifications/s RSA-2048 (sig_verify_digest)"; (.verify_per_s.rsa_2048 | f0); "openssl speed verify \(.verify_per_s.openssl_speed_rsa_2048)/s"),
  row("verifications/s ECDSA P-256"; (.verify_per_s.ecdsa_p256 | f0); "openssl speed verify \(.verify_per_s.openssl_speed_ecdsa_p256)/s"),
  (.capacity.levels[] | row("Redis bytes per pending, \(.pending) pending"; (.bytes_per_pending | f0); "create p50/p99 \(.create_us.p50)/\(.create_us.p99) µs, finish \(.finish_us.p50)/\(.finish_us.p99) µs; target < 1024 B")),
  row("API pending \(.capacity.api_pending): gateway RSS bytes / Redis bytes per pending"; "\(.capacity.gateway_rss_bytes_per_api_pending | f0) / \(.capacity.redis_bytes_per_api_pending | f0)"; "gateway RSS \(.capacity.gateway_rss_kb.before) → \(.capacity.gateway_rss_kb.with_all_pending) kB"),
  row("ecdsa_p256 at 50% with \(.capacity.hot_path_ecdsa_50pct_with_max_pending.pending) pending p50/p99/p99.9"; "\(.capacity.hot_path_ecdsa_50pct_with_max_pending.added_us.p50 | ms) / \(.capacity.hot_path_ecdsa_50pct_with_max_pending.added_us.p99 | ms) / \(.capacity.hot_path_ecdsa_50pct_with_max_pending.added_us.p999 | ms)"; "same as with ~0 pending (row above)"),
  (.capacity.hot_path_ecdsa_50pct_with_max_pending as $h | row("Redis stalls in the EC 50% runs, without / with the pending fill: AOF writes delayed by fsync; latency events, max ms"; "\($h.redis_stalls_without.aof_delayed_fsync) / \($h.redis_stalls.aof_delayed_fsync); \($h.redis_stalls_without.latency_max_ms | tojson) / \($h.redis_stalls.latency_max_ms | tojson)"; "Redis LATENCY LATEST over 2 ms")),
  (.kannel_smpp as $k | if $k.error then row("SMPP leg through Kannel"; "—"; $k.error)
   else row("SMPP leg through Kannel \($k.kannel_version): submit_sm PDUs/s, one bind, max-pending-submits \($k.window)";
            ($k.submit_sm_per_s | f0);
            "simpki \(.ecdsa_p256.smpp_submit_per_s | f0)/s on one bind, window \(.config.smpp_window) (the EC flat-out run: what its transactions needed, not the link ceiling); Kannel fed by HTTP sendsms (\($k.http_rate_per_s | f0) requests/s, \($k.http_in_flight) in flight), \($k.messages) SPKA-shaped segments, store \($k.store), no throughput cap; its SMPP side alone (queued, then drained): \($k.drain.submit_sm_per_s // "—" | f0)/s" ) end)
' "$OUT"
echo
ol_table "$OUT"
echo
echo "written: $OUT"

# Every figure must be there (a number, not null): this, not any timing, is what
# ctest's bench_smoke checks.
missing=$(jq -r '
  def need: [
    (["ecdsa_p256", "rsa_2048"][] as $k |
      [$k, "max_tps"], [$k, "at_50", "added_us", "p99"], [$k, "at_50", "added_us", "p999"],
      [$k, "at_90", "added_us", "p99"], [$k, "cpu_us_per_txn", "gateway"], [$k, "redis_commands_per_txn"],
      [$k, "engine_round_trips_per_txn"], [$k, "gateway_redis_calls_per_txn"], [$k, "smpp_submit_per_s"],
      ["etsi204", $k, "max_tps"], ["etsi204", $k, "cpu_us_per_txn", "gateway"], ["etsi204", $k, "redis_commands_per_txn"],
      ["etsi204", $k, "engine_round_trips_per_txn"], ["etsi204", $k, "gateway_redis_calls_per_txn"],
      ["etsi204", $k, "http_answers_per_txn"], ["etsi204", $k, "smpp_same_run", "cpu_us_per_txn", "gateway"],
      ["soap", $k, "max_tps"], ["soap", $k, "cpu_us_per_txn", "gateway"], ["soap", $k, "cpu_us_per_txn", "redis"],
      ["soap", $k, "cpu_us_per_txn", "loadgen"], ["soap", $k, "gateway_redis_calls_per_txn"],
      ["soap", $k, "json_same_run", "max_tps"], ["soap", $k, "json_same_run", "cpu_us_per_txn", "gateway"]),
    ["redis_benchmark_script_calls_per_s"], ["verify_per_s", "rsa_2048"], ["verify_per_s", "ecdsa_p256"],
    ["verify_per_s", "openssl_speed_rsa_2048"], ["verify_per_s", "openssl_speed_ecdsa_p256"],
    ["capacity", "gateway_rss_bytes_per_api_pending"], ["capacity", "redis_bytes_per_api_pending"],
    ["capacity", "levels", 0, "bytes_per_pending"], ["capacity", "levels", -1, "create_us", "p50"],
    ["capacity", "hot_path_ecdsa_50pct_with_max_pending", "added_us", "p99"] ];
  . as $r | need[] as $p | select(($r | getpath($p) | type) != "number") | $p | map(tostring) | join(".")' "$OUT")
missing="$missing$(ol_missing "$OUT")"
if [ -n "$missing" ]; then
  echo "run.sh: figures missing from $OUT:" $missing >&2
  exit 1
fi
# A transport whose transactions all failed measured nothing (the ETSI stage
# runs on its own gateway configuration: TLS files, link, MSSP section).
for k in ecdsa_p256 rsa_2048; do
  jq -e --arg k "$k" '.etsi204[$k].max_run.ok > 0' "$OUT" >/dev/null ||
    { echo "run.sh: no etsi204 $k transaction ended OK" >&2; exit 1; }
done
# The SOAP rows: loadgen spoke SOAP and at least one MSS_Signature synch was
# answered with a signature; it counted no more OK than the gateway answered
# without a fault (a load generator that takes any answer for OK); and the
# gateway refused none as the client's own mistake (faults 101-109: a repeated
# AP_TransID, a malformed envelope, wrong credentials).
for k in ecdsa_p256 rsa_2048; do
  why=$(jq -r --arg k "$k" '.soap[$k] as $s | $s.max_run as $m |
    if $m.api != "soap" then "loadgen ran the \($m.api) API"
    elif $m.ok < 1 then "no transaction ended OK"
    elif $m.ok > $s.gateway_soap_requests - $s.gateway_soap_faults then
      "loadgen counted \($m.ok) OK, the gateway answered \($s.gateway_soap_requests) requests with \($s.gateway_soap_faults) faults"
    elif ($m.results | keys | any(test("^FAULT_10[0-9]$"))) then "refused as the client'"'"'s mistake"
    else empty end' "$OUT")
  [ -z "$why" ] ||
    { echo "run.sh: soap synch $k: $why (results $(jq -c --arg k "$k" '.soap[$k].max_run.results' "$OUT"))" >&2; exit 1; }
done
# The Kannel row is optional for a full run (its figure must not cost the
# others), but the smoke exists so that nothing rots: where Kannel is
# installed, a row that could not be measured fails it; where it is not, the
# smoke says so and skips the row.
if [ $SMOKE -eq 1 ]; then
  if [ $KANNEL_INSTALLED -eq 0 ]; then
    echo "run.sh: SKIP Kannel row: Debian kannel (bearerbox, smsbox) is not installed" >&2
  elif kerr=$(jq -r '.error // empty' "$R/kannel.json") && [ -n "$kerr" ]; then
    echo "run.sh: the Kannel row failed: $kerr" >&2
    exit 1
  elif ! jq -e '.submit_sm_per_s | type == "number"' "$R/kannel.json" >/dev/null; then
    echo "run.sh: the Kannel row has no submit_sm_per_s figure" >&2
    exit 1
  fi
fi

# ---- the merger plan (optional: BENCH_PLAN=1) ---------------------------------
# Its own stack (a registry of 100,000 generated certificates, or 3,000 with
# --smoke), its own table and JSON beside this one's: a failure there costs
# none of the figures above.
if [ -n "${BENCH_PLAN:-}" ]; then
  echo
  log "merger plan: tests/bench/plan.sh"
  BENCH_BUILD=$B bash "$SRC/tests/bench/plan.sh" --no-build $([ $SMOKE -eq 1 ] && echo --smoke) \
    --out "${OUT%.json}-plan.json" || echo "run.sh: tests/bench/plan.sh failed: no plan figures" >&2
fi

# ---- the evidence archive (optional: BENCH_ARCHIVE=1) --------------------------
# Its own stack (tests/bench/archive.sh = BENCH_ONLY=archive run.sh), table and JSON
# beside this one's, like the plan's.
if [ -n "${BENCH_ARCHIVE:-}" ]; then
  echo
  log "evidence archive: tests/bench/archive.sh"
  BENCH_BUILD=$B bash "$SRC/tests/bench/archive.sh" --no-build $([ $SMOKE -eq 1 ] && echo --smoke) \
    --out "${OUT%.json}-archive.json" || echo "run.sh: tests/bench/archive.sh failed: no archive figures" >&2
fi
