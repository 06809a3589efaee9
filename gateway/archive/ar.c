/* ar.c - the evidence archive of one instance: its parts started and stopped in order (ar.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ar.h"
#include "ar_archiver.h"
#include "ar_pg.h"
#include "cfg.h"
#include "gw_metrics.h"
#include "log.h"
#include "q_ev.h"

/*
 * The evidence branch moves this definition to ar_priv.h with pg, cfg and
 * trust first (its accessors read them): keep those three first, in order.
 */
struct ar {
    struct ar_pg *pg;
    const struct cfg *cfg;
    struct sig_trust *trust;
    struct ar_deps d;
    struct ar_archiver *archiver;
    /* [anchor] the anchoring of chain heads (ar_anchor_new / ar_anchor_free) plugs in here. */
    /* [retention] the dropping of old partitions (ar_retention_new / ar_retention_free) plugs in here. */
};

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
    /* [anchor] ar_anchor_new(...) here, when anchor_interval_s > 0. */
    /* [retention] ar_retention_new(...) here. */
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
    /* [retention] ar_retention_free(...) here, first. */
    /* [anchor] ar_anchor_free(...) here. */
    ar_archiver_free(a->archiver); /* before the connection: its query's "closed" answer finds it stopping */
    ar_pg_free(a->pg);
    free(a);
}
