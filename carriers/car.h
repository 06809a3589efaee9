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
 * Threading: a link lives on the event_base it was opened on; call it from
 * that thread only.
 */
#ifndef SIMPKI_CAR_H
#define SIMPKI_CAR_H

#include <stddef.h>
#include <stdint.h>

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
    uint64_t cntr;      /* OTA counter, allocated atomically in Redis */
    uint8_t txn_ref[8]; /* correlates the answer with the transaction */
    uint8_t key_ref;    /* 0x01 signing key, 0x02 authentication key */

    /* CAR_OP_SIGN */
    uint8_t digest_alg; /* SPKA/1 code: 1 SHA-256, 2 SHA-384, 3 SHA-512 */
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

/* A decoded answer.  The pointers point into `buf`, owned by the struct. */
struct car_reply {
    uint64_t cntr;      /* echoed counter of the command answered */
    uint8_t por_status; /* TS 102 225 response status, 0 = PoR OK */
    uint8_t op;         /* enum car_op of the answered command */
    uint8_t txn_ref[8];
    uint8_t result; /* SPKA/1 result, meaningful when por_status == 0 */
    const uint8_t *signature;
    size_t sig_len; /* SIGN */
    const uint8_t *spki;
    size_t spki_len; /* GENKEY: SubjectPublicKeyInfo DER */
    uint8_t buf[1280];
};

struct car_link;

/* What a link tells its owner.  Data passed to a callback lives only during it. */
struct car_events {
    void *arg;
    /* The carrier accepted (CAR_OK) or refused a request given to car_link_submit(). */
    void (*sent)(void *arg, void *handle, enum car_err status, const char *detail);
    /* An answer from a subscriber, reassembled, not yet decrypted. */
    void (*mo)(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len);
    /* The link came up (1) or went down (0). */
    void (*state)(void *arg, struct car_link *link, int up);
};

struct car_link_stats {
    uint64_t submitted, submit_ok, submit_err, throttled, resent;
    uint64_t mo_received, receipts, mo_malformed, reconnects;
    unsigned in_flight, queued;
    int up;
};

struct car_ops {
    const char *name; /* "smpp": the "transport" a link's configuration names */
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
    void (*close)(struct car_link *link);
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
/* car_link_close(NULL) does nothing. */
static inline void car_link_close(struct car_link *l)
{
    if (l)
        ((struct car_link_base *)(void *)l)->ops->close(l);
}

#endif /* SIMPKI_CAR_H */
