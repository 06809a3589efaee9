/* ar_anchor.c - placeholder until the anchor helper writes it (docs/archive.md). */
typedef int ar_anchor_placeholder;
