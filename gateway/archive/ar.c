/* ar.c - the evidence archive of one instance: its parts started and stopped in order (ar.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ar.h"
#include "ar_anchor.h"
#include "ar_archiver.h"
#include "ar_pg.h"
#include "ar_priv.h"
#include "ar_retention.h"
#include "cfg.h"
#include "gw_metrics.h"
#include "log.h"
#include "q_ev.h"

/* Where the database is, for the log: host, port, dbname, user of conninfo; never a password. */
static void describe(const char *conninfo, char *out, size_t outlen)
{
    static const char *const keys[] = {"host", "hostaddr", "port", "dbname", "user"};
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    size_t used = 0;

    out[0] = '\0';
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            if (o->val && *o->val && strcmp(o->keyword, keys[k]) == 0 && used < outlen) {
                int n = snprintf(out + used, outlen - used, "%s%s=%s", used ? " " : "", o->keyword, o->val);
                used += n > 0 ? (size_t)n : 0;
            }
        }
    }
    PQconninfoFree(opts);
}

int ar_new(const struct ar_deps *d, struct ar **out, char *why, size_t whylen)
{
    const struct cfg_archive *c = &d->cfg->archive;
    struct ar *a;
    char where[512];

    *out = NULL;
    if (!c->enabled)
        return 0;
    a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    a->d = *d;
    a->cfg = d->cfg;
    a->trust = d->trust;
    a->pg = ar_pg_new(d->base, c->conninfo, c->password[0] ? c->password : NULL, why, whylen);
    if (!a->pg)
        goto fail;
    /* From here on the scripts append events and a full stream refuses new signatures. */
    q_ev_enable(d->q, c->max_backlog);
    a->archiver = ar_archiver_new(&(struct ar_archiver_deps){.base = d->base,
                                                             .q = d->q,
                                                             .pg = a->pg,
                                                             .metrics = d->metrics,
                                                             .consumer = d->consumer,
                                                             .batch = c->batch,
                                                             .poll_ms = c->poll_ms,
                                                             .claim_idle_s = c->claim_idle_s});
    if (!a->archiver) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    if (ar_anchor_new(d->base, a->pg, d->cfg, d->metrics, &a->anchor, why, whylen) != 0)
        goto fail; /* NULL and 0: off */
    a->retention = ar_retention_new(d->base, a->pg, d->cfg);
    if (!a->retention) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    ar_retention_metrics(a->retention, d->metrics);
    describe(c->conninfo, where, sizeof where);
    LOGP(LOG_INFO, "archive", NULL, "archive: on, PostgreSQL %s%s, consumer %s, batch %u, max_backlog %llu", where,
         c->password[0] ? " (password from password_file)" : "", d->consumer, c->batch,
         (unsigned long long)c->max_backlog);
    *out = a;
    return 0;
fail:
    ar_free(a);
    return -1;
}

void ar_free(struct ar *a)
{
    if (!a)
        return;
    ar_retention_free(a->retention);
    ar_anchor_free(a->anchor);     /* before ar_pg_free (ar_anchor.h) */
    ar_archiver_free(a->archiver); /* before the connection: its query's "closed" answer finds it stopping */
    ar_pg_free(a->pg);
    free(a);
}
