#!/usr/bin/env bash
# The ETSI TS 102 204 SOAP endpoint (gateway/api/gw_soap.h) driven by a client
# nobody here wrote: python3-zeep with the Government CA's WSDL loaded
# unchanged (tests/interop/zeep_north.py), against the real daemon, Redis and
# the simulator's SIMs over SMPP.  This script starts the stack with two APs
# (relying parties with an AP_ID), a notification receiver's port on the
# allow-list, and hands over to the zeep script.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import zeep' 2>/dev/null; then
  echo "SKIP: python3-zeep is not installed (tests/run.sh installs it)"
  exit 77
fi

AP_PWD=ap-pwd-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
OTHER_PWD=other-pwd-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
CB_SECRET=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
RECV_PORT=$(free_port)
pwd_hash=$(printf %s "$AP_PWD" | sha256sum | cut -d' ' -f1)
other_hash=$(printf %s "$OTHER_PWD" | sha256sum | cut -d' ' -f1)
CONFIG_EDIT=".api_keys[0] += {ap_id: \"http://eoffice.test/ap\", ap_pwd_sha256: \"$pwd_hash\",
                              roles: [\"sign\", \"enrol\", \"lookup\"], callback_secret: \"$CB_SECRET\",
                              callback_allow: [\"http://127.0.0.1:$RECV_PORT/\"], callback_http: true}
           | .api_keys[1] += {ap_id: \"http://other.test/ap\", ap_pwd_sha256: \"$other_hash\"}"
export CONFIG_EDIT
TXN_TIMEOUT_S=12 SIM_DELAY_MS=300 stack_up || { bad "the stack did not start"; finish; }

if PYTHONUNBUFFERED=1 AP_PWD=$AP_PWD OTHER_PWD=$OTHER_PWD CB_SECRET=$CB_SECRET TOKEN=$TOKEN \
   "$PY" "$SRC/tests/interop/zeep_north.py" "http://127.0.0.1:$API_PORT" "$T/demo/pki" "$SRC" "$RECV_PORT" \
   >"$T/zeep.log" 2>&1; then
  ok "zeep_north: $(tail -1 "$T/zeep.log")"
else
  bad "zeep_north failed:"
  grep -E '^FAIL|Error|Traceback' "$T/zeep.log" | head -40 >&2
  tail -5 "$T/zeep.log" >&2
fi
grep -c '^ok ' "$T/zeep.log" | { read -r n; echo "($n zeep checks passed)"; }

check "the daemon is still serving after the hostile requests" curl -sf "http://127.0.0.1:$API_PORT/healthz"
check "SOAP requests are counted in /metrics" \
  bash -c "curl -s http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_soap_requests_total [1-9]'"
kill -TERM "$GW_PID"; wait "$GW_PID"; rc=$?
check "simpkid exits 0 on SIGTERM after it all (rc $rc)" test "$rc" = 0
finish
