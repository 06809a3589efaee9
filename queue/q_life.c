/* q_life.c - see q_life.h.  Plain EVAL through q_eval: the engine writes a registry entry a few times a request. */
#include "q_life.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q_priv.h"

/* A new SIM for the number: the OTA counter, busy marker and pin stay. */
static const char LUA_REGISTER[] = "redis.call('HSET', KEYS[1], 'msisdn', ARGV[1], 'net', ARGV[2], 'iccid', ARGV[3], "
                                   "'kv', ARGV[4], 'status', 'enrolling')\n"
                                   "redis.call('HDEL', KEYS[1], 'cert')\n"
                                   "return 'OK'\n";

/* The new certificate in service; a pinned subscriber gets repin (as q_sync_sub_put). */
static const char LUA_ACTIVATE[] = "if redis.call('EXISTS', KEYS[1]) == 0 then return 'NOT_FOUND' end\n"
                                   "if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'iccid', ARGV[1], 'kv', ARGV[2]) "
                                   "end\n"
                                   "redis.call('HSET', KEYS[1], 'status', 'active', 'cert', ARGV[3])\n"
                                   "if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'cs', '1') end\n"
                                   "if redis.call('HEXISTS', KEYS[1], 'pin_serial') == 1 then\n"
                                   "  redis.call('HSET', KEYS[1], 'repin', '1')\n"
                                   "end\n"
                                   "return 'OK'\n";

/*
 * A subscriber its signature service vouched for (q_life_fetched): only where
 * the registry has no entry, which an operator's own may not be overwritten
 * by.  The remembered miss goes with it.
 */
static const char LUA_FETCHED[] = "if redis.call('EXISTS', KEYS[1]) == 1 then return 'EXISTS' end\n"
                                  "redis.call('HSET', KEYS[1], 'msisdn', ARGV[1], 'net', ARGV[2], 'status', 'active', "
                                  "'cert', ARGV[3])\n"
                                  "redis.call('DEL', KEYS[2])\n"
                                  "return 'OK'\n";

struct ctx {
    union {
        q_doc_done_cb *done;
        q_life_sub_cb *sub;
        q_life_missed_cb *missed;
    } cb;
    void *arg;
    int any; /* done: any reply but an error is Q_OK (not a script word) */
    char msisdn[16];
};

/* The caller's callback and the number's registry key; NULL on no memory. *bad when msisdn is not one. */
static struct ctx *ctx_new(struct q *q, void *cb, void *arg, const char *msisdn, char key[Q_KEY_MAX], int *bad)
{
    struct ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->cb.done = (q_doc_done_cb *)cb;
    c->arg = arg;
    *bad = !q_msisdn_ok(msisdn) || q_key(key, Q_KEY_MAX, q_shard_of(msisdn, q_shards(q)), "sub", msisdn) != Q_OK;
    if (!*bad)
        snprintf(c->msisdn, sizeof(c->msisdn), "%s", msisdn);
    return c;
}

static void on_done(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    free(arg);
    if (err == Q_OK && !c.any)
        err = q_script_word(r);
    c.cb.done(c.arg, err);
}

static void on_sub(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;
    struct q_sub s;

    free(arg);
    if (err == Q_OK)
        err = q_parse_sub(r, &s);
    if (err != Q_OK) {
        c.cb.sub(c.arg, err, NULL);
        return;
    }
    if (!s.msisdn[0])
        memcpy(s.msisdn, c.msisdn, sizeof(s.msisdn));
    c.cb.sub(c.arg, Q_OK, &s);
}

/* A refused call: an empty command fails with Q_ERR_INVALID from the loop, as every bad call. */
static void refuse(struct q *q, q_raw_cb *on, struct ctx *c)
{
    q_command(q, 0, NULL, NULL, on, c);
}

void q_life_sub_get(struct q *q, const char *msisdn, q_life_sub_cb *cb, void *arg)
{
    char key[Q_KEY_MAX];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, key, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    if (bad) {
        refuse(q, on_sub, c);
        return;
    }
    q_command(q, 2, (const char *const[]){"HGETALL", key}, (const size_t[]){7, strlen(key)}, on_sub, c);
}

void q_life_register(struct q *q, const char *msisdn, int net, const char *iccid, unsigned kv, q_doc_done_cb *cb,
                     void *arg)
{
    char key[Q_KEY_MAX], snet[16], skv[16];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, key, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    if (bad) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(snet, sizeof(snet), "%d", net);
    snprintf(skv, sizeof(skv), "%u", kv);
    q_eval(q, LUA_REGISTER, 1, 5, (const char *const[]){key, msisdn, snet, iccid ? iccid : "", skv}, NULL, on_done, c);
}

void q_life_activate(struct q *q, const char *msisdn, const char *iccid, unsigned kv, const uint8_t *cert,
                     size_t cert_len, int cs, q_doc_done_cb *cb, void *arg)
{
    char key[Q_KEY_MAX], skv[16];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, key, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    if (bad || (!cert && cert_len)) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(skv, sizeof(skv), "%u", kv);
    q_eval(q, LUA_ACTIVATE, 1, 5,
           (const char *const[]){key, iccid ? iccid : "", skv, cert ? (const char *)cert : "", cs ? "1" : "0"},
           (const size_t[]){strlen(key), iccid ? strlen(iccid) : 0, strlen(skv), cert_len, 1}, on_done, c);
}

void q_life_deactivate(struct q *q, const char *msisdn, q_doc_done_cb *cb, void *arg)
{
    char key[Q_KEY_MAX];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, key, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    if (bad) {
        refuse(q, on_done, c);
        return;
    }
    c->any = 1; /* HSET answers a count */
    q_command(q, 4, (const char *const[]){"HSET", key, "status", "revoked"}, (const size_t[]){4, strlen(key), 6, 7},
              on_done, c);
}

static void on_missed(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    free(arg);
    if (err == Q_OK && r->type != REDIS_REPLY_INTEGER)
        err = Q_ERR_PROTO;
    c.cb.missed(c.arg, err, err == Q_OK && r->integer > 0);
}

/* The key of a number's remembered miss; 0 when msisdn is not a number. */
static int miss_key(struct q *q, const char *msisdn, char key[Q_KEY_MAX])
{
    return q_msisdn_ok(msisdn) && q_key(key, Q_KEY_MAX, q_shard_of(msisdn, q_shards(q)), "regmiss", msisdn) == Q_OK;
}

void q_life_missed(struct q *q, const char *msisdn, q_life_missed_cb *cb, void *arg)
{
    char key[Q_KEY_MAX], skey[Q_KEY_MAX];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, skey, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM, 0);
        return;
    }
    if (bad || !miss_key(q, msisdn, key)) {
        refuse(q, on_missed, c);
        return;
    }
    q_command(q, 2, (const char *const[]){"EXISTS", key}, (const size_t[]){6, strlen(key)}, on_missed, c);
}

void q_life_miss(struct q *q, const char *msisdn, unsigned ttl_s, q_doc_done_cb *cb, void *arg)
{
    char key[Q_KEY_MAX], skey[Q_KEY_MAX], sttl[16];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, skey, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->any = 1;
    if (bad || ttl_s == 0 || !miss_key(q, msisdn, key)) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(sttl, sizeof(sttl), "%u", ttl_s);
    q_command(q, 5, (const char *const[]){"SET", key, "1", "EX", sttl},
              (const size_t[]){3, strlen(key), 1, 2, strlen(sttl)}, on_done, c);
}

void q_life_fetched(struct q *q, const char *msisdn, int net, const uint8_t *cert, size_t cert_len, q_doc_done_cb *cb,
                    void *arg)
{
    char key[Q_KEY_MAX], mkey[Q_KEY_MAX], snet[16];
    int bad;
    struct ctx *c = ctx_new(q, (void *)cb, arg, msisdn, key, &bad);

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    if (bad || !cert || !cert_len || !miss_key(q, msisdn, mkey)) {
        refuse(q, on_done, c);
        return;
    }
    snprintf(snet, sizeof(snet), "%d", net);
    q_eval(q, LUA_FETCHED, 2, 5, (const char *const[]){key, mkey, msisdn, snet, (const char *)cert},
           (const size_t[]){strlen(key), strlen(mkey), strlen(msisdn), strlen(snet), cert_len}, on_done, c);
}
