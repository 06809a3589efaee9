/* gw_auth.c - see gw_auth.h. */
#include "gw_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

#include "cfg.h"

const char *gw_auth_check(const struct cfg *cfg, const char *authorization)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    const char *token, *found = NULL;
    size_t len;

    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return NULL;
    token = authorization + 7;
    while (*token == ' ')
        token++;
    len = strlen(token);
    if (len == 0 || len > 512)
        return NULL;
    if (!EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL))
        return NULL;
    /* Walk all keys, no early exit: the time taken does not depend on which matched. */
    for (size_t i = 0; i < cfg->n_apikeys; i++)
        if (CRYPTO_memcmp(md, cfg->apikeys[i].sha256, sizeof(md)) == 0)
            found = cfg->apikeys[i].rp;
    OPENSSL_cleanse(md, sizeof(md));
    return found;
}

unsigned gw_auth_roles(const struct cfg *cfg, const char *rp)
{
    for (size_t i = 0; rp && i < cfg->n_apikeys; i++)
        if (strcmp(cfg->apikeys[i].name, rp) == 0)
            return cfg->apikeys[i].roles;
    return 0;
}
