/*
 * q_conn.h - the call machinery of q_conn.c, for the transaction calls in
 * q_txn.c.  Private to queue/: nothing else includes it.
 *
 * q_conn.c owns struct q (connections, the deferred list, stats) and keeps it
 * opaque; a q_txn.c call sees only its struct q_call.  The pattern of every
 * transaction call:
 *
 *     c = q_call_begin(q, complete_x, QS_X);     NULL: call cb with Q_ERR_NOMEM now
 *     c->cb.x = cb; c->arg = arg;
 *     q_arg_script(c, numkeys), q_arg_key(...), q_arg_str(...) ...
 *     any error: q_call_fail(c, rc); else q_call_submit(c);
 *
 * Once submitted or failed, the call belongs to q_conn.c: complete_x runs
 * exactly once, from the event loop (never inside the q_* call that built
 * it), with the transport's error or Q_OK and the reply, then the call is
 * freed.  NOSCRIPT is handled below: complete_x never sees it.
 */
#ifndef SIMPKI_Q_CONN_H
#define SIMPKI_Q_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "q.h"
#include "q_priv.h"

/*
 * A call's arguments: up to Q_CALL_ARGS_INLINE in the call itself (create with
 * an Idempotency-Key, 3 + 8 keys + 23 arguments, the most of any script), more
 * on the heap, up to Q_CALL_ARGS_MAX (q_plan.h's batches: an EVAL writing
 * Q_PLAN_ROWS_MAX rows as number/text pairs).
 */
#define Q_CALL_ARGS_INLINE 34
#define Q_CALL_ARGS_MAX    2048

struct q_call;
struct q_sweep_run; /* q_txn.c's: one q_sweep over all shards */

/*
 * Parse a call's answer and call its user back.  err is Q_OK with r the
 * reply, or the transport's error (Q_ERR_AGAIN when Redis went away, a mapped
 * Redis error reply, or what q_call_fail was given) with r NULL.  r lives only
 * during the call.  It must not free c: the machinery does, afterwards.
 */
typedef void q_complete_fn(struct q_call *c, enum q_err err, const redisReply *r);

/* One API call in flight.  The caller fills cb, arg and, when it needs them, sw and msisdn; the rest is q_conn.c's. */
struct q_call {
    struct q *q;
    q_complete_fn *complete;
    int script;       /* enum q_script, or -1 for a plain command */
    int retried;      /* NOSCRIPT fallback to EVAL already used */
    int durable;      /* state-changing (scripts, q_eval): answered after WAIT when redis.wait_replicas > 0 */
    redisReply *held; /* its reply, copied, while it waits for WAIT */
    union {
        q_create_cb *create;
        q_done_cb *done;
        q_lookup_cb *lookup;
        q_get_cb *get;
        q_finish_cb *finish;
        q_raw_cb *raw;
    } cb;
    void *arg;
    struct q_sweep_run *sw;
    char msisdn[16]; /* to fill q_sub.msisdn when the hash lacks it */
    enum q_err err;  /* why a deferred call fails */
    struct q_call *next;
    int argc, argcap;
    const char **argv; /* argv_in .. argoff_in until a call needs more than Q_CALL_ARGS_INLINE */
    size_t *argvlen;
    size_t *argoff;
    const char *argv_in[Q_CALL_ARGS_INLINE];
    size_t argvlen_in[Q_CALL_ARGS_INLINE];
    size_t argoff_in[Q_CALL_ARGS_INLINE];
    char *buf;
    size_t buflen, bufcap;
};

/*
 * A new call for script (enum q_script, or -1 for a plain command such as
 * HGETALL), answered through complete.  q_call_begin also counts it in
 * q_stats.calls (and in errors when it cannot allocate); q_call_new counts
 * nothing, for q_sweep, which counts one call for all its shards.  NULL when
 * out of memory: the caller reports Q_ERR_NOMEM itself, there is no call to
 * defer.
 */
struct q_call *q_call_new(struct q *q, q_complete_fn *complete, int script);
struct q_call *q_call_begin(struct q *q, q_complete_fn *complete, int script);

/*
 * Arguments, copied into the call in order.  Q_ERR_INVALID past
 * Q_CALL_ARGS_MAX arguments or for a key that does not fit, Q_ERR_NOMEM.
 * q_arg_key is q_key's "spk:{shard}:kind:suffix"; q_arg_zset the zset key
 * "spk:{shard}:kind" (no ':' at the end); q_arg_script the first three,
 * "EVALSHA <sha of c's script> <numkeys>".  A NULL string is "".
 */
enum q_err q_arg_add(struct q_call *c, const void *p, size_t n);
enum q_err q_arg_str(struct q_call *c, const char *s);
enum q_err q_arg_i64(struct q_call *c, int64_t v);
enum q_err q_arg_u64(struct q_call *c, uint64_t v);
enum q_err q_arg_key(struct q_call *c, unsigned shard, const char *kind, const char *suffix);
enum q_err q_arg_zset(struct q_call *c, unsigned shard, const char *kind);
enum q_err q_arg_script(struct q_call *c, unsigned numkeys);

/* Send the call on the command connection; when Redis is away, complete it with Q_ERR_AGAIN from the loop. */
void q_call_submit(struct q_call *c);

/* A call that could not be built: complete it with err from the loop, like any other failure. */
void q_call_fail(struct q_call *c, enum q_err err);

/* The TTL q_sweep gives the transactions it expires (q_set_retention). */
int64_t q_retention(const struct q *q);

/*
 * The archive's events (q_ev.h), kept in struct q: on once q_ev_enable ran;
 * max_backlog bounds a shard's stream (0 = no bound); rr turns q_ev_read's
 * share of its count over the streams.
 */
struct q_ev_state {
    int on;
    uint64_t max_backlog;
    unsigned rr;
};
struct q_ev_state *q_ev_state(struct q *q);

/* q_stats.calls++ and q_stats.errors++, for q_sweep's own count. */
void q_stat_call(struct q *q);
void q_stat_error(struct q *q);

/*
 * Bracket a user callback run outside a completion (q_sweep's shard that got
 * no call), so that q_free from inside it is deferred like from any other.
 */
void q_cb_enter(struct q *q);
void q_cb_leave(struct q *q);

#endif /* SIMPKI_Q_CONN_H */
