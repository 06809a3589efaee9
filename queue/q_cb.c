/*
 * q_cb.c - the callback queue calls of q.h (q_cb_claim, q_cb_done): the
 * scripts are q_scripts.h's QS_CB_CLAIM and QS_CB_DONE; the finish and the
 * sweep's expiry (q_txn.c) fill the queue.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "q_conn.h"
#include "q_priv.h"
#include "q_scripts.h"

#define DEFAULT_CLAIM_LIMIT 50

/* One q_cb_claim over all shards: c->arg of each shard's call. */
struct claim_run {
    unsigned left, claimed;
    enum q_err err;
    q_cb_each_fn *each;
    q_cb_claimed_fn *done;
    void *arg;
};

static void complete_claim(struct q_call *c, enum q_err err, const redisReply *r)
{
    struct claim_run *run = c->arg;
    const redisReply *list;

    if (err != Q_OK)
        goto out;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || (err = q_script_word(r->element[0])) != Q_OK) {
        err = err != Q_OK ? err : Q_ERR_PROTO;
        goto out;
    }
    list = r->element[1];
    if (!list || list->type != REDIS_REPLY_ARRAY) {
        err = Q_ERR_PROTO;
        goto out;
    }
    for (size_t i = 0; i < list->elements; i++) {
        struct q_txn t;
        /* One bad entry must not hide the others: its lease runs out and it is claimed again. */
        if (q_parse_txn(list->element[i], &t) != Q_OK || !t.cb_url[0]) {
            err = Q_ERR_PROTO;
            continue;
        }
        run->claimed++;
        if (run->each)
            run->each(run->arg, &t);
    }
out:
    if (err != Q_OK && run->err == Q_OK)
        run->err = err;
    if (--run->left == 0) {
        if (run->done)
            run->done(run->arg, run->err, run->claimed);
        free(run);
    }
}

void q_cb_claim(struct q *q, int64_t now_ms, int64_t lease_until_ms, unsigned limit, q_cb_each_fn *each,
                q_cb_claimed_fn *done, void *arg)
{
    struct claim_run *run = calloc(1, sizeof *run);
    unsigned shards = q_shards(q);

    q_stat_call(q);
    if (!run) {
        q_stat_error(q);
        if (done)
            done(arg, Q_ERR_NOMEM, 0);
        return;
    }
    run->each = each;
    run->done = done;
    run->arg = arg;
    /* All shards in flight at once; `left` is set first so an early completion cannot end the run. */
    run->left = shards;
    if (limit == 0)
        limit = DEFAULT_CLAIM_LIMIT;
    for (unsigned s = 0; s < shards; s++) {
        struct q_call *c = q_call_new(q, complete_claim, QS_CB_CLAIM);
        enum q_err rc;
        if (!c) {
            struct q_call fake = {.q = q, .complete = complete_claim, .script = -1, .arg = run};
            q_cb_enter(q);
            complete_claim(&fake, Q_ERR_NOMEM, NULL);
            q_cb_leave(q);
            continue;
        }
        c->arg = run;
        if ((rc = q_arg_script(c, 2)) != Q_OK || (rc = q_arg_zset(c, s, "cbq")) != Q_OK ||
            (rc = q_arg_key(c, s, "txn", "")) != Q_OK || (rc = q_arg_i64(c, now_ms)) != Q_OK ||
            (rc = q_arg_i64(c, lease_until_ms)) != Q_OK || (rc = q_arg_u64(c, limit)) != Q_OK) {
            q_call_fail(c, rc);
            continue;
        }
        q_call_submit(c);
    }
}

static void complete_done(struct q_call *c, enum q_err err, const redisReply *r)
{
    if (err == Q_OK) {
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 1)
            err = Q_ERR_PROTO;
        else if (q_reply_is(r->element[0], "NOTFOUND"))
            err = Q_ERR_NOT_FOUND;
        else
            err = q_script_word(r->element[0]);
    }
    c->cb.done(c->arg, err);
}

void q_cb_done(struct q *q, const char *id, unsigned attempt, enum q_cb_outcome outcome, int64_t next_due_ms,
               const char *detail, q_done_cb *cb, void *arg)
{
    static const char *const words[] = {"delivered", "retry", "failed"};
    struct q_call *c = q_call_begin(q, complete_done, QS_CB_DONE);
    enum q_err rc = Q_ERR_INVALID;
    unsigned shard;

    if (!c) {
        cb(arg, Q_ERR_NOMEM);
        return;
    }
    c->cb.done = cb;
    c->arg = arg;
    if ((unsigned)outcome > Q_CB_OUT_GAVE_UP || (detail && strlen(detail) >= 160) || attempt == 0)
        goto fail;
    if ((rc = q_id_shard(id, q_shards(q), &shard)) != Q_OK || (rc = q_arg_script(c, 2)) != Q_OK ||
        (rc = q_arg_key(c, shard, "txn", id)) != Q_OK || (rc = q_arg_zset(c, shard, "cbq")) != Q_OK ||
        (rc = q_arg_str(c, id)) != Q_OK || (rc = q_arg_str(c, words[outcome])) != Q_OK ||
        (rc = q_arg_i64(c, next_due_ms)) != Q_OK || (rc = q_arg_str(c, detail)) != Q_OK ||
        (rc = q_arg_u64(c, attempt)) != Q_OK)
        goto fail;
    q_call_submit(c);
    return;
fail:
    q_call_fail(c, rc);
}
