#!/usr/bin/env bash
# The archive's operator commands against a real PostgreSQL (docs/archive.md, "Search" and
# "Retention and export"): events loaded through archive_ingest over several months, numbers,
# relying parties and serials; simpki-admin events with each filter (exact rows, table and CSV,
# the number masked in the table); the index a --msisdn search takes (EXPLAIN); retention's SQL
# (what ar_retention runs) drops exactly the expired months; archive-export's file verifies by
# itself; archive-drop.  Months are counted back from today, so the test does not age.
. "$(dirname "$0")/lib.sh"

ADMIN=$SIMPKI_ADMIN
pg_start

# A configuration simpki-admin accepts: it only reads "archive" here.
touch "$T/trust.pem"
jq -n --arg ci "$PG_CONNINFO" --arg ta "$T/trust.pem" \
  '{trust_anchors: $ta, redis: {host: "127.0.0.1", port: 6379},
    api_keys: [{name: "rp-a", sha256: ("ab" * 32)}],
    archive: {conninfo: $ci, retention_years: {sign: 1, cert: 3}}}' >"$T/simpki.json"
admin() { "$ADMIN" -c "$T/simpki.json" "$@"; }

# The schema: ar_db_open applies the migrations on the first command.
check "the first command connects and creates the schema" admin events --limit 1
check "the schema is there" test "$(pg_sql -c "select to_regclass('archive_events') is not null")" = t
check "schema has archive_drop_partition" \
  test "$(pg_sql -c "select count(*) from pg_proc where proname in ('archive_drop_partition','archive_expired')")" = 2

# Month N months ago, YYYY-MM (from the 15th: no month-end overflow).
M() { date -u -d "$(date -u +%Y-%m-15) -$1 months" +%Y-%m; }
M0=$(M 0) M1=$(M 1) M2=$(M 2) M5=$(M 5) M12=$(M 12) M13=$(M 13) M36=$(M 36) M37=$(M 37) M40=$(M 40) M50=$(M 50)

# kind|at|event_id|etype|txn_id|msisdn|rp|cert_serial|result|state|request_id
cat >"$T/events.txt" <<EOF
sign|${M40}-05T08:00:00Z|t-40a|signature|t-40a|84912345678|rp-a|0A1B2C|OK|done|
sign|${M13}-10T09:00:00Z|t-13a|signature|t-13a|84912345678|rp-b|7F00FF|USER_CANCEL|failed|
sign|${M12}-03T10:00:00Z|t-12a|signature|t-12a|84987654321|rp-a|0A1B2C|OK|done|
sign|${M12}-28T23:59:59.500Z|t-12b|signature|t-12b|84912345678|rp-a||EXPIRED|expired|
sign|${M12}-29T00:00:00Z|t-12a.receipt.1|receipt|t-12a||rp-a||||
sign|${M1}-15T12:00:00Z|t-1a|signature|t-1a|84333000111|rp-b|7F00FF|OK|done|
sign|${M1}-16T12:00:00Z|t-1b|signature|t-1b|84333000111|Sở "A", B|||failed|
sign|${M0}-01T00:00:00Z|t-0a|signature|t-0a|84912345678|rp-a|0A1B2C|OK|done|
cert|${M50}-02T10:00:00Z|r-1.1|request||84912345678|||submitted||r-1
cert|${M37}-20T10:00:00Z|r-1.2|request||84912345678||0A1B2C|issued||r-1
cert|${M36}-20T10:00:00Z|r-2.1|request||84987654321|||submitted||r-2
cert|${M2}-07T07:07:07Z|r-2.2|request||84987654321||7F00FF|issued||r-2
EOF
# As the archiver sends them: one archive_ingest call, bodies base64 JSON.
jq -R -s '[split("\n")[] | select(. != "") | split("|") as $f
  | (($f[1] | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000
     + (if ($f[1] | test("\\.")) then ($f[1] | capture("\\.(?<ms>[0-9]+)Z").ms | tonumber) else 0 end)) as $ms
  | {kind: $f[0], at_ms: $ms, event_id: $f[2], etype: $f[3],
     txn_id: (if $f[4] == "" then null else $f[4] end), msisdn: (if $f[5] == "" then null else $f[5] end),
     rp: (if $f[6] == "" then null else $f[6] end), cert_serial: (if $f[7] == "" then null else $f[7] end),
     body: ({event_id: $f[2], kind: $f[0], type: $f[3], at_ms: $ms}
            + (if $f[8] != "" then {result: $f[8]} else {} end)
            + (if $f[9] != "" then {state: $f[9]} else {} end)
            + (if $f[10] != "" then {request_id: $f[10]} else {} end) | tojson | @base64)}]
  | {events: .}' "$T/events.txt" >"$T/batch.json"
check "archive_ingest took the 12 events" test "$(pg_sql -v b="$(cat "$T/batch.json")" <<<"select archive_ingest(:'b')")" = 12

# Filler for the planner: 10,000 signatures of other numbers in month M5, then statistics.
pg_sql >/dev/null <<SQL
select archive_ingest(jsonb_build_object('events', jsonb_agg(jsonb_build_object(
  'kind', 'sign', 'at_ms', (extract(epoch from timestamptz '${M5}-01 00:00Z') * 1000)::bigint + i * 60000,
  'event_id', 'bulk-' || i, 'etype', 'signature', 'txn_id', 'bulk-' || i,
  'msisdn', '849' || lpad((i % 5000)::text, 8, '0'), 'rp', 'bulk-rp-' || (i % 50),
  'cert_serial', upper(to_hex(100000 + i % 3000)),
  'body', encode(convert_to(jsonb_build_object('result', 'OK')::text, 'UTF8'), 'base64')))))
  from generate_series(1, 10000) i;
select archive_ingest(jsonb_build_object('events', jsonb_agg(jsonb_build_object(
  'kind', 'cert', 'at_ms', (extract(epoch from timestamptz '${M5}-01 00:00Z') * 1000)::bigint + i * 60000,
  'event_id', 'rq-' || (i / 3) || '.' || (i % 3), 'etype', 'request', 'msisdn', '849' || lpad((i % 5000)::text, 8, '0'),
  'body', encode(convert_to(jsonb_build_object('state', 'submitted')::text, 'UTF8'), 'base64')))))
  from generate_series(1, 3000) i;
analyze archive_events;
SQL

ids() { admin events --csv "$@" | tail -n +2 | python3 -c '
import csv, sys
print(" ".join(r[3] for r in csv.reader(sys.stdin)))'; }
expect_ids() { # description, expected ids, events args...
  local d=$1 want=$2 got; shift 2
  got=$(ids "$@")
  if [ "$got" = "$want" ]; then ok "$d"; else bad "$d: got [$got], want [$want]"; fi
}

expect_ids "--msisdn (local form)" "r-1.1 t-40a r-1.2 t-13a t-12b t-0a" --msisdn 0912345678
expect_ids "--msisdn +84" "r-2.1 t-12a r-2.2" --msisdn +84987654321
expect_ids "--rp" "t-13a t-1a" --rp rp-b
expect_ids "--rp with a quote and a comma" "t-1b" --rp 'Sở "A", B'
expect_ids "--serial, lower case with colons" "t-40a r-1.2 t-12a t-0a" --serial 0a:1b:2c
expect_ids "--serial upper" "t-13a r-2.2 t-1a" --serial 7F00FF
expect_ids "--txn (signature and receipt)" "t-12a t-12a.receipt.1" --txn t-12a
expect_ids "--kind cert (before the bulk month)" "r-1.1 r-1.2 r-2.1" --kind cert --to "$(M 6)-28"
expect_ids "--kind cert (after it)" "r-2.2" --kind cert --from "$(M 4)-01"
expect_ids "--request" "r-1.1 r-1.2" --request r-1
expect_ids "--request, bulk" "rq-10.0 rq-10.1 rq-10.2" --request rq-10
expect_ids "--request rq-1 is not rq-10's prefix" "rq-1.0 rq-1.1 rq-1.2" --request rq-1
expect_ids "--kind sign --rp" "t-40a t-12a t-12b t-12a.receipt.1 t-0a" --kind sign --rp rp-a
expect_ids "--from/--to days, --to inclusive" "t-12a t-12b" --from "$M12-03" --to "$M12-28" --rp rp-a
expect_ids "--to RFC 3339 is inclusive to the second" "t-12a" --from "$M12-01" --to "${M12}-28T23:59:59Z" --rp rp-a
expect_ids "--from with an offset, exact" "t-12a t-12b" --from "${M12}-03T17:00:00+07:00" --to "$M12-28" --rp rp-a
expect_ids "--from one second later" "t-12b" --from "${M12}-03T17:00:01+07:00" --to "$M12-28" --rp rp-a
expect_ids "filters together" "t-40a t-12b t-0a" --msisdn 84912345678 --kind sign --rp rp-a
expect_ids "nothing matches" "" --msisdn 84912345678 --rp rp-b --kind cert
expect_ids "--limit" "r-1.1 t-40a" --msisdn 84912345678 --limit 2
check "--limit says more match" bash -c "'$ADMIN' -c '$T/simpki.json' events --msisdn 84912345678 --limit 2 2>&1 >/dev/null | grep -q 'more events match'"
expect_ids "default limit is 100" "$(seq -f 'bulk-%g' 1 100 | tr '\n' ' ' | sed 's/ $//')" --kind sign --from "$M5-01" --to "$M5-28"

# CSV: header, every field, the number in full, RFC 4180 quoting, CRLF.
admin events --csv --txn t-1b >"$T/t1b.csv"
printf 'at,kind,etype,event_id,id,rp,msisdn,result,cert_serial,chain,seq\r\n%s\r\n' \
  "${M1}-16T12:00:00.000Z,sign,signature,t-1b,t-1b,\"Sở \"\"A\"\", B\",84333000111,failed,,sign/${M1},2" >"$T/t1b.want"
check "CSV record exactly" cmp "$T/t1b.csv" "$T/t1b.want"
admin events --csv --kind cert --msisdn 84987654321 >"$T/r2.csv"
check "CSV: a request's id from its body" grep -q "^${M36}-20T10:00:00.000Z,cert,request,r-2.1,r-2,,84987654321,submitted,,cert/${M36},1" "$T/r2.csv"

# Table: the number masked, unless --unmask.
admin events --txn t-12a >"$T/table.txt"
cat >"$T/table.want" <<EOF
TIME (UTC)                KIND  TYPE       ID     RP    NUMBER       RESULT  SERIAL
------------------------  ----  ---------  -----  ----  -----------  ------  ------
${M12}-03T10:00:00.000Z  sign  signature  t-12a  rp-a  8498****321  OK      0A1B2C
${M12}-29T00:00:00.000Z  sign  receipt    t-12a  rp-a
EOF
check "table exactly, number masked" diff "$T/table.want" "$T/table.txt"
check "table never shows the number in full" bash -c "! grep -q 84987654321 '$T/table.txt'"
check "--unmask shows it" bash -c "'$ADMIN' -c '$T/simpki.json' events --txn t-12a --unmask | grep -q ' 84987654321 '"

# Refusals of the command line: exit 2, nothing run.
for a in "--kind foo" "--from 2026-02-30" "--to 2026-13-01" "--from 2026-01-05T25:00:00Z" "--from 2026-01-05T10:00:00" \
         "--serial xyz" "--msisdn 123" "--limit 0" "--limit 5x" "--bogus 1" "--rp" "--request r-1 --kind sign"; do
  # shellcheck disable=SC2086
  admin events $a >/dev/null 2>&1 && rc=0 || rc=$?
  check "events $a: exit 2" test "$rc" = 2
done

# The plan: a --msisdn search reads the big month through its partition of archive_events_msisdn
# (a partitioned index: pg_partition_tree), never whole; the same for --rp, --serial, --txn.  The
# small months may be read whole: a one-row table is cheaper so.
idx_of() { # PARENT_INDEX events-args...
  local parent=$1 big=archive_events_${BIG:-sign}_${M5/-/} names n; shift
  admin events --explain "$@" >"$T/plan.txt"
  if grep -q "Seq Scan on $big " "$T/plan.txt"; then cat "$T/plan.txt" >&2; return 1; fi
  names=$(grep -oE "(using|Index Scan on) ${big}_[a-z0-9_]+" "$T/plan.txt" | awk '{print $NF}' | sort -u)
  [ -n "$names" ] || { cat "$T/plan.txt" >&2; return 1; }
  for n in $names; do
    [ "$(pg_sql -c "select count(*) from pg_partition_tree('$parent') where relid = '$n'::regclass")" = 1 ] \
      || { cat "$T/plan.txt" >&2; return 1; }
  done
}
check "EXPLAIN --msisdn uses archive_events_msisdn" idx_of archive_events_msisdn --msisdn 84900000042
check "EXPLAIN --msisdn --from --to uses it too" idx_of archive_events_msisdn --msisdn 84900000042 --from "$M5-01" --to "$M5-02"
check "EXPLAIN --rp uses archive_events_rp" idx_of archive_events_rp --rp bulk-rp-7
check "EXPLAIN --serial uses archive_events_serial" idx_of archive_events_serial --serial 186A5
check "EXPLAIN --txn uses archive_events_txn" idx_of archive_events_txn --txn bulk-77
# requests: the bulk cert month
BIG=cert check "EXPLAIN --request uses archive_events_request" idx_of archive_events_request --request rq-77
check "EXPLAIN --kind cert prunes the sign partitions" bash -c "'$ADMIN' -c '$T/simpki.json' events --explain \
  --kind cert --msisdn 84900000042 | { ! grep -q archive_events_sign_; }"

# ---- retention: what ar_retention runs, kind by kind (sign 1 year, cert 3 years).
pg_sql -c "insert into archive_anchors (chain, seq, head, tst, gen_time)
           select chain, seq, head, '\\x3000'::bytea, now() from archive_heads where chain in ('sign/$M13', 'sign/$M12')"
pg_sql -c "select chain, seq, encode(head, 'hex') from archive_heads order by chain" >"$T/heads.before"
check "expired sign months (1 year)" test "$(pg_sql -c "select string_agg(m, ' ') from archive_expired('sign', 1) m")" = "$M40 $M13"
check "expired cert months (3 years)" test "$(pg_sql -c "select string_agg(m, ' ') from archive_expired('cert', 3) m")" = "$M50 $M37"
check "0 years: nothing expires" test "$(pg_sql -c "select count(*) from archive_expired('sign', 0)")" = 0
for k in sign:1 cert:3; do
  for m in $(pg_sql -c "select archive_expired('${k%:*}', ${k#*:})"); do
    check "retention drops ${k%:*}/$m" test "$(pg_sql -c "select archive_drop_partition('${k%:*}', '$m', 'retention')")" = t
  done
done
parts() { pg_sql -c "select string_agg(c.relname, ' ' order by c.relname) from pg_inherits i join pg_class c on c.oid = i.inhrelid
                     where i.inhparent in ('archive_events_sign'::regclass, 'archive_events_cert'::regclass)"; }
want_parts="archive_events_cert_${M2/-/} archive_events_cert_${M5/-/} archive_events_cert_${M36/-/} archive_events_sign_${M0/-/} archive_events_sign_${M12/-/} archive_events_sign_${M1/-/} archive_events_sign_${M5/-/}"
want_parts=$(tr ' ' '\n' <<<"$want_parts" | sort | tr '\n' ' ' | sed 's/ $//')
check "exactly the expired partitions are gone" test "$(parts)" = "$want_parts"
pg_sql -c "select chain, last_seq, encode(head, 'hex') from archive_dropped where how = 'retention' order by chain" >"$T/dropped"
grep -E "^(sign/($M40|$M13)|cert/($M50|$M37))\|" "$T/heads.before" | sort >"$T/dropped.want"
check "archive_dropped holds each dropped chain's head" diff "$T/dropped.want" "$T/dropped"
check "their heads and anchors are gone, the others stay" test \
  "$(pg_sql -c "select (select count(*) from archive_heads where chain in ('sign/$M40','sign/$M13','cert/$M50','cert/$M37'))
                   || ' ' || (select string_agg(chain, ' ') from archive_anchors)")" = "0 sign/$M12"
expect_ids "search after retention" "t-12b t-0a" --msisdn 0912345678 --kind sign
check "retention again: nothing more" test "$(pg_sql -c "select count(*) from archive_expired('sign', 1)")" = 0
check "a month not over is refused" bash -c "psql -h '$T/pgsock' -p $PG_PORT -U simpki -d simpki -qAtc \
  \"select archive_drop_partition('sign', '$M0', 'retention')\" 2>&1 | grep -q 'not over'"
# Another instance holding the lock: the drop steps aside (false), nothing dropped.
psql -h "$T/pgsock" -p "$PG_PORT" -U simpki -d simpki -qAt -c "begin" \
  -c "select pg_advisory_xact_lock(hashtext('simpki-archive-drop'))" -c "select pg_sleep(3)" -c "commit" >/dev/null &
LOCKER=$!
sleep 1
check "lock taken elsewhere: no drop" test "$(pg_sql -c "select archive_drop_partition('sign', '$M1', 'retention')")" = f
wait "$LOCKER"
check "... and the partition is still there" test "$(pg_sql -c "select to_regclass('archive_events_sign_${M1/-/}') is not null")" = t

# ---- export: the file verifies by itself (chain from genesis to the head, anchors on it).
admin archive-export --kind sign --month "$M12" --out "$T/sign-$M12.csv" >"$T/export.out"
check "export says what it wrote" grep -q "exported sign/$M12: 6 lines" "$T/export.out"
cat >"$T/verify_export.py" <<'PY'
import base64, csv, hashlib, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ev = [r for r in rows if r["record"] == "event"]
head = [r for r in rows if r["record"] == "head"]
anchors = [r for r in rows if r["record"] == "anchor"]
chain = ev[0]["chain"]
prev = hashlib.sha256(b"simpki-archive:" + chain.encode()).digest()
by_seq = {}
for i, r in enumerate(ev, 1):
    assert int(r["seq"]) == i, ("seq", r["seq"], i)
    assert bytes.fromhex(r["prev_hash"]) == prev, ("prev", i)
    h = hashlib.sha256(prev + i.to_bytes(8, "big") + hashlib.sha256(base64.b64decode(r["body"])).digest()).digest()
    assert bytes.fromhex(r["row_hash"]) == h, ("row", i)
    by_seq[i] = h
    prev = h
assert len(head) == 1 and int(head[0]["seq"]) == len(ev) and bytes.fromhex(head[0]["row_hash"]) == prev, "head"
for a in anchors:
    assert by_seq[int(a["seq"])] == bytes.fromhex(a["row_hash"]), "anchor"
    base64.b64decode(a["tst"], validate=True)
print(len(ev), len(anchors), prev.hex())
PY
check "export verifies: 3 events, 1 anchor, the head" bash -c "python3 '$T/verify_export.py' '$T/sign-$M12.csv' | grep -q '^3 1 '"
# Break the file: the check must notice.
sed '2s/,t-12a,/,t-12x,/; 2s/,[A-Za-z0-9+\/=]\{20,\},/,eyJ4IjoxfQ==,/' "$T/sign-$M12.csv" >"$T/broken.csv"
check "a changed body fails the check" bash -c "! python3 '$T/verify_export.py' '$T/broken.csv' 2>/dev/null"
admin archive-export --kind sign --month "$M12" --out "$T/sign-$M12.csv" >/dev/null 2>&1 && rc=0 || rc=$?
check "export never overwrites a file" test "$rc" = 1
check "export to stdout is the same" bash -c "'$ADMIN' -c '$T/simpki.json' archive-export --kind sign --month '$M12' \
  | cmp - '$T/sign-$M12.csv'"
admin archive-export --kind sign --month "$M40" >/dev/null 2>&1 && rc=0 || rc=$?
check "export of a dropped month: exit 1" test "$rc" = 1
admin archive-export --kind sign --month 2026-13 >/dev/null 2>&1 && rc=0 || rc=$?
check "export of a bad month: exit 2" test "$rc" = 2

# ---- drop: refused without --yes; then the chain's head is kept and matches the export's.
admin archive-drop --kind sign --month "$M12" >/dev/null 2>&1 && rc=0 || rc=$?
check "drop without --yes: exit 2" test "$rc" = 2
check "... nothing dropped" test "$(pg_sql -c "select to_regclass('archive_events_sign_${M12/-/}') is not null")" = t
export_head=$(python3 -c 'import csv,sys; print([r for r in csv.DictReader(open(sys.argv[1])) if r["record"]=="head"][0]["row_hash"])' "$T/sign-$M12.csv")
admin archive-drop --kind sign --month "$M12" --yes >"$T/drop.out"
check "drop prints the head" grep -q "dropped sign/$M12: last seq 3, head $export_head" "$T/drop.out"
check "archive_dropped: how exported, the export's head" test \
  "$(pg_sql -c "select how || ' ' || last_seq || ' ' || encode(head, 'hex') from archive_dropped where chain = 'sign/$M12'")" = "exported 3 $export_head"
check "partition, head, anchors gone" test "$(pg_sql -c "select (to_regclass('archive_events_sign_${M12/-/}') is null)::text
  || (select count(*) from archive_heads where chain = 'sign/$M12') || (select count(*) from archive_anchors)")" = true00
admin archive-drop --kind sign --month "$M12" --yes >/dev/null 2>&1 && rc=0 || rc=$?
check "drop again: exit 1" test "$rc" = 1
admin archive-drop --kind sign --month "$M0" --yes >"$T/drop0.out" 2>&1 && rc=0 || rc=$?
check "drop of the running month: refused" bash -c "[ $rc = 1 ] && grep -q 'not over' '$T/drop0.out'"
expect_ids "search after the drop" "t-0a" --msisdn 0912345678 --kind sign

finish
