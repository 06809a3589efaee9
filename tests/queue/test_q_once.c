/*
 * test_q_once.c - q_once (an id a relying party may use once, whatever the
 * number) against a real redis-server: first use, repeat, what the first use
 * bound, per relying party, bad ids, expiry.  State is read behind the code's
 * back with a plain connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cfg.h"
#include "check.h"
#include "q.h"
#include "q_once.h"
#include "redis_test.h"

static struct event_base *base;

struct res {
    int n;
    enum q_err err;
    char prev[Q_ONCE_ID_MAX + 1];
};

static void on_claim(void *arg, enum q_err err, const char *prev)
{
    struct res *r = arg;
    r->err = err;
    snprintf(r->prev, sizeof r->prev, "%s", prev ? prev : "(null)");
    r->n++;
}

static void on_bound(void *arg, enum q_err err)
{
    struct res *r = arg;
    r->err = err;
    r->n++;
}

static void pump(const int *n)
{
    for (int i = 0; i < 2000 && *n == 0; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
}

static struct res claim(struct q *q, const char *rp, const char *id, unsigned ttl)
{
    struct res r = {0};
    q_once_claim(q, rp, id, ttl, on_claim, &r);
    CHECK_EQ_INT(r.n, 0); /* never inside the call */
    pump(&r.n);
    CHECK_EQ_INT(r.n, 1);
    return r;
}

static enum q_err bind_to(struct q *q, const char *rp, const char *id, const char *v)
{
    struct res r = {0};
    q_once_bind(q, rp, id, v, on_bound, &r);
    pump(&r.n);
    CHECK_EQ_INT(r.n, 1);
    return r.err;
}

static long long ttl_of(const char *key)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, "TTL %s", key) : NULL;
    long long t = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -99;
    freeReplyObject(r);
    if (c)
        redisFree(c);
    return t;
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = 4, .connect_timeout_ms = 500};
    struct q *q = NULL;
    struct res r;
    char longid[Q_ONCE_ID_MAX + 2];

    alarm(60);
    if (redis_test_start("test_q_once") != 0)
        return 1;
    cfg.port = (uint16_t)redis_test_port();
    base = event_base_new();
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    for (int i = 0; i < 300 && !q_connected(q); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CHECK(q_connected(q));

    r = claim(q, "eoffice", "T0001", 100);
    CHECK_EQ_INT(r.err, Q_OK);
    CHECK(ttl_of("spk:once:eoffice:T0001") > 90);
    r = claim(q, "eoffice", "T0001", 100);
    CHECK_EQ_INT(r.err, Q_ERR_CONFLICT);
    CHECK_EQ_STR(r.prev, ""); /* used, nothing bound yet */
    CHECK_EQ_INT(bind_to(q, "eoffice", "T0001", "T0a1b2c"), Q_OK);
    r = claim(q, "eoffice", "T0001", 100);
    CHECK_EQ_INT(r.err, Q_ERR_CONFLICT);
    CHECK_EQ_STR(r.prev, "T0a1b2c");
    CHECK(ttl_of("spk:once:eoffice:T0001") > 90); /* the bind kept the expiry */
    /* Another relying party's id of the same spelling is its own. */
    CHECK_EQ_INT(claim(q, "other", "T0001", 100).err, Q_OK);
    /* A bind without a claim writes nothing (XX). */
    CHECK_EQ_INT(bind_to(q, "eoffice", "T0002", "x"), Q_OK);
    CHECK_EQ_INT(ttl_of("spk:once:eoffice:T0002"), -2);
    /* Ids that cannot be key parts never reach Redis. */
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    CHECK_EQ_INT(claim(q, "eoffice", longid, 100).err, Q_ERR_INVALID);
    CHECK_EQ_INT(claim(q, "eoffice", "with space", 100).err, Q_ERR_INVALID);
    CHECK_EQ_INT(claim(q, "eoffice", "", 100).err, Q_ERR_INVALID);
    CHECK_EQ_INT(claim(q, "a:b", "T1", 100).err, Q_ERR_INVALID);
    CHECK_EQ_INT(claim(q, "eoffice", "T3", 0).err, Q_ERR_INVALID);
    /* It expires: used once within ttl_s, free again after. */
    CHECK_EQ_INT(claim(q, "eoffice", "T0003", 1).err, Q_OK);
    sleep(2);
    CHECK_EQ_INT(claim(q, "eoffice", "T0003", 1).err, Q_OK);

    q_free(q);
    event_base_free(base);
    return check_report("test_q_once");
}
