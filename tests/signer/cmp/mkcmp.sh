#!/usr/bin/env bash
#
# mkcmp.sh OUTDIR - a small throwaway PKI for test_csr and test_cmp.
#
# Its own, rather than tests/pki/mkpki.sh, because what these tests need is
# different (SPKIs as GENKEY returns them, an RA certificate, a certificate
# for a key nobody asked about) and because they should not rebuild or depend
# on the subscriber PKI other tests use.  openssl command line only.
#
# OUTDIR gets:
#   root.{key.pem,pem}  ca.{key.pem,pem}   Test CMP Root, Test CMP Issuing CA
#   trust.pem intermediates.pem            what sig_trust_load reads
#   stray-ca.{key.pem,pem}                 a self-signed CA nobody trusts
#   <k>.key.pem <k>.spki.der               keys playing the SIM, k in
#                                          sim-rsa sim-ec other-rsa rsa1024 ec384
#   sim-rsa.crt.pem sim-ec.crt.pem         issued by ca: what the mock CA answers
#   other-rsa.crt.pem                      issued by ca for another key
#   stray-ec.crt.pem                       sim-ec's key, issued by stray-ca
#   ra.{key.pem,crt.pem}                   RA certificate for signature protection
#   srv.{key.pem,crt.pem}                  the mock CA's own CMP signing certificate
set -euo pipefail
OPENSSL=${OPENSSL:-openssl}
[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
PKI_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../pki" && pwd)/pki-lib.sh
# shellcheck source=../../pki/pki-lib.sh
. "$PKI_LIB"
if [ -e "$OUT/.done" ] && [ "$OUT/.done" -nt "${BASH_SOURCE[0]}" ] && [ "$OUT/.done" -nt "$PKI_LIB" ]; then
    exit 0
fi
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"

cat >ext.cnf <<'CNF'
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
subjectAltName = email:sim@simpki.test

[ v3_ra ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

genkey() { # genkey ALG NAME
    pki_genkey "$1" "$2.key.pem"
    # What SPKA/1 GENKEY hands the gateway: the DER SubjectPublicKeyInfo.
    "$OPENSSL" pkey -in "$2.key.pem" -pubout -outform DER -out "$2.spki.der"
}

# issue NAME ISSUER EXT SUBJECT   (ISSUER "-" = self-signed)
issue() {
    if [ "$2" = - ]; then
        pki_cert "$1.key.pem" "$4" "$1.pem" - - ext.cnf "$3" 3650
    else
        pki_cert "$1.key.pem" "$4" "$1.pem" "$2.pem" "$2.key.pem" ext.cnf "$3" 365
    fi
}

genkey rsa root
issue root - v3_root "/C=VN/O=simpki test/CN=Test CMP Root"
genkey rsa ca
issue ca root v3_ca "/C=VN/O=simpki test/CN=Test CMP Issuing CA"
genkey rsa stray-ca
issue stray-ca - v3_root "/C=VN/O=simpki test/CN=Test CMP Issuing CA"
cp root.pem trust.pem
cp ca.pem intermediates.pem

for k in sim-rsa:rsa sim-ec:ec other-rsa:rsa rsa1024:rsa1024 ec384:ec384; do
    genkey "${k#*:}" "${k%%:*}"
done
issue sim-rsa ca v3_sub "/C=VN/ST=Hà Nội/O=Bộ Tài chính/CN=Nguyễn Văn An/UID=CCCD:001012000001"
issue sim-ec ca v3_sub "/C=VN/ST=Hà Nội/O=Bộ Tài chính/CN=Trần Thị Bích Ngọc/UID=CCCD:001012000002"
issue other-rsa ca v3_sub "/C=VN/ST=Hà Nội/O=Bộ Tài chính/CN=Người Khác/UID=CCCD:001012000003"
cp sim-ec.key.pem stray-ec.key.pem
issue stray-ec stray-ca v3_sub "/C=VN/ST=Hà Nội/O=Bộ Tài chính/CN=Trần Thị Bích Ngọc/UID=CCCD:001012000002"
for n in sim-rsa sim-ec other-rsa stray-ec; do mv "$n.pem" "$n.crt.pem"; done
rm -f stray-ec.key.pem

genkey rsa ra
issue ra root v3_ra "/C=VN/O=simpki test/CN=simpki gateway RA"
mv ra.pem ra.crt.pem
genkey ec srv
issue srv root v3_ra "/C=VN/O=simpki test/CN=Test CMP server"
mv srv.pem srv.crt.pem

"$OPENSSL" verify -x509_strict -CAfile trust.pem -untrusted intermediates.pem sim-rsa.crt.pem sim-ec.crt.pem \
    other-rsa.crt.pem >/dev/null
touch .done
