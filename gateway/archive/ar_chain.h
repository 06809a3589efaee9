/*
 * ar_chain.h - the archive's hash chain, computed in C (docs/archive.md).
 *
 * Every archived event is one row of a chain ("sign/2026-12": kind and
 * month of the event's time).  PostgreSQL computes the hashes when it
 * appends (archive_genesis, archive_row_hash in sql/0001_archive.sql);
 * verify-archive and the anchoring recompute them here, and the two must
 * agree octet for octet (tests/gateway/test_ar_chain.c checks it against a
 * live server):
 *
 *   genesis(chain)              = SHA-256("simpki-archive:" || chain)
 *   row_hash(prev, seq, body)   = SHA-256(prev || seq, 8 octets big-endian || SHA-256(body))
 *
 * The first row (seq 1) has prev = genesis(chain); each later row's prev is
 * the row before's row_hash; archive_heads holds the last one.
 */
#ifndef SIMPKI_AR_CHAIN_H
#define SIMPKI_AR_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define AR_HASH_LEN 32

/* SHA-256("simpki-archive:" || chain); chain is NUL-terminated UTF-8.  0, or -1 when OpenSSL fails. */
int ar_chain_genesis(const char *chain, uint8_t out[AR_HASH_LEN]) __attribute__((warn_unused_result));

/* SHA-256(prev || be64(seq) || SHA-256(body[0..len))).  body may be NULL when len is 0.  0, or -1. */
int ar_chain_row_hash(const uint8_t prev[AR_HASH_LEN], int64_t seq, const uint8_t *body, size_t len,
                      uint8_t out[AR_HASH_LEN]) __attribute__((warn_unused_result));

#endif /* SIMPKI_AR_CHAIN_H */
