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
 * issued certificate's serial, notAfter and PEM) and in one index zset
 * (q_docs.h, spk:{enr}:life): request id -> when its next look is due (ms).  Every
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

/* The rules the engine follows (steps, subject, reasons) and its error enum. */
#include "gw_life_rules.h"

struct event_base;
struct evbuffer;
struct cfg;
struct q;
struct gw_engine;
struct sig_trust;

/*
 * The largest certificate PUTCERT can carry: an SPKA/1 command is at most
 * OTA_MAX_PACKET (1070) octets once secured, which leaves 1025 octets of
 * certificate.  A larger one is kept in the registry only (the gateway
 * verifies against the registry, not the SIM's copy) and the request
 * completes with a warning.
 */
#define GW_LIFE_PUTCERT_MAX 1025

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

#endif /* SIMPKI_GW_LIFE_H */
