#!/usr/bin/env node
/*
 * smsc.js - an SMSC built on node-smpp's server API, independent of our
 * car_pdu/libsmpp34 code, for simpki's ESME interop test.
 *
 *   node smsc.js <port|0> <system_id> <password> <spka1.json>
 *
 * Listens on 127.0.0.1 (port 0: the kernel picks one) and prints
 * "READY <port>" on stdout.  Then:
 *   - bind_transceiver: system_id/password checked (ESME_RBINDFAIL if wrong);
 *   - enquire_link: answered;
 *   - submit_sm: the SPKA/1 MT fields are checked (every difference goes to
 *     `mismatches`); the very first one is answered ESME_RTHROTTLED (0x58),
 *     the others accepted with a message_id;
 *   - once every segment of a command (same concatenation reference) is
 *     accepted: a delivery receipt (esm_class 0x04; sent although the ESME
 *     asked for failure receipts only, as some SMSCs do: it must be counted
 *     and dropped, never taken for a PoR), then the vector's
 *     sign_por_ok segments as deliver_sm, in REVERSE order, from the
 *     subscriber;
 *   - unbind: answered, then one JSON summary line on stdout and exit.
 * SIGTERM, or the bound session closing without an unbind, also prints the
 * summary (with `end` saying which).  The password is never printed.
 */
'use strict';

const fs = require('fs');
const smpp = require('smpp');

const EXPECT = {
    esm_class: 0x40,        /* UDHI */
    protocol_id: 0x7f,      /* SIM data download */
    data_coding: 0xf6,      /* 8-bit, class 2 */
    dest_addr_ton: 1,
    dest_addr_npi: 1,
    registered_delivery: 2, /* receipts for failed deliveries only */
};
const GIVE_UP_MS = 60000;   /* never outlive a broken test run */

function usage() {
    process.stderr.write('usage: node smsc.js <port|0> <system_id> <password> <spka1.json>\n');
    process.exit(2);
}

const argv = process.argv.slice(2);
if (argv.length !== 4 || !/^\d+$/.test(argv[0]))
    usage();
const port = Number(argv[0]);
const wantSystemId = argv[1];
const wantPassword = argv[2];
const vectors = JSON.parse(fs.readFileSync(argv[3], 'utf8'));
const porSegments = vectors.sign_por_ok.sms_user_data.map((h) => Buffer.from(h, 'hex'));

const summary = {
    smsc: 'node-smpp ' + require('smpp/package.json').version,
    binds: [],
    enquire_links: 0,
    submits: [],
    throttled: 0,
    accepted: 0,
    delivers: [],
    unbinds: 0,
    mismatches: [],
    errors: [],
    end: null,
};
let msgId = 0;
let printed = false;

function hex(b) {
    return Buffer.isBuffer(b) ? b.toString('hex') : null;
}

function finish(how) {
    if (printed)
        return;
    printed = true;
    summary.end = how;
    /* stdout to a file or pipe: one line, written before exit. */
    process.stdout.write(JSON.stringify(summary) + '\n', () => process.exit(0));
}

/*
 * node-smpp decodes short_message through its own UDH filter into
 * { udh: [IE, ...], message }; put the octets back together and keep the IEs
 * as node-smpp parsed them.
 */
function rawShortMessage(pdu) {
    const sm = pdu.short_message;
    if (Buffer.isBuffer(sm))
        return { raw: sm, ies: [] };
    if (!sm || !Buffer.isBuffer(sm.message))
        return { raw: null, ies: [] };
    const ies = sm.udh || [];
    if (!ies.length)
        return { raw: sm.message, ies: [] };
    const udhl = ies.reduce((n, ie) => n + ie.length, 0);
    return { raw: Buffer.concat([Buffer.from([udhl]), ...ies, sm.message]), ies };
}

/* The 8-bit concatenation IE (00 03 ref total seq), or a one-segment command. */
function concatInfo(ies) {
    for (const ie of ies) {
        if (ie[0] === 0x00 && ie[1] === 3 && ie.length === 5)
            return { ref: ie[2], total: ie[3], seq: ie[4] };
    }
    return null;
}

function sendMo(session, subscriber, msgIdOfCommand) {
    const receipt = 'id:' + msgIdOfCommand + ' sub:001 dlvrd:001 submit date:2601010000 ' +
        'done date:2601010000 stat:DELIVRD err:000 text:';
    const out = [{
        kind: 'receipt',
        pdu: {
            source_addr_ton: 1, source_addr_npi: 1, source_addr: subscriber,
            dest_addr_ton: 6, dest_addr_npi: 0, destination_addr: '8088',
            esm_class: 0x04, data_coding: 0,
            short_message: Buffer.from(receipt, 'ascii'),
            receipted_message_id: msgIdOfCommand,
            message_state: 2, /* DELIVERED */
        },
    }];
    for (let i = porSegments.length - 1; i >= 0; i--) {
        out.push({
            kind: 'por',
            pdu: {
                source_addr_ton: 1, source_addr_npi: 1, source_addr: subscriber,
                dest_addr_ton: 6, dest_addr_npi: 0, destination_addr: '8088',
                esm_class: 0x40, protocol_id: 0x7f, data_coding: 0xf6,
                short_message: porSegments[i], /* raw octets, UDH included */
            },
        });
    }
    for (const o of out) {
        const rec = { kind: o.kind, short_message: hex(o.pdu.short_message), resp_status: null };
        summary.delivers.push(rec);
        session.deliver_sm(o.pdu, (resp) => {
            rec.resp_status = resp.command_status;
        });
    }
}

function onSession(session) {
    let bound = false;
    const commands = new Map(); /* concatenation ref -> { total, accepted: Set, ids, done } */

    session.on('error', (e) => {
        /* ECONNRESET after the ESME's unbind+close is expected; keep the rest. */
        if (!(summary.unbinds && e.code === 'ECONNRESET'))
            summary.errors.push(String(e && e.message));
    });
    session.on('close', () => {
        if (bound && !summary.unbinds)
            finish('close');
    });

    const onBind = (pdu) => {
        const rec = {
            command: pdu.command,
            system_id: pdu.system_id,
            system_id_ok: pdu.system_id === wantSystemId,
            password_ok: pdu.password === wantPassword,
            interface_version: pdu.interface_version,
        };
        summary.binds.push(rec);
        if (pdu.command !== 'bind_transceiver')
            summary.mismatches.push(pdu.command + ': expected bind_transceiver');
        if (!rec.system_id_ok || !rec.password_ok) {
            summary.mismatches.push('bind: wrong ' + (rec.system_id_ok ? 'password' : 'system_id'));
            session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
            return;
        }
        bound = true;
        session.send(pdu.response({ system_id: 'node-smpp' }));
    };
    session.on('bind_transceiver', onBind);
    session.on('bind_transmitter', onBind);
    session.on('bind_receiver', onBind);

    session.on('enquire_link', (pdu) => {
        summary.enquire_links++;
        session.send(pdu.response());
    });

    session.on('unbind', (pdu) => {
        summary.unbinds++;
        session.send(pdu.response());
        finish('unbind');
    });

    session.on('submit_sm', (pdu) => {
        const { raw, ies } = rawShortMessage(pdu);
        const rec = {
            sequence_number: pdu.sequence_number,
            service_type: pdu.service_type,
            source_addr_ton: pdu.source_addr_ton,
            source_addr_npi: pdu.source_addr_npi,
            source_addr: pdu.source_addr,
            dest_addr_ton: pdu.dest_addr_ton,
            dest_addr_npi: pdu.dest_addr_npi,
            destination_addr: pdu.destination_addr,
            esm_class: pdu.esm_class,
            protocol_id: pdu.protocol_id,
            data_coding: pdu.data_coding,
            registered_delivery: pdu.registered_delivery,
            short_message: hex(raw),
            udh: ies.map(hex),
            status: 0,
            message_id: null,
        };
        summary.submits.push(rec);
        const n = summary.submits.length;
        if (!bound)
            summary.mismatches.push('submit #' + n + ': before a successful bind');
        for (const k of Object.keys(EXPECT)) {
            if (rec[k] !== EXPECT[k])
                summary.mismatches.push('submit #' + n + ': ' + k + ' ' + rec[k] + ', expected ' + EXPECT[k]);
        }
        if (!raw || !raw.length)
            summary.mismatches.push('submit #' + n + ': empty short_message');
        else if (raw[0] + 1 > raw.length)
            summary.mismatches.push('submit #' + n + ': UDH length ' + raw[0] + ' overruns short_message');

        if (summary.throttled === 0) {
            summary.throttled++;
            rec.status = smpp.ESME_RTHROTTLED;
            session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
            return;
        }
        summary.accepted++;
        rec.message_id = 'N' + (++msgId);
        session.send(pdu.response({ message_id: rec.message_id }));

        const ci = concatInfo(ies) || { ref: -1 - n, total: 1, seq: 1 };
        let cmd = commands.get(ci.ref);
        if (!cmd) {
            cmd = { total: ci.total, accepted: new Set(), ids: [], done: false };
            commands.set(ci.ref, cmd);
        }
        cmd.accepted.add(ci.seq);
        cmd.ids.push(rec.message_id);
        if (!cmd.done && cmd.accepted.size === cmd.total) {
            cmd.done = true;
            /* After the submit_sm_resp has gone out, as a real SMSC would. */
            setImmediate(() => sendMo(session, rec.destination_addr, cmd.ids[0]));
        }
    });

    /* Anything else the ESME sends is recorded, not silently dropped. */
    session.on('pdu', (pdu) => {
        const known = ['bind_transceiver', 'bind_transmitter', 'bind_receiver', 'enquire_link', 'unbind',
            'submit_sm', 'deliver_sm_resp', 'enquire_link_resp', 'unbind_resp'];
        if (!known.includes(pdu.command))
            summary.mismatches.push('unexpected ' + pdu.command + ' (0x' + pdu.command_id.toString(16) + ')');
        if (pdu.command === 'unknown')
            session.send(pdu.response());
    });
}

const server = smpp.createServer(onSession);
server.on('error', (e) => {
    process.stderr.write('smsc.js: ' + e.message + '\n');
    process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
    process.stdout.write('READY ' + server.address().port + '\n');
});
process.on('SIGTERM', () => finish('SIGTERM'));
setTimeout(() => finish('timeout'), GIVE_UP_MS).unref();
