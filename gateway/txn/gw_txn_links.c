/* gw_txn_links.c - the engine's carrier links: pool, routing by network, parking, sent marks (gw_txn_priv.h). */
#include "gw_txn_priv.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "car_route.h"
#include "gw_metrics.h"
#include "gw_util.h"
#include "log.h"
#include "util.h"

#define SENT_FLUSH_MS 100 /* sent marks wait this long to share a round trip */

/* ---- in-flight set ---------------------------------------------------- */

/* The command held here for id; NULL if none. */
static struct submit_ctx *inflight_get(struct gw_engine *e, const char *id)
{
    struct gw_idtab_node *n = gw_idtab_find(e->inflight, id);
    return n ? GW_IDTAB_ENTRY(n, struct submit_ctx, node) : NULL;
}

static void inflight_remove(struct gw_engine *e, struct submit_ctx *s)
{
    gw_idtab_remove(e->inflight, &s->node);
}

/* Move a command held here by ev (the table); an event the table says cannot happen is logged. */
static enum gwt_state held_step(struct submit_ctx *s, enum gwt_event ev)
{
    enum gwt_state to = gwt_fsm_next(s->st, ev);

    if (to == GWT_NONE) {
        LOGP(LOG_ERR, "txn", s->id, "%s in state %s ignored: not in the table", gwt_event_name(ev),
             gwt_state_name(s->st));
        return s->st;
    }
    s->st = to;
    return to;
}

/* ---- batched sent marks ------------------------------------------------ */

static int shard_slot(const char *id)
{
    int a = util_hexval(id[0]), b = a >= 0 ? util_hexval(id[1]) : -1;
    return a >= 0 && b >= 0 ? a * 16 + b : -1;
}

static void sent_recorded(void *arg, enum q_err err)
{
    (void)arg;
    if (err != Q_OK && err != Q_ERR_NOT_FOUND)
        LOGP(LOG_WARN, "txn", NULL, "could not mark commands as sent: %s (they may be resent once)", q_strerror(err));
}

static void sent_flush_slot(struct gw_engine *e, struct sent_batch *b)
{
    const char *ids[Q_SENT_MANY_MAX];
    for (size_t i = 0; i < b->n; i++)
        ids[i] = b->ids[i];
    if (b->n)
        q_txn_sent_many(e->d.q, ids, b->n, sent_recorded, NULL);
    b->n = 0;
}

void gwt_sent_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    struct gw_engine *e = arg;
    (void)fd;
    (void)what;
    for (size_t i = 0; i < SHARD_SLOTS; i++)
        sent_flush_slot(e, &e->sent[i]);
}

static void sent_mark(struct gw_engine *e, const char *id)
{
    int slot = shard_slot(id);
    struct sent_batch *b;

    if (slot < 0)
        return;
    b = &e->sent[slot];
    b->ms[b->n] = gw_now_ms();
    snprintf(b->ids[b->n++], Q_ID_LEN, "%s", id);
    if (b->n == Q_SENT_MANY_MAX)
        sent_flush_slot(e, b);
    if (!evtimer_pending(e->sent_ev, NULL)) {
        struct timeval tv = {0, SENT_FLUSH_MS * 1000};
        evtimer_add(e->sent_ev, &tv);
    }
}

/*
 * The transaction is finishing: its finish drops it from the outbox.  A sent
 * mark still waiting for its flush is dropped too, and its time returned
 * (0 when there was none), for the finish to record: the evidence keeps
 * when the command was accepted even when the answer came first.
 */
int64_t gwt_sent_cancel(struct gw_engine *e, const char *id)
{
    int slot = shard_slot(id);
    struct sent_batch *b = slot < 0 ? NULL : &e->sent[slot];
    struct submit_ctx *held = inflight_get(e, id);

    if (held)
        held_step(held, GWT_EV_FINISH);
    for (size_t i = 0; b && i < b->n; i++)
        if (strcmp(b->ids[i], id) == 0) {
            int64_t ms = b->ms[i];
            if (i != b->n - 1) {
                memcpy(b->ids[i], b->ids[b->n - 1], Q_ID_LEN);
                b->ms[i] = b->ms[b->n - 1];
            }
            b->n--;
            return ms;
        }
    return 0;
}

/* ---- submitting ------------------------------------------------------- */

/*
 * The link for a command to network `net`: among the links routing it, the
 * up ones of the lowest priority, in turn (failover: a higher priority value
 * only while every lower one is down); a command a far end already holds
 * goes to that link alone (named), since another could prompt the official
 * again.  A down link is the last resort: it queues and sends once back.
 */
static struct car_link *pick_link(struct gw_engine *e, int net, const char *named, const struct car_link *avoid)
{
    struct car_link *any = NULL, *best = NULL;
    unsigned best_prio = 0, best_n = 0;

    for (size_t n = 0; n < e->n_links; n++) {
        struct link_slot *s = &e->links[(e->rr + n) % e->n_links];
        /* A carrier's route may name several networks (an MSSP): route by it, not by the carrier. */
        if (net <= 0 || net >= CFG_NET_MAX || !(s->carrier->route_nets & (1u << net)))
            continue;
        if (named && *named) {
            if (strcmp(car_link_name(s->link), named) == 0)
                return s->link;
            continue;
        }
        if (s->up && s->link != avoid && (!best || s->priority < best_prio)) {
            best = s->link;
            best_prio = s->priority;
            best_n = (unsigned)n;
        }
        if (!any || (any == avoid && s->link != avoid))
            any = s->link;
    }
    if (best) {
        e->rr = (unsigned)((e->rr + best_n + 1) % e->n_links);
        return best;
    }
    return any;
}

/* How many links route network `net`. */
static unsigned links_for(const struct gw_engine *e, int net)
{
    unsigned n = 0;
    for (size_t i = 0; i < e->n_links; i++)
        if (net > 0 && net < CFG_NET_MAX && (e->links[i].carrier->route_nets & (1u << net)))
            n++;
    return n;
}

int gwt_effective_net(const struct q_txn *txn, const struct q_sub *sub)
{
    return sub && sub->net ? sub->net : txn->net;
}

static void park(struct gw_engine *e, struct submit_ctx *s)
{
    held_step(s, GWT_EV_NO_LINK);
    s->next_parked = e->parked;
    e->parked = s;
    e->n_parked++;
    if (!evtimer_pending(e->parked_ev, NULL)) {
        struct timeval tv = {0, 500 * 1000};
        evtimer_add(e->parked_ev, &tv);
    }
}

/* Give a command to a link.  0 when a link took it, -1 when none could (yet). */
static int try_submit(struct gw_engine *e, struct submit_ctx *s)
{
    struct car_link *link = pick_link(e, s->net, s->far_link, s->avoid);
    enum car_err rc = link ? car_link_submit(link, &s->req, s) : CAR_ERR_AGAIN;
    if (rc == CAR_OK) {
        s->link = link;
        return 0;
    }
    if (rc != CAR_ERR_AGAIN)
        LOGP(LOG_WARN, "txn", s->id, "submit refused: %s", car_strerror(rc));
    return -1;
}

/* Retry parked commands: on a timer, and whenever a link comes up. */
static void retry_parked(struct gw_engine *e)
{
    struct submit_ctx *list = e->parked, *s;
    int64_t now = gw_now_ms();

    e->parked = NULL;
    e->n_parked = 0;
    while (list) {
        s = list;
        list = s->next_parked;
        if (held_step(s, now >= s->deadline_ms ? GWT_EV_DEADLINE : GWT_EV_RETRY) == GWT_FINISHED) {
            /* Too late to ask the official (the sweeper expires it), or answered by an earlier copy. */
            inflight_remove(e, s);
            free(s);
        } else if (try_submit(e, s) != 0) {
            park(e, s);
        }
    }
}

void gwt_parked_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    retry_parked(arg);
}

/* Hand a stored pending transaction to a link, unless this instance already has. */
/* The car_request for a stored transaction; its pointers point into s. */
static void command_of(struct gw_engine *e, const struct q_txn *txn, struct submit_ctx *s)
{
    switch (txn->op) {
    case Q_OP_GENKEY:
        s->req.op = CAR_OP_GENKEY;
        s->req.key_alg = txn->key_alg;
        s->req.display_text = s->text;
        return;
    case Q_OP_PUTCERT:
        s->req.op = CAR_OP_PUTCERT;
        s->req.cert_der = (const uint8_t *)s->text + strlen(s->text) + 1;
        s->req.cert_len = txn->payload_len;
        memcpy(s->text + strlen(s->text) + 1, txn->payload, txn->payload_len);
        return;
    default: /* SIGN, and CSR: a SIGN whose answer the lifecycle engine checks */
        s->req.op = CAR_OP_SIGN;
        s->req.digest_alg = txn->digest_alg;
        s->req.digest = s->digest;
        s->req.digest_len = txn->digest_len;
        s->req.display_text = s->text;
        memcpy(s->req.vc, txn->vc, sizeof(s->req.vc));
        s->req.user_timeout_s = (uint16_t)e->d.cfg->user_timeout_s;
        return;
    }
}

void gwt_submit(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub)
{
    struct submit_ctx *held = inflight_get(e, txn->id), *s;
    const char *text = txn->display_text ? txn->display_text : "";
    size_t tlen = strlen(text);

    /* Held here already (parked, with a link, answered before its report): not a second command. */
    if (gwt_fsm_next(held ? held->st : GWT_QUEUED, GWT_EV_SUBMIT) != GWT_SUBMITTED)
        return;
    if (txn->digest_len > sizeof(s->digest))
        return;
    s = calloc(1, sizeof(*s) + tlen + 1 + txn->payload_len);
    if (!s)
        return;
    s->e = e;
    s->cntr = txn->cntr;
    s->net = gwt_effective_net(txn, sub);
    s->deadline_ms = txn->deadline_ms;
    snprintf(s->id, sizeof(s->id), "%s", txn->id);
    memcpy(s->digest, txn->digest, txn->digest_len);
    memcpy(s->text, text, tlen + 1);
    snprintf(s->req.sub.msisdn, sizeof(s->req.sub.msisdn), "%s", sub->msisdn);
    snprintf(s->req.sub.iccid, sizeof(s->req.sub.iccid), "%s", sub->iccid);
    s->req.sub.ota_kv = sub->kv;
    s->req.cntr = txn->cntr;
    snprintf(s->req.txn_id, sizeof(s->req.txn_id), "%s", txn->id);
    if (gw_txn_ref_from_id(txn->id, s->req.txn_ref) != 0) {
        LOGP(LOG_ERR, "txn", txn->id, "malformed transaction id in storage");
        free(s);
        return;
    }
    s->req.key_ref = 0x01;
    command_of(e, txn, s);
    snprintf(s->req.far_ref, sizeof(s->req.far_ref), "%s", txn->far_ref);
    s->req.deadline_ms = txn->deadline_ms;
    snprintf(s->far_link, sizeof(s->far_link), "%s", txn->far_ref[0] ? txn->far_link : "");

    if (!pick_link(e, s->net, s->far_link, NULL)) { /* REFUSED_PERM: QUEUED -> FINISHED */
        gwt_fail(e, txn->id, txn->cntr, "DELIVERY_ERROR", "no carrier link for this network", NULL);
        free(s);
        return;
    }
    s->st = GWT_SUBMITTED;
    gw_idtab_add(e->inflight, &s->node, s->id);
    if (try_submit(e, s) != 0) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_DEFERRED);
        park(e, s);
    }
}

static void resent_marked(void *arg, enum q_err err)
{
    (void)arg;
    if (err != Q_OK && err != Q_ERR_CONFLICT && err != Q_ERR_NOT_FOUND)
        LOGP(LOG_WARN, "txn", "-", "a resent command's copy was not recorded: %s", q_strerror(err));
}

static void tracked(void *arg, enum q_err err)
{
    (void)arg;
    if (err != Q_OK && err != Q_ERR_CONFLICT && err != Q_ERR_NOT_FOUND)
        LOGP(LOG_WARN, "txn", "-", "a far end's id was not stored: %s (asked again after the lease)", q_strerror(err));
}

/*
 * Another link for a command its link could not take (car.h, sent): AGAIN
 * (not now) or NOT_FOUND (never: each other link once).  1 when it is
 * handled here (given to another link or parked), 0 when it must end as
 * refused for good.
 */
static int fail_over(struct gw_engine *e, struct submit_ctx *s, enum car_err status, const char *detail)
{
    struct car_link *next;

    s->avoid = s->link;
    if (status == CAR_ERR_AGAIN) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_DEFERRED);
        LOGP(LOG_INFO, "txn", s->id, "link %s cannot take it now (%s): trying another", car_link_name(s->link),
             detail ? detail : "");
        /* Only another link now; the same one again after the parking delay, not in a tight loop. */
        if (pick_link(e, s->net, NULL, s->avoid) == s->avoid || try_submit(e, s) != 0)
            park(e, s);
        return 1;
    }
    next = ++s->refused < links_for(e, s->net) ? pick_link(e, s->net, NULL, s->avoid) : NULL;
    LOGP(LOG_WARN, "txn", s->id, "link %s cannot serve it (%s)%s", car_link_name(s->link), detail ? detail : "",
         next && next != s->avoid ? ": trying another" : "");
    if (!next || next == s->avoid)
        return 0;
    if (try_submit(e, s) != 0)
        park(e, s);
    return 1;
}

void gwt_on_sent(void *arg, void *handle, enum car_err status, const char *detail, int resent, const char *far_ref)
{
    struct gw_engine *e = arg;
    struct submit_ctx *s = handle;
    /* Reached nobody (car.h): another link may take it, unless a far end already holds it. */
    int failover =
        (status == CAR_ERR_AGAIN || status == CAR_ERR_NOT_FOUND) && !s->far_link[0] && gw_now_ms() < s->deadline_ms;
    int perm = status == CAR_ERR_PERMANENT || status == CAR_ERR_TOO_LONG || status == CAR_ERR_INVALID ||
               status == CAR_ERR_UNSUPPORTED;
    enum gwt_state from = s->st;
    /* Answered before this report (FINISHED): the outcome is recorded, no sent mark, no second outcome. */
    int live = held_step(s, status == CAR_OK ? GWT_EV_ACCEPTED
                            : failover       ? GWT_EV_FAILOVER
                            : perm           ? GWT_EV_REFUSED_PERM
                                             : GWT_EV_REFUSED_TEMP) != from ||
               (failover && s->st == GWT_SUBMITTED);

    if (failover && live) {
        if (fail_over(e, s, status, detail))
            return;
        perm = 1; /* no link serves it */
    }
    inflight_remove(e, s);
    /* The SIM may see two copies: its CNTR low for the second must read as a duplicate (counter_low). */
    if (resent)
        q_txn_resent(e->d.q, s->id, s->cntr, resent_marked, NULL);
    if (status == CAR_OK && far_ref) {
        /* The far end answers when asked: keep its id and stay in the outbox, leased, for whoever survives. */
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_OK);
        if (live)
            q_txn_track(e->d.q, s->id, car_link_name(s->link), far_ref,
                        gw_now_ms() + (int64_t)e->d.cfg->resubmit_lease_s * 1000, tracked, NULL);
    } else if (status == CAR_OK) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_OK);
        if (live)
            sent_mark(e, s->id);
    } else if (perm) {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_PERMANENT);
        if (live) {
            struct gwt_via via; /* the link that refused it for good */
            gwt_via_link(s->link, &via);
            gwt_fail(e, s->id, s->cntr, "DELIVERY_ERROR", detail ? detail : car_strerror(status), &via);
        }
    } else {
        gw_metrics_inc(e->d.metrics, GW_M_SUBMIT_DEFERRED);
        if (live)
            LOGP(LOG_WARN, "txn", s->id, "not accepted yet (%s); will be resubmitted", detail ? detail : "");
    }
    free(s);
}

void gwt_on_state(void *arg, struct car_link *link, int up)
{
    struct gw_engine *e = arg;
    for (size_t i = 0; i < e->n_links; i++)
        if (e->links[i].link == link)
            e->links[i].up = up;
    LOGP(up ? LOG_INFO : LOG_WARN, "txn", car_link_name(link), "link %s", up ? "up" : "down");
    if (up && e->parked)
        retry_parked(e);
}

void gwt_on_round_trip(void *arg, struct car_link *link, double seconds)
{
    struct gw_engine *e = arg;
    for (size_t i = 0; i < e->n_links; i++)
        if (e->links[i].link == link)
            gw_hist_observe(&e->links[i].rtt, seconds > 0 ? (uint64_t)(seconds * 1e9) : 0);
}

/* ---- opening and closing ----------------------------------------------- */

static const struct car_ops *find_transport(const struct gw_engine *e, const char *name)
{
    if (!e->d.transports)
        return car_transport_find(name);
    for (size_t i = 0; name && i < e->d.n_transports; i++)
        if (e->d.transports[i] && strcmp(e->d.transports[i]->name, name) == 0)
            return e->d.transports[i];
    return NULL;
}

enum gw_err gw_txn_check_text(const struct gw_engine *e, const char *msisdn, const char *text, char *why, size_t whylen)
{
    int net = car_route_prefix(msisdn);
    const struct car_ops *asked = NULL; /* links of one transport share its answer: ask it once */

    for (size_t i = 0; i < e->n_links; i++) {
        const struct link_slot *s = &e->links[i];
        const struct car_ops *ops = ((const struct car_link_base *)(const void *)s->link)->ops;
        enum car_err rc;

        if ((net != CAR_NET_NONE && !(s->carrier->route_nets & (1u << net))) || ops == asked)
            continue;
        asked = ops;
        if (!ops->check_text || (rc = ops->check_text(text, why, whylen)) == CAR_OK)
            continue;
        return rc == CAR_ERR_TOO_LONG ? GW_ERR_TEXT_TOO_LONG : GW_ERR_TEXT_INVALID;
    }
    return GW_OK;
}

int gwt_links_open(struct gw_engine *e)
{
    const struct cfg *cfg = e->d.cfg;

    e->inflight = gw_idtab_new(INFLIGHT_BUCKETS);
    if (!e->inflight)
        return -1;

    for (size_t i = 0; i < cfg->n_carriers; i++) {
        const struct cfg_carrier *c = &cfg->carriers[i];
        for (size_t j = 0; j < c->n_links; j++) {
            struct link_slot *s = &e->links[e->n_links];
            /* Every link through the transport table: the engine names no transport. */
            const struct car_ops *ops = find_transport(e, c->links[j].transport);
            enum car_err rc = ops ? ops->open(e->d.base, c, &c->links[j], &e->ev, &s->link) : CAR_ERR_UNSUPPORTED;
            if (rc != CAR_OK) {
                LOGP(LOG_ERR, "txn", c->links[j].name, "cannot open link (transport %s): %s", c->links[j].transport,
                     car_strerror(rc));
                return -1;
            }
            s->carrier = c;
            s->priority = c->links[j].priority;
            e->n_links++;
        }
    }
    return 0;
}

static void held_free(struct gw_idtab_node *n, void *arg)
{
    (void)arg;
    free(GW_IDTAB_ENTRY(n, struct submit_ctx, node));
}

void gwt_links_close(struct gw_engine *e)
{
    for (size_t i = 0; i < e->n_links; i++)
        car_link_close(e->links[i].link);
    /* Links freed: nothing can report on these any more. */
    if (e->inflight)
        gw_idtab_drain(e->inflight, held_free, NULL);
    gw_idtab_free(e->inflight);
    e->inflight = NULL;
}
