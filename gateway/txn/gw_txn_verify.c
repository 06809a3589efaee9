/* gw_txn_verify.c - a signature's checks after the SIM answered OK (gw_txn_priv.h). */
#include "gw_txn_priv.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "gw_metrics.h"
#include "gw_util.h"
#include "http_client.h"
#include "log.h"
#include "q_cache.h"
#include "sig_cms.h"
#include "sig_revoc.h"
#include "sig_tsa.h"
#include "sig_vcache.h"
#include "util.h"

/* What a successful signature stores on the subscriber (serial pinning); set = 0: the pin stays. */
struct pin_hex {
    int set;
    char serial[80];
    char spki[65];
};

/*
 * A verified signature waiting for its certificate's revocation status.  It
 * owns copies of what will be stored: the PoR's reply is gone by then.
 */
struct signed_ctx {
    struct gw_engine *e;
    char id[Q_ID_LEN];
    uint64_t cntr;
    struct pin_hex pin;
    struct gwt_via via;
    size_t sig_len, cert_len;
    uint8_t *sig, *cert; /* point into data */
    uint8_t data[];
};

static void revoc_done(void *arg, const struct sig_revoc_result *res)
{
    struct signed_ctx *s = arg;
    struct gw_engine *e = s->e;
    char detail[160];

    if (e->closing) {
        /* Shutting down: Redis is gone; the transaction expires or another instance's copy finishes it. */
        free(s);
        return;
    }
    if (res->result == SIG_OK) {
        e->revoc_good++;
        /* Soft-fail: the relying party accepted that risk, and is told it was taken. */
        if (res->soft_failed)
            snprintf(detail, sizeof(detail), "revocation not checked: %.128s", res->why);
        gwt_finish(e, s->id, s->cntr,
                   &(struct q_finish){.state = Q_COMPLETED,
                                      .result = "OK",
                                      .detail = res->soft_failed ? detail : NULL,
                                      .signature = s->sig,
                                      .sig_len = s->sig_len,
                                      .cert = s->cert,
                                      .cert_len = s->cert_len,
                                      .ocsp = res->ocsp,
                                      .ocsp_len = res->ocsp_len,
                                      .pin_serial = s->pin.set ? s->pin.serial : NULL,
                                      .pin_spki_hex = s->pin.spki},
                   &s->via);
    } else {
        if (res->result == SIG_ERR_REVOKED)
            e->revoc_revoked++;
        else if (res->result == SIG_ERR_REVOCATION_UNKNOWN)
            e->revoc_unknown++;
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        gwt_finish(e, s->id, s->cntr,
                   &(struct q_finish){.state = Q_FAILED,
                                      .result = sig_result_name(res->result),
                                      .detail = res->why[0] ? res->why : NULL,
                                      .ocsp = res->ocsp,
                                      .ocsp_len = res->ocsp_len},
                   &s->via);
    }
    OPENSSL_cleanse(s->data, s->sig_len + s->cert_len);
    free(s);
}

/*
 * Finish with `out` (the SIM's signature or the CMS) once the certificate is
 * known not to be revoked.  rp names the relying party whose policy applies.
 */
static void revoc_start(struct gw_engine *e, const char *id, uint64_t cntr, const char *rp, const uint8_t *cert,
                        size_t cert_len, const uint8_t *out, size_t out_len, const struct pin_hex *pin,
                        const struct gwt_via *via)
{
    const struct cfg_apikey *k;
    struct signed_ctx *s;

    if (!e->revoc) {
        gwt_finish(e, id, cntr,
                   &(struct q_finish){.state = Q_COMPLETED,
                                      .result = "OK",
                                      .signature = out,
                                      .sig_len = out_len,
                                      .cert = cert,
                                      .cert_len = cert_len,
                                      .pin_serial = pin->set ? pin->serial : NULL,
                                      .pin_spki_hex = pin->spki},
                   via);
        return;
    }
    s = calloc(1, sizeof(*s) + out_len + cert_len);
    if (!s) {
        LOGP(LOG_ERR, "txn", id, "out of memory checking revocation (the sweeper will expire it)");
        return;
    }
    s->e = e;
    s->cntr = cntr;
    s->pin = *pin;
    s->via = *via;
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->sig = s->data;
    s->sig_len = out_len;
    memcpy(s->sig, out, out_len);
    s->cert = s->data + out_len;
    s->cert_len = cert_len;
    memcpy(s->cert, cert, cert_len);
    /* The policy is the relying party's: the one that owns this transaction. */
    k = cfg_apikey_by_name(e->d.cfg, rp);
    sig_revoc_check(e->revoc, s->cert, s->cert_len, time(NULL),
                    k && k->revocation_soft ? SIG_REVOC_SOFT : SIG_REVOC_HARD, revoc_done, s);
}

/*
 * Serial pinning (issue 4): once a subscriber has signed with a certificate,
 * a registry certificate with another serial or key is refused
 * (CERT_MISMATCH) unless the registry says it was replaced (repin, set by
 * simpki-admin import).  *store says what the finish should pin: the first
 * certificate, or the replacement.
 */
static enum sig_err pin_of_memo(struct gw_engine *e, const uint8_t *cert, size_t len, struct sig_pin *out)
{
    uint8_t md[32];
    struct pin_memo *m;
    enum sig_err se;

    if (!SHA256(cert, len, md))
        return sig_pin_of(cert, len, out);
    m = &e->pins[(((unsigned)md[0] << 8) | md[1]) % PIN_MEMO_SLOTS];
    if (m->used && memcmp(m->der_sha256, md, sizeof(md)) == 0) {
        *out = m->pin;
        return SIG_OK;
    }
    se = sig_pin_of(cert, len, out);
    if (se == SIG_OK) {
        m->used = 1;
        memcpy(m->der_sha256, md, sizeof(md));
        m->pin = *out;
    }
    return se;
}

static enum sig_err binding(struct gw_engine *e, const struct q_sub *sub, struct pin_hex *store, char *why,
                            size_t whylen)
{
    struct sig_pin now, had;
    enum sig_err se;

    memset(store, 0, sizeof(*store));
    memset(&had, 0, sizeof(had));
    se = pin_of_memo(e, sub->cert, sub->cert_len, &now);
    if (se != SIG_OK) {
        snprintf(why, whylen, "the registered certificate cannot be pinned: %s", sig_strerror(se));
        return se;
    }
    if (sub->pinned) {
        memcpy(had.serial_hex, sub->pin_serial, sizeof(had.serial_hex));
        had.serial_hex[sizeof(had.serial_hex) - 1] = '\0';
        memcpy(had.spki_sha256, sub->pin_spki, sizeof(had.spki_sha256));
    }
    /*
     * The usual case, the registered certificate already pinned: the full
     * check (which parses the certificate again) can only say OK, so skip it.
     */
    if (sub->pinned && !sub->repin && strcmp(had.serial_hex, now.serial_hex) == 0 &&
        memcmp(had.spki_sha256, now.spki_sha256, sizeof(now.spki_sha256)) == 0)
        return SIG_OK; /* already pinned to it: nothing to write */
    se = sig_binding_check(sub->cert, sub->cert_len, sub->cert, sub->cert_len, sub->pinned ? &had : NULL, sub->repin,
                           why, whylen);
    if (se != SIG_OK)
        return se;
    store->set = 1;
    memcpy(store->serial, now.serial_hex, sizeof(store->serial));
    store->serial[sizeof(store->serial) - 1] = '\0';
    util_hex(now.spki_sha256, sizeof(now.spki_sha256), store->spki);
    return SIG_OK;
}

/*
 * CMS: prepare the signed attributes again from what the transaction stores
 * (prepare is deterministic, so any instance can) and check they are what the
 * SIM was given.  *out is then ready for sig_cms_finish.
 */
static enum sig_err cms_again(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub,
                              struct sig_cms **out, char *why, size_t whylen)
{
    struct sig_cms *p = NULL;
    const uint8_t *tbs;
    size_t tbs_len = 0;
    enum sig_err se;

    *out = NULL;
    se = sig_cms_prepare(e->d.trust, sub->cert, sub->cert_len, txn->digest_alg, txn->doc_digest, txn->doc_digest_len,
                         (time_t)txn->signing_time, &p, why, whylen);
    if (se != SIG_OK)
        return se;
    tbs = sig_cms_tbs_digest(p, &tbs_len);
    if (!tbs || tbs_len != txn->digest_len || memcmp(tbs, txn->digest, tbs_len) != 0) {
        /* The registered certificate changed since the request was made. */
        snprintf(why, whylen, "the certificate changed after the request; the signed attributes differ");
        sig_cms_free(p);
        return SIG_ERR_CERT_MISMATCH;
    }
    *out = p;
    return SIG_OK;
}

/*
 * CAdES-B-T: the SIM's signature is verified, the SignedData waits for an
 * RFC 3161 token over the signature value.  Owns copies and the prepared CMS.
 */
struct tsa_ctx {
    struct gw_engine *e;
    char id[Q_ID_LEN];
    uint64_t cntr;
    char rp[64];
    struct pin_hex pin;
    struct gwt_via via;
    struct sig_cms *p;
    uint8_t nonce[SIG_TSA_NONCE_LEN];
    size_t sig_len, cert_len;
    uint8_t *sig, *cert; /* point into data */
    uint8_t data[];
};

static void tsa_ctx_free(struct tsa_ctx *t)
{
    sig_cms_free(t->p);
    OPENSSL_cleanse(t->data, t->sig_len + t->cert_len);
    free(t);
}

/* No timestamp, no signature: a B-T was asked for, a B-B would silently be less. */
static void tsa_failed(struct tsa_ctx *t, const char *why)
{
    struct gw_engine *e = t->e;

    e->tsa_failed++;
    LOGP_RL(LOG_WARN, 10, "txn", t->id, "timestamp failed: %s", why);
    gwt_fail(e, t->id, t->cntr, "TIMESTAMP_FAILED", why, &t->via);
    tsa_ctx_free(t);
}

static void tsa_replied(void *arg, const struct hc_answer *a)
{
    struct tsa_ctx *t = arg;
    struct gw_engine *e = t->e;
    uint8_t *tok = NULL, *der = NULL;
    size_t tok_len = 0, der_len = 0;
    char why[200] = "", msg[256];
    enum sig_err se;

    if (e->closing) {
        tsa_ctx_free(t);
        return;
    }
    if (a->err != HC_OK) {
        snprintf(msg, sizeof(msg), "timestamp authority: %s", a->why ? a->why : hc_strerror(a->err));
        tsa_failed(t, msg);
        return;
    }
    if (a->status != 200) {
        snprintf(msg, sizeof(msg), "timestamp authority: HTTP status %ld", a->status);
        tsa_failed(t, msg);
        return;
    }
    se = sig_tsa_check_reply(e->tsa, t->sig, t->sig_len, t->nonce, a->body, a->len, &tok, &tok_len, NULL, why,
                             sizeof(why));
    if (se == SIG_OK)
        se = sig_cms_finish(t->p, t->sig, t->sig_len, e->tsa, tok, tok_len, &der, &der_len, why, sizeof(why));
    free(tok);
    if (se != SIG_OK) {
        snprintf(msg, sizeof(msg), "timestamp refused: %s", why[0] ? why : sig_strerror(se));
        tsa_failed(t, msg);
        return;
    }
    e->tsa_ok++;
    revoc_start(e, t->id, t->cntr, t->rp, t->cert, t->cert_len, der, der_len, &t->pin, &t->via);
    free(der);
    tsa_ctx_free(t);
}

/* Ask the TSA for a token over the SIM's signature; takes p. */
static void tsa_start(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub, const uint8_t *sig,
                      size_t sig_len, struct sig_cms *p, const struct pin_hex *pin, const struct gwt_via *via)
{
    struct tsa_ctx *t = calloc(1, sizeof(*t) + sig_len + sub->cert_len);
    uint8_t *req = NULL;
    size_t req_len = 0;

    if (!t) {
        sig_cms_free(p);
        LOGP(LOG_ERR, "txn", txn->id, "out of memory asking for a timestamp (the sweeper will expire it)");
        return;
    }
    t->e = e;
    t->cntr = txn->cntr;
    t->p = p;
    t->pin = *pin;
    t->via = *via;
    snprintf(t->id, sizeof(t->id), "%s", txn->id);
    snprintf(t->rp, sizeof(t->rp), "%s", txn->rp);
    t->sig = t->data;
    t->sig_len = sig_len;
    memcpy(t->sig, sig, sig_len);
    t->cert = t->data + sig_len;
    t->cert_len = sub->cert_len;
    memcpy(t->cert, sub->cert, sub->cert_len);
    if (sig_tsa_request(t->sig, t->sig_len, t->nonce, &req, &req_len) != SIG_OK ||
        !hc_fetch(e->http, e->d.cfg->tsa_url, "application/timestamp-query", NULL, req, req_len, tsa_replied, t)) {
        free(req);
        tsa_failed(t, "the timestamp request could not be sent");
        return;
    }
    free(req);
}

/* The SIM signed: check the signature against the registered certificate. */
/*
 * The far end answered a CMS SignedData over the digest it was given (an
 * MSSP's MSS_Format CMS): the same checks as a raw signature -- the registered
 * certificate, its path, the binding, revocation -- through sig_verify_cms,
 * and the SignedData itself is what the transaction stores.  It is not
 * rebuilt or timestamped here: its signed attributes are the far end's.
 */
static void verify_cms_answer(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub,
                              const struct car_reply *r, const struct gwt_via *via)
{
    char why[256] = "";
    struct pin_hex pin = {0};
    enum sig_err se;

    se = sig_verify_cms(e->d.trust, sub->cert, sub->cert_len, txn->digest_alg, txn->digest, txn->digest_len,
                        r->signature, r->sig_len, time(NULL), why, sizeof(why));
    if (se == SIG_OK) {
        se = binding(e, sub, &pin, why, sizeof(why));
        if (se == SIG_ERR_CERT_MISMATCH)
            e->cert_mismatch++;
    }
    if (se != SIG_OK) {
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        gwt_fail(e, txn->id, txn->cntr, sig_result_name(se), why, via);
        return;
    }
    revoc_start(e, txn->id, txn->cntr, txn->rp, sub->cert, sub->cert_len, r->signature, r->sig_len, &pin, via);
}

static void verify_signed(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub,
                          const struct car_reply *r, const struct gwt_via *via)
{
    char why[256] = "";
    uint8_t *der = NULL;
    size_t der_len = 0;
    struct sig_cms *p = NULL;
    struct pin_hex pin = {0};
    enum sig_err se;

    if (!sub->cert || sub->cert_len == 0) {
        gwt_fail(e, txn->id, txn->cntr, "NO_CERTIFICATE", "no certificate registered for this number", via);
        return;
    }
    /* A far end that names its certificate must name the registered one: it never replaces the registry. */
    if (r->cert && (r->cert_len != sub->cert_len || memcmp(r->cert, sub->cert, r->cert_len) != 0)) {
        e->cert_mismatch++;
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        gwt_fail(e, txn->id, txn->cntr, sig_result_name(SIG_ERR_CERT_MISMATCH),
                 "the carrier answered with a certificate other than the registered one", via);
        return;
    }
    if (r->sig_format == CAR_SIG_CMS) {
        verify_cms_answer(e, txn, sub, r, via);
        return;
    }
    se = sig_verify_digest_cached(e->d.trust, e->vc, sub->cert, sub->cert_len, txn->digest_alg, txn->digest,
                                  txn->digest_len, r->signature, r->sig_len, time(NULL), why, sizeof(why));
    if (se == SIG_OK) {
        se = binding(e, sub, &pin, why, sizeof(why));
        if (se == SIG_ERR_CERT_MISMATCH)
            e->cert_mismatch++;
    }
    if (se == SIG_OK && txn->format == Q_FORMAT_CMS)
        se = cms_again(e, txn, sub, &p, why, sizeof(why));
    if (se == SIG_OK && p && !e->tsa)
        se = sig_cms_finish(p, r->signature, r->sig_len, NULL, NULL, 0, &der, &der_len, why, sizeof(why));
    if (se != SIG_OK) {
        sig_cms_free(p);
        gw_metrics_inc(e->d.metrics, GW_M_VERIFY_FAILED);
        gwt_fail(e, txn->id, txn->cntr, sig_result_name(se), why, via);
        return;
    }
    if (p && e->tsa) {
        tsa_start(e, txn, sub, r->signature, r->sig_len, p, &pin, via);
        return;
    }
    sig_cms_free(p);
    if (der)
        revoc_start(e, txn->id, txn->cntr, txn->rp, sub->cert, sub->cert_len, der, der_len, &pin, via);
    else
        revoc_start(e, txn->id, txn->cntr, txn->rp, sub->cert, sub->cert_len, r->signature, r->sig_len, &pin, via);
    free(der);
}

/* Timed: simpki_signature_verify_duration_seconds (an OCSP fetch or a timestamp it starts runs later, untimed). */
void gwt_verify_signed(struct gw_engine *e, const struct q_txn *txn, const struct q_sub *sub, const struct car_reply *r,
                       const struct gwt_via *via)
{
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    verify_signed(e, txn, sub, r, via);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    gw_hist_observe(&e->verify_lat,
                    (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec);
}

/*
 * The answer to a lifecycle command is stored as it came: its checks (the
 * CSR's signature against the key the SIM generated, ...) belong to the
 * lifecycle engine, which knows what was asked.  Only its shape is checked.
 */
/* ---- opening and closing ----------------------------------------------- */

/* OCSP/CRL answers are shared by every instance through Redis (queue/q_cache.h). */
static int revoc_open(struct gw_engine *e)
{
    struct sig_revoc_cache cache = {.ctx = e->d.q, .get = q_cache_get, .put = q_cache_put};
    struct sig_revoc_cfg rc = {.timeout_ms = e->d.cfg->revocation_timeout_ms};
    enum sig_err se = sig_revoc_new(e->d.base, e->d.trust, &cache, &rc, &e->revoc);

    if (se == SIG_OK && e->vc)
        se = sig_revoc_set_vcache(e->revoc, e->vc);
    if (se != SIG_OK) {
        LOGP(LOG_ERR, "txn", NULL, "cannot start the revocation checker: %s", sig_strerror(se));
        return -1;
    }
    return 0;
}

/* CAdES-B-T: the TSA's roots, and an HTTP client on the loop to reach it. */
static int tsa_open(struct gw_engine *e)
{
    struct hc_cfg hc = {.timeout_ms = e->d.cfg->tsa_timeout_ms, .max_body = 256 * 1024};
    char why[256] = "";
    enum sig_err se = sig_tsa_new(e->d.cfg->tsa_trust, NULL, &e->tsa, why, sizeof(why));

    if (se != SIG_OK) {
        LOGP(LOG_ERR, "txn", NULL, "tsa_trust %s: %s: %s", e->d.cfg->tsa_trust, sig_strerror(se), why);
        return -1;
    }
    if (hc_new(e->d.base, &hc, &e->http) != 0) {
        LOGP(LOG_ERR, "txn", NULL, "cannot start the HTTP client for the timestamp authority");
        return -1;
    }
    LOGP(LOG_INFO, "txn", NULL, "CMS signatures are timestamped by %s (CAdES-B-T)", e->d.cfg->tsa_url);
    return 0;
}

int gwt_verify_open(struct gw_engine *e)
{
    /* Verdicts cached in process; a failure only costs speed (sig_vcache.h: NULL = uncached). */
    if (sig_vcache_new(e->d.trust, NULL, &e->vc) != SIG_OK)
        e->vc = NULL;
    if (e->d.cfg->revocation_check && revoc_open(e) != 0)
        return -1;
    if (e->d.cfg->tsa_url[0] && tsa_open(e) != 0)
        return -1;
    return 0;
}

void gwt_verify_close(struct gw_engine *e)
{
    hc_free(e->http); /* timestamp requests still running are answered now and dropped */
    sig_revoc_free(e->revoc);
    sig_vcache_free(e->vc); /* after revoc, which borrows it */
    sig_tsa_free(e->tsa);
}
