/* ar_chain.c - placeholder until the anchor helper writes it (docs/archive.md). */
typedef int ar_chain_placeholder;
