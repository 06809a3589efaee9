/* util.c - see util.h. */
#include "util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

char *util_hex(const uint8_t *d, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * n] = '\0';
    return out;
}

int util_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int util_hexval_any(char c)
{
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return util_hexval(c);
}

uint32_t util_fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

long util_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t pad = 0, need;
    int n;

    if (inlen == 0)
        return 0; /* the encoding of nothing (RFC 4648 section 10) */
    if (inlen % 4 != 0 || inlen > 0x7fffffff)
        return -1;
    if (in[inlen - 1] == '=')
        pad++;
    if (in[inlen - 2] == '=')
        pad++;
    /* EVP_DecodeBlock skips no errors but accepts padding in the middle; check first. */
    for (size_t i = 0; i < inlen - pad; i++)
        if (!memchr(alphabet, in[i], sizeof(alphabet) - 1))
            return -1;
    /* The bits the padding leaves unused must be zero (RFC 4648 section 3.5), so
     * each octet string has exactly one encoding: "QR==" is not "QQ==". */
    if (pad) {
        size_t v = (size_t)((const char *)memchr(alphabet, in[inlen - pad - 1], sizeof(alphabet) - 1) - alphabet);
        if (v & (pad == 1 ? 0x3u : 0xFu))
            return -1;
    }
    need = inlen / 4 * 3;
    if (need - pad > cap)
        return -1;
    {
        uint8_t *tmp = malloc(need);
        if (!tmp)
            return -1;
        n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)inlen);
        if (n < 0 || (size_t)n != need) {
            free(tmp);
            return -1;
        }
        memcpy(out, tmp, need - pad);
        free(tmp);
    }
    return (long)(need - pad);
}

char *util_b64_encode(const uint8_t *in, size_t len)
{
    size_t outlen = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(outlen);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

char *util_iso8601(time_t t, char out[21])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        out[0] = '\0'; /* a year beyond 9999 */
    return out;
}

int util_utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
    static const uint32_t min_of[4] = {0, 0x80, 0x800, 0x10000};
    unsigned char c = s[*i];
    int more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    uint32_t v;

    if (more < 0 || (size_t)more >= n - *i)
        return -1;
    v = more ? c & (0x3F >> more) : c;
    for (int k = 1; k <= more; k++) {
        if ((s[*i + (size_t)k] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[*i + (size_t)k] & 0x3F);
    }
    if (v < min_of[more] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *i += (size_t)more + 1;
    *cp = v;
    return 0;
}

size_t util_utf8_put(uint32_t cp, char o[4])
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
