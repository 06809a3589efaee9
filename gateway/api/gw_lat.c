/* gw_lat.c - see gw_lat.h. */
#include "gw_lat.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "car_etsi_xml.h"
#include "gw_soap.h"

/* An input header name the HTTP parser can never produce: it splits a header line at its first ':'. */
#define T0_HEADER "simpki:t0"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* libevent: the answer has been written.  arg is the operation's gw_api_stat. */
static void completed(struct evhttp_request *req, void *arg)
{
    struct gw_api_stat *s = arg;
    const char *t0 = evhttp_find_header(evhttp_request_get_input_headers(req), T0_HEADER);

    gw_api_stat_answer(s, evhttp_request_get_response_code(req));
    if (t0) {
        uint64_t start = strtoull(t0, NULL, 10), t = now_ns();
        gw_hist_observe(&s->lat, t > start ? t - start : 0);
    }
}

/* ?wait=N with N > 0: a long poll. */
static int long_poll(const char *query)
{
    for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (strncmp(p, "wait=", 5) == 0)
            return strtol(p + 5, NULL, 10) > 0;
    return 0;
}

static enum gw_api_op soap_op(const char *port)
{
    static const struct {
        enum etsi_kind kind;
        enum gw_api_op op;
    } ports[] = {
        {ETSI_SIGNATURE, GW_OP_SOAP_SIGNATURE}, {ETSI_STATUS, GW_OP_SOAP_STATUS},
        {ETSI_RECEIPT, GW_OP_SOAP_RECEIPT},     {ETSI_REGISTRATION, GW_OP_SOAP_REGISTRATION},
        {ETSI_PROFILE, GW_OP_SOAP_PROFILE},
    };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
        if (strcmp(port, etsi_port(ports[i].kind)) == 0)
            return ports[i].op;
    return GW_OP_SOAP_OTHER;
}

enum gw_api_op gw_lat_classify(int is_get, const char *path, const char *query)
{
    const char *slash;

    if (strcmp(path, "/healthz") == 0)
        return GW_OP_OPS_HEALTH;
    if (strcmp(path, "/metrics") == 0)
        return GW_OP_OPS_METRICS;
    if (strncmp(path, "/ui/", 4) == 0)
        return GW_OP_OPS_UI;
    if (strncmp(path, GW_SOAP_PATH, strlen(GW_SOAP_PATH)) == 0)
        return soap_op(path + strlen(GW_SOAP_PATH));
    if (strcmp(path, "/v1/signatures") == 0)
        return GW_OP_JSON_CREATE;
    if (strncmp(path, "/v1/signatures/", 15) == 0) {
        slash = strchr(path + 15, '/');
        if (!slash)
            return is_get && long_poll(query) ? GW_OP_JSON_POLL : GW_OP_JSON_GET;
        return strcmp(slash, "/receipt") == 0 ? GW_OP_JSON_RECEIPT : GW_OP_JSON_OTHER;
    }
    if (strncmp(path, "/v1/subscribers/", 16) == 0)
        return GW_OP_JSON_LOOKUP;
    if (strncmp(path, "/v1/requests", 12) == 0)
        return GW_OP_JSON_ENROL;
    if (strncmp(path, "/v1/plans", 9) == 0)
        return GW_OP_JSON_PLAN;
    return GW_OP_JSON_OTHER;
}

void gw_lat_start(struct gw_metrics *m, struct evhttp_request *req, const char *path)
{
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    enum gw_api_op op = gw_lat_classify(evhttp_request_get_command(req) == EVHTTP_REQ_GET, path, query);
    char t0[24];

    snprintf(t0, sizeof(t0), "%" PRIu64, now_ns());
    /* Out of memory: the answer is still counted, only not timed. */
    (void)evhttp_add_header(evhttp_request_get_input_headers(req), T0_HEADER, t0);
    evhttp_request_set_on_complete_cb(req, completed, &m->api[op]);
}

void gw_lat_reclass(struct gw_metrics *m, struct evhttp_request *req, enum gw_api_op op)
{
    evhttp_request_set_on_complete_cb(req, completed, &m->api[op]);
}
