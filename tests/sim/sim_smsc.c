/* sim_smsc.c - see sim_smsc.h. */
#include "sim_smsc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <smpp34.h>
#include <smpp34_structs.h>

#include "car_pdu.h"
#include "car_udh.h"
#include "log.h"
#include "sim_card.h"
#include "sim_scen.h"

#define SUBSYS               "sim"
#define JOB_RETRY_MS         1000 /* no receiver bound: try again after this */
#define JOB_MAX_TRIES        120  /* ... for about two minutes, then drop it */
#define JOB_MAX_PDUS         24   /* 8 segments, twice, plus hostile PDUs */
#define RECEIPT_DELAY_MS     20   /* the handset acknowledges before the applet answers */
#define OTA_REFUSAL_DELAY_MS 50   /* a packet refused below the applet: no PIN prompt, no wait */
#define REASM_SETS           64
#define REASM_TIMEOUT_MS     60000
#define HOSTILE_TLVS         100

enum conn_state { CONN_OPEN = 0, CONN_BOUND_TX, CONN_BOUND_RX, CONN_BOUND_TRX, CONN_CLOSING };

struct sim_conn {
    struct sim_smsc *smsc;
    struct bufferevent *bev;
    enum conn_state state;
    uint32_t seq;       /* last sequence number we used */
    unsigned unacked;   /* deliver_sm without deliver_sm_resp */
    uint64_t last_used; /* for least-recently-used delivery */
    int dead;           /* to be freed by the reaper, never inside its own callback */
    unsigned long id;   /* from 1, for hold_first */
    char name[40];
    struct sim_conn *next;
};

/* One raw PDU waiting to go out; the sequence number is patched in at send time. */
struct job_pdu {
    size_t len;
    uint8_t buf[PDU_MAX_LEN];
};

/* A delivery towards the ESMEs (receipt or PoR), after a delay. */
struct sim_job {
    struct sim_smsc *smsc;
    struct event *timer;
    unsigned tries;
    char what[32];
    char msisdn[16];
    size_t n;
    struct job_pdu *pdus;
    struct sim_job *next;
    struct sim_job **prevp; /* the pointer that points at this job: O(1) unlink */
};

struct sim_smsc {
    struct event_base *base;
    struct sim_scen *scen;
    size_t ci;
    const struct sim_carrier_cfg *cfg;
    struct evconnlistener *lst;
    uint16_t port;
    struct sim_conn *conns;
    struct sim_job *jobs;
    struct event *reaper;
    struct udh_reasm *reasm;
    uint64_t msg_ids;
    uint64_t uses;
    unsigned conn_ids;
    unsigned long hold_ids; /* sim_conn.id */
    uint8_t concat_ref;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t next_seq(struct sim_conn *c)
{
    c->seq = c->seq >= PDU_SEQ_MAX ? 1 : c->seq + 1;
    return c->seq;
}

/* ---- connections ---------------------------------------------------- */

static void conn_free(struct sim_conn *c)
{
    struct sim_conn **pp;

    for (pp = &c->smsc->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->unacked)
        LOGP(LOG_WARN, SUBSYS, c->name, "closed with %u deliver_sm unanswered", c->unacked);
    bufferevent_free(c->bev);
    free(c);
}

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sim_smsc *s = arg;
    struct sim_conn *c, *next;

    (void)fd;
    (void)what;
    for (c = s->conns; c; c = next) {
        next = c->next;
        if (c->dead)
            conn_free(c);
    }
}

/* Mark a connection for closing; it is freed from the reaper, outside its callbacks. */
static void conn_kill(struct sim_conn *c, const char *why)
{
    struct timeval tv = {0, 0};

    if (c->dead)
        return;
    LOGP(LOG_INFO, SUBSYS, c->name, "closing: %s", why);
    c->dead = 1;
    c->state = CONN_CLOSING;
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    evtimer_add(c->smsc->reaper, &tv);
}

static void conn_send(struct sim_conn *c, const uint8_t *pdu, size_t len)
{
    if (c->dead)
        return;
    if (bufferevent_write(c->bev, pdu, len) != 0)
        conn_kill(c, "write failed");
}

static void send_header_only(struct sim_conn *c, uint32_t id, uint32_t status, uint32_t seq)
{
    uint8_t buf[PDU_HEADER_LEN];
    size_t n = 0;

    if (pdu_build_header_only(buf, sizeof(buf), &n, id, status, seq) == CAR_OK)
        conn_send(c, buf, n);
}

/* ---- deliveries (receipts, PoRs) ------------------------------------ */

static void job_free(struct sim_job *j)
{
    if (j->prevp) {
        *j->prevp = j->next;
        if (j->next)
            j->next->prevp = j->prevp;
    }
    event_free(j->timer);
    free(j->pdus);
    free(j);
}

static struct sim_conn *pick_receiver(struct sim_smsc *s)
{
    struct sim_conn *best = NULL;

    for (struct sim_conn *c = s->conns; c; c = c->next) {
        if (c->dead || (c->state != CONN_BOUND_RX && c->state != CONN_BOUND_TRX))
            continue;
        if (!best || c->last_used < best->last_used)
            best = c;
    }
    return best;
}

static void job_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sim_job *j = arg;
    struct sim_smsc *s = j->smsc;
    struct sim_conn *c = pick_receiver(s);
    struct timeval tv = {JOB_RETRY_MS / 1000, (JOB_RETRY_MS % 1000) * 1000};
    char mb[LOG_MSISDN_BUFSZ];

    (void)fd;
    (void)what;
    if (!c) {
        if (++j->tries >= JOB_MAX_TRIES) {
            LOGP(LOG_WARN, SUBSYS, s->cfg->name, "%s for %s dropped: no receiver bound", j->what,
                 log_msisdn(j->msisdn, mb));
            job_free(j);
            return;
        }
        evtimer_add(j->timer, &tv);
        return;
    }
    c->last_used = ++s->uses;
    for (size_t i = 0; i < j->n; i++) {
        put32(j->pdus[i].buf + 12, next_seq(c));
        c->unacked++;
        conn_send(c, j->pdus[i].buf, j->pdus[i].len);
    }
    LOGP(LOG_INFO, SUBSYS, c->name, "%s for %s: %zu deliver_sm sent", j->what, log_msisdn(j->msisdn, mb), j->n);
    job_free(j);
}

static struct sim_job *job_new(struct sim_smsc *s, const char *what, const char *msisdn)
{
    struct sim_job *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    j->pdus = calloc(JOB_MAX_PDUS, sizeof(*j->pdus));
    j->timer = evtimer_new(s->base, job_cb, j);
    if (!j->pdus || !j->timer) {
        event_free(j->timer);
        free(j->pdus);
        free(j);
        return NULL;
    }
    j->smsc = s;
    snprintf(j->what, sizeof(j->what), "%s", what);
    snprintf(j->msisdn, sizeof(j->msisdn), "%s", msisdn);
    j->next = s->jobs;
    if (j->next)
        j->next->prevp = &j->next;
    j->prevp = &s->jobs;
    s->jobs = j;
    return j;
}

static void job_start(struct sim_job *j, unsigned delay_ms)
{
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
    evtimer_add(j->timer, &tv);
}

/* Append a deliver_sm with these fields (sequence number patched at send time). */
static enum car_err job_add_sm(struct sim_job *j, const struct pdu_sm *sm)
{
    struct job_pdu *p;
    enum car_err rc;

    if (j->n >= JOB_MAX_PDUS)
        return CAR_ERR_TOO_LONG;
    p = &j->pdus[j->n];
    rc = pdu_build_deliver_sm(p->buf, sizeof(p->buf), &p->len, 1, sm);
    if (rc != CAR_OK) {
        LOGP(LOG_ERR, SUBSYS, j->smsc->cfg->name, "deliver_sm not built: %s", car_strerror(rc));
        return rc;
    }
    j->n++;
    return CAR_OK;
}

static enum car_err job_add_raw(struct sim_job *j, const uint8_t *pdu, size_t len)
{
    if (j->n >= JOB_MAX_PDUS || len > PDU_MAX_LEN)
        return CAR_ERR_TOO_LONG;
    memcpy(j->pdus[j->n].buf, pdu, len);
    j->pdus[j->n].len = len;
    j->n++;
    return CAR_OK;
}

/* The fields of an MO from the subscriber to the service number. */
static enum car_err mo_fields(struct sim_smsc *s, const char *msisdn, const uint8_t *ud, size_t len, struct pdu_sm *sm)
{
    enum car_err rc;

    /* pdu_sm_spka leaves the decode-only fields alone; the builder still checks them. */
    memset(sm, 0, sizeof(*sm));
    sm->message_state = -1;
    rc = pdu_sm_spka(sm, msisdn, s->cfg->service_number, ud, len);
    if (rc != CAR_OK)
        return rc;
    /* pdu_sm_spka is written for the MT; set the MO addressing explicitly. */
    sm->source_ton = PDU_SPKA_TON;
    sm->source_npi = PDU_SPKA_NPI;
    if (strlen(s->cfg->service_number) <= 8) {
        sm->dest_ton = TON_Abbreviated;
        sm->dest_npi = NPI_Unknown;
    } else {
        sm->dest_ton = PDU_SPKA_TON;
        sm->dest_npi = PDU_SPKA_NPI;
    }
    sm->registered_delivery = 0;
    return CAR_OK;
}

/* ---- hostile PDUs, built by hand: libsmpp34 cannot produce them ------ */

static size_t put_cstr(uint8_t *p, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(p, s, n);
    return n;
}

/* A text deliver_sm from the subscriber carrying HOSTILE_TLVS vendor TLVs. */
static size_t hostile_many_tlvs(struct sim_smsc *s, const char *msisdn, uint8_t *buf, size_t cap)
{
    static const char text[] = "simpki-sim hostile: 100 TLVs";
    size_t o = PDU_HEADER_LEN;

    if (cap < 128 + HOSTILE_TLVS * 8)
        return 0;
    o += put_cstr(buf + o, ""); /* service_type */
    buf[o++] = 1;               /* source TON/NPI */
    buf[o++] = 1;
    o += put_cstr(buf + o, msisdn);
    buf[o++] = TON_Abbreviated;
    buf[o++] = NPI_Unknown;
    o += put_cstr(buf + o, s->cfg->service_number);
    buf[o++] = 0; /* esm_class: plain text */
    buf[o++] = 0; /* protocol_id */
    buf[o++] = 0; /* priority_flag */
    buf[o++] = 0; /* schedule_delivery_time "" */
    buf[o++] = 0; /* validity_period "" */
    buf[o++] = 0; /* registered_delivery */
    buf[o++] = 0; /* replace_if_present_flag */
    buf[o++] = 0; /* data_coding */
    buf[o++] = 0; /* sm_default_msg_id */
    buf[o++] = (uint8_t)(sizeof(text) - 1);
    memcpy(buf + o, text, sizeof(text) - 1);
    o += sizeof(text) - 1;
    for (unsigned i = 0; i < HOSTILE_TLVS; i++) {
        uint16_t tag = (uint16_t)(0x1400 + i); /* vendor-specific range */
        buf[o++] = (uint8_t)(tag >> 8);
        buf[o++] = (uint8_t)tag;
        buf[o++] = 0;
        buf[o++] = 4;
        put32(buf + o, 0xDEAD0000u + i);
        o += 4;
    }
    put32(buf, (uint32_t)o);
    put32(buf + 4, PDU_DELIVER_SM);
    put32(buf + 8, 0);
    put32(buf + 12, 1);
    return o;
}

/*
 * A deliver_sm whose command_length is honest but whose body stops in the
 * middle of source_addr (no NUL): the stream stays in sync, the PDU is not.
 */
static size_t hostile_truncated(const char *msisdn, uint8_t *buf, size_t cap)
{
    size_t o = PDU_HEADER_LEN;
    size_t n = strlen(msisdn) / 2;

    if (cap < PDU_HEADER_LEN + 3 + n)
        return 0;
    buf[o++] = 0;
    buf[o++] = 1;
    buf[o++] = 1;
    memcpy(buf + o, msisdn, n);
    o += n;
    put32(buf, (uint32_t)o);
    put32(buf + 4, PDU_DELIVER_SM);
    put32(buf + 8, 0);
    put32(buf + 12, 1);
    return o;
}

/*
 * Split with the 16-bit reference IE (IEI 0x08, 4 octets), which car_udh
 * does not produce: first UDH 08 08 04 rh rl total 01 71 00 + 131 octets,
 * later 06 08 04 rh rl total seq + 133 octets.
 */
static enum car_err split_ref16(const uint8_t *pkt, size_t len, uint16_t ref, struct udh_segments *out)
{
    size_t total, off = 0;

    total = len <= 131 ? 1 : 1 + (len - 131 + 132) / 133;
    if (total > UDH_MAX_SEGMENTS)
        return CAR_ERR_TOO_LONG;
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < total; i++) {
        uint8_t *u = out->ud[i];
        size_t h = 0, take;
        u[h++] = i == 0 ? 8 : 6;
        u[h++] = 0x08;
        u[h++] = 4;
        u[h++] = (uint8_t)(ref >> 8);
        u[h++] = (uint8_t)ref;
        u[h++] = (uint8_t)total;
        u[h++] = (uint8_t)(i + 1);
        if (i == 0) {
            u[h++] = UDH_RESPONSE;
            u[h++] = 0;
        }
        take = len - off;
        if (take > UDH_SEGMENT_MAX - h)
            take = UDH_SEGMENT_MAX - h;
        memcpy(u + h, pkt + off, take);
        off += take;
        out->len[i] = h + take;
    }
    out->count = total;
    return CAR_OK;
}

/* Queue the PoR (and what the behaviour sends around it) as one delivery. */
static void schedule_por(struct sim_smsc *s, struct sim_card *card, const struct sim_answer *a)
{
    enum sim_behaviour b = sim_card_behaviour(card);
    const char *msisdn = sim_card_msisdn(card);
    struct udh_segments *seg = NULL;
    struct sim_job *j = NULL;
    struct pdu_sm sm;
    uint8_t raw[PDU_MAX_LEN];
    size_t order[UDH_MAX_SEGMENTS + 1], n_order = 0, rawlen, rounds;
    unsigned delay;
    enum car_err rc = CAR_ERR_NOMEM;
    char mb[LOG_MSISDN_BUFSZ];

    seg = malloc(sizeof(*seg));
    j = job_new(s, "PoR", msisdn);
    if (!seg || !j)
        goto out;
    s->concat_ref++;
    if (b == SIM_B_REF16)
        rc = split_ref16(a->por, a->por_len, (uint16_t)(0x5300u | s->concat_ref), seg);
    else
        rc = udh_split(a->por, a->por_len, UDH_RESPONSE, s->concat_ref, seg);
    if (rc != CAR_OK) {
        LOGP(LOG_ERR, SUBSYS, s->cfg->name, "cannot split a PoR of %zu octets", a->por_len);
        goto out;
    }

    if (b == SIM_B_HOSTILE) {
        rawlen = hostile_many_tlvs(s, msisdn, raw, sizeof(raw));
        rc = rawlen ? job_add_raw(j, raw, rawlen) : CAR_ERR_TOO_LONG;
        if (rc != CAR_OK)
            goto out;
        rawlen = hostile_truncated(msisdn, raw, sizeof(raw));
        rc = rawlen ? job_add_raw(j, raw, rawlen) : CAR_ERR_TOO_LONG;
        if (rc != CAR_OK)
            goto out;
    }
    /* Segment order: reversed with the middle one twice for "segments_shuffled". */
    if (b == SIM_B_SEGMENTS_SHUFFLED) {
        for (size_t i = seg->count; i > 0; i--) {
            order[n_order++] = i - 1;
            if (i - 1 == seg->count / 2)
                order[n_order++] = i - 1;
        }
    } else {
        for (size_t i = 0; i < seg->count; i++)
            order[n_order++] = i;
    }
    rounds = b == SIM_B_REPLAY ? 2 : 1;
    for (size_t r = 0; r < rounds; r++)
        for (size_t i = 0; i < n_order; i++) {
            rc = mo_fields(s, msisdn, seg->ud[order[i]], seg->len[order[i]], &sm);
            if (rc == CAR_OK)
                rc = job_add_sm(j, &sm);
            if (rc != CAR_OK)
                goto out;
        }
    /* The applet prompts for the PIN; a packet the OTA layer refuses (CNTR low...) is answered at once. */
    delay = a->has_spka ? sim_card_delay_ms(card) : OTA_REFUSAL_DELAY_MS;
    job_start(j, delay);
    LOGP(LOG_DEBUG, SUBSYS, s->cfg->name, "PoR for %s in %u ms: %zu segment(s), %zu deliver_sm", log_msisdn(msisdn, mb),
         delay, seg->count, j->n);
    j = NULL;
out:
    if (rc != CAR_OK)
        LOGP(LOG_ERR, SUBSYS, s->cfg->name, "cannot build the PoR for %s: %s", log_msisdn(msisdn, mb),
             car_strerror(rc));
    if (j)
        job_free(j);
    free(seg);
}

static void schedule_receipt(struct sim_smsc *s, const char *msisdn, const char *msg_id)
{
    struct sim_job *j = job_new(s, "receipt", msisdn);
    struct pdu_sm sm;
    enum car_err rc = CAR_ERR_NOMEM;

    if (!j)
        goto out;
    rc = mo_fields(s, msisdn, NULL, 0, &sm);
    if (rc == CAR_OK)
        rc = pdu_receipt_format(&sm, msg_id, "DELIVRD", 0);
    if (rc == CAR_OK)
        rc = job_add_sm(j, &sm);
    if (rc != CAR_OK)
        goto out;
    job_start(j, RECEIPT_DELAY_MS);
    j = NULL;
out:
    if (rc != CAR_OK)
        LOGP(LOG_ERR, SUBSYS, s->cfg->name, "cannot build a receipt: %s", car_strerror(rc));
    if (j)
        job_free(j);
}

/* ---- the SIM: a whole command packet has arrived -------------------- */

static void deliver_to_sim(struct sim_smsc *s, struct sim_card *card, const uint8_t *pkt, size_t len)
{
    struct sim_answer *a = malloc(sizeof(*a));
    char mb[LOG_MSISDN_BUFSZ];
    const char *msisdn = sim_card_msisdn(card);
    enum car_err rc;

    if (!a)
        return;
    rc = sim_card_handle(card, pkt, len, a);
    if (rc != CAR_OK) {
        LOGP(LOG_WARN, SUBSYS, s->cfg->name, "SIM %s dropped an unreadable packet (%zu octets): %s",
             log_msisdn(msisdn, mb), len, car_strerror(rc));
        goto out;
    }
    if (a->has_spka)
        LOGP(LOG_INFO, SUBSYS, s->cfg->name, "SIM %s [%s] cmd 0x%02x cntr %llu shows \"%s\"%s%s -> result 0x%02x",
             log_msisdn(msisdn, mb), sim_behaviour_name(sim_card_behaviour(card)), a->cmd, (unsigned long long)a->cntr,
             a->text, a->vc[0] ? " code " : "", a->vc, a->result);
    else
        LOGP(LOG_INFO, SUBSYS, s->cfg->name, "SIM %s cntr %llu: PoR status %u", log_msisdn(msisdn, mb),
             (unsigned long long)a->cntr, a->ota_status);
    if (!a->has_por) {
        LOGP(LOG_INFO, SUBSYS, s->cfg->name, "SIM %s never answers", log_msisdn(msisdn, mb));
        goto out;
    }
    schedule_por(s, card, a);
out:
    free(a);
}

/* ---- PDUs from the ESME --------------------------------------------- */

/*
 * bind_transmitter_resp / bind_receiver_resp: header + system_id.  Built by
 * hand because car_pdu only builds the transceiver variant, and the layout
 * is two fields.
 */
static void send_bind_resp(struct sim_conn *c, uint32_t id, uint32_t status, uint32_t seq)
{
    uint8_t buf[PDU_HEADER_LEN + 16];
    size_t n = 0;

    if (id == PDU_BIND_TRANSCEIVER_RESP) {
        uint8_t big[PDU_MAX_LEN];
        if (pdu_build_bind_trx_resp(big, sizeof(big), &n, seq, status, "simpki-sim") == CAR_OK)
            conn_send(c, big, n);
        return;
    }
    n = PDU_HEADER_LEN;
    if (status == 0)
        n += put_cstr(buf + n, "simpki-sim");
    put32(buf, (uint32_t)n);
    put32(buf + 4, id);
    put32(buf + 8, status);
    put32(buf + 12, seq);
    conn_send(c, buf, n);
}

static void on_bind(struct sim_conn *c, const uint8_t *pdu, size_t len, const struct pdu_header *h)
{
    const struct sim_carrier_cfg *cfg = c->smsc->cfg;
    union {
        bind_transmitter_t tx;
        bind_receiver_t rx;
        bind_transceiver_t trx;
    } u;
    size_t size = h->id == PDU_BIND_TRANSMITTER ? sizeof(u.tx)
                  : h->id == PDU_BIND_RECEIVER  ? sizeof(u.rx)
                                                : sizeof(u.trx);
    const char *sysid, *pw;
    uint32_t status = PDU_ESME_ROK;
    char why[160];

    if (c->state != CONN_OPEN) {
        send_bind_resp(c, h->id | PDU_RESP_BIT, ESME_RALYBND, h->seq);
        return;
    }
    if (pdu_unpack(pdu, len, &u, size, NULL, why, sizeof(why)) != CAR_OK) {
        LOGP(LOG_WARN, SUBSYS, c->name, "malformed %s: %s", pdu_command_name(h->id), why);
        send_bind_resp(c, h->id | PDU_RESP_BIT, ESME_RBINDFAIL, h->seq);
        return;
    }
    /* The three bind PDUs share one layout, so any member reads the fields. */
    sysid = (const char *)u.trx.system_id;
    pw = (const char *)u.trx.password;
    if (strcmp(sysid, cfg->system_id) != 0)
        status = ESME_RINVSYSID;
    else if (strcmp(pw, cfg->password) != 0)
        status = ESME_RINVPASWD;
    send_bind_resp(c, h->id | PDU_RESP_BIT, status, h->seq);
    if (status != PDU_ESME_ROK) {
        LOGP(LOG_WARN, SUBSYS, c->name, "%s refused: %s", pdu_command_name(h->id), pdu_status_name(status));
        return;
    }
    c->state = h->id == PDU_BIND_TRANSMITTER ? CONN_BOUND_TX
               : h->id == PDU_BIND_RECEIVER  ? CONN_BOUND_RX
                                             : CONN_BOUND_TRX;
    LOGP(LOG_INFO, SUBSYS, c->name, "%s accepted for system_id %s", pdu_command_name(h->id), sysid);
}

/* submit_sm_resp OK, and a receipt when one was asked for every outcome. */
static void accept_submit(struct sim_conn *c, const struct pdu_sm *sm, uint32_t seq, const char *msg_id)
{
    uint8_t resp[PDU_MAX_LEN];
    size_t n = 0;
    char mb[LOG_MSISDN_BUFSZ];

    if (pdu_build_submit_sm_resp(resp, sizeof(resp), &n, seq, PDU_ESME_ROK, msg_id) != CAR_OK)
        return;
    conn_send(c, resp, n);
    LOGP(LOG_DEBUG, SUBSYS, c->name, "submit_sm to %s accepted as %s (%zu octets)", log_msisdn(sm->dest_addr, mb),
         msg_id, sm->ud_len);
    /* Receipts as asked: 1 for every outcome; 2 only for failed deliveries, and ours never fail. */
    if ((sm->registered_delivery & 0x03) == 1)
        schedule_receipt(c->smsc, sm->dest_addr, msg_id);
}

static void on_submit(struct sim_conn *c, const uint8_t *pdu, size_t len, const struct pdu_header *h)
{
    struct sim_smsc *s = c->smsc;
    struct pdu_sm sm;
    struct sim_card *card;
    size_t ci = 0, pktlen = 0;
    uint8_t resp[PDU_MAX_LEN];
    uint8_t pkt[OTA_MAX_PACKET];
    size_t n = 0;
    char why[160], msg_id[24], mb[LOG_MSISDN_BUFSZ];
    unsigned nth;
    int kind = 0, fed, lost_resp, delivered = 0;

    if (c->state != CONN_BOUND_TX && c->state != CONN_BOUND_TRX) {
        if (pdu_build_submit_sm_resp(resp, sizeof(resp), &n, h->seq, ESME_RINVBNDSTS, "") == CAR_OK)
            conn_send(c, resp, n);
        return;
    }
    if (pdu_sm_decode(pdu, len, &sm, why, sizeof(why)) != CAR_OK) {
        LOGP(LOG_WARN, SUBSYS, c->name, "malformed submit_sm: %s", why);
        if (pdu_build_submit_sm_resp(resp, sizeof(resp), &n, h->seq, ESME_RSYSERR, "") == CAR_OK)
            conn_send(c, resp, n);
        return;
    }
    card = sim_scen_find(s->scen, sm.dest_addr, &ci);
    if (!card || ci != s->ci) {
        LOGP(LOG_INFO, SUBSYS, c->name, "submit_sm to %s: not a subscriber of %s", log_msisdn(sm.dest_addr, mb),
             s->cfg->name);
        if (pdu_build_submit_sm_resp(resp, sizeof(resp), &n, h->seq, ESME_RINVDSTADR, "") == CAR_OK)
            conn_send(c, resp, n);
        return;
    }
    nth = sim_card_count_submit(card);
    if (sim_card_hold(card, c->id)) {
        /* The ESME sees an SMSC that took the PDU and never answered. */
        LOGP(LOG_INFO, SUBSYS, c->name, "hold_first: submit_sm %u to %s held, never answered", nth,
             log_msisdn(sm.dest_addr, mb));
        return;
    }
    switch (sim_card_behaviour(card)) {
    case SIM_B_DROP_FIRST:
        if (nth == 0) {
            conn_kill(c, "drop_first: link dropped on the first submit_sm, unanswered");
            return;
        }
        break;
    case SIM_B_THROTTLE_FIRST:
        if (nth == 0) {
            LOGP(LOG_INFO, SUBSYS, c->name, "throttle_first: submit_sm to %s refused with ESME_RTHROTTLED",
                 log_msisdn(sm.dest_addr, mb));
            if (pdu_build_submit_sm_resp(resp, sizeof(resp), &n, h->seq, ESME_RTHROTTLED, "") == CAR_OK)
                conn_send(c, resp, n);
            return;
        }
        break;
    case SIM_B_PERMANENT_ERROR:
        if (pdu_build_submit_sm_resp(resp, sizeof(resp), &n, h->seq, ESME_RINVDSTADR, "") == CAR_OK)
            conn_send(c, resp, n);
        return;
    default: break;
    }
    snprintf(msg_id, sizeof(msg_id), "%02zx%08llx", s->ci, (unsigned long long)++s->msg_ids);
    /* lost_resp answers after looking at the packet: the response that completes the first command is lost. */
    lost_resp = sim_card_behaviour(card) == SIM_B_LOST_RESP;
    if (!lost_resp)
        accept_submit(c, &sm, h->seq, msg_id);

    if (!(sm.esm_class & PDU_ESM_UDHI) || sm.protocol_id != PDU_SPKA_PID || sm.data_coding != PDU_SPKA_DCS) {
        /* A handset shows such a message to the user; the applet never sees it. */
        LOGP(LOG_WARN, SUBSYS, c->name, "submit_sm to %s is not SIM data download (esm 0x%02x pid 0x%02x dcs 0x%02x)",
             log_msisdn(sm.dest_addr, mb), sm.esm_class, sm.protocol_id, sm.data_coding);
        goto out;
    }
    udh_reasm_expire(s->reasm, now_ms());
    fed = udh_reasm_feed(s->reasm, sm.dest_addr, sm.ud, sm.ud_len, now_ms(), pkt, sizeof(pkt), &pktlen, &kind);
    if (fed < 0) {
        LOGP(LOG_WARN, SUBSYS, c->name, "submit_sm to %s: bad UDH: %s", log_msisdn(sm.dest_addr, mb),
             car_strerror((enum car_err) - fed));
        goto out;
    }
    if (fed != UDH_FEED_DONE)
        goto out;
    if (kind != UDH_COMMAND) {
        LOGP(LOG_WARN, SUBSYS, c->name, "packet to %s is not a command packet (IEI 0x%02x)",
             log_msisdn(sm.dest_addr, mb), (unsigned)kind);
        goto out;
    }
    deliver_to_sim(s, card, pkt, pktlen);
    delivered = 1;
out:
    if (lost_resp) {
        if (delivered && sim_card_lose_resp(card)) {
            /* Delivered to the card, but the ESME never hears of it: it resends the copy after its rebind. */
            conn_kill(c, "lost_resp: first command delivered to the card, link dropped before its submit_sm_resp");
            return;
        }
        accept_submit(c, &sm, h->seq, msg_id);
    }
}

static void on_pdu(struct sim_conn *c, const uint8_t *pdu, size_t len)
{
    struct pdu_header h;
    char why[160];
    enum car_err rc;

    if (pdu_header(pdu, len, &h) != CAR_OK)
        return;
    rc = pdu_precheck(pdu, len, why, sizeof(why));
    if (rc == CAR_ERR_UNSUPPORTED) {
        LOGP(LOG_WARN, SUBSYS, c->name, "unsupported command_id 0x%08x", h.id);
        send_header_only(c, PDU_GENERIC_NACK, PDU_ESME_RINVCMDID, h.seq);
        return;
    }
    if (rc != CAR_OK) {
        LOGP(LOG_WARN, SUBSYS, c->name, "malformed %s: %s", pdu_command_name(h.id), why);
        if (!(h.id & PDU_RESP_BIT))
            send_header_only(c, PDU_GENERIC_NACK, PDU_ESME_RINVCMDLEN, h.seq);
        return;
    }
    switch (h.id) {
    case PDU_BIND_TRANSMITTER:
    case PDU_BIND_RECEIVER:
    case PDU_BIND_TRANSCEIVER: on_bind(c, pdu, len, &h); break;
    case PDU_SUBMIT_SM: on_submit(c, pdu, len, &h); break;
    case PDU_DELIVER_SM_RESP:
        if (c->unacked > 0)
            c->unacked--;
        if (h.status != PDU_ESME_ROK)
            LOGP(LOG_INFO, SUBSYS, c->name, "deliver_sm seq %u answered %s", h.seq, pdu_status_name(h.status));
        break;
    case PDU_GENERIC_NACK:
        /* The ESME refused something we sent (the hostile PDUs expect this). */
        if (c->unacked > 0)
            c->unacked--;
        LOGP(LOG_INFO, SUBSYS, c->name, "generic_nack seq %u %s", h.seq, pdu_status_name(h.status));
        break;
    case PDU_ENQUIRE_LINK: send_header_only(c, PDU_ENQUIRE_LINK_RESP, PDU_ESME_ROK, h.seq); break;
    case PDU_ENQUIRE_LINK_RESP: break;
    case PDU_UNBIND:
        send_header_only(c, PDU_UNBIND_RESP, PDU_ESME_ROK, h.seq);
        LOGP(LOG_INFO, SUBSYS, c->name, "unbind");
        /* Close once unbind_resp is written (see conn_write_cb). */
        c->state = CONN_CLOSING;
        break;
    case PDU_UNBIND_RESP: conn_kill(c, "unbind_resp"); break;
    default:
        if (!(h.id & PDU_RESP_BIT))
            send_header_only(c, PDU_GENERIC_NACK, PDU_ESME_RINVCMDID, h.seq);
        break;
    }
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct sim_conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t pdu[PDU_MAX_LEN];
    size_t avail, plen = 0;
    enum car_err rc;

    while (!c->dead && c->state != CONN_CLOSING) {
        avail = evbuffer_get_length(in);
        if (avail < 4)
            break;
        /* Frame on the first 4 octets: the length is bounded before the body is read. */
        evbuffer_copyout(in, pdu, 4);
        rc = pdu_frame(pdu, 4, &plen);
        if (rc == CAR_ERR_MALFORMED) {
            conn_kill(c, "impossible command_length: stream out of sync");
            break;
        }
        if (avail < plen)
            break;
        if (evbuffer_remove(in, pdu, plen) != (int)plen) {
            conn_kill(c, "read failed");
            break;
        }
        on_pdu(c, pdu, plen);
    }
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct sim_conn *c = arg;

    (void)bev;
    if (c->state == CONN_CLOSING && !c->dead)
        conn_kill(c, "unbound");
}

static void conn_event_cb(struct bufferevent *bev, short events, void *arg)
{
    struct sim_conn *c = arg;

    (void)bev;
    if (events & BEV_EVENT_EOF)
        conn_kill(c, "peer closed");
    else if (events & BEV_EVENT_ERROR)
        conn_kill(c, "socket error");
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    struct sim_smsc *s = arg;
    struct sim_conn *c = calloc(1, sizeof(*c));

    (void)lst;
    (void)sa;
    (void)salen;
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->smsc = s;
    c->id = ++s->hold_ids;
    {
        int one = 1; /* as a real SMSC would: no Nagle delay on small PDUs */
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    snprintf(c->name, sizeof(c->name), "%s#%u", s->cfg->name, ++s->conn_ids);
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->next = s->conns;
    s->conns = c;
    LOGP(LOG_INFO, SUBSYS, c->name, "connection accepted");
}

struct sim_smsc *sim_smsc_new(struct event_base *base, struct sim_scen *scen, size_t ci, char *err, size_t errlen)
{
    struct sim_smsc *s = calloc(1, sizeof(*s));
    struct sockaddr_in sin;
    socklen_t slen = sizeof(sin);

    if (!s) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->base = base;
    s->scen = scen;
    s->ci = ci;
    s->cfg = sim_scen_carrier(scen, ci);
    s->reasm = udh_reasm_new(REASM_SETS, REASM_TIMEOUT_MS);
    s->reaper = evtimer_new(base, reaper_cb, s);
    if (!s->cfg || !s->reasm || !s->reaper) {
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        goto fail;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(s->cfg->port);
    s->lst = evconnlistener_new_bind(base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
                                     (struct sockaddr *)&sin, sizeof(sin));
    if (!s->lst) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot listen on 127.0.0.1:%u", s->cfg->name, (unsigned)s->cfg->port);
        goto fail;
    }
    if (getsockname(evconnlistener_get_fd(s->lst), (struct sockaddr *)&sin, &slen) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "%s: getsockname failed", s->cfg->name);
        goto fail;
    }
    s->port = ntohs(sin.sin_port);
    return s;
fail:
    sim_smsc_free(s);
    return NULL;
}

void sim_smsc_free(struct sim_smsc *s)
{
    if (!s)
        return;
    while (s->jobs)
        job_free(s->jobs);
    while (s->conns)
        conn_free(s->conns);
    if (s->lst)
        evconnlistener_free(s->lst);
    if (s->reaper)
        event_free(s->reaper);
    udh_reasm_free(s->reasm);
    free(s);
}

uint16_t sim_smsc_port(const struct sim_smsc *s)
{
    return s->port;
}
