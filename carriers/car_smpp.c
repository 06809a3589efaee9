/*
 * car_smpp.c - the SMPP 3.4 ESME transport: one bind_transceiver per link,
 * on libevent bufferevents (struct car_ops car_smpp_ops).
 *
 * A link is an explicit state machine (see link_trans[]) with one timer per
 * state: connect timeout, bind timeout, enquire_link interval, unbind
 * timeout, reconnect backoff.  A second, periodic timer ("tick") refills the
 * rate token bucket, resends submits whose response is late, lifts throttling
 * and expires half-reassembled MOs.
 *
 * Requests are kept until every segment is acknowledged or one is refused;
 * segments in flight when the connection drops go back to pending and are
 * submitted again on the next bind, so ev->sent fires exactly once per
 * handle.  libsmpp34 is only reached through car_pdu.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>

#include <openssl/crypto.h>

#include "car.h"
#include "car_ota.h"
#include "car_pdu.h"
#include "car_spka.h"
#include "car_text.h"
#include "car_udh.h"
#include "cfg.h"
#include "log.h"

#define SMPP_QUEUE_MAX     256 /* requests held per link (queued + in flight) */
#define SMPP_REASM_SETS    64  /* concurrent half-received MOs per link */
#define SMPP_TICK_MS       50
#define SMPP_UNBIND_WAIT_S 2

#define LOGL(lvl, l, ...) LOGP((lvl), "smpp", (l)->base.name, __VA_ARGS__)

enum link_state { LS_DISCONNECTED, LS_CONNECTING, LS_BINDING, LS_BOUND, LS_UNBINDING, LS_COUNT };

static const char *const state_names[LS_COUNT] = {"DISCONNECTED", "CONNECTING", "BINDING", "BOUND", "UNBINDING"};

/* link_trans[from][to]: the only moves a link may make. */
static const uint8_t link_trans[LS_COUNT][LS_COUNT] = {
    [LS_DISCONNECTED] = {[LS_CONNECTING] = 1},
    [LS_CONNECTING] = {[LS_BINDING] = 1, [LS_DISCONNECTED] = 1},
    [LS_BINDING] = {[LS_BOUND] = 1, [LS_DISCONNECTED] = 1},
    [LS_BOUND] = {[LS_UNBINDING] = 1, [LS_DISCONNECTED] = 1},
    [LS_UNBINDING] = {[LS_DISCONNECTED] = 1},
};

enum seg_state { SEG_PENDING = 0, SEG_INFLIGHT = 1, SEG_ACKED = 2 };

struct req {
    TAILQ_ENTRY(req) entry;
    void *handle;
    char msisdn[sizeof(((struct car_subscriber *)0)->msisdn)];
    int done;   /* outcome reported through ev->sent */
    int resent; /* a segment went out again after being in flight */
    struct udh_segments segs;
    uint8_t seg_state[UDH_MAX_SEGMENTS];
    uint32_t seg_seq[UDH_MAX_SEGMENTS];
    uint64_t seg_sent_us[UDH_MAX_SEGMENTS]; /* monotonic: the response timeout, the round trip's time */
};
TAILQ_HEAD(req_list, req);

/* glibc's sys/queue.h lacks the _SAFE variant (BSD has it). */
#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar) \
    for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); (var) = (tvar))
#endif

struct car_link {
    struct car_link_base base; /* first: car.h dispatches through it */
    struct event_base *evb;
    struct evdns_base *dns; /* asynchronous name lookups; NULL: resolve synchronously */
    const struct cfg_smpp *cfg;
    struct car_events ev;
    enum link_state st;
    struct bufferevent *bev;
    struct event *st_timer; /* the current state's timer */
    struct event *tick;
    uint32_t seq;
    uint32_t bind_seq;
    int enq_outstanding;
    unsigned backoff_ms;
    uint64_t throttle_until_ms;
    uint64_t tokens_milli; /* token bucket, in 1/1000 submits */
    uint64_t refill_ms;
    uint8_t udh_ref;
    struct udh_reasm *reasm;
    struct req_list reqs;
    unsigned nreqs, inflight;
    struct car_link_stats stats;
    int busy; /* depth of our callbacks on the stack */
    int dead; /* closed while busy: free when busy drops to 0 */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(void)
{
    return now_us() / 1000u;
}

static void link_free(struct car_link *l);
static void link_lost(struct car_link *l, const char *why);
static void link_connect(struct car_link *l);

/* Entered at the top of every libevent callback; leave() frees a closed link. */
static void enter(struct car_link *l)
{
    l->busy++;
}
static void leave(struct car_link *l)
{
    l->busy--;
    if (l->busy == 0 && l->dead)
        link_free(l);
}

static uint32_t next_seq(struct car_link *l)
{
    l->seq = l->seq >= PDU_SEQ_MAX ? 1 : l->seq + 1;
    return l->seq;
}

static void arm(struct event *ev, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(ev, &tv);
}

/* Move to `to`, arming that state's timer.  Refuses moves not in the table. */
static int set_state(struct car_link *l, enum link_state to)
{
    if (!link_trans[l->st][to]) {
        LOGL(LOG_ERR, l, "refused transition %s -> %s", state_names[l->st], state_names[to]);
        return -1;
    }
    LOGL(LOG_DEBUG, l, "%s -> %s", state_names[l->st], state_names[to]);
    l->st = to;
    evtimer_del(l->st_timer);
    switch (to) {
    case LS_DISCONNECTED: arm(l->st_timer, l->backoff_ms); break;
    case LS_CONNECTING:
    case LS_BINDING: arm(l->st_timer, (uint64_t)l->cfg->response_timeout_s * 1000u); break;
    case LS_BOUND: arm(l->st_timer, (uint64_t)l->cfg->enquire_link_s * 1000u); break;
    case LS_UNBINDING: arm(l->st_timer, SMPP_UNBIND_WAIT_S * 1000u); break;
    case LS_COUNT: break;
    }
    return 0;
}

static void send_pdu(struct car_link *l, const uint8_t *pdu, size_t len)
{
    if (l->bev)
        bufferevent_write(l->bev, pdu, len);
}

static void send_header_only(struct car_link *l, uint32_t id, uint32_t status, uint32_t seq)
{
    uint8_t b[PDU_HEADER_LEN];
    size_t n;

    if (pdu_build_header_only(b, sizeof(b), &n, id, status, seq) == CAR_OK)
        send_pdu(l, b, n);
}

/* ---- requests ------------------------------------------------------------ */

static void req_remove(struct car_link *l, struct req *r)
{
    TAILQ_REMOVE(&l->reqs, r, entry);
    l->nreqs--;
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
}

/* Report a request's outcome once; drop it when nothing of it is in flight. */
static void req_finish(struct car_link *l, struct req *r, enum car_err st, const char *detail)
{
    int inflight = 0;

    if (!r->done) {
        r->done = 1;
        if (st == CAR_OK)
            l->stats.submit_ok++;
        else
            l->stats.submit_err++;
        if (l->ev.sent)
            l->ev.sent(l->ev.arg, r->handle, st, detail, r->resent, NULL);
    }
    for (size_t i = 0; i < r->segs.count; i++) {
        if (r->seg_state[i] == SEG_INFLIGHT)
            inflight = 1;
    }
    /* Late responses of a refused request find nothing and are ignored. */
    if (!inflight && !l->dead)
        req_remove(l, r);
}

static int tokens_take(struct car_link *l)
{
    if (l->cfg->rate == 0)
        return 1;
    if (l->tokens_milli < 1000)
        return 0;
    l->tokens_milli -= 1000;
    return 1;
}

/* Send pending segments while the window, the bucket and throttling allow. */
static void pump(struct car_link *l)
{
    struct req *r;
    uint64_t t_us = now_us(), t = t_us / 1000u;

    if (l->st != LS_BOUND || t < l->throttle_until_ms)
        return;
    TAILQ_FOREACH(r, &l->reqs, entry)
    {
        if (r->done)
            continue;
        for (size_t i = 0; i < r->segs.count; i++) {
            struct pdu_sm sm;
            uint8_t b[PDU_MAX_LEN];
            size_t n;

            if (r->seg_state[i] != SEG_PENDING)
                continue;
            if (l->inflight >= l->cfg->window || !tokens_take(l))
                return;
            if (pdu_sm_spka(&sm, l->base.carrier->service_number, r->msisdn, r->segs.ud[i], r->segs.len[i]) != CAR_OK ||
                pdu_build_submit_sm(b, sizeof(b), &n, next_seq(l), &sm) != CAR_OK) {
                req_finish(l, r, CAR_ERR_INVALID, "cannot build submit_sm");
                return; /* the list changed under us; the next tick goes on */
            }
            r->seg_state[i] = SEG_INFLIGHT;
            r->seg_seq[i] = l->seq;
            r->seg_sent_us[i] = t_us;
            l->inflight++;
            l->stats.submitted++;
            send_pdu(l, b, n);
        }
    }
}

/* Every in-flight segment goes back to pending (connection lost). */
static void requeue_inflight(struct car_link *l)
{
    struct req *r;
    struct req *tmp;

    TAILQ_FOREACH_SAFE(r, &l->reqs, entry, tmp)
    {
        for (size_t i = 0; i < r->segs.count; i++) {
            if (r->seg_state[i] == SEG_INFLIGHT) {
                r->seg_state[i] = SEG_PENDING;
                r->resent = 1;
                l->stats.resent++;
            }
        }
        if (r->done)
            req_remove(l, r);
    }
    l->inflight = 0;
}

static struct req *find_seq(struct car_link *l, uint32_t seq, size_t *idx)
{
    struct req *r;

    TAILQ_FOREACH(r, &l->reqs, entry)
    {
        for (size_t i = 0; i < r->segs.count; i++) {
            if (r->seg_state[i] == SEG_INFLIGHT && r->seg_seq[i] == seq) {
                *idx = i;
                return r;
            }
        }
    }
    return NULL;
}

static void on_submit_resp(struct car_link *l, const struct pdu_header *h)
{
    size_t i;
    struct req *r = find_seq(l, h->seq, &i);
    char detail[64];
    int all = 1;

    if (!r) {
        LOGL(LOG_DEBUG, l, "submit_sm_resp seq %u matches nothing in flight", h->seq);
        return;
    }
    if (l->ev.round_trip)
        l->ev.round_trip(l->ev.arg, l, (double)(now_us() - r->seg_sent_us[i]) / 1e6);
    l->inflight--;
    if (r->done) {
        /* Another segment already decided this request. */
        r->seg_state[i] = SEG_ACKED;
        req_finish(l, r, CAR_OK, NULL);
        return;
    }
    if (h->status == PDU_ESME_RTHROTTLED || h->status == PDU_ESME_RMSGQFUL) {
        /* Same segment again after the back-off; not an outcome. */
        r->seg_state[i] = SEG_PENDING;
        l->stats.throttled++;
        l->throttle_until_ms = now_ms() + l->cfg->throttle_backoff_ms;
        LOGL(LOG_INFO, l, "%s: backing off %u ms", pdu_status_name(h->status), l->cfg->throttle_backoff_ms);
        return;
    }
    if (h->status != 0) {
        r->seg_state[i] = SEG_ACKED; /* answered: no longer in flight */
        snprintf(detail, sizeof(detail), "%s 0x%02x", pdu_status_name(h->status), h->status);
        LOGL(LOG_WARN, l, "submit_sm refused: %s", detail);
        req_finish(l, r, CAR_ERR_PERMANENT, detail);
        return;
    }
    r->seg_state[i] = SEG_ACKED;
    for (size_t k = 0; k < r->segs.count; k++) {
        if (r->seg_state[k] != SEG_ACKED)
            all = 0;
    }
    if (all)
        req_finish(l, r, CAR_OK, NULL);
}

/* ---- MO ------------------------------------------------------------------ */

static void deliver_resp(struct car_link *l, uint32_t seq, uint32_t status)
{
    uint8_t b[PDU_MAX_LEN];
    size_t n;

    if (pdu_build_deliver_sm_resp(b, sizeof(b), &n, seq, status) == CAR_OK)
        send_pdu(l, b, n);
}

static void on_deliver(struct car_link *l, const uint8_t *pdu, size_t len, const struct pdu_header *h)
{
    struct pdu_sm sm;
    struct pdu_receipt rc;
    uint8_t pkt[OTA_MAX_PACKET];
    size_t plen = 0;
    int kind = 0;
    char why[160];
    char mbuf[LOG_MSISDN_BUFSZ];
    int r;

    if (pdu_sm_decode(pdu, len, &sm, why, sizeof(why)) != CAR_OK) {
        l->stats.mo_malformed++;
        LOGP_RL(LOG_WARN, 10, "smpp", l->base.name, "deliver_sm refused: %s", why);
        deliver_resp(l, h->seq, PDU_ESME_RSYSERR);
        return;
    }
    /* Answer first: the SMSC's window must not depend on our reassembly. */
    deliver_resp(l, h->seq, 0);
    switch (pdu_mo_classify(&sm)) {
    case PDU_MO_RECEIPT:
        l->stats.receipts++;
        if (pdu_receipt_parse(&sm, &rc) == CAR_OK)
            LOGL(LOG_DEBUG, l, "receipt %s %s err %u for %s", rc.id, rc.stat, rc.err, log_msisdn(sm.source_addr, mbuf));
        return;
    case PDU_MO_PLAIN:
        l->stats.mo_malformed++;
        LOGP_RL(LOG_INFO, 10, "smpp", l->base.name, "plain MO from %s ignored", log_msisdn(sm.source_addr, mbuf));
        return;
    case PDU_MO_UDH: break;
    }
    r = udh_reasm_feed(l->reasm, sm.source_addr, sm.ud, sm.ud_len, now_ms(), pkt, sizeof(pkt), &plen, &kind);
    if (r < 0) {
        l->stats.mo_malformed++;
        LOGP_RL(LOG_WARN, 10, "smpp", l->base.name, "bad UDH from %s: %s", log_msisdn(sm.source_addr, mbuf),
                car_strerror((enum car_err) - r));
        return;
    }
    if (r != UDH_FEED_DONE)
        return;
    if (kind != UDH_RESPONSE) {
        l->stats.mo_malformed++;
        return;
    }
    l->stats.mo_received++;
    if (l->ev.mo)
        l->ev.mo(l->ev.arg, l, sm.source_addr, pkt, plen);
}

/* ---- reading --------------------------------------------------------------- */

static void handle_pdu(struct car_link *l, const uint8_t *pdu, size_t len)
{
    struct pdu_header h;
    char why[160];
    enum car_err rc;

    if (pdu_header(pdu, len, &h) != CAR_OK)
        return;
    rc = pdu_precheck(pdu, len, why, sizeof(why));
    if (rc != CAR_OK) {
        LOGP_RL(LOG_WARN, 10, "smpp", l->base.name, "%s", why);
        if (h.id == PDU_DELIVER_SM) {
            /* Still answered, or the SMSC would redeliver it forever. */
            l->stats.mo_malformed++;
            deliver_resp(l, h.seq, rc == CAR_ERR_UNSUPPORTED ? PDU_ESME_RINVCMDID : PDU_ESME_RSYSERR);
        } else if (!(h.id & PDU_RESP_BIT)) {
            send_header_only(l, PDU_GENERIC_NACK, rc == CAR_ERR_UNSUPPORTED ? PDU_ESME_RINVCMDID : PDU_ESME_RINVCMDLEN,
                             h.seq);
        }
        return;
    }
    switch (h.id) {
    case PDU_BIND_TRANSCEIVER_RESP:
        if (l->st != LS_BINDING || h.seq != l->bind_seq)
            break;
        if (h.status != 0) {
            LOGL(LOG_ERR, l, "bind refused: %s 0x%02x", pdu_status_name(h.status), h.status);
            link_lost(l, "bind refused");
            break;
        }
        if (set_state(l, LS_BOUND) != 0)
            break;
        l->backoff_ms = l->cfg->reconnect_min_ms;
        l->enq_outstanding = 0;
        LOGL(LOG_INFO, l, "bound as transceiver");
        if (l->ev.state)
            l->ev.state(l->ev.arg, l, 1);
        if (!l->dead)
            pump(l);
        break;
    case PDU_ENQUIRE_LINK: send_header_only(l, PDU_ENQUIRE_LINK_RESP, 0, h.seq); break;
    case PDU_ENQUIRE_LINK_RESP: l->enq_outstanding = 0; break;
    case PDU_UNBIND:
        send_header_only(l, PDU_UNBIND_RESP, 0, h.seq);
        link_lost(l, "unbound by the SMSC");
        break;
    case PDU_UNBIND_RESP:
        if (l->st == LS_UNBINDING)
            link_lost(l, "unbound");
        break;
    case PDU_SUBMIT_SM_RESP:
        on_submit_resp(l, &h);
        if (!l->dead)
            pump(l);
        break;
    case PDU_GENERIC_NACK:
        /* A nack for one of our submits is that submit's answer. */
        if (h.status == 0)
            h.status = PDU_ESME_RSYSERR;
        on_submit_resp(l, &h);
        break;
    case PDU_DELIVER_SM:
        if (l->st == LS_BOUND)
            on_deliver(l, pdu, len, &h);
        break;
    default:
        if (!(h.id & PDU_RESP_BIT))
            send_header_only(l, PDU_GENERIC_NACK, PDU_ESME_RINVCMDID, h.seq);
        break;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct car_link *l = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t pdu[PDU_MAX_LEN];

    enter(l);
    while (!l->dead && l->bev == bev) {
        size_t avail = evbuffer_get_length(in);
        size_t plen = 0;
        const uint8_t *p;
        enum car_err rc;

        if (avail < 4)
            break;
        p = evbuffer_pullup(in, avail < PDU_MAX_LEN ? (ev_ssize_t)avail : PDU_MAX_LEN);
        rc = pdu_frame(p, avail, &plen);
        if (rc == CAR_ERR_AGAIN)
            break;
        if (rc != CAR_OK) {
            LOGL(LOG_ERR, l, "command_length %zu: stream out of sync", plen);
            link_lost(l, "malformed framing");
            break;
        }
        if (evbuffer_remove(in, pdu, plen) != (int)plen)
            break;
        handle_pdu(l, pdu, plen);
    }
    leave(l);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct car_link *l = arg;
    uint8_t b[PDU_MAX_LEN];
    size_t n;

    (void)bev;
    enter(l);
    if (what & BEV_EVENT_CONNECTED) {
        /* PDUs are small and answered one by one: Nagle's algorithm against the
         * peer's delayed ACK would hold a submit_sm up to 40 ms. */
        int one = 1;
        (void)setsockopt(bufferevent_getfd(l->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (set_state(l, LS_BINDING) == 0) {
            l->bind_seq = next_seq(l);
            if (pdu_build_bind_trx(b, sizeof(b), &n, l->bind_seq, l->cfg->system_id, l->cfg->password,
                                   l->cfg->system_type) == CAR_OK) {
                send_pdu(l, b, n);
            } else {
                link_lost(l, "cannot build bind_transceiver");
            }
            OPENSSL_cleanse(b, sizeof(b));
        }
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        link_lost(l,
                  (what & BEV_EVENT_EOF) ? "connection closed" : evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    }
    leave(l);
}

/* ---- connection --------------------------------------------------------- */

static void drop_bev(struct car_link *l)
{
    if (l->bev) {
        bufferevent_free(l->bev);
        l->bev = NULL;
    }
}

static void link_lost(struct car_link *l, const char *why)
{
    int was_up = l->st == LS_BOUND || l->st == LS_UNBINDING;

    if (l->st == LS_DISCONNECTED)
        return;
    LOGL(was_up ? LOG_WARN : LOG_INFO, l, "link down (%s), reconnect in %u ms", why, l->backoff_ms);
    drop_bev(l);
    requeue_inflight(l);
    l->enq_outstanding = 0;
    (void)set_state(l, LS_DISCONNECTED);
    /* Exponential back-off, reset when a bind succeeds. */
    l->backoff_ms = l->backoff_ms * 2 > l->cfg->reconnect_max_ms ? l->cfg->reconnect_max_ms : l->backoff_ms * 2;
    if (was_up && l->ev.state)
        l->ev.state(l->ev.arg, l, 0);
}

static void link_connect(struct car_link *l)
{
    if (set_state(l, LS_CONNECTING) != 0)
        return;
    l->bev = bufferevent_socket_new(l->evb, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!l->bev) {
        link_lost(l, "out of memory");
        return;
    }
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    /* With the evdns base the lookup runs on the loop; a slow resolver never stalls other links. */
    if (bufferevent_socket_connect_hostname(l->bev, l->dns, AF_UNSPEC, l->cfg->host, l->cfg->port) != 0)
        link_lost(l, "connect failed");
}

static void on_state_timer(evutil_socket_t fd, short what, void *arg)
{
    struct car_link *l = arg;

    (void)fd;
    (void)what;
    enter(l);
    switch (l->st) {
    case LS_DISCONNECTED:
        l->stats.reconnects++;
        link_connect(l);
        break;
    case LS_CONNECTING: link_lost(l, "connect timeout"); break;
    case LS_BINDING: link_lost(l, "no bind_transceiver_resp"); break;
    case LS_BOUND:
        if (l->enq_outstanding) {
            link_lost(l, "no enquire_link_resp");
            break;
        }
        l->enq_outstanding = 1;
        send_header_only(l, PDU_ENQUIRE_LINK, 0, next_seq(l));
        arm(l->st_timer, (uint64_t)l->cfg->enquire_link_s * 1000u);
        break;
    case LS_UNBINDING: link_lost(l, "no unbind_resp"); break;
    case LS_COUNT: break;
    }
    leave(l);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct car_link *l = arg;
    uint64_t t_us = now_us(), t = t_us / 1000u;
    uint64_t timeout_us = (uint64_t)l->cfg->response_timeout_s * 1000000u;
    struct req *r;
    struct req *tmp;

    (void)fd;
    (void)what;
    enter(l);
    if (l->cfg->rate) {
        /* Bucket depth of one second's worth: short bursts, steady rate. */
        uint64_t cap = (uint64_t)l->cfg->rate * 1000u;
        l->tokens_milli += (t - l->refill_ms) * l->cfg->rate;
        if (l->tokens_milli > cap)
            l->tokens_milli = cap;
    }
    l->refill_ms = t;
    if (l->st == LS_BOUND) {
        TAILQ_FOREACH_SAFE(r, &l->reqs, entry, tmp)
        {
            int expired = 0;
            for (size_t i = 0; i < r->segs.count; i++) {
                if (r->seg_state[i] == SEG_INFLIGHT && t_us - r->seg_sent_us[i] >= timeout_us) {
                    /* A decided request needs no resend: just stop waiting. */
                    r->seg_state[i] = r->done ? SEG_ACKED : SEG_PENDING;
                    l->inflight--;
                    expired = 1;
                    if (!r->done) {
                        LOGL(LOG_INFO, l, "no submit_sm_resp for seq %u, resending", r->seg_seq[i]);
                        r->resent = 1;
                        l->stats.resent++;
                    }
                }
            }
            if (expired && r->done)
                req_finish(l, r, CAR_OK, NULL);
        }
        pump(l);
    }
    if (!l->dead)
        udh_reasm_expire(l->reasm, t);
    leave(l);
}

/* ---- car_ops -------------------------------------------------------------- */

static enum car_err smpp_open(struct event_base *base, const struct cfg_carrier *carrier,
                              const struct cfg_link *link_cfg, const struct car_events *ev, struct car_link **out)
{
    struct car_link *l;
    struct timeval tv = {0, SMPP_TICK_MS * 1000};
    const struct cfg_smpp *cfg;
    enum car_err rc = CAR_OK;

    *out = NULL;
    if (!base || !carrier || !link_cfg || !ev || link_cfg->kind != CFG_TRANSPORT_SMPP)
        return CAR_ERR_INVALID;
    cfg = &link_cfg->u.smpp;
    if (cfg->window == 0)
        return CAR_ERR_INVALID;
    l = calloc(1, sizeof(*l));
    if (!l)
        return CAR_ERR_NOMEM;
    l->base.ops = &car_smpp_ops;
    l->base.carrier = carrier;
    snprintf(l->base.name, sizeof(l->base.name), "%s", link_cfg->name);
    l->evb = base;
    /* Numeric hosts need no resolver; a missing resolv.conf leaves dns NULL (synchronous lookups). */
    l->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    l->cfg = cfg;
    l->ev = *ev;
    l->st = LS_DISCONNECTED;
    l->backoff_ms = cfg->reconnect_min_ms;
    l->refill_ms = now_ms();
    l->tokens_milli = (uint64_t)cfg->rate * 1000u;
    TAILQ_INIT(&l->reqs);
    l->reasm = udh_reasm_new(SMPP_REASM_SETS, (uint64_t)carrier->reassembly_timeout_s * 1000u);
    l->st_timer = evtimer_new(base, on_state_timer, l);
    l->tick = event_new(base, -1, EV_PERSIST, on_tick, l);
    if (!l->reasm || !l->st_timer || !l->tick) {
        rc = CAR_ERR_NOMEM;
        goto out;
    }
    evtimer_add(l->tick, &tv);
    link_connect(l);
out:
    if (rc != CAR_OK) {
        link_free(l);
        l = NULL;
    }
    *out = l;
    return rc;
}

/* Request fields -> SPKA/1 application data -> secured packet -> segments. */
static enum car_err encode_request(struct car_link *l, const struct car_request *q, struct req *r, char *why,
                                   size_t whylen)
{
    struct spka_command c;
    struct ota_keys keys;
    uint8_t text[1 + SPKA_MAX_TEXT + 8];
    uint8_t app[OTA_MAX_PACKET];
    uint8_t pkt[OTA_MAX_PACKET];
    size_t tlen = 0;
    size_t alen = 0;
    size_t plen = 0;
    enum car_err rc;

    memset(&c, 0, sizeof(c));
    memset(&keys, 0, sizeof(keys));
    c.cmd = (uint8_t)q->op;
    memcpy(c.txn_ref, q->txn_ref, sizeof(c.txn_ref));
    switch (q->op) {
    case CAR_OP_SIGN:
    case CAR_OP_GENKEY:
        c.key_ref = q->key_ref;
        if (q->display_text) {
            rc = text_encode(q->display_text, strlen(q->display_text), text, sizeof(text), &tlen, why, whylen);
            if (rc != CAR_OK)
                goto out;
            c.text = text;
            c.text_len = tlen;
        }
        if (q->op == CAR_OP_SIGN) {
            c.digest_alg = spka_digest_code(q->digest_alg);
            c.digest = q->digest;
            c.digest_len = q->digest_len;
            if (q->vc[0]) {
                c.vc = (const uint8_t *)q->vc;
                c.vc_len = strnlen(q->vc, sizeof(q->vc));
            }
            c.timeout_s = q->user_timeout_s;
            c.has_timeout = 1;
        } else {
            c.key_alg = q->key_alg;
        }
        break;
    case CAR_OP_PUTCERT:
        c.key_ref = q->key_ref;
        c.cert = q->cert_der;
        c.cert_len = q->cert_len;
        break;
    case CAR_OP_INFO: break;
    default: rc = CAR_ERR_INVALID; goto out;
    }
    rc = spka_encode_command(&c, app, sizeof(app), &alen);
    if (rc != CAR_OK)
        goto out;
    rc = ota_diversify(l->base.carrier->ota_master_key, q->sub.iccid, q->sub.ota_kv, &keys);
    if (rc != CAR_OK)
        goto out;
    rc = ota_wrap_command(&keys, q->cntr, app, alen, pkt, sizeof(pkt), &plen);
    if (rc != CAR_OK)
        goto out;
    rc = udh_split(pkt, plen, UDH_COMMAND, l->udh_ref++, &r->segs);
out:
    ota_keys_wipe(&keys);
    OPENSSL_cleanse(app, sizeof(app));
    OPENSSL_cleanse(text, sizeof(text));
    if (rc != CAR_OK && why && whylen && !why[0])
        snprintf(why, whylen, "%s", car_strerror(rc));
    return rc;
}

static enum car_err smpp_submit(struct car_link *l, const struct car_request *q, void *handle)
{
    struct req *r = NULL;
    char why[128] = "";
    char mbuf[LOG_MSISDN_BUFSZ];
    enum car_err rc;

    if (!l || !q || l->dead)
        return CAR_ERR_INVALID;
    if (l->st != LS_BOUND || l->nreqs >= SMPP_QUEUE_MAX)
        return CAR_ERR_AGAIN;
    if (!memchr(q->sub.msisdn, 0, sizeof(q->sub.msisdn)) || !q->sub.msisdn[0])
        return CAR_ERR_INVALID;
    r = calloc(1, sizeof(*r));
    if (!r)
        return CAR_ERR_NOMEM;
    rc = encode_request(l, q, r, why, sizeof(why));
    if (rc != CAR_OK) {
        LOGL(LOG_WARN, l, "cannot encode op %d for %s: %s", (int)q->op, log_msisdn(q->sub.msisdn, mbuf), why);
        free(r);
        return rc;
    }
    r->handle = handle;
    memcpy(r->msisdn, q->sub.msisdn, sizeof(r->msisdn));
    TAILQ_INSERT_TAIL(&l->reqs, r, entry);
    l->nreqs++;
    LOGL(LOG_DEBUG, l, "queued op %d for %s in %zu segment(s)", (int)q->op, log_msisdn(q->sub.msisdn, mbuf),
         r->segs.count);
    enter(l);
    pump(l);
    leave(l);
    return CAR_OK;
}

static enum car_err smpp_decode(struct car_link *l, const struct car_subscriber *sub, const uint8_t *data, size_t len,
                                struct car_reply *out)
{
    struct ota_keys keys;
    struct ota_response resp;
    struct spka_response sr;
    uint8_t plain[OTA_MAX_PACKET];
    enum car_err rc;

    memset(&keys, 0, sizeof(keys));
    memset(out, 0, offsetof(struct car_reply, buf)); /* buf is only read through the pointers */
    if (!l || !sub || !data || len > sizeof(plain)) {
        rc = len > sizeof(plain) ? CAR_ERR_TOO_LONG : CAR_ERR_INVALID;
        goto out;
    }
    rc = ota_diversify(l->base.carrier->ota_master_key, sub->iccid, sub->ota_kv, &keys);
    if (rc != CAR_OK)
        goto out;
    rc = ota_unwrap_response(&keys, data, len, plain, sizeof(plain), &resp);
    if (rc != CAR_OK)
        goto out;
    /* The PoR and the SPKA/1 result end here: the engine reads an outcome. */
    out->corr.cntr = resp.cntr;
    if (resp.status != OTA_POR_OK) {
        out->outcome = spka_outcome(resp.status, 0, out->detail, sizeof(out->detail));
        goto out;
    }
    rc = spka_decode_response(resp.data, resp.data_len, &sr);
    if (rc != CAR_OK)
        goto out;
    out->op = sr.cmd;
    out->corr.has_ref = 1;
    memcpy(out->corr.txn_ref, sr.txn_ref, sizeof(out->corr.txn_ref));
    out->outcome = spka_outcome(OTA_POR_OK, sr.result, out->detail, sizeof(out->detail));
    out->sig_format = CAR_SIG_RAW; /* a SIM signs the digest itself; the gateway builds any CMS */
    if (sr.sig_len + sr.spki_len > sizeof(out->buf)) {
        rc = CAR_ERR_TOO_LONG;
        goto out;
    }
    if (sr.sig_len) {
        memcpy(out->buf, sr.signature, sr.sig_len);
        out->signature = out->buf;
        out->sig_len = sr.sig_len;
    }
    if (sr.spki_len) {
        memcpy(out->buf + sr.sig_len, sr.spki, sr.spki_len);
        out->spki = out->buf + sr.sig_len;
        out->spki_len = sr.spki_len;
    }
out:
    ota_keys_wipe(&keys);
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}

static void smpp_stats(const struct car_link *l, struct car_link_stats *out)
{
    const struct req *r;

    *out = l->stats;
    out->in_flight = l->inflight;
    out->queued = 0;
    TAILQ_FOREACH(r, &l->reqs, entry)
    {
        if (!r->done)
            out->queued++;
    }
    out->up = l->st == LS_BOUND;
}

static void link_free(struct car_link *l)
{
    struct req *r;

    if (!l)
        return;
    drop_bev(l); /* cancels a lookup in progress before the dns base goes */
    if (l->dns)
        evdns_base_free(l->dns, 0);
    if (l->st_timer)
        event_free(l->st_timer);
    if (l->tick)
        event_free(l->tick);
    for (r = TAILQ_FIRST(&l->reqs); r; r = TAILQ_FIRST(&l->reqs))
        req_remove(l, r);
    udh_reasm_free(l->reasm);
    OPENSSL_cleanse(l, sizeof(*l));
    free(l);
}

static void smpp_close(struct car_link *l)
{
    if (!l || l->dead)
        return;
    /* Best effort: an unbind the kernel can take now, no waiting for the answer. */
    if (l->st == LS_BOUND && l->bev) {
        uint8_t b[PDU_HEADER_LEN];
        size_t n;
        evutil_socket_t fd = bufferevent_getfd(l->bev);
        /* Only when nothing is queued, or the unbind would cut a PDU in two. */
        if (fd >= 0 && evbuffer_get_length(bufferevent_get_output(l->bev)) == 0 &&
            pdu_build_header_only(b, sizeof(b), &n, PDU_UNBIND, 0, next_seq(l)) == CAR_OK) {
            if (send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                LOGL(LOG_DEBUG, l, "unbind not sent: %s", strerror(errno));
        }
    }
    /* Silence the link now; the memory goes once our callbacks have unwound. */
    drop_bev(l);
    evtimer_del(l->st_timer);
    evtimer_del(l->tick);
    l->dead = 1;
    if (l->busy == 0)
        link_free(l);
}

/* The SIM shows 180 octets of GSM-7 or 90 UCS-2 characters (car_text.h). */
static enum car_err smpp_check_text(const char *text, char *why, size_t whylen)
{
    uint8_t enc[200];
    size_t n;

    return text_encode(text, strlen(text), enc, sizeof(enc), &n, why, whylen);
}

const struct car_ops car_smpp_ops = {
    .name = "smpp",
    .resubmit_safe = 1, /* the SIM refuses a counter it has seen */
    .check_text = smpp_check_text,
    .open = smpp_open,
    .submit = smpp_submit,
    .decode = smpp_decode,
    .stats = smpp_stats,
    .close = smpp_close,
};
