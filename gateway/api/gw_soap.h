/*
 * gw_soap.h - the ETSI TS 102 204 SOAP 1.2 endpoint, vGCA profile
 * (specs/vgca/): an e-office system written against the Government CA's
 * mobile signature service points at simpki by changing only the base URL
 * and its AP_ID / AP_PWD.  Served on the JSON API's port under
 * /soap/services/ (docs/soap.md):
 *
 *   MSS_SignaturePort     synch (held up to TimeOut on the completion hub,
 *                         no thread per client), asynchClientServer (100 and
 *                         an MSSP_TransID), asynchServerServer (100, then
 *                         MSS_Notification POSTed to AP_URL by gw_callback)
 *   MSS_StatusQueryPort   504 until done, then the signature or a fault
 *   MSS_ReceiptPort       recorded with the transaction (q_txn_receipt)
 *   MSS_RegistrationPort  the registered certificate of a number (lookup role)
 *   MSS_ProfileQueryPort  the signature profiles a number supports (lookup role)
 *
 * A second front end of the same request checks (gw_sign_check.h),
 * transaction engine (gw_txn.h) and completion hub (gw_wait.h) as the JSON
 * API: a transaction started here is read and receipted through the JSON API
 * and the other way round.  Every result, status and fault comes from the
 * one result table (gw_result.h).  AP_ID / AP_PWD map onto the same
 * relying-party records as the JSON API's bearer keys (cfg api_keys[]: ap_id,
 * ap_pwd_sha256), with their roles and revocation policy.
 *
 * The MSSP_TransID of a transaction is "T" + its id (an NCName cannot start
 * with a digit).  AP_TransID is unique per AP: an MSS_Signature repeating one
 * is refused (AP_TRANSID_REUSED, ETSI 101) and names the transaction it
 * started, which the AP may query.
 */
#ifndef SIMPKI_GW_SOAP_H
#define SIMPKI_GW_SOAP_H

struct evhttp_request;
struct event_base;
struct cfg;
struct q;
struct gw_engine;
struct gw_wait;
struct gw_metrics;

#define GW_SOAP_PATH "/soap/services/"

struct gw_soap_deps {
    const struct cfg *cfg;
    struct q *q;
    struct gw_engine *engine;
    struct gw_wait *wait;
    struct gw_metrics *metrics;
    struct gw_admit *admit; /* overload control of MSS_Signature (gw_admit.h) */
};

struct gw_soap;

/* NULL when out of memory. */
struct gw_soap *gw_soap_new(const struct gw_soap_deps *deps);
/* Every held request must have been answered (gw_wait_drain) first.  NULL does nothing. */
void gw_soap_free(struct gw_soap *s);

/* Answer a request whose path starts with GW_SOAP_PATH (gw_api's router calls it). */
void gw_soap_handle(struct gw_soap *s, struct evhttp_request *req, const char *path);

/*
 * The MSS_Notification a finished asynchServerServer transaction POSTs to
 * its AP_URL: gw_callback's body builder for Q_CB_KIND_SOAP (a gw_cb_body_fn,
 * gw_callback.h; arg is the const struct cfg *).  The AP_TransID is the
 * callback's context (t->cb_ctx).  0, or -1 when it cannot be built.
 */
struct q_txn;
struct evbuffer;
int gw_soap_notification_body(void *arg, const struct q_txn *t, struct evbuffer *out, const char **content_type);

#endif /* SIMPKI_GW_SOAP_H */
