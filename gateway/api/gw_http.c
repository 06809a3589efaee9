/* gw_http.c - see gw_http.h. */
#include "gw_http.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_util.h"

void gw_http_json(struct evhttp_request *req, int code, json_t *body)
{
    struct evbuffer *out = evbuffer_new();
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    if (out && text) {
        evbuffer_add(out, text, strlen(text));
        evbuffer_add(out, "\n", 1);
    }
    evhttp_send_reply(req, code, NULL, out);
    free(text);
    if (out)
        evbuffer_free(out);
    json_decref(body);
}

static void free_text(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void gw_http_json_text(struct evhttp_request *req, int code, struct gw_json *j)
{
    struct evbuffer *out = evhttp_request_get_output_buffer(req);

    if (!j->buf || evbuffer_add_reference(out, j->buf, j->len, free_text, NULL) != 0) {
        free(j->buf);
        j->buf = NULL;
        evhttp_send_error(req, 500, NULL);
        return;
    }
    j->buf = NULL;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, code, NULL, NULL);
}

void gw_http_error(struct evhttp_request *req, int code, const char *error, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    json_t *o;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    o = json_pack("{s:s, s:s}", "error", error, "message", msg);
    if (o && field)
        json_object_set_new(o, "field", json_string(field));
    gw_http_json(req, code, o);
}

void gw_http_text(struct evhttp_request *req, int code, const char *ctype, const char *text, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    if (out)
        evbuffer_add(out, text, len);
    evhttp_send_reply(req, code, NULL, out);
    if (out)
        evbuffer_free(out);
}

static void hold_closed(struct evhttp_connection *conn, void *arg)
{
    struct gw_http_hold *h = arg;
    (void)conn;
    h->req = NULL;
    h->conn = NULL;
    if (h->gone)
        h->gone(h->arg);
}

void gw_http_hold(struct gw_http_hold *h, struct evhttp_request *req, void (*gone)(void *), void *arg)
{
    h->req = req;
    h->conn = evhttp_request_get_connection(req);
    h->gone = gone;
    h->arg = arg;
    if (h->conn)
        evhttp_connection_set_closecb(h->conn, hold_closed, h);
}

struct evhttp_request *gw_http_take(struct gw_http_hold *h)
{
    struct evhttp_request *req = h->req;
    if (h->conn)
        evhttp_connection_set_closecb(h->conn, NULL, NULL);
    h->req = NULL;
    h->conn = NULL;
    return req;
}

json_t *gw_http_body_json(struct evhttp_request *req, char *why, size_t whylen)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);

    return gw_http_parse_json((const char *)evbuffer_pullup(in, (ev_ssize_t)len), len, why, whylen);
}

json_t *gw_http_parse_json(const char *body_text, size_t len, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *body = json_loadb(body_text, len, JSON_REJECT_DUPLICATES, &jerr);

    if (!body) {
        snprintf(why, whylen, "the body is not JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(body)) {
        snprintf(why, whylen, "the body must be a JSON object");
        json_decref(body);
        return NULL;
    }
    return body;
}
