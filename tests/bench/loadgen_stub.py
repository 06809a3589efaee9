#!/usr/bin/env python3
"""loadgen_stub.py - a stand-in for simpkid's signature API, for
tests/bench/test_loadgen.sh: how loadgen counts overload refusals, lost
transactions and refused long polls.  The shapes of the API, none of its work.

    python3 loadgen_stub.py PORTFILE COUNTFILE

Listens on 127.0.0.1 on a free port, written to PORTFILE once it listens;
after every answer, COUNTFILE holds what it answered, by case (JSON).

The number's last digit modulo 7 decides what POST /v1/signatures gets:
  0  503 {"error":"OVERLOADED"} with Retry-After: 1
  1  503 {"error":"UNAVAILABLE"} without Retry-After (loadgen must call it a failure)
  2  429 {"error":"RATE_LIMITED"} with Retry-After: 2
  3  202, then every GET answers "pending": never final (lost at the drain)
  4  202, the first GET answers "pending" at once with Retry-After: 0 (the
     gateway holds no more long polls), the next the final result OK
  5  202, the first GET is refused 503 OVERLOADED with Retry-After: 0, the next is final OK
  6  503 {"error":"SHUTTING_DOWN"} with Retry-After: 1: not an overload refusal (a failure)
"""
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {}
TXNS = {}  # id -> [case, GETs answered]
SEQ = [0]


def bump(countfile, key):
    with LOCK:
        COUNTS[key] = COUNTS.get(key, 0) + 1
        with open(countfile + ".tmp", "w") as f:
            json.dump(COUNTS, f)
        # rename: the reader never sees half a file
        os.replace(countfile + ".tmp", countfile)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, code, body, retry_after=None):
        data = json.dumps(body, separators=(",", ":")).encode()  # compact, as simpkid writes
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # loadgen left (the drain is over): its transactions are lost, as it counts

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        case = int(body["msisdn"]) % 10 % 7
        cf = self.server.countfile
        if case == 0:
            self.answer(503, {"error": "OVERLOADED", "message": "x"}, 1)
            bump(cf, "overloaded")
        elif case == 1:
            self.answer(503, {"error": "UNAVAILABLE", "message": "x"})
            bump(cf, "unavailable_no_retry_after")
        elif case == 2:
            self.answer(429, {"error": "RATE_LIMITED", "message": "x"}, 2)
            bump(cf, "rate_limited")
        elif case == 6:
            self.answer(503, {"error": "SHUTTING_DOWN", "message": "x"}, 1)
            bump(cf, "shutting_down")
        else:
            with LOCK:
                SEQ[0] += 1
                tid = "t%08d" % SEQ[0]
                TXNS[tid] = [case, 0]
            self.answer(202, {"id": tid, "state": "pending"})
            bump(cf, "accepted_%d" % case)

    def do_GET(self):
        tid = self.path.split("/")[3].split("?")[0]
        with LOCK:
            t = TXNS[tid]
            t[1] += 1
            case, n = t
        if case == 3:
            time.sleep(0.05)  # a long poll that times out, shortened
            self.answer(200, {"id": tid, "state": "pending"})
        elif case == 4 and n == 1:
            self.answer(200, {"id": tid, "state": "pending"}, 0)
            bump(self.server.countfile, "poll_deferred")
        elif case == 5 and n == 1:
            self.answer(503, {"error": "OVERLOADED", "message": "x"}, 0)
            bump(self.server.countfile, "poll_refused")
        else:
            self.answer(200, {"id": tid, "state": "done", "result": "OK"})
            bump(self.server.countfile, "final_%d" % case)


def main():
    portfile, countfile = sys.argv[1], sys.argv[2]
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.countfile = countfile
    with open(countfile, "w") as f:
        json.dump({}, f)
    with open(portfile, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == "__main__":
    main()
