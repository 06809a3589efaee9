/*
 * ar_schema.c - the migration bookkeeping that ar_pg.c (asynchronous) and
 * ar_db.c (blocking) share; see ar_schema.h for the steps.
 */
#include "ar_schema.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* pg_advisory_lock's key: "simpki" as a 48-bit number, one lock for every simpki database user. */
#define AR_SCHEMA_LOCK "126896644844393"

const char ar_schema_sql_lock[] = "SELECT pg_advisory_lock(" AR_SCHEMA_LOCK ")";
const char ar_schema_sql_unlock[] = "SELECT pg_advisory_unlock(" AR_SCHEMA_LOCK ")";
const char ar_schema_sql_table[] = "CREATE TABLE IF NOT EXISTS archive_migrations ("
                                   "version int PRIMARY KEY, name text NOT NULL, "
                                   "applied_at timestamptz NOT NULL DEFAULT now())";
const char ar_schema_sql_applied[] = "SELECT version FROM archive_migrations ORDER BY version";

char *ar_schema_apply_sql(const struct ar_migration *m)
{
    static const char fmt[] = "%s\n;\nINSERT INTO archive_migrations (version, name) VALUES (%d, '%s')";
    size_t len;
    char *sql;

    /* The name goes into the text as a literal: file names of the repository, checked anyway. */
    for (const char *p = m->name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '-' || *p == '.'))
            return NULL;
    len = strlen(fmt) + strlen(m->sql) + strlen(m->name) + 16;
    sql = malloc(len);
    if (sql)
        snprintf(sql, len, fmt, m->sql, m->version, m->name);
    return sql;
}

int ar_schema_applied(const struct pg_result *applied, int version)
{
    const PGresult *r = applied;
    char want[16];

    snprintf(want, sizeof want, "%d", version);
    for (int i = 0; r && i < PQntuples(r); i++)
        if (strcmp(PQgetvalue(r, i, 0), want) == 0)
            return 1;
    return 0;
}

void ar_schema_oneline(const char *msg, char *out, size_t outlen)
{
    size_t n = 0;
    int space = 1; /* drops leading and repeated blanks */

    if (!outlen)
        return;
    for (const char *p = msg ? msg : ""; *p && n + 1 < outlen; p++) {
        int blank = *p == '\n' || *p == '\r' || *p == '\t' || *p == ' ';
        if (blank && space)
            continue;
        out[n++] = blank ? ' ' : *p;
        space = blank;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

void ar_schema_result_err(const struct pg_result *res, char *out, size_t outlen)
{
    const PGresult *r = res;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY);
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *prim = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    char line[512];

    if (prim) {
        snprintf(line, sizeof line, "%s %s: %s", sev ? sev : "ERROR", code ? code : "", prim);
        ar_schema_oneline(line, out, outlen);
    } else {
        ar_schema_oneline(r ? PQresultErrorMessage(r) : NULL, out, outlen);
    }
    if (outlen && !out[0])
        snprintf(out, outlen, "%s", r ? PQresStatus(PQresultStatus(r)) : "failed");
}

void ar_schema_notice(void *arg, const char *msg)
{
    char line[256];
    (void)arg;
    ar_schema_oneline(msg, line, sizeof line);
    LOGP(LOG_DEBUG, "archive", NULL, "postgresql: %s", line);
}
