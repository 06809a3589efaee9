/* gw_txn_answer.c - answers from SIMs: lookup, correlation, outcomes, the counter resync (gw_txn_priv.h). */
#include "gw_txn_priv.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "gw_metrics.h"
#include "gw_util.h"
#include "log.h"

#define LOOKUP_RETRIES  25  /* a PoR met with Redis down is retried this often ... */
#define LOOKUP_RETRY_MS 200 /* ... this far apart, so a short outage loses nothing */

/* ---- answers from SIMs ------------------------------------------------ */

struct mo_ctx {
    struct gw_engine *e;
    struct car_link *link;
    struct event *retry_ev;
    int tries;
    char msisdn[16];
    size_t len;
    uint8_t data[];
};

static void mo_lookup(struct mo_ctx *m);

static void mo_free(struct mo_ctx *m)
{
    if (m->retry_ev)
        event_free(m->retry_ev);
    free(m);
}

/*
 * What each transport outcome is: the transaction's event (gw_txn_fsm.h),
 * and for a refusal the API result (its ETSI status is gw_result's).  MORE_TIME
 * asks for patience and COUNTER_LOW is a copy's refusal or the SIM ahead of
 * us: the table says which, from the transaction's state.  OK goes on to the
 * signature's checks.
 */
struct outcome {
    enum gwt_event ev;
    const char *result;
};

static const struct outcome outcomes[CAR_OUT_COUNT] = {
    [CAR_OUT_OK] = {GWT_EV_ANSWER_OK, "OK"},
    [CAR_OUT_USER_CANCEL] = {GWT_EV_ANSWER_FAIL, "USER_CANCEL"},
    [CAR_OUT_EXPIRED] = {GWT_EV_ANSWER_FAIL, "EXPIRED"},
    [CAR_OUT_PIN_BLOCKED] = {GWT_EV_ANSWER_FAIL, "PIN_BLOCKED"},
    [CAR_OUT_CARD_BLOCKED] = {GWT_EV_ANSWER_FAIL, "CARD_BLOCKED"},
    [CAR_OUT_NO_KEY] = {GWT_EV_ANSWER_FAIL, "NO_KEY"},
    [CAR_OUT_KEY_EXISTS] = {GWT_EV_ANSWER_FAIL, "KEY_EXISTS"},
    [CAR_OUT_BAD_COMMAND] = {GWT_EV_ANSWER_FAIL, "BAD_COMMAND"},
    [CAR_OUT_UNSUPPORTED] = {GWT_EV_ANSWER_FAIL, "UNSUPPORTED"},
    [CAR_OUT_STORAGE_FULL] = {GWT_EV_ANSWER_FAIL, "STORAGE_FULL"},
    [CAR_OUT_INTERNAL_ERROR] = {GWT_EV_ANSWER_FAIL, "INTERNAL_ERROR"},
    [CAR_OUT_NO_CERTIFICATE] = {GWT_EV_ANSWER_FAIL, "NO_CERTIFICATE"},
    [CAR_OUT_OTA_ERROR] = {GWT_EV_ANSWER_FAIL, "OTA_ERROR"},
    [CAR_OUT_COUNTER_LOW] = {GWT_EV_COUNTER_LOW, NULL},
    [CAR_OUT_MORE_TIME] = {GWT_EV_MORE_TIME, NULL},
};

/* An outcome a transport should not produce reads as the far end's internal error. */
static const struct outcome *outcome_of(const struct car_reply *r)
{
    if ((unsigned)r->outcome >= CAR_OUT_COUNT)
        return &outcomes[CAR_OUT_INTERNAL_ERROR];
    return &outcomes[r->outcome];
}

/* A failed answer: its table row, the transport's detail. */
static void finish_failed(struct gw_engine *e, const struct q_txn *txn, const struct car_reply *r,
                          const struct gwt_via *via)
{
    const struct outcome *o = outcome_of(r);

    gwt_fail(e, txn->id, txn->cntr, o->result, r->detail, via);
}

static void finish_lifecycle(struct gw_engine *e, const struct q_txn *txn, const struct car_reply *r,
                             const struct gwt_via *via)
{
    static const uint8_t want_op[] = {
        [Q_OP_GENKEY] = CAR_OP_GENKEY, [Q_OP_CSR] = CAR_OP_SIGN, [Q_OP_PUTCERT] = CAR_OP_PUTCERT};
    const uint8_t *data = NULL;
    size_t len = 0;

    if (r->outcome != CAR_OUT_OK) {
        finish_failed(e, txn, r, via);
        return;
    }
    if (txn->op == Q_OP_GENKEY) {
        data = r->spki;
        len = r->spki_len;
    } else if (txn->op == Q_OP_CSR) {
        data = r->signature;
        len = r->sig_len;
    }
    if (r->op != want_op[txn->op] || (txn->op != Q_OP_PUTCERT && len == 0)) {
        gwt_fail(e, txn->id, txn->cntr, "BAD_ANSWER",
                 txn->op == Q_OP_GENKEY ? "the SIM answered OK without a public key"
                                        : "the SIM answered OK to another command or without its data",
                 via);
        return;
    }
    gwt_finish(e, txn->id, txn->cntr,
               &(struct q_finish){.state = Q_COMPLETED, .result = "OK", .signature = data, .sig_len = len}, via);
}

static void resync(struct gw_engine *e, const struct q_txn *txn);
static void resync_failed(struct gw_engine *e, const struct q_txn *txn, const struct gwt_via *via);

/* An answer the table ignores in state st: count what it was. */
static void ignored(struct gw_engine *e, enum gwt_state st, enum gwt_event ev)
{
    if (st == GWT_FINISHED)
        gw_metrics_inc(e->d.metrics, GW_M_POR_NO_PENDING); /* late: finished meanwhile */
    else if (ev == GWT_EV_COUNTER_LOW)
        gw_metrics_inc(e->d.metrics, GW_M_POR_DUPLICATE); /* a copy's refusal; the first copy's answer counts */
    /* MORE_TIME: keep waiting */
}

/*
 * An answer correlated with the pending transaction txn (by counter and
 * reference, or by id), carried by via: the table says what its outcome
 * does in the transaction's state.
 */
static void act_on(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub, const struct car_reply *r,
                   const struct gwt_via *via)
{
    enum gwt_state from = gwt_state_of(txn);
    enum gwt_event ev = outcome_of(r)->ev;
    enum gwt_state to = gwt_fsm_next(from, ev);

    if (to == from || to == GWT_NONE) {
        ignored(e, from, ev);
        return;
    }
    if (to == GWT_RESYNCING) {
        resync(e, txn);
    } else if (ev == GWT_EV_COUNTER_LOW) {
        resync_failed(e, txn, via); /* RESYNCED -> FINISHED */
    } else if (txn->op != Q_OP_SIGN) {
        finish_lifecycle(e, txn, r, via);
    } else if (to == GWT_FINISHED) {
        finish_failed(e, txn, r, via);
    } else if (!r->signature || r->sig_len == 0) {
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        gwt_fail(e, txn->id, txn->cntr, "INVALID_SIGNATURE", "the far end answered OK without a signature", via);
    } else {
        gwt_verify_signed(e, txn, sub, r, via);
    }
}

static void handle_reply(struct mo_ctx *m, const struct q_sub *sub, const struct q_txn *txn)
{
    struct gw_engine *e = m->e;
    struct car_subscriber cs;
    struct car_reply *r;
    uint8_t ref[8];
    enum car_err rc;

    r = malloc(sizeof(*r));
    if (!r)
        return;
    memset(&cs, 0, sizeof(cs));
    snprintf(cs.msisdn, sizeof(cs.msisdn), "%s", sub->msisdn);
    snprintf(cs.iccid, sizeof(cs.iccid), "%s", sub->iccid);
    cs.ota_kv = sub->kv;
    rc = car_link_decode(m->link, &cs, m->data, m->len, r);
    if (rc != CAR_OK) {
        /* Forged, corrupted or for another key: never completes anything. */
        gw_metrics_inc(e->d.metrics, GW_M_POR_BAD_CC);
        LOGP_RL(LOG_WARN, 10, "txn", car_link_name(m->link), "answer dropped: %s", car_strerror(rc));
        goto out;
    }
    if (!txn) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_NO_PENDING);
        goto out;
    }
    if (r->corr.cntr != txn->cntr || gw_txn_ref_from_id(txn->id, ref) != 0 ||
        (r->corr.has_ref && memcmp(ref, r->corr.txn_ref, 8) != 0)) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_MISMATCH);
        LOGP(LOG_INFO, "txn", txn->id, "answer for counter %llu ignored (pending %llu)",
             (unsigned long long)r->corr.cntr, (unsigned long long)txn->cntr);
        goto out;
    }
    {
        struct gwt_via via; /* the link the SIM's answer came in on */
        gwt_via_link(m->link, &via);
        act_on(e, txn, sub, r, &via);
    }
out:
    OPENSSL_cleanse(r, sizeof(*r)); /* it held a signature and a decrypted packet */
    free(r);
}

/* ---- the SIM's counter ahead of ours (sim-applet-ota.md §3, CNTR low) ---- */

static void resynced(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn)
{
    struct gw_engine *e = arg;

    if ((err == Q_ERR_CONFLICT || err == Q_ERR_NOT_FOUND) &&
        gwt_fsm_next(GWT_RESYNCING, GWT_EV_RESYNC_LOST) == GWT_RESENT) {
        /* Finished meanwhile, or a copy was recorded after our read: the CNTR low answered a duplicate. */
        gw_metrics_inc(e->d.metrics, GW_M_POR_DUPLICATE);
        return;
    }
    if (err != Q_OK || !sub || !txn || gwt_fsm_next(GWT_RESYNCING, GWT_EV_RESYNC_DONE) != GWT_QUEUED) {
        /* Nothing changed: the transaction waits for its deadline, as before resyncs existed. */
        gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        LOGP(LOG_ERR, "txn", "-", "OTA counter resync not stored: %s", q_strerror(err));
        return;
    }
    gw_metrics_inc(e->d.metrics, GW_M_OTA_RESYNC);
    LOGP(LOG_WARN, "txn", txn->id, "OTA counter moved forward to %llu for this SIM; resending",
         (unsigned long long)txn->cntr);
    gwt_submit(e, txn, sub);
}

/*
 * CNTR low echoing the pending command's counter (the table decides which
 * case it is: a copy's refusal in RESENT is ignored).  After a resync
 * (RESYNCED): the SIM is more than a step ahead; end the transaction
 * (OTA_ERROR) rather than leave it to its deadline.
 */
static void resync_failed(struct gw_engine *e, const struct q_txn *txn, const struct gwt_via *via)
{
    gw_metrics_inc(e->d.metrics, GW_M_OTA_RESYNC_FAILED);
    LOGP(LOG_ERR, "txn", txn->id, "the SIM refused OTA counter %llu too, after a resync",
         (unsigned long long)txn->cntr);
    gwt_fail(e, txn->id, txn->cntr, "OTA_ERROR", "the SIM refused the OTA counter (CNTR low) again after a resync",
             via);
}

/* Sent once (SENT): the SIM's counter is ahead of ours; move ours forward and send again, once. */
static void resync(struct gw_engine *e, const struct q_txn *txn)
{
    LOGP(LOG_WARN, "txn", txn->id,
         "the SIM refused OTA counter %llu as already seen (CNTR low) for a command sent once: "
         "the gateway's counter is behind the SIM's (a restored Redis, a re-provisioned SIM)",
         (unsigned long long)txn->cntr);
    q_txn_resync(e->d.q, txn->id, txn->cntr, Q_CNTR_RESYNC_STEP,
                 gw_now_ms() + (int64_t)e->d.cfg->resubmit_lease_s * 1000, resynced, e);
}

static void mo_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    mo_lookup(arg);
}

static void mo_looked_up(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn)
{
    struct mo_ctx *m = arg;
    struct gw_engine *e = m->e;
    char masked[LOG_MSISDN_BUFSZ];

    if (err == Q_ERR_AGAIN && ++m->tries < LOOKUP_RETRIES) {
        struct timeval tv = {0, LOOKUP_RETRY_MS * 1000};
        if (!m->retry_ev)
            m->retry_ev = evtimer_new(e->d.base, mo_retry_cb, m);
        if (m->retry_ev && evtimer_add(m->retry_ev, &tv) == 0)
            return;
    }
    if (err == Q_ERR_NOT_FOUND || (err == Q_OK && !sub)) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_UNKNOWN_SUB);
        LOGP_RL(LOG_WARN, 10, "txn", car_link_name(m->link), "answer from %s, not in the registry",
                log_msisdn(m->msisdn, masked));
    } else if (err != Q_OK) {
        gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        LOGP(LOG_ERR, "txn", car_link_name(m->link), "answer from %s lost: Redis: %s", log_msisdn(m->msisdn, masked),
             q_strerror(err));
    } else {
        handle_reply(m, sub, txn);
    }
    mo_free(m);
}

static void mo_lookup(struct mo_ctx *m)
{
    q_por_lookup(m->e->d.q, m->msisdn, mo_looked_up, m);
}

void gwt_on_mo(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len)
{
    struct gw_engine *e = arg;
    struct mo_ctx *m;

    gw_metrics_inc(e->d.metrics, GW_M_POR_RECEIVED);
    if (len > CAR_MO_MAX || strlen(msisdn) >= sizeof(m->msisdn)) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_BAD_CC);
        LOGP_RL(LOG_WARN, 10, "txn", car_link_name(link), "answer of %zu octets dropped: longer than %d or bad number",
                len, CAR_MO_MAX);
        return;
    }
    m = calloc(1, sizeof(*m) + len);
    if (!m)
        return;
    m->e = e;
    m->link = link;
    m->len = len;
    memcpy(m->data, data, len);
    memcpy(m->msisdn, msisdn, strlen(msisdn) + 1);
    mo_lookup(m);
}

/* ---- answers a transport correlated itself (car_events.answer) ----------- */

/*
 * An answer by transaction id (an MSSP answers by its own transaction id and
 * the transport maps it back).  It owns a copy of the reply, its pointers
 * rebased into the copy's buf.
 */
struct answer_ctx {
    struct gw_engine *e;
    char id[Q_ID_LEN];
    struct car_reply r;
};

static void answer_free(struct answer_ctx *a)
{
    OPENSSL_cleanse(&a->r, sizeof(a->r));
    free(a);
}

/* dst's pointer for src's p: the same offset into dst->buf; 0 when p is outside src->buf. */
static int rebase(const struct car_reply *src, struct car_reply *dst, const uint8_t *p, size_t len, const uint8_t **out)
{
    if (!p) {
        *out = NULL;
        return len == 0;
    }
    if (p < src->buf || len > sizeof(src->buf) || (size_t)(p - src->buf) > sizeof(src->buf) - len)
        return 0;
    *out = dst->buf + (p - src->buf);
    return 1;
}

static void answer_looked_up(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn)
{
    struct answer_ctx *a = arg;
    struct gw_engine *e = a->e;

    if (err != Q_OK || !sub) {
        gw_metrics_inc(e->d.metrics, err == Q_ERR_NOT_FOUND || err == Q_OK ? GW_M_POR_UNKNOWN_SUB : GW_M_REDIS_ERRORS);
        LOGP(LOG_WARN, "txn", a->id, "answer lost: subscriber lookup: %s", q_strerror(err));
    } else if (!txn || strcmp(txn->id, a->id) != 0) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_NO_PENDING); /* finished meanwhile, or another one pending */
    } else {
        struct gwt_via via;
        gwt_via_txn(e, txn, &via);
        act_on(e, txn, sub, &a->r, &via);
    }
    answer_free(a);
}

static void answer_got_txn(void *arg, enum q_err err, const struct q_txn *txn)
{
    struct answer_ctx *a = arg;
    struct gw_engine *e = a->e;
    enum gwt_state st = err == Q_OK ? gwt_state_of(txn) : GWT_NONE;
    enum gwt_event ev = outcome_of(&a->r)->ev;

    if (err == Q_ERR_NOT_FOUND) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_NO_PENDING);
    } else if (err == Q_OK && gwt_fsm_next(st, ev) == st) {
        ignored(e, st, ev); /* a late answer for a finished transaction, a copy's CNTR low: no lookup */
    } else if (err != Q_OK) {
        gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        LOGP(LOG_ERR, "txn", a->id, "answer lost: Redis: %s", q_strerror(err));
    } else {
        /* The subscriber and its pending transaction in one round trip, as for an SMS answer. */
        q_por_lookup(e->d.q, txn->msisdn, answer_looked_up, a);
        return;
    }
    answer_free(a);
}

void gwt_on_answer(void *arg, const char *txn_id, const struct car_reply *r)
{
    struct gw_engine *e = arg;
    struct answer_ctx *a;

    gw_metrics_inc(e->d.metrics, GW_M_POR_RECEIVED);
    if (!txn_id || strlen(txn_id) != Q_ID_LEN - 1 || strspn(txn_id, "0123456789abcdef") != Q_ID_LEN - 1 || !r) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_BAD_CC);
        return;
    }
    a = calloc(1, sizeof(*a));
    if (!a)
        return;
    a->e = e;
    memcpy(a->id, txn_id, Q_ID_LEN);
    a->r = *r;
    if (!rebase(r, &a->r, r->signature, r->sig_len, &a->r.signature) ||
        !rebase(r, &a->r, r->cert, r->cert_len, &a->r.cert) || !rebase(r, &a->r, r->spki, r->spki_len, &a->r.spki)) {
        /* A transport bug: car.h says the pointers point into buf. */
        gw_metrics_inc(e->d.metrics, GW_M_POR_BAD_CC);
        LOGP(LOG_ERR, "txn", a->id, "answer dropped: its data is not inside the reply's buffer");
        answer_free(a);
        return;
    }
    q_txn_get(e->d.q, a->id, answer_got_txn, a);
}
