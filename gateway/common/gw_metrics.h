/*
 * gw_metrics.h - counters an operator can graph and alert on, exposed in
 * the Prometheus text format on GET /metrics.
 *
 * Counters are plain integers bumped on the event loop thread; the set is
 * fixed here so that a dashboard written today keeps working.
 */
#ifndef SIMPKI_GW_METRICS_H
#define SIMPKI_GW_METRICS_H

#include <stdint.h>

struct evbuffer;

#define GW_COUNTERS(X)                                                                                  \
    X(HTTP_REQUESTS, "http_requests_total", "HTTP requests received")                                   \
    X(HTTP_UNAUTHORIZED, "http_unauthorized_total", "requests refused for a missing or bad key")        \
    X(SIGN_REQUESTS, "sign_requests_total", "requests to /v1/signatures (= accepted + rejected)")       \
    X(SIGN_ACCEPTED, "sign_accepted_total", "signature requests accepted (202)")                        \
    X(SIGN_REJECTED, "sign_rejected_total", "signature requests refused (4xx/5xx)")                     \
    X(SIGN_BUSY, "sign_busy_total", "refused because the SIM had a transaction pending")                \
    X(SIGN_OVERLOADED, "sign_overloaded_total", "refused: instance max_in_flight (503)")                \
    X(SIGN_RATE_LIMITED, "sign_rate_limited_total", "refused: relying party limit (429)")               \
    X(ADMIT_BACKSTOP, "sign_in_flight_expired_total", "in flight ended by deadline, unheard")           \
    X(POLL_LIMITED, "long_poll_limited_total", "long polls answered at once (max_long_polls)")          \
    X(SOAP_REQUESTS, "soap_requests_total", "requests to the ETSI TS 102 204 SOAP endpoint")            \
    X(SOAP_FAULTS, "soap_faults_total", "SOAP faults answered: refusals and failed transactions")       \
    X(SUBMIT_OK, "submit_ok_total", "commands accepted by an SMSC")                                     \
    X(SUBMIT_PERMANENT, "submit_permanent_error_total", "commands refused for good by an SMSC")         \
    X(SUBMIT_DEFERRED, "submit_deferred_total", "commands left for a later resubmission")               \
    X(RESUBMITTED, "resubmitted_total", "commands resubmitted by the sweeper")                          \
    X(POR_RECEIVED, "por_received_total", "answers received from SIMs")                                 \
    X(POR_BAD_CC, "por_bad_checksum_total", "answers dropped: checksum or format failed")               \
    X(POR_NO_PENDING, "por_no_pending_total", "answers dropped: no pending transaction")                \
    X(POR_MISMATCH, "por_mismatch_total", "answers dropped: counter or reference did not match")        \
    X(POR_DUPLICATE, "por_duplicate_total", "CNTR low answers to a copy sent twice, ignored")           \
    X(OTA_RESYNC, "ota_counter_resync_total", "counters moved forward: the SIM was ahead (CNTR low)")   \
    X(OTA_RESYNC_FAILED, "ota_counter_resync_failed_total", "CNTR low again after a resync: OTA_ERROR") \
    X(POR_UNKNOWN_SUB, "por_unknown_subscriber_total", "answers from numbers not in the registry")      \
    X(POR_LATE, "por_late_total", "answers for a transaction already finished")                         \
    X(TXN_COMPLETED, "transactions_completed_total", "transactions finished with a verified signature") \
    X(TXN_FAILED, "transactions_failed_total", "transactions finished without a signature")             \
    X(TXN_EXPIRED, "transactions_expired_total", "transactions that ran out of time")                   \
    X(VERIFY_FAILED, "verify_failed_total", "signatures that failed verification")                      \
    X(TXN_READS, "txn_reads_total", "transactions read from Redis for GET and long polls")              \
    X(POLL_OWN, "long_poll_own_total", "long polls on a transaction created here: no first read")       \
    X(POLL_HANDOFF, "long_poll_handoff_total", "long polls answered by the instance that finished it")  \
    X(REDIS_ERRORS, "redis_errors_total", "Redis calls that failed")                                    \
    X(CB_DELIVERED, "callback_delivered_total", "callbacks a receiver answered 2xx")                    \
    X(CB_FAILED_ATTEMPTS, "callback_failed_attempts_total", "callback attempts that failed (retried)")  \
    X(CB_GAVE_UP, "callback_gave_up_total", "callbacks given up after the last try")                    \
    X(PLAN_BUILT, "plan_built_total", "merger plans built here")                                        \
    X(PLAN_BUILD_FAILED, "plan_build_failed_total", "merger plan builds that could not finish")         \
    X(PLAN_REQ_FILED, "plan_requests_filed_total", "certificate requests a merger batch filed here")    \
    X(PLAN_REQ_REFUSED, "plan_requests_refused_total", "merger batch rows whose request was refused")

enum gw_counter {
#define GW_X(id, name, help) GW_M_##id,
    GW_COUNTERS(GW_X)
#undef GW_X
        GW_M_COUNT
};

struct gw_metrics {
    uint64_t c[GW_M_COUNT];
    /*
     * Optional: a module with labelled series of its own (gw_life) appends
     * them after the counters.  Set once at start, on the loop thread.
     */
    void (*extra)(const void *arg, struct evbuffer *out);
    const void *extra_arg;
};

static inline void gw_metrics_inc(struct gw_metrics *m, enum gw_counter id)
{
    m->c[id]++;
}

static inline void gw_metrics_add(struct gw_metrics *m, enum gw_counter id, uint64_t n)
{
    m->c[id] += n;
}

/* Append every counter as Prometheus text. */
void gw_metrics_render(const struct gw_metrics *m, struct evbuffer *out);

/* Helpers for gauges the owner of other state appends itself. */
void gw_metrics_gauge(struct evbuffer *out, const char *name, const char *help, const char *labels, double v);

#endif /* SIMPKI_GW_METRICS_H */
