/*
 * cfg_tls.c - the "tls" section's files and the relying parties' client
 * certificate fingerprints (api_keys[].client_cert_sha256).
 *
 * The files are read here, at load, so that a certificate and key that do
 * not belong together, or a file that is not PEM, are refused by
 * `simpkid --check-config` and by a reload with the reason, not found at the
 * first handshake.  gateway/api/gw_tls.c builds the SSL_CTX from the same
 * files afterwards.
 */
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "cfg_priv.h"

/* OpenSSL's last reason, for a message ("no start line"); "" when it has none. */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "not PEM";
}

/* The first certificate of a PEM file; NULL with the problem in c->err. */
static X509 *read_cert(struct cfg_ctx *c, const char *name, const char *path, enum cfg_err *rc)
{
    FILE *f = fopen(path, "r");
    X509 *x;

    if (!f) {
        *rc = cfg_fail(c, "tls", name, "cannot read %s", path);
        return NULL;
    }
    ERR_clear_error();
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        *rc = cfg_fail(c, "tls", name, "%s holds no PEM certificate (%s)", path, ossl_reason());
    ERR_clear_error();
    return x;
}

/* Every certificate of client_ca_file must parse, and there must be one. */
static enum cfg_err check_ca_file(struct cfg_ctx *c, const char *path)
{
    FILE *f = fopen(path, "r");
    STACK_OF(X509_INFO) * infos;
    int n = 0;

    if (!f)
        return cfg_fail(c, "tls", "client_ca_file", "cannot read %s", path);
    ERR_clear_error();
    infos = PEM_X509_INFO_read(f, NULL, NULL, NULL);
    fclose(f);
    for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++)
        n += sk_X509_INFO_value(infos, i)->x509 != NULL;
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    if (!infos || n == 0) {
        enum cfg_err rc = cfg_fail(c, "tls", "client_ca_file", "%s holds no PEM certificate (%s)", path,
                                   infos ? "none found" : ossl_reason());
        ERR_clear_error();
        return rc;
    }
    return CFG_OK;
}

enum cfg_err cfg_tls_check(struct cfg_ctx *c, struct cfg *cfg)
{
    const struct cfg_tls *t = &cfg->tls;
    enum cfg_err rc = CFG_OK;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    FILE *f;

    /* A fingerprint rule needs verified client certificates, hence TLS and the CAs to verify them against. */
    for (size_t i = 0; i < cfg->n_apikeys; i++) {
        char where[32];
        if (!cfg->apikeys[i].n_client_cert || t->client_ca_file[0])
            continue;
        snprintf(where, sizeof where, "api_keys[%zu]", i);
        return cfg_fail(c, where, "client_cert_sha256",
                        t->enabled ? "needs tls.client_ca_file (the CAs client certificates are verified against)"
                                   : "needs a \"tls\" section with client_ca_file (client certificates come over TLS)");
    }
    if (!t->enabled)
        return CFG_OK;
    cert = read_cert(c, "cert_file", t->cert_file, &rc);
    if (!cert)
        goto out;
    f = fopen(t->key_file, "r");
    if (!f) {
        rc = cfg_fail(c, "tls", "key_file", "cannot read %s", t->key_file);
        goto out;
    }
    ERR_clear_error();
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key) {
        rc = cfg_fail(c, "tls", "key_file", "%s holds no unencrypted PEM private key (%s)", t->key_file, ossl_reason());
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        rc = cfg_fail(c, "tls", "key_file", "%s is not the key of the certificate in %s", t->key_file, t->cert_file);
        goto out;
    }
    if (t->client_ca_file[0])
        rc = check_ca_file(c, t->client_ca_file);
out:
    ERR_clear_error();
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}

/* "AB:CD:..." (openssl x509 -fingerprint) or "abcd..." into 32 octets; -1 when it is neither. */
static int parse_fingerprint(const char *s, uint8_t out[32])
{
    char hex[65];
    size_t n = 0;

    if (strlen(s) == 95) { /* 32 pairs and 31 colons */
        for (size_t i = 0; i < 95; i++) {
            if (i % 3 == 2) {
                if (s[i] != ':')
                    return -1;
            } else {
                hex[n++] = s[i];
            }
        }
        hex[n] = '\0';
        s = hex;
    }
    return cfg_parse_hex(s, out, 32);
}

enum cfg_err cfg_load_client_certs(struct cfg_ctx *c, const char *where, json_t *v, struct cfg_apikey *k)
{
    size_t i;
    json_t *e;

    k->n_client_cert = 0;
    if (!v)
        return CFG_OK;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > CFG_CLIENT_CERT_MAX)
        return cfg_fail(c, where, "client_cert_sha256", "must be an array of 1..%d SHA-256 fingerprints",
                        CFG_CLIENT_CERT_MAX);
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        if (!s || parse_fingerprint(s, k->client_cert_sha256[i]) != 0)
            return cfg_fail(c, where, "client_cert_sha256",
                            "[%zu] must be 64 hex digits, the SHA-256 of the DER certificate "
                            "(openssl x509 -noout -fingerprint -sha256 -in CERT)",
                            i);
        k->n_client_cert = i + 1;
    }
    return CFG_OK;
}
