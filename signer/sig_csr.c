/*
 * sig_csr.c - two-phase PKCS#10 with the signature made elsewhere (the SIM).
 *
 * Everything is built with OpenSSL's X509_REQ / X509_NAME / X509V3 objects;
 * no DER is written by hand.  The signature is put in with
 * X509_REQ_set1_signature_algo / X509_REQ_set0_signature, the request is
 * encoded, and the checks run on the *parsed-back* encoding, so they look at
 * exactly the octets the CA will get.
 */
#include "sig_csr.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CSR_RSA_MIN_BITS 2048
#define CSR_RSA_MAX_BITS 4096
#define CSR_MAX_SPKI     2048 /* an RSA-4096 SPKI is ~550 octets */
#define CSR_MAX_SIG      1024
#define CSR_MAX_EMAIL    254 /* longest usable SMTP address */

/* X.520 upper bounds, in characters (RFC 5280 appendix A). */
#define UB_NAME  64
#define UB_PLACE 128

enum csr_state { CSR_PREPARED, CSR_SPENT };

struct sig_csr {
    enum csr_state state;
    X509_REQ *req;   /* request info filled in, unsigned */
    EVP_PKEY *key;   /* the SIM's public key */
    X509_NAME *name; /* the subject as built, for the check in finish */
    uint8_t *tbs;    /* DER CertificationRequestInfo the digest was made over */
    size_t tbs_len;
    char key_type[16];
};

const char *sig_csr_strerror(enum sig_csr_err err)
{
    switch (err) {
    case SIG_CSR_OK: return "success";
    case SIG_CSR_ERR_MALFORMED: return "malformed public key or signature";
    case SIG_CSR_ERR_UNSUPPORTED_KEY: return "key is neither RSA 2048..4096 nor EC P-256";
    case SIG_CSR_ERR_SUBJECT: return "invalid subject field";
    case SIG_CSR_ERR_BAD_SIGNATURE: return "request signature does not verify with its own public key";
    case SIG_CSR_ERR_MISMATCH: return "encoded request differs from the prepared one";
    case SIG_CSR_ERR_STATE: return "request already finished or failed";
    case SIG_CSR_ERR_NOMEM: return "out of memory";
    case SIG_CSR_ERR_INTERNAL: return "internal OpenSSL error";
    }
    return "unknown error";
}

static void set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---- the key ----------------------------------------------------------- */

/* The profile takes RSA 2048..4096 (PKCS#1 v1.5, not RSA-PSS keys) and P-256 only. */
static enum sig_csr_err check_key(EVP_PKEY *key, char *type, size_t typelen, char *why, size_t whylen)
{
    char group[32];
    int bits = EVP_PKEY_get_bits(key);

    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        if (bits < CSR_RSA_MIN_BITS || bits > CSR_RSA_MAX_BITS) {
            set_why(why, whylen, "RSA key of %d bits; the profile takes %d..%d", bits, CSR_RSA_MIN_BITS,
                    CSR_RSA_MAX_BITS);
            return SIG_CSR_ERR_UNSUPPORTED_KEY;
        }
        snprintf(type, typelen, "RSA-%d", bits);
        return SIG_CSR_OK;
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        /* Explicit curve parameters have no group name and are refused too. */
        if (!EVP_PKEY_get_group_name(key, group, sizeof group, NULL) || strcmp(group, SN_X9_62_prime256v1) != 0) {
            set_why(why, whylen, "EC key not on the named curve P-256");
            return SIG_CSR_ERR_UNSUPPORTED_KEY;
        }
        snprintf(type, typelen, "EC-P256");
        return SIG_CSR_OK;
    }
    set_why(why, whylen, "key type %s is not RSA or EC", OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
    return SIG_CSR_ERR_UNSUPPORTED_KEY;
}

/* Whole DER SubjectPublicKeyInfo, nothing trailing. */
static enum sig_csr_err parse_spki(const uint8_t *spki, size_t len, EVP_PKEY **out, char *why, size_t whylen)
{
    const unsigned char *p = spki;
    EVP_PKEY *key;

    if (spki == NULL || len == 0 || len > CSR_MAX_SPKI) {
        set_why(why, whylen, "SubjectPublicKeyInfo of %zu octets", len);
        return SIG_CSR_ERR_MALFORMED;
    }
    key = d2i_PUBKEY(NULL, &p, (long)len);
    if (key == NULL || p != spki + len) {
        EVP_PKEY_free(key);
        set_why(why, whylen, "SubjectPublicKeyInfo does not parse as DER");
        return SIG_CSR_ERR_MALFORMED;
    }
    *out = key;
    return SIG_CSR_OK;
}

/* ---- the subject ------------------------------------------------------- */

/*
 * UTF-8, 1..ub characters, no C0/C1 control characters.  A control character
 * would pass OpenSSL's UTF-8 check but could hide text from whoever reads the
 * certificate, so it is refused here.
 */
static int text_ok(const char *v, long ub)
{
    size_t n = strlen(v);
    size_t i;

    if (n == 0 || n > (size_t)ub * 4)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];

        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == 0xc2 && i + 1 < n && (unsigned char)v[i + 1] >= 0x80 && (unsigned char)v[i + 1] <= 0x9f)
            return 0;
    }
    /* With out == NULL this only validates: well-formed UTF-8, length in characters. */
    return ASN1_mbstring_ncopy(NULL, (const unsigned char *)v, (int)n, MBSTRING_UTF8, B_ASN1_UTF8STRING, 1, ub) > 0;
}

static enum sig_csr_err add_utf8(X509_NAME *name, int nid, const char *field, const char *v, long ub, char *why,
                                 size_t whylen)
{
    if (v == NULL || !text_ok(v, ub)) {
        set_why(why, whylen, "subject %s: missing, not UTF-8, a control character, or over %ld characters", field, ub);
        return SIG_CSR_ERR_SUBJECT;
    }
    /* A plain (non-MBSTRING) type makes OpenSSL store the octets as a UTF8String as is. */
    if (!X509_NAME_add_entry_by_NID(name, nid, V_ASN1_UTF8STRING, (const unsigned char *)v, -1, -1, 0))
        return SIG_CSR_ERR_INTERNAL;
    return SIG_CSR_OK;
}

static int all_digits(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "CCCD:<12 digits>" or "MST:<10 digits>[-<3 digits>]" into uid. */
static enum sig_csr_err make_uid(const struct sig_csr_subject *s, char *uid, size_t uidlen, char *why, size_t whylen)
{
    const char *v = s->id_number;
    size_t n = v == NULL ? 0 : strlen(v);

    if (s->id_kind == SIG_CSR_ID_CCCD && n == 12 && all_digits(v, 12)) {
        snprintf(uid, uidlen, "CCCD:%s", v);
        return SIG_CSR_OK;
    }
    if (s->id_kind == SIG_CSR_ID_MST &&
        ((n == 10 && all_digits(v, 10)) || (n == 14 && all_digits(v, 10) && v[10] == '-' && all_digits(v + 11, 3)))) {
        snprintf(uid, uidlen, "MST:%s", v);
        return SIG_CSR_OK;
    }
    /* The number itself is personal data: never echoed. */
    set_why(why, whylen, "subject UID: %s",
            s->id_kind == SIG_CSR_ID_CCCD  ? "CCCD must be 12 digits"
            : s->id_kind == SIG_CSR_ID_MST ? "MST must be 10 digits or 10-3 digits"
                                           : "unknown ID kind");
    return SIG_CSR_ERR_SUBJECT;
}

static enum sig_csr_err build_name(const struct sig_csr_subject *s, X509_NAME **out, char *why, size_t whylen)
{
    enum sig_csr_err rc = SIG_CSR_ERR_INTERNAL;
    X509_NAME *name = X509_NAME_new();
    char uid[32];
    size_t i;

    if (name == NULL)
        return SIG_CSR_ERR_NOMEM;
    /* countryName is PrintableString SIZE(2) in X.520, not a DirectoryString. */
    if (!X509_NAME_add_entry_by_NID(name, NID_countryName, V_ASN1_PRINTABLESTRING, (const unsigned char *)"VN", 2, -1,
                                    0))
        goto out;
    if ((rc = add_utf8(name, NID_stateOrProvinceName, "ST", s->province, UB_PLACE, why, whylen)) != SIG_CSR_OK)
        goto out;
    if (s->locality != NULL && s->locality[0] != '\0' &&
        (rc = add_utf8(name, NID_localityName, "L", s->locality, UB_PLACE, why, whylen)) != SIG_CSR_OK)
        goto out;
    if ((rc = add_utf8(name, NID_organizationName, "O", s->organisation, UB_NAME, why, whylen)) != SIG_CSR_OK)
        goto out;
    if (s->n_units > SIG_CSR_MAX_OU) {
        set_why(why, whylen, "subject OU: %zu units, at most %d", s->n_units, SIG_CSR_MAX_OU);
        rc = SIG_CSR_ERR_SUBJECT;
        goto out;
    }
    for (i = 0; i < s->n_units; i++)
        if ((rc = add_utf8(name, NID_organizationalUnitName, "OU", s->units[i], UB_NAME, why, whylen)) != SIG_CSR_OK)
            goto out;
    if ((rc = add_utf8(name, NID_commonName, "CN", s->common_name, UB_NAME, why, whylen)) != SIG_CSR_OK)
        goto out;
    if ((rc = make_uid(s, uid, sizeof uid, why, whylen)) != SIG_CSR_OK)
        goto out;
    if ((rc = add_utf8(name, NID_userId, "UID", uid, UB_NAME, why, whylen)) != SIG_CSR_OK)
        goto out;
    *out = name;
    name = NULL;
    rc = SIG_CSR_OK;
out:
    X509_NAME_free(name);
    return rc;
}

/* ---- the extension request -------------------------------------------- */

/* Enough to refuse what no mail system takes; the CA validates the address. */
static int email_ok(const char *e)
{
    size_t n = strlen(e);
    const char *at = strchr(e, '@');
    size_t i;

    if (n == 0 || n > CSR_MAX_EMAIL || at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return 0;
    for (i = 0; i < n; i++)
        if ((unsigned char)e[i] <= 0x20 || (unsigned char)e[i] >= 0x7f)
            return 0;
    return 1;
}

static int push_san_email(STACK_OF(X509_EXTENSION) * *exts, const char *email)
{
    GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
    int ok = 0;

    if (gens == NULL || gn == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, email, -1))
        goto out;
    GENERAL_NAME_set0_value(gn, GEN_EMAIL, ia5);
    ia5 = NULL;
    if (!sk_GENERAL_NAME_push(gens, gn))
        goto out;
    gn = NULL;
    ok = X509V3_add1_i2d(exts, NID_subject_alt_name, gens, 0, X509V3_ADD_APPEND) == 1;
out:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gn);
    GENERAL_NAMES_free(gens);
    return ok;
}

/* keyUsage critical {digitalSignature (bit 0), nonRepudiation (bit 1)}: a signing-only key. */
static int push_key_usage(STACK_OF(X509_EXTENSION) * *exts)
{
    ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
    int ok = 0;

    if (ku == NULL || !ASN1_BIT_STRING_set_bit(ku, 0, 1) || !ASN1_BIT_STRING_set_bit(ku, 1, 1))
        goto out;
    ok = X509V3_add1_i2d(exts, NID_key_usage, ku, 1, X509V3_ADD_APPEND) == 1;
out:
    ASN1_BIT_STRING_free(ku);
    return ok;
}

static enum sig_csr_err add_extensions(X509_REQ *req, const char *email, char *why, size_t whylen)
{
    STACK_OF(X509_EXTENSION) *exts = NULL;
    enum sig_csr_err rc = SIG_CSR_ERR_INTERNAL;
    int want_email = email != NULL && email[0] != '\0';

    if (want_email && !email_ok(email)) {
        set_why(why, whylen, "e-mail: not a plain ASCII address with one '@'");
        return SIG_CSR_ERR_SUBJECT;
    }
    if (!push_key_usage(&exts))
        goto out;
    if (want_email && !push_san_email(&exts, email))
        goto out;
    if (!X509_REQ_add_extensions(req, exts))
        goto out;
    rc = SIG_CSR_OK;
out:
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}

/* ---- prepare ----------------------------------------------------------- */

static enum sig_csr_err fill_request(struct sig_csr *c, const struct sig_csr_subject *subj, char *why, size_t whylen)
{
    enum sig_csr_err rc;
    unsigned char *tbs = NULL;
    int n;

    if ((rc = build_name(subj, &c->name, why, whylen)) != SIG_CSR_OK)
        return rc;
    c->req = X509_REQ_new();
    if (c->req == NULL)
        return SIG_CSR_ERR_NOMEM;
    if (!X509_REQ_set_version(c->req, X509_REQ_VERSION_1) || !X509_REQ_set_subject_name(c->req, c->name) ||
        !X509_REQ_set_pubkey(c->req, c->key))
        return SIG_CSR_ERR_INTERNAL;
    if ((rc = add_extensions(c->req, subj->email, why, whylen)) != SIG_CSR_OK)
        return rc;
    n = i2d_re_X509_REQ_tbs(c->req, &tbs);
    if (n <= 0)
        return SIG_CSR_ERR_INTERNAL;
    c->tbs = tbs;
    c->tbs_len = (size_t)n;
    return SIG_CSR_OK;
}

enum sig_csr_err sig_csr_prepare(const struct sig_csr_subject *subj, const uint8_t *spki_der, size_t spki_len,
                                 struct sig_csr **out, uint8_t digest[SIG_CSR_DIGEST_LEN], char *why, size_t whylen)
{
    enum sig_csr_err rc;
    struct sig_csr *c = NULL;
    unsigned int dlen = 0;

    ERR_set_mark();
    *out = NULL;
    if (subj == NULL) {
        set_why(why, whylen, "no subject");
        rc = SIG_CSR_ERR_SUBJECT;
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        rc = SIG_CSR_ERR_NOMEM;
        goto out;
    }
    c->state = CSR_PREPARED;
    if ((rc = parse_spki(spki_der, spki_len, &c->key, why, whylen)) != SIG_CSR_OK)
        goto out;
    if ((rc = check_key(c->key, c->key_type, sizeof c->key_type, why, whylen)) != SIG_CSR_OK)
        goto out;
    if ((rc = fill_request(c, subj, why, whylen)) != SIG_CSR_OK)
        goto out;
    if (!EVP_Digest(c->tbs, c->tbs_len, digest, &dlen, EVP_sha256(), NULL) || dlen != SIG_CSR_DIGEST_LEN) {
        rc = SIG_CSR_ERR_INTERNAL;
        goto out;
    }
    *out = c;
    c = NULL;
out:
    if (rc == SIG_CSR_ERR_INTERNAL)
        set_why(why, whylen, "OpenSSL failed building the request");
    sig_csr_free(c);
    ERR_pop_to_mark();
    return rc;
}

/* ---- finish ------------------------------------------------------------ */

/*
 * Refuse signatures whose shape is wrong before any public-key operation, so
 * "truncated" and "signed by another key" get different answers: an RSA
 * signature is exactly the modulus size, an ECDSA one is strict DER.
 */
static enum sig_csr_err check_sig_shape(const struct sig_csr *c, const uint8_t *sig, size_t len, char *why,
                                        size_t whylen)
{
    const unsigned char *p = sig;
    unsigned char *re = NULL;
    ECDSA_SIG *es;
    int relen;
    int ok;

    if (sig == NULL || len == 0 || len > CSR_MAX_SIG) {
        set_why(why, whylen, "signature of %zu octets", len);
        return SIG_CSR_ERR_MALFORMED;
    }
    if (EVP_PKEY_get_base_id(c->key) == EVP_PKEY_RSA) {
        if (len != (size_t)EVP_PKEY_get_size(c->key)) {
            set_why(why, whylen, "RSA signature of %zu octets, the key needs %d", len, EVP_PKEY_get_size(c->key));
            return SIG_CSR_ERR_MALFORMED;
        }
        return SIG_CSR_OK;
    }
    es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    relen = es == NULL ? -1 : i2d_ECDSA_SIG(es, &re);
    ok = es != NULL && p == sig + len && relen == (int)len && memcmp(re, sig, len) == 0;
    OPENSSL_free(re);
    ECDSA_SIG_free(es);
    if (!ok) {
        set_why(why, whylen, "ECDSA signature is not a DER ECDSA-Sig-Value");
        return SIG_CSR_ERR_MALFORMED;
    }
    return SIG_CSR_OK;
}

static int sig_nid(const struct sig_csr *c)
{
    return EVP_PKEY_get_base_id(c->key) == EVP_PKEY_RSA ? NID_sha256WithRSAEncryption : NID_ecdsa_with_SHA256;
}

static enum sig_csr_err attach_signature(struct sig_csr *c, const uint8_t *sig, size_t len)
{
    X509_ALGOR *alg = X509_ALGOR_new();
    ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
    /* RFC 4055: NULL parameters for RSA; RFC 5758: absent for ECDSA. */
    int ptype = sig_nid(c) == NID_sha256WithRSAEncryption ? V_ASN1_NULL : V_ASN1_UNDEF;
    enum sig_csr_err rc = SIG_CSR_ERR_INTERNAL;

    if (alg == NULL || bits == NULL)
        goto out;
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(sig_nid(c)), ptype, NULL) || !X509_REQ_set1_signature_algo(c->req, alg))
        goto out;
    if (!ASN1_BIT_STRING_set(bits, (unsigned char *)sig, (int)len))
        goto out;
    /* A signature is whole octets: no unused bits, as OpenSSL itself marks them. */
    bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
    bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
    X509_REQ_set0_signature(c->req, bits);
    bits = NULL;
    rc = SIG_CSR_OK;
out:
    X509_ALGOR_free(alg);
    ASN1_BIT_STRING_free(bits);
    return rc;
}

/* The checks on the request as the CA will see it (parsed back from its DER). */
static enum sig_csr_err check_encoded(const struct sig_csr *c, const uint8_t *der, size_t len, char *why, size_t whylen)
{
    const unsigned char *p = der;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)len);
    unsigned char *tbs = NULL;
    EVP_PKEY *key;
    enum sig_csr_err rc = SIG_CSR_ERR_MISMATCH;
    char type[16];
    int n;

    if (r == NULL || p != der + len) {
        set_why(why, whylen, "the encoded request does not parse back");
        goto out;
    }
    key = X509_REQ_get0_pubkey(r);
    n = i2d_re_X509_REQ_tbs(r, &tbs);
    if (key == NULL || EVP_PKEY_eq(key, c->key) != 1 || X509_NAME_cmp(X509_REQ_get_subject_name(r), c->name) != 0 ||
        n <= 0 || (size_t)n != c->tbs_len || memcmp(tbs, c->tbs, c->tbs_len) != 0 ||
        X509_REQ_get_signature_nid(r) != sig_nid(c)) {
        set_why(why, whylen, "the encoded request is not the prepared one (subject, key or algorithm)");
        goto out;
    }
    if ((rc = check_key(key, type, sizeof type, why, whylen)) != SIG_CSR_OK)
        goto out;
    if (X509_REQ_verify(r, key) != 1) {
        set_why(why, whylen,
                "the signature does not verify with the request's %s key: the SIM signed with another key, "
                "or the signature is damaged",
                c->key_type);
        rc = SIG_CSR_ERR_BAD_SIGNATURE;
        goto out;
    }
    rc = SIG_CSR_OK;
out:
    OPENSSL_free(tbs);
    X509_REQ_free(r);
    return rc;
}

enum sig_csr_err sig_csr_finish(struct sig_csr *c, const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *der_len,
                                char *why, size_t whylen)
{
    enum sig_csr_err rc;
    unsigned char *buf = NULL;
    int n;

    ERR_set_mark();
    *der = NULL;
    *der_len = 0;
    if (c == NULL || c->state != CSR_PREPARED) {
        set_why(why, whylen, "request already finished or failed: prepare a new one");
        rc = SIG_CSR_ERR_STATE;
        goto out;
    }
    /* One signature per prepare: a retry must come with a fresh digest round. */
    c->state = CSR_SPENT;
    if ((rc = check_sig_shape(c, sig, sig_len, why, whylen)) != SIG_CSR_OK)
        goto out;
    if ((rc = attach_signature(c, sig, sig_len)) != SIG_CSR_OK) {
        set_why(why, whylen, "OpenSSL failed attaching the signature");
        goto out;
    }
    n = i2d_X509_REQ(c->req, &buf);
    if (n <= 0) {
        set_why(why, whylen, "OpenSSL failed encoding the request");
        rc = SIG_CSR_ERR_INTERNAL;
        goto out;
    }
    if ((rc = check_encoded(c, buf, (size_t)n, why, whylen)) != SIG_CSR_OK)
        goto out;
    *der = buf;
    *der_len = (size_t)n;
    buf = NULL;
out:
    OPENSSL_free(buf);
    ERR_pop_to_mark();
    return rc;
}

const char *sig_csr_key_type(const struct sig_csr *c)
{
    return c->key_type;
}

void sig_csr_free(struct sig_csr *c)
{
    if (c == NULL)
        return;
    X509_REQ_free(c->req);
    EVP_PKEY_free(c->key);
    X509_NAME_free(c->name);
    OPENSSL_free(c->tbs);
    free(c);
}
