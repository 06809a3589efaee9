#!/usr/bin/env python3
"""Steady signing load for the archive tests (e2e_archive_outage.sh).

archive_load.py URLS TOKEN NUMBERS_FILE OUT [--rate R] [--count N] [--stop FILE]

POSTs /v1/signatures at R a second (open loop: each request at its own time, whatever the
previous ones take), to the URLS (comma-separated, taken in turn), the numbers of NUMBERS_FILE
in turn, until --count requests were sent or the file --stop exists.  One line per request in
OUT, written when its answer came: "SEQ T_SENT T_ANSWERED HTTP_CODE ID" (ID "-" without one;
code 0 when no answer came).
"""
import argparse
import base64
import concurrent.futures
import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("urls")
    ap.add_argument("token")
    ap.add_argument("numbers")
    ap.add_argument("out")
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--stop", default="")
    a = ap.parse_args()
    urls = a.urls.split(",")
    nums = [n.strip() for n in open(a.numbers) if n.strip()]
    digest = base64.b64encode(hashlib.sha256(b"archive load").digest()).decode()
    lock = threading.Lock()
    out = open(a.out, "a", buffering=1)

    def one(seq):
        body = json.dumps({"msisdn": nums[seq % len(nums)], "digest": digest, "digest_alg": "SHA-256",
                           "display_text": "Tai thu %d" % seq}).encode()
        req = urllib.request.Request(urls[seq % len(urls)] + "/v1/signatures", data=body, method="POST",
                                     headers={"Authorization": "Bearer " + a.token,
                                              "Content-Type": "application/json"})
        t0 = time.time()
        code, tid = 0, "-"
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                code = r.status
                tid = json.loads(r.read()).get("id", "-")
        except urllib.error.HTTPError as e:
            code = e.code
        except Exception:  # no answer: code 0
            pass
        with lock:
            out.write("%s %.6f %.6f %d %s\n" % (seq, t0, time.time(), code, tid))

    start = time.time()
    seq = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        while True:
            if a.count and seq >= a.count:
                break
            if a.stop and os.path.exists(a.stop):
                break
            delay = start + seq / a.rate - time.time()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, seq)
            seq += 1
    out.close()


if __name__ == "__main__":
    main()
