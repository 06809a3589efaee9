/* gw_admin_archive.c - simpki-admin verify-archive (gw_admin_archive.h). */
#include "gw_admin_archive.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ar_chain.h"
#include "ar_db.h"
#include "cfg.h"
#include "sig_tsa.h"

#define FETCH_ROWS 200 /* rows per FETCH: bodies are a few KB each */

/* The columns of the row cursor, in its SELECT's order. */
enum col {
    C_SEQ,
    C_EVENT_ID,
    C_KIND,
    C_ETYPE,
    C_AT_MS,
    C_TXN_ID,
    C_MSISDN,
    C_RP,
    C_CERT_SERIAL,
    C_CERT_SHA256,
    C_BODY,
    C_PREV,
    C_ROW_HASH,
    C_CERT_PRESENT,
    C_CHAIN,
};

static const char q_rows[] =
    "SELECT e.seq, e.event_id, e.kind, e.etype, (extract(epoch FROM e.at) * 1000)::bigint, e.txn_id, e.msisdn,"
    " e.rp, e.cert_serial, e.cert_sha256, e.body, e.prev_hash, e.row_hash,"
    " (e.cert_sha256 IS NULL OR EXISTS (SELECT 1 FROM archive_certs c WHERE c.sha256 = e.cert_sha256)), e.chain"
    " FROM archive_events e WHERE e.chain = $1 ORDER BY e.seq, e.event_id";

/* Every chain named anywhere: heads, anchors, rows (a loose index scan over (chain, seq)). */
static const char q_chains[] =
    "WITH RECURSIVE r AS (SELECT min(chain) AS chain FROM archive_events"
    " UNION ALL SELECT (SELECT min(chain) FROM archive_events WHERE chain > r.chain) FROM r WHERE r.chain IS NOT NULL)"
    " SELECT chain FROM r WHERE chain IS NOT NULL UNION SELECT chain FROM archive_heads"
    " UNION SELECT chain FROM archive_anchors ORDER BY 1";

struct anchor_ref {
    int64_t seq;
    uint8_t head[AR_HASH_LEN];
};

/* One chain's verdict. */
struct verdict {
    long long rows, anchors;
    int broken;
    long long seq;     /* where, when broken (0: the chain as a whole) */
    char event[256];   /* the event id of the row named, "" when none */
    char what[512];    /* what is wrong */
    char dropped[256]; /* archive_dropped's "how", when the chain was dropped */
};

struct verify {
    PGconn *db;
    struct sig_tsa *tsa; /* NULL without tsa_trust */
    int json;
    json_t *doc;    /* --json: the document */
    json_t *chains; /* --json: its "chains" array (borrowed from doc) */
    int bad;        /* anything broken or unreadable */
};

static PGresult *run(struct verify *v, const char *sql, int n, const char *const *vals, int binary)
{
    PGresult *r = PQexecParams(v->db, sql, n, NULL, vals, NULL, NULL, binary);
    ExecStatusType st = PQresultStatus(r);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    fprintf(stderr, "error: database: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(v->db));
    PQclear(r);
    return NULL;
}

static int64_t be64(const char *p)
{
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = x << 8 | (uint8_t)p[i];
    return (int64_t)x;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static void broken(struct verdict *d, long long seq, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void broken(struct verdict *d, long long seq, const char *event, const char *fmt, ...)
{
    va_list ap;

    if (d->broken)
        return; /* the first break is the one named */
    d->broken = 1;
    d->seq = seq;
    snprintf(d->event, sizeof(d->event), "%s", event ? event : "");
    va_start(ap, fmt);
    vsnprintf(d->what, sizeof(d->what), fmt, ap);
    va_end(ap);
}

/* A text column against the body's field: both absent (NULL / no key) or the same string. */
static int same_text(json_t *body, const char *key, const PGresult *r, int i, int col)
{
    json_t *f = json_object_get(body, key);

    if (PQgetisnull(r, i, col))
        return !f || json_is_null(f);
    return json_is_string(f) && json_string_length(f) == (size_t)PQgetlength(r, i, col) &&
           memcmp(json_string_value(f), PQgetvalue(r, i, col), json_string_length(f)) == 0;
}

/* The search columns and the chain against the body; NULL when they agree, else the first that does not. */
static const char *columns_disagree(json_t *body, const PGresult *r, int i, const char *chain)
{
    static const struct {
        const char *key;
        int col;
        const char *name;
    } texts[] = {
        {"event_id", C_EVENT_ID, "event_id"},
        {"kind", C_KIND, "kind"},
        {"type", C_ETYPE, "etype"},
        {"txn_id", C_TXN_ID, "txn_id"},
        {"msisdn", C_MSISDN, "msisdn"},
        {"rp", C_RP, "rp"},
        {"cert_serial", C_CERT_SERIAL, "cert_serial"},
    };
    json_t *f;
    char want[AR_HASH_LEN * 2 + 1], month[32];
    struct tm tm;
    time_t t;
    int64_t at_ms = be64(PQgetvalue(r, i, C_AT_MS));

    for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++)
        if (!same_text(body, texts[k].key, r, i, texts[k].col))
            return texts[k].name;
    f = json_object_get(body, "at_ms");
    if (!json_is_integer(f) || json_integer_value(f) != at_ms)
        return "at";
    f = json_object_get(body, "cert_sha256");
    if (PQgetisnull(r, i, C_CERT_SHA256)) {
        if (f && !json_is_null(f))
            return "cert_sha256";
    } else {
        if (PQgetlength(r, i, C_CERT_SHA256) != AR_HASH_LEN || !json_is_string(f))
            return "cert_sha256";
        hex((const uint8_t *)PQgetvalue(r, i, C_CERT_SHA256), AR_HASH_LEN, want);
        if (strcmp(json_string_value(f), want) != 0)
            return "cert_sha256";
    }
    /* The chain is the kind and the UTC month of the event's time. */
    t = (time_t)(at_ms >= 0 ? at_ms / 1000 : (at_ms - 999) / 1000);
    if (!gmtime_r(&t, &tm) || strftime(month, sizeof(month), "%Y-%m", &tm) == 0)
        return "at";
    if (strlen(chain) != (size_t)PQgetlength(r, i, C_KIND) + 1 + strlen(month) ||
        memcmp(chain, PQgetvalue(r, i, C_KIND), (size_t)PQgetlength(r, i, C_KIND)) != 0 ||
        chain[PQgetlength(r, i, C_KIND)] != '/' || strcmp(chain + PQgetlength(r, i, C_KIND) + 1, month) != 0)
        return "chain";
    return NULL;
}

/* Where a chain walk is: the last row seen and the anchors still ahead. */
struct walk {
    struct verify *v;
    struct verdict *d;
    const char *chain;
    int64_t seq; /* of the last good row, 0 before the first */
    uint8_t hash[AR_HASH_LEN];
    const struct anchor_ref *anchors;
    long long n_anchors, next_anchor;
};

/* One row; 0 when it is good, -1 when it broke the chain (d says how). */
static int check_row(struct walk *w, const PGresult *r, int i, struct verdict *d)
{
    const char *event = PQgetvalue(r, i, C_EVENT_ID), *col;
    int64_t seq = be64(PQgetvalue(r, i, C_SEQ)), want = w->seq + 1;
    const uint8_t *body = (const uint8_t *)PQgetvalue(r, i, C_BODY);
    size_t body_len = (size_t)PQgetlength(r, i, C_BODY);
    uint8_t h[AR_HASH_LEN];
    json_error_t jerr;
    json_t *j;

    if (seq > want) {
        if (seq == want + 1)
            broken(d, want, event, "seq %lld missing (the next row is seq %lld)", (long long)want, (long long)seq);
        else
            broken(d, want, event, "seq %lld to %lld missing (the next row is seq %lld)", (long long)want,
                   (long long)seq - 1, (long long)seq);
        return -1;
    }
    if (seq < want) {
        broken(d, seq, event, "seq %lld appears twice (rows duplicated or reordered)", (long long)seq);
        return -1;
    }
    if (PQgetlength(r, i, C_PREV) != AR_HASH_LEN || memcmp(PQgetvalue(r, i, C_PREV), w->hash, AR_HASH_LEN) != 0) {
        if (seq == 1)
            broken(d, seq, event, "prev_hash is not the chain's genesis hash (rows reordered or removed)");
        else
            broken(d, seq, event, "prev_hash is not row %lld's hash (rows reordered or removed)", (long long)seq - 1);
        return -1;
    }
    if (ar_chain_row_hash(w->hash, seq, body, body_len, h) != 0) {
        broken(d, seq, event, "cannot compute SHA-256 (OpenSSL failed)");
        return -1;
    }
    if (PQgetlength(r, i, C_ROW_HASH) != AR_HASH_LEN || memcmp(PQgetvalue(r, i, C_ROW_HASH), h, AR_HASH_LEN) != 0) {
        broken(d, seq, event, "row_hash does not match its contents");
        return -1;
    }
    j = json_loadb((const char *)body, body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        broken(d, seq, event, "the body is not a JSON object (%s)", jerr.text);
        return -1;
    }
    col = columns_disagree(j, r, i, w->chain);
    json_decref(j);
    if (col && strcmp(col, "chain") == 0) {
        broken(d, seq, event, "the row's kind and time belong to another chain");
        return -1;
    }
    if (col) {
        broken(d, seq, event, "column %s does not match the body", col);
        return -1;
    }
    if (PQgetvalue(r, i, C_CERT_PRESENT)[0] != 1) {
        broken(d, seq, event, "its certificate (cert_sha256) is not in archive_certs");
        return -1;
    }
    while (w->next_anchor < w->n_anchors && w->anchors[w->next_anchor].seq == seq) {
        if (memcmp(w->anchors[w->next_anchor].head, h, AR_HASH_LEN) != 0) {
            broken(d, seq, event,
                   "anchor at seq %lld: its head is not the chain's hash at seq %lld (rows up to it "
                   "were changed)",
                   (long long)seq, (long long)seq);
            return -1;
        }
        w->next_anchor++;
    }
    w->seq = seq;
    memcpy(w->hash, h, AR_HASH_LEN);
    return 0;
}

/* The chain's anchors (seq, head), in seq order; malloc'd.  -1 on a database error. */
static int load_anchors(struct verify *v, const char *chain, struct anchor_ref **out, long long *n)
{
    const char *p[1] = {chain};
    PGresult *r = run(v, "SELECT seq, head FROM archive_anchors WHERE chain = $1 ORDER BY seq", 1, p, 1);
    int rows;

    *out = NULL;
    *n = 0;
    if (!r)
        return -1;
    rows = PQntuples(r);
    *out = calloc((size_t)rows + 1, sizeof(**out));
    if (!*out) {
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < rows; i++) {
        (*out)[i].seq = be64(PQgetvalue(r, i, 0));
        if (PQgetlength(r, i, 1) == AR_HASH_LEN)
            memcpy((*out)[i].head, PQgetvalue(r, i, 1), AR_HASH_LEN);
        else
            memset((*out)[i].head, 0, AR_HASH_LEN); /* never a hash: it will not match */
    }
    *n = rows;
    PQclear(r);
    return 0;
}

/* One row of a cursor: 0 to go on, 1 to stop there. */
typedef int row_fn(void *ctx, const PGresult *r, int i);

/*
 * query (binary results) through a cursor, per_fetch rows a round trip, fn
 * on each row until it says stop: memory stays one batch whatever the size
 * of the table.  -1 on a database error.
 */
static int each_row(struct verify *v, const char *query, int n, const char *const *p, int per_fetch, row_fn *fn,
                    void *ctx)
{
    char sql[2048], fetch[64];
    PGresult *r;
    int rc = -1, stop = 0;

    snprintf(sql, sizeof(sql), "DECLARE ar_cur NO SCROLL CURSOR FOR %s", query);
    snprintf(fetch, sizeof(fetch), "FETCH %d FROM ar_cur", per_fetch);
    r = run(v, sql, n, p, 1);
    if (!r)
        return -1;
    PQclear(r);
    while (!stop) {
        int rows;
        r = run(v, fetch, 0, NULL, 1);
        if (!r)
            goto out;
        rows = PQntuples(r);
        for (int i = 0; i < rows && !stop; i++)
            stop = fn(ctx, r, i);
        PQclear(r);
        if (rows == 0)
            break;
    }
    rc = 0;
out:
    PQclear(run(v, "CLOSE ar_cur", 0, NULL, 0));
    return rc;
}

static int row_cb(void *ctx, const PGresult *r, int i)
{
    struct walk *w = ctx;

    w->d->rows++;
    return check_row(w, r, i, w->d) != 0;
}

/* archive_heads against the last row. */
static int check_head(struct verify *v, struct walk *w, struct verdict *d)
{
    const char *p[1] = {w->chain};
    PGresult *r = run(v, "SELECT seq, head FROM archive_heads WHERE chain = $1", 1, p, 1);
    int64_t hseq;

    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        if (w->seq > 0)
            broken(d, 0, NULL, "no head in archive_heads (the chain's head row was removed)");
        PQclear(r);
        return 0;
    }
    hseq = be64(PQgetvalue(r, 0, 0));
    if (hseq > w->seq)
        broken(d, hseq, NULL, "head says seq %lld but the last row is %lld (rows removed at the end)", (long long)hseq,
               (long long)w->seq);
    else if (hseq < w->seq)
        broken(d, w->seq, NULL, "head says seq %lld but the last row is %lld (rows added past the head)",
               (long long)hseq, (long long)w->seq);
    else if (PQgetlength(r, 0, 1) != AR_HASH_LEN || memcmp(PQgetvalue(r, 0, 1), w->hash, AR_HASH_LEN) != 0)
        broken(d, hseq, NULL, "the head in archive_heads is not the last row's hash");
    PQclear(r);
    return 0;
}

/* One anchor's token over its head, and its gen_time. */
static int token_cb(void *ctx, const PGresult *r, int i)
{
    struct walk *w = ctx;
    long long s = (long long)be64(PQgetvalue(r, i, 0));
    char why[256] = "";
    time_t gen = 0;
    enum sig_err se;

    if (PQgetlength(r, i, 1) != AR_HASH_LEN) {
        broken(w->d, s, NULL, "anchor at seq %lld: its head is not a hash", s);
        return 1;
    }
    /* Kept for years: the TSA certificate is judged at the token's time (it may have expired since). */
    se = sig_tsa_check_kept_token(w->v->tsa, (const uint8_t *)PQgetvalue(r, i, 1), AR_HASH_LEN,
                                  (const uint8_t *)PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2), &gen, why,
                                  sizeof(why));
    if (se != SIG_OK) {
        /* sig_tsa's reasons read "timestamp: token does not verify (...)": keep what follows. */
        const char *reason = why[0] ? why : sig_strerror(se);
        if (strncmp(reason, "timestamp: ", 11) == 0)
            reason += 11;
        if (strncmp(reason, "token does not verify", 21) == 0)
            reason += 21;
        broken(w->d, s, NULL, "anchor at seq %lld: timestamp token does not verify%s%s", s,
               *reason && *reason != ' ' ? ": " : "", reason);
        return 1;
    }
    if ((long long)gen != (long long)be64(PQgetvalue(r, i, 3))) {
        broken(w->d, s, NULL, "anchor at seq %lld: gen_time is not the token's time", s);
        return 1;
    }
    return 0;
}

/* Every anchor's token over its head; the heads were matched to rows during the walk. */
static int check_tokens(struct verify *v, struct walk *w, struct verdict *d)
{
    const char *p[1] = {w->chain};

    if (w->next_anchor < w->n_anchors) {
        long long s = (long long)w->anchors[w->next_anchor].seq;
        broken(d, s, NULL, "anchor at seq %lld: there is no row %lld (rows removed)", s, s);
        return 0;
    }
    if (w->n_anchors == 0)
        return 0;
    if (!v->tsa) {
        broken(d, (long long)w->anchors[0].seq, NULL,
               "anchor at seq %lld: cannot check its token: no tsa_trust in the configuration",
               (long long)w->anchors[0].seq);
        return 0;
    }
    return each_row(v,
                    "SELECT seq, head, tst, floor(extract(epoch FROM gen_time))::bigint"
                    " FROM archive_anchors WHERE chain = $1 ORDER BY seq",
                    1, p, 100, token_cb, w);
}

/* A chain retention dropped, with no rows left: said, not judged. */
static int dropped_how(struct verify *v, const char *chain, struct verdict *d)
{
    const char *p[1] = {chain};
    PGresult *r = run(v,
                      "SELECT how, last_seq FROM archive_dropped WHERE chain = $1"
                      " AND NOT EXISTS (SELECT 1 FROM archive_events WHERE chain = $1)",
                      1, p, 0);
    if (!r)
        return -1;
    if (PQntuples(r) == 1)
        snprintf(d->dropped, sizeof(d->dropped), "%s, last seq %s", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

static void report(struct verify *v, const char *chain, const struct verdict *d)
{
    if (d->broken)
        v->bad = 1;
    if (v->json) {
        json_t *o = json_pack("{s:s, s:I, s:I, s:b}", "chain", chain, "rows", (json_int_t)d->rows, "anchors",
                              (json_int_t)d->anchors, "ok", !d->broken);
        if (o && d->dropped[0])
            json_object_set_new(o, "dropped", json_string(d->dropped));
        if (o && d->broken) {
            json_object_set_new(o, "seq", json_integer(d->seq));
            if (d->event[0])
                json_object_set_new(o, "event_id", json_string(d->event));
            json_object_set_new(o, "error", json_string(d->what));
        }
        json_array_append_new(v->chains, o);
        return;
    }
    if (d->dropped[0])
        printf("chain %s: dropped (%s)\n", chain, d->dropped);
    else if (!d->broken)
        printf("chain %s: %lld rows, %lld anchors, ok\n", chain, d->rows, d->anchors);
    else if (d->event[0])
        printf("chain %s: BROKEN at seq %lld (event %s): %s\n", chain, d->seq, d->event, d->what);
    else if (d->seq)
        printf("chain %s: BROKEN at seq %lld: %s\n", chain, d->seq, d->what);
    else
        printf("chain %s: BROKEN: %s\n", chain, d->what);
    fflush(stdout);
}

/* 0 when judged (broken or not: see d), -1 on a database error. */
static int verify_chain(struct verify *v, const char *chain, struct verdict *d)
{
    struct walk w = {.v = v, .d = d, .chain = chain};
    struct anchor_ref *anchors = NULL;
    int rc = -1;

    memset(d, 0, sizeof(*d));
    if (strlen(chain) >= 128 || ar_chain_genesis(chain, w.hash) != 0) {
        broken(d, 0, NULL, "not a chain name");
        return 0;
    }
    if (dropped_how(v, chain, d) != 0)
        goto out;
    if (d->dropped[0]) {
        rc = 0;
        goto out;
    }
    if (load_anchors(v, chain, &anchors, &w.n_anchors) != 0)
        goto out;
    w.anchors = anchors;
    d->anchors = w.n_anchors;
    if (each_row(v, q_rows, 1, (const char *const[]){chain}, FETCH_ROWS, row_cb, &w) != 0)
        goto out;
    if (!d->broken && check_head(v, &w, d) != 0)
        goto out;
    if (!d->broken && check_tokens(v, &w, d) != 0)
        goto out;
    rc = 0;
out:
    free(anchors);
    return rc;
}

struct certs {
    long long n;
    char bad[AR_HASH_LEN * 2 + 1]; /* the first whose DER does not hash to its key */
};

static int cert_cb(void *ctx, const PGresult *r, int i)
{
    struct certs *c = ctx;
    uint8_t h[AR_HASH_LEN];
    unsigned int hl = 0;

    c->n++;
    if (PQgetlength(r, i, 0) != AR_HASH_LEN)
        snprintf(c->bad, sizeof(c->bad), "(a key that is not a hash)");
    else if (EVP_Digest(PQgetvalue(r, i, 1), (size_t)PQgetlength(r, i, 1), h, &hl, EVP_sha256(), NULL) != 1 ||
             memcmp(h, PQgetvalue(r, i, 0), AR_HASH_LEN) != 0)
        hex((const uint8_t *)PQgetvalue(r, i, 0), AR_HASH_LEN, c->bad);
    return c->bad[0] != '\0';
}

/* Every certificate hashes to its key.  -1 on a database error. */
static int verify_certs(struct verify *v)
{
    struct certs c = {0};

    if (each_row(v, "SELECT sha256, der FROM archive_certs ORDER BY sha256", 0, NULL, 500, cert_cb, &c) != 0)
        return -1;
    if (c.bad[0])
        v->bad = 1;
    if (v->json) {
        json_t *o = json_pack("{s:I, s:b}", "count", (json_int_t)c.n, "ok", !c.bad[0]);
        if (o && c.bad[0]) {
            json_object_set_new(o, "error", json_string("a certificate's DER does not hash to its key"));
            json_object_set_new(o, "sha256", json_string(c.bad));
        }
        json_object_set_new(v->doc, "certificates", o);
    } else if (c.bad[0]) {
        printf("certificates: BROKEN: certificate %s: its DER does not hash to its key (certificate changed)\n", c.bad);
    } else {
        printf("certificates: %lld, ok\n", c.n);
    }
    return 0;
}

static enum gw_admin_exit usage(const char *msg, const char *arg)
{
    fprintf(stderr, "error: verify-archive: %s%s%s\n(simpki-admin help shows the commands)\n", msg, arg ? " " : "",
            arg ? arg : "");
    return GW_ADMIN_USAGE;
}

enum gw_admin_exit gw_admin_verify_archive(const char *cfg_path, int argc, char **argv)
{
    struct verify v = {0};
    struct cfg *cfg = NULL;
    PGresult *chains = NULL, *r;
    const char *only = NULL;
    char why[512] = "";
    enum gw_admin_exit ret;
    int n, dberr = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            v.json = 1;
        else if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc && !only)
            only = argv[++i];
        else
            return usage("unexpected argument", argv[i]);
    }
    ret = gw_admin_load_cfg(cfg_path, &cfg);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = GW_ADMIN_FAIL;
    if (!cfg->archive.enabled) {
        fprintf(stderr, "error: %s has no \"archive\" section\n", cfg->path);
        goto out;
    }
    if (cfg->tsa_trust[0] && sig_tsa_new(cfg->tsa_trust, NULL, &v.tsa, why, sizeof(why)) != SIG_OK) {
        fprintf(stderr, "error: tsa_trust %s: %s\n", cfg->tsa_trust, why);
        goto out;
    }
    v.db = ar_db_open(&cfg->archive, why, sizeof(why));
    if (!v.db) {
        fprintf(stderr, "error: the archive database: %s\n", why);
        goto out;
    }
    if (v.json) {
        v.doc = json_object();
        v.chains = json_array();
        if (!v.doc || !v.chains || json_object_set(v.doc, "chains", v.chains) != 0) {
            fprintf(stderr, "error: out of memory\n");
            goto out;
        }
    }
    /* One snapshot for the whole check: the archiver may go on appending meanwhile. */
    r = run(&v, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, 0);
    if (!r)
        goto out;
    PQclear(r);
    if (only) {
        const char *p[1] = {only};
        chains = run(&v, "SELECT $1::text", 1, p, 0);
    } else {
        chains = run(&v, q_chains, 0, NULL, 0);
    }
    if (!chains)
        goto out;
    n = PQntuples(chains);
    for (int i = 0; i < n && !dberr; i++) {
        struct verdict d;
        const char *name = PQgetvalue(chains, i, 0);
        if (verify_chain(&v, name, &d) != 0) {
            dberr = 1;
            break;
        }
        if (only && d.rows == 0 && d.anchors == 0 && !d.broken && !d.dropped[0])
            broken(&d, 0, NULL, "no such chain");
        report(&v, name, &d);
    }
    if (!dberr && !only && verify_certs(&v) != 0)
        dberr = 1;
    if (dberr)
        goto out;
    if (!v.json && n == 0)
        printf("the archive is empty\n");
    ret = v.bad ? GW_ADMIN_FAIL : GW_ADMIN_OK;
out:
    if (v.json && v.doc) {
        char *text;
        json_object_set_new(v.doc, "ok", json_boolean(ret == GW_ADMIN_OK));
        text = json_dumps(v.doc, JSON_COMPACT | JSON_SORT_KEYS);
        if (text)
            printf("%s\n", text);
        free(text);
    }
    json_decref(v.chains);
    json_decref(v.doc);
    PQclear(chains);
    if (v.db)
        PQclear(PQexec(v.db, "ROLLBACK"));
    ar_db_close(v.db);
    sig_tsa_free(v.tsa);
    cfg_free(cfg);
    return ret;
}
