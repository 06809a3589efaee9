/* gw_txn_json.c - see gw_txn_json.h. */
#include "gw_txn_json.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <time.h>

#include "digest.h"
#include "util.h"

static const char *alg_name(enum dg_alg alg)
{
    const char *n = dg_name(alg);

    return n ? n : "unknown";
}

static const char *cb_state_name(uint8_t s)
{
    switch (s) {
    case Q_CB_DELIVERED: return "delivered";
    case Q_CB_FAILED: return "failed";
    default: return "pending";
    }
}

/* The members and their order are what the jansson version printed; "callback" came after. */
int gw_txn_json(const struct q_txn *t, struct gw_json *j)
{
    char ts[32];

    gw_json_begin(j);
    gw_json_str(j, "id", t->id);
    gw_json_str(j, "state", q_state_name(t->state));
    gw_json_str(j, "msisdn", t->msisdn);
    gw_json_str(j, "verification_code", t->vc);
    gw_json_str(j, "digest_alg", alg_name(t->digest_alg));
    if (t->client_ref[0])
        gw_json_str(j, "client_ref", t->client_ref);
    util_iso8601((time_t)(t->created_ms / 1000), ts);
    gw_json_str(j, "created_at", ts);
    util_iso8601((time_t)(t->deadline_ms / 1000), ts);
    gw_json_str(j, "expires_at", ts);
    if (t->state != Q_PENDING) {
        gw_json_str(j, "result", t->result);
        gw_json_int(j, "etsi_status", t->etsi_status);
        util_iso8601((time_t)(t->finished_ms / 1000), ts);
        gw_json_str(j, "finished_at", ts);
        if (t->detail[0])
            gw_json_str(j, "message", t->detail);
    } else {
        gw_json_int(j, "etsi_status", 504); /* OUTSTANDING_TRANSACTION */
    }
    gw_json_str(j, "format", t->format == Q_FORMAT_CMS ? "cms" : "raw");
    if (t->ocsp_len > 0) /* the evidence the certificate was not revoked (or was), as checked */
        gw_json_b64(j, "ocsp_response", t->ocsp, t->ocsp_len);
    if (t->state == Q_COMPLETED && t->sig_len > 0) {
        gw_json_b64(j, "signature", t->signature, t->sig_len);
        if (t->cert_len)
            gw_json_b64(j, "certificate", t->cert, t->cert_len);
    }
    if (t->receipt_ms > 0) { /* POST .../receipt, or MSS_Receipt: the last one */
        int outer = gw_json_obj_begin(j, "receipt");
        util_iso8601((time_t)(t->receipt_ms / 1000), ts);
        gw_json_str(j, "at", ts);
        if (t->receipt[0])
            gw_json_str(j, "message", t->receipt);
        gw_json_obj_end(j, outer);
    }
    if (t->cb_url[0]) {
        int outer = gw_json_obj_begin(j, "callback");
        gw_json_str(j, "url", t->cb_url);
        gw_json_str(j, "state", cb_state_name(t->cb_state));
        gw_json_int(j, "attempts", t->cb_tries);
        gw_json_obj_end(j, outer);
    }
    return gw_json_end(j);
}

int gw_txn_json_body(void *arg, const struct q_txn *t, struct evbuffer *out, const char **content_type)
{
    struct gw_json j;
    int rc;

    (void)arg;
    if (gw_txn_json(t, &j) != 0)
        return -1;
    rc = evbuffer_add(out, j.buf, j.len);
    free(j.buf);
    *content_type = "application/json";
    return rc;
}
