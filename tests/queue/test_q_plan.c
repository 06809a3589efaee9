/*
 * test_q_plan.c - q_plan (merger plans, their rows and the runner's index,
 * MGET of requests, the whole-registry read) against a real redis-server,
 * and the registry's "cs" field (q_sync_sub_put, q_life_activate,
 * q_life_sub_get).  State is read and planted behind the code's back with a
 * plain connection.
 *
 * TEST_Q_PLAN_BENCH=N (say 100000) also times q_reg_scan over N subscribers
 * holding a real certificate (openssl req), at several COUNTs, and prints
 * the figures (TEST_Q_PLAN_COUNT=C: only COUNT C).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cfg.h"
#include "check.h"
#include "q.h"
#include "q_life.h"
#include "q_plan.h"
#include "redis_test.h"

#define SHARDS 16
#define NSUBS  5000

static struct event_base *base;

/* What a callback got, copied (the call's data lives only during it). */
struct res {
    int n;
    enum q_err err;
    size_t nd;
    char **texts; /* nd of them, NULL where the call gave none */
    uint64_t count;
    size_t got; /* q_reg_scan: entries */
};

static void res_clear(struct res *r)
{
    for (size_t i = 0; i < r->nd; i++)
        free(r->texts[i]);
    free(r->texts);
    memset(r, 0, sizeof(*r));
}

static void on_done(void *arg, enum q_err err)
{
    struct res *r = arg;
    r->err = err;
    r->n++;
}

static void keep(struct res *r, const struct q_doc *docs, size_t n)
{
    r->texts = calloc(n + 1, sizeof(*r->texts));
    r->nd = n;
    for (size_t i = 0; i < n; i++) {
        CHECK(!docs[i].text || strlen(docs[i].text) == docs[i].len);
        r->texts[i] = docs[i].text ? strndup(docs[i].text, docs[i].len) : NULL;
    }
}

static void on_get(void *arg, enum q_err err, const struct q_doc *doc)
{
    struct res *r = arg;
    r->err = err;
    r->n++;
    if (doc)
        keep(r, doc, 1);
}

static void on_list(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct res *r = arg;
    r->err = err;
    r->n++;
    keep(r, docs, n);
}

static void on_count(void *arg, enum q_err err, uint64_t n)
{
    struct res *r = arg;
    r->err = err;
    r->count = n;
    r->n++;
}

static void on_sub(void *arg, enum q_err err, const struct q_sub *s)
{
    struct res *r = arg;
    r->err = err;
    r->count = s ? (uint64_t)s->cs : 99;
    r->n++;
}

/* Run the loop until the callback came, then a little longer: it must come exactly once. */
static void wait_once(const int *n)
{
    CHECK_EQ_INT(*n, 0); /* never inside the call */
    for (int i = 0; i < 5000 && *n == 0; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(200);
    for (int i = 0; i < 20; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(200);
    CHECK_EQ_INT(*n, 1);
}

#define CALL(r, expr)      \
    do {                   \
        res_clear(&(r));   \
        expr;              \
        wait_once(&(r).n); \
    } while (0)

/* A reply behind the code's back, as a string ("(nil)" for none). */
static void cmd_str(char *out, size_t cap, const char *fmt, const char *a, const char *b)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, fmt, a, b) : NULL;

    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(out, cap, "%s", r->str);
    else if (r && r->type == REDIS_REPLY_INTEGER)
        snprintf(out, cap, "%lld", r->integer);
    else
        snprintf(out, cap, "(nil)");
    freeReplyObject(r);
    if (c)
        redisFree(c);
}

static char *zscore(const char *id)
{
    static char b[64];
    cmd_str(b, sizeof(b), "ZSCORE %s %s", "spk:{enr}:planrun", id);
    return b;
}

/* q_plan_cas answers want, and p1's place in the runner's index is then score. */
static void cas_is(struct q *q, const char *id, int64_t rev, const char *text, int64_t due, enum q_err want,
                   const char *score)
{
    struct res r = {0};

    q_plan_cas(q, id, rev, text, strlen(text), due, on_done, &r);
    wait_once(&r.n);
    CHECK_EQ_INT(r.err, want);
    CHECK_EQ_STR(zscore("p1"), score);
}

/* ---- the registry ---- */

struct seen {
    unsigned times;
    int net, cs;
    char status[16];
    size_t cert_len;
    uint8_t cert0;
};

static struct seen *seen;
static size_t nseen;

/* Subscriber i: number 8491 + 7 digits; its fields follow from i. */
static void sub_msisdn(unsigned i, char out[16])
{
    snprintf(out, 16, "8491%07u", i);
}

static void on_scan(void *arg, enum q_err err, uint64_t next, const struct q_reg_entry *e, size_t n)
{
    struct res *r = arg;

    r->err = err;
    r->count = next;
    r->got += n;
    r->n++;
    for (size_t i = 0; err == Q_OK && i < n; i++) {
        unsigned k = (unsigned)strtoul(e[i].msisdn + 4, NULL, 10);
        CHECK(strncmp(e[i].msisdn, "8491", 4) == 0 && k < nseen);
        if (k >= nseen)
            continue;
        seen[k].times++;
        seen[k].net = e[i].net;
        seen[k].cs = e[i].cs;
        snprintf(seen[k].status, sizeof(seen[k].status), "%s", e[i].status);
        seen[k].cert_len = e[i].cert ? e[i].cert_len : 0;
        seen[k].cert0 = e[i].cert ? e[i].cert[0] : 0;
    }
}

/*
 * n subscribers, pipelined: status, net, cs and the certificate follow from
 * the index (cert NULL: fake ones of i % 3 * 400 octets, starting with i %
 * 251); and other keys that the scan must pass over.
 */
static void load_subs(unsigned n, const uint8_t *cert, size_t cert_len)
{
    redisContext *c = redis_test_connect();
    static uint8_t fake[1200];
    unsigned sent = 0;

    CHECK(c != NULL);
    if (!c)
        return;
    for (unsigned i = 0; i < n; i++) {
        char m[16], key[64], net[8];
        const uint8_t *ce = cert;
        size_t cl = cert_len;
        sub_msisdn(i, m);
        snprintf(key, sizeof(key), "spk:{%u}:sub:%s", q_shard_of(m, SHARDS), m);
        snprintf(net, sizeof(net), "%u", i % 4);
        if (!cert) {
            memset(fake, (int)(i % 251), sizeof(fake));
            ce = fake;
            cl = i % 3 * 400;
        }
        redisAppendCommand(c, "HSET %s msisdn %s status %s net %s iccid 8984000000000000001 kv 1 cntr 7 cert %b", key,
                           m, i % 5 == 0 ? "revoked" : "active", net, ce, cl);
        sent++;
        if (i % 7 == 0) {
            redisAppendCommand(c, "HSET %s cs 1", key);
            sent++;
        }
        if (i % 10 == 0) { /* a transaction and a counter per ten: other keys of the shards */
            redisAppendCommand(c, "HSET spk:{%u}:txn:%08x state pending msisdn %s", q_shard_of(m, SHARDS), i, m);
            redisAppendCommand(c, "SET spk:{%u}:ctr:89840000000%08u 5", q_shard_of(m, SHARDS), i);
            sent += 2;
        }
        for (; sent > 512; sent--) {
            void *rv = NULL;
            if (redisGetReply(c, &rv) == REDIS_OK)
                freeReplyObject(rv);
        }
    }
    for (; sent > 0; sent--) {
        void *rv = NULL;
        if (redisGetReply(c, &rv) == REDIS_OK)
            freeReplyObject(rv);
    }
    redisFree(c);
}

/* Read the whole registry with COUNT count; returns the steps, or -1 on an error. */
static long scan_all(struct q *q, unsigned count, int block)
{
    struct res r = {0};
    uint64_t cur = 0;
    long steps = 0;

    do {
        r.n = 0;
        q_reg_scan(q, cur, count, on_scan, &r);
        if (block) {
            while (r.n == 0)
                event_base_loop(base, EVLOOP_ONCE);
        } else {
            wait_once(&r.n);
        }
        if (r.err != Q_OK || r.n != 1)
            return -1;
        cur = r.count;
        if (++steps > 1000 + 10 * (long)(nseen / count))
            return -1; /* a cursor that never comes back to 0 */
    } while (cur != 0);
    return steps;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process, and of the redis-server (INFO cpu): load-proof figures. */
static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double cpu_redis(void)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, "INFO cpu") : NULL;
    double t = 0;
    const char *p;

    if (r && r->type == REDIS_REPLY_STRING) {
        if ((p = strstr(r->str, "used_cpu_sys:")))
            t += strtod(p + 13, NULL);
        if ((p = strstr(r->str, "used_cpu_user:")))
            t += strtod(p + 14, NULL);
    }
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return t;
}

/* TEST_Q_PLAN_BENCH: q_reg_scan's time over n subscribers with a real certificate, per COUNT. */
static void bench(struct q *q, unsigned n)
{
    char cmd[1024], path[512];
    FILE *f;
    static uint8_t der[4096];
    size_t len;
    static const unsigned counts[] = {10, 100, 500, 1000, 5000};
    unsigned only = getenv("TEST_Q_PLAN_COUNT") ? (unsigned)strtoul(getenv("TEST_Q_PLAN_COUNT"), NULL, 10) : 0;

    snprintf(path, sizeof(path), "%s/bench.der", redis_test_dir());
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/bench.key -outform DER -out %s -days 365 "
             "-subj '/C=VN/ST=Ha Noi/L=Ba Dinh/O=Bo Noi vu/OU=Vu To chuc can bo/CN=Nguyen Van A "
             "CMND:001234567890' -addext 'keyUsage=digitalSignature,nonRepudiation' 2>/dev/null",
             redis_test_dir(), path);
    CHECK_EQ_INT(system(cmd), 0);
    f = fopen(path, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    len = fread(der, 1, sizeof(der), f);
    fclose(f);
    free(seen);
    nseen = n;
    seen = calloc(n, sizeof(*seen));
    double t0 = now_s();
    load_subs(n, der, len);
    printf("bench: loaded %u subscribers with a %zu-octet certificate in %.2f s\n", n, len, now_s() - t0);
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        long steps;
        if (only && counts[k] != only)
            continue;
        unsigned missing = 0;
        memset(seen, 0, n * sizeof(*seen));
        double c0 = cpu_self(), r0 = cpu_redis();
        t0 = now_s();
        steps = scan_all(q, counts[k], 1);
        double dt = now_s() - t0, dc = cpu_self() - c0, dr = cpu_redis() - r0;
        for (unsigned i = 0; i < n; i++)
            missing += seen[i].times == 0;
        CHECK(steps > 0);
        CHECK_EQ_INT(missing, 0);
        printf("bench: COUNT %5u: %.2f s, %ld steps, %.0f subscribers/s; CPU: client %.2f s, redis %.2f s\n", counts[k],
               dt, steps, n / dt, dc, dr);
    }
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = SHARDS, .connect_timeout_ms = 500};
    struct q *q = NULL;
    struct res r = {0};
    char b[4096];
    const char *bench_n = getenv("TEST_Q_PLAN_BENCH");

    alarm(bench_n ? 3000 : 120);
    if (redis_test_start("test_q_plan") != 0)
        return 1;
    cfg.port = (uint16_t)redis_test_port();
    base = event_base_new();
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    for (int i = 0; i < 300 && !q_connected(q); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CHECK(q_connected(q));

    /* Create, get: the document and the index of every plan, both or neither. */
    {
        static const char p1[] = "{\"id\":\"p1\",\"rev\":1,\"state\":\"draft\"}";
        static const char p2[] = "{\"id\":\"p2\",\"rev\":1,\"state\":\"draft\"}";
        CALL(r, q_plan_create(q, "p1", p1, strlen(p1), 1000, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_plan_create(q, "p1", p2, strlen(p2), 1000, on_done, &r));
        CHECK_EQ_INT(r.err, Q_ERR_CONFLICT);
        CALL(r, q_plan_create(q, "p2", p2, strlen(p2), 2000, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_plan_get(q, "p1", on_get, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_STR(r.nd ? r.texts[0] : NULL, p1); /* the conflicting create wrote nothing */
        CALL(r, q_plan_get(q, "nope", on_get, &r));
        CHECK_EQ_INT(r.err, Q_ERR_NOT_FOUND);
        CALL(r, q_plan_get(q, "Bad!", on_get, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
        CALL(r, q_plan_create(q, "", p1, strlen(p1), 1, on_done, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
        cmd_str(b, sizeof(b), "ZSCORE %s %s", "spk:{enr}:plans", "p2");
        CHECK_EQ_STR(b, "2000");
        /* Plans are not requests. */
        cmd_str(b, sizeof(b), "EXISTS %s%s", "spk:{enr}:req:", "p1");
        CHECK_EQ_STR(b, "0");
    }

    /* Cas: conflict, not found, and the runner's index: > 0 files, < 0 takes out, 0 leaves. */
    {
        static const char p1r2[] = "{\"id\":\"p1\",\"rev\":2,\"state\":\"approved\"}";
        static const char p1r3[] = "{\"id\":\"p1\",\"rev\":3,\"state\":\"running\"}";
        static const char p1r4[] = "{\"id\":\"p1\",\"rev\":4,\"state\":\"running\"}";
        static const char p1r5[] = "{\"id\":\"p1\",\"rev\":5,\"state\":\"paused\"}";
        cas_is(q, "p1", 1, p1r2, 0, Q_OK, "(nil)");
        cas_is(q, "p1", 1, p1r3, 5, Q_ERR_CONFLICT, "(nil)"); /* nothing written */
        CALL(r, q_plan_get(q, "p1", on_get, &r));
        CHECK_EQ_STR(r.nd ? r.texts[0] : NULL, p1r2);
        cas_is(q, "nope", 1, p1r3, 5, Q_ERR_NOT_FOUND, "(nil)");
        CHECK_EQ_STR(zscore("nope"), "(nil)");
        cas_is(q, "p1", 2, p1r3, 1000, Q_OK, "1000");
        cas_is(q, "p1", 3, p1r4, 0, Q_OK, "1000"); /* left alone */
        cas_is(q, "p1", 4, p1r5, -1, Q_OK, "(nil)");
        CALL(r, q_plan_get(q, "p1", on_get, &r));
        CHECK_EQ_STR(r.nd ? r.texts[0] : NULL, p1r5);
    }

    /* List: every plan, newest first. */
    {
        CALL(r, q_plan_list(q, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, 2);
        CHECK(r.nd == 2 && strstr(r.texts[0], "\"p2\"") && strstr(r.texts[1], "\"p1\""));
    }

    /* Rows: put, get with holes, the plan must exist, the limits. */
    {
        struct q_plan_row rows[3] = {{1, "{\"no\":1}", 8}, {2, "{\"no\":2}", 8}, {3, "{\"no\":3}", 8}};
        static struct q_plan_row many[Q_PLAN_ROWS_MAX + 1];
        static char texts[Q_PLAN_ROWS_MAX + 1][24];

        CALL(r, q_plan_rows_put(q, "p2", rows, 3, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_plan_rows_get(q, "p2", 2, 4, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, 4);
        if (r.nd == 4) {
            CHECK_EQ_STR(r.texts[0], "{\"no\":2}");
            CHECK_EQ_STR(r.texts[1], "{\"no\":3}");
            CHECK(r.texts[2] == NULL && r.texts[3] == NULL);
        }
        CALL(r, q_plan_rows_put(q, "nope", rows, 3, on_done, &r));
        CHECK_EQ_INT(r.err, Q_ERR_NOT_FOUND);
        cmd_str(b, sizeof(b), "EXISTS %s%s", "spk:{enr}:plan:nope", ":rows");
        CHECK_EQ_STR(b, "0");
        CALL(r, q_plan_rows_get(q, "nope", 1, 2, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK); /* no rows: all NULL */
        CHECK(r.nd == 2 && !r.texts[0] && !r.texts[1]);
        for (unsigned i = 0; i <= Q_PLAN_ROWS_MAX; i++) {
            snprintf(texts[i], sizeof(texts[i]), "{\"no\":%u}", 100 + i);
            many[i] = (struct q_plan_row){100 + i, texts[i], strlen(texts[i])};
        }
        CALL(r, q_plan_rows_put(q, "p2", many, Q_PLAN_ROWS_MAX + 1, on_done, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
        CALL(r, q_plan_rows_put(q, "p2", many, Q_PLAN_ROWS_MAX, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        cmd_str(b, sizeof(b), "HLEN %s%s", "spk:{enr}:plan:p2", ":rows");
        CHECK_EQ_STR(b, "1003");
        CALL(r, q_plan_rows_get(q, "p2", 100, Q_PLAN_ROWS_MAX, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, Q_PLAN_ROWS_MAX);
        CHECK(r.nd == Q_PLAN_ROWS_MAX && r.texts[999] && strcmp(r.texts[999], texts[999]) == 0);
        CALL(r, q_plan_rows_get(q, "p2", 1, Q_PLAN_ROWS_MAX + 1, on_list, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
        CALL(r, q_plan_rows_get(q, "p2", 1, 0, on_list, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
        rows[1].text = NULL;
        CALL(r, q_plan_rows_put(q, "p2", rows, 3, on_done, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
    }

    /* Claim: due plans leased, a second claim inside the lease gets nothing, after it gets them again. */
    {
        static const char p1r6[] = "{\"id\":\"p1\",\"rev\":6,\"state\":\"running\"}";
        static const char p2r2[] = "{\"id\":\"p2\",\"rev\":2,\"state\":\"running\"}";
        CALL(r, q_plan_cas(q, "p1", 5, p1r6, strlen(p1r6), 1000, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_plan_cas(q, "p2", 1, p2r2, strlen(p2r2), 5000, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_plan_claim(q, 2000, 10000, 10, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, 1);
        CHECK_EQ_STR(r.nd ? r.texts[0] : NULL, p1r6);
        CHECK_EQ_STR(zscore("p1"), "10000");
        CALL(r, q_plan_claim(q, 2000, 10000, 10, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, 0);
        CALL(r, q_plan_claim(q, 10000, 20000, 1, on_list, &r));
        CHECK_EQ_INT(r.nd, 1); /* the limit: p2 (due 5000) first */
        CHECK_EQ_STR(r.nd ? r.texts[0] : NULL, p2r2);
        CALL(r, q_plan_claim(q, 10000, 20000, 10, on_list, &r));
        CHECK_EQ_INT(r.nd, 1); /* p1, its lease over */
        CHECK_EQ_STR(r.nd ? r.texts[0] : NULL, p1r6);
        /* A deleted plan leaves the index at the next claim. */
        cmd_str(b, sizeof(b), "DEL %s%s", "spk:{enr}:plan:", "p2");
        CALL(r, q_plan_claim(q, 30000, 40000, 10, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, 1);
        CHECK_EQ_STR(zscore("p2"), "(nil)");
        CHECK_EQ_STR(zscore("p1"), "40000");
    }

    /* q_doc_mget: request documents by id, NULL where there is none. */
    {
        static const char d1[] = "{\"id\":\"r1\",\"rev\":1}";
        static const char d2[] = "{\"id\":\"r2\",\"rev\":1}";
        CALL(r, q_doc_create(q, "r1", d1, strlen(d1), 1, on_done, &r));
        CALL(r, q_doc_create(q, "r2", d2, strlen(d2), 2, on_done, &r));
        CALL(r, q_doc_mget(q, (const char *const[]){"r1", "rx", "r2", "p1"}, 4, on_list, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.nd, 4);
        if (r.nd == 4) {
            CHECK_EQ_STR(r.texts[0], d1);
            CHECK(r.texts[1] == NULL);
            CHECK_EQ_STR(r.texts[2], d2);
            CHECK(r.texts[3] == NULL); /* a plan's id is not a request's */
        }
        CALL(r, q_doc_mget(q, (const char *const[]){"r1", "R!"}, 2, on_list, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
        CALL(r, q_doc_mget(q, NULL, 0, on_list, &r));
        CHECK_EQ_INT(r.err, Q_ERR_INVALID);
    }

    /* cs: written by q_sync_sub_put (and dropped), by q_life_activate for a "/cs" request, read back. */
    {
        struct q_sync *qs = NULL;
        struct q_sub s, got;
        static const uint8_t cert[4] = {0x30, 0x02, 0x05, 0x00};
        char why[128];
        CHECK_EQ_INT(q_sync_connect(&cfg, &qs, why, sizeof(why)), Q_OK);
        memset(&s, 0, sizeof(s));
        snprintf(s.msisdn, sizeof(s.msisdn), "84980000001");
        snprintf(s.status, sizeof(s.status), "active");
        s.cert = cert;
        s.cert_len = sizeof(cert);
        s.cs = 1;
        CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
        CHECK_EQ_INT(q_sync_sub_get(qs, "84980000001", &got, NULL), Q_OK);
        CHECK_EQ_INT(got.cs, 1);
        CALL(r, q_life_sub_get(q, "84980000001", on_sub, &r));
        CHECK_EQ_INT(r.count, 1);
        s.cs = 0;
        CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
        CHECK_EQ_INT(q_sync_sub_get(qs, "84980000001", &got, NULL), Q_OK);
        CHECK_EQ_INT(got.cs, 0);
        snprintf(why, sizeof(why), "HEXISTS spk:{%u}:sub:84980000001 cs", q_shard_of("84980000001", SHARDS));
        cmd_str(b, sizeof(b), why, "", "");
        CHECK_EQ_STR(b, "0"); /* dropped, not "0" */
        s.cert_len = 0;       /* no certificate, no cs: both dropped in one HDEL */
        CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
        CHECK_EQ_INT(q_sync_sub_get(qs, "84980000001", &got, NULL), Q_OK);
        CHECK_EQ_INT(got.cs + (int)got.cert_len, 0);
        s.cs = 1;
        CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
        CHECK_EQ_INT(q_sync_sub_get(qs, "84980000001", &got, NULL), Q_OK);
        CHECK_EQ_INT(got.cs, 1);
        CHECK_EQ_INT(got.cert_len, 0);
        s.cs = 0;
        CHECK_EQ_INT(q_sync_sub_put(qs, &s), Q_OK);
        CALL(r, q_life_activate(q, "84980000001", NULL, 0, cert, sizeof(cert), 0, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_life_sub_get(q, "84980000001", on_sub, &r));
        CHECK_EQ_INT(r.count, 0);
        CALL(r, q_life_activate(q, "84980000001", NULL, 0, cert, sizeof(cert), 1, on_done, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        CALL(r, q_life_sub_get(q, "84980000001", on_sub, &r));
        CHECK_EQ_INT(r.count, 1);
        CHECK_EQ_INT(q_sync_sub_del(qs, "84980000001"), Q_OK);
        q_sync_free(qs);
    }

    /* The whole registry, read in steps, among other keys: every subscriber at least once, its fields right. */
    {
        unsigned missing = 0, wrong = 0, repeats = 0;
        long steps;
        nseen = NSUBS;
        seen = calloc(NSUBS, sizeof(*seen));
        load_subs(NSUBS, NULL, 0);
        cmd_str(b, sizeof(b), "SET %s %s", "spk:{3}:sub:notanumber", "x"); /* matches, is no subscriber */
        cmd_str(b, sizeof(b), "HSET %s msisdn %s", "spk:{enr}:req:r9", "84910000001");
        CALL(r, q_dbsize(q, on_count, &r));
        CHECK_EQ_INT(r.err, Q_OK);
        cmd_str(b, sizeof(b), "DBSIZE", "", "");
        CHECK_EQ_INT(r.count, strtoull(b, NULL, 10));
        CHECK(r.count > NSUBS + NSUBS / 10 * 2);
        steps = scan_all(q, 100, 0);
        CHECK(steps > 1);
        for (unsigned i = 0; i < NSUBS; i++) {
            missing += seen[i].times == 0;
            repeats += seen[i].times > 1;
            wrong +=
                seen[i].times && (seen[i].net != (int)(i % 4) || seen[i].cs != (i % 7 == 0) ||
                                  strcmp(seen[i].status, i % 5 == 0 ? "revoked" : "active") != 0 ||
                                  seen[i].cert_len != i % 3 * 400 || (seen[i].cert_len && seen[i].cert0 != i % 251));
        }
        CHECK_EQ_INT(missing, 0);
        CHECK_EQ_INT(wrong, 0);
        printf("scan: %u subscribers in %ld steps of COUNT 100, %u seen twice or more\n", NSUBS, steps, repeats);
        CALL(r, q_reg_scan(q, 0, 0, on_scan, &r)); /* COUNT 0: Redis's own */
        CHECK_EQ_INT(r.err, Q_OK);
        /* A subscriber key that is no hash: its HMGET fails, the step answers Q_ERR_PROTO, once. */
        snprintf(b, sizeof(b), "spk:{%u}:sub:84999999999", q_shard_of("84999999999", SHARDS));
        cmd_str(b + 100, sizeof(b) - 100, "SET %s %s", b, "x");
        CALL(r, q_reg_scan(q, 0, 1000000, on_scan, &r));
        CHECK_EQ_INT(r.err, Q_ERR_PROTO);
        CHECK_EQ_INT(r.got, 0);
    }

    if (bench_n) {
        cmd_str(b, sizeof(b), "FLUSHALL", "", "");
        bench(q, (unsigned)strtoul(bench_n, NULL, 10));
    }

    /* Redis away: every call answers Q_ERR_AGAIN, once. */
    redis_test_stop();
    for (int i = 0; i < 200 && q_connected(q); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CALL(r, q_reg_scan(q, 0, 100, on_scan, &r));
    CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
    CALL(r, q_dbsize(q, on_count, &r));
    CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
    CALL(r, q_plan_claim(q, 1, 2, 10, on_list, &r));
    CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
    CALL(r, q_plan_rows_get(q, "p1", 1, 3, on_list, &r));
    CHECK_EQ_INT(r.err, Q_ERR_AGAIN);
    CALL(r, q_plan_list(q, on_list, &r));
    CHECK_EQ_INT(r.err, Q_ERR_AGAIN);

    res_clear(&r);
    free(seen);
    q_free(q);
    event_base_free(base);
    return check_report("test_q_plan");
}
