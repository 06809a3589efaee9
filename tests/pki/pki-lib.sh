# pki-lib.sh - the openssl command lines the test PKI scripts share; sourced,
# not run, by tests/pki/mkpki.sh, tests/signer/cmp/mkcmp.sh and
# tests/fuzz/mksigseeds.sh.  Uses $OPENSSL (default openssl); returns non-zero
# on failure, so a caller under `set -e` stops there.

OPENSSL=${OPENSSL:-openssl}

# pki_genkey ALG FILE: a private key, PEM.  ALG: rsa (2048), rsa1024, rsa3072,
# ec (P-256), ec384 (P-384); curves by name, as a SIM's certificate carries them.
pki_genkey() {
    case $1 in
    rsa) "$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
    rsa1024) "$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$2" ;;
    rsa3072) "$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" ;;
    ec) "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
        -out "$2" ;;
    ec384) "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -pkeyopt ec_param_enc:named_curve \
        -out "$2" ;;
    *)
        echo "pki_genkey: unknown key algorithm '$1'" >&2
        return 1
        ;;
    esac
}

# pki_cert KEY SUBJECT OUT ISSUER_CERT|- ISSUER_KEY CNF EXT DAYS: a certificate
# for KEY (PEM) through a CSR, signed by the issuer with CNF's section EXT, a
# random 96-bit serial; ISSUER_CERT "-" is self-signed with KEY.  CNF needs a
# [ req ] section with distinguished_name for the CSR.
pki_cert() {
    local key=$1 subj=$2 out=$3 issuer=$4 ikey=$5 cnf=$6 ext=$7 days=$8 rc=0
    local -a by
    if [ "$issuer" = - ]; then
        by=(-signkey "$key")
    else
        by=(-CA "$issuer" -CAkey "$ikey" -set_serial "0x$("$OPENSSL" rand -hex 12)")
    fi
    "$OPENSSL" req -new -utf8 -config "$cnf" -key "$key" -subj "$subj" -out "$out.csr" &&
        "$OPENSSL" x509 -req -in "$out.csr" "${by[@]}" -days "$days" -sha256 -extfile "$cnf" -extensions "$ext" \
            -out "$out" 2>/dev/null || rc=$?
    rm -f "$out.csr"
    return "$rc"
}
