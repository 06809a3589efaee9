/*
 * http_client.h - small asynchronous HTTP client on an event loop, shared by
 * every library: the signer's OCSP requests and CRLs (sig_revoc.h), RFC 3161
 * timestamp requests (sig_tsa.h, the gateway), and carriers that speak HTTP
 * (an ETSI TS 102 204 SOAP client).  It lives in config/ because carriers/
 * may not include signer/.
 *
 * libcurl's multi interface driven by libevent (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION on the one event_base, as curl's
 * docs/examples/multi-event.c), so a request never blocks the loop.
 *
 * Only http and https, no redirects, every request bounded by timeout_ms
 * (connect included) and its answer by max_body octets.  The answer of any
 * HTTP status is delivered with its body (a SOAP fault is an HTTP 500 with a
 * body); a transport failure (no connection, TLS refused, timeout, too
 * large) is reported apart, as an hc_err.
 *
 * TLS 1.2 or later: the server is checked against the system's CA store, or against
 * ca_file alone when one is given; cert_file/key_file (PEM) present a client
 * certificate to servers that ask for one.
 *
 * Threads: one struct hc_client belongs to the thread running its event loop.
 */
#ifndef SIMPKI_HTTP_CLIENT_H
#define SIMPKI_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct hc_client;
struct hc_req;

/* Stable values; 0 = an HTTP answer came (of whatever status). */
enum hc_err {
    HC_OK = 0,
    HC_ERR_INVALID = 1,   /* bad argument: URL scheme, header with CR/LF, missing content type */
    HC_ERR_NOMEM = 2,     /* out of memory */
    HC_ERR_CONNECT = 3,   /* name not resolved or connection refused: try again later */
    HC_ERR_TIMEOUT = 4,   /* timeout_ms passed: try again later */
    HC_ERR_TLS = 5,       /* TLS handshake failed: server not trusted, or our certificate refused */
    HC_ERR_TOO_LARGE = 6, /* the answer is larger than max_body */
    HC_ERR_TRANSPORT = 7, /* any other transfer failure (connection cut, malformed HTTP) */
    HC_ERR_SHUTDOWN = 8,  /* hc_free ran with the request under way */
};

/* A static English text for err; never NULL. */
const char *hc_strerror(enum hc_err err);

struct hc_cfg {
    unsigned timeout_ms;      /* whole request, default 5000 */
    size_t max_body;          /* largest answer taken, default 1 MiB */
    const char *ca_file;      /* PEM roots for the server; NULL = system store */
    const char *cert_file;    /* PEM client certificate (chain), or NULL */
    const char *key_file;     /* PEM key of cert_file (unencrypted), or NULL = in cert_file */
    unsigned max_connections; /* idle connections kept for reuse, default 64 */
};

/*
 * cfg may be NULL (defaults); its strings are copied.  A cert_file or
 * ca_file that cannot be read fails here (HC_ERR_INVALID) rather than on
 * every request.  HC_OK with *out owning a new client, or an error and
 * *out = NULL.
 */
enum hc_err hc_new(struct event_base *base, const struct hc_cfg *cfg, struct hc_client **out)
    __attribute__((warn_unused_result));

/*
 * Requests still running get their callback (HC_ERR_SHUTDOWN) from inside
 * this call, then everything is freed.  hc_free(NULL) does nothing.
 */
void hc_free(struct hc_client *h);

/*
 * The answer.  err == HC_OK: the server answered with HTTP status `status`
 * (any value: the caller decides what 200, 404 or 500 mean) and body/len
 * (len may be 0, body then NULL).  Otherwise no complete answer came: status
 * is what was seen (0 when none), body NULL, and why one line for logs
 * (curl's text, or "answer larger than N octets").  why is "" on HC_OK.
 * Everything lives only during the callback.
 */
struct hc_answer {
    enum hc_err err;
    long status;
    const uint8_t *body;
    size_t len;
    const char *why;
};

/*
 * Runs exactly once per started request unless it is cancelled, from the
 * event loop (never inside hc_fetch), so the caller may free its own state
 * there; never free h from inside it.
 */
typedef void hc_cb(void *arg, const struct hc_answer *a);

/*
 * GET url (body NULL), or POST body (copied) with Content-Type ctype
 * (required with a body).  headers: NULL, or a NULL-terminated list of
 * "Name: value" lines sent as given (e.g. "SOAPAction: \"...\"",
 * "Authorization: Basic ..."); copied.  A header holding CR or LF is refused.
 * Returns the request, under way (cb will run), or NULL when it could not be
 * started (cb will not run).  The handle is valid until cb runs or it is
 * cancelled.
 */
struct hc_req *hc_fetch(struct hc_client *h, const char *url, const char *ctype, const char *const *headers,
                        const uint8_t *body, size_t len, hc_cb *cb, void *arg) __attribute__((warn_unused_result));

/* Abandon a request under way: its callback will not run.  NULL does nothing. */
void hc_cancel(struct hc_req *r);

/* Requests under way, for tests and metrics. */
size_t hc_running(const struct hc_client *h);

#endif /* SIMPKI_HTTP_CLIENT_H */
