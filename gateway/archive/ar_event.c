/* ar_event.c - placeholder until the archiver helper writes it (docs/archive.md). */
typedef int ar_event_placeholder;
