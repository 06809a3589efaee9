/*
 * q_conn.c - the machinery under the asynchronous half of q.h: two hiredis
 * connections on the caller's event loop (commands; and pub/sub for q_watch),
 * each with its own reconnect timer, and one struct q_call per API call.
 * The transaction calls that build those calls and parse their replies are in
 * q_txn.c; what they use from here is in q_conn.h.
 *
 * A call's life: built (argv copied into the call), submitted with
 * EVALSHA/HGETALL, answered (or failed by hiredis with a NULL reply when the
 * connection goes), completed: parsed by the call's complete function, user
 * callback, freed.  A call that cannot be submitted is queued on `deferred`
 * and completed from a zero-delay event, so a user callback never runs inside
 * the q_* call that asked for it.
 *
 * Sentinel (redis.sentinels): each connection asks q_sentinel.h for the
 * master before it connects, sends ROLE in its handshake and drops itself
 * when the server is not a master (a sentinel may still name a demoted one);
 * a +switch-master, or a READONLY / MASTERDOWN answer (a master demoted
 * under us), drops both connections, which then ask the sentinels again.
 * Meanwhile calls fail fast with Q_ERR_AGAIN, as for a Redis restart, and
 * the reconnection reloads the scripts and re-subscribes as it always did.
 *
 * Durability (redis.wait_replicas N > 0): replication is asynchronous and
 * Sentinel promotes the replica with the highest offset, which may lack the
 * last writes; min-replicas-to-write only refuses writes while too few
 * replicas are connected, so it cannot make an acknowledged write survive.
 * A durable call's reply is therefore held (copied) until a WAIT N timeout,
 * sent on the same connection after it, counts N replicas: WAIT covers every
 * earlier write of the connection, so one in flight at a time covers every
 * reply that arrived before it (one WAIT round per batch, not per call).
 * Fewer than N fails the batch with Q_ERR_AGAIN (503): the write may still
 * exist, which is what Idempotency-Key is for.  Reads are not held.
 * docs/design.md, "Redis Sentinel and durability", says more.
 *
 * Why one file of ~1,000 lines: the calls, the two connections and the WAIT
 * hold all work on struct q's private state (in_flight, the held list, the
 * connection that must carry the WAIT).  The WAIT batching is the part that
 * would move out first (a q_durable.c behind q_conn.h) when this grows.
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
#include "q_conn.h"
#include "q_priv.h"
#include "q_scripts.h"
#include "q_sentinel.h"

#define BACKOFF_MIN_MS       100
#define BACKOFF_MAX_MS       2000
#define DEFAULT_RETENTION_MS (86400LL * 1000)

struct q_conn {
    struct q *q;
    redisAsyncContext *ac; /* NULL while down */
    int up;                /* handshake done: AUTH, SELECT, scripts or SUBSCRIBE */
    int watch;             /* the pub/sub connection */
    int resolving;         /* waiting for the sentinels' answer */
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
    struct q_call *wait_batch;                  /* held calls the WAIT in flight covers */
    struct q_call *wait_next, **wait_next_tail; /* held calls whose replies came after it was sent */
    struct q_sentinel *sentinel;                /* NULL without redis.sentinels */
    char master[280];                           /* "host:port" the sentinels named last */
    q_watch_cb *watch_cb;
    void *watch_arg;
    struct q_stats st;
    int freeing;          /* in q_free: complete everything now */
    int free_requested;   /* q_free was called from a callback */
    unsigned cb_depth;    /* > 0 while a user callback runs */
    int64_t retention_ms; /* TTL of transactions expired by the sweep */
    unsigned cmd_timeout_ms;
    struct q_ev_state ev; /* q_ev.h */
    char sha[QS_COUNT][41];
};

static void conn_start(struct q_conn *cn);
static void conn_drop(struct q_conn *cn, const char *why);

/* ---- calls: building ---- */

struct q_call *q_call_new(struct q *q, q_complete_fn *complete, int script)
{
    struct q_call *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->q = q;
    c->complete = complete;
    c->script = script;
    c->durable = script >= 0;
    c->argcap = Q_CALL_ARGS_INLINE;
    c->argv = c->argv_in;
    c->argvlen = c->argvlen_in;
    c->argoff = c->argoff_in;
    return c;
}

/* Room for more arguments than the call holds inline: the three arrays, doubled, in one block. */
static enum q_err args_grow(struct q_call *c)
{
    int cap = c->argcap * 2 > Q_CALL_ARGS_MAX ? Q_CALL_ARGS_MAX : c->argcap * 2;
    char *blk = malloc((size_t)cap * (sizeof(*c->argv) + sizeof(*c->argvlen) + sizeof(*c->argoff)));
    const char **argv = (const char **)(void *)blk;
    size_t *argvlen = (size_t *)(void *)(blk + (size_t)cap * sizeof(*c->argv));
    size_t *argoff = argvlen + cap;

    if (!blk)
        return Q_ERR_NOMEM;
    memcpy(argv, c->argv, (size_t)c->argc * sizeof(*argv));
    memcpy(argvlen, c->argvlen, (size_t)c->argc * sizeof(*argvlen));
    memcpy(argoff, c->argoff, (size_t)c->argc * sizeof(*argoff));
    if (c->argv != c->argv_in)
        free((void *)c->argv);
    c->argv = argv;
    c->argvlen = argvlen;
    c->argoff = argoff;
    c->argcap = cap;
    return Q_OK;
}

static void call_free(struct q_call *c)
{
    if (!c)
        return;
    q_reply_free(c->held);
    if (c->buf) {
        /* Arguments may carry signatures and certificates: not secret, but no reason to leave them. */
        OPENSSL_cleanse(c->buf, c->bufcap);
        free(c->buf);
    }
    if (c->argv != c->argv_in)
        free((void *)c->argv);
    free(c);
}

/* Append one argument, copied; argv pointers are fixed up in call_seal(). */
enum q_err q_arg_add(struct q_call *c, const void *p, size_t n)
{
    if (c->argc >= Q_CALL_ARGS_MAX)
        return Q_ERR_INVALID;
    if (c->argc >= c->argcap && args_grow(c) != Q_OK)
        return Q_ERR_NOMEM;
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

enum q_err q_arg_str(struct q_call *c, const char *s)
{
    return q_arg_add(c, s ? s : "", s ? strlen(s) : 0);
}

enum q_err q_arg_i64(struct q_call *c, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);

    return q_arg_add(c, b, (size_t)n);
}

enum q_err q_arg_u64(struct q_call *c, uint64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRIu64, v);

    return q_arg_add(c, b, (size_t)n);
}

enum q_err q_arg_key(struct q_call *c, unsigned shard, const char *kind, const char *suffix)
{
    char k[Q_KEY_MAX];
    enum q_err rc = q_key(k, sizeof k, shard, kind, suffix);

    if (rc != Q_OK)
        return rc;
    return q_arg_str(c, k);
}

/* "EVALSHA <sha> <numkeys>": the first three arguments of a script call. */
enum q_err q_arg_script(struct q_call *c, unsigned numkeys)
{
    enum q_err rc;

    if ((rc = q_arg_str(c, "EVALSHA")) != Q_OK)
        return rc;
    if ((rc = q_arg_str(c, c->q->sha[c->script])) != Q_OK)
        return rc;
    return q_arg_u64(c, numkeys);
}

static void call_seal(struct q_call *c)
{
    for (int i = 0; i < c->argc; i++)
        c->argv[i] = c->buf + c->argoff[i];
}

/* A zset key "spk:{N}:due" (q_key would end it with ':'). */
enum q_err q_arg_zset(struct q_call *c, unsigned shard, const char *kind)
{
    enum q_err rc = q_arg_key(c, shard, kind, "");

    if (rc == Q_OK)
        c->argvlen[c->argc - 1]--;
    return rc;
}

/* ---- calls: completion ---- */

static int is_infra_error(enum q_err e)
{
    return e == Q_ERR_AGAIN || e == Q_ERR_PROTO || e == Q_ERR_NOMEM;
}

/* Parse, call the user back exactly once, free the call. */
static void call_complete(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct q *q = c->q;

    if (is_infra_error(err))
        q->st.errors++;
    q->cb_depth++;
    c->complete(c, err, r);
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

static void io_watch(struct q *q)
{
    if (q->st.in_flight > 0)
        event_add(q->cmd.io_ev, &(struct timeval){q->cmd_timeout_ms / 1000, (q->cmd_timeout_ms % 1000) * 1000});
    else
        event_del(q->cmd.io_ev);
}

static void wait_send(struct q *q);

/* Answer (ok) or fail the batch a WAIT covered, then send the next WAIT. */
static void wait_finish(struct q *q, int ok)
{
    struct q_call *list = q->wait_batch;

    q->wait_batch = NULL;
    while (list) {
        struct q_call *c = list;
        list = c->next;
        call_complete(c, ok ? Q_OK : Q_ERR_AGAIN, ok ? c->held : NULL);
    }
    wait_send(q);
}

/* The WAIT for wait_batch answered, or r NULL: the connection went. */
static void on_wait(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q *q = priv;
    redisReply *r = rv;
    int ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= (long long)q->cfg.wait_replicas;

    q->st.in_flight--;
    if (r && ac == q->cmd.ac && q->cmd.up)
        io_watch(q);
    if (r && !ok) {
        q->st.wait_failures++;
        LOGP_RL(LOG_WARN, 10, "redis", NULL, "WAIT: %lld of %u replicas acknowledged within %u ms: answering 503",
                r->type == REDIS_REPLY_INTEGER ? r->integer : -1LL, q->cfg.wait_replicas, q->cfg.wait_timeout_ms);
    }
    wait_finish(q, ok);
}

/* Send a WAIT for every held call not yet covered by one, unless one is in flight. */
static void wait_send(struct q *q)
{
    struct q_conn *cn = &q->cmd;
    char n[16], ms[16];
    const char *argv[3] = {"WAIT", n, ms};
    size_t len[3] = {4, 0, 0};

    if (q->wait_batch || !q->wait_next)
        return;
    q->wait_batch = q->wait_next;
    q->wait_next = NULL;
    q->wait_next_tail = &q->wait_next;
    len[1] = (size_t)snprintf(n, sizeof n, "%u", q->cfg.wait_replicas);
    len[2] = (size_t)snprintf(ms, sizeof ms, "%u", q->cfg.wait_timeout_ms);
    if (!q->freeing && cn->up && cn->ac && redisAsyncCommandArgv(cn->ac, on_wait, q, 3, argv, len) == REDIS_OK) {
        if (q->st.in_flight++ == 0)
            io_watch(q);
        return;
    }
    wait_finish(q, 0); /* the connection is gone: fail them all */
}

/* A durable call answered: keep its reply until a WAIT covers it. */
static void wait_hold(struct q *q, struct q_call *c, const redisReply *r)
{
    if (!(c->held = q_reply_dup(r))) {
        call_complete(c, Q_ERR_NOMEM, NULL);
        return;
    }
    c->next = NULL;
    *q->wait_next_tail = c;
    q->wait_next_tail = &c->next;
    wait_send(q);
}

/* READONLY (a replica, or a master demoted under us), MASTERDOWN: the sentinels know where to go. */
static int is_not_master(const redisReply *r)
{
    return (r->len >= 8 && memcmp(r->str, "READONLY", 8) == 0) ||
           (r->len >= 10 && memcmp(r->str, "MASTERDOWN", 10) == 0);
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
    if (ac == q->cmd.ac && q->cmd.up)
        io_watch(q);
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
        if (q->sentinel && ac == q->cmd.ac && is_not_master(r)) {
            conn_drop(&q->cmd, "the server is no longer the master");
            if (q->sub.ac)
                conn_drop(&q->sub, "the server is no longer the master");
        }
        call_complete(c, err, NULL);
        return;
    }
    if (c->durable && q->cfg.wait_replicas > 0) {
        wait_hold(q, c, r);
        return;
    }
    call_complete(c, Q_OK, r);
}

void q_call_submit(struct q_call *c)
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
void q_call_fail(struct q_call *c, enum q_err err)
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

/* ROLE's answer, in a connection's handshake under Sentinel: anything but a master is dropped. */
static void on_role(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q_conn *cn = priv;
    redisReply *r = rv;

    if (!r || ac != cn->ac)
        return;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && q_reply_is(r->element[0], "master")) {
        on_handshake(ac, rv, priv);
        return;
    }
    LOGP_RL(LOG_WARN, 10, conn_name(cn), NULL, "%s is not a master: asking the sentinels again", cn->q->master);
    conn_drop(cn, "not a master");
}

static void conn_connect(struct q_conn *cn, const char *host, unsigned port);

static void conn_start(struct q_conn *cn)
{
    struct q *q = cn->q;

    if (q->freeing || cn->ac || cn->resolving)
        return;
    if (cn->starts++ > 0 && !cn->watch)
        q->st.reconnects++;
    if (q->sentinel) {
        /* Every (re)connection asks afresh: the master we knew may be gone or demoted. */
        cn->resolving = 1;
        q_sentinel_resolve(q->sentinel);
        return;
    }
    conn_connect(cn, q->cfg.unix_socket[0] ? NULL : q->cfg.host, q->cfg.port);
}

/* The sentinels' answer for whichever connection waits for it. */
static void on_master_found(void *arg, const char *host, unsigned port)
{
    struct q *q = arg;
    struct q_conn *cns[2] = {&q->cmd, &q->sub};
    char addr[sizeof q->master];

    if (host) {
        snprintf(addr, sizeof addr, "%s:%u", host, port);
        if (q->master[0] && strcmp(addr, q->master) != 0) {
            q->st.failovers++;
            LOGP(LOG_INFO, "redis", NULL, "master moved: %s -> %s", q->master, addr);
        } else if (!q->master[0]) {
            LOGP(LOG_INFO, "redis", NULL, "the sentinels name %s the master", addr);
        }
        memcpy(q->master, addr, sizeof addr);
    }
    for (int i = 0; i < 2; i++) {
        if (!cns[i]->resolving)
            continue;
        cns[i]->resolving = 0;
        if (host)
            conn_connect(cns[i], host, port);
        else
            conn_schedule(cns[i]);
    }
}

/* +switch-master for our name: leave the old master now rather than when it fails us. */
static void on_master_switch(void *arg, const char *host, unsigned port)
{
    struct q *q = arg;
    char addr[sizeof q->master];

    snprintf(addr, sizeof addr, "%s:%u", host, port);
    if (strcmp(addr, q->master) == 0)
        return; /* already there (the sentinels told us when we asked) */
    q->st.failovers++;
    LOGP(LOG_INFO, "redis", NULL, "failover: master %s -> %s", q->master[0] ? q->master : "?", addr);
    memcpy(q->master, addr, sizeof addr);
    for (int i = 0; i < 2; i++) {
        struct q_conn *cn = i ? &q->sub : &q->cmd;
        if (cn->ac) {
            conn_drop(cn, "the master moved");
        } else if (!cn->resolving && evtimer_pending(cn->retry_ev, NULL)) {
            /* Waiting out a backoff after the old master failed: the new one is known now. */
            event_del(cn->retry_ev);
            cn->backoff_ms = BACKOFF_MIN_MS;
            conn_start(cn);
        }
    }
}

/* host NULL: the unix socket. */
static void conn_connect(struct q_conn *cn, const char *host, unsigned port)
{
    struct q *q = cn->q;
    const struct cfg_redis *cfg = &q->cfg;
    redisAsyncContext *ac;
    struct timeval tv = {cfg->connect_timeout_ms / 1000, (cfg->connect_timeout_ms % 1000) * 1000};
    char db[16];
    int n;

    if (q->freeing || cn->ac)
        return;
    if (!host)
        ac = redisAsyncConnectUnix(cfg->unix_socket);
    else
        ac = redisAsyncConnect(host, (int)port);
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
    if (q->sentinel) {
        const char *argv[1] = {"ROLE"};
        size_t len[1] = {4};
        if (redisAsyncCommandArgv(ac, on_role, cn, 1, argv, len) == REDIS_OK)
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
    if (!base || !cfg || cfg->shards < 1 || cfg->shards > 256 ||
        (!cfg->n_sentinels && !cfg->unix_socket[0] && !cfg->host[0]) || (cfg->n_sentinels && !cfg->master_name[0]))
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
    if (q->cfg.wait_replicas > 0 && q->cmd_timeout_ms < q->cfg.wait_timeout_ms + 1000)
        q->cmd_timeout_ms = q->cfg.wait_timeout_ms + 1000; /* a WAIT may take that long by design */
    q->wait_next_tail = &q->wait_next;
    q->retention_ms = DEFAULT_RETENTION_MS;
    q->deferred_tail = &q->deferred;
    for (int i = 0; i < QS_COUNT; i++)
        sha1_hex(q_scripts[i], q->sha[i]);
    if (!(q->defer_ev = event_new(base, -1, 0, on_deferred, q)))
        goto out;
    if (conn_init(q, &q->cmd, 0) != Q_OK || conn_init(q, &q->sub, 1) != Q_OK)
        goto out;
    if (cfg->n_sentinels && !(q->sentinel = q_sentinel_new(base, cfg, on_master_found, on_master_switch, q)))
        goto out;
    OPENSSL_cleanse(q->cfg.sentinel_password, sizeof q->cfg.sentinel_password); /* q_sentinel holds its copy */
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
    q_sentinel_free(q->sentinel);
    q->sentinel = NULL;
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
    OPENSSL_cleanse(q->cfg.sentinel_password, sizeof q->cfg.sentinel_password);
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
struct q_call *q_call_begin(struct q *q, q_complete_fn *complete, int script)
{
    struct q_call *c;

    q->st.calls++;
    c = q_call_new(q, complete, script);
    if (!c)
        q->st.errors++;
    return c;
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

static void complete_raw(struct q_call *c, enum q_err err, const redisReply *r)
{
    c->cb.raw(c->arg, err, err == Q_OK ? r : NULL);
}

void q_command(struct q *q, int argc, const char *const *argv, const size_t *argvlen, q_raw_cb *cb, void *arg)
{
    struct q_call *c = q_call_begin(q, complete_raw, -1);
    enum q_err err = Q_OK;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.raw = cb;
    c->arg = arg;
    if (argc <= 0 || argc > Q_CALL_ARGS_MAX)
        err = Q_ERR_INVALID;
    for (int i = 0; err == Q_OK && i < argc; i++)
        err = q_arg_add(c, argv[i], argvlen[i]);
    if (err != Q_OK) {
        q_call_fail(c, err);
        return;
    }
    q_call_submit(c);
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
    struct q_call *c = q_call_begin(q, complete_raw, -1);
    enum q_err err = Q_OK;

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->cb.raw = cb;
    c->arg = arg;
    c->durable = 1;
    if (!script || numkeys < 0 || argc < numkeys || argc > Q_CALL_ARGS_MAX - 3)
        err = Q_ERR_INVALID;
    if (err == Q_OK && (err = q_arg_str(c, "EVAL")) == Q_OK && (err = q_arg_str(c, script)) == Q_OK)
        err = q_arg_u64(c, (uint64_t)numkeys);
    for (int i = 0; err == Q_OK && i < argc; i++)
        err = q_arg_add(c, argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
    if (err != Q_OK) {
        q_call_fail(c, err);
        return;
    }
    q_call_submit(c);
}

unsigned q_shards(const struct q *q)
{
    return q->cfg.shards;
}

int64_t q_retention(const struct q *q)
{
    return q->retention_ms;
}

struct q_ev_state *q_ev_state(struct q *q)
{
    return &q->ev;
}

void q_stat_call(struct q *q)
{
    q->st.calls++;
}

void q_stat_error(struct q *q)
{
    q->st.errors++;
}

void q_cb_enter(struct q *q)
{
    q->cb_depth++;
}

void q_cb_leave(struct q *q)
{
    q->cb_depth--;
}
