/* ar_archiver.c - the streams into PostgreSQL, one batch at a time (ar_archiver.h). */
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ar_archiver.h"
#include "ar_event.h"
#include "ar_pg.h"
#include "gw_metrics.h"
#include "gw_util.h"
#include "log.h"
#include "q.h"
#include "q_ev.h"

#define BACKOFF_MAX_MS  5000
#define GAUGE_PERIOD_MS 5000

static const char INGEST_SQL[] = "SELECT archive_ingest($1::jsonb), archive_ingest($2::jsonb)";

enum step { STEP_READ, STEP_INGEST, STEP_ACK };

struct ar_archiver {
    struct ar_archiver_deps d;
    char consumer[128];
    struct event *tick;  /* the next step, after a wait */
    struct event *gauge; /* every GAUGE_PERIOD_MS: the backlog */
    enum step next;
    unsigned backoff_ms; /* 0 after a success */
    int q_busy;          /* Redis calls not yet answered */
    int pg_busy;         /* an ingest not yet answered */
    int backlog_busy;
    int dying;
    /* The batch under way: its entries (to acknowledge) and its two ingest documents. */
    struct q_ev_ref *refs;
    size_t n_refs;
    char *doc[GW_AR_KINDS]; /* [GW_AR_CERT] is $1, [GW_AR_SIGN] $2 */
    size_t n_kind[GW_AR_KINDS];
    struct timespec t0;
};

static void maybe_free(struct ar_archiver *a)
{
    if (!a->dying || a->q_busy || a->pg_busy)
        return;
    for (int k = 0; k < GW_AR_KINDS; k++)
        free(a->doc[k]);
    free(a->refs);
    free(a);
}

static void batch_clear(struct ar_archiver *a)
{
    for (int k = 0; k < GW_AR_KINDS; k++) {
        free(a->doc[k]);
        a->doc[k] = NULL;
        a->n_kind[k] = 0;
    }
    a->n_refs = 0;
}

static void after(struct ar_archiver *a, enum step next, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    a->next = next;
    evtimer_add(a->tick, &tv);
}

/* A failure: the same step again, after poll_ms doubling to BACKOFF_MAX_MS. */
static void retry(struct ar_archiver *a, enum step step)
{
    a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : a->d.poll_ms;
    if (a->backoff_ms > BACKOFF_MAX_MS)
        a->backoff_ms = BACKOFF_MAX_MS;
    after(a, step, a->backoff_ms);
}

static void step_read(struct ar_archiver *a);
static void step_ingest(struct ar_archiver *a);
static void step_ack(struct ar_archiver *a);

/* --- one batch into the two ingest documents --- */

struct docs {
    json_t *events[GW_AR_KINDS];
    json_t *certs; /* the sign document's */
    uint8_t (*seen)[32];
    size_t n_seen;
};

/* Add row to its kind's document (and its certificate once); -1 on no memory. */
static int add_row(struct docs *ds, const struct ar_row *row)
{
    int k = strcmp(row->kind, "cert") == 0 ? GW_AR_CERT : GW_AR_SIGN;
    json_t *e = ar_row_json(row);

    if (!e || json_array_append_new(ds->events[k], e) != 0)
        return -1;
    if (row->has_cert) {
        size_t i = 0;
        while (i < ds->n_seen && memcmp(ds->seen[i], row->cert_sha256, 32) != 0)
            i++;
        if (i == ds->n_seen) {
            json_t *c = ar_row_cert_json(row);
            if (!c || json_array_append_new(ds->certs, c) != 0)
                return -1;
            memcpy(ds->seen[ds->n_seen++], row->cert_sha256, 32);
        }
    }
    return 0;
}

/* -1 on no memory (nothing kept); else the batch is ready to send. */
static int build_batch(struct ar_archiver *a, const struct q_event *evs, size_t n)
{
    struct docs ds = {{json_array(), json_array()}, json_array(), malloc(n * sizeof *ds.seen), 0};
    struct ar_row row;
    char why[200];
    int rc = -1;

    batch_clear(a);
    if (!ds.events[0] || !ds.events[1] || !ds.certs || !ds.seen)
        goto out;
    for (size_t i = 0; i < n; i++) {
        enum ar_ev_rc r = ar_event_build(&evs[i], &row, why, sizeof why);
        if (r == AR_EV_NOMEM)
            goto out;
        if (r == AR_EV_MALFORMED) {
            a->d.metrics->ar.malformed++;
            /* Stream, entry and field names only: nothing personal. */
            LOGP_RL(LOG_WARN, 1, "archive", evs[i].stream, "entry %s is malformed (%s): archived as %s", evs[i].entry,
                    why, row.event_id);
        }
        a->n_kind[strcmp(row.kind, "cert") == 0 ? GW_AR_CERT : GW_AR_SIGN]++;
        if (add_row(&ds, &row) != 0) {
            ar_row_clear(&row);
            goto out;
        }
        ar_row_clear(&row);
        memcpy(a->refs[i].stream, evs[i].stream, sizeof a->refs[i].stream);
        memcpy(a->refs[i].entry, evs[i].entry, sizeof a->refs[i].entry);
    }
    a->n_refs = n;
    rc = 0;
out:
    if (rc == 0) {
        /* Certificates come with signatures only: the cert document has none. */
        json_t *c = json_pack("{s:O, s:[]}", "events", ds.events[GW_AR_CERT], "certs");
        json_t *s = json_pack("{s:O, s:O}", "events", ds.events[GW_AR_SIGN], "certs", ds.certs);
        a->doc[GW_AR_CERT] = c ? json_dumps(c, JSON_COMPACT) : NULL;
        a->doc[GW_AR_SIGN] = s ? json_dumps(s, JSON_COMPACT) : NULL;
        json_decref(c);
        json_decref(s);
        if (!a->doc[GW_AR_CERT] || !a->doc[GW_AR_SIGN])
            rc = -1;
    }
    json_decref(ds.events[0]);
    json_decref(ds.events[1]);
    json_decref(ds.certs);
    free(ds.seen);
    if (rc != 0)
        batch_clear(a);
    return rc;
}

/* --- the steps --- */

static void on_read(void *arg, enum q_err err, const struct q_event *evs, size_t n)
{
    struct ar_archiver *a = arg;

    a->q_busy--;
    if (a->dying) {
        maybe_free(a);
        return;
    }
    if (err != Q_OK) {
        a->d.metrics->ar.errors[GW_AR_ERR_READ]++;
        LOGP_RL(LOG_WARN, 10, "archive", NULL, "reading the event streams failed: %s", q_strerror(err));
        retry(a, STEP_READ);
        return;
    }
    if (n == 0) {
        a->backoff_ms = 0;
        after(a, STEP_READ, a->d.poll_ms);
        return;
    }
    if (n > a->d.batch || build_batch(a, evs, n) != 0) {
        /* Nothing acknowledged: the entries stay pending for us and come back (claimed) later. */
        a->d.metrics->ar.errors[GW_AR_ERR_READ]++;
        LOGP_RL(LOG_ERR, 10, "archive", NULL, "cannot build a batch of %zu events (out of memory)", n);
        retry(a, STEP_READ);
        return;
    }
    step_ingest(a);
}

static void step_read(struct ar_archiver *a)
{
    /* Redis not (yet) connected: nothing to read, and nothing to report (its own metrics do). */
    if (!q_connected(a->d.q)) {
        retry(a, STEP_READ);
        return;
    }
    a->q_busy++;
    q_ev_read(a->d.q, a->consumer, a->d.batch, a->d.claim_idle_s * 1000u, on_read, a);
}

static uint64_t since_ns(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (uint64_t)((t1.tv_sec - t0->tv_sec) * 1000000000LL + (t1.tv_nsec - t0->tv_nsec));
}

static int64_t count_of(const PGresult *res, int col)
{
    const char *v = PQntuples(res) == 1 && PQnfields(res) == 2 ? PQgetvalue(res, 0, col) : NULL;
    char *end = NULL;
    long long x = v ? strtoll(v, &end, 10) : -1;
    return end && *end == '\0' && x >= 0 ? (int64_t)x : -1;
}

static void on_ingest(void *arg, const PGresult *res, const char *err)
{
    struct ar_archiver *a = arg;
    struct gw_archive_stat *m = &a->d.metrics->ar;
    int64_t n_cert, n_sign;

    a->pg_busy = 0;
    if (a->dying) {
        maybe_free(a);
        return;
    }
    gw_hist_observe(&m->batch, since_ns(&a->t0));
    n_cert = res ? count_of(res, 0) : -1;
    n_sign = res ? count_of(res, 1) : -1;
    if (n_cert < 0 || n_sign < 0) {
        m->errors[GW_AR_ERR_DB]++;
        LOGP_RL(LOG_WARN, 10, "archive", NULL, "archiving %zu events failed, will retry: %s", a->n_refs,
                err ? err : "unexpected answer");
        retry(a, STEP_INGEST);
        return;
    }
    m->events[GW_AR_CERT] += (uint64_t)n_cert;
    m->events[GW_AR_SIGN] += (uint64_t)n_sign;
    if ((uint64_t)(n_cert + n_sign) < a->n_refs)
        m->duplicates += a->n_refs - (uint64_t)(n_cert + n_sign);
    LOGP(LOG_DEBUG, "archive", NULL, "archived %zu events: %lld new", a->n_refs, (long long)(n_cert + n_sign));
    for (int k = 0; k < GW_AR_KINDS; k++) {
        free(a->doc[k]);
        a->doc[k] = NULL;
    }
    a->backoff_ms = 0;
    step_ack(a);
}

static void step_ingest(struct ar_archiver *a)
{
    const char *values[2] = {a->doc[GW_AR_CERT], a->doc[GW_AR_SIGN]};

    clock_gettime(CLOCK_MONOTONIC, &a->t0);
    if (ar_pg_query(a->d.pg, INGEST_SQL, 2, values, 0, on_ingest, a) != 0) {
        a->d.metrics->ar.errors[GW_AR_ERR_DB]++;
        retry(a, STEP_INGEST);
        return;
    }
    a->pg_busy = 1;
}

static void on_ack(void *arg, enum q_err err)
{
    struct ar_archiver *a = arg;
    int full;

    a->q_busy--;
    if (a->dying) {
        maybe_free(a);
        return;
    }
    if (err != Q_OK) {
        a->d.metrics->ar.errors[GW_AR_ERR_ACK]++;
        LOGP_RL(LOG_WARN, 10, "archive", NULL, "acknowledging %zu archived events failed, will retry: %s", a->n_refs,
                q_strerror(err));
        retry(a, STEP_ACK);
        return;
    }
    full = a->n_refs >= a->d.batch;
    batch_clear(a);
    a->backoff_ms = 0;
    /* A full batch: more is likely waiting. */
    after(a, STEP_READ, full ? 0 : a->d.poll_ms);
}

static void step_ack(struct ar_archiver *a)
{
    a->q_busy++;
    q_ev_ack(a->d.q, a->refs, a->n_refs, on_ack, a);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    static void (*const steps[])(struct ar_archiver *) = {
        [STEP_READ] = step_read, [STEP_INGEST] = step_ingest, [STEP_ACK] = step_ack};
    struct ar_archiver *a = arg;
    (void)fd;
    (void)what;
    steps[a->next](a);
}

/* --- gauges --- */

static void on_backlog(void *arg, enum q_err err, uint64_t entries, int64_t oldest_ms)
{
    struct ar_archiver *a = arg;
    int64_t now = gw_now_ms();

    a->q_busy--;
    a->backlog_busy = 0;
    if (a->dying) {
        maybe_free(a);
        return;
    }
    if (err != Q_OK) {
        a->d.metrics->ar.errors[GW_AR_ERR_READ]++;
        return;
    }
    a->d.metrics->ar.backlog = entries;
    a->d.metrics->ar.oldest_s = oldest_ms > 0 && now > oldest_ms ? (double)(now - oldest_ms) / 1000.0 : 0.0;
}

static void on_gauge(evutil_socket_t fd, short what, void *arg)
{
    struct ar_archiver *a = arg;
    (void)fd;
    (void)what;
    if (a->backlog_busy)
        return;
    a->backlog_busy = 1;
    a->q_busy++;
    q_ev_backlog(a->d.q, on_backlog, a);
}

static void on_db_state(void *arg, int up, const char *why)
{
    struct ar_archiver *a = arg;
    a->d.metrics->ar.db_up = up;
    if (up)
        LOGP(LOG_INFO, "archive", NULL, "database connected, schema up to date");
    else
        LOGP(LOG_WARN, "archive", NULL, "database unavailable: %s", why ? why : "?");
}

struct ar_archiver *ar_archiver_new(const struct ar_archiver_deps *d)
{
    struct ar_archiver *a = calloc(1, sizeof *a);
    struct timeval now = {0, 0}, period = {GAUGE_PERIOD_MS / 1000, 0};

    if (!a)
        return NULL;
    a->d = *d;
    if (a->d.batch < 1)
        a->d.batch = 1;
    if (a->d.poll_ms < 1)
        a->d.poll_ms = 1;
    snprintf(a->consumer, sizeof a->consumer, "%s", d->consumer);
    a->d.consumer = a->consumer;
    a->refs = calloc(a->d.batch, sizeof *a->refs);
    a->tick = evtimer_new(d->base, on_tick, a);
    a->gauge = event_new(d->base, -1, EV_PERSIST, on_gauge, a);
    if (!a->refs || !a->tick || !a->gauge || event_add(a->gauge, &period) != 0) {
        a->dying = 1;
        if (a->tick)
            event_free(a->tick);
        if (a->gauge)
            event_free(a->gauge);
        maybe_free(a);
        return NULL;
    }
    a->d.metrics->ar.on = 1;
    a->d.metrics->ar.db_up = ar_pg_up(d->pg);
    ar_pg_on_state(d->pg, on_db_state, a);
    a->next = STEP_READ;
    evtimer_add(a->tick, &now);
    return a;
}

void ar_archiver_free(struct ar_archiver *a)
{
    if (!a)
        return;
    ar_pg_on_state(a->d.pg, NULL, NULL);
    event_free(a->tick);
    event_free(a->gauge);
    a->dying = 1;
    maybe_free(a);
}
