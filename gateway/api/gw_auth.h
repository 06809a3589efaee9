/*
 * gw_auth.h - relying parties (e-office systems) authenticate with
 * `Authorization: Bearer <token>`.  Only SHA-256 hashes of tokens are
 * configured; a presented token is hashed and compared in constant time
 * against every configured hash, so neither the match nor its position leaks
 * through timing.
 */
#ifndef SIMPKI_GW_AUTH_H
#define SIMPKI_GW_AUTH_H

#include <stddef.h>

struct cfg;

/*
 * The relying party's name for an Authorization header value, or NULL when
 * the header is missing, malformed or the token unknown.  The returned
 * string is the key's interned name (cfg_apikey.rp): it stays valid for the
 * life of cfg, across reloads, so asynchronous work may keep it.
 */
const char *gw_auth_check(const struct cfg *cfg, const char *authorization);

/* The CFG_ROLE_* bits of the key named rp (as returned above); 0 when unknown. */
unsigned gw_auth_roles(const struct cfg *cfg, const char *rp);

#endif /* SIMPKI_GW_AUTH_H */
