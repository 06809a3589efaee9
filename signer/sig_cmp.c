/*
 * sig_cmp.c - CMP client for the CA, on OpenSSL's OSSL_CMP_CTX.
 *
 * One OSSL_CMP_CTX per call: a context holds one transaction's state
 * (nonces, transactionID, status), and a fresh one per call keeps the
 * connector read-only and shareable between worker threads.
 *
 * Errors: OpenSSL's CMP client prints and empties the thread's error queue
 * itself before each transfer (through our log callback), so the queue cannot
 * be bracketed with marks as sig.c does.  Each call starts from an empty
 * queue, and on failure reads the whole queue to pick the error class, then
 * leaves it empty.
 */
#include "sig_cmp.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/cmp.h>
#include <openssl/cmp_util.h>
#include <openssl/crmf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/http.h>
#include <openssl/httperr.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log.h"
#include "sig.h"

#define CMP_MAX_SECRET  1024
#define CMP_MAX_TIMEOUT 600
#define CMP_MAX_DER     65536

struct sig_cmp {
    char *server;
    int port;
    char *path;
    int timeout_s;
    char *pbm_ref;       /* NULL with RA protection */
    uint8_t *pbm_secret; /* wiped on free */
    size_t pbm_secret_len;
    X509 *ra_cert;
    EVP_PKEY *ra_key;
    STACK_OF(X509) * ra_chain;
    X509 *srv_cert;                /* pinned CMP signer of the CA, may be NULL */
    X509_STORE *srv_store;         /* or anchors for it, may be NULL */
    const struct sig_trust *trust; /* borrowed: issued certificates are checked against it */
};

/* What one certificate request carries into the certConf callback. */
struct cmp_op {
    const struct sig_cmp *c;
    EVP_PKEY *want_key;  /* the request's public key */
    int checked;         /* the callback ran */
    enum sig_cmp_err rc; /* its verdict */
    char why[256];
};

const char *sig_cmp_strerror(enum sig_cmp_err err)
{
    switch (err) {
    case SIG_CMP_OK: return "success";
    case SIG_CMP_ERR_CONFIG: return "invalid CMP configuration or argument";
    case SIG_CMP_ERR_CONNECT: return "cannot reach the CA";
    case SIG_CMP_ERR_TIMEOUT: return "the CA did not answer in time";
    case SIG_CMP_ERR_PROTECTION: return "CA answer not protected as configured";
    case SIG_CMP_ERR_REJECTED: return "the CA refused the request";
    case SIG_CMP_ERR_WRONG_KEY: return "issued certificate is for another public key";
    case SIG_CMP_ERR_UNTRUSTED: return "issued certificate fails the certificate checks";
    case SIG_CMP_ERR_MALFORMED: return "malformed request or certificate";
    case SIG_CMP_ERR_PROTOCOL: return "CMP protocol error";
    case SIG_CMP_ERR_NOMEM: return "out of memory";
    case SIG_CMP_ERR_ALREADY_REVOKED: return "the CA has revoked the certificate already";
    }
    return "unknown error";
}

int sig_cmp_err_is_temporary(enum sig_cmp_err err)
{
    return err == SIG_CMP_ERR_CONNECT || err == SIG_CMP_ERR_TIMEOUT;
}

static const struct {
    enum sig_cmp_reason r;
    const char *name;
} reasons[] = {
    {SIG_CMP_REASON_UNSPECIFIED, "unspecified"},
    {SIG_CMP_REASON_KEY_COMPROMISE, "keyCompromise"},
    {SIG_CMP_REASON_AFFILIATION_CHANGED, "affiliationChanged"},
    {SIG_CMP_REASON_SUPERSEDED, "superseded"},
    {SIG_CMP_REASON_CESSATION_OF_OPERATION, "cessationOfOperation"},
    {SIG_CMP_REASON_CERTIFICATE_HOLD, "certificateHold"},
    {SIG_CMP_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
};

const char *sig_cmp_reason_name(enum sig_cmp_reason r)
{
    size_t i;

    for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].r == r)
            return reasons[i].name;
    return NULL;
}

int sig_cmp_reason_parse(const char *name)
{
    size_t i;

    for (i = 0; name != NULL && i < sizeof reasons / sizeof reasons[0]; i++)
        if (strcmp(reasons[i].name, name) == 0)
            return (int)reasons[i].r;
    return -1;
}

static void set_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* ---- configuration ----------------------------------------------------- */

/* Never prompt on a terminal for an encrypted key: a daemon has none. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static int load_certs(const char *path, STACK_OF(X509) * *out)
{
    BIO *bio = BIO_new_file(path, "r");
    STACK_OF(X509) *certs = sk_X509_new_null();
    X509 *x;
    int ok = 0;

    if (bio == NULL || certs == NULL)
        goto out;
    while ((x = PEM_read_bio_X509(bio, NULL, no_password, NULL)) != NULL) {
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            goto out;
        }
    }
    ok = sk_X509_num(certs) > 0;
out:
    BIO_free(bio);
    if (!ok) {
        sk_X509_pop_free(certs, X509_free);
        return 0;
    }
    *out = certs;
    return 1;
}

/* The first certificate of a PEM file. */
static int load_cert(const char *path, X509 **out)
{
    STACK_OF(X509) *certs = NULL;

    if (!load_certs(path, &certs))
        return 0;
    *out = sk_X509_shift(certs);
    sk_X509_pop_free(certs, X509_free);
    return 1;
}

static int load_key(const char *path, EVP_PKEY **out)
{
    BIO *bio = BIO_new_file(path, "r");

    *out = bio == NULL ? NULL : PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    return *out != NULL;
}

static int load_store(const char *path, X509_STORE **out)
{
    STACK_OF(X509) *certs = NULL;
    X509_STORE *st = NULL;
    int i;
    int ok = 0;

    if (!load_certs(path, &certs) || (st = X509_STORE_new()) == NULL)
        goto out;
    for (i = 0; i < sk_X509_num(certs); i++)
        if (!X509_STORE_add_cert(st, sk_X509_value(certs, i)))
            goto out;
    *out = st;
    st = NULL;
    ok = 1;
out:
    X509_STORE_free(st);
    sk_X509_pop_free(certs, X509_free);
    return ok;
}

static int given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Everything that can be checked without the files. */
static enum sig_cmp_err check_config(const struct sig_cmp_config *cfg, char *why, size_t whylen)
{
    int pbm = given(cfg->pbm_ref) || cfg->pbm_secret != NULL;
    int ra = given(cfg->ra_cert_pem) || given(cfg->ra_key_pem);

    if (!given(cfg->server)) {
        set_why(why, whylen, "cmp.server: missing");
        return SIG_CMP_ERR_CONFIG;
    }
    if (cfg->port < 1 || cfg->port > 65535) {
        set_why(why, whylen, "cmp.port: out of range 1..65535");
        return SIG_CMP_ERR_CONFIG;
    }
    if (cfg->timeout_s < 1 || cfg->timeout_s > CMP_MAX_TIMEOUT) {
        set_why(why, whylen, "cmp.timeout_s: out of range 1..%d", CMP_MAX_TIMEOUT);
        return SIG_CMP_ERR_CONFIG;
    }
    if (pbm == ra) {
        set_why(why, whylen,
                "cmp: configure exactly one protection, PBM (pbm_ref + pbm_secret) or RA (ra_cert + ra_key)");
        return SIG_CMP_ERR_CONFIG;
    }
    if (pbm && (!given(cfg->pbm_ref) || cfg->pbm_secret == NULL || cfg->pbm_secret_len == 0 ||
                cfg->pbm_secret_len > CMP_MAX_SECRET)) {
        set_why(why, whylen, "cmp: PBM needs pbm_ref and a secret of 1..%d octets", CMP_MAX_SECRET);
        return SIG_CMP_ERR_CONFIG;
    }
    if (ra && (!given(cfg->ra_cert_pem) || !given(cfg->ra_key_pem))) {
        set_why(why, whylen, "cmp: RA protection needs both ra_cert and ra_key");
        return SIG_CMP_ERR_CONFIG;
    }
    if (ra && !given(cfg->srv_cert_pem) && !given(cfg->srv_trust_pem)) {
        set_why(why, whylen, "cmp: with RA protection, srv_cert or srv_trust is needed to check the CA's answers");
        return SIG_CMP_ERR_CONFIG;
    }
    return SIG_CMP_OK;
}

static enum sig_cmp_err load_files(struct sig_cmp *c, const struct sig_cmp_config *cfg, char *why, size_t whylen)
{
    if (given(cfg->ra_cert_pem) && !load_cert(cfg->ra_cert_pem, &c->ra_cert)) {
        set_why(why, whylen, "cmp.ra_cert: cannot read a PEM certificate from %s", cfg->ra_cert_pem);
        return SIG_CMP_ERR_CONFIG;
    }
    if (given(cfg->ra_key_pem) && !load_key(cfg->ra_key_pem, &c->ra_key)) {
        set_why(why, whylen, "cmp.ra_key: cannot read an unencrypted PEM private key from %s", cfg->ra_key_pem);
        return SIG_CMP_ERR_CONFIG;
    }
    if (c->ra_cert != NULL && X509_check_private_key(c->ra_cert, c->ra_key) != 1) {
        set_why(why, whylen, "cmp.ra_key: does not belong to the certificate in ra_cert");
        return SIG_CMP_ERR_CONFIG;
    }
    if (given(cfg->ra_chain_pem) && !load_certs(cfg->ra_chain_pem, &c->ra_chain)) {
        set_why(why, whylen, "cmp.ra_chain: cannot read PEM certificates from %s", cfg->ra_chain_pem);
        return SIG_CMP_ERR_CONFIG;
    }
    if (given(cfg->srv_cert_pem) && !load_cert(cfg->srv_cert_pem, &c->srv_cert)) {
        set_why(why, whylen, "cmp.srv_cert: cannot read a PEM certificate from %s", cfg->srv_cert_pem);
        return SIG_CMP_ERR_CONFIG;
    }
    if (given(cfg->srv_trust_pem) && !load_store(cfg->srv_trust_pem, &c->srv_store)) {
        set_why(why, whylen, "cmp.srv_trust: cannot read PEM certificates from %s", cfg->srv_trust_pem);
        return SIG_CMP_ERR_CONFIG;
    }
    return SIG_CMP_OK;
}

static enum sig_cmp_err copy_settings(struct sig_cmp *c, const struct sig_cmp_config *cfg)
{
    c->port = cfg->port;
    c->timeout_s = cfg->timeout_s;
    c->server = strdup(cfg->server);
    c->path = strdup(given(cfg->path) ? cfg->path : "/");
    if (c->server == NULL || c->path == NULL)
        return SIG_CMP_ERR_NOMEM;
    if (cfg->pbm_secret != NULL) {
        c->pbm_ref = strdup(cfg->pbm_ref);
        c->pbm_secret = OPENSSL_malloc(cfg->pbm_secret_len);
        if (c->pbm_ref == NULL || c->pbm_secret == NULL)
            return SIG_CMP_ERR_NOMEM;
        memcpy(c->pbm_secret, cfg->pbm_secret, cfg->pbm_secret_len);
        c->pbm_secret_len = cfg->pbm_secret_len;
    }
    return SIG_CMP_OK;
}

enum sig_cmp_err sig_cmp_new(const struct sig_cmp_config *cfg, const struct sig_trust *trust, struct sig_cmp **out,
                             char *why, size_t whylen)
{
    enum sig_cmp_err rc;
    struct sig_cmp *c = NULL;

    *out = NULL;
    ERR_set_mark();
    if (cfg == NULL || trust == NULL) {
        set_why(why, whylen, "cmp: no configuration or no trust anchors");
        rc = SIG_CMP_ERR_CONFIG;
        goto out;
    }
    if ((rc = check_config(cfg, why, whylen)) != SIG_CMP_OK)
        goto out;
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        rc = SIG_CMP_ERR_NOMEM;
        goto out;
    }
    c->trust = trust;
    if ((rc = copy_settings(c, cfg)) != SIG_CMP_OK)
        goto out;
    if ((rc = load_files(c, cfg, why, whylen)) != SIG_CMP_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    sig_cmp_free(c);
    ERR_pop_to_mark();
    return rc;
}

void sig_cmp_free(struct sig_cmp *c)
{
    if (c == NULL)
        return;
    free(c->server);
    free(c->path);
    free(c->pbm_ref);
    OPENSSL_clear_free(c->pbm_secret, c->pbm_secret_len);
    X509_free(c->ra_cert);
    EVP_PKEY_free(c->ra_key); /* OpenSSL wipes private key material on free */
    sk_X509_pop_free(c->ra_chain, X509_free);
    X509_free(c->srv_cert);
    X509_STORE_free(c->srv_store);
    free(c);
}

/* ---- one transaction --------------------------------------------------- */

/*
 * The last line OpenSSL's CMP code logged on this thread.  Some refusals
 * (an answer from an unexpected sender, for one) are only logged, with
 * nothing on the error queue; this line is then the only detail there is.
 */
static _Thread_local char cmp_last_line[200];

/*
 * msg into out with any distinguished name cut off: OpenSSL's CMP code names
 * certificates by subject ("rejecting newly enrolled cert with subject: /C=VN/
 * .../UID=CCCD:0010..."), and a subscriber's subject carries the holder's name
 * and ID number, which never go into a log (seen in e2e_life's archived log).
 */
static void cmp_redact(const char *msg, char *out, size_t cap)
{
    static const char *const dn_words[] = {"subject", "issuer"};
    size_t cut = strlen(msg);

    for (size_t i = 0; i < sizeof dn_words / sizeof dn_words[0]; i++) {
        const char *w = strstr(msg, dn_words[i]);
        const char *colon = w ? strchr(w, ':') : NULL;
        if (colon && (size_t)(colon - msg) < cut)
            cut = (size_t)(colon - msg) + 1;
    }
    snprintf(out, cap, "%.*s%s", (int)cut, msg, msg[cut] ? " (name withheld)" : "");
}

/* OpenSSL's CMP progress and error lines, into our log (no callback argument: no peer). */
static int cmp_log(const char *func, const char *file, int line, OSSL_CMP_severity level, const char *msg_in)
{
    char msg[512];

    (void)func;
    (void)file;
    (void)line;
    while (*msg_in == ' ')
        msg_in++;
    cmp_redact(msg_in, msg, sizeof msg);
    cmp_redact(msg_in, cmp_last_line, sizeof cmp_last_line);
    if (level <= OSSL_CMP_LOG_WARNING)
        LOGP(LOG_WARN, "cmp", NULL, "%s", msg);
    else
        LOGP(LOG_DEBUG, "cmp", NULL, "%s", msg);
    return 1;
}

static OSSL_CMP_CTX *new_ctx(const struct sig_cmp *c)
{
    OSSL_CMP_CTX *ctx = OSSL_CMP_CTX_new(NULL, NULL);
    int ok;

    cmp_last_line[0] = '\0';
    if (ctx == NULL)
        return NULL;
    ok = OSSL_CMP_CTX_set_log_cb(ctx, cmp_log) && OSSL_CMP_CTX_set_log_verbosity(ctx, OSSL_CMP_LOG_INFO) &&
         OSSL_CMP_CTX_set1_server(ctx, c->server) && OSSL_CMP_CTX_set_serverPort(ctx, c->port) &&
         OSSL_CMP_CTX_set1_serverPath(ctx, c->path) &&
         OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_MSG_TIMEOUT, c->timeout_s) &&
         OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_TOTAL_TIMEOUT, c->timeout_s);
    if (ok && c->pbm_secret != NULL)
        ok = OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)c->pbm_ref, (int)strlen(c->pbm_ref)) &&
             OSSL_CMP_CTX_set1_secretValue(ctx, c->pbm_secret, (int)c->pbm_secret_len);
    if (ok && c->ra_cert != NULL)
        ok = OSSL_CMP_CTX_set1_cert(ctx, c->ra_cert) && OSSL_CMP_CTX_set1_pkey(ctx, c->ra_key) &&
             (c->ra_chain == NULL || OSSL_CMP_CTX_set1_extraCertsOut(ctx, c->ra_chain));
    if (ok && c->srv_cert != NULL)
        ok = OSSL_CMP_CTX_set1_srvCert(ctx, c->srv_cert);
    if (ok && c->srv_store != NULL) {
        /* set0 takes a reference; the store stays shared and read-only. */
        ok = X509_STORE_up_ref(c->srv_store);
        if (ok && !OSSL_CMP_CTX_set0_trustedStore(ctx, c->srv_store)) {
            X509_STORE_free(c->srv_store);
            ok = 0;
        }
    }
    if (!ok) {
        OSSL_CMP_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* How bad an OpenSSL error is for the caller; the worst one names the failure. */
static enum sig_cmp_err class_of(unsigned long e, int *rank)
{
    int lib = ERR_GET_LIB(e);
    int reason = ERR_GET_REASON(e);

    *rank = 5;
    /*
     * OpenSSL's HTTP client retries a refused connection until the timeout,
     * so "connect timeout" means the CA was never reached: down, or no route.
     */
    if (lib == ERR_LIB_BIO && reason == BIO_R_CONNECT_TIMEOUT)
        return SIG_CMP_ERR_CONNECT;
    *rank = 4;
    if ((lib == ERR_LIB_CMP && reason == CMP_R_TOTAL_TIMEOUT) ||
        (lib == ERR_LIB_HTTP && reason == HTTP_R_RETRY_TIMEOUT) ||
        (lib == ERR_LIB_BIO && reason == BIO_R_TRANSFER_TIMEOUT))
        return SIG_CMP_ERR_TIMEOUT;
    *rank = 3;
    if (lib == ERR_LIB_CMP &&
        (reason == CMP_R_MISSING_PROTECTION || reason == CMP_R_ERROR_VALIDATING_PROTECTION ||
         reason == CMP_R_ERROR_VALIDATING_SIGNATURE || reason == CMP_R_WRONG_PBM_VALUE ||
         reason == CMP_R_NO_SUITABLE_SENDER_CERT || reason == CMP_R_SRVCERT_DOES_NOT_VALIDATE_MSG ||
         reason == CMP_R_MISSING_TRUST_STORE || reason == CMP_R_MISSING_TRUST_ANCHOR))
        return SIG_CMP_ERR_PROTECTION;
    *rank = 2;
    if (lib == ERR_LIB_SYS ||
        (lib == ERR_LIB_BIO && (reason == BIO_R_CONNECT_ERROR || reason == BIO_R_NBIO_CONNECT_ERROR)) ||
        (lib == ERR_LIB_HTTP &&
         (reason == HTTP_R_CONNECT_FAILURE || reason == HTTP_R_ERROR_SENDING || reason == HTTP_R_ERROR_RECEIVING ||
          reason == HTTP_R_FAILED_READING_DATA || reason == HTTP_R_SERVER_CANCELED_CONNECTION ||
          reason == HTTP_R_RECEIVED_ERROR || reason == HTTP_R_STATUS_CODE_UNSUPPORTED)))
        return SIG_CMP_ERR_CONNECT;
    *rank = 1;
    return SIG_CMP_ERR_PROTOCOL;
}

/*
 * After a failed exchange: the CA's own verdict when it gave one (a
 * rejection, with its status text), else the class of the worst OpenSSL
 * error, with that error's reason and detail, else the last line the CMP
 * code logged.  Empties the error queue.
 */
static enum sig_cmp_err classify(const struct sig_cmp *c, OSSL_CMP_CTX *ctx, const char *what, char *why, size_t whylen)
{
    enum sig_cmp_err rc = SIG_CMP_ERR_PROTOCOL;
    char detail[256];
    char status[OSSL_CMP_PKISI_BUFLEN];
    const char *data;
    unsigned long e;
    int flags;
    int rank;
    int best = 0;

    snprintf(detail, sizeof detail, "%s", cmp_last_line[0] != '\0' ? cmp_last_line : "no detail from OpenSSL");
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        enum sig_cmp_err k = class_of(e, &rank);
        const char *reason = ERR_reason_error_string(e);

        /* ">" keeps the first (innermost) error of the worst class. */
        if (rank > best) {
            best = rank;
            rc = k;
            snprintf(detail, sizeof detail, "%s%s%s", reason != NULL ? reason : "unknown reason",
                     (flags & ERR_TXT_STRING) && data[0] != '\0' ? ": " : "", (flags & ERR_TXT_STRING) ? data : "");
        }
    }
    if (OSSL_CMP_CTX_get_status(ctx) == OSSL_CMP_PKISTATUS_rejection &&
        OSSL_CMP_CTX_snprint_PKIStatus(ctx, status, sizeof status) != NULL) {
        set_why(why, whylen, "%s: the CA refused: %s", what, status);
        return SIG_CMP_ERR_REJECTED;
    }
    if (rc == SIG_CMP_ERR_CONNECT)
        set_why(why, whylen, "%s: cannot reach the CA at %s:%d within %d s: %s", what, c->server, c->port, c->timeout_s,
                detail);
    else if (rc == SIG_CMP_ERR_TIMEOUT)
        set_why(why, whylen, "%s: no answer from the CA at %s:%d within %d s: %s", what, c->server, c->port,
                c->timeout_s, detail);
    else
        set_why(why, whylen, "%s: %s", what, detail);
    return rc;
}

static enum sig_cmp_err parse_cert(const uint8_t *der, size_t len, X509 **out)
{
    const unsigned char *p = der;

    if (der == NULL || len == 0 || len > CMP_MAX_DER)
        return SIG_CMP_ERR_MALFORMED;
    *out = d2i_X509(NULL, &p, (long)len);
    if (*out == NULL || p != der + len) {
        X509_free(*out);
        *out = NULL;
        return SIG_CMP_ERR_MALFORMED;
    }
    return SIG_CMP_OK;
}

/* ---- certificate requests --------------------------------------------- */

/* The two checks of the header, on the certificate the CA issued. */
static enum sig_cmp_err check_issued(struct cmp_op *op, X509 *cert)
{
    unsigned char *der = NULL;
    char sigwhy[200] = "";
    enum sig_err se;
    int n;

    if (EVP_PKEY_eq(X509_get0_pubkey(cert), op->want_key) != 1) {
        set_why(op->why, sizeof op->why,
                "the CA issued a certificate for another public key than the request's; not accepted");
        return SIG_CMP_ERR_WRONG_KEY;
    }
    n = i2d_X509(cert, &der);
    if (n <= 0)
        return SIG_CMP_ERR_NOMEM;
    se = sig_check_cert(op->c->trust, der, (size_t)n, time(NULL), sigwhy, sizeof sigwhy);
    OPENSSL_free(der);
    if (se != SIG_OK) {
        set_why(op->why, sizeof op->why, "issued certificate refused: %s%s%s", sig_strerror(se),
                sigwhy[0] != '\0' ? ": " : "", sigwhy);
        return SIG_CMP_ERR_UNTRUSTED;
    }
    return SIG_CMP_OK;
}

/*
 * certConf callback: our checks decide whether the certificate is confirmed.
 * A non-zero failInfo makes OpenSSL send a negative certConf, so the CA hears
 * of the refusal too, and makes the exec call return NULL.
 */
static int on_new_cert(OSSL_CMP_CTX *ctx, X509 *cert, int fail_info, const char **text)
{
    struct cmp_op *op = OSSL_CMP_CTX_get_certConf_cb_arg(ctx);

    op->checked = 1;
    op->rc = check_issued(op, cert);
    if (op->rc == SIG_CMP_ERR_WRONG_KEY) {
        *text = "public key differs from the certification request";
        return fail_info | (1 << OSSL_CMP_PKIFAILUREINFO_badCertTemplate);
    }
    if (op->rc != SIG_CMP_OK) {
        *text = "certificate does not validate against the RA's trust anchors";
        return fail_info | (1 << OSSL_CMP_PKIFAILUREINFO_incorrectData);
    }
    return fail_info;
}

/* The request must be whole DER and carry its own valid signature: no point asking the CA otherwise. */
static enum sig_cmp_err parse_csr(const uint8_t *der, size_t len, X509_REQ **out, char *why, size_t whylen)
{
    const unsigned char *p = der;
    X509_REQ *req;

    if (der == NULL || len == 0 || len > CMP_MAX_DER) {
        set_why(why, whylen, "certification request of %zu octets", len);
        return SIG_CMP_ERR_MALFORMED;
    }
    req = d2i_X509_REQ(NULL, &p, (long)len);
    if (req == NULL || p != der + len || X509_REQ_get0_pubkey(req) == NULL ||
        X509_REQ_verify(req, X509_REQ_get0_pubkey(req)) != 1) {
        X509_REQ_free(req);
        set_why(why, whylen, "certification request does not parse or its signature does not verify");
        return SIG_CMP_ERR_MALFORMED;
    }
    *out = req;
    return SIG_CMP_OK;
}

/*
 * The KUR's certificate template, from the SIM-signed request parse_csr has
 * verified: its public key, subject and requested extensions, and the
 * replaced certificate, which OpenSSL names in the template's oldCertID
 * control.  The key must be set (public-only: the request has no more):
 * without it OpenSSL 3.0 puts the old certificate's key in the template,
 * which is wrong whenever the SIM made a new key.  The proof of possession is
 * raVerified, as the header explains.  No default subjectAltName from the old
 * certificate: the template carries what the SIM signed and nothing else, so
 * an e-mail dropped by a change of details stays dropped.
 */
static enum sig_cmp_err setup_kur(OSSL_CMP_CTX *ctx, X509_REQ *req, X509 *old, char *why, size_t whylen)
{
    EVP_PKEY *pub = X509_REQ_get_pubkey(req); /* a new reference for set0 */
    X509_EXTENSIONS *exts = X509_REQ_get_extensions(req);
    enum sig_cmp_err rc = SIG_CMP_ERR_NOMEM;

    if (exts == NULL) {
        /* OpenSSL 3.0 gives an empty stack for a request without extensions: NULL is a bad attribute. */
        set_why(why, whylen, "renewal (kur): the extension request of the certification request does not parse");
        rc = SIG_CMP_ERR_MALFORMED;
        goto out;
    }
    if (pub == NULL || !OSSL_CMP_CTX_set0_newPkey(ctx, 0, pub))
        goto out;
    pub = NULL;
    if (!OSSL_CMP_CTX_set0_reqExtensions(ctx, exts))
        goto out;
    exts = NULL;
    if (!OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_POPO_METHOD, OSSL_CRMF_POPO_RAVERIFIED) ||
        !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_SUBJECTALTNAME_NODEFAULT, 1) ||
        !OSSL_CMP_CTX_set1_subjectName(ctx, X509_REQ_get_subject_name(req)) || !OSSL_CMP_CTX_set1_oldCert(ctx, old))
        goto out;
    rc = SIG_CMP_OK;
out:
    EVP_PKEY_free(pub);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    return rc;
}

/* Enrolment (old == NULL): p10cr carrying the request as it is.  Renewal: kur replacing `old`. */
static enum sig_cmp_err certreq(struct sig_cmp *c, const uint8_t *csr, size_t csr_len, X509 *old, uint8_t **cert,
                                size_t *cert_len, char *why, size_t whylen)
{
    const char *what = old != NULL ? "renewal (kur)" : "enrolment (p10cr)";
    struct cmp_op op = {.c = c};
    enum sig_cmp_err rc;
    OSSL_CMP_CTX *ctx = NULL;
    X509_REQ *req = NULL;
    X509 *got = NULL;
    unsigned char *der = NULL;
    int n;

    if ((rc = parse_csr(csr, csr_len, &req, why, whylen)) != SIG_CMP_OK)
        goto out;
    op.want_key = X509_REQ_get0_pubkey(req);
    ctx = new_ctx(c);
    if (ctx == NULL || !OSSL_CMP_CTX_set_certConf_cb(ctx, on_new_cert) || !OSSL_CMP_CTX_set_certConf_cb_arg(ctx, &op) ||
        (old == NULL && !OSSL_CMP_CTX_set1_p10CSR(ctx, req))) {
        set_why(why, whylen, "%s: cannot set up the CMP context", what);
        rc = SIG_CMP_ERR_NOMEM;
        goto out;
    }
    if (old != NULL && (rc = setup_kur(ctx, req, old, why, whylen)) != SIG_CMP_OK) {
        if (rc == SIG_CMP_ERR_NOMEM)
            set_why(why, whylen, "%s: cannot set up the CMP context", what);
        goto out;
    }
    got = old != NULL ? OSSL_CMP_exec_KUR_ses(ctx) : OSSL_CMP_exec_P10CR_ses(ctx);
    if (got == NULL) {
        rc = op.rc != SIG_CMP_OK ? op.rc : classify(c, ctx, what, why, whylen);
        if (op.rc != SIG_CMP_OK)
            set_why(why, whylen, "%s: %s", what, op.why);
        goto out;
    }
    /* Belt and braces: never hand back a certificate our checks did not pass. */
    if (!op.checked && (rc = check_issued(&op, got)) != SIG_CMP_OK) {
        set_why(why, whylen, "%s: %s", what, op.why);
        goto out;
    }
    n = i2d_X509(got, &der);
    if (n <= 0) {
        rc = SIG_CMP_ERR_NOMEM;
        goto out;
    }
    *cert = der;
    *cert_len = (size_t)n;
    rc = SIG_CMP_OK;
out:
    X509_free(got);
    X509_REQ_free(req);
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

enum sig_cmp_err sig_cmp_enrol(struct sig_cmp *c, const uint8_t *csr, size_t csr_len, uint8_t **cert, size_t *cert_len,
                               char *why, size_t whylen)
{
    *cert = NULL;
    *cert_len = 0;
    ERR_clear_error();
    return certreq(c, csr, csr_len, NULL, cert, cert_len, why, whylen);
}

enum sig_cmp_err sig_cmp_renew(struct sig_cmp *c, const uint8_t *csr, size_t csr_len, const uint8_t *old_cert,
                               size_t old_len, uint8_t **cert, size_t *cert_len, char *why, size_t whylen)
{
    enum sig_cmp_err rc;
    X509 *old = NULL;

    *cert = NULL;
    *cert_len = 0;
    ERR_clear_error();
    if ((rc = parse_cert(old_cert, old_len, &old)) != SIG_CMP_OK) {
        set_why(why, whylen, "renewal: the certificate to replace does not parse");
        ERR_clear_error();
        return rc;
    }
    rc = certreq(c, csr, csr_len, old, cert, cert_len, why, whylen);
    X509_free(old);
    return rc;
}

/* ---- revocation -------------------------------------------------------- */

enum sig_cmp_err sig_cmp_revoke(struct sig_cmp *c, const uint8_t *cert, size_t cert_len, enum sig_cmp_reason reason,
                                char *why, size_t whylen)
{
    enum sig_cmp_err rc;
    OSSL_CMP_CTX *ctx = NULL;
    X509 *x = NULL;

    ERR_clear_error();
    if (sig_cmp_reason_name(reason) == NULL) {
        set_why(why, whylen, "revocation: reason %d is not one a subscriber may ask for", (int)reason);
        rc = SIG_CMP_ERR_CONFIG;
        goto out;
    }
    if ((rc = parse_cert(cert, cert_len, &x)) != SIG_CMP_OK) {
        set_why(why, whylen, "revocation: the certificate does not parse");
        goto out;
    }
    ctx = new_ctx(c);
    if (ctx == NULL || !OSSL_CMP_CTX_set1_oldCert(ctx, x) ||
        !OSSL_CMP_CTX_set_option(ctx, OSSL_CMP_OPT_REVOCATION_REASON, (int)reason)) {
        set_why(why, whylen, "revocation: cannot set up the CMP context");
        rc = SIG_CMP_ERR_NOMEM;
        goto out;
    }
    /* 1 for accepted, grantedWithMods, revocationWarning and revocationNotification. */
    if (OSSL_CMP_exec_RR_ses(ctx) != 1) {
        rc = classify(c, ctx, "revocation (rr)", why, whylen);
        if (rc == SIG_CMP_ERR_REJECTED &&
            (OSSL_CMP_CTX_get_failInfoCode(ctx) & (1 << OSSL_CMP_PKIFAILUREINFO_certRevoked)) != 0)
            rc = SIG_CMP_ERR_ALREADY_REVOKED;
        goto out;
    }
    rc = SIG_CMP_OK;
out:
    X509_free(x);
    OSSL_CMP_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
