/* sig_revoc_priv.h - X509-level forms of sig_revoc.h's synchronous checks.  Not installed. */
#ifndef SIMPKI_SIG_REVOC_PRIV_H
#define SIMPKI_SIG_REVOC_PRIV_H

#include <openssl/x509.h>

#include "sig_revoc.h"

enum sig_err sig_rv_ocsp_request_x(X509 *x, X509 *iss, uint8_t nonce[SIG_OCSP_NONCE_LEN], uint8_t **req,
                                   size_t *req_len);
enum sig_err sig_rv_ocsp_check_x(const struct sig_trust *t, X509 *x, X509 *iss, const uint8_t *nonce,
                                 const uint8_t *resp, size_t resp_len, time_t now, unsigned max_age_s,
                                 struct sig_revoc_status *st, char *why, size_t whylen);
enum sig_err sig_rv_crl_check_x(X509 *x, X509 *iss, const uint8_t *crl, size_t crl_len, time_t now,
                                struct sig_revoc_status *st, char *why, size_t whylen);

#endif
