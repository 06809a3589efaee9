/* digest.c - see digest.h. */
#include "digest.h"

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
