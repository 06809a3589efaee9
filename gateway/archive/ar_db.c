/* ar_db.c - blocking connection for simpki-admin (ar_db.h); minimal, the pg helper's replaces it. */
#include "ar_db.h"

#include <stdio.h>
#include <string.h>

#include "cfg.h"

PGconn *ar_db_open(const struct cfg_archive *a, char *why, size_t whylen)
{
    const char *keys[] = {"dbname", "password", "options", NULL};
    const char *vals[] = {a->conninfo, a->password[0] ? a->password : NULL, "-c timezone=UTC", NULL};
    PGconn *db;

    if (!a->enabled) {
        snprintf(why, whylen, "the configuration has no \"archive\" section");
        return NULL;
    }
    if (!vals[1]) {
        keys[1] = "options";
        vals[1] = vals[2];
        keys[2] = NULL;
    }
    db = PQconnectdbParams(keys, vals, 1);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        const char *m = db ? PQerrorMessage(db) : "out of memory";
        snprintf(why, whylen, "%.*s", (int)strcspn(m, "\n"), m);
        PQfinish(db);
        return NULL;
    }
    return db;
}

void ar_db_close(PGconn *db)
{
    PQfinish(db);
}
