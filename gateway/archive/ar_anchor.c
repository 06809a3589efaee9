/* ar_anchor.c - RFC 3161 timestamps over chain heads (ar_anchor.h). */
#include "ar_anchor.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_chain.h"
#include "ar_pg.h"
#include "cfg.h"
#include "gw_metrics.h"
#include "http_client.h"
#include "log.h"
#include "sig_tsa.h"

#define MAX_HEADS 64
#define CHAIN_MAX 64

/* Heads whose seq is past the chain's last anchor. */
static const char q_moved[] = "SELECT h.chain, h.seq, h.head FROM archive_heads h"
                              " WHERE h.seq > coalesce((SELECT max(a.seq) FROM archive_anchors a"
                              " WHERE a.chain = h.chain), 0)"
                              " ORDER BY h.chain LIMIT 64";
static const char q_insert[] =
    "INSERT INTO archive_anchors (chain, seq, head, tst, gen_time)"
    " VALUES ($1, $2::bigint, decode($3, 'hex'), decode($4, 'hex'), to_timestamp($5::bigint))"
    " ON CONFLICT (chain, seq) DO NOTHING";

struct head {
    char chain[CHAIN_MAX];
    int64_t seq;
    uint8_t hash[AR_HASH_LEN];
};

struct ar_anchor {
    struct event_base *base;
    struct ar_pg *pg;
    const struct cfg *cfg;
    struct gw_metrics *m;
    struct event *tick;
    struct hc_client *http;
    struct sig_tsa *tsa;
    struct hc_req *req;  /* the TSA request under way */
    unsigned pg_pending; /* our queries ar_pg has not answered yet */
    int closing;         /* ar_anchor_free ran: free on the last pg answer */
    int busy;            /* a round is under way */
    struct head heads[MAX_HEADS];
    int n_heads, cur;
    uint8_t nonce[SIG_TSA_NONCE_LEN];
};

static void next_head(struct ar_anchor *a);

static void destroy(struct ar_anchor *a)
{
    free(a);
}

/* Every pg callback starts here: 1 when the object is closing (and freed when this was the last). */
static int pg_answered(struct ar_anchor *a)
{
    a->pg_pending--;
    if (!a->closing)
        return 0;
    if (a->pg_pending == 0)
        destroy(a);
    return 1;
}

static int query(struct ar_anchor *a, const char *sql, int n, const char *const *v, int binary, ar_pg_cb *cb)
{
    if (ar_pg_query(a->pg, sql, n, v, binary, cb, a) != 0)
        return -1;
    a->pg_pending++;
    return 0;
}

static void count(struct ar_anchor *a, int ok)
{
    if (!a->m)
        return;
    if (ok)
        a->m->ar_anchors_ok++;
    else
        a->m->ar_anchors_failed++;
}

static void unlocked(void *arg, const PGresult *res, const char *err)
{
    struct ar_anchor *a = arg;

    (void)res;
    if (pg_answered(a))
        return;
    if (err)
        LOGP(LOG_WARN, "archive", "anchor", "releasing the anchoring lock: %s", err);
    a->busy = 0;
}

/* The round is over: release the lock (a lost connection released it already). */
static void round_end(struct ar_anchor *a)
{
    char key[32];
    const char *p[1] = {key};

    snprintf(key, sizeof(key), "%lld", (long long)AR_ANCHOR_LOCK_KEY);
    /* Not queued (1024 waiting): the lock stays until the connection goes; rounds go on here. */
    if (query(a, "SELECT pg_advisory_unlock($1::bigint)", 1, p, 0, unlocked) != 0)
        a->busy = 0;
}

static void inserted(void *arg, const PGresult *res, const char *err)
{
    struct ar_anchor *a = arg;
    struct head *h;

    if (pg_answered(a))
        return;
    h = &a->heads[a->cur];
    if (err) {
        count(a, 0);
        LOGP_RL(LOG_WARN, 10, "archive", h->chain, "storing the anchor of seq %lld: %s", (long long)h->seq, err);
        a->cur = a->n_heads; /* the database is away: no more tokens this round */
        next_head(a);
        return;
    }
    if (strcmp(PQcmdTuples((PGresult *)res), "1") != 0) {
        /* Another instance stored one first (it held the lock after a reconnection here): not ours. */
        LOGP(LOG_DEBUG, "archive", h->chain, "seq %lld was anchored already", (long long)h->seq);
    } else {
        count(a, 1);
        LOGP(LOG_INFO, "archive", h->chain, "anchored seq %lld", (long long)h->seq);
    }
    a->cur++;
    next_head(a);
}

static void hexify(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void head_failed(struct ar_anchor *a, const char *why)
{
    struct head *h = &a->heads[a->cur];

    count(a, 0);
    LOGP_RL(LOG_WARN, 10, "archive", h->chain, "no anchor for seq %lld: %s", (long long)h->seq, why);
    a->cur++;
    next_head(a);
}

static void tsa_replied(void *arg, const struct hc_answer *ans)
{
    struct ar_anchor *a = arg;
    struct head *h = &a->heads[a->cur];
    uint8_t *tok = NULL;
    size_t tok_len = 0;
    time_t gen = 0;
    char why[200] = "", msg[256], seq[24], gent[24], hhex[2 * AR_HASH_LEN + 1], *thex = NULL;
    const char *v[5];
    enum sig_err se;

    a->req = NULL;
    if (a->closing || ans->err == HC_ERR_SHUTDOWN)
        return;
    if (ans->err != HC_OK) {
        snprintf(msg, sizeof(msg), "timestamp authority: %s",
                 ans->why && ans->why[0] ? ans->why : hc_strerror(ans->err));
        head_failed(a, msg);
        return;
    }
    if (ans->status != 200) {
        snprintf(msg, sizeof(msg), "timestamp authority: HTTP status %ld", ans->status);
        head_failed(a, msg);
        return;
    }
    se = sig_tsa_check_reply(a->tsa, h->hash, AR_HASH_LEN, a->nonce, ans->body, ans->len, &tok, &tok_len, &gen, why,
                             sizeof(why));
    if (se != SIG_OK) {
        snprintf(msg, sizeof(msg), "timestamp refused: %s", why[0] ? why : sig_strerror(se));
        head_failed(a, msg);
        return;
    }
    thex = malloc(2 * tok_len + 1);
    if (!thex) {
        free(tok);
        head_failed(a, "out of memory");
        return;
    }
    hexify(tok, tok_len, thex);
    free(tok);
    hexify(h->hash, AR_HASH_LEN, hhex);
    snprintf(seq, sizeof(seq), "%lld", (long long)h->seq);
    snprintf(gent, sizeof(gent), "%lld", (long long)gen);
    v[0] = h->chain;
    v[1] = seq;
    v[2] = hhex;
    v[3] = thex;
    v[4] = gent;
    if (query(a, q_insert, 5, v, 0, inserted) != 0) {
        free(thex);
        head_failed(a, "the database queue is full");
        return;
    }
    free(thex);
}

/* Ask the TSA for heads[cur], or end the round. */
static void next_head(struct ar_anchor *a)
{
    uint8_t *req = NULL;
    size_t req_len = 0;

    while (a->cur < a->n_heads) {
        struct head *h = &a->heads[a->cur];
        if (sig_tsa_request(h->hash, AR_HASH_LEN, a->nonce, &req, &req_len) == SIG_OK) {
            a->req =
                hc_fetch(a->http, a->cfg->tsa_url, "application/timestamp-query", NULL, req, req_len, tsa_replied, a);
            free(req);
            if (a->req)
                return;
        }
        count(a, 0);
        LOGP_RL(LOG_WARN, 10, "archive", h->chain, "no anchor for seq %lld: the timestamp request could not be sent",
                (long long)h->seq);
        a->cur++;
    }
    round_end(a);
}

static int64_t be64(const char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | (uint8_t)p[i];
    return (int64_t)v;
}

static void got_heads(void *arg, const PGresult *res, const char *err)
{
    struct ar_anchor *a = arg;
    int n;

    if (pg_answered(a))
        return;
    if (err) {
        LOGP_RL(LOG_WARN, 60, "archive", "anchor", "reading the chain heads: %s", err);
        round_end(a);
        return;
    }
    n = PQntuples(res);
    a->n_heads = 0;
    a->cur = 0;
    for (int i = 0; i < n && a->n_heads < MAX_HEADS; i++) {
        struct head *h = &a->heads[a->n_heads];
        int clen = PQgetlength(res, i, 0);
        if (clen <= 0 || clen >= CHAIN_MAX || PQgetlength(res, i, 1) != 8 || PQgetlength(res, i, 2) != AR_HASH_LEN)
            continue; /* not a head this schema writes */
        memcpy(h->chain, PQgetvalue(res, i, 0), (size_t)clen);
        h->chain[clen] = '\0';
        h->seq = be64(PQgetvalue(res, i, 1));
        memcpy(h->hash, PQgetvalue(res, i, 2), AR_HASH_LEN);
        a->n_heads++;
    }
    next_head(a);
}

static void got_lock(void *arg, const PGresult *res, const char *err)
{
    struct ar_anchor *a = arg;

    if (pg_answered(a))
        return;
    if (err || PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        /* Another instance is anchoring (or the database is away): next round. */
        a->busy = 0;
        return;
    }
    if (query(a, q_moved, 0, NULL, 1, got_heads) != 0)
        round_end(a);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ar_anchor *a = arg;
    char key[32];
    const char *v[1] = {key};

    (void)fd;
    (void)what;
    if (a->busy || !ar_pg_up(a->pg))
        return;
    snprintf(key, sizeof(key), "%lld", (long long)AR_ANCHOR_LOCK_KEY);
    if (query(a, "SELECT pg_try_advisory_lock($1::bigint)", 1, v, 0, got_lock) == 0)
        a->busy = 1;
}

int ar_anchor_new(struct event_base *base, struct ar_pg *pg, const struct cfg *cfg, struct gw_metrics *m,
                  struct ar_anchor **out, char *why, size_t whylen)
{
    struct hc_cfg hc = {.timeout_ms = cfg->tsa_timeout_ms, .max_body = 256 * 1024};
    struct timeval tv = {.tv_sec = cfg->archive.anchor_interval_s};
    struct ar_anchor *a;
    char tsa_why[200] = "";
    enum sig_err se;

    *out = NULL;
    if (cfg->archive.anchor_interval_s == 0)
        return 0;
    if (!cfg->tsa_url[0]) {
        LOGP(LOG_WARN, "archive", "anchor",
             "anchor_interval_s is set but there is no tsa_url: chain heads are not "
             "timestamped");
        return 0;
    }
    a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(why, whylen, "anchoring: out of memory");
        return -1;
    }
    a->base = base;
    a->pg = pg;
    a->cfg = cfg;
    a->m = m;
    se = sig_tsa_new(cfg->tsa_trust, NULL, &a->tsa, tsa_why, sizeof(tsa_why));
    if (se != SIG_OK) {
        snprintf(why, whylen, "anchoring: tsa_trust %s: %s: %s", cfg->tsa_trust, sig_strerror(se), tsa_why);
        goto fail;
    }
    if (hc_new(base, &hc, &a->http) != HC_OK) {
        snprintf(why, whylen, "anchoring: cannot start the HTTP client for the timestamp authority");
        goto fail;
    }
    a->tick = event_new(base, -1, EV_PERSIST, on_tick, a);
    if (!a->tick || event_add(a->tick, &tv) != 0) {
        snprintf(why, whylen, "anchoring: cannot arm its timer");
        goto fail;
    }
    if (m)
        m->ar_anchoring = 1;
    LOGP(LOG_INFO, "archive", "anchor", "chain heads are timestamped by %s every %u s", cfg->tsa_url,
         cfg->archive.anchor_interval_s);
    *out = a;
    return 0;
fail:
    if (a->tick)
        event_free(a->tick);
    hc_free(a->http);
    sig_tsa_free(a->tsa);
    free(a);
    return -1;
}

void ar_anchor_free(struct ar_anchor *a)
{
    if (!a)
        return;
    a->closing = 1;
    if (a->tick)
        event_free(a->tick);
    a->tick = NULL;
    hc_cancel(a->req);
    a->req = NULL;
    hc_free(a->http);
    a->http = NULL;
    sig_tsa_free(a->tsa);
    a->tsa = NULL;
    if (a->pg_pending == 0)
        destroy(a);
}
