/*
 * test_ar_retention.c - ar_retention against a real PostgreSQL
 * (test_ar_retention.sh starts one: AR_RET_CONNINFO), with the schema's
 * migrations (SRC/gateway/archive/sql) and events in months around the
 * retention limits.  ar_pg is replaced by its stand-in (ar_pg_stub.h): each
 * query runs at once on a blocking connection and its callback comes from
 * the event loop afterwards, or with an error when the test says the
 * database is down.
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_pg_stub.h"
#include "ar_retention.h"
#include "cfg.h"
#include "check.h"
#include "gw_metrics.h"

/* ---- helpers */

static PGconn *db;

static void exec_ok(const char *sql)
{
    PGresult *res = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fprintf(stderr, "SQL failed: %s\n%s\n", sql, PQresultErrorMessage(res));
    CHECK(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
    PQclear(res);
}

/* The first value of sql's answer, in buf ("" when none). */
static const char *value(const char *sql, char *buf, size_t len)
{
    PGresult *res = PQexec(db, sql);

    buf[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        snprintf(buf, len, "%s", PQgetvalue(res, 0, 0));
    else if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "SQL failed: %s\n%s\n", sql, PQresultErrorMessage(res));
    PQclear(res);
    return buf;
}

static void load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;

    CHECK(f != NULL);
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    text = calloc(1, (size_t)n + 1);
    if (text && fread(text, 1, (size_t)n, f) == (size_t)n)
        exec_ok(text);
    free(text);
    fclose(f);
}

/* One event of kind, `ago` months before this month, day 3. */
static void event_at(const char *kind, int ago, const char *id)
{
    char sql[1024];

    snprintf(sql, sizeof(sql),
             "SELECT archive_ingest(jsonb_build_object('events', jsonb_build_array(jsonb_build_object("
             "'kind', '%s', 'event_id', '%s', 'etype', 'signature', 'body', encode('{}'::bytea, 'base64'),"
             "'at_ms', (extract(epoch from date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
             " - interval '%d months' + interval '2 days') * 1000)::bigint))))",
             kind, id, ago);
    exec_ok(sql);
}

static int partitions(void)
{
    char buf[32];
    return atoi(value("SELECT count(*) FROM pg_inherits WHERE inhparent IN ('archive_events_sign'::regclass,"
                      " 'archive_events_cert'::regclass)",
                      buf, sizeof(buf)));
}

/* Run the loop for a second: every stand-in answer is immediate, the next retention run hours away. */
static void spin(struct event_base *base)
{
    struct timeval tv = {1, 0};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

int main(void)
{
    const char *conninfo = getenv("AR_RET_CONNINFO"), *src = getenv("SRC");
    struct event_base *base = event_base_new();
    struct ar_pg pg = {.base = base};
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    struct gw_metrics *m = calloc(1, sizeof(*m));
    struct ar_retention *r, *r2;
    char path[1024], buf[512];

    if (!conninfo || !src || !base || !cfg || !m) {
        fprintf(stderr, "test_ar_retention: needs AR_RET_CONNINFO and SRC (run test_ar_retention.sh)\n");
        return 1;
    }
    db = PQconnectdb(conninfo);
    CHECK(PQstatus(db) == CONNECTION_OK);
    pg.db = db;
    snprintf(path, sizeof(path), "%s/gateway/archive/sql/0001_archive.sql", src);
    load_file(path);
    snprintf(path, sizeof(path), "%s/gateway/archive/sql/0002_retention.sql", src);
    load_file(path);

    /* sign 1 year: 13 and 40 months ago expire, 12 and this month stay.  cert 3 years: 37 and 50 go, 36 stays. */
    event_at("sign", 40, "s40");
    event_at("sign", 13, "s13");
    event_at("sign", 12, "s12");
    event_at("sign", 0, "s0");
    event_at("cert", 50, "c50");
    event_at("cert", 37, "c37");
    event_at("cert", 36, "c36");
    CHECK_EQ_INT(partitions(), 7);

    /* Both years 0: never a query. */
    cfg->archive.retention_sign_years = 0;
    cfg->archive.retention_cert_years = 0;
    r = ar_retention_new(base, &pg, cfg);
    CHECK(r != NULL);
    spin(base);
    CHECK_EQ_INT(pg.asked, 0);
    ar_retention_free(r);

    /* The database down: nothing dropped, nothing counted, no crash; the run is tried again later. */
    cfg->archive.retention_sign_years = 1;
    cfg->archive.retention_cert_years = 3;
    pg.down = 1;
    r = ar_retention_new(base, &pg, cfg);
    ar_retention_metrics(r, m);
    CHECK(m->retention.on == 1);
    spin(base);
    CHECK(pg.asked >= 1);
    CHECK_EQ_INT(m->retention.partitions_dropped, 0);
    CHECK_EQ_INT(partitions(), 7);
    ar_retention_free(r);
    pg.down = 0;

    /* Freed while its first query waits for the answer: the answer finds it gone, and frees it. */
    pg.asked = 0;
    pg.hold = 1;
    r = ar_retention_new(base, &pg, cfg);
    spin(base); /* the start timer: the first query goes out, its answer held */
    CHECK_EQ_INT(pg.asked, 1);
    CHECK_EQ_INT(pg.nheld, 1);
    ar_retention_free(r);
    pg.hold = 0;
    ar_pg_stub_deliver(&pg); /* as ar_pg_free answers "closed" */
    spin(base);
    CHECK_EQ_INT(pg.asked, 1);
    CHECK_EQ_INT(partitions(), 7);

    /* Two instances at once: the four expired months go, each counted once. */
    r = ar_retention_new(base, &pg, cfg);
    r2 = ar_retention_new(base, &pg, cfg);
    ar_retention_metrics(r, m);
    ar_retention_metrics(r2, m);
    spin(base);
    CHECK_EQ_INT(m->retention.partitions_dropped, 4);
    CHECK_EQ_INT(partitions(), 3);
    CHECK_EQ_INT(
        atoi(value("SELECT count(*) FROM archive_events WHERE event_id IN ('s12', 's0', 'c36')", buf, sizeof(buf))), 3);
    CHECK_EQ_INT(atoi(value("SELECT count(*) FROM archive_events", buf, sizeof(buf))), 3);
    CHECK_EQ_INT(
        atoi(value("SELECT count(*) FROM archive_dropped WHERE how = 'retention' AND last_seq = 1", buf, sizeof(buf))),
        4);
    CHECK_EQ_INT(atoi(value("SELECT count(*) FROM archive_heads", buf, sizeof(buf))), 3);
    ar_retention_free(r);
    ar_retention_free(r2);
    ar_retention_free(NULL);

    PQfinish(db);
    event_base_free(base);
    free(cfg);
    free(m);
    return check_report("test_ar_retention");
}
