#!/usr/bin/env bash
# Evidence bundles end to end (docs/evidence.md): the whole stack with the archive on
# (a throwaway PostgreSQL), chain heads timestamped every second by a TSA on loopback
# (openssl ts behind tests/signer/httpd.js, as e2e_tsa.sh); RSA and EC subscribers sign
# raw and CMS; GET /v1/signatures/{id}/evidence for the owner (200), another relying party
# (404) and an auditor (200); each bundle checked by docs/evidence/verify-evidence.sh ALONE,
# then copies with one octet changed (signature, a following row's body hash, the token)
# refused by it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/evidence_lib.sh"

pg_start
start_redis
make_demo
start_ocsp
start_sim
PKI=$T/demo/pki

# The TSA (e2e_tsa.sh's): the test PKI's TSA certificate, openssl ts -reply behind httpd.js.
. "$(dirname "$0")/mini_tsa.sh"
mkdir -p "$T/tsa/crl"
tsa_cnf "$PKI" "$T/tsa"
TSA_PORT=$(free_port)
node "$SRC/tests/signer/httpd.js" "$TSA_PORT" "$T/tsa" openssl >"$T/tsa.log" 2>&1 &
PIDS+=("$!")
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$TSA_PORT"

# The archive with an anchor every second, the TSA, and a third key: an auditor (role audit only).
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
AUDIT_HASH=$(printf %s "audit-$TOKEN" | sha256sum | cut -d' ' -f1)
ARCHIVE=1
CONFIG_EDIT='.archive.anchor_interval_s = 1
  | .tsa_url = "http://127.0.0.1:'$TSA_PORT'/tsa" | .tsa_trust = "'$PKI'/tsa-root.pem" | .tsa_timeout_ms = 3000
  | .api_keys += [{name: "auditor", sha256: "'$AUDIT_HASH'", roles: ["audit"]}]'
write_config
import_registry
start_gw

# as TOKEN METHOD PATH [BODY] -> body on stdout, status in $T/code (api with another key)
as() {
  local tok=$1 m=$2 p=$3 b=${4:-} args=()
  if [ -n "$b" ]; then args=(-H 'Content-Type: application/json' --data-binary "$b"); fi
  curl -s -o "$T/body" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $tok" "${args[@]}" \
    "http://127.0.0.1:$API_PORT$p" >"$T/code"
  cat "$T/body"
}
start_fmt() { # TOKEN MSISDN FORMAT -> the new transaction's id
  as "$1" POST /v1/signatures "$(jq -n --arg m "$2" --arg d "$DEFAULT_DIGEST" --arg f "$3" \
    '{msisdn:$m, digest:$d, digest_alg:"SHA-256", display_text:"Ký văn bản số 7/QĐ-UBND", format:$f}')" |
    jq -r .id
}
# evidence ID -> the owner's bundle once it is archived and anchored (at most 30 s)
evidence() {
  local j
  for _ in $(seq 1 150); do
    j=$(api GET "/v1/signatures/$1/evidence")
    if [ "$(code)" = 200 ] && [ "$(jq -r '.anchor != null' <<<"$j")" = true ]; then break; fi
    sleep 0.2
  done
  echo "$j"
}
refuses() { ! bash "$VERIFY" "$1" >"$T/refuse.log" 2>&1; }

# All at once (one number each: a SIM signs one at a time), so that their rows share anchors:
# bundles with rows following theirs.  RSA: 849x0000001, EC: 849x0000002 (tests/sim/README.md).
IDS=("$(start_fmt "$TOKEN" 84960000001 raw)" "$(start_fmt "$TOKEN" 84910000001 cms)"
     "$(start_fmt "$TOKEN" 84960000002 raw)" "$(start_fmt "$TOKEN" 84910000002 cms)")
OTHER_ID=$(start_fmt "other-$TOKEN" 84900000001 raw)
MORE_ID=$(start_fmt "$TOKEN" 84900000002 raw)
for id in "${IDS[@]}" "$MORE_ID"; do
  check "$id: signed (OK)" test "$(wait_result "$id" 30 | jq -r .result)" = OK
done

for i in "${!IDS[@]}"; do
  id=${IDS[$i]}
  evidence "$id" >"$T/b$i.json"
  check "$id: the owner gets its bundle (200), anchored" \
    test "$(code) $(jq -r '.anchor != null' "$T/b$i.json")" = "200 true"
  check "$id: verify-evidence.sh accepts it" verifies "$T/b$i.json"
  check "$id: ... against the demo PKI's anchors given explicitly too" \
    verifies --trust "$PKI/trust.pem" --tsa-trust "$PKI/tsa-root.pem" "$T/b$i.json"
  as "other-$TOKEN" GET "/v1/signatures/$id/evidence" >"$T/other.json"
  check "$id: another relying party: 404 NOT_FOUND" \
    test "$(code) $(jq -r .error "$T/other.json")" = "404 NOT_FOUND"
  as "audit-$TOKEN" GET "/v1/signatures/$id/evidence" >"$T/audit.json"
  check "$id: the auditor: 200, the same event" \
    test "$(code) $(jq -r .body_b64 "$T/audit.json")" = "200 $(jq -r .body_b64 "$T/b$i.json")"
done
check "RSA raw, RSA cms, EC raw, EC cms: the bundles say so" \
  test "$(for i in 0 1 2 3; do jq -r '"\(.event.msisdn) \(.format)"' "$T/b$i.json"; done | tr '\n' ,)" = \
  "84960000001 raw,84910000001 cms,84960000002 raw,84910000002 cms,"

as "audit-$TOKEN" GET "/v1/signatures/$OTHER_ID/evidence" >"$T/audit.json"
check "the auditor reads another relying party's bundle too" test "$(code)" = 200
as "audit-$TOKEN" POST /v1/signatures "$(jq -n --arg d "$DEFAULT_DIGEST" \
  '{msisdn:"84960000001", digest:$d, digest_alg:"SHA-256", display_text:"x"}')" >/dev/null
check "an audit-only key cannot sign: 403" test "$(code)" = 403
api GET "/v1/signatures/0b4f2a9c1d3e5f60718293a4ff/evidence" >"$T/none.json"
check "an id never signed: 404 NOT_FOUND" test "$(code) $(jq -r .error "$T/none.json")" = "404 NOT_FOUND"

# Tampering: a copy with one octet changed, the script must refuse it.
FOLLOWED=
for i in 0 1 2 3; do
  b=$T/b$i.json
  if [ "$i" = 0 ] || [ "$i" = 3 ]; then # RSA raw, EC cms
    corrupt_b64 "$b" .signature >"$T/bad.json"
    check "b$i: one octet of the signature changed: refused" refuses "$T/bad.json"
    corrupt_b64 "$b" .anchor.tst -8 >"$T/bad.json"
    check "b$i: one octet of the timestamp token changed: refused" refuses "$T/bad.json"
  fi
  if [ -z "$FOLLOWED" ] && [ "$(jq '.following | length' "$b")" -gt 0 ]; then
    FOLLOWED=b$i
    jq '.following[0].body_sha256 |= ((if .[0:1] == "0" then "1" else "0" end) + .[1:])' "$b" >"$T/bad.json"
    check "b$i: one following row's body hash changed: refused" refuses "$T/bad.json"
  fi
done
check "a bundle had following rows to walk" test -n "$FOLLOWED"

# The archive the daemon wrote and anchored (its own TSA round trips) verifies as a whole.
check "verify-archive: the live archive, with the daemon's anchors, is good" \
  "$SIMPKI_ADMIN" -c "$T/simpki.json" verify-archive
check "the daemon anchored at least one chain head" test "$(pg_sql -c "select count(*) > 0 from archive_anchors")" = t

# PostgreSQL away: 503 with Retry-After; back: 200 again.
pg_stop fast
sleep 0.5
curl -s -D "$T/hdr" -o "$T/down.json" -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:$API_PORT/v1/signatures/${IDS[0]}/evidence"
check "PostgreSQL stopped: 503 UNAVAILABLE with Retry-After" \
  bash -c "grep -q '^HTTP/1.1 503' '$T/hdr' && grep -qi '^Retry-After:' '$T/hdr' && jq -e '.error == \"UNAVAILABLE\"' '$T/down.json'"
pg_start
check "PostgreSQL back: the bundle again" wait_for 30 bash -c \
  "test \"\$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' \
   http://127.0.0.1:$API_PORT/v1/signatures/${IDS[0]}/evidence)\" = 200"
finish
