/*
 * ar_evidence.h - the evidence bundle of one archived signature
 * (GET /v1/signatures/{id}/evidence; the format is docs/evidence.md): one
 * JSON document a person verifies offline with openssl alone
 * (docs/evidence/verify-evidence.sh): the signature event as archived (its
 * exact bytes), the signature over the digest, the certificate and its path
 * to the trust anchor, the OCSP response, the event's link in its chain, the
 * body hashes of every row after it up to the first anchored head, and that
 * anchor's RFC 3161 token.
 *
 * One query to PostgreSQL (ar_pg.h), on the event loop.  Does not include
 * ar_pg.h: the API sees no libpq.
 */
#ifndef SIMPKI_AR_EVIDENCE_H
#define SIMPKI_AR_EVIDENCE_H

#include <stddef.h>

struct ar;

/*
 * The answer: http_status and json, len its text (not NUL-terminated
 * necessarily; it lives only during the call):
 *   200  the bundle ("anchor": null and a "note" when the event's row is
 *        not anchored yet: ask again after archive.anchor_interval_s)
 *   404  {"error": "NOT_FOUND", ...}: not archived (yet), not a signature,
 *        or another relying party's (answered the same: its existence is
 *        not revealed); {"error": "NOT_CONFIGURED", ...} when the archive
 *        is off (a is NULL)
 *   503  {"error": "UNAVAILABLE", ...}: PostgreSQL is down or busy (send
 *        Retry-After)
 *   500  {"error": "INTERNAL_ERROR", ...}: out of memory, or an archived
 *        row that does not parse
 */
typedef void ar_evidence_cb(void *arg, int http_status, const char *json, size_t len);

/*
 * The bundle of transaction txn_id for relying party rp (NULL: an auditor,
 * any relying party's).  a may be NULL (archive off).  cb is called exactly
 * once; it may be called before this returns (archive off, a malformed id,
 * the database down, out of memory).  txn_id and rp are copied.
 */
void ar_evidence_get(struct ar *a, const char *txn_id, const char *rp, ar_evidence_cb *cb, void *arg);

/* The bundle's "version": bumped when a member changes meaning (docs/evidence.md). */
#define AR_EVIDENCE_VERSION 1

#endif /* SIMPKI_AR_EVIDENCE_H */
