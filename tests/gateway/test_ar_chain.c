/*
 * test_ar_chain.c - ar_chain.h against the schema's own SQL: archive_genesis
 * and archive_row_hash of a live PostgreSQL (conninfo in AR_TEST_PG, the
 * schema loaded: test_ar_chain.sh does both), octet for octet, for bodies
 * of every shape and seqs across octet boundaries; then a chain that
 * archive_ingest built, recomputed row by row.  Without AR_TEST_PG only the
 * fixed vectors run.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_chain.h"
#include "check.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* One bytea out of a one-row text result ("\x..."), into out[32]; 0 or -1. */
static int bytea_of(PGresult *r, uint8_t out[AR_HASH_LEN])
{
    size_t n = 0;
    unsigned char *v;

    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "query: %s", PQresultErrorMessage(r));
        return -1;
    }
    v = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
    if (!v || n != AR_HASH_LEN) {
        PQfreemem(v);
        return -1;
    }
    memcpy(out, v, AR_HASH_LEN);
    PQfreemem(v);
    return 0;
}

static void fixed_vectors(void)
{
    uint8_t g[AR_HASH_LEN], h[AR_HASH_LEN];
    char x[2 * AR_HASH_LEN + 1];

    /* printf 'simpki-archive:sign/2026-12' | sha256sum */
    CHECK(ar_chain_genesis("sign/2026-12", g) == 0);
    hex(g, sizeof(g), x);
    CHECK_EQ_STR(x, "c8d2be0ed79ee83dd64eff3c0a8a6629dd532a178562c9e6ab9859de909ac383");
    /* (genesis || 00..01 || sha256("{}")) | sha256sum, by openssl on the command line */
    CHECK(ar_chain_row_hash(g, 1, (const uint8_t *)"{}", 2, h) == 0);
    hex(h, sizeof(h), x);
    CHECK_EQ_STR(x, "5701d714fe84ffa4378fcef891e57ea1f3c1ebd9f2572b8777c5e6edc36b8af3");
    CHECK(ar_chain_row_hash(g, 1, NULL, 0, h) == 0);
}

/* The SQL function and the C one over the same input. */
static void against_sql(PGconn *c)
{
    static const char *const chains[] = {"sign/2026-12", "cert/1999-01", "sign/2026-1ý", ""};
    static const int64_t seqs[] = {1, 2, 255, 256, 65537, 4294967296LL + 3, 0x0102030405060708LL};
    uint8_t big[3000], sqlh[AR_HASH_LEN], ch[AR_HASH_LEN], prev[AR_HASH_LEN];
    struct {
        const uint8_t *p;
        size_t n;
    } bodies[] = {
        {(const uint8_t *)"", 0},
        {(const uint8_t *)"{}", 2},
        {(const uint8_t *)"{\"at\":\"2026-12-06T09:00:00.000Z\",\"msisdn\":\"84961234567\",\"text\":\"Ký văn bản\"}",
         0},
        {big, sizeof(big)},
    };
    bodies[2].n = strlen((const char *)bodies[2].p);
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);

    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        const char *v[1] = {chains[i]};
        PGresult *r = PQexecParams(c, "SELECT archive_genesis($1)", 1, NULL, v, NULL, NULL, 0);
        CHECK(bytea_of(r, sqlh) == 0);
        PQclear(r);
        CHECK(ar_chain_genesis(chains[i], ch) == 0);
        CHECK_MEM(ch, sqlh, AR_HASH_LEN);
    }
    CHECK(ar_chain_genesis("sign/2026-12", prev) == 0);
    for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
        for (size_t s = 0; s < sizeof(seqs) / sizeof(seqs[0]); s++) {
            char seq[32];
            const char *v[3] = {(const char *)prev, seq, (const char *)bodies[b].p};
            int len[3] = {AR_HASH_LEN, 0, (int)bodies[b].n};
            int fmt[3] = {1, 0, 1};
            PGresult *r;

            snprintf(seq, sizeof(seq), "%lld", (long long)seqs[s]);
            r = PQexecParams(c, "SELECT archive_row_hash($1::bytea, $2::bigint, $3::bytea)", 3, NULL, v, len, fmt, 0);
            CHECK(bytea_of(r, sqlh) == 0);
            PQclear(r);
            CHECK(ar_chain_row_hash(prev, seqs[s], bodies[b].p, bodies[b].n, ch) == 0);
            CHECK_MEM(ch, sqlh, AR_HASH_LEN);
            memcpy(prev, ch, AR_HASH_LEN); /* the next case starts from this one: every prev differs */
        }
    }
}

/* A chain archive_ingest built: every row's prev and row_hash, and the head, recomputed. */
static void ingested_chain(PGconn *c)
{
    static const char ingest[] =
        "SELECT archive_ingest(jsonb_build_object('events', jsonb_agg(jsonb_build_object("
        "'kind', 'sign', 'at_ms', 1796000000000 + i * 1000, 'event_id', 'chain-t' || i, 'etype', 'signature',"
        "'body', encode(convert_to('{\"n\":' || i || ',\"pad\":\"' || repeat('x', i) || '\"}', 'UTF8'), 'base64'),"
        "'msisdn', '8496000' || lpad(i::text, 4, '0'))))) FROM generate_series(1, 40) AS i";
    PGresult *r = PQexec(c, ingest);
    uint8_t prev[AR_HASH_LEN], h[AR_HASH_LEN];
    char chain[64] = "";
    int n;

    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    CHECK_EQ_STR(PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "", "40");
    PQclear(r);
    r = PQexecParams(c,
                     "SELECT chain, seq, body, prev_hash, row_hash FROM archive_events"
                     " WHERE event_id LIKE 'chain-t%' ORDER BY seq",
                     0, NULL, NULL, NULL, NULL, 1);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
    n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    CHECK_EQ_INT(n, 40);
    for (int i = 0; i < n; i++) {
        uint64_t seq = 0;
        for (int k = 0; k < 8; k++)
            seq = seq << 8 | (uint8_t)PQgetvalue(r, i, 1)[k];
        if (i == 0) {
            snprintf(chain, sizeof(chain), "%.*s", PQgetlength(r, 0, 0), PQgetvalue(r, 0, 0));
            CHECK(ar_chain_genesis(chain, prev) == 0);
        }
        CHECK_EQ_INT(seq, i + 1);
        CHECK_MEM(PQgetvalue(r, i, 3), prev, AR_HASH_LEN);
        CHECK(ar_chain_row_hash(prev, (int64_t)seq, (const uint8_t *)PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2),
                                h) == 0);
        CHECK_MEM(PQgetvalue(r, i, 4), h, AR_HASH_LEN);
        memcpy(prev, h, AR_HASH_LEN);
    }
    PQclear(r);
    {
        const char *v[1] = {chain};
        r = PQexecParams(c, "SELECT head FROM archive_heads WHERE chain = $1", 1, NULL, v, NULL, NULL, 1);
        CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            CHECK_MEM(PQgetvalue(r, 0, 0), prev, AR_HASH_LEN);
        PQclear(r);
    }
}

int main(void)
{
    const char *ci = getenv("AR_TEST_PG");
    PGconn *c;

    fixed_vectors();
    if (!ci || !ci[0]) {
        fprintf(stderr, "AR_TEST_PG unset: only the fixed vectors ran (test_ar_chain.sh starts a server)\n");
        return check_report("test_ar_chain");
    }
    c = PQconnectdb(ci);
    CHECK(PQstatus(c) == CONNECTION_OK);
    if (PQstatus(c) == CONNECTION_OK) {
        against_sql(c);
        ingested_chain(c);
    } else {
        fprintf(stderr, "connect: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return check_report("test_ar_chain");
}
