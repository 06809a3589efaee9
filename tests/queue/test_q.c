/*
 * test_q.c - queue against a real, throwaway redis-server on a free loopback
 * port (killed at exit, and by PR_SET_PDEATHSIG if this process dies).
 *
 * Past 1,000 lines on purpose: one program per library, whose checks share
 * one server and run in order (later blocks read what earlier ones stored).
 * The server is tests/redis_test.h's, as test_engine's.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cfg.h"
#include "check.h"
#include "loop_test.h"
#include "q.h"
#include "q_cache.h"
#include "q_docs.h"
#include "q_life.h"
#include "q_priv.h" /* q_eval: queue-private */
#include "redis_test.h"

#define SHARDS 4

static struct event_base *base;

static long long raw_int(const char *cmd, const char *arg)
{
    redisContext *c = redis_test_connect();
    redisReply *r;
    long long v = -1;

    if (!c)
        return -2;
    r = arg ? redisCommand(c, cmd, arg) : redisCommand(c, cmd);
    if (r && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r && r->type == REDIS_REPLY_NIL)
        v = -3;
    freeReplyObject(r);
    redisFree(c);
    return v;
}

/* calls=N from INFO commandstats for one command ("evalsha"). */
static long long cmd_calls(const char *name)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, "INFO commandstats") : NULL;
    long long v = 0;
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "cmdstat_%s:calls=", name);
    p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, pat) : NULL;
    if (p)
        v = strtoll(p + strlen(pat), NULL, 10);
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

/* ---- the loop ---- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pump_connected(struct q *q, int ms)
{
    int64_t end = now_ms() + ms;

    while (!q_connected(q) && now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    return q_connected(q);
}

/* ---- results ---- */

struct res {
    int n;
    enum q_err err;
    char id[Q_ID_LEN];
    int existed;
    uint64_t cntr;
    enum q_state state;
    char result[32];
    int etsi;
    int have_txn, have_sub;
    char sub_msisdn[16], sub_status[16];
    uint8_t kv;
    uint8_t sig[64];
    size_t sig_len;
    uint8_t digest[64];
    size_t digest_len;
    char display[64];
    size_t cert_len;
    uint8_t op, key_alg;
    uint8_t payload[64];
    size_t payload_len;
    int64_t receipt_ms;
    char receipt[Q_RECEIPT_MAX + 1];
};

static void copy_txn(struct res *r, const struct q_txn *t)
{
    if (!t)
        return;
    r->have_txn = 1;
    memcpy(r->id, t->id, sizeof r->id);
    r->cntr = t->cntr;
    r->state = t->state;
    memcpy(r->result, t->result, sizeof r->result);
    r->etsi = t->etsi_status;
    r->sig_len = t->sig_len < sizeof r->sig ? t->sig_len : sizeof r->sig;
    if (t->signature)
        memcpy(r->sig, t->signature, r->sig_len);
    r->digest_len = t->digest_len;
    memcpy(r->digest, t->digest, t->digest_len);
    snprintf(r->display, sizeof r->display, "%s", t->display_text ? t->display_text : "(null)");
    r->op = t->op;
    r->key_alg = t->key_alg;
    r->payload_len = t->payload_len;
    if (t->payload && t->payload_len <= sizeof r->payload)
        memcpy(r->payload, t->payload, t->payload_len);
    r->receipt_ms = t->receipt_ms;
    memcpy(r->receipt, t->receipt, sizeof r->receipt);
}

static void copy_sub(struct res *r, const struct q_sub *s)
{
    if (!s)
        return;
    r->have_sub = 1;
    memcpy(r->sub_msisdn, s->msisdn, sizeof r->sub_msisdn);
    memcpy(r->sub_status, s->status, sizeof r->sub_status);
    r->kv = s->kv;
    r->cert_len = s->cert_len;
}

static void on_create(void *arg, enum q_err err, const struct q_txn *t, const struct q_sub *s, int existed)
{
    struct res *r = arg;
    r->err = err;
    r->existed = existed;
    if (t)
        memcpy(r->id, t->id, sizeof r->id);
    if (err == Q_OK)
        copy_txn(r, t);
    copy_sub(r, s);
    r->n++;
}

static void on_done(void *arg, enum q_err err)
{
    struct res *r = arg;
    r->err = err;
    r->n++;
}

static void on_finish(void *arg, enum q_err err, const struct q_txn *t)
{
    struct res *r = arg;
    r->err = err;
    copy_txn(r, t);
    r->n++;
}

static void on_lookup(void *arg, enum q_err err, const struct q_sub *s, const struct q_txn *t)
{
    struct res *r = arg;
    r->err = err;
    copy_sub(r, s);
    copy_txn(r, t);
    r->n++;
}

static void on_get(void *arg, enum q_err err, const struct q_txn *t)
{
    struct res *r = arg;
    r->err = err;
    copy_txn(r, t);
    r->n++;
}

struct sweep_res {
    int n;
    enum q_err err;
    unsigned expired, resubmitted, resub_calls;
    char last_id[Q_ID_LEN];
    char last_sub[16];
};

static void on_resubmit(void *arg, const struct q_txn *t, const struct q_sub *s)
{
    struct sweep_res *r = arg;
    r->resub_calls++;
    memcpy(r->last_id, t->id, sizeof r->last_id);
    memcpy(r->last_sub, s->msisdn, sizeof r->last_sub);
}

static void on_sweep(void *arg, enum q_err err, unsigned expired, unsigned resubmitted)
{
    struct sweep_res *r = arg;
    r->err = err;
    r->expired += expired;
    r->resubmitted += resubmitted;
    r->n++;
}

struct watch_res {
    int n;
    char ids[64][Q_ID_LEN];
};

static void on_watch(void *arg, const char *id)
{
    struct watch_res *w = arg;
    if (w->n < 64)
        memcpy(w->ids[w->n], id, Q_ID_LEN);
    w->n++;
}

static int watch_count(const struct watch_res *w, const char *id)
{
    int k = 0;
    for (int i = 0; i < w->n && i < 64; i++)
        k += strcmp(w->ids[i], id) == 0;
    return k;
}

/* q_free from inside its own callback: must be deferred, not a use-after-free. */
struct self_free {
    struct q *q;
    int n;
    enum q_err err;
};

static void on_get_free(void *arg, enum q_err err, const struct q_txn *t)
{
    struct self_free *sf = arg;
    (void)t;
    sf->err = err;
    sf->n++;
    q_free(sf->q);
}

/* ---- fixtures ---- */

static const uint8_t DIGEST[32] = {0x00, 0x01, 0x0d, 0x0a, 0x00, 0xff, 0x7f, 0x80, 0,  0,  1,  2,  3,  4,  5,  6,
                                   7,    8,    9,    10,   11,   12,   13,   14,   15, 16, 17, 18, 19, 20, 21, 0};
static const uint8_t SIG[40] = {0x30, 0x00, 0x02, 0x21, 0x00, 0xff, 0x0d, 0x0a, 0x00, 0x00, 0x1a, 0x7e};
static const uint8_t CERT[6] = {0x30, 0x82, 0x00, 0x00, 0x0d, 0x00};

static struct q_txn_new new_req(const char *msisdn, const char *idem, const char *hash, int64_t now, int64_t ttl,
                                int64_t lease)
{
    struct q_txn_new n = {
        .rp = "bank-a",
        .msisdn = msisdn,
        .client_ref = "ref-1",
        .idem_key = idem,
        .req_hash = hash,
        .digest_alg = 1,
        .digest = DIGEST,
        .digest_len = sizeof DIGEST,
        .vc = "4821",
        .display_text = "Chuy\xe1\xbb\x83n 5.000.000 VND",
        .net = 1,
        .now_ms = now,
        .deadline_ms = now + ttl,
        .lease_ms = lease,
    };
    return n;
}

static struct q_finish fin_ok(int64_t now)
{
    struct q_finish f = {.state = Q_COMPLETED,
                         .result = "OK",
                         .etsi_status = 500,
                         .detail = NULL,
                         .signature = SIG,
                         .sig_len = sizeof SIG,
                         .cert = CERT,
                         .cert_len = sizeof CERT,
                         .now_ms = now,
                         .retention_ms = 60000};
    return f;
}

static void put_sub(struct q_sync *qs, const char *msisdn, const char *status)
{
    struct q_sub s = {.net = 1, .kv = 3, .cert = CERT, .cert_len = sizeof CERT};
    snprintf(s.msisdn, sizeof s.msisdn, "%s", msisdn);
    snprintf(s.iccid, sizeof s.iccid, "8984%s", msisdn);
    snprintf(s.status, sizeof s.status, "%s", status);
    CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
}

static struct res do_create(struct q *q, const struct q_txn_new *n)
{
    struct res r = {0};
    q_txn_create(q, n, on_create, &r);
    CHECK_EQ_INT(r.n, 0); /* never called back from inside the call */
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r;
}

static struct res do_get(struct q *q, const char *id)
{
    struct res r = {0};
    q_txn_get(q, id, on_get, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r;
}

static enum q_err do_finish(struct q *q, const char *id, uint64_t cntr, const struct q_finish *f)
{
    struct res r = {0};
    q_txn_finish(q, id, cntr, f, on_finish, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    CHECK(!r.have_txn); /* not asked for */
    return r.err;
}

static enum q_err do_sent(struct q *q, const char *id)
{
    struct res r = {0};
    q_txn_sent(q, id, on_done, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r.err;
}

static enum q_err do_receipt(struct q *q, const char *id, const char *rp, const char *msg, int64_t now)
{
    struct res r = {0};
    q_txn_receipt(q, id, rp, msg, now, on_done, &r);
    CHECK_EQ_INT(r.n, 0); /* never called back from inside the call */
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r.err;
}

static struct sweep_res do_sweep2(struct q *a, struct q *b, int64_t now, int64_t lease)
{
    struct sweep_res r = {0};
    q_sweep(a, now, lease, 0, on_resubmit, on_sweep, &r);
    if (b)
        q_sweep(b, now, lease, 0, on_resubmit, on_sweep, &r);
    CHECK(loop_test_pump(base, &r.n, b ? 2 : 1, 3000));
    CHECK_EQ_INT(r.err, Q_OK);
    CHECK_EQ_INT(r.resub_calls, r.resubmitted);
    return r;
}

/* Every key carries its shard's hash tag, and sub/txn keys the right shard. */
static void check_keys(void)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, "KEYS *") : NULL;
    size_t checked = 0;

    CHECK(r && r->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *k = r->element[i]->str;
        unsigned n = 0;
        int off = 0;
        if (sscanf(k, "spk:{%u}:%n", &n, &off) != 1 || off == 0) {
            fprintf(stderr, "key without hash tag: %s\n", k);
            CHECK(0);
            continue;
        }
        CHECK(n < SHARDS);
        if (strncmp(k + off, "sub:", 4) == 0)
            CHECK_EQ_INT(q_shard_of(k + off + 4, SHARDS), n);
        else if (strncmp(k + off, "txn:", 4) == 0)
            CHECK_EQ_INT(strtoul((char[3]){k[off + 4], k[off + 5], 0}, NULL, 16), n);
        else if (strncmp(k + off, "ctr:8984", 8) == 0) /* put_sub: iccid "8984" + msisdn, in the number's shard */
            CHECK_EQ_INT(q_shard_of(k + off + 8, SHARDS), n);
        else
            CHECK(strcmp(k + off, "due") == 0 || strcmp(k + off, "outbox") == 0 || strncmp(k + off, "idem:", 5) == 0);
        checked++;
    }
    CHECK(checked >= 5);
    freeReplyObject(r);
    if (c)
        redisFree(c);
}

struct cache_got {
    int n;
    int hit;
    size_t len;
    uint8_t v[16];
};

static void on_cache_got(void *req, const uint8_t *value, size_t len)
{
    struct cache_got *g = req;
    g->n++;
    g->hit = value != NULL;
    g->len = len;
    if (value && len <= sizeof g->v)
        memcpy(g->v, value, len);
}

struct eval_res {
    int n;
    enum q_err err;
    int type;
    long long integer;
    size_t elements;
    char str[64];
    size_t len;
};

static void on_eval(void *arg, enum q_err err, const struct redisReply *rep)
{
    struct eval_res *r = arg;
    r->n++;
    r->err = err;
    r->type = rep ? rep->type : -1;
    r->integer = rep ? rep->integer : 0;
    r->elements = rep ? rep->elements : 0;
    /* An array answer: keep its first element's string. */
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0)
        rep = rep->element[0];
    if (rep && rep->type == REDIS_REPLY_STRING && rep->len < sizeof r->str) {
        memcpy(r->str, rep->str, rep->len);
        r->len = rep->len;
    }
}

static struct eval_res do_eval(struct q *q, const char *script, int numkeys, int argc, const char *const *argv,
                               const size_t *argvlen)
{
    struct eval_res r = {0};
    q_eval(q, script, numkeys, argc, argv, argvlen, on_eval, &r);
    CHECK_EQ_INT(r.n, 0); /* never called back from inside the call */
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r;
}

/* ---- q_docs / q_life ---- */

struct docs_res {
    int n;
    enum q_err err;
    uint64_t matched;
    size_t count;
    char first[128]; /* the first document's text */
    struct res sub;
    int missed;
};

/* A ZSCORE (a bulk string) as a number; -1 when absent. */
static long long raw_score(const char *cmd, const char *arg)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, cmd, arg) : NULL;
    long long v = -1;

    if (r && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return v;
}

static void on_doc_get(void *arg, enum q_err err, const struct q_doc *d)
{
    struct docs_res *r = arg;
    r->n++;
    r->err = err;
    r->count = d ? 1 : 0;
    if (d)
        snprintf(r->first, sizeof r->first, "%.*s", (int)d->len, d->text);
}

static void on_doc_list(void *arg, enum q_err err, uint64_t matched, const struct q_doc *docs, size_t n)
{
    struct docs_res *r = arg;
    r->n++;
    r->err = err;
    r->matched = matched;
    r->count = n;
    r->first[0] = '\0';
    if (n)
        snprintf(r->first, sizeof r->first, "%.*s", (int)docs[0].len, docs[0].text);
}

static void on_claim(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    on_doc_list(arg, err, 0, docs, n);
}

static void on_life_sub(void *arg, enum q_err err, const struct q_sub *s)
{
    struct docs_res *r = arg;
    r->n++;
    r->err = err;
    memset(&r->sub, 0, sizeof r->sub);
    copy_sub(&r->sub, s);
}

/* Wait for the one callback of a q_doc_* / q_life_* call; its error. */
static enum q_err docs_wait(struct docs_res *r)
{
    CHECK_EQ_INT(r->n, 0); /* never called back from inside the call */
    CHECK(loop_test_pump(base, &r->n, 1, 3000));
    r->n = 0;
    return r->err;
}

static void on_doc_done(void *arg, enum q_err err)
{
    struct docs_res *r = arg;
    r->n++;
    r->err = err;
}

static void on_missed(void *arg, enum q_err err, int missed)
{
    struct docs_res *r = arg;
    r->n++;
    r->err = err;
    r->missed = missed;
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = SHARDS, .connect_timeout_ms = 500};
    struct q_sync *qs = NULL;
    struct q *q = NULL, *q2 = NULL;
    struct event *tk;
    struct watch_res w = {0};
    char why[128] = "";
    char id1[Q_ID_LEN];
    int64_t t0;

    alarm(120); /* a hung test dies, and PDEATHSIG takes the server with it */
    if (redis_test_start("test_q") != 0)
        return 1;
    cfg.port = (uint16_t)redis_test_port();
    base = event_base_new();
    tk = loop_test_ticker(base);

    /* Pure helpers. */
    CHECK_EQ_INT(q_shard_of("", 0x7fffffff), 0x811c9dc5u % 0x7fffffffu);
    CHECK_EQ_INT(q_shard_of("a", 0xffffffffu), 0xe40c292cu % 0xffffffffu);
    CHECK_EQ_STR(q_state_name(Q_FAILED), "failed");
    CHECK(strlen(q_strerror(Q_ERR_IDEM_MISMATCH)) > 0);

    /* Registry, synchronous. */
    CHECK_EQ_INT(q_sync_connect(&cfg, &qs, why, sizeof why), Q_OK);
    put_sub(qs, "84912345678", "active");
    put_sub(qs, "84900000002", "suspended");
    put_sub(qs, "84900000003", "active");
    put_sub(qs, "84900000004", "active");
    {
        struct q_sub s;
        uint8_t *cert = NULL;
        CHECK_EQ_INT(q_sync_sub_get(qs, "84912345678", &s, &cert), Q_OK);
        CHECK_EQ_STR(s.status, "active");
        CHECK_EQ_INT(s.kv, 3);
        CHECK_EQ_INT(s.cert_len, sizeof CERT);
        CHECK(cert && memcmp(cert, CERT, sizeof CERT) == 0);
        free(cert);
        CHECK_EQ_INT(q_sync_sub_get(qs, "84999999999", &s, NULL), Q_ERR_NOT_FOUND);
        CHECK_EQ_INT(q_sync_sub_get(qs, "84x", &s, NULL), Q_ERR_INVALID);
    }

    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    CHECK_EQ_INT(q_new(base, &cfg, &q2), Q_OK);
    CHECK(pump_connected(q, 3000));
    CHECK(pump_connected(q2, 3000));
    CHECK_EQ_INT(q_watch_epoch(q), 0); /* not subscribed yet */
    CHECK_EQ_INT(q_watch(q, on_watch, &w), Q_OK);
    CHECK_EQ_INT(q_watch(q, on_watch, &w), Q_ERR_INVALID);
    loop_test_pump(base, NULL, 0, 200); /* let SUBSCRIBE land */
    uint64_t epoch0 = q_watch_epoch(q);
    CHECK(epoch0 != 0);
    CHECK_EQ_INT(q_watch_epoch(q2), 0); /* q2 watches nothing */

    /*
     * The OTA counter: a per-ICCID floor that outlives the record, copies
     * counted (resent), and the resync when the SIM is ahead.
     */
    {
        const char *m = "84900000005";
        int64_t t = now_ms();
        struct q_txn_new n = new_req(m, NULL, NULL, t, 60000, 5000);
        struct q_sub s;
        struct res r, c;
        char zscore[64];

        put_sub(qs, m, "active");
        r = do_create(q, &n);
        CHECK_EQ_INT(r.cntr, 1);
        CHECK_EQ_INT(
            do_finish(q, r.id, 1,
                      &(struct q_finish){.state = Q_FAILED, .result = "EXPIRED", .now_ms = t, .retention_ms = 60000}),
            Q_OK);
        CHECK_EQ_INT(q_sync_sub_del(qs, m), Q_OK);
        put_sub(qs, m, "active"); /* re-imported: the record's cntr is gone, the floor is not */
        CHECK_EQ_INT(q_sync_sub_get(qs, m, &s, NULL), Q_OK);
        CHECK_EQ_INT(s.cntr, 1);
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.cntr, 2);

        /* A copy was sent: the CNTR low is the copy's, the resync refuses. */
        c = (struct res){0};
        q_txn_resent(q, r.id, 1, on_done, &c); /* another counter */
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_ERR_CONFLICT);
        c = (struct res){0};
        q_txn_resent(q, r.id, 2, on_done, &c);
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_OK);
        CHECK_EQ_INT(do_get(q, r.id).cntr, 2);
        c = (struct res){0};
        q_txn_resync(q, r.id, 2, Q_CNTR_RESYNC_STEP, t + 5000, on_lookup, &c);
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_ERR_CONFLICT);
        CHECK_EQ_INT(
            do_finish(q, r.id, 2,
                      &(struct q_finish){.state = Q_FAILED, .result = "EXPIRED", .now_ms = t, .retention_ms = 60000}),
            Q_OK);

        /* Sent once: the counter moves past the highest known, everywhere, once. */
        r = do_create(q, &n);
        CHECK_EQ_INT(r.cntr, 3);
        CHECK_EQ_INT(do_sent(q, r.id), Q_OK);
        snprintf(zscore, sizeof zscore, "ZSCORE spk:{%u}:outbox %%s", q_shard_of(m, SHARDS));
        CHECK_EQ_INT(raw_int(zscore, r.id), -3); /* sent: out of the outbox */
        c = (struct res){0};
        q_txn_resync(q, r.id, 2, Q_CNTR_RESYNC_STEP, t + 5000, on_lookup, &c); /* not its counter */
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_ERR_CONFLICT);
        c = (struct res){0};
        q_txn_resync(q, r.id, 3, Q_CNTR_RESYNC_STEP, t + 5000, on_lookup, &c);
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_OK);
        CHECK(c.have_txn && c.have_sub);
        CHECK_EQ_INT(c.cntr, 3 + Q_CNTR_RESYNC_STEP);
        CHECK_EQ_STR(c.sub_msisdn, m);
        CHECK_EQ_INT(c.digest_len, sizeof DIGEST); /* the whole txn, to send again */
        CHECK_EQ_INT(q_sync_sub_get(qs, m, &s, NULL), Q_OK);
        CHECK_EQ_INT(s.cntr, 3 + Q_CNTR_RESYNC_STEP);
        CHECK_EQ_INT(raw_int(zscore, r.id), -1); /* back in the outbox: a score (not nil, -3) */
        c = (struct res){0};
        q_txn_resync(q, r.id, 3 + Q_CNTR_RESYNC_STEP, Q_CNTR_RESYNC_STEP, t + 5000, on_lookup, &c);
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_ERR_CONFLICT); /* once per transaction */
        c = (struct res){0};
        q_txn_resync(q, r.id, Q_CNTR_MAX, 1, t + 5000, on_lookup, &c);
        CHECK(loop_test_pump(base, &c.n, 1, 3000));
        CHECK_EQ_INT(c.err, Q_ERR_INVALID); /* past 5 octets */
        CHECK_EQ_INT(
            do_finish(q, r.id, 3,
                      &(struct q_finish){.state = Q_FAILED, .result = "X", .now_ms = t, .retention_ms = 60000}),
            Q_ERR_CONFLICT); /* the old counter's answer no longer finishes it */
        CHECK_EQ_INT(
            do_finish(q, r.id, 3 + Q_CNTR_RESYNC_STEP,
                      &(struct q_finish){.state = Q_FAILED, .result = "X", .now_ms = t, .retention_ms = 60000}),
            Q_OK);
        r = do_create(q, &n);
        CHECK_EQ_INT(r.cntr, 4 + Q_CNTR_RESYNC_STEP);
        CHECK_EQ_INT(
            do_finish(q, r.id, 0,
                      &(struct q_finish){.state = Q_FAILED, .result = "X", .now_ms = t, .retention_ms = 60000}),
            Q_OK);
    }

    /* create -> get -> sent -> por_lookup -> finish -> get, one round trip each. */
    t0 = now_ms();
    {
        struct q_txn_new n = new_req("84912345678", "key-1", "h1", t0, 60000, 5000);
        struct q_stats st0, st1;
        long long ev0 = cmd_calls("evalsha"), hg0;
        struct res r;
        q_get_stats(q, &st0);
        r = do_create(q, &n);
        q_get_stats(q, &st1);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.existed, 0);
        CHECK_EQ_INT(strlen(r.id), 26);
        CHECK_EQ_INT(strtoul((char[3]){r.id[0], r.id[1], 0}, NULL, 16), q_shard_of("84912345678", SHARDS));
        CHECK_EQ_INT(r.cntr, 1);
        CHECK_EQ_INT(r.state, Q_PENDING);
        CHECK(r.have_sub);
        CHECK_EQ_STR(r.sub_msisdn, "84912345678");
        CHECK_EQ_INT(r.cert_len, 0); /* a new txn gets the submit's fields of the subscriber, not its certificate */
        CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1);
        CHECK_EQ_INT(st1.calls - st0.calls, 1);
        CHECK_EQ_INT(st1.replies - st0.replies, 1);
        memcpy(id1, r.id, sizeof id1);

        hg0 = cmd_calls("hgetall");
        r = do_get(q, id1);
        CHECK_EQ_INT(cmd_calls("hgetall") - hg0, 1);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.state, Q_PENDING);
        CHECK_EQ_INT(r.digest_len, sizeof DIGEST);
        CHECK_MEM(r.digest, DIGEST, sizeof DIGEST);
        CHECK_EQ_STR(r.display, "Chuy\xe1\xbb\x83n 5.000.000 VND");
        CHECK_EQ_STR(r.result, "");

        /* Busy, idempotent retry, key reuse, unknown and suspended subscribers. */
        n.idem_key = NULL;
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_ERR_BUSY);
        CHECK_EQ_STR(r.id, id1);
        n.idem_key = "key-1";
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.existed, 1);
        CHECK_EQ_STR(r.id, id1);
        n.req_hash = "h2";
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_ERR_IDEM_MISMATCH);
        n = new_req("84999999999", NULL, "h", t0, 60000, 5000);
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_NOT_FOUND);
        n = new_req("84900000002", NULL, "h", t0, 60000, 5000);
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_INACTIVE);
        n = new_req("not-a-number", NULL, "h", t0, 60000, 5000);
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_INVALID);

        ev0 = cmd_calls("evalsha");
        CHECK_EQ_INT(do_sent(q, id1), Q_OK);
        CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1);
        {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "ZSCORE spk:{%u}:outbox %%s", q_shard_of("84912345678", SHARDS));
            CHECK_EQ_INT(raw_int(cmd, id1), -3); /* nil: gone from the outbox */
        }
        CHECK_EQ_INT(do_sent(q, "ffffffffffffffffffffffffff"), Q_ERR_NOT_FOUND); /* shard 255 of 4 */
        CHECK_EQ_INT(do_sent(q, "00ffffffffffffffffffffffff"), Q_ERR_NOT_FOUND);
        CHECK_EQ_INT(do_sent(q, "zz"), Q_ERR_INVALID);

        ev0 = cmd_calls("evalsha");
        memset(&r, 0, sizeof r);
        q_por_lookup(q, "84912345678", on_lookup, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK(r.have_sub && r.have_txn);
        CHECK_EQ_STR(r.id, id1);
        CHECK_EQ_INT(r.cntr, 1);
        CHECK_EQ_STR(r.sub_status, "active");

        /* Wrong counter, then two finishes racing: exactly one wins. */
        struct q_finish f = fin_ok(now_ms());
        CHECK_EQ_INT(do_finish(q, id1, 7, &f), Q_ERR_CONFLICT);
        {
            struct res a = {0}, b = {0};
            int both = 0;
            struct q_finish fw = f;
            long long ev1 = cmd_calls("evalsha"), hg1 = cmd_calls("hgetall");
            /* Both ask for the finished txn: only the winner gets it, inside its one EVALSHA. */
            fw.want_txn = 1;
            q_txn_finish(q, id1, 1, &fw, on_finish, &a);
            q_txn_finish(q2, id1, 0, &fw, on_finish, &b);
            while ((a.n + b.n) < 2 && loop_test_pump(base, NULL, 0, 5) && both++ < 600)
                ;
            CHECK_EQ_INT(a.n + b.n, 2);
            CHECK_EQ_INT((a.err == Q_OK) + (b.err == Q_OK), 1);
            CHECK_EQ_INT((a.err == Q_ERR_CONFLICT) + (b.err == Q_ERR_CONFLICT), 1);
            CHECK_EQ_INT(cmd_calls("evalsha") - ev1, 2);
            CHECK_EQ_INT(cmd_calls("hgetall") - hg1,
                         1); /* inside the winner's script (commandstats counts those too) */
            struct res *win = a.err == Q_OK ? &a : &b, *lose = a.err == Q_OK ? &b : &a;
            CHECK(win->have_txn && !lose->have_txn);
            CHECK_EQ_STR(win->id, id1);
            CHECK_EQ_INT(win->state, Q_COMPLETED);
            CHECK_EQ_STR(win->result, "OK");
            CHECK_EQ_INT(win->etsi, 500);
            CHECK_EQ_INT(win->cntr, 1);
            CHECK_EQ_INT(win->sig_len, sizeof SIG);
            CHECK_MEM(win->sig, SIG, sizeof SIG);
            CHECK_EQ_INT(win->digest_len, sizeof DIGEST); /* the fields create wrote come back too */
        }
        r = do_get(q, id1);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.state, Q_COMPLETED);
        CHECK_EQ_STR(r.result, "OK");
        CHECK_EQ_INT(r.etsi, 500);
        CHECK_EQ_INT(r.sig_len, sizeof SIG);
        CHECK_MEM(r.sig, SIG, sizeof SIG);
        {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "PTTL spk:{%u}:txn:%%s", q_shard_of("84912345678", SHARDS));
            long long ttl = raw_int(cmd, id1);
            CHECK(ttl > 0 && ttl <= 60000);
        }
        loop_test_pump(base, NULL, 0, 100);
        CHECK_EQ_INT(watch_count(&w, id1), 1);

        memset(&r, 0, sizeof r);
        q_por_lookup(q, "84912345678", on_lookup, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK(r.have_sub && !r.have_txn);
    }

    /* Counters rise strictly; a stale busy marker does not block. */
    {
        uint64_t prev = 1;
        for (int i = 0; i < 3; i++) {
            struct q_txn_new n = new_req("84912345678", NULL, "h", now_ms(), 60000, 5000);
            struct res r = do_create(q, &n);
            struct q_finish f = fin_ok(now_ms());
            CHECK_EQ_INT(r.err, Q_OK);
            CHECK(r.cntr == prev + 1);
            prev = r.cntr;
            CHECK_EQ_INT(do_finish(q, r.id, r.cntr, &f), Q_OK);
        }
        redisContext *c = redis_test_connect();
        char key[64];
        snprintf(key, sizeof key, "spk:{%u}:sub:84912345678", q_shard_of("84912345678", SHARDS));
        freeReplyObject(redisCommand(c, "HSET %s busy %s", key, "01aaaaaaaaaaaaaaaaaaaaaaaa"));
        redisFree(c);
        struct q_txn_new n = new_req("84912345678", NULL, "h", now_ms(), 60000, 5000);
        struct res r = do_create(q, &n);
        struct q_finish f = fin_ok(now_ms());
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK(r.cntr == prev + 1);
        CHECK_EQ_INT(do_finish(q, r.id, 0, &f), Q_OK);
        /* Re-provisioning keeps the counter. */
        put_sub(qs, "84912345678", "active");
        n = new_req("84912345678", NULL, "h", now_ms(), 60000, 5000);
        r = do_create(q, &n);
        CHECK(r.cntr == prev + 2);
        CHECK_EQ_INT(do_finish(q, r.id, 0, &f), Q_OK);
    }

    /* Sweep: expiry exactly once across two instances, then a late finish conflicts. */
    {
        int64_t t = now_ms();
        struct q_txn_new n = new_req("84900000003", NULL, "h", t, 100, 60000);
        struct res r = do_create(q, &n);
        struct sweep_res s;
        struct q_finish f = fin_ok(t + 300);
        CHECK_EQ_INT(r.err, Q_OK);
        s = do_sweep2(q, q2, t + 50, 1000);
        CHECK_EQ_INT(s.expired, 0);
        s = do_sweep2(q, q2, t + 200, 1000);
        CHECK_EQ_INT(s.expired, 1);
        CHECK_EQ_INT(s.resubmitted, 0);
        s = do_sweep2(q, q2, t + 300, 1000);
        CHECK_EQ_INT(s.expired, 0);
        struct res g = do_get(q, r.id);
        CHECK_EQ_INT(g.state, Q_FAILED);
        CHECK_EQ_STR(g.result, "EXPIRED");
        CHECK_EQ_INT(g.etsi, 208);
        CHECK_EQ_INT(do_finish(q, r.id, 0, &f), Q_ERR_CONFLICT);
        loop_test_pump(base, NULL, 0, 100);
        CHECK_EQ_INT(watch_count(&w, r.id), 1);
        /* The subscriber is free again. */
        n = new_req("84900000003", NULL, "h", now_ms(), 60000, 60000);
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(do_finish(q, r.id, 0, &f), Q_OK);
    }

    /* Outbox: an unsent txn is handed out once per lease, and never after sent. */
    {
        int64_t t = now_ms();
        struct q_txn_new n = new_req("84900000004", NULL, "h", t, 60000, 100);
        struct res r = do_create(q, &n);
        struct sweep_res s;
        CHECK_EQ_INT(r.err, Q_OK);
        s = do_sweep2(q, q2, t + 50, 1000);
        CHECK_EQ_INT(s.resubmitted, 0);
        s = do_sweep2(q, q2, t + 150, 1000);
        CHECK_EQ_INT(s.resubmitted, 1);
        CHECK_EQ_STR(s.last_id, r.id);
        CHECK_EQ_STR(s.last_sub, "84900000004");
        s = do_sweep2(q, q2, t + 200, 1000);
        CHECK_EQ_INT(s.resubmitted, 0);
        s = do_sweep2(q, q2, t + 1200, 1000);
        CHECK_EQ_INT(s.resubmitted, 1);
        CHECK_EQ_INT(do_sent(q, r.id), Q_OK);
        s = do_sweep2(q, q2, t + 5000, 1000);
        CHECK_EQ_INT(s.resubmitted, 0);
        CHECK_EQ_INT(s.expired, 0);
        {
            struct q_stats a, b;
            long long ev0 = cmd_calls("evalsha");
            q_get_stats(q, &a);
            s = do_sweep2(q, NULL, t + 5000, 1000);
            q_get_stats(q, &b);
            CHECK_EQ_INT(b.replies - a.replies, SHARDS); /* one EVALSHA per shard, pipelined */
            CHECK_EQ_INT(cmd_calls("evalsha") - ev0, SHARDS);
        }
        /* Leave it pending with an idempotency key, for the key scan. */
        n = new_req("84900000003", "key-9", "h9", now_ms(), 60000, 60000);
        CHECK_EQ_INT(do_create(q, &n).err, Q_OK);
    }

    /* Batched sent marks: one EVALSHA, same effect as q_txn_sent per id. */
    {
        int64_t t = now_ms();
        struct q_txn_new n = new_req("84900000005", NULL, "h", t, 60000, 100);
        struct res r, r2;
        put_sub(qs, "84900000005", "active");
        r = do_create(q, &n);
        struct sweep_res s;
        char other[Q_ID_LEN];
        const char *ids[2] = {r.id, r.id};
        long long ev0;
        CHECK_EQ_INT(r.err, Q_OK);
        memset(&r2, 0, sizeof r2);
        q_txn_sent_many(q, ids, 0, on_done, &r2);
        CHECK(loop_test_pump(base, &r2.n, 1, 3000));
        CHECK_EQ_INT(r2.err, Q_ERR_INVALID); /* nothing to mark */
        snprintf(other, sizeof other, "%02x%.24s",
                 (unsigned)((strtoul((char[3]){r.id[0], r.id[1], 0}, NULL, 16) + 1) % SHARDS), r.id + 2);
        ids[1] = other;
        memset(&r2, 0, sizeof r2);
        q_txn_sent_many(q, ids, 2, on_done, &r2);
        CHECK(loop_test_pump(base, &r2.n, 1, 3000));
        CHECK_EQ_INT(r2.err, Q_ERR_INVALID); /* two shards: two slots, refused */
        ids[1] = r.id;
        ev0 = cmd_calls("evalsha");
        memset(&r2, 0, sizeof r2);
        q_txn_sent_many(q, ids, 2, on_done, &r2);
        CHECK(loop_test_pump(base, &r2.n, 1, 3000));
        CHECK_EQ_INT(r2.err, Q_OK);
        CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1);
        s = do_sweep2(q, q2, t + 5000, 1000);
        CHECK_EQ_INT(s.resubmitted, 0); /* left the outbox */
        {
            char cmd[128];
            snprintf(cmd, sizeof cmd, "ZSCORE spk:{%u}:outbox %%s", q_shard_of("84900000005", SHARDS));
            CHECK_EQ_INT(raw_int(cmd, r.id), -3); /* nil: gone from the outbox */
        }
        CHECK_EQ_INT(do_finish(q, r.id, 0,
                               &(struct q_finish){.state = Q_FAILED,
                                                  .result = "USER_CANCEL",
                                                  .etsi_status = 401,
                                                  .now_ms = now_ms(),
                                                  .retention_ms = 60000}),
                     Q_OK);
        memset(&r2, 0, sizeof r2);
        q_txn_sent_many(q, ids, 1, on_done, &r2); /* late mark after finish: harmless */
        CHECK(loop_test_pump(base, &r2.n, 1, 3000));
        CHECK_EQ_INT(r2.err, Q_OK);
        CHECK_EQ_INT(do_get(q, r.id).state, Q_FAILED);
    }
    check_keys();

    /* SCRIPT FLUSH: the next call falls back to EVAL once, and works. */
    {
        long long e0 = cmd_calls("eval");
        redisContext *c = redis_test_connect();
        freeReplyObject(redisCommand(c, "SCRIPT FLUSH"));
        redisFree(c);
        struct res r = {0};
        q_por_lookup(q, "84912345678", on_lookup, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(cmd_calls("eval") - e0, 1);
    }

    /* Redis dies: calls fail fast with AGAIN; it comes back: reconnect, scripts reloaded. */
    {
        struct q_stats st;
        struct res r = {0};
        struct q_txn_new n;
        struct q_finish f = fin_ok(now_ms());
        int64_t end;
        q_sync_free(qs);
        qs = NULL;
        redis_test_stop();
        end = now_ms() + 3000;
        while (q_connected(q) && now_ms() < end)
            event_base_loop(base, EVLOOP_ONCE);
        CHECK(!q_connected(q));
        loop_test_pump(base, NULL, 0, 100);
        CHECK_EQ_INT(q_watch_epoch(q), 0); /* announcements may be lost now */
        q_txn_get(q, id1, on_get, &r);
        CHECK_EQ_INT(r.n, 0);
        CHECK(loop_test_pump(base, &r.n, 1, 1000));
        CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
        n = new_req("84912345678", NULL, "h", now_ms(), 60000, 5000);
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_AGAIN);
        loop_test_pump(base, NULL, 0, 300); /* a few failed reconnects */
        CHECK(redis_test_restart() == 0);
        CHECK(pump_connected(q, 5000));
        CHECK(pump_connected(q2, 5000));
        CHECK_EQ_INT(q_sync_connect(&cfg, &qs, why, sizeof why), Q_OK);
        put_sub(qs, "84912345678", "active");
        loop_test_pump(base, NULL, 0, 300); /* let the watcher resubscribe */
        CHECK(q_watch_epoch(q) != 0);
        CHECK(q_watch_epoch(q) != epoch0); /* a new subscription: what was skipped before is not trusted */
        long long ev0 = cmd_calls("eval");
        struct res c = do_create(q, &n);
        CHECK_EQ_INT(c.err, Q_OK);
        CHECK_EQ_INT(c.cntr, 1);
        CHECK_EQ_INT(cmd_calls("eval") - ev0, 0); /* EVALSHA worked: loaded on connect */
        CHECK_EQ_INT(do_finish(q2, c.id, 0, &f), Q_OK);
        loop_test_pump(base, NULL, 0, 200);
        CHECK_EQ_INT(watch_count(&w, c.id), 1);
        q_get_stats(q, &st);
        CHECK(st.reconnects >= 1);
        CHECK(st.errors >= 2);
        CHECK_EQ_INT(st.in_flight, 0);
    }

    /* Hostile data: a txn hash with junk and a key of the wrong type give PROTO, no crash. */
    {
        redisContext *c = redis_test_connect();
        freeReplyObject(
            redisCommand(c, "HSET spk:{1}:txn:01bbbbbbbbbbbbbbbbbbbbbbbb id 01bbbbbbbbbbbbbbbbbbbbbbbb state bogus"));
        freeReplyObject(redisCommand(
            c, "HSET spk:{1}:txn:01cccccccccccccccccccccccc id 01cccccccccccccccccccccccc state pending cntr x"));
        freeReplyObject(redisCommand(c, "SET spk:{1}:txn:01dddddddddddddddddddddddd x"));
        freeReplyObject(redisCommand(
            c, "HSET spk:{1}:txn:01eeeeeeeeeeeeeeeeeeeeeeee id 01eeeeeeeeeeeeeeeeeeeeeeee state completed digest %b",
            "01234567890123456789012345678901234567890123456789012345678901234567890", (size_t)70));
        redisFree(c);
        CHECK_EQ_INT(do_get(q, "01bbbbbbbbbbbbbbbbbbbbbbbb").err, Q_ERR_PROTO);
        CHECK_EQ_INT(do_get(q, "01cccccccccccccccccccccccc").err, Q_ERR_PROTO);
        CHECK_EQ_INT(do_get(q, "01dddddddddddddddddddddddd").err, Q_ERR_PROTO);
        CHECK_EQ_INT(do_get(q, "01eeeeeeeeeeeeeeeeeeeeeeee").err, Q_ERR_PROTO);
        CHECK_EQ_INT(do_get(q, "01ffffffffffffffffffffffff").err, Q_ERR_NOT_FOUND);
    }

    /* Another db (SELECT on connect) sees nothing of db 0. */
    {
        struct cfg_redis c3 = cfg;
        struct q *q3 = NULL;
        struct res r = {0};
        c3.db = 3;
        CHECK_EQ_INT(q_new(base, &c3, &q3), Q_OK);
        CHECK(pump_connected(q3, 3000));
        q_por_lookup(q3, "84912345678", on_lookup, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_ERR_NOT_FOUND);
        q_free(q3);
    }

    /* A refused AUTH: never "connected", calls fail with AGAIN, nothing leaks or crashes. */
    {
        struct cfg_redis c4 = cfg;
        struct q *q4 = NULL;
        struct res r = {0};
        snprintf(c4.password, sizeof c4.password, "wrong");
        CHECK_EQ_INT(q_new(base, &c4, &q4), Q_OK);
        loop_test_pump(base, NULL, 0, 300);
        CHECK(!q_connected(q4));
        q_txn_get(q4, id1, on_get, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 1000));
        CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
        q_free(q4);
    }

    /* A hung server (SIGSTOP): the call fails with AGAIN after the command timeout, then all recovers. */
    {
        struct res r = {0};
        int64_t t1;
        kill(redis_test_pid(), SIGSTOP);
        t1 = now_ms();
        q_txn_get(q, id1, on_get, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 5000));
        CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
        CHECK(now_ms() - t1 >= 1000);
        kill(redis_test_pid(), SIGCONT);
        CHECK(pump_connected(q, 5000));
        memset(&r, 0, sizeof r);
        r = do_get(q, id1);
        CHECK(r.err == Q_OK || r.err == Q_ERR_NOT_FOUND);
    }

    /* q_free from inside its own callback is deferred to the loop. */
    {
        struct self_free sf = {0};
        CHECK_EQ_INT(q_new(base, &cfg, &sf.q), Q_OK);
        CHECK(pump_connected(sf.q, 3000));
        q_txn_get(sf.q, id1, on_get_free, &sf);
        CHECK(loop_test_pump(base, &sf.n, 1, 3000));
        loop_test_pump(base, NULL, 0, 50);
        CHECK_EQ_INT(sf.n, 1);
    }

    /* q_cache (the revocation checker's shared cache): binary-safe, a miss is NULL, one answer per get. */
    {
        static const uint8_t blob[] = {0x30, 0x00, 0xff, 0x0a, 0x00, 0x42};
        struct cache_got hit = {0}, miss = {0}, bad = {0};
        q_cache_put(q, "spk:rv:test:k1", blob, sizeof blob, 60);
        q_cache_get(q, "spk:rv:test:k1", on_cache_got, &hit);
        q_cache_get(q, "spk:rv:test:absent", on_cache_got, &miss);
        q_cache_get(q, "", on_cache_got, &bad);
        CHECK_EQ_INT(hit.n + miss.n + bad.n, 0); /* never from inside the call */
        CHECK(loop_test_pump(base, &hit.n, 1, 3000));
        CHECK(loop_test_pump(base, &miss.n, 1, 3000));
        CHECK(loop_test_pump(base, &bad.n, 1, 3000));
        CHECK(hit.hit && hit.len == sizeof blob && memcmp(hit.v, blob, sizeof blob) == 0);
        CHECK(!miss.hit && !bad.hit);
        loop_test_pump(base, NULL, 0, 50);
        CHECK_EQ_INT(hit.n + miss.n + bad.n, 3);
    }

    /*
     * Lifecycle commands: a subscriber still "enrolling" takes GENKEY, CSR and
     * PUTCERT but not a SIGN; op, key_alg and the PUTCERT payload round-trip;
     * a SIGN stores no "op" field at all (the hot path pays nothing).
     */
    {
        static const uint8_t certder[] = {0x30, 0x82, 0x01, 0x00, 0x00, 0xff, 0x41};
        int64_t now = now_ms();
        struct q_txn_new n = new_req("84900000006", "enrol:g1", "", now, 60000, 5000);
        struct res r;
        char cmd[160];

        put_sub(qs, "84900000006", "enrolling");
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_INACTIVE); /* SIGN */
        n.op = Q_OP_GENKEY;
        n.key_alg = 2;
        n.digest = NULL;
        n.digest_len = 0;
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.op, Q_OP_GENKEY);
        CHECK_EQ_INT(r.key_alg, 2);
        CHECK_EQ_INT(r.digest_len, 0);
        CHECK_EQ_INT(do_create(q, &n).existed, 1); /* same key: the same command, not a second one */
        CHECK_EQ_INT(do_finish(q, r.id, r.cntr,
                               &(struct q_finish){.state = Q_COMPLETED,
                                                  .result = "OK",
                                                  .signature = SIG,
                                                  .sig_len = sizeof SIG,
                                                  .now_ms = now,
                                                  .retention_ms = 60000}),
                     Q_OK);
        r = do_get(q, r.id);
        CHECK_EQ_INT(r.state, Q_COMPLETED);
        CHECK_EQ_INT(r.sig_len, sizeof SIG);

        n.op = Q_OP_CSR;
        n.idem_key = "enrol:c1";
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_INVALID); /* a CSR signs a digest */
        n.op = Q_OP_PUTCERT;
        n.payload = certder;
        n.payload_len = sizeof certder;
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.op, Q_OP_PUTCERT);
        CHECK_EQ_INT(r.payload_len, sizeof certder);
        CHECK_MEM(r.payload, certder, sizeof certder);
        n.op = 9;
        CHECK_EQ_INT(do_create(q, &n).err, Q_ERR_INVALID);

        n = new_req("84912345678", NULL, "h", now, 60000, 5000);
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.op, Q_OP_SIGN);
        snprintf(cmd, sizeof cmd, "HEXISTS spk:{%u}:txn:%%s op", q_shard_of("84912345678", SHARDS));
        CHECK_EQ_INT(raw_int(cmd, r.id), 0);
        CHECK_EQ_INT(do_finish(q, r.id, r.cntr,
                               &(struct q_finish){
                                   .state = Q_FAILED, .result = "USER_CANCEL", .now_ms = now, .retention_ms = 60000}),
                     Q_OK);
    }

    /* q_eval: keys and arguments (binary too), script errors mapped, bad calls refused from the loop. */
    {
        static const char set_get[] = "redis.call('SET', KEYS[1], ARGV[1]) "
                                      "return {redis.call('GET', KEYS[1]), #KEYS, #ARGV}";
        static const char *argv[2046]; /* q_conn.h's Q_CALL_ARGS_MAX - 3 + 1: past the inline 32, on the heap */
        struct eval_res r;

        r = do_eval(q, set_get, 1, 3, (const char *const[]){"test:{1}:eval", "a\0b", "x"}, (const size_t[]){13, 3, 1});
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.type, REDIS_REPLY_ARRAY);
        CHECK_EQ_INT(r.elements, 3);
        CHECK_EQ_INT(r.len, 3);
        CHECK_MEM(r.str, "a\0b", 3);
        r = do_eval(q, "return #KEYS * 100 + #ARGV", 2, 5, (const char *const[]){"k1", "k2", "a", "b", "c"}, NULL);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.type, REDIS_REPLY_INTEGER);
        CHECK_EQ_INT(r.integer, 203);
        r = do_eval(q, "return 7", 0, 0, NULL, NULL);
        CHECK_EQ_INT(r.integer, 7);
        r = do_eval(q, "return redis.error_reply('ERR boom')", 0, 0, NULL, NULL);
        CHECK_EQ_INT(r.err, Q_ERR_PROTO);
        CHECK_EQ_INT(r.type, -1); /* no reply unless Q_OK */
        r = do_eval(q, "return redis.error_reply('TRYAGAIN later')", 0, 0, NULL, NULL);
        CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
        r = do_eval(q, "return redis.call('INCR', KEYS[1])", 1, 1, (const char *const[]){"test:{1}:eval"}, NULL);
        CHECK_EQ_INT(r.err, Q_ERR_PROTO); /* a runtime error: the value is not an integer */
        CHECK_EQ_INT(do_eval(q, "return 1", 2, 1, (const char *const[]){"k"}, NULL).err, Q_ERR_INVALID);
        CHECK_EQ_INT(do_eval(q, NULL, 0, 0, NULL, NULL).err, Q_ERR_INVALID);
        for (int i = 0; i < 2046; i++)
            argv[i] = "v";
        CHECK_EQ_INT(do_eval(q, "return #ARGV", 0, 29, argv, NULL).integer, 29);
        CHECK_EQ_INT(do_eval(q, "return #ARGV", 0, 30, argv, NULL).integer, 30);
        CHECK_EQ_INT(do_eval(q, "return #ARGV", 0, 2045, argv, NULL).integer, 2045);
        CHECK_EQ_INT(do_eval(q, "return #ARGV", 0, 2046, argv, NULL).err, Q_ERR_INVALID);
    }

    /* q_docs: request documents and the engine's index; q_life: the engine's registry writes. */
    {
        static const char d1[] =
            "{\"id\":\"r01\",\"rev\":1,\"state\":\"submitted\",\"request\":{\"unit\":\"A\",\"form\":\"f\"}}";
        static const char d1b[] =
            "{\"id\":\"r01\",\"rev\":2,\"state\":\"confirmed\",\"request\":{\"unit\":\"A\",\"form\":\"f\"}}";
        static const char d2[] =
            "{\"id\":\"r02\",\"rev\":1,\"state\":\"submitted\",\"request\":{\"unit\":\"B\",\"form\":\"f\"}}";
        struct docs_res r = {0};
        char cmd[128];

        q_doc_create(q, "r01", d1, strlen(d1), 1000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_doc_create(q, "r02", d2, strlen(d2), 2000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_doc_create(q, "r01", d2, strlen(d2), 3000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_CONFLICT); /* taken: nothing written */
        q_doc_create(q, "R-1", d2, strlen(d2), 3000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_INVALID);
        CHECK_EQ_INT(raw_score("ZSCORE spk:{enr}:reqs %s", "r01"), 1000);

        q_doc_get(q, "r01", on_doc_get, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_STR(r.first, d1);
        q_doc_get(q, "r99", on_doc_get, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_NOT_FOUND);
        CHECK_EQ_INT((int)r.count, 0);

        /* Newest first; matched counts past the limit. */
        q_doc_list(q, &(struct q_doc_filter){.limit = 1}, on_doc_list, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT((int)r.matched, 2);
        CHECK_EQ_INT((int)r.count, 1);
        CHECK_EQ_STR(r.first, d2);
        q_doc_list(q, &(struct q_doc_filter){.unit = "A"}, on_doc_list, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT((int)r.matched, 1);
        CHECK_EQ_STR(r.first, d1);
        q_doc_list(q, &(struct q_doc_filter){.state = "done"}, on_doc_list, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT((int)r.matched, 0);
        CHECK_EQ_INT((int)r.count, 0);

        /* Compare-and-set, handing r01 to the engine. */
        q_doc_cas(q, "r01", 2, d1b, strlen(d1b), 5000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_CONFLICT);
        q_doc_cas(q, "r99", 1, d1b, strlen(d1b), 5000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_NOT_FOUND);
        q_doc_cas(q, "r01", 1, d1b, strlen(d1b), 5000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_score("ZSCORE spk:{enr}:life %s", "r01"), 5000);
        q_doc_cas(q, "r02", 1, d2, strlen(d2), 0, on_doc_done, &r); /* not handed over */
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_int("ZCARD spk:{enr}:life%s", ""), 1);

        /* Claim: due ones only, leased. */
        q_life_claim(q, 4999, 9000, 16, on_claim, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT((int)r.count, 0);
        q_life_claim(q, 5000, 9000, 16, on_claim, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT((int)r.count, 1);
        CHECK_EQ_STR(r.first, d1b);
        CHECK_EQ_INT(raw_score("ZSCORE spk:{enr}:life %s", "r01"), 9000);
        q_life_wait(q, "r01", 12000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_score("ZSCORE spk:{enr}:life %s", "r01"), 12000);
        q_life_wait(q, "r02", 12000, on_doc_done, &r); /* not in the index: stays out */
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_int("ZCARD spk:{enr}:life%s", ""), 1);

        /* Save: CAS on rev, next look or out of the index. */
        q_life_save(q, "r01", 1, d1, strlen(d1), 13000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_CONFLICT);
        q_life_save(q, "r01", 2, d1b, strlen(d1b), 13000, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_score("ZSCORE spk:{enr}:life %s", "r01"), 13000);
        q_life_save(q, "r01", 2, d1b, strlen(d1b), 0, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_int("ZCARD spk:{enr}:life%s", ""), 0);
        q_life_wait(q, "r01", 14000, NULL, NULL); /* fire and forget */
        q_life_drop(q, "r01", on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(raw_int("ZCARD spk:{enr}:life%s", ""), 0);

        /* The registry steps. */
        q_life_sub_get(q, "84900000077", on_life_sub, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_NOT_FOUND);
        q_life_activate(q, "84900000077", NULL, 0, CERT, sizeof CERT, 0, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_NOT_FOUND);
        q_life_register(q, "84900000077", 2, "8984000000000000077", 3, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_life_sub_get(q, "84900000077", on_life_sub, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_STR(r.sub.sub_status, "enrolling");
        CHECK_EQ_INT(r.sub.kv, 3);
        CHECK_EQ_INT((int)r.sub.cert_len, 0);
        q_life_activate(q, "84900000077", "8984000000000000078", 4, CERT, sizeof CERT, 0, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_life_sub_get(q, "84900000077", on_life_sub, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_STR(r.sub.sub_status, "active");
        CHECK_EQ_STR(r.sub.sub_msisdn, "84900000077");
        CHECK_EQ_INT(r.sub.kv, 4);
        CHECK_EQ_INT((int)r.sub.cert_len, (int)sizeof CERT);
        snprintf(cmd, sizeof cmd, "HEXISTS spk:{%u}:sub:%%s repin", q_shard_of("84900000077", SHARDS));
        CHECK_EQ_INT(raw_int(cmd, "84900000077"), 0); /* not pinned: no repin */
        q_life_deactivate(q, "84900000077", on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_life_sub_get(q, "84900000077", on_life_sub, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_STR(r.sub.sub_status, "revoked");
        q_life_deactivate(q, "+849", on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_INVALID);

        /* A subscriber learned from its signature service: the miss, then the entry (no ICCID), which clears it. */
        q_life_missed(q, "84900000078", on_missed, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(r.missed, 0);
        q_life_miss(q, "84900000078", 300, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_life_missed(q, "84900000078", on_missed, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(r.missed, 1);
        snprintf(cmd, sizeof cmd, "TTL spk:{%u}:regmiss:%%s", q_shard_of("84900000078", SHARDS));
        CHECK(raw_int(cmd, "84900000078") > 290); /* remembered for a while, not forever */
        q_life_fetched(q, "84900000078", 3, CERT, sizeof CERT, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        q_life_missed(q, "84900000078", on_missed, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_INT(r.missed, 0);
        q_life_sub_get(q, "84900000078", on_life_sub, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_STR(r.sub.sub_status, "active");
        CHECK_EQ_INT((int)r.sub.cert_len, (int)sizeof CERT);
        CHECK_EQ_INT(r.sub.kv, 0);
        q_life_fetched(q, "84900000077", 3, CERT, sizeof CERT, on_doc_done, &r); /* an entry exists: kept */
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_CONFLICT);
        q_life_sub_get(q, "84900000077", on_life_sub, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_OK);
        CHECK_EQ_STR(r.sub.sub_status, "revoked");
        q_life_fetched(q, "84900000079", 3, NULL, 0, on_doc_done, &r);
        CHECK_EQ_INT(docs_wait(&r), Q_ERR_INVALID);
        {
            /* No ICCID: the create script still allocates a counter (no ICCID floor) and hands the txn out. */
            struct q_txn_new n = new_req("84900000078", NULL, NULL, 1000, 60000, 5000);
            struct res c = do_create(q, &n);
            CHECK_EQ_INT(c.err, Q_OK);
            CHECK_EQ_INT((int)c.cntr, 1);
        }

        /* The import's bulk write: ids in, queue/ builds the keys and files them like q_doc_create. */
        {
            static const char d3[] = "{\"id\":\"r03\",\"rev\":1}", d4[] = "{\"id\":\"r04\",\"rev\":1}";
            struct q_sync_doc put[2] = {{"r03", d3, strlen(d3), 7000}, {"r04", d4, strlen(d4), 7001}};
            struct q_sync_doc bad[1] = {{"R-5", d3, strlen(d3), 7002}};

            CHECK_EQ_INT(q_sync_docs_put(qs, bad, 1), Q_ERR_INVALID);
            CHECK_EQ_INT(q_sync_docs_put(qs, put, 2), Q_OK);
            CHECK_EQ_INT(q_sync_docs_put(qs, put + 1, 1), Q_ERR_CONFLICT); /* taken: nothing written */
            CHECK_EQ_INT(raw_score("ZSCORE spk:{enr}:reqs %s", "r04"), 7001);
            q_doc_get(q, "r03", on_doc_get, &r);
            CHECK_EQ_INT(docs_wait(&r), Q_OK);
            CHECK_EQ_STR(r.first, d3);
            q_doc_get(q, "R-5", on_doc_get, &r);
            CHECK_EQ_INT(docs_wait(&r), Q_ERR_INVALID);
        }
    }

    /*
     * Receipts (MSS_Receipt): only on the relying party's own finished
     * transaction, the last one counts, the finished key keeps its TTL.
     */
    {
        const char *m = "84900000011";
        int64_t t = now_ms();
        struct q_txn_new n = new_req(m, NULL, NULL, t, 60000, 5000);
        char max[Q_RECEIPT_MAX + 2], pttl[64];
        struct res r, g;

        put_sub(qs, m, "active");
        r = do_create(q, &n);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-a", "early", t + 1), Q_ERR_CONFLICT);  /* still pending */
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-b", "early", t + 1), Q_ERR_NOT_FOUND); /* not its own */
        g = do_get(q, r.id);
        CHECK_EQ_INT(g.receipt_ms, 0); /* nothing written by either */
        CHECK_EQ_STR(g.receipt, "");
        CHECK_EQ_INT(do_finish(q, r.id, 0,
                               &(struct q_finish){.state = Q_FAILED,
                                                  .result = "USER_CANCEL",
                                                  .etsi_status = 401,
                                                  .now_ms = t,
                                                  .retention_ms = 60000}),
                     Q_OK);
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-b", "mine?", t + 2), Q_ERR_NOT_FOUND); /* finished, still not its own */
        CHECK_EQ_INT(do_get(q, r.id).receipt_ms, 0);
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-a", "\xc4\x90\xc3\xa3 nh\xe1\xba\xadn", t + 3), Q_OK);
        g = do_get(q, r.id);
        CHECK_EQ_INT(g.receipt_ms, t + 3);
        CHECK_EQ_STR(g.receipt, "\xc4\x90\xc3\xa3 nh\xe1\xba\xadn"); /* "Đã nhận" */
        CHECK_EQ_STR(g.result, "USER_CANCEL");                       /* the outcome untouched */
        snprintf(pttl, sizeof pttl, "PTTL spk:{%u}:txn:%%s", q_shard_of(m, SHARDS));
        CHECK(raw_int(pttl, r.id) > 0 && raw_int(pttl, r.id) <= 60000); /* still expires with the transaction */
        /* A second receipt overwrites the first: time and message, also with none. */
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-a", NULL, t + 4), Q_OK);
        g = do_get(q, r.id);
        CHECK_EQ_INT(g.receipt_ms, t + 4);
        CHECK_EQ_STR(g.receipt, "");
        /* The longest message, and one octet more. */
        memset(max, 'x', sizeof max);
        max[Q_RECEIPT_MAX] = '\0';
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-a", max, t + 5), Q_OK);
        g = do_get(q, r.id);
        CHECK_EQ_INT(strlen(g.receipt), Q_RECEIPT_MAX);
        CHECK_EQ_INT(g.receipt_ms, t + 5);
        max[Q_RECEIPT_MAX] = 'x';
        max[Q_RECEIPT_MAX + 1] = '\0';
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-a", max, t + 6), Q_ERR_INVALID);
        CHECK_EQ_INT(do_get(q, r.id).receipt_ms, t + 5);
        /* Gone (or never there), and arguments refused before Redis. */
        CHECK_EQ_INT(do_receipt(q, "00000000000000000000000000", "bank-a", "x", t), Q_ERR_NOT_FOUND);
        CHECK_EQ_INT(do_receipt(q, "zz", "bank-a", "x", t), Q_ERR_INVALID);
        CHECK_EQ_INT(do_receipt(q, r.id, NULL, "x", t), Q_ERR_INVALID);
        CHECK_EQ_INT(do_receipt(q, r.id, "", "x", t), Q_ERR_INVALID);
        CHECK_EQ_INT(do_receipt(q, r.id, "bank-a", "x", 0), Q_ERR_INVALID);
        CHECK_EQ_INT(do_get(q, r.id).receipt_ms, t + 5);
    }

    /* q_free with a call outstanding: the callback still runs, with AGAIN. */
    {
        struct res r = {0};
        q_txn_get(q2, id1, on_get, &r);
        q_free(q2);
        q2 = NULL;
        CHECK_EQ_INT(r.n, 1);
        CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
    }

    q_free(q);
    q_free(NULL);
    q_sync_free(qs);
    event_free(tk);
    event_base_free(base);
    return check_report("test_q");
}
