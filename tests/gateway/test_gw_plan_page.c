/*
 * test_gw_plan_page.c - the merger review page as the daemon serves it
 * (gateway/merge/gw_plan_page.c): the embedded page is the source file,
 * self-contained (no external resource, no markup built from strings), and
 * its Content-Security-Policy hashes exactly its one script and one style;
 * then GET /ui/plans over real HTTP (evhttp on loopback) for the headers.
 *
 *   test_gw_plan_page PLAN_PAGE_HTML     the checks
 *   test_gw_plan_page --csp              print the policy
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "gw_plan.h"
#include "gw_plan_page.h"

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* The CSP source for the text between <tag> and </tag>, computed here on its own (EVP_EncodeBlock). */
static void expect_source(const char *page, const char *tag, char *out, size_t cap)
{
    char open[16], close[16];
    unsigned char md[32], b64[64];
    unsigned mdlen = 0;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *a = strstr(page, open) + strlen(open);
    const char *b = strstr(a, close);
    EVP_Digest(a, (size_t)(b - a), md, &mdlen, EVP_sha256(), NULL);
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(out, cap, "'sha256-%s'", (const char *)b64);
}

static void check_page(const char *src_path)
{
    size_t len = 0;
    const char *page = gw_plan_page_html(&len);
    FILE *f = fopen(src_path, "rb");
    char *src = calloc(1, len + 2);
    size_t got = f && src ? fread(src, 1, len + 1, f) : 0;

    /* The embedded octets are the source file's, all of them. */
    CHECK(f != NULL);
    CHECK_EQ_INT(got, len);
    CHECK(src && memcmp(src, page, len) == 0);
    CHECK_EQ_INT(page[len], '\0');
    CHECK_EQ_INT(strlen(page), len);
    if (f)
        fclose(f);
    free(src);

    CHECK(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    CHECK(strstr(page, "<html lang=\"vi\">") != NULL);
    CHECK(strstr(page, "<meta charset=\"utf-8\">") != NULL);
    /* One inline script and one style, each hashable: the policy names one hash of each. */
    CHECK_EQ_INT(count(page, "<script"), 1);
    CHECK_EQ_INT(count(page, "<script>"), 1);
    CHECK_EQ_INT(count(page, "</script>"), 1);
    CHECK_EQ_INT(count(page, "<style"), 1);
    CHECK_EQ_INT(count(page, "<style>"), 1);
    CHECK_EQ_INT(count(page, "</style>"), 1);
    /* Self-contained: nothing is loaded from anywhere (no CDN, no font, no image). */
    CHECK(!strstr(page, "http://") && !strstr(page, "https://"));
    CHECK(!strstr(page, "<link") && !strstr(page, "<img") && !strstr(page, "<iframe"));
    CHECK(!strstr(page, "@import") && !strstr(page, "url("));
    CHECK(!strstr(page, " src="));
    /* Data never becomes markup: no HTML parsing sinks in the script. */
    CHECK(!strstr(page, "innerHTML") && !strstr(page, "outerHTML") && !strstr(page, "insertAdjacentHTML"));
    CHECK(!strstr(page, "document.write") && !strstr(page, "eval("));
    /* Inline handlers would need 'unsafe-inline' (or be blocked): listeners only. */
    CHECK(!strstr(page, " onclick=") && !strstr(page, " onload=") && !strstr(page, " onchange=") &&
          !strstr(page, " onsubmit="));
    /* The key stays in this tab's session. */
    CHECK(!strstr(page, "localStorage") && !strstr(page, "document.cookie"));
    CHECK(strstr(page, "sessionStorage") != NULL);

    char csp[512], script[96], style[96];
    CHECK_EQ_INT(gw_plan_page_csp(csp, sizeof(csp)), 0);
    expect_source(page, "script", script, sizeof(script));
    expect_source(page, "style", style, sizeof(style));
    CHECK(strstr(csp, script) != NULL);
    CHECK(strstr(csp, style) != NULL);
    CHECK(strncmp(csp, "default-src 'self'; ", 20) == 0);
    CHECK(!strstr(csp, "unsafe-inline") && !strstr(csp, "unsafe-eval") && !strstr(csp, "*"));
    CHECK(strstr(csp, "frame-ancestors 'none'") != NULL);
    /* A policy that does not fit is refused, never cut short. */
    CHECK_EQ_INT(gw_plan_page_csp(csp, 60), -1);
}

/* ---- GET /ui/plans over real HTTP ---- */

struct reply {
    int code;
    char ctype[64], csp[512], cache[32], nosniff[32], allow[16];
    char *body;
    size_t len;
    struct event_base *base;
};

static void serve(struct evhttp_request *req, void *arg)
{
    (void)arg;
    gw_plan_page(req);
}

static void copy_header(struct evkeyvalq *h, const char *name, char *out, size_t cap)
{
    const char *v = evhttp_find_header(h, name);
    snprintf(out, cap, "%s", v ? v : "");
}

static void got(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;
    if (req) {
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        r->code = evhttp_request_get_response_code(req);
        copy_header(h, "Content-Type", r->ctype, sizeof(r->ctype));
        copy_header(h, "Content-Security-Policy", r->csp, sizeof(r->csp));
        copy_header(h, "Cache-Control", r->cache, sizeof(r->cache));
        copy_header(h, "X-Content-Type-Options", r->nosniff, sizeof(r->nosniff));
        copy_header(h, "Allow", r->allow, sizeof(r->allow));
        r->len = evbuffer_get_length(b);
        r->body = malloc(r->len + 1);
        if (r->body) {
            evbuffer_remove(b, r->body, r->len);
            r->body[r->len] = '\0';
        }
    }
    event_base_loopbreak(r->base);
}

static void fetch(struct event_base *base, int port, enum evhttp_cmd_type cmd, struct reply *r)
{
    struct evhttp_connection *c = evhttp_connection_base_new(base, NULL, "127.0.0.1", (unsigned short)port);
    struct evhttp_request *req = evhttp_request_new(got, r);

    memset(r, 0, sizeof(*r));
    r->base = base;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    evhttp_make_request(c, req, cmd, "/ui/plans");
    event_base_dispatch(base);
    evhttp_connection_free(c);
}

static void check_http(void)
{
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    struct reply r;
    size_t len = 0;
    const char *page = gw_plan_page_html(&len);
    char csp[512];

    CHECK(s != NULL);
    if (!s)
        return;
    evhttp_set_gencb(http, serve, NULL);
    getsockname(evhttp_bound_socket_get_fd(s), (struct sockaddr *)&sa, &salen);

    fetch(base, ntohs(sa.sin_port), EVHTTP_REQ_GET, &r);
    CHECK_EQ_INT(r.code, 200);
    CHECK_EQ_STR(r.ctype, "text/html; charset=utf-8");
    CHECK_EQ_STR(r.cache, "no-store");
    CHECK_EQ_STR(r.nosniff, "nosniff");
    CHECK(gw_plan_page_csp(csp, sizeof(csp)) == 0);
    CHECK_EQ_STR(r.csp, csp);
    CHECK_EQ_INT(r.len, len);
    CHECK(r.body && memcmp(r.body, page, len) == 0);
    free(r.body);

    fetch(base, ntohs(sa.sin_port), EVHTTP_REQ_POST, &r);
    CHECK_EQ_INT(r.code, 405);
    CHECK_EQ_STR(r.allow, "GET");
    CHECK(r.body && strstr(r.body, "\"METHOD_NOT_ALLOWED\""));
    CHECK(r.csp[0] == '\0');
    free(r.body);

    evhttp_free(http);
    event_base_free(base);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--csp") == 0) {
        char csp[512];
        if (gw_plan_page_csp(csp, sizeof(csp)) != 0)
            return 1;
        puts(csp);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: test_gw_plan_page PLAN_PAGE_HTML | --csp\n");
        return 2;
    }
    check_page(argv[1]);
    check_http();
    return check_report("test_gw_plan_page");
}
