#!/usr/bin/env bash
#
# run_selftest.sh SIMPKI_SIM TEST_SIM OUTDIR - the sim_selftest ctest.
#
# Builds the demo PKI and scenario with mkdemo.sh into OUTDIR, starts
# simpki-sim with every carrier on an ephemeral port (so parallel runs and a
# simulator already running on the default ports do not collide), reads the
# ports from its ready line, runs test_sim, then stops the simulator with
# SIGTERM and requires a clean exit (under ASan that includes no leaks).
set -uo pipefail

JQ=${JQ:-jq}
[ $# -eq 3 ] || { echo "usage: $0 SIMPKI_SIM TEST_SIM OUTDIR" >&2; exit 2; }
SIM=$1
TEST=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$3"
OUT=$(cd "$3" && pwd)

bash "$HERE/mkdemo.sh" "$OUT" || exit 1
"$JQ" '.carriers |= map(.port = 0) | .mssp.port = 0' "$OUT/scenario.json" >"$OUT/scenario-selftest.json" || exit 1

LOG=$OUT/sim.log
"$SIM" --scenario "$OUT/scenario-selftest.json" --log-level debug 2>"$LOG" &
PID=$!
cleanup() {
    if kill -0 "$PID" 2>/dev/null; then
        kill -KILL "$PID" 2>/dev/null
    fi
}
trap cleanup EXIT

for _ in $(seq 1 100); do
    grep -q '^simpki-sim ready' "$LOG" && break
    if ! kill -0 "$PID" 2>/dev/null; then
        echo "simpki-sim exited before it was ready:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.1
done
READY=$(grep -m1 '^simpki-sim ready' "$LOG") || { echo "simpki-sim never got ready" >&2; cat "$LOG" >&2; exit 1; }
# shellcheck disable=SC2086 # the ports are separate words on purpose
"$TEST" "$OUT/scenario-selftest.json" ${READY#simpki-sim ready }
rc=$?

kill -TERM "$PID"
wait "$PID"
simrc=$?
if [ "$rc" -ne 0 ] || [ "$simrc" -ne 0 ]; then
    echo "--- simpki-sim log (exit $simrc) ---" >&2
    tail -n 200 "$LOG" >&2
    [ "$rc" -ne 0 ] || rc=$simrc
fi
exit "$rc"
