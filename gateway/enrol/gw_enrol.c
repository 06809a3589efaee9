/* gw_enrol.c - see gw_enrol.h. */
#include "gw_enrol.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw_enrol_import.h"
#include "gw_forms.h"
#include "gw_http.h"
#include "gw_life.h"
#include "gw_util.h"
#include "log.h"
#include "q.h"
#include "q_docs.h"
#include "util.h"

#define ID_LEN   GW_ENROL_ID_LEN
#define LIST_MAX 500

struct gw_enrol {
    const struct cfg *cfg;
    struct q *q;
};

/* ---- the state machine ------------------------------------------------ */

struct edge {
    const char *from, *to;
    int forms; /* bit per enum gw_form_kind that may take it */
};

#define F(k)    (1 << (k))
#define F_ISSUE (F(GW_FORM_PERSON_NEW) | F(GW_FORM_ORG_NEW) | F(GW_FORM_CHANGE))
#define F_CA    (F_ISSUE | F(GW_FORM_REVOKE))
#define F_ALL   (F_CA | F(GW_FORM_HANDOVER))

static const struct edge edges[] = {
    {"submitted", "confirmed", F_CA},
    {"submitted", "rejected", F_ALL},
    {"submitted", "done", F(GW_FORM_HANDOVER)}, /* the devices were received */
    {"confirmed", "sent_to_ca", F_CA},
    {"confirmed", "rejected", F_CA},
    {"confirmed", "failed", F_CA},
    {"sent_to_ca", "issued", F_ISSUE},
    {"sent_to_ca", "done", F(GW_FORM_REVOKE)}, /* the CA revoked it */
    {"sent_to_ca", "failed", F_CA},
    {"sent_to_ca", "rejected", F_CA},
    {"issued", "installed", F_ISSUE},
    {"issued", "failed", F_ISSUE},
    {"installed", "done", F_ISSUE},
};

int gw_enrol_transition_allowed(const char *form, const char *from, const char *to)
{
    const struct gw_form_info *fi = gw_form_lookup(form ? form : "");
    if (!fi)
        return 0;
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        if (strcmp(edges[i].from, from) == 0 && strcmp(edges[i].to, to) == 0 && (edges[i].forms & F(fi->kind)))
            return 1;
    return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static int valid_id(const char *id)
{
    return strlen(id) == ID_LEN - 1 && id[0] == 'r' && strspn(id + 1, "0123456789abcdef") == ID_LEN - 2;
}

/* One asynchronous operation on one HTTP request. */
struct op {
    struct gw_enrol *en;
    struct gw_http_hold h;
    char rp[64];
    char id[ID_LEN];
    json_t *doc;    /* create: the new document; transition: the new revision */
    json_t *params; /* transition: {"to", "by", "note"}; list: filters */
    int what;       /* enum what */
};

enum what { W_GET, W_FORM, W_TRANSITION, W_LIST, W_EXPORT_CSV, W_EXPORT_JSON };

static struct op *op_new(struct gw_enrol *en, struct evhttp_request *req, const char *rp)
{
    struct op *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    o->en = en;
    snprintf(o->rp, sizeof(o->rp), "%s", rp);
    gw_http_hold(&o->h, req, NULL, NULL);
    return o;
}

static void op_free(struct op *o)
{
    gw_http_take(&o->h);
    json_decref(o->doc);
    json_decref(o->params);
    free(o);
}

static int redis_unavailable(struct evhttp_request *req, enum q_err err)
{
    if (err == Q_OK)
        return 0;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
    gw_http_error(req, 503, "UNAVAILABLE", NULL, "request storage unavailable, try again (%s)", q_strerror(err));
    return 1;
}

/* ---- create ----------------------------------------------------------- */

static void created(void *arg, enum q_err err)
{
    struct op *o = arg;
    struct evhttp_request *req = gw_http_take(&o->h);
    char loc[64];

    if (!req) {
        /* the client went away */
    } else if (err == Q_OK) {
        snprintf(loc, sizeof(loc), "/v1/requests/%s", o->id);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
        LOGP(LOG_INFO, "enrol", o->id, "filed by %s", o->rp);
        gw_http_json(req, 201, json_incref(o->doc));
    } else if (err == Q_ERR_CONFLICT || err == Q_ERR_PROTO || err == Q_ERR_INVALID) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "unexpected answer from storage");
    } else {
        redis_unavailable(req, err);
    }
    op_free(o);
}

static void handle_create(struct gw_enrol *en, struct evhttp_request *req, const char *rp)
{
    char why[256], now[32];
    json_t *request, *errors, *warnings;
    struct op *o;
    char *text;
    enum gw_enrol_verdict verdict;

    request = gw_http_body_json(req, why, sizeof(why));
    if (!request) {
        gw_http_error(req, 400, "MALFORMED_JSON", NULL, "%s", why);
        return;
    }
    /* The same checks as simpki-admin import-requests: gw_enrol_import.h. */
    errors = json_array();
    warnings = json_array();
    verdict = gw_enrol_validate(request, NULL, errors, warnings, why, sizeof(why));
    if (verdict == GW_ENROL_UNKNOWN_FORM) {
        gw_http_error(req, 400, "UNKNOWN_FORM", "form", "%s", why);
        goto refused;
    }
    if (verdict != GW_ENROL_VALID) {
        json_t *e = json_pack("{s:s, s:s, s:O, s:o}", "error", "INVALID_REQUEST", "message",
                              json_array_size(errors) == 1
                                  ? json_string_value(json_object_get(json_array_get(errors, 0), "message"))
                                  : "some fields are not valid; see errors",
                              "field", json_object_get(json_array_get(errors, 0), "field"), "errors", errors);
        errors = NULL;
        if (e && json_array_size(warnings))
            json_object_set(e, "warnings", warnings);
        gw_http_json(req, 400, e);
        goto refused;
    }
    json_decref(errors);
    errors = NULL;
    o = op_new(en, req, rp);
    if (!o) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto refused;
    }
    if (gw_enrol_new_id(o->id) != 0) {
        gw_http_error(gw_http_take(&o->h), 500, "INTERNAL_ERROR", NULL, "no randomness for an id");
        op_free(o);
        goto refused;
    }
    util_iso8601(time(NULL), now);
    o->doc = gw_enrol_doc_new(o->id, now, rp, warnings, request);
    text = o->doc ? json_dumps(o->doc, JSON_COMPACT) : NULL;
    if (!text) {
        gw_http_error(gw_http_take(&o->h), 500, "INTERNAL_ERROR", NULL, "out of memory");
        op_free(o);
        return;
    }
    q_doc_create(o->en->q, o->id, text, strlen(text), gw_now_ms(), created, o);
    free(text);
    return;
refused:
    json_decref(errors);
    json_decref(warnings);
    json_decref(request);
}

/* ---- read, form, transition ------------------------------------------- */

static void cas_done(void *arg, enum q_err err)
{
    struct op *o = arg;
    struct evhttp_request *req = gw_http_take(&o->h);

    if (!req) {
        /* the client went away */
    } else if (err == Q_OK) {
        LOGP(LOG_INFO, "enrol", o->id, "now %s (by %s)", json_string_value(json_object_get(o->doc, "state")), o->rp);
        gw_http_json(req, 200, json_incref(o->doc));
    } else if (err == Q_ERR_NOT_FOUND) {
        gw_http_error(req, 404, "NOT_FOUND", NULL, "no such request");
    } else if (err == Q_ERR_CONFLICT) {
        gw_http_error(req, 409, "CONFLICT", NULL, "the request changed meanwhile; read it again and retry");
    } else {
        redis_unavailable(req, err);
    }
    op_free(o);
}

/*
 * The lifecycle engine's side of a transition (gw_life.h).  While the
 * engine owns a request (it has "progress" and is not finished) only an
 * abort -- failed or rejected -- may be set by hand.  With the CA connector
 * configured, confirming a person_new, org_new, change or revoke request
 * hands it over: doc gets its "progress" (from the call's "sim") and *due_ms
 * the time for the engine's index (left 0 otherwise).  0 to go on; -1 when answered with a refusal.
 */
static int engine_handover(struct op *o, json_t *doc, const char *form, const char *to, int64_t *due_ms)
{
    const json_t *sim = json_object_get(o->params, "sim");
    const char *progress_step = json_string_value(json_object_get(json_object_get(doc, "progress"), "step"));
    int drives = o->en->cfg->ca.enabled && gw_life_drives_form(form) && strcmp(to, "confirmed") == 0;
    char field[48], why[200];
    enum gw_life_err err;
    json_t *progress;

    if (progress_step && strcmp(progress_step, "finished") != 0 && strcmp(to, "failed") != 0 &&
        strcmp(to, "rejected") != 0) {
        gw_http_error(gw_http_take(&o->h), 409, "ENGINE_OWNS_REQUEST", "to",
                      "the lifecycle engine is moving this request (step %s); by hand only failed or rejected "
                      "(abort) may be set",
                      progress_step);
        return -1;
    }
    if (sim && !drives) {
        gw_http_error(gw_http_take(&o->h), 400, "INVALID_FIELD", "sim",
                      "sim is taken only when confirming a person_new, org_new or change request with the CA "
                      "connector configured");
        return -1;
    }
    if (!drives)
        return 0;
    progress = gw_life_progress_new(json_object_get(doc, "request"), sim, o->en->cfg->ca.key_alg, &err, field,
                                    sizeof(field), why, sizeof(why));
    if (!progress) {
        if (err == GW_LIFE_ERR_NOMEM)
            gw_http_error(gw_http_take(&o->h), 500, "INTERNAL_ERROR", NULL, "out of memory");
        else
            gw_http_error(gw_http_take(&o->h), 400, "INVALID_FIELD", field, "%s", why);
        return -1;
    }
    json_object_set_new(doc, "progress", progress);
    *due_ms = gw_now_ms();
    return 0;
}

/*
 * Move doc to the state in o->params: check the table, write the next
 * revision, and compare-and-set it.  0 when the CAS is under way; -1 when
 * the request has been answered with a refusal.
 */
static int start_transition(struct op *o, json_t *doc)
{
    const char *to = json_string_value(json_object_get(o->params, "to"));
    const char *by = json_string_value(json_object_get(o->params, "by"));
    const char *note = json_string_value(json_object_get(o->params, "note"));
    const char *from = json_string_value(json_object_get(doc, "state"));
    const char *form = json_string_value(json_object_get(json_object_get(doc, "request"), "form"));
    json_int_t rev = json_integer_value(json_object_get(doc, "rev"));
    char now[32], who[200];
    int64_t due_ms = 0;
    char *text;

    /* The engine's claim first: an operator is told who moves the request, whatever the table says. */
    if (engine_handover(o, doc, form, to, &due_ms) != 0)
        return -1;
    if (!from || !gw_enrol_transition_allowed(form, from, to)) {
        gw_http_error(gw_http_take(&o->h), 409, "TRANSITION_NOT_ALLOWED", "to", "a %s request cannot go from %s to %s",
                      form ? form : "?", from ? from : "?", to);
        return -1;
    }
    if ((strcmp(to, "rejected") == 0 || strcmp(to, "failed") == 0) && (!note || !*note)) {
        gw_http_error(gw_http_take(&o->h), 400, "INVALID_FIELD", "note", "say why the request is %s", to);
        return -1;
    }
    util_iso8601(time(NULL), now);
    snprintf(who, sizeof(who), "%s%s%.100s", o->rp, by ? ": " : "", by ? by : "");
    json_object_set_new(doc, "state", json_string(to));
    json_object_set_new(doc, "rev", json_integer(rev + 1));
    json_object_set_new(doc, "updated_at", json_string(now));
    json_array_append_new(json_object_get(doc, "history"),
                          json_pack("{s:s, s:s, s:s, s:s?}", "state", to, "at", now, "by", who, "note", note));
    text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        gw_http_error(gw_http_take(&o->h), 500, "INTERNAL_ERROR", NULL, "out of memory");
        return -1;
    }
    o->doc = json_incref(doc);
    q_doc_cas(o->en->q, o->id, (int64_t)rev, text, strlen(text), due_ms, cas_done, o);
    free(text);
    return 0;
}

static void answer_form(struct evhttp_request *req, const char *id, const json_t *doc)
{
    json_t *form = json_deep_copy(json_object_get(doc, "request"));
    char *html = NULL, why[256];

    json_object_set_new(form, "id", json_string(id));
    if (gw_form_render_html(form, &html, NULL, why, sizeof(why)) == GW_FORM_OK)
        gw_http_text(req, 200, "text/html; charset=utf-8", html, strlen(html));
    else
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "cannot render the form: %s", why);
    free(html);
    json_decref(form);
}

static void got(void *arg, enum q_err err, const struct q_doc *d)
{
    struct op *o = arg;
    json_t *doc = NULL;

    if (!o->h.req)
        goto out; /* the client went away */
    if (err != Q_OK && err != Q_ERR_NOT_FOUND) {
        redis_unavailable(gw_http_take(&o->h), err);
        goto out;
    }
    if (err == Q_ERR_NOT_FOUND || !(doc = json_loadb(d->text, d->len, 0, NULL))) {
        gw_http_error(gw_http_take(&o->h), 404, "NOT_FOUND", NULL, "no such request");
        goto out;
    }
    if (o->what == W_TRANSITION) {
        if (start_transition(o, doc) == 0) {
            json_decref(doc);
            return; /* o lives on until cas_done */
        }
    } else if (o->what == W_FORM) {
        answer_form(gw_http_take(&o->h), o->id, doc);
    } else {
        gw_http_json(gw_http_take(&o->h), 200, json_incref(doc));
    }
out:
    json_decref(doc);
    op_free(o);
}

static void fetch(struct op *o, int what)
{
    o->what = what;
    q_doc_get(o->en->q, o->id, got, o);
}

/* ---- list and export -------------------------------------------------- */

static void listed(void *arg, enum q_err err, uint64_t matched, const struct q_doc *docs, size_t n)
{
    struct op *o = arg;
    struct evhttp_request *req = gw_http_take(&o->h);
    json_t *items = json_array();
    char *out = NULL, why[256];
    size_t outlen = 0;

    if (!req)
        goto out;
    if (err == Q_ERR_PROTO) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "unexpected answer from storage");
        goto out;
    }
    if (redis_unavailable(req, err))
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_loadb(docs[i].text, docs[i].len, 0, NULL);
        if (!d)
            continue;
        if (o->what == W_LIST) {
            json_array_append_new(items, d);
        } else {
            /* The CA's export: the form data, with our id. */
            json_t *f = json_deep_copy(json_object_get(d, "request"));
            json_object_set(f, "id", json_object_get(d, "id"));
            json_array_append_new(items, f);
            json_decref(d);
        }
    }
    if (o->what == W_LIST) {
        gw_http_json(req, 200, json_pack("{s:I, s:O}", "total", (json_int_t)matched, "items", items));
    } else if (o->what == W_EXPORT_CSV) {
        if (gw_form_export_csv(items, GW_FORM_CSV_BOM, &out, &outlen, why, sizeof(why)) == GW_FORM_OK) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Disposition",
                              "attachment; filename=\"simpki-requests.csv\"");
            gw_http_text(req, 200, "text/csv; charset=utf-8", out, outlen);
        } else {
            gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "cannot export: %s", why);
        }
    } else {
        if (gw_form_export_json(items, &out, &outlen, why, sizeof(why)) == GW_FORM_OK)
            gw_http_text(req, 200, "application/json", out, outlen);
        else
            gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "cannot export: %s", why);
    }
out:
    free(out);
    json_decref(items);
    op_free(o);
}

static void handle_list(struct gw_enrol *en, struct evhttp_request *req, const char *rp, int what)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params = {0};
    const char *unit = "", *state = "", *form = "", *fmt = NULL;
    long limit = what == W_LIST ? 50 : 0, offset = 0;
    struct q_doc_filter f;
    struct op *o;

    if (query && evhttp_parse_query_str(query, &params) != 0) {
        gw_http_error(req, 400, "INVALID_FIELD", NULL, "cannot parse the query string");
        return;
    }
    if (evhttp_find_header(&params, "unit"))
        unit = evhttp_find_header(&params, "unit");
    if (evhttp_find_header(&params, "state"))
        state = evhttp_find_header(&params, "state");
    if (evhttp_find_header(&params, "form"))
        form = evhttp_find_header(&params, "form");
    fmt = evhttp_find_header(&params, "format");
    if (what != W_LIST) {
        if (fmt && strcmp(fmt, "json") == 0)
            what = W_EXPORT_JSON;
        else if (!fmt || strcmp(fmt, "csv") == 0)
            what = W_EXPORT_CSV;
        else {
            gw_http_error(req, 400, "INVALID_FIELD", "format", "format is csv or json");
            goto out;
        }
    } else {
        const char *l = evhttp_find_header(&params, "limit"), *of = evhttp_find_header(&params, "offset");
        char *end;
        if (l && ((limit = strtol(l, &end, 10)) < 1 || limit > LIST_MAX || *end)) {
            gw_http_error(req, 400, "INVALID_FIELD", "limit", "limit is 1..%d", LIST_MAX);
            goto out;
        }
        if (of && ((offset = strtol(of, &end, 10)) < 0 || *end)) {
            gw_http_error(req, 400, "INVALID_FIELD", "offset", "offset is a whole number");
            goto out;
        }
    }
    o = op_new(en, req, rp);
    if (!o) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        goto out;
    }
    o->what = what;
    f = (struct q_doc_filter){
        .unit = unit, .state = state, .form = form, .offset = (uint64_t)offset, .limit = (uint64_t)limit};
    q_doc_list(o->en->q, &f, listed, o);
out:
    evhttp_clear_headers(&params);
}

/* ---- routing ---------------------------------------------------------- */

static void handle_transition(struct gw_enrol *en, struct evhttp_request *req, const char *rp, const char *id)
{
    char why[256];
    json_t *body = gw_http_body_json(req, why, sizeof(why));
    const char *to;
    struct op *o;

    if (!body) {
        gw_http_error(req, 400, "MALFORMED_JSON", NULL, "%s", why);
        return;
    }
    to = json_string_value(json_object_get(body, "to"));
    if (!to || (json_object_get(body, "by") && !json_is_string(json_object_get(body, "by"))) ||
        (json_object_get(body, "note") && !json_is_string(json_object_get(body, "note"))) ||
        (json_object_get(body, "sim") && !json_is_object(json_object_get(body, "sim")))) {
        gw_http_error(req, 400, "INVALID_FIELD", "to",
                      "give {\"to\": STATE, \"by\": NAME, \"note\": TEXT, \"sim\": {...} when confirming}");
        json_decref(body);
        return;
    }
    o = op_new(en, req, rp);
    if (!o) {
        json_decref(body);
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        return;
    }
    o->params = body;
    snprintf(o->id, sizeof(o->id), "%.21s", id);
    fetch(o, W_TRANSITION);
}

int gw_enrol_handle(struct gw_enrol *en, struct evhttp_request *req, const char *path, const char *rp)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    char id[ID_LEN + 1] = "", rest[32] = "";
    struct op *o;

    if (strcmp(path, "/v1/requests") == 0) {
        if (m == EVHTTP_REQ_POST)
            handle_create(en, req, rp);
        else if (m == EVHTTP_REQ_GET)
            handle_list(en, req, rp, W_LIST);
        else
            gw_http_error(req, 405, "METHOD_NOT_ALLOWED", NULL, "use GET or POST");
        return 1;
    }
    if (strcmp(path, "/v1/requests/export") == 0) {
        handle_list(en, req, rp, W_EXPORT_CSV);
        return 1;
    }
    if (strncmp(path, "/v1/requests/", 13) != 0)
        return 0;
    if (sscanf(path + 13, "%22[^/]%31s", id, rest) < 1 || !valid_id(id)) {
        gw_http_error(req, 404, "NOT_FOUND", NULL, "no such request");
        return 1;
    }
    if (strcmp(rest, "/transitions") == 0 && m == EVHTTP_REQ_POST) {
        handle_transition(en, req, rp, id);
        return 1;
    }
    if ((rest[0] && strcmp(rest, "/form") != 0) || m != EVHTTP_REQ_GET) {
        gw_http_error(req, rest[0] && strcmp(rest, "/form") != 0 ? 404 : 405,
                      rest[0] && strcmp(rest, "/form") != 0 ? "NOT_FOUND" : "METHOD_NOT_ALLOWED", NULL,
                      "see docs/openapi.yaml");
        return 1;
    }
    o = op_new(en, req, rp);
    if (!o) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "out of memory");
        return 1;
    }
    snprintf(o->id, sizeof(o->id), "%.21s", id);
    fetch(o, rest[0] ? W_FORM : W_GET);
    return 1;
}

struct gw_enrol *gw_enrol_new(const struct cfg *cfg, struct q *q)
{
    struct gw_enrol *en = calloc(1, sizeof(*en));
    if (!en)
        return NULL;
    en->cfg = cfg;
    en->q = q;
    return en;
}

void gw_enrol_free(struct gw_enrol *en)
{
    free(en);
}
