/*
 * car_text.c - UTF-8 <-> SIM display text (GSM 03.38 unpacked or UCS2 BE).
 *
 * The text shown on the SIM is what the official consents to, so decoding
 * is strict: invalid UTF-8 is refused rather than repaired, because a
 * "repaired" text is not the text the caller asked us to show.
 */
#include "car_text.h"

#include <stdio.h>
#include <string.h>

#include "car_spka.h"

#define GSM_ESC 0x1B
#define NO_CHAR 0xFFFFu

/* GSM 03.38 default alphabet: index = GSM code, value = Unicode. */
static const uint16_t gsm_basic[128] = {
    0x0040, 0x00A3, 0x0024, 0x00A5,  0x00E8, 0x00E9, 0x00F9, 0x00EC, /* 00 */
    0x00F2, 0x00C7, 0x000A, 0x00D8,  0x00F8, 0x000D, 0x00C5, 0x00E5,
    0x0394, 0x005F, 0x03A6, 0x0393,  0x039B, 0x03A9, 0x03A0, 0x03A8, /* 10 */
    0x03A3, 0x0398, 0x039E, NO_CHAR, 0x00C6, 0x00E6, 0x00DF, 0x00C9,
    0x0020, 0x0021, 0x0022, 0x0023,  0x00A4, 0x0025, 0x0026, 0x0027, /* 20 */
    0x0028, 0x0029, 0x002A, 0x002B,  0x002C, 0x002D, 0x002E, 0x002F,
    0x0030, 0x0031, 0x0032, 0x0033,  0x0034, 0x0035, 0x0036, 0x0037, /* 30 */
    0x0038, 0x0039, 0x003A, 0x003B,  0x003C, 0x003D, 0x003E, 0x003F,
    0x00A1, 0x0041, 0x0042, 0x0043,  0x0044, 0x0045, 0x0046, 0x0047, /* 40 */
    0x0048, 0x0049, 0x004A, 0x004B,  0x004C, 0x004D, 0x004E, 0x004F,
    0x0050, 0x0051, 0x0052, 0x0053,  0x0054, 0x0055, 0x0056, 0x0057, /* 50 */
    0x0058, 0x0059, 0x005A, 0x00C4,  0x00D6, 0x00D1, 0x00DC, 0x00A7,
    0x00BF, 0x0061, 0x0062, 0x0063,  0x0064, 0x0065, 0x0066, 0x0067, /* 60 */
    0x0068, 0x0069, 0x006A, 0x006B,  0x006C, 0x006D, 0x006E, 0x006F,
    0x0070, 0x0071, 0x0072, 0x0073,  0x0074, 0x0075, 0x0076, 0x0077, /* 70 */
    0x0078, 0x0079, 0x007A, 0x00E4,  0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/* The extension table, reached through ESC: costs two octets on the SIM. */
static const struct {
    uint8_t code;
    uint16_t uc;
} gsm_ext[] = {
    {0x0A, 0x000C}, {0x14, 0x005E}, {0x28, 0x007B}, {0x29, 0x007D}, {0x2F, 0x005C},
    {0x3C, 0x005B}, {0x3D, 0x007E}, {0x3E, 0x005D}, {0x40, 0x007C}, {0x65, 0x20AC},
};

/* GSM octets for code point uc: 1, or 2 with *ext set; 0 when not in GSM-7. */
static int gsm_lookup(uint32_t uc, uint8_t *code, int *ext)
{
    if (uc == NO_CHAR)
        return 0; /* U+FFFF must not match the ESC slot */
    /*
     * Every GSM-7 character is Latin-1, a Greek capital or the euro sign, so
     * most Vietnamese letters (U+0100 and up) leave here; most ASCII sits at
     * its own code.  The scans below are for the rest (measured: the scans
     * alone were 2% of the gateway's instructions, the text encoded twice).
     */
    if (uc > 0xFF && (uc < 0x0393 || uc > 0x03A9) && uc != 0x20AC)
        return 0;
    if (uc < 128 && gsm_basic[uc] == uc) {
        *code = (uint8_t)uc;
        *ext = 0;
        return 1;
    }
    for (unsigned i = 0; i < 128; i++) {
        if (gsm_basic[i] == uc) {
            *code = (uint8_t)i;
            *ext = 0;
            return 1;
        }
    }
    for (size_t i = 0; i < sizeof gsm_ext / sizeof gsm_ext[0]; i++) {
        if (gsm_ext[i].uc == uc) {
            *code = gsm_ext[i].code;
            *ext = 1;
            return 2;
        }
    }
    return 0;
}

/*
 * Decode one UTF-8 sequence at s[0..len).  Returns its length, or 0 when it
 * is invalid: truncated, overlong, a surrogate, or above U+10FFFF.
 */
static size_t utf8_next(const uint8_t *s, size_t len, uint32_t *uc)
{
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n;
    uint32_t v;

    if (s[0] < 0x80) {
        *uc = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        v = s[0] & 0x1F;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        v = s[0] & 0x0F;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        v = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min_for_len[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *uc = v;
    return n;
}

static void set_why(char *why, size_t whylen, const char *msg, size_t over)
{
    if (!why || !whylen)
        return;
    if (over)
        snprintf(why, whylen, "%s by %zu octets", msg, over);
    else
        snprintf(why, whylen, "%s", msg);
}

/* Control characters cannot be shown by a SIM and hint at injected input. */
static int is_control(uint32_t uc)
{
    return (uc < 0x20 && uc != '\n' && uc != '\r') || (uc >= 0x7F && uc < 0xA0);
}

/* First pass: validate and size both codings so we know which to use. */
static enum car_err text_scan(const uint8_t *s, size_t len, size_t *gsm_len, size_t *chars, int *gsm_ok,
                              const char **why)
{
    size_t i = 0;

    *gsm_len = 0;
    *chars = 0;
    *gsm_ok = 1;
    while (i < len) {
        uint32_t uc;
        uint8_t code;
        int ext;
        size_t n = utf8_next(s + i, len - i, &uc);
        int g;

        if (n == 0) {
            *why = "invalid UTF-8";
            return CAR_ERR_MALFORMED;
        }
        if (is_control(uc)) {
            *why = "control character in display text";
            return CAR_ERR_MALFORMED;
        }
        if (uc > 0xFFFF) {
            *why = "character outside the BMP cannot be shown on a SIM";
            return CAR_ERR_UNSUPPORTED;
        }
        g = gsm_lookup(uc, &code, &ext);
        if (g == 0)
            *gsm_ok = 0;
        *gsm_len += (size_t)g;
        (*chars)++;
        i += n;
    }
    return CAR_OK;
}

/* Second pass: emit; the scan already validated every sequence. */
static void text_emit(const uint8_t *s, size_t len, int gsm, uint8_t *out)
{
    size_t i = 0;
    size_t o = 0;

    while (i < len) {
        uint32_t uc = 0;
        uint8_t code = 0;
        int ext = 0;

        i += utf8_next(s + i, len - i, &uc);
        if (gsm) {
            gsm_lookup(uc, &code, &ext);
            if (ext)
                out[o++] = GSM_ESC;
            out[o++] = code;
        } else {
            out[o++] = (uint8_t)(uc >> 8);
            out[o++] = (uint8_t)uc;
        }
    }
}

enum car_err text_encode(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *outlen, char *why,
                         size_t whylen)
{
    const uint8_t *s = (const uint8_t *)utf8;
    const char *reason = NULL;
    size_t gsm_len, chars, need;
    int gsm_ok;
    enum car_err rc;

    if ((!utf8 && len) || !out || !outlen) {
        set_why(why, whylen, "invalid argument", 0);
        return CAR_ERR_INVALID;
    }
    *outlen = 0;
    rc = text_scan(s, len, &gsm_len, &chars, &gsm_ok, &reason);
    if (rc != CAR_OK) {
        set_why(why, whylen, reason, 0);
        return rc;
    }
    need = gsm_ok ? gsm_len : 2 * chars;
    if (need > SPKA_MAX_TEXT) {
        set_why(why, whylen, gsm_ok ? "GSM text over 180 octets" : "UCS2 text over 180 octets (90 characters)",
                need - SPKA_MAX_TEXT);
        return CAR_ERR_TOO_LONG;
    }
    if (cap < need + 1) {
        set_why(why, whylen, "output buffer too small", 0);
        return CAR_ERR_INVALID;
    }
    out[0] = gsm_ok ? TEXT_CODING_GSM7 : TEXT_CODING_UCS2;
    text_emit(s, len, gsm_ok, out + 1);
    *outlen = need + 1;
    set_why(why, whylen, "", 0);
    return CAR_OK;
}

/* Append code point uc as UTF-8; CAR_ERR_TOO_LONG when out is full (NUL kept). */
static enum car_err utf8_put(uint32_t uc, char *out, size_t cap, size_t *o)
{
    uint8_t b[3];
    size_t n;

    if (uc < 0x80) {
        b[0] = (uint8_t)uc;
        n = 1;
    } else if (uc < 0x800) {
        b[0] = (uint8_t)(0xC0 | (uc >> 6));
        b[1] = (uint8_t)(0x80 | (uc & 0x3F));
        n = 2;
    } else {
        b[0] = (uint8_t)(0xE0 | (uc >> 12));
        b[1] = (uint8_t)(0x80 | ((uc >> 6) & 0x3F));
        b[2] = (uint8_t)(0x80 | (uc & 0x3F));
        n = 3;
    }
    if (*o + n + 1 > cap)
        return CAR_ERR_TOO_LONG;
    memcpy(out + *o, b, n);
    *o += n;
    return CAR_OK;
}

/* One GSM character at in[*i]; an unknown extension shows the basic one (TS 23.038). */
static enum car_err gsm_next(const uint8_t *in, size_t len, size_t *i, uint32_t *uc)
{
    uint8_t c = in[*i];

    if (c >= 0x80)
        return CAR_ERR_MALFORMED;
    if (c != GSM_ESC) {
        *uc = gsm_basic[c];
        (*i)++;
        return CAR_OK;
    }
    if (*i + 1 >= len || in[*i + 1] >= 0x80 || in[*i + 1] == GSM_ESC)
        return CAR_ERR_MALFORMED;
    c = in[*i + 1];
    *i += 2;
    for (size_t k = 0; k < sizeof gsm_ext / sizeof gsm_ext[0]; k++) {
        if (gsm_ext[k].code == c) {
            *uc = gsm_ext[k].uc;
            return CAR_OK;
        }
    }
    *uc = gsm_basic[c];
    return CAR_OK;
}

enum car_err text_decode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *outlen)
{
    size_t i = 1;
    size_t o = 0;
    enum car_err rc = CAR_OK;

    if (!in || !out || !outlen || cap == 0)
        return CAR_ERR_INVALID;
    out[0] = '\0';
    *outlen = 0;
    if (len < 1)
        return CAR_ERR_MALFORMED;
    if (in[0] != TEXT_CODING_GSM7 && in[0] != TEXT_CODING_UCS2)
        return CAR_ERR_UNSUPPORTED;
    if (in[0] == TEXT_CODING_UCS2 && (len - 1) % 2)
        return CAR_ERR_MALFORMED;
    while (i < len) {
        uint32_t uc;

        if (in[0] == TEXT_CODING_GSM7) {
            rc = gsm_next(in, len, &i, &uc);
        } else {
            uc = ((uint32_t)in[i] << 8) | in[i + 1];
            i += 2;
            rc = (uc == 0 || (uc >= 0xD800 && uc <= 0xDFFF)) ? CAR_ERR_MALFORMED : CAR_OK;
        }
        if (rc == CAR_OK)
            rc = utf8_put(uc, out, cap, &o);
        if (rc != CAR_OK)
            goto out;
    }
out:
    if (rc != CAR_OK)
        o = 0;
    out[o] = '\0';
    *outlen = o;
    return rc;
}
