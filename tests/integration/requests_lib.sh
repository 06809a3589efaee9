# requests_lib.sh - what the certificate-request tests share (e2e_life.sh, e2e_sim_ca.sh,
# e2e_archive.sh), sourced after lib.sh: file a request, confirm it, wait for a state, read
# a subscriber's registration.

# shard MSISDN -> its shard: FNV-1a 32 of the number mod 16, as q_shard_of
shard() { python3 -c 'import sys
h=0x811c9dc5
for b in sys.argv[1].encode(): h=((h^b)*0x01000193)&0xffffffff
print(h%16)' "$1"; }
# reg MSISDN FIELD -> that field of the subscriber's registration in Redis
reg() { redis-cli -p "$REDIS_PORT" --raw HGET "spk:{$(shard "$1")}:sub:$1" "$2"; }

# iccid_of 84PPNNNNNNN -> 89840 + carrier digit + 0000 + national 9 digits + Luhn digit
# (the ICCID the simulator gives that number's SIM)
iccid_of() {
  local m=$1 d; case ${m:2:2} in 96) d=4;; 91) d=2;; 90) d=1;; esac
  python3 -c 'import sys
s = sys.argv[1]
t = sum((2 * int(c) - 9 * (int(c) > 4)) if i % 2 == 0 else int(c) for i, c in enumerate(reversed(s)))
print(s + str(-t % 10))' "89840${d}0000${m:2}"
}
# file BODY -> id
file() { api POST /v1/requests "$1" >/dev/null; jq -r .id "$T/body"; }
# confirm ID [SIM_JSON]: the unit confirms the request (with the SIM it names, if given)
confirm() { api POST "/v1/requests/$1/transitions" "{\"to\":\"confirmed\",\"by\":\"Sở Nội vụ\"${2:+,\"sim\":$2}}" >/dev/null; }
# wait_state ID WANT [STOP...]: poll (up to $WAIT s, default 90) until the request is in state
# WANT -> 0, or in one of the STOP states -> 1 at once; the final document in $T/doc.
wait_state() {
  local id=$1 want=$2; shift 2
  local end=$(( $(date +%s) + ${WAIT:-90} )) s stop
  while [ "$(date +%s)" -lt "$end" ]; do
    api GET "/v1/requests/$id" > "$T/doc"
    s=$(jq -r .state "$T/doc" 2>/dev/null || true)
    [ "$s" = "$want" ] && return 0
    for stop in "$@"; do [ "$s" = "$stop" ] && return 1; done
    sleep 0.3
  done
  return 1
}
# doc JQ: JQ holds on the document wait_state left
doc() { jq -e "$1" "$T/doc" >/dev/null 2>&1; }
# person MSISDN NAME ORG SIM_PKI -> a Mẫu 01 body (CCCD 0010<last 8 digits>, born 19<its 5th-6th digits>)
person() {
  local m=$1
  jq -n --arg phone "0${m:2}" --arg name "$2" --arg org "$3" --arg sp "$4" --arg id "0010${m:3}" \
     --arg dob "19${m:3:2}-05-17" '{form: "person_new", unit: "Sở Nội vụ", place: "Hà Nội", date: "05/03/2026",
      subscriber: {full_name: $name, birth_date: $dob, id_number: $id, organisation: $org, province: "Hà Nội",
                   email: "canbo@hanoi.gov.vn", phone: $phone}, sim_pki: $sp}'
}
