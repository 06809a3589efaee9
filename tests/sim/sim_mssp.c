/* sim_mssp.c - see sim_mssp.h.  The HTTPS server, held requests and the answers' shapes. */
#include "sim_mssp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "log.h"
#include "sim_mssp_txn.h"
#include "sim_mssp_xml.h"
#include "sim_scen.h"

#define MAX_BODY          (64 * 1024) /* a request is a few KB; evhttp answers 413 above */
#define HUGE_TOTAL        (100u * 1024 * 1024)
#define HUGE_CHUNK        (64 * 1024)
#define DRIP_MS           200
#define DEFAULT_TIMEOUT_S 300 /* the vGCA profile's TimeOut, for a synch request that gives none */
#define IDLE_TIMEOUT_S    600

/*
 * A request not answered from its callback.  The request stays ours until
 * it is answered or its connection goes; libevent detaches (does not free) a
 * request the user still holds when the peer goes away, and calls the
 * connection's close callback before freeing the connection.
 */
enum pend_kind {
    PEND_ANSWER,  /* synch: answer txn when it is ready */
    PEND_EXPIRE,  /* synch, never ready: fault 208 at the request's TimeOut */
    PEND_CLOSE,   /* close the connection without an answer (from a timer: never inside evhttp's callback) */
    PEND_FOREVER, /* hold_first: never answered */
    PEND_DRIP,    /* slow_drip: one octet per DRIP_MS */
    PEND_HUGE,    /* huge_body: HUGE_TOTAL octets in HUGE_CHUNK chunks, as the socket drains */
};

struct mssp_pend {
    struct mssp_pend *next;
    struct sim_mssp *m;
    enum pend_kind kind;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *timer;
    struct mssp_txn *txn;
    struct mssp_req rq;    /* the request, echoed in the answer */
    struct evbuffer *data; /* DRIP: what is left to send */
    size_t left;           /* HUGE: octets still to send */
};

struct sim_mssp {
    struct event_base *base;
    struct sim_scen *scen;
    const struct sim_mssp_cfg *cfg;
    SSL_CTX *ssl;
    struct evhttp *http;
    uint16_t port;
    struct mssp_txns *txns;
    struct mssp_pend *pends;
};

static const char *const verdict_names[] = {"fault", "answer", "final", "hold", "hold forever", "close", "throttle"};
static const char *const pend_names[] = {"answer", "expire", "close", "forever", "drip", "huge"};

/* ---- held requests ---------------------------------------------------- */

static void pend_free(struct mssp_pend *p)
{
    struct mssp_pend **pp;

    if (!p)
        return;
    for (pp = &p->m->pends; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->conn)
        evhttp_connection_set_closecb(p->conn, NULL, NULL);
    if (p->timer)
        event_free(p->timer);
    if (p->data)
        evbuffer_free(p->data);
    mssp_req_wipe(&p->rq);
    free(p);
}

static void on_conn_close(struct evhttp_connection *conn, void *arg)
{
    struct mssp_pend *p = arg;

    (void)conn;
    LOGP(LOG_DEBUG, "mssp", NULL, "peer went away from a held request (%s)", pend_names[p->kind]);
    /* Detached by libevent (the peer went away): ours to free.  Still attached: the connection frees it. */
    if (evhttp_request_get_connection(p->req) == NULL)
        evhttp_request_free(p->req);
    p->conn = NULL;
    pend_free(p);
}

static void on_pend_timer(evutil_socket_t fd, short what, void *arg);
static void send_final(struct sim_mssp *m, struct evhttp_request *req, struct mssp_txn *txn, const struct mssp_req *rq);

static struct mssp_pend *pend_new(struct sim_mssp *m, struct evhttp_request *req, enum pend_kind kind,
                                  struct mssp_txn *txn, const struct mssp_req *rq, unsigned delay_ms)
{
    struct mssp_pend *p = calloc(1, sizeof(*p));
    struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};

    if (!p)
        return NULL;
    p->m = m;
    p->kind = kind;
    p->req = req;
    p->conn = evhttp_request_get_connection(req);
    p->txn = txn;
    if (rq)
        p->rq = *rq;
    p->timer = evtimer_new(m->base, on_pend_timer, p);
    if (!p->timer || !p->conn || (kind != PEND_FOREVER && kind != PEND_HUGE && evtimer_add(p->timer, &tv) != 0)) {
        p->conn = NULL;
        pend_free(p);
        return NULL;
    }
    evhttp_connection_set_closecb(p->conn, on_conn_close, p);
    p->next = m->pends;
    m->pends = p;
    return p;
}

/* The request callback may run again for a request we hold (libevent's "buffer error" path): forget it. */
static void pend_forget_req(struct sim_mssp *m, struct evhttp_request *req)
{
    for (struct mssp_pend *p = m->pends; p; p = p->next)
        if (p->req == req) {
            pend_free(p);
            return;
        }
}

/* ---- sending ---------------------------------------------------------- */

static void send_xml(struct evhttp_request *req, int code, const char *reason, struct evbuffer *body)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/soap+xml; charset=utf-8");
    evhttp_send_reply(req, code, reason, body);
}

static void send_fault(struct evhttp_request *req, int code)
{
    struct evbuffer *b = evbuffer_new();

    /* SOAP 1.2 over HTTP: a fault travels with 500 (as JAX-WS, the vGCA's stack, sends every fault). */
    if (b && mssp_xml_fault(code, b) == 0)
        send_xml(req, 500, "Internal Server Error", b);
    else
        evhttp_send_error(req, 500, NULL);
    if (b)
        evbuffer_free(b);
}

static void send_plain(struct evhttp_request *req, int code, const char *reason, const char *ctype, const char *text)
{
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add(b, text, strlen(text));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static const char billion_laughs[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
    "]>\n"
    "<env:Envelope xmlns:env=\"" MSSP_NS_SOAP12 "\" xmlns:mss=\"" MSSP_NS_ETSI "\"><env:Body>"
    "<MSS_SignatureResponse><MSS_SignatureResp MajorVersion=\"1\" MinorVersion=\"1\" MSSP_TransID=\"&lol9;\">"
    "<mss:Status><mss:StatusCode Value=\"500\"/><mss:StatusMessage>&lol9;</mss:StatusMessage></mss:Status>"
    "</MSS_SignatureResp></MSS_SignatureResponse></env:Body></env:Envelope>\n";

static const char huge_head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                "<env:Envelope xmlns:env=\"" MSSP_NS_SOAP12 "\" xmlns:mss=\"" MSSP_NS_ETSI
                                "\"><env:Body><MSS_SignatureResponse><MSS_SignatureResp MajorVersion=\"1\" "
                                "MinorVersion=\"1\" MSSP_TransID=\"huge\"><mss:MSS_Signature><mss:Base64Signature>";
static const char huge_tail[] = "</mss:Base64Signature></mss:MSS_Signature><mss:Status><mss:StatusCode Value=\"500\"/>"
                                "</mss:Status></MSS_SignatureResp></MSS_SignatureResponse></env:Body></env:Envelope>\n";

static void on_huge_written(struct evhttp_connection *conn, void *arg)
{
    struct mssp_pend *p = arg;
    struct evbuffer *b = evbuffer_new();
    size_t n;

    (void)conn;
    if (!b)
        return; /* the peer's timeout ends it */
    if (p->left == 0) {
        struct evhttp_request *req = p->req;
        pend_free(p); /* off the connection first: ending the reply may free it */
        evbuffer_add(b, huge_tail, sizeof(huge_tail) - 1);
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
        evhttp_send_reply_end(req);
        return;
    }
    n = p->left < HUGE_CHUNK ? p->left : HUGE_CHUNK;
    /* Never more than one chunk in memory: the next is made when this one has left. */
    if (evbuffer_expand(b, n) == 0) {
        struct evbuffer_iovec v;
        if (evbuffer_reserve_space(b, n, &v, 1) == 1) {
            memset(v.iov_base, 'A', n);
            v.iov_len = n;
            evbuffer_commit_space(b, &v, 1);
        }
    }
    p->left -= n;
    evhttp_send_reply_chunk_with_cb(p->req, b, on_huge_written, p);
    evbuffer_free(b);
}

static void on_pend_timer(evutil_socket_t fd, short what, void *arg)
{
    struct mssp_pend *p = arg;
    struct evhttp_connection *conn = p->conn;
    struct evhttp_request *req = p->req;
    struct sim_mssp *m = p->m;
    struct mssp_txn *txn = p->txn;
    struct mssp_req rq;
    struct evbuffer *b;
    struct timeval tv = {0, DRIP_MS * 1000};
    uint8_t c;

    (void)fd;
    (void)what;
    switch (p->kind) {
    case PEND_ANSWER:
        rq = p->rq;
        /* Off the connection first: answering may free it, or hold the request again (drip, huge). */
        pend_free(p);
        send_final(m, req, txn, &rq);
        mssp_req_wipe(&rq);
        return;
    case PEND_EXPIRE:
        pend_free(p);
        send_fault(req, MSSP_EXPIRED_TRANSACTION);
        return;
    case PEND_CLOSE:
        pend_free(p); /* unsets the close callback: the connection frees the request */
        evhttp_connection_free(conn);
        return;
    case PEND_DRIP:
        if (evbuffer_get_length(p->data) == 0) {
            pend_free(p);
            evhttp_send_reply_end(req);
            return;
        }
        b = evbuffer_new();
        if (b && evbuffer_remove(p->data, &c, 1) == 1 && evbuffer_add(b, &c, 1) == 0)
            evhttp_send_reply_chunk(req, b);
        if (b)
            evbuffer_free(b);
        evtimer_add(p->timer, &tv);
        return;
    case PEND_FOREVER:
    case PEND_HUGE: return;
    }
}

/* Hold req and close its connection, unanswered, from the loop. */
static void close_unanswered(struct sim_mssp *m, struct evhttp_request *req)
{
    if (!pend_new(m, req, PEND_CLOSE, NULL, NULL, 0))
        evhttp_send_error(req, 500, NULL);
}

/*
 * The final answer about txn, in the shape its behaviour gives it: the
 * hostile shapes (http_500, slow_drip, huge_body, billion_laughs,
 * malformed_xml) replace the final answer only, so an asynchronous client
 * still gets its 100 and its 504s first.
 */
static void send_final(struct sim_mssp *m, struct evhttp_request *req, struct mssp_txn *txn, const struct mssp_req *rq)
{
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct mssp_pend *p;
    char len[32];
    size_t n;

    if (!b || mssp_txn_answer(txn, rq, b) != 0) {
        evhttp_send_error(req, 500, NULL);
        goto out;
    }
    switch (mssp_txn_behaviour(txn)) {
    case SIM_B_HTTP_500:
        send_plain(req, 500, "Internal Server Error", "text/html",
                   "<html><head><title>500 Internal Server Error</title></head>"
                   "<body><h1>Internal Server Error</h1><p>java.lang.NullPointerException</p></body></html>\n");
        break;
    case SIM_B_BILLION_LAUGHS: send_plain(req, 200, "OK", "application/soap+xml; charset=utf-8", billion_laughs); break;
    case SIM_B_MALFORMED_XML:
        /* The first half of the real answer, then garbage: well-formed never. */
        n = evbuffer_get_length(b) / 2;
        evbuffer_drain(b, evbuffer_get_length(b) - n);
        evbuffer_add(b, "<mss:Status><</env:Body>&", 25);
        send_xml(req, 200, "OK", b);
        break;
    case SIM_B_SLOW_DRIP:
        /* A Content-Length, so that evhttp streams the octets as they are (no chunking). */
        snprintf(len, sizeof(len), "%zu", evbuffer_get_length(b));
        evhttp_add_header(h, "Content-Length", len);
        evhttp_add_header(h, "Content-Type", "application/soap+xml; charset=utf-8");
        p = pend_new(m, req, PEND_DRIP, txn, rq, DRIP_MS);
        if (!p) {
            evhttp_send_error(req, 500, NULL);
            break;
        }
        evhttp_send_reply_start(req, mssp_txn_http_code(txn), "OK");
        p->data = b;
        b = NULL;
        break;
    case SIM_B_HUGE_BODY:
        evhttp_add_header(h, "Content-Type", "application/soap+xml; charset=utf-8");
        p = pend_new(m, req, PEND_HUGE, txn, rq, 0);
        if (!p) {
            evhttp_send_error(req, 500, NULL);
            break;
        }
        p->left = HUGE_TOTAL;
        evhttp_send_reply_start(req, 200, "OK");
        evbuffer_drain(b, evbuffer_get_length(b));
        evbuffer_add(b, huge_head, sizeof(huge_head) - 1);
        evhttp_send_reply_chunk_with_cb(req, b, on_huge_written, p);
        break;
    case SIM_B_SEGMENTS_SHUFFLED:
        /* The SMS answer came in pieces; over HTTP: chunked transfer coding in 7-octet chunks. */
        evhttp_add_header(h, "Content-Type", "application/soap+xml; charset=utf-8");
        evhttp_send_reply_start(req, mssp_txn_http_code(txn), NULL);
        while (evbuffer_get_length(b) > 0) {
            struct evbuffer *piece = evbuffer_new();
            if (!piece)
                break;
            evbuffer_remove_buffer(b, piece, 7);
            evhttp_send_reply_chunk(req, piece);
            evbuffer_free(piece);
        }
        evhttp_send_reply_end(req);
        break;
    default: send_xml(req, mssp_txn_http_code(txn), NULL, b); break;
    }
out:
    if (b)
        evbuffer_free(b);
}

/* ---- the five ports ---------------------------------------------------- */

static void on_soap(struct sim_mssp *m, struct evhttp_request *req, enum mssp_op op)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t len = evbuffer_get_length(in);
    const char *why = NULL;
    struct mssp_req rq;
    struct mssp_txn *txn = NULL;
    struct evbuffer *b;
    enum mssp_verdict v;
    int rc;
    unsigned wait_ms = 0;
    struct timeval now;
    char mb[32];

    if (!ctype || strncmp(ctype, "application/soap+xml", 20) != 0) {
        send_plain(req, 415, "Unsupported Media Type", "text/plain", "SOAP 1.2: application/soap+xml\n");
        return;
    }
    rc = mssp_xml_parse((const char *)evbuffer_pullup(in, -1), len, op, &rq, &why);
    if (rc != 0) {
        LOGP(LOG_INFO, "mssp", NULL, "%s: fault %d (%s)", mssp_op_port(op), rc, why);
        send_fault(req, rc);
        return;
    }
    /* The loop's cached clock: a card's delay is measured in the loop's time, as its timers are. */
    event_base_gettimeofday_cached(m->base, &now);
    v = mssp_txn_handle(m->txns, &rq, (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000, &txn, &rc, &wait_ms);
    LOGP(LOG_INFO, "mssp", rq.msisdn[0] ? log_msisdn(rq.msisdn, mb) : rq.mssp_transid, "%s%s: %s %d", mssp_op_port(op),
         op != MSSP_OP_SIGNATURE ? ""
         : rq.synch              ? " synch"
                                 : " asynch",
         verdict_names[v], rc);
    switch (v) {
    case MSSP_V_FAULT: send_fault(req, rc); break;
    case MSSP_V_ANSWER:
        b = evbuffer_new();
        if (b && mssp_txn_answer_now(m->txns, txn, &rq, rc, b) == 0)
            send_xml(req, 200, "OK", b);
        else
            evhttp_send_error(req, 500, NULL);
        if (b)
            evbuffer_free(b);
        break;
    case MSSP_V_FINAL: send_final(m, req, txn, &rq); break;
    case MSSP_V_HOLD:
        /* synch: the answer when the card has decided, or 208 at the request's TimeOut. */
        if (wait_ms == UINT32_MAX) {
            if (!pend_new(m, req, PEND_EXPIRE, txn, &rq, (rq.timeout_s ? rq.timeout_s : DEFAULT_TIMEOUT_S) * 1000u))
                send_fault(req, MSSP_INTERNAL_ERROR);
        } else if (!pend_new(m, req, PEND_ANSWER, txn, &rq, wait_ms)) {
            send_fault(req, MSSP_INTERNAL_ERROR);
        }
        break;
    case MSSP_V_HOLD_FOREVER:
        if (!pend_new(m, req, PEND_FOREVER, txn, &rq, 0))
            send_fault(req, MSSP_INTERNAL_ERROR);
        break;
    case MSSP_V_CLOSE: close_unanswered(m, req); break;
    case MSSP_V_THROTTLE:
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        send_plain(req, 503, "Service Unavailable", "text/plain", "busy, try again\n");
        break;
    }
    mssp_req_wipe(&rq);
}

static void on_prompts(struct sim_mssp *m, struct evhttp_request *req, const char *msisdn)
{
    char json[64];

    if (!sim_scen_find(m->scen, msisdn, NULL)) {
        send_plain(req, 404, "Not Found", "application/json", "{\"error\":\"unknown number\"}\n");
        return;
    }
    snprintf(json, sizeof(json), "{\"etsi\": %u}\n", mssp_txn_prompts(m->txns, msisdn));
    send_plain(req, 200, "OK", "application/json", json);
}

/* Any number: an unknown one is what a negative cache is tested with. */
static void on_registrations(struct sim_mssp *m, struct evhttp_request *req, const char *msisdn)
{
    char json[64];

    snprintf(json, sizeof(json), "{\"registrations\": %u}\n", mssp_txn_registrations(m->txns, msisdn));
    send_plain(req, 200, "OK", "application/json", json);
}

/*
 * Before the first answer on a connection: answers go out in several TLS
 * records, and Nagle would hold the later ones for the client's delayed ACK
 * (40 ms a request).  libevent 2.1 has no hook at accept for this.
 */
static void no_delay(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    int one = 1;

    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    static const char soap[] = "/soap/services/", prompts[] = "/sim/prompts/", regs[] = "/sim/registrations/";
    struct sim_mssp *m = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    int op;

    no_delay(req);
    if (!uri) {
        /* libevent's error path for a request it read badly, possibly one we hold. */
        pend_forget_req(m, req);
        evhttp_send_error(req, 400, NULL);
        return;
    }
    if (cmd == EVHTTP_REQ_POST && strncmp(uri, soap, sizeof(soap) - 1) == 0) {
        op = mssp_op_from_port(uri + sizeof(soap) - 1);
        if (op >= 0) {
            on_soap(m, req, (enum mssp_op)op);
            return;
        }
    }
    if (cmd == EVHTTP_REQ_GET && strncmp(uri, prompts, sizeof(prompts) - 1) == 0) {
        on_prompts(m, req, uri + sizeof(prompts) - 1);
        return;
    }
    if (cmd == EVHTTP_REQ_GET && strncmp(uri, regs, sizeof(regs) - 1) == 0) {
        on_registrations(m, req, uri + sizeof(regs) - 1);
        return;
    }
    send_plain(req, 404, "Not Found", "text/plain", "no such port\n");
}

/* ---- TLS and the listener ---------------------------------------------- */

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    struct sim_mssp *m = arg;
    SSL *ssl = SSL_new(m->ssl);
    struct bufferevent *bev;

    if (!ssl)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* A peer that drops the TCP connection without close_notify is an EOF here, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

static SSL_CTX *make_ssl(const struct sim_mssp_cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    STACK_OF(X509_NAME) *cas = NULL;
    const char *what = "out of memory";

    if (!ctx)
        goto fail;
    what = "server certificate";
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_use_certificate_chain_file(ctx, cfg->cert) != 1)
        goto fail;
    what = "server key";
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)
        goto fail;
    what = "client_ca";
    cas = SSL_load_client_CA_file(cfg->client_ca);
    if (!cas || SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1)
        goto fail;
    SSL_CTX_set_client_CA_list(ctx, cas);
    /* The Government CA's MSSP admits an Application Provider by its certificate: none, no handshake. */
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return ctx;
fail:
    if (err && errlen)
        snprintf(err, errlen, "mssp: %s: %s", what, ERR_reason_error_string(ERR_peek_last_error()));
    ERR_clear_error();
    sk_X509_NAME_pop_free(cas, X509_NAME_free);
    SSL_CTX_free(ctx);
    return NULL;
}

struct sim_mssp *sim_mssp_new(struct event_base *base, struct sim_scen *scen, char *err, size_t errlen)
{
    struct sim_mssp *m = calloc(1, sizeof(*m));
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    if (!m)
        return NULL;
    m->base = base;
    m->scen = scen;
    m->cfg = sim_scen_mssp(scen);
    if (!m->cfg) {
        snprintf(err, errlen, "mssp: the scenario has no \"mssp\" section");
        goto fail;
    }
    m->ssl = make_ssl(m->cfg, err, errlen);
    if (!m->ssl)
        goto fail;
    m->txns = mssp_txns_new(scen, m->cfg);
    m->http = evhttp_new(base);
    if (!m->txns || !m->http) {
        snprintf(err, errlen, "mssp: out of memory");
        goto fail;
    }
    evhttp_set_bevcb(m->http, make_bev, m);
    evhttp_set_gencb(m->http, on_request, m);
    evhttp_set_max_body_size(m->http, MAX_BODY);
    evhttp_set_max_headers_size(m->http, 16 * 1024);
    evhttp_set_timeout(m->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    sock = evhttp_bind_socket_with_handle(m->http, "127.0.0.1", m->cfg->port);
    if (!sock || getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl) != 0 ||
        ss.ss_family != AF_INET) {
        snprintf(err, errlen, "mssp: cannot listen on 127.0.0.1:%u", (unsigned)m->cfg->port);
        goto fail;
    }
    m->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    LOGP(LOG_INFO, "mssp", NULL, "ETSI TS 102 204 on https://127.0.0.1:%u/soap/services/", (unsigned)m->port);
    return m;
fail:
    sim_mssp_free(m);
    return NULL;
}

void sim_mssp_free(struct sim_mssp *m)
{
    if (!m)
        return;
    while (m->pends)
        pend_free(m->pends); /* their requests go with their connections, below */
    if (m->http)
        evhttp_free(m->http);
    mssp_txns_free(m->txns);
    SSL_CTX_free(m->ssl);
    free(m);
}

uint16_t sim_mssp_port(const struct sim_mssp *m)
{
    return m->port;
}
