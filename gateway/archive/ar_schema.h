/*
 * ar_schema.h - the archive's schema migrations (gateway/archive/sql/NNNN_*.sql,
 * embedded at build time by embed_sql.cmake), applied in order at start.
 */
#ifndef SIMPKI_AR_SCHEMA_H
#define SIMPKI_AR_SCHEMA_H

struct ar_migration {
    int version;      /* the file name's number */
    const char *name; /* the file name */
    const char *sql;  /* its text */
};

extern const struct ar_migration ar_migrations[]; /* in version order */
extern const unsigned ar_n_migrations;

#endif /* SIMPKI_AR_SCHEMA_H */
