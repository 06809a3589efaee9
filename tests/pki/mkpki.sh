#!/usr/bin/env bash
#
# mkpki.sh - build a throwaway test PKI shaped like the Government CA SIM profile.
#
#   tests/pki/mkpki.sh OUTDIR SUBSCRIBERS.tsv
#
# Uses only the openssl command line (plus bash and GNU date for the dates).
# OUTDIR gets:
#   root.key.pem root.pem             Test Root CA G2 (self-signed, 10 years)
#   ca.key.pem ca.pem                 Test Issuing CA, pathlen:0, signed by root
#   trust.pem (= root.pem)            what the gateway loads as trust anchors
#   intermediates.pem (= ca.pem)      what the gateway loads as intermediates
#   other-root.* other-ca.*           an unrelated PKI, issuer of "untrusted" subscribers
#   subs/<msisdn>.key.pem             PKCS#8 private key
#   subs/<msisdn>.crt.pem .crt.der    the subscriber certificate
#   subs/<msisdn>.profile             "<keyalg> <profile>", for scripts that pick cases
#
# TSV columns, tab separated:  msisdn keyalg cn org profile
#   keyalg  rsa (RSA-2048) | ec (P-256); also, for refusal tests, rsa1024 | ec384 | rsa3072
#   profile good | expired | notyet | noku | untrusted
# Lines starting with # and empty lines are skipped.
#
# Every certificate is issued with `openssl ca`, because OpenSSL 3.0's `x509`
# cannot set arbitrary notBefore/notAfter and the expired / not-yet-valid
# profiles need exactly that.  Root and issuing CA start three years in the
# past so that a check "at" a past time inside a subscriber's validity still
# finds a valid chain.
#
# Rebuilds from scratch unless OUTDIR/.done is newer than both the TSV and
# this script.
set -euo pipefail

OPENSSL=${OPENSSL:-openssl}

die() {
    printf 'mkpki: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 2 ] || die "usage: $0 OUTDIR SUBSCRIBERS.tsv"
OUT=$1
TSV=$2
[ -r "$TSV" ] || die "cannot read $TSV"

if [ -e "$OUT/.done" ] && [ "$OUT/.done" -nt "$TSV" ] && [ "$OUT/.done" -nt "${BASH_SOURCE[0]}" ]; then
    exit 0
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Only what this script creates is removed, so OUTDIR may hold other files.
rm -rf "$OUT/.done" "$OUT/state" "$OUT/subs" "$OUT/openssl.cnf"
rm -f "$OUT"/{root,ca,other-root,other-ca}.{key.pem,pem,csr} "$OUT/trust.pem" "$OUT/intermediates.pem"
mkdir -p "$OUT/state" "$OUT/subs"

# ASN.1 GeneralizedTime for `openssl ca -startdate/-enddate`, relative to now.
asn1date() {
    date -u -d "$1" +%Y%m%d%H%M%SZ
}

# One config for every CA; the per-CA database comes from CA_STATE, the
# subscriber's e-mail from SUB_EMAIL, both set in the environment per call.
cat >"$OUT/openssl.cnf" <<'EOF'
SUB_EMAIL = unused@simpki.test
CA_STATE = .

[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
prompt = no

[ req_dn ]

[ ca ]
default_ca = simpki_ca

[ simpki_ca ]
database = $ENV::CA_STATE/index.txt
new_certs_dir = $ENV::CA_STATE/newcerts
rand_serial = yes
default_md = sha256
default_days = 730
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
string_mask = utf8only
utf8 = yes

[ policy_any ]
countryName = supplied
commonName = supplied

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_ca ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
certificatePolicies = 2.16.704.1.1.1.1.1
crlDistributionPoints = URI:http://127.0.0.1:1/root.crl

[ v3_sub_good ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SUB_EMAIL
certificatePolicies = 2.16.704.1.1.1.1.1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:1/ocsp, caIssuers;URI:http://127.0.0.1:1/ca.crt
crlDistributionPoints = URI:http://127.0.0.1:1/ca.crl

[ v3_sub_noku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SUB_EMAIL
certificatePolicies = 2.16.704.1.1.1.1.1
authorityInfoAccess = OCSP;URI:http://127.0.0.1:1/ocsp, caIssuers;URI:http://127.0.0.1:1/ca.crt
crlDistributionPoints = URI:http://127.0.0.1:1/ca.crl
EOF
export SUB_EMAIL=unused@simpki.test

genkey() { # genkey ALG FILE
    case $1 in
    rsa) "$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
    rsa1024) "$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out "$2" ;;
    rsa3072) "$OPENSSL" genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$2" ;;
    ec) "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$2" ;;
    ec384) "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
        -pkeyopt ec_param_enc:named_curve -out "$2" ;;
    *) die "unknown key algorithm '$1'" ;;
    esac
}

# issue STATE ISSUER_CERT|- ISSUER_KEY CSR OUT EXT START END
# ISSUER_CERT "-" means self-signed with ISSUER_KEY.
issue() {
    local state=$OUT/state/$1 issuer=$2 ikey=$3 csr=$4 out=$5 ext=$6 start=$7 end=$8
    local -a who
    mkdir -p "$state/newcerts"
    [ -e "$state/index.txt" ] || : >"$state/index.txt"
    if [ "$issuer" = - ]; then
        who=(-selfsign -keyfile "$ikey")
    else
        who=(-cert "$issuer" -keyfile "$ikey")
    fi
    CA_STATE=$state "$OPENSSL" ca -batch -utf8 -preserveDN -notext -config "$OUT/openssl.cnf" \
        "${who[@]}" -in "$csr" -out "$out" -extensions "$ext" \
        -startdate "$(asn1date "$start")" -enddate "$(asn1date "$end")" 2>"$state/last.err" ||
        { cat "$state/last.err" >&2; die "openssl ca failed for $out"; }
}

csr() { # csr KEY SUBJECT OUT
    "$OPENSSL" req -new -utf8 -config "$OUT/openssl.cnf" -key "$1" -subj "$2" -out "$3"
}

# An RDN value inside -subj: "/" separates RDNs and "\" escapes, so escape both.
subjval() {
    local v=$1
    v=${v//\\/\\\\}
    v=${v//\//\\/}
    printf '%s' "$v"
}

BCY="Ban Cơ yếu Chính phủ"

# --- the PKI the gateway trusts -------------------------------------------
genkey rsa3072 "$OUT/root.key.pem"
csr "$OUT/root.key.pem" "/C=VN/O=$BCY/CN=Test Root CA G2 (simpki)" "$OUT/root.csr"
issue root - "$OUT/root.key.pem" "$OUT/root.csr" "$OUT/root.pem" v3_root "-3 years" "+7 years"

genkey rsa3072 "$OUT/ca.key.pem"
csr "$OUT/ca.key.pem" "/C=VN/O=$BCY/CN=Test Issuing CA SIM PKI (simpki)" "$OUT/ca.csr"
issue root "$OUT/root.pem" "$OUT/root.key.pem" "$OUT/ca.csr" "$OUT/ca.pem" v3_ca "-3 years" "+6 years"

cp "$OUT/root.pem" "$OUT/trust.pem"
cp "$OUT/ca.pem" "$OUT/intermediates.pem"

# --- an unrelated PKI with look-alike names -------------------------------
genkey rsa "$OUT/other-root.key.pem"
csr "$OUT/other-root.key.pem" "/C=VN/O=Other Test PKI/CN=Other Root CA (simpki)" "$OUT/other-root.csr"
issue other-root - "$OUT/other-root.key.pem" "$OUT/other-root.csr" "$OUT/other-root.pem" v3_root "-3 years" "+7 years"

genkey rsa "$OUT/other-ca.key.pem"
csr "$OUT/other-ca.key.pem" "/C=VN/O=Other Test PKI/CN=Test Issuing CA SIM PKI (simpki)" "$OUT/other-ca.csr"
issue other-root "$OUT/other-root.pem" "$OUT/other-root.key.pem" "$OUT/other-ca.csr" "$OUT/other-ca.pem" \
    v3_ca "-3 years" "+6 years"
rm -f "$OUT"/*.csr

# --- subscribers ----------------------------------------------------------
n=0
lineno=0
while IFS=$'\t' read -r msisdn keyalg cn org profile rest || [ -n "${msisdn:-}" ]; do
    lineno=$((lineno + 1))
    msisdn=${msisdn%$'\r'}
    case $msisdn in '' | '#'*) continue ;; esac
    profile=${profile%$'\r'}
    if [ -z "$keyalg" ] || [ -z "$cn" ] || [ -z "$org" ] || [ -z "$profile" ] || [ -n "${rest:-}" ]; then
        die "$TSV:$lineno: want 5 tab-separated fields"
    fi
    # The msisdn names files, so it must be digits only.
    [[ $msisdn =~ ^[0-9]{9,15}$ ]] || die "$TSV:$lineno: msisdn must be 9-15 digits"

    key=$OUT/subs/$msisdn.key.pem
    crt=$OUT/subs/$msisdn.crt
    genkey "$keyalg" "$key"
    # CCCD (citizen ID) numbers are 12 digits: 0010 + the msisdn's last 8.
    cccd=0010${msisdn: -8}
    subj="/C=VN/ST=Hà Nội/L=Quận Ba Đình/O=$(subjval "$org")/OU=Văn phòng/CN=$(subjval "$cn")/UID=CCCD:$cccd"
    csr "$key" "$subj" "$crt.csr"

    ext=v3_sub_good
    issuer=ca
    start="-1 day"
    end="+2 years"
    case $profile in
    good) ;;
    expired) start="-2 years" end="-1 year" ;;
    notyet) start="+1 year" end="+3 years" ;;
    noku) ext=v3_sub_noku ;;
    untrusted) issuer=other-ca ;;
    *) die "$TSV:$lineno: unknown profile '$profile'" ;;
    esac
    SUB_EMAIL=$msisdn@sim.simpki.test issue "$issuer" "$OUT/$issuer.pem" "$OUT/$issuer.key.pem" \
        "$crt.csr" "$crt.pem" "$ext" "$start" "$end"
    rm -f "$crt.csr"
    "$OPENSSL" x509 -in "$crt.pem" -outform DER -out "$crt.der"
    printf '%s %s\n' "$keyalg" "$profile" >"$OUT/subs/$msisdn.profile"

    # The PKI is only useful if OpenSSL itself agrees the good ones chain.
    if [ "$profile" = good ] || [ "$profile" = noku ]; then
        "$OPENSSL" verify -x509_strict -CAfile "$OUT/root.pem" -untrusted "$OUT/ca.pem" "$crt.pem" >/dev/null ||
            die "$crt.pem does not verify against the test root"
    fi
    n=$((n + 1))
done <"$TSV"

[ "$n" -gt 0 ] || die "$TSV: no subscribers"
touch "$OUT/.done"
printf 'mkpki: %d subscribers in %s\n' "$n" "$OUT"
