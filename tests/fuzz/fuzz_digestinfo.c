/*
 * fuzz_digestinfo.c - dg_digestinfo_parse() (config/digest.c), the ETSI
 * endpoint's reading of a DataToBeSigned DigestInfo, with OpenSSL's
 * d2i_X509_SIG as the oracle.  Whatever the input (copied to a buffer of
 * exactly its size, so ASan sees a read past it):
 *   - the answer is 0, -1 or -2;
 *   - 0: the digest points inside the input, has its algorithm's length,
 *     and dg_digestinfo of it gives back the input exactly; OpenSSL parses
 *     the input to the same algorithm and digest;
 *   - an input OpenSSL parses whole into SHA-256/384/512 with parameters
 *     NULL and a digest of the right length, whose DER is the input, is
 *     accepted (a canonical DigestInfo is never refused).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "digest.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

/* OpenSSL's reading: 1 with *alg, *d, *dlen when the input is a canonical DigestInfo of ours. */
static int oracle(const uint8_t *in, size_t len, enum dg_alg *alg, uint8_t *d, size_t *dlen)
{
    const unsigned char *p = in;
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
    const X509_ALGOR *a;
    const ASN1_OCTET_STRING *dg;
    const ASN1_OBJECT *oid;
    const void *pval;
    unsigned char *der = NULL;
    int ptype, n, ok = 0;

    if (!sig)
        return 0;
    X509_SIG_get0(sig, &a, &dg);
    X509_ALGOR_get0(&oid, &ptype, &pval, a);
    switch (OBJ_obj2nid(oid)) {
    case NID_sha256: *alg = DG_SHA256; break;
    case NID_sha384: *alg = DG_SHA384; break;
    case NID_sha512: *alg = DG_SHA512; break;
    default: *alg = DG_NONE; break;
    }
    n = i2d_X509_SIG(sig, &der);
    if (*alg != DG_NONE && ptype == V_ASN1_NULL && p == in + len && (size_t)ASN1_STRING_length(dg) == dg_len(*alg) &&
        n == (int)len && memcmp(der, in, len) == 0) {
        *dlen = (size_t)ASN1_STRING_length(dg);
        memcpy(d, ASN1_STRING_get0_data(dg), *dlen);
        ok = 1;
    }
    OPENSSL_free(der);
    X509_SIG_free(sig);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *in = calloc(1, size + 1), od[64], back[DG_DIGESTINFO_MAX]; /* calloc: read even when size is 0 */
    const unsigned char *digest = NULL;
    enum dg_alg alg = DG_NONE, oalg = DG_NONE;
    size_t dlen = 0, olen = 0;
    int rc, canonical;

    REQUIRE(in != NULL);
    if (size)
        memcpy(in, data, size);
    rc = dg_digestinfo_parse(in, size, &alg, &digest, &dlen);
    REQUIRE(rc == 0 || rc == -1 || rc == -2);
    canonical = size <= DG_DIGESTINFO_MAX && oracle(in, size, &oalg, od, &olen);
    if (rc == 0) {
        REQUIRE(digest >= in && digest + dlen == in + size);
        REQUIRE(dlen == dg_len(alg) && dlen > 0);
        REQUIRE(dg_digestinfo(alg, digest, dlen, back, sizeof back) == size && memcmp(back, in, size) == 0);
        REQUIRE(canonical && oalg == alg && olen == dlen && memcmp(od, digest, dlen) == 0);
    }
    if (canonical)
        REQUIRE(rc == 0);
    if (rc == -2)
        REQUIRE(alg == DG_SHA256 || alg == DG_SHA384 || alg == DG_SHA512);
    free(in);
    return 0;
}
