#!/usr/bin/env bash
# /metrics, the Grafana dashboard and the alert rules kept honest (docs/metrics.md):
# the real daemon signs, its scrape is checked strictly (text format, naming
# conventions, histograms), every simpki_ series the dashboard and the rules use
# must be in it, the rules parse (and pass promtool when Debian's prometheus
# package is installed), the latency histograms counted the signature.  Then
# each checker is shown broken inputs and must refuse them, so none passes by
# accident.  TRANSPORT=etsi204 runs the same through the ETSI link.
. "$(dirname "$0")/lib.sh"

CHECK=$SRC/tests/integration/metrics_check.py
DASH=$SRC/deploy/grafana/simpki-dashboard.json
RULES=$SRC/deploy/prometheus/simpki-alerts.yml
# Debian's python3 has python3-yaml (tests/run.sh installs it); another python3 on PATH may not.
PY=
for p in /usr/bin/python3 python3; do
  if command -v "$p" >/dev/null && "$p" -c 'import yaml' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with yaml (apt-get install python3-yaml)"; exit 77; }
PROMTOOL=$(command -v promtool || true)
[ -n "$PROMTOOL" ] || echo "note: promtool not installed (Debian's prometheus package): its checks are skipped"

# Series the dashboard and rules use that the overload and Sentinel work add (issue 15).
# Tolerated only while this daemon has no such name at all: once it is built in, it must be
# scraped.
PENDING_ALL=(simpki_sign_overloaded_total simpki_sign_rate_limited_total simpki_sign_in_flight
             simpki_sign_in_flight_limit simpki_redis_failovers_total)
PENDING=()
for n in "${PENDING_ALL[@]}"; do
  grep -aq "${n#simpki_}" "$SIMPKID" || PENDING+=("$n")
done

# A "ca" section, so that the lifecycle engine runs and its series exist (nothing listens
# on that CMP port: no request is filed here).
CMP_FREE=$(free_port)
export CONFIG_EDIT=".ca = {key_alg: \"ecp256\", sim_timeout_s: 30, tick_ms: 200, lease_s: 12, max_attempts: 3,
  cmp: {server: \"127.0.0.1\", port: $CMP_FREE, timeout_s: 2, pbm_ref: \"ref\", pbm_secret: \"secret\"}}"
# The evidence archive on, so that its series exist too (they do only with an "archive" section).
pg_start || { bad "PostgreSQL did not start"; finish; }
export ARCHIVE=1
stack_up || { bad "the stack did not start"; finish; }

j=$(sign 84960000001)
check "a signature request is accepted (202)" test "$(code)" = 202
id=$(jq -r .id <<<"$j")
f=$(wait_result "$id" 30)
check "... and completes" test "$(jq -r .state <<<"$f")" = completed
api GET "/v1/signatures/$id" >/dev/null
check "a plain GET reads it (200)" test "$(code)" = 200
sc=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/soap+xml' --data '<not-soap/>' \
  "http://127.0.0.1:$API_PORT/soap/services/MSS_StatusQueryPort")
check "a malformed SOAP request gets its fault ($sc)" test "$sc" = 400
curl -sf "http://127.0.0.1:$API_PORT/metrics" >"$T/metrics"
# The second scrape counts the first one's answer.
curl -sf "http://127.0.0.1:$API_PORT/metrics" >"$T/metrics"

# ---- the scrape -----------------------------------------------------------------------
check "exposition format and naming conventions ($("$PY" "$CHECK" expo "$T/metrics" | tail -1))" \
  "$PY" "$CHECK" expo "$T/metrics"
if [ -n "$PROMTOOL" ]; then
  check "promtool check metrics" bash -c "'$PROMTOOL' check metrics <'$T/metrics'"
fi
check "the histograms counted the signature, the GET, the SOAP request, the carrier, the verification" \
  "$PY" "$CHECK" nonzero "$T/metrics" \
  'simpki_api_request_duration_seconds_count{api="json",op="create"}' \
  'simpki_api_request_duration_seconds_count{api="json",op="get"}' \
  'simpki_api_request_duration_seconds_count{api="soap",op="status"}' \
  'simpki_api_request_duration_seconds_count{api="ops",op="metrics"}' \
  "simpki_transport_duration_seconds_count{transport=\"$TRANSPORT\"}" \
  'simpki_signature_verify_duration_seconds_count' \
  'simpki_api_responses_total{api="json",op="create",code="202"}' \
  'simpki_api_responses_total{api="json",op="poll",code="200"}' \
  'simpki_api_responses_total{api="soap",op="status",code="400"}'
check "a long poll is counted but not timed (no op=\"poll\" histogram)" \
  bash -c "! grep -q 'simpki_api_request_duration_seconds_count{api=\"json\",op=\"poll\"}' '$T/metrics'"

# ---- the dashboard and the rules -------------------------------------------------------
check "every simpki_ series of the dashboard and the rules is scraped${PENDING:+ (pending: ${PENDING[*]})}" \
  "$PY" "$CHECK" refs "$T/metrics" "$DASH" "$RULES" --pending "${PENDING[@]}"
check "the dashboard is Grafana JSON on \${DS_PROMETHEUS}" "$PY" "$CHECK" dashboard "$DASH"
check "the alert rules parse and each says what to check" "$PY" "$CHECK" rules "$RULES"
if [ -n "$PROMTOOL" ]; then
  check "promtool check rules" "$PROMTOOL" check rules "$RULES"
  check "the dashboard's queries are PromQL (promtool parses them as rules)" \
    bash -c "'$PY' '$CHECK' dashboard-rules '$DASH' '$T/dash-rules.yml' && '$PROMTOOL' check rules '$T/dash-rules.yml'"
  "$PY" -c 'import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
for g in d["groups"]:
    for r in g["rules"]:
        r.pop("annotations", None)
yaml.safe_dump(d, open(sys.argv[2], "w"))' "$RULES" "$T/simpki-alerts.yml"
  cp "$SRC/tests/integration/metrics_alerts_test.yml" "$T/"
  check "promtool test rules (the alerts fire on the series they watch, and only there)" \
    "$PROMTOOL" test rules "$T/metrics_alerts_test.yml"
fi

# ---- each check refuses what it must ---------------------------------------------------
refuses() { # description, command...: the command must fail
  local d=$1; shift
  if "$@" >"$T/refused.log" 2>&1; then bad "$d: accepted"; else ok "$d: refused ($(tail -1 "$T/refused.log"))"; fi
}
m=$T/metrics
sed 's/simpki_sign_accepted_total/simpki_sign_accepted/' "$m" >"$T/m1"
refuses "a counter without _total" "$PY" "$CHECK" expo "$T/m1"
[ -n "$PROMTOOL" ] && refuses "... promtool too" bash -c "'$PROMTOOL' check metrics <'$T/m1'"
sed -E 's/^(simpki_transactions_completed_total) ([0-9]+)$/\1 -1/' "$m" >"$T/m2"
refuses "a negative counter" "$PY" "$CHECK" expo "$T/m2"
sed -E '/^simpki_api_request_duration_seconds_bucket\{api="json",op="create",le="\+Inf"\}/s/ [0-9]+$/ 0/' "$m" >"$T/m3"
refuses "buckets that are not cumulative / +Inf != _count" "$PY" "$CHECK" expo "$T/m3"
awk '/^simpki_link_up\{/ && !moved { held = $0; moved = 1; next } { print } END { print held }' "$m" >"$T/m4"
refuses "a family's samples split apart" "$PY" "$CHECK" expo "$T/m4"
grep -v '^# HELP simpki_redis_up ' "$m" >"$T/m5"
refuses "a family without HELP" "$PY" "$CHECK" expo "$T/m5"
sed 's/simpki_redis_up /simpki_Redis_up /g' "$m" >"$T/m6"
refuses "a name outside [a-z_:][a-z0-9_:]*" "$PY" "$CHECK" expo "$T/m6"
sed 's/simpki_redis_up\b/simpki_redis_connected/g' "$DASH" >"$T/dash.json"
refuses "a dashboard naming a series the daemon does not have" \
  "$PY" "$CHECK" refs "$m" "$T/dash.json" "$RULES" --pending "${PENDING[@]}"
sed 's/simpki_link_up\b/simpki_link_bound/' "$RULES" >"$T/rules1.yml"
refuses "rules naming a series the daemon does not have" \
  "$PY" "$CHECK" refs "$m" "$DASH" "$T/rules1.yml" --pending "${PENDING[@]}"
sed 's/^\(      - alert: SimpkiRedisUnavailable\)$/\1\n     broken: [/' "$RULES" >"$T/rules2.yml"
refuses "a rule file that is not YAML" "$PY" "$CHECK" rules "$T/rules2.yml"
grep -v '          summary: "{{ $labels.instance }} has had no Redis' "$RULES" >"$T/rules3.yml"
refuses "an alert without a summary" "$PY" "$CHECK" rules "$T/rules3.yml"
jq '.panels[1].datasource = {"type": "prometheus", "uid": "prometheus"}' "$DASH" >"$T/dash2.json"
refuses "a panel on a fixed datasource" "$PY" "$CHECK" dashboard "$T/dash2.json"
if [ -n "$PROMTOOL" ]; then
  jq '.panels[1].targets[0].expr |= sub("\\)\\)$"; ")")' "$DASH" >"$T/dash3.json"
  refuses "a dashboard query that is not PromQL" \
    bash -c "'$PY' '$CHECK' dashboard-rules '$T/dash3.json' '$T/dash3-rules.yml' && '$PROMTOOL' check rules '$T/dash3-rules.yml'"
fi
refuses "a histogram that counted nothing" "$PY" "$CHECK" nonzero "$m" \
  'simpki_api_request_duration_seconds_count{api="soap",op="registration"}'

finish
