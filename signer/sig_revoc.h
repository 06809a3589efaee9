/*
 * sig_revoc.h - is the subscriber's certificate revoked?  OCSP first, CRL as
 * fallback, fetched with libcurl on the gateway's event loop and cached
 * through callbacks (Redis in the gateway: queue/q_cache.h) so that every
 * instance shares what one fetched.
 *
 * Checks (RFC 6960, RFC 5280):
 *   OCSP  request with a 16-octet nonce (RFC 8954) for the certificate's
 *         CertID (SHA-1, as every responder supports); the response must be
 *         successful and a BasicOCSPResponse whose signature verifies, signed
 *         by the issuing CA itself or by a responder certificate the issuing
 *         CA issued with id-kp-OCSPSigning (OCSP_basic_verify), chaining to
 *         the trust anchors; the nonce, when the responder echoes one, must be
 *         ours; thisUpdate not in the future (5 min leeway) and not older than
 *         max_age_s, nextUpdate (when given) not past.  A response taken from
 *         the cache was nonce-checked when fetched and is checked again for
 *         everything else.
 *   CRL   from the certificate's crlDistributionPoints (first http URI),
 *         signed by the issuer (signature verified with the issuer's key,
 *         issuer name matches), thisUpdate not in the future, nextUpdate not
 *         past; cached until nextUpdate.
 * Results: SIG_OK (good), SIG_ERR_REVOKED (revoked at or before `at`),
 * SIG_ERR_REVOCATION_UNKNOWN (no source gave a usable answer; `why` says
 * which and why).  With soft-fail, REVOCATION_UNKNOWN becomes SIG_OK with
 * soft_failed = 1 and the reason kept; REVOKED never does.
 */
#ifndef SIMPKI_SIG_REVOC_H
#define SIMPKI_SIG_REVOC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sig.h"

struct event_base;

#define SIG_OCSP_NONCE_LEN 16

struct sig_revoc_status {
    enum sig_err result; /* SIG_OK, SIG_ERR_REVOKED, SIG_ERR_REVOCATION_UNKNOWN */
    time_t this_update;
    time_t next_update; /* 0 when the OCSP response has none */
    time_t revoked_at;  /* when result is SIG_ERR_REVOKED */
    int reason;         /* CRL reason code, -1 when none */
};

/* --- Synchronous pieces (no I/O), also used by the tests and the admin CLI. --- */

/*
 * A DER OCSPRequest for cert (issued by issuer, both DER), with a fresh
 * random nonce written to nonce.  *req is malloc'd.
 */
enum sig_err sig_ocsp_request(const uint8_t *cert, size_t cert_len, const uint8_t *issuer, size_t issuer_len,
                              uint8_t nonce[SIG_OCSP_NONCE_LEN], uint8_t **req, size_t *req_len)
    __attribute__((warn_unused_result));

/*
 * Check a DER OCSPResponse for cert at time now.  nonce: the request's (NULL
 * for a cached response).  t gives the anchors the responder must chain to.
 * Returns st->result (also on SIG_ERR_REVOCATION_UNKNOWN, with why set);
 * SIG_ERR_MALFORMED / SIG_ERR_NOMEM only for bad arguments or memory.
 */
enum sig_err sig_ocsp_check(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, const uint8_t *issuer,
                            size_t issuer_len, const uint8_t *nonce, const uint8_t *resp, size_t resp_len, time_t now,
                            unsigned max_age_s, struct sig_revoc_status *st, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Check a DER CRL from issuer for cert at time now.  Same results as sig_ocsp_check. */
enum sig_err sig_crl_check(const uint8_t *cert, size_t cert_len, const uint8_t *issuer, size_t issuer_len,
                           const uint8_t *crl, size_t crl_len, time_t now, struct sig_revoc_status *st, char *why,
                           size_t whylen) __attribute__((warn_unused_result));

/* --- The cache the gateway provides (Redis; see queue/q_cache.h). --- */

/*
 * get: look key up and call got(req, value, len) exactly once, value NULL on
 * a miss or any error (a cache problem is a miss, never a failure).  got may
 * be called from inside get or later from the event loop; value lives only
 * during got.  put: store value under key for ttl_s seconds, fire and
 * forget.  Keys are "spk:rv:ocsp:<64 hex>" and "spk:rv:crl:<64 hex>";
 * values are the DER as fetched (they are checked again when read).
 */
typedef void sig_cache_got(void *req, const uint8_t *value, size_t len);
struct sig_revoc_cache {
    void *ctx;
    void (*get)(void *ctx, const char *key, sig_cache_got *got, void *req);
    void (*put)(void *ctx, const char *key, const uint8_t *value, size_t len, unsigned ttl_s);
};

struct sig_revoc_cfg {
    unsigned timeout_ms;     /* per HTTP fetch, default 5000 */
    unsigned ocsp_max_age_s; /* oldest acceptable thisUpdate, default 7 days */
    size_t max_body;         /* largest response taken, default 4 MiB */
    int no_crl;              /* 1: OCSP only */
};

struct sig_revoc;

/*
 * base: the loop libcurl's sockets and timers go on.  t: trust (borrowed,
 * must outlive r).  cache may be NULL (no sharing).  cfg may be NULL
 * (defaults).  On success *out owns a new object.
 */
enum sig_err sig_revoc_new(struct event_base *base, const struct sig_trust *t, const struct sig_revoc_cache *cache,
                           const struct sig_revoc_cfg *cfg, struct sig_revoc **out) __attribute__((warn_unused_result));

/* Checks still running get their callback with SIG_ERR_REVOCATION_UNKNOWN.  NULL: nothing. */
void sig_revoc_free(struct sig_revoc *r);

struct sig_revoc_result {
    enum sig_err result; /* SIG_OK, SIG_ERR_REVOKED, SIG_ERR_REVOCATION_UNKNOWN, or a path error */
    int soft_failed;     /* result is SIG_OK only because of soft-fail */
    const char *source;  /* "ocsp", "crl" or "none" */
    int from_cache;
    const uint8_t *ocsp; /* the OCSP response used (DER), NULL if none: keep it with the txn */
    size_t ocsp_len;
    const uint8_t *crl; /* the CRL used, NULL if none */
    size_t crl_len;
    struct sig_revoc_status st;
    char why[200]; /* reason for unknown / soft-fail, no personal data */
};

/* Everything in *res lives only during the callback. */
typedef void sig_revoc_cb(void *arg, const struct sig_revoc_result *res);

enum sig_revoc_policy { SIG_REVOC_HARD = 0, SIG_REVOC_SOFT = 1 };

/*
 * Find cert's issuer by validating its path at `at` (a path error is the
 * result), then its status, asynchronously.  cb runs exactly once, always
 * from the event loop (never inside this call), so the caller may free its
 * own state there.  cert is copied.
 */
void sig_revoc_check(struct sig_revoc *r, const uint8_t *cert, size_t cert_len, time_t at, enum sig_revoc_policy policy,
                     sig_revoc_cb *cb, void *arg);

/*
 * Optional: keep definite answers in vc (sig_vcache.h, made for the same
 * trust as r; borrowed, must outlive r; NULL detaches).  sig_revoc_check
 * then answers from vc, with no parsing, path building or cache round trip,
 * when vc knows the certificate's path valid at `at` (a cached verification
 * just ran) and holds a fresh OCSP decision for it; the result is what the
 * remembered response gave (res.from_cache = 1, res.ocsp its DER).
 * SIG_ERR_MALFORMED when vc belongs to another trust.
 */
struct sig_vcache;
enum sig_err sig_revoc_set_vcache(struct sig_revoc *r, struct sig_vcache *vc) __attribute__((warn_unused_result));

struct sig_revoc_stats {
    uint64_t checks, ocsp_fetches, crl_fetches, cache_hits, unknown, soft_failed;
};
void sig_revoc_get_stats(const struct sig_revoc *r, struct sig_revoc_stats *out);

#endif /* SIMPKI_SIG_REVOC_H */
