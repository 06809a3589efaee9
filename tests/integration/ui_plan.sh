#!/usr/bin/env bash
# ui_plan.sh - the merger review page (GET /ui/plans) in a real browser:
# Debian's Chromium, headless, driven by playwright-core (tests/integration/ui,
# pinned in its package-lock.json, installed with `npm ci` when missing; it
# never downloads a browser).  ui/ui_plan.mjs enters the key, opens the plan,
# filters by unit and by action, overrides a "decide" row (after a 409
# VERSION_CONFLICT), is refused approval while rows are pending (409
# DECISIONS_PENDING), approves, opens a unit's bundle and a CSV export, and
# reads every change back from the API with curl.
#
# Against a running daemon (e.g. after tests/integration/lib.sh's stack_up
# and a plan built with POST /v1/plans):
#   UI_BASE=http://127.0.0.1:PORT UI_KEY=<operator key> UI_PLAN=<plan id in review> ui_plan.sh
# The plan needs at least two rows whose action is "decide"; the test changes it
# (overrides, approval).  e2e_ui_plan.sh (the ctest ui_plan) starts the real stack,
# builds such a plan and runs this.
#
# UI_SHOTS=DIR keeps the screenshots (plan-list, plan-review-filtered,
# plan-override, plan-approved .png, 1280 wide); docs/merge/ holds copies.
# Needs chromium, curl, node and npm (tests/run.sh installs them); a missing
# one is a failure, not a skip.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Debian's chromium, the browser tests/run.sh installs (CHROMIUM=... for another build).
chrome=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$chrome" ] || fail "no chromium on PATH: apt-get install chromium"
for t in node npm curl; do
  command -v "$t" >/dev/null 2>&1 || fail "$t is not installed (tests/run.sh installs it)"
done

work=$(mktemp -d /tmp/simpki-ui.XXXXXX)
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
export HOME=$work/home # Chromium writes caches and crash dumps under HOME
mkdir -p "$HOME"

ui=$here/ui
if [ ! -d "$ui/node_modules/playwright-core" ]; then
  (
    flock 9
    if [ ! -d "$ui/node_modules/playwright-core" ]; then
      cd "$ui" && npm ci --no-audit --no-fund >&2
    fi
  ) 9>"${TMPDIR:-/tmp}/simpki-ui-npm.lock" || fail "npm ci failed in $ui"
fi

: "${UI_BASE:?set UI_BASE}" "${UI_KEY:?set UI_KEY}" "${UI_PLAN:?set UI_PLAN}"
[ -n "${UI_SHOTS:-}" ] && mkdir -p "$UI_SHOTS"

UI_BASE=$UI_BASE UI_KEY=$UI_KEY UI_PLAN=$UI_PLAN CHROMIUM=$chrome \
  timeout 240 node "$ui/ui_plan.mjs"
