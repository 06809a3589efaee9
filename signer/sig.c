/*
 * sig.c - signature and certificate checks with OpenSSL 3 (EVP and X509_STORE only).
 *
 * Order of the checks, first failure wins (so the result names the first
 * thing wrong, and a forged signature on an expired certificate is
 * INVALID_SIGNATURE, not CERT_EXPIRED):
 *   1. the certificate parses (whole DER, nothing trailing)   -> MALFORMED
 *   2. the signature: digest algorithm known (UNSUPPORTED), digest length
 *      matches it (MALFORMED), key type accepted (UNSUPPORTED), signature
 *      encoding (MALFORMED), then the public-key operation   -> BAD_SIGNATURE
 *   3. validity and chain, in one X509_verify_cert at `at`   -> CERT_EXPIRED,
 *      CERT_NOT_YET_VALID, UNTRUSTED
 *   4. key usage                                             -> KEY_USAGE
 * sig_check_cert runs 1, the key type part of 2, 3 and 4.
 *
 * Every public function brackets its OpenSSL calls with ERR_set_mark /
 * ERR_pop_to_mark, so it neither leaves errors behind nor eats the caller's.
 */
#include "sig_priv.h"

#include <stdarg.h>

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#define SIG_RSA_MIN_BITS 2048

struct sig_trust {
    /*
     * Guards store and untrusted between sig_trust_replace (the event loop)
     * and chain checks on other threads (gw_life's CMP worker), which take a
     * reference of each under it; the replacing thread's own readers need not.
     */
    pthread_mutex_t mu;
    X509_STORE *store;          /* trust anchors only */
    STACK_OF(X509) * untrusted; /* intermediates, offered to chain building; may be NULL */
    ASN1_OBJECT *policy;        /* required certificate policy, or NULL */
    int require_nr;             /* the leaf must have nonRepudiation */
    unsigned gen;               /* bumped by sig_trust_set_profile and _replace (sig_vcache empties itself) */
};

const char *sig_strerror(enum sig_err err)
{
    switch (err) {
    case SIG_OK: return "success";
    case SIG_ERR_BAD_SIGNATURE: return "signature does not verify";
    case SIG_ERR_CERT_EXPIRED: return "certificate expired";
    case SIG_ERR_CERT_NOT_YET_VALID: return "certificate not yet valid";
    case SIG_ERR_UNTRUSTED: return "certificate does not chain to a trust anchor";
    case SIG_ERR_KEY_USAGE: return "certificate key usage does not allow signing";
    case SIG_ERR_MALFORMED: return "malformed certificate or signature";
    case SIG_ERR_UNSUPPORTED: return "unsupported key type or digest algorithm";
    case SIG_ERR_IO: return "cannot read trust file";
    case SIG_ERR_NOMEM: return "out of memory";
    case SIG_ERR_REVOKED: return "certificate revoked";
    case SIG_ERR_REVOCATION_UNKNOWN: return "revocation status unknown";
    case SIG_ERR_CERT_MISMATCH: return "not the certificate registered for the subscriber";
    case SIG_ERR_AGAIN: return "temporary failure, try again";
    case SIG_ERR_DIGEST_MISMATCH: return "signed data is not over the transaction's digest";
    }
    return "unknown error";
}

const char *sig_result_name(enum sig_err err)
{
    switch (err) {
    case SIG_OK: return "OK";
    case SIG_ERR_BAD_SIGNATURE: return "INVALID_SIGNATURE";
    case SIG_ERR_CERT_EXPIRED: return "CERT_EXPIRED";
    case SIG_ERR_CERT_NOT_YET_VALID: return "CERT_NOT_YET_VALID";
    case SIG_ERR_UNTRUSTED: return "UNTRUSTED_CHAIN";
    case SIG_ERR_KEY_USAGE: return "WRONG_KEY_USAGE";
    /* To a client an unparsable signature is just an invalid one. */
    case SIG_ERR_MALFORMED: return "INVALID_SIGNATURE";
    case SIG_ERR_REVOKED: return "REVOKED_CERTIFICATE";
    case SIG_ERR_REVOCATION_UNKNOWN: return "REVOCATION_UNKNOWN";
    case SIG_ERR_CERT_MISMATCH: return "CERT_MISMATCH";
    /* A signature over another document is, to a client, an invalid one. */
    case SIG_ERR_DIGEST_MISMATCH: return "INVALID_SIGNATURE";
    case SIG_ERR_UNSUPPORTED:
    case SIG_ERR_IO:
    case SIG_ERR_NOMEM:
    case SIG_ERR_AGAIN: break;
    }
    return "INTERNAL_ERROR";
}

/* why may be NULL; a reason is always one line and never holds personal data. */
void sig_set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

#define set_why(why, whylen, text) sig_set_why((why), (whylen), "%s", (text))

/* ---- trust ------------------------------------------------------------- */

/*
 * Read every certificate of a PEM file.  An empty file, or one with a
 * broken block, is refused: a trust file that silently yields fewer
 * certificates than written would show up only as UNTRUSTED later.
 */
static enum sig_err read_pem_certs(const char *path, STACK_OF(X509) * *out, const char *what, char *why, size_t whylen)
{
    enum sig_err rc = SIG_OK;
    STACK_OF(X509) *certs = NULL;
    BIO *bio = NULL;
    X509 *x = NULL;
    char msg[256];

    bio = BIO_new_file(path, "r");
    if (bio == NULL) {
        snprintf(msg, sizeof msg, "%s: cannot open %s", what, path);
        set_why(why, whylen, msg);
        rc = SIG_ERR_IO;
        goto out;
    }
    certs = sk_X509_new_null();
    if (certs == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        unsigned long e;

        x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        if (x == NULL) {
            e = ERR_peek_last_error();
            /* "no start line" after at least one certificate is the normal end of file. */
            if (sk_X509_num(certs) > 0 && ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            snprintf(msg, sizeof msg, "%s: %s in %s", what,
                     sk_X509_num(certs) > 0 ? "unreadable certificate" : "no certificate", path);
            set_why(why, whylen, msg);
            rc = SIG_ERR_MALFORMED;
            goto out;
        }
        if (!sk_X509_push(certs, x)) {
            rc = SIG_ERR_NOMEM;
            goto out;
        }
        x = NULL;
    }
    *out = certs;
    certs = NULL;
out:
    X509_free(x);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    return rc;
}

enum sig_err sig_trust_load(const char *anchors_pem, const char *intermediates_pem, struct sig_trust **out, char *why,
                            size_t whylen)
{
    enum sig_err rc = SIG_OK;
    struct sig_trust *t = NULL;
    STACK_OF(X509) *anchors = NULL;

    ERR_set_mark();
    set_why(why, whylen, "");
    if (out == NULL || anchors_pem == NULL || anchors_pem[0] == '\0') {
        set_why(why, whylen, "trust anchors: no file given");
        rc = SIG_ERR_IO;
        goto out;
    }
    *out = NULL;
    t = OPENSSL_zalloc(sizeof *t);
    if (t == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    pthread_mutex_init(&t->mu, NULL);
    rc = read_pem_certs(anchors_pem, &anchors, "trust anchors", why, whylen);
    if (rc != SIG_OK)
        goto out;
    t->store = X509_STORE_new();
    if (t->store == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < sk_X509_num(anchors); i++) {
        /* X509_STORE_add_cert takes its own reference. */
        if (!X509_STORE_add_cert(t->store, sk_X509_value(anchors, i))) {
            rc = SIG_ERR_NOMEM;
            goto out;
        }
    }
    /* An intermediates file that is named but missing is a configuration error, not "none". */
    if (intermediates_pem != NULL && intermediates_pem[0] != '\0') {
        rc = read_pem_certs(intermediates_pem, &t->untrusted, "intermediates", why, whylen);
        if (rc != SIG_OK)
            goto out;
    }
    *out = t;
    t = NULL;
out:
    if (rc == SIG_ERR_NOMEM)
        set_why(why, whylen, "out of memory");
    sk_X509_pop_free(anchors, X509_free);
    sig_trust_free(t);
    ERR_pop_to_mark();
    return rc;
}

void sig_trust_free(struct sig_trust *t)
{
    if (t == NULL)
        return;
    ASN1_OBJECT_free(t->policy);
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->untrusted, X509_free);
    pthread_mutex_destroy(&t->mu);
    OPENSSL_free(t);
}

void sig_trust_replace(struct sig_trust *t, struct sig_trust *fresh)
{
    X509_STORE *store;
    STACK_OF(X509) * untrusted;

    pthread_mutex_lock(&t->mu);
    store = t->store;
    untrusted = t->untrusted;
    t->store = fresh->store;
    t->untrusted = fresh->untrusted;
    t->gen++;
    pthread_mutex_unlock(&t->mu);
    /* A chain check on another thread may still hold references: OpenSSL frees the last one. */
    fresh->store = store;
    fresh->untrusted = untrusted;
    sig_trust_free(fresh);
}

enum sig_err sig_trust_set_profile(struct sig_trust *t, const char *policy_oid, int require_nr)
{
    ASN1_OBJECT *obj = NULL;

    if (t == NULL)
        return SIG_ERR_MALFORMED;
    if (policy_oid != NULL && policy_oid[0] != '\0') {
        ERR_set_mark();
        obj = OBJ_txt2obj(policy_oid, 1); /* 1: numeric form only */
        ERR_pop_to_mark();
        if (obj == NULL)
            return SIG_ERR_MALFORMED;
    }
    ASN1_OBJECT_free(t->policy);
    t->policy = obj;
    t->require_nr = require_nr != 0;
    t->gen++;
    return SIG_OK;
}

unsigned sig_trust_gen(const struct sig_trust *t)
{
    return t != NULL ? t->gen : 0;
}

X509_STORE *sig_trust_store(const struct sig_trust *t)
{
    return t != NULL ? t->store : NULL;
}

STACK_OF(X509) * sig_trust_intermediates(const struct sig_trust *t)
{
    return t != NULL ? t->untrusted : NULL;
}

/* ---- the checks -------------------------------------------------------- */

/* Step 1: the whole input must be one certificate, nothing after it. */
enum sig_err sig_parse_cert(const uint8_t *der, size_t len, X509 **out, char *why, size_t whylen)
{
    const unsigned char *p = der;
    X509 *x;

    if (der == NULL || len == 0 || len > LONG_MAX) {
        set_why(why, whylen, "certificate: empty or too large");
        return SIG_ERR_MALFORMED;
    }
    x = d2i_X509(NULL, &p, (long)len);
    if (x == NULL || p != der + len) {
        X509_free(x);
        set_why(why, whylen, "certificate: not a DER X.509 certificate");
        return SIG_ERR_MALFORMED;
    }
    *out = x;
    return SIG_OK;
}

/*
 * The key types we take: RSA of at least 2048 bits and EC on P-256 or P-384
 * with a named curve.  RSA-PSS-only keys, SM2, EdDSA and explicit curve
 * parameters are refused rather than half supported.
 */
enum sig_err sig_check_key_type(X509 *x, EVP_PKEY **pkey_out, char *why, size_t whylen)
{
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    char group[64];
    int nid;

    if (pkey == NULL) {
        X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
        ASN1_OBJECT *alg = NULL;

        /* A key OpenSSL knows but cannot decode is broken; an unknown algorithm is just not ours. */
        if (pub != NULL && X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pub)) {
            nid = OBJ_obj2nid(alg);
            if (nid == NID_rsaEncryption || nid == NID_X9_62_id_ecPublicKey) {
                set_why(why, whylen, "certificate: public key does not decode");
                return SIG_ERR_MALFORMED;
            }
        }
        set_why(why, whylen, "certificate: unsupported public key algorithm");
        return SIG_ERR_UNSUPPORTED;
    }
    if (EVP_PKEY_is_a(pkey, "RSA")) {
        if (EVP_PKEY_get_bits(pkey) < SIG_RSA_MIN_BITS) {
            set_why(why, whylen, "certificate: RSA key shorter than 2048 bits");
            return SIG_ERR_UNSUPPORTED;
        }
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        /* Fails for explicit parameters, which have no group name: refused too. */
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL)) {
            set_why(why, whylen, "certificate: EC key without a named curve");
            return SIG_ERR_UNSUPPORTED;
        }
        nid = OBJ_txt2nid(group);
        if (nid != NID_X9_62_prime256v1 && nid != NID_secp384r1) {
            set_why(why, whylen, "certificate: EC curve other than P-256 or P-384");
            return SIG_ERR_UNSUPPORTED;
        }
    } else {
        set_why(why, whylen, "certificate: key type other than RSA or EC");
        return SIG_ERR_UNSUPPORTED;
    }
    if (pkey_out != NULL)
        *pkey_out = pkey;
    return SIG_OK;
}

/* The model digest to OpenSSL's; NULL when unknown. */
const EVP_MD *sig_digest_for(enum dg_alg alg)
{
    switch (alg) {
    case DG_SHA256: return EVP_sha256();
    case DG_SHA384: return EVP_sha384();
    case DG_SHA512: return EVP_sha512();
    case DG_NONE: break;
    }
    return NULL;
}

/*
 * An ECDSA signature must be exactly one canonical DER ECDSA-Sig-Value.
 * OpenSSL's verify enforces this too, but checking first lets a truncated or
 * padded signature be reported as MALFORMED rather than as a forgery.
 */
static int ecdsa_der_is_canonical(const uint8_t *sig, size_t sig_len)
{
    const unsigned char *p = sig;
    unsigned char *der = NULL;
    ECDSA_SIG *s;
    int der_len;
    int ok = 0;

    if (sig_len == 0 || sig_len > LONG_MAX)
        return 0;
    s = d2i_ECDSA_SIG(NULL, &p, (long)sig_len);
    if (s == NULL)
        return 0;
    der_len = i2d_ECDSA_SIG(s, &der);
    ok = der_len > 0 && (size_t)der_len == sig_len && memcmp(der, sig, sig_len) == 0;
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return ok;
}

/* Step 2, first part: the digest algorithm and length.  *md receives the digest. */
enum sig_err sig_check_digest_arg(enum dg_alg digest_alg, const uint8_t *digest, size_t digest_len, const EVP_MD **md,
                                  char *why, size_t whylen)
{
    *md = sig_digest_for(digest_alg);
    if (*md == NULL) {
        set_why(why, whylen, "signature: unknown digest algorithm");
        return SIG_ERR_UNSUPPORTED;
    }
    if (digest == NULL || digest_len != (size_t)EVP_MD_get_size(*md)) {
        set_why(why, whylen, "signature: digest length does not match its algorithm");
        return SIG_ERR_MALFORMED;
    }
    return SIG_OK;
}

/* Step 2, second part: the signature's encoding for an accepted key. */
enum sig_err sig_check_sig_form(EVP_PKEY *pkey, const uint8_t *sig, size_t sig_len, char *why, size_t whylen)
{
    int is_rsa = EVP_PKEY_is_a(pkey, "RSA");

    if (sig == NULL || sig_len == 0) {
        set_why(why, whylen, "signature: empty");
        return SIG_ERR_MALFORMED;
    }
    /* An RSA signature is exactly as long as the modulus (RFC 8017 8.2.2 step 1). */
    if (is_rsa && sig_len != (size_t)EVP_PKEY_get_size(pkey)) {
        set_why(why, whylen, "signature: RSA signature length differs from the key size");
        return SIG_ERR_MALFORMED;
    }
    if (!is_rsa && !ecdsa_der_is_canonical(sig, sig_len)) {
        set_why(why, whylen, "signature: not a DER ECDSA-Sig-Value");
        return SIG_ERR_MALFORMED;
    }
    return SIG_OK;
}

enum sig_err sig_verify_ctx_new(EVP_PKEY *pkey, const EVP_MD *md, EVP_PKEY_CTX **out, char *why, size_t whylen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);

    *out = NULL;
    if (ctx == NULL) {
        set_why(why, whylen, "out of memory");
        return SIG_ERR_NOMEM;
    }
    /*
     * With a signature md set, RSA verify compares against DigestInfo(md,
     * digest) under PKCS#1 v1.5, and ECDSA checks the digest length.
     */
    if (EVP_PKEY_verify_init(ctx) <= 0 ||
        (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) ||
        EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        set_why(why, whylen, "signature: cannot set up verification");
        return SIG_ERR_UNSUPPORTED;
    }
    *out = ctx;
    return SIG_OK;
}

enum sig_err sig_verify_with_ctx(EVP_PKEY_CTX *ctx, const uint8_t *digest, size_t digest_len, const uint8_t *sig,
                                 size_t sig_len, char *why, size_t whylen)
{
    /* Only 1 is success; 0 and the negative error codes are all a refusal. */
    if (EVP_PKEY_verify(ctx, sig, sig_len, digest, digest_len) != 1) {
        set_why(why, whylen, "signature: does not verify with the certificate's key");
        return SIG_ERR_BAD_SIGNATURE;
    }
    return SIG_OK;
}

/* Step 2. */
enum sig_err sig_check_signature(X509 *x, enum dg_alg digest_alg, const uint8_t *digest, size_t digest_len,
                                 const uint8_t *sig, size_t sig_len, char *why, size_t whylen)
{
    enum sig_err rc;
    const EVP_MD *md = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;

    rc = sig_check_digest_arg(digest_alg, digest, digest_len, &md, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_key_type(x, &pkey, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_sig_form(pkey, sig, sig_len, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_verify_ctx_new(pkey, md, &ctx, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_verify_with_ctx(ctx, digest, digest_len, sig, sig_len, why, whylen);
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/*
 * Step 3.  Time errors on the subscriber's own certificate get their own
 * codes because the subscriber can act on them (renew); an expired or
 * not-yet-valid CA further up is "a bad CA on the path": UNTRUSTED.
 */
static enum sig_err check_chain(const struct sig_trust *t, X509 *x, time_t at, STACK_OF(X509) * *chain_out, char *why,
                                size_t whylen)
{
    enum sig_err rc;
    X509_STORE_CTX *ctx = NULL;
    X509_STORE *store = NULL;
    STACK_OF(X509) *untrusted = NULL;
    X509_VERIFY_PARAM *param;
    int ok, err, depth, refs = 1;
    char msg[200];

    if (t == NULL || t->store == NULL) {
        set_why(why, whylen, "chain: no trust anchors loaded");
        rc = SIG_ERR_UNTRUSTED;
        goto out;
    }
    /* References, not the pointers: sig_trust_replace may swap them meanwhile (the mutex is only that). */
    pthread_mutex_lock((pthread_mutex_t *)&t->mu);
    store = t->store;
    if (!X509_STORE_up_ref(store))
        store = NULL;
    if (t->untrusted != NULL) {
        untrusted = X509_chain_up_ref(t->untrusted);
        refs = untrusted != NULL;
    }
    pthread_mutex_unlock((pthread_mutex_t *)&t->mu);
    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || store == NULL || !refs || !X509_STORE_CTX_init(ctx, store, x, untrusted)) {
        set_why(why, whylen, "out of memory");
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_set_time(param, at);
    if (t->policy != NULL) {
        ASN1_OBJECT *pol = OBJ_dup(t->policy);

        /* add0 takes pol; it also turns on X509_V_FLAG_POLICY_CHECK. */
        if (pol == NULL || !X509_VERIFY_PARAM_add0_policy(param, pol)) {
            ASN1_OBJECT_free(pol);
            set_why(why, whylen, "out of memory");
            rc = SIG_ERR_NOMEM;
            goto out;
        }
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_EXPLICIT_POLICY);
    }

    ok = X509_verify_cert(ctx);
    if (ok == 1) {
        rc = SIG_OK;
        if (chain_out != NULL) {
            *chain_out = X509_STORE_CTX_get1_chain(ctx);
            if (*chain_out == NULL)
                rc = SIG_ERR_NOMEM;
        }
        goto out;
    }
    err = X509_STORE_CTX_get_error(ctx);
    depth = X509_STORE_CTX_get_error_depth(ctx);
    snprintf(msg, sizeof msg, "chain: %s (depth %d)", X509_verify_cert_error_string(err), depth);
    set_why(why, whylen, msg);
    if (err == X509_V_ERR_OUT_OF_MEM)
        rc = SIG_ERR_NOMEM;
    else if (err == X509_V_ERR_CERT_HAS_EXPIRED && depth == 0)
        rc = SIG_ERR_CERT_EXPIRED;
    else if (err == X509_V_ERR_CERT_NOT_YET_VALID && depth == 0)
        rc = SIG_ERR_CERT_NOT_YET_VALID;
    else
        rc = SIG_ERR_UNTRUSTED;
out:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    sk_X509_pop_free(untrusted, X509_free);
    return rc;
}

/* Step 4: a signing certificate must say so; one without keyUsage is refused. */
static enum sig_err check_key_usage(const struct sig_trust *t, X509 *x, char *why, size_t whylen)
{
    if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) == 0) {
        set_why(why, whylen, "key usage: certificate has no keyUsage extension");
        return SIG_ERR_KEY_USAGE;
    }
    if (t != NULL && t->require_nr && (X509_get_key_usage(x) & KU_NON_REPUDIATION) == 0) {
        set_why(why, whylen, "key usage: no nonRepudiation (required for signing)");
        return SIG_ERR_KEY_USAGE;
    }
    if ((X509_get_key_usage(x) & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0) {
        set_why(why, whylen, "key usage: neither nonRepudiation nor digitalSignature");
        return SIG_ERR_KEY_USAGE;
    }
    return SIG_OK;
}

enum sig_err sig_check_path(const struct sig_trust *t, X509 *x, time_t at, STACK_OF(X509) * *chain_out, char *why,
                            size_t whylen)
{
    enum sig_err rc;
    STACK_OF(X509) *chain = NULL;

    rc = check_chain(t, x, at, chain_out != NULL ? &chain : NULL, why, whylen);
    if (rc == SIG_OK)
        rc = check_key_usage(t, x, why, whylen);
    if (rc == SIG_OK && chain_out != NULL) {
        *chain_out = chain;
        chain = NULL;
    }
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

enum sig_err sig_verify_digest(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, enum dg_alg digest_alg,
                               const uint8_t *digest, size_t digest_len, const uint8_t *sig, size_t sig_len, time_t at,
                               char *why, size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL;

    ERR_set_mark();
    set_why(why, whylen, "");
    rc = sig_parse_cert(cert, cert_len, &x, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_signature(x, digest_alg, digest, digest_len, sig, sig_len, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_path(t, x, at, NULL, why, whylen);
out:
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_check_cert(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at, char *why,
                            size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL;

    ERR_set_mark();
    set_why(why, whylen, "");
    rc = sig_parse_cert(cert, cert_len, &x, why, whylen);
    if (rc != SIG_OK)
        goto out;
    /* A key we would refuse at every signature is better refused at import. */
    rc = sig_check_key_type(x, NULL, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_path(t, x, at, NULL, why, whylen);
out:
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

/* ---- a certificate as an operator gives it ------------------------------ */

static int has_pem_marker(const uint8_t *in, size_t len)
{
    static const char marker[] = "-----BEGIN CERTIFICATE-----";
    size_t m = sizeof(marker) - 1;

    for (size_t i = 0; len >= m && i <= len - m; i++)
        if (in[i] == '-' && memcmp(in + i, marker, m) == 0)
            return 1;
    return 0;
}

static enum sig_err copy_out(const uint8_t *p, size_t n, uint8_t **der, size_t *der_len, char *why, size_t whylen)
{
    *der = malloc(n ? n : 1); /* an empty file too: sig_check_cert says what is wrong with it */
    if (!*der) {
        set_why(why, whylen, "out of memory");
        return SIG_ERR_NOMEM;
    }
    memcpy(*der, p, n);
    *der_len = n;
    return SIG_OK;
}

static enum sig_err pem_to_der(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len, char *why, size_t whylen)
{
    BIO *bio = BIO_new_mem_buf(in, (int)len);
    X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    unsigned char *p = NULL;
    int n = x ? i2d_X509(x, &p) : -1;
    enum sig_err rc = SIG_ERR_MALFORMED;

    if (!x)
        set_why(why, whylen, "PEM does not hold a readable certificate");
    else if (n <= 0)
        set_why(why, whylen, "cannot re-encode the certificate");
    else
        rc = copy_out(p, (size_t)n, der, der_len, why, whylen);
    OPENSSL_free(p);
    X509_free(x);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

static enum sig_err b64_to_der(const uint8_t *in, size_t len, uint8_t **der, size_t *der_len, char *why, size_t whylen)
{
    char *clean = malloc(len + 1);
    uint8_t *out = NULL;
    size_t n = 0, pad;
    int dlen;
    enum sig_err rc = SIG_ERR_MALFORMED;

    if (!clean) {
        set_why(why, whylen, "out of memory");
        return SIG_ERR_NOMEM;
    }
    for (size_t i = 0; i < len; i++)
        if (!memchr(" \t\r\n", in[i], 4))
            clean[n++] = (char)in[i];
    clean[n] = '\0';
    if (n == 0 || n % 4 != 0 || n > 4 * (SIG_CERT_MAX / 3)) {
        sig_set_why(why, whylen, "is not base64 (length %zu is not a non-zero multiple of 4)", n);
        goto out;
    }
    pad = (size_t)(clean[n - 1] == '=') + (size_t)(clean[n - 2] == '=');
    out = malloc(n / 4 * 3);
    if (!out) {
        set_why(why, whylen, "out of memory");
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    dlen = EVP_DecodeBlock(out, (const unsigned char *)clean, (int)n);
    if (dlen < 0 || (size_t)dlen <= pad) {
        set_why(why, whylen, "is not valid base64");
        goto out;
    }
    /* EVP_DecodeBlock counts the padding as zero octets. */
    *der = out;
    *der_len = (size_t)dlen - pad;
    out = NULL;
    rc = SIG_OK;
out:
    free(out);
    free(clean);
    return rc;
}

enum sig_err sig_cert_to_der(const uint8_t *in, size_t len, enum sig_cert_form form, uint8_t **der, size_t *der_len,
                             char *why, size_t whylen)
{
    *der = NULL;
    *der_len = 0;
    set_why(why, whylen, "");
    if (!in || (form == SIG_CERT_FILE && len > SIG_CERT_MAX)) {
        set_why(why, whylen, "certificate: none, or larger than SIG_CERT_MAX");
        return SIG_ERR_MALFORMED;
    }
    if (form == SIG_CERT_BASE64)
        return b64_to_der(in, len, der, der_len, why, whylen);
    if (has_pem_marker(in, len))
        return pem_to_der(in, len, der, der_len, why, whylen);
    return copy_out(in, len, der, der_len, why, whylen); /* DER: sig_check_cert judges it */
}

/* ---- sig_cert_info ----------------------------------------------------- */

/*
 * Copy at most cap-1 octets, cutting before a UTF-8 continuation octet so a
 * long name is shortened, never turned into invalid UTF-8.
 */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

enum sig_err sig_name_rfc2253(const X509_NAME *name, char *dst, size_t cap)
{
    enum sig_err rc = SIG_OK;
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL;
    long len;

    if (bio == NULL)
        return SIG_ERR_NOMEM;
    /* Without ESC_MSB, non-ASCII stays UTF-8 instead of becoming \XX escapes. */
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    len = BIO_get_mem_data(bio, &data);
    if (len < 0 || (len > 0 && data == NULL)) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    copy_utf8(dst, cap, data != NULL ? data : "", (size_t)len);
out:
    BIO_free(bio);
    return rc;
}

enum sig_err sig_asn1_time(const ASN1_TIME *at, time_t *out)
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    if (at == NULL || !ASN1_TIME_to_tm(at, &tm))
        return SIG_ERR_MALFORMED;
    *out = timegm(&tm);
    return SIG_OK;
}

static void key_type_name(X509 *x, char *dst, size_t cap)
{
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    char group[64];
    const char *nist;

    if (pkey == NULL) {
        snprintf(dst, cap, "unknown");
    } else if (EVP_PKEY_is_a(pkey, "RSA")) {
        snprintf(dst, cap, "RSA-%d", EVP_PKEY_get_bits(pkey));
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL)) {
            snprintf(dst, cap, "EC-explicit");
            return;
        }
        /* "P-256" -> "EC-P256"; curves without a NIST name keep OpenSSL's. */
        nist = EC_curve_nid2nist(OBJ_txt2nid(group));
        if (nist != NULL && strncmp(nist, "P-", 2) == 0)
            snprintf(dst, cap, "EC-P%s", nist + 2);
        else
            snprintf(dst, cap, "EC-%.12s", group);
    } else {
        snprintf(dst, cap, "%.15s", EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
    }
}

enum sig_err sig_cert_info(const uint8_t *cert, size_t cert_len, struct sig_cert_info *out)
{
    enum sig_err rc;
    X509 *x = NULL;
    BIGNUM *bn = NULL;
    char *hex = NULL;

    ERR_set_mark();
    if (out == NULL) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    memset(out, 0, sizeof *out);
    rc = sig_parse_cert(cert, cert_len, &x, NULL, 0);
    if (rc != SIG_OK)
        goto out;
    rc = sig_name_rfc2253(X509_get_subject_name(x), out->subject, sizeof out->subject);
    if (rc != SIG_OK)
        goto out;
    rc = sig_name_rfc2253(X509_get_issuer_name(x), out->issuer, sizeof out->issuer);
    if (rc != SIG_OK)
        goto out;

    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    /* RFC 5280 caps serials at 20 octets; a longer one is shown whole or not at all. */
    if (strlen(hex) >= sizeof out->serial_hex) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    snprintf(out->serial_hex, sizeof out->serial_hex, "%s", hex);

    rc = sig_asn1_time(X509_get0_notBefore(x), &out->not_before);
    if (rc != SIG_OK)
        goto out;
    rc = sig_asn1_time(X509_get0_notAfter(x), &out->not_after);
    if (rc != SIG_OK)
        goto out;
    key_type_name(x, out->key_type, sizeof out->key_type);
out:
    if (rc != SIG_OK && out != NULL)
        memset(out, 0, sizeof *out);
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

/* ---- sig_cert_names ---------------------------------------------------- */

/* The first `nid` of name as UTF-8 into dst ("" when absent); -1 when it does not decode. */
static int name_attr(const X509_NAME *name, int nid, char *dst, size_t cap)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    unsigned char *utf8 = NULL;
    int len;

    dst[0] = '\0';
    if (i < 0)
        return 0;
    len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (len < 0)
        return -1;
    copy_utf8(dst, cap, (const char *)utf8, (size_t)len);
    OPENSSL_free(utf8);
    return 0;
}

enum sig_err sig_name_attrs(const X509_NAME *n, struct sig_cert_names *out)
{
    if (name_attr(n, NID_commonName, out->cn, sizeof out->cn) != 0 ||
        name_attr(n, NID_organizationName, out->o, sizeof out->o) != 0 ||
        name_attr(n, NID_organizationalUnitName, out->ou, sizeof out->ou) != 0 ||
        name_attr(n, NID_localityName, out->l, sizeof out->l) != 0 ||
        name_attr(n, NID_stateOrProvinceName, out->st, sizeof out->st) != 0 ||
        name_attr(n, NID_userId, out->uid, sizeof out->uid) != 0 ||
        name_attr(n, NID_pkcs9_emailAddress, out->email, sizeof out->email) != 0 ||
        name_attr(n, NID_serialNumber, out->serial_number, sizeof out->serial_number) != 0)
        return SIG_ERR_MALFORMED;
    return SIG_OK;
}

enum sig_err sig_cert_names(const uint8_t *cert, size_t cert_len, struct sig_cert_names *out)
{
    enum sig_err rc;
    X509 *x = NULL;
    const X509_NAME *n;

    ERR_set_mark();
    if (out == NULL) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    memset(out, 0, sizeof *out);
    rc = sig_parse_cert(cert, cert_len, &x, NULL, 0);
    if (rc != SIG_OK)
        goto out;
    n = X509_get_subject_name(x);
    rc = sig_name_attrs(n, out);
out:
    if (rc != SIG_OK && out != NULL)
        memset(out, 0, sizeof *out);
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}
