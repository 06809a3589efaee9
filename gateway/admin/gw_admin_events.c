/*
 * gw_admin_events.c - simpki-admin events, archive-export, archive-drop
 * (gw_admin_events.h).  Blocking libpq on one connection (ar_db.h); user
 * input reaches SQL only as parameters, except archive-export's table name,
 * which is built from a checked kind and month and quoted besides (COPY takes
 * no parameters).
 */
#include "gw_admin_events.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ar_db.h"
#include "car_route.h"
#include "cfg.h"
#include "gw_admin_out.h"
#include "gw_forms.h"
#include "log.h"

#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX     100000
#define SERIAL_MAX           64 /* hex digits: RFC 5280 allows 20 octets, some CAs more */

const char gw_admin_events_usage[] =
    "\n"
    "Evidence archive (need -c CONFIG with an \"archive\" section; see docs/archive.md):\n"
    "  events [--msisdn N] [--rp NAME] [--serial HEX] [--txn ID] [--request ID] [--kind sign|cert]\n"
    "         [--from DATE] [--to DATE] [--limit N] [--csv] [--unmask] [--explain]\n"
    "                            archived events matching every filter given, oldest first\n"
    "                            (at most N, default 100); DATE is YYYY-MM-DD (UTC; --to\n"
    "                            includes that day) or RFC 3339; numbers masked unless\n"
    "                            --unmask; --csv writes every field; --explain the query plan\n"
    "  archive-export --kind sign|cert --month YYYY-MM [--out FILE]\n"
    "                            one month's events with its chain head and timestamp\n"
    "                            tokens as CSV that verifies by itself\n"
    "  archive-drop --kind sign|cert --month YYYY-MM --yes\n"
    "                            drop that month's events (after an export); its chain's\n"
    "                            head stays in archive_dropped\n";

static enum gw_admin_exit usage(const char *cmd, const char *msg, const char *arg)
{
    fprintf(stderr, "error: %s: %s%s%s\n(simpki-admin help shows the commands)\n", cmd, msg, arg ? " " : "",
            arg ? arg : "");
    return GW_ADMIN_USAGE;
}

/* ---- checking what the operator typed */

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* s[0..10) a real date YYYY-MM-DD: *t its midnight UTC. */
static int parse_day(const char *s, time_t *t)
{
    struct tm tm = {0}, back;
    int mon, mday;

    if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2))
        return -1;
    tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
    tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
    tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
    mon = tm.tm_mon;
    mday = tm.tm_mday;
    *t = timegm(&tm);
    /* timegm moves 2026-02-30 to March: a date that does not come back unchanged does not exist. */
    if (*t == (time_t)-1 || !gmtime_r(t, &back) || back.tm_mon != mon || back.tm_mday != mday)
        return -1;
    return 0;
}

/*
 * --from / --to: into out (what PostgreSQL takes as timestamptz) and
 * *whole_day 1 for a bare date.  A bare date as --to becomes the next
 * midnight, compared with <; a time is compared with <=.
 */
static int parse_when(const char *s, int is_to, char out[48], int *whole_day)
{
    size_t n = strlen(s), i = 19;
    time_t t;
    struct tm tm;

    if (n < 10 || parse_day(s, &t) != 0)
        return -1;
    if (n == 10) {
        *whole_day = 1;
        if (is_to)
            t += 86400;
        if (!gmtime_r(&t, &tm) || strftime(out, 48, "%Y-%m-%dT00:00:00Z", &tm) == 0)
            return -1;
        return 0;
    }
    /* RFC 3339 date-time: T HH:MM:SS [.frac] (Z | +HH:MM | -HH:MM); 't' and 'z' too (section 5.6). */
    *whole_day = 0;
    if (n < 20 || (s[10] != 'T' && s[10] != 't') || !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) ||
        s[16] != ':' || !all_digits(s + 17, 2))
        return -1;
    if ((s[11] - '0') * 10 + (s[12] - '0') > 23 || (s[14] - '0') * 10 + (s[15] - '0') > 59 ||
        (s[17] - '0') * 10 + (s[18] - '0') > 60)
        return -1;
    if (s[i] == '.') {
        size_t d = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == d || i - d > 9)
            return -1;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        /* as is */
    } else if ((s[i] == '+' || s[i] == '-') && n - i == 6 && all_digits(s + i + 1, 2) && s[i + 3] == ':' &&
               all_digits(s + i + 4, 2)) {
        if ((s[i + 1] - '0') * 10 + (s[i + 2] - '0') > 23 || (s[i + 4] - '0') * 10 + (s[i + 5] - '0') > 59)
            return -1;
    } else {
        return -1;
    }
    snprintf(out, 48, "%s", s);
    return 0;
}

/* Hex digits in any case, ':' and white space between them ignored: uppercase into out. */
static int parse_serial(const char *s, char out[SERIAL_MAX + 1])
{
    size_t o = 0;

    for (; *s; s++) {
        if (*s == ':' || isspace((unsigned char)*s))
            continue;
        if (!isxdigit((unsigned char)*s) || o == SERIAL_MAX)
            return -1;
        out[o++] = (char)toupper((unsigned char)*s);
    }
    out[o] = '\0';
    return o ? 0 : -1;
}

/* "sign" | "cert" */
static int valid_kind(const char *k)
{
    return strcmp(k, "sign") == 0 || strcmp(k, "cert") == 0;
}

/* YYYY-MM, month 01..12 */
static int valid_month(const char *m)
{
    return strlen(m) == 7 && all_digits(m, 4) && m[4] == '-' && all_digits(m + 5, 2) &&
           (m[5] - '0') * 10 + (m[6] - '0') >= 1 && (m[5] - '0') * 10 + (m[6] - '0') <= 12;
}

static enum gw_admin_exit open_archive(const char *cfg_path, PGconn **db)
{
    struct cfg *cfg = NULL;
    char why[512];
    enum gw_admin_exit ret = gw_admin_load_cfg(cfg_path, &cfg);

    *db = NULL;
    if (ret != GW_ADMIN_OK)
        return ret;
    *db = ar_db_open(&cfg->archive, why, sizeof(why));
    cfg_free(cfg);
    if (!*db) {
        fprintf(stderr, "error: archive: %s\n", why);
        return GW_ADMIN_FAIL;
    }
    return GW_ADMIN_OK;
}

/* PostgreSQL's first line of an error (no parameters in it: they are never echoed). */
static void print_pg_error(const char *what, PGconn *db, const PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : PQerrorMessage(db);

    if (!m || !*m)
        m = PQerrorMessage(db);
    fprintf(stderr, "error: %s: %.*s\n", what, (int)strcspn(m, "\n"), m);
}

/* ---- events */

struct events_opts {
    const char *rp, *txn, *kind;
    char *req_lo, *req_hi; /* --request ID: "ID." <= event_id < "ID/" (malloc'd) */
    char msisdn[CAR_MSISDN_LEN];
    char serial[SERIAL_MAX + 1];
    char from[48], to[48];
    int to_whole_day;
    unsigned long limit;
    int csv, unmask, explain;
};

#define MAX_PARAMS 10

/* The query text and its parameters; only constant text and $N go into sql. */
struct query {
    char sql[2048];
    size_t len;
    const char *vals[MAX_PARAMS];
    int n;
};

/* pre, then $N for val, then post. */
static void q_add(struct query *q, const char *pre, const char *val, const char *post)
{
    int w;

    q->vals[q->n++] = val;
    w = snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s$%d%s", pre, q->n, post);
    if (w > 0)
        q->len += (size_t)w;
}

static void q_text(struct query *q, const char *text)
{
    int w = snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s", text);

    if (w > 0)
        q->len += (size_t)w;
}

/* Body columns (result, state, request_id) are read here, so that a body that is not JSON never stops a search. */
#define COLS                                                                                                           \
    "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), kind, etype, event_id, txn_id, rp, msisdn, " \
    "cert_serial, "                                                                                                    \
    "chain, seq, body"

enum col { C_AT, C_KIND, C_ETYPE, C_EVENT_ID, C_TXN_ID, C_RP, C_MSISDN, C_SERIAL, C_CHAIN, C_SEQ, C_BODY };

static void build_events_query(const struct events_opts *o, struct query *q, char *limit_buf, size_t limit_len)
{
    memset(q, 0, sizeof(*q));
    q_text(q, o->explain ? "EXPLAIN SELECT " COLS " FROM archive_events WHERE true"
                         : "SELECT " COLS " FROM archive_events WHERE true");
    if (o->kind)
        q_add(q, " AND kind = ", o->kind, "");
    if (o->msisdn[0])
        q_add(q, " AND msisdn = ", o->msisdn, "");
    if (o->rp)
        q_add(q, " AND rp = ", o->rp, "");
    if (o->serial[0])
        q_add(q, " AND cert_serial = ", o->serial, "");
    if (o->txn)
        q_add(q, " AND txn_id = ", o->txn, "");
    if (o->req_lo) {
        q_add(q, " AND kind = 'cert' AND event_id COLLATE \"C\" >= ", o->req_lo, "");
        q_add(q, " AND event_id COLLATE \"C\" < ", o->req_hi, "");
    }
    if (o->from[0])
        q_add(q, " AND at >= ", o->from, "::timestamptz");
    if (o->to[0])
        q_add(q, o->to_whole_day ? " AND at < " : " AND at <= ", o->to, "::timestamptz");
    /* One more than asked: whether the list was cut. */
    snprintf(limit_buf, limit_len, "%lu", o->limit + 1);
    q_add(q, " ORDER BY at, event_id LIMIT ", limit_buf, "::bigint");
}

/* From the body: result (a signature's) or state; request_id for a request without txn_id.  "" when absent. */
static void body_fields(const PGresult *res, int row, char result[64], char reqid[128])
{
    size_t n = 0;
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, row, C_BODY), &n);
    json_t *j = raw ? json_loadb((const char *)raw, n, 0, NULL) : NULL;
    const char *r = json_string_value(json_object_get(j, "result"));
    const char *s = json_string_value(json_object_get(j, "state"));
    const char *id = json_string_value(json_object_get(j, "request_id"));

    snprintf(result, 64, "%s", r ? r : s ? s : "");
    snprintf(reqid, 128, "%s", id ? id : "");
    if (raw && !j)
        snprintf(result, 64, "?body not JSON");
    json_decref(j);
    PQfreemem(raw);
}

static const char *val(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col);
}

static int print_csv(const PGresult *res, int rows)
{
    static const char *const head[] = {"at",     "kind",   "etype",       "event_id", "id", "rp",
                                       "msisdn", "result", "cert_serial", "chain",    "seq"};
    const size_t ncols = sizeof(head) / sizeof(head[0]);

    for (size_t c = 0; c < ncols; c++)
        printf("%s%s", c ? "," : "", head[c]);
    printf("\r\n");
    for (int r = 0; r < rows; r++) {
        char result[64], reqid[128];
        const char *v[sizeof(head) / sizeof(head[0])];
        body_fields(res, r, result, reqid);
        v[0] = val(res, r, C_AT);
        v[1] = val(res, r, C_KIND);
        v[2] = val(res, r, C_ETYPE);
        v[3] = val(res, r, C_EVENT_ID);
        v[4] = PQgetisnull(res, r, C_TXN_ID) ? reqid : val(res, r, C_TXN_ID);
        v[5] = val(res, r, C_RP);
        v[6] = val(res, r, C_MSISDN);
        v[7] = result;
        v[8] = val(res, r, C_SERIAL);
        v[9] = val(res, r, C_CHAIN);
        v[10] = val(res, r, C_SEQ);
        for (size_t c = 0; c < ncols; c++) {
            char *f = gw_form_csv_field(v[c], strlen(v[c]));
            if (!f)
                return -1;
            printf("%s%s", c ? "," : "", f);
            free(f);
        }
        printf("\r\n");
    }
    return 0;
}

static int print_table(const PGresult *res, int rows, int unmask)
{
    static const char *const head[] = {"TIME (UTC)", "KIND", "TYPE", "ID", "RP", "NUMBER", "RESULT", "SERIAL"};
    struct gw_admin_table *t = gw_admin_table_new(8, head);
    int rc = -1;

    if (!t)
        return -1;
    gw_admin_table_column(t, 3, 40, 0);
    gw_admin_table_column(t, 4, 32, 0);
    for (int r = 0; r < rows; r++) {
        char result[64], reqid[128], masked[LOG_MSISDN_BUFSZ];
        const char *number = val(res, r, C_MSISDN);
        const char *cells[8];
        body_fields(res, r, result, reqid);
        cells[0] = val(res, r, C_AT);
        cells[1] = val(res, r, C_KIND);
        cells[2] = val(res, r, C_ETYPE);
        cells[3] = PQgetisnull(res, r, C_TXN_ID) ? reqid : val(res, r, C_TXN_ID);
        cells[4] = val(res, r, C_RP);
        cells[5] = !*number || unmask ? number : log_msisdn(number, masked);
        cells[6] = result;
        cells[7] = val(res, r, C_SERIAL);
        if (gw_admin_table_add(t, cells) != 0)
            goto out;
    }
    gw_admin_table_print(t, stdout);
    rc = 0;
out:
    gw_admin_table_free(t);
    return rc;
}

static enum gw_admin_exit parse_events(int argc, char **argv, struct events_opts *o)
{
    static const char cmd[] = "events";

    memset(o, 0, sizeof(*o));
    o->limit = EVENTS_LIMIT_DEFAULT;
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i], *v;
        if (strcmp(opt, "--csv") == 0) {
            o->csv = 1;
            continue;
        }
        if (strcmp(opt, "--unmask") == 0) {
            o->unmask = 1;
            continue;
        }
        if (strcmp(opt, "--explain") == 0) {
            o->explain = 1;
            continue;
        }
        if (i + 1 == argc)
            return usage(cmd, strncmp(opt, "--", 2) == 0 ? "this option needs a value:" : "unexpected argument", opt);
        v = argv[++i];
        if (strcmp(opt, "--msisdn") == 0) {
            char why[128];
            if (car_msisdn_normalise(v, o->msisdn, why, sizeof(why)) != CAR_OK) {
                fprintf(stderr, "error: events: --msisdn: not a subscriber number: %s\n", why);
                return GW_ADMIN_USAGE;
            }
        } else if (strcmp(opt, "--rp") == 0 && *v) {
            o->rp = v;
        } else if (strcmp(opt, "--serial") == 0) {
            if (parse_serial(v, o->serial) != 0)
                return usage(cmd, "--serial takes hex digits (at most 64), not", v);
        } else if (strcmp(opt, "--txn") == 0 && *v) {
            o->txn = v;
        } else if (strcmp(opt, "--request") == 0 && *v && !o->req_lo) {
            size_t n = strlen(v);
            o->req_lo = malloc(n + 2);
            o->req_hi = malloc(n + 2);
            if (!o->req_lo || !o->req_hi) {
                fprintf(stderr, "error: out of memory\n");
                return GW_ADMIN_FAIL;
            }
            /* Every "<id>.<rev>": '/' is the octet after '.'. */
            snprintf(o->req_lo, n + 2, "%s.", v);
            snprintf(o->req_hi, n + 2, "%s/", v);
        } else if (strcmp(opt, "--kind") == 0) {
            if (!valid_kind(v))
                return usage(cmd, "--kind is sign or cert, not", v);
            o->kind = v;
        } else if (strcmp(opt, "--from") == 0) {
            int whole;
            if (parse_when(v, 0, o->from, &whole) != 0)
                return usage(cmd, "--from takes YYYY-MM-DD or an RFC 3339 time, not", v);
        } else if (strcmp(opt, "--to") == 0) {
            if (parse_when(v, 1, o->to, &o->to_whole_day) != 0)
                return usage(cmd, "--to takes YYYY-MM-DD or an RFC 3339 time, not", v);
        } else if (strcmp(opt, "--limit") == 0) {
            char *end;
            errno = 0;
            o->limit = strtoul(v, &end, 10);
            if (errno || end == v || *end || !isdigit((unsigned char)*v) || o->limit < 1 || o->limit > EVENTS_LIMIT_MAX)
                return usage(cmd, "--limit takes a number 1..100000, not", v);
        } else {
            return usage(cmd, "unknown option or empty value:", opt);
        }
    }
    if (o->csv && o->explain)
        return usage(cmd, "--csv and --explain do not go together", NULL);
    if (o->req_lo && o->kind && strcmp(o->kind, "cert") != 0)
        return usage(cmd, "--request finds cert events: not with --kind", o->kind);
    return GW_ADMIN_OK;
}

enum gw_admin_exit gw_admin_events(const char *cfg_path, int argc, char **argv)
{
    struct events_opts o;
    struct query q;
    char limit_buf[24];
    PGconn *db = NULL;
    PGresult *res = NULL;
    enum gw_admin_exit ret = parse_events(argc, argv, &o);
    int rows;

    if (ret != GW_ADMIN_OK)
        goto out;
    ret = open_archive(cfg_path, &db);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    build_events_query(&o, &q, limit_buf, sizeof(limit_buf));
    res = PQexecParams(db, q.sql, q.n, NULL, q.vals, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        print_pg_error("events", db, res);
        goto out;
    }
    rows = PQntuples(res);
    if (o.explain) {
        for (int r = 0; r < rows; r++)
            printf("%s\n", PQgetvalue(res, r, 0));
        ret = GW_ADMIN_OK;
        goto out;
    }
    if ((unsigned long)rows > o.limit)
        rows = (int)o.limit;
    if ((o.csv ? print_csv(res, rows) : print_table(res, rows, o.unmask)) != 0) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "error: writing the results: %s\n", strerror(errno));
        goto out;
    }
    if ((unsigned long)PQntuples(res) > o.limit)
        fprintf(stderr, "note: more events match; these are the oldest %lu (--limit, --from)\n", o.limit);
    else if (rows == 0 && !o.csv)
        fprintf(stderr, "note: no event matches\n");
    ret = GW_ADMIN_OK;
out:
    free(o.req_lo);
    free(o.req_hi);
    PQclear(res);
    ar_db_close(db);
    return ret;
}

/* ---- archive-export, archive-drop */

struct month_opts {
    const char *kind, *month, *out;
    int yes;
};

static enum gw_admin_exit parse_month(const char *cmd, int argc, char **argv, int export, struct month_opts *o)
{
    memset(o, 0, sizeof(*o));
    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        if (!export && strcmp(opt, "--yes") == 0) {
            o->yes = 1;
            continue;
        }
        if (i + 1 == argc)
            return usage(cmd, strncmp(opt, "--", 2) == 0 ? "this option needs a value:" : "unexpected argument", opt);
        if (strcmp(opt, "--kind") == 0)
            o->kind = argv[++i];
        else if (strcmp(opt, "--month") == 0)
            o->month = argv[++i];
        else if (export && strcmp(opt, "--out") == 0 && argv[i + 1][0])
            o->out = argv[++i];
        else
            return usage(cmd, "unknown option:", opt);
    }
    if (!o->kind || !valid_kind(o->kind))
        return usage(cmd, "--kind sign or --kind cert is needed", o->kind);
    if (!o->month || !valid_month(o->month))
        return usage(cmd, "--month YYYY-MM is needed", o->month);
    return GW_ADMIN_OK;
}

/*
 * One CSV: the partition's rows in seq order, then archive_heads' row of its
 * chain, then archive_anchors' rows; one column set for all three (record
 * says which), so that any CSV reader takes the file.  One statement: one
 * snapshot, the head matches the rows.
 */
static const char export_sql_1[] =
    "COPY (SELECT record, chain, seq, at, event_id, etype, body, prev_hash, row_hash, txn_id, msisdn, rp,"
    " cert_serial, cert_sha256, tst FROM ("
    "SELECT 0 AS o, 'event' AS record, chain, seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
    "AS at,"
    " event_id, etype, translate(encode(body, 'base64'), E'\\n', '') AS body, encode(prev_hash, 'hex') AS prev_hash,"
    " encode(row_hash, 'hex') AS row_hash, txn_id, msisdn, rp, cert_serial, encode(cert_sha256, 'hex') AS cert_sha256,"
    " NULL AS tst FROM ";
static const char export_sql_2[] =
    " UNION ALL SELECT 1, 'head', chain, seq, to_char(updated_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), NULL, NULL,"
    " NULL, NULL, encode(head, 'hex'), NULL, NULL, NULL, NULL, NULL, NULL FROM archive_heads WHERE chain = ";
static const char export_sql_3[] =
    " UNION ALL SELECT 2, 'anchor', chain, seq, to_char(gen_time AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), NULL, NULL,"
    " NULL, NULL, encode(head, 'hex'), NULL, NULL, NULL, NULL, NULL, translate(encode(tst, 'base64'), E'\\n', '')"
    " FROM archive_anchors WHERE chain = ";
static const char export_sql_4[] = ") x ORDER BY o, seq) TO STDOUT WITH (FORMAT csv, HEADER)";

/* The month's partition exists: 1, 0 not, -1 error (printed). */
static int partition_exists(PGconn *db, const char *table)
{
    const char *v[1] = {table};
    PGresult *res = PQexecParams(db, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, v, NULL, NULL, 0);
    int rc = -1;

    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    else
        print_pg_error("archive", db, res);
    PQclear(res);
    return rc;
}

static enum gw_admin_exit copy_out(PGconn *db, FILE *f, const char *path, long *lines)
{
    char *buf = NULL;
    int n;
    PGresult *res;
    enum gw_admin_exit ret = GW_ADMIN_OK;

    *lines = 0;
    while ((n = PQgetCopyData(db, &buf, 0)) > 0) {
        if (ret == GW_ADMIN_OK && fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "error: writing %s: %s\n", path, strerror(errno));
            ret = GW_ADMIN_FAIL; /* read the rest, so the connection ends clean */
        }
        (*lines)++;
        PQfreemem(buf);
    }
    if (n == -2) {
        print_pg_error("archive-export", db, NULL);
        ret = GW_ADMIN_FAIL;
    }
    res = PQgetResult(db);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        print_pg_error("archive-export", db, res);
        ret = GW_ADMIN_FAIL;
    }
    PQclear(res);
    while ((res = PQgetResult(db)))
        PQclear(res);
    return ret;
}

enum gw_admin_exit gw_admin_archive_export(const char *cfg_path, int argc, char **argv)
{
    struct month_opts o;
    char table[64], chain[16], *sql = NULL, *qtable = NULL, *qchain = NULL;
    PGconn *db = NULL;
    PGresult *res = NULL;
    FILE *f = NULL;
    long lines = 0;
    size_t sqllen;
    enum gw_admin_exit ret = parse_month("archive-export", argc, argv, 1, &o);

    if (ret != GW_ADMIN_OK)
        return ret;
    /* Checked above: kind is sign|cert, month YYYY-MM. */
    snprintf(table, sizeof(table), "archive_events_%s_%.4s%.2s", o.kind, o.month, o.month + 5);
    snprintf(chain, sizeof(chain), "%s/%s", o.kind, o.month);
    ret = open_archive(cfg_path, &db);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    switch (partition_exists(db, table)) {
    case 1: break;
    case 0:
        fprintf(stderr, "error: archive-export: no events of %s in the archive (dropped, or none yet)\n", chain);
        /* fall through */
    default: goto out;
    }
    qtable = PQescapeIdentifier(db, table, strlen(table));
    qchain = PQescapeLiteral(db, chain, strlen(chain));
    if (!qtable || !qchain) {
        print_pg_error("archive-export", db, NULL);
        goto out;
    }
    sqllen = sizeof(export_sql_1) + sizeof(export_sql_2) + sizeof(export_sql_3) + sizeof(export_sql_4) +
             strlen(qtable) + 2 * strlen(qchain);
    sql = malloc(sqllen);
    if (!sql) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    snprintf(sql, sqllen, "%s%s%s%s%s%s%s", export_sql_1, qtable, export_sql_2, qchain, export_sql_3, qchain,
             export_sql_4);
    if (o.out) {
        /* "x": never over an earlier export. */
        f = fopen(o.out, "wx");
        if (!f) {
            fprintf(stderr, "error: %s: %s\n", o.out, strerror(errno));
            goto out;
        }
    }
    res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        print_pg_error("archive-export", db, res);
        goto out;
    }
    PQclear(res);
    res = NULL;
    ret = copy_out(db, f ? f : stdout, o.out ? o.out : "stdout", &lines);
    if (ret == GW_ADMIN_OK && f && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
        fprintf(stderr, "error: writing %s: %s\n", o.out, strerror(errno));
        ret = GW_ADMIN_FAIL;
    }
    if (f && fclose(f) != 0 && ret == GW_ADMIN_OK) {
        fprintf(stderr, "error: writing %s: %s\n", o.out, strerror(errno));
        ret = GW_ADMIN_FAIL;
    }
    f = NULL;
    if (ret != GW_ADMIN_OK) {
        if (o.out)
            unlink(o.out);
        goto out;
    }
    if (o.out)
        printf("exported %s: %ld lines (the header, events, head, anchors) to %s\n", chain, lines, o.out);
    else if (fflush(stdout) != 0)
        ret = GW_ADMIN_FAIL;
out:
    if (f) {
        fclose(f);
        unlink(o.out);
    }
    PQclear(res);
    PQfreemem(qtable);
    PQfreemem(qchain);
    free(sql);
    ar_db_close(db);
    return ret;
}

enum gw_admin_exit gw_admin_archive_drop(const char *cfg_path, int argc, char **argv)
{
    static const char cmd[] = "archive-drop";
    struct month_opts o;
    char chain[16];
    PGconn *db = NULL;
    PGresult *res = NULL;
    enum gw_admin_exit ret = parse_month(cmd, argc, argv, 0, &o);
    const char *v[2];

    if (ret != GW_ADMIN_OK)
        return ret;
    if (!o.yes)
        return usage(cmd, "this deletes a month of evidence for good; export it first, then add --yes", NULL);
    snprintf(chain, sizeof(chain), "%s/%s", o.kind, o.month);
    ret = open_archive(cfg_path, &db);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    v[0] = o.kind;
    v[1] = o.month;
    res = PQexecParams(db, "SELECT archive_drop_partition($1, $2, 'exported')", 2, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        print_pg_error(cmd, db, res);
        goto out;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        fprintf(stderr,
                "error: %s: no events of %s in the archive (dropped already, or another instance is "
                "dropping a month now)\n",
                cmd, chain);
        goto out;
    }
    PQclear(res);
    v[0] = chain;
    res = PQexecParams(db, "SELECT last_seq, encode(head, 'hex') FROM archive_dropped WHERE chain = $1", 1, NULL, v,
                       NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        printf("dropped %s: last seq %s, head %s\n", chain, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    else
        printf("dropped %s (its chain had no head)\n", chain);
    ret = GW_ADMIN_OK;
out:
    PQclear(res);
    ar_db_close(db);
    return ret;
}
