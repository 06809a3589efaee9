#!/usr/bin/env python3
"""A callback receiver for e2e_callback.sh: records every POST and answers
500 to the first FAIL of them, then 200.

    cb_receiver.py PORT DIR FAIL

Each POST n (1, 2, ...) is stored as DIR/n.body (the octets as received),
DIR/n.headers ("Name: value" lines) and DIR/n.status (the status answered).
"ready PORT" is printed once it listens.
"""
import http.server
import os
import sys

PORT, DIR, FAIL = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
os.makedirs(DIR, exist_ok=True)
seen = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen[0] += 1
        n = seen[0]
        status = 500 if n <= FAIL else 200
        with open(os.path.join(DIR, "%d.body" % n), "wb") as f:
            f.write(body)
        with open(os.path.join(DIR, "%d.headers" % n), "w") as f:
            for k, v in self.headers.items():
                f.write("%s: %s\n" % (k, v))
        with open(os.path.join(DIR, "%d.status" % n), "w") as f:
            f.write("%d\n" % status)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("receiver: " + (fmt % args) + "\n")


srv = http.server.HTTPServer(("127.0.0.1", PORT), Handler)
print("ready %d" % PORT, flush=True)
srv.serve_forever()
