/*
 * test_interop.c - our SMPP ESME (car_smpp_ops) against an independent SMSC:
 * node-smpp, driven by smsc.js (started by run_interop.sh).
 *
 *   test_interop <port> <smsc-stdout-file> <spka1.json>
 *
 * One SIGN request built from the SPKA/1 vector's command fields goes out;
 * the SMSC throttles the first submit_sm, accepts the rest, then sends a
 * receipt and the vector's PoR segments in reverse order.  Checked here:
 * exactly one CAR_OK outcome, the receipt never reaches ev->mo, one
 * reassembled PoR equal to the vector's response packet that decodes to the
 * vector's signature, the link never dropped, and - from the SMSC's summary
 * line, written when it sees our unbind - that every short_message node-smpp
 * received equals the vector's segments except the concatenation reference
 * (a per-link counter on our side, so that octet is masked).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "car.h"
#include "car_spka.h"
#include "car_text.h"
#include "cfg.h"
#include "check.h"
#include "log.h"

#define MSISDN          "84912345678"
#define RUN_LIMIT_S     20   /* the whole exchange, or the test fails */
#define MIN_RUN_MS      2500 /* long enough for two enquire_links at 1 s */
#define SETTLE_MS       300  /* after the PoR: catch a duplicate MO or outcome */
#define SUMMARY_WAIT_MS 5000
#define UDH_REF_OFFSET  3 /* UDHL, IEI 00, IEDL 03, ref */

struct vec {
    uint8_t cmd_app[512];
    size_t cmd_app_len;
    uint8_t por_pkt[512];
    size_t por_pkt_len;
    uint8_t por_app[512];
    size_t por_app_len;
    uint8_t seg[8][160];
    size_t seg_len[8];
    size_t nseg;
};

struct run {
    struct event_base *base;
    struct car_link *link;
    struct car_request req;
    int handle;
    int submitted;
    unsigned sent;
    enum car_err sent_status;
    unsigned mo;
    char mo_from[32];
    uint8_t mo_data[512];
    size_t mo_len;
    int ups, downs;
    struct timespec start, mo_at;
};

static struct run R;

static long ms_since(const struct timespec *t)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

static long unhex_json(json_t *s, uint8_t *out, size_t cap)
{
    return json_is_string(s) ? check_unhex(json_string_value(s), out, cap) : -1;
}

static int load_vectors(const char *path, struct vec *v)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *segs;
    long n;
    int rc = -1;

    if (!root) {
        fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
        return -1;
    }
    n = unhex_json(json_object_get(json_object_get(root, "sign_command"), "application_data"), v->cmd_app,
                   sizeof(v->cmd_app));
    if (n < 0)
        goto out;
    v->cmd_app_len = (size_t)n;
    n = unhex_json(json_object_get(json_object_get(root, "sign_por_ok"), "response_packet"), v->por_pkt,
                   sizeof(v->por_pkt));
    if (n < 0)
        goto out;
    v->por_pkt_len = (size_t)n;
    n = unhex_json(json_object_get(json_object_get(root, "sign_por_ok"), "application_data"), v->por_app,
                   sizeof(v->por_app));
    if (n < 0)
        goto out;
    v->por_app_len = (size_t)n;
    segs = json_object_get(json_object_get(root, "sign_command"), "sms_user_data");
    if (!json_is_array(segs) || json_array_size(segs) == 0 || json_array_size(segs) > 8)
        goto out;
    v->nseg = json_array_size(segs);
    for (size_t i = 0; i < v->nseg; i++) {
        n = unhex_json(json_array_get(segs, i), v->seg[i], sizeof(v->seg[i]));
        if (n <= UDH_REF_OFFSET)
            goto out;
        v->seg_len[i] = (size_t)n;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* ---- the link's owner ---- */

static void on_sent(void *arg, void *handle, enum car_err st, const char *detail, int resent, const char *far_ref)
{
    (void)arg;
    (void)resent;
    CHECK(far_ref == NULL);
    CHECK(handle == &R.handle);
    R.sent++;
    R.sent_status = st;
    if (st != CAR_OK)
        fprintf(stderr, "sent: %s (%s)\n", car_strerror(st), detail ? detail : "");
}

static void on_mo(void *arg, struct car_link *link, const char *msisdn, const uint8_t *data, size_t len)
{
    (void)arg;
    CHECK(link == R.link);
    R.mo++;
    snprintf(R.mo_from, sizeof(R.mo_from), "%s", msisdn);
    R.mo_len = 0;
    if (len <= sizeof(R.mo_data)) {
        memcpy(R.mo_data, data, len);
        R.mo_len = len;
    }
    clock_gettime(CLOCK_MONOTONIC, &R.mo_at);
}

static void on_state(void *arg, struct car_link *link, int up)
{
    (void)arg;
    R.link = link;
    if (up)
        R.ups++;
    else
        R.downs++;
    if (up && !R.submitted) {
        R.submitted = 1;
        CHECK_EQ_INT(car_link_submit(link, &R.req, &R.handle), CAR_OK);
    }
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (R.sent && R.mo && ms_since(&R.mo_at) >= SETTLE_MS && ms_since(&R.start) >= MIN_RUN_MS)
        event_base_loopbreak(R.base);
}

/* The SIGN request from the vector's command: digest, text, vc, timeout. */
static int build_request(const struct vec *v, char *text_utf8, size_t text_cap)
{
    struct spka_command c;
    size_t tlen = 0;

    CHECK_EQ_INT(spka_decode_command(v->cmd_app, v->cmd_app_len, &c), CAR_OK);
    CHECK_EQ_INT(c.cmd, SPKA_SIGN);
    CHECK(c.text && c.digest && c.vc_len == 4 && c.has_timeout);
    if (!c.text || !c.digest || c.vc_len != 4)
        return -1;
    CHECK_EQ_INT(text_decode(c.text, c.text_len, text_utf8, text_cap, &tlen), CAR_OK);

    memset(&R.req, 0, sizeof(R.req));
    R.req.op = CAR_OP_SIGN;
    snprintf(R.req.sub.msisdn, sizeof(R.req.sub.msisdn), "%s", MSISDN);
    snprintf(R.req.sub.iccid, sizeof(R.req.sub.iccid), "8984040000000000019");
    R.req.sub.ota_kv = 1;
    R.req.cntr = 1;
    memcpy(R.req.txn_ref, c.txn_ref, sizeof(R.req.txn_ref));
    R.req.key_ref = c.key_ref;
    R.req.digest_alg = c.digest_alg;
    R.req.digest = c.digest; /* points into v->cmd_app, which outlives the submit */
    R.req.digest_len = c.digest_len;
    R.req.display_text = text_utf8;
    memcpy(R.req.vc, c.vc, 4);
    R.req.user_timeout_s = c.timeout_s;
    /* What the brief asks for, straight from the vector. */
    CHECK_EQ_INT(R.req.digest_alg, SPKA_SHA256);
    CHECK_EQ_INT(R.req.user_timeout_s, 120);
    CHECK_EQ_STR(R.req.vc, "4821");
    CHECK_EQ_INT(R.req.txn_ref[0], 0x01);
    CHECK_EQ_INT(R.req.txn_ref[7], 0xef);
    return 0;
}

/* The SMSC's summary: the line starting with '{' in its stdout, once written. */
static json_t *read_summary(const char *path)
{
    struct timespec t0;
    struct timespec nap = {0, 50 * 1000000};

    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (ms_since(&t0) < SUMMARY_WAIT_MS) {
        FILE *f = fopen(path, "r");
        char line[65536];

        while (f && fgets(line, sizeof(line), f)) {
            size_t n = strlen(line);
            json_t *j;

            if (line[0] != '{' || n == 0 || line[n - 1] != '\n')
                continue;
            j = json_loads(line, 0, NULL);
            if (j) {
                fclose(f);
                return j;
            }
        }
        if (f)
            fclose(f);
        nanosleep(&nap, NULL);
    }
    return NULL;
}

/* Every short_message node-smpp saw is one of the vector's segments, ref masked. */
static void check_submits(const struct vec *v, json_t *sum)
{
    json_t *subs = json_object_get(sum, "submits");
    unsigned accepted_per_seg[8] = {0};
    int ref = -1;
    size_t i;
    json_t *s;

    CHECK(json_is_array(subs));
    CHECK_EQ_INT(json_array_size(subs), v->nseg + 1); /* one throttled, then each once */
    json_array_foreach(subs, i, s)
    {
        uint8_t sm[256];
        long n = unhex_json(json_object_get(s, "short_message"), sm, sizeof(sm));
        int matched = -1;

        CHECK(n > UDH_REF_OFFSET);
        if (n <= UDH_REF_OFFSET)
            continue;
        if (ref < 0)
            ref = sm[UDH_REF_OFFSET];
        CHECK_EQ_INT(sm[UDH_REF_OFFSET], ref); /* one reference for all segments */
        for (size_t k = 0; k < v->nseg; k++) {
            if ((size_t)n == v->seg_len[k] && memcmp(sm, v->seg[k], UDH_REF_OFFSET) == 0 &&
                memcmp(sm + UDH_REF_OFFSET + 1, v->seg[k] + UDH_REF_OFFSET + 1, (size_t)n - UDH_REF_OFFSET - 1) == 0)
                matched = (int)k;
        }
        if (matched < 0)
            fprintf(stderr, "submit #%zu: short_message %s matches no vector segment\n", i + 1,
                    json_string_value(json_object_get(s, "short_message")));
        CHECK(matched >= 0);
        if (matched >= 0 && json_integer_value(json_object_get(s, "status")) == 0)
            accepted_per_seg[matched]++;
        CHECK_EQ_STR(json_string_value(json_object_get(s, "destination_addr")), MSISDN);
        CHECK_EQ_STR(json_string_value(json_object_get(s, "source_addr")), "8088");
    }
    for (size_t k = 0; k < v->nseg; k++)
        CHECK_EQ_INT(accepted_per_seg[k], 1);
    /* The throttled one was the first, and came back. */
    s = json_array_get(subs, 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(s, "status")), 0x58);
}

static void check_reply(const struct vec *v)
{
    struct spka_response want;
    struct car_subscriber sub = R.req.sub;
    struct car_reply rep;

    CHECK_EQ_INT(spka_decode_response(v->por_app, v->por_app_len, &want), CAR_OK);
    CHECK(want.signature != NULL);
    CHECK_EQ_INT(car_link_decode(R.link, &sub, R.mo_data, R.mo_len, &rep), CAR_OK);
    CHECK_EQ_INT(rep.corr.cntr, 1);
    CHECK_EQ_INT(rep.corr.has_ref, 1); /* PoR OK: the SPKA/1 answer was read */
    CHECK_EQ_INT(rep.outcome, CAR_OUT_OK);
    CHECK_EQ_STR(rep.detail, "");
    CHECK_EQ_INT(rep.sig_format, CAR_SIG_RAW);
    CHECK_EQ_INT(rep.op, SPKA_SIGN);
    CHECK_MEM(rep.corr.txn_ref, R.req.txn_ref, sizeof(rep.corr.txn_ref));
    CHECK_EQ_INT(rep.sig_len, want.sig_len);
    CHECK(want.signature && rep.signature && rep.sig_len == want.sig_len &&
          memcmp(rep.signature, want.signature, want.sig_len) == 0);
}

int main(int argc, char **argv)
{
    static struct vec v;
    static struct cfg_carrier car;
    static char text[512];
    struct cfg_link *lk = &car.links[0];
    struct cfg_smpp *lc = &lk->u.smpp;
    struct car_events ev = {NULL, on_sent, on_mo, on_state};
    struct car_link_stats st;
    struct event *poll = NULL;
    struct timeval tick = {0, 20000};
    struct timeval limit = {RUN_LIMIT_S, 0};
    json_t *sum;
    char *end = NULL;
    long port;

    if (argc != 4) {
        fprintf(stderr, "usage: %s <port> <smsc-stdout-file> <spka1.json>\n", argv[0]);
        return 2;
    }
    port = strtol(argv[1], &end, 10);
    if (!end || *end || port <= 0 || port > 65535) {
        fprintf(stderr, "bad port %s\n", argv[1]);
        return 2;
    }
    log_setup(LOG_WARN, LOG_FMT_TEXT);
    CHECK_EQ_INT(load_vectors(argv[3], &v), 0);
    if (v.nseg == 0 || build_request(&v, text, sizeof(text)) != 0)
        return check_report("test_interop");

    snprintf(car.name, sizeof(car.name), "interop");
    snprintf(car.service_number, sizeof(car.service_number), "8088");
    for (int i = 0; i < 16; i++)
        car.ota_master_key[i] = (uint8_t)i;
    car.reassembly_timeout_s = 30;
    car.n_links = 1;
    snprintf(lk->name, sizeof(lk->name), "node-smpp");
    snprintf(lk->transport, sizeof(lk->transport), "smpp");
    lk->kind = CFG_TRANSPORT_SMPP;
    snprintf(lc->host, sizeof(lc->host), "127.0.0.1");
    lc->port = (uint16_t)port;
    snprintf(lc->system_id, sizeof(lc->system_id), "simpki");
    snprintf(lc->password, sizeof(lc->password), "secret");
    lc->window = 4;
    lc->rate = 50;
    lc->enquire_link_s = 1;
    lc->response_timeout_s = 5;
    lc->reconnect_min_ms = 100;
    lc->reconnect_max_ms = 1000;
    lc->throttle_backoff_ms = 200;

    R.base = event_base_new();
    CHECK(R.base != NULL);
    if (!R.base)
        return check_report("test_interop");
    clock_gettime(CLOCK_MONOTONIC, &R.start);
    CHECK_EQ_INT(car_smpp_ops.open(R.base, &car, lk, &ev, &R.link), CAR_OK);
    poll = event_new(R.base, -1, EV_PERSIST, on_poll, NULL);
    evtimer_add(poll, &tick);
    event_base_loopexit(R.base, &limit);
    event_base_dispatch(R.base);
    CHECK(ms_since(&R.start) < RUN_LIMIT_S * 1000L); /* finished, not timed out */

    /* One outcome, CAR_OK after the throttle; one PoR, the receipt never. */
    CHECK_EQ_INT(R.sent, 1);
    CHECK_EQ_INT(R.sent_status, CAR_OK);
    CHECK_EQ_INT(R.mo, 1);
    CHECK_EQ_STR(R.mo_from, MSISDN);
    CHECK_EQ_INT(R.mo_len, v.por_pkt_len);
    CHECK_MEM(R.mo_data, v.por_pkt, v.por_pkt_len);
    CHECK(R.ups == 1 && R.downs == 0);

    if (R.link) {
        car_link_stats(R.link, &st);
        CHECK_EQ_INT(st.throttled, 1);
        CHECK_EQ_INT(st.submitted, v.nseg + 1);
        CHECK_EQ_INT(st.submit_ok, 1);
        CHECK_EQ_INT(st.submit_err, 0);
        CHECK_EQ_INT(st.receipts, 1);
        CHECK_EQ_INT(st.mo_received, 1);
        CHECK_EQ_INT(st.mo_malformed, 0);
        CHECK_EQ_INT(st.reconnects, 0);
        CHECK_EQ_INT(st.in_flight, 0);
        CHECK_EQ_INT(st.queued, 0);
        CHECK_EQ_INT(st.up, 1);
        if (R.mo)
            check_reply(&v);
    }

    /* Our unbind makes the SMSC write its summary. */
    car_link_close(R.link);
    R.link = NULL;
    sum = read_summary(argv[2]);
    CHECK(sum != NULL);
    if (sum) {
        CHECK_EQ_STR(json_string_value(json_object_get(sum, "end")), "unbind");
        CHECK_EQ_INT(json_array_size(json_object_get(sum, "mismatches")), 0);
        check_submits(&v, sum);
        json_decref(sum);
    }

    event_free(poll);
    event_base_free(R.base);
    return check_report("test_interop");
}
