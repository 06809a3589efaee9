/*
 * ar_archiver.h - moves events from the Redis streams (q_ev.h) into
 * PostgreSQL (docs/archive.md), on the gateway's event loop.
 *
 * The loop, one batch at a time:
 *
 *   q_ev_read(consumer, batch, claim_idle_s)   entries another instance left
 *        |                                     unacknowledged, then new ones
 *        | none: read again after poll_ms
 *        v
 *   ar_event_build each (a malformed one is archived as such: ar_event.h)
 *        v
 *   SELECT archive_ingest($1::jsonb), archive_ingest($2::jsonb)
 *        |  ($1 the batch's "cert" events, $2 its "sign" events and their
 *        |  certificates: one round trip, one transaction, and the number of
 *        |  new rows of each kind; cert before sign, as archive_ingest orders)
 *        | error: the batch is kept in memory and sent again after a backoff
 *        |        (poll_ms doubling to 5 s): its entries stay pending for this
 *        |        consumer, and ingest is idempotent, so nothing is lost or
 *        |        archived twice.  If this instance dies meanwhile, another
 *        |        claims them after claim_idle_s.
 *        v
 *   q_ev_ack of exactly those entries (XACK + XDEL); a failed ack is retried
 *        the same way (an entry archived but not acknowledged is archived
 *        again later as a duplicate: counted, harmless)
 *        v
 *   a full batch: read again at once; a partial one: after poll_ms
 *
 * Every 5 s q_ev_backlog feeds the backlog gauges.  Metrics go to
 * metrics->ar (gw_metrics.h); ar_pg's state changes set db_up and are logged.
 */
#ifndef SIMPKI_AR_ARCHIVER_H
#define SIMPKI_AR_ARCHIVER_H

struct event_base;
struct q;
struct ar_pg;
struct gw_metrics;
struct ar_archiver;

struct ar_archiver_deps {
    struct event_base *base;
    struct q *q;
    struct ar_pg *pg; /* not owned; must outlive the archiver's free (ar.c frees it after) */
    struct gw_metrics *metrics;
    const char *consumer; /* copied */
    unsigned batch;       /* entries per read, >= 1 */
    unsigned poll_ms;     /* an idle archiver reads again after this, >= 1 */
    unsigned claim_idle_s;
};

/* Starts at once (the first read on the next loop turn).  NULL on no memory. */
struct ar_archiver *ar_archiver_new(const struct ar_archiver_deps *d);

/*
 * Stops.  A Redis call under way is answered later (q_free answers it) and
 * the memory goes then; call ar_pg_free after this, never before.  NULL:
 * nothing.
 */
void ar_archiver_free(struct ar_archiver *a);

#endif /* SIMPKI_AR_ARCHIVER_H */
