#!/usr/bin/env bash
# The README's quick start, as a person would follow it: start ./deploy/local.sh, then run
# the README's own command blocks (those marked "<!-- local_smoke" in README.md), in order,
# as written but for the port and the run directory, and check their results against what
# the README says they print (verification code, etsi_status, "Verified OK", the CMS check).
# A second ./deploy/local.sh beside the first must refuse and leave it working.  Then stop it
# (SIGTERM, the trap Ctrl-C runs; SIGINT is ignored by background jobs of scripts) and check
# that nothing it started is left running.
set -euo pipefail
: "${SRC:?}" "${BUILD_DIR:?}"
T=$(mktemp -d /tmp/simpki-local.XXXXXX)
# Below the kernel's ephemeral range (32768+), where any outgoing connection of a test running
# beside this one may hold a port just when the simulator binds it (lib.sh free_port does the same).
# Seven consecutive free ports, so that no two settings overlap (the simulator takes three from
# SMPP: once the API's random port fell among them).
ports() {
  local b i
  while :; do
    b=$((10000 + RANDOM % 21990))
    for i in 0 1 2 3 4 5 6; do (exec 3<>/dev/tcp/127.0.0.1/$((b + i))) 2>/dev/null && continue 2; done
    echo "$b"; return
  done
}
B=$(ports); API=$B; REDIS=$((B + 1)); PKI_PORT=$((B + 2)); MSSP=$((B + 3)); SMPP=$((B + 4))
PASSED=0; FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL $*" >&2; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
export SIMPKI_PORT=$API SIMPKI_REDIS_PORT=$REDIS SIMPKI_SMPP_BASE=$SMPP SIMPKI_PKI_PORT=$PKI_PORT SIMPKI_MSSP_PORT=$MSSP \
  SIMPKI_RUN_DIR=$T/run \
  SIMPKI_BUILD_DIR=$BUILD_DIR SIMPKI_NO_BUILD=1

check "simpkid --version prints the version, exit 0" bash -c "'$BUILD_DIR/gateway/simpkid' --version | grep -Eq '^simpkid [0-9]+\.[0-9]+'"
check "simpkid --help names the options and the docs" bash -c "'$BUILD_DIR/gateway/simpkid' --help | grep -q -- '--help-config' && '$BUILD_DIR/gateway/simpkid' --help | grep -q README"
check "simpki-admin --version, exit 0" bash -c "'$BUILD_DIR/gateway/simpki-admin' --version | grep -Eq '^simpki-admin [0-9]'"

setsid "$SRC/deploy/local.sh" >"$T/local.out" 2>&1 &
LOCAL=$!
cleanup() { kill -TERM "$LOCAL" 2>/dev/null || true; wait "$LOCAL" 2>/dev/null || true; }
trap cleanup EXIT

# Up to 3 minutes: local.sh builds the demo PKI first (tens of seconds alone, minutes on a machine
# busy with the rest of the suite); kill -0 stops the wait early when local.sh failed.
for _ in $(seq 1800); do grep -q "simpki is running" "$T/local.out" && break; kill -0 "$LOCAL" 2>/dev/null || break; sleep 0.1; done
if ! grep -q "simpki is running" "$T/local.out"; then cat "$T/local.out" >&2; echo "local_smoke: 0 passed, 1 failed"; exit 1; fi
ok "deploy/local.sh started everything"
# Between the simulator and the gateway, the demo import says one line: no warning.
imp=$(sed -n '/^== carrier simulator/,/^== gateway on/p' "$T/local.out" | sed '1d;$d')
check "the demo import prints no warning: '$imp'" grep -Eqx 'imported [0-9]+ subscribers' <<<"$imp"
check "the banner names the binaries" grep -qF "$BUILD_DIR/gateway/simpkid and $BUILD_DIR/gateway/simpki-admin" "$T/local.out"
check "the banner names the configuration for -c" grep -qF "Configuration (for -c): $T/run/simpki.json" "$T/local.out"
SIMPKI_KEY=$(sed -n 's/^  export SIMPKI_KEY=//p' "$T/local.out")
check "the printed key is the key file's" test "$SIMPKI_KEY" = "$(cat "$T/run/secrets/eoffice-demo.key")"

# README blocks, as written but for the port, the run directory and the build directory.
awk '/^<!-- local_smoke/ {want=1; next} want && /^```sh/ {n++; inb=1; next} inb && /^```/ {inb=0; want=0; next}
     inb {print > (dir "/block" n ".sh")}' dir="$T" "$SRC/README.md"
mkdir -p "$T/work"
for f in "$T"/block*.sh; do
  sed -i -e "s|127\.0\.0\.1:8080|127.0.0.1:$API|g" -e "s|\.run/local|$T/run|g" -e "s|\$PWD/build/gateway|$BUILD_DIR/gateway|g" "$f"
done
check "README has the 4 quick-start blocks" test -f "$T/block4.sh" -a ! -e "$T/block5.sh"
# Block 1 exports what the others use: run them in one shell by sourcing.
{ echo 'set -euo pipefail'; for i in 1 2 3 4; do echo "echo '### block $i'"; cat "$T/block$i.sh"; done; } >"$T/all.sh"
if (cd "$T/work" && bash "$T/all.sh") >"$T/all.out" 2>&1; then ok "README quick-start commands run as written"; else bad "README commands failed:"; cat "$T/all.out" >&2; fi
W=$T/work
# What the README says block 2 prints, against what it printed.
claim_vc=$(grep -o '"verification_code":"[0-9]*"' "$SRC/README.md" | head -1 | grep -o '[0-9]\{4\}')
formula_vc=$(python3 -c 'import hashlib,sys
d = hashlib.sha256(open(sys.argv[1], "rb").read()).digest()
print("%04d" % (((d[0] >> 2) << 7) | (d[-1] & 0x7F)))' "$W/doc.txt")
check "README's verification code $claim_vc = its formula's $formula_vc" test "$claim_vc" = "$formula_vc"
first=$(sed -n '/^### block 2/,/^### block 3/p' "$T/all.out" | grep -m1 '^{' || true)
claim_es=$(grep -o '"state":"pending"[^#]*"etsi_status":[0-9]*' "$SRC/README.md" | head -1 | grep -o '[0-9]*$')
check "the POST answered code $claim_vc, pending, etsi_status $claim_es, as the README says" \
  test "$(jq -r '"\(.verification_code) \(.state) \(.etsi_status)"' <<<"$first" 2>/dev/null)" = "$claim_vc pending $claim_es"
claim_r=$(grep -o '^# -> {"state".*}' "$SRC/README.md" | head -1 | sed 's/^# -> //; s/}.*/}/')
check "the GET answered $claim_r, as the README says" test "$(jq -c '{state, result, etsi_status}' "$W/r.json")" = "$(jq -c . <<<"$claim_r")"
check "README's openssl dgst check: Verified OK" grep -qx 'Verified OK' "$T/all.out"
check "README's openssl cms check: CMS Verification successful" grep -qx 'CMS Verification successful' "$T/all.out"
check "README's CMS answer is format cms" test "$(jq -r '"\(.result) \(.format)"' "$W/c.json")" = "OK cms"

# A second local.sh beside the first: refuses, touches nothing, the first keeps working.
key_sum=$(md5sum <"$T/run/secrets/eoffice-demo.key"); log_size=$(stat -c %s "$T/run/gateway.log")
if "$SRC/deploy/local.sh" >"$T/second.out" 2>&1; then bad "a second local.sh did not refuse"; else ok "a second local.sh exits non-zero"; fi
check "... with a clear message: $(head -1 "$T/second.out")" grep -q "already running from $T/run" "$T/second.out"
check "... does not say it is running" bash -c "! grep -q 'simpki is running' '$T/second.out'"
check "... leaves the first one's key file" test "$key_sum" = "$(md5sum <"$T/run/secrets/eoffice-demo.key")"
check "... and its log" test "$(stat -c %s "$T/run/gateway.log")" -ge "$log_size"
SIMPKI_RUN_DIR=$T/run2 "$SRC/deploy/local.sh" >"$T/third.out" 2>&1 && bad "local.sh on busy ports did not refuse" || ok "local.sh elsewhere on the same ports refuses"
check "... naming the ports in use" grep -q "already in use" "$T/third.out"
r=$(curl -s -H "Authorization: Bearer $SIMPKI_KEY" -H 'Content-Type: application/json' \
      -d "{\"msisdn\":\"0960000002\",\"digest\":\"$(openssl dgst -sha256 -binary "$W/doc.txt" | base64)\",\"display_text\":\"x\"}" \
      "http://127.0.0.1:$API/v1/signatures")
r=$(curl -s -H "Authorization: Bearer $SIMPKI_KEY" "http://127.0.0.1:$API/v1/signatures/$(jq -r .id <<<"$r")?wait=30")
check "the first one still signs with its printed key: $(jq -c "{result, error, message}" <<<"$r" 2>/dev/null || echo "$r")" test "$(jq -r .result <<<"$r")" = OK

# The evidence archive: the signatures above (the README's and this one) are in PostgreSQL.
PGH=$(sed -n 's|^== postgresql on .* (cluster in \(.*\)/pg)$|\1|p' "$T/local.out" | head -1)
PGP=$(sed -n 's|^== postgresql on 127.0.0.1:\([0-9]*\) .*|\1|p' "$T/local.out" | head -1)
n_sig() { psql -h "$PGH/pgsock" -p "$PGP" -U simpki -d simpki -qAtc \
  "select count(*) from archive_events where etype = 'signature' and convert_from(body, 'UTF8')::jsonb->>'result' = 'OK'" 2>/dev/null; }
for _ in $(seq 100); do [ "$(n_sig)" -ge 3 ] 2>/dev/null && break; sleep 0.1; done
check "the archive holds the signatures made here (OK: $(n_sig))" test "$(n_sig)" -ge 3 2>/dev/null

kill -TERM "$LOCAL"; wait "$LOCAL" 2>/dev/null || true
sleep 0.5
check "'== stopping' printed once" test "$(grep -c '^== stopping' "$T/local.out")" = 1
if pgrep -f "$T/run" >/dev/null; then bad "processes left running after it was stopped"; pgrep -af "$T/run" >&2; else ok "stopping it stopped everything"; fi
# $T is private (mktemp), as a checkout under /root would be: PostgreSQL's cluster went to a
# directory user postgres can reach, which local.sh printed.
check "PostgreSQL's cluster outside the private run directory: $PGH" test -n "$PGH" -a "${PGH#/var/tmp/simpki-pg-}" != "$PGH"
if [ -n "$PGH" ] && pgrep -f "$PGH" >/dev/null; then bad "PostgreSQL left running"; else ok "PostgreSQL stopped too"; fi
trap - EXIT
echo "local_smoke: $PASSED passed, $FAILED failed"
if [ $FAILED -eq 0 ]; then
  rm -rf "$T"
  for d in "$T/run" "$T/run2"; do rm -rf "/var/tmp/simpki-pg-$(printf %s "$d" | sha256sum | cut -c1-12)"; done
fi
[ $FAILED -eq 0 ]
