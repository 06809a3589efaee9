#!/usr/bin/env bash
# container_check.sh - what can be checked of deploy/container/ without a container engine:
#   1. every shared library simpkid and simpki-admin load directly (NEEDED, resolved by ldd)
#      comes from a Debian package that the Containerfile's runtime stage installs (dpkg -S);
#   2. the runtime stage runs as a non-root user, copies exactly the two binaries, exposes the
#      API port, has a HEALTHCHECK on /healthz and STOPSIGNAL SIGTERM; the build stage is Release;
#   3. compose.yaml parses as YAML and names the gateway, a Redis master and replica and three
#      sentinels; the gateway's simpki.json is JSON that names the sentinels and "simpki".
# The image itself is built only where an engine answers (`docker info`): not by this test.
#   container_check.sh SRC SIMPKID SIMPKI_ADMIN
set -euo pipefail
SRC=$1 SIMPKID=$2 ADMIN=$3
D=$SRC/deploy/container
CF=$D/Containerfile
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL $*" >&2; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

# The runtime stage: from its FROM to the end; its apt-get install arguments, one a line.
runtime=$(awk '/^FROM .* AS runtime/ {on = 1} on && !/^ *#/' "$CF")
pkgs=$(sed -n '/apt-get install/,/&&[^\\]*$/p' <<<"$runtime" | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
  grep -vE '^(apt-get|install|rm|groupadd|useradd)$' | sort -u)
check "the Containerfile has a runtime stage that installs packages" test -n "$pkgs"

for bin in "$SIMPKID" "$ADMIN"; do
  for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    # The sanitizer runtimes of tests/run.sh's ASan/UBSan tree: the image builds Release without them.
    case $lib in libasan.so.* | libubsan.so.* | liblsan.so.* | libtsan.so.*) continue ;; esac
    path=$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3; exit}')
    pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(readlink -f "$path")" 2>/dev/null || true)
    pkg=${pkg%%:*}
    if [ -z "$pkg" ]; then bad "$(basename "$bin"): $lib ($path) belongs to no Debian package"; continue; fi
    check "$(basename "$bin"): $lib is in $pkg, installed by the runtime stage" grep -qx "$pkg" <<<"$pkgs"
  done
done

has() { grep -Eq "$1" <<<"$runtime"; }
non_root() { grep -E '^USER ' <<<"$runtime" | grep -vqE '^USER (root|0)(:|$)'; }
no_compiler() { ! grep -Eq 'build-essential|-dev( |$)|cmake' <<<"$runtime"; }
health_asks() { grep -A1 '^HEALTHCHECK' <<<"$runtime" | grep -q '/healthz'; }
check "build stage: Debian 12, cmake Release" grep -Eq '^FROM debian:12(-slim)? AS build' "$CF"
check "... Release build" grep -q 'CMAKE_BUILD_TYPE=Release' "$CF"
check "runtime stage: Debian 12" has '^FROM debian:12(-slim)? AS runtime'
check "runtime stage: a non-root USER" non_root
check "runtime stage: simpkid copied from the build" has '^COPY --from=build .*/simpkid /usr/sbin/simpkid$'
check "runtime stage: simpki-admin copied from the build" has '^COPY --from=build .*/simpki-admin /usr/bin/simpki-admin$'
check "runtime stage: no compiler" no_compiler
check "EXPOSE 8080 (simpki.json's listen_port)" has '^EXPOSE 8080$'
check "HEALTHCHECK on /healthz" health_asks
check "STOPSIGNAL SIGTERM" has '^STOPSIGNAL SIGTERM$'
check "config at /etc/simpki/simpki.json" has '"/etc/simpki/simpki.json"'

services=$(/usr/bin/python3 - "$D/compose.yaml" <<'PY'
import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
for name, s in c["services"].items():
    cmd = s.get("command") or []
    cmd = " ".join(cmd) if isinstance(cmd, list) else cmd
    kind = "postgres" if str(s.get("image", "")).startswith("postgres:") else \
           "sentinel" if "redis-sentinel" in cmd else "replica" if "--replicaof" in cmd else \
           "redis" if "redis-server" in cmd else "gateway" if "simpki" in str(s.get("image", "")) else "other"
    print(name, kind)
PY
) || services=
check "compose.yaml parses as YAML" test -n "$services"
count() { grep -c " $1\$" <<<"$services" || true; }
check "compose.yaml: one gateway" test "$(count gateway)" = 1
check "compose.yaml: a Redis master" test "$(count redis)" = 1
check "compose.yaml: a replica" test "$(count replica)" -ge 1
check "compose.yaml: three sentinels" test "$(count sentinel)" = 3
check "compose.yaml: PostgreSQL for the archive" test "$(count postgres)" = 1
check "compose.yaml: the gateway mounts simpki.json at /etc/simpki/simpki.json" \
  grep -q '\./simpki.json:/etc/simpki/simpki.json:ro' "$D/compose.yaml"
check "simpki.json: the sentinels and master simpki" \
  jq -e '(.redis.sentinels | length) == 3 and .redis.master_name == "simpki" and .listen_host == "0.0.0.0"' "$D/simpki.json"
check "simpki.json: the archive on the postgres service" \
  jq -e '(.archive.conninfo | test("host=postgres")) and (.archive.password_file | length > 0)' "$D/simpki.json"
check "sentinel.conf monitors simpki" grep -q '^sentinel monitor simpki ' "$D/sentinel.conf"

echo "container_check: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
