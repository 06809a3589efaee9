/*
 * fuzz_valid.c - every gw_valid_* function and gw_enrol_check_at() on the
 * same input, with a fixed today.  Every string a function writes is
 * NUL-terminated inside its buffer, err->code is empty exactly on OK, and a
 * normalised output validates again to itself (idempotence: what is stored
 * must pass the same checks when it is read back and re-filed).  The request
 * check runs on the input as a JSON request when it is one, else with the
 * input in every field; a request that passed is checked again and must come
 * out unchanged and without errors.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_enrol_check.h"
#include "gw_valid.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

#define TERMINATED(buf) REQUIRE(memchr((buf), '\0', sizeof(buf)) != NULL)

static const struct gw_date today = {2026, 3, 5};

/* err is always written: terminated strings, code "" exactly when rc is OK. */
static int checked(int rc, const struct gw_valid_err *e)
{
    REQUIRE(rc == GW_VALID_OK || rc == GW_VALID_ERROR || rc == GW_VALID_WARN);
    TERMINATED(e->field);
    TERMINATED(e->code);
    TERMINATED(e->message);
    TERMINATED(e->related);
    REQUIRE((rc == GW_VALID_OK) == (e->code[0] == '\0'));
    REQUIRE(e->warning == (rc == GW_VALID_WARN));
    return rc != GW_VALID_ERROR;
}

static void dates(const char *s)
{
    struct gw_valid_err e;
    struct gw_date d, d2, b;
    char text[16], text2[16];
    int have_d = 0;

    memset(text, 0x55, sizeof(text));
    if (checked(gw_valid_date(NULL, s, &d, text, &e), &e)) {
        TERMINATED(text);
        REQUIRE(checked(gw_valid_date(NULL, text, &d2, text2, &e), &e));
        REQUIRE(gw_date_cmp(&d, &d2) == 0 && strcmp(text, text2) == 0);
        have_d = 1;
    }
    if (checked(gw_valid_birth_date("subscriber.birth_date", s, &today, 18, &b, text, &e), &e)) {
        TERMINATED(text);
        REQUIRE(gw_date_cmp(&b, &today) <= 0);
        REQUIRE(checked(gw_valid_birth_date("subscriber.birth_date", text, &today, 18, &d2, text2, &e), &e));
        REQUIRE(gw_date_cmp(&b, &d2) == 0 && strcmp(text, text2) == 0);
    }
    (void)checked(gw_valid_birth_date(NULL, s, NULL, 0, &b, NULL, &e), &e);
    if (have_d) {
        int rc = gw_valid_date_order("from", &d, "to", &today, &e);
        (void)checked(rc, &e);
        REQUIRE((rc == GW_VALID_OK) == (gw_date_cmp(&d, &today) < 0));
    }
}

static void numbers(const char *s)
{
    struct gw_valid_err e;
    struct gw_valid_simpki sp, sp2;
    struct gw_valid_msisdn m, m2;

    if (checked(gw_valid_simpki(NULL, s, &sp, &e), &e)) {
        TERMINATED(sp.text);
        REQUIRE(checked(gw_valid_simpki(NULL, sp.text, &sp2, &e), &e));
        REQUIRE(strcmp(sp.text, sp2.text) == 0 && sp.net == sp2.net && sp.cs == sp2.cs);
    }
    for (int declared = CAR_NET_NONE; declared <= CAR_NET_MOBIFONE; declared++) {
        if (!checked(gw_valid_msisdn("phone", s, (enum car_net)declared, &m, &e), &e))
            continue;
        TERMINATED(m.msisdn);
        TERMINATED(m.national);
        REQUIRE(m.net != CAR_NET_NONE);
        REQUIRE(checked(gw_valid_msisdn("phone", m.national, (enum car_net)declared, &m2, &e), &e));
        REQUIRE(strcmp(m.msisdn, m2.msisdn) == 0 && strcmp(m.national, m2.national) == 0 && m.net == m2.net);
        REQUIRE(checked(gw_valid_msisdn("phone", m.msisdn, (enum car_net)declared, &m2, &e), &e));
        REQUIRE(strcmp(m.national, m2.national) == 0);
    }
}

static void identity(const char *s)
{
    struct gw_valid_err e;
    struct gw_valid_id id, id2;
    struct gw_valid_holder h;
    enum gw_gender g;
    char out[GW_VALID_NAME_MAX], out2[GW_VALID_NAME_MAX];
    char small[8];

    (void)checked(gw_valid_gender(NULL, s, &g, &e), &e);
    memset(&h, 0, sizeof(h));
    h.dob = (struct gw_date){1986, 9, 21};
    h.gender = GW_GENDER_FEMALE;
    h.today = today;
    for (int t = GW_ID_AUTO; t <= GW_ID_PASSPORT; t++) {
        if (!checked(gw_valid_id(NULL, (enum gw_id_type)t, s, t == GW_ID_CCCD ? &h : NULL, &id, &e), &e))
            continue;
        TERMINATED(id.number);
        REQUIRE(id.type != GW_ID_AUTO);
        REQUIRE(checked(gw_valid_id(NULL, id.type, id.number, NULL, &id2, &e), &e));
        REQUIRE(strcmp(id.number, id2.number) == 0 && id.type == id2.type);
        if (id.type == GW_ID_CCCD) {
            TERMINATED(id.province);
            REQUIRE(id.province_name && gw_valid_province_name(id.province) == id.province_name);
        }
    }
    (void)gw_valid_province_name(s);

    if (checked(gw_valid_mst(NULL, s, NULL, out, sizeof(out), &e), &e)) {
        TERMINATED(out);
        REQUIRE(checked(gw_valid_mst(NULL, out, NULL, out2, sizeof(out2), &e), &e));
        REQUIRE(strcmp(out, out2) == 0);
    }
    (void)checked(gw_valid_mst(NULL, s, "001087123456", out, sizeof(out), &e), &e);
    if (checked(gw_valid_budget_code(NULL, s, out, sizeof(out), &e), &e)) {
        TERMINATED(out);
        REQUIRE(checked(gw_valid_budget_code(NULL, out, out2, sizeof(out2), &e), &e));
        REQUIRE(strcmp(out, out2) == 0);
    }
    if (checked(gw_valid_email(NULL, s, out, sizeof(out), &e), &e)) {
        TERMINATED(out);
        REQUIRE(checked(gw_valid_email(NULL, out, out2, sizeof(out2), &e), &e));
        REQUIRE(strcmp(out, out2) == 0);
    }
    if (checked(gw_valid_name(NULL, s, out, sizeof(out), &e), &e)) {
        TERMINATED(out);
        REQUIRE(checked(gw_valid_name(NULL, out, out2, sizeof(out2), &e), &e));
        REQUIRE(strcmp(out, out2) == 0);
    }
    /* Too small an output is refused, never overrun. */
    if (checked(gw_valid_name(NULL, s, small, sizeof(small), &e), &e))
        TERMINATED(small);
    if (checked(gw_valid_cert_serial(NULL, s, out, GW_VALID_SERIAL_MAX, &e), &e)) {
        REQUIRE(memchr(out, '\0', GW_VALID_SERIAL_MAX) != NULL);
        REQUIRE(checked(gw_valid_cert_serial(NULL, out, out2, GW_VALID_SERIAL_MAX, &e), &e));
        REQUIRE(strcmp(out, out2) == 0);
    }
}

/* Every finding is {"field": string, "error": non-empty string, "message": string, ...}. */
static void well_formed(const json_t *list)
{
    size_t i;
    const json_t *f;
    REQUIRE(json_is_array(list));
    json_array_foreach(list, i, f)
    {
        REQUIRE(json_is_string(json_object_get(f, "field")));
        REQUIRE(json_is_string(json_object_get(f, "message")));
        REQUIRE(json_string_length(json_object_get(f, "error")) > 0);
    }
}

static void request(json_t *req)
{
    json_t *errors = json_array(), *warnings = json_array();
    json_t *again_e = json_array(), *again_w = json_array(), *before;

    REQUIRE(errors && warnings && again_e && again_w);
    gw_enrol_check_at(req, &today, errors, warnings);
    well_formed(errors);
    well_formed(warnings);
    if (json_array_size(errors) == 0) {
        before = json_deep_copy(req);
        REQUIRE(before);
        gw_enrol_check_at(req, &today, again_e, again_w);
        REQUIRE(json_array_size(again_e) == 0);
        REQUIRE(json_equal(before, req));
        json_decref(before);
    }
    json_decref(errors);
    json_decref(warnings);
    json_decref(again_e);
    json_decref(again_w);
}

static void requests(const uint8_t *data, size_t size, const char *s)
{
    static const char *const forms[] = {"person_new", "org_new", "change", "revoke", "handover"};
    json_t *req = json_loadb((const char *)data, size, 0, NULL);
    json_t *str;

    if (req) {
        /* check_at takes any JSON; only objects are requests, but nothing else may crash it either. */
        request(req);
        json_decref(req);
    }
    str = json_string(s);
    if (!str)
        return; /* not UTF-8: the API's JSON parser never lets such a string through */
    for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
        req = json_pack("{s:s, s:O, s:O, s:{s:O, s:O, s:O, s:O, s:O, s:O}, s:{s:O, s:O}, s:{s:O, s:O},"
                        " s:{s:O}, s:{s:O}}",
                        "form", forms[f], "date", str, "sim_pki", str, "subscriber", "full_name", str, "birth_date",
                        str, "id_number", str, "id_issued_date", str, "email", str, "phone", str, "organisation",
                        "code", str, "email", str, "certificate", "serial", str, "valid_to", str, "giver", "full_name",
                        str, "receiver", "full_name", str);
        REQUIRE(req);
        request(req);
        json_decref(req);
    }
    json_decref(str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char s[GW_VALID_INPUT_MAX * 2 + 1];
    size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

    /* The functions take C strings: the input up to its first NUL (and past the length limit). */
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    dates(s);
    numbers(s);
    identity(s);
    requests(data ? data : (const uint8_t *)"", size, s);
    return 0;
}
