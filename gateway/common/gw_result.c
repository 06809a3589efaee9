/* gw_result.c - see gw_result.h. */
#include "gw_result.h"

#include <string.h>

#include "car_etsi_xml.h"

#define R GW_RES_REFUSAL
#define O GW_RES_OUTCOME
#define P GW_RES_PROGRESS

/*
 * Progress first, then outcomes, then refusals, each roughly from the most
 * to the least common.  ETSI codes follow the vGCA profile
 * (specs/vgca/README.md); where the profile is silent, the closest code.
 */
static const struct gw_result results[] = {
    {"REQUEST_OK", P, 202, 100, "accepted: the official's phone is being asked (asynchronous modes)"},
    {"PENDING", P, 200, 504, "still waiting for the official (JSON: state \"pending\")"},

    {"OK", O, 200, 502, "signed, and the signature verified against the registered certificate"},
    {"USER_CANCEL", O, 200, 401, "the official refused on the phone"},
    {"EXPIRED", O, 200, 208, "no answer before the deadline, or the SIM's own timeout"},
    {"PIN_BLOCKED", O, 200, 402, "the signing PIN is blocked"},
    {"CARD_BLOCKED", O, 200, 403, "the SIM's applet is blocked"},
    {"NO_KEY", O, 200, 404, "the SIM holds no signing key"},
    {"NO_CERTIFICATE", O | R, 404, 422,
     "no certificate is registered (or known to the signature service) for the number"},
    {"DELIVERY_ERROR", O, 200, 209, "the carrier could not deliver the request to the phone"},
    {"OTA_ERROR", O, 200, 209, "the SIM refused the secured message"},
    {"INVALID_SIGNATURE", O, 200, 503, "the signature does not verify, or is over another document"},
    {"CERT_EXPIRED", O, 200, 503, "the registered certificate has expired"},
    {"CERT_NOT_YET_VALID", O, 200, 503, "the registered certificate is not valid yet"},
    {"UNTRUSTED_CHAIN", O, 200, 503, "the certificate does not chain to a configured trust anchor"},
    {"WRONG_KEY_USAGE", O, 200, 503, "the certificate may not make signatures"},
    {"CERT_MISMATCH", O, 200, 503, "signed with another certificate than the one registered for the number"},
    {"REVOKED_CERTIFICATE", O, 200, 501, "the certificate is revoked (OCSP or CRL)"},
    {"REVOCATION_UNKNOWN", O, 200, 425, "the certificate's status could not be learnt (hard-fail policy)"},
    {"TIMESTAMP_FAILED", O, 200, 900, "CMS with a timestamp: the TSA did not answer or its token did not verify"},
    {"BAD_COMMAND", O, 200, 101, "the SIM or signature service found the request malformed"},
    {"UNSUPPORTED", O, 200, 109, "the SIM or signature service does not support what was asked"},
    {"BAD_ANSWER", O, 200, 900, "the SIM answered something that does not fit the request"},
    {"KEY_EXISTS", O, 200, 900, "lifecycle: a key already exists where one was to be generated"},
    {"STORAGE_FULL", O, 200, 900, "lifecycle: the SIM has no room left"},
    {"INTERNAL_ERROR", O | R, 500, 900, "an error inside simpki or at the far end; the message says which"},

    {"MALFORMED_JSON", R, 400, 101, "the body is not a JSON object"},
    {"MALFORMED_XML", R, 400, 101, "the body is not a well-formed SOAP envelope, or holds a DTD, entity or PI"},
    {"UNKNOWN_FIELD", R, 400, 101, "a member the API does not know"},
    {"INVALID_FIELD", R, 400, 101, "a value out of its range or form; \"field\" names it"},
    {"MISSING_FIELD", R, 400, 102, "a required element or attribute is missing"},
    {"INVALID_MSISDN", R, 400, 101, "not a Vietnamese mobile number"},
    {"DIGEST_LENGTH", R, 400, 103, "the digest (or DigestInfo) does not have its algorithm's length"},
    {"TEXT_TOO_LONG", R, 400, 103, "the text to display does not fit the subscriber's device"},
    {"INVALID_TEXT", R, 400, 107, "the text to display cannot be shown at all"},
    {"UNSUPPORTED_PROFILE", R, 400, 109, "a messaging mode, signature profile, format or service not offered"},
    {"INCOMPATIBLE_INTERFACE", R, 400, 108, "not SOAP 1.2, wrong namespace, or an operation sent to another port"},
    {"TOO_LARGE", R, 413, 101, "the body is larger than the endpoint accepts"},
    {"UNSUPPORTED_MEDIA_TYPE", R, 415, 108, "a Content-Type the endpoint does not take"},
    {"METHOD_NOT_ALLOWED", R, 405, 108, "an HTTP method the resource does not take"},
    {"UNAUTHORIZED", R, 401, 104, "no credentials, or credentials not accepted"},
    {"FORBIDDEN", R, 403, 104, "the relying party lacks the role this needs"},
    {"NOT_FOUND", R, 404, 101, "no such transaction or resource (another relying party's reads the same)"},
    {"IDEMPOTENCY_KEY_REUSED", R, 422, 101, "an Idempotency-Key used before for another request"},
    {"AP_TRANSID_REUSED", R, 409, 101, "an AP_TransID this relying party used before"},
    {"BUSY", R, 409, 406, "the number has a signature pending; a SIM signs one at a time"},
    {"NOT_FINISHED", R, 409, 101, "a receipt for a transaction still pending: send it once the outcome is known"},
    {"UNKNOWN_SUBSCRIBER", R, 404, 105, "no SIM PKI is registered for the number"},
    {"SUBSCRIBER_INACTIVE", R, 403, 105, "the number's SIM PKI is suspended or revoked"},
    {"UNSUPPORTED_NETWORK", R, 422, 105, "the number's network is not served by a configured carrier"},
    {"CERTIFICATE_REFUSED", R, 422, 425, "CMS: the registered certificate cannot be used now"},
    {"UNAVAILABLE", R, 503, 900, "transaction storage unreachable: try again (Retry-After)"},
    {"OVERLOADED", R, 503, 900, "this instance has as many requests in flight as it takes: try again (Retry-After)"},
    {"ARCHIVE_BACKLOG", R, 503, 900,
     "the evidence archive is behind (archive.max_backlog): no new signature until it catches up; try again "
     "(Retry-After)"},
    {"RATE_LIMITED", R, 429, 900, "the relying party is over its own in-flight or rate limit: try again (Retry-After)"},
    {"SHUTTING_DOWN", R, 503, 900, "this instance is stopping: ask again, maybe at another"},
};

#undef R
#undef O
#undef P

const struct gw_result *gw_result_table(size_t *n)
{
    *n = sizeof(results) / sizeof(results[0]);
    return results;
}

const struct gw_result *gw_result_find(const char *code)
{
    if (!code)
        return NULL;
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
        if (strcmp(results[i].code, code) == 0)
            return &results[i];
    return NULL;
}

int gw_result_etsi(const char *code)
{
    const struct gw_result *r = gw_result_find(code);

    return r ? r->etsi : 900;
}

int gw_result_http(const char *code)
{
    const struct gw_result *r = gw_result_find(code);

    return r ? r->http : 500;
}

const char *gw_result_soap_fault(const struct gw_result *r)
{
    if (!r || (r->kinds & GW_RES_PROGRESS) || strcmp(r->code, "OK") == 0)
        return NULL;
    return r->etsi >= 101 && r->etsi <= 109 ? "Sender" : "Receiver";
}

static const char *kind_name(unsigned k)
{
    if (k == (GW_RES_REFUSAL | GW_RES_OUTCOME))
        return "refusal, outcome";
    return k & GW_RES_PROGRESS ? "progress" : k & GW_RES_OUTCOME ? "outcome" : "refusal";
}

void gw_result_markdown(FILE *f)
{
    fprintf(f, "<!-- Generated by `simpkid --results-markdown` from gateway/common/gw_result.c;"
               " tests/gateway/test_gw_result fails when this file differs. -->\n"
               "# Results\n\n"
               "Every result of a signature request, once: what the JSON API answers (HTTP status;\n"
               "`error` for a refusal, `result` for a finished transaction), the ETSI TS 102 204\n"
               "status the transaction stores and the SOAP endpoint answers, and the SOAP 1.2 fault\n"
               "a failure travels in (`env:Code` Sender or Receiver, subcode `mss:_NNN`, reason the\n"
               "ETSI name). A finished transaction is HTTP 200 whatever its result; a code that is\n"
               "both a refusal and an outcome shows its refusal's HTTP status.\n\n"
               "On the SOAP endpoint OK is status 502 VALID_SIGNATURE when signatureValidation was\n"
               "asked, 500 SIGNATURE otherwise (vGCA profile); simpki verifies either way.\n\n"
               "| code | kind | HTTP | ETSI | ETSI name | SOAP fault | meaning |\n"
               "|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
        const struct gw_result *r = &results[i];
        const struct etsi_status *s = etsi_status_find(r->etsi);
        const char *fault = gw_result_soap_fault(r);

        fprintf(f, "| %s | %s | %d | %d | %s | %s | %s |\n", r->code, kind_name(r->kinds), r->http, r->etsi,
                s ? s->name : "?", fault ? fault : "-", r->meaning);
    }
}
