/* ar_retention.c - placeholder until the search helper writes it (docs/archive.md). */
typedef int ar_retention_placeholder;
