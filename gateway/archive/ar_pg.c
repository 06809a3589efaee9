/* ar_pg.c - placeholder until the pg helper writes it (docs/archive.md). */
typedef int ar_pg_placeholder;
