/*
 * test_digest - config/digest.c's DigestInfo, both ways: dg_digestinfo
 * writes RFC 8017 s9.2's encodings (its Note 1 prefixes, copied here, not
 * computed), dg_digestinfo_parse takes exactly those back and says which
 * mistake anything else is (-1 not a DigestInfo we know, -2 a known
 * algorithm with a digest of the wrong length).
 */
#include <string.h>

#include "check.h"
#include "digest.h"

/* RFC 8017 s9.2 Note 1: the DER of DigestInfo up to the digest. */
static const unsigned char P256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const unsigned char P384[] = {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30};
static const unsigned char P512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                     0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static const struct {
    enum dg_alg alg;
    const unsigned char *prefix;
    size_t plen, dlen;
} V[] = {
    {DG_SHA256, P256, sizeof P256, 32},
    {DG_SHA384, P384, sizeof P384, 48},
    {DG_SHA512, P512, sizeof P512, 64},
};

/* prefix || digest, the digest 0x01 0x02 ... so an off-by-one pointer shows. */
static size_t build(unsigned char *out, const unsigned char *prefix, size_t plen, size_t dlen)
{
    memcpy(out, prefix, plen);
    for (size_t i = 0; i < dlen; i++)
        out[plen + i] = (unsigned char)(i + 1);
    return plen + dlen;
}

/* The parser's answer, its outputs preset to values it must overwrite (or keep, on -1). */
struct parsed {
    int rc;
    enum dg_alg alg;
    const unsigned char *digest;
    size_t dlen;
};

static struct parsed parse(const unsigned char *der, size_t len)
{
    static const unsigned char sentinel[1];
    struct parsed p = {.alg = (enum dg_alg)77, .digest = sentinel, .dlen = 999};

    p.rc = dg_digestinfo_parse(der, len, &p.alg, &p.digest, &p.dlen);
    if (p.rc != 0) /* nothing pointing anywhere on a refusal */
        CHECK(p.digest == sentinel && p.dlen == 999);
    if (p.rc == -1)
        CHECK_EQ_INT(p.alg, 77);
    return p;
}

static void each_algorithm(void)
{
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        unsigned char der[128], out[DG_DIGESTINFO_MAX];
        size_t n = build(der, V[i].prefix, V[i].plen, V[i].dlen);
        struct parsed p;

        /* Writing: the RFC's bytes exactly. */
        CHECK_EQ_INT(dg_digestinfo(V[i].alg, der + V[i].plen, V[i].dlen, out, sizeof out), n);
        CHECK_MEM(out, der, n);

        /* Reading it back: the algorithm, and the digest where it is, not a copy. */
        p = parse(der, n);
        CHECK_EQ_INT(p.rc, 0);
        CHECK_EQ_INT(p.alg, V[i].alg);
        CHECK(p.digest == der + V[i].plen);
        CHECK_EQ_INT(p.dlen, V[i].dlen);

        /* Truncated by one octet, cut inside the digest, cut right after the AlgorithmIdentifier. */
        p = parse(der, n - 1);
        CHECK_EQ_INT(p.rc, -2);
        CHECK_EQ_INT(p.alg, V[i].alg);
        CHECK_EQ_INT(parse(der, V[i].plen + 5).rc, -2);
        CHECK_EQ_INT(parse(der, 17).rc, -2); /* 30 L <algid 15>: no digest at all */
        CHECK_EQ_INT(parse(der, 16).rc, -1); /* the AlgorithmIdentifier itself cut short */

        /* An octet after the digest, with and without the lengths adjusted to cover it. */
        der[n] = 0x00;
        CHECK_EQ_INT(parse(der, n + 1).rc, -2);
        der[1]++;
        der[V[i].plen - 1]++;
        p = parse(der, n + 1);
        CHECK_EQ_INT(p.rc, -2); /* a well-formed DigestInfo, but of a 33/49/65-octet "digest" */
        CHECK_EQ_INT(p.alg, V[i].alg);
        der[1]--;
        der[V[i].plen - 1]--;

        /* A digest one octet short, lengths consistent. */
        der[1]--;
        der[V[i].plen - 1]--;
        CHECK_EQ_INT(parse(der, n - 1).rc, -2);
        der[1]++;
        der[V[i].plen - 1]++;

        /* The right length in all, but a header octet wrong: the outer length, the tag or length of the digest. */
        {
            const size_t at[] = {1, V[i].plen - 2, V[i].plen - 1};
            for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
                der[at[k]] ^= 0x01;
                CHECK_EQ_INT(parse(der, n).rc, -2);
                der[at[k]] ^= 0x01;
            }
        }

        /* Still good after the edits (the test restored what it changed). */
        CHECK_EQ_INT(parse(der, n).rc, 0);
    }
}

static void not_a_known_digestinfo(void)
{
    unsigned char der[128];
    size_t n;

    /* Empty, one octet, not a SEQUENCE. */
    CHECK_EQ_INT(parse((const unsigned char *)"", 0).rc, -1);
    CHECK_EQ_INT(parse((const unsigned char *)"\x30", 1).rc, -1);
    n = build(der, P256, sizeof P256, 32);
    der[0] = 0x31;
    CHECK_EQ_INT(parse(der, n).rc, -1);

    /* SHA-1's OID (1.3.14.3.2.26) with a 20-octet digest: a DigestInfo, of an algorithm we do not take. */
    {
        static const unsigned char sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                             0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
        n = build(der, sha1, sizeof sha1, 20);
        CHECK_EQ_INT(parse(der, n).rc, -1);
    }
    /* SHA-224 (2.16.840.1.101.3.4.2.4): one arc away from ours. */
    n = build(der, P256, sizeof P256, 28);
    der[1] = 0x2d;
    der[14] = 0x04;
    der[18] = 0x1c;
    CHECK_EQ_INT(parse(der, n).rc, -1);

    /* SHA-256 with the parameters absent (RFC 4055 allows it elsewhere; PKCS#1 signs the NULL form). */
    {
        static const unsigned char noparams[] = {0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
                                                 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20};
        n = build(der, noparams, sizeof noparams, 32);
        CHECK_EQ_INT(parse(der, n).rc, -1);
    }
    /* A bare digest (what the JSON API takes) is not a DigestInfo. */
    n = build(der, (const unsigned char *)"", 0, 32);
    CHECK_EQ_INT(parse(der, n).rc, -1);

    /* An outer length in long form (not DER for 49 octets) with a known AlgorithmIdentifier: a length error. */
    {
        unsigned char lf[128];
        lf[0] = 0x30;
        lf[1] = 0x81;
        lf[2] = 0x31;
        n = 3 + build(lf + 3, P256 + 2, sizeof P256 - 2, 32);
        CHECK_EQ_INT(parse(lf, n).rc, -2);
        lf[1] = 0x85; /* a length of 5 octets: not something we read */
        CHECK_EQ_INT(parse(lf, n).rc, -1);
    }
}

int main(void)
{
    each_algorithm();
    not_a_known_digestinfo();
    return check_report("test_digest");
}
