/*
 * gw_metrics.h - counters and latency histograms an operator can graph and
 * alert on, exposed in the Prometheus text format on GET /metrics
 * (docs/metrics.md lists every series; deploy/grafana and deploy/prometheus
 * use them, and tests/integration/e2e_metrics.sh checks both against a
 * scrape).
 *
 * Conventions (https://prometheus.io/docs/practices/naming/): every name
 * starts with simpki_; a counter ends in _total and is TYPE counter; a
 * duration is a histogram in seconds (_seconds); what varies (link,
 * transport, API operation, status) is a label, never part of the name; the
 * samples of one name come together under one HELP and one TYPE line.
 *
 * Everything here is plain integers bumped on the event loop thread: no
 * lock, no allocation, a handful of instructions per event.  The set is fixed
 * here so that a dashboard written today keeps working.
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
    X(OTA_RESYNC, "ota_resync_total", "counters moved forward: the SIM was ahead (CNTR low)")           \
    X(OTA_RESYNC_FAILED, "ota_resync_failed_total", "CNTR low again after a resync: OTA_ERROR")         \
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
    X(PLAN_REQ_REFUSED, "plan_requests_refused_total", "merger batch rows whose request was refused")   \
    /* issue 16, the archive's events (queue/q_ev.h): */                                                \
    X(SIGN_BACKLOG_REFUSED, "sign_backlog_refused_total", "refused: the archive's stream is full (503)")

enum gw_counter {
#define GW_X(id, name, help) GW_M_##id,
    GW_COUNTERS(GW_X)
#undef GW_X
        GW_M_COUNT
};

/*
 * A latency histogram with fixed bounds, 100 us to 10 s (gw_hist_bounds_ns,
 * le="0.0001" "0.00025" "0.0005" "0.001" ... "2.5" "5" "10"): the range between
 * a loopback Redis round trip and a transaction's whole life.  n[i] counts
 * the observations in bucket i alone (rendering makes them cumulative), the
 * last one those above 10 s; the sum is kept in nanoseconds.
 */
#define GW_HIST_BOUNDS 16
extern const uint64_t gw_hist_bounds_ns[GW_HIST_BOUNDS];

struct gw_hist {
    uint64_t n[GW_HIST_BOUNDS + 1];
    uint64_t sum_ns;
};

static inline void gw_hist_observe(struct gw_hist *h, uint64_t ns)
{
    unsigned i = 0;
    while (i < GW_HIST_BOUNDS && ns > gw_hist_bounds_ns[i])
        i++;
    h->n[i]++;
    h->sum_ns += ns;
}

/*
 * The API operations whose answers are counted and timed (gw_lat.h tells
 * which request is which): id, the api and op labels, and whether the time
 * is the gateway's own.  A long poll (GET ?wait=N) and a synch MSS_Signature
 * hold the client until the transaction ends: that wait is the subscriber's,
 * not added latency, so their answers are counted but not timed.
 */
#define GW_API_OPS(X)                                     \
    X(JSON_CREATE, "json", "create", 1)                   \
    X(JSON_GET, "json", "get", 1)                         \
    X(JSON_POLL, "json", "poll", 0)                       \
    X(JSON_RECEIPT, "json", "receipt", 1)                 \
    X(JSON_LOOKUP, "json", "lookup", 1)                   \
    X(JSON_ENROL, "json", "enrol", 1)                     \
    X(JSON_PLAN, "json", "plan", 1)                       \
    X(JSON_OTHER, "json", "other", 1)                     \
    X(SOAP_SIGNATURE, "soap", "signature", 1)             \
    X(SOAP_SIGNATURE_SYNCH, "soap", "signature_synch", 0) \
    X(SOAP_STATUS, "soap", "status", 1)                   \
    X(SOAP_RECEIPT, "soap", "receipt", 1)                 \
    X(SOAP_REGISTRATION, "soap", "registration", 1)       \
    X(SOAP_PROFILE, "soap", "profile", 1)                 \
    X(SOAP_OTHER, "soap", "other", 1)                     \
    X(OPS_HEALTH, "ops", "healthz", 1)                    \
    X(OPS_METRICS, "ops", "metrics", 1)                   \
    X(OPS_UI, "ops", "ui", 1)

enum gw_api_op {
#define GW_X(id, api, op, timed) GW_OP_##id,
    GW_API_OPS(GW_X)
#undef GW_X
        GW_OP_COUNT
};

/*
 * Answers by HTTP status: one slot per status the gateway answers
 * (gw_metrics.c's table), then one per class ("4xx") for any other.
 */
#define GW_CODE_SLOTS 25

struct gw_api_stat {
    struct gw_hist lat;            /* request read -> answer written; not rendered for untimed ops */
    uint64_t codes[GW_CODE_SLOTS]; /* answers written, by status */
};

/* Count an answer with HTTP status code. */
void gw_api_stat_answer(struct gw_api_stat *s, int code);

/*
 * --- the evidence archive's retention (gateway/archive/ar_retention.c) ---
 * Rendered only while `on` (the archive is configured).
 */
struct gw_retention_stat {
    int on;
    uint64_t partitions_dropped; /* simpki_archive_partitions_dropped_total: months dropped by retention here */
};

/*
 * --- the evidence archive's archiver (gateway/archive/ar_archiver.c) ---
 * Rendered only while `on` (the configuration has an "archive" section):
 * an instance without an archive has no such series, so no alert fires for
 * it.  Bumped on the loop thread like the rest.
 */
enum { GW_AR_SIGN = 0, GW_AR_CERT = 1, GW_AR_KINDS };
enum { GW_AR_ERR_READ = 0, GW_AR_ERR_DB = 1, GW_AR_ERR_ACK = 2, GW_AR_ERR_STAGES };
struct gw_archive_stat {
    int on;
    uint64_t events[GW_AR_KINDS];      /* simpki_archive_events_total{kind}: rows new in the database */
    uint64_t duplicates;               /* simpki_archive_duplicates_total: events the database had already */
    uint64_t malformed;                /* simpki_archive_malformed_total: entries archived as "malformed" */
    uint64_t errors[GW_AR_ERR_STAGES]; /* simpki_archive_errors_total{stage="read|db|ack"} */
    uint64_t backlog;                  /* simpki_archive_backlog_entries: entries in every stream */
    double oldest_s;                   /* simpki_archive_oldest_seconds: age of the oldest, 0 when none */
    int db_up;                         /* simpki_archive_db_up */
    struct gw_hist batch;              /* simpki_archive_batch_duration_seconds: archive_ingest calls */
};

struct gw_metrics {
    uint64_t c[GW_M_COUNT];
    struct gw_api_stat api[GW_OP_COUNT];
    struct gw_retention_stat retention; /* ar_retention's; see above */
    struct gw_archive_stat ar;          /* the archiver's; see above */
    /*
     * Optional: a module with labelled series of its own (gw_life) appends
     * them after the counters.  Set once at start, on the loop thread.
     */
    void (*extra)(const void *arg, struct evbuffer *out);
    const void *extra_arg;
    /* Evidence archive, anchoring (gateway/archive/ar_anchor.c): simpki_archive_anchors_total{result}. */
    int ar_anchoring;           /* set when anchoring runs: the series exists only then */
    uint64_t ar_anchors_ok;     /* chain heads timestamped and stored */
    uint64_t ar_anchors_failed; /* heads tried without an anchor: TSA down or refused, token bad, not stored */
};

static inline void gw_metrics_inc(struct gw_metrics *m, enum gw_counter id)
{
    m->c[id]++;
}

static inline void gw_metrics_add(struct gw_metrics *m, enum gw_counter id, uint64_t n)
{
    m->c[id] += n;
}

/* Append every counter and the API's families as Prometheus text. */
void gw_metrics_render(const struct gw_metrics *m, struct evbuffer *out);

/*
 * Helpers for the series the owner of other state appends itself.  name is
 * without the simpki_ prefix; help non-NULL starts the family (HELP and TYPE
 * lines), NULL appends one more sample to the family just started; labels is
 * NULL or the inside of the braces ("link=\"viettel-1\"").  gw_metrics_family
 * starts a family ("counter", "gauge", "histogram") without a sample.
 */
void gw_metrics_family(struct evbuffer *out, const char *name, const char *help, const char *type);
void gw_metrics_gauge(struct evbuffer *out, const char *name, const char *help, const char *labels, double v);
void gw_metrics_counter(struct evbuffer *out, const char *name, const char *help, const char *labels, uint64_t v);
/* A histogram's _bucket (cumulative, le="+Inf" last), _sum (seconds) and _count samples. */
void gw_metrics_hist(struct evbuffer *out, const char *name, const char *help, const char *labels,
                     const struct gw_hist *h);

#endif /* SIMPKI_GW_METRICS_H */
