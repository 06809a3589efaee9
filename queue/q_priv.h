/*
 * q_priv.h - what q.c (async) and q_sync.c (blocking) share: key names,
 * argument checks and the parsers of hash replies.  Not installed.
 *
 * Replies are parsed defensively: any type or size the scripts never produce
 * gives Q_ERR_PROTO, never a crash, because Redis may be a different version,
 * hold hand-edited data, or not be Redis at all.
 */
#ifndef SIMPKI_Q_PRIV_H
#define SIMPKI_Q_PRIV_H

#include <hiredis/hiredis.h>

#include "q.h"

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

/* 1 when a string or status reply equals s. */
int q_reply_is(const redisReply *r, const char *s);

#endif /* SIMPKI_Q_PRIV_H */
