#!/usr/bin/env bash
# Build everything and run every test: unit, integration (real redis-server,
# real TCP SMPP to the carrier simulator, real HTTP), interop and fuzz
# replays — once in a normal build and once under AddressSanitizer and
# UndefinedBehaviorSanitizer.  Installs the Debian packages it lacks.
#
#   ./tests/run.sh            both builds
#   ./tests/run.sh --quick    the normal build only
#   SIMPKI_JOBS=N             parallel build and test jobs (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PKGS=(build-essential cmake pkg-config libssl-dev openssl libevent-dev libhiredis-dev libjansson-dev
      libsmpp34-dev libcurl4-openssl-dev libxml2-dev redis-server redis-tools redis-sentinel haproxy curl jq
      chromium poppler-utils fonts-liberation2 fonts-dejavu-core    # the printed-forms test and ui_plan
      python3-zeep                                                  # interop_zeep_mssp (Debian's /usr/bin/python3)
      postgresql libpq-dev   # the evidence archive (tests/integration/lib.sh pg_start)
      prometheus python3-yaml   # e2e_metrics: promtool and the rules (only promtool runs; under systemd the package starts a server)
      clang-format)

need=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
# The interop test drives node-smpp, ui_plan drives Chromium with playwright-core (each
# `npm ci` from its package-lock.json).  Any Node.js with npm will do (a machine
# may have one from elsewhere, which Debian's npm package would conflict with).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "run as root, or install: apt-get install ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

JOBS=${SIMPKI_JOBS:-$(nproc)}
quick=0
[ "${1:-}" = "--quick" ] && quick=1

run_build() { # dir, cmake args...
  local dir=$1; shift
  echo "== configure $dir"
  cmake -S "$ROOT" -B "$ROOT/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  echo "== build $dir"
  cmake --build "$ROOT/$dir" -j "$JOBS"
  echo "== test $dir"
  ctest --test-dir "$ROOT/$dir" --output-on-failure -j "$JOBS" --timeout 600
}

echo "== format"
"$ROOT/tests/format.sh" | tail -n 1

run_build build
if [ $quick -eq 0 ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  run_build build-asan -DSIMPKI_SANITIZE=ON
fi
echo "== all tests passed"
