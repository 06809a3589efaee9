/*
 * gw_txn.h - the transaction engine: from an accepted request to a verified
 * signature (or a clear failure), across gateway instances.
 *
 *   API --start--> Redis create --submit--> carrier link --sent--> Redis sent
 *   carrier link --mo--> Redis lookup --decode+verify--> Redis finish --publish-->
 *
 * The engine holds no transaction state of its own that matters: Redis has
 * all of it.  What it keeps in memory is only the set of commands it has
 * handed to a link and not yet heard back about, so that the sweeper does
 * not submit them a second time.
 *
 * Outcomes (result / ETSI TS 102 204 status):
 *   OK 502 · REVOKED_CERTIFICATE 501 · REVOCATION_UNKNOWN 425 (hard-fail
 *   policy; a soft-fail relying party gets OK with "revocation not checked:
 *   <why>" as the message) · CERT_MISMATCH 503 (the registered certificate's
 *   serial or key is not the pinned one and the registry did not approve the
 *   change) · TIMESTAMP_FAILED 900 (CMS with tsa_url set: the TSA did not
 *   answer, or its token did not verify; no signature is returned) ·
 *   INVALID_SIGNATURE 503 (and CERT_EXPIRED, CERT_NOT_YET_VALID,
 *   UNTRUSTED_CHAIN, WRONG_KEY_USAGE: 503 too) · USER_CANCEL 401 ·
 *   EXPIRED 208 (deadline or the SIM's own user timeout) · PIN_BLOCKED 402 ·
 *   CARD_BLOCKED 403 · NO_KEY 404 · NO_CERTIFICATE 422 · BAD_COMMAND 101 ·
 *   UNSUPPORTED 109 · DELIVERY_ERROR 209 (the carrier refused the message) ·
 *   OTA_ERROR 209 (the SIM refused the secured packet) · INTERNAL_ERROR 900.
 */
#ifndef SIMPKI_GW_TXN_H
#define SIMPKI_GW_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "q.h"

struct event_base;
struct evbuffer;
struct cfg;
struct sig_trust;
struct gw_metrics;
struct car_ops;

enum gw_err {
    GW_OK = 0,
    GW_ERR_BUSY = 1,          /* the SIM has a transaction pending */
    GW_ERR_UNKNOWN_SUB = 2,   /* number not in the registry */
    GW_ERR_INACTIVE = 3,      /* subscriber suspended or revoked */
    GW_ERR_NO_ROUTE = 4,      /* no configured carrier for the number's network */
    GW_ERR_UNAVAILABLE = 5,   /* Redis unreachable: try again */
    GW_ERR_IDEM_MISMATCH = 6, /* Idempotency-Key reused with another body */
    GW_ERR_INTERNAL = 7,
    GW_ERR_CERT_REFUSED = 8,  /* CMS: the certificate is missing or fails its checks now */
    GW_ERR_TEXT_TOO_LONG = 9, /* gw_txn_check_text: the display text does not fit */
    GW_ERR_TEXT_INVALID = 10, /* gw_txn_check_text: the display text cannot be shown at all */
    GW_ERR_BACKLOG = 11,      /* the evidence archive's stream of the shard is full (q_ev.h): try again */
};

const char *gw_strerror(enum gw_err err);

struct gw_engine;

struct gw_engine_deps {
    const struct cfg *cfg;
    struct event_base *base;
    struct q *q;
    const struct sig_trust *trust;
    struct gw_metrics *metrics;
    /*
     * The transports links may name (car_ops.name = a link's "transport"):
     * NULL for the built-in table (car_transport_find).  A test, or a build
     * with a transport of its own, passes a table here: the engine names no
     * transport.
     */
    const struct car_ops *const *transports;
    size_t n_transports;
};

/* Opens every configured carrier link and starts the sweeper. */
enum gw_err gw_engine_new(const struct gw_engine_deps *deps, struct gw_engine **out)
    __attribute__((warn_unused_result));
/* Closes links and frees.  Call after q_free() so no Redis callback is left. */
void gw_engine_free(struct gw_engine *e);

/* A validated signature request (the API has normalised and checked it). */
struct gw_sign_req {
    const char *rp;
    const char *msisdn;
    const char *client_ref; /* may be NULL */
    const char *idem_key;   /* may be NULL */
    const char *req_hash;   /* hex SHA-256 of the canonical request */
    enum dg_alg digest_alg; /* digest.h */
    const uint8_t *digest;
    size_t digest_len;
    const char *display_text;
    uint8_t format; /* Q_FORMAT_RAW, or Q_FORMAT_CMS: digest is the document's */
    /*
     * Callback on completion (q.h's q_txn_new): NULL = none.  cb_url checked
     * by the front end (cfg_callback_check); cb_kind Q_CB_KIND_*; cb_ctx the
     * front end's opaque string (<= 64 octets), may be NULL.
     */
    const char *cb_url;
    uint8_t cb_kind;
    const char *cb_ctx;
};

/*
 * Binding (serial pinning): after the signature verifies, the certificate
 * is checked against the subscriber's pin (sig_binding_check); the first
 * successful signature pins it, and a certificate the registry replaced
 * (repin, set by simpki-admin import) is re-pinned by the next one.  The pin
 * is written by the finish script itself: no extra round trip.
 *
 * Timestamps (tsa_url set, CMS only): the SignedData gets an RFC 3161 token
 * over the signature value (CAdES-B-T), requested with libcurl on the loop
 * (config/http_client.h) and verified against tsa_trust before it is embedded.
 *
 * Revocation: after the signature verifies, the certificate's status is
 * checked (OCSP, then CRL; sig_revoc.h) unless revocation_check is off; the
 * OCSP response used is stored with the transaction.
 *
 * CMS (format Q_FORMAT_CMS): before creating, the subscriber is read (one
 * more Redis round trip than raw) to build the CAdES signed attributes; the
 * transaction stores the document digest, the signing time and, as its
 * digest, the digest the SIM signs (the verification code is of that).  On
 * the answer any instance rebuilds the attributes, checks the SIM's signature
 * and stores the SignedData as the signature.  GW_ERR_CERT_REFUSED when the
 * certificate cannot be used now.
 *
 * Start a transaction.  The callback gets the stored transaction (valid
 * during the call) and existed = 1 for an idempotent retry.  On GW_ERR_BUSY
 * txn->id names the pending transaction.
 */
typedef void gw_start_cb(void *arg, enum gw_err err, const struct q_txn *txn, int existed);
void gw_txn_start(struct gw_engine *e, const struct gw_sign_req *req, gw_start_cb *cb, void *arg);

/*
 * Can `text` be shown to the subscriber of normalised number msisdn?  Asked
 * of the transports of the links its network routes to (car_ops.check_text;
 * every configured transport when the prefix routes nowhere, as for a ported
 * number): GW_OK, GW_ERR_TEXT_TOO_LONG or GW_ERR_TEXT_INVALID with why.
 * Synchronous, no I/O: a front end calls it before gw_txn_start.
 */
enum gw_err gw_txn_check_text(const struct gw_engine *e, const char *msisdn, const char *text, char *why,
                              size_t whylen);

/*
 * Commands for the lifecycle engine (gw_life.h): generate a key on the SIM,
 * have the SIM sign a certificate request, install a certificate.  They are
 * transactions like signatures -- same Redis records, OTA counter, outbox,
 * deadline, any instance may finish them -- but their answers are NOT
 * checked against the registered certificate (there may be none yet); the
 * caller reads the finished transaction with q_txn_get() and checks it:
 *
 *   Q_OP_GENKEY   key 1; result "OK", signature = SubjectPublicKeyInfo DER
 *   Q_OP_CSR      SIGN of `digest` (SHA-256) with key 1; result "OK",
 *                 signature = the raw signature value, as the SIM made it
 *   Q_OP_PUTCERT  install `cert` as key 1's certificate; result "OK"
 *
 * Other results are the SIM's refusals as for signatures (USER_CANCEL,
 * EXPIRED, PIN_BLOCKED, KEY_EXISTS, DELIVERY_ERROR, ...).  The subscriber
 * must be in the registry, "active" or "enrolling".  idem_key is required:
 * asking again with the same key (after a crash) gives the same transaction
 * (existed = 1) instead of a second command to the SIM.
 */
struct gw_sim_req {
    const char *rp;           /* owner, not an API key name: "enrol" */
    const char *msisdn;       /* normalised */
    const char *idem_key;     /* required */
    const char *client_ref;   /* the enrolment request's id, for the logs; may be NULL */
    int op;                   /* Q_OP_GENKEY, Q_OP_CSR or Q_OP_PUTCERT */
    uint8_t key_alg;          /* GENKEY: 1 RSA-2048, 2 ECDSA P-256 */
    const uint8_t *digest;    /* CSR: the SHA-256 sig_csr_prepare gave */
    size_t digest_len;        /* 32 */
    const char *display_text; /* GENKEY and CSR: what the official reads before the PIN */
    const uint8_t *cert;      /* PUTCERT: DER */
    size_t cert_len;
    int timeout_s; /* deadline; 0 = txn_timeout_s */
};
void gw_txn_start_sim(struct gw_engine *e, const struct gw_sim_req *req, gw_start_cb *cb, void *arg);

/*
 * Long polls held in this process.  Every outcome reaches every instance's
 * q_watch as an id, and a waiter then reads the transaction back: one more
 * Redis round trip per transaction.  When the answer lands on the instance
 * that holds the waiter -- the common case with one instance, and with a
 * client that polls the instance it posted to -- that read is saved: before
 * recording an outcome the engine asks `waiting` whether someone here waits
 * for that id; if so the finish script answers the transaction as stored
 * (q_finish.want_txn), and `finished` follows exactly once with it, or with
 * NULL when the outcome was not recorded by this call (someone finished it
 * first, Redis failed) or the answer did not parse.  The announcement on
 * q_watch is published inside the same script and may arrive before
 * `finished`: a waiter that was promised a hand-off leaves the decision to
 * `finished`, and reads only after a NULL.  Calls run on the event loop; txn
 * lives only during the call.  gw_engine_watch(e, NULL) detaches (before the
 * waiters' owner is freed); nothing is called after that.
 */
struct gw_txn_watch {
    int (*waiting)(void *arg, const char *id);
    void (*finished)(void *arg, const char *id, const struct q_txn *txn);
    void *arg;
};
void gw_engine_watch(struct gw_engine *e, const struct gw_txn_watch *w);

/* Append link gauges (up, in flight, queued, counters) for /metrics. */
void gw_engine_render_metrics(const struct gw_engine *e, struct evbuffer *out);

/* 1 when at least one link of every configured carrier is bound. */
int gw_engine_links_up(const struct gw_engine *e);

#endif /* SIMPKI_GW_TXN_H */
