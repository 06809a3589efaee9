/*
 * gw_life_rules.c - see gw_life_rules.h.  No I/O, no event loop, no Redis:
 * everything here is a function of its arguments.
 */
#include "gw_life_rules.h"

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"
#include "gw_forms.h"

/*
 * How much of a revocation reason is read: GW_VALID_INPUT_MAX, the API's
 * limit on any form field (not included: gw_valid.h brings the carriers'
 * headers, and these rules need none of them).
 */
#define REASON_MAX 512

/* Stored in Redis as progress.step: never rename one. */
static const char *const step_names[GW_LIFE_STEP_COUNT] = {"read",   "register", "genkey",   "csr",    "cmp",
                                                           "retire", "putcert",  "activate", "revoke", "deactivate"};

const char *gw_life_strerror(enum gw_life_err err)
{
    switch (err) {
    case GW_LIFE_OK: return "ok";
    case GW_LIFE_ERR_CONFIG: return "bad CA configuration";
    case GW_LIFE_ERR_NOMEM: return "out of memory";
    case GW_LIFE_ERR_THREAD: return "cannot start the CMP worker";
    case GW_LIFE_ERR_INVALID: return "invalid request for the lifecycle engine";
    }
    return "unknown error";
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

const char *gw_life_step_name(enum gw_life_step s)
{
    return (unsigned)s < GW_LIFE_STEP_COUNT ? step_names[s] : "?";
}

enum gw_life_step gw_life_step_parse(const char *name)
{
    for (int s = 0; name && s < GW_LIFE_STEP_COUNT; s++)
        if (strcmp(name, step_names[s]) == 0)
            return (enum gw_life_step)s;
    return GW_LIFE_STEP_COUNT;
}

int gw_life_drives_form(const char *form)
{
    const struct gw_form_info *fi = gw_form_lookup(form ? form : "");
    return fi && fi->kind != GW_FORM_HANDOVER;
}

int gw_life_engine_state(const char *state)
{
    static const char *const owned[] = {"sent_to_ca", "issued", "installed", "done"};
    for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
        if (state && strcmp(state, owned[i]) == 0)
            return 1;
    return 0;
}

/* Lower-case ASCII and strip Vietnamese diacritics, so "Mất", "mat" and "MẤT" match alike. */
static void fold(const char *in, char *out, size_t cap)
{
    static const struct {
        const char *from; /* UTF-8 letters (lower and upper case) that fold to `to` */
        char to;
    } map[] = {
        {"àáảãạăằắẳẵặâầấẩẫậÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ", 'a'},
        {"èéẻẽẹêềếểễệÈÉẺẼẸÊỀẾỂỄỆ", 'e'},
        {"ìíỉĩịÌÍỈĨỊ", 'i'},
        {"òóỏõọôồốổỗộơờớởỡợÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ", 'o'},
        {"ùúủũụưừứửữựÙÚỦŨỤƯỪỨỬỮỰ", 'u'},
        {"ỳýỷỹỵỲÝỶỸỴ", 'y'},
        {"đĐ", 'd'},
    };
    size_t o = 0;
    while (*in && o + 1 < cap) {
        unsigned char c = (unsigned char)*in;
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        char ch = c < 0x80 ? (char)(c >= 'A' && c <= 'Z' ? c + 32 : c) : ' ';
        for (size_t m = 0; n > 1 && m < sizeof(map) / sizeof(map[0]); m++) {
            const char *p = map[m].from;
            for (; *p; p += ((unsigned char)*p < 0xE0 ? 2 : 3))
                if (strncmp(p, in, n) == 0) {
                    ch = map[m].to;
                    break;
                }
            if (ch != ' ')
                break;
        }
        out[o++] = ch;
        for (size_t k = 0; k < n && *in; k++)
            in++;
    }
    out[o] = '\0';
}

enum sig_cmp_reason gw_life_revoke_reason(const char *text)
{
    /* First match wins: a lost device matters more than the post its holder left. */
    static const struct {
        const char *word;
        enum sig_cmp_reason r;
    } rules[] = {
        {"mat thiet bi", SIG_CMP_REASON_KEY_COMPROMISE},
        {"mat sim", SIG_CMP_REASON_KEY_COMPROMISE},
        {"that lac", SIG_CMP_REASON_KEY_COMPROMISE},
        {"danh cap", SIG_CMP_REASON_KEY_COMPROMISE},
        {"lo khoa", SIG_CMP_REASON_KEY_COMPROMISE},
        {"lo ma pin", SIG_CMP_REASON_KEY_COMPROMISE},
        {"lo pin", SIG_CMP_REASON_KEY_COMPROMISE},
        {"lo lot", SIG_CMP_REASON_KEY_COMPROMISE},
        {"xam pham", SIG_CMP_REASON_KEY_COMPROMISE},
        {"lost", SIG_CMP_REASON_KEY_COMPROMISE},
        {"stolen", SIG_CMP_REASON_KEY_COMPROMISE},
        {"compromise", SIG_CMP_REASON_KEY_COMPROMISE},
        {"sap nhap", SIG_CMP_REASON_SUPERSEDED},
        {"hop nhat", SIG_CMP_REASON_SUPERSEDED},
        {"merge", SIG_CMP_REASON_SUPERSEDED},
        {"thay the", SIG_CMP_REASON_SUPERSEDED},
        {"supersede", SIG_CMP_REASON_SUPERSEDED},
        {"chuyen cong tac", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"ngoai khu vuc", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"ngoai co quan nha nuoc", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"thay doi", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"moved", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"affiliation", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"thoi giu chuc vu", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"nghi huu", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"nghi viec", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"giai the", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"cham dut", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"left", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"retire", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"cessation", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"tam dung", SIG_CMP_REASON_CERTIFICATE_HOLD},
        {"suspend", SIG_CMP_REASON_CERTIFICATE_HOLD},
    };
    char f[REASON_MAX + 1];
    int named = text ? sig_cmp_reason_parse(text) : -1;

    if (named >= 0) /* an RFC 5280 name; the CA-only ones are not the subscriber's to give */
        return sig_cmp_reason_name((enum sig_cmp_reason)named) ? (enum sig_cmp_reason)named
                                                               : SIG_CMP_REASON_UNSPECIFIED;
    fold(text ? text : "", f, sizeof(f));
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (strstr(f, rules[i].word))
            return rules[i].r;
    return SIG_CMP_REASON_UNSPECIFIED;
}

/* One attribute of a certificate's subject (UTF-8) into out; "" when absent. */
static void cert_attr(const unsigned char *der, size_t len, int nid, char *out, size_t cap)
{
    const unsigned char *p = der;
    X509 *x = der ? d2i_X509(NULL, &p, (long)len) : NULL;
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    int i = n ? X509_NAME_get_index_by_NID(n, nid, -1) : -1;
    unsigned char *u = NULL;
    int ulen = i >= 0 ? ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i))) : -1;

    out[0] = '\0';
    if (ulen > 0 && (size_t)ulen < cap) {
        memcpy(out, u, (size_t)ulen);
        out[ulen] = '\0';
    }
    OPENSSL_free(u);
    X509_free(x);
}

static int subject_fail(char *why, size_t whylen, const char *field)
{
    snprintf(why, whylen, "%s is needed for the certificate subject", field);
    return -1;
}

/* code when it is a tax code (digits and '-', not a 7-digit budget code), else NULL. */
static const char *mst_of(const char *code)
{
    return code && strspn(code, "0123456789-") == strlen(code) && strlen(code) != 7 ? code : NULL;
}

int gw_life_subject(const json_t *request, const unsigned char *fallback, size_t fallback_len,
                    struct sig_csr_subject *out, struct gw_life_subject_buf *buf, char *why, size_t whylen)
{
    const json_t *sub = json_object_get(request, "subscriber"), *org = json_object_get(request, "organisation");
    const char *form = jstr(request, "form") ? jstr(request, "form") : "";
    int org_new = strcmp(form, "org_new") == 0;
    /* A change of an organisation's certificate (gw_forms.h: the form's organisation object) is org_new's subject. */
    int is_org = org_new || (strcmp(form, "change") == 0 && json_is_object(org));
    const char *id;

    memset(out, 0, sizeof(*out));
    cert_attr(fallback, fallback_len, NID_stateOrProvinceName, buf->st, sizeof(buf->st));
    cert_attr(fallback, fallback_len, NID_organizationName, buf->o, sizeof(buf->o));
    cert_attr(fallback, fallback_len, NID_userId, buf->uid, sizeof(buf->uid));
    /* An organisation's province is its own; the key keeper's is only org_new's last word before the place. */
    out->province = is_org && jstr(org, "province")                 ? jstr(org, "province")
                    : (!is_org || org_new) && jstr(sub, "province") ? jstr(sub, "province")
                    : buf->st[0]                                    ? buf->st
                                                                    : jstr(request, "place");
    if (!out->province)
        return subject_fail(why, whylen,
                            is_org ? "organisation.province (or place)" : "subscriber.province (or place)");
    if (is_org) {
        out->organisation = jstr(org, "name");
        out->common_name = out->organisation;
        out->email = jstr(org, "email") ? jstr(org, "email") : jstr(sub, "email");
        out->id_kind = SIG_CSR_ID_MST;
        out->id_number = mst_of(jstr(org, "code"));
        if (!out->id_number && strncmp(buf->uid, "MST:", 4) == 0)
            out->id_number = mst_of(buf->uid + 4); /* a change keeps the old certificate's tax code */
        if (!out->organisation)
            return subject_fail(why, whylen, "organisation.name");
        if (!out->id_number) {
            snprintf(why, whylen, "organisation.code: the certificate's UID needs a tax code (MST)");
            return -1;
        }
        return 0;
    }
    out->common_name = jstr(sub, "full_name");
    out->organisation = jstr(sub, "organisation") ? jstr(sub, "organisation")
                        : buf->o[0]               ? buf->o
                                                  : jstr(request, "unit");
    out->email = jstr(sub, "email");
    out->id_kind = SIG_CSR_ID_CCCD;
    id = jstr(sub, "id_number");
    if (!id && strncmp(buf->uid, "CCCD:", 5) == 0)
        id = buf->uid + 5;
    out->id_number = id;
    if (!out->common_name)
        return subject_fail(why, whylen, "subscriber.full_name");
    if (!out->organisation)
        return subject_fail(why, whylen, "subscriber.organisation (or unit)");
    if (!id || strlen(id) != 12 || strspn(id, "0123456789") != 12) {
        snprintf(why, whylen, "subscriber.id_number: the certificate's UID needs a 12-digit CCCD number");
        return -1;
    }
    return 0;
}

static int iccid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return (n == 19 || n == 20) && strspn(s, "0123456789") == n && strncmp(s, "89", 2) == 0;
}

static json_t *progress_fail(enum gw_life_err *err, char *field, size_t fieldlen, const char *f, char *why,
                             size_t whylen, const char *msg)
{
    *err = GW_LIFE_ERR_INVALID;
    snprintf(field, fieldlen, "%s", f);
    snprintf(why, whylen, "%s", msg);
    return NULL;
}

json_t *gw_life_progress_new(const json_t *request, const json_t *sim, int default_key_alg, enum gw_life_err *err,
                             char *field, size_t fieldlen, char *why, size_t whylen)
{
    const struct gw_form_info *fi = gw_form_lookup(jstr(request, "form") ? jstr(request, "form") : "");
    const char *sp = jstr(request, "sim_pki");
    int cs = sp && strstr(sp, "/cs") != NULL, kv = 1, alg = default_key_alg;
    const char *iccid, *key;
    json_t *v, *p;

    if (!fi || fi->kind == GW_FORM_HANDOVER)
        return progress_fail(err, field, fieldlen, "form", why, whylen, "the engine does not drive this form");
    if (!jstr(json_object_get(request, "subscriber"), "phone"))
        return progress_fail(err, field, fieldlen, "subscriber.phone", why, whylen,
                             "the engine finds the registry entry by subscriber.phone; file the request with it");
    if (sim && !json_is_object(sim))
        return progress_fail(err, field, fieldlen, "sim", why, whylen, "sim must be an object");
    if (!sim && (fi->kind == GW_FORM_PERSON_NEW || fi->kind == GW_FORM_ORG_NEW || cs))
        return progress_fail(err, field, fieldlen, "sim", why, whylen,
                             "give the new SIM: \"sim\": {\"iccid\": ..., \"kv\": 1, \"key_alg\": ...}");
    if (sim && fi->kind == GW_FORM_REVOKE)
        return progress_fail(err, field, fieldlen, "sim", why, whylen, "a revocation takes no SIM");
    json_object_foreach((json_t *)sim, key, v)
    {
        if (strcmp(key, "iccid") != 0 && strcmp(key, "kv") != 0 && strcmp(key, "key_alg") != 0)
            return progress_fail(err, field, fieldlen, "sim", why, whylen, "sim takes iccid, kv and key_alg only");
    }
    iccid = sim ? json_string_value(json_object_get(sim, "iccid")) : NULL;
    if (sim && !iccid_ok(iccid))
        return progress_fail(err, field, fieldlen, "sim.iccid", why, whylen, "an ICCID is 19 or 20 digits from 89");
    v = sim ? json_object_get(sim, "kv") : NULL;
    if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 15))
        return progress_fail(err, field, fieldlen, "sim.kv", why, whylen, "the OTA key version is 1..15");
    if (v)
        kv = (int)json_integer_value(v);
    v = sim ? json_object_get(sim, "key_alg") : NULL;
    if (v && json_is_string(v) && strcmp(json_string_value(v), "rsa2048") == 0)
        alg = CFG_KEY_RSA2048;
    else if (v && json_is_string(v) && strcmp(json_string_value(v), "ecp256") == 0)
        alg = CFG_KEY_ECP256;
    else if (v)
        return progress_fail(err, field, fieldlen, "sim.key_alg", why, whylen, "key_alg is rsa2048 or ecp256");
    p = json_pack("{s:s, s:i}", "step", gw_life_step_name(GW_LIFE_STEP_READ), "attempts", 0);
    if (p && sim)
        json_object_update_new(p, json_pack("{s:s, s:i, s:i}", "iccid", iccid, "kv", kv, "key_alg", alg));
    *err = p ? GW_LIFE_OK : GW_LIFE_ERR_NOMEM;
    return p;
}

int gw_life_sim_result_temporary(const char *result)
{
    static const char *const again[] = {"EXPIRED", "DELIVERY_ERROR", "OTA_ERROR", "INTERNAL_ERROR"};
    for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++)
        if (strcmp(result, again[i]) == 0)
            return 1;
    return 0;
}

int gw_life_serial_eq(const char *a, const char *b)
{
    while (*a == '0')
        a++;
    while (*b == '0')
        b++;
    return strcasecmp(a, b) == 0;
}

/* Copy at most max whole UTF-8 characters of s (a name on a 90-character SIM screen). */
static void utf8_prefix(char *out, size_t cap, const char *s, size_t max)
{
    size_t i = 0;
    for (size_t chars = 0; s && s[i] && chars < max; chars++) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + n >= cap || strnlen(s + i, n) < n)
            break;
        memcpy(out + i, s + i, n);
        i += n;
    }
    out[i] = '\0';
}

void gw_life_display_text(const json_t *request, const char *what, char *out, size_t cap)
{
    char name[200];
    const char *holder = jstr(json_object_get(request, "subscriber"), "full_name");
    if (!holder) /* an organisation's certificate (org_new, or its change) may name no key keeper */
        holder = jstr(json_object_get(request, "organisation"), "name");
    utf8_prefix(name, sizeof(name), holder, 36);
    snprintf(out, cap, "%s %s? Nhập PIN để đồng ý", what, name);
}
