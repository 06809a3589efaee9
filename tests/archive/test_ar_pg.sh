#!/usr/bin/env bash
# test_ar_pg.sh TEST_AR_PG - run the C test against a throwaway PostgreSQL
# (tests/integration/lib.sh pg_start), which it may stop and start again
# through AR_PG_CTL ("pg_stop fast", "pg_start": same port, same data).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# lib.sh wants the stack's binaries named; this test starts none of them.
SIMPKID=unused SIMPKI_ADMIN=unused SIMPKI_SIM=unused
. "$SRC/tests/integration/lib.sh"

pg_start || { echo "test_ar_pg: PostgreSQL did not start" >&2; exit 1; }
{
  printf 'set -euo pipefail\nT=%q PG_PORT=%q PG_BIN=%q\n' "$T" "$PG_PORT" "$PG_BIN"
  declare -f _pg_as pg_start pg_stop free_port
  printf '"$@"\n'
} >"$T/pgctl.sh"
AR_PG_CONNINFO=$PG_CONNINFO AR_PG_CTL="bash $T/pgctl.sh" ${AR_PG_WRAP:-} "$1"
