/* gw_api.c - see gw_api.h. */
#include "gw_api.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "car_route.h"
#include "digest.h"
#include "car_text.h"
#include "cfg.h"
#include "gw_admit.h"
#include "gw_api_subs.h"
#include "gw_auth.h"
#include "gw_callback.h"
#include "gw_enrol.h"
#include "gw_plan.h"
#include "gw_http.h"
#include "gw_lat.h"
#include "gw_metrics.h"
#include "gw_result.h"
#include "gw_sign_body.h"
#include "gw_soap.h"
#include "gw_soap_xml.h"
#include "gw_tls.h"
#include "gw_txn.h"
#include "gw_txn_json.h"
#include "gw_util.h"
#include "gw_wait.h"
#include "log.h"
#include "q.h"
#include "util.h"

/*
 * A request whose answer waits on the engine or the completion hub.  The
 * client may go away at any time: the connection's close callback detaches
 * it (h.req = NULL); a POST's call is freed when the engine answers, a long
 * poll's cancels its wait and is freed at once.
 */
struct call {
    struct gw_api *api;
    struct gw_http_hold h;      /* the request; h.req is NULL once the client is gone */
    const char *rp;             /* relying party; belongs to cfg */
    struct gw_waiter *w;        /* GET: its wait on the hub (gw_wait.h); NULL for a POST */
    char id[Q_ID_LEN];          /* a receipt's transaction, read once the receipt is recorded */
    struct gw_admit_slot *slot; /* POST: its place in flight (gw_admit.h) until the engine answers */
    int long_poll;              /* GET: counted in max_long_polls */
};

struct gw_api {
    struct gw_api_deps d;
    struct evhttp *http;
    struct evhttp_bound_socket *listener;
    struct gw_tls *tls; /* NULL: plain HTTP */
};

/* ---- responses -------------------------------------------------------- */

static void send_json(struct evhttp_request *req, int code, json_t *body)
{
    gw_http_json(req, code, body);
}

/* A refusal: its HTTP status is the result table's (gw_result.h). */
static void send_error(struct gw_api *api, struct evhttp_request *req, const char *error, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void send_error(struct gw_api *api, struct evhttp_request *req, const char *error, const char *field,
                       const char *fmt, ...)
{
    int code = gw_result_http(error);
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The JSON API's one addition to gw_http_error: refusals of signature requests are counted. */
    if (api && code >= 400 && strcmp(evhttp_request_get_uri(req), "/v1/signatures") == 0)
        gw_metrics_inc(api->d.metrics, GW_M_SIGN_REJECTED);
    gw_http_error(req, code, error, field, "%s", msg);
}

/* Answer with the transaction. */
static void send_txn(struct evhttp_request *req, int code, const struct q_txn *t)
{
    struct gw_json j;
    if (gw_txn_json(t, &j) != 0) {
        send_error(NULL, req, "INTERNAL_ERROR", NULL, "out of memory");
        return;
    }
    gw_http_json_text(req, code, &j);
}

/* ---- calls ------------------------------------------------------------ */

/* The request to answer, detached from its connection; NULL if the client is gone. */
static struct evhttp_request *call_take(struct call *c)
{
    return gw_http_take(&c->h);
}

static void call_free(struct call *c)
{
    call_take(c);
    free(c);
}

/* The client went away: a POST's call waits for the engine's answer; a long poll stops waiting. */
static void call_gone(void *arg)
{
    struct call *c = arg;

    if (c->w) {
        gw_wait_cancel(c->w);
        if (c->long_poll)
            gw_admit_poll_done(c->api->d.admit);
        free(c);
    }
}

static struct call *call_new(struct gw_api *api, struct evhttp_request *req, const char *rp)
{
    struct call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->api = api;
    c->rp = rp;
    gw_http_hold(&c->h, req, call_gone, c);
    return c;
}

/* ---- GET /v1/signatures/{id} ------------------------------------------ */

/* The hub's answer to a GET, long poll or not. */
static void polled(void *arg, enum gw_wait_result res, const struct q_txn *txn)
{
    struct call *c = arg;
    struct evhttp_request *req = call_take(c);

    if (c->long_poll)
        gw_admit_poll_done(c->api->d.admit);
    free(c);
    if (!req)
        return;
    switch (res) {
    case GW_WAIT_DONE: send_txn(req, 200, txn); break;
    case GW_WAIT_NOT_FOUND: send_error(NULL, req, "NOT_FOUND", NULL, "no such transaction"); break;
    case GW_WAIT_SHUTDOWN: send_error(NULL, req, "SHUTTING_DOWN", NULL, "the gateway is restarting; poll again"); break;
    case GW_WAIT_UNAVAILABLE:
    default:
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        send_error(NULL, req, "UNAVAILABLE", NULL, "transaction storage unavailable, try again");
        break;
    }
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    return n == Q_ID_LEN - 1 && strspn(id, "0123456789abcdef") == n;
}

static void handle_get(struct gw_api *api, struct evhttp_request *req, const char *rp, const char *id)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = evhttp_uri_get_query(uri);
    struct evkeyvalq params = {0};
    long wait = 0;
    struct call *c;

    if (!valid_id(id)) {
        send_error(api, req, "NOT_FOUND", NULL, "no such transaction");
        return;
    }
    if (query && evhttp_parse_query_str(query, &params) == 0) {
        const char *w = evhttp_find_header(&params, "wait");
        if (w) {
            char *end;
            wait = strtol(w, &end, 10);
            if (*end || end == w || wait < 0 || wait > (long)api->d.cfg->long_poll_max_s) {
                evhttp_clear_headers(&params);
                send_error(api, req, "INVALID_FIELD", "wait", "wait must be a whole number of seconds, 0..%u",
                           api->d.cfg->long_poll_max_s);
                return;
            }
        }
        evhttp_clear_headers(&params);
    }
    c = call_new(api, req, rp);
    if (!c) {
        send_error(api, req, "INTERNAL_ERROR", NULL, "out of memory");
        return;
    }
    /* Beyond max_long_polls: the state as it is now, and a hint to pause before the next poll. */
    c->long_poll = wait > 0 && gw_admit_poll_take(api->d.admit);
    if (wait > 0 && !c->long_poll) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", gw_admit_retry_after(api->d.admit));
        wait = 0;
    }
    c->w = gw_wait_start(api->d.wait, id, rp, (unsigned)wait, polled, c);
    if (!c->w) {
        if (c->long_poll)
            gw_admit_poll_done(api->d.admit);
        send_error(api, call_take(c), "INTERNAL_ERROR", NULL, "cannot wait");
        call_free(c);
    }
}

/* ---- POST /v1/signatures ---------------------------------------------- */

static void started(void *arg, enum gw_err err, const struct q_txn *txn, int existed)
{
    struct call *c = arg;
    struct gw_api *api = c->api;
    struct evhttp_request *req = call_take(c);
    const char *rp = c->rp;
    struct gw_admit_slot *slot = c->slot;
    char loc[64];

    call_free(c);
    if (err == GW_OK && !existed && txn->state == Q_PENDING) {
        gw_wait_own(api->d.wait, txn->id, rp);      /* a retry (existed) may have finished long ago: its polls read */
        gw_admit_bind(api->d.admit, slot, txn->id); /* in flight until it finishes, wherever */
    } else {
        gw_admit_release(api->d.admit, slot);
    }
    if (!req)
        return;
    switch (err) {
    case GW_OK:
        gw_metrics_inc(api->d.metrics, GW_M_SIGN_ACCEPTED);
        snprintf(loc, sizeof(loc), "/v1/signatures/%s", txn->id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
        send_txn(req, existed ? 200 : 202, txn);
        return;
    case GW_ERR_INTERNAL: send_error(api, req, "INTERNAL_ERROR", NULL, "%s", gw_strerror(err)); break;
    default: {
        struct gw_sign_refusal r = gw_sign_start_refusal(err);
        if (err == GW_ERR_UNAVAILABLE)
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        else if (err == GW_ERR_BACKLOG) /* the archive drains in its own time: limits.retry_after_s */
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
                              gw_admit_retry_after(api->d.admit));
        send_error(api, req, r.code, r.field, "%s", r.message);
        break;
    }
    }
}

/* SHA-256 over the fields that define the request, for Idempotency-Key checks. */
static void request_hash(const char *msisdn, uint8_t alg /* enum dg_alg, hashed as one octet */, const uint8_t *dg,
                         size_t dlen, const char *text, const char *cref, uint8_t format, const char *cb_url,
                         char out[65])
{
    unsigned char md[32];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
        EVP_DigestUpdate(ctx, msisdn, strlen(msisdn) + 1);
        EVP_DigestUpdate(ctx, &alg, 1);
        EVP_DigestUpdate(ctx, dg, dlen);
        EVP_DigestUpdate(ctx, text, strlen(text) + 1);
        EVP_DigestUpdate(ctx, cref, strlen(cref) + 1);
        /* Raw requests hash as before, so keys given before "format" existed still match. */
        if (format != Q_FORMAT_RAW)
            EVP_DigestUpdate(ctx, &format, 1);
        /* Likewise a request without a callback: only one that has it hashes it (after a marker octet). */
        if (cb_url) {
            EVP_DigestUpdate(ctx, "\001callback_url", 13);
            EVP_DigestUpdate(ctx, cb_url, strlen(cb_url) + 1);
        }
        EVP_DigestFinal_ex(ctx, md, NULL);
        util_hex(md, 32, out);
    } else {
        out[0] = '\0';
    }
    EVP_MD_CTX_free(ctx);
}

static int valid_idem_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 100)
        return 0;
    for (; *k; k++)
        if (*k < 0x21 || *k > 0x7e)
            return 0;
    return 1;
}

/* The request was admitted (c->slot): read it and start the transaction; a refusal ends the slot. */
static void post_body(struct call *c)
{
    struct gw_api *api = c->api;
    struct evhttp_request *req = c->h.req;
    const char *rp = c->rp;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *ctype = evhttp_find_header(h, "Content-Type");
    const char *idem = evhttp_find_header(h, "Idempotency-Key");
    char why[512], hash[65];
    size_t len = evbuffer_get_length(in);
    struct gw_sign_body b = {0};
    const char *refused;

    if (ctype && strncasecmp(ctype, "application/json", 16) != 0) {
        snprintf(why, sizeof why, "send the request as application/json");
        b.error = "UNSUPPORTED_MEDIA_TYPE";
        goto refuse;
    }
    if (idem && !valid_idem_key(idem)) {
        snprintf(why, sizeof why, "Idempotency-Key must be 1-100 visible ASCII characters");
        b.error = "INVALID_FIELD";
        b.field = "Idempotency-Key";
        goto refuse;
    }
    if (gw_sign_body_parse((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len, gw_txn_check_text, api->d.engine,
                           &b, why, sizeof(why)) != 0)
        goto refuse;
    refused = b.callback_url ? cfg_callback_check(cfg_apikey_by_name(api->d.cfg, rp), b.callback_url) : NULL;
    if (refused) {
        snprintf(why, sizeof why, "%s", refused);
        b.error = "INVALID_FIELD";
        b.field = "callback_url";
        goto refuse;
    }
    request_hash(b.msisdn, b.digest_alg, b.digest, b.digest_len, b.display_text, b.client_ref, b.format, b.callback_url,
                 hash);
    gw_txn_start(api->d.engine,
                 &(struct gw_sign_req){.rp = rp,
                                       .msisdn = b.msisdn,
                                       .client_ref = *b.client_ref ? b.client_ref : NULL,
                                       .idem_key = idem,
                                       .req_hash = hash,
                                       .digest_alg = b.digest_alg,
                                       .digest = b.digest,
                                       .digest_len = b.digest_len,
                                       .display_text = b.display_text,
                                       .format = b.format,
                                       .cb_url = b.callback_url,
                                       .cb_kind = Q_CB_KIND_JSON},
                 started, c);
    gw_sign_body_clear(&b);
    return;
refuse:
    gw_admit_release(api->d.admit, c->slot);
    send_error(api, call_take(c), b.error, b.field, "%s", why);
    call_free(c);
    gw_sign_body_clear(&b);
}

/* Refused by overload control: nothing was read or written. */
static void send_admit_refusal(struct gw_api *api, struct evhttp_request *req, enum gw_admit_res res)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", gw_admit_retry_after(api->d.admit));
    if (res == GW_ADMIT_OVERLOADED)
        send_error(api, req, "OVERLOADED", NULL,
                   "this instance has as many signature requests in flight as it takes: try again after Retry-After "
                   "seconds");
    else if (res == GW_ADMIT_RATE_LIMITED)
        send_error(api, req, "RATE_LIMITED", NULL,
                   "this relying party is over its own limit (max_in_flight or rate_per_s): try again after "
                   "Retry-After seconds");
    else
        send_error(api, req, "UNAVAILABLE", NULL,
                   "the rate limit cannot be counted now (storage unavailable), "
                   "try again");
}

/* gw_admit_take's later answer, after a rate lease. */
static void admitted(void *arg, enum gw_admit_res res, struct gw_admit_slot *slot)
{
    struct call *c = arg;

    if (res != GW_ADMIT_OK || !c->h.req) {
        struct evhttp_request *req = call_take(c);
        if (slot)
            gw_admit_release(c->api->d.admit, slot);
        if (req)
            send_admit_refusal(c->api, req, res);
        free(c);
        return;
    }
    c->slot = slot;
    post_body(c);
}

/* Admission first: a refusal costs no parsing and no Redis call. */
static void handle_post(struct gw_api *api, struct evhttp_request *req, const char *rp)
{
    struct call *c = call_new(api, req, rp);
    enum gw_admit_res res;

    if (!c) {
        send_error(api, req, "INTERNAL_ERROR", NULL, "out of memory");
        return;
    }
    res = gw_admit_take(api->d.admit, rp, &c->slot, admitted, c);
    if (res == GW_ADMIT_OK)
        post_body(c);
    else if (res != GW_ADMIT_WAIT)
        admitted(c, res, NULL);
}

/* ---- POST /v1/signatures/{id}/receipt --------------------------------- */

/* Recorded: answer with the transaction as it now reads (one more read; a receipt is rare). */
static void receipted(void *arg, enum q_err err)
{
    struct call *c = arg;
    struct evhttp_request *req = c->h.req;

    if (!req || err != Q_OK) {
        req = call_take(c);
        free(c);
        if (!req)
            return;
        if (err == Q_ERR_NOT_FOUND) {
            send_error(NULL, req, "NOT_FOUND", NULL, "no such transaction");
        } else if (err == Q_ERR_CONFLICT) {
            send_error(NULL, req, "NOT_FINISHED", NULL,
                       "the transaction is still pending: send the receipt once its outcome is known");
        } else {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
            send_error(NULL, req, "UNAVAILABLE", NULL, "transaction storage unavailable, try again");
        }
        return;
    }
    c->w = gw_wait_start(c->api->d.wait, c->id, c->rp, 0, polled, c); /* from now on the client's going cancels */
    if (!c->w) {
        send_error(NULL, call_take(c), "INTERNAL_ERROR", NULL, "cannot read the transaction");
        call_free(c);
    }
}

/* The body is optional: nothing, or {"message": "..."} (at most Q_RECEIPT_MAX octets of UTF-8). */
static void handle_receipt(struct gw_api *api, struct evhttp_request *req, const char *rp, const char *id)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t len = evbuffer_get_length(in);
    const char *msg = NULL, *key;
    json_t *body = NULL, *v;
    struct call *c;
    char why[256];

    if (!valid_id(id)) {
        send_error(api, req, "NOT_FOUND", NULL, "no such transaction");
        return;
    }
    if (len > 0) {
        if (ctype && strncasecmp(ctype, "application/json", 16) != 0) {
            send_error(api, req, "UNSUPPORTED_MEDIA_TYPE", NULL, "send the receipt as application/json");
            return;
        }
        body = gw_http_body_json(req, why, sizeof(why));
        if (!body) {
            send_error(api, req, "MALFORMED_JSON", NULL, "%s", why);
            return;
        }
        json_object_foreach(body, key, v)
        {
            if (strcmp(key, "message") != 0) {
                send_error(api, req, "UNKNOWN_FIELD", key, "\"%s\" is not a member of a receipt", key);
                goto out;
            }
        }
        v = json_object_get(body, "message");
        msg = v ? json_string_value(v) : NULL;
        if (v && (!msg || strlen(msg) > Q_RECEIPT_MAX)) {
            send_error(api, req, "INVALID_FIELD", "message", "message must be a string of at most %d octets",
                       Q_RECEIPT_MAX);
            goto out;
        }
    }
    c = call_new(api, req, rp);
    if (!c) {
        send_error(api, req, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    memcpy(c->id, id, Q_ID_LEN);
    q_txn_receipt(api->d.q, id, rp, msg, gw_now_ms(), receipted, c); /* copies msg */
out:
    json_decref(body);
}

/* ---- health and metrics ----------------------------------------------- */

static void handle_health(struct gw_api *api, struct evhttp_request *req)
{
    int redis = q_connected(api->d.q), links = gw_engine_links_up(api->d.engine);
    send_json(req, redis ? 200 : 503,
              json_pack("{s:s, s:b, s:b}", "status", redis ? (links ? "ok" : "degraded") : "down", "redis", redis,
                        "carrier_links", links));
}

static void handle_metrics(struct gw_api *api, struct evhttp_request *req)
{
    struct evbuffer *out = evbuffer_new();
    struct q_stats qs;
    if (!out) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    gw_metrics_render(api->d.metrics, out);
    gw_engine_render_metrics(api->d.engine, out);
    q_get_stats(api->d.q, &qs);
    gw_metrics_gauge(out, "redis_up", "1 when the Redis connection is up", NULL, q_connected(api->d.q));
    gw_metrics_counter(out, "redis_calls_total", "Redis calls made", NULL, qs.calls);
    gw_metrics_counter(out, "redis_reconnects_total",
                       "Redis connection attempts after the first: a restart, a failover, retries while away", NULL,
                       qs.reconnects);
    gw_metrics_gauge(out, "redis_in_flight", "Redis calls awaiting a reply", NULL, qs.in_flight);
    gw_metrics_counter(out, "redis_failovers_total", "times the Redis master moved (Sentinel)", NULL, qs.failovers);
    gw_metrics_counter(out, "redis_wait_failures_total", "WAITs that counted too few replicas (calls answered 503)",
                       NULL, qs.wait_failures);
    gw_admit_render_metrics(api->d.admit, out);
    if (api->d.callback)
        gw_metrics_gauge(out, "callback_in_flight", "callbacks POSTed and not yet answered", NULL,
                         gw_callback_in_flight(api->d.callback));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, NULL, out);
    evbuffer_free(out);
}

/* ---- routing ---------------------------------------------------------- */

static void route(struct evhttp_request *req, void *arg)
{
    struct gw_api *api = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    const char *rp, *authz;

    if (api->tls && !gw_tls_carried(req)) { /* TLS could not be set up for it (out of memory): fail closed */
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    gw_metrics_inc(api->d.metrics, GW_M_HTTP_REQUESTS);
    gw_lat_start(api->d.metrics, req, path ? path : "/");
    /* Counted here, before auth, on the same test send_error uses for "rejected": every request
     * counted ends accepted or rejected, so requests = accepted + rejected. */
    if (strcmp(evhttp_request_get_uri(req), "/v1/signatures") == 0)
        gw_metrics_inc(api->d.metrics, GW_M_SIGN_REQUESTS);
    if (!path)
        path = "/";
    if (strcmp(path, "/healthz") == 0 && method == EVHTTP_REQ_GET) {
        handle_health(api, req);
        return;
    }
    if (strcmp(path, "/metrics") == 0 && method == EVHTTP_REQ_GET) {
        handle_metrics(api, req);
        return;
    }
    if (api->d.soap && strncmp(path, GW_SOAP_PATH, strlen(GW_SOAP_PATH)) == 0) {
        gw_soap_handle(api->d.soap, req, path); /* its credentials are in the envelope (AP_ID / AP_PWD) */
        return;
    }
    if (api->d.plan && strcmp(path, "/ui/plans") == 0) {
        gw_plan_page(req); /* public: its data needs an operator key */
        return;
    }
    /* The HTTP layer takes bodies up to the largest limit (the SOAP endpoint's, a plan's two files);
     * the JSON API's own is max_body_bytes, but for building a plan. */
    {
        int plan_post = strcmp(path, "/v1/plans") == 0 && method == EVHTTP_REQ_POST;
        unsigned max = plan_post ? api->d.cfg->merge.max_input_bytes : api->d.cfg->max_body_bytes;
        if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) > max) {
            send_error(api, req, "TOO_LARGE", NULL, "the body is larger than %u octets", max);
            return;
        }
    }
    if (strncmp(path, "/v1/signatures", 14) != 0 && strncmp(path, "/v1/requests", 12) != 0 &&
        strncmp(path, "/v1/subscribers/", 16) != 0 && strncmp(path, "/v1/plans", 9) != 0) {
        send_error(api, req, "NOT_FOUND", NULL, "no such resource; see docs/openapi.yaml");
        return;
    }
    authz = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    rp = gw_auth_check(api->d.cfg, authz);
    if (!rp) {
        gw_metrics_inc(api->d.metrics, GW_M_HTTP_UNAUTHORIZED);
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", "Bearer");
        /* Say which mistake it is (no header vs a key we do not accept), never whether some
         * key is close: the second message is the same for every wrong token. */
        send_error(api, req, "UNAUTHORIZED", NULL,
                   !authz || !*authz ? "no Authorization header: send Authorization: Bearer <your API key>"
                   : strncasecmp(authz, "Bearer ", 7) != 0 ? "the Authorization header is not \"Bearer <your API key>\""
                                                           : "the API key in Authorization: Bearer is not accepted");
        return;
    }
    {
        const char *refused = gw_tls_rp_refusal(cfg_apikey_by_name(api->d.cfg, rp), req); /* client_cert_sha256 */
        if (refused) {
            send_error(api, req, "FORBIDDEN", NULL, "%s", refused);
            return;
        }
    }
    if (strncmp(path, "/v1/requests", 12) == 0) {
        if (!(gw_auth_roles(api->d.cfg, rp) & CFG_ROLE_ENROL)) {
            send_error(api, req, "FORBIDDEN", NULL, "this API key has no \"enrol\" role");
            return;
        }
        if (!api->d.enrol || !gw_enrol_handle(api->d.enrol, req, path, rp))
            send_error(api, req, "NOT_FOUND", NULL, "no such resource; see docs/openapi.yaml");
        return;
    }
    if (strncmp(path, "/v1/plans", 9) == 0) {
        if (!(gw_auth_roles(api->d.cfg, rp) & CFG_ROLE_OPERATOR)) {
            send_error(api, req, "FORBIDDEN", NULL, "this API key has no \"operator\" role");
            return;
        }
        if (!api->d.plan || !gw_plan_handle(api->d.plan, req, path, rp))
            send_error(api, req, "NOT_FOUND", NULL, "no such resource; see docs/openapi.yaml");
        return;
    }
    if (strncmp(path, "/v1/subscribers/", 16) == 0) {
        if (!(gw_auth_roles(api->d.cfg, rp) & CFG_ROLE_LOOKUP)) {
            send_error(api, req, "FORBIDDEN", NULL, "this API key has no \"lookup\" role");
            return;
        }
        if (!gw_api_subs_handle(&(struct gw_api_subs_deps){.q = api->d.q, .trust = api->d.trust}, req, path))
            send_error(api, req, "NOT_FOUND", NULL, "no such resource; see docs/openapi.yaml");
        return;
    }
    if (!(gw_auth_roles(api->d.cfg, rp) & CFG_ROLE_SIGN)) {
        send_error(api, req, "FORBIDDEN", NULL, "this API key has no \"sign\" role");
        return;
    }
    if (strcmp(path, "/v1/signatures") == 0) {
        if (method != EVHTTP_REQ_POST) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            send_error(api, req, "METHOD_NOT_ALLOWED", NULL, "use POST to request a signature");
            return;
        }
        handle_post(api, req, rp);
        return;
    }
    if (strncmp(path, "/v1/signatures/", 15) == 0 && strchr(path + 15, '/') == NULL) {
        if (method != EVHTTP_REQ_GET) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
            send_error(api, req, "METHOD_NOT_ALLOWED", NULL, "use GET to read a transaction");
            return;
        }
        handle_get(api, req, rp, path + 15);
        return;
    }
    if (strncmp(path, "/v1/signatures/", 15) == 0 && strchr(path + 15, '/') &&
        strcmp(strchr(path + 15, '/'), "/receipt") == 0) {
        char id[Q_ID_LEN] = "";
        size_t n = (size_t)(strchr(path + 15, '/') - (path + 15));

        if (method != EVHTTP_REQ_POST) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
            send_error(api, req, "METHOD_NOT_ALLOWED", NULL, "use POST to send a receipt");
            return;
        }
        if (n < sizeof(id))
            memcpy(id, path + 15, n); /* else "": not an id */
        handle_receipt(api, req, rp, id);
        return;
    }
    send_error(api, req, "NOT_FOUND", NULL, "no such resource; see docs/openapi.yaml");
}

struct gw_api *gw_api_new(const struct gw_api_deps *deps)
{
    struct gw_api *api = calloc(1, sizeof(*api));
    if (!api)
        return NULL;
    api->d = *deps;
    api->http = evhttp_new(deps->base);
    if (!api->http)
        goto fail;
    if (deps->cfg->tls.enabled) {
        char err[768];
        api->tls = gw_tls_new(&deps->cfg->tls, err, sizeof err);
        if (!api->tls) {
            LOGP(LOG_ERR, "http", NULL, "%s", err);
            goto fail;
        }
        gw_tls_attach(api->tls, api->http);
    }
    /*
     * What the HTTP layer reads at most (a larger body is refused with its
     * own 413 before it is read): the larger of the JSON API's limit and the
     * SOAP endpoint's, so that a hostile envelope up to GW_SOAP_MAX_BODY gets
     * a SOAP fault; route() holds the JSON API to max_body_bytes.
     */
    {
        size_t max = deps->cfg->max_body_bytes > GW_SOAP_MAX_BODY ? deps->cfg->max_body_bytes : GW_SOAP_MAX_BODY;
        if (deps->plan && deps->cfg->merge.max_input_bytes > max)
            max = deps->cfg->merge.max_input_bytes;
        evhttp_set_max_body_size(api->http, max);
    }
    evhttp_set_max_headers_size(api->http, 16384);
    /* A request may be held as long as a long poll, or a synch SOAP request (the transaction's life). */
    evhttp_set_timeout(api->http,
                       (int)(deps->cfg->long_poll_max_s > deps->cfg->txn_timeout_s ? deps->cfg->long_poll_max_s
                                                                                   : deps->cfg->txn_timeout_s + 5) +
                           30);
    evhttp_set_allowed_methods(api->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(api->http, route, api);
    api->listener = evhttp_bind_socket_with_handle(api->http, deps->cfg->listen_host, deps->cfg->listen_port);
    if (!api->listener) {
        LOGP(LOG_ERR, "http", NULL, "cannot listen on %s:%u", deps->cfg->listen_host, deps->cfg->listen_port);
        goto fail;
    }
    {
        /*
         * Answers are small and a keep-alive client sends the next request only
         * after reading one: with Nagle's algorithm an answer written in two
         * pieces waits for the client's delayed ACK (measured: 13 ms p50 at 100
         * req/s).  Set on the listener, Linux copies it to every accepted
         * socket, so it costs no system call per request (it was one
         * setsockopt per request before).
         */
        int one = 1;
        (void)setsockopt(evhttp_bound_socket_get_fd(api->listener), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    LOGP(LOG_INFO, "http", NULL, "API listening on %s%s:%u", api->tls ? "https://" : "", deps->cfg->listen_host,
         deps->cfg->listen_port);
    return api;
fail:
    if (api->http)
        evhttp_free(api->http);
    gw_tls_free(api->tls);
    free(api);
    return NULL;
}

void gw_api_drain(struct gw_api *api)
{
    if (api->listener) {
        evhttp_del_accept_socket(api->http, api->listener);
        api->listener = NULL;
    }
    gw_wait_drain(api->d.wait); /* the long polls are answered while their connections still exist */
}

void gw_api_free(struct gw_api *api)
{
    if (!api)
        return;
    gw_api_drain(api);
    evhttp_free(api->http);
    gw_tls_free(api->tls); /* after the connections that use it */
    free(api);
}
