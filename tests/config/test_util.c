/*
 * test_util.c - config/util.h: hex digits both ways, FNV-1a's published
 * vectors, and strict base64 (against OpenSSL's EVP encoder for every
 * length 0..100).
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

static long dec(const char *s, uint8_t *out, size_t cap)
{
    return util_b64_decode(s, strlen(s), out, cap);
}

static void test_b64_fixed(void)
{
    uint8_t out[16];

    /* 0, 1 and 2 padding characters. */
    CHECK_EQ_INT(dec("QUJD", out, sizeof out), 3);
    CHECK_MEM(out, "ABC", 3);
    CHECK_EQ_INT(dec("QUI=", out, sizeof out), 2);
    CHECK_MEM(out, "AB", 2);
    CHECK_EQ_INT(dec("QQ==", out, sizeof out), 1);
    CHECK_MEM(out, "A", 1);
    CHECK_EQ_INT(dec("QUJDRA==", out, sizeof out), 4);
    CHECK_MEM(out, "ABCD", 4);
    CHECK_EQ_INT(dec("+/+/", out, sizeof out), 3);
    CHECK_MEM(out, "\xfb\xff\xbf", 3);
    /* The empty string is the base64 of nothing (RFC 4648 section 10). */
    CHECK_EQ_INT(util_b64_decode("", 0, out, sizeof out), 0);
    CHECK_EQ_INT(util_b64_decode("", 0, out, 0), 0);

    /* Characters outside the alphabet, including base64url's. */
    CHECK_EQ_INT(dec("QU!D", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJ-", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJ_", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJ\x80", out, sizeof out), -1);
    CHECK_EQ_INT(util_b64_decode("QU\0D", 4, out, sizeof out), -1);
    CHECK_EQ_INT(util_b64_decode("QQ=\0", 4, out, sizeof out), -1);
    /* No whitespace anywhere. */
    CHECK_EQ_INT(dec("QUJD\n", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJDRA==\n", out, sizeof out), -1);
    CHECK_EQ_INT(dec(" QUJ", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJ ", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QU\tJ", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJD\r\nQUJD", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJDQU\nJD", out, sizeof out), -1);
    /* '=' only at the end, at most two. */
    CHECK_EQ_INT(dec("Q=JD", out, sizeof out), -1);
    CHECK_EQ_INT(dec("=QJD", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QQ==QUJD", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUI=QUJD", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QQ=A", out, sizeof out), -1);
    CHECK_EQ_INT(dec("Q===", out, sizeof out), -1);
    CHECK_EQ_INT(dec("====", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJD====", out, sizeof out), -1);
    /* Length not a multiple of 4: padding is required. */
    CHECK_EQ_INT(dec("Q", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QQ", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUI", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJDR", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QQ=", out, sizeof out), -1);
    /* Strict: the unused bits before the padding must be zero, so each
     * octet string has exactly one encoding. */
    CHECK_EQ_INT(dec("QR==", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUJ=", out, sizeof out), -1);
    CHECK_EQ_INT(dec("QUK=", out, sizeof out), -1);

    /* Capacity exactly at the limit, and one short. */
    CHECK_EQ_INT(dec("QUJD", out, 3), 3);
    CHECK_EQ_INT(dec("QUJD", out, 2), -1);
    CHECK_EQ_INT(dec("QUI=", out, 2), 2);
    CHECK_EQ_INT(dec("QUI=", out, 1), -1);
    CHECK_EQ_INT(dec("QQ==", out, 1), 1);
    CHECK_EQ_INT(dec("QQ==", out, 0), -1);
    /* Nothing is written past cap. */
    memset(out, 0xA5, sizeof out);
    CHECK_EQ_INT(dec("QUJDRA==", out, 4), 4);
    CHECK_EQ_INT(out[4], 0xA5);
}

/* Random octets of every length 0..100: EVP's encoding decodes back exactly. */
static void test_b64_vs_evp(void)
{
    uint8_t in[100], out[101];
    unsigned char enc[4 * 34 + 1];

    for (size_t n = 0; n <= 100; n++) {
        for (int round = 0; round < 8; round++) {
            char *ours;
            int elen;
            long got;

            CHECK(RAND_bytes(in, (int)sizeof in) == 1);
            elen = EVP_EncodeBlock(enc, in, (int)n);
            CHECK_EQ_INT(elen, 4 * ((n + 2) / 3));
            got = util_b64_decode((const char *)enc, (size_t)elen, out, n);
            if (got != (long)n)
                fprintf(stderr, "length %zu: %s decodes to %ld\n", n, enc, got);
            CHECK_EQ_INT(got, (long)n);
            CHECK(got < 0 || memcmp(out, in, n) == 0);
            if (n > 0)
                CHECK_EQ_INT(util_b64_decode((const char *)enc, (size_t)elen, out, n - 1), -1);
            /* Our encoder writes the same text, and it decodes back. */
            ours = util_b64_encode(in, n);
            CHECK(ours != NULL);
            if (!ours)
                continue;
            CHECK_EQ_STR(ours, (const char *)enc);
            CHECK_EQ_INT(util_b64_decode(ours, strlen(ours), out, sizeof out), (long)n);
            CHECK(memcmp(out, in, n) == 0);
            free(ours);
        }
    }
}

/* util_utf8_next / util_utf8_put: every code point round-trips; what RFC 3629 forbids is refused. */
static void test_utf8(void)
{
    static const char *const bad[] = {
        "\x80",    "\xC0\x80", "\xC3", "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80",
        "\xC3\x28"};
    unsigned fails = 0;

    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        char enc[4];
        size_t n, i = 0;
        uint32_t back = 0;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue;
        n = util_utf8_put(cp, enc);
        if (util_utf8_next((const unsigned char *)enc, n, &i, &back) != 0 || back != cp || i != n)
            fails++;
    }
    CHECK_EQ_INT(fails, 0);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        size_t i = 0;
        uint32_t cp;
        CHECK_EQ_INT(util_utf8_next((const unsigned char *)bad[k], strlen(bad[k]), &i, &cp), -1);
        CHECK_EQ_INT(i, 0);
    }
}

int main(void)
{
    static const uint8_t d[] = {0x00, 0x0f, 0xa5, 0xff};
    char out[2 * sizeof d + 1], out21[21];

    memset(out, 'z', sizeof out);
    CHECK(util_hex(d, sizeof d, out) == out);
    CHECK_EQ_STR(out, "000fa5ff");
    CHECK_EQ_STR(util_hex(d, 0, out), "");

    CHECK_EQ_INT(util_hexval('0'), 0);
    CHECK_EQ_INT(util_hexval('9'), 9);
    CHECK_EQ_INT(util_hexval('a'), 10);
    CHECK_EQ_INT(util_hexval('f'), 15);
    CHECK_EQ_INT(util_hexval('A'), -1); /* ids are lower case */
    CHECK_EQ_INT(util_hexval('g'), -1);
    CHECK_EQ_INT(util_hexval('/'), -1);
    CHECK_EQ_INT(util_hexval(':'), -1);
    CHECK_EQ_INT(util_hexval('\x10'), -1);
    CHECK_EQ_INT(util_hexval_any('A'), 10);
    CHECK_EQ_INT(util_hexval_any('F'), 15);
    CHECK_EQ_INT(util_hexval_any('c'), 12);
    CHECK_EQ_INT(util_hexval_any('G'), -1);
    CHECK_EQ_INT(util_hexval_any('@'), -1);

    /* FNV-1a 32 test vectors (Fowler/Noll/Vo): the shard of every stored subscriber depends on them. */
    CHECK_EQ_INT(util_fnv1a(""), 0x811c9dc5u);
    CHECK_EQ_INT(util_fnv1a(NULL), 0x811c9dc5u);
    CHECK_EQ_INT(util_fnv1a("a"), 0xe40c292cu);
    CHECK_EQ_INT(util_fnv1a("foobar"), 0xbf9cf968u);
    test_utf8();
    test_b64_fixed();
    test_b64_vs_evp();

    /* xs:dateTime / RFC 3339 in UTC, as the MSSP simulator and the gateway write them. */
    CHECK_EQ_STR(util_iso8601(0, out21), "1970-01-01T00:00:00Z");
    CHECK_EQ_STR(util_iso8601(1796327067, out21), "2026-12-03T19:44:27Z");
    return check_report("test_util");
}
