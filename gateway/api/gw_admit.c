/* gw_admit.c - see gw_admit.h. */
#include "gw_admit.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw_idtab.h"
#include "gw_metrics.h"

#define RP_BUCKETS         64
#define ID_BUCKETS         4096
#define TICK_MS            1000  /* the backstop's period */
#define DEADLINE_MARGIN_MS 30000 /* after the sweeper's expiry would have been announced */
#define LEASE_WAIT_MS      500   /* a take waits this long for a rate lease, at most */

/*
 * A slot.  Taken: counted; waiting for a lease: in its relying party's FIFO
 * (next); bound: in the id table and the deadline list (prev/next), whose
 * order is the binding order, hence the deadline order (one margin for all).
 */
struct gw_admit_slot {
    struct gw_admit_slot *prev, *next;
    struct rp *rp;
    struct gw_idtab_node node;
    int64_t deadline;
    gw_admit_cb *cb; /* waiting for a lease */
    void *arg;
    int bound;
    char id[Q_ID_LEN];
};

/* What one relying party has here; made on its first request, kept until the end (few of them). */
struct rp {
    struct gw_idtab_node node;
    struct gw_admit *a;
    char name[64];
    unsigned in_flight;
    /* rate_per_s: the lease of the current window */
    unsigned tokens;
    int64_t tokens_until; /* the window's end, by this clock (a little early: from when the lease was asked) */
    int64_t spent_until;  /* the window gave out: refuse until then */
    int leasing;          /* a lease call is under way */
    unsigned asked;       /* by it */
    int64_t lease_sent;
    struct gw_admit_slot *wq_head, *wq_tail; /* takes waiting for the lease, oldest first */
    struct event *wait_timer;                /* bounds their wait */
};

struct gw_admit {
    struct gw_admit_deps d;
    struct gw_idtab *rps; /* struct rp by name */
    struct gw_idtab *ids; /* bound slots by transaction id */
    struct gw_admit_slot *dl_head, *dl_tail;
    unsigned in_flight, polls;
    struct event *tick;
    char retry_after[16];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct gw_admit *a, enum gw_counter id)
{
    if (a->d.metrics)
        gw_metrics_inc(a->d.metrics, id);
}

const char *gw_admit_code(enum gw_admit_res res)
{
    switch (res) {
    case GW_ADMIT_OVERLOADED: return "OVERLOADED";
    case GW_ADMIT_RATE_LIMITED: return "RATE_LIMITED";
    case GW_ADMIT_UNAVAILABLE: return "UNAVAILABLE";
    default: return NULL;
    }
}

/* ---- relying parties ------------------------------------------------------ */

static struct rp *rp_get(struct gw_admit *a, const char *name)
{
    struct gw_idtab_node *n = gw_idtab_find(a->rps, name);
    struct rp *r;

    if (n)
        return GW_IDTAB_ENTRY(n, struct rp, node);
    if (strlen(name) >= sizeof r->name)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->a = a;
    memcpy(r->name, name, strlen(name) + 1);
    gw_idtab_add(a->rps, &r->node, r->name);
    return r;
}

/* ---- slots ---------------------------------------------------------------- */

static void slot_end(struct gw_admit *a, struct gw_admit_slot *s)
{
    if (s->bound) {
        gw_idtab_remove(a->ids, &s->node);
        if (s->prev)
            s->prev->next = s->next;
        else
            a->dl_head = s->next;
        if (s->next)
            s->next->prev = s->prev;
        else
            a->dl_tail = s->prev;
    }
    a->in_flight--;
    s->rp->in_flight--;
    free(s);
}

void gw_admit_release(struct gw_admit *a, struct gw_admit_slot *s)
{
    if (s)
        slot_end(a, s);
}

void gw_admit_bind(struct gw_admit *a, struct gw_admit_slot *s, const char *id)
{
    const struct cfg *cfg = a->d.cfg;

    snprintf(s->id, sizeof s->id, "%s", id);
    s->deadline =
        a->d.now_ms() + (int64_t)cfg->txn_timeout_s * 1000 + (int64_t)cfg->sweep_interval_ms + DEADLINE_MARGIN_MS;
    s->bound = 1;
    gw_idtab_add(a->ids, &s->node, s->id);
    s->next = NULL;
    s->prev = a->dl_tail;
    if (a->dl_tail)
        a->dl_tail->next = s;
    else
        a->dl_head = s;
    a->dl_tail = s;
}

void gw_admit_notify(void *arg, const char *id)
{
    struct gw_admit *a = arg;
    struct gw_idtab_node *n = gw_idtab_find(a->ids, id);

    if (n)
        slot_end(a, GW_IDTAB_ENTRY(n, struct gw_admit_slot, node));
}

void gw_admit_tick(struct gw_admit *a)
{
    int64_t now = a->d.now_ms();

    while (a->dl_head && a->dl_head->deadline <= now) {
        count(a, GW_M_ADMIT_BACKSTOP);
        slot_end(a, a->dl_head);
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gw_admit_tick(arg);
}

/* ---- rate leases ---------------------------------------------------------- */

static void lease_start(struct rp *r);

/* Answer the oldest waiting take; the slot goes with OK, else it ends first. */
static void wait_answer(struct rp *r, enum gw_admit_res res)
{
    struct gw_admit_slot *s = r->wq_head;
    gw_admit_cb *cb = s->cb;
    void *arg = s->arg;

    r->wq_head = s->next;
    if (!r->wq_head)
        r->wq_tail = NULL;
    s->next = NULL;
    s->cb = NULL;
    if (res != GW_ADMIT_OK) {
        if (res == GW_ADMIT_RATE_LIMITED)
            count(r->a, GW_M_SIGN_RATE_LIMITED);
        slot_end(r->a, s);
        s = NULL;
    }
    cb(arg, res, s);
}

static unsigned batch_of(unsigned rate)
{
    return rate / 20 > 1 ? rate / 20 : 1;
}

static unsigned rate_of(const struct gw_admit *a, const char *rp)
{
    const struct cfg_apikey *k = cfg_apikey_by_name(a->d.cfg, rp);
    return k ? k->rate_per_s : 0;
}

static void leased(void *arg, enum q_err err, unsigned granted, unsigned ms_left)
{
    struct rp *r = arg;
    struct gw_admit *a = r->a;
    unsigned want = r->asked;
    int64_t now = a->d.now_ms();

    r->leasing = 0;
    r->tokens = 0;
    if (r->wait_timer)
        evtimer_del(r->wait_timer);
    if (err != Q_OK) {
        while (r->wq_head)
            wait_answer(r, GW_ADMIT_UNAVAILABLE);
        return;
    }
    r->tokens_until = r->lease_sent + ms_left;
    if (r->tokens_until > now)
        r->tokens = granted;
    if (granted < want)
        r->spent_until = r->tokens_until; /* nothing more in this window, for any instance */
    while (r->wq_head && r->tokens > 0) {
        r->tokens--;
        wait_answer(r, GW_ADMIT_OK);
    }
    if (!r->wq_head || r->leasing)
        return;
    if (now < r->spent_until) {
        while (r->wq_head)
            wait_answer(r, GW_ADMIT_RATE_LIMITED);
        return;
    }
    lease_start(r); /* more came while asking than were asked for */
}

static void wait_expired(evutil_socket_t fd, short what, void *arg)
{
    struct rp *r = arg;

    (void)fd;
    (void)what;
    /* The lease is late (Redis slow or away): its answer, if any, is kept for the takes to come. */
    while (r->wq_head)
        wait_answer(r, GW_ADMIT_UNAVAILABLE);
}

static void lease_start(struct rp *r)
{
    struct gw_admit *a = r->a;
    unsigned rate = rate_of(a, r->name), want = batch_of(rate), n = 0;
    struct timeval tv = {0, LEASE_WAIT_MS * 1000};

    for (struct gw_admit_slot *s = r->wq_head; s; s = s->next)
        n++;
    if (n > want)
        want = n;
    if (want > rate)
        want = rate;
    r->leasing = 1;
    r->asked = want ? want : 1;
    r->tokens = 0;
    r->lease_sent = a->d.now_ms();
    if (a->d.base && !r->wait_timer)
        r->wait_timer = evtimer_new(a->d.base, wait_expired, r);
    if (r->wait_timer)
        evtimer_add(r->wait_timer, &tv);
    a->d.lease(a->d.q, r->name, rate ? rate : 1, r->asked, leased, r);
}

/* ---- taking --------------------------------------------------------------- */

enum gw_admit_res gw_admit_take(struct gw_admit *a, const char *rp, struct gw_admit_slot **slot, gw_admit_cb *cb,
                                void *arg)
{
    const struct cfg_apikey *k = cfg_apikey_by_name(a->d.cfg, rp);
    unsigned per = k && k->max_in_flight ? k->max_in_flight : a->d.cfg->limits.max_in_flight_per_rp;
    struct gw_admit_slot *s;
    struct rp *r;
    int64_t now;

    *slot = NULL;
    if (a->in_flight >= a->d.cfg->limits.max_in_flight) {
        count(a, GW_M_SIGN_OVERLOADED);
        return GW_ADMIT_OVERLOADED;
    }
    r = rp_get(a, rp);
    s = r ? calloc(1, sizeof(*s)) : NULL;
    if (!s) {
        count(a, GW_M_SIGN_OVERLOADED); /* out of memory is the instance's overload too */
        return GW_ADMIT_OVERLOADED;
    }
    if (per && r->in_flight >= per) {
        free(s);
        count(a, GW_M_SIGN_RATE_LIMITED);
        return GW_ADMIT_RATE_LIMITED;
    }
    s->rp = r;
    a->in_flight++;
    r->in_flight++;
    if (!k || !k->rate_per_s) {
        *slot = s;
        return GW_ADMIT_OK;
    }
    now = a->d.now_ms();
    if (!r->leasing && r->tokens > 0 && now < r->tokens_until) {
        r->tokens--;
        *slot = s;
        return GW_ADMIT_OK;
    }
    if (!r->leasing && now < r->spent_until) {
        slot_end(a, s);
        count(a, GW_M_SIGN_RATE_LIMITED);
        return GW_ADMIT_RATE_LIMITED;
    }
    s->cb = cb;
    s->arg = arg;
    if (r->wq_tail)
        r->wq_tail->next = s;
    else
        r->wq_head = s;
    r->wq_tail = s;
    if (!r->leasing)
        lease_start(r);
    else if (r->wait_timer && !evtimer_pending(r->wait_timer, NULL)) {
        struct timeval tv = {0, LEASE_WAIT_MS * 1000};
        evtimer_add(r->wait_timer, &tv);
    }
    return GW_ADMIT_WAIT;
}

unsigned gw_admit_in_flight(const struct gw_admit *a)
{
    return a->in_flight;
}

unsigned gw_admit_in_flight_rp(const struct gw_admit *a, const char *rp)
{
    struct gw_idtab_node *n = gw_idtab_find(a->rps, rp);
    return n ? GW_IDTAB_ENTRY(n, struct rp, node)->in_flight : 0;
}

const char *gw_admit_retry_after(const struct gw_admit *a)
{
    return a->retry_after;
}

/* ---- long polls ----------------------------------------------------------- */

int gw_admit_poll_take(struct gw_admit *a)
{
    if (a->polls >= a->d.cfg->limits.max_long_polls) {
        count(a, GW_M_POLL_LIMITED);
        return 0;
    }
    a->polls++;
    return 1;
}

void gw_admit_poll_done(struct gw_admit *a)
{
    if (a->polls)
        a->polls--;
}

void gw_admit_render_metrics(const struct gw_admit *a, struct evbuffer *out)
{
    gw_metrics_gauge(out, "sign_in_flight", "signature requests accepted here and not finished", NULL, a->in_flight);
    gw_metrics_gauge(out, "sign_in_flight_limit", "limits.max_in_flight", NULL, a->d.cfg->limits.max_in_flight);
    gw_metrics_gauge(out, "long_polls", "long polls held here", NULL, a->polls);
    gw_metrics_gauge(out, "long_polls_limit", "limits.max_long_polls", NULL, a->d.cfg->limits.max_long_polls);
}

/* ---- life ----------------------------------------------------------------- */

struct gw_admit *gw_admit_new(const struct gw_admit_deps *deps)
{
    struct gw_admit *a = calloc(1, sizeof(*a));
    struct timeval tv = {TICK_MS / 1000, (TICK_MS % 1000) * 1000};

    if (!a)
        return NULL;
    a->d = *deps;
    if (!a->d.now_ms)
        a->d.now_ms = mono_ms;
    if (!a->d.lease)
        a->d.lease = q_rate_lease;
    snprintf(a->retry_after, sizeof a->retry_after, "%u", deps->cfg->limits.retry_after_s);
    a->rps = gw_idtab_new(RP_BUCKETS);
    a->ids = gw_idtab_new(ID_BUCKETS);
    if (!a->rps || !a->ids)
        goto fail;
    if (deps->base) {
        a->tick = event_new(deps->base, -1, EV_PERSIST, tick_cb, a);
        if (!a->tick || event_add(a->tick, &tv) != 0)
            goto fail;
    }
    return a;
fail:
    gw_admit_free(a);
    return NULL;
}

static void rp_free(struct gw_idtab_node *n, void *arg)
{
    struct rp *r = GW_IDTAB_ENTRY(n, struct rp, node);

    (void)arg;
    while (r->wq_head)
        wait_answer(r, GW_ADMIT_UNAVAILABLE);
    if (r->wait_timer)
        event_free(r->wait_timer);
    free(r);
}

void gw_admit_free(struct gw_admit *a)
{
    if (!a)
        return;
    if (a->tick)
        event_free(a->tick);
    while (a->dl_head)
        slot_end(a, a->dl_head);
    if (a->rps)
        gw_idtab_drain(a->rps, rp_free, NULL);
    gw_idtab_free(a->rps);
    gw_idtab_free(a->ids);
    free(a);
}
