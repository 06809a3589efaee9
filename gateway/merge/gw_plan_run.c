/*
 * gw_plan_run.c - the batch runner of approved plans (gw_plan.h
 * "EXECUTION").  Every instance ticks; a tick claims one plan due in the
 * runner's index under a lease (q_plan_claim), so one instance at a time
 * steps it, and a crashed one's plan is taken over when the lease ends.
 *
 * One step: read the state of the requests in flight (finished ones leave
 * and are counted), file the next rows' requests up to merge.per_tick and
 * merge.max_in_flight (gw_enrol_file: fixed ids, so a step repeated after a
 * crash finds what it filed instead of filing it twice), then, once every
 * row is filed, the handover records; then write the plan's "run" and
 * "progress" with a compare-and-set and its next look.  Nothing is
 * remembered between steps but the plan document.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw_enrol_file.h"
#include "gw_merge_rules.h"
#include "gw_metrics.h"
#include "gw_plan_priv.h"
#include "gw_util.h"
#include "log.h"
#include "q_plan.h"
#include "util.h"

struct step {
    struct gw_plan *p;
    char id[PLAN_ID_LEN];
    json_t *plan;
    json_t *in_flight;  /* [{"id", "key"}] still unfinished after this step */
    json_t *rows;       /* the chunk being filed, or (handovers) all rows */
    json_t *groups;     /* handovers: gw_merge_handovers() */
    size_t at;          /* index in rows or groups of the next to file */
    unsigned budget;    /* requests this step may still file */
    unsigned filed_now; /* filed in this step */
    int stop;           /* storage went away: write what we have and stop */
    char by[160], note[200];
};

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static json_int_t num(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void bump(json_t *o, const char *k, json_int_t by)
{
    json_object_set_new(o, k, json_integer(num(o, k) + by));
}

static void step_end(struct step *s)
{
    s->p->stepping = 0;
    json_decref(s->plan);
    json_decref(s->in_flight);
    json_decref(s->rows);
    json_decref(s->groups);
    plan_release(s->p);
    free(s);
}

static void written(void *arg, enum q_err err)
{
    struct step *s = arg;

    if (err != Q_OK && err != Q_ERR_CONFLICT)
        LOGP(LOG_WARN, "plan", s->id, "run state not stored (%s): the step repeats after the lease", q_strerror(err));
    step_end(s);
}

/* Write the plan's run state and progress; finished when nothing is left. */
static void step_write(struct step *s)
{
    json_t *run = json_object_get(s->plan, "run"), *progress = json_object_get(s->plan, "progress");
    json_int_t rev = num(s->plan, "rev");
    int finished = !s->stop && num(run, "cursor") > (json_int_t)plan_row_count(s->plan) &&
                   num(run, "handovers_filed") >= (json_int_t)json_array_size(json_object_get(s->plan, "handovers")) &&
                   json_array_size(s->in_flight) == 0;
    char now[32], *text;

    json_object_set(run, "in_flight", s->in_flight);
    json_object_set_new(s->plan, "state", json_string(finished ? "finished" : "running"));
    if (finished) {
        LOGP(LOG_INFO, "plan", s->id, "finished: %lld done, %lld failed", (long long)num(progress, "done"),
             (long long)num(progress, "failed"));
        json_object_set_new(s->plan, "finished_at", json_string(util_iso8601(time(NULL), now)));
    }
    json_object_set_new(s->plan, "rev", json_integer(rev + 1));
    text = json_dumps(s->plan, JSON_COMPACT);
    if (!text) {
        step_end(s);
        return;
    }
    q_plan_cas(s->p->q, s->id, rev, text, strlen(text), finished ? -1 : gw_now_ms() + s->p->cfg->merge.tick_ms, written,
               s);
    free(text);
}

static void file_next(struct step *s);

/* One request is filed (or found): it joins the flight, or is counted when already finished. */
static void filed(void *arg, enum gw_enrol_file_result r, const char *state, const char *why)
{
    struct step *s = arg;
    json_t *progress = json_object_get(s->plan, "progress"), *run = json_object_get(s->plan, "run");
    json_t *item = s->groups ? json_array_get(s->groups, s->at) : json_array_get(s->rows, s->at);
    char key[32], rid[GW_ENROL_ID_LEN];

    if (s->groups)
        snprintf(key, sizeof(key), "h%s", str(item, "group"));
    else
        snprintf(key, sizeof(key), "r%lld", (long long)num(item, "no"));
    if (r == GW_ENROL_FILE_AGAIN) {
        s->stop = 1; /* this one is filed again at the next step: same id */
        step_write(s);
        return;
    }
    gw_merge_request_id(s->id, key, rid);
    if (r == GW_ENROL_FILE_REFUSED) {
        LOGP(LOG_WARN, "plan", s->id, "%s not filed: %s", key, why);
        gw_metrics_inc(s->p->metrics, GW_M_PLAN_REQ_REFUSED);
        bump(progress, "failed", 1);
        json_array_append_new(json_object_get(s->plan, "errors"), json_pack("{s:s, s:s}", "key", key, "error", why));
    } else if (plan_state_final(state)) {
        bump(progress, strcmp(state, "done") == 0 ? "done" : "failed", 1);
    } else {
        json_array_append_new(s->in_flight, json_pack("{s:s, s:s}", "id", rid, "key", key));
    }
    if (r == GW_ENROL_FILE_OK) {
        bump(progress, "filed", 1);
        gw_metrics_inc(s->p->metrics, GW_M_PLAN_REQ_FILED);
    }
    s->filed_now++;
    s->at++;
    if (s->groups)
        bump(run, "handovers_filed", 1);
    else
        json_object_set_new(run, "cursor", json_integer(num(item, "no") + 1));
    file_next(s);
}

static void rows_in(void *arg, enum q_err err, const struct q_doc *docs, size_t n);
static void all_rows_in(void *arg, enum q_err err, json_t *plan, json_t *rows);

/* File the next request this step may, or write the step. */
static void file_next(struct step *s)
{
    json_t *run = json_object_get(s->plan, "run");
    size_t rows = plan_row_count(s->plan);
    char why[256];

    if (s->p->dead) {
        step_end(s);
        return;
    }
    if (s->filed_now >= s->budget) {
        step_write(s);
        return;
    }
    if (s->groups) { /* the handover records */
        json_t *g = json_array_get(s->groups, s->at);
        char key[32], rid[GW_ENROL_ID_LEN];
        if (!g) {
            step_write(s);
            return;
        }
        snprintf(key, sizeof(key), "h%s", str(g, "group"));
        gw_merge_request_id(s->id, key, rid);
        if (gw_enrol_file(s->p->cfg, s->p->q, rid, json_object_get(g, "request"), "simpki", s->by, s->note, 0, filed, s,
                          why, sizeof(why)) != 0)
            filed(s, GW_ENROL_FILE_REFUSED, NULL, why);
        return;
    }
    if (s->rows && s->at < json_array_size(s->rows)) {
        json_t *row = json_array_get(s->rows, s->at);
        const char *a = str(row, "final_action");
        json_t *request;
        char key[32], rid[GW_ENROL_ID_LEN];

        if (strcmp(a, "change") != 0 && strcmp(a, "revoke") != 0) { /* keep: nothing to file */
            json_object_set_new(run, "cursor", json_integer(num(row, "no") + 1));
            s->at++;
            file_next(s);
            return;
        }
        snprintf(key, sizeof(key), "r%lld", (long long)num(row, "no"));
        gw_merge_request_id(s->id, key, rid);
        request = gw_merge_row_request(s->plan, row);
        if (!request) {
            filed(s, GW_ENROL_FILE_REFUSED, NULL, "no request can be built for this row");
        } else if (gw_enrol_file(s->p->cfg, s->p->q, rid, request, "simpki", s->by, s->note, 1, filed, s, why,
                                 sizeof(why)) != 0) {
            filed(s, GW_ENROL_FILE_REFUSED, NULL, why);
        }
        json_decref(request);
        return;
    }
    if (s->rows) { /* the chunk is done: the next one, in the next step (the budget is per step) */
        step_write(s);
        return;
    }
    if ((size_t)num(run, "cursor") <= rows) {
        size_t first = (size_t)num(run, "cursor"), n = rows - first + 1;
        q_plan_rows_get(s->p->q, s->id, (unsigned)first, n < Q_PLAN_ROWS_MAX ? n : Q_PLAN_ROWS_MAX, rows_in, s);
        return;
    }
    if ((size_t)num(run, "handovers_filed") < json_array_size(json_object_get(s->plan, "handovers"))) {
        plan_load(s->p, s->id, 1, all_rows_in, s);
        return;
    }
    step_write(s);
}

static void rows_in(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct step *s = arg;

    if (err != Q_OK) {
        s->stop = 1;
        step_write(s);
        return;
    }
    s->rows = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *row = docs[i].text ? json_loadb(docs[i].text, docs[i].len, 0, NULL) : NULL;
        if (!row)
            break;
        plan_row_effective(s->plan, row);
        json_array_append_new(s->rows, row);
    }
    s->at = 0;
    file_next(s);
}

static void all_rows_in(void *arg, enum q_err err, json_t *plan, json_t *rows)
{
    struct step *s = arg;

    json_decref(plan); /* ours has this step's changes */
    if (err != Q_OK) {
        s->stop = 1;
        step_write(s);
        return;
    }
    s->groups = gw_merge_handovers(s->plan, rows);
    json_decref(rows);
    s->at = (size_t)num(json_object_get(s->plan, "run"), "handovers_filed");
    file_next(s);
}

/* The requests in flight: finished ones are counted and leave; the others say where they are. */
static void flight_in(void *arg, enum q_err err, json_t *docs)
{
    struct step *s = arg;
    json_t *progress = json_object_get(s->plan, "progress"),
           *old = json_object_get(json_object_get(s->plan, "run"), "in_flight"), *e;
    unsigned rows_flying = 0;
    size_t i;

    if (err != Q_OK) {
        step_end(s); /* nothing learned, nothing written: the next tick */
        return;
    }
    json_object_set_new(progress, "waiting_pin", json_integer(0));
    json_object_set_new(progress, "waiting_device", json_integer(0));
    json_object_set_new(progress, "in_progress", json_integer(0));
    json_array_foreach(old, i, e)
    {
        const json_t *doc = json_object_get(docs, str(e, "id"));
        const char *state = doc ? plan_request_state(doc) : "unknown";

        if (plan_state_final(state)) {
            bump(progress, strcmp(state, "done") == 0 ? "done" : "failed", 1);
            continue;
        }
        json_array_append(s->in_flight, e);
        if (str(e, "key")[0] == 'r')
            rows_flying++;
        if (strcmp(state, "waiting_pin") == 0 || strcmp(state, "waiting_device") == 0)
            bump(progress, state, 1);
        else
            bump(progress, "in_progress", 1);
    }
    json_decref(docs);
    s->budget = s->p->cfg->merge.max_in_flight > rows_flying ? s->p->cfg->merge.max_in_flight - rows_flying : 0;
    if (s->budget > s->p->cfg->merge.per_tick)
        s->budget = s->p->cfg->merge.per_tick;
    file_next(s);
}

static void claimed(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct step *s = arg;
    const char *ids[Q_PLAN_ROWS_MAX], *state;
    json_t *flight, *e;
    size_t i, k = 0;

    if (err != Q_OK || n == 0 || s->p->dead || !(s->plan = json_loadb(docs[0].text, docs[0].len, 0, NULL))) {
        step_end(s);
        return;
    }
    snprintf(s->id, sizeof(s->id), "%s", str(s->plan, "id"));
    state = str(s->plan, "state");
    if (strcmp(state, "approved") != 0 && strcmp(state, "running") != 0) {
        step_end(s); /* not ours to run (the index entry ends with the lease's next claim) */
        return;
    }
    if (!json_object_get(s->plan, "errors"))
        json_object_set_new(s->plan, "errors", json_array());
    snprintf(s->by, sizeof(s->by), "%s", str(json_object_get(s->plan, "approved"), "by"));
    snprintf(s->note, sizeof(s->note), "merger plan %s (%.120s), approved version %lld", s->id, str(s->plan, "name"),
             (long long)num(json_object_get(s->plan, "approved"), "version"));
    s->in_flight = json_array();
    flight = json_object_get(json_object_get(s->plan, "run"), "in_flight");
    json_array_foreach(flight, i, e)
    {
        if (k < Q_PLAN_ROWS_MAX)
            ids[k++] = str(e, "id");
    }
    plan_request_docs(s->p, ids, k, flight_in, s);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    struct gw_plan *p = arg;
    struct step *s;
    int64_t now = gw_now_ms();

    (void)fd;
    (void)what;
    if (p->stepping || p->dead || !(s = calloc(1, sizeof(*s))))
        return;
    s->p = p;
    p->stepping = 1;
    plan_hold(p);
    q_plan_claim(p->q, now, now + (int64_t)p->cfg->merge.lease_s * 1000, 1, claimed, s);
}

int plan_run_start(struct gw_plan *p)
{
    struct timeval tv = {p->cfg->merge.tick_ms / 1000, (p->cfg->merge.tick_ms % 1000) * 1000};

    p->tick = event_new(p->base, -1, EV_PERSIST, tick, p);
    return p->tick && event_add(p->tick, &tv) == 0 ? 0 : -1;
}

void plan_run_stop(struct gw_plan *p)
{
    if (p->tick)
        event_free(p->tick);
    p->tick = NULL;
}
