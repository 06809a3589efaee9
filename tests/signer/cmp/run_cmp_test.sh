#!/usr/bin/env bash
#
# run_cmp_test.sh PKI_DIR TEST_CMP OPENSSL - start `openssl cmp` mock CAs on
# loopback, run test_cmp against them, stop them.
#
# Each mock listens on a port the kernel picks (-port 0); its "ACCEPT
# host:port" line tells us which.  test_cmp gets them as NAME=PORT arguments:
#   good      PBM, answers sim-rsa.crt.pem (the request's key), accepts rr
#   otherkey  PBM, answers other-rsa.crt.pem: a certificate for another key
#   stray     PBM, answers stray-ec.crt.pem: sim-ec's key, untrusted issuer
#   reject    PBM, answers every request with PKIStatus rejection
#   revoked   PBM, answers every request with rejection, failInfo certRevoked (10)
#   poll      PBM, makes the client poll once (checkAfter 1 s) first
#   ra        signature protection: trusts our RA via root.pem, signs its
#             answers with srv.crt.pem
#   norav     as good, but without -accept_raverified: it checks every proof
#             of possession itself, so it takes a p10cr (the SIM's signature)
#             and refuses our kur (raVerified) with badPOP
# All but norav take -accept_raverified: sig_cmp_renew sends a kur whose
# proof of possession the RA (the gateway) has verified, and the mock, like a
# real CA, only takes an RA's word for it when told to.  good and norav log
# at -verbosity 7, which names each message they receive ("received KUR");
# test_cmp reads those logs in CMP_MOCK_LOGS.  For a kur, OpenSSL 3.0's mock
# also wants the oldCertID control to name the certificate it answers (issuer
# and serial; 3.2 moved that check to -ref_cert): test_cmp renews the
# certificate a mock answers, and names another one to see the refusal.
# Only the processes started here are stopped, by their PIDs.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 PKI_DIR TEST_CMP OPENSSL" >&2; exit 2; }
# Absolute paths: the mocks run from inside PKI_DIR.
PKI=$(cd "$1" && pwd)
TEST=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
OPENSSL=$3
SECRET=pass:simpki-test-pbm-secret
W=$(mktemp -d "${TMPDIR:-/tmp}/simpki-cmp.XXXXXX")
pids=()
ports=()

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

start_mock() { # start_mock NAME OPTIONS...
    local name=$1 port="" i
    shift
    # The log exists before the background job opens it, so the first look cannot race it.
    : >"$W/$name.log"
    "$OPENSSL" cmp -port 0 -max_msgs 0 "$@" >>"$W/$name.log" 2>&1 &
    pids+=($!)
    for i in $(seq 100); do
        port=$(sed -n 's/^ACCEPT .*:\([0-9][0-9]*\) PID=.*/\1/p' "$W/$name.log" | head -n 1) || port=""
        [ -n "$port" ] && break
        sleep 0.05
    done
    if [ -z "$port" ]; then
        cat "$W/$name.log" >&2
        echo "mock $name did not start" >&2
        exit 1
    fi
    ports+=("$name=$port")
}

cd "$PKI"
RAV=-accept_raverified
start_mock good -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert sim-rsa.crt.pem $RAV -verbosity 7
start_mock otherkey -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert other-rsa.crt.pem $RAV
start_mock stray -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert stray-ec.crt.pem $RAV
start_mock reject -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert sim-rsa.crt.pem $RAV \
    -pkistatus 2 -failure 2 -statusstring "hồ sơ chưa được phê duyệt"
start_mock revoked -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert sim-rsa.crt.pem $RAV \
    -pkistatus 2 -failure 10 -statusstring "already revoked"
start_mock poll -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert sim-rsa.crt.pem $RAV -poll_count 1 -check_after 1
start_mock ra -srv_cert srv.crt.pem -srv_key srv.key.pem -srv_trusted root.pem -rsp_cert sim-rsa.crt.pem $RAV
start_mock norav -srv_ref simpki-ra -srv_secret "$SECRET" -rsp_cert sim-rsa.crt.pem -verbosity 7

rc=0
CMP_MOCK_LOGS=$W "$TEST" "$PKI" "${SECRET#pass:}" "${ports[@]}" || rc=$?
if [ "$rc" -ne 0 ]; then
    for f in "$W"/*.log; do
        printf '==== %s\n' "$f" >&2
        tail -n 20 "$f" >&2
    done
fi
exit "$rc"
