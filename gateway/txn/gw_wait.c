/* gw_wait.c - see gw_wait.h. */
#include "gw_wait.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "gw_idtab.h"
#include "gw_metrics.h"
#include "gw_txn.h"

#define WAITER_BUCKETS 1024  /* chains of each id table */
#define OWN_MAX        65536 /* own pending transactions remembered; beyond, waits read first */

/*
 * One wait.  The caller may lose interest at any time (gw_wait_cancel: cb =
 * NULL); the last Redis read still in flight frees it then.
 */
struct gw_waiter {
    struct gw_wait *hub;
    gw_wait_cb *cb; /* NULL once answered or cancelled */
    void *arg;
    const char *rp; /* borrowed */
    char id[Q_ID_LEN];
    int ops;     /* Redis reads outstanding */
    int waiting; /* linked in the waiter table */
    int final;   /* the next read is the answer whatever the state */
    int refetch; /* finished while a read was in flight: read again */
    int handoff; /* outcomes being recorded here that promised this waiter the txn (gw_txn_watch) */
    int woken;   /* announced finished while a hand-off was promised */
    struct event *timer;
    struct gw_idtab_node node; /* in hub->waiters while waiting */
};

/* A transaction this process created and has not heard finish (gw_wait.h). */
struct own {
    struct gw_idtab_node node; /* in hub->own */
    const char *rp;            /* borrowed */
    char id[Q_ID_LEN];
};

struct gw_wait {
    struct gw_wait_deps d;
    struct gw_idtab *waiters; /* gw_waiter by id, several per id */
    struct gw_idtab *own;     /* struct own by id */
    uint64_t own_epoch;       /* the watch subscription the own entries were made under */
};

/* ---- the waiter table ----------------------------------------------------- */

static struct gw_waiter *waiter_of(struct gw_idtab_node *n)
{
    return n ? GW_IDTAB_ENTRY(n, struct gw_waiter, node) : NULL;
}

static void waiter_unlink(struct gw_waiter *w)
{
    if (!w->waiting)
        return;
    gw_idtab_remove(w->hub->waiters, &w->node);
    w->waiting = 0;
}

/* The first wait on id still to be answered; NULL if none. */
static struct gw_waiter *waiter_find(struct gw_wait *hub, const char *id)
{
    for (struct gw_idtab_node *n = gw_idtab_find(hub->waiters, id); n; n = gw_idtab_next(n))
        if (waiter_of(n)->cb)
            return waiter_of(n);
    return NULL;
}

static void waiter_free(struct gw_waiter *w)
{
    waiter_unlink(w);
    if (w->timer)
        event_free(w->timer);
    free(w);
}

/* Answered or abandoned: free now, or when the read in flight comes back. */
static void waiter_release(struct gw_waiter *w)
{
    waiter_unlink(w);
    w->cb = NULL;
    if (w->timer)
        evtimer_del(w->timer);
    if (w->ops == 0)
        waiter_free(w);
}

/* ---- own pending transactions -------------------------------------------- */

static struct own *own_find(struct gw_wait *hub, const char *id)
{
    struct gw_idtab_node *n = gw_idtab_find(hub->own, id);
    return n ? GW_IDTAB_ENTRY(n, struct own, node) : NULL;
}

static void own_free(struct gw_idtab_node *n, void *arg)
{
    (void)arg;
    free(GW_IDTAB_ENTRY(n, struct own, node));
}

static void own_clear(struct gw_wait *hub)
{
    gw_idtab_drain(hub->own, own_free, NULL);
}

/* 1 when the entries can be trusted: the watch is subscribed, and has been since they were made. */
static int own_sync(struct gw_wait *hub)
{
    uint64_t epoch = q_watch_epoch(hub->d.q);
    if (epoch != hub->own_epoch) {
        own_clear(hub); /* announcements may have been lost in between */
        hub->own_epoch = epoch;
    }
    return epoch != 0;
}

void gw_wait_own(struct gw_wait *hub, const char *id, const char *rp)
{
    struct own *o;

    if (!own_sync(hub) || gw_idtab_count(hub->own) >= OWN_MAX)
        return; /* its waits will read first, as any other */
    o = malloc(sizeof(*o));
    if (!o)
        return;
    o->rp = rp;
    memcpy(o->id, id, Q_ID_LEN);
    gw_idtab_add(hub->own, &o->node, o->id);
}

static void own_drop(struct gw_wait *hub, const char *id)
{
    struct own *o = own_find(hub, id);

    if (!o)
        return;
    gw_idtab_remove(hub->own, &o->node);
    free(o);
}

/* 1 when id is a transaction of rp's that this process created and nobody has announced finished. */
static int own_pending(struct gw_wait *hub, const char *id, const char *rp)
{
    struct own *o;

    if (!own_sync(hub))
        return 0;
    o = own_find(hub, id);
    return o && strcmp(o->rp, rp) == 0;
}

/* ---- reading and answering ------------------------------------------------ */

static void got_txn(void *arg, enum q_err err, const struct q_txn *txn);

static void fetch(struct gw_waiter *w)
{
    w->ops++;
    gw_metrics_inc(w->hub->d.metrics, GW_M_TXN_READS);
    q_txn_get(w->hub->d.q, w->id, got_txn, w);
}

/* Answer with what was read or handed over, then release the wait. */
static void answer(struct gw_waiter *w, enum q_err err, const struct q_txn *txn)
{
    gw_wait_cb *cb = w->cb;
    void *arg = w->arg;
    enum gw_wait_result res = GW_WAIT_DONE;

    if (err == Q_ERR_NOT_FOUND || (err == Q_OK && strcmp(txn->rp, w->rp) != 0))
        res = GW_WAIT_NOT_FOUND; /* someone else's is answered like an unknown id */
    else if (err != Q_OK)
        res = GW_WAIT_UNAVAILABLE;
    waiter_release(w); /* may free w: cb and arg are copies */
    cb(arg, res, res == GW_WAIT_DONE ? txn : NULL);
}

static void got_txn(void *arg, enum q_err err, const struct q_txn *txn)
{
    struct gw_waiter *w = arg;

    w->ops--;
    if (!w->cb) {
        if (w->ops == 0 && !w->waiting)
            waiter_free(w);
        return;
    }
    if (err != Q_OK || txn->state != Q_PENDING || !w->waiting || w->final || strcmp(txn->rp, w->rp) != 0) {
        answer(w, err, txn);
        return;
    }
    if (w->refetch) {
        /* The notify came while this read was in flight; it may predate the finish. */
        w->refetch = 0;
        w->final = 1;
        fetch(w);
        return;
    }
    /* Still pending and the caller asked to wait: the timer, a notify or a hand-off brings us back. */
}

static void wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct gw_waiter *w = arg;

    (void)fd;
    (void)what;
    w->final = 1;
    if (w->ops == 0)
        fetch(w);
}

/* Announced finished: read it -- again if a read is in flight, since that one may predate the finish. */
static void wake(struct gw_waiter *w)
{
    if (w->ops) {
        w->refetch = 1;
        return;
    }
    w->final = 1; /* whatever we read now is the answer */
    fetch(w);
}

void gw_wait_notify(void *arg, const char *id)
{
    struct gw_wait *hub = arg;

    own_drop(hub, id);
    for (struct gw_idtab_node *n = gw_idtab_find(hub->waiters, id); n; n = gw_idtab_next(n)) {
        struct gw_waiter *w = waiter_of(n);
        if (!w->cb)
            continue;
        if (w->handoff)
            w->woken = 1; /* published inside the finish whose answer is on its way: finished() decides */
        else
            wake(w);
    }
}

/* gw_txn_watch: an outcome is about to be recorded here; promise the waiters on it the result. */
static int waiting(void *arg, const char *id)
{
    struct gw_wait *hub = arg;
    int any = 0;

    for (struct gw_idtab_node *n = gw_idtab_find(hub->waiters, id); n; n = gw_idtab_next(n))
        if (waiter_of(n)->cb) {
            waiter_of(n)->handoff++;
            any = 1;
        }
    return any;
}

/*
 * gw_txn_watch: the transaction as stored once its outcome was recorded:
 * answer every waiter without a read.  NULL: this finish recorded nothing
 * (or its answer did not parse), so fall back on the announcement.
 */
static void finished(void *arg, const char *id, const struct q_txn *txn)
{
    struct gw_wait *hub = arg;

    if (txn) {
        own_drop(hub, id);
        for (struct gw_waiter *w = waiter_find(hub, id); w; w = waiter_find(hub, id)) {
            gw_metrics_inc(hub->d.metrics, GW_M_POLL_HANDOFF);
            answer(w, Q_OK, txn); /* a read still in flight comes back to a released wait */
        }
        return;
    }
    for (struct gw_idtab_node *n = gw_idtab_find(hub->waiters, id); n; n = gw_idtab_next(n)) {
        struct gw_waiter *w = waiter_of(n);
        if (w->handoff == 0)
            continue;
        if (--w->handoff == 0 && w->woken) {
            w->woken = 0;
            wake(w);
        }
    }
}

/* ---- the API -------------------------------------------------------------- */

struct gw_waiter *gw_wait_start(struct gw_wait *hub, const char *id, const char *rp, unsigned timeout_s, gw_wait_cb *cb,
                                void *arg)
{
    struct gw_waiter *w = calloc(1, sizeof(*w));

    if (!w || strlen(id) != Q_ID_LEN - 1) {
        free(w);
        return NULL;
    }
    w->hub = hub;
    w->cb = cb;
    w->arg = arg;
    w->rp = rp;
    memcpy(w->id, id, Q_ID_LEN);
    if (timeout_s > 0) {
        /* Register before reading, so a finish between the read and the wait is not missed. */
        struct timeval tv = {(time_t)timeout_s, 0};
        w->timer = evtimer_new(hub->d.base, wait_timeout, w);
        if (!w->timer || evtimer_add(w->timer, &tv) != 0) {
            waiter_free(w);
            return NULL;
        }
        gw_idtab_add(hub->waiters, &w->node, w->id);
        w->waiting = 1;
        if (own_pending(hub, w->id, rp)) {
            gw_metrics_inc(hub->d.metrics, GW_M_POLL_OWN);
            return w; /* pending for sure: the hand-off, a notify or the timer brings the answer */
        }
    }
    fetch(w);
    return w;
}

void gw_wait_cancel(struct gw_waiter *w)
{
    if (!w)
        return;
    waiter_release(w);
}

static void drained(struct gw_idtab_node *n, void *unused)
{
    struct gw_waiter *w = waiter_of(n);
    gw_wait_cb *cb = w->cb;
    void *arg = w->arg;

    (void)unused;
    w->waiting = 0; /* out of the table already */
    waiter_release(w);
    if (cb)
        cb(arg, GW_WAIT_SHUTDOWN, NULL);
}

void gw_wait_drain(struct gw_wait *hub)
{
    gw_idtab_drain(hub->waiters, drained, NULL);
}

struct gw_wait *gw_wait_new(const struct gw_wait_deps *deps)
{
    struct gw_wait *hub = calloc(1, sizeof(*hub));

    if (!hub)
        return NULL;
    hub->d = *deps;
    hub->waiters = gw_idtab_new(WAITER_BUCKETS);
    hub->own = gw_idtab_new(WAITER_BUCKETS);
    if (!hub->waiters || !hub->own) {
        gw_idtab_free(hub->waiters);
        gw_idtab_free(hub->own);
        free(hub);
        return NULL;
    }
    gw_engine_watch(deps->engine, &(struct gw_txn_watch){.waiting = waiting, .finished = finished, .arg = hub});
    return hub;
}

void gw_wait_free(struct gw_wait *hub)
{
    if (!hub)
        return;
    gw_engine_watch(hub->d.engine, NULL);
    gw_wait_drain(hub);
    own_clear(hub);
    gw_idtab_free(hub->waiters);
    gw_idtab_free(hub->own);
    free(hub);
}
