/*
 * test_revoc.c - OCSP and CRL checks against the openssl command line.
 *
 *   test_revoc PKI_DIR up     under servers.sh: a real `openssl ocsp` responder
 *                             and CRLs (`openssl ca -gencrl`) over HTTP
 *   test_revoc PKI_DIR down   nothing listens on the PKI's ports
 *
 * Offline responses for the synchronous checks come from `openssl ocsp
 * -reqin ... -respout` (the same responder code, no network), so stale,
 * unauthorised and wrong-nonce answers are OpenSSL's, not ours.
 */
#include <time.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "check.h"
#include "sig.h"
#include "sig_revoc.h"
#include "sigtest.h"

static struct sig_trust *trust;
static time_t now;

/* An offline OCSP response for cases/<name> from `openssl ocsp` signed by responder `rsigner`. */
static enum sig_err ocsp_offline(const char *name, const char *rsigner, const char *ca, int nmin, time_t at,
                                 int bad_nonce, struct sig_revoc_status *st)
{
    char f[256], why[200];
    struct blob cert, iss, resp;
    uint8_t nonce[SIG_OCSP_NONCE_LEN], *req = NULL;
    size_t req_len = 0;
    enum sig_err rc;

    snprintf(f, sizeof f, "cases/%s.crt.der", name);
    cert = load(f);
    snprintf(f, sizeof f, "crl/%s.crt", ca);
    iss = load(f);
    CHECK_EQ_INT(sig_ocsp_request(cert.p, cert.n, iss.p, iss.n, nonce, &req, &req_len), SIG_OK);
    save("tmp/ocsp.req", req, req_len);
    free(req);
    CHECK_EQ_INT(sh("%s ocsp -index state/%s/index.txt -CA %s.pem -rsigner %s.pem -rkey %s.key.pem -reqin tmp/ocsp.req "
                    "-respout tmp/ocsp.resp -nmin %d >/dev/null 2>&1",
                    openssl_cli(), ca, ca, rsigner, rsigner, nmin),
                 0);
    resp = load("tmp/ocsp.resp");
    if (bad_nonce)
        nonce[0] ^= 1;
    rc = sig_ocsp_check(trust, cert.p, cert.n, iss.p, iss.n, nonce, resp.p, resp.n, at, 7 * 86400, st, why, sizeof why);
    CHECK_EQ_INT(rc, st->result);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    if (rc != SIG_OK)
        printf("  ocsp %s by %s: %s (%s)\n", name, rsigner, sig_result_name(rc), why);
    blob_free(&cert);
    blob_free(&iss);
    blob_free(&resp);
    return rc;
}

static enum sig_err crl_case(const char *name, const char *ca, const char *crlfile, time_t at)
{
    char f[256], why[200];
    struct blob cert, iss, crl;
    struct sig_revoc_status st;
    enum sig_err rc;

    snprintf(f, sizeof f, "cases/%s.crt.der", name);
    cert = load(f);
    snprintf(f, sizeof f, "crl/%s.crt", ca);
    iss = load(f);
    crl = load(crlfile);
    rc = sig_crl_check(cert.p, cert.n, iss.p, iss.n, crl.p, crl.n, at, &st, why, sizeof why);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    if (rc != SIG_OK)
        printf("  crl %s with %s: %s (%s)\n", name, crlfile, sig_result_name(rc), why);
    blob_free(&cert);
    blob_free(&iss);
    blob_free(&crl);
    return rc;
}

static void test_sync(void)
{
    struct sig_revoc_status st;

    CHECK_EQ_INT(ocsp_offline("good-rsa", "ocsp-ca", "ca", 60, now, 0, &st), SIG_OK);
    CHECK(st.next_update > now);
    CHECK_EQ_INT(ocsp_offline("good-ec", "ca", "ca", 60, now, 0, &st), SIG_OK); /* signed by the CA itself */
    CHECK_EQ_INT(ocsp_offline("revoked-rsa", "ocsp-ca", "ca", 60, now, 0, &st), SIG_ERR_REVOKED);
    CHECK_EQ_INT(st.reason, 1); /* keyCompromise */
    CHECK_EQ_INT(ocsp_offline("ca2-ec", "ocsp-ca2", "ca2", 60, now, 0, &st), SIG_OK);
    /* Stale: nextUpdate one minute ahead, checked two hours later. */
    CHECK_EQ_INT(ocsp_offline("good-rsa", "ocsp-ca", "ca", 1, now + 7200, 0, &st), SIG_ERR_REVOCATION_UNKNOWN);
    /* Not authorised: a responder from an untrusted PKI, and one authorised by another (trusted) CA. */
    CHECK_EQ_INT(ocsp_offline("good-rsa", "ocsp-rogue", "ca", 60, now, 0, &st), SIG_ERR_REVOCATION_UNKNOWN);
    CHECK_EQ_INT(ocsp_offline("good-rsa", "ocsp-ca2", "ca", 60, now, 0, &st), SIG_ERR_REVOCATION_UNKNOWN);
    /* A response to another request. */
    CHECK_EQ_INT(ocsp_offline("good-rsa", "ocsp-ca", "ca", 60, now, 1, &st), SIG_ERR_REVOCATION_UNKNOWN);

    CHECK_EQ_INT(crl_case("good-rsa", "ca", "crl/ca.crl", now), SIG_OK);
    CHECK_EQ_INT(crl_case("revoked-rsa", "ca", "crl/ca.crl", now), SIG_ERR_REVOKED);
    CHECK_EQ_INT(crl_case("revoked-ec", "ca", "crl/ca.crl", now), SIG_ERR_REVOKED);
    CHECK_EQ_INT(crl_case("g1-rsa", "ca-g1", "crl/ca-g1.crl", now), SIG_OK);
    CHECK_EQ_INT(crl_case("good-rsa", "ca", "cases/ca-badsig.crl", now), SIG_ERR_REVOCATION_UNKNOWN);
    CHECK_EQ_INT(crl_case("good-rsa", "ca", "crl/ca2.crl", now), SIG_ERR_REVOCATION_UNKNOWN); /* another CA's */
    CHECK_EQ_INT(crl_case("good-rsa", "ca", "crl/ca.crl", now + 8 * 86400), SIG_ERR_REVOCATION_UNKNOWN); /* stale */
    /* The CLI agrees: the flipped CRL does not verify. */
    CHECK_EQ_INT(sh("%s crl -inform DER -in cases/ca-badsig.crl -CAfile ca.pem -noout 2>&1 | grep -q 'verify failure'",
                    openssl_cli()),
                 0);
    CHECK_EQ_INT(
        sh("%s crl -inform DER -in crl/ca.crl -CAfile ca.pem -noout 2>&1 | grep -q 'verify OK'", openssl_cli()), 0);
}

/* ---- the asynchronous checker, with an in-memory cache ---- */

#define NCACHE 16
static struct {
    char key[96];
    uint8_t *v;
    size_t n;
} cache[NCACHE];
static unsigned puts_seen;

static void mem_get(void *ctx, const char *key, sig_cache_got *got, void *req)
{
    (void)ctx;
    for (int i = 0; i < NCACHE; i++) {
        if (cache[i].v != NULL && strcmp(cache[i].key, key) == 0) {
            got(req, cache[i].v, cache[i].n); /* synchronous on purpose: allowed */
            return;
        }
    }
    got(req, NULL, 0);
}

static void mem_put(void *ctx, const char *key, const uint8_t *v, size_t n, unsigned ttl)
{
    (void)ctx;
    CHECK(ttl >= 1);
    puts_seen++;
    for (int i = 0; i < NCACHE; i++) {
        if (cache[i].v == NULL || strcmp(cache[i].key, key) == 0) {
            free(cache[i].v);
            snprintf(cache[i].key, sizeof cache[i].key, "%s", key);
            cache[i].v = malloc(n);
            memcpy(cache[i].v, v, n);
            cache[i].n = n;
            return;
        }
    }
}

struct outcome {
    int done;
    struct sig_revoc_result r;
    char source[8];
    size_t ocsp_len;
    struct event_base *base;
};

static void on_done(void *arg, const struct sig_revoc_result *res)
{
    struct outcome *o = arg;

    o->done = 1;
    o->r = *res;
    snprintf(o->source, sizeof o->source, "%s", res->source);
    o->ocsp_len = res->ocsp_len;
    CHECK((res->ocsp != NULL) == (res->ocsp_len > 0));
    o->r.ocsp = NULL;
    o->r.crl = NULL;
    event_base_loopbreak(o->base);
}

static struct outcome run(struct event_base *base, struct sig_revoc *rv, const char *name, enum sig_revoc_policy pol)
{
    char f[256];
    struct blob cert;
    struct outcome o;

    memset(&o, 0, sizeof o);
    o.base = base;
    snprintf(f, sizeof f, "cases/%s.crt.der", name);
    cert = load(f);
    sig_revoc_check(rv, cert.p, cert.n, now, pol, on_done, &o);
    CHECK_EQ_INT(o.done, 0); /* never from inside the call */
    blob_free(&cert);
    while (!o.done)
        event_base_dispatch(base);
    printf("  %s: %s via %s%s%s%s%s\n", name, sig_result_name(o.r.result), o.source, o.r.from_cache ? " (cached)" : "",
           o.r.soft_failed ? " soft-failed" : "", " -- ", o.r.why);
    return o;
}

static void test_up(struct event_base *base)
{
    struct sig_revoc_cache c = {NULL, mem_get, mem_put};
    struct sig_revoc_cfg cfg = {.timeout_ms = 3000};
    struct sig_revoc *rv = NULL;
    struct sig_revoc_stats st;
    struct outcome o;

    CHECK_EQ_INT(sig_revoc_new(base, trust, &c, &cfg, &rv), SIG_OK);
    o = run(base, rv, "good-rsa", SIG_REVOC_HARD);
    CHECK_EQ_INT(o.r.result, SIG_OK);
    CHECK_EQ_STR(o.source, "ocsp");
    CHECK(o.ocsp_len > 0 && !o.r.from_cache);
    o = run(base, rv, "good-rsa", SIG_REVOC_HARD); /* now from the cache */
    CHECK_EQ_INT(o.r.result, SIG_OK);
    CHECK(o.r.from_cache && o.ocsp_len > 0);
    o = run(base, rv, "revoked-rsa", SIG_REVOC_HARD);
    CHECK_EQ_INT(o.r.result, SIG_ERR_REVOKED);
    CHECK_EQ_STR(o.source, "ocsp");
    o = run(base, rv, "revoked-ec", SIG_REVOC_SOFT); /* soft-fail never hides a revocation */
    CHECK_EQ_INT(o.r.result, SIG_ERR_REVOKED);
    /* The responder serves only "ca": G1 falls back to its CRL over HTTP. */
    o = run(base, rv, "g1-rsa", SIG_REVOC_HARD);
    CHECK_EQ_INT(o.r.result, SIG_OK);
    CHECK_EQ_STR(o.source, "crl");
    o = run(base, rv, "g1-rsa", SIG_REVOC_HARD);
    CHECK(o.r.result == SIG_OK && o.r.from_cache);
    o = run(base, rv, "expired-rsa", SIG_REVOC_SOFT); /* a path error is never softened */
    CHECK_EQ_INT(o.r.result, SIG_ERR_CERT_EXPIRED);
    sig_revoc_get_stats(rv, &st);
    CHECK(st.ocsp_fetches >= 3 && st.crl_fetches >= 1 && st.cache_hits >= 2);
    CHECK(puts_seen >= 3);
    sig_revoc_free(rv);
}

static void test_down(struct event_base *base)
{
    struct sig_revoc_cfg cfg = {.timeout_ms = 2000};
    struct sig_revoc *rv = NULL;
    struct outcome o;

    CHECK_EQ_INT(sig_revoc_new(base, trust, NULL, &cfg, &rv), SIG_OK);
    o = run(base, rv, "good-rsa", SIG_REVOC_HARD);
    CHECK_EQ_INT(o.r.result, SIG_ERR_REVOCATION_UNKNOWN);
    CHECK(strstr(o.r.why, "ocsp") != NULL && strstr(o.r.why, "crl") != NULL);
    o = run(base, rv, "good-ec", SIG_REVOC_SOFT);
    CHECK_EQ_INT(o.r.result, SIG_OK);
    CHECK_EQ_INT(o.r.soft_failed, 1);
    CHECK(o.r.why[0] != '\0');
    sig_revoc_free(rv);
}

int main(int argc, char **argv)
{
    char a[1024], i[1024];
    struct event_base *base;
    int up;

    if (argc != 3) {
        fprintf(stderr, "usage: test_revoc PKI_DIR up|down\n");
        return 2;
    }
    pki_dir = argv[1];
    up = strcmp(argv[2], "up") == 0;
    now = time(NULL);
    if (sh("mkdir -p tmp") != 0)
        return 2;
    path_of(a, sizeof a, "trust.pem");
    path_of(i, sizeof i, "intermediates.pem");
    if (sig_trust_load(a, i, &trust, NULL, 0) != SIG_OK) {
        fprintf(stderr, "cannot load the fixture's trust files\n");
        return 2;
    }
    base = event_base_new();
    if (up) {
        test_sync();
        test_up(base);
    } else {
        test_down(base);
    }
    event_base_free(base);
    sig_trust_free(trust);
    for (int k = 0; k < NCACHE; k++)
        free(cache[k].v);
    return check_report(up ? "test_revoc" : "test_revoc_down");
}
