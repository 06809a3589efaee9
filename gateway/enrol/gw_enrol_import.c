/*
 * gw_enrol_import.c - see gw_enrol_import.h.
 *
 * The file is framed once, in place (unquoting only ever shrinks the text),
 * into a flat array of cell pointers; rows are built into JSON one at a time
 * so a caller can show progress and keep only what it needs.
 */
#include "gw_enrol_import.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csv.h"
#include "gw_enrol_check.h"
#include "gw_forms.h"

#define VN_UTC_OFFSET_S (7 * 3600)
#define COLS_MAX        128 /* a header wider than this is not a request list */
#define COL_NAME_MAX    64
#define SEGS_MAX        4 /* devices[0].serial is the deepest path a form has */
#define SEG_KEY_MAX     32
#define SEG_INDEX_MAX   99   /* devices[99]: a hundred devices in one handover is plenty */
#define CELL_MAX        2048 /* no form field is longer; gw_valid stops at 512 */

/* ---- one request -------------------------------------------------------- */

/*
 * A shape error from gw_forms ("subscriber.birth_date: not a date"): add it
 * unless the content checks already reported that field.
 */
static void add_shape_error(json_t *errors, enum gw_form_err fe, const char *why)
{
    char field[64] = "";
    size_t i;
    json_t *e;

    if (sscanf(why, "%63[^:]", field) != 1 || strchr(field, ' '))
        field[0] = '\0';
    json_array_foreach(errors, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0)
            return;
    }
    json_array_append_new(errors, json_pack("{s:s, s:s, s:s}", "field", field, "error",
                                            fe == GW_FORM_ERR_MISSING_FIELD   ? "REQUIRED"
                                            : fe == GW_FORM_ERR_UNKNOWN_FIELD ? "UNKNOWN_FIELD"
                                                                              : "INVALID_FIELD",
                                            "message", why));
}

enum gw_enrol_verdict gw_enrol_validate(json_t *request, const struct gw_date *today, json_t *errors, json_t *warnings,
                                        char *why, size_t whylen)
{
    char shape[256];
    enum gw_form_err fe;

    /* The request's id is ours to give. */
    json_object_del(request, "id");
    /* Content first: it normalises (dates to YYYY-MM-DD) what the form check then reads. */
    if (today)
        gw_enrol_check_at(request, today, errors, warnings);
    else
        gw_enrol_check(request, errors, warnings);
    fe = gw_form_validate(request, shape, sizeof(shape));
    if (fe == GW_FORM_ERR_UNKNOWN_FORM) {
        if (why && whylen)
            snprintf(why, whylen, "%s", shape);
        return GW_ENROL_UNKNOWN_FORM;
    }
    if (fe != GW_FORM_OK)
        add_shape_error(errors, fe, shape);
    return json_array_size(errors) > 0 ? GW_ENROL_INVALID : GW_ENROL_VALID;
}

int gw_enrol_new_id(char id[GW_ENROL_ID_LEN])
{
    unsigned char r[10];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return -1;
    id[0] = 'r';
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(id + 1 + 2 * i, 3, "%02x", r[i]);
    return 0;
}

json_t *gw_enrol_doc_new(const char *id, const char *now, const char *created_by, json_t *warnings, json_t *request)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:[{s:s, s:s, s:s}], s:o, s:o}", "id", id, "state", "submitted",
                     "rev", 1, "created_at", now, "updated_at", now, "created_by", created_by, "history", "state",
                     "submitted", "at", now, "by", created_by, "warnings", warnings, "request", request);
}

/* ---- the CSV file --------------------------------------------------------- */

struct seg {
    char key[SEG_KEY_MAX];
    int index; /* -1: an object member; else the array element */
};

struct col {
    char name[COL_NAME_MAX];
    struct seg segs[SEGS_MAX];
    int nseg;
    int is_form;
};

struct rec {
    size_t line;
    size_t cell; /* first cell in im->cells; meaningless when bad */
    int bad;
};

struct gw_enrol_import {
    const char *default_form;
    struct gw_date today;
    gw_enrol_report_fn *report;
    void *arg;
    struct col cols[COLS_MAX];
    size_t ncols;
    char **cells;
    size_t ncells, capcells;
    struct rec *recs;
    size_t nrecs, caprecs;
    size_t bad;
    int framed;
};

static void report(struct gw_enrol_import *im, size_t row, size_t line, const char *field, const char *code,
                   const char *message, int warning)
{
    struct gw_enrol_finding f = {row, line, field ? field : "", code, message, warning};
    size_t n = field ? strlen(field) : 0;

    /* gw_forms prefixes its messages with the field, which the report already names. */
    if (n && strncmp(message, field, n) == 0 && message[n] == ':' && message[n + 1] == ' ')
        f.message = message + n + 2;
    if (im->report)
        im->report(im->arg, &f);
}

struct gw_enrol_import *gw_enrol_import_new(const char *default_form, const struct gw_date *today,
                                            gw_enrol_report_fn *report_fn, void *arg)
{
    struct gw_enrol_import *im;
    const struct gw_form_info *fi = NULL;

    if (default_form) {
        fi = gw_form_lookup(default_form);
        if (!fi)
            return NULL;
    }
    im = calloc(1, sizeof(*im));
    if (!im)
        return NULL;
    im->default_form = fi ? fi->name : NULL;
    if (today)
        im->today = *today;
    else
        gw_date_from_unix((int64_t)time(NULL), VN_UTC_OFFSET_S, &im->today);
    im->report = report_fn;
    im->arg = arg;
    return im;
}

void gw_enrol_import_free(struct gw_enrol_import *im)
{
    if (!im)
        return;
    free(im->cells);
    free(im->recs);
    free(im);
}

size_t gw_enrol_import_rows(const struct gw_enrol_import *im)
{
    return im->nrecs;
}

size_t gw_enrol_import_bad_rows(const struct gw_enrol_import *im)
{
    return im->bad;
}

static int push_cell(struct gw_enrol_import *im, char *cell)
{
    if (im->ncells == im->capcells) {
        size_t cap = im->capcells ? im->capcells * 2 : 1024;
        char **n = realloc(im->cells, cap * sizeof(*n));
        if (!n)
            return -1;
        im->cells = n;
        im->capcells = cap;
    }
    im->cells[im->ncells++] = cell;
    return 0;
}

static struct rec *push_rec(struct gw_enrol_import *im, size_t line)
{
    struct rec *r;
    if (im->nrecs == im->caprecs) {
        size_t cap = im->caprecs ? im->caprecs * 2 : 256;
        struct rec *n = realloc(im->recs, cap * sizeof(*n));
        if (!n)
            return NULL;
        im->recs = n;
        im->caprecs = cap;
    }
    r = &im->recs[im->nrecs++];
    r->line = line;
    r->cell = im->ncells;
    r->bad = 0;
    return r;
}

/* "devices[0].serial" -> segments; -1 when it is not a path. */
static int parse_path(const char *name, struct col *col)
{
    const char *p = name;

    col->nseg = 0;
    if (strlen(name) >= sizeof(col->name))
        return -1;
    snprintf(col->name, sizeof(col->name), "%s", name);
    for (;;) {
        struct seg *s;
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_0123456789");
        if (col->nseg == SEGS_MAX || n == 0 || n >= SEG_KEY_MAX)
            return -1;
        s = &col->segs[col->nseg++];
        memcpy(s->key, p, n);
        s->key[n] = '\0';
        s->index = -1;
        p += n;
        if (*p == '[') {
            char *end;
            long idx;
            if (p[1] < '0' || p[1] > '9')
                return -1;
            idx = strtol(p + 1, &end, 10);
            if (*end != ']' || idx > SEG_INDEX_MAX || (p[1] == '0' && end - p > 2))
                return -1;
            s->index = (int)idx;
            p = end + 1;
        }
        if (*p == '\0')
            break;
        if (*p != '.')
            return -1;
        p++;
    }
    /* The value itself is a string, never an array element. */
    return col->segs[col->nseg - 1].index >= 0 ? -1 : 0;
}

/*
 * Put value at col's path in root, making the objects and arrays on the
 * way.  Arrays are padded with empty objects up to the index (dropped later).
 * -1 on out of memory or when a value already sits where an object must go.
 */
static int put_path(json_t *root, const struct col *col, json_t *value)
{
    json_t *cur = root;

    for (int i = 0; i < col->nseg - 1; i++) {
        const struct seg *s = &col->segs[i];
        json_t *next = json_object_get(cur, s->key);
        if (s->index < 0) {
            if (!next) {
                next = json_object();
                if (json_object_set_new(cur, s->key, next) != 0)
                    goto fail;
            }
        } else {
            if (!next) {
                next = json_array();
                if (json_object_set_new(cur, s->key, next) != 0)
                    goto fail;
            }
            if (!json_is_array(next))
                goto fail;
            while (json_array_size(next) <= (size_t)s->index)
                if (json_array_append_new(next, json_object()) != 0)
                    goto fail;
            next = json_array_get(next, (size_t)s->index);
        }
        if (!json_is_object(next))
            goto fail;
        cur = next;
    }
    return json_object_set_new(cur, col->segs[col->nseg - 1].key, value);
fail:
    json_decref(value);
    return -1;
}

/* Drop the padding: empty objects in arrays, and arrays left empty. */
static void drop_padding(json_t *obj)
{
    const char *key;
    json_t *v;
    void *tmp;

    json_object_foreach_safe(obj, tmp, key, v)
    {
        if (json_is_object(v)) {
            drop_padding(v);
        } else if (json_is_array(v)) {
            for (size_t i = json_array_size(v); i-- > 0;) {
                json_t *el = json_array_get(v, i);
                if (json_is_object(el) && json_object_size(el) == 0)
                    json_array_remove(v, i);
                else if (json_is_object(el))
                    drop_padding(el);
            }
            if (json_array_size(v) == 0)
                json_object_del(obj, key);
        }
    }
}

/* Whether some form has the field at col's path (gw_forms knows; ask it). */
static int known_column(const struct col *col)
{
    static const char *const forms[] = {"person_new", "org_new", "change", "revoke", "handover"};
    int known = 0;

    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]) && !known; f++) {
        json_t *probe = json_pack("{s:s}", "form", forms[f]);
        char why[256];
        if (!probe)
            return -1;
        if (put_path(probe, col, json_string("")) == 0 &&
            gw_form_validate(probe, why, sizeof(why)) != GW_FORM_ERR_UNKNOWN_FIELD)
            known = 1;
        json_decref(probe);
    }
    return known;
}

static int check_header(struct gw_enrol_import *im, char **cells, size_t nf, size_t line)
{
    char msg[200];
    int ok = 1;

    for (size_t i = 0; i < nf; i++) {
        struct col *col = &im->cols[i];
        char *h = cells[i];
        size_t n;
        int known;

        /* Spreadsheets pad header cells; the names themselves have no spaces. */
        while (*h == ' ')
            h++;
        n = strlen(h);
        while (n && h[n - 1] == ' ')
            h[--n] = '\0';
        if (parse_path(h, col) != 0) {
            col->nseg = 0;
            col->name[0] = '\0';
            snprintf(msg, sizeof(msg), "column %zu: not a field path (subscriber.phone, devices[0].serial)", i + 1);
            report(im, 0, line, "", "BAD_HEADER", msg, 0);
            ok = 0;
            continue;
        }
        col->is_form = strcmp(col->name, "form") == 0;
        known = known_column(col);
        if (known < 0)
            return -1;
        if (!known) {
            snprintf(msg, sizeof(msg), "column %zu (%s): no form has this field", i + 1, col->name);
            report(im, 0, line, col->name, "UNKNOWN_COLUMN", msg, 0);
            ok = 0;
        } else if (strcmp(col->name, "id") == 0) {
            report(im, 0, line, "id", "ID_IGNORED", "request ids are given at import; this column is ignored", 1);
        }
        for (size_t j = 0; j < i; j++) {
            const char *a = im->cols[j].name;
            size_t la = strlen(a), lb = strlen(col->name), m = la < lb ? la : lb;
            if (!im->cols[j].nseg || strncmp(a, col->name, m) != 0)
                continue;
            if (la == lb || strchr(".[", la < lb ? col->name[m] : a[m])) {
                snprintf(msg, sizeof(msg), "columns %zu and %zu (%s): %s", j + 1, i + 1, col->name,
                         la == lb ? "the same field twice" : "one is inside the other");
                report(im, 0, line, col->name, "BAD_HEADER", msg, 0);
                ok = 0;
            }
        }
    }
    if (ok && im->default_form == NULL) {
        int have_form = 0;
        for (size_t i = 0; i < nf; i++)
            have_form |= im->cols[i].is_form;
        if (!have_form) {
            report(im, 0, line, "form", "BAD_HEADER", "no form column: add one, or give the form (--form)", 0);
            ok = 0;
        }
    }
    return ok ? 0 : -1;
}

/* A record's fields onto im->cells (they point into the buffer, which outlives im's use of them). */
static int push_fields(struct gw_enrol_import *im, char **f, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (push_cell(im, f[i]) != 0)
            return -1;
    return 0;
}

int gw_enrol_import_csv(struct gw_enrol_import *im, char *buf, size_t len)
{
    struct csv *c;
    char msg[200], **f = NULL;
    size_t nf = 0, line = 1;
    enum csv_err e;
    int ret = -1;

    if (im->framed)
        return -1;
    im->framed = 1;
    c = csv_new(buf, len, COLS_MAX);
    if (!c) {
        report(im, 0, 1, "", "NOMEM", "out of memory", 0);
        return -1;
    }
    e = csv_next(c, &f, &nf, &line);
    if (e == CSV_NOMEM || (e == CSV_OK && push_fields(im, f, nf) != 0)) {
        report(im, 0, 1, "", "NOMEM", "out of memory", 0);
        goto out;
    }
    if (e != CSV_OK || csv_blank(f, nf)) {
        report(im, 0, 1, "", "BAD_HEADER",
               e == CSV_END || e == CSV_OK ? "no header row (form,unit,subscriber.full_name,...)" : csv_why(c), 0);
        goto out;
    }
    im->ncols = nf;
    if (check_header(im, im->cells, nf, 1) != 0)
        goto out;
    im->ncells = 0; /* the header's cells are no longer needed */
    for (;;) {
        struct rec *r;

        e = csv_next(c, &f, &nf, &line);
        if (e == CSV_END)
            break;
        if (e == CSV_NOMEM) {
            report(im, 0, line, "", "NOMEM", "out of memory", 0);
            goto out;
        }
        if (e == CSV_OK && csv_blank(f, nf))
            continue; /* a blank line, or a row of empty cells */
        r = push_rec(im, line);
        if (!r || (e == CSV_OK && nf == im->ncols && push_fields(im, f, nf) != 0)) {
            report(im, 0, line, "", "NOMEM", "out of memory", 0);
            goto out;
        }
        if (e == CSV_OK && nf == im->ncols)
            continue;
        r->bad = 1;
        im->bad++;
        if (e == CSV_OK) {
            snprintf(msg, sizeof(msg), "%zu fields, the header has %zu", nf, im->ncols);
            report(im, 0, line, "", "MALFORMED_LINE", msg, 0);
        } else if (e == CSV_BAD) {
            report(im, 0, line, "", "MALFORMED_LINE", csv_why(c), 0);
        } else {
            /* What follows an unclosed quote is most likely the rest of that cell, not rows. */
            report(im, 0, line, "", "UNTERMINATED_QUOTE",
                   "a quoted field is never closed (the rest of the file is part of it)", 0);
            break;
        }
    }
    ret = 0;
out:
    csv_free(c);
    return ret;
}

static void report_list(struct gw_enrol_import *im, size_t row, size_t line, const json_t *list, int warning)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e)
    {
        report(im, row, line, json_string_value(json_object_get(e, "field")),
               json_string_value(json_object_get(e, "error")), json_string_value(json_object_get(e, "message")),
               warning);
    }
}

int gw_enrol_import_row(struct gw_enrol_import *im, size_t i, json_t **request, json_t **warnings)
{
    struct rec *r;
    json_t *req = NULL, *errors = NULL, *warns = NULL;
    char why[256];
    int bad = 0, ret = -1;
    enum gw_enrol_verdict v;

    *request = NULL;
    *warnings = NULL;
    if (i >= im->nrecs || im->recs[i].bad)
        return -1;
    r = &im->recs[i];
    req = json_object();
    errors = json_array();
    warns = json_array();
    if (!req || !errors || !warns)
        goto nomem;
    for (size_t c = 0; c < im->ncols; c++) {
        const struct col *col = &im->cols[c];
        const char *cell = im->cells[r->cell + c];
        size_t n = strlen(cell);
        json_t *s;

        if (n == 0)
            continue;
        if (n > CELL_MAX) {
            report(im, i + 1, r->line, col->name, "TOO_LONG", "longer than 2048 bytes", 0);
            bad = 1;
            continue;
        }
        s = json_stringn(cell, n);
        if (!s) {
            report(im, i + 1, r->line, col->name, "INVALID_FIELD", "not UTF-8 text", 0);
            bad = 1;
            continue;
        }
        if (col->is_form && im->default_form && strcmp(cell, im->default_form) != 0) {
            json_decref(s);
            report(im, i + 1, r->line, "form", "FORM_MISMATCH", "another form than the one given with --form", 0);
            bad = 1;
            continue;
        }
        if (put_path(req, col, s) != 0)
            goto nomem;
    }
    if (bad)
        goto invalid;
    drop_padding(req);
    if (im->default_form && !json_object_get(req, "form") &&
        json_object_set_new(req, "form", json_string(im->default_form)) != 0)
        goto nomem;
    v = gw_enrol_validate(req, &im->today, errors, warns, why, sizeof(why));
    if (v == GW_ENROL_UNKNOWN_FORM) {
        report(im, i + 1, r->line, "form", "UNKNOWN_FORM", why, 0);
        goto invalid;
    }
    report_list(im, i + 1, r->line, errors, 0);
    report_list(im, i + 1, r->line, warns, 1);
    if (v != GW_ENROL_VALID)
        goto invalid;
    *request = req;
    *warnings = warns;
    req = warns = NULL;
    ret = 0;
    goto out;
nomem:
    report(im, i + 1, r->line, "", "NOMEM", "out of memory", 0);
invalid:
    r->bad = 1;
    im->bad++;
out:
    json_decref(req);
    json_decref(errors);
    json_decref(warns);
    return ret;
}
