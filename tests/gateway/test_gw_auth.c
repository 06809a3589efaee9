/*
 * test_gw_auth.c - gateway/api/gw_auth.c: Bearer tokens against configured
 * SHA-256 hashes, with a struct cfg built here.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "check.h"
#include "gw_auth.h"

static void set_key(struct cfg_apikey *k, const char *name, const char *token)
{
    unsigned int len = 0;
    snprintf(k->name, sizeof k->name, "%s", name);
    k->rp = k->name; /* the loader's interned name (cfg_reload.c) in a real cfg */
    CHECK(EVP_Digest(token, strlen(token), k->sha256, &len, EVP_sha256(), NULL) == 1);
}

static const char *bearer(const struct cfg *cfg, const char *token)
{
    static char hdr[1024];
    snprintf(hdr, sizeof hdr, "Bearer %s", token);
    return gw_auth_check(cfg, hdr);
}

int main(void)
{
    static struct cfg cfg; /* large; zeroed */
    struct cfg_apikey keys[3];
    char big[601], ok512[513];

    memset(keys, 0, sizeof keys);
    set_key(&keys[0], "eoffice-a", "token-a");
    set_key(&keys[1], "eoffice-b", "token-b");
    cfg.apikeys = keys;
    cfg.n_apikeys = 2;

    CHECK_EQ_STR(gw_auth_check(&cfg, "Bearer token-a"), "eoffice-a");
    CHECK(gw_auth_check(&cfg, "Bearer token-a") == keys[0].rp); /* the interned name */
    /* The second key matches. */
    CHECK_EQ_STR(gw_auth_check(&cfg, "Bearer token-b"), "eoffice-b");
    /* Wrong tokens. */
    CHECK(gw_auth_check(&cfg, "Bearer token-c") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer token-") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer token-ab") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer TOKEN-A") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer token-a ") == NULL); /* the token is exact */
    CHECK(gw_auth_check(&cfg, "Bearer token-a\n") == NULL);
    /* Malformed headers. */
    CHECK(gw_auth_check(&cfg, NULL) == NULL);
    CHECK(gw_auth_check(&cfg, "") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer ") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer    ") == NULL);
    CHECK(gw_auth_check(&cfg, "token-a") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearertoken-a") == NULL);
    CHECK(gw_auth_check(&cfg, "Bearer\ttoken-a") == NULL);
    CHECK(gw_auth_check(&cfg, " Bearer token-a") == NULL);
    CHECK(gw_auth_check(&cfg, "Basic dG9rZW4tYQ==") == NULL);
    CHECK(gw_auth_check(&cfg, "Basic token-a") == NULL);
    /* The scheme is case-insensitive (RFC 9110 section 11.1). */
    CHECK_EQ_STR(gw_auth_check(&cfg, "bearer token-a"), "eoffice-a");
    CHECK_EQ_STR(gw_auth_check(&cfg, "BEARER token-b"), "eoffice-b");
    /* Extra spaces between scheme and token are tolerated. */
    CHECK_EQ_STR(gw_auth_check(&cfg, "Bearer    token-a"), "eoffice-a");

    /* Very long tokens are refused before hashing, even one that is configured. */
    memset(big, 'x', 600);
    big[600] = '\0';
    set_key(&keys[2], "long", big);
    cfg.n_apikeys = 3;
    CHECK(bearer(&cfg, big) == NULL);
    memset(ok512, 'y', 512);
    ok512[512] = '\0';
    set_key(&keys[2], "long", ok512);
    CHECK_EQ_STR(bearer(&cfg, ok512), "long");
    CHECK_EQ_STR(gw_auth_check(&cfg, "Bearer token-a"), "eoffice-a");

    /* No keys configured: nothing authenticates. */
    cfg.n_apikeys = 0;
    CHECK(gw_auth_check(&cfg, "Bearer token-a") == NULL);
    cfg.apikeys = NULL;
    CHECK(gw_auth_check(&cfg, "Bearer token-a") == NULL);
    return check_report("test_gw_auth");
}
