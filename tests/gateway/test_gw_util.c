/*
 * test_gw_util.c - gateway/common/gw_util.c: the verification code against its
 * documented formula, and txn_ref from a transaction id (base64 moved to
 * config/util.c, tests/config/test_util.c).
 */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "check.h"
#include "gw_util.h"

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

/* gw_json prints what jansson's compact dump prints, a nested object too. */
static void test_json_nested(void)
{
    struct gw_json j;
    json_t *o = json_pack("{s:s, s:{s:s, s:s}, s:{}, s:I}", "id", "a\"b", "receipt", "at", "2026-12-05T19:44:27Z",
                          "message", "\xc4\x90\xc3\xa3 nh\xe1\xba\xadn\n", "empty", "n", (json_int_t)7);
    char *want = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    int outer;

    gw_json_begin(&j);
    gw_json_str(&j, "id", "a\"b");
    outer = gw_json_obj_begin(&j, "receipt");
    gw_json_str(&j, "at", "2026-12-05T19:44:27Z");
    gw_json_str(&j, "message", "\xc4\x90\xc3\xa3 nh\xe1\xba\xadn\n");
    gw_json_obj_end(&j, outer);
    gw_json_obj_end(&j, gw_json_obj_begin(&j, "empty"));
    gw_json_int(&j, "n", 7);
    CHECK_EQ_INT(gw_json_end(&j), 0);
    CHECK(want != NULL);
    CHECK(j.buf && want && j.len == strlen(want) + 1 && memcmp(j.buf, want, strlen(want)) == 0);
    if (j.buf && want && strncmp(j.buf, want, strlen(want)) != 0)
        printf("  got  %s  want %s\n", j.buf, want);
    free(j.buf);
    free(want);
    json_decref(o);
}

int main(void)
{
    test_verification_code();
    test_txn_ref();
    test_json_nested();
    CHECK(gw_now_ms() > 1600000000000LL);
    return check_report("test_gw_util");
}
