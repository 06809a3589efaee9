/*
 * q_sentinel.h - finding and following the Redis master through Redis
 * Sentinel, for q_conn.c.  Private to queue/.
 *
 * With "redis.sentinels" configured, q_conn.c does not connect to a fixed
 * address: before each (re)connection it asks q_sentinel_resolve() for the
 * master, and q_sentinel keeps one connection to a sentinel subscribed to
 * +switch-master, so that a failover is followed at once instead of when
 * the old master's connection happens to fail.  The pieces that make a
 * failover safe sit in q_conn.c: the ROLE check in each connection's
 * handshake (a sentinel may still name a demoted master), the drop on a
 * READONLY or MASTERDOWN reply, and the WAIT behind state-changing scripts
 * (see the comment at the top of q_conn.c).
 *
 * Everything runs on the caller's event loop with hiredis's async API: no
 * call here blocks.  Sentinels are asked in turn, starting with the one that
 * answered last; one that does not answer within connect_timeout_ms is
 * skipped.
 */
#ifndef SIMPKI_Q_SENTINEL_H
#define SIMPKI_Q_SENTINEL_H

#include <event2/event.h>

#include "cfg.h"
#include "q.h"

struct q_sentinel;

/*
 * The answer to q_sentinel_resolve: the master's host and port, or host
 * NULL when no sentinel named one (all down, or none knows master_name).
 * host lives only during the call.  Called from the loop, once per round.
 */
typedef void q_sentinel_found_fn(void *arg, const char *host, unsigned port);

/*
 * A +switch-master for our master name, from the subscribed sentinel:
 * the master moved to host:port.  host lives only during the call.
 */
typedef void q_sentinel_switch_fn(void *arg, const char *host, unsigned port);

/*
 * A new resolver on base for cfg's sentinels (cfg->n_sentinels > 0, copied,
 * secrets wiped in q_sentinel_free); it subscribes to +switch-master at once
 * and keeps that subscription (another sentinel when one goes).  found and
 * sw get arg.  NULL when out of memory or cfg has no sentinels.
 */
struct q_sentinel *q_sentinel_new(struct event_base *base, const struct cfg_redis *cfg, q_sentinel_found_fn *found,
                                  q_sentinel_switch_fn *sw, void *arg);

/* Close everything; no callback runs after or during it.  NULL does nothing. */
void q_sentinel_free(struct q_sentinel *s);

/*
 * Ask the sentinels for the master now; found is called when a sentinel
 * answered or all failed.  While a round runs, another call joins it (one
 * answer for both connections).  Never calls found inside this call.
 */
void q_sentinel_resolve(struct q_sentinel *s);

/*
 * Blocking, for q_sync.c (the admin CLI): ask cfg's sentinels in turn
 * (connect_timeout_ms each) for the master.  0 with host (NUL-terminated,
 * hostcap bytes at most) and *port; -1 with the reason in why.
 */
int q_sentinel_master_sync(const struct cfg_redis *cfg, char *host, size_t hostcap, unsigned *port, char *why,
                           size_t whylen);

#endif /* SIMPKI_Q_SENTINEL_H */
