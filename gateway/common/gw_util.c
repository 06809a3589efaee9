/* gw_util.c - see gw_util.h. */
#include "gw_util.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void gw_verification_code(const uint8_t *digest, size_t len, char out[5])
{
    unsigned code = 0;
    if (len > 0)
        code = ((unsigned)(digest[0] >> 2) << 7) | (digest[len - 1] & 0x7Fu);
    out[0] = (char)('0' + code / 1000 % 10);
    out[1] = (char)('0' + code / 100 % 10);
    out[2] = (char)('0' + code / 10 % 10);
    out[3] = (char)('0' + code % 10);
    out[4] = '\0';
}

int gw_txn_ref_from_id(const char *id, uint8_t ref[8])
{
    if (strlen(id) < 18)
        return -1;
    for (int i = 0; i < 8; i++) {
        int hi = util_hexval(id[2 + 2 * i]), lo = util_hexval(id[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        ref[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* ---- JSON writer ------------------------------------------------------- */

static char *json_room(struct gw_json *j, size_t n)
{
    if (j->err)
        return NULL;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 1024;
        char *nb;
        while (cap < j->len + n + 1)
            cap *= 2;
        nb = realloc(j->buf, cap);
        if (!nb) {
            free(j->buf);
            j->buf = NULL;
            j->err = 1;
            return NULL;
        }
        j->buf = nb;
        j->cap = cap;
    }
    return j->buf + j->len;
}

static void json_put(struct gw_json *j, const char *p, size_t n)
{
    char *d = json_room(j, n);
    if (d) {
        memcpy(d, p, n);
        j->len += n;
    }
}

/* ,"key": */
static void json_key(struct gw_json *j, const char *key)
{
    size_t n = strlen(key);
    char *d = json_room(j, n + 4);
    if (!d)
        return;
    if (j->members++)
        *d++ = ',';
    *d++ = '"';
    memcpy(d, key, n);
    d += n;
    *d++ = '"';
    *d++ = ':';
    j->len = (size_t)(d - j->buf);
}

void gw_json_begin(struct gw_json *j)
{
    memset(j, 0, sizeof *j);
    json_put(j, "{", 1);
}

int gw_utf8_valid(const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    size_t i = 0;

    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t m = 1; m <= k; m++) {
            if ((s[i + m] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + m] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

void gw_json_str(struct gw_json *j, const char *key, const char *val)
{
    size_t n = strlen(val), start = 0;

    if (j->err || !gw_utf8_valid(val, n))
        return;
    json_key(j, key);
    json_put(j, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)val[i];
        char esc[8];
        const char *e = NULL;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default:
            snprintf(esc, sizeof esc, "\\u%04X", c);
            e = esc;
            break;
        }
        json_put(j, val + start, i - start);
        json_put(j, e, strlen(e));
        start = i + 1;
    }
    json_put(j, val + start, n - start);
    json_put(j, "\"", 1);
}

void gw_json_int(struct gw_json *j, const char *key, long long val)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", val);
    json_key(j, key);
    json_put(j, num, (size_t)n);
}

void gw_json_b64(struct gw_json *j, const char *key, const uint8_t *p, size_t n)
{
    size_t enc = 4 * ((n + 2) / 3);
    char *d;

    if (n > 0x7fffffff / 2)
        j->err = 1;
    json_key(j, key);
    d = json_room(j, enc + 3);
    if (!d)
        return;
    *d++ = '"';
    EVP_EncodeBlock((unsigned char *)d, p, (int)n);
    d[enc] = '"';
    j->len += enc + 2;
}

void gw_json_obj(struct gw_json *j, const char *key)
{
    json_key(j, key);
    json_put(j, "{", 1);
    j->outer = j->members;
    j->members = 0;
}

void gw_json_obj_end(struct gw_json *j)
{
    json_put(j, "}", 1);
    j->members = j->outer;
}

int gw_json_end(struct gw_json *j)
{
    json_put(j, "}\n", 2);
    if (j->err) {
        free(j->buf);
        j->buf = NULL;
        j->len = j->cap = 0;
        return -1;
    }
    j->buf[j->len] = '\0';
    return 0;
}
