/*
 * test_gw_result - the one result table: every code the gateway emits has a
 * row, each row is consistent, and docs/results.md is what the table prints.
 *
 *   test_gw_result DOCS/results.md   run the checks
 *   test_gw_result --markdown        print the table (regenerate the docs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "car.h"
#include "car_etsi_xml.h"
#include "check.h"
#include "gw_result.h"
#include "gw_sign_check.h"
#include "gw_txn.h"
#include "sig.h"

static char *slurp(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap)
            break;
        char *nb = realloc(buf, cap *= 2);
        if (!nb)
            free(buf);
        buf = nb;
    }
    *len = n;
    return buf;
}

static void table_is_sound(void)
{
    size_t n;
    const struct gw_result *t = gw_result_table(&n);

    CHECK(n > 40);
    for (size_t i = 0; i < n; i++) {
        const struct etsi_status *s = etsi_status_find(t[i].etsi);
        CHECK(s != NULL); /* a code an ETSI client knows */
        CHECK(t[i].http >= 200 && t[i].http <= 599);
        CHECK(t[i].kinds != 0 && t[i].meaning && *t[i].meaning);
        /* A refusal is an HTTP error, an outcome a 200 (INTERNAL_ERROR, NO_CERTIFICATE are both: the refusal's). */
        if (t[i].kinds & GW_RES_REFUSAL)
            CHECK(t[i].http >= 400);
        if (t[i].kinds == GW_RES_OUTCOME)
            CHECK_EQ_INT(t[i].http, 200);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(t[i].code, t[j].code) != 0);
    }
}

static void every_emitted_code_has_a_row(void)
{
    /* The request checks (gw_sign_check, gw_sign_body) and the JSON API's refusals. */
    static const char *const refusals[] = {
        "MALFORMED_JSON", "UNKNOWN_FIELD", "INVALID_FIELD", "INVALID_MSISDN", "DIGEST_LENGTH", "TEXT_TOO_LONG",
        "INVALID_TEXT", "UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "BUSY", "UNKNOWN_SUBSCRIBER", "SUBSCRIBER_INACTIVE",
        "UNSUPPORTED_NETWORK", "CERTIFICATE_REFUSED", "IDEMPOTENCY_KEY_REUSED", "UNAVAILABLE", "SHUTTING_DOWN",
        "INTERNAL_ERROR", "METHOD_NOT_ALLOWED", "UNSUPPORTED_MEDIA_TYPE", "ARCHIVE_BACKLOG",
        /* GET /v1/subscribers/{msisdn}/certificate, POST /v1/signatures/{id}/receipt */
        "NO_CERTIFICATE", "NOT_FINISHED"};
    /* The engine's own outcomes beside the transports' and the signer's. */
    static const char *const outcomes[] = {"DELIVERY_ERROR", "OTA_ERROR",         "BAD_ANSWER", "TIMESTAMP_FAILED",
                                           "NO_CERTIFICATE", "INVALID_SIGNATURE", "EXPIRED"};

    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        const struct gw_result *r = gw_result_find(refusals[i]);
        CHECK(r && (r->kinds & GW_RES_REFUSAL));
        if (!r)
            printf("  no row for refusal %s\n", refusals[i]);
    }
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++) {
        const struct gw_result *r = gw_result_find(outcomes[i]);
        CHECK(r && (r->kinds & GW_RES_OUTCOME));
    }
    /* Every transport outcome that ends a transaction. */
    for (int o = 0; o < CAR_OUT_COUNT; o++) {
        if (o == CAR_OUT_COUNTER_LOW || o == CAR_OUT_MORE_TIME)
            continue;
        const struct gw_result *r = gw_result_find(car_outcome_name((enum car_outcome)o));
        CHECK(r && (r->kinds & GW_RES_OUTCOME));
        if (!r)
            printf("  no row for transport outcome %s\n", car_outcome_name((enum car_outcome)o));
    }
    /* Every signer result, with the statuses the signer's own table used to give. */
    for (int e = SIG_OK; e <= SIG_ERR_DIGEST_MISMATCH; e++)
        CHECK(gw_result_find(sig_result_name((enum sig_err)e)) != NULL);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_OK)), 502);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_ERR_REVOKED)), 501);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_ERR_BAD_SIGNATURE)), 503);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_ERR_REVOCATION_UNKNOWN)), 425);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_ERR_CERT_MISMATCH)), 503);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_ERR_CERT_EXPIRED)), 503);
    CHECK_EQ_INT(gw_result_etsi(sig_result_name(SIG_ERR_AGAIN)), 900);
    /* The sweep's expiry is written by a Lua script (queue/q_scripts.h) with this status. */
    CHECK_EQ_INT(gw_result_etsi("EXPIRED"), 208);
}

static void mappings(void)
{
    CHECK_EQ_INT(gw_result_http("BUSY"), 409);
    CHECK_EQ_INT(gw_result_etsi("BUSY"), 406);
    CHECK_EQ_INT(gw_result_etsi("USER_CANCEL"), 401);
    CHECK_EQ_INT(gw_result_http("USER_CANCEL"), 200);
    /* A lookup of a number without a certificate is a 404; the transaction outcome of the same name stays a 200. */
    CHECK_EQ_INT(gw_result_http("NO_CERTIFICATE"), 404);
    CHECK_EQ_INT(gw_result_etsi("NO_CERTIFICATE"), 422);
    CHECK_EQ_INT(gw_result_find("NO_CERTIFICATE")->kinds, GW_RES_REFUSAL | GW_RES_OUTCOME);
    CHECK_EQ_INT(gw_result_http("NOT_FINISHED"), 409);
    CHECK_EQ_INT(gw_result_etsi("NOT_FINISHED"), 101);
    CHECK_EQ_STR(gw_result_soap_fault(gw_result_find("NOT_FINISHED")), "Sender");
    CHECK_EQ_INT(gw_result_etsi("no such code"), 900);
    CHECK_EQ_INT(gw_result_http("no such code"), 500);
    CHECK(gw_result_find(NULL) == NULL);
    CHECK_EQ_STR(gw_result_soap_fault(gw_result_find("INVALID_FIELD")), "Sender");
    CHECK_EQ_STR(gw_result_soap_fault(gw_result_find("UNAUTHORIZED")), "Sender");
    CHECK_EQ_STR(gw_result_soap_fault(gw_result_find("USER_CANCEL")), "Receiver");
    CHECK_EQ_STR(gw_result_soap_fault(gw_result_find("BUSY")), "Receiver");
    CHECK(gw_result_soap_fault(gw_result_find("OK")) == NULL);
    CHECK(gw_result_soap_fault(gw_result_find("PENDING")) == NULL);
    CHECK(gw_result_soap_fault(NULL) == NULL);
    /* The archive's bound (q_ev.h): a 503 like an overload, and on SOAP env:Receiver _900. */
    {
        struct gw_sign_refusal r = gw_sign_start_refusal(GW_ERR_BACKLOG);
        CHECK_EQ_STR(r.code, "ARCHIVE_BACKLOG");
        CHECK_EQ_INT(gw_result_http(r.code), 503);
        CHECK_EQ_INT(gw_result_etsi(r.code), 900);
        CHECK_EQ_STR(gw_result_soap_fault(gw_result_find(r.code)), "Receiver");
        CHECK(strcmp(gw_strerror(GW_ERR_BACKLOG), "unknown error") != 0);
    }
}

static void docs_match(const char *path)
{
    FILE *gen = tmpfile(), *doc = fopen(path, "rb");
    size_t glen = 0, dlen = 0;
    char *g = NULL, *d = NULL;

    CHECK(gen != NULL);
    CHECK(doc != NULL);
    if (!gen || !doc) {
        printf("  cannot open %s\n", path);
        goto out;
    }
    gw_result_markdown(gen);
    rewind(gen);
    g = slurp(gen, &glen);
    d = slurp(doc, &dlen);
    CHECK(g && d && glen == dlen && memcmp(g, d, glen) == 0);
    if (!(g && d && glen == dlen && memcmp(g, d, glen) == 0))
        printf("  %s differs from the table: regenerate it with test_gw_result --markdown > %s\n", path, path);
out:
    free(g);
    free(d);
    if (gen)
        fclose(gen);
    if (doc)
        fclose(doc);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--markdown") == 0) {
        gw_result_markdown(stdout);
        return 0;
    }
    table_is_sound();
    every_emitted_code_has_a_row();
    mappings();
    if (argc == 2)
        docs_match(argv[1]);
    else
        CHECK(!"usage: test_gw_result DOCS/results.md");
    return check_report("test_gw_result");
}
