#!/usr/bin/env bash
# run_interop.sh - our ESME against node-smpp.
#
#   bash run_interop.sh <path to test_interop>
#
# Installs node-smpp from package-lock.json when node_modules is missing,
# starts smsc.js on a free loopback port, runs test_interop against it and
# then checks the SMSC's own account of the exchange (its JSON summary).
# Exits non-zero on any failure; a missing node or npm is a failure too.
set -u

here=$(cd "$(dirname "$0")" && pwd)
vectors=$here/../data/spka1.json
test_bin=${1:-}
system_id=simpki
password=secret

fail() {
    echo "run_interop: FAIL: $*" >&2
    exit 1
}

[ -n "$test_bin" ] && [ -x "$test_bin" ] || fail "usage: run_interop.sh <test_interop binary>"
command -v node >/dev/null 2>&1 || fail "node is not installed (tests/run.sh installs nodejs)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (tests/run.sh installs npm)"

if [ ! -f "$here/node_modules/smpp/package.json" ]; then
    # Two builds' ctest may get here at once: one npm ci at a time.
    (
        flock 9
        if [ ! -f "$here/node_modules/smpp/package.json" ]; then
            cd "$here" && npm ci --no-audit --no-fund >&2
        fi
    ) 9>"${TMPDIR:-/tmp}/simpki-interop-npm.lock" || fail "npm ci failed in $here"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/simpki-interop.XXXXXX") || fail "mktemp"
smsc_pid=
cleanup() {
    if [ -n "$smsc_pid" ] && kill -0 "$smsc_pid" 2>/dev/null; then
        kill -TERM "$smsc_pid" 2>/dev/null
        wait "$smsc_pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

node "$here/smsc.js" 0 "$system_id" "$password" "$vectors" >"$work/smsc.out" 2>"$work/smsc.err" &
smsc_pid=$!

port=
for _ in $(seq 100); do
    port=$(sed -n 's/^READY \([0-9][0-9]*\)$/\1/p' "$work/smsc.out")
    [ -n "$port" ] && break
    kill -0 "$smsc_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    cat "$work/smsc.err" >&2
    fail "smsc.js did not print READY within 10 s"
fi
echo "run_interop: node-smpp SMSC on 127.0.0.1:$port"

"$test_bin" "$port" "$work/smsc.out" "$vectors"
test_rc=$?

# The SMSC exits by itself after our unbind; SIGTERM makes it report anyway.
for _ in $(seq 50); do
    kill -0 "$smsc_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$smsc_pid" 2>/dev/null; then
    kill -TERM "$smsc_pid" 2>/dev/null
fi
wait "$smsc_pid" 2>/dev/null
smsc_pid=

if [ -s "$work/smsc.err" ]; then
    echo "run_interop: smsc.js stderr:" >&2
    cat "$work/smsc.err" >&2
fi

# The SMSC's side of the story, checked with node (no jq dependency).
SUMMARY_FILE=$work/smsc.out VECTORS=$vectors SYSTEM_ID=$system_id node -e '
const fs = require("fs");
const line = fs.readFileSync(process.env.SUMMARY_FILE, "utf8").split("\n").find((l) => l.startsWith("{"));
if (!line) { console.error("run_interop: no summary from smsc.js"); process.exit(1); }
const s = JSON.parse(line);
const v = JSON.parse(fs.readFileSync(process.env.VECTORS, "utf8"));
const bad = [];
const want = (cond, what) => { if (!cond) bad.push(what); };
want(s.mismatches.length === 0, "mismatches: " + JSON.stringify(s.mismatches));
want(s.errors.length === 0, "session errors: " + JSON.stringify(s.errors));
want(s.binds.length === 1, "binds: " + s.binds.length + ", expected 1");
for (const b of s.binds)
    want(b.command === "bind_transceiver" && b.system_id === process.env.SYSTEM_ID && b.system_id_ok && b.password_ok,
         "bind: " + JSON.stringify(b));
want(s.enquire_links >= 1, "enquire_links: " + s.enquire_links + ", expected >= 1");
const nseg = v.sign_command.sms_user_data.length;
want(s.submits.length === nseg + 1, "submits: " + s.submits.length + ", expected " + (nseg + 1));
want(s.throttled === 1, "throttled: " + s.throttled + ", expected 1");
want(s.accepted === nseg, "accepted: " + s.accepted + ", expected " + nseg);
want(s.submits.length > 0 && s.submits[0].status === 0x58, "first submit not the throttled one");
s.submits.forEach((x, i) => {
    for (const [k, e] of Object.entries({ esm_class: 0x40, protocol_id: 0x7f, data_coding: 0xf6,
                                          dest_addr_ton: 1, dest_addr_npi: 1, registered_delivery: 2 }))
        want(x[k] === e, "submit #" + (i + 1) + " " + k + " = " + x[k] + ", expected " + e);
    want(x.status === 0 ? /^N\d+$/.test(x.message_id) : x.message_id === null,
         "submit #" + (i + 1) + " message_id " + x.message_id);
});
// The throttled segment came back unchanged.
const firstSm = s.submits.length ? s.submits[0].short_message : null;
want(s.submits.slice(1).some((x) => x.short_message === firstSm && x.status === 0), "throttled segment never accepted");
const npor = v.sign_por_ok.sms_user_data.length;
want(s.delivers.length === 1 + npor, "delivers: " + s.delivers.length + ", expected " + (1 + npor));
want(s.delivers.every((d) => d.resp_status === 0), "deliver_sm_resp: " + JSON.stringify(s.delivers.map((d) => d.resp_status)));
want(s.unbinds === 1 && s.end === "unbind", "end: " + s.end + ", unbinds " + s.unbinds);
if (bad.length) {
    console.error("run_interop: summary checks failed:\n  " + bad.join("\n  "));
    console.error(line);
    process.exit(1);
}
console.log("run_interop: node-smpp summary OK (" + s.smsc + ": " + s.submits.length + " submit_sm, " +
            s.delivers.length + " deliver_sm, " + s.enquire_links + " enquire_link)");
'
summary_rc=$?

[ "$test_rc" -eq 0 ] || fail "test_interop exited $test_rc"
[ "$summary_rc" -eq 0 ] || fail "the SMSC summary does not match"
echo "run_interop: PASS"
