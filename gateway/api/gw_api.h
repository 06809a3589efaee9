/*
 * gw_api.h - the HTTP/JSON API for e-office systems (docs/openapi.yaml).
 *
 *   POST /v1/signatures          start a mobile signature      -> 202
 *   GET  /v1/signatures/{id}     its state; ?wait=N long-polls up to N s
 *   POST /v1/signatures/{id}/receipt   the relying party got the outcome
 *                                (ETSI MSS_Receipt)              -> 200
 *   GET  /v1/signatures/{id}/evidence  the archived evidence bundle
 *                                (owner or "audit" role; gw_api_evidence.h)
 *   GET  /v1/subscribers/{msisdn}/certificate   the registered certificate
 *                                ("lookup" role; gw_api_subs.h)
 *   /v1/requests...              certificate requests (gw_enrol.h)
 *   POST /soap/services/...      the ETSI TS 102 204 endpoint (gw_soap.h)
 *   GET  /healthz                Redis and carrier links        (no auth)
 *   GET  /metrics                Prometheus text                (no auth)
 *
 * Every error is JSON: {"error": "STABLE_CODE", "message": "...", "field": ...}.
 * A relying party sees only its own transactions; someone else's id is
 * answered exactly like an unknown one.
 *
 * Long polls wait on the completion hub (gateway/txn/gw_wait.h), which any
 * other front end shares: woken by q_watch() (any instance finishing the
 * transaction) and handed the stored transaction by this instance's engine,
 * so a long poll on a transaction this instance created and finishes costs
 * no Redis read, neither when it starts nor when it is answered.
 */
#ifndef SIMPKI_GW_API_H
#define SIMPKI_GW_API_H

struct event_base;
struct cfg;
struct q;
struct gw_engine;
struct gw_enrol;
struct gw_soap;
struct gw_metrics;
struct gw_api;
struct sig_trust;
struct gw_callback;
struct ar;

struct gw_api_deps {
    const struct cfg *cfg;
    struct event_base *base;
    struct q *q;
    struct gw_engine *engine;
    struct gw_wait *wait;   /* the completion hub: long polls wait there */
    struct gw_enrol *enrol; /* /v1/requests; may be NULL */
    struct gw_soap *soap;   /* /soap/services/ (gw_soap.h); may be NULL */
    struct gw_metrics *metrics;
    const struct sig_trust *trust; /* the certificate checks of /v1/subscribers (read-only, shared) */
    struct gw_callback *callback;  /* callback delivery, for its /metrics gauge; may be NULL */
    struct gw_plan *plan;          /* /v1/plans and the review page (gw_plan.h); may be NULL */
    struct gw_admit *admit;        /* overload control of signature requests and long polls (gw_admit.h) */
    struct ar *archive;            /* GET /v1/signatures/{id}/evidence (gw_api_evidence.h); NULL: archive off */
};

/* Binds cfg->listen_host:listen_port.  NULL on failure (logged). */
struct gw_api *gw_api_new(const struct gw_api_deps *deps);

/*
 * Stop accepting connections and answer every waiting long poll with 503
 * SHUTTING_DOWN (gw_wait_drain; the client polls again, maybe at another
 * instance).  The
 * event loop must run a little longer for the answers to be written.
 */
void gw_api_drain(struct gw_api *api);

/* Drains if not done yet, then frees.  NULL does nothing. */
void gw_api_free(struct gw_api *api);

#endif /* SIMPKI_GW_API_H */
