/*
 * sig_revoc.c - the asynchronous revocation check: cache, OCSP, CRL, fetched
 * on the event loop with http_client.h.
 *
 * One struct rv_check per sig_revoc_check call walks:
 *   OCSP_CACHE -> (hit and still valid: done) OCSP_FETCH -> (good/revoked: put, done)
 *   -> CRL_CACHE -> (hit: done) CRL_FETCH -> (definite: put, done) -> done UNKNOWN
 * The user callback always runs from the deferred-event handler, never from
 * inside sig_revoc_check or a cache call.
 */
#include "sig_revoc.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include "http_client.h"
#include "util.h"
#include "sig_priv.h"
#include "sig_revoc_priv.h"

#define URL_MAX   512
#define KEY_MAX   96
#define TTL_MAX_S (7 * 86400)

enum rv_state { ST_OCSP_CACHE, ST_OCSP_FETCH, ST_CRL_CACHE, ST_CRL_FETCH, ST_DONE };

struct rv_check {
    struct sig_revoc *r; /* NULL once orphaned by sig_revoc_free (a cache get still out) */
    enum rv_state state;
    X509 *x, *iss;
    time_t at;
    enum sig_revoc_policy policy;
    sig_revoc_cb *cb;
    void *arg;
    char ocsp_url[URL_MAX], crl_url[URL_MAX];
    char key[KEY_MAX];
    uint8_t nonce[SIG_OCSP_NONCE_LEN];
    uint8_t *req;
    size_t req_len;
    struct hc_req *fetch; /* under way, or NULL */
    int cache_pending;
    struct sig_revoc_result res;
    uint8_t *ocsp, *crl; /* what res points at */
    char why_ocsp[120];
    struct rv_check *next, *prev; /* all live checks */
    struct rv_check *dnext;       /* deferred completion */
};

struct sig_revoc {
    struct event_base *base;
    const struct sig_trust *t;
    struct sig_revoc_cache cache;
    int has_cache;
    struct sig_revoc_cfg cfg;
    struct hc_client *http;
    struct event *defer_ev;
    struct rv_check *live, *deferred;
    struct sig_revoc_stats st;
    struct sig_vcache *vc; /* optional in-process decisions (sig_revoc_set_vcache), borrowed */
    int freeing;
};

static void step(struct rv_check *c);

/* ---- completion ---- */

static void check_free(struct rv_check *c)
{
    hc_cancel(c->fetch);
    X509_free(c->x);
    X509_free(c->iss);
    free(c->req);
    free(c->ocsp);
    free(c->crl);
    free(c);
}

static void unlink_live(struct rv_check *c)
{
    struct sig_revoc *r = c->r;

    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (r != NULL && r->live == c)
        r->live = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void deliver(struct rv_check *c)
{
    struct sig_revoc *r = c->r;

    if (c->res.result == SIG_ERR_REVOCATION_UNKNOWN) {
        r->st.unknown++;
        if (c->policy == SIG_REVOC_SOFT) {
            c->res.result = SIG_OK;
            c->res.soft_failed = 1;
            r->st.soft_failed++;
        }
    }
    c->res.ocsp = c->ocsp;
    c->res.crl = c->crl;
    unlink_live(c);
    c->cb(c->arg, &c->res);
    check_free(c);
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    struct sig_revoc *r = arg;
    struct rv_check *list = r->deferred;

    (void)fd;
    (void)what;
    r->deferred = NULL;
    while (list != NULL) {
        struct rv_check *c = list;

        list = c->dnext;
        deliver(c);
    }
}

/* Finish c: result in c->res.  Delivered from the loop. */
static void finish(struct rv_check *c, enum sig_err result, const char *why)
{
    struct sig_revoc *r = c->r;

    c->state = ST_DONE;
    c->res.result = result;
    if (why != NULL && why[0] != '\0')
        snprintf(c->res.why, sizeof c->res.why, "%s", why);
    if (r->freeing) {
        deliver(c);
        return;
    }
    c->dnext = r->deferred;
    r->deferred = c;
    event_active(r->defer_ev, EV_TIMEOUT, 0);
}

/* ---- fetching ---- */

static void fetched(struct rv_check *c, int ok, const uint8_t *body, size_t len, const char *why);

static void on_fetched(void *arg, const struct hc_answer *a)
{
    struct rv_check *c = arg;
    char why[64];

    c->fetch = NULL;
    if (a->err != HC_OK) {
        fetched(c, 0, NULL, 0, a->why);
        return;
    }
    /* OCSP responders and CRL servers answer 200; any other status is a failed fetch, its body unused. */
    if (a->status != 200) {
        snprintf(why, sizeof why, "HTTP status %ld", a->status);
        fetched(c, 0, NULL, 0, why);
        return;
    }
    fetched(c, 1, a->body, a->len, "");
}

/* Start a GET (body NULL) or POST of body to url; 0 on success. */
static int start_fetch(struct rv_check *c, const char *url, const uint8_t *body, size_t len, const char *ctype)
{
    c->fetch = hc_fetch(c->r->http, url, ctype, NULL, body, len, on_fetched, c);
    return c->fetch ? 0 : -1;
}

/* ---- the state machine ---- */

static int make_key(struct rv_check *c, const char *kind, const unsigned char *data, size_t len)
{
    unsigned char md[32];
    char hex[65];

    if (!EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL))
        return -1;
    util_hex(md, sizeof md, hex);
    snprintf(c->key, sizeof c->key, "spk:rv:%s:%s", kind, hex);
    return 0;
}

static unsigned ttl_for(const struct rv_check *c)
{
    time_t now = time(NULL);
    time_t until = c->res.st.next_update != 0 ? c->res.st.next_update : now + 300;
    time_t ttl = until - now;

    if (ttl < 1)
        ttl = 1;
    if (ttl > TTL_MAX_S)
        ttl = TTL_MAX_S;
    return (unsigned)ttl;
}

static void keep(uint8_t **dst, const uint8_t *src, size_t len, size_t *dst_len)
{
    free(*dst);
    *dst = malloc(len ? len : 1);
    if (*dst != NULL) {
        memcpy(*dst, src, len);
        *dst_len = len;
    } else {
        *dst_len = 0;
    }
}

/* Apply an OCSP or CRL answer; 1 when it is definite (good or revoked). */
static int apply(struct rv_check *c, int is_ocsp, const uint8_t *v, size_t len, const uint8_t *nonce, int cached)
{
    struct sig_revoc *r = c->r;
    struct sig_revoc_status st;
    char why[200];
    enum sig_err e;
    time_t now = time(NULL);

    ERR_set_mark();
    if (is_ocsp)
        e = sig_rv_ocsp_check_x(r->t, c->x, c->iss, nonce, v, len, now, r->cfg.ocsp_max_age_s, &st, why, sizeof why);
    else
        e = sig_rv_crl_check_x(c->x, c->iss, v, len, now, &st, why, sizeof why);
    ERR_pop_to_mark();
    if (e != SIG_OK && e != SIG_ERR_REVOKED) {
        if (is_ocsp && !cached)
            snprintf(c->why_ocsp, sizeof c->why_ocsp, "%.110s", why);
        else if (!cached)
            snprintf(c->res.why, sizeof c->res.why, "%.119s; %.78s", c->why_ocsp[0] ? c->why_ocsp : "no OCSP", why);
        return 0;
    }
    if (r->vc != NULL)
        sig_vcache_revoc_put(r->vc, c->x, c->iss, &st, is_ocsp ? v : NULL, len, now,
                             is_ocsp ? r->cfg.ocsp_max_age_s : 0);
    /* A revocation after `at` did not stop the signature made at `at`. */
    if (e == SIG_ERR_REVOKED && st.revoked_at > c->at)
        e = SIG_OK;
    c->res.st = st;
    c->res.st.result = e;
    c->res.source = is_ocsp ? "ocsp" : "crl";
    c->res.from_cache = cached;
    if (is_ocsp)
        keep(&c->ocsp, v, len, &c->res.ocsp_len);
    else
        keep(&c->crl, v, len, &c->res.crl_len);
    if (cached)
        r->st.cache_hits++;
    else if (r->has_cache)
        r->cache.put(r->cache.ctx, c->key, v, len, ttl_for(c));
    finish(c, e, e == SIG_ERR_REVOKED ? why : NULL);
    return 1;
}

static void cache_got(void *req, const uint8_t *value, size_t len)
{
    struct rv_check *c = req;

    c->cache_pending = 0;
    if (c->r == NULL) { /* sig_revoc_free ran meanwhile */
        check_free(c);
        return;
    }
    if (value != NULL && apply(c, c->state == ST_OCSP_CACHE, value, len, NULL, 1))
        return;
    c->state = c->state == ST_OCSP_CACHE ? ST_OCSP_FETCH : ST_CRL_FETCH;
    step(c);
}

static void fetched(struct rv_check *c, int ok, const uint8_t *body, size_t len, const char *why)
{
    int is_ocsp = c->state == ST_OCSP_FETCH;

    if (ok && apply(c, is_ocsp, body, len, is_ocsp ? c->nonce : NULL, 0))
        return;
    if (!ok) {
        if (is_ocsp)
            snprintf(c->why_ocsp, sizeof c->why_ocsp, "ocsp: %.110s", why);
        else
            snprintf(c->res.why, sizeof c->res.why, "%.119s; crl: %.70s", c->why_ocsp[0] ? c->why_ocsp : "no OCSP",
                     why);
    }
    c->state = is_ocsp ? ST_CRL_CACHE : ST_DONE;
    step(c);
}

static void step(struct rv_check *c)
{
    struct sig_revoc *r = c->r;

    for (;;) {
        switch (c->state) {
        case ST_OCSP_CACHE:
        case ST_CRL_CACHE: {
            int ocsp = c->state == ST_OCSP_CACHE;

            if (ocsp ? c->ocsp_url[0] == '\0' : (c->crl_url[0] == '\0' || r->cfg.no_crl)) {
                if (ocsp)
                    snprintf(c->why_ocsp, sizeof c->why_ocsp, "ocsp: no OCSP URL in the certificate");
                c->state = ocsp ? ST_CRL_CACHE : ST_DONE;
                if (!ocsp && c->res.why[0] == '\0')
                    snprintf(c->res.why, sizeof c->res.why, "%s; crl: no usable CRL", c->why_ocsp);
                continue;
            }
            if (ocsp) {
                OCSP_CERTID *id = OCSP_cert_to_id(NULL, c->x, c->iss);
                unsigned char *der = NULL;
                int len = id != NULL ? i2d_OCSP_CERTID(id, &der) : -1;
                int bad = len <= 0 || make_key(c, "ocsp", der, (size_t)len) != 0;

                OPENSSL_free(der);
                OCSP_CERTID_free(id);
                if (bad) {
                    finish(c, SIG_ERR_REVOCATION_UNKNOWN, "out of memory");
                    return;
                }
            } else if (make_key(c, "crl", (const unsigned char *)c->crl_url, strlen(c->crl_url)) != 0) {
                finish(c, SIG_ERR_REVOCATION_UNKNOWN, "out of memory");
                return;
            }
            if (!r->has_cache) {
                c->state = ocsp ? ST_OCSP_FETCH : ST_CRL_FETCH;
                continue;
            }
            c->cache_pending = 1;
            r->cache.get(r->cache.ctx, c->key, cache_got, c);
            return; /* cache_got continues, maybe already has */
        }
        case ST_OCSP_FETCH:
            free(c->req);
            c->req = NULL;
            if (sig_rv_ocsp_request_x(c->x, c->iss, c->nonce, &c->req, &c->req_len) != SIG_OK ||
                start_fetch(c, c->ocsp_url, c->req, c->req_len, "application/ocsp-request") != 0) {
                snprintf(c->why_ocsp, sizeof c->why_ocsp, "ocsp: cannot start the request");
                c->state = ST_CRL_CACHE;
                continue;
            }
            r->st.ocsp_fetches++;
            return;
        case ST_CRL_FETCH:
            if (start_fetch(c, c->crl_url, NULL, 0, NULL) != 0) {
                snprintf(c->res.why, sizeof c->res.why, "%s; crl: cannot start the download", c->why_ocsp);
                c->state = ST_DONE;
                continue;
            }
            r->st.crl_fetches++;
            return;
        case ST_DONE:
            if (c->res.why[0] == '\0')
                snprintf(c->res.why, sizeof c->res.why, "%s", c->why_ocsp);
            finish(c, SIG_ERR_REVOCATION_UNKNOWN, NULL);
            return;
        }
    }
}

/* First http(s) URL of the certificate's AIA OCSP and CRL DP. */
static void find_urls(struct rv_check *c)
{
    STACK_OF(OPENSSL_STRING) *ocsp = X509_get1_ocsp(c->x);
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(c->x, NID_crl_distribution_points, NULL, NULL);

    for (int i = 0; i < sk_OPENSSL_STRING_num(ocsp); i++) {
        const char *u = sk_OPENSSL_STRING_value(ocsp, i);

        if ((strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0) && strlen(u) < URL_MAX) {
            snprintf(c->ocsp_url, sizeof c->ocsp_url, "%s", u);
            break;
        }
    }
    for (int i = 0; c->crl_url[0] == '\0' && i < sk_DIST_POINT_num(dps); i++) {
        DIST_POINT *dp = sk_DIST_POINT_value(dps, i);

        if (dp->distpoint == NULL || dp->distpoint->type != 0)
            continue;
        for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
            GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
            const ASN1_IA5STRING *u;

            if (gn->type != GEN_URI)
                continue;
            u = gn->d.uniformResourceIdentifier;
            if (u->length > 7 && u->length < URL_MAX && memchr(u->data, '\0', (size_t)u->length) == NULL &&
                strncmp((const char *)u->data, "http://", 7) == 0) {
                memcpy(c->crl_url, u->data, (size_t)u->length);
                c->crl_url[u->length] = '\0';
                break;
            }
        }
    }
    X509_email_free(ocsp);
    sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
}

/*
 * An OCSP decision the vcache holds for a certificate whose path it knows
 * valid at c->at: the same result apply() would give for that response,
 * without parsing anything.  CRL decisions are not taken from here (the CRL
 * itself is not kept for res.crl).  1 when c is finished.
 */
static int from_vcache(struct rv_check *c, const uint8_t *cert, size_t cert_len)
{
    struct sig_revoc_status st;
    const char *source = NULL;
    const uint8_t *der = NULL;
    size_t der_len = 0;
    enum sig_err e;
    char why[200];

    e = sig_vcache_revoc_find(c->r->vc, cert, cert_len, c->at, time(NULL), &st, &source, &der, &der_len);
    if ((e != SIG_OK && e != SIG_ERR_REVOKED) || der == NULL)
        return 0;
    keep(&c->ocsp, der, der_len, &c->res.ocsp_len);
    if (c->ocsp == NULL)
        return 0;
    c->res.st = st;
    c->res.source = "ocsp";
    c->res.from_cache = 1;
    c->r->st.cache_hits++;
    snprintf(why, sizeof why, "ocsp: certificate revoked (reason %d)", st.reason);
    finish(c, e, e == SIG_ERR_REVOKED ? why : NULL);
    return 1;
}

enum sig_err sig_revoc_set_vcache(struct sig_revoc *r, struct sig_vcache *vc)
{
    if (r == NULL || (vc != NULL && sig_vcache_trust(vc) != r->t))
        return SIG_ERR_MALFORMED;
    r->vc = vc;
    return SIG_OK;
}

void sig_revoc_check(struct sig_revoc *r, const uint8_t *cert, size_t cert_len, time_t at, enum sig_revoc_policy policy,
                     sig_revoc_cb *cb, void *arg)
{
    struct rv_check *c = calloc(1, sizeof *c);
    STACK_OF(X509) *chain = NULL;
    enum sig_err rc;
    char why[160];

    if (c == NULL) {
        struct sig_revoc_result res;

        /* Nothing to defer with: the one place a callback runs inline. */
        memset(&res, 0, sizeof res);
        res.result = SIG_ERR_NOMEM;
        res.source = "none";
        cb(arg, &res);
        return;
    }
    c->r = r;
    c->at = at;
    c->policy = policy;
    c->cb = cb;
    c->arg = arg;
    c->res.source = "none";
    c->res.st.reason = -1;
    c->next = r->live;
    if (r->live != NULL)
        r->live->prev = c;
    r->live = c;
    r->st.checks++;

    if (r->vc != NULL && from_vcache(c, cert, cert_len))
        return;
    ERR_set_mark();
    rc = sig_parse_cert(cert, cert_len, &c->x, why, sizeof why);
    if (rc == SIG_OK)
        rc = sig_check_path(r->t, c->x, at, &chain, why, sizeof why);
    if (rc == SIG_OK && sk_X509_num(chain) >= 2) {
        c->iss = sk_X509_value(chain, 1);
        X509_up_ref(c->iss);
    } else if (rc == SIG_OK) {
        rc = SIG_ERR_UNTRUSTED;
        snprintf(why, sizeof why, "revocation: a trust anchor is not a subscriber certificate");
    }
    sk_X509_pop_free(chain, X509_free);
    ERR_pop_to_mark();
    if (rc != SIG_OK) {
        c->policy = SIG_REVOC_HARD; /* a path error is never softened */
        finish(c, rc, why);
        return;
    }
    find_urls(c);
    c->state = ST_OCSP_CACHE;
    step(c);
}

enum sig_err sig_revoc_new(struct event_base *base, const struct sig_trust *t, const struct sig_revoc_cache *cache,
                           const struct sig_revoc_cfg *cfg, struct sig_revoc **out)
{
    struct sig_revoc *r;

    if (base == NULL || t == NULL || out == NULL)
        return SIG_ERR_MALFORMED;
    *out = NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return SIG_ERR_NOMEM;
    r->base = base;
    r->t = t;
    if (cache != NULL && cache->get != NULL && cache->put != NULL) {
        r->cache = *cache;
        r->has_cache = 1;
    }
    if (cfg != NULL)
        r->cfg = *cfg;
    if (r->cfg.timeout_ms == 0)
        r->cfg.timeout_ms = 5000;
    if (r->cfg.ocsp_max_age_s == 0)
        r->cfg.ocsp_max_age_s = 7 * 86400;
    if (r->cfg.max_body == 0)
        r->cfg.max_body = 4u << 20;
    r->defer_ev = event_new(base, -1, 0, on_deferred, r);
    if (r->defer_ev == NULL ||
        hc_new(base, &(struct hc_cfg){.timeout_ms = r->cfg.timeout_ms, .max_body = r->cfg.max_body}, &r->http) != 0) {
        sig_revoc_free(r);
        return SIG_ERR_NOMEM;
    }
    *out = r;
    return SIG_OK;
}

void sig_revoc_free(struct sig_revoc *r)
{
    if (r == NULL)
        return;
    r->freeing = 1;
    /* Deliver what was already decided, then fail the rest. */
    on_deferred(-1, 0, r);
    while (r->live != NULL) {
        struct rv_check *c = r->live;

        if (c->cache_pending) {
            unlink_live(c);
            c->r = NULL; /* freed when the cache answers */
            continue;
        }
        snprintf(c->res.why, sizeof c->res.why, "revocation checker shut down");
        c->policy = SIG_REVOC_HARD;
        finish(c, SIG_ERR_REVOCATION_UNKNOWN, NULL);
    }
    hc_free(r->http);
    if (r->defer_ev != NULL)
        event_free(r->defer_ev);
    free(r);
}

void sig_revoc_get_stats(const struct sig_revoc *r, struct sig_revoc_stats *out)
{
    if (r != NULL && out != NULL)
        *out = r->st;
}
