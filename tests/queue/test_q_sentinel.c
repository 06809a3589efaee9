/*
 * test_q_sentinel.c - the queue behind Redis Sentinel (q_sentinel.c, q_conn.c)
 * with real servers on loopback: a master (tests/redis_test.h), a replica and
 * one redis-sentinel (quorum 1) monitoring them.
 *   - the master is found through the sentinel;
 *   - the master demoted behind the sentinel's back: a write answered
 *     READONLY fails with AGAIN and drops the connection, and the gateway
 *     refuses to stay on the old master (ROLE) while the sentinel still
 *     names it; back as master, the queue reconnects;
 *   - SENTINEL FAILOVER: +switch-master moves both connections to the new
 *     master, the pub/sub one too (a PUBLISH there reaches q_watch).
 */
#include <signal.h>
#include <stdarg.h>
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
#include "q_priv.h" /* q_eval: queue-private */
#include "redis_test.h"

#define NAME "simpki-test"

static struct event_base *base;

static int64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Run the loop for ms, or until *flag >= want (flag may be NULL). */
static void pump(const int *flag, int want, int ms)
{
    int64_t end = now_ms() + ms;

    while ((!flag || *flag < want) && now_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
}

static int pump_connected(struct q *q, int ms)
{
    int64_t end = now_ms() + ms;

    while (!q_connected(q) && now_ms() < end) {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(1000);
    }
    return q_connected(q);
}

/* One command on port, its reply's text (status or string) or integer into buf; "" on failure. */
static void cmd(int port, char *buf, size_t cap, const char *fmt, ...)
{
    redisContext *c = redis_test_connect_port(port);
    redisReply *r = NULL;
    va_list ap;

    buf[0] = '\0';
    if (c) {
        va_start(ap, fmt);
        r = redisvCommand(c, fmt, ap);
        va_end(ap);
    }
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR))
        snprintf(buf, cap, "%s", r->str);
    else if (r && r->type == REDIS_REPLY_INTEGER)
        snprintf(buf, cap, "%lld", r->integer);
    else if (r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_STRING)
        snprintf(buf, cap, "%s", r->element[0]->str); /* ROLE's first word */
    freeReplyObject(r);
    if (c)
        redisFree(c);
}

/* port replicates from master, in sync. */
static int in_sync(int port)
{
    char buf[4096];

    cmd(port, buf, sizeof buf, "INFO replication");
    return strstr(buf, "master_link_status:up") != NULL;
}

static int wait_sync(int port)
{
    for (int i = 0; i < 1000; i++) {
        if (in_sync(port))
            return 1;
        usleep(10000);
    }
    return 0;
}

struct res {
    int n;
    enum q_err err;
};

static void on_done(void *arg, enum q_err err, const redisReply *reply)
{
    struct res *r = arg;

    (void)reply;
    r->err = err;
    r->n++;
}

static enum q_err set_key(struct q *q, const char *key)
{
    const char *argv[2] = {key, "1"};
    struct res r = {0, Q_ERR_PROTO};

    q_eval(q, "return redis.call('SET', KEYS[1], ARGV[1])", 1, 2, argv, NULL, on_done, &r);
    pump(&r.n, 1, 5000);
    return r.n == 1 ? r.err : Q_ERR_PROTO;
}

static int watched;
static void on_watch(void *arg, const char *id)
{
    (void)arg;
    if (strcmp(id, "00aaaaaaaaaaaaaaaaaaaaaaaa") == 0)
        watched++;
}

int main(void)
{
    struct cfg_redis cfg = {.shards = 4, .connect_timeout_ms = 500, .n_sentinels = 1, .master_name = NAME};
    struct q *q = NULL;
    struct q_stats st;
    char buf[256], conf[512], mport[16], rport_s[16];
    const char *extra[] = {"--replicaof", "127.0.0.1", mport, NULL};
    int m, r, s;
    pid_t rpid, spid;

    alarm(80);
    srand((unsigned)getpid());
    if (redis_test_start("test_q_sentinel") != 0)
        return 1;
    m = redis_test_port();
    snprintf(mport, sizeof mport, "%d", m);
    rpid = redis_test_spawn_server(&r, extra);
    CHECK(rpid > 0 && wait_sync(r));
    snprintf(conf, sizeof conf,
             "sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 1000\n"
             "sentinel failover-timeout %s 3000\n",
             NAME, m, NAME, NAME);
    spid = redis_test_spawn_sentinel(&s, conf);
    CHECK(spid > 0);
    if (rpid < 0 || spid < 0)
        return check_report("test_q_sentinel");
    snprintf(rport_s, sizeof rport_s, "%d", r);

    /* The master, through the sentinel. */
    snprintf(cfg.sentinels[0].host, sizeof cfg.sentinels[0].host, "127.0.0.1");
    cfg.sentinels[0].port = (uint16_t)s;
    base = event_base_new();
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    CHECK_EQ_INT(q_watch(q, on_watch, NULL), Q_OK);
    CHECK(pump_connected(q, 5000));
    CHECK_EQ_INT(set_key(q, "spk:{0}:a"), Q_OK);
    cmd(m, buf, sizeof buf, "GET spk:{0}:a");
    CHECK_EQ_STR(buf, "1");

    /* Demoted behind the sentinel's back (it looks every 10 s): READONLY drops, ROLE refuses. */
    cmd(r, buf, sizeof buf, "REPLICAOF NO ONE");
    cmd(m, buf, sizeof buf, "REPLICAOF 127.0.0.1 %d", r);
    CHECK_EQ_INT(set_key(q, "spk:{0}:b"), Q_ERR_AGAIN);
    pump(NULL, 0, 800);
    CHECK(!q_connected(q)); /* asked the sentinel again, got the old master, refused it */
    cmd(m, buf, sizeof buf, "REPLICAOF NO ONE");
    cmd(r, buf, sizeof buf, "REPLICAOF 127.0.0.1 %d", m);
    CHECK(pump_connected(q, 5000)); /* a master again: taken */
    CHECK_EQ_INT(set_key(q, "spk:{0}:c"), Q_OK);
    q_get_stats(q, &st);
    CHECK_EQ_INT(st.failovers, 0); /* the sentinel named the same master throughout */

    /* A real failover: the replica promoted, both connections follow. */
    CHECK(wait_sync(r));
    for (int i = 0; i < 50; i++) {
        cmd(s, buf, sizeof buf, "SENTINEL FAILOVER %s", NAME);
        if (strcmp(buf, "OK") == 0)
            break;
        usleep(100000); /* NOGOODSLAVE until the sentinel has seen the replica in sync */
    }
    CHECK_EQ_STR(buf, "OK");
    for (int64_t end = now_ms() + 20000; now_ms() < end;) {
        q_get_stats(q, &st);
        if (st.failovers >= 1 && q_connected(q))
            break;
        pump(NULL, 0, 20);
    }
    CHECK(st.failovers >= 1);
    cmd(r, buf, sizeof buf, "ROLE");
    CHECK_EQ_STR(buf, "master");
    CHECK_EQ_INT(set_key(q, "spk:{0}:d"), Q_OK);
    cmd(r, buf, sizeof buf, "GET spk:{0}:d");
    CHECK_EQ_STR(buf, "1"); /* written on the new master */
    /* The pub/sub connection re-subscribed there: a completion published on the new master arrives. */
    for (int i = 0; i < 100 && !watched; i++) {
        cmd(r, buf, sizeof buf, "PUBLISH %s %s", Q_DONE_CHANNEL, "00aaaaaaaaaaaaaaaaaaaaaaaa");
        pump(&watched, 1, 50);
    }
    CHECK(watched >= 1);
    (void)rport_s;

    q_free(q);
    event_base_free(base);
    return check_report("test_q_sentinel");
}
