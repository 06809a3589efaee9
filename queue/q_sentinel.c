/*
 * q_sentinel.c - Redis Sentinel discovery (q_sentinel.h).  Two hiredis async
 * connections to sentinels, each its own small state machine:
 *
 *   query: connect sentinel i, [AUTH], SENTINEL get-master-addr-by-name;
 *          an answer ends the round (found), anything else (refused, error,
 *          nil, no answer in connect_timeout_ms) moves on to sentinel i+1;
 *          after every sentinel failed once, found(NULL).  Closed after
 *          each round: a round happens only on a (re)connection.
 *   watch: connect sentinel j, [AUTH], SUBSCRIBE +switch-master; kept open;
 *          when it drops or fails, sentinel j+1 after a backoff.
 *
 * A callback of ours that hiredis runs for a context we already let go of
 * (ac != ours) does nothing, as in q_conn.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "log.h"
#include "q_priv.h"
#include "q_sentinel.h"

#define WATCH_BACKOFF_MIN_MS 100
#define WATCH_BACKOFF_MAX_MS 2000
#define SWITCH_CHANNEL       "+switch-master"

struct q_sentinel {
    struct event_base *base;
    struct cfg_redis cfg; /* copy: sentinels, master_name, sentinel_password, connect_timeout_ms */
    q_sentinel_found_fn *found;
    q_sentinel_switch_fn *sw;
    void *arg;

    /* query */
    redisAsyncContext *qac;
    int running;     /* a round is on */
    unsigned qidx;   /* sentinel asked now; the next round starts with the last that answered */
    unsigned qtried; /* sentinels tried this round */
    struct event *qstart_ev, *qtimeout_ev;

    /* watch */
    redisAsyncContext *wac;
    unsigned widx;
    unsigned wbackoff_ms;
    struct event *wretry_ev;
};

static void query_next(struct q_sentinel *s);
static void watch_start(struct q_sentinel *s);

static const struct cfg_hostport *sentinel_at(const struct q_sentinel *s, unsigned i)
{
    return &s->cfg.sentinels[i % s->cfg.n_sentinels];
}

/* Connect to sentinel i, attached to the loop, AUTH queued; NULL when that failed at once. */
static redisAsyncContext *sentinel_connect(struct q_sentinel *s, unsigned i, void *data,
                                           redisDisconnectCallback *on_disc)
{
    const struct cfg_hostport *hp = sentinel_at(s, i);
    redisAsyncContext *ac = redisAsyncConnect(hp->host, hp->port);

    if (!ac)
        return NULL;
    if (ac->err || redisLibeventAttach(ac, s->base) != REDIS_OK) {
        LOGP_RL(LOG_WARN, 10, "sentinel", NULL, "%s:%u: connect failed: %s", hp->host, hp->port,
                ac->err ? ac->errstr : "cannot attach");
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = data;
    redisAsyncSetDisconnectCallback(ac, on_disc);
    if (s->cfg.sentinel_password[0]) {
        const char *argv[2] = {"AUTH", s->cfg.sentinel_password};
        size_t len[2] = {4, strlen(s->cfg.sentinel_password)};
        /* Its answer is not awaited: a refused AUTH makes the next command fail, which is handled there. */
        redisAsyncCommandArgv(ac, NULL, NULL, 2, argv, len);
    }
    return ac;
}

/* ---- query ---- */

static void query_close(struct q_sentinel *s)
{
    redisAsyncContext *ac = s->qac;

    s->qac = NULL;
    event_del(s->qtimeout_ev);
    if (ac)
        redisAsyncFree(ac); /* deferred by hiredis inside its own callbacks */
}

/* End the round: host NULL when every sentinel failed. */
static void query_done(struct q_sentinel *s, const char *host, unsigned port)
{
    query_close(s);
    s->running = 0;
    s->found(s->arg, host, port);
}

static void query_failed(struct q_sentinel *s, const char *why)
{
    const struct cfg_hostport *hp = sentinel_at(s, s->qidx);

    LOGP_RL(LOG_WARN, 10, "sentinel", NULL, "%s:%u: %s", hp->host, hp->port, why);
    query_close(s);
    s->qidx = (s->qidx + 1) % s->cfg.n_sentinels;
    if (++s->qtried >= s->cfg.n_sentinels) {
        query_done(s, NULL, 0);
        return;
    }
    query_next(s);
}

static void on_query_disconnect(const redisAsyncContext *ac, int status)
{
    struct q_sentinel *s = ac->data;

    (void)status;
    if (ac != s->qac)
        return;
    s->qac = NULL; /* hiredis frees it */
    query_failed(s, ac->err ? ac->errstr : "closed");
}

static void on_query_connect(const redisAsyncContext *ac, int status)
{
    struct q_sentinel *s = ac->data;

    if (status == REDIS_OK || ac != s->qac)
        return;
    s->qac = NULL; /* hiredis frees it */
    query_failed(s, ac->errstr);
}

static int parse_addr(const redisReply *r, char *host, size_t hostcap, unsigned *port);

static void on_master_addr(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q_sentinel *s = priv;
    redisReply *r = rv;
    char host[256];
    unsigned port;

    if (!r || ac != s->qac)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        char why[160];
        snprintf(why, sizeof why, "refused: %.*s", r->len > 100 ? 100 : (int)r->len, r->str);
        query_failed(s, why);
        return;
    }
    if (parse_addr(r, host, sizeof host, &port) != 0) {
        query_failed(s, "does not know the master name");
        return;
    }
    query_done(s, host, port);
}

static void query_next(struct q_sentinel *s)
{
    unsigned ms = s->cfg.connect_timeout_ms ? s->cfg.connect_timeout_ms : 2000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    const char *argv[3] = {"SENTINEL", "get-master-addr-by-name", s->cfg.master_name};
    size_t len[3] = {8, 23, strlen(s->cfg.master_name)};
    redisAsyncContext *ac = sentinel_connect(s, s->qidx, s, on_query_disconnect);

    if (!ac) {
        /* Failed at once (no memory, bad address): from the loop, so a round never recurses deeply. */
        s->qidx = (s->qidx + 1) % s->cfg.n_sentinels;
        if (++s->qtried >= s->cfg.n_sentinels) {
            s->running = 0;
            s->found(s->arg, NULL, 0);
            return;
        }
        event_active(s->qstart_ev, EV_TIMEOUT, 0);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_query_connect);
    s->qac = ac;
    event_add(s->qtimeout_ev, &tv);
    if (redisAsyncCommandArgv(ac, on_master_addr, s, 3, argv, len) != REDIS_OK)
        query_failed(s, "cannot queue the question");
}

static void on_query_start(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    query_next(arg);
}

static void on_query_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    query_failed(arg, "no answer in time");
}

void q_sentinel_resolve(struct q_sentinel *s)
{
    if (s->running)
        return;
    s->running = 1;
    s->qtried = 0;
    event_active(s->qstart_ev, EV_TIMEOUT, 0);
}

/* ---- watch ---- */

static void watch_schedule(struct q_sentinel *s)
{
    struct timeval tv = {s->wbackoff_ms / 1000, (s->wbackoff_ms % 1000) * 1000};

    s->widx = (s->widx + 1) % s->cfg.n_sentinels;
    event_add(s->wretry_ev, &tv);
    s->wbackoff_ms = s->wbackoff_ms * 2 > WATCH_BACKOFF_MAX_MS ? WATCH_BACKOFF_MAX_MS : s->wbackoff_ms * 2;
}

static void on_watch_disconnect(const redisAsyncContext *ac, int status)
{
    struct q_sentinel *s = ac->data;

    (void)status;
    if (ac != s->wac)
        return;
    s->wac = NULL;
    LOGP_RL(LOG_WARN, 10, "sentinel", NULL, "%s:%u: subscription lost: %s", sentinel_at(s, s->widx)->host,
            sentinel_at(s, s->widx)->port, ac->err ? ac->errstr : "closed");
    watch_schedule(s);
}

static void on_watch_connect(const redisAsyncContext *ac, int status)
{
    struct q_sentinel *s = ac->data;

    if (status == REDIS_OK || ac != s->wac)
        return;
    s->wac = NULL;
    LOGP_RL(LOG_WARN, 10, "sentinel", NULL, "%s:%u: connect failed: %s", sentinel_at(s, s->widx)->host,
            sentinel_at(s, s->widx)->port, ac->errstr);
    watch_schedule(s);
}

/* "+switch-master" payload: "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void on_switch_msg(redisAsyncContext *ac, void *rv, void *priv)
{
    struct q_sentinel *s = priv;
    redisReply *r = rv;
    char msg[600], name[64], oldh[256], newh[256];
    unsigned oldp, newp;
    const redisReply *m;

    if (!r || ac != s->wac)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        LOGP_RL(LOG_WARN, 10, "sentinel", NULL, "subscription refused: %.*s", r->len > 100 ? 100 : (int)r->len, r->str);
        redisAsyncFree(ac); /* deferred; on_watch_disconnect moves on */
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 || !r->element[0] || !r->element[2])
        return;
    if (q_reply_is(r->element[0], "subscribe")) {
        s->wbackoff_ms = WATCH_BACKOFF_MIN_MS;
        LOGP(LOG_INFO, "sentinel", NULL, "%s:%u: following failovers of %s", sentinel_at(s, s->widx)->host,
             sentinel_at(s, s->widx)->port, s->cfg.master_name);
        return;
    }
    m = r->element[2];
    if (!q_reply_is(r->element[0], "message") || m->type != REDIS_REPLY_STRING || m->len >= sizeof msg)
        return;
    memcpy(msg, m->str, m->len);
    msg[m->len] = '\0';
    if (sscanf(msg, "%63s %255s %u %255s %u", name, oldh, &oldp, newh, &newp) != 5 || newp < 1 || newp > 65535)
        return;
    if (strcmp(name, s->cfg.master_name) != 0)
        return;
    s->sw(s->arg, newh, newp);
}

static void watch_start(struct q_sentinel *s)
{
    const char *argv[2] = {"SUBSCRIBE", SWITCH_CHANNEL};
    size_t len[2] = {9, strlen(SWITCH_CHANNEL)};
    redisAsyncContext *ac;

    if (s->wac)
        return;
    ac = sentinel_connect(s, s->widx, s, on_watch_disconnect);
    if (!ac) {
        watch_schedule(s);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_watch_connect);
    s->wac = ac;
    if (redisAsyncCommandArgv(ac, on_switch_msg, s, 2, argv, len) != REDIS_OK) {
        s->wac = NULL;
        redisAsyncFree(ac);
        watch_schedule(s);
    }
}

static void on_watch_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watch_start(arg);
}

/* ---- blocking, for the admin CLI ---- */

/* Host and port out of a get-master-addr-by-name answer; -1 when it is not one. */
static int parse_addr(const redisReply *r, char *host, size_t hostcap, unsigned *port)
{
    char buf[8];
    char *end;
    unsigned long p;

    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 || r->element[0]->len >= hostcap ||
        r->element[1]->len == 0 || r->element[1]->len >= sizeof buf)
        return -1;
    memcpy(buf, r->element[1]->str, r->element[1]->len);
    buf[r->element[1]->len] = '\0';
    p = strtoul(buf, &end, 10);
    if (*end || p < 1 || p > 65535)
        return -1;
    memcpy(host, r->element[0]->str, r->element[0]->len);
    host[r->element[0]->len] = '\0';
    *port = (unsigned)p;
    return 0;
}

int q_sentinel_master_sync(const struct cfg_redis *cfg, char *host, size_t hostcap, unsigned *port, char *why,
                           size_t whylen)
{
    unsigned ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 2000;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    for (unsigned i = 0; i < cfg->n_sentinels; i++) {
        redisContext *c = redisConnectWithTimeout(cfg->sentinels[i].host, cfg->sentinels[i].port, tv);
        redisReply *r = NULL;
        int ok = -1;

        if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK) {
            if (cfg->sentinel_password[0])
                freeReplyObject(redisCommand(c, "AUTH %s", cfg->sentinel_password));
            r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", cfg->master_name);
            ok = parse_addr(r, host, hostcap, port);
        }
        freeReplyObject(r);
        if (c)
            redisFree(c);
        if (ok == 0)
            return 0;
    }
    snprintf(why, whylen, "no sentinel of redis.sentinels named the master \"%s\"", cfg->master_name);
    return -1;
}

/* ---- life ---- */

struct q_sentinel *q_sentinel_new(struct event_base *base, const struct cfg_redis *cfg, q_sentinel_found_fn *found,
                                  q_sentinel_switch_fn *sw, void *arg)
{
    struct q_sentinel *s;

    if (!base || !cfg || cfg->n_sentinels == 0 || cfg->n_sentinels > CFG_MAX_SENTINELS || !found || !sw)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base = base;
    s->cfg = *cfg;
    OPENSSL_cleanse(s->cfg.password, sizeof s->cfg.password); /* the master's: not ours to hold */
    s->found = found;
    s->sw = sw;
    s->arg = arg;
    s->wbackoff_ms = WATCH_BACKOFF_MIN_MS;
    s->qstart_ev = event_new(base, -1, 0, on_query_start, s);
    s->qtimeout_ev = evtimer_new(base, on_query_timeout, s);
    s->wretry_ev = evtimer_new(base, on_watch_retry, s);
    if (!s->qstart_ev || !s->qtimeout_ev || !s->wretry_ev) {
        q_sentinel_free(s);
        return NULL;
    }
    watch_start(s);
    return s;
}

void q_sentinel_free(struct q_sentinel *s)
{
    redisAsyncContext *ac;

    if (!s)
        return;
    query_close(s);
    ac = s->wac;
    s->wac = NULL;
    if (ac)
        redisAsyncFree(ac);
    if (s->qstart_ev)
        event_free(s->qstart_ev);
    if (s->qtimeout_ev)
        event_free(s->qtimeout_ev);
    if (s->wretry_ev)
        event_free(s->wretry_ev);
    OPENSSL_cleanse(&s->cfg, sizeof s->cfg);
    free(s);
}
