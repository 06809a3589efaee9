/*
 * sig_tsa.h - RFC 3161 timestamps over a signature value (CAdES-B-T).
 *
 * The gateway asks the configured TSA (HTTP POST, application/timestamp-query,
 * see sig_fetch.h) for a token over SHA-256(signature value), checks the
 * reply with sig_tsa_check_reply (status granted, nonce, imprint, TSA
 * signature and chain to the configured TSA roots, TSA certificate with the
 * critical id-kp-timeStamping EKU, ESS certificate binding), and hands the
 * token to sig_cms_finish.
 */
#ifndef SIMPKI_SIG_TSA_H
#define SIMPKI_SIG_TSA_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sig.h"

struct sig_tsa;

#define SIG_TSA_NONCE_LEN 16

/*
 * anchors_pem: the TSA's trust anchors; intermediates_pem may be NULL.
 * On success *out owns a new, afterwards read-only, object.
 */
enum sig_err sig_tsa_new(const char *anchors_pem, const char *intermediates_pem, struct sig_tsa **out, char *why,
                         size_t whylen) __attribute__((warn_unused_result));
void sig_tsa_free(struct sig_tsa *tsa); /* NULL: nothing */

/*
 * A DER TimeStampReq over SHA-256(data) with a random 128-bit nonce (written
 * to nonce; keep it to check the reply) and certReq set.  *req is malloc'd.
 */
enum sig_err sig_tsa_request(const uint8_t *data, size_t data_len, uint8_t nonce[SIG_TSA_NONCE_LEN], uint8_t **req,
                             size_t *req_len) __attribute__((warn_unused_result));

/*
 * Check a DER TimeStampResp for the request made over data with nonce.  On
 * success *token is the malloc'd DER TimeStampToken and *gen_time (may be
 * NULL) its genTime.  SIG_ERR_UNTRUSTED for a refused or unverifiable token,
 * SIG_ERR_MALFORMED when it does not parse.
 */
enum sig_err sig_tsa_check_reply(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len,
                                 const uint8_t nonce[SIG_TSA_NONCE_LEN], const uint8_t *resp, size_t resp_len,
                                 uint8_t **token, size_t *token_len, time_t *gen_time, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* The same checks on a bare token (no nonce): what sig_cms_finish runs. */
enum sig_err sig_tsa_check_token(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len, const uint8_t *token,
                                 size_t token_len, time_t *gen_time, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/*
 * The same for a token kept for years (the evidence archive's anchors): the
 * TSA's certificate path is checked at the token's own genTime, not now, so
 * the token still verifies after the TSA certificate expired, and never
 * verifies when that certificate was not valid at genTime.  Neither function
 * checks the TSA certificate's revocation.
 */
enum sig_err sig_tsa_check_kept_token(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len,
                                      const uint8_t *token, size_t token_len, time_t *gen_time, char *why,
                                      size_t whylen) __attribute__((warn_unused_result));

#endif /* SIMPKI_SIG_TSA_H */
