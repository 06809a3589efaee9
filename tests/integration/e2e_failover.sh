#!/usr/bin/env bash
# Failover under load (issue 15): three gateway instances behind HAProxy
# (deploy/haproxy.cfg, its ports changed), Redis as a master with two replicas
# watched by three redis-sentinels (the instances find the master through them,
# redis.wait_replicas 1), the carrier simulator, and steady signing load through
# HAProxy (failover_load.py: a client that retries after Retry-After, and with
# its Idempotency-Key after a dropped connection).  Mid-load, each after the
# other: kill -9 the Redis master; kill -9 the instance with the most
# transactions in flight on its SMPP binds; kill -9 another instance.  Then:
#
#  - every transaction that got a 202 ended: completed OK, or failed EXPIRED by
#    its deadline; none pending, none unknown (an acknowledged one lost in the
#    failover would read 404), through HAProxy and straight from Redis;
#  - exactly once: no Idempotency-Key gave two transactions, and the simulated
#    SIMs signed each request at most once (the simulator logs every command a
#    card runs with the text it shows; each request's text is its own) and
#    each completed one exactly once;
#  - every 503 carried Retry-After (the gateway's and HAProxy's own);
#  - the time from each kill to the first successful answer is printed.
#
# Each instance binds every carrier's SMSC itself (links viettel-gw-1, ...): the
# simulator takes several binds of one system_id and hands each PoR to the
# least recently used receiver, so a PoR often reaches an instance that did
# not send the command, and completes the transaction there.
# FAILOVER_RATE (requests/s, default 40; fewer under the sanitizers) and
# FAILOVER_PHASE_S (seconds of load between kills, default 8).
. "$(dirname "$0")/lib.sh"

RATE=${FAILOVER_RATE:-40}
PHASE=${FAILOVER_PHASE_S:-8}
TXN_TIMEOUT_S=15
MASTER_NAME=simpki
N_GW=3

# --- Redis: a master, two replicas, three sentinels (lib.sh).
sentinel_start "$MASTER_NAME"
rc() { redis-cli -p "$(sentinel_master_port)" "$@"; }

# --- the simulator: the load's numbers all confirm, quickly.
make_demo
start_ocsp
# Numbers with a registered certificate that can sign: not no_key or wrong_key,
# not the revoked certificate (84960000171), not the enrolment cards.
jq -r --slurpfile s "$SRC/tests/sim/scenario-default.json" \
  '[.[].msisdn] as $reg | $s[0].subscribers[] | select(.msisdn as $m | $reg | index($m))
   | select(.behaviour != "no_key" and .behaviour != "wrong_key" and .msisdn != "84960000171") | .msisdn' \
  "$T/demo/registry.json" > "$T/numbers"
SIM_DELAY_MS=200 SIM_SCEN_ARGS="--rawfile nums $T/numbers" \
SIM_SCEN_EDIT='($nums | split("\n") | map(select(. != ""))) as $n
  | .subscribers |= map(if (.msisdn as $m | $n | index($m)) then .behaviour = "confirm" | del(.delay_ms) else . end)' \
  start_sim
write_config
import_registry

# --- three instances: own port, own links, the same Redis.
GW_PORTS=() GW_PIDS=()
for i in $(seq 1 $N_GW); do
  GW_PORTS+=("$(free_port)")
done
instance_config() { # N -> $T/simpki-N.json
  local i=$1
  jq --argjson port "${GW_PORTS[$((i - 1))]}" --arg gw "gw-$i" '
      .listen_port = $port
      | .carriers |= map(.name as $c | .smpp |= map(.name = ($c + "-" + $gw)))
      | '"$(sentinel_config_edit)"' | .redis.wait_replicas = 1 | .redis.wait_timeout_ms = 500' \
    "$T/simpki.json" > "$T/simpki-$i.json"
  if "$SIMPKID" --help-config | grep '^  instance ' >/dev/null; then
    jq --arg gw "gw-$i" '.instance = $gw' "$T/simpki-$i.json" > "$T/simpki-$i.json.tmp"
    mv "$T/simpki-$i.json.tmp" "$T/simpki-$i.json"
  fi
}
gw_healthy() { curl -sf "http://127.0.0.1:$1/healthz" | jq -e '.carrier_links == true' >/dev/null; }
start_instance() { # N
  local i=$1 port from
  for _ in 1 2 3; do
    port=${GW_PORTS[$((i - 1))]}
    instance_config "$i"
    touch "$T/gw-$i.log"
    from=$(wc -l <"$T/gw-$i.log")
    "$SIMPKID" -c "$T/simpki-$i.json" >>"$T/gw-$i.log" 2>&1 &
    GW_PIDS[$((i - 1))]=$!
    PIDS+=("$!")
    wait_for 30 own_listen "$T/gw-$i.log" "$from" "$port" && wait_for 15 gw_healthy "$port" && return 0
    kill -0 "${GW_PIDS[$((i - 1))]}" 2>/dev/null && return 1
    grep -q "cannot listen" "$T/gw-$i.log" || return 1
    GW_PORTS[$((i - 1))]=$(free_port)  # taken meanwhile: another one
  done
  return 1
}
for i in $(seq 1 $N_GW); do
  start_instance "$i" || { bad "instance gw-$i did not start"; exit 1; }
done

# --- HAProxy: the shipped configuration with this run's ports (deploy/local-multi.sh).
ROOT=$SRC
. "$SRC/deploy/local-multi.sh"
start_haproxy() {
  for _ in 1 2 3; do
    LB_PORT=$(free_port)
    haproxy_local_cfg "$T/haproxy.cfg" "$LB_PORT" "${GW_PORTS[@]}" || { bad "haproxy -c refuses deploy/haproxy.cfg"; return 1; }
    haproxy -db -f "$T/haproxy.cfg" >>"$T/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    PIDS+=("$HAPROXY_PID")
    wait_for 10 lb_all_up && return 0
    kill "$HAPROXY_PID" 2>/dev/null || true
  done
  return 1
}
# Every instance answers through the balancer (its health checks passed).
lb_all_up() {
  local seen=() k
  kill -0 "$HAPROXY_PID" 2>/dev/null || return 1
  for _ in $(seq 1 12); do
    seen+=("$(curl -s -o /dev/null -D - "http://127.0.0.1:$LB_PORT/healthz" | tr -d '\r' |
              sed -n 's/^[Xx]-[Ss]impki-[Ii]nstance: //p')")
  done
  for k in $(seq 1 $N_GW); do printf '%s\n' "${seen[@]}" | grep -qx "gw-$k" || return 1; done
}
start_haproxy || { bad "haproxy did not start with every instance up"; exit 1; }
check "the three instances answer through HAProxy" lb_all_up
ok "stack up: redis master + 2 replicas + 3 sentinels, $N_GW instances on ${GW_PORTS[*]}, haproxy on $LB_PORT"

# --- load, and the kills.
L=$T/load
mkdir -p "$L"
python3 "$SRC/tests/integration/failover_load.py" "http://127.0.0.1:$LB_PORT" "$TOKEN" "$T/numbers" "$L" \
  --rate "$RATE" --txn-timeout "$TXN_TIMEOUT_S" >"$T/load.out" 2>"$T/load.log" &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
kill_at() { echo "$(date +%s.%N) $*" >>"$L/kills"; }

sleep "$PHASE"
# 1. the Redis master.
old=$(sentinel_master_port)
kill_at redis-master
redis_node_kill 0
new=$(sentinel_wait_master "$old") || true
check "the sentinels promoted a replica (master $old, now ${new:-none})" test -n "$new" -a "$new" != "$old"
sleep "$PHASE"

# 2. the instance with the most transactions in flight (accepted through it,
#    sent on its binds, not finished).
victim=$(sort -k2,2nr "$L/pending" | head -n1 | cut -d' ' -f1)
case "$victim" in gw-[0-9]) ;; *) victim=gw-1 ;; esac
vi=${victim#gw-}
kill_at gw-with-binds "$victim"
kill -9 "${GW_PIDS[$((vi - 1))]}"
wait "${GW_PIDS[$((vi - 1))]}" 2>/dev/null || true
sleep "$PHASE"

# 3. another one.
other=$(( vi % N_GW + 1 ))
kill_at gw-other "gw-$other"
kill -9 "${GW_PIDS[$((other - 1))]}"
wait "${GW_PIDS[$((other - 1))]}" 2>/dev/null || true
sleep "$PHASE"

touch "$L/stop"
# Workers follow their last transactions to the end (at most the deadline + 30 s).
wait_for $((TXN_TIMEOUT_S + 45)) test -f "$L/summary.json" || bad "the load driver did not finish"
wait "$LOAD_PID" 2>/dev/null || true
cat "$T/load.out"
S=$L/summary.json

# --- checks.
summary() { jq -e "$1" "$S" >/dev/null; }
n=$(jq .accepted "$S")
check "load accepted transactions through every phase ($n)" \
  summary '.accepted > 0 and ([.kills[] | .first_accepted_s != null] | all)'
check "the killed instance $victim had transactions in flight ($(jq '.kills[1].in_flight' "$S"))" \
  summary '.kills[1].in_flight > 0'
check "every accepted transaction ended completed OK or failed EXPIRED: $(jq -c .finals "$S")" \
  summary '[.txns[] | "\(.final) \(.result)"] | all(. == "completed OK" or . == "failed EXPIRED")'
check "most ended completed OK (not expired by a lost command)" \
  summary '([.txns[] | select(.final == "completed")] | length) * 10 >= .accepted * 9'
check "every request was accepted in the end, retried after 503s and dropped connections ($(jq '.never_accepted | length' "$S") not)" \
  summary '.never_accepted == []'
check "no Idempotency-Key gave two transactions" summary '.keys_with_two_ids == []'
check "every 503 carried Retry-After ($(jq .n503 "$S") answers 503)" summary '.n503 == .n503_retry_after'

# Straight from Redis (the master now): each transaction stored finished, with its time.  One
# SCAN for every transaction key, then one pipelined HMGET each.
jq -r '.txns[] | "\(.id) \(.final)"' "$S" | sort > "$T/ids"
rc --scan --pattern 'spk:*:txn:*' | grep -E '^spk:[^:]*:txn:[^:]+$' | awk -F: '{print $NF, $0}' | sort > "$T/txnkeys" || true
join "$T/ids" "$T/txnkeys" > "$T/joined" || true
awk '{print "HMGET", $3, "state", "finished_ms"}' "$T/joined" | rc | paste -d' ' - - > "$T/stored"
store_bad=$(paste -d' ' "$T/joined" "$T/stored" | awk '$4 != $2 || $5 !~ /^[0-9]+$/ {print; n++} END {print n + 0}' | tee "$T/store-bad" | tail -n1)
unstored=$(join -v1 "$T/ids" "$T/txnkeys" | wc -l)
check "Redis holds every accepted transaction ($unstored missing) as answered, with its finish time ($store_bad differ)" \
  test "$store_bad" = 0 -a "$unstored" = 0
due=$(rc --scan --pattern 'spk:*:due' | while read -r k; do rc zcard "$k"; done | awk '{s+=$1} END {print s+0}')
check "no transaction left due in Redis ($due)" test "$due" = 0

# The SIMs: each request's text ("fo rSEQ") signed at most once, each completed one exactly once.
grep -o 'shows "fo r[0-9]*"[^>]*-> result 0x00' "$T/sim.log" | sed 's/shows "\(fo r[0-9]*\)".*/\1/' | sort | uniq -c |
  awk '{print $2 " " $3, $1}' > "$T/signed" || true
twice=$(awk '$3 > 1' "$T/signed" | wc -l)
check "no request signed twice by its SIM ($twice)" test "$twice" = 0
jq -r '.txns[] | select(.final == "completed") | .tag' "$S" | sort > "$T/completed-tags"
missing=$(cut -d' ' -f1-2 "$T/signed" | sort | comm -23 "$T/completed-tags" - | wc -l)
check "every completed transaction was signed by its SIM ($missing not)" test "$missing" = 0
finish
