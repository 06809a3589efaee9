/* gw_util.c - see gw_util.h. */
#include "gw_util.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t gw_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long gw_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap)
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

char *gw_b64_encode(const uint8_t *in, size_t len)
{
    size_t outlen = 4 * ((len + 2) / 3) + 1;
    char *out = malloc(outlen);
    if (!out)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
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

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int gw_txn_ref_from_id(const char *id, uint8_t ref[8])
{
    if (strlen(id) < 18)
        return -1;
    for (int i = 0; i < 8; i++) {
        int hi = hexval(id[2 + 2 * i]), lo = hexval(id[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -1;
        ref[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
