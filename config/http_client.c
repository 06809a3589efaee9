/* http_client.c - see http_client.h.  The libcurl-on-libevent glue follows curl's multi-event.c. */
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

struct hc_req {
    struct hc_client *h;
    struct hc_req *next, *prev; /* live list */
    CURL *easy;
    struct curl_slist *hdrs;
    hc_cb *cb;
    void *arg;
    uint8_t *body;
    size_t len, cap;
    int too_large;
};

struct sock {
    struct event *ev;
};

struct hc_client {
    struct event_base *base;
    struct hc_cfg cfg; /* strings point into the copies below */
    char *ca_file, *cert_file, *key_file;
    CURLM *multi;
    struct event *timer_ev;
    struct hc_req *live;
    size_t n_live;
};

static void unlink_req(struct hc_req *r)
{
    struct hc_client *h = r->h;

    if (r->prev)
        r->prev->next = r->next;
    else
        h->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    h->n_live--;
}

/* Detach from curl and free; r is already off the live list. */
static void req_release(struct hc_req *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->h->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r);
}

const char *hc_strerror(enum hc_err err)
{
    switch (err) {
    case HC_OK: return "ok";
    case HC_ERR_INVALID: return "invalid request";
    case HC_ERR_NOMEM: return "out of memory";
    case HC_ERR_CONNECT: return "cannot connect";
    case HC_ERR_TIMEOUT: return "timed out";
    case HC_ERR_TLS: return "TLS handshake failed";
    case HC_ERR_TOO_LARGE: return "answer too large";
    case HC_ERR_TRANSPORT: return "transfer failed";
    case HC_ERR_SHUTDOWN: return "shutting down";
    }
    return "unknown error";
}

/* Our error for a failed transfer. */
static enum hc_err from_curl(CURLcode c)
{
    switch (c) {
    case CURLE_OK: return HC_OK;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return HC_ERR_INVALID;
    case CURLE_OUT_OF_MEMORY: return HC_ERR_NOMEM;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return HC_ERR_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return HC_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED: return HC_ERR_TLS;
    default: return HC_ERR_TRANSPORT;
    }
}

/* Answer, then free: the body is the caller's only during the callback. */
static void complete(struct hc_req *r, enum hc_err err, long status, const char *why)
{
    struct hc_answer a = {.err = err,
                          .status = status,
                          .body = err == HC_OK && r->len ? r->body : NULL,
                          .len = err == HC_OK ? r->len : 0,
                          .why = why ? why : ""};

    unlink_req(r);
    r->cb(r->arg, &a);
    req_release(r);
}

void hc_cancel(struct hc_req *r)
{
    if (!r)
        return;
    unlink_req(r);
    req_release(r);
}

static void check_done(struct hc_client *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct hc_req *r = NULL;
        long status = 0;
        char why[128];
        enum hc_err err;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        if (r->too_large) {
            err = HC_ERR_TOO_LARGE;
            snprintf(why, sizeof why, "answer larger than %zu octets", h->cfg.max_body);
        } else if (msg->data.result != CURLE_OK) {
            err = from_curl(msg->data.result);
            snprintf(why, sizeof why, "%s", curl_easy_strerror(msg->data.result));
        } else {
            err = HC_OK;
            why[0] = '\0';
        }
        complete(r, err, status, why);
    }
}

static void on_sock(evutil_socket_t fd, short kind, void *arg)
{
    struct hc_client *h = arg;
    int running = 0;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

    curl_multi_socket_action(h->multi, fd, action, &running);
    check_done(h);
}

static void on_timer(evutil_socket_t fd, short kind, void *arg)
{
    struct hc_client *h = arg;
    int running = 0;

    (void)fd;
    (void)kind;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct hc_client *h = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(h->timer_ev);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(h->timer_ev, &tv) == 0 ? 0 : -1;
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct hc_client *h = userp;
    struct sock *sk = socketp;
    short kind;

    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (sk) {
            event_free(sk->ev);
            free(sk);
        }
        curl_multi_assign(h->multi, s, NULL);
        return 0;
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
    if (!sk) {
        sk = calloc(1, sizeof(*sk));
        if (!sk)
            return -1;
        curl_multi_assign(h->multi, s, sk);
    } else {
        event_free(sk->ev);
    }
    sk->ev = event_new(h->base, s, kind, on_sock, h);
    if (!sk->ev || event_add(sk->ev, NULL) != 0)
        return -1;
    return 0;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct hc_req *r = userdata;
    size_t n = size * nmemb;

    if (n > r->h->cfg.max_body - r->len) {
        r->too_large = 1;
        return 0; /* curl fails the transfer */
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        uint8_t *nb;

        while (cap < r->len + n)
            cap *= 2;
        nb = realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, ptr, n);
    r->len += n;
    return n;
}

/* A file the client will read on every request must be readable now. */
static int copy_file_name(const char *in, char **out)
{
    FILE *f;

    *out = NULL;
    if (!in)
        return 0;
    f = fopen(in, "rb");
    if (!f)
        return -1;
    fclose(f);
    *out = strdup(in);
    return *out ? 0 : -1;
}

enum hc_err hc_new(struct event_base *base, const struct hc_cfg *cfg, struct hc_client **out)
{
    struct hc_client *h;

    *out = NULL;
    if (!base)
        return HC_ERR_INVALID;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return HC_ERR_NOMEM;
    h = calloc(1, sizeof(*h));
    if (!h) {
        curl_global_cleanup();
        return HC_ERR_NOMEM;
    }
    h->base = base;
    if (cfg)
        h->cfg = *cfg;
    if (copy_file_name(h->cfg.ca_file, &h->ca_file) != 0 || copy_file_name(h->cfg.cert_file, &h->cert_file) != 0 ||
        copy_file_name(h->cfg.key_file, &h->key_file) != 0 || (h->key_file && !h->cert_file)) {
        hc_free(h);
        return HC_ERR_INVALID;
    }
    h->cfg.ca_file = h->ca_file;
    h->cfg.cert_file = h->cert_file;
    h->cfg.key_file = h->key_file;
    if (!h->cfg.timeout_ms)
        h->cfg.timeout_ms = 5000;
    if (!h->cfg.max_body)
        h->cfg.max_body = 1u << 20;
    h->multi = curl_multi_init();
    h->timer_ev = evtimer_new(base, on_timer, h);
    if (!h->multi || !h->timer_ev) {
        hc_free(h);
        return HC_ERR_NOMEM;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    /*
     * Keep up to max_connections idle connections for reuse.  libcurl's own
     * default (a few per running transfer, shrinking as transfers end) closes
     * most after a burst, and every new TLS connection costs a handshake and
     * reading the CA and client key files again: the benchmark's ETSI row
     * spent most of its CPU there (docs/benchmarks.md).
     */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)(h->cfg.max_connections ? h->cfg.max_connections : 64));
    *out = h;
    return HC_OK;
}

void hc_free(struct hc_client *h)
{
    if (!h)
        return;
    while (h->live)
        complete(h->live, HC_ERR_SHUTDOWN, 0, "shutting down");
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->timer_ev)
        event_free(h->timer_ev);
    free(h->ca_file);
    free(h->cert_file);
    free(h->key_file);
    free(h);
    curl_global_cleanup();
}

/* Append "Name: value" to *l; -1 if it is malformed (CR/LF would smuggle a header) or memory runs out. */
static int add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *n;

    if (!line || !strchr(line, ':') || strpbrk(line, "\r\n"))
        return -1;
    n = curl_slist_append(*l, line);
    if (!n)
        return -1;
    *l = n;
    return 0;
}

struct hc_req *hc_fetch(struct hc_client *h, const char *url, const char *ctype, const char *const *headers,
                        const uint8_t *body, size_t len, hc_cb *cb, void *arg)
{
    struct hc_req *r = calloc(1, sizeof(*r));
    CURL *e = curl_easy_init();

    if (!r || !e)
        goto fail;
    r->h = h;
    r->cb = cb;
    r->arg = arg;
    r->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    /* TLS 1.2 at least, whatever the library's default; the peer is always verified (curl's default, kept). */
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (h->cfg.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, h->cfg.ca_file);
    if (h->cfg.cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, h->cfg.cert_file);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY, h->cfg.key_file ? h->cfg.key_file : h->cfg.cert_file);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    for (size_t i = 0; headers && headers[i]; i++)
        if (add_header(&r->hdrs, headers[i]) != 0)
            goto fail;
    if (body) {
        char hdr[128];

        if (!ctype || snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype) >= (int)sizeof hdr ||
            add_header(&r->hdrs, hdr) != 0)
            goto fail;
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, (const char *)body);
    }
    if (r->hdrs)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    r->next = h->live;
    if (h->live)
        h->live->prev = r;
    h->live = r;
    h->n_live++;
    if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
        unlink_req(r);
        goto fail;
    }
    return r;
fail:
    if (r)
        curl_slist_free_all(r->hdrs);
    if (e)
        curl_easy_cleanup(e);
    free(r);
    return NULL;
}

size_t hc_running(const struct hc_client *h)
{
    return h ? h->n_live : 0;
}
