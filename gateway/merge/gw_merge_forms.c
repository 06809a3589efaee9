/* gw_merge_forms.c - see gw_merge_forms.h: the requests, handovers and bundle of a plan's rows. */
#include "gw_merge_forms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gw_forms.h"
#include "gw_merge_input.h"
#include "gw_merge_rules.h"
#include "util.h"

void gw_merge_request_id(const char *plan_id, const char *key, char out[GW_MERGE_REQUEST_ID_LEN])
{
    unsigned char md[32];
    char in[96];
    unsigned int mdlen = 0;
    int n = snprintf(in, sizeof(in), "simpki-plan:%s:%s", plan_id, key);

    if (n < 0 || (size_t)n >= sizeof(in) || !EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL))
        memset(md, 0, sizeof(md));
    out[0] = 'r';
    util_hex(md, (GW_MERGE_REQUEST_ID_LEN - 2) / 2, out + 1);
    out[GW_MERGE_REQUEST_ID_LEN - 1] = '\0';
}

#define KEY_CAP 1100 /* as gw_merge_rules.c */

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

/* obj[key] = s when s is a non-empty string; 0, or -1 on out of memory. */
static int put(json_t *obj, const char *key, const char *s)
{
    return s && *s ? json_object_set_new(obj, key, json_string(s)) : 0;
}

/* The common part of every request of the plan: form, unit, date. */
static json_t *request_new(const json_t *plan, const char *form, const char *unit)
{
    json_t *req = json_pack("{s:s, s:s}", "form", form, "unit", unit ? unit : "");
    const char *date = str(plan, "effective");

    if (req && date && strlen(date) == 10 && put(req, "date", date) != 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

/* "Viettel" + "/cs" when the number in use moved onto the SIM PKI; NULL without a carrier. */
/*
 * The carrier as the form writes it.  Never "/cs": on a request that flag
 * asks to move the number in use onto a new SIM PKI (gw_life.h: a new SIM,
 * a new key), and a number already moved keeps its SIM through a change or
 * a revocation.
 */
static int put_sim(json_t *req, const json_t *row)
{
    const char *carrier = str(row, "carrier");

    return carrier ? put(req, "sim_pki", carrier) : 0;
}

/* A change's reason: why the unit files it, with the reorganisation's legal basis. */
static int put_change_reason(json_t *req, const json_t *plan, const json_t *row)
{
    char reason[640];
    const char *basis = str(plan, "basis");
    const char *own = strcmp(json_string_value(json_object_get(row, "action")) ?: "", "change") == 0
                          ? NULL
                          : str(json_object_get(row, "override"), "reason");
    int org = strcmp(str(row, "kind") ?: "", "organisation") == 0;

    if (own)
        return put(req, "reason", own);
    snprintf(reason, sizeof(reason), "%s%s%s", org ? "Sắp xếp đơn vị hành chính" : "Chuyển công tác",
             basis ? " theo " : "", basis ? basis : "");
    return put(req, "reason", reason);
}

/* The new value of field in the row's changes, NULL when it does not change. */
static const char *changed(const json_t *row, const char *field)
{
    const json_t *c;
    size_t i;

    json_array_foreach(json_object_get(row, "changes"), i, c)
    {
        if (strcmp(str(c, "field") ?: "", field) == 0)
            return str(c, "new");
    }
    return NULL;
}

/*
 * The holder of a row's certificate.  A person: the subscriber.  An
 * organisation (O1, O3, O4, or an operator's decision on D1, D2): the
 * organisation object of the change and revoke forms, as the CA's profile
 * names it: for a change its name and codes after the change (what the
 * row's changes say; a change without a new name keeps the current one),
 * for a revocation its current name.  Nothing is known of the person who
 * keeps the organisation's key, so there is no subscriber: the printed
 * form leaves those lines blank, and the name never meets the check of a
 * person's name ("UBND Phường 5", "UBND TP. Thủ Đức" are not one).
 */
static int put_holder(json_t *req, const json_t *row, int change)
{
    const char *current = str(row, "holder") ?: str(row, "unit");
    const char *msisdn = str(row, "msisdn");
    int org = strcmp(str(row, "kind") ?: "", "organisation") == 0;
    json_t *o = json_object(), *sub = org ? json_object() : json_incref(o);
    char phone[16] = "";

    /* The lifecycle engine finds the registry entry by subscriber.phone (gw_life.h "read"): 0 + the national number. */
    if (msisdn && strlen(msisdn) == 11 && strncmp(msisdn, "84", 2) == 0)
        snprintf(phone, sizeof(phone), "0%s", msisdn + 2);
    if (json_object_set_new(req, org ? "organisation" : "subscriber", o) != 0 ||
        (org && json_object_set(req, "subscriber", sub) != 0) || put(sub, "phone", phone[0] ? phone : NULL) != 0) {
        json_decref(sub);
        return -1;
    }
    json_decref(sub);
    if (!org) {
        /* A person who moves (P1): the new certificate's O is the new unit, the position the new post. */
        if (put(o, "full_name", str(row, "holder")) != 0 ||
            put(o, "organisation", (change ? changed(row, "organisation") : NULL) ?: str(row, "unit")) != 0 ||
            (change && put(o, "position", changed(row, "position")) != 0) ||
            (strcmp(str(row, "kind") ?: "", "person") == 0 && put(o, "id_number", str(row, "id_number")) != 0))
            return -1;
        return 0;
    }
    if (!change)
        return put(o, "name", current);
    if (put(o, "name", changed(row, "organisation") ?: changed(row, "common_name") ?: current) != 0 ||
        put(o, "code", changed(row, "tax_code")) != 0 || put(o, "province", changed(row, "province")) != 0)
        return -1;
    return 0;
}

/*
 * The row's changes as the Mẫu 07 prints them: the field under its
 * Vietnamese label (the row keeps the stable English id, which the code
 * reads); an unknown id is printed as it is.
 */
static json_t *printed_changes(const json_t *row)
{
    static const char *const labels[][2] = {
        {"organisation", "Cơ quan, đơn vị (O)"}, {"common_name", "Tên chứng thư (CN)"},
        {"province", "Tỉnh, thành phố (ST)"},    {"tax_code", "Mã số thuế"},
        {"budget_code", "Mã quan hệ ngân sách"}, {"position", "Chức vụ"},
    };
    json_t *out = json_array(), *c;
    size_t i;

    json_array_foreach(json_object_get(row, "changes"), i, c)
    {
        const char *field = str(c, "field") ?: "";
        json_t *p = json_deep_copy(c);
        for (size_t k = 0; p && k < sizeof(labels) / sizeof(labels[0]); k++)
            if (strcmp(field, labels[k][0]) == 0)
                json_object_set_new(p, "field", json_string(labels[k][1]));
        json_array_append_new(out, p);
    }
    return out;
}

json_t *gw_merge_row_request(const json_t *plan, const json_t *row)
{
    const char *action = gw_merge_row_action(row);
    int change = strcmp(action, "change") == 0;
    const char *reason;
    json_t *req, *cert, *changes;
    char serial[96];

    if ((!change && strcmp(action, "revoke") != 0) || !str(row, "serial"))
        return NULL;
    req = request_new(plan, change ? "change" : "revoke", str(row, "unit"));
    if (!req)
        return NULL;
    if (put_holder(req, row, change) != 0)
        goto fail;
    cert = json_object();
    if (json_object_set_new(req, "certificate", cert) != 0)
        goto fail;
    /* Rows match serials without leading zeros; a form writes whole octets, as the certificate prints it. */
    snprintf(serial, sizeof(serial), "%s%s", strlen(str(row, "serial")) % 2 ? "0" : "", str(row, "serial"));
    if (put(cert, "serial", serial) != 0 || put(cert, "subject", str(row, "subject")) != 0 ||
        put(cert, "valid_to", str(row, "valid_to")) != 0 || put_sim(req, row) != 0)
        goto fail;
    if (change) {
        changes = printed_changes(row);
        if (json_object_set_new(req, "action", json_string("change")) != 0 ||
            json_object_set_new(req, "changes", changes) != 0 || put_change_reason(req, plan, row) != 0)
            goto fail;
    } else {
        /* The rule's wording maps to its RFC 5280 code; an operator's revoke of a keep row gives their own. */
        reason = str(row, "reason");
        if (!reason)
            reason = str(json_object_get(row, "override"), "reason");
        if (put(req, "reason", reason ? reason : "Sắp xếp đơn vị hành chính") != 0)
            goto fail;
    }
    return req;
fail:
    json_decref(req);
    return NULL;
}

/* ---- Mẫu 14 ------------------------------------------------------------ */

static int handover_add(json_t *grp, const json_t *row)
{
    json_t *req = json_object_get(grp, "request");
    char note[96];
    json_t *dev;

    snprintf(note, sizeof(note), "Thu hồi theo Mẫu 09, dòng %lld (%s)",
             (long long)json_integer_value(json_object_get(row, "no")), str(row, "rule") ?: "");
    dev = json_pack("{s:s, s:s, s:s, s:s}", "cert_name", str(row, "holder") ?: "", "organisation",
                    str(row, "unit") ?: "", "serial", str(row, "serial") ?: "", "note", note);
    if (json_array_append_new(json_object_get(req, "devices"), dev) != 0 ||
        json_array_append(json_object_get(grp, "rows"), json_object_get(row, "no")) != 0)
        return -1;
    return 0;
}

/* giver.unit: the old unit when every device of the record comes from one. */
static int set_giver(json_t *grp)
{
    json_t *devs = json_object_get(json_object_get(grp, "request"), "devices"), *d;
    const char *first = str(json_array_get(devs, 0), "organisation");
    char k0[KEY_CAP], k[KEY_CAP];
    size_t i;

    gw_merge_name_key(first ? first : "", k0, sizeof(k0));
    json_array_foreach(devs, i, d)
    {
        gw_merge_name_key(str(d, "organisation") ?: "", k, sizeof(k));
        if (strcmp(k, k0) != 0)
            return 0;
    }
    return first ? json_object_set_new(json_object_get(grp, "request"), "giver", json_pack("{s:s}", "unit", first)) : 0;
}

json_t *gw_merge_handovers(const json_t *plan, const json_t *rows)
{
    json_t *out = json_array(), *by = json_object(), *row, *grp;
    char k[KEY_CAP], no[24];
    const char *to;
    size_t i;

    if (!out || !by)
        goto fail;
    json_array_foreach(rows, i, row)
    {
        to = str(row, "handover_to");
        if (!to || strcmp(gw_merge_row_action(row), "revoke") != 0 || !str(row, "serial"))
            continue;
        gw_merge_name_key(to, k, sizeof(k));
        grp = json_object_get(by, k);
        if (!grp) {
            json_t *req = request_new(plan, "handover", to);
            snprintf(no, sizeof(no), "%zu", json_array_size(out) + 1);
            if (!req || json_object_set_new(req, "receiver", json_pack("{s:s}", "unit", to)) != 0 ||
                json_object_set_new(req, "devices", json_array()) != 0) {
                json_decref(req);
                goto fail;
            }
            grp = json_pack("{s:s, s:s, s:[], s:o}", "group", no, "receiver", to, "rows", "request", req);
            if (!grp || json_object_set(by, k, grp) != 0 || json_array_append_new(out, grp) != 0)
                goto fail;
        }
        if (handover_add(grp, row) != 0)
            goto fail;
    }
    json_array_foreach(out, i, grp) if (set_giver(grp) != 0) goto fail;
    json_decref(by);
    return out;
fail:
    json_decref(by);
    json_decref(out);
    return NULL;
}

/* ---- the bundle -------------------------------------------------------- */

static const char bundle_css[] = ".page { page-break-after: always; break-after: page; }\n"
                                 ".page:last-child { page-break-after: auto; break-after: auto; }\n"
                                 ".cover h1 { margin-top: 40pt; }\n"
                                 ".cover .unit { text-align: center; font-weight: bold; font-size: 14pt; }\n"
                                 ".cover table { margin-top: 14pt; }\n";

struct piece {
    json_t *req;  /* the request, with its id */
    json_int_t n; /* the row (a request) or 0 (a handover) */
};

static void puts_esc(FILE *f, const char *s)
{
    char *e = gw_form_escape_html(s ? s : "", s ? strlen(s) : 0);

    if (e)
        fputs(e, f);
    else
        fputs("\xEF\xBF\xBD", f); /* out of memory: ferror cannot tell; a replacement character shows it */
    free(e);
}

static void cover(FILE *f, const json_t *plan, const char *unit, const struct piece *p, size_t np)
{
    fputs("<section class=\"page cover\">\n<h1>HỒ SƠ SẮP XẾP ĐƠN VỊ HÀNH CHÍNH</h1>\n<div class=\"unit\">", f);
    puts_esc(f, unit);
    fputs("</div>\n<p>", f);
    if (str(plan, "name")) {
        fputs("Kế hoạch: ", f);
        puts_esc(f, str(plan, "name"));
        fputs(". ", f);
    }
    if (str(plan, "basis")) {
        fputs("Căn cứ: ", f);
        puts_esc(f, str(plan, "basis"));
        fputs(". ", f);
    }
    fprintf(f,
            "Gồm %zu biểu mẫu.</p>\n<table class=\"list\"><tr><th>STT</th><th>Mẫu</th><th>Tên biểu mẫu</th>"
            "<th>Chứng thư số</th><th>Mã hồ sơ</th></tr>\n",
            np);
    for (size_t i = 0; i < np; i++) {
        const struct gw_form_info *fi = gw_form_lookup(str(p[i].req, "form"));
        const json_t *devs = json_object_get(p[i].req, "devices");

        fprintf(f, "<tr><td class=\"n\">%zu</td><td>Mẫu %s (Mẫu %s)</td><td>%s</td><td>", i + 1, fi ? fi->no : "",
                fi ? fi->no_2024 : "", fi ? fi->title : "");
        if (devs)
            fprintf(f, "%zu thiết bị", json_array_size(devs));
        else {
            puts_esc(f, str(json_object_get(p[i].req, "organisation"), "name")
                            ?: str(json_object_get(p[i].req, "subscriber"), "full_name"));
            fputs(" - ", f);
            puts_esc(f, str(json_object_get(p[i].req, "certificate"), "serial"));
        }
        fputs("</td><td>", f);
        puts_esc(f, str(p[i].req, "id"));
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
}

/* The unit's requests (row order), then the handover records holding one of its rows. */
static int collect(const json_t *plan, const json_t *rows, const char *ukey, struct piece **out, size_t *np,
                   size_t *nrows)
{
    const char *pid = str(plan, "id") ?: "";
    json_t *handovers = gw_merge_handovers(plan, rows), *row, *grp;
    struct piece *p = calloc(json_array_size(rows) + json_array_size(handovers) + 1, sizeof(*p));
    char k[KEY_CAP], id[64];
    size_t i, j, n = 0;
    int rc = -1;

    *nrows = 0;
    if (!handovers || !p)
        goto out;
    json_array_foreach(rows, i, row)
    {
        gw_merge_name_key(str(row, "unit") ?: "", k, sizeof(k));
        if (strcmp(k, ukey) != 0)
            continue;
        ++*nrows;
        p[n].req = gw_merge_row_request(plan, row);
        if (!p[n].req)
            continue; /* keep, decide: nothing to file */
        p[n].n = json_integer_value(json_object_get(row, "no"));
        snprintf(k, sizeof(k), "r%lld", (long long)p[n].n);
        gw_merge_request_id(pid, k, id);
        if (json_object_set_new(p[n++].req, "id", json_string(id)) != 0)
            goto out;
    }
    json_array_foreach(handovers, i, grp)
    {
        /* A device's organisation is its row's unit: the record is the unit's when one is. */
        json_t *devs = json_object_get(json_object_get(grp, "request"), "devices"), *dev;
        json_array_foreach(devs, j, dev)
        {
            gw_merge_name_key(str(dev, "organisation") ?: "", k, sizeof(k));
            if (strcmp(k, ukey) == 0)
                break;
        }
        if (j == json_array_size(devs))
            continue;
        p[n].req = json_incref(json_object_get(grp, "request"));
        snprintf(k, sizeof(k), "h%s", str(grp, "group") ?: "");
        gw_merge_request_id(pid, k, id);
        if (json_object_set_new(p[n++].req, "id", json_string(id)) != 0)
            goto out;
    }
    rc = 0;
out:
    json_decref(handovers);
    *out = p;
    *np = n;
    return rc;
}

char *gw_merge_bundle_html(const json_t *plan, const json_t *rows, const char *unit, size_t *outlen, char *err,
                           size_t errlen)
{
    struct piece *p = NULL;
    size_t np = 0, nrows = 0, len = 0;
    char k[KEY_CAP], ferr[256];
    char *doc = NULL, *body;
    FILE *f = NULL;
    int ok = 0;

    if (err && errlen)
        err[0] = '\0';
    gw_merge_name_key(unit ? unit : "", k, sizeof(k));
    if (collect(plan, rows, k, &p, &np, &nrows) != 0 || !(f = open_memstream(&doc, &len))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (nrows == 0) {
        snprintf(err, errlen, "the plan has no rows for this unit");
        goto out;
    }
    fputs("<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<title>Hồ sơ sắp xếp đơn vị - ", f);
    puts_esc(f, unit);
    fprintf(f, "</title>\n<style>\n%s%s</style>\n</head>\n<body>\n", gw_form_css(), bundle_css);
    cover(f, plan, unit, p, np);
    for (size_t i = 0; i < np; i++) {
        enum gw_form_err rc = gw_form_render_body(p[i].req, &body, NULL, ferr, sizeof(ferr));
        if (rc != GW_FORM_OK) {
            if (p[i].n)
                snprintf(err, errlen, "row %lld: %s", (long long)p[i].n, ferr);
            else
                snprintf(err, errlen, "handover record: %s", ferr);
            goto out;
        }
        fputs("<section class=\"page\">\n", f);
        fputs(body, f);
        fputs("</section>\n", f);
        free(body);
    }
    fputs("</body>\n</html>\n", f);
    ok = !ferror(f);
out:
    if (f && fclose(f) != 0)
        ok = 0;
    for (size_t i = 0; i < np; i++)
        json_decref(p[i].req);
    free(p);
    if (!ok) {
        if (f && err && errlen && !err[0])
            snprintf(err, errlen, "out of memory");
        free(doc);
        return NULL;
    }
    if (outlen)
        *outlen = len;
    return doc;
}
