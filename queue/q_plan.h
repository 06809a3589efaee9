/*
 * q_plan.h - merger review plans in Redis (gateway/merge/gw_plan.h), and
 * the registry read that builds them.
 *
 * Keys (all in the {enr} hash tag with the certificate requests: plans are
 * low-rate, and approving writes a plan and the runner's index in one script):
 *
 *   spk:{enr}:plan:<id>        string  the plan document (JSON; the scripts read
 *                                      only its integer "rev")
 *   spk:{enr}:plan:<id>:rows   hash    row number (decimal) -> row JSON
 *   spk:{enr}:plans            zset    id -> creation time (ms), every plan
 *   spk:{enr}:planrun          zset    id -> when the runner looks at the plan
 *                                      next (ms); only plans being run
 *
 * An id is as q_docs.h's (1..Q_DOC_ID_MAX - 1 characters of [0-9a-z]).
 * The rules of q.h hold: asynchronous, the callback exactly once and never
 * inside the call (but for Q_ERR_NOMEM when not even the call could be
 * allocated), Q_ERR_AGAIN when Redis is away, strings in a callback live
 * only during it.  One round trip a call, but q_reg_scan's two.  A bad
 * argument (an id, a count past its bound) is Q_ERR_INVALID, from the loop.
 */
#ifndef SIMPKI_Q_PLAN_H
#define SIMPKI_Q_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "q.h"
#include "q_docs.h"

/* Store a new plan document and index it (both or neither); Q_ERR_CONFLICT when the id is taken. */
void q_plan_create(struct q *q, const char *id, const char *text, size_t len, int64_t created_ms, q_doc_done_cb *cb,
                   void *arg);

/* The plan document; Q_ERR_NOT_FOUND when there is none. */
void q_plan_get(struct q *q, const char *id, q_doc_get_cb *cb, void *arg);

/*
 * Replace the plan document if its "rev" is still expect_rev.  run_due_ms
 * > 0 puts the plan in the runner's index due then, < 0 takes it out, 0
 * leaves the index alone.  Q_ERR_NOT_FOUND, Q_ERR_CONFLICT as q_doc_cas.
 */
void q_plan_cas(struct q *q, const char *id, int64_t expect_rev, const char *text, size_t len, int64_t run_due_ms,
                q_doc_done_cb *cb, void *arg);

/* Every plan document, newest first (n of them). */
typedef void q_plan_list_cb(void *arg, enum q_err err, const struct q_doc *docs, size_t n);
void q_plan_list(struct q *q, q_plan_list_cb *cb, void *arg);

/* One row to write: its number and JSON text. */
struct q_plan_row {
    unsigned no;
    const char *text;
    size_t len;
};

/* Write up to Q_PLAN_ROWS_MAX rows (HSET, overwriting); the plan document must exist (Q_ERR_NOT_FOUND). */
#define Q_PLAN_ROWS_MAX 1000
void q_plan_rows_put(struct q *q, const char *id, const struct q_plan_row *rows, size_t n, q_doc_done_cb *cb,
                     void *arg);

/*
 * Read rows first .. first + n - 1 (n 1..Q_PLAN_ROWS_MAX; HMGET).  docs[i]
 * is row first + i, with text NULL and len 0 where there is no such row (a
 * plan that is gone has none).
 */
void q_plan_rows_get(struct q *q, const char *id, unsigned first, size_t n, q_plan_list_cb *cb, void *arg);

/*
 * The runner's claim: up to limit plans due by now_ms, each moved to
 * until_ms (the lease), with their documents; ids whose plan is gone
 * leave the index.
 */
void q_plan_claim(struct q *q, int64_t now_ms, int64_t until_ms, unsigned limit, q_plan_list_cb *cb, void *arg);

/*
 * Certificate request documents by id (MGET of q_docs.h's
 * spk:{enr}:req:<id>; n 1..Q_PLAN_ROWS_MAX, one bad id refuses the call):
 * docs[i] is ids[i]'s, text NULL where there is none.
 */
void q_doc_mget(struct q *q, const char *const *ids, size_t n, q_plan_list_cb *cb, void *arg);

/* ---- the registry, read whole ---------------------------------------- */

/* One registry entry as the plan reads it; strings and cert live only during the callback. */
struct q_reg_entry {
    const char *msisdn;
    const char *status;  /* "active", ... */
    int net;             /* enum car_net, 0 = by prefix */
    int cs;              /* the "cs" field: 1 when the number in use moved onto the SIM PKI */
    const uint8_t *cert; /* DER, NULL when none */
    size_t cert_len;
};

/*
 * One step of a whole-registry read: SCAN from cursor (0 to start) over
 * the subscriber keys (spk:{*}:sub:*) with COUNT count (0: 100), then the
 * entries' fields: two round trips, the second one pipelined HMGET
 * status net cert cs per key (not one script: the keys are in every
 * shard's slot).  next is the cursor to go on with, 0 when the read is
 * complete.  Entries may repeat across steps (SCAN's rule): the caller
 * drops repeats by msisdn.  A key deleted between the two is left out; a
 * subscriber key that is no hash, or a field that does not parse, fails
 * the step with Q_ERR_PROTO (hand-edited data: the read stops rather than
 * plan without it).  A key whose suffix is no number is passed over.
 * About 2 s for 100,000 subscribers with 1 KB certificates at COUNT 100
 * (docs/benchmarks.md).
 */
typedef void q_reg_scan_cb(void *arg, enum q_err err, uint64_t next, const struct q_reg_entry *e, size_t n);
void q_reg_scan(struct q *q, uint64_t cursor, unsigned count, q_reg_scan_cb *cb, void *arg);

/* The number of keys in the database (DBSIZE), for a progress estimate. */
typedef void q_count_cb(void *arg, enum q_err err, uint64_t n);
void q_dbsize(struct q *q, q_count_cb *cb, void *arg);

#endif /* SIMPKI_Q_PLAN_H */
