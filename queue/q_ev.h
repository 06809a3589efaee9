/*
 * q_ev.h - the archive's events in Redis Streams (docs/archive.md).
 *
 * With q_ev_enable, the scripts that finish a transaction (finish, the
 * sweep's expiry), record a receipt, and write a certificate request
 * (q_docs.h: create, cas, life save; not merger plans) append an event to a
 * stream in the same script: no round trip is added.  Streams:
 *
 *   spk:{N}:ev     stream  the events of shard N's transactions
 *   spk:{enr}:ev   stream  the events of certificate requests
 *
 * Every instance's archiver reads them through one consumer group
 * (Q_EV_GROUP), acknowledges an entry only once it is in the database, and
 * deletes it then: a stream's length is its backlog.  Nothing trims a
 * stream; instead, while a shard's stream holds max_backlog entries or more,
 * a new transaction of that shard is refused (Q_ERR_BACKLOG) and nothing is
 * written.
 *
 * The rules of q.h hold: asynchronous, the callback exactly once and never
 * inside the call, Q_ERR_AGAIN when Redis is away.
 */
#ifndef SIMPKI_Q_EV_H
#define SIMPKI_Q_EV_H

#include <stddef.h>
#include <stdint.h>

#include "q.h"

#define Q_EV_GROUP     "archive"
#define Q_EV_KEY_MAX   32 /* a stream's key, with the NUL */
#define Q_EV_ENTRY_MAX 48 /* a stream entry id ("1765000000123-0"), with the NUL */

/*
 * From now on the scripts append events, and a new transaction is refused
 * while its shard's stream holds max_backlog entries (0 = no bound).  Call
 * once, before the first transaction; without it nothing is appended.  A
 * second call only sets the bound anew.  Every instance that writes must
 * call it: a q without it writes no events.
 */
void q_ev_enable(struct q *q, uint64_t max_backlog);

/* One field of an entry: binary safe, val not NUL-terminated. */
struct q_ev_field {
    const char *name;
    size_t name_len;
    const uint8_t *val;
    size_t len;
};

/* One entry.  Everything points into the reply: it lives only during the callback. */
struct q_event {
    char stream[Q_EV_KEY_MAX];  /* the key it came from */
    char entry[Q_EV_ENTRY_MAX]; /* its stream entry id */
    const struct q_ev_field *fields;
    size_t n_fields;
};

/* Where an entry is, to acknowledge it (copy these out of q_event). */
struct q_ev_ref {
    char stream[Q_EV_KEY_MAX];
    char entry[Q_EV_ENTRY_MAX];
};

/*
 * Up to count entries for consumer (this instance's name), from every
 * stream, in one round trip: first entries another consumer took and has
 * not acknowledged for claim_idle_ms (it died: XAUTOCLAIM), then new ones
 * (XREADGROUP >).  Creates the group (MKSTREAM) where it is missing.  Never
 * blocks: n 0 means nothing to do now.
 *
 * count is shared over the streams (count / streams each, the remainder
 * to streams in turn), so a read never hands out more than count; a
 * stream with more waiting gets the rest on the next reads.  One script
 * per stream, all sent at once: err is the first error of any stream, and
 * the entries the others gave are handed out all the same (n may be > 0
 * with err set).  An entry handed out and never acknowledged is taken
 * again, by this or another consumer, once idle for claim_idle_ms.
 * Q_ERR_INVALID for a consumer "" or of 64 octets or more, or count 0.
 */
typedef void q_ev_read_cb(void *arg, enum q_err err, const struct q_event *evs, size_t n);
void q_ev_read(struct q *q, const char *consumer, unsigned count, unsigned claim_idle_ms, q_ev_read_cb *cb, void *arg);

/*
 * The entries are in the database: XACK and XDEL them, in one round trip
 * (one script per stream named).  Q_ERR_INVALID, with nothing done, when a
 * ref names a stream that is not one of ours or an entry id that is not
 * <ms>-<seq>.  n 0 is Q_OK.  cb may be NULL.
 */
void q_ev_ack(struct q *q, const struct q_ev_ref *refs, size_t n, q_done_cb *cb, void *arg);

/*
 * The backlog, for metrics and alerts: entries in every stream, and the
 * time (ms since the epoch, from the oldest entry's id) of the oldest one,
 * 0 when there is none.  One round trip.
 */
typedef void q_ev_backlog_cb(void *arg, enum q_err err, uint64_t entries, int64_t oldest_ms);
void q_ev_backlog(struct q *q, q_ev_backlog_cb *cb, void *arg);

#endif /* SIMPKI_Q_EV_H */
