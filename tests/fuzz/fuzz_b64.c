/*
 * fuzz_b64.c - util_b64_decode(), the strict base64 decoder (config/util.c),
 * with OpenSSL's EVP base64 as the oracle.  Whatever the input:
 *   - no crash, nothing written past cap (out is exactly cap octets, so ASan
 *     sees an overrun), a result of -1 or 0..cap;
 *   - an accepted input is canonical: EVP_EncodeBlock of the decoded octets
 *     gives back the input exactly, and EVP_DecodeUpdate/Final agrees;
 *   - the input read as raw octets and encoded by EVP_EncodeBlock is always
 *     accepted and decodes to those octets (valid input is never refused).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

/* OpenSSL's full decoder (padding-aware, unlike EVP_DecodeBlock): length or -1. */
static long evp_decode(const char *in, size_t len, uint8_t *out)
{
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n = 0, m = 0;
    long r = -1;

    REQUIRE(ctx != NULL);
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in, (int)len) >= 0 &&
        EVP_DecodeFinal(ctx, out + n, &m) == 1)
        r = (long)n + m;
    EVP_ENCODE_CTX_free(ctx);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cap = size / 4 * 3 + 3;
    uint8_t *out = malloc(cap), *small = malloc(cap), *oracle = malloc(cap + 80);
    char *enc = malloc(4 * ((size + 2) / 3) + 1);
    long n;

    REQUIRE(out && small && oracle && enc);

    /* 1. The input as base64 text. */
    n = util_b64_decode((const char *)data, size, out, cap);
    REQUIRE(n >= -1 && n <= (long)cap);
    if (n >= 0) {
        char *back = malloc(4 * (((size_t)n + 2) / 3) + 1);
        REQUIRE(back != NULL);
        REQUIRE((size_t)EVP_EncodeBlock((unsigned char *)back, out, (int)n) == size);
        REQUIRE(memcmp(back, data, size) == 0);
        free(back);
        REQUIRE(evp_decode((const char *)data, size, oracle) == n);
        REQUIRE(memcmp(oracle, out, (size_t)n) == 0);
        /* One octet too little room is refused, and nothing is written past it. */
        if (n > 0)
            REQUIRE(util_b64_decode((const char *)data, size, small, (size_t)n - 1) == -1);
    }

    /* 2. The input as octets: their canonical encoding is accepted. */
    {
        int elen = EVP_EncodeBlock((unsigned char *)enc, data, (int)size);
        uint8_t *dec = malloc(size ? size : 1);
        REQUIRE(elen >= 0 && dec != NULL);
        REQUIRE(util_b64_decode(enc, (size_t)elen, dec, size) == (long)size);
        REQUIRE(size == 0 || memcmp(dec, data, size) == 0);
        free(dec);
    }
    free(out);
    free(small);
    free(oracle);
    free(enc);
    return 0;
}
