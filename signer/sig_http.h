/*
 * sig_http.h - small asynchronous HTTP client on the gateway's event loop,
 * for the signer's network fetches: OCSP requests and CRLs (sig_revoc.h),
 * RFC 3161 timestamp requests (the gateway, CAdES-B-T).
 *
 * libcurl's multi interface driven by libevent (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION on the one event_base, as curl's
 * docs/examples/multi-event.c), so a request never blocks the loop.
 *
 * Only http and https, no redirects, every request bounded by timeout_ms
 * (connect included) and its answer by max_body octets.
 *
 * Threads: one struct sig_http belongs to the thread running its event loop.
 */
#ifndef SIMPKI_SIG_HTTP_H
#define SIMPKI_SIG_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sig_http;
struct sig_http_req;

struct sig_http_cfg {
    unsigned timeout_ms; /* whole request, default 5000 */
    size_t max_body;     /* largest answer taken, default 1 MiB */
};

/* cfg may be NULL (defaults).  0 on success, *out owns a new client; -1 on failure. */
int sig_http_new(struct event_base *base, const struct sig_http_cfg *cfg, struct sig_http **out)
    __attribute__((warn_unused_result));

/*
 * Requests still running get their callback (ok = 0, "shutting down") from
 * inside this call, then everything is freed.  sig_http_free(NULL) does
 * nothing.
 */
void sig_http_free(struct sig_http *h);

/*
 * The answer: ok = 1 for HTTP 200 with a body within max_body; otherwise
 * ok = 0 and why says what went wrong in one line (a curl error, "HTTP status
 * 500", "answer larger than N octets").  status is the HTTP status (0 when
 * none came).  body/len live only during the callback.  Runs exactly once
 * per started request unless it is cancelled, from the event loop (never
 * inside sig_http_fetch), so the caller may free its own state there; never
 * free h from inside it.
 */
typedef void sig_http_cb(void *arg, int ok, long status, const uint8_t *body, size_t len, const char *why);

/*
 * GET url (body NULL), or POST body (copied) with Content-Type ctype.
 * Returns the request, under way (cb will run), or NULL when it could not be
 * started (cb will not run).  The handle is valid until cb runs or it is
 * cancelled.
 */
struct sig_http_req *sig_http_fetch(struct sig_http *h, const char *url, const char *ctype, const uint8_t *body,
                                    size_t len, sig_http_cb *cb, void *arg) __attribute__((warn_unused_result));

/* Abandon a request under way: its callback will not run.  NULL does nothing. */
void sig_http_cancel(struct sig_http_req *r);

/* Requests under way, for tests and metrics. */
size_t sig_http_running(const struct sig_http *h);

#endif /* SIMPKI_SIG_HTTP_H */
