/*
 * test_q_wait.c - redis.wait_replicas (q_conn.c): a state-changing call is
 * answered only after a WAIT counted the replica, one WAIT covers a batch,
 * too few replicas fail the call with Q_ERR_AGAIN, reads are not held.
 * A real master (tests/redis_test.h) and a real replica (replicaof) on
 * loopback, SIGSTOP to make the replica miss its acknowledgement.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cfg.h"
#include "check.h"
#include "q.h"
#include "q_priv.h" /* q_eval, q_command: queue-private */
#include "redis_test.h"

#define BATCH 50

static struct event_base *base;
static pid_t replica_pid = -1;
static int replica_port;

/* A reply's text for INFO-like commands on port, into buf; "" when it failed. */
static void info(int port, const char *cmd, char *buf, size_t cap)
{
    redisContext *c = redis_test_connect_port(port);
    redisReply *r = c ? redisCommand(c, cmd) : NULL;

    buf[0] = '\0';
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(buf, cap, "%s", r->str);
    freeReplyObject(r);
    if (c)
        redisFree(c);
}

/* The replica (replicaof the master), once in sync: its link up and the master counting it. */
static int replica_start(void)
{
    char master[16], buf[4096];
    const char *extra[] = {"--replicaof", "127.0.0.1", master, NULL};

    snprintf(master, sizeof master, "%d", redis_test_port());
    if ((replica_pid = redis_test_spawn_server(&replica_port, extra)) < 0)
        return -1;
    for (int i = 0; i < 1000; i++) {
        info(replica_port, "INFO replication", buf, sizeof buf);
        if (strstr(buf, "master_link_status:up")) {
            info(redis_test_port(), "INFO replication", buf, sizeof buf);
            if (strstr(buf, "connected_slaves:1"))
                return 0;
        }
        usleep(10000);
    }
    return -1;
}

/* WAIT commands the master ran so far. */
static long long wait_calls(void)
{
    char buf[16384];
    const char *p;

    info(redis_test_port(), "INFO commandstats", buf, sizeof buf);
    p = strstr(buf, "cmdstat_wait:calls=");
    return p ? strtoll(p + 19, NULL, 10) : 0;
}

struct res {
    int n;
    enum q_err err[BATCH];
    long long v[BATCH];
};
struct one {
    struct res *r;
    int i;
};

static void on_done(void *arg, enum q_err err, const redisReply *reply)
{
    struct one *o = arg;

    o->r->err[o->i] = err;
    o->r->v[o->i] = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    o->r->n++;
}

static void pump(const int *n, int want, int ms)
{
    struct timespec t0, t;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        usleep(500);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (*n < want && (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void incr(struct q *q, struct one *o)
{
    const char *argv[1] = {"spk:{0}:waitcount"};

    q_eval(q, "return redis.call('INCR', KEYS[1])", 1, 1, argv, NULL, on_done, o);
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = 4, .connect_timeout_ms = 500};
    struct q *q = NULL;
    struct res r;
    struct one o[BATCH];
    struct q_stats st;
    long long w0, sum = 0;
    char buf[256];

    alarm(60);
    srand((unsigned)getpid());
    if (redis_test_start("test_q_wait") != 0 || replica_start() != 0) {
        fprintf(stderr, "test_q_wait: cannot start the master and its replica\n");
        return 1;
    }
    cfg.port = (uint16_t)redis_test_port();
    cfg.wait_replicas = 1;
    cfg.wait_timeout_ms = 200;
    base = event_base_new();
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    for (int i = 0; i < 3000 && !q_connected(q); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CHECK(q_connected(q));

    /* A batch: every call answered OK with its own reply, covered by far fewer WAITs than calls. */
    memset(&r, 0, sizeof r);
    w0 = wait_calls();
    for (int i = 0; i < BATCH; i++) {
        o[i] = (struct one){&r, i};
        incr(q, &o[i]);
    }
    pump(&r.n, BATCH, 5000);
    CHECK_EQ_INT(r.n, BATCH);
    for (int i = 0; i < BATCH; i++) {
        CHECK_EQ_INT(r.err[i], Q_OK);
        sum += r.v[i];
    }
    CHECK_EQ_INT(sum, BATCH * (BATCH + 1) / 2); /* 1..50, each its own reply, kept through the wait */
    CHECK(wait_calls() - w0 >= 1);
    CHECK(wait_calls() - w0 <= 3); /* one for the first reply, one for the rest (a third if the burst split) */
    printf("batch of %d durable calls: %lld WAITs\n", BATCH, wait_calls() - w0);

    /* The replica stops acknowledging: the call fails with AGAIN; the write itself is on the master. */
    kill(replica_pid, SIGSTOP);
    memset(&r, 0, sizeof r);
    o[0] = (struct one){&r, 0};
    incr(q, &o[0]);
    pump(&r.n, 1, 5000);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_INT(r.err[0], Q_ERR_AGAIN);
    q_get_stats(q, &st);
    CHECK_EQ_INT(st.wait_failures, 1);
    {
        redisContext *c = redis_test_connect();
        redisReply *g = c ? redisCommand(c, "GET spk:{0}:waitcount") : NULL;
        snprintf(buf, sizeof buf, "%s", g && g->type == REDIS_REPLY_STRING ? g->str : "");
        freeReplyObject(g);
        if (c)
            redisFree(c);
    }
    CHECK_EQ_STR(buf, "51"); /* why Idempotency-Key exists: the refused write may still be there */

    /* A read is not held: no WAIT for it, answered while the replica still sleeps. */
    {
        const char *argv[2] = {"GET", "spk:{0}:waitcount"};
        size_t len[2] = {3, strlen(argv[1])};
        w0 = wait_calls();
        memset(&r, 0, sizeof r);
        q_command(q, 2, argv, len, on_done, &o[0]);
        pump(&r.n, 1, 5000);
        CHECK_EQ_INT(r.err[0], Q_OK);
        CHECK_EQ_INT(wait_calls(), w0);
    }

    /* The replica back: durable calls pass again. */
    kill(replica_pid, SIGCONT);
    memset(&r, 0, sizeof r);
    incr(q, &o[0]);
    pump(&r.n, 1, 5000);
    CHECK_EQ_INT(r.err[0], Q_OK);
    CHECK_EQ_INT(r.v[0], 52);
    q_get_stats(q, &st);
    CHECK_EQ_INT(st.wait_failures, 1);
    CHECK_EQ_INT(st.in_flight, 0);

    /* The connection lost with calls waiting for WAIT: each fails once, with AGAIN. */
    kill(replica_pid, SIGSTOP);
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 5; i++) {
        o[i] = (struct one){&r, i};
        incr(q, &o[i]);
    }
    for (int i = 0; i < 20; i++) /* sent, answered, waiting */
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    redis_test_stop();
    pump(&r.n, 5, 5000);
    CHECK_EQ_INT(r.n, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(r.err[i], Q_ERR_AGAIN);
    kill(replica_pid, SIGCONT);
    q_get_stats(q, &st);
    CHECK_EQ_INT(st.in_flight, 0);
    (void)replica_port;

    q_free(q);
    event_base_free(base);
    return check_report("test_q_wait");
}
