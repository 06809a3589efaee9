/*
 * test_ar_anchor.c - ar_anchor against a live PostgreSQL (AR_TEST_PG, the
 * schema loaded) and a real RFC 3161 TSA (TSA_URL, TSA_TRUST; TSA_SERIAL is
 * its serial file, which counts the tokens it issued): test_ar_anchor.sh
 * starts both.
 *
 * ar_pg is replaced by its stand-in (ar_pg_stub.h: blocking libpq, every
 * answer delivered from the event loop as ar_pg_query promises), so
 * that the anchoring is tested alone: two instances anchor two chains at
 * the same ticks and each head gets exactly one token (the TSA issued as
 * many as there are anchors), every token verifies over its head and the
 * head is archive_heads', nothing is anchored again while no head moves,
 * a moved head is anchored, a TSA that does not answer counts failed.
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_anchor.h"
#include "ar_chain.h"
#include "ar_pg_stub.h"
#include "cfg.h"
#include "check.h"
#include "gw_metrics.h"
#include "sig_tsa.h"

/* ---- helpers -------------------------------------------------------------- */

static PGconn *db;

static long long scalar(const char *sql)
{
    PGresult *r = PQexec(db, sql);
    long long v = -1;

    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

/* n events of kind at month (YYYY-MM-01) into its chain, event ids prefix1..n. */
static void ingest(const char *kind, const char *month, const char *prefix, int n)
{
    char sql[1024];
    PGresult *r;

    snprintf(sql, sizeof(sql),
             "SELECT archive_ingest(jsonb_build_object('events', jsonb_agg(jsonb_build_object('kind', '%s',"
             " 'at_ms', (extract(epoch FROM timestamptz '%s 00:00:00+00') * 1000)::bigint + i * 1000,"
             " 'event_id', '%s' || i, 'etype', 'signature',"
             " 'body', encode(convert_to('{\"event_id\":\"%s' || i || '\"}', 'UTF8'), 'base64')))))"
             " FROM generate_series(1, %d) AS i",
             kind, month, prefix, prefix, n);
    r = PQexec(db, sql);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "ingest: %s", PQresultErrorMessage(r));
    PQclear(r);
}

static void run_for(struct event_base *base, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

/* Tokens the TSA issued: its serial file holds the next serial, in hex, from 01. */
static long long tsa_issued(void)
{
    const char *path = getenv("TSA_SERIAL");
    char buf[64] = "";
    FILE *f = path ? fopen(path, "r") : NULL;

    if (!f)
        return -1;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = '\0';
    fclose(f);
    return strtoll(buf, NULL, 16) - 1;
}

/* Every anchor: its head is the chain's hash at its seq, and its token verifies over the head. */
static void anchors_verify(const struct cfg *cfg)
{
    struct sig_tsa *tsa = NULL;
    char why[256];
    PGresult *r = PQexecParams(db,
                               "SELECT a.head, a.tst, e.row_hash FROM archive_anchors a"
                               " LEFT JOIN archive_events e ON e.chain = a.chain AND e.seq = a.seq",
                               0, NULL, NULL, NULL, NULL, 1);

    CHECK(sig_tsa_new(cfg->tsa_trust, NULL, &tsa, why, sizeof(why)) == SIG_OK);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    for (int i = 0; tsa && PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
        time_t gen = 0;
        CHECK_EQ_INT(PQgetlength(r, i, 0), AR_HASH_LEN);
        CHECK(PQgetlength(r, i, 2) == AR_HASH_LEN &&
              memcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i, 2), AR_HASH_LEN) == 0);
        CHECK(sig_tsa_check_token(tsa, (const uint8_t *)PQgetvalue(r, i, 0), AR_HASH_LEN,
                                  (const uint8_t *)PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), &gen, why,
                                  sizeof(why)) == SIG_OK);
        CHECK(gen > 1700000000);
    }
    PQclear(r);
    sig_tsa_free(tsa);
}

static struct ar_pg *pg_open(struct event_base *base, const char *ci)
{
    struct ar_pg *pg = calloc(1, sizeof(*pg));
    pg->base = base;
    pg->db = PQconnectdb(ci);
    CHECK(PQstatus(pg->db) == CONNECTION_OK);
    return pg;
}

static void pg_close(struct ar_pg *pg)
{
    PQfinish(pg->db);
    free(pg);
}

int main(void)
{
    const char *ci = getenv("AR_TEST_PG"), *url = getenv("TSA_URL"), *trust = getenv("TSA_TRUST");
    struct event_base *base = event_base_new();
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    struct gw_metrics ma = {0}, mb = {0}, mc = {0};
    struct ar_pg *pa, *pb;
    struct ar_anchor *a, *b, *c;
    char why[256] = "";

    if (!ci || !url || !trust) {
        fprintf(stderr, "AR_TEST_PG, TSA_URL, TSA_TRUST: run test_ar_anchor.sh\n");
        return 1;
    }
    db = PQconnectdb(ci);
    CHECK(PQstatus(db) == CONNECTION_OK);
    snprintf(cfg->tsa_trust, sizeof(cfg->tsa_trust), "%s", trust);
    cfg->tsa_timeout_ms = 3000;
    cfg->archive.enabled = 1;

    /* Off: no interval, or no TSA. */
    CHECK(ar_anchor_new(base, NULL, cfg, &ma, &a, why, sizeof why) == 0 && a == NULL);
    cfg->archive.anchor_interval_s = 1;
    CHECK(ar_anchor_new(base, NULL, cfg, &ma, &a, why, sizeof why) == 0 && a == NULL);
    CHECK_EQ_INT(ma.ar_anchoring, 0);
    snprintf(cfg->tsa_url, sizeof(cfg->tsa_url), "%s", url);
    /* Asked for, and tsa_trust unreadable: an error that names it, nothing started. */
    snprintf(cfg->tsa_trust, sizeof(cfg->tsa_trust), "/nonexistent/tsa.pem");
    CHECK(ar_anchor_new(base, NULL, cfg, &ma, &a, why, sizeof why) == -1 && a == NULL);
    CHECK(strstr(why, "tsa_trust /nonexistent/tsa.pem") != NULL);
    CHECK_EQ_INT(ma.ar_anchoring, 0);
    snprintf(cfg->tsa_trust, sizeof(cfg->tsa_trust), "%s", trust);

    ingest("sign", "2026-12-01", "dec", 30);
    ingest("cert", "2026-11-01", "req", 12);
    pa = pg_open(base, ci);
    pb = pg_open(base, ci);
    CHECK(ar_anchor_new(base, pa, cfg, &ma, &a, why, sizeof why) == 0);
    CHECK(ar_anchor_new(base, pb, cfg, &mb, &b, why, sizeof why) == 0);
    CHECK(a && b);
    CHECK(ma.ar_anchoring && mb.ar_anchoring);

    /* Two instances, same ticks: each head once. */
    run_for(base, 3500);
    CHECK_EQ_INT(scalar("SELECT count(*) FROM archive_anchors"), 2);
    CHECK_EQ_INT(scalar("SELECT count(*) FROM archive_anchors a JOIN archive_heads h USING (chain, seq, head)"), 2);
    CHECK_EQ_INT(tsa_issued(), 2);
    CHECK_EQ_INT(ma.ar_anchors_ok + mb.ar_anchors_ok, 2);
    CHECK_EQ_INT(ma.ar_anchors_failed + mb.ar_anchors_failed, 0);

    /* Nothing moved: nothing new. */
    run_for(base, 2200);
    CHECK_EQ_INT(scalar("SELECT count(*) FROM archive_anchors"), 2);
    CHECK_EQ_INT(tsa_issued(), 2);

    /* One head moved: that one anchored again, at its new seq. */
    ingest("sign", "2026-12-02", "dec2-", 5);
    run_for(base, 2200);
    CHECK_EQ_INT(scalar("SELECT count(*) FROM archive_anchors"), 3);
    CHECK_EQ_INT(scalar("SELECT max(seq) FROM archive_anchors WHERE chain = 'sign/2026-12'"), 35);
    CHECK_EQ_INT(tsa_issued(), 3);
    CHECK_EQ_INT(ma.ar_anchors_ok + mb.ar_anchors_ok, 3);
    anchors_verify(cfg);

    ar_anchor_free(a);
    ar_anchor_free(b);
    ar_anchor_free(NULL);

    /* A TSA that does not answer: counted failed, nothing stored, tried again next round. */
    snprintf(cfg->tsa_url, sizeof(cfg->tsa_url), "http://127.0.0.1:9/tsa");
    ingest("cert", "2026-11-02", "req2-", 3);
    CHECK(ar_anchor_new(base, pa, cfg, &mc, &c, why, sizeof why) == 0);
    CHECK(c != NULL);
    run_for(base, 2500);
    CHECK(mc.ar_anchors_failed >= 1);
    CHECK_EQ_INT(mc.ar_anchors_ok, 0);
    CHECK_EQ_INT(scalar("SELECT count(*) FROM archive_anchors"), 3);
    /* The lock was released after the failed round: another instance may anchor. */
    CHECK_EQ_INT(scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"), 0);
    ar_anchor_free(c);

    pg_close(pa);
    pg_close(pb);
    PQfinish(db);
    free(cfg);
    event_base_free(base);
    return check_report("test_ar_anchor");
}
