/* ar_retention.c - the months past retention dropped, one at a time (ar_retention.h). */
#include "ar_retention.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_pg.h"
#include "cfg.h"
#include "gw_metrics.h"
#include "log.h"

#define RUN_EVERY_S (6 * 3600)
#define RETRY_S     300
#define MAX_MONTHS  1200 /* a century of months in one run; the rest at the next */

enum { K_SIGN, K_CERT, K_N };
static const char *const kind_name[K_N] = {"sign", "cert"};

struct ar_retention {
    struct ar_pg *pg;
    struct event *timer;
    struct gw_metrics *metrics;
    unsigned years[K_N];
    int inflight; /* a query of ours waits in pg */
    int dying;    /* freed meanwhile: its callback frees r */
    int failed;   /* this run: a query failed */
    int kind;     /* the kind this run is at */
    char (*months)[8];
    size_t n, next;
    unsigned dropped; /* this run */
};

static void next_kind(struct ar_retention *r);

static void schedule(struct ar_retention *r, int seconds)
{
    struct timeval tv = {seconds, 0};
    evtimer_add(r->timer, &tv);
}

static void finish_run(struct ar_retention *r)
{
    if (r->failed)
        LOGP(LOG_WARN, "archive", NULL, "archive: retention: a step failed; again in %d s", RETRY_S);
    else if (r->dropped)
        LOGP(LOG_INFO, "archive", NULL, "archive: retention: %u months dropped", r->dropped);
    schedule(r, r->failed ? RETRY_S : RUN_EVERY_S);
}

static int query(struct ar_retention *r, const char *sql, int n, const char *const *vals, ar_pg_cb *cb)
{
    if (ar_pg_query(r->pg, sql, n, vals, 0, cb, r) != 0) {
        LOGP(LOG_WARN, "archive", NULL, "archive: retention: the connection's queue is full");
        r->failed = 1;
        return -1;
    }
    r->inflight = 1;
    return 0;
}

/* Common start of the callbacks: 1 when r was freed meanwhile (then it is gone now). */
static int answered(struct ar_retention *r)
{
    r->inflight = 0;
    if (!r->dying)
        return 0;
    free(r->months);
    free(r);
    return 1;
}

static void drop_next(struct ar_retention *r);

static void on_dropped(void *arg, const PGresult *res, const char *err)
{
    struct ar_retention *r = arg;
    const char *month;

    if (answered(r))
        return;
    month = r->months[r->next++];
    if (!res) {
        LOGP(LOG_WARN, "archive", NULL, "archive: retention: dropping %s/%s: %s", kind_name[r->kind], month, err);
        r->failed = 1;
    } else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
        LOGP(LOG_INFO, "archive", NULL, "archive: retention: dropped %s/%s (older than %u years)", kind_name[r->kind],
             month, r->years[r->kind]);
        r->dropped++;
        if (r->metrics)
            r->metrics->retention.partitions_dropped++;
    } else {
        LOGP(LOG_DEBUG, "archive", NULL, "archive: retention: %s/%s left to another instance", kind_name[r->kind],
             month);
    }
    drop_next(r);
}

static void drop_next(struct ar_retention *r)
{
    const char *vals[2];

    if (r->next == r->n) {
        r->kind++;
        next_kind(r);
        return;
    }
    vals[0] = kind_name[r->kind];
    vals[1] = r->months[r->next];
    if (query(r, "SELECT archive_drop_partition($1, $2, 'retention')", 2, vals, on_dropped) != 0)
        finish_run(r);
}

static void on_expired(void *arg, const PGresult *res, const char *err)
{
    struct ar_retention *r = arg;
    int rows;

    if (answered(r))
        return;
    if (!res) {
        LOGP(LOG_WARN, "archive", NULL, "archive: retention: listing %s months: %s", kind_name[r->kind], err);
        r->failed = 1;
        finish_run(r);
        return;
    }
    rows = PQntuples(res);
    r->n = 0;
    r->next = 0;
    for (int i = 0; i < rows && r->n < MAX_MONTHS; i++)
        snprintf(r->months[r->n++], sizeof(r->months[0]), "%s", PQgetvalue(res, i, 0));
    drop_next(r);
}

/* From r->kind on: the next kind with a retention, or the end of the run. */
static void next_kind(struct ar_retention *r)
{
    char years[16];
    const char *vals[2];

    while (r->kind < K_N && r->years[r->kind] == 0)
        r->kind++;
    if (r->kind == K_N) {
        finish_run(r);
        return;
    }
    snprintf(years, sizeof(years), "%u", r->years[r->kind]);
    vals[0] = kind_name[r->kind];
    vals[1] = years;
    if (query(r, "SELECT archive_expired($1, $2::integer)", 2, vals, on_expired) != 0)
        finish_run(r);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ar_retention *r = arg;

    (void)fd;
    (void)what;
    r->failed = 0;
    r->dropped = 0;
    r->kind = 0;
    next_kind(r);
}

struct ar_retention *ar_retention_new(struct event_base *base, struct ar_pg *pg, const struct cfg *cfg)
{
    struct ar_retention *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    r->pg = pg;
    r->years[K_SIGN] = cfg->archive.retention_sign_years;
    r->years[K_CERT] = cfg->archive.retention_cert_years;
    r->months = calloc(MAX_MONTHS, sizeof(r->months[0]));
    r->timer = evtimer_new(base, on_timer, r);
    if (!r->months || !r->timer) {
        ar_retention_free(r);
        return NULL;
    }
    if (r->years[K_SIGN] || r->years[K_CERT]) {
        LOGP(LOG_INFO, "archive", NULL, "archive: retention: sign %u years, cert %u years (0: kept for ever)",
             r->years[K_SIGN], r->years[K_CERT]);
        schedule(r, 0);
    }
    return r;
}

void ar_retention_metrics(struct ar_retention *r, struct gw_metrics *m)
{
    r->metrics = m;
    if (m)
        m->retention.on = 1;
}

void ar_retention_free(struct ar_retention *r)
{
    if (!r)
        return;
    if (r->timer)
        event_free(r->timer);
    r->timer = NULL;
    r->metrics = NULL;
    if (r->inflight) {
        r->dying = 1; /* the query's callback frees it */
        return;
    }
    free(r->months);
    free(r);
}
