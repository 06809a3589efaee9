/*
 * gw_forms_priv.h - what gw_forms.c (checks, exports) and gw_forms_html.c
 * (the printed forms) share: the output buffer, the per-form table entry and
 * the accessors of a checked request.  Not installed; nothing outside
 * gateway/enrol includes it.
 */
#ifndef SIMPKI_GW_FORMS_PRIV_H
#define SIMPKI_GW_FORMS_PRIV_H

#include <stddef.h>

#include "gw_forms.h"

/* A growable output buffer; out of memory is sticky in oom and looked at once, by gw_fm_finish. */
struct buf {
    char *p;
    size_t len, cap;
    int oom;
    int body_only; /* gw_form_render_body: no <html>, <head> or <body> around the form */
};

void gw_fm_puts(struct buf *b, const char *s);
void gw_fm_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTML-escape s[0..len) into b; with nl2br a line feed becomes <br>. */
void gw_fm_esc(struct buf *b, const char *s, size_t len, int nl2br);
/* Hand b's contents to the caller (*out, theirs to free), or free them: GW_FORM_ERR_NOMEM. */
enum gw_form_err gw_fm_finish(struct buf *b, char **out, size_t *outlen, char *err, size_t errlen);

/* One form: its public description, its field table, required paths and renderer. */
struct field;
struct form_def;
typedef void render_fn(struct buf *b, const json_t *req, const struct form_def *def);

struct form_def {
    struct gw_form_info info;
    const struct field *fields;
    const char *const *required;
    render_fn *render;
};

/* The renderers of gw_forms_html.c, one per form; req has passed gw_fm_validate. */
render_fn gw_fm_render_person_new, gw_fm_render_org_new, gw_fm_render_change, gw_fm_render_revoke,
    gw_fm_render_handover;

/* Where a check failed: the error text goes to err, prefixed by path. */
struct vctx {
    char *err;
    size_t errlen;
    char path[128];
};

/* Check req against its form's table; *def gets the form. */
enum gw_form_err gw_fm_validate(const json_t *req, const struct form_def **def, struct vctx *v);

/* A checked string field at a path of at most two keys, or NULL when absent, null or empty. */
const char *gw_fm_str(const json_t *obj, const char *path);

/* "viettel/CS" -> carrier "Viettel", keep 1.  0 on success, -1 when not a carrier. */
int gw_fm_sim_parse(const char *s, const char **carrier, int *keep);

/* "YYYY-MM-DD" naming a real day of 1900..2199 -> 0, else -1. */
int gw_fm_date_parse(const char *s, int *y, int *m, int *d);

#endif
