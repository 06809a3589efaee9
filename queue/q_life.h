/*
 * q_life.h - the registry writes of the lifecycle engine (gw_life.h): read a
 * number's entry, register a new SIM for it, put a new certificate in
 * service, retire it.  The entry is q.h's spk:{N}:sub:<msisdn> hash; the
 * shard comes from the q's configuration.
 *
 * The rules of q.h hold: asynchronous, the callback exactly once and never
 * inside the call (but for Q_ERR_NOMEM when not even the call could be
 * allocated), Q_ERR_AGAIN when Redis is away, one round trip a call.
 * msisdn is normalised (1..15 digits), else Q_ERR_INVALID.
 */
#ifndef SIMPKI_Q_LIFE_H
#define SIMPKI_Q_LIFE_H

#include <stddef.h>
#include <stdint.h>

#include "q.h"
#include "q_docs.h"

/*
 * The number's registry entry (HGETALL).  Q_ERR_NOT_FOUND when it has none.
 * sub, and the certificate it points into, live only during the callback.
 */
typedef void q_life_sub_cb(void *arg, enum q_err err, const struct q_sub *sub);
void q_life_sub_get(struct q *q, const char *msisdn, q_life_sub_cb *cb, void *arg);

/*
 * A new SIM for the number: msisdn, net, iccid, kv written, status
 * "enrolling", the certificate dropped; the OTA counter, busy marker and pin
 * stay.  Creates the entry when there is none.
 */
void q_life_register(struct q *q, const char *msisdn, int net, const char *iccid, unsigned kv, q_doc_done_cb *cb,
                     void *arg);

/*
 * The new certificate in service: status "active", cert written, and with
 * iccid (not NULL, not "") iccid and kv too.  As q_sync_sub_put, a pinned
 * subscriber gets repin, so its next signature may pin the new certificate.
 * cs 1 writes the entry's "cs" (q.h: the number moved onto the SIM PKI, a
 * request filed "/cs"); 0 leaves it as it is.  Q_ERR_NOT_FOUND when the
 * entry is gone.
 */
void q_life_activate(struct q *q, const char *msisdn, const char *iccid, unsigned kv, const uint8_t *cert,
                     size_t cert_len, int cs, q_doc_done_cb *cb, void *arg);

/* The certificate revoked: status "revoked".  The entry stays, so the number's history can still be read. */
void q_life_deactivate(struct q *q, const char *msisdn, q_doc_done_cb *cb, void *arg);

/*
 * A subscriber learned from its signature service (the engine's lookup of
 * a number the registry lacks, car_ops.lookup).  Keys, besides the entry:
 *
 *   spk:{N}:regmiss:<msisdn>  string "1" with a TTL: the service said it
 *                             has no certificate for the number; while it
 *                             lives, no instance asks again
 *
 * q_life_fetched: a new entry, status "active", net and cert written, no
 * ICCID (the service reaches the SIM, not SMS), and the number's miss
 * dropped, in one script.  Q_ERR_CONFLICT, with nothing written, when the
 * number has an entry already (an import or another instance was first):
 * the caller just uses it.  The certificate is the caller's to check first
 * (sig_cert_admit).
 * q_life_miss: remember the miss for ttl_s (1..) seconds.
 * q_life_missed: missed = 1 while a miss is remembered.
 */
void q_life_fetched(struct q *q, const char *msisdn, int net, const uint8_t *cert, size_t cert_len, q_doc_done_cb *cb,
                    void *arg);
void q_life_miss(struct q *q, const char *msisdn, unsigned ttl_s, q_doc_done_cb *cb, void *arg);
typedef void q_life_missed_cb(void *arg, enum q_err err, int missed);
void q_life_missed(struct q *q, const char *msisdn, q_life_missed_cb *cb, void *arg);

#endif /* SIMPKI_Q_LIFE_H */
