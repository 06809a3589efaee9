/*
 * q_priv.h - what the queue's modules share (q_conn.c and q_txn.c async,
 * q_sync.c blocking, q_cache.c, q_docs.c, q_life.c, q_plan.c): key names, argument
 * checks, the parsers of hash replies, raw commands.  Not installed; nothing
 * outside queue/ (but tests/queue) includes it, so hiredis stays inside.  The
 * call machinery only q_txn.c needs is in q_conn.h.
 *
 * Replies are parsed defensively: any type or size the scripts never produce
 * gives Q_ERR_PROTO, never a crash, because Redis may be a different version,
 * hold hand-edited data, or not be Redis at all.
 */
#ifndef SIMPKI_Q_PRIV_H
#define SIMPKI_Q_PRIV_H

#include <hiredis/hiredis.h>

#include "q.h"
#include "q_docs.h"

#define Q_KEY_MAX      600 /* longest key: idem with a 63-byte rp and a 255-byte key */
#define Q_IDEM_KEY_MAX 255
#define Q_REQ_HASH_MAX 128
#define Q_DISPLAY_MAX  4096
#define Q_PAYLOAD_MAX  4096  /* PUTCERT certificate; the carrier refuses what does not fit its packets */
#define Q_BLOB_MAX     65536 /* signature and certificate, each */
#define Q_DONE_CHANNEL "spk:done"
#define Q_IDEM_TTL_S   "86400"

/*
 * "spk:{<shard>}:<kind>:<suffix>" into buf.  Returns Q_ERR_INVALID when it
 * does not fit.  suffix may be "" to get a prefix that scripts extend.
 */
enum q_err q_key(char *buf, size_t cap, unsigned shard, const char *kind, const char *suffix);

/* 1 when m is 1..15 decimal digits (a normalised E.164 number without '+'). */
int q_msisdn_ok(const char *m);

/* Check an id's form and that its shard exists; *shard gets the shard. */
enum q_err q_id_shard(const char *id, unsigned shards, unsigned *shard);

/* 26 lowercase hex: the shard in 2, then 24 random from RAND_bytes. */
enum q_err q_id_new(unsigned shard, char id[Q_ID_LEN]);

/* Parse a HGETALL-style flat array of field/value pairs.  Pointers in the
 * result point into r.  An empty array gives Q_ERR_NOT_FOUND. */
enum q_err q_parse_txn(const redisReply *r, struct q_txn *t);
enum q_err q_parse_sub(const redisReply *r, struct q_sub *s);

/* Map an error reply to our error: "try again" classes or Q_ERR_PROTO. */
enum q_err q_map_error_reply(const redisReply *r);

/*
 * A deep copy of r (malloc'd), to keep a reply past its hiredis callback;
 * NULL when out of memory.  Free it with q_reply_free (NULL does nothing).
 */
redisReply *q_reply_dup(const redisReply *r);
void q_reply_free(redisReply *r);

/* 1 when a string or status reply equals s. */
int q_reply_is(const redisReply *r, const char *s);

/* ---- Raw commands: for the queue's own modules (q_cache.c, q_docs.c, q_life.c, q_plan.c) and tests/queue. ---- */

/*
 * Any other command, for the queue's modules that keep their own keys
 * (q_docs.c: requests, q_cache.c: revocation caches).  Same rules as every call here:
 * the callback runs exactly once, never inside this call, Q_ERR_AGAIN when
 * Redis is away; the reply (NULL unless Q_OK) lives only during the callback.
 * A Redis error reply is mapped to an enum q_err.  At most 2,048 arguments
 * (q_conn.h's Q_CALL_ARGS_MAX), copied.  Keys given here should carry a hash
 * tag when they must share a slot.  argc 0 is refused (Q_ERR_INVALID from the loop): how a module
 * reports a bad argument of its own call.
 */
typedef void q_raw_cb(void *arg, enum q_err err, const redisReply *reply);
void q_command(struct q *q, int argc, const char *const *argv, const size_t *argvlen, q_raw_cb *cb, void *arg);

/*
 * A Lua script of a queue module's own, as "EVAL script numkeys argv..." through
 * q_command (same rules: callback exactly once, never inside this call,
 * Q_ERR_AGAIN when Redis is away, a Redis error reply, including one the
 * script raises, mapped to an enum q_err, the reply only during the
 * callback).  argv holds the numkeys keys first, then the arguments: argc in
 * all, at most 2,045.  argvlen may be NULL when every argv[i] is a C string;
 * give it for binary arguments.  Everything is copied, the script too.
 */
void q_eval(struct q *q, const char *script, int numkeys, int argc, const char *const *argv, const size_t *argvlen,
            q_raw_cb *cb, void *arg);

/* Where request documents live (q_docs.h); only queue/ builds these keys. */
#define Q_DOC_KEY_PREFIX "spk:{enr}:req:" /* + id */
#define Q_DOC_KEY_INDEX  "spk:{enr}:reqs"
#define Q_DOC_KEY_LIFE   "spk:{enr}:life"
#define Q_DOC_KEY_MAX    64 /* any kind's prefix (at most 24) + id + a suffix such as ":rows" */

/* The certificate requests' events (q_ev.h); the shards' are spk:{N}:ev. */
#define Q_EV_KEY_ENR "spk:{enr}:ev"

/*
 * A family of JSON documents with a "rev" (q_docs.h's requests, q_plan.h's
 * plans): prefix + id is a document, index the zset of every id by creation
 * time, run the zset of the ids its runner (the lifecycle engine, the plan
 * runner) looks at next, ev the stream its writes append an event to when
 * the archive is on (q_ev.h; NULL: never, as for plans).  The q_docs_* calls
 * take one, so both families run the same scripts; each family's header says
 * what they do.
 */
struct q_doc_kind {
    const char *prefix;
    const char *index;
    const char *run;
    const char *ev;
};
extern const struct q_doc_kind q_doc_req; /* the requests */

/* The document key of id in k (q_docs.h's id rules); "" and -1 for a bad id, which the caller refuses. */
int q_docs_key(const struct q_doc_kind *k, char key[Q_DOC_KEY_MAX], const char *id);
int q_doc_key(char key[Q_DOC_KEY_MAX], const char *id); /* q_docs_key of a request */

void q_docs_create(struct q *q, const struct q_doc_kind *k, const char *id, const char *text, size_t len,
                   int64_t created_ms, q_doc_done_cb *cb, void *arg);
void q_docs_get(struct q *q, const struct q_doc_kind *k, const char *id, q_doc_get_cb *cb, void *arg);
/* q_doc_cas; run_due_ms > 0 files the id in k->run due then, < 0 takes it out, 0 leaves k->run alone. */
void q_docs_cas(struct q *q, const struct q_doc_kind *k, const char *id, int64_t expect_rev, const char *text,
                size_t len, int64_t run_due_ms, q_doc_done_cb *cb, void *arg);
void q_docs_list(struct q *q, const struct q_doc_kind *k, const struct q_doc_filter *f, q_doc_list_cb *cb, void *arg);
void q_docs_claim(struct q *q, const struct q_doc_kind *k, int64_t now_ms, int64_t until_ms, unsigned limit,
                  q_life_claim_cb *cb, void *arg);

/* The q's shard count (cfg_redis.shards), for keys of the registry. */
unsigned q_shards(const struct q *q);

/*
 * A script's answer word (Lua strings come back as bulk strings): "OK" is
 * Q_OK, "NOT_FOUND" Q_ERR_NOT_FOUND, "CONFLICT" and "EXISTS" Q_ERR_CONFLICT,
 * anything else Q_ERR_PROTO.
 */
enum q_err q_script_word(const redisReply *r);

#endif /* SIMPKI_Q_PRIV_H */
