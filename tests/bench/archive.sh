#!/usr/bin/env bash
#
# archive.sh - what the evidence archive (docs/archive.md) costs signing, and what it
# does itself: the same closed loop with the archive off, then on, in one run.
#
#   tests/bench/archive.sh [--smoke] [--out FILE] [--no-build]
#   AR_EXTRA='{"batch": 1000}' tests/bench/archive.sh      ... other "archive" settings
#
# It is BENCH_ONLY=archive tests/bench/run.sh: run.sh builds, starts the stack (Redis
# with AOF everysec, the simulator, simpkid with its SMPP binds; EC subscribers
# answering at once) and sources this file, whose ar_main then
#   1. runs run.sh's closed loop (run_alg: CONC in flight, DUR s after WARM s) on the
#      gateway as run.sh started it: the archive off;
#   2. starts a private PostgreSQL (lib.sh: bench_pg_start), restarts the gateway with
#      an "archive" section (the defaults, anchoring off) and runs the same closed loop,
#      sampling the archive's gauges every AR_SAMPLE_S s; then waits until every event
#      stream is empty (the drain);
#   3. reads from PostgreSQL the lag of every archived event (archived_at - at), the
#      rates at which events were appended and archived, and the drain;
#   4. after each of the two runs, splits the Redis calls of a short closed loop between
#      the signing path, the periodic scripts and the archiver with redis-cli MONITOR (not
#      a timed run: MONITOR costs Redis);
#   5. checks that every event appended (XADD, counted by Redis) is in PostgreSQL once.
# Prints the table and writes the JSON.  Asserts no timing: only that every figure is
# there and that no event was lost or stored twice.  How each figure is obtained:
# docs/benchmarks.md, "Evidence archive".
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  BENCH_ONLY=archive exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
fi

# Sourced by run.sh, which owns the stack: SRC T R OUT SMOKE CONC DUR WARM N_SUBS
# EC_FIRST GW_PID REDIS_PID SIM_PID API_PORT BASE_LIMITS, gw_config start_gw stop_gw
# run_alg cs_delta lg log rcli, and the machine's description.

AR_SAMPLE_S=0.5
AR_RT_CEILING=3 # Redis round trips of a signing transaction (issue 16: must stay 3)
if [ "$SMOKE" -eq 1 ]; then AR_MON_S=1; AR_DRAIN_MAX_S=30; else AR_MON_S=3; AR_DRAIN_MAX_S=300; fi

# The archive's series on /metrics, summed over their labels; null where the gateway
# exports none.
ar_metrics() {
  { curl -sf "http://127.0.0.1:$API_PORT/metrics" || true; } | awk '
    function add(k) { v[k] += $NF; seen[k] = 1 }
    /^simpki_archive_backlog_entries[ {]/ { add("backlog") }
    /^simpki_archive_oldest_seconds[ {]/ { add("oldest_s") }
    /^simpki_archive_events_total[ {]/ { add("events") }
    /^simpki_archive_duplicates_total[ {]/ { add("duplicates") }
    /^simpki_archive_errors_total[ {]/ { add("errors") }
    /^simpki_archive_db_up[ {]/ { add("db_up") }
    /^simpki_archive_batch_duration_seconds_count[ {]/ { add("batches") }
    /^simpki_archive_batch_duration_seconds_sum[ {]/ { add("batch_s") }
    /^simpki_sign_backlog_refused_total[ {]/ { add("backlog_refused") }
    END {
      n = split("backlog oldest_s events duplicates errors db_up batches batch_s backlog_refused", k, " ")
      printf "{"
      for (i = 1; i <= n; i++)
        printf "%s\"%s\": %s", (i > 1 ? ", " : ""), k[i], ((k[i] in seen) ? sprintf("%.6f", v[k[i]]) : "null")
      print "}"
    }'
}
ar_db_up() { ar_metrics | jq -e '.db_up == 1' >/dev/null; }

# A line {"t": epoch s, "m": ar_metrics} every AR_SAMPLE_S s, until killed.
ar_sampler() {
  while :; do
    printf '{"t": %s, "m": %s}\n' "$(date +%s.%N)" "$(ar_metrics)" >>"$1"
    sleep "$AR_SAMPLE_S"
  done
}

# Entries in every event stream: the backlog (an entry leaves its stream only once it
# is in PostgreSQL).
ar_redis_backlog() {
  local k
  for k in $(rcli --scan --pattern 'spk:*:ev'); do rcli XLEN "$k"; done | awk '{ n += $1 } END { print n + 0 }'
}

# Seconds until every stream is empty, polled every 0.1 s; null when they were not
# within max_s.
ar_drain() { # max_s
  local t0 now
  t0=$(date +%s.%N)
  while :; do
    now=$(date +%s.%N)
    if [ "$(ar_redis_backlog)" -eq 0 ]; then echo "$now - $t0" | bc; return; fi
    if [ "$(echo "$now - $t0 > $1" | bc)" -eq 1 ]; then echo null; return; fi
    sleep 0.1
  done
}

# What PostgreSQL holds, as one JSON object: events, by type, distinct ids; each
# event's lag (archived_at - at, ms); over the loaded window (from WARM s after the
# first event to the last), events appended and archived per second; the busiest
# second; the drain (last archived_at - last at).
ar_pg_figures() {
  pg_sql -v warm="$WARM" <<'SQL'
WITH e AS (SELECT event_id, etype, extract(epoch FROM at) AS at_s, extract(epoch FROM archived_at) AS ar_s
             FROM archive_events),
     w AS (SELECT min(at_s) + :warm AS w0, max(at_s) AS w1 FROM e)
SELECT json_build_object(
  'events', (SELECT count(*) FROM e),
  'distinct_event_ids', (SELECT count(DISTINCT event_id) FROM e),
  'by_type', (SELECT coalesce(json_object_agg(etype, n), '{}') FROM (SELECT etype, count(*) AS n FROM e GROUP BY etype) t),
  'lag_ms', (SELECT json_build_object(
               'p50', round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ar_s - at_s) * 1000)::numeric, 1),
               'p99', round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ar_s - at_s) * 1000)::numeric, 1),
               'max', round(max(ar_s - at_s) * 1000, 1)) FROM e),
  'window_s', (SELECT round(w1 - w0, 3) FROM w),
  'appended_per_s', (SELECT round(count(*) / nullif(max(w1 - w0), 0), 1) FROM e, w WHERE at_s BETWEEN w0 AND w1),
  'archived_per_s', (SELECT round(count(*) / nullif(max(w1 - w0), 0), 1) FROM e, w WHERE ar_s BETWEEN w0 AND w1),
  'peak_archived_per_s', (SELECT max(n) FROM (SELECT count(*) AS n FROM e GROUP BY floor(ar_s)) t),
  'drain_s', (SELECT round(max(ar_s) - max(at_s), 3) FROM e),
  'table_bytes', (SELECT coalesce(sum(pg_total_relation_size(oid)), 0) FROM pg_class
                   WHERE relname LIKE 'archive_events_%' AND relkind = 'r'))
SQL
}

# Every top-level command in a MONITOR capture, split: the archiver's (a script that
# runs a stream command only the archiver uses, or whose keys are all event streams, or
# a stream command sent alone); the periodic scripts (their first command ZRANGEBYSCORE:
# the sweeper's and the callback queue's runs, a fixed number per interval whatever the
# load); the other scripts, the signing path (create, por_lookup, sent_many, finish: run.sh's
# "engine round trips" less the periodic); and the rest.  Per transaction finished: the
# PUBLISH on spk:done that finish and expiry run; the signature events appended (XADD).
ar_monitor_split() { # capture -> JSON
  awk '
    function unq(s) { gsub(/^"|"$/, "", s); return tolower(s) }
    function flush() {
      if (cmd == "") return
      if (cmd ~ /^(evalsha|eval|evalsha_ro|eval_ro|fcall|fcall_ro)$/) {
        if (arch || (nk > 0 && evkeys == nk)) ar++
        else if (first == "zrangebyscore") periodic++
        else { signing++; by[substr(sha, 1, 8) " " first]++ }
      } else if (cmd ~ /^x/) ar++
      else other++
      cmd = ""
    }
    $3 == "lua]" {
      c = unq($4); inner++
      if (first == "") first = c
      if (c ~ /^x(readgroup|autoclaim|ack|del|info|range|revrange|pending|group|claim|trim)$/) arch = 1
      if (c == "xadd") { xadd++; if (index($0, "\"type\" \"signature\"")) sig++ }
      if (c == "publish" && unq($5) == "spk:done") fin++
      next
    }
    $2 ~ /^\[/ {
      flush(); cmd = unq($4); arch = 0; nk = 0; evkeys = 0; first = ""; sha = unq($5)
      if (cmd ~ /^(evalsha|evalsha_ro|fcall|fcall_ro)$/) { # EVAL: the script text is no field
        nk = unq($6) + 0
        for (i = 7; i < 7 + nk && i <= NF; i++) if (unq($i) ~ /:ev$/) evkeys++
      }
    }
    END {
      flush()
      printf "{\"signing\": %d, \"periodic\": %d, \"archiver\": %d, \"other\": %d, \"inner\": %d, \"xadd\": %d, \"signatures\": %d, \"finished\": %d, \"signing_scripts\": {",
             signing, periodic, ar, other, inner, xadd, sig, fin
      n = 0
      for (k in by) printf "%s\"%s\": %d", (n++ ? ", " : ""), k, by[k]
      print "}}"
    }' "$1"
}

# AR_MON_S s of redis-cli MONITOR in the middle of a short closed loop (not timed:
# MONITOR costs Redis) -> $R/NAME-monitor.json, its calls per transaction finished.
ar_monitor() { # name
  local mon_lg
  log "$1: ${AR_MON_S}s of Redis MONITOR in a closed loop (not timed)"
  lg --label "$1-monitor" --mode closed --concurrency "$CONC" --numbers "$EC_FIRST:$N_SUBS" \
     --duration "$(echo "$AR_MON_S + 1" | bc)" --warmup 0 >"$R/$1-monitor-lg.json" &
  mon_lg=$!
  PIDS+=("$mon_lg")
  sleep 0.5
  timeout "$AR_MON_S" redis-cli -p "$REDIS_PORT" MONITOR >"$T/$1-monitor.txt" 2>/dev/null || true
  wait "$mon_lg"
  ar_monitor_split "$T/$1-monitor.txt" |
    jq '. as $m | def per($k): if $m.finished > 0 then $m[$k] / $m.finished else null end;
        {signing_per_txn: per("signing"), periodic_per_txn: per("periodic"), archiver_per_txn: per("archiver"),
         other_per_txn: per("other"),
         # each signing script (its SHA-1 prefix and first command) per transaction
         signing_scripts_per_txn: ($m.signing_scripts | map_values(if $m.finished > 0 then . / $m.finished else null end)),
         counts: ($m | del(.signing_scripts))}' >"$R/$1-monitor.json"
  rm -f "$T/$1-monitor.txt"
}

ar_cmd_calls() { rcli INFO commandstats | tr -d '\r' | awk -F'[:=,]' -v c="cmdstat_$1" '$1 == c { n = $3 } END { print n + 0 }'; }

ar_main() {
  local sampler pg0 pg1 gw1 gw2 m0 m1 m2 drain_wait extra=${AR_EXTRA:-}
  [ -n "$extra" ] || extra='{}'
  # ---- 1. the archive off -------------------------------------------------
  log "archive off: closed loop, the gateway as started"
  OPEN=0 run_alg ar-off "$EC_FIRST"
  ar_monitor ar-off

  # ---- 2. the archive on --------------------------------------------------
  log "archive on: a private PostgreSQL, the gateway restarted with an \"archive\" section"
  bench_pg_start
  gw_config smpp "$BASE_LIMITS" |
    jq --arg ci "$PG_CONNINFO" --argjson extra "$extra" \
      '.archive = ({conninfo: $ci, anchor_interval_s: 0} + $extra)' >"$T/simpki-archive.json"
  stop_gw
  start_gw "$T/simpki-archive.json"
  wait_for 60 ar_db_up || { log "the archive did not report its database up"; return 1; }

  pg0=$(pg_cpu_us)
  m0=$(ar_metrics)
  ar_sampler "$R/ar-samples.jsonl" &
  sampler=$!
  PIDS+=("$sampler")
  OPEN=0 run_alg ar-on "$EC_FIRST"
  m1=$(ar_metrics)
  pg1=$(pg_cpu_us)
  gw1=$(cpu_us "$GW_PID")
  log "archive on: drain (every event stream empty), at most ${AR_DRAIN_MAX_S}s"
  drain_wait=$(ar_drain "$AR_DRAIN_MAX_S")
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  gw2=$(cpu_us "$GW_PID")
  m2=$(ar_metrics)
  jq -n --argjson pg $(( $(pg_cpu_us) - pg0 )) --argjson pgrun $(( pg1 - pg0 )) --argjson gwdrain $(( gw2 - gw1 )) \
    --argjson m0 "$m0" --argjson m1 "$m1" --argjson m2 "$m2" --argjson wait "$drain_wait" \
    '{postgres_cpu_us: $pg, postgres_cpu_us_run: $pgrun, gateway_cpu_us_drain: $gwdrain, metrics_before: $m0,
      metrics_after_run: $m1, metrics_after_drain: $m2, drain_wait_s: $wait}' >"$R/ar-on-extra.json"
  ar_pg_figures >"$R/ar-pg.json"

  # ---- 4. whose Redis calls ---------------------------------------------------
  ar_monitor ar-on

  # ---- 5. every event appended is in PostgreSQL, once ------------------------
  drain_wait=$(ar_drain "$AR_DRAIN_MAX_S")
  jq -n --argjson xadd "$(ar_cmd_calls xadd)" --argjson stored "$(pg_sql -c 'SELECT count(*) FROM archive_events')" \
     --argjson ids "$(pg_sql -c 'SELECT count(DISTINCT event_id) FROM archive_events')" \
     --argjson left "$(ar_redis_backlog)" --argjson wait "$drain_wait" \
     '{appended: $xadd, stored: $stored, lost: ($xadd - $stored), duplicated: ($stored - $ids), left_in_redis: $left,
       drained: ($wait != null)}' >"$R/ar-check.json"
  cs_delta ar-off >"$R/ar-off-cmds.json"
  cs_delta ar-on >"$R/ar-on-cmds.json"

  ar_json >"$OUT"
  ar_table "$OUT"
  echo
  echo "written: $OUT"
  ar_verdict "$OUT"
}

# The results: the two closed loops side by side, the split of the Redis calls, the
# archive's own figures.
ar_json() {
  jq -n --arg cpu "$CPU_MODEL" --argjson ncpu "$NCPU" --arg mem "$MEM_GB" --arg kernel "$KERNEL" \
    --arg load0 "$LOAD_START" --arg load1 "$(cut -d' ' -f1-3 /proc/loadavg)" --argjson smoke "$SMOKE" \
    --argjson conc "$CONC" --argjson dur "$DUR" --argjson warm "$WARM" --argjson ceiling "$AR_RT_CEILING" \
    --arg pgv "$(pg_sql -c 'SHOW server_version')" --arg sync "$(pg_sql -c 'SHOW synchronous_commit')" \
    --arg fsync "$(pg_sql -c 'SHOW fsync')" --argjson sample "$AR_SAMPLE_S" --argjson mons "$AR_MON_S" \
    --argjson section "$(jq '.archive | del(.conninfo)' "$T/simpki-archive.json")" \
    --slurpfile offmax "$R/ar-off-max.json" --slurpfile offcpu "$R/ar-off-cpu.json" --slurpfile offcmd "$R/ar-off-cmds.json" \
    --slurpfile onmax "$R/ar-on-max.json" --slurpfile oncpu "$R/ar-on-cpu.json" --slurpfile oncmd "$R/ar-on-cmds.json" \
    --slurpfile extra "$R/ar-on-extra.json" --slurpfile pg "$R/ar-pg.json" --slurpfile monoff "$R/ar-off-monitor.json" \
    --slurpfile monon "$R/ar-on-monitor.json" \
    --slurpfile check "$R/ar-check.json" --slurpfile samples <(jq -s . "$R/ar-samples.jsonl") '
    def run($max; $cpu; $cmd): ($max.finished) as $n |
      { tps: $max.completed_per_s, finished: $n, ok: $max.ok, failed: $max.failed,
        lat_us: $max.lat_us, post_us: $max.post_us,
        cpu_us_per_txn: {gateway: ($cpu.gw / $n), redis: ($cpu.redis / $n), simulator: ($cpu.sim / $n),
                         loadgen: ($max.cpu_us / $n)},
        gateway_cpu_ceiling_tps: (if $cpu.gw > 0 then 1000000 * $n / $cpu.gw else 0 end),
        engine_round_trips_per_txn: ((($cmd.evalsha // 0) + ($cmd.eval // 0)) / $n),
        gateway_redis_calls_per_txn: ($cpu.redis_calls / $n),
        redis_commands_per_txn: (($cmd | to_entries | map(.value) | add // 0) / $n),
        redis_commands: ($cmd | map_values(. / $n)), wall_s: $cpu.wall_s };
    ($extra[0]) as $x | ($onmax[0].finished) as $n | ($samples[0]) as $s |
    # the gauges sampled during the loaded run and the drain
    def gauge($k): [$s[] | .m[$k] | select(. != null)];
    { machine: {cpu: $cpu, cores: $ncpu, memory_gib: $mem, kernel: $kernel, loadavg_before: $load0, loadavg_after: $load1},
      smoke: ($smoke == 1),
      config: {concurrency: $conc, duration_s: $dur, warmup_s: $warm, transport: "smpp", key: "ecdsa_p256",
               archive: $section, postgresql: {version: $pgv, fsync: $fsync, synchronous_commit: $sync},
               sample_s: $sample, monitor_s: $mons},
      off: run($offmax[0]; $offcpu[0]; $offcmd[0]),
      on: (run($onmax[0]; $oncpu[0]; $oncmd[0]) as $r | $r + {
             cpu_us_per_txn: ($r.cpu_us_per_txn + {postgres: ($x.postgres_cpu_us / $n),
                                                    gateway_drain: ($x.gateway_cpu_us_drain / $n)}),
             events_appended_per_txn: (($oncmd[0].xadd // 0) / $n)}),
      # MONITOR windows: Redis calls per transaction finished, by whom
      round_trips: {ceiling: $ceiling, off: $monoff[0], on: $monon[0]},
      archive: ($pg[0] + {
        # the gateway counter over the loaded run; batches over the run and the drain
        archived_per_s_metric: (if $x.metrics_after_run.events != null and $x.metrics_before.events != null
                                then ($x.metrics_after_run.events - $x.metrics_before.events) / $oncpu[0].wall_s
                                else null end),
        batches: (if $x.metrics_after_drain.batches != null then $x.metrics_after_drain.batches - $x.metrics_before.batches
                  else null end),
        batch_ms: (if ($x.metrics_after_drain.batches // 0) > ($x.metrics_before.batches // 0)
                   then ($x.metrics_after_drain.batch_s - $x.metrics_before.batch_s) * 1000
                        / ($x.metrics_after_drain.batches - $x.metrics_before.batches) else null end),
        backlog_max_entries: (gauge("backlog") | max), oldest_max_s: (gauge("oldest_s") | max),
        samples: ($s | length), drain_wait_s: $x.drain_wait_s,
        errors: (if $x.metrics_after_drain.errors != null then $x.metrics_after_drain.errors - ($x.metrics_before.errors // 0)
                 else null end),
        refused_for_backlog: $x.metrics_after_drain.backlog_refused,
        check: $check[0] }) }'
}

ar_table() { # results.json
  jq -r '
    def f0: if type == "number" then (. * 10 | round / 10 | tostring) else "—" end;
    def f2: if type == "number" then (. * 100 | round / 100 | tostring) else "—" end;
    def ms: if type == "number" then (. / 1000 * 100 | round / 100 | tostring) + " ms" else "—" end;
    def row($a; $b; $c; $d): "| \($a) | \($b) | \($c) | \($d) |";
    def pct($a; $b): if $b > 0 then ($a / $b - 1) * 100 | round | tostring | (if startswith("-") then . else "+" + . end) + " %" else "—" end;
    .off as $off | .on as $on | .archive as $a | .round_trips as $rt |
    "simpki benchmark (BENCH_ONLY=archive) — \(.machine.cpu), \(.machine.cores) cores, load average before \(.machine.loadavg_before), after \(.machine.loadavg_after)\(if .smoke then " (SMOKE RUN: numbers mean nothing)" else "" end)",
    "closed loop, \(.config.concurrency) in flight, \(.config.duration_s) s after \(.config.warmup_s) s, EC, SMPP; archive \(.config.archive | tojson); PostgreSQL \(.config.postgresql.version), fsync \(.config.postgresql.fsync), synchronous_commit \(.config.postgresql.synchronous_commit)",
    "",
    row("figure"; "archive off"; "archive on"; "beside (ceiling / target)"),
    "|---|---|---|---|",
    row("signing: completed txn/s"; ($off.tps | f0); ($on.tps | f0); "on/off \(pct($on.tps; $off.tps)); gateway CPU ceiling \($off.gateway_cpu_ceiling_tps | f0) / \($on.gateway_cpu_ceiling_tps | f0)/s"),
    row("transaction (POST → final answer) p50 / p99"; "\($off.lat_us.p50 | ms) / \($off.lat_us.p99 | ms)"; "\($on.lat_us.p50 | ms) / \($on.lat_us.p99 | ms)"; "create (POST) p99 \($off.post_us.p99 | ms) / \($on.post_us.p99 | ms)"),
    row("CPU µs per txn gateway / redis / sim / loadgen"; "\($off.cpu_us_per_txn.gateway | f0) / \($off.cpu_us_per_txn.redis | f0) / \($off.cpu_us_per_txn.simulator | f0) / \($off.cpu_us_per_txn.loadgen | f0)"; "\($on.cpu_us_per_txn.gateway | f0) / \($on.cpu_us_per_txn.redis | f0) / \($on.cpu_us_per_txn.simulator | f0) / \($on.cpu_us_per_txn.loadgen | f0)"; "on: PostgreSQL \($on.cpu_us_per_txn.postgres | f0) µs, the gateway in the drain \($on.cpu_us_per_txn.gateway_drain | f0) µs per txn"),
    row("Redis per txn: engine EVALSHA / all gateway calls / commands incl. inside scripts"; "\($off.engine_round_trips_per_txn | f2) / \($off.gateway_redis_calls_per_txn | f2) / \($off.redis_commands_per_txn | f0)"; "\($on.engine_round_trips_per_txn | f2) / \($on.gateway_redis_calls_per_txn | f2) / \($on.redis_commands_per_txn | f0)"; "ceiling \($rt.ceiling) round trips; on: the archiver'"'"'s scripts included (a read or an acknowledgement is one script per stream), XADD inside scripts \($on.events_appended_per_txn | f2) per txn"),
    row("Redis round trips per txn, MONITOR \(.config.monitor_s) s: signing path / periodic (sweeper, callbacks) / archiver"; "\($rt.off.signing_per_txn | f2) / \($rt.off.periodic_per_txn | f2) / \($rt.off.archiver_per_txn | f2)"; "\($rt.on.signing_per_txn | f2) / \($rt.on.periodic_per_txn | f2) / \($rt.on.archiver_per_txn | f2)"; "ceiling \($rt.ceiling) for the signing path (create, por_lookup, finish; sent batched); on − off \(($rt.on.signing_per_txn // 0) - ($rt.off.signing_per_txn // 0) | f2); signature events appended inside scripts per txn \(if $rt.on.counts.finished > 0 then $rt.on.counts.signatures / $rt.on.counts.finished | f2 else "—" end)"),
    row("signing scripts per txn (SHA-1 prefix, first command run)"; ($rt.off.signing_scripts_per_txn | to_entries | map("\(.key) \(.value | f2)") | join(", ")); ($rt.on.signing_scripts_per_txn | to_entries | map("\(.key) \(.value | f2)") | join(", ")); "one each for create, por_lookup and finish; sent_many (first ZREM) a fraction: one per batch"),
    row("events appended / archived per s (loaded window, PostgreSQL)"; "—"; "\($a.appended_per_s | f0) / \($a.archived_per_s | f0)"; "\(if ($a.archived_per_s // 0) >= 0.98 * ($a.appended_per_s // 0) then "kept up" else "**fell behind** by \(($a.appended_per_s // 0) - ($a.archived_per_s // 0) | f0)/s" end) (archived ≥ appended keeps up); busiest second \($a.peak_archived_per_s | f0)/s; gateway counter \($a.archived_per_s_metric | f0)/s"),
    row("archiver batches: events per batch / ms per batch"; "—"; "\(if ($a.batches // 0) > 0 then ($a.events / $a.batches | f0) else "—" end) / \($a.batch_ms | f0)"; "batch \(.config.archive.batch // 500) at most"),
    row("lag, event → row (archived_at − at) p50 / p99 / max"; "—"; "\($a.lag_ms.p50 | f0) / \($a.lag_ms.p99 | f0) / \($a.lag_ms.max | f0) ms"; "poll_ms \(.config.archive.poll_ms // 200): the wait after an empty read"),
    row("backlog sampled every \(.config.sample_s) s: max entries / max oldest age"; "—"; "\($a.backlog_max_entries | f0) / \($a.oldest_max_s | f2) s"; "max_backlog \(.config.archive.max_backlog // 50000) per stream refuses new signatures (\($a.refused_for_backlog // 0 | f0) refused)"),
    row("drain after the load stopped: last event appended → last row"; "—"; "\($a.drain_s | f2) s"; "\($a.events) events, \($a.table_bytes / 1048576 | f0) MiB in PostgreSQL"),
    row("events lost / stored twice (all phases: Redis XADD vs rows)"; "—"; "\($a.check.lost) / \($a.check.duplicated)"; "0 / 0 (\($a.check.appended) appended, \($a.check.stored) stored, \($a.check.left_in_redis) left in Redis)")
  ' "$1"
}

# Every figure a number; the archive drained, nothing lost or doubled.  No timing.
ar_verdict() { # results.json
  local missing why
  missing=$(jq -r '
    [ ["off", "tps"], ["on", "tps"], ["off", "lat_us", "p99"], ["on", "lat_us", "p99"],
      ["off", "engine_round_trips_per_txn"], ["on", "engine_round_trips_per_txn"],
      ["off", "gateway_redis_calls_per_txn"], ["on", "gateway_redis_calls_per_txn"], ["on", "cpu_us_per_txn", "postgres"],
      ["round_trips", "off", "signing_per_txn"], ["round_trips", "on", "signing_per_txn"], ["round_trips", "on", "archiver_per_txn"],
      ["archive", "appended_per_s"], ["archive", "archived_per_s"], ["archive", "lag_ms", "p99"],
      ["archive", "drain_s"], ["archive", "drain_wait_s"], ["archive", "backlog_max_entries"], ["archive", "oldest_max_s"] ] as $need |
    . as $r | $need[] as $p | select(($r | getpath($p) | type) != "number") | $p | map(tostring) | join(".")' "$1")
  [ -z "$missing" ] || { echo "archive.sh: figures missing from $1:" $missing >&2; return 1; }
  why=$(jq -r '.archive.check as $c |
    if $c.drained | not then "the event streams did not empty"
    elif $c.appended < 1 then "no event was appended"
    elif $c.lost != 0 then "\($c.lost) events appended are not in PostgreSQL"
    elif $c.duplicated != 0 then "\($c.duplicated) events stored twice"
    elif .on.ok < 1 then "no transaction ended OK with the archive on"
    else empty end' "$1")
  [ -z "$why" ] || { echo "archive.sh: $why" >&2; return 1; }
}
