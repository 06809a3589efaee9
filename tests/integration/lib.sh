# lib.sh - start the real stack for an integration test: a throwaway
# redis-server, the carrier simulator, the gateway; all on free loopback
# ports, all stopped when the test exits.  Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   stack_up            # redis + demo PKI + simulator + registry + gateway
#   sign 84960000001    # POST, prints the JSON answer
#   ...
#
# Needs: SIMPKID, SIMPKI_ADMIN, SIMPKI_SIM (binaries), SRC (repo root).
# KEEP_TMP=1 keeps the scratch directory $T after a passing run too.
set -euo pipefail

: "${SRC:?}" "${SIMPKID:?}" "${SIMPKI_ADMIN:?}" "${SIMPKI_SIM:?}"
T=$(mktemp -d /tmp/simpki-it.XXXXXX)
PIDS=()
FAILED=0
PASSED=0

# Every gateway log (JSON, write_config) goes to LOG_ARCHIVE_DIR as <test>.<file>.log, beside
# <test>.secrets (this run's API keys and passwords, one a line) -- for it_logs_check
# (tests/integration/check_logs.py), which reads every line of them after the whole suite.
archive_logs() {
  local d=${LOG_ARCHIVE_DIR:-} name f
  if [ -z "$d" ] || ! mkdir -p "$d"; then return 0; fi
  name=$(basename "$0" .sh)
  if [ "${TRANSPORT:-smpp}" != smpp ]; then name+=_$TRANSPORT; fi
  for f in "$T"/gateway*.log; do
    if [ -f "$f" ]; then cp "$f" "$d/$name.$(basename "$f")" || true; fi
  done
  { if [ -n "${TOKEN:-}" ]; then printf '%s\n' "$TOKEN" "other-$TOKEN" "lookup-$TOKEN"; fi
    printf '%s\n' "$CMP_SECRET" ap-test
    if [ -f "$T/scenario.json" ]; then jq -r '.carriers[] | .password, .master_key' "$T/scenario.json"; fi
  } >"$d/$name.secrets" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${PG_STARTED:-}" ]; then pg_stop immediate; fi
  archive_logs
  if [ $rc -ne 0 ] || [ $FAILED -ne 0 ]; then
    echo "--- logs kept in $T" >&2
    for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 40 "$f" >&2; }; done
  elif [ -n "${KEEP_TMP:-}" ]; then
    echo "--- kept $T" >&2
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT

ok()   { PASSED=$((PASSED + 1)); echo "ok   $*"; }
bad()  { FAILED=$((FAILED + 1)); echo "FAIL $*" >&2; }
check() { # description, command...
  local d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}
finish() {
  echo "$(basename "$0" .sh): $PASSED passed, $FAILED failed"
  [ $FAILED -eq 0 ] && [ $PASSED -gt 0 ]
}

free_port() {
  local p
  for _ in $(seq 1 200); do
    # Below the kernel's ephemeral range (32768+), where outgoing connections take ports.
    p=$((10000 + RANDOM % 22000))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return; fi
  done
  echo "no free port" >&2; return 1
}

wait_for() { # seconds, command...
  local n=$(( $1 * 10 )); shift
  for _ in $(seq 1 $n); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

REDIS_PORT=
# A port picked by free_port can be taken by a parallel test before we bind it:
# try again on another.  A restart (REDIS_PORT already set) keeps its port.
start_redis() {
  local fixed=${REDIS_PORT:-} tries=5
  [ -n "$fixed" ] && tries=1
  mkdir -p "$T/redis"
  for _ in $(seq $tries); do
    REDIS_PORT=${fixed:-$(free_port)}
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always \
      --dir "$T/redis" --logfile "$T/redis.log" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    if wait_for 10 redis-cli -p "$REDIS_PORT" ping; then return 0; fi
    kill "$REDIS_PID" 2>/dev/null || true
  done
  return 1
}
stop_redis() { kill "$REDIS_PID"; wait "$REDIS_PID" 2>/dev/null || true; }

# A throwaway PostgreSQL (Debian's postgresql-15) for the evidence archive: its own cluster
# in $T/pg, listening on 127.0.0.1:PG_PORT and a socket in $T/pgsock, user "simpki"
# (trust), database "simpki".  Run as root (CI), the server runs as user postgres.  A
# restart (PG_PORT already set) keeps its port and data.  PG_CONNINFO is what the
# configuration's archive.conninfo takes.
PG_PORT=
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
_pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  local fixed=${PG_PORT:-} tries=5
  [ -n "$fixed" ] && tries=1
  mkdir -p "$T/pgsock"
  if [ ! -d "$T/pg" ]; then
    mkdir -p "$T/pg"
    touch "$T/postgres.log"
    if [ "$(id -u)" = 0 ]; then chown postgres "$T/pg" "$T/pgsock" "$T/postgres.log"; chmod 755 "$T"; fi
    _pg_as "$PG_BIN/initdb" -D "$T/pg" -U simpki --auth=trust -E UTF8 --locale=C.UTF-8 >"$T/pg-initdb.log" 2>&1
  fi
  for _ in $(seq $tries); do
    PG_PORT=${fixed:-$(free_port)}
    if _pg_as "$PG_BIN/pg_ctl" -D "$T/pg" -l "$T/postgres.log" -w -t 60 \
         -o "-p $PG_PORT -k $T/pgsock -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null; then
      PG_CONNINFO="host=$T/pgsock port=$PG_PORT user=simpki dbname=simpki"
      psql -h "$T/pgsock" -p "$PG_PORT" -U simpki -d postgres -qAtc "select 1 from pg_database where datname='simpki'" \
        | grep -q 1 || createdb -h "$T/pgsock" -p "$PG_PORT" -U simpki simpki
      PG_STARTED=1
      return 0
    fi
  done
  return 1
}
pg_stop() { # [fast|immediate]
  _pg_as "$PG_BIN/pg_ctl" -D "$T/pg" -m "${1:-fast}" -w stop >/dev/null 2>&1 || true
}
pg_sql() { psql -h "$T/pgsock" -p "$PG_PORT" -U simpki -d simpki -v ON_ERROR_STOP=1 -qAt "$@"; }

# The demo certificates name an OCSP responder at 127.0.0.1:PKI_PORT (and CRLs
# at PKI_PORT+1, where nothing listens: with OCSP up they are never needed, and
# with it stopped the status is really unknown).  mkpki.sh reads the port.
PKI_PORT=
make_demo() {
  PKI_PORT=${PKI_PORT:-$(free_port)}
  export SIMPKI_PKI_PORT=$PKI_PORT
  [ -f "$T/demo/registry.json" ] || bash "$SRC/tests/sim/mkdemo.sh" "$T/demo" >"$T/mkdemo.log" 2>&1
}

# `openssl ocsp` for the issuing CA "ca" (every demo subscriber's), as
# tests/signer/servers.sh runs it.  It serves one connection at a time and
# logs "ACCEPT" when it listens.
start_ocsp() {
  local pki=$T/demo/pki
  : >"$T/ocsp.log"
  openssl ocsp -port "$PKI_PORT" -timeout 5 -index "$pki/state/ca/index.txt" -CA "$pki/ca.pem" \
    -rsigner "$pki/ocsp-ca.pem" -rkey "$pki/ocsp-ca.key.pem" -nmin 60 -ignore_err >>"$T/ocsp.log" 2>&1 &
  OCSP_PID=$!
  PIDS+=("$OCSP_PID")
  wait_for 10 grep -q '^ACCEPT' "$T/ocsp.log"
}
stop_ocsp() { kill "$OCSP_PID" 2>/dev/null || true; wait "$OCSP_PID" 2>/dev/null || true; }

# SIM_SCEN_EDIT: a jq filter applied to the scenario last, e.g. to give one
# number another behaviour (tests/sim/README.md); SIM_SCEN_ARGS: more jq
# arguments for it (e.g. --slurpfile NAME FILE).
start_sim() {
  local scen=$T/scenario.json
  # The default scenario with free ports and the PKI made for this run.
  # shellcheck disable=SC2086
  jq ${SIM_SCEN_ARGS:-} --arg pki "$T/demo/pki" \
     --argjson p1 0 --argjson p2 0 --argjson p3 0 \
     '.pki = $pki | .carriers[0].port = $p1 | .carriers[1].port = $p2 | .carriers[2].port = $p3 | .mssp.port = 0
      | .defaults.delay_ms = (env.SIM_DELAY_MS // "200" | tonumber)
      | '"${SIM_SCEN_EDIT:-.}" \
     "$SRC/tests/sim/scenario-default.json" > "$scen"
  "$SIMPKI_SIM" --scenario "$scen" >"$T/sim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 10 grep -q "simpki-sim ready" "$T/sim.log"
  # Port 0 let the kernel choose (no race with parallel tests); record what it chose.
  local ready; ready=$(grep -m1 "simpki-sim ready" "$T/sim.log")
  jq --argjson p1 "$(sed -n 's/.*viettel=\([0-9]*\).*/\1/p' <<<"$ready")" \
     --argjson p2 "$(sed -n 's/.*vinaphone=\([0-9]*\).*/\1/p' <<<"$ready")" \
     --argjson p3 "$(sed -n 's/.*mobifone=\([0-9]*\).*/\1/p' <<<"$ready")" \
     --argjson pm "$(sed -n 's/.*mssp=\([0-9]*\).*/\1/p' <<<"$ready" | grep . || echo null)" \
     '.carriers[0].port = $p1 | .carriers[1].port = $p2 | .carriers[2].port = $p3
      | if $pm then .mssp.port = $pm else . end' "$scen" > "$scen.tmp"
  mv "$scen.tmp" "$scen"
  MSSP_PORT=$(sed -n 's/.*mssp=\([0-9]*\).*/\1/p' <<<"$ready")
}

# TRANSPORT=etsi204: every network through the simulator's MSSP (ETSI TS 102
# 204 over HTTPS with a client certificate) instead of its SMSCs.
# ETSI_LINKS (a JSON array) replaces the one link, e.g. for failover.
TRANSPORT=${TRANSPORT:-smpp}
MSSP_PORT=
etsi_link() { # name port [priority]
  jq -n --arg name "$1" --arg url "https://127.0.0.1:$2/soap/services/" --arg pki "$T/demo/pki" \
     --argjson prio "${3:-0}" '{name: $name, transport: "etsi204", priority: $prio, url: $url,
      ap_id: "http://ap.simpki.test", ap_pwd: "ap-test", ca_file: ($pki + "/mssp/ca.pem"),
      cert_file: ($pki + "/mssp/ap.crt.pem"), key_file: ($pki + "/mssp/ap.key.pem"),
      timeout_ms: 3000, poll_min_ms: 100, poll_max_ms: 400, breaker_errors: 2, breaker_open_ms: 1500}'
}

# CONFIG_EDIT: a jq filter applied to the gateway's configuration last, e.g. to
# give a relying party an AP_ID for the SOAP endpoint (e2e_soap.sh).
API_PORT=
TOKEN=
# LOOKUP_RP=1: a third API key, "lookup-rp" (token "lookup-$TOKEN"), with the roles sign and
# lookup (GET /v1/subscribers/{msisdn}/certificate); without it the keys are the two above.
write_config() {
  API_PORT=${API_PORT:-$(free_port)}
  TOKEN=${TOKEN:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}
  local hash; hash=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
  local other; other=$(printf %s "other-$TOKEN" | sha256sum | cut -d' ' -f1)
  local lookup=; [ -n "${LOOKUP_RP:-}" ] && lookup=$(printf %s "lookup-$TOKEN" | sha256sum | cut -d' ' -f1)
  jq -n --slurpfile s "$T/scenario.json" --arg pki "$T/demo/pki" --arg hash "$hash" --arg other "$other" \
     --arg lookup "$lookup" \
     --argjson api "$API_PORT" --argjson redis "$REDIS_PORT" \
     --argjson timeout "${TXN_TIMEOUT_S:-30}" '{
      listen_host: "127.0.0.1", listen_port: $api, log_level: "debug", log_format: "json", instance: "gw-1",
      transaction_timeout_s: $timeout, sweep_interval_ms: 100, resubmit_lease_s: 3, user_timeout_s: 20,
      trust_anchors: ($pki + "/trust.pem"), intermediates: ($pki + "/intermediates.pem"),
      redis: {host: "127.0.0.1", port: $redis, shards: 16},
      api_keys: ([{name: "eoffice-test", sha256: $hash, roles: ["sign", "enrol"]},
                  {name: "other-rp", sha256: $other, revocation: "soft"}]
                 + if $lookup != "" then [{name: "lookup-rp", sha256: $lookup, roles: ["sign", "lookup"]}] else [] end),
      carriers: [ $s[0].carriers[] | {name, service_number, ota_master_key: .master_key,
                  reassembly_timeout_s: 10,
                  # One carrier by name, so the asynchronous lookup path runs too.
                  smpp: [{host: (if .name == "vinaphone" then "localhost" else "127.0.0.1" end),
                          port, system_id, password, window: 10,
                          enquire_link_s: 5, response_timeout_s: 3,
                          reconnect_min_ms: 100, reconnect_max_ms: 1000, throttle_backoff_ms: 200}]} ]
    }' > "$T/simpki.json"
  if [ "$TRANSPORT" = etsi204 ]; then
    local links=${ETSI_LINKS:-"[$(etsi_link mssp-1 "$MSSP_PORT")]"}
    jq --argjson links "$links" \
       '.carriers = [{name: "mssp", route: "viettel,vinaphone,mobifone", links: $links}]' \
       "$T/simpki.json" > "$T/simpki.json.tmp"
    mv "$T/simpki.json.tmp" "$T/simpki.json"
  fi
  if [ -n "${ARCHIVE:-}" ]; then # needs pg_start first
    jq --arg ci "$PG_CONNINFO" '.archive = {conninfo: $ci, poll_ms: 50, claim_idle_s: 5}' \
       "$T/simpki.json" > "$T/simpki.json.tmp"
    mv "$T/simpki.json.tmp" "$T/simpki.json"
  fi
  if [ -n "${CONFIG_EDIT:-}" ]; then
    jq "$CONFIG_EDIT" "$T/simpki.json" > "$T/simpki.json.tmp"
    mv "$T/simpki.json.tmp" "$T/simpki.json"
  fi
}

import_registry() {
  "$SIMPKI_ADMIN" -c "$T/simpki.json" import "$T/demo/registry.json" >"$T/import.log" 2>&1
}

links_up() { curl -sf "http://127.0.0.1:$API_PORT/healthz" | jq -e '.carrier_links == true' >/dev/null; }

# own_listen LOG FROM PORT: the gateway writing LOG (past its first FROM lines)
# listens on PORT -- so a health check there reaches it, not a neighbour test
# that took the port meanwhile.
own_listen() { tail -n +"$(($2 + 1))" "$1" | grep -Eq "API listening on 127.0.0.1:$3(\"|\$)"; }

start_gw() {
  local from
  for _ in 1 2 3; do
    from=$(wc -l 2>/dev/null <"$T/gateway.log" || echo 0)  # 2> first: it hides the shell's own error for a missing file
    "$SIMPKID" -c "$T/simpki.json" >>"$T/gateway.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    wait_for 30 own_listen "$T/gateway.log" "$from" "$API_PORT" && wait_for 15 links_up && return 0
    kill -0 "$GW_PID" 2>/dev/null && return 1  # running but not healthy: a real failure
    grep -q "cannot listen" "$T/gateway.log" || return 1
    API_PORT=; write_config                     # the port was taken meanwhile: another one
  done
  return 1
}
stop_gw() { kill "${1:--TERM}" "$GW_PID" 2>/dev/null; wait "$GW_PID" 2>/dev/null || true; }

stack_up() {
  start_redis
  make_demo
  start_ocsp
  start_sim
  write_config
  import_registry
  start_gw
}

# sign MSISDN [DIGEST_B64 [ALG [TEXT]]] -> JSON body on stdout, HTTP code in $T/code
DEFAULT_DIGEST=$(printf 'simpki integration test' | openssl dgst -sha256 -binary | base64 -w0)
sign() {
  local body
  body=$(jq -n --arg m "$1" --arg d "${2:-$DEFAULT_DIGEST}" --arg a "${3:-SHA-256}" \
            --arg t "${4:-Ký văn bản số 123/QĐ-UBND}" '{msisdn:$m, digest:$d, digest_alg:$a, display_text:$t}')
  api POST /v1/signatures "$body"
}

# api METHOD PATH [BODY [extra curl args]] -> body on stdout, status in $T/code
api() {
  local m=$1 p=$2 b=${3:-}; shift 2; shift || true
  if [ -n "$b" ]; then
    curl -s -o "$T/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $TOKEN" \
      -H 'Content-Type: application/json' --data-binary "$b" "$@" "http://127.0.0.1:$API_PORT$p" >"$T/code"
  else
    curl -s -o "$T/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $TOKEN" "$@" \
      "http://127.0.0.1:$API_PORT$p" >"$T/code"
  fi
  cat "$T/body"
}
code() { cat "$T/code"; }

# wait_result ID [SECONDS] -> final JSON
wait_result() {
  local id=$1 limit=${2:-30} j
  local end=$(( $(date +%s) + limit ))
  while [ "$(date +%s)" -lt "$end" ]; do
    j=$(api GET "/v1/signatures/$id?wait=10")
    case "$(code)" in
      200) [ "$(jq -r .state <<<"$j")" != "pending" ] && { echo "$j"; return 0; } ;;
      503|000) sleep 0.3 ;;   # storage or gateway restarting: poll again, as a client should
      *) echo "$j"; return 0 ;;
    esac
  done
  echo "$j"
}

# Verify a returned signature with openssl alone (independent of simpki's signer).
openssl_verify() { # json digest_b64 alg(sha256)
  local j=$1 d=$2 alg=${3:-sha256}
  jq -r .certificate <<<"$j" | base64 -d > "$T/v.crt.der"
  jq -r .signature <<<"$j" | base64 -d > "$T/v.sig"
  base64 -d <<<"$d" > "$T/v.digest"
  openssl x509 -inform DER -in "$T/v.crt.der" -pubkey -noout > "$T/v.pub"
  openssl pkeyutl -verify -pubin -inkey "$T/v.pub" -in "$T/v.digest" -sigfile "$T/v.sig" \
    -pkeyopt "digest:$alg" >/dev/null 2>&1
}

# ---- enrolment: the cards, their PKI files, the CA ------------------------
# The enrolment numbers of tests/sim/README.md ("Enrolment numbers"): SIMs with
# no key whose GENKEY answers a key preset in the demo PKI, and the
# certificates the CMP mock answers.  Paths are valid once make_demo ran.
ENROL_PKI=$T/demo/pki
ENROL_RSA=84960000181       # Mẫu 01, person, RSA: its certificate is too large for PUTCERT
ENROL_EC=84960000182        # Mẫu 01, person, EC (issuing CA ca2): the whole flow
ENROL_ORG=84910000182       # Mẫu 03, organisation, EC (ca2), UID MST:0100001825
ENROL_CS=84900000192        # Mobifone/cs: the simulator holds the NEW SIM (EC, ca2)
ENROL_CS_ICCID=89840100009000001928     # the new SIM's ICCID
ENROL_CS_OLD_ICCID=8984019999900000192 # the old SIM's; not in the simulator, not in registry.json
ENROL_WRONG_KEY=84960000201 # behaviour wrong_key: the CSR is signed with another key
ENROL_OTHER_KEY=84910000212 # the CA answers a certificate for another key: cert_file $ENROL_OTHER_KEY other.crt.pem
ENROL_RENEW=84960000002     # Mẫu 07 on a registered EC card: renew.crt.pem / change.crt.pem, same key, fit PUTCERT
ENROL_REVOKE=84960000001    # Mẫu 09: its own crt.pem as the mock's rsp_cert
export ENROL_PKI ENROL_RSA ENROL_EC ENROL_ORG ENROL_CS ENROL_CS_ICCID ENROL_CS_OLD_ICCID ENROL_WRONG_KEY \
  ENROL_OTHER_KEY ENROL_RENEW ENROL_REVOKE

# cert_file MSISDN [SUFFIX] -> the PKI file subs/MSISDN.SUFFIX (default crt.pem), e.g.
#   cert_file $ENROL_EC                  what the mock issues for the preset key
#   cert_file $ENROL_EC key.pem          the preset key (what GENKEY answers)
#   cert_file $ENROL_CS old.crt.pem      the old SIM's certificate (old.key.pem its key)
#   cert_file $ENROL_RENEW renew.crt.der the renewed certificate, DER
cert_file() { echo "$ENROL_PKI/subs/$1.${2:-crt.pem}"; }

# cs_old_registry FILE: a registry import file holding only the number's old SIM
# (ENROL_CS on ENROL_CS_OLD_ICCID with the old certificate), for simpki-admin import.
cs_old_registry() {
  jq -n --arg m "$ENROL_CS" --arg i "$ENROL_CS_OLD_ICCID" --arg f "$(cert_file "$ENROL_CS" old.crt.pem)" \
    '[{msisdn: $m, carrier: "mobifone", iccid: $i, kv: 1, cert_file: $f, status: "active"}]' >"$1"
}

# The CA: OpenSSL's CMP mock server (`openssl cmp -port`), PBM-protected, as
# tests/signer/cmp/run_cmp_test.sh runs it.  It answers every ir/cr/p10cr/kur
# with the one certificate it was started with, and accepts an rr for exactly
# that certificate, so a test restarts it between cases.  It runs with
# -accept_raverified, because the gateway renews with a kur whose proof of
# possession it verified itself (raVerified, signer/sig_cmp.h), and with
# -verbosity 7, so that its log names every message it receives ("received
# KUR", "received P10CR"):
#
#   cmp_mock_start "$(cert_file $ENROL_EC)"          # then the gateway enrols ENROL_EC
#   cmp_mock_start "$(cert_file $ENROL_REVOKE)"      # ... revokes ENROL_REVOKE
#   cmp_mock_start CERT -pkistatus 2 -failure 2      # extra `openssl cmp` server options
#   cmp_mock_stop
#
# Always on CMP_PORT, chosen on the first start (another one when a parallel
# test took it first) and kept, so the gateway's configuration does not change
# between cases.  The mock binds with SO_REUSEADDR (apps/lib/http_server.c), so
# an immediate restart on the port is fine.  It listens on every interface: no
# -bind option in OpenSSL 3.0.  The client side: CMP_URL (host, port, path),
# CMP_REF (senderKID), the secret as CMP_SECRET or in the file CMP_SECRET_FILE.
# Killed on exit by cleanup; its log is $T/cmp-mock.log.
CMP_PORT=
CMP_PID=
CMP_REF=simpki-ra
CMP_SECRET=simpki-test-pbm-secret
CMP_SECRET_FILE=$T/cmp-pbm.secret
CMP_PATH=pkix/
(umask 077 && printf '%s' "$CMP_SECRET" >"$CMP_SECRET_FILE")
export CMP_REF CMP_SECRET CMP_SECRET_FILE CMP_PATH

cmp_mock_start() { # CERT_FILE [extra openssl cmp options...]
  local cert=$1 fixed=${CMP_PORT:-} tries=5 from
  shift
  [ -r "$cert" ] || { echo "cmp_mock_start: cannot read $cert" >&2; return 1; }
  cmp_mock_stop
  [ -n "$fixed" ] && tries=1
  for _ in $(seq $tries); do
    CMP_PORT=${fixed:-$(free_port)}
    from=$(wc -l 2>/dev/null <"$T/cmp-mock.log" || echo 0)
    echo "== cmp_mock_start port $CMP_PORT rsp_cert $cert $*" >>"$T/cmp-mock.log"
    openssl cmp -port "$CMP_PORT" -max_msgs 0 -srv_ref "$CMP_REF" -srv_secret "file:$CMP_SECRET_FILE" \
      -accept_raverified -verbosity 7 -rsp_cert "$cert" "$@" >>"$T/cmp-mock.log" 2>&1 &
    CMP_PID=$!
    PIDS+=("$CMP_PID")
    # "ACCEPT 0.0.0.0:PORT PID=..." comes after bind() and listen().
    if wait_for 10 cmp_mock_listening "$from"; then
      export CMP_PORT CMP_URL="http://127.0.0.1:$CMP_PORT/$CMP_PATH"
      return 0
    fi
    cmp_mock_stop
  done
  echo "cmp_mock_start: the mock did not listen on port $CMP_PORT (see $T/cmp-mock.log)" >&2
  return 1
}
# The mock running now has logged that it listens on CMP_PORT (log lines after $1).
cmp_mock_listening() {
  kill -0 "$CMP_PID" 2>/dev/null &&
    tail -n +"$(($1 + 1))" "$T/cmp-mock.log" | grep -Eq "^ACCEPT .*:$CMP_PORT( |\$)"
}
cmp_mock_stop() {
  local p keep=()
  [ -n "$CMP_PID" ] || return 0
  kill "$CMP_PID" 2>/dev/null || true
  wait "$CMP_PID" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [ "$p" = "$CMP_PID" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  CMP_PID=
}

# ---- a CA that really issues and revokes: simpki-sim-ca + `openssl ocsp` ------------------
# ca_start [ISSUER]: tests/sim/sim_ca.c (SIMPKI_SIM_CA, the binary) as the CMP CA, issuing as
# the demo's ISSUER (ca, the default, or ca2; make_demo first), PBM $CMP_REF/$CMP_SECRET_FILE as
# the mock's, and an `openssl ocsp` responder for its database.  Unlike cmp_mock_start it issues
# a new certificate (random serial, two years, the demo's subscriber profile) for each
# ir/cr/p10cr/kur and records each rr, so one start serves a whole test.  Exports:
#   CMP_PORT, CMP_URL   as cmp_mock_start (path $CMP_PATH); its log is $T/sim-ca.log
#   CA_INDEX            its `openssl ca` database ($T/ca-ISSUER/index.txt), seeded with a copy of
#                       the demo's state/ISSUER/index.txt, so the pre-made certificates are known;
#                       kept, with its revocations, when ca_start runs again
#   CA_CERT             the issuing CA's certificate
#   CA_OCSP_URL         the responder (its log $T/ca-ocsp.log); the issued certificates name it
# Both listen on 127.0.0.1 below 32768 (free_port; another port when a parallel test took it).
# `openssl ocsp` reloads a changed database before it waits for its next request, so the first
# answer after a revocation can still be the old one: ca_revoked asks twice.
CA_INDEX=
CA_CERT=
CA_OCSP_URL=
CA_PID=
CA_OCSP_PID=
ca_start() { # [ISSUER]
  local iss=${1:-ca} pki=$T/demo/pki p from
  : "${SIMPKI_SIM_CA:?ca_start needs SIMPKI_SIM_CA}"
  ca_stop
  mkdir -p "$T/ca-$iss"
  CA_INDEX=$T/ca-$iss/index.txt CA_CERT=$pki/$iss.pem
  [ -f "$CA_INDEX" ] || cp "$pki/state/$iss/index.txt" "$CA_INDEX"
  # The responder first: the certificates the CA issues name it.
  for _ in 1 2 3 4 5; do
    p=$(free_port)
    from=$(wc -l 2>/dev/null <"$T/ca-ocsp.log" || echo 0)
    openssl ocsp -port "$p" -timeout 5 -index "$CA_INDEX" -CA "$CA_CERT" -rsigner "$pki/ocsp-$iss.pem" \
      -rkey "$pki/ocsp-$iss.key.pem" -nmin 60 -ignore_err >>"$T/ca-ocsp.log" 2>&1 &
    CA_OCSP_PID=$!
    PIDS+=("$CA_OCSP_PID")
    if wait_for 10 ca_logged "$CA_OCSP_PID" "$T/ca-ocsp.log" "$from" "^ACCEPT .*:$p( |\$)"; then
      CA_OCSP_URL=http://127.0.0.1:$p/
      break
    fi
    kill "$CA_OCSP_PID" 2>/dev/null || true; wait "$CA_OCSP_PID" 2>/dev/null || true; CA_OCSP_PID=
  done
  [ -n "$CA_OCSP_PID" ] || { echo "ca_start: openssl ocsp did not listen (see $T/ca-ocsp.log)" >&2; return 1; }
  for _ in 1 2 3 4 5; do
    p=${CMP_PORT:-$(free_port)}
    from=$(wc -l 2>/dev/null <"$T/sim-ca.log" || echo 0)
    "$SIMPKI_SIM_CA" --ca-cert "$CA_CERT" --ca-key "$pki/$iss.key.pem" --index "$CA_INDEX" --ref "$CMP_REF" \
      --secret-file "$CMP_SECRET_FILE" --port "$p" --path "$CMP_PATH" --ocsp-url "$CA_OCSP_URL" \
      >>"$T/sim-ca.log" 2>&1 &
    CA_PID=$!
    PIDS+=("$CA_PID")
    if wait_for 10 ca_logged "$CA_PID" "$T/sim-ca.log" "$from" "^simpki-sim-ca listening on $p\$"; then
      export CMP_PORT=$p CMP_URL="http://127.0.0.1:$p/$CMP_PATH" CA_INDEX CA_CERT CA_OCSP_URL
      return 0
    fi
    kill "$CA_PID" 2>/dev/null || true; wait "$CA_PID" 2>/dev/null || true; CA_PID=
    CMP_PORT=  # taken meanwhile: another one
  done
  echo "ca_start: simpki-sim-ca did not listen (see $T/sim-ca.log)" >&2
  return 1
}
# ca_logged PID LOG FROM REGEX: PID runs and LOG (past its first FROM lines) has a line matching REGEX.
ca_logged() { kill -0 "$1" 2>/dev/null && tail -n +"$(($3 + 1))" "$2" | grep -Eq "$4"; }
ca_stop() {
  local p q keep=()
  for p in "$CA_PID" "$CA_OCSP_PID"; do
    [ -n "$p" ] || continue
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    keep=()
    for q in "${PIDS[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    PIDS=("${keep[@]}")
  done
  CA_PID= CA_OCSP_PID=
}
# ca_revoked SERIAL_OR_CERT_FILE: 0 only when the CA's responder answers "revoked" (a signed
# answer that verifies against the demo trust).  A serial is hex, as `openssl x509 -serial` prints it.
ca_revoked() {
  local what=(-serial "0x$1") out
  [ -f "$1" ] && what=(-cert "$1")
  [ -n "$CA_OCSP_URL" ] || { echo "ca_revoked: ca_start first" >&2; return 1; }
  # The first question only makes the responder look at its database again (see ca_start).
  openssl ocsp -issuer "$CA_CERT" "${what[@]}" -url "$CA_OCSP_URL" -timeout 5 -noverify >/dev/null 2>&1 || true
  out=$(openssl ocsp -issuer "$CA_CERT" "${what[@]}" -url "$CA_OCSP_URL" -timeout 5 -CAfile "$T/demo/pki/trust.pem" \
    -VAfile "$T/demo/pki/ocsp-$(basename "$CA_CERT" .pem).pem" 2>&1) || return 1
  grep -q '^Response verify OK' <<<"$out" && grep -Eq ': revoked$' <<<"$out"
}

# ---- Redis Sentinel: a master, two replicas, three sentinels ------------------------------
# sentinel_start [NAME]: on 127.0.0.1, free ports below 32768, files in $T/sentinel:
#   - a master and two replicas (replicaof the master), no persistence;
#   - three redis-sentinel processes monitoring the master as NAME (default "simpki"),
#     quorum 2, down-after-milliseconds 1000, failover-timeout 3000.
# Returns 0 once both replicas are in sync and every sentinel knows the master, both
# replicas and the two other sentinels (so a failover can be voted at once); 1 otherwise.
# Sets (arrays: index 0 of REDIS_NODE_* is the first master, 1 and 2 its replicas):
#   SENTINEL_MASTER_NAME  NAME
#   REDIS_NODE_PORTS=(m r1 r2)  REDIS_NODE_PIDS=(...)   logs $T/sentinel/node-I.log
#   SENTINEL_PORTS=(s1 s2 s3)   SENTINEL_PIDS=(...)     logs $T/sentinel/sentinel-I.log
#   SENTINELS_JSON        '["127.0.0.1:s1","127.0.0.1:s2","127.0.0.1:s3"]' (redis.sentinels)
#   REDIS_PORT            the first master's port (write_config, import_registry use it)
# and exports SENTINEL_MASTER_NAME, SENTINELS_JSON, REDIS_NODE_PORTS_STR and
# SENTINEL_PORTS_STR (the ports, space-separated) for child processes.
# Everything is killed on exit (cleanup).  With it:
#   sentinel_config_edit       a jq filter (for CONFIG_EDIT) putting the sentinels in "redis"
#   sentinel_master_port       the port the sentinels name now (asks each live one in turn)
#   sentinel_wait_master OLD [SECONDS]  waits until every live sentinel names another master than
#                              port OLD (default 30 s); prints the new port
#   redis_node_kill I          kill -9 node I (its pid stays in PIDS: harmless)
#   redis_node_role PORT       "master", "slave" or "" (down)
# Example:
#   sentinel_start
#   CONFIG_EDIT="$(sentinel_config_edit) | .redis.wait_replicas = 1" ...start the gateway...
#   old=$(sentinel_master_port); redis_node_kill 0; new=$(sentinel_wait_master "$old")
SENTINEL_MASTER_NAME=
SENTINELS_JSON=
REDIS_NODE_PORTS=()
REDIS_NODE_PIDS=()
SENTINEL_PORTS=()
SENTINEL_PIDS=()

# _sentinel_try FN I [ARGS]: run `FN PORT I ARGS` in the background on a free port until it
# answers PING (another port when a parallel test took it, 5 tries); sets _SP_PORT and _SP_PID.
_sentinel_try() {
  local fn=$1 p pid
  shift
  for _ in 1 2 3 4 5; do
    p=$(free_port)
    "$fn" "$p" "$@" &
    pid=$!
    PIDS+=("$pid")
    if wait_for 10 redis-cli -p "$p" ping && kill -0 "$pid" 2>/dev/null; then
      _SP_PORT=$p _SP_PID=$pid
      return 0
    fi
    kill "$pid" 2>/dev/null || true
  done
  return 1
}

_sentinel_node_run() { # PORT I [replicaof-port]
  local args=()
  [ -n "${3:-}" ] && args=(--replicaof 127.0.0.1 "$3")
  exec redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --dir "$T/sentinel" \
    --dbfilename "node-$2.rdb" --logfile "$T/sentinel/node-$2.log" --repl-diskless-sync yes \
    --repl-diskless-sync-delay 0 "${args[@]}"
}

_sentinel_run() { # PORT I: a sentinel watching REDIS_NODE_PORTS[0]
  local conf=$T/sentinel/sentinel-$2.conf
  # The sentinel rewrites its file (what it learns): one file per sentinel, fresh per attempt.
  cat >"$conf" <<CONF
port $1
bind 127.0.0.1
daemonize no
dir $T/sentinel
logfile $T/sentinel/sentinel-$2.log
sentinel monitor $SENTINEL_MASTER_NAME 127.0.0.1 ${REDIS_NODE_PORTS[0]} 2
sentinel down-after-milliseconds $SENTINEL_MASTER_NAME 1000
sentinel failover-timeout $SENTINEL_MASTER_NAME 3000
sentinel parallel-syncs $SENTINEL_MASTER_NAME 1
CONF
  exec redis-sentinel "$conf"
}

_sentinel_node() { # I [replicaof-port]
  _sentinel_try _sentinel_node_run "$@" || return 1
  REDIS_NODE_PORTS[$1]=$_SP_PORT REDIS_NODE_PIDS[$1]=$_SP_PID
}

_sentinel_one() { # I
  _sentinel_try _sentinel_run "$1" || return 1
  SENTINEL_PORTS[$1]=$_SP_PORT SENTINEL_PIDS[$1]=$_SP_PID
}

# Every sentinel knows 2 replicas and 2 other sentinels; both replicas' links are up.
_sentinel_ready() {
  local p n
  for p in "${REDIS_NODE_PORTS[1]}" "${REDIS_NODE_PORTS[2]}"; do
    redis-cli -p "$p" info replication | grep -q '^master_link_status:up' || return 1
  done
  for p in "${SENTINEL_PORTS[@]}"; do
    n=$(redis-cli -p "$p" sentinel replicas "$SENTINEL_MASTER_NAME" 2>/dev/null | grep -c '^name$' || true)
    [ "$n" -ge 2 ] || return 1
    n=$(redis-cli -p "$p" sentinel sentinels "$SENTINEL_MASTER_NAME" 2>/dev/null | grep -c '^name$' || true)
    [ "$n" -ge 2 ] || return 1
  done
}

sentinel_start() { # [NAME]
  SENTINEL_MASTER_NAME=${1:-simpki}
  mkdir -p "$T/sentinel"
  _sentinel_node 0 || { echo "sentinel_start: the master did not start" >&2; return 1; }
  _sentinel_node 1 "${REDIS_NODE_PORTS[0]}" || { echo "sentinel_start: replica 1 did not start" >&2; return 1; }
  _sentinel_node 2 "${REDIS_NODE_PORTS[0]}" || { echo "sentinel_start: replica 2 did not start" >&2; return 1; }
  for i in 0 1 2; do
    _sentinel_one "$i" || { echo "sentinel_start: sentinel $i did not start" >&2; return 1; }
  done
  REDIS_PORT=${REDIS_NODE_PORTS[0]}
  SENTINELS_JSON=$(printf '"127.0.0.1:%s",' "${SENTINEL_PORTS[@]}")
  SENTINELS_JSON="[${SENTINELS_JSON%,}]"
  REDIS_NODE_PORTS_STR="${REDIS_NODE_PORTS[*]}" SENTINEL_PORTS_STR="${SENTINEL_PORTS[*]}"
  export SENTINEL_MASTER_NAME SENTINELS_JSON REDIS_NODE_PORTS_STR SENTINEL_PORTS_STR
  wait_for 30 _sentinel_ready || { echo "sentinel_start: the sentinels did not see the whole set (see $T/sentinel)" >&2; return 1; }
}

sentinel_config_edit() {
  echo ".redis = (.redis | del(.host, .port) + {sentinels: $SENTINELS_JSON, master_name: \"$SENTINEL_MASTER_NAME\"})"
}

sentinel_master_port() {
  local p a
  for p in "${SENTINEL_PORTS[@]}"; do
    a=$(redis-cli -p "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER_NAME" 2>/dev/null | sed -n 2p)
    [ -n "$a" ] && { echo "$a"; return 0; }
  done
  return 1
}

# All live sentinels name a master other than port $1.
_sentinel_moved() {
  local p a seen=0
  for p in "${SENTINEL_PORTS[@]}"; do
    a=$(redis-cli -p "$p" sentinel get-master-addr-by-name "$SENTINEL_MASTER_NAME" 2>/dev/null | sed -n 2p) || continue
    [ -n "$a" ] || continue
    [ "$a" != "$1" ] || return 1
    seen=1
  done
  [ $seen -eq 1 ]
}
sentinel_wait_master() { # OLD_PORT [SECONDS]
  wait_for "${2:-30}" _sentinel_moved "$1" || return 1
  sentinel_master_port
}

redis_node_kill() { kill -9 "${REDIS_NODE_PIDS[$1]}" 2>/dev/null || true; wait "${REDIS_NODE_PIDS[$1]}" 2>/dev/null || true; }
redis_node_role() { redis-cli -p "$1" role 2>/dev/null | head -1; }
