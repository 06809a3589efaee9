#!/usr/bin/env bash
#
# mkdemo.sh - everything a demo (or a test) of the gateway against simpki-sim
# needs, built from the default number plan:
#
#   tests/sim/mkdemo.sh OUTDIR
#
#   OUTDIR/pki/            tests/pki/mkpki.sh run on subscribers-default.tsv
#   OUTDIR/pki/mssp/       TLS for the simulator's MSSP (README "MSSP"): a test
#                          CA ca.pem (+ ca.key.pem), server.{crt,key}.pem for
#                          127.0.0.1/localhost, ap.{crt,key}.pem the AP's
#                          client certificate and key; the scenario's "mssp"
#                          section names them relative to pki/
#   OUTDIR/scenario.json   scenario-default.json with "pki" set to OUTDIR/pki
#                          (run: simpki-sim --scenario OUTDIR/scenario.json)
#   OUTDIR/registry.json   the subscriber registry for the gateway's admin CLI:
#                          [{"msisdn","carrier","iccid","kv","cert_file","status"}]
#                          of every SIM with a certificate; the enrolment cards
#                          (no key yet, README "Enrolment numbers") are not in it
#
# Needs bash, jq and the openssl command line.  mkpki.sh skips the PKI when it
# is already up to date, so running this again is cheap.
set -euo pipefail

JQ=${JQ:-jq}
die() {
    printf 'mkdemo: %s\n' "$*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)

bash "$HERE/../pki/mkpki.sh" "$OUT/pki" "$HERE/subscribers-default.tsv"

# TLS for the MSSP front, apart from the signing PKI (mkpki.sh leaves pki/mssp/ alone).
bash "$HERE/mkmssp.sh" "$OUT/pki/mssp"

# Write through temporary files so that a failed jq never leaves half a file.
"$JQ" --arg pki "$OUT/pki" '.pki = $pki' "$HERE/scenario-default.json" >"$OUT/scenario.json.tmp"
mv "$OUT/scenario.json.tmp" "$OUT/scenario.json"

"$JQ" --arg pki "$OUT/pki" '[.subscribers[] | select(.cert) | {msisdn, carrier, iccid, kv: (.kv // 1),
        cert_file: ($pki + "/" + .cert), status: "active"}]' \
    "$HERE/scenario-default.json" >"$OUT/registry.json.tmp"
mv "$OUT/registry.json.tmp" "$OUT/registry.json"

printf 'mkdemo: %s/{pki,scenario.json,registry.json} ready (%s subscribers)\n' "$OUT" \
    "$("$JQ" length "$OUT/registry.json")"
