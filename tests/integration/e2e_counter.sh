#!/usr/bin/env bash
# The OTA counter against a SIM that is ahead of the gateway
# (../shared/specs/sim-applet-ota.md §3, CNTR low):
#   1. a delete and re-import of a subscriber continues its SIM's counter
#      (the per-ICCID floor), shown by simpki-admin show;
#   2. a gateway behind the SIM (a Redis restored from an older backup) moves
#      the counter forward at the SIM's CNTR low, resends once and completes;
#   3. a SIM still ahead after that ends the transaction at once: OTA_ERROR;
#   4. the CNTR low answering a copy the SMSC link resent (lost submit_sm_resp)
#      is ignored: the first copy's signature completes, no resync, one prompt.
. "$(dirname "$0")/lib.sh"

N=84960000001 # Viettel, RSA, confirm
D=84910000001 # Vinaphone, RSA: lost_resp here instead of confirm
SIM_SCEN_EDIT="(.subscribers[] | select(.msisdn == \"$D\") | .behaviour) = \"lost_resp\"" TXN_TIMEOUT_S=60 stack_up

metric() { curl -sf "http://127.0.0.1:$API_PORT/metrics" | sed -n "s/^simpki_$1 //p"; }
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
sub_key() { rc --scan --pattern "spk:*:sub:$1" | head -n1; }
txn_field() { local k; k=$(rc --scan --pattern "spk:*:txn:$1" | head -n1); rc hget "$k" "$2"; }
iccid_of() { rc hget "$(sub_key "$1")" iccid; }
floor_key() { local k; k=$(sub_key "$1"); echo "${k%%:sub:*}:ctr:$(iccid_of "$1")"; }
# sign_and_wait MSISDN -> final JSON; the id in $T/id
sign_and_wait() {
  local j
  j=$(sign "$1")
  [ "$(code)" = 202 ] || { echo "$j"; return 1; }
  jq -r .id <<<"$j" >"$T/id"
  wait_result "$(cat "$T/id")" 50
}
outcome() { jq -r '"\(.state) \(.result)"' <<<"$1"; }
# shows MSISDN CNTR: prompts the card showed for that counter, in the simulator's log since `mark`
mark=0
sim_since() { tail -n +$((mark + 1)) "$T/sim.log" | grep "SIM ${1:0:4}\*\*\*\*${1: -3} " || true; } # MSISDN
shows() { sim_since "$1" | grep -c "cntr $2 shows" || true; }

check "no resync before any test" test "$(metric ota_resync_total)" = 0

# 1. Delete and re-import: the counter goes on from the SIM's last one.
r=$(sign_and_wait "$N")
check "first signature: $(outcome "$r")" test "$(outcome "$r")" = "completed OK"
c1=$(txn_field "$(cat "$T/id")" cntr)
check "the ICCID's floor holds the counter used ($c1)" test "$(rc get "$(floor_key "$N")")" = "$c1"
"$SIMPKI_ADMIN" -c "$T/simpki.json" delete "$N" >"$T/del.out" 2>&1
check "deleted" test -z "$(sub_key "$N")"
jq "[.[] | select(.msisdn == \"$N\")]" "$T/demo/registry.json" >"$T/demo/one.json"
"$SIMPKI_ADMIN" -c "$T/simpki.json" import "$T/demo/one.json" >"$T/reimport.out" 2>&1
check "re-imported" test -n "$(sub_key "$N")"
r=$(sign_and_wait "$N")
c2=$(txn_field "$(cat "$T/id")" cntr)
check "after delete + import: $(outcome "$r"), counter $c2 follows $c1 (no restart at 1, no resync)" \
  test "$(outcome "$r")" = "completed OK" -a "$c2" = $((c1 + 1))
check "no resync was needed" test "$(metric ota_resync_total)" = 0
"$SIMPKI_ADMIN" -c "$T/simpki.json" show "$N" >"$T/show.out" 2>&1
check "simpki-admin show prints the counter: $(grep '^ota counter' "$T/show.out")" \
  grep -q "^ota counter  *$c2 " "$T/show.out"

# 2. A Redis restored from an older backup: the gateway's counter is behind the SIM's.
rc hset "$(sub_key "$N")" cntr 0 >/dev/null
rc del "$(floor_key "$N")" >/dev/null
r=$(sign_and_wait "$N")
id=$(cat "$T/id")
c3=$(txn_field "$id" cntr)
check "behind the SIM: $(outcome "$r") (not EXPIRED after the deadline)" test "$(outcome "$r")" = "completed OK"
check "the signature verifies with openssl" openssl_verify "$r" "$DEFAULT_DIGEST"
check "the counter moved past the refused 1 by the resync step: $c3" test "$c3" = 65537
check "the SIM refused counter 1 with CNTR low" grep -q "cntr 1: PoR status 2" <<<"$(sim_since "$N")"
check "one prompt, for the resent command (counter 65537)" test "$(shows "$N" 65537)" = 1
check "resync counted" test "$(metric ota_resync_total)" = 1
check "the gateway says why in its log" grep -q "$id.*CNTR low.*behind" "$T/gateway.log"
check "subscriber and floor moved too" \
  test "$(rc hget "$(sub_key "$N")" cntr) $(rc get "$(floor_key "$N")")" = "65537 65537"

# 3. Still ahead after one resync: OTA_ERROR at once, not the deadline.
rc hset "$(sub_key "$N")" cntr 200000 >/dev/null
r=$(sign_and_wait "$N")
check "the SIM takes counter 200001: $(outcome "$r")" test "$(outcome "$r")" = "completed OK"
rc hset "$(sub_key "$N")" cntr 0 >/dev/null
rc del "$(floor_key "$N")" >/dev/null
mark=$(wc -l <"$T/sim.log")
r=$(sign_and_wait "$N")
check "refused twice: $(jq -c '{state, result, etsi_status, message}' <<<"$r")" \
  test "$(jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$r")" = "failed OTA_ERROR 209"
check "the message says why" grep -q "again after a resync" <<<"$(jq -r .message <<<"$r")"
check "resync failure counted" test "$(metric ota_resync_failed_total)" = 1
check "no prompt for either refused counter" test "$(shows "$N" 1)$(shows "$N" 65537)" = 00

# 4. A copy resent by the SMPP link: its CNTR low is the duplicate's, ignored.
mark=$(wc -l <"$T/sim.log")
dup0=$(metric por_duplicate_total)
rs0=$(metric ota_resync_total)
r=$(sign_and_wait "$D")
id=$(cat "$T/id")
cd_=$(txn_field "$id" cntr)
check "lost submit_sm_resp: $(outcome "$r")" test "$(outcome "$r")" = "completed OK"
check "the simulator delivered the first copy and dropped the link" grep -q "lost_resp: first command delivered" "$T/sim.log"
check "the card refused the resent copy (CNTR low for $cd_)" grep -q "cntr $cd_: PoR status 2" <<<"$(sim_since "$D")"
check "stored with the copy counted (resent $(txn_field "$id" resent)), counter unchanged" \
  test "$(txn_field "$id" resent)" = 1 -a -z "$(txn_field "$id" resync)"
check "one prompt on the card, for counter $cd_: $(sim_since "$D" | grep -c shows)" \
  test "$(sim_since "$D" | grep -c shows)" = 1 -a "$(shows "$D" "$cd_")" = 1
check "the duplicate counted, no resync ($dup0 -> $(metric por_duplicate_total))" \
  test "$(metric por_duplicate_total)" = $((dup0 + 1)) -a "$(metric ota_resync_total)" = "$rs0"
finish
