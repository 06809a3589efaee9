/*
 * sig_http.h - TRANSITIONAL: the HTTP client moved to config/http_client.h
 * (hc_).  gateway/txn/gw_txn.c, being split on another branch, still spells
 * the old names; this header maps them so both branches build.  Delete it
 * when gw_txn.c calls hc_new / hc_fetch / hc_free itself (the TSA callback
 * then takes a struct hc_answer and checks a->err == HC_OK && a->status == 200).
 * Nothing else may include it.
 */
#ifndef SIMPKI_SIG_HTTP_H
#define SIMPKI_SIG_HTTP_H

#include <stdio.h>
#include <stdlib.h>

#include "http_client.h"

#define sig_http      hc_client
#define sig_http_cfg  hc_cfg
#define sig_http_new  hc_new
#define sig_http_free hc_free

/* The old answer: ok = 1 only for HTTP 200; body only then. */
typedef void sig_http_cb(void *arg, int ok, long status, const uint8_t *body, size_t len, const char *why);

struct sig_http_shim {
    sig_http_cb *cb;
    void *arg;
};

static inline void sig_http_shim_answer(void *arg, const struct hc_answer *a)
{
    struct sig_http_shim s = *(struct sig_http_shim *)arg;
    int ok = a->err == HC_OK && a->status == 200;
    char why[64];

    free(arg);
    if (a->err == HC_OK)
        snprintf(why, sizeof why, "HTTP status %ld", a->status);
    s.cb(s.arg, ok, a->status, ok ? a->body : NULL, ok ? a->len : 0, ok ? NULL : a->err == HC_OK ? why : a->why);
}

/* No cancel through the shim: gw_txn.c never cancels (hc_free answers what runs, which frees the shim). */
static inline struct hc_req *sig_http_fetch(struct hc_client *h, const char *url, const char *ctype,
                                            const uint8_t *body, size_t len, sig_http_cb *cb, void *arg)
{
    struct sig_http_shim *s = malloc(sizeof(*s));
    struct hc_req *r;

    if (!s)
        return NULL;
    s->cb = cb;
    s->arg = arg;
    r = hc_fetch(h, url, ctype, NULL, body, len, sig_http_shim_answer, s);
    if (!r)
        free(s);
    return r;
}

#endif /* SIMPKI_SIG_HTTP_H */
