/* gw_callback.c - see gw_callback.h. */
#include "gw_callback.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw_metrics.h"
#include "gw_util.h"
#include "http_client.h"
#include "log.h"
#include "q.h"
#include "util.h"

#define BACKOFF_MAX_MS (600 * 1000)
#define MAX_IN_FLIGHT  256 /* POSTs under way: past this the timer does not claim more */

/*
 * One delivery attempt: from the claim to q_cb_done's answer.  When
 * gw_callback_free runs while q still owes that answer, the module's struct
 * stays allocated (dead) until the last answer (q_answered).
 */
struct delivery {
    struct gw_callback *cb;
    struct delivery *prev, *next; /* cb->live while POSTing */
    struct hc_req *req;
    char id[Q_ID_LEN];
    char rp[64];
    char host[128]; /* the URL's host, for logs */
    unsigned attempt;
};

struct gw_callback {
    struct gw_callback_deps d;
    struct hc_client *hc;
    struct event *timer;
    EVP_MAC *mac;
    struct delivery *live; /* POSTs under way */
    unsigned in_flight;
    unsigned q_calls; /* claims and dones q still owes us an answer for */
    int claiming;
    int dead; /* gw_callback_free ran: the last q answer frees the struct */
};

int64_t gw_callback_backoff_ms(unsigned backoff_ms, unsigned attempt)
{
    int64_t ms = backoff_ms;

    for (unsigned i = 1; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

unsigned gw_callback_in_flight(const struct gw_callback *cb)
{
    return cb ? cb->in_flight : 0;
}

/* A q answer came: when the module is gone and this was the last one, free it. */
static void q_answered(struct gw_callback *cb)
{
    cb->q_calls--;
    if (cb->dead && cb->q_calls == 0)
        free(cb);
}

/* "https://user@host:443/path" -> "host:443" (userinfo never reaches a log). */
static void url_host(const char *url, char *out, size_t cap)
{
    const char *h = strstr(url, "://");
    size_t n;

    h = h ? h + 3 : url;
    n = strcspn(h, "/?#");
    if (memchr(h, '@', n)) {
        const char *at = memchr(h, '@', n);
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), h);
}

/* "t=<t>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>" into out (at least 96 octets). */
static int sign(struct gw_callback *cb, const struct cfg_apikey *k, long long t, const uint8_t *body, size_t len,
                char *out, size_t cap)
{
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0), OSSL_PARAM_END};
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(cb->mac);
    uint8_t md[32];
    char ts[24], hex[65];
    size_t mdlen = 0;
    int rc = -1;

    snprintf(ts, sizeof ts, "%lld.", t);
    if (ctx && EVP_MAC_init(ctx, k->cb_secret, k->cb_secret_len, params) &&
        EVP_MAC_update(ctx, (const uint8_t *)ts, strlen(ts)) && EVP_MAC_update(ctx, body, len) &&
        EVP_MAC_final(ctx, md, &mdlen, sizeof md) && mdlen == sizeof md) {
        util_hex(md, sizeof md, hex);
        snprintf(out, cap, "t=%lld,v1=%s", t, hex);
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    return rc;
}

static void done_answered(void *arg, enum q_err err)
{
    struct delivery *dl = arg;
    struct gw_callback *cb = dl->cb;

    if (err != Q_OK && err != Q_ERR_CONFLICT && err != Q_ERR_NOT_FOUND)
        LOGP(LOG_WARN, "callback", dl->rp, "txn %s: cannot record the attempt: %s (its lease runs out, it is retried)",
             dl->id, q_strerror(err));
    free(dl);
    q_answered(cb);
}

/* End attempt dl (no longer live): tell Redis; dl is freed when it answers. */
static void finish_attempt(struct delivery *dl, enum q_cb_outcome o, int64_t when_ms, const char *detail)
{
    struct gw_callback *cb = dl->cb;

    cb->q_calls++;
    q_cb_done(cb->d.q, dl->id, dl->attempt, o, when_ms, detail, done_answered, dl);
}

/* Attempt dl failed for `why`: retry with backoff, or give up after the last try. */
static void failed(struct delivery *dl, const char *why)
{
    struct gw_callback *cb = dl->cb;
    int64_t now = gw_now_ms(), next;

    gw_metrics_inc(cb->d.metrics, GW_M_CB_FAILED_ATTEMPTS);
    if (dl->attempt >= cb->d.max_tries) {
        gw_metrics_inc(cb->d.metrics, GW_M_CB_GAVE_UP);
        LOGP(LOG_WARN, "callback", dl->rp, "txn %s to %s: attempt %u failed (%s): given up", dl->id, dl->host,
             dl->attempt, why);
        finish_attempt(dl, Q_CB_OUT_GAVE_UP, now, why);
        return;
    }
    next = gw_callback_backoff_ms(cb->d.backoff_ms, dl->attempt);
    LOGP(LOG_INFO, "callback", dl->rp, "txn %s to %s: attempt %u failed (%s), next try in %lld ms", dl->id, dl->host,
         dl->attempt, why, (long long)next);
    finish_attempt(dl, Q_CB_OUT_RETRY, now + next, why);
}

static void unlink_live(struct delivery *dl)
{
    struct gw_callback *cb = dl->cb;

    if (dl->prev)
        dl->prev->next = dl->next;
    else
        cb->live = dl->next;
    if (dl->next)
        dl->next->prev = dl->prev;
    dl->prev = dl->next = NULL;
    dl->req = NULL;
    cb->in_flight--;
}

static void answered(void *arg, const struct hc_answer *a)
{
    struct delivery *dl = arg;
    struct gw_callback *cb = dl->cb;
    char why[160];

    unlink_live(dl);
    if (cb->dead) { /* hc_free from gw_callback_free: the lease runs out, someone retries */
        free(dl);
        return;
    }
    if (a->err == HC_OK && a->status >= 200 && a->status <= 299) {
        /* Marked at once: the window in which a crash repeats a delivery is this one round trip. */
        finish_attempt(dl, Q_CB_OUT_DELIVERED, gw_now_ms(), NULL);
        gw_metrics_inc(cb->d.metrics, GW_M_CB_DELIVERED);
        LOGP(LOG_INFO, "callback", dl->rp, "txn %s to %s: delivered, HTTP %ld, attempt %u", dl->id, dl->host, a->status,
             dl->attempt);
        return;
    }
    if (a->err == HC_OK)
        snprintf(why, sizeof why, "HTTP %ld", a->status);
    else
        snprintf(why, sizeof why, "%s: %.100s", hc_strerror(a->err), a->why);
    failed(dl, why);
}

/* One claimed callback: check, build, sign, POST. */
static void claimed_one(void *arg, const struct q_txn *t)
{
    struct gw_callback *cb = arg;
    const struct cfg_apikey *k;
    struct delivery *dl;
    struct evbuffer *body = NULL;
    const char *ctype = NULL, *refused;
    char h_id[64], h_try[48], h_sig[160], sig[128];
    const char *headers[4] = {h_id, h_try, h_sig, NULL};
    const uint8_t *p;
    size_t len;

    if (cb->dead)
        return; /* its lease runs out */
    dl = calloc(1, sizeof *dl);
    if (!dl)
        return;
    dl->cb = cb;
    dl->attempt = t->cb_tries;
    memcpy(dl->id, t->id, sizeof dl->id);
    snprintf(dl->rp, sizeof dl->rp, "%s", t->rp);
    url_host(t->cb_url, dl->host, sizeof dl->host);
    k = cfg_apikey_by_name(cb->d.cfg, t->rp);
    /* The configuration may have changed since the POST: call only what it allows now. */
    refused = k ? cfg_callback_check(k, t->cb_url) : "the relying party is no longer configured";
    if (refused) {
        gw_metrics_inc(cb->d.metrics, GW_M_CB_GAVE_UP);
        LOGP(LOG_WARN, "callback", dl->rp, "txn %s to %s: given up: %s", dl->id, dl->host, refused);
        finish_attempt(dl, Q_CB_OUT_GAVE_UP, gw_now_ms(), refused);
        return;
    }
    if (t->cb_kind >= GW_CB_KINDS || !cb->d.body[t->cb_kind]) {
        failed(dl, "no body builder for this kind here");
        return;
    }
    body = evbuffer_new();
    if (!body || cb->d.body[t->cb_kind](cb->d.body_arg[t->cb_kind], t, body, &ctype) != 0 || !ctype) {
        evbuffer_free(body);
        failed(dl, "cannot build the body");
        return;
    }
    len = evbuffer_get_length(body);
    p = evbuffer_pullup(body, -1);
    if ((len && !p) || sign(cb, k, (long long)time(NULL), p, len, sig, sizeof sig) != 0) {
        evbuffer_free(body);
        failed(dl, "cannot sign the body");
        return;
    }
    snprintf(h_id, sizeof h_id, "X-Simpki-Transaction: %s", t->id);
    snprintf(h_try, sizeof h_try, "X-Simpki-Attempt: %u", t->cb_tries);
    snprintf(h_sig, sizeof h_sig, "X-Simpki-Signature: %s", sig);
    dl->req = hc_fetch(cb->hc, t->cb_url, ctype, headers, p, len, answered, dl);
    evbuffer_free(body);
    if (!dl->req) {
        failed(dl, "the request could not be started");
        return;
    }
    dl->next = cb->live;
    if (cb->live)
        cb->live->prev = dl;
    cb->live = dl;
    cb->in_flight++;
    LOGP(LOG_DEBUG, "callback", dl->rp, "txn %s: POST to %s, attempt %u", dl->id, dl->host, dl->attempt);
}

static void claim_done(void *arg, enum q_err err, unsigned claimed)
{
    struct gw_callback *cb = arg;

    (void)claimed;
    cb->claiming = 0;
    if (err != Q_OK && err != Q_ERR_AGAIN)
        LOGP_RL(LOG_WARN, 10, "callback", NULL, "claiming callbacks: %s", q_strerror(err));
    q_answered(cb);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct gw_callback *cb = arg;
    int64_t now = gw_now_ms();

    (void)fd;
    (void)what;
    if (cb->claiming || cb->in_flight >= MAX_IN_FLIGHT || !q_connected(cb->d.q))
        return;
    cb->claiming = 1;
    cb->q_calls++;
    q_cb_claim(cb->d.q, now, now + cb->d.lease_ms, cb->d.limit, claimed_one, claim_done, cb);
}

struct gw_callback *gw_callback_new(const struct gw_callback_deps *deps)
{
    struct gw_callback *cb = calloc(1, sizeof *cb);
    struct hc_cfg hcfg = {.timeout_ms = 10000, .max_body = 65536};
    struct timeval tv;

    if (!cb)
        return NULL;
    cb->d = *deps;
    if (!cb->d.interval_ms)
        cb->d.interval_ms = 500;
    if (!cb->d.lease_ms)
        cb->d.lease_ms = 60000;
    if (!cb->d.limit)
        cb->d.limit = 50;
    if (!cb->d.max_tries)
        cb->d.max_tries = 12;
    if (!cb->d.backoff_ms)
        cb->d.backoff_ms = 2000;
    /* A POST must end well inside its lease, or a second instance would claim it while it runs. */
    if (hcfg.timeout_ms * 2 > cb->d.lease_ms)
        hcfg.timeout_ms = cb->d.lease_ms / 2;
    cb->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!cb->mac || hc_new(deps->base, &hcfg, &cb->hc) != HC_OK) {
        LOGP(LOG_ERR, "callback", NULL, "cannot start the callback client");
        goto fail;
    }
    cb->timer = event_new(deps->base, -1, EV_PERSIST, tick, cb);
    tv.tv_sec = cb->d.interval_ms / 1000;
    tv.tv_usec = (cb->d.interval_ms % 1000) * 1000;
    if (!cb->timer || event_add(cb->timer, &tv) != 0)
        goto fail;
    return cb;
fail:
    if (cb->timer)
        event_free(cb->timer);
    hc_free(cb->hc);
    EVP_MAC_free(cb->mac);
    free(cb);
    return NULL;
}

void gw_callback_free(struct gw_callback *cb)
{
    if (!cb)
        return;
    cb->dead = 1;
    event_free(cb->timer);
    cb->timer = NULL;
    hc_free(cb->hc); /* each POST under way: answered() with HC_ERR_SHUTDOWN, freed there */
    cb->hc = NULL;
    EVP_MAC_free(cb->mac);
    cb->mac = NULL;
    /* Attempts waiting on q_cb_done are no longer ours to count: they free themselves. */
    if (cb->q_calls == 0)
        free(cb);
}
