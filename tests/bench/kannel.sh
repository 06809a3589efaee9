#!/usr/bin/env bash
#
# kannel.sh - the SMPP leg through Kannel, for comparison with simpki's own.
#
#   tests/bench/kannel.sh [--smoke] [--count N] [--store none|file|spool] SIM_BIN OUT_JSON
#
# Starts simpki-sim (the carrier simulator) with keyless `confirm` numbers,
# Kannel's bearerbox bound to its Viettel SMSC (one transceiver bind,
# max-pending-submits 10 = simpki's window, no throughput cap, no store unless
# --store) and an smsbox with a sendsms user, all on free loopback ports in a
# temp dir.  COUNT SPKA-shaped MT messages (2-segment commands: binary, DCS
# 0xF6, PID 0x7F, concatenation UDH, 130 octets of payload) go through
# smsbox's HTTP sendsms with 64 requests in flight (8 curl --parallel drivers).
# Kannel's own per-SMSC "sent" counter (status.xml, every 0.1 s) gives the
# figure: submit_sm accepted by the SMSC per second on the one bind, from the
# first accepted to the last.  Twice:
#   live   the SMSC bound while HTTP feeds it: what an application gets;
#   drain  the same messages queued while the simulator is down, then drained
#          by the bind once it is back: Kannel's SMPP side alone.
# COUNT is submit_sm PDUs (default 40,000; --smoke 200).  KANNEL_CONC=N changes
# the requests in flight, KANNEL_NO_DRAIN=1 skips the drain, KANNEL_KEEP=1
# keeps the temp dir (configuration, logs, samples).
#
# Writes OUT_JSON and a one-line summary to stderr.  When Kannel or the stack
# cannot be set up it still exits 0, with {"error": "why"} in OUT_JSON, so that
# run.sh can print the reason in its table.  How the figure is obtained:
# docs/benchmarks.md ("Kannel").
set -Eeuo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
COUNT=40000
STORE=none
while [ $# -gt 0 ]; do
  case $1 in
    --smoke) COUNT=200 ;;
    --count) COUNT=$2; shift ;;
    --store) STORE=$2; shift ;;
    -*) echo "usage: $0 [--smoke] [--count N] [--store none|file|spool] SIM_BIN OUT_JSON" >&2; exit 2 ;;
    *) break ;;
  esac
  shift
done
[ $# -eq 2 ] || { echo "usage: $0 [--smoke] [--count N] [--store none|file|spool] SIM_BIN OUT_JSON" >&2; exit 2; }
SIM=$1
OUT=$2
COMMANDS=$(( (COUNT + 1) / 2 ))   # 2 segments per command, like simpki's SIGN
COUNT=$(( COMMANDS * 2 ))
WINDOW=10                         # simpki's default SMPP window (run.sh WINDOW)
CONC=${KANNEL_CONC:-64}            # HTTP requests in flight
FIRST=84964000000                 # outside run.sh's number ranges (84961..84963)
N_NUMBERS=$(( COMMANDS < 5000 ? COMMANDS : 5000 ))

T=
PIDS=()
ERROR=
cleanup() {
  local rc=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "$T" ] || return 0
  if [ -n "$ERROR" ] || [ $rc -ne 0 ] || [ -n "${KANNEL_KEEP:-}" ]; then
    echo "kannel.sh: logs kept in $T" >&2
  else
    rm -rf "$T"
  fi
}
trap cleanup EXIT
# Whatever goes wrong, the caller gets a reason in the JSON and exit 0: the
# Kannel row is optional, it must not fail the whole benchmark.
fail() {
  ERROR=$1
  jq -n --arg e "$1" --arg logs "$T" '{error: $e} + (if $logs != "" then {logs: $logs} else {} end)' >"$OUT"
  echo "kannel.sh: $1" >&2
  exit 0
}
trap 'fail "line $LINENO: $BASH_COMMAND failed"' ERR
command -v bearerbox >/dev/null && command -v smsbox >/dev/null ||
  fail "not measured: Debian kannel is not installed on this machine (apt-get install kannel enables it)"
[ -x "$SIM" ] || fail "$SIM not built"
case $STORE in none|file|spool) ;; *) fail "--store must be none, file or spool" ;; esac
T=$(mktemp -d /tmp/simpki-kannel.XXXXXX)

# A process that has exited leaves PIDS, so that cleanup never signals a
# recycled pid.
forget() { local p keep=(); for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; PIDS=("${keep[@]}"); }
log() { printf '[kannel %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

. "$SRC/tests/bench/lib.sh" # free_port, wait_for, cpu_us
now() { date +%s.%N; }

KVER=$(bearerbox --version 2>&1 | sed -n "s/.*bearerbox version \`\([^']*\)'.*/\1/p" | head -1)

# ---- simulator: the Viettel SMSC, keyless numbers -------------------------
# Keyless `confirm` cards: the messages carry no SPKA command IE (0x70), so the
# simulator reassembles each pair and drops it ("not a command packet") without
# a PoR: no MO traffic back through Kannel, only submit_sm and their resps.
SIM_PORT=$(free_port)
jq --argjson p "$SIM_PORT" --argjson first "$FIRST" --argjson n "$N_NUMBERS" '
  .carriers = [.carriers[0] | .port = $p] | .defaults.delay_ms = 0 | del(.pki) | del(.mssp)
  | .subscribers = [range(0; $n) | ($first + .) as $m | {msisdn: ($m | tostring), carrier: "viettel",
      iccid: ("8984040000" + ($m | tostring | .[2:])), kv: 1, behaviour: "confirm"}]' \
  "$SRC/tests/sim/scenario-default.json" >"$T/scenario.json"
SYSID=$(jq -r '.carriers[0].system_id' "$T/scenario.json")
SMPP_PW=$(jq -r '.carriers[0].password' "$T/scenario.json")
SERVICE=$(jq -r '.carriers[0].service_number' "$T/scenario.json")
SIM_STARTS=0
# Log level error: the simulator would log every dropped pair at warn.
start_sim() { # -> SIM_PID; sim.log is appended to across restarts, one ready line each
  SIM_STARTS=$(( SIM_STARTS + 1 ))
  "$SIM" --scenario "$T/scenario.json" --log-level "${KANNEL_SIM_LOG:-error}" >>"$T/sim.log" 2>&1 &
  SIM_PID=$!; PIDS+=("$SIM_PID")
  sim_ready() { [ "$(grep -c "simpki-sim ready" "$T/sim.log")" -ge "$SIM_STARTS" ]; }
  wait_for 30 sim_ready || fail "simulator did not start"
}
start_sim

# ---- Kannel: bearerbox + smsbox ------------------------------------------
ADMIN_PORT=$(free_port); BOX_PORT=$(free_port); HTTP_PORT=$(free_port)
PW=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
store_conf() {
  case $STORE in
    none) echo "# no store: queued messages live in memory only (Kannel's default)" ;;
    file) echo "store-type = file"; echo "store-location = \"$T/kannel.store\"" ;;
    spool) mkdir -p "$T/spool"; echo "store-type = spool"; echo "store-location = \"$T/spool\"" ;;
  esac
}
# log-level 2 (warning) everywhere and no access-log: Kannel's per-message
# logging would otherwise be part of the figure (debug is level 0).
cat >"$T/kannel.conf" <<EOF
group = core
admin-port = $ADMIN_PORT
admin-interface = "127.0.0.1"
admin-password = "$PW"
status-password = "$PW"
admin-deny-ip = "*.*.*.*"
admin-allow-ip = "127.0.0.1"
smsbox-port = $BOX_PORT
smsbox-interface = "127.0.0.1"
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
log-file = "$T/bearerbox.log"
log-level = 2
$(store_conf)

group = smsc
smsc = smpp
smsc-id = viettel
host = 127.0.0.1
port = $SIM_PORT
transceiver-mode = true
smsc-username = "$SYSID"
smsc-password = "$SMPP_PW"
system-type = ""
interface-version = 34
max-pending-submits = $WINDOW
enquire-link-interval = 30
reconnect-delay = 1
log-file = "$T/smsc.log"
log-level = 2

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = $BOX_PORT
sendsms-port = $HTTP_PORT
sendsms-interface = "127.0.0.1"
log-file = "$T/smsbox.log"
log-level = 2

group = sendsms-user
username = bench
password = "$PW"
default-smsc = viettel
max-messages = 1
EOF
# -v 4: stderr only for panics; the real logs go to the files above
bearerbox -v 4 "$T/kannel.conf" >"$T/bearerbox.out" 2>&1 &
BB_PID=$!; PIDS+=("$BB_PID")
STATUS_URL="http://127.0.0.1:$ADMIN_PORT/status.xml?password=$PW"
smsc_online() { curl -sf "$STATUS_URL" | tr -d '\n' | grep -q '<id>viettel</id>.*<status>online'; }
wait_for 20 smsc_online || fail "bearerbox did not bind to the simulator (see $T/smsc.log, $T/bearerbox.log)"
smsbox -v 4 "$T/kannel.conf" >"$T/smsbox.out" 2>&1 &
SB_PID=$!; PIDS+=("$SB_PID")
wait_for 20 curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" || fail "smsbox did not open its sendsms port"

# ---- the messages ----------------------------------------------------------
# What simpki sends for a SIGN: DCS 0xF6 (8-bit, class 2: coding=1 mclass=2),
# PID 0x7F, UDHI with the 8-bit concatenation IE, two segments.  One random
# 130-octet payload, URL-encoded, serves every segment: Kannel does not look at
# it.  Numbers round robin, references 0..255.
PAYLOAD=$(head -c 130 /dev/urandom | od -An -v -tx1 | tr -d '\n' | sed 's/ /%/g')
BASE="http://127.0.0.1:$HTTP_PORT/cgi-bin/sendsms?username=bench&password=$PW&from=$SERVICE&coding=1&mclass=2&pid=127&text=$PAYLOAD"
awk -v n="$COMMANDS" -v first="$FIRST" -v nn="$N_NUMBERS" -v base="$BASE" 'BEGIN {
  for (i = 0; i < n; i++) {
    to = first + i % nn; ref = sprintf("%02X", i % 256)
    for (seq = 1; seq <= 2; seq++)
      printf "url = \"%s&to=%.0f&udh=%%05%%00%%03%%%s%%02%%%02X\"\noutput = /dev/null\n", base, to, ref, seq
  } }' >"$T/urls.cfg"

status_sent() { # -> "sent failed queued" of the viettel SMSC
  curl -sf -m 2 "$STATUS_URL" | xmllint --xpath \
    'concat(//smsc[id="viettel"]/sms/sent, " ", //smsc[id="viettel"]/failed, " ", //smsc[id="viettel"]/queued)' - 2>/dev/null |
    awk '{ print ($1 == "" ? 0 : $1), ($2 == "" ? 0 : $2), ($3 == "" ? 0 : $3) }'
}

# The sampler: Kannel's SMSC-side counter 10 times a second, until it reaches
# $1 (every segment accepted) or nothing moved for 5 s once $T/$2 exists.
sampler() { # target done-file
  local s f q last=-1 still=0
  trap - ERR; set +e   # a status page that does not answer once is a missed sample, not a failure
  while :; do
    s=; read -r s f q < <(status_sent)
    if [ -n "$s" ]; then
      printf '%s %s %s %s\n' "$(now)" "$s" "$f" "$q"
      [ "$s" -ge "$1" ] && return
    fi
    if [ -f "$T/$2" ]; then
      { [ -z "$s" ] || [ "$s" = "$last" ]; } && still=$(( still + 1 )) || still=0
      [ $still -ge 50 ] && return
    fi
    last=${s:-$last}
    sleep 0.1
  done
}

# All the URLs through sendsms, $CONC in flight; -> $T/NAME.{codes,wall,cpu}.
# smsbox listens with a backlog of 10 (Kannel's gwlib): 64 connections opened
# at once overflow it, and the dropped handshakes cost 1 s retransmits that
# would be most of a short run.  So the drivers are curl processes of 8
# connections each, started 50 ms apart; curl keeps its connections alive.
# `times` in each subshell: the CPU that curl itself used.
DRIVERS=$(( (CONC + 7) / 8 ))
PER_DRIVER=$(( CONC < 8 ? CONC : 8 ))
# Round robin by command, so that a command's two segments leave one driver back
# to back as simpki sends them (the simulator reassembles at most 64 sets).
split_urls() { # urls.cfg -> urls.0.cfg .. urls.$((DRIVERS-1)).cfg
  awk -v n="$DRIVERS" -v d="$T" '/^url/ { f = d "/urls." (int(k / 2) % n) ".cfg"; k++ } { print > f }' "$T/urls.cfg"
}
push_http() { # name
  local h0 h1 i pids=()
  h0=$(now)
  for i in $(seq 0 $(( DRIVERS - 1 ))); do
    ( curl --parallel --parallel-max "$PER_DRIVER" -K "$T/urls.$i.cfg" -s -m 30 -w '%{http_code}\n' \
        >"$T/$1.$i.codes" 2>"$T/$1.$i.curl.err" || true
      times >"$T/$1.$i.times" ) &
    pids+=($!)
    sleep 0.05
  done
  wait "${pids[@]}"
  h1=$(now)
  cat "$T/$1".*.codes >"$T/$1.codes"
  echo "$h1 - $h0" | bc >"$T/$1.wall"
  awk 'FNR == 2 { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+m[0-9.]+s$/) { split($i, b, /[ms]/); us += (b[1] * 60 + b[2]) * 1000000 } }
       END { printf "%.0f\n", us }' "$T/$1".*.times >"$T/$1.cpu"
  touch "$T/$1.done"
}

# SMSC side of a sample file: submit_sm accepted from the start value to the
# final one, over the time between the midpoints of the samples around the
# first and the last accepted (each end known to +-0.06 s, half the sampling
# period; when it all fell between two samples, a smoke run, the whole sampling
# interval is used).  Beside it the steady rate: the slope between the first and
# the last sample strictly inside the run (start-up and tail left out), when
# there are three such samples.
# -> JSON {messages, failed, queued_after, wall_s, submit_sm_per_s, steady_per_s}
smsc_rate() { # samples-file start-count start-failed
  awk -v s0="$2" -v f0="$3" '
    { if (prev == "") prev = $1; t[NR] = $1; v[NR] = $2 }
    !a && $2 > s0 { pa = prev; ta = (prev + $1) / 2; a = 1 }
    $2 > sb { tb = (prev + $1) / 2; tl = $1; sb = $2; fb = $3; qb = $4 }
    { prev = $1 }
    END { if (!a) { printf "{\"messages\": 0}\n"; exit }
          if (tb - ta < 0.1) { ta = pa; tb = tl }
          n = 0; for (i = 1; i <= NR; i++) if (v[i] > s0 && v[i] < sb) { if (!n) i0 = i; i1 = i; n++ }
          steady = n >= 3 ? sprintf("%.1f", (v[i1] - v[i0]) / (t[i1] - t[i0])) : "null"
          printf "{\"messages\": %d, \"failed\": %d, \"queued_after\": %d, \"wall_s\": %.3f, \"submit_sm_per_s\": %.1f, \"steady_per_s\": %s}\n",
                 sb - s0, fb - f0, qb, tb - ta, (sb - s0) / (tb - ta), steady }' "$1"
}
cpu_all() { echo "$(cpu_us "$BB_PID") $(cpu_us "$SB_PID") $(cpu_us "$SIM_PID")"; }

# ---- phase 1: HTTP-fed, the SMSC bound: what an application sees ------------
log "Kannel $KVER: $COUNT submit_sm ($COMMANDS 2-segment commands to $N_NUMBERS numbers), $CONC HTTP requests in flight, store $STORE"
split_urls
read -r SENT0 FAILED0 _ < <(status_sent)
read -r BB0 SB0 SIM0 < <(cpu_all)
sampler $(( SENT0 + COUNT )) live.done >"$T/live.samples" &
SAMPLER_PID=$!; PIDS+=("$SAMPLER_PID")
push_http live
wait "$SAMPLER_PID" || true; forget "$SAMPLER_PID"
read -r BB1 SB1 SIM1 < <(cpu_all)
HTTP_OK=$(grep -c '^202$' "$T/live.codes" || true)
[ "$HTTP_OK" -gt 0 ] || fail "smsbox accepted no sendsms request (HTTP codes: $(sort "$T/live.codes" | uniq -c | tr '\n' ' '))"
smsc_rate "$T/live.samples" "$SENT0" "$FAILED0" >"$T/live.json"
[ "$(jq .messages "$T/live.json")" -gt 0 ] || fail "the SMSC accepted no submit_sm (see $T/smsc.log)"

# ---- phase 2: the same messages queued first, then drained ------------------
# With the simulator stopped, bearerbox keeps the messages in the SMSC's queue
# (it reconnects every second); once it is back, the bind drains them as fast as
# Kannel's SMPP side goes: the SMPP leg alone, without HTTP in front of it.
DRAIN='{"messages": 0}'; HTTP2_OK=0
if [ -z "${KANNEL_NO_DRAIN:-}" ]; then
  log "drain: the same $COUNT queued with the SMSC down, then the bind drains them"
  kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null || true; forget "$SIM_PID"
  smsc_offline() { ! smsc_online; }
  wait_for 10 smsc_offline || fail "bearerbox did not notice the simulator stop"
  read -r SENT1 FAILED1 _ < <(status_sent)
  push_http queued
  HTTP2_OK=$(grep -c '^202$' "$T/queued.codes" || true)
  BB2=$(cpu_us "$BB_PID")
  start_sim
  sampler $(( SENT1 + HTTP2_OK )) queued.done >"$T/drain.samples"
  BB3=$(cpu_us "$BB_PID")
  smsc_rate "$T/drain.samples" "$SENT1" "$FAILED1" |
    jq --argjson cbb $(( BB3 - BB2 )) --argjson hok "$HTTP2_OK" --argjson hwall "$(cat "$T/queued.wall")" \
      '. + {http_accepted: $hok, http_rate_per_s: ($hok / $hwall),
            bearerbox_cpu_us_per_msg: (if .messages > 0 then $cbb / .messages else null end)}' >"$T/drain.json"
  DRAIN=$(cat "$T/drain.json")
fi
SIM_ERR=$(grep -c ' ERROR ' "$T/sim.log" || true)

jq --arg ver "$KVER" --arg store "$STORE" --argjson window "$WINDOW" --argjson conc "$CONC" \
  --argjson count "$COUNT" --argjson commands "$COMMANDS" --argjson drain "$DRAIN" \
  --argjson hwall "$(cat "$T/live.wall")" --argjson hok "$HTTP_OK" --argjson hbad "$(grep -vc '^202$' "$T/live.codes" || true)" \
  --argjson cbb $(( BB1 - BB0 )) --argjson csb $(( SB1 - SB0 )) --argjson csim $(( SIM1 - SIM0 )) \
  --argjson ccurl "$(cat "$T/live.cpu")" '
  . as $l |
  { kannel_version: $ver, submit_sm_per_s: $l.submit_sm_per_s, steady_per_s: $l.steady_per_s,
    messages: $l.messages, commands: $commands, requested: $count, failed: $l.failed, queued_after: $l.queued_after,
    window: $window, throughput_cap: "none", store: $store, http_in_flight: $conc, wall_s: $l.wall_s,
    http_wall_s: $hwall, http_rate_per_s: ($hok / $hwall), http_accepted: $hok, http_refused: $hbad,
    cpu_us_per_msg: {bearerbox: ($cbb / $l.messages), smsbox: ($csb / $l.messages),
                     simulator: ($csim / $l.messages), curl: ($ccurl / $l.messages)},
    drain: $drain }' "$T/live.json" >"$OUT"
jq -r 'def r: . * 10 | round / 10;
  "kannel \(.kannel_version): \(.submit_sm_per_s | r) submit_sm/s (steady \(.steady_per_s // "-")) on one bind fed over HTTP (window \(.window), store \(.store)); \(.messages)/\(.requested) accepted by the SMSC in \(.wall_s) s; HTTP \(.http_rate_per_s | r)/s; CPU µs per message bearerbox \(.cpu_us_per_msg.bearerbox | r), smsbox \(.cpu_us_per_msg.smsbox | r), sim \(.cpu_us_per_msg.simulator | r), curl \(.cpu_us_per_msg.curl | r)" +
  (if .drain.messages > 0 then "; pre-queued drain \(.drain.submit_sm_per_s | r) submit_sm/s (steady \(.drain.steady_per_s // "-"), \(.drain.messages) in \(.drain.wall_s) s, bearerbox \(.drain.bearerbox_cpu_us_per_msg | r) µs per message)" else "" end)' "$OUT" >&2
[ "$SIM_ERR" -eq 0 ] || echo "kannel.sh: the simulator logged $SIM_ERR errors (see $T/sim.log)" >&2
