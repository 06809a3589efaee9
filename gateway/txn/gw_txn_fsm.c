/* gw_txn_fsm.c - the transaction's transition table (gw_txn_fsm.h). */
#include "gw_txn_fsm.h"

#include <stdint.h>

/*
 * fsm[state][event]: the next state.  A cell equal to its row is an event
 * that is ignored there; a missing cell (GWT_NONE) one that cannot happen.
 * Answers are only ever looked up in the rows read from Redis (SENT, RESENT,
 * RESYNCED, FINISHED); link reports only in the rows of a command held here.
 */
static const uint8_t fsm[GWT_STATE_COUNT][GWT_EVENT_COUNT] = {
    [GWT_QUEUED] =
        {
            [GWT_EV_SUBMIT] = GWT_SUBMITTED,
            [GWT_EV_REFUSED_PERM] = GWT_FINISHED, /* no link serves its network */
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
    [GWT_PARKED] =
        {
            [GWT_EV_SUBMIT] = GWT_PARKED, /* held here already: not a second command */
            [GWT_EV_RETRY] = GWT_SUBMITTED,
            [GWT_EV_NO_LINK] = GWT_PARKED,
            [GWT_EV_DEADLINE] = GWT_FINISHED, /* dropped here; the sweep records EXPIRED */
            [GWT_EV_FINISH] = GWT_FINISHED,   /* answered by an earlier copy: never sent again */
        },
    [GWT_SUBMITTED] =
        {
            [GWT_EV_SUBMIT] = GWT_SUBMITTED, /* held here already: not a second command */
            [GWT_EV_NO_LINK] = GWT_PARKED,
            [GWT_EV_ACCEPTED] = GWT_SENT,
            [GWT_EV_REFUSED_TEMP] = GWT_QUEUED, /* left in the outbox: resent after the lease */
            [GWT_EV_FAILOVER] = GWT_SUBMITTED,  /* held here: to another link now, or parked */
            [GWT_EV_REFUSED_PERM] = GWT_FINISHED,
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED, /* answered before the link's report */
        },
    [GWT_SENT] =
        {
            [GWT_EV_ANSWER_OK] = GWT_VERIFYING,
            [GWT_EV_ANSWER_FAIL] = GWT_FINISHED,
            [GWT_EV_COUNTER_LOW] = GWT_RESYNCING, /* sent once: the SIM is ahead of us */
            [GWT_EV_MORE_TIME] = GWT_SENT,
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
    [GWT_RESENT] =
        {
            [GWT_EV_ANSWER_OK] = GWT_VERIFYING,
            [GWT_EV_ANSWER_FAIL] = GWT_FINISHED,
            [GWT_EV_COUNTER_LOW] = GWT_RESENT, /* the copy's refusal: the first copy may wait for the PIN */
            [GWT_EV_MORE_TIME] = GWT_RESENT,
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
    [GWT_RESYNCED] =
        {
            [GWT_EV_ANSWER_OK] = GWT_VERIFYING,
            [GWT_EV_ANSWER_FAIL] = GWT_FINISHED,
            [GWT_EV_COUNTER_LOW] = GWT_FINISHED, /* more than a step ahead: OTA_ERROR at once */
            [GWT_EV_MORE_TIME] = GWT_RESYNCED,
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
    [GWT_RESYNCING] =
        {
            [GWT_EV_RESYNC_DONE] = GWT_QUEUED, /* and submitted again at once */
            [GWT_EV_RESYNC_LOST] = GWT_RESENT, /* its CNTR low answered a copy after all */
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
    [GWT_VERIFYING] =
        {
            [GWT_EV_DEADLINE] = GWT_FINISHED, /* the sweep wins; the checks' finish then conflicts */
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
    [GWT_FINISHED] =
        {
            /* Exactly once: whatever comes now is late, and changes nothing. */
            [GWT_EV_SUBMIT] = GWT_FINISHED,
            [GWT_EV_RETRY] = GWT_FINISHED,
            [GWT_EV_ACCEPTED] = GWT_FINISHED,
            [GWT_EV_REFUSED_TEMP] = GWT_FINISHED,
            [GWT_EV_REFUSED_PERM] = GWT_FINISHED,
            [GWT_EV_FAILOVER] = GWT_FINISHED,
            [GWT_EV_ANSWER_OK] = GWT_FINISHED,
            [GWT_EV_ANSWER_FAIL] = GWT_FINISHED,
            [GWT_EV_COUNTER_LOW] = GWT_FINISHED,
            [GWT_EV_MORE_TIME] = GWT_FINISHED,
            [GWT_EV_DEADLINE] = GWT_FINISHED,
            [GWT_EV_FINISH] = GWT_FINISHED,
        },
};

static const char *const state_names[GWT_STATE_COUNT] = {"NONE",   "QUEUED",   "PARKED",    "SUBMITTED", "SENT",
                                                         "RESENT", "RESYNCED", "RESYNCING", "VERIFYING", "FINISHED"};

static const char *const event_names[GWT_EVENT_COUNT] = {
    "SUBMIT",      "NO_LINK",     "RETRY",     "ACCEPTED",    "REFUSED_TEMP", "REFUSED_PERM", "FAILOVER", "ANSWER_OK",
    "ANSWER_FAIL", "COUNTER_LOW", "MORE_TIME", "RESYNC_DONE", "RESYNC_LOST",  "DEADLINE",     "FINISH"};

enum gwt_state gwt_fsm_next(enum gwt_state from, enum gwt_event ev)
{
    if ((unsigned)from >= GWT_STATE_COUNT || (unsigned)ev >= GWT_EVENT_COUNT)
        return GWT_NONE;
    return (enum gwt_state)fsm[from][ev];
}

enum gwt_state gwt_state_of(const struct q_txn *txn)
{
    if (txn->state != Q_PENDING)
        return GWT_FINISHED;
    /* A copy first: after a resync too, a CNTR low may answer a copy (q_txn_resync refuses then). */
    if (txn->resent)
        return GWT_RESENT;
    return txn->resync ? GWT_RESYNCED : GWT_SENT;
}

const char *gwt_state_name(enum gwt_state s)
{
    return (unsigned)s < GWT_STATE_COUNT ? state_names[s] : "?";
}

const char *gwt_event_name(enum gwt_event ev)
{
    return (unsigned)ev < GWT_EVENT_COUNT ? event_names[ev] : "?";
}
