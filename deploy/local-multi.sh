# local-multi.sh - sourced by deploy/local.sh for `--instances N` and `--sentinel`:
# several gateway instances behind HAProxy (deploy/haproxy.cfg with local ports),
# and Redis as a master with two replicas watched by three redis-sentinels.
# Uses local.sh's variables (ROOT, RUN, BUILD, API_PORT, REDIS_PORT, PIDS) and
# sets its own.  Every process it starts goes into PIDS (local.sh stops them).
#
# Ports: HAProxy takes API_PORT (the one URL clients use); instance i listens on
# API_PORT+i.  Redis master REDIS_PORT, replicas REDIS_PORT+1 and +2; sentinels
# SIMPKI_SENTINEL_BASE (26390) .. +2.

MULTI_INSTANCES=${MULTI_INSTANCES:-1}
MULTI_SENTINEL=${MULTI_SENTINEL:-0}
SENTINEL_BASE=${SIMPKI_SENTINEL_BASE:-26390}
MULTI_MASTER=simpki

# Several instances or sentinels: HAProxy in front, instances on API_PORT+1...
multi_on() { [ "$MULTI_INSTANCES" -gt 1 ] || [ "$MULTI_SENTINEL" = 1 ]; }

# The ports this run takes besides local.sh's own (for its "already in use" check).
multi_ports() {
  local i
  if multi_on; then
    for i in $(seq 1 "$MULTI_INSTANCES"); do echo $((API_PORT + i)); done
  fi
  if [ "$MULTI_SENTINEL" = 1 ]; then
    echo $((REDIS_PORT + 1)) $((REDIS_PORT + 2)) "$SENTINEL_BASE" $((SENTINEL_BASE + 1)) $((SENTINEL_BASE + 2))
  fi
}

multi_packages() {
  multi_on && echo haproxy
  [ "$MULTI_SENTINEL" = 1 ] && echo redis-sentinel
  return 0
}

# A master (AOF, as local.sh's single Redis), two replicas, three sentinels (quorum 2).
multi_redis_up() {
  local i p conf
  echo "== Redis master on 127.0.0.1:$REDIS_PORT, replicas on $((REDIS_PORT + 1)) and $((REDIS_PORT + 2)) (in $RUN/redis)"
  for i in 0 1 2; do
    p=$((REDIS_PORT + i))
    mkdir -p "$RUN/redis/node-$i"
    local of=()
    [ "$i" -gt 0 ] && of=(--replicaof 127.0.0.1 "$REDIS_PORT")
    redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly yes --dir "$RUN/redis/node-$i" \
      --logfile "$RUN/redis-node-$i.log" "${of[@]}" &
    PIDS+=($!)
    for _ in $(seq 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  echo "== redis-sentinel on 127.0.0.1:$SENTINEL_BASE-$((SENTINEL_BASE + 2)), master name \"$MULTI_MASTER\""
  for i in 0 1 2; do
    p=$((SENTINEL_BASE + i))
    conf=$RUN/sentinel-$i.conf  # the sentinel rewrites it with what it learns: a fresh one a run
    cat >"$conf" <<EOT
port $p
bind 127.0.0.1
dir $RUN
logfile $RUN/sentinel-$i.log
sentinel monitor $MULTI_MASTER 127.0.0.1 $REDIS_PORT 2
sentinel down-after-milliseconds $MULTI_MASTER 2000
sentinel failover-timeout $MULTI_MASTER 10000
sentinel parallel-syncs $MULTI_MASTER 1
EOT
    redis-sentinel "$conf" &
    PIDS+=($!)
  done
  for _ in $(seq 100); do
    [ "$(redis-cli -p "$SENTINEL_BASE" sentinel master "$MULTI_MASTER" 2>/dev/null |
         awk 'f {print; exit} $0 == "num-other-sentinels" {f=1}')" = 2 ] && break
    sleep 0.2
  done
}

# simpki-N.json from simpki.json: its own port, its own links (viettel-gw-1, ...: each
# instance binds every carrier itself), the sentinels when there are.
multi_configs() {
  local i sent
  sent=$(printf '"127.0.0.1:%s",' "$SENTINEL_BASE" $((SENTINEL_BASE + 1)) $((SENTINEL_BASE + 2)))
  for i in $(seq 1 "$MULTI_INSTANCES"); do
    jq --argjson port $((API_PORT + i)) --arg gw "gw-$i" --argjson sentinel "$MULTI_SENTINEL" \
       --argjson sent "[${sent%,}]" --arg mn "$MULTI_MASTER" '
        .listen_port = $port
        | .carriers |= map(.name as $c | .smpp |= map(.name = ($c + "-" + $gw)))
        | if $sentinel == 1 then .redis = (.redis | del(.host, .port)
            + {sentinels: $sent, master_name: $mn, wait_replicas: 1, wait_timeout_ms: 500}) else . end' \
       "$RUN/simpki.json" > "$RUN/simpki-$i.json"
    # The instance's name in logs and metrics, where this simpkid knows the setting.
    if "$BUILD/gateway/simpkid" --help-config | grep '^  instance ' >/dev/null; then
      jq --arg gw "gw-$i" '.instance = $gw' "$RUN/simpki-$i.json" > "$RUN/simpki-$i.json.tmp"
      mv "$RUN/simpki-$i.json.tmp" "$RUN/simpki-$i.json"
    fi
  done
}

# One instance: simpki-N.json, log gateway-N.log.  Waits until it answers /healthz.
multi_gateway_up() { # N
  local i=$1 port=$((API_PORT + $1)) pid
  "$BUILD/gateway/simpkid" -c "$RUN/simpki-$i.json" >"$RUN/gateway-$i.log" 2>&1 &
  pid=$!
  PIDS+=($pid)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" | jq -e '.carrier_links' >/dev/null 2>&1 && return 0
    kill -0 $pid 2>/dev/null || { echo "simpkid gw-$i exited:"; tail -20 "$RUN/gateway-$i.log"; return 1; }
    sleep 0.1
  done
}

# haproxy_local_cfg OUT FRONT_PORT PORT...: deploy/haproxy.cfg for this machine, to OUT:
# the front end on 127.0.0.1:FRONT_PORT, instance gw-I on the I-th PORT, no privileges
# (no user/group/stats socket, maxconn within an ordinary file limit), logs on stdout.
# tests/integration/e2e_failover.sh runs HAProxy with it too.
haproxy_local_cfg() {
  local out=$1 front=$2 i=0 p api='' soap=''
  shift 2
  for p in "$@"; do
    i=$((i + 1))
    api+="    server gw-$i 127.0.0.1:$p\n"
    soap+="    server gw-$i 127.0.0.1:$p track simpki_api/gw-$i\n"
  done
  # awk -v turns each \n into a line break.
  awk -v front="$front" -v api="$api" -v soap="$soap" '
    /^    user |^    group |stats socket/ { next }
    /^    maxconn 20000/ { print "    maxconn 2000"; next }
    /log \/dev\/log local0/ { print "    log stdout format raw local0"; next }
    /bind 127.0.0.1:8080/ { sub("127.0.0.1:8080", "127.0.0.1:" front) }
    /^backend / { section = $2 }
    /^    server gw-/ { if (!done[section]++) printf "%s", (section == "simpki_soap" ? soap : api); next }
    { print }' "$ROOT/deploy/haproxy.cfg" > "$out"
  haproxy -c -q -f "$out"
}

# HAProxy on API_PORT in front of the instances, logs to $RUN/haproxy.log.
multi_haproxy_up() {
  local i ports=()
  for i in $(seq 1 "$MULTI_INSTANCES"); do ports+=("$((API_PORT + i))"); done
  haproxy_local_cfg "$RUN/haproxy.cfg" "$API_PORT" "${ports[@]}" ||
    { echo "local.sh: haproxy refuses $RUN/haproxy.cfg" >&2; return 1; }
  echo "== HAProxy on http://127.0.0.1:$API_PORT in front of $MULTI_INSTANCES instances ($RUN/haproxy.cfg)"
  haproxy -db -f "$RUN/haproxy.cfg" >"$RUN/haproxy.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "local.sh: HAProxy does not answer (see $RUN/haproxy.log)" >&2
  return 1
}

multi_gateways_up() {
  local i
  multi_configs
  for i in $(seq 1 "$MULTI_INSTANCES"); do
    echo "== gateway gw-$i on http://127.0.0.1:$((API_PORT + i)) (log: $RUN/gateway-$i.log)"
    multi_gateway_up "$i" || return 1
  done
  multi_haproxy_up
}

multi_banner() {
  local i
  echo
  echo "$MULTI_INSTANCES instances behind HAProxy: use http://127.0.0.1:$API_PORT (the commands below)."
  for i in $(seq 1 "$MULTI_INSTANCES"); do
    echo "  gw-$i: http://127.0.0.1:$((API_PORT + i))  config $RUN/simpki-$i.json  log $RUN/gateway-$i.log"
  done
  echo "  HAProxy: $RUN/haproxy.cfg, log $RUN/haproxy.log (X-Simpki-Instance names the instance that answered)"
  if [ "$MULTI_SENTINEL" = 1 ]; then
    echo "  Redis: master 127.0.0.1:$REDIS_PORT, replicas $((REDIS_PORT + 1)) $((REDIS_PORT + 2));" \
         "sentinels $SENTINEL_BASE-$((SENTINEL_BASE + 2)) (master name $MULTI_MASTER)"
    echo "  Try a failover: redis-cli -p $SENTINEL_BASE sentinel failover $MULTI_MASTER"
    echo "  simpki-admin: -c $RUN/simpki-1.json (finds the master through the sentinels)"
  fi
}
