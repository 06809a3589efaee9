/*
 * gw_admin_api.h - simpki-admin as a client of the daemon's JSON API, for
 * the commands that go through simpkid rather than straight to Redis (the
 * merger plans: gw_admin_plan.h).
 *
 * WHERE: --api URL (http:// or https://, a path prefix allowed for a
 * reverse proxy), else http://listen_host:listen_port of the configuration
 * given with -c (0.0.0.0 and :: are reached on the loopback).
 *
 * TLS: an https:// daemon's certificate is checked against --cacert FILE
 * (PEM roots; default: the system's store); --client-cert FILE
 * [--client-key FILE] present a client certificate to a daemon whose relying party requires one
 * (api_keys[].client_cert_sha256).  With -c, a configuration with a "tls"
 * section gives an https:// URL.
 *
 * WHO: the bearer token from --key-file FILE (its first line) or the
 * environment's SIMPKI_API_KEY, never from the command line, where ps and
 * /proc/PID/cmdline would show it.  The token is wiped (OPENSSL_cleanse)
 * from this module's memory when the client is freed; it never appears in
 * a message.
 *
 * HOW: blocking calls over config/http_client.h on a private event loop
 * (one request at a time: a command line has nothing else to do while it
 * waits).  A call answers with any HTTP status; gw_admin_api_fail() turns a
 * failed call or a refusal into one clear "error: ..." line on stderr:
 * daemon unreachable, 401 (key refused), 403 (key without the role), 404,
 * 409 (with the daemon's code and message), 413, 5xx.
 */
#ifndef SIMPKI_GW_ADMIN_API_H
#define SIMPKI_GW_ADMIN_API_H

#include <jansson.h>
#include <stddef.h>

#include "gw_admin.h"

struct gw_admin_api;

/* --cacert, --client-cert, --client-key: PEM files, each NULL when not given; copied by gw_admin_api_open. */
struct gw_admin_api_tls {
    const char *cacert, *cert, *key;
};

/*
 * Open a client.  api (NULL: from cfg_path's listen address; both NULL is a
 * usage error), key_file (NULL: SIMPKI_API_KEY), tls (NULL: no TLS options).
 * Problems are printed; GW_ADMIN_OK with *out owning the client, else
 * *out = NULL.
 */
enum gw_admin_exit gw_admin_api_open(const char *cfg_path, const char *api, const char *key_file,
                                     const struct gw_admin_api_tls *tls, struct gw_admin_api **out)
    __attribute__((warn_unused_result));
void gw_admin_api_free(struct gw_admin_api *a); /* NULL does nothing */

/* The base URL in use, for messages (it holds no secret). */
const char *gw_admin_api_url(const struct gw_admin_api *a);

/*
 * One answer.  status 0: none came (transport failure, `why` says which);
 * body is the answer's octets, NUL-terminated (len without the NUL), json
 * its parse when it is a JSON document, else NULL.  The reply owns both:
 * gw_admin_reply_clear() frees them and zeroes it (a zeroed reply is empty).
 */
struct gw_admin_reply {
    long status;
    char *body;
    size_t len;
    json_t *json;
    char why[160];
};
void gw_admin_reply_clear(struct gw_admin_reply *r);

/* Call flags */
#define GW_ADMIN_API_LONG 0x1u /* a large upload: ten minutes rather than one */

/*
 * GET (body NULL) or POST body (JSON, sent compact) at path (starting with
 * "/", appended to the base URL).  r is cleared first, then filled.
 * Returns 0 when an HTTP answer came (any status), -1 when none did.
 */
int gw_admin_api_call(struct gw_admin_api *a, const char *path, const json_t *body, unsigned flags,
                      struct gw_admin_reply *r) __attribute__((warn_unused_result));

/* 1 for a 2xx answer. */
int gw_admin_reply_ok(const struct gw_admin_reply *r);

/* The answer's "error" code ("VERSION_CONFLICT") or "" when it has none. */
const char *gw_admin_reply_code(const struct gw_admin_reply *r);

/*
 * Print why r is not what was wanted, as one "error: WHAT: ..." line (what:
 * "plan p0123..." or "plans"), and return GW_ADMIN_FAIL.  The daemon's
 * message is printed sanitised; a body that is not JSON is named by its
 * status only.
 */
enum gw_admin_exit gw_admin_api_fail(const struct gw_admin_api *a, const char *what, const struct gw_admin_reply *r);

/*
 * The common case: GET path, want a 2xx JSON object (or array, as
 * /v1/plans/{id}/units answers).  GW_ADMIN_OK with *out
 * a new reference; else the failure printed (gw_admin_api_fail) and *out NULL.
 */
enum gw_admin_exit gw_admin_api_get_json(struct gw_admin_api *a, const char *path, const char *what, json_t **out)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_GW_ADMIN_API_H */
