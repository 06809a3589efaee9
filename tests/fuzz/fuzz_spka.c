/*
 * fuzz_spka.c - SPKA/1 decoders on hostile input.  Whatever decodes and
 * re-encodes must decode again to the same fields.
 */
#include <stdlib.h>
#include <string.h>

#include "car_spka.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static int same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static void command(const uint8_t *data, size_t size)
{
    struct spka_command c, d;
    uint8_t out[70000];
    size_t n = 0;

    if (spka_decode_command(data, size, &c) != CAR_OK)
        return;
    REQUIRE(c.digest == NULL || (c.digest >= data && c.digest + c.digest_len <= data + size));
    if (spka_encode_command(&c, out, sizeof out, &n) != CAR_OK)
        return;
    REQUIRE(spka_decode_command(out, n, &d) == CAR_OK);
    REQUIRE(d.cmd == c.cmd && d.key_ref == c.key_ref && d.timeout_s == c.timeout_s);
    REQUIRE(same(d.digest, d.digest_len, c.digest, c.digest_len));
    REQUIRE(same(d.text, d.text_len, c.text, c.text_len));
    REQUIRE(same(d.cert, d.cert_len, c.cert, c.cert_len));
}

static void response(const uint8_t *data, size_t size)
{
    struct spka_response r, d;
    uint8_t out[70000];
    size_t n = 0;

    if (spka_decode_response(data, size, &r) != CAR_OK)
        return;
    REQUIRE(r.signature == NULL || r.signature + r.sig_len <= data + size);
    REQUIRE(spka_encode_response(&r, out, sizeof out, &n) == CAR_OK);
    REQUIRE(spka_decode_response(out, n, &d) == CAR_OK);
    REQUIRE(d.result == r.result && same(d.signature, d.sig_len, r.signature, r.sig_len));
    REQUIRE(same(d.spki, d.spki_len, r.spki, r.spki_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    command(data, size);
    response(data, size);
    return 0;
}
