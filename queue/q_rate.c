/* q_rate.c - see q_rate.h. */
#include "q_rate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q_priv.h"

/*
 * KEYS[1] the relying party's key; ARGV limit, want.  Answers {granted,
 * ms_left}.  TIME in a script is fine since Redis 5 replicates a script's
 * effects, not the script.
 */
static const char LEASE_LUA[] = "local t = redis.call('TIME')\n"
                                "local w = tonumber(t[1])\n"
                                "local left = 1000 - math.floor(tonumber(t[2]) / 1000)\n"
                                "local limit, want = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
                                "local cur = redis.call('HMGET', KEYS[1], 'w', 'n')\n"
                                "local n = 0\n"
                                "if tonumber(cur[1]) == w then n = tonumber(cur[2]) or 0 end\n"
                                "local g = limit - n\n"
                                "if g > want then g = want end\n"
                                "if g <= 0 then return {0, left} end\n"
                                "redis.call('HSET', KEYS[1], 'w', w, 'n', n + g)\n"
                                "redis.call('PEXPIRE', KEYS[1], 2000)\n"
                                "return {g, left}\n";

struct ctx {
    q_rate_cb *cb;
    void *arg;
};

static void on_lease(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;
    long long g, left;

    free(arg);
    if (err != Q_OK) {
        c.cb(c.arg, err, 0, 0);
        return;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_INTEGER) {
        c.cb(c.arg, Q_ERR_PROTO, 0, 0);
        return;
    }
    g = r->element[0]->integer;
    left = r->element[1]->integer;
    if (g < 0 || left < 1 || left > 1000) {
        c.cb(c.arg, Q_ERR_PROTO, 0, 0);
        return;
    }
    c.cb(c.arg, Q_OK, (unsigned)g, (unsigned)left);
}

void q_rate_lease(struct q *q, const char *rp, unsigned limit, unsigned want, q_rate_cb *cb, void *arg)
{
    char key[Q_KEY_MAX], slimit[16], swant[16];
    struct ctx *c = calloc(1, sizeof(*c));

    if (!c) {
        cb(arg, Q_ERR_NOMEM, 0, 0);
        return;
    }
    c->cb = cb;
    c->arg = arg;
    if (!*rp || strlen(rp) > 63 || strchr(rp, ':') || limit == 0 || want == 0) {
        q_command(q, 0, NULL, NULL, on_lease, c); /* fails with Q_ERR_INVALID from the loop */
        return;
    }
    snprintf(key, sizeof key, "spk:rate:%s", rp);
    snprintf(slimit, sizeof slimit, "%u", limit);
    snprintf(swant, sizeof swant, "%u", want);
    q_eval(q, LEASE_LUA, 1, 3, (const char *const[]){key, slimit, swant}, NULL, on_lease, c);
}
