/* gw_enrol_check.c - see gw_enrol_check.h. */
#include "gw_enrol_check.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define VN_UTC_OFFSET_S (7 * 3600)

struct ck {
    json_t *errors, *warnings;
    struct gw_date today;
};

/* Record a gw_valid result; returns 1 when the value was accepted. */
static int note(struct ck *c, int rc, const struct gw_valid_err *e)
{
    json_t *o;
    if (rc == GW_VALID_OK)
        return 1;
    o = json_pack("{s:s, s:s, s:s}", "field", e->field, "error", e->code, "message", e->message);
    if (o && e->related[0])
        json_object_set_new(o, "related", json_string(e->related));
    json_array_append_new(rc == GW_VALID_WARN ? c->warnings : c->errors, o);
    return rc == GW_VALID_WARN;
}

static void missing(struct ck *c, const char *field)
{
    json_array_append_new(c->errors, json_pack("{s:s, s:s, s:s}", "field", field, "error", "REQUIRED", "message",
                                               "this field is required for a SIM PKI request"));
}

/* The string at obj.key, NULL when absent, null or "". */
static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

static void set(json_t *obj, const char *key, const char *value)
{
    json_object_set_new(obj, key, json_string(value));
}

/* dd/mm/yyyy from people, YYYY-MM-DD from programs; both stored as YYYY-MM-DD. */
static int check_date(struct ck *c, json_t *obj, const char *key, const char *path, int birth, struct gw_date *out)
{
    const char *in = str(obj, key);
    char typed[16], iso[16];
    struct gw_valid_err e;
    struct gw_date d = {0, 0, 0};
    int rc;

    if (!in)
        return 0;
    if (strlen(in) == 10 && in[4] == '-' && in[7] == '-')
        snprintf(typed, sizeof(typed), "%.2s/%.2s/%.4s", in + 8, in + 5, in);
    else
        snprintf(typed, sizeof(typed), "%.15s", in);
    rc = birth ? gw_valid_birth_date(path, typed, &c->today, 18, &d, NULL, &e)
               : gw_valid_date(path, typed, &d, NULL, &e);
    if (!note(c, rc, &e))
        return -1;
    snprintf(iso, sizeof(iso), "%04d-%02d-%02d", d.y, d.m, d.d);
    set(obj, key, iso);
    if (out)
        *out = d;
    return 1;
}

static void check_name(struct ck *c, json_t *obj, const char *key, const char *path)
{
    char out[GW_VALID_INPUT_MAX + 1];
    struct gw_valid_err e;
    const char *in = str(obj, key);
    if (in && note(c, gw_valid_name(path, in, out, sizeof(out), &e), &e))
        set(obj, key, out);
}

static void check_email(struct ck *c, json_t *obj, const char *path)
{
    char out[256];
    struct gw_valid_err e;
    const char *in = str(obj, "email");
    if (in && note(c, gw_valid_email(path, in, out, sizeof(out), &e), &e))
        set(obj, "email", out);
}

/* The SIM PKI field; returns the declared network (CAR_NET_NONE when absent or wrong). */
static enum car_net check_simpki(struct ck *c, json_t *req)
{
    struct gw_valid_simpki sp;
    struct gw_valid_err e;
    const char *in = str(req, "sim_pki");
    if (!in || !note(c, gw_valid_simpki("sim_pki", in, &sp, &e), &e))
        return CAR_NET_NONE;
    set(req, "sim_pki", sp.text);
    return sp.net;
}

/* The person: the subscriber of person_new/change/revoke, the key keeper of org_new. */
static void check_person(struct ck *c, json_t *p, enum car_net declared)
{
    struct gw_valid_holder holder;
    struct gw_valid_msisdn m;
    struct gw_valid_id id;
    struct gw_valid_err e;
    struct gw_date dob = {0, 0, 0};
    const char *in;

    check_name(c, p, "full_name", "subscriber.full_name");
    check_date(c, p, "birth_date", "subscriber.birth_date", 1, &dob);
    check_date(c, p, "id_issued_date", "subscriber.id_issued_date", 0, NULL);
    in = str(p, "id_number");
    if (in) {
        memset(&holder, 0, sizeof(holder));
        holder.dob = dob;
        holder.dob_field = "subscriber.birth_date";
        holder.today = c->today;
        if (note(c, gw_valid_id("subscriber.id_number", GW_ID_AUTO, in, &holder, &id, &e), &e))
            set(p, "id_number", id.number);
    }
    check_email(c, p, "subscriber.email");
    in = str(p, "phone");
    if (in && note(c, gw_valid_msisdn("subscriber.phone", in, declared, &m, &e), &e))
        set(p, "phone", m.national);
}

static void check_org(struct ck *c, json_t *org)
{
    char out[64];
    struct gw_valid_err e;
    const char *code = str(org, "code");

    check_email(c, org, "organisation.email");
    if (!code)
        return;
    /*
     * "code" is how the body is identified: its electronic identifier
     * (mã định danh, e.g. H27.12), its tax code, or its budget relation code.
     * Digits are a tax code (10, 10-3 or 12 digits) or a budget code (7);
     * anything else must have the identifier's shape.
     */
    if (strspn(code, "0123456789-") != strlen(code)) {
        if (strlen(code) > 32 || strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.") != strlen(code) ||
            code[0] == '.')
            json_array_append_new(c->errors, json_pack("{s:s, s:s, s:s}", "field", "organisation.code", "error",
                                                       "ORG_CODE_FORMAT", "message",
                                                       "an identifier code (e.g. H27.12), a tax code or a 7-digit "
                                                       "budget relation code"));
        return;
    }
    if (strlen(code) == 7) {
        if (note(c, gw_valid_budget_code("organisation.code", code, out, sizeof(out), &e), &e))
            set(org, "code", out);
    } else if (note(c, gw_valid_mst("organisation.code", code, NULL, out, sizeof(out), &e), &e)) {
        set(org, "code", out);
    }
}

static void check_certificate(struct ck *c, json_t *cert)
{
    char out[GW_VALID_SERIAL_MAX];
    struct gw_valid_err e;
    const char *serial = str(cert, "serial");
    if (serial && note(c, gw_valid_cert_serial("certificate.serial", serial, out, sizeof(out), &e), &e))
        set(cert, "serial", out);
    check_date(c, cert, "valid_to", "certificate.valid_to", 0, NULL);
}

static void require(struct ck *c, const json_t *obj, const char *key, const char *path)
{
    if (!str(obj, key))
        missing(c, path);
}

void gw_enrol_check_at(json_t *req, const struct gw_date *today, json_t *errors, json_t *warnings)
{
    struct ck c = {errors, warnings, *today};
    const char *form = str(req, "form");
    json_t *sub = json_object_get(req, "subscriber"), *org = json_object_get(req, "organisation");
    json_t *cert = json_object_get(req, "certificate");
    enum car_net declared;

    if (!form)
        return; /* gw_forms reports it */
    check_date(&c, req, "date", "date", 0, NULL);
    declared = check_simpki(&c, req);
    if (json_is_object(sub))
        check_person(&c, sub, declared);
    if (json_is_object(org))
        check_org(&c, org);
    if (json_is_object(cert))
        check_certificate(&c, cert);
    if (strcmp(form, "handover") == 0) {
        check_name(&c, json_object_get(req, "giver"), "full_name", "giver.full_name");
        check_name(&c, json_object_get(req, "receiver"), "full_name", "receiver.full_name");
        return;
    }
    if (strcmp(form, "person_new") == 0 || strcmp(form, "org_new") == 0) {
        static const char *const pkeys[] = {"full_name", "birth_date", "id_number", "email", "phone"};
        size_t n = strcmp(form, "person_new") == 0 ? 5 : 1;
        for (size_t i = 0; i < n; i++) {
            char path[48];
            snprintf(path, sizeof(path), "subscriber.%s", pkeys[i]);
            require(&c, sub, pkeys[i], path);
        }
        if (n == 1)
            require(&c, sub, "phone", "subscriber.phone");
        require(&c, req, "sim_pki", "sim_pki");
        if (strcmp(form, "org_new") == 0) {
            require(&c, org, "name", "organisation.name");
            require(&c, org, "code", "organisation.code");
        }
    } else if (json_is_object(org)) {
        /* An organisation's certificate: its name, as org_new's (a body's name may hold digits and dots, so
         * not gw_valid_name's); its code, when given, checked as org_new's by check_org. */
        require(&c, org, "name", "organisation.name");
        require(&c, cert, "serial", "certificate.serial");
    } else {
        require(&c, sub, "full_name", "subscriber.full_name");
        require(&c, cert, "serial", "certificate.serial");
    }
}

void gw_enrol_check(json_t *request, json_t *errors, json_t *warnings)
{
    struct gw_date today;
    gw_date_from_unix((int64_t)time(NULL), VN_UTC_OFFSET_S, &today);
    gw_enrol_check_at(request, &today, errors, warnings);
}
