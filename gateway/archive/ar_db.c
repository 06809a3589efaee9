/* ar_db.c - STAND-IN (anchor branch) for helper pg's ar_db.c; take pg's at merge. */
#include "ar_db.h"

#include <stdio.h>

#include "cfg.h"

PGconn *ar_db_open(const struct cfg_archive *ac, char *why, size_t whylen)
{
    const char *k[3] = {"dbname", "password", NULL};
    const char *v[3] = {ac->conninfo, ac->password[0] ? ac->password : NULL, NULL};
    PGconn *c = PQconnectdbParams(k, v, 1);

    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(why, whylen, "%s", c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return NULL;
    }
    return c;
}

void ar_db_close(PGconn *c)
{
    if (c)
        PQfinish(c);
}
