/*
 * ar_pg_stub.h - a stand-in for gateway/archive/ar_pg.c, linked instead of
 * it by tests that exercise one archive module alone (test_ar_anchor,
 * test_ar_retention) against a real PostgreSQL.
 *
 * Each ar_pg_query runs at once on a blocking libpq connection; its callback
 * comes from the event loop afterwards, as ar_pg.h promises (never inside
 * ar_pg_query).  The test owns the struct and may:
 *   - set down: every query is answered with the error "connection lost";
 *   - set hold: answers wait in held[] until ar_pg_stub_deliver;
 *   - read asked: how many queries were queued.
 */
#ifndef SIMPKI_TEST_AR_PG_STUB_H
#define SIMPKI_TEST_AR_PG_STUB_H

#include <libpq-fe.h>

#include "ar_pg.h"

struct event_base;
struct ar_pg_stub_answer;

struct ar_pg {
    struct event_base *base; /* where callbacks run */
    PGconn *db;              /* the test's connection, opened and closed by it */
    int down;
    int hold;
    struct ar_pg_stub_answer *held[8];
    unsigned nheld;
    unsigned asked;
};

/* Deliver the held answers, last first (as ar_pg_free answers what is under way). */
void ar_pg_stub_deliver(struct ar_pg *pg);

#endif /* SIMPKI_TEST_AR_PG_STUB_H */
