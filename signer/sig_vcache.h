/*
 * sig_vcache.h - an in-process cache of verification verdicts, so that the
 * hot path of a SIGN answer is: SHA-256 of the certificate DER, one hash
 * look-up, one EVP_PKEY_verify.
 *
 * What is cached, per certificate (key: SHA-256 of its DER, so two
 * certificates that differ in any octet - same subject, same key, another
 * serial or CA signature - are different entries):
 *   - the parsed public key and its key-type verdict (RSA >= 2048, EC
 *     P-256/P-384), and one ready EVP_PKEY_CTX per digest algorithm;
 *   - the path verdict (sig_check_path: chain, validity, policy, key usage),
 *     OK or the refusal with its reason, for a window of `at`.  Without
 *     CRLs, X509_verify_cert depends on `at` only through the comparisons
 *     notBefore <= at < notAfter of the leaf and of the trust's anchors and
 *     intermediates, so the verdict computed at `at` holds exactly for every
 *     `at` between the nearest of those instants below and above it.  A
 *     certificate cached as valid stops verifying when `at` reaches its (or a
 *     CA's) notAfter, and an expired verdict is not reused for an earlier `at`.
 *     On top of that, no verdict is used longer than max_age_s of wall clock.
 *   - once the path is valid, the SHA-256 of the certificate's OCSP CertID
 *     (SHA-1, issuer from the validated path), which finds its revocation
 *     decision.
 * Per CertID: the last definite revocation decision (good or revoked, from
 * an OCSP response or a CRL that fully verified), until the earliest of its
 * nextUpdate (300 s when none), thisUpdate + the caller's OCSP max age,
 * the OCSP responder certificate's notAfter, the next notBefore/notAfter of
 * the trust's certificates, and max_age_s after it was stored.
 *
 * Both tables are bounded (least recently used entry evicted at the bound).
 *
 * Results are those of the uncached functions, reason text included, for
 * every input: a cached function differs only in speed.
 *
 * Threads: a struct sig_vcache is mutable state for ONE thread (the event
 * loop that owns it); the trust it is made for stays read-only and shared.
 * It borrows t, which must outlive it.  sig_trust_set_profile or
 * sig_trust_replace (a reload) on t empties the cache at its next use.
 */
#ifndef SIMPKI_SIG_VCACHE_H
#define SIMPKI_SIG_VCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sig.h"
#include "sig_revoc.h"

struct sig_vcache;

struct sig_vcache_cfg {
    size_t max_certs;   /* certificate entries, default 4096 */
    size_t max_revoc;   /* revocation decisions, default 4096 */
    unsigned max_age_s; /* longest any verdict is reused (wall clock), default 3600 */
};

/* cfg may be NULL (defaults); zero fields take their default.  *out owns a new object. */
enum sig_err sig_vcache_new(const struct sig_trust *t, const struct sig_vcache_cfg *cfg, struct sig_vcache **out)
    __attribute__((warn_unused_result));

/* sig_vcache_free(NULL) does nothing. */
void sig_vcache_free(struct sig_vcache *vc);

/* Forget everything (both tables). */
void sig_vcache_clear(struct sig_vcache *vc);

struct sig_vcache_stats {
    uint64_t cert_hits, cert_misses, path_hits, path_misses, revoc_hits, revoc_misses, evictions;
    size_t certs, revocs; /* entries now */
};
void sig_vcache_get_stats(const struct sig_vcache *vc, struct sig_vcache_stats *out);

/*
 * sig_verify_digest / sig_check_cert through the cache: same arguments,
 * same results and reasons.  vc NULL, or made for another trust than t:
 * exactly the uncached function.
 */
enum sig_err sig_verify_digest_cached(const struct sig_trust *t, struct sig_vcache *vc, const uint8_t *cert,
                                      size_t cert_len, enum dg_alg digest_alg, const uint8_t *digest, size_t digest_len,
                                      const uint8_t *sig, size_t sig_len, time_t at, char *why, size_t whylen)
    __attribute__((warn_unused_result));

enum sig_err sig_check_cert_cached(const struct sig_trust *t, struct sig_vcache *vc, const uint8_t *cert,
                                   size_t cert_len, time_t at, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/*
 * sig_ocsp_check / sig_crl_check, and a definite answer (good or revoked)
 * is remembered under the certificate's CertID (with the OCSP response DER,
 * for sig_revoc_check's evidence).  Same results as the uncached calls; they
 * always check the response (use sig_vcache_revoc_get first).
 */
enum sig_err sig_ocsp_check_cached(const struct sig_trust *t, struct sig_vcache *vc, const uint8_t *cert,
                                   size_t cert_len, const uint8_t *issuer, size_t issuer_len, const uint8_t *nonce,
                                   const uint8_t *resp, size_t resp_len, time_t now, unsigned max_age_s,
                                   struct sig_revoc_status *st, char *why, size_t whylen)
    __attribute__((warn_unused_result));

enum sig_err sig_crl_check_cached(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, const uint8_t *issuer,
                                  size_t issuer_len, const uint8_t *crl, size_t crl_len, time_t now,
                                  struct sig_revoc_status *st, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/*
 * The remembered revocation decision for cert, for a signature made at `at`,
 * at wall-clock time now, without parsing anything.  Needs cert's path to be
 * cached as valid at `at` (a sig_verify_digest_cached or
 * sig_check_cert_cached call did it).  SIG_OK (good, or revoked only after
 * `at`) or SIG_ERR_REVOKED with *st filled, source (may be NULL) set to
 * "ocsp" or "crl"; SIG_ERR_AGAIN when nothing usable is cached: run the real
 * check (sig_revoc_check).
 */
enum sig_err sig_vcache_revoc_get(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, time_t at, time_t now,
                                  struct sig_revoc_status *st, const char **source) __attribute__((warn_unused_result));

#endif /* SIMPKI_SIG_VCACHE_H */
