/*
 * test_http_client.c - http_client against a real HTTP server (libevent's
 * evhttp) on loopback, in the same event loop: GET and POST, request headers,
 * the body of a 500, size limits, timeouts, refused connections, cancel, and
 * free with requests running.  /hang is never answered: evhttp drops it when
 * the client goes away.
 *
 * With arguments (tls_client.sh): URL CA CERT KEY, an `openssl s_server -WWW`
 * that requires a client certificate: the request succeeds with CERT/KEY and
 * fails without, and fails against the system store (the server's CA is ours).
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_client.h"

static struct event_base *base;

/*
 * /get: "hello"; /post: echoes method, content type and body; /headers: echoes
 * SOAPAction and Authorization; /500: a body with status 500; /big: 64 KiB;
 * /hang: never.
 */
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
    } else if (strcmp(uri, "/headers") == 0) {
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        const char *sa = evhttp_find_header(in, "SOAPAction");
        const char *au = evhttp_find_header(in, "Authorization");
        evbuffer_add_printf(out, "%s|%s", sa ? sa : "-", au ? au : "-");
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
    int n, ok; /* ok: an answer with status 200 */
    enum hc_err err;
    long status;
    char body[256];
    char why[160];
};

static void on_answer(void *arg, const struct hc_answer *a)
{
    struct res *r = arg;

    r->n++;
    r->err = a->err;
    r->ok = a->err == HC_OK && a->status == 200;
    r->status = a->status;
    CHECK(a->why != NULL);
    CHECK(a->err == HC_OK || a->body == NULL); /* a failed transfer hands out no body */
    snprintf(r->body, sizeof r->body, "%.*s", (int)(a->len < 255 ? a->len : 255), a->body ? (const char *)a->body : "");
    snprintf(r->why, sizeof r->why, "%s", a->why ? a->why : "");
}

static void pump(const int *flag, int ms)
{
    struct timeval tv = {0, 10000};
    for (int i = 0; i < ms / 10 && *flag == 0; i++) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

/* The TLS server of tls_client.sh: a client certificate is required. */
static void tls_cases(const char *url, const char *ca, const char *cert, const char *key)
{
    struct hc_client *h = NULL;
    struct res r = {0};

    CHECK_EQ_INT(
        hc_new(base, &(struct hc_cfg){.timeout_ms = 3000, .ca_file = ca, .cert_file = cert, .key_file = key}, &h),
        HC_OK);
    CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
    pump(&r.n, 5000);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_INT(r.err, HC_OK);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.body, "hello over tls\n");
    hc_free(h);

    /* No client certificate: the server refuses the handshake. */
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(hc_new(base, &(struct hc_cfg){.timeout_ms = 3000, .ca_file = ca}, &h), HC_OK);
    CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
    pump(&r.n, 5000);
    CHECK_EQ_INT(r.n, 1);
    CHECK(r.err != HC_OK);
    CHECK_EQ_STR(r.body, "");
    hc_free(h);

    /* The system store does not know our throwaway CA: the server is not trusted. */
    memset(&r, 0, sizeof r);
    CHECK_EQ_INT(hc_new(base, &(struct hc_cfg){.timeout_ms = 3000, .cert_file = cert, .key_file = key}, &h), HC_OK);
    CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
    pump(&r.n, 5000);
    CHECK_EQ_INT(r.n, 1);
    CHECK_EQ_INT(r.err, HC_ERR_TLS);
    hc_free(h);

    /* Files that cannot be read fail at hc_new, not on every request. */
    CHECK_EQ_INT(hc_new(base, &(struct hc_cfg){.cert_file = "/nonexistent/c.pem"}, &h), HC_ERR_INVALID);
    CHECK(h == NULL);
    CHECK_EQ_INT(hc_new(base, &(struct hc_cfg){.ca_file = "/nonexistent/ca.pem"}, &h), HC_ERR_INVALID);
}

int main(int argc, char **argv)
{
    struct evhttp *srv;
    struct evhttp_bound_socket *bs;
    struct hc_client *h = NULL;
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
    CHECK_EQ_INT(hc_new(base, &(struct hc_cfg){.timeout_ms = 500, .max_body = 4096}, &h), HC_OK);

    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/get", port);
        CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
        CHECK_EQ_INT(r.n, 0); /* never from inside the call */
        CHECK_EQ_INT(hc_running(h), 1);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.n, 1);
        CHECK_EQ_INT(r.ok, 1);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_STR(r.body, "hello");
        CHECK_EQ_INT(hc_running(h), 0);
    }
    {
        static const uint8_t body[] = {'a', 0, 'b'};
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/post", port);
        CHECK(hc_fetch(h, url, "application/ocsp-request", NULL, body, 1, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 1);
        CHECK_EQ_STR(r.body, "POST application/ocsp-request a");
    }
    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/500", port);
        CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_INT(r.status, 500);
        /* An answer, not a transport error: a SOAP fault comes as a 500 with a body. */
        CHECK_EQ_INT(r.err, HC_OK);
        CHECK_EQ_STR(r.why, "");
        CHECK_EQ_STR(r.body, "broken");
    }
    {
        /* Request headers reach the server as given. */
        static const char *const hdrs[] = {"SOAPAction: \"#MSS_Signature\"", "Authorization: Basic dTpw", NULL};
        static const uint8_t env[] = "<e/>";
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", port);
        CHECK(hc_fetch(h, url, "application/soap+xml", hdrs, env, 4, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 1);
        CHECK_EQ_STR(r.body, "\"#MSS_Signature\"|Basic dTpw");
    }
    {
        /* A header that would smuggle another one, or a body without a type, is refused: no callback. */
        static const char *const bad[] = {"X-A: 1\r\nX-B: 2", NULL};
        static const char *const nocolon[] = {"SOAPAction", NULL};
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", port);
        CHECK(hc_fetch(h, url, NULL, bad, NULL, 0, on_answer, &r) == NULL);
        CHECK(hc_fetch(h, url, NULL, nocolon, NULL, 0, on_answer, &r) == NULL);
        CHECK(hc_fetch(h, url, NULL, NULL, (const uint8_t *)"x", 1, on_answer, &r) == NULL);
        CHECK_EQ_INT(hc_running(h), 0);
        pump(&r.n, 50);
        CHECK_EQ_INT(r.n, 0);
    }
    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/big", port);
        CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_STR(r.why, "answer larger than 4096 octets");
        CHECK_EQ_INT(r.err, HC_ERR_TOO_LARGE);
    }
    {
        struct res r = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
        CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK(strstr(r.why, "imeout") != NULL); /* curl: "Timeout was reached" */
        CHECK_EQ_INT(r.err, HC_ERR_TIMEOUT);
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
        CHECK(hc_fetch(h, dead, NULL, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_INT(r.status, 0);
        CHECK(r.why[0] != '\0');
        CHECK_EQ_INT(r.err, HC_ERR_CONNECT);
    }
    {
        /* Only http and https: a file URL is refused by curl, reported, not read. */
        struct res r = {0};
        CHECK(hc_fetch(h, "file:///etc/passwd", NULL, NULL, NULL, 0, on_answer, &r) != NULL);
        pump(&r.n, 3000);
        CHECK_EQ_INT(r.ok, 0);
        CHECK_EQ_STR(r.body, "");
        CHECK_EQ_INT(r.err, HC_ERR_INVALID);
    }
    {
        /* Cancel: the callback never runs, nothing is left running. */
        struct res r = {0};
        struct hc_req *q;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
        q = hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &r);
        CHECK(q != NULL);
        pump(&r.n, 100);
        hc_cancel(q);
        hc_cancel(NULL);
        CHECK_EQ_INT(hc_running(h), 0);
        pump(&r.n, 800);
        CHECK_EQ_INT(r.n, 0);
    }
    {
        /* Free with two requests running: each is answered once, "shutting down". */
        struct res a = {0}, b = {0};
        snprintf(url, sizeof url, "http://127.0.0.1:%d/hang", port);
        CHECK(hc_fetch(h, url, NULL, NULL, NULL, 0, on_answer, &a) != NULL);
        CHECK(hc_fetch(h, url, "text/plain", NULL, (const uint8_t *)"x", 1, on_answer, &b) != NULL);
        CHECK_EQ_INT(hc_running(h), 2);
        hc_free(h);
        h = NULL;
        CHECK_EQ_INT(a.n, 1);
        CHECK_EQ_INT(b.n, 1);
        CHECK_EQ_STR(a.why, "shutting down");
        CHECK_EQ_INT(a.ok + b.ok, 0);
        CHECK_EQ_INT(b.err, HC_ERR_SHUTDOWN);
    }
    hc_free(NULL);
    CHECK_EQ_INT(hc_running(NULL), 0);

    CHECK_EQ_STR(hc_strerror(HC_ERR_TLS), "TLS handshake failed");
    CHECK_EQ_STR(hc_strerror((enum hc_err)99), "unknown error");

    evhttp_free(srv);
    if (argc == 5)
        tls_cases(argv[1], argv[2], argv[3], argv[4]);
    else
        CHECK(argc == 1);
    event_base_free(base);
    return check_report("test_http_client");
}
