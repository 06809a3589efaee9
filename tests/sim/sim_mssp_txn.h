/*
 * sim_mssp_txn.h - what the simulated MSSP decides: AP authentication,
 * transactions (deduplicated per AP_ID + AP_TransID), the card's signature
 * and the behaviours of the number plan in their ETSI TS 102 204 form.  No
 * I/O: sim_mssp.c turns a verdict into HTTP.
 *
 * A new MSS_Signature is handed to the card at once (sim_card_sign_digest:
 * the card's behaviour decides the outcome, as over SMPP); its answer becomes
 * visible delay_ms later (the user reading the prompt).  A transaction is
 * found in O(1) by AP_ID + AP_TransID or by MSSP_TransID, and forgotten
 * keep_s (the scenario's "mssp" section) after both its answer and the last
 * request about it: a StatusQuery after that is fault 101 WRONG_PARAM, like
 * one about a transaction that never was.  Prompt counts per number live as
 * long as the set.
 */
#ifndef SIMPKI_SIM_MSSP_TXN_H
#define SIMPKI_SIM_MSSP_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "sim_card.h"
#include "sim_mssp_xml.h"

struct evbuffer;
struct sim_scen;
struct sim_mssp_cfg;
struct mssp_txns;
struct mssp_txn;

/* What to do with a request (mssp_txn_handle). */
enum mssp_verdict {
    MSSP_V_FAULT,        /* a SOAP fault with *code */
    MSSP_V_ANSWER,       /* an answer now: mssp_txn_answer_now with *code (100, 504, 408) */
    MSSP_V_FINAL,        /* the transaction's final answer now (mssp_txn_answer, in its behaviour's shape) */
    MSSP_V_HOLD,         /* synch: the final answer in *wait_ms; UINT32_MAX = never, fault 208 at TimeOut */
    MSSP_V_HOLD_FOREVER, /* hold_first: never answer, keep the connection */
    MSSP_V_CLOSE,        /* close the connection without an answer */
    MSSP_V_THROTTLE,     /* HTTP 503 */
};

/* cfg and scen must outlive the set.  NULL when out of memory. */
struct mssp_txns *mssp_txns_new(struct sim_scen *scen, const struct sim_mssp_cfg *cfg);
/* Frees every transaction.  mssp_txns_free(NULL) does nothing. */
void mssp_txns_free(struct mssp_txns *t);

/*
 * Decide about a parsed request arriving at now_ms (any clock in ms, the
 * same for every call).  *txn is set for MSSP_V_ANSWER/FINAL/HOLD
 * about a signature (owned by the set, valid until mssp_txns_free or until
 * it expires: at least keep_s after *wait_ms has passed).
 */
enum mssp_verdict mssp_txn_handle(struct mssp_txns *t, const struct mssp_req *rq, int64_t now_ms, struct mssp_txn **txn,
                                  int *code, unsigned *wait_ms);

/* The final answer about txn to request rq (a Signature or StatusQuery): the answer or its fault. */
int mssp_txn_answer(const struct mssp_txn *txn, const struct mssp_req *rq, struct evbuffer *out)
    __attribute__((warn_unused_result));
/* HTTP status of that answer: 500 for a fault, else 200. */
int mssp_txn_http_code(const struct mssp_txn *txn);
/* An answer with status code to rq (txn may be NULL outside Signature/StatusQuery). */
int mssp_txn_answer_now(struct mssp_txns *t, const struct mssp_txn *txn, const struct mssp_req *rq, int code,
                        struct evbuffer *out) __attribute__((warn_unused_result));

enum sim_behaviour mssp_txn_behaviour(const struct mssp_txn *txn);

/* How many new MSS_Signature requests for msisdn reached its card. */
unsigned mssp_txn_prompts(const struct mssp_txns *t, const char *msisdn);
/* How many MSS_Registration requests (past the AP's authentication) named msisdn, known to the scenario or not. */
unsigned mssp_txn_registrations(const struct mssp_txns *t, const char *msisdn);

#endif /* SIMPKI_SIM_MSSP_TXN_H */
