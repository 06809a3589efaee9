#!/usr/bin/env bash
#
# wait.sh - what redis.wait_replicas costs per transaction (docs/benchmarks.md,
# "WAIT behind state-changing calls").
#
#   tests/bench/wait.sh [BUILD_DIR]      (default build/; needs simpkid, simpki-admin,
#                                         simpki-sim, loadgen built there)
#
# A master and one replica (replicaof, AOF everysec on the master as in run.sh)
# on loopback, the simulator with EC subscribers answering at once, simpkid;
# loadgen's closed loop (CONC transactions in flight, DUR seconds) once with
# wait_replicas 0 and once with wait_replicas 1, the same stack otherwise.
# Prints create (POST) p50/p99, whole-transaction p50/p99 and completed/s for
# each, and the WAITs the master ran per transaction.  Asserts nothing.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=$(cd "${1:-$SRC/build}" && pwd)
N_SUBS=${N_SUBS:-4000}
CONC=${CONC:-64}
DUR=${DUR:-10}
WARM=${WARM:-2}
SIMPKID=$B/gateway/simpkid ADMIN=$B/gateway/simpki-admin SIM=$B/tests/sim/simpki-sim LOADGEN=$B/tests/bench/loadgen
for f in "$SIMPKID" "$ADMIN" "$SIM" "$LOADGEN"; do [ -x "$f" ] || { echo "wait.sh: $f not built" >&2; exit 1; }; done

. "$SRC/tests/bench/lib.sh"
bench_scratch bench-wait wait.sh
log() { printf '[wait %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

log "PKI and $N_SUBS subscribers"
printf '84960000002\tec\tBench EC\tUBND Bench\tgood\n' >"$T/subs.tsv"
bash "$SRC/tests/pki/mkpki.sh" "$T/pki" "$T/subs.tsv" >"$T/mkpki.log" 2>&1
bash "$SRC/tests/sim/mkmssp.sh" "$T/pki/mssp" >>"$T/mkpki.log" 2>&1 # the simulator serves its MSSP too
P1=$(free_port); P2=$(free_port); P3=$(free_port)
FIRST=84961000000
jq -n --slurpfile d "$SRC/tests/sim/scenario-default.json" --arg pki "$T/pki" \
   --argjson p1 "$P1" --argjson p2 "$P2" --argjson p3 "$P3" --argjson n "$N_SUBS" --argjson first "$FIRST" '
  $d[0] | .pki = $pki | .carriers[0].port = $p1 | .carriers[1].port = $p2 | .carriers[2].port = $p3 | .mssp.port = 0
  | .defaults.delay_ms = 0
  | .subscribers = [range(0; $n) | ($first + .) as $m | {msisdn: ($m | tostring), carrier: "viettel",
      iccid: ("8984040000" + ($m | tostring | .[2:])), kv: 1, behaviour: "confirm", delay_ms: 0,
      key: "subs/84960000002.key.pem", cert: "subs/84960000002.crt.der"}]' >"$T/scenario.json"
jq --arg pki "$T/pki" '[.subscribers[] | {msisdn, carrier, iccid, kv, cert_file: ($pki + "/" + .cert), status: "active"}]' \
   "$T/scenario.json" >"$T/registry.json"

MPORT=$(free_port)
mkdir -p "$T/m" "$T/r"
redis-server --port "$MPORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --auto-aof-rewrite-percentage 0 --dir "$T/m" --logfile "$T/master.log" &
PIDS+=("$!")
wait_for 10 redis-cli -p "$MPORT" ping
RPORT=$(free_port)
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$T/r" --logfile "$T/replica.log" \
  --replicaof 127.0.0.1 "$MPORT" &
PIDS+=("$!")
wait_for 10 bash -c "redis-cli -p $RPORT info replication | grep -q master_link_status:up"

"$SIM" --scenario "$T/scenario.json" --log-level warn >"$T/sim.log" 2>&1 &
PIDS+=("$!")
wait_for 60 grep -q "simpki-sim ready" "$T/sim.log"

API_PORT=$(free_port)
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
gw_config() { # wait_replicas
  jq -n --slurpfile s "$T/scenario.json" --arg pki "$T/pki" --arg hash "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" \
     --argjson api "$API_PORT" --argjson redis "$MPORT" --argjson w "$1" '{
      listen_host: "127.0.0.1", listen_port: $api, log_level: "warn", revocation_check: false,
      transaction_timeout_s: 600, trust_anchors: ($pki + "/trust.pem"), intermediates: ($pki + "/intermediates.pem"),
      redis: {host: "127.0.0.1", port: $redis, shards: 16, wait_replicas: $w, wait_timeout_ms: 1000},
      api_keys: [{name: "bench", sha256: $hash}],
      carriers: [ $s[0].carriers[] | {name, service_number, ota_master_key: .master_key,
                  smpp: [{host: "127.0.0.1", port, system_id, password, window: 10}]} ] }'
}
gw_config 0 >"$T/simpki.json"
log "registry import"
"$ADMIN" -c "$T/simpki.json" import "$T/registry.json" >"$T/import.log" 2>&1

links_up() { curl -sf "http://127.0.0.1:$API_PORT/healthz" | jq -e '.carrier_links == true' >/dev/null; }
waits() { redis-cli -p "$MPORT" info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_wait:/ { print $3 }' | grep . || echo 0; }

run_one() { # wait_replicas
  local gw w0 out
  gw_config "$1" >"$T/simpki.json"
  "$SIMPKID" -c "$T/simpki.json" >>"$T/gateway-$1.log" 2>&1 &
  gw=$!
  PIDS+=("$gw")
  wait_for 30 links_up
  w0=$(waits)
  out=$("$LOADGEN" --port "$API_PORT" --token "$TOKEN" --numbers "$FIRST:$N_SUBS" --mode closed \
        --concurrency "$CONC" --duration "$DUR" --warmup "$WARM" --label "wait$1" 2>>"$T/loadgen.log")
  jq -c --argjson w "$(( $(waits) - w0 ))" '. + {waits: $w}' <<<"$out"
  kill "$gw"; wait "$gw" 2>/dev/null || true
}

log "closed loop, $CONC in flight, ${DUR} s, wait_replicas 0 then 1"
R0=$(run_one 0)
R1=$(run_one 1)
printf '%-16s %12s %12s %12s %12s %12s %14s\n' wait_replicas "create p50" "create p99" "txn p50" "txn p99" \
  completed/s "WAITs per txn"
for r in "$R0" "$R1"; do
  jq -r '[.label, (.post_us.p50/1000), (.post_us.p99/1000), (.lat_us.p50/1000), (.lat_us.p99/1000),
          .completed_per_s, (if .started > 0 then .waits / .started else 0 end)]
         | "\(.[0])\t\(.[1]) ms\t\(.[2]) ms\t\(.[3]) ms\t\(.[4]) ms\t\(.[5])\t\(.[6] * 100 | round / 100)"' <<<"$r" |
    awk -F'\t' '{ printf "%-16s %12s %12s %12s %12s %12s %14s\n", $1, $2, $3, $4, $5, $6, $7 }'
done
echo "$R0"
echo "$R1"
