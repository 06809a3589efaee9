/* ar.c - placeholder until the archiver helper writes it (docs/archive.md). */
typedef int ar_placeholder;
