/*
 * ar.h - the evidence archive of one gateway instance (docs/archive.md):
 * the PostgreSQL connection, the archiver that moves events from the Redis
 * streams (q_ev.h) into it, the anchoring of chain heads with RFC 3161
 * timestamps, retention, and the evidence bundles the API serves.
 *
 * ar_new returns NULL without error when the configuration has no
 * "archive" section: everything here is then off, and the API answers the
 * evidence endpoint 404 NOT_CONFIGURED... (see gw_api).
 */
#ifndef SIMPKI_AR_H
#define SIMPKI_AR_H

#include <stddef.h>

struct cfg;
struct event_base;
struct q;
struct gw_metrics;
struct sig_trust;
struct ar;

struct ar_deps {
    const struct cfg *cfg;
    struct event_base *base;
    struct q *q;
    struct gw_metrics *metrics;
    struct sig_trust *trust; /* the signing trust anchors: evidence bundles carry the path */
    const char *consumer;    /* this instance's name in the consumer group (unique per instance) */
};

/* *out NULL with 0 when the archive is off; -1 with why on a bad setting or no memory. */
int ar_new(const struct ar_deps *d, struct ar **out, char *why, size_t whylen);
void ar_free(struct ar *a); /* NULL: nothing */

/*
 * What the archive's modules share of an instance (ar_access.c; the struct
 * is ar_priv.h's).  NULL for a NULL a.  The connection is ar_pg.h's, which
 * only gateway/archive includes.
 */
struct ar_pg;
struct ar_pg *ar_pg_of(const struct ar *a);
const struct cfg *ar_cfg_of(const struct ar *a);
struct sig_trust *ar_trust_of(const struct ar *a);

#endif /* SIMPKI_AR_H */
