/*
 * gw_tls.h - TLS on the API listener (the JSON API, the SOAP endpoint,
 * /healthz and /metrics share one port), and the relying parties' client
 * certificate rule.
 *
 * Configuration: cfg "tls" (cert_file, key_file, client_ca_file) and
 * api_keys[].client_cert_sha256 (config/cfg.h; the files are checked by
 * cfg_load, so --check-config refuses a key that does not match).
 *
 * The server side: TLS 1.2 minimum, OpenSSL's default ciphers at security
 * level 2, no renegotiation, session tickets and the session cache left on
 * (a resumed session keeps its verified peer certificate).  With
 * client_ca_file every client is asked for a certificate
 * (SSL_VERIFY_PEER without FAIL_IF_NO_PEER_CERT): a client without one still
 * connects, one with a certificate that does not verify is refused at the
 * handshake, and a relying party that requires a certificate is refused at
 * the HTTP layer (gw_tls_rp_refusal) after its credentials are accepted.
 *
 * Plugged into evhttp with evhttp_set_bevcb: each accepted connection gets
 * an OpenSSL bufferevent (libevent_openssl).  The handshake runs on the one
 * event loop, like everything else (see README, TLS, for its measured cost).
 */
#ifndef SIMPKI_GW_TLS_H
#define SIMPKI_GW_TLS_H

#include <stddef.h>
#include <stdint.h>

struct cfg_tls;
struct cfg_apikey;
struct evhttp;
struct evhttp_request;

struct gw_tls;

/*
 * The server context from t's files.  NULL with one line in err (naming the
 * file and OpenSSL's reason) when they cannot be used.  The caller owns it
 * (gw_tls_free); it must outlive the evhttp it is attached to.
 */
struct gw_tls *gw_tls_new(const struct cfg_tls *t, char *err, size_t errlen);

/* NULL does nothing.  After the evhttp it was attached to is freed. */
void gw_tls_free(struct gw_tls *tls);

/* Every connection http accepts from now on speaks TLS through tls. */
void gw_tls_attach(struct gw_tls *tls, struct evhttp *http);

/*
 * 1 when the request came over TLS.  With TLS on, a connection that is not
 * (its SSL object could not be made, out of memory: evhttp then falls back
 * to a plain bufferevent) must not be served: the router checks this first.
 */
int gw_tls_carried(struct evhttp_request *req);

/*
 * The SHA-256 of the DER of the client certificate the request's connection
 * presented and that verified against client_ca_file: 1 with md filled, 0
 * when there is none (plain HTTP, TLS without a client certificate).
 */
int gw_tls_peer_sha256(struct evhttp_request *req, uint8_t md[32]);

/*
 * The client certificate rule of relying party k for this request: NULL
 * when it may go on (k has no client_cert_sha256, or the connection carries
 * a verified certificate whose fingerprint k lists); else a static message
 * for the client (no certificate / not this relying party's), to be
 * answered 403 FORBIDDEN (the SOAP endpoint: its FORBIDDEN fault).
 */
const char *gw_tls_rp_refusal(const struct cfg_apikey *k, struct evhttp_request *req);

#endif /* SIMPKI_GW_TLS_H */
