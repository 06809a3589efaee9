/*
 * cfg_rp.c - the relying parties ("api_keys"): their keys, roles, revocation
 * policy, ETSI AP credentials and callback settings.  The loader's shared
 * helpers (messages, secret files, hex) are cfg_priv.h's.
 */
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "cfg_priv.h"

#define CB_URL_MAX 512

/*
 * "hard" (default): a certificate whose status cannot be learnt fails the
 * signature; "soft": it passes with the reason recorded.  Per relying party,
 * because accepting that risk is the relying party's decision, not ours.
 */
static enum cfg_err load_revocation_policy(struct cfg_ctx *c, const char *where, json_t *v, struct cfg_apikey *k)
{
    const char *s = json_string_value(v);

    k->revocation_soft = 0;
    if (!v)
        return CFG_OK;
    if (s && strcmp(s, "hard") == 0)
        return CFG_OK;
    if (s && strcmp(s, "soft") == 0) {
        k->revocation_soft = 1;
        return CFG_OK;
    }
    return cfg_fail(c, where, "revocation", "must be \"hard\" or \"soft\"");
}

/*
 * "roles": an e-office system signs; only the provincial registration
 * officers' tools may read and move certificate requests, which carry ID
 * numbers.  Default: sign only, so an old configuration grants nothing new.
 */
static enum cfg_err load_roles(struct cfg_ctx *c, const char *where, json_t *v, struct cfg_apikey *k)
{
    size_t i;
    json_t *r;

    k->roles = CFG_ROLE_SIGN;
    if (!v)
        return CFG_OK;
    if (!json_is_array(v) || json_array_size(v) == 0)
        return cfg_fail(c, where, "roles",
                        "must be a non-empty array of \"sign\", \"enrol\", \"lookup\", \"operator\" and \"audit\"");
    k->roles = 0;
    json_array_foreach(v, i, r)
    {
        const char *s = json_string_value(r);
        if (s && strcmp(s, "sign") == 0)
            k->roles |= CFG_ROLE_SIGN;
        else if (s && strcmp(s, "enrol") == 0)
            k->roles |= CFG_ROLE_ENROL;
        else if (s && strcmp(s, "lookup") == 0)
            k->roles |= CFG_ROLE_LOOKUP;
        else if (s && strcmp(s, "operator") == 0)
            k->roles |= CFG_ROLE_OPERATOR;
        else if (s && strcmp(s, "audit") == 0)
            k->roles |= CFG_ROLE_AUDIT;
        else
            return cfg_fail(c, where, "roles", "\"%s\" is not a role (sign, enrol, lookup, operator, audit)",
                            s ? s : "(not a string)");
    }
    return CFG_OK;
}

/* A string member given inline or as "<name>_file" (first line); *out "" when neither.  Wiped by the caller. */
static enum cfg_err inline_or_file(struct cfg_ctx *c, const char *where, json_t *jk, const char *name, char *out,
                                   size_t cap, int *given)
{
    char fkey[64];
    json_t *v = json_object_get(jk, name), *fv;
    enum cfg_err rc;

    snprintf(fkey, sizeof fkey, "%s_file", name);
    fv = json_object_get(jk, fkey);
    out[0] = '\0';
    *given = v || fv;
    if (v && fv)
        return cfg_fail(c, where, name, "give either it or %s, not both", fkey);
    if (v) {
        if (!json_is_string(v) || json_string_length(v) >= cap)
            return cfg_fail(c, where, name, "must be a string of at most %zu octets", cap - 1);
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
        return CFG_OK;
    }
    if (!fv)
        return CFG_OK;
    if (!json_is_string(fv))
        return cfg_fail(c, where, fkey, "must be a path");
    rc = cfg_read_secret_file(json_string_value(fv), out, cap);
    if (rc == CFG_ERR_INVALID)
        return cfg_fail(c, where, fkey, "first line of %s is too long (at most %zu characters)", json_string_value(fv),
                        cap - 2);
    if (rc != CFG_OK)
        return cfg_fail(c, where, fkey, "cannot read %s", json_string_value(fv));
    return CFG_OK;
}

/*
 * "ap_id" + "ap_pwd_sha256" | "ap_pwd_file": how this relying party logs in
 * on the ETSI TS 102 204 endpoint.  Only the password's SHA-256 is kept.
 */
static enum cfg_err load_ap(struct cfg_ctx *c, const char *where, json_t *jk, struct cfg_apikey *k)
{
    json_t *id = json_object_get(jk, "ap_id");
    const char *hash = json_string_value(json_object_get(jk, "ap_pwd_sha256"));
    int has_hash = json_object_get(jk, "ap_pwd_sha256") != NULL, has_file = json_object_get(jk, "ap_pwd_file") != NULL;
    char pwd[256];
    unsigned int mdlen = 0;
    enum cfg_err rc;
    int given;

    if (!id) {
        if (has_hash || has_file)
            return cfg_fail(c, where, has_hash ? "ap_pwd_sha256" : "ap_pwd_file", "is only used with ap_id");
        return CFG_OK;
    }
    if (!json_is_string(id) || json_string_length(id) == 0 || json_string_length(id) >= sizeof k->ap_id)
        return cfg_fail(c, where, "ap_id", "must be 1-255 printable ASCII characters without spaces");
    for (const char *p = json_string_value(id); *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return cfg_fail(c, where, "ap_id", "must be 1-255 printable ASCII characters without spaces");
    memcpy(k->ap_id, json_string_value(id), json_string_length(id) + 1);
    if (has_hash && has_file)
        return cfg_fail(c, where, "ap_pwd_sha256", "give either ap_pwd_sha256 or ap_pwd_file, not both");
    if (has_hash) {
        if (!hash || cfg_parse_hex(hash, k->ap_pwd_sha256, 32) != 0)
            return cfg_fail(c, where, "ap_pwd_sha256", "must be 64 hex digits (sha256sum of the AP_PWD)");
    } else if (has_file) {
        /* The file holds the password itself: hash it now, keep only the hash. */
        rc = inline_or_file(c, where, jk, "ap_pwd", pwd, sizeof pwd, &given);
        if (rc == CFG_OK && !pwd[0])
            rc = cfg_fail(c, where, "ap_pwd_file", "the first line is empty");
        if (rc == CFG_OK)
            EVP_Digest(pwd, strlen(pwd), k->ap_pwd_sha256, &mdlen, EVP_sha256(), NULL);
        OPENSSL_cleanse(pwd, sizeof pwd);
        if (rc != CFG_OK)
            return rc;
    } else {
        return cfg_fail(c, where, "ap_pwd_sha256", "is required with ap_id (or ap_pwd_file)");
    }
    k->has_ap = 1;
    return CFG_OK;
}

/* A prefix the callback URLs may start with: a scheme, a host, then "/", so it pins the host. */
static int allow_prefix_ok(const char *p)
{
    size_t skip = strncmp(p, "https://", 8) == 0 ? 8 : strncmp(p, "http://", 7) == 0 ? 7 : 0;
    const char *slash;

    if (!skip)
        return 0;
    for (const char *q = p; *q; q++)
        if (*q <= 0x20 || *q >= 0x7f || *q == '\\')
            return 0;
    slash = strchr(p + skip, '/');
    /* "https://a.vn" would also match "https://a.vn.evil.com/"; userinfo ("@") would hide the host. */
    return slash && slash > p + skip && memchr(p + skip, '@', (size_t)(slash - (p + skip))) == NULL;
}

/* "callback_secret" (or _file), "callback_allow", "callback_http". */
static enum cfg_err load_callback(struct cfg_ctx *c, const char *where, json_t *jk, struct cfg_apikey *k)
{
    char secret[sizeof k->cb_secret + 2];
    json_t *allow = json_object_get(jk, "callback_allow"), *http = json_object_get(jk, "callback_http"), *v;
    enum cfg_err rc;
    size_t i;
    int given;

    rc = inline_or_file(c, where, jk, "callback_secret", secret, sizeof secret, &given);
    if (rc == CFG_OK && given && (strlen(secret) < 16 || strlen(secret) > sizeof k->cb_secret))
        rc = cfg_fail(c, where, "callback_secret", "must be 16..%zu octets", sizeof k->cb_secret);
    if (rc == CFG_OK && given) {
        k->cb_secret_len = strlen(secret);
        memcpy(k->cb_secret, secret, k->cb_secret_len);
    }
    OPENSSL_cleanse(secret, sizeof secret);
    if (rc != CFG_OK)
        return rc;
    if (http && !json_is_boolean(http))
        return cfg_fail(c, where, "callback_http", "must be true or false");
    k->cb_http = json_is_true(http);
    if (!allow)
        return CFG_OK;
    if (!json_is_array(allow) || json_array_size(allow) == 0 || json_array_size(allow) > CFG_CB_ALLOW_MAX)
        return cfg_fail(c, where, "callback_allow", "must be an array of 1..%d URL prefixes", CFG_CB_ALLOW_MAX);
    if (!k->cb_secret_len)
        return cfg_fail(c, where, "callback_secret", "is needed with callback_allow (the callbacks' HMAC key)");
    k->cb_allow = calloc(json_array_size(allow), sizeof *k->cb_allow);
    if (!k->cb_allow)
        return CFG_ERR_NOMEM;
    json_array_foreach(allow, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strlen(s) >= sizeof *k->cb_allow || !allow_prefix_ok(s))
            return cfg_fail(c, where, "callback_allow",
                            "[%zu] must be an http:// or https:// URL prefix with a host and a \"/\" after it, "
                            "under 256 characters",
                            i);
        if (strncmp(s, "http://", 7) == 0 && !k->cb_http)
            return cfg_fail(c, where, "callback_allow", "[%zu] is http://: set callback_http to allow it", i);
        memcpy(k->cb_allow[i], s, strlen(s) + 1);
        k->n_cb_allow = i + 1;
    }
    return CFG_OK;
}

/* "max_in_flight", "rate_per_s": overload control (gateway/api/gw_admit.h); absent = 0. */
static enum cfg_err load_limits(struct cfg_ctx *c, const char *where, json_t *jk, struct cfg_apikey *k)
{
    static const struct {
        const char *name;
        size_t off;
        json_int_t min, max;
    } rows[] = {{"max_in_flight", offsetof(struct cfg_apikey, max_in_flight), 1, 10000000},
                {"rate_per_s", offsetof(struct cfg_apikey, rate_per_s), 0, 1000000}};

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *v = json_object_get(jk, rows[i].name);
        json_int_t n = v ? json_integer_value(v) : 0;
        if (v && (!json_is_integer(v) || n < rows[i].min || n > rows[i].max))
            return cfg_fail(c, where, rows[i].name, "must be a whole number %lld..%lld", (long long)rows[i].min,
                            (long long)rows[i].max);
        *(unsigned *)(void *)((char *)k + rows[i].off) = (unsigned)n;
    }
    return CFG_OK;
}

static int known_member(const char *key)
{
    static const char *const names[] = {"name",
                                        "sha256",
                                        "key_file",
                                        "revocation",
                                        "roles",
                                        "ap_id",
                                        "ap_pwd_sha256",
                                        "ap_pwd_file",
                                        "callback_secret",
                                        "callback_secret_file",
                                        "callback_allow",
                                        "callback_http",
                                        "client_cert_sha256",
                                        "max_in_flight",
                                        "rate_per_s",
                                        NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, key) == 0)
            return 1;
    return 0;
}

enum cfg_err cfg_load_apikeys(struct cfg_ctx *c, json_t *arr, struct cfg *cfg)
{
    size_t i;
    json_t *jk;

    if (!arr)
        return CFG_OK;
    if (!json_is_array(arr))
        return cfg_fail(c, "", "api_keys", "must be an array");
    cfg->apikeys = calloc(json_array_size(arr) + 1, sizeof(*cfg->apikeys));
    if (!cfg->apikeys)
        return CFG_ERR_NOMEM;
    json_array_foreach(arr, i, jk)
    {
        struct cfg_apikey *k = &cfg->apikeys[i];
        char where[32], token[256];
        const char *name = json_string_value(json_object_get(jk, "name"));
        const char *hash = json_string_value(json_object_get(jk, "sha256"));
        const char *file = json_string_value(json_object_get(jk, "key_file"));
        unsigned int mdlen = 0;
        const char *key;
        json_t *v;
        enum cfg_err rc;

        /* Counted now, so that cfg_free frees what this entry allocates if it fails half way. */
        cfg->n_apikeys = i + 1;
        snprintf(where, sizeof(where), "api_keys[%zu]", i);
        if (!json_is_object(jk))
            return cfg_fail(c, where, "", "must be an object");
        json_object_foreach(jk, key, v)
        {
            if (!known_member(key))
                return cfg_fail(c, where, key, "unknown setting (see simpkid --help-config)");
        }
        if (!name || !*name || strlen(name) >= sizeof(k->name) ||
            strspn(name, "abcdefghijklmnopqrstuvwxyz"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-_.") != strlen(name))
            return cfg_fail(c, where, "name", "must be 1-63 characters of letters, digits, - _ .");
        memcpy(k->name, name, strlen(name) + 1);
        k->rp = cfg_rp_intern(cfg, k->name);
        if (!k->rp)
            return CFG_ERR_NOMEM;
        if ((rc = load_revocation_policy(c, where, json_object_get(jk, "revocation"), k)) != CFG_OK)
            return rc;
        if ((rc = load_roles(c, where, json_object_get(jk, "roles"), k)) != CFG_OK)
            return rc;
        if (hash && file)
            return cfg_fail(c, where, "sha256", "give either sha256 or key_file, not both");
        if (hash) {
            if (cfg_parse_hex(hash, k->sha256, 32) != 0)
                return cfg_fail(c, where, "sha256", "must be 64 hex digits (sha256sum of the key)");
        } else if (file) {
            /* A file holding the token itself: hash it now, keep only the hash. */
            rc = cfg_read_secret_file(file, token, sizeof(token));
            if (rc == CFG_ERR_INVALID)
                return cfg_fail(c, where, "key_file", "first line of %s is too long (at most %zu characters)", file,
                                sizeof(token) - 1);
            if (rc != CFG_OK || !token[0])
                return cfg_fail(c, where, "key_file", "cannot read %s", file);
            EVP_Digest(token, strlen(token), k->sha256, &mdlen, EVP_sha256(), NULL);
            OPENSSL_cleanse(token, sizeof(token));
        } else {
            return cfg_fail(c, where, "sha256", "is required (or key_file)");
        }
        if ((rc = load_ap(c, where, jk, k)) != CFG_OK || (rc = load_callback(c, where, jk, k)) != CFG_OK ||
            (rc = load_limits(c, where, jk, k)) != CFG_OK)
            return rc;
        if ((rc = cfg_load_client_certs(c, where, json_object_get(jk, "client_cert_sha256"), k)) != CFG_OK)
            return rc;
        /* Two keys with one name or one hash would make the relying party ambiguous; so would one AP_ID. */
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->apikeys[j].name, k->name) == 0)
                return cfg_fail(c, where, "name", "\"%s\" is used by api_keys[%zu] too", k->name, j);
            if (CRYPTO_memcmp(cfg->apikeys[j].sha256, k->sha256, 32) == 0)
                return cfg_fail(c, where, "sha256", "the same key as api_keys[%zu]", j);
            if (k->has_ap && cfg->apikeys[j].has_ap && strcmp(cfg->apikeys[j].ap_id, k->ap_id) == 0)
                return cfg_fail(c, where, "ap_id", "\"%s\" is used by api_keys[%zu] too", k->ap_id, j);
        }
    }
    return CFG_OK;
}

void cfg_free_apikeys(struct cfg *cfg)
{
    if (!cfg->apikeys)
        return;
    for (size_t i = 0; i < cfg->n_apikeys; i++)
        free(cfg->apikeys[i].cb_allow);
    OPENSSL_cleanse(cfg->apikeys, cfg->n_apikeys * sizeof *cfg->apikeys);
    free(cfg->apikeys);
    cfg->apikeys = NULL;
}

/*
 * "api_keys" inline, or "api_keys_file": a JSON file holding the array alone,
 * so that an operator rotates keys in a file of their own (and SIGHUP reloads
 * it).  Errors inside that file name it: "keys.json: api_keys[1].sha256: ...".
 */
enum cfg_err cfg_load_apikeys_from(struct cfg_ctx *c, json_t *root, struct cfg *cfg)
{
    json_t *inline_keys = json_object_get(root, "api_keys"), *file = json_object_get(root, "api_keys_file"), *arr;
    struct cfg_ctx fc;
    json_error_t jerr;
    enum cfg_err rc;

    if (!file)
        return cfg_load_apikeys(c, inline_keys, cfg);
    if (inline_keys)
        return cfg_fail(c, "", "api_keys_file", "give either api_keys or api_keys_file, not both");
    if (!json_is_string(file) || json_string_length(file) == 0)
        return cfg_fail(c, "", "api_keys_file", "must be a path");
    fc = (struct cfg_ctx){json_string_value(file), c->err, c->errlen};
    arr = json_load_file(fc.file, JSON_REJECT_DUPLICATES, &jerr);
    if (!arr && json_error_code(&jerr) == json_error_cannot_open_file)
        return cfg_fail(c, "", "api_keys_file", "cannot open %s", fc.file);
    if (!arr) {
        snprintf(c->err, c->errlen, "%s:%d:%d: %s", fc.file, jerr.line, jerr.column, jerr.text);
        return CFG_ERR_SYNTAX;
    }
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        rc = cfg_fail(&fc, "", "", "must be a non-empty JSON array of relying parties (the api_keys array)");
    else
        rc = cfg_load_apikeys(&fc, arr, cfg);
    json_decref(arr);
    return rc;
}

const struct cfg_apikey *cfg_apikey_by_name(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_apikeys; i++)
        if (strcmp(cfg->apikeys[i].name, name) == 0)
            return &cfg->apikeys[i];
    return NULL;
}

const struct cfg_apikey *cfg_apikey_by_ap_id(const struct cfg *cfg, const char *ap_id)
{
    if (!ap_id || !*ap_id)
        return NULL;
    for (size_t i = 0; i < cfg->n_apikeys; i++)
        if (cfg->apikeys[i].has_ap && strcmp(cfg->apikeys[i].ap_id, ap_id) == 0)
            return &cfg->apikeys[i];
    return NULL;
}

int cfg_ap_pwd_ok(const struct cfg_apikey *k, const char *pwd)
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    int ok;

    if (!k || !k->has_ap || !pwd || !EVP_Digest(pwd, strlen(pwd), md, &mdlen, EVP_sha256(), NULL))
        return 0;
    ok = CRYPTO_memcmp(md, k->ap_pwd_sha256, sizeof md) == 0;
    OPENSSL_cleanse(md, sizeof md);
    return ok;
}

const char *cfg_callback_check(const struct cfg_apikey *k, const char *url)
{
    size_t n = url ? strlen(url) : 0;

    if (!k || !k->n_cb_allow || !k->cb_secret_len)
        return "this relying party has no callback_allow";
    if (n == 0 || n > CB_URL_MAX)
        return n ? "callback_url is too long" : "callback_url is empty";
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\')
            return "callback_url holds a space, a backslash or a control character";
    if (strncmp(url, "https://", 8) != 0 && !(k->cb_http && strncmp(url, "http://", 7) == 0))
        return "callback_url must be https://";
    for (size_t i = 0; i < k->n_cb_allow; i++)
        if (strncmp(url, k->cb_allow[i], strlen(k->cb_allow[i])) == 0)
            return NULL;
    return "callback_url is not on this relying party's callback_allow list";
}

void cfg_print_apikeys(FILE *f)
{
    fprintf(f, "\n[api_keys[]] (relying parties; or top level \"api_keys_file\": a JSON file holding this array,\n"
               "  re-read with the rest on SIGHUP)\n"
               "  name                     string, required\n"
               "      the relying party; it sees only its own transactions\n"
               "  sha256                   64 hex digits\n"
               "      SHA-256 of the bearer token (printf %%s TOKEN | sha256sum)\n"
               "  key_file                 path\n"
               "      a file holding the token; only its hash is kept in memory\n"
               "  revocation               \"hard\" | \"soft\"   (default: hard)\n"
               "      hard: an unknown certificate status fails the signature (REVOCATION_UNKNOWN);\n"
               "      soft: it is accepted and the reason is given in the transaction's message\n"
               "  roles                    [\"sign\", \"enrol\", \"lookup\", \"operator\", \"audit\"]\n"
               "                           (default: [\"sign\"])\n"
               "      sign: request signatures (sees only its own); enrol: read and move every\n"
               "      certificate request (/v1/requests), which hold personal data; lookup: read\n"
               "      registered certificates (GET /v1/subscribers/{msisdn}/certificate, ETSI\n"
               "      MSS_Registration / MSS_ProfileQuery); operator: merger review plans\n"
               "      (/v1/plans: build, review, approve and run the bulk review of whole units);\n"
               "      audit: the evidence bundle of any relying party's signature\n"
               "      (GET /v1/signatures/{id}/evidence; an audit-only key cannot sign)\n"
               "  ap_id                    string, 1-255 printable ASCII, no space\n"
               "      the ETSI TS 102 204 AP_ID this relying party uses on the SOAP endpoint;\n"
               "      unique across relying parties; needs ap_pwd_sha256 or ap_pwd_file\n"
               "  ap_pwd_sha256            64 hex digits\n"
               "      SHA-256 of its AP_PWD (printf %%s PWD | sha256sum); only with ap_id\n"
               "  ap_pwd_file              path\n"
               "      a file whose first line is the AP_PWD; only its hash is kept; only with ap_id\n"
               "  callback_secret          string, 16..64 octets (secret: may be given as callback_secret_file)\n"
               "      HMAC-SHA256 key of the callbacks (X-Simpki-Signature, docs/callbacks.md);\n"
               "      required with callback_allow\n"
               "  callback_allow           array of at most 16 URL prefixes, each under 256 characters\n"
               "      a request's callback_url must start with one of them; each is http:// or https://,\n"
               "      a host and a \"/\" (so \"https://a.vn/\" cannot match https://a.vn.evil.com/);\n"
               "      without it callback_url is refused\n"
               "  callback_http            boolean, default false\n"
               "      allow http:// callback URLs (tests, closed networks); otherwise https:// only\n"
               "  client_cert_sha256       array of at most 16 SHA-256 fingerprints, 64 hex digits (colons allowed)\n"
               "      over TLS this relying party must present a client certificate verified against\n"
               "      tls.client_ca_file whose fingerprint is listed (openssl x509 -noout -fingerprint\n"
               "      -sha256 -in CERT); else 403 FORBIDDEN (SOAP: fault 104). Needs tls.client_ca_file\n"

               "  max_in_flight            integer 1..10000000   (default: limits.max_in_flight_per_rp)\n"
               "      its signature requests one instance accepted and that are not finished, at most;\n"
               "      beyond, 429 RATE_LIMITED with Retry-After\n"
               "  rate_per_s               integer 0..1000000   (default 0: unlimited)\n"
               "      its signature requests accepted per second by all instances together (counted in\n"
               "      Redis); beyond, 429 RATE_LIMITED with Retry-After; Redis away: 503 UNAVAILABLE\n");
}
