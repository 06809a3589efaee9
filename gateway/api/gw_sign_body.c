/* gw_sign_body.c - see gw_sign_body.h. */
#include "gw_sign_body.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gw_sign_check.h"
#include "q.h"
#include "util.h"

#define HEX_HINT " (this looks like hex: send the octets in base64, e.g. openssl dgst -binary | base64)"

static int refuse(struct gw_sign_body *b, const char *error, const char *field, char *why, size_t whylen,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int refuse(struct gw_sign_body *b, const char *error, const char *field, char *why, size_t whylen,
                  const char *fmt, ...)
{
    va_list ap;

    b->error = error;
    b->field = field;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return -1;
}

int gw_sign_body_parse(const char *body, size_t len, gw_text_check_fn *text_check, const struct gw_engine *e,
                       struct gw_sign_body *out, char *why, size_t whylen)
{
    static const char *const allowed[] = {"msisdn",     "digest", "digest_alg",   "display_text",
                                          "client_ref", "format", "callback_url", NULL};
    const char *msisdn_in, *digest_b64, *alg_s, *text, *cref = "", *key, *fmt_s = "raw";
    char msg[160];
    const char *code;
    json_error_t jerr;
    json_t *v;
    long dlen;
    int hex;

    memset(out, 0, sizeof *out);
    out->doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!out->doc || !json_is_object(out->doc))
        return refuse(out, "MALFORMED_JSON", NULL, why, whylen, "the body is not a JSON object%s%s",
                      out->doc ? "" : ": ", out->doc ? "" : jerr.text);
    json_object_foreach(out->doc, key, v)
    {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(key, allowed[i]) == 0;
        if (!ok)
            return refuse(out, "UNKNOWN_FIELD", key, why, whylen, "unknown field \"%.64s\"", key);
    }
    msisdn_in = json_string_value(json_object_get(out->doc, "msisdn"));
    digest_b64 = json_string_value(json_object_get(out->doc, "digest"));
    alg_s = json_object_get(out->doc, "digest_alg") ? json_string_value(json_object_get(out->doc, "digest_alg"))
                                                    : "SHA-256";
    text = json_string_value(json_object_get(out->doc, "display_text"));
    if (json_object_get(out->doc, "client_ref"))
        cref = json_string_value(json_object_get(out->doc, "client_ref"));
    if (json_object_get(out->doc, "format"))
        fmt_s = json_string_value(json_object_get(out->doc, "format"));

    if (!msisdn_in)
        return refuse(out, "INVALID_FIELD", "msisdn", why, whylen,
                      "msisdn is required (a string such as \"0912345678\")");
    if ((code = gw_sign_check_msisdn(msisdn_in, out->msisdn, msg, sizeof(msg))) != NULL)
        return refuse(out, code, "msisdn", why, whylen, "not a Vietnamese mobile number: %s", msg);
    out->digest_alg = alg_s ? dg_from_name(alg_s) : DG_NONE;
    if (out->digest_alg == DG_NONE)
        return refuse(out, "INVALID_FIELD", "digest_alg", why, whylen,
                      "digest_alg must be SHA-256, SHA-384 or SHA-512");
    /* A hex digest is a common first mistake (it even decodes as base64, to the wrong length): say so. */
    hex = digest_b64 && strlen(digest_b64) == 2 * dg_len(out->digest_alg) &&
          strspn(digest_b64, "0123456789abcdefABCDEF") == strlen(digest_b64);
    dlen = digest_b64 ? util_b64_decode(digest_b64, strlen(digest_b64), out->digest, sizeof(out->digest)) : -1;
    if (dlen < 0)
        return refuse(out, hex ? "DIGEST_LENGTH" : "INVALID_FIELD", "digest", why, whylen,
                      "digest is required, in base64%s", hex ? HEX_HINT : "");
    if (gw_sign_check_digest(out->digest_alg, (size_t)dlen) != NULL)
        return refuse(out, "DIGEST_LENGTH", "digest", why, whylen, "digest is %ld octets; %s needs %zu, in base64%s",
                      dlen, alg_s, dg_len(out->digest_alg), hex ? HEX_HINT : "");
    out->digest_len = (size_t)dlen;
    if (!text || !*text)
        return refuse(out, "INVALID_FIELD", "display_text", why, whylen,
                      "display_text is required: what the official reads");
    /* Asked of the transport the number routes to (an SMS SIM shows 180 octets; an MSSP its own limit). */
    if ((code = gw_sign_check_text(text_check, e, out->msisdn, text, msg, sizeof(msg))) != NULL)
        return refuse(out, code, "display_text", why, whylen, "display_text cannot be shown on the SIM: %s", msg);
    if (gw_sign_check_client_ref(cref) != NULL)
        return refuse(out, "INVALID_FIELD", "client_ref", why, whylen,
                      "client_ref must be a string of at most 127 octets");
    if (!fmt_s || (strcmp(fmt_s, "raw") != 0 && strcmp(fmt_s, "cms") != 0))
        return refuse(out, "INVALID_FIELD", "format", why, whylen, "format must be \"raw\" or \"cms\"");
    /* Its form and the relying party's allow-list are checked by the caller (cfg_callback_check), who knows the rp. */
    v = json_object_get(out->doc, "callback_url");
    if (v && (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 512))
        return refuse(out, "INVALID_FIELD", "callback_url", why, whylen,
                      "callback_url must be an https:// URL of at most 512 octets");
    out->callback_url = v ? json_string_value(v) : NULL;
    out->display_text = text;
    out->client_ref = cref;
    out->format = strcmp(fmt_s, "cms") == 0 ? Q_FORMAT_CMS : Q_FORMAT_RAW;
    return 0;
}

void gw_sign_body_clear(struct gw_sign_body *b)
{
    json_decref(b->doc);
    b->doc = NULL;
}
