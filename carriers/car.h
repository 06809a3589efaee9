/*
 * car.h - the carrier interface: how the gateway reaches a subscriber's SIM.
 *
 * A carrier link is one connection towards a carrier: an SMPP bind to its
 * SMSC today, an HTTP client to a mobile signature service (ETSI TS 102 204)
 * later.  Each transport is one .c file exporting one `const struct car_ops`
 * (like curl's connection filters or Kannel's smsc_<proto>.c).  The
 * transaction state machine and routing see only this header: they never
 * know whether a link is SMPP or HTTP.
 *
 * Requests are semantic ("sign this digest, show this text"), not SPKA/1
 * bytes, so that a transport that does not speak SPKA/1 can still serve them.
 * Answers come back in two steps because decrypting a SIM's answer needs the
 * subscriber's keys, which live in Redis:
 *
 *   1. the link hands the gateway the raw answer with events->mo()
 *      (already reassembled, addressed by the subscriber's number);
 *   2. the gateway looks the subscriber up and calls car_link_decode().
 *
 * A transport that correlates answers itself reports them decoded through
 * events->answer() instead.  Either way the answer is a struct car_reply:
 * an outcome in the gateway's terms, never a transport's code.
 *
 * Threading: a link lives on the event_base it was opened on; call it from
 * that thread only.
 */
#ifndef SIMPKI_CAR_H
#define SIMPKI_CAR_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct event_base;
struct cfg_carrier;
struct cfg_link;

/* One error enum for the whole carriers library; 0 = OK, values are stable. */
enum car_err {
    CAR_OK = 0,
    CAR_ERR_AGAIN = 1,       /* try again later: link down, window full, throttled */
    CAR_ERR_MALFORMED = 2,   /* malformed input: PDU, UDH, packet or TLV */
    CAR_ERR_TOO_LONG = 3,    /* does not fit: text over the SIM's limit, packet over 8 SMS */
    CAR_ERR_AUTH = 4,        /* cryptographic checksum failed / bind refused */
    CAR_ERR_UNSUPPORTED = 5, /* known but unsupported value (algorithm, command, IEI) */
    CAR_ERR_NOMEM = 6,
    CAR_ERR_IO = 7,        /* socket error, connection lost */
    CAR_ERR_PERMANENT = 8, /* the carrier refused the message for good */
    CAR_ERR_TIMEOUT = 9,
    CAR_ERR_INVALID = 10,   /* bad argument from the caller (a bug, or bad API input) */
    CAR_ERR_NOT_FOUND = 11, /* no such network / prefix / key */
};

const char *car_strerror(enum car_err err);

/* The subscriber as the transport needs to know it. */
struct car_subscriber {
    char msisdn[16]; /* international form without '+': 84912345678 */
    char iccid[24];  /* ASCII digits; keys are diversified from it */
    uint8_t ota_kv;  /* OTA key version, 1..15 */
};

enum car_op {
    CAR_OP_SIGN = 1,
    CAR_OP_GENKEY = 2,
    CAR_OP_PUTCERT = 3,
    CAR_OP_INFO = 4,
};

/*
 * A command for a SIM.  Pointers are borrowed for the duration of
 * car_link_submit(); the link copies whatever it keeps.
 */
struct car_request {
    enum car_op op;
    struct car_subscriber sub;
    uint64_t cntr;       /* OTA counter, allocated atomically in Redis */
    uint8_t txn_ref[8];  /* correlates the answer with the transaction */
    char txn_id[32];     /* the gateway's transaction id, for car_events.answer() */
    char far_ref[64];    /* "" for a new request; else the far end's id a sent() gave: ask, do not send */
    int64_t deadline_ms; /* wall clock (ms since the epoch) after which the answer no longer counts */
    uint8_t key_ref;     /* 0x01 signing key, 0x02 authentication key */

    /* CAR_OP_SIGN */
    enum dg_alg digest_alg; /* the transport maps it to its own code */
    const uint8_t *digest;
    size_t digest_len;
    const char *display_text; /* UTF-8; the transport picks GSM-7 or UCS2 */
    char vc[5];               /* verification code, 4 ASCII digits, "" for none */
    uint16_t user_timeout_s;

    /* CAR_OP_GENKEY */
    uint8_t key_alg; /* 1 RSA-2048, 2 ECDSA P-256 */

    /* CAR_OP_PUTCERT */
    const uint8_t *cert_der;
    size_t cert_len;
};

/*
 * What an answer says, in the gateway's terms.  Each transport maps its own
 * codes here (car_smpp.c: PoR status and SPKA/1 result, spka_outcome()); the
 * engine maps an outcome to a transaction state with one table and never
 * sees a transport's code.  Values are stable (tests and logs).
 */
enum car_outcome {
    CAR_OUT_OK = 0,
    CAR_OUT_USER_CANCEL = 1, /* the subscriber refused */
    CAR_OUT_EXPIRED = 2,     /* the subscriber did not answer in time */
    CAR_OUT_PIN_BLOCKED = 3,
    CAR_OUT_CARD_BLOCKED = 4,
    CAR_OUT_NO_KEY = 5,      /* no key under the asked reference */
    CAR_OUT_KEY_EXISTS = 6,  /* GENKEY over an existing key */
    CAR_OUT_BAD_COMMAND = 7, /* the SIM / service found the command malformed */
    CAR_OUT_UNSUPPORTED = 8, /* command or algorithm not supported there */
    CAR_OUT_STORAGE_FULL = 9,
    CAR_OUT_INTERNAL_ERROR = 10, /* the far end failed, or answered a code we do not know */
    CAR_OUT_NO_CERTIFICATE = 11, /* the service knows no certificate for the subscriber */
    CAR_OUT_OTA_ERROR = 12,      /* the secure channel refused the command (detail says why) */
    /*
     * Not an answer to act on: the SIM refused the command's counter as not
     * above its own, i.e. it already saw this counter (a resubmitted copy;
     * the first copy's answer counts).  Distinct so that a resync can act.
     */
    CAR_OUT_COUNTER_LOW = 13,
    CAR_OUT_MORE_TIME = 14, /* the far end asks for more time: keep waiting */
};
#define CAR_OUT_COUNT 15

/* The outcome's name as the API and docs spell it ("USER_CANCEL"); "?" for a value not in the enum. */
const char *car_outcome_name(enum car_outcome o);

/* How an OK SIGN answer carries the signature. */
enum car_sig_format {
    CAR_SIG_RAW = 0, /* a bare signature over the transaction's digest (PKCS#1 / DER ECDSA) */
    CAR_SIG_CMS = 1, /* a CMS SignedData (DER) over that digest: sig_verify_cms() */
};

/*
 * Who the answer is for, as the transport correlates it.  The engine checks
 * it against the pending transaction and never reads its parts otherwise.
 * SMPP/OTA: the counter the SIM echoed, and (when the SIM's application
 * answered) the transaction reference it echoed.
 */
struct car_corr {
    uint64_t cntr;      /* echoed counter of the command answered */
    int has_ref;        /* txn_ref is set */
    uint8_t txn_ref[8]; /* gw_txn_ref_from_id() of the transaction */
};

/*
 * A decoded answer.  The pointers point into `buf`, owned by the struct;
 * unset ones are NULL with length 0.  Holds secrets' neighbours (signature,
 * decrypted data): OPENSSL_cleanse() it after use.
 */
struct car_reply {
    enum car_outcome outcome;
    char detail[96]; /* short reason for a failure, no personal data; "" if none */
    uint8_t op;      /* enum car_op of the answered command, 0 if unknown */
    struct car_corr corr;
    enum car_sig_format sig_format;
    const uint8_t *signature;
    size_t sig_len; /* SIGN: raw signature or CMS SignedData DER (sig_format) */
    const uint8_t *cert;
    size_t cert_len; /* optional: the certificate the far end signed with (DER) */
    const uint8_t *spki;
    size_t spki_len; /* GENKEY: SubjectPublicKeyInfo DER */
    uint8_t buf[4096];
};

struct car_link;

/*
 * The longest answer a transport may hand to car_events.mo(): SMPP/OTA's
 * are at most OTA_MAX_PACKET, a CMS SignedData with its certificate more.
 */
#define CAR_MO_MAX 8192

/* What a link tells its owner.  Data passed to a callback lives only during it. */
struct car_events {
    void *arg;
    /*
     * The carrier accepted (CAR_OK) or refused a request given to
     * car_link_submit().  resent = 1 when the link sent (part of) it more
     * than once (a connection lost or a response late while in flight): the
     * far end may have seen two copies.
     *
     * far_ref (CAR_OK only; NULL from transports whose answers come by
     * themselves, as SMPP's): the far end took the request under this id of
     * its own and answers only when asked (an MSSP's MSSP_TransID).  The
     * link asks until the answer or the deadline; the engine keeps the id
     * with the transaction and hands the request back (car_request.far_ref)
     * to whichever instance is alive, so asking survives a crash.
     *
     * CAR_ERR_AGAIN: the request certainly reached no subscriber (no
     * connection, service unavailable, circuit open): the engine may give it
     * to another link at once.  A transport that cannot tell whether the far
     * end saw it keeps it (the same link retries it, the same id
     * deduplicating) rather than report AGAIN.  CAR_ERR_NOT_FOUND: this
     * link will never serve it (the far end does not serve the number, or
     * refused this link's credentials) but another link may: the engine
     * tries the others once each, then fails it.
     */
    void (*sent)(void *arg, void *handle, enum car_err status, const char *detail, int resent, const char *far_ref);
    /* An answer from a subscriber, reassembled, not yet decrypted. */
    void (*mo)(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len);
    /* The link came up (1) or went down (0). */
    void (*state)(void *arg, struct car_link *link, int up);
    /*
     * An answer the transport has correlated itself, by the transaction id
     * it was given (car_request.txn_id; an ETSI MSSP answers by its own
     * transaction id, which the transport maps back), decoded already: the
     * reply's pointers point into its buf.  SMPP never calls it (its answers
     * go mo() then decode()).  The engine finds the transaction, checks it is
     * still the subscriber's pending one, and acts on the outcome as for any
     * answer.  The engine always sets it; a transport may still check for NULL.
     */
    void (*answer)(void *arg, const char *txn_id, const struct car_reply *r);
    /*
     * Optional (NULL: nobody measures): one exchange with the far end took
     * `seconds`, for the owner's latency histogram.  SMPP: a submit_sm
     * written -> its submit_sm_resp read, whatever its status; etsi204: an
     * HTTP request (MSS_Signature, MSS_StatusQuery, MSS_Receipt,
     * MSS_Registration) -> its answer, or the error that ended it.  An
     * exchange that never ends (connection lost, request cancelled) is not
     * reported.
     */
    void (*round_trip)(void *arg, struct car_link *link, double seconds);
};

struct car_link_stats {
    uint64_t submitted, submit_ok, submit_err, throttled, resent;
    uint64_t mo_received, receipts, mo_malformed, reconnects;
    unsigned in_flight, queued;
    int up;
};

/*
 * The answer to car_ops.lookup.  CAR_OK with the certificate (DER, lives
 * only during the call); CAR_ERR_NOT_FOUND when the far end knows no such
 * subscriber or no certificate for it (cache the miss); CAR_ERR_AGAIN for a
 * transport error or an answer that says nothing (try later, do not cache).
 * detail: a short reason, no personal data, never NULL.
 */
typedef void car_lookup_cb(void *arg, enum car_err err, const uint8_t *cert_der, size_t len, const char *detail);

struct car_ops {
    const char *name; /* "smpp": the "transport" a link's configuration names */
    /*
     * 1 when sending a request again (after a crash, a lost submit_resp...)
     * cannot prompt the subscriber twice: SMPP/OTA, since the SIM refuses a
     * counter it has seen (the copy is answered COUNTER_LOW).  0 when the far
     * end might show the request again: the engine must not resubmit then.
     */
    int resubmit_safe;
    /*
     * Whether the far end can show `text` (UTF-8, NUL-terminated) to the
     * subscriber: CAR_OK, CAR_ERR_TOO_LONG, or another error for text it
     * cannot show at all; why says what.  Asked before a request is accepted,
     * of the transport its number routes to.  NULL: any text.
     */
    enum car_err (*check_text)(const char *text, char *why, size_t whylen);
    /*
     * Open one link.  link_cfg is transport-neutral (config/cfg.h struct
     * cfg_link): the transport reads its own section of it and refuses
     * (CAR_ERR_INVALID) a link configured for another transport.  carrier and
     * link_cfg are borrowed for the link's life.
     */
    enum car_err (*open)(struct event_base *base, const struct cfg_carrier *carrier, const struct cfg_link *link_cfg,
                         const struct car_events *ev, struct car_link **out);
    /* Queue a request; the outcome arrives through ev->sent(handle). */
    enum car_err (*submit)(struct car_link *link, const struct car_request *req, void *handle);
    /* Decrypt and parse an answer received through ev->mo(). */
    enum car_err (*decode)(struct car_link *link, const struct car_subscriber *sub, const uint8_t *data, size_t len,
                           struct car_reply *out);
    void (*stats)(const struct car_link *link, struct car_link_stats *out);
    /*
     * Close the link.  Lookups still under way are answered CAR_ERR_AGAIN
     * from inside close (their callers must expect it there).
     */
    void (*close)(struct car_link *link);
    /*
     * Optional (NULL when the far end cannot say, as SMPP's SMSC): ask the
     * far end for the certificate of the subscriber `msisdn` (normalised,
     * 1..15 digits), e.g. an MSSP's MSS_Registration.  Answered once through
     * cb, from the event loop, never inside the call: the return value says
     * only whether it was taken (CAR_OK) or refused at once (AGAIN: circuit
     * open or too many requests in flight; INVALID: not a number; NOMEM),
     * in which case cb is never called.
     */
    enum car_err (*lookup)(struct car_link *link, const char *msisdn, car_lookup_cb *cb, void *arg);
};

/*
 * Every transport's link struct starts with this header, so the generic
 * functions below can dispatch without knowing the transport.
 */
struct car_link_base {
    const struct car_ops *ops;
    const struct cfg_carrier *carrier;
    char name[32];
};

extern const struct car_ops car_smpp_ops;
extern const struct car_ops car_etsi_ops;

/*
 * Transports by name.  car.c holds one table line per transport; a new
 * transport is one .c file exporting its `const struct car_ops` and one line
 * there.  Returns NULL for a name no transport has.
 */
const struct car_ops *car_transport_find(const char *name);

static inline const char *car_link_name(const struct car_link *l)
{
    return ((const struct car_link_base *)(const void *)l)->name;
}
/* The link's transport, as car_ops.name spells it ("smpp", "etsi204"). */
static inline const char *car_link_transport(const struct car_link *l)
{
    return ((const struct car_link_base *)(const void *)l)->ops->name;
}
static inline const struct cfg_carrier *car_link_carrier(const struct car_link *l)
{
    return ((const struct car_link_base *)(const void *)l)->carrier;
}
static inline enum car_err car_link_submit(struct car_link *l, const struct car_request *r, void *h)
{
    return ((struct car_link_base *)(void *)l)->ops->submit(l, r, h);
}
static inline enum car_err car_link_decode(struct car_link *l, const struct car_subscriber *s, const uint8_t *d,
                                           size_t n, struct car_reply *o)
{
    return ((struct car_link_base *)(void *)l)->ops->decode(l, s, d, n, o);
}
static inline void car_link_stats(const struct car_link *l, struct car_link_stats *o)
{
    ((const struct car_link_base *)(const void *)l)->ops->stats(l, o);
}
/* CAR_ERR_UNSUPPORTED (cb never called) when the link's transport has no lookup. */
static inline enum car_err car_link_lookup(struct car_link *l, const char *msisdn, car_lookup_cb *cb, void *arg)
{
    const struct car_ops *ops = ((const struct car_link_base *)(const void *)l)->ops;
    return ops->lookup ? ops->lookup(l, msisdn, cb, arg) : CAR_ERR_UNSUPPORTED;
}
static inline int car_link_can_lookup(const struct car_link *l)
{
    return ((const struct car_link_base *)(const void *)l)->ops->lookup != NULL;
}
/* car_link_close(NULL) does nothing. */
static inline void car_link_close(struct car_link *l)
{
    if (l)
        ((struct car_link_base *)(void *)l)->ops->close(l);
}

#endif /* SIMPKI_CAR_H */
