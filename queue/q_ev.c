/*
 * q_ev.c - see q_ev.h.  The events are appended by the scripts of
 * q_scripts.h and q_docs.c; here the archiver's side: read, acknowledge,
 * measure.  Each call sends one script per stream (shards + 1), all at once
 * on the command connection, and answers once every one has: one round trip,
 * and every script stays in its stream's slot (docs/design.md, "Keys and
 * Redis Cluster").  The replies are copied as they come (q_reply_dup) and
 * parsed together at the end.
 */
#include "q_ev.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "q_conn.h"
#include "q_priv.h"
#include "q_scripts.h"

#define CONSUMER_MAX 64 /* octets of a consumer's name */

/* One call over several streams: the calls in flight, the first error, each stream's reply. */
struct run {
    unsigned left;
    enum q_err err;
    union {
        q_ev_read_cb *read;
        q_done_cb *done;
        q_ev_backlog_cb *backlog;
    } cb;
    void *arg;
    size_t n;
    char (*keys)[Q_EV_KEY_MAX]; /* the stream of each call */
    redisReply **replies;       /* NULL where a call failed */
    void (*finish)(struct run *r);
};

void q_ev_enable(struct q *q, uint64_t max_backlog)
{
    struct q_ev_state *ev = q_ev_state(q);

    ev->on = 1;
    ev->max_backlog = max_backlog;
}

/* The streams: 0..shards-1 are spk:{N}:ev, the last one spk:{enr}:ev. */
static size_t n_streams(struct q *q)
{
    return (size_t)q_shards(q) + 1;
}

static void stream_key(struct q *q, size_t i, char out[Q_EV_KEY_MAX])
{
    if (i < q_shards(q))
        snprintf(out, Q_EV_KEY_MAX, "spk:{%u}:ev", (unsigned)i);
    else
        snprintf(out, Q_EV_KEY_MAX, "%s", Q_EV_KEY_ENR);
}

/* 1 when key is one of q's streams. */
static int stream_ok(struct q *q, const char *key)
{
    char k[Q_EV_KEY_MAX];

    for (size_t i = 0; i < n_streams(q); i++) {
        stream_key(q, i, k);
        if (strcmp(k, key) == 0)
            return 1;
    }
    return 0;
}

/* A stream entry id: <ms>-<seq>, both decimal. */
static int entry_ok(const char *id)
{
    size_t a = strspn(id, "0123456789"), b;

    if (a == 0 || a > 20 || id[a] != '-')
        return 0;
    b = strspn(id + a + 1, "0123456789");
    return b > 0 && b <= 20 && id[a + 1 + b] == '\0';
}

static struct run *run_new(size_t n)
{
    struct run *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->keys = calloc(n ? n : 1, sizeof(*r->keys));
    r->replies = calloc(n ? n : 1, sizeof(*r->replies));
    if (!r->keys || !r->replies) {
        free(r->keys);
        free(r->replies);
        free(r);
        return NULL;
    }
    r->n = n;
    return r;
}

static void run_free(struct run *r)
{
    for (size_t i = 0; i < r->n; i++)
        q_reply_free(r->replies[i]);
    free(r->keys);
    free(r->replies);
    free(r);
}

/* Which of the run's calls c is: its index rides in c->msisdn, which only the subscriber calls use. */
static size_t call_index(const struct q_call *c)
{
    size_t i;

    memcpy(&i, c->msisdn, sizeof(i));
    return i;
}

/* One stream's script answered (or failed): keep its reply; the last one finishes the run. */
static void complete_one(struct q_call *c, enum q_err err, const redisReply *reply)
{
    struct run *r = c->arg;
    size_t i = call_index(c);

    if (err == Q_OK && !(r->replies[i] = q_reply_dup(reply)))
        err = Q_ERR_NOMEM;
    if (err != Q_OK && r->err == Q_OK)
        r->err = err;
    if (--r->left == 0)
        r->finish(r);
}

/*
 * Send the run's i-th call: script on stream r->keys[i] with argv.  A call
 * that cannot be made completes (failed) from the loop like any other, so
 * `left` counts it either way.
 */
static void send_one(struct q *q, struct run *r, size_t i, int script, int argc, const char *const *argv,
                     const size_t *argvlen)
{
    struct q_call *c = q_call_new(q, complete_one, script);
    enum q_err rc;

    if (!c) {
        /* No call to defer: account for it here (the user's callback is never run inside this call, see below). */
        if (r->err == Q_OK)
            r->err = Q_ERR_NOMEM;
        r->left--;
        return;
    }
    c->arg = r;
    memcpy(c->msisdn, &i, sizeof(i));
    rc = q_arg_script(c, 1);
    if (rc == Q_OK)
        rc = q_arg_str(c, r->keys[i]);
    for (int a = 0; rc == Q_OK && a < argc; a++)
        rc = q_arg_add(c, argv[a], argvlen ? argvlen[a] : strlen(argv[a]));
    if (rc != Q_OK) {
        q_call_fail(c, rc);
        return;
    }
    q_call_submit(c);
}

/*
 * The run is built and every call sent: left was set to n + 1 first, so no
 * completion could finish it early; drop that guard now.  When every call
 * failed at allocation (none pending), finish through the loop: an empty
 * command fails with Q_ERR_INVALID from there, and is told to finish.
 */
static void on_guard(void *arg, enum q_err err, const redisReply *reply)
{
    struct run *r = arg;

    (void)err;
    (void)reply;
    if (--r->left == 0)
        r->finish(r);
}

static void run_start(struct q *q, struct run *r)
{
    if (--r->left == 0) {
        r->left = 1;
        q_command(q, 0, NULL, NULL, on_guard, r);
    }
}

/* ---- read ---- */

/* One entry {id, {field, value, ...}} into ev (fields into *fp); 0 when it does not parse. */
static int parse_entry(const redisReply *e, const char *key, struct q_event *ev, struct q_ev_field **fp)
{
    const redisReply *id, *f;
    struct q_ev_field *fl = *fp;

    if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        return 0;
    id = e->element[0];
    f = e->element[1];
    if (!id || id->type != REDIS_REPLY_STRING || id->len == 0 || id->len >= Q_EV_ENTRY_MAX || !f ||
        f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0)
        return 0;
    for (size_t j = 0; j < f->elements; j++)
        if (!f->element[j] || f->element[j]->type != REDIS_REPLY_STRING)
            return 0;
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->stream, sizeof(ev->stream), "%s", key);
    memcpy(ev->entry, id->str, id->len);
    ev->fields = fl;
    ev->n_fields = f->elements / 2;
    for (size_t j = 0; j < f->elements; j += 2) {
        fl->name = f->element[j]->str;
        fl->name_len = f->element[j]->len;
        fl->val = (const uint8_t *)f->element[j + 1]->str;
        fl->len = f->element[j + 1]->len;
        fl++;
    }
    *fp = fl;
    return 1;
}

static void finish_read(struct run *r)
{
    struct q_event *evs = NULL;
    struct q_ev_field *fields = NULL, *fp;
    size_t n_evs = 0, n_fields = 0, n = 0;
    enum q_err err = r->err;

    /* Size first: the arrays the callback gets are allocated once. */
    for (size_t i = 0; i < r->n; i++) {
        const redisReply *a = r->replies[i];
        if (!a)
            continue;
        if (a->type != REDIS_REPLY_ARRAY) {
            err = err == Q_OK ? Q_ERR_PROTO : err;
            q_reply_free(r->replies[i]);
            r->replies[i] = NULL;
            continue;
        }
        n_evs += a->elements;
        for (size_t j = 0; j < a->elements; j++) {
            const redisReply *e = a->element[j];
            if (e && e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[1] &&
                e->element[1]->type == REDIS_REPLY_ARRAY)
                n_fields += e->element[1]->elements / 2;
        }
    }
    evs = calloc(n_evs ? n_evs : 1, sizeof(*evs));
    fields = calloc(n_fields ? n_fields : 1, sizeof(*fields));
    if (!evs || !fields) {
        err = Q_ERR_NOMEM;
        goto out;
    }
    fp = fields;
    for (size_t i = 0; i < r->n; i++) {
        const redisReply *a = r->replies[i];
        for (size_t j = 0; a && j < a->elements; j++) {
            if (parse_entry(a->element[j], r->keys[i], &evs[n], &fp))
                n++;
            else if (err == Q_OK)
                err = Q_ERR_PROTO; /* it stays pending: another read claims it after the idle time */
        }
    }
out:
    r->cb.read(r->arg, err, n ? evs : NULL, n);
    free(evs);
    free(fields);
    run_free(r);
}

void q_ev_read(struct q *q, const char *consumer, unsigned count, unsigned claim_idle_ms, q_ev_read_cb *cb, void *arg)
{
    struct q_ev_state *st = q_ev_state(q);
    size_t ns = n_streams(q), first;
    struct run *r;
    char idle[24];

    q_stat_call(q);
    if (!(r = run_new(ns))) {
        q_stat_error(q);
        cb(arg, Q_ERR_NOMEM, NULL, 0);
        return;
    }
    r->cb.read = cb;
    r->arg = arg;
    r->finish = finish_read;
    r->left = 1;
    if (!consumer || !consumer[0] || strlen(consumer) >= CONSUMER_MAX || count == 0) {
        r->err = Q_ERR_INVALID;
        run_start(q, r);
        return;
    }
    snprintf(idle, sizeof(idle), "%u", claim_idle_ms);
    /*
     * count is shared over the streams, count / streams each and one more
     * for the first count % streams of them, starting at a stream that moves
     * on every read: never more than count in all, and with fewer than one
     * each, every stream still gets its turn.
     */
    first = st->rr++ % ns;
    for (size_t k = 0; k < ns; k++) {
        size_t i = (first + k) % ns;
        unsigned share = (unsigned)(count / ns) + (k < count % ns ? 1u : 0u);
        char n[16];
        stream_key(q, i, r->keys[i]);
        if (share == 0)
            continue;
        snprintf(n, sizeof(n), "%u", share);
        r->left++;
        send_one(q, r, i, QS_EV_READ, 4, (const char *const[]){Q_EV_GROUP, consumer, idle, n}, NULL);
    }
    run_start(q, r);
}

/* ---- ack ---- */

static void finish_ack(struct run *r)
{
    enum q_err err = r->err;

    for (size_t i = 0; err == Q_OK && i < r->n; i++)
        if (r->replies[i] && r->replies[i]->type != REDIS_REPLY_INTEGER)
            err = Q_ERR_PROTO;
    if (r->cb.done)
        r->cb.done(r->arg, err);
    run_free(r);
}

/* The acknowledgements of one stream, in calls of at most this many ids. */
#define ACK_IDS_MAX (Q_CALL_ARGS_MAX - 8)

void q_ev_ack(struct q *q, const struct q_ev_ref *refs, size_t n, q_done_cb *cb, void *arg)
{
    size_t ns = n_streams(q), calls = 0;
    const char **argv = NULL;
    struct run *r;

    q_stat_call(q);
    /* A call per stream and ACK_IDS_MAX ids. */
    r = run_new(ns + n / ACK_IDS_MAX + 1);
    argv = malloc((ACK_IDS_MAX + 1) * sizeof(*argv));
    if (!r || !argv) {
        q_stat_error(q);
        if (r)
            run_free(r);
        free(argv);
        if (cb)
            cb(arg, Q_ERR_NOMEM);
        return;
    }
    r->cb.done = cb;
    r->arg = arg;
    r->finish = finish_ack;
    r->left = 1;
    for (size_t i = 0; i < n; i++)
        if (!memchr(refs[i].stream, '\0', Q_EV_KEY_MAX) || !memchr(refs[i].entry, '\0', Q_EV_ENTRY_MAX) ||
            !stream_ok(q, refs[i].stream) || !entry_ok(refs[i].entry)) {
            r->err = Q_ERR_INVALID;
            goto start;
        }
    for (size_t s = 0; s < ns; s++) {
        char key[Q_EV_KEY_MAX];
        int argc = 1;
        stream_key(q, s, key);
        argv[0] = Q_EV_GROUP;
        for (size_t i = 0; i <= n; i++) {
            if (i < n && strcmp(refs[i].stream, key) == 0)
                argv[argc++] = refs[i].entry;
            if (argc > 1 && (i == n || argc == ACK_IDS_MAX + 1)) {
                memcpy(r->keys[calls], key, sizeof(key));
                r->left++;
                send_one(q, r, calls++, QS_EV_ACK, argc, argv, NULL);
                argc = 1;
            }
        }
    }
start:
    free(argv);
    run_start(q, r);
}

/* ---- backlog ---- */

static void finish_backlog(struct run *r)
{
    enum q_err err = r->err;
    uint64_t entries = 0;
    int64_t oldest = 0;

    for (size_t i = 0; i < r->n; i++) {
        const redisReply *a = r->replies[i];
        long long ms;
        if (!a)
            continue;
        if (a->type != REDIS_REPLY_ARRAY || a->elements != 2 || !a->element[0] ||
            a->element[0]->type != REDIS_REPLY_INTEGER || a->element[0]->integer < 0 || !a->element[1] ||
            a->element[1]->type != REDIS_REPLY_STRING) {
            err = err == Q_OK ? Q_ERR_PROTO : err;
            continue;
        }
        entries += (uint64_t)a->element[0]->integer;
        if (a->element[1]->len == 0)
            continue;
        /* The entry id is <ms>-<seq>: the time the scripts appended it. */
        ms = strtoll(a->element[1]->str, NULL, 10);
        if (ms > 0 && (oldest == 0 || ms < oldest))
            oldest = ms;
    }
    r->cb.backlog(r->arg, err, err == Q_OK ? entries : 0, err == Q_OK ? oldest : 0);
    run_free(r);
}

void q_ev_backlog(struct q *q, q_ev_backlog_cb *cb, void *arg)
{
    size_t ns = n_streams(q);
    struct run *r;

    q_stat_call(q);
    if (!(r = run_new(ns))) {
        q_stat_error(q);
        cb(arg, Q_ERR_NOMEM, 0, 0);
        return;
    }
    r->cb.backlog = cb;
    r->arg = arg;
    r->finish = finish_backlog;
    r->left = 1;
    for (size_t i = 0; i < ns; i++) {
        stream_key(q, i, r->keys[i]);
        r->left++;
        send_one(q, r, i, QS_EV_BACKLOG, 0, NULL, NULL);
    }
    run_start(q, r);
}
