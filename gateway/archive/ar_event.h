/*
 * ar_event.h - one stream entry (q_ev.h) made into one archive row: the
 * canonical JSON body docs/archive.md "Event bodies" defines, and the copies
 * of its fields archive_events keeps for search.
 *
 * The body is the exact octets the chain hashes: jansson, JSON_COMPACT |
 * JSON_SORT_KEYS, UTF-8; binary as standard base64, hashes as lowercase hex,
 * times as RFC 3339 UTC with milliseconds ("2026-12-06T09:27:05.123Z") and
 * the event's time also as at_ms.  A value that is absent or empty in the
 * entry is left out of the body, never null.
 *
 * What comes from the entry (the Lua scripts write it, docs/archive.md):
 *
 *   signature  every field of the txn hash (q.h): digest, doc_digest,
 *              signature, cert and ocsp as raw octets; digest_alg, format
 *              and op as their numbers (written digest_alg "SHA-256",
 *              format "raw"|"cms", op "sign"|"genkey"|"csr"|"putcert" in
 *              the body, op "sign" when absent); created_ms, deadline_ms,
 *              finished_ms, sent_ms, receipt_ms into "times"; signing_time
 *              in seconds.  cert goes to archive_certs: the body names it by
 *              cert_sha256, with cert_serial read from its DER.
 *   receipt    id, rp, receipt (-> "message").
 *   request    id, rev, doc: the request document (gw_enrol.h) as a JSON
 *              object under "document"; "state" is its state, "form" its
 *              request.form, "msisdn" its request.subscriber.phone in the
 *              international form the transactions use (0912345678 ->
 *              84912345678), "cert_serial" the issued certificate's
 *              (result.serial, set by the CA exchange) or else the one the
 *              request names (request.certificate.serial), uppercase.
 *
 * A malformed entry -- eid, kind or at missing or unreadable, an unknown
 * type, a field that does not parse (a number that is not one, text that is
 * not UTF-8, a doc that is not a JSON object) -- is still archived, so that
 * the stream never blocks on it and nothing is lost: etype "malformed",
 * event_id "malformed:<stream>:<entry id>" (unique: stream entry ids are),
 * kind from the stream (spk:{enr}:ev is "cert", the others "sign"), at from
 * the entry's "at" or else from its entry id's milliseconds, and the body
 * {"at", "at_ms", "entry", "event_id", "fields": [[name, value]...] (both
 * base64, in the entry's order), "kind", "stream", "type": "malformed",
 * "why"}.
 */
#ifndef SIMPKI_AR_EVENT_H
#define SIMPKI_AR_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "q_ev.h"

/* One archive row.  Every pointer is malloc'd and owned by the row (ar_row_clear frees); NULL = SQL NULL. */
struct ar_row {
    const char *kind; /* "sign" | "cert" (static) */
    int64_t at_ms;
    char *event_id;
    char *etype; /* "signature", "receipt", "request" or "malformed" */
    char *txn_id;
    char *msisdn; /* in full: never log it */
    char *rp;
    char *cert_serial; /* uppercase hex */
    int has_cert;      /* cert_sha256 and cert_der are set */
    uint8_t cert_sha256[32];
    uint8_t *cert_der;
    size_t cert_len;
    char *body; /* the canonical JSON, NUL-terminated; body_len octets without the NUL */
    size_t body_len;
};

enum ar_ev_rc {
    AR_EV_OK = 0,
    AR_EV_MALFORMED = 1, /* the row is the "malformed" event; why says what was wrong (no personal data) */
    AR_EV_NOMEM = -1,    /* nothing built, row cleared */
};

/* Build row (overwritten; clear it after) from ev.  why (may be NULL) is set on AR_EV_MALFORMED. */
enum ar_ev_rc ar_event_build(const struct q_event *ev, struct ar_row *row, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* Free what row holds and zero it.  NULL: nothing. */
void ar_row_clear(struct ar_row *row);

/*
 * The row as one element of archive_ingest's "events" (sql/0001_archive.sql):
 * {"kind", "at_ms", "event_id", "etype", "body" (base64), "txn_id",
 * "msisdn", "rp", "cert_serial", "cert_sha256" (hex)}, NULLs left out.  A
 * new reference, NULL on no memory.
 */
json_t *ar_row_json(const struct ar_row *row);

/* {"sha256": hex, "der": base64} for archive_ingest's "certs", or NULL (no cert, no memory). */
json_t *ar_row_cert_json(const struct ar_row *row);

/* ms since the epoch as "2026-12-06T09:27:05.123Z" into out; -1 when the year is out of 0..9999. */
int ar_time_ms(int64_t ms, char out[32]);

#endif /* SIMPKI_AR_EVENT_H */
