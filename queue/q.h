/*
 * q.h - pending transactions and the subscriber registry in Redis.
 *
 * Everything a transaction needs to survive a gateway crash is in Redis; a
 * gateway instance holds nothing that another could not pick up.  Every state
 * change is one Lua script (EVALSHA), so it is atomic: two instances can never
 * complete the same transaction twice, and a late answer cannot overwrite an
 * expiry.
 *
 * Key layout (prefix "spk", shard N = fnv1a32(msisdn) % shards, written in
 * hash-tag braces so that one subscriber's keys share a Redis Cluster slot):
 *
 *   spk:{N}:sub:<msisdn>      hash  registry: net, iccid, kv, cert, status,
 *                                   cntr (last OTA counter), busy (pending txn id),
 *                                   pin_serial + pin_spki (the certificate the
 *                                   subscriber has signed with: serial hex,
 *                                   SHA-256 of the SPKI in hex; written by
 *                                   finish), repin ("1": the registry replaced
 *                                   the certificate, the next signature may
 *                                   re-pin; set by q_sync_sub_put), cs ("1": the
 *                                   number in use was moved onto the SIM PKI, a
 *                                   "/cs" SIM; absent otherwise)
 *   spk:{N}:txn:<id>          hash  the transaction; gets a TTL when finished.
 *                                   With a callback also cb_url, cb_kind,
 *                                   cb_ctx (from create), cb_state
 *                                   (pending|delivered|failed, set by finish
 *                                   and q_cb_done), cb_tries, cb_error, cb_at
 *   spk:{N}:due               zset  pending txn id -> deadline (ms)
 *   spk:{N}:outbox            zset  txn id not yet accepted by an SMSC ->
 *                                   time (ms) after which any instance may
 *                                   (re)submit it
 *   spk:{N}:ctr:<iccid>       string the last OTA counter used for this SIM (no
 *                                   TTL, kept when the subscriber is deleted):
 *                                   a counter never goes down for a SIM, so a
 *                                   delete and re-import does not restart it
 *   spk:{N}:cbq               zset  txn id whose callback is owed -> time (ms)
 *                                   it is due (or its claim's lease ends);
 *                                   filled by the scripts that finish a txn
 *                                   with a cb_url, emptied by q_cb_done
 *   spk:{N}:idem:<rp>:<key>   string Idempotency-Key -> txn id, 24 h
 *   spk:{N}:regmiss:<msisdn>  string the number's signature service knows no
 *                                   certificate for it; with a TTL (q_life.h)
 *   spk:once:<rp>:<id>        string an AP_TransID used by relying party rp, whatever
 *                                   the number (q_once.h), 24 h
 *   spk:rate:<rp>             hash  a relying party's rate window, leased in
 *                                   batches by every instance (q_rate.h)
 *   spk:done                  pub/sub channel: ids of finished transactions
 *
 * A transaction id is 26 lowercase hex characters: 2 for the shard, 24
 * random; so a GET finds its key without a lookup.  `shards` is fixed for the
 * life of a deployment (1..256).
 *
 * Round trips on the hot path: create (1), por_lookup (1), finish (1),
 * and sent, batched by the engine (q_txn_sent_many: one call per shard for
 * up to 19 commands, none when the answer came first).
 *
 * All calls are asynchronous on the event loop given to q_new() (hiredis's
 * libevent adapter).  Data handed to a callback lives only during it
 * (hiredis's rule): copy what you keep.  A callback is called exactly once per
 * call, also when Redis is unreachable (Q_ERR_AGAIN) and when q_free() runs
 * with calls outstanding (Q_ERR_AGAIN).  It is never called from inside the
 * q_* call that asked for it (failures are reported from the event loop), so
 * a caller may free its own state in the callback.
 *
 * After Q_ERR_AGAIN from a lost or timed-out connection the command may
 * still have run: create is safe to repeat with the same Idempotency-Key,
 * finish and sent are safe to repeat (Q_ERR_CONFLICT then means it ran).
 *
 * Calls made before the connection (AUTH, SELECT, SCRIPT LOAD) is complete,
 * or while it is down, fail with Q_ERR_AGAIN at once; q_connected() says
 * when it is worth trying.  A connection with calls outstanding and no reply
 * for 3 x connect_timeout_ms (at least 1 s) is dropped and reopened.
 */
#ifndef SIMPKI_Q_H
#define SIMPKI_Q_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct event_base;
struct cfg_redis;

enum q_err {
    Q_OK = 0,
    Q_ERR_AGAIN = 1,     /* Redis unreachable or loading: try again */
    Q_ERR_NOT_FOUND = 2, /* no such subscriber / transaction */
    Q_ERR_BUSY = 3,      /* the subscriber has a pending transaction */
    Q_ERR_CONFLICT = 4,  /* the transaction is no longer pending (or cntr differs) */
    Q_ERR_INACTIVE = 5,  /* the subscriber is not active (suspended, revoked) */
    Q_ERR_PROTO = 6,     /* Redis answered something unexpected */
    Q_ERR_NOMEM = 7,
    Q_ERR_INVALID = 8,       /* bad argument */
    Q_ERR_IDEM_MISMATCH = 9, /* Idempotency-Key reused for a different request */
    Q_ERR_BACKLOG = 10,      /* the archive's stream of the shard is full (q_ev.h): nothing written, try later */
};

const char *q_strerror(enum q_err err);

#define Q_ID_LEN 27 /* 26 hex + NUL */

enum q_state { Q_PENDING = 0, Q_COMPLETED = 1, Q_FAILED = 2 };
const char *q_state_name(enum q_state s); /* "pending", "completed", "failed" */

/*
 * Output format of a transaction.  RAW: the SIM signs the caller's digest and
 * the signature value is returned.  CMS: the SIM signs the digest of CAdES
 * signed attributes built over the caller's digest, and a SignedData is
 * returned.
 */
enum { Q_FORMAT_RAW = 0, Q_FORMAT_CMS = 1 };

/*
 * What a transaction asks of the SIM.  SIGN is the e-office signature (the
 * only op the API creates; its answer is verified against the registered
 * certificate).  The others are the lifecycle engine's (gw_life.h) and their
 * answers are stored as they come, for that engine to check: GENKEY keeps
 * the new key's SubjectPublicKeyInfo in `signature`, CSR (a SIGN of the
 * digest of a certificate request, checked against the key it requests) the
 * raw signature, PUTCERT nothing.  Stored as "op", absent for SIGN so the
 * hot path pays nothing for it.
 */
enum { Q_OP_SIGN = 0, Q_OP_GENKEY = 1, Q_OP_CSR = 2, Q_OP_PUTCERT = 3 };

/* A registry entry.  In callbacks, cert points into the reply. */
struct q_sub {
    char msisdn[16];
    int net; /* enum car_net; 0 = route by prefix */
    char iccid[24];
    uint8_t kv;          /* OTA key version */
    char status[16];     /* "active", "suspended", "revoked" */
    const uint8_t *cert; /* DER of the current signing certificate */
    size_t cert_len;
    /* Serial pinning (sig.h sig_pin): what the subscriber last signed with. */
    int pinned;           /* 1 when pin_serial / pin_spki hold a pin */
    char pin_serial[80];  /* uppercase hex serial */
    uint8_t pin_spki[32]; /* SHA-256 of the SubjectPublicKeyInfo */
    int repin;            /* 1: the registry replaced the certificate; a new pin is allowed once */
    uint64_t cntr;        /* last OTA counter used (q_sync_sub_get: also the ICCID's floor) */
    int cs;               /* 1: the number in use moved onto the SIM PKI (field "cs"; q_sync_sub_put writes it) */
};

#define Q_RECEIPT_MAX  256 /* octets of a receipt's message (q_txn_receipt) */
#define Q_FAR_LINK_LEN 32  /* a link's name (cfg_link.name) */
#define Q_FAR_REF_LEN  64  /* a far end's transaction id */

/*
 * Callbacks: a transaction created with a cb_url is, when it finishes (by
 * q_txn_finish or by the sweep's expiry), put in the shard's callback queue
 * by the same script, so a crash between the finish and the delivery loses
 * nothing.  q_cb_claim leases due entries to one instance; q_cb_done ends
 * an attempt.  The kind says which body the front end builds.
 */
#define Q_CB_URL_MAX 512
#define Q_CB_CTX_MAX 64
enum { Q_CB_KIND_JSON = 0, Q_CB_KIND_SOAP = 1 };
enum { Q_CB_NONE = 0, Q_CB_PENDING = 1, Q_CB_DELIVERED = 2, Q_CB_FAILED = 3 };

/* A transaction as stored.  In callbacks, pointers point into the reply. */
struct q_txn {
    char id[Q_ID_LEN];
    char rp[64]; /* relying party (API key name) that owns it */
    char msisdn[16];
    char client_ref[128];
    enum q_state state;
    char result[32];        /* "OK", "USER_CANCEL", "EXPIRED", ... ("" while pending) */
    int etsi_status;        /* ETSI TS 102 204 status code */
    char detail[160];       /* human reason for failures, no personal data */
    enum dg_alg digest_alg; /* model enum (digest.h), stored as its number */
    uint8_t digest[64];
    size_t digest_len;
    char vc[5];
    const char *display_text; /* UTF-8 */
    uint64_t cntr;            /* OTA counter of the command */
    int net;                  /* carrier the command went to */
    int64_t created_ms, deadline_ms, finished_ms;
    int sent;                      /* an SMSC accepted the command */
    unsigned resent;               /* copies of this counter's command sent after the first (q_txn_resent, sweep) */
    int resync;                    /* the counter was moved forward once (q_txn_resync) */
    char far_link[Q_FAR_LINK_LEN]; /* q_txn_track: the link whose far end holds the command, "" if none */
    char far_ref[Q_FAR_REF_LEN];   /* q_txn_track: the far end's own id for it (an MSSP_TransID) */
    const uint8_t *signature;
    size_t sig_len;
    const uint8_t *cert;
    size_t cert_len; /* certificate the signature was checked with */
    const uint8_t *ocsp;
    size_t ocsp_len;        /* OCSP response the certificate was checked with */
    uint8_t format;         /* Q_FORMAT_RAW or Q_FORMAT_CMS */
    uint8_t doc_digest[64]; /* CMS: the document digest (digest holds what the SIM signs) */
    size_t doc_digest_len;
    int64_t signing_time; /* CMS: signingTime attribute, seconds since the epoch */
    uint8_t op;           /* Q_OP_* */
    uint8_t key_alg;      /* GENKEY: SPKA/1 key algorithm, 1 RSA-2048, 2 ECDSA P-256 */
    const uint8_t *payload;
    size_t payload_len; /* PUTCERT: the certificate to install (DER) */
    /* q_txn_receipt: when the relying party said it got the outcome (0 = never), and its message ("" = none). */
    int64_t receipt_ms;
    char receipt[Q_RECEIPT_MAX + 1];
    /* Callback (q_cb_*): cb_url "" when the txn has none. */
    char cb_url[Q_CB_URL_MAX + 1];
    uint8_t cb_kind;               /* Q_CB_KIND_*: which body the front end builds */
    char cb_ctx[Q_CB_CTX_MAX + 1]; /* the front end's opaque string, "" if none */
    uint8_t cb_state;              /* Q_CB_NONE, _PENDING, _DELIVERED, _FAILED */
    unsigned cb_tries;             /* delivery attempts claimed so far */
};

/* What a create asks for. */
struct q_txn_new {
    const char *rp;
    const char *msisdn;     /* normalised */
    const char *client_ref; /* may be NULL */
    const char *idem_key;   /* Idempotency-Key, may be NULL */
    const char *req_hash;   /* hex hash of the request body, checked on idempotent retries */
    enum dg_alg digest_alg;
    const uint8_t *digest;
    size_t digest_len;
    const char *vc;
    const char *display_text;
    uint8_t format; /* Q_FORMAT_*; for CMS digest is the to-be-signed digest */
    const uint8_t *doc_digest;
    size_t doc_digest_len; /* CMS only, else NULL / 0 */
    int64_t signing_time;  /* CMS only */
    int net;               /* routed carrier */
    int64_t now_ms;
    int64_t deadline_ms;
    int64_t lease_ms; /* outbox lease: others may resubmit after now + lease */
    /*
     * Q_OP_SIGN (0) needs an "active" subscriber; the lifecycle ops also
     * take one whose status is "enrolling" (a SIM not yet in service).
     */
    uint8_t op;
    uint8_t key_alg; /* GENKEY */
    const uint8_t *payload;
    size_t payload_len; /* PUTCERT: certificate DER */
    /*
     * Callback on completion: NULL = none (and nothing is stored: the hot
     * path without one pays nothing).  cb_url at most Q_CB_URL_MAX octets,
     * cb_ctx (opaque, e.g. an ETSI AP_TransID; may be NULL) Q_CB_CTX_MAX.
     */
    const char *cb_url;
    uint8_t cb_kind; /* Q_CB_KIND_* */
    const char *cb_ctx;
};

struct q;

/* Connects in the background and reconnects by itself. */
enum q_err q_new(struct event_base *base, const struct cfg_redis *cfg, struct q **out)
    __attribute__((warn_unused_result));
/*
 * Pending callbacks get Q_ERR_AGAIN.  q_free(NULL) does nothing.  Called from
 * inside one of this q's callbacks, the free happens on the next turn of the
 * event loop (hiredis is still using the connection), so run the loop once
 * more before event_base_free().
 */
void q_free(struct q *q);

/*
 * How long a transaction expired by q_sweep() stays readable (default 24 h);
 * q_txn_finish() takes its own retention_ms.  Set it to txn_retention_s.
 */
void q_set_retention(struct q *q, int64_t retention_ms);

/* 1 when the command connection is up. */
int q_connected(const struct q *q);

/*
 * Counters, for /metrics.  calls: API calls (a sweep is one); replies: answers
 * from Redis (a sweep gets one per shard); errors: calls that ended with
 * AGAIN, PROTO or NOMEM (per shard for a sweep); reconnects: connection
 * attempts after the first on the command connection; in_flight: commands
 * sent and not yet answered; failovers: times the master moved (Sentinel's
 * +switch-master, or the sentinels naming another master than before);
 * wait_failures: WAITs that counted fewer than redis.wait_replicas replicas
 * (each failed its batch of calls with Q_ERR_AGAIN).
 */
struct q_stats {
    uint64_t calls, replies, errors, reconnects, failovers, wait_failures;
    unsigned in_flight;
};
void q_get_stats(const struct q *q, struct q_stats *out);

/*
 * Create a pending transaction in one round trip: checks the Idempotency-Key
 * (an existing transaction is returned with existed = 1), that the subscriber
 * exists and is active, that it has no pending transaction (Q_ERR_BUSY, with
 * the pending txn's id in txn->id), allocates the OTA counter (HINCRBY), and
 * writes txn, due, outbox, busy and idem keys.
 * The callback gets the new (or existing) txn and the subscriber: for a new
 * txn only what sending the command needs (msisdn, net, iccid, kv, status;
 * no certificate or pin, which would double what Redis returns), for an
 * existing one (existed = 1) the whole registry entry.
 */
typedef void q_create_cb(void *arg, enum q_err err, const struct q_txn *txn, const struct q_sub *sub, int existed);
void q_txn_create(struct q *q, const struct q_txn_new *n, q_create_cb *cb, void *arg);

/* The SMSC accepted the command: drop it from the outbox, mark it sent. */
typedef void q_done_cb(void *arg, enum q_err err);
void q_txn_sent(struct q *q, const char *id, q_done_cb *cb, void *arg);

/*
 * q_txn_sent for up to Q_SENT_MANY_MAX ids of one shard (the same first two
 * id characters) in one round trip, so that a busy gateway does not pay a
 * round trip per command for it.  Ids no longer pending are only dropped
 * from the outbox.  Q_ERR_INVALID when the ids span shards.  A lost call
 * loses nothing: the ids stay in the outbox and are resubmitted (same
 * counter) after the lease, as when an instance dies before marking them.
 */
#define Q_SENT_MANY_MAX 19
void q_txn_sent_many(struct q *q, const char *const *ids, size_t n, q_done_cb *cb, void *arg);

/*
 * A SIM answered: fetch the subscriber and, if it has one, its pending
 * transaction (txn is NULL when none is pending), in one round trip.
 */
typedef void q_lookup_cb(void *arg, enum q_err err, const struct q_sub *sub, const struct q_txn *txn);
void q_por_lookup(struct q *q, const char *msisdn, q_lookup_cb *cb, void *arg);

/*
 * OTA counters are 5 octets (sim-applet-ota.md §3).  A resync moves the
 * counter this far ahead of the highest the gateway knows for the SIM: the
 * SIM does not say where it is, and a restored Redis is behind by at most
 * the signatures made since its backup.  2^40 / 2^16 resyncs fit.
 */
#define Q_CNTR_MAX         ((UINT64_C(1) << 40) - 1)
#define Q_CNTR_RESYNC_STEP 65536u

/*
 * The SIM answered CNTR low for txn `id`'s command with counter `cntr`, and
 * the command was sent once: the gateway's counter is behind the SIM's.  In
 * one script: move the txn's counter to the highest of its own, the
 * subscriber's and the ICCID floor's plus `step`, store it on all three,
 * mark the txn resynced (txn->resync), forget its copies and sent mark, and
 * put it back in the outbox until lease_until_ms.  The callback gets the
 * subscriber and the updated txn, to send the command again with the new
 * counter.  Q_ERR_CONFLICT, with nothing changed, when the txn is no longer
 * pending at `cntr`, was resynced once already, or a copy of it was sent
 * (resent > 0): that CNTR low answered a duplicate.
 */
void q_txn_resync(struct q *q, const char *id, uint64_t cntr, uint64_t step, int64_t lease_until_ms, q_lookup_cb *cb,
                  void *arg);

/*
 * A carrier link sent txn `id`'s command (counter `cntr`) again: count the
 * copy (txn->resent), so that the SIM's CNTR low for it reads as a duplicate.
 * Q_ERR_CONFLICT when no longer pending at that counter.
 */
void q_txn_resent(struct q *q, const char *id, uint64_t cntr, q_done_cb *cb, void *arg);

/*
 * A link's far end took txn `id`'s command under its own id `far_ref` and
 * answers only when asked (car_events.sent with a far id): store link and id
 * with the txn and keep it in the outbox, leased until lease_until_ms.  The
 * instance asking renews the lease while it asks; when it dies, another
 * instance's sweep hands the txn out again (q_txn.far_ref set) and asks in
 * its place.  Q_ERR_CONFLICT when no longer pending; Q_ERR_INVALID when a
 * string is too long.
 */
void q_txn_track(struct q *q, const char *id, const char *link, const char *far_ref, int64_t lease_until_ms,
                 q_done_cb *cb, void *arg);

/* The outcome of a transaction. */
struct q_finish {
    enum q_state state; /* Q_COMPLETED or Q_FAILED */
    const char *result;
    int etsi_status;
    const char *detail; /* may be NULL */
    const uint8_t *signature;
    size_t sig_len;
    const uint8_t *cert;
    size_t cert_len;
    const uint8_t *ocsp;
    size_t ocsp_len; /* may be NULL / 0 */
    int64_t now_ms;
    int64_t retention_ms; /* the finished txn key expires after this */
    /*
     * Pin to store on the subscriber (Q_COMPLETED only; NULL = leave it):
     * serial hex and 64 hex characters of the SPKI SHA-256.  Written, and
     * `repin` cleared, in the same script and only while the registry still
     * holds `cert`: an import that raced the signature keeps its repin.
     */
    const char *pin_serial;
    const char *pin_spki_hex;
    /*
     * 1: answer the transaction as now stored (read inside the same script,
     * no extra round trip), for a caller that has a long poll waiting on it
     * in this process.  0 for everyone else: the read is not free.
     */
    int want_txn;
    /*
     * When a carrier accepted the command (ms), if the caller knows and may
     * not have recorded it yet (the engine batches sent marks: an answer can
     * come first); 0 = none.  Written only where sent_ms is still absent.
     */
    int64_t sent_ms;
    /*
     * Who carried the answer, stored on the txn as `transport` ("smpp",
     * "etsi204": car_ops.name) and `link` (the link's name), for the
     * archive's evidence; NULL or "" = not known, not written.  Each less
     * than Q_FAR_LINK_LEN octets.
     */
    const char *transport;
    const char *link;
};

/*
 * Finish `id` atomically if it is still pending and its cntr is expect_cntr
 * (0 = any): sets the outcome, removes it from due and outbox, frees the
 * subscriber (busy), sets the TTL, publishes the id on spk:done.
 * Q_ERR_CONFLICT when someone else finished it first.  With f->want_txn the
 * callback gets the finished transaction on Q_OK (NULL otherwise, and NULL
 * also in the unlikely case that part of the answer does not parse: the
 * outcome is recorded all the same).
 */
typedef void q_finish_cb(void *arg, enum q_err err, const struct q_txn *txn);
void q_txn_finish(struct q *q, const char *id, uint64_t expect_cntr, const struct q_finish *f, q_finish_cb *cb,
                  void *arg);

/* Read a transaction.  Q_ERR_NOT_FOUND when absent or expired. */
typedef void q_get_cb(void *arg, enum q_err err, const struct q_txn *txn);
void q_txn_get(struct q *q, const char *id, q_get_cb *cb, void *arg);

/*
 * The relying party got the outcome (ETSI TS 102 204 MSS_Receipt): record
 * receipt_ms = now_ms (> 0) and receipt = message (NULL or "" for none, at
 * most Q_RECEIPT_MAX octets) on the finished transaction `id`, in one
 * script; a later receipt overwrites the earlier one.  The transaction keeps
 * the TTL its finish gave it.  Q_ERR_NOT_FOUND when it is gone or belongs to
 * another relying party than rp (the two read the same, as for a GET);
 * Q_ERR_CONFLICT, with nothing written, while it is still pending;
 * Q_ERR_INVALID for a bad id, rp, message or time.
 */
void q_txn_receipt(struct q *q, const char *id, const char *rp, const char *message, int64_t now_ms, q_done_cb *cb,
                   void *arg);

/*
 * Housekeeping, run by every instance every sweep interval:
 *  - each pending txn whose deadline is past is finished as EXPIRED
 *    (ETSI 208), exactly once across instances;
 *  - each outbox entry whose lease has passed is claimed (its lease renewed
 *    to now + lease_ms) and handed to `resubmit` (with the subscriber) so the
 *    command is sent again with the same counter.
 * `done` is called once at the end with the number expired.
 * One EVALSHA per shard, all in flight at once; `limit` bounds each phase per
 * shard (0 = 100).  resubmit's txn and sub live only during that call.  err
 * is the first error of any shard; the counts cover the shards that answered.
 */
typedef void q_resubmit_cb(void *arg, const struct q_txn *txn, const struct q_sub *sub);
typedef void q_sweep_cb(void *arg, enum q_err err, unsigned expired, unsigned resubmitted);
void q_sweep(struct q *q, int64_t now_ms, int64_t lease_ms, unsigned limit, q_resubmit_cb *resubmit, q_sweep_cb *done,
             void *arg);

/*
 * Callbacks owed, one EVALSHA per shard (all in flight at once): up to
 * `limit` (0 = 50) ids per shard whose due time is <= now_ms.  An id whose
 * txn is gone (retention passed) or whose callback is not pending is
 * dropped; every other is leased until lease_until_ms (no instance claims it
 * again before, so only one tries at a time; an instance that dies
 * mid-delivery loses only its lease), its cb_tries counted, and handed to
 * `each` (txn lives only during that call; txn->cb_tries is this attempt's
 * number).  `done` once at the end: err is the first error of any shard,
 * claimed the number handed out.
 */
typedef void q_cb_each_fn(void *arg, const struct q_txn *txn);
typedef void q_cb_claimed_fn(void *arg, enum q_err err, unsigned claimed);
void q_cb_claim(struct q *q, int64_t now_ms, int64_t lease_until_ms, unsigned limit, q_cb_each_fn *each,
                q_cb_claimed_fn *done, void *arg);

enum q_cb_outcome {
    Q_CB_OUT_DELIVERED = 0, /* the receiver answered 2xx: drop it from the queue, cb_state delivered, cb_at */
    Q_CB_OUT_RETRY = 1,     /* try again at next_due_ms, cb_error = detail */
    Q_CB_OUT_GAVE_UP = 2,   /* drop it, cb_state failed, cb_error = detail */
};

/*
 * End delivery attempt number `attempt` (the txn's cb_tries when claimed)
 * of txn id's callback.  RETRY and GAVE_UP apply only while the callback is
 * still pending at that attempt (else Q_ERR_CONFLICT, nothing changed): an
 * instance whose lease ran out while its receiver was slow must not move
 * the newer claim's lease.  DELIVERED always applies (a 2xx is a fact).  A
 * txn gone meanwhile: Q_ERR_NOT_FOUND, its queue entry dropped.  detail may
 * be NULL, at most 159 octets.  For DELIVERED and GAVE_UP next_due_ms is
 * the time recorded as cb_at (now).
 */
void q_cb_done(struct q *q, const char *id, unsigned attempt, enum q_cb_outcome outcome, int64_t next_due_ms,
               const char *detail, q_done_cb *cb, void *arg);

/*
 * Be told of every finished transaction (any instance), for long polls.
 * Uses a second, subscribe-only connection.  One watcher per struct q.
 */
typedef void q_watch_cb(void *arg, const char *id);
enum q_err q_watch(struct q *q, q_watch_cb *cb, void *arg);

/*
 * Which subscription the watch is on: 0 while it is not subscribed, else a
 * value that changes whenever the subscription is lost and made again.  Two
 * equal non-zero readings mean every id published in between was (or will
 * be, in order) handed to the watch callback: what a caller that skips a
 * Redis read because "no completion was announced" must check.
 */
uint64_t q_watch_epoch(const struct q *q);

/* --- Synchronous registry access, for the admin CLI and tests. --- */

struct q_sync;
enum q_err q_sync_connect(const struct cfg_redis *cfg, struct q_sync **out, char *why, size_t whylen)
    __attribute__((warn_unused_result));
void q_sync_free(struct q_sync *qs);
/*
 * Insert or replace a subscriber; the OTA counter, busy marker and stored
 * pin are kept.  Here sub->pinned / pin_serial / pin_spki, when set, are the
 * pin of the certificate being written (sig_pin_of; the admin import sets
 * them): a pinned subscriber whose stored pin differs gets repin = "1"
 * (atomically with the write), so its next signature may use the new
 * certificate and re-pin.  Without them, repin is set when the certificate
 * octets change.  cs is written as "cs" = "1", or the field dropped when 0.
 */
enum q_err q_sync_sub_put(struct q_sync *qs, const struct q_sub *sub);
/*
 * cert is malloc'd into *cert_out (caller frees), may be NULL to skip.
 * out->cntr is the last OTA counter used for the subscriber's SIM: the
 * higher of the record's and the ICCID's floor.
 */
enum q_err q_sync_sub_get(struct q_sync *qs, const char *msisdn, struct q_sub *out, uint8_t **cert_out);
/* Deletes the record; the ICCID's counter floor stays (a re-import continues above it). */
enum q_err q_sync_sub_del(struct q_sync *qs, const char *msisdn);

/* One new certificate request document (q_docs.h), for q_sync_docs_put(). */
struct q_sync_doc {
    const char *id;  /* the request's id (q_docs.h: 1..31 of [0-9a-z]); no document may have it yet */
    const char *val; /* the document, vlen octets */
    size_t vlen;
    int64_t score; /* its filing time (ms) in the requests' index, and its event's time */
    int64_t rev;   /* its "rev": the archive's event id is <id>.<rev> (q_sync_events) */
};

/*
 * With on, q_sync_docs_put also appends each document's `request` event to
 * the archive's stream (q_ev.h), in the same MULTI, as the daemon's request
 * scripts do when the archive is on.  Off by default.
 */
void q_sync_events(struct q_sync *qs, int on);

/*
 * Write n request documents and file them in the requests' index, all or
 * nothing, as q_doc_create would one by one (queue/ builds the keys): queued
 * in chunks of 1,000 inside one MULTI/EXEC, so no reader ever sees some of
 * them (simpki-admin import-requests).  Checked before MULTI, with nothing
 * written: every id is valid (Q_ERR_INVALID), the index is a zset or absent
 * (Q_ERR_PROTO otherwise), no id is taken yet (Q_ERR_CONFLICT).  Any failure
 * while queueing DISCARDs (or the dropped connection discards) the lot.  The
 * connection's command timeout is raised to 300 s for the EXEC of a large
 * file and stays so.  n == 0 does nothing.
 */
enum q_err q_sync_docs_put(struct q_sync *qs, const struct q_sync_doc *docs, size_t n)
    __attribute__((warn_unused_result));

/* Shard of a normalised number, and the id prefix it gives (helpers shared with tests). */
unsigned q_shard_of(const char *msisdn, unsigned shards);

#endif /* SIMPKI_Q_H */
