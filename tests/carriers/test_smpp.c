/*
 * test_smpp.c - the SMPP ESME against a minimal in-process SMSC on a
 * loopback port (real TCP, one event loop).  The SMSC throttles one submit,
 * drops the connection once with a submit unanswered, refuses one number
 * for good, and sends a receipt, a concatenated PoR (out of order, with a
 * duplicate) and a hostile deliver_sm with 100 TLVs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "car.h"
#include "car_ota.h"
#include "car_pdu.h"
#include "car_spka.h"
#include "cfg.h"
#include "check.h"
#include "log.h"

#define N_REQ 4
static const char *const dests[N_REQ] = {"84911111111", "84922222222", "84900000000", "84933333333"};
enum { R_THROTTLED = 0, R_DROPPED = 1, R_REFUSED = 2, R_MULTI = 3 };

struct smsc {
    struct event_base *base;
    struct evconnlistener *lis;
    struct bufferevent *conn;
    int binds, throttled, dropped, unbinds;
    unsigned accepted[N_REQ];
    unsigned dresp_ok, dresp_err;
    uint32_t seq;
    unsigned msgid;
};

struct esme {
    struct car_link *link;
    int submitted;
    unsigned sent[N_REQ];
    int resent[N_REQ];
    enum car_err status[N_REQ];
    unsigned mo;
    uint8_t mo_data[64];
    size_t mo_len;
    char mo_from[32];
    int ups, downs;
    int idx[N_REQ];
};

static struct smsc S;
static struct esme E;

static void smsc_send(const uint8_t *b, size_t n)
{
    if (S.conn)
        bufferevent_write(S.conn, b, n);
}

static void smsc_deliver(const char *from, uint8_t esm, const uint8_t *ud, size_t len)
{
    struct pdu_sm sm;
    uint8_t b[PDU_MAX_LEN];
    size_t n;

    CHECK_EQ_INT(pdu_sm_spka(&sm, from, "8088", ud, len), CAR_OK);
    sm.esm_class = esm;
    CHECK_EQ_INT(pdu_build_deliver_sm(b, sizeof(b), &n, ++S.seq, &sm), CAR_OK);
    smsc_send(b, n);
}

/* Receipt, PoR segments 2, 1, 2 again, and a hostile PDU. */
static void smsc_send_mo(void)
{
    struct pdu_sm sm;
    uint8_t b[PDU_MAX_LEN];
    uint8_t seg1[8 + 10] = {0x07, 0x00, 0x03, 0x42, 0x02, 0x01, 0x71, 0x00};
    uint8_t seg2[6 + 10] = {0x05, 0x00, 0x03, 0x42, 0x02, 0x02};
    size_t n;
    size_t pos;

    memset(seg1 + 8, 'A', 10);
    memset(seg2 + 6, 'B', 10);
    CHECK_EQ_INT(pdu_sm_spka(&sm, dests[0], "8088", NULL, 0), CAR_OK);
    CHECK_EQ_INT(pdu_receipt_format(&sm, "M1", "DELIVRD", 0), CAR_OK);
    sm.esm_class |= PDU_ESM_UDHI; /* a receipt never becomes a PoR, whatever its UDHI */
    CHECK_EQ_INT(pdu_build_deliver_sm(b, sizeof(b), &n, ++S.seq, &sm), CAR_OK);
    smsc_send(b, n);
    smsc_deliver(dests[0], 0x40, seg2, sizeof(seg2));
    smsc_deliver(dests[0], 0x40, seg1, sizeof(seg1));
    smsc_deliver(dests[0], 0x40, seg2, sizeof(seg2));

    /* deliver_sm with 100 TLVs: must be answered with an error, not crash. */
    CHECK_EQ_INT(pdu_sm_spka(&sm, dests[0], "8088", seg1, sizeof(seg1)), CAR_OK);
    CHECK_EQ_INT(pdu_build_deliver_sm(b, sizeof(b), &n, ++S.seq, &sm), CAR_OK);
    pos = n;
    for (unsigned i = 0; i < 100; i++) {
        b[pos++] = 0x14;
        b[pos++] = (uint8_t)i;
        b[pos++] = 0;
        b[pos++] = 1;
        b[pos++] = 0xAA;
    }
    b[0] = (uint8_t)(pos >> 24);
    b[1] = (uint8_t)(pos >> 16);
    b[2] = (uint8_t)(pos >> 8);
    b[3] = (uint8_t)pos;
    smsc_send(b, pos);
}

static int dest_index(const char *d)
{
    for (int i = 0; i < N_REQ; i++) {
        if (strcmp(d, dests[i]) == 0)
            return i;
    }
    return -1;
}

static void smsc_event(struct bufferevent *bev, short what, void *arg);

static void smsc_drained(struct bufferevent *bev, void *arg)
{
    (void)arg;
    if (bev == S.conn) {
        bufferevent_free(S.conn);
        S.conn = NULL;
    }
}

/* Returns 0 when the connection is being dropped. */
static int smsc_pdu(const uint8_t *p, size_t len)
{
    struct pdu_header h;
    struct pdu_sm sm;
    uint8_t b[PDU_MAX_LEN];
    char id[16];
    size_t n;
    int i;

    CHECK_EQ_INT(pdu_precheck(p, len, NULL, 0), CAR_OK);
    if (pdu_header(p, len, &h) != CAR_OK)
        return 1;
    switch (h.id) {
    case PDU_BIND_TRANSCEIVER:
        S.binds++;
        CHECK_EQ_INT(pdu_build_bind_trx_resp(b, sizeof(b), &n, h.seq, 0, "smsc"), CAR_OK);
        smsc_send(b, n);
        if (S.binds == 2)
            smsc_send_mo(); /* on the rebuilt link */
        break;
    case PDU_ENQUIRE_LINK:
        CHECK_EQ_INT(pdu_build_header_only(b, sizeof(b), &n, PDU_ENQUIRE_LINK_RESP, 0, h.seq), CAR_OK);
        smsc_send(b, n);
        break;
    case PDU_UNBIND: S.unbinds++; break;
    case PDU_DELIVER_SM_RESP:
        if (h.status == 0)
            S.dresp_ok++;
        else
            S.dresp_err++;
        break;
    case PDU_SUBMIT_SM:
        CHECK_EQ_INT(pdu_sm_decode(p, len, &sm, NULL, 0), CAR_OK);
        CHECK_EQ_INT(sm.esm_class, 0x40);
        CHECK_EQ_INT(sm.protocol_id, 0x7F);
        CHECK_EQ_INT(sm.data_coding, 0xF6);
        CHECK_EQ_INT(sm.registered_delivery, 2); /* receipts for failures only */
        CHECK_EQ_STR(sm.source_addr, "8088");
        i = dest_index(sm.dest_addr);
        CHECK(i >= 0);
        if (i == R_REFUSED) {
            CHECK_EQ_INT(pdu_build_submit_sm_resp(b, sizeof(b), &n, h.seq, 0x45, NULL), CAR_OK);
        } else if (i == R_THROTTLED && !S.throttled) {
            S.throttled = 1;
            CHECK_EQ_INT(pdu_build_submit_sm_resp(b, sizeof(b), &n, h.seq, PDU_ESME_RTHROTTLED, NULL), CAR_OK);
        } else if (i == R_DROPPED && !S.dropped) {
            /* Hang up without answering, after what was already written. */
            S.dropped = 1;
            bufferevent_disable(S.conn, EV_READ);
            bufferevent_setcb(S.conn, NULL, smsc_drained, smsc_event, NULL);
            if (evbuffer_get_length(bufferevent_get_output(S.conn)) == 0)
                smsc_drained(S.conn, NULL);
            return 0;
        } else {
            if (i >= 0)
                S.accepted[i]++;
            snprintf(id, sizeof(id), "M%u", ++S.msgid);
            CHECK_EQ_INT(pdu_build_submit_sm_resp(b, sizeof(b), &n, h.seq, 0, id), CAR_OK);
        }
        smsc_send(b, n);
        break;
    default: break;
    }
    return 1;
}

static void smsc_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t p[PDU_MAX_LEN];

    (void)arg;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        size_t n = 0;
        const uint8_t *q;

        if (avail < 4)
            return;
        q = evbuffer_pullup(in, avail < PDU_MAX_LEN ? (ev_ssize_t)avail : PDU_MAX_LEN);
        if (pdu_frame(q, avail, &n) != CAR_OK)
            return;
        evbuffer_remove(in, p, n);
        if (!smsc_pdu(p, n))
            return;
    }
}

static void smsc_event(struct bufferevent *bev, short what, void *arg)
{
    (void)arg;
    if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && bev == S.conn) {
        bufferevent_free(S.conn);
        S.conn = NULL;
    }
}

static void smsc_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    (void)lis;
    (void)sa;
    (void)salen;
    (void)arg;
    if (S.conn)
        bufferevent_free(S.conn);
    S.conn = bufferevent_socket_new(S.base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(S.conn, smsc_read, NULL, smsc_event, NULL);
    bufferevent_enable(S.conn, EV_READ | EV_WRITE);
}

/* ---- the ESME's owner ---- */

static int done(void)
{
    for (int i = 0; i < N_REQ; i++) {
        if (!E.sent[i])
            return 0;
    }
    return E.mo >= 1 && S.dresp_ok + S.dresp_err >= 5;
}

static void on_sent(void *arg, void *handle, enum car_err st, const char *detail, int resent, const char *far_ref)
{
    int i = *(int *)handle;

    (void)arg;
    CHECK(far_ref == NULL); /* SMPP's answers come by themselves: nothing to ask for */
    E.sent[i]++;
    E.resent[i] = resent;
    E.status[i] = st;
    if (i == R_REFUSED)
        CHECK(detail && strstr(detail, "0x45"));
}

static void on_mo(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len)
{
    (void)arg;
    (void)link;
    E.mo++;
    snprintf(E.mo_from, sizeof(E.mo_from), "%s", msisdn);
    if (len <= sizeof(E.mo_data)) {
        memcpy(E.mo_data, data, len);
        E.mo_len = len;
    }
}

static uint8_t cert[400];

static void submit_all(void)
{
    struct car_request q;

    for (int i = 0; i < N_REQ; i++) {
        memset(&q, 0, sizeof(q));
        q.op = i == R_MULTI ? CAR_OP_PUTCERT : CAR_OP_INFO;
        snprintf(q.sub.msisdn, sizeof(q.sub.msisdn), "%s", dests[i]);
        snprintf(q.sub.iccid, sizeof(q.sub.iccid), "8984040000000000019");
        q.sub.ota_kv = 1;
        q.cntr = (uint64_t)i + 1;
        q.txn_ref[0] = (uint8_t)i;
        q.key_ref = 1;
        q.cert_der = cert;
        q.cert_len = sizeof(cert);
        E.idx[i] = i;
        CHECK_EQ_INT(car_link_submit(E.link, &q, &E.idx[i]), CAR_OK);
    }
}

static void on_state(void *arg, struct car_link *link, int up)
{
    (void)arg;
    E.link = link;
    if (up)
        E.ups++;
    else
        E.downs++;
    if (up && !E.submitted) {
        E.submitted = 1;
        submit_all();
    }
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    static int settle;

    (void)fd;
    (void)what;
    (void)arg;
    /* Once everything arrived, wait a little more to catch duplicates. */
    if (done() && ++settle > 5)
        event_base_loopexit(S.base, NULL);
}

/* A PoR built with the SIM-side codecs decodes through the link. */
static void test_decode(struct car_link *link, const struct cfg_carrier *car)
{
    struct car_subscriber sub;
    struct ota_keys k;
    struct spka_response r;
    struct car_reply rep;
    uint8_t app[256], pkt[512], sig[64];
    size_t alen, plen;

    memset(&sub, 0, sizeof(sub));
    memset(&r, 0, sizeof(r));
    snprintf(sub.iccid, sizeof(sub.iccid), "8984040000000000019");
    sub.ota_kv = 1;
    memset(sig, 0x5A, sizeof(sig));
    r.cmd = SPKA_SIGN;
    r.txn_ref[0] = 9;
    r.result = SPKA_OK;
    r.signature = sig;
    r.sig_len = sizeof(sig);
    r.pin_tries = -1;
    CHECK_EQ_INT(spka_encode_response(&r, app, sizeof(app), &alen), CAR_OK);
    CHECK_EQ_INT(ota_diversify(car->ota_master_key, sub.iccid, 1, &k), CAR_OK);
    CHECK_EQ_INT(ota_wrap_response(&k, 7, OTA_POR_OK, app, alen, pkt, sizeof(pkt), &plen), CAR_OK);
    ota_keys_wipe(&k);
    CHECK_EQ_INT(car_link_decode(link, &sub, pkt, plen, &rep), CAR_OK);
    CHECK_EQ_INT(rep.corr.cntr, 7);
    CHECK_EQ_INT(rep.corr.has_ref, 1); /* PoR OK: the SPKA/1 answer was read */
    CHECK_EQ_INT(rep.op, SPKA_SIGN);
    CHECK_EQ_INT(rep.corr.txn_ref[0], 9);
    CHECK_EQ_INT(rep.outcome, CAR_OUT_OK);
    CHECK_EQ_INT(rep.sig_format, CAR_SIG_RAW);
    CHECK_EQ_INT(rep.sig_len, sizeof(sig));
    CHECK(rep.signature && memcmp(rep.signature, sig, sizeof(sig)) == 0);
    pkt[plen - 1] ^= 1;
    CHECK(car_link_decode(link, &sub, pkt, plen, &rep) != CAR_OK);

    /* A refusal: the PoR and the SPKA/1 result come out as an outcome with its detail. */
    r.result = SPKA_USER_CANCEL;
    r.signature = NULL;
    r.sig_len = 0;
    CHECK_EQ_INT(spka_encode_response(&r, app, sizeof(app), &alen), CAR_OK);
    CHECK_EQ_INT(ota_diversify(car->ota_master_key, sub.iccid, 1, &k), CAR_OK);
    CHECK_EQ_INT(ota_wrap_response(&k, 8, OTA_POR_OK, app, alen, pkt, sizeof(pkt), &plen), CAR_OK);
    CHECK_EQ_INT(car_link_decode(link, &sub, pkt, plen, &rep), CAR_OK);
    CHECK_EQ_INT(rep.outcome, CAR_OUT_USER_CANCEL);
    CHECK_EQ_STR(rep.detail, "USER_CANCEL");
    CHECK(rep.signature == NULL && rep.sig_len == 0);
    /* The SIM refusing a counter it has seen: no application data, no txn_ref. */
    CHECK_EQ_INT(ota_wrap_response(&k, 8, OTA_POR_CNTR_LOW, NULL, 0, pkt, sizeof(pkt), &plen), CAR_OK);
    ota_keys_wipe(&k);
    CHECK_EQ_INT(car_link_decode(link, &sub, pkt, plen, &rep), CAR_OK);
    CHECK_EQ_INT(rep.outcome, CAR_OUT_COUNTER_LOW);
    CHECK_EQ_INT(rep.corr.cntr, 8);
    CHECK_EQ_INT(rep.corr.has_ref, 0);
}

int main(void)
{
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);
    static struct cfg_carrier car;
    struct cfg_link *lk = &car.links[0];
    struct cfg_smpp *lc = &lk->u.smpp;
    struct car_events ev = {NULL, on_sent, on_mo, on_state};
    struct car_link *link = NULL;
    struct car_link_stats st;
    struct event *poll;
    struct timeval tv = {0, 20000};
    struct timeval limit = {15, 0};

    log_setup(LOG_WARN, LOG_FMT_TEXT);
    memset(cert, 0x30, sizeof(cert));
    S.base = event_base_new();
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    S.lis = evconnlistener_new_bind(S.base, smsc_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                    (struct sockaddr *)&sin, sizeof(sin));
    CHECK(S.lis != NULL);
    if (!S.lis)
        return check_report("test_smpp");
    getsockname(evconnlistener_get_fd(S.lis), (struct sockaddr *)&sin, &slen);

    snprintf(car.name, sizeof(car.name), "testnet");
    snprintf(car.service_number, sizeof(car.service_number), "8088");
    for (int i = 0; i < 16; i++)
        car.ota_master_key[i] = (uint8_t)i;
    car.reassembly_timeout_s = 30;
    car.n_links = 1;
    snprintf(lk->name, sizeof(lk->name), "test-1");
    snprintf(lk->transport, sizeof(lk->transport), "smpp");
    lk->kind = CFG_TRANSPORT_SMPP;
    snprintf(lc->host, sizeof(lc->host), "127.0.0.1");
    lc->port = ntohs(sin.sin_port);
    snprintf(lc->system_id, sizeof(lc->system_id), "simpki");
    snprintf(lc->password, sizeof(lc->password), "secret");
    lc->window = 4;
    lc->rate = 100;
    lc->enquire_link_s = 1;
    lc->response_timeout_s = 3;
    lc->reconnect_min_ms = 50;
    lc->reconnect_max_ms = 400;
    lc->throttle_backoff_ms = 100;

    CHECK_EQ_INT(car_smpp_ops.open(S.base, &car, lk, &ev, &link), CAR_OK);
    poll = event_new(S.base, -1, EV_PERSIST, on_poll, NULL);
    evtimer_add(poll, &tv);
    event_base_loopexit(S.base, &limit);
    event_base_dispatch(S.base);

    /* Exactly one outcome per handle. */
    for (int i = 0; i < N_REQ; i++)
        CHECK_EQ_INT(E.sent[i], 1);
    CHECK_EQ_INT(E.status[R_THROTTLED], CAR_OK);
    CHECK_EQ_INT(E.status[R_DROPPED], CAR_OK);
    CHECK_EQ_INT(E.status[R_REFUSED], CAR_ERR_PERMANENT);
    CHECK_EQ_INT(E.status[R_MULTI], CAR_OK);
    /* A copy the SMSC may have seen is reported (the others' depend on what was in flight at the drop). */
    CHECK_EQ_INT(E.resent[R_DROPPED], 1);
    CHECK_EQ_INT(S.throttled, 1);
    CHECK_EQ_INT(S.dropped, 1);
    CHECK_EQ_INT(S.binds, 2); /* rebound after the drop */
    CHECK(E.ups == 2 && E.downs == 1);
    CHECK_EQ_INT(S.accepted[R_THROTTLED], 1);
    CHECK_EQ_INT(S.accepted[R_DROPPED], 1);
    CHECK(S.accepted[R_MULTI] >= 3); /* 400-octet cert: 4 segments, some may be resent after the drop */

    /* The PoR once, reassembled; the receipt never. */
    CHECK_EQ_INT(E.mo, 1);
    CHECK_EQ_STR(E.mo_from, dests[0]);
    CHECK_EQ_INT(E.mo_len, 20);
    CHECK(memcmp(E.mo_data, "AAAAAAAAAABBBBBBBBBB", 20) == 0);
    CHECK_EQ_INT(S.dresp_ok, 4);
    CHECK_EQ_INT(S.dresp_err, 1);

    car_link_stats(link, &st);
    CHECK_EQ_INT(st.receipts, 1);
    CHECK_EQ_INT(st.mo_received, 1);
    CHECK_EQ_INT(st.throttled, 1);
    CHECK(st.resent >= 1);
    CHECK_EQ_INT(st.reconnects, 1);
    CHECK_EQ_INT(st.submit_ok, 3);
    CHECK_EQ_INT(st.submit_err, 1);
    CHECK_EQ_INT(st.in_flight, 0);
    CHECK_EQ_INT(st.queued, 0);
    CHECK_EQ_INT(st.up, 1);

    test_decode(link, &car);

    car_link_close(link);
    car_link_close(NULL);
    event_free(poll);
    if (S.conn)
        bufferevent_free(S.conn);
    evconnlistener_free(S.lis);
    event_base_free(S.base);
    return check_report("test_smpp");
}
