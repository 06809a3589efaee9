/*
 * q_once.h - identifiers a relying party may use once, whatever the number
 * they concern: ETSI TS 102 204's AP_TransID (unique per AP, s.5.1), for the
 * SOAP endpoint (gateway/api/gw_soap.h).
 *
 *   spk:once:<rp>:<id>   string  "" once claimed, then what the first use
 *                                made (a transaction id); expires after ttl_s
 *
 * Not in a subscriber's shard: the idempotency record of q_txn_create lives
 * in the number's shard, so the same id for two numbers would be two first
 * uses.  One key, one command, so it has its own hash slot in a cluster too.
 * The rules of q.h hold (asynchronous, callback exactly once, never inside
 * the call).  Needs Redis 7 (SET ... NX GET).
 */
#ifndef SIMPKI_Q_ONCE_H
#define SIMPKI_Q_ONCE_H

#include "q.h"

#define Q_ONCE_ID_MAX 64 /* octets of an id, printable ASCII */

/*
 * Claim id for rp (rp a cfg name, id printable ASCII without space).  Q_OK:
 * first use, now recorded.  Q_ERR_CONFLICT: used before; prev is what the
 * first use bound to it ("" when nothing yet), valid during the call.
 * Q_ERR_INVALID for an rp or id that cannot be a key part.
 */
typedef void q_once_cb(void *arg, enum q_err err, const char *prev);
void q_once_claim(struct q *q, const char *rp, const char *id, unsigned ttl_s, q_once_cb *cb, void *arg);

/* Record what the first use of a claimed id made (SET XX KEEPTTL); cb may be NULL. */
void q_once_bind(struct q *q, const char *rp, const char *id, const char *value, q_done_cb *cb, void *arg);

#endif /* SIMPKI_Q_ONCE_H */
