/*
 * sig_bind.c - the validated chain as DER, and the certificate-to-number
 * binding (registered certificate, serial and key pinning).
 */
#include "sig_priv.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

enum sig_err sig_chain_der(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at, uint8_t **out,
                           size_t *out_len, size_t *n, char *why, size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL;
    STACK_OF(X509) *chain = NULL;
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;

    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    if (out == NULL || out_len == NULL || n == NULL) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    rc = sig_parse_cert(cert, cert_len, &x, why, whylen);
    if (rc != SIG_OK)
        goto out;
    rc = sig_check_path(t, x, at, &chain, why, whylen);
    if (rc != SIG_OK)
        goto out;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        int l = i2d_X509(sk_X509_value(chain, i), NULL);

        if (l <= 0) {
            rc = SIG_ERR_MALFORMED;
            goto out;
        }
        len += 4 + (size_t)l;
    }
    buf = malloc(len);
    if (buf == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    for (int i = 0; i < sk_X509_num(chain); i++) {
        unsigned char *p = buf + off + 4;
        int l = i2d_X509(sk_X509_value(chain, i), &p);

        buf[off] = (uint8_t)((unsigned)l >> 24);
        buf[off + 1] = (uint8_t)((unsigned)l >> 16);
        buf[off + 2] = (uint8_t)((unsigned)l >> 8);
        buf[off + 3] = (uint8_t)l;
        off += 4 + (size_t)l;
    }
    *out = buf;
    *out_len = len;
    *n = (size_t)sk_X509_num(chain);
    buf = NULL;
out:
    free(buf);
    sk_X509_pop_free(chain, X509_free);
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

static enum sig_err pin_of_x509(X509 *x, struct sig_pin *out)
{
    enum sig_err rc = SIG_OK;
    BIGNUM *bn = NULL;
    char *hex = NULL;
    unsigned char *spki = NULL;
    int spki_len;

    memset(out, 0, sizeof *out);
    bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    hex = bn != NULL ? BN_bn2hex(bn) : NULL;
    if (hex == NULL) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
    if (strlen(hex) >= sizeof out->serial_hex) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    memcpy(out->serial_hex, hex, strlen(hex) + 1);
    spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    if (spki_len <= 0) {
        rc = SIG_ERR_MALFORMED;
        goto out;
    }
    if (!EVP_Digest(spki, (size_t)spki_len, out->spki_sha256, NULL, EVP_sha256(), NULL)) {
        rc = SIG_ERR_NOMEM;
        goto out;
    }
out:
    OPENSSL_free(spki);
    OPENSSL_free(hex);
    BN_free(bn);
    return rc;
}

enum sig_err sig_pin_of(const uint8_t *cert, size_t cert_len, struct sig_pin *out)
{
    enum sig_err rc;
    X509 *x = NULL;

    if (out == NULL)
        return SIG_ERR_MALFORMED;
    ERR_set_mark();
    rc = sig_parse_cert(cert, cert_len, &x, NULL, 0);
    if (rc == SIG_OK)
        rc = pin_of_x509(x, out);
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_cert_admit(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, time_t at,
                            struct sig_pin *pin, char *why, size_t whylen)
{
    enum sig_err rc = sig_check_cert(t, cert, cert_len, at, why, whylen);

    if (rc != SIG_OK)
        return rc;
    rc = sig_pin_of(cert, cert_len, pin);
    if (rc != SIG_OK)
        sig_set_why(why, whylen, "%s", "cannot compute the certificate's pin");
    return rc;
}

enum sig_err sig_binding_check(const uint8_t *registered, size_t registered_len, const uint8_t *used, size_t used_len,
                               const struct sig_pin *pin, int repin_allowed, char *why, size_t whylen)
{
    enum sig_err rc;
    struct sig_pin now;

    sig_set_why(why, whylen, "%s", "");
    if (registered == NULL || registered_len == 0) {
        sig_set_why(why, whylen, "binding: no certificate registered for the number");
        return SIG_ERR_CERT_MISMATCH;
    }
    if (used == NULL || used_len != registered_len || CRYPTO_memcmp(used, registered, used_len) != 0) {
        sig_set_why(why, whylen, "binding: certificate differs from the one registered for the number");
        return SIG_ERR_CERT_MISMATCH;
    }
    if (pin == NULL)
        return SIG_OK; /* first use: the caller pins it */
    rc = sig_pin_of(used, used_len, &now);
    if (rc != SIG_OK) {
        sig_set_why(why, whylen, "binding: certificate does not parse");
        return rc;
    }
    if (strcmp(now.serial_hex, pin->serial_hex) == 0 &&
        CRYPTO_memcmp(now.spki_sha256, pin->spki_sha256, sizeof now.spki_sha256) == 0)
        return SIG_OK;
    if (repin_allowed)
        return SIG_OK;
    sig_set_why(why, whylen,
                "binding: %s differs from the pinned one and the registry has not approved a new certificate",
                strcmp(now.serial_hex, pin->serial_hex) != 0 ? "serial" : "public key");
    return SIG_ERR_CERT_MISMATCH;
}
