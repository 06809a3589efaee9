/* gw_txn.c - see gw_txn.h; the modules' map is in gw_txn_priv.h. */
#include "gw_txn_priv.h"
#include "gw_result.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "car_route.h"
#include "gw_metrics.h"
#include "gw_util.h"
#include "log.h"
#include "sig_cms.h"

#define SWEEP_LIMIT 1000

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
    case GW_ERR_TEXT_TOO_LONG: return "the display text is too long for the subscriber's device";
    case GW_ERR_TEXT_INVALID: return "the display text cannot be shown on the subscriber's device";
    case GW_ERR_BACKLOG: return "the evidence archive is behind, try again";
    }
    return "unknown error";
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
 * f says what to store; now_ms, retention_ms and want_txn are filled here, a
 * detail longer than the stored 159 octets is clipped (at a UTF-8 boundary)
 * rather than lose the outcome.
 */
void gwt_via_link(const struct car_link *l, struct gwt_via *out)
{
    snprintf(out->transport, sizeof(out->transport), "%s", car_link_transport(l));
    snprintf(out->link, sizeof(out->link), "%s", car_link_name(l));
}

void gwt_via_txn(const struct gw_engine *e, const struct q_txn *txn, struct gwt_via *out)
{
    const struct cfg_carrier *c = cfg_carrier_by_net(e->d.cfg, txn->net);

    memset(out, 0, sizeof(*out));
    for (size_t i = 0; txn->far_link[0] && i < e->n_links; i++)
        if (strcmp(car_link_name(e->links[i].link), txn->far_link) == 0) {
            gwt_via_link(e->links[i].link, out);
            return;
        }
    if (!c)
        return;
    /* Not known which link: the carrier, and its transport when all its links have the same. */
    snprintf(out->link, sizeof(out->link), "%s", c->name);
    for (size_t i = 0; i < c->n_links; i++) {
        if (i > 0 && strcmp(out->transport, c->links[i].transport) != 0) {
            out->transport[0] = '\0';
            break;
        }
        snprintf(out->transport, sizeof(out->transport), "%s", c->links[i].transport);
    }
}

void gwt_finish(struct gw_engine *e, const char *id, uint64_t cntr, struct q_finish *f, const struct gwt_via *via)
{
    struct finish_ctx *fc = calloc(1, sizeof(*fc));
    char clipped[160];

    if (!fc) {
        LOGP(LOG_ERR, "txn", id, "out of memory recording the outcome");
        return;
    }
    if (f->detail && strlen(f->detail) >= sizeof(clipped)) {
        size_t n = sizeof(clipped) - 1;
        while (n > 0 && ((uint8_t)f->detail[n] & 0xC0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
        memcpy(clipped, f->detail, n);
        clipped[n] = '\0';
        f->detail = clipped;
    }
    if (f->state != Q_COMPLETED)
        f->pin_serial = f->pin_spki_hex = NULL; /* only a success pins */
    f->now_ms = gw_now_ms();
    f->retention_ms = (int64_t)e->d.cfg->txn_retention_s * 1000;
    fc->e = e;
    fc->state = f->state;
    snprintf(fc->id, sizeof(fc->id), "%s", id);
    fc->handoff = e->watch.waiting && e->watch.waiting(e->watch.arg, id);
    f->want_txn = fc->handoff;
    f->etsi_status = gw_result_etsi(f->result); /* one table says what each result is */
    f->transport = via && via->transport[0] ? via->transport : NULL;
    f->link = via && via->link[0] ? via->link : NULL;
    f->sent_ms = gwt_sent_cancel(e, id);
    LOGP(LOG_INFO, "txn", id, "finished: %s (%d)%s%s", f->result, f->etsi_status, f->detail ? ": " : "",
         f->detail ? f->detail : "");
    q_txn_finish(e->d.q, id, cntr, f, finish_done, fc);
}

void gwt_fail(struct gw_engine *e, const char *id, uint64_t cntr, const char *result, const char *detail,
              const struct gwt_via *via)
{
    gwt_finish(e, id, cntr, &(struct q_finish){.state = Q_FAILED, .result = result, .detail = detail}, via);
}

/* ---- starting --------------------------------------------------------- */

struct start_ctx {
    struct gw_engine *e;
    gw_start_cb *cb;
    void *arg;
    struct q_txn_new n;
    /* copies, so the request can outlive the caller's buffers */
    char rp[64], msisdn[16], client_ref[128], idem[128], hash[65], vc[5];
    char cb_url[Q_CB_URL_MAX + 1], cb_ctx[Q_CB_CTX_MAX + 1];
    uint8_t digest[64];
    uint8_t doc_digest[64]; /* CMS: the caller's digest; digest becomes what the SIM signs */
    int looked_up;          /* the number was looked up at its signature service: never twice */
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
    case Q_ERR_BACKLOG: return GW_ERR_BACKLOG;
    default: return GW_ERR_INTERNAL;
    }
}

static int net_configured(const struct gw_engine *e, int net)
{
    return net != CAR_NET_NONE && cfg_carrier_by_net(e->d.cfg, net) != NULL;
}

static void created(void *arg, enum q_err err, const struct q_txn *txn, const struct q_sub *sub, int existed);
static void cms_looked_up(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn);

/* Looked up at the signature service: in the registry now, so start again; else unknown as before. */
static void fetched(void *arg, enum gw_err ge)
{
    struct start_ctx *s = arg;

    if (ge != GW_OK) {
        s->cb(s->arg, GW_ERR_UNKNOWN_SUB, NULL, 0);
        free(s);
        return;
    }
    if (s->n.format == Q_FORMAT_CMS)
        q_por_lookup(s->e->d.q, s->msisdn, cms_looked_up, s);
    else
        q_txn_create(s->e->d.q, &s->n, created, s);
}

/* A number the registry lacks, on a network an MSSP serves: 1 when a lookup started (fetched follows). */
static int fetch_unknown(struct start_ctx *s)
{
    /* Signatures only: a lifecycle command's subscriber is the lifecycle engine's to register. */
    if (s->looked_up || s->n.net == CAR_NET_NONE || s->n.op != Q_OP_SIGN)
        return 0;
    s->looked_up = 1;
    return gwt_fetch(s->e, s->msisdn, s->n.net, fetched, s) == 0;
}

static void created(void *arg, enum q_err err, const struct q_txn *txn, const struct q_sub *sub, int existed)
{
    struct start_ctx *s = arg;
    struct gw_engine *e = s->e;

    if (err == Q_ERR_NOT_FOUND && fetch_unknown(s))
        return;
    if (err != Q_OK) {
        if (err == Q_ERR_BUSY)
            gw_metrics_inc(e->d.metrics, GW_M_SIGN_BUSY);
        else if (err == Q_ERR_BACKLOG)
            gw_metrics_inc(e->d.metrics, GW_M_SIGN_BACKLOG_REFUSED);
        else if (err != Q_ERR_NOT_FOUND && err != Q_ERR_INACTIVE && err != Q_ERR_IDEM_MISMATCH)
            gw_metrics_inc(e->d.metrics, GW_M_REDIS_ERRORS);
        s->cb(s->arg, map_q(err), txn, 0);
        free(s);
        return;
    }
    if (!existed) {
        if (!net_configured(e, gwt_effective_net(txn, sub)))
            gwt_fail(e, txn->id, txn->cntr, "DELIVERY_ERROR", "no carrier configured for this network", NULL);
        else
            gwt_submit(e, txn, sub);
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
    if ((err == Q_ERR_NOT_FOUND || (err == Q_OK && !sub)) && fetch_unknown(s))
        return;
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

/*
 * The context both starts share: the caller's strings copied (the request
 * outlives its buffers), the text and `extra` octets after it, and the
 * q_txn_new fields every transaction has.  NULL when out of memory.
 */
static struct start_ctx *start_ctx_new(struct gw_engine *e, gw_start_cb *cb, void *arg, const char *rp,
                                       const char *msisdn, const char *client_ref, const char *idem_key,
                                       const char *text, size_t extra, unsigned timeout_s)
{
    size_t tlen = strlen(text);
    struct start_ctx *s = calloc(1, sizeof(*s) + tlen + 1 + extra);
    int64_t now = gw_now_ms();

    if (!s)
        return NULL;
    s->e = e;
    s->cb = cb;
    s->arg = arg;
    snprintf(s->rp, sizeof(s->rp), "%s", rp);
    snprintf(s->msisdn, sizeof(s->msisdn), "%s", msisdn);
    snprintf(s->client_ref, sizeof(s->client_ref), "%s", client_ref ? client_ref : "");
    snprintf(s->idem, sizeof(s->idem), "%s", idem_key ? idem_key : "");
    memcpy(s->text, text, tlen + 1);
    s->n = (struct q_txn_new){
        .rp = s->rp,
        .msisdn = s->msisdn,
        .client_ref = client_ref ? s->client_ref : NULL,
        .idem_key = idem_key ? s->idem : NULL,
        .req_hash = "",
        .display_text = s->text,
        .now_ms = now,
        .deadline_ms = now + (int64_t)(timeout_s ? timeout_s : e->d.cfg->txn_timeout_s) * 1000,
        .lease_ms = (int64_t)e->d.cfg->resubmit_lease_s * 1000,
        .net = car_route_prefix(s->msisdn),
    };
    return s;
}

/* Create, after asking the registry for the network of a number whose prefix does not route. */
static void start_create(struct start_ctx *s)
{
    if (s->n.net == CAR_NET_NONE)
        q_por_lookup(s->e->d.q, s->msisdn, routed, s);
    else
        q_txn_create(s->e->d.q, &s->n, created, s);
}

void gw_txn_start(struct gw_engine *e, const struct gw_sign_req *req, gw_start_cb *cb, void *arg)
{
    struct start_ctx *s = NULL;

    if (req->digest_len <= sizeof(s->digest) && (!req->cb_url || strlen(req->cb_url) <= Q_CB_URL_MAX) &&
        (!req->cb_ctx || strlen(req->cb_ctx) <= Q_CB_CTX_MAX))
        s = start_ctx_new(e, cb, arg, req->rp, req->msisdn, req->client_ref, req->idem_key, req->display_text, 0, 0);
    if (!s) {
        cb(arg, GW_ERR_INTERNAL, NULL, 0);
        return;
    }
    if (req->cb_url) {
        snprintf(s->cb_url, sizeof(s->cb_url), "%s", req->cb_url);
        snprintf(s->cb_ctx, sizeof(s->cb_ctx), "%s", req->cb_ctx ? req->cb_ctx : "");
        s->n.cb_url = s->cb_url;
        s->n.cb_kind = req->cb_kind;
        s->n.cb_ctx = req->cb_ctx ? s->cb_ctx : NULL;
    }
    snprintf(s->hash, sizeof(s->hash), "%s", req->req_hash ? req->req_hash : "");
    memcpy(s->digest, req->digest, req->digest_len);
    gw_verification_code(req->digest, req->digest_len, s->vc);
    s->n.req_hash = s->hash;
    s->n.digest_alg = req->digest_alg;
    s->n.digest = s->digest;
    s->n.digest_len = req->digest_len;
    s->n.vc = s->vc;
    if (req->format == Q_FORMAT_CMS) {
        /* One more round trip than raw: the signed attributes need the certificate first. */
        memcpy(s->doc_digest, req->digest, req->digest_len);
        s->n.format = Q_FORMAT_CMS;
        q_por_lookup(e->d.q, s->msisdn, cms_looked_up, s);
        return;
    }
    start_create(s);
}

/*
 * Lifecycle commands take the raw path: no CMS, the registry's network when
 * the prefix does not route, and the caller's Idempotency-Key so that a
 * resumed enrolment step finds its command instead of sending another.
 */
void gw_txn_start_sim(struct gw_engine *e, const struct gw_sim_req *req, gw_start_cb *cb, void *arg)
{
    struct start_ctx *s = NULL;
    int bad = !req->idem_key || !req->idem_key[0] || req->digest_len > sizeof(s->digest) ||
              (req->op != Q_OP_GENKEY && req->op != Q_OP_CSR && req->op != Q_OP_PUTCERT) ||
              (req->op == Q_OP_CSR && req->digest_len != 32) || (req->op == Q_OP_PUTCERT && req->cert_len == 0);

    if (!bad)
        s = start_ctx_new(e, cb, arg, req->rp, req->msisdn, req->client_ref ? req->client_ref : "", req->idem_key,
                          req->display_text ? req->display_text : "", req->op == Q_OP_PUTCERT ? req->cert_len : 0,
                          req->timeout_s > 0 ? (unsigned)req->timeout_s : 0);
    if (!s) {
        cb(arg, GW_ERR_INTERNAL, NULL, 0);
        return;
    }
    s->n.op = (uint8_t)req->op;
    s->n.key_alg = req->key_alg;
    if (req->op == Q_OP_CSR) {
        memcpy(s->digest, req->digest, req->digest_len);
        gw_verification_code(s->digest, req->digest_len, s->vc);
        s->n.digest_alg = DG_SHA256; /* the only digest sig_csr uses */
        s->n.digest = s->digest;
        s->n.digest_len = req->digest_len;
        s->n.vc = s->vc;
    } else if (req->op == Q_OP_PUTCERT) {
        size_t tlen = strlen(s->text);
        memcpy(s->text + tlen + 1, req->cert, req->cert_len);
        s->n.payload = (const uint8_t *)s->text + tlen + 1;
        s->n.payload_len = req->cert_len;
    }
    start_create(s);
}

/* ---- sweeping --------------------------------------------------------- */

static void resubmit(void *arg, const struct q_txn *txn, const struct q_sub *sub)
{
    struct gw_engine *e = arg;
    if (!sub)
        return;
    gw_metrics_inc(e->d.metrics, GW_M_RESUBMITTED);
    LOGP(LOG_INFO, "txn", txn->id, "resubmitting (counter %llu)", (unsigned long long)txn->cntr);
    gwt_submit(e, txn, sub);
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

enum gw_err gw_engine_new(const struct gw_engine_deps *deps, struct gw_engine **out)
{
    struct gw_engine *e = calloc(1, sizeof(*e));
    struct timeval tv;

    *out = NULL;
    if (!e)
        return GW_ERR_INTERNAL;
    e->d = *deps;
    e->ev = (struct car_events){.arg = e,
                                .sent = gwt_on_sent,
                                .mo = gwt_on_mo,
                                .state = gwt_on_state,
                                .answer = gwt_on_answer,
                                .round_trip = gwt_on_round_trip};
    if (gwt_links_open(e) != 0 || gwt_verify_open(e) != 0) {
        gw_engine_free(e);
        return GW_ERR_INTERNAL;
    }
    e->parked_ev = evtimer_new(deps->base, gwt_parked_cb, e);
    e->sent_ev = evtimer_new(deps->base, gwt_sent_flush_cb, e);
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
    gwt_verify_close(e);
    if (e->sweep_ev)
        event_free(e->sweep_ev);
    if (e->parked_ev)
        event_free(e->parked_ev);
    /* q is already freed here (gw_main): marks still batched are dropped, and
     * those commands are resubmitted after the lease, as after a crash. */
    if (e->sent_ev)
        event_free(e->sent_ev);
    gwt_links_close(e);
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
