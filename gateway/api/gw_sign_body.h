/*
 * gw_sign_body.h - the body of POST /v1/signatures, parsed and checked
 * without I/O: what gw_api's handler runs before it starts a transaction,
 * and what tests/fuzz/fuzz_sign_body feeds hostile input.
 *
 * The body is a JSON object with only these members:
 *   msisdn        string, a Vietnamese mobile number (car_msisdn_normalise)
 *   digest        string, base64 (util_b64_decode, strict) of exactly
 *                 dg_len(digest_alg) octets
 *   digest_alg    "SHA-256" (default), "SHA-384" or "SHA-512"
 *   display_text  non-empty string the subscriber's device can show: asked of
 *                 the transport the number routes to (text_check, e.g.
 *                 gw_txn_check_text with engine e; NULL takes any text)
 *   client_ref    string of at most 127 octets (default "")
 *   format        "raw" (default) or "cms"
 *   callback_url  string of 1..512 octets (default: none); only its type and
 *                 length are checked here: the relying party's allow-list is
 *                 the caller's (cfg_callback_check)
 * Every refusal is an HTTP 400 with a stable error code, the field it is
 * about (or none) and a message, all set by gw_sign_body_parse.
 */
#ifndef SIMPKI_GW_SIGN_BODY_H
#define SIMPKI_GW_SIGN_BODY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "car_route.h"
#include "digest.h"
#include "gw_sign_check.h"

struct gw_sign_body {
    json_t *doc; /* the parsed body: owns the strings below; gw_sign_body_clear frees it */
    /* On success: */
    char msisdn[CAR_MSISDN_LEN]; /* normalised, "84" + 9 digits */
    enum dg_alg digest_alg;
    uint8_t digest[64];
    size_t digest_len;        /* == dg_len(digest_alg) */
    const char *display_text; /* UTF-8, non-empty, fits the SIM */
    const char *client_ref;   /* "" when absent */
    uint8_t format;           /* Q_FORMAT_RAW or Q_FORMAT_CMS (q.h) */
    const char *callback_url; /* NULL when absent */
    /* On refusal: */
    const char *error; /* stable code, e.g. "MALFORMED_JSON", "INVALID_FIELD" (static) */
    const char *field; /* the member at fault, NULL for the whole body; may point into doc */
};

/*
 * Parse body (len octets, need not be NUL-terminated) into *out, running
 * the shared request checks (gw_sign_check.h) in the API's order.  0: a
 * valid request, every success field set.  -1: refused, out->error and
 * out->field set and why (whylen > 0) the message for the client.  Either
 * way call gw_sign_body_clear(out) when done with it.
 */
int gw_sign_body_parse(const char *body, size_t len, gw_text_check_fn *text_check, const struct gw_engine *e,
                       struct gw_sign_body *out, char *why, size_t whylen) __attribute__((warn_unused_result));

/* Free what gw_sign_body_parse kept; the strings in *b are gone afterwards.  Twice is harmless. */
void gw_sign_body_clear(struct gw_sign_body *b);

#endif /* SIMPKI_GW_SIGN_BODY_H */
