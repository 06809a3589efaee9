#!/usr/bin/env python3
"""check_logs.py - every line of every gateway log the integration tests archived
(tests/integration/lib.sh archive_logs: DIR/<test>.<file>.log, DIR/<test>.secrets).

  check_logs.py --reset DIR    empty DIR (the ctest fixture's setup, before the suite)
  check_logs.py DIR            check it (the fixture's cleanup, after the whole suite)
  check_logs.py --self-test    each check against lines it must refuse and lines it must pass

Each line must be one JSON object (strict UTF-8, no NaN, no duplicate key) of exactly the
fields config/log.c writes: ts (RFC 3339 UTC with milliseconds), level (error, warn, info,
debug), subsys, msg, and optionally instance and peer, all non-empty strings but msg.
No line, in any field, may carry:
  - a Vietnamese phone number unmasked: 84 or 0, then 9 digits whose first is 3, 5, 7, 8 or 9
    (84960000001, 0912345678), as a whole token; log_msisdn's 8496****001 is fine;
  - an ID number: a 12-digit token (CCCD) or a 9-digit one (CMND), and literally each fixture
    ID number of tests/ and deploy/ (FIXTURE_IDS below, plus any 12-digit number in the files
    named by --id-source);
  - a secret: an "Authorization"/"Bearer" token, or any line of the test's own .secrets file
    (its API keys, SMPP passwords, OTA master keys, the CMP shared secret).
Exits 1 naming file:line of the first offending lines (at most 20), 0 when all is clean and at
least one log line was read (a check of nothing is no check); 77 (skipped) when no integration
test ran before it at all (ctest -R it_logs_check alone).
"""
import json
import os
import re
import sys

LEVELS = {"error", "warn", "info", "debug"}
REQUIRED = ("ts", "level", "subsys", "msg")
OPTIONAL = ("instance", "peer")
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# A token: not inside a longer run of digits or letters (hex transaction ids, ICCIDs).
PHONE = re.compile(r"(?<![0-9A-Za-z])(?:84|0)[35789][0-9]{8}(?![0-9A-Za-z])")
CCCD = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")
CMND = re.compile(r"(?<![0-9A-Za-z.:])[0-9]{9}(?![0-9A-Za-z])")
BEARER = re.compile(r"(?i)(authorization|bearer)[\"':= ]+[A-Za-z0-9_\-+/=]{8,}")
# The ID numbers the enrolment, lifecycle and merger tests put in certificates and CSV files.
FIXTURE_IDS = ["001060000182", "001060000181", "001060000001", "001234567890", "001234567891",
               "008085000101", "079123456789", "027186004512", "027086004512", "001099000001"]
MAX_REPORTED = 20


def reject_constant(c):
    raise ValueError("not JSON: " + c)


def no_dupes(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def line_problem(raw, secrets, ids):
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        return "not UTF-8: %s" % e
    if not text.endswith("\n"):
        return "no newline at the end (a cut line)"
    try:
        o = json.loads(text, parse_constant=reject_constant, object_pairs_hook=no_dupes)
    except ValueError as e:
        return "not JSON: %s" % e
    if not isinstance(o, dict):
        return "not a JSON object"
    for k in REQUIRED:
        if k not in o:
            return "no %r" % k
    for k, v in o.items():
        if k not in REQUIRED and k not in OPTIONAL:
            return "unknown field %r" % k
        if not isinstance(v, str):
            return "%r is not a string" % k
        if k != "msg" and v == "":
            return "%r is empty" % k
    if not TS.match(o["ts"]):
        return "ts %r is not RFC 3339 UTC with milliseconds" % o["ts"]
    if o["level"] not in LEVELS:
        return "level %r is not one of %s" % (o["level"], sorted(LEVELS))
    # Every field, as the collector would see it once decoded (an escape hides nothing).
    values = " | ".join(o.values())
    for rx, what in ((PHONE, "an unmasked phone number"), (CCCD, "a 12-digit (CCCD) number"),
                     (CMND, "a 9-digit (CMND) number")):
        m = rx.search(values)
        if m:
            return "%s: %s" % (what, m.group(0))
    for i in ids:
        if i in values:
            return "a fixture ID number: %s" % i
    if BEARER.search(values):
        return "an Authorization/Bearer token"
    for s in secrets:
        if s in values:
            return "a secret of this test (%s...)" % s[:3]
    return None


# --self-test: lines the checks must refuse (with the reason's first words) and lines they must
# pass, so that a check which no longer catches anything fails here even when the suite is clean.
SELF_TEST = [
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","instance":"gw-1","subsys":"txn","peer":"0a1b2c",'
     '"msg":"SIM 8496****001 answered"}\n', None),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"main","msg":"for 84912345678"}\n', "an unmasked phone"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"main","msg":"0912345678"}\n', "an unmasked phone"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"m","peer":"84912345678","msg":""}\n',
     "an unmasked phone"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"main","msg":"UID=CCCD:001060000182"}\n', "a 12-digit"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"main","msg":"cmnd 123456789"}\n', "a 9-digit"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"http","msg":"Authorization: Bearer abcdefgh12"}\n',
     "an Authorization"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"smpp","msg":"password vt-test-secret"}\n', "a secret"),
    ('{"ts":"2026-12-06T06:45:47Z","level":"info","subsys":"m","msg":""}\n', "ts "),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"notice","subsys":"m","msg":""}\n', "level "),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","msg":""}\n', "no 'subsys'"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"m","msg":"","x":"1"}\n', "unknown field"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"m","msg":"a","msg":"b"}\n', "not JSON"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"m","msg":"cut', "no newline"),
    ('2026-12-06T06:45:47.246Z INFO  main started\n', "not JSON"),
    ('{"ts":"2026-12-06T06:45:47.246Z","level":"info","subsys":"m","msg":"\xff"}\n', "not UTF-8"),
]


def self_test():
    failed = 0
    for line, want in SELF_TEST:
        raw = line.encode("utf-8", "surrogateescape") if "\xff" not in line else line.encode("latin-1")
        got = line_problem(raw, ["vt-test-secret"], FIXTURE_IDS)
        if (want is None) != (got is None) or (want and not got.startswith(want)):
            failed += 1
            print("FAIL %r: expected %s, got %s" % (line[:80], want or "a pass", got or "a pass"))
    print("check_logs self-test: %d passed, %d failed" % (len(SELF_TEST) - failed, failed))
    return 1 if failed else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) == 3 and argv[1] == "--reset":
        os.makedirs(argv[2], exist_ok=True)
        for f in os.listdir(argv[2]):
            os.unlink(os.path.join(argv[2], f))
        return 0
    args = argv[1:]
    ids = list(FIXTURE_IDS)
    while len(args) >= 2 and args[0] == "--id-source":
        with open(args[1], encoding="utf-8", errors="replace") as f:
            ids += CCCD.findall(f.read())
        args = args[2:]
    if len(args) != 1:
        print("usage: check_logs.py [--reset] [--id-source FILE]... DIR", file=sys.stderr)
        return 2
    d = args[0]
    logs = sorted(f for f in os.listdir(d) if f.endswith(".log")) if os.path.isdir(d) else []
    bad, lines = [], 0
    for name in logs:
        test = name.split(".", 1)[0]
        secrets = []
        try:
            with open(os.path.join(d, test + ".secrets"), encoding="utf-8") as f:
                # Short words ("ap-test") only as whole tokens would be noise; keep 6+ characters.
                secrets = [s for s in f.read().split("\n") if len(s) >= 6]
        except FileNotFoundError:
            pass
        with open(os.path.join(d, name), "rb") as f:
            for n, raw in enumerate(f, 1):
                lines += 1
                p = line_problem(raw, secrets, ids)
                if p:
                    bad.append("%s:%d: %s\n    %s" % (os.path.join(d, name), n, p,
                                                       raw[:300].decode("utf-8", "replace").rstrip()))
    if bad:
        for b in bad[:MAX_REPORTED]:
            print(b)
        print("%d offending line(s) of %d in %d log(s)" % (len(bad), lines, len(logs)))
        print("it_logs_check: 0 passed, 1 failed")
        return 1
    if lines == 0:
        # A test that used lib.sh leaves its .secrets: then its logs were due and are missing.
        if os.path.isdir(d) and any(f.endswith(".secrets") for f in os.listdir(d)):
            print("it_logs_check: tests ran but no log line in %s: 0 passed, 1 failed" % d)
            return 1
        print("it_logs_check: no integration test ran before this one; nothing to check (skipped)")
        return 77
    print("it_logs_check: %d lines in %d logs, every one a JSON object with ts, level, subsys, msg; "
          "no unmasked number, no ID number, no secret" % (lines, len(logs)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
