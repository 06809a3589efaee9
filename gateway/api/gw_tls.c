/* gw_tls.c - see gw_tls.h. */
#include "gw_tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "log.h"

struct gw_tls {
    SSL_CTX *ctx;
};

/* "what FILE: OpenSSL's reason" into err. */
static void fail(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    snprintf(err, errlen, "tls: %s%s%s: %s", what, file ? " " : "", file ? file : "", r ? r : "failed");
    ERR_clear_error();
}

struct gw_tls *gw_tls_new(const struct cfg_tls *t, char *err, size_t errlen)
{
    static const unsigned char sid_ctx[] = "simpki-api";
    struct gw_tls *tls = calloc(1, sizeof(*tls));

    if (!tls) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    ERR_clear_error();
    tls->ctx = SSL_CTX_new(TLS_server_method());
    if (!tls->ctx) {
        fail(err, errlen, "cannot make a TLS context", NULL);
        goto fail;
    }
    /* TLS 1.0 and 1.1 are deprecated (RFC 8996); level 2: 2048-bit RSA / 224-bit EC at least, no SHA-1. */
    if (!SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION)) {
        fail(err, errlen, "cannot require TLS 1.2", NULL);
        goto fail;
    }
    SSL_CTX_set_security_level(tls->ctx, 2);
    /* Client-initiated renegotiation is a denial-of-service lever and nothing here needs it. */
    SSL_CTX_set_options(tls->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(tls->ctx, t->cert_file) != 1) {
        fail(err, errlen, "cert_file", t->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(tls->ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
        fail(err, errlen, "key_file", t->key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(tls->ctx) != 1) {
        fail(err, errlen, "key_file does not match cert_file", t->key_file);
        goto fail;
    }
    /* Resumed sessions (cache or tickets) need an id context once peers are verified. */
    SSL_CTX_set_session_id_context(tls->ctx, sid_ctx, sizeof(sid_ctx) - 1);
    if (t->client_ca_file[0]) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca_file);
        if (!names || SSL_CTX_load_verify_locations(tls->ctx, t->client_ca_file, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            fail(err, errlen, "client_ca_file", t->client_ca_file);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(tls->ctx, names); /* takes names */
        /* Asked, not required: a relying party without client_cert_sha256 connects without one. */
        SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, NULL);
    }
    return tls;
fail:
    gw_tls_free(tls);
    return NULL;
}

void gw_tls_free(struct gw_tls *tls)
{
    if (!tls)
        return;
    SSL_CTX_free(tls->ctx);
    free(tls);
}

/* evhttp's bevcb: a server-side OpenSSL bufferevent for the connection it accepts (evhttp sets the fd). */
static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
    struct gw_tls *tls = arg;
    SSL *ssl = SSL_new(tls->ctx);
    struct bufferevent *bev;

    if (!ssl) {
        ERR_clear_error();
        return NULL; /* evhttp then makes a plain one, which the router refuses (gw_tls_carried) */
    }
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* A client that closes without close_notify (most HTTP clients) is an ordinary end, not an error. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

void gw_tls_attach(struct gw_tls *tls, struct evhttp *http)
{
    evhttp_set_bevcb(http, new_bev, tls);
}

/* The request's SSL, or NULL for a plain connection. */
static SSL *req_ssl(struct evhttp_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    return bev ? bufferevent_openssl_get_ssl(bev) : NULL; /* NULL for a plain bufferevent */
}

int gw_tls_carried(struct evhttp_request *req)
{
    return req_ssl(req) != NULL;
}

int gw_tls_peer_sha256(struct evhttp_request *req, uint8_t md[32])
{
    SSL *ssl = req_ssl(req);
    X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    unsigned int len = 0;

    /* VERIFY_PEER refuses a bad certificate at the handshake; the check stays in case that ever changes. */
    if (!peer || SSL_get_verify_result(ssl) != X509_V_OK)
        return 0;
    if (X509_digest(peer, EVP_sha256(), md, &len) != 1 || len != 32) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

const char *gw_tls_rp_refusal(const struct cfg_apikey *k, struct evhttp_request *req)
{
    uint8_t md[32];

    if (!k || k->n_client_cert == 0)
        return NULL;
    if (!gw_tls_peer_sha256(req, md))
        return "this relying party must present its client certificate over TLS: none was presented";
    for (size_t i = 0; i < k->n_client_cert; i++)
        if (CRYPTO_memcmp(md, k->client_cert_sha256[i], sizeof md) == 0)
            return NULL;
    return "the client certificate presented is not one of this relying party's (client_cert_sha256)";
}
