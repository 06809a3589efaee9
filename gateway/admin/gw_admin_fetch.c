/* gw_admin_fetch.c - simpki-admin fetch-cert; see gw_admin_fetch.h. */
#include "gw_admin_fetch.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "car.h"
#include "car_route.h"
#include "cfg.h"
#include "gw_admin_import.h"
#include "log.h"
#include "q.h"
#include "sig.h"

/* One lookup's answer, copied out of the callback. */
struct answer {
    int done;
    enum car_err err;
    uint8_t *cert;
    size_t len;
    char detail[128];
};

static void on_lookup(void *arg, enum car_err err, const uint8_t *cert, size_t len, const char *detail)
{
    struct answer *a = arg;

    a->done = 1;
    a->err = err;
    snprintf(a->detail, sizeof(a->detail), "%s", detail ? detail : "");
    if (err == CAR_OK && !(a->cert = malloc(len ? len : 1))) {
        a->err = CAR_ERR_NOMEM;
        return;
    }
    if (err == CAR_OK) {
        memcpy(a->cert, cert, len);
        a->len = len;
    }
}

/* Links are opened only to look up: nothing is ever submitted on them. */
static void on_sent(void *arg, void *handle, enum car_err status, const char *detail, int resent, const char *far_ref)
{
    (void)arg;
    (void)handle;
    (void)status;
    (void)detail;
    (void)resent;
    (void)far_ref;
}

/*
 * Ask carrier c's lookup links for msisdn, lower priority first, until one
 * answers other than AGAIN.  *asked = 0 when c has no link that can look up.
 */
static void ask(struct event_base *base, const struct cfg_carrier *c, const char *msisdn, struct answer *a, int *asked)
{
    static const struct car_events ev = {.sent = on_sent};
    int tried[CFG_MAX_LINKS] = {0};

    *asked = 0;
    a->err = CAR_ERR_AGAIN;
    snprintf(a->detail, sizeof(a->detail), "%s", "no link could be asked");
    for (size_t round = 0; round < c->n_links; round++) {
        const struct cfg_link *lc = NULL;
        const struct car_ops *ops;
        struct car_link *l = NULL;
        size_t pick = 0;
        enum car_err ce;

        for (size_t i = 0; i < c->n_links; i++)
            if (!tried[i] && (!lc || c->links[i].priority < lc->priority)) {
                lc = &c->links[i];
                pick = i;
            }
        if (!lc)
            break;
        tried[pick] = 1;
        ops = car_transport_find(lc->transport);
        if (!ops || !ops->lookup)
            continue;
        *asked = 1;
        if (ops->open(base, c, lc, &ev, &l) != CAR_OK) {
            snprintf(a->detail, sizeof(a->detail), "link %s: cannot open", lc->name);
            continue;
        }
        a->done = 0;
        ce = car_link_lookup(l, msisdn, on_lookup, a);
        while (ce == CAR_OK && !a->done)
            event_base_loop(base, EVLOOP_ONCE);
        car_link_close(l);
        if (ce != CAR_OK) {
            a->err = ce;
            snprintf(a->detail, sizeof(a->detail), "link %s: %s", lc->name, car_strerror(ce));
        }
        if (a->err != CAR_ERR_AGAIN)
            return;
    }
}

/* One number: 0 when its certificate was written. */
static int fetch_one(const struct cfg *cfg, struct sig_trust *trust, struct q_sync *qs, struct event_base *base,
                     const char *arg)
{
    char msisdn[CAR_MSISDN_LEN], masked[LOG_MSISDN_BUFSZ], why[160];
    const struct cfg_carrier *c;
    struct answer a = {0};
    struct q_sub sub;
    enum q_err qe;
    int net, asked, ret = -1;

    if (car_msisdn_normalise(arg, msisdn, why, sizeof(why)) != CAR_OK) {
        fprintf(stderr, "error: %s: not a subscriber number: %s\n", arg, why);
        return -1;
    }
    log_msisdn(msisdn, masked);
    /* An existing record keeps its carrier, ICCID, key version and status: only the certificate is refreshed. */
    qe = q_sync_sub_get(qs, msisdn, &sub, NULL);
    if (qe == Q_ERR_NOT_FOUND) {
        memset(&sub, 0, sizeof(sub));
        snprintf(sub.msisdn, sizeof(sub.msisdn), "%s", msisdn);
    } else if (qe != Q_OK) {
        fprintf(stderr, "error: %s: redis: %s\n", masked, q_strerror(qe));
        return -1;
    }
    net = sub.net ? sub.net : (int)car_route_prefix(msisdn);
    c = net ? cfg_carrier_by_net(cfg, net) : NULL;
    if (!c) {
        fprintf(stderr, "error: %s: no carrier configured for network %s\n", masked, car_net_name((enum car_net)net));
        return -1;
    }
    ask(base, c, msisdn, &a, &asked);
    if (!asked) {
        fprintf(stderr, "error: %s: carrier %s has no link that can look a subscriber up (etsi204)\n", masked, c->name);
    } else if (a.err == CAR_ERR_NOT_FOUND) {
        fprintf(stderr, "error: %s: the signature service of %s has no certificate for it (%s)\n", masked, c->name,
                a.detail);
    } else if (a.err != CAR_OK) {
        fprintf(stderr, "error: %s: lookup at %s failed, try again: %s\n", masked, c->name, a.detail);
    } else if (gw_admin_import_cert(cfg, trust, qs, &sub, a.cert, a.len) == GW_ADMIN_OK) {
        struct sig_cert_info ci;
        if (sig_cert_info(a.cert, a.len, &ci) != SIG_OK)
            snprintf(ci.serial_hex, sizeof(ci.serial_hex), "%s", "?");
        printf("ok %s: %s, certificate serial %s from %s\n", masked, qe == Q_OK ? "refreshed" : "added", ci.serial_hex,
               c->name);
        ret = 0;
    }
    free(a.cert);
    return ret;
}

enum gw_admin_exit gw_admin_fetch_cert(const struct cfg *cfg, int argc, char **argv)
{
    struct sig_trust *trust = NULL;
    struct q_sync *qs = NULL;
    struct event_base *base = NULL;
    char why[256];
    enum sig_err se;
    int failed = 0;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;

    se =
        sig_trust_load(cfg->trust_anchors, cfg->intermediates[0] ? cfg->intermediates : NULL, &trust, why, sizeof(why));
    if (se != SIG_OK) {
        fprintf(stderr, "error: trust anchors from %s: %s: %s\n", cfg->path, sig_strerror(se), why);
        goto out;
    }
    if (q_sync_connect(&cfg->redis, &qs, why, sizeof(why)) != Q_OK) {
        fprintf(stderr, "error: redis: %s\n", why);
        goto out;
    }
    if (!(base = event_base_new())) {
        fprintf(stderr, "error: cannot create an event loop\n");
        goto out;
    }
    for (int i = 0; i < argc; i++)
        failed += fetch_one(cfg, trust, qs, base, argv[i]) != 0;
    if (failed)
        fprintf(stderr, "error: %d of %d numbers failed\n", failed, argc);
    ret = failed ? GW_ADMIN_FAIL : GW_ADMIN_OK;
out:
    if (base)
        event_base_free(base);
    q_sync_free(qs);
    sig_trust_free(trust);
    return ret;
}
