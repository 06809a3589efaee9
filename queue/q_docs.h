/*
 * q_docs.h - certificate requests in Redis: the request documents, their
 * index, and the lifecycle engine's index of the requests it drives.
 *
 * A request document is a JSON object stored as one string.  It is opaque to
 * the queue except for what the scripts read: "rev" (an integer, the
 * compare-and-set revision), "state", and "request"'s "unit" and "form" (the
 * list filters).  Keys (all in one hash tag: enrolment is low-rate, lists
 * read every request, and a transition writes a document and an index in one
 * script):
 *
 *   spk:{enr}:req:<id>   string  the request document
 *   spk:{enr}:reqs       zset    id -> filing time (ms), every request
 *   spk:{enr}:life       zset    id -> when the lifecycle engine (gw_life.h)
 *                                looks at the request next (ms); only the
 *                                requests it drives
 *
 * An id is 1..Q_DOC_ID_MAX - 1 characters of [0-9a-z] (the gateway's are
 * "r" + 20 hex); another one is Q_ERR_INVALID.
 *
 * The rules of q.h hold: every call is asynchronous on the q's event loop,
 * its callback runs exactly once and never inside the call (but for
 * Q_ERR_NOMEM when not even the call could be allocated), Q_ERR_AGAIN when
 * Redis is away.  Strings handed to a callback live only during it: copy
 * what you keep.  Every call is one round trip.
 */
#ifndef SIMPKI_Q_DOCS_H
#define SIMPKI_Q_DOCS_H

#include <stddef.h>
#include <stdint.h>

#include "q.h"

#define Q_DOC_ID_MAX 32 /* with the NUL */

/* One stored document: text is NUL-terminated, len octets without the NUL. */
struct q_doc {
    const char *text;
    size_t len;
};

/* The end of a write: Q_OK, or why not (see each call). */
typedef void q_doc_done_cb(void *arg, enum q_err err);

/* ---- the documents (gw_enrol.c) --------------------------------------- */

/*
 * Store a new document under id and file it in the index at filed_ms, both
 * or neither.  Q_ERR_CONFLICT when the id is taken (nothing written).
 */
void q_doc_create(struct q *q, const char *id, const char *text, size_t len, int64_t filed_ms, q_doc_done_cb *cb,
                  void *arg);

/* Read a document.  Q_ERR_NOT_FOUND when there is none; doc lives only during the callback. */
typedef void q_doc_get_cb(void *arg, enum q_err err, const struct q_doc *doc);
void q_doc_get(struct q *q, const char *id, q_doc_get_cb *cb, void *arg);

/*
 * Replace the document if its stored "rev" is still expect_rev (the state
 * machine lives in the caller, the atomicity here).  With life_due_ms > 0
 * the request is handed to the lifecycle engine in the same step: filed in
 * its index, due then.  Q_ERR_NOT_FOUND when the document is gone,
 * Q_ERR_CONFLICT when someone wrote another revision first (nothing
 * written).
 */
void q_doc_cas(struct q *q, const char *id, int64_t expect_rev, const char *text, size_t len, int64_t life_due_ms,
               q_doc_done_cb *cb, void *arg);

/* Which documents q_doc_list() returns. */
struct q_doc_filter {
    const char *unit;  /* request.unit equals this; NULL or "" = any */
    const char *state; /* state equals this; NULL or "" = any */
    const char *form;  /* request.form equals this; NULL or "" = any */
    uint64_t offset;   /* skip this many matches */
    uint64_t limit;    /* at most this many documents; 0 = all */
};

/*
 * The documents that match f, newest filing first (a whole scan of the
 * index, in one script: fine for the low thousands).  matched counts every
 * match, also those skipped or past the limit.  docs (n of them) and their
 * text live only during the callback.
 */
typedef void q_doc_list_cb(void *arg, enum q_err err, uint64_t matched, const struct q_doc *docs, size_t n);
void q_doc_list(struct q *q, const struct q_doc_filter *f, q_doc_list_cb *cb, void *arg);

/* ---- the lifecycle engine's index (gw_life.c) ------------------------- */

/*
 * Claim up to `limit` requests due by now_ms: each is moved to until_ms in
 * the engine's index (the lease: another instance takes it only after
 * that), and its document returned.  Ids whose document is gone leave the
 * index.  docs live only during the callback.
 */
typedef void q_life_claim_cb(void *arg, enum q_err err, const struct q_doc *docs, size_t n);
void q_life_claim(struct q *q, int64_t now_ms, int64_t until_ms, unsigned limit, q_life_claim_cb *cb, void *arg);

/*
 * q_doc_cas for the engine: replace the document if its "rev" is still
 * expect_rev, and set its next look to due_ms, or with due_ms 0 take it out
 * of the engine's index (it is finished).  Q_ERR_NOT_FOUND when the document
 * is gone (it leaves the index too), Q_ERR_CONFLICT when it changed
 * meanwhile (an operator aborted it).
 */
void q_life_save(struct q *q, const char *id, int64_t expect_rev, const char *text, size_t len, int64_t due_ms,
                 q_doc_done_cb *cb, void *arg);

/*
 * Look at the request again at due_ms, writing nothing else; a request that
 * left the index meanwhile stays out.  cb may be NULL.
 */
void q_life_wait(struct q *q, const char *id, int64_t due_ms, q_doc_done_cb *cb, void *arg);

/* Take the request out of the engine's index (not ours any more).  cb may be NULL. */
void q_life_drop(struct q *q, const char *id, q_doc_done_cb *cb, void *arg);

#endif /* SIMPKI_Q_DOCS_H */
