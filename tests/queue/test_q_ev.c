/*
 * test_q_ev.c - the archive's events in Redis Streams (queue/q_ev.c and the
 * scripts that append them) against a real redis-server: what finish, the
 * sweep's expiry, a receipt and the request documents append, what they do
 * not (plans; the archive off), reading through the consumer group, taking
 * over another consumer's entries, acknowledging, the backlog, and the
 * bound that refuses a new transaction.  State is read behind the code's
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
#include "q_docs.h"
#include "q_ev.h"
#include "q_plan.h"
#include "redis_test.h"

#define SHARDS 2

static struct event_base *base;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static redisReply *cmd(const char *fmt, const char *a, const char *b)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, fmt, a, b) : NULL;

    if (c)
        redisFree(c);
    return r;
}

static long long cmd_int(const char *fmt, const char *a, const char *b)
{
    redisReply *r = cmd(fmt, a, b);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    freeReplyObject(r);
    return v;
}

/* calls=N from INFO commandstats for one command ("evalsha"). */
static long long cmd_calls(const char *name)
{
    redisReply *r = cmd("INFO commandstats", NULL, NULL);
    long long v = 0;
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "cmdstat_%s:calls=", name);
    p = r && r->type == REDIS_REPLY_STRING ? strstr(r->str, pat) : NULL;
    if (p)
        v = strtoll(p + strlen(pat), NULL, 10);
    freeReplyObject(r);
    return v;
}

static void stream_of(const char *id, char out[Q_EV_KEY_MAX])
{
    snprintf(out, Q_EV_KEY_MAX, "spk:{%u}:ev", (unsigned)strtoul((char[3]){id[0], id[1], 0}, NULL, 16));
}

static long long xlen(const char *stream)
{
    return cmd_int("XLEN %s", stream, NULL);
}

/* Field f of the entry whose eid is eid in stream, malloc'd; NULL when no such entry or field. */
static char *ev_field(const char *stream, const char *eid, const char *f)
{
    redisReply *r = cmd("XRANGE %s - +", stream, NULL);
    char *out = NULL;

    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && !out; i++) {
        redisReply *kv = r->element[i]->element[1];
        int match = 0;
        for (size_t j = 0; j + 1 < kv->elements; j += 2)
            if (strcmp(kv->element[j]->str, "eid") == 0 && strcmp(kv->element[j + 1]->str, eid) == 0)
                match = 1;
        for (size_t j = 0; match && j + 1 < kv->elements; j += 2)
            if (strcmp(kv->element[j]->str, f) == 0)
                out = strndup(kv->element[j + 1]->str, kv->element[j + 1]->len);
    }
    freeReplyObject(r);
    return out;
}

#define CHECK_EV(stream, eid, f, want)          \
    do {                                        \
        char *v_ = ev_field(stream, eid, f);    \
        CHECK_EQ_STR(v_ ? v_ : "(none)", want); \
        free(v_);                               \
    } while (0)

/* ---- calls ---- */

struct res {
    int n;
    enum q_err err;
    char id[Q_ID_LEN];
    int existed;
};

static void on_create(void *arg, enum q_err err, const struct q_txn *t, const struct q_sub *s, int existed)
{
    struct res *r = arg;
    (void)s;
    r->err = err;
    r->existed = existed;
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
    struct res *r = arg;
    r->existed = t != NULL; /* want_txn: the stored txn came with the answer */
    on_done(arg, err);
}

static void on_lookup(void *arg, enum q_err err, const struct q_sub *s, const struct q_txn *t)
{
    struct res *r = arg;
    (void)s;
    r->existed = t != NULL;
    on_done(arg, err);
}

static void on_sweep(void *arg, enum q_err err, unsigned expired, unsigned resubmitted)
{
    struct res *r = arg;
    (void)resubmitted;
    r->existed = (int)expired;
    on_done(arg, err);
}

static const uint8_t DIGEST[32] = {1, 2, 3};

static struct res create(struct q *q, const char *msisdn, const char *idem, int64_t now, int64_t ttl)
{
    struct res r = {0};
    struct q_txn_new n = {.rp = "rp",
                          .msisdn = msisdn,
                          .idem_key = idem,
                          .req_hash = "h",
                          .digest_alg = 1,
                          .digest = DIGEST,
                          .digest_len = sizeof DIGEST,
                          .vc = "1234",
                          .display_text = "x",
                          .net = 1,
                          .now_ms = now,
                          .deadline_ms = now + ttl,
                          .lease_ms = 5000};
    q_txn_create(q, &n, on_create, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r;
}

static struct res finish(struct q *q, const char *id, int64_t now, const char *transport, const char *link, int want)
{
    struct res r = {0};
    struct q_finish f = {.state = Q_FAILED,
                         .result = "USER_CANCEL",
                         .etsi_status = 401,
                         .now_ms = now,
                         .retention_ms = 60000,
                         .want_txn = want,
                         .transport = transport,
                         .link = link};
    q_txn_finish(q, id, 0, &f, on_finish, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r;
}

static enum q_err doc_call(int which, struct q *q, const char *id, int64_t rev, const char *text)
{
    struct res r = {0};
    switch (which) {
    case 0: q_doc_create(q, id, text, strlen(text), now_ms(), on_done, &r); break;
    case 1: q_doc_cas(q, id, rev, text, strlen(text), 0, on_done, &r); break;
    case 2: q_life_save(q, id, rev, text, strlen(text), now_ms() + 1000, on_done, &r); break;
    case 3: q_plan_create(q, id, text, strlen(text), now_ms(), on_done, &r); break;
    default: q_plan_cas(q, id, rev, text, strlen(text), 0, on_done, &r); break;
    }
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r.err;
}

/* What a read handed out, copied. */
#define READ_MAX 64
struct read_res {
    int n;
    enum q_err err;
    size_t got;
    struct q_ev_ref refs[READ_MAX];
    char eid[READ_MAX][64];
    char type[READ_MAX][16];
    int n_fields[READ_MAX];
};

static void on_read(void *arg, enum q_err err, const struct q_event *evs, size_t n)
{
    struct read_res *r = arg;
    r->err = err;
    r->got = n;
    for (size_t i = 0; i < n && i < READ_MAX; i++) {
        memcpy(r->refs[i].stream, evs[i].stream, Q_EV_KEY_MAX);
        memcpy(r->refs[i].entry, evs[i].entry, Q_EV_ENTRY_MAX);
        r->n_fields[i] = (int)evs[i].n_fields;
        for (size_t j = 0; j < evs[i].n_fields; j++) {
            const struct q_ev_field *f = &evs[i].fields[j];
            if (f->name_len == 3 && memcmp(f->name, "eid", 3) == 0 && f->len < sizeof r->eid[i])
                memcpy(r->eid[i], f->val, f->len);
            if (f->name_len == 4 && memcmp(f->name, "type", 4) == 0 && f->len < sizeof r->type[i])
                memcpy(r->type[i], f->val, f->len);
        }
    }
    r->n++;
}

static struct read_res ev_read(struct q *q, const char *consumer, unsigned count, unsigned idle_ms)
{
    struct read_res r;
    memset(&r, 0, sizeof r);
    q_ev_read(q, consumer, count, idle_ms, on_read, &r);
    CHECK_EQ_INT(r.n, 0); /* never inside the call */
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r;
}

static enum q_err ev_ack(struct q *q, const struct q_ev_ref *refs, size_t n)
{
    struct res r = {0};
    q_ev_ack(q, refs, n, on_done, &r);
    CHECK_EQ_INT(r.n, 0);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    return r.err;
}

struct backlog_res {
    int n;
    enum q_err err;
    uint64_t entries;
    int64_t oldest;
};

static void on_backlog(void *arg, enum q_err err, uint64_t entries, int64_t oldest_ms)
{
    struct backlog_res *r = arg;
    r->err = err;
    r->entries = entries;
    r->oldest = oldest_ms;
    r->n++;
}

static struct backlog_res backlog(struct q *q)
{
    struct backlog_res r = {0};
    q_ev_backlog(q, on_backlog, &r);
    CHECK(loop_test_pump(base, &r.n, 1, 3000));
    CHECK_EQ_INT(r.err, Q_OK);
    return r;
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

/* i-th read entry whose eid is eid, -1 if none. */
static int find_eid(const struct read_res *r, const char *eid)
{
    for (size_t i = 0; i < r->got && i < READ_MAX; i++)
        if (strcmp(r->eid[i], eid) == 0)
            return (int)i;
    return -1;
}

/* Two numbers of one shard (q_shard_of), different from each other. */
static void same_shard(char a[16], char b[16], char c[16])
{
    char *out[3] = {a, b, c};
    unsigned want = q_shard_of("84900000100", SHARDS), k = 0;
    for (unsigned i = 100; k < 3; i++) {
        char m[16];
        snprintf(m, sizeof m, "849000%05u", i);
        if (q_shard_of(m, SHARDS) == want)
            memcpy(out[k++], m, sizeof m);
    }
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = SHARDS, .connect_timeout_ms = 500};
    struct q_sync *qs = NULL;
    struct q *q = NULL, *qoff = NULL;
    struct event *tk;
    char why[128], st[Q_EV_KEY_MAX], eid[96], num[32];
    static const char *const subs[] = {"84900000021", "84900000022", "84900000023", "84900000024", "84900000025"};
    char b1[16], b2[16], b3[16];
    int64_t t0 = now_ms();

    alarm(60);
    if (redis_test_start("test_q_ev") != 0)
        return 1;
    cfg.port = (uint16_t)redis_test_port();
    base = event_base_new();
    tk = loop_test_ticker(base);
    CHECK_EQ_INT(q_sync_connect(&cfg, &qs, why, sizeof why), Q_OK);
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++)
        put_sub(qs, subs[i]);
    same_shard(b1, b2, b3);
    put_sub(qs, b1);
    put_sub(qs, b2);
    put_sub(qs, b3);
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    CHECK_EQ_INT(q_new(base, &cfg, &qoff), Q_OK);
    loop_test_pump(base, NULL, 0, 300);
    CHECK(q_connected(q) && q_connected(qoff));

    /* The archive off: nothing is appended anywhere, and finish still records transport and link. */
    {
        struct res c = create(qoff, subs[0], NULL, t0, 60000);
        struct res r = {0};
        CHECK_EQ_INT(c.err, Q_OK);
        CHECK_EQ_INT(finish(qoff, c.id, t0 + 1, "smpp", "vt-1", 0).err, Q_OK);
        q_txn_receipt(qoff, c.id, "rp", "got it", t0 + 2, on_done, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(doc_call(0, qoff, "roff", 0, "{\"rev\":1,\"state\":\"draft\"}"), Q_OK);
        CHECK_EQ_INT(cmd_int("EXISTS spk:{0}:ev spk:{1}:ev", NULL, NULL), 0);
        CHECK_EQ_INT(cmd_int("EXISTS spk:{enr}:ev", NULL, NULL), 0);
        redisReply *h = cmd("HMGET spk:{%s}:txn:%s transport link", c.id[1] == '0' ? "0" : "1", c.id);
        CHECK(h && h->type == REDIS_REPLY_ARRAY && h->elements == 2 && h->element[0]->str && h->element[1]->str);
        if (h && h->elements == 2 && h->element[0]->str && h->element[1]->str) {
            CHECK_EQ_STR(h->element[0]->str, "smpp");
            CHECK_EQ_STR(h->element[1]->str, "vt-1");
        }
        freeReplyObject(h);
    }

    q_ev_enable(q, 1000000); /* archive.max_backlog's default */

    /* The hot path keeps its round trips with the archive on: create 1, por_lookup 1 (finish 1 below). */
    long long ev0 = cmd_calls("evalsha");
    struct q_stats st0, st1;
    q_get_stats(q, &st0);
    struct res a = create(q, subs[1], NULL, t0, 60000);
    q_get_stats(q, &st1);
    CHECK_EQ_INT(a.err, Q_OK);
    CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1);
    CHECK_EQ_INT(st1.calls - st0.calls, 1);
    CHECK_EQ_INT(st1.replies - st0.replies, 1);
    {
        struct res r = {0};
        ev0 = cmd_calls("evalsha");
        q_por_lookup(q, subs[1], on_lookup, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1);
    }
    /* A read of every stream: one call, its scripts pipelined (one per stream), answered together. */
    {
        q_get_stats(q, &st0);
        struct read_res r = ev_read(q, "probe", 10, 60000);
        q_get_stats(q, &st1);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.got, 0);
        CHECK_EQ_INT(st1.calls - st0.calls, 1);
        CHECK_EQ_INT(st1.replies - st0.replies, SHARDS + 1);
    }
    {
        struct res r = {0};
        long long hg0;
        q_txn_sent(q, a.id, on_done, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        ev0 = cmd_calls("evalsha");
        hg0 = cmd_calls("hgetall");
        r = finish(q, a.id, t0 + 100, "etsi204", "mssp-a", 1);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK(r.existed);                            /* want_txn answered ... */
        CHECK_EQ_INT(cmd_calls("evalsha") - ev0, 1); /* ... in one round trip ... */
        CHECK_EQ_INT(cmd_calls("hgetall") - hg0, 1); /* ... from the event's own read */
    }
    stream_of(a.id, st);
    CHECK_EQ_INT(xlen(st), 1);
    CHECK_EV(st, a.id, "kind", "sign");
    CHECK_EV(st, a.id, "type", "signature");
    snprintf(num, sizeof num, "%lld", (long long)(t0 + 100));
    CHECK_EV(st, a.id, "at", num);
    CHECK_EV(st, a.id, "finished_ms", num);
    CHECK_EV(st, a.id, "id", a.id);
    CHECK_EV(st, a.id, "msisdn", subs[1]);
    CHECK_EV(st, a.id, "state", "failed");
    CHECK_EV(st, a.id, "result", "USER_CANCEL");
    CHECK_EV(st, a.id, "transport", "etsi204");
    CHECK_EV(st, a.id, "link", "mssp-a");
    CHECK_EV(st, a.id, "vc", "1234");
    {
        char *s = ev_field(st, a.id, "sent_ms");
        CHECK(s && strtoll(s, NULL, 10) >= t0 && strtoll(s, NULL, 10) <= now_ms());
        free(s);
    }
    /* A late second finish appends nothing. */
    CHECK_EQ_INT(finish(q, a.id, t0 + 200, NULL, NULL, 0).err, Q_ERR_CONFLICT);
    CHECK_EQ_INT(xlen(st), 1);

    /* sent_many writes sent_ms too, the first time only. */
    {
        struct res b = create(q, subs[2], NULL, t0, 60000), r = {0};
        const char *ids[1] = {b.id};
        char key[64], *first;
        snprintf(key, sizeof key, "spk:{%c}:txn:%s", b.id[1], b.id);
        q_txn_sent_many(q, ids, 1, on_done, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        redisReply *v = cmd("HGET %s sent_ms", key, NULL);
        first = v && v->str ? strdup(v->str) : strdup("");
        freeReplyObject(v);
        CHECK(strtoll(first, NULL, 10) >= t0);
        usleep(5000);
        memset(&r, 0, sizeof r);
        q_txn_sent(q, b.id, on_done, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        v = cmd("HGET %s sent_ms", key, NULL);
        CHECK(v && v->str && strcmp(v->str, first) == 0);
        freeReplyObject(v);
        free(first);
        CHECK_EQ_INT(finish(q, b.id, t0 + 300, "smpp", "vt-2", 0).err, Q_OK);
    }

    /* The receipt: its own event, eid <id>.receipt.<ms>. */
    {
        struct res r = {0};
        q_txn_receipt(q, a.id, "rp", "thanks", t0 + 400, on_done, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        snprintf(eid, sizeof eid, "%s.receipt.%lld", a.id, (long long)(t0 + 400));
        CHECK_EV(st, eid, "type", "receipt");
        CHECK_EV(st, eid, "kind", "sign");
        CHECK_EV(st, eid, "id", a.id);
        CHECK_EV(st, eid, "rp", "rp");
        CHECK_EV(st, eid, "receipt", "thanks");
        snprintf(num, sizeof num, "%lld", (long long)(t0 + 400));
        CHECK_EV(st, eid, "receipt_ms", num);
    }

    /* The sweep's expiry: a signature event with the EXPIRED outcome. */
    struct res e = create(q, subs[3], NULL, t0, 1000);
    {
        struct res r = {0};
        char est[Q_EV_KEY_MAX];
        q_sweep(q, t0 + 5000, 1000, 0, NULL, on_sweep, &r);
        CHECK(loop_test_pump(base, &r.n, 1, 3000));
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK_EQ_INT(r.existed, 1);
        stream_of(e.id, est);
        CHECK_EV(est, e.id, "type", "signature");
        CHECK_EV(est, e.id, "result", "EXPIRED");
        CHECK_EV(est, e.id, "etsi_status", "208");
        snprintf(num, sizeof num, "%lld", (long long)(t0 + 5000));
        CHECK_EV(est, e.id, "at", num);
    }

    /* Request documents: create, cas and life save each append, eid <id>.<rev>; plans never. */
    {
        const char *d1 = "{\"rev\":1,\"state\":\"draft\"}", *d2 = "{\"rev\":2,\"state\":\"submitted\"}",
                   *d3 = "{\"rev\":3,\"state\":\"issuing\"}";
        CHECK_EQ_INT(doc_call(0, q, "r1", 0, d1), Q_OK);
        CHECK_EQ_INT(doc_call(0, q, "r1", 0, d1), Q_ERR_CONFLICT); /* taken: nothing appended */
        CHECK_EQ_INT(doc_call(1, q, "r1", 1, d2), Q_OK);
        CHECK_EQ_INT(doc_call(1, q, "r1", 1, d2), Q_ERR_CONFLICT);
        CHECK_EQ_INT(doc_call(2, q, "r1", 2, d3), Q_OK);
        CHECK_EQ_INT(xlen("spk:{enr}:ev"), 3);
        CHECK_EV("spk:{enr}:ev", "r1.1", "kind", "cert");
        CHECK_EV("spk:{enr}:ev", "r1.1", "type", "request");
        CHECK_EV("spk:{enr}:ev", "r1.1", "id", "r1");
        CHECK_EV("spk:{enr}:ev", "r1.1", "rev", "1");
        CHECK_EV("spk:{enr}:ev", "r1.1", "doc", d1);
        CHECK_EV("spk:{enr}:ev", "r1.2", "doc", d2);
        CHECK_EV("spk:{enr}:ev", "r1.3", "doc", d3);
        CHECK_EV("spk:{enr}:ev", "r1.3", "rev", "3");
        CHECK_EQ_INT(doc_call(3, q, "p1", 0, "{\"rev\":1}"), Q_OK);
        CHECK_EQ_INT(doc_call(4, q, "p1", 1, "{\"rev\":2}"), Q_OK);
        CHECK_EQ_INT(xlen("spk:{enr}:ev"), 3);
    }

    /*
     * Reading.  Events so far: a's finish and receipt, b's finish (both in
     * subs[1..2]'s shards), e's expiry, three requests: 7.
     */
    long long total = xlen("spk:{0}:ev") + xlen("spk:{1}:ev") + xlen("spk:{enr}:ev");
    CHECK_EQ_INT(total, 7);
    {
        struct backlog_res bl = backlog(q);
        CHECK_EQ_INT(bl.entries, 7);
        CHECK(bl.oldest >= t0 - 1 && bl.oldest <= now_ms());
    }
    {
        /* count bounds the whole read, over all three streams. */
        struct read_res r = ev_read(q, "arch-a", 1, 60000);
        CHECK_EQ_INT(r.err, Q_OK);
        CHECK(r.got <= 1);
        struct read_res r2 = ev_read(q, "arch-a", 2, 60000);
        CHECK(r2.got <= 2);
        struct read_res rest = ev_read(q, "arch-a", 50, 60000);
        CHECK_EQ_INT(rest.err, Q_OK);
        CHECK_EQ_INT(r.got + r2.got + rest.got, 7);
        CHECK(find_eid(&rest, "r1.3") >= 0 || find_eid(&r, "r1.3") >= 0 || find_eid(&r2, "r1.3") >= 0);
        /* Nothing new, and nothing idle long enough to take over. */
        CHECK_EQ_INT(ev_read(q, "arch-a", 50, 60000).got, 0);
        CHECK_EQ_INT(ev_read(q, "arch-b", 50, 60000).got, 0);
        {
            int i = find_eid(&rest, a.id);
            if (i >= 0) {
                CHECK_EQ_STR(rest.type[i], "signature");
                CHECK(rest.n_fields[i] > 20);
                CHECK_EQ_STR(rest.refs[i].stream, st);
            }
        }
        /* Acknowledge the first two reads' entries: deleted, the backlog shrinks. */
        CHECK_EQ_INT(ev_ack(q, r.refs, r.got), Q_OK);
        CHECK_EQ_INT(ev_ack(q, r2.refs, r2.got), Q_OK);
        CHECK_EQ_INT(backlog(q).entries, 7 - r.got - r2.got);

        /* arch-a dies with `rest` unacknowledged: after the idle time arch-b takes them, arch-a keeps nothing. */
        usleep(300 * 1000);
        struct read_res tb = ev_read(q, "arch-b", 50, 200);
        CHECK_EQ_INT(tb.err, Q_OK);
        CHECK_EQ_INT(tb.got, rest.got);
        for (size_t i = 0; i < rest.got; i++)
            CHECK(find_eid(&tb, rest.eid[i]) >= 0);
        CHECK_EQ_INT(ev_read(q, "arch-a", 50, 200).got, 0); /* just claimed: not idle */
        CHECK_EQ_INT(ev_ack(q, tb.refs, tb.got), Q_OK);
        struct backlog_res bl = backlog(q);
        CHECK_EQ_INT(bl.entries, 0);
        CHECK_EQ_INT(bl.oldest, 0);
        CHECK_EQ_INT(xlen("spk:{enr}:ev"), 0);
        /* An acknowledged entry is gone from the group's pending list too. */
        redisReply *p = cmd("XPENDING %s archive", st, NULL);
        CHECK(p && p->type == REDIS_REPLY_ARRAY && p->element[0]->integer == 0);
        freeReplyObject(p);
    }

    /* Arguments. */
    {
        struct q_ev_ref bad[1];
        memset(bad, 0, sizeof bad);
        snprintf(bad[0].stream, sizeof bad[0].stream, "spk:{9}:ev"); /* no such shard */
        snprintf(bad[0].entry, sizeof bad[0].entry, "1-0");
        CHECK_EQ_INT(ev_ack(q, bad, 1), Q_ERR_INVALID);
        snprintf(bad[0].stream, sizeof bad[0].stream, "spk:{0}:ev");
        snprintf(bad[0].entry, sizeof bad[0].entry, "1-0 x");
        CHECK_EQ_INT(ev_ack(q, bad, 1), Q_ERR_INVALID);
        CHECK_EQ_INT(ev_ack(q, NULL, 0), Q_OK);
        CHECK_EQ_INT(ev_read(q, "", 10, 100).err, Q_ERR_INVALID);
        CHECK_EQ_INT(ev_read(q, "x", 0, 100).err, Q_ERR_INVALID);
    }

    /* The bound: at 2 entries in the shard's stream a new txn is refused, nothing written. */
    q_ev_enable(q, 2);
    {
        char bst[Q_EV_KEY_MAX], sub_key[64], txns[64];
        unsigned sh = q_shard_of(b1, SHARDS);
        struct res c1 = create(q, b1, "idem-1", t0, 60000);
        CHECK_EQ_INT(c1.err, Q_OK);
        CHECK_EQ_INT(finish(q, c1.id, t0 + 10, NULL, NULL, 0).err, Q_OK);
        stream_of(c1.id, bst);
        CHECK_EQ_INT(xlen(bst), 1);
        struct res c2 = create(q, b2, NULL, t0, 60000);
        CHECK_EQ_INT(c2.err, Q_OK);
        CHECK_EQ_INT(finish(q, c2.id, t0 + 10, NULL, NULL, 0).err, Q_OK);
        CHECK_EQ_INT(xlen(bst), 2);
        snprintf(sub_key, sizeof sub_key, "spk:{%u}:sub:%s", sh, b3);
        snprintf(txns, sizeof txns, "spk:{%u}:due", sh);
        long long due0 = cmd_int("ZCARD %s", txns, NULL), keys0 = cmd_int("DBSIZE", NULL, NULL);
        redisReply *c0 = cmd("HGET %s cntr", sub_key, NULL);
        char cntr0[32];
        snprintf(cntr0, sizeof cntr0, "%s", c0 && c0->str ? c0->str : "");
        freeReplyObject(c0);
        struct res c3 = create(q, b3, NULL, t0, 60000);
        CHECK_EQ_INT(c3.err, Q_ERR_BACKLOG);
        CHECK_EQ_INT(cmd_int("ZCARD %s", txns, NULL), due0);
        CHECK_EQ_INT(cmd_int("DBSIZE", NULL, NULL), keys0);
        CHECK_EQ_INT(cmd_int("HEXISTS %s busy", sub_key, NULL), 0);
        c0 = cmd("HGET %s cntr", sub_key, NULL);
        CHECK_EQ_STR(c0 && c0->str ? c0->str : "", cntr0);
        freeReplyObject(c0);
        /* An idempotent retry of an existing txn still gets it. */
        struct res again = create(q, b1, "idem-1", t0, 60000);
        CHECK_EQ_INT(again.err, Q_OK);
        CHECK_EQ_INT(again.existed, 1);
        CHECK_EQ_STR(again.id, c1.id);
        /* Another shard is not bounded by this one's stream. */
        {
            const char *other = NULL;
            for (size_t i = 0; i < sizeof subs / sizeof *subs && !other; i++)
                if (q_shard_of(subs[i], SHARDS) != sh)
                    other = subs[i];
            CHECK(other != NULL);
            if (other)
                CHECK_EQ_INT(create(q, other, NULL, t0, 60000).err, Q_OK);
        }
        /* Drained below the bound: accepted again. */
        struct read_res r = ev_read(q, "arch-a", 50, 60000);
        CHECK_EQ_INT(ev_ack(q, r.refs, r.got), Q_OK);
        CHECK_EQ_INT(create(q, b3, NULL, t0, 60000).err, Q_OK);
        CHECK(strcmp(q_strerror(Q_ERR_BACKLOG), "unknown error") != 0);
    }

    q_free(q);
    q_free(qoff);
    q_sync_free(qs);
    event_free(tk);
    event_base_free(base);
    return check_report("test_q_ev");
}
