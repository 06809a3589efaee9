#!/usr/bin/env bash
# The evidence archive, first steps (docs/archive.md): with an "archive" section the daemon
# moves every finished signature, receipt and certificate request from the Redis streams into a
# throwaway PostgreSQL.  Checked: each signature's row and its body against the transaction the
# API returns (digest, verification code, display text, result, certificate by hash in
# archive_certs, serial), the columns against the body, the chain's hashes, the streams
# drained, nothing twice; a receipt and a request's events; a malformed entry archived whole
# without blocking the stream; the database stopped: signing goes on, the backlog waits and
# drains when it returns; the metrics.
. "$(dirname "$0")/lib.sh"

pg_start || { bad "PostgreSQL did not start"; finish; }
export ARCHIVE=1
stack_up || { bad "the stack did not start"; finish; }

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }
metric() { # sample name (with labels) -> value
  curl -sf "http://127.0.0.1:$API_PORT/metrics" | awk -v m="simpki_$1" '$1 == m {print $2}'
}
count() { pg_sql -c "$1"; }
# wait_for SECONDS is VALUE COMMAND...: COMMAND's output becomes VALUE (each try runs it anew).
is() { test "$("${@:2}")" = "$1"; }
at_least() { local v; v=$("${@:2}"); test "${v:-0}" -ge "$1"; }
# Entries left in every event stream.
backlog() {
  local n=0 k
  for k in $(rcli --scan --pattern 'spk:*:ev'); do n=$((n + $(rcli xlen "$k"))); done
  echo "$n"
}
body_of() { # txn id -> its signature event's body (the exact octets hashed)
  pg_sql -c "select convert_from(body, 'UTF8') from archive_events where txn_id = '$1' and etype = 'signature'"
}

check "the daemon logs the archive on, without a password" \
  bash -c "grep -q 'archive: on, PostgreSQL' '$T/gateway.log' && ! grep -qi 'password=' '$T/gateway.log'"

# ---- three signatures ------------------------------------------------------------------
TEXT='Ký Quyết định 123/QĐ-UBND "khẩn"'
ids=() vcs=()
for m in 84960000001 84960000002 84910000001; do
  j=$(sign "$m" "$DEFAULT_DIGEST" SHA-256 "$TEXT")
  [ "$(code)" = 202 ] || bad "sign $m: $(code) $j"
  ids+=("$(jq -r .id <<<"$j")")
  vcs+=("$(jq -r .verification_code <<<"$j")")
done
for id in "${ids[@]}"; do
  f=$(wait_result "$id" 30)
  [ "$(jq -r .result <<<"$f")" = OK ] || bad "$id did not complete: $f"
done
final=$(api GET "/v1/signatures/${ids[0]}")
in_list=$(printf "'%s'," "${ids[@]}"); in_list=${in_list%,}
archived() { test "$(count "select count(*) from archive_events where etype = 'signature' and txn_id in ($in_list)")" = 3; }
check "the three signatures are archived" wait_for 30 archived

b=$(body_of "${ids[0]}")
bj() { jq -r "$1" <<<"$b"; }
check "body: event_id, kind, type, txn_id" \
  test "$(bj '"\(.event_id) \(.kind) \(.type) \(.txn_id)"')" = "${ids[0]} sign signature ${ids[0]}"
check "body: the digest and its algorithm as sent" test "$(bj '"\(.digest) \(.digest_alg)"')" = "$DEFAULT_DIGEST SHA-256"
check "body: the verification code shown" test "$(bj .vc)" = "${vcs[0]}"
check "body: the display text, exactly" test "$(bj .display_text)" = "$TEXT"
check "body: completed, result OK, ETSI 502, op sign, format raw" \
  test "$(bj '"\(.state) \(.result) \(.etsi_status) \(.op) \(.format)"')" = "completed OK 502 sign raw"
check "body: the number in full and the relying party" test "$(bj '"\(.msisdn) \(.rp)"')" = "84960000001 eoffice-test"
check "body: the signature the API returned" test "$(bj .signature)" = "$(jq -r .signature <<<"$final")"
check "body: the OCSP response the API returned" test "$(bj .ocsp)" = "$(jq -r .ocsp_response <<<"$final")"
t=$(jq '[.times | (.created, .sent, .finished, .deadline) | test("^20[0-9-]{8}T[0-9:]{8}\\.[0-9]{3}Z$")] | all' <<<"$b")
check "body: times created, sent, finished, deadline (RFC 3339 UTC, ms)" test "$t" = true
check "body: at_ms is at" test "$(bj '.at_ms')" = "$(date -u -d "$(bj .at)" +%s%3N)"
# transport and link: in the body when the engine hands them to q_txn_finish (q_finish.transport, .link).
check "body: keys sorted, compact (canonical)" test "$(jq -cS . <<<"$b")" = "$b"
jq -r .certificate <<<"$final" | base64 -d >"$T/cert.der"
sha=$(sha256sum "$T/cert.der" | cut -d' ' -f1)
serial=$(openssl x509 -inform DER -in "$T/cert.der" -noout -serial | cut -d= -f2)
check "body: the certificate by SHA-256 and serial" test "$(bj '"\(.cert_sha256) \(.cert_serial)"')" = "$sha $serial"
check "archive_certs holds that certificate's DER, once" \
  test "$(count "select count(*) from archive_certs where sha256 = '\\x$sha' and der = '\\x$(od -An -tx1 -v "$T/cert.der" | tr -d ' \n')'")" = 1
check "the columns are the body's" test "$(count "select concat_ws(' ', kind, etype, event_id, txn_id, msisdn, rp,
    cert_serial, encode(cert_sha256, 'hex'), (extract(epoch from at) * 1000)::bigint) from archive_events
    where txn_id = '${ids[0]}' and etype = 'signature'")" = \
  "sign signature ${ids[0]} ${ids[0]} 84960000001 eoffice-test $serial $sha $(bj .at_ms)"
check "each row's hash chains from the one before (archive_row_hash)" test "$(count "
  select count(*) from archive_events e where e.row_hash <> archive_row_hash(e.prev_hash, e.seq, e.body)
     or e.prev_hash <> coalesce((select p.row_hash from archive_events p where p.chain = e.chain and p.seq = e.seq - 1),
                                archive_genesis(e.chain))")" = 0
check "the streams are drained (XACK + XDEL)" wait_for 10 is 0 backlog

# ---- a receipt, a certificate request ------------------------------------------------------
api POST "/v1/signatures/${ids[1]}/receipt" '{"message": "Đã nhận"}' >/dev/null
check "a receipt is accepted ($(code))" test "$(code)" = 200
receipt() { test "$(count "select count(*) from archive_events where etype = 'receipt' and txn_id = '${ids[1]}'
  and convert_from(body, 'UTF8')::jsonb ->> 'message' = 'Đã nhận'")" = 1; }
check "... and archived with its message" wait_for 20 receipt
api POST /v1/requests '{"form":"person_new","unit":"Sở Nội vụ","place":"Bắc Ninh","date":"05/03/2026",
  "subscriber":{"full_name":"Nguyễn Văn An","birth_date":"21/9/1986","id_number":"027086004512",
    "position":"Chuyên viên","organisation":"Sở Nội vụ","email":"an@bacninh.gov.vn","phone":"+84 986 123 456"},
  "sim_pki":"Viettel"}' >/dev/null
rid=$(jq -r .id "$T/body")
check "a certificate request is filed ($(code) $(head -c 200 "$T/body"))" test "$(code)" = 201
request() { test "$(count "select concat_ws(' ', kind, msisdn, convert_from(body, 'UTF8')::jsonb ->> 'form',
  convert_from(body, 'UTF8')::jsonb -> 'document' ->> 'state') from archive_events where etype = 'request'
  and convert_from(body, 'UTF8')::jsonb ->> 'request_id' = '$rid'")" = "cert 84986123456 person_new submitted"; }
check "... and archived: kind cert, the number, the form, the document" wait_for 20 request

# ---- a malformed entry: archived whole, the stream not blocked -------------------------------
rcli xadd 'spk:{0}:ev' '*' kind sign type signature note garbage >/dev/null
malformed() { test "$(count "select count(*) from archive_events where etype = 'malformed' and event_id like 'malformed:spk:{0}:ev:%'")" = 1; }
check "a malformed entry is archived as etype malformed" wait_for 20 malformed
check "... counted (simpki_archive_malformed_total 1)" test "$(metric archive_malformed_total)" = 1
check "... and the stream drained" wait_for 10 is 0 backlog

# ---- the database stopped: signing goes on, the events wait, then drain ----------------------
pg_stop fast
j=$(sign 84900000001)
id4=$(jq -r .id <<<"$j")
f=$(wait_result "$id4" 30)
check "with PostgreSQL down a signature still completes" test "$(jq -r .result <<<"$f")" = OK
check "... its event waits in the stream" wait_for 10 at_least 1 backlog
check "... simpki_archive_db_up is 0" wait_for 15 is 0 metric archive_db_up
check "... failed ingests are counted" wait_for 15 at_least 1 metric 'archive_errors_total{stage="db"}'
pg_start || bad "PostgreSQL did not restart"
echo "# $(date +%T) PostgreSQL back; the signature made meanwhile: $id4"
drained() { test "$(count "select count(*) from archive_events where txn_id = '$id4'")" = 1; }
check "PostgreSQL back: the waiting event is archived" wait_for 40 drained
check "... the stream drained" wait_for 10 is 0 backlog
check "... simpki_archive_db_up is 1" wait_for 10 is 1 metric archive_db_up
check "nothing is archived twice" test "$(count "select count(*) from (select event_id from archive_events
  group by kind, event_id having count(*) > 1) d")" = 0
check "simpki_archive_events_total{kind=\"sign\"} counts the sign events" \
  test "$(metric 'archive_events_total{kind="sign"}')" -ge 6
check "simpki_archive_events_total{kind=\"cert\"} counts the request" \
  test "$(metric 'archive_events_total{kind="cert"}')" -ge 1
check "simpki_archive_batch_duration_seconds observed the batches" test "$(metric archive_batch_duration_seconds_count)" -ge 1
check "simpki_archive_backlog_entries is back to 0 (refreshed every 5 s)" wait_for 15 is 0 metric archive_backlog_entries

[ "$FAILED" = 0 ] || { pg_sql -c "select etype, event_id, txn_id, archived_at from archive_events order by archived_at desc limit 4"
                       curl -sf "http://127.0.0.1:$API_PORT/metrics" | grep archive_ | grep -v bucket; date +%T; }
finish
