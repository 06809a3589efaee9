/*
 * sig_cms_verify.c - check a CMS SignedData another party made (sig_cms.h).
 *
 * The checks run cheapest and most telling first (shape, signer, digest,
 * signature, path), so a refusal names the first thing that is wrong.
 */
#include <limits.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include "sig_cms.h"
#include "sig_priv.h"

/* The one SignerInfo, or NULL with the reason set. */
static CMS_SignerInfo *only_signer(CMS_ContentInfo *cms, enum sig_err *rc, char *why, size_t whylen)
{
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);

    if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1) {
        sig_set_why(why, whylen, "cms: %d signers, one expected", sis ? sk_CMS_SignerInfo_num(sis) : 0);
        *rc = SIG_ERR_MALFORMED;
        return NULL;
    }
    return sk_CMS_SignerInfo_value(sis, 0);
}

/* The signer must be the registered certificate, embedded or not. */
static enum sig_err check_signer_cert(CMS_ContentInfo *cms, CMS_SignerInfo *si, X509 *reg, char *why, size_t whylen)
{
    STACK_OF(X509) *certs = NULL;
    enum sig_err rc = SIG_OK;

    if (CMS_SignerInfo_cert_cmp(si, reg) != 0) {
        sig_set_why(why, whylen, "cms: the signer is not the registered certificate");
        return SIG_ERR_CERT_MISMATCH;
    }
    /* An embedded certificate with the same issuer and serial but other contents is a forgery. */
    certs = CMS_get1_certs(cms);
    for (int i = 0; certs && i < sk_X509_num(certs); i++) {
        X509 *c = sk_X509_value(certs, i);
        if (CMS_SignerInfo_cert_cmp(si, c) == 0 && X509_cmp(c, reg) != 0) {
            sig_set_why(why, whylen, "cms: the embedded signer certificate is not the registered one");
            rc = SIG_ERR_CERT_MISMATCH;
            break;
        }
    }
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

/* Digest algorithm and messageDigest against the transaction's digest. */
static enum sig_err check_digest(CMS_SignerInfo *si, const EVP_MD *md, const uint8_t *digest, size_t digest_len,
                                 char *why, size_t whylen)
{
    X509_ALGOR *dig_alg = NULL;
    ASN1_OCTET_STRING *md_attr;

    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig_alg, NULL);
    if (dig_alg == NULL || OBJ_obj2nid(dig_alg->algorithm) != EVP_MD_get_type(md)) {
        sig_set_why(why, whylen, "cms: signed with another digest algorithm than the transaction's");
        return SIG_ERR_DIGEST_MISMATCH;
    }
    if (CMS_signed_get_attr_count(si) <= 0) {
        sig_set_why(why, whylen, "cms: no signed attributes");
        return SIG_ERR_MALFORMED;
    }
    md_attr = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING);
    if (md_attr == NULL) {
        sig_set_why(why, whylen, "cms: no single messageDigest attribute");
        return SIG_ERR_MALFORMED;
    }
    if ((size_t)ASN1_STRING_length(md_attr) != digest_len ||
        memcmp(ASN1_STRING_get0_data(md_attr), digest, digest_len) != 0) {
        sig_set_why(why, whylen, "cms: messageDigest is not the transaction's digest");
        return SIG_ERR_DIGEST_MISMATCH;
    }
    return SIG_OK;
}

enum sig_err sig_verify_cms(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, enum dg_alg digest_alg,
                            const uint8_t *digest, size_t digest_len, const uint8_t *cms_der, size_t cms_len, time_t at,
                            char *why, size_t whylen)
{
    CMS_ContentInfo *cms = NULL;
    CMS_SignerInfo *si;
    ASN1_OCTET_STRING **content;
    const unsigned char *p = cms_der;
    const EVP_MD *md;
    X509 *reg = NULL;
    enum sig_err rc;

    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    rc = sig_check_digest_arg(digest_alg, digest, digest_len, &md, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_parse_cert(cert, cert_len, &reg, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = SIG_ERR_MALFORMED;
    if (cms_der == NULL || cms_len == 0 || cms_len > LONG_MAX) {
        sig_set_why(why, whylen, "cms: empty");
        goto out;
    }
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)cms_len);
    if (cms == NULL || (size_t)(p - cms_der) != cms_len) {
        sig_set_why(why, whylen, "cms: not one DER ContentInfo");
        goto out;
    }
    if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
        sig_set_why(why, whylen, "cms: not a SignedData");
        goto out;
    }
    content = CMS_get0_content(cms);
    if (content && *content && ASN1_STRING_length(*content) > 0) {
        sig_set_why(why, whylen, "cms: carries content; a signature over the digest alone was expected");
        goto out;
    }
    si = only_signer(cms, &rc, why, whylen);
    if (si == NULL)
        goto out;
    rc = check_signer_cert(cms, si, reg, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = check_digest(si, md, digest, digest_len, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_key_type(reg, NULL, why, whylen);
    if (rc != SIG_OK)
        goto out;
    CMS_SignerInfo_set1_signer_cert(si, reg);
    if (CMS_SignerInfo_verify(si) != 1) {
        sig_set_why(why, whylen, "cms: the signature does not verify with the registered certificate");
        rc = SIG_ERR_BAD_SIGNATURE;
        goto out;
    }
    rc = sig_check_path(t, reg, at, NULL, why, whylen);
out:
    CMS_ContentInfo_free(cms);
    X509_free(reg);
    ERR_pop_to_mark();
    return rc;
}
