/*
 * q.c - the asynchronous half of q.h: two hiredis connections on the caller's
 * event loop (commands; and pub/sub for q_watch), each with its own
 * reconnect timer, and one struct q_call per API call.
 *
 * A call's life: built (argv copied into the call), submitted with
 * EVALSHA/HGETALL, answered (or failed by hiredis with a NULL reply when the
 * connection goes), completed: parsed, user callback, freed.  A call that
 * cannot be submitted is queued on `deferred` and completed from a zero-delay
 * event, so a user callback never runs inside the q_* call that asked for it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cfg.h"
#include "log.h"
#include "q_priv.h"
#include "q_scripts.h"

#define BACKOFF_MIN_MS       100
#define BACKOFF_MAX_MS       2000
#define MAX_ARGS             32 /* create with an Idempotency-Key: 3 + 6 keys + 19 arguments */
#define DEFAULT_RETENTION_MS (86400LL * 1000)
#define DEFAULT_SWEEP_LIMIT  100

struct q_conn {
    struct q *q;
    redisAsyncContext *ac; /* NULL while down */
    int up;                /* handshake done: AUTH, SELECT, scripts or SUBSCRIBE */
    int watch;             /* the pub/sub connection */
    unsigned handshake_left;
    unsigned backoff_ms;
    unsigned starts;
    struct event *retry_ev; /* reconnect after backoff */
    struct event *io_ev;    /* connect timeout, then "no reply for too long" */
};

struct q {
    struct event_base *base;
    struct cfg_redis cfg; /* copy; password wiped in q_free */
    struct q_conn cmd, sub;
    struct event *defer_ev;
    struct q_call *deferred, **deferred_tail;
    q_watch_cb *watch_cb;
    void *watch_arg;
    struct q_stats st;
    int freeing;          /* in q_free: complete everything now */
    int free_requested;   /* q_free was called from a callback */
    unsigned cb_depth;    /* > 0 while a user callback runs */
    int64_t retention_ms; /* TTL of transactions expired by the sweep */
    unsigned cmd_timeout_ms;
    char sha[QS_COUNT][41];
};

enum q_op { OP_CREATE, OP_SENT, OP_LOOKUP, OP_FINISH, OP_GET, OP_SWEEP, OP_RAW };

struct q_sweep_run {
    unsigned left;
    unsigned expired, resubmitted;
    enum q_err err;
    q_resubmit_cb *resubmit;
    q_sweep_cb *done;
    void *arg;
};

struct q_call {
    struct q *q;
    enum q_op op;
    int script;  /* enum q_script, or -1 for a plain command */
    int retried; /* NOSCRIPT fallback to EVAL already used */
    union {
        q_create_cb *create;
        q_done_cb *done;
        q_lookup_cb *lookup;
        q_get_cb *get;
        q_finish_cb *finish;
        q_raw_cb *raw;
    } cb;
    void *arg;
    struct q_sweep_run *sw;
    char msisdn[16]; /* to fill q_sub.msisdn when the hash lacks it */
    enum q_err err;  /* why a deferred call fails */
    struct q_call *next;
    int argc;
    const char *argv[MAX_ARGS];
    size_t argvlen[MAX_ARGS];
    size_t argoff[MAX_ARGS];
    char *buf;
    size_t buflen, bufcap;
};

static void conn_start(struct q_conn *cn);
static void conn_drop(struct q_conn *cn, const char *why);

/* ---- calls: building ---- */

static struct q_call *call_new(struct q *q, enum q_op op, int script)
{
    struct q_call *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->q = q;
    c->op = op;
    c->script = script;
    return c;
}

static void call_free(struct q_call *c)
{
    if (!c)
        return;
    if (c->buf) {
        /* Arguments may carry signatures and certificates: not secret, but no reason to leave them. */
        OPENSSL_cleanse(c->buf, c->bufcap);
        free(c->buf);
    }
    free(c);
}

/* Append one argument, copied; argv pointers are fixed up in call_seal(). */
static enum q_err arg_add(struct q_call *c, const void *p, size_t n)
{
    if (c->argc >= MAX_ARGS)
        return Q_ERR_INVALID;
    if (c->buflen + n + 1 > c->bufcap) {
        size_t cap = c->bufcap ? c->bufcap : 256;
        char *nb;
        while (cap < c->buflen + n + 1)
            cap *= 2;
        nb = realloc(c->buf, cap);
        if (!nb)
            return Q_ERR_NOMEM;
        c->buf = nb;
        c->bufcap = cap;
    }
    if (n)
        memcpy(c->buf + c->buflen, p, n);
    c->buf[c->buflen + n] = '\0';
    c->argoff[c->argc] = c->buflen;
    c->argvlen[c->argc] = n;
    c->argc++;
    c->buflen += n + 1;
    return Q_OK;
}

static enum q_err arg_str(struct q_call *c, const char *s)
{
    return arg_add(c, s ? s : "", s ? strlen(s) : 0);
}

static enum q_err arg_i64(struct q_call *c, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);

    return arg_add(c, b, (size_t)n);
}

static enum q_err arg_u64(struct q_call *c, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRIu64, v);

    return arg_add(c, b, (size_t)n);
}

static enum q_err arg_key(struct q_call *c, unsigned shard, const char *kind, const char *suffix)
{
    char k[Q_KEY_MAX];
    enum q_err rc = q_key(k, sizeof k, shard, kind, suffix);

    if (rc != Q_OK)
        return rc;
    return arg_str(c, k);
}

/* "EVALSHA <sha> <numkeys>": the first three arguments of a script call. */
static enum q_err arg_script(struct q_call *c, unsigned numkeys)
{
    enum q_err rc;

    if ((rc = arg_str(c, "EVALSHA")) != Q_OK)
        return rc;
    if ((rc = arg_str(c, c->q->sha[c->script])) != Q_OK)
        return rc;
    return arg_u64(c, numkeys);
}

static void call_seal(struct q_call *c)
{
    for (int i = 0; i < c->argc; i++)
        c->argv[i] = c->buf + c->argoff[i];
}

/* ---- calls: completion ---- */

static int is_infra_error(enum q_err e)
{
    return e == Q_ERR_AGAIN || e == Q_ERR_PROTO || e == Q_ERR_NOMEM;
}

static enum q_err status_err(const redisReply *s)
{
    if (q_reply_is(s, "OK") || q_reply_is(s, "EXISTED"))
        return Q_OK;
    if (q_reply_is(s, "NOTFOUND"))
        return Q_ERR_NOT_FOUND;
    if (q_reply_is(s, "INACTIVE"))
        return Q_ERR_INACTIVE;
    if (q_reply_is(s, "BUSY"))
        return Q_ERR_BUSY;
    if (q_reply_is(s, "CONFLICT"))
        return Q_ERR_CONFLICT;
    if (q_reply_is(s, "MISMATCH"))
        return Q_ERR_IDEM_MISMATCH;
    if (q_reply_is(s, "COLLISION"))
        return Q_ERR_AGAIN; /* a 96-bit id collided: a retry draws a new one */
    return Q_ERR_PROTO;
}

/* A script's answer: an array starting with a status word.  *st gets the word's error. */
static enum q_err script_reply(const redisReply *r, size_t min_elems, enum q_err *st)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !r->element[0])
        return Q_ERR_PROTO;
    *st = status_err(r->element[0]);
    if (*st == Q_ERR_PROTO)
        return Q_ERR_PROTO;
    if (*st == Q_OK && r->elements < min_elems)
        return Q_ERR_PROTO;
    return Q_OK;
}

static void complete_create(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;
    struct q_sub s;
    enum q_err st = Q_OK;
    int existed = 0;

    memset(&t, 0, sizeof t);
    memset(&s, 0, sizeof s);
    if (err != Q_OK)
        goto out;
    if ((err = script_reply(r, 3, &st)) != Q_OK)
        goto out;
    err = st;
    if (st == Q_ERR_BUSY) {
        if (r->elements < 2 || !r->element[1] || r->element[1]->type != REDIS_REPLY_STRING ||
            r->element[1]->len != Q_ID_LEN - 1) {
            err = Q_ERR_PROTO;
            goto out;
        }
        memcpy(t.id, r->element[1]->str, Q_ID_LEN - 1);
        goto out;
    }
    if (st != Q_OK)
        goto out;
    existed = q_reply_is(r->element[0], "EXISTED");
    if ((err = q_parse_txn(r->element[1], &t)) != Q_OK) {
        err = Q_ERR_PROTO;
        goto out;
    }
    err = q_parse_sub(r->element[2], &s);
    if (err == Q_ERR_NOT_FOUND && existed) {
        err = Q_OK; /* the subscriber was deleted since: the txn itself is what the retry wants */
    } else if (err != Q_OK) {
        err = Q_ERR_PROTO;
        goto out;
    }
    if (!s.msisdn[0])
        memcpy(s.msisdn, t.msisdn, sizeof s.msisdn);
out:
    c->cb.create(c->arg, err, (err == Q_OK || err == Q_ERR_BUSY) ? &t : NULL, err == Q_OK ? &s : NULL, existed);
}

/* The call's outcome: the transport's error, else the script's status word. */
static enum q_err script_status(enum q_err err, const redisReply *r)
{
    enum q_err st = Q_OK;

    if (err == Q_OK) {
        err = script_reply(r, 1, &st);
        if (err == Q_OK)
            err = st;
    }
    return err;
}

static void complete_done(struct q_call *c, enum q_err err, const redisReply *r)
{
    c->cb.done(c->arg, script_status(err, r));
}

/*
 * A finish that asked for the stored transaction gets it after "OK".  The
 * outcome is recorded whatever that part holds: a reply that does not parse
 * only costs the caller the copy (the watch channel still tells everyone).
 */
static void complete_finish(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;
    int have_txn = 0;

    err = script_status(err, r);
    if (err == Q_OK && r->elements >= 2 && q_parse_txn(r->element[1], &t) == Q_OK)
        have_txn = 1;
    c->cb.finish(c->arg, err, have_txn ? &t : NULL);
}

static void complete_lookup(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;
    struct q_sub s;
    enum q_err st = Q_OK;
    int have_txn = 0;

    memset(&s, 0, sizeof s);
    if (err != Q_OK)
        goto out;
    if ((err = script_reply(r, 3, &st)) != Q_OK || (err = st) != Q_OK)
        goto out;
    if (q_parse_sub(r->element[1], &s) != Q_OK) {
        err = Q_ERR_PROTO;
        goto out;
    }
    if (!s.msisdn[0])
        memcpy(s.msisdn, c->msisdn, sizeof s.msisdn);
    err = q_parse_txn(r->element[2], &t);
    if (err == Q_OK) {
        have_txn = 1;
    } else if (err == Q_ERR_NOT_FOUND) {
        err = Q_OK;
    } else {
        err = Q_ERR_PROTO;
    }
out:
    c->cb.lookup(c->arg, err, err == Q_OK ? &s : NULL, have_txn && err == Q_OK ? &t : NULL);
}

static void complete_get(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_txn t;

    if (err == Q_OK)
        err = q_parse_txn(r, &t);
    c->cb.get(c->arg, err, err == Q_OK ? &t : NULL);
}

static void complete_sweep(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q_sweep_run *sw = c->sw;
    enum q_err st = Q_OK;
    const redisReply *list;

    if (err != Q_OK)
        goto out;
    if ((err = script_reply(r, 3, &st)) != Q_OK || (err = st) != Q_OK)
        goto out;
    list = r->element[2];
    if (!r->element[1] || r->element[1]->type != REDIS_REPLY_INTEGER || r->element[1]->integer < 0 || !list ||
        list->type != REDIS_REPLY_ARRAY || list->elements % 2 != 0) {
        err = Q_ERR_PROTO;
        goto out;
    }
    sw->expired += (unsigned)r->element[1]->integer;
    for (size_t i = 0; i < list->elements; i += 2) {
        struct q_txn t;
        struct q_sub s;
        if (q_parse_txn(list->element[i], &t) != Q_OK || q_parse_sub(list->element[i + 1], &s) != Q_OK) {
            /* One bad entry must not hide the others: its lease was renewed, it comes back later. */
            err = Q_ERR_PROTO;
            continue;
        }
        if (!s.msisdn[0])
            memcpy(s.msisdn, t.msisdn, sizeof s.msisdn);
        sw->resubmitted++;
        if (sw->resubmit)
            sw->resubmit(sw->arg, &t, &s);
    }
out:
    if (err != Q_OK && sw->err == Q_OK)
        sw->err = err;
    if (--sw->left == 0) {
        if (sw->done)
            sw->done(sw->arg, sw->err, sw->expired, sw->resubmitted);
        free(sw);
    }
}

/* Parse, call the user back exactly once, free the call. */
static void call_complete(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q *q = c->q;

    if (is_infra_error(err))
        q->st.errors++;
    q->cb_depth++;
    switch (c->op) {
    case OP_CREATE: complete_create(c, err, r); break;
    case OP_SENT: complete_done(c, err, r); break;
    case OP_FINISH: complete_finish(c, err, r); break;
    case OP_LOOKUP: complete_lookup(c, err, r); break;
    case OP_GET: complete_get(c, err, r); break;
    case OP_SWEEP: complete_sweep(c, err, r); break;
    case OP_RAW: c->cb.raw(c->arg, err, err == Q_OK ? r : NULL); break;
    }
    q->cb_depth--;
    call_free(c);
}

/* Fail a call from the event loop, never from inside the caller's q_* call. */
static void call_defer(struct q_call *c, enum q_err err)
{
    struct q *q = c->q;

    if (q->freeing) {
        call_complete(c, err, NULL);
        return;
    }
    c->err = err;
    c->next = NULL;
    *q->deferred_tail = c;
    q->deferred_tail = &c->next;
    event_active(q->defer_ev, EV_TIMEOUT, 0);
}

static void q_free_now(struct q *q);

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    struct q *q = arg;
    struct q_call *list = q->deferred;

    (void)fd;
    (void)what;
    /* Take the list as it is: calls a callback makes land on a fresh list and the next round. */
    q->deferred = NULL;
    q->deferred_tail = &q->deferred;
    while (list) {
        struct q_call *c = list;
        list = c->next;
        call_complete(c, c->err, NULL);
    }
    if (q->free_requested)
        q_free_now(q);
}

static void on_reply(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q_call *c = priv;
    struct q *q = c->q;
    redisReply *r = rv;
    enum q_err err;

    q->st.in_flight--;
    if (!r) {
        call_complete(c, Q_ERR_AGAIN, NULL); /* connection lost or q_free */
        return;
    }
    q->st.replies++;
    if (ac == q->cmd.ac && q->cmd.up) {
        if (q->st.in_flight > 0)
            event_add(q->cmd.io_ev, &(struct timeval){q->cmd_timeout_ms / 1000, (q->cmd_timeout_ms % 1000) * 1000});
        else
            event_del(q->cmd.io_ev);
    }
    if (r->type == REDIS_REPLY_ERROR) {
        /* Redis restarted (or SCRIPT FLUSH): send the body once; EVAL caches it again. */
        if (c->script >= 0 && !c->retried && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0) {
            c->retried = 1;
            c->argv[0] = "EVAL";
            c->argvlen[0] = 4;
            c->argv[1] = q_scripts[c->script];
            c->argvlen[1] = strlen(q_scripts[c->script]);
            if (redisAsyncCommandArgv(ac, on_reply, c, c->argc, c->argv, c->argvlen) == REDIS_OK) {
                q->st.in_flight++;
                return;
            }
            call_complete(c, Q_ERR_AGAIN, NULL);
            return;
        }
        err = q_map_error_reply(r);
        LOGP_RL(LOG_WARN, 10, "redis", NULL, "command failed: %.*s", r->len > 200 ? 200 : (int)r->len, r->str);
        call_complete(c, err, NULL);
        return;
    }
    call_complete(c, Q_OK, r);
}

static void call_submit(struct q_call *c)
{
    struct q *q = c->q;
    struct q_conn *cn = &q->cmd;

    call_seal(c);
    if (q->freeing || !cn->up || !cn->ac) {
        call_defer(c, Q_ERR_AGAIN);
        return;
    }
    if (redisAsyncCommandArgv(cn->ac, on_reply, c, c->argc, c->argv, c->argvlen) != REDIS_OK) {
        call_defer(c, Q_ERR_AGAIN);
        return;
    }
    if (q->st.in_flight++ == 0)
        event_add(cn->io_ev, &(struct timeval){q->cmd_timeout_ms / 1000, (q->cmd_timeout_ms % 1000) * 1000});
}

/* A call that could not be built: report through the same deferred path. */
static void call_fail(struct q_call *c, enum q_err err)
{
    call_defer(c, err);
}

/* ---- connections ---- */

static void conn_schedule(struct q_conn *cn)
{
    struct timeval tv;

    if (cn->q->freeing)
        return;
    tv.tv_sec = cn->backoff_ms / 1000;
    tv.tv_usec = (cn->backoff_ms % 1000) * 1000;
    event_add(cn->retry_ev, &tv);
    cn->backoff_ms = cn->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : cn->backoff_ms * 2;
}

static const char *conn_name(const struct q_conn *cn)
{
    return cn->watch ? "redis-sub" : "redis";
}

static void conn_up(struct q_conn *cn)
{
    cn->up = 1;
    cn->backoff_ms = BACKOFF_MIN_MS;
    event_del(cn->io_ev);
    LOGP(LOG_INFO, conn_name(cn), NULL, "connected");
}

/* Drop the connection now (pending calls fail with AGAIN) and reconnect later. */
static void conn_drop(struct q_conn *cn, const char *why)
{
    redisAsyncContext *ac = cn->ac;

    LOGP_RL(LOG_WARN, 10, conn_name(cn), NULL, "connection dropped: %s", why);
    cn->ac = NULL;
    cn->up = 0;
    event_del(cn->io_ev);
    if (ac)
        redisAsyncFree(ac); /* deferred by hiredis when inside one of its callbacks */
    conn_schedule(cn);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct q_conn *cn = ac->data;

    if (status == REDIS_OK || cn->ac != ac)
        return;
    /* hiredis frees the context after this returns. */
    LOGP_RL(LOG_WARN, 10, conn_name(cn), NULL, "connect failed: %s", ac->errstr);
    cn->ac = NULL;
    cn->up = 0;
    event_del(cn->io_ev);
    conn_schedule(cn);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct q_conn *cn = ac->data;

    (void)status;
    if (cn->ac != ac)
        return; /* we dropped it ourselves */
    LOGP_RL(LOG_WARN, 10, conn_name(cn), NULL, "disconnected: %s", ac->err ? ac->errstr : "closed");
    cn->ac = NULL;
    cn->up = 0;
    event_del(cn->io_ev);
    conn_schedule(cn);
}

static void on_handshake(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q_conn *cn = priv;
    redisReply *r = rv;

    if (!r || ac != cn->ac)
        return; /* the connection is going; on_disconnect reconnects */
    if (r->type == REDIS_REPLY_ERROR) {
        LOGP_RL(LOG_ERR, 10, conn_name(cn), NULL, "handshake refused: %.*s", r->len > 200 ? 200 : (int)r->len, r->str);
        conn_drop(cn, "handshake refused");
        return;
    }
    if (cn->handshake_left > 0 && --cn->handshake_left == 0 && !cn->watch)
        conn_up(cn);
}

static void on_message(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q_conn *cn = priv;
    struct q *q = cn->q;
    redisReply *r = rv;
    const redisReply *id;
    char buf[Q_ID_LEN];
    unsigned shard;

    if (!r || ac != cn->ac)
        return;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || !r->element[0] || !r->element[2])
        return;
    if (q_reply_is(r->element[0], "subscribe")) {
        conn_up(cn);
        return;
    }
    if (!q_reply_is(r->element[0], "message"))
        return;
    id = r->element[2];
    if (id->type != REDIS_REPLY_STRING || id->len != Q_ID_LEN - 1)
        return;
    memcpy(buf, id->str, Q_ID_LEN - 1);
    buf[Q_ID_LEN - 1] = '\0';
    /* A foreign publisher on our channel must not reach the gateway with junk. */
    if (q_id_shard(buf, 256, &shard) != Q_OK || !q->watch_cb)
        return;
    q->cb_depth++;
    q->watch_cb(q->watch_arg, buf);
    q->cb_depth--;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct q_conn *cn = arg;

    (void)fd;
    (void)what;
    conn_start(cn);
}

static void on_io_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct q_conn *cn = arg;

    (void)fd;
    (void)what;
    if (!cn->ac)
        return;
    conn_drop(cn, cn->up ? "no reply in time" : "connect timeout");
}

static void conn_start(struct q_conn *cn)
{
    struct q *q = cn->q;
    const struct cfg_redis *cfg = &q->cfg;
    redisAsyncContext *ac;
    struct timeval tv = {cfg->connect_timeout_ms / 1000, (cfg->connect_timeout_ms % 1000) * 1000};
    char db[16];
    int n;

    if (q->freeing || cn->ac)
        return;
    if (cn->starts++ > 0 && !cn->watch)
        q->st.reconnects++;
    if (cfg->unix_socket[0])
        ac = redisAsyncConnectUnix(cfg->unix_socket);
    else
        ac = redisAsyncConnect(cfg->host, cfg->port);
    if (!ac) {
        conn_schedule(cn);
        return;
    }
    if (ac->err) {
        LOGP_RL(LOG_WARN, 10, conn_name(cn), NULL, "connect failed: %s", ac->errstr);
        redisAsyncFree(ac);
        conn_schedule(cn);
        return;
    }
    ac->data = cn;
    if (redisLibeventAttach(ac, q->base) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_schedule(cn);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    cn->ac = ac;
    cn->up = 0;
    cn->handshake_left = 0;
    event_add(cn->io_ev, &tv);

    /* Pipelined behind the connect: Redis runs them in order, before any call. */
    if (cfg->password[0]) {
        const char *argv[2] = {"AUTH", cfg->password};
        size_t len[2] = {4, strlen(cfg->password)};
        if (redisAsyncCommandArgv(ac, on_handshake, cn, 2, argv, len) == REDIS_OK)
            cn->handshake_left++;
    }
    if (cn->watch) {
        const char *argv[2] = {"SUBSCRIBE", Q_DONE_CHANNEL};
        size_t len[2] = {9, strlen(Q_DONE_CHANNEL)};
        if (redisAsyncCommandArgv(ac, on_message, cn, 2, argv, len) != REDIS_OK)
            conn_drop(cn, "cannot queue SUBSCRIBE");
        return;
    }
    if (cfg->db != 0) {
        n = snprintf(db, sizeof db, "%u", cfg->db);
        const char *argv[2] = {"SELECT", db};
        size_t len[2] = {6, (size_t)n};
        if (redisAsyncCommandArgv(ac, on_handshake, cn, 2, argv, len) == REDIS_OK)
            cn->handshake_left++;
    }
    for (int i = 0; i < QS_COUNT; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", q_scripts[i]};
        size_t len[3] = {6, 4, strlen(q_scripts[i])};
        if (redisAsyncCommandArgv(ac, on_handshake, cn, 3, argv, len) == REDIS_OK)
            cn->handshake_left++;
    }
    if (cn->handshake_left == 0)
        conn_drop(cn, "cannot queue handshake");
}

static enum q_err conn_init(struct q *q, struct q_conn *cn, int watch)
{
    cn->q = q;
    cn->watch = watch;
    cn->backoff_ms = BACKOFF_MIN_MS;
    cn->retry_ev = evtimer_new(q->base, on_retry, cn);
    cn->io_ev = evtimer_new(q->base, on_io_timeout, cn);
    if (!cn->retry_ev || !cn->io_ev)
        return Q_ERR_NOMEM;
    return Q_OK;
}

static void conn_close(struct q_conn *cn)
{
    redisAsyncContext *ac = cn->ac;

    cn->ac = NULL;
    cn->up = 0;
    if (ac)
        redisAsyncFree(ac); /* pending calls complete with Q_ERR_AGAIN here */
    if (cn->retry_ev)
        event_free(cn->retry_ev);
    if (cn->io_ev)
        event_free(cn->io_ev);
    cn->retry_ev = NULL;
    cn->io_ev = NULL;
}

/* ---- public ---- */

static void sha1_hex(const char *s, char out[41])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL);
    for (unsigned i = 0; i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

enum q_err q_new(struct event_base *base, const struct cfg_redis *cfg, struct q **out)
{
    struct q *q = NULL;
    enum q_err rc = Q_ERR_INVALID;

    *out = NULL;
    if (!base || !cfg || cfg->shards < 1 || cfg->shards > 256 || (!cfg->unix_socket[0] && !cfg->host[0]))
        goto out;
    rc = Q_ERR_NOMEM;
    q = calloc(1, sizeof *q);
    if (!q)
        goto out;
    q->base = base;
    q->cfg = *cfg;
    if (q->cfg.connect_timeout_ms == 0)
        q->cfg.connect_timeout_ms = 2000;
    /* A script takes microseconds; no answer for this long means a hung server or a half-open link. */
    q->cmd_timeout_ms = q->cfg.connect_timeout_ms * 3 < 1000 ? 1000 : q->cfg.connect_timeout_ms * 3;
    q->retention_ms = DEFAULT_RETENTION_MS;
    q->deferred_tail = &q->deferred;
    for (int i = 0; i < QS_COUNT; i++)
        sha1_hex(q_scripts[i], q->sha[i]);
    if (!(q->defer_ev = event_new(base, -1, 0, on_deferred, q)))
        goto out;
    if (conn_init(q, &q->cmd, 0) != Q_OK || conn_init(q, &q->sub, 1) != Q_OK)
        goto out;
    conn_start(&q->cmd);
    *out = q;
    q = NULL;
    rc = Q_OK;
out:
    if (q)
        q_free_now(q);
    return rc;
}

static void q_free_now(struct q *q)
{
    q->freeing = 1;
    conn_close(&q->cmd);
    conn_close(&q->sub);
    while (q->deferred) {
        struct q_call *c = q->deferred;
        q->deferred = c->next;
        call_complete(c, c->err, NULL);
    }
    if (q->defer_ev)
        event_free(q->defer_ev);
    OPENSSL_cleanse(q->cfg.password, sizeof q->cfg.password);
    free(q);
}

void q_free(struct q *q)
{
    if (!q || q->free_requested)
        return;
    if (q->cb_depth > 0) {
        /* Called from one of our callbacks: hiredis is still using the context. Free from the loop. */
        q->free_requested = 1;
        event_active(q->defer_ev, EV_TIMEOUT, 0);
        return;
    }
    q_free_now(q);
}

void q_set_retention(struct q *q, int64_t retention_ms)
{
    if (q && retention_ms > 0)
        q->retention_ms = retention_ms;
}

int q_connected(const struct q *q)
{
    return q && q->cmd.up;
}

void q_get_stats(const struct q *q, struct q_stats *out)
{
    *out = q->st;
}

/* Every API entry: count it; on a bad argument fail through the deferred path. */
static struct q_call *call_begin(struct q *q, enum q_op op, int script)
{
    struct q_call *c;

    q->st.calls++;
    c = call_new(q, op, script);
    if (!c)
        q->st.errors++;
    return c;
}

/* A zset key "spk:{N}:due" (q_key would end it with ':'). */
static enum q_err arg_zset(struct q_call *c, unsigned shard, const char *kind)
{
    enum q_err rc = arg_key(c, shard, kind, "");

    if (rc == Q_OK)
        c->argvlen[c->argc - 1]--;
    return rc;
}

void q_txn_create(struct q *q, const struct q_txn_new *n, q_create_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_CREATE, QS_CREATE);
    enum q_err rc = Q_ERR_INVALID;
    char id[Q_ID_LEN];
    unsigned shard;
    int idem;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL, 0);
        return;
    }
    c->cb.create = cb;
    c->arg = arg;
    if (!n || !n->rp || !n->rp[0] || strlen(n->rp) >= 64 || !q_msisdn_ok(n->msisdn) ||
        (n->client_ref && strlen(n->client_ref) >= 128) || (n->vc && strlen(n->vc) >= 5) ||
        (n->digest_len && !n->digest) || n->digest_len > 64 ||
        (n->digest_len == 0 && (n->op == Q_OP_SIGN || n->op == Q_OP_CSR)) ||
        (n->display_text && strlen(n->display_text) > Q_DISPLAY_MAX) ||
        (n->idem_key && strlen(n->idem_key) > Q_IDEM_KEY_MAX) ||
        (n->req_hash && strlen(n->req_hash) > Q_REQ_HASH_MAX) || n->deadline_ms <= n->now_ms || n->lease_ms < 0 ||
        n->format > Q_FORMAT_CMS || n->doc_digest_len > 64 || (n->doc_digest_len && !n->doc_digest) ||
        n->op > Q_OP_PUTCERT || n->payload_len > Q_PAYLOAD_MAX || (n->payload_len && !n->payload))
        goto fail;
    shard = q_shard_of(n->msisdn, q->cfg.shards);
    if ((rc = q_id_new(shard, id)) != Q_OK)
        goto fail;
    memcpy(c->msisdn, n->msisdn, strlen(n->msisdn) + 1);
    idem = n->idem_key && n->idem_key[0]; /* an empty header is no key */
    if ((rc = arg_script(c, idem ? 7 : 6)) != Q_OK || (rc = arg_key(c, shard, "sub", n->msisdn)) != Q_OK ||
        (rc = arg_key(c, shard, "txn", id)) != Q_OK || (rc = arg_zset(c, shard, "due")) != Q_OK ||
        (rc = arg_zset(c, shard, "outbox")) != Q_OK || (rc = arg_key(c, shard, "txn", "")) != Q_OK ||
        (rc = arg_key(c, shard, "ctr", "")) != Q_OK)
        goto fail;
    if (idem) {
        char k[Q_KEY_MAX];
        int len = snprintf(k, sizeof k, "spk:{%u}:idem:%s:%s", shard, n->rp, n->idem_key);
        if (len < 0 || (size_t)len >= sizeof k || (rc = arg_add(c, k, (size_t)len)) != Q_OK) {
            rc = rc != Q_OK ? rc : Q_ERR_INVALID;
            goto fail;
        }
    }
    if ((rc = arg_str(c, id)) != Q_OK || (rc = arg_str(c, n->rp)) != Q_OK || (rc = arg_str(c, n->msisdn)) != Q_OK ||
        (rc = arg_str(c, n->client_ref)) != Q_OK || (rc = arg_u64(c, n->digest_alg)) != Q_OK ||
        (rc = arg_add(c, n->digest ? (const void *)n->digest : "", n->digest_len)) != Q_OK ||
        (rc = arg_str(c, n->vc)) != Q_OK || (rc = arg_str(c, n->display_text)) != Q_OK ||
        (rc = arg_i64(c, n->net)) != Q_OK || (rc = arg_i64(c, n->now_ms)) != Q_OK ||
        (rc = arg_i64(c, n->deadline_ms)) != Q_OK || (rc = arg_i64(c, n->now_ms + n->lease_ms)) != Q_OK ||
        (rc = arg_str(c, n->req_hash)) != Q_OK || (rc = arg_u64(c, n->format)) != Q_OK ||
        (rc = arg_add(c, n->doc_digest ? (const void *)n->doc_digest : "", n->doc_digest_len)) != Q_OK ||
        (rc = arg_i64(c, n->signing_time)) != Q_OK || (rc = arg_u64(c, n->op)) != Q_OK ||
        (rc = arg_u64(c, n->key_alg)) != Q_OK ||
        (rc = arg_add(c, n->payload ? (const void *)n->payload : "", n->payload_len)) != Q_OK)
        goto fail;
    call_submit(c);
    return;
fail:
    call_fail(c, rc);
}

/* Validate id, then "EVALSHA sha numkeys" + txn key; returns the shard. */
static enum q_err begin_txn_script(struct q_call *c, const char *id, unsigned numkeys, unsigned *shard)
{
    enum q_err rc;

    if ((rc = q_id_shard(id, c->q->cfg.shards, shard)) != Q_OK)
        return rc;
    if ((rc = arg_script(c, numkeys)) != Q_OK)
        return rc;
    return arg_key(c, *shard, "txn", id);
}

void q_txn_sent(struct q *q, const char *id, q_done_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_SENT, QS_SENT);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if ((rc = begin_txn_script(c, id, 2, &shard)) != Q_OK || (rc = arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = arg_str(c, id)) != Q_OK) {
        call_fail(c, rc);
        return;
    }
    call_submit(c);
}

void q_txn_sent_many(struct q *q, const char *const *ids, size_t n, q_done_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_SENT, QS_SENT_MANY);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard = 0, s;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if (n == 0 || n > Q_SENT_MANY_MAX || (rc = q_id_shard(ids[0], q->cfg.shards, &shard)) != Q_OK ||
        (rc = arg_script(c, 2)) != Q_OK || (rc = arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = arg_key(c, shard, "txn", "")) != Q_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if ((rc = q_id_shard(ids[i], q->cfg.shards, &s)) != Q_OK || s != shard) {
            rc = Q_ERR_INVALID;
            goto fail;
        }
        if ((rc = arg_str(c, ids[i])) != Q_OK)
            goto fail;
    }
    call_submit(c);
    return;
fail:
    call_fail(c, rc == Q_OK ? Q_ERR_INVALID : rc);
}

void q_txn_resync(struct q *q, const char *id, uint64_t cntr, uint64_t step, int64_t lease_until_ms, q_lookup_cb *cb,
                  void *arg)
{
    struct q_call *c = call_begin(q, OP_LOOKUP, QS_RESYNC);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL);
        return;
    }
    c->cb.lookup = cb;
    c->arg = arg;
    if (cntr == 0 || step == 0 || step > Q_CNTR_MAX || cntr > Q_CNTR_MAX - step)
        goto fail;
    if ((rc = begin_txn_script(c, id, 4, &shard)) != Q_OK || (rc = arg_key(c, shard, "sub", "")) != Q_OK ||
        (rc = arg_key(c, shard, "ctr", "")) != Q_OK || (rc = arg_zset(c, shard, "outbox")) != Q_OK ||
        (rc = arg_str(c, id)) != Q_OK || (rc = arg_u64(c, cntr)) != Q_OK || (rc = arg_u64(c, step)) != Q_OK ||
        (rc = arg_i64(c, lease_until_ms)) != Q_OK)
        goto fail;
    call_submit(c);
    return;
fail:
    call_fail(c, rc);
}

void q_txn_resent(struct q *q, const char *id, uint64_t cntr, q_done_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_SENT, QS_RESENT);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if ((rc = begin_txn_script(c, id, 1, &shard)) != Q_OK || (rc = arg_u64(c, cntr)) != Q_OK) {
        call_fail(c, rc);
        return;
    }
    call_submit(c);
}

void q_por_lookup(struct q *q, const char *msisdn, q_lookup_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_LOOKUP, QS_LOOKUP);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL);
        return;
    }
    c->cb.lookup = cb;
    c->arg = arg;
    if (!q_msisdn_ok(msisdn))
        goto fail;
    memcpy(c->msisdn, msisdn, strlen(msisdn) + 1);
    shard = q_shard_of(msisdn, q->cfg.shards);
    if ((rc = arg_script(c, 2)) != Q_OK || (rc = arg_key(c, shard, "sub", msisdn)) != Q_OK ||
        (rc = arg_key(c, shard, "txn", "")) != Q_OK)
        goto fail;
    call_submit(c);
    return;
fail:
    call_fail(c, rc);
}

void q_txn_finish(struct q *q, const char *id, uint64_t expect_cntr, const struct q_finish *f, q_finish_cb *cb,
                  void *arg)
{
    struct q_call *c = call_begin(q, OP_FINISH, QS_FINISH);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.finish = cb;
    c->arg = arg;
    if (!f || (f->state != Q_COMPLETED && f->state != Q_FAILED) || !f->result || strlen(f->result) >= 32 ||
        (f->detail && strlen(f->detail) >= 160) || f->sig_len > Q_BLOB_MAX || f->cert_len > Q_BLOB_MAX ||
        (f->sig_len && !f->signature) || (f->cert_len && !f->cert) || f->ocsp_len > Q_BLOB_MAX ||
        (f->ocsp_len && !f->ocsp) || f->retention_ms <= 0 || f->etsi_status < 0 || f->etsi_status > 999)
        goto fail;
    if (f->pin_serial && (f->state != Q_COMPLETED || !f->cert_len || !f->pin_serial[0] || strlen(f->pin_serial) >= 80 ||
                          !f->pin_spki_hex || strlen(f->pin_spki_hex) != 64))
        goto fail;
    if ((rc = begin_txn_script(c, id, 4, &shard)) != Q_OK || (rc = arg_zset(c, shard, "due")) != Q_OK ||
        (rc = arg_zset(c, shard, "outbox")) != Q_OK || (rc = arg_key(c, shard, "sub", "")) != Q_OK ||
        (rc = arg_str(c, id)) != Q_OK || (rc = arg_u64(c, expect_cntr)) != Q_OK ||
        (rc = arg_str(c, q_state_name(f->state))) != Q_OK || (rc = arg_str(c, f->result)) != Q_OK ||
        (rc = arg_i64(c, f->etsi_status)) != Q_OK || (rc = arg_str(c, f->detail)) != Q_OK ||
        (rc = arg_add(c, f->signature ? (const void *)f->signature : "", f->sig_len)) != Q_OK ||
        (rc = arg_add(c, f->cert ? (const void *)f->cert : "", f->cert_len)) != Q_OK ||
        (rc = arg_i64(c, f->now_ms)) != Q_OK || (rc = arg_i64(c, f->retention_ms)) != Q_OK ||
        (rc = arg_add(c, f->ocsp ? (const void *)f->ocsp : "", f->ocsp_len)) != Q_OK ||
        (rc = arg_str(c, f->pin_serial)) != Q_OK || (rc = arg_str(c, f->pin_serial ? f->pin_spki_hex : NULL)) != Q_OK ||
        (rc = arg_str(c, f->want_txn ? "1" : "0")) != Q_OK)
        goto fail;
    call_submit(c);
    return;
fail:
    call_fail(c, rc);
}

void q_txn_get(struct q *q, const char *id, q_get_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_GET, -1);
    enum q_err rc;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.get = cb;
    c->arg = arg;
    /* A read needs no script: one HGETALL. */
    if ((rc = q_id_shard(id, q->cfg.shards, &shard)) != Q_OK || (rc = arg_str(c, "HGETALL")) != Q_OK ||
        (rc = arg_key(c, shard, "txn", id)) != Q_OK) {
        call_fail(c, rc);
        return;
    }
    call_submit(c);
}

void q_sweep(struct q *q, int64_t now_ms, int64_t lease_ms, unsigned limit, q_resubmit_cb *resubmit, q_sweep_cb *done,
             void *arg)
{
    struct q_sweep_run *sw = calloc(1, sizeof *sw);
    unsigned shards = q->cfg.shards;

    q->st.calls++;
    if (!sw) {
        q->st.errors++;
        if (done)
            done(arg, Q_ERR_NOMEM, 0, 0);
        return;
    }
    sw->resubmit = resubmit;
    sw->done = done;
    sw->arg = arg;
    /* All shards in flight at once; `left` is set first so an early completion cannot finish the run. */
    sw->left = shards;
    if (limit == 0)
        limit = DEFAULT_SWEEP_LIMIT;
    for (unsigned s = 0; s < shards; s++) {
        struct q_call *c = call_new(q, OP_SWEEP, QS_SWEEP);
        enum q_err rc;
        if (!c) {
            /* Account for this shard without a call: fail it like a deferred one would. */
            struct q_call fake = {.q = q, .op = OP_SWEEP, .script = -1, .sw = sw};
            if (sw->err == Q_OK)
                sw->err = Q_ERR_NOMEM;
            q->cb_depth++;
            complete_sweep(&fake, Q_ERR_NOMEM, NULL);
            q->cb_depth--;
            continue;
        }
        c->sw = sw;
        if ((rc = arg_script(c, 4)) != Q_OK || (rc = arg_zset(c, s, "due")) != Q_OK ||
            (rc = arg_zset(c, s, "outbox")) != Q_OK || (rc = arg_key(c, s, "txn", "")) != Q_OK ||
            (rc = arg_key(c, s, "sub", "")) != Q_OK || (rc = arg_i64(c, now_ms)) != Q_OK ||
            (rc = arg_i64(c, now_ms + (lease_ms > 0 ? lease_ms : 0))) != Q_OK || (rc = arg_u64(c, limit)) != Q_OK ||
            (rc = arg_i64(c, q->retention_ms)) != Q_OK) {
            call_fail(c, rc);
            continue;
        }
        call_submit(c);
    }
}

uint64_t q_watch_epoch(const struct q *q)
{
    /* starts grows with every connection attempt and up drops with the connection: one value per subscription. */
    return q->sub.up ? q->sub.starts : 0;
}

enum q_err q_watch(struct q *q, q_watch_cb *cb, void *arg)
{
    if (!q || !cb || q->watch_cb)
        return Q_ERR_INVALID;
    q->watch_cb = cb;
    q->watch_arg = arg;
    conn_start(&q->sub);
    return Q_OK;
}

void q_command(struct q *q, int argc, const char *const *argv, const size_t *argvlen, q_raw_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_RAW, -1);
    enum q_err err = Q_OK;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.raw = cb;
    c->arg = arg;
    if (argc <= 0 || argc > MAX_ARGS)
        err = Q_ERR_INVALID;
    for (int i = 0; err == Q_OK && i < argc; i++)
        err = arg_add(c, argv[i], argvlen[i]);
    if (err != Q_OK) {
        call_fail(c, err);
        return;
    }
    call_submit(c);
}

/*
 * Plain EVAL, not EVALSHA: its callers (enrolment requests, the lifecycle
 * engine's ticks) run a few times a second at most, so sending a few KB of
 * script and letting Redis hash it costs nothing that matters, while EVALSHA
 * would need the body kept on every call for the NOSCRIPT retry, which
 * on_reply only knows for our own q_scripts.
 */
void q_eval(struct q *q, const char *script, int numkeys, int argc, const char *const *argv, const size_t *argvlen,
            q_raw_cb *cb, void *arg)
{
    struct q_call *c = call_begin(q, OP_RAW, -1);
    enum q_err err = Q_OK;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.raw = cb;
    c->arg = arg;
    if (!script || numkeys < 0 || argc < numkeys || argc > MAX_ARGS - 3)
        err = Q_ERR_INVALID;
    if (err == Q_OK && (err = arg_str(c, "EVAL")) == Q_OK && (err = arg_str(c, script)) == Q_OK)
        err = arg_u64(c, (uint64_t)numkeys);
    for (int i = 0; err == Q_OK && i < argc; i++)
        err = arg_add(c, argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
    if (err != Q_OK) {
        call_fail(c, err);
        return;
    }
    call_submit(c);
}

unsigned q_shards(const struct q *q)
{
    return q->cfg.shards;
}
