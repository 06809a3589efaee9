/*
 * ar_priv.h - struct ar, for the archive's own modules only (never outside
 * gateway/archive).  The first three members are what the evidence bundles
 * need (ar_access.c hands them out through ar.h's accessors); the archiver
 * helper's ar.c owns the struct and every member after them.
 */
#ifndef SIMPKI_AR_PRIV_H
#define SIMPKI_AR_PRIV_H

struct ar_pg;
struct cfg;
struct sig_trust;

struct ar {
    struct ar_pg *pg;        /* the archive's PostgreSQL connection (ar_pg.h) */
    const struct cfg *cfg;   /* the configuration ar_new was given */
    struct sig_trust *trust; /* the signing trust anchors (ar_deps.trust): bundles carry the path */
    /* ... the rest belongs to ar.c (the archiver helper): keep the three above first. */
};

#endif /* SIMPKI_AR_PRIV_H */
