/*
 * car_etsi_priv.h - what the etsi204 transport's two modules share; nothing
 * outside carriers/car_etsi*.c includes it.
 *
 *   car_etsi.c      the link: open/close, the circuit breaker, signatures
 *                   (MSS_Signature, StatusQuery, Receipt)
 *   car_etsi_reg.c  car_ops.lookup: a subscriber's certificate by number
 *                   (MSS_Registration)
 *
 * Both use the link's one HTTP client and count against its one in-flight
 * limit (max_in_flight covers signatures and lookups together) and its one
 * circuit breaker.
 */
#ifndef SIMPKI_CAR_ETSI_PRIV_H
#define SIMPKI_CAR_ETSI_PRIV_H

#include <stdint.h>
#include <sys/queue.h>

#include "car.h"
#include "car_etsi_xml.h"

struct etsi_txn;    /* car_etsi.c: one signature */
struct etsi_lookup; /* car_etsi_reg.c: one registration query */
TAILQ_HEAD(etsi_txns, etsi_txn);
TAILQ_HEAD(etsi_lookups, etsi_lookup);

struct car_link {
    struct car_link_base base;
    const struct cfg_etsi *cfg;
    struct car_events ev;
    struct event_base *evb;
    struct hc_client *http;
    struct etsi_ap ap;
    char url_sign[300], url_status[300], url_receipt[300], url_reg[300];
    struct etsi_txns txns;
    size_t n_txns;
    struct etsi_lookups lookups;
    size_t n_lookups;
    unsigned errors;    /* consecutive transport errors / HTTP 5xx */
    int64_t open_until; /* circuit open until (ms), 0 = closed */
    int up;
    struct event *state_ev; /* reports up/down from the loop */
    struct car_link_stats stats;
    unsigned seq;
};

int64_t etsi_now_ms(void);    /* wall clock, ms since the epoch */
uint64_t etsi_clock_us(void); /* monotonic, us: when an HTTP exchange started */
/*
 * The HTTP exchange started at start_us ended with ha (its answer, or the
 * error that ended it): tell the owner how long it took
 * (car_events.round_trip).  Requests ended by the link's closing are not.
 */
struct hc_answer;
void etsi_round_trip(struct car_link *l, uint64_t start_us, const struct hc_answer *ha);
/* The circuit breaker: an answer (any parseable one) closes the count; a transport error or 5xx counts. */
void etsi_breaker_ok(struct car_link *l);
void etsi_breaker_error(struct car_link *l);
/* SOAP 1.2's Content-Type for a request of this kind. */
void etsi_content_type(enum etsi_kind kind, char *out, size_t cap);

/* car_etsi_reg.c */
enum car_err etsi_reg_lookup(struct car_link *l, const char *msisdn, car_lookup_cb *cb, void *arg);
/* Answers every lookup under way CAR_ERR_AGAIN and frees it (the link is closing). */
void etsi_reg_close(struct car_link *l);

#endif /* SIMPKI_CAR_ETSI_PRIV_H */
