/*
 * loadgen.c - load generator for simpkid's JSON API and its ETSI TS 102 204
 * SOAP endpoint, on one libevent loop.
 *
 *   loadgen --port P --token T --numbers FIRST:COUNT [options]
 *   loadgen --api soap --port P --ap-id ID --ap-pwd PWD --numbers FIRST:COUNT [options]
 *
 *   --mode closed     N transactions in flight at all times (flat out); --concurrency N
 *   --mode open       start transactions at --rate R per second whatever happens
 *                     (latency is measured from the scheduled start, so a stall
 *                     is not hidden: no coordinated omission)
 *   --mode fill       POST only (no wait) --count N transactions at --rate R, for
 *                     capacity runs with SIMs that never answer
 *   --duration S      measured seconds (default 10), after --warmup S (default 2)
 *   --sim-delay-ms D  the simulated SIM's own delay, subtracted from each latency
 *   --digest-alg A    SHA-256 (default)
 *   --max-conns N     open-loop connection cap (default 4000); a transaction due
 *                     while every connection is busy and the cap is reached waits
 *                     (its latency still counts from its due time): counted as
 *                     cap_waits; one still unsent when the window closes is not_sent
 *   --drain S         after the window, wait at most S seconds (default 70) for
 *                     the accepted transactions' final answers; what is still
 *                     owed then is lost
 *   --api json|soap   which API (default json)
 *   --ap-id ID, --ap-pwd PWD   the relying party's AP credentials (soap)
 *
 * A JSON transaction is POST /v1/signatures, then GET /v1/signatures/{id}?wait=60
 * on the same keep-alive connection until it is no longer pending; its
 * latency is request sent -> final answer received.  A SOAP transaction is
 * one POST of an MSS_Signature synch envelope (PKCS1, TimeOut 60, no
 * additional services) to /soap/services/MSS_SignaturePort: the gateway holds
 * it until the signature is verified.  It is OK when the answer is HTTP 200
 * with StatusCode 500 or 502; a fault counts as FAULT_<ETSI status>.  Each
 * request has a fresh AP_TransID (the gateway refuses a repeat with fault
 * 101), unique across loadgen runs (start time and a counter); its
 * DataToBeSigned is the DER DigestInfo of the same digest the JSON API would
 * get.  --mode fill is JSON only.  SIMs are the numbers
 * FIRST .. FIRST+COUNT-1, used round robin; a number is not reused while its
 * transaction is pending (a SIM takes one request at a time).
 *
 * Overload: a POST answered 503 {"error":"OVERLOADED"} or {"error":"UNAVAILABLE"},
 * or 429 {"error":"RATE_LIMITED"} (SOAP: a fault naming one of them, or one with
 * Retry-After, or HTTP 503 or 429) is refused, not failed: counted by reason, its time to refusal (from
 * its due time) kept apart, and it must carry Retry-After (one without is
 * counted as a failure, <REASON>_NO_RETRY_AFTER).  A refused request is not
 * retried: the offered load stays the open loop's.  The latency histogram is
 * that of accepted transactions only (202, then a final answer).  An accepted
 * transaction owes a final answer; one that has none when loadgen exits
 * (connection closed, an HTTP error on its GET, the drain time over) is lost,
 * counted by why.  A GET refused for overload is asked again after its
 * Retry-After (poll_refused), and so is one answered "pending" at once with a
 * Retry-After (poll_deferred: the gateway holds as many long polls as it takes).
 *
 * The result is one JSON object on stdout; a human summary and a histogram go
 * to stderr.
 *
 * Why one file past 1,000 lines: every mode and both APIs share one
 * connection pool, one transaction table and one result record (the
 * refusal and loss accounting of issue 15 reads all three); a split would
 * put each mode in its own file behind a small header, not worth it for a
 * test tool that changes with the benchmark.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

enum mode { M_CLOSED, M_OPEN, M_FILL };
enum api { API_JSON, API_SOAP };

struct samples {
    uint32_t *v;
    size_t n, cap;
};

struct conn;

/* Names and counts (results, refusal reasons, why transactions were lost). */
struct tally {
    char name[16][64];
    uint64_t n[16];
};

struct txn {
    int64_t start_us; /* scheduled (open) or actual (closed) start */
    int64_t post_us;  /* POST answered */
    uint64_t sim;     /* index of the number */
    int accepted;     /* the POST was answered 202 with an id: a final answer is owed */
    char id[32];
};

struct lg {
    struct event_base *base;
    struct sockaddr_in addr;
    const char *token;
    const char *digest_alg;
    enum mode mode;
    enum api api;
    /* soap: the envelope's fixed parts, XML-escaped once (AP_ID, AP_PWD, Instant) */
    char *soap_head;
    char soap_run[24]; /* this run's AP_TransID prefix */
    unsigned concurrency, max_conns;
    double rate;
    uint64_t first, count, fill_count;
    double duration, warmup;
    int64_t sim_delay_us;

    int64_t t0_us, measure_from, measure_to, drain_us, end_us;
    uint8_t *busy; /* per number */
    uint64_t next_sim;
    uint64_t started, scheduled;
    uint64_t completed_in_window, finished, ok, failed, refused_busy, http_err, conn_err;
    /* overload: accepted (202) and answered (final answer of an accepted one);
     * refused with Retry-After, and in the window; GETs refused and asked again */
    uint64_t accepted, answered, refused, refused_in_window, poll_refused, poll_no_retry_after;
    uint64_t poll_deferred; /* "pending" at once with Retry-After: long polls full */
    uint64_t unanswered;    /* requests that got no answer at all (not accepted, not refused) */
    /* the load generator's own limits: transactions that waited for --max-conns or
     * for a free number, and those due in the window but never sent */
    uint64_t cap_waits, sim_waits, cap_blocked, sim_blocked, not_sent;
    uint64_t in_flight, in_flight_peak;
    unsigned n_conns, n_connecting, conns_peak;
    int drain_timed_out;
    struct conn *idle;
    struct conn *all; /* every connection, for the final free */
    struct samples lat, post, refusal, lag;
    struct event *tick;
    int stopping;
    struct tally results, refused_by, lost_by;
};

enum cstate { C_CONNECTING, C_IDLE, C_POST, C_GET };

struct conn {
    struct lg *lg;
    struct bufferevent *bev;
    enum cstate st;
    struct conn *next_idle;
    struct conn *next_all, **prev_all;
    struct txn t;
    int has_txn;
    struct event *again; /* a refused GET, asked again after Retry-After */
    /* response parsing: Retry-After in seconds (-1: none); the server closes after it */
    int in_body, status, retry_after, closing;
    int retire; /* the server closes it: freed once its response is handled */
    size_t clen;
};

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void push(struct samples *s, int64_t us)
{
    if (us < 0)
        us = 0;
    if (us > UINT32_MAX)
        us = UINT32_MAX;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 65536;
        uint32_t *p = realloc(s->v, nc * sizeof(*p));
        if (!p)
            return;
        s->v = p;
        s->cap = nc;
    }
    s->v[s->n++] = (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const struct samples *s, double p)
{
    size_t i;
    if (s->n == 0)
        return 0;
    i = (size_t)ceil(p / 100.0 * (double)s->n);
    if (i > 0)
        i--;
    if (i >= s->n)
        i = s->n - 1;
    return s->v[i];
}

static void sort_samples(struct samples *s)
{
    if (s->n)
        qsort(s->v, s->n, sizeof(uint32_t), cmp_u32);
}

/* "name":{"n":..,"p50":..,...}, for sorted samples */
static void print_samples(const char *name, const struct samples *s)
{
    printf("\"%s\":{\"n\":%zu,\"p50\":%.0f,\"p90\":%.0f,\"p99\":%.0f,\"p999\":%.0f,\"max\":%.0f},", name, s->n,
           pct(s, 50), pct(s, 90), pct(s, 99), pct(s, 99.9), pct(s, 100));
}

static void count(struct tally *t, const char *r)
{
    size_t i;
    for (i = 0; i < 16 && t->name[i][0]; i++)
        if (strcmp(t->name[i], r) == 0)
            break;
    if (i == 16)
        return;
    if (!t->name[i][0])
        snprintf(t->name[i], sizeof(t->name[i]), "%s", r);
    t->n[i]++;
}

static uint64_t tally_sum(const struct tally *t)
{
    uint64_t n = 0;
    for (size_t i = 0; i < 16 && t->name[i][0]; i++)
        n += t->n[i];
    return n;
}

static void print_tally(const struct tally *t)
{
    printf("{");
    for (size_t i = 0; i < 16 && t->name[i][0]; i++)
        printf("%s\"%s\":%llu", i ? "," : "", t->name[i], (unsigned long long)t->n[i]);
    printf("}");
}

/* Value of "key":"..." in a flat JSON body (the API's answers are flat where we look). */
static int json_str(const char *body, const char *key, char *out, size_t cap)
{
    char pat[48];
    const char *p, *e;
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    p = strstr(body, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    e = strchr(p, '"');
    if (!e || (size_t)(e - p) >= cap)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

static void conn_start_txn(struct conn *c, int64_t start_us);
static void schedule(struct lg *lg);

static struct conn *conn_new(struct lg *lg);

static int in_window(const struct lg *lg, int64_t t)
{
    return t >= lg->measure_from && t < lg->measure_to;
}

/* Unlink and free a connection; read_cb frees one only after its response is handled. */
static void conn_free(struct conn *c)
{
    struct lg *lg = c->lg;

    if (c->st == C_CONNECTING)
        lg->n_connecting--;
    lg->n_conns--;
    /* it may sit in the idle list (a connection that failed to connect) */
    for (struct conn **pp = &lg->idle; *pp; pp = &(*pp)->next_idle)
        if (*pp == c) {
            *pp = c->next_idle;
            break;
        }
    *c->prev_all = c->next_all;
    if (c->next_all)
        c->next_all->prev_all = c->prev_all;
    if (c->again)
        event_free(c->again);
    bufferevent_free(c->bev);
    free(c);
}

/* A connection went: the closed loop replaces it, the open loop sends what is due. */
static void conn_gone(struct lg *lg)
{
    if (lg->stopping)
        return;
    if (lg->mode == M_CLOSED)
        conn_new(lg);
    else
        schedule(lg);
}

static void conn_release(struct conn *c)
{
    struct lg *lg = c->lg;
    c->has_txn = 0;
    c->st = C_IDLE;
    if (c->closing) {
        /* the server closes it after this answer (Connection: close): read_cb frees it */
        c->retire = 1;
        return;
    }
    if (lg->mode == M_CLOSED && !lg->stopping) {
        conn_start_txn(c, now_us());
        return;
    }
    c->next_idle = lg->idle;
    lg->idle = c;
    if (lg->mode != M_CLOSED)
        schedule(lg);
}

/* A transaction ends with no answer to read: an accepted one is lost (why), another unanswered. */
static void txn_abandon(struct conn *c, const char *why)
{
    struct lg *lg = c->lg;

    lg->busy[c->t.sim] = 0;
    lg->in_flight--;
    lg->finished++;
    lg->failed++;
    count(&lg->results, why);
    if (c->t.accepted)
        count(&lg->lost_by, why);
    else
        lg->unanswered++;
    c->has_txn = 0;
}

static void conn_drop(struct conn *c, const char *why)
{
    struct lg *lg = c->lg;
    (void)why;
    /* an idle keep-alive connection the server closed costs nothing */
    if (c->has_txn || c->st == C_CONNECTING)
        lg->conn_err++;
    if (c->has_txn)
        txn_abandon(c, "CONNECTION_CLOSED");
    conn_free(c);
    conn_gone(lg);
}

static void send_get(struct conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    c->st = C_GET;
    evbuffer_add_printf(out,
                        "GET /v1/signatures/%s?wait=60 HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n\r\n",
                        c->t.id, c->lg->token);
}

/*
 * How a transaction ended: its final answer (an accepted one's, or a SOAP
 * answer), a refusal for overload (result = the reason), or an answer that is
 * neither (an accepted transaction that ends so is lost).
 */
enum end { END_FINAL, END_REFUSED, END_FAILED };

static void txn_end(struct conn *c, enum end how, const char *result)
{
    struct lg *lg = c->lg;
    int64_t t = now_us();

    lg->busy[c->t.sim] = 0;
    lg->in_flight--;
    lg->finished++;
    if (how == END_REFUSED) {
        lg->refused++;
        count(&lg->refused_by, result);
        if (in_window(lg, c->t.start_us))
            push(&lg->refusal, t - c->t.start_us);
        if (in_window(lg, t))
            lg->refused_in_window++;
        conn_release(c);
        return;
    }
    count(&lg->results, result);
    if (how == END_FINAL && strcmp(result, "OK") == 0)
        lg->ok++;
    else
        lg->failed++;
    if (how == END_FAILED) {
        if (c->t.accepted)
            count(&lg->lost_by, result);
    } else {
        lg->answered++;
        if (in_window(lg, c->t.start_us)) {
            push(&lg->lat, t - c->t.start_us - lg->sim_delay_us);
            push(&lg->post, c->t.post_us - c->t.start_us);
        }
        if (in_window(lg, t))
            lg->completed_in_window++;
    }
    conn_release(c);
}

/*
 * The overload refusal an answer is ("OVERLOADED", "UNAVAILABLE",
 * "RATE_LIMITED"; buf may hold it), or NULL.  JSON: 503 with error OVERLOADED
 * or UNAVAILABLE, 429 with RATE_LIMITED.  SOAP: a fault that names one of
 * them, or one with Retry-After, or any answer with HTTP 503 or 429.
 */
static const char *refusal(const struct conn *c, const char *body, char *buf, size_t cap)
{
    static const char *const names[] = {"OVERLOADED", "UNAVAILABLE", "RATE_LIMITED"};

    if (c->lg->api == API_JSON) {
        if ((c->status != 503 && c->status != 429) || json_str(body, "error", buf, cap) != 0)
            return NULL;
        if (c->status == 429 ? strcmp(buf, "RATE_LIMITED") == 0
                             : strcmp(buf, "OVERLOADED") == 0 || strcmp(buf, "UNAVAILABLE") == 0)
            return buf;
        return NULL;
    }
    if (c->status == 200)
        return NULL;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strstr(body, names[i]))
            return names[i];
    /* a fault that says when to come back, or HTTP's own "busy" */
    if (c->retry_after >= 0 || c->status == 503 || c->status == 429) {
        snprintf(buf, cap, "HTTP_%d", c->status);
        return buf;
    }
    return NULL;
}

/* A refused request: counted by reason if it says when to come back, else a failure. */
static void txn_refused(struct conn *c, const char *reason)
{
    char v[64];

    if (c->retry_after < 0) {
        snprintf(v, sizeof(v), "%.40s_NO_RETRY_AFTER", reason);
        txn_end(c, END_FAILED, v);
        return;
    }
    txn_end(c, END_REFUSED, reason);
}

static void again_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    send_get(arg);
}

/*
 * A GET of an accepted transaction refused for overload, or answered
 * "pending" at once with Retry-After (the gateway holds no more long polls):
 * ask again after Retry-After (1 s if a refusal has none).
 */
static void poll_later(struct conn *c, int refused)
{
    struct lg *lg = c->lg;
    struct timeval tv = {c->retry_after < 0 ? 1 : c->retry_after, c->retry_after == 0 ? 100000 : 0};

    if (refused) {
        lg->poll_refused++;
        if (c->retry_after < 0)
            lg->poll_no_retry_after++;
    } else {
        lg->poll_deferred++;
    }
    if (!c->again)
        c->again = evtimer_new(lg->base, again_cb, c);
    if (!c->again) {
        txn_end(c, END_FAILED, "NOMEM");
        return;
    }
    evtimer_add(c->again, &tv);
}

/*
 * The answer to an MSS_Signature synch request: the signature (accepted and
 * final), a refusal for overload, or another fault (failed, not accepted).
 */
static void on_soap_response(struct conn *c, const char *body)
{
    struct lg *lg = c->lg;
    const char *p, *r;
    char v[64];

    c->t.post_us = now_us();
    r = refusal(c, body, v, sizeof(v));
    if (r) {
        txn_refused(c, r);
        return;
    }
    if (c->status == 200) {
        c->t.accepted = 1;
        lg->accepted++;
        p = strstr(body, "StatusCode Value=\"");
        if (p && strncmp(p + 18, "50", 2) == 0 && (p[20] == '0' || p[20] == '2')) {
            txn_end(c, END_FINAL, "OK");
            return;
        }
        lg->http_err++;
        txn_end(c, END_FINAL, "NO_SIGNATURE");
        return;
    }
    /* a fault: env:Subcode/env:Value is mss:_NNN */
    p = strstr(body, "Subcode");
    p = p ? strstr(p, ":_") : NULL;
    if (p && strspn(p + 2, "0123456789") == 3)
        snprintf(v, sizeof(v), "FAULT_%.3s", p + 2);
    else
        snprintf(v, sizeof(v), "HTTP_%d", c->status);
    lg->http_err++;
    txn_end(c, END_FAILED, v);
}

static void on_response(struct conn *c, const char *body)
{
    struct lg *lg = c->lg;
    char v[64];

    if (lg->api == API_SOAP) {
        on_soap_response(c, body);
        return;
    }
    if (c->st == C_POST) {
        c->t.post_us = now_us();
        if (c->status == 202 || c->status == 200) {
            if (json_str(body, "id", c->t.id, sizeof(c->t.id)) != 0) {
                lg->http_err++;
                txn_end(c, END_FAILED, "NO_ID");
                return;
            }
            if (lg->mode == M_FILL) {
                /* Capacity run: the transaction stays pending; the number stays busy. */
                lg->in_flight--;
                lg->finished++;
                lg->ok++;
                if (c->t.start_us >= lg->measure_from)
                    push(&lg->post, c->t.post_us - c->t.start_us);
                c->has_txn = 0;
                conn_release(c);
                return;
            }
            c->t.accepted = 1;
            lg->accepted++;
            send_get(c);
            return;
        }
        {
            const char *r = refusal(c, body, v, sizeof(v));
            if (r) {
                txn_refused(c, r);
                return;
            }
        }
        if (c->status == 409)
            lg->refused_busy++;
        else
            lg->http_err++;
        snprintf(v, sizeof(v), "HTTP_%d", c->status);
        txn_end(c, END_FAILED, v);
        return;
    }
    if (c->status != 200) {
        if (refusal(c, body, v, sizeof(v))) {
            poll_later(c, 1);
            return;
        }
        snprintf(v, sizeof(v), "HTTP_%d", c->status);
        lg->http_err++;
        txn_end(c, END_FAILED, v);
        return;
    }
    if (json_str(body, "state", v, sizeof(v)) == 0 && strcmp(v, "pending") == 0) {
        if (c->retry_after >= 0)
            poll_later(c, 0);
        else
            send_get(c);
        return;
    }
    if (json_str(body, "result", v, sizeof(v)) != 0)
        snprintf(v, sizeof(v), "NO_RESULT");
    txn_end(c, END_FINAL, v);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        if (!c->in_body) {
            size_t n;
            char *line;
            /* status line and headers */
            while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
                if (c->status == 0) {
                    if (strncmp(line, "HTTP/1.", 7) != 0 || n < 12) {
                        free(line);
                        conn_drop(c, "bad status line");
                        return;
                    }
                    c->status = (int)strtol(line + 9, NULL, 10);
                    c->clen = 0;
                    c->retry_after = -1;
                    c->closing = 0;
                } else if (n == 0) {
                    free(line);
                    c->in_body = 1;
                    break;
                } else if (strncasecmp(line, "Content-Length:", 15) == 0) {
                    c->clen = (size_t)strtoul(line + 15, NULL, 10);
                } else if (strncasecmp(line, "Retry-After:", 12) == 0) {
                    /* seconds; an HTTP-date (not sent by simpkid) counts as present, 1 s */
                    char *end;
                    long s = strtol(line + 12, &end, 10);
                    c->retry_after = end == line + 12 ? 1 : s < 0 ? 0 : s > 3600 ? 3600 : (int)s;
                } else if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line + 11, "close")) {
                    c->closing = 1;
                }
                free(line);
            }
            if (!c->in_body)
                return;
        }
        if (evbuffer_get_length(in) < c->clen)
            return;
        {
            char *body = malloc(c->clen + 1);
            if (!body) {
                conn_drop(c, "nomem");
                return;
            }
            evbuffer_remove(in, body, c->clen);
            body[c->clen] = '\0';
            c->in_body = 0;
            on_response(c, body);
            free(body);
        }
        /* on_response never frees c (only conn_drop does, and it returns at once) */
        c->status = 0;
        if (c->retire) {
            struct lg *lg = c->lg;
            conn_free(c);
            conn_gone(lg);
            return;
        }
        if (evbuffer_get_length(in) == 0)
            return;
    }
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->lg->n_connecting--;
        c->st = C_IDLE;
        conn_release(c);
        return;
    }
    conn_drop(c, "connection closed");
}

static struct conn *conn_new(struct lg *lg)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->lg = lg;
    c->bev = bufferevent_socket_new(lg->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        free(c);
        return NULL;
    }
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&lg->addr, sizeof(lg->addr)) != 0) {
        bufferevent_free(c->bev);
        free(c);
        return NULL;
    }
    c->st = C_CONNECTING;
    lg->n_connecting++;
    lg->n_conns++;
    if (lg->n_conns > lg->conns_peak)
        lg->conns_peak = lg->n_conns;
    c->next_all = lg->all;
    if (c->next_all)
        c->next_all->prev_all = &c->next_all;
    c->prev_all = &lg->all;
    lg->all = c;
    return c;
}

/* The next number without a pending transaction; -1 if all are busy. */
static int64_t pick_sim(struct lg *lg)
{
    for (uint64_t n = 0; n < lg->count; n++) {
        uint64_t i = lg->next_sim;
        lg->next_sim = (lg->next_sim + 1) % lg->count;
        if (!lg->busy[i])
            return (int64_t)i;
    }
    return -1;
}

/* Base64 of n octets into out (4 * ((n + 2) / 3) + 1 bytes). */
static void b64_enc(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;

    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* XML-escaped copy of s (for an attribute); the caller frees it. */
static char *xml_esc(const char *s)
{
    size_t n = 1;
    char *r, *o;

    for (const char *p = s; *p; p++)
        n += *p == '&' ? 5 : *p == '<' || *p == '>' ? 4 : *p == '"' ? 6 : 1;
    r = malloc(n);
    if (!r)
        return NULL;
    o = r;
    for (const char *p = s; *p; p++) {
        const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : *p == '"' ? "&quot;" : NULL;
        size_t k = e ? strlen(e) : 1;
        memcpy(o, e ? e : p, k);
        o += k;
    }
    *o = '\0';
    return r;
}

#define ETSI_NS "http://uri.etsi.org/TS102204/v1.1.2#"
/* The display text the JSON body carries ("Ky van ban so 123/QD-UBND" with its diacritics), in UTF-8. */
#define DISPLAY_UTF8 "K\xc3\xbd v\xc4\x83n b\xe1\xba\xa3n s\xe1\xbb\x91 123/Q\xc4\x90-UBND"

#define SOAP_HEAD                                                                                     \
    "<?xml version='1.0' encoding='UTF-8'?>\n<soap-env:Envelope "                                     \
    "xmlns:soap-env=\"http://www.w3.org/2003/05/soap-envelope\"><soap-env:Body><MSS_Signature>"       \
    "<MSS_SignatureReq MajorVersion=\"1\" MinorVersion=\"1\" TimeOut=\"60\" MessagingMode=\"synch\">" \
    "<ns0:AP_Info xmlns:ns0=\"" ETSI_NS "\" AP_ID=\"%s\" AP_PWD=\"%s\" Instant=\"%s\" AP_TransID=\""

/*
 * The envelope up to AP_TransID's value, built once per run (zeep's shape, as
 * tests/gateway/data/soap/signature.xml); soap_send adds the rest per request.
 */
static int soap_init(struct lg *lg, const char *ap_id, const char *ap_pwd)
{
    char *id = xml_esc(ap_id), *pwd = xml_esc(ap_pwd), instant[32];
    struct timespec ts;
    struct tm tm;
    int n, rc = -1;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (!id || !pwd || !gmtime_r(&ts.tv_sec, &tm))
        goto out;
    strftime(instant, sizeof(instant), "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    /* AP_TransID is unique per AP for 24 hours: this run's prefix is its start time */
    snprintf(lg->soap_run, sizeof(lg->soap_run), "LG%llx",
             (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
    n = snprintf(NULL, 0, SOAP_HEAD, id, pwd, instant);
    lg->soap_head = malloc((size_t)n + 1);
    if (!lg->soap_head)
        goto out;
    snprintf(lg->soap_head, (size_t)n + 1, SOAP_HEAD, id, pwd, instant);
    rc = 0;
out:
    if (pwd) {
        explicit_bzero(pwd, strlen(pwd));
        free(pwd);
    }
    free(id);
    return rc;
}

/* POST an MSS_Signature synch request for number msisdn over digest dg. */
static void soap_send(struct conn *c, uint64_t msisdn, const uint8_t dg[32])
{
    static const uint8_t sha256_prefix[19] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                              0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
    struct lg *lg = c->lg;
    uint8_t di[51];
    char b64[72], tail[1200];
    int tlen;

    memcpy(di, sha256_prefix, sizeof(sha256_prefix));
    memcpy(di + sizeof(sha256_prefix), dg, 32);
    b64_enc(di, sizeof(di), b64);
    tlen = snprintf(
        tail, sizeof(tail),
        "%s_%llu\"/><ns1:MSSP_Info xmlns:ns1=\"" ETSI_NS "\"><ns1:MSSP_ID><ns1:URI>http://hmssp.mobile-id.vn"
        "</ns1:URI></ns1:MSSP_ID></ns1:MSSP_Info><ns2:MobileUser xmlns:ns2=\"" ETSI_NS "\"><ns2:MSISDN>%llu"
        "</ns2:MSISDN></ns2:MobileUser><ns3:DataToBeSigned xmlns:ns3=\"" ETSI_NS "\" "
        "MimeType=\"application/octet-stream\" Encoding=\"base64\">%s</ns3:DataToBeSigned>"
        "<ns4:DataToBeDisplayed xmlns:ns4=\"" ETSI_NS "\" MimeType=\"text/plain\" Encoding=\"UTF-8\">" DISPLAY_UTF8
        "</ns4:DataToBeDisplayed><ns5:MSS_Format xmlns:ns5=\"" ETSI_NS "\"><ns5:mssURI>" ETSI_NS
        "PKCS1</ns5:mssURI></ns5:MSS_Format><ns6:SignatureProfile xmlns:ns6=\"" ETSI_NS "\">"
        "<ns6:mssURI>http://mobile-id.vn/digitalSignature</ns6:mssURI></ns6:SignatureProfile>"
        "</MSS_SignatureReq></MSS_Signature></soap-env:Body></soap-env:Envelope>",
        lg->soap_run, (unsigned long long)lg->started, (unsigned long long)msisdn, b64);
    evbuffer_add_printf(bufferevent_get_output(c->bev),
                        "POST /soap/services/MSS_SignaturePort HTTP/1.1\r\nHost: bench\r\n"
                        "Content-Type: application/soap+xml; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s%s",
                        strlen(lg->soap_head) + (size_t)tlen, lg->soap_head, tail);
}

static void conn_start_txn(struct conn *c, int64_t start_us)
{
    struct lg *lg = c->lg;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int64_t sim = pick_sim(lg);
    uint8_t dg[32];
    char b64[64];
    char body[512];
    int blen;

    if (sim < 0) {
        /* Every SIM busy: the closed loop has more in flight than numbers. */
        c->next_idle = lg->idle;
        lg->idle = c;
        return;
    }
    lg->busy[sim] = 1;
    lg->started++;
    lg->in_flight++;
    if (lg->in_flight > lg->in_flight_peak)
        lg->in_flight_peak = lg->in_flight;
    c->has_txn = 1;
    c->t.start_us = start_us;
    c->t.sim = (uint64_t)sim;
    c->t.post_us = 0;
    c->t.accepted = 0;
    /* how late the open loop sends it (waiting for a connection or a free number) */
    if (lg->mode == M_OPEN && in_window(lg, start_us))
        push(&lg->lag, now_us() - start_us);
    /* A different digest per transaction (the SIM signs it). */
    for (size_t i = 0; i < sizeof(dg); i++)
        dg[i] = (uint8_t)((lg->started * 2654435761u) >> (i % 4 * 8)) ^ (uint8_t)(i * 37);
    c->st = C_POST;
    if (lg->api == API_SOAP) {
        soap_send(c, lg->first + (uint64_t)sim, dg);
        return;
    }
    b64_enc(dg, sizeof(dg), b64);
    blen = snprintf(body, sizeof(body),
                    "{\"msisdn\":\"%llu\",\"digest\":\"%s\",\"digest_alg\":\"%s\","
                    "\"display_text\":\"K\\u00fd v\\u0103n b\\u1ea3n s\\u1ed1 123/Q\\u0110-UBND\"}",
                    (unsigned long long)(lg->first + (uint64_t)sim), b64, lg->digest_alg);
    evbuffer_add_printf(out,
                        "POST /v1/signatures HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
                        "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                        lg->token, blen, body);
}

/* Open loop / fill: start every transaction whose time has come. */
static void schedule(struct lg *lg)
{
    int64_t t = now_us();
    uint64_t due;

    if (lg->stopping)
        return;
    if (lg->mode == M_FILL) {
        /* transaction k is due at t0 + k / rate */
        due = (uint64_t)((double)(t - lg->t0_us) / 1e6 * lg->rate) + 1;
        if (due > lg->fill_count)
            due = lg->fill_count;
    } else {
        /* up to the last one due before the window's end, even when this tick comes after it */
        uint64_t last = (uint64_t)ceil((double)(lg->measure_to - lg->t0_us) / 1e6 * lg->rate);
        due = (uint64_t)((double)(t - lg->t0_us) / 1e6 * lg->rate) + 1;
        if (due > last)
            due = last;
    }
    /* late starts keep their scheduled time; a transaction that waits for the
     * connection cap or a free number is counted once (cap_blocked, sim_blocked:
     * its index + 1) */
    while (lg->scheduled < due) {
        struct conn *c = lg->idle;
        int64_t start = lg->t0_us + (int64_t)((double)lg->scheduled * 1e6 / lg->rate);
        if (!c) {
            /* as many new connections as transactions due and not yet sent */
            while (lg->n_connecting < due - lg->scheduled && lg->n_conns < lg->max_conns)
                if (!conn_new(lg))
                    break;
            if (lg->n_conns >= lg->max_conns && lg->cap_blocked != lg->scheduled + 1) {
                lg->cap_blocked = lg->scheduled + 1;
                lg->cap_waits++;
            }
            return;
        }
        lg->idle = c->next_idle;
        conn_start_txn(c, start);
        if (!c->has_txn) {
            if (lg->sim_blocked != lg->scheduled + 1) {
                lg->sim_blocked = lg->scheduled + 1;
                lg->sim_waits++;
            }
            return; /* every SIM busy */
        }
        lg->scheduled++;
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct lg *lg = arg;
    int64_t t = now_us();
    (void)fd;
    (void)what;
    if (lg->mode != M_CLOSED)
        schedule(lg);
    if (lg->mode == M_FILL) {
        if (lg->finished >= lg->fill_count || t > lg->t0_us + (int64_t)(lg->duration * 1e6) + 60000000)
            event_base_loopbreak(lg->base);
        return;
    }
    if (t >= lg->measure_to) {
        if (!lg->stopping && lg->mode == M_OPEN) {
            /* transaction k is due at t0 + k / rate: those due before the end and not sent */
            uint64_t due = (uint64_t)ceil((double)(lg->measure_to - lg->t0_us) / 1e6 * lg->rate);
            lg->not_sent = due > lg->scheduled ? due - lg->scheduled : 0;
        }
        lg->stopping = 1;
        /* Drain: wait for the transactions in flight, at most --drain seconds. */
        if (lg->in_flight == 0 || t > lg->measure_to + lg->drain_us) {
            lg->drain_timed_out = lg->in_flight > 0;
            lg->end_us = t;
            event_base_loopbreak(lg->base);
        }
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen --port P --token T --numbers FIRST:COUNT [--mode closed|open|fill]\n"
                    "  [--concurrency N] [--rate R] [--count N] [--duration S] [--warmup S]\n"
                    "  [--sim-delay-ms D] [--digest-alg A] [--max-conns N] [--drain S] [--label L]\n"
                    "  [--api json|soap] [--ap-id ID --ap-pwd PWD]   (soap: no --token; closed or open mode)\n");
    exit(2);
}

static void print_hist(const struct samples *s)
{
    /* log2 buckets in microseconds */
    uint64_t b[33] = {0};
    for (size_t i = 0; i < s->n; i++) {
        unsigned k = 0;
        uint32_t v = s->v[i];
        while (v > 1 && k < 32) {
            v >>= 1;
            k++;
        }
        b[k]++;
    }
    for (unsigned k = 0; k < 33; k++)
        if (b[k])
            fprintf(stderr, "  %9llu..%-9llu us %8llu %s\n", k ? 1ull << k : 0ull, (1ull << (k + 1)) - 1,
                    (unsigned long long)b[k], "");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"host", 1, 0, 'H'},
                                         {"port", 1, 0, 'p'},
                                         {"token", 1, 0, 't'},
                                         {"numbers", 1, 0, 'n'},
                                         {"mode", 1, 0, 'm'},
                                         {"concurrency", 1, 0, 'c'},
                                         {"rate", 1, 0, 'r'},
                                         {"count", 1, 0, 'N'},
                                         {"duration", 1, 0, 'd'},
                                         {"warmup", 1, 0, 'w'},
                                         {"sim-delay-ms", 1, 0, 's'},
                                         {"digest-alg", 1, 0, 'a'},
                                         {"max-conns", 1, 0, 'M'},
                                         {"label", 1, 0, 'l'},
                                         {"api", 1, 0, 'A'},
                                         {"ap-id", 1, 0, 'i'},
                                         {"ap-pwd", 1, 0, 'P'},
                                         {"drain", 1, 0, 'D'},
                                         {0, 0, 0, 0}};
    struct lg lg = {0};
    const char *host = "127.0.0.1", *label = "", *ap_id = NULL, *ap_pwd = NULL;
    int port = 0, o;
    struct timeval tv = {0, 1000};
    double window, cpu_us, drain = 70;

    lg.mode = M_CLOSED;
    lg.concurrency = 64;
    lg.rate = 1000;
    lg.duration = 10;
    lg.warmup = 2;
    lg.max_conns = 4000;
    lg.digest_alg = "SHA-256";
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 't': lg.token = optarg; break;
        case 'n':
            if (sscanf(optarg, "%llu:%llu", (unsigned long long *)&lg.first, (unsigned long long *)&lg.count) != 2)
                usage();
            break;
        case 'm':
            lg.mode = strcmp(optarg, "open") == 0 ? M_OPEN : strcmp(optarg, "fill") == 0 ? M_FILL : M_CLOSED;
            break;
        case 'c': lg.concurrency = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'r': lg.rate = strtod(optarg, NULL); break;
        case 'N': lg.fill_count = strtoull(optarg, NULL, 10); break;
        case 'd': lg.duration = strtod(optarg, NULL); break;
        case 'w': lg.warmup = strtod(optarg, NULL); break;
        case 's': lg.sim_delay_us = (int64_t)(strtod(optarg, NULL) * 1000); break;
        case 'a': lg.digest_alg = optarg; break;
        case 'M': lg.max_conns = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'D': drain = strtod(optarg, NULL); break;
        case 'l': label = optarg; break;
        case 'A':
            if (strcmp(optarg, "soap") == 0)
                lg.api = API_SOAP;
            else if (strcmp(optarg, "json") == 0)
                lg.api = API_JSON;
            else
                usage();
            break;
        case 'i': ap_id = optarg; break;
        case 'P': ap_pwd = optarg; break;
        default: usage();
        }
    }
    if (!port || !lg.count || lg.rate <= 0 || lg.concurrency == 0 || lg.max_conns == 0 || !(drain >= 0))
        usage();
    if (lg.api == API_JSON && !lg.token)
        usage();
    if (lg.api == API_SOAP && (!ap_id || !ap_pwd || lg.mode == M_FILL))
        usage();
    if (lg.api == API_SOAP && soap_init(&lg, ap_id, ap_pwd) != 0)
        return 1;
    if (lg.mode == M_FILL && lg.fill_count > lg.count)
        lg.fill_count = lg.count;
    lg.addr.sin_family = AF_INET;
    lg.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &lg.addr.sin_addr) != 1)
        usage();
    lg.busy = calloc(lg.count, 1);
    lg.base = event_base_new();
    if (!lg.busy || !lg.base)
        return 1;

    lg.t0_us = now_us();
    if (lg.mode == M_FILL)
        lg.warmup = 0;
    lg.measure_from = lg.t0_us + (int64_t)(lg.warmup * 1e6);
    lg.measure_to = lg.measure_from + (int64_t)(lg.duration * 1e6);
    lg.drain_us = (int64_t)(drain * 1e6);
    if (lg.mode == M_CLOSED)
        for (unsigned i = 0; i < lg.concurrency; i++)
            conn_new(&lg);
    lg.tick = event_new(lg.base, -1, EV_PERSIST, tick_cb, &lg);
    event_add(lg.tick, &tv);
    event_base_dispatch(lg.base);

    {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    }
    /* what is still in flight now has no answer: lost if accepted, else unanswered */
    for (struct conn *c = lg.all; c; c = c->next_all)
        if (c->has_txn)
            txn_abandon(c, "DRAIN_TIMEOUT");
    if (!lg.end_us)
        lg.end_us = now_us();
    sort_samples(&lg.lat);
    sort_samples(&lg.post);
    sort_samples(&lg.refusal);
    sort_samples(&lg.lag);
    window = lg.duration;
    if (lg.mode == M_FILL)
        window = (double)(now_us() - lg.t0_us) / 1e6;
    fprintf(stderr,
            "loadgen %s: %s, %llu finished (%llu OK, %llu failed; busy %llu, http errors %llu, conn errors %llu)\n",
            label,
            lg.mode == M_CLOSED ? "closed"
            : lg.mode == M_OPEN ? "open"
                                : "fill",
            (unsigned long long)lg.finished, (unsigned long long)lg.ok, (unsigned long long)lg.failed,
            (unsigned long long)lg.refused_busy, (unsigned long long)lg.http_err, (unsigned long long)lg.conn_err);
    fprintf(stderr,
            "  accepted %llu, answered %llu, lost %llu, unanswered %llu; refused %llu (%.0f/s), time to refusal p50 "
            "%.0f p99 %.0f us; not sent %llu, waited for --max-conns %llu (peak %u conns), for a number %llu\n",
            (unsigned long long)lg.accepted, (unsigned long long)lg.answered,
            (unsigned long long)tally_sum(&lg.lost_by), (unsigned long long)lg.unanswered,
            (unsigned long long)lg.refused, (double)lg.refused_in_window / window, pct(&lg.refusal, 50),
            pct(&lg.refusal, 99), (unsigned long long)lg.not_sent, (unsigned long long)lg.cap_waits, lg.conns_peak,
            (unsigned long long)lg.sim_waits);
    if (lg.lat.n) {
        fprintf(stderr,
                "  completed/s in window %.0f; latency minus SIM delay (us): p50 %.0f p99 %.0f p99.9 %.0f max %.0f\n",
                (double)lg.completed_in_window / window, pct(&lg.lat, 50), pct(&lg.lat, 99), pct(&lg.lat, 99.9),
                pct(&lg.lat, 100));
        print_hist(&lg.lat);
    }
    printf("{\"label\":\"%s\",\"api\":\"%s\",\"mode\":\"%s\",\"rate_target\":%.1f,\"concurrency\":%u,\"started\":%llu,"
           "\"finished\":%llu,\"ok\":%llu,\"failed\":%llu,\"busy\":%llu,\"http_errors\":%llu,\"conn_errors\":%llu,"
           "\"cpu_us\":%.0f,\"window_s\":%.3f,\"completed_per_s\":%.1f,\"accepted_per_s\":%.1f,",
           label, lg.api == API_SOAP ? "soap" : "json",
           lg.mode == M_CLOSED ? "closed"
           : lg.mode == M_OPEN ? "open"
                               : "fill",
           lg.rate, lg.concurrency, (unsigned long long)lg.started, (unsigned long long)lg.finished,
           (unsigned long long)lg.ok, (unsigned long long)lg.failed, (unsigned long long)lg.refused_busy,
           (unsigned long long)lg.http_err, (unsigned long long)lg.conn_err, cpu_us, window,
           (double)lg.completed_in_window / window, (double)lg.ok / window);
    print_samples("lat_us", &lg.lat);
    print_samples("post_us", &lg.post);
    printf("\"accepted\":%llu,\"answered\":%llu,\"lost\":%llu,\"lost_by\":", (unsigned long long)lg.accepted,
           (unsigned long long)lg.answered, (unsigned long long)tally_sum(&lg.lost_by));
    print_tally(&lg.lost_by);
    printf(",\"unanswered\":%llu,\"refused\":%llu,\"refused_per_s\":%.1f,\"refused_by_reason\":",
           (unsigned long long)lg.unanswered, (unsigned long long)lg.refused, (double)lg.refused_in_window / window);
    print_tally(&lg.refused_by);
    printf(",");
    print_samples("refusal_us", &lg.refusal);
    printf("\"poll_refused\":%llu,\"poll_refused_no_retry_after\":%llu,\"poll_deferred\":%llu,\"not_sent\":%llu,"
           "\"max_conns\":%u,"
           "\"conns_peak\":%u,\"cap_waits\":%llu,\"sim_waits\":%llu,\"in_flight_peak\":%llu,",
           (unsigned long long)lg.poll_refused, (unsigned long long)lg.poll_no_retry_after,
           (unsigned long long)lg.poll_deferred, (unsigned long long)lg.not_sent, lg.max_conns, lg.conns_peak,
           (unsigned long long)lg.cap_waits, (unsigned long long)lg.sim_waits, (unsigned long long)lg.in_flight_peak);
    print_samples("send_lag_us", &lg.lag);
    printf("\"drain_s\":%.3f,\"drain_timed_out\":%s,\"results\":",
           lg.stopping ? (double)(lg.end_us - lg.measure_to) / 1e6 : 0.0, lg.drain_timed_out ? "true" : "false");
    print_tally(&lg.results);
    printf("}\n");
    while (lg.all)
        conn_free(lg.all);
    event_free(lg.tick);
    event_base_free(lg.base);
    free(lg.lat.v);
    free(lg.post.v);
    free(lg.refusal.v);
    free(lg.lag.v);
    free(lg.busy);
    if (lg.soap_head) /* it holds AP_PWD */
        explicit_bzero(lg.soap_head, strlen(lg.soap_head));
    free(lg.soap_head);
    return 0;
}
