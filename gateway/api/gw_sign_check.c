/* gw_sign_check.c - see gw_sign_check.h. */
#include "gw_sign_check.h"

#include <string.h>

const char *gw_sign_check_msisdn(const char *in, char out[CAR_MSISDN_LEN], char *why, size_t whylen)
{
    return car_msisdn_normalise(in, out, why, whylen) == CAR_OK ? NULL : "INVALID_MSISDN";
}

const char *gw_sign_check_digest(enum dg_alg alg, size_t len)
{
    if (alg == DG_NONE)
        return "INVALID_FIELD";
    return len == dg_len(alg) ? NULL : "DIGEST_LENGTH";
}

const char *gw_sign_check_text(gw_text_check_fn *fn, const struct gw_engine *e, const char *msisdn, const char *text,
                               char *why, size_t whylen)
{
    enum gw_err err = fn ? fn(e, msisdn, text, why, whylen) : GW_OK;

    if (err == GW_OK)
        return NULL;
    return err == GW_ERR_TEXT_TOO_LONG ? "TEXT_TOO_LONG" : "INVALID_TEXT";
}

const char *gw_sign_check_client_ref(const char *cref)
{
    return cref && strlen(cref) <= GW_SIGN_CLIENT_REF_MAX ? NULL : "INVALID_FIELD";
}

struct gw_sign_refusal gw_sign_start_refusal(enum gw_err err)
{
    switch (err) {
    case GW_ERR_BUSY:
        return (struct gw_sign_refusal){"BUSY", NULL,
                                        "a signature request for this number is already pending; the SIM handles "
                                        "one at a time (ETSI 406)"};
    case GW_ERR_UNKNOWN_SUB:
        return (struct gw_sign_refusal){"UNKNOWN_SUBSCRIBER", "msisdn", "this number has no SIM PKI registered"};
    case GW_ERR_INACTIVE:
        return (struct gw_sign_refusal){"SUBSCRIBER_INACTIVE", "msisdn",
                                        "this number's SIM PKI is suspended or revoked"};
    case GW_ERR_NO_ROUTE:
        return (struct gw_sign_refusal){"UNSUPPORTED_NETWORK", "msisdn",
                                        "this number is not on Viettel, Vinaphone or Mobifone, or that carrier is not "
                                        "configured"};
    case GW_ERR_CERT_REFUSED:
        return (struct gw_sign_refusal){"CERTIFICATE_REFUSED", "msisdn",
                                        "this number's registered certificate cannot make a CMS signature now "
                                        "(missing, expired, not yet valid or untrusted)"};
    case GW_ERR_IDEM_MISMATCH:
        return (struct gw_sign_refusal){"IDEMPOTENCY_KEY_REUSED", NULL,
                                        "this Idempotency-Key was used for a different request"};
    case GW_ERR_UNAVAILABLE:
        return (struct gw_sign_refusal){"UNAVAILABLE", NULL, "transaction storage unavailable, try again"};
    case GW_ERR_TEXT_TOO_LONG:
        return (struct gw_sign_refusal){"TEXT_TOO_LONG", "display_text", "the text does not fit the device"};
    case GW_ERR_TEXT_INVALID:
        return (struct gw_sign_refusal){"INVALID_TEXT", "display_text", "the text cannot be shown"};
    case GW_ERR_BACKLOG:
        return (struct gw_sign_refusal){"ARCHIVE_BACKLOG", NULL,
                                        "the evidence archive is behind; no new signature until it catches up, "
                                        "try again"};
    case GW_OK:
    case GW_ERR_INTERNAL: break;
    }
    return (struct gw_sign_refusal){"INTERNAL_ERROR", NULL, "internal error"};
}
