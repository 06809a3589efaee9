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
#include "viet.h"

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
        rc = put_cp(o, viet_vowel_upper[o->row][o->tone]);
    o->row = -1;
    return rc;
}

/* A combining mark after a vowel: set its tone, or its circumflex/breve/horn. */
static int combine(struct name_out *o, uint32_t cp)
{
    int tone = viet_tone_of_mark(cp);
    int row;

    if (o->row < 0)
        return -1;
    if (tone) {
        if (o->tone)
            return -1;
        o->tone = tone;
        return 0;
    }
    row = viet_is_modifier_mark(cp) ? viet_row_with_modifier(o->row, cp) : -1;
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
    if (viet_find_vowel(cp, &row, &tone)) {
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
