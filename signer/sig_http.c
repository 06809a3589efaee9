/* sig_http.c - see sig_http.h.  The libcurl-on-libevent glue follows curl's multi-event.c. */
#include "sig_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

struct sig_http_req {
    struct sig_http *h;
    struct sig_http_req *next, *prev; /* live list */
    CURL *easy;
    struct curl_slist *hdrs;
    sig_http_cb *cb;
    void *arg;
    uint8_t *body;
    size_t len, cap;
    int too_large;
};

struct sock {
    struct event *ev;
};

struct sig_http {
    struct event_base *base;
    struct sig_http_cfg cfg;
    CURLM *multi;
    struct event *timer_ev;
    struct sig_http_req *live;
    size_t n_live;
};

static void unlink_req(struct sig_http_req *r)
{
    struct sig_http *h = r->h;

    if (r->prev)
        r->prev->next = r->next;
    else
        h->live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    h->n_live--;
}

/* Detach from curl and free; r is already off the live list. */
static void req_release(struct sig_http_req *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->h->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r);
}

/* Answer, then free: the body is the caller's only during the callback. */
static void complete(struct sig_http_req *r, int ok, long status, const char *why)
{
    unlink_req(r);
    r->cb(r->arg, ok, status, ok ? r->body : NULL, ok ? r->len : 0, why);
    req_release(r);
}

void sig_http_cancel(struct sig_http_req *r)
{
    if (!r)
        return;
    unlink_req(r);
    req_release(r);
}

static void check_done(struct sig_http *h)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct sig_http_req *r = NULL;
        long status = 0;
        char why[128];
        int ok;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        if (r->too_large)
            snprintf(why, sizeof why, "answer larger than %zu octets", h->cfg.max_body);
        else if (msg->data.result != CURLE_OK)
            snprintf(why, sizeof why, "%s", curl_easy_strerror(msg->data.result));
        else if (status != 200)
            snprintf(why, sizeof why, "HTTP status %ld", status);
        else
            why[0] = '\0';
        ok = !r->too_large && msg->data.result == CURLE_OK && status == 200;
        complete(r, ok, status, ok ? NULL : why);
    }
}

static void on_sock(evutil_socket_t fd, short kind, void *arg)
{
    struct sig_http *h = arg;
    int running = 0;
    int action = ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);

    curl_multi_socket_action(h->multi, fd, action, &running);
    check_done(h);
}

static void on_timer(evutil_socket_t fd, short kind, void *arg)
{
    struct sig_http *h = arg;
    int running = 0;

    (void)fd;
    (void)kind;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(h);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct sig_http *h = userp;
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
    struct sig_http *h = userp;
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
    struct sig_http_req *r = userdata;
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

int sig_http_new(struct event_base *base, const struct sig_http_cfg *cfg, struct sig_http **out)
{
    struct sig_http *h;

    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    h = calloc(1, sizeof(*h));
    if (!h) {
        curl_global_cleanup();
        return -1;
    }
    h->base = base;
    if (cfg)
        h->cfg = *cfg;
    if (!h->cfg.timeout_ms)
        h->cfg.timeout_ms = 5000;
    if (!h->cfg.max_body)
        h->cfg.max_body = 1u << 20;
    h->multi = curl_multi_init();
    h->timer_ev = evtimer_new(base, on_timer, h);
    if (!h->multi || !h->timer_ev) {
        sig_http_free(h);
        return -1;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    *out = h;
    return 0;
}

void sig_http_free(struct sig_http *h)
{
    if (!h)
        return;
    while (h->live)
        complete(h->live, 0, 0, "shutting down");
    if (h->multi)
        curl_multi_cleanup(h->multi);
    if (h->timer_ev)
        event_free(h->timer_ev);
    free(h);
    curl_global_cleanup();
}

struct sig_http_req *sig_http_fetch(struct sig_http *h, const char *url, const char *ctype, const uint8_t *body,
                                    size_t len, sig_http_cb *cb, void *arg)
{
    struct sig_http_req *r = calloc(1, sizeof(*r));
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
    if (body) {
        char hdr[128];

        if (!ctype || snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype) >= (int)sizeof hdr ||
            !(r->hdrs = curl_slist_append(NULL, hdr)))
            goto fail;
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, (const char *)body);
    }
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

size_t sig_http_running(const struct sig_http *h)
{
    return h ? h->n_live : 0;
}
