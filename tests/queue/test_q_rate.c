/*
 * test_q_rate.c - q_rate (a relying party's per-second rate, leased in
 * batches by every instance) against a real redis-server: grants up to the
 * limit and no further within a window, whatever the batches asked; a new
 * window starts afresh; relying parties are counted apart; bad arguments
 * never reach Redis.  A run that straddles a window boundary (seen as
 * ms_left going up) is run again, so no check depends on timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cfg.h"
#include "check.h"
#include "q.h"
#include "q_rate.h"
#include "redis_test.h"

static struct event_base *base;

struct res {
    int n;
    enum q_err err;
    unsigned granted, ms_left;
};

static void on_lease(void *arg, enum q_err err, unsigned granted, unsigned ms_left)
{
    struct res *r = arg;
    r->err = err;
    r->granted = granted;
    r->ms_left = ms_left;
    r->n++;
}

static struct res lease(struct q *q, const char *rp, unsigned limit, unsigned want)
{
    struct res r = {0};
    q_rate_lease(q, rp, limit, want, on_lease, &r);
    CHECK_EQ_INT(r.n, 0); /* never inside the call */
    for (int i = 0; i < 2000 && r.n == 0; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CHECK_EQ_INT(r.n, 1);
    return r;
}

/* One window's worth: 3 + 2 (of 3 asked) + 0 of limit 5; another relying party apart.  0 when it straddled. */
static int one_window(struct q *q, int round)
{
    char rp[32], other[32];
    struct res a, b, c, d, e;

    snprintf(rp, sizeof rp, "rp-%d", round);
    snprintf(other, sizeof other, "other-%d", round);
    a = lease(q, rp, 5, 3);
    b = lease(q, rp, 5, 3);
    c = lease(q, rp, 5, 1);
    d = lease(q, other, 5, 5);
    e = lease(q, rp, 5, 1);
    if (!(a.ms_left >= b.ms_left && b.ms_left >= c.ms_left && c.ms_left >= d.ms_left && d.ms_left >= e.ms_left))
        return 0;
    CHECK_EQ_INT(a.err, Q_OK);
    CHECK_EQ_INT(a.granted, 3);
    CHECK_EQ_INT(b.granted, 2); /* only what is left of the limit */
    CHECK_EQ_INT(c.granted, 0); /* spent */
    CHECK_EQ_INT(d.granted, 5); /* another relying party's own window */
    CHECK_EQ_INT(e.granted, 0);
    CHECK(a.ms_left >= 1 && a.ms_left <= 1000);
    /* The next window starts afresh. */
    usleep((useconds_t)(e.ms_left + 20) * 1000);
    CHECK_EQ_INT(lease(q, rp, 5, 4).granted, 4);
    return 1;
}

int main(void)
{
    struct cfg_redis cfg = {.host = "127.0.0.1", .shards = 4, .connect_timeout_ms = 500};
    struct q *q = NULL;
    char longrp[80];
    int done = 0;

    alarm(60);
    if (redis_test_start("test_q_rate") != 0)
        return 1;
    cfg.port = (uint16_t)redis_test_port();
    base = event_base_new();
    CHECK_EQ_INT(q_new(base, &cfg, &q), Q_OK);
    for (int i = 0; i < 300 && !q_connected(q); i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK), usleep(1000);
    CHECK(q_connected(q));

    for (int round = 0; round < 5 && !done; round++)
        done = one_window(q, round);
    CHECK(done);
    /* Bad arguments fail from the loop, with nothing sent. */
    memset(longrp, 'a', sizeof longrp - 1);
    longrp[sizeof longrp - 1] = '\0';
    CHECK_EQ_INT(lease(q, longrp, 5, 1).err, Q_ERR_INVALID);
    CHECK_EQ_INT(lease(q, "a:b", 5, 1).err, Q_ERR_INVALID);
    CHECK_EQ_INT(lease(q, "", 5, 1).err, Q_ERR_INVALID);
    CHECK_EQ_INT(lease(q, "rp", 0, 1).err, Q_ERR_INVALID);
    CHECK_EQ_INT(lease(q, "rp", 5, 0).err, Q_ERR_INVALID);

    q_free(q);
    event_base_free(base);
    return check_report("test_q_rate");
}
