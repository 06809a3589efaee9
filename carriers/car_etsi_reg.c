/*
 * car_etsi_reg.c - car_ops.lookup for the etsi204 transport: a subscriber's
 * certificate by number, asked with MSS_Registration (the vGCA profile's
 * registration query answers 408 REGISTRATION_OK with the certificate).
 *
 * Only the status decides NOT_FOUND, and only the codes that say "no such
 * subscriber / no certificate" (105 UNKNOWN_CLIENT, 404 NO_KEY_FOUND, 422
 * NO_CERT_FOUND): a caller caches a miss, so a passing fault must never
 * read as one.  Everything else (no connection, 5xx, an answer that does not
 * parse or does not carry a certificate) is AGAIN.
 */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "car_etsi_priv.h"
#include "cfg.h"
#include "http_client.h"
#include "log.h"

struct etsi_lookup {
    TAILQ_ENTRY(etsi_lookup) entry;
    struct car_link *l;
    car_lookup_cb *cb;
    void *arg;
    char msisdn[16];
    struct hc_req *req;
    uint64_t req_start_us; /* when req was sent (etsi_clock_us) */
};

static void lookup_done(struct etsi_lookup *k, enum car_err err, const uint8_t *cert, size_t len, const char *detail)
{
    struct car_link *l = k->l;
    car_lookup_cb *cb = k->cb;
    void *arg = k->arg;

    TAILQ_REMOVE(&l->lookups, k, entry);
    l->n_lookups--;
    hc_cancel(k->req);
    free(k);
    /* Freed first: the callback may close the link or ask again. */
    cb(arg, err, cert, len, detail);
}

/* Whether an ETSI status says the far end has no certificate for the number (a miss worth remembering). */
static int status_is_miss(int code)
{
    return code == 105 || code == 404 || code == 422;
}

static void on_http(void *arg, const struct hc_answer *ha)
{
    struct etsi_lookup *k = arg;
    struct car_link *l = k->l;
    struct etsi_answer a;
    char why[128] = "", d[128];
    enum etsi_err xe;

    k->req = NULL;
    etsi_round_trip(l, k->req_start_us, ha);
    if (ha->err != HC_OK || (ha->status >= 500 && ha->status != 500) || (ha->status == 500 && ha->len == 0)) {
        if (ha->err != HC_ERR_TOO_LARGE)
            etsi_breaker_error(l);
        snprintf(d, sizeof(d), "MSS_Registration: %s", ha->err != HC_OK ? hc_strerror(ha->err) : "HTTP error status");
        LOGP(LOG_WARN, "etsi", l->base.name, "%s", d);
        lookup_done(k, CAR_ERR_AGAIN, NULL, 0, d);
        return;
    }
    xe = etsi_parse_answer(ha->body, ha->len, &a, why, sizeof(why));
    etsi_breaker_ok(l);
    if (xe != ETSI_OK) {
        l->stats.mo_malformed++;
        snprintf(d, sizeof(d), "MSS_Registration answer refused: %.80s", why[0] ? why : etsi_strerror(xe));
        LOGP(LOG_WARN, "etsi", l->base.name, "%s", d);
        lookup_done(k, CAR_ERR_AGAIN, NULL, 0, d);
        return;
    }
    {
        const struct etsi_status *es = etsi_status_find(a.status);
        const char *name = es ? es->name : "unknown status";
        enum car_err err = CAR_ERR_AGAIN;

        if (status_is_miss(a.status)) {
            err = CAR_ERR_NOT_FOUND;
            snprintf(d, sizeof(d), "signature service: %d %s", a.status, name);
        } else if (a.kind != ETSI_REGISTRATION || a.status != 408) {
            snprintf(d, sizeof(d), "signature service: %d %s", a.status, name);
        } else if (!a.cert || a.cert_len == 0) {
            snprintf(d, sizeof(d), "signature service: %d %s without a certificate", a.status, name);
        } else if (a.msisdn[0] && strcmp(a.msisdn, k->msisdn) != 0) {
            /* An answer about another number is no answer about this one. */
            snprintf(d, sizeof(d), "signature service answered for another number");
        } else {
            err = CAR_OK;
            snprintf(d, sizeof(d), "signature service: %d %s", a.status, name);
        }
        l->stats.mo_received++;
        lookup_done(k, err, err == CAR_OK ? a.cert : NULL, err == CAR_OK ? a.cert_len : 0, d);
    }
    etsi_answer_clear(&a);
}

enum car_err etsi_reg_lookup(struct car_link *l, const char *msisdn, car_lookup_cb *cb, void *arg)
{
    struct etsi_lookup *k;
    char ap_tid[ETSI_ID_MAX], ctype[200], *body = NULL;
    size_t body_len = 0, n = msisdn ? strlen(msisdn) : 0;
    struct etsi_head h = {&l->ap, ap_tid, time(NULL)};

    if (!cb || n == 0 || n > 15 || strspn(msisdn, "0123456789") != n)
        return CAR_ERR_INVALID;
    if (l->open_until || l->n_txns + l->n_lookups >= l->cfg->max_in_flight)
        return CAR_ERR_AGAIN; /* the same limit and breaker as signatures */
    snprintf(ap_tid, sizeof(ap_tid), "G%lld-%u", (long long)etsi_now_ms(), ++l->seq);
    if (etsi_build_registration(&h, msisdn, &body, &body_len) != ETSI_OK)
        return CAR_ERR_INVALID;
    if (!(k = calloc(1, sizeof(*k)))) {
        OPENSSL_cleanse(body, body_len);
        free(body);
        return CAR_ERR_NOMEM;
    }
    k->l = l;
    k->cb = cb;
    k->arg = arg;
    snprintf(k->msisdn, sizeof(k->msisdn), "%s", msisdn);
    etsi_content_type(ETSI_REGISTRATION, ctype, sizeof(ctype));
    /* hc_fetch copies the body and answers from the loop, never inside: cb is never called from here. */
    k->req_start_us = etsi_clock_us();
    k->req = hc_fetch(l->http, l->url_reg, ctype, NULL, (const uint8_t *)body, body_len, on_http, k);
    OPENSSL_cleanse(body, body_len); /* holds AP_PWD */
    free(body);
    if (!k->req) {
        free(k);
        return CAR_ERR_AGAIN;
    }
    TAILQ_INSERT_TAIL(&l->lookups, k, entry);
    l->n_lookups++;
    l->stats.submitted++;
    return CAR_OK;
}

void etsi_reg_close(struct car_link *l)
{
    while (!TAILQ_EMPTY(&l->lookups))
        lookup_done(TAILQ_FIRST(&l->lookups), CAR_ERR_AGAIN, NULL, 0, "link closed");
}
