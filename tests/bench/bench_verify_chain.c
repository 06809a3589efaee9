/*
 * bench_verify_chain.c - subscriber signatures verified per second on one core,
 * with the chain and a cached OCSP status, beside `openssl speed` in the same run.
 *
 *   bench_verify_chain PKI_DIR [SECONDS]
 *
 * PKI_DIR is tests/signer's fixture (build/tests/signer/pki).  One operation
 * is what the gateway does for a SIGN answer once the certificate's OCSP
 * response is in the cache: sig_verify_digest (certificate parse, signature,
 * path to the anchor through the intermediate, key usage) plus sig_ocsp_check
 * of the cached response (its signature, responder authorisation, freshness).
 * The OCSP response is made once by `openssl ocsp` (offline, -reqin/-respout).
 * Reference: `openssl speed -seconds N rsa2048` / `ecdsap256`, verify/s.
 * Rates are per CPU second of this process, as openssl speed's are per user
 * CPU second.
 *
 * Two rows per key, same process, same run:
 *   uncached  sig_verify_digest + sig_ocsp_check, as above (nothing reused);
 *   cached    sig_verify_digest_cached + sig_vcache_revoc_get with one
 *             struct sig_vcache (sig_vcache.h): SHA-256 of the DER, look-ups,
 *             one EVP_PKEY_verify.  A revocation miss falls back to
 *             sig_ocsp_check_cached inside the timed loop (the first op).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "sig.h"
#include "sig_revoc.h"
#include "sig_vcache.h"

static const char *dir;

static int load(const char *name, unsigned char **p, size_t *n)
{
    char path[1024];
    FILE *f;
    long len;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "bench_verify_chain: cannot read %s\n", path);
        exit(2);
    }
    *p = malloc((size_t)len);
    if (*p == NULL || fread(*p, 1, (size_t)len, f) != (size_t)len)
        exit(2);
    *n = (size_t)len;
    fclose(f);
    return 0;
}

/*
 * CPU seconds of this process: `openssl speed` divides by user CPU time too
 * (unless -elapsed), so on a busy machine neither number is the share of the
 * core the scheduler happened to give.
 */
static double since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* verify/s from `openssl speed -seconds N ALG` (last field before the last of the result line). */
static double openssl_speed(const char *alg, int secs)
{
    char cmd[256], line[512];
    double best = 0;
    FILE *p;

    snprintf(cmd, sizeof cmd, "%s speed -seconds %d %s 2>/dev/null", getenv("OPENSSL") ? getenv("OPENSSL") : "openssl",
             secs, alg);
    p = popen(cmd, "r");
    if (p == NULL)
        return 0;
    while (fgets(line, sizeof line, p) != NULL) {
        double a, b, c, d;
        char name[64];

        /* "rsa 2048 bits 0.000xxx 0.000yyy  sign/s verify/s" or "256 bits ecdsa (nistp256) s v sign/s verify/s" */
        if (sscanf(line, "rsa %*d bits %lfs %lfs %lf %lf", &a, &b, &c, &d) == 4 ||
            sscanf(line, " %*d bits ecdsa (%63[^)]) %lfs %lfs %lf %lf", name, &a, &b, &c, &d) == 5)
            best = d;
    }
    pclose(p);
    return best;
}

static void run(const struct sig_trust *t, const char *name, const char *speed_alg, int secs)
{
    char f[256], cmd[1024];
    unsigned char *cert, *sig, *dg, *iss, *resp, *req;
    size_t cert_n, sig_n, dg_n, iss_n, resp_n, req_n;
    uint8_t nonce[SIG_OCSP_NONCE_LEN];
    struct sig_revoc_status st;
    struct timespec t0;
    unsigned long ops = 0;
    double el, ours, cached, ref;
    struct sig_vcache *vc = NULL;
    struct sig_vcache_stats vs;
    time_t now = time(NULL);

    snprintf(f, sizeof f, "cases/%s.crt.der", name);
    load(f, &cert, &cert_n);
    snprintf(f, sizeof f, "cases/%s.sha256.sig", name);
    load(f, &sig, &sig_n);
    load("cases/msg.sha256.bin", &dg, &dg_n);
    load("crl/ca.crt", &iss, &iss_n);
    if (sig_ocsp_request(cert, cert_n, iss, iss_n, nonce, &req, &req_n) != SIG_OK)
        exit(1);
    snprintf(f, sizeof f, "%s/bench-ocsp.req", dir);
    {
        FILE *o = fopen(f, "wb");

        if (o == NULL || fwrite(req, 1, req_n, o) != req_n || fclose(o) != 0)
            exit(2);
    }
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl ocsp -index state/ca/index.txt -CA ca.pem -rsigner ocsp-ca.pem -rkey ocsp-ca.key.pem "
             "-reqin bench-ocsp.req -respout bench-ocsp.resp -nmin 60 >/dev/null 2>&1",
             dir);
    if (system(cmd) != 0)
        exit(2);
    load("bench-ocsp.resp", &resp, &resp_n);

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 64; i++) {
            if (sig_verify_digest(t, cert, cert_n, 1, dg, dg_n, sig, sig_n, now, NULL, 0) != SIG_OK ||
                sig_ocsp_check(t, cert, cert_n, iss, iss_n, NULL, resp, resp_n, now, 86400, &st, NULL, 0) != SIG_OK) {
                fprintf(stderr, "bench_verify_chain: %s does not verify\n", name);
                exit(1);
            }
        }
        ops += 64;
        el = since(&t0);
    } while (el < secs);
    ours = (double)ops / el;

    if (sig_vcache_new(t, NULL, &vc) != SIG_OK)
        exit(1);
    ops = 0;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    do {
        for (int i = 0; i < 64; i++) {
            enum sig_err rv;

            if (sig_verify_digest_cached(t, vc, cert, cert_n, 1, dg, dg_n, sig, sig_n, now, NULL, 0) != SIG_OK) {
                fprintf(stderr, "bench_verify_chain: %s does not verify (cached)\n", name);
                exit(1);
            }
            rv = sig_vcache_revoc_get(vc, cert, cert_n, now, now, &st, NULL);
            if (rv == SIG_ERR_AGAIN)
                rv = sig_ocsp_check_cached(t, vc, cert, cert_n, iss, iss_n, NULL, resp, resp_n, now, 86400, &st, NULL,
                                           0);
            if (rv != SIG_OK) {
                fprintf(stderr, "bench_verify_chain: %s revocation %s (cached)\n", name, sig_result_name(rv));
                exit(1);
            }
        }
        ops += 64;
        el = since(&t0);
    } while (el < secs);
    cached = (double)ops / el;
    sig_vcache_get_stats(vc, &vs);
    sig_vcache_free(vc);

    ref = openssl_speed(speed_alg, secs);
    printf("%-10s uncached chain+OCSP: %9.0f op/s   ratio %5.1f%%\n", name, ours, ref > 0 ? 100.0 * ours / ref : 0.0);
    printf("%-10s cached   chain+OCSP: %9.0f op/s   ratio %5.1f%%   (cert misses %llu, path misses %llu, "
           "revocation misses %llu)\n",
           name, cached, ref > 0 ? 100.0 * cached / ref : 0.0, (unsigned long long)vs.cert_misses,
           (unsigned long long)vs.path_misses, (unsigned long long)vs.revoc_misses);
    printf("%-10s openssl speed %-10s verify: %9.0f /s\n", name, speed_alg, ref);
    free(cert);
    free(sig);
    free(dg);
    free(iss);
    free(resp);
    free(req);
}

int main(int argc, char **argv)
{
    char a[1024], i[1024];
    struct sig_trust *t = NULL;
    int secs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;

    if (argc < 2) {
        fprintf(stderr, "usage: bench_verify_chain PKI_DIR [SECONDS]\n");
        return 2;
    }
    dir = argv[1];
    if (secs < 1)
        secs = 1;
    snprintf(a, sizeof a, "%s/trust.pem", dir);
    snprintf(i, sizeof i, "%s/intermediates.pem", dir);
    if (sig_trust_load(a, i, &t, NULL, 0) != SIG_OK || sig_trust_set_profile(t, "2.16.704.1.1.1.1.1", 1) != SIG_OK)
        return 2;
    run(t, "good-rsa", "rsa2048", secs);
    run(t, "good-ec", "ecdsap256", secs);
    sig_trust_free(t);
    return 0;
}
