/*
 * gw_callback.h - delivering callbacks: the final result of a transaction
 * POSTed to the URL its relying party gave (issue 13; docs/callbacks.md).
 *
 * The pending callback lives in Redis (q.h: spk:{N}:cbq): the script that
 * finishes a transaction queues it.  Every instance runs this module: a
 * timer claims due callbacks (q_cb_claim, leased: one instance tries at a
 * time), POSTs each (config/http_client.h: libcurl on the loop, TLS 1.2+,
 * no redirects) and ends the attempt (q_cb_done): a 2xx is DELIVERED at
 * once; anything else is retried after 2 s, 4 s, 8 s ... (at most 10 min),
 * and given up after the 12th try.  An instance that dies mid-delivery
 * loses only its lease: another instance, or itself restarted, delivers.
 *
 * Delivered successfully at most once, with one window: a crash between a
 * receiver's 2xx and the DELIVERED mark (one Redis round trip) makes the
 * next claim deliver again.  Receivers dedupe on X-Simpki-Transaction.
 *
 * Each POST carries, besides the body of its kind:
 *   Content-Type            what the body builder said
 *   X-Simpki-Transaction    the transaction id
 *   X-Simpki-Attempt        1, 2, ... (the claim's count)
 *   X-Simpki-Signature      t=<unix seconds>,v1=<hex HMAC-SHA256(callback_secret, "<t>.<body>")>
 *
 * The body is built per kind by a function given in the deps: Q_CB_KIND_JSON
 * is gw_txn_json_body (the transaction JSON of GET /v1/signatures/{id});
 * Q_CB_KIND_SOAP the ETSI endpoint's MSS_Notification builder.  A kind with
 * no builder in this instance is retried (another instance may have it).
 * Before each POST the URL is checked again against the relying party's
 * current callback_allow (cfg_callback_check): a URL the configuration no
 * longer allows is given up, not called.
 */
#ifndef SIMPKI_GW_CALLBACK_H
#define SIMPKI_GW_CALLBACK_H

#include <stdint.h>

struct cfg;
struct event_base;
struct evbuffer;
struct q;
struct q_txn;
struct gw_metrics;
struct gw_callback;

#define GW_CB_KINDS 2 /* Q_CB_KIND_JSON, Q_CB_KIND_SOAP */

/*
 * Append the body of t's callback to out and set *content_type (static).
 * 0, or -1 when it cannot be built (the attempt is retried).  t lives only
 * during the call.
 */
typedef int gw_cb_body_fn(void *arg, const struct q_txn *t, struct evbuffer *out, const char **content_type);

struct gw_callback_deps {
    const struct cfg *cfg;
    struct event_base *base;
    struct q *q;
    struct gw_metrics *metrics;
    gw_cb_body_fn *body[GW_CB_KINDS]; /* indexed by Q_CB_KIND_*; NULL = not built here */
    void *body_arg[GW_CB_KINDS];
    /* 0 = defaults: every 500 ms, lease 60 s, 50 per shard per claim, 12 tries, 2 s first backoff */
    unsigned interval_ms, lease_ms, limit, max_tries, backoff_ms;
};

/* Starts the timer.  NULL when out of memory or the HTTP client cannot start (logged). */
struct gw_callback *gw_callback_new(const struct gw_callback_deps *deps);

/*
 * Stops claiming and abandons POSTs under way (their leases run out; they
 * are retried by whoever claims next).  Calls to q still outstanding keep
 * what they need until q answers them (q_free answers them all): call it
 * before q_free.  NULL does nothing.
 */
void gw_callback_free(struct gw_callback *cb);

/* The delay before attempt `attempt` + 1 after `attempt` failed: backoff_ms * 2^(attempt-1), at most 10 min. */
int64_t gw_callback_backoff_ms(unsigned backoff_ms, unsigned attempt);

/* Callbacks under way (POSTed, not yet answered), for /metrics. */
unsigned gw_callback_in_flight(const struct gw_callback *cb);

#endif /* SIMPKI_GW_CALLBACK_H */
