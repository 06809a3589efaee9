/* q_once.c - see q_once.h. */
#include "q_once.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q_priv.h"

struct ctx {
    q_once_cb *claimed;
    q_done_cb *bound;
    void *arg;
};

/* "spk:once:<rp>:<id>", or 0 when rp or id cannot be part of a key. */
static int once_key(const char *rp, const char *id, char key[Q_KEY_MAX])
{
    size_t n = strlen(id);

    if (!*rp || strlen(rp) > 63 || strchr(rp, ':') || n == 0 || n > Q_ONCE_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return 0;
    return snprintf(key, Q_KEY_MAX, "spk:once:%s:%s", rp, id) < Q_KEY_MAX;
}

static void on_claim(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    free(arg);
    if (err != Q_OK) {
        c.claimed(c.arg, err, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_NIL) { /* NX set it: the first use */
        c.claimed(c.arg, Q_OK, NULL);
        return;
    }
    if (r->type == REDIS_REPLY_STRING) {
        char prev[Q_ONCE_ID_MAX + 1];
        snprintf(prev, sizeof prev, "%.*s", (int)(r->len < Q_ONCE_ID_MAX ? r->len : Q_ONCE_ID_MAX), r->str);
        c.claimed(c.arg, Q_ERR_CONFLICT, prev);
        return;
    }
    c.claimed(c.arg, q_map_error_reply(r), NULL);
}

static void on_bind(void *arg, enum q_err err, const redisReply *r)
{
    struct ctx c = *(struct ctx *)arg;

    (void)r;
    free(arg);
    if (c.bound)
        c.bound(c.arg, err);
}

void q_once_claim(struct q *q, const char *rp, const char *id, unsigned ttl_s, q_once_cb *cb, void *arg)
{
    char key[Q_KEY_MAX], sttl[16];
    struct ctx *c = calloc(1, sizeof(*c));

    if (!c) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    c->claimed = cb;
    c->arg = arg;
    if (!once_key(rp, id, key) || ttl_s == 0) {
        q_command(q, 0, NULL, NULL, on_claim, c); /* fails with Q_ERR_INVALID from the loop */
        return;
    }
    snprintf(sttl, sizeof sttl, "%u", ttl_s);
    q_command(q, 7, (const char *const[]){"SET", key, "", "NX", "GET", "EX", sttl},
              (const size_t[]){3, strlen(key), 0, 2, 3, 2, strlen(sttl)}, on_claim, c);
}

void q_once_bind(struct q *q, const char *rp, const char *id, const char *value, q_done_cb *cb, void *arg)
{
    char key[Q_KEY_MAX];
    struct ctx *c = calloc(1, sizeof(*c));

    if (!c) {
        if (cb)
            cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->bound = cb;
    c->arg = arg;
    if (!once_key(rp, id, key) || strlen(value) > Q_ONCE_ID_MAX) {
        q_command(q, 0, NULL, NULL, on_bind, c);
        return;
    }
    q_command(q, 5, (const char *const[]){"SET", key, value, "XX", "KEEPTTL"},
              (const size_t[]){3, strlen(key), strlen(value), 2, 7}, on_bind, c);
}
