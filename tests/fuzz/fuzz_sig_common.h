/*
 * fuzz_sig_common.h - what fuzz_ocsp and fuzz_tsa share: REQUIRE, the
 * fixed PKI (fuzz_sig_pki.h) as DER and as files, and FUZZ_SIG_VERBOSE=1 to print each
 * input's verdict (to check that regenerated seeds still reach the checks
 * they were made for).
 */
#ifndef SIMPKI_FUZZ_SIG_COMMON_H
#define SIMPKI_FUZZ_SIG_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fuzz_sig_pki.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

/* The first certificate of a PEM string as malloc'd DER (kept for the process's life). */
static inline uint8_t *fuzz_pem_to_der(const char *pem, size_t *len)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    unsigned char *der = NULL;
    int n = x ? i2d_X509(x, &der) : -1;
    uint8_t *out;

    REQUIRE(n > 0);
    out = malloc((size_t)n);
    REQUIRE(out != NULL);
    memcpy(out, der, (size_t)n);
    *len = (size_t)n;
    OPENSSL_free(der);
    X509_free(x);
    BIO_free(b);
    return out;
}

/*
 * sig_trust_load and sig_tsa_new read files: pem written to a new temporary
 * file, whose name goes to path (remove it once loaded).
 */
static inline void fuzz_pem_file(const char *pem, char path[64])
{
    int fd;
    FILE *f;

    snprintf(path, 64, "/tmp/simpki-fuzz-XXXXXX");
    fd = mkstemp(path);
    REQUIRE(fd >= 0);
    f = fdopen(fd, "w");
    REQUIRE(f != NULL);
    REQUIRE(fputs(pem, f) >= 0);
    REQUIRE(fclose(f) == 0);
}

/* why is always a terminated string inside its buffer. */
#define WHY_TERMINATED(buf) REQUIRE(memchr((buf), '\0', sizeof(buf)) != NULL)

static inline int fuzz_verbose(void)
{
    static int v = -1;

    if (v < 0) {
        const char *e = getenv("FUZZ_SIG_VERBOSE");
        v = e != NULL && strcmp(e, "1") == 0;
    }
    return v;
}

#endif
