/* q_util.c - key names, id checks and reply parsers shared by q_conn.c, q_txn.c and q_sync.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "q_priv.h"
#include "util.h"

const char *q_strerror(enum q_err err)
{
    switch (err) {
    case Q_OK: return "ok";
    case Q_ERR_AGAIN: return "redis unreachable, try again";
    case Q_ERR_NOT_FOUND: return "not found";
    case Q_ERR_BUSY: return "subscriber has a pending transaction";
    case Q_ERR_CONFLICT: return "transaction no longer pending";
    case Q_ERR_INACTIVE: return "subscriber not active";
    case Q_ERR_PROTO: return "unexpected reply from redis";
    case Q_ERR_NOMEM: return "out of memory";
    case Q_ERR_INVALID: return "invalid argument";
    case Q_ERR_IDEM_MISMATCH: return "idempotency key reused for a different request";
    case Q_ERR_BACKLOG: return "the evidence archive is behind, try again";
    }
    return "unknown error";
}

const char *q_state_name(enum q_state s)
{
    switch (s) {
    case Q_PENDING: return "pending";
    case Q_COMPLETED: return "completed";
    case Q_FAILED: return "failed";
    }
    return "unknown";
}

unsigned q_shard_of(const char *msisdn, unsigned shards)
{
    if (shards == 0)
        return 0;
    return util_fnv1a(msisdn) % shards;
}

enum q_err q_key(char *buf, size_t cap, unsigned shard, const char *kind, const char *suffix)
{
    int n = snprintf(buf, cap, "spk:{%u}:%s:%s", shard, kind, suffix);

    if (n < 0 || (size_t)n >= cap)
        return Q_ERR_INVALID;
    return Q_OK;
}

int q_msisdn_ok(const char *m)
{
    size_t n = 0;

    if (!m)
        return 0;
    for (; m[n]; n++) {
        if (m[n] < '0' || m[n] > '9')
            return 0;
    }
    return n >= 1 && n <= 15;
}

enum q_err q_id_shard(const char *id, unsigned shards, unsigned *shard)
{
    size_t i;

    if (!id)
        return Q_ERR_INVALID;
    for (i = 0; i < Q_ID_LEN - 1; i++) {
        if (util_hexval(id[i]) < 0)
            return Q_ERR_INVALID;
    }
    if (id[i] != '\0')
        return Q_ERR_INVALID;
    *shard = (unsigned)(util_hexval(id[0]) * 16 + util_hexval(id[1]));
    /* Well-formed but from a shard this deployment does not have: it cannot exist. */
    if (*shard >= shards)
        return Q_ERR_NOT_FOUND;
    return Q_OK;
}

enum q_err q_id_new(unsigned shard, char id[Q_ID_LEN])
{
    unsigned char rnd[13];

    /* The first octet is the shard: its two digits lead the id (q_id_shard reads them back). */
    if (shard > 255 || RAND_bytes(rnd + 1, sizeof rnd - 1) != 1)
        return Q_ERR_INVALID;
    rnd[0] = (unsigned char)shard;
    util_hex(rnd, sizeof rnd, id);
    return Q_OK;
}

void q_reply_free(redisReply *r)
{
    if (!r)
        return;
    if (r->element) {
        for (size_t i = 0; i < r->elements; i++)
            q_reply_free(r->element[i]);
        free(r->element);
    }
    free(r->str);
    free(r);
}

/* Every field as it is (whatever this hiredis version has), then the two pointers made ours. */
redisReply *q_reply_dup(const redisReply *r)
{
    redisReply *d = malloc(sizeof *d);

    if (!d)
        return NULL;
    *d = *r;
    d->str = NULL;
    d->element = NULL;
    if (r->str) {
        if (!(d->str = malloc(r->len + 1)))
            goto fail;
        memcpy(d->str, r->str, r->len);
        d->str[r->len] = '\0';
    }
    if (r->element) {
        d->elements = 0;
        if (!(d->element = calloc(r->elements ? r->elements : 1, sizeof *d->element)))
            goto fail;
        for (; d->elements < r->elements; d->elements++)
            if (r->element[d->elements] && !(d->element[d->elements] = q_reply_dup(r->element[d->elements])))
                goto fail;
    }
    return d;
fail:
    q_reply_free(d);
    return NULL;
}

int q_reply_is(const redisReply *r, const char *s)
{
    size_t n = strlen(s);

    return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) && (size_t)r->len == n &&
           memcmp(r->str, s, n) == 0;
}

enum q_err q_map_error_reply(const redisReply *r)
{
    static const char *const again[] = {"LOADING",  "BUSY",        "MASTERDOWN", "READONLY",
                                        "TRYAGAIN", "CLUSTERDOWN", "OOM",        NULL};

    if (!r || r->type != REDIS_REPLY_ERROR || !r->str)
        return Q_ERR_PROTO;
    for (size_t i = 0; again[i]; i++) {
        size_t n = strlen(again[i]);
        if ((size_t)r->len >= n && memcmp(r->str, again[i], n) == 0)
            return Q_ERR_AGAIN;
    }
    return Q_ERR_PROTO;
}

/* A bulk string into a fixed buffer; too long is a protocol error, not a truncation. */
static enum q_err copy_str(char *dst, size_t cap, const redisReply *v)
{
    if (v->type != REDIS_REPLY_STRING || (size_t)v->len >= cap)
        return Q_ERR_PROTO;
    memcpy(dst, v->str, (size_t)v->len);
    dst[v->len] = '\0';
    return Q_OK;
}

/* Decimal in a bulk string (as scripts store it) or an integer reply; "" is 0. */
static enum q_err parse_i64(const redisReply *v, int64_t lo, int64_t hi, int64_t *out)
{
    char buf[32];
    char *end = NULL;
    long long x;

    if (v->type == REDIS_REPLY_INTEGER) {
        x = v->integer;
    } else if (v->type == REDIS_REPLY_STRING) {
        if (v->len == 0) {
            x = 0;
        } else {
            if ((size_t)v->len >= sizeof buf)
                return Q_ERR_PROTO;
            memcpy(buf, v->str, (size_t)v->len);
            buf[v->len] = '\0';
            errno = 0;
            x = strtoll(buf, &end, 10);
            if (errno != 0 || end == buf || *end != '\0')
                return Q_ERR_PROTO;
        }
    } else {
        return Q_ERR_PROTO;
    }
    if (x < lo || x > hi)
        return Q_ERR_PROTO;
    *out = x;
    return Q_OK;
}

static int name_is(const redisReply *k, const char *s)
{
    return q_reply_is(k, s);
}

static enum q_err check_pairs(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return Q_ERR_PROTO;
    if (r->elements == 0)
        return Q_ERR_NOT_FOUND;
    for (size_t i = 0; i < r->elements; i++) {
        if (!r->element[i] || r->element[i]->type != REDIS_REPLY_STRING)
            return Q_ERR_PROTO;
    }
    return Q_OK;
}

enum q_err q_parse_txn(const redisReply *r, struct q_txn *t)
{
    enum q_err rc;
    int64_t x;
    int have_id = 0, have_state = 0;

    memset(t, 0, sizeof *t);
    t->display_text = "";
    if ((rc = check_pairs(r)) != Q_OK)
        return rc;
    for (size_t i = 0; i < r->elements && rc == Q_OK; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (name_is(k, "id")) {
            rc = copy_str(t->id, sizeof t->id, v);
            have_id = v->len == Q_ID_LEN - 1;
        } else if (name_is(k, "rp")) {
            rc = copy_str(t->rp, sizeof t->rp, v);
        } else if (name_is(k, "msisdn")) {
            rc = copy_str(t->msisdn, sizeof t->msisdn, v);
        } else if (name_is(k, "client_ref")) {
            rc = copy_str(t->client_ref, sizeof t->client_ref, v);
        } else if (name_is(k, "state")) {
            have_state = 1;
            if (q_reply_is(v, "pending"))
                t->state = Q_PENDING;
            else if (q_reply_is(v, "completed"))
                t->state = Q_COMPLETED;
            else if (q_reply_is(v, "failed"))
                t->state = Q_FAILED;
            else
                rc = Q_ERR_PROTO;
        } else if (name_is(k, "result")) {
            rc = copy_str(t->result, sizeof t->result, v);
        } else if (name_is(k, "etsi_status")) {
            if ((rc = parse_i64(v, 0, 999, &x)) == Q_OK)
                t->etsi_status = (int)x;
        } else if (name_is(k, "detail")) {
            rc = copy_str(t->detail, sizeof t->detail, v);
        } else if (name_is(k, "digest_alg")) {
            if ((rc = parse_i64(v, 0, 255, &x)) == Q_OK)
                t->digest_alg = (uint8_t)x;
        } else if (name_is(k, "digest")) {
            if ((size_t)v->len > sizeof t->digest) {
                rc = Q_ERR_PROTO;
            } else {
                memcpy(t->digest, v->str, (size_t)v->len);
                t->digest_len = (size_t)v->len;
            }
        } else if (name_is(k, "vc")) {
            rc = copy_str(t->vc, sizeof t->vc, v);
        } else if (name_is(k, "display_text")) {
            t->display_text = v->str; /* hiredis NUL-terminates bulk strings */
        } else if (name_is(k, "cntr")) {
            if ((rc = parse_i64(v, 0, INT64_MAX, &x)) == Q_OK)
                t->cntr = (uint64_t)x;
        } else if (name_is(k, "net")) {
            if ((rc = parse_i64(v, INT32_MIN, INT32_MAX, &x)) == Q_OK)
                t->net = (int)x;
        } else if (name_is(k, "created_ms")) {
            rc = parse_i64(v, INT64_MIN, INT64_MAX, &t->created_ms);
        } else if (name_is(k, "deadline_ms")) {
            rc = parse_i64(v, INT64_MIN, INT64_MAX, &t->deadline_ms);
        } else if (name_is(k, "finished_ms")) {
            rc = parse_i64(v, INT64_MIN, INT64_MAX, &t->finished_ms);
        } else if (name_is(k, "sent")) {
            if ((rc = parse_i64(v, 0, 1, &x)) == Q_OK)
                t->sent = (int)x;
        } else if (name_is(k, "resent")) {
            if ((rc = parse_i64(v, 0, UINT32_MAX, &x)) == Q_OK)
                t->resent = (unsigned)x;
        } else if (name_is(k, "far_link")) {
            rc = copy_str(t->far_link, sizeof t->far_link, v);
        } else if (name_is(k, "far_ref")) {
            rc = copy_str(t->far_ref, sizeof t->far_ref, v);
        } else if (name_is(k, "resync")) {
            if ((rc = parse_i64(v, 0, 1, &x)) == Q_OK)
                t->resync = (int)x;
        } else if (name_is(k, "signature")) {
            t->signature = v->len ? (const uint8_t *)v->str : NULL;
            t->sig_len = (size_t)v->len;
        } else if (name_is(k, "cert")) {
            t->cert = v->len ? (const uint8_t *)v->str : NULL;
            t->cert_len = (size_t)v->len;
        } else if (name_is(k, "ocsp")) {
            t->ocsp = v->len ? (const uint8_t *)v->str : NULL;
            t->ocsp_len = (size_t)v->len;
        } else if (name_is(k, "format")) {
            if ((rc = parse_i64(v, Q_FORMAT_RAW, Q_FORMAT_CMS, &x)) == Q_OK)
                t->format = (uint8_t)x;
        } else if (name_is(k, "doc_digest")) {
            if ((size_t)v->len > sizeof t->doc_digest) {
                rc = Q_ERR_PROTO;
            } else {
                memcpy(t->doc_digest, v->str, (size_t)v->len);
                t->doc_digest_len = (size_t)v->len;
            }
        } else if (name_is(k, "signing_time")) {
            rc = parse_i64(v, 0, INT64_MAX, &t->signing_time);
        } else if (name_is(k, "op")) {
            if ((rc = parse_i64(v, Q_OP_SIGN, Q_OP_PUTCERT, &x)) == Q_OK)
                t->op = (uint8_t)x;
        } else if (name_is(k, "key_alg")) {
            if ((rc = parse_i64(v, 0, 255, &x)) == Q_OK)
                t->key_alg = (uint8_t)x;
        } else if (name_is(k, "payload")) {
            t->payload = v->len ? (const uint8_t *)v->str : NULL;
            t->payload_len = (size_t)v->len;
        } else if (name_is(k, "receipt_ms")) {
            rc = parse_i64(v, 0, INT64_MAX, &t->receipt_ms);
        } else if (name_is(k, "receipt")) {
            rc = copy_str(t->receipt, sizeof t->receipt, v);
        } else if (name_is(k, "cb_url")) {
            rc = copy_str(t->cb_url, sizeof t->cb_url, v);
        } else if (name_is(k, "cb_kind")) {
            if ((rc = parse_i64(v, 0, 255, &x)) == Q_OK)
                t->cb_kind = (uint8_t)x;
        } else if (name_is(k, "cb_ctx")) {
            rc = copy_str(t->cb_ctx, sizeof t->cb_ctx, v);
        } else if (name_is(k, "cb_state")) {
            if (q_reply_is(v, "pending"))
                t->cb_state = Q_CB_PENDING;
            else if (q_reply_is(v, "delivered"))
                t->cb_state = Q_CB_DELIVERED;
            else if (q_reply_is(v, "failed"))
                t->cb_state = Q_CB_FAILED;
            else
                rc = Q_ERR_PROTO;
        } else if (name_is(k, "cb_tries")) {
            if ((rc = parse_i64(v, 0, UINT32_MAX, &x)) == Q_OK)
                t->cb_tries = (unsigned)x;
        }
        /* Unknown fields are skipped: a newer gateway may add some. */
    }
    if (rc == Q_OK && (!have_id || !have_state))
        rc = Q_ERR_PROTO;
    return rc;
}

/* 64 hex digits (either case) into 32 octets. */
static enum q_err parse_hex32(const redisReply *v, uint8_t out[32])
{
    if (v->type != REDIS_REPLY_STRING || v->len != 64)
        return Q_ERR_PROTO;
    for (size_t i = 0; i < 32; i++) {
        int hi = util_hexval_any(v->str[2 * i]), lo = util_hexval_any(v->str[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return Q_ERR_PROTO;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return Q_OK;
}

enum q_err q_parse_sub(const redisReply *r, struct q_sub *s)
{
    enum q_err rc;
    int64_t x;
    int have_serial = 0, have_spki = 0;

    memset(s, 0, sizeof *s);
    if ((rc = check_pairs(r)) != Q_OK)
        return rc;
    for (size_t i = 0; i < r->elements && rc == Q_OK; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (name_is(k, "msisdn")) {
            rc = copy_str(s->msisdn, sizeof s->msisdn, v);
        } else if (name_is(k, "net")) {
            if ((rc = parse_i64(v, INT32_MIN, INT32_MAX, &x)) == Q_OK)
                s->net = (int)x;
        } else if (name_is(k, "iccid")) {
            rc = copy_str(s->iccid, sizeof s->iccid, v);
        } else if (name_is(k, "kv")) {
            if ((rc = parse_i64(v, 0, 255, &x)) == Q_OK)
                s->kv = (uint8_t)x;
        } else if (name_is(k, "cntr")) {
            if ((rc = parse_i64(v, 0, INT64_MAX, &x)) == Q_OK)
                s->cntr = (uint64_t)x;
        } else if (name_is(k, "status")) {
            rc = copy_str(s->status, sizeof s->status, v);
        } else if (name_is(k, "cert")) {
            s->cert = v->len ? (const uint8_t *)v->str : NULL;
            s->cert_len = (size_t)v->len;
        } else if (name_is(k, "pin_serial")) {
            rc = copy_str(s->pin_serial, sizeof s->pin_serial, v);
            have_serial = v->len > 0;
        } else if (name_is(k, "pin_spki")) {
            rc = parse_hex32(v, s->pin_spki);
            have_spki = 1;
        } else if (name_is(k, "repin")) {
            s->repin = q_reply_is(v, "1");
        } else if (name_is(k, "cs")) {
            s->cs = q_reply_is(v, "1");
        }
    }
    /* Half a pin is no pin: the binding check then treats the subscriber as new. */
    s->pinned = rc == Q_OK && have_serial && have_spki;
    return rc;
}

enum q_err q_script_word(const redisReply *r)
{
    if (q_reply_is(r, "OK"))
        return Q_OK;
    if (q_reply_is(r, "NOT_FOUND"))
        return Q_ERR_NOT_FOUND;
    if (q_reply_is(r, "CONFLICT") || q_reply_is(r, "EXISTS"))
        return Q_ERR_CONFLICT;
    return Q_ERR_PROTO;
}
