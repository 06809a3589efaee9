/* ar_pg_stub.c - see ar_pg_stub.h. */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>

#include "ar_pg_stub.h"

struct ar_pg_stub_answer {
    PGresult *res; /* NULL: failed, err says why */
    ar_pg_cb *cb;
    void *arg;
    char err[256];
};

static void deliver(evutil_socket_t fd, short what, void *p)
{
    struct ar_pg_stub_answer *a = p;

    (void)fd;
    (void)what;
    a->cb(a->arg, a->res, a->res ? NULL : a->err);
    PQclear(a->res);
    free(a);
}

int ar_pg_query(struct ar_pg *pg, const char *sql, int nparams, const char *const *values, int binary, ar_pg_cb *cb,
                void *arg)
{
    struct ar_pg_stub_answer *a = calloc(1, sizeof(*a));
    struct timeval now = {0, 0};

    if (!a)
        return -1;
    pg->asked++;
    a->cb = cb;
    a->arg = arg;
    if (pg->down) {
        snprintf(a->err, sizeof(a->err), "connection lost");
    } else {
        a->res = PQexecParams(pg->db, sql, nparams, NULL, values, NULL, NULL, binary);
        if (PQresultStatus(a->res) != PGRES_TUPLES_OK && PQresultStatus(a->res) != PGRES_COMMAND_OK) {
            snprintf(a->err, sizeof(a->err), "%s", PQresultErrorMessage(a->res));
            PQclear(a->res);
            a->res = NULL;
        }
    }
    if (pg->hold && pg->nheld < sizeof(pg->held) / sizeof(pg->held[0])) {
        pg->held[pg->nheld++] = a;
    } else if (event_base_once(pg->base, -1, EV_TIMEOUT, deliver, a, &now) != 0) {
        PQclear(a->res);
        free(a);
        return -1;
    }
    return 0;
}

int ar_pg_up(const struct ar_pg *pg)
{
    return !pg->down && PQstatus(pg->db) == CONNECTION_OK;
}

void ar_pg_stub_deliver(struct ar_pg *pg)
{
    while (pg->nheld)
        deliver(-1, 0, pg->held[--pg->nheld]);
}
