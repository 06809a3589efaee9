#!/usr/bin/env python3
"""Steady signing load through the load balancer for e2e_failover.sh, as a
careful client would send it, and what it saw.

    failover_load.py URL TOKEN NUMBERS_FILE OUT_DIR [--workers N] [--rate R]
                     [--txn-timeout S]

Each worker owns some of the numbers (one transaction per number at a time:
the gateway refuses a second while one is pending) and loops: POST a
signature request (display text "fo rSEQ", so the simulator's log names the
request), then long-poll it to its end.  Like a real client it retries:
a 503/429 after its Retry-After, a 502/504 or a dropped connection (the POST
may have reached an instance) with the same Idempotency-Key, so a request is
never created twice.  A transaction that got a 202 (or 200, the same
transaction again) is followed until it is no longer pending.

Stops when OUT_DIR/stop exists; workers finish the transaction they follow.
While running, OUT_DIR/pending holds "INSTANCE N" lines: transactions accepted
through each instance (haproxy's X-Simpki-Instance) and not finished yet.
OUT_DIR/kills, written by the test ("EPOCH LABEL [INSTANCE]" lines), is read at
the end.  Writes OUT_DIR/summary.json and prints a report:

  - every answer by status; 503s with and without Retry-After;
  - for each kill, the time to the first successful answer to a request sent
    after it, and the errors in between (printed, never judged here);
  - for a killed instance, what became of the transactions it had in flight.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def now():
    return time.time()


class Run:
    def __init__(self, a):
        self.a = a
        u = urllib.parse.urlsplit(a.url)
        self.host, self.port = u.hostname, u.port
        self.lock = threading.Lock()
        self.answers = []  # (t_sent, t_answered, method, status, retry_after or None)
        self.txns = {}  # id -> record
        self.keys = {}  # Idempotency-Key -> set of ids answered
        self.seq = 0
        self.next_slot = now()
        self.run_id = hashlib.sha256(os.urandom(16)).hexdigest()[:8]

    def stopped(self):
        return os.path.exists(os.path.join(self.a.out, "stop"))

    def pace(self):
        """Global open-loop pacing: at most --rate POSTs a second."""
        with self.lock:
            self.seq += 1
            seq = self.seq
            slot = max(self.next_slot, now())
            self.next_slot = slot + 1.0 / self.a.rate
        d = slot - now()
        if d > 0:
            time.sleep(d)
        return seq

    def note(self, t0, method, status, ra):
        with self.lock:
            self.answers.append((t0, now(), method, status, ra))

    def write_pending(self):
        by = {}
        with self.lock:
            for t in self.txns.values():
                if t["final"] is None:
                    by[t["instance"]] = by.get(t["instance"], 0) + 1
        tmp = os.path.join(self.a.out, "pending.tmp")
        with open(tmp, "w") as f:
            for k, v in sorted(by.items()):
                f.write("%s %d\n" % (k, v))
        os.replace(tmp, os.path.join(self.a.out, "pending"))


class Client:
    """One keep-alive connection to the balancer; a new one after any error."""

    def __init__(self, run):
        self.run = run
        self.c = None

    def request(self, method, path, body=None, headers=None, timeout=15):
        h = {"Authorization": "Bearer " + self.run.a.token}
        h.update(headers or {})
        if body is not None:
            h["Content-Type"] = "application/json"
        t0 = now()
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection(self.run.host, self.run.port, timeout=timeout)
            self.c.timeout = timeout
            if self.c.sock:
                self.c.sock.settimeout(timeout)
            self.c.request(method, path, body=body, headers=h)
            r = self.c.getresponse()
            data = r.read()
            status, ra, inst = r.status, r.getheader("Retry-After"), r.getheader("X-Simpki-Instance")
            if r.getheader("Connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            status, ra, inst, data = 0, None, None, b""
        self.run.note(t0, method, status, ra)
        try:
            j = json.loads(data) if data else None
        except ValueError:
            j = None
        return status, ra, inst, j

    def close(self):
        if self.c is not None:
            self.c.close()
        self.c = None


def backoff(status, ra):
    if status in (503, 429):
        try:
            return min(max(float(ra), 0.1), 5.0)
        except (TypeError, ValueError):
            return 1.0
    return 0.2


def worker(run, numbers):
    cl = Client(run)
    a = run.a
    i = 0
    while not run.stopped():
        msisdn = numbers[i % len(numbers)]
        i += 1
        seq = run.pace()
        if run.stopped():
            break
        key = "fo-%s-%d" % (run.run_id, seq)
        tag = "fo r%d" % seq
        digest = hashlib.sha256(key.encode()).digest()
        body = json.dumps(
            {"msisdn": msisdn, "digest": base64.b64encode(digest).decode(), "digest_alg": "SHA-256", "display_text": tag}
        )
        # POST until an answer says what happened (202/200: created; 4xx: refused).
        give_up = now() + a.txn_timeout + 30
        tid = None
        with run.lock:
            run.keys.setdefault(key, set())
        while now() < give_up:
            st, ra, inst, j = cl.request("POST", "/v1/signatures", body, {"Idempotency-Key": key})
            if st in (200, 202) and j and j.get("id"):
                tid = j["id"]
                with run.lock:
                    run.keys.setdefault(key, set()).add(tid)
                    if tid not in run.txns:
                        run.txns[tid] = {"id": tid, "seq": seq, "tag": tag, "key": key, "msisdn": msisdn,
                                         "instance": inst or "?", "accepted_at": now(), "status": st,
                                         "final": None, "result": None}
                break
            if st in (0, 502, 503, 504, 429):
                time.sleep(backoff(st, ra))
                continue
            sys.stderr.write("failover_load: POST %s answered %d %s\n" % (tag, st, j))
            break
        if tid is None:
            continue
        # Follow it to its end.
        end = run.txns[tid]["accepted_at"] + a.txn_timeout + 30
        misses = 0
        while now() < end:
            st, ra, inst, j = cl.request("GET", "/v1/signatures/%s?wait=10" % tid, timeout=20)
            if st == 200 and j and j.get("state") and j["state"] != "pending":
                with run.lock:
                    run.txns[tid]["final"] = j["state"]
                    run.txns[tid]["result"] = j.get("result")
                    run.txns[tid]["finished_at"] = now()
                break
            if st == 404:
                misses += 1  # acknowledged but unknown: lost, unless a retry finds it
                if misses >= 3:
                    with run.lock:
                        run.txns[tid]["final"] = "lost"
                    break
                time.sleep(1)
                continue
            if st != 200:
                time.sleep(backoff(st, ra))
        else:
            with run.lock:
                run.txns[tid]["final"] = "still pending"
    cl.close()


def report(run):
    a = run.a
    # Requests = Idempotency-Keys POSTed (however often each was sent).
    out = {"run_id": run.run_id, "requests": len(run.keys)}
    out["never_accepted"] = sorted(k for k, v in run.keys.items() if not v)
    by_status = {}
    n503 = n503_ra = 0
    for (_, _, m, st, ra) in run.answers:
        k = "%s %d" % (m, st)
        by_status[k] = by_status.get(k, 0) + 1
        if st == 503:
            n503 += 1
            if ra:
                n503_ra += 1
    out["answers"] = by_status
    out["n503"], out["n503_retry_after"] = n503, n503_ra
    finals = {}
    for t in run.txns.values():
        k = "%s %s" % (t["final"], t["result"])
        finals[k] = finals.get(k, 0) + 1
    out["accepted"] = len(run.txns)
    out["finals"] = finals
    out["keys_with_two_ids"] = sorted(k for k, v in run.keys.items() if len(v) > 1)
    out["txns"] = sorted(run.txns.values(), key=lambda t: t["seq"])
    print("load: %d requests, %d accepted (202/200), finals %s" % (len(run.keys), len(run.txns), json.dumps(finals)))
    print("load: answers %s" % json.dumps(by_status, sort_keys=True))
    print("load: %d answers 503, %d of them with Retry-After" % (n503, n503_ra))
    kills = []
    kpath = os.path.join(a.out, "kills")
    if os.path.exists(kpath):
        for line in open(kpath):
            p = line.split()
            if len(p) >= 2:
                kills.append((float(p[0]), p[1], p[2] if len(p) > 2 else None))
    out["kills"] = []
    for (kt, label, victim) in kills:
        ok = [t1 for (t0, t1, m, st, _) in run.answers if t0 >= kt and 200 <= st < 300]
        posted = [t1 for (t0, t1, m, st, _) in run.answers if t0 >= kt and m == "POST" and st in (200, 202)]
        errs = {}
        first = min(ok) if ok else None
        first_post = min(posted) if posted else None
        for (t0, t1, m, st, _) in run.answers:
            if t1 >= kt and (first is None or t1 <= first) and not 200 <= st < 300:
                errs[str(st)] = errs.get(str(st), 0) + 1
        k = {"label": label, "at": kt, "first_success_s": None if first is None else round(first - kt, 3),
             "first_accepted_s": None if first_post is None else round(first_post - kt, 3), "errors_before": errs}
        msg = "kill %s: first successful answer %s after it, first accepted POST %s; errors until then %s" % (
            label, "never" if first is None else "%.2f s" % (first - kt),
            "never" if first_post is None else "%.2f s" % (first_post - kt), json.dumps(errs, sort_keys=True))
        if victim:
            held = [t for t in run.txns.values() if t["instance"] == victim and t["accepted_at"] < kt
                    and (t.get("finished_at") is None or t["finished_at"] > kt)]
            hf = {}
            for t in held:
                hk = "%s %s" % (t["final"], t["result"])
                hf[hk] = hf.get(hk, 0) + 1
            k["victim"], k["in_flight"], k["in_flight_finals"] = victim, len(held), hf
            msg += "; %s had %d in flight, they ended %s" % (victim, len(held), json.dumps(hf))
        out["kills"].append(k)
        print(msg)
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(out, f, indent=1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("numbers")
    p.add_argument("out")
    p.add_argument("--workers", type=int, default=12)
    p.add_argument("--rate", type=float, default=40)
    p.add_argument("--txn-timeout", type=float, default=15)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    numbers = [l.strip() for l in open(a.numbers) if l.strip()]
    w = min(a.workers, len(numbers))
    run = Run(a)
    threads = [threading.Thread(target=worker, args=(run, numbers[i::w]), daemon=True) for i in range(w)]
    for t in threads:
        t.start()
    print("load: %d workers over %d numbers, %.0f requests/s at most" % (w, len(numbers), a.rate), flush=True)
    while any(t.is_alive() for t in threads):
        run.write_pending()
        time.sleep(0.2)
    run.write_pending()
    report(run)


if __name__ == "__main__":
    main()
