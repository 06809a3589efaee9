/*
 * sig_cms.c - detached CMS SignedData around a signature made elsewhere.
 *
 * OpenSSL builds everything: CMS_add1_signer is given the certificate's own
 * public key (it only checks that key and certificate match) with
 * CMS_PARTIAL, so it sets up the SignerInfo (sid, digest and signature
 * algorithms, ESS signingCertificateV2 with CMS_CADES) without signing; we
 * add the other signed attributes, encode them as the DER SET OF that the
 * signature covers with an ASN.1 template equal to OpenSSL's internal
 * CMS_Attributes_Sign, and later drop the SIM's signature into the
 * SignerInfo's signature OCTET STRING.
 */
#include "sig_cms.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>

#include "sig_priv.h"
#include "sig_tsa.h"

/* SET OF Attribute, DER sorted: the input of the signature (RFC 5652 5.4). */
typedef STACK_OF(X509_ATTRIBUTE) SIG_CMS_ATTRS;
DECLARE_ASN1_ITEM(SIG_CMS_ATTRS)
ASN1_ITEM_TEMPLATE(SIG_CMS_ATTRS) = ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_ORDER, 0, SIG_CMS_ATTRS, X509_ATTRIBUTE)
    ASN1_ITEM_TEMPLATE_END(SIG_CMS_ATTRS)

        struct sig_cms {
    CMS_ContentInfo *cms;
    CMS_SignerInfo *si; /* borrowed from cms */
    X509 *cert;
    enum dg_alg alg;
    unsigned char *attrs; /* DER SET OF signed attributes */
    int attrs_len;
    unsigned char tbs[EVP_MAX_MD_SIZE];
    unsigned tbs_len;
    int finished;
};

void sig_cms_free(struct sig_cms *p)
{
    if (p == NULL)
        return;
    CMS_ContentInfo_free(p->cms);
    X509_free(p->cert);
    OPENSSL_free(p->attrs);
    OPENSSL_free(p);
}

static enum sig_err encode_attrs(struct sig_cms *p)
{
    SIG_CMS_ATTRS *sk = sk_X509_ATTRIBUTE_new_null();
    enum sig_err rc = SIG_OK;
    int n = CMS_signed_get_attr_count(p->si);

    if (sk == NULL)
        return SIG_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        /* Borrowed pointers: the stack is freed with sk_free, not pop_free. */
        if (!sk_X509_ATTRIBUTE_push(sk, CMS_signed_get_attr(p->si, i))) {
            rc = SIG_ERR_NOMEM;
            goto out;
        }
    }
    p->attrs_len = ASN1_item_i2d((ASN1_VALUE *)sk, &p->attrs, ASN1_ITEM_rptr(SIG_CMS_ATTRS));
    if (p->attrs_len <= 0)
        rc = SIG_ERR_NOMEM;
out:
    sk_X509_ATTRIBUTE_free(sk);
    return rc;
}

enum sig_err sig_cms_prepare(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, enum dg_alg digest_alg,
                             const uint8_t *doc_digest, size_t doc_digest_len, time_t signing_time,
                             struct sig_cms **out, char *why, size_t whylen)
{
    enum sig_err rc;
    struct sig_cms *p = NULL;
    STACK_OF(X509) *chain = NULL;
    EVP_PKEY *pkey = NULL;
    ASN1_TIME *st = NULL;
    const EVP_MD *md = sig_digest_for(digest_alg);
    const unsigned flags = CMS_DETACHED | CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP | CMS_CADES;

    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    if (out == NULL) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    *out = NULL;
    if (md == NULL) {
        sig_set_why(why, whylen, "cms: unknown digest algorithm");
        rc = SIG_ERR_UNSUPPORTED;
        goto out;
    }
    if (doc_digest == NULL || doc_digest_len != (size_t)EVP_MD_get_size(md)) {
        sig_set_why(why, whylen, "cms: digest length does not match its algorithm");
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    p = OPENSSL_zalloc(sizeof *p);
    if (p == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    p->alg = digest_alg;
    rc = sig_parse_cert(cert, cert_len, &p->cert, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_key_type(p->cert, &pkey, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_path(t, p->cert, signing_time, &chain, why, whylen);
    if (rc != SIG_OK)
        goto out;

    rc = SIG_ERR_NOMEM;
    p->cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
    if (p->cms == NULL || !CMS_set_detached(p->cms, 1))
        goto out;
    /* The public key passes CMS_add1_signer's "key matches certificate" check; nothing is signed here. */
    p->si = CMS_add1_signer(p->cms, p->cert, pkey, md, flags);
    if (p->si == NULL) {
        sig_set_why(why, whylen, "cms: cannot set up the signer");
        rc = SIG_ERR_UNSUPPORTED;
        goto out;
    }
    /* Intermediates of the validated path; the anchor is the verifier's to have. */
    for (int i = 1; i < sk_X509_num(chain) - 1; i++) {
        if (!CMS_add1_cert(p->cms, sk_X509_value(chain, i)))
            goto out;
    }
    st = ASN1_TIME_adj(NULL, signing_time, 0, 0);
    if (st == NULL)
        goto out;
    if (CMS_signed_add1_attr_by_NID(p->si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) <=
            0 ||
        CMS_signed_add1_attr_by_NID(p->si, NID_pkcs9_signingTime, st->type, st, -1) <= 0 ||
        CMS_signed_add1_attr_by_NID(p->si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, doc_digest,
                                    (int)doc_digest_len) <= 0)
        goto out;
    rc = encode_attrs(p);
    if (rc != SIG_OK)
        goto out;
    if (!EVP_Digest(p->attrs, (size_t)p->attrs_len, p->tbs, &p->tbs_len, md, NULL)) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    *out = p;
    p = NULL;
    rc = SIG_OK;
out:
    if (rc == SIG_ERR_NOMEM)
        sig_set_why(why, whylen, "out of memory");
    ASN1_TIME_free(st);
    sk_X509_pop_free(chain, X509_free);
    sig_cms_free(p);
    ERR_pop_to_mark();
    return rc;
}

const uint8_t *sig_cms_signed_attrs(const struct sig_cms *p, size_t *len)
{
    *len = p != NULL ? (size_t)p->attrs_len : 0;
    return p != NULL ? p->attrs : NULL;
}

const uint8_t *sig_cms_tbs_digest(const struct sig_cms *p, size_t *len)
{
    *len = p != NULL ? p->tbs_len : 0;
    return p != NULL ? p->tbs : NULL;
}

enum sig_err sig_cms_finish(struct sig_cms *p, const uint8_t *sig, size_t sig_len, const struct sig_tsa *tsa,
                            const uint8_t *tst, size_t tst_len, uint8_t **der, size_t *der_len, char *why,
                            size_t whylen)
{
    enum sig_err rc;
    unsigned char *buf = NULL;
    int len;

    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    if (p == NULL || p->finished || der == NULL || der_len == NULL || sig_len > INT_MAX || tst_len > INT_MAX) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    p->finished = 1;
    rc = sig_check_signature(p->cert, p->alg, p->tbs, p->tbs_len, sig, sig_len, why, whylen);
    if (rc != SIG_OK)
        goto out;
    if (!ASN1_STRING_set(CMS_SignerInfo_get0_signature(p->si), sig, (int)sig_len)) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    if (tst != NULL) {
        if (tsa == NULL) {
            sig_set_why(why, whylen, "timestamp: no TSA configured to check the token");
            rc = SIG_ERR_UNTRUSTED;
            goto out;
        }
        rc = sig_tsa_check_token(tsa, sig, sig_len, tst, tst_len, NULL, why, whylen);
        if (rc != SIG_OK)
            goto out;
        /* V_ASN1_SEQUENCE: the value is the token's own DER, copied as is. */
        if (CMS_unsigned_add1_attr_by_NID(p->si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tst, (int)tst_len) <=
            0) {
            rc = SIG_ERR_NOMEM;
            goto out;
        }
    }
    len = i2d_CMS_ContentInfo(p->cms, &buf);
    if (len <= 0) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    *der = malloc((size_t)len);
    if (*der == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    memcpy(*der, buf, (size_t)len);
    *der_len = (size_t)len;
    rc = SIG_OK;
out:
    if (rc == SIG_ERR_NOMEM)
        sig_set_why(why, whylen, "out of memory");
    OPENSSL_free(buf);
    ERR_pop_to_mark();
    return rc;
}
