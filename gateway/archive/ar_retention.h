/*
 * ar_retention.h - retention of the evidence archive (docs/archive.md,
 * "Retention and export"): months past archive.retention_years dropped whole.
 *
 * Once at start and then every 6 hours (5 minutes after a run that failed:
 * the database down, a lock not had), for each kind whose retention_years is
 * above 0, oldest first: SELECT archive_expired(kind, years), then for each
 * month SELECT archive_drop_partition(kind, month, 'retention') -- one
 * statement, so one transaction, per month (sql/0002_retention.sql: the
 * chain's head goes to archive_dropped, its heads and anchors rows are
 * deleted, the partition dropped, under an advisory lock so that of several
 * instances one does it; the others' calls return false and change nothing).
 *
 * Every query goes through the instance's ar_pg connection, behind the
 * archiver's; nothing here blocks the loop (a drop waiting for its table
 * lock, 10 s at most, holds the connection's queue meanwhile).  Each month dropped is logged
 * (info) and counted in simpki_archive_partitions_dropped_total.
 */
#ifndef SIMPKI_AR_RETENTION_H
#define SIMPKI_AR_RETENTION_H

struct event_base;
struct ar_pg;
struct cfg;
struct gw_metrics;
struct ar_retention;

/*
 * Start retention on pg (borrowed: it must outlive the retention, which
 * ar_retention_free ends first).  cfg is read now only (retention_*_years).
 * With both years 0, nothing is ever dropped and no query is sent.  NULL on
 * out of memory.
 */
struct ar_retention *ar_retention_new(struct event_base *base, struct ar_pg *pg, const struct cfg *cfg);

/* Count dropped months in m->retention (may be NULL: not counted).  Set once, before the loop runs. */
void ar_retention_metrics(struct ar_retention *r, struct gw_metrics *m);

/*
 * Stop.  A query still waiting in pg keeps a small part of r until its
 * callback (at the latest from ar_pg_free) and is then ignored.  NULL: nothing.
 */
void ar_retention_free(struct ar_retention *r);

#endif /* SIMPKI_AR_RETENTION_H */
