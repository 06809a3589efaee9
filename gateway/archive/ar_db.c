/*
 * ar_db.c - see ar_db.h.  The steps of ar_schema.h with PQexec.
 */
#include "ar_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_schema.h"
#include "log.h"

/* Run one step; its result (the caller clears it), or NULL with why filled. */
static PGresult *step(PGconn *db, const char *sql, const char *what, char *why, size_t whylen)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType s = PQresultStatus(r);
    char line[256];

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
        return r;
    if (r)
        ar_schema_result_err(r, line, sizeof line);
    else
        ar_schema_oneline(PQerrorMessage(db), line, sizeof line);
    snprintf(why, whylen, "%s: %s", what, line[0] ? line : "failed");
    PQclear(r);
    return NULL;
}

static int migrate(PGconn *db, char *why, size_t whylen)
{
    PGresult *applied = NULL, *r;
    int rc = -1;

    r = step(db, ar_schema_sql_lock, "migrations", why, whylen);
    if (!r)
        return -1;
    PQclear(r);
    r = step(db, ar_schema_sql_table, "migrations", why, whylen);
    if (!r)
        goto out;
    PQclear(r);
    applied = step(db, ar_schema_sql_applied, "migrations", why, whylen);
    if (!applied)
        goto out;
    for (unsigned i = 0; i < ar_n_migrations; i++) {
        const struct ar_migration *m = &ar_migrations[i];
        char what[128], *sql;
        if (ar_schema_applied(applied, m->version))
            continue;
        sql = ar_schema_apply_sql(m);
        if (!sql) {
            snprintf(why, whylen, "migration %s: out of memory", m->name);
            goto out;
        }
        snprintf(what, sizeof what, "migration %s", m->name);
        r = step(db, sql, what, why, whylen);
        free(sql);
        if (!r)
            goto out;
        PQclear(r);
        LOGP(LOG_INFO, "archive", NULL, "applied migration %s", m->name);
    }
    rc = 0;
out:
    PQclear(applied);
    /* On failure the caller closes the connection, which releases the lock as well. */
    if (rc == 0) {
        r = step(db, ar_schema_sql_unlock, "migrations", why, whylen);
        rc = r ? 0 : -1;
        PQclear(r);
    }
    return rc;
}

PGconn *ar_db_open(const struct cfg_archive *a, char *why, size_t whylen)
{
    static const char *const kw[] = {"dbname", "password", "fallback_application_name", NULL};
    const char *vals[] = {a->conninfo, a->password[0] ? a->password : NULL, "simpki-admin", NULL};
    PGconn *db = PQconnectdbParams(kw, vals, 1);
    char line[256];

    if (!db) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (PQstatus(db) != CONNECTION_OK) {
        ar_schema_oneline(PQerrorMessage(db), line, sizeof line);
        snprintf(why, whylen, "cannot connect to the archive: %s", line[0] ? line : "failed");
        PQfinish(db);
        return NULL;
    }
    PQsetNoticeProcessor(db, ar_schema_notice, NULL);
    if (migrate(db, why, whylen) != 0) {
        PQfinish(db);
        return NULL;
    }
    return db;
}

void ar_db_close(PGconn *db)
{
    if (db)
        PQfinish(db);
}
