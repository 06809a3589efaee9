/* ar_evidence.c - placeholder until the evidence helper writes it (docs/archive.md). */
typedef int ar_evidence_placeholder;
