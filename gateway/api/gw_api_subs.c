/* gw_api_subs.c - see gw_api_subs.h. */
#include "gw_api_subs.h"

#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_http.h"
#include "gw_result.h"
#include "gw_sign_check.h"
#include "gw_util.h"
#include "q_life.h"
#include "sig.h"
#include "util.h"

#define PREFIX     "/v1/subscribers/"
#define SUFFIX     "/certificate"
#define NUMBER_MAX 64 /* octets of the path segment, encoded: any form of a number fits */

/* A lookup waiting on Redis; the client may go away meanwhile (h.req becomes NULL). */
struct lookup {
    struct gw_http_hold h;
    const struct sig_trust *trust;
};

/* A refusal: its HTTP status is the result table's (gw_result.h), as gw_api.c's send_error. */
static void refuse(struct evhttp_request *req, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void refuse(struct evhttp_request *req, const char *code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    gw_http_error(req, gw_result_http(code), code, NULL, "%s", msg);
}

static void answer(struct evhttp_request *req, const struct sig_trust *trust, const struct q_sub *sub)
{
    struct sig_cert_info info;
    struct gw_json j;
    char why[256] = "", ts[32];
    enum sig_err err;

    err = sig_check_cert(trust, sub->cert, sub->cert_len, time(NULL), why, sizeof(why));
    gw_json_begin(&j);
    gw_json_str(&j, "msisdn", sub->msisdn);
    gw_json_str(&j, "subscriber_status", sub->status);
    gw_json_b64(&j, "certificate", sub->cert, sub->cert_len);
    if (sig_cert_info(sub->cert, sub->cert_len, &info) == SIG_OK) {
        gw_json_str(&j, "subject", info.subject);
        gw_json_str(&j, "issuer", info.issuer);
        gw_json_str(&j, "serial", info.serial_hex);
        gw_json_str(&j, "not_before", util_iso8601(info.not_before, ts));
        gw_json_str(&j, "not_after", util_iso8601(info.not_after, ts));
        gw_json_str(&j, "key_type", info.key_type);
    }
    if (err == SIG_OK) {
        gw_json_str(&j, "certificate_status", "OK");
        gw_json_str(&j, "message",
                    "valid now, allowed to sign and chained to a configured trust anchor "
                    "(revocation is checked at each signature, not here)");
    } else {
        /* To the signer an unparsable certificate is "INVALID_SIGNATURE"; here there is no signature. */
        gw_json_str(&j, "certificate_status", err == SIG_ERR_MALFORMED ? "INTERNAL_ERROR" : sig_result_name(err));
        gw_json_str(&j, "message", why[0] ? why : sig_strerror(err));
    }
    if (gw_json_end(&j) != 0) {
        refuse(req, "INTERNAL_ERROR", "out of memory");
        return;
    }
    gw_http_json_text(req, 200, &j);
}

static void got_sub(void *arg, enum q_err err, const struct q_sub *sub)
{
    struct lookup *l = arg;
    struct evhttp_request *req = gw_http_take(&l->h);
    const struct sig_trust *trust = l->trust;

    free(l);
    if (!req)
        return;
    switch (err) {
    case Q_OK:
        if (!sub->cert_len)
            refuse(req, "NO_CERTIFICATE", "the number's SIM PKI (status \"%s\") has no certificate registered",
                   sub->status);
        else
            answer(req, trust, sub);
        break;
    case Q_ERR_NOT_FOUND: refuse(req, "UNKNOWN_SUBSCRIBER", "no SIM PKI is registered for this number"); break;
    case Q_ERR_AGAIN:
    case Q_ERR_NOMEM:
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        refuse(req, "UNAVAILABLE", "the subscriber registry is unavailable, try again");
        break;
    default: refuse(req, "INTERNAL_ERROR", "the registry entry could not be read: %s", q_strerror(err)); break;
    }
}

int gw_api_subs_handle(const struct gw_api_subs_deps *d, struct evhttp_request *req, const char *path)
{
    const char *seg = path + strlen(PREFIX), *end = strchr(seg, '/');
    char enc[NUMBER_MAX + 1], msisdn[CAR_MSISDN_LEN], why[128] = "";
    const char *bad = "INVALID_MSISDN";
    struct lookup *l;
    char *number;
    size_t len;

    if (strncmp(path, PREFIX, strlen(PREFIX)) != 0 || !end || strcmp(end, SUFFIX) != 0)
        return 0;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        refuse(req, "METHOD_NOT_ALLOWED", "use GET to read a subscriber's certificate");
        return 1;
    }
    if ((size_t)(end - seg) > NUMBER_MAX) {
        refuse(req, "INVALID_MSISDN", "not a Vietnamese mobile number");
        return 1;
    }
    memcpy(enc, seg, (size_t)(end - seg));
    enc[end - seg] = '\0';
    /* The path is as sent: "%2B84 96..." is the "+84 96..." a client meant; "+" in a path is itself. */
    number = evhttp_uridecode(enc, 0, &len);
    if (number && len == strlen(number))
        bad = gw_sign_check_msisdn(number, msisdn, why, sizeof(why));
    free(number);
    if (bad) {
        refuse(req, bad, "%s", why[0] ? why : "not a Vietnamese mobile number");
        return 1;
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        refuse(req, "INTERNAL_ERROR", "out of memory");
        return 1;
    }
    l->trust = d->trust;
    gw_http_hold(&l->h, req, NULL, NULL);
    q_life_sub_get(d->q, msisdn, got_sub, l);
    return 1;
}
