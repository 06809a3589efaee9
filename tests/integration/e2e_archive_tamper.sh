#!/usr/bin/env bash
# simpki-admin verify-archive against a tampered archive (docs/archive.md): a throwaway
# PostgreSQL with the archive schema, a few hundred events in four chains written by
# archive_ingest, anchors made by a real `openssl ts` TSA (mini_tsa.sh); then each kind of
# tampering on a fresh copy of that database (CREATE DATABASE ... TEMPLATE) must be found and
# its row named, and the untouched archive must pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mini_tsa.sh"

pg_start
mini_tsa_pki

# The configuration simpki-admin reads: the archive section and the TSA's roots.
cfg_for() { # DBNAME -> $T/DBNAME.json
  jq -n --arg ci "host=$T/pgsock port=$PG_PORT user=simpki dbname=$1" --arg t "$TSA_TRUST" '{
    trust_anchors: $t, tsa_trust: $t, tsa_url: "http://127.0.0.1:9/tsa",
    redis: {host: "127.0.0.1", port: 6379},
    api_keys: [{name: "eoffice-test", sha256: ("0" * 64)}],
    archive: {conninfo: $ci, anchor_interval_s: 600}}' >"$T/$1.json"
}
cfg_for simpki

# The schema: simpki-admin applies it when its ar_db_open does (helper pg's); else psql.
"$SIMPKI_ADMIN" -c "$T/simpki.json" verify-archive >"$T/empty.out" 2>&1 || true
if [ "$(pg_sql -c "select to_regclass('archive_events') is not null")" != t ]; then
  for f in "$SRC"/gateway/archive/sql/*.sql; do pg_sql -f "$f" >/dev/null; done
fi

# The certificate the signature events name.
CERT_HEX=$(od -An -tx1 -v "$T/mtsa/subs/84960000001.crt.der" | tr -d ' \n')

# 120 signatures + 60 receipts in December, 50 signatures in November, 40 certificate requests:
# chains sign/2026-12 (180 rows), sign/2026-11 (50), cert/2026-12 (40).  Bodies are canonical-ish
# JSON (jsonb's text), the search columns their copies.
pg_sql -v der="$CERT_HEX" >/dev/null <<'SQL'
CREATE TEMP TABLE ev AS
  SELECT 'sign' AS kind, 1796083200000 + i * 60000 AS ms, 'txn' || lpad(i::text, 4, '0') AS id, 'signature' AS etype,
         'txn' || lpad(i::text, 4, '0') AS txn, '8496' || lpad((1000000 + i)::text, 7, '0') AS msisdn,
         'eoffice' AS rp, '1A2B' || i AS serial, true AS cert
    FROM generate_series(1, 120) AS i
  UNION ALL
  SELECT 'sign', 1796083200000 + i * 60000 + 500, 'txn' || lpad(i::text, 4, '0') || '.receipt.1', 'receipt',
         'txn' || lpad(i::text, 4, '0'), NULL, 'eoffice', NULL, false
    FROM generate_series(1, 60) AS i
  UNION ALL
  SELECT 'sign', 1793491200000 + i * 60000, 'nov' || i, 'signature', 'nov' || i,
         '8491' || lpad((2000000 + i)::text, 7, '0'), 'hcm', '77' || i, true
    FROM generate_series(1, 50) AS i
  UNION ALL
  SELECT 'cert', 1796083200000 + i * 3600000, 'req' || i || '.1', 'request', NULL,
         '8498' || lpad((3000000 + i)::text, 7, '0'), NULL, CASE WHEN i % 2 = 0 THEN 'C0DE' || i END, false
    FROM generate_series(1, 40) AS i;
SELECT archive_ingest(jsonb_build_object(
  'certs', jsonb_build_array(jsonb_build_object('sha256', encode(sha256(decode(:'der', 'hex')), 'hex'),
                                                'der', encode(decode(:'der', 'hex'), 'base64'))),
  'events', (SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
      'kind', kind, 'at_ms', ms, 'event_id', id, 'etype', etype,
      'body', encode(convert_to(jsonb_strip_nulls(jsonb_build_object(
          'event_id', id, 'kind', kind, 'type', etype, 'at_ms', ms,
          'at', to_char((timestamptz 'epoch' + ms * interval '1 ms') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'txn_id', txn, 'msisdn', msisdn, 'rp', rp, 'cert_serial', serial,
          'cert_sha256', CASE WHEN cert THEN encode(sha256(decode(:'der', 'hex')), 'hex') END,
          'display_text', 'Ký văn bản số ' || id))::text, 'UTF8'), 'base64'),
      'txn_id', txn, 'msisdn', msisdn, 'rp', rp, 'cert_serial', serial,
      'cert_sha256', CASE WHEN cert THEN encode(sha256(decode(:'der', 'hex')), 'hex') END)))
    FROM ev)));
SQL
check "270 events in three chains" test "$(pg_sql -c 'select count(*) from archive_events')" = 270
check "chains and heads" test "$(pg_sql -c "select string_agg(chain || '=' || seq, ' ' order by chain) from archive_heads")" \
  = "cert/2026-12=40 sign/2026-11=50 sign/2026-12=180"

# Anchors as ar_anchor makes them: a token over the 32-octet head (messageImprint = SHA-256(head)).
anchor() { # CHAIN SEQ
  local h
  h=$(pg_sql -c "select encode(row_hash, 'hex') from archive_events where chain = '$1' and seq = $2")
  printf %s "$h" | xxd -r -p >"$T/head.bin"
  mini_tsa_token "$T/head.bin" "$T/tok.der" || return 1
  pg_sql -c "insert into archive_anchors (chain, seq, head, tst, gen_time)
             values ('$1', $2, decode('$h', 'hex'), decode('$(od -An -tx1 -v "$T/tok.der" | tr -d ' \n')', 'hex'),
                     to_timestamp($(openssl ts -reply -in "$T/tok.der" -token_in -text 2>/dev/null |
                       sed -n 's/^Time stamp: //p' | xargs -I{} date -u -d {} +%s)))"
}
check "anchor sign/2026-12 at 100" anchor sign/2026-12 100
check "anchor sign/2026-12 at its head 180" anchor sign/2026-12 180
check "anchor sign/2026-11 at its head 50" anchor sign/2026-11 50

# verify DB [ARGS...]: output in $T/out, exit status in $RC.
verify() {
  local db=$1; shift
  cfg_for "$db"
  RC=0
  "$SIMPKI_ADMIN" -c "$T/$db.json" verify-archive "$@" >"$T/out" 2>"$T/err" || RC=$?
}
has() { grep -qF -- "$1" "$T/out" || { echo "--- expected: $1"; cat "$T/out" "$T/err"; return 1; }; }

verify simpki
check "clean: exit 0" test "$RC" = 0
check "clean: sign/2026-12" has "chain sign/2026-12: 180 rows, 2 anchors, ok"
check "clean: sign/2026-11" has "chain sign/2026-11: 50 rows, 1 anchors, ok"
check "clean: cert/2026-12" has "chain cert/2026-12: 40 rows, 0 anchors, ok"
check "clean: certificates" has "certificates: 1, ok"
check "clean: nothing else" test "$(wc -l <"$T/out")" = 4
verify simpki --json
check "clean --json: ok" test "$(jq -c '[.ok, (.chains | length), .certificates.ok]' "$T/out")" = "[true,3,true]"
verify simpki --chain sign/2026-11
check "--chain: that chain only" test "$(cat "$T/out")" = "chain sign/2026-11: 50 rows, 1 anchors, ok"
verify simpki --chain sign/2031-01
check "--chain of no chain: exit 1" test "$RC" = 1
check "--chain of no chain: said" has "chain sign/2031-01: BROKEN: no such chain"
verify simpki --bogus
check "usage error: exit 2" test "$RC" = 2

# Each case on a fresh copy of the clean archive.
N=0
tampered() { # SQL -> verify's output for a copy with SQL applied
  N=$((N + 1))
  pg_sql -d postgres -c "create database case$N template simpki" >/dev/null
  psql -h "$T/pgsock" -p "$PG_PORT" -U simpki -d "case$N" -v ON_ERROR_STOP=1 -qAt -c "$1" >/dev/null
  verify "case$N"
  sed 's/^/    | /' "$T/out" # what an operator would read
}
ev() { pg_sql -c "select event_id from archive_events where chain = '$1' and seq = $2"; }

tampered "update archive_events set body = overlay(body placing '\\x58'::bytea from 40 for 1)
          where chain = 'sign/2026-12' and seq = 57"
check "one byte of a body: exit 1" test "$RC" = 1
check "one byte of a body: row named" \
  has "chain sign/2026-12: BROKEN at seq 57 (event $(ev sign/2026-12 57)): row_hash does not match its contents"
check "one byte of a body: the other chains still ok" has "chain sign/2026-11: 50 rows, 1 anchors, ok"

tampered "update archive_events set msisdn = '84961234567' where chain = 'cert/2026-12' and seq = 7"
check "a search column (msisdn): row named" \
  has "chain cert/2026-12: BROKEN at seq 7 (event $(ev cert/2026-12 7)): column msisdn does not match the body"
check "a search column: exit 1" test "$RC" = 1

tampered "update archive_events set cert_serial = 'FFFF' where chain = 'sign/2026-11' and seq = 3"
check "a search column (cert_serial): row named" \
  has "chain sign/2026-11: BROKEN at seq 3 (event $(ev sign/2026-11 3)): column cert_serial does not match the body"

tampered "delete from archive_events where chain = 'sign/2026-12' and seq = 90"
check "a middle row deleted: named" has "chain sign/2026-12: BROKEN at seq 90 (event $(ev sign/2026-12 91)): seq 90 missing"

tampered "delete from archive_events where chain = 'cert/2026-12' and seq = 40"
check "the last row deleted: the head says so" \
  has "chain cert/2026-12: BROKEN at seq 40: head says seq 40 but the last row is 39 (rows removed at the end)"

tampered "update archive_events set seq = case seq when 20 then 30 else 20 end
          where chain = 'sign/2026-12' and seq in (20, 30)"
check "two rows swapped: the first named" \
  has "chain sign/2026-12: BROKEN at seq 20 (event $(ev sign/2026-12 30)): prev_hash is not row 19's hash (rows reordered or removed)"

tampered "update archive_anchors set tst = overlay(tst placing '\\x00'::bytea from length(tst) - 10 for 1)
          where chain = 'sign/2026-11'"
check "an anchor's token changed: named" \
  has "chain sign/2026-11: BROKEN at seq 50: anchor at seq 50: timestamp token does not verify"

# A forger who rewrites the chain after a change (every hash and the head recomputed): the
# rows agree with each other, the anchors do not.
tampered "do \$\$ declare r record; p bytea; begin
  update archive_events set body = convert_to(replace(convert_from(body, 'UTF8'), '\"eoffice\"', '\"forged\"'), 'UTF8'),
         rp = 'forged' where chain = 'sign/2026-12' and seq = 57;
  select row_hash into p from archive_events where chain = 'sign/2026-12' and seq = 56;
  for r in select kind, at, event_id, seq, body from archive_events where chain = 'sign/2026-12' and seq >= 57 order by seq loop
    update archive_events set prev_hash = p, row_hash = archive_row_hash(p, r.seq, r.body)
     where kind = r.kind and at = r.at and event_id = r.event_id returning row_hash into p;
  end loop;
  update archive_heads set head = p where chain = 'sign/2026-12';
end \$\$"
check "a rewritten chain: the anchor at 100 no longer matches" \
  has "chain sign/2026-12: BROKEN at seq 100 (event $(ev sign/2026-12 100)): anchor at seq 100: its head is not the chain's hash at seq 100"

tampered "update archive_certs set der = der || '\\x00'::bytea"
check "a certificate's DER changed: said" has "certificates: BROKEN: certificate"
check "a certificate's DER changed: exit 1" test "$RC" = 1

tampered "delete from archive_heads where chain = 'sign/2026-11'"
check "a head removed: said" has "chain sign/2026-11: BROKEN: no head in archive_heads"

tampered "update archive_events set at = at + interval '1 hour' where chain = 'cert/2026-12' and seq = 12"
check "a row's time moved: named" \
  has "chain cert/2026-12: BROKEN at seq 12 (event $(ev cert/2026-12 12)): column at does not match the body"

verify case1 --json
check "--json names the broken row" \
  test "$(jq -c '[.ok, (.chains[] | select(.ok == false) | .chain, .seq, .error)]' "$T/out")" \
  = '[false,"sign/2026-12",57,"row_hash does not match its contents"]'

finish
