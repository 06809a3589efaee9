/*
 * gw_http.h - what every JSON endpoint needs: JSON replies, JSON errors
 * with a stable code, and holding a request across asynchronous work while
 * the client may go away.
 */
#ifndef SIMPKI_GW_HTTP_H
#define SIMPKI_GW_HTTP_H

#include <jansson.h>

struct evhttp_request;
struct evhttp_connection;

/* Send body (stolen: it is freed) as application/json with status code. */
void gw_http_json(struct evhttp_request *req, int code, json_t *body);

/*
 * Send a JSON text built with gw_json (gw_util.h) with status code: the same
 * headers as gw_http_json.  The text is handed over without a copy (j->buf
 * belongs to libevent afterwards); after a failed gw_json_end() (j->buf NULL)
 * a 500 is sent instead.
 */
struct gw_json;
void gw_http_json_text(struct evhttp_request *req, int code, struct gw_json *j);

/* {"error": error, "message": ..., "field": field (when not NULL)}. */
void gw_http_error(struct evhttp_request *req, int code, const char *error, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Send text (copied) with a content type. */
void gw_http_text(struct evhttp_request *req, int code, const char *ctype, const char *text, size_t len);

/*
 * A request to be answered later.  If the client disconnects first, libevent
 * frees the request: the hold notices (req becomes NULL) and the owner must
 * not answer.  gw_http_take() detaches before answering — it must come first,
 * since libevent may free the connection as soon as the reply is sent.
 */
struct gw_http_hold {
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    void (*gone)(void *arg); /* optional: told when the client went away */
    void *arg;
};

void gw_http_hold(struct gw_http_hold *h, struct evhttp_request *req, void (*gone)(void *), void *arg);

/* The request to answer, or NULL when the client is gone.  Idempotent. */
struct evhttp_request *gw_http_take(struct gw_http_hold *h);

/* Read the whole body as JSON (an object).  NULL with *error/why set when it is not. */
json_t *gw_http_body_json(struct evhttp_request *req, char *why, size_t whylen);

/*
 * What gw_http_body_json does with the body, without the request: len
 * octets (need not be NUL-terminated) parsed as JSON with duplicate keys
 * refused; a new reference to the object, or NULL with why set when it is
 * not JSON or not an object.  The caller decrefs.
 */
json_t *gw_http_parse_json(const char *body, size_t len, char *why, size_t whylen);

#endif /* SIMPKI_GW_HTTP_H */
