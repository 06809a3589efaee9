#!/usr/bin/env bash
#
# mksigseeds.sh - regenerate the fixed PKI of fuzz_ocsp and fuzz_tsa
# (fuzz_sig_pki.h, certificates only: the keys are thrown away) and their seed
# corpora (corpus/ocsp, corpus/tsa) with the openssl command line.  Run it by
# hand from anywhere; the results are committed, so the replay needs neither
# openssl nor a fixture.  Header and seeds belong together: regenerate both.
#
#   root -> ca -> sub         the certificate fuzz_ocsp asks about
#              -> ocsp        delegated responder (id-kp-OCSPSigning)
#   rogue-root -> rogue-ocsp  a responder nobody authorised
#   tsa-root -> tsa           timestamp authority (critical timeStamping EKU)
# Certificates last 100 years so the seeds keep passing path validation.
set -euo pipefail
OPENSSL=${OPENSSL:-openssl}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../pki/pki-lib.sh
. "$HERE/../pki/pki-lib.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"

# Fixed request values, also written to the header.
OCSP_NONCE=000102030405060708090a0b0c0d0e0f
TSA_NONCE=4142434445464748494a4b4c4d4e4f50 # first octet 0x40..0x7f, as sig_tsa_request makes it
TSA_DATA="simpki fuzz_tsa signature value"

cat >x.cnf <<'EOF'
[ req ]
distinguished_name = dn
[ dn ]
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_ca ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_sub ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_ocsp ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF

root() { # root NAME CN
    pki_genkey ec "$1.key"
    pki_cert "$1.key" "/O=simpki fuzz/CN=$2" "$1.pem" - - x.cnf v3_root 36500
}
issue() { # issue NAME CN ISSUER EXT
    pki_genkey ec "$1.key"
    pki_cert "$1.key" "/O=simpki fuzz/CN=$2" "$1.pem" "$3.pem" "$3.key" x.cnf "$4" 36500
}
root root "Fuzz Root"
issue ca "Fuzz CA" root v3_ca
issue sub "Fuzz Subscriber" ca v3_sub
issue other "Fuzz Other Subscriber" ca v3_sub
issue ocsp "Fuzz OCSP" ca v3_ocsp
root rogue-root "Fuzz Rogue Root"
issue rogue-ocsp "Fuzz Rogue OCSP" rogue-root v3_ocsp
root tsa-root "Fuzz TSA Root"
issue tsa "Fuzz TSA" tsa-root v3_tsa

# --- OCSP -----------------------------------------------------------------
O=$HERE/corpus/ocsp
rm -rf "$O"
mkdir -p "$O"
index() { # index FILE STATUS: the subscriber's line, V or R
    local serial subj
    serial=$("$OPENSSL" x509 -in sub.pem -noout -serial | sed 's/^serial=//')
    subj=$("$OPENSSL" x509 -in sub.pem -noout -subject -nameopt compat | sed 's/^subject=//')
    if [ "$2" = R ]; then
        printf 'R\t21250101000000Z\t260101000000Z,keyCompromise\t%s\tunknown\t%s\n' "$serial" "$subj" >"$1"
    else
        printf 'V\t21250101000000Z\t\t%s\tunknown\t%s\n' "$serial" "$subj" >"$1"
    fi
}
index good.idx V
index revoked.idx R
: >empty.idx
# A request with our nonce: openssl makes a random one, which is patched in place (requests are not signed).
"$OPENSSL" ocsp -issuer ca.pem -cert sub.pem -nonce -reqout req-rand.der
python3 - "$OCSP_NONCE" <<'EOF'
import sys
d = open("req-rand.der", "rb").read()
# The nonce extension's value: OCTET STRING (04 12) wrapping OCTET STRING (04 10) of 16 octets.
i = d.index(bytes([0x04, 0x12, 0x04, 0x10]))
nonce = bytes.fromhex(sys.argv[1])
open("req.der", "wb").write(d[:i + 4] + nonce + d[i + 20:])
wrong = bytes([b ^ 0xff for b in nonce])
open("req-wrong.der", "wb").write(d[:i + 4] + wrong + d[i + 20:])
EOF
"$OPENSSL" ocsp -issuer ca.pem -cert sub.pem -no_nonce -reqout req-nononce.der
"$OPENSSL" ocsp -issuer ca.pem -cert other.pem -nonce -reqout req-other-rand.der
respond() { # respond OUT REQ INDEX SIGNER CA [extra...]
    local out=$1 req=$2 idx=$3 signer=$4 ca=$5
    shift 5
    "$OPENSSL" ocsp -index "$idx" -CA "$ca.pem" -rsigner "$signer.pem" -rkey "$signer.key" -reqin "$req" \
        -respout "$O/$out" "$@" 2>/dev/null
}
respond good req.der good.idx ocsp ca -nmin 60
respond good-signed-by-ca req.der good.idx ca ca -nmin 60
respond good-no-next-update req.der good.idx ocsp ca
respond good-no-nonce req-nononce.der good.idx ocsp ca -nmin 60
respond good-resp-key-id req.der good.idx ocsp ca -nmin 60 -resp_key_id
respond revoked req.der revoked.idx ocsp ca -nmin 60
respond unknown req.der empty.idx ocsp ca -nmin 60
respond wrong-nonce req-wrong.der good.idx ocsp ca -nmin 60
respond other-cert req-other-rand.der good.idx ocsp ca -nmin 60
respond rogue-responder req.der good.idx rogue-ocsp ca -nmin 60
printf '\x30\x03\x0a\x01\x01' >"$O/status-malformed-request"
printf '\x30\x03\x0a\x01\x06' >"$O/status-unauthorized"
printf '' >"$O/empty"
head -c 100 "$O/good" >"$O/good-truncated"
cat "$O/good" <(printf '\x00') >"$O/good-trailing-octet"
python3 - "$O" <<'EOF'
import sys
d = bytearray(open(sys.argv[1] + "/good", "rb").read())
d[-3] ^= 0x01  # inside the signature
open(sys.argv[1] + "/good-bad-signature", "wb").write(bytes(d))
d = bytearray(open(sys.argv[1] + "/good", "rb").read())
d[1] = 0x84  # a length that does not fit
open(sys.argv[1] + "/good-huge-length", "wb").write(bytes(d))
EOF

# --- TSA ------------------------------------------------------------------
T=$HERE/corpus/tsa
rm -rf "$T"
mkdir -p "$T"
printf '%s' "$TSA_DATA" >data.bin
cat >tsa.cnf <<EOF
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = $W/tsaserial
crypto_device = builtin
signer_cert = $W/tsa.pem
certs = $W/tsa.pem
signer_key = $W/tsa.key
signer_digest = sha256
default_policy = 2.16.704.1.1.1.9.1
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
echo 01 >tsaserial
# TimeStampReq with our nonce, by hand (openssl ts -query picks its own nonce).
query() { # query OUT DIGEST_ALG NONCE_HEX|none DATAFILE
    python3 - "$@" <<'EOF'
import hashlib, sys
out, alg, nonce, datafile = sys.argv[1:5]
oids = {"sha256": "608648016503040201", "sha1": "2b0e03021a"}
def tlv(t, v):
    n = len(v)
    ln = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else bytes([0x82, n >> 8, n & 0xff])
    return bytes([t]) + ln + v
md = hashlib.new(alg, open(datafile, "rb").read()).digest()
algid = tlv(0x30, tlv(0x06, bytes.fromhex(oids[alg])) + b"\x05\x00")
body = tlv(0x02, b"\x01") + tlv(0x30, algid + tlv(0x04, md))
if nonce != "none":
    body += tlv(0x02, bytes.fromhex(nonce))
body += b"\x01\x01\xff"  # certReq TRUE
open(out, "wb").write(tlv(0x30, body))
EOF
}
reply() { # reply OUT QUERY [extra...]
    local out=$1 q=$2
    shift 2
    "$OPENSSL" ts -reply -config tsa.cnf -queryfile "$q" -out "$T/$out" "$@" 2>/dev/null
}
query q.der sha256 "$TSA_NONCE" data.bin
query q-nononce.der sha256 none data.bin
query q-sha1.der sha1 "$TSA_NONCE" data.bin
printf 'other data' >other.bin
query q-other.der sha256 "$TSA_NONCE" other.bin
query q-wrongnonce.der sha256 5152535455565758595a5b5c5d5e5f60 data.bin
reply granted q.der
reply granted-no-nonce q-nononce.der
reply granted-sha1-imprint q-sha1.der
reply granted-other-data q-other.der
reply granted-wrong-nonce q-wrongnonce.der
reply token q.der -token_out # a bare TimeStampToken, for sig_tsa_check_token
printf '\x30\x05\x30\x03\x02\x01\x02' >"$T/status-rejection"
printf '\x30\x05\x30\x03\x02\x01\x00' >"$T/status-granted-no-token"
printf '' >"$T/empty"
head -c 200 "$T/granted" >"$T/granted-truncated"
cat "$T/granted" <(printf '\x00') >"$T/granted-trailing-octet"
python3 - "$T" <<'EOF'
import sys
d = bytearray(open(sys.argv[1] + "/granted", "rb").read())
d[-3] ^= 0x01  # inside the signature
open(sys.argv[1] + "/granted-bad-signature", "wb").write(bytes(d))
EOF

# --- the header -----------------------------------------------------------
pem() { # pem NAME FILE...: a C string of the PEM files
    printf 'static const char %s[] =\n' "$1"
    shift
    cat "$@" | sed 's/.*/    "&\\n"/'
    printf '    ;\n'
}
hexc() { echo "$1" | sed 's/../0x&, /g; s/, $//'; }
{
    printf '/* fuzz_sig_pki.h - generated by mksigseeds.sh with corpus/ocsp and corpus/tsa: do not edit. */\n'
    printf '#ifndef SIMPKI_FUZZ_SIG_PKI_H\n#define SIMPKI_FUZZ_SIG_PKI_H\n\n#include <stdint.h>\n#include <time.h>\n\n'
    printf '/* When the seeds were made: fuzz_ocsp checks at this time. */\n'
    printf 'static const time_t fuzz_gen_time = %s;\n' "$(date +%s)"
    printf 'static const uint8_t fuzz_ocsp_nonce[16] = {%s};\n' "$(hexc $OCSP_NONCE)"
    printf 'static const uint8_t fuzz_tsa_nonce[16] = {%s};\n' "$(hexc $TSA_NONCE)"
    printf 'static const char fuzz_tsa_data[] = "%s";\n\n' "$TSA_DATA"
    pem fuzz_root_pem root.pem
    pem fuzz_ca_pem ca.pem
    pem fuzz_sub_pem sub.pem
    pem fuzz_tsa_root_pem tsa-root.pem
    printf '\n#endif\n'
} >"$HERE/fuzz_sig_pki.h"
command -v clang-format >/dev/null && clang-format -i "$HERE/fuzz_sig_pki.h"
echo "wrote $HERE/fuzz_sig_pki.h, $(ls "$O" | wc -l) OCSP and $(ls "$T" | wc -l) TSA seeds"
