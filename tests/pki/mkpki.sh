#!/usr/bin/env bash
#
# mkpki.sh - build a throwaway test PKI shaped like the Government CA SIM profile.
#
#   tests/pki/mkpki.sh OUTDIR SUBSCRIBERS.tsv
#
# Uses only the openssl command line (plus bash and GNU date for the dates).
# OUTDIR gets:
#   root.key.pem root.pem             Test Root CA G2 (self-signed, 10 years)
#   ca.key.pem ca.pem                 Test Issuing CA, pathlen:0, signed by root (G2)
#   ca2.key.pem ca2.pem               second G2 issuing CA (EC P-384), with name
#                                     constraints: e-mail only under simpki.test
#   root-g1.* ca-g1.*                 Test Root CA G1 (RSA-2048) and its issuing CA
#   trust.pem (= root.pem + root-g1.pem)           trust anchors for the gateway
#   intermediates.pem (= ca.pem + ca2.pem + ca-g1.pem)  its intermediates
#   other-root.* other-ca.*           an unrelated PKI, issuer of "untrusted" subscribers
#   ocsp-<ca>.key.pem ocsp-<ca>.pem   delegated OCSP responder of each issuing CA
#                                     (id-kp-OCSPSigning, id-pkix-ocsp-nocheck)
#   ocsp-rogue.*                      an OCSP-signing certificate from other-ca
#   tsa-root.* tsa.*                  a timestamp authority (critical EKU timeStamping)
#   tsa-old.*                         its certificate of years ago, expired a year since
#   crl/<ca>.crl.pem .crl             CRL of each issuing CA (`openssl ca -gencrl`)
#   state/<ca>/index.txt              the CA databases (`openssl ocsp -index` reads them)
#   urls                              the OCSP and CRL base URLs written into certificates
#   subs/<msisdn>.key.pem             PKCS#8 private key
#   subs/<msisdn>.crt.pem .crt.der    the subscriber certificate
#   subs/<msisdn>.profile             "<keyalg> <profile>", for scripts that pick cases
#   subs/<msisdn>.<extra>.*           certificates for enrolment tests, see +extras below
#
# TSV columns, tab separated:  msisdn keyalg cn org profile
#   keyalg  rsa (RSA-2048) | ec (P-256); also, for refusal tests, rsa1024 | ec384 | rsa3072
#   profile good | expired | notyet | noku | untrusted
#           | revoked   issued by ca, then revoked (`openssl ca -revoke`), in the CRL
#           | g1        issued by the G1 issuing CA
#           | ca2       issued by the second G2 issuing CA, UID MST:... (a tax code)
#           | dsonly    keyUsage digitalSignature only (no nonRepudiation)
#           | nopolicy  no certificatePolicies extension
#           | badname   issued by ca2 with an e-mail outside its name constraints
#           | ca2person issued by ca2, UID CCCD:... (a person; ca2 signs with EC P-384,
#                       so an EC subscriber's certificate fits a SPKA/1 PUTCERT)
#   A profile may be followed by +extras, each adding files for enrolment tests
#   (tests/sim/README.md, "Enrolment numbers"), all with the Government CA
#   profile (v3_sub_good) and the row's subject unless said otherwise:
#     +other   subs/<m>.other.key.pem .other.crt.pem .other.crt.der: another key
#              of the same algorithm, certified by the row's issuer (a CA answering
#              a certificate for a key nobody asked about)
#     +old     subs/<m>.old.key.pem .old.crt.pem .old.crt.der: the key and
#              certificate the number's previous SIM held, issued by ca a year ago
#     +renew   subs/<m>.renew.crt.pem .renew.crt.der: the row's key, new serial,
#              same subject; subs/<m>.change.crt.*: the row's key, new serial, OU
#              changed to "Vụ Tổ chức cán bộ" (Mẫu 07); both issued by ca2, now
#   subs/<m>.profile holds the profile without its extras.
#
# Environment:
#   SIMPKI_PKI_PORT=P  certificates carry OCSP http://127.0.0.1:P/ and CRL/caIssuers
#                      URLs http://127.0.0.1:(P+1)/<ca>.crl; unset, port 1 (nothing
#                      listens) as before.  A change of port rebuilds the PKI.
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

PORT=${SIMPKI_PKI_PORT:-}
if [ -n "$PORT" ]; then
    [[ $PORT =~ ^[0-9]{1,5}$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65534 ] || die "SIMPKI_PKI_PORT: want 1..65534"
    OCSP_URL=http://127.0.0.1:$PORT/
    HTTP_BASE=http://127.0.0.1:$((PORT + 1))
else
    OCSP_URL=http://127.0.0.1:1/ocsp
    HTTP_BASE=http://127.0.0.1:1
fi
URLS="ocsp $OCSP_URL
http $HTTP_BASE"

PKI_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pki-lib.sh
# shellcheck source=pki-lib.sh
. "$PKI_LIB"
if [ -e "$OUT/.done" ] && [ "$OUT/.done" -nt "$TSV" ] && [ "$OUT/.done" -nt "${BASH_SOURCE[0]}" ] &&
    [ "$OUT/.done" -nt "$PKI_LIB" ] &&
    [ "$(cat "$OUT/urls" 2>/dev/null)" = "$URLS" ]; then
    exit 0
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
# Only what this script creates is removed, so OUTDIR may hold other files.
rm -rf "$OUT/.done" "$OUT/state" "$OUT/subs" "$OUT/openssl.cnf"
rm -rf "$OUT/crl"
rm -f "$OUT"/{root,ca,ca2,root-g1,ca-g1,other-root,other-ca,ocsp-ca,ocsp-ca2,ocsp-ca-g1,ocsp-rogue,tsa-root,tsa,tsa-old}.{key.pem,pem,csr}
rm -f "$OUT/trust.pem" "$OUT/intermediates.pem" "$OUT/urls"
mkdir -p "$OUT/state" "$OUT/subs" "$OUT/crl"

# ASN.1 GeneralizedTime for `openssl ca -startdate/-enddate`, relative to now.
asn1date() {
    date -u -d "$1" +%Y%m%d%H%M%SZ
}

# One config for every CA; the per-CA database comes from CA_STATE, the
# subscriber's e-mail from SUB_EMAIL, both set in the environment per call.
cat >"$OUT/openssl.cnf" <<'EOF'
SUB_EMAIL = unused@simpki.test
CA_STATE = .
CA_NAME = ca
OCSP_URL = http://127.0.0.1:1/ocsp
HTTP_BASE = http://127.0.0.1:1

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
crlnumber = $ENV::CA_STATE/crlnumber
crl_extensions = crl_ext
default_crl_days = 7
unique_subject = no
email_in_dn = no
copy_extensions = none
string_mask = utf8only
utf8 = yes

[ policy_any ]
countryName = supplied
commonName = supplied

[ crl_ext ]
authorityKeyIdentifier = keyid:always

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
crlDistributionPoints = URI:$ENV::HTTP_BASE/root.crl

[ v3_ca_nc ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
certificatePolicies = 2.16.704.1.1.1.1.1
crlDistributionPoints = URI:$ENV::HTTP_BASE/root.crl
nameConstraints = critical, permitted;email:.simpki.test

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

[ v3_sub_dsonly ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SUB_EMAIL
certificatePolicies = 2.16.704.1.1.1.1.1
authorityInfoAccess = OCSP;URI:$ENV::OCSP_URL, caIssuers;URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crt
crlDistributionPoints = URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crl

[ v3_sub_nopolicy ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SUB_EMAIL
authorityInfoAccess = OCSP;URI:$ENV::OCSP_URL, caIssuers;URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crt
crlDistributionPoints = URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crl

[ v3_sub_good ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SUB_EMAIL
certificatePolicies = 2.16.704.1.1.1.1.1
authorityInfoAccess = OCSP;URI:$ENV::OCSP_URL, caIssuers;URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crt
crlDistributionPoints = URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crl

[ v3_sub_noku ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = email:$ENV::SUB_EMAIL
certificatePolicies = 2.16.704.1.1.1.1.1
authorityInfoAccess = OCSP;URI:$ENV::OCSP_URL, caIssuers;URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crt
crlDistributionPoints = URI:$ENV::HTTP_BASE/$ENV::CA_NAME.crl
EOF
export SUB_EMAIL=unused@simpki.test CA_NAME=ca OCSP_URL HTTP_BASE
printf '%s\n' "$URLS" >"$OUT/urls"

genkey() { # genkey ALG FILE (pki-lib.sh)
    pki_genkey "$1" "$2" || die "cannot make a '$1' key"
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

genkey ec384 "$OUT/ca2.key.pem"
csr "$OUT/ca2.key.pem" "/C=VN/O=$BCY/CN=Test Issuing CA 2 SIM PKI (simpki)" "$OUT/ca2.csr"
issue root "$OUT/root.pem" "$OUT/root.key.pem" "$OUT/ca2.csr" "$OUT/ca2.pem" v3_ca_nc "-3 years" "+6 years"

# G1: the older generation, still trusted for certificates it issued.
genkey rsa "$OUT/root-g1.key.pem"
csr "$OUT/root-g1.key.pem" "/C=VN/O=$BCY/CN=Test Root CA G1 (simpki)" "$OUT/root-g1.csr"
issue root-g1 - "$OUT/root-g1.key.pem" "$OUT/root-g1.csr" "$OUT/root-g1.pem" v3_root "-3 years" "+7 years"
genkey rsa "$OUT/ca-g1.key.pem"
csr "$OUT/ca-g1.key.pem" "/C=VN/O=$BCY/CN=Test Issuing CA G1 (simpki)" "$OUT/ca-g1.csr"
issue root-g1 "$OUT/root-g1.pem" "$OUT/root-g1.key.pem" "$OUT/ca-g1.csr" "$OUT/ca-g1.pem" v3_ca "-3 years" "+6 years"

cat "$OUT/root.pem" "$OUT/root-g1.pem" >"$OUT/trust.pem"
cat "$OUT/ca.pem" "$OUT/ca2.pem" "$OUT/ca-g1.pem" >"$OUT/intermediates.pem"

# Delegated OCSP responders, one per issuing CA.
for c in ca ca2 ca-g1; do
    genkey ec "$OUT/ocsp-$c.key.pem"
    csr "$OUT/ocsp-$c.key.pem" "/C=VN/O=$BCY/CN=OCSP $c (simpki)" "$OUT/ocsp-$c.csr"
    issue "$c" "$OUT/$c.pem" "$OUT/$c.key.pem" "$OUT/ocsp-$c.csr" "$OUT/ocsp-$c.pem" v3_ocsp "-1 day" "+1 year"
done

# A timestamp authority under its own root.
genkey ec "$OUT/tsa-root.key.pem"
csr "$OUT/tsa-root.key.pem" "/C=VN/O=$BCY/CN=Test TSA Root (simpki)" "$OUT/tsa-root.csr"
issue tsa-root - "$OUT/tsa-root.key.pem" "$OUT/tsa-root.csr" "$OUT/tsa-root.pem" v3_root "-3 years" "+7 years"
genkey rsa "$OUT/tsa.key.pem"
csr "$OUT/tsa.key.pem" "/C=VN/O=$BCY/CN=Test TSA (simpki)" "$OUT/tsa.csr"
issue tsa-root "$OUT/tsa-root.pem" "$OUT/tsa-root.key.pem" "$OUT/tsa.csr" "$OUT/tsa.pem" v3_tsa "-1 day" "+2 years"
# The TSA's earlier certificate: tokens it made then must still verify at their time (test_cms).
genkey ec "$OUT/tsa-old.key.pem"
csr "$OUT/tsa-old.key.pem" "/C=VN/O=$BCY/CN=Test TSA 2 years ago (simpki)" "$OUT/tsa-old.csr"
issue tsa-root "$OUT/tsa-root.pem" "$OUT/tsa-root.key.pem" "$OUT/tsa-old.csr" "$OUT/tsa-old.pem" v3_tsa "-3 years" "-1 year"

# --- an unrelated PKI with look-alike names -------------------------------
genkey rsa "$OUT/other-root.key.pem"
csr "$OUT/other-root.key.pem" "/C=VN/O=Other Test PKI/CN=Other Root CA (simpki)" "$OUT/other-root.csr"
issue other-root - "$OUT/other-root.key.pem" "$OUT/other-root.csr" "$OUT/other-root.pem" v3_root "-3 years" "+7 years"

genkey rsa "$OUT/other-ca.key.pem"
csr "$OUT/other-ca.key.pem" "/C=VN/O=Other Test PKI/CN=Test Issuing CA SIM PKI (simpki)" "$OUT/other-ca.csr"
issue other-root "$OUT/other-root.pem" "$OUT/other-root.key.pem" "$OUT/other-ca.csr" "$OUT/other-ca.pem" \
    v3_ca "-3 years" "+6 years"
genkey ec "$OUT/ocsp-rogue.key.pem"
csr "$OUT/ocsp-rogue.key.pem" "/C=VN/O=$BCY/CN=OCSP ca (simpki)" "$OUT/ocsp-rogue.csr"
issue other-ca "$OUT/other-ca.pem" "$OUT/other-ca.key.pem" "$OUT/ocsp-rogue.csr" "$OUT/ocsp-rogue.pem" v3_ocsp \
    "-1 day" "+1 year"
rm -f "$OUT"/*.csr

# --- subscribers ----------------------------------------------------------

# taxcode MSISDN: a 10-digit tax code with a valid check digit, from the
# number's last 7 digits (weights 31 29 23 19 17 13 7 5 3, check = 10 - sum
# mod 11; a remainder of 0 has no code, so then another prefix).
taxcode() {
    local pre d9 sum i c
    local -a w=(31 29 23 19 17 13 7 5 3)
    for pre in 01 03 05; do
        d9=$pre${1: -7}
        sum=0
        for i in 0 1 2 3 4 5 6 7 8; do sum=$((sum + ${d9:i:1} * ${w[i]})); done
        c=$((10 - sum % 11))
        [ "$c" -le 9 ] && { printf '%s%s' "$d9" "$c"; return; }
    done
    die "no tax code for $1"
}

# extra_cert KEY SUBJECT ISSUER OUTBASE START END: OUTBASE.pem and .der with the
# good profile, e-mail $email (set by the loop).
extra_cert() {
    "$OPENSSL" req -new -utf8 -config "$OUT/openssl.cnf" -key "$1" -subj "$2" -out "$4.csr"
    CA_NAME=$3 SUB_EMAIL=$email issue "$3" "$OUT/$3.pem" "$OUT/$3.key.pem" "$4.csr" "$4.pem" v3_sub_good "$5" "$6"
    rm -f "$4.csr"
    "$OPENSSL" x509 -in "$4.pem" -outform DER -out "$4.der"
    "$OPENSSL" verify -x509_strict -CAfile "$OUT/trust.pem" -untrusted "$OUT/intermediates.pem" "$4.pem" >/dev/null ||
        die "$4.pem does not verify against the test root"
}

n=0
lineno=0
while IFS=$'\t' read -r msisdn keyalg cn org profile rest || [ -n "${msisdn:-}" ]; do
    lineno=$((lineno + 1))
    msisdn=${msisdn%$'\r'}
    case $msisdn in '' | '#'*) continue ;; esac
    profile=${profile%$'\r'}
    extras=
    case $profile in *+*) extras=${profile#*+} profile=${profile%%+*} ;; esac
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
    uid=CCCD:$cccd
    # A tax code (MST) is 10 digits, the last a check digit; an organisation's
    # certificate carries one.
    [ "$profile" = ca2 ] && uid=MST:$(taxcode "$msisdn")
    subj="/C=VN/ST=Hà Nội/L=Quận Ba Đình/O=$(subjval "$org")/OU=Văn phòng/CN=$(subjval "$cn")/UID=$uid"
    csr "$key" "$subj" "$crt.csr"
    email=$msisdn@sim.simpki.test

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
    revoked) ;;
    g1) issuer=ca-g1 ;;
    ca2 | ca2person) issuer=ca2 ;;
    dsonly) ext=v3_sub_dsonly ;;
    nopolicy) ext=v3_sub_nopolicy ;;
    badname) issuer=ca2 email=$msisdn@sim.example.com ;;
    *) die "$TSV:$lineno: unknown profile '$profile'" ;;
    esac
    CA_NAME=$issuer SUB_EMAIL=$email issue "$issuer" "$OUT/$issuer.pem" "$OUT/$issuer.key.pem" \
        "$crt.csr" "$crt.pem" "$ext" "$start" "$end"
    if [ "$profile" = revoked ]; then
        CA_STATE=$OUT/state/$issuer "$OPENSSL" ca -config "$OUT/openssl.cnf" -cert "$OUT/$issuer.pem" \
            -keyfile "$OUT/$issuer.key.pem" -revoke "$crt.pem" -crl_reason keyCompromise 2>"$OUT/state/last.err" ||
            { cat "$OUT/state/last.err" >&2; die "openssl ca -revoke failed for $crt.pem"; }
    fi
    rm -f "$crt.csr"
    "$OPENSSL" x509 -in "$crt.pem" -outform DER -out "$crt.der"
    printf '%s %s\n' "$keyalg" "$profile" >"$OUT/subs/$msisdn.profile"

    # The PKI is only useful if OpenSSL itself agrees the good ones chain.
    case $profile in good | noku | g1 | ca2 | ca2person)
        "$OPENSSL" verify -x509_strict -CAfile "$OUT/trust.pem" -untrusted "$OUT/intermediates.pem" "$crt.pem" >/dev/null ||
            die "$crt.pem does not verify against the test root"
        ;;
    esac

    IFS=+ read -r -a xs <<<"$extras"
    for x in "${xs[@]}"; do
        case $x in
        other)
            genkey "$keyalg" "$OUT/subs/$msisdn.other.key.pem"
            extra_cert "$OUT/subs/$msisdn.other.key.pem" "$subj" "$issuer" "$OUT/subs/$msisdn.other.crt" "-1 day" "+2 years"
            ;;
        old)
            genkey "$keyalg" "$OUT/subs/$msisdn.old.key.pem"
            extra_cert "$OUT/subs/$msisdn.old.key.pem" "$subj" ca "$OUT/subs/$msisdn.old.crt" "-1 year" "+1 year"
            ;;
        renew)
            extra_cert "$key" "$subj" ca2 "$OUT/subs/$msisdn.renew.crt" "-1 hour" "+2 years"
            from="/OU=Văn phòng/" to="/OU=Vụ Tổ chức cán bộ/"
            extra_cert "$key" "${subj/"$from"/"$to"}" ca2 "$OUT/subs/$msisdn.change.crt" "-1 hour" "+2 years"
            ;;
        *) die "$TSV:$lineno: unknown extra '+$x'" ;;
        esac
    done
    n=$((n + 1))
done <"$TSV"

[ "$n" -gt 0 ] || die "$TSV: no subscribers"

# CRLs, after every revocation, from the CA databases.
for c in ca ca2 ca-g1; do
    st=$OUT/state/$c
    [ -e "$st/crlnumber" ] || echo 1000 >"$st/crlnumber"
    CA_STATE=$st "$OPENSSL" ca -batch -config "$OUT/openssl.cnf" -cert "$OUT/$c.pem" -keyfile "$OUT/$c.key.pem" \
        -gencrl -crldays 7 -out "$OUT/crl/$c.crl.pem" 2>"$st/last.err" ||
        { cat "$st/last.err" >&2; die "openssl ca -gencrl failed for $c"; }
    "$OPENSSL" crl -in "$OUT/crl/$c.crl.pem" -outform DER -out "$OUT/crl/$c.crl"
    "$OPENSSL" x509 -in "$OUT/$c.pem" -outform DER -out "$OUT/crl/$c.crt"
done
touch "$OUT/.done"
printf 'mkpki: %d subscribers in %s\n' "$n" "$OUT"
