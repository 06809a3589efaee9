/*
 * test_text.c - display text coding: GSM-7 when possible, UCS2 otherwise,
 * strict UTF-8, the 180-octet limit, and decode as the exact inverse.
 */
#include "car_text.h"

#include <string.h>

#include "check.h"

static enum car_err enc(const char *s, uint8_t *out, size_t *n)
{
    char why[96];

    return text_encode(s, strlen(s), out, 200, n, why, sizeof why);
}

/* encode then decode gives back the input, with the expected coding */
static void roundtrip(const char *s, uint8_t coding, size_t octets)
{
    uint8_t buf[200];
    char back[400];
    size_t n = 0;
    size_t m = 0;

    CHECK_EQ_INT(enc(s, buf, &n), CAR_OK);
    CHECK_EQ_INT(buf[0], coding);
    CHECK_EQ_INT(n, octets + 1);
    CHECK_EQ_INT(text_decode(buf, n, back, sizeof back, &m), CAR_OK);
    CHECK_EQ_STR(back, s);
    CHECK_EQ_INT(m, strlen(s));
}

static void test_vector_text(void)
{
    /* The display text of the SIGN vector (tag 83 of its application data). */
    static const char *vn = "K\xc3\xbd v\xc4\x83n b\xe1\xba\xa3n 123/Q\xc4\x90-UBND";
    uint8_t want[64];
    uint8_t buf[200];
    size_t n = 0;
    long w = check_unhex("08004b00fd002000760103006e002000621ea3006e0020003100320033002f00510110002d00550042"
                         "004e0044",
                         want, sizeof want);

    CHECK_EQ_INT(enc(vn, buf, &n), CAR_OK);
    CHECK_EQ_INT(n, w);
    CHECK_MEM(buf, want, (size_t)w);
    roundtrip(vn, TEXT_CODING_UCS2, 44);
}

static void test_gsm(void)
{
    uint8_t buf[200];
    size_t n = 0;

    roundtrip("Sign contract 42/2024", TEXT_CODING_GSM7, 21);
    roundtrip("@\xc2\xa3$\xc2\xa5\xc3\xa8\xc3\xa9 \xce\x94_ \xc3\x84\xc3\x96\xc3\x91\xc3\x9c\xc2\xa7 \xc2\xbf\xc3\xa0",
              TEXT_CODING_GSM7, 18);
    roundtrip("line1\nline2\r", TEXT_CODING_GSM7, 12);
    roundtrip("", TEXT_CODING_GSM7, 0);
    /* Extension characters cost two octets each. */
    roundtrip("{}[]~\\|^\xe2\x82\xac", TEXT_CODING_GSM7, 18);
    CHECK_EQ_INT(enc("\xe2\x82\xac", buf, &n), CAR_OK);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(buf[1], 0x1B);
    CHECK_EQ_INT(buf[2], 0x65);
    CHECK_EQ_INT(enc("@", buf, &n), CAR_OK);
    CHECK_EQ_INT(buf[1], 0x00);
    /* U+FFFF must not be taken for the ESC slot. */
    CHECK_EQ_INT(enc("\xef\xbf\xbf", buf, &n), CAR_OK);
    CHECK_EQ_INT(buf[0], TEXT_CODING_UCS2);
}

static void test_limits(void)
{
    char s[400];
    char why[96];
    uint8_t buf[200];
    size_t n = 0;

    memset(s, 'a', 180);
    s[180] = '\0';
    CHECK_EQ_INT(enc(s, buf, &n), CAR_OK);
    CHECK_EQ_INT(n, 181);
    s[180] = 'a';
    s[181] = '\0';
    CHECK_EQ_INT(text_encode(s, 181, buf, 200, &n, why, sizeof why), CAR_ERR_TOO_LONG);
    CHECK(strstr(why, "by 1 octets") != NULL);
    /* 179 + one extension character = 181 octets. */
    s[179] = '\0';
    memcpy(s + strlen(s), "{", sizeof "{");
    CHECK_EQ_INT(enc(s, buf, &n), CAR_ERR_TOO_LONG);
    /* 90 UCS2 characters fit, 91 do not. */
    s[0] = '\0';
    for (int i = 0; i < 90; i++)
        memcpy(s + strlen(s), "\xe1\xba\xa3", sizeof "\xe1\xba\xa3");
    roundtrip(s, TEXT_CODING_UCS2, 180);
    memcpy(s + strlen(s), "a", sizeof "a");
    CHECK_EQ_INT(enc(s, buf, &n), CAR_ERR_TOO_LONG);
    /* Too small an output buffer is the caller's bug. */
    CHECK_EQ_INT(text_encode("abc", 3, buf, 3, &n, NULL, 0), CAR_ERR_INVALID);
}

static void test_bad_utf8(void)
{
    static const char *bad[] = {
        "\xc0\xaf",         /* overlong '/' */
        "\xe0\x80\xaf",     /* overlong, 3 octets */
        "\xf0\x80\x80\xaf", /* overlong, 4 octets */
        "\xed\xa0\x80",     /* surrogate D800 */
        "\xed\xbf\xbf",     /* surrogate DFFF */
        "\xc3",             /* truncated */
        "a\xe1\xba",        /* truncated */
        "\x80",             /* lone continuation */
        "\xff",
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "a\tb",             /* control */
        "\x1b",
        "\xc2\x85", /* C1 control */
    };
    uint8_t buf[200];
    size_t n = 0;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(enc(bad[i], buf, &n), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(text_encode("a\0b", 3, buf, 200, &n, NULL, 0), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(enc("\xf0\x9f\x98\x80", buf, &n), CAR_ERR_UNSUPPORTED); /* emoji, outside the BMP */
}

static void test_decode_errors(void)
{
    char out[64];
    size_t n = 0;

    CHECK_EQ_INT(text_decode((const uint8_t *)"", 0, out, sizeof out, &n), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x05"
                                              "a",
                             2, out, sizeof out, &n),
                 CAR_ERR_UNSUPPORTED);
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x08\x00", 2, out, sizeof out, &n), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x08\xd8\x00", 3, out, sizeof out, &n), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x04\x80", 2, out, sizeof out, &n), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x04"
                                              "a\x1b",
                             3, out, sizeof out, &n),
                 CAR_ERR_MALFORMED);
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x04"
                                              "abcd",
                             5, out, 4, &n),
                 CAR_ERR_TOO_LONG);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_STR(out, "");
    /* An unknown extension shows the basic character (TS 23.038). */
    CHECK_EQ_INT(text_decode((const uint8_t *)"\x04\x1b"
                                              "a",
                             3, out, sizeof out, &n),
                 CAR_OK);
    CHECK_EQ_STR(out, "a");
}

/* UTF-8 of one BMP code point. */
static size_t utf8_of(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/*
 * Every BMP code point: the encoder picks GSM-7 exactly for the characters the
 * decoder can produce from some GSM code (basic or ESC + extension), and the
 * octet(s) it writes decode back to it.  The decoder indexes the tables; the
 * encoder searches them behind range shortcuts, so this pins the shortcuts.
 */
static void test_every_code_point(void)
{
    static uint8_t in_gsm[0x10000];
    uint8_t w[3], buf[8];
    char u[8];
    size_t n, ulen;
    unsigned mismatches = 0;

    memset(in_gsm, 0, sizeof in_gsm);
    for (unsigned c = 0; c < 0x80; c++) {
        for (int ext = 0; ext < 2; ext++) {
            size_t wl = 0;
            uint32_t cp = 0;
            w[wl++] = TEXT_CODING_GSM7;
            if (ext)
                w[wl++] = 0x1B;
            w[wl++] = (uint8_t)c;
            if (c == 0x1B || text_decode(w, wl, u, sizeof u, &ulen) != CAR_OK)
                continue;
            for (size_t i = 0; i < ulen; i++) /* back to a code point (at most 3 octets in the BMP) */
                cp = i == 0 ? (uint8_t)u[0] & (ulen == 1   ? 0x7F
                                               : ulen == 2 ? 0x1F
                                                           : 0x0F)
                            : (cp << 6) | ((uint8_t)u[i] & 0x3F);
            in_gsm[cp] = 1;
        }
    }
    for (uint32_t cp = 0; cp < 0x10000; cp++) {
        enum car_err rc;
        char back[8];
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue; /* not characters */
        ulen = utf8_of(cp, u);
        rc = text_encode(u, ulen, buf, sizeof buf, &n, NULL, 0);
        if (rc == CAR_ERR_MALFORMED)
            continue; /* control characters: refused whatever the table says */
        if (rc != CAR_OK || (buf[0] == TEXT_CODING_GSM7) != in_gsm[cp] ||
            text_decode(buf, n, back, sizeof back, &n) != CAR_OK || n != ulen || memcmp(back, u, ulen) != 0)
            mismatches++;
    }
    CHECK_EQ_INT(mismatches, 0);
    CHECK(in_gsm[0x0394] && in_gsm[0x03A9] && in_gsm[0x20AC] && in_gsm['^'] && !in_gsm[0x1EA1]);
}

int main(void)
{
    test_vector_text();
    test_gsm();
    test_limits();
    test_bad_utf8();
    test_decode_errors();
    test_every_code_point();
    return check_report("test_text");
}
