/*
 * test_spka.c - SPKA/1 application data: the vectors byte for byte, then
 * every way a hostile TLV stream can be wrong.
 */
#include "car_spka.h"

#include <string.h>

#include "car_ota.h"
#include "car_text.h"
#include "check.h"
#include "vectors.h"

static const uint8_t txn[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
static const char *vn_text = "K\xc3\xbd v\xc4\x83n b\xe1\xba\xa3n 123/Q\xc4\x90-UBND";

/* The SIGN command of the vectors, built from its fields. */
static void test_sign_vector(json_t *v)
{
    uint8_t want[512], digest[32], text[200], out[512];
    size_t text_len = 0;
    size_t n = 0;
    long w = vec_hex(v, "sign_command", "application_data", want, sizeof want);
    struct spka_command c = {0};
    struct spka_command d;

    CHECK(w > 0);
    CHECK_EQ_INT(check_unhex("c0d7eb3292f5117f04e6b3fc5de6431be34c65988db0e20f7d1635b8aee6e471", digest, sizeof digest),
                 32);
    CHECK_EQ_INT(text_encode(vn_text, strlen(vn_text), text, sizeof text, &text_len, NULL, 0), CAR_OK);
    c.cmd = SPKA_SIGN;
    memcpy(c.txn_ref, txn, 8);
    c.key_ref = 1;
    c.digest_alg = SPKA_SHA256;
    c.digest = digest;
    c.digest_len = 32;
    c.text = text;
    c.text_len = text_len;
    c.vc = (const uint8_t *)"4821";
    c.vc_len = 4;
    c.timeout_s = 120;
    c.has_timeout = 1;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_OK);
    CHECK_EQ_INT(n, w);
    CHECK_MEM(out, want, (size_t)w);

    /* Every shorter buffer is refused, never overrun. */
    for (size_t cap = 0; cap < n; cap++)
        CHECK_EQ_INT(spka_encode_command(&c, out, cap, &n), CAR_ERR_TOO_LONG);

    CHECK_EQ_INT(spka_decode_command(want, (size_t)w, &d), CAR_OK);
    CHECK_EQ_INT(d.cmd, SPKA_SIGN);
    CHECK_MEM(d.txn_ref, txn, 8);
    CHECK_EQ_INT(d.key_ref, 1);
    CHECK_EQ_INT(d.digest_alg, SPKA_SHA256);
    CHECK_EQ_INT(d.digest_len, 32);
    CHECK_MEM(d.digest, digest, 32);
    CHECK_EQ_INT(d.text_len, text_len);
    CHECK_EQ_INT(d.vc_len, 4);
    CHECK_MEM(d.vc, "4821", 4);
    CHECK_EQ_INT(d.has_timeout, 1);
    CHECK_EQ_INT(d.timeout_s, 120);

    /* Truncations of a valid command never decode as valid. */
    for (size_t len = 0; len < (size_t)w; len++) {
        enum car_err rc = spka_decode_command(want, len, &d);
        /* Cutting between TLVs leaves a valid, shorter command only at TLV boundaries. */
        CHECK(rc != CAR_OK || len == 10 || len == 13 || len == 16 || len == 50 || len == 97 || len == 103);
    }
}

static void test_por_vectors(json_t *v)
{
    uint8_t in[512], out[512];
    long w = vec_hex(v, "sign_por_ok", "application_data", in, sizeof in);
    struct spka_response r;
    size_t n = 0;

    CHECK_EQ_INT(spka_decode_response(in, (size_t)w, &r), CAR_OK);
    CHECK_EQ_INT(r.cmd, SPKA_SIGN);
    CHECK_EQ_INT(r.result, SPKA_OK);
    CHECK_MEM(r.txn_ref, txn, 8);
    CHECK_EQ_INT(r.sig_len, 256);
    CHECK_EQ_INT(r.pin_tries, -1);
    CHECK_EQ_INT(spka_encode_response(&r, out, sizeof out, &n), CAR_OK);
    CHECK_EQ_INT(n, w);
    CHECK_MEM(out, in, (size_t)w);

    w = vec_hex(v, "sign_por_user_cancel", "application_data", in, sizeof in);
    CHECK_EQ_INT(spka_decode_response(in, (size_t)w, &r), CAR_OK);
    CHECK_EQ_INT(r.result, SPKA_USER_CANCEL);
    CHECK(r.signature == NULL);
    CHECK_EQ_STR(spka_result_name(r.result), "USER_CANCEL");
    CHECK_EQ_INT(spka_encode_response(&r, out, sizeof out, &n), CAR_OK);
    CHECK_EQ_INT(n, w);
    CHECK_MEM(out, in, (size_t)w);
    for (size_t len = 0; len < 11; len++)
        CHECK_EQ_INT(spka_decode_response(in, len, &r), CAR_ERR_MALFORMED);
}

static void test_info_roundtrip(void)
{
    struct spka_response r = {0};
    struct spka_response d;
    uint8_t out[64];
    size_t n = 0;

    r.cmd = SPKA_INFO;
    r.version = (const uint8_t *)"1.0.3";
    r.version_len = 5;
    r.pin_tries = 3;
    r.key_refs = (const uint8_t *)"\x01\x02";
    r.key_refs_len = 2;
    CHECK_EQ_INT(spka_encode_response(&r, out, sizeof out, &n), CAR_OK);
    CHECK_EQ_INT(spka_decode_response(out, n, &d), CAR_OK);
    CHECK_EQ_INT(d.pin_tries, 3);
    CHECK_EQ_INT(d.version_len, 5);
    CHECK_EQ_INT(d.key_refs_len, 2);
}

static enum car_err dec_hex(const char *hex)
{
    uint8_t buf[512];
    struct spka_command c;
    long n = check_unhex(hex, buf, sizeof buf);

    CHECK(n >= 0);
    return n < 0 ? CAR_ERR_INVALID : spka_decode_command(buf, (size_t)n, &c);
}

static void test_tlv_errors(void)
{
    static const char *hdr = "01010123456789abcdef";
    char hex[1400];
    uint8_t big[300];
    struct spka_command c;
    struct spka_response r;

    snprintf(hex, sizeof hex, "%s800101", hdr);
    CHECK_EQ_INT(dec_hex(hex), CAR_OK);
    snprintf(hex, sizeof hex, "%s800201", hdr); /* overruns by one */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s8081", hdr); /* 81 form cut */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s828201", hdr); /* 82 form cut */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s848004343832310000", hdr); /* indefinite */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex,
             "%s8483000004"
             "34383231",
             hdr); /* 83 form */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex,
             "%s84820004"
             "34383231",
             hdr); /* non-minimal is accepted */
    CHECK_EQ_INT(dec_hex(hex), CAR_OK);
    snprintf(hex, sizeof hex,
             "%s848104"
             "34383231",
             hdr);
    CHECK_EQ_INT(dec_hex(hex), CAR_OK);
    snprintf(hex, sizeof hex,
             "%s8482ffff"
             "34383231",
             hdr); /* 82 length overruns */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex,
             "%s8404"
             "3438323a",
             hdr); /* vc not digits */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s800101800102", hdr); /* duplicate tag */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s80020101", hdr); /* key ref of 2 octets */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s810101820300aabb", hdr); /* SHA-256 with 3 octets */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s8501ff", hdr); /* timeout of 1 octet */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%s830205ff", hdr); /* unknown text coding */
    CHECK_EQ_INT(dec_hex(hex), CAR_ERR_MALFORMED);
    snprintf(hex, sizeof hex, "%sa003aabbcc800101c100", hdr); /* unknown tags skipped */
    CHECK_EQ_INT(dec_hex(hex), CAR_OK);
    CHECK_EQ_INT(dec_hex("02010123456789abcdef"), CAR_ERR_UNSUPPORTED); /* version 2 */
    CHECK_EQ_INT(dec_hex("01090123456789abcdef"), CAR_ERR_UNSUPPORTED); /* command 9 */
    CHECK_EQ_INT(spka_decode_command((const uint8_t *)"\x01\x01", 2, &c), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(spka_decode_command(NULL, 0, &c), CAR_ERR_INVALID);
    CHECK_EQ_INT(spka_decode_response(NULL, 0, &r), CAR_ERR_INVALID);

    /* A long signature uses the 82 form and decodes back. */
    memcpy(big, "\x01\x01\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x90\x82\x01\x00", 15);
    memset(big + 15, 0x5a, 256);
    CHECK_EQ_INT(spka_decode_response(big, 271, &r), CAR_OK);
    CHECK_EQ_INT(r.sig_len, 256);
    CHECK_EQ_INT(spka_decode_response(big, 270, &r), CAR_ERR_MALFORMED);
    CHECK(r.signature == NULL);
}

static void test_encode_errors(void)
{
    uint8_t digest[64] = {0};
    uint8_t text[200] = {0x04, 'a'};
    uint8_t out[512];
    size_t n = 0;
    struct spka_command c = {0};

    c.cmd = SPKA_SIGN;
    c.key_ref = 1;
    c.digest_alg = SPKA_SHA256;
    c.digest = digest;
    c.digest_len = 48; /* mismatch */
    c.text = text;
    c.text_len = 2;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_INVALID);
    c.digest_alg = SPKA_SHA384;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_OK);
    c.digest_alg = 9;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_INVALID);
    c.digest_alg = SPKA_SHA512;
    c.digest_len = 64;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_OK);
    c.text_len = 182;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_TOO_LONG);
    c.text_len = 181;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_OK);
    text[0] = 0x00;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_INVALID);
    text[0] = 0x08;
    c.vc = (const uint8_t *)"123";
    c.vc_len = 3;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_INVALID);
    c.vc = NULL;
    c.text = NULL;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_INVALID); /* SIGN needs text */
    c.cmd = 0x42;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_ERR_UNSUPPORTED);

    /* INFO has no TLVs at all. */
    memset(&c, 0, sizeof c);
    c.cmd = SPKA_INFO;
    CHECK_EQ_INT(spka_encode_command(&c, out, sizeof out, &n), CAR_OK);
    CHECK_EQ_INT(n, 10);
    CHECK_EQ_INT(spka_digest_len(SPKA_SHA384), 48);
    CHECK_EQ_INT(spka_digest_len(0), 0);
    CHECK_EQ_STR(spka_result_name(SPKA_INTERNAL_ERROR), "INTERNAL_ERROR");
    CHECK_EQ_STR(spka_result_name(0x0E), "UNKNOWN");
}

/*
 * The answer mapping: every PoR status and every SPKA/1 result to the
 * gateway's outcome and detail (the engine's table starts from these).
 */
static void test_outcome_table(void)
{
    static const struct {
        uint8_t por, result;
        enum car_outcome want;
        const char *detail;
    } rows[] = {
        {OTA_POR_OK, SPKA_OK, CAR_OUT_OK, ""},
        {OTA_POR_OK, SPKA_USER_CANCEL, CAR_OUT_USER_CANCEL, "USER_CANCEL"},
        {OTA_POR_OK, SPKA_USER_TIMEOUT, CAR_OUT_EXPIRED, "USER_TIMEOUT"},
        {OTA_POR_OK, SPKA_PIN_BLOCKED, CAR_OUT_PIN_BLOCKED, "PIN_BLOCKED"},
        {OTA_POR_OK, SPKA_CARD_BLOCKED, CAR_OUT_CARD_BLOCKED, "CARD_BLOCKED"},
        {OTA_POR_OK, SPKA_NO_KEY, CAR_OUT_NO_KEY, "NO_KEY"},
        {OTA_POR_OK, SPKA_KEY_EXISTS, CAR_OUT_KEY_EXISTS, "KEY_EXISTS"},
        {OTA_POR_OK, SPKA_BAD_COMMAND, CAR_OUT_BAD_COMMAND, "BAD_COMMAND"},
        {OTA_POR_OK, SPKA_UNSUPPORTED, CAR_OUT_UNSUPPORTED, "UNSUPPORTED"},
        {OTA_POR_OK, SPKA_STORAGE_FULL, CAR_OUT_STORAGE_FULL, "STORAGE_FULL"},
        {OTA_POR_OK, SPKA_INTERNAL_ERROR, CAR_OUT_INTERNAL_ERROR, "INTERNAL_ERROR"},
        {OTA_POR_OK, 0x0A, CAR_OUT_INTERNAL_ERROR, "UNKNOWN"},
        {OTA_POR_OK, 0xFF, CAR_OUT_INTERNAL_ERROR, "UNKNOWN"},
        /* The result octet is not read when the PoR refused the packet. */
        {OTA_POR_CNTR_LOW, SPKA_OK, CAR_OUT_COUNTER_LOW, ""},
        {OTA_POR_MORE_TIME, SPKA_OK, CAR_OUT_MORE_TIME, ""},
        {OTA_POR_CC_FAILED, SPKA_OK, CAR_OUT_OTA_ERROR, "the SIM refused the secured command (PoR status 1)"},
        {OTA_POR_CNTR_HIGH, SPKA_OK, CAR_OUT_OTA_ERROR, "the SIM refused the secured command (PoR status 3)"},
        {OTA_POR_CNTR_BLOCKED, SPKA_USER_CANCEL, CAR_OUT_OTA_ERROR,
         "the SIM refused the secured command (PoR status 4)"},
        {OTA_POR_TAR_UNKNOWN, SPKA_OK, CAR_OUT_OTA_ERROR, "the SIM refused the secured command (PoR status 9)"},
        {0xFE, SPKA_OK, CAR_OUT_OTA_ERROR, "the SIM refused the secured command (PoR status 254)"},
    };
    char detail[96];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        memset(detail, 'x', sizeof(detail));
        CHECK_EQ_INT(spka_outcome(rows[i].por, rows[i].result, detail, sizeof(detail)), rows[i].want);
        CHECK_EQ_STR(detail, rows[i].detail);
    }
    /* No detail buffer: the outcome alone. */
    CHECK_EQ_INT(spka_outcome(OTA_POR_OK, SPKA_NO_KEY, NULL, 0), CAR_OUT_NO_KEY);
    /* A short buffer truncates, terminated. */
    CHECK_EQ_INT(spka_outcome(OTA_POR_OK, SPKA_PIN_BLOCKED, detail, 4), CAR_OUT_PIN_BLOCKED);
    CHECK_EQ_STR(detail, "PIN");
}

/* Model digests to SPKA/1 codes and back; the stored numbers stay the wire's. */
static void test_digest_codes(void)
{
    CHECK_EQ_INT(spka_digest_code(DG_SHA256), SPKA_SHA256);
    CHECK_EQ_INT(spka_digest_code(DG_SHA384), SPKA_SHA384);
    CHECK_EQ_INT(spka_digest_code(DG_SHA512), SPKA_SHA512);
    CHECK_EQ_INT(spka_digest_code(DG_NONE), 0);
    CHECK_EQ_INT(spka_digest_code((enum dg_alg)9), 0);
    CHECK_EQ_INT(spka_digest_alg(SPKA_SHA384), DG_SHA384);
    CHECK_EQ_INT(spka_digest_alg(0), DG_NONE);
    CHECK_EQ_INT(spka_digest_alg(4), DG_NONE);
    for (int a = DG_SHA256; a <= DG_SHA512; a++)
        CHECK_EQ_INT(spka_digest_len(spka_digest_code((enum dg_alg)a)), dg_len((enum dg_alg)a));
    /* Records in Redis hold these numbers (field digest_alg): they must not move. */
    CHECK_EQ_INT(DG_SHA256, 1);
    CHECK_EQ_INT(DG_SHA384, 2);
    CHECK_EQ_INT(DG_SHA512, 3);
    CHECK_EQ_STR(dg_name(DG_SHA384), "SHA-384");
    CHECK_EQ_STR(dg_openssl_name(DG_SHA512), "SHA512");
    CHECK(dg_name(DG_NONE) == NULL);
    CHECK_EQ_INT(dg_from_name("SHA-512"), DG_SHA512);
    CHECK_EQ_INT(dg_from_name("SHA512"), DG_NONE);
    CHECK_EQ_INT(dg_from_name("MD5"), DG_NONE);
    CHECK_EQ_INT(dg_from_int(2), DG_SHA384);
    CHECK_EQ_INT(dg_from_int(4), DG_NONE);
    CHECK_EQ_INT(dg_from_int(-1), DG_NONE);
}

int main(void)
{
    json_t *v = vec_load();

    CHECK(v != NULL);
    if (v) {
        test_sign_vector(v);
        test_por_vectors(v);
    }
    test_info_roundtrip();
    test_tlv_errors();
    test_encode_errors();
    test_outcome_table();
    test_digest_codes();
    json_decref(v);
    return check_report("test_spka");
}
