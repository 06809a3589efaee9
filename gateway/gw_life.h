/*
 * gw_life.h - the lifecycle engine: drives a confirmed certificate request
 * (gw_enrol.h) through the SIM and the CA, step by step, across gateway
 * instances and restarts.
 *
 * Which requests: person_new (Mẫu 01), org_new (Mẫu 03), change (Mẫu 07) and
 * revoke (Mẫu 09), when the configuration has a "ca" section.  The handover
 * record (Mẫu 14) stays manual.  The confirming transition hands the request
 * over (gw_enrol.c writes "progress" and puts it in the index below, in the
 * same compare-and-set); from then on the engine owns the states:
 *
 *   new, /cs, change:  confirmed -> sent_to_ca -> issued -> installed -> done
 *   revoke:            confirmed -> sent_to_ca -> done
 *   any step:          -> failed, with the reason as the history note (by "simpki")
 *
 * Steps (progress.step), each one idempotent so that a crash anywhere only
 * repeats the step it was in:
 *
 *   read      read the registry entry; refuse what cannot go on (a plain
 *             new request for a number with an active certificate, a change
 *             or revocation naming another certificate than the registered
 *             one); remember the old ICCID and certificate to retire
 *   register  new SIM: registry entry = new ICCID, kv, status "enrolling"
 *   genkey    Q_OP_GENKEY on the SIM; keep the SubjectPublicKeyInfo
 *   csr       sig_csr_prepare, Q_OP_CSR (the SIM signs the digest),
 *             sig_csr_finish checks it against the key  -> sent_to_ca
 *   cmp       sig_cmp_enrol, or sig_cmp_renew naming the old certificate,
 *             on the worker thread                      -> issued
 *   retire    sig_cmp_revoke(old, superseded) for /cs and change
 *   putcert   Q_OP_PUTCERT                              -> installed
 *   activate  registry: cert, ICCID, status "active", repin  -> done
 *   revoke    sig_cmp_revoke(registered, reason)       (revoke form)
 *   deactivate registry: status "revoked"               -> done
 *
 * A SIM step creates its transaction with gw_txn_start_sim() and
 * Idempotency-Key "<request id>:<step>:<attempt>", so a resumed step finds
 * the same transaction; later looks read it with q_txn_get().
 *
 * Durability.  Everything is in the request document ("progress": step,
 * txn, attempts, spki, csr, cert, old_iccid, old_cert, ...; "result": the
 * issued certificate's serial, notAfter and PEM) and in one index zset,
 * GW_LIFE_KEY_INDEX: request id -> when its next look is due (ms).  Every
 * instance ticks (ca.tick_ms), claims due requests by moving their score
 * lease_s ahead (one script), does one step and writes the document with a
 * compare-and-set on its revision, which also sets the next due time or
 * removes the id when the request is finished.  An operator's abort
 * (failed, rejected) changes the revision, so the engine's write loses and
 * the request is dropped from the index at its next look.
 *
 * Threads: everything runs on the event loop except CMP, which blocks (up to
 * ca.cmp.timeout_s) and runs on one worker thread; its results come back to
 * the loop through a pipe.  gw_life_free() joins the worker (waiting for a
 * call in flight at most that long); an unfinished step stays where it is in
 * Redis and any instance resumes it after the lease.
 */
#ifndef SIMPKI_GW_LIFE_H
#define SIMPKI_GW_LIFE_H

#include <stddef.h>

#include <jansson.h>

#include "sig_cmp.h"
#include "sig_csr.h"

struct event_base;
struct evbuffer;
struct cfg;
struct q;
struct gw_engine;
struct sig_trust;

/* Requests the engine drives, by due time (shares the hash tag of the request keys). */
#define GW_LIFE_KEY_INDEX "spk:{enr}:life"

/*
 * The largest certificate PUTCERT can carry: an SPKA/1 command is at most
 * OTA_MAX_PACKET (1070) octets once secured, which leaves 1025 octets of
 * certificate.  A larger one is kept in the registry only (the gateway
 * verifies against the registry, not the SIM's copy) and the request
 * completes with a warning.
 */
#define GW_LIFE_PUTCERT_MAX 1025

enum gw_life_err {
    GW_LIFE_OK = 0,
    GW_LIFE_ERR_CONFIG = 1,  /* the "ca" section cannot be used (why says which setting) */
    GW_LIFE_ERR_NOMEM = 2,   /* out of memory */
    GW_LIFE_ERR_THREAD = 3,  /* the worker thread or its pipe could not be made */
    GW_LIFE_ERR_INVALID = 4, /* a request or "sim" object the engine cannot take */
};

const char *gw_life_strerror(enum gw_life_err err);

struct gw_life_deps {
    const struct cfg *cfg; /* cfg->ca.enabled must be 1 */
    struct event_base *base;
    struct q *q;
    struct gw_engine *engine;
    const struct sig_trust *trust; /* what issued certificates must chain to */
};

struct gw_life;

/* Build the CMP connector, start the worker and the tick.  why names the setting. */
enum gw_life_err gw_life_new(const struct gw_life_deps *deps, struct gw_life **out, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/*
 * Stop ticking, join the worker (a CMP call in flight is waited for), drop
 * what is in memory; nothing in Redis is touched.  Call after q_free(), so
 * no Redis callback is left.  gw_life_free(NULL) does nothing.
 */
void gw_life_free(struct gw_life *l);

/* --config-check: 0 when the "ca" section loads (files, protection), else -1 and why. */
int gw_life_check_config(const struct cfg *cfg, const struct sig_trust *trust, char *why, size_t whylen);

/* Prometheus series: requests by step outcome, CMP calls, errors and latency. */
void gw_life_render_metrics(const struct gw_life *l, struct evbuffer *out);

/* ---- what gw_enrol asks ---------------------------------------------- */

/* 1 when the engine drives requests of this form ("person_new", ...). */
int gw_life_drives_form(const char *form);

/* 1 when `state` is one only the engine may move a request into. */
int gw_life_engine_state(const char *state);

/*
 * The "progress" object a confirmed request starts with, from the confirming
 * call's "sim" object (may be NULL) and the stored request: {"step": "read",
 * "attempts": 0, "iccid", "kv", "key_alg"} (the last three only with a new
 * SIM).  default_key_alg is CFG_KEY_*.  On GW_LIFE_ERR_INVALID, field and why
 * name what is wrong ("sim.iccid", "subscriber.phone").  A new reference on
 * success, NULL otherwise.
 */
json_t *gw_life_progress_new(const json_t *request, const json_t *sim, int default_key_alg, enum gw_life_err *err,
                             char *field, size_t fieldlen, char *why, size_t whylen);

/* ---- pure helpers, exposed for the unit tests ------------------------ */

/*
 * The RFC 5280 reason code for a revocation request's free-text "reason"
 * (Mẫu 09, Vietnamese or English; an RFC 5280 name like "keyCompromise"
 * is taken as is):
 *
 *   device lost, stolen, PIN or key disclosed   keyCompromise (1)
 *   moved to another body, title/name changed,
 *     moved outside the state sector            affiliationChanged (3)
 *   unit merged, its extra certificates retired,
 *     replaced by a new certificate             superseded (4)
 *   left a leadership post, retired, dissolved  cessationOfOperation (5)
 *   suspended                                   certificateHold (6)
 *   anything else                               unspecified (0)
 *
 * Matching is on lower-cased words, with or without diacritics.
 */
enum sig_cmp_reason gw_life_revoke_reason(const char *text);

/*
 * The certificate subject of a request, per the Government CA profile:
 *   person_new/change: CN = subscriber.full_name, O = subscriber.organisation
 *     (else the unit), ST = subscriber.province (else the place), UID =
 *     CCCD:subscriber.id_number, e-mail = subscriber.email;
 *   org_new: CN = O = organisation.name, ST = organisation.province (else
 *     subscriber.province, else the place), UID = MST:organisation.code
 *     when it is a tax code, e-mail = organisation.email.
 * `fallback` (may be NULL): a DER certificate whose ST, O and UID fill what
 * the request leaves out (a change request names only what changes).  The
 * strings point into `request` or into `buf`, which must outlive *out.
 * 0, or -1 with why naming the missing field (never its value).
 */
struct gw_life_subject_buf {
    char st[256], o[256], uid[64];
};
int gw_life_subject(const json_t *request, const unsigned char *fallback, size_t fallback_len,
                    struct sig_csr_subject *out, struct gw_life_subject_buf *buf, char *why, size_t whylen);

#endif /* SIMPKI_GW_LIFE_H */
