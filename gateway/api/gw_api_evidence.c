/* gw_api_evidence.c - see gw_api_evidence.h. */
#include "gw_api_evidence.h"

#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "ar_evidence.h"
#include "cfg.h"
#include "gw_http.h"
#include "gw_result.h"

struct ev_call {
    struct gw_http_hold h; /* h.req NULL once the client is gone */
};

/* The archive's answer (maybe before ar_evidence_get returned). */
static void answered(void *arg, int status, const char *json, size_t len)
{
    struct ev_call *c = arg;
    struct evhttp_request *req = gw_http_take(&c->h);

    free(c);
    if (!req)
        return;
    if (status == 503)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    gw_http_text(req, status, "application/json", json, len);
}

void gw_api_evidence_handle(struct ar *a, struct evhttp_request *req, const char *id, unsigned long id_len,
                            const char *rp, unsigned roles)
{
    char txn_id[65] = ""; /* longer: "" is no id, answered NOT_FOUND */
    struct ev_call *c;

    if (!(roles & (CFG_ROLE_SIGN | CFG_ROLE_AUDIT))) {
        gw_http_error(req, gw_result_http("FORBIDDEN"), "FORBIDDEN", NULL,
                      "this API key has neither the \"sign\" nor the \"audit\" role");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
        gw_http_error(req, gw_result_http("METHOD_NOT_ALLOWED"), "METHOD_NOT_ALLOWED", NULL,
                      "use GET to read an evidence bundle");
        return;
    }
    if (id_len < sizeof(txn_id))
        memcpy(txn_id, id, id_len);
    c = calloc(1, sizeof(*c));
    if (!c) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        return;
    }
    gw_http_hold(&c->h, req, NULL, c);
    /* An auditor reads every relying party's; a signing key only its own. */
    ar_evidence_get(a, txn_id, (roles & CFG_ROLE_AUDIT) ? NULL : rp, answered, c);
}
