#!/usr/bin/env python3
"""metrics_check.py - keep simpki's /metrics, its Grafana dashboard and its alert
rules honest (tests/integration/e2e_metrics.sh runs it; Python 3 standard library,
plus PyYAML for the rules).

  metrics_check.py expo SCRAPE
      The Prometheus text exposition format, strictly, and simpki's naming
      conventions (docs/metrics.md): every name simpki_ and [a-z_:][a-z0-9_:]*,
      one HELP and one TYPE before a family's samples, a family's samples
      together, counters (and only counters) end in _total, histograms end in
      _seconds with cumulative buckets ending at +Inf = _count, no series twice.

  metrics_check.py refs SCRAPE DASHBOARD RULES [--pending NAME...]
      Every simpki_* name the dashboard's queries and the rules' expressions use
      is a series of the scrape (a renamed metric breaks this).  --pending: names
      another branch adds, tolerated while the daemon does not know them at all.

  metrics_check.py rules RULES
      The rule file parses and every alert says what an operator needs: a
      severity label and summary / description annotations.

  metrics_check.py dashboard DASHBOARD
      The dashboard is Grafana JSON with the datasource as ${DS_PROMETHEUS}.

  metrics_check.py dashboard-rules DASHBOARD OUT
      Writes the dashboard's queries as recording rules (Grafana's variables
      given values) to OUT, for `promtool check rules` to parse the PromQL.

  metrics_check.py nonzero SCRAPE SERIES...
      Each SERIES (a sample name with optional {label="value",...} subset) has a
      sample above 0.

Each subcommand prints one line per problem and exits 1 when there is one.
"""
import json
import math
import re
import sys

NAME = re.compile(r"[a-z_:][a-z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
SIMPKI_REF = re.compile(r"\bsimpki_[a-z0-9_:]+")
TYPES = ("counter", "gauge", "histogram")


class Problems(list):
    def add(self, lineno, msg):
        self.append(f"line {lineno}: {msg}" if lineno else msg)


def parse_labels(text, lineno, problems):
    """'a="x",b="y\\"z"' -> dict; problems for bad syntax, names or duplicates."""
    labels, i, n = {}, 0, len(text)
    while i < n:
        m = re.match(r"([^=]*)=\"", text[i:])
        if not m:
            problems.add(lineno, f"bad label syntax at {text[i:]!r}")
            return None
        name = m.group(1)
        if not LABEL_NAME.match(name) or name.startswith("__"):
            problems.add(lineno, f"bad label name {name!r}")
        i += m.end()
        value = []
        while i < n and text[i] != '"':
            if text[i] == "\\":
                if i + 1 >= n or text[i + 1] not in 'n"\\':
                    problems.add(lineno, "bad escape in a label value")
                    return None
                value.append({"n": "\n"}.get(text[i + 1], text[i + 1]))
                i += 2
            else:
                value.append(text[i])
                i += 1
        if i >= n:
            problems.add(lineno, "unterminated label value")
            return None
        i += 1
        if name in labels:
            problems.add(lineno, f"label {name} twice")
        labels[name] = "".join(value)
        if i < n:
            if text[i] != ",":
                problems.add(lineno, f"expected ',' between labels at {text[i:]!r}")
                return None
            i += 1
    return labels


def parse_value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.match(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z", text):
        raise ValueError(text)
    return float(text)


def parse(path):
    """The scrape as (families, samples, problems): families name -> {help, type, line},
    samples a list of (name, labels dict, value, family, lineno)."""
    problems = Problems()
    families, samples = {}, []
    current, closed = None, set()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.endswith("\n"):
        problems.add(0, "the exposition does not end with a newline")
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            problems.add(lineno, "empty line")
            continue
        if line.startswith("#"):
            m = re.match(r"# (HELP|TYPE) (\S+) ?(.*)\Z", line)
            if not m:
                if line.startswith("# HELP") or line.startswith("# TYPE"):
                    problems.add(lineno, f"malformed {line[2:6]} line")
                continue  # a plain comment
            kind, name, rest = m.groups()
            if not NAME.match(name):
                problems.add(lineno, f"bad metric name {name!r}")
            if name != current:
                if name in families or name in closed:
                    problems.add(lineno, f"{name}: family started again (its lines must come together)")
                if current:
                    closed.add(current)
                current = name
                families[name] = {"help": None, "type": None, "line": lineno, "samples": 0}
            fam = families[name]
            if fam["samples"]:
                problems.add(lineno, f"{name}: {kind} after its samples")
            key = kind.lower()
            if fam[key] is not None:
                problems.add(lineno, f"{name}: second {kind} line")
            if kind == "HELP" and not rest.strip():
                problems.add(lineno, f"{name}: empty HELP")
            if kind == "TYPE" and rest not in TYPES:
                problems.add(lineno, f"{name}: TYPE {rest!r} (simpki uses {', '.join(TYPES)})")
            fam[key] = rest
            continue
        m = re.match(r"([^{\s]+)(\{(.*)\})? (\S+)( -?\d+)?\Z", line)
        if not m:
            problems.add(lineno, f"not a sample line: {line!r}")
            continue
        name, _, ltext, vtext, _ts = m.groups()
        if not NAME.match(name):
            problems.add(lineno, f"bad metric name {name!r}")
        labels = parse_labels(ltext, lineno, problems) if ltext else {}
        if labels is None:
            continue
        try:
            value = parse_value(vtext)
        except ValueError:
            problems.add(lineno, f"{name}: value {vtext!r} is not a number")
            continue
        fam_name = current
        fam = families.get(current) if current else None
        ok_names = {current}
        if fam and fam["type"] == "histogram":
            ok_names = {current + "_bucket", current + "_sum", current + "_count"}
        if not fam or name not in ok_names:
            problems.add(lineno, f"{name}: sample outside its family (no HELP/TYPE just before, or another family's)")
            continue
        if fam["help"] is None or fam["type"] is None:
            problems.add(lineno, f"{name}: sample before its family has both HELP and TYPE")
        fam["samples"] += 1
        samples.append((name, labels, value, fam_name, lineno))
    return families, samples, problems


def check_expo(path):
    families, samples, problems = parse(path)
    seen = set()
    for name, fam in families.items():
        if not name.startswith("simpki_"):
            problems.add(fam["line"], f"{name}: not under the simpki_ prefix")
        if fam["help"] is None or fam["type"] is None:
            problems.add(fam["line"], f"{name}: needs both HELP and TYPE")
        t = fam["type"]
        if t == "counter" and not name.endswith("_total"):
            problems.add(fam["line"], f"{name}: a counter must end in _total")
        if t != "counter" and name.endswith("_total"):
            problems.add(fam["line"], f"{name}: ends in _total but is a {t}")
        if t == "histogram" and not re.search(r"_(seconds|bytes)\Z", name):
            problems.add(fam["line"], f"{name}: a histogram's name ends in its unit (_seconds, _bytes)")
        if re.search(r"(^|_)(counter|gauge|histogram|summary)(_|\Z)", name[len("simpki_"):]):
            problems.add(fam["line"], f"{name}: the name should not include a metric type")
        if re.search(r"_(ms|millis|milliseconds|us|micros|ns|kb|mb)(_|\Z)", name):
            problems.add(fam["line"], f"{name}: use base units (seconds, bytes)")
    hist = {}
    for name, labels, value, fam, lineno in samples:
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            problems.add(lineno, f"{name}{labels}: the same series twice")
        seen.add(key)
        t = families[fam]["type"]
        if t == "counter" and (value < 0 or math.isnan(value)):
            problems.add(lineno, f"{name}: counter value {value} below 0")
        if t == "histogram":
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            h = hist.setdefault((fam, rest), {"buckets": [], "sum": None, "count": None, "line": lineno})
            if name.endswith("_bucket"):
                if "le" not in labels:
                    problems.add(lineno, f"{name}: bucket without le")
                    continue
                try:
                    le = parse_value(labels["le"])
                except ValueError:
                    problems.add(lineno, f"{name}: le={labels['le']!r} is not a number")
                    continue
                h["buckets"].append((le, value, lineno))
            elif "le" in labels:
                problems.add(lineno, f"{name}: le on a _sum or _count")
            elif name.endswith("_sum"):
                h["sum"] = value
            else:
                h["count"] = value
    for (fam, rest), h in hist.items():
        where = f"{fam}{dict(rest)}"
        b = h["buckets"]
        if not b:
            problems.add(h["line"], f"{where}: no buckets")
            continue
        for (le0, c0, _), (le1, c1, ln) in zip(b, b[1:]):
            if not le1 > le0:
                problems.add(ln, f"{where}: le {le1} not above {le0}")
            if c1 < c0:
                problems.add(ln, f"{where}: buckets not cumulative ({c1} after {c0})")
        if b[-1][0] != math.inf:
            problems.add(b[-1][2], f"{where}: the last bucket is not le=\"+Inf\"")
        if h["count"] is None or h["sum"] is None:
            problems.add(h["line"], f"{where}: needs _sum and _count")
        elif b[-1][1] != h["count"]:
            problems.add(h["line"], f"{where}: +Inf bucket {b[-1][1]} != _count {h['count']}")
        elif h["sum"] < 0:
            problems.add(h["line"], f"{where}: negative _sum")
    return problems, families, samples


def load_rules(path):
    import yaml  # python3-yaml (tests/run.sh installs it)

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def rule_exprs(doc):
    for g in doc.get("groups") or []:
        for r in g.get("rules") or []:
            yield r.get("alert") or r.get("record"), str(r.get("expr", ""))


def dashboard_exprs(doc):
    def walk(panels):
        for p in panels or []:
            for t in p.get("targets") or []:
                if "expr" in t:
                    yield p.get("title", "?"), t["expr"]
            yield from walk(p.get("panels"))

    yield from walk(doc.get("panels"))
    for v in (doc.get("templating") or {}).get("list") or []:
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if v.get("type") == "query" and isinstance(q, str):
            yield "variable " + v.get("name", "?"), q


def check_refs(scrape, dashboard, rules, pending):
    problems = Problems()
    _, samples, p = parse(scrape)
    problems.extend(p)
    present = {s[0] for s in samples}
    with open(dashboard, encoding="utf-8") as f:
        dash = json.load(f)
    uses = [("dashboard: " + t, e) for t, e in dashboard_exprs(dash)]
    uses += [("rule " + str(a), e) for a, e in rule_exprs(load_rules(rules))]
    if not uses:
        problems.add(0, "no query found in the dashboard or the rules")
    names, noted = 0, set()
    for where, expr in uses:
        for name in SIMPKI_REF.findall(expr):
            names += 1
            if name in present:
                continue
            if name in pending:
                if name not in noted:
                    print(f"note: {name} ({where}) is another branch's series, not in this daemon yet")
                noted.add(name)
                continue
            problems.add(0, f"{where}: {name} is not in the scrape")
    if names == 0:
        problems.add(0, "no simpki_ series referenced at all")
    print(f"{len(uses)} queries, {names} references to simpki_ series checked")
    return problems


def check_rules(path):
    problems = Problems()
    try:
        doc = load_rules(path)
    except Exception as e:  # noqa: BLE001 - any parse error is the finding
        problems.add(0, f"{path}: {e}")
        return problems
    if not isinstance(doc, dict) or not doc.get("groups"):
        problems.add(0, "no groups")
        return problems
    alerts = 0
    for g in doc["groups"]:
        if not g.get("name"):
            problems.add(0, "a group without a name")
        for r in g.get("rules") or []:
            name = r.get("alert")
            if not name:
                continue
            alerts += 1
            if not str(r.get("expr", "")).strip():
                problems.add(0, f"{name}: no expr")
            if (r.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                problems.add(0, f"{name}: labels.severity must be critical, warning or info")
            ann = r.get("annotations") or {}
            for k in ("summary", "description"):
                if len(str(ann.get(k, "")).strip()) < 10:
                    problems.add(0, f"{name}: annotations.{k} missing or too short to act on")
    if alerts == 0:
        problems.add(0, "no alert rules")
    print(f"{alerts} alerts")
    return problems


def check_dashboard(path):
    problems = Problems()
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    inputs = [i.get("name") for i in d.get("__inputs") or []]
    if "DS_PROMETHEUS" not in inputs:
        problems.add(0, "__inputs does not declare DS_PROMETHEUS")
    panels = []

    def walk(ps):
        for p in ps or []:
            panels.append(p)
            walk(p.get("panels"))

    walk(d.get("panels"))
    if not d.get("title") or not d.get("uid"):
        problems.add(0, "the dashboard needs a title and a uid")
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        problems.add(0, "panel ids are not unique")
    for p in panels:
        if p.get("type") == "row":
            continue
        ds = json.dumps(p.get("datasource"))
        if "${DS_PROMETHEUS}" not in ds:
            problems.add(0, f"panel {p.get('title')!r}: datasource is not ${{DS_PROMETHEUS}}")
        if not p.get("targets"):
            problems.add(0, f"panel {p.get('title')!r}: no query")
        if "gridPos" not in p:
            problems.add(0, f"panel {p.get('title')!r}: no gridPos")
    print(f"{len(panels)} panels")
    return problems


def dashboard_rules(path, out):
    """Each dashboard query as a recording rule; Grafana's variables replaced by plain values."""
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    values = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$instance": ".*"}
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    n = 0
    for title, expr in dashboard_exprs(d):
        if expr.startswith("label_values("):
            continue  # a Grafana function, not PromQL
        for k, v in values.items():
            expr = expr.replace(k, v)
        n += 1
        lines += [f"      - record: dashboard:query{n}", f"        expr: {json.dumps(expr)}"]
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{n} queries written")
    return Problems() if n else Problems(["no query"])


def check_nonzero(scrape, wanted):
    problems = Problems()
    _, samples, p = parse(scrape)
    problems.extend(p)
    for w in wanted:
        m = re.match(r"([^{]+)(?:\{(.*)\})?\Z", w)
        name, ltext = m.group(1), m.group(2)
        want = parse_labels(ltext, 0, problems) if ltext else {}
        vals = [v for n, lab, v, _, _ in samples if n == name and all(lab.get(k) == x for k, x in want.items())]
        if not vals:
            problems.add(0, f"{w}: no such sample")
        elif max(vals) <= 0:
            problems.add(0, f"{w}: still 0")
    return problems


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "expo":
        problems, families, samples = check_expo(args[0])
        print(f"{len(families)} families, {len(samples)} samples")
    elif cmd == "refs":
        pending = args[args.index("--pending") + 1 :] if "--pending" in args else []
        problems = check_refs(args[0], args[1], args[2], set(pending))
    elif cmd == "rules":
        problems = check_rules(args[0])
    elif cmd == "dashboard":
        problems = check_dashboard(args[0])
    elif cmd == "dashboard-rules":
        problems = dashboard_rules(args[0], args[1])
    elif cmd == "nonzero":
        problems = check_nonzero(args[0], args[1:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
