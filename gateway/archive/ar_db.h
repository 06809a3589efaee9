/*
 * ar_db.h - a blocking PostgreSQL connection to the archive, for
 * simpki-admin (verify-archive, events search, export): the daemon's
 * connection is ar_pg.h's, on the event loop.
 *
 * Opening applies the schema migrations (ar_schema.h) exactly as the daemon
 * does, under the same advisory lock, so the tools work on a database no
 * daemon has touched yet and never race one that is migrating it.
 */
#ifndef SIMPKI_AR_DB_H
#define SIMPKI_AR_DB_H

#include <libpq-fe.h>
#include <stddef.h>

#include "cfg.h"

/*
 * Connect with a->conninfo and a->password ("" = libpq's own ways), then
 * migrate.  The caller owns the connection (ar_db_close).  NULL when either
 * fails, with one line in why (libpq's reason; never the password).
 */
PGconn *ar_db_open(const struct cfg_archive *a, char *why, size_t whylen);

/* PQfinish; NULL: nothing. */
void ar_db_close(PGconn *db);

#endif /* SIMPKI_AR_DB_H */
