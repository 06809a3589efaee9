/*
 * gw_wait.h - the completion hub: wait for a transaction to finish, for any
 * front end (the JSON API's long poll today; ETSI TS 102 204 synch mode and
 * callbacks next).  One hub per process, fed by two sources:
 *
 *   q_watch (every instance's finishes, announced on spk:done)  -> gw_wait_notify
 *   gw_engine_watch (outcomes recorded by this process's engine) -> the stored
 *       transaction handed over without a read
 *
 * A wait on a transaction this process created (gw_wait_own) needs no first
 * read: while the watch subscription has been up since its creation, Redis
 * could only say "pending".  So a request and its wait on one instance cost
 * no Redis call beyond the engine's own.
 *
 * Everything runs on the event loop; a callback is never called from inside
 * the gw_wait_* call that asked for it.
 */
#ifndef SIMPKI_GW_WAIT_H
#define SIMPKI_GW_WAIT_H

#include "q.h"

struct event_base;
struct gw_engine;
struct gw_metrics;

struct gw_wait_deps {
    struct event_base *base;
    struct q *q;
    struct gw_engine *engine; /* the hub registers itself with gw_engine_watch */
    struct gw_metrics *metrics;
};

struct gw_wait;

/* NULL when out of memory. */
struct gw_wait *gw_wait_new(const struct gw_wait_deps *deps);
/* Drains (GW_WAIT_SHUTDOWN to every waiter) and frees.  NULL does nothing. */
void gw_wait_free(struct gw_wait *hub);

/* A q_watch callback (arg = the hub): transaction id finished somewhere. */
void gw_wait_notify(void *hub, const char *id);

/* This process created id for relying party rp (borrowed: cfg_apikey.rp, valid across reloads) and it is pending. */
void gw_wait_own(struct gw_wait *hub, const char *id, const char *rp);

enum gw_wait_result {
    GW_WAIT_DONE = 0,    /* txn is the transaction as stored: finished, or still pending at the timeout */
    GW_WAIT_NOT_FOUND,   /* no such transaction, or another relying party's */
    GW_WAIT_UNAVAILABLE, /* Redis could not be read: try again */
    GW_WAIT_SHUTDOWN,    /* the process is stopping: ask again, maybe elsewhere */
};

/* txn lives only during the call. */
typedef void gw_wait_cb(void *arg, enum gw_wait_result res, const struct q_txn *txn);

struct gw_waiter;

/*
 * Answer cb exactly once with transaction id (26 hex characters) of relying
 * party rp (borrowed, must outlive the wait: cfg_apikey.rp does): as soon as it is no longer
 * pending, or after timeout_s with whatever it is then; timeout_s 0 reads it
 * once.  NULL when the wait cannot be set up (out of memory): cb is not
 * called then.
 */
struct gw_waiter *gw_wait_start(struct gw_wait *hub, const char *id, const char *rp, unsigned timeout_s, gw_wait_cb *cb,
                                void *arg);

/* The caller lost interest (its client went away): cb will not be called.  NULL does nothing. */
void gw_wait_cancel(struct gw_waiter *w);

/* Answer every waiter GW_WAIT_SHUTDOWN now (before the front ends stop). */
void gw_wait_drain(struct gw_wait *hub);

#endif /* SIMPKI_GW_WAIT_H */
