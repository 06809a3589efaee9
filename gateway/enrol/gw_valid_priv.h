/*
 * gw_valid_priv.h - what gw_valid.c and gw_valid_text.c share: reporting a
 * finding, the common input prologue and ASCII classes.  Not installed;
 * nothing outside gateway/enrol includes it.
 */
#ifndef SIMPKI_GW_VALID_PRIV_H
#define SIMPKI_GW_VALID_PRIV_H

#include "gw_valid.h"

/* Fill err (when not NULL) for field with code and a printf message; return GW_VALID_ERROR. */
int gw_vl_fail(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As gw_vl_fail, but a finding for review: err->warning set, returns GW_VALID_WARN. */
int gw_vl_warn(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The common prologue: present, not absurdly long, trimmed into buf (which
 * holds GW_VALID_INPUT_MAX + 1).  GW_VALID_OK with err cleared, else
 * GW_VALID_ERROR "REQUIRED" or "TOO_LONG".
 */
int gw_vl_take(const char *field, const char *in, char buf[GW_VALID_INPUT_MAX + 1], struct gw_valid_err *err);

/* ASCII only, whatever the locale: form input is UTF-8 and a byte >= 0x80 is never a letter here. */
static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static inline char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

#endif
