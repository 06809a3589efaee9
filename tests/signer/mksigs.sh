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

bash "$SRC/mkpki.sh" "$OUT" "$SRC/sample.tsv"

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
