# mini_tsa.sh - a timestamp authority for the archive tests, sourced after lib.sh: a TSA root
# and a TSA certificate (critical EKU timeStamping, as tests/pki/mkpki.sh's) made in a second,
# `openssl ts -reply` behind tests/signer/httpd.js (as e2e_tsa.sh runs it), and tokens made
# with `openssl ts` directly.
#
#   mini_tsa_pki            # $T/mtsa/{tsa-root.pem,tsa.pem,tsa.key.pem,tsa.cnf}; sets TSA_TRUST
#   mini_tsa_start          # + the HTTP TSA; sets TSA_URL
#   mini_tsa_token FILE OUT # a DER TimeStampToken over SHA-256(FILE's octets)
mini_tsa_pki() {
  local d=$T/mtsa
  mkdir -p "$d/crl"
  cat >"$d/x509.cnf" <<'CNF'
[ req ]
distinguished_name = dn
[ dn ]
[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_tsa ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/tsa-root.key.pem" \
    -subj "/C=VN/O=simpki tests/CN=Archive test TSA root" -days 3650 -config "$d/x509.cnf" \
    -extensions v3_root -out "$d/tsa-root.pem" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/tsa.key.pem" -config "$d/x509.cnf" \
    -subj "/C=VN/O=simpki tests/CN=Archive test TSA" -out "$d/tsa.csr" 2>/dev/null
  openssl x509 -req -in "$d/tsa.csr" -CA "$d/tsa-root.pem" -CAkey "$d/tsa-root.key.pem" -set_serial 2 -days 365 \
    -extfile "$d/x509.cnf" -extensions v3_tsa -out "$d/tsa.pem" 2>/dev/null
  cat >"$d/tsa.cnf" <<CNF
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = $d/tsaserial
crypto_device = builtin
signer_cert = $d/tsa.pem
certs = $d/tsa.pem
signer_key = $d/tsa.key.pem
signer_digest = sha256
default_policy = 2.16.704.1.1.1.9.1
digests = sha256
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
  echo 01 >"$d/tsaserial"
  TSA_TRUST=$d/tsa-root.pem
}

mini_tsa_start() {
  local port
  [ -f "$T/mtsa/tsa.cnf" ] || mini_tsa_pki
  port=$(free_port)
  node "$SRC/tests/signer/httpd.js" "$port" "$T/mtsa" openssl >"$T/mtsa.log" 2>&1 &
  PIDS+=("$!")
  wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
  TSA_URL=http://127.0.0.1:$port/tsa
}

mini_tsa_token() { # FILE OUT
  openssl ts -query -data "$1" -sha256 -cert -no_nonce -out "$2.tsq" 2>/dev/null &&
    openssl ts -reply -config "$T/mtsa/tsa.cnf" -queryfile "$2.tsq" -token_out -out "$2" 2>/dev/null
}
