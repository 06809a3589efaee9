#!/usr/bin/env bash
#
# tls_client.sh TEST_BINARY - a throwaway CA, server and client certificate
# (openssl), an `openssl s_server -WWW` on loopback that requires a client
# certificate signed by that CA, then TEST_BINARY URL CA CERT KEY.  Stops only
# the server it started.
set -euo pipefail
OPENSSL=${OPENSSL:-openssl}
BIN=$1
D=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$D"
}
trap cleanup EXIT
cd "$D"
q() { "$OPENSSL" "$@" >/dev/null 2>&1; }
q req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=hc-test-ca
for who in server client; do
    q req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $who.key -out $who.csr -subj /CN=$who
done
printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
q x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 -extfile server.ext
q x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 1
mkdir www
printf 'hello over tls\n' >www/hello.txt

# A free port: bind to 0 is not offered by s_server, so try a few.
for _ in $(seq 20); do
    port=$((20000 + RANDOM % 20000))
    (cd www && exec "$OPENSSL" s_server -quiet -WWW -accept "$port" -cert ../server.pem -key ../server.key \
        -CAfile ../ca.pem -Verify 1 -verify_return_error) >"$D/s_server.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break 2; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
done
[ -n "$pid" ] || { echo "tls_client.sh: s_server did not start" >&2; exit 1; }
"$BIN" "https://127.0.0.1:$port/hello.txt" "$D/ca.pem" "$D/client.pem" "$D/client.key"
