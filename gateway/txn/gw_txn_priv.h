/*
 * gw_txn_priv.h - what the transaction engine's modules share; nothing
 * outside gateway/txn includes it.
 *
 *   gw_txn.c          the engine's life, starting a transaction, recording
 *                     its outcome (gwt_finish), the deadline sweep
 *   gw_txn_links.c    carrier links: the pool, routing by network, parking,
 *                     the in-flight set, batched sent marks
 *   gw_txn_answer.c   answers: lookup, correlation, the outcome table, the
 *                     OTA counter resync
 *   gw_txn_verify.c   a signature's checks after the answer: binding, CMS,
 *                     revocation, timestamp
 *   gw_txn_metrics.c  the engine's Prometheus text
 *   gw_txn_fetch.c    a number the registry lacks, looked up once at its
 *                     signature service (car_ops.lookup)
 *
 * One transaction, as the engine sees it (its state is Redis's, q.h):
 *
 *   gw_txn_start -> q_txn_create -> gwt_submit -> link -> gwt_on_sent
 *   link -> gwt_on_mo -> q_por_lookup -> decode, correlate -> outcome table
 *        -> OK: gwt_verify_signed -> binding -> [CMS] -> revocation -> [TSA]
 *        -> gwt_finish -> q_txn_finish (publish) -> waiters
 *   sweep -> expire / resubmit -> gwt_submit
 *
 * Where each event leads is one table (gw_txn_fsm.h), asked at every one of
 * these decisions.
 */
#ifndef SIMPKI_GW_TXN_PRIV_H
#define SIMPKI_GW_TXN_PRIV_H

#include <event2/util.h>
#include <stddef.h>
#include <stdint.h>

#include "car.h"
#include "cfg.h"
#include "gw_idtab.h"
#include "gw_metrics.h"
#include "gw_txn.h"
#include "gw_txn_fsm.h"
#include "q.h"
#include "sig.h"

struct sig_revoc;
struct sig_vcache;
struct sig_tsa;
struct hc_client;
struct event;

#define MAX_LINKS        (CFG_MAX_CARRIERS * CFG_MAX_LINKS)
#define INFLIGHT_BUCKETS 4096 /* chains of the in-flight table */
#define SHARD_SLOTS      256  /* an id's first two hex digits */

/*
 * Commands an SMSC accepted, not yet marked sent in Redis: one batch per
 * shard, flushed (q_txn_sent_many) when full or SENT_FLUSH_MS after the first
 * mark, dropped when the transaction finishes first (finish clears the outbox
 * itself).  A batch lost with the instance only means a resubmission after
 * the lease, with the same counter, as before.
 */
struct sent_batch {
    size_t n;
    char ids[Q_SENT_MANY_MAX][Q_ID_LEN];
    int64_t ms[Q_SENT_MANY_MAX]; /* when each was accepted: a finish that cancels a mark carries it */
};

struct link_slot {
    struct car_link *link;
    const struct cfg_carrier *carrier; /* its route says which networks it serves */
    unsigned priority;                 /* cfg_link.priority: lower first */
    int up;
    struct gw_hist rtt; /* car_events.round_trip: submit_sm -> resp (SMPP), an HTTP exchange (etsi204) */
};

/*
 * A command handed to a link, until the link says what became of it; or one
 * no link could take yet ("parked"), kept with a copy of the request so it
 * goes out as soon as a link is bound instead of a lease later.
 */
struct submit_ctx {
    struct gw_engine *e;
    struct gw_idtab_node node;      /* in e->inflight, by id */
    struct submit_ctx *next_parked; /* parked list, when parked */
    enum gwt_state st;              /* PARKED, SUBMITTED, or FINISHED before the link's report */
    int net;
    struct car_link *link;         /* the link it was last given to */
    struct car_link *avoid;        /* a link that refused it for now (CAR_ERR_AGAIN): try the others first */
    unsigned refused;              /* links that cannot serve it at all (CAR_ERR_NOT_FOUND) */
    char far_link[Q_FAR_LINK_LEN]; /* the link whose far end holds it (q_txn.far_link): only that one */
    char id[Q_ID_LEN];
    uint64_t cntr;
    int64_t deadline_ms;
    struct car_request req; /* pointers below point into this struct */
    uint8_t digest[64];
    char text[]; /* display text, NUL, then a PUTCERT's certificate */
};

/*
 * The pin of a certificate, remembered by the SHA-256 of its DER: taking a
 * pin parses the certificate, which cost more than the rest of the answer's
 * checks together (benchmark profile).  Direct-mapped; a collision just
 * recomputes.
 */
#define PIN_MEMO_SLOTS 1024
struct pin_memo {
    int used;
    uint8_t der_sha256[32];
    struct sig_pin pin;
};

struct gw_engine {
    struct gw_engine_deps d;
    struct car_events ev;
    struct link_slot links[MAX_LINKS];
    size_t n_links;
    unsigned rr; /* round robin over a network's links */
    struct event *sweep_ev;
    struct event *parked_ev;
    int sweeping;
    struct gw_idtab *inflight; /* submit_ctx by id: commands held here (parked or with a link) */
    struct submit_ctx *parked;
    size_t n_parked;
    struct event *sent_ev;
    struct sent_batch sent[SHARD_SLOTS];
    struct sig_revoc *revoc;                           /* NULL when revocation_check is off */
    struct sig_vcache *vc;                             /* verification verdicts, shared with revoc */
    struct pin_memo pins[PIN_MEMO_SLOTS];              /* certificate DER SHA-256 -> its pin */
    struct sig_tsa *tsa;                               /* NULL when no tsa_url: CMS stays CAdES-B-B */
    struct hc_client *http;                            /* timestamp requests */
    uint64_t tsa_ok, tsa_failed;                       /* timestamps embedded / TIMESTAMP_FAILED */
    uint64_t cert_mismatch;                            /* signatures refused by the binding check */
    uint64_t revoc_good, revoc_revoked, revoc_unknown; /* revocation outcomes (unknown: hard-fail) */
    struct gw_hist verify_lat;                         /* gwt_verify_signed's own time */
    int closing;                                       /* in gw_engine_free: Redis is gone, record nothing */
    struct gw_txn_watch watch;                         /* long polls held in this process; all NULL if none */
};

/* ---- gw_txn.c --------------------------------------------------------- */

/*
 * Who carried a transaction's answer, for the evidence archive (the txn's
 * `transport` and `link`, q_finish): car_ops.name and the link's name, ""
 * when not known.  Copied into whatever waits (revocation, timestamp).
 */
struct gwt_via {
    char transport[Q_FAR_LINK_LEN];
    char link[Q_FAR_LINK_LEN];
};
/* The link's transport and name. */
void gwt_via_link(const struct car_link *l, struct gwt_via *out);
/*
 * An answer a transport correlated by id (car_events.answer does not say
 * which link): the link that holds it at the far end (q_txn.far_link), else
 * the carrier of its network, named in `link` with its links' transport.
 */
void gwt_via_txn(const struct gw_engine *e, const struct q_txn *txn, struct gwt_via *out);

/*
 * Record a final outcome (q_txn_finish if still pending at cntr), hand it to
 * a long poll waiting here, count it.  f is filled in here (time, retention,
 * want_txn, transport and link from via: NULL when no answer carried it) and
 * may be a compound literal; a failure never stores a pin.
 */
void gwt_finish(struct gw_engine *e, const char *id, uint64_t cntr, struct q_finish *f, const struct gwt_via *via);
/* A failure without a signature: result, ETSI status, detail (may be NULL); via as for gwt_finish. */
void gwt_fail(struct gw_engine *e, const char *id, uint64_t cntr, const char *result, const char *detail,
              const struct gwt_via *via);

/* ---- gw_txn_links.c --------------------------------------------------- */

int gwt_links_open(struct gw_engine *e);   /* every configured link, through the transport table */
void gwt_links_close(struct gw_engine *e); /* and drops the in-flight set */
/* Hand a stored pending transaction to a link, unless this instance already has it in flight. */
void gwt_submit(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub);
/* The network a transaction goes to: the registry's (a ported number), else the one routed at create. */
int gwt_effective_net(const struct q_txn *txn, const struct q_sub *sub);
/* The transaction is finishing (GWT_EV_FINISH): its finish drops it from the outbox, no sent mark
 * needed, and a command still held here is never sent again nor reported. */
int64_t gwt_sent_cancel(struct gw_engine *e, const char *id);
void gwt_sent_flush_cb(evutil_socket_t fd, short what, void *arg);
void gwt_parked_cb(evutil_socket_t fd, short what, void *arg);
/* car_events */
void gwt_on_sent(void *arg, void *handle, enum car_err status, const char *detail, int resent, const char *far_ref);
void gwt_on_state(void *arg, struct car_link *link, int up);
void gwt_on_round_trip(void *arg, struct car_link *link, double seconds);

/* ---- gw_txn_answer.c -------------------------------------------------- */

void gwt_on_mo(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len);
/* car_events.answer: an answer the transport correlated by transaction id (two reads: the txn, then its subscriber). */
void gwt_on_answer(void *arg, const char *txn_id, const struct car_reply *r);

/* ---- gw_txn_verify.c -------------------------------------------------- */

int gwt_verify_open(struct gw_engine *e); /* verification cache, revocation checker, TSA client */
void gwt_verify_close(struct gw_engine *e);
/* An OK answer with a signature (r), carried by via: check it against the subscriber's certificate and finish. */
void gwt_verify_signed(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub, const struct car_reply *r,
                       const struct gwt_via *via);

/* ---- gw_txn_fetch.c --------------------------------------------------- */

/* How long a signature service's "no such subscriber" is remembered (shared in Redis by every instance). */
#define GWT_LOOKUP_MISS_S 300u

/* GW_OK: the number is in the registry now (create again); GW_ERR_UNKNOWN_SUB otherwise, whatever the reason. */
typedef void gwt_fetch_cb(void *arg, enum gw_err err);
/* 1 when a link of net's carriers can look a subscriber up. */
int gwt_fetch_can(const struct gw_engine *e, int net);
/*
 * Look msisdn (normalised, of network net) up once: a remembered miss, else
 * a lookup link, the import's certificate check, the registry write.  0
 * when started (cb follows, from the loop, exactly once); -1 when no link
 * can look up (cb never called).
 */
int gwt_fetch(struct gw_engine *e, const char *msisdn, int net, gwt_fetch_cb *cb, void *arg);

#endif /* SIMPKI_GW_TXN_PRIV_H */
