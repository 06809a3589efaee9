/*
 * gw_forms.c - printable forms and CA exports (see gw_forms.h).
 *
 * A request is checked against a small per-form table of fields first;
 * the renderers then read it without checking again.  Output goes through
 * one growable buffer whose out-of-memory state is sticky and looked at
 * once at the end.
 *
 * The renderers of the printed forms are in gw_forms_html.c; what the two
 * share is in gw_forms_priv.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_forms.h"
#include "gw_forms_priv.h"

/* --- output buffer */

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void gw_fm_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void gw_fm_printf(struct buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = 1; /* only static texts and numbers are formatted: cannot happen */
        return;
    }
    buf_add(b, tmp, (size_t)n);
}

/* Hand b's contents to the caller, or free them. */
enum gw_form_err gw_fm_finish(struct buf *b, char **out, size_t *outlen, char *err, size_t errlen)
{
    if (b->oom || !b->p) {
        free(b->p);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return GW_FORM_ERR_NOMEM;
    }
    *out = b->p;
    if (outlen)
        *outlen = b->len;
    return GW_FORM_OK;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    size_t n;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        n = 2;
        cp = s[0] & 0x1F;
        min = 0x80;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        n = 3;
        cp = s[0] & 0x0F;
        min = 0x800;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        n = 4;
        cp = s[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

#define REPLACEMENT "\xEF\xBF\xBD"

/* HTML-escape into b; with nl2br a line feed becomes <br>. */
void gw_fm_esc(struct buf *b, const char *s, size_t len, int nl2br)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        /* Copy the longest run that needs nothing done. */
        while (run < len && u[run] >= 0x20 && u[run] < 0x7F && u[run] != '&' && u[run] != '<' && u[run] != '>' &&
               u[run] != '"' && u[run] != '\'')
            run++;
        buf_add(b, s + i, run - i);
        i = run;
        if (i >= len)
            break;
        unsigned char c = u[i];
        switch (c) {
        case '&': gw_fm_puts(b, "&amp;"); break;
        case '<': gw_fm_puts(b, "&lt;"); break;
        case '>': gw_fm_puts(b, "&gt;"); break;
        case '"': gw_fm_puts(b, "&quot;"); break;
        case '\'': gw_fm_puts(b, "&#39;"); break;
        case '\t':
        case '\r': buf_add(b, s + i, 1); break;
        case '\n': gw_fm_puts(b, nl2br ? "<br>\n" : "\n"); break;
        default:
            if (c < 0x20 || c == 0x7F) {
                gw_fm_puts(b, REPLACEMENT);
            } else {
                size_t n = utf8_seq(u + i, len - i);
                if (n == 0) {
                    gw_fm_puts(b, REPLACEMENT);
                } else {
                    buf_add(b, s + i, n);
                    i += n - 1;
                }
            }
        }
        i++;
    }
}

/*
 * A spreadsheet runs a cell that starts with = + - @ (or TAB / CR before
 * one) as a formula: a request filed with "=HYPERLINK(...)" as a name would
 * run on the CA officer's machine when the export is opened.  Such a cell
 * gets a leading apostrophe, the OWASP rule every spreadsheet honours, and
 * is quoted so the apostrophe stays with it.
 */
static int csv_formula(const char *s, size_t len)
{
    return len > 0 && strchr("=+-@\t\r", s[0]) != NULL;
}

static void buf_csv(struct buf *b, const char *s, size_t len)
{
    int quote = 0, formula = csv_formula(s, len);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            quote = 1;
    }
    if (!quote && !formula) {
        buf_add(b, s, len);
        return;
    }
    buf_add(b, "\"", 1);
    if (formula)
        buf_add(b, "'", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"')
            buf_add(b, "\"\"", 2);
        else
            buf_add(b, s + i, 1);
    }
    buf_add(b, "\"", 1);
}

char *gw_form_escape_html(const char *s, size_t len)
{
    struct buf b = {0};
    buf_add(&b, "", 0);
    gw_fm_esc(&b, s, len, 0);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *gw_form_csv_field(const char *s, size_t len)
{
    struct buf b = {0};
    buf_add(&b, "", 0);
    buf_csv(&b, s, len);
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

const char *gw_form_strerror(enum gw_form_err err)
{
    switch (err) {
    case GW_FORM_OK: return "ok";
    case GW_FORM_ERR_NOMEM: return "out of memory";
    case GW_FORM_ERR_MALFORMED: return "malformed request";
    case GW_FORM_ERR_UNKNOWN_FORM: return "unknown form";
    case GW_FORM_ERR_MISSING_FIELD: return "missing field";
    case GW_FORM_ERR_UNKNOWN_FIELD: return "unknown field";
    }
    return "unknown error";
}

/* --- the request's fields */

enum ftype { F_STR, F_DATE, F_SIM, F_ACTION, F_OBJ, F_ARR };

struct field {
    const char *key;
    enum ftype type;
    const struct field *sub; /* F_OBJ: its fields; F_ARR: the fields of each element */
};

static const struct field person_fields[] = {
    {"full_name", F_STR, NULL},
    {"birth_date", F_DATE, NULL},
    {"id_number", F_STR, NULL},
    {"id_issued_date", F_DATE, NULL},
    {"id_issued_place", F_STR, NULL},
    {"position", F_STR, NULL},
    {"organisation", F_STR, NULL},
    {"province", F_STR, NULL},
    {"email", F_STR, NULL},
    {"phone", F_STR, NULL},
    {NULL, F_STR, NULL},
};
static const struct field org_fields[] = {
    {"name", F_STR, NULL},  {"code", F_STR, NULL},  {"address", F_STR, NULL}, {"province", F_STR, NULL},
    {"email", F_STR, NULL}, {"phone", F_STR, NULL}, {NULL, F_STR, NULL},
};
static const struct field cert_fields[] = {
    {"serial", F_STR, NULL}, {"subject", F_STR, NULL}, {"valid_to", F_DATE, NULL}, {NULL, F_STR, NULL}};
static const struct field change_fields[] = {
    {"field", F_STR, NULL}, {"old", F_STR, NULL}, {"new", F_STR, NULL}, {NULL, F_STR, NULL}};
static const struct field party_fields[] = {
    {"full_name", F_STR, NULL}, {"position", F_STR, NULL}, {"unit", F_STR, NULL}, {NULL, F_STR, NULL}};
static const struct field device_fields[] = {{"cert_name", F_STR, NULL},
                                             {"organisation", F_STR, NULL},
                                             {"serial", F_STR, NULL},
                                             {"note", F_STR, NULL},
                                             {NULL, F_STR, NULL}};

/* clang-format off */
#define COMMON_FIELDS                                                                                  \
    {"form", F_STR, NULL}, {"id", F_STR, NULL}, {"parent_unit", F_STR, NULL}, {"unit", F_STR, NULL},   \
    {"doc_no", F_STR, NULL}, {"addressee", F_STR, NULL}, {"place", F_STR, NULL}, {"date", F_DATE, NULL}, \
    {"head_name", F_STR, NULL}
/* clang-format on */

static const struct field person_new_req[] = {
    COMMON_FIELDS, {"subscriber", F_OBJ, person_fields}, {"sim_pki", F_SIM, NULL}, {NULL, F_STR, NULL}};
static const struct field org_new_req[] = {COMMON_FIELDS,
                                           {"organisation", F_OBJ, org_fields},
                                           {"subscriber", F_OBJ, person_fields},
                                           {"sim_pki", F_SIM, NULL},
                                           {NULL, F_STR, NULL}};
static const struct field change_req[] = {COMMON_FIELDS,
                                          {"action", F_ACTION, NULL},
                                          {"organisation", F_OBJ, org_fields},
                                          {"subscriber", F_OBJ, person_fields},
                                          {"sim_pki", F_SIM, NULL},
                                          {"certificate", F_OBJ, cert_fields},
                                          {"changes", F_ARR, change_fields},
                                          {"reason", F_STR, NULL},
                                          {NULL, F_STR, NULL}};
static const struct field revoke_req[] = {COMMON_FIELDS,
                                          {"organisation", F_OBJ, org_fields},
                                          {"subscriber", F_OBJ, person_fields},
                                          {"sim_pki", F_SIM, NULL},
                                          {"certificate", F_OBJ, cert_fields},
                                          {"reason", F_STR, NULL},
                                          {NULL, F_STR, NULL}};
static const struct field handover_req[] = {COMMON_FIELDS,
                                            {"giver", F_OBJ, party_fields},
                                            {"receiver", F_OBJ, party_fields},
                                            {"devices", F_ARR, device_fields},
                                            {NULL, F_STR, NULL}};

/*
 * Required paths.  "a|b": a when a's object is in the request, else b: a
 * change or revocation of an organisation's certificate names the
 * organisation, and then the key keeper's name is not required.
 */
static const char *const person_new_required[] = {"unit", "subscriber.full_name", NULL};
static const char *const org_new_required[] = {"unit", "organisation.name", NULL};
static const char *const change_required[] = {"unit", "action", "organisation.name|subscriber.full_name", NULL};
static const char *const revoke_required[] = {"unit", "organisation.name|subscriber.full_name", "reason", NULL};
static const char *const handover_required[] = {"unit", "devices", NULL};

static const struct form_def forms[] = {
    {{GW_FORM_PERSON_NEW, "person_new", "01", "01/2024", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN"},
     person_new_req,
     person_new_required,
     gw_fm_render_person_new},
    {{GW_FORM_ORG_NEW, "org_new", "03", "02/2024", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CƠ QUAN, TỔ CHỨC"},
     org_new_req,
     org_new_required,
     gw_fm_render_org_new},
    {{GW_FORM_CHANGE, "change", "07", "04/2024", "ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ"},
     change_req,
     change_required,
     gw_fm_render_change},
    {{GW_FORM_REVOKE, "revoke", "09", "05/2024", "ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ"},
     revoke_req,
     revoke_required,
     gw_fm_render_revoke},
    {{GW_FORM_HANDOVER, "handover", "14", "07/2024", "BIÊN BẢN BÀN GIAO THIẾT BỊ LƯU KHÓA BÍ MẬT"},
     handover_req,
     handover_required,
     gw_fm_render_handover},
};

const struct gw_form_info *gw_form_lookup(const char *name)
{
    for (size_t i = 0; name && i < sizeof forms / sizeof forms[0]; i++) {
        if (strcmp(forms[i].info.name, name) == 0)
            return &forms[i].info;
    }
    return NULL;
}

static const char *const carriers[] = {"Viettel", "Vinaphone", "Mobifone"};

/* "viettel/CS" -> carrier "Viettel", keep 1.  0 on success, -1 when not a carrier. */
int gw_fm_sim_parse(const char *s, const char **carrier, int *keep)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (slash && strcasecmp(slash + 1, "cs") != 0)
        return -1;
    for (size_t i = 0; i < sizeof carriers / sizeof carriers[0]; i++) {
        if (strlen(carriers[i]) == n && strncasecmp(carriers[i], s, n) == 0) {
            *carrier = carriers[i];
            *keep = slash != NULL;
            return 0;
        }
    }
    return -1;
}

/* "YYYY-MM-DD" naming a real day of 1900..2199 -> 0, else -1. */
int gw_fm_date_parse(const char *s, int *y, int *m, int *d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return -1;
    }
    *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    *m = (s[5] - '0') * 10 + (s[6] - '0');
    *d = (s[8] - '0') * 10 + (s[9] - '0');
    if (*y < 1900 || *y > 2199 || *m < 1 || *m > 12 || *d < 1)
        return -1;
    int leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    int max = mdays[*m - 1] + (*m == 2 && leap);
    return *d <= max ? 0 : -1;
}

static enum gw_form_err verr(struct vctx *v, enum gw_form_err rc, const char *key, const char *msg)
{
    if (v->err && v->errlen)
        snprintf(v->err, v->errlen, "%s%s%s: %s", v->path, v->path[0] && key[0] != '[' ? "." : "", key, msg);
    return rc;
}

static enum gw_form_err check_obj(struct vctx *v, const json_t *obj, const struct field *fields);

static enum gw_form_err check_value(struct vctx *v, const char *key, const json_t *val, const struct field *f)
{
    if (json_is_null(val))
        return GW_FORM_OK;
    if (f->type == F_OBJ || f->type == F_ARR) {
        size_t mark = strlen(v->path);
        enum gw_form_err rc = GW_FORM_OK;
        if (f->type == F_OBJ && !json_is_object(val))
            return verr(v, GW_FORM_ERR_MALFORMED, key, "not an object");
        if (f->type == F_ARR && !json_is_array(val))
            return verr(v, GW_FORM_ERR_MALFORMED, key, "not an array");
        snprintf(v->path + mark, sizeof v->path - mark, "%s%s", mark ? "." : "", key);
        if (f->type == F_OBJ) {
            rc = check_obj(v, val, f->sub);
        } else {
            size_t i;
            const json_t *el;
            size_t mark2 = strlen(v->path);
            json_array_foreach(val, i, el)
            {
                char idx[24];
                snprintf(idx, sizeof idx, "[%zu]", i);
                if (!json_is_object(el)) {
                    rc = verr(v, GW_FORM_ERR_MALFORMED, idx, "not an object");
                    break;
                }
                snprintf(v->path + mark2, sizeof v->path - mark2, "[%zu]", i);
                rc = check_obj(v, el, f->sub);
                v->path[mark2] = '\0';
                if (rc != GW_FORM_OK)
                    break;
            }
        }
        v->path[mark] = '\0';
        return rc;
    }
    if (!json_is_string(val))
        return verr(v, GW_FORM_ERR_MALFORMED, key, "not a string");
    const char *s = json_string_value(val);
    if (strlen(s) != json_string_length(val))
        return verr(v, GW_FORM_ERR_MALFORMED, key, "holds a NUL character");
    if (s[0] == '\0')
        return GW_FORM_OK;
    int y, m, d, keep;
    const char *carrier;
    if (f->type == F_DATE && gw_fm_date_parse(s, &y, &m, &d) != 0)
        return verr(v, GW_FORM_ERR_MALFORMED, key, "not a date YYYY-MM-DD");
    if (f->type == F_SIM && gw_fm_sim_parse(s, &carrier, &keep) != 0)
        return verr(v, GW_FORM_ERR_MALFORMED, key, "not Viettel, Vinaphone or Mobifone, with an optional /cs");
    if (f->type == F_ACTION && strcmp(s, "renew") != 0 && strcmp(s, "change") != 0)
        return verr(v, GW_FORM_ERR_MALFORMED, key, "not \"renew\" or \"change\"");
    return GW_FORM_OK;
}

static enum gw_form_err check_obj(struct vctx *v, const json_t *obj, const struct field *fields)
{
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        const struct field *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        if (!f->key)
            return verr(v, GW_FORM_ERR_UNKNOWN_FIELD, key, "not a field of this form");
        enum gw_form_err rc = check_value(v, key, val, f);
        if (rc != GW_FORM_OK)
            return rc;
    }
    return GW_FORM_OK;
}

/* The value at a path of at most two keys ("subscriber.full_name"). */
static const json_t *at(const json_t *obj, const char *path)
{
    const char *dot = strchr(path, '.');
    if (!dot)
        return json_object_get(obj, path);
    char head[32];
    size_t n = (size_t)(dot - path);
    if (n >= sizeof head)
        return NULL;
    memcpy(head, path, n);
    head[n] = '\0';
    const json_t *sub = json_object_get(obj, head);
    return json_is_object(sub) ? json_object_get(sub, dot + 1) : NULL;
}

/* A checked string field, or NULL when absent, null or empty. */
const char *gw_fm_str(const json_t *obj, const char *path)
{
    const char *s = json_string_value(at(obj, path));
    return s && s[0] ? s : NULL;
}

enum gw_form_err gw_fm_validate(const json_t *req, const struct form_def **def, struct vctx *v)
{
    if (!json_is_object(req))
        return verr(v, GW_FORM_ERR_MALFORMED, "request", "not an object");
    const json_t *jform = json_object_get(req, "form");
    if (!jform)
        return verr(v, GW_FORM_ERR_UNKNOWN_FORM, "form", "required");
    const struct gw_form_info *info = gw_form_lookup(json_string_value(jform));
    if (!info)
        return verr(v, GW_FORM_ERR_UNKNOWN_FORM, "form", "not person_new, org_new, change, revoke or handover");
    *def = &forms[info->kind];
    enum gw_form_err rc = check_obj(v, req, (*def)->fields);
    if (rc != GW_FORM_OK)
        return rc;
    for (const char *const *r = (*def)->required; *r; r++) {
        char path[64];
        const char *bar = strchr(*r, '|');
        snprintf(path, sizeof path, "%s", *r);
        if (bar) {                            /* "a|b": a when a's object is given (not null), else b */
            path[strcspn(path, ".|")] = '\0'; /* a's object */
            if (json_is_object(json_object_get(req, path)))
                snprintf(path, sizeof path, "%.*s", (int)(bar - *r), *r);
            else
                snprintf(path, sizeof path, "%s", bar + 1);
        }
        const json_t *val = at(req, path);
        if (json_is_array(val) ? json_array_size(val) == 0 : !gw_fm_str(req, path))
            return verr(v, GW_FORM_ERR_MISSING_FIELD, path, "required");
    }
    return GW_FORM_OK;
}

enum gw_form_err gw_form_validate(const json_t *req, char *err, size_t errlen)
{
    struct vctx v = {err, errlen, ""};
    const struct form_def *def;
    return gw_fm_validate(req, &def, &v);
}

/* --- exports */

/* Validate every element of requests, naming the failing one "[i]". */
static enum gw_form_err validate_list(const json_t *requests, char *err, size_t errlen)
{
    struct vctx v = {err, errlen, ""};
    const struct form_def *def;
    const json_t *req;
    size_t i;
    if (!json_is_array(requests))
        return verr(&v, GW_FORM_ERR_MALFORMED, "requests", "not an array");
    json_array_foreach(requests, i, req)
    {
        snprintf(v.path, sizeof v.path, "[%zu]", i);
        enum gw_form_err rc = gw_fm_validate(req, &def, &v);
        if (rc != GW_FORM_OK)
            return rc;
    }
    return GW_FORM_OK;
}

static void csv_cell(struct buf *b, const char *s, int first)
{
    if (!first)
        buf_add(b, ",", 1);
    if (s)
        buf_csv(b, s, strlen(s));
}

enum gw_form_err gw_form_export_csv(const json_t *requests, unsigned flags, char **out, size_t *outlen, char *err,
                                    size_t errlen)
{
    static const char header[] = "id,form,form_no,form_no_2024,unit,place,date,full_name,birth_date,id_number,"
                                 "position,organisation,email,phone,sim_pki,carrier,keep_number,org_name,org_code,"
                                 "action,cert_serial,reason,devices\r\n";
    static const char *const person_cols[] = {"subscriber.full_name", "subscriber.birth_date",   "subscriber.id_number",
                                              "subscriber.position",  "subscriber.organisation", "subscriber.email",
                                              "subscriber.phone"};
    struct buf b = {0};
    const json_t *req;
    size_t i;
    enum gw_form_err rc;

    *out = NULL;
    if ((rc = validate_list(requests, err, errlen)) != GW_FORM_OK)
        goto out;
    if (flags & GW_FORM_CSV_BOM)
        gw_fm_puts(&b, "\xEF\xBB\xBF");
    gw_fm_puts(&b, header);
    json_array_foreach(requests, i, req)
    {
        const struct gw_form_info *info = gw_form_lookup(gw_fm_str(req, "form"));
        const char *sim = gw_fm_str(req, "sim_pki");
        const char *carrier = NULL;
        int keep = 0;
        if (sim && gw_fm_sim_parse(sim, &carrier, &keep) != 0)
            carrier = NULL;
        csv_cell(&b, gw_fm_str(req, "id"), 1);
        csv_cell(&b, info->name, 0);
        csv_cell(&b, info->no, 0);
        csv_cell(&b, info->no_2024, 0);
        csv_cell(&b, gw_fm_str(req, "unit"), 0);
        csv_cell(&b, gw_fm_str(req, "place"), 0);
        csv_cell(&b, gw_fm_str(req, "date"), 0);
        for (size_t k = 0; k < sizeof person_cols / sizeof person_cols[0]; k++)
            csv_cell(&b, gw_fm_str(req, person_cols[k]), 0);
        char simbuf[32] = "";
        if (carrier)
            snprintf(simbuf, sizeof simbuf, "%s%s", carrier, keep ? "/cs" : "");
        csv_cell(&b, carrier ? simbuf : NULL, 0);
        csv_cell(&b, carrier, 0);
        csv_cell(&b, carrier ? (keep ? "1" : "0") : NULL, 0);
        csv_cell(&b, gw_fm_str(req, "organisation.name"), 0);
        csv_cell(&b, gw_fm_str(req, "organisation.code"), 0);
        csv_cell(&b, gw_fm_str(req, "action"), 0);
        csv_cell(&b, gw_fm_str(req, "certificate.serial"), 0);
        csv_cell(&b, gw_fm_str(req, "reason"), 0);

        /* Devices: "serial (cert_name)" joined by "; ", then quoted as one field. */
        struct buf d = {0};
        const json_t *dev;
        size_t k;
        buf_add(&d, "", 0);
        json_array_foreach(json_object_get(req, "devices"), k, dev)
        {
            if (k)
                gw_fm_puts(&d, "; ");
            gw_fm_puts(&d, gw_fm_str(dev, "serial") ? gw_fm_str(dev, "serial") : "");
            if (gw_fm_str(dev, "cert_name")) {
                gw_fm_puts(&d, " (");
                gw_fm_puts(&d, gw_fm_str(dev, "cert_name"));
                gw_fm_puts(&d, ")");
            }
        }
        if (d.oom)
            b.oom = 1;
        csv_cell(&b, d.p && d.p[0] ? d.p : NULL, 0);
        free(d.p);
        gw_fm_puts(&b, "\r\n");
    }
    rc = gw_fm_finish(&b, out, outlen, err, errlen);
out:
    return rc;
}

enum gw_form_err gw_form_export_json(const json_t *requests, char **out, size_t *outlen, char *err, size_t errlen)
{
    json_t *root = NULL;
    json_t *list = NULL;
    const json_t *req;
    size_t i;
    enum gw_form_err rc;

    *out = NULL;
    if ((rc = validate_list(requests, err, errlen)) != GW_FORM_OK)
        goto out;
    rc = GW_FORM_ERR_NOMEM;
    list = json_array();
    if (!list)
        goto nomem;
    json_array_foreach(requests, i, req)
    {
        const struct gw_form_info *info = gw_form_lookup(gw_fm_str(req, "form"));
        const char *sim = gw_fm_str(req, "sim_pki");
        const char *carrier;
        int keep;
        json_t *copy = json_deep_copy(req);
        if (!copy || json_array_append_new(list, copy) != 0)
            goto nomem;
        if (json_object_set_new(copy, "form_no", json_string(info->no)) != 0 ||
            json_object_set_new(copy, "form_no_2024", json_string(info->no_2024)) != 0 ||
            json_object_set_new(copy, "title", json_string(info->title)) != 0)
            goto nomem;
        if (sim && gw_fm_sim_parse(sim, &carrier, &keep) == 0) {
            if (json_object_set_new(copy, "sim_pki", json_sprintf("%s%s", carrier, keep ? "/cs" : "")) != 0 ||
                json_object_set_new(copy, "carrier", json_string(carrier)) != 0 ||
                json_object_set_new(copy, "keep_number", json_boolean(keep)) != 0)
                goto nomem;
        }
    }
    root = json_pack("{s:s, s:O}", "format", "simpki-forms/1", "requests", list);
    if (!root)
        goto nomem;
    *out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!*out)
        goto nomem;
    if (outlen)
        *outlen = strlen(*out);
    rc = GW_FORM_OK;
    goto out;
nomem:
    if (err && errlen)
        snprintf(err, errlen, "out of memory");
out:
    json_decref(list);
    json_decref(root);
    return rc;
}
