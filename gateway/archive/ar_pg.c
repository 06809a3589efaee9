/*
 * ar_pg.c - see ar_pg.h.  One PGconn in non-blocking mode, its socket
 * watched by libevent.
 *
 * States: WAIT (the retry timer runs) -> CONNECTING (PQconnectPoll) ->
 * MIGRATING (ar_schema.h's steps, one query each) -> UP (the FIFO of the
 * caller's queries, one at a time).  Any failure goes back to WAIT with the
 * backoff, failing the running query and every queued one -- also those
 * queued while down, at the end of each failed attempt, so a caller is never
 * left waiting longer than one attempt.
 *
 * Callbacks run only from this module's event handlers (ar_pg_query only
 * queues and wakes the loop), and ar_pg_free inside one of them is deferred:
 * the handler frees the object when it returns.
 */
#include "ar_pg.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar_schema.h"
#include "log.h"

#define AR_PG_MAX_QUEUED        1024
#define AR_PG_BACKOFF_MIN       500   /* ms */
#define AR_PG_BACKOFF_MAX       10000 /* ms */
#define AR_PG_CONNECT_LIMIT     10    /* s: one attempt; PQconnectPoll ignores connect_timeout */
#define AR_PG_STATEMENT_TIMEOUT "60s" /* the session's statement_timeout (on_retry) */

enum pg_state { ST_WAIT, ST_CONNECTING, ST_MIGRATING, ST_UP, ST_CLOSED };
enum mig_step { MIG_LOCK, MIG_TABLE, MIG_LIST, MIG_APPLY, MIG_UNLOCK };

struct pgq {
    struct pgq *next;
    char *sql;
    char **values;
    int nparams, binary;
    ar_pg_cb *cb;
    void *arg;
};

struct ar_pg {
    struct event_base *base;
    char *conninfo, *password;
    PGconn *conn;
    struct event *ev_conn;  /* CONNECTING: one-shot on the socket, with the attempt's time limit */
    struct event *ev_read;  /* MIGRATING, UP: persistent */
    struct event *ev_write; /* while PQflush has more to send */
    struct event *ev_retry; /* WAIT */
    struct event *ev_kick;  /* a query was queued: send it from the loop */
    enum pg_state st;
    struct timeval deadline; /* of the connection attempt */

    enum mig_step mig;
    unsigned mig_i;
    PGresult *applied; /* ar_schema_sql_applied's answer, during MIG_APPLY */

    struct pgq *head, *tail; /* head is the running query while running */
    unsigned nq;
    int running;   /* a query (head, or a migration step) was sent; its results are read */
    PGresult *res; /* the running query's last good result */
    char err[256]; /* the running query's first error, "" = none */

    unsigned backoff_ms;
    int up, reported; /* reported: what state_cb last heard, -1 = nothing yet */
    ar_pg_state_cb *state_cb;
    void *state_arg;
    int in_handler, closing, dead;
};

static void q_free(struct pgq *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->nparams; i++)
        free(q->values[i]);
    free(q->values);
    free(q->sql);
    free(q);
}

/* PQerrorMessage (or a result's) as one line. */
static void conn_err(struct ar_pg *pg, const char *msg, char *out, size_t outlen)
{
    ar_schema_oneline(msg ? msg : (pg->conn ? PQerrorMessage(pg->conn) : "not connected"), out, outlen);
    if (!out[0])
        snprintf(out, outlen, "connection failed");
}

/* Every query of list (detached from pg: callbacks may queue new ones meanwhile) gets err. */
static void fail_list(struct pgq *list, const char *err)
{
    while (list) {
        struct pgq *q = list;
        list = q->next;
        q->cb(q->arg, NULL, err);
        q_free(q);
    }
}

static struct pgq *take_all(struct ar_pg *pg)
{
    struct pgq *list = pg->head;
    pg->head = pg->tail = NULL;
    pg->nq = 0;
    return list;
}

static void report(struct ar_pg *pg, const char *why)
{
    if (pg->reported == pg->up || pg->closing)
        return;
    pg->reported = pg->up;
    if (pg->state_cb)
        pg->state_cb(pg->state_arg, pg->up, why);
}

/* event_free, which libevent does not allow on NULL. */
static void ev_drop(struct event **ev)
{
    if (*ev)
        event_free(*ev);
    *ev = NULL;
}

static void drop_conn(struct ar_pg *pg)
{
    ev_drop(&pg->ev_conn);
    ev_drop(&pg->ev_read);
    ev_drop(&pg->ev_write);
    PQfinish(pg->conn);
    pg->conn = NULL;
    PQclear(pg->res);
    pg->res = NULL;
    PQclear(pg->applied);
    pg->applied = NULL;
    pg->running = 0;
    pg->err[0] = '\0';
}

/*
 * The connection failed or broke (why: one line).  Back to WAIT; the
 * running query and the queued ones fail.
 */
static void lost(struct ar_pg *pg, const char *why)
{
    char err[320];
    struct timeval tv;
    int was_up = pg->up;

    snprintf(err, sizeof err, "%s: %s", was_up ? "connection lost" : "not connected", why);
    drop_conn(pg);
    pg->up = 0;
    pg->st = ST_WAIT;
    tv.tv_sec = pg->backoff_ms / 1000;
    tv.tv_usec = (pg->backoff_ms % 1000) * 1000;
    event_add(pg->ev_retry, &tv);
    if (pg->backoff_ms < AR_PG_BACKOFF_MAX)
        pg->backoff_ms = pg->backoff_ms * 2 > AR_PG_BACKOFF_MAX ? AR_PG_BACKOFF_MAX : pg->backoff_ms * 2;
    report(pg, why);
    if (!pg->closing)
        fail_list(take_all(pg), err);
}

static void leave(struct ar_pg *pg);
static void send_next(struct ar_pg *pg);

static void flush(struct ar_pg *pg)
{
    int r = PQflush(pg->conn);
    if (r < 0) {
        char why[256];
        conn_err(pg, NULL, why, sizeof why);
        lost(pg, why);
    } else if (r == 1) {
        event_add(pg->ev_write, NULL);
    }
}

/* The SQL of the current migration step; *owned when it must be freed.  NULL: out of memory. */
static const char *mig_sql(struct ar_pg *pg, char **owned)
{
    *owned = NULL;
    switch (pg->mig) {
    case MIG_LOCK: return ar_schema_sql_lock;
    case MIG_TABLE: return ar_schema_sql_table;
    case MIG_LIST: return ar_schema_sql_applied;
    case MIG_APPLY: *owned = ar_schema_apply_sql(&ar_migrations[pg->mig_i]); return *owned;
    case MIG_UNLOCK: return ar_schema_sql_unlock;
    }
    return NULL;
}

static void send_next(struct ar_pg *pg)
{
    char why[256];
    int ok;

    if (pg->running || pg->closing || (pg->st != ST_MIGRATING && pg->st != ST_UP))
        return;
    if (pg->st == ST_MIGRATING) {
        char *owned;
        const char *sql = mig_sql(pg, &owned);
        if (!sql) {
            lost(pg, "out of memory");
            return;
        }
        ok = PQsendQuery(pg->conn, sql); /* simple protocol: a migration holds many statements */
        free(owned);
    } else {
        struct pgq *q = pg->head;
        if (!q)
            return;
        ok = PQsendQueryParams(pg->conn, q->sql, q->nparams, NULL, (const char *const *)q->values, NULL, NULL,
                               q->binary ? 1 : 0);
    }
    if (!ok) {
        conn_err(pg, NULL, why, sizeof why);
        lost(pg, why);
        return;
    }
    pg->running = 1;
    pg->err[0] = '\0';
    flush(pg);
}

/* MIGRATING: the step's answer is in (pg->res, or pg->err). */
static void mig_done(struct ar_pg *pg)
{
    char why[320];

    if (pg->err[0]) {
        if (pg->mig == MIG_APPLY)
            snprintf(why, sizeof why, "migration %s: %s", ar_migrations[pg->mig_i].name, pg->err);
        else
            snprintf(why, sizeof why, "migrations: %s", pg->err);
        LOGP(LOG_ERR, "archive", NULL, "%s", why);
        lost(pg, why);
        return;
    }
    switch (pg->mig) {
    case MIG_LOCK: pg->mig = MIG_TABLE; break;
    case MIG_TABLE: pg->mig = MIG_LIST; break;
    case MIG_LIST:
        pg->applied = pg->res;
        pg->res = NULL;
        pg->mig = MIG_APPLY;
        pg->mig_i = 0;
        break;
    case MIG_APPLY:
        LOGP(LOG_INFO, "archive", NULL, "applied migration %s", ar_migrations[pg->mig_i].name);
        pg->mig_i++;
        break;
    case MIG_UNLOCK:
        PQclear(pg->applied);
        pg->applied = NULL;
        pg->st = ST_UP;
        pg->up = 1;
        pg->backoff_ms = AR_PG_BACKOFF_MIN;
        report(pg, "connected");
        return;
    }
    if (pg->mig == MIG_APPLY) {
        while (pg->mig_i < ar_n_migrations && ar_schema_applied(pg->applied, ar_migrations[pg->mig_i].version))
            pg->mig_i++;
        if (pg->mig_i == ar_n_migrations)
            pg->mig = MIG_UNLOCK;
    }
}

/* The running query's last result arrived (PQgetResult gave NULL). */
static void query_done(struct ar_pg *pg)
{
    PGresult *res = pg->res;
    struct pgq *q;
    char err[256];

    pg->running = 0;
    pg->res = NULL;
    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        char why[256];
        PQclear(res);
        conn_err(pg, pg->err[0] ? pg->err : NULL, why, sizeof why);
        lost(pg, why);
        return;
    }
    if (pg->st == ST_MIGRATING) {
        pg->res = res;
        mig_done(pg);
        PQclear(pg->res);
        pg->res = NULL;
        return;
    }
    q = pg->head;
    pg->head = q->next;
    if (!pg->head)
        pg->tail = NULL;
    pg->nq--;
    snprintf(err, sizeof err, "%s", pg->err);
    pg->err[0] = '\0';
    q->cb(q->arg, err[0] ? NULL : res, err[0] ? err : NULL);
    q_free(q);
    PQclear(res);
}

/* One result of the running query: the last good one is kept, the first error wins. */
static void collect(struct ar_pg *pg, PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);

    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (!pg->err[0]) {
            PQclear(pg->res);
            pg->res = r;
            return;
        }
    } else if (!pg->err[0]) {
        if (s == PGRES_EMPTY_QUERY)
            snprintf(pg->err, sizeof pg->err, "empty query");
        else
            ar_schema_result_err(r, pg->err, sizeof pg->err);
    }
    PQclear(r);
}

/* Read what arrived; finish queries whose results are complete; send the next. */
static void drain(struct ar_pg *pg)
{
    char why[256];

    if (!PQconsumeInput(pg->conn)) {
        conn_err(pg, NULL, why, sizeof why);
        lost(pg, why);
        return;
    }
    for (;;) {
        PGnotify *n;
        while ((n = PQnotifies(pg->conn)) != NULL)
            PQfreemem(n);
        if (!pg->running || PQisBusy(pg->conn))
            break;
        PGresult *r = PQgetResult(pg->conn);
        if (r) {
            collect(pg, r);
            continue;
        }
        query_done(pg);
        if (pg->closing || !pg->conn)
            return;
        send_next(pg);
        if (pg->closing || !pg->conn)
            return;
    }
    if (PQstatus(pg->conn) == CONNECTION_BAD) {
        conn_err(pg, NULL, why, sizeof why);
        lost(pg, why);
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct ar_pg *pg = arg;
    (void)fd;
    (void)what;
    pg->in_handler++;
    if (pg->conn && event_pending(pg->ev_write, EV_WRITE, NULL)) {
        /* libpq: read-ready while flushing: consume input, then flush again. */
        if (!PQconsumeInput(pg->conn)) {
            char why[256];
            conn_err(pg, NULL, why, sizeof why);
            lost(pg, why);
        } else {
            event_del(pg->ev_write);
            flush(pg);
        }
    }
    if (pg->conn && !pg->closing)
        drain(pg);
    leave(pg);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    struct ar_pg *pg = arg;
    (void)fd;
    (void)what;
    pg->in_handler++;
    if (pg->conn)
        flush(pg);
    leave(pg);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    struct ar_pg *pg = arg;
    (void)fd;
    (void)what;
    pg->in_handler++;
    send_next(pg);
    leave(pg);
}

/* Connected: watch the socket for good and start the migrations. */
static void connected(struct ar_pg *pg)
{
    evutil_socket_t fd = PQsocket(pg->conn);

    if (PQsetnonblocking(pg->conn, 1) != 0) {
        char why[256];
        conn_err(pg, NULL, why, sizeof why);
        lost(pg, why);
        return;
    }
    ev_drop(&pg->ev_conn);
    pg->ev_read = event_new(pg->base, fd, EV_READ | EV_PERSIST, on_read, pg);
    pg->ev_write = event_new(pg->base, fd, EV_WRITE, on_write, pg);
    if (!pg->ev_read || !pg->ev_write || event_add(pg->ev_read, NULL) != 0) {
        lost(pg, "out of memory");
        return;
    }
    pg->st = ST_MIGRATING;
    pg->mig = MIG_LOCK;
    send_next(pg);
}

static void on_conn(evutil_socket_t fd, short what, void *arg);

/* Wait for the socket as PQconnectPoll asked (it may change socket between calls), until the deadline. */
static void wait_conn(struct ar_pg *pg, PostgresPollingStatusType p)
{
    struct timeval now, left;

    ev_drop(&pg->ev_conn);
    pg->ev_conn = event_new(pg->base, PQsocket(pg->conn), p == PGRES_POLLING_READING ? EV_READ : EV_WRITE, on_conn, pg);
    evutil_gettimeofday(&now, NULL);
    if (evutil_timercmp(&now, &pg->deadline, >=)) {
        lost(pg, "connection attempt timed out");
        return;
    }
    evutil_timersub(&pg->deadline, &now, &left);
    if (!pg->ev_conn || event_add(pg->ev_conn, &left) != 0)
        lost(pg, "out of memory");
}

static void poll_conn(struct ar_pg *pg)
{
    char why[256];

    switch (PQconnectPoll(pg->conn)) {
    case PGRES_POLLING_READING: wait_conn(pg, PGRES_POLLING_READING); return;
    case PGRES_POLLING_WRITING: wait_conn(pg, PGRES_POLLING_WRITING); return;
    case PGRES_POLLING_OK: connected(pg); return;
    default: conn_err(pg, NULL, why, sizeof why); lost(pg, why);
    }
}

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
    struct ar_pg *pg = arg;
    (void)fd;
    pg->in_handler++;
    if (what & EV_TIMEOUT)
        lost(pg, "connection attempt timed out");
    else
        poll_conn(pg);
    leave(pg);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    /*
     * Before dbname, so the operator's conninfo overrides each.  A statement
     * that runs a minute is stuck (a batch takes milliseconds): the server
     * ends it and the archiver tries again.  Keepalives and the TCP user
     * timeout notice a server that vanished without closing (a host down, a
     * cut link) in about 30 s, not after the kernel's two hours.
     */
    static const char *const kw[] = {"options",          "keepalives_idle",           "keepalives_interval",
                                     "keepalives_count", "tcp_user_timeout",          "dbname",
                                     "password",         "fallback_application_name", NULL};
    struct ar_pg *pg = arg;
    const char *vals[] = {"-c statement_timeout=" AR_PG_STATEMENT_TIMEOUT,
                          "10",
                          "5",
                          "3",
                          "30000",
                          pg->conninfo,
                          pg->password,
                          "simpki",
                          NULL};
    char why[256];
    (void)fd;
    (void)what;

    pg->in_handler++;
    pg->st = ST_CONNECTING;
    evutil_gettimeofday(&pg->deadline, NULL);
    pg->deadline.tv_sec += AR_PG_CONNECT_LIMIT;
    /* expand_dbname: the conninfo string is read whole; the password given apart overrides it. */
    pg->conn = PQconnectStartParams(kw, vals, 1);
    if (!pg->conn) {
        lost(pg, "out of memory");
    } else if (PQstatus(pg->conn) == CONNECTION_BAD) {
        conn_err(pg, NULL, why, sizeof why);
        lost(pg, why);
    } else {
        PQsetNoticeProcessor(pg->conn, ar_schema_notice, NULL);
        wait_conn(pg, PGRES_POLLING_WRITING);
    }
    leave(pg);
}

struct ar_pg *ar_pg_new(struct event_base *base, const char *conninfo, const char *password, char *why, size_t whylen)
{
    struct ar_pg *pg;
    PQconninfoOption *opts;
    char *perr = NULL;
    struct timeval zero = {0, 0};

    opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        char line[200];
        ar_schema_oneline(perr ? perr : "out of memory", line, sizeof line);
        snprintf(why, whylen, "conninfo: %s", line);
        PQfreemem(perr);
        return NULL;
    }
    PQconninfoFree(opts);
    pg = calloc(1, sizeof *pg);
    if (!pg)
        goto oom;
    pg->base = base;
    pg->reported = -1;
    pg->backoff_ms = AR_PG_BACKOFF_MIN;
    pg->conninfo = strdup(conninfo);
    pg->password = password && *password ? strdup(password) : NULL;
    pg->ev_retry = evtimer_new(base, on_retry, pg);
    pg->ev_kick = event_new(base, -1, 0, on_kick, pg);
    if (!pg->conninfo || (password && *password && !pg->password) || !pg->ev_retry || !pg->ev_kick ||
        event_add(pg->ev_retry, &zero) != 0)
        goto oom;
    return pg;
oom:
    snprintf(why, whylen, "out of memory");
    ar_pg_free(pg);
    return NULL;
}

static void destroy(struct ar_pg *pg)
{
    drop_conn(pg);
    ev_drop(&pg->ev_retry);
    ev_drop(&pg->ev_kick);
    if (pg->password) {
        OPENSSL_cleanse(pg->password, strlen(pg->password));
        free(pg->password);
    }
    free(pg->conninfo);
    free(pg);
}

/* The end of an event handler: a free asked for inside it happens now. */
static void leave(struct ar_pg *pg)
{
    if (--pg->in_handler == 0 && pg->dead)
        destroy(pg);
}

void ar_pg_free(struct ar_pg *pg)
{
    if (!pg || pg->closing)
        return;
    pg->closing = 1;
    pg->st = ST_CLOSED;
    pg->up = 0;
    drop_conn(pg);
    if (pg->ev_retry)
        event_del(pg->ev_retry);
    if (pg->ev_kick)
        event_del(pg->ev_kick);
    fail_list(take_all(pg), "closed");
    if (pg->in_handler)
        pg->dead = 1;
    else
        destroy(pg);
}

int ar_pg_up(const struct ar_pg *pg)
{
    return pg && pg->up;
}

void ar_pg_on_state(struct ar_pg *pg, ar_pg_state_cb *cb, void *arg)
{
    pg->state_cb = cb;
    pg->state_arg = arg;
}

int ar_pg_query(struct ar_pg *pg, const char *sql, int nparams, const char *const *values, int binary, ar_pg_cb *cb,
                void *arg)
{
    struct pgq *q;

    if (!pg || pg->closing || !cb || nparams < 0 || pg->nq >= AR_PG_MAX_QUEUED)
        return -1;
    q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    q->sql = strdup(sql);
    q->values = nparams ? calloc((size_t)nparams, sizeof *q->values) : NULL;
    q->binary = binary;
    q->cb = cb;
    q->arg = arg;
    if (!q->sql || (nparams && !q->values))
        goto oom;
    for (; q->nparams < nparams; q->nparams++) {
        const char *v = values[q->nparams];
        if (!v)
            continue;
        q->values[q->nparams] = strdup(v);
        if (!q->values[q->nparams])
            goto oom;
    }
    if (pg->tail)
        pg->tail->next = q;
    else
        pg->head = q;
    pg->tail = q;
    pg->nq++;
    if (pg->st == ST_UP && !pg->running)
        event_active(pg->ev_kick, EV_TIMEOUT, 0);
    return 0;
oom:
    q_free(q);
    return -1;
}
