/*
 * ar_priv.h - struct ar, for the archive's own modules only (never outside
 * gateway/archive).  The first three members are what the evidence bundles
 * need (ar_access.c hands them out through ar.h's accessors); ar.c starts
 * and stops the rest.
 */
#ifndef SIMPKI_AR_PRIV_H
#define SIMPKI_AR_PRIV_H

#include "ar.h"

struct ar_pg;
struct cfg;
struct sig_trust;
struct ar_archiver;
struct ar_anchor;
struct ar_retention;

struct ar {
    struct ar_pg *pg;        /* the archive's PostgreSQL connection (ar_pg.h) */
    const struct cfg *cfg;   /* the configuration ar_new was given */
    struct sig_trust *trust; /* the signing trust anchors (ar_deps.trust): bundles carry the path */
    struct ar_deps d;
    struct ar_archiver *archiver;   /* the streams into PostgreSQL */
    struct ar_anchor *anchor;       /* RFC 3161 over chain heads; NULL when anchor_interval_s is 0 */
    struct ar_retention *retention; /* drops months past retention_years */
};

#endif /* SIMPKI_AR_PRIV_H */
