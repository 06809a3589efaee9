#!/usr/bin/env bash
#
# mkmssp.sh - TLS for the simulator's MSSP (README "MSSP"), apart from the
# signing PKI:
#
#   tests/sim/mkmssp.sh DIR          (mkdemo.sh: DIR = OUTDIR/pki/mssp)
#
#   DIR/ca.pem (+ ca.key.pem)        a test CA
#   DIR/server.{crt,key}.pem         the MSSP's, for 127.0.0.1/localhost
#   DIR/ap.{crt,key}.pem             the AP's (the gateway's) client certificate and key
#
# EC P-256 keys: cheap to make.  DIR/.done is written last, so an interrupted
# run starts over and a finished one is not redone.  Needs the openssl
# command line ($OPENSSL).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 1; }
OPENSSL=${OPENSSL:-openssl}
M=$1
[ -f "$M/.done" ] && exit 0
rm -rf "$M"
mkdir -p "$M"
"$OPENSSL" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -keyout "$M/ca.key.pem" -out "$M/ca.pem" -subj "/O=simpki test/CN=simpki-sim MSSP test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
leaf() { # name subject extensions
    "$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$M/$1.key.pem" -out "$M/$1.csr" -subj "$2" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
        "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" "$3" >"$M/$1.ext"
    "$OPENSSL" x509 -req -in "$M/$1.csr" -CA "$M/ca.pem" -CAkey "$M/ca.key.pem" -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
        -days 3650 -extfile "$M/$1.ext" -out "$M/$1.crt.pem" 2>/dev/null
    rm -f "$M/$1.csr" "$M/$1.ext"
}
leaf server "/O=simpki test/CN=127.0.0.1" $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'
leaf ap "/O=simpki test/CN=simpki gateway (AP)" "extendedKeyUsage=clientAuth"
touch "$M/.done"
