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
