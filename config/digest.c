/* digest.c - see digest.h. */
#include "digest.h"

#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>

static const struct {
    enum dg_alg alg;
    size_t len;
    const char *name;
    const char *ossl;
} algs[] = {
    {DG_SHA256, 32, "SHA-256", "SHA256"},
    {DG_SHA384, 48, "SHA-384", "SHA384"},
    {DG_SHA512, 64, "SHA-512", "SHA512"},
};

static int find(enum dg_alg alg)
{
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (algs[i].alg == alg)
            return (int)i;
    return -1;
}

size_t dg_len(enum dg_alg alg)
{
    int i = find(alg);
    return i < 0 ? 0 : algs[i].len;
}

const char *dg_name(enum dg_alg alg)
{
    int i = find(alg);
    return i < 0 ? NULL : algs[i].name;
}

const char *dg_openssl_name(enum dg_alg alg)
{
    int i = find(alg);
    return i < 0 ? NULL : algs[i].ossl;
}

enum dg_alg dg_from_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof(algs) / sizeof(algs[0]); i++)
        if (strcmp(algs[i].name, name) == 0)
            return algs[i].alg;
    return DG_NONE;
}

enum dg_alg dg_from_int(long v)
{
    return find((enum dg_alg)v) < 0 ? DG_NONE : (enum dg_alg)v;
}

size_t dg_digestinfo(enum dg_alg alg, const unsigned char *digest, size_t len, unsigned char *out, size_t cap)
{
    const char *ossl = dg_openssl_name(alg);
    int nid = ossl ? OBJ_sn2nid(ossl) : NID_undef;
    X509_SIG *sig = NULL;
    X509_ALGOR *a;
    ASN1_OCTET_STRING *d;
    unsigned char *p = out;
    int n;

    if (nid == NID_undef || len != dg_len(alg) || !(sig = X509_SIG_new()))
        return 0;
    X509_SIG_getm(sig, &a, &d);
    /* Parameters NULL, as RFC 8017 writes them (and every verifier expects). */
    if (!X509_ALGOR_set0(a, OBJ_nid2obj(nid), V_ASN1_NULL, NULL) || !ASN1_OCTET_STRING_set(d, digest, (int)len) ||
        (n = i2d_X509_SIG(sig, NULL)) <= 0 || (size_t)n > cap || i2d_X509_SIG(sig, &p) != n)
        n = 0;
    X509_SIG_free(sig);
    return (size_t)n;
}
