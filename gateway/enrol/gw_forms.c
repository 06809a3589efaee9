/*
 * gw_forms.c - printable forms and CA exports (see gw_forms.h).
 *
 * A request is checked against a small per-form table of fields first;
 * the renderers then read it without checking again.  Output goes through
 * one growable buffer whose out-of-memory state is sticky and looked at
 * once at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw_forms.h"

/* --- output buffer */

struct buf {
    char *p;
    size_t len, cap;
    int oom;
};

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

static void buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
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
static void buf_esc(struct buf *b, const char *s, size_t len, int nl2br)
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
        case '&': buf_puts(b, "&amp;"); break;
        case '<': buf_puts(b, "&lt;"); break;
        case '>': buf_puts(b, "&gt;"); break;
        case '"': buf_puts(b, "&quot;"); break;
        case '\'': buf_puts(b, "&#39;"); break;
        case '\t':
        case '\r': buf_add(b, s + i, 1); break;
        case '\n': buf_puts(b, nl2br ? "<br>\n" : "\n"); break;
        default:
            if (c < 0x20 || c == 0x7F) {
                buf_puts(b, REPLACEMENT);
            } else {
                size_t n = utf8_seq(u + i, len - i);
                if (n == 0) {
                    buf_puts(b, REPLACEMENT);
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
    buf_esc(&b, s, len, 0);
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
                                          {"subscriber", F_OBJ, person_fields},
                                          {"sim_pki", F_SIM, NULL},
                                          {"certificate", F_OBJ, cert_fields},
                                          {"changes", F_ARR, change_fields},
                                          {"reason", F_STR, NULL},
                                          {NULL, F_STR, NULL}};
static const struct field revoke_req[] = {COMMON_FIELDS,
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

static const char *const person_new_required[] = {"unit", "subscriber.full_name", NULL};
static const char *const org_new_required[] = {"unit", "organisation.name", NULL};
static const char *const change_required[] = {"unit", "action", "subscriber.full_name", NULL};
static const char *const revoke_required[] = {"unit", "subscriber.full_name", "reason", NULL};
static const char *const handover_required[] = {"unit", "devices", NULL};

struct form_def;
typedef void render_fn(struct buf *b, const json_t *req, const struct form_def *def);

struct form_def {
    struct gw_form_info info;
    const struct field *fields;
    const char *const *required;
    render_fn *render;
};

static render_fn render_person_new, render_org_new, render_change, render_revoke, render_handover;

static const struct form_def forms[] = {
    {{GW_FORM_PERSON_NEW, "person_new", "01", "01/2024", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN"},
     person_new_req,
     person_new_required,
     render_person_new},
    {{GW_FORM_ORG_NEW, "org_new", "03", "02/2024", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CƠ QUAN, TỔ CHỨC"},
     org_new_req,
     org_new_required,
     render_org_new},
    {{GW_FORM_CHANGE, "change", "07", "04/2024", "ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ"},
     change_req,
     change_required,
     render_change},
    {{GW_FORM_REVOKE, "revoke", "09", "05/2024", "ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ"},
     revoke_req,
     revoke_required,
     render_revoke},
    {{GW_FORM_HANDOVER, "handover", "14", "07/2024", "BIÊN BẢN BÀN GIAO THIẾT BỊ LƯU KHÓA BÍ MẬT"},
     handover_req,
     handover_required,
     render_handover},
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
static int sim_parse(const char *s, const char **carrier, int *keep)
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
static int date_parse(const char *s, int *y, int *m, int *d)
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

struct vctx {
    char *err;
    size_t errlen;
    char path[128];
};

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
    if (f->type == F_DATE && date_parse(s, &y, &m, &d) != 0)
        return verr(v, GW_FORM_ERR_MALFORMED, key, "not a date YYYY-MM-DD");
    if (f->type == F_SIM && sim_parse(s, &carrier, &keep) != 0)
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
static const char *str(const json_t *obj, const char *path)
{
    const char *s = json_string_value(at(obj, path));
    return s && s[0] ? s : NULL;
}

static enum gw_form_err validate(const json_t *req, const struct form_def **def, struct vctx *v)
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
        const json_t *val = at(req, *r);
        if (json_is_array(val) ? json_array_size(val) == 0 : !str(req, *r))
            return verr(v, GW_FORM_ERR_MISSING_FIELD, *r, "required");
    }
    return GW_FORM_OK;
}

enum gw_form_err gw_form_validate(const json_t *req, char *err, size_t errlen)
{
    struct vctx v = {err, errlen, ""};
    const struct form_def *def;
    return validate(req, &def, &v);
}

/* --- HTML */

static const char css[] =
    "@page { size: A4; margin: 20mm; }\n"
    "html { background: #fff; }\n"
    "body { margin: 0; color: #000; font-family: \"Times New Roman\", Times, \"Liberation Serif\", Tinos,"
    " \"DejaVu Serif\", serif; font-size: 13pt; line-height: 1.3; }\n"
    "@media screen { body { width: 210mm; min-height: 297mm; padding: 20mm; box-sizing: border-box;"
    " margin: 0 auto; } }\n"
    ".formno { text-align: right; font-weight: bold; font-size: 12pt; margin: 0 0 6pt; }\n"
    "table { border-collapse: collapse; width: 100%; }\n"
    ".hdr td { vertical-align: top; text-align: center; padding: 0; font-size: 12.5pt; }\n"
    ".hdr td.left { width: 42%; }\n"
    ".upper { text-transform: uppercase; }\n"
    ".b { font-weight: bold; }\n"
    ".rule { width: 40%; margin: 2pt auto 4pt; border-top: 1px solid #000; }\n"
    ".rule.wide { width: 62%; }\n"
    "h1 { font-size: 14pt; text-align: center; margin: 16pt 0 4pt; }\n"
    ".to { text-align: center; margin: 0 0 10pt; }\n"
    "p { margin: 6pt 0; text-align: justify; }\n"
    ".fields th, .fields td, .list th, .list td { border: 1px solid #000; padding: 2pt 6pt;"
    " vertical-align: top; font-size: 12pt; line-height: 1.25; }\n"
    ".fields th { width: 40%; text-align: left; font-weight: normal; }\n"
    ".fields td.sect, .list td.sect { font-weight: bold; background: #eee; }\n"
    ".list th { text-align: center; }\n"
    ".list td.n { text-align: center; width: 8%; }\n"
    ".note { font-style: italic; font-size: 11pt; }\n"
    ".blank { display: inline-block; min-width: 45mm; border-bottom: 1px dotted #000; }\n"
    ".blank.short { min-width: 10mm; }\n"
    ".sign td.date { font-style: italic; padding-bottom: 4pt; }\n"
    ".sign { margin-top: 10pt; page-break-inside: avoid; }\n"
    ".sign td { width: 50%; text-align: center; vertical-align: top; padding: 0 4pt; }\n"
    ".role { font-weight: bold; }\n"
    ".hint { font-style: italic; font-size: 11.5pt; }\n"
    ".signame { margin-top: 54pt; font-weight: bold; }\n"
    ".foot { margin-top: 12pt; font-size: 9.5pt; color: #444; }\n";

static void esc(struct buf *b, const char *s)
{
    buf_esc(b, s, strlen(s), 1);
}

/* s escaped, or a dotted blank to write on. */
static void val_or_blank(struct buf *b, const char *s, int shortblank)
{
    if (s)
        esc(b, s);
    else
        buf_puts(b, shortblank ? "<span class=\"blank short\"></span>" : "<span class=\"blank\"></span>");
}

/* "ngày 05 tháng 3 năm 2025" (Nghị định 30/2020: 0 before days < 10 and months 1, 2). */
static void date_words(struct buf *b, const char *iso)
{
    int y, m, d;
    if (!iso || date_parse(iso, &y, &m, &d) != 0) {
        buf_puts(b, "ngày <span class=\"blank short\"></span> tháng <span class=\"blank short\"></span> năm "
                    "<span class=\"blank short\"></span>");
        return;
    }
    buf_printf(b, "ngày %02d tháng %0*d năm %d", d, m <= 2 ? 2 : 1, m, y);
}

/* "14/03/2021" for a table cell. */
static void date_cell(struct buf *b, const char *iso)
{
    int y, m, d;
    if (iso && date_parse(iso, &y, &m, &d) == 0)
        buf_printf(b, "%02d/%02d/%04d", d, m, y);
}

static void row(struct buf *b, const char *label, const char *value)
{
    buf_puts(b, "<tr><th>");
    buf_puts(b, label);
    buf_puts(b, "</th><td>");
    if (value)
        esc(b, value);
    buf_puts(b, "</td></tr>\n");
}

static void row_date(struct buf *b, const char *label, const char *iso)
{
    buf_puts(b, "<tr><th>");
    buf_puts(b, label);
    buf_puts(b, "</th><td>");
    date_cell(b, iso);
    buf_puts(b, "</td></tr>\n");
}

static void row_sect(struct buf *b, const char *label)
{
    buf_puts(b, "<tr><td class=\"sect\" colspan=\"2\">");
    buf_puts(b, label);
    buf_puts(b, "</td></tr>\n");
}

static void row_sim(struct buf *b, const json_t *req)
{
    const char *s = str(req, "sim_pki");
    const char *carrier;
    int keep;
    buf_puts(b, "<tr><th>SIM PKI (nhà mạng/cs)</th><td>");
    if (s && sim_parse(s, &carrier, &keep) == 0) {
        buf_printf(b, "<b>%s%s</b>", carrier, keep ? "/cs" : "");
        buf_puts(b, keep ? " <span class=\"note\">(chuyển số thuê bao đang dùng sang SIM PKI)</span>"
                         : " <span class=\"note\">(cấp SIM PKI số mới)</span>");
    }
    buf_puts(b, "</td></tr>\n");
}

/* The ID number; its date and place of issue always on Mẫu 01, elsewhere when given. */
static void row_id(struct buf *b, const json_t *req, int full)
{
    const char *num = str(req, "subscriber.id_number");
    const char *date = str(req, "subscriber.id_issued_date");
    const char *place = str(req, "subscriber.id_issued_place");
    row(b, "Số CCCD/CMND", num);
    if (!full && !date && !place)
        return;
    buf_puts(b, "<tr><th>Ngày cấp, nơi cấp</th><td>");
    date_cell(b, date);
    if (date && place)
        buf_puts(b, ", ");
    if (place)
        esc(b, place);
    buf_puts(b, "</td></tr>\n");
}

static void person_rows(struct buf *b, const json_t *req, int full)
{
    row(b, "Họ và tên", str(req, "subscriber.full_name"));
    if (full)
        row_date(b, "Ngày sinh", str(req, "subscriber.birth_date"));
    row_id(b, req, full);
    row(b, "Chức vụ", str(req, "subscriber.position"));
    row(b, "Cơ quan, đơn vị công tác", str(req, "subscriber.organisation"));
    if (full)
        row(b, "Tỉnh, thành phố", str(req, "subscriber.province"));
    row(b, "Thư điện tử", str(req, "subscriber.email"));
    row(b, "Số điện thoại di động", str(req, "subscriber.phone"));
    row_sim(b, req);
}

static void cert_rows(struct buf *b, const json_t *req, int with_validity)
{
    row(b, "Số hiệu (serial) chứng thư số", str(req, "certificate.serial"));
    row(b, "Tên chứng thư số", str(req, "certificate.subject"));
    if (with_validity)
        row_date(b, "Có hiệu lực đến ngày", str(req, "certificate.valid_to"));
}

static void head(struct buf *b, const json_t *req, const struct form_def *def)
{
    const char *parent = str(req, "parent_unit");
    const char *doc_no = str(req, "doc_no");
    buf_puts(b, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    buf_printf(b, "Mẫu %s (Mẫu %s) - %s", def->info.no, def->info.no_2024, def->info.title);
    buf_puts(b, "</title>\n<style>\n");
    buf_puts(b, css);
    buf_puts(b, "</style>\n</head>\n<body>\n");
    buf_printf(b, "<div class=\"formno\">Mẫu %s (Mẫu %s)</div>\n", def->info.no, def->info.no_2024);
    buf_puts(b, "<table class=\"hdr\"><tr>\n<td class=\"left\">");
    if (parent) {
        buf_puts(b, "<div class=\"upper\">");
        esc(b, parent);
        buf_puts(b, "</div>");
    }
    buf_puts(b, "<div class=\"upper b\">");
    esc(b, str(req, "unit"));
    buf_puts(b, "</div><div class=\"rule\"></div>");
    buf_puts(b, "<div>Số: ");
    val_or_blank(b, doc_no, 0);
    buf_puts(b, "</div></td>\n<td><div class=\"b\">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</div>"
                "<div class=\"b\">Độc lập - Tự do - Hạnh phúc</div><div class=\"rule wide\"></div></td>\n"
                "</tr></table>\n");
    buf_printf(b, "<h1>%s</h1>\n", def->info.title);
}

static void addressee(struct buf *b, const json_t *req)
{
    const char *to = str(req, "addressee");
    buf_puts(b, "<div class=\"to\">Kính gửi: ");
    esc(b, to ? to : "Cục Chứng thực số và Bảo mật thông tin - Ban Cơ yếu Chính phủ");
    buf_puts(b, "</div>\n");
}

static void date_line(struct buf *b, const json_t *req)
{
    buf_puts(b, "<td class=\"date\">");
    val_or_blank(b, str(req, "place"), 1);
    buf_puts(b, ", ");
    date_words(b, str(req, "date"));
    buf_puts(b, "</td>");
}

static void sign_cell(struct buf *b, const char *role, const char *hint, const char *name)
{
    buf_printf(b, "<td><div class=\"role\">%s</div><div class=\"hint\">%s</div><div class=\"signame\">", role, hint);
    if (name)
        esc(b, name);
    buf_puts(b, "</div></td>\n");
}

static void signatures(struct buf *b, const json_t *req, const char *left_name)
{
    buf_puts(b, "<table class=\"sign\"><tr><td></td>");
    date_line(b, req);
    buf_puts(b, "</tr><tr>\n");
    sign_cell(b, "NGƯỜI ĐỀ NGHỊ", "(Ký, ghi rõ họ tên)", left_name);
    sign_cell(b, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)", str(req, "head_name"));
    buf_puts(b, "</tr></table>\n");
}

static void foot(struct buf *b, const json_t *req)
{
    const char *id = str(req, "id");
    if (id) {
        buf_puts(b, "<div class=\"foot\">Mã hồ sơ: ");
        esc(b, id);
        buf_puts(b, "</div>\n");
    }
    buf_puts(b, "</body>\n</html>\n");
}

static const char pledge[] = "<p>Chúng tôi cam kết các thông tin trên là đúng sự thật và chịu trách nhiệm quản lý, "
                             "sử dụng chứng thư số, SIM PKI theo đúng quy định.</p>\n";

static void render_person_new(struct buf *b, const json_t *req, const struct form_def *def)
{
    head(b, req, def);
    addressee(b, req);
    buf_puts(b, "<p>Cơ quan, đơn vị đề nghị cấp chứng thư số chuyên dùng Chính phủ lưu trên SIM PKI cho cá nhân "
                "có thông tin sau:</p>\n<table class=\"fields\">\n");
    person_rows(b, req, 1);
    buf_puts(b, "</table>\n");
    buf_puts(b, pledge);
    signatures(b, req, str(req, "subscriber.full_name"));
    foot(b, req);
}

static void render_org_new(struct buf *b, const json_t *req, const struct form_def *def)
{
    head(b, req, def);
    addressee(b, req);
    buf_puts(b, "<p>Cơ quan, đơn vị đề nghị cấp chứng thư số chuyên dùng Chính phủ lưu trên SIM PKI cho cơ quan, "
                "tổ chức có thông tin sau:</p>\n<table class=\"fields\">\n");
    row_sect(b, "I. Thông tin cơ quan, tổ chức");
    row(b, "Tên cơ quan, tổ chức", str(req, "organisation.name"));
    row(b, "Mã định danh", str(req, "organisation.code"));
    row(b, "Địa chỉ", str(req, "organisation.address"));
    row(b, "Tỉnh, thành phố", str(req, "organisation.province"));
    row(b, "Thư điện tử", str(req, "organisation.email"));
    row(b, "Số điện thoại", str(req, "organisation.phone"));
    row_sect(b, "II. Người quản lý chứng thư số");
    person_rows(b, req, 0);
    buf_puts(b, "</table>\n");
    buf_puts(b, pledge);
    signatures(b, req, str(req, "subscriber.full_name"));
    foot(b, req);
}

static void render_change(struct buf *b, const json_t *req, const struct form_def *def)
{
    int renew = strcmp(str(req, "action"), "renew") == 0;
    const json_t *changes = json_object_get(req, "changes");
    head(b, req, def);
    addressee(b, req);
    buf_printf(b, "<p>Nội dung đề nghị: %s Gia hạn chứng thư số &nbsp;&nbsp; %s Thay đổi nội dung thông tin</p>\n",
               renew ? "&#9746;" : "&#9744;", renew ? "&#9744;" : "&#9746;");
    buf_puts(b, "<table class=\"fields\">\n");
    row_sect(b, "I. Thông tin thuê bao");
    person_rows(b, req, 0);
    row_sect(b, "II. Chứng thư số");
    cert_rows(b, req, 1);
    row(b, "Lý do", str(req, "reason"));
    buf_puts(b, "</table>\n");
    if (!renew) {
        size_t i, n = json_array_size(changes);
        const json_t *c;
        buf_puts(b, "<table class=\"list\">\n<tr><td class=\"sect\" colspan=\"4\">III. Nội dung thay "
                    "đổi</td></tr>\n<tr><th>STT</th>"
                    "<th>Thông tin</th><th>Nội dung cũ</th><th>Nội dung mới</th></tr>\n");
        json_array_foreach(changes, i, c)
        {
            buf_printf(b, "<tr><td class=\"n\">%zu</td><td>", i + 1);
            if (str(c, "field"))
                esc(b, str(c, "field"));
            buf_puts(b, "</td><td>");
            if (str(c, "old"))
                esc(b, str(c, "old"));
            buf_puts(b, "</td><td>");
            if (str(c, "new"))
                esc(b, str(c, "new"));
            buf_puts(b, "</td></tr>\n");
        }
        for (i = n; i < 2; i++) /* rows to fill in by hand */
            buf_printf(b, "<tr><td class=\"n\">%zu</td><td>&nbsp;</td><td></td><td></td></tr>\n", i + 1);
        buf_puts(b, "</table>\n");
    }
    buf_puts(b, pledge);
    signatures(b, req, str(req, "subscriber.full_name"));
    foot(b, req);
}

static void render_revoke(struct buf *b, const json_t *req, const struct form_def *def)
{
    head(b, req, def);
    addressee(b, req);
    buf_puts(b, "<p>Cơ quan, đơn vị đề nghị thu hồi chứng thư số chuyên dùng Chính phủ lưu trên SIM PKI "
                "có thông tin sau:</p>\n<table class=\"fields\">\n");
    row_sect(b, "I. Thông tin thuê bao");
    person_rows(b, req, 0);
    row_sect(b, "II. Chứng thư số đề nghị thu hồi");
    cert_rows(b, req, 0);
    buf_puts(b, "<tr><th>Lý do thu hồi</th><td class=\"b\">");
    esc(b, str(req, "reason"));
    buf_puts(b, "</td></tr>\n</table>\n");
    buf_puts(b, "<p>Đề nghị thu hồi chứng thư số nêu trên kể từ ngày ký đề nghị này. Thiết bị lưu khóa bí mật "
                "được bàn giao lại theo biên bản bàn giao (Mẫu 14, Mẫu 07/2024).</p>\n");
    signatures(b, req, str(req, "subscriber.full_name"));
    foot(b, req);
}

static void party(struct buf *b, const json_t *req, const char *who, const char *key)
{
    char path[32];
    buf_printf(b, "<p><b>%s:</b> Ông/Bà ", who);
    snprintf(path, sizeof path, "%s.full_name", key);
    val_or_blank(b, str(req, path), 0);
    buf_puts(b, "; chức vụ: ");
    snprintf(path, sizeof path, "%s.position", key);
    val_or_blank(b, str(req, path), 0);
    buf_puts(b, "; đơn vị: ");
    snprintf(path, sizeof path, "%s.unit", key);
    val_or_blank(b, str(req, path), 0);
    buf_puts(b, ".</p>\n");
}

static void render_handover(struct buf *b, const json_t *req, const struct form_def *def)
{
    const json_t *devices = json_object_get(req, "devices");
    const json_t *dev;
    size_t i;
    head(b, req, def);
    buf_puts(b, "<p>Hôm nay, ");
    date_words(b, str(req, "date"));
    buf_puts(b, ", tại ");
    val_or_blank(b, str(req, "place"), 0);
    buf_puts(b, ", chúng tôi gồm:</p>\n");
    party(b, req, "Bên giao", "giver");
    party(b, req, "Bên nhận", "receiver");
    buf_puts(b, "<p>Hai bên tiến hành bàn giao các thiết bị lưu khóa bí mật (SIM PKI) sau:</p>\n"
                "<table class=\"list\">\n<tr><th>STT</th><th>Tên chứng thư số</th><th>Cơ quan, tổ chức</th>"
                "<th>Số hiệu thiết bị</th><th>Ghi chú</th></tr>\n");
    json_array_foreach(devices, i, dev)
    {
        static const char *const keys[] = {"cert_name", "organisation", "serial", "note"};
        buf_printf(b, "<tr><td class=\"n\">%zu</td>", i + 1);
        for (size_t k = 0; k < 4; k++) {
            buf_puts(b, "<td>");
            if (str(dev, keys[k]))
                esc(b, str(dev, keys[k]));
            buf_puts(b, "</td>");
        }
        buf_puts(b, "</tr>\n");
    }
    buf_printf(b,
               "</table>\n<p>Tổng số: %zu thiết bị. Biên bản được lập thành 02 bản có giá trị như nhau, "
               "mỗi bên giữ 01 bản.</p>\n",
               json_array_size(devices));
    buf_puts(b, "<table class=\"sign\"><tr>\n");
    sign_cell(b, "BÊN GIAO", "(Ký, ghi rõ họ tên)", str(req, "giver.full_name"));
    sign_cell(b, "BÊN NHẬN", "(Ký, ghi rõ họ tên)", str(req, "receiver.full_name"));
    buf_puts(b, "</tr></table>\n");
    foot(b, req);
}

/* Hand b's contents to the caller, or free them. */
static enum gw_form_err finish(struct buf *b, char **out, size_t *outlen, char *err, size_t errlen)
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

enum gw_form_err gw_form_render_html(const json_t *req, char **out, size_t *outlen, char *err, size_t errlen)
{
    struct vctx v = {err, errlen, ""};
    const struct form_def *def;
    struct buf b = {0};
    enum gw_form_err rc;

    *out = NULL;
    if ((rc = validate(req, &def, &v)) != GW_FORM_OK)
        goto out;
    def->render(&b, req, def);
    rc = finish(&b, out, outlen, err, errlen);
out:
    return rc;
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
        enum gw_form_err rc = validate(req, &def, &v);
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
        buf_puts(&b, "\xEF\xBB\xBF");
    buf_puts(&b, header);
    json_array_foreach(requests, i, req)
    {
        const struct gw_form_info *info = gw_form_lookup(str(req, "form"));
        const char *sim = str(req, "sim_pki");
        const char *carrier = NULL;
        int keep = 0;
        if (sim && sim_parse(sim, &carrier, &keep) != 0)
            carrier = NULL;
        csv_cell(&b, str(req, "id"), 1);
        csv_cell(&b, info->name, 0);
        csv_cell(&b, info->no, 0);
        csv_cell(&b, info->no_2024, 0);
        csv_cell(&b, str(req, "unit"), 0);
        csv_cell(&b, str(req, "place"), 0);
        csv_cell(&b, str(req, "date"), 0);
        for (size_t k = 0; k < sizeof person_cols / sizeof person_cols[0]; k++)
            csv_cell(&b, str(req, person_cols[k]), 0);
        char simbuf[32] = "";
        if (carrier)
            snprintf(simbuf, sizeof simbuf, "%s%s", carrier, keep ? "/cs" : "");
        csv_cell(&b, carrier ? simbuf : NULL, 0);
        csv_cell(&b, carrier, 0);
        csv_cell(&b, carrier ? (keep ? "1" : "0") : NULL, 0);
        csv_cell(&b, str(req, "organisation.name"), 0);
        csv_cell(&b, str(req, "organisation.code"), 0);
        csv_cell(&b, str(req, "action"), 0);
        csv_cell(&b, str(req, "certificate.serial"), 0);
        csv_cell(&b, str(req, "reason"), 0);

        /* Devices: "serial (cert_name)" joined by "; ", then quoted as one field. */
        struct buf d = {0};
        const json_t *dev;
        size_t k;
        buf_add(&d, "", 0);
        json_array_foreach(json_object_get(req, "devices"), k, dev)
        {
            if (k)
                buf_puts(&d, "; ");
            buf_puts(&d, str(dev, "serial") ? str(dev, "serial") : "");
            if (str(dev, "cert_name")) {
                buf_puts(&d, " (");
                buf_puts(&d, str(dev, "cert_name"));
                buf_puts(&d, ")");
            }
        }
        if (d.oom)
            b.oom = 1;
        csv_cell(&b, d.p && d.p[0] ? d.p : NULL, 0);
        free(d.p);
        buf_puts(&b, "\r\n");
    }
    rc = finish(&b, out, outlen, err, errlen);
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
        const struct gw_form_info *info = gw_form_lookup(str(req, "form"));
        const char *sim = str(req, "sim_pki");
        const char *carrier;
        int keep;
        json_t *copy = json_deep_copy(req);
        if (!copy || json_array_append_new(list, copy) != 0)
            goto nomem;
        if (json_object_set_new(copy, "form_no", json_string(info->no)) != 0 ||
            json_object_set_new(copy, "form_no_2024", json_string(info->no_2024)) != 0 ||
            json_object_set_new(copy, "title", json_string(info->title)) != 0)
            goto nomem;
        if (sim && sim_parse(sim, &carrier, &keep) == 0) {
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
