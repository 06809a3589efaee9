/*
 * q_plan.c - see q_plan.h.  The plan documents and their two indexes are a
 * q_doc_kind (q_priv.h): create, get, cas, list and claim are q_docs.c's
 * scripts under the plans' keys.  Here only what plans have and requests do
 * not: the rows, MGET of requests, and the registry read.
 */
#include "q_plan.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q_priv.h"

#define PLAN_PREFIX "spk:{enr}:plan:" /* + id; + id + ":rows" the rows */

static const struct q_doc_kind plan = {PLAN_PREFIX, "spk:{enr}:plans", "spk:{enr}:planrun", NULL}; /* no events */

/* Rows are written only while the plan exists, so a deleted plan gets no orphan rows. */
static const char LUA_ROWS_PUT[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOT_FOUND' end\n"
                                   "if #ARGV > 0 then redis.call('HSET', KEYS[2], unpack(ARGV)) end\n"
                                   "return 'OK'\n";

/* The subscriber keys, whatever the shard (q.h): braces are literal in a SCAN pattern. */
static const char REG_MATCH[] = "spk:{*}:sub:*";

void q_plan_create(struct q *q, const char *id, const char *text, size_t len, int64_t created_ms, q_doc_done_cb *cb,
                   void *arg)
{
    q_docs_create(q, &plan, id, text, len, created_ms, cb, arg);
}

void q_plan_get(struct q *q, const char *id, q_doc_get_cb *cb, void *arg)
{
    q_docs_get(q, &plan, id, cb, arg);
}

void q_plan_cas(struct q *q, const char *id, int64_t expect_rev, const char *text, size_t len, int64_t run_due_ms,
                q_doc_done_cb *cb, void *arg)
{
    q_docs_cas(q, &plan, id, expect_rev, text, len, run_due_ms, cb, arg);
}

void q_plan_claim(struct q *q, int64_t now_ms, int64_t until_ms, unsigned limit, q_plan_list_cb *cb, void *arg)
{
    q_docs_claim(q, &plan, now_ms, until_ms, limit, cb, arg);
}

/* The caller's callback and argument, and how many documents the reply must hold. */
struct ctx {
    union {
        q_doc_done_cb *done;
        q_plan_list_cb *list;
        q_count_cb *count;
    } cb;
    void *arg;
    size_t n;
};

static struct ctx *ctx_new(void *cb, void *arg, size_t n)
{
    struct ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->cb.done = (q_doc_done_cb *)cb;
    c->arg = arg;
    c->n = n;
    return c;
}

/* A refused call: an empty command fails with Q_ERR_INVALID from the loop, as every bad call. */
static void refuse(struct q *q, q_raw_cb *on, struct ctx *c)
{
    q_command(q, 0, NULL, NULL, on, c);
}

/* q_doc_list's answer without its count. */
static void listed(void *arg, enum q_err err, uint64_t matched, const struct q_doc *docs, size_t n)
{
    struct ctx c = *(struct ctx *)arg;

    (void)matched;
    free(arg);
    c.cb.list(c.arg, err, docs, n);
}

void q_plan_list(struct q *q, q_plan_list_cb *cb, void *arg)
{
    static const struct q_doc_filter all = {0};
    struct ctx *c = ctx_new((void *)cb, arg, 0);

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    q_docs_list(q, &plan, &all, listed, c);
}

/* ---- rows and MGET: positional answers ---- */

static void on_done(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    free(arg);
    if (err == Q_OK)
        err = q_script_word(r);
    c.cb.done(c.arg, err);
}

/* An HMGET or MGET answer of c->n elements: docs[i] the i-th, text NULL where nil. */
static void on_docs(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;
    struct q_doc *docs = NULL;

    free(arg);
    if (err == Q_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != c.n))
        err = Q_ERR_PROTO;
    if (err == Q_OK && !(docs = calloc(c.n, sizeof(*docs))))
        err = Q_ERR_NOMEM;
    for (size_t i = 0; err == Q_OK && i < c.n; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_STRING) {
            docs[i].text = e->str;
            docs[i].len = (size_t)e->len;
        } else if (e->type != REDIS_REPLY_NIL) {
            err = Q_ERR_PROTO;
        }
    }
    c.cb.list(c.arg, err, err == Q_OK ? docs : NULL, err == Q_OK ? c.n : 0);
    free(docs);
}

/* The rows hash of plan id; "" for a bad id. */
static void rows_key(char key[Q_DOC_KEY_MAX], const char *id)
{
    if (q_docs_key(&plan, key, id) == 0)
        snprintf(key + strlen(key), Q_DOC_KEY_MAX - strlen(key), ":rows");
}

/*
 * One command of `fixed` leading arguments and n more: the argument arrays
 * and room for n decimal numbers, in one block the caller frees.  NULL when
 * out of memory.
 */
struct args {
    const char **v;
    size_t *len;
    char (*num)[12];
};

static void *args_new(struct args *a, size_t fixed, size_t n, size_t nums)
{
    size_t total = fixed + n;
    char *blk = malloc(total * (sizeof(*a->v) + sizeof(*a->len)) + nums * sizeof(*a->num));

    if (!blk)
        return NULL;
    a->v = (const char **)(void *)blk;
    a->len = (size_t *)(void *)(blk + total * sizeof(*a->v));
    a->num = (char(*)[12])(void *)(a->len + total);
    return blk;
}

void q_plan_rows_put(struct q *q, const char *id, const struct q_plan_row *rows, size_t n, q_doc_done_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg, 0);
    char key[Q_DOC_KEY_MAX], rkey[Q_DOC_KEY_MAX];
    struct args a;
    void *blk;
    size_t k = 0, bad = n && !rows;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    q_docs_key(&plan, key, id);
    rows_key(rkey, id);
    for (size_t i = 0; !bad && i < n; i++)
        bad = !rows[i].text;
    if (!key[0] || n > Q_PLAN_ROWS_MAX || bad) {
        refuse(q, on_done, c);
        return;
    }
    if (!(blk = args_new(&a, 2, 2 * n, n))) {
        free(c);
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    a.v[k] = key;
    a.len[k++] = strlen(key);
    a.v[k] = rkey;
    a.len[k++] = strlen(rkey);
    for (size_t i = 0; i < n; i++) {
        snprintf(a.num[i], sizeof(a.num[i]), "%u", rows[i].no);
        a.v[k] = a.num[i];
        a.len[k++] = strlen(a.num[i]);
        a.v[k] = rows[i].text;
        a.len[k++] = rows[i].len;
    }
    q_eval(q, LUA_ROWS_PUT, 2, (int)k, a.v, a.len, on_done, c);
    free(blk);
}

void q_plan_rows_get(struct q *q, const char *id, unsigned first, size_t n, q_plan_list_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg, n);
    char rkey[Q_DOC_KEY_MAX] = "";
    struct args a;
    void *blk;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    rows_key(rkey, id);
    if (!rkey[0] || n == 0 || n > Q_PLAN_ROWS_MAX || first + n - 1 < first) {
        refuse(q, on_docs, c);
        return;
    }
    if (!(blk = args_new(&a, 2, n, n))) {
        free(c);
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    a.v[0] = "HMGET";
    a.len[0] = 5;
    a.v[1] = rkey;
    a.len[1] = strlen(rkey);
    for (size_t i = 0; i < n; i++) {
        snprintf(a.num[i], sizeof(a.num[i]), "%u", first + (unsigned)i);
        a.v[2 + i] = a.num[i];
        a.len[2 + i] = strlen(a.num[i]);
    }
    q_command(q, (int)(2 + n), a.v, a.len, on_docs, c);
    free(blk);
}

void q_doc_mget(struct q *q, const char *const *ids, size_t n, q_plan_list_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg, n);
    struct args a;
    char(*keys)[Q_DOC_KEY_MAX] = NULL;
    void *blk;
    size_t bad = 0;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    if (!ids || n == 0 || n > Q_PLAN_ROWS_MAX) {
        refuse(q, on_docs, c);
        return;
    }
    blk = args_new(&a, 1, n, 0);
    keys = malloc(n * sizeof(*keys));
    if (!blk || !keys) {
        free(blk);
        free(keys);
        free(c);
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    a.v[0] = "MGET";
    a.len[0] = 4;
    for (size_t i = 0; i < n; i++) {
        bad += q_doc_key(keys[i], ids[i]) != 0;
        a.v[1 + i] = keys[i];
        a.len[1 + i] = strlen(keys[i]);
    }
    if (bad)
        refuse(q, on_docs, c);
    else
        q_command(q, (int)(1 + n), a.v, a.len, on_docs, c);
    free(blk);
    free(keys);
}

/* ---- the registry, read whole ---- */

/* One key of a step: its entry, filled by its HMGET's answer. */
struct slot {
    struct scan *s;
    size_t key; /* its place in the SCAN's answer */
    char msisdn[16];
    char status[16];
    int net, cs, have; /* have: the key still existed */
    uint8_t *cert;
    size_t cert_len;
};

/* One q_reg_scan step: the SCAN's answer, then its keys' HMGETs until the last one answers. */
struct scan {
    struct q *q;
    q_reg_scan_cb *cb;
    void *arg;
    uint64_t next;
    enum q_err err; /* the first failure of any HMGET */
    size_t n, left;
    struct slot *slots;
};

static void scan_free(struct scan *s)
{
    for (size_t i = 0; s->slots && i < s->n; i++)
        free(s->slots[i].cert);
    free(s->slots);
    free(s);
}

/* All answers in: the caller's callback, once, with the entries that still existed. */
static void scan_finish(struct scan *s)
{
    struct q_reg_entry *e = NULL;
    size_t m = 0;

    if (s->err == Q_OK && s->n && !(e = calloc(s->n, sizeof(*e))))
        s->err = Q_ERR_NOMEM;
    for (size_t i = 0; s->err == Q_OK && i < s->n; i++) {
        const struct slot *sl = &s->slots[i];
        if (!sl->have)
            continue;
        e[m].msisdn = sl->msisdn;
        e[m].status = sl->status;
        e[m].net = sl->net;
        e[m].cs = sl->cs;
        e[m].cert = sl->cert;
        e[m++].cert_len = sl->cert_len;
    }
    if (s->err == Q_OK)
        s->cb(s->arg, Q_OK, s->next, e, m);
    else
        s->cb(s->arg, s->err, 0, NULL, 0);
    free(e);
    scan_free(s);
}

/* A decimal integer in a bulk string, within [lo, hi]. */
static int num_of(const redisReply *v, long long lo, long long hi, long long *out)
{
    char buf[24], *end = NULL;

    if (v->type != REDIS_REPLY_STRING || v->len == 0 || (size_t)v->len >= sizeof(buf))
        return -1;
    memcpy(buf, v->str, (size_t)v->len);
    buf[v->len] = '\0';
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno || *end || *out < lo || *out > hi ? -1 : 0;
}

/* HMGET status net cert cs: copied into the slot, which outlives the reply. */
static enum q_err slot_fill(struct slot *sl, const redisReply *r)
{
    const redisReply *st, *net, *cert, *cs;
    long long x = 0;

    if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
        return Q_ERR_PROTO;
    st = r->element[0];
    net = r->element[1];
    cert = r->element[2];
    cs = r->element[3];
    if (st->type == REDIS_REPLY_NIL)
        return Q_OK; /* deleted since the SCAN, or not a subscriber */
    if (st->type != REDIS_REPLY_STRING || (size_t)st->len >= sizeof(sl->status))
        return Q_ERR_PROTO;
    memcpy(sl->status, st->str, (size_t)st->len);
    if (net->type != REDIS_REPLY_NIL && num_of(net, INT32_MIN, INT32_MAX, &x) != 0)
        return Q_ERR_PROTO;
    sl->net = (int)x;
    sl->cs = q_reply_is(cs, "1");
    if (cert->type == REDIS_REPLY_STRING && cert->len > 0) {
        if (!(sl->cert = malloc((size_t)cert->len)))
            return Q_ERR_NOMEM;
        memcpy(sl->cert, cert->str, (size_t)cert->len);
        sl->cert_len = (size_t)cert->len;
    } else if (cert->type != REDIS_REPLY_NIL && cert->type != REDIS_REPLY_STRING) {
        return Q_ERR_PROTO;
    }
    sl->have = 1;
    return Q_OK;
}

static void on_fields(void *arg, enum q_err err, const redisReply *r)
{
    struct slot *sl = arg;
    struct scan *s = sl->s;

    if (err == Q_OK)
        err = slot_fill(sl, r);
    if (err != Q_OK && s->err == Q_OK)
        s->err = err;
    if (--s->left == 0)
        scan_finish(s);
}

/* The number of a subscriber key "spk:{N}:sub:<msisdn>"; 0 when it is not one. */
static int msisdn_of(const redisReply *k, char out[16])
{
    const char *p;

    if (k->type != REDIS_REPLY_STRING || strlen(k->str) != (size_t)k->len || !(p = strstr(k->str, "}:sub:")))
        return 0;
    p += 6;
    if (!q_msisdn_ok(p))
        return 0;
    memcpy(out, p, strlen(p) + 1);
    return 1;
}

static void on_scan(void *arg, enum q_err err, const redisReply *r)
{
    struct scan *s = arg;
    const redisReply *keys = NULL;
    long long cur = 0;

    if (err == Q_OK && (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
                        num_of(r->element[0], 0, INT64_MAX, &cur) != 0 || r->element[1]->type != REDIS_REPLY_ARRAY))
        err = Q_ERR_PROTO;
    if (err == Q_OK) {
        keys = r->element[1];
        s->next = (uint64_t)cur;
        if (keys->elements && !(s->slots = calloc(keys->elements, sizeof(*s->slots))))
            err = Q_ERR_NOMEM;
    }
    if (err != Q_OK) {
        s->err = err;
        scan_finish(s);
        return;
    }
    for (size_t i = 0; i < keys->elements; i++) {
        struct slot *sl = &s->slots[s->n];
        if (msisdn_of(keys->element[i], sl->msisdn)) {
            sl->s = s;
            sl->key = i;
            s->n++;
        }
    }
    /* One more than the calls, held while they are sent: an answer cannot finish the step under the loop. */
    s->left = s->n + 1;
    for (size_t i = 0; i < s->n; i++) {
        const redisReply *k = keys->element[s->slots[i].key];
        q_command(s->q, 6, (const char *const[]){"HMGET", k->str, "status", "net", "cert", "cs"},
                  (const size_t[]){5, (size_t)k->len, 6, 3, 4, 2}, on_fields, &s->slots[i]);
    }
    if (--s->left == 0)
        scan_finish(s);
}

void q_reg_scan(struct q *q, uint64_t cursor, unsigned count, q_reg_scan_cb *cb, void *arg)
{
    struct scan *s = calloc(1, sizeof(*s));
    char cur[24], cnt[16];

    if (!s) {
        cb(arg, Q_ERR_NOMEM, 0, NULL, 0);
        return;
    }
    s->q = q;
    s->cb = cb;
    s->arg = arg;
    snprintf(cur, sizeof(cur), "%" PRIu64, cursor);
    snprintf(cnt, sizeof(cnt), "%u", count ? count : 100);
    q_command(q, 6, (const char *const[]){"SCAN", cur, "MATCH", REG_MATCH, "COUNT", cnt},
              (const size_t[]){4, strlen(cur), 5, strlen(REG_MATCH), 5, strlen(cnt)}, on_scan, s);
}

static void on_count(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    free(arg);
    if (err == Q_OK && (r->type != REDIS_REPLY_INTEGER || r->integer < 0))
        err = Q_ERR_PROTO;
    c.cb.count(c.arg, err, err == Q_OK ? (uint64_t)r->integer : 0);
}

void q_dbsize(struct q *q, q_count_cb *cb, void *arg)
{
    struct ctx *c = ctx_new((void *)cb, arg, 0);

    if (!c) {
        cb(arg, Q_ERR_NOMEM, 0);
        return;
    }
    q_command(q, 1, (const char *const[]){"DBSIZE"}, (const size_t[]){6}, on_count, c);
}
