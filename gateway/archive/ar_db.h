/*
 * ar_db.h - a blocking PostgreSQL connection to the archive, for
 * simpki-admin's commands (events, archive-export, archive-drop,
 * verify-archive), which run one query after another and have no event loop.
 *
 * (Minimal version written by the search helper against the agreed
 * prototype; the pg helper's ar_db.c replaces it.)
 */
#ifndef SIMPKI_AR_DB_H
#define SIMPKI_AR_DB_H

#include <libpq-fe.h>
#include <stddef.h>

struct cfg_archive;

/*
 * Connect with a->conninfo (and a->password when set), session time zone
 * UTC.  NULL with why (one line, never the password) when the section is
 * absent or the connection fails.  Close with ar_db_close.
 */
PGconn *ar_db_open(const struct cfg_archive *a, char *why, size_t whylen);

/* NULL: nothing. */
void ar_db_close(PGconn *db);

#endif /* SIMPKI_AR_DB_H */
