#!/usr/bin/env bash
# test_loadgen.sh LOADGEN - how loadgen counts an overloaded gateway's answers,
# against tests/bench/loadgen_stub.py (which says what it answered): refusals by
# reason and only with Retry-After, accepted transactions without a final
# answer as lost, a refused long poll asked again, and its own connection cap
# counted (waits, not sent) rather than hidden.  States only, no timing.
set -euo pipefail
LOADGEN=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/simpki-test-loadgen.XXXXXX)
STUB=
cleanup() {
  [ -z "$STUB" ] || { kill "$STUB" 2>/dev/null || true; wait "$STUB" 2>/dev/null || true; }
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 "$HERE/loadgen_stub.py" "$T/port" "$T/counts.json" 2>"$T/stub.log" &
STUB=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "the stub did not start"
PORT=$(cat "$T/port")

# check JSON-PATH-EXPR: every line of jq over {lg: loadgen's result, stub: the stub's counts} is true
check() { # file what expr
  jq -e -n --slurpfile lg "$1" --slurpfile st "$T/counts.json" "\$lg[0] as \$lg | \$st[0] as \$stub | $3" >/dev/null ||
    fail "$2: $(jq -c -n --slurpfile lg "$1" --slurpfile st "$T/counts.json" '{lg: ($lg[0] | del(.lat_us, .post_us, .send_lag_us)), stub: $st[0]}')"
}

# 1. every kind of answer, no cap in the way
"$LOADGEN" --port "$PORT" --token t --numbers 84961000000:14 --mode open --rate 100 --duration 1.5 --warmup 0 \
  --drain 0.5 --label mix >"$T/mix.json" 2>"$T/mix.log" || fail "loadgen: $(cat "$T/mix.log")"
sleep 0.2 # the stub's last count is written after its answer
check "$T/mix.json" "every case answered" \
  '[$stub.overloaded, $stub.unavailable_no_retry_after, $stub.rate_limited, $stub.shutting_down,
    $stub.accepted_3, $stub.accepted_4, $stub.accepted_5, $stub.poll_refused, $stub.poll_deferred]
   | all(. != null and . > 0)'
check "$T/mix.json" "refusals counted by reason, only with Retry-After" \
  '$lg.refused_by_reason == {OVERLOADED: $stub.overloaded, RATE_LIMITED: $stub.rate_limited}
   and $lg.refused == $stub.overloaded + $stub.rate_limited'
check "$T/mix.json" "a refusal without Retry-After is a failure, not a refusal" \
  '$lg.results.UNAVAILABLE_NO_RETRY_AFTER == $stub.unavailable_no_retry_after'
check "$T/mix.json" "503 SHUTTING_DOWN is no overload refusal" '$lg.results.HTTP_503 == $stub.shutting_down'
check "$T/mix.json" "accepted = the 202s; answered = the final answers" \
  '$lg.accepted == $stub.accepted_3 + $stub.accepted_4 + $stub.accepted_5
   and $lg.answered == $stub.final_4 + $stub.final_5 and $lg.results.OK == $lg.answered'
check "$T/mix.json" "accepted without a final answer are lost (drain over)" \
  '$lg.lost == $stub.accepted_3 and $lg.lost_by == {DRAIN_TIMEOUT: $stub.accepted_3} and $lg.drain_timed_out
   and $lg.unanswered == 0'
check "$T/mix.json" "a refused long poll is asked again, and one answered at once with Retry-After" \
  '$lg.poll_refused == $stub.poll_refused and $stub.final_5 == $stub.accepted_5 and $lg.poll_refused_no_retry_after == 0
   and $lg.poll_deferred == $stub.poll_deferred and $stub.final_4 == $stub.accepted_4'
check "$T/mix.json" "latency of accepted and answered only; time to refusal of refusals only" \
  '$lg.lat_us.n <= $lg.answered and $lg.lat_us.n > 0 and $lg.refusal_us.n <= $lg.refused and $lg.refusal_us.n > 0'
check "$T/mix.json" "everything started is accounted for" \
  '$lg.started == $lg.finished and $lg.finished == $lg.ok + $lg.failed + $lg.refused
   and $lg.not_sent == 0 and $lg.started == 150'

# 2. a connection cap that the never-final transactions fill: the load generator
#    is then the limiter, and says so
rm -f "$T/counts.json"
"$LOADGEN" --port "$PORT" --token t --numbers 84961000000:14 --mode open --rate 200 --duration 1 --warmup 0 \
  --drain 0.3 --max-conns 2 --label cap >"$T/cap.json" 2>"$T/cap.log" || fail "loadgen: $(cat "$T/cap.log")"
check "$T/cap.json" "the cap is counted: waits, not sent, never more connections" \
  '$lg.conns_peak <= 2 and $lg.cap_waits > 0 and $lg.not_sent > 0 and $lg.started + $lg.not_sent == 200
   and $lg.lost == 2'
echo "test_loadgen: OK"
