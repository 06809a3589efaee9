/* gw_enrol_file.c - see gw_enrol_file.h. */
#include "gw_enrol_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "gw_enrol_import.h"
#include "gw_life.h"
#include "gw_util.h"
#include "log.h"
#include "q.h"
#include "q_docs.h"
#include "util.h"

struct job {
    const struct cfg *cfg;
    struct q *q;
    char id[GW_ENROL_ID_LEN];
    char by[200], note[200];
    int confirm;
    json_t *doc; /* the revision being written */
    gw_enrol_file_cb *cb;
    void *arg;
};

static void job_end(struct job *j, enum gw_enrol_file_result r, const char *state, const char *why)
{
    j->cb(j->arg, r, r == GW_ENROL_FILE_OK ? state : NULL, why);
    json_decref(j->doc);
    free(j);
}

static void confirmed(void *arg, enum q_err err);

/*
 * Move doc (stored at its "rev") to confirmed, as a transition by hand does
 * (gw_enrol.c start_transition and engine_handover): the engine's progress
 * when it drives the form, the history entry, rev + 1, one compare-and-set.
 */
static void confirm(struct job *j, json_t *doc)
{
    const json_t *request = json_object_get(doc, "request");
    const char *form = json_string_value(json_object_get(request, "form"));
    json_int_t rev = json_integer_value(json_object_get(doc, "rev"));
    char now[32], field[48], why[200];
    int64_t due_ms = 0;
    enum gw_life_err lerr;
    char *text;

    if (j->cfg->ca.enabled && gw_life_drives_form(form)) {
        json_t *progress =
            gw_life_progress_new(request, NULL, j->cfg->ca.key_alg, &lerr, field, sizeof(field), why, sizeof(why));
        if (!progress) {
            char msg[260];
            snprintf(msg, sizeof(msg), "%s: %s", field, lerr == GW_LIFE_ERR_NOMEM ? "out of memory" : why);
            job_end(j, GW_ENROL_FILE_REFUSED, NULL, msg);
            return;
        }
        json_object_set_new(doc, "progress", progress);
        due_ms = gw_now_ms();
    }
    util_iso8601(time(NULL), now);
    json_object_set_new(doc, "state", json_string("confirmed"));
    json_object_set_new(doc, "rev", json_integer(rev + 1));
    json_object_set_new(doc, "updated_at", json_string(now));
    json_array_append_new(json_object_get(doc, "history"),
                          json_pack("{s:s, s:s, s:s, s:s?}", "state", "confirmed", "at", now, "by", j->by, "note",
                                    j->note[0] ? j->note : NULL));
    text = json_dumps(doc, JSON_COMPACT);
    if (!text) {
        job_end(j, GW_ENROL_FILE_REFUSED, NULL, "out of memory");
        return;
    }
    json_decref(j->doc);
    j->doc = json_incref(doc);
    q_doc_cas(j->q, j->id, (int64_t)rev, text, strlen(text), due_ms, confirmed, j);
    free(text);
}

static void found(void *arg, enum q_err err, const struct q_doc *d)
{
    struct job *j = arg;
    json_t *doc;
    const char *state;

    if (err != Q_OK) {
        job_end(j, GW_ENROL_FILE_AGAIN, NULL, q_strerror(err));
        return;
    }
    doc = json_loadb(d->text, d->len, 0, NULL);
    state = json_string_value(json_object_get(doc, "state"));
    if (!state) {
        json_decref(doc);
        job_end(j, GW_ENROL_FILE_REFUSED, NULL, "the stored request with this id cannot be read");
        return;
    }
    if (j->confirm && strcmp(state, "submitted") == 0)
        confirm(j, doc); /* filed before a crash, never confirmed */
    else
        job_end(j, GW_ENROL_FILE_OK, state, NULL);
    json_decref(doc);
}

static void confirmed(void *arg, enum q_err err)
{
    struct job *j = arg;

    if (err == Q_OK) {
        LOGP(LOG_INFO, "enrol", j->id, "confirmed by %s", j->by);
        job_end(j, GW_ENROL_FILE_OK, "confirmed", NULL);
    } else if (err == Q_ERR_CONFLICT) {
        q_doc_get(j->q, j->id, found, j); /* someone moved it meanwhile: report where it is */
    } else {
        job_end(j, GW_ENROL_FILE_AGAIN, NULL, q_strerror(err));
    }
}

static void created(void *arg, enum q_err err)
{
    struct job *j = arg;
    json_t *doc;

    if (err == Q_ERR_CONFLICT) {
        q_doc_get(j->q, j->id, found, j);
        return;
    }
    if (err != Q_OK) {
        job_end(j, GW_ENROL_FILE_AGAIN, NULL, q_strerror(err));
        return;
    }
    LOGP(LOG_INFO, "enrol", j->id, "filed by %s", j->by);
    if (!j->confirm) {
        job_end(j, GW_ENROL_FILE_OK, "submitted", NULL);
        return;
    }
    doc = json_incref(j->doc);
    confirm(j, doc);
    json_decref(doc);
}

int gw_enrol_file(const struct cfg *cfg, struct q *q, const char *id, const json_t *request, const char *rp,
                  const char *by, const char *note, int confirm, gw_enrol_file_cb *cb, void *arg, char *why,
                  size_t whylen)
{
    json_t *req = json_deep_copy(request), *errors = json_array(), *warnings = json_array();
    struct job *j = calloc(1, sizeof(*j));
    enum gw_enrol_verdict v;
    char now[32], *text = NULL;

    snprintf(why, whylen, "out of memory");
    if (!req || !errors || !warnings || !j)
        goto fail;
    v = gw_enrol_validate(req, NULL, errors, warnings, why, whylen);
    if (v != GW_ENROL_VALID) {
        if (v == GW_ENROL_INVALID) {
            const json_t *e = json_array_get(errors, 0);
            snprintf(why, whylen, "%s: %s", json_string_value(json_object_get(e, "field")),
                     json_string_value(json_object_get(e, "message")));
        }
        goto fail;
    }
    if (confirm && cfg->ca.enabled && gw_life_drives_form(json_string_value(json_object_get(req, "form")))) {
        /* What the confirmation will ask of the request, asked before anything is stored. */
        char field[48], lwhy[200];
        enum gw_life_err lerr;
        json_t *progress =
            gw_life_progress_new(req, NULL, cfg->ca.key_alg, &lerr, field, sizeof(field), lwhy, sizeof(lwhy));
        if (!progress) {
            snprintf(why, whylen, "%s: %s", field, lerr == GW_LIFE_ERR_NOMEM ? "out of memory" : lwhy);
            goto fail;
        }
        json_decref(progress);
    }
    *j = (struct job){.cfg = cfg, .q = q, .confirm = confirm, .cb = cb, .arg = arg};
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->by, sizeof(j->by), "%s%s%.100s", rp, by && *by ? ": " : "", by ? by : "");
    snprintf(j->note, sizeof(j->note), "%s", note ? note : "");
    util_iso8601(time(NULL), now);
    j->doc = gw_enrol_doc_new(j->id, now, rp, warnings, req); /* takes warnings and req */
    warnings = req = NULL;
    text = j->doc ? json_dumps(j->doc, JSON_COMPACT) : NULL;
    if (!text)
        goto fail;
    q_doc_create(q, j->id, text, strlen(text), gw_now_ms(), created, j);
    free(text);
    json_decref(errors);
    return 0;
fail:
    if (j)
        json_decref(j->doc);
    free(j);
    json_decref(req);
    json_decref(errors);
    json_decref(warnings);
    return -1;
}
