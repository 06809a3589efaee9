/* gw_metrics.c - see gw_metrics.h. */
#include "gw_metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>

const uint64_t gw_hist_bounds_ns[GW_HIST_BOUNDS] = {
    100000,   250000,    500000,    1000000,   2500000,    5000000,     10000000,    25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000u, 5000000000u, 10000000000u,
};
/* The same bounds as Prometheus spells them in le="...". */
static const char *const hist_le[GW_HIST_BOUNDS] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
    "0.05",   "0.1",     "0.25",   "0.5",   "1",      "2.5",   "5",    "10",
};

/* The statuses the gateway answers (gw_result.c's table, libevent's own); any other counts under its class. */
static const int codes[GW_CODE_SLOTS - 5] = {200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
                                             406, 409, 413, 415, 422, 429, 500, 502, 503, 504};
static const char *const code_classes[5] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

void gw_api_stat_answer(struct gw_api_stat *s, int code)
{
    unsigned i;

    for (i = 0; i < GW_CODE_SLOTS - 5; i++) {
        if (codes[i] == code) {
            s->codes[i]++;
            return;
        }
    }
    /* Another status (or 0, a connection that failed first): its class, 1xx for what has none. */
    s->codes[GW_CODE_SLOTS - 5 + (code >= 200 && code < 600 ? code / 100 - 1 : 0)]++;
}

void gw_metrics_family(struct evbuffer *out, const char *name, const char *help, const char *type)
{
    evbuffer_add_printf(out, "# HELP simpki_%s %s\n# TYPE simpki_%s %s\n", name, help, name, type);
}

static void render_api(const struct gw_metrics *m, struct evbuffer *out)
{
    static const struct {
        const char *api, *op;
        int timed;
    } ops[GW_OP_COUNT] = {
#define GW_X(id, api, op, timed) {api, op, timed},
        GW_API_OPS(GW_X)
#undef GW_X
    };
    char labels[96];
    const char *help = "time from a request read to its answer written: the gateway's own latency, Redis "
                       "included; long polls (op poll) and synch MSS_Signature wait for the subscriber and are "
                       "not timed";

    for (int i = 0; i < GW_OP_COUNT; i++) {
        if (!ops[i].timed)
            continue;
        snprintf(labels, sizeof(labels), "api=\"%s\",op=\"%s\"", ops[i].api, ops[i].op);
        gw_metrics_hist(out, "api_request_duration_seconds", help, labels, &m->api[i].lat);
        help = NULL;
    }
    gw_metrics_family(out, "api_responses_total", "answers written, by API, operation and HTTP status", "counter");
    for (int i = 0; i < GW_OP_COUNT; i++) {
        for (unsigned k = 0; k < GW_CODE_SLOTS; k++) {
            char code[8];
            if (!m->api[i].codes[k])
                continue; /* a status never answered has no series (there are 25 per operation) */
            if (k < GW_CODE_SLOTS - 5)
                snprintf(code, sizeof(code), "%d", codes[k]);
            else
                snprintf(code, sizeof(code), "%s", code_classes[k - (GW_CODE_SLOTS - 5)]);
            snprintf(labels, sizeof(labels), "api=\"%s\",op=\"%s\",code=\"%s\"", ops[i].api, ops[i].op, code);
            gw_metrics_counter(out, "api_responses_total", NULL, labels, m->api[i].codes[k]);
        }
    }
}

/* Retention's series (struct gw_retention_stat), only with the archive on. */
static void render_retention(const struct gw_retention_stat *r, struct evbuffer *out)
{
    if (r->on)
        gw_metrics_counter(out, "archive_partitions_dropped_total",
                           "months of the archive dropped by retention (archive.retention_years)", NULL,
                           r->partitions_dropped);
}

/* The archiver's series (struct gw_archive_stat), only with the archive on. */
static void render_archive(const struct gw_archive_stat *a, struct evbuffer *out)
{
    static const char *const stages[GW_AR_ERR_STAGES] = {"read", "db", "ack"};
    char labels[32];

    if (!a->on)
        return;
    gw_metrics_counter(out, "archive_events_total", "events archived (new rows), by kind", "kind=\"sign\"",
                       a->events[GW_AR_SIGN]);
    gw_metrics_counter(out, "archive_events_total", NULL, "kind=\"cert\"", a->events[GW_AR_CERT]);
    gw_metrics_counter(out, "archive_duplicates_total", "events the database already held (archived again)", NULL,
                       a->duplicates);
    gw_metrics_counter(out, "archive_malformed_total", "stream entries archived as etype malformed", NULL,
                       a->malformed);
    for (int i = 0; i < GW_AR_ERR_STAGES; i++) {
        snprintf(labels, sizeof(labels), "stage=\"%s\"", stages[i]);
        gw_metrics_counter(out, "archive_errors_total", i ? NULL : "archiver failures: stream read, database, ack",
                           labels, a->errors[i]);
    }
    gw_metrics_gauge(out, "archive_backlog_entries", "events in the streams not yet archived", NULL,
                     (double)a->backlog);
    gw_metrics_gauge(out, "archive_oldest_seconds", "age of the oldest event not yet archived", NULL, a->oldest_s);
    gw_metrics_gauge(out, "archive_db_up", "1 while the archive database is connected", NULL, a->db_up);
    gw_metrics_hist(out, "archive_batch_duration_seconds", "one archive_ingest call, sent to answered", NULL,
                    &a->batch);
}

void gw_metrics_render(const struct gw_metrics *m, struct evbuffer *out)
{
    static const char *const names[] = {
#define GW_X(id, name, help) name,
        GW_COUNTERS(GW_X)
#undef GW_X
    };
    static const char *const helps[] = {
#define GW_X(id, name, help) help,
        GW_COUNTERS(GW_X)
#undef GW_X
    };
    for (int i = 0; i < GW_M_COUNT; i++)
        gw_metrics_counter(out, names[i], helps[i], NULL, m->c[i]);
    render_api(m, out);
    /* Evidence archive, anchoring (gateway/archive/ar_anchor.c), only while it runs. */
    if (m->ar_anchoring) {
        gw_metrics_counter(out, "archive_anchors_total", "RFC 3161 timestamps over archive chain heads, by result",
                           "result=\"ok\"", m->ar_anchors_ok);
        gw_metrics_counter(out, "archive_anchors_total", NULL, "result=\"failed\"", m->ar_anchors_failed);
    }
    render_retention(&m->retention, out);
    render_archive(&m->ar, out);
    if (m->extra)
        m->extra(m->extra_arg, out);
}

static void sample(struct evbuffer *out, const char *name, const char *suffix, const char *labels,
                   const char *more_labels, const char *value)
{
    int braces = (labels && *labels) || more_labels;

    evbuffer_add_printf(out, "simpki_%s%s%s%s%s%s%s %s\n", name, suffix, braces ? "{" : "", labels ? labels : "",
                        labels && *labels && more_labels ? "," : "", more_labels ? more_labels : "", braces ? "}" : "",
                        value);
}

void gw_metrics_gauge(struct evbuffer *out, const char *name, const char *help, const char *labels, double v)
{
    char value[32];

    if (help)
        gw_metrics_family(out, name, help, "gauge");
    snprintf(value, sizeof(value), "%.17g", v);
    sample(out, name, "", labels, NULL, value);
}

void gw_metrics_counter(struct evbuffer *out, const char *name, const char *help, const char *labels, uint64_t v)
{
    char value[24];

    if (help)
        gw_metrics_family(out, name, help, "counter");
    snprintf(value, sizeof(value), "%" PRIu64, v);
    sample(out, name, "", labels, NULL, value);
}

void gw_metrics_hist(struct evbuffer *out, const char *name, const char *help, const char *labels,
                     const struct gw_hist *h)
{
    char le[24], value[32];
    uint64_t cum = 0;

    if (help)
        gw_metrics_family(out, name, help, "histogram");
    for (unsigned i = 0; i <= GW_HIST_BOUNDS; i++) {
        cum += h->n[i];
        snprintf(le, sizeof(le), "le=\"%s\"", i < GW_HIST_BOUNDS ? hist_le[i] : "+Inf");
        snprintf(value, sizeof(value), "%" PRIu64, cum);
        sample(out, name, "_bucket", labels, le, value);
    }
    snprintf(value, sizeof(value), "%.9f", (double)h->sum_ns / 1e9);
    sample(out, name, "_sum", labels, NULL, value);
    snprintf(value, sizeof(value), "%" PRIu64, cum);
    sample(out, name, "_count", labels, NULL, value);
}
