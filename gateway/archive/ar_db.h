/*
 * ar_db.h - STAND-IN (anchor branch) for helper pg's ar_db.h: a blocking
 * PostgreSQL connection for simpki-admin, with the contract's signature.
 * Take pg's file at merge.
 */
#ifndef SIMPKI_AR_DB_H
#define SIMPKI_AR_DB_H

#include <libpq-fe.h>
#include <stddef.h>

struct cfg_archive;

/* Connected, or NULL with why. */
PGconn *ar_db_open(const struct cfg_archive *ac, char *why, size_t whylen);
void ar_db_close(PGconn *c); /* NULL: nothing */

#endif /* SIMPKI_AR_DB_H */
