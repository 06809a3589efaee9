/*
 * gw_plan_build.c - POST /v1/plans (gw_plan.h): the two files checked, the
 * plan document created, then the whole registry read with q_reg_scan on
 * the event loop, one step of 1,000 keys at a time, so the loop serves other
 * requests between steps.  Each certificate is summarised as it comes
 * (sig_cert_summary: names and dates, not its key; the DER is not kept),
 * repeats dropped by number, and the rules (gw_merge_rules.h) run once at
 * the end; the rows are written 1,000 at a time, then the document goes to
 * "review".  A build lives only in the instance that runs it: one whose
 * instance stops is served as failed once its heartbeat is old (gw_plan.c).
 */
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "car_route.h"
#include "cfg.h"
#include "gw_http.h"
#include "gw_merge_input.h"
#include "gw_merge_rules.h"
#include "gw_metrics.h"
#include "gw_plan_priv.h"
#include "gw_util.h"
#include "log.h"
#include "q_plan.h"
#include "sig.h"
#include "util.h"

#define SCAN_COUNT      1000
#define BUILD_REPORT_MS 1000 /* how often a build writes how far it got */

/* ---- building ----------------------------------------------------------- */

/* One registry entry's certificate as the rules need it; strings in one malloc'd block. */
struct cert_sum {
    char *block;
    struct gw_merge_cert c;
};

struct build {
    struct gw_plan *p;
    char id[PLAN_ID_LEN];
    struct gw_merge_input *in;
    json_t *doc;
    struct cert_sum *certs;
    size_t n, cap;
    char **seen; /* open addressing on msisdn: SCAN may return a key twice */
    size_t seen_cap;
    uint64_t read, total;
    int64_t reported_ms;
    json_t *rows;
    size_t put;  /* rows written */
    int writing; /* a progress write is under way */
    int failed_tries;
    uint64_t cursor;     /* the scan's, to retry a step that Redis did not answer */
    struct event *retry; /* that retry, a moment later; or the wait for the last progress write */
    int finishing;       /* the scan is complete: the timer goes on to the rows */
};

static void build_free(struct build *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->certs[i].block);
    free(b->certs);
    for (size_t i = 0; i < b->seen_cap; i++)
        free(b->seen[i]);
    free(b->seen);
    gw_merge_input_free(b->in);
    json_decref(b->doc);
    json_decref(b->rows);
    if (b->retry)
        event_free(b->retry);
    b->p->builds--;
    plan_release(b->p);
    free(b);
}

/* 1 when msisdn was seen before; remembers it. -1 on out of memory. */
static int seen_before(struct build *b, const char *msisdn)
{
    size_t i;

    if ((b->n + 1) * 2 > b->seen_cap) {
        size_t cap = b->seen_cap ? b->seen_cap * 2 : 4096;
        char **t = calloc(cap, sizeof(*t));
        if (!t)
            return -1;
        for (size_t k = 0; k < b->seen_cap; k++) {
            if (!b->seen[k])
                continue;
            for (i = util_fnv1a(b->seen[k]) & (cap - 1); t[i]; i = (i + 1) & (cap - 1))
                ;
            t[i] = b->seen[k];
        }
        free(b->seen);
        b->seen = t;
        b->seen_cap = cap;
    }
    for (i = util_fnv1a(msisdn) & (b->seen_cap - 1); b->seen[i]; i = (i + 1) & (b->seen_cap - 1))
        if (strcmp(b->seen[i], msisdn) == 0)
            return 1;
    return (b->seen[i] = strdup(msisdn)) ? 0 : -1;
}

/* Title case of a carrier's name, as the forms print it ("Viettel"). */
static const char *carrier_title(int net, const char *msisdn)
{
    enum car_net n = net ? (enum car_net)net : car_route_prefix(msisdn);
    const char *name = car_net_name(n);

    if (!name)
        return "";
    if (strcmp(name, "viettel") == 0)
        return "Viettel";
    if (strcmp(name, "vinaphone") == 0)
        return "Vinaphone";
    if (strcmp(name, "mobifone") == 0)
        return "Mobifone";
    return "";
}

/* Summarise one registry entry's certificate; 0, or -1 on out of memory.  Unreadable ones are skipped. */
static int take_cert(struct build *b, const struct q_reg_entry *e)
{
    struct sig_cert_summary sum;
    const struct sig_cert_names *nm = &sum.names;
    const char *serial;
    struct cert_sum *s;
    size_t need;
    char *w;
    int r;

    if (!e->cert || !e->status || strcmp(e->status, "active") != 0)
        return 0;
    if ((r = seen_before(b, e->msisdn)) != 0)
        return r > 0 ? 0 : -1;
    /* The light read: names and dates only (the registry's certificates were checked when they were written). */
    if (sig_cert_summary(e->cert, e->cert_len, &sum) != SIG_OK)
        return 0;
    for (serial = sum.serial_hex; serial[0] == '0' && serial[1]; serial++)
        ;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        struct cert_sum *t = realloc(b->certs, cap * sizeof(*t));
        if (!t)
            return -1;
        b->certs = t;
        b->cap = cap;
    }
    need = strlen(e->msisdn) + strlen(serial) + strlen(nm->cn) + strlen(nm->o) + strlen(nm->st) + strlen(nm->uid) +
           strlen(nm->email) + strlen(sum.subject) + 8;
    s = &b->certs[b->n];
    if (!(s->block = w = malloc(need)))
        return -1;
#define TAKE(field, src)             \
    do {                             \
        size_t l_ = strlen(src) + 1; \
        memcpy(w, src, l_);          \
        s->c.field = w;              \
        w += l_;                     \
    } while (0)
    TAKE(msisdn, e->msisdn);
    TAKE(serial, serial);
    TAKE(cn, nm->cn);
    TAKE(o, nm->o);
    TAKE(st, nm->st);
    TAKE(uid, nm->uid);
    TAKE(email, nm->email);
    TAKE(subject, sum.subject);
#undef TAKE
    s->c.carrier = carrier_title(e->net, e->msisdn);
    s->c.not_after = (int64_t)sum.not_after;
    s->c.cs = e->cs;
    b->n++;
    return 0;
}

static void build_step(struct build *b, uint64_t cursor);
static void build_write_rows(struct build *b);

/* The build could not finish: the plan says so, and the operator builds it again. */
static void build_fail(struct build *b, const char *why)
{
    char *text;

    LOGP(LOG_WARN, "plan", b->id, "build failed: %s", why);
    gw_metrics_inc(b->p->metrics, GW_M_PLAN_BUILD_FAILED);
    if (b->p->dead) { /* shutting down: the stale build shows as failed to a later reader */
        build_free(b);
        return;
    }
    json_object_set_new(b->doc, "state", json_string("failed"));
    json_object_set_new(b->doc, "error", json_string(why));
    json_object_set_new(b->doc, "rev", json_integer(json_integer_value(json_object_get(b->doc, "rev")) + 1));
    text = json_dumps(b->doc, JSON_COMPACT);
    if (text)
        q_plan_cas(b->p->q, b->id, json_integer_value(json_object_get(b->doc, "rev")) - 1, text, strlen(text), 0, NULL,
                   NULL);
    free(text);
    build_free(b);
}

static void progress_written(void *arg, enum q_err err)
{
    struct build *b = arg;

    b->writing = 0;
    if (err != Q_OK) /* the next report retries; the rev did not move */
        json_object_set_new(b->doc, "rev", json_integer(json_integer_value(json_object_get(b->doc, "rev")) - 1));
}

/* Write the document's next revision (building: how far; at the end: the plan). */
static int doc_write(struct build *b, q_doc_done_cb *cb)
{
    json_int_t rev = json_integer_value(json_object_get(b->doc, "rev"));
    char now[32], *text;

    util_iso8601(time(NULL), now);
    json_object_set_new(b->doc, "updated_at", json_string(now));
    json_object_set_new(b->doc, "heartbeat_ms", json_integer(gw_now_ms()));
    json_object_set_new(b->doc, "rev", json_integer(rev + 1));
    text = json_dumps(b->doc, JSON_COMPACT);
    if (!text)
        return -1;
    q_plan_cas(b->p->q, b->id, rev, text, strlen(text), 0, cb, b);
    free(text);
    return 0;
}

static void scanned(void *arg, enum q_err err, uint64_t next, const struct q_reg_entry *e, size_t n)
{
    struct build *b = arg;

    if (err != Q_OK) {
        struct timeval tv = {0, 500000};
        /* Redis away for a moment: the same step again a little later (the cursor is still good). */
        if (err == Q_ERR_AGAIN && !b->p->dead && ++b->failed_tries < 20 && b->retry && evtimer_add(b->retry, &tv) == 0)
            return;
        build_fail(b, "the registry could not be read");
        return;
    }
    b->failed_tries = 0;
    for (size_t i = 0; i < n; i++)
        if (take_cert(b, &e[i]) != 0) {
            build_fail(b, "out of memory reading the registry");
            return;
        }
    b->read += n;
    if (!b->writing && gw_now_ms() - b->reported_ms >= BUILD_REPORT_MS) {
        json_object_set_new(b->doc, "build",
                            json_pack("{s:I, s:I}", "read", (json_int_t)b->read, "total", (json_int_t)b->total));
        b->reported_ms = gw_now_ms();
        b->writing = doc_write(b, progress_written) == 0;
    }
    if (next != 0) {
        build_step(b, next);
        return;
    }
    build_write_rows(b);
}

static void build_step(struct build *b, uint64_t cursor)
{
    if (b->p->dead) {
        build_free(b);
        return;
    }
    b->cursor = cursor;
    q_reg_scan(b->p->q, cursor, SCAN_COUNT, scanned, b);
}

static void build_retry(evutil_socket_t fd, short what, void *arg)
{
    struct build *b = arg;

    (void)fd;
    (void)what;
    if (b->finishing)
        build_write_rows(b);
    else
        build_step(b, b->cursor);
}

static void build_done(void *arg, enum q_err err)
{
    struct build *b = arg;

    if (err != Q_OK) {
        build_fail(b, "the plan could not be stored");
        return;
    }
    LOGP(LOG_INFO, "plan", b->id, "built: %zu rows from %zu certificates", json_array_size(b->rows), b->n);
    gw_metrics_inc(b->p->metrics, GW_M_PLAN_BUILT);
    build_free(b);
}

static void rows_put(void *arg, enum q_err err);

static void build_write_rows(struct build *b)
{
    struct q_plan_row rows[Q_PLAN_ROWS_MAX];
    char *texts[Q_PLAN_ROWS_MAX];
    size_t n = 0, total = json_array_size(b->rows);

    if (!b->rows) {
        const struct gw_reorg_row *reorg;
        const struct gw_staff_row *staff;
        size_t nreorg, nstaff;
        json_t *summary = NULL;

        if (b->writing) { /* the last progress write first: the document's rev must settle */
            struct timeval tv = {0, 20000};
            b->finishing = 1;
            if (evtimer_add(b->retry, &tv) != 0)
                build_fail(b, "cannot set a timer");
            return;
        }
        reorg = gw_merge_reorg(b->in, &nreorg);
        staff = gw_merge_staff(b->in, &nstaff);
        {
            struct gw_merge_cert *certs = malloc((b->n ? b->n : 1) * sizeof(*certs));
            enum gw_merge_err merr = GW_MERGE_ERR_NOMEM;
            if (certs) {
                for (size_t i = 0; i < b->n; i++)
                    certs[i] = b->certs[i].c;
                merr = gw_merge_plan_build(reorg, nreorg, staff, nstaff, certs, b->n, &b->rows, &summary);
                free(certs);
            }
            if (merr != GW_MERGE_OK) {
                build_fail(b, "out of memory building the plan");
                return;
            }
        }
        json_object_set_new(b->doc, "summary", summary);
        json_object_set_new(b->doc, "build",
                            json_pack("{s:I, s:I}", "read", (json_int_t)b->read, "total", (json_int_t)b->read));
        total = json_array_size(b->rows);
        b->put = 0;
    }
    if (b->put >= total) {
        char now[32];
        util_iso8601(time(NULL), now);
        json_object_set_new(b->doc, "state", json_string("review"));
        json_object_set_new(b->doc, "version", json_integer(1));
        json_array_append_new(json_object_get(b->doc, "history"),
                              json_pack("{s:i, s:s, s:s, s:s}", "version", 1, "at", now, "by",
                                        json_string_value(json_object_get(b->doc, "created_by")), "what", "built"));
        if (doc_write(b, build_done) != 0)
            build_fail(b, "out of memory");
        return;
    }
    for (; n < Q_PLAN_ROWS_MAX && b->put + n < total; n++) {
        json_t *row = json_array_get(b->rows, b->put + n);
        texts[n] = json_dumps(row, JSON_COMPACT);
        if (!texts[n]) {
            for (size_t k = 0; k < n; k++)
                free(texts[k]);
            build_fail(b, "out of memory");
            return;
        }
        rows[n] =
            (struct q_plan_row){(unsigned)json_integer_value(json_object_get(row, "no")), texts[n], strlen(texts[n])};
    }
    q_plan_rows_put(b->p->q, b->id, rows, n, rows_put, b);
    for (size_t k = 0; k < n; k++)
        free(texts[k]);
    b->put += n;
}

static void rows_put(void *arg, enum q_err err)
{
    struct build *b = arg;

    if (err != Q_OK || b->p->dead) {
        build_fail(b, "the plan's rows could not be stored");
        return;
    }
    build_write_rows(b);
}

static void counted(void *arg, enum q_err err, uint64_t n)
{
    struct build *b = arg;

    b->total = err == Q_OK ? n : 0; /* only for the progress bar: keys, not subscribers */
    build_step(b, 0);
}

struct create {
    struct gw_http_hold h;
    struct build *b;
};

static void plan_created(void *arg, enum q_err err)
{
    struct create *c = arg;
    struct evhttp_request *req = gw_http_take(&c->h);
    struct build *b = c->b;
    char loc[64];

    free(c);
    if (err != Q_OK) {
        plan_storage_error(req, err);
        build_free(b);
        return;
    }
    LOGP(LOG_INFO, "plan", b->id, "building \"%s\"", json_string_value(json_object_get(b->doc, "name")));
    if (req) {
        snprintf(loc, sizeof(loc), "/v1/plans/%s", b->id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
        gw_http_json(req, 202, json_incref(b->doc));
    }
    q_dbsize(b->p->q, counted, b);
}

/* A "YYYY-MM-DD" that is a date. */
static int valid_date(const char *s)
{
    int y, m, d;
    char tail;

    return s && strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && y >= 2000 && m >= 1 &&
           m <= 12 && d >= 1 && d <= 31;
}

void plan_build_create(struct gw_plan *p, struct evhttp_request *req, const char *rp)
{
    char why[256], now[32];
    json_t *body = gw_http_body_json(req, why, sizeof(why)), *findings;
    const char *name, *deadline, *by, *reorg, *staff;
    const struct gw_reorg_row *rr;
    struct build *b = NULL;
    struct create *c;
    enum gw_merge_err e1, e2;
    unsigned char rnd[6];
    size_t nreorg;
    char *text;

    if (!body) {
        gw_http_error(req, 400, "MALFORMED_JSON", NULL, "%s", why);
        return;
    }
    name = json_string_value(json_object_get(body, "name"));
    deadline = json_string_value(json_object_get(body, "deadline"));
    by = json_string_value(json_object_get(body, "by"));
    reorg = json_string_value(json_object_get(body, "reorg"));
    staff = json_string_value(json_object_get(body, "staff"));
    if (!name || !*name || strlen(name) > 200) {
        gw_http_error(req, 400, "INVALID_FIELD", "name", "give the plan a name (1-200 octets)");
        goto out;
    }
    if (!valid_date(deadline)) {
        gw_http_error(req, 400, "INVALID_FIELD", "deadline", "deadline is a date YYYY-MM-DD");
        goto out;
    }
    if (!reorg || !staff) {
        gw_http_error(req, 400, "INVALID_FIELD", reorg ? "staff" : "reorg",
                      "give the reorganisation and the staff list as text (CSV or JSON): \"reorg\", \"staff\"");
        goto out;
    }
    if (!(b = calloc(1, sizeof(*b)))) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    b->p = p;
    p->builds++;
    plan_hold(p);
    if (!(b->in = gw_merge_input_new()) || !(b->retry = evtimer_new(p->base, build_retry, b))) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    e1 = gw_merge_read_reorg(b->in, reorg, json_string_length(json_object_get(body, "reorg")));
    e2 = gw_merge_read_staff(b->in, staff, json_string_length(json_object_get(body, "staff")));
    findings = gw_merge_findings_json(b->in);
    if (e1 == GW_MERGE_ERR_NOMEM || e2 == GW_MERGE_ERR_NOMEM || !findings) {
        json_decref(findings);
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    if (e1 != GW_MERGE_OK || e2 != GW_MERGE_OK) {
        gw_http_json(req, 400,
                     json_pack("{s:s, s:s, s:o, s:I}", "error", "INVALID_INPUT", "message",
                               "the files have errors; nothing was stored (see findings)", "findings", findings, "more",
                               (json_int_t)gw_merge_findings_more(b->in)));
        goto out;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        json_decref(findings);
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "no randomness for an id");
        goto out;
    }
    b->id[0] = 'p';
    util_hex(rnd, sizeof(rnd), b->id + 1);
    rr = gw_merge_reorg(b->in, &nreorg);
    util_iso8601(time(NULL), now);
    b->doc = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s?, s:s?, s:{s:i, s:i}, s:o, s:[], s:{}}", "id",
                       b->id, "name", name, "state", "building", "version", 0, "rev", 1, "deadline", deadline,
                       "created_at", now, "updated_at", now, "created_by", by && *by ? by : rp, "basis",
                       nreorg ? rr[0].basis : NULL, "effective", nreorg ? rr[0].effective : NULL, "build", "read", 0,
                       "total", 0, "findings", findings, "history", "overrides");
    if (b->doc) /* a build whose instance stops is told from a slow one by this (served()) */
        json_object_set_new(b->doc, "heartbeat_ms", json_integer(gw_now_ms()));
    text = b->doc ? json_dumps(b->doc, JSON_COMPACT) : NULL;
    c = text ? calloc(1, sizeof(*c)) : NULL;
    if (!c) {
        free(text);
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    c->b = b;
    gw_http_hold(&c->h, req, NULL, NULL);
    q_plan_create(p->q, b->id, text, strlen(text), gw_now_ms(), plan_created, c);
    free(text);
    b = NULL;
out:
    if (b)
        build_free(b);
    json_decref(body);
}
