#!/usr/bin/env bash
# test_ar_retention.sh TEST_AR_RETENTION - run the C test against a throwaway PostgreSQL
# (tests/integration/lib.sh pg_start).
SRC=${SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
# lib.sh wants the stack's binaries named; this test starts none of them.
SIMPKID=unused SIMPKI_ADMIN=unused SIMPKI_SIM=unused
. "$SRC/tests/integration/lib.sh"

pg_start || { echo "test_ar_retention: PostgreSQL did not start" >&2; exit 1; }
SRC=$SRC AR_RET_CONNINFO=$PG_CONNINFO ${AR_RET_WRAP:-} "$1"
