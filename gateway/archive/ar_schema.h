/*
 * ar_schema.h - the archive's schema migrations (gateway/archive/sql/NNNN_*.sql,
 * embedded at build time by embed_sql.cmake), applied in order at start.
 */
#ifndef SIMPKI_AR_SCHEMA_H
#define SIMPKI_AR_SCHEMA_H

#include <stddef.h>

struct ar_migration {
    int version;      /* the file name's number */
    const char *name; /* the file name */
    const char *sql;  /* its text */
};

extern const struct ar_migration ar_migrations[]; /* in version order */
extern const unsigned ar_n_migrations;

/*
 * How a connection applies them (ar_pg.c on the event loop, ar_db.c blocking
 * for simpki-admin), the same steps in the same order:
 *   1. ar_schema_sql_lock: a session advisory lock, so that of several
 *      instances starting together one applies and the others wait;
 *   2. ar_schema_sql_table: archive_migrations, if missing;
 *   3. ar_schema_sql_applied: the versions applied;
 *   4. for each migration not among them, ar_schema_apply_sql(m): the file
 *      and its archive_migrations row in one implicit transaction (one
 *      simple-protocol query: a file holds many statements; an error
 *      rolls all of it back);
 *   5. ar_schema_sql_unlock.
 * A failure at any step: close the connection (that releases the lock too).
 */
extern const char ar_schema_sql_lock[];
extern const char ar_schema_sql_table[];
extern const char ar_schema_sql_applied[];
extern const char ar_schema_sql_unlock[];

/* The text of step 4 for m, malloc'd (the caller frees); NULL when out of memory or m's name is not plain. */
char *ar_schema_apply_sql(const struct ar_migration *m);

/*
 * 1 when version is in the first column of applied (a PGresult of
 * ar_schema_sql_applied, text format).  Declared without libpq's header.
 */
struct pg_result;
int ar_schema_applied(const struct pg_result *applied, int version);

/* "ERROR:  x\nDETAIL: y\n" (libpq's message) as one line in out: newlines and tabs become spaces, trimmed. */
void ar_schema_oneline(const char *msg, char *out, size_t outlen);

/*
 * A failed result's reason as one line for logs and callbacks: "ERROR
 * 22012: division by zero" -- severity, SQLSTATE and the primary message
 * only: a DETAIL may quote a whole row (a number, a document), and a
 * CONTEXT the SQL.  libpq's own message when the server sent none.
 */
void ar_schema_result_err(const struct pg_result *res, char *out, size_t outlen);

/*
 * A PQnoticeProcessor: libpq prints notices ("relation ... already exists,
 * skipping") on stderr by default; this puts them in the debug log.
 */
void ar_schema_notice(void *arg, const char *msg);

#endif /* SIMPKI_AR_SCHEMA_H */
