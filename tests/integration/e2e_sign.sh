#!/usr/bin/env bash
# API -> Redis -> SMPP -> simulator SIM -> PoR -> verification, for every
# behaviour of the default scenario on all three carriers (and, with
# TRANSPORT=etsi204, the same through the simulator's MSSP).  Every completed
# signature is verified again with the openssl command line alone.
. "$(dirname "$0")/lib.sh"

TXN_TIMEOUT_S=12 stack_up

# behaviour code -> expected "state result etsi"
declare -A want=(
  [00]="completed OK 502"          [01]="failed USER_CANCEL 401"  [02]="failed EXPIRED 208"
  [03]="failed PIN_BLOCKED 402"    [04]="failed CARD_BLOCKED 403" [05]="failed NO_KEY 404"
  [06]="failed EXPIRED 208"        [07]="failed EXPIRED 208"      [08]="failed INVALID_SIGNATURE 503"
  [09]="completed OK 502"          [10]="completed OK 502"        [11]="failed DELIVERY_ERROR 209"
  [12]="completed OK 502"          [13]="completed OK 502"        [14]="completed OK 502"
  [15]="completed OK 502"          [16]="completed OK 502"
)
# TRANSPORT=etsi204 (ctest e2e_sign_etsi): the same numbers through the
# simulator's MSSP, which plays each behaviour's ETSI TS 102 204 analogue
# (tests/sim/README.md).  One differs: a corrupt PoR has no HTTP form; the MSSP
# reports the failed OTA exchange itself (fault 209).
if [ "$TRANSPORT" = etsi204 ]; then
  want[07]="failed OTA_ERROR 209"
fi
declare -A ids=()
numbers=()
for p in 96 91 90; do
  for b in "${!want[@]}"; do numbers+=("84${p}0000${b}1"); done
  for b in 00 01 07 08; do numbers+=("84${p}0000${b}2"); done
done

# Start every transaction at once: they run concurrently, like a morning's load.
for n in "${numbers[@]}"; do
  j=$(sign "$n")
  if [ "$(code)" = 202 ] && [ "$(jq -r .state <<<"$j")" = pending ]; then
    ids[$n]=$(jq -r .id <<<"$j")
  else
    bad "$n: POST answered $(code): $j"
  fi
done

for n in "${numbers[@]}"; do
  [ -n "${ids[$n]:-}" ] || continue
  b=${n:8:2}
  j=$(wait_result "${ids[$n]}" 40)
  got="$(jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$j")"
  if [ "$got" = "${want[$b]}" ]; then ok "$n behaviour $b: $got"; else bad "$n behaviour $b: got '$got', want '${want[$b]}': $j"; fi
  if [ "$(jq -r .result <<<"$j")" = OK ]; then
    check "$n: openssl verifies the returned signature with the returned certificate" \
      openssl_verify "$j" "$DEFAULT_DIGEST" sha256
  else
    check "$n: no signature handed out when not OK" test "$(jq -r '.signature // "none"' <<<"$j")" = none
  fi
done

# SHA-384 and SHA-512 digests, RSA and EC.
for alg in 384 512; do
  for n in 84960000001 84910000002; do
    d=$(printf 'digest %s' "$alg" | openssl dgst -sha$alg -binary | base64 -w0)
    j=$(sign "$n" "$d" "SHA-$alg"); id=$(jq -r .id <<<"$j")
    j=$(wait_result "$id" 20)
    check "$n SHA-$alg completes" test "$(jq -r .result <<<"$j")" = OK
    check "$n SHA-$alg verifies with openssl" openssl_verify "$j" "$d" "sha$alg"
  done
done

m=$(curl -sf "http://127.0.0.1:$API_PORT/metrics")
if [ "$TRANSPORT" = smpp ]; then
  check "metrics count dropped forged answers" test "$(awk '/^simpki_por_bad_checksum_total/{print $2}' <<<"$m")" -ge 3
fi
check "metrics count verification failures" test "$(awk '/^simpki_verify_failed_total/{print $2}' <<<"$m")" -ge 6
check "gateway still alive after hostile PDUs" kill -0 "$GW_PID"
finish
