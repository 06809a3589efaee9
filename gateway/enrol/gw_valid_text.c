/*
 * gw_valid_text.c - certificate request form fields written as free text:
 * e-mail address, full name (Vietnamese letters, composed to NFC and upper
 * case) and certificate serial number.  Split from gw_valid.c; the shared
 * reporting and input helpers are in gw_valid_priv.h.
 */
#include "gw_valid.h"
#include "gw_valid_priv.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

/* ----------------------------------------------------------------- e-mail */

/* Public mailbox providers: an official certificate must not hang on a private account. */
static const char *const personal_domains[] = {
    "gmail.com",      "googlemail.com", "yahoo.com", "yahoo.com.vn", "ymail.com", "hotmail.com", "outlook.com",
    "outlook.com.vn", "live.com",       "msn.com",   "icloud.com",   "me.com",    "aol.com",     "protonmail.com",
    "proton.me",      "zoho.com",       "mail.ru",   "yandex.com",   "gmx.com",   "qq.com",      "163.com",
};

static int is_atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/* RFC 5322 dot-atom for the local part: atext runs joined by single dots. */
static int local_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
            return 0;
    }
    return 1;
}

/* RFC 1035 host name labels; the top label alphabetic so "a@1.2.3.4" is not a domain. */
static int domain_ok(const char *d)
{
    size_t n = strlen(d);
    size_t label = 0;
    int labels = 1;
    size_t last = 0;

    if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '.') {
            if (label == 0 || d[i - 1] == '-' || d[i + 1] == '-' || d[i + 1] == '.')
                return 0;
            labels++;
            label = 0;
            last = i + 1;
        } else if (is_alpha(d[i]) || is_digit(d[i]) || d[i] == '-') {
            label++;
            if (label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    if (d[0] == '-' || d[n - 1] == '-' || labels < 2 || n - last < 2)
        return 0;
    for (size_t i = last; i < n; i++) {
        if (!is_alpha(d[i]))
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int email_domain_policy(const char *field, const char *domain, struct gw_valid_err *err)
{
    /* Only a subdomain: "gov.vn" itself is the registry, nobody's mailbox. */
    if (ends_with(domain, ".gov.vn"))
        return GW_VALID_OK;
    for (size_t i = 0; i < sizeof personal_domains / sizeof personal_domains[0]; i++) {
        if (strcmp(domain, personal_domains[i]) == 0)
            return gw_vl_fail(err, field, "EMAIL_PERSONAL_DOMAIN",
                              "%s: %s is a personal mailbox; use the official address of the state body (*.gov.vn)",
                              field, domain);
    }
    return gw_vl_warn(err, field, "EMAIL_DOMAIN_REVIEW",
                      "%s: %s is not a *.gov.vn domain; accepted for review by the registration officer", field,
                      domain);
}

int gw_valid_email(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char *at;
    char *domain;
    int rc;

    if (!field)
        field = "email";
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    at = strchr(buf, '@');
    if (strlen(buf) > 254 || !at || strchr(at + 1, '@'))
        return gw_vl_fail(err, field, "EMAIL_SYNTAX", "%s: an e-mail address has one @ and at most 254 characters",
                          field);
    domain = at + 1;
    for (char *p = domain; *p; p++)
        *p = to_lower(*p);
    if (!local_ok(buf, (size_t)(at - buf)))
        return gw_vl_fail(err, field, "EMAIL_SYNTAX", "%s: the part before @ is not a valid mailbox name", field);
    if (!domain_ok(domain))
        return gw_vl_fail(err, field, "EMAIL_SYNTAX", "%s: the part after @ is not a valid domain name", field);
    rc = email_domain_policy(field, domain, err);
    if (rc != GW_VALID_ERROR && out && outlen)
        snprintf(out, outlen, "%s", buf);
    return rc;
}

/* ------------------------------------------------------------------- name */

/*
 * Every Vietnamese vowel: 12 letters (rows) by 6 tones (columns: none,
 * huyền grave, sắc acute, hỏi hook above, ngã tilde, nặng dot below), in
 * lower and upper case.  Upper case is the same cell of `vowel_upper`; NFD
 * input composes by moving along a row (tone) or between rows (modifier).
 */
enum {
    ROW_A,
    ROW_A_BREVE,
    ROW_A_CIRC,
    ROW_E,
    ROW_E_CIRC,
    ROW_I,
    ROW_O,
    ROW_O_CIRC,
    ROW_O_HORN,
    ROW_U,
    ROW_U_HORN,
    ROW_Y,
    ROWS
};

static const uint16_t vowel_lower[ROWS][6] = {
    {0x0061, 0x00E0, 0x00E1, 0x1EA3, 0x00E3, 0x1EA1}, /* a à á ả ã ạ */
    {0x0103, 0x1EB1, 0x1EAF, 0x1EB3, 0x1EB5, 0x1EB7}, /* ă ằ ắ ẳ ẵ ặ */
    {0x00E2, 0x1EA7, 0x1EA5, 0x1EA9, 0x1EAB, 0x1EAD}, /* â ầ ấ ẩ ẫ ậ */
    {0x0065, 0x00E8, 0x00E9, 0x1EBB, 0x1EBD, 0x1EB9}, /* e è é ẻ ẽ ẹ */
    {0x00EA, 0x1EC1, 0x1EBF, 0x1EC3, 0x1EC5, 0x1EC7}, /* ê ề ế ể ễ ệ */
    {0x0069, 0x00EC, 0x00ED, 0x1EC9, 0x0129, 0x1ECB}, /* i ì í ỉ ĩ ị */
    {0x006F, 0x00F2, 0x00F3, 0x1ECF, 0x00F5, 0x1ECD}, /* o ò ó ỏ õ ọ */
    {0x00F4, 0x1ED3, 0x1ED1, 0x1ED5, 0x1ED7, 0x1ED9}, /* ô ồ ố ổ ỗ ộ */
    {0x01A1, 0x1EDD, 0x1EDB, 0x1EDF, 0x1EE1, 0x1EE3}, /* ơ ờ ớ ở ỡ ợ */
    {0x0075, 0x00F9, 0x00FA, 0x1EE7, 0x0169, 0x1EE5}, /* u ù ú ủ ũ ụ */
    {0x01B0, 0x1EEB, 0x1EE9, 0x1EED, 0x1EEF, 0x1EF1}, /* ư ừ ứ ử ữ ự */
    {0x0079, 0x1EF3, 0x00FD, 0x1EF7, 0x1EF9, 0x1EF5}, /* y ỳ ý ỷ ỹ ỵ */
};

static const uint16_t vowel_upper[ROWS][6] = {
    {0x0041, 0x00C0, 0x00C1, 0x1EA2, 0x00C3, 0x1EA0}, /* A À Á Ả Ã Ạ */
    {0x0102, 0x1EB0, 0x1EAE, 0x1EB2, 0x1EB4, 0x1EB6}, /* Ă Ằ Ắ Ẳ Ẵ Ặ */
    {0x00C2, 0x1EA6, 0x1EA4, 0x1EA8, 0x1EAA, 0x1EAC}, /* Â Ầ Ấ Ẩ Ẫ Ậ */
    {0x0045, 0x00C8, 0x00C9, 0x1EBA, 0x1EBC, 0x1EB8}, /* E È É Ẻ Ẽ Ẹ */
    {0x00CA, 0x1EC0, 0x1EBE, 0x1EC2, 0x1EC4, 0x1EC6}, /* Ê Ề Ế Ể Ễ Ệ */
    {0x0049, 0x00CC, 0x00CD, 0x1EC8, 0x0128, 0x1ECA}, /* I Ì Í Ỉ Ĩ Ị */
    {0x004F, 0x00D2, 0x00D3, 0x1ECE, 0x00D5, 0x1ECC}, /* O Ò Ó Ỏ Õ Ọ */
    {0x00D4, 0x1ED2, 0x1ED0, 0x1ED4, 0x1ED6, 0x1ED8}, /* Ô Ồ Ố Ổ Ỗ Ộ */
    {0x01A0, 0x1EDC, 0x1EDA, 0x1EDE, 0x1EE0, 0x1EE2}, /* Ơ Ờ Ớ Ở Ỡ Ợ */
    {0x0055, 0x00D9, 0x00DA, 0x1EE6, 0x0168, 0x1EE4}, /* U Ù Ú Ủ Ũ Ụ */
    {0x01AF, 0x1EEA, 0x1EE8, 0x1EEC, 0x1EEE, 0x1EF0}, /* Ư Ừ Ứ Ử Ữ Ự */
    {0x0059, 0x1EF2, 0x00DD, 0x1EF6, 0x1EF8, 0x1EF4}, /* Y Ỳ Ý Ỷ Ỹ Ỵ */
};

/* Combining tone marks (NFD) by column; U+0340/U+0341 are the deprecated grave/acute NFC maps too. */
static int tone_of_mark(uint32_t cp)
{
    switch (cp) {
    case 0x0300:
    case 0x0340: return 1;
    case 0x0301:
    case 0x0341: return 2;
    case 0x0309: return 3;
    case 0x0303: return 4;
    case 0x0323: return 5;
    default: return 0;
    }
}

/* Combining circumflex, breve and horn: the row a plain vowel moves to, or -1. */
static int row_with_modifier(int row, uint32_t cp)
{
    static const struct {
        int from;
        uint32_t mark;
        int to;
    } moves[] = {
        {ROW_A, 0x0306, ROW_A_BREVE}, {ROW_A, 0x0302, ROW_A_CIRC}, {ROW_E, 0x0302, ROW_E_CIRC},
        {ROW_O, 0x0302, ROW_O_CIRC},  {ROW_O, 0x031B, ROW_O_HORN}, {ROW_U, 0x031B, ROW_U_HORN},
    };

    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        if (moves[i].from == row && moves[i].mark == cp)
            return moves[i].to;
    }
    return -1;
}

static int is_modifier_mark(uint32_t cp)
{
    return cp == 0x0302 || cp == 0x0306 || cp == 0x031B;
}

static int find_vowel(uint32_t cp, int *row, int *tone)
{
    for (int r = 0; r < ROWS; r++) {
        for (int t = 0; t < 6; t++) {
            if (vowel_lower[r][t] == cp || vowel_upper[r][t] == cp) {
                *row = r;
                *tone = t;
                return 1;
            }
        }
    }
    return 0;
}

/* The upper-case name being built: NFC UTF-8, spaces collapsed, characters counted. */
struct name_out {
    char *buf;
    size_t cap;
    size_t len;
    int chars;
    int space; /* a space is owed before the next character */
    int row;   /* vowel waiting for combining marks, or -1 */
    int tone;
    int letters;
};

static int put_cp(struct name_out *o, uint32_t cp)
{
    unsigned char u[3];
    size_t k;

    if (o->space && o->len) {
        o->space = 0;
        if (put_cp(o, ' ') != 0)
            return -1;
    }
    o->space = 0;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    }
    if (o->len + k >= o->cap || o->chars == GW_VALID_NAME_CHARS)
        return -1;
    memcpy(o->buf + o->len, u, k);
    o->len += k;
    o->buf[o->len] = '\0';
    o->chars++;
    return 0;
}

/* Emit the waiting vowel, now that no more combining marks can follow. */
static int flush_vowel(struct name_out *o)
{
    int rc = 0;

    if (o->row >= 0)
        rc = put_cp(o, vowel_upper[o->row][o->tone]);
    o->row = -1;
    return rc;
}

/* A combining mark after a vowel: set its tone, or its circumflex/breve/horn. */
static int combine(struct name_out *o, uint32_t cp)
{
    int tone = tone_of_mark(cp);
    int row;

    if (o->row < 0)
        return -1;
    if (tone) {
        if (o->tone)
            return -1;
        o->tone = tone;
        return 0;
    }
    row = is_modifier_mark(cp) ? row_with_modifier(o->row, cp) : -1;
    if (row < 0)
        return -1;
    o->row = row;
    return 0;
}

/* 0 ok; else the error code for cp. */
static const char *name_char(struct name_out *o, uint32_t cp)
{
    int row;
    int tone;

    if (cp >= 0x0300 && cp <= 0x036F)
        return combine(o, cp) == 0 ? NULL : "NAME_COMBINING";
    if (flush_vowel(o) != 0)
        return "NAME_TOO_LONG";
    if (cp == ' ' || cp == '\t' || cp == 0x00A0) {
        o->space = 1;
        return NULL;
    }
    if (cp >= '0' && cp <= '9')
        return "NAME_DIGIT";
    if (find_vowel(cp, &row, &tone)) {
        o->row = row;
        o->tone = tone;
        o->letters++;
        return NULL;
    }
    if (cp < 0x80 && is_alpha((char)cp))
        cp = (uint32_t)to_upper((char)cp);
    else if (cp == 0x0111 || cp == 0x0110)
        cp = 0x0110; /* đ Đ */
    else if (cp == 0x2019)
        cp = '\'';
    else if (cp != '-' && cp != '\'')
        return "NAME_CHARACTER";
    o->letters += cp != '-' && cp != '\'';
    return put_cp(o, cp) == 0 ? NULL : "NAME_TOO_LONG";
}

static int name_fail(const char *field, const char *code, uint32_t cp, struct gw_valid_err *err)
{
    if (strcmp(code, "NAME_TOO_LONG") == 0)
        return gw_vl_fail(err, field, code, "%s is longer than %d characters", field, GW_VALID_NAME_CHARS);
    if (strcmp(code, "NAME_DIGIT") == 0)
        return gw_vl_fail(err, field, code, "%s: a name has no digits", field);
    if (strcmp(code, "NAME_COMBINING") == 0)
        return gw_vl_fail(
            err, field, code,
            "%s: combining mark U+%04X does not form a Vietnamese letter; send the name precomposed (NFC)", field,
            (unsigned)cp);
    return gw_vl_fail(err, field, code, "%s: U+%04X is not allowed; only Vietnamese letters, spaces, '-' and ' are",
                      field, (unsigned)cp);
}

int gw_valid_name(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    struct name_out o = {.buf = out, .cap = outlen, .row = -1};
    size_t n;
    size_t i = 0;
    uint32_t cp = 0;
    const char *code = NULL;
    int rc;

    if (!field)
        field = "full_name";
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (!out || outlen == 0)
        return gw_vl_fail(err, field, "NAME_TOO_LONG", "%s: no room for the name", field);
    out[0] = '\0';
    n = strlen(buf);
    while (i < n && !code) {
        if (util_utf8_next((const unsigned char *)buf, n, &i, &cp) != 0)
            return gw_vl_fail(err, field, "NAME_ENCODING", "%s is not valid UTF-8", field);
        code = name_char(&o, cp);
    }
    if (!code && flush_vowel(&o) != 0)
        code = "NAME_TOO_LONG";
    if (code)
        return name_fail(field, code, cp, err);
    if (!o.letters || strchr("-'", out[0]) || strchr("-'", out[o.len - 1]))
        return gw_vl_fail(err, field, "NAME_CHARACTER", "%s must start and end with a letter", field);
    return GW_VALID_OK;
}

/* ----------------------------------------------------------------- serial */

int gw_valid_cert_serial(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char hex[GW_VALID_INPUT_MAX + 1];
    size_t n = 0;
    int rc;

    if (!field)
        field = "old_cert_serial";
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    for (const char *p = buf; *p; p++) {
        if (*p == ':' || *p == ' ')
            continue;
        if (!is_digit(*p) && !strchr("abcdefABCDEF", *p))
            return gw_vl_fail(err, field, "SERIAL_FORMAT", "%s: a serial number is written in hex (0-9, A-F)", field);
        hex[n++] = to_upper(*p);
    }
    hex[n] = '\0';
    if (n < 2 || n > 40)
        return gw_vl_fail(err, field, "SERIAL_LENGTH", "%s: a serial number has 2 to 40 hex digits (1 to 20 octets)",
                          field);
    if (n % 2)
        return gw_vl_fail(err, field, "SERIAL_ODD_LENGTH",
                          "%s: a serial number has whole octets (an even number of hex "
                          "digits)",
                          field);
    if (out && outlen)
        snprintf(out, outlen, "%s", hex);
    return GW_VALID_OK;
}
