/*
 * test_vcache.c - the verdict cache (sig_vcache.h) gives exactly the results
 * of the uncached functions.
 *
 *   test_vcache PKI_DIR
 *
 * First every case of test_sig.c runs again with sig_verify_digest and
 * sig_check_cert replaced by a differential wrapper: the uncached call, then
 * the cached one twice (cold and warm), results and reasons compared.  Then
 * what only a cache can get wrong: a certificate that expires while cached,
 * the window below notBefore, eviction at the bound, a look-alike
 * certificate with the same subject, a profile change, and the revocation
 * decisions (OCSP from `openssl ocsp`, CRL from the fixture).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>

#include "check.h"
#include "sig.h"
#include "sig_revoc.h"
#include "sig_vcache.h"

static struct {
    const struct sig_trust *t;
    struct sig_vcache *vc;
} vcs[8];

static struct sig_vcache *vc_for(const struct sig_trust *t)
{
    for (size_t i = 0; i < sizeof vcs / sizeof vcs[0]; i++) {
        if (vcs[i].t == t && vcs[i].vc != NULL)
            return vcs[i].vc;
        if (vcs[i].vc == NULL && t != NULL) {
            vcs[i].t = t;
            if (sig_vcache_new(t, NULL, &vcs[i].vc) != SIG_OK)
                vcs[i].vc = NULL;
            return vcs[i].vc;
        }
    }
    return NULL;
}

static void vcs_free(void)
{
    for (size_t i = 0; i < sizeof vcs / sizeof vcs[0]; i++) {
        sig_vcache_free(vcs[i].vc);
        vcs[i].vc = NULL;
        vcs[i].t = NULL;
    }
}

static unsigned diff_calls;

static enum sig_err diff_verify(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, uint8_t alg,
                                const uint8_t *digest, size_t digest_len, const uint8_t *sig, size_t sig_len, time_t at,
                                char *why, size_t whylen)
{
    struct sig_vcache *vc = vc_for(t);
    char w0[256] = "", w1[256] = "", w2[256] = "";
    enum sig_err r0, r1, r2;

    r0 = sig_verify_digest(t, cert, cert_len, alg, digest, digest_len, sig, sig_len, at, w0, sizeof w0);
    r1 = sig_verify_digest_cached(t, vc, cert, cert_len, alg, digest, digest_len, sig, sig_len, at, w1, sizeof w1);
    r2 = sig_verify_digest_cached(t, vc, cert, cert_len, alg, digest, digest_len, sig, sig_len, at, w2, sizeof w2);
    CHECK_EQ_INT(r1, r0);
    CHECK_EQ_INT(r2, r0);
    CHECK_EQ_STR(w1, w0);
    CHECK_EQ_STR(w2, w0);
    diff_calls++;
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", w0);
    return r0;
}

static enum sig_err diff_check(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at, char *why,
                               size_t whylen)
{
    struct sig_vcache *vc = vc_for(t);
    char w0[256] = "", w1[256] = "", w2[256] = "";
    enum sig_err r0, r1, r2;

    r0 = sig_check_cert(t, cert, cert_len, at, w0, sizeof w0);
    r1 = sig_check_cert_cached(t, vc, cert, cert_len, at, w1, sizeof w1);
    r2 = sig_check_cert_cached(t, vc, cert, cert_len, at, w2, sizeof w2);
    CHECK_EQ_INT(r1, r0);
    CHECK_EQ_INT(r2, r0);
    CHECK_EQ_STR(w1, w0);
    CHECK_EQ_STR(w2, w0);
    diff_calls++;
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, "%s", w0);
    return r0;
}

/* test_sig.c, every call going through the wrappers above. */
#define sig_verify_digest(...) diff_verify(__VA_ARGS__)
#define sig_check_cert(...)    diff_check(__VA_ARGS__)
#define main                   test_sig_main
#define check_report(name)     (0)
#include "test_sig.c"
#undef main
#undef check_report
#undef sig_verify_digest
#undef sig_check_cert

/* ---- what only a cache can get wrong ---- */

static struct blob file(const char *name)
{
    return load(name);
}

static int shell(const char *cmd)
{
    char full[4096];

    if (snprintf(full, sizeof full, "cd '%s' && %s", pki_dir, cmd) >= (int)sizeof full)
        return -1;
    return system(full);
}

/* cached == uncached for (cert, sig) at `at`; returns the result. */
static enum sig_err both(struct sig_vcache *vc, const struct blob *c, const struct blob *s, time_t at)
{
    char w0[200] = "", w1[200] = "";
    enum sig_err r0 = sig_verify_digest(trust_main, c->p, c->n, 1, dg[1].p, dg[1].n, s->p, s->n, at, w0, sizeof w0);
    enum sig_err r1 =
        sig_verify_digest_cached(trust_main, vc, c->p, c->n, 1, dg[1].p, dg[1].n, s->p, s->n, at, w1, sizeof w1);

    CHECK_EQ_INT(r1, r0);
    CHECK_EQ_STR(w1, w0);
    return r1;
}

static void test_expiry_while_cached(void)
{
    struct sig_vcache *vc = NULL;
    struct blob c = file("cases/good-rsa.crt.der"), s = file("cases/good-rsa.sha256.sig");
    struct sig_cert_info info;
    struct sig_vcache_stats st;

    CHECK_EQ_INT(sig_vcache_new(trust_main, NULL, &vc), SIG_OK);
    CHECK_EQ_INT(sig_cert_info(c.p, c.n, &info), SIG_OK);
    CHECK_EQ_INT(both(vc, &c, &s, now), SIG_OK);
    CHECK_EQ_INT(both(vc, &c, &s, info.not_after - 1), SIG_OK);
    sig_vcache_get_stats(vc, &st);
    CHECK_EQ_INT(st.path_hits, 1); /* the last second of validity is in the cached window */
    /* The second notAfter is reached, the cached OK stops. */
    CHECK_EQ_INT(both(vc, &c, &s, info.not_after), SIG_ERR_CERT_EXPIRED);
    CHECK_EQ_INT(both(vc, &c, &s, info.not_after + 86400), SIG_ERR_CERT_EXPIRED);
    /* ... and an expired verdict is not reused for an earlier `at`. */
    CHECK_EQ_INT(both(vc, &c, &s, now), SIG_OK);
    CHECK_EQ_INT(both(vc, &c, &s, info.not_before - 1), SIG_ERR_CERT_NOT_YET_VALID);
    CHECK_EQ_INT(both(vc, &c, &s, info.not_before), SIG_OK);
    sig_vcache_get_stats(vc, &st);
    CHECK_EQ_INT(st.cert_misses, 1); /* parsed once, whatever `at` did */
    CHECK_EQ_INT(ERR_peek_error(), 0);
    sig_vcache_free(vc);
    blob_free(&c);
    blob_free(&s);
}

static void test_eviction(void)
{
    struct sig_vcache_cfg cfg = {.max_certs = 2};
    struct sig_vcache *vc = NULL;
    struct sig_vcache_stats st;
    const char *names[] = {"good-rsa", "good-ec", "good-rsa3072"};
    struct blob c[3], s[3];
    char f[128];

    CHECK_EQ_INT(sig_vcache_new(trust_main, &cfg, &vc), SIG_OK);
    for (int i = 0; i < 3; i++) {
        snprintf(f, sizeof f, "cases/%s.crt.der", names[i]);
        c[i] = file(f);
        snprintf(f, sizeof f, "cases/%s.sha256.sig", names[i]);
        s[i] = file(f);
    }
    CHECK_EQ_INT(both(vc, &c[0], &s[0], now), SIG_OK);
    CHECK_EQ_INT(both(vc, &c[1], &s[1], now), SIG_OK);
    CHECK_EQ_INT(both(vc, &c[0], &s[0], now), SIG_OK); /* good-rsa is now the most recent */
    CHECK_EQ_INT(both(vc, &c[2], &s[2], now), SIG_OK); /* evicts good-ec, the least recent */
    sig_vcache_get_stats(vc, &st);
    CHECK_EQ_INT(st.certs, 2);
    CHECK_EQ_INT(st.evictions, 1);
    CHECK_EQ_INT(st.cert_misses, 3);
    CHECK_EQ_INT(both(vc, &c[0], &s[0], now), SIG_OK);
    CHECK_EQ_INT(both(vc, &c[2], &s[2], now), SIG_OK);
    sig_vcache_get_stats(vc, &st);
    CHECK_EQ_INT(st.cert_misses, 3); /* both still there */
    CHECK_EQ_INT(both(vc, &c[1], &s[1], now), SIG_OK);
    sig_vcache_get_stats(vc, &st);
    CHECK_EQ_INT(st.cert_misses, 4); /* good-ec had gone */
    CHECK_EQ_INT(st.evictions, 2);
    CHECK_EQ_INT(st.certs, 2);
    /* A wrong signature through an evicted-and-refilled entry is still wrong. */
    CHECK_EQ_INT(both(vc, &c[1], &s[0], now), SIG_ERR_MALFORMED);
    sig_vcache_free(vc);
    for (int i = 0; i < 3; i++) {
        blob_free(&c[i]);
        blob_free(&s[i]);
    }
}

static void test_same_subject(void)
{
    struct sig_vcache *vc = NULL;
    struct blob good = file("cases/good-rsa.crt.der"), s = file("cases/good-rsa.sha256.sig");
    struct blob ss = file("cases/stranger-rsa.sha256.sig"), twin, forged;
    struct sig_cert_info a, b;

    /* The same subject (copied byte for byte by -x509toreq), the stranger's key, self-signed. */
    CHECK_EQ_INT(shell("openssl x509 -x509toreq -in cases/good-rsa.crt.pem -signkey cases/stranger-rsa.key.pem "
                       "-out vcache-twin.csr >/dev/null 2>&1 && openssl x509 -req -in vcache-twin.csr -signkey "
                       "cases/stranger-rsa.key.pem -days 30 -outform DER -out vcache-twin.der >/dev/null 2>&1"),
                 0);
    twin = file("vcache-twin.der");
    CHECK_EQ_INT(sig_cert_info(good.p, good.n, &a), SIG_OK);
    CHECK_EQ_INT(sig_cert_info(twin.p, twin.n, &b), SIG_OK);
    CHECK_EQ_STR(a.subject, b.subject);
    /* The genuine certificate with one bit of its CA signature changed: same subject, key and serial. */
    forged.n = good.n;
    forged.p = malloc(good.n);
    CHECK(forged.p != NULL);
    if (forged.p == NULL)
        return;
    memcpy(forged.p, good.p, good.n);
    forged.p[forged.n - 1] ^= 0x01;

    CHECK_EQ_INT(sig_vcache_new(trust_main, NULL, &vc), SIG_OK);
    CHECK_EQ_INT(both(vc, &good, &s, now), SIG_OK);
    CHECK_EQ_INT(both(vc, &twin, &s, now), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(both(vc, &twin, &ss, now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(both(vc, &forged, &s, now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(both(vc, &forged, &s, now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(both(vc, &good, &s, now), SIG_OK);
    CHECK_EQ_INT(both(vc, &good, &ss, now), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    sig_vcache_free(vc);
    blob_free(&good);
    blob_free(&s);
    blob_free(&ss);
    blob_free(&twin);
    blob_free(&forged);
}

static void test_profile_change(void)
{
    char a[1024], i[1024];
    struct sig_trust *t = NULL;
    struct sig_vcache *vc = NULL, *other = NULL;
    struct blob c = file("cases/good-ec.crt.der"), s = file("cases/good-ec.sha256.sig");

    path_of(a, sizeof a, "trust.pem");
    path_of(i, sizeof i, "intermediates.pem");
    CHECK_EQ_INT(sig_trust_load(a, i, &t, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_vcache_new(t, NULL, &vc), SIG_OK);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_OK);
    /* A policy nobody asserts: the cached OK must not survive it. */
    CHECK_EQ_INT(sig_trust_set_profile(t, "1.2.3.4.5", 0), SIG_OK);
    CHECK_EQ_INT(sig_verify_digest(t, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(sig_trust_set_profile(t, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_OK);
    /* A cache made for another trust is not used with this one (and the answer is t's). */
    CHECK_EQ_INT(sig_vcache_new(trust_noint, NULL, &other), SIG_OK);
    CHECK_EQ_INT(sig_verify_digest_cached(t, other, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_verify_digest_cached(trust_noint, other, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(sig_vcache_new(NULL, NULL, &other) == SIG_OK, 0);
    sig_vcache_free(other);
    sig_vcache_free(vc);
    sig_vcache_free(NULL);
    sig_trust_free(t);
    blob_free(&c);
    blob_free(&s);
}

/* A chain check on another thread (as gw_life's CMP worker does) while the loop replaces the trust. */
struct replacer_arg {
    const struct sig_trust *t;
    const struct blob *c;
    atomic_int stop, runs;
    int odd;
};

static void *check_loop(void *p)
{
    struct replacer_arg *a = p;

    while (!a->stop) {
        enum sig_err rc = sig_check_cert(a->t, a->c->p, a->c->n, now, NULL, 0);
        a->runs++;
        a->odd += rc != SIG_OK && rc != SIG_ERR_UNTRUSTED;
    }
    return NULL;
}

/*
 * sig_trust_replace (a reload): every holder of t sees the new anchors, a
 * cache made for t forgets what the old ones let through, t's profile stays,
 * and a check under way on another thread is never left with freed certificates.
 */
static void test_trust_replace(void)
{
    char a[1024], i[1024], g1[1024];
    struct sig_trust *t = NULL, *fresh = NULL;
    struct sig_vcache *vc = NULL;
    struct blob c = file("cases/good-ec.crt.der"), s = file("cases/good-ec.sha256.sig");
    struct replacer_arg ra = {.t = NULL};
    pthread_t th;

    path_of(a, sizeof a, "trust.pem");
    path_of(i, sizeof i, "intermediates.pem");
    path_of(g1, sizeof g1, "root-g1.pem"); /* the other root only: good-ec's (G2) is gone */
    CHECK_EQ_INT(sig_trust_load(a, i, &t, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_vcache_new(t, NULL, &vc), SIG_OK);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_trust_load(g1, i, &fresh, NULL, 0), SIG_OK);
    sig_trust_replace(t, fresh);
    CHECK_EQ_INT(sig_verify_digest(t, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(sig_trust_load(a, i, &fresh, NULL, 0), SIG_OK);
    sig_trust_replace(t, fresh);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_OK);
    /* The profile is t's, not the new file's: a policy nobody asserts survives a replace. */
    CHECK_EQ_INT(sig_trust_set_profile(t, "1.2.3.4.5", 0), SIG_OK);
    CHECK_EQ_INT(sig_trust_load(a, i, &fresh, NULL, 0), SIG_OK);
    sig_trust_replace(t, fresh);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(sig_trust_set_profile(t, NULL, 0), SIG_OK);
    /* Another thread checks while this one replaces, back and forth (ASan/TSan builds watch the frees). */
    ra.t = t;
    ra.c = &c;
    CHECK_EQ_INT(pthread_create(&th, NULL, check_loop, &ra), 0);
    for (int k = 0; k < 40; k++) {
        CHECK_EQ_INT(sig_trust_load(k % 2 ? a : g1, i, &fresh, NULL, 0), SIG_OK);
        sig_trust_replace(t, fresh);
    }
    while (ra.runs < 20)
        sched_yield();
    ra.stop = 1;
    pthread_join(th, NULL);
    CHECK_EQ_INT(ra.odd, 0);
    CHECK_EQ_INT(sig_verify_digest_cached(t, vc, c.p, c.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0), SIG_OK);
    sig_vcache_free(vc);
    sig_trust_free(t);
    blob_free(&c);
    blob_free(&s);
}

/* An offline response from `openssl ocsp` for cases/<name>, issuer crl/ca.crt. */
static void ocsp_for(const char *name, struct blob *cert, struct blob *iss, struct blob *resp)
{
    char f[256], cmd[1024];
    uint8_t nonce[SIG_OCSP_NONCE_LEN], *req = NULL;
    size_t req_len = 0;
    FILE *o;

    snprintf(f, sizeof f, "cases/%s.crt.der", name);
    *cert = file(f);
    *iss = file("crl/ca.crt");
    CHECK_EQ_INT(sig_ocsp_request(cert->p, cert->n, iss->p, iss->n, nonce, &req, &req_len), SIG_OK);
    path_of(f, sizeof f, "vcache-ocsp.req");
    o = fopen(f, "wb");
    CHECK(o != NULL && fwrite(req, 1, req_len, o) == req_len);
    if (o != NULL)
        fclose(o);
    free(req);
    snprintf(cmd, sizeof cmd,
             "openssl ocsp -index state/ca/index.txt -CA ca.pem -rsigner ocsp-ca.pem -rkey ocsp-ca.key.pem "
             "-reqin vcache-ocsp.req -respout vcache-ocsp.resp -nmin 60 >/dev/null 2>&1");
    CHECK_EQ_INT(shell(cmd), 0);
    *resp = file("vcache-ocsp.resp");
}

static void test_revocation(void)
{
    struct sig_vcache *vc = NULL;
    struct sig_vcache_cfg cfg = {.max_revoc = 2, .max_age_s = 7200};
    struct blob c, iss, resp, rc, riss, rresp, crl, ec;
    struct sig_revoc_status st, st2;
    const char *src = NULL;
    char w0[200], w1[200];

    CHECK_EQ_INT(sig_vcache_new(trust_main, &cfg, &vc), SIG_OK);
    ocsp_for("good-rsa", &c, &iss, &resp);
    ocsp_for("revoked-rsa", &rc, &riss, &rresp);

    /* Same answers as the uncached check, which they are. */
    CHECK_EQ_INT(
        sig_ocsp_check(trust_main, c.p, c.n, iss.p, iss.n, NULL, resp.p, resp.n, now, 86400, &st, w0, sizeof w0),
        SIG_OK);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, now, &st2, &src), SIG_ERR_AGAIN); /* nothing yet */
    CHECK_EQ_INT(sig_ocsp_check_cached(trust_main, vc, c.p, c.n, iss.p, iss.n, NULL, resp.p, resp.n, now, 86400, &st2,
                                       w1, sizeof w1),
                 SIG_OK);
    CHECK_EQ_INT(sig_ocsp_check_cached(trust_main, vc, rc.p, rc.n, riss.p, riss.n, NULL, rresp.p, rresp.n, now, 86400,
                                       &st2, w1, sizeof w1),
                 SIG_ERR_REVOKED);
    /* Known, but not before the path is known valid at `at`. */
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, now, &st2, &src), SIG_ERR_AGAIN);
    CHECK_EQ_INT(sig_check_cert_cached(trust_main, vc, c.p, c.n, now, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_check_cert_cached(trust_main, vc, rc.p, rc.n, now, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, now, &st2, &src), SIG_OK);
    CHECK_EQ_STR(src, "ocsp");
    CHECK_EQ_INT(st2.this_update, st.this_update);
    CHECK_EQ_INT(st2.next_update, st.next_update);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, rc.p, rc.n, now, now, &st2, &src), SIG_ERR_REVOKED);
    /* A signature made before the revocation stands (sig_revoc_check's rule). */
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, rc.p, rc.n, st2.revoked_at - 1, now, &st2, &src), SIG_OK);
    /* Not past nextUpdate (60 min), not before thisUpdate - leeway, not another certificate. */
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, st.next_update, &st2, &src), SIG_ERR_AGAIN);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, st.this_update - 301, &st2, &src), SIG_ERR_AGAIN);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, st.next_update - 1, &st2, &src), SIG_OK);
    /* A response that is not good or revoked is not remembered. */
    CHECK_EQ_INT(sig_ocsp_check_cached(trust_main, vc, c.p, c.n, iss.p, iss.n, NULL, resp.p, resp.n,
                                       st.next_update + 3600, 86400, &st2, w1, sizeof w1),
                 SIG_ERR_REVOCATION_UNKNOWN);

    /* CRL decisions; the third decision evicts the least recently used (max_revoc 2). */
    ec = file("cases/revoked-ec.crt.der");
    crl = file("crl/ca.crl");
    CHECK_EQ_INT(sig_crl_check(ec.p, ec.n, iss.p, iss.n, crl.p, crl.n, now, &st, w0, sizeof w0), SIG_ERR_REVOKED);
    CHECK_EQ_INT(sig_crl_check_cached(vc, ec.p, ec.n, iss.p, iss.n, crl.p, crl.n, now, &st2, w1, sizeof w1),
                 SIG_ERR_REVOKED);
    CHECK_EQ_STR(w1, w0);
    CHECK_EQ_INT(sig_check_cert_cached(trust_main, vc, ec.p, ec.n, now, NULL, 0), SIG_OK);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, ec.p, ec.n, now, now, &st2, &src), SIG_ERR_REVOKED);
    CHECK_EQ_STR(src, "crl");
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, c.p, c.n, now, now, &st2, &src), SIG_OK);
    CHECK_EQ_INT(sig_vcache_revoc_get(vc, rc.p, rc.n, now, now, &st2, &src), SIG_ERR_AGAIN); /* evicted */
    CHECK_EQ_INT(ERR_peek_error(), 0);

    sig_vcache_free(vc);
    blob_free(&c);
    blob_free(&iss);
    blob_free(&resp);
    blob_free(&rc);
    blob_free(&riss);
    blob_free(&rresp);
    blob_free(&crl);
    blob_free(&ec);
}

int main(int argc, char **argv)
{
    (void)test_sig_main(argc, argv); /* frees its trusts; the differential checks are counted */
    CHECK(diff_calls > 100);
    vcs_free();

    /* The rest needs trust_main and the digests again. */
    {
        char a[1024], i[1024];

        pki_dir = argv[1];
        now = time(NULL);
        for (uint8_t alg = 1; alg <= 3; alg++) {
            char name[64];
            snprintf(name, sizeof name, "cases/msg.%s.bin", md_name[alg]);
            dg[alg] = load(name);
        }
        path_of(a, sizeof a, "trust.pem");
        path_of(i, sizeof i, "intermediates.pem");
        CHECK_EQ_INT(sig_trust_load(a, i, &trust_main, NULL, 0), SIG_OK);
        CHECK_EQ_INT(sig_trust_load(a, NULL, &trust_noint, NULL, 0), SIG_OK);
    }
    if (trust_main == NULL || trust_noint == NULL)
        return check_report("test_vcache");
    test_expiry_while_cached();
    test_eviction();
    test_same_subject();
    test_profile_change();
    test_trust_replace();
    test_revocation();
    sig_trust_free(trust_main);
    sig_trust_free(trust_noint);
    for (int k = 1; k <= 3; k++)
        blob_free(&dg[k]);
    return check_report("test_vcache");
}
