/*
 * fuzz_tsa.c - sig_tsa_check_reply(), the RFC 3161 TimeStampResp check, on
 * any octets as the reply to a fixed request (data and nonce in
 * fuzz_sig_pki.h; corpus/tsa holds real `openssl ts -reply` answers made for
 * it by mksigseeds.sh), and sig_tsa_check_token() on the same octets as a
 * bare token.  Whatever the input:
 *   - no crash or leak; why is a terminated string;
 *   - the result is OK, UNTRUSTED, MALFORMED or NOMEM, and a token comes
 *     back exactly on OK;
 *   - a token accepted in a reply passes sig_tsa_check_token() on its own,
 *     with the same genTime, and is no longer accepted for other data.
 */
#include "fuzz_sig_common.h"
#include "sig_tsa.h"

static struct sig_tsa *tsa;

static void init(void)
{
    char why[200], anchors[64];

    if (tsa != NULL)
        return;
    fuzz_pem_file(fuzz_tsa_root_pem, anchors);
    REQUIRE(sig_tsa_new(anchors, NULL, &tsa, why, sizeof why) == SIG_OK);
    unlink(anchors);
}

static void result_ok(enum sig_err rc, const char *why, size_t whylen)
{
    REQUIRE(rc == SIG_OK || rc == SIG_ERR_UNTRUSTED || rc == SIG_ERR_MALFORMED || rc == SIG_ERR_NOMEM);
    REQUIRE(memchr(why, '\0', whylen) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t other[] = "other data";
    const uint8_t *signed_data = (const uint8_t *)fuzz_tsa_data;
    size_t signed_len = sizeof fuzz_tsa_data - 1;
    uint8_t *token = NULL;
    size_t token_len = 0;
    time_t gen = 0, gen2 = 0;
    char why[200];
    enum sig_err rc;

    init();
    memset(why, 'x', sizeof why);
    rc = sig_tsa_check_reply(tsa, signed_data, signed_len, fuzz_tsa_nonce, data, size, &token, &token_len, &gen, why,
                             sizeof why);
    result_ok(rc, why, sizeof why);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_tsa: reply: %s %s\n", sig_result_name(rc), why);
    if (rc == SIG_OK) {
        REQUIRE(token != NULL && token_len > 0 && gen > 0);
        REQUIRE(sig_tsa_check_token(tsa, signed_data, signed_len, token, token_len, &gen2, why, sizeof why) == SIG_OK);
        REQUIRE(gen2 == gen);
        REQUIRE(sig_tsa_check_token(tsa, other, sizeof other - 1, token, token_len, NULL, why, sizeof why) ==
                SIG_ERR_UNTRUSTED);
        free(token);
    }

    memset(why, 'x', sizeof why);
    rc = sig_tsa_check_token(tsa, signed_data, signed_len, data, size, &gen, why, sizeof why);
    result_ok(rc, why, sizeof why);
    if (fuzz_verbose())
        fprintf(stderr, "fuzz_tsa: token: %s %s\n", sig_result_name(rc), why);
    return 0;
}
