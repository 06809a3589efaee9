/*
 * test_gw_metrics.c - the histograms and answer counts of /metrics
 * (gateway/common/gw_metrics.h) and how a request is named and timed
 * (gateway/api/gw_lat.h; its .c is included to reach the completion callback).
 * Prints what timing a request costs (never asserted: tests check states).
 */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "gw_lat.c"
#include "gw_metrics.h"

static char *text_of(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    if (s) {
        evbuffer_remove(b, s, n);
        s[n] = '\0';
    }
    return s;
}

/* le is "<=": an observation on a bound counts in that bound's bucket. */
static void test_buckets(void)
{
    struct gw_hist h;

    memset(&h, 0, sizeof(h));
    gw_hist_observe(&h, 0);
    gw_hist_observe(&h, 100000); /* exactly 100 us */
    gw_hist_observe(&h, 100001);
    gw_hist_observe(&h, 1000000000); /* 1 s */
    gw_hist_observe(&h, 10000000000u);
    gw_hist_observe(&h, 10000000001u); /* above 10 s */
    CHECK_EQ_INT(h.n[0], 2);
    CHECK_EQ_INT(h.n[1], 1);
    CHECK_EQ_INT(h.n[12], 1);
    CHECK_EQ_INT(h.n[15], 1);
    CHECK_EQ_INT(h.n[GW_HIST_BOUNDS], 1);
    CHECK_EQ_INT(h.sum_ns, 0 + 100000 + 100001 + 1000000000 + 10000000000u + 10000000001u);
    for (int i = 1; i < GW_HIST_BOUNDS; i++)
        CHECK(gw_hist_bounds_ns[i] > gw_hist_bounds_ns[i - 1]);
}

static void test_render(void)
{
    struct evbuffer *b = evbuffer_new();
    struct gw_hist h;
    char *s;

    memset(&h, 0, sizeof(h));
    gw_hist_observe(&h, 300000);   /* 0.0005 */
    gw_hist_observe(&h, 300000);   /* 0.0005 */
    gw_hist_observe(&h, 20000000); /* 0.025 */
    gw_metrics_hist(b, "x_seconds", "help", "link=\"a\"", &h);
    s = text_of(b);
    CHECK(s && strncmp(s, "# HELP simpki_x_seconds help\n# TYPE simpki_x_seconds histogram\n", 62) == 0);
    CHECK(s && strstr(s, "simpki_x_seconds_bucket{link=\"a\",le=\"0.00025\"} 0\n"));
    CHECK(s && strstr(s, "simpki_x_seconds_bucket{link=\"a\",le=\"0.0005\"} 2\n"));
    CHECK(s && strstr(s, "simpki_x_seconds_bucket{link=\"a\",le=\"0.01\"} 2\n"));
    CHECK(s && strstr(s, "simpki_x_seconds_bucket{link=\"a\",le=\"0.025\"} 3\n"));
    CHECK(s && strstr(s, "simpki_x_seconds_bucket{link=\"a\",le=\"+Inf\"} 3\n"));
    CHECK(s && strstr(s, "simpki_x_seconds_sum{link=\"a\"} 0.020600000\n"));
    CHECK(s && strstr(s, "simpki_x_seconds_count{link=\"a\"} 3\n"));
    free(s);
    /* Without labels: le alone in the braces, none on _sum and _count. */
    gw_metrics_hist(b, "y_seconds", NULL, NULL, &h);
    s = text_of(b);
    CHECK(s && strncmp(s, "simpki_y_seconds_bucket{le=\"0.0001\"} 0\n", 39) == 0);
    CHECK(s && strstr(s, "\nsimpki_y_seconds_count 3\n"));
    free(s);
    gw_metrics_counter(b, "z_total", "zh", NULL, 18446744073709551615u); /* a counter keeps every digit */
    s = text_of(b);
    CHECK_EQ_STR(s, "# HELP simpki_z_total zh\n# TYPE simpki_z_total counter\nsimpki_z_total 18446744073709551615\n");
    free(s);
    evbuffer_free(b);
}

static void test_answers(void)
{
    struct gw_metrics m;
    struct evbuffer *b = evbuffer_new();
    char *s;

    memset(&m, 0, sizeof(m));
    gw_api_stat_answer(&m.api[GW_OP_JSON_CREATE], 202);
    gw_api_stat_answer(&m.api[GW_OP_JSON_CREATE], 202);
    gw_api_stat_answer(&m.api[GW_OP_JSON_CREATE], 418); /* not in the table: its class */
    gw_api_stat_answer(&m.api[GW_OP_SOAP_STATUS], 0);   /* no status: 1xx */
    gw_metrics_render(&m, b);
    s = text_of(b);
    CHECK(s && !strstr(s, "simpki_archive_anchors_total")); /* no anchoring, no series */
    free(s);
    m.ar_anchoring = 1;
    m.ar_anchors_ok = 3; /* the archive's anchoring (ar_anchor.h) */
    gw_metrics_render(&m, b);
    s = text_of(b);
    CHECK(s && strstr(s, "simpki_api_responses_total{api=\"json\",op=\"create\",code=\"202\"} 2\n"));
    CHECK(s && strstr(s, "simpki_api_responses_total{api=\"json\",op=\"create\",code=\"4xx\"} 1\n"));
    CHECK(s && strstr(s, "simpki_api_responses_total{api=\"soap\",op=\"status\",code=\"1xx\"} 1\n"));
    CHECK(s && !strstr(s, "code=\"200\"")); /* a status never answered has no series */
    CHECK(s && strstr(s, "# TYPE simpki_archive_anchors_total counter\nsimpki_archive_anchors_total{result=\"ok\"} 3\n"
                         "simpki_archive_anchors_total{result=\"failed\"} 0\n"));
    /* Untimed operations have no histogram. */
    CHECK(s && strstr(s, "simpki_api_request_duration_seconds_count{api=\"json\",op=\"get\"} 0\n"));
    CHECK(s && !strstr(s, "simpki_api_request_duration_seconds_count{api=\"json\",op=\"poll\"}"));
    CHECK(s && !strstr(s, "op=\"signature_synch\",le="));
    free(s);
    evbuffer_free(b);
}

static void test_classify(void)
{
    CHECK_EQ_INT(gw_lat_classify(0, "/v1/signatures", NULL), GW_OP_JSON_CREATE);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/signatures/0123", NULL), GW_OP_JSON_GET);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/signatures/0123", "wait=0"), GW_OP_JSON_GET);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/signatures/0123", "wait=10"), GW_OP_JSON_POLL);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/signatures/0123", "x=1&wait=3"), GW_OP_JSON_POLL);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/signatures/0123", "nowait=3"), GW_OP_JSON_GET);
    CHECK_EQ_INT(gw_lat_classify(0, "/v1/signatures/0123", "wait=10"), GW_OP_JSON_GET); /* a POST never waits */
    CHECK_EQ_INT(gw_lat_classify(0, "/v1/signatures/0123/receipt", NULL), GW_OP_JSON_RECEIPT);
    CHECK_EQ_INT(gw_lat_classify(0, "/v1/signatures/0123/other", NULL), GW_OP_JSON_OTHER);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/subscribers/84912345678/certificate", NULL), GW_OP_JSON_LOOKUP);
    CHECK_EQ_INT(gw_lat_classify(0, "/v1/requests", NULL), GW_OP_JSON_ENROL);
    CHECK_EQ_INT(gw_lat_classify(1, "/v1/plans/x", NULL), GW_OP_JSON_PLAN);
    CHECK_EQ_INT(gw_lat_classify(1, "/nothing", NULL), GW_OP_JSON_OTHER);
    CHECK_EQ_INT(gw_lat_classify(1, "/healthz", NULL), GW_OP_OPS_HEALTH);
    CHECK_EQ_INT(gw_lat_classify(1, "/metrics", NULL), GW_OP_OPS_METRICS);
    CHECK_EQ_INT(gw_lat_classify(1, "/ui/plans", NULL), GW_OP_OPS_UI);
    CHECK_EQ_INT(gw_lat_classify(0, "/soap/services/MSS_SignaturePort", NULL), GW_OP_SOAP_SIGNATURE);
    CHECK_EQ_INT(gw_lat_classify(0, "/soap/services/MSS_StatusQueryPort", NULL), GW_OP_SOAP_STATUS);
    CHECK_EQ_INT(gw_lat_classify(0, "/soap/services/MSS_ReceiptPort", NULL), GW_OP_SOAP_RECEIPT);
    CHECK_EQ_INT(gw_lat_classify(0, "/soap/services/MSS_RegistrationPort", NULL), GW_OP_SOAP_REGISTRATION);
    CHECK_EQ_INT(gw_lat_classify(0, "/soap/services/MSS_ProfileQueryPort", NULL), GW_OP_SOAP_PROFILE);
    CHECK_EQ_INT(gw_lat_classify(0, "/soap/services/Nope", NULL), GW_OP_SOAP_OTHER);
}

/* CPU time of this thread: a busy machine stretches wall time, not this. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * What gw_lat adds to one request, on a request object as libevent makes
 * one: the start (clock, header) and the completion (header lookup, clock,
 * histogram, status count), less creating and freeing the request itself.
 */
/* n requests as libevent makes them; with timed, gw_lat's work on each.  The CPU time taken. */
static uint64_t requests(struct gw_metrics *m, int n, int timed, int *hdrs_ok)
{
    uint64_t t0 = cpu_ns();

    for (int i = 0; i < n; i++) {
        struct evhttp_request *r = evhttp_request_new(NULL, NULL);
        char t[24];

        evhttp_add_header(evhttp_request_get_input_headers(r), "Host", "gw");
        evhttp_add_header(evhttp_request_get_input_headers(r), "Authorization", "Bearer x");
        evhttp_add_header(evhttp_request_get_input_headers(r), "Content-Type", "application/json");
        if (timed) {
            /* gw_lat_start without the URI a parsed request has, then the completion */
            snprintf(t, sizeof(t), "%" PRIu64, now_ns());
            *hdrs_ok &= evhttp_add_header(evhttp_request_get_input_headers(r), T0_HEADER, t) == 0;
            evhttp_request_set_on_complete_cb(r, completed,
                                              &m->api[gw_lat_classify(1, "/v1/signatures/0123456789abcdef", "wait=0")]);
            completed(r, &m->api[GW_OP_JSON_GET]);
        }
        evhttp_request_free(r);
    }
    return cpu_ns() - t0;
}

/*
 * What gw_lat adds to one request: the start (clock, header) and the
 * completion (header lookup, clock, histogram, status count), less creating
 * and freeing the request itself.  Best of five rounds of each.
 */
static void test_cost(void)
{
    struct gw_metrics m;
    enum { N = 100000, ROUNDS = 5 };
    uint64_t base = UINT64_MAX, with = UINT64_MAX, timed = 0;
    int hdrs_ok = 1;

    memset(&m, 0, sizeof(m));
    for (int k = 0; k < ROUNDS; k++) {
        uint64_t b = requests(&m, N, 0, &hdrs_ok), w = requests(&m, N, 1, &hdrs_ok);
        base = b < base ? b : base;
        with = w < with ? w : with;
    }
    CHECK(hdrs_ok);
    for (unsigned k = 0; k <= GW_HIST_BOUNDS; k++)
        timed += m.api[GW_OP_JSON_GET].lat.n[k];
    CHECK_EQ_INT(timed, (uint64_t)N * ROUNDS);
    CHECK_EQ_INT(m.api[GW_OP_JSON_GET].codes[0], 0); /* a request never answered has status 0: 1xx */
    CHECK_EQ_INT(m.api[GW_OP_JSON_GET].codes[GW_CODE_SLOTS - 5], (uint64_t)N * ROUNDS);
    printf("timing one request costs %.0f ns of CPU (%.0f ns with the request's own life, %.0f ns without)\n",
           ((double)with - (double)base) / N, (double)with / N, (double)base / N);
}

int main(void)
{
    test_buckets();
    test_render();
    test_answers();
    test_classify();
    test_cost();
    return check_report("test_gw_metrics");
}
