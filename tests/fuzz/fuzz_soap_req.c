/*
 * fuzz_soap_req.c - gw_soap_parse() on hostile input, for every port.
 * Whatever the input: no crash, no leak (gw_soap_req_clear frees all); on
 * error a fault status the header lists, a printable reason and an all-zero
 * request; on success a known kind, NUL-terminated printable strings, byte
 * fields that agree with their lengths and the limits the header promises.
 * The input is parsed a second time with a NUL appended to its copy, which
 * must give the same result (no read past len).
 */
#include <stdlib.h>
#include <string.h>

#include "gw_soap_xml.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static int printable(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);

    if (n == cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7E)
            return 0;
    return 1;
}

static int empty(const struct gw_soap_req *r)
{
    static const struct gw_soap_req zero;
    return memcmp(r, &zero, sizeof zero) == 0;
}

static void check(const uint8_t *data, size_t size, const char *port, const uint8_t *copy)
{
    struct gw_soap_req r, r2;
    char why[128];
    int st = -1, st2 = -1;
    enum etsi_err rc, rc2;

    rc = gw_soap_parse(data, size, port, &r, &st, why, sizeof why);
    REQUIRE(rc >= ETSI_OK && rc <= ETSI_ERR_NOMEM && rc != ETSI_ERR_INVALID);
    if (rc != ETSI_OK) {
        REQUIRE(st == 101 || st == 102 || st == 103 || st == 108 || st == 900);
        REQUIRE(empty(&r));
        REQUIRE(why[0] != '\0' && printable(why, sizeof why));
    } else {
        REQUIRE(st == 0);
        REQUIRE(r.kind >= ETSI_SIGNATURE && r.kind <= ETSI_PROFILE);
        REQUIRE(!port || strcmp(port, etsi_port(r.kind)) == 0);
        REQUIRE(r.has_pwd == 1 && strnlen(r.ap_pwd, sizeof r.ap_pwd) < sizeof r.ap_pwd);
        REQUIRE(printable(r.major, sizeof r.major) && printable(r.minor, sizeof r.minor));
        REQUIRE(printable(r.ap_id, sizeof r.ap_id) && r.ap_id[0]);
        REQUIRE(printable(r.ap_trans_id, sizeof r.ap_trans_id) && r.ap_trans_id[0]);
        REQUIRE(printable(r.instant, sizeof r.instant) && printable(r.ap_url, sizeof r.ap_url));
        REQUIRE(printable(r.mssp_id, sizeof r.mssp_id) && printable(r.msisdn, sizeof r.msisdn));
        REQUIRE(printable(r.mssp_trans_id, sizeof r.mssp_trans_id));
        REQUIRE(printable(r.mss_format, sizeof r.mss_format) && printable(r.profile, sizeof r.profile));
        REQUIRE(printable(r.unknown_service, sizeof r.unknown_service));
        REQUIRE(r.kind == ETSI_STATUS || r.msisdn[0]);
        if (r.kind == ETSI_SIGNATURE) {
            REQUIRE(r.dtbs && r.dtbs_len >= 1 && r.dtbs_len <= ETSI_DTBS_MAX);
            REQUIRE(r.display && strlen(r.display) <= GW_SOAP_DISPLAY_MAX);
            REQUIRE(r.timeout_s <= GW_SOAP_TIMEOUT_MAX);
            REQUIRE(r.mode != GW_SOAP_ASYNCH_SS || r.ap_url[0]);
        } else {
            REQUIRE(!r.dtbs && !r.display);
        }
        REQUIRE(!r.message || (r.kind == ETSI_RECEIPT && strlen(r.message) <= GW_SOAP_DISPLAY_MAX));
    }
    if (copy) {
        rc2 = gw_soap_parse(copy, size, port, &r2, &st2, NULL, 0);
        REQUIRE(rc2 == rc && st2 == st);
        REQUIRE(rc2 != ETSI_OK || (r2.kind == r.kind && r2.dtbs_len == r.dtbs_len && strcmp(r2.ap_pwd, r.ap_pwd) == 0 &&
                                   strcmp(r2.msisdn, r.msisdn) == 0));
        gw_soap_req_clear(&r2);
    }
    gw_soap_req_clear(&r);
    REQUIRE(empty(&r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const ports[] = {NULL,
                                        "MSS_SignaturePort",
                                        "MSS_StatusQueryPort",
                                        "MSS_ReceiptPort",
                                        "MSS_RegistrationPort",
                                        "MSS_ProfileQueryPort"};
    uint8_t *copy = malloc(size + 1);

    REQUIRE(copy != NULL);
    if (size)
        memcpy(copy, data, size);
    copy[size] = '\0';
    check(data, size, NULL, size ? copy : NULL);
    /* The port only decides between 108 and the rest: one more pass, picked by the input. */
    check(data, size, ports[1 + size % 5], NULL);
    free(copy);
    return 0;
}
