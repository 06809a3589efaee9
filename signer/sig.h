/*
 * sig.h - checking a SIM's signature against the subscriber's certificate.
 *
 * A signature is accepted only when all of these hold:
 *   - the certificate parses and its public key verifies the signature over
 *     the digest: RSASSA-PKCS1-v1_5 over DigestInfo(alg, digest) for RSA,
 *     DER ECDSA-Sig-Value over the digest for EC (P-256);
 *   - the certificate is within its validity period at `at`;
 *   - its key usage allows signing (nonRepudiation or digitalSignature;
 *     a certificate without the extension is refused);
 *   - it chains to a configured trust anchor through the configured
 *     intermediates (OpenSSL's X509_verify_cert, with X509_V_FLAG_X509_STRICT).
 * Anything else is a refusal with its own code; there is no "warning" path.
 *
 * A struct sig_trust is built at start and shared by every transaction on the
 * loop (and gw_life's CMP worker thread).  It changes only through
 * sig_trust_replace (a reload), made by the thread that owns the loop.
 */
#ifndef SIMPKI_SIG_H
#define SIMPKI_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include <time.h>

enum sig_err {
    SIG_OK = 0,
    SIG_ERR_BAD_SIGNATURE = 1, /* does not verify with the certificate's key */
    SIG_ERR_CERT_EXPIRED = 2,
    SIG_ERR_CERT_NOT_YET_VALID = 3,
    SIG_ERR_UNTRUSTED = 4,   /* no path to a trust anchor, or a bad CA on it */
    SIG_ERR_KEY_USAGE = 5,   /* key usage forbids signing */
    SIG_ERR_MALFORMED = 6,   /* certificate or signature does not parse */
    SIG_ERR_UNSUPPORTED = 7, /* key type or digest algorithm we do not take */
    SIG_ERR_IO = 8,          /* a trust file could not be read */
    SIG_ERR_NOMEM = 9,
    /* Issue 4: revocation, binding.  Values are stable; never renumber. */
    SIG_ERR_REVOKED = 10,            /* OCSP or CRL says revoked (before or at `at`) */
    SIG_ERR_REVOCATION_UNKNOWN = 11, /* no usable OCSP or CRL answer (hard-fail policy) */
    SIG_ERR_CERT_MISMATCH = 12,      /* not the certificate registered / pinned for the number */
    SIG_ERR_AGAIN = 13,              /* transient: a fetch could not be started, try again */
    SIG_ERR_DIGEST_MISMATCH = 14,    /* a CMS answer signs another digest than the transaction's */
};

const char *sig_strerror(enum sig_err err);

/*
 * Stable API result names: "INVALID_SIGNATURE", "CERT_EXPIRED", ...,
 * "REVOKED_CERTIFICATE", "REVOCATION_UNKNOWN", "CERT_MISMATCH".  Their HTTP and ETSI
 * statuses are the gateway's result table (gateway/common/gw_result.h).
 */
const char *sig_result_name(enum sig_err err);

struct sig_trust;

/*
 * Load trust anchors (PEM, one or more roots) and optional intermediates
 * (PEM, may be NULL or ""), on success *out owns a new object.
 */
enum sig_err sig_trust_load(const char *anchors_pem, const char *intermediates_pem, struct sig_trust **out, char *why,
                            size_t whylen) __attribute__((warn_unused_result));

/* sig_trust_free(NULL) does nothing. */
void sig_trust_free(struct sig_trust *t);

/*
 * A reload: t takes fresh's anchors and intermediates (a new sig_trust_load)
 * and keeps its own profile (sig_trust_set_profile); fresh is consumed
 * (freed, with t's former certificates).  Everyone holding t sees the new
 * anchors from their next check on: no holder changes its pointer.  Caches
 * made for t (sig_vcache) empty themselves at their next use.  Call it on
 * the thread that owns the event loop, between events; a chain check under
 * way on another thread (the CMP worker) finishes with the certificates it
 * started with.  Cannot fail.
 */
void sig_trust_replace(struct sig_trust *t, struct sig_trust *fresh);

/*
 * Signing profile, set once after sig_trust_load and before the trust is
 * shared (not thread-safe, not to be changed while in use):
 *   policy_oid   dotted OID every certificate on the path must assert
 *                (RFC 5280 6.1 with requireExplicitPolicy), e.g.
 *                "2.16.704.1.1.1.1.1"; NULL or "" = no policy check.
 *   require_nr   1: the subscriber's keyUsage must include nonRepudiation
 *                (content commitment); 0: nonRepudiation or
 *                digitalSignature, as before.
 * Name constraints and basic constraints are always checked (OpenSSL's path
 * validation, X509_V_FLAG_X509_STRICT).  Applies to every function that
 * checks a certificate against t, old and new.
 * SIG_ERR_MALFORMED for an OID that does not parse.
 */
enum sig_err sig_trust_set_profile(struct sig_trust *t, const char *policy_oid, int require_nr)
    __attribute__((warn_unused_result));

/*
 * Verify `sig` over `digest` (of algorithm digest_alg, digest.h) with the DER certificate `cert`, and check that
 * certificate at time `at`.  why (may be NULL) receives a one-line reason on
 * failure, fit for logs and API messages (no personal data).
 */
enum sig_err sig_verify_digest(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, enum dg_alg digest_alg,
                               const uint8_t *digest, size_t digest_len, const uint8_t *sig, size_t sig_len, time_t at,
                               char *why, size_t whylen) __attribute__((warn_unused_result));

/* The certificate checks alone (validity, key usage, chain), for the registry import. */
enum sig_err sig_check_cert(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at, char *why,
                            size_t whylen) __attribute__((warn_unused_result));

/*
 * A certificate as an operator hands it over (a file, a CSV field), made
 * DER for sig_check_cert and the registry:
 *   SIG_CERT_FILE    PEM (the first "-----BEGIN CERTIFICATE-----" block,
 *                    re-encoded) or else DER, taken as is (sig_check_cert
 *                    judges it)
 *   SIG_CERT_BASE64  base64 of the DER; white space (line breaks from copy
 *                    and paste) is ignored
 * Input longer than base64 of SIG_CERT_MAX octets is refused.  On SIG_OK
 * *der is malloc'd (caller frees) and *der_len its length; otherwise *der is
 * NULL and why says what is wrong (SIG_ERR_MALFORMED, SIG_ERR_NOMEM).
 */
#define SIG_CERT_MAX (64u << 10)
enum sig_cert_form { SIG_CERT_FILE, SIG_CERT_BASE64 };
enum sig_err sig_cert_to_der(const uint8_t *in, size_t len, enum sig_cert_form form, uint8_t **der, size_t *der_len,
                             char *why, size_t whylen) __attribute__((warn_unused_result));

/* What an operator wants to see of a certificate. */
struct sig_cert_info {
    char subject[512]; /* RFC 2253, UTF-8 */
    char issuer[512];
    char serial_hex[80];
    time_t not_before, not_after;
    char key_type[16]; /* "RSA-2048", "EC-P256", ... */
};

enum sig_err sig_cert_info(const uint8_t *cert, size_t cert_len, struct sig_cert_info *out)
    __attribute__((warn_unused_result));

/*
 * A certificate's subject attributes one by one, UTF-8 (whatever string type
 * the CA used: PrintableString, UTF8String, BMPString, ...), "" when absent;
 * the first occurrence when an attribute appears twice.  A value longer than
 * its field is cut at a character boundary.  For readers that sort
 * certificates by their holder (the merger review, gw_merge_rules.h):
 * sig_cert_info's RFC 2253 subject is for display, not for picking apart.
 * SIG_ERR_MALFORMED when the certificate or an attribute does not decode.
 */
struct sig_cert_names {
    char cn[256];            /* commonName */
    char o[256];             /* organizationName */
    char ou[256];            /* organizationalUnitName */
    char l[256];             /* localityName */
    char st[256];            /* stateOrProvinceName */
    char uid[128];           /* userId (0.9.2342.19200300.100.1.1): "CCCD:...", "MST:..." */
    char email[256];         /* emailAddress (PKCS #9) */
    char serial_number[128]; /* serialNumber (2.5.4.5) */
};

enum sig_err sig_cert_names(const uint8_t *cert, size_t cert_len, struct sig_cert_names *out)
    __attribute__((warn_unused_result));

/*
 * What a read of the whole registry needs of each certificate (the merger
 * review, gateway/merge/gw_plan.c): its serial (uppercase hex, as
 * sig_cert_info), notAfter, subject (RFC 2253, as sig_cert_info) and names
 * (as sig_cert_names), decoded without the public key and the extensions:
 * about twenty times faster than sig_cert_info on OpenSSL 3.0.  It checks
 * nothing but the shape: a certificate read this way is shown or matched,
 * never trusted.  SIG_ERR_MALFORMED for what is not one DER certificate.
 */
struct sig_cert_summary {
    char serial_hex[80];
    time_t not_after;
    char subject[512];
    struct sig_cert_names names;
};
enum sig_err sig_cert_summary(const uint8_t *cert, size_t cert_len, struct sig_cert_summary *out)
    __attribute__((warn_unused_result));

/*
 * The validated path of `cert` at `at` (the same checks as sig_check_cert):
 * on success *out is a malloc'd array of *n DER certificates, leaf first,
 * trust anchor last, packed as [u32 length big-endian][DER]..., for callers
 * that store or send the chain.  Free with free().
 */
enum sig_err sig_chain_der(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at, uint8_t **out,
                           size_t *out_len, size_t *n, char *why, size_t whylen) __attribute__((warn_unused_result));

/* --- Binding: the certificate belongs to the number (serial pinning). --- */

/*
 * What is pinned for a subscriber once it has signed: the certificate's
 * serial and the SHA-256 of its SubjectPublicKeyInfo.  Store both with the
 * registry entry (q_sub) when the first signature is accepted.
 */
struct sig_pin {
    char serial_hex[80]; /* uppercase hex, as sig_cert_info */
    uint8_t spki_sha256[32];
};

enum sig_err sig_pin_of(const uint8_t *cert, size_t cert_len, struct sig_pin *out) __attribute__((warn_unused_result));

/*
 * The one check of a certificate entering the registry, whichever way it
 * comes (simpki-admin import and fetch-cert, the gateway's lookup of an
 * unknown subscriber at its MSSP): sig_check_cert at `at`, then its pin
 * (sig_pin_of) into *pin, which the registry write needs for the repin
 * rule.  why as sig_check_cert's ("cannot compute the certificate's pin"
 * when only the pin fails).
 */
enum sig_err sig_cert_admit(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at,
                            struct sig_pin *pin, char *why, size_t whylen) __attribute__((warn_unused_result));

/*
 * SIG_OK when `used` (the certificate a signature was verified with) is the
 * registered one, byte for byte, and, if the subscriber is pinned (`pin`
 * not NULL), has the pinned serial and key.  A certificate with a new
 * serial or key passes only with repin_allowed = 1, i.e. when the registry
 * says the subscriber's certificate was replaced (the admin import sets
 * it); the caller then stores the new pin.  Otherwise SIG_ERR_CERT_MISMATCH.
 */
enum sig_err sig_binding_check(const uint8_t *registered, size_t registered_len, const uint8_t *used, size_t used_len,
                               const struct sig_pin *pin, int repin_allowed, char *why, size_t whylen)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_SIG_H */
