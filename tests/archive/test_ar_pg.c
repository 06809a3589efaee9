/*
 * test_ar_pg.c - gateway/archive/ar_pg.c, ar_db.c and the schema's
 * archive_ingest against a real PostgreSQL (test_ar_pg.sh starts one with
 * tests/integration/lib.sh pg_start and passes AR_PG_CONNINFO, and
 * AR_PG_CTL: a command taking "pg_stop fast" or "pg_start").
 *
 *   - two connections opened together on an empty database: both come up,
 *     the migrations are applied once (the advisory lock), a query queued
 *     before the connection runs after them; a third (ar_db, blocking)
 *     applies nothing;
 *   - queries answer in the order queued, a failing one says why and the
 *     next run, NULL parameters, binary results, the 1024 bound;
 *   - PostgreSQL stopped: the running and queued queries fail, ar_pg_up 0,
 *     the state callback hears it; a query queued while down fails after
 *     the next attempt; started again: both reconnect and work;
 *   - archive_ingest from both connections at once: every chain is seq
 *     1..n with its hashes linked as docs/archive.md defines (checked here
 *     in C, not with the schema's own functions), a batch sent again
 *     inserts nothing;
 *   - ar_pg_free: the queued queries' callbacks run with "closed".
 */
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ar_db.h"
#include "ar_pg.h"
#include "ar_schema.h"
#include "check.h"

static struct event_base *base;
static int in_query; /* set around ar_pg_query: a callback must never run inside it */
static int order_counter;

struct rec {
    int done, ok, order, inside;
    char val[256];
    char err[512];
};

static void rec_cb(void *arg, const PGresult *res, const char *err)
{
    struct rec *r = arg;
    r->inside |= in_query;
    r->done++;
    r->order = ++order_counter;
    if (res) {
        r->ok = 1;
        if (PQntuples(res) > 0 && PQnfields(res) > 0)
            snprintf(r->val, sizeof r->val, "%s", PQgetvalue(res, 0, 0));
    } else {
        snprintf(r->err, sizeof r->err, "%s", err ? err : "(null)");
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until expr holds or ms pass; the value of expr. */
#define RUN_UNTIL(expr, ms)                     \
    ({                                          \
        long deadline_ = now_ms() + (ms);       \
        while (!(expr) && now_ms() < deadline_) \
            event_base_loop(base, EVLOOP_ONCE); \
        (expr) ? 1 : 0;                         \
    })

static void run_for(int ms)
{
    long end = now_ms() + ms;
    while (now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
}

static int query(struct ar_pg *pg, const char *sql, int n, const char *const *v, int binary, struct rec *r)
{
    int rc;
    memset(r, 0, sizeof *r);
    in_query = 1;
    rc = ar_pg_query(pg, sql, n, v, binary, rec_cb, r);
    in_query = 0;
    return rc;
}

/* Queue sql, wait for its answer (15 s); 0 when it succeeded. */
static int query_wait(struct ar_pg *pg, const char *sql, int n, const char *const *v, struct rec *r)
{
    if (query(pg, sql, n, v, 0, r) != 0)
        return -1;
    RUN_UNTIL(r->done, 15000);
    if (!r->ok)
        fprintf(stderr, "query %s: %s\n", sql, r->done ? r->err : "no answer");
    CHECK_EQ_INT(r->inside, 0);
    return r->ok ? 0 : -1;
}

struct state {
    int ups, downs, last;
    char why[256];
};

static void state_cb(void *arg, int up, const char *why)
{
    struct state *s = arg;
    s->last = up;
    if (up)
        s->ups++;
    else
        s->downs++;
    snprintf(s->why, sizeof s->why, "%s", why ? why : "");
}

static int pgctl(const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s", getenv("AR_PG_CTL"), what);
    return system(cmd);
}

static int count_migrations(struct ar_pg *pg)
{
    struct rec r;
    if (query_wait(pg, "SELECT count(*) FROM archive_migrations", 0, NULL, &r) != 0)
        return -1;
    return atoi(r.val);
}

/* --- archive_ingest batches ------------------------------------------------ */

static char *b64(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    return out;
}

/*
 * Event i of the test: two kinds over seven months (16 chains, 16 partitions
 * that both connections want to create at once).
 */
static json_t *event(int i)
{
    static const int64_t dec = 1796083200000LL; /* 2026-12-01T00:00:00Z */
    static const int64_t nov = 1793491200000LL; /* 2026-11-01T00:00:00Z */
    const char *kind = i % 3 == 2 ? "cert" : "sign";
    int64_t at = (i % 3 == 1 ? nov : dec) - (int64_t)(i % 7) * 31LL * 86400000LL + (int64_t)(i / 3) * 1000 + 17;
    char id[32], body[128], msisdn[16];
    char *bb;
    json_t *e;

    snprintf(id, sizeof id, "ev-%04d", i);
    snprintf(msisdn, sizeof msisdn, "8496%07d", i);
    snprintf(body, sizeof body, "{\"event_id\":\"%s\",\"kind\":\"%s\",\"n\":%d}", id, kind, i);
    bb = b64(body);
    e = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", kind, "at_ms", (json_int_t)at, "event_id", id,
                  "etype", strcmp(kind, "sign") == 0 ? "signature" : "request", "body", bb, "txn_id", id, "msisdn",
                  msisdn, "rp", "rp-test");
    free(bb);
    return e;
}

/* {"events": [event(from) .. event(to - 1)]} as text (free it). */
static char *batch(int from, int to)
{
    json_t *evs = json_array(), *b;
    char *s;
    for (int i = from; i < to; i++)
        json_array_append_new(evs, event(i));
    b = json_pack("{s:o}", "events", evs);
    s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return s;
}

static void sha256(const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn, uint8_t out[32])
{
    EVP_MD_CTX *x = EVP_MD_CTX_new();
    CHECK(x && EVP_DigestInit_ex(x, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(x, a, an) == 1 &&
          (!b || EVP_DigestUpdate(x, b, bn) == 1) && (!c || EVP_DigestUpdate(x, c, cn) == 1) &&
          EVP_DigestFinal_ex(x, out, NULL) == 1);
    EVP_MD_CTX_free(x);
}

/*
 * Every row of every chain, in (chain, seq) order and binary format, checked
 * against docs/archive.md: seq 1..n, prev_hash = the previous row_hash (the
 * first: SHA-256("simpki-archive:" || chain)), row_hash = SHA-256(prev_hash
 * || seq as 8 octets big-endian || SHA-256(body)); and archive_heads.
 * Returns the number of rows, -1 when anything is off.
 */
struct chains {
    int done, rows, bad, nchains;
};

static void chains_cb(void *arg, const PGresult *res, const char *err)
{
    struct chains *c = arg;
    char chain[64] = "";
    uint8_t prev[32], rh[32], bh[32], be[8];
    int64_t want = 0;

    c->done = 1;
    if (!res) {
        fprintf(stderr, "chains: %s\n", err);
        c->bad++;
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *ch = PQgetvalue(res, i, 0);
        const uint8_t *s = (const uint8_t *)PQgetvalue(res, i, 1);
        int64_t seq = 0;
        if (PQgetlength(res, i, 1) != 8 || PQgetlength(res, i, 3) != 32 || PQgetlength(res, i, 4) != 32) {
            c->bad++;
            continue;
        }
        for (int k = 0; k < 8; k++)
            seq = seq << 8 | s[k];
        if (strcmp(ch, chain) != 0) {
            char g[96];
            snprintf(chain, sizeof chain, "%.*s", PQgetlength(res, i, 0), ch);
            snprintf(g, sizeof g, "simpki-archive:%s", chain);
            sha256(g, strlen(g), NULL, 0, NULL, 0, prev);
            want = 0;
            c->nchains++;
        }
        want++;
        if (seq != want) {
            fprintf(stderr, "chain %s: seq %lld where %lld\n", chain, (long long)seq, (long long)want);
            c->bad++;
        }
        if (memcmp(PQgetvalue(res, i, 3), prev, 32) != 0) {
            fprintf(stderr, "chain %s seq %lld: prev_hash is not the previous row's hash\n", chain, (long long)seq);
            c->bad++;
        }
        for (int k = 0; k < 8; k++)
            be[k] = (uint8_t)((uint64_t)seq >> (56 - 8 * k));
        sha256(PQgetvalue(res, i, 2), (size_t)PQgetlength(res, i, 2), NULL, 0, NULL, 0, bh);
        sha256(prev, 32, be, 8, bh, 32, rh);
        if (memcmp(PQgetvalue(res, i, 4), rh, 32) != 0) {
            fprintf(stderr, "chain %s seq %lld: row_hash is not SHA-256(prev||seq||SHA-256(body))\n", chain,
                    (long long)seq);
            c->bad++;
        }
        memcpy(prev, rh, 32);
        c->rows++;
    }
}

static int check_chains(struct ar_pg *pg, int *nchains)
{
    struct chains c = {0, 0, 0, 0};
    struct rec heads;

    CHECK_EQ_INT(ar_pg_query(pg, "SELECT chain, seq, body, prev_hash, row_hash FROM archive_events ORDER BY chain, seq",
                             0, NULL, 1, chains_cb, &c),
                 0);
    RUN_UNTIL(c.done, 15000);
    CHECK(c.done);
    /* Each head is its chain's last row. */
    CHECK_EQ_INT(query_wait(pg,
                            "SELECT count(*) FROM archive_heads h WHERE h.seq IS DISTINCT FROM "
                            "(SELECT max(e.seq) FROM archive_events e WHERE e.chain = h.chain) OR h.head IS "
                            "DISTINCT FROM (SELECT e.row_hash FROM archive_events e WHERE e.chain = h.chain "
                            "AND e.seq = h.seq)",
                            0, NULL, &heads),
                 0);
    CHECK_EQ_STR(heads.val, "0");
    *nchains = c.nchains;
    return c.bad ? -1 : c.rows;
}

/* --- the tests ------------------------------------------------------------ */

static struct ar_pg *open_pg(const char *conninfo, struct state *st)
{
    char why[256] = "";
    struct ar_pg *pg = ar_pg_new(base, conninfo, NULL, why, sizeof why);
    CHECK(pg != NULL);
    if (!pg) {
        fprintf(stderr, "ar_pg_new: %s\n", why);
        exit(1);
    }
    memset(st, 0, sizeof *st);
    st->last = -1;
    ar_pg_on_state(pg, state_cb, st);
    return pg;
}

static void test_bad_conninfo(void)
{
    char why[256] = "";
    CHECK(ar_pg_new(base, "host=x port", NULL, why, sizeof why) == NULL);
    CHECK(strstr(why, "conninfo") != NULL);
    ar_pg_free(NULL);
}

static void test_queue(struct ar_pg *pg)
{
    struct rec r[20], e, nul, last;
    char v[20][8];
    const char *params[1];
    int accepted = 0, refused = -1;
    static struct rec many[1100];

    order_counter = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(v[i], sizeof v[i], "%d", i * 7);
        params[0] = v[i];
        CHECK_EQ_INT(query(pg, "SELECT $1::int + 1", 1, params, 0, &r[i]), 0);
        if (i == 9)
            CHECK_EQ_INT(query(pg, "SELECT 1/0", 0, NULL, 0, &e), 0);
    }
    params[0] = NULL;
    CHECK_EQ_INT(query(pg, "SELECT $1::text IS NULL", 1, params, 0, &nul), 0);
    CHECK(RUN_UNTIL(nul.done, 15000));
    for (int i = 0; i < 20; i++) {
        char want[8];
        snprintf(want, sizeof want, "%d", i * 7 + 1);
        CHECK_EQ_INT(r[i].done, 1);
        CHECK_EQ_INT(r[i].ok, 1);
        CHECK_EQ_STR(r[i].val, want);
        CHECK_EQ_INT(r[i].order, i + 1 + (i >= 10)); /* in order, the failing one at 11 */
        CHECK_EQ_INT(r[i].inside, 0);
    }
    CHECK_EQ_INT(e.done, 1);
    CHECK_EQ_INT(e.ok, 0);
    CHECK_EQ_INT(e.order, 11);
    CHECK(strstr(e.err, "division by zero") != NULL);
    CHECK(strchr(e.err, '\n') == NULL);
    CHECK_EQ_STR(nul.val, "t");
    CHECK_EQ_STR(e.err, "ERROR 22012: division by zero");
    /* A DETAIL may quote a row (a number, a document): only the primary message is passed on. */
    {
        struct rec d;
        CHECK_EQ_INT(
            query_wait(pg, "DO $$ BEGIN RAISE EXCEPTION 'boom' USING DETAIL = 'row (8491234567)'; END $$", 0, NULL, &d),
            -1);
        CHECK_EQ_STR(d.err, "ERROR P0001: boom");
    }

    /* 1024 waiting at most: the caller backs off. */
    for (int i = 0; i < 1100; i++) {
        if (query(pg, "SELECT 1", 0, NULL, 0, &many[i]) == 0) {
            accepted++;
        } else if (refused < 0) {
            refused = i;
        }
    }
    CHECK_EQ_INT(accepted, 1024);
    CHECK_EQ_INT(refused, 1024);
    CHECK(RUN_UNTIL(many[1023].done, 30000));
    for (int i = 0; i < 1024; i++)
        CHECK(many[i].done == 1 && many[i].ok);
    CHECK_EQ_INT(query_wait(pg, "SELECT 'after'", 0, NULL, &last), 0);
}

static void test_outage(struct ar_pg *pg1, struct state *s1, struct ar_pg *pg2, struct state *s2)
{
    struct rec sleep, after, down, back, back2;
    int downs1 = s1->downs;

    CHECK_EQ_INT(query(pg1, "SELECT pg_sleep(60)", 0, NULL, 0, &sleep), 0);
    CHECK_EQ_INT(query(pg1, "SELECT 'queued'", 0, NULL, 0, &after), 0);
    run_for(300); /* the sleep is running */
    CHECK_EQ_INT(sleep.done, 0);
    CHECK_EQ_INT(pgctl("pg_stop fast"), 0);
    CHECK(RUN_UNTIL(sleep.done && after.done, 5000));
    CHECK_EQ_INT(sleep.ok, 0);
    CHECK_EQ_INT(after.ok, 0);
    CHECK(strstr(sleep.err, "connection lost") != NULL);
    CHECK(strstr(after.err, "connection lost") != NULL);
    CHECK_EQ_INT(after.order, sleep.order + 1);
    CHECK_EQ_INT(ar_pg_up(pg1), 0);
    CHECK_EQ_INT(s1->downs, downs1 + 1);
    CHECK_EQ_INT(s1->last, 0);
    CHECK(s1->why[0] != '\0');
    CHECK(RUN_UNTIL(!ar_pg_up(pg2), 5000)); /* the idle one notices too */
    CHECK_EQ_INT(s2->last, 0);

    /* Queued while down: fails when the next attempt does. */
    CHECK_EQ_INT(query(pg1, "SELECT 'down'", 0, NULL, 0, &down), 0);
    CHECK(RUN_UNTIL(down.done, 15000));
    CHECK_EQ_INT(down.ok, 0);
    CHECK(strstr(down.err, "not connected") != NULL);
    CHECK_EQ_INT(s1->downs, downs1 + 1); /* one change, however many attempts */

    CHECK_EQ_INT(pgctl("pg_start"), 0);
    CHECK(RUN_UNTIL(ar_pg_up(pg1) && ar_pg_up(pg2), 20000));
    CHECK_EQ_INT(s1->last, 1);
    CHECK_EQ_INT(s2->last, 1);
    CHECK_EQ_INT(query_wait(pg1, "SELECT 'back'", 0, NULL, &back), 0);
    CHECK_EQ_STR(back.val, "back");
    CHECK_EQ_INT(query_wait(pg2, "SELECT 'back2'", 0, NULL, &back2), 0);
    CHECK_EQ_INT(count_migrations(pg1), (int)ar_n_migrations); /* re-checked, not re-applied */
}

static void test_ingest(struct ar_pg *a, struct ar_pg *b)
{
    enum { N = 600, PER = 50 };
    struct rec ra[N / PER], rb[N / PER], dup, dup2, total;
    const char *params[1];
    int rows, nchains, inserted = 0;

    /*
     * a sends events 0..599 in batches of 50 ascending, b the same events in
     * batches descending: both at once, each event sent twice, all chains hot.
     */
    for (int k = 0; k < N / PER; k++) {
        char *sa = batch(k * PER, (k + 1) * PER);
        char *sb = batch(N - (k + 1) * PER, N - k * PER);
        params[0] = sa;
        CHECK_EQ_INT(query(a, "SELECT archive_ingest($1::jsonb)", 1, params, 0, &ra[k]), 0);
        params[0] = sb;
        CHECK_EQ_INT(query(b, "SELECT archive_ingest($1::jsonb)", 1, params, 0, &rb[k]), 0);
        free(sa);
        free(sb);
    }
    CHECK(RUN_UNTIL(ra[N / PER - 1].done && rb[N / PER - 1].done, 60000));
    for (int k = 0; k < N / PER; k++) {
        CHECK(ra[k].ok && rb[k].ok);
        if (!ra[k].ok || !rb[k].ok)
            fprintf(stderr, "ingest %d: %s %s\n", k, ra[k].err, rb[k].err);
        inserted += atoi(ra[k].val) + atoi(rb[k].val);
    }
    CHECK_EQ_INT(inserted, N); /* each event once, whichever connection won it */
    rows = check_chains(a, &nchains);
    CHECK_EQ_INT(rows, N);
    CHECK_EQ_INT(nchains, 16);

    /* The same batch again: nothing new, the chains unchanged. */
    {
        char *s = batch(100, 150);
        params[0] = s;
        CHECK_EQ_INT(query_wait(a, "SELECT archive_ingest($1::jsonb)", 1, params, &dup), 0);
        CHECK_EQ_STR(dup.val, "0");
        free(s);
        s = batch(N - 10, N + 5); /* 10 known, 5 new */
        params[0] = s;
        CHECK_EQ_INT(query_wait(b, "SELECT archive_ingest($1::jsonb)", 1, params, &dup2), 0);
        CHECK_EQ_STR(dup2.val, "5");
        free(s);
    }
    CHECK_EQ_INT(query_wait(a, "SELECT count(*) FROM archive_events", 0, NULL, &total), 0);
    CHECK_EQ_INT(atoi(total.val), N + 5);
    CHECK_EQ_INT(check_chains(b, &nchains), N + 5);
}

static void test_db(const char *conninfo)
{
    struct cfg_archive a;
    char why[256] = "";
    PGconn *db;

    memset(&a, 0, sizeof a);
    snprintf(a.conninfo, sizeof a.conninfo, "%s", conninfo);
    db = ar_db_open(&a, why, sizeof why);
    CHECK(db != NULL);
    if (!db) {
        fprintf(stderr, "ar_db_open: %s\n", why);
    } else {
        PGresult *r = PQexec(db, "SELECT count(*) FROM archive_migrations");
        CHECK_EQ_INT(PQresultStatus(r), PGRES_TUPLES_OK);
        CHECK_EQ_INT(atoi(PQgetvalue(r, 0, 0)), (int)ar_n_migrations);
        PQclear(r);
        /* The lock is released: this session holds no advisory lock. */
        r = PQexec(db, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
        CHECK_EQ_STR(PQgetvalue(r, 0, 0), "0");
        PQclear(r);
    }
    ar_db_close(db);
    ar_db_close(NULL);
    snprintf(a.conninfo, sizeof a.conninfo, "%s dbname=no_such_db", conninfo);
    why[0] = '\0';
    CHECK(ar_db_open(&a, why, sizeof why) == NULL);
    CHECK(strstr(why, "no_such_db") != NULL);
}

static void test_free(struct ar_pg *pg)
{
    struct rec r[3];
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(query(pg, "SELECT pg_sleep(0.2)", 0, NULL, 0, &r[i]), 0);
    run_for(50);
    ar_pg_free(pg);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(r[i].done, 1);
        CHECK_EQ_INT(r[i].ok, 0);
        CHECK_EQ_STR(r[i].err, "closed");
    }
    run_for(300); /* nothing fires for the freed object */
}

/* ar_pg_free from inside a callback: the rest get "closed", the object goes when the handler returns. */
struct self_free {
    struct ar_pg *pg;
    struct rec first;
};

static void free_in_cb(void *arg, const PGresult *res, const char *err)
{
    struct self_free *f = arg;
    rec_cb(&f->first, res, err);
    ar_pg_free(f->pg);
    CHECK_EQ_INT(ar_pg_query(f->pg, "SELECT 1", 0, NULL, 0, rec_cb, &f->first), -1); /* closing: refused */
}

static void test_free_in_callback(const char *conninfo)
{
    struct state st;
    struct self_free f;
    struct rec second;

    memset(&f, 0, sizeof f);
    f.pg = open_pg(conninfo, &st);
    CHECK_EQ_INT(ar_pg_query(f.pg, "SELECT 'first'", 0, NULL, 0, free_in_cb, &f), 0);
    CHECK_EQ_INT(query(f.pg, "SELECT 'second'", 0, NULL, 0, &second), 0);
    CHECK(RUN_UNTIL(f.first.done && second.done, 15000));
    CHECK_EQ_STR(f.first.val, "first");
    CHECK_EQ_INT(second.ok, 0);
    CHECK_EQ_STR(second.err, "closed");
    run_for(100);
}

/* The session's own limits (ar_pg.c on_retry), and the operator's conninfo overriding them. */
static void test_session(const char *conninfo, struct ar_pg *pg)
{
    struct rec r;
    struct state st;
    struct ar_pg *own;
    char ci[512];

    CHECK_EQ_INT(query_wait(pg, "SELECT current_setting('statement_timeout')", 0, NULL, &r), 0);
    CHECK_EQ_STR(r.val, "1min");
    snprintf(ci, sizeof ci, "%s options='-c statement_timeout=5s'", conninfo);
    own = open_pg(ci, &st);
    CHECK(RUN_UNTIL(ar_pg_up(own), 10000));
    CHECK_EQ_INT(query_wait(own, "SELECT current_setting('statement_timeout')", 0, NULL, &r), 0);
    CHECK_EQ_STR(r.val, "5s");
    ar_pg_free(own);
}

int main(void)
{
    const char *conninfo = getenv("AR_PG_CONNINFO");
    struct state s1, s2;
    struct ar_pg *pg1, *pg2;
    struct rec early, mig;
    struct event *tick;
    struct timeval tv = {0, 20000};

    if (!conninfo || !getenv("AR_PG_CTL")) {
        fprintf(stderr, "test_ar_pg: run through test_ar_pg.sh (AR_PG_CONNINFO, AR_PG_CTL)\n");
        return 2;
    }
    base = event_base_new();
    tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    event_add(tick, &tv);
    test_bad_conninfo();

    /* An empty database, two connections at once: one migrates, the other waits for the lock. */
    pg1 = open_pg(conninfo, &s1);
    pg2 = open_pg(conninfo, &s2);
    CHECK_EQ_INT(ar_pg_up(pg1), 0);
    CHECK_EQ_INT(query(pg1, "SELECT count(*) FROM archive_events", 0, NULL, 0, &early), 0);
    CHECK(RUN_UNTIL(ar_pg_up(pg1) && ar_pg_up(pg2), 20000));
    CHECK_EQ_INT(s1.ups, 1);
    CHECK_EQ_INT(s1.downs, 0);
    CHECK_EQ_INT(s2.ups, 1);
    CHECK(RUN_UNTIL(early.done, 5000));
    CHECK_EQ_INT(early.ok, 1); /* queued before: ran after the migrations */
    CHECK_EQ_STR(early.val, "0");
    CHECK_EQ_INT(count_migrations(pg1), (int)ar_n_migrations);
    CHECK_EQ_INT(query_wait(pg2,
                            "SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM "
                            "archive_migrations",
                            0, NULL, &mig),
                 0);
    CHECK(strstr(mig.val, "1:0001_archive.sql") == mig.val);

    test_db(conninfo);
    CHECK_EQ_INT(count_migrations(pg1), (int)ar_n_migrations);
    test_session(conninfo, pg1);
    test_queue(pg1);
    test_ingest(pg1, pg2);
    test_outage(pg1, &s1, pg2, &s2);
    test_free(pg2);
    test_free_in_callback(conninfo);
    ar_pg_free(pg1);
    event_free(tick);
    event_base_free(base);
    return check_report("test_ar_pg");
}
