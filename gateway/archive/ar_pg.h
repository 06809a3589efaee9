/*
 * ar_pg.h - one asynchronous PostgreSQL connection on the gateway's event
 * loop (libpq's non-blocking API: PQconnectStart/PQconnectPoll,
 * PQsendQueryParams, PQconsumeInput; the socket watched by libevent).
 *
 * Queries are queued and run one at a time, in order.  On every
 * (re)connection the schema migrations (ar_schema.h) are applied before any
 * queued query runs.  A lost connection is reopened with a backoff (0.5 s
 * doubling to 10 s); the query that was running, and every queued one, gets
 * its callback with an error: the caller decides whether to try again (the
 * archiver does: its batches are idempotent).
 *
 * Only gateway/archive includes this header (libpq's types stay here).
 */
#ifndef SIMPKI_AR_PG_H
#define SIMPKI_AR_PG_H

#include <libpq-fe.h>

struct event_base;
struct ar_pg;

/*
 * conninfo: a libpq connection string; password may be NULL (then
 * conninfo, PGPASSWORD or ~/.pgpass).  Connects in the background at once.
 * NULL on allocation failure or a conninfo libpq cannot parse (why says).
 */
struct ar_pg *ar_pg_new(struct event_base *base, const char *conninfo, const char *password, char *why, size_t whylen);

/* Closes; callbacks of queries not yet answered run with err "closed" before it returns.  NULL: nothing. */
void ar_pg_free(struct ar_pg *pg);

/* 1 while connected with the schema applied. */
int ar_pg_up(const struct ar_pg *pg);

/* Called on each change of ar_pg_up (connected, lost), for logs and metrics.  cb may be NULL. */
typedef void ar_pg_state_cb(void *arg, int up, const char *why);
void ar_pg_on_state(struct ar_pg *pg, ar_pg_state_cb *cb, void *arg);

/*
 * res: the result when the query succeeded (PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK), else NULL and err a one-line reason.  res lives only
 * during the callback.  Called exactly once, never inside ar_pg_query.
 */
typedef void ar_pg_cb(void *arg, const PGresult *res, const char *err);

/*
 * Queue sql with nparams text parameters (values[i] NULL = SQL NULL; copied,
 * the caller's may go at once).  Results come in text format unless binary
 * is 1.  -1 (nothing queued, cb not called) when out of memory or when
 * more than 1024 queries wait: the caller backs off.
 */
int ar_pg_query(struct ar_pg *pg, const char *sql, int nparams, const char *const *values, int binary, ar_pg_cb *cb,
                void *arg);

#endif /* SIMPKI_AR_PG_H */
