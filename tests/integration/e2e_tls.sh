#!/usr/bin/env bash
# TLS on the API listener (gateway/api/gw_tls.h): the real daemon with a "tls"
# section, certificates made here with openssl, driven with curl, openssl
# s_client and simpki-admin.
#   - the configuration: a key that is not the certificate's, a fingerprint
#     without client_ca_file and a malformed fingerprint are refused by
#     --check-config with the reason;
#   - a signature end to end over https (curl --cacert) through the simulator;
#     /healthz and /metrics over https; plain HTTP and TLS 1.1 refused;
#   - the relying party "eoffice-test" lists its client certificate's SHA-256
#     (client_cert_sha256): without a certificate, with another one from the
#     same CA -> 403; with one from another CA -> refused at the handshake;
#     with its own -> 202.  "other-rp" has no such rule: no certificate needed;
#   - the same rule on the SOAP endpoint (fault 104) for the same relying party;
#   - simpki-admin --cacert/--client-cert/--client-key over https.
. "$(dirname "$0")/lib.sh"

P=$T/tls
mkdir -p "$P"
# EC P-256 everywhere: quick to make, and level 2 accepts it.
mkcert() { # name subject issuer(name or "self") [extensions]
  local n=$1 subj=$2 iss=$3 ext=${4:-}
  openssl ecparam -name prime256v1 -genkey -noout -out "$P/$n.key" 2>/dev/null
  if [ "$iss" = self ]; then
    openssl req -x509 -new -key "$P/$n.key" -subj "$subj" -days 2 -sha256 -out "$P/$n.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  else
    openssl req -new -key "$P/$n.key" -subj "$subj" -out "$P/$n.csr" 2>/dev/null
    printf '%s\n' "$ext" >"$P/$n.ext"
    openssl x509 -req -in "$P/$n.csr" -CA "$P/$iss.pem" -CAkey "$P/$iss.key" -CAcreateserial -days 2 -sha256 \
      -extfile "$P/$n.ext" -out "$P/$n.pem" 2>/dev/null
  fi
}
fp() { openssl x509 -in "$P/$1.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g'; }
mkcert ca "/CN=simpki test API CA" self
mkcert other-ca "/CN=another CA" self
mkcert server "/CN=localhost" ca "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
mkcert rp "/CN=eoffice-test" ca "extendedKeyUsage=clientAuth"
mkcert rp2 "/CN=eoffice-other-machine" ca "extendedKeyUsage=clientAuth"
mkcert stranger "/CN=eoffice-test" other-ca "extendedKeyUsage=clientAuth"
RP_FP=$(fp rp)
# Colons and upper case, as openssl prints it: the loader takes that form too.
RP_FP_COLONS=$(openssl x509 -in "$P/rp.pem" -noout -fingerprint -sha256 | sed 's/.*=//')

AP_ID=http://eoffice.test/ap
AP_PWD=ap-pwd-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
pwd_hash=$(printf %s "$AP_PWD" | sha256sum | cut -d' ' -f1)
CONFIG_EDIT=".tls = {cert_file: \"$P/server.pem\", key_file: \"$P/server.key\", client_ca_file: \"$P/ca.pem\"}
           | .api_keys[0] += {client_cert_sha256: [\"$RP_FP_COLONS\"], ap_id: \"$AP_ID\",
                              ap_pwd_sha256: \"$pwd_hash\", roles: [\"sign\", \"operator\"]}"
export CONFIG_EDIT

# The daemon over https: lib.sh's health checks speak plain HTTP, these replace them.
BASE=
own_listen() { tail -n +"$(($2 + 1))" "$1" | grep -Eq "API listening on https://127.0.0.1:$3(\"|\$)"; }
links_up() {
  curl -sf --cacert "$P/ca.pem" "https://127.0.0.1:$API_PORT/healthz" | jq -e '.carrier_links == true' >/dev/null
}
# tapi METHOD PATH TOKEN [BODY [curl args]] -> body on stdout, status in $T/code ("000": no HTTP answer)
tapi() {
  local m=$1 p=$2 tok=$3 b=${4:-}
  shift 3; shift || true
  local args=(-s -o "$T/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $tok" --cacert "$P/ca.pem")
  [ -n "$b" ] && args+=(-H 'Content-Type: application/json' --data-binary "$b")
  curl "${args[@]}" "$@" "https://127.0.0.1:$API_PORT$p" >"$T/code" || true
  cat "$T/body" 2>/dev/null || true
  rm -f "$T/body"
}
sign_body() { # MSISDN
  jq -n --arg m "$1" --arg d "$DEFAULT_DIGEST" '{msisdn: $m, digest: $d, digest_alg: "SHA-256",
        display_text: "Ký văn bản qua TLS"}'
}
SIGN_BODY=$(sign_body 84960000001)
RP_CERT=(--cert "$P/rp.pem" --key "$P/rp.key")
json_has() { jq -e "$1" <<<"$2" >/dev/null 2>&1; } # filter json

# ---- the configuration ------------------------------------------------------
start_redis
make_demo
start_ocsp
start_sim
write_config
BASE=https://127.0.0.1:$API_PORT

bad_cfg() { # name jq-filter expected-message
  jq "$2" "$T/simpki.json" >"$T/bad-$1.json"
  if "$SIMPKID" -c "$T/bad-$1.json" --check-config >"$T/bad-$1.out" 2>&1; then
    bad "--check-config accepts $1"
  elif grep -q -- "$3" "$T/bad-$1.out"; then
    ok "--check-config refuses $1: $(head -1 "$T/bad-$1.out")"
  else
    bad "--check-config refuses $1 without saying why: $(cat "$T/bad-$1.out")"
  fi
}
check "--check-config accepts the TLS configuration" "$SIMPKID" -c "$T/simpki.json" --check-config
bad_cfg key-mismatch ".tls.key_file = \"$P/rp.key\"" "tls.key_file: .*is not the key of the certificate"
bad_cfg unreadable-cert ".tls.cert_file = \"$P/nonexistent.pem\"" "tls.cert_file: cannot read"
bad_cfg fingerprint-without-ca "del(.tls.client_ca_file)" "client_cert_sha256: needs tls.client_ca_file"
bad_cfg fingerprint-malformed ".api_keys[0].client_cert_sha256 = [\"12ab\"]" \
  "client_cert_sha256: \\[0\\] must be 64 hex digits"
check "--help-config documents tls and client_cert_sha256" \
  bash -c "'$SIMPKID' --help-config | grep -q client_ca_file && '$SIMPKID' --help-config | grep -q client_cert_sha256"

import_registry
start_gw || { bad "simpkid with tls did not start"; finish; }
ok "simpkid listens over https (log: $(grep -m1 -o 'API listening on https://[^ ]*' "$T/gateway.log"))"

# ---- the JSON API over https -------------------------------------------------
j=$(tapi POST /v1/signatures "$TOKEN" "$SIGN_BODY" "${RP_CERT[@]}")
check "POST over https with the relying party's certificate: 202 (got $(code))" test "$(code)" = 202
id=$(jq -r '.id // empty' <<<"$j")
final=
end=$(($(date +%s) + 40))
while [ -n "$id" ] && [ "$(date +%s)" -lt "$end" ]; do
  final=$(tapi GET "/v1/signatures/$id?wait=10" "$TOKEN" "" "${RP_CERT[@]}")
  [ "$(code)" = 200 ] && [ "$(jq -r .state <<<"$final")" != pending ] && break
  sleep 0.2
done
check "the transaction completes through the simulator, read over https (state $(jq -r .state <<<"$final" 2>/dev/null))" \
  test "$(jq -r .state <<<"$final" 2>/dev/null)" = completed
check "its signature verifies with openssl" openssl_verify "$final" "$DEFAULT_DIGEST"

check "/healthz over https" bash -c "curl -sf --cacert '$P/ca.pem' '$BASE/healthz' | jq -e '.status == \"ok\"' >/dev/null"
check "/metrics over https" bash -c "curl -sf --cacert '$P/ca.pem' '$BASE/metrics' | grep -q '^simpki_'"
check "plain HTTP to the TLS port gets no HTTP answer" \
  bash -c "! curl -s -o /dev/null --max-time 5 'http://127.0.0.1:$API_PORT/healthz'"
check "curl --tls-max 1.1 is refused" \
  bash -c "! curl -s -o /dev/null --max-time 5 --cacert '$P/ca.pem' --tlsv1.0 --tls-max 1.1 \
           --ciphers 'DEFAULT@SECLEVEL=0' '$BASE/healthz'"
# The client above may refuse TLS 1.1 on its own: make sure the refusal is the server's.
openssl s_client -connect "127.0.0.1:$API_PORT" -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null >"$T/tls11.out" 2>&1 || true
check "a TLS 1.1 ClientHello gets the server's protocol_version alert" grep -q 'alert protocol version' "$T/tls11.out"
check "curl without --cacert does not trust the server (no skipping verification)" \
  bash -c "! curl -s -o /dev/null --max-time 5 '$BASE/healthz'"

# ---- client certificates per relying party ----------------------------------
j=$(tapi POST /v1/signatures "$TOKEN" "$SIGN_BODY")
check "eoffice-test without a client certificate: 403 (got $(code))" test "$(code)" = 403
check "... FORBIDDEN saying none was presented" \
  json_has '.error == "FORBIDDEN" and (.message | test("none was presented"))' "$j"
j=$(tapi POST /v1/signatures "$TOKEN" "$SIGN_BODY" --cert "$P/rp2.pem" --key "$P/rp2.key")
check "eoffice-test with another certificate of the same CA: 403 (got $(code))" test "$(code)" = 403
check "... FORBIDDEN saying it is not one of its certificates" \
  json_has '.error == "FORBIDDEN" and (.message | test("not one of"))' "$j"
tapi POST /v1/signatures "$TOKEN" "$SIGN_BODY" --cert "$P/stranger.pem" --key "$P/stranger.key" >/dev/null
check "a certificate from another CA (same subject) is refused at the handshake (HTTP $(code))" test "$(code)" = 000
tapi GET "/v1/signatures/$id" "$TOKEN" "" --cert "$P/rp2.pem" --key "$P/rp2.key" >/dev/null
check "reading a transaction with the wrong certificate: 403 too (got $(code))" test "$(code)" = 403
tapi POST /v1/signatures "other-$TOKEN" "$(sign_body 84960000011)" >/dev/null
check "other-rp (no client_cert_sha256) without a certificate: 202 (got $(code))" test "$(code)" = 202
tapi POST /v1/signatures "other-$TOKEN" "$(sign_body 84960000012)" --cert "$P/rp2.pem" --key "$P/rp2.key" >/dev/null
check "other-rp with some certificate of the CA: 202 (got $(code))" test "$(code)" = 202
tapi POST /v1/signatures "wrong-$TOKEN" "$SIGN_BODY" "${RP_CERT[@]}" >/dev/null
check "the right certificate does not stand in for the bearer key: 401 (got $(code))" test "$(code)" = 401

# ---- the SOAP endpoint: the same rule for the same relying party -------------
digestinfo=$( (printf '3031300d060960864801650304020105000420'; printf 'simpki tls soap' | openssl dgst -sha256 -hex | sed 's/.*= //') |
  xxd -r -p | base64 -w0)
envelope() { # AP_TransID
  cat <<EOF
<?xml version='1.0' encoding='UTF-8'?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Body><MSS_Signature><MSS_SignatureReq MajorVersion="1" MinorVersion="1" TimeOut="60" MessagingMode="asynchClientServer"><ns0:AP_Info xmlns:ns0="http://uri.etsi.org/TS102204/v1.1.2#" AP_ID="$AP_ID" AP_PWD="$AP_PWD" AP_TransID="$1" Instant="2026-12-05T19:40:00+00:00"/><ns1:MSSP_Info xmlns:ns1="http://uri.etsi.org/TS102204/v1.1.2#"><ns1:MSSP_ID><ns1:URI>http://hmssp.mobile-id.vn</ns1:URI></ns1:MSSP_ID></ns1:MSSP_Info><ns2:MobileUser xmlns:ns2="http://uri.etsi.org/TS102204/v1.1.2#"><ns2:MSISDN>84960000002</ns2:MSISDN></ns2:MobileUser><ns3:DataToBeSigned xmlns:ns3="http://uri.etsi.org/TS102204/v1.1.2#" MimeType="application/octet-stream" Encoding="base64">$digestinfo</ns3:DataToBeSigned><ns4:DataToBeDisplayed xmlns:ns4="http://uri.etsi.org/TS102204/v1.1.2#" MimeType="text/plain" Encoding="UTF-8">Ký qua SOAP và TLS</ns4:DataToBeDisplayed><ns6:SignatureProfile xmlns:ns6="http://uri.etsi.org/TS102204/v1.1.2#"><ns6:mssURI>http://mobile-id.vn/digitalSignature</ns6:mssURI></ns6:SignatureProfile></MSS_SignatureReq></MSS_Signature></soap-env:Body></soap-env:Envelope>
EOF
}
soap() { # AP_TransID [curl args] -> the answer in $T/soap.xml, status in $T/code
  local tid=$1
  shift
  envelope "$tid" >"$T/env.xml"
  curl -s -o "$T/soap.xml" -w '%{http_code}' --cacert "$P/ca.pem" -H 'Content-Type: application/soap+xml' \
    --data-binary @"$T/env.xml" "$@" "$BASE/soap/services/MSS_SignaturePort" >"$T/code" || true
}
soap T1 "${RP_CERT[@]}"
check "SOAP MSS_Signature over https with the AP's certificate: accepted (HTTP $(code), StatusCode 100)" \
  bash -c "[ '$(code)' = 200 ] && grep -q 'Value=\"100\"' '$T/soap.xml'"
soap T2 --cert "$P/rp2.pem" --key "$P/rp2.key"
check "SOAP with another certificate of the CA: fault 104 (HTTP $(code))" \
  bash -c "grep -q '_104' '$T/soap.xml' && grep -q 'not one of' '$T/soap.xml' && ! grep -q 'Value=\"100\"' '$T/soap.xml'"
soap T3
check "SOAP without a certificate: fault 104 (HTTP $(code))" \
  bash -c "grep -q '_104' '$T/soap.xml' && grep -q 'none was presented' '$T/soap.xml'"

# ---- simpki-admin over https -------------------------------------------------
printf '%s\n' "$TOKEN" >"$T/op.key"
chmod 600 "$T/op.key"
check "simpki-admin plan list over https with --cacert --client-cert --client-key" \
  "$SIMPKI_ADMIN" plan --api "$BASE" --key-file "$T/op.key" --cacert "$P/ca.pem" --client-cert "$P/rp.pem" --client-key "$P/rp.key" \
  list
out=$("$SIMPKI_ADMIN" plan --api "$BASE" --key-file "$T/op.key" --cacert "$P/ca.pem" list 2>&1) && rc=0 || rc=$?
check "simpki-admin without the client certificate: refused, saying why (rc $rc: $out)" \
  bash -c "[ $rc = 1 ] && grep -q '403 FORBIDDEN.*none was presented' <<<\"\$1\"" _ "$out"
out=$("$SIMPKI_ADMIN" -c "$T/simpki.json" plan --key-file "$T/op.key" --client-cert "$P/rp.pem" \
  --client-key "$P/rp.key" list 2>&1) && rc=0 || rc=$?
check "simpki-admin -c uses https and, without --cacert, does not trust the server (rc $rc: $out)" \
  bash -c "[ $rc = 1 ] && grep -q 'https://.*TLS' <<<\"\$1\"" _ "$out"

check "simpkid still serves after the refused handshakes" \
  bash -c "curl -sf --cacert '$P/ca.pem' '$BASE/healthz' >/dev/null"
stop_gw
finish
