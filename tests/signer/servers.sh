#!/usr/bin/env bash
#
# servers.sh PKI_DIR CMD... - run CMD with the test PKI's revocation and
# timestamp servers up on loopback, then stop them (only the ones started here).
#
#   port P          `openssl ocsp` responder (3.0 binds every address; used via 127.0.0.1) for the issuing CA "ca", index from
#                   `openssl ca` (PKI_DIR/state/ca/index.txt), delegated responder
#                   certificate ocsp-ca.pem, nonce echoed, nextUpdate 60 min
#   127.0.0.1:P+1   node http: GET /<ca>.crl, /<ca>.crt from PKI_DIR/crl;
#                   POST /tsa runs `openssl ts -reply` (tsa.pem) on the query
# P is PKI_DIR/port.  CMD gets SIMPKI_OCSP_PORT and SIMPKI_HTTP_PORT.
set -euo pipefail
OPENSSL=${OPENSSL:-openssl}
NODE=${NODE:-node}
PKI=$(cd "$1" && pwd)
shift
P=$(cat "$PKI/port")
H=$((P + 1))
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG=$PKI/servers.log
: >"$LOG"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

"$OPENSSL" ocsp -port "$P" -timeout 5 -index "$PKI/state/ca/index.txt" -CA "$PKI/ca.pem" \
    -rsigner "$PKI/ocsp-ca.pem" -rkey "$PKI/ocsp-ca.key.pem" -nmin 60 -ignore_err >>"$LOG" 2>&1 &
pids+=($!)
"$NODE" "$HERE/httpd.js" "$H" "$PKI" "$OPENSSL" >>"$LOG" 2>&1 &
pids+=($!)

# Wait until both listen (at most 10 s).  The OCSP responder serves one
# connection at a time and would wait on an empty probe connection, so its
# readiness is read from its "ACCEPT" log line instead.
for _ in $(seq 100); do
    if grep -q '^ACCEPT' "$LOG" && (exec 3<>"/dev/tcp/127.0.0.1/$H") 2>/dev/null; then
        break
    fi
    sleep 0.1
done
SIMPKI_OCSP_PORT=$P SIMPKI_HTTP_PORT=$H "$@"
