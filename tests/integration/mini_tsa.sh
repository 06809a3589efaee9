# mini_tsa.sh - a timestamp authority for the archive tests, sourced after lib.sh: the test
# PKI's TSA (tests/pki/mkpki.sh, one subscriber), `openssl ts -reply` behind
# tests/signer/httpd.js (as e2e_tsa.sh runs it), and tokens made with `openssl ts` directly.
#
#   tsa_cnf PKI OUT         # OUT/tsa.cnf, OUT/tsaserial (e2e_tsa.sh uses it too)
#   mini_tsa_pki            # $T/mtsa: mkpki.sh's files and tsa.cnf; sets TSA_TRUST
#   mini_tsa_start          # + the HTTP TSA; sets TSA_URL
#   mini_tsa_token FILE OUT # a DER TimeStampToken over SHA-256(FILE's octets)
# tsa_cnf PKI OUT: OUT/tsa.cnf for `openssl ts -reply` with PKI's tsa.pem (as tests/signer/mksigs.sh
# writes it for httpd.js), its serial file OUT/tsaserial starting at 01.
tsa_cnf() {
  cat >"$2/tsa.cnf" <<CNF
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
serial = $2/tsaserial
crypto_device = builtin
signer_cert = $1/tsa.pem
certs = $1/tsa.pem
signer_key = $1/tsa.key.pem
signer_digest = sha256
default_policy = 2.16.704.1.1.1.9.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
CNF
  echo 01 >"$2/tsaserial"
}

mini_tsa_pki() {
  local d=$T/mtsa
  mkdir -p "$d"
  # The test PKI's own TSA (tests/pki/mkpki.sh), and one subscriber whose certificate tests may use.
  printf '84960000001\tec\tNguyen Van Luu Tru\tSo Noi vu\tgood\n' >"$d/one.tsv"
  bash "$SRC/tests/pki/mkpki.sh" "$d" "$d/one.tsv" >"$T/mtsa-pki.log" 2>&1
  tsa_cnf "$d" "$d"
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
