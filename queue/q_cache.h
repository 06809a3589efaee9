/*
 * q_cache.h - a small shared cache in Redis, shaped for the signer's
 * revocation checker (struct sig_revoc_cache in signer/sig_revoc.h), so that
 * an OCSP response or CRL fetched by one gateway instance serves all of them.
 *
 * The queue layer does not include the signer: these functions have exactly
 * the signatures sig_revoc_cache's get and put take, and the gateway wires
 * them together:
 *
 *     struct sig_revoc_cache c = {.ctx = q, .get = q_cache_get, .put = q_cache_put};
 *
 * A cache problem is never a failure: a get that meets Redis down, an error
 * reply or a key that is not a string answers "miss"; a put that fails is
 * dropped (logged at debug).  Values are binary-safe.  Keys are used as given
 * ("spk:rv:ocsp:<hex>"); they carry no hash tag, each is its own slot.
 */
#ifndef SIMPKI_Q_CACHE_H
#define SIMPKI_Q_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Called exactly once per q_cache_get, never inside it; value (NULL on a miss) lives only during the call. */
typedef void q_cache_got(void *req, const uint8_t *value, size_t len);

/* ctx is the struct q *.  GET key. */
void q_cache_get(void *ctx, const char *key, q_cache_got *got, void *req);

/* ctx is the struct q *.  SET key value EX ttl_s (ttl_s 0 is taken as 1), fire and forget. */
void q_cache_put(void *ctx, const char *key, const uint8_t *value, size_t len, unsigned ttl_s);

#endif /* SIMPKI_Q_CACHE_H */
