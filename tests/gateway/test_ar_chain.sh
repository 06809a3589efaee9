#!/usr/bin/env bash
# test_ar_chain.sh TEST_BINARY - a throwaway PostgreSQL (lib.sh pg_start), the archive
# schema loaded with psql, then test_ar_chain against it (AR_TEST_PG).
. "$SRC/tests/integration/lib.sh"
pg_start
for f in "$SRC"/gateway/archive/sql/*.sql; do pg_sql -f "$f" >/dev/null; done
check "test_ar_chain against PostgreSQL's archive_genesis / archive_row_hash" env AR_TEST_PG="$PG_CONNINFO" "$1"
finish
