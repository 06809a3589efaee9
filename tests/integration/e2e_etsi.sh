#!/usr/bin/env bash
# The etsi204 transport against the simulator's MSSP (ETSI TS 102 204 over
# HTTPS with a client certificate), beyond what e2e_sign runs over it:
#
#   1. every hostile MSSP answer (tests/sim/README.md, behaviours 22-30) ends
#      as a clear result, never OK, and the gateway keeps serving with its
#      memory bounded (a 100 MB body, a slow drip);
#   2. failover between two MSSP links of one carrier: the first killed
#      mid-load, new requests go to the second, nobody is prompted twice and
#      no transaction is left pending; when the first is back, the circuit
#      closes and it takes requests again.
#
# Prompts are counted by the simulators themselves (GET /sim/prompts/N).
. "$(dirname "$0")/lib.sh"
TRANSPORT=etsi204

# A second simulator: the same cards behind another MSSP port (no SMSC in use).
start_sim_b() { # [port]
  local scen=$T/scenario-b.json
  jq --argjson p "${1:-0}" '.carriers |= map(.port = 0) | .mssp.port = $p' "$T/scenario.json" > "$scen"
  "$SIMPKI_SIM" --scenario "$scen" >>"$T/sim-b.log" 2>&1 &
  SIM_B_PID=$!
  PIDS+=("$SIM_B_PID")
  wait_for 10 grep -q "simpki-sim ready.*mssp=" "$T/sim-b.log"
  MSSP_B_PORT=$(grep "simpki-sim ready" "$T/sim-b.log" | tail -n1 | sed -n 's/.*mssp=\([0-9]*\).*/\1/p')
}
restart_sim_a() { # the first MSSP again, on its port, memory empty
  local scen=$T/scenario-a.json
  jq --argjson p "$MSSP_PORT" '.carriers |= map(.port = 0) | .mssp.port = $p' "$T/scenario.json" > "$scen"
  : >"$T/sim-a.log"
  "$SIMPKI_SIM" --scenario "$scen" >>"$T/sim-a.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 10 grep -q "simpki-sim ready" "$T/sim-a.log"
}
prompts() { # port msisdn -> times that MSSP prompted the number (0 while it is dead: it prompts nobody)
  local j
  j=$(curl -sf --cacert "$T/demo/pki/mssp/ca.pem" --cert "$T/demo/pki/mssp/ap.crt.pem" \
    --key "$T/demo/pki/mssp/ap.key.pem" "https://127.0.0.1:$1/sim/prompts/$2") || { echo 0; return; }
  jq -r '.etsi' <<<"$j"
}
result_of() { jq -r '"\(.state) \(.result) \(.etsi_status)"' <<<"$1"; }

TXN_TIMEOUT_S=12 SIM_DELAY_MS=1000
start_redis
make_demo
start_ocsp
start_sim
start_sim_b
ETSI_LINKS="[$(etsi_link mssp-a "$MSSP_PORT" 0), $(etsi_link mssp-b "$MSSP_B_PORT" 1)]"
write_config
import_registry
start_gw

# ---- 1. hostile answers ---------------------------------------------------
declare -A hostile=(
  [22]="failed INTERNAL_ERROR 900"     # soap_fault 406 PB_SIGNATURE_PROCESS
  [23]="failed INTERNAL_ERROR 900"     # HTTP 500 with an HTML body
  [24]="failed EXPIRED 208"            # an answer dripped a byte at a time: each try times out
  [25]="failed INTERNAL_ERROR 900"     # 100 MB: refused at the size limit
  [26]="failed INTERNAL_ERROR 900"     # billion laughs: DOCTYPE refused
  [27]="failed INTERNAL_ERROR 900"     # malformed XML
  [28]="failed INVALID_SIGNATURE 503"  # a 502 VALID_SIGNATURE over random bytes: simpki checks it
  [29]="failed CERT_MISMATCH 503"      # signed with another certificate, which it names
  [30]="failed EXPIRED 208"            # the socket dies after every request
)
declare -A hid=()
for b in "${!hostile[@]}"; do
  n="84960000${b}1"
  j=$(sign "$n")
  if [ "$(code)" = 202 ]; then hid[$b]=$(jq -r .id <<<"$j"); else bad "$n: POST $(code) $j"; fi
done
for b in "${!hostile[@]}"; do
  [ -n "${hid[$b]:-}" ] || continue
  j=$(wait_result "${hid[$b]}" 40)
  got=$(result_of "$j")
  if [ "$got" = "${hostile[$b]}" ]; then ok "hostile $b: $got ($(jq -r .message <<<"$j"))"
  else bad "hostile $b: got '$got', want '${hostile[$b]}': $j"; fi
  check "hostile $b: no signature handed out" test "$(jq -r '.signature // "none"' <<<"$j")" = none
done
check "the gateway still serves after the hostile answers" links_up
# The drip and the dead socket expired: their links gave up at the deadline
# too, so no late error can open a circuit that has closed meanwhile.
in_flight() { curl -sf "http://127.0.0.1:$API_PORT/metrics" | awk '/^simpki_link_in_flight\{/ {n += $2} END {print n + 0}'; }
n=$(in_flight)
check "no link still asks an MSSP for a transaction that has ended (in flight: $n)" test "$n" -eq 0
hwm=$(awk '/^VmHWM/{print $2}' "/proc/$GW_PID/status")
check "gateway memory stayed bounded through the 100 MB body and the drip (peak ${hwm} kB < 200 MB)" \
  test "${hwm:-999999}" -lt 204800

# ---- 2. failover ----------------------------------------------------------
confirm=(84960000001 84910000001 84900000001 84960000002 84910000002 84900000002)
run_round() { # label, expected MSSP port -> every confirm number signs once, prompted once there
  local label=$1 port=$2 id j n
  declare -A before_a=() before_b=() rid=()
  for n in "${confirm[@]}"; do
    before_a[$n]=$(prompts "$MSSP_PORT" "$n"); before_b[$n]=$(prompts "$MSSP_B_PORT" "$n")
  done
  for n in "${confirm[@]}"; do
    j=$(sign "$n")
    if [ "$(code)" = 202 ]; then rid[$n]=$(jq -r .id <<<"$j"); else bad "$label: POST $n: $(code) $j"; fi
  done
  for n in "${confirm[@]}"; do
    [ -n "${rid[$n]:-}" ] || continue
    j=$(wait_result "${rid[$n]}" 30)
    check "$label: $n completed OK" test "$(result_of "$j")" = "completed OK 502"
    local da=$(( $(prompts "$MSSP_PORT" "$n") - ${before_a[$n]} )) db=$(( $(prompts "$MSSP_B_PORT" "$n") - ${before_b[$n]} ))
    if [ "$port" = "$MSSP_PORT" ]; then
      check "$label: $n prompted once, by the first MSSP (a $da, b $db)" test "$da" -eq 1 -a "$db" -eq 0
    else
      check "$label: $n prompted once, by the second MSSP (b $db)" test "$db" -eq 1
    fi
  done
}
# The drip and the dead socket opened the first link's circuit; once their
# transactions ended it half-opens, and the first success closes it.
link_is_up() { curl -sf "http://127.0.0.1:$API_PORT/metrics" | grep -q "^simpki_link_up{link=\"$1\"} 1"; }
check "the first link's circuit closes again after the hostile answers" wait_for 10 link_is_up mssp-a
run_round "both up" "$MSSP_PORT"

# The first MSSP dies holding requests (the "slow" cards, prompted there,
# answer due in 5 s): nobody can finish them, so they expire -- a final
# result, and never a second prompt through the other link.  New requests go
# to the second.
held=()
declare -A hb=()
for n in 84960000161 84910000161 84900000161; do
  hb[$n]=$(prompts "$MSSP_B_PORT" "$n")
  j=$(sign "$n"); [ "$(code)" = 202 ] && held+=("$n=$(jq -r .id <<<"$j")")
done
sleep 0.5
kill -9 "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true
for h in "${held[@]}"; do
  n=${h%%=*} id=${h#*=}
  j=$(wait_result "$id" 30)
  got=$(result_of "$j")
  check "held by the dead MSSP: $n ended EXPIRED (got '$got')" test "$got" = "failed EXPIRED 208"
  check "held by the dead MSSP: $n never sent to the second" test "$(prompts "$MSSP_B_PORT" "$n")" = "${hb[$n]}"
done
run_round "first MSSP dead" "$MSSP_B_PORT"

restart_sim_a
check "the first link's circuit half-opens once its MSSP is back" wait_for 10 link_is_up mssp-a
run_round "first MSSP back" "$MSSP_PORT"

check "no transaction left pending" test "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'spk:*:due' |
  while read -r k; do redis-cli -p "$REDIS_PORT" zcard "$k"; done | awk '{s+=$1} END {print s+0}')" = 0
check "the gateway still alive" kill -0 "$GW_PID"
finish
