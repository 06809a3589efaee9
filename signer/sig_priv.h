/*
 * sig_priv.h - what the signer's modules (sig, sig_cms, sig_tsa, sig_revoc)
 * share at the OpenSSL level.  Not installed; nothing above signer/ includes it.
 *
 * Same conventions as sig.h: why may be NULL and receives one line without
 * personal data; nothing here leaves errors on OpenSSL's queue for callers
 * that bracket with ERR_set_mark / ERR_pop_to_mark.
 */
#ifndef SIMPKI_SIG_PRIV_H
#define SIMPKI_SIG_PRIV_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sig.h"

void sig_set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whole DER input must be one certificate; *out owned by the caller. */
enum sig_err sig_parse_cert(const uint8_t *der, size_t len, X509 **out, char *why, size_t whylen);

/* RSA >= 2048 or EC P-256/P-384; *pkey_out (may be NULL) is borrowed from x. */
enum sig_err sig_check_key_type(X509 *x, EVP_PKEY **pkey_out, char *why, size_t whylen);

/* The model digest (digest.h) to OpenSSL's; NULL when unknown. */
const EVP_MD *sig_digest_for(enum dg_alg alg);

/* The SIM's signature over `digest` with x's key (see sig.h for the encodings). */
enum sig_err sig_check_signature(X509 *x, enum dg_alg digest_alg, const uint8_t *digest, size_t digest_len,
                                 const uint8_t *sig, size_t sig_len, char *why, size_t whylen);

/*
 * Path validation at `at` plus the profile's key usage and policy checks.
 * chain_out (may be NULL) receives the validated chain, leaf first, anchor
 * last, each certificate up-referenced: sk_X509_pop_free(chain, X509_free).
 */
enum sig_err sig_check_path(const struct sig_trust *t, X509 *x, time_t at, STACK_OF(X509) * *chain_out, char *why,
                            size_t whylen);

/*
 * The trust's anchors and intermediates (borrowed; intermediates may be
 * NULL), good until the next sig_trust_replace: for the loop thread, within
 * one event.  Another thread goes through sig_check_path, which takes references.
 */
X509_STORE *sig_trust_store(const struct sig_trust *t);
STACK_OF(X509) * sig_trust_intermediates(const struct sig_trust *t);

/*
 * The pieces of sig_check_signature, in its order, for sig_vcache: digest
 * algorithm and length (*md set on success); the signature's encoding for an
 * accepted key; a context ready for EVP_PKEY_verify (PKCS#1 v1.5 with
 * DigestInfo(md) for RSA), reusable for any number of verifications, *out
 * owned by the caller; the verification itself.  Same reasons as
 * sig_check_signature.
 */
enum sig_err sig_check_digest_arg(enum dg_alg digest_alg, const uint8_t *digest, size_t digest_len, const EVP_MD **md,
                                  char *why, size_t whylen);
enum sig_err sig_check_sig_form(EVP_PKEY *pkey, const uint8_t *sig, size_t sig_len, char *why, size_t whylen);
enum sig_err sig_verify_ctx_new(EVP_PKEY *pkey, const EVP_MD *md, EVP_PKEY_CTX **out, char *why, size_t whylen);
enum sig_err sig_verify_with_ctx(EVP_PKEY_CTX *ctx, const uint8_t *digest, size_t digest_len, const uint8_t *sig,
                                 size_t sig_len, char *why, size_t whylen);

/* Changes whenever t's profile or certificates do (sig_trust_set_profile, _replace); 0 for NULL. */
unsigned sig_trust_gen(const struct sig_trust *t);

/* ASN1_TIME to time_t (UTC). */
enum sig_err sig_asn1_time(const ASN1_TIME *at, time_t *out);

/* name as RFC 2253 text, UTF-8 kept, cut to cap - 1 octets at a character boundary (sig_cert_info's subject). */
enum sig_err sig_name_rfc2253(const X509_NAME *name, char *dst, size_t cap);

/* The attributes of sig_cert_names from a name (out zeroed by the caller); SIG_ERR_MALFORMED when one does not decode.
 */
struct sig_cert_names;
enum sig_err sig_name_attrs(const X509_NAME *n, struct sig_cert_names *out);

#endif /* SIMPKI_SIG_PRIV_H */
