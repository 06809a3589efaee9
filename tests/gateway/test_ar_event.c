/*
 * test_ar_event.c - gateway/archive/ar_event.c: the exact body octets of a
 * fixed signature, receipt and request entry (docs/archive.md "Event
 * bodies"), binary fields, the certificate's hash and serial, and entries
 * that are malformed (archived as such, nothing lost).
 */
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "ar_event.h"
#include "check.h"
#include "util.h"

#define MAXF 48

struct entry {
    struct q_event ev;
    struct q_ev_field f[MAXF];
};

static void init(struct entry *e, const char *stream, const char *id)
{
    memset(e, 0, sizeof *e);
    snprintf(e->ev.stream, sizeof e->ev.stream, "%s", stream);
    snprintf(e->ev.entry, sizeof e->ev.entry, "%s", id);
    e->ev.fields = e->f;
}

static void addn(struct entry *e, const char *name, const void *v, size_t len)
{
    struct q_ev_field *f = &e->f[e->ev.n_fields++];
    f->name = name;
    f->name_len = strlen(name);
    f->val = v;
    f->len = len;
}

static void add(struct entry *e, const char *name, const char *v)
{
    addn(e, name, v, strlen(v));
}

/* Replace the value of the entry's first field called name. */
static void put(struct entry *e, const char *name, const void *v, size_t len)
{
    for (size_t i = 0; i < e->ev.n_fields; i++) {
        if (strcmp(e->f[i].name, name) == 0) {
            e->f[i].val = v;
            e->f[i].len = len;
            return;
        }
    }
    CHECK(!"no such field");
}

static const uint8_t digest[32] = {0x00, 0x01, 0x02, 0xfe, 0xff, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60,
                                   0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x00, 0x11,
                                   0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb};
static const uint8_t sig[5] = {0x00, 0x00, 0xff, 0x0a, 0x0d};

/* A signature entry as the finish script writes it (no certificate). */
static void sign_entry(struct entry *e)
{
    init(e, "spk:{7}:ev", "1765000000123-0");
    add(e, "eid", "07aabbccddeeff0011223344");
    add(e, "kind", "sign");
    add(e, "type", "signature");
    add(e, "at", "1765000000123");
    add(e, "id", "07aabbccddeeff0011223344");
    add(e, "rp", "eoffice");
    add(e, "msisdn", "84912345678");
    add(e, "client_ref", "QD-123");
    add(e, "state", "completed");
    add(e, "result", "OK");
    add(e, "etsi_status", "502");
    add(e, "digest_alg", "1");
    addn(e, "digest", digest, sizeof digest);
    add(e, "vc", "1487");
    add(e, "display_text", "K\xc3\xbd Quy\xe1\xba\xbft \xc4\x91\xe1\xbb\x8bnh \"123\"/Q\xc4\x90");
    add(e, "cntr", "42");
    add(e, "net", "1");
    add(e, "created_ms", "1765000000000");
    add(e, "deadline_ms", "1765000180000");
    add(e, "finished_ms", "1765000000123");
    add(e, "sent_ms", "1765000000005");
    add(e, "sent", "1");
    add(e, "doc_digest", ""); /* empty: left out */
    add(e, "format", "0");
    add(e, "transport", "smpp");
    add(e, "link", "viettel-1");
    addn(e, "signature", sig, sizeof sig);
    add(e, "cb_url", "https://x.example/cb"); /* not part of the evidence */
}

static void test_signature_exact(void)
{
    struct entry e;
    struct ar_row r;
    const char *want =
        "{\"at\":\"2025-12-06T05:46:40.123Z\",\"at_ms\":1765000000123,\"client_ref\":\"QD-123\",\"cntr\":42,"
        "\"digest\":\"AAEC/v8QIDBAUGBwgJCgsMDQ4PAAESIzRFVmd4iZqrs=\",\"digest_alg\":\"SHA-256\","
        "\"display_text\":\"K\xc3\xbd Quy\xe1\xba\xbft \xc4\x91\xe1\xbb\x8bnh \\\"123\\\"/Q\xc4\x90\","
        "\"etsi_status\":502,\"event_id\":\"07aabbccddeeff0011223344\",\"format\":\"raw\",\"kind\":\"sign\","
        "\"link\":\"viettel-1\",\"msisdn\":\"84912345678\",\"net\":1,\"op\":\"sign\",\"result\":\"OK\","
        "\"rp\":\"eoffice\",\"signature\":\"AAD/Cg0=\",\"state\":\"completed\","
        "\"times\":{\"created\":\"2025-12-06T05:46:40.000Z\",\"deadline\":\"2025-12-06T05:49:40.000Z\","
        "\"finished\":\"2025-12-06T05:46:40.123Z\",\"sent\":\"2025-12-06T05:46:40.005Z\"},"
        "\"transport\":\"smpp\",\"txn_id\":\"07aabbccddeeff0011223344\",\"type\":\"signature\",\"vc\":\"1487\"}";
    json_t *j;

    sign_entry(&e);
    CHECK_EQ_INT(ar_event_build(&e.ev, &r, NULL, 0), AR_EV_OK);
    CHECK_EQ_STR(r.body, want);
    CHECK_EQ_INT(r.body_len, strlen(want));
    CHECK_EQ_STR(r.kind, "sign");
    CHECK_EQ_INT(r.at_ms, 1765000000123LL);
    CHECK_EQ_STR(r.event_id, "07aabbccddeeff0011223344");
    CHECK_EQ_STR(r.etype, "signature");
    CHECK_EQ_STR(r.txn_id, "07aabbccddeeff0011223344");
    CHECK_EQ_STR(r.msisdn, "84912345678");
    CHECK_EQ_STR(r.rp, "eoffice");
    CHECK(r.cert_serial == NULL);
    CHECK(!r.has_cert);
    CHECK(ar_row_cert_json(&r) == NULL);

    /* The ingest element: body base64, columns beside it, NULLs left out. */
    j = ar_row_json(&r);
    CHECK(j != NULL);
    if (j) {
        uint8_t back[2048];
        const char *b = json_string_value(json_object_get(j, "body"));
        long n = b ? util_b64_decode(b, strlen(b), back, sizeof back) : -1;
        CHECK_EQ_INT(n, (long)strlen(want));
        CHECK(n > 0 && memcmp(back, want, (size_t)n) == 0);
        CHECK_EQ_INT(json_integer_value(json_object_get(j, "at_ms")), 1765000000123LL);
        CHECK_EQ_STR(json_string_value(json_object_get(j, "etype")), "signature");
        CHECK(json_object_get(j, "cert_sha256") == NULL && json_object_get(j, "cert_serial") == NULL);
        json_decref(j);
    }
    ar_row_clear(&r);
    CHECK(r.body == NULL);
    ar_row_clear(NULL);
}

/* A certificate with serial 0A1B2C, made here. */
static uint8_t *make_cert(size_t *len)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    uint8_t *der = NULL;
    int n;

    ASN1_INTEGER_set(sn, 0x0a1b2c);
    X509_set_serialNumber(x, sn);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"t", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    n = i2d_X509(x, &der);
    *len = n > 0 ? (size_t)n : 0;
    ASN1_INTEGER_free(sn);
    X509_free(x);
    EVP_PKEY_free(k);
    return der;
}

static void test_cert_and_cms(void)
{
    struct entry e;
    struct ar_row r;
    size_t clen = 0;
    uint8_t *cert = make_cert(&clen), h[32];
    char hex[65];
    json_t *body, *cj;

    CHECK(cert && clen > 0);
    SHA256(cert, clen, h);
    util_hex(h, 32, hex);
    sign_entry(&e);
    addn(&e, "cert", cert, clen);
    addn(&e, "ocsp", "\x30\x03\x0a\x01\x00", 5);
    add(&e, "format", "1"); /* the first "format" (0) wins: a field is read once */
    add(&e, "op", "2");
    add(&e, "signing_time", "1765000000");
    add(&e, "receipt_ms", "1765000009999");
    CHECK_EQ_INT(ar_event_build(&e.ev, &r, NULL, 0), AR_EV_OK);
    CHECK(r.has_cert);
    CHECK_EQ_STR(r.cert_serial, "0A1B2C");
    CHECK(r.cert_len == clen && memcmp(r.cert_der, cert, clen) == 0);
    CHECK(memcmp(r.cert_sha256, h, 32) == 0);
    body = json_loads(r.body, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(body, "cert_sha256")), hex);
    CHECK_EQ_STR(json_string_value(json_object_get(body, "cert_serial")), "0A1B2C");
    CHECK_EQ_STR(json_string_value(json_object_get(body, "ocsp")), "MAMKAQA=");
    CHECK_EQ_STR(json_string_value(json_object_get(body, "format")), "raw");
    CHECK_EQ_STR(json_string_value(json_object_get(body, "op")), "csr");
    CHECK_EQ_STR(json_string_value(json_object_get(body, "signing_time")), "2025-12-06T05:46:40.000Z");
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(body, "times"), "receipt")),
                 "2025-12-06T05:46:49.999Z");
    CHECK(strstr(r.body, "\"cert\"") == NULL); /* the DER is in archive_certs, not the body */
    json_decref(body);
    cj = ar_row_json(&r);
    CHECK_EQ_STR(json_string_value(json_object_get(cj, "cert_sha256")), hex);
    CHECK_EQ_STR(json_string_value(json_object_get(cj, "cert_serial")), "0A1B2C");
    json_decref(cj);
    cj = ar_row_cert_json(&r);
    CHECK_EQ_STR(json_string_value(json_object_get(cj, "sha256")), hex);
    {
        char *b64 = util_b64_encode(cert, clen);
        CHECK(b64 && strcmp(json_string_value(json_object_get(cj, "der")), b64) == 0);
        free(b64);
    }
    json_decref(cj);
    ar_row_clear(&r);

    /* Octets that are no certificate: kept and named by hash, no serial. */
    sign_entry(&e);
    add(&e, "cert", "not a certificate");
    CHECK_EQ_INT(ar_event_build(&e.ev, &r, NULL, 0), AR_EV_OK);
    CHECK(r.has_cert && r.cert_serial == NULL);
    CHECK(strstr(r.body, "\"cert_serial\"") == NULL && strstr(r.body, "\"cert_sha256\"") != NULL);
    ar_row_clear(&r);
    OPENSSL_free(cert);
}

static void test_receipt_request(void)
{
    struct entry e;
    struct ar_row r;
    const char *doc = "{\"id\":\"r1\",\"state\":\"issued\",\"rev\":3,\"history\":[{\"state\":\"submitted\",\"at\":"
                      "\"2025-12-06T05:00:00Z\",\"by\":\"hr: Lan\"}],\"request\":{\"form\":\"person_new\","
                      "\"subscriber\":{\"full_name\":\"Nguy\xe1\xbb\x85n V\xc4\x83n A\",\"phone\":\"0912345678\"}},"
                      "\"result\":{\"serial\":\"540a1b\"}}";

    init(&e, "spk:{3}:ev", "1765000009999-1");
    add(&e, "eid", "03aa.receipt.1765000009999");
    add(&e, "kind", "sign");
    add(&e, "type", "receipt");
    add(&e, "at", "1765000009999");
    add(&e, "id", "03aa");
    add(&e, "rp", "eoffice");
    add(&e, "receipt", "got it");
    add(&e, "receipt_ms", "1765000009999");
    CHECK_EQ_INT(ar_event_build(&e.ev, &r, NULL, 0), AR_EV_OK);
    CHECK_EQ_STR(r.body, "{\"at\":\"2025-12-06T05:46:49.999Z\",\"at_ms\":1765000009999,\"event_id\":"
                         "\"03aa.receipt.1765000009999\",\"kind\":\"sign\",\"message\":\"got it\",\"rp\":"
                         "\"eoffice\",\"txn_id\":\"03aa\",\"type\":\"receipt\"}");
    CHECK_EQ_STR(r.txn_id, "03aa");
    CHECK(r.msisdn == NULL);
    ar_row_clear(&r);

    init(&e, "spk:{enr}:ev", "1765000000000-0");
    add(&e, "eid", "r1.3");
    add(&e, "kind", "cert");
    add(&e, "type", "request");
    add(&e, "at", "1765000000000");
    add(&e, "id", "r1");
    add(&e, "rev", "3");
    add(&e, "doc", doc);
    CHECK_EQ_INT(ar_event_build(&e.ev, &r, NULL, 0), AR_EV_OK);
    CHECK_EQ_STR(r.body,
                 "{\"at\":\"2025-12-06T05:46:40.000Z\",\"at_ms\":1765000000000,\"cert_serial\":\"540A1B\","
                 "\"document\":{\"history\":[{\"at\":\"2025-12-06T05:00:00Z\",\"by\":\"hr: Lan\",\"state\":"
                 "\"submitted\"}],\"id\":\"r1\",\"request\":{\"form\":\"person_new\",\"subscriber\":{\"full_name\":"
                 "\"Nguy\xe1\xbb\x85n V\xc4\x83n A\",\"phone\":\"0912345678\"}},\"result\":{\"serial\":\"540a1b\"},"
                 "\"rev\":3,\"state\":\"issued\"},\"event_id\":\"r1.3\",\"form\":\"person_new\",\"kind\":\"cert\","
                 "\"msisdn\":\"84912345678\",\"request_id\":\"r1\",\"rev\":3,\"state\":\"issued\",\"type\":"
                 "\"request\"}");
    CHECK_EQ_STR(r.kind, "cert");
    CHECK_EQ_STR(r.msisdn, "84912345678");
    CHECK_EQ_STR(r.cert_serial, "540A1B");
    CHECK(r.txn_id == NULL && r.rp == NULL && !r.has_cert);
    ar_row_clear(&r);
}

/* Something wrong in each: still one row, "malformed", every field kept in base64. */
static void malformed(struct entry *e, const char *why_has, const char *kind, int64_t at_ms)
{
    struct ar_row r;
    char why[200] = "";
    json_t *body, *f;
    char id[120];

    CHECK_EQ_INT(ar_event_build(&e->ev, &r, why, sizeof why), AR_EV_MALFORMED);
    if (!strstr(why, why_has))
        fprintf(stderr, "why: %s (want %s)\n", why, why_has);
    CHECK(strstr(why, why_has) != NULL);
    CHECK_EQ_STR(r.etype, "malformed");
    CHECK_EQ_STR(r.kind, kind);
    CHECK_EQ_INT(r.at_ms, at_ms);
    snprintf(id, sizeof id, "malformed:%s:%s", e->ev.stream, e->ev.entry);
    CHECK_EQ_STR(r.event_id, id);
    CHECK(r.txn_id == NULL && r.msisdn == NULL && r.rp == NULL && !r.has_cert);
    body = json_loads(r.body, 0, NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(body, "type")), "malformed");
    CHECK_EQ_STR(json_string_value(json_object_get(body, "event_id")), id);
    CHECK_EQ_STR(json_string_value(json_object_get(body, "stream")), e->ev.stream);
    CHECK_EQ_STR(json_string_value(json_object_get(body, "entry")), e->ev.entry);
    CHECK_EQ_INT(json_integer_value(json_object_get(body, "at_ms")), at_ms);
    f = json_object_get(body, "fields");
    CHECK_EQ_INT(json_array_size(f), e->ev.n_fields);
    for (size_t i = 0; i < e->ev.n_fields && i < json_array_size(f); i++) {
        uint8_t back[256];
        const char *n = json_string_value(json_array_get(json_array_get(f, i), 0));
        const char *v = json_string_value(json_array_get(json_array_get(f, i), 1));
        long nl = n ? util_b64_decode(n, strlen(n), back, sizeof back) : -1;
        CHECK(nl == (long)e->f[i].name_len && memcmp(back, e->f[i].name, (size_t)nl) == 0);
        nl = v ? util_b64_decode(v, strlen(v), back, sizeof back) : -1;
        CHECK(nl == (long)e->f[i].len && memcmp(back, e->f[i].val, (size_t)nl) == 0);
    }
    json_decref(body);
    ar_row_clear(&r);
}

static void test_malformed(void)
{
    struct entry e;
    struct ar_row r;
    char why[100];

    /* No eid: kind from the stream, at from the entry. */
    init(&e, "spk:{enr}:ev", "1765000000777-3");
    add(&e, "kind", "cert");
    add(&e, "type", "request");
    add(&e, "at", "1765000000700");
    malformed(&e, "eid", "cert", 1765000000700LL);

    /* No at: the entry id's time. */
    init(&e, "spk:{2}:ev", "1765000000777-3");
    add(&e, "eid", "x");
    add(&e, "kind", "sign");
    add(&e, "type", "signature");
    malformed(&e, "at", "sign", 1765000000777LL);

    /* Nothing at all, and a kind that is neither. */
    init(&e, "spk:{2}:ev", "1765000000777-4");
    malformed(&e, "eid", "sign", 1765000000777LL);
    init(&e, "spk:{2}:ev", "5-0");
    add(&e, "eid", "x");
    add(&e, "kind", "other");
    add(&e, "at", "1");
    malformed(&e, "kind", "sign", 1);

    /* Binary where text belongs, a number that is none, a doc that is no object, an unknown type. */
    sign_entry(&e);
    add(&e, "rp", "ignored: the first rp wins");
    put(&e, "rp", "\xff\xfe", 2);
    malformed(&e, "rp: not UTF-8", "sign", 1765000000123LL);
    sign_entry(&e);
    put(&e, "etsi_status", "50x", 3);
    malformed(&e, "etsi_status", "sign", 1765000000123LL);
    sign_entry(&e);
    put(&e, "state", "\0K", 2);
    malformed(&e, "state: not UTF-8", "sign", 1765000000123LL);
    init(&e, "spk:{enr}:ev", "1-0");
    add(&e, "eid", "r.1");
    add(&e, "kind", "cert");
    add(&e, "type", "request");
    add(&e, "at", "1765000000000");
    add(&e, "id", "r");
    add(&e, "doc", "[1,2]");
    malformed(&e, "doc", "cert", 1765000000000LL);
    init(&e, "spk:{1}:ev", "1-0");
    add(&e, "eid", "z");
    add(&e, "kind", "sign");
    add(&e, "type", "bogus");
    add(&e, "at", "12");
    malformed(&e, "type", "sign", 12);

    /* The same malformed entry twice is the same row (idempotent ingest). */
    init(&e, "spk:{2}:ev", "1765000000777-4");
    CHECK_EQ_INT(ar_event_build(&e.ev, &r, why, sizeof why), AR_EV_MALFORMED);
    {
        struct ar_row r2;
        CHECK_EQ_INT(ar_event_build(&e.ev, &r2, why, sizeof why), AR_EV_MALFORMED);
        CHECK_EQ_STR(r.body, r2.body);
        ar_row_clear(&r2);
    }
    ar_row_clear(&r);
}

static void test_time(void)
{
    char t[32];
    CHECK_EQ_INT(ar_time_ms(0, t), 0);
    CHECK_EQ_STR(t, "1970-01-01T00:00:00.000Z");
    CHECK_EQ_INT(ar_time_ms(-1, t), 0);
    CHECK_EQ_STR(t, "1969-12-31T23:59:59.999Z");
    CHECK_EQ_INT(ar_time_ms(253402300799999LL, t), 0);
    CHECK_EQ_STR(t, "9999-12-31T23:59:59.999Z");
    CHECK_EQ_INT(ar_time_ms(253402300800000LL, t), -1);
}

int main(void)
{
    test_signature_exact();
    test_cert_and_cms();
    test_receipt_request();
    test_malformed();
    test_time();
    return check_report("test_ar_event");
}
