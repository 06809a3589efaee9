/* ar_access.c - ar.h's accessors of struct ar (ar_priv.h), for the modules that only read it. */
#include "ar.h"
#include "ar_priv.h"

struct ar_pg *ar_pg_of(const struct ar *a)
{
    return a ? a->pg : NULL;
}

const struct cfg *ar_cfg_of(const struct ar *a)
{
    return a ? a->cfg : NULL;
}

struct sig_trust *ar_trust_of(const struct ar *a)
{
    return a ? a->trust : NULL;
}
