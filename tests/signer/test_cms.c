/*
 * test_cms.c - CMS / CAdES-B-B and B-T output, judged by the openssl command line.
 *
 *   test_cms PKI_DIR        (PKI_DIR from mksigs.sh; OPENSSL may name the CLI)
 *
 * The SIM is played by `openssl pkeyutl -sign -pkeyopt digest:<md>` over
 * sig_cms_tbs_digest(); the document digest comes from `openssl dgst`; the
 * result must pass `openssl cms -verify -binary -content DOC` and its
 * timestamp `openssl ts -verify`; the TSA is `openssl ts -reply`.  Negative
 * cases use certificates and signatures made by the CLI, never by simpki.
 */
#include <time.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <openssl/x509.h>

#include "check.h"
#include "sig.h"
#include "sig_cms.h"
#include "sig_tsa.h"
#include "sigtest.h"

static struct sig_trust *trust, *trust_noca, *trust_nr;
static struct sig_tsa *tsa;
static time_t now;
static const char *const md_name[4] = {NULL, "sha256", "sha384", "sha512"};

/* Prepare for cases/<name>, let the CLI sign as the SIM with key `signer`, write tmp/<out>. */
static enum sig_err make_cms(const struct sig_trust *t, const char *name, const char *signer, uint8_t alg, int what,
                             const char *out, int with_tst)
{
    char f[256], why[200];
    struct blob cert, dg, sig = {NULL, 0};
    struct sig_cms *p = NULL;
    const uint8_t *tbs;
    size_t tbs_len, der_len = 0, tok_len = 0;
    uint8_t *der = NULL, *tok = NULL;
    enum sig_err rc;

    snprintf(f, sizeof f, "cases/%s.crt.der", name);
    cert = load(f);
    snprintf(f, sizeof f, "cases/msg.%s.bin", md_name[alg]);
    dg = load(f);
    rc = sig_cms_prepare(t, cert.p, cert.n, alg, dg.p, dg.n, now, &p, why, sizeof why);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    if (rc != SIG_OK) {
        printf("  prepare %s: %s (%s)\n", name, sig_result_name(rc), why);
        goto out;
    }
    tbs = sig_cms_tbs_digest(p, &tbs_len);
    CHECK_EQ_INT(tbs_len, dg.n);
    /* what: 0 the SIM signs tbs; 1 it signs the document digest (digest mismatch); 2 truncated. */
    save("tmp/tbs.bin", what == 1 ? dg.p : tbs, tbs_len);
    CHECK_EQ_INT(sh("%s pkeyutl -sign -inkey cases/%s.key.pem -pkeyopt digest:%s -in tmp/tbs.bin -out tmp/sim.sig",
                    openssl_cli(), signer, md_name[alg]),
                 0);
    sig = load("tmp/sim.sig");
    if (what == 2)
        sig.n--;
    if (with_tst) {
        uint8_t nonce[SIG_TSA_NONCE_LEN], *req = NULL;
        size_t req_len = 0;
        struct blob resp;
        time_t gen = 0;

        if (with_tst == 3)
            sig.p[sig.n - 1] ^= 1; /* the token will be over another signature value */
        CHECK_EQ_INT(sig_tsa_request(sig.p, sig.n, nonce, &req, &req_len), SIG_OK);
        save("tmp/q.tsq", req, req_len);
        free(req);
        CHECK_EQ_INT(sh("%s ts -reply -config tsa.cnf -queryfile tmp/q.tsq -out tmp/r.tsr 2>/dev/null", openssl_cli()),
                     0);
        resp = load("tmp/r.tsr");
        if (with_tst == 2)
            nonce[5] ^= 1; /* a reply to someone else's request */
        rc = sig_tsa_check_reply(tsa, sig.p, sig.n, nonce, resp.p, resp.n, &tok, &tok_len, &gen, why, sizeof why);
        blob_free(&resp);
        if (rc != SIG_OK) {
            printf("  tsa reply %s: %s (%s)\n", name, sig_result_name(rc), why);
            goto out;
        }
        CHECK(gen > now - 60 && gen < now + 600);
        if (with_tst == 3)
            sig.p[sig.n - 1] ^= 1; /* back to the SIM's real answer: finish must refuse the token */
    }
    rc = sig_cms_finish(p, sig.p, sig.n, tsa, tok, tok_len, &der, &der_len, why, sizeof why);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    if (rc != SIG_OK) {
        printf("  finish %s: %s (%s)\n", name, sig_result_name(rc), why);
        goto out;
    }
    snprintf(f, sizeof f, "tmp/%s", out);
    save(f, der, der_len);
out:
    free(der);
    free(tok);
    sig_cms_free(p);
    blob_free(&cert);
    blob_free(&dg);
    blob_free(&sig);
    return rc;
}

static int cms_verify(const char *file, const char *content)
{
    return sh(
        "%s cms -verify -binary -inform DER -in tmp/%s -content %s -CAfile trust.pem -out /dev/null 2>tmp/verify.err",
        openssl_cli(), file, content);
}

static void test_good(void)
{
    static const char *const names[] = {"good-rsa", "good-ec", "g1-rsa", "ca2-ec", "good-rsa3072", "good-ec384"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        for (uint8_t alg = 1; alg <= 3; alg++) {
            char out[64];

            snprintf(out, sizeof out, "%s.%s.p7s", names[i], md_name[alg]);
            CHECK_EQ_INT(make_cms(trust, names[i], names[i], alg, 0, out, 0), SIG_OK);
            if (cms_verify(out, "cases/msg.txt") != 0) {
                printf("  openssl cms -verify refused %s\n", out);
                CHECK(0);
            }
            /* The oracle must also refuse another document. */
            CHECK(cms_verify(out, "tsa.cnf") != 0);
        }
    }
    /* The attributes CAdES-B-B asks for, as OpenSSL prints them. */
    CHECK_EQ_INT(sh("%s cms -cmsout -print -inform DER -in tmp/good-rsa.sha256.p7s > tmp/print.txt", openssl_cli()), 0);
    CHECK_EQ_INT(sh("grep -q 'signingCertificateV2' tmp/print.txt && grep -q 'signingTime' tmp/print.txt"
                    " && grep -q 'messageDigest' tmp/print.txt && grep -q 'contentType' tmp/print.txt"),
                 0);
    /* Detached, and the intermediate travels with it. */
    CHECK_EQ_INT(sh("grep -q 'eContent: <ABSENT>' tmp/print.txt"), 0);
    CHECK_EQ_INT(sh("%s cms -verify -binary -inform DER -in tmp/good-rsa.sha256.p7s -content cases/msg.txt "
                    "-CAfile root.pem -out /dev/null 2>/dev/null",
                    openssl_cli()),
                 0);
}

static void test_deterministic(void)
{
    struct blob cert = load("cases/good-ec.crt.der"), dg = load("cases/msg.sha256.bin");
    struct sig_cms *a = NULL, *b = NULL;
    const uint8_t *pa, *pb;
    size_t la = 0, lb = 0;

    CHECK_EQ_INT(sig_cms_prepare(trust, cert.p, cert.n, 1, dg.p, dg.n, now, &a, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_cms_prepare(trust, cert.p, cert.n, 1, dg.p, dg.n, now, &b, NULL, 0), SIG_OK);
    pa = sig_cms_signed_attrs(a, &la);
    pb = sig_cms_signed_attrs(b, &lb);
    CHECK(la > 0 && la == lb && memcmp(pa, pb, la) == 0);
    pa = sig_cms_tbs_digest(a, &la);
    CHECK_EQ_INT(la, 32);
    /* The signed attributes hashed by the CLI give the digest the SIM gets. */
    save("tmp/attrs.der", sig_cms_signed_attrs(b, &lb), lb);
    CHECK_EQ_INT(sh("%s dgst -sha256 -binary tmp/attrs.der > tmp/attrs.md", openssl_cli()), 0);
    {
        struct blob md = load("tmp/attrs.md");

        CHECK(md.n == 32 && memcmp(md.p, pa, 32) == 0);
        blob_free(&md);
    }
    sig_cms_free(a);
    sig_cms_free(b);
    blob_free(&cert);
    blob_free(&dg);
}

/* Pull the timestamp token and the signature value out with OpenSSL's CMS API (not simpki's). */
static int extract_token(const char *file)
{
    char f[256];
    struct blob der;
    const unsigned char *p;
    CMS_ContentInfo *cms;
    CMS_SignerInfo *si;
    X509_ATTRIBUTE *a;
    ASN1_TYPE *t;
    ASN1_OCTET_STRING *sv;
    int ok = 0;

    snprintf(f, sizeof f, "tmp/%s", file);
    der = load(f);
    p = der.p;
    cms = d2i_CMS_ContentInfo(NULL, &p, (long)der.n);
    if (cms == NULL)
        goto out;
    si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    a = CMS_unsigned_get_attr(si, CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1));
    t = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
    if (t == NULL || t->type != V_ASN1_SEQUENCE)
        goto out;
    save("tmp/tok.der", t->value.sequence->data, (size_t)t->value.sequence->length);
    sv = CMS_SignerInfo_get0_signature(si);
    save("tmp/sigvalue.bin", sv->data, (size_t)sv->length);
    ok = 1;
out:
    CMS_ContentInfo_free(cms);
    blob_free(&der);
    return ok;
}

static void test_timestamp(void)
{
    CHECK_EQ_INT(make_cms(trust, "good-rsa", "good-rsa", 1, 0, "bt-rsa.p7s", 1), SIG_OK);
    CHECK_EQ_INT(make_cms(trust, "good-ec", "good-ec", 1, 0, "bt-ec.p7s", 1), SIG_OK);
    CHECK_EQ_INT(cms_verify("bt-rsa.p7s", "cases/msg.txt"), 0);
    CHECK_EQ_INT(cms_verify("bt-ec.p7s", "cases/msg.txt"), 0);
    CHECK(extract_token("bt-ec.p7s"));
    CHECK_EQ_INT(sh("%s ts -verify -digest $(%s dgst -sha256 -r tmp/sigvalue.bin | cut -d' ' -f1) -in tmp/tok.der "
                    "-token_in -CAfile tsa-root.pem -untrusted tsa.pem >/dev/null 2>&1",
                    openssl_cli(), openssl_cli()),
                 0);
    /* The same token does not stand for another signature value. */
    CHECK(sh("%s ts -verify -digest $(%s dgst -sha256 -r tmp/tbs.bin | cut -d' ' -f1) -in tmp/tok.der "
             "-token_in -CAfile tsa-root.pem -untrusted tsa.pem >/dev/null 2>&1",
             openssl_cli(), openssl_cli()) != 0);
    /* Refusals: a reply with another nonce, a token over another signature. */
    CHECK_EQ_INT(make_cms(trust, "good-rsa", "good-rsa", 1, 0, "x.p7s", 2), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(make_cms(trust, "good-rsa", "good-rsa", 1, 0, "x.p7s", 3), SIG_ERR_UNTRUSTED);
}

/* OpenSSL's own TSA (TS_RESP_CTX), its clock set to the time the test wants. */
static int tsa_clock_cb(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
    (void)ctx;
    *sec = (long)*(const time_t *)data;
    *usec = 0;
    return 1;
}

/* A DER token over SHA-256(data) signed at `at` by the fixture's <signer>.pem; NULL blob on failure. */
static struct blob token_at(const char *signer, time_t at, const uint8_t *data, size_t len)
{
    struct blob out = {NULL, 0}, cert = {NULL, 0}, key = {NULL, 0};
    uint8_t nonce[SIG_TSA_NONCE_LEN], *req = NULL;
    size_t req_len = 0;
    char f[64];
    BIO *cb = NULL, *kb = NULL, *rb = NULL;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    ASN1_OBJECT *policy = OBJ_txt2obj("2.16.704.1.1.1.9.1", 1);
    TS_RESP_CTX *ctx = TS_RESP_CTX_new();
    TS_RESP *resp = NULL;
    unsigned char *der = NULL;
    int n;

    snprintf(f, sizeof f, "%s.pem", signer);
    cert = load(f);
    snprintf(f, sizeof f, "%s.key.pem", signer);
    key = load(f);
    cb = BIO_new_mem_buf(cert.p, (int)cert.n);
    kb = BIO_new_mem_buf(key.p, (int)key.n);
    if (sig_tsa_request(data, len, nonce, &req, &req_len) != SIG_OK || !cb || !kb || !ctx || !policy)
        goto out;
    rb = BIO_new_mem_buf(req, (int)req_len);
    x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    if (!rb || !x || !k || !TS_RESP_CTX_set_signer_cert(ctx, x) || !TS_RESP_CTX_set_signer_key(ctx, k) ||
        !TS_RESP_CTX_set_def_policy(ctx, policy) || !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
        !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()))
        goto out;
    TS_RESP_CTX_set_time_cb(ctx, tsa_clock_cb, &at);
    resp = TS_RESP_create_response(ctx, rb);
    if (resp && TS_RESP_get_token(resp) && (n = i2d_PKCS7(TS_RESP_get_token(resp), &der)) > 0 &&
        (out.p = malloc((size_t)n)) != NULL) {
        memcpy(out.p, der, (size_t)n);
        out.n = (size_t)n;
    }
    OPENSSL_free(der);
out:
    TS_RESP_free(resp);
    TS_RESP_CTX_free(ctx);
    ASN1_OBJECT_free(policy);
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(rb);
    BIO_free(kb);
    BIO_free(cb);
    free(req);
    blob_free(&cert);
    blob_free(&key);
    return out;
}

/*
 * A token kept for years (the archive's anchors) is judged at its genTime:
 * made by a TSA certificate that has expired since, it still verifies; made
 * at a time its certificate did not cover, it does not -- while the check at
 * the current time says the opposite in both cases.
 */
static void test_kept_token(void)
{
    static const uint8_t head[32] = {1, 2, 3};
    time_t year = 365 * 86400, gen = 0;
    char why[200];
    struct blob old = token_at("tsa-old", now - 2 * year, head, sizeof head);
    struct blob future = token_at("tsa", now + 3 * year, head, sizeof head);
    struct blob fresh = token_at("tsa", now, head, sizeof head);

    CHECK(old.p && future.p && fresh.p);
    if (!old.p || !future.p || !fresh.p)
        goto out;
    /* Made two years ago by a certificate expired a year ago. */
    CHECK_EQ_INT(sig_tsa_check_kept_token(tsa, head, sizeof head, old.p, old.n, &gen, why, sizeof why), SIG_OK);
    CHECK_EQ_INT(gen, now - 2 * year);
    CHECK_EQ_INT(sig_tsa_check_token(tsa, head, sizeof head, old.p, old.n, NULL, why, sizeof why), SIG_ERR_UNTRUSTED);
    CHECK(strstr(why, "certificate has expired") != NULL);
    /* Dated past its certificate's end. */
    CHECK_EQ_INT(sig_tsa_check_kept_token(tsa, head, sizeof head, future.p, future.n, NULL, why, sizeof why),
                 SIG_ERR_UNTRUSTED);
    CHECK(strstr(why, "certificate has expired") != NULL);
    CHECK_EQ_INT(sig_tsa_check_token(tsa, head, sizeof head, future.p, future.n, NULL, why, sizeof why), SIG_OK);
    /* Today's token: both; and never over other data. */
    CHECK_EQ_INT(sig_tsa_check_kept_token(tsa, head, sizeof head, fresh.p, fresh.n, NULL, why, sizeof why), SIG_OK);
    CHECK_EQ_INT(sig_tsa_check_token(tsa, head, sizeof head, fresh.p, fresh.n, NULL, why, sizeof why), SIG_OK);
    CHECK_EQ_INT(sig_tsa_check_kept_token(tsa, head, 31, old.p, old.n, NULL, why, sizeof why), SIG_ERR_UNTRUSTED);
    /* The same token from the command line: `openssl ts -verify` needs -attime to accept it. */
    save("tmp/kept.tst", old.p, old.n);
    save("tmp/head.bin", head, sizeof head);
    CHECK(sh("%s ts -verify -data tmp/head.bin -in tmp/kept.tst -token_in -CAfile tsa-root.pem >/dev/null 2>&1",
             openssl_cli()) != 0);
    CHECK_EQ_INT(sh("%s ts -verify -data tmp/head.bin -in tmp/kept.tst -token_in -CAfile tsa-root.pem -attime %lld "
                    ">/dev/null 2>&1",
                    openssl_cli(), (long long)gen),
                 0);
out:
    blob_free(&old);
    blob_free(&future);
    blob_free(&fresh);
}

static void test_refusals(void)
{
    /* The SIM's answer. */
    CHECK_EQ_INT(make_cms(trust, "good-rsa", "noku-rsa", 1, 0, "x.p7s", 0), SIG_ERR_BAD_SIGNATURE); /* another key */
    CHECK_EQ_INT(make_cms(trust, "good-ec", "good-ec384", 1, 0, "x.p7s", 0), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(make_cms(trust, "good-rsa", "good-rsa", 1, 2, "x.p7s", 0), SIG_ERR_MALFORMED); /* truncated */
    CHECK_EQ_INT(make_cms(trust, "good-ec", "good-ec", 1, 2, "x.p7s", 0), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(make_cms(trust, "good-rsa", "good-rsa", 1, 1, "x.p7s", 0),
                 SIG_ERR_BAD_SIGNATURE); /* digest mismatch */
    CHECK_EQ_INT(make_cms(trust, "good-ec", "good-ec", 2, 1, "x.p7s", 0), SIG_ERR_BAD_SIGNATURE);
    /* The certificate: nothing goes to the SIM. */
    CHECK_EQ_INT(make_cms(trust, "expired-rsa", "expired-rsa", 1, 0, "x.p7s", 0), SIG_ERR_CERT_EXPIRED);
    CHECK_EQ_INT(make_cms(trust, "notyet-ec", "notyet-ec", 1, 0, "x.p7s", 0), SIG_ERR_CERT_NOT_YET_VALID);
    CHECK_EQ_INT(make_cms(trust, "untrusted-rsa", "untrusted-rsa", 1, 0, "x.p7s", 0),
                 SIG_ERR_UNTRUSTED); /* wrong issuer */
    CHECK_EQ_INT(make_cms(trust_noca, "good-rsa", "good-rsa", 1, 0, "x.p7s", 0),
                 SIG_ERR_UNTRUSTED); /* missing intermediate */
    CHECK_EQ_INT(make_cms(trust_noca, "ca2-ec", "ca2-ec", 1, 0, "x.p7s", 0), SIG_OK);
    CHECK_EQ_INT(make_cms(trust, "noku-rsa", "noku-rsa", 1, 0, "x.p7s", 0), SIG_ERR_KEY_USAGE);
    CHECK_EQ_INT(make_cms(trust, "dsonly-rsa", "dsonly-rsa", 1, 0, "x.p7s", 0), SIG_OK); /* lenient profile */
    CHECK_EQ_INT(make_cms(trust_nr, "dsonly-rsa", "dsonly-rsa", 1, 0, "x.p7s", 0), SIG_ERR_KEY_USAGE);
    CHECK_EQ_INT(make_cms(trust, "nopolicy-rsa", "nopolicy-rsa", 1, 0, "x.p7s", 0), SIG_OK);
    CHECK_EQ_INT(make_cms(trust_nr, "nopolicy-rsa", "nopolicy-rsa", 1, 0, "x.p7s", 0), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(make_cms(trust, "badname-ec", "badname-ec", 1, 0, "x.p7s", 0),
                 SIG_ERR_UNTRUSTED); /* name constraints */
    CHECK_EQ_INT(make_cms(trust_nr, "good-ec", "good-ec", 1, 0, "x.p7s", 0), SIG_OK);
    CHECK_EQ_INT(make_cms(trust_nr, "g1-rsa", "g1-rsa", 1, 0, "x.p7s", 0), SIG_OK);
    CHECK_EQ_INT(make_cms(trust_nr, "ca2-ec", "ca2-ec", 1, 0, "x.p7s", 0), SIG_OK);
    /* The openssl CLI agrees on the path refusals. */
    CHECK(sh("%s verify -CAfile trust.pem -untrusted intermediates.pem cases/badname-ec.crt.pem >/dev/null 2>&1",
             openssl_cli()) != 0);
    CHECK(sh("%s verify -policy 2.16.704.1.1.1.1.1 -explicit_policy -CAfile trust.pem -untrusted intermediates.pem "
             "cases/nopolicy-rsa.crt.pem >/dev/null 2>&1",
             openssl_cli()) != 0);
}

static void test_result_codes(void)
{
    CHECK_EQ_STR(sig_result_name(SIG_ERR_REVOKED), "REVOKED_CERTIFICATE");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_REVOCATION_UNKNOWN), "REVOCATION_UNKNOWN");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_CERT_MISMATCH), "CERT_MISMATCH");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_BAD_SIGNATURE), "INVALID_SIGNATURE");
}

static void test_binding(void)
{
    struct blob a = load("cases/good-rsa.crt.der"), b = load("cases/g1-rsa.crt.der");
    struct sig_pin pin, pin_b;
    char why[200];

    CHECK_EQ_INT(sig_pin_of(a.p, a.n, &pin), SIG_OK);
    CHECK_EQ_INT(sig_pin_of(b.p, b.n, &pin_b), SIG_OK);
    CHECK_EQ_INT(sig_binding_check(a.p, a.n, a.p, a.n, NULL, 0, why, sizeof why), SIG_OK);
    CHECK_EQ_INT(sig_binding_check(a.p, a.n, a.p, a.n, &pin, 0, why, sizeof why), SIG_OK);
    /* Not the registered certificate. */
    CHECK_EQ_INT(sig_binding_check(a.p, a.n, b.p, b.n, &pin, 0, why, sizeof why), SIG_ERR_CERT_MISMATCH);
    /* Registry now holds a new certificate, pinned one differs: only with the registry's say-so. */
    CHECK_EQ_INT(sig_binding_check(b.p, b.n, b.p, b.n, &pin, 0, why, sizeof why), SIG_ERR_CERT_MISMATCH);
    CHECK(strstr(why, "serial") != NULL);
    CHECK_EQ_INT(sig_binding_check(b.p, b.n, b.p, b.n, &pin, 1, why, sizeof why), SIG_OK);
    CHECK_EQ_INT(sig_binding_check(b.p, b.n, b.p, b.n, &pin_b, 0, why, sizeof why), SIG_OK);
    /* The serial as the CLI prints it. */
    {
        struct blob s = load("cases/good-rsa.serial");

        CHECK(s.n > 0 && strncmp((char *)s.p, pin.serial_hex, strlen(pin.serial_hex)) == 0);
        blob_free(&s);
    }
    blob_free(&a);
    blob_free(&b);
}

/* sig_verify_cms on the answer of a signature service, played by `openssl cms -sign`. */
static enum sig_err verify_file(const char *cert, enum dg_alg alg, const char *cms, int tamper)
{
    char f[96];
    struct blob c, d, m;
    char why[200] = "x";
    enum sig_err rc;

    snprintf(f, sizeof f, "cases/%s.crt.der", cert);
    c = load(f);
    snprintf(f, sizeof f, "cases/msg.%s.bin", md_name[alg]);
    d = load(f);
    snprintf(f, sizeof f, "tmp/%s.p7s", cms);
    m = load(f);
    CHECK(c.n > 0 && d.n > 0 && m.n > 0);
    if (tamper == 1)
        m.p[m.n - 1] ^= 0x01; /* the last octet of the SignerInfo's signature value */
    if (tamper == 2)
        d.p[0] ^= 0x80;
    rc = sig_verify_cms(trust, c.p, c.n, alg, d.p, d.n, m.p, m.n, now, why, sizeof why);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    CHECK(rc == SIG_OK ? why[0] == '\0' : why[0] != '\0');
    printf("  verify_cms %s with %s: %s (%s)\n", cms, cert, sig_strerror(rc), why);
    blob_free(&c);
    blob_free(&d);
    blob_free(&m);
    return rc;
}

static void test_verify_cms(void)
{
    const char *o = openssl_cli();
    struct blob m, good;
    char why[200];

    /* The service's answers: detached, with and without its certificate, RSA and EC, attached content. */
    static const struct {
        const char *out, *signer, *md, *opts;
    } made[] = {
        {"mssp-rsa", "good-rsa", "sha256", ""},
        {"mssp-ec", "good-ec", "sha384", "-nocerts"},
        {"mssp-attached", "good-rsa", "sha256", "-nodetach"},
        {"mssp-g1", "g1-rsa", "sha256", ""},
    };
    /* registered certificate, transaction digest, answer, tamper (1 signature, 2 digest), expected */
    static const struct {
        const char *cert;
        enum dg_alg alg;
        const char *cms;
        int tamper;
        enum sig_err want;
    } cases[] = {
        /* Good: embedded certificate equal to the registered one; none embedded. */
        {"good-rsa", DG_SHA256, "mssp-rsa", 0, SIG_OK},
        {"good-ec", DG_SHA384, "mssp-ec", 0, SIG_OK},
        /* Over another digest, or with another algorithm than the transaction's. */
        {"good-rsa", DG_SHA256, "mssp-rsa", 2, SIG_ERR_DIGEST_MISMATCH},
        {"good-ec", DG_SHA256, "mssp-ec", 0, SIG_ERR_DIGEST_MISMATCH},
        /* Another signer: embedded, and named by the signer identifier alone. */
        {"g1-rsa", DG_SHA256, "mssp-rsa", 0, SIG_ERR_CERT_MISMATCH},
        {"good-rsa", DG_SHA256, "mssp-g1", 0, SIG_ERR_CERT_MISMATCH},
        {"good-rsa", DG_SHA384, "mssp-ec", 0, SIG_ERR_CERT_MISMATCH},
        /* A tampered signature value. */
        {"good-rsa", DG_SHA256, "mssp-rsa", 1, SIG_ERR_BAD_SIGNATURE},
        {"good-ec", DG_SHA384, "mssp-ec", 1, SIG_ERR_BAD_SIGNATURE},
        /* A document inside: not what a digest-only transaction signs. */
        {"good-rsa", DG_SHA256, "mssp-attached", 0, SIG_ERR_MALFORMED},
    };

    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        CHECK_EQ_INT(sh("%s cms -sign -binary %s -in cases/msg.txt -signer cases/%s.crt.pem -inkey cases/%s.key.pem "
                        "-md %s -outform DER -out tmp/%s.p7s",
                        o, made[i].opts, made[i].signer, made[i].signer, made[i].md, made[i].out),
                     0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_EQ_INT(verify_file(cases[i].cert, cases[i].alg, cases[i].cms, cases[i].tamper), cases[i].want);
    /* Garbage, truncated and padded DER; a certificate instead of a SignedData. */
    good = load("cases/good-rsa.crt.der");
    m = load("tmp/mssp-rsa.p7s");
    {
        struct blob d = load("cases/msg.sha256.bin");
        uint8_t junk[300], *pad = malloc(m.n + 1);

        for (size_t i = 0; i < sizeof junk; i++)
            junk[i] = (uint8_t)(i * 37 + 11);
        CHECK_EQ_INT(
            sig_verify_cms(trust, good.p, good.n, DG_SHA256, d.p, d.n, junk, sizeof junk, now, why, sizeof why),
            SIG_ERR_MALFORMED);
        CHECK_EQ_INT(sig_verify_cms(trust, good.p, good.n, DG_SHA256, d.p, d.n, m.p, m.n - 1, now, why, sizeof why),
                     SIG_ERR_MALFORMED);
        CHECK(pad != NULL);
        if (pad) {
            memcpy(pad, m.p, m.n);
            pad[m.n] = 0;
            CHECK_EQ_INT(sig_verify_cms(trust, good.p, good.n, DG_SHA256, d.p, d.n, pad, m.n + 1, now, why, sizeof why),
                         SIG_ERR_MALFORMED);
        }
        free(pad);
        CHECK_EQ_INT(sig_verify_cms(trust, good.p, good.n, DG_SHA256, d.p, d.n, good.p, good.n, now, why, sizeof why),
                     SIG_ERR_MALFORMED);
        CHECK_EQ_INT(sig_verify_cms(trust, good.p, good.n, DG_SHA256, d.p, d.n, NULL, 0, now, why, sizeof why),
                     SIG_ERR_MALFORMED);
        /* The certificate's own checks still apply: an untrusted path. */
        CHECK_EQ_INT(sig_verify_cms(trust_noca, good.p, good.n, DG_SHA256, d.p, d.n, m.p, m.n, now, why, sizeof why),
                     SIG_ERR_UNTRUSTED);
        CHECK_EQ_INT(ERR_peek_error(), 0);
        blob_free(&d);
    }
    blob_free(&m);
    blob_free(&good);
    CHECK_EQ_STR(sig_result_name(SIG_ERR_DIGEST_MISMATCH), "INVALID_SIGNATURE");
}

int main(int argc, char **argv)
{
    char a[1024], i[1024], n[1024], ta[1024];

    if (argc != 2) {
        fprintf(stderr, "usage: test_cms PKI_DIR\n");
        return 2;
    }
    pki_dir = argv[1];
    now = time(NULL);
    if (sh("mkdir -p tmp") != 0)
        return 2;
    path_of(a, sizeof a, "trust.pem");
    path_of(i, sizeof i, "intermediates.pem");
    path_of(n, sizeof n, "intermediates-noca.pem");
    path_of(ta, sizeof ta, "tsa-root.pem");
    if (sig_trust_load(a, i, &trust, NULL, 0) != SIG_OK || sig_trust_load(a, n, &trust_noca, NULL, 0) != SIG_OK ||
        sig_trust_load(a, i, &trust_nr, NULL, 0) != SIG_OK ||
        sig_trust_set_profile(trust_nr, "2.16.704.1.1.1.1.1", 1) != SIG_OK ||
        sig_tsa_new(ta, NULL, &tsa, NULL, 0) != SIG_OK) {
        fprintf(stderr, "cannot load the fixture's trust files\n");
        return 2;
    }
    CHECK_EQ_INT(sig_trust_set_profile(trust_nr, "not an oid", 1), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_trust_set_profile(trust_nr, "2.16.704.1.1.1.1.1", 1), SIG_OK);
    test_result_codes();
    test_deterministic();
    test_good();
    test_timestamp();
    test_kept_token();
    test_refusals();
    test_binding();
    test_verify_cms();
    sig_trust_free(trust);
    sig_trust_free(trust_noca);
    sig_trust_free(trust_nr);
    sig_tsa_free(tsa);
    return check_report("test_cms");
}
