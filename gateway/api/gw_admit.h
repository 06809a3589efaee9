/*
 * gw_admit.h - overload control: which signature requests this instance
 * takes, decided before anything is written to Redis.
 *
 * "In flight" is a signature request this instance took and whose
 * transaction has not finished: counted from gw_admit_take (before the
 * first Redis call) until the transaction finishes -- wherever it finishes:
 * a PoR may reach any instance, and every instance hears every finish on
 * the completion channel (q_watch -> gw_admit_notify).  A refusal or failure
 * before the 202 gives the slot back at once (gw_admit_release).  A finish
 * that is never heard (the subscription lost during a Redis failover) would
 * keep a slot forever, so each bound slot also ends at its transaction's
 * deadline plus a margin (the backstop, gw_admit_tick).
 *
 * Three bounds, in this order, none of which costs a Redis call per request:
 *   limits.max_in_flight          per instance           -> GW_ADMIT_OVERLOADED (503)
 *   api_keys[].max_in_flight      per relying party      -> GW_ADMIT_RATE_LIMITED (429)
 *     (else limits.max_in_flight_per_rp; 0 = none)
 *   api_keys[].rate_per_s         per relying party, all instances together, counted in
 *     Redis (queue/q_rate.h): tokens leased in batches of max(1, rate/20) for the current
 *     one-second window and served here; requests that come while a lease is asked wait
 *     for it (at most LEASE_WAIT_MS) instead of asking Redis each.  A spent window ->
 *     GW_ADMIT_RATE_LIMITED until it ends (no Redis call either); Redis away ->
 *     GW_ADMIT_UNAVAILABLE (503): a limit that cannot be counted is not waved through.
 *
 * Long polls are bounded too (limits.max_long_polls): gw_admit_poll_take.
 *
 * One thread (the event loop).  A callback is never called from inside the
 * gw_admit_* call that asked for it.
 */
#ifndef SIMPKI_GW_ADMIT_H
#define SIMPKI_GW_ADMIT_H

#include <stdint.h>

#include "q_rate.h"

struct cfg;
struct event_base;
struct evbuffer;
struct gw_metrics;
struct q;

struct gw_admit_deps {
    const struct cfg *cfg;      /* limits and api_keys; read at every take */
    struct event_base *base;    /* the backstop and lease-wait timers; NULL: none (tests tick by hand) */
    struct q *q;                /* rate leases */
    struct gw_metrics *metrics; /* counters; may be NULL */
    int64_t (*now_ms)(void);    /* NULL: CLOCK_MONOTONIC; a fake one in tests */
    /* NULL: q_rate_lease; a fake one in tests (same contract) */
    void (*lease)(struct q *q, const char *rp, unsigned limit, unsigned want, q_rate_cb *cb, void *arg);
};

struct gw_admit;

/* NULL when out of memory. */
struct gw_admit *gw_admit_new(const struct gw_admit_deps *deps);
/*
 * Call after q_free (which answers the lease calls under way).  Frees every
 * bound slot (a slot a caller still holds must be released before) and
 * answers takes still waiting for a lease GW_ADMIT_UNAVAILABLE.  NULL does
 * nothing.
 */
void gw_admit_free(struct gw_admit *a);

enum gw_admit_res {
    GW_ADMIT_OK = 0,
    GW_ADMIT_OVERLOADED = 1,   /* the instance's max_in_flight: 503 OVERLOADED + Retry-After */
    GW_ADMIT_RATE_LIMITED = 2, /* the relying party's max_in_flight or rate_per_s: 429 + Retry-After */
    GW_ADMIT_UNAVAILABLE = 3,  /* the rate could not be counted (Redis away): 503 UNAVAILABLE */
    GW_ADMIT_WAIT = 4,         /* gw_admit_take only: the answer comes through the callback */
};

/* The stable code of a refusal ("OVERLOADED", "RATE_LIMITED", "UNAVAILABLE"); NULL for OK and WAIT. */
const char *gw_admit_code(enum gw_admit_res res);

/* A slot: one signature request taken; the caller holds it until bind or release. */
struct gw_admit_slot;

/* A take that had to wait: slot is non-NULL exactly when res is GW_ADMIT_OK. */
typedef void gw_admit_cb(void *arg, enum gw_admit_res res, struct gw_admit_slot *slot);

/*
 * Take a slot for a signature request of relying party rp (a cfg name;
 * copied).  GW_ADMIT_OK: *slot is the caller's.  A refusal: nothing is held.
 * GW_ADMIT_WAIT: a rate lease is under way; cb follows exactly once, later.
 */
enum gw_admit_res gw_admit_take(struct gw_admit *a, const char *rp, struct gw_admit_slot **slot, gw_admit_cb *cb,
                                void *arg);

/*
 * The request created transaction id, pending: the slot is the admission's
 * now, and ends when id finishes (gw_admit_notify) or at its deadline
 * (transaction_timeout_s + sweep_interval_ms + 30 s).
 */
void gw_admit_bind(struct gw_admit *a, struct gw_admit_slot *slot, const char *id);

/* No new pending transaction came of it (refused, failed, an idempotent repeat): the slot ends.  NULL does nothing. */
void gw_admit_release(struct gw_admit *a, struct gw_admit_slot *slot);

/* A q_watch callback (arg = the admission): transaction id finished, at any instance. */
void gw_admit_notify(void *a, const char *id);

/* Ends every bound slot whose deadline has passed.  The timer calls it each second; tests call it. */
void gw_admit_tick(struct gw_admit *a);

/* Signature requests in flight here now (taken, bound or waiting for a lease). */
unsigned gw_admit_in_flight(const struct gw_admit *a);
/* Of relying party rp. */
unsigned gw_admit_in_flight_rp(const struct gw_admit *a, const char *rp);

/* limits.retry_after_s, as the header's text. */
const char *gw_admit_retry_after(const struct gw_admit *a);

/*
 * A long poll (GET ?wait=N) asks to be held: 1 when it may (the caller
 * calls gw_admit_poll_done when it is answered or its client goes), 0 when
 * max_long_polls are held already (answer at once with the state as it is).
 */
int gw_admit_poll_take(struct gw_admit *a);
void gw_admit_poll_done(struct gw_admit *a);

/* Gauges for /metrics: in flight, its limit, long polls held, their limit. */
void gw_admit_render_metrics(const struct gw_admit *a, struct evbuffer *out);

#endif /* SIMPKI_GW_ADMIT_H */
