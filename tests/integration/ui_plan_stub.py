#!/usr/bin/python3
"""ui_plan_stub.py - a stand-in for simpkid's /v1/plans (gateway/merge/gw_plan.h)
and /ui/plans, so that tests/integration/ui_plan.sh can drive the review page in
a real browser without the rest of the stack.

  ui_plan_stub.py --page gateway/merge/plan_page.html --key KEY [--csp-file F] [--port 0]

Prints "stub ready port=N" once it listens (--port 0: a free port below 32768).  The page is served as simpkid serves
it (gw_plan_page.c): the same headers, and the Content-Security-Policy either read
from --csp-file (what the C code computed: test_gw_plan_page --csp) or computed
here the same way.  The API answers in gw_plan.h's shapes, with its errors: 401
UNAUTHORIZED, 404 NOT_FOUND, 400 with "field", 409 VERSION_CONFLICT, 409
PLAN_APPROVED, 409 DECISIONS_PENDING with "rows".  One plan is under review
("p5b1e0c9a7d42"), with a row whose holder is markup (the page must show it as
text).  The plan state lives in memory; standard library only.
"""
import argparse
import base64
import copy
import hashlib
import json
import random
import re
import sys
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# gw_merge_rules.c's rule table (gw_merge_rules_json()), as of main 9dc7882.
RULES = [
    ("O1", "change", "The only organisation certificate of its new unit: renamed (Form 07)",
     "Chứng thư số tổ chức duy nhất của đơn vị mới: thay đổi tên (Mẫu 07)"),
    ("O2", "keep", "The only organisation certificate of its new unit, and nothing in it changes",
     "Chứng thư số tổ chức duy nhất của đơn vị mới, nội dung không thay đổi: giữ nguyên"),
    ("O3", "change", "The seat's organisation certificate of a merged unit: kept and renamed (Form 07)",
     "Chứng thư số tổ chức của đơn vị giữ trụ sở (đơn vị được giữ lại): giữ và đổi tên (Mẫu 07)"),
    ("O4", "revoke", "Another organisation certificate of a merged unit: revoked, superseded (Form 09), device handed back (Form 14)",
     "Chứng thư số tổ chức khác của đơn vị sáp nhập: thu hồi do được thay thế (Mẫu 09), bàn giao thiết bị (Mẫu 14)"),
    ("P1", "change", "Moves to a new unit, keeps a leadership post and the device: Form 07 (organisation, position)",
     "Chuyển sang đơn vị mới, vẫn giữ chức vụ lãnh đạo và được giữ thiết bị: Mẫu 07 (cơ quan, chức vụ)"),
    ("P2", "revoke", "Moves to a new unit, keeps a leadership post, the device goes back: Form 09 + Form 14",
     "Chuyển sang đơn vị mới, vẫn giữ chức vụ lãnh đạo, thiết bị trả lại: Mẫu 09 và Mẫu 14"),
    ("P3", "revoke", "No longer holds a leadership post: Form 09 (cessation of operation) + Form 14",
     "Thôi giữ chức vụ lãnh đạo: Mẫu 09 và Mẫu 14"),
    ("P4", "revoke", "Leaves the state administrative sector: Form 09 (affiliation changed) + Form 14",
     "Chuyển ra ngoài khu vực cơ quan hành chính nhà nước: Mẫu 09 và Mẫu 14"),
    ("P5", "keep", "Stays in a unit whose name does not change, still a leader",
     "Ở lại đơn vị không đổi tên, vẫn giữ chức vụ lãnh đạo: giữ nguyên"),
    ("D1", "decide", "Two or more organisation certificates to keep and no seat to choose by",
     "Có từ hai chứng thư số tổ chức trở lên nhưng không xác định được đơn vị giữ trụ sở: cần quyết định"),
    ("D2", "decide", "The old unit splits into two or more new units (its organisation certificate)",
     "Đơn vị cũ được chia tách thành nhiều đơn vị mới (chứng thư số tổ chức): cần quyết định"),
    ("D3", "decide", "A person in the staff list with no active certificate in the registry",
     "Người trong danh sách cán bộ nhưng không có chứng thư số đang hoạt động: cần quyết định"),
    ("D4", "decide", "A certificate of an affected unit that the staff list does not mention",
     "Chứng thư số của đơn vị bị ảnh hưởng nhưng không có trong danh sách cán bộ: cần quyết định"),
    ("D5", "decide", "A number moved onto the SIM PKI (/cs) whose certificate would be revoked",
     "Số thuê bao đang dùng đã chuyển sang SIM PKI (/cs) mà chứng thư số sẽ bị thu hồi: cần quyết định"),
    ("D6", "decide", "The staff list's old unit is not the certificate's organisation (O)",
     "Đơn vị cũ trong danh sách cán bộ khác với cơ quan (O) trên chứng thư số: cần quyết định"),
]
RULE_ACTION = {r[0]: r[1] for r in RULES}

# (old unit, new unit)
UNITS = [
    ("UBND thị trấn Chờ", "UBND xã Yên Phong"),
    ("UBND xã Đông Tiến", "UBND xã Yên Phong"),
    ("UBND xã Trung Nghĩa", "UBND xã Yên Phong"),
    ("UBND xã Đông Phong", "UBND xã Yên Trung"),
    ("UBND xã Tam Giang", "UBND xã Yên Trung"),
    ("UBND xã Yên Trung", "UBND xã Yên Trung"),
    ("UBND xã Văn Môn", "UBND xã Văn Môn"),
]

PEOPLE = ["Nguyễn Văn Hùng", "Trần Thị Thu Hà", "Lê Quang Minh", "Phạm Thị Hồng Nhung", "Hoàng Đức Thắng",
          "Vũ Thị Lan Anh", "Đặng Văn Toàn", "Bùi Thị Mai", "Đỗ Quang Vinh", "Ngô Thị Thanh Huyền",
          "Dương Văn Khải", "Lý Thị Ngọc", "Trịnh Xuân Bách", "Phan Thị Yến", "Đinh Công Sơn",
          "Tạ Thị Bích Thủy", "Chu Văn Lâm", "Mai Thị Hạnh", "Kiều Văn Phúc", "Lương Thị Diệu Linh",
          "Nguyễn Hữu Tài", "Trần Minh Tuấn", "Lê Thị Kim Oanh", "Phạm Văn Đức", "Hoàng Thị Hương",
          "Vũ Đình Khoa", "Đặng Thị Ngân", "Bùi Văn Hiếu", "Đỗ Thị Phương", "Ngô Văn Quyết"]
POSTS = ["Chủ tịch UBND", "Phó Chủ tịch UBND", "Văn phòng HĐND và UBND", "Trưởng Công an xã", "Chỉ huy trưởng Quân sự"]
# Which rule each person row gets, cycling; one of each kind somewhere in the plan.
PERSON_RULES = ["P1", "P1", "P2", "P5", "P3", "P1", "D4", "P4", "P1", "D5", "P2", "D3", "P1", "D6", "P3"]


def serial(i):
    return hashlib.sha256(b"serial%d" % i).hexdigest()[:16].upper().lstrip("0")


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_rows():
    rows, no, pi = [], 0, 0
    org_rules = {"UBND thị trấn Chờ": "O3", "UBND xã Đông Tiến": "O4", "UBND xã Trung Nghĩa": "O4",
                 "UBND xã Đông Phong": "D1", "UBND xã Tam Giang": "D1", "UBND xã Yên Trung": "O1",
                 "UBND xã Văn Môn": "O2"}
    for ui, (unit, new) in enumerate(UNITS):
        no += 1
        rule = org_rules[unit]
        row = {"no": no, "unit": unit, "new_unit": new, "kind": "organisation", "holder": unit,
               "msisdn": "8491%07d" % (1000000 + no), "serial": serial(no), "subject": "CN=%s,O=%s,ST=Bắc Ninh" % (unit, unit),
               "valid_to": "2027-06-30", "carrier": ["Viettel", "Vinaphone", "Mobifone"][no % 3], "cs": False,
               "action": RULE_ACTION[rule], "rule": rule, "reason": "", "reason_code": "", "changes": []}
        if rule in ("O1", "O3"):
            row["detail"] = "Đổi tên tổ chức thành “%s”" % new
            row["changes"] = [{"field": "O", "old": unit, "new": new}, {"field": "CN", "old": unit, "new": new}]
        elif rule == "O4":
            row["detail"] = "Thay thế bởi chứng thư của đơn vị đặt trụ sở (UBND thị trấn Chờ)"
            row["handover_to"] = "UBND huyện Yên Phong"
            row["reason_code"] = "superseded"
        elif rule == "D1":
            row["detail"] = "UBND xã Đông Phong và UBND xã Tam Giang cùng về UBND xã Yên Trung; phương án không ghi đơn vị đặt trụ sở"
        else:
            row["detail"] = "Tên đơn vị không đổi"
        rows.append(row)
        for _ in range(3 if ui < 6 else 2):
            no += 1
            rule = PERSON_RULES[pi % len(PERSON_RULES)]
            name = PEOPLE[pi % len(PEOPLE)]
            post = POSTS[pi % len(POSTS)]
            pi += 1
            row = {"no": no, "unit": unit, "new_unit": new, "kind": "person", "holder": name,
                   "msisdn": "8498%07d" % (2000000 + no), "serial": serial(no),
                   "subject": "CN=%s,T=%s,O=%s" % (name, post, unit), "valid_to": "2028-03-31",
                   "carrier": ["Viettel", "Vinaphone", "Mobifone"][no % 3], "cs": rule == "D5",
                   "action": RULE_ACTION[rule], "rule": rule, "reason": "", "reason_code": "", "changes": [],
                   "staff_line": no + 1, "reorg_line": ui + 2}
            if rule == "P1":
                row["new_post"] = post
                row["detail"] = "%s, %s" % (post, new)
                row["changes"] = [{"field": "O", "old": unit, "new": new}]
            elif rule == "P2":
                row["detail"] = "Thiết bị trả lại %s" % unit
                row["handover_to"] = "UBND huyện Yên Phong"
                row["reason_code"] = "affiliationChanged"
            elif rule == "P3":
                row["detail"] = "Thôi giữ chức vụ %s" % post
                row["handover_to"] = "UBND huyện Yên Phong"
                row["reason_code"] = "cessationOfOperation"
            elif rule == "P4":
                row["detail"] = "Chuyển công tác sang Đảng ủy xã"
                row["handover_to"] = "UBND huyện Yên Phong"
                row["reason_code"] = "affiliationChanged"
            elif rule == "P5":
                row["detail"] = "%s, tên đơn vị không đổi" % post
            elif rule == "D3":
                row["serial"] = ""
                row["detail"] = "Dòng %d danh sách cán bộ: %s, chưa có chứng thư số" % (no + 1, post)
            elif rule == "D4":
                row["detail"] = "Không có trong danh sách cán bộ của đơn vị"
            elif rule == "D5":
                row["detail"] = "Thuê bao Viettel/cs: thu hồi sẽ trả SIM về đơn vị cũ"
            elif rule == "D6":
                row["detail"] = "Danh sách cán bộ ghi UBND xã Tam Giang, chứng thư ghi %s" % unit
            rows.append(row)
    # A holder written as markup: the page must show it as text, never run it.
    rows[2]["holder"] = "<img src=x onerror=alert(1)>Nguyễn Thị <b>Thảo</b>"
    return rows


def summary(rows):
    by_action, by_rule = {}, {}
    for r in rows:
        a = final_action(r)
        by_action[a] = by_action.get(a, 0) + 1
        by_rule[r["rule"]] = by_rule.get(r["rule"], 0) + 1
    for a in ("keep", "change", "revoke", "decide"):
        by_action.setdefault(a, 0)
    return {"rows": len(rows), "by_action": by_action, "by_rule": by_rule, "units": len(UNITS),
            "rules": [{"id": i, "action": a, "en": en, "vi": vi} for i, a, en, vi in RULES]}


def final_action(r):
    return (r.get("override") or {}).get("action") or r["action"]


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.plans, self.rows = {}, {}
        pid = "p5b1e0c9a7d42"
        rows = build_rows()
        self.rows[pid] = rows
        self.plans[pid] = {
            "id": pid, "name": "Sắp xếp đơn vị hành chính cấp xã huyện Yên Phong – đợt 1", "state": "review",
            "version": 1, "rev": 1, "deadline": "2026-12-31", "created_at": "2026-12-05T08:12:40Z",
            "created_by": "Nguyễn Thị Thu Trang", "basis": "Nghị quyết 1658/NQ-UBTVQH15", "effective": "2026-12-15",
            "build": {"read": 48213, "total": 48213},
            "findings": [
                {"file": "staff", "line": 14, "column": 3, "code": "NAME_MISMATCH", "warning": True,
                 "message": "tên đơn vị “UBND xa Dong Tien” được hiểu là “UBND xã Đông Tiến”"},
                {"file": "reorg", "line": 6, "column": 0, "code": "NO_SEAT", "warning": True,
                 "message": "đơn vị mới “UBND xã Yên Trung” không ghi đơn vị đặt trụ sở"}],
            "summary": summary(rows),
            "history": [{"version": 1, "at": "2026-12-05T08:12:40Z", "by": "Nguyễn Thị Thu Trang", "what": "built"}],
        }
        # Two more plans, so that the list shows the states.
        done = copy.deepcopy(self.plans[pid])
        done.update({"id": "p19c2d77e0b31", "name": "Sáp nhập phường Suối Hoa và phường Tiền An", "state": "finished",
                     "version": 3, "rev": 9, "deadline": "2026-11-20", "created_at": "2026-11-02T02:30:11Z",
                     "created_by": "Trần Văn Bình", "findings": [],
                     "approved": {"by": "Trần Văn Bình", "at": "2026-11-04T09:02:00Z", "version": 3},
                     "summary": {"rows": 31, "by_action": {"keep": 6, "change": 17, "revoke": 8, "decide": 0}}})
        run = copy.deepcopy(done)
        run.update({"id": "p8a04f3b95c6e", "name": "Sắp xếp các xã thuộc huyện Gia Bình", "state": "running",
                    "version": 5, "deadline": "2026-12-20", "created_at": "2026-11-28T07:45:02Z",
                    "created_by": "Lê Minh Châu",
                    "summary": {"rows": 212, "by_action": {"keep": 40, "change": 121, "revoke": 51, "decide": 0}}})
        building = copy.deepcopy(done)
        building.update({"id": "p2e6b9d0c4f18", "name": "Sắp xếp các xã thuộc thị xã Quế Võ", "state": "building",
                         "version": 0, "deadline": "2027-01-15", "created_at": "2026-12-06T01:58:30Z",
                         "created_by": "Lê Minh Châu", "summary": {"rows": 0, "by_action": {}},
                         "build": {"read": 21350, "total": 48213}})
        for p in (building, self.plans[pid], run, done):
            self.plans[p["id"]] = p
        self.order = [building["id"], pid, run["id"], done["id"]]

    def units(self, pid):
        out = {}
        for r in self.rows.get(pid, []):
            u = out.setdefault(r["unit"], {"unit": r["unit"], "new_unit": r["new_unit"], "rows": 0, "by_action": {}, "open": 0})
            u["rows"] += 1
            a = final_action(r)
            u["by_action"][a] = u["by_action"].get(a, 0) + 1
            if a in ("change", "revoke"):
                u["open"] += 1
        return list(out.values())


class Handler(BaseHTTPRequestHandler):
    server_version = "ui-plan-stub"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("stub: " + (fmt % args) + "\n")

    # --- replies
    def send(self, code, body, ctype="application/json", extra=None):
        data = body if isinstance(body, bytes) else (json.dumps(body, ensure_ascii=False) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def error(self, code, err, msg, **more):
        self.send(code, dict({"error": err, "message": msg}, **more))

    # --- routing
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.route("GET")

    def do_POST(self):
        self.route("POST")

    def route(self, method):
        u = urlsplit(self.path)
        path, q = u.path, {k: v[-1] for k, v in parse_qs(u.query).items()}
        if path == "/ui/plans":
            if method != "GET":
                return self.error(405, "METHOD_NOT_ALLOWED", "use GET to load the review page")
            return self.send(200, PAGE, "text/html; charset=utf-8",
                             {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                              "Referrer-Policy": "no-referrer"})
        if not path.startswith("/v1/plans"):
            return self.error(404, "NOT_FOUND", "no such resource; see docs/openapi.yaml")
        auth = self.headers.get("Authorization", "")
        if auth != "Bearer " + KEY:
            return self.send(401, {"error": "UNAUTHORIZED", "message": "the API key in Authorization: Bearer is not accepted"
                                   if auth.startswith("Bearer ") else "no Authorization header: send Authorization: Bearer <your API key>"},
                             extra={"WWW-Authenticate": "Bearer"})
        body = None
        if method == "POST":
            n = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(n) or b"null")
            except ValueError:
                return self.error(400, "INVALID_JSON", "the body is not JSON")
            if not isinstance(body, dict):
                return self.error(400, "INVALID_JSON", "the body is not a JSON object")
        parts = path.split("/")[3:]  # after /v1/plans
        with STORE.lock:
            if not parts:
                if method != "GET":
                    return self.error(405, "METHOD_NOT_ALLOWED", "the stub does not build plans")
                return self.send(200, {"plans": [{k: v for k, v in STORE.plans[i].items() if k != "findings"} for i in STORE.order]})
            pid = parts[0]
            plan = STORE.plans.get(pid)
            if not plan:
                return self.error(404, "NOT_FOUND", "no such plan")
            rows = STORE.rows.get(pid, [])
            sub = parts[1:]
            if not sub and method == "GET":
                advance(plan)
                return self.send(200, plan)
            if sub == ["units"] and method == "GET":
                return self.send(200, STORE.units(pid))
            if sub == ["rows"] and method == "GET":
                sel = [r for r in rows if (not q.get("unit") or r["unit"] == q["unit"])
                       and (not q.get("action") or final_action(r) == q["action"])
                       and (not q.get("rule") or r["rule"] == q["rule"])]
                off = int(q.get("offset") or 0)
                lim = min(int(q.get("limit") or 100), 1000)
                return self.send(200, {"matched": len(sel), "rows": sel[off:off + lim]})
            if len(sub) == 2 and sub[0] == "rows" and method == "POST":
                return self.override(plan, rows, sub[1], body)
            if sub == ["approve"] and method == "POST":
                return self.approve(plan, rows, body)
            if sub in (["open"], ["report"], ["export"]) and method == "GET":
                lines = ["no,unit,new_unit,holder,serial,action,rule"] + [
                    '%d,"%s","%s","%s",%s,%s,%s' % (r["no"], r["unit"], r["new_unit"], r["holder"].replace('"', '""'),
                                                    r["serial"], final_action(r), r["rule"]) for r in rows]
                return self.send(200, ("\ufeff" + "\r\n".join(lines) + "\r\n").encode(), "text/csv; charset=utf-8",
                                 {"Content-Disposition": 'attachment; filename="plan-%s-%s.csv"' % (pid, sub[0])})
            if sub == ["bundle"] and method == "GET":
                unit = q.get("unit", "")
                mine = [r for r in rows if r["unit"] == unit and final_action(r) in ("change", "revoke")]
                if not any(r["unit"] == unit for r in rows):
                    return self.error(404, "NOT_FOUND", "the plan has no rows for this unit")
                return self.send(200, bundle_html(plan, unit, mine), "text/html; charset=utf-8")
        return self.error(404, "NOT_FOUND", "no such resource; see docs/openapi.yaml")

    def check_version(self, plan, body):
        v = body.get("version")
        if not isinstance(v, int) or isinstance(v, bool):
            self.error(400, "INVALID_FIELD", "version must be the plan's version you read", field="version")
            return False
        if v != plan["version"]:
            self.error(409, "VERSION_CONFLICT", "the plan is at version %d, not %d: someone changed it since you read it"
                       % (plan["version"], v))
            return False
        return True

    def override(self, plan, rows, no, body):
        if plan["state"] != "review":
            return self.error(409, "PLAN_APPROVED", "the plan is approved; rows can no longer change")
        row = next((r for r in rows if str(r["no"]) == no), None)
        if not row:
            return self.error(404, "NOT_FOUND", "the plan has no such row")
        act, reason, by = body.get("action"), body.get("reason"), body.get("by")
        if act not in ("keep", "change", "revoke"):
            return self.error(400, "INVALID_FIELD", "action must be keep, change or revoke", field="action")
        if act in ("change", "revoke") and not row["serial"]:
            return self.error(400, "INVALID_FIELD", "this row has no certificate to %s" % act, field="action")
        if not isinstance(reason, str) or not reason.strip():
            return self.error(400, "INVALID_FIELD", "an override needs a reason", field="reason")
        if not isinstance(by, str) or not by.strip():
            return self.error(400, "INVALID_FIELD", "say who overrides (by)", field="by")
        if not self.check_version(plan, body):
            return None
        at = now_iso()
        old = final_action(row)
        plan["version"] += 1
        plan["rev"] += 1
        row["override"] = {"action": act, "reason": reason, "by": by, "at": at, "version": plan["version"]}
        plan["history"].append({"version": plan["version"], "at": at, "by": by, "what": "override", "row": row["no"],
                                "from": old, "to": act, "reason": reason})
        plan["summary"] = summary(rows)
        return self.send(200, plan)

    def approve(self, plan, rows, body):
        if plan["state"] != "review":
            return self.error(409, "PLAN_APPROVED", "the plan is already approved")
        by = body.get("by")
        if not isinstance(by, str) or not by.strip():
            return self.error(400, "INVALID_FIELD", "say who approves (by)", field="by")
        if not self.check_version(plan, body):
            return None
        pending = [r["no"] for r in rows if final_action(r) == "decide"]
        if pending:
            return self.error(409, "DECISIONS_PENDING", "%d rows still need a decision" % len(pending), rows=pending)
        at = now_iso()
        plan["state"] = "approved"
        plan["version"] += 1
        plan["rev"] += 1
        plan["approved"] = {"by": by, "at": at, "version": plan["version"]}
        plan["history"].append({"version": plan["version"], "at": at, "by": by, "what": "approve"})
        to_file = sum(1 for r in rows if final_action(r) in ("change", "revoke"))
        plan["progress"] = {"rows": len(rows), "to_file": to_file, "filed": 0, "done": 0, "failed": 0,
                            "waiting_pin": 0, "waiting_device": 0, "in_progress": 0}
        return self.send(200, plan)


def advance(plan):
    """Each read of an approved plan moves its batch on a little, as the runner would."""
    p = plan.get("progress")
    if plan["state"] not in ("approved", "running") or not p:
        return
    if p["filed"] < p["to_file"]:
        p["filed"] = min(p["to_file"], p["filed"] + 9)
    settled = p["done"] + p["failed"]
    if settled < p["filed"] - 4:
        p["done"] += 3
        if p["failed"] == 0:
            p["failed"] = 1
    p["waiting_pin"] = 2 if p["filed"] > p["done"] + p["failed"] + 2 else 0
    p["waiting_device"] = 1 if p["filed"] > p["done"] + p["failed"] + 3 else 0
    p["in_progress"] = max(0, p["filed"] - p["done"] - p["failed"] - p["waiting_pin"] - p["waiting_device"])


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def bundle_html(plan, unit, rows):
    items = "".join("<li>%s – %s (%s)</li>" % (esc(r["holder"]), "Mẫu 07" if final_action(r) == "change" else "Mẫu 09",
                                                esc(r["serial"])) for r in rows) or "<li>Không có đề nghị nào</li>"
    return ("<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Hồ sơ %s</title>"
            "<style>@page { size: A4; margin: 20mm } body { font-family: 'Liberation Serif', serif; font-size: 13pt; "
            "color: rgb(20, 20, 20) } h1 { text-align: center; font-size: 15pt; text-transform: uppercase }</style>"
            "</head><body><h1>Hồ sơ đề nghị của %s</h1><p>Phương án: %s</p><ol>%s</ol></body></html>"
            % (esc(unit), esc(unit), esc(plan["name"]), items)).encode()


def csp_of(page):
    """As gw_plan_page_csp(): the hash of exactly the text inside the one <script> and <style>."""
    def source(tag):
        m = re.search(r"<%s>(.*?)</%s>" % (tag, tag), page, re.S)
        return "'sha256-%s'" % base64.b64encode(hashlib.sha256(m.group(1).encode()).digest()).decode()
    return ("default-src 'self'; script-src 'self' %s; style-src 'self' %s; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'" % (source("script"), source("style")))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--page", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--csp-file")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    PAGE = open(a.page, "rb").read()
    CSP = open(a.csp_file).read().strip() if a.csp_file else csp_of(PAGE.decode())
    KEY = a.key
    STORE = Store()
    srv = None
    # --port 0: a random port below the kernel's ephemeral range (32768+, where outgoing
    # connections take theirs), as tests/integration/lib.sh's free_port; binding is the test.
    for _ in range(200 if a.port == 0 else 1):
        try:
            srv = ThreadingHTTPServer(("127.0.0.1", a.port or random.randrange(10000, 32000)), Handler)
            break
        except OSError as e:
            err = e
    if srv is None:
        sys.exit("stub: cannot listen: %s" % err)
    print("stub ready port=%d" % srv.server_address[1], flush=True)
    srv.serve_forever()
