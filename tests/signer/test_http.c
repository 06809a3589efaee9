/*
 * test_http.c - sig_http against a real HTTP server (libevent's evhttp) on
 * loopback, in the same event loop: GET and POST, status and size limits,
 * timeouts, refused connections, cancel, and free with requests running.
 * /hang is never answered: evhttp drops it when the client goes away.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sig_http.h"

static struct event_base *base;

/* /get: "hello"; /post: echoes method, content type and body; /500; /big: 64 KiB; /hang: never. */
static void serve(struct evhttp_request *req, void *arg)
{
    const char *uri = evhttp_request_get_uri(req);
    struct evbuffer *out = evbuffer_new();

    (void)arg;
    if (strcmp(uri, "/get") == 0) {
        evbuffer_add_printf(out, "hello");
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/post") == 0) {
        const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        evbuffer_add_printf(out, "%s %s ", evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other",
                            ct ? ct : "-");
        evbuffer_add_buffer(out, evhttp_request_get_input_buffer(req));
        evhttp_send_reply(req, 200, "OK", out);
    } else if (strcmp(uri, "/500") == 0) {
        evbuffer_add_printf(out, "broken");
        evhttp_send_reply(req, 500, "Internal Server Error", out);
    } else if (strcmp(uri, "/big") == 0) {
        static char chunk[1024];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 64; i++)
            evbuffer_add(out, chunk, sizeof chunk);
        evhttp_send_reply(req, 200, "OK", out);
    }
    evbuffer_free(out);
}

struct res {
    int n, ok;
    long status;
    char body[256];
    char why[160];
};

static void on_answer(void *arg, int ok, long status, const uint8_t *body, size_t len, const char *why)
{
    struct res *r = arg;

    r->n++;
    r->ok = ok;
    r->status = status;
    snprintf(r->body, sizeof r->body, "%.*s", (int)(len < 255 ? len : 255), body ? (const char *)body : "");
    snprintf(r->why, sizeof r->why, "%s", why ? why : "");
}

static void pump(const int *flag, int ms)
{
    struct timeval tv = {0, 10000};
    for (int i = 0; i < ms / 10 && *flag == 0; i++) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

int main(void)
{
    struct evhttp *srv;
    struct evhttp_bound_socket *bs;
    struct sig_http *h = NULL;
    char url[128], dead[128];
    int port;

    base = event_base_new();
    srv = evhttp_new(base);
    evhttp_set_gencb(srv, serve, NULL);
    bs = evhttp_bind_socket_with_handle(srv, "127.0.0.1", 0);
    CHECK(bs != NULL);
    {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &sl);
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    CHECK_EQ_INT(sig_http_new(base, &(struct sig_http_cfg){.timeout_ms = 500, .max_body = 4096}, &h), 0);

    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/get", port);
        CHECK(sig_http_fetch(h, url, NULL, NULL, 0, on_answer, &r) != NULL);
        CHECK_EQ_INT(r.n, 0); /* never from inside the call */
        CHECK_EQ_INT(sig_http_running(h), 1);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.n, 1);
        CHECK_EQ_INT(r.ok, 1);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body, "hello");
        CHECK_EQ_INT(sig_http_running(h), 0);
    }
    {
        static const uint8_t body[] = {'a', 0, 'b'};
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/post", port);
        CHECK(sig_http_fetch(h, url, "application/ocsp-request", body, 1, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 1);
        CHECK_EQ_STR(r.body, "POST application/ocsp-request a");
    }
    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/500", port);
        CHECK(sig_http_fetch(h, url, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_INT(r.status, 500);
        CHECK_EQ_STR(r.why, "HTTP status 500");
        CHECK_EQ_STR(r.body, ""); /* a failed answer hands out no body */
    }
    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/big", port);
        CHECK(sig_http_fetch(h, url, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_STR(r.why, "answer larger than 4096 octets");
    }
    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
        CHECK(sig_http_fetch(h, url, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK(strstr(r.why, "imeout") != NULL); /* curl: "Timeout was reached" */
    }
    {
        /* A port nobody listens on: the listener we close gives one. */
        struct evhttp *tmp = evhttp_new(base);
        struct evhttp_bound_socket *tb = evhttp_bind_socket_with_handle(tmp, "127.0.0.1", 0);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        struct res r = {0};

        getsockname(evhttp_bound_socket_get_fd(tb), (struct sockaddr *)&ss, &sl);
        snprintf(dead, sizeof dead, "http://127.0.0.1:%d/get", ntohs(((struct sockaddr_in *)&ss)->sin_port));
        evhttp_free(tmp);
        CHECK(sig_http_fetch(h, dead, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_INT(r.status, 0);
        CHECK(r.why[0] != '\0');
    }
    {
        /* Only http and https: a file URL is refused by curl, reported, not read. */
        struct res r = {0};
        CHECK(sig_http_fetch(h, "file:///etc/passwd", NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_STR(r.body, "");
    }
    {
        /* Cancel: the callback never runs, nothing is left running. */
        struct res r = {0};
        struct sig_http_req *q;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
        q = sig_http_fetch(h, url, NULL, NULL, 0, on_answer, &r);
        CHECK(q != NULL);
        pump(&r.n, 100);
        sig_http_cancel(q);
        sig_http_cancel(NULL);
        CHECK_EQ_INT(sig_http_running(h), 0);
        pump(&r.n, 800);
        CHECK_EQ_INT(r.n, 0);
    }
    {
        /* Free with two requests running: each is answered once, "shutting down". */
        struct res a = {0}, b = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
        CHECK(sig_http_fetch(h, url, NULL, NULL, 0, on_answer, &a) != NULL);
        CHECK(sig_http_fetch(h, url, "text/plain", (const uint8_t *)"x", 1, on_answer, &b) != NULL);
        CHECK_EQ_INT(sig_http_running(h), 2);
        sig_http_free(h);
        h = NULL;
        CHECK_EQ_INT(a.n, 1);
        CHECK_EQ_INT(b.n, 1);
        CHECK_EQ_STR(a.why, "shutting down");
        CHECK_EQ_INT(a.ok + b.ok, 0);
    }
    sig_http_free(NULL);
    CHECK_EQ_INT(sig_http_running(NULL), 0);

    evhttp_free(srv);
    event_base_free(base);
    return check_report("test_http");
}
