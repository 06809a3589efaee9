#!/usr/bin/env bash
# The evidence archive end to end (docs/archive.md), checked in PostgreSQL, never in logs:
#
#  (a) every signing behaviour leaves exactly one `signature` event with the right state,
#      result and fields: completed OK (raw and CMS), the official refuses (USER_CANCEL), no
#      answer (EXPIRED, a short transaction_timeout_s), a signature by another key
#      (INVALID_SIGNATURE); the certificate of each OK one is in archive_certs once, by hash;
#      a receipt (JSON POST .../receipt and SOAP MSS_Receipt) leaves one `receipt` event;
#  (b) every form's lifecycle (Mẫu 01, 03, 07, 09 through the lifecycle engine and
#      simpki-sim-ca, Mẫu 14 by hand) leaves one `request` event per revision, the states in
#      the history's order, the history's who and when in the last one's document.
#
# The real daemon with ARCHIVE=1 (lib.sh: archive.conninfo of a throwaway PostgreSQL,
# poll_ms 50, claim_idle_s 5), Redis, the simulator, the CA.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/requests_lib.sh"
. "$(dirname "$0")/archive_lib.sh"

pg_start || { bad "PostgreSQL did not start (see $T/postgres.log)"; finish; exit 1; }
make_demo
ca_start || { bad "simpki-sim-ca did not start"; finish; exit 1; }
AP_PWD=ap-pwd-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
pwd_hash=$(printf %s "$AP_PWD" | sha256sum | cut -d' ' -f1)
CONFIG_EDIT=".api_keys[0] += {ap_id: \"http://eoffice.test/ap\", ap_pwd_sha256: \"$pwd_hash\"}
  | .ca = {key_alg: \"ecp256\", sim_timeout_s: 30, tick_ms: 200, lease_s: 12, max_attempts: 3,
           cmp: {server: \"127.0.0.1\", port: $CMP_PORT, path: \"$CMP_PATH\", timeout_s: 10,
                 pbm_ref: \"$CMP_REF\", pbm_secret: \"$CMP_SECRET\"}}"
export CONFIG_EDIT
ARCHIVE=1 TXN_TIMEOUT_S=10 SIM_DELAY_MS=200 stack_up || { bad "the stack did not start"; finish; exit 1; }
check "the gateway's configuration has the archive on" jq -e '.archive.conninfo | length > 0' "$T/simpki.json"
check "the schema is migrated at start (archive_migrations has 0001)" \
  wait_until 20 sh -c "psql -h '$T/pgsock' -p $PG_PORT -U simpki -d simpki -qAtc \"select count(*) from archive_migrations\" | grep -qx '[1-9][0-9]*'"

# ---- (a) signatures ------------------------------------------------------------------------
# case -> "msisdn format state result"
declare -A want=(
  [ok_raw]="84960000001 raw completed OK"
  [ok_cms]="84910000001 cms completed OK"
  [cancel]="84960000011 raw failed USER_CANCEL"
  [noanswer]="84960000021 raw failed EXPIRED"
  [forged]="84960000081 raw failed INVALID_SIGNATURE"
)
cases=(ok_raw ok_cms cancel noanswer forged)
declare -A id=() vc=() dg=() txt=() fin=()
for c in "${cases[@]}"; do
  read -r m f _ _ <<<"${want[$c]}"
  dg[$c]=$(printf 'archive %s %s' "$c" "$$" | openssl dgst -sha256 -binary | base64 -w0)
  txt[$c]="Ký quyết định số ${#c}/QĐ-UBND ($c)"
  j=$(api POST /v1/signatures "$(jq -n --arg m "$m" --arg d "${dg[$c]}" --arg t "${txt[$c]}" --arg f "$f" \
        --arg r "ref-$c" '{msisdn: $m, digest: $d, digest_alg: "SHA-256", display_text: $t, format: $f, client_ref: $r}')")
  if [ "$(code)" = 202 ]; then
    id[$c]=$(jq -r .id <<<"$j") vc[$c]=$(jq -r .verification_code <<<"$j")
  else
    bad "$c: POST answered $(code): $j"
  fi
done
for c in "${cases[@]}"; do
  [ -n "${id[$c]:-}" ] || continue
  fin[$c]=$(wait_result "${id[$c]}" 40)
  read -r m f st res <<<"${want[$c]}"
  check "$c ($m): the API says $st $res" test "$(jq -r '"\(.state) \(.result)"' <<<"${fin[$c]}")" = "$st $res"
done

# Receipts: one over the JSON API (the raw OK one), one over SOAP MSS_Receipt (the CMS one).
RECEIPT_JSON="Đã nhận kết quả (JSON)"
RECEIPT_SOAP="Đã nhận kết quả (SOAP)"
api POST "/v1/signatures/${id[ok_raw]}/receipt" "$(jq -n --arg m "$RECEIPT_JSON" '{message: $m}')" >/dev/null
check "JSON receipt recorded ($(code))" test "$(code)" = 200
soap_receipt() { # MSSP_TransID MSISDN MESSAGE
  cat <<EOF
<?xml version='1.0' encoding='UTF-8'?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope"><soap-env:Body><MSS_Receipt><MSS_ReceiptReq MajorVersion="1" MinorVersion="1" MSSP_TransID="$1"><ns0:AP_Info xmlns:ns0="http://uri.etsi.org/TS102204/v1.1.2#" AP_ID="http://eoffice.test/ap" AP_PWD="$AP_PWD" AP_TransID="AR-RCPT-1" Instant="2026-12-05T19:40:00+00:00"/><ns1:MSSP_Info xmlns:ns1="http://uri.etsi.org/TS102204/v1.1.2#"><ns1:MSSP_ID><ns1:URI>http://hmssp.mobile-id.vn</ns1:URI></ns1:MSSP_ID></ns1:MSSP_Info><ns2:MobileUser xmlns:ns2="http://uri.etsi.org/TS102204/v1.1.2#"><ns2:MSISDN>$2</ns2:MSISDN></ns2:MobileUser><ns3:Message xmlns:ns3="http://uri.etsi.org/TS102204/v1.1.2#" MimeType="text/plain" Encoding="UTF-8">$3</ns3:Message></MSS_ReceiptReq></MSS_Receipt></soap-env:Body></soap-env:Envelope>
EOF
}
soap_receipt "T${id[ok_cms]}" 84910000001 "$RECEIPT_SOAP" |
  curl -s -o "$T/soap-receipt.xml" -w '%{http_code}' -H 'Content-Type: application/soap+xml; charset=utf-8' \
    --data-binary @- "http://127.0.0.1:$API_PORT/soap/services/MSS_ReceiptPort" >"$T/code"
check "SOAP MSS_Receipt answered 100 ($(code))" grep -q 'StatusCode[^>]*Value="100"' "$T/soap-receipt.xml"

# The events, as PostgreSQL has them.
# times.sent: the simulator's SMSC took every command, so it is there, between created and
# finished -- also when the answer came before the engine's batched sent mark was flushed (the
# finish carries the mark's time, gwt_sent_cancel).
times_sent_ok() { # TXN_ID
  [ "$(pg_sql -c "select b->'times'->'sent' is not null and (b->'times'->>'created')::timestamptz <= (b->'times'->>'sent')::timestamptz
      and (b->'times'->>'sent')::timestamptz <= (b->'times'->>'finished')::timestamptz
      from (select convert_from(body, 'UTF8')::jsonb b from archive_events where event_id = '$1') x")" = t ]
}
times_ok() { # TXN_ID: times.created < times.finished; at and at_ms the same instant
  [ "$(pg_sql -c "select (b->'times'->>'created')::timestamptz < (b->'times'->>'finished')::timestamptz
      and (b->>'at')::timestamptz = timestamptz 'epoch' + (b->>'at_ms')::bigint * interval '1 millisecond'
      from (select convert_from(body, 'UTF8')::jsonb b from archive_events where event_id = '$1') x")" = t ]
}
for c in "${cases[@]}"; do
  [ -n "${id[$c]:-}" ] || continue
  i=${id[$c]}
  read -r m f st res <<<"${want[$c]}"
  if ! ar_wait "$i" 30; then bad "$c: no signature event for ${i} within 30 s"; continue; fi
  check "$c: exactly one event with event_id = the transaction id" ar_has "$i" 1
  b=$(ar_body "$i")
  printf '%s\n' "$b" >"$T/ev-$c.json"
  check "$c: type signature, kind sign, txn_id, state $st, result $res" jq -e --arg i "$i" --arg st "$st" --arg r "$res" \
    '.type == "signature" and .kind == "sign" and .event_id == $i and .txn_id == $i and .state == $st and .result == $r' \
    "$T/ev-$c.json"
  # CMS: doc_digest is the relying party's digest, digest what the SIM signed (the signed attributes').
  check "$c: digest (doc_digest for CMS), digest_alg, display_text, vc, format, client_ref as asked" jq -e \
    --arg d "${dg[$c]}" --arg t "${txt[$c]}" --arg v "${vc[$c]}" --arg f "$f" --arg r "ref-$c" \
    '(if $f == "cms" then .doc_digest == $d and (.digest | length) == 44 and .digest != $d
      else .digest == $d and .doc_digest == null end)
     and .digest_alg == "SHA-256" and .display_text == $t and (.vc | tostring) == $v
     and .format == $f and .client_ref == $r' "$T/ev-$c.json"
  check "$c: the number in full ($m) and the relying party" jq -e --arg m "$m" '.msisdn == $m and .rp == "eoffice-test"' \
    "$T/ev-$c.json"
  check "$c: times.created < times.finished, at = at_ms" times_ok "$i"
  if [ "$c" = noanswer ]; then
    check "$c: no answer carried it: no transport, no link" jq -e \
      '.transport == null and .link == null' "$T/ev-$c.json"
  else
    check "$c: the answer's transport ($TRANSPORT) and link" jq -e --arg t "$TRANSPORT" \
      '.transport == $t and (.link | length) > 0' "$T/ev-$c.json"
  fi
  check "$c: created <= sent <= finished (sent: $(jq -r '.times.sent // "absent"' "$T/ev-$c.json"))" times_sent_ok "$i"
  check "$c: the search columns are the body's (etype, txn_id, msisdn, rp)" test \
    "$(pg_sql -c "select etype || ' ' || txn_id || ' ' || msisdn || ' ' || rp from archive_events where event_id = '$i'")" = \
    "signature $i $m eoffice-test"
  if [ "$res" = OK ]; then
    api_cert=$(jq -r .certificate <<<"${fin[$c]}" | base64 -d | sha256sum | cut -d' ' -f1)
    check "$c: cert_sha256 (body and column) = SHA-256 of the certificate the API returned" test \
      "$(jq -r .cert_sha256 "$T/ev-$c.json") $(pg_sql -c "select encode(cert_sha256, 'hex') from archive_events where event_id = '$i'")" = \
      "$api_cert $api_cert"
    check "$c: its DER in archive_certs, once, under its own hash" test \
      "$(pg_sql -c "select count(*) || ' ' || bool_and(sha256 = sha256(der)) from archive_certs where sha256 = decode('$api_cert', 'hex')")" = \
      "1 true"
    check "$c: the archived signature is the one the API returned" test \
      "$(jq -r .signature "$T/ev-$c.json")" = "$(jq -r .signature <<<"${fin[$c]}")"
    check "$c: cert_serial is the certificate's (uppercase hex)" test "$(jq -r .cert_serial "$T/ev-$c.json")" = \
      "$(jq -r .certificate <<<"${fin[$c]}" | base64 -d | openssl x509 -inform DER -noout -serial | cut -d= -f2)"
  else
    check "$c: no signature and no certificate in a failed event" jq -e '.signature == null and .cert_sha256 == null' \
      "$T/ev-$c.json"
  fi
done
# The raw OK one verifies from the archive alone: the digest and signature of the body, the
# certificate from archive_certs.
if [ -s "$T/ev-ok_raw.json" ]; then
  h=$(jq -r .cert_sha256 "$T/ev-ok_raw.json")
  pg_sql -c "select encode(der, 'base64') from archive_certs where sha256 = decode('$h', 'hex')" | base64 -d >"$T/ar.crt.der"
  check "ok_raw: openssl verifies the archived signature with the archived certificate" \
    openssl_verify "$(jq -c --arg c "$(base64 -w0 "$T/ar.crt.der")" '{signature, certificate: $c}' "$T/ev-ok_raw.json")" \
    "${dg[ok_raw]}" sha256
fi
check "one signature event per transaction of (a), no more ($(ar_sig_ids | wc -l))" test "$(ar_sig_ids | wc -l)" = "${#id[@]}"

# Receipts.
receipt_ok() { # CASE MESSAGE
  local i=${id[$1]} n
  n=$(pg_sql -c "select count(*) from archive_events where etype = 'receipt' and txn_id = '$i'")
  [ "$n" = 1 ] || { echo "$n receipt events for $i" >&2; return 1; }
  pg_sql -c "select convert_from(body, 'UTF8') from archive_events where etype = 'receipt' and txn_id = '$i'" |
    jq -e --arg i "$i" --arg m "$2" '.type == "receipt" and .kind == "sign" and .txn_id == $i and .rp == "eoffice-test"
      and .message == $m and (.event_id | startswith($i + ".receipt."))' >/dev/null
}
check "JSON receipt: one receipt event, its message and relying party" wait_until 20 receipt_ok ok_raw "$RECEIPT_JSON"
check "SOAP MSS_Receipt: one receipt event, its message and relying party" wait_until 20 receipt_ok ok_cms "$RECEIPT_SOAP"
check "the transactions without a receipt have no receipt event" test \
  "$(pg_sql -c "select count(*) from archive_events where etype = 'receipt'")" = 2

# ---- (b) certificate requests --------------------------------------------------------------
PKI=$T/demo/pki
SUBS=$PKI/subs
declare -A rq=() rq_form=()
# Mẫu 01, a person, EC, through the engine and the CA.
M=84960000182
rq[m01]=$(file "$(person $M "Trần Minh Khoa" "Ủy ban nhân dân huyện Gia Lâm" Viettel)") rq_form[m01]=person_new
confirm "${rq[m01]}" "{\"iccid\":\"$(iccid_of $M)\",\"kv\":1,\"key_alg\":\"ecp256\"}"
check "Mẫu 01 reaches done" wait_state "${rq[m01]}" done failed
# Mẫu 03, an organisation, EC.
M=84910000182
rq[m03]=$(file "$(jq -n '{form: "org_new", unit: "Văn phòng UBND tỉnh Bắc Ninh", place: "Bắc Ninh",
  organisation: {name: "Văn phòng Ủy ban nhân dân tỉnh Bắc Ninh", code: "0100001825", province: "Bắc Ninh",
                 email: "vp@bacninh.gov.vn"},
  subscriber: {full_name: "Lê Văn Tám", phone: "0910000182"}, sim_pki: "Vinaphone"}')") rq_form[m03]=org_new
confirm "${rq[m03]}" "{\"iccid\":\"$(iccid_of $M)\",\"key_alg\":\"ecp256\"}"
check "Mẫu 03 reaches done" wait_state "${rq[m03]}" done failed
# Mẫu 07, a change on the card's own key (a kur), then Mẫu 09 revokes what it got.
M=84960000002
old_serial=$(openssl x509 -in "$SUBS/$M.crt.pem" -noout -serial | cut -d= -f2)
NEW_O="Sở Nội vụ tỉnh Bắc Ninh (sau hợp nhất)"
rq[m07]=$(file "$(jq -n --arg s "$old_serial" --arg o "$NEW_O" '{form: "change", action: "change", unit: "Bộ Tư pháp",
  subscriber: {full_name: "Trần Đức Hà", organisation: $o, phone: "0960000002"}, sim_pki: "Viettel",
  certificate: {serial: $s}, changes: [{field: "organisation", old: "Bộ Tư pháp", new: $o}], reason: "Hợp nhất đơn vị"}')")
rq_form[m07]=change
confirm "${rq[m07]}"
check "Mẫu 07 reaches done" wait_state "${rq[m07]}" done failed
NEW_SERIAL=$(jq -r '.result.serial // empty' "$T/doc")
rq[m09]=$(file "$(jq -n --arg s "${NEW_SERIAL:-00}" '{form: "revoke", unit: "Bộ Tư pháp",
  subscriber: {full_name: "Trần Đức Hà", phone: "0960000002"}, certificate: {serial: $s}, reason: "Mất thiết bị lưu khóa"}')")
rq_form[m09]=revoke
confirm "${rq[m09]}"
check "Mẫu 09 reaches done" wait_state "${rq[m09]}" done failed
# Mẫu 14, a handover, closed by hand.
rq[m14]=$(file '{"form":"handover","unit":"Sở Nội vụ","giver":{"full_name":"Đỗ Quang Vinh"},"receiver":{"full_name":"Lê Văn Tám"},
  "devices":[{"cert_name":"Đỗ Quang Vinh","organisation":"Sở Nội vụ","serial":"8984048000123456789","note":"SIM PKI"}]}')
rq_form[m14]=handover
api POST "/v1/requests/${rq[m14]}/transitions" '{"to":"done","by":"Văn thư","note":"devices received"}' >/dev/null
check "Mẫu 14 closed by hand ($(code))" test "$(code)" = 200

# request_events ID: every request event of the request, as a JSON array ordered by rev.
request_events() {
  ar_safe "$1" && pg_sql -c "select convert_from(body, 'UTF8') from archive_events
    where etype = 'request' and event_id like '$1.%' order by (convert_from(body, 'UTF8')::jsonb->>'rev')::int" | jq -s .
}
# All revisions 1..REV archived (the count of rows, duplicates included, is REV).
request_archived() { # ID REV
  [ "$(pg_sql -c "select count(*) from archive_events where etype = 'request' and event_id like '$1.%'")" -ge "$2" ]
}
for k in m01 m03 m07 m09 m14; do
  r=${rq[$k]}
  [ -n "$r" ] && [ "$r" != null ] || { bad "$k: no request id"; continue; }
  api GET "/v1/requests/$r" >"$T/doc-$k.json"
  rev=$(jq -r .rev "$T/doc-$k.json")
  if ! wait_until 30 request_archived "$r" "$rev"; then bad "$k ($r): revisions 1..$rev not all archived within 30 s"; fi
  request_events "$r" >"$T/rq-$k.json"
  check "$k: one request event per revision, 1..$rev, none twice ($(jq length "$T/rq-$k.json") events)" jq -e --argjson n "$rev" \
    '[.[].rev | tonumber] == [range(1; $n + 1)] and ([.[].event_id] | unique | length) == length' "$T/rq-$k.json"
  check "$k: event_id = <request id>.<rev>, kind cert, form ${rq_form[$k]}, state = its document's" jq -e --arg r "$r" \
    --arg f "${rq_form[$k]}" 'all(.[]; .event_id == "\($r).\(.rev)" and .kind == "cert" and .type == "request"
       and .request_id == $r and .form == $f and .document.state == .state)' "$T/rq-$k.json"
  check "$k: the states, revision after revision, are the history's, in order" jq -e --slurpfile d "$T/doc-$k.json" \
    '(reduce .[].state as $s ([]; if length > 0 and .[-1] == $s then . else . + [$s] end)) == [$d[0].history[].state]' \
    "$T/rq-$k.json"
  check "$k: the last event's document holds the whole history, who and when, as the API shows it" jq -e \
    --slurpfile d "$T/doc-$k.json" '.[-1].document.history == $d[0].history and .[-1].state == "done"
      and all(.[-1].document.history[]; (.by | length) > 0 and (.at | test("Z$")))' "$T/rq-$k.json"
  check "$k: event times never go back (at by revision)" jq -e '[.[].at_ms | tonumber] as $t | $t == ($t | sort)' "$T/rq-$k.json"
done
check "Mẫu 01: the number in full, the CA's certificate in the last document" jq -e \
  '.[-1].msisdn == "84960000182" and (.[-1].document.result.certificate | length) > 100' "$T/rq-m01.json"
m09_serial() {
  jq -e --arg s "$NEW_SERIAL" '.[-1].cert_serial == $s' "$T/rq-m09.json" >/dev/null &&
    [ "$(pg_sql -c "select string_agg(distinct coalesce(cert_serial, '-'), ',') from archive_events
                    where event_id like '${rq[m09]}.%'")" = "$NEW_SERIAL" ]
}
check "Mẫu 09: cert_serial (body and column, every revision) is the revoked certificate's ($NEW_SERIAL)" m09_serial
check "Mẫu 14: the note of the hand-closed step is archived" jq -e \
  '.[-1].document.history[-1] | .state == "done" and .note == "devices received"' "$T/rq-m14.json"
check "no event id archived twice (all kinds)" test -z "$(ar_dups)"
check "every stream drained: backlog 0, nothing pending" wait_until 20 sh -c "[ \"\$(curl -sf http://127.0.0.1:$API_PORT/metrics | awk '\$1 == \"simpki_archive_backlog_entries\" {print \$2}')\" = 0 ]"
check "Redis: no entry left in the streams, none pending ($(ar_xlen) / $(ar_xpending))" test "$(ar_xlen) $(ar_xpending)" = "0 0"
echo "events: $(pg_sql -c "select string_agg(etype || '=' || n, ' ') from (select etype, count(*) n from archive_events group by 1 order by 1) x")"
finish
