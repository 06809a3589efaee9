/* gw_plan_page.c - see gw_plan_page.h and gw_plan.h's GET /ui/plans. */
#include "gw_plan_page.h"

#include <event2/http.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_http.h"
#include "gw_plan.h"
#include "util.h"

/* Generated in the build tree from plan_page.html (embed.cmake). */
extern const char gw_plan_page_src[];
extern const size_t gw_plan_page_src_len;

const char *gw_plan_page_html(size_t *len)
{
    *len = gw_plan_page_src_len;
    return gw_plan_page_src;
}

/*
 * The CSP hash source of the text inside the one <tag>...</tag> of the page:
 * "'sha256-<base64>'" into out.  The hash covers exactly the octets between
 * the start tag's '>' and "</tag", as the browser hashes them.  A second
 * element of the kind is refused: it would need a hash of its own.
 */
static int hash_source(const char *page, const char *tag, char *out, size_t cap)
{
    char open[16], close[16];
    const char *start, *end;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char *b64;
    int n;

    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    start = strstr(page, open);
    if (!start)
        return -1;
    start += strlen(open);
    end = strstr(start, close);
    if (!end || strstr(end, open))
        return -1;
    if (!EVP_Digest(start, (size_t)(end - start), md, &mdlen, EVP_sha256(), NULL))
        return -1;
    b64 = util_b64_encode(md, mdlen);
    if (!b64)
        return -1;
    n = snprintf(out, cap, "'sha256-%s'", b64);
    free(b64);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int gw_plan_page_csp(char *out, size_t cap)
{
    char script[64], style[64];
    int n;

    if (hash_source(gw_plan_page_src, "script", script, sizeof(script)) != 0 ||
        hash_source(gw_plan_page_src, "style", style, sizeof(style)) != 0)
        return -1;
    /* default-src 'self': the page fetches only its own origin's API; no
     * plugins, no <base> games, no framing (clickjacking the approve button). */
    n = snprintf(out, cap,
                 "default-src 'self'; script-src 'self' %s; style-src 'self' %s; object-src 'none'; "
                 "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
                 script, style);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

void gw_plan_page(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char csp[512];

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evhttp_add_header(h, "Allow", "GET");
        gw_http_error(req, 405, "METHOD_NOT_ALLOWED", NULL, "use GET to load the review page");
        return;
    }
    if (gw_plan_page_csp(csp, sizeof(csp)) != 0) {
        gw_http_error(req, 500, "INTERNAL_ERROR", NULL, "the review page was built without its script or style");
        return;
    }
    evhttp_add_header(h, "Content-Security-Policy", csp);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    gw_http_text(req, 200, "text/html; charset=utf-8", gw_plan_page_src, gw_plan_page_src_len);
}
