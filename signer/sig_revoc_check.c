/*
 * sig_revoc_check.c - OCSP and CRL checks without I/O (see sig_revoc.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "sig_priv.h"
#include "sig_revoc.h"
#include "sig_revoc_priv.h"

#define LEEWAY_S 300

static enum sig_err parse_pair(const uint8_t *cert, size_t cert_len, const uint8_t *issuer, size_t issuer_len, X509 **x,
                               X509 **iss)
{
    enum sig_err rc = sig_parse_cert(cert, cert_len, x, NULL, 0);

    if (rc == SIG_OK)
        rc = sig_parse_cert(issuer, issuer_len, iss, NULL, 0);
    return rc;
}

enum sig_err sig_rv_ocsp_request_x(X509 *x, X509 *iss, uint8_t nonce[SIG_OCSP_NONCE_LEN], uint8_t **req,
                                   size_t *req_len)
{
    enum sig_err rc = SIG_ERR_NOMEM;
    OCSP_REQUEST *r = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, x, iss);
    unsigned char *buf = NULL;
    int len;

    if (r == NULL || id == NULL || RAND_bytes(nonce, SIG_OCSP_NONCE_LEN) != 1)
        goto out;
    if (OCSP_request_add0_id(r, id) == NULL)
        goto out;
    id = NULL; /* the request owns it now */
    if (!OCSP_request_add1_nonce(r, nonce, SIG_OCSP_NONCE_LEN))
        goto out;
    len = i2d_OCSP_REQUEST(r, &buf);
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
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(r);
    return rc;
}

enum sig_err sig_ocsp_request(const uint8_t *cert, size_t cert_len, const uint8_t *issuer, size_t issuer_len,
                              uint8_t nonce[SIG_OCSP_NONCE_LEN], uint8_t **req, size_t *req_len)
{
    enum sig_err rc;
    X509 *x = NULL, *iss = NULL;

    if (nonce == NULL || req == NULL || req_len == NULL)
        return SIG_ERR_MALFORMED;
    ERR_set_mark();
    rc = parse_pair(cert, cert_len, issuer, issuer_len, &x, &iss);
    if (rc == SIG_OK)
        rc = sig_rv_ocsp_request_x(x, iss, nonce, req, req_len);
    X509_free(x);
    X509_free(iss);
    ERR_pop_to_mark();
    return rc;
}

static enum sig_err unknown(struct sig_revoc_status *st, char *why, size_t whylen, const char *text)
{
    sig_set_why(why, whylen, "%s", text);
    st->result = SIG_ERR_REVOCATION_UNKNOWN;
    return st->result;
}

static void status_init(struct sig_revoc_status *st)
{
    memset(st, 0, sizeof *st);
    st->result = SIG_ERR_REVOCATION_UNKNOWN;
    st->reason = -1;
}

enum sig_err sig_rv_ocsp_check_x(const struct sig_trust *t, X509 *x, X509 *iss, const uint8_t *nonce,
                                 const uint8_t *resp, size_t resp_len, time_t now, unsigned max_age_s,
                                 struct sig_revoc_status *st, char *why, size_t whylen)
{
    enum sig_err rc;
    const unsigned char *p = resp;
    OCSP_RESPONSE *r = NULL;
    OCSP_BASICRESP *bs = NULL;
    OCSP_REQUEST *req = NULL;
    OCSP_CERTID *id = NULL;
    STACK_OF(X509) *untrusted = NULL;
    STACK_OF(X509) *inter = sig_trust_intermediates(t);
    ASN1_GENERALIZEDTIME *rev = NULL, *thisupd = NULL, *nextupd = NULL;
    int status = -1, reason = -1, n;

    status_init(st);
    if (resp == NULL || resp_len == 0 || resp_len > LONG_MAX) {
        rc = unknown(st, why, whylen, "ocsp: empty response");
        goto out;
    }
    r = d2i_OCSP_RESPONSE(NULL, &p, (long)resp_len);
    if (r == NULL || p != resp + resp_len) {
        rc = unknown(st, why, whylen, "ocsp: response does not parse");
        goto out;
    }
    n = OCSP_response_status(r);
    if (n != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        sig_set_why(why, whylen, "ocsp: responder says %s", OCSP_response_status_str(n));
        rc = st->result;
        goto out;
    }
    bs = OCSP_response_get1_basic(r);
    if (bs == NULL) {
        rc = unknown(st, why, whylen, "ocsp: not a basic response");
        goto out;
    }
    if (nonce != NULL) {
        req = OCSP_REQUEST_new();
        if (req == NULL || !OCSP_request_add1_nonce(req, (unsigned char *)nonce, SIG_OCSP_NONCE_LEN)) {
            rc = SIG_ERR_NOMEM;
            goto out;
        }
        /* 1: equal; -1: responder sent none (pre-produced responses), left to the freshness rules. */
        n = OCSP_check_nonce(req, bs);
        if (n != 1 && n != -1) {
            rc = unknown(st, why, whylen, "ocsp: nonce does not match the request");
            goto out;
        }
    }
    /* The responder's certificate may come with the response or be the issuer itself. */
    untrusted = inter != NULL ? X509_chain_up_ref(inter) : sk_X509_new_null();
    if (untrusted == NULL || !X509_add_cert(untrusted, iss, X509_ADD_FLAG_UP_REF)) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    /* Signature, responder chain to our anchors, and responder authorised by the issuer (CA or OCSPSigning). */
    if (OCSP_basic_verify(bs, untrusted, sig_trust_store(t), 0) <= 0) {
        unsigned long e = ERR_peek_last_error();

        sig_set_why(why, whylen, "ocsp: response signature or responder not acceptable (%s)",
                    e != 0 && ERR_reason_error_string(e) != NULL ? ERR_reason_error_string(e) : "unknown");
        rc = st->result;
        goto out;
    }
    id = OCSP_cert_to_id(NULL, x, iss);
    if (id == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    if (!OCSP_resp_find_status(bs, id, &status, &reason, &rev, &thisupd, &nextupd)) {
        rc = unknown(st, why, whylen, "ocsp: response says nothing about this certificate");
        goto out;
    }
    if (thisupd == NULL || sig_asn1_time(thisupd, &st->this_update) != SIG_OK ||
        (nextupd != NULL && sig_asn1_time(nextupd, &st->next_update) != SIG_OK)) {
        rc = unknown(st, why, whylen, "ocsp: bad thisUpdate/nextUpdate");
        goto out;
    }
    if (st->this_update > now + LEEWAY_S) {
        rc = unknown(st, why, whylen, "ocsp: thisUpdate is in the future");
        goto out;
    }
    if (nextupd != NULL && st->next_update < now - LEEWAY_S) {
        rc = unknown(st, why, whylen, "ocsp: stale response (nextUpdate has passed)");
        goto out;
    }
    if (max_age_s > 0 && st->this_update < now - (time_t)max_age_s) {
        rc = unknown(st, why, whylen, "ocsp: stale response (thisUpdate too old)");
        goto out;
    }
    switch (status) {
    case V_OCSP_CERTSTATUS_GOOD: st->result = SIG_OK; break;
    case V_OCSP_CERTSTATUS_REVOKED:
        st->reason = reason;
        if (rev == NULL || sig_asn1_time(rev, &st->revoked_at) != SIG_OK)
            st->revoked_at = st->this_update;
        st->result = SIG_ERR_REVOKED;
        sig_set_why(why, whylen, "ocsp: certificate revoked (reason %d)", reason);
        break;
    default: unknown(st, why, whylen, "ocsp: responder does not know the certificate"); break;
    }
    rc = st->result;
out:
    if (rc == SIG_ERR_NOMEM)
        st->result = SIG_ERR_REVOCATION_UNKNOWN;
    sk_X509_pop_free(untrusted, X509_free);
    OCSP_CERTID_free(id);
    OCSP_REQUEST_free(req);
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);
    return rc;
}

enum sig_err sig_ocsp_check(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, const uint8_t *issuer,
                            size_t issuer_len, const uint8_t *nonce, const uint8_t *resp, size_t resp_len, time_t now,
                            unsigned max_age_s, struct sig_revoc_status *st, char *why, size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL, *iss = NULL;

    if (st == NULL || t == NULL)
        return SIG_ERR_MALFORMED;
    status_init(st);
    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    rc = parse_pair(cert, cert_len, issuer, issuer_len, &x, &iss);
    if (rc == SIG_OK)
        rc = sig_rv_ocsp_check_x(t, x, iss, nonce, resp, resp_len, now, max_age_s, st, why, whylen);
    X509_free(x);
    X509_free(iss);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_rv_crl_check_x(X509 *x, X509 *iss, const uint8_t *crl, size_t crl_len, time_t now,
                                struct sig_revoc_status *st, char *why, size_t whylen)
{
    const unsigned char *p = crl;
    X509_CRL *c = NULL;
    X509_REVOKED *rev = NULL;
    EVP_PKEY *ikey = X509_get0_pubkey(iss);
    const ASN1_TIME *nu;
    enum sig_err rc;
    int n;

    status_init(st);
    if (crl == NULL || crl_len == 0 || crl_len > LONG_MAX) {
        rc = unknown(st, why, whylen, "crl: empty");
        goto out;
    }
    c = d2i_X509_CRL(NULL, &p, (long)crl_len);
    if (c == NULL || p != crl + crl_len) {
        rc = unknown(st, why, whylen, "crl: does not parse");
        goto out;
    }
    if (X509_NAME_cmp(X509_CRL_get_issuer(c), X509_get_subject_name(iss)) != 0) {
        rc = unknown(st, why, whylen, "crl: issued by another CA");
        goto out;
    }
    if ((X509_get_extension_flags(iss) & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(iss) & KU_CRL_SIGN) == 0) {
        rc = unknown(st, why, whylen, "crl: issuer may not sign CRLs");
        goto out;
    }
    if (ikey == NULL || X509_CRL_verify(c, ikey) != 1) {
        rc = unknown(st, why, whylen, "crl: signature does not verify with the issuer's key");
        goto out;
    }
    nu = X509_CRL_get0_nextUpdate(c);
    if (sig_asn1_time(X509_CRL_get0_lastUpdate(c), &st->this_update) != SIG_OK || nu == NULL ||
        sig_asn1_time(nu, &st->next_update) != SIG_OK) {
        rc = unknown(st, why, whylen, "crl: bad thisUpdate/nextUpdate");
        goto out;
    }
    if (st->this_update > now + LEEWAY_S) {
        rc = unknown(st, why, whylen, "crl: thisUpdate is in the future");
        goto out;
    }
    if (st->next_update < now) {
        rc = unknown(st, why, whylen, "crl: stale (nextUpdate has passed)");
        goto out;
    }
    n = X509_CRL_get0_by_cert(c, &rev, x);
    if (n == 1) {
        int crit = -1;
        ASN1_ENUMERATED *r = X509_REVOKED_get_ext_d2i(rev, NID_crl_reason, &crit, NULL);

        st->reason = r != NULL ? (int)ASN1_ENUMERATED_get(r) : -1;
        ASN1_ENUMERATED_free(r);
        if (sig_asn1_time(X509_REVOKED_get0_revocationDate(rev), &st->revoked_at) != SIG_OK)
            st->revoked_at = st->this_update;
        st->result = SIG_ERR_REVOKED;
        sig_set_why(why, whylen, "crl: certificate revoked (reason %d)", st->reason);
    } else {
        st->result = SIG_OK;
    }
    rc = st->result;
out:
    X509_CRL_free(c);
    return rc;
}

enum sig_err sig_crl_check(const uint8_t *cert, size_t cert_len, const uint8_t *issuer, size_t issuer_len,
                           const uint8_t *crl, size_t crl_len, time_t now, struct sig_revoc_status *st, char *why,
                           size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL, *iss = NULL;

    if (st == NULL)
        return SIG_ERR_MALFORMED;
    status_init(st);
    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    rc = parse_pair(cert, cert_len, issuer, issuer_len, &x, &iss);
    if (rc == SIG_OK)
        rc = sig_rv_crl_check_x(x, iss, crl, crl_len, now, st, why, whylen);
    X509_free(x);
    X509_free(iss);
    ERR_pop_to_mark();
    return rc;
}
