#!/usr/bin/env bash
# Run simpki on this machine: a private redis-server, the carrier simulator
# (Viettel, Vinaphone and Mobifone SMSCs with demo SIMs), a demo PKI and the
# gateway, all on loopback.  Ctrl-C stops everything.
#
#   ./deploy/local.sh                 API on 127.0.0.1:8080
#   SIMPKI_PORT=9090 ./deploy/local.sh
#   ./deploy/local.sh --instances 3 --sentinel
#                                     3 gateways (8081-8083) behind HAProxy on 8080; Redis as a
#                                     master (6390), 2 replicas (6391, 6392) and 3 sentinels
#                                     (SIMPKI_SENTINEL_BASE, 26390-26392); deploy/local-multi.sh
#
# The evidence archive (docs/archive.md) goes to a private PostgreSQL (Debian's postgresql-15):
# its cluster in $RUN/pg, a socket in $RUN/pgsock and 127.0.0.1:SIMPKI_PG_PORT (5490), database
# and user "simpki" (as root, where user postgres cannot enter $RUN: /var/tmp/simpki-pg-<hash>;
# SIMPKI_PG_DIR chooses); SIMPKI_ARCHIVE=0 runs without it.
#
# Other settings: SIMPKI_REDIS_PORT (6390), SIMPKI_SMPP_BASE (27751: three
# simulator ports from there), SIMPKI_MSSP_PORT (27760: the simulator's MSSP), SIMPKI_PKI_PORT (8880: the demo PKI's OCSP
# responder; its certificates name it, and CRLs at the next port), SIMPKI_RUN_DIR (.run/local: logs, AOF, demo
# PKI, secrets), SIMPKI_BUILD_DIR (build; set SIMPKI_NO_BUILD=1 to use it as is).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MULTI_INSTANCES=1 MULTI_SENTINEL=0
while [ $# -gt 0 ]; do
  case $1 in
    --instances) MULTI_INSTANCES=${2:-}; shift 2 || true ;;
    --sentinel) MULTI_SENTINEL=1; shift ;;
    *) echo "usage: local.sh [--instances N] [--sentinel]" >&2; exit 2 ;;
  esac
done
[[ "$MULTI_INSTANCES" =~ ^[1-9]$ ]] || { echo "local.sh: --instances takes 1 to 9" >&2; exit 2; }
RUN=${SIMPKI_RUN_DIR:-$ROOT/.run/local}
BUILD=${SIMPKI_BUILD_DIR:-$ROOT/build}
API_PORT=${SIMPKI_PORT:-8080}
REDIS_PORT=${SIMPKI_REDIS_PORT:-6390}
ARCHIVE=${SIMPKI_ARCHIVE:-1}
PG_PORT=${SIMPKI_PG_PORT:-5490}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
SMPP_BASE=${SIMPKI_SMPP_BASE:-27751}
MSSP_PORT=${SIMPKI_MSSP_PORT:-27760} # the simulator's ETSI TS 102 204 front
export SIMPKI_PKI_PORT=${SIMPKI_PKI_PORT:-8880} # read by tests/pki/mkpki.sh
. "$ROOT/deploy/local-multi.sh"

PKGS=(build-essential cmake pkg-config libssl-dev openssl libevent-dev libhiredis-dev libjansson-dev
      libsmpp34-dev libcurl4-openssl-dev libxml2-dev libpq-dev redis-server redis-tools curl jq $(multi_packages))
[ "$ARCHIVE" = 0 ] || PKGS+=(postgresql-15 postgresql-client-15)
need=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -n "$PG_BIN" ] || PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)

# One instance per run directory.  Checked before anything is built, written or started: a
# second run must not overwrite the first one's key, truncate its logs or import into its
# Redis.  The lock (flock on fd 9) is released by the kernel when the last holder ends,
# however it ends: the parts started below inherit fd 9, so it is held while any of them runs.
mkdir -p "$RUN"
exec 9>>"$RUN/local.lock"
if ! flock -n 9; then
  echo "local.sh: simpki is already running from $RUN (pid $(cat "$RUN/local.pid" 2>/dev/null || echo '?'))." >&2
  echo "          Use that one (its API key: $RUN/secrets/eoffice-demo.key), stop it with Ctrl-C," >&2
  echo "          or start another with SIMPKI_RUN_DIR, SIMPKI_PORT, SIMPKI_REDIS_PORT, SIMPKI_SMPP_BASE, SIMPKI_PKI_PORT." >&2
  exit 1
fi
# PostgreSQL runs as user postgres when we are root (it refuses root): its files must be its own,
# and it must reach them.  A cluster left running by a run that was killed is stopped (we hold the
# lock: no other run uses it).
# As root, the server runs as user postgres, which cannot enter $RUN when a directory above it is
# private (a checkout under /root, a mktemp directory): the cluster, its socket and its log then
# live in a directory of their own under /var/tmp, named after $RUN (so the same run directory
# finds the same archive again), printed below.  SIMPKI_PG_DIR chooses it.
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG_HOME=${SIMPKI_PG_DIR:-$RUN}
if [ -z "${SIMPKI_PG_DIR:-}" ] && [ "$ARCHIVE" != 0 ] && [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$RUN"; then
  PG_HOME=/var/tmp/simpki-pg-$(printf %s "$(cd "$RUN" && pwd)" | sha256sum | cut -c1-12)
fi
if [ "$ARCHIVE" != 0 ] && [ "$PG_HOME" != "$RUN" ]; then
  mkdir -p "$PG_HOME"
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_HOME"; fi
  chmod 700 "$PG_HOME"
fi
PG_DIR=$PG_HOME/pg PG_SOCK=$PG_HOME/pgsock PG_LOG=$PG_HOME/postgres.log
if [ "$ARCHIVE" != 0 ] && [ -f "$PG_DIR/postmaster.pid" ]; then
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1 || true
fi
# Listening sockets are read with ss, not probed by connecting: the demo OCSP responder
# (openssl ocsp) serves one connection at a time and would wait on an empty one.
listening() {
  if command -v ss >/dev/null; then
    ss -ltnH "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
busy=()
for p in "$API_PORT" "$REDIS_PORT" $([ "$ARCHIVE" = 0 ] || echo "$PG_PORT") "$SMPP_BASE" $((SMPP_BASE + 1)) $((SMPP_BASE + 2)) "$MSSP_PORT" "$SIMPKI_PKI_PORT" \
         $(multi_ports); do
  listening "$p" && busy+=("$p")
done
if [ ${#busy[@]} -gt 0 ]; then
  echo "local.sh: port(s) ${busy[*]} on 127.0.0.1 already in use (another simpki, or something else);" >&2
  echo "          nothing was started.  Choose others: SIMPKI_PORT, SIMPKI_REDIS_PORT, SIMPKI_PG_PORT, SIMPKI_SMPP_BASE, SIMPKI_PKI_PORT." >&2
  exit 1
fi
echo $$ >"$RUN/local.pid"

if [ "${SIMPKI_NO_BUILD:-0}" != 1 ]; then
  echo "== building in $BUILD (progress below; the first build takes a minute)"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  # One line a step ("[ 42%] Building C object ..."), so that a long build is not silent.
  cmake --build "$BUILD" -j "$(nproc)" --target simpkid simpki-admin simpki-sim | grep --line-buffered '^\[' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "local.sh: the build failed (see above)" >&2; exit 1; }
fi

mkdir -p "$RUN/redis" "$RUN/secrets"
chmod 700 "$RUN/secrets"
PIDS=()
STOPPED=0
PG_UP=0
# Runs once: on INT/TERM, then again on the EXIT that follows.
stop() {
  [ "$STOPPED" = 0 ] || return 0
  STOPPED=1
  echo; echo "== stopping"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$PG_UP" = 1 ]; then pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR" -m fast -w stop >/dev/null 2>&1 || true; fi
  rm -f "$RUN/local.pid"
}
trap stop EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM

if [ "$MULTI_SENTINEL" = 1 ]; then
  multi_redis_up
else
echo "== redis-server on 127.0.0.1:$REDIS_PORT (AOF in $RUN/redis)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes \
  --dir "$RUN/redis" --logfile "$RUN/redis.log" &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

if [ "$ARCHIVE" != 0 ]; then
  echo "== postgresql on 127.0.0.1:$PG_PORT and $PG_SOCK (cluster in $PG_DIR)"
  [ -n "$PG_BIN" ] || { echo "local.sh: PostgreSQL is not installed (postgresql-15), or run with SIMPKI_ARCHIVE=0" >&2; exit 1; }
  mkdir -p "$PG_SOCK"
  touch "$PG_LOG"
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$PG_SOCK" "$PG_LOG"
    # The postgres user must reach them: every directory above at least searchable.
    if ! runuser -u postgres -- test -w "$PG_SOCK"; then
      echo "local.sh: user postgres cannot reach $PG_HOME (a parent directory is private);" >&2
      echo "          set SIMPKI_PG_DIR to a directory it can reach, or SIMPKI_ARCHIVE=0." >&2
      exit 1
    fi
  fi
  if [ ! -f "$PG_DIR/PG_VERSION" ]; then
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
    pg_as "$PG_BIN/initdb" -D "$PG_DIR" -U simpki --auth=trust -E UTF8 --locale=C.UTF-8 >"$RUN/pg-initdb.log" 2>&1 \
      || { echo "local.sh: initdb failed (see $RUN/pg-initdb.log)" >&2; exit 1; }
  fi
  # 9>&-: the server must not hold local.sh's lock (it outlives us when we are killed -9).
  pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR" -l "$PG_LOG" -w -t 60 \
    -o "-p $PG_PORT -k $PG_SOCK -c listen_addresses=127.0.0.1" start >/dev/null 9>&- \
    || { echo "local.sh: PostgreSQL did not start:" >&2; tail -5 "$PG_LOG" >&2; exit 1; }
  PG_UP=1
  psql -h "$PG_SOCK" -p "$PG_PORT" -U simpki -d postgres -qAtc "select 1 from pg_database where datname='simpki'" \
    | grep -q 1 || createdb -h "$PG_SOCK" -p "$PG_PORT" -U simpki simpki
  PG_CONNINFO="host=$PG_SOCK port=$PG_PORT user=simpki dbname=simpki"
fi

echo "== demo PKI and subscribers"
bash "$ROOT/tests/sim/mkdemo.sh" "$RUN/demo" >"$RUN/mkdemo.log"

# The gateway checks every signing certificate's status: the demo CA answers
# OCSP as a real one does (`openssl ocsp` over its `openssl ca` database).
echo "== OCSP responder on port $SIMPKI_PKI_PORT"
PKI=$RUN/demo/pki
: >"$RUN/ocsp.log"
openssl ocsp -port "$SIMPKI_PKI_PORT" -timeout 5 -index "$PKI/state/ca/index.txt" -CA "$PKI/ca.pem" \
  -rsigner "$PKI/ocsp-ca.pem" -rkey "$PKI/ocsp-ca.key.pem" -nmin 60 -ignore_err >>"$RUN/ocsp.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q '^ACCEPT' "$RUN/ocsp.log" && break; sleep 0.1; done

jq --arg pki "$RUN/demo/pki" --argjson base "$SMPP_BASE" --argjson mssp "$MSSP_PORT" \
   '.pki = $pki | .carriers |= [to_entries[] | .value.port = ($base + .key) | .value] | .mssp.port = $mssp' \
   "$ROOT/tests/sim/scenario-default.json" > "$RUN/scenario.json"

# Secrets go to files, as in production; the config names the files.
TOKEN=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '%s\n' "$TOKEN" > "$RUN/secrets/eoffice-demo.key"
# An operator's key: merger review plans (/v1/plans) and their page (/ui/plans).
OPS_TOKEN=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
printf '%s\n' "$OPS_TOKEN" > "$RUN/secrets/operator-demo.key"
for c in $(jq -r '.carriers[].name' "$RUN/scenario.json"); do
  jq -r --arg c "$c" '.carriers[] | select(.name == $c) | .master_key' "$RUN/scenario.json" > "$RUN/secrets/$c-ota.mk"
  jq -r --arg c "$c" '.carriers[] | select(.name == $c) | .password' "$RUN/scenario.json" > "$RUN/secrets/$c-smpp.pass"
done
chmod 600 "$RUN"/secrets/*

# The shipped example configuration, pointed at the local parts.
jq --slurpfile s "$RUN/scenario.json" --arg run "$RUN" --argjson api "$API_PORT" --argjson redis "$REDIS_PORT" '
  .listen_port = $api
  | .trust_anchors = ($run + "/demo/pki/trust.pem") | .intermediates = ($run + "/demo/pki/intermediates.pem")
  | .redis = {host: "127.0.0.1", port: $redis, shards: .redis.shards}
  | .api_keys = [{name: "eoffice-demo", key_file: ($run + "/secrets/eoffice-demo.key"), roles: ["sign", "enrol"]},
                 {name: "operator-demo", key_file: ($run + "/secrets/operator-demo.key"), roles: ["operator", "enrol"]}]
  | .carriers |= map(. as $c | ($s[0].carriers[] | select(.name == $c.name)) as $sc
      | .service_number = $sc.service_number
      | .ota_master_key_file = ($run + "/secrets/" + .name + "-ota.mk")
      | .smpp |= map(.host = "127.0.0.1" | .port = $sc.port | .system_id = $sc.system_id
                     | .password_file = ($run + "/secrets/" + $c.name + "-smpp.pass")))
' "$ROOT/config/simpki.example.json" > "$RUN/simpki.json"
# The archive: the local cluster (trust authentication on its socket), or none.
if [ "$ARCHIVE" != 0 ]; then
  jq --arg ci "$PG_CONNINFO" '.archive.conninfo = $ci | del(.archive.password_file)' "$RUN/simpki.json" >"$RUN/simpki.json.tmp"
else
  jq 'del(.archive)' "$RUN/simpki.json" >"$RUN/simpki.json.tmp"
fi
mv "$RUN/simpki.json.tmp" "$RUN/simpki.json"

echo "== carrier simulator on ports $SMPP_BASE-$((SMPP_BASE + 2))"
"$BUILD/tests/sim/simpki-sim" --scenario "$RUN/scenario.json" >"$RUN/sim.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q "simpki-sim ready" "$RUN/sim.log" && break; sleep 0.1; done
grep -q "simpki-sim ready" "$RUN/sim.log" || { echo "local.sh: the carrier simulator did not start:" >&2; tail -5 "$RUN/sim.log" >&2; exit 1; }

"$BUILD/gateway/simpki-admin" -c "$RUN/simpki.json" import "$RUN/demo/registry.json"

if multi_on; then
  multi_gateways_up || exit 1
else
echo "== gateway on http://127.0.0.1:$API_PORT (log: $RUN/gateway.log)"
"$BUILD/gateway/simpkid" -c "$RUN/simpki.json" >"$RUN/gateway.log" 2>&1 &
GW=$!
PIDS+=($GW)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$API_PORT/healthz" | jq -e '.carrier_links' >/dev/null 2>&1 && break
  kill -0 $GW 2>/dev/null || { echo "simpkid exited:"; tail -20 "$RUN/gateway.log"; exit 1; }
  sleep 0.1
done
fi

cat <<EOT

simpki is running.  API key (also in $RUN/secrets/eoffice-demo.key):

  export SIMPKI_KEY=$TOKEN

Binaries: $BUILD/gateway/simpkid and $BUILD/gateway/simpki-admin
  export PATH=$BUILD/gateway:\$PATH
Configuration (for -c): $RUN/simpki.json
  e.g. simpki-admin -c $RUN/simpki.json show 0960000001
Logs: $RUN/gateway.log, $RUN/sim.log, $RUN/redis.log${PG_LOG:+, $PG_LOG}
Evidence archive (SIMPKI_ARCHIVE=0: none): psql -h $PG_SOCK -p $PG_PORT -U simpki simpki

Ask demo number 0960000001 (Viettel, confirms after a moment) to sign:

  DIGEST=\$(printf 'Quyết định 123/QĐ-UBND' | openssl dgst -sha256 -binary | base64)
  curl -s -H "Authorization: Bearer \$SIMPKI_KEY" -H 'Content-Type: application/json' \\
       -d "{\"msisdn\":\"0960000001\",\"digest\":\"\$DIGEST\",\"digest_alg\":\"SHA-256\",\"display_text\":\"Ký Quyết định 123/QĐ-UBND\"}" \\
       http://127.0.0.1:$API_PORT/v1/signatures

  curl -s -H "Authorization: Bearer \$SIMPKI_KEY" "http://127.0.0.1:$API_PORT/v1/signatures/<id>?wait=30"

Other demo numbers force other outcomes: see tests/sim/README.md.

Merger review (docs/merger.md): the operator's key is in $RUN/secrets/operator-demo.key;
the review page is http://127.0.0.1:$API_PORT/ui/plans, and on the command line:

  SIMPKI_API_KEY=\$(cat $RUN/secrets/operator-demo.key) simpki-admin -c $RUN/simpki.json plan list

Ctrl-C stops.
EOT
if [ -z "${GW:-}" ]; then
  multi_banner
  wait -n  # the first part to end ends the run
  exit 1
fi
wait $GW
