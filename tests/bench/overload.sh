# tests/bench/overload.sh - run.sh's overload levels (sourced by run.sh, which
# owns the stack: SIMPKID, T, R, GW_PID, REDIS_PID, SIM_PID, N_SUBS, OPEN_DUR,
# WARM, SIM_DELAY_MS, WINDOW, OL_DRAIN_S, gw_config, start_gw, stop_gw, lg, log,
# cpu_us, aof_delayed, redis_stalls).
#
# Open loop at 50, 90, 120 and 200 % of the flat-out maximum just measured: for
# each, completed/s, refused/s, the added latency of the accepted transactions
# (202, then the final answer), how fast a refusal came back, and how many
# accepted transactions never got their final answer (lost).  How it is
# measured and why max_in_flight is what it is: docs/benchmarks.md, "Overload".

OL_LEVELS="50 90 120 200"
# The gateway's own time we allow an accepted request at the bound, on top of
# the SIM's delay: twice its p50 added latency at half the maximum (measured
# just before, without limits), and never under the 10 ms p99 target at that
# rate.  Not its p99: on a shared host that is the host's stalls (a 268 ms one
# made L 287 for 1,069/s, and the accepted p99 at 200 % 2.4 s).
OL_BUDGET_MIN_MS=10
# loadgen's connection cap: it must not be what limits the 200 % run (a refused
# request gives its connection back within milliseconds, an accepted one holds
# it for its time in the system; loadgen counts every transaction that had to
# wait for the cap, and those never sent).
OL_MAX_CONNS=4000
# The ceilings printed beside the figures (never asserted: a timing is not a test)
OL_P99_FACTOR=5

# Does this simpkid have the overload limits (the "limits" section)?  The same
# script then measures a tree without them ("before": no limits written).
OL_KEYS=$("$SIMPKID" --help-config 2>/dev/null |
  awk '/^\[/ { on = ($0 ~ /^\[limits/) } on && /^  [a-z_]+ / { print $1 }' | tr '\n' ' ')

# max_in_flight from Little's law: in flight = rate x time in the system.  At
# the bound the gateway completes about the maximum rate X, so an accepted
# transaction spends L / X in it: the SIM's delay (the official, here 0) plus
# the gateway's own time, budget B = twice its p50 at half the maximum (no less
# than OL_BUDGET_MIN_MS).  L = X x (SIM delay + B), at least one SMPP window, so that
# the bound never keeps a bind's window from filling.  Below the maximum the
# bound is reached only when the gateway's time grows past L / rate (twice B at
# 50 %: a stall of the host), and at the bound an accepted request spends
# about B in it: its p99 stays a few times the 50 % one, not seconds.
ol_max_in_flight() { # max/s budget_ms -> L
  awk -v x="$1" -v d="$SIM_DELAY_MS" -v b="$2" -v w="$WINDOW" \
    'BEGIN { l = x * (d + b) / 1000; l = int(l) + (l > int(l)); if (l < w) l = w; print l }'
}

# The "limits" section for L, with only the keys this simpkid knows: long polls
# (one per accepted JSON transaction) and the relying party's own share must not
# refuse before max_in_flight does.
ol_limits() { # L -> JSON
  jq -n --argjson l "$1" --arg keys "$OL_KEYS" '($keys | split(" ")) as $k |
    {max_in_flight: $l, max_in_flight_per_rp: $l, max_long_polls: (2 * $l), retry_after_s: 1}
    | with_entries(select(.key as $n | $k | index($n)))'
}

# The gateway's own overload figures, summed by name (labels kept): whatever of
# them this simpkid has.
ol_gw_metrics() {
  curl -sf "http://127.0.0.1:$API_PORT/metrics" |
    awk '/^simpki_/ && /overload|refus|in_flight|long_poll|rate_limit|retry/ { v[$1] += $NF }
         END { for (k in v) printf "%s\t%s\n", k, v[k] }' |
    jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] | tonumber)}) | add // {}'
}

ol_level() { # name first max pcent -> $R/name-pcent.json (loadgen) and $R/name-ol-pcent.json
  local name=$1 first=$2 max=$3 pcent=$4 rate c0 r0 s0 t0 t1
  rate=$(echo "$max * $pcent / 100" | bc)
  [ "$rate" -gt 0 ] || rate=1
  log "$name: open loop at $pcent% = $rate/s, ${OPEN_DUR}s"
  AOF_D0=$(aof_delayed)
  rcli LATENCY RESET >/dev/null
  c0=$(cpu_us "$GW_PID"); r0=$(cpu_us "$REDIS_PID"); s0=$(cpu_us "$SIM_PID"); t0=$(date +%s.%N)
  lg --label "$name-$pcent" --mode open --rate "$rate" --numbers "$first:$N_SUBS" --sim-delay-ms "$SIM_DELAY_MS" \
     --duration "$OPEN_DUR" --warmup "$WARM" --max-conns "$OL_MAX_CONNS" --drain "$OL_DRAIN_S" >"$R/$name-$pcent.json"
  t1=$(date +%s.%N)
  redis_stalls "$name-$pcent"
  # CPU as a share of one core over the run (warm-up, window and drain)
  jq --argjson pcent "$pcent" --argjson wall "$(echo "($t1 - $t0) * 1000000" | bc)" \
     --argjson gw $(( $(cpu_us "$GW_PID") - c0 )) --argjson redis $(( $(cpu_us "$REDIS_PID") - r0 )) \
     --argjson sim $(( $(cpu_us "$SIM_PID") - s0 )) \
     --slurpfile st "$R/$name-$pcent-stalls.json" --argjson m "$(ol_gw_metrics)" \
     '. + {pcent: $pcent, cpu_core_share: {gateway: ($gw / $wall), redis: ($redis / $wall), simulator: ($sim / $wall),
                                           loadgen: (.cpu_us / $wall)},
           redis_stalls: $st[0], gateway_metrics: $m}' "$R/$name-$pcent.json" >"$R/$name-ol-$pcent.json"
}

# The levels for one key type.  With limits, the gateway is restarted with
# max_in_flight sized from this key type's maximum for the four levels, then
# again without them (the other runs measure the gateway as it was).
ol_run() { # name first max
  local name=$1 first=$2 max=$3 l=null pcent budget=null
  if [ -n "$OL_KEYS" ]; then
    # the budget: 2 x p50 at 50 % on the gateway as it is (no limits), a short run
    log "$name: open loop at 50% without limits, for the budget"
    lg --label "$name-budget" --mode open --rate "$(echo "$max * 50 / 100 + 1" | bc)" --numbers "$first:$N_SUBS" \
       --sim-delay-ms "$SIM_DELAY_MS" --duration "$(echo "if ($OPEN_DUR < 5) $OPEN_DUR else 5" | bc)" --warmup "$WARM" \
       --max-conns "$OL_MAX_CONNS" --drain "$OL_DRAIN_S" >"$R/$name-budget.json"
    budget=$(jq --argjson min "$OL_BUDGET_MIN_MS" '[2 * .lat_us.p50 / 1000, $min] | max | . * 10 | ceil / 10' "$R/$name-budget.json")
    l=$(ol_max_in_flight "$max" "$budget")
    gw_config smpp "$(ol_limits "$l")" >"$T/simpki-$name-limits.json"
    log "$name: limits $(jq -c .limits "$T/simpki-$name-limits.json") (${max}/s x (${SIM_DELAY_MS} + ${budget}) ms)"
    stop_gw
    start_gw "$T/simpki-$name-limits.json"
  fi
  for pcent in $OL_LEVELS; do ol_level "$name" "$first" "$max" "$pcent"; done
  if [ -n "$OL_KEYS" ]; then
    stop_gw
    start_gw "$T/simpki.json"
  fi
  # shellcheck disable=SC2046
  jq -s --argjson max "$max" --argjson f "$OL_P99_FACTOR" --argjson budget "$budget" \
     --argjson limits "$(if [ -n "$OL_KEYS" ]; then jq -c .limits "$T/simpki-$name-limits.json"; else echo null; fi)" '
    (map({(.pcent | tostring): .}) | add) as $lv | ($lv["50"].lat_us.p99) as $base |
    def ratio($p): if $base > 0 then $lv[$p].lat_us.p99 / $base else null end;
    { max_tps: $max, limits: $limits, budget_ms: $budget, levels: $lv,
      ceilings: {
        p99_at_50_us: $base, p99_factor: $f,
        p99_ratio_120: ratio("120"), p99_ratio_200: ratio("200"),
        p99_met: ($base > 0 and $lv["120"].lat_us.p99 <= $f * $base and $lv["200"].lat_us.p99 <= $f * $base),
        lost: (map(.lost) | add), lost_met: ((map(.lost) | add) == 0),
        # refusals that did not say when to come back (counted as failures by loadgen)
        no_retry_after: (map((.results | to_entries | map(select(.key | endswith("_NO_RETRY_AFTER")) | .value) | add // 0)
                             + .poll_refused_no_retry_after) | add),
        # the load generator itself in the way: due and never sent, waited for its
        # connection cap or for a free number
        loadgen_limited: (map(.not_sent + .cap_waits + .sim_waits) | add) } }' \
     $(for pcent in $OL_LEVELS; do echo "$R/$name-ol-$pcent.json"; done) >"$R/$name-overload.json"
}

# The whole overload section of the results (both key types).
ol_json() {
  jq -n --slurpfile ec "$R/ec-overload.json" --slurpfile rsa "$R/rsa-overload.json" \
     --arg keys "$OL_KEYS" --arg levels "$OL_LEVELS" --argjson budget "$OL_BUDGET_MIN_MS" --argjson delay "$SIM_DELAY_MS" \
     --argjson conns "$OL_MAX_CONNS" --argjson drain "$OL_DRAIN_S" --argjson dur "$OPEN_DUR" --argjson warm "$WARM" '
    { config: {levels_pct: ($levels | split(" ") | map(tonumber)), duration_s: $dur, warmup_s: $warm,
               limits_supported: ($keys != ""), limit_keys: ($keys | split(" ") | map(select(length > 0))),
               max_in_flight_rule: "max_tps x (sim_delay_ms + budget_ms) / 1000, at least the SMPP window; budget_ms = 2 x p50 at 50 % without limits, at least budget_min_ms",
               sim_delay_ms: $delay, budget_min_ms: $budget, loadgen_max_conns: $conns, drain_s: $drain},
      ecdsa_p256: $ec[0], rsa_2048: $rsa[0] }'
}

# The table (from the results file's .overload).
ol_table() { # results.json
  jq -r '
    def ms: if . == null then "—" else (. / 1000 * 100 | round / 100 | tostring) + " ms" end;
    def f0: if type == "number" then (. * 10 | round / 10 | tostring) else tostring end;
    def met: if . then "met" else "**not met**" end;
    .overload as $o |
    "Overload: open loop at \($o.config.levels_pct | map(tostring + "%") | join(", ")) of the flat-out maximum, \($o.config.duration_s) s each after \($o.config.warmup_s) s warm-up; " +
      (if $o.config.limits_supported then "limits " + ($o.ecdsa_p256.limits | tojson) + " (EC), " + ($o.rsa_2048.limits | tojson) + " (RSA): max_in_flight = max_tps × (SIM delay \($o.config.sim_delay_ms) ms + budget \($o.ecdsa_p256.budget_ms) ms EC, \($o.rsa_2048.budget_ms) ms RSA: 2 × p50 at 50 % without limits, at least \($o.config.budget_min_ms) ms)"
       else "this simpkid has no overload limits (the \"before\")" end),
    "",
    "| level | offered/s | completed/s | refused/s | accepted p50 / p99 / p99.9 | time to refusal p50 / p99 | lost | not sent / waited for a connection |",
    "|---|---|---|---|---|---|---|---|",
    (["ecdsa_p256", "rsa_2048"][] as $k | $o[$k] as $a | $a.levels | to_entries | sort_by(.key | tonumber)[] | .value as $l |
      "| \($k) \($l.pcent)% | \($l.rate_target | f0) | \($l.completed_per_s | f0) | \($l.refused_per_s | f0) | \($l.lat_us.p50 | ms) / \($l.lat_us.p99 | ms) / \($l.lat_us.p999 | ms) | \(if $l.refusal_us.n > 0 then "\($l.refusal_us.p50 | ms) / \($l.refusal_us.p99 | ms)" else "—" end) | \($l.lost) | \($l.not_sent) / \($l.cap_waits) |"),
    "",
    (["ecdsa_p256", "rsa_2048"][] as $k | $o[$k].ceilings as $c |
      "\($k): p99 at 120% and 200% ≤ \($c.p99_factor) × p99 at 50% (\($c.p99_at_50_us | ms)): \($o[$k].levels["120"].lat_us.p99 | ms) and \($o[$k].levels["200"].lat_us.p99 | ms) — \($c.p99_met | met)",
      "\($k): lost = 0 (every accepted transaction got its final answer): \($c.lost) — \($c.lost_met | met)",
      "\($k): refusals without Retry-After = 0: \($c.no_retry_after) — \($c.no_retry_after == 0 | met); the load generator never the limiter (not sent + waits): \($c.loadgen_limited) — \($c.loadgen_limited == 0 | met)")
  ' "$1"
}

# The overload figures that must be numbers in the results (bench_smoke checks
# them; never their values): prints the missing ones' paths.
ol_missing() { # results.json
  jq -r '
    [ (["ecdsa_p256", "rsa_2048"][] as $k | ["50", "90", "120", "200"][] as $p |
        ["overload", $k, "levels", $p, "completed_per_s"], ["overload", $k, "levels", $p, "refused_per_s"],
        ["overload", $k, "levels", $p, "lat_us", "p99"], ["overload", $k, "levels", $p, "lat_us", "p999"],
        ["overload", $k, "levels", $p, "refusal_us", "p50"], ["overload", $k, "levels", $p, "lost"],
        ["overload", $k, "levels", $p, "not_sent"], ["overload", $k, "levels", $p, "cpu_core_share", "gateway"]),
      (["ecdsa_p256", "rsa_2048"][] as $k | ["overload", $k, "ceilings", "lost"], ["overload", $k, "ceilings", "no_retry_after"]) ] as $need |
    . as $r | $need[] as $p | select(($r | getpath($p) | type) != "number") | $p | map(tostring) | join(".")' "$1" | tr '\n' ' '
}
