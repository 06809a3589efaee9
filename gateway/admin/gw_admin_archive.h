/*
 * gw_admin_archive.h - simpki-admin verify-archive: the evidence archive
 * (docs/archive.md) checked from the database alone, with nothing trusted
 * but the hash definition (ar_chain.h) and the TSA's roots (tsa_trust).
 *
 * For every chain, rows in seq order through a cursor (memory does not grow
 * with the chain):
 *   - seq runs 1, 2, 3, ... without a gap or a repeat;
 *   - prev_hash is the row before's row_hash (genesis for seq 1);
 *   - row_hash = SHA-256(prev_hash || seq || SHA-256(body)), recomputed;
 *   - event_id, kind, etype, at, txn_id, msisdn, rp, cert_serial,
 *     cert_sha256 equal the body's fields (absent = NULL), and the row's
 *     chain is its kind and month;
 *   - a row naming a certificate names one archive_certs holds;
 *   - the last row is archive_heads' seq and head;
 *   - every anchor's head is the recomputed hash at its seq, its gen_time
 *     the token's, and its token verifies over the head at its own time
 *     (sig_tsa_check_kept_token with tsa_trust; needs tsa_trust when there
 *     are anchors).
 * Then every certificate in archive_certs hashes to its key (without
 * --chain).  The first break of a chain is named: its seq, event id and
 * what is wrong; later rows of that chain are not judged.
 *
 * Output: one line per chain, "chain sign/2026-12: 1234 rows, 5 anchors,
 * ok" or "chain sign/2026-12: BROKEN at seq 17 (event ...): <what>"; with
 * --json one JSON document instead.  Numbers are never printed.
 */
#ifndef SIMPKI_GW_ADMIN_ARCHIVE_H
#define SIMPKI_GW_ADMIN_ARCHIVE_H

#include "gw_admin.h"

struct cfg;

/* argv: [--chain NAME] [--json].  GW_ADMIN_OK when all verifies, FAIL when anything is broken or unreadable. */
enum gw_admin_exit gw_admin_verify_archive(const char *cfg_path, int argc, char **argv);

#endif /* SIMPKI_GW_ADMIN_ARCHIVE_H */
