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

/* sig_vcache's side for sig_revoc (see sig_vcache.h). */
struct sig_vcache;
const struct sig_trust *sig_vcache_trust(const struct sig_vcache *vc);
/*
 * Remember a definite decision (st->result SIG_OK or SIG_ERR_REVOKED, as the
 * check returned it) for (x, iss), made at now.  ocsp: the response it came
 * from (copied), NULL for a CRL.  Not remembering is never an error.
 */
void sig_vcache_revoc_put(struct sig_vcache *vc, X509 *x, X509 *iss, const struct sig_revoc_status *st,
                          const uint8_t *ocsp, size_t ocsp_len, time_t now, unsigned ocsp_max_age_s);
/* sig_vcache_revoc_get, also giving the OCSP response (borrowed until the next call on vc; NULL for a CRL). */
enum sig_err sig_vcache_revoc_find(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, time_t at, time_t now,
                                   struct sig_revoc_status *st, const char **source, const uint8_t **der,
                                   size_t *der_len);

#endif
