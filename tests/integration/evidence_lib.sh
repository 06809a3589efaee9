# evidence_lib.sh - what the evidence bundle tests share (e2e_evidence.sh,
# tests/gateway/test_ar_evidence.sh), sourced after lib.sh: the offline checker and a way
# to damage one octet of a bundle.
VERIFY=$SRC/docs/evidence/verify-evidence.sh

# verifies [OPTIONS] BUNDLE: verify-evidence.sh's verdict; its FAIL lines shown when it refuses
verifies() {
  if bash "$VERIFY" "$@" >"$T/verify.log" 2>&1; then return 0; fi
  grep '^FAIL' "$T/verify.log" >&2
  return 1
}

# corrupt_b64 FILE FIELD_JQ [OCTET] -> the bundle with one octet of that base64 field changed
# (default: the middle one; a negative OCTET counts from the end)
corrupt_b64() {
  local v i c
  v=$(jq -r "$2" "$1" | base64 -d | xxd -p | tr -d '\n')
  i=${3:-$((${#v} / 4))}
  if [ "$i" -lt 0 ]; then i=$((${#v} / 2 + i)); fi
  i=$((i * 2))
  c=$(printf '%02x' $((0x${v:$i:2} ^ 0x01)))
  jq --arg v "$(printf %s "${v:0:$i}$c${v:$((i + 2))}" | xxd -r -p | base64 -w0)" "$2 = \$v" "$1"
}
