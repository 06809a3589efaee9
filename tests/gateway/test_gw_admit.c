/*
 * test_gw_admit.c - overload control (gateway/api/gw_admit.h) with a fake
 * clock and a fake rate lease: slots bound to transactions that finish here,
 * finish at another instance (the same announcement), or are never heard of
 * (the deadline backstop); the per-instance and per-relying-party bounds; the
 * shared rate served from leases; long polls.
 */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "check.h"
#include "gw_admit.h"
#include "gw_metrics.h"

static int64_t now;
static int64_t fake_now(void)
{
    return now;
}

/* The lease asked last, answered by the test. */
static struct {
    int calls;
    unsigned limit, want;
    char rp[64];
    q_rate_cb *cb;
    void *arg;
} lease;

static void fake_lease(struct q *q, const char *rp, unsigned limit, unsigned want, q_rate_cb *cb, void *arg)
{
    (void)q;
    lease.calls++;
    lease.limit = limit;
    lease.want = want;
    snprintf(lease.rp, sizeof lease.rp, "%s", rp);
    lease.cb = cb;
    lease.arg = arg;
}

static void answer_lease(enum q_err err, unsigned granted, unsigned ms_left)
{
    q_rate_cb *cb = lease.cb;
    lease.cb = NULL;
    CHECK(cb != NULL);
    if (cb)
        cb(lease.arg, err, granted, ms_left);
}

/* What a waiting take was answered. */
struct waited {
    int calls;
    enum gw_admit_res res;
    struct gw_admit_slot *slot;
};

static void on_admit(void *arg, enum gw_admit_res res, struct gw_admit_slot *slot)
{
    struct waited *w = arg;
    w->calls++;
    w->res = res;
    w->slot = slot;
}

static struct cfg *make_cfg(void)
{
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    static const char *const names[] = {"plain", "small", "rated", "free"};

    cfg->txn_timeout_s = 180;
    cfg->sweep_interval_ms = 500;
    cfg->limits.max_in_flight = 6;
    cfg->limits.max_in_flight_per_rp = 3; /* "plain": no bound of its own */
    cfg->limits.retry_after_s = 2;
    cfg->limits.max_long_polls = 2;
    cfg->n_apikeys = 4;
    cfg->apikeys = calloc(4, sizeof(*cfg->apikeys));
    for (int i = 0; i < 4; i++)
        snprintf(cfg->apikeys[i].name, sizeof cfg->apikeys[i].name, "%s", names[i]);
    cfg->apikeys[1].max_in_flight = 1;
    cfg->apikeys[2].rate_per_s = 40; /* a batch of 2 */
    cfg->apikeys[2].max_in_flight = 6;
    cfg->apikeys[3].max_in_flight = 6;
    return cfg;
}

static struct gw_admit_slot *take_ok(struct gw_admit *a, const char *rp)
{
    struct gw_admit_slot *s = NULL;
    struct waited w = {0};
    CHECK_EQ_INT(gw_admit_take(a, rp, &s, on_admit, &w), GW_ADMIT_OK);
    CHECK(s != NULL);
    return s;
}

static enum gw_admit_res take(struct gw_admit *a, const char *rp, struct waited *w)
{
    struct gw_admit_slot *s = (void *)1;
    enum gw_admit_res res = gw_admit_take(a, rp, &s, on_admit, w);
    if (res != GW_ADMIT_OK)
        CHECK(s == NULL);
    else
        w->slot = s;
    return res;
}

/* Slots end when their transaction finishes, here or elsewhere, or at the deadline when never heard of. */
static void test_in_flight(struct gw_admit *a, struct gw_metrics *m)
{
    const char *here = "01aaaaaaaaaaaaaaaaaaaaaaaa", *there = "02bbbbbbbbbbbbbbbbbbbbbbbb",
               *never = "03cccccccccccccccccccccccc";
    struct gw_admit_slot *s[6];
    struct waited w = {0};

    for (int i = 0; i < 6; i++)
        s[i] = take_ok(a, "free");
    CHECK_EQ_INT(gw_admit_in_flight(a), 6);
    CHECK_EQ_INT(take(a, "free", &w), GW_ADMIT_OVERLOADED);
    CHECK_EQ_INT(take(a, "plain", &w), GW_ADMIT_OVERLOADED); /* the instance's bound comes first */
    CHECK_EQ_INT(m->c[GW_M_SIGN_OVERLOADED], 2);
    CHECK_EQ_INT(gw_admit_in_flight(a), 6);

    /* Refused after admission (say BUSY): the slot ends at once. */
    gw_admit_release(a, s[0]);
    CHECK_EQ_INT(gw_admit_in_flight(a), 5);
    gw_admit_release(a, NULL); /* nothing */
    s[0] = take_ok(a, "free");

    gw_admit_bind(a, s[0], here);
    gw_admit_bind(a, s[1], there);
    gw_admit_bind(a, s[2], never);
    CHECK_EQ_INT(gw_admit_in_flight(a), 6);
    gw_admit_notify(a, "04dddddddddddddddddddddddd"); /* someone else's finish: nothing of ours */
    CHECK_EQ_INT(gw_admit_in_flight(a), 6);
    gw_admit_notify(a, here); /* finished here: the announcement reaches this instance too */
    CHECK_EQ_INT(gw_admit_in_flight(a), 5);
    gw_admit_notify(a, here); /* a second announcement of the same id is harmless */
    CHECK_EQ_INT(gw_admit_in_flight(a), 5);
    now += 1000;
    gw_admit_notify(a, there); /* finished at another instance */
    CHECK_EQ_INT(gw_admit_in_flight(a), 4);

    /* never: held until its deadline (180 s + sweep 0.5 s + 30 s margin after its bind), then ended. */
    now += 180000 + 500 + 30000 - 1000 - 1;
    gw_admit_tick(a);
    CHECK_EQ_INT(gw_admit_in_flight(a), 4);
    CHECK_EQ_INT(m->c[GW_M_ADMIT_BACKSTOP], 0);
    now += 1;
    gw_admit_tick(a);
    CHECK_EQ_INT(gw_admit_in_flight(a), 3);
    CHECK_EQ_INT(m->c[GW_M_ADMIT_BACKSTOP], 1);
    gw_admit_notify(a, never); /* heard late: already ended, nothing twice */
    CHECK_EQ_INT(gw_admit_in_flight(a), 3);
    for (int i = 3; i < 6; i++)
        gw_admit_release(a, s[i]);
    CHECK_EQ_INT(gw_admit_in_flight(a), 0);
    CHECK_EQ_INT(gw_admit_in_flight_rp(a, "free"), 0);
}

/* A relying party's own bound (its key's, else max_in_flight_per_rp): 429, others unaffected. */
static void test_per_rp(struct gw_admit *a, struct gw_metrics *m)
{
    struct waited w = {0};
    struct gw_admit_slot *s1 = take_ok(a, "small"), *p[3];
    uint64_t limited = m->c[GW_M_SIGN_RATE_LIMITED];

    CHECK_EQ_INT(take(a, "small", &w), GW_ADMIT_RATE_LIMITED);
    for (int i = 0; i < 3; i++)
        p[i] = take_ok(a, "plain");
    CHECK_EQ_INT(take(a, "plain", &w), GW_ADMIT_RATE_LIMITED); /* max_in_flight_per_rp 3 */
    CHECK_EQ_INT(m->c[GW_M_SIGN_RATE_LIMITED], limited + 2);
    CHECK_EQ_INT(gw_admit_in_flight_rp(a, "plain"), 3);
    CHECK_EQ_INT(gw_admit_in_flight_rp(a, "small"), 1);
    gw_admit_bind(a, s1, "05eeeeeeeeeeeeeeeeeeeeeeee");
    gw_admit_notify(a, "05eeeeeeeeeeeeeeeeeeeeeeee");
    gw_admit_release(a, take_ok(a, "small")); /* its one place is free again */
    for (int i = 0; i < 3; i++)
        gw_admit_release(a, p[i]);
    CHECK_EQ_INT(gw_admit_in_flight(a), 0);
}

/* rate_per_s: one lease call per batch, takes wait for it, a spent window refuses without a call. */
static void test_rate(struct gw_admit *a, struct gw_metrics *m)
{
    struct waited w1 = {0}, w2 = {0}, w3 = {0}, w4 = {0}, w5 = {0};
    int calls = lease.calls;

    CHECK_EQ_INT(take(a, "rated", &w1), GW_ADMIT_WAIT);
    CHECK_EQ_INT(lease.calls, calls + 1);
    CHECK_EQ_INT(lease.want, 2);
    CHECK_EQ_INT(lease.limit, 40);
    CHECK(strcmp(lease.rp, "rated") == 0);
    CHECK_EQ_INT(take(a, "rated", &w2), GW_ADMIT_WAIT); /* waits for the same lease */
    CHECK_EQ_INT(take(a, "rated", &w3), GW_ADMIT_WAIT);
    CHECK_EQ_INT(lease.calls, calls + 1);
    CHECK_EQ_INT(gw_admit_in_flight(a), 3); /* a waiting take holds its place */
    CHECK_EQ_INT(w1.calls + w2.calls + w3.calls, 0);
    /* 2 granted of the 2 asked: the two oldest go on, the third asks again (more came than were asked). */
    answer_lease(Q_OK, 2, 600);
    CHECK_EQ_INT(w1.calls, 1);
    CHECK_EQ_INT(w1.res, GW_ADMIT_OK);
    CHECK(w1.slot != NULL);
    CHECK_EQ_INT(w2.res, GW_ADMIT_OK);
    CHECK_EQ_INT(w3.calls, 0);
    CHECK_EQ_INT(lease.calls, calls + 2);
    /* 1 granted of 2: the window is spent for everyone. */
    answer_lease(Q_OK, 1, 500);
    CHECK_EQ_INT(w3.calls, 1);
    CHECK_EQ_INT(w3.res, GW_ADMIT_OK);
    CHECK_EQ_INT(take(a, "rated", &w4), GW_ADMIT_RATE_LIMITED); /* no Redis call for it */
    CHECK_EQ_INT(lease.calls, calls + 2);
    CHECK_EQ_INT(m->c[GW_M_SIGN_RATE_LIMITED] > 0, 1);
    CHECK_EQ_INT(gw_admit_in_flight(a), 3);
    /* The next window: a new lease; Redis away -> UNAVAILABLE, the place given back. */
    now += 600;
    CHECK_EQ_INT(take(a, "rated", &w5), GW_ADMIT_WAIT);
    CHECK_EQ_INT(lease.calls, calls + 3);
    answer_lease(Q_ERR_AGAIN, 0, 0);
    CHECK_EQ_INT(w5.calls, 1);
    CHECK_EQ_INT(w5.res, GW_ADMIT_UNAVAILABLE);
    CHECK(w5.slot == NULL);
    CHECK_EQ_INT(gw_admit_in_flight(a), 3);
    /* Tokens left over serve without a call: lease 2, use 1 now, 1 next. */
    CHECK_EQ_INT(take(a, "rated", &w5), GW_ADMIT_WAIT);
    answer_lease(Q_OK, 2, 900);
    CHECK_EQ_INT(w5.res, GW_ADMIT_OK);
    gw_admit_release(a, w5.slot);
    calls = lease.calls;
    gw_admit_release(a, take_ok(a, "rated"));
    CHECK_EQ_INT(lease.calls, calls);
    /* ... but not past the window's end. */
    CHECK_EQ_INT(take(a, "rated", &w5), GW_ADMIT_WAIT);
    now += 1000;
    answer_lease(Q_OK, 2, 1); /* answered after its window ended: nothing to serve */
    CHECK_EQ_INT(w5.calls, 2);
    CHECK_EQ_INT(lease.calls, calls + 2); /* asked again for the take still waiting */
    answer_lease(Q_OK, 2, 800);
    CHECK_EQ_INT(w5.calls, 3);
    CHECK_EQ_INT(w5.res, GW_ADMIT_OK);
    gw_admit_release(a, w5.slot);
    gw_admit_release(a, w1.slot);
    gw_admit_release(a, w2.slot);
    gw_admit_release(a, w3.slot);
    CHECK_EQ_INT(gw_admit_in_flight(a), 0);
}

static void test_long_polls(struct gw_admit *a, struct gw_metrics *m)
{
    CHECK_EQ_INT(gw_admit_poll_take(a), 1);
    CHECK_EQ_INT(gw_admit_poll_take(a), 1);
    CHECK_EQ_INT(gw_admit_poll_take(a), 0);
    CHECK_EQ_INT(m->c[GW_M_POLL_LIMITED], 1);
    gw_admit_poll_done(a);
    CHECK_EQ_INT(gw_admit_poll_take(a), 1);
    gw_admit_poll_done(a);
    gw_admit_poll_done(a);
    CHECK(strcmp(gw_admit_retry_after(a), "2") == 0);
    CHECK(strcmp(gw_admit_code(GW_ADMIT_OVERLOADED), "OVERLOADED") == 0);
    CHECK(strcmp(gw_admit_code(GW_ADMIT_RATE_LIMITED), "RATE_LIMITED") == 0);
    CHECK(gw_admit_code(GW_ADMIT_OK) == NULL);
}

int main(void)
{
    struct cfg *cfg = make_cfg();
    struct gw_metrics m;
    struct gw_admit *a;

    memset(&m, 0, sizeof m);
    now = 1000000;
    a = gw_admit_new(&(struct gw_admit_deps){.cfg = cfg, .metrics = &m, .now_ms = fake_now, .lease = fake_lease});
    CHECK(a != NULL);
    if (a) {
        test_in_flight(a, &m);
        test_per_rp(a, &m);
        test_rate(a, &m);
        test_long_polls(a, &m);
        /* Bound slots left at the end are freed with the admission (ASan checks). */
        gw_admit_bind(a, take_ok(a, "free"), "06ffffffffffffffffffffffff");
        gw_admit_free(a);
    }
    free(cfg->apikeys);
    free(cfg);
    return check_report("test_gw_admit");
}
