/* ar_event.c - a stream entry into its archive row (ar_event.h, docs/archive.md "Event bodies"). */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ar_event.h"
#include "digest.h"
#include "q.h"
#include "sig.h"
#include "util.h"

#define ENR_STREAM "spk:{enr}:ev"

/* What one build carries: the entry, the body so far, and the first problem. */
struct bld {
    const struct q_event *ev;
    struct ar_row *row;
    json_t *body;
    int nomem;
    char why[160];
};

static void bad(struct bld *b, const char *field, const char *what)
{
    if (!b->why[0])
        snprintf(b->why, sizeof b->why, "%s: %s", field, what);
}

/* The entry's first field called name, or NULL. */
static const struct q_ev_field *fld(const struct q_event *ev, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < ev->n_fields; i++) {
        const struct q_ev_field *f = &ev->fields[i];
        if (f->name_len == n && memcmp(f->name, name, n) == 0)
            return f;
    }
    return NULL;
}

/* The field's value when present and not empty, else NULL. */
static const struct q_ev_field *val(const struct q_event *ev, const char *name)
{
    const struct q_ev_field *f = fld(ev, name);
    return f && f->len ? f : NULL;
}

/* A strict decimal integer in lo..hi: "-"? digits, nothing else.  0 on success. */
static int parse_i64(const uint8_t *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t x = 0, lim;

    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || n - i > 19)
        return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (x > (lim - (uint64_t)(s[i] - '0')) / 10)
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    *out = neg ? (x == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)x) : (int64_t)x;
    return *out < lo || *out > hi ? -1 : 0;
}

/* UTF-8 without NUL: PostgreSQL's text and jsonb take no NUL. */
static int utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    uint32_t cp;
    while (i < n) {
        if (util_utf8_next(s, n, &i, &cp) != 0 || cp == 0)
            return 0;
    }
    return 1;
}

/* A malloc'd NUL-terminated copy of a field's value (NULL when absent or empty, or on no memory). */
static char *dup_val(struct bld *b, const struct q_ev_field *f)
{
    char *s;
    if (!f || !f->len)
        return NULL;
    s = malloc(f->len + 1);
    if (!s) {
        b->nomem = 1;
        return NULL;
    }
    memcpy(s, f->val, f->len);
    s[f->len] = '\0';
    return s;
}

static void set(struct bld *b, json_t *obj, const char *key, json_t *v)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        b->nomem = 1;
}

int ar_time_ms(int64_t ms, char out[32])
{
    int64_t sec = ms / 1000, rem = ms % 1000;
    time_t t;
    struct tm tm;

    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    t = (time_t)sec;
    if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
        return -1;
    if (strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm) != 19)
        return -1;
    out[19] = '.';
    out[20] = (char)('0' + rem / 100);
    out[21] = (char)('0' + rem / 10 % 10);
    out[22] = (char)('0' + rem % 10);
    out[23] = 'Z';
    out[24] = '\0';
    return 0;
}

static json_t *time_json(struct bld *b, const char *field, int64_t ms)
{
    char t[32];
    if (ar_time_ms(ms, t) != 0) {
        bad(b, field, "time out of range");
        return NULL;
    }
    return json_string(t);
}

/* Text fields (UTF-8 checked). */
static void put_str(struct bld *b, json_t *obj, const char *key, const char *field)
{
    const struct q_ev_field *f = val(b->ev, field);
    if (!f)
        return;
    if (!utf8_ok(f->val, f->len)) {
        bad(b, field, "not UTF-8");
        return;
    }
    set(b, obj, key, json_stringn_nocheck((const char *)f->val, f->len));
}

/* Integer fields; *out (may be NULL) gets the value, has 0 when absent. */
static int put_int(struct bld *b, json_t *obj, const char *key, const char *field, int64_t lo, int64_t hi, int64_t *out)
{
    const struct q_ev_field *f = val(b->ev, field);
    int64_t x;
    if (!f)
        return 0;
    if (parse_i64(f->val, f->len, lo, hi, &x) != 0) {
        bad(b, field, "not a number in range");
        return 0;
    }
    if (out)
        *out = x;
    if (obj)
        set(b, obj, key, json_integer((json_int_t)x));
    return 1;
}

static void put_b64(struct bld *b, json_t *obj, const char *key, const char *field)
{
    const struct q_ev_field *f = val(b->ev, field);
    char *s;
    if (!f)
        return;
    s = util_b64_encode(f->val, f->len);
    if (!s) {
        b->nomem = 1;
        return;
    }
    set(b, obj, key, json_string(s));
    free(s);
}

/* A time in ms from field into obj[key]. */
static void put_time(struct bld *b, json_t *obj, const char *key, const char *field)
{
    int64_t ms;
    if (put_int(b, NULL, key, field, INT64_MIN / 2, INT64_MAX / 2, &ms))
        set(b, obj, key, time_json(b, field, ms));
}

/* A small number written as a name from names[] (n of them); an unknown one is left out when lax. */
static void put_enum(struct bld *b, const char *key, const char *field, const char *const *names, size_t n,
                     const char *dflt)
{
    int64_t x;
    if (!put_int(b, NULL, key, field, 0, (int64_t)n - 1, &x)) {
        if (dflt && !val(b->ev, field))
            set(b, b->body, key, json_string(dflt));
        return;
    }
    set(b, b->body, key, json_string(names[x]));
}

/* The certificate: DER to archive_certs, the body names it by hash and serial. */
static void put_cert(struct bld *b)
{
    const struct q_ev_field *f = val(b->ev, "cert");
    struct ar_row *r = b->row;
    struct sig_cert_summary cs;
    char hex[65];

    if (!f)
        return;
    r->cert_der = malloc(f->len);
    if (!r->cert_der) {
        b->nomem = 1;
        return;
    }
    memcpy(r->cert_der, f->val, f->len);
    r->cert_len = f->len;
    SHA256(f->val, f->len, r->cert_sha256);
    r->has_cert = 1;
    set(b, b->body, "cert_sha256", json_string(util_hex(r->cert_sha256, 32, hex)));
    /* A certificate OpenSSL cannot read is still kept, named by hash: the serial is left out. */
    if (sig_cert_summary(f->val, f->len, &cs) == SIG_OK) {
        r->cert_serial = strdup(cs.serial_hex);
        if (!r->cert_serial)
            b->nomem = 1;
        set(b, b->body, "cert_serial", json_string(cs.serial_hex));
    }
}

static void build_signature(struct bld *b)
{
    static const char *const formats[] = {"raw", "cms"};
    static const char *const ops[] = {"sign", "genkey", "csr", "putcert"};
    json_t *body = b->body, *times = json_object();
    struct ar_row *r = b->row;
    int64_t x;

    if (!times) {
        b->nomem = 1;
        return;
    }
    put_str(b, body, "txn_id", "id");
    put_str(b, body, "rp", "rp");
    put_str(b, body, "msisdn", "msisdn");
    put_str(b, body, "client_ref", "client_ref");
    put_enum(b, "op", "op", ops, 4, "sign");
    put_str(b, body, "state", "state");
    put_str(b, body, "result", "result");
    put_int(b, body, "etsi_status", "etsi_status", 0, 999, NULL);
    put_str(b, body, "detail", "detail");
    if (put_int(b, NULL, "digest_alg", "digest_alg", 0, 255, &x) && dg_name(dg_from_int((long)x)))
        set(b, body, "digest_alg", json_string(dg_name(dg_from_int((long)x))));
    put_b64(b, body, "digest", "digest");
    put_b64(b, body, "doc_digest", "doc_digest");
    put_str(b, body, "display_text", "display_text");
    put_str(b, body, "vc", "vc");
    put_enum(b, "format", "format", formats, 2, "raw");
    put_int(b, body, "net", "net", INT32_MIN, INT32_MAX, NULL);
    put_str(b, body, "transport", "transport");
    put_str(b, body, "link", "link");
    put_str(b, body, "far_ref", "far_ref");
    put_int(b, body, "cntr", "cntr", 0, INT64_MAX, NULL);
    put_int(b, body, "resent", "resent", 0, UINT32_MAX, NULL);
    put_time(b, times, "created", "created_ms");
    put_time(b, times, "sent", "sent_ms");
    put_time(b, times, "finished", "finished_ms");
    put_time(b, times, "deadline", "deadline_ms");
    put_time(b, times, "receipt", "receipt_ms");
    set(b, body, "times", times);
    put_b64(b, body, "signature", "signature");
    put_cert(b);
    put_b64(b, body, "ocsp", "ocsp");
    if (put_int(b, NULL, "signing_time", "signing_time", 0, INT64_MAX / 1000, &x))
        set(b, body, "signing_time", time_json(b, "signing_time", x * 1000));
    if (!val(b->ev, "id"))
        bad(b, "id", "missing");
    r->txn_id = dup_val(b, val(b->ev, "id"));
    r->rp = dup_val(b, val(b->ev, "rp"));
    r->msisdn = dup_val(b, val(b->ev, "msisdn"));
}

static void build_receipt(struct bld *b)
{
    put_str(b, b->body, "txn_id", "id");
    put_str(b, b->body, "rp", "rp");
    put_str(b, b->body, "message", "receipt");
    if (!val(b->ev, "id"))
        bad(b, "id", "missing");
    b->row->txn_id = dup_val(b, val(b->ev, "id"));
    b->row->rp = dup_val(b, val(b->ev, "rp"));
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

static char *upper_dup(struct bld *b, const char *s)
{
    char *d = strdup(s);
    if (!d) {
        b->nomem = 1;
        return NULL;
    }
    for (char *p = d; *p; p++) {
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    }
    return d;
}

static void build_request(struct bld *b)
{
    const struct q_ev_field *f = val(b->ev, "doc");
    const json_t *req;
    const char *phone, *serial;
    json_t *doc;
    json_error_t jerr;
    struct ar_row *r = b->row;

    put_str(b, b->body, "request_id", "id");
    put_int(b, b->body, "rev", "rev", 0, INT64_MAX, NULL);
    if (!val(b->ev, "id"))
        bad(b, "id", "missing");
    if (!f) {
        bad(b, "doc", "missing");
        return;
    }
    doc = json_loadb((const char *)f->val, f->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        bad(b, "doc", "not a JSON object");
        return;
    }
    req = json_object_get(doc, "request");
    if (jstr(doc, "state"))
        set(b, b->body, "state", json_string(jstr(doc, "state")));
    if (jstr(req, "form"))
        set(b, b->body, "form", json_string(jstr(req, "form")));
    /* The number as the transactions store it, so that one search finds both. */
    phone = jstr(json_object_get(req, "subscriber"), "phone");
    if (phone) {
        char intl[32];
        if (phone[0] == '0' && strlen(phone) < sizeof intl - 2)
            snprintf(intl, sizeof intl, "84%s", phone + 1);
        else
            snprintf(intl, sizeof intl, "%.31s", phone);
        r->msisdn = strdup(intl);
        if (!r->msisdn)
            b->nomem = 1;
        set(b, b->body, "msisdn", json_string(intl));
    }
    serial = jstr(json_object_get(doc, "result"), "serial");
    if (!serial)
        serial = jstr(json_object_get(req, "certificate"), "serial");
    if (serial) {
        r->cert_serial = upper_dup(b, serial);
        if (r->cert_serial)
            set(b, b->body, "cert_serial", json_string(r->cert_serial));
    }
    set(b, b->body, "document", doc);
}

/* The common head of every body; 0, or -1 when eid, kind or at is not there. */
static int build_head(struct bld *b, const char **type)
{
    const struct q_ev_field *eid = val(b->ev, "eid"), *kind = val(b->ev, "kind"), *at = val(b->ev, "at");
    const struct q_ev_field *ty = val(b->ev, "type");
    struct ar_row *r = b->row;

    if (!eid || !utf8_ok(eid->val, eid->len)) {
        bad(b, "eid", "missing");
        return -1;
    }
    if (kind && kind->len == 4 && memcmp(kind->val, "sign", 4) == 0) {
        r->kind = "sign";
    } else if (kind && kind->len == 4 && memcmp(kind->val, "cert", 4) == 0) {
        r->kind = "cert";
    } else {
        bad(b, "kind", "missing or not sign|cert");
        return -1;
    }
    if (!at || parse_i64(at->val, at->len, 0, INT64_MAX / 2, &r->at_ms) != 0) {
        bad(b, "at", "missing or not a number");
        return -1;
    }
    if (ty && ty->len == 9 && memcmp(ty->val, "signature", 9) == 0) {
        *type = "signature";
    } else if (ty && ty->len == 7 && memcmp(ty->val, "receipt", 7) == 0) {
        *type = "receipt";
    } else if (ty && ty->len == 7 && memcmp(ty->val, "request", 7) == 0) {
        *type = "request";
    } else {
        bad(b, "type", "missing or unknown");
        return -1;
    }
    r->event_id = dup_val(b, eid);
    r->etype = strdup(*type);
    if (!r->etype)
        b->nomem = 1;
    set(b, b->body, "event_id", json_stringn_nocheck((const char *)eid->val, eid->len));
    set(b, b->body, "kind", json_string(r->kind));
    set(b, b->body, "type", json_string(*type));
    set(b, b->body, "at", time_json(b, "at", r->at_ms));
    set(b, b->body, "at_ms", json_integer((json_int_t)r->at_ms));
    return b->why[0] ? -1 : 0;
}

/* The entry id's milliseconds ("1765000000123-0"), or 0. */
static int64_t entry_ms(const char *entry)
{
    int64_t ms = 0;
    const char *dash = strchr(entry, '-');
    size_t n = dash ? (size_t)(dash - entry) : strlen(entry);
    if (parse_i64((const uint8_t *)entry, n, 0, INT64_MAX / 2, &ms) != 0)
        return 0;
    return ms;
}

static json_t *b64_json(struct bld *b, const uint8_t *p, size_t n)
{
    char *s = util_b64_encode(p, n);
    json_t *j;
    if (!s) {
        b->nomem = 1;
        return NULL;
    }
    j = json_string(s);
    free(s);
    if (!j)
        b->nomem = 1;
    return j;
}

/* Everything the entry holds, as it came, under an id of its own (see ar_event.h). */
static void build_malformed(struct bld *b)
{
    const struct q_event *ev = b->ev;
    const struct q_ev_field *at = val(ev, "at");
    struct ar_row *r = b->row;
    json_t *fields = json_array();
    char *id;
    size_t idlen;

    ar_row_clear(r);
    b->body = json_object();
    if (!b->body || !fields) {
        json_decref(fields);
        b->nomem = 1;
        return;
    }
    r->kind = strcmp(ev->stream, ENR_STREAM) == 0 ? "cert" : "sign";
    if (!at || parse_i64(at->val, at->len, 0, INT64_MAX / 2, &r->at_ms) != 0)
        r->at_ms = entry_ms(ev->entry);
    idlen = strlen("malformed:") + strlen(ev->stream) + 1 + strlen(ev->entry) + 1;
    id = malloc(idlen);
    r->etype = strdup("malformed");
    if (!id || !r->etype) {
        free(id);
        b->nomem = 1;
        json_decref(fields);
        return;
    }
    snprintf(id, idlen, "malformed:%s:%s", ev->stream, ev->entry);
    r->event_id = id;
    for (size_t i = 0; i < ev->n_fields; i++) {
        const struct q_ev_field *f = &ev->fields[i];
        json_t *pair = json_array();
        if (!pair || json_array_append_new(pair, b64_json(b, (const uint8_t *)f->name, f->name_len)) != 0 ||
            json_array_append_new(pair, b64_json(b, f->val, f->len)) != 0 || json_array_append_new(fields, pair) != 0)
            b->nomem = 1;
    }
    set(b, b->body, "fields", fields);
    set(b, b->body, "event_id", json_string(id));
    set(b, b->body, "kind", json_string(r->kind));
    set(b, b->body, "type", json_string("malformed"));
    set(b, b->body, "stream", json_string(ev->stream));
    set(b, b->body, "entry", json_string(ev->entry));
    set(b, b->body, "why", json_string(b->why));
    {
        char t[32];
        if (ar_time_ms(r->at_ms, t) != 0) {
            r->at_ms = 0;
            ar_time_ms(0, t);
        }
        set(b, b->body, "at", json_string(t));
    }
    set(b, b->body, "at_ms", json_integer((json_int_t)r->at_ms));
}

enum ar_ev_rc ar_event_build(const struct q_event *ev, struct ar_row *row, char *why, size_t whylen)
{
    struct bld b;
    const char *type = NULL;
    int malformed = 0;

    memset(row, 0, sizeof *row);
    memset(&b, 0, sizeof b);
    b.ev = ev;
    b.row = row;
    b.body = json_object();
    if (!b.body)
        return AR_EV_NOMEM;
    if (build_head(&b, &type) == 0) {
        if (strcmp(type, "signature") == 0)
            build_signature(&b);
        else if (strcmp(type, "receipt") == 0)
            build_receipt(&b);
        else
            build_request(&b);
    }
    if (!b.nomem && b.why[0]) {
        malformed = 1;
        json_decref(b.body);
        b.body = NULL;
        build_malformed(&b);
    }
    if (!b.nomem) {
        row->body = json_dumps(b.body, JSON_COMPACT | JSON_SORT_KEYS);
        if (!row->body)
            b.nomem = 1;
        else
            row->body_len = strlen(row->body);
    }
    json_decref(b.body);
    if (b.nomem) {
        ar_row_clear(row);
        return AR_EV_NOMEM;
    }
    if (malformed && why && whylen)
        snprintf(why, whylen, "%s", b.why);
    return malformed ? AR_EV_MALFORMED : AR_EV_OK;
}

void ar_row_clear(struct ar_row *row)
{
    if (!row)
        return;
    free(row->event_id);
    free(row->etype);
    free(row->txn_id);
    free(row->msisdn);
    free(row->rp);
    free(row->cert_serial);
    free(row->cert_der);
    free(row->body);
    memset(row, 0, sizeof *row);
}

static int set_opt(json_t *o, const char *key, const char *v)
{
    return v ? json_object_set_new(o, key, json_string(v)) : 0;
}

json_t *ar_row_json(const struct ar_row *row)
{
    json_t *o = json_object();
    char *b64 = util_b64_encode((const uint8_t *)row->body, row->body_len);
    char hex[65];
    int rc = 0;

    if (!o || !b64) {
        json_decref(o);
        free(b64);
        return NULL;
    }
    rc |= json_object_set_new(o, "kind", json_string(row->kind));
    rc |= json_object_set_new(o, "at_ms", json_integer((json_int_t)row->at_ms));
    rc |= json_object_set_new(o, "event_id", json_string(row->event_id));
    rc |= json_object_set_new(o, "etype", json_string(row->etype));
    rc |= json_object_set_new(o, "body", json_string(b64));
    rc |= set_opt(o, "txn_id", row->txn_id);
    rc |= set_opt(o, "msisdn", row->msisdn);
    rc |= set_opt(o, "rp", row->rp);
    rc |= set_opt(o, "cert_serial", row->cert_serial);
    if (row->has_cert)
        rc |= set_opt(o, "cert_sha256", util_hex(row->cert_sha256, 32, hex));
    free(b64);
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ar_row_cert_json(const struct ar_row *row)
{
    char hex[65], *b64;
    json_t *o;

    if (!row->has_cert)
        return NULL;
    b64 = util_b64_encode(row->cert_der, row->cert_len);
    if (!b64)
        return NULL;
    o = json_pack("{s:s, s:s}", "sha256", util_hex(row->cert_sha256, 32, hex), "der", b64);
    free(b64);
    return o;
}
