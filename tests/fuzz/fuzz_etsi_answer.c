/*
 * fuzz_etsi_answer.c - etsi_parse_answer() on hostile input.  Whatever the
 * input: no crash, no leak (etsi_answer_clear frees all), a known error
 * code with a reason and an empty answer on error, and on success a known
 * kind, NUL-terminated printable-ASCII strings and byte fields that agree
 * with their lengths.  The input is parsed a second time with a NUL
 * appended to its copy, which must give the same result (no read past len).
 */
#include <stdlib.h>
#include <string.h>

#include "car_etsi_xml.h"

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

static int empty(const struct etsi_answer *a)
{
    static const struct etsi_answer zero;
    return memcmp(a, &zero, sizeof zero) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct etsi_answer a, b;
    char why[96];
    enum etsi_err rc, rc2;
    uint8_t *copy = malloc(size + 1);

    REQUIRE(copy != NULL);
    rc = etsi_parse_answer(data, size, &a, why, sizeof why);
    REQUIRE(rc >= ETSI_OK && rc <= ETSI_ERR_NOMEM && rc != ETSI_ERR_INVALID);
    if (rc != ETSI_OK) {
        REQUIRE(empty(&a));
        REQUIRE(why[0] != '\0' && printable(why, sizeof why));
    } else {
        REQUIRE(a.kind >= ETSI_SIGNATURE && a.kind <= ETSI_FAULT);
        REQUIRE(a.status >= 0 && a.status <= 999);
        REQUIRE(printable(a.status_text, sizeof a.status_text));
        REQUIRE(printable(a.mssp_trans_id, sizeof a.mssp_trans_id));
        REQUIRE(printable(a.ap_trans_id, sizeof a.ap_trans_id));
        REQUIRE(printable(a.msisdn, sizeof a.msisdn));
        REQUIRE(printable(a.mss_format, sizeof a.mss_format));
        REQUIRE(strspn(a.msisdn, "0123456789") == strlen(a.msisdn));
        REQUIRE((a.signature != NULL) == (a.sig_len > 0));
        REQUIRE((a.cert != NULL) == (a.cert_len > 0));
        REQUIRE(a.sig_len <= size && a.cert_len <= size);
    }

    if (size) {
        memcpy(copy, data, size);
        copy[size] = '\0';
        rc2 = etsi_parse_answer(copy, size, &b, NULL, 0);
        REQUIRE(rc2 == rc);
        REQUIRE(rc2 != ETSI_OK || (b.kind == a.kind && b.status == a.status && b.sig_len == a.sig_len &&
                                   (a.sig_len == 0 || memcmp(a.signature, b.signature, a.sig_len) == 0)));
        etsi_answer_clear(&b);
    }
    etsi_answer_clear(&a);
    REQUIRE(empty(&a));
    free(copy);
    return 0;
}
