/*
 * gw_sign_check.h - the checks every front end runs on a signature request
 * before the engine sees it (the JSON API's gw_sign_body today, the ETSI TS
 * 102 204 endpoint next), so that both refuse the same requests with the
 * same stable codes.  Each check returns NULL when the value is acceptable,
 * else the code ("INVALID_MSISDN", "DIGEST_LENGTH", "TEXT_TOO_LONG", ...),
 * with a reason in why that names no front end's field; the front end calls
 * them in its own order and words its own message around the reason.
 */
#ifndef SIMPKI_GW_SIGN_CHECK_H
#define SIMPKI_GW_SIGN_CHECK_H

#include <stddef.h>

#include "car_route.h"
#include "digest.h"
#include "gw_txn.h"

#define GW_SIGN_CLIENT_REF_MAX 127 /* octets */

/* A Vietnamese mobile number, normalised into out ("84" + 9 digits): "INVALID_MSISDN". */
const char *gw_sign_check_msisdn(const char *in, char out[CAR_MSISDN_LEN], char *why, size_t whylen);

/* A digest algorithm the gateway takes ("INVALID_FIELD") and a digest of its length ("DIGEST_LENGTH"). */
const char *gw_sign_check_digest(enum dg_alg alg, size_t len);

/*
 * Whether the subscriber's device can show text, asked of the transport the
 * number routes to: fn is gw_txn_check_text or, without an engine (a fuzz
 * target, a test), any function with its contract; NULL takes any text.
 * "TEXT_TOO_LONG" or "INVALID_TEXT".
 */
typedef enum gw_err gw_text_check_fn(const struct gw_engine *e, const char *msisdn, const char *text, char *why,
                                     size_t whylen);
const char *gw_sign_check_text(gw_text_check_fn *fn, const struct gw_engine *e, const char *msisdn, const char *text,
                               char *why, size_t whylen);

/* The caller's own reference: at most GW_SIGN_CLIENT_REF_MAX octets ("INVALID_FIELD"). */
const char *gw_sign_check_client_ref(const char *cref);

/*
 * Why the engine refused to start a transaction (gw_txn_start's err, not
 * GW_OK), as every front end says it: the result code (gw_result.h: its
 * HTTP status, ETSI status and SOAP fault), the request field at fault
 * ("msisdn" or NULL) and a message for the client.  Static strings.
 */
struct gw_sign_refusal {
    const char *code;
    const char *field;
    const char *message;
};
struct gw_sign_refusal gw_sign_start_refusal(enum gw_err err);

#endif /* SIMPKI_GW_SIGN_CHECK_H */
