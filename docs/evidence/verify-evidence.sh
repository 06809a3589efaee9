#!/usr/bin/env bash
# verify-evidence.sh - check a simpki evidence bundle offline, with openssl alone
# (docs/evidence.md).  Needs bash, openssl, jq, base64 and sha256sum (coreutils), xxd.
#
#   verify-evidence.sh [--trust ROOTS.pem] [--tsa-trust TSA_ROOTS.pem] bundle.json
#
#   --trust       the signing trust anchors you trust (the Government CA roots): the
#                 bundle's path must end at one of them.  Without it the bundle's own
#                 last path certificate is used and its fingerprint printed: compare it
#                 with the one you trust.
#   --tsa-trust   the same for the timestamp authority (default: the bundle's tsa_certs).
#
# Prints one line per check ("ok   ..." or "FAIL ...") and exits 0 only when every
# check passed: 1 when one failed, 2 on bad usage.
set -uo pipefail

TRUST= TSA_TRUST=
while [ $# -gt 1 ]; do
  case $1 in
    --trust) TRUST=$2; shift 2 ;;
    --tsa-trust) TSA_TRUST=$2; shift 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 1 ] || [ ! -r "$1" ]; then
  sed -n '2,16p' "$0" >&2
  exit 2
fi
B=$1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
FAILED=0

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILED=1; }
check() { # description, command...: ok when the command succeeds
  local d=$1; shift
  if "$@" >"$W/out" 2>&1; then ok "$d"; else bad "$d"; sed 's/^/     /' "$W/out" | head -n 5; fi
}
# field PATH [FILE]: a JSON value as raw text ("" when null or absent)
field() { jq -r "$1 // empty" "${2:-$B}"; }
unb64() { base64 -d 2>/dev/null; }
sha256_hex() { sha256sum "$1" | cut -c1-64; }
# hash_step PREV_HEX SEQ BODY_SHA256_HEX -> SHA-256(prev || seq as 8 octets big-endian || body hash), hex
hash_step() {
  { printf '%s' "$1"; printf '%016x' "$2"; printf '%s' "$3"; } | xxd -r -p | sha256sum | cut -c1-64
}
der2pem() { openssl x509 -inform DER -in "$1" -out "$2" 2>/dev/null; }

if ! jq -e '.version == 1' "$B" >/dev/null 2>&1; then
  bad "bundle: a JSON object of version 1"
  exit 1
fi
echo "-- transaction $(field .txn_id), chain $(field .link.chain) row $(field .link.seq)"

# 1. The event: body_b64 is the exact bytes archived; every other check reads them.
field .body_b64 | unb64 >"$W/body.json"
check "event: body_b64 decodes to the event" jq -e --slurpfile b "$W/body.json" '.event == $b[0]' "$B"
for k in signature digest_alg digest doc_digest format; do
  check "event: $k is the archived body's" jq -e --slurpfile b "$W/body.json" --arg k "$k" \
    '(.[$k] // null) == ($b[0][$k] // null)' "$B"
done
check "event: a finished signature with result OK" jq -e '.type == "signature" and .result == "OK"' "$W/body.json"
ALG=$(field .digest_alg "$W/body.json" | tr -d '-' | tr 'A-Z' 'a-z')
FORMAT=$(field .format "$W/body.json")
FORMAT=${FORMAT:-raw}
AT=$(( $(field .at_ms "$W/body.json") / 1000 ))
echo "-- signed $(field .at "$W/body.json"), $ALG, format $FORMAT"
field .digest "$W/body.json" | unb64 >"$W/digest.bin"
# What the relying party sent: the digest (raw), the document's digest (cms: "digest" is then
# the hash of the signed attributes, which the SIM signed).
field '.doc_digest // .digest' "$W/body.json" | unb64 >"$W/doc_digest.bin"
field .signature "$W/body.json" | unb64 >"$W/sig.bin"

# 2. The certificate: the one the event names by hash; its path to the trust anchor.
field .certificate | unb64 >"$W/cert.der"
check "certificate: SHA-256 is the event's cert_sha256" \
  test "$(sha256_hex "$W/cert.der")" = "$(field .cert_sha256 "$W/body.json")"
der2pem "$W/cert.der" "$W/cert.pem"
: >"$W/inter.pem"
: >"$W/anchor.pem"
n=$(jq '.path // [] | length' "$B")
for i in $(seq 0 $((n - 1))); do
  jq -r ".path[$i]" "$B" | unb64 >"$W/p$i.der"
  der2pem "$W/p$i.der" "$W/p$i.pem"
  if [ "$i" -lt $((n - 1)) ]; then cat "$W/p$i.pem" >>"$W/inter.pem"; else cat "$W/p$i.pem" >"$W/anchor.pem"; fi
done
if [ -n "$TRUST" ]; then
  cp "$TRUST" "$W/anchor.pem"
elif [ "$n" -gt 0 ]; then
  echo "-- trust anchor (from the bundle; compare with yours): $(openssl x509 -in "$W/anchor.pem" -noout -subject)"
  echo "   $(openssl x509 -in "$W/anchor.pem" -noout -fingerprint -sha256)"
fi
cat "$W/anchor.pem" "$W/inter.pem" >"$W/all.pem"
check "path: the certificate chains to the trust anchor (at the signing time)" \
  openssl verify -attime "$AT" -CAfile "$W/anchor.pem" -untrusted "$W/inter.pem" "$W/cert.pem"

# 3. The signature over the digest.
if [ "$FORMAT" = cms ]; then
  # A detached CMS over the document: the document is not in the bundle, its digest is.
  # openssl checks the signature over the signed attributes (-no_content_verify skips
  # hashing the absent content); the messageDigest attribute must be the digest.  The
  # signer's path is the "path" check above: the signer must be that certificate
  # (-noverify: openssl cms would build the path only from the certificates in the CMS).
  check "signature: the CMS SignerInfo verifies with the signer's key" \
    openssl cms -verify -binary -inform DER -in "$W/sig.bin" -content /dev/null -no_content_verify -noverify \
      -signer "$W/signer.pem" -out /dev/null
  check "signature: the CMS signer is the certificate" \
    cmp -s <(openssl x509 -in "$W/signer.pem" -outform DER 2>/dev/null) "$W/cert.der"
  md=$(openssl asn1parse -inform DER -in "$W/sig.bin" 2>/dev/null |
    awk '/:messageDigest/ {f=1; next} f && /OCTET STRING/ {sub(/.*\[HEX DUMP\]:/, ""); print tolower($0); exit}')
  check "signature: the CMS messageDigest is the document's digest" \
    test -n "$md" -a "$md" = "$(xxd -p "$W/doc_digest.bin" | tr -d '\n')"
else
  openssl x509 -in "$W/cert.pem" -pubkey -noout >"$W/pub.pem" 2>/dev/null
  # RSA: PKCS#1 v1.5 over DigestInfo(alg, digest); EC: a DER ECDSA-Sig-Value over the digest.
  check "signature: verifies over the digest with the certificate's key" \
    openssl pkeyutl -verify -pubin -inkey "$W/pub.pem" -in "$W/digest.bin" -sigfile "$W/sig.bin" \
      -pkeyopt "digest:$ALG"
fi

# 4. The OCSP response the gateway checked the certificate with.
if [ -n "$(field .ocsp "$W/body.json")" ]; then
  field .ocsp "$W/body.json" | unb64 >"$W/ocsp.der"
  if [ "$n" -gt 1 ]; then cp "$W/p0.pem" "$W/issuer.pem"; else cp "$W/anchor.pem" "$W/issuer.pem"; fi
  # -no_nonce: the response answered the gateway's request, whose nonce is not in the bundle.
  openssl ocsp -respin "$W/ocsp.der" -issuer "$W/issuer.pem" -cert "$W/cert.pem" -CAfile "$W/all.pem" \
    -attime "$AT" -no_nonce >"$W/ocsp.out" 2>&1
  check "ocsp: the response is signed by the CA or its responder" grep -q '^Response verify OK' "$W/ocsp.out"
  check "ocsp: the certificate was good" grep -q "^$W/cert.pem: good" "$W/ocsp.out"
  check "ocsp: the bundle's ocsp is the event's" test "$(field .ocsp)" = "$(field .ocsp "$W/body.json")"
else
  echo "-- no OCSP response in the event (revocation not checked by OCSP)"
fi

# 5. The chain: this row's hash, then every following row up to the anchored head.
h=$(hash_step "$(field .link.prev_hash)" "$(field .link.seq)" "$(sha256_hex "$W/body.json")")
check "chain: row $(field .link.seq) hashes to its row_hash" test "$h" = "$(field .link.row_hash)"
if [ "$(jq '.anchor == null' "$B")" = true ]; then
  bad "anchor: none yet ($(field .note)): ask for the bundle again later"
  exit 1
fi
seq=$(field .link.seq)
steps=$(jq -r '.following[] | "\(.seq) \(.body_sha256)"' "$B")
gap=0
while read -r s bh; do
  [ -n "$s" ] || continue
  if [ "$s" -ne $((seq + 1)) ]; then gap=1; fi
  seq=$s
  h=$(hash_step "$h" "$s" "$bh")
done <<<"$steps"
check "chain: the following rows are consecutive" test "$gap" = 0
check "chain: they reach the anchored row $(field .anchor.seq)" test "$seq" = "$(field .anchor.seq)"
check "chain: the walk ends at the anchored head" test "$h" = "$(field .anchor.head)"

# 6. The timestamp over the head: messageImprint = SHA-256(head).
field .anchor.head | xxd -r -p >"$W/head.bin"
field .anchor.tst | unb64 >"$W/tst.der"
if [ -n "$TSA_TRUST" ]; then
  cp "$TSA_TRUST" "$W/tsa.pem"
else
  : >"$W/tsa.pem"
  for c in $(jq -r '.tsa_certs[]?' "$B"); do
    base64 -d <<<"$c" >"$W/t.der" 2>/dev/null && openssl x509 -inform DER -in "$W/t.der" >>"$W/tsa.pem" 2>/dev/null
  done
fi
# The TSA's certificate is judged at the token's own time: a token made years
# ago still verifies after that certificate expired.
gt=$(openssl ts -reply -in "$W/tst.der" -token_in -token_out -text 2>/dev/null | sed -n 's/^Time stamp: //p')
at=()
gt_epoch=$(date -u -d "$gt" +%s 2>/dev/null) && at=(-attime "$gt_epoch")
check "timestamp: the token is over the anchored head, signed by a TSA trusted at its time" \
  openssl ts -verify -data "$W/head.bin" -in "$W/tst.der" -token_in -CAfile "$W/tsa.pem" "${at[@]}"
echo "-- timestamped $gt (bundle: $(field .anchor.gen_time))"

if [ "$FAILED" -ne 0 ]; then
  echo "RESULT: the bundle does NOT verify"
  exit 1
fi
echo "RESULT: the bundle verifies"
