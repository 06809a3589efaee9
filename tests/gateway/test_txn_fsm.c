/*
 * test_txn_fsm.c - the transaction's transition table (gateway/txn/gw_txn_fsm.h),
 * every cell: the moves below are the engine's specification, and every
 * cell not listed must be GWT_NONE ("cannot happen there").  The engine's
 * use of it is test_engine's (a late answer, a copy's CNTR low, a second
 * CNTR low after a resync).
 */
#include <string.h>

#include "check.h"
#include "gw_txn_fsm.h"

struct move {
    enum gwt_state from;
    enum gwt_event ev;
    enum gwt_state to;
};

#define S(x) GWT_##x
#define E(x) GWT_EV_##x
static const struct move moves[] = {
    /* sending: the command held here */
    {S(QUEUED), E(SUBMIT), S(SUBMITTED)},
    {S(QUEUED), E(REFUSED_PERM), S(FINISHED)},
    {S(QUEUED), E(DEADLINE), S(FINISHED)},
    {S(QUEUED), E(FINISH), S(FINISHED)},
    {S(PARKED), E(SUBMIT), S(PARKED)},
    {S(PARKED), E(RETRY), S(SUBMITTED)},
    {S(PARKED), E(NO_LINK), S(PARKED)},
    {S(PARKED), E(DEADLINE), S(FINISHED)},
    {S(PARKED), E(FINISH), S(FINISHED)},
    {S(SUBMITTED), E(SUBMIT), S(SUBMITTED)},
    {S(SUBMITTED), E(NO_LINK), S(PARKED)},
    {S(SUBMITTED), E(ACCEPTED), S(SENT)},
    {S(SUBMITTED), E(REFUSED_TEMP), S(QUEUED)},
    {S(SUBMITTED), E(FAILOVER), S(SUBMITTED)},
    {S(SUBMITTED), E(REFUSED_PERM), S(FINISHED)},
    {S(SUBMITTED), E(DEADLINE), S(FINISHED)},
    {S(SUBMITTED), E(FINISH), S(FINISHED)},
    /* answers: the transaction as Redis has it */
    {S(SENT), E(ANSWER_OK), S(VERIFYING)},
    {S(SENT), E(ANSWER_FAIL), S(FINISHED)},
    {S(SENT), E(COUNTER_LOW), S(RESYNCING)},
    {S(SENT), E(MORE_TIME), S(SENT)},
    {S(SENT), E(DEADLINE), S(FINISHED)},
    {S(SENT), E(FINISH), S(FINISHED)},
    {S(RESENT), E(ANSWER_OK), S(VERIFYING)},
    {S(RESENT), E(ANSWER_FAIL), S(FINISHED)},
    {S(RESENT), E(COUNTER_LOW), S(RESENT)}, /* a copy's refusal: ignored */
    {S(RESENT), E(MORE_TIME), S(RESENT)},
    {S(RESENT), E(DEADLINE), S(FINISHED)},
    {S(RESENT), E(FINISH), S(FINISHED)},
    {S(RESYNCED), E(ANSWER_OK), S(VERIFYING)},
    {S(RESYNCED), E(ANSWER_FAIL), S(FINISHED)},
    {S(RESYNCED), E(COUNTER_LOW), S(FINISHED)}, /* OTA_ERROR, not a second resync */
    {S(RESYNCED), E(MORE_TIME), S(RESYNCED)},
    {S(RESYNCED), E(DEADLINE), S(FINISHED)},
    {S(RESYNCED), E(FINISH), S(FINISHED)},
    {S(RESYNCING), E(RESYNC_DONE), S(QUEUED)},
    {S(RESYNCING), E(RESYNC_LOST), S(RESENT)},
    {S(RESYNCING), E(DEADLINE), S(FINISHED)},
    {S(RESYNCING), E(FINISH), S(FINISHED)},
    {S(VERIFYING), E(DEADLINE), S(FINISHED)},
    {S(VERIFYING), E(FINISH), S(FINISHED)},
    /* finished: everything that can still arrive is ignored */
    {S(FINISHED), E(SUBMIT), S(FINISHED)},
    {S(FINISHED), E(RETRY), S(FINISHED)},
    {S(FINISHED), E(ACCEPTED), S(FINISHED)},
    {S(FINISHED), E(REFUSED_TEMP), S(FINISHED)},
    {S(FINISHED), E(REFUSED_PERM), S(FINISHED)},
    {S(FINISHED), E(FAILOVER), S(FINISHED)},
    {S(FINISHED), E(ANSWER_OK), S(FINISHED)},
    {S(FINISHED), E(ANSWER_FAIL), S(FINISHED)},
    {S(FINISHED), E(COUNTER_LOW), S(FINISHED)},
    {S(FINISHED), E(MORE_TIME), S(FINISHED)},
    {S(FINISHED), E(DEADLINE), S(FINISHED)},
    {S(FINISHED), E(FINISH), S(FINISHED)},
};

static enum gwt_state expected(enum gwt_state from, enum gwt_event ev)
{
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (moves[i].from == from && moves[i].ev == ev)
            return moves[i].to;
    return GWT_NONE;
}

static void test_table(void)
{
    for (int st = 0; st < GWT_STATE_COUNT; st++)
        for (int ev = 0; ev < GWT_EVENT_COUNT; ev++) {
            enum gwt_state got = gwt_fsm_next((enum gwt_state)st, (enum gwt_event)ev);
            enum gwt_state want = expected((enum gwt_state)st, (enum gwt_event)ev);
            if (got != want)
                fprintf(stderr, "  %s + %s: %s, want %s\n", gwt_state_name((enum gwt_state)st),
                        gwt_event_name((enum gwt_event)ev), gwt_state_name(got), gwt_state_name(want));
            CHECK_EQ_INT(got, want);
        }
    /* Out of range reads nothing past the table. */
    CHECK_EQ_INT(gwt_fsm_next(GWT_STATE_COUNT, GWT_EV_SUBMIT), GWT_NONE);
    CHECK_EQ_INT(gwt_fsm_next(GWT_SENT, GWT_EVENT_COUNT), GWT_NONE);
    CHECK_EQ_INT(gwt_fsm_next((enum gwt_state) - 1, GWT_EV_SUBMIT), GWT_NONE);
    CHECK_EQ_STR(gwt_state_name(GWT_RESYNCING), "RESYNCING");
    CHECK_EQ_STR(gwt_event_name(GWT_EV_COUNTER_LOW), "COUNTER_LOW");
    CHECK_EQ_STR(gwt_event_name(GWT_EV_FINISH), "FINISH");
    CHECK_EQ_STR(gwt_state_name(GWT_STATE_COUNT), "?");
}

/* The state of a stored transaction: a copy first, then a resync, else sent once. */
static void test_state_of(void)
{
    struct q_txn t;

    memset(&t, 0, sizeof t);
    t.state = Q_PENDING;
    CHECK_EQ_INT(gwt_state_of(&t), GWT_SENT);
    t.resync = 1;
    CHECK_EQ_INT(gwt_state_of(&t), GWT_RESYNCED);
    t.resent = 1;
    CHECK_EQ_INT(gwt_state_of(&t), GWT_RESENT);
    t.resync = 0;
    CHECK_EQ_INT(gwt_state_of(&t), GWT_RESENT);
    t.state = Q_COMPLETED;
    CHECK_EQ_INT(gwt_state_of(&t), GWT_FINISHED);
    t.state = Q_FAILED;
    t.resent = 0;
    CHECK_EQ_INT(gwt_state_of(&t), GWT_FINISHED);
}

int main(void)
{
    test_table();
    test_state_of();
    return check_report("test_txn_fsm");
}
