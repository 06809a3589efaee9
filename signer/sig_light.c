/*
 * sig_light.c - sig_cert_summary (sig.h): what a whole-registry read needs of
 * each certificate (serial, notAfter, subject), decoded with OpenSSL's ASN.1
 * templates but for a TBSCertificate whose subjectPublicKeyInfo and
 * extensions are left undecoded (ANY).  OpenSSL 3.0's d2i_X509 decodes the
 * public key through the provider decoders, which is most of its cost
 * (measured: 0.26 ms a certificate, against a few µs for the rest), and
 * reading the names of 100,000 certificates must not take half a minute.
 * Nothing here checks a certificate: that is sig_check_cert's work.
 */
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "sig_priv.h"

typedef struct {
    ASN1_INTEGER *version;
    ASN1_INTEGER *serial;
    X509_ALGOR *sig_alg;
    X509_NAME *issuer;
    X509_VAL *validity;
    X509_NAME *subject;
    ASN1_TYPE *spki; /* not decoded */
    ASN1_BIT_STRING *issuer_uid, *subject_uid;
    ASN1_TYPE *extensions; /* not decoded */
} LIGHT_TBS;

typedef struct {
    LIGHT_TBS *tbs;
    X509_ALGOR *sig_alg;
    ASN1_BIT_STRING *sig;
} LIGHT_CERT;

/* RFC 5280 4.1, with the two costly members as ANY. */
ASN1_SEQUENCE(LIGHT_TBS) =
    {
        ASN1_EXP_OPT(LIGHT_TBS, version, ASN1_INTEGER, 0),
        ASN1_SIMPLE(LIGHT_TBS, serial, ASN1_INTEGER),
        ASN1_SIMPLE(LIGHT_TBS, sig_alg, X509_ALGOR),
        ASN1_SIMPLE(LIGHT_TBS, issuer, X509_NAME),
        ASN1_SIMPLE(LIGHT_TBS, validity, X509_VAL),
        ASN1_SIMPLE(LIGHT_TBS, subject, X509_NAME),
        ASN1_SIMPLE(LIGHT_TBS, spki, ASN1_ANY),
        ASN1_IMP_OPT(LIGHT_TBS, issuer_uid, ASN1_BIT_STRING, 1),
        ASN1_IMP_OPT(LIGHT_TBS, subject_uid, ASN1_BIT_STRING, 2),
        ASN1_EXP_OPT(LIGHT_TBS, extensions, ASN1_ANY, 3),
} static_ASN1_SEQUENCE_END(LIGHT_TBS)

        ASN1_SEQUENCE(LIGHT_CERT) =
            {
                ASN1_SIMPLE(LIGHT_CERT, tbs, LIGHT_TBS),
                ASN1_SIMPLE(LIGHT_CERT, sig_alg, X509_ALGOR),
                ASN1_SIMPLE(LIGHT_CERT, sig, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(LIGHT_CERT)

                enum sig_err sig_cert_summary(const uint8_t *cert, size_t cert_len, struct sig_cert_summary *out)
{
    const unsigned char *p = cert;
    LIGHT_CERT *lc = NULL;
    enum sig_err rc = SIG_ERR_MALFORMED;
    BIGNUM *bn = NULL;
    char *hex = NULL;

    ERR_set_mark();
    if (out == NULL || cert == NULL || cert_len == 0 || cert_len > SIG_CERT_MAX)
        goto out;
    memset(out, 0, sizeof *out);
    lc = (LIGHT_CERT *)ASN1_item_d2i(NULL, &p, (long)cert_len, ASN1_ITEM_rptr(LIGHT_CERT));
    if (lc == NULL || p != cert + cert_len) /* trailing octets: not one certificate */
        goto out;
    bn = ASN1_INTEGER_to_BN(lc->tbs->serial, NULL);
    hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    if (strlen(hex) >= sizeof out->serial_hex) /* RFC 5280 caps serials at 20 octets */
        goto out;
    memcpy(out->serial_hex, hex, strlen(hex) + 1);
    if (sig_asn1_time(lc->tbs->validity->notAfter, &out->not_after) != SIG_OK ||
        sig_name_rfc2253(lc->tbs->subject, out->subject, sizeof out->subject) != SIG_OK ||
        sig_name_attrs(lc->tbs->subject, &out->names) != SIG_OK)
        goto out;
    rc = SIG_OK;
out:
    if (rc != SIG_OK && out != NULL)
        memset(out, 0, sizeof *out);
    OPENSSL_free(hex);
    BN_free(bn);
    ASN1_item_free((ASN1_VALUE *)lc, ASN1_ITEM_rptr(LIGHT_CERT));
    ERR_pop_to_mark();
    return rc;
}
