/*
 * fuzz_ocsp.c - sig_ocsp_check(), the OCSP response check, on any octets as
 * the response for a fixed certificate, issuer, trust and nonce
 * (fuzz_sig_pki.h; corpus/ocsp holds real `openssl ocsp` responses made
 * for them by mksigseeds.sh, good, revoked and unknown ones among them).
 * Every input is checked with the request's nonce and as a cached response
 * (no nonce), just after the seeds were made, and with the nonce an hour
 * before (thisUpdate in the future), two days after (nextUpdate past) and
 * thirty days after (thisUpdate older than the 7-day limit).  Whatever the
 * input:
 *   - no crash or leak; why is a terminated string;
 *   - the result is good, revoked or unknown (malformed/out-of-memory only as
 *     the return value), and the return value is st.result otherwise;
 *   - a definite answer (good or revoked) has a thisUpdate not in the future
 *     and a nextUpdate not past, and is the same without the nonce (the
 *     nonce can only take an answer away, never change it);
 *   - revoked carries a revocation time, good does not.
 */
#include "fuzz_sig_common.h"
#include "sig_revoc.h"

#define LEEWAY_S  300
#define MAX_AGE_S (7 * 24 * 3600)

static struct sig_trust *trust;
static uint8_t *cert, *issuer;
static size_t cert_len, issuer_len;

static void init(void)
{
    char why[200], anchors[64], inter[64];

    if (trust != NULL)
        return;
    fuzz_pem_file(fuzz_root_pem, anchors);
    fuzz_pem_file(fuzz_ca_pem, inter);
    REQUIRE(sig_trust_load(anchors, inter, &trust, why, sizeof why) == SIG_OK);
    unlink(anchors);
    unlink(inter);
    cert = fuzz_pem_to_der(fuzz_sub_pem, &cert_len);
    issuer = fuzz_pem_to_der(fuzz_ca_pem, &issuer_len);
}

static enum sig_err check(const uint8_t *data, size_t size, const uint8_t *nonce, time_t now,
                          struct sig_revoc_status *st)
{
    char why[200];
    enum sig_err rc;

    memset(why, 'x', sizeof why);
    rc = sig_ocsp_check(trust, cert, cert_len, issuer, issuer_len, nonce, data, size, now, MAX_AGE_S, st, why,
                        sizeof why);
    REQUIRE(st->result == SIG_OK || st->result == SIG_ERR_REVOKED || st->result == SIG_ERR_REVOCATION_UNKNOWN);
    REQUIRE(rc == st->result ||
            ((rc == SIG_ERR_MALFORMED || rc == SIG_ERR_NOMEM) && st->result == SIG_ERR_REVOCATION_UNKNOWN));
    if (st->result == SIG_ERR_REVOCATION_UNKNOWN || st->result == SIG_ERR_REVOKED)
        WHY_TERMINATED(why);
    if (st->result == SIG_OK || st->result == SIG_ERR_REVOKED) {
        REQUIRE(st->this_update <= now + LEEWAY_S);
        REQUIRE(st->this_update >= now - MAX_AGE_S);
        REQUIRE(st->next_update == 0 || st->next_update >= now - LEEWAY_S);
    }
    if (st->result == SIG_OK)
        REQUIRE(st->revoked_at == 0 && st->reason == -1);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_ocsp: %s nonce: %s %s\n", nonce ? "with" : "without", sig_result_name(rc),
                st->result == SIG_OK ? "" : why);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sig_revoc_status with, without;
    static const time_t later[] = {-3600, 2 * 86400, 30 * 86400};
    time_t now = fuzz_gen_time + 60;

    init();
    check(data, size, fuzz_ocsp_nonce, now, &with);
    check(data, size, NULL, now, &without);
    if (with.result == SIG_OK || with.result == SIG_ERR_REVOKED)
        REQUIRE(memcmp(&with, &without, sizeof with) == 0);
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        check(data, size, fuzz_ocsp_nonce, fuzz_gen_time + later[i], &with);
    return 0;
}
