/*
 * ar_anchor.h - RFC 3161 timestamps over the archive's chain heads
 * (docs/archive.md, "archive_anchors").
 *
 * Every archive.anchor_interval_s, one round: the chains whose head moved
 * past their last anchor (archive_heads.seq above the largest
 * archive_anchors.seq of the chain) each get a token from the configured
 * TSA (tsa_url, checked against tsa_trust by sig_tsa_check_reply) over the
 * 32-octet head -- messageImprint = SHA-256(head) -- stored as
 * archive_anchors (chain, seq, head, tst, gen_time).  A token proves that
 * the chain up to seq existed, as it is, at gen_time: rows changed, removed
 * or reordered before seq no longer lead to the anchored head
 * (simpki-admin verify-archive).
 *
 * Instances: a round runs under the session advisory lock
 * ar_anchor_lock_key (pg_try_advisory_lock); an instance that does not get
 * it skips the round, so a head is timestamped once, not once per instance.
 * The insert is ON CONFLICT DO NOTHING as well.  Heads are taken one at a
 * time; a round does at most 64 (a backlog of months is caught up over a
 * few rounds).  A TSA that fails or answers a token that does not verify
 * costs that head its anchor until the next round.
 *
 * Metrics: simpki_archive_anchors_total{result="ok|failed"} (gw_metrics:
 * ar_anchors_ok, ar_anchors_failed), one per head tried.
 */
#ifndef SIMPKI_AR_ANCHOR_H
#define SIMPKI_AR_ANCHOR_H

#include <stddef.h>

struct event_base;
struct ar_pg;
struct cfg;
struct gw_metrics;
struct ar_anchor;

/* The advisory lock a round holds: pg_try_advisory_lock(AR_ANCHOR_LOCK_KEY). */
#define AR_ANCHOR_LOCK_KEY 0x73706b6961616e63LL /* "spkiaanc" */

/*
 * Start anchoring on base through pg (borrowed; freed after this object).
 * cfg and m are borrowed and outlive it; m may be NULL (else m->ar_anchoring
 * is set).  0 with *out NULL, nothing started, when anchoring is off:
 * cfg->archive.anchor_interval_s is 0, or there is no tsa_url (a warning
 * logged).  -1 with a reason in why when it is asked for and cannot start
 * (tsa_trust unreadable, no HTTP client, no memory): the gateway refuses to
 * run rather than keep chains nobody timestamps.
 */
int ar_anchor_new(struct event_base *base, struct ar_pg *pg, const struct cfg *cfg, struct gw_metrics *m,
                  struct ar_anchor **out, char *why, size_t whylen);

/*
 * Stop: the timer, a TSA request under way (dropped).  Call it before
 * ar_pg_free: a query still queued keeps the object's memory until ar_pg
 * answers it (ar_pg_free does, with "closed"), and then nothing more is
 * done with it.  NULL: nothing.
 */
void ar_anchor_free(struct ar_anchor *a);

#endif /* SIMPKI_AR_ANCHOR_H */
