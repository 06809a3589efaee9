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

/*
 * The canonical encoding is `30 L1 <AlgorithmIdentifier> 04 L2 <digest>`:
 * for each algorithm dg_digestinfo's output for a zero digest gives all of
 * it but the digest, so no OID is written down twice.  The outer length is
 * short form for every digest we know (83 octets at most), but a client's
 * too-long digest may push it to long form: the AlgorithmIdentifier is
 * looked for after either form, so that such a request reads as a length
 * error, not as an unknown algorithm.
 */
int dg_digestinfo_parse(const unsigned char *der, size_t len, enum dg_alg *alg, const unsigned char **digest,
                        size_t *dlen)
{
    static const unsigned char zero[64];
    size_t hdr;

    if (len < 2 || der[0] != 0x30)
        return -1;
    if (der[1] < 0x80)
        hdr = 2;
    else if (der[1] >= 0x81 && der[1] <= 0x82)
        hdr = 2 + (size_t)(der[1] & 0x7f);
    else
        return -1;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        unsigned char ref[DG_DIGESTINFO_MAX];
        size_t n = dg_digestinfo(algs[i].alg, zero, algs[i].len, ref, sizeof(ref)), plen, alen;

        if (n == 0)
            continue;
        plen = n - algs[i].len; /* 30 L1 <algid> 04 L2 */
        alen = plen - 4;        /* <algid> */
        if (len < hdr + alen || memcmp(der + hdr, ref + 2, alen) != 0)
            continue;
        *alg = algs[i].alg;
        if (len != n || hdr != 2 || memcmp(der, ref, plen) != 0)
            return -2;
        *digest = der + plen;
        *dlen = algs[i].len;
        return 0;
    }
    return -1;
}
