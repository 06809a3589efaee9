#!/usr/bin/env bash
# CAdES-B-T end to end: a TSA on loopback (tests/signer/httpd.js around
# `openssl ts -reply`, the test PKI's TSA certificate), the gateway with
# tsa_url set; openssl alone checks the CMS and the embedded token.  TSA
# down: a CMS request fails with TIMESTAMP_FAILED, raw ones are unaffected.
. "$(dirname "$0")/lib.sh"

start_redis
make_demo
start_ocsp
start_sim
write_config
PKI=$T/demo/pki

# The TSA: the responder configuration tests/signer/mksigs.sh writes (mini_tsa.sh tsa_cnf), then node.
. "$(dirname "$0")/mini_tsa.sh"
mkdir -p "$T/tsa/crl"
tsa_cnf "$PKI" "$T/tsa"
TSA_PORT=$(free_port)
node "$SRC/tests/signer/httpd.js" "$TSA_PORT" "$T/tsa" openssl >"$T/tsa.log" 2>&1 &
TSA_PID=$!
PIDS+=("$TSA_PID")
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TSA_PORT"

jq --arg u "http://127.0.0.1:$TSA_PORT/tsa" --arg t "$PKI/tsa-root.pem" \
  '.tsa_url = $u | .tsa_trust = $t | .tsa_timeout_ms = 3000' "$T/simpki.json" >"$T/simpki.json.tmp"
mv "$T/simpki.json.tmp" "$T/simpki.json"
import_registry
start_gw

sign_fmt() { # MSISDN DIGEST FORMAT -> final JSON
  local j body
  body=$(jq -n --arg m "$1" --arg d "$2" --arg f "$3" \
            '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"Ký văn bản", format:$f}')
  j=$(api POST /v1/signatures "$body")
  if [ "$(code)" != 202 ]; then echo "$j"; return; fi
  wait_result "$(jq -r .id <<<"$j")" 30
}

printf 'Quyết định 125/QĐ-UBND về việc ...\n' >"$T/doc.txt"
DOC_DIGEST=$(openssl dgst -sha256 -binary "$T/doc.txt" | base64 -w0)

for n in 84960000001 84960000002; do
  j=$(sign_fmt $n "$DOC_DIGEST" cms)
  check "$n cms with a TSA: OK, format cms" test "$(jq -r '"\(.result) \(.format)"' <<<"$j")" = "OK cms"
  jq -r '.signature // ""' <<<"$j" | base64 -d >"$T/$n.p7s" 2>/dev/null || true
  check "$n: openssl cms -verify accepts it over the document" \
    openssl cms -verify -binary -content "$T/doc.txt" -inform DER -in "$T/$n.p7s" -CAfile "$PKI/trust.pem" \
      -certfile "$PKI/intermediates.pem" -out /dev/null
  # The unsigned attribute id-aa-signatureTimeStampToken (1.2.840.113549.1.9.16.2.14): its value is the token.
  openssl asn1parse -inform DER -in "$T/$n.p7s" >"$T/$n.asn1"
  tok_off=$(awk '/:id-smime-aa-timeStampToken/ {f=1; next} f && /cons: SEQUENCE/ {sub(/:.*/, "", $1); print $1; exit}' "$T/$n.asn1")
  # The signature value: the last OCTET STRING before the attribute.
  sig_off=$(awk '/:id-smime-aa-timeStampToken/ {print last; exit} /prim: OCTET STRING/ {l=$1; sub(/:.*/, "", l); last=l}' "$T/$n.asn1")
  check "$n: the CMS carries a timestamp token" test -n "$tok_off"
  openssl asn1parse -inform DER -in "$T/$n.p7s" -strparse "${tok_off:-0}" -noout -out "$T/$n.tst" 2>/dev/null || true
  openssl asn1parse -inform DER -in "$T/$n.p7s" -strparse "${sig_off:-0}" -noout -out "$T/$n.sigval" 2>/dev/null || true
  # -strparse on an OCTET STRING writes its content octets: the signature value.
  check "$n: openssl ts -verify accepts the token over the signature value" \
    openssl ts -verify -token_in -in "$T/$n.tst" -data "$T/$n.sigval" -CAfile "$PKI/tsa-root.pem" \
      -untrusted "$PKI/tsa.pem"
done
check "/metrics counts the timestamps" \
  bash -c "curl -s http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_timestamps_total{result=\"ok\"} 2$'"
check "/metrics has the revocation counters" \
  bash -c "curl -s http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_revocation_results_total{result=\"good\"} 2$'"
check "/metrics has the verification cache" \
  bash -c "curl -s http://127.0.0.1:$API_PORT/metrics | grep -q '^simpki_vcache_lookups_total{table=\"cert\",outcome=\"miss\"}'"

# --- TSA down ------------------------------------------------------------------
kill "$TSA_PID"; wait "$TSA_PID" 2>/dev/null || true
j=$(sign_fmt 84960000001 "$DOC_DIGEST" cms)
check "TSA down, cms: TIMESTAMP_FAILED 900" \
  test "$(jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$j")" = "failed TIMESTAMP_FAILED 900"
check "no signature without the timestamp" test "$(jq -r '.signature // "none"' <<<"$j")" = none
check "the reason names the TSA" grep -q '^timestamp authority: ' <<<"$(jq -r '.message // ""' <<<"$j")"
j=$(sign_fmt 84960000002 "$DEFAULT_DIGEST" raw)
check "TSA down, raw: OK (raw signatures carry no timestamp)" test "$(jq -r .result <<<"$j")" = OK

finish
