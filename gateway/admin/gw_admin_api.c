/* gw_admin_api.c - the daemon's JSON API from the command line; see gw_admin_api.h. */
#include "gw_admin_api.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"
#include "gw_admin_out.h"
#include "http_client.h"

#define KEY_MAX         512
#define TIMEOUT_MS      60000u        /* an ordinary call */
#define LONG_TIMEOUT_MS 600000u       /* uploading two 64 MB files to a busy daemon */
#define ANSWER_MAX      (1024u << 20) /* an export of 100,000 requests, with room */

struct gw_admin_api {
    struct event_base *base;
    struct hc_client *hc, *hc_long; /* the second made on first use */
    char url[512];
    char auth[KEY_MAX + 32];               /* "Authorization: Bearer <token>": a secret */
    char cacert[512], cert[512], key[512]; /* --cacert, --client-cert, --client-key; "" = not given */
};

/* The client settings: a call's timeout, and the TLS files given on the command line. */
static struct hc_cfg client_cfg(const struct gw_admin_api *a, unsigned timeout_ms, unsigned max_connections)
{
    return (struct hc_cfg){.timeout_ms = timeout_ms,
                           .max_body = ANSWER_MAX,
                           .max_connections = max_connections,
                           .ca_file = a->cacert[0] ? a->cacert : NULL,
                           .cert_file = a->cert[0] ? a->cert : NULL,
                           .key_file = a->key[0] ? a->key : NULL};
}

/* A call under way: the callback copies the answer out (it lives only during the callback). */
struct pending {
    int done;
    struct gw_admin_reply *r;
};

const char *gw_admin_api_url(const struct gw_admin_api *a)
{
    return a->url;
}

void gw_admin_reply_clear(struct gw_admin_reply *r)
{
    json_decref(r->json);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

int gw_admin_reply_ok(const struct gw_admin_reply *r)
{
    return r->status >= 200 && r->status < 300;
}

const char *gw_admin_reply_code(const struct gw_admin_reply *r)
{
    const char *c = json_string_value(json_object_get(r->json, "error"));
    return c ? c : "";
}

void gw_admin_api_free(struct gw_admin_api *a)
{
    if (!a)
        return;
    hc_free(a->hc);
    hc_free(a->hc_long);
    if (a->base)
        event_base_free(a->base);
    OPENSSL_cleanse(a->auth, sizeof(a->auth));
    free(a);
}

/* "http://host:port" from the daemon's configuration. */
static enum gw_admin_exit url_from_cfg(const char *cfg_path, char *url, size_t cap)
{
    struct cfg *cfg = NULL;
    const char *host;
    enum gw_admin_exit ret = gw_admin_load_cfg(cfg_path, &cfg);

    if (ret != GW_ADMIN_OK)
        return ret;
    const char *scheme = cfg->tls.enabled ? "https" : "http";
    host = cfg->listen_host;
    /* A daemon listening on every address is reached on this machine's loopback. */
    if (!host[0] || strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    if (strchr(host, ':'))
        snprintf(url, cap, "%s://[%s]:%u", scheme, host, (unsigned)cfg->listen_port);
    else
        snprintf(url, cap, "%s://%s:%u", scheme, host, (unsigned)cfg->listen_port);
    cfg_free(cfg);
    return GW_ADMIN_OK;
}

/* The token into a->auth, from the file or the environment; the problem printed. */
static enum gw_admin_exit read_key(struct gw_admin_api *a, const char *key_file)
{
    char key[KEY_MAX + 2];
    size_t n;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;

    key[0] = '\0';
    if (key_file) {
        FILE *f = fopen(key_file, "r");
        struct stat st;
        if (!f) {
            fprintf(stderr, "error: --key-file %s cannot be read\n", key_file);
            return GW_ADMIN_FAIL;
        }
        if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
            fprintf(stderr, "warning: --key-file %s can be read by other users (chmod 600 it)\n", key_file);
        if (!fgets(key, sizeof(key), f))
            key[0] = '\0';
        fclose(f);
    } else {
        const char *env = getenv("SIMPKI_API_KEY");
        if (!env || !env[0]) {
            fprintf(stderr, "error: no API key: give --key-file FILE or set SIMPKI_API_KEY (an operator key; never "
                            "on the command line, where ps shows it)\n");
            return GW_ADMIN_USAGE;
        }
        snprintf(key, sizeof(key), "%s", env);
    }
    n = strcspn(key, "\r\n");
    while (n > 0 && (key[n - 1] == ' ' || key[n - 1] == '\t'))
        n--;
    key[n] = '\0';
    if (n == 0 || n > KEY_MAX) {
        fprintf(stderr, "error: the API key %s is %s\n", key_file ? "in --key-file" : "in SIMPKI_API_KEY",
                n ? "too long" : "empty");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)key[i] <= ' ' || key[i] == 0x7f) {
            fprintf(stderr, "error: the API key %s holds a space or a control character\n",
                    key_file ? "in --key-file" : "in SIMPKI_API_KEY");
            goto out;
        }
    }
    snprintf(a->auth, sizeof(a->auth), "Authorization: Bearer %s", key);
    ret = GW_ADMIN_OK;
out:
    OPENSSL_cleanse(key, sizeof(key));
    return ret;
}

/* One TLS file option into dst; a name too long to keep is a usage error. */
static int copy_opt(char *dst, size_t cap, const char *opt, const char *val)
{
    if (!val)
        return 0;
    if (strlen(val) >= cap) {
        fprintf(stderr, "error: %s: the path is too long\n", opt);
        return -1;
    }
    memcpy(dst, val, strlen(val) + 1);
    return 0;
}

enum gw_admin_exit gw_admin_api_open(const char *cfg_path, const char *api, const char *key_file,
                                     const struct gw_admin_api_tls *tls, struct gw_admin_api **out)
{
    struct gw_admin_api *a;
    struct hc_cfg hcfg;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    size_t n;

    *out = NULL;
    if (!api && !cfg_path) {
        fprintf(stderr, "error: where is the daemon? give --api URL, or -c CONFIG to use its listen address\n");
        return GW_ADMIN_USAGE;
    }
    a = calloc(1, sizeof(*a));
    if (!a) {
        fprintf(stderr, "error: out of memory\n");
        return GW_ADMIN_FAIL;
    }
    if (api) {
        if ((strncmp(api, "http://", 7) != 0 && strncmp(api, "https://", 8) != 0) || strlen(api) >= sizeof(a->url) ||
            strpbrk(api, " \t\r\n?#")) {
            fprintf(stderr, "error: --api wants an http:// or https:// URL without a query, not %s\n", api);
            ret = GW_ADMIN_USAGE;
            goto out;
        }
        snprintf(a->url, sizeof(a->url), "%s", api);
    } else {
        ret = url_from_cfg(cfg_path, a->url, sizeof(a->url));
        if (ret != GW_ADMIN_OK)
            goto out;
    }
    n = strlen(a->url);
    while (n > 0 && a->url[n - 1] == '/')
        a->url[--n] = '\0';
    if (tls && (copy_opt(a->cacert, sizeof a->cacert, "--cacert", tls->cacert) != 0 ||
                copy_opt(a->cert, sizeof a->cert, "--client-cert", tls->cert) != 0 ||
                copy_opt(a->key, sizeof a->key, "--client-key", tls->key) != 0)) {
        ret = GW_ADMIN_USAGE;
        goto out;
    }
    if (a->key[0] && !a->cert[0]) {
        fprintf(stderr, "error: --client-key needs --client-cert (the certificate it belongs to)\n");
        ret = GW_ADMIN_USAGE;
        goto out;
    }
    ret = read_key(a, key_file);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    a->base = event_base_new();
    hcfg = client_cfg(a, TIMEOUT_MS, 2);
    if (!a->base || hc_new(a->base, &hcfg, &a->hc) != HC_OK) {
        fprintf(stderr, "error: cannot set up an HTTP client%s\n",
                a->cacert[0] || a->cert[0] ? " (can --cacert, --client-cert and --client-key be read?)" : "");
        goto out;
    }
    *out = a;
    return GW_ADMIN_OK;
out:
    gw_admin_api_free(a);
    return ret;
}

static void on_answer(void *arg, const struct hc_answer *ans)
{
    struct pending *p = arg;
    struct gw_admin_reply *r = p->r;

    p->done = 1;
    if (ans->err != HC_OK) {
        snprintf(r->why, sizeof(r->why), "%s (%s)", hc_strerror(ans->err), ans->why);
        return;
    }
    r->body = malloc(ans->len + 1);
    if (!r->body) {
        snprintf(r->why, sizeof(r->why), "out of memory for a %zu-octet answer", ans->len);
        return;
    }
    if (ans->len)
        memcpy(r->body, ans->body, ans->len);
    r->body[ans->len] = '\0';
    r->len = ans->len;
    r->status = ans->status;
    r->json = json_loadb(r->body, r->len, 0, NULL);
}

int gw_admin_api_call(struct gw_admin_api *a, const char *path, const json_t *body, unsigned flags,
                      struct gw_admin_reply *r)
{
    /* "Expect:" switches curl's 100-continue off: a large upload goes at once. */
    const char *headers[] = {a->auth, "Accept: application/json, text/csv, text/html", "Expect:", NULL};
    struct hc_client *hc = a->hc;
    struct pending p = {.r = r};
    struct hc_req *req;
    char *url = NULL, *text = NULL;
    size_t ulen = strlen(a->url) + strlen(path) + 1;

    gw_admin_reply_clear(r);
    if (flags & GW_ADMIN_API_LONG) {
        struct hc_cfg hcfg = client_cfg(a, LONG_TIMEOUT_MS, 1);
        if (!a->hc_long && hc_new(a->base, &hcfg, &a->hc_long) != HC_OK) {
            snprintf(r->why, sizeof(r->why), "cannot set up an HTTP client");
            return -1;
        }
        hc = a->hc_long;
    }
    url = malloc(ulen);
    if (body)
        text = json_dumps(body, JSON_COMPACT);
    if (!url || (body && !text)) {
        snprintf(r->why, sizeof(r->why), "out of memory");
        goto out;
    }
    snprintf(url, ulen, "%s%s", a->url, path);
    req = hc_fetch(hc, url, body ? "application/json" : NULL, headers, (const uint8_t *)text, text ? strlen(text) : 0,
                   on_answer, &p);
    if (!req) {
        snprintf(r->why, sizeof(r->why), "the request could not be started (a malformed URL?)");
        goto out;
    }
    while (!p.done)
        event_base_loop(a->base, EVLOOP_ONCE);
out:
    free(url);
    free(text);
    return r->status ? 0 : -1;
}

enum gw_admin_exit gw_admin_api_fail(const struct gw_admin_api *a, const char *what, const struct gw_admin_reply *r)
{
    const char *code = gw_admin_reply_code(r), *m = json_string_value(json_object_get(r->json, "message"));
    const char *field = json_string_value(json_object_get(r->json, "field"));
    char *msg, *fld;

    if (r->status == 0) {
        fprintf(stderr, "error: %s: the daemon at %s cannot be reached: %s\n", what, a->url, r->why);
        return GW_ADMIN_FAIL;
    }
    if (r->status == 401) {
        fprintf(stderr,
                "error: %s: the daemon refused the API key (401): give an operator key with --key-file FILE or "
                "SIMPKI_API_KEY\n",
                what);
        return GW_ADMIN_FAIL;
    }
    /* A client certificate refusal (gw_tls.h) is said in the daemon's own words below. */
    if (r->status == 403 && !(m && strstr(m, "certificate"))) {
        fprintf(stderr, "error: %s: this API key lacks the operator role (403)\n", what);
        return GW_ADMIN_FAIL;
    }
    if (!code[0]) {
        fprintf(stderr, "error: %s: the daemon answered HTTP %ld%s\n", what, r->status,
                r->status == 404 ? " (not found: is --api the simpki daemon, and new enough to have plans?)" : "");
        return GW_ADMIN_FAIL;
    }
    /* The daemon's words come from the operator's own files at worst, but a terminal gets no control codes. */
    msg = gw_admin_text_safe(m ? m : "");
    fld = gw_admin_text_safe(field ? field : "");
    fprintf(stderr, "error: %s: %s (%ld %s%s%s)%s%s\n", what, r->status == 404 ? "not found" : "refused", r->status,
            code, fld && fld[0] ? ", field " : "", fld && fld[0] ? fld : "", msg && msg[0] ? ": " : "", msg ? msg : "");
    free(msg);
    free(fld);
    return GW_ADMIN_FAIL;
}

enum gw_admin_exit gw_admin_api_get_json(struct gw_admin_api *a, const char *path, const char *what, json_t **out)
{
    struct gw_admin_reply r = {0};
    enum gw_admin_exit ret = GW_ADMIN_FAIL;

    *out = NULL;
    if (gw_admin_api_call(a, path, NULL, 0, &r) != 0 || !gw_admin_reply_ok(&r)) {
        ret = gw_admin_api_fail(a, what, &r);
        goto out;
    }
    if (!json_is_object(r.json) && !json_is_array(r.json)) {
        fprintf(stderr, "error: %s: the daemon's answer is not JSON (HTTP %ld)\n", what, r.status);
        goto out;
    }
    *out = json_incref(r.json);
    ret = GW_ADMIN_OK;
out:
    gw_admin_reply_clear(&r);
    return ret;
}
