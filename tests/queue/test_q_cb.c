/*
 * test_q_cb.c - the callback queue (queue/q_cb.c and the finish and sweep
 * scripts that fill it) against a real redis-server: what is stored, what a
 * claim leases, what each outcome leaves.  State is read behind the code's
 * back with a plain connection.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cfg.h"
#include "check.h"
#include "loop_test.h"
#include "q.h"
#include "redis_test.h"

#define SHARDS 2

static struct event_base *base;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A command's reply as a string ("" for nil, the number for an integer); caller frees. */
static char *raw(const char *fmt, const char *a, const char *b)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, fmt, a, b) : NULL;
    char *s = NULL;

    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS))
        s = strdup(r->str);
    else if (r && r->type == REDIS_REPLY_INTEGER && asprintf(&s, "%lld", r->integer) < 0)
        s = NULL;
    else if (r && r->type == REDIS_REPLY_NIL)
        s = strdup("");
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return s ? s : strdup("?");
}

/* HGET of txn id's field; "" when absent. */
static char *txn_field(const char *id, const char *field)
{
    char key[64];
    snprintf(key, sizeof key, "spk:{%u}:txn:%s", (unsigned)strtoul((char[3]){id[0], id[1], 0}, NULL, 16), id);
    return raw("HGET %s %s", key, field);
}

/* ZSCORE of id in its shard's callback queue; "" when not queued. */
static char *cbq_score(const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "spk:{%u}:cbq", (unsigned)strtoul((char[3]){id[0], id[1], 0}, NULL, 16));
    return raw("ZSCORE %s %s", key, id);
}

#define CHECK_FIELD(id, f, want)     \
    do {                             \
        char *v_ = txn_field(id, f); \
        CHECK_EQ_STR(v_, want);      \
        free(v_);                    \
    } while (0)
#define CHECK_QUEUED(id, want)    \
    do {                          \
        char *v_ = cbq_score(id); \
        CHECK_EQ_STR(v_, want);   \
        free(v_);                 \
    } while (0)

struct res {
    int n;
    enum q_err err;
    char id[Q_ID_LEN];
};

static void on_create(void *arg, enum q_err err, const struct q_txn *t, const struct q_sub *s, int existed)
{
    struct res *r = arg;
    (void)s;
    (void)existed;
    r->err = err;
    if (t)
        memcpy(r->id, t->id, sizeof r->id);
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
    (void)t;
    on_done(arg, err);
}

struct claim_res {
    int n;
    enum q_err err;
    unsigned claimed, each;
    char id[8][Q_ID_LEN];
    char url[8][Q_CB_URL_MAX + 1], ctx[8][Q_CB_CTX_MAX + 1];
    unsigned tries[8], kind[8], state[8];
};

static void on_each(void *arg, const struct q_txn *t)
{
    struct claim_res *r = arg;
    if (r->each < 8) {
        memcpy(r->id[r->each], t->id, Q_ID_LEN);
        snprintf(r->url[r->each], sizeof r->url[0], "%s", t->cb_url);
        snprintf(r->ctx[r->each], sizeof r->ctx[0], "%s", t->cb_ctx);
        r->tries[r->each] = t->cb_tries;
        r->kind[r->each] = t->cb_kind;
        r->state[r->each] = t->cb_state;
    }
    r->each++;
}

static void on_claimed(void *arg, enum q_err err, unsigned claimed)
{
    struct claim_res *r = arg;
    r->err = err;
    r->claimed = claimed;
    r->n++;
}

static void on_sweep(void *arg, enum q_err err, unsigned expired, unsigned resubmitted)
{
    struct res *r = arg;
    (void)expired;
    (void)resubmitted;
    r->err = err;
    r->n++;
}

static const uint8_t DIGEST[32] = {1, 2, 3};

static struct res create(struct q *q, const char *msisdn, const char *url, const char *ctx, int64_t now, int64_t ttl)
{
    struct res r = {0};
    struct q_txn_new n = {.rp = "rp",
                          .msisdn = msisdn,
                          .digest_alg = 1,
                          .digest = DIGEST,
                          .digest_len = sizeof DIGEST,
                          .vc = "1234",
                          .display_text = "x",
                          .net = 1,
                          .now_ms = now,
                          .deadline_ms = now + ttl,
                          .lease_ms = 5000,
                          .cb_url = url,
                          .cb_kind = ctx ? Q_CB_KIND_SOAP : Q_CB_KIND_JSON,
                          .cb_ctx = ctx};
    q_txn_create(q, &n, on_create, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    CHECK_EQ_INT(r.err, Q_OK);
    return r;
}

static enum q_err finish(struct q *q, const char *id, int64_t now)
{
    struct res r = {0};
    struct q_finish f = {
        .state = Q_FAILED, .result = "USER_CANCEL", .etsi_status = 401, .now_ms = now, .retention_ms = 60000};
    q_txn_finish(q, id, 0, &f, on_finish, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r.err;
}

static struct claim_res claim(struct q *q, int64_t now, int64_t lease_until)
{
    struct claim_res r = {0};
    q_cb_claim(q, now, lease_until, 0, on_each, on_claimed, &r);
    CHECK_EQ_INT(r.n, 0);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    CHECK_EQ_INT(r.err, Q_OK);
    CHECK_EQ_INT(r.claimed, r.each);
    return r;
}

static enum q_err cb_done(struct q *q, const char *id, unsigned attempt, enum q_cb_outcome o, int64_t next,
                          const char *detail)
{
    struct res r = {0};
    q_cb_done(q, id, attempt, o, next, detail, on_done, &r);
    CHECK_EQ_INT(r.n, 0);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r.err;
}

static void put_sub(struct q_sync *qs, const char *msisdn)
{
    static const uint8_t cert[4] = {0x30, 0x02, 0x05, 0x00};
    struct q_sub s = {.net = 1, .kv = 1, .cert = cert, .cert_len = sizeof cert};
    snprintf(s.msisdn, sizeof s.msisdn, "%s", msisdn);
    snprintf(s.iccid, sizeof s.iccid, "8984%s", msisdn);
    snprintf(s.status, sizeof s.status, "active");
    CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = SHARDS, .connect_timeout_ms = 500};
    struct q_sync *qs = NULL;
    struct q *q = NULL;
    struct event *tk;
    char why[128], num[32];
    int64_t t0 = now_ms();
    static const char *const subs[] = {"84900000011", "84900000012", "84900000013", "84900000014", "84900000015"};

    alarm(60);
    if (redis_test_start("test_q_cb") != 0)
        return 1;
    cfg.port = (uint16_t)redis_test_port();
    base = event_base_new();
    tk = loop_test_ticker(base);
    CHECK_EQ_INT(q_sync_connect(&cfg, &qs, why, sizeof why), Q_OK);
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        put_sub(qs, subs[i]);
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    loop_test_pump(base, NULL, 0, 300);
    CHECK(q_connected(q));

    /* Create: the callback fields are stored only when given. */
    struct res plain = create(q, subs[0], NULL, NULL, t0, 60000);
    struct res json = create(q, subs[1], "https://rp.test/cb?x=1", NULL, t0, 60000);
    struct res soap = create(q, subs[2], "https://ap.test/notify", "AP-TRANS-42", t0, 60000);
    CHECK_FIELD(plain.id, "cb_url", "");
    CHECK_FIELD(plain.id, "cb_kind", "");
    CHECK_FIELD(json.id, "cb_url", "https://rp.test/cb?x=1");
    CHECK_FIELD(json.id, "cb_kind", "0");
    CHECK_FIELD(json.id, "cb_ctx", "");
    CHECK_FIELD(soap.id, "cb_kind", "1");
    CHECK_FIELD(soap.id, "cb_ctx", "AP-TRANS-42");
    CHECK_FIELD(json.id, "cb_state", ""); /* nothing owed while pending */
    CHECK_QUEUED(json.id, "");
    {
        /* Bad arguments never reach Redis. */
        char longurl[Q_CB_URL_MAX + 2];
        struct res r = {0};
        memset(longurl, 'x', sizeof longurl - 1);
        longurl[sizeof longurl - 1] = '\0';
        struct q_txn_new n = {.rp = "rp",
                              .msisdn = subs[3],
                              .digest = DIGEST,
                              .digest_len = 32,
                              .now_ms = t0,
                              .deadline_ms = t0 + 1000,
                              .cb_url = longurl};
        q_txn_create(q, &n, on_create, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
    }

    /* Finish enqueues (due now) with cb_state pending, in the same script; without cb_url nothing. */
    CHECK_EQ_INT(finish(q, plain.id, t0 + 10), Q_OK);
    CHECK_EQ_INT(finish(q, json.id, t0 + 20), Q_OK);
    CHECK_EQ_INT(finish(q, soap.id, t0 + 30), Q_OK);
    CHECK_FIELD(plain.id, "cb_state", "");
    CHECK_QUEUED(plain.id, "");
    CHECK_FIELD(json.id, "cb_state", "pending");
    snprintf(num, sizeof num, "%lld", (long long)(t0 + 20));
    CHECK_QUEUED(json.id, num);

    /* Claim: both due, leased, tries 1; a second claim before the lease ends gets nothing. */
    {
        struct claim_res c = claim(q, t0 + 100, t0 + 60000);
        int js = strcmp(c.id[0], json.id) == 0 ? 0 : 1;
        CHECK_EQ_INT(c.claimed, 2);
        CHECK_EQ_STR(c.id[js], json.id);
        CHECK_EQ_STR(c.url[js], "https://rp.test/cb?x=1");
        CHECK_EQ_INT(c.tries[js], 1);
        CHECK_EQ_INT(c.kind[js], Q_CB_KIND_JSON);
        CHECK_EQ_INT(c.state[js], Q_CB_PENDING);
        CHECK_EQ_STR(c.ctx[1 - js], "AP-TRANS-42");
        CHECK_EQ_INT(c.kind[1 - js], Q_CB_KIND_SOAP);
        snprintf(num, sizeof num, "%lld", (long long)(t0 + 60000));
        CHECK_QUEUED(json.id, num);
        CHECK_EQ_INT(claim(q, t0 + 59999, t0 + 120000).claimed, 0);
        /* After the lease: claimed again, tries 2. */
        c = claim(q, t0 + 60000, t0 + 120000);
        CHECK_EQ_INT(c.claimed, 2);
        CHECK_EQ_INT(c.tries[0], 2);
        CHECK_EQ_INT(c.tries[1], 2);
    }

    /* RETRY: only at the current attempt; moves the due time and keeps it pending. */
    CHECK_EQ_INT(cb_done(q, json.id, 1, Q_CB_OUT_RETRY, t0 + 70000, "HTTP 500"), Q_ERR_CONFLICT);
    snprintf(num, sizeof num, "%lld", (long long)(t0 + 120000));
    CHECK_QUEUED(json.id, num); /* the stale attempt moved nothing */
    CHECK_EQ_INT(cb_done(q, json.id, 2, Q_CB_OUT_RETRY, t0 + 70000, "HTTP 500"), Q_OK);
    snprintf(num, sizeof num, "%lld", (long long)(t0 + 70000));
    CHECK_QUEUED(json.id, num);
    CHECK_FIELD(json.id, "cb_state", "pending");
    CHECK_FIELD(json.id, "cb_error", "HTTP 500");
    CHECK_EQ_INT(claim(q, t0 + 69999, t0 + 200000).claimed, 0);
    {
        struct claim_res c = claim(q, t0 + 70000, t0 + 200000);
        CHECK_EQ_INT(c.claimed, 1);
        CHECK_EQ_INT(c.tries[0], 3);
    }
    /* DELIVERED: out of the queue, delivered with its time; a later retry of it changes nothing. */
    CHECK_EQ_INT(cb_done(q, json.id, 3, Q_CB_OUT_DELIVERED, t0 + 70001, NULL), Q_OK);
    CHECK_QUEUED(json.id, "");
    CHECK_FIELD(json.id, "cb_state", "delivered");
    CHECK_FIELD(json.id, "cb_tries", "3");
    snprintf(num, sizeof num, "%lld", (long long)(t0 + 70001));
    CHECK_FIELD(json.id, "cb_at", num);
    CHECK_EQ_INT(cb_done(q, json.id, 3, Q_CB_OUT_RETRY, t0 + 80000, "late"), Q_ERR_CONFLICT);
    CHECK_QUEUED(json.id, "");
    CHECK_EQ_INT(claim(q, t0 + 900000, t0 + 960000).claimed, 1); /* only soap is still owed */
    /* GAVE_UP: out of the queue, failed with the reason. */
    CHECK_EQ_INT(cb_done(q, soap.id, 3, Q_CB_OUT_GAVE_UP, t0 + 900001, "12 tries"), Q_OK);
    CHECK_QUEUED(soap.id, "");
    CHECK_FIELD(soap.id, "cb_state", "failed");
    CHECK_FIELD(soap.id, "cb_error", "12 tries");
    CHECK_EQ_INT(claim(q, t0 + 9000000, t0 + 9060000).claimed, 0);

    /* Expiry by the sweep enqueues too. */
    {
        struct res exp = create(q, subs[3], "https://rp.test/exp", NULL, t0, 1000);
        struct res s = {0};
        q_sweep(q, t0 + 5000, 1000, 0, NULL, on_sweep, &s);
        CHECK(loop_test_pump(base, &s.n, 1, 3000));
        CHECK_EQ_INT(s.err, Q_OK);
        CHECK_FIELD(exp.id, "result", "EXPIRED");
        CHECK_FIELD(exp.id, "cb_state", "pending");
        snprintf(num, sizeof num, "%lld", (long long)(t0 + 5000));
        CHECK_QUEUED(exp.id, num);

        /* A txn gone (its retention passed) is dropped by the claim, and by done. */
        char key[64];
        snprintf(key, sizeof key, "spk:{%u}:txn:%s", (unsigned)strtoul((char[3]){exp.id[0], exp.id[1], 0}, NULL, 16),
                 exp.id);
        free(raw("DEL %s%s", key, ""));
        CHECK_EQ_INT(claim(q, t0 + 9000000, t0 + 9060000).claimed, 0);
        CHECK_QUEUED(exp.id, "");
        CHECK_EQ_INT(cb_done(q, exp.id, 1, Q_CB_OUT_DELIVERED, t0, NULL), Q_ERR_NOT_FOUND);
        {
            char *n = raw("EXISTS %s%s", key, "");
            CHECK_EQ_STR(n, "0"); /* done did not bring the hash back */
            free(n);
        }
    }
    /* Arguments. */
    CHECK_EQ_INT(cb_done(q, "zz", 1, Q_CB_OUT_DELIVERED, t0, NULL), Q_ERR_INVALID);
    CHECK_EQ_INT(cb_done(q, plain.id, 0, Q_CB_OUT_RETRY, t0, NULL), Q_ERR_INVALID);

    q_free(q);
    q_sync_free(qs);
    event_free(tk);
    event_base_free(base);
    return check_report("test_q_cb");
}
