#!/usr/bin/env bash
# test_ar_anchor.sh TEST_BINARY - a throwaway PostgreSQL with the archive schema and a real
# RFC 3161 TSA (mini_tsa.sh: openssl ts behind httpd.js), then test_ar_anchor against both.
. "$SRC/tests/integration/lib.sh"
. "$SRC/tests/integration/mini_tsa.sh"
pg_start
for f in "$SRC"/gateway/archive/sql/*.sql; do pg_sql -f "$f" >/dev/null; done
mini_tsa_start
check "test_ar_anchor: two instances, a real TSA" \
  env AR_TEST_PG="$PG_CONNINFO" TSA_URL="$TSA_URL" TSA_TRUST="$TSA_TRUST" TSA_SERIAL="$T/mtsa/tsaserial" "$1"
finish
