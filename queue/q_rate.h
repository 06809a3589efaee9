/*
 * q_rate.h - per-relying-party rate limits shared by every gateway instance
 * (api_keys[].rate_per_s; the caller is gateway/api/gw_admit.h).
 *
 *   spk:rate:<rp>   hash  w = the current one-second window (Redis's TIME, in
 *                         seconds), n = tokens granted in it; expires 2 s after
 *                         its last grant
 *
 * Tokens are leased in batches: an instance asks for `want` (a batch, say a
 * twentieth of the rate) and serves its requests from the batch locally, so
 * a request costs no Redis round trip of its own.  The window is Redis's
 * clock, one for every instance: the tokens of one window, summed over all
 * instances, never exceed the limit.  Tokens an instance leased and did not
 * use die with their window (the bound is never exceeded; the rate an
 * instance sees may fall short of it by at most a batch).
 *
 * Key layout: one key per relying party, the only key its script touches
 * (declared in KEYS), like q_once.h's, so in a Redis Cluster it is in a slot
 * of its own and needs no hash tag; relying parties spread over the slots.
 *
 * The rules of q.h hold: asynchronous, callback exactly once, never inside
 * the call, Q_ERR_AGAIN when Redis is away (the caller refuses then: a limit
 * that cannot be counted is not waved through).
 */
#ifndef SIMPKI_Q_RATE_H
#define SIMPKI_Q_RATE_H

#include "q.h"

/*
 * Lease up to `want` tokens of rp's current window, whose limit is `limit`
 * per second (both >= 1; rp a cfg name).  granted: 0..want (0: the window is
 * spent); ms_left: how long the window still runs by Redis's clock (1..1000):
 * the tokens are good that long.  Q_ERR_INVALID for an rp that cannot be a
 * key part or a zero limit.
 */
typedef void q_rate_cb(void *arg, enum q_err err, unsigned granted, unsigned ms_left);
void q_rate_lease(struct q *q, const char *rp, unsigned limit, unsigned want, q_rate_cb *cb, void *arg);

#endif /* SIMPKI_Q_RATE_H */
