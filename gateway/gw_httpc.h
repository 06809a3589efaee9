/*
 * gw_httpc.h - small asynchronous HTTP POST client on the gateway's event loop.
 *
 * libcurl's multi interface driven by libevent (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION on the one event_base, as curl's
 * docs/examples/multi-event.c), so a request never blocks the loop.  Used for
 * RFC 3161 timestamp requests (CAdES-B-T); the revocation checker has its own
 * copy of this machinery inside the signer.
 *
 * Only http and https, no redirects, every request bounded by timeout_ms
 * (connect included) and its answer by max_body octets.
 *
 * Threads: one struct gw_httpc belongs to the thread running its event loop.
 */
#ifndef SIMPKI_GW_HTTPC_H
#define SIMPKI_GW_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct gw_httpc;

struct gw_httpc_cfg {
    unsigned timeout_ms; /* whole request, default 5000 */
    size_t max_body;     /* largest answer taken, default 1 MiB */
};

/* cfg may be NULL (defaults).  0 on success, *out owns a new client; -1 on failure. */
int gw_httpc_new(struct event_base *base, const struct gw_httpc_cfg *cfg, struct gw_httpc **out)
    __attribute__((warn_unused_result));

/*
 * Requests still running get their callback (ok = 0, "shutting down") from
 * inside this call, then everything is freed.  gw_httpc_free(NULL) does
 * nothing.
 */
void gw_httpc_free(struct gw_httpc *h);

/*
 * The answer: ok = 1 for HTTP 200 with a body within max_body; otherwise
 * ok = 0 and why says what went wrong in one line (a curl error, "HTTP status
 * 500", "answer too large").  status is the HTTP status (0 when none came).
 * body/len live only during the callback.  Runs exactly once per accepted
 * request, from the event loop (never inside gw_httpc_post), so the caller
 * may free its own state there; never free h from inside it.
 */
typedef void gw_httpc_cb(void *arg, int ok, long status, const uint8_t *body, size_t len, const char *why);

/*
 * POST body (copied) with Content-Type ctype to url.  0 when the request is
 * under way (cb will run); -1 when it could not be started (cb will not run).
 */
int gw_httpc_post(struct gw_httpc *h, const char *url, const char *ctype, const uint8_t *body, size_t len,
                  gw_httpc_cb *cb, void *arg) __attribute__((warn_unused_result));

/* Requests under way, for tests and metrics. */
size_t gw_httpc_running(const struct gw_httpc *h);

#endif /* SIMPKI_GW_HTTPC_H */
