/* ar_archiver.c - placeholder until the archiver helper writes it (docs/archive.md). */
typedef int ar_archiver_placeholder;
