/* gw_soap.c - see gw_soap.h; the XML itself is gw_soap_xml's. */
#include "gw_soap.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "car_etsi_xml.h"
#include "car_route.h"
#include "cfg.h"
#include "digest.h"
#include "gw_admit.h"
#include "gw_http.h"
#include "gw_lat.h"
#include "gw_metrics.h"
#include "gw_result.h"
#include "gw_sign_check.h"
#include "gw_soap_xml.h"
#include "gw_tls.h"
#include "gw_util.h"
#include "gw_txn.h"
#include "gw_wait.h"
#include "log.h"
#include "q.h"
#include "q_life.h"
#include "q_once.h"
#include "util.h"

#define CT_SOAP12  "application/soap+xml; charset=utf-8"
#define TID_PREFIX 'T' /* MSSP_TransID = "T" + transaction id: an NCName cannot start with a digit */
/* How long an AP_TransID stays used (q_once.h): a day, as the JSON API's Idempotency-Key. */
#define APTID_TTL_S 86400

struct gw_soap {
    struct gw_soap_deps d;
};

/*
 * One request.  While the engine starts a transaction the call waits for it
 * (freed by started() even if the client went away); while the hub holds a
 * synch request or a query, the client going away cancels the wait and frees
 * the call at once (call_gone), as the JSON API's long polls do.
 */
struct call {
    struct gw_soap *s;
    struct gw_http_hold h;
    struct gw_soap_req r; /* as parsed; owns its buffers (gw_soap_req_clear) */
    /* The AP's relying party: its interned name (kept across the asynchronous steps: a reload
     * may free the cfg_apikey entry, never the name; cfg.h) and its roles when it logged in. */
    const char *rp;
    unsigned roles;
    struct gw_waiter *w;
    char tid[ETSI_ID_MAX]; /* the MSSP_TransID answered */
    /* MSS_Signature, between its checks and the engine: what they derived */
    char msisdn[CAR_MSISDN_LEN];
    enum dg_alg alg;
    const unsigned char *dg; /* into r.dtbs */
    size_t dlen;
    uint8_t format;
    struct gw_admit_slot *slot; /* MSS_Signature: its place in flight until the engine answers */
};

/* ---- replies ---------------------------------------------------------- */

static void send_body(struct evhttp_request *req, int http, char *body, size_t len)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", CT_SOAP12);
    evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    free(body);
    evhttp_send_reply(req, http, NULL, NULL);
}

/*
 * A fault for result `code` (gw_result.h): subcode mss:_NNN of its ETSI
 * status, reason the ETSI name and why.  SOAP 1.2's HTTP binding answers a
 * Sender fault with 400 and a Receiver fault with 500.
 */
static void send_fault(struct gw_soap *s, struct evhttp_request *req, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void send_fault(struct gw_soap *s, struct evhttp_request *req, const char *code, const char *fmt, ...)
{
    const struct gw_result *r = gw_result_find(code);
    const char *fc = gw_result_soap_fault(r);
    char why[320];
    char *body = NULL;
    size_t len = 0;
    va_list ap;

    if (!req)
        return;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    gw_metrics_inc(s->d.metrics, GW_M_SOAP_FAULTS);
    if (gw_soap_build_fault(r ? r->etsi : 900, why, &body, &len) != ETSI_OK) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    send_body(req, fc && strcmp(fc, "Sender") == 0 ? 400 : 500, body, len);
}

static void send_resp(struct gw_soap *s, struct evhttp_request *req, enum etsi_kind kind, const struct gw_soap_resp *r)
{
    char *body = NULL;
    size_t len = 0;

    if (!req)
        return;
    if (gw_soap_build_resp(kind, r, &body, &len) != ETSI_OK) {
        send_fault(s, req, "INTERNAL_ERROR", "cannot build the response");
        return;
    }
    send_body(req, 200, body, len);
}

/* A response's common part: AP_Info and MSSP_Info echoed from the request. */
static struct gw_soap_resp resp_of(const struct call *c)
{
    return (struct gw_soap_resp){.req = &c->r,
                                 .mssp_id = c->r.mssp_id[0] ? c->r.mssp_id : c->s->d.cfg->soap_mssp_id,
                                 .instant = time(NULL),
                                 .mssp_trans_id = c->tid[0] ? c->tid : NULL,
                                 .msisdn = c->r.msisdn[0] ? c->r.msisdn : NULL};
}

static const char *format_uri(const struct q_txn *t)
{
    return t->format == Q_FORMAT_CMS ? ETSI_NS_FMT_CMS : ETSI_NS_FMT_PKCS1;
}

/*
 * A failed transaction's fault reason, after the ETSI name the fault starts
 * with: simpki's result where the ETSI name does not say it ("EXPIRED",
 * "DELIVERY_ERROR", "CERT_EXPIRED"...), then the detail, or the table's
 * meaning when the detail only repeats the result.
 */
static const char *failure_why(const struct q_txn *t, char *why, size_t len)
{
    const struct gw_result *r = gw_result_find(t->result);
    const struct etsi_status *s = etsi_status_find(t->etsi_status);
    int named = s && strcmp(s->name, t->result) == 0;
    const char *detail = t->detail[0] && strcmp(t->detail, t->result) != 0 ? t->detail : r ? r->meaning : "no detail";

    snprintf(why, len, "%s%s%s", named ? "" : t->result, named ? "" : ": ", detail);
    return why;
}

/*
 * A transaction as the answer to MSS_Signature (synch) or MSS_StatusQuery:
 * still pending is 504 in Status (a query) or EXPIRED_TRANSACTION (a synch
 * request whose TimeOut passed; the transaction goes on and can be
 * queried); a failure is a fault; a signature is 502 VALID_SIGNATURE, or 500
 * SIGNATURE for an MSS_Signature that did not ask for signatureValidation
 * (vGCA profile; simpki has verified it either way).
 */
static void send_txn(struct call *c, struct evhttp_request *req, enum etsi_kind kind, const struct q_txn *t)
{
    struct gw_soap_resp r = resp_of(c);
    char why[256];

    if (t->state == Q_PENDING && kind == ETSI_SIGNATURE) {
        send_fault(c->s, req, "EXPIRED", "no answer within TimeOut; query MSSP_TransID %s for the outcome", c->tid);
        return;
    }
    if (t->state == Q_FAILED) {
        send_fault(c->s, req, t->result, "%s", failure_why(t, why, sizeof why));
        return;
    }
    r.msisdn = t->msisdn;
    if (t->state == Q_PENDING) {
        r.status = gw_result_etsi("PENDING");
    } else {
        r.status = kind == ETSI_SIGNATURE && !c->r.want_validation ? 500 : gw_result_etsi("OK");
        r.validated = kind != ETSI_SIGNATURE || c->r.want_validation;
        r.signature = t->signature;
        r.sig_len = t->sig_len;
        r.mss_format = format_uri(t);
        /* The signing certificate when asked for; a query cannot ask, and gets it. */
        if (kind != ETSI_SIGNATURE || c->r.want_cert) {
            r.cert = t->cert;
            r.cert_len = t->cert_len;
        }
    }
    send_resp(c->s, req, kind, &r);
}

/* ---- calls ------------------------------------------------------------ */

static void call_free(struct call *c)
{
    gw_http_take(&c->h);
    gw_soap_req_clear(&c->r);
    free(c);
}

static void call_gone(void *arg)
{
    struct call *c = arg;

    if (c->w) {
        gw_wait_cancel(c->w);
        call_free(c);
    }
}

/* A transaction id from an MSSP_TransID, or NULL when it cannot be one of ours. */
static const char *id_of(const char *tid)
{
    const char *id = tid + 1;

    if (tid[0] != TID_PREFIX || strlen(id) != Q_ID_LEN - 1 || strspn(id, "0123456789abcdef") != Q_ID_LEN - 1)
        return NULL;
    return id;
}

/* ---- MSS_Signature ---------------------------------------------------- */

static void waited(void *arg, enum gw_wait_result res, const struct q_txn *txn)
{
    struct call *c = arg;
    struct evhttp_request *req = gw_http_take(&c->h);
    enum etsi_kind kind = c->r.kind;

    c->w = NULL;
    switch (res) {
    case GW_WAIT_DONE: send_txn(c, req, kind, txn); break;
    case GW_WAIT_NOT_FOUND: send_fault(c->s, req, "NOT_FOUND", "no transaction %s for this AP", c->tid); break;
    case GW_WAIT_SHUTDOWN:
        send_fault(c->s, req, "SHUTTING_DOWN", "this instance is restarting; query MSSP_TransID %s", c->tid);
        break;
    case GW_WAIT_UNAVAILABLE:
    default: send_fault(c->s, req, "UNAVAILABLE", "transaction storage unavailable, try again"); break;
    }
    call_free(c);
}

static void started(void *arg, enum gw_err err, const struct q_txn *txn, int existed)
{
    struct call *c = arg;
    struct gw_soap *s = c->s;
    unsigned timeout;

    (void)existed; /* no Idempotency-Key is given: every start is new */
    if (err == GW_OK && txn->state == Q_PENDING)
        gw_admit_bind(s->d.admit, c->slot, txn->id); /* in flight until it finishes, wherever */
    else
        gw_admit_release(s->d.admit, c->slot);
    c->slot = NULL;
    if (err == GW_OK) {
        if (txn->state == Q_PENDING)
            gw_wait_own(s->d.wait, txn->id, c->rp);
        /* The AP_TransID names this transaction from now on: a repeat's fault says which. */
        snprintf(c->tid, sizeof c->tid, "%c%s", TID_PREFIX, txn->id);
        q_once_bind(s->d.q, c->rp, c->r.ap_trans_id, c->tid, NULL, NULL);
    }
    if (!c->h.req) {
        call_free(c);
        return;
    }
    if (err != GW_OK) {
        struct gw_sign_refusal r = gw_sign_start_refusal(err);
        struct evhttp_request *req = gw_http_take(&c->h);
        if (err == GW_ERR_BUSY)
            gw_metrics_inc(s->d.metrics, GW_M_SIGN_BUSY);
        else if (err == GW_ERR_BACKLOG) /* like an overload: env:Receiver _900, try again after Retry-After */
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", gw_admit_retry_after(s->d.admit));
        send_fault(s, req, r.code, "%s", r.message);
        call_free(c);
        return;
    }
    if (c->r.mode != GW_SOAP_SYNCH) {
        struct gw_soap_resp r = resp_of(c);
        r.status = gw_result_etsi("REQUEST_OK");
        send_resp(s, gw_http_take(&c->h), ETSI_SIGNATURE, &r);
        call_free(c);
        return;
    }
    /* synch: held on the completion hub until the transaction ends or TimeOut passes. */
    timeout = s->d.cfg->txn_timeout_s + 5; /* the transaction has expired by then */
    if (c->r.timeout_s && c->r.timeout_s < timeout)
        timeout = c->r.timeout_s;
    c->w = gw_wait_start(s->d.wait, txn->id, c->rp, timeout, waited, c);
    if (!c->w) {
        send_fault(s, gw_http_take(&c->h), "INTERNAL_ERROR", "cannot wait; query MSSP_TransID %s", c->tid);
        call_free(c);
    }
}

/* 0 when the request is one simpki takes, else the fault is sent (the request taken from its hold first). */
static int signature_checks(struct call *c, char msisdn[CAR_MSISDN_LEN], uint8_t *format, enum dg_alg *alg,
                            const unsigned char **dg, size_t *dlen)
{
    const struct gw_soap_req *r = &c->r;
    char why[256];
    const char *code;

    if (r->profile[0] && strcmp(r->profile, ETSI_PROFILE_VGCA) != 0) {
        send_fault(c->s, gw_http_take(&c->h), "UNSUPPORTED_PROFILE", "SignatureProfile %.200s is not offered; use %s",
                   r->profile, ETSI_PROFILE_VGCA);
        return -1;
    }
    if (!r->mss_format[0] || strcmp(r->mss_format, ETSI_NS_FMT_PKCS1) == 0) {
        *format = Q_FORMAT_RAW;
    } else if (strcmp(r->mss_format, ETSI_NS_FMT_CMS) == 0) {
        *format = Q_FORMAT_CMS;
    } else {
        send_fault(c->s, gw_http_take(&c->h), "UNSUPPORTED_PROFILE",
                   "MSS_Format %.200s is not offered (PKCS1 or PKCS7)", r->mss_format);
        return -1;
    }
    if (r->unknown_service[0]) {
        send_fault(c->s, gw_http_take(&c->h), "UNSUPPORTED_PROFILE", "AdditionalService %.200s is not offered",
                   r->unknown_service);
        return -1;
    }
    if ((code = gw_sign_check_msisdn(r->msisdn, msisdn, why, sizeof why))) {
        send_fault(c->s, gw_http_take(&c->h), code, "MSISDN: %s", why);
        return -1;
    }
    switch (dg_digestinfo_parse(r->dtbs, r->dtbs_len, alg, dg, dlen)) {
    case 0: break;
    case -2:
        send_fault(c->s, gw_http_take(&c->h), "DIGEST_LENGTH",
                   "DataToBeSigned: the digest in the DigestInfo is not its algorithm's length");
        return -1;
    default:
        send_fault(c->s, gw_http_take(&c->h), "INVALID_FIELD",
                   "DataToBeSigned must be the DER DigestInfo of a SHA-256, SHA-384 or SHA-512 digest");
        return -1;
    }
    if ((code = gw_sign_check_digest(*alg, *dlen))) {
        send_fault(c->s, gw_http_take(&c->h), code, "DataToBeSigned: digest of the wrong length");
        return -1;
    }
    if ((code = gw_sign_check_text(gw_txn_check_text, c->s->d.engine, msisdn, r->display, why, sizeof why))) {
        send_fault(c->s, gw_http_take(&c->h), code, "DataToBeDisplayed: %s", why);
        return -1;
    }
    if (r->mode == GW_SOAP_ASYNCH_SS) {
        const char *bad;
        if (!r->ap_url[0]) {
            send_fault(c->s, gw_http_take(&c->h), "MISSING_FIELD",
                       "asynchServerServer needs AP_Info/@AP_URL to notify");
            return -1;
        }
        if ((bad = cfg_callback_check(cfg_apikey_by_name(c->s->d.cfg, c->rp), r->ap_url))) {
            send_fault(c->s, gw_http_take(&c->h), "INVALID_FIELD", "AP_URL: %s", bad);
            return -1;
        }
    }
    return 0;
}

/* The AP_TransID claimed (or not): start the transaction. */
static void claimed(void *arg, enum q_err err, const char *prev)
{
    struct call *c = arg;
    const struct gw_soap_req *r = &c->r;

    if (err != Q_OK || !c->h.req) { /* nothing will start */
        gw_admit_release(c->s->d.admit, c->slot);
        c->slot = NULL;
    }
    if (!c->h.req) { /* the client went away: nothing was started */
        call_free(c);
        return;
    }
    if (err == Q_ERR_CONFLICT) {
        if (prev && *prev)
            send_fault(c->s, gw_http_take(&c->h), "AP_TRANSID_REUSED",
                       "AP_TransID %s was used before, by MSSP_TransID %s: query that one, or send a new AP_TransID",
                       r->ap_trans_id, prev);
        else
            send_fault(c->s, gw_http_take(&c->h), "AP_TRANSID_REUSED",
                       "AP_TransID %s was used before: send a new AP_TransID", r->ap_trans_id);
        call_free(c);
        return;
    }
    if (err != Q_OK) {
        send_fault(c->s, gw_http_take(&c->h), "UNAVAILABLE", "transaction storage unavailable, try again");
        call_free(c);
        return;
    }
    gw_txn_start(c->s->d.engine,
                 &(struct gw_sign_req){.rp = c->rp,
                                       .msisdn = c->msisdn,
                                       .client_ref = r->ap_trans_id,
                                       .digest_alg = c->alg,
                                       .digest = c->dg,
                                       .digest_len = c->dlen,
                                       .display_text = r->display,
                                       .format = c->format,
                                       .cb_url = r->mode == GW_SOAP_ASYNCH_SS ? r->ap_url : NULL,
                                       .cb_kind = Q_CB_KIND_SOAP,
                                       .cb_ctx = r->ap_trans_id},
                 started, c);
}

/*
 * AP_TransID is unique per AP (TS 102 204 s.5.1), whatever the number:
 * claimed before anything starts, so a repeat -- a replay, or a client that
 * reuses ids -- starts nothing.
 */
static void claim(struct call *c)
{
    q_once_claim(c->s->d.q, c->rp, c->r.ap_trans_id, APTID_TTL_S, claimed, c);
}

/*
 * Overload control's answer.  A refusal is the profile's "try later": ETSI
 * TS 102 204 has no busy status, so the fault is env:Receiver (SOAP 1.2: the
 * message may succeed if resent later) with subcode mss:_900, the reason
 * naming OVERLOADED or RATE_LIMITED, and Retry-After on the HTTP answer.
 */
static void admitted(void *arg, enum gw_admit_res res, struct gw_admit_slot *slot)
{
    struct call *c = arg;
    struct evhttp_request *req;

    if (res == GW_ADMIT_OK && c->h.req) {
        c->slot = slot;
        claim(c);
        return;
    }
    gw_admit_release(c->s->d.admit, slot);
    req = gw_http_take(&c->h);
    if (req && res != GW_ADMIT_OK) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", gw_admit_retry_after(c->s->d.admit));
        send_fault(c->s, req, gw_admit_code(res), "%s: try again after Retry-After seconds",
                   res == GW_ADMIT_OVERLOADED     ? "OVERLOADED: this gateway instance has as many signatures in "
                                                    "flight as it takes"
                   : res == GW_ADMIT_RATE_LIMITED ? "RATE_LIMITED: this AP is over its own limit"
                                                  : "the rate limit cannot be counted now");
    }
    call_free(c);
}

static void do_signature(struct call *c)
{
    if (!(c->roles & CFG_ROLE_SIGN)) {
        send_fault(c->s, gw_http_take(&c->h), "FORBIDDEN", "this AP has no \"sign\" role");
        call_free(c);
        return;
    }
    if (signature_checks(c, c->msisdn, &c->format, &c->alg, &c->dg, &c->dlen) != 0) {
        call_free(c);
        return;
    }
    switch (gw_admit_take(c->s->d.admit, c->rp, &c->slot, admitted, c)) {
    case GW_ADMIT_OK: claim(c); break;
    case GW_ADMIT_WAIT: break;
    case GW_ADMIT_OVERLOADED: admitted(c, GW_ADMIT_OVERLOADED, NULL); break;
    case GW_ADMIT_RATE_LIMITED: admitted(c, GW_ADMIT_RATE_LIMITED, NULL); break;
    default: admitted(c, GW_ADMIT_UNAVAILABLE, NULL); break;
    }
}

/* ---- MSS_StatusQuery, MSS_Receipt ------------------------------------- */

static void do_status(struct call *c)
{
    const char *id = id_of(c->r.mssp_trans_id);

    snprintf(c->tid, sizeof c->tid, "%s", c->r.mssp_trans_id);
    if (!id) {
        send_fault(c->s, gw_http_take(&c->h), "NOT_FOUND", "no transaction %.64s for this AP", c->r.mssp_trans_id);
        call_free(c);
        return;
    }
    c->w = gw_wait_start(c->s->d.wait, id, c->rp, 0, waited, c);
    if (!c->w) {
        send_fault(c->s, gw_http_take(&c->h), "INTERNAL_ERROR", "out of memory");
        call_free(c);
    }
}

static void receipted(void *arg, enum q_err err)
{
    struct call *c = arg;
    struct evhttp_request *req = gw_http_take(&c->h);
    struct gw_soap_resp r = resp_of(c);

    switch (err) {
    case Q_OK:
        r.status = gw_result_etsi("REQUEST_OK");
        send_resp(c->s, req, ETSI_RECEIPT, &r);
        break;
    case Q_ERR_NOT_FOUND: send_fault(c->s, req, "NOT_FOUND", "no transaction %s for this AP", c->tid); break;
    case Q_ERR_CONFLICT:
        send_fault(c->s, req, "NOT_FINISHED", "transaction %s is still pending: a receipt follows its signature",
                   c->tid);
        break;
    default: send_fault(c->s, req, "UNAVAILABLE", "transaction storage unavailable, try again"); break;
    }
    call_free(c);
}

static void do_receipt(struct call *c)
{
    const char *id = id_of(c->r.mssp_trans_id);

    snprintf(c->tid, sizeof c->tid, "%s", c->r.mssp_trans_id);
    if (!id) {
        send_fault(c->s, gw_http_take(&c->h), "NOT_FOUND", "no transaction %.64s for this AP", c->r.mssp_trans_id);
        call_free(c);
        return;
    }
    q_txn_receipt(c->s->d.q, id, c->rp, c->r.message ? c->r.message : "", gw_now_ms(), receipted, c);
}

/* ---- MSS_Registration, MSS_ProfileQuery: the registry ----------------- */

static void sub_read(void *arg, enum q_err err, const struct q_sub *sub)
{
    static const char *const profiles[] = {ETSI_PROFILE_VGCA};
    struct call *c = arg;
    struct evhttp_request *req = gw_http_take(&c->h);
    struct gw_soap_resp r = resp_of(c);

    if (err == Q_ERR_NOT_FOUND) {
        send_fault(c->s, req, "UNKNOWN_SUBSCRIBER", "no SIM PKI is registered for this number");
    } else if (err != Q_OK) {
        send_fault(c->s, req, "UNAVAILABLE", "the registry is unavailable, try again");
    } else if (c->r.kind == ETSI_REGISTRATION) {
        if (!sub->cert_len) {
            send_fault(c->s, req, "NO_CERTIFICATE", "no certificate is registered for this number");
        } else {
            r.status = 408; /* REGISTRATION_OK: the vGCA profile's answer with the certificate */
            r.cert = sub->cert;
            r.cert_len = sub->cert_len;
            send_resp(c->s, req, ETSI_REGISTRATION, &r);
        }
    } else if (strcmp(sub->status, "active") != 0) {
        send_fault(c->s, req, "SUBSCRIBER_INACTIVE", "this number's SIM PKI is %s", sub->status);
    } else {
        r.status = gw_result_etsi("REQUEST_OK");
        r.profiles = profiles;
        r.n_profiles = 1;
        send_resp(c->s, req, ETSI_PROFILE, &r);
    }
    call_free(c);
}

static void do_registry(struct call *c)
{
    char msisdn[CAR_MSISDN_LEN], why[256];
    const char *code;

    if (!(c->roles & CFG_ROLE_LOOKUP)) {
        send_fault(c->s, gw_http_take(&c->h), "FORBIDDEN", "this AP has no \"lookup\" role");
        call_free(c);
        return;
    }
    if ((code = gw_sign_check_msisdn(c->r.msisdn, msisdn, why, sizeof why))) {
        send_fault(c->s, gw_http_take(&c->h), code, "MSISDN: %s", why);
        call_free(c);
        return;
    }
    q_life_sub_get(c->s->d.q, msisdn, sub_read, c);
}

/* ---- routing ---------------------------------------------------------- */

/* The ETSI status a codec refusal carries, as a result code of the table. */
static const char *parse_code(int status)
{
    switch (status) {
    case 102: return "MISSING_FIELD";
    case 103: return "DIGEST_LENGTH";
    case 108: return "INCOMPATIBLE_INTERFACE";
    case 109: return "UNSUPPORTED_PROFILE";
    default: return "MALFORMED_XML";
    }
}

void gw_soap_handle(struct gw_soap *s, struct evhttp_request *req, const char *path)
{
    const char *port = path + strlen(GW_SOAP_PATH);
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char why[256];
    const char *why_tls;
    int status = 0;
    struct call *c;
    const struct cfg_apikey *k;

    gw_metrics_inc(s->d.metrics, GW_M_SOAP_REQUESTS);
    if (strcmp(port, etsi_port(ETSI_SIGNATURE)) != 0 && strcmp(port, etsi_port(ETSI_STATUS)) != 0 &&
        strcmp(port, etsi_port(ETSI_RECEIPT)) != 0 && strcmp(port, etsi_port(ETSI_REGISTRATION)) != 0 &&
        strcmp(port, etsi_port(ETSI_PROFILE)) != 0) {
        send_fault(s, req, "NOT_FOUND",
                   "no such port; the ports are MSS_SignaturePort, MSS_StatusQueryPort, "
                   "MSS_ReceiptPort, MSS_RegistrationPort and MSS_ProfileQueryPort");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        send_fault(s, req, "METHOD_NOT_ALLOWED", "SOAP requests are POSTed");
        return;
    }
    if (!ctype || strncasecmp(ctype, "application/soap+xml", 20) != 0) {
        send_fault(s, req, "INCOMPATIBLE_INTERFACE",
                   ctype && strncasecmp(ctype, "text/xml", 8) == 0
                       ? "SOAP 1.1 (text/xml) is not served: this endpoint speaks SOAP 1.2 (application/soap+xml)"
                       : "send the request as application/soap+xml (SOAP 1.2)");
        return;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        send_fault(s, req, "INTERNAL_ERROR", "out of memory");
        return;
    }
    c->s = s;
    if (gw_soap_parse(evbuffer_pullup(in, (ev_ssize_t)len), len, port, &c->r, &status, why, sizeof why) != ETSI_OK) {
        send_fault(s, req, parse_code(status), "%s", why);
        call_free(c);
        return;
    }
    if (c->r.kind == ETSI_SIGNATURE && c->r.mode == GW_SOAP_SYNCH)
        gw_lat_reclass(s->d.metrics, req, GW_OP_SOAP_SIGNATURE_SYNCH); /* held until the end: not added latency */
    /* One answer for an unknown AP_ID and a wrong AP_PWD: nothing tells which AP_IDs exist. */
    k = cfg_apikey_by_ap_id(s->d.cfg, c->r.ap_id);
    if (!k || !cfg_ap_pwd_ok(k, c->r.ap_pwd)) {
        gw_metrics_inc(s->d.metrics, GW_M_HTTP_UNAUTHORIZED);
        LOGP(LOG_INFO, "soap", NULL, "AP_ID/AP_PWD refused (AP_ID %s)", k ? k->ap_id : "unknown");
        send_fault(s, req, "UNAUTHORIZED", "AP_ID or AP_PWD not accepted");
        call_free(c);
        return;
    }
    c->rp = k->rp;
    c->roles = k->roles;
    OPENSSL_cleanse(c->r.ap_pwd, sizeof c->r.ap_pwd); /* not needed any more */
    why_tls = gw_tls_rp_refusal(k, req);              /* its client_cert_sha256, as the JSON API */
    if (why_tls) {
        send_fault(s, req, "FORBIDDEN", "%s", why_tls);
        call_free(c);
        return;
    }
    gw_http_hold(&c->h, req, call_gone, c);
    switch (c->r.kind) {
    case ETSI_SIGNATURE: do_signature(c); break;
    case ETSI_STATUS:
    case ETSI_RECEIPT:
        if (!(c->roles & CFG_ROLE_SIGN)) {
            send_fault(s, gw_http_take(&c->h), "FORBIDDEN", "this AP has no \"sign\" role");
            call_free(c);
        } else if (c->r.kind == ETSI_STATUS) {
            do_status(c);
        } else {
            do_receipt(c);
        }
        break;
    case ETSI_REGISTRATION:
    case ETSI_PROFILE: do_registry(c); break;
    default:
        send_fault(s, gw_http_take(&c->h), "INCOMPATIBLE_INTERFACE", "not an operation of this endpoint");
        call_free(c);
        break;
    }
}

/* ---- life ------------------------------------------------------------- */

struct gw_soap *gw_soap_new(const struct gw_soap_deps *deps)
{
    struct gw_soap *s = calloc(1, sizeof(*s));

    if (s)
        s->d = *deps;
    return s;
}

void gw_soap_free(struct gw_soap *s)
{
    free(s);
}

/* ---- asynchServerServer: the notification ----------------------------- */

int gw_soap_notification_body(void *arg, const struct q_txn *t, struct evbuffer *out, const char **content_type)
{
    const struct cfg *cfg = arg;
    const struct cfg_apikey *rp = cfg_apikey_by_name(cfg, t->rp);
    struct gw_soap_req req = {.kind = ETSI_SIGNATURE};
    char tid[ETSI_ID_MAX], *body = NULL;
    struct gw_soap_resp r;
    size_t len = 0;
    int rc;

    snprintf(req.ap_id, sizeof req.ap_id, "%s", rp && rp->has_ap ? rp->ap_id : "");
    snprintf(req.ap_trans_id, sizeof req.ap_trans_id, "%.*s", (int)sizeof req.ap_trans_id - 1, t->cb_ctx);
    util_iso8601(time(NULL), req.instant);
    snprintf(req.mssp_id, sizeof req.mssp_id, "%s", cfg->soap_mssp_id);
    snprintf(tid, sizeof tid, "%c%s", TID_PREFIX, t->id);
    r = (struct gw_soap_resp){.req = &req,
                              .mssp_id = cfg->soap_mssp_id,
                              .instant = time(NULL),
                              .mssp_trans_id = tid,
                              .msisdn = t->msisdn,
                              .status = t->etsi_status};
    if (t->state == Q_COMPLETED) {
        r.signature = t->signature;
        r.sig_len = t->sig_len;
        r.mss_format = format_uri(t);
        r.cert = t->cert;
        r.cert_len = t->cert_len;
        r.validated = 1;
    }
    if (gw_soap_build_notification(&r, &body, &len) != ETSI_OK)
        return -1;
    rc = evbuffer_add(out, body, len);
    free(body);
    *content_type = CT_SOAP12;
    return rc == 0 ? 0 : -1;
}
