/*
 * bench_verify.c - how many full sig_verify_digest calls a core does per second.
 *
 *   bench_verify PKI_DIR [SECONDS]
 *
 * PKI_DIR is the fixture tests/signer/mksigs.sh builds (ctest -R sig_pki_setup
 * leaves it in build/tests/signer/pki).  Each call is the whole path a SIGN
 * response takes: certificate parse, signature, chain at `now`, key usage;
 * the certificate is deliberately not cached between calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sig.h"

static int load(const char *dir, const char *name, unsigned char **p, size_t *n)
{
    char path[1024];
    FILE *f;
    long len;
    int rc = -1;

    *p = NULL;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -1;
    f = fopen(path, "rb");
    if (f == NULL)
        goto out;
    if (fseek(f, 0, SEEK_END) != 0)
        goto out;
    len = ftell(f);
    if (len <= 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    *p = malloc((size_t)len);
    if (*p == NULL || fread(*p, 1, (size_t)len, f) != (size_t)len)
        goto out;
    *n = (size_t)len;
    rc = 0;
out:
    if (rc != 0) {
        fprintf(stderr, "bench_verify: cannot read %s\n", path);
        free(*p);
        *p = NULL;
    }
    if (f != NULL)
        fclose(f);
    return rc;
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int bench(const struct sig_trust *t, const char *dir, const char *name, double secs)
{
    char file[128];
    unsigned char *cert = NULL, *sig = NULL, *digest = NULL;
    size_t cert_len = 0, sig_len = 0, digest_len = 0;
    struct timespec t0;
    unsigned long n = 0;
    double el;
    int rc = -1;
    char why[160];

    snprintf(file, sizeof file, "cases/%s.crt.der", name);
    if (load(dir, file, &cert, &cert_len) != 0)
        goto out;
    snprintf(file, sizeof file, "cases/%s.sha256.sig", name);
    if (load(dir, file, &sig, &sig_len) != 0)
        goto out;
    if (load(dir, "cases/msg.sha256.bin", &digest, &digest_len) != 0)
        goto out;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        /* Check the clock every 64 calls so reading it costs nothing measurable. */
        for (int i = 0; i < 64; i++) {
            enum sig_err e =
                sig_verify_digest(t, cert, cert_len, 1, digest, digest_len, sig, sig_len, time(NULL), why, sizeof why);
            if (e != SIG_OK) {
                fprintf(stderr, "bench_verify: %s: %s (%s)\n", name, sig_result_name(e), why);
                goto out;
            }
            n++;
        }
        el = seconds_since(&t0);
    } while (el < secs);
    printf("%-10s %8lu verifications in %.2f s: %10.1f verifications/s\n", name, n, el, (double)n / el);
    rc = 0;
out:
    free(cert);
    free(sig);
    free(digest);
    return rc;
}

int main(int argc, char **argv)
{
    struct sig_trust *t = NULL;
    char anchors[1024], inter[1024], why[256];
    double secs = 3.0;
    int rc = 1;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PKI_DIR [SECONDS]\n", argv[0]);
        return 2;
    }
    if (argc == 3) {
        char *end = NULL;

        errno = 0;
        secs = strtod(argv[2], &end);
        if (errno != 0 || end == argv[2] || *end != '\0' || !(secs > 0.0 && secs <= 3600.0)) {
            fprintf(stderr, "bench_verify: SECONDS must be in (0, 3600]\n");
            return 2;
        }
    }
    snprintf(anchors, sizeof anchors, "%s/trust.pem", argv[1]);
    snprintf(inter, sizeof inter, "%s/intermediates.pem", argv[1]);
    if (sig_trust_load(anchors, inter, &t, why, sizeof why) != SIG_OK) {
        fprintf(stderr, "bench_verify: %s\n", why);
        goto out;
    }
    if (bench(t, argv[1], "good-rsa", secs) != 0)
        goto out;
    if (bench(t, argv[1], "good-ec", secs) != 0)
        goto out;
    rc = 0;
out:
    sig_trust_free(t);
    return rc;
}
