/*
 * gw_plan.c - see gw_plan.h.  The routes, what the plan's modules share
 * (loading a plan and its rows, the effective row), the override, the
 * approval and the diff.  Building is gw_plan_build.c, the read-only views
 * gw_plan_view.c, the batch runner gw_plan_run.c.
 */
#include "gw_plan.h"

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw_http.h"
#include "gw_metrics.h"
#include "gw_merge_rules.h"
#include "gw_plan_priv.h"
#include "gw_util.h"
#include "log.h"
#include "q_plan.h"
#include "util.h"

#define BUILD_STALE_MS 120000

/* ---- shared helpers (gw_plan_priv.h) ------------------------------------ */

void plan_hold(struct gw_plan *p)
{
    p->refs++;
}

void plan_release(struct gw_plan *p)
{
    if (--p->refs == 0 && p->dead)
        free(p);
}

int plan_id_valid(const char *id)
{
    return id && strlen(id) == PLAN_ID_LEN - 1 && id[0] == 'p' && strspn(id + 1, "0123456789abcdef") == PLAN_ID_LEN - 2;
}

size_t plan_row_count(const json_t *plan)
{
    return (size_t)json_integer_value(json_object_get(json_object_get(plan, "summary"), "rows"));
}

void plan_row_effective(const json_t *plan, json_t *row)
{
    char key[24], rid[GW_ENROL_ID_LEN];
    const json_t *ov;
    const char *action, *state = json_string_value(json_object_get(plan, "state"));

    snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(json_object_get(row, "no")));
    ov = json_object_get(json_object_get(plan, "overrides"), key);
    if (ov)
        json_object_set(row, "override", (json_t *)ov);
    action = gw_merge_row_action(row);
    json_object_set_new(row, "final_action", json_string(action ? action : "decide"));
    if (state && strcmp(state, "review") != 0 && strcmp(state, "building") != 0 && action &&
        (strcmp(action, "change") == 0 || strcmp(action, "revoke") == 0)) {
        snprintf(key, sizeof(key), "r%lld", (long long)json_integer_value(json_object_get(row, "no")));
        gw_merge_request_id(json_string_value(json_object_get(plan, "id")), key, rid);
        json_object_set_new(row, "request_id", json_string(rid));
    }
}

int plan_state_final(const char *state)
{
    return state && (strcmp(state, "done") == 0 || strcmp(state, "failed") == 0 || strcmp(state, "rejected") == 0);
}

const char *plan_request_state(const json_t *doc)
{
    const char *state = json_string_value(json_object_get(doc, "state"));
    const json_t *progress = json_object_get(doc, "progress");
    const char *step = json_string_value(json_object_get(progress, "step"));
    const char *form = json_string_value(json_object_get(json_object_get(doc, "request"), "form"));

    if (!state)
        return "unknown";
    if (form && strcmp(form, "handover") == 0 && strcmp(state, "submitted") == 0)
        return "waiting_device";
    /* A SIM step with its transaction out: the official is being asked for the PIN. */
    if (step && (strcmp(step, "genkey") == 0 || strcmp(step, "csr") == 0 || strcmp(step, "putcert") == 0) &&
        json_object_get(progress, "txn"))
        return "waiting_pin";
    return state;
}

void plan_storage_error(struct evhttp_request *req, enum q_err err)
{
    if (!req)
        return;
    if (err == Q_ERR_NOT_FOUND) {
        gw_http_error(req, 404, "NOT_FOUND", NULL, "no such plan");
    } else if (err == Q_ERR_AGAIN) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        gw_http_error(req, 503, "UNAVAILABLE", NULL, "plan storage unavailable, try again");
    } else {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "unexpected answer from storage (%s)", q_strerror(err));
    }
}

/* ---- loading a plan and its rows ---------------------------------------- */

struct load {
    struct gw_plan *p;
    char id[PLAN_ID_LEN];
    int with_rows;
    json_t *plan, *rows;
    size_t next, total; /* rows: the next to read (1-based), how many */
    plan_load_cb *cb;
    void *arg;
};

static void load_end(struct load *l, enum q_err err)
{
    if (err != Q_OK) {
        json_decref(l->plan);
        json_decref(l->rows);
        l->plan = l->rows = NULL;
    }
    l->cb(l->arg, err, l->plan, l->rows);
    plan_release(l->p);
    free(l);
}

static void load_rows(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct load *l = arg;

    if (err != Q_OK) {
        load_end(l, err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *row = docs[i].text ? json_loadb(docs[i].text, docs[i].len, 0, NULL) : NULL;
        if (!row) {
            load_end(l, Q_ERR_PROTO); /* a row missing or unreadable: the plan is damaged */
            return;
        }
        plan_row_effective(l->plan, row);
        json_array_append_new(l->rows, row);
    }
    l->next += n;
    if (l->p->dead) {
        load_end(l, Q_ERR_AGAIN);
        return;
    }
    if (l->next > l->total) {
        load_end(l, Q_OK);
        return;
    }
    n = l->total - l->next + 1 < Q_PLAN_ROWS_MAX ? l->total - l->next + 1 : Q_PLAN_ROWS_MAX;
    q_plan_rows_get(l->p->q, l->id, (unsigned)l->next, n, load_rows, l);
}

static void load_doc(void *arg, enum q_err err, const struct q_doc *d)
{
    struct load *l = arg;

    if (err == Q_OK && !(l->plan = json_loadb(d->text, d->len, 0, NULL)))
        err = Q_ERR_PROTO;
    if (err != Q_OK || !l->with_rows) {
        load_end(l, err);
        return;
    }
    l->rows = json_array();
    l->total = plan_row_count(l->plan);
    l->next = 1;
    if (!l->rows) {
        load_end(l, Q_ERR_NOMEM);
        return;
    }
    load_rows(l, Q_OK, NULL, 0);
}

void plan_load(struct gw_plan *p, const char *id, int with_rows, plan_load_cb *cb, void *arg)
{
    struct load *l = calloc(1, sizeof(*l));

    if (!l) {
        cb(arg, Q_ERR_NOMEM, NULL, NULL);
        return;
    }
    *l = (struct load){.p = p, .with_rows = with_rows, .cb = cb, .arg = arg};
    snprintf(l->id, sizeof(l->id), "%s", id);
    plan_hold(p);
    q_plan_get(p->q, id, load_doc, l);
}

struct states {
    struct gw_plan *p;
    plan_states_cb *cb;
    void *arg;
};

static void states_got(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct states *s = arg;
    json_t *out = err == Q_OK ? json_object() : NULL;

    for (size_t i = 0; out && i < n; i++) {
        json_t *d = docs[i].text ? json_loadb(docs[i].text, docs[i].len, 0, NULL) : NULL;
        const char *id = json_string_value(json_object_get(d, "id"));
        if (id)
            json_object_set(out, id, d);
        json_decref(d);
    }
    s->cb(s->arg, out || err != Q_OK ? err : Q_ERR_NOMEM, out);
    plan_release(s->p);
    free(s);
}

void plan_request_docs(struct gw_plan *p, const char *const *ids, size_t n, plan_states_cb *cb, void *arg)
{
    struct states *s = malloc(sizeof(*s));

    if (!s) {
        cb(arg, Q_ERR_NOMEM, NULL);
        return;
    }
    *s = (struct states){p, cb, arg};
    plan_hold(p);
    if (n == 0) {
        states_got(s, Q_OK, NULL, 0);
        return;
    }
    q_doc_mget(p->q, ids, n, states_got, s);
}

/* ---- one plan: read, override, approve, diff --------------------------- */

enum op_what { OP_GET, OP_OVERRIDE, OP_APPROVE, OP_DIFF, OP_LIST };

struct op {
    struct gw_plan *p;
    struct gw_http_hold h;
    char id[PLAN_ID_LEN];
    char rp[64];
    enum op_what what;
    json_t *body; /* override, approve: the call's; diff: {"from", "to"} */
    json_t *plan; /* the revision being written */
    unsigned row;
};

static struct op *op_new(struct gw_plan *p, struct evhttp_request *req, const char *id, const char *rp,
                         enum op_what what)
{
    struct op *o = calloc(1, sizeof(*o));
    if (!o) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        return NULL;
    }
    o->p = p;
    o->what = what;
    plan_hold(p);
    snprintf(o->id, sizeof(o->id), "%s", id ? id : "");
    snprintf(o->rp, sizeof(o->rp), "%s", rp);
    gw_http_hold(&o->h, req, NULL, NULL);
    return o;
}

static void op_free(struct op *o)
{
    gw_http_take(&o->h);
    json_decref(o->body);
    json_decref(o->plan);
    plan_release(o->p);
    free(o);
}

/* The document as served: a build whose instance stopped says so. */
/*
 * The rows by final action (summary.final_by_action): the built counts
 * (summary.by_action) with every overridden row moved from its action as
 * built (its first override's "from") to its last override's "to".
 */
static void final_counts(json_t *plan)
{
    json_t *summary = json_object_get(plan, "summary"), *fin, *h, *first = json_object(), *last = json_object();
    const char *key;
    json_t *v;
    size_t i;

    if (!json_is_object(summary) || !first || !last || !(fin = json_deep_copy(json_object_get(summary, "by_action"))))
        goto out;
    json_array_foreach(json_object_get(plan, "history"), i, h)
    {
        char no[24];
        if (!json_is_string(json_object_get(h, "to")))
            continue;
        snprintf(no, sizeof(no), "%lld", (long long)json_integer_value(json_object_get(h, "row")));
        if (!json_object_get(first, no))
            json_object_set(first, no, json_object_get(h, "from"));
        json_object_set(last, no, json_object_get(h, "to"));
    }
    json_object_foreach(first, key, v)
    {
        const char *from = json_string_value(v), *to = json_string_value(json_object_get(last, key));
        if (from && to) {
            json_object_set_new(fin, from, json_integer(json_integer_value(json_object_get(fin, from)) - 1));
            json_object_set_new(fin, to, json_integer(json_integer_value(json_object_get(fin, to)) + 1));
        }
    }
    json_object_set_new(summary, "final_by_action", fin);
out:
    json_decref(first);
    json_decref(last);
}

static json_t *served(json_t *plan)
{
    const char *state = json_string_value(json_object_get(plan, "state"));

    final_counts(plan);
    if (state && strcmp(state, "building") == 0 &&
        gw_now_ms() - json_integer_value(json_object_get(plan, "heartbeat_ms")) > BUILD_STALE_MS) {
        json_object_set_new(plan, "state", json_string("failed"));
        json_object_set_new(plan, "error",
                            json_string("the build stopped (its instance went away); create the plan again"));
    }
    return plan;
}

static void written(void *arg, enum q_err err)
{
    struct op *o = arg;
    struct evhttp_request *req = gw_http_take(&o->h);

    if (err == Q_ERR_CONFLICT) {
        if (req)
            gw_http_error(req, 409, "VERSION_CONFLICT", "version",
                          "the plan changed meanwhile; read it again and retry");
    } else if (err != Q_OK) {
        plan_storage_error(req, err);
    } else {
        LOGP(LOG_INFO, "plan", o->id, "%s by %s: version %lld, %s",
             o->what == OP_APPROVE ? "approved" : "row overridden", o->rp,
             (long long)json_integer_value(json_object_get(o->plan, "version")),
             json_string_value(json_object_get(o->plan, "state")));
        if (req)
            gw_http_json(req, 200, json_incref(o->plan));
    }
    op_free(o);
}

/* Write o->plan as the next revision and version, with run_due_ms as q_plan_cas. */
static void write_next(struct op *o, int64_t run_due_ms)
{
    json_int_t rev = json_integer_value(json_object_get(o->plan, "rev"));
    char now[32], *text;

    util_iso8601(time(NULL), now);
    json_object_set_new(o->plan, "rev", json_integer(rev + 1));
    json_object_set_new(o->plan, "updated_at", json_string(now));
    text = json_dumps(o->plan, JSON_COMPACT);
    if (!text) {
        gw_http_error(gw_http_take(&o->h), 500, "INTERNAL_ERROR", NULL, "out of memory");
        op_free(o);
        return;
    }
    q_plan_cas(o->p->q, o->id, rev, text, strlen(text), run_due_ms, written, o);
    free(text);
}

/* The call's "version" is the plan's, and the plan is still under review; else answered. */
static int check_version(struct op *o, struct evhttp_request *req)
{
    const char *state = json_string_value(json_object_get(o->plan, "state"));
    const json_t *v = json_object_get(o->body, "version");

    if (!state || strcmp(state, "review") != 0) {
        gw_http_error(req, 409, state && strcmp(state, "building") == 0 ? "PLAN_BUILDING" : "PLAN_APPROVED", NULL,
                      "the plan is %s: only a plan under review can be changed or approved", state ? state : "?");
        return -1;
    }
    if (!json_is_integer(v)) {
        gw_http_error(req, 400, "INVALID_FIELD", "version", "give the plan's version you reviewed");
        return -1;
    }
    if (json_integer_value(v) != json_integer_value(json_object_get(o->plan, "version"))) {
        gw_http_error(req, 409, "VERSION_CONFLICT", "version",
                      "the plan is at version %lld, not %lld: someone changed it; read it again",
                      (long long)json_integer_value(json_object_get(o->plan, "version")),
                      (long long)json_integer_value(v));
        return -1;
    }
    return 0;
}

static void history_add(struct op *o, const char *what, json_t *extra)
{
    json_int_t version = json_integer_value(json_object_get(o->plan, "version")) + 1;
    const char *by = json_string_value(json_object_get(o->body, "by"));
    char now[32], who[200];
    json_t *h;

    util_iso8601(time(NULL), now);
    snprintf(who, sizeof(who), "%s%s%.100s", o->rp, by && *by ? ": " : "", by && *by ? by : "");
    h = json_pack("{s:I, s:s, s:s, s:s}", "version", version, "at", now, "by", who, "what", what);
    if (h && extra)
        json_object_update(h, extra);
    json_decref(extra);
    json_array_append_new(json_object_get(o->plan, "history"), h);
    json_object_set_new(o->plan, "version", json_integer(version));
}

/* The override's row is loaded: check the action it asks for, record it. */
static void override_row(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct op *o = arg;
    struct evhttp_request *req = o->h.req;
    const char *action = json_string_value(json_object_get(o->body, "action"));
    const char *reason = json_string_value(json_object_get(o->body, "reason"));
    const char *by = json_string_value(json_object_get(o->body, "by"));
    json_t *row = NULL, *ov;
    const char *from, *serial;
    char key[16], now[32];

    if (!req)
        goto out;
    if (err != Q_OK) {
        plan_storage_error(gw_http_take(&o->h), err);
        goto out;
    }
    if (n != 1 || !docs[0].text || !(row = json_loadb(docs[0].text, docs[0].len, 0, NULL))) {
        gw_http_error(gw_http_take(&o->h), 404, "NOT_FOUND", "row", "the plan has no row %u", o->row);
        goto out;
    }
    plan_row_effective(o->plan, row);
    from = gw_merge_row_action(row);
    serial = json_string_value(json_object_get(row, "serial"));
    if ((strcmp(action, "change") == 0 || strcmp(action, "revoke") == 0) && (!serial || !*serial)) {
        gw_http_error(gw_http_take(&o->h), 400, "INVALID_FIELD", "action",
                      "row %u has no certificate: it can only be kept (nothing to do)", o->row);
        goto out;
    }
    util_iso8601(time(NULL), now);
    snprintf(key, sizeof(key), "%u", o->row);
    ov = json_pack("{s:s, s:s, s:s, s:s, s:I}", "action", action, "reason", reason, "by", by && *by ? by : o->rp, "at",
                   now, "version", json_integer_value(json_object_get(o->plan, "version")) + 1);
    json_object_set_new(json_object_get(o->plan, "overrides"), key, ov);
    history_add(o, "override",
                json_pack("{s:i, s:s, s:s, s:s}", "row", (int)o->row, "from", from ? from : "decide", "to", action,
                          "reason", reason));
    json_decref(row);
    write_next(o, 0);
    return;
out:
    json_decref(row);
    op_free(o);
}

static int count_pending(const json_t *rows, json_t *list)
{
    size_t i;
    json_t *row;
    int n = 0;

    json_array_foreach(rows, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "final_action")), "decide") == 0) {
            if (n < 100)
                json_array_append_new(list, json_integer(json_integer_value(json_object_get(row, "no"))));
            n++;
        }
    }
    return n;
}

/* Approve: no row left to decide; the handover groups and what will be filed, then the runner's index. */
static void approve_loaded(void *arg, enum q_err err, json_t *plan, json_t *rows)
{
    struct op *o = arg;
    struct evhttp_request *req = o->h.req;
    json_t *pending = json_array(), *groups, *g, *row;
    size_t i, to_file = 0;
    int n;

    if (!req)
        goto out;
    if (err != Q_OK) {
        plan_storage_error(gw_http_take(&o->h), err);
        goto out;
    }
    o->plan = json_incref(plan);
    if (check_version(o, req) != 0) {
        gw_http_take(&o->h);
        goto out;
    }
    if ((n = count_pending(rows, pending)) > 0) {
        gw_http_json(gw_http_take(&o->h), 409,
                     json_pack("{s:s, s:s, s:i, s:O}", "error", "DECISIONS_PENDING", "message",
                               "rows still need a decision: override each with an action and a reason", "count", n,
                               "rows", pending));
        goto out;
    }
    groups = gw_merge_handovers(plan, rows);
    json_array_foreach(groups, i, g)
    {
        char key[32], rid[GW_ENROL_ID_LEN];
        snprintf(key, sizeof(key), "h%s", json_string_value(json_object_get(g, "group")));
        gw_merge_request_id(o->id, key, rid);
        json_object_del(g, "request"); /* built again by the runner from the rows: one source */
        json_object_set_new(g, "request_id", json_string(rid));
    }
    json_array_foreach(rows, i, row)
    {
        const char *a = json_string_value(json_object_get(row, "final_action"));
        if (strcmp(a, "change") == 0 || strcmp(a, "revoke") == 0)
            to_file++;
    }
    json_object_set_new(o->plan, "handovers", groups ? groups : json_array());
    json_object_set_new(
        o->plan, "progress",
        json_pack("{s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:i}", "rows", (json_int_t)json_array_size(rows), "to_file",
                  (json_int_t)(to_file + json_array_size(json_object_get(o->plan, "handovers"))), "filed", 0, "done", 0,
                  "failed", 0, "waiting_pin", 0, "waiting_device", 0, "in_progress", 0));
    json_object_set_new(o->plan, "run", json_pack("{s:i, s:i, s:[]}", "cursor", 1, "handovers_filed", 0, "in_flight"));
    history_add(o, "approve", NULL);
    {
        const char *by = json_string_value(json_object_get(o->body, "by"));
        /* As an override's: the name the operator gave (the history says with which key too). */
        json_object_set_new(o->plan, "approved",
                            json_pack("{s:s, s:O, s:O}", "by", by && *by ? by : o->rp, "at",
                                      json_object_get(o->plan, "updated_at"), "version",
                                      json_object_get(o->plan, "version")));
    }
    json_object_set_new(o->plan, "state", json_string("approved"));
    json_decref(pending);
    json_decref(plan);
    json_decref(rows);
    write_next(o, gw_now_ms());
    return;
out:
    json_decref(pending);
    json_decref(plan);
    json_decref(rows);
    op_free(o);
}

/* The effective action of row `no` at `version`, from the history alone. */
static const char *action_at(const json_t *history, const char *built, json_int_t no, json_int_t version)
{
    const char *a = built;
    size_t i;
    json_t *h;

    json_array_foreach(history, i, h)
    {
        if (json_integer_value(json_object_get(h, "version")) > version)
            break;
        if (json_integer_value(json_object_get(h, "row")) == no && json_object_get(h, "to"))
            a = json_string_value(json_object_get(h, "to"));
    }
    return a;
}

static void answer_diff(struct op *o, json_t *plan)
{
    json_int_t from = json_integer_value(json_object_get(o->body, "from"));
    json_int_t to = json_integer_value(json_object_get(o->body, "to"));
    json_t *history = json_object_get(plan, "history"), *h, *changes = json_array(), *seen = json_object();
    size_t i;

    json_array_foreach(history, i, h)
    {
        json_int_t v = json_integer_value(json_object_get(h, "version")),
                   no = json_integer_value(json_object_get(h, "row"));
        char key[24];
        const char *built, *a, *b;
        size_t k;
        json_t *first = NULL, *e;

        if (v <= from || v > to || !json_object_get(h, "row"))
            continue;
        snprintf(key, sizeof(key), "%lld", (long long)no);
        if (json_object_get(seen, key))
            continue;
        json_object_set_new(seen, key, json_true());
        /* The row's action before any override: the first override's "from". */
        json_array_foreach(history, k, e)
        {
            if (json_integer_value(json_object_get(e, "row")) == no && json_object_get(e, "from")) {
                first = e;
                break;
            }
        }
        built = json_string_value(json_object_get(first, "from"));
        a = action_at(history, built, no, from);
        b = action_at(history, built, no, to);
        if (a && b && strcmp(a, b) != 0)
            json_array_append_new(changes, json_pack("{s:I, s:s, s:s, s:s?}", "no", no, "from", a, "to", b, "reason",
                                                     json_string_value(json_object_get(h, "reason"))));
    }
    json_decref(seen);
    gw_http_json(gw_http_take(&o->h), 200, json_pack("{s:I, s:I, s:o}", "from", from, "to", to, "changes", changes));
}

static void got(void *arg, enum q_err err, json_t *plan, json_t *rows)
{
    struct op *o = arg;
    struct evhttp_request *req = o->h.req;

    (void)rows;
    if (!req)
        goto out;
    if (err != Q_OK) {
        plan_storage_error(gw_http_take(&o->h), err);
        goto out;
    }
    if (o->what == OP_GET) {
        gw_http_json(gw_http_take(&o->h), 200, json_incref(served(plan)));
    } else if (o->what == OP_DIFF) {
        answer_diff(o, plan);
    } else { /* OP_OVERRIDE */
        o->plan = json_incref(plan);
        if (check_version(o, req) != 0) {
            gw_http_take(&o->h);
            goto out;
        }
        if (o->row < 1 || o->row > plan_row_count(plan)) {
            gw_http_error(gw_http_take(&o->h), 404, "NOT_FOUND", "row", "the plan has no row %u", o->row);
            goto out;
        }
        json_decref(plan);
        q_plan_rows_get(o->p->q, o->id, o->row, 1, override_row, o);
        return;
    }
out:
    json_decref(plan);
    op_free(o);
}

static void listed(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct op *o = arg;
    struct evhttp_request *req = gw_http_take(&o->h);
    json_t *plans = json_array();

    if (req && err != Q_OK) {
        plan_storage_error(req, err);
    } else if (req) {
        for (size_t i = 0; i < n; i++) {
            json_t *d = json_loadb(docs[i].text, docs[i].len, 0, NULL);
            if (!d)
                continue;
            served(d); /* with its history, for the final counts */
            json_object_del(d, "findings");
            json_object_del(d, "history");
            json_object_del(d, "overrides");
            json_object_del(d, "run");
            json_array_append_new(plans, d);
        }
        gw_http_json(req, 200, json_pack("{s:O}", "plans", plans));
    }
    json_decref(plans);
    op_free(o);
}

static const char *const ACTIONS[] = {"keep", "change", "revoke", NULL};

static void handle_override(struct gw_plan *p, struct evhttp_request *req, const char *id, const char *rp, unsigned row)
{
    char why[256];
    json_t *body = gw_http_body_json(req, why, sizeof(why));
    const char *action, *reason;
    struct op *o;
    int ok = 0;

    if (!body) {
        gw_http_error(req, 400, "MALFORMED_JSON", NULL, "%s", why);
        return;
    }
    action = json_string_value(json_object_get(body, "action"));
    reason = json_string_value(json_object_get(body, "reason"));
    for (int i = 0; action && ACTIONS[i]; i++)
        ok |= strcmp(action, ACTIONS[i]) == 0;
    if (!ok) {
        gw_http_error(req, 400, "INVALID_FIELD", "action", "action is keep, change or revoke");
    } else if (!reason || !*reason || strlen(reason) > 500) {
        gw_http_error(req, 400, "INVALID_FIELD", "reason", "say why (1-500 octets): the reason is kept with the plan");
    } else if ((o = op_new(p, req, id, rp, OP_OVERRIDE)) != NULL) {
        o->body = body;
        o->row = row;
        plan_load(p, id, 0, got, o);
        return;
    }
    json_decref(body);
}

static void handle_approve(struct gw_plan *p, struct evhttp_request *req, const char *id, const char *rp)
{
    char why[256];
    json_t *body = gw_http_body_json(req, why, sizeof(why));
    struct op *o;

    if (!body) {
        gw_http_error(req, 400, "MALFORMED_JSON", NULL, "%s", why);
        return;
    }
    if ((o = op_new(p, req, id, rp, OP_APPROVE)) == NULL) {
        json_decref(body);
        return;
    }
    o->body = body;
    plan_load(p, id, 1, approve_loaded, o);
}

static void handle_diff(struct gw_plan *p, struct evhttp_request *req, const char *id, const char *rp)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params = {0};
    const char *f, *t;
    long from, to;
    char *end1 = NULL, *end2 = NULL;
    struct op *o;

    if (query && evhttp_parse_query_str(query, &params) != 0) {
        gw_http_error(req, 400, "INVALID_FIELD", NULL, "cannot parse the query string");
        return;
    }
    f = evhttp_find_header(&params, "from");
    t = evhttp_find_header(&params, "to");
    from = f ? strtol(f, &end1, 10) : -1;
    to = t ? strtol(t, &end2, 10) : -1;
    if (!f || !t || *end1 || *end2 || from < 0 || to < from) {
        gw_http_error(req, 400, "INVALID_FIELD", f && !*end1 ? "to" : "from",
                      "give two versions, from <= to: ?from=1&to=3");
    } else if ((o = op_new(p, req, id, rp, OP_DIFF)) != NULL) {
        o->body = json_pack("{s:i, s:i}", "from", (int)from, "to", (int)to);
        plan_load(p, id, 0, got, o);
    }
    evhttp_clear_headers(&params);
}

/* ---- routing ------------------------------------------------------------ */

int gw_plan_handle(struct gw_plan *p, struct evhttp_request *req, const char *path, const char *rp)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    char id[PLAN_ID_LEN + 1] = "", rest[64] = "";
    unsigned row = 0;
    struct op *o;

    if (strcmp(path, "/v1/plans") == 0) {
        if (m == EVHTTP_REQ_POST)
            plan_build_create(p, req, rp);
        else if (m == EVHTTP_REQ_GET && (o = op_new(p, req, NULL, rp, OP_LIST)) != NULL)
            q_plan_list(p->q, listed, o);
        else if (m != EVHTTP_REQ_GET)
            gw_http_error(req, 405, "METHOD_NOT_ALLOWED", NULL, "use GET or POST");
        return 1;
    }
    if (strncmp(path, "/v1/plans/", 10) != 0)
        return 0;
    if (sscanf(path + 10, "%14[^/]%63s", id, rest) < 1 || !plan_id_valid(id)) {
        gw_http_error(req, 404, "NOT_FOUND", NULL, "no such plan");
        return 1;
    }
    if (!rest[0] && m == EVHTTP_REQ_GET) {
        if ((o = op_new(p, req, id, rp, OP_GET)) != NULL)
            plan_load(p, id, 0, got, o);
    } else if (strcmp(rest, "/approve") == 0 && m == EVHTTP_REQ_POST) {
        handle_approve(p, req, id, rp);
    } else if (strcmp(rest, "/diff") == 0 && m == EVHTTP_REQ_GET) {
        handle_diff(p, req, id, rp);
    } else if (sscanf(rest, "/rows/%u", &row) == 1 && m == EVHTTP_REQ_POST) {
        handle_override(p, req, id, rp, row);
    } else if (m == EVHTTP_REQ_GET && rest[0] == '/' && plan_view_handle(p, req, id, rest + 1)) {
        /* answered by gw_plan_view.c */
    } else {
        gw_http_error(req, 404, "NOT_FOUND", NULL, "no such resource; see gateway/merge/gw_plan.h");
    }
    return 1;
}

struct gw_plan *gw_plan_new(struct event_base *base, const struct cfg *cfg, struct q *q, struct gw_metrics *metrics)
{
    struct gw_plan *p = calloc(1, sizeof(*p));

    if (!p)
        return NULL;
    *p = (struct gw_plan){.base = base, .cfg = cfg, .q = q, .metrics = metrics, .refs = 1};
    if (plan_run_start(p) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

void gw_plan_free(struct gw_plan *p)
{
    if (!p)
        return;
    plan_run_stop(p);
    if (p->builds)
        LOGP(LOG_INFO, "plan", NULL, "%u plan build(s) left unfinished: build them again", p->builds);
    p->dead = 1;
    plan_release(p); /* the module's own reference: work still under way frees it last */
}
