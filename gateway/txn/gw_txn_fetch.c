/*
 * gw_txn_fetch.c - a number the registry lacks, looked up once at the
 * signature service that serves its network (car_ops.lookup).
 *
 *   remembered miss? (q_life_missed) -> yes: unknown
 *   -> lookup on a link of the number's carrier that has one
 *   -> certificate: sig_cert_admit (the import's check) -> q_life_fetched -> known
 *   -> NOT_FOUND: q_life_miss (GWT_LOOKUP_MISS_S, shared by every instance) -> unknown
 *   -> anything else: unknown, nothing remembered (the next request asks again)
 *
 * The caller creates the transaction again after GW_OK; the entry it then
 * finds is an ordinary one (the registry's, or the one just written).
 */
#include "gw_txn_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "q_life.h"

struct fetch {
    struct gw_engine *e;
    gwt_fetch_cb *cb;
    void *arg;
    int net;
    char msisdn[16];
    char label[LOG_MSISDN_BUFSZ];
    uint64_t tried; /* bit per e->links slot already asked (MAX_LINKS <= 64) */
};

static void done(struct fetch *f, enum gw_err ge)
{
    gwt_fetch_cb *cb = f->cb;
    void *arg = f->arg;

    free(f);
    cb(arg, ge);
}

static void on_stored(void *arg, enum q_err err)
{
    struct fetch *f = arg;

    /* CONFLICT: an entry appeared meanwhile (an import, another instance): the create uses it. */
    if (err != Q_OK && err != Q_ERR_CONFLICT)
        LOGP(LOG_WARN, "txn", f->label, "certificate from the signature service not stored: %s", q_strerror(err));
    done(f, err == Q_OK || err == Q_ERR_CONFLICT ? GW_OK : GW_ERR_UNKNOWN_SUB);
}

static void on_miss_stored(void *arg, enum q_err err)
{
    struct fetch *f = arg;

    if (err != Q_OK)
        LOGP(LOG_WARN, "txn", f->label, "could not remember the miss: %s", q_strerror(err));
    done(f, GW_ERR_UNKNOWN_SUB);
}

static int ask(struct fetch *f);

static void on_lookup(void *arg, enum car_err err, const uint8_t *cert, size_t len, const char *detail)
{
    struct fetch *f = arg;
    struct gw_engine *e = f->e;
    struct sig_pin pin;
    char why[200] = "";
    enum sig_err se;

    if (e->closing) {
        done(f, GW_ERR_UNKNOWN_SUB); /* the link closes with the engine: Redis is gone */
        return;
    }
    if (err == CAR_ERR_AGAIN && ask(f) == 0)
        return; /* another link of the carrier */
    if (err == CAR_ERR_NOT_FOUND) {
        LOGP(LOG_INFO, "txn", f->label, "not known to the signature service (%s): remembered for %u s", detail,
             GWT_LOOKUP_MISS_S);
        q_life_miss(e->d.q, f->msisdn, GWT_LOOKUP_MISS_S, on_miss_stored, f);
        return;
    }
    if (err != CAR_OK) {
        LOGP(LOG_WARN, "txn", f->label, "lookup at the signature service failed: %s", detail);
        done(f, GW_ERR_UNKNOWN_SUB);
        return;
    }
    /* The registry's one check, as simpki-admin import and fetch-cert apply it. */
    se = sig_cert_admit(e->d.trust, cert, len, time(NULL), &pin, why, sizeof(why));
    if (se != SIG_OK) {
        LOGP(LOG_WARN, "txn", f->label, "certificate from the signature service refused: %s: %s", sig_strerror(se),
             why);
        done(f, GW_ERR_UNKNOWN_SUB);
        return;
    }
    LOGP(LOG_INFO, "txn", f->label, "certificate serial %s from the signature service: stored", pin.serial_hex);
    q_life_fetched(e->d.q, f->msisdn, f->net, cert, len, on_stored, f);
}

/* Ask the next link (lowest priority first) of f->net's carriers that can look up: 0 when one took it. */
static int ask(struct fetch *f)
{
    struct gw_engine *e = f->e;

    for (;;) {
        size_t best = e->n_links;
        for (size_t i = 0; i < e->n_links && i < sizeof(f->tried) * 8; i++) {
            const struct link_slot *ls = &e->links[i];
            if ((f->tried & ((uint64_t)1 << i)) || !ls->link || !ls->up || !car_link_can_lookup(ls->link) ||
                !(ls->carrier->route_nets & (1u << f->net)))
                continue;
            if (best == e->n_links || ls->priority < e->links[best].priority)
                best = i;
        }
        if (best == e->n_links)
            return -1;
        f->tried |= (uint64_t)1 << best;
        if (car_link_lookup(e->links[best].link, f->msisdn, on_lookup, f) == CAR_OK)
            return 0;
    }
}

static void on_missed(void *arg, enum q_err err, int missed)
{
    struct fetch *f = arg;

    if (err != Q_OK || missed) {
        done(f, GW_ERR_UNKNOWN_SUB);
        return;
    }
    if (ask(f) != 0)
        done(f, GW_ERR_UNKNOWN_SUB); /* no link can ask now */
}

int gwt_fetch_can(const struct gw_engine *e, int net)
{
    if (net <= 0 || net >= CFG_NET_MAX)
        return 0;
    for (size_t i = 0; i < e->n_links; i++)
        if (e->links[i].link && car_link_can_lookup(e->links[i].link) &&
            (e->links[i].carrier->route_nets & (1u << net)))
            return 1;
    return 0;
}

int gwt_fetch(struct gw_engine *e, const char *msisdn, int net, gwt_fetch_cb *cb, void *arg)
{
    struct fetch *f;

    if (e->closing || !gwt_fetch_can(e, net) || !(f = calloc(1, sizeof(*f))))
        return -1;
    f->e = e;
    f->cb = cb;
    f->arg = arg;
    f->net = net;
    snprintf(f->msisdn, sizeof(f->msisdn), "%s", msisdn);
    log_msisdn(f->msisdn, f->label);
    q_life_missed(e->d.q, f->msisdn, on_missed, f);
    return 0;
}
