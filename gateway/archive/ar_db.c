/* ar_db.c - placeholder until the pg helper writes it (docs/archive.md). */
typedef int ar_db_placeholder;
