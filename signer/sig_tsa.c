/*
 * sig_tsa.c - RFC 3161 requests and token checks with OpenSSL's TS API.
 */
#include "sig_tsa.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

#include "sig_priv.h"

struct sig_tsa {
    struct sig_trust *trust; /* TSA roots and intermediates */
};

enum sig_err sig_tsa_new(const char *anchors_pem, const char *intermediates_pem, struct sig_tsa **out, char *why,
                         size_t whylen)
{
    enum sig_err rc;
    struct sig_tsa *tsa;

    if (out == NULL)
        return SIG_ERR_MALFORMED;
    *out = NULL;
    tsa = OPENSSL_zalloc(sizeof *tsa);
    if (tsa == NULL)
        return SIG_ERR_NOMEM;
    rc = sig_trust_load(anchors_pem, intermediates_pem, &tsa->trust, why, whylen);
    if (rc != SIG_OK) {
        OPENSSL_free(tsa);
        return rc;
    }
    *out = tsa;
    return SIG_OK;
}

void sig_tsa_free(struct sig_tsa *tsa)
{
    if (tsa == NULL)
        return;
    sig_trust_free(tsa->trust);
    OPENSSL_free(tsa);
}

static ASN1_INTEGER *nonce_int(const uint8_t nonce[SIG_TSA_NONCE_LEN])
{
    BIGNUM *bn = BN_bin2bn(nonce, SIG_TSA_NONCE_LEN, NULL);
    ASN1_INTEGER *i = bn != NULL ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;

    BN_free(bn);
    return i;
}

enum sig_err sig_tsa_request(const uint8_t *data, size_t data_len, uint8_t nonce[SIG_TSA_NONCE_LEN], uint8_t **req,
                             size_t *req_len)
{
    enum sig_err rc = SIG_ERR_NOMEM;
    TS_REQ *r = NULL;
    TS_MSG_IMPRINT *mi = NULL;
    X509_ALGOR *alg = NULL;
    ASN1_INTEGER *n = NULL;
    unsigned char md[32];
    unsigned char *buf = NULL;
    int len;

    ERR_set_mark();
    if (data == NULL || req == NULL || req_len == NULL || nonce == NULL) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    if (!EVP_Digest(data, data_len, md, NULL, EVP_sha256(), NULL) || RAND_bytes(nonce, SIG_TSA_NONCE_LEN) != 1)
        goto out;
    nonce[0] &= 0x7F; /* keep the INTEGER positive and its length fixed */
    nonce[0] |= 0x40;
    r = TS_REQ_new();
    mi = TS_MSG_IMPRINT_new();
    alg = X509_ALGOR_new();
    n = nonce_int(nonce);
    if (r == NULL || mi == NULL || alg == NULL || n == NULL)
        goto out;
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) || !TS_MSG_IMPRINT_set_algo(mi, alg) ||
        !TS_MSG_IMPRINT_set_msg(mi, md, sizeof md) || !TS_REQ_set_version(r, 1) || !TS_REQ_set_msg_imprint(r, mi) ||
        !TS_REQ_set_nonce(r, n) || !TS_REQ_set_cert_req(r, 1))
        goto out;
    len = i2d_TS_REQ(r, &buf);
    if (len <= 0)
        goto out;
    *req = malloc((size_t)len);
    if (*req == NULL)
        goto out;
    memcpy(*req, buf, (size_t)len);
    *req_len = (size_t)len;
    rc = SIG_OK;
out:
    OPENSSL_free(buf);
    ASN1_INTEGER_free(n);
    X509_ALGOR_free(alg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(r);
    ERR_pop_to_mark();
    return rc;
}

/*
 * A store of tsa's anchors whose checks run at `when` (X509_V_FLAG_USE_CHECK_TIME)
 * instead of now; the caller owns it.  A copy, because the shared store's
 * parameters hold for every other check.
 */
static X509_STORE *store_at(X509_STORE *src, time_t when)
{
    X509_STORE *s = X509_STORE_new();
    STACK_OF(X509) *certs = X509_STORE_get1_all_certs(src);
    int ok = s != NULL && certs != NULL && X509_VERIFY_PARAM_set1(X509_STORE_get0_param(s), X509_STORE_get0_param(src));

    for (int i = 0; ok && i < sk_X509_num(certs); i++)
        ok = X509_STORE_add_cert(s, sk_X509_value(certs, i));
    sk_X509_pop_free(certs, X509_free);
    if (!ok) {
        X509_STORE_free(s);
        return NULL;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(s), when);
    return s;
}

/*
 * Verify token over data: imprint SHA-256 (checked here, so a weaker
 * algorithm chosen by the TSA is refused), signature, TSA chain to the TSA
 * anchors with the timestamping purpose (critical EKU), ESS binding.  The
 * chain is checked at the token's genTime when at_gen (a kept token), else now.
 */
static enum sig_err check_token(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len, PKCS7 *token,
                                const uint8_t *nonce, int at_gen, time_t *gen_time, char *why, size_t whylen)
{
    enum sig_err rc = SIG_ERR_NOMEM;
    TS_VERIFY_CTX *ctx = NULL;
    TS_TST_INFO *info = NULL;
    X509_STORE *store = sig_trust_store(tsa->trust);
    STACK_OF(X509) *inter = sig_trust_intermediates(tsa->trust);
    unsigned char dgst[32];
    TS_REQ *req = NULL;
    TS_MSG_IMPRINT *mi = NULL;
    X509_ALGOR *xalg = NULL;
    ASN1_INTEGER *n = NULL;
    const X509_ALGOR *alg;
    const ASN1_OBJECT *obj = NULL;
    int flags = TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT;
    time_t gen = 0;

    info = PKCS7_to_TS_TST_INFO(token);
    if (info == NULL) {
        sig_set_why(why, whylen, "timestamp: token does not hold a TSTInfo");
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    if ((at_gen || gen_time != NULL) && sig_asn1_time(TS_TST_INFO_get_time(info), &gen) != SIG_OK) {
        sig_set_why(why, whylen, "timestamp: genTime does not parse");
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    alg = TS_MSG_IMPRINT_get_algo(TS_TST_INFO_get_msg_imprint(info));
    X509_ALGOR_get0(&obj, NULL, NULL, alg);
    if (OBJ_obj2nid(obj) != NID_sha256) {
        sig_set_why(why, whylen, "timestamp: message imprint is not SHA-256");
        rc = SIG_ERR_UNTRUSTED;
        goto out;
    }
    /* TS_REQ_to_TS_VERIFY_CTX copies imprint, its algorithm and nonce from a request we rebuild. */
    req = TS_REQ_new();
    mi = TS_MSG_IMPRINT_new();
    xalg = X509_ALGOR_new();
    if (req == NULL || mi == NULL || xalg == NULL || !EVP_Digest(data, data_len, dgst, NULL, EVP_sha256(), NULL) ||
        !X509_ALGOR_set0(xalg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) || !TS_MSG_IMPRINT_set_algo(mi, xalg) ||
        !TS_MSG_IMPRINT_set_msg(mi, dgst, sizeof dgst) || !TS_REQ_set_msg_imprint(req, mi))
        goto out;
    if (nonce != NULL) {
        n = nonce_int(nonce);
        if (n == NULL || !TS_REQ_set_nonce(req, n))
            goto out;
        flags |= TS_VFY_NONCE;
    }
    ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
    if (ctx == NULL)
        goto out;
    /* The context frees what it is given: the store and certificates get their own references. */
    if (at_gen ? (store = store_at(store, gen)) == NULL : !X509_STORE_up_ref(store))
        goto out;
    TS_VERIFY_CTX_set_store(ctx, store);
    if (inter != NULL) {
        STACK_OF(X509) *dup = X509_chain_up_ref(inter);

        if (dup == NULL)
            goto out;
        TS_VERIFY_CTS_set_certs(ctx, dup);
    }
    TS_VERIFY_CTX_set_flags(ctx, flags);
    if (TS_RESP_verify_token(ctx, token) != 1) {
        const char *detail = NULL;
        int eflags = 0;
        unsigned long e = ERR_peek_last_error_data(&detail, &eflags);

        /* The path's reason ("Verify error:certificate has expired") is the error's data. */
        if (!(eflags & ERR_TXT_STRING))
            detail = NULL;
        sig_set_why(why, whylen, "timestamp: token does not verify (%s%s%s)",
                    e != 0 && ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : "unknown",
                    detail && *detail ? ": " : "", detail && *detail ? detail : "");
        rc = SIG_ERR_UNTRUSTED;
        goto out;
    }
    if (gen_time != NULL)
        *gen_time = gen;
    rc = SIG_OK;
out:
    ASN1_INTEGER_free(n);
    X509_ALGOR_free(xalg);
    TS_MSG_IMPRINT_free(mi);
    TS_REQ_free(req);
    TS_VERIFY_CTX_free(ctx);
    TS_TST_INFO_free(info);
    return rc;
}

static enum sig_err der_out(PKCS7 *token, uint8_t **out, size_t *out_len)
{
    unsigned char *buf = NULL;
    int len = i2d_PKCS7(token, &buf);

    if (len <= 0)
        return SIG_ERR_NOMEM;
    *out = malloc((size_t)len);
    if (*out == NULL) {
        OPENSSL_free(buf);
        return SIG_ERR_NOMEM;
    }
    memcpy(*out, buf, (size_t)len);
    *out_len = (size_t)len;
    OPENSSL_free(buf);
    return SIG_OK;
}

enum sig_err sig_tsa_check_reply(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len,
                                 const uint8_t nonce[SIG_TSA_NONCE_LEN], const uint8_t *resp, size_t resp_len,
                                 uint8_t **token, size_t *token_len, time_t *gen_time, char *why, size_t whylen)
{
    enum sig_err rc;
    const unsigned char *p = resp;
    TS_RESP *r = NULL;
    PKCS7 *tok;
    long status;

    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    if (tsa == NULL || data == NULL || nonce == NULL || token == NULL || token_len == NULL || resp == NULL ||
        resp_len == 0 || resp_len > LONG_MAX) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    r = d2i_TS_RESP(NULL, &p, (long)resp_len);
    if (r == NULL || p != resp + resp_len) {
        sig_set_why(why, whylen, "timestamp: reply is not a DER TimeStampResp");
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(r)));
    tok = TS_RESP_get_token(r);
    /* 0 granted, 1 grantedWithMods; anything else carries no token worth having. */
    if ((status != 0 && status != 1) || tok == NULL) {
        sig_set_why(why, whylen, "timestamp: TSA refused the request (status %ld)", status);
        rc = SIG_ERR_UNTRUSTED;
        goto out;
    }
    rc = check_token(tsa, data, data_len, tok, nonce, 0, gen_time, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = der_out(tok, token, token_len);
out:
    TS_RESP_free(r);
    ERR_pop_to_mark();
    return rc;
}

static enum sig_err check_der_token(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len,
                                    const uint8_t *token, size_t token_len, int at_gen, time_t *gen_time, char *why,
                                    size_t whylen)
{
    enum sig_err rc;
    const unsigned char *p = token;
    PKCS7 *tok = NULL;

    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    if (tsa == NULL || data == NULL || token == NULL || token_len == 0 || token_len > LONG_MAX) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    tok = d2i_PKCS7(NULL, &p, (long)token_len);
    if (tok == NULL || p != token + token_len) {
        sig_set_why(why, whylen, "timestamp: token is not a DER ContentInfo");
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    rc = check_token(tsa, data, data_len, tok, NULL, at_gen, gen_time, why, whylen);
out:
    PKCS7_free(tok);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_tsa_check_token(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len, const uint8_t *token,
                                 size_t token_len, time_t *gen_time, char *why, size_t whylen)
{
    return check_der_token(tsa, data, data_len, token, token_len, 0, gen_time, why, whylen);
}

enum sig_err sig_tsa_check_kept_token(const struct sig_tsa *tsa, const uint8_t *data, size_t data_len,
                                      const uint8_t *token, size_t token_len, time_t *gen_time, char *why,
                                      size_t whylen)
{
    return check_der_token(tsa, data, data_len, token, token_len, 1, gen_time, why, whylen);
}
