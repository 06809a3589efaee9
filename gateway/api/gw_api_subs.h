/*
 * gw_api_subs.h - the JSON API's view of the subscriber registry:
 *
 *   GET /v1/subscribers/{msisdn}/certificate
 *
 * answers the certificate registered for a number (base64 DER), what it
 * says (subject, issuer, serial, validity, key type) and whether it passes
 * the checks a signature would put it through now (validity, key usage,
 * chain to the configured trust: sig_check_cert).  Revocation is not asked
 * here; it is checked at each signature, with the evidence kept with the
 * transaction.  The number takes any form the signature API takes
 * (gw_sign_check_msisdn; percent-encoded, e.g. %2B84...).
 *
 * The registry is shared by every relying party: a number is not scoped by
 * one, as a transaction is.  So reading it needs the "lookup" role
 * (CFG_ROLE_LOOKUP), which the router checks before calling in here.
 *
 * Answers (codes from gw_result.h):
 *   200  the certificate; "certificate_status" "OK" or the signer's result
 *        name (CERT_EXPIRED, CERT_NOT_YET_VALID, UNTRUSTED_CHAIN,
 *        WRONG_KEY_USAGE; INTERNAL_ERROR for a certificate that does not
 *        parse) with "message" saying why
 *   400  INVALID_MSISDN
 *   404  UNKNOWN_SUBSCRIBER (no registry entry), NO_CERTIFICATE (an entry
 *        without one, e.g. a SIM being enrolled)
 *   405  METHOD_NOT_ALLOWED (GET only)
 *   503  UNAVAILABLE (Redis away: Retry-After), 500 INTERNAL_ERROR (an
 *        entry that does not parse)
 */
#ifndef SIMPKI_GW_API_SUBS_H
#define SIMPKI_GW_API_SUBS_H

struct evhttp_request;
struct q;
struct sig_trust;

/* What the handler reads: both borrowed, and must outlive every request in flight. */
struct gw_api_subs_deps {
    struct q *q;
    const struct sig_trust *trust;
};

/*
 * Handle a request whose path starts with "/v1/subscribers/", already
 * authenticated and allowed the lookup role.  Returns 1 when handled
 * (answered now or once Redis answers), 0 when the path is none of this
 * module's: the caller answers 404.
 */
int gw_api_subs_handle(const struct gw_api_subs_deps *d, struct evhttp_request *req, const char *path);

#endif /* SIMPKI_GW_API_SUBS_H */
