/* ar_schema.c - placeholder until the pg helper writes it (docs/archive.md). */
typedef int ar_schema_placeholder;
