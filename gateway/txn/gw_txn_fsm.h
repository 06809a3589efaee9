/*
 * gw_txn_fsm.h - the states a transaction goes through in the engine, the
 * events that move it, and the one table that says where each event leads
 * (gwt_fsm_next).  Private to gateway/txn (and its unit test).
 *
 * A transaction's durable state is Redis's (q.h: pending / completed /
 * failed, outbox, resent, resync).  The engine keeps none of it across
 * events, so at each decision point it reads the state from what it has
 * there:
 *
 *   a command it holds (struct submit_ctx.st)  QUEUED, PARKED, SUBMITTED,
 *                                              FINISHED (answered before the
 *                                              link's report)
 *   the transaction as Redis stores it         SENT, RESENT, RESYNCED,
 *   (gwt_state_of)                             FINISHED
 *
 * and asks the table what the event does there.  A cell equal to its row
 * is "ignored: nothing changes" (a late answer, a copy's CNTR low, a sent
 * report for a transaction already answered); GWT_NONE is "cannot happen
 * there" (a bug: logged, nothing done).
 */
#ifndef SIMPKI_GW_TXN_FSM_H
#define SIMPKI_GW_TXN_FSM_H

#include "q.h"

enum gwt_state {
    GWT_NONE = 0,  /* not a state: the event is invalid there */
    GWT_QUEUED,    /* pending and in the outbox; this instance does not hold it */
    GWT_PARKED,    /* held here: no link could take it yet (retried on a timer, on link up) */
    GWT_SUBMITTED, /* held here: handed to a link, waiting for its sent report */
    GWT_SENT,      /* the far end has it, one copy: waiting for the answer */
    GWT_RESENT,    /* a copy may have reached the SIM too (resent > 0) */
    GWT_RESYNCED,  /* sent again after its counter was moved forward once */
    GWT_RESYNCING, /* the counter is being moved forward (q_txn_resync in flight) */
    GWT_VERIFYING, /* answered OK: the signature's checks run (verify.c), then the finish */
    GWT_FINISHED,  /* an outcome is recorded (or being recorded); every answer is late */
    GWT_STATE_COUNT
};

enum gwt_event {
    GWT_EV_SUBMIT,       /* a stored pending transaction to send: created, swept after its lease, resynced */
    GWT_EV_NO_LINK,      /* no link could take the command now */
    GWT_EV_RETRY,        /* a parked command is tried again */
    GWT_EV_ACCEPTED,     /* the link: the far end accepted every part */
    GWT_EV_REFUSED_TEMP, /* the link: not accepted yet (the sweep resends it after the lease) */
    GWT_EV_REFUSED_PERM, /* the link refused it for good, or no link serves the network */
    GWT_EV_FAILOVER,     /* the link: it reached nobody, try another link (car.h: AGAIN, NOT_FOUND) */
    GWT_EV_ANSWER_OK,    /* the far end answered OK (a signature, a key, a certificate installed) */
    GWT_EV_ANSWER_FAIL,  /* the far end answered a refusal (USER_CANCEL, PIN_BLOCKED, ...) */
    GWT_EV_COUNTER_LOW,  /* the SIM refused the OTA counter as already seen */
    GWT_EV_MORE_TIME,    /* the far end asks for patience: not an answer */
    GWT_EV_RESYNC_DONE,  /* the counter moved forward: back in the outbox, to send again */
    GWT_EV_RESYNC_LOST,  /* the resync refused: a copy was recorded meanwhile, or it finished */
    GWT_EV_DEADLINE,     /* its deadline passed (the sweep records EXPIRED) */
    GWT_EV_FINISH,       /* an outcome is being recorded (gwt_finish) */
    GWT_EVENT_COUNT
};

/* The state after ev in from: from itself when ev is ignored there, GWT_NONE when it cannot happen there. */
enum gwt_state gwt_fsm_next(enum gwt_state from, enum gwt_event ev);

/* The state a transaction read from Redis is in: FINISHED, else RESENT, RESYNCED or SENT. */
enum gwt_state gwt_state_of(const struct q_txn *txn);

/* For logs: "QUEUED", ... ; "?" out of range. */
const char *gwt_state_name(enum gwt_state s);
const char *gwt_event_name(enum gwt_event ev);

#endif /* SIMPKI_GW_TXN_FSM_H */
