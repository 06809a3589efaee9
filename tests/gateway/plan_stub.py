#!/usr/bin/env python3
"""plan_stub.py - a stand-in for simpkid's /v1/plans (gateway/merge/gw_plan.h),
for tests/gateway/test_admin_plan.sh: the shapes of the API, none of its rules.

    python3 plan_stub.py PORTFILE LOGFILE

Listens on 127.0.0.1 on a free port, written to PORTFILE once it listens.
Every request is appended to LOGFILE as one JSON line: method, path, query,
authorization, body (parsed JSON, or the text).

Keys: "Bearer operator-key" is an operator, "Bearer signer-key" a key
without the role (403), anything else 401.

Behaviour the test drives:
  - a staff file holding "BROKEN" is refused: 400 INVALID_INPUT with findings;
  - a build takes four polls (build.read 0, 250, ... of 1000), then "review";
    a plan named with "FAILBUILD" ends "failed";
  - rows are served at most 4 a page whatever limit asks (the CLI must page);
    PLAN_STUB_PAGE and PLAN_STUB_ROWS change that and add rows, for measuring;
  - approve is refused (409 DECISIONS_PENDING) while a row's final action is
    "decide"; POST /_stub/conflict makes the next override or approve a 409
    VERSION_CONFLICT;
  - an approved plan runs over the next polls; a row whose holder holds
    "FAIL" ends failed.
"""
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
PLANS = {}
ORDER = []
STATE = {"conflict_next": False, "seq": 0}


def rows_for(name):
    """The rows of a new plan: Vietnamese units of different widths, every action."""
    rows = [
        dict(no=1, unit="UBND xã Tân Lập", new_unit="UBND xã Tân Thành", kind="organisation",
             holder="UBND XÃ TÂN LẬP", msisdn="84961234501", serial="1A2B3C", action="change", rule="O1",
             detail="Mẫu 07: O và CN theo tên mới", id_number=""),
        dict(no=2, unit="UBND xã Tân Lập", new_unit="UBND xã Tân Thành", kind="person",
             holder="Nguyễn Văn Ánh", msisdn="84961234502", serial="4D5E6F", action="revoke", rule="P3",
             detail="không còn giữ chức vụ lãnh đạo", id_number="001234567890"),
        dict(no=3, unit="UBND xã Tân Lập", new_unit="UBND xã Tân Thành", kind="person",
             holder="Trần Thị Bích Ngọc", msisdn="84961234503", serial="7A8B9C", action="decide", rule="D4",
             detail="không có trong danh sách cán bộ", id_number=""),
        dict(no=4, unit="Phòng Nội vụ huyện Yên Sơn", new_unit="Sở Nội vụ", kind="person",
             holder="Lê Văn FAIL Cường", msisdn="84961234504", serial="ABCDEF", action="change", rule="P1",
             detail="chuyển đơn vị, giữ thiết bị", id_number=""),
        dict(no=5, unit="Phòng Nội vụ huyện Yên Sơn", new_unit="Sở Nội vụ", kind="person",
             holder="Phạm Thu Hà", msisdn="84961234505", serial="ABCDF0", action="keep", rule="P5",
             detail="", id_number=""),
        dict(no=6, unit="Phòng Nội vụ huyện Yên Sơn", new_unit="Sở Nội vụ", kind="organisation",
             holder="=HYPERLINK(\"x\")", msisdn="", serial="ABCDF1", action="decide", rule="D1",
             detail="hai ứng viên, chọn một\x1b[31m", id_number=""),
    ]
    # For measuring the CLI on a large plan (not used by the test): PLAN_STUB_ROWS more rows.
    for i in range(int(os.environ.get("PLAN_STUB_ROWS", "0"))):
        rows.append(dict(rows[1], no=7 + i, holder="Nguyễn Văn %d" % i, msisdn="849%08d" % i, serial="%X" % i))
    if "CLEAN" in name:
        for r in rows:
            r["holder"] = r["holder"].replace("FAIL", "OK")
    return rows


def summary(rows):
    by_action, by_rule = {}, {}
    for r in rows:
        by_action[r["action"]] = by_action.get(r["action"], 0) + 1
        by_rule[r["rule"]] = by_rule.get(r["rule"], 0) + 1
    rules = [{"id": i, "action": a, "en": e, "vi": ""} for i, a, e in [
        ("O1", "change", "the only organisation certificate of its new unit: renamed (Mẫu 07)"),
        ("P1", "change", "moves, keeps a leadership post and the device (Mẫu 07)"),
        ("P3", "revoke", "no longer a leader: revoked (Mẫu 09) and the device handed back"),
        ("P5", "keep", "stays, still a leader"),
        ("D1", "decide", "two candidates for the one organisation certificate"),
        ("D4", "decide", "not in the staff list"),
        ("D5", "decide", "a /cs number"),
    ]]
    return {"rows": len(rows), "by_action": by_action, "by_rule": by_rule, "units": 2, "rules": rules}


def final(r):
    return r.get("override", {}).get("action") or r["action"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, obj=None, text=None, ctype="application/json"):
        data = (json.dumps(obj, ensure_ascii=False) if obj is not None else text).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def error(self, code, err, msg, **extra):
        self.reply(code, dict({"error": err, "message": msg}, **extra))

    def record(self, body):
        u = urllib.parse.urlsplit(self.path)
        entry = {"method": self.command, "path": u.path, "query": urllib.parse.parse_qs(u.query),
                 "authorization": self.headers.get("Authorization", ""), "body": body}
        with LOCK, open(sys.argv[2], "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def do_GET(self):
        self.handle_any(None)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        self.handle_any(body)

    def handle_any(self, body):
        self.record(body)
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        parts = [p for p in u.path.split("/") if p]
        if parts[:1] == ["_stub"]:
            STATE["conflict_next"] = True
            return self.reply(200, {})
        auth = self.headers.get("Authorization", "")
        if auth == "Bearer signer-key":
            return self.error(403, "FORBIDDEN", "this API key has no \"operator\" role")
        if auth != "Bearer operator-key":
            return self.error(401, "UNAUTHORIZED", "missing or unknown API key")
        if parts[:2] != ["v1", "plans"]:
            return self.error(404, "NOT_FOUND", "no such resource")
        with LOCK:
            return self.route(parts[2:], q, body)

    def route(self, rest, q, body):
        if not rest:
            if self.command == "POST":
                return self.build(body)
            return self.reply(200, {"plans": [public(PLANS[i]) for i in ORDER]})
        plan = PLANS.get(rest[0])
        if plan is None:
            return self.error(404, "NOT_FOUND", "no such plan")
        if len(rest) == 1:
            advance(plan)
            return self.reply(200, public(plan))
        what = rest[1]
        if what == "rows" and len(rest) == 2:
            sel = [r for r in plan["rows"] if (not q.get("unit") or r["unit"] == q["unit"])
                   and (not q.get("action") or final(r) == q["action"])]
            off, lim = int(q.get("offset", 0)), min(int(q.get("limit", 100)), int(os.environ.get("PLAN_STUB_PAGE", "4")))
            return self.reply(200, {"matched": len(sel), "rows": sel[off:off + lim]})
        if what == "rows" and len(rest) == 3 and self.command == "POST":
            return self.override(plan, int(rest[2]), body)
        if what == "approve":
            return self.approve(plan, body)
        if what == "units":
            units = {}
            for r in plan["rows"]:
                u = units.setdefault(r["unit"], {"unit": r["unit"], "new_unit": r["new_unit"], "rows": 0,
                                                 "by_action": {}, "open": 0})
                u["rows"] += 1
                if r.get("state") not in ("done", "failed", "rejected") and final(r) in ("change", "revoke"):
                    u["open"] += 1
            return self.reply(200, list(units.values()))
        if what == "open":
            lines = ["unit,open"] + ["%s,%d" % (u, n) for u, n in [("UBND xã Tân Lập", 2)]]
            return self.reply(200, text="\r\n".join(lines) + "\r\n", ctype="text/csv")
        if what == "bundle":
            if q.get("unit") not in {r["unit"] for r in plan["rows"]}:
                return self.error(404, "NOT_FOUND", "no rows of that unit")
            return self.reply(200, text="<!DOCTYPE html><title>%s</title>" % q["unit"], ctype="text/html")
        if what == "export":
            if q.get("format") == "csv":
                return self.reply(200, text="id,form\r\nm%sr1,change\r\n" % plan["id"][1:], ctype="text/csv")
            return self.reply(200, {"format": "simpki-forms/1", "requests": []})
        return self.error(404, "NOT_FOUND", "no such resource")

    def build(self, body):
        if not isinstance(body, dict) or "BROKEN" in body.get("staff", ""):
            findings = [
                {"file": "staff", "line": 12, "column": "id_number", "code": "INVALID",
                 "message": "must be 12 digits", "warning": False},
                {"file": "reorg", "line": 0, "column": "", "code": "HEADER",
                 "message": "required column basis is missing", "warning": False},
                {"file": "staff", "line": 30, "column": "full_name", "code": "FORMULA",
                 "message": "a spreadsheet formula\x1b[2J is never taken as data", "warning": False},
                {"file": "reorg", "line": 4, "column": "old_unit", "code": "SPLIT",
                 "message": "the old unit maps to 2 new units", "warning": True},
            ]
            return self.error(400, "INVALID_INPUT", "the files have errors", findings=findings, more=7)
        STATE["seq"] += 1
        pid = "p%012x" % (0xabc000 + STATE["seq"])
        plan = {"id": pid, "name": body["name"], "state": "building", "version": 1, "rev": 1,
                "deadline": body["deadline"], "created_at": "2026-12-06T02:00:00Z", "created_by": body["by"],
                "basis": "Nghị quyết 202/2025/QH15", "effective": "2026-07-01",
                "build": {"read": 0, "total": 1000}, "findings": [
                    {"file": "reorg", "line": 4, "column": "old_unit", "code": "SPLIT",
                     "message": "the old unit maps to 2 new units", "warning": True}],
                "history": [], "rows": rows_for(body["name"]), "polls": 0}
        PLANS[pid] = plan
        ORDER.append(pid)
        return self.reply(202, public(plan))

    def override(self, plan, no, body):
        if plan["state"] != "review":
            return self.error(409, "PLAN_APPROVED", "the plan is approved")
        if STATE["conflict_next"] or body.get("version") != plan["version"]:
            STATE["conflict_next"] = False
            return self.error(409, "VERSION_CONFLICT", "the plan is at version %d" % (plan["version"] + 1))
        if body.get("action") not in ("keep", "change", "revoke"):
            return self.error(400, "INVALID_FIELD", "no such action", field="action")
        row = next((r for r in plan["rows"] if r["no"] == no), None)
        if row is None:
            return self.error(404, "NOT_FOUND", "no such row")
        plan["version"] += 1
        plan["history"].append({"version": plan["version"], "at": "2026-12-06T02:10:00Z", "by": body["by"],
                                "what": "override", "row": no, "from": final(row), "to": body["action"],
                                "reason": body["reason"]})
        row["override"] = {"action": body["action"], "reason": body["reason"], "by": body["by"],
                           "at": "2026-12-06T02:10:00Z", "version": plan["version"]}
        return self.reply(200, public(plan))

    def approve(self, plan, body):
        if STATE["conflict_next"] or body.get("version") != plan["version"]:
            STATE["conflict_next"] = False
            return self.error(409, "VERSION_CONFLICT", "the plan is at version %d" % (plan["version"] + 1))
        pending = [r["no"] for r in plan["rows"] if final(r) == "decide"]
        if pending:
            return self.error(409, "DECISIONS_PENDING", "%d rows need a decision" % len(pending), rows=pending)
        plan["state"] = "approved"
        plan["approved"] = {"by": body["by"], "at": "2026-12-06T02:20:00Z", "version": plan["version"]}
        plan["runs"] = 0
        return self.reply(200, public(plan))


def advance(plan):
    """One poll's worth of work: the build reads 250 entries a poll, the run finishes a row a poll."""
    plan["polls"] += 1
    if plan["state"] == "building":
        b = plan["build"]
        b["read"] = min(b["total"], b["read"] + 250)
        if plan["polls"] > 4:
            plan["state"] = "failed" if "FAILBUILD" in plan["name"] else "review"
            if plan["state"] == "failed":
                plan["error"] = "the registry could not be read"
            else:
                plan["summary"] = summary(plan["rows"])
    elif plan["state"] in ("approved", "running"):
        plan["state"] = "running"
        todo = [r for r in plan["rows"] if final(r) in ("change", "revoke") and r.get("state") not in
                ("done", "failed")]
        if todo:
            r = todo[0]
            r["request_id"] = "m%sr%d" % (plan["id"][1:], r["no"])
            r["state"] = "failed" if "FAIL" in r["holder"] else "done"
        else:
            plan["state"] = "finished"
    if plan["state"] in ("approved", "running", "finished"):
        batch = [r for r in plan["rows"] if final(r) in ("change", "revoke")]
        st = [r.get("state", "") for r in batch]
        # As gw_plan.h: rows is every row of the plan, to_file every request it files.
        plan["progress"] = {"rows": len(plan["rows"]), "to_file": len(batch), "filed": len(batch) - st.count(""),
                            "done": st.count("done"), "failed": st.count("failed"), "waiting_pin": 0,
                            "waiting_device": 0, "in_progress": 0}
        plan["handovers"] = [{"group": "1", "receiver": "UBND huyện Yên Sơn", "rows": [2],
                              "request_id": "m%sh1" % plan["id"][1:]}]


def public(plan):
    return {k: v for k, v in plan.items() if k not in ("rows", "polls", "runs")}


def main():
    # A port below the kernel's ephemeral range (32768+), as tests/integration/lib.sh picks them;
    # bound here, so no other test can take it between choosing and binding.
    import random
    for _ in range(200):
        try:
            srv = ThreadingHTTPServer(("127.0.0.1", random.randrange(10000, 32000)), Handler)
            break
        except OSError:
            continue
    else:
        sys.exit("plan_stub: no free port")
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
