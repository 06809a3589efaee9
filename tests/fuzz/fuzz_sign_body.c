/*
 * fuzz_sign_body.c - gw_sign_body_parse(), the body of POST /v1/signatures
 * (gw_sign_body.h).  Whatever the input:
 *   - no crash or leak, nothing read past len (the buffer is exactly the
 *     input, not NUL-terminated);
 *   - a refusal has a non-empty error code and a terminated message;
 *   - an accepted request is what the API promises: a normalised number
 *     ("84" + 9 digits), a digest of its algorithm's length, a non-empty
 *     display text, a client_ref of at most 127 octets, format raw or cms;
 *   - it is a fixed point: written back as canonical JSON and parsed again
 *     it is accepted with the same fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "car.h"
#include "gw_sign_body.h"
#include "q.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

/* The text limit as the SMPP transport states it (what the API asks when a number routes to an SMSC). */
static enum gw_err smpp_text(const struct gw_engine *e, const char *msisdn, const char *text, char *why, size_t whylen)
{
    enum car_err rc = car_smpp_ops.check_text(text, why, whylen);

    (void)e;
    (void)msisdn;
    if (rc == CAR_OK)
        return GW_OK;
    return rc == CAR_ERR_TOO_LONG ? GW_ERR_TEXT_TOO_LONG : GW_ERR_TEXT_INVALID;
}

static int parse(const char *body, size_t len, struct gw_sign_body *b)
{
    char why[512];
    int rc;

    memset(why, 'x', sizeof why);
    rc = gw_sign_body_parse(body, len, smpp_text, NULL, b, why, sizeof why);
    REQUIRE(rc == 0 || rc == -1);
    if (rc != 0) {
        REQUIRE(b->error != NULL && b->error[0] != '\0');
        REQUIRE(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0');
        return rc;
    }
    REQUIRE(strlen(b->msisdn) == 11 && strncmp(b->msisdn, "84", 2) == 0);
    REQUIRE(strspn(b->msisdn, "0123456789") == 11);
    REQUIRE(b->digest_len > 0 && b->digest_len == dg_len(b->digest_alg) && b->digest_len <= sizeof b->digest);
    REQUIRE(b->display_text != NULL && b->display_text[0] != '\0');
    REQUIRE(b->client_ref != NULL && strlen(b->client_ref) <= 127);
    REQUIRE(b->format == Q_FORMAT_RAW || b->format == Q_FORMAT_CMS);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_sign_body b, again;
    char *copy = malloc(size ? size : 1), *text;
    char b64[4 * (64 / 3 + 1) + 1];
    json_t *canon;

    REQUIRE(copy != NULL);
    memcpy(copy, data, size);
    if (parse(copy, size, &b) == 0) {
        EVP_EncodeBlock((unsigned char *)b64, b.digest, (int)b.digest_len);
        canon = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msisdn", b.msisdn, "digest", b64, "digest_alg",
                          dg_name(b.digest_alg), "display_text", b.display_text, "client_ref", b.client_ref, "format",
                          b.format == Q_FORMAT_CMS ? "cms" : "raw");
        REQUIRE(canon != NULL);
        text = json_dumps(canon, JSON_COMPACT);
        REQUIRE(text != NULL);
        REQUIRE(parse(text, strlen(text), &again) == 0);
        REQUIRE(strcmp(again.msisdn, b.msisdn) == 0 && again.digest_alg == b.digest_alg);
        REQUIRE(again.digest_len == b.digest_len && memcmp(again.digest, b.digest, b.digest_len) == 0);
        REQUIRE(strcmp(again.display_text, b.display_text) == 0 && strcmp(again.client_ref, b.client_ref) == 0);
        REQUIRE(again.format == b.format);
        gw_sign_body_clear(&again);
        free(text);
        json_decref(canon);
    }
    gw_sign_body_clear(&b);
    free(copy);
    return 0;
}
