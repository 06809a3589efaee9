#!/usr/bin/env bash
#
# mksigs.sh PKI_SRC_DIR OUTDIR - fixture for test_sig.
#
# Builds the test PKI from PKI_SRC_DIR/sample.tsv into OUTDIR, then signs a
# fixed message with the openssl command line (never with our code, so the
# test checks the signer against an independent implementation):
#   OUTDIR/cases/<profile>-<keyalg>.crt.der   one per profile and key algorithm
#   OUTDIR/cases/<profile>-<keyalg>.<md>.sig  openssl dgst -<md> -sign
#   OUTDIR/cases/stranger-{rsa,ec}.<md>.sig   the same message signed by keys
#                                              no certificate belongs to
#   OUTDIR/cases/msg.<md>.bin                  openssl dgst -<md> -binary
# For RSA `dgst -sign` is RSASSA-PKCS1-v1_5 over DigestInfo; for EC it is a
# DER ECDSA-Sig-Value, the two encodings the SIM sends.
set -euo pipefail
OPENSSL=${OPENSSL:-openssl}
SRC=$1
OUT=$2

# OCSP on port P, CRLs and the TSA over HTTP on P+1 (tests/signer/servers.sh):
# the port goes into the certificates, so it is chosen once per OUTDIR and kept.
mkdir -p "$OUT"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -r "$OUT/port" ]; then
    PORT=$(cat "$OUT/port")
else
    for _ in $(seq 50); do
        PORT=$((20000 + RANDOM % 30000))
        port_free "$PORT" && port_free $((PORT + 1)) && break
    done
    echo "$PORT" >"$OUT/port"
fi
SIMPKI_PKI_PORT=$PORT bash "$SRC/mkpki.sh" "$OUT" "$SRC/sample.tsv"

C=$OUT/cases
rm -rf "$C"
mkdir -p "$C"
printf 'Phê duyệt hồ sơ số 123/QĐ-UBND, số tiền 1.500.000 VNĐ\n' >"$C/msg.txt"
for md in sha256 sha384 sha512; do
    "$OPENSSL" dgst -"$md" -binary -out "$C/msg.$md.bin" "$C/msg.txt"
done

"$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$C/stranger-rsa.key.pem"
"$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$C/stranger-ec.key.pem"

sign() { # sign KEY NAME
    for md in sha256 sha384 sha512; do
        "$OPENSSL" dgst -"$md" -sign "$1" -out "$C/$2.$md.sig" "$C/msg.txt"
    done
}

for prof in "$OUT"/subs/*.profile; do
    base=${prof%.profile}
    read -r keyalg profile <"$prof"
    name=$profile-$keyalg
    cp "$base.crt.der" "$C/$name.crt.der"
    cp "$base.crt.pem" "$C/$name.crt.pem"
    cp "$base.key.pem" "$C/$name.key.pem"
    sign "$base.key.pem" "$name"
done
sign "$C/stranger-rsa.key.pem" stranger-rsa
sign "$C/stranger-ec.key.pem" stranger-ec
printf 'this is not a certificate\n' >"$C/garbage.crt.der"

# What the operator sees, straight from OpenSSL, to compare with sig_cert_info.
for f in "$C"/good-rsa.crt.pem "$C"/good-ec.crt.pem; do
    "$OPENSSL" x509 -in "$f" -noout -subject -nameopt RFC2253,-esc_msb
    "$OPENSSL" verify -x509_strict -CAfile "$OUT/trust.pem" -untrusted "$OUT/intermediates.pem" "$f"
done
for name in good-rsa good-ec; do
    "$OPENSSL" x509 -in "$C/$name.crt.pem" -noout -serial | sed 's/^serial=//' >"$C/$name.serial"
done

# The TSA configuration `openssl ts -reply` uses (test_cms, httpd.js).
cat >"$OUT/tsa.cnf" <<EOF
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = $OUT/tsaserial
crypto_device = builtin
signer_cert = $OUT/tsa.pem
certs = $OUT/tsa.pem
signer_key = $OUT/tsa.key.pem
signer_digest = sha256
default_policy = 2.16.704.1.1.1.9.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
[ -e "$OUT/tsaserial" ] || echo 01 >"$OUT/tsaserial"
# Intermediates without "ca": a path that lacks its issuing CA.
cat "$OUT/ca2.pem" "$OUT/ca-g1.pem" >"$OUT/intermediates-noca.pem"
# A CRL whose signature is broken: its last octet (inside the signature) flipped.
cp "$OUT/crl/ca.crl" "$C/ca-badsig.crl"
last=$(($(stat -c %s "$C/ca-badsig.crl") - 1))
b=$(od -An -tu1 -j "$last" -N1 "$C/ca-badsig.crl" | tr -d ' ')
printf "$(printf '\\%03o' $(((b ^ 1) & 255)))" | dd of="$C/ca-badsig.crl" bs=1 seek="$last" conv=notrunc status=none
