/*
 * q_sync.c - blocking registry access for the admin CLI and tests.
 * One hiredis context, no event loop; every function is one round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "cfg.h"
#include "q_priv.h"
#include "q_sentinel.h"
#include "util.h"

struct q_sync {
    redisContext *c;
    unsigned shards;
    int events; /* q_sync_events: q_sync_docs_put appends the archive's request events */
};

void q_sync_events(struct q_sync *qs, int on)
{
    if (qs)
        qs->events = on != 0;
}

static void why_set(char *why, size_t whylen, const char *what, const char *detail)
{
    if (why && whylen)
        snprintf(why, whylen, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

/* Run one command; an error reply becomes err (and *rp is freed). */
static enum q_err run(struct q_sync *qs, redisReply **rp, int argc, const char **argv, const size_t *len)
{
    redisReply *r = redisCommandArgv(qs->c, argc, argv, len);
    enum q_err rc = Q_OK;

    *rp = NULL;
    if (!r)
        return Q_ERR_AGAIN; /* I/O error: the context is dead, the caller reconnects */
    if (r->type == REDIS_REPLY_ERROR) {
        rc = q_map_error_reply(r);
        freeReplyObject(r);
        return rc;
    }
    *rp = r;
    return rc;
}

enum q_err q_sync_connect(const struct cfg_redis *cfg, struct q_sync **out, char *why, size_t whylen)
{
    struct q_sync *qs = NULL;
    struct timeval tv;
    redisReply *r = NULL;
    enum q_err rc = Q_ERR_INVALID;
    unsigned ms;
    char host[256];
    unsigned port;

    *out = NULL;
    if (!cfg || cfg->shards < 1 || cfg->shards > 256) {
        why_set(why, whylen, "redis.shards must be 1..256", NULL);
        goto out;
    }
    rc = Q_ERR_NOMEM;
    qs = calloc(1, sizeof *qs);
    if (!qs)
        goto out;
    qs->shards = cfg->shards;
    ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 2000;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    snprintf(host, sizeof host, "%s", cfg->host);
    port = cfg->port;
    if (cfg->n_sentinels && q_sentinel_master_sync(cfg, host, sizeof host, &port, why, whylen) != 0) {
        rc = Q_ERR_AGAIN;
        goto out;
    }
    if (cfg->unix_socket[0] && !cfg->n_sentinels)
        qs->c = redisConnectUnixWithTimeout(cfg->unix_socket, tv);
    else
        qs->c = redisConnectWithTimeout(host, (int)port, tv);
    rc = Q_ERR_AGAIN;
    if (!qs->c || qs->c->err) {
        why_set(why, whylen, "cannot connect to redis", qs->c ? qs->c->errstr : "out of memory");
        goto out;
    }
    /* The same bound for every command: an admin tool must not hang on a stuck server. */
    if (redisSetTimeout(qs->c, tv) != REDIS_OK) {
        why_set(why, whylen, "cannot set the redis timeout", NULL);
        goto out;
    }
    if (cfg->password[0]) {
        const char *argv[2] = {"AUTH", cfg->password};
        size_t len[2] = {4, strlen(cfg->password)};
        if ((rc = run(qs, &r, 2, argv, len)) != Q_OK) {
            /* Never the password, and not Redis's text either: it may echo arguments. */
            why_set(why, whylen, "redis refused AUTH", NULL);
            goto out;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (cfg->db != 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%u", cfg->db);
        const char *argv[2] = {"SELECT", db};
        size_t len[2] = {6, (size_t)n};
        if ((rc = run(qs, &r, 2, argv, len)) != Q_OK) {
            why_set(why, whylen, "redis refused SELECT", NULL);
            goto out;
        }
        freeReplyObject(r);
        r = NULL;
    }
    *out = qs;
    qs = NULL;
    rc = Q_OK;
out:
    q_sync_free(qs);
    return rc;
}

void q_sync_free(struct q_sync *qs)
{
    if (!qs)
        return;
    if (qs->c)
        redisFree(qs->c);
    free(qs);
}

static enum q_err sub_key(const struct q_sync *qs, const char *msisdn, char key[Q_KEY_MAX])
{
    if (!q_msisdn_ok(msisdn))
        return Q_ERR_INVALID;
    return q_key(key, Q_KEY_MAX, q_shard_of(msisdn, qs->shards), "sub", msisdn);
}

/*
 * KEYS 1 sub.  ARGV 1 the new certificate, 2 its pin serial, 3 its SPKI hash
 * (hex), both "" when unknown.  A pinned subscriber gets repin when the new
 * certificate's pin differs from the stored one (or, without a pin given,
 * when the certificate octets change).  Comparing with the pin, not with the
 * stored certificate, means an import also approves a certificate that got
 * into the registry some other way.
 */
static const char repin_lua[] = "local ps = redis.call('HGET', KEYS[1], 'pin_serial')\n"
                                "if not ps then return 0 end\n"
                                "local change\n"
                                "if ARGV[2] ~= '' then\n"
                                "  change = ps ~= ARGV[2] or redis.call('HGET', KEYS[1], 'pin_spki') ~= ARGV[3]\n"
                                "else\n"
                                "  change = redis.call('HGET', KEYS[1], 'cert') ~= ARGV[1]\n"
                                "end\n"
                                "if change then redis.call('HSET', KEYS[1], 'repin', '1') end\n"
                                "return 0\n";

enum q_err q_sync_sub_put(struct q_sync *qs, const struct q_sub *sub)
{
    char key[Q_KEY_MAX], net[16], kv[8];
    const char *argv[18];
    size_t len[18];
    redisReply *r = NULL;
    enum q_err rc;
    int argc = 0, n, replies;

    if (!qs || !sub || !sub->status[0] || strnlen(sub->iccid, sizeof sub->iccid) >= sizeof sub->iccid ||
        strnlen(sub->status, sizeof sub->status) >= sizeof sub->status || (sub->cert_len && !sub->cert))
        return Q_ERR_INVALID;
    if ((rc = sub_key(qs, sub->msisdn, key)) != Q_OK)
        return rc;
    n = snprintf(net, sizeof net, "%d", sub->net);
    if (n < 0 || (size_t)n >= sizeof net)
        return Q_ERR_INVALID;
    snprintf(kv, sizeof kv, "%u", (unsigned)sub->kv);

    /*
     * One atomic step: the repin check (a small EVAL, when a cert is given),
     * HSET of the given fields (cntr, busy and the pin are left alone, so
     * re-provisioning never reuses an OTA counter or frees a subscriber
     * mid-transaction) and HDEL cert when there is none, in MULTI/EXEC so a
     * reader never sees the new status with the old cert.
     */
    redisAppendCommand(qs->c, "MULTI");
    if (sub->cert_len) {
        /* A pinned subscriber whose certificate changes may re-pin once (before the HSET sees the new one). */
        char spki[65] = "";
        const char *ev[7] = {"EVAL", repin_lua, "1", key, (const char *)sub->cert, "", ""};
        size_t evlen[7] = {4, strlen(repin_lua), 1, strlen(key), sub->cert_len, 0, 0};
        if (sub->pinned && sub->pin_serial[0]) {
            util_hex(sub->pin_spki, sizeof(sub->pin_spki), spki);
            ev[5] = sub->pin_serial;
            evlen[5] = strnlen(sub->pin_serial, sizeof(sub->pin_serial));
            ev[6] = spki;
            evlen[6] = 64;
        }
        redisAppendCommandArgv(qs->c, 7, ev, evlen);
    }
#define ADD(p, l) (argv[argc] = (p), len[argc] = (l), argc++)
    ADD("HSET", 4);
    ADD(key, strlen(key));
    ADD("msisdn", 6);
    ADD(sub->msisdn, strlen(sub->msisdn));
    ADD("net", 3);
    ADD(net, strlen(net));
    ADD("iccid", 5);
    ADD(sub->iccid, strlen(sub->iccid));
    ADD("kv", 2);
    ADD(kv, strlen(kv));
    ADD("status", 6);
    ADD(sub->status, strlen(sub->status));
    if (sub->cert_len) {
        ADD("cert", 4);
        ADD((const char *)sub->cert, sub->cert_len);
    }
    if (sub->cs) {
        ADD("cs", 2);
        ADD("1", 1);
    }
#undef ADD
    redisAppendCommandArgv(qs->c, argc, argv, len);
    /* What the entry no longer has: no certificate, not on the SIM PKI. */
    if (!sub->cert_len || !sub->cs)
        redisAppendCommand(qs->c, "HDEL %s %s %s", key, sub->cert_len ? "cs" : "cert", sub->cs ? "cert" : "cs");
    redisAppendCommand(qs->c, "EXEC");

    /* MULTI, [EVAL], HSET, [HDEL], EXEC: the last answer carries the outcome. */
    replies = 3 + (sub->cert_len != 0) + (!sub->cert_len || !sub->cs);
    for (int i = 0; i < replies; i++) {
        void *rv = NULL;
        if (redisGetReply(qs->c, &rv) != REDIS_OK) {
            rc = Q_ERR_AGAIN;
            goto out;
        }
        r = rv;
        if (r->type == REDIS_REPLY_ERROR && rc == Q_OK)
            rc = q_map_error_reply(r);
        /* EXEC answers an array: a command that failed inside it (WRONGTYPE) shows up there. */
        for (size_t j = 0; r->type == REDIS_REPLY_ARRAY && j < r->elements && rc == Q_OK; j++) {
            if (r->element[j] && r->element[j]->type == REDIS_REPLY_ERROR)
                rc = Q_ERR_PROTO;
        }
        freeReplyObject(r);
        r = NULL;
    }
out:
    return rc;
}

/* Raise sub->cntr to its ICCID's counter floor (spk:{N}:ctr:<iccid>), which outlives the record. */
static enum q_err floor_of(struct q_sync *qs, const char *msisdn, struct q_sub *sub)
{
    char key[Q_KEY_MAX];
    const char *argv[2] = {"GET", key};
    size_t len[2];
    redisReply *r = NULL;
    enum q_err rc;
    char *end;
    unsigned long long v;

    if (!sub->iccid[0])
        return Q_OK;
    if ((rc = q_key(key, sizeof key, q_shard_of(msisdn, qs->shards), "ctr", sub->iccid)) != Q_OK)
        return rc;
    len[0] = 3;
    len[1] = strlen(key);
    if ((rc = run(qs, &r, 2, argv, len)) != Q_OK)
        return rc;
    if (r->type == REDIS_REPLY_STRING) {
        errno = 0;
        v = strtoull(r->str, &end, 10);
        if (errno || end == r->str || *end)
            rc = Q_ERR_PROTO;
        else if (v > sub->cntr)
            sub->cntr = v;
    } else if (r->type != REDIS_REPLY_NIL) {
        rc = Q_ERR_PROTO;
    }
    freeReplyObject(r);
    return rc;
}

enum q_err q_sync_sub_get(struct q_sync *qs, const char *msisdn, struct q_sub *out, uint8_t **cert_out)
{
    char key[Q_KEY_MAX];
    const char *argv[2] = {"HGETALL", key};
    size_t len[2];
    redisReply *r = NULL;
    enum q_err rc;

    if (cert_out)
        *cert_out = NULL;
    if (!qs || !out)
        return Q_ERR_INVALID;
    if ((rc = sub_key(qs, msisdn, key)) != Q_OK)
        goto out;
    len[0] = 7;
    len[1] = strlen(key);
    if ((rc = run(qs, &r, 2, argv, len)) != Q_OK)
        goto out;
    if ((rc = q_parse_sub(r, out)) != Q_OK)
        goto out;
    if (!out->msisdn[0])
        memcpy(out->msisdn, msisdn, strlen(msisdn) + 1);
    if (cert_out && out->cert_len) {
        *cert_out = malloc(out->cert_len);
        if (!*cert_out) {
            rc = Q_ERR_NOMEM;
            goto out;
        }
        memcpy(*cert_out, out->cert, out->cert_len);
    }
    /* The reply is freed below: the pointer must not outlive it. */
    out->cert = cert_out ? *cert_out : NULL;
    if (!cert_out)
        out->cert_len = 0;
    rc = floor_of(qs, msisdn, out);
out:
    if (rc != Q_OK && out)
        memset(out, 0, sizeof *out);
    freeReplyObject(r);
    return rc;
}

enum q_err q_sync_sub_del(struct q_sync *qs, const char *msisdn)
{
    char key[Q_KEY_MAX];
    const char *argv[2] = {"DEL", key};
    size_t len[2];
    redisReply *r = NULL;
    enum q_err rc;

    if (!qs)
        return Q_ERR_INVALID;
    if ((rc = sub_key(qs, msisdn, key)) != Q_OK)
        return rc;
    len[0] = 3;
    len[1] = strlen(key);
    if ((rc = run(qs, &r, 2, argv, len)) != Q_OK)
        return rc;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = Q_ERR_PROTO;
    else if (r->integer == 0)
        rc = Q_ERR_NOT_FOUND;
    freeReplyObject(r);
    return rc;
}

/* ---- many documents at once (simpki-admin import-requests) ------------- */

#define DOCS_CHUNK     1000 /* pairs per MSET / ZADD: bounded buffers, few round trips */
#define DOCS_TIMEOUT_S 300  /* EXEC of a large transaction takes a while */

/* Send one command and read its answer; an error reply becomes an enum q_err. */
static enum q_err run_one(struct q_sync *qs, redisReply **rp, int argc, const char **argv, const size_t *len)
{
    void *rv = NULL;

    *rp = NULL;
    if (redisAppendCommandArgv(qs->c, argc, argv, len) != REDIS_OK || redisGetReply(qs->c, &rv) != REDIS_OK || !rv)
        return Q_ERR_AGAIN;
    *rp = rv;
    return (*rp)->type == REDIS_REPLY_ERROR ? q_map_error_reply(*rp) : Q_OK;
}

/* The queued answer to a command sent inside MULTI. */
static enum q_err queued(struct q_sync *qs, int argc, const char **argv, const size_t *len)
{
    redisReply *r = NULL;
    enum q_err rc = run_one(qs, &r, argc, argv, len);
    if (rc == Q_OK && !(r->type == REDIS_REPLY_STATUS && strcmp(r->str, "QUEUED") == 0))
        rc = Q_ERR_PROTO;
    freeReplyObject(r);
    return rc;
}

enum q_err q_sync_docs_put(struct q_sync *qs, const struct q_sync_doc *docs, size_t n)
{
    static const char index[] = Q_DOC_KEY_INDEX;
    const char **argv = NULL;
    size_t *len = NULL;
    char(*scores)[24] = NULL;
    char(*keys)[Q_DOC_KEY_MAX] = NULL;
    redisReply *r = NULL;
    struct timeval tv = {DOCS_TIMEOUT_S, 0};
    enum q_err rc = Q_ERR_INVALID;
    int in_multi = 0;

    if (!qs || (n && !docs))
        return Q_ERR_INVALID;
    if (n == 0)
        return Q_OK;
    rc = Q_ERR_NOMEM;
    keys = malloc(n * sizeof(*keys));
    argv = malloc((2 * DOCS_CHUNK + 2) * sizeof(*argv));
    len = malloc((2 * DOCS_CHUNK + 2) * sizeof(*len));
    scores = malloc(DOCS_CHUNK * sizeof(*scores));
    if (!keys || !argv || !len || !scores)
        goto out;
    rc = Q_ERR_INVALID;
    for (size_t i = 0; i < n; i++)
        if (q_doc_key(keys[i], docs[i].id) != 0 || (docs[i].vlen && !docs[i].val))
            goto out;
    if (redisSetTimeout(qs->c, tv) != REDIS_OK) {
        rc = Q_ERR_AGAIN;
        goto out;
    }

    /* Refuse before anything is queued: a runtime error inside EXEC would not roll back the rest. */
    argv[0] = "TYPE";
    argv[1] = index;
    len[0] = 4;
    len[1] = strlen(index);
    if ((rc = run_one(qs, &r, 2, argv, len)) != Q_OK)
        goto out;
    if (r->type != REDIS_REPLY_STATUS || (strcmp(r->str, "zset") != 0 && strcmp(r->str, "none") != 0)) {
        rc = Q_ERR_PROTO;
        goto out;
    }
    freeReplyObject(r);
    r = NULL;
    for (size_t at = 0; at < n; at += DOCS_CHUNK) {
        size_t m = n - at < DOCS_CHUNK ? n - at : DOCS_CHUNK;
        argv[0] = "EXISTS";
        len[0] = 6;
        for (size_t i = 0; i < m; i++) {
            argv[1 + i] = keys[at + i];
            len[1 + i] = strlen(keys[at + i]);
        }
        if ((rc = run_one(qs, &r, (int)m + 1, argv, len)) != Q_OK)
            goto out;
        if (r->type != REDIS_REPLY_INTEGER || r->integer != 0) {
            rc = r->type == REDIS_REPLY_INTEGER ? Q_ERR_CONFLICT : Q_ERR_PROTO;
            goto out;
        }
        freeReplyObject(r);
        r = NULL;
    }

    argv[0] = "MULTI";
    len[0] = 5;
    if ((rc = run_one(qs, &r, 1, argv, len)) != Q_OK)
        goto out;
    freeReplyObject(r);
    r = NULL;
    in_multi = 1;
    for (size_t at = 0; at < n; at += DOCS_CHUNK) {
        size_t m = n - at < DOCS_CHUNK ? n - at : DOCS_CHUNK;
        argv[0] = "MSET";
        len[0] = 4;
        for (size_t i = 0; i < m; i++) {
            argv[1 + 2 * i] = keys[at + i];
            len[1 + 2 * i] = strlen(keys[at + i]);
            argv[2 + 2 * i] = docs[at + i].vlen ? docs[at + i].val : "";
            len[2 + 2 * i] = docs[at + i].vlen;
        }
        if ((rc = queued(qs, (int)(2 * m + 1), argv, len)) != Q_OK)
            goto out;
        argv[0] = "ZADD";
        len[0] = 4;
        argv[1] = index;
        len[1] = sizeof(index) - 1;
        for (size_t i = 0; i < m; i++) {
            int k = snprintf(scores[i], sizeof(scores[i]), "%lld", (long long)docs[at + i].score);
            argv[2 + 2 * i] = scores[i];
            len[2 + 2 * i] = (size_t)k;
            argv[3 + 2 * i] = docs[at + i].id;
            len[3 + 2 * i] = strlen(docs[at + i].id);
        }
        if ((rc = queued(qs, (int)(2 * m + 2), argv, len)) != Q_OK)
            goto out;
        /* The archive's events, as the request scripts append them (q_docs.c ev_request; q_ev.h). */
        for (size_t i = 0; qs->events && i < m; i++) {
            const struct q_sync_doc *d = &docs[at + i];
            char eid[Q_DOC_ID_MAX + 24], rev[24], now[24];
            snprintf(eid, sizeof(eid), "%s.%lld", d->id, (long long)d->rev);
            snprintf(rev, sizeof(rev), "%lld", (long long)d->rev);
            snprintf(now, sizeof(now), "%lld", (long long)d->score);
            /* clang-format off */
            const char *xa[] = {"XADD", Q_EV_KEY_ENR, "*", "eid", eid, "kind", "cert", "type", "request",
                                "at", now, "id", d->id, "rev", rev, "doc", d->vlen ? d->val : ""};
            /* clang-format on */
            size_t xl[sizeof(xa) / sizeof(xa[0])];
            for (size_t k = 0; k < 16; k++) /* the last, the document, need not end in a NUL */
                xl[k] = strlen(xa[k]);
            xl[16] = d->vlen;
            if ((rc = queued(qs, (int)(sizeof(xa) / sizeof(xa[0])), xa, xl)) != Q_OK)
                goto out;
        }
    }
    argv[0] = "EXEC";
    len[0] = 4;
    in_multi = 0;
    if ((rc = run_one(qs, &r, 1, argv, len)) != Q_OK)
        goto out;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 * ((n + DOCS_CHUNK - 1) / DOCS_CHUNK) + (qs->events ? n : 0)) {
        rc = Q_ERR_PROTO;
        goto out;
    }
    for (size_t j = 0; j < r->elements; j++)
        if (!r->element[j] || r->element[j]->type == REDIS_REPLY_ERROR)
            rc = Q_ERR_PROTO;
out:
    if (in_multi && qs->c && !qs->c->err) {
        /* Nothing queued is run: DISCARD, or a dead connection, drops it all. */
        redisReply *d = NULL;
        const char *dv[1] = {"DISCARD"};
        size_t dl[1] = {7};
        if (run_one(qs, &d, 1, dv, dl) != Q_OK && rc == Q_OK)
            rc = Q_ERR_PROTO;
        freeReplyObject(d);
    }
    freeReplyObject(r);
    free(scores);
    free(len);
    free(argv);
    free(keys);
    return rc;
}
