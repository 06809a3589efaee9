/* q_cache.c - see q_cache.h. */
#include "q_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "log.h"
#include "q_priv.h"

#define KEY_MAX 256

struct get_req {
    q_cache_got *got;
    void *req;
};

static void got_reply(void *arg, enum q_err err, const struct redisReply *reply)
{
    struct get_req g = *(struct get_req *)arg;

    free(arg);
    if (err == Q_OK && reply && reply->type == REDIS_REPLY_STRING)
        g.got(g.req, (const uint8_t *)reply->str, reply->len);
    else
        g.got(g.req, NULL, 0);
}

/* q_command answers from the loop, so a miss decided here must go the same way. */
static void miss_reply(void *arg, enum q_err err, const struct redisReply *reply)
{
    (void)err;
    (void)reply;
    got_reply(arg, Q_ERR_INVALID, NULL);
}

void q_cache_get(void *ctx, const char *key, q_cache_got *got, void *req)
{
    struct get_req *g = malloc(sizeof(*g));
    size_t klen = key ? strlen(key) : 0;
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, klen};

    if (!g) {
        /* No memory for even this: a miss now is the only answer left. */
        got(req, NULL, 0);
        return;
    }
    g->got = got;
    g->req = req;
    if (klen == 0 || klen > KEY_MAX) {
        /* An argc of 0 makes q_command fail from the loop: the callback still runs exactly once. */
        q_command(ctx, 0, argv, lens, miss_reply, g);
        return;
    }
    q_command(ctx, 2, argv, lens, got_reply, g);
}

static void put_done(void *arg, enum q_err err, const struct redisReply *reply)
{
    (void)arg;
    (void)reply;
    if (err != Q_OK)
        LOGP(LOG_DEBUG, "cache", NULL, "cache write dropped: %s", q_strerror(err));
}

void q_cache_put(void *ctx, const char *key, const uint8_t *value, size_t len, unsigned ttl_s)
{
    char ttl[16];
    int n = snprintf(ttl, sizeof(ttl), "%u", ttl_s ? ttl_s : 1u);
    size_t klen = key ? strlen(key) : 0;
    const char *argv[5] = {"SET", key, (const char *)value, "EX", ttl};
    size_t lens[5] = {3, klen, len, 2, (size_t)n};

    if (klen == 0 || klen > KEY_MAX || (len && !value))
        return;
    if (!value)
        argv[2] = "";
    q_command(ctx, 5, argv, lens, put_done, NULL);
}
