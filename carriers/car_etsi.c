/*
 * car_etsi.c - the "etsi204" transport: a carrier link to a mobile signature
 * service (MSSP) speaking ETSI TS 102 204 over SOAP 1.2, vGCA profile
 * (docs/vgca/README.md).  The XML is car_etsi_xml.h's, the HTTP
 * config/http_client.h's (libcurl multi on the gateway's event loop).
 *
 * A SIGN request becomes MSS_Signature:
 *
 *   asynch (default)  100 REQUEST_OK + MSSP_TransID: reported through
 *                     ev->sent(CAR_OK, far_ref = MSSP_TransID), which the
 *                     engine stores in Redis; then MSS_StatusQuery with
 *                     backoff (poll_min_ms doubling to poll_max_ms) while the
 *                     answer is 504 OUTSTANDING_TRANSACTION, until a final
 *                     status or the request's deadline.  After a crash the
 *                     engine hands the request back with far_ref set and the
 *                     link only asks.
 *   synch             one HTTP request held until the final answer.
 *
 * Final answers go to ev->answer(txn_id, reply), mapped through the one
 * status table (etsi_status_find): the engine verifies every signature
 * itself, so an MSSP's 502 VALID_SIGNATURE is never trusted alone.
 *
 * AP_TransID is derived from the gateway's transaction id ("T" + id), so a
 * request sent again after a crash or a lost answer carries the same one and
 * the MSSP can deduplicate it.  Failover (car.h, sent): only what certainly
 * reached nobody is reported CAR_ERR_AGAIN (no connection, TLS refused,
 * HTTP 503) or CAR_ERR_NOT_FOUND (a status the table marks failover: this
 * link's credentials refused, a number it does not serve); anything after which the
 * MSSP may have prompted the official is retried on this link alone, with
 * the same AP_TransID, until the deadline.
 *
 * Circuit breaker: breaker_errors consecutive transport errors or HTTP 5xx
 * open it: the link reports itself down (ev->state) and refuses new requests
 * with CAR_ERR_AGAIN for breaker_open_ms, then lets traffic try again.
 */
#include "car.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include "car_etsi_priv.h"
#include "car_etsi_xml.h"
#include "cfg.h"
#include "digest.h"
#include "http_client.h"
#include "log.h"
#include "util.h"

#define ETSI_MAX_RETRY_MS 5000 /* largest pause between tries of a request that may have arrived */

enum t_state {
    T_SIGN,    /* MSS_Signature under way or to be retried */
    T_POLL,    /* waiting for the next MSS_StatusQuery */
    T_ASKING,  /* MSS_StatusQuery under way */
    T_RECEIPT, /* final: MSS_Receipt under way (nothing depends on it) */
};

struct etsi_txn {
    TAILQ_ENTRY(etsi_txn) entry;
    struct car_link *l;
    enum t_state st;
    void *handle; /* the engine's, until ev->sent reported it */
    char txn_id[32];
    char ap_trans_id[ETSI_ID_MAX];
    char mssp_trans_id[ETSI_ID_MAX];
    char msisdn[16];
    int64_t deadline_ms;
    int maybe_seen;   /* an earlier try may have reached the MSSP: never another link now */
    unsigned wait_ms; /* next pause (poll or retry) */
    struct hc_req *req;
    uint64_t req_start_us; /* when req was sent (etsi_clock_us) */
    struct event *timer;
    char *body; /* the request to (re)send; holds AP_PWD */
    size_t body_len;
};

int64_t etsi_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t etsi_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void etsi_round_trip(struct car_link *l, uint64_t start_us, const struct hc_answer *ha)
{
    if (l->ev.round_trip && ha->err != HC_ERR_SHUTDOWN)
        l->ev.round_trip(l->ev.arg, l, (double)(etsi_clock_us() - start_us) / 1e6);
}

/* ---- link state: the circuit breaker ----------------------------------------- */

static void state_cb(evutil_socket_t fd, short what, void *arg)
{
    struct car_link *l = arg;
    (void)fd;
    (void)what;
    /*
     * The timer armed for breaker_open_ms is what ends the pause (it may fire
     * a millisecond before the wall clock says so: libevent's clock is
     * monotonic).  Half open: requests try it again; the next error opens it.
     */
    if (l->open_until) {
        l->open_until = 0;
        l->errors = l->cfg->breaker_errors > 0 ? l->cfg->breaker_errors - 1 : 0;
    }
    l->up = l->open_until == 0;
    l->stats.up = l->up;
    if (l->ev.state)
        l->ev.state(l->ev.arg, l, l->up);
}

void etsi_breaker_ok(struct car_link *l)
{
    l->errors = 0;
}

void etsi_breaker_error(struct car_link *l)
{
    if (++l->errors < l->cfg->breaker_errors || l->open_until)
        return;
    l->open_until = etsi_now_ms() + l->cfg->breaker_open_ms;
    l->stats.reconnects++;
    LOGP(LOG_WARN, "etsi", l->base.name, "%u errors in a row: link skipped for %u ms", l->errors,
         l->cfg->breaker_open_ms);
    {
        struct timeval later = {l->cfg->breaker_open_ms / 1000, (l->cfg->breaker_open_ms % 1000) * 1000};
        /* Down now, up again (half open) after the pause. */
        event_del(l->state_ev);
        l->up = 0;
        l->stats.up = 0;
        if (l->ev.state)
            l->ev.state(l->ev.arg, l, 0);
        event_add(l->state_ev, &later);
    }
}

/* ---- one transaction ------------------------------------------------------- */

/* Wipe and free the request body (it holds AP_PWD); the next request builds its own. */
static void body_drop(struct etsi_txn *t)
{
    if (!t->body)
        return;
    OPENSSL_cleanse(t->body, t->body_len);
    free(t->body);
    t->body = NULL;
    t->body_len = 0;
}

static void txn_free(struct car_link *l, struct etsi_txn *t)
{
    TAILQ_REMOVE(&l->txns, t, entry);
    l->n_txns--;
    hc_cancel(t->req);
    if (t->timer)
        event_free(t->timer);
    body_drop(t);
    free(t);
}

static struct etsi_txn *txn_find(struct car_link *l, const char *id)
{
    struct etsi_txn *t;
    TAILQ_FOREACH(t, &l->txns, entry)
    if (strcmp(t->txn_id, id) == 0)
        return t;
    return NULL;
}

/* Tell the engine what became of the request it gave, once. */
static void report_sent(struct car_link *l, struct etsi_txn *t, enum car_err st, const char *detail,
                        const char *far_ref)
{
    void *h = t->handle;
    if (!h)
        return;
    t->handle = NULL;
    if (st == CAR_OK)
        l->stats.submit_ok++;
    else
        l->stats.submit_err++;
    l->ev.sent(l->ev.arg, h, st, detail, 0, far_ref);
}

static void report_answer(struct car_link *l, struct etsi_txn *t, struct car_reply *r)
{
    report_sent(l, t, CAR_OK, NULL, NULL);
    l->stats.mo_received++;
    if (l->ev.answer)
        l->ev.answer(l->ev.arg, t->txn_id, r);
    OPENSSL_cleanse(r, sizeof(*r));
}

/* A failure in the gateway's terms, with a reason for the transaction's detail. */
static void answer_fail(struct car_link *l, struct etsi_txn *t, enum car_outcome out, const char *detail)
{
    struct car_reply r;
    memset(&r, 0, sizeof(r));
    r.outcome = out;
    r.op = CAR_OP_SIGN;
    snprintf(r.detail, sizeof(r.detail), "%s", detail);
    report_answer(l, t, &r);
}

static void start_http(struct car_link *l, struct etsi_txn *t, enum t_state st, const char *url, enum etsi_kind kind);
static void send_receipt_or_free(struct car_link *l, struct etsi_txn *t, int status);

static void arm(struct etsi_txn *t, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t->timer, &tv);
}

/*
 * A request (not a receipt) is under way: when the transaction's deadline
 * comes before the request's own timeout, wake at the deadline to abandon it
 * (timer_cb).  The timer is free while a request runs: the answer re-arms it.
 */
static void arm_deadline(struct car_link *l, struct etsi_txn *t)
{
    int64_t left = t->deadline_ms - etsi_now_ms();
    if (t->st == T_RECEIPT || left >= (int64_t)l->cfg->timeout_ms)
        return;
    arm(t, left > 0 ? (unsigned)left : 0);
}

/* The deadline has come (or will before the next try): the engine's sweep expires the transaction. */
static void give_up(struct car_link *l, struct etsi_txn *t)
{
    report_sent(l, t, CAR_ERR_TIMEOUT, "no answer from the signature service before the deadline", NULL);
    txn_free(l, t);
}

/* Try again later on this link: the request may have reached the MSSP, the AP_TransID deduplicates. */
static void retry_later(struct car_link *l, struct etsi_txn *t)
{
    if (etsi_now_ms() + t->wait_ms >= t->deadline_ms) {
        give_up(l, t); /* nothing more to ask */
        return;
    }
    arm(t, t->wait_ms);
    t->wait_ms = t->wait_ms * 2 > l->cfg->poll_max_ms ? l->cfg->poll_max_ms : t->wait_ms * 2;
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct etsi_txn *t = arg;
    struct car_link *l = t->l;
    (void)fd;
    (void)what;
    /* Handed (back) to this link with the MSSP's id known: the engine hears it from the loop, never inside submit. */
    if (t->handle && t->st != T_SIGN)
        report_sent(l, t, CAR_OK, NULL, t->mssp_trans_id);
    if (t->req) {
        /* A query is under way: its answer schedules the next, unless the deadline comes first. */
        if (t->st != T_RECEIPT && etsi_now_ms() >= t->deadline_ms) {
            /*
             * An answer would come to nobody, and an error after the deadline
             * would count against a circuit that may have closed again meanwhile.
             */
            give_up(l, t);
            return;
        }
        arm_deadline(l, t);
        return;
    }
    if (t->st == T_SIGN) {
        start_http(l, t, T_SIGN, l->url_sign, ETSI_SIGNATURE);
        return;
    }
    if (etsi_now_ms() >= t->deadline_ms) {
        txn_free(l, t);
        return;
    }
    body_drop(t);
    {
        char ap_tid[ETSI_ID_MAX];
        struct etsi_head h = {&l->ap, ap_tid, time(NULL)};
        /* Each StatusQuery is a request of its own: its own AP_TransID. */
        snprintf(ap_tid, sizeof(ap_tid), "Q%.40s-%u", t->txn_id, ++l->seq);
        if (etsi_build_status(&h, t->mssp_trans_id, t->msisdn, &t->body, &t->body_len) != ETSI_OK) {
            answer_fail(l, t, CAR_OUT_INTERNAL_ERROR, "cannot build MSS_StatusQuery");
            txn_free(l, t);
            return;
        }
    }
    start_http(l, t, T_ASKING, l->url_status, ETSI_STATUS);
}

/* A final answer (status code known to be final): map, attach the signature, report. */
static void final_answer(struct car_link *l, struct etsi_txn *t, const struct etsi_answer *a,
                         const struct etsi_status *es)
{
    struct car_reply r;

    memset(&r, 0, sizeof(r));
    r.op = CAR_OP_SIGN;
    r.outcome = es->outcome;
    if (es->outcome != CAR_OUT_OK) {
        snprintf(r.detail, sizeof(r.detail), "signature service: %d %s", es->code, es->name);
    } else if (!a->signature || a->sig_len == 0 || a->sig_len + a->cert_len > sizeof(r.buf)) {
        r.outcome = CAR_OUT_INTERNAL_ERROR;
        snprintf(r.detail, sizeof(r.detail), "signature service: %d %s %s", es->code, es->name,
                 a->signature ? "with a signature too large" : "without a signature");
    } else {
        memcpy(r.buf, a->signature, a->sig_len);
        r.signature = r.buf;
        r.sig_len = a->sig_len;
        r.sig_format = l->cfg->format == CFG_ETSI_CMS ? CAR_SIG_CMS : CAR_SIG_RAW;
        if (a->cert && a->cert_len) {
            memcpy(r.buf + a->sig_len, a->cert, a->cert_len);
            r.cert = r.buf + a->sig_len;
            r.cert_len = a->cert_len;
        }
    }
    report_answer(l, t, &r);
    send_receipt_or_free(l, t, es->code);
}

/* What an HTTP answer (or its absence) means for a transaction. */
static void on_http(void *arg, const struct hc_answer *ha)
{
    struct etsi_txn *t = arg;
    struct car_link *l = t->l;
    enum t_state st = t->st;
    struct etsi_answer a;
    const struct etsi_status *es;
    char why[128] = "";
    enum etsi_err xe;

    t->req = NULL;
    etsi_round_trip(l, t->req_start_us, ha);
    if (st == T_RECEIPT) {
        txn_free(l, t);
        return;
    }
    if (ha->err == HC_ERR_TOO_LARGE) {
        /* Not a passing fault: an answer no MSSP sends (the client stopped reading at the limit). */
        l->stats.mo_malformed++;
        LOGP(LOG_WARN, "etsi", t->txn_id, "answer refused: %s", ha->why);
        answer_fail(l, t, CAR_OUT_INTERNAL_ERROR, "signature service answer refused: larger than allowed");
        txn_free(l, t);
        return;
    }
    if (ha->err != HC_OK || (ha->status >= 500 && ha->status != 500) || (ha->status == 500 && ha->len == 0)) {
        etsi_breaker_error(l);
        LOGP(LOG_WARN, "etsi", t->txn_id, "%s: %s%s", st == T_SIGN ? "MSS_Signature" : "MSS_StatusQuery",
             ha->err != HC_OK ? hc_strerror(ha->err) : "HTTP error status", ha->err != HC_OK ? "" : "");
        /* Certainly not delivered, now or by an earlier try: the engine may give it to another link. */
        if (st == T_SIGN && !t->maybe_seen &&
            (ha->err == HC_ERR_CONNECT || ha->err == HC_ERR_TLS || ha->status == 503)) {
            report_sent(l, t, CAR_ERR_AGAIN, ha->err != HC_OK ? hc_strerror(ha->err) : "HTTP 503", NULL);
            txn_free(l, t);
            return;
        }
        /* A timeout, a cut connection, a 5xx: the MSSP may have it; only this link, same AP_TransID. */
        if (st == T_SIGN && ha->err != HC_ERR_CONNECT && ha->err != HC_ERR_TLS && ha->status != 503)
            t->maybe_seen = 1;
        t->st = st == T_SIGN ? T_SIGN : T_POLL;
        retry_later(l, t);
        return;
    }
    l->stats.receipts++;
    xe = etsi_parse_answer(ha->body, ha->len, &a, why, sizeof(why));
    if (xe != ETSI_OK) {
        /* A hostile or broken answer ends the transaction: never OK, always a reason. */
        etsi_breaker_ok(l);
        l->stats.mo_malformed++;
        LOGP(LOG_WARN, "etsi", t->txn_id, "answer refused (HTTP %ld): %s: %s", ha->status, etsi_strerror(xe), why);
        {
            char d[96];
            snprintf(d, sizeof(d), "signature service answer refused: %.60s", why[0] ? why : etsi_strerror(xe));
            answer_fail(l, t, CAR_OUT_INTERNAL_ERROR, d);
        }
        txn_free(l, t);
        return;
    }
    etsi_breaker_ok(l);
    es = etsi_status_find(a.status);
    if (!es) {
        char d[64];
        snprintf(d, sizeof(d), "signature service: unknown status %d", a.status);
        answer_fail(l, t, CAR_OUT_INTERNAL_ERROR, d);
        etsi_answer_clear(&a);
        txn_free(l, t);
        return;
    }
    if (st == T_SIGN && a.kind == ETSI_FAULT && (es->failover || (es->code > 100 && es->code < 200))) {
        char d[96];
        /* Reached nobody: another link (failover), or no link at all (the request itself was refused). */
        snprintf(d, sizeof(d), "signature service: %d %s", es->code, es->name);
        report_sent(l, t, es->failover ? CAR_ERR_NOT_FOUND : CAR_ERR_PERMANENT, d, NULL);
        etsi_answer_clear(&a);
        txn_free(l, t);
        return;
    }
    if (!es->final) {
        /* 100 REQUEST_OK (asynch accepted) or 504 OUTSTANDING_TRANSACTION: ask again later. */
        if (st == T_SIGN) {
            if (!a.mssp_trans_id[0]) {
                answer_fail(l, t, CAR_OUT_INTERNAL_ERROR, "signature service accepted without an MSSP_TransID");
                etsi_answer_clear(&a);
                txn_free(l, t);
                return;
            }
            snprintf(t->mssp_trans_id, sizeof(t->mssp_trans_id), "%s", a.mssp_trans_id);
            report_sent(l, t, CAR_OK, NULL, t->mssp_trans_id);
            t->wait_ms = l->cfg->poll_min_ms;
        }
        t->st = T_POLL;
        etsi_answer_clear(&a);
        retry_later(l, t);
        return;
    }
    final_answer(l, t, &a, es);
    etsi_answer_clear(&a);
}

/* SOAP 1.2's Content-Type, with the action parameter only when the profile names one. */
void etsi_content_type(enum etsi_kind kind, char *out, size_t cap)
{
    const char *a = etsi_action(kind);
    if (a && *a)
        snprintf(out, cap, "%s; action=\"%s\"", ETSI_CONTENT_TYPE, a);
    else
        snprintf(out, cap, "%s", ETSI_CONTENT_TYPE);
}

/*
 * Send t->body to url as kind, the transaction in state st while it is under
 * way.  When it cannot even start: a receipt is given up (nothing depends on
 * it, the transaction ends), a signature or a query tried again later.
 */
static void start_http(struct car_link *l, struct etsi_txn *t, enum t_state st, const char *url, enum etsi_kind kind)
{
    char ctype[200];

    t->st = st;
    etsi_content_type(kind, ctype, sizeof(ctype));
    t->req_start_us = etsi_clock_us();
    t->req = hc_fetch(l->http, url, ctype, NULL, (const uint8_t *)t->body, t->body_len, on_http, t);
    if (t->req) {
        arm_deadline(l, t);
        return;
    }
    if (st == T_RECEIPT) {
        txn_free(l, t);
        return;
    }
    l->stats.submit_err++;
    retry_later(l, t);
}

static void send_receipt_or_free(struct car_link *l, struct etsi_txn *t, int status)
{
    char ap_tid[ETSI_ID_MAX], msg[32];
    struct etsi_head h = {&l->ap, ap_tid, time(NULL)};

    if (!l->cfg->receipt || !t->mssp_trans_id[0]) {
        txn_free(l, t);
        return;
    }
    body_drop(t);
    snprintf(ap_tid, sizeof(ap_tid), "R%.40s-%u", t->txn_id, ++l->seq);
    snprintf(msg, sizeof(msg), "%d", status);
    if (etsi_build_receipt(&h, t->mssp_trans_id, t->msisdn, msg, &t->body, &t->body_len) != ETSI_OK) {
        txn_free(l, t);
        return;
    }
    start_http(l, t, T_RECEIPT, l->url_receipt, ETSI_RECEIPT);
}

/* ---- car_ops ---------------------------------------------------------------- */

static enum car_err etsi_submit(struct car_link *l, const struct car_request *req, void *handle)
{
    struct etsi_txn *t;
    uint8_t dtbs[DG_DIGESTINFO_MAX];
    size_t dtbs_len;

    if (l->open_until)
        return CAR_ERR_AGAIN; /* circuit open: the engine tries another link or later */
    l->stats.submitted++;
    t = txn_find(l, req->txn_id);
    if (t) {
        /* Handed back (a lease renewal or another instance's sweep): this link asks already. */
        if (t->handle || !t->mssp_trans_id[0] || t->st == T_RECEIPT)
            return CAR_ERR_AGAIN;
        t->handle = handle;
        if (req->deadline_ms)
            t->deadline_ms = req->deadline_ms;
        arm(t, 0); /* reports sent from the loop; a query under way goes on */
        return CAR_OK;
    }
    if (req->op != CAR_OP_SIGN)
        return CAR_ERR_UNSUPPORTED; /* GENKEY, PUTCERT, INFO: SIM OTA only */
    if (l->n_txns + l->n_lookups >= l->cfg->max_in_flight)
        return CAR_ERR_AGAIN;
    if (!(t = calloc(1, sizeof(*t))))
        return CAR_ERR_NOMEM;
    t->l = l;
    t->handle = handle;
    t->deadline_ms = req->deadline_ms ? req->deadline_ms : etsi_now_ms() + 300000;
    t->wait_ms = l->cfg->poll_min_ms;
    snprintf(t->txn_id, sizeof(t->txn_id), "%s", req->txn_id);
    snprintf(t->msisdn, sizeof(t->msisdn), "%s", req->sub.msisdn);
    /* Derived, not random: a retry of the same request carries the same AP_TransID. */
    snprintf(t->ap_trans_id, sizeof(t->ap_trans_id), "T%.40s", req->txn_id);
    if (!(t->timer = evtimer_new(l->evb, timer_cb, t))) {
        free(t);
        return CAR_ERR_NOMEM;
    }
    TAILQ_INSERT_TAIL(&l->txns, t, entry);
    l->n_txns++;

    if (req->far_ref[0]) {
        /* Resumed after a crash: the MSSP holds it already; only ask. */
        snprintf(t->mssp_trans_id, sizeof(t->mssp_trans_id), "%s", req->far_ref);
        t->st = T_POLL;
        arm(t, 0);
        /* Reported from the loop: never call back inside submit. */
        return CAR_OK;
    }
    dtbs_len = dg_digestinfo(req->digest_alg, req->digest, req->digest_len, dtbs, sizeof(dtbs));
    if (dtbs_len == 0) {
        txn_free(l, t);
        return CAR_ERR_INVALID;
    }
    {
        struct etsi_sig_req sr = {
            .h = {&l->ap, t->ap_trans_id, time(NULL)},
            .msisdn = req->sub.msisdn,
            .dtbs = dtbs,
            .dtbs_len = dtbs_len,
            .display = req->display_text ? req->display_text : "",
            .mss_format = l->cfg->format == CFG_ETSI_CMS ? ETSI_NS_FMT_CMS : ETSI_NS_FMT_PKCS1,
            .profile = l->cfg->profile[0] ? l->cfg->profile : NULL,
            .timeout_s = req->user_timeout_s,
            .mode = l->cfg->mode == CFG_ETSI_SYNCH ? ETSI_MODE_SYNCH : ETSI_MODE_ASYNCH_CS,
            .want_cert = 1,
            .want_validation = l->cfg->want_validation,
        };
        if (etsi_build_signature(&sr, &t->body, &t->body_len) != ETSI_OK) {
            txn_free(l, t);
            return CAR_ERR_INVALID;
        }
    }
    t->st = T_SIGN;
    arm(t, 0); /* sent from the loop, so ev->sent never runs inside submit */
    return CAR_OK;
}

static enum car_err etsi_decode(struct car_link *l, const struct car_subscriber *sub, const uint8_t *data, size_t len,
                                struct car_reply *out)
{
    (void)l;
    (void)sub;
    (void)data;
    (void)len;
    (void)out;
    return CAR_ERR_UNSUPPORTED; /* answers come through ev->answer, never ev->mo */
}

static void etsi_stats(const struct car_link *l, struct car_link_stats *out)
{
    *out = l->stats;
    out->in_flight = (unsigned)l->n_txns;
    out->up = l->up;
}

static void etsi_close(struct car_link *l)
{
    while (!TAILQ_EMPTY(&l->txns))
        txn_free(l, TAILQ_FIRST(&l->txns));
    etsi_reg_close(l);
    hc_free(l->http);
    if (l->state_ev)
        event_free(l->state_ev);
    OPENSSL_cleanse(l, sizeof(*l));
    free(l);
}

static enum car_err etsi_open(struct event_base *base, const struct cfg_carrier *carrier, const struct cfg_link *lc,
                              const struct car_events *ev, struct car_link **out)
{
    const struct cfg_etsi *c = &lc->u.etsi;
    struct car_link *l;
    struct hc_cfg hc = {0};
    const char *sep;

    *out = NULL;
    if (lc->kind != CFG_TRANSPORT_ETSI204 || !ev || !ev->sent)
        return CAR_ERR_INVALID;
    if (!(l = calloc(1, sizeof(*l))))
        return CAR_ERR_NOMEM;
    l->base.ops = &car_etsi_ops;
    l->base.carrier = carrier;
    snprintf(l->base.name, sizeof(l->base.name), "%s", lc->name);
    l->cfg = c;
    l->ev = *ev;
    l->evb = base;
    TAILQ_INIT(&l->txns);
    TAILQ_INIT(&l->lookups);
    l->ap.ap_id = c->ap_id;
    l->ap.ap_pwd = c->ap_pwd;
    l->ap.mssp_id = c->mssp_id;
    sep = c->url[0] && c->url[strlen(c->url) - 1] == '/' ? "" : "/";
    snprintf(l->url_sign, sizeof(l->url_sign), "%s%s%s", c->url, sep, etsi_port(ETSI_SIGNATURE));
    snprintf(l->url_status, sizeof(l->url_status), "%s%s%s", c->url, sep, etsi_port(ETSI_STATUS));
    snprintf(l->url_receipt, sizeof(l->url_receipt), "%s%s%s", c->url, sep, etsi_port(ETSI_RECEIPT));
    snprintf(l->url_reg, sizeof(l->url_reg), "%s%s%s", c->url, sep, etsi_port(ETSI_REGISTRATION));
    /* synch holds one request while the official decides: its timeout includes their time. */
    hc.timeout_ms = c->mode == CFG_ETSI_SYNCH ? c->timeout_ms + 600000u : c->timeout_ms;
    hc.max_body = ETSI_MAX_BODY;
    hc.max_connections = c->max_in_flight; /* one per request under way, kept for the next */
    hc.ca_file = c->ca_file[0] ? c->ca_file : NULL;
    hc.cert_file = c->cert_file[0] ? c->cert_file : NULL;
    hc.key_file = c->key_file[0] ? c->key_file : NULL;
    if (hc_new(base, &hc, &l->http) != HC_OK || !(l->state_ev = evtimer_new(base, state_cb, l))) {
        LOGP(LOG_ERR, "etsi", l->base.name, "cannot set up the HTTP client (CA file, client certificate or key)");
        etsi_close(l);
        return CAR_ERR_INVALID;
    }
    l->stats.up = 1;
    {
        struct timeval now = {0, 0};
        evtimer_add(l->state_ev, &now); /* "up" from the loop, as SMPP says it after its bind */
    }
    *out = l;
    return CAR_OK;
}

const struct car_ops car_etsi_ops = {
    .name = "etsi204",
    /* A copy carries the same AP_TransID and goes to the same link: the MSSP deduplicates it. */
    .resubmit_safe = 1,
    .check_text = NULL,
    .open = etsi_open,
    .submit = etsi_submit,
    .decode = etsi_decode,
    .stats = etsi_stats,
    .close = etsi_close,
    .lookup = etsi_reg_lookup,
};
