/*
 * test_cmp.c - the CMP connector against `openssl cmp` mock CAs.
 *
 *   test_cmp PKI_DIR PBM_SECRET NAME=PORT...
 *
 * Run by cmp/run_cmp_test.sh, which starts the mocks (see there for what
 * each NAME answers).  The requests are real: sig_csr builds them over the
 * SIM keys of PKI_DIR, signed here with EVP playing the SIM.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "check.h"
#include "cmp/testutil.h"
#include "log.h"
#include "sig.h"
#include "sig_csr.h"
/* The .c itself, to reach new_ctx and push_old_cert_id (STYLE: a unit test may). */
#include "sig_cmp.c"

static const char *pki_dir, *secret;
static struct sig_trust *trust;

#define MAX_MOCKS 16
static struct {
    char name[32];
    int port;
} mocks[MAX_MOCKS];
static size_t n_mocks;

static int mock_port(const char *name)
{
    size_t i;

    for (i = 0; i < n_mocks; i++)
        if (strcmp(mocks[i].name, name) == 0)
            return mocks[i].port;
    fprintf(stderr, "no mock named %s\n", name);
    exit(2);
}

static void pki_path(char *dst, size_t cap, const char *name)
{
    tu_path(dst, cap, pki_dir, name);
}

/* The SIM, played by EVP: PKCS#1 v1.5 over DigestInfo, or DER ECDSA, over the digest. */
static struct blob sim_sign(const char *key, const uint8_t *digest)
{
    char path[1024];
    struct blob sig = {NULL, 0};
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *pk = NULL;
    FILE *f;

    pki_path(path, sizeof path, key);
    f = fopen(path, "r");
    if (f != NULL)
        pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    if (f != NULL)
        fclose(f);
    pctx = pk == NULL ? NULL : EVP_PKEY_CTX_new(pk, NULL);
    if (pctx == NULL || EVP_PKEY_sign_init(pctx) != 1 || EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1 ||
        (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
        EVP_PKEY_sign(pctx, NULL, &sig.n, digest, SIG_CSR_DIGEST_LEN) != 1 || (sig.p = malloc(sig.n)) == NULL ||
        EVP_PKEY_sign(pctx, sig.p, &sig.n, digest, SIG_CSR_DIGEST_LEN) != 1) {
        fprintf(stderr, "cannot sign with %s\n", path);
        exit(2);
    }
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_free(pk);
    return sig;
}

/* A finished SIM-signed request for key K ("sim-rsa", "sim-ec"); OPENSSL_free the result. */
static struct blob make_csr(const char *k)
{
    static const struct sig_csr_subject s = {
        .province = "Hà Nội",
        .organisation = "Bộ Tài chính",
        .common_name = "Nguyễn Văn An",
        .id_kind = SIG_CSR_ID_CCCD,
        .id_number = "001012000001",
        .email = "an.nv@mof.gov.vn",
    };
    char name[64];
    struct blob pub, sig, der = {NULL, 0};
    struct sig_csr *csr = NULL;
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    char path[1024];

    snprintf(name, sizeof name, "%s.spki.der", k);
    pki_path(path, sizeof path, name);
    pub = tu_load(path);
    snprintf(name, sizeof name, "%s.key.pem", k);
    if (sig_csr_prepare(&s, pub.p, pub.n, &csr, digest, NULL, 0) != SIG_CSR_OK) {
        fprintf(stderr, "cannot prepare a request for %s\n", k);
        exit(2);
    }
    sig = sim_sign(name, digest);
    if (sig_csr_finish(csr, sig.p, sig.n, &der.p, &der.n, NULL, 0) != SIG_CSR_OK) {
        fprintf(stderr, "cannot finish a request for %s\n", k);
        exit(2);
    }
    sig_csr_free(csr);
    tu_free(&sig);
    tu_free(&pub);
    return der;
}

/* DER of the first certificate in a PEM fixture; OPENSSL_free the result. */
static struct blob cert_der(const char *name)
{
    char path[1024];
    struct blob der = {NULL, 0};
    unsigned char *p = NULL;
    X509 *x = NULL;
    FILE *f;
    int n;

    pki_path(path, sizeof path, name);
    f = fopen(path, "r");
    if (f != NULL) {
        x = PEM_read_X509(f, NULL, NULL, NULL);
        fclose(f);
    }
    n = x == NULL ? -1 : i2d_X509(x, &p);
    X509_free(x);
    if (n <= 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    der.p = p;
    der.n = (size_t)n;
    return der;
}

static struct sig_cmp_config pbm_config(int port, const char *pbm_secret)
{
    struct sig_cmp_config cfg = {
        .server = "127.0.0.1",
        .port = port,
        .path = "/pkix/",
        .timeout_s = 5,
        .pbm_ref = "simpki-ra",
        .pbm_secret = (const uint8_t *)pbm_secret,
        .pbm_secret_len = strlen(pbm_secret),
    };
    return cfg;
}

static struct sig_cmp *connector(const struct sig_cmp_config *cfg)
{
    struct sig_cmp *c = NULL;
    char why[256] = "";

    if (sig_cmp_new(cfg, trust, &c, why, sizeof why) != SIG_CMP_OK) {
        fprintf(stderr, "sig_cmp_new: %s\n", why);
        exit(2);
    }
    return c;
}

/* Enrol request k with c: the result code; the certificate, if any, into *out (may be NULL). */
static enum sig_cmp_err enrol(struct sig_cmp *c, const char *k, const char *label, struct blob *out)
{
    struct blob csr = make_csr(k);
    uint8_t *cert = (uint8_t *)"x";
    size_t len = 1;
    char why[512] = "";
    enum sig_cmp_err rc = sig_cmp_enrol(c, csr.p, csr.n, &cert, &len, why, sizeof why);

    printf("  %-28s %s%s%s\n", label, sig_cmp_strerror(rc), why[0] ? ": " : "", why);
    if (rc != SIG_CMP_OK)
        CHECK(cert == NULL && len == 0 && why[0] != '\0');
    if (out != NULL) {
        out->p = cert;
        out->n = len;
    } else {
        OPENSSL_free(rc == SIG_CMP_OK ? cert : NULL);
    }
    OPENSSL_free(csr.p);
    return rc;
}

static void test_config(void)
{
    struct sig_cmp_config cfg = pbm_config(1, secret);
    struct sig_cmp *c = NULL;
    char why[256];
    char ra_cert[1024], ra_key[1024], srv_key[1024], srv_cert[1024];

    pki_path(ra_cert, sizeof ra_cert, "ra.crt.pem");
    pki_path(ra_key, sizeof ra_key, "ra.key.pem");
    pki_path(srv_key, sizeof srv_key, "srv.key.pem");
    pki_path(srv_cert, sizeof srv_cert, "srv.crt.pem");

#define BADCFG(mutate)                                                                   \
    do {                                                                                 \
        cfg = pbm_config(1, secret);                                                     \
        mutate;                                                                          \
        why[0] = '\0';                                                                   \
        CHECK_EQ_INT(sig_cmp_new(&cfg, trust, &c, why, sizeof why), SIG_CMP_ERR_CONFIG); \
        CHECK(c == NULL && why[0] != '\0' && strstr(why, secret) == NULL);               \
    } while (0)

    BADCFG(cfg.server = NULL);
    BADCFG(cfg.port = 0);
    BADCFG(cfg.port = 65536);
    BADCFG(cfg.timeout_s = 0);
    BADCFG(cfg.pbm_ref = NULL);
    BADCFG(cfg.pbm_secret_len = 0);
    BADCFG((cfg.pbm_ref = NULL, cfg.pbm_secret = NULL));                                       /* no protection */
    BADCFG((cfg.ra_cert_pem = ra_cert, cfg.ra_key_pem = ra_key, cfg.srv_cert_pem = srv_cert)); /* both */
    BADCFG((cfg.pbm_ref = NULL, cfg.pbm_secret = NULL, cfg.ra_cert_pem = ra_cert, cfg.ra_key_pem = ra_key));
    BADCFG((cfg.pbm_ref = NULL, cfg.pbm_secret = NULL, cfg.ra_cert_pem = ra_cert, cfg.ra_key_pem = srv_key,
            cfg.srv_cert_pem = srv_cert)); /* key of another cert */
    BADCFG((cfg.pbm_ref = NULL, cfg.pbm_secret = NULL, cfg.ra_cert_pem = "/nonexistent", cfg.ra_key_pem = ra_key,
            cfg.srv_cert_pem = srv_cert));
    cfg = pbm_config(1, secret);
    CHECK_EQ_INT(sig_cmp_new(&cfg, NULL, &c, NULL, 0), SIG_CMP_ERR_CONFIG);
#undef BADCFG
}

static void test_good(void)
{
    struct sig_cmp_config cfg = pbm_config(mock_port("good"), secret);
    struct sig_cmp *c = connector(&cfg);
    struct blob want = cert_der("sim-rsa.crt.pem");
    struct blob got = {NULL, 0};
    struct blob csr;
    uint8_t *cert = NULL;
    size_t len = 0;
    char why[512] = "";

    CHECK_EQ_INT(enrol(c, "sim-rsa", "enrol", &got), SIG_CMP_OK);
    CHECK(got.n == want.n && got.p != NULL && memcmp(got.p, want.p, want.n) == 0);
    OPENSSL_free(got.p);

    /* Renewal: a fresh request naming the replaced certificate. */
    csr = make_csr("sim-rsa");
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n, want.p, want.n, &cert, &len, why, sizeof why), SIG_CMP_OK);
    printf("  %-28s %s\n", "renew", why);
    CHECK(len == want.n && cert != NULL && memcmp(cert, want.p, want.n) == 0);
    OPENSSL_free(cert);
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n, csr.p, csr.n, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);

    /* Our own input is checked before anything is sent. */
    CHECK_EQ_INT(sig_cmp_enrol(c, csr.p, csr.n - 1, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);
    csr.p[csr.n - 1] ^= 1; /* inside the signature */
    CHECK_EQ_INT(sig_cmp_enrol(c, csr.p, csr.n, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);
    CHECK(cert == NULL);
    OPENSSL_free(csr.p);

    why[0] = '\0';
    CHECK_EQ_INT(sig_cmp_revoke(c, want.p, want.n, SIG_CMP_REASON_KEY_COMPROMISE, why, sizeof why), SIG_CMP_OK);
    printf("  %-28s %s\n", "revoke keyCompromise", why);
    CHECK_EQ_INT(sig_cmp_revoke(c, want.p, want.n, SIG_CMP_REASON_CESSATION_OF_OPERATION, NULL, 0), SIG_CMP_OK);
    CHECK_EQ_INT(sig_cmp_revoke(c, want.p, want.n, (enum sig_cmp_reason)2, NULL, 0), SIG_CMP_ERR_CONFIG);
    CHECK_EQ_INT(sig_cmp_revoke(c, want.p, want.n - 1, SIG_CMP_REASON_SUPERSEDED, NULL, 0), SIG_CMP_ERR_MALFORMED);
    OPENSSL_free(want.p);
    sig_cmp_free(c);
}

static void test_refusals(void)
{
    struct sig_cmp_config cfg = pbm_config(mock_port("otherkey"), secret);
    struct sig_cmp *c = connector(&cfg);
    struct blob rsp = cert_der("sim-rsa.crt.pem");
    char why[512] = "";

    CHECK_EQ_INT(enrol(c, "sim-rsa", "certificate for another key", NULL), SIG_CMP_ERR_WRONG_KEY);
    sig_cmp_free(c);

    cfg = pbm_config(mock_port("stray"), secret);
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-ec", "untrusted issuer", NULL), SIG_CMP_ERR_UNTRUSTED);
    sig_cmp_free(c);

    cfg = pbm_config(mock_port("reject"), secret);
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "CA rejects", NULL), SIG_CMP_ERR_REJECTED);
    CHECK_EQ_INT(sig_cmp_revoke(c, rsp.p, rsp.n, SIG_CMP_REASON_SUPERSEDED, why, sizeof why), SIG_CMP_ERR_REJECTED);
    printf("  %-28s %s\n", "CA rejects rr", why);
    sig_cmp_free(c);

    /* The CA's answers are MACed with its secret, not ours: refused, whatever they say. */
    cfg = pbm_config(mock_port("good"), "not-the-secret");
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "wrong PBM secret", NULL), SIG_CMP_ERR_PROTECTION);
    sig_cmp_free(c);
    OPENSSL_free(rsp.p);
}

static void test_poll_and_ra(void)
{
    struct sig_cmp_config cfg = pbm_config(mock_port("poll"), secret);
    struct sig_cmp *c = connector(&cfg);
    struct blob rsp = cert_der("sim-rsa.crt.pem");
    char ra_cert[1024], ra_key[1024], srv_cert[1024], root[1024];

    CHECK_EQ_INT(enrol(c, "sim-rsa", "enrol after polling", NULL), SIG_CMP_OK);
    sig_cmp_free(c);

    pki_path(ra_cert, sizeof ra_cert, "ra.crt.pem");
    pki_path(ra_key, sizeof ra_key, "ra.key.pem");
    pki_path(srv_cert, sizeof srv_cert, "srv.crt.pem");
    pki_path(root, sizeof root, "root.pem");
    cfg = pbm_config(mock_port("ra"), secret);
    cfg.pbm_ref = NULL;
    cfg.pbm_secret = NULL;
    cfg.pbm_secret_len = 0;
    cfg.ra_cert_pem = ra_cert;
    cfg.ra_key_pem = ra_key;
    cfg.srv_cert_pem = srv_cert;
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "RA signature, pinned CA", NULL), SIG_CMP_OK);
    CHECK_EQ_INT(sig_cmp_revoke(c, rsp.p, rsp.n, SIG_CMP_REASON_AFFILIATION_CHANGED, NULL, 0), SIG_CMP_OK);
    sig_cmp_free(c);

    /* The CA's signer found through trust anchors instead of a pin. */
    cfg.srv_cert_pem = NULL;
    cfg.srv_trust_pem = root;
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "RA signature, CA via anchor", NULL), SIG_CMP_OK);
    sig_cmp_free(c);

    /* A pin on another certificate: the CA's signed answers are refused. */
    cfg.srv_trust_pem = NULL;
    cfg.srv_cert_pem = ra_cert;
    c = connector(&cfg);
    {
        /* OpenSSL only logs this refusal (no error code), so it is a PROTOCOL error naming the sender. */
        struct blob csr = make_csr("sim-rsa");
        uint8_t *cert = NULL;
        size_t len = 0;
        char why[512] = "";

        CHECK_EQ_INT(sig_cmp_enrol(c, csr.p, csr.n, &cert, &len, why, sizeof why), SIG_CMP_ERR_PROTOCOL);
        printf("  %-28s %s\n", "RA signature, wrong pin", why);
        CHECK(cert == NULL && strstr(why, "expected sender") != NULL);
        OPENSSL_free(csr.p);
    }
    sig_cmp_free(c);
    OPENSSL_free(rsp.p);
}

/* A loopback socket bound to a port the kernel picks, listening when `listening`. */
static int loopback_socket(int listening, int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0 || (listening && listen(fd, 8) != 0)) {
        fprintf(stderr, "loopback socket: %s\n", strerror(errno));
        exit(2);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_unreachable(void)
{
    struct sig_cmp_config cfg;
    struct sig_cmp *c;
    time_t t0;
    int port;
    int fd;

    /* Nobody listens: a port just released by a socket that never listened. */
    fd = loopback_socket(0, &port);
    close(fd);
    cfg = pbm_config(port, secret);
    cfg.timeout_s = 2;
    c = connector(&cfg);
    t0 = time(NULL);
    /* OpenSSL retries a refused connect until the timeout: CONNECT, after at most timeout_s. */
    CHECK_EQ_INT(enrol(c, "sim-rsa", "CA down", NULL), SIG_CMP_ERR_CONNECT);
    CHECK(time(NULL) - t0 <= 3);
    CHECK(sig_cmp_err_is_temporary(SIG_CMP_ERR_CONNECT));
    sig_cmp_free(c);

    /* Someone listens but never answers: the timeout must hold. */
    fd = loopback_socket(1, &port);
    cfg = pbm_config(port, secret);
    cfg.timeout_s = 2;
    c = connector(&cfg);
    t0 = time(NULL);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "CA silent", NULL), SIG_CMP_ERR_TIMEOUT);
    CHECK(time(NULL) - t0 >= 1 && time(NULL) - t0 <= 4);
    CHECK(sig_cmp_err_is_temporary(SIG_CMP_ERR_TIMEOUT));
    sig_cmp_free(c);
    close(fd);
}

/* What the transfer callback saw: the DER of the last request "sent". */
static unsigned char *sent;
static int sent_len;

static OSSL_CMP_MSG *capture(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    (void)ctx;
    OPENSSL_free(sent);
    sent = NULL;
    sent_len = i2d_OSSL_CMP_MSG(req, &sent);
    return NULL; /* as if the CA were unreachable: nothing more to do */
}

/* Renewal names the replaced certificate: generalInfo id-regCtrl-oldCertID = CertId(issuer, serial). */
static void test_old_cert_id_on_the_wire(void)
{
    struct sig_cmp_config cfg = pbm_config(1, secret);
    struct sig_cmp *c = connector(&cfg);
    struct blob old = cert_der("sim-rsa.crt.pem");
    struct blob csr = make_csr("sim-rsa");
    const unsigned char *p = old.p;
    X509 *x = d2i_X509(NULL, &p, (long)old.n);
    p = csr.p;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)csr.n);
    OSSL_CRMF_CERTID *cid = x == NULL ? NULL : OSSL_CRMF_CERTID_gen(X509_get_issuer_name(x), X509_get0_serialNumber(x));
    static const unsigned char oid[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x05, 0x01, 0x05};
    unsigned char *want = NULL;
    int want_len = cid == NULL ? -1 : i2d_OSSL_CRMF_CERTID(cid, &want);
    OSSL_CMP_CTX *ctx = new_ctx(c);

    CHECK(ctx != NULL && req != NULL && want_len > 0);
    if (ctx != NULL && req != NULL && want_len > 0) {
        CHECK(OSSL_CMP_CTX_set1_p10CSR(ctx, req));
        CHECK(push_old_cert_id(ctx, x));
        CHECK(OSSL_CMP_CTX_set_transfer_cb(ctx, capture));
        CHECK(OSSL_CMP_exec_P10CR_ses(ctx) == NULL);
        CHECK(sent_len > 0 && memmem(sent, (size_t)sent_len, oid, sizeof oid) != NULL);
        CHECK(sent_len > 0 && memmem(sent, (size_t)sent_len, want, (size_t)want_len) != NULL);
    }
    ERR_clear_error();
    OSSL_CMP_CTX_free(ctx);
    OPENSSL_free(want);
    OPENSSL_free(sent);
    sent = NULL;
    OSSL_CRMF_CERTID_free(cid);
    X509_REQ_free(req);
    X509_free(x);
    OPENSSL_free(csr.p);
    OPENSSL_free(old.p);
    sig_cmp_free(c);
}

static void test_names(void)
{
    CHECK_EQ_STR(sig_cmp_reason_name(SIG_CMP_REASON_KEY_COMPROMISE), "keyCompromise");
    CHECK(sig_cmp_reason_name((enum sig_cmp_reason)2) == NULL);
    CHECK_EQ_INT(sig_cmp_reason_parse("cessationOfOperation"), SIG_CMP_REASON_CESSATION_OF_OPERATION);
    CHECK_EQ_INT(sig_cmp_reason_parse("cACompromise"), -1);
    CHECK(!sig_cmp_err_is_temporary(SIG_CMP_ERR_WRONG_KEY));
}

int main(int argc, char **argv)
{
    char anchors[1024], inter[1024], why[256] = "";
    int i;

    if (argc < 4) {
        fprintf(stderr, "usage: test_cmp PKI_DIR PBM_SECRET NAME=PORT...\n");
        return 2;
    }
    pki_dir = argv[1];
    secret = argv[2];
    for (i = 3; i < argc && n_mocks < MAX_MOCKS; i++) {
        const char *eq = strchr(argv[i], '=');
        char *end = NULL;
        long port = eq == NULL ? 0 : strtol(eq + 1, &end, 10);

        if (eq == NULL || (size_t)(eq - argv[i]) >= sizeof mocks[0].name || end == eq + 1 || *end != '\0' || port < 1 ||
            port > 65535) {
            fprintf(stderr, "bad mock argument %s\n", argv[i]);
            return 2;
        }
        memcpy(mocks[n_mocks].name, argv[i], (size_t)(eq - argv[i]));
        mocks[n_mocks].port = (int)port;
        n_mocks++;
    }
    log_setup(getenv("SIMPKI_TEST_DEBUG") != NULL ? LOG_DEBUG : LOG_ERR, LOG_FMT_TEXT);
    pki_path(anchors, sizeof anchors, "trust.pem");
    pki_path(inter, sizeof inter, "intermediates.pem");
    if (sig_trust_load(anchors, inter, &trust, why, sizeof why) != SIG_OK) {
        fprintf(stderr, "trust: %s\n", why);
        return 2;
    }
    test_names();
    test_config();
    test_old_cert_id_on_the_wire();
    test_good();
    test_refusals();
    test_poll_and_ra();
    test_unreachable();
    sig_trust_free(trust);
    return check_report("test_cmp");
}
