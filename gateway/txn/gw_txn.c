/* gw_txn.c - see gw_txn.h. */
#include "gw_txn.h"

#include <event2/buffer.h>
#include <stddef.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "car.h"
#include "car_ota.h"
#include "car_route.h"
#include "cfg.h"
#include "http_client.h"
#include "util.h"
#include "gw_metrics.h"
#include "gw_util.h"
#include "log.h"
#include "q_cache.h"
#include "sig.h"
#include "sig_cms.h"
#include "sig_revoc.h"
#include "sig_tsa.h"
#include "sig_vcache.h"

#define MAX_LINKS        (CFG_MAX_CARRIERS * CFG_MAX_LINKS)
#define INFLIGHT_BUCKETS 4096
#define SWEEP_LIMIT      1000
#define LOOKUP_RETRIES   25  /* a PoR met with Redis down is retried this often ... */
#define LOOKUP_RETRY_MS  200 /* ... this far apart, so a short outage loses nothing */
#define SENT_FLUSH_MS    100 /* sent marks wait this long to share a round trip */
#define SHARD_SLOTS      256 /* an id's first two hex digits */

/*
 * Commands an SMSC accepted, not yet marked sent in Redis: one batch per
 * shard, flushed (q_txn_sent_many) when full or SENT_FLUSH_MS after the first
 * mark, dropped when the transaction finishes first (finish clears the outbox
 * itself).  A batch lost with the instance only means a resubmission after
 * the lease, with the same counter, as before.
 */
struct sent_batch {
    size_t n;
    char ids[Q_SENT_MANY_MAX][Q_ID_LEN];
};

struct link_slot {
    struct car_link *link;
    const struct cfg_carrier *carrier; /* its route says which networks it serves */
    int up;
};

/*
 * A command handed to a link, until the link says what became of it; or one
 * no link could take yet ("parked"), kept with a copy of the request so it
 * goes out as soon as a link is bound instead of a lease later.
 */
struct submit_ctx {
    struct gw_engine *e;
    struct submit_ctx *next;        /* inflight bucket chain */
    struct submit_ctx *next_parked; /* parked list, when parked */
    int parked;
    int net;
    char id[Q_ID_LEN];
    uint64_t cntr;
    int64_t deadline_ms;
    struct car_request req; /* pointers below point into this struct */
    uint8_t digest[64];
    char text[]; /* display text, NUL, then a PUTCERT's certificate */
};

/*
 * The pin of a certificate, remembered by the SHA-256 of its DER: taking a
 * pin parses the certificate, which cost more than the rest of the answer's
 * checks together (benchmark profile).  Direct-mapped; a collision just
 * recomputes.
 */
#define PIN_MEMO_SLOTS 1024
struct pin_memo {
    int used;
    uint8_t der_sha256[32];
    struct sig_pin pin;
};

struct gw_engine {
    struct gw_engine_deps d;
    struct car_events ev;
    struct link_slot links[MAX_LINKS];
    size_t n_links;
    unsigned rr; /* round robin over a network's links */
    struct event *sweep_ev;
    struct event *parked_ev;
    int sweeping;
    struct submit_ctx *inflight[INFLIGHT_BUCKETS];
    struct submit_ctx *parked;
    size_t n_parked;
    struct event *sent_ev;
    struct sent_batch sent[SHARD_SLOTS];
    struct sig_revoc *revoc;                           /* NULL when revocation_check is off */
    struct sig_vcache *vc;                             /* verification verdicts, shared with revoc */
    struct pin_memo pins[PIN_MEMO_SLOTS];              /* certificate DER SHA-256 -> its pin */
    struct sig_tsa *tsa;                               /* NULL when no tsa_url: CMS stays CAdES-B-B */
    struct hc_client *http;                            /* timestamp requests */
    uint64_t tsa_ok, tsa_failed;                       /* timestamps embedded / TIMESTAMP_FAILED */
    uint64_t cert_mismatch;                            /* signatures refused by the binding check */
    uint64_t revoc_good, revoc_revoked, revoc_unknown; /* revocation outcomes (unknown: hard-fail) */
    int closing;                                       /* in gw_engine_free: Redis is gone, record nothing */
    struct gw_txn_watch watch;                         /* long polls held in this process; all NULL if none */
};

const char *gw_strerror(enum gw_err err)
{
    switch (err) {
    case GW_OK: return "ok";
    case GW_ERR_BUSY: return "the SIM has a transaction pending";
    case GW_ERR_UNKNOWN_SUB: return "number not in the registry";
    case GW_ERR_INACTIVE: return "subscriber is not active";
    case GW_ERR_NO_ROUTE: return "no carrier configured for this network";
    case GW_ERR_UNAVAILABLE: return "storage unavailable, try again";
    case GW_ERR_IDEM_MISMATCH: return "Idempotency-Key reused with a different request";
    case GW_ERR_INTERNAL: return "internal error";
    case GW_ERR_CERT_REFUSED: return "the subscriber's certificate cannot be used for a CMS signature now";
    }
    return "unknown error";
}

/* ---- in-flight set ---------------------------------------------------- */

static unsigned bucket_of(const char *id)
{
    return util_fnv1a(id) % INFLIGHT_BUCKETS;
}

static struct submit_ctx **inflight_find(struct gw_engine *e, const char *id)
{
    struct submit_ctx **pp = &e->inflight[bucket_of(id)];
    while (*pp && strcmp((*pp)->id, id) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void inflight_remove(struct gw_engine *e, struct submit_ctx *s)
{
    struct submit_ctx **pp = inflight_find(e, s->id);
    if (*pp == s)
        *pp = s->next;
}

/* ---- batched sent marks ------------------------------------------------ */

static int shard_slot(const char *id)
{
    int a = util_hexval(id[0]), b = a >= 0 ? util_hexval(id[1]) : -1;
    return a >= 0 && b >= 0 ? a * 16 + b : -1;
}

static void sent_recorded(void *arg, enum q_err err)
{
    (void)arg;
    if (err != Q_OK && err != Q_ERR_NOT_FOUND)
        LOGP(LOG_WARN, "txn", NULL, "could not mark commands as sent: %s (they may be resent once)", q_strerror(err));
}

static void sent_flush_slot(struct gw_engine *e, struct sent_batch *b)
{
    const char *ids[Q_SENT_MANY_MAX];
    for (size_t i = 0; i < b->n; i++)
        ids[i] = b->ids[i];
    if (b->n)
        q_txn_sent_many(e->d.q, ids, b->n, sent_recorded, NULL);
    b->n = 0;
}

static void sent_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_engine *e = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < SHARD_SLOTS; i++)
        sent_flush_slot(e, &e->sent[i]);
}

static void sent_mark(struct gw_engine *e, const char *id)
{
    int slot = shard_slot(id);
    struct sent_batch *b;

    if (slot < 0)
        return;
    b = &e->sent[slot];
    snprintf(b->ids[b->n++], Q_ID_LEN, "%s", id);
    if (b->n == Q_SENT_MANY_MAX)
        sent_flush_slot(e, b);
    if (!evtimer_pending(e->sent_ev, NULL)) {
        struct timeval tv = {0, SENT_FLUSH_MS * 1000};
        evtimer_add(e->sent_ev, &tv);
    }
}

/* The transaction is finishing: its finish drops it from the outbox. */
static void sent_cancel(struct gw_engine *e, const char *id)
{
    int slot = shard_slot(id);
    struct sent_batch *b = slot < 0 ? NULL : &e->sent[slot];

    for (size_t i = 0; b && i < b->n; i++)
        if (strcmp(b->ids[i], id) == 0) {
            if (i != b->n - 1)
                memcpy(b->ids[i], b->ids[b->n - 1], Q_ID_LEN);
            b->n--;
            return;
        }
}

/* ---- finishing -------------------------------------------------------- */

struct finish_ctx {
    struct gw_engine *e;
    char id[Q_ID_LEN];
    enum q_state state;
    int handoff; /* a waiter here was promised the stored txn (gw_txn_watch) */
};

static void finish_done(void *arg, enum q_err err, const struct q_txn *txn)
{
    struct finish_ctx *f = arg;
    struct gw_engine *e = f->e;
    if (f->handoff && e->watch.finished)
        e->watch.finished(e->watch.arg, f->id, err == Q_OK ? txn : NULL);
    if (err == Q_OK) {
        gw_metrics_inc(e->d.metrics, f->state == Q_COMPLETED ? GW_M_TXN_COMPLETED : GW_M_TXN_FAILED);
    } else if (err == Q_ERR_CONFLICT) {
        /* Someone finished it first (expiry, another instance): exactly-once holds. */
        gw_metrics_inc(e->d.metrics, GW_M_POR_LATE);
    } else {
        gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        LOGP(LOG_ERR, "txn", f->id, "could not record the outcome: %s (the sweeper will expire it)", q_strerror(err));
    }
    free(f);
}

/*
 * An OCSP response travels with the outcome it decided; a pin (serial hex,
 * SPKI SHA-256 hex) with a success that should store it on the subscriber.
 */
struct evidence {
    const uint8_t *ocsp;
    size_t ocsp_len;
    const char *pin_serial; /* NULL: leave the subscriber's pin */
    const char *pin_spki;
};

static void finish_ev(struct gw_engine *e, const char *id, uint64_t cntr, enum q_state state, const char *result,
                      int etsi, const char *detail, const uint8_t *sig, size_t sig_len, const uint8_t *cert,
                      size_t cert_len, const struct evidence *ev)
{
    struct finish_ctx *f = calloc(1, sizeof(*f));
    char clipped[160]; /* the stored detail is at most 159 octets; a longer reason must not lose the outcome */
    struct q_finish fin = {
        .state = state,
        .result = result,
        .etsi_status = etsi,
        .detail = detail,
        .signature = sig,
        .sig_len = sig_len,
        .cert = cert,
        .cert_len = cert_len,
        .ocsp = ev ? ev->ocsp : NULL,
        .ocsp_len = ev ? ev->ocsp_len : 0,
        .now_ms = gw_now_ms(),
        .retention_ms = (int64_t)e->d.cfg->txn_retention_s * 1000,
        .pin_serial = ev && state == Q_COMPLETED ? ev->pin_serial : NULL,
        .pin_spki_hex = ev && state == Q_COMPLETED ? ev->pin_spki : NULL,
    };
    if (detail && strlen(detail) >= sizeof(clipped)) {
        size_t n = sizeof(clipped) - 1;
        while (n > 0 && ((uint8_t)detail[n] & 0xC0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
        memcpy(clipped, detail, n);
        clipped[n] = '\0';
        fin.detail = clipped;
    }
    if (!f) {
        LOGP(LOG_ERR, "txn", id, "out of memory recording the outcome");
        return;
    }
    f->e = e;
    f->state = state;
    snprintf(f->id, sizeof(f->id), "%s", id);
    f->handoff = e->watch.waiting && e->watch.waiting(e->watch.arg, id);
    fin.want_txn = f->handoff;
    sent_cancel(e, id);
    LOGP(LOG_INFO, "txn", id, "finished: %s (%d)%s%s", result, etsi, detail ? ": " : "", detail ? detail : "");
    q_txn_finish(e->d.q, id, cntr, &fin, finish_done, f);
}

static void finish(struct gw_engine *e, const char *id, uint64_t cntr, enum q_state state, const char *result, int etsi,
                   const char *detail, const uint8_t *sig, size_t sig_len, const uint8_t *cert, size_t cert_len)
{
    finish_ev(e, id, cntr, state, result, etsi, detail, sig, sig_len, cert, cert_len, NULL);
}

/* ---- submitting ------------------------------------------------------- */

static struct car_link *pick_link(struct gw_engine *e, int net)
{
    struct car_link *any = NULL;
    for (size_t n = 0; n < e->n_links; n++) {
        struct link_slot *s = &e->links[(e->rr + n) % e->n_links];
        /* A carrier's route may name several networks (an MSSP): route by it, not by the carrier. */
        if (net <= 0 || net >= CFG_NET_MAX || !(s->carrier->route_nets & (1u << net)))
            continue;
        if (s->up) {
            e->rr = (unsigned)((e->rr + n + 1) % e->n_links);
            return s->link;
        }
        if (!any)
            any = s->link; /* a down link still queues and sends once it is back */
    }
    return any;
}

static int effective_net(const struct q_txn *txn, const struct q_sub *sub)
{
    return sub && sub->net ? sub->net : txn->net;
}

static void park(struct gw_engine *e, struct submit_ctx *s)
{
    s->parked = 1;
    s->next_parked = e->parked;
    e->parked = s;
    e->n_parked++;
    if (!evtimer_pending(e->parked_ev, NULL)) {
        struct timeval tv = {0, 500 * 1000};
        evtimer_add(e->parked_ev, &tv);
    }
}

/* Give a command to a link.  0 when a link took it, -1 when none could (yet). */
static int try_submit(struct gw_engine *e, struct submit_ctx *s)
{
    struct car_link *link = pick_link(e, s->net);
    enum car_err rc = link ? car_link_submit(link, &s->req, s) : CAR_ERR_AGAIN;
    if (rc == CAR_OK)
        return 0;
    if (rc != CAR_ERR_AGAIN)
        LOGP(LOG_WARN, "txn", s->id, "submit refused: %s", car_strerror(rc));
    return -1;
}

/* Retry parked commands: on a timer, and whenever a link comes up. */
static void retry_parked(struct gw_engine *e)
{
    struct submit_ctx *list = e->parked, *s;
    int64_t now = gw_now_ms();

    e->parked = NULL;
    e->n_parked = 0;
    while (list) {
        s = list;
        list = s->next_parked;
        s->parked = 0;
        if (now >= s->deadline_ms) {
            /* Too late to ask the official; the sweeper expires it. */
            inflight_remove(e, s);
            free(s);
        } else if (try_submit(e, s) != 0) {
            park(e, s);
        }
    }
}

static void parked_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    retry_parked(arg);
}

/* Hand a stored pending transaction to a link, unless this instance already has. */
/* The car_request for a stored transaction; its pointers point into s. */
static void command_of(struct gw_engine *e, const struct q_txn *txn, struct submit_ctx *s)
{
    switch (txn->op) {
    case Q_OP_GENKEY:
        s->req.op = CAR_OP_GENKEY;
        s->req.key_alg = txn->key_alg;
        s->req.display_text = s->text;
        return;
    case Q_OP_PUTCERT:
        s->req.op = CAR_OP_PUTCERT;
        s->req.cert_der = (const uint8_t *)s->text + strlen(s->text) + 1;
        s->req.cert_len = txn->payload_len;
        memcpy(s->text + strlen(s->text) + 1, txn->payload, txn->payload_len);
        return;
    default: /* SIGN, and CSR: a SIGN whose answer the lifecycle engine checks */
        s->req.op = CAR_OP_SIGN;
        s->req.digest_alg = txn->digest_alg;
        s->req.digest = s->digest;
        s->req.digest_len = txn->digest_len;
        s->req.display_text = s->text;
        memcpy(s->req.vc, txn->vc, sizeof(s->req.vc));
        s->req.user_timeout_s = (uint16_t)e->d.cfg->user_timeout_s;
        return;
    }
}

static void submit_txn(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub)
{
    struct submit_ctx **slot = inflight_find(e, txn->id), *s;
    const char *text = txn->display_text ? txn->display_text : "";
    size_t tlen = strlen(text);

    if (*slot)
        return;
    if (txn->digest_len > sizeof(s->digest))
        return;
    s = calloc(1, sizeof(*s) + tlen + 1 + txn->payload_len);
    if (!s)
        return;
    s->e = e;
    s->cntr = txn->cntr;
    s->net = effective_net(txn, sub);
    s->deadline_ms = txn->deadline_ms;
    snprintf(s->id, sizeof(s->id), "%s", txn->id);
    memcpy(s->digest, txn->digest, txn->digest_len);
    memcpy(s->text, text, tlen + 1);
    snprintf(s->req.sub.msisdn, sizeof(s->req.sub.msisdn), "%s", sub->msisdn);
    snprintf(s->req.sub.iccid, sizeof(s->req.sub.iccid), "%s", sub->iccid);
    s->req.sub.ota_kv = sub->kv;
    s->req.cntr = txn->cntr;
    if (gw_txn_ref_from_id(txn->id, s->req.txn_ref) != 0) {
        LOGP(LOG_ERR, "txn", txn->id, "malformed transaction id in storage");
        free(s);
        return;
    }
    s->req.key_ref = 0x01;
    command_of(e, txn, s);

    if (!pick_link(e, s->net)) {
        finish(e, txn->id, txn->cntr, Q_FAILED, "DELIVERY_ERROR", 209, "no carrier link for this network", NULL, 0,
               NULL, 0);
        free(s);
        return;
    }
    *slot = s;
    if (try_submit(e, s) != 0) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_DEFERRED);
        park(e, s);
    }
}

static void resent_marked(void *arg, enum q_err err)
{
    (void)arg;
    if (err != Q_OK && err != Q_ERR_CONFLICT && err != Q_ERR_NOT_FOUND)
        LOGP(LOG_WARN, "txn", "-", "a resent command's copy was not recorded: %s", q_strerror(err));
}

static void on_sent(void *arg, void *handle, enum car_err status, const char *detail, int resent)
{
    struct gw_engine *e = arg;
    struct submit_ctx *s = handle;

    inflight_remove(e, s);
    /* The SIM may see two copies: its CNTR low for the second must read as a duplicate (counter_low). */
    if (resent)
        q_txn_resent(e->d.q, s->id, s->cntr, resent_marked, NULL);
    if (status == CAR_OK) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_OK);
        sent_mark(e, s->id);
    } else if (status == CAR_ERR_PERMANENT || status == CAR_ERR_TOO_LONG || status == CAR_ERR_INVALID) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_PERMANENT);
        finish(e, s->id, s->cntr, Q_FAILED, "DELIVERY_ERROR", 209, detail ? detail : car_strerror(status), NULL, 0,
               NULL, 0);
    } else {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_DEFERRED);
        LOGP(LOG_WARN, "txn", s->id, "not accepted yet (%s); will be resubmitted", detail ? detail : "");
    }
    free(s);
}

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
 * What each transport outcome does to the transaction: state, API result,
 * ETSI TS 102 204 status.  ignore = 1: not an answer, the transaction keeps
 * waiting (MORE_TIME asks for patience; COUNTER_LOW is decided by
 * counter_low(): a copy's refusal, or the SIM ahead of us).  OK is handled
 * by its finish path.
 */
struct outcome {
    enum q_state state;
    const char *result;
    int etsi;
    int ignore;
};

static const struct outcome outcomes[CAR_OUT_COUNT] = {
    [CAR_OUT_OK] = {Q_COMPLETED, "OK", 0, 0},
    [CAR_OUT_USER_CANCEL] = {Q_FAILED, "USER_CANCEL", 401, 0},
    [CAR_OUT_EXPIRED] = {Q_FAILED, "EXPIRED", 208, 0},
    [CAR_OUT_PIN_BLOCKED] = {Q_FAILED, "PIN_BLOCKED", 402, 0},
    [CAR_OUT_CARD_BLOCKED] = {Q_FAILED, "CARD_BLOCKED", 403, 0},
    [CAR_OUT_NO_KEY] = {Q_FAILED, "NO_KEY", 404, 0},
    [CAR_OUT_KEY_EXISTS] = {Q_FAILED, "KEY_EXISTS", 900, 0},
    [CAR_OUT_BAD_COMMAND] = {Q_FAILED, "BAD_COMMAND", 101, 0},
    [CAR_OUT_UNSUPPORTED] = {Q_FAILED, "UNSUPPORTED", 109, 0},
    [CAR_OUT_STORAGE_FULL] = {Q_FAILED, "STORAGE_FULL", 900, 0},
    [CAR_OUT_INTERNAL_ERROR] = {Q_FAILED, "INTERNAL_ERROR", 900, 0},
    [CAR_OUT_NO_CERTIFICATE] = {Q_FAILED, "NO_CERTIFICATE", 422, 0},
    [CAR_OUT_OTA_ERROR] = {Q_FAILED, "OTA_ERROR", 209, 0},
    [CAR_OUT_COUNTER_LOW] = {Q_PENDING, NULL, 0, 1},
    [CAR_OUT_MORE_TIME] = {Q_PENDING, NULL, 0, 1},
};

/* An outcome a transport should not produce reads as the far end's internal error. */
static const struct outcome *outcome_of(const struct car_reply *r)
{
    if ((unsigned)r->outcome >= CAR_OUT_COUNT)
        return &outcomes[CAR_OUT_INTERNAL_ERROR];
    return &outcomes[r->outcome];
}

/* A failed answer: its table row, the transport's detail. */
static void finish_failed(struct gw_engine *e, const struct q_txn *txn, const struct car_reply *r)
{
    const struct outcome *o = outcome_of(r);

    finish(e, txn->id, txn->cntr, o->state, o->result, o->etsi, r->detail, NULL, 0, NULL, 0);
}

/* What a successful signature stores on the subscriber (serial pinning); set = 0: the pin stays. */
struct pin_hex {
    int set;
    char serial[80];
    char spki[65];
};

/*
 * A verified signature waiting for its certificate's revocation status.  It
 * owns copies of what will be stored: the PoR's reply is gone by then.
 */
struct signed_ctx {
    struct gw_engine *e;
    char id[Q_ID_LEN];
    uint64_t cntr;
    struct pin_hex pin;
    size_t sig_len, cert_len;
    uint8_t *sig, *cert; /* point into data */
    uint8_t data[];
};

static void revoc_done(void *arg, const struct sig_revoc_result *res)
{
    struct signed_ctx *s = arg;
    struct gw_engine *e = s->e;
    struct evidence ev = {res->ocsp, res->ocsp_len, s->pin.set ? s->pin.serial : NULL, s->pin.spki};
    char detail[160];

    if (e->closing) {
        /* Shutting down: Redis is gone; the transaction expires or another instance's copy finishes it. */
        free(s);
        return;
    }
    if (res->result == SIG_OK) {
        e->revoc_good++;
        /* Soft-fail: the relying party accepted that risk, and is told it was taken. */
        if (res->soft_failed)
            snprintf(detail, sizeof(detail), "revocation not checked: %.128s", res->why);
        finish_ev(e, s->id, s->cntr, Q_COMPLETED, "OK", 502, res->soft_failed ? detail : NULL, s->sig, s->sig_len,
                  s->cert, s->cert_len, &ev);
    } else {
        if (res->result == SIG_ERR_REVOKED)
            e->revoc_revoked++;
        else if (res->result == SIG_ERR_REVOCATION_UNKNOWN)
            e->revoc_unknown++;
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        finish_ev(e, s->id, s->cntr, Q_FAILED, sig_result_name(res->result), sig_etsi_status(res->result),
                  res->why[0] ? res->why : NULL, NULL, 0, NULL, 0, &ev);
    }
    OPENSSL_cleanse(s->data, s->sig_len + s->cert_len);
    free(s);
}

/*
 * Finish with `out` (the SIM's signature or the CMS) once the certificate is
 * known not to be revoked.  rp names the relying party whose policy applies.
 */
static void revoc_start(struct gw_engine *e, const char *id, uint64_t cntr, const char *rp, const uint8_t *cert,
                        size_t cert_len, const uint8_t *out, size_t out_len, const struct pin_hex *pin)
{
    const struct cfg_apikey *k;
    struct signed_ctx *s;

    if (!e->revoc) {
        struct evidence ev = {NULL, 0, pin->set ? pin->serial : NULL, pin->spki};
        finish_ev(e, id, cntr, Q_COMPLETED, "OK", 502, NULL, out, out_len, cert, cert_len, &ev);
        return;
    }
    s = calloc(1, sizeof(*s) + out_len + cert_len);
    if (!s) {
        LOGP(LOG_ERR, "txn", id, "out of memory checking revocation (the sweeper will expire it)");
        return;
    }
    s->e = e;
    s->cntr = cntr;
    s->pin = *pin;
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->sig = s->data;
    s->sig_len = out_len;
    memcpy(s->sig, out, out_len);
    s->cert = s->data + out_len;
    s->cert_len = cert_len;
    memcpy(s->cert, cert, cert_len);
    /* The policy is the relying party's: the one that owns this transaction. */
    k = cfg_apikey_by_name(e->d.cfg, rp);
    sig_revoc_check(e->revoc, s->cert, s->cert_len, time(NULL),
                    k && k->revocation_soft ? SIG_REVOC_SOFT : SIG_REVOC_HARD, revoc_done, s);
}

/*
 * Serial pinning (issue 4): once a subscriber has signed with a certificate,
 * a registry certificate with another serial or key is refused
 * (CERT_MISMATCH) unless the registry says it was replaced (repin, set by
 * simpki-admin import).  *store says what the finish should pin: the first
 * certificate, or the replacement.
 */
static enum sig_err pin_of_memo(struct gw_engine *e, const uint8_t *cert, size_t len, struct sig_pin *out)
{
    uint8_t md[32];
    struct pin_memo *m;
    enum sig_err se;

    if (!SHA256(cert, len, md))
        return sig_pin_of(cert, len, out);
    m = &e->pins[(((unsigned)md[0] << 8) | md[1]) % PIN_MEMO_SLOTS];
    if (m->used && memcmp(m->der_sha256, md, sizeof(md)) == 0) {
        *out = m->pin;
        return SIG_OK;
    }
    se = sig_pin_of(cert, len, out);
    if (se == SIG_OK) {
        m->used = 1;
        memcpy(m->der_sha256, md, sizeof(md));
        m->pin = *out;
    }
    return se;
}

static enum sig_err binding(struct gw_engine *e, const struct q_sub *sub, struct pin_hex *store, char *why,
                            size_t whylen)
{
    struct sig_pin now, had;
    enum sig_err se;

    memset(store, 0, sizeof(*store));
    memset(&had, 0, sizeof(had));
    se = pin_of_memo(e, sub->cert, sub->cert_len, &now);
    if (se != SIG_OK) {
        snprintf(why, whylen, "the registered certificate cannot be pinned: %s", sig_strerror(se));
        return se;
    }
    if (sub->pinned) {
        memcpy(had.serial_hex, sub->pin_serial, sizeof(had.serial_hex));
        had.serial_hex[sizeof(had.serial_hex) - 1] = '\0';
        memcpy(had.spki_sha256, sub->pin_spki, sizeof(had.spki_sha256));
    }
    /*
     * The usual case, the registered certificate already pinned: the full
     * check (which parses the certificate again) can only say OK, so skip it.
     */
    if (sub->pinned && !sub->repin && strcmp(had.serial_hex, now.serial_hex) == 0 &&
        memcmp(had.spki_sha256, now.spki_sha256, sizeof(now.spki_sha256)) == 0)
        return SIG_OK; /* already pinned to it: nothing to write */
    se = sig_binding_check(sub->cert, sub->cert_len, sub->cert, sub->cert_len, sub->pinned ? &had : NULL, sub->repin,
                           why, whylen);
    if (se != SIG_OK)
        return se;
    store->set = 1;
    memcpy(store->serial, now.serial_hex, sizeof(store->serial));
    store->serial[sizeof(store->serial) - 1] = '\0';
    util_hex(now.spki_sha256, sizeof(now.spki_sha256), store->spki);
    return SIG_OK;
}

/*
 * CMS: prepare the signed attributes again from what the transaction stores
 * (prepare is deterministic, so any instance can) and check they are what the
 * SIM was given.  *out is then ready for sig_cms_finish.
 */
static enum sig_err cms_again(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub,
                              struct sig_cms **out, char *why, size_t whylen)
{
    struct sig_cms *p = NULL;
    const uint8_t *tbs;
    size_t tbs_len = 0;
    enum sig_err se;

    *out = NULL;
    se = sig_cms_prepare(e->d.trust, sub->cert, sub->cert_len, txn->digest_alg, txn->doc_digest, txn->doc_digest_len,
                         (time_t)txn->signing_time, &p, why, whylen);
    if (se != SIG_OK)
        return se;
    tbs = sig_cms_tbs_digest(p, &tbs_len);
    if (!tbs || tbs_len != txn->digest_len || memcmp(tbs, txn->digest, tbs_len) != 0) {
        /* The registered certificate changed since the request was made. */
        snprintf(why, whylen, "the certificate changed after the request; the signed attributes differ");
        sig_cms_free(p);
        return SIG_ERR_CERT_MISMATCH;
    }
    *out = p;
    return SIG_OK;
}

/*
 * CAdES-B-T: the SIM's signature is verified, the SignedData waits for an
 * RFC 3161 token over the signature value.  Owns copies and the prepared CMS.
 */
struct tsa_ctx {
    struct gw_engine *e;
    char id[Q_ID_LEN];
    uint64_t cntr;
    char rp[64];
    struct pin_hex pin;
    struct sig_cms *p;
    uint8_t nonce[SIG_TSA_NONCE_LEN];
    size_t sig_len, cert_len;
    uint8_t *sig, *cert; /* point into data */
    uint8_t data[];
};

static void tsa_ctx_free(struct tsa_ctx *t)
{
    sig_cms_free(t->p);
    OPENSSL_cleanse(t->data, t->sig_len + t->cert_len);
    free(t);
}

/* No timestamp, no signature: a B-T was asked for, a B-B would silently be less. */
static void tsa_failed(struct tsa_ctx *t, const char *why)
{
    struct gw_engine *e = t->e;

    e->tsa_failed++;
    LOGP_RL(LOG_WARN, 10, "txn", t->id, "timestamp failed: %s", why);
    finish(e, t->id, t->cntr, Q_FAILED, "TIMESTAMP_FAILED", 900, why, NULL, 0, NULL, 0);
    tsa_ctx_free(t);
}

static void tsa_replied(void *arg, const struct hc_answer *a)
{
    struct tsa_ctx *t = arg;
    struct gw_engine *e = t->e;
    uint8_t *tok = NULL, *der = NULL;
    size_t tok_len = 0, der_len = 0;
    char why[200] = "", msg[256];
    enum sig_err se;

    if (e->closing) {
        tsa_ctx_free(t);
        return;
    }
    if (a->err != HC_OK) {
        snprintf(msg, sizeof(msg), "timestamp authority: %s", a->why ? a->why : hc_strerror(a->err));
        tsa_failed(t, msg);
        return;
    }
    if (a->status != 200) {
        snprintf(msg, sizeof(msg), "timestamp authority: HTTP status %ld", a->status);
        tsa_failed(t, msg);
        return;
    }
    se = sig_tsa_check_reply(e->tsa, t->sig, t->sig_len, t->nonce, a->body, a->len, &tok, &tok_len, NULL, why,
                             sizeof(why));
    if (se == SIG_OK)
        se = sig_cms_finish(t->p, t->sig, t->sig_len, e->tsa, tok, tok_len, &der, &der_len, why, sizeof(why));
    free(tok);
    if (se != SIG_OK) {
        snprintf(msg, sizeof(msg), "timestamp refused: %s", why[0] ? why : sig_strerror(se));
        tsa_failed(t, msg);
        return;
    }
    e->tsa_ok++;
    revoc_start(e, t->id, t->cntr, t->rp, t->cert, t->cert_len, der, der_len, &t->pin);
    free(der);
    tsa_ctx_free(t);
}

/* Ask the TSA for a token over the SIM's signature; takes p. */
static void tsa_start(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub, const uint8_t *sig,
                      size_t sig_len, struct sig_cms *p, const struct pin_hex *pin)
{
    struct tsa_ctx *t = calloc(1, sizeof(*t) + sig_len + sub->cert_len);
    uint8_t *req = NULL;
    size_t req_len = 0;

    if (!t) {
        sig_cms_free(p);
        LOGP(LOG_ERR, "txn", txn->id, "out of memory asking for a timestamp (the sweeper will expire it)");
        return;
    }
    t->e = e;
    t->cntr = txn->cntr;
    t->p = p;
    t->pin = *pin;
    snprintf(t->id, sizeof(t->id), "%s", txn->id);
    snprintf(t->rp, sizeof(t->rp), "%s", txn->rp);
    t->sig = t->data;
    t->sig_len = sig_len;
    memcpy(t->sig, sig, sig_len);
    t->cert = t->data + sig_len;
    t->cert_len = sub->cert_len;
    memcpy(t->cert, sub->cert, sub->cert_len);
    if (sig_tsa_request(t->sig, t->sig_len, t->nonce, &req, &req_len) != SIG_OK ||
        !hc_fetch(e->http, e->d.cfg->tsa_url, "application/timestamp-query", NULL, req, req_len, tsa_replied, t)) {
        free(req);
        tsa_failed(t, "the timestamp request could not be sent");
        return;
    }
    free(req);
}

/* The SIM signed: check the signature against the registered certificate. */
static void finish_signed(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub,
                          const struct car_reply *r)
{
    char why[256] = "";
    uint8_t *der = NULL;
    size_t der_len = 0;
    struct sig_cms *p = NULL;
    struct pin_hex pin = {0};
    enum sig_err se;

    if (!sub->cert || sub->cert_len == 0) {
        finish(e, txn->id, txn->cntr, Q_FAILED, "NO_CERTIFICATE", 422, "no certificate registered for this number",
               NULL, 0, NULL, 0);
        return;
    }
    se = sig_verify_digest_cached(e->d.trust, e->vc, sub->cert, sub->cert_len, txn->digest_alg, txn->digest,
                                  txn->digest_len, r->signature, r->sig_len, time(NULL), why, sizeof(why));
    if (se == SIG_OK) {
        se = binding(e, sub, &pin, why, sizeof(why));
        if (se == SIG_ERR_CERT_MISMATCH)
            e->cert_mismatch++;
    }
    if (se == SIG_OK && txn->format == Q_FORMAT_CMS)
        se = cms_again(e, txn, sub, &p, why, sizeof(why));
    if (se == SIG_OK && p && !e->tsa)
        se = sig_cms_finish(p, r->signature, r->sig_len, NULL, NULL, 0, &der, &der_len, why, sizeof(why));
    if (se != SIG_OK) {
        sig_cms_free(p);
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        finish(e, txn->id, txn->cntr, Q_FAILED, sig_result_name(se), sig_etsi_status(se), why, NULL, 0, NULL, 0);
        return;
    }
    if (p && e->tsa) {
        tsa_start(e, txn, sub, r->signature, r->sig_len, p, &pin);
        return;
    }
    sig_cms_free(p);
    if (der)
        revoc_start(e, txn->id, txn->cntr, txn->rp, sub->cert, sub->cert_len, der, der_len, &pin);
    else
        revoc_start(e, txn->id, txn->cntr, txn->rp, sub->cert, sub->cert_len, r->signature, r->sig_len, &pin);
    free(der);
}

/*
 * The answer to a lifecycle command is stored as it came: its checks (the
 * CSR's signature against the key the SIM generated, ...) belong to the
 * lifecycle engine, which knows what was asked.  Only its shape is checked.
 */
static void finish_lifecycle(struct gw_engine *e, const struct q_txn *txn, const struct car_reply *r)
{
    static const uint8_t want_op[] = {
        [Q_OP_GENKEY] = CAR_OP_GENKEY, [Q_OP_CSR] = CAR_OP_SIGN, [Q_OP_PUTCERT] = CAR_OP_PUTCERT};
    const uint8_t *data = NULL;
    size_t len = 0;

    if (r->outcome != CAR_OUT_OK) {
        finish_failed(e, txn, r);
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
        finish(e, txn->id, txn->cntr, Q_FAILED, "BAD_ANSWER", 900,
               txn->op == Q_OP_GENKEY ? "the SIM answered OK without a public key"
                                      : "the SIM answered OK to another command or without its data",
               NULL, 0, NULL, 0);
        return;
    }
    finish(e, txn->id, txn->cntr, Q_COMPLETED, "OK", 0, NULL, data, len, NULL, 0);
}

static void counter_low(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub);

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
    if (r->outcome == CAR_OUT_COUNTER_LOW) {
        counter_low(e, txn, sub);
        goto out;
    }
    if (outcome_of(r)->ignore)
        goto out; /* MORE_TIME: keep waiting */
    if (txn->op != Q_OP_SIGN) {
        finish_lifecycle(e, txn, r);
    } else if (r->outcome != CAR_OUT_OK) {
        finish_failed(e, txn, r);
    } else if (!r->signature || r->sig_len == 0) {
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        finish(e, txn->id, txn->cntr, Q_FAILED, "INVALID_SIGNATURE", 503, "the SIM answered OK without a signature",
               NULL, 0, NULL, 0);
    } else {
        finish_signed(e, txn, sub, r);
    }
out:
    OPENSSL_cleanse(r, sizeof(*r)); /* it held a signature and a decrypted packet */
    free(r);
}

/* ---- the SIM's counter ahead of ours (sim-applet-ota.md §3, CNTR low) ---- */

static void resynced(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn)
{
    struct gw_engine *e = arg;

    if (err == Q_ERR_CONFLICT || err == Q_ERR_NOT_FOUND) {
        /* Finished meanwhile, or a copy was recorded after our read: the CNTR low answered a duplicate. */
        gw_metrics_inc(e->d.metrics, GW_M_POR_DUPLICATE);
        return;
    }
    if (err != Q_OK || !sub || !txn) {
        /* Nothing changed: the transaction waits for its deadline, as before resyncs existed. */
        gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        LOGP(LOG_ERR, "txn", "-", "OTA counter resync not stored: %s", q_strerror(err));
        return;
    }
    gw_metrics_inc(e->d.metrics, GW_M_OTA_RESYNC);
    LOGP(LOG_WARN, "txn", txn->id, "OTA counter moved forward to %llu for this SIM; resending",
         (unsigned long long)txn->cntr);
    submit_txn(e, txn, sub);
}

/*
 * CNTR low echoing the pending command's counter.  A command sent more than
 * once: the answer to the copy, ignored (the first copy's answer counts).
 * Sent once: the SIM's counter is ahead of ours; move ours forward and send
 * again, once; a second CNTR low ends the transaction (OTA_ERROR) rather
 * than leave it to its deadline.
 */
static void counter_low(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub)
{
    (void)sub;
    if (txn->resent) {
        gw_metrics_inc(e->d.metrics, GW_M_POR_DUPLICATE);
        return;
    }
    if (txn->resync) {
        gw_metrics_inc(e->d.metrics, GW_M_OTA_RESYNC_FAILED);
        LOGP(LOG_ERR, "txn", txn->id, "the SIM refused OTA counter %llu too, after a resync",
             (unsigned long long)txn->cntr);
        finish(e, txn->id, txn->cntr, Q_FAILED, "OTA_ERROR", 209,
               "the SIM refused the OTA counter (CNTR low) again after a resync", NULL, 0, NULL, 0);
        return;
    }
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

static void on_mo(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len)
{
    struct gw_engine *e = arg;
    struct mo_ctx *m;

    gw_metrics_inc(e->d.metrics, GW_M_POR_RECEIVED);
    if (len > OTA_MAX_PACKET || strlen(msisdn) >= sizeof(m->msisdn))
        return;
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

static void on_state(void *arg, struct car_link *link, int up)
{
    struct gw_engine *e = arg;
    for (size_t i = 0; i < e->n_links; i++)
        if (e->links[i].link == link)
            e->links[i].up = up;
    LOGP(up ? LOG_INFO : LOG_WARN, "txn", car_link_name(link), "link %s", up ? "up" : "down");
    if (up && e->parked)
        retry_parked(e);
}

/* ---- starting --------------------------------------------------------- */

struct start_ctx {
    struct gw_engine *e;
    gw_start_cb *cb;
    void *arg;
    struct q_txn_new n;
    /* copies, so the request can outlive the caller's buffers */
    char rp[64], msisdn[16], client_ref[128], idem[128], hash[65], vc[5];
    uint8_t digest[64];
    uint8_t doc_digest[64]; /* CMS: the caller's digest; digest becomes what the SIM signs */
    char text[];
};

static enum gw_err map_q(enum q_err err)
{
    switch (err) {
    case Q_OK: return GW_OK;
    case Q_ERR_BUSY: return GW_ERR_BUSY;
    case Q_ERR_NOT_FOUND: return GW_ERR_UNKNOWN_SUB;
    case Q_ERR_INACTIVE: return GW_ERR_INACTIVE;
    case Q_ERR_IDEM_MISMATCH: return GW_ERR_IDEM_MISMATCH;
    case Q_ERR_AGAIN: return GW_ERR_UNAVAILABLE;
    default: return GW_ERR_INTERNAL;
    }
}

static int net_configured(const struct gw_engine *e, int net)
{
    return net != CAR_NET_NONE && cfg_carrier_by_net(e->d.cfg, net) != NULL;
}

static void created(void *arg, enum q_err err, const struct q_txn *txn, const struct q_sub *sub, int existed)
{
    struct start_ctx *s = arg;
    struct gw_engine *e = s->e;

    if (err != Q_OK) {
        if (err == Q_ERR_BUSY)
            gw_metrics_inc(e->d.metrics, GW_M_SIGN_BUSY);
        else if (err != Q_ERR_NOT_FOUND && err != Q_ERR_INACTIVE && err != Q_ERR_IDEM_MISMATCH)
            gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        s->cb(s->arg, map_q(err), txn, 0);
        free(s);
        return;
    }
    if (!existed) {
        if (!net_configured(e, effective_net(txn, sub)))
            finish(e, txn->id, txn->cntr, Q_FAILED, "DELIVERY_ERROR", 209, "no carrier configured for this network",
                   NULL, 0, NULL, 0);
        else
            submit_txn(e, txn, sub);
    }
    s->cb(s->arg, GW_OK, txn, existed);
    free(s);
}

/* Number of a foreign network: only the registry (a ported number) can route it. */
static void routed(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn)
{
    struct start_ctx *s = arg;
    (void)txn;
    if (err != Q_OK || !sub || !net_configured(s->e, sub->net)) {
        s->cb(s->arg, err == Q_ERR_AGAIN ? GW_ERR_UNAVAILABLE : GW_ERR_NO_ROUTE, NULL, 0);
        free(s);
        return;
    }
    s->n.net = sub->net;
    q_txn_create(s->e->d.q, &s->n, created, s);
}

/* CMS: the SIM signs the digest of the signed attributes, which depend on the subscriber's certificate. */
static enum gw_err cms_tbs(struct start_ctx *s, const struct q_sub *sub)
{
    struct sig_cms *p = NULL;
    const uint8_t *tbs;
    size_t tbs_len = 0;
    char why[200] = "";
    enum sig_err se;

    s->n.signing_time = s->n.now_ms / 1000;
    se = sig_cms_prepare(s->e->d.trust, sub->cert, sub->cert_len, s->n.digest_alg, s->doc_digest, s->n.digest_len,
                         (time_t)s->n.signing_time, &p, why, sizeof(why));
    tbs = se == SIG_OK ? sig_cms_tbs_digest(p, &tbs_len) : NULL;
    if (!tbs || tbs_len != s->n.digest_len) {
        LOGP(LOG_INFO, "txn", NULL, "CMS request refused: %s", se != SIG_OK ? why : "unexpected digest length");
        sig_cms_free(p);
        return GW_ERR_CERT_REFUSED;
    }
    memcpy(s->digest, tbs, tbs_len);
    sig_cms_free(p);
    /* The official compares the code with the e-office screen: it must be of what the SIM shows and signs. */
    gw_verification_code(s->digest, tbs_len, s->vc);
    s->n.doc_digest = s->doc_digest;
    s->n.doc_digest_len = s->n.digest_len;
    return GW_OK;
}

/* CMS requests read the subscriber (certificate, and network for a ported number) before creating. */
static void cms_looked_up(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn)
{
    struct start_ctx *s = arg;
    enum gw_err ge = GW_OK;

    (void)txn;
    if (err == Q_ERR_AGAIN)
        ge = GW_ERR_UNAVAILABLE;
    else if (err == Q_ERR_NOT_FOUND || (err == Q_OK && !sub))
        ge = GW_ERR_UNKNOWN_SUB;
    else if (err != Q_OK)
        ge = GW_ERR_INTERNAL;
    else if (strcmp(sub->status, "active") != 0)
        ge = GW_ERR_INACTIVE;
    else if (s->n.net == CAR_NET_NONE && !net_configured(s->e, sub->net))
        ge = GW_ERR_NO_ROUTE;
    else if (!sub->cert || sub->cert_len == 0)
        ge = GW_ERR_CERT_REFUSED;
    else
        ge = cms_tbs(s, sub);
    if (ge != GW_OK) {
        s->cb(s->arg, ge, NULL, 0);
        free(s);
        return;
    }
    if (s->n.net == CAR_NET_NONE)
        s->n.net = sub->net;
    q_txn_create(s->e->d.q, &s->n, created, s);
}

void gw_txn_start(struct gw_engine *e, const struct gw_sign_req *req, gw_start_cb *cb, void *arg)
{
    size_t tlen = strlen(req->display_text);
    struct start_ctx *s = calloc(1, sizeof(*s) + tlen + 1);
    int64_t now = gw_now_ms();
    int net;

    if (!s || req->digest_len > sizeof(s->digest)) {
        free(s);
        cb(arg, GW_ERR_INTERNAL, NULL, 0);
        return;
    }
    s->e = e;
    s->cb = cb;
    s->arg = arg;
    snprintf(s->rp, sizeof(s->rp), "%s", req->rp);
    snprintf(s->msisdn, sizeof(s->msisdn), "%s", req->msisdn);
    snprintf(s->client_ref, sizeof(s->client_ref), "%s", req->client_ref ? req->client_ref : "");
    snprintf(s->idem, sizeof(s->idem), "%s", req->idem_key ? req->idem_key : "");
    snprintf(s->hash, sizeof(s->hash), "%s", req->req_hash ? req->req_hash : "");
    memcpy(s->digest, req->digest, req->digest_len);
    memcpy(s->text, req->display_text, tlen + 1);
    gw_verification_code(req->digest, req->digest_len, s->vc);

    s->n = (struct q_txn_new){
        .rp = s->rp,
        .msisdn = s->msisdn,
        .client_ref = req->client_ref ? s->client_ref : NULL,
        .idem_key = req->idem_key ? s->idem : NULL,
        .req_hash = s->hash,
        .digest_alg = req->digest_alg,
        .digest = s->digest,
        .digest_len = req->digest_len,
        .vc = s->vc,
        .display_text = s->text,
        .now_ms = now,
        .deadline_ms = now + (int64_t)e->d.cfg->txn_timeout_s * 1000,
        .lease_ms = (int64_t)e->d.cfg->resubmit_lease_s * 1000,
    };
    net = car_route_prefix(s->msisdn);
    if (req->format == Q_FORMAT_CMS) {
        /* One more round trip than raw: the signed attributes need the certificate first. */
        memcpy(s->doc_digest, req->digest, req->digest_len);
        s->n.format = Q_FORMAT_CMS;
        s->n.net = net;
        q_por_lookup(e->d.q, s->msisdn, cms_looked_up, s);
        return;
    }
    if (net == CAR_NET_NONE) {
        q_por_lookup(e->d.q, s->msisdn, routed, s);
        return;
    }
    s->n.net = net;
    q_txn_create(e->d.q, &s->n, created, s);
}

/*
 * Lifecycle commands take the raw path: no CMS, the registry's network when
 * the prefix does not route, and the caller's Idempotency-Key so that a
 * resumed enrolment step finds its command instead of sending another.
 */
void gw_txn_start_sim(struct gw_engine *e, const struct gw_sim_req *req, gw_start_cb *cb, void *arg)
{
    const char *text = req->display_text ? req->display_text : "";
    size_t tlen = strlen(text);
    struct start_ctx *s;
    int64_t now = gw_now_ms();
    int bad = !req->idem_key || !req->idem_key[0] || req->digest_len > sizeof(s->digest) ||
              (req->op != Q_OP_GENKEY && req->op != Q_OP_CSR && req->op != Q_OP_PUTCERT) ||
              (req->op == Q_OP_CSR && req->digest_len != 32) || (req->op == Q_OP_PUTCERT && req->cert_len == 0);

    s = bad ? NULL : calloc(1, sizeof(*s) + tlen + 1 + (req->op == Q_OP_PUTCERT ? req->cert_len : 0));
    if (!s) {
        cb(arg, GW_ERR_INTERNAL, NULL, 0);
        return;
    }
    s->e = e;
    s->cb = cb;
    s->arg = arg;
    snprintf(s->rp, sizeof(s->rp), "%s", req->rp);
    snprintf(s->msisdn, sizeof(s->msisdn), "%s", req->msisdn);
    snprintf(s->client_ref, sizeof(s->client_ref), "%s", req->client_ref ? req->client_ref : "");
    snprintf(s->idem, sizeof(s->idem), "%s", req->idem_key);
    memcpy(s->text, text, tlen + 1);
    s->n = (struct q_txn_new){
        .rp = s->rp,
        .msisdn = s->msisdn,
        .client_ref = s->client_ref,
        .idem_key = s->idem,
        .req_hash = "",
        .display_text = s->text,
        .now_ms = now,
        .deadline_ms = now + (req->timeout_s > 0 ? (int64_t)req->timeout_s : (int64_t)e->d.cfg->txn_timeout_s) * 1000,
        .lease_ms = (int64_t)e->d.cfg->resubmit_lease_s * 1000,
        .op = (uint8_t)req->op,
        .key_alg = req->key_alg,
    };
    if (req->op == Q_OP_CSR) {
        memcpy(s->digest, req->digest, req->digest_len);
        gw_verification_code(s->digest, req->digest_len, s->vc);
        s->n.digest_alg = DG_SHA256; /* the only digest sig_csr uses */
        s->n.digest = s->digest;
        s->n.digest_len = req->digest_len;
        s->n.vc = s->vc;
    } else if (req->op == Q_OP_PUTCERT) {
        memcpy(s->text + tlen + 1, req->cert, req->cert_len);
        s->n.payload = (const uint8_t *)s->text + tlen + 1;
        s->n.payload_len = req->cert_len;
    }
    s->n.net = car_route_prefix(s->msisdn);
    if (s->n.net == CAR_NET_NONE)
        q_por_lookup(e->d.q, s->msisdn, routed, s);
    else
        q_txn_create(e->d.q, &s->n, created, s);
}

/* ---- sweeping --------------------------------------------------------- */

static void resubmit(void *arg, const struct q_txn *txn, const struct q_sub *sub)
{
    struct gw_engine *e = arg;
    if (!sub)
        return;
    gw_metrics_inc(e->d.metrics, GW_M_RESUBMITTED);
    LOGP(LOG_INFO, "txn", txn->id, "resubmitting (counter %llu)", (unsigned long long)txn->cntr);
    submit_txn(e, txn, sub);
}

static void swept(void *arg, enum q_err err, unsigned expired, unsigned resubmitted)
{
    struct gw_engine *e = arg;
    (void)resubmitted;
    e->sweeping = 0;
    if (err != Q_OK && err != Q_ERR_AGAIN)
        gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
    if (expired) {
        gw_metrics_add(e->d.metrics, GW_M_TXN_EXPIRED, expired);
        LOGP(LOG_INFO, "txn", NULL, "%u transaction(s) expired", expired);
    }
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_engine *e = arg;
    (void)fd;
    (void)what;
    if (e->sweeping || !q_connected(e->d.q))
        return;
    e->sweeping = 1;
    q_sweep(e->d.q, gw_now_ms(), (int64_t)e->d.cfg->resubmit_lease_s * 1000, SWEEP_LIMIT, resubmit, swept, e);
}

/* ---- life cycle ------------------------------------------------------- */

/* OCSP/CRL answers are shared by every instance through Redis (queue/q_cache.h). */
static int revoc_open(struct gw_engine *e)
{
    struct sig_revoc_cache cache = {.ctx = e->d.q, .get = q_cache_get, .put = q_cache_put};
    struct sig_revoc_cfg rc = {.timeout_ms = e->d.cfg->revocation_timeout_ms};
    enum sig_err se = sig_revoc_new(e->d.base, e->d.trust, &cache, &rc, &e->revoc);

    if (se == SIG_OK && e->vc)
        se = sig_revoc_set_vcache(e->revoc, e->vc);
    if (se != SIG_OK) {
        LOGP(LOG_ERR, "txn", NULL, "cannot start the revocation checker: %s", sig_strerror(se));
        return -1;
    }
    return 0;
}

/* CAdES-B-T: the TSA's roots, and an HTTP client on the loop to reach it. */
static int tsa_open(struct gw_engine *e)
{
    struct hc_cfg hc = {.timeout_ms = e->d.cfg->tsa_timeout_ms, .max_body = 256 * 1024};
    char why[256] = "";
    enum sig_err se = sig_tsa_new(e->d.cfg->tsa_trust, NULL, &e->tsa, why, sizeof(why));

    if (se != SIG_OK) {
        LOGP(LOG_ERR, "txn", NULL, "tsa_trust %s: %s: %s", e->d.cfg->tsa_trust, sig_strerror(se), why);
        return -1;
    }
    if (hc_new(e->d.base, &hc, &e->http) != 0) {
        LOGP(LOG_ERR, "txn", NULL, "cannot start the HTTP client for the timestamp authority");
        return -1;
    }
    LOGP(LOG_INFO, "txn", NULL, "CMS signatures are timestamped by %s (CAdES-B-T)", e->d.cfg->tsa_url);
    return 0;
}

enum gw_err gw_engine_new(const struct gw_engine_deps *deps, struct gw_engine **out)
{
    struct gw_engine *e = calloc(1, sizeof(*e));
    struct timeval tv;

    *out = NULL;
    if (!e)
        return GW_ERR_INTERNAL;
    e->d = *deps;
    e->ev = (struct car_events){.arg = e, .sent = on_sent, .mo = on_mo, .state = on_state};
    for (size_t i = 0; i < deps->cfg->n_carriers; i++) {
        const struct cfg_carrier *c = &deps->cfg->carriers[i];
        for (size_t j = 0; j < c->n_links; j++) {
            struct link_slot *s = &e->links[e->n_links];
            /* Every link through the transport table: the engine names no transport. */
            const struct car_ops *ops = car_transport_find(c->links[j].transport);
            enum car_err rc = ops ? ops->open(deps->base, c, &c->links[j], &e->ev, &s->link) : CAR_ERR_UNSUPPORTED;
            if (rc != CAR_OK) {
                LOGP(LOG_ERR, "txn", c->links[j].name, "cannot open link (transport %s): %s", c->links[j].transport,
                     car_strerror(rc));
                gw_engine_free(e);
                return GW_ERR_INTERNAL;
            }
            s->carrier = c;
            e->n_links++;
        }
    }
    /* Verdicts cached in process; a failure only costs speed (sig_vcache.h: NULL = uncached). */
    if (sig_vcache_new(deps->trust, NULL, &e->vc) != SIG_OK)
        e->vc = NULL;
    if ((deps->cfg->revocation_check && revoc_open(e) != 0) || (deps->cfg->tsa_url[0] && tsa_open(e) != 0)) {
        gw_engine_free(e);
        return GW_ERR_INTERNAL;
    }
    e->parked_ev = evtimer_new(deps->base, parked_cb, e);
    e->sent_ev = evtimer_new(deps->base, sent_flush_cb, e);
    e->sweep_ev = event_new(deps->base, -1, EV_PERSIST, sweep_cb, e);
    tv.tv_sec = deps->cfg->sweep_interval_ms / 1000;
    tv.tv_usec = (deps->cfg->sweep_interval_ms % 1000) * 1000;
    if (!e->parked_ev || !e->sent_ev || !e->sweep_ev || event_add(e->sweep_ev, &tv) != 0) {
        gw_engine_free(e);
        return GW_ERR_INTERNAL;
    }
    *out = e;
    return GW_OK;
}

void gw_engine_free(struct gw_engine *e)
{
    if (!e)
        return;
    /* Checks still running are answered now (REVOCATION_UNKNOWN) and dropped: q is freed already. */
    e->closing = 1;
    hc_free(e->http); /* timestamp requests still running are answered now and dropped */
    sig_revoc_free(e->revoc);
    sig_vcache_free(e->vc); /* after revoc, which borrows it */
    sig_tsa_free(e->tsa);
    if (e->sweep_ev)
        event_free(e->sweep_ev);
    if (e->parked_ev)
        event_free(e->parked_ev);
    /* q is already freed here (gw_main): marks still batched are dropped, and
     * those commands are resubmitted after the lease, as after a crash. */
    if (e->sent_ev)
        event_free(e->sent_ev);
    for (size_t i = 0; i < e->n_links; i++)
        car_link_close(e->links[i].link);
    /* Links freed: nothing can report on these any more. */
    for (size_t b = 0; b < INFLIGHT_BUCKETS; b++) {
        while (e->inflight[b]) {
            struct submit_ctx *s = e->inflight[b];
            e->inflight[b] = s->next;
            free(s);
        }
    }
    free(e);
}

void gw_engine_watch(struct gw_engine *e, const struct gw_txn_watch *w)
{
    static const struct gw_txn_watch none;
    e->watch = w ? *w : none;
}

int gw_engine_links_up(const struct gw_engine *e)
{
    for (size_t i = 0; i < e->d.cfg->n_carriers; i++) {
        const struct cfg_carrier *c = &e->d.cfg->carriers[i];
        int up = 0;
        for (size_t j = 0; j < e->n_links; j++)
            if (e->links[j].carrier == c && e->links[j].up)
                up = 1;
        if (!up)
            return 0;
    }
    return 1;
}

static void counter(struct evbuffer *out, const char *name, const char *help, const char *labels, uint64_t v)
{
    if (help)
        evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s counter\n", name, help, name);
    evbuffer_add_printf(out, "simpki_%s%s%s%s %llu\n", name, labels ? "{" : "", labels ? labels : "", labels ? "}" : "",
                        (unsigned long long)v);
}

/* Revocation checker, verification cache, timestamps, binding: this instance's counters. */
static void render_signer_metrics(const struct gw_engine *e, struct evbuffer *out)
{
    counter(out, "revocation_results_total", "revocation outcomes of verified signatures (unknown: hard-fail)",
            "result=\"good\"", e->revoc_good);
    counter(out, "revocation_results_total", NULL, "result=\"revoked\"", e->revoc_revoked);
    counter(out, "revocation_results_total", NULL, "result=\"unknown\"", e->revoc_unknown);
    if (e->revoc) {
        struct sig_revoc_stats rs;
        sig_revoc_get_stats(e->revoc, &rs);
        counter(out, "revocation_checks_total", "certificate status checks started", NULL, rs.checks);
        counter(out, "revocation_cache_hits_total", "answers taken from the Redis or in-process cache", NULL,
                rs.cache_hits);
        counter(out, "revocation_ocsp_fetches_total", "OCSP requests sent to a responder", NULL, rs.ocsp_fetches);
        counter(out, "revocation_crl_fetches_total", "CRL downloads (fallback when OCSP gives no answer)", NULL,
                rs.crl_fetches);
        counter(out, "revocation_unknown_total", "checks no source could answer", NULL, rs.unknown);
        counter(out, "revocation_soft_failed_total", "unknown status accepted under a soft-fail policy", NULL,
                rs.soft_failed);
    }
    if (e->vc) {
        struct sig_vcache_stats vs;
        sig_vcache_get_stats(e->vc, &vs);
        counter(out, "vcache_lookups_total", "verification cache lookups by table and outcome",
                "table=\"cert\",outcome=\"hit\"", vs.cert_hits);
        counter(out, "vcache_lookups_total", NULL, "table=\"cert\",outcome=\"miss\"", vs.cert_misses);
        counter(out, "vcache_lookups_total", NULL, "table=\"path\",outcome=\"hit\"", vs.path_hits);
        counter(out, "vcache_lookups_total", NULL, "table=\"path\",outcome=\"miss\"", vs.path_misses);
        counter(out, "vcache_lookups_total", NULL, "table=\"revocation\",outcome=\"hit\"", vs.revoc_hits);
        counter(out, "vcache_lookups_total", NULL, "table=\"revocation\",outcome=\"miss\"", vs.revoc_misses);
        counter(out, "vcache_evictions_total", "verification cache entries evicted at the bound", NULL, vs.evictions);
        gw_metrics_gauge(out, "vcache_entries", "verification cache entries now", "table=\"cert\"", (double)vs.certs);
        gw_metrics_gauge(out, "vcache_entries", NULL, "table=\"revocation\"", (double)vs.revocs);
    }
    if (e->tsa) {
        counter(out, "timestamps_total", "CAdES-B-T timestamps by outcome", "result=\"ok\"", e->tsa_ok);
        counter(out, "timestamps_total", NULL, "result=\"failed\"", e->tsa_failed);
    }
    counter(out, "cert_mismatch_total", "signatures refused: registered certificate differs from the pinned one", NULL,
            e->cert_mismatch);
}

void gw_engine_render_metrics(const struct gw_engine *e, struct evbuffer *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } fields[] = {
        {"link_submitted_total", "submit_sm sent", offsetof(struct car_link_stats, submitted)},
        {"link_submit_ok_total", "submit_sm accepted", offsetof(struct car_link_stats, submit_ok)},
        {"link_submit_error_total", "submit_sm refused", offsetof(struct car_link_stats, submit_err)},
        {"link_throttled_total", "throttling answers", offsetof(struct car_link_stats, throttled)},
        {"link_resent_total", "submit_sm sent again", offsetof(struct car_link_stats, resent)},
        {"link_mo_total", "messages from SIMs", offsetof(struct car_link_stats, mo_received)},
        {"link_receipts_total", "delivery receipts", offsetof(struct car_link_stats, receipts)},
        {"link_malformed_total", "malformed PDUs or messages", offsetof(struct car_link_stats, mo_malformed)},
        {"link_reconnects_total", "reconnections", offsetof(struct car_link_stats, reconnects)},
    };
    struct car_link_stats st[MAX_LINKS];
    char labels[96];

    for (size_t i = 0; i < e->n_links; i++)
        car_link_stats(e->links[i].link, &st[i]);
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s counter\n", fields[f].name, fields[f].help,
                            fields[f].name);
        for (size_t i = 0; i < e->n_links; i++) {
            snprintf(labels, sizeof(labels), "link=\"%s\"", car_link_name(e->links[i].link));
            gw_metrics_gauge(out, fields[f].name, NULL, labels,
                             (double)*(const uint64_t *)(const void *)((const char *)&st[i] + fields[f].off));
        }
    }
    gw_metrics_gauge(out, "parked", "commands waiting for a carrier link to come up", NULL, (double)e->n_parked);
    render_signer_metrics(e, out);
    for (size_t i = 0; i < e->n_links; i++) {
        snprintf(labels, sizeof(labels), "link=\"%s\"", car_link_name(e->links[i].link));
        gw_metrics_gauge(out, "link_up", i == 0 ? "1 when the link is bound" : NULL, labels, e->links[i].up);
        gw_metrics_gauge(out, "link_in_flight", i == 0 ? "submit_sm awaiting a response" : NULL, labels,
                         st[i].in_flight);
        gw_metrics_gauge(out, "link_queued", i == 0 ? "commands waiting for the window" : NULL, labels, st[i].queued);
    }
}
