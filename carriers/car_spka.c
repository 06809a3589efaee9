/*
 * car_spka.c - SPKA/1 application data: commands and responses.
 *
 * The decoders read what a SIM (or, in the simulator, the gateway) sent
 * through a carrier, so every length is checked against what is left before
 * it is used, and a tag seen twice is refused rather than letting the second
 * copy silently win.
 */
#include "car_spka.h"

#include <stdio.h>
#include <string.h>

#include "car_ota.h"

#define SPKA_CMD_HDR  10 /* version command txn_ref(8) */
#define SPKA_RESP_HDR 11 /* ... result */
#define SPKA_VC_LEN   4

size_t spka_digest_len(uint8_t alg)
{
    switch (alg) {
    case SPKA_SHA256: return 32;
    case SPKA_SHA384: return 48;
    case SPKA_SHA512: return 64;
    default: return 0;
    }
}

const char *spka_result_name(uint8_t result)
{
    static const char *const names[] = {
        "OK",     "USER_CANCEL", "USER_TIMEOUT", "PIN_BLOCKED", "CARD_BLOCKED",
        "NO_KEY", "KEY_EXISTS",  "BAD_COMMAND",  "UNSUPPORTED", "STORAGE_FULL",
    };

    if (result < sizeof names / sizeof names[0])
        return names[result];
    if (result == SPKA_INTERNAL_ERROR)
        return "INTERNAL_ERROR";
    return "UNKNOWN";
}

uint8_t spka_digest_code(enum dg_alg alg)
{
    switch (alg) {
    case DG_SHA256: return SPKA_SHA256;
    case DG_SHA384: return SPKA_SHA384;
    case DG_SHA512: return SPKA_SHA512;
    case DG_NONE: break;
    }
    return 0;
}

enum dg_alg spka_digest_alg(uint8_t code)
{
    switch (code) {
    case SPKA_SHA256: return DG_SHA256;
    case SPKA_SHA384: return DG_SHA384;
    case SPKA_SHA512: return DG_SHA512;
    default: return DG_NONE;
    }
}

enum car_outcome spka_outcome(uint8_t por_status, uint8_t result, char *detail, size_t detail_len)
{
    static const enum car_outcome by_result[] = {
        [SPKA_OK] = CAR_OUT_OK,
        [SPKA_USER_CANCEL] = CAR_OUT_USER_CANCEL,
        [SPKA_USER_TIMEOUT] = CAR_OUT_EXPIRED,
        [SPKA_PIN_BLOCKED] = CAR_OUT_PIN_BLOCKED,
        [SPKA_CARD_BLOCKED] = CAR_OUT_CARD_BLOCKED,
        [SPKA_NO_KEY] = CAR_OUT_NO_KEY,
        [SPKA_KEY_EXISTS] = CAR_OUT_KEY_EXISTS,
        [SPKA_BAD_COMMAND] = CAR_OUT_BAD_COMMAND,
        [SPKA_UNSUPPORTED] = CAR_OUT_UNSUPPORTED,
        [SPKA_STORAGE_FULL] = CAR_OUT_STORAGE_FULL,
    };
    enum car_outcome o;

    if (detail_len)
        detail[0] = '\0';
    switch (por_status) {
    case OTA_POR_OK: break;
    case OTA_POR_CNTR_LOW: return CAR_OUT_COUNTER_LOW;
    case OTA_POR_MORE_TIME: return CAR_OUT_MORE_TIME;
    default:
        if (detail_len)
            snprintf(detail, detail_len, "the SIM refused the secured command (PoR status %u)", por_status);
        return CAR_OUT_OTA_ERROR;
    }
    /* The SIM's own INTERNAL_ERROR and any code SPKA/1 does not define. */
    o = result < sizeof(by_result) / sizeof(by_result[0]) ? by_result[result] : CAR_OUT_INTERNAL_ERROR;
    if (o != CAR_OUT_OK && detail_len)
        snprintf(detail, detail_len, "%s", spka_result_name(result));
    return o;
}

/* ---- writing ---- */

struct wbuf {
    uint8_t *p;
    size_t cap, len;
};

static enum car_err put(struct wbuf *w, const void *src, size_t n)
{
    if (n > w->cap - w->len)
        return CAR_ERR_TOO_LONG;
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
    return CAR_OK;
}

/* tag, minimal BER definite length, value */
static enum car_err put_tlv(struct wbuf *w, uint8_t tag, const uint8_t *v, size_t n)
{
    uint8_t hdr[4];
    size_t h = 0;
    enum car_err rc;

    if (n > 0xFFFF)
        return CAR_ERR_TOO_LONG;
    hdr[h++] = tag;
    if (n >= 0x100) {
        hdr[h++] = 0x82;
        hdr[h++] = (uint8_t)(n >> 8);
    } else if (n >= 0x80) {
        hdr[h++] = 0x81;
    }
    hdr[h++] = (uint8_t)n;
    rc = put(w, hdr, h);
    if (rc == CAR_OK)
        rc = put(w, v, n);
    return rc;
}

static enum car_err put_byte_tlv(struct wbuf *w, uint8_t tag, uint8_t v)
{
    return put_tlv(w, tag, &v, 1);
}

static int is_vc(const uint8_t *vc, size_t n)
{
    if (n != SPKA_VC_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (vc[i] < '0' || vc[i] > '9')
            return 0;
    }
    return 1;
}

static int text_ok(const uint8_t *t, size_t n)
{
    return n >= 1 && n <= 1 + SPKA_MAX_TEXT && (t[0] == 0x04 || t[0] == 0x08);
}

/* What the spec constrains, checked before a single octet is written. */
static enum car_err check_command(const struct spka_command *c)
{
    if (c->cmd < SPKA_SIGN || c->cmd > SPKA_INFO)
        return CAR_ERR_UNSUPPORTED;
    if (c->cmd == SPKA_SIGN && (!c->key_ref || !c->digest_alg || !c->digest || !c->text))
        return CAR_ERR_INVALID;
    if (c->digest && spka_digest_len(c->digest_alg) != c->digest_len)
        return CAR_ERR_INVALID;
    if (c->text && !text_ok(c->text, c->text_len))
        return c->text_len > 1 + SPKA_MAX_TEXT ? CAR_ERR_TOO_LONG : CAR_ERR_INVALID;
    if (c->vc && !is_vc(c->vc, c->vc_len))
        return CAR_ERR_INVALID;
    if (c->cert && !c->cert_len)
        return CAR_ERR_INVALID;
    return CAR_OK;
}

enum car_err spka_encode_command(const struct spka_command *c, uint8_t *out, size_t cap, size_t *outlen)
{
    struct wbuf w = {out, cap, 0};
    uint8_t hdr[2] = {SPKA_VERSION, 0};
    uint8_t tmo[2];
    enum car_err rc;

    if (!c || !out || !outlen)
        return CAR_ERR_INVALID;
    *outlen = 0;
    rc = check_command(c);
    if (rc != CAR_OK)
        return rc;
    hdr[1] = c->cmd;
    tmo[0] = (uint8_t)(c->timeout_s >> 8);
    tmo[1] = (uint8_t)c->timeout_s;
    rc = put(&w, hdr, 2);
    if (rc == CAR_OK)
        rc = put(&w, c->txn_ref, 8);
    if (rc == CAR_OK && c->key_ref)
        rc = put_byte_tlv(&w, SPKA_T_KEY_REF, c->key_ref);
    if (rc == CAR_OK && c->digest_alg)
        rc = put_byte_tlv(&w, SPKA_T_DIGEST_ALG, c->digest_alg);
    if (rc == CAR_OK && c->digest)
        rc = put_tlv(&w, SPKA_T_DIGEST, c->digest, c->digest_len);
    if (rc == CAR_OK && c->text)
        rc = put_tlv(&w, SPKA_T_TEXT, c->text, c->text_len);
    if (rc == CAR_OK && c->vc)
        rc = put_tlv(&w, SPKA_T_VC, c->vc, c->vc_len);
    if (rc == CAR_OK && c->has_timeout)
        rc = put_tlv(&w, SPKA_T_TIMEOUT, tmo, 2);
    if (rc == CAR_OK && c->key_alg)
        rc = put_byte_tlv(&w, SPKA_T_KEY_ALG, c->key_alg);
    if (rc == CAR_OK && c->cert)
        rc = put_tlv(&w, SPKA_T_CERT, c->cert, c->cert_len);
    if (rc == CAR_OK)
        *outlen = w.len;
    return rc;
}

enum car_err spka_encode_response(const struct spka_response *r, uint8_t *out, size_t cap, size_t *outlen)
{
    struct wbuf w = {out, cap, 0};
    uint8_t hdr[2] = {SPKA_VERSION, 0};
    enum car_err rc;

    if (!r || !out || !outlen)
        return CAR_ERR_INVALID;
    *outlen = 0;
    hdr[1] = r->cmd;
    rc = put(&w, hdr, 2);
    if (rc == CAR_OK)
        rc = put(&w, r->txn_ref, 8);
    if (rc == CAR_OK)
        rc = put(&w, &r->result, 1);
    if (rc == CAR_OK && r->signature)
        rc = put_tlv(&w, SPKA_T_SIGNATURE, r->signature, r->sig_len);
    if (rc == CAR_OK && r->spki)
        rc = put_tlv(&w, SPKA_T_SPKI, r->spki, r->spki_len);
    if (rc == CAR_OK && r->version)
        rc = put_tlv(&w, SPKA_T_VERSION, r->version, r->version_len);
    if (rc == CAR_OK && r->cmd == SPKA_INFO && r->pin_tries >= 0 && r->pin_tries <= 0xFF)
        rc = put_byte_tlv(&w, SPKA_T_PIN_TRIES, (uint8_t)r->pin_tries);
    if (rc == CAR_OK && r->key_refs)
        rc = put_tlv(&w, SPKA_T_KEY_REFS, r->key_refs, r->key_refs_len);
    if (rc == CAR_OK)
        *outlen = w.len;
    return rc;
}

/* ---- reading ---- */

struct tlv {
    uint8_t tag;
    const uint8_t *v;
    size_t len;
};

/*
 * Read the TLV at in[*pos]; advance *pos past it.  Refuses 0x80
 * (indefinite) and 0x83 and longer forms, and any length that overruns.
 */
static enum car_err next_tlv(const uint8_t *in, size_t len, size_t *pos, struct tlv *t)
{
    size_t p = *pos;
    size_t n;

    if (len - p < 2)
        return CAR_ERR_MALFORMED;
    t->tag = in[p++];
    n = in[p++];
    if (n == 0x81) {
        if (len - p < 1)
            return CAR_ERR_MALFORMED;
        n = in[p++];
    } else if (n == 0x82) {
        if (len - p < 2)
            return CAR_ERR_MALFORMED;
        n = ((size_t)in[p] << 8) | in[p + 1];
        p += 2;
    } else if (n >= 0x80) {
        return CAR_ERR_MALFORMED;
    }
    if (n > len - p)
        return CAR_ERR_MALFORMED;
    t->v = in + p;
    t->len = n;
    *pos = p + n;
    return CAR_OK;
}

/* Bind a variable-length field once; a second occurrence is malformed. */
static enum car_err take(const struct tlv *t, const uint8_t **v, size_t *n)
{
    if (*v)
        return CAR_ERR_MALFORMED;
    *v = t->v;
    *n = t->len;
    return CAR_OK;
}

/* Bind a one-octet field once (0 is not a valid value for any of them). */
static enum car_err take_byte(const struct tlv *t, uint8_t *v)
{
    if (t->len != 1 || *v || t->v[0] == 0)
        return CAR_ERR_MALFORMED;
    *v = t->v[0];
    return CAR_OK;
}

static enum car_err command_field(const struct tlv *t, struct spka_command *c)
{
    switch (t->tag) {
    case SPKA_T_KEY_REF: return take_byte(t, &c->key_ref);
    case SPKA_T_DIGEST_ALG: return take_byte(t, &c->digest_alg);
    case SPKA_T_DIGEST: return take(t, &c->digest, &c->digest_len);
    case SPKA_T_TEXT: return take(t, &c->text, &c->text_len);
    case SPKA_T_VC: return take(t, &c->vc, &c->vc_len);
    case SPKA_T_TIMEOUT:
        if (t->len != 2 || c->has_timeout)
            return CAR_ERR_MALFORMED;
        c->timeout_s = (uint16_t)((t->v[0] << 8) | t->v[1]);
        c->has_timeout = 1;
        return CAR_OK;
    case SPKA_T_KEY_ALG: return take_byte(t, &c->key_alg);
    case SPKA_T_CERT: return take(t, &c->cert, &c->cert_len);
    default: return CAR_OK; /* unknown tags are skipped (spec s.4) */
    }
}

enum car_err spka_decode_command(const uint8_t *in, size_t len, struct spka_command *out)
{
    size_t pos = SPKA_CMD_HDR;
    struct tlv t;
    enum car_err rc = CAR_OK;

    if (!in || !out)
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len < SPKA_CMD_HDR)
        return CAR_ERR_MALFORMED;
    if (in[0] != SPKA_VERSION)
        return CAR_ERR_UNSUPPORTED;
    out->cmd = in[1];
    memcpy(out->txn_ref, in + 2, 8);
    while (pos < len && rc == CAR_OK) {
        rc = next_tlv(in, len, &pos, &t);
        if (rc == CAR_OK)
            rc = command_field(&t, out);
    }
    if (rc != CAR_OK)
        goto out;
    /* The SIM must not sign a digest whose length contradicts its algorithm. */
    if (out->digest && spka_digest_len(out->digest_alg) != out->digest_len)
        rc = CAR_ERR_MALFORMED;
    else if (out->text && !text_ok(out->text, out->text_len))
        rc = CAR_ERR_MALFORMED;
    else if (out->vc && !is_vc(out->vc, out->vc_len))
        rc = CAR_ERR_MALFORMED;
    else if (out->cmd < SPKA_SIGN || out->cmd > SPKA_INFO)
        rc = CAR_ERR_UNSUPPORTED;
out:
    if (rc != CAR_OK && rc != CAR_ERR_UNSUPPORTED) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

static enum car_err response_field(const struct tlv *t, struct spka_response *r)
{
    switch (t->tag) {
    case SPKA_T_SIGNATURE: return take(t, &r->signature, &r->sig_len);
    case SPKA_T_SPKI: return take(t, &r->spki, &r->spki_len);
    case SPKA_T_VERSION: return take(t, &r->version, &r->version_len);
    case SPKA_T_PIN_TRIES:
        if (t->len != 1 || r->pin_tries >= 0)
            return CAR_ERR_MALFORMED;
        r->pin_tries = t->v[0];
        return CAR_OK;
    case SPKA_T_KEY_REFS: return take(t, &r->key_refs, &r->key_refs_len);
    default: return CAR_OK;
    }
}

enum car_err spka_decode_response(const uint8_t *in, size_t len, struct spka_response *out)
{
    size_t pos = SPKA_RESP_HDR;
    struct tlv t;
    enum car_err rc = CAR_OK;

    if (!in || !out)
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    out->pin_tries = -1;
    if (len < SPKA_RESP_HDR)
        return CAR_ERR_MALFORMED;
    if (in[0] != SPKA_VERSION)
        return CAR_ERR_UNSUPPORTED;
    out->cmd = in[1];
    memcpy(out->txn_ref, in + 2, 8);
    out->result = in[10];
    while (pos < len && rc == CAR_OK) {
        rc = next_tlv(in, len, &pos, &t);
        if (rc == CAR_OK)
            rc = response_field(&t, out);
    }
    if (rc != CAR_OK) {
        memset(out, 0, sizeof *out);
        out->pin_tries = -1;
    }
    return rc;
}
