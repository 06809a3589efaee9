#!/usr/bin/env bash
# test_ar_evidence.sh TEST_BINARY - evidence bundles (ar_evidence.c) from a real archive,
# without the rest of the gateway: a throwaway PostgreSQL with the schema, signature events
# made here with the demo PKI's keys (RSA and EC, raw and CMS; real OCSP answers of `openssl
# ocsp`), appended with archive_ingest, a chain head timestamped by `openssl ts`; then
# test_ar_evidence's bundles checked with docs/evidence/verify-evidence.sh alone, and
# corrupted copies refused.
. "$SRC/tests/integration/lib.sh"
BIN=$1
. "$SRC/tests/integration/evidence_lib.sh"

pg_start
for f in "$SRC"/gateway/archive/sql/*.sql; do pg_sql -f "$f" >/dev/null; done
make_demo
start_ocsp
PKI=$T/demo/pki

# The TSA: openssl ts -reply with the test PKI's TSA (mini_tsa.sh's configuration, as e2e_tsa.sh).
. "$SRC/tests/integration/mini_tsa.sh"
mkdir -p "$T/tsa"
tsa_cnf "$PKI" "$T/tsa"

printf 'Quyết định 77/QĐ-UBND\n' >"$T/doc.txt"
DIGEST=$(openssl dgst -sha256 -binary "$T/doc.txt" | base64 -w0)
NOW_MS=$(( $(date +%s) * 1000 ))
SEQ_MS=0

# event ID MSISDN FORMAT RP: sign the document with the number's key as the SIM would, then
# archive a signature event (docs/archive.md "Event bodies") through archive_ingest.
event() {
  local id=$1 m=$2 fmt=$3 rp=$4 crt key sig der_b64 sha serial ocsp at body
  crt=$(cert_file "$m"); key=$(cert_file "$m" key.pem)
  if [ "$fmt" = cms ]; then
    openssl cms -sign -binary -in "$T/doc.txt" -signer "$crt" -inkey "$key" -md sha256 -outform DER \
      -certfile "$PKI/intermediates.pem" -out "$T/$id.sig"
  else
    base64 -d <<<"$DIGEST" >"$T/digest.bin"
    openssl pkeyutl -sign -inkey "$key" -in "$T/digest.bin" -pkeyopt digest:sha256 -out "$T/$id.sig"
  fi
  openssl x509 -in "$crt" -outform DER -out "$T/$id.der"
  der_b64=$(base64 -w0 "$T/$id.der")
  sha=$(sha256sum "$T/$id.der" | cut -c1-64)
  serial=$(openssl x509 -in "$crt" -noout -serial | cut -d= -f2)
  openssl ocsp -issuer "$PKI/ca.pem" -cert "$crt" -url "http://127.0.0.1:$PKI_PORT" -respout "$T/$id.ocsp" \
    -no_nonce -noverify >/dev/null 2>&1
  ocsp=$(base64 -w0 "$T/$id.ocsp")
  SEQ_MS=$((SEQ_MS + 1))
  at=$((NOW_MS + SEQ_MS))
  body=$(jq -S -c -n --arg id "$id" --arg m "$m" --arg fmt "$fmt" --arg rp "$rp" --arg d "$DIGEST" \
    --arg sig "$(base64 -w0 "$T/$id.sig")" --arg sha "$sha" --arg serial "$serial" --arg ocsp "$ocsp" \
    --argjson at "$at" --arg ats "$(date -u -d "@$((at / 1000))" +%Y-%m-%dT%H:%M:%S).$(printf %03d $((at % 1000)))Z" \
    '{event_id: $id, kind: "sign", type: "signature", at: $ats, at_ms: $at, txn_id: $id, rp: $rp, msisdn: $m,
      op: "sign", state: "completed", result: "OK", etsi_status: 502, digest_alg: "SHA-256", digest: $d,
      display_text: "Ký Quyết định 77/QĐ-UBND", vc: "1234", format: $fmt, signature: $sig,
      cert_sha256: $sha, cert_serial: $serial, ocsp: $ocsp}
      # cms: the digest sent is doc_digest; digest, what the SIM signed (here a stand-in)
      | if $fmt == "cms" then .doc_digest = $d | .digest = "zNcBPySOOGXGvphQ9hXdMsp0GCBlakxQQIU7rPWVEOk=" else . end')
  jq -n --arg body "$(printf %s "$body" | base64 -w0)" --arg id "$id" --arg m "$m" --arg rp "$rp" \
    --arg sha "$sha" --arg der "$der_b64" --arg serial "$serial" --argjson at "$at" \
    '{certs: [{sha256: $sha, der: $der}], events: [{kind: "sign", at_ms: $at, event_id: $id, etype: "signature",
      body: $body, txn_id: $id, msisdn: $m, rp: $rp, cert_serial: $serial, cert_sha256: $sha}]}' >"$T/batch.json"
  pg_sql -v "b=$(cat "$T/batch.json")" <<<"SELECT archive_ingest(:'b'::jsonb)" >/dev/null
}

# anchor: timestamp every chain's head now (what ar_anchor does at anchor_interval_s).
anchor() {
  local chain seq head
  while IFS='|' read -r chain seq head; do
    xxd -r -p <<<"$head" >"$T/head.bin"
    openssl ts -query -data "$T/head.bin" -sha256 -cert -out "$T/head.tsq" 2>/dev/null
    openssl ts -reply -config "$T/tsa/tsa.cnf" -queryfile "$T/head.tsq" -token_out -out "$T/head.tst" 2>/dev/null
    pg_sql -v "c=$chain" -v "s=$seq" -v "h=$head" -v "t=$(xxd -p "$T/head.tst" | tr -d '\n')" >/dev/null \
      <<<"INSERT INTO archive_anchors (chain, seq, head, tst, gen_time)
          VALUES (:'c', :s, decode(:'h', 'hex'), decode(:'t', 'hex'), now())"
  done < <(pg_sql -c "SELECT chain, seq, encode(head, 'hex') FROM archive_heads")
}

ID_RSA=0b4f2a9c1d3e5f60718293a401 ID_EC=0b4f2a9c1d3e5f60718293a402
ID_RSA_CMS=0b4f2a9c1d3e5f60718293a403 ID_EC_CMS=0b4f2a9c1d3e5f60718293a404
ID_OTHER=0b4f2a9c1d3e5f60718293a405 ID_LATE=0b4f2a9c1d3e5f60718293a406
event $ID_RSA 84960000001 raw eoffice-test
event $ID_EC 84960000002 raw eoffice-test
event $ID_RSA_CMS 84960000001 cms eoffice-test
event $ID_EC_CMS 84960000002 cms eoffice-test
event $ID_OTHER 84960000011 raw other-rp
anchor
event $ID_LATE 84960000012 raw eoffice-test # after the anchor: not covered yet

# bundle ID RP|- [CONNINFO]: status in $T/status, the answer in $T/answer.json, a 200's also in $T/ID.json
bundle() {
  "$BIN" "${3:-$PG_CONNINFO}" "$PKI/trust.pem" "$PKI/intermediates.pem" "$PKI/tsa-root.pem" "$1" "$2" >"$T/out"
  head -n 1 "$T/out" >"$T/status"
  tail -n +2 "$T/out" >"$T/answer.json"
  if [ "$(status)" = 200 ]; then cp "$T/answer.json" "$T/$1.json"; fi
}
status() { cat "$T/status"; }

for id in $ID_RSA $ID_EC $ID_RSA_CMS $ID_EC_CMS; do
  bundle $id eoffice-test
  check "$id: the owner gets the bundle (200)" test "$(status)" = 200
  check "$id: verify-evidence.sh accepts it" verifies "$T/$id.json"
done
check "... also against the trust anchors given (--trust, --tsa-trust)" \
  verifies --trust "$PKI/trust.pem" --tsa-trust "$PKI/tsa-root.pem" "$T/$ID_EC_CMS.json"
bash "$VERIFY" "$T/$ID_EC_CMS.json" >"$T/verify.out" || true
check "the script prints each check" test "$(grep -c '^ok ' "$T/verify.out")" -ge 12
check "$ID_RSA: the path is the issuing CA then the root" test "$(jq '.path | length' "$T/$ID_RSA.json")" = 2
check "$ID_RSA: the following rows reach the anchor" \
  test "$(jq '[.link.seq, .following[-1].seq, .anchor.seq] | "\(.[0]) \(.[1]) \(.[2])"' -r "$T/$ID_RSA.json")" = "1 5 5"

bundle $ID_RSA other-rp
check "another relying party's: 404 NOT_FOUND" test "$(status) $(jq -r .error "$T/answer.json")" = "404 NOT_FOUND"
bundle $ID_OTHER -
check "an auditor gets any relying party's (200)" test "$(status)" = 200
check "... and it verifies" verifies "$T/$ID_OTHER.json"
bundle 0b4f2a9c1d3e5f60718293a4ff eoffice-test
check "an id never archived: 404 NOT_FOUND" test "$(status) $(jq -r .error "$T/answer.json")" = "404 NOT_FOUND"
bundle "x'; DROP TABLE archive_events; --" -
check "a malformed id: 404, no query" test "$(status)" = 404
bundle $ID_LATE eoffice-test
check "not anchored yet: 200 with anchor null and a note" \
  test "$(status) $(jq -r '"\(.anchor) \(.note != null)"' "$T/$ID_LATE.json")" = "200 null true"
check "... which the script refuses" bash -c "! bash '$VERIFY' '$T/$ID_LATE.json' >/dev/null"
bundle $ID_RSA - off
check "the archive off: 404 NOT_CONFIGURED" test "$(status) $(jq -r .error "$T/answer.json")" = "404 NOT_CONFIGURED"

# Tampering: one octet of the signature, of a following row's hash, of the token, of the body.
for id in $ID_RSA $ID_EC_CMS; do
  body=$(jq -r .body_b64 "$T/$id.json" | base64 -d)
  # The signature inside the archived body: the bytes everything else is checked against.
  newsig=$(corrupt_b64 "$T/$id.json" .signature | jq -r .signature)
  newbody=$(jq -S -c --arg s "$newsig" '.signature = $s' <<<"$body")
  jq --arg b "$(printf %s "$newbody" | base64 -w0)" --argjson e "$newbody" --arg s "$newsig" \
    '.body_b64 = $b | .event = $e | .signature = $s' "$T/$id.json" >"$T/bad.json"
  rc=0
  bash "$VERIFY" "$T/bad.json" >"$T/bad.out" 2>&1 || rc=$?
  check "$id: a changed signature (body and copies): the script fails" test $rc -ne 0
  check "$id: ... on the signature" grep -q '^FAIL signature' "$T/bad.out"
  check "$id: ... and on the chain" grep -q '^FAIL chain: row' "$T/bad.out"
  if [ "$id" = "$ID_RSA" ]; then
    jq --arg s "$newsig" '.signature = $s' "$T/$id.json" >"$T/bad.json"
    check "$id: the top-level signature alone changed: the script fails" \
      bash -c "! bash '$VERIFY' '$T/bad.json' >/dev/null"
  fi
  jq '.following[0].body_sha256 |= (if .[0:1] == "0" then "1" else "0" end + .[1:])' "$T/$id.json" >"$T/bad.json"
  rc=0
  bash "$VERIFY" "$T/bad.json" >"$T/bad.out" 2>&1 || rc=$?
  check "$id: one following row's body hash changed: the script fails, at the head" \
    test $rc -ne 0 -a "$(grep -c '^FAIL' "$T/bad.out")" = 1 -a -n "$(grep '^FAIL chain: the walk ends' "$T/bad.out")"
  at=-8 # inside the TSA's signature; for the RSA bundle inside the TSTInfo (the imprint)
  if [ "$id" = "$ID_RSA" ]; then at=100; fi
  corrupt_b64 "$T/$id.json" .anchor.tst $at >"$T/bad.json"
  rc=0
  bash "$VERIFY" "$T/bad.json" >"$T/bad.out" 2>&1 || rc=$?
  check "$id: octet $at of the timestamp token changed: the script fails, on the timestamp" \
    test $rc -ne 0 -a -n "$(grep '^FAIL timestamp' "$T/bad.out")"
  if [ "$id" = "$ID_RSA" ]; then
    corrupt_b64 "$T/$id.json" .event.ocsp >"$T/bad.json"
    check "$id: the event's OCSP changed (not the archived bytes): the script fails" \
      bash -c "! bash '$VERIFY' '$T/bad.json' >/dev/null"
  fi
done

# PostgreSQL away: 503 UNAVAILABLE.
pg_stop immediate
bundle $ID_RSA eoffice-test
check "PostgreSQL down: 503 UNAVAILABLE" test "$(status) $(jq -r .error "$T/answer.json")" = "503 UNAVAILABLE"
finish
