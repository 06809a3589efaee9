#!/usr/bin/env bash
# The merger review page (GET /ui/plans) in a real browser against the real daemon: the demo
# stack (lib.sh stack_up) with an operator key, a plan built from a small reorganisation of the
# demo registry (two ministries merged: every certificate but one is a row to decide, and one
# staff row names a person with no certificate and markup in the name), then ui_plan.sh drives
# Debian's Chromium through it (ui/ui_plan.mjs: filter, override, approve, bundle, CSV) and reads
# every change back from the API.
. "$(dirname "$0")/lib.sh"

OPS_TOKEN="ops-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ops_hash=$(printf %s "$OPS_TOKEN" | sha256sum | cut -d' ' -f1)
CONFIG_EDIT='.api_keys += [{name: "ops-ui", sha256: "'"$ops_hash"'", roles: ["operator"]}]'
stack_up

cat >"$T/reorg.csv" <<'CSV'
Đơn vị cũ,Đơn vị mới,Tỉnh,Căn cứ,Ngày ban hành,Ngày hiệu lực,Giữ chứng thư tổ chức
Bộ Tư pháp,Bộ Tư pháp và Tài chính,Hà Nội,Nghị quyết 1/2025/QH15,2025-06-12,2025-07-01,x
Bộ Tài chính,Bộ Tư pháp và Tài chính,Hà Nội,Nghị quyết 1/2025/QH15,2025-06-12,2025-07-01,
CSV
cat >"$T/staff.csv" <<'CSV'
Số CCCD,Họ và tên,Đơn vị cũ,Đơn vị mới,Chức vụ mới,Lãnh đạo,Khu vực nhà nước,Giữ thiết bị
001099000001,Nguyễn <b>Văn</b> An & Co,Bộ Tư pháp,Bộ Tư pháp và Tài chính,Vụ trưởng,1,1,1
CSV
body=$(jq -n --rawfile r "$T/reorg.csv" --rawfile s "$T/staff.csv" \
  '{name: "Sáp nhập Bộ (trình duyệt)", deadline: "2025-08-15", by: "Kiểm thử", reorg: $r, staff: $s}')
saved=$TOKEN; TOKEN=$OPS_TOKEN
api POST /v1/plans "$body" >/dev/null
PLAN=$(jq -r .id "$T/body")
check "a plan is being built ($(code))" test "$(code)" = 202
reviewable() { api GET "/v1/plans/$PLAN" >/dev/null; jq -e '.state == "review"' "$T/body" >/dev/null; }
check "... and is under review" wait_for 30 reviewable
check "... with rows to decide" jq -e '.summary.by_action.decide >= 2' "$T/body"
TOKEN=$saved

if UI_BASE="http://127.0.0.1:$API_PORT" UI_KEY="$OPS_TOKEN" UI_PLAN="$PLAN" \
   bash "$(dirname "$0")/ui_plan.sh" >"$T/ui.log" 2>&1; then
  ok "the review page in Chromium: $(grep -c '^ok' "$T/ui.log") browser checks"
else
  bad "the review page in Chromium (see below)"
  tail -n 40 "$T/ui.log" >&2
fi
finish
