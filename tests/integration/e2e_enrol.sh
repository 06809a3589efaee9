#!/usr/bin/env bash
# Certificate requests as API resources: validation with field-named errors,
# normalisation, the state machine (recorded, atomic), lists and filters, the
# printable form and the CA export — against the real gateway and Redis.
. "$(dirname "$0")/lib.sh"
stack_up

expect() { # description, http code, jq test on the body
  local d=$1 c=$2 t=$3 j; j=$(cat "$T/body")
  if [ "$(code)" = "$c" ] && jq -e "$t" >/dev/null 2>&1 <<<"$j"; then ok "$d"; else bad "$d: got $(code): $j"; fi
}

person='{"form":"person_new","unit":"Sở Nội vụ","place":"Bắc Ninh","date":"05/03/2026",
  "subscriber":{"full_name":"nguyễn  thị hồng nhung","birth_date":"21/9/1986","id_number":"027186004512",
    "position":"Phó Chánh Văn phòng","organisation":"Sở Nội vụ","email":"nhungnth@bacninh.gov.vn","phone":"+84 986 123 456"},
  "sim_pki":"viettel/CS"}'
api POST /v1/requests "$person" >/dev/null
expect "Mẫu 01 filed" 201 '.state == "submitted" and .rev == 1 and (.id | test("^r[0-9a-f]{20}$"))'
expect "name in capitals, diacritics kept" 201 '.request.subscriber.full_name == "NGUYỄN THỊ HỒNG NHUNG"'
expect "dates stored as YYYY-MM-DD" 201 '.request.subscriber.birth_date == "1986-09-21" and .request.date == "2026-03-05"'
expect "phone and SIM PKI field normalised" 201 '.request.subscriber.phone == "0986123456" and .request.sim_pki == "Viettel/cs"'
expect "history records who filed it" 201 '.history[0].state == "submitted" and .history[0].by == "eoffice-test"'
id=$(jq -r .id "$T/body")

bad_person='{"form":"person_new","unit":"Sở Nội vụ",
  "subscriber":{"full_name":"Trần Văn 3","birth_date":"01/01/2015","id_number":"027086004512",
    "email":"tranvan@gmail.com","phone":"0521234567"},"sim_pki":"Viettel"}'
api POST /v1/requests "$bad_person" >/dev/null
expect "every mistake reported at once" 400 '.error == "INVALID_REQUEST" and (.errors | length) >= 4'
for f in subscriber.full_name subscriber.birth_date subscriber.email subscriber.phone; do
  expect "error names $f" 400 "[.errors[].field] | index(\"$f\") != null"
done
expect "Gmail refused" 400 '[.errors[] | select(.field == "subscriber.email") | .error] == ["EMAIL_PERSONAL_DOMAIN"]'
expect "Vietnamobile refused for SIM PKI" 400 '[.errors[] | select(.field == "subscriber.phone") | .error] == ["NOT_SIM_PKI_NETWORK"]'

api POST /v1/requests '{"form":"person_new","unit":"X","subscriber":{"full_name":"An"}}' >/dev/null
expect "missing required fields listed" 400 '[.errors[] | select(.error == "REQUIRED") | .field] | index("subscriber.phone") != null'
api POST /v1/requests '{"form":"mau99","unit":"X"}' >/dev/null
expect "unknown form" 400 '.error == "UNKNOWN_FORM"'
api POST /v1/requests '{"form":"revoke","unit":"X","subscriber":{"full_name":"An"},"certificate":{"serial":"0A"},"reason":"x","colour":"red"}' >/dev/null
expect "unknown field refused" 400 '.error == "INVALID_REQUEST" and .field == "colour"'
api POST /v1/requests '{"form": ' >/dev/null
expect "malformed JSON" 400 '.error == "MALFORMED_JSON"'

# Warnings do not block: a Vinaphone number declared as Viettel (ported), an unknown e-mail domain.
warn=${person/0986123456/0912345678}; warn=${warn/+84 986 123 456/0912345678}; warn=${warn/bacninh.gov.vn/bacninh.edu.vn}
api POST /v1/requests "$warn" >/dev/null
expect "ported number and unusual domain only warned" 201 '[.warnings[].error] | (index("CARRIER_MISMATCH") != null and index("EMAIL_DOMAIN_REVIEW") != null)'

# The state machine.
api POST "/v1/requests/$id/transitions" '{"to":"installed"}' >/dev/null
expect "submitted cannot jump to installed" 409 '.error == "TRANSITION_NOT_ALLOWED"'
api POST "/v1/requests/$id/transitions" '{"to":"rejected"}' >/dev/null
expect "rejecting needs a reason" 400 '.field == "note"'
# Two operators confirm at the same moment: exactly one wins.
# (Each subshell gets its own scratch files; only these two are waited for.)
( T=$T/a; mkdir -p "$T"; api POST "/v1/requests/$id/transitions" '{"to":"confirmed","by":"A"}' >/dev/null; code > "$T/../c1" ) &
p1=$!
( T=$T/b; mkdir -p "$T"; api POST "/v1/requests/$id/transitions" '{"to":"confirmed","by":"B"}' >/dev/null; code > "$T/../c2" ) &
p2=$!
wait $p1 $p2
codes="$(cat "$T/c1") $(cat "$T/c2")"
check "two concurrent confirmations: one 200, one refused ($codes)" bash -c "[[ '$codes' == '200 409' || '$codes' == '409 200' ]]"
api GET "/v1/requests/$id" >/dev/null
expect "confirmed once, recorded once" 200 '.state == "confirmed" and .rev == 2 and (.history | length) == 2'
for s in sent_to_ca issued installed done; do
  api POST "/v1/requests/$id/transitions" "{\"to\":\"$s\",\"by\":\"Phòng CNTT\"}" >/dev/null
  expect "-> $s" 200 ".state == \"$s\""
done
expect "every step recorded with who and when" 200 '(.history | length) == 6 and (.history | map(.at | test("Z$")) | all) and .history[5].by == "eoffice-test: Phòng CNTT"'

# Revocation and handover.
api POST /v1/requests '{"form":"revoke","unit":"Sở Nội vụ","subscriber":{"full_name":"Đỗ Quang Vinh"},
  "certificate":{"serial":"54:04:ff:fe:2c:3d:0f:42"},"reason":"Thôi giữ chức vụ lãnh đạo"}' >/dev/null
expect "Mẫu 09 filed, serial normalised" 201 '.request.certificate.serial == "5404FFFE2C3D0F42"'
rid=$(jq -r .id "$T/body")
for s in confirmed sent_to_ca done; do api POST "/v1/requests/$rid/transitions" "{\"to\":\"$s\"}" >/dev/null; done
expect "revocation done after the CA" 200 '.state == "done"'
api POST /v1/requests '{"form":"handover","unit":"Sở Nội vụ","giver":{"full_name":"đỗ quang vinh"},"receiver":{"full_name":"Lê Văn Tám"},
  "devices":[{"cert_name":"Đỗ Quang Vinh","organisation":"Sở Nội vụ","serial":"8984048000123456789","note":"SIM PKI"}]}' >/dev/null
expect "Mẫu 14 filed" 201 '.request.giver.full_name == "ĐỖ QUANG VINH"'
hid=$(jq -r .id "$T/body")
api POST "/v1/requests/$hid/transitions" '{"to":"done","note":"devices received"}' >/dev/null
expect "handover closed when the devices are received" 200 '.state == "done" and .history[1].note == "devices received"'

# Lists and filters.
api GET "/v1/requests?form=revoke" >/dev/null
expect "filter by form" 200 '.total == 1 and .items[0].id == "'"$rid"'"'
api GET "/v1/requests?state=submitted&unit=S%E1%BB%9F%20N%E1%BB%99i%20v%E1%BB%A5" >/dev/null
expect "filter by state and unit" 200 '.total == 1'
api GET "/v1/requests?limit=2" >/dev/null
expect "paging" 200 '(.items | length) == 2 and .total == 4'
api GET "/v1/requests?limit=0" >/dev/null
expect "bad limit" 400 '.field == "limit"'

# The printable form and the CA export.
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/requests/$id/form" > "$T/form.html"
check "Mẫu 01 renders as HTML with the title" grep -q 'ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN' "$T/form.html"
check "the form carries the normalised name" grep -q 'NGUYỄN THỊ HỒNG NHUNG' "$T/form.html"
check "the form shows both numberings" grep -q 'Mẫu 01' "$T/form.html"
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/requests/export?format=csv&form=revoke" > "$T/export.csv"
check "CSV export has a header and the revocation" bash -c "grep -q '^.*id,form,form_no' '$T/export.csv' && grep -q '$rid' '$T/export.csv'"
curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$API_PORT/v1/requests/export?format=json" > "$T/export.json"
check "JSON export lists every request" bash -c "jq -e '.requests | length == 4' '$T/export.json' >/dev/null"
api GET /v1/requests/rffffffffffffffffffff >/dev/null
expect "unknown request" 404 '.error == "NOT_FOUND"'

# A key without the enrol role (an e-office system) sees no request: they hold ID numbers.
saved=$TOKEN; TOKEN="other-$saved"
api GET "/v1/requests/$id" >/dev/null
expect "no enrol role: reading a request refused" 403 '.error == "FORBIDDEN"'
api GET "/v1/requests/export?format=json" >/dev/null
expect "no enrol role: export refused" 403 '.error == "FORBIDDEN"'
TOKEN=$saved
finish
