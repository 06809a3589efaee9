#!/usr/bin/env bash
# The README's first command, as a person would use it: start ./deploy/local.sh,
# run the curl example it prints against a demo number, and verify the returned
# signature with the openssl command line alone.  Then stop it (SIGTERM, the
# trap Ctrl-C runs; SIGINT is ignored by background jobs of scripts) and check
# that nothing it started is left running.
set -euo pipefail
: "${SRC:?}" "${BUILD_DIR:?}"
T=$(mktemp -d /tmp/simpki-local.XXXXXX)
port() { local p; while :; do p=$((20000 + RANDOM % 40000)); (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }; done; }
API=$(port); REDIS=$(port); SMPP=$(port); PKI_PORT=$(port)
PASSED=0; FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL $*" >&2; }

SIMPKI_PORT=$API SIMPKI_REDIS_PORT=$REDIS SIMPKI_SMPP_BASE=$SMPP SIMPKI_PKI_PORT=$PKI_PORT SIMPKI_RUN_DIR=$T/run \
  SIMPKI_BUILD_DIR=$BUILD_DIR SIMPKI_NO_BUILD=1 setsid "$SRC/deploy/local.sh" >"$T/local.out" 2>&1 &
LOCAL=$!
cleanup() { kill -TERM "$LOCAL" 2>/dev/null || true; wait "$LOCAL" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 600); do grep -q "simpki is running" "$T/local.out" && break; sleep 0.1; done
if ! grep -q "simpki is running" "$T/local.out"; then cat "$T/local.out" >&2; echo "local_smoke: 0 passed, 1 failed"; exit 1; fi
ok "deploy/local.sh started everything"

SIMPKI_KEY=$(sed -n 's/^  export SIMPKI_KEY=//p' "$T/local.out")
DIGEST=$(printf 'Quyết định 123/QĐ-UBND' | openssl dgst -sha256 -binary | base64)
r=$(curl -s -H "Authorization: Bearer $SIMPKI_KEY" -H 'Content-Type: application/json' \
      -d "{\"msisdn\":\"0960000001\",\"digest\":\"$DIGEST\",\"digest_alg\":\"SHA-256\",\"display_text\":\"Ký Quyết định 123/QĐ-UBND\"}" \
      "http://127.0.0.1:$API/v1/signatures")
id=$(jq -r .id <<<"$r")
[ "$(jq -r .state <<<"$r")" = pending ] && ok "POST accepted: $id" || bad "POST: $r"
r=$(curl -s -H "Authorization: Bearer $SIMPKI_KEY" "http://127.0.0.1:$API/v1/signatures/$id?wait=30")
[ "$(jq -r .result <<<"$r")" = OK ] && ok "signature completed" || bad "GET: $r"

jq -r .certificate <<<"$r" | base64 -d > "$T/cert.der"
jq -r .signature <<<"$r" | base64 -d > "$T/sig.bin"
openssl x509 -inform DER -in "$T/cert.der" -pubkey -noout > "$T/pub.pem"
if printf 'Quyết định 123/QĐ-UBND' | openssl dgst -sha256 -verify "$T/pub.pem" -signature "$T/sig.bin" | grep -q 'Verified OK'; then
  ok "openssl alone verifies the signature over the document"
else
  bad "openssl does not verify the returned signature"
fi

kill -TERM "$LOCAL"; wait "$LOCAL" 2>/dev/null || true
sleep 0.5
if pgrep -f "$T/run" >/dev/null; then bad "processes left running after it was stopped"; pgrep -af "$T/run" >&2; else ok "stopping it stopped everything"; fi
trap - EXIT
echo "local_smoke: $PASSED passed, $FAILED failed"
[ $FAILED -eq 0 ] && rm -rf "$T"
[ $FAILED -eq 0 ]
