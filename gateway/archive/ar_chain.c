/* ar_chain.c - the archive's hash chain (ar_chain.h). */
#include "ar_chain.h"

#include <openssl/evp.h>
#include <string.h>

static const char genesis_prefix[] = "simpki-archive:";

int ar_chain_genesis(const char *chain, uint8_t out[AR_HASH_LEN])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, genesis_prefix, sizeof(genesis_prefix) - 1) == 1 &&
             EVP_DigestUpdate(md, chain, strlen(chain)) == 1 && EVP_DigestFinal_ex(md, out, &n) == 1 &&
             n == AR_HASH_LEN;

    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int ar_chain_row_hash(const uint8_t prev[AR_HASH_LEN], int64_t seq, const uint8_t *body, size_t len,
                      uint8_t out[AR_HASH_LEN])
{
    static const uint8_t nothing[1];
    uint8_t be[8], inner[AR_HASH_LEN];
    uint64_t s = (uint64_t)seq;
    unsigned int n = 0;
    EVP_MD_CTX *md;
    int ok;

    for (int i = 7; i >= 0; i--) {
        be[i] = (uint8_t)(s & 0xff);
        s >>= 8;
    }
    if (EVP_Digest(body ? body : nothing, len, inner, &n, EVP_sha256(), NULL) != 1 || n != AR_HASH_LEN)
        return -1;
    md = EVP_MD_CTX_new();
    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(md, prev, AR_HASH_LEN) == 1 &&
         EVP_DigestUpdate(md, be, sizeof(be)) == 1 && EVP_DigestUpdate(md, inner, sizeof(inner)) == 1 &&
         EVP_DigestFinal_ex(md, out, &n) == 1 && n == AR_HASH_LEN;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}
