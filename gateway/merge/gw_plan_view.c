/*
 * gw_plan_view.c - the read-only views of a plan (gw_plan.h): its rows,
 * units, what is still open, the report, the CA's export and a unit's
 * printable bundle.  Each loads the plan and its rows (gw_plan.c
 * plan_load) and, once the plan is approved, the live state of the
 * requests its rows filed (q_doc_mget, Q_PLAN_ROWS_MAX at a time).
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_forms.h"
#include "gw_http.h"
#include "gw_merge_rules.h"
#include "gw_plan_priv.h"
#include "q_plan.h"

#define ROWS_DEFAULT 100
#define ROWS_MAX     1000

enum view { V_ROWS, V_UNITS, V_OPEN, V_REPORT, V_EXPORT, V_BUNDLE };

struct view_op {
    struct gw_plan *p;
    struct gw_http_hold h;
    enum view what;
    int csv;
    char unit[512], action[16], rule[8], state[24];
    long offset, limit;
    json_t *plan, *rows;
    size_t next; /* rows: the next whose request state to read */
};

static void view_free(struct view_op *v)
{
    gw_http_take(&v->h);
    json_decref(v->plan);
    json_decref(v->rows);
    plan_release(v->p);
    free(v);
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* A CSV line from n fields, each escaped as gw_forms.h does for the CA's export. */
static void csv_line(struct evbuffer *out, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *e = gw_form_csv_field(f[i] ? f[i] : "", strlen(f[i] ? f[i] : ""));
        evbuffer_add_printf(out, "%s%s", i ? "," : "", e ? e : "");
        free(e);
    }
    evbuffer_add(out, "\r\n", 2);
}

static void send_csv(struct evhttp_request *req, struct evbuffer *out, const char *name)
{
    char disp[128];

    snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", name);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/csv; charset=utf-8");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition", disp);
    evhttp_send_reply(req, 200, "OK", out);
}

/* ---- the views, once rows (and their states) are in -------------------- */

static int row_matches(const struct view_op *v, const json_t *row)
{
    return (!v->unit[0] || strcmp(str(row, "unit"), v->unit) == 0) &&
           (!v->action[0] || strcmp(str(row, "final_action"), v->action) == 0) &&
           (!v->rule[0] || strcmp(str(row, "rule"), v->rule) == 0) &&
           (!v->state[0] || strcmp(str(row, "state"), v->state) == 0);
}

/* Still to do: a decision to take, or a request not done. */
static int row_open(const json_t *row)
{
    const char *a = str(row, "final_action"), *s = str(row, "state");

    if (strcmp(a, "decide") == 0)
        return 1;
    if (strcmp(a, "change") != 0 && strcmp(a, "revoke") != 0)
        return 0;
    return strcmp(s, "done") != 0;
}

static void answer_rows(struct view_op *v, struct evhttp_request *req)
{
    json_t *out = json_array(), *row;
    size_t i;
    long matched = 0;

    json_array_foreach(v->rows, i, row)
    {
        if (!row_matches(v, row))
            continue;
        if (matched >= v->offset && matched < v->offset + v->limit)
            json_array_append(out, row);
        matched++;
    }
    gw_http_json(req, 200, json_pack("{s:i, s:o}", "matched", (int)matched, "rows", out));
}

static void answer_units(struct view_op *v, struct evhttp_request *req)
{
    json_t *units = json_object(), *order = json_array(), *row, *u, *out = json_array();
    size_t i;

    json_array_foreach(v->rows, i, row)
    {
        const char *name = str(row, "unit"), *a = str(row, "final_action");
        json_t *by;
        if (!(u = json_object_get(units, name))) {
            u = json_pack("{s:s, s:s, s:i, s:{}, s:i}", "unit", name, "new_unit", str(row, "new_unit"), "rows", 0,
                          "by_action", "open", 0);
            json_object_set_new(units, name, u);
            json_array_append_new(order, json_string(name));
        }
        json_object_set_new(u, "rows", json_integer(json_integer_value(json_object_get(u, "rows")) + 1));
        by = json_object_get(u, "by_action");
        json_object_set_new(by, a, json_integer(json_integer_value(json_object_get(by, a)) + 1));
        if (row_open(row))
            json_object_set_new(u, "open", json_integer(json_integer_value(json_object_get(u, "open")) + 1));
    }
    json_array_foreach(order, i, row)
    {
        json_array_append(out, json_object_get(units, json_string_value(row)));
    }
    json_decref(units);
    json_decref(order);
    gw_http_json(req, 200, json_pack("{s:o}", "units", out));
}

static void answer_open(struct view_op *v, struct evhttp_request *req)
{
    json_t *row;
    size_t i;

    if (v->csv) {
        static const char *const head[] = {"deadline", "unit",   "new_unit", "row",
                                           "holder",   "serial", "action",   "state"};
        struct evbuffer *out = evbuffer_new();
        evbuffer_add(out, "\xEF\xBB\xBF", 3); /* a spreadsheet reads Vietnamese right only with the BOM */
        csv_line(out, head, 8);
        json_array_foreach(v->rows, i, row)
        {
            char no[24];
            const char *f[8];
            if (!row_open(row))
                continue;
            snprintf(no, sizeof(no), "%lld", (long long)json_integer_value(json_object_get(row, "no")));
            f[0] = str(v->plan, "deadline"), f[1] = str(row, "unit"), f[2] = str(row, "new_unit"), f[3] = no;
            f[4] = str(row, "holder"), f[5] = str(row, "serial"), f[6] = str(row, "final_action");
            f[7] = json_object_get(row, "state") ? str(row, "state") : "not_filed";
            csv_line(out, f, 8);
        }
        send_csv(req, out, "simpki-plan-open.csv");
        evbuffer_free(out);
        return;
    }
    {
        json_t *units = json_object(), *order = json_array(), *list = json_array(), *u;
        int total = 0;
        json_array_foreach(v->rows, i, row)
        {
            const char *name = str(row, "unit");
            if (!row_open(row))
                continue;
            if (!(u = json_object_get(units, name))) {
                u = json_pack("{s:s, s:s, s:i, s:[]}", "unit", name, "new_unit", str(row, "new_unit"), "open", 0,
                              "rows");
                json_object_set_new(units, name, u);
                json_array_append_new(order, json_string(name));
            }
            json_object_set_new(u, "open", json_integer(json_integer_value(json_object_get(u, "open")) + 1));
            json_array_append_new(json_object_get(u, "rows"),
                                  json_pack("{s:O, s:s, s:s, s:s, s:s}", "no", json_object_get(row, "no"), "holder",
                                            str(row, "holder"), "serial", str(row, "serial"), "action",
                                            str(row, "final_action"), "state",
                                            json_object_get(row, "state") ? str(row, "state") : "not_filed"));
            total++;
        }
        json_array_foreach(order, i, row)
        {
            json_array_append(list, json_object_get(units, json_string_value(row)));
        }
        json_decref(units);
        json_decref(order);
        gw_http_json(req, 200,
                     json_pack("{s:s, s:i, s:o}", "deadline", str(v->plan, "deadline"), "open", total, "units", list));
    }
}

static void answer_report(struct view_op *v, struct evhttp_request *req)
{
    json_t *row;
    size_t i;

    if (!v->csv) {
        gw_http_json(req, 200,
                     json_pack("{s:O, s:O, s:O, s:O, s:O}", "plan", json_object_get(v->plan, "id"), "state",
                               json_object_get(v->plan, "state"), "progress", json_object_get(v->plan, "progress"),
                               "rows", v->rows, "handovers", json_object_get(v->plan, "handovers")));
        return;
    }
    {
        static const char *const head[] = {"row",    "unit", "new_unit",   "holder",     "serial",
                                           "action", "rule", "overridden", "request_id", "state"};
        struct evbuffer *out = evbuffer_new();
        evbuffer_add(out, "\xEF\xBB\xBF", 3);
        csv_line(out, head, 10);
        json_array_foreach(v->rows, i, row)
        {
            char no[24];
            const char *f[10];
            snprintf(no, sizeof(no), "%lld", (long long)json_integer_value(json_object_get(row, "no")));
            f[0] = no, f[1] = str(row, "unit"), f[2] = str(row, "new_unit"), f[3] = str(row, "holder");
            f[4] = str(row, "serial"), f[5] = str(row, "final_action"), f[6] = str(row, "rule");
            f[7] = json_object_get(row, "override") ? "1" : "0", f[8] = str(row, "request_id");
            f[9] = str(row, "state");
            csv_line(out, f, 10);
        }
        send_csv(req, out, "simpki-plan-report.csv");
        evbuffer_free(out);
    }
}

/* Every request the plan files (or would file), with its fixed id: the CA's list. */
static json_t *plan_requests(const json_t *plan, const json_t *rows)
{
    json_t *list = json_array(), *row, *groups, *g;
    const char *id = str(plan, "id");
    size_t i;

    json_array_foreach(rows, i, row)
    {
        json_t *r = gw_merge_row_request(plan, row);
        char key[24], rid[GW_ENROL_ID_LEN];
        if (!r)
            continue;
        snprintf(key, sizeof(key), "r%lld", (long long)json_integer_value(json_object_get(row, "no")));
        gw_merge_request_id(id, key, rid);
        json_object_set_new(r, "id", json_string(rid));
        json_array_append_new(list, r);
    }
    groups = gw_merge_handovers(plan, rows);
    json_array_foreach(groups, i, g)
    {
        json_t *r = json_deep_copy(json_object_get(g, "request"));
        char key[32], rid[GW_ENROL_ID_LEN];
        if (!r)
            continue;
        snprintf(key, sizeof(key), "h%s", str(g, "group"));
        gw_merge_request_id(id, key, rid);
        json_object_set_new(r, "id", json_string(rid));
        json_array_append_new(list, r);
    }
    json_decref(groups);
    return list;
}

static void answer_export(struct view_op *v, struct evhttp_request *req)
{
    json_t *list = plan_requests(v->plan, v->rows);
    char *out = NULL, why[256];
    size_t len = 0;
    enum gw_form_err e = v->csv ? gw_form_export_csv(list, GW_FORM_CSV_BOM, &out, &len, why, sizeof(why))
                                : gw_form_export_json(list, &out, &len, why, sizeof(why));

    if (e != GW_FORM_OK) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "cannot export: %s", why);
    } else if (v->csv) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition",
                          "attachment; filename=\"simpki-plan-requests.csv\"");
        gw_http_text(req, 200, "text/csv; charset=utf-8", out, len);
    } else {
        gw_http_text(req, 200, "application/json", out, len);
    }
    free(out);
    json_decref(list);
}

static void answer_bundle(struct view_op *v, struct evhttp_request *req)
{
    char why[256] = "", *html;
    size_t len = 0;

    html = gw_merge_bundle_html(v->plan, v->rows, v->unit, &len, why, sizeof(why));
    if (!html) {
        gw_http_error(req, 404, "NOT_FOUND", "unit", "%s", why[0] ? why : "the plan has no rows for this unit");
        return;
    }
    gw_http_text(req, 200, "text/html; charset=utf-8", html, len);
    free(html);
}

static void answer(struct view_op *v)
{
    struct evhttp_request *req = gw_http_take(&v->h);

    if (!req)
        return;
    switch (v->what) {
    case V_ROWS: answer_rows(v, req); break;
    case V_UNITS: answer_units(v, req); break;
    case V_OPEN: answer_open(v, req); break;
    case V_REPORT: answer_report(v, req); break;
    case V_EXPORT: answer_export(v, req); break;
    case V_BUNDLE: answer_bundle(v, req); break;
    }
}

/* ---- loading ------------------------------------------------------------ */

static void next_states(struct view_op *v);

static void states_in(void *arg, enum q_err err, json_t *docs)
{
    struct view_op *v = arg;

    if (!v->h.req) {
        json_decref(docs);
        view_free(v);
        return;
    }
    if (err != Q_OK) {
        plan_storage_error(gw_http_take(&v->h), err);
        view_free(v);
        return;
    }
    /* docs: request id -> document; the rows of this chunk take their states. */
    for (size_t i = v->next; i < json_array_size(v->rows) && i < v->next + Q_PLAN_ROWS_MAX; i++) {
        json_t *row = json_array_get(v->rows, i);
        const json_t *doc = json_object_get(docs, str(row, "request_id"));
        if (doc)
            json_object_set_new(row, "state", json_string(plan_request_state(doc)));
    }
    json_decref(docs);
    v->next += Q_PLAN_ROWS_MAX;
    next_states(v);
}

static void next_states(struct view_op *v)
{
    const char *ids[Q_PLAN_ROWS_MAX];
    size_t n = 0, total = json_array_size(v->rows);

    if (v->next >= total || v->p->dead) {
        answer(v);
        view_free(v);
        return;
    }
    for (size_t i = v->next; i < total && i < v->next + Q_PLAN_ROWS_MAX; i++) {
        const char *rid = json_string_value(json_object_get(json_array_get(v->rows, i), "request_id"));
        if (rid)
            ids[n++] = rid;
    }
    if (n == 0) {
        v->next += Q_PLAN_ROWS_MAX;
        next_states(v);
        return;
    }
    plan_request_docs(v->p, ids, n, states_in, v);
}

static void loaded(void *arg, enum q_err err, json_t *plan, json_t *rows)
{
    struct view_op *v = arg;

    if (!v->h.req) {
        json_decref(plan);
        json_decref(rows);
        view_free(v);
        return;
    }
    if (err != Q_OK) {
        plan_storage_error(gw_http_take(&v->h), err);
        view_free(v);
        return;
    }
    v->plan = plan;
    v->rows = rows;
    next_states(v);
}

static int param(struct evkeyvalq *q, const char *name, char *out, size_t cap)
{
    const char *s = evhttp_find_header(q, name);

    out[0] = '\0';
    if (!s)
        return 0;
    if (strlen(s) >= cap)
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

int plan_view_handle(struct gw_plan *p, struct evhttp_request *req, const char *id, const char *what)
{
    static const char *const names[] = {"rows", "units", "open", "report", "export", "bundle"};
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params = {0};
    struct view_op *v;
    const char *fmt, *s;
    char *end;
    int w = -1;

    for (int i = 0; i < 6; i++)
        if (strcmp(what, names[i]) == 0)
            w = i;
    if (w < 0)
        return 0;
    if (query && evhttp_parse_query_str(query, &params) != 0) {
        gw_http_error(req, 400, "INVALID_FIELD", NULL, "cannot parse the query string");
        return 1;
    }
    if (!(v = calloc(1, sizeof(*v)))) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    v->p = p;
    v->what = (enum view)w;
    v->limit = ROWS_DEFAULT;
    plan_hold(p);
    gw_http_hold(&v->h, req, NULL, NULL);
    if (param(&params, "unit", v->unit, sizeof(v->unit)) || param(&params, "action", v->action, sizeof(v->action)) ||
        param(&params, "rule", v->rule, sizeof(v->rule)) || param(&params, "state", v->state, sizeof(v->state))) {
        gw_http_error(gw_http_take(&v->h), 400, "INVALID_FIELD", NULL, "a filter is too long");
        view_free(v);
        goto out;
    }
    fmt = evhttp_find_header(&params, "format");
    if (fmt && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
        gw_http_error(gw_http_take(&v->h), 400, "INVALID_FIELD", "format", "format is csv or json");
        view_free(v);
        goto out;
    }
    /* The CA's export is CSV unless asked otherwise; the others JSON. */
    v->csv = fmt ? strcmp(fmt, "csv") == 0 : v->what == V_EXPORT;
    if ((s = evhttp_find_header(&params, "limit")) &&
        ((v->limit = strtol(s, &end, 10)) < 1 || v->limit > ROWS_MAX || *end)) {
        gw_http_error(gw_http_take(&v->h), 400, "INVALID_FIELD", "limit", "limit is 1..%d", ROWS_MAX);
        view_free(v);
        goto out;
    }
    if ((s = evhttp_find_header(&params, "offset")) && ((v->offset = strtol(s, &end, 10)) < 0 || *end)) {
        gw_http_error(gw_http_take(&v->h), 400, "INVALID_FIELD", "offset", "offset is a whole number");
        view_free(v);
        goto out;
    }
    if (v->what == V_BUNDLE && !v->unit[0]) {
        gw_http_error(gw_http_take(&v->h), 400, "INVALID_FIELD", "unit", "give the unit: ?unit=...");
        view_free(v);
        goto out;
    }
    plan_load(p, id, 1, loaded, v);
out:
    evhttp_clear_headers(&params);
    return 1;
}
