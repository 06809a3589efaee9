/*
 * test_gw_util.c - gateway/common/gw_util.c: strict base64 (against OpenSSL's EVP
 * encoder for every length 0..100), the verification code against its
 * documented formula, and txn_ref from a transaction id.
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gw_util.h"

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

static void vc(const uint8_t *d, size_t len, const char *want)
{
    char out[5];
    memset(out, 'x', sizeof out);
    gw_verification_code(d, len, out);
    CHECK_EQ_STR(out, want);
}

static void test_verification_code(void)
{
    uint8_t d[64];
    unsigned char abc[32];
    unsigned int mdlen = 0;
    char out[5];

    memset(d, 0, sizeof d);
    vc(d, 32, "0000");
    vc(d, 0, "0000");
    /* ((0xFF >> 2) << 7) | 0x7F = (63 << 7) | 127 = 8191, the largest. */
    d[0] = 0xFF;
    d[31] = 0x7F;
    vc(d, 32, "8191");
    d[31] = 0xFF; /* the high bit of the last octet does not count */
    vc(d, 32, "8191");
    /* (0x04 >> 2) << 7 | 0x05 = 133: leading zeros. */
    d[0] = 0x04;
    d[1] = 0x05;
    vc(d, 2, "0133");
    d[0] = 0x03; /* the two low bits of the first octet do not count */
    d[1] = 0x09;
    vc(d, 2, "0009");
    /* One octet is both first and last: (0x80 >> 2) << 7 | 0 = 4096. */
    d[0] = 0x80;
    vc(d, 1, "4096");
    /* SHA-256("abc") = ba7816bf...f20015ad: (0xba >> 2) << 7 | 0x2d = 46 * 128 + 45. */
    CHECK(EVP_Digest("abc", 3, abc, &mdlen, EVP_sha256(), NULL) == 1);
    CHECK_EQ_INT(abc[0], 0xba);
    CHECK_EQ_INT(abc[31], 0xad);
    vc(abc, 32, "5933");

    /* Always four digits, always the formula. */
    for (int i = 0; i < 2000; i++) {
        size_t len = 1 + (size_t)(i % 64);
        unsigned want, got;
        CHECK(RAND_bytes(d, (int)len) == 1);
        gw_verification_code(d, len, out);
        want = ((unsigned)(d[0] >> 2) << 7) | (d[len - 1] & 0x7Fu);
        CHECK_EQ_INT(strlen(out), 4);
        CHECK_EQ_INT(strspn(out, "0123456789"), 4);
        got = (unsigned)strtoul(out, NULL, 10);
        CHECK_EQ_INT(got, want);
        CHECK(got <= 8191);
    }
}

static void test_txn_ref(void)
{
    static const uint8_t want[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    uint8_t ref[8];

    CHECK_EQ_INT(gw_txn_ref_from_id("0f0123456789abcdef00112233", ref), 0);
    CHECK_MEM(ref, want, 8);
    /* 18 characters are enough: shard + 8 octets. */
    CHECK_EQ_INT(gw_txn_ref_from_id("ff0123456789abcdef", ref), 0);
    CHECK_MEM(ref, want, 8);
    CHECK_EQ_INT(gw_txn_ref_from_id("ff0123456789abcde", ref), -1);
    CHECK_EQ_INT(gw_txn_ref_from_id("", ref), -1);
    CHECK_EQ_INT(gw_txn_ref_from_id("0f0123456789abcdeg00112233", ref), -1);
    CHECK_EQ_INT(gw_txn_ref_from_id("0fx123456789abcdef00112233", ref), -1);
    CHECK_EQ_INT(gw_txn_ref_from_id("0f 123456789abcdef00112233", ref), -1);
    CHECK_EQ_INT(gw_txn_ref_from_id("0f-123456789abcdef00112233", ref), -1);
    /* Positions 0..1 (the shard) are not part of the ref. */
    CHECK_EQ_INT(gw_txn_ref_from_id("zz0123456789abcdef", ref), 0);
    CHECK_MEM(ref, want, 8);
}

int main(void)
{
    test_b64_fixed();
    test_b64_vs_evp();
    test_verification_code();
    test_txn_ref();
    CHECK(gw_now_ms() > 1600000000000LL);
    return check_report("test_gw_util");
}
