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
 * string belongs to cfg.
 */
const char *gw_auth_check(const struct cfg *cfg, const char *authorization);

#endif /* SIMPKI_GW_AUTH_H */
