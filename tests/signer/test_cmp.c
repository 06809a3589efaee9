/*
 * test_cmp.c - the CMP connector against `openssl cmp` mock CAs.
 *
 *   test_cmp PKI_DIR PBM_SECRET NAME=PORT...
 *
 * Run by cmp/run_cmp_test.sh, which starts the mocks (see there for what
 * each NAME answers) and names their log directory in CMP_MOCK_LOGS, where
 * the mocks log each message type they receive ("received KUR").  The
 * requests are real: sig_csr builds them over the SIM keys of PKI_DIR, signed
 * here with EVP playing the SIM.
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
/* The .c itself, to reach new_ctx and setup_kur (STYLE: a unit test may). */
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

static const struct sig_csr_subject subject_an = {
    .province = "Hà Nội",
    .organisation = "Bộ Tài chính",
    .common_name = "Nguyễn Văn An",
    .id_kind = SIG_CSR_ID_CCCD,
    .id_number = "001012000001",
    .email = "an.nv@mof.gov.vn",
};

/* The same person after a change of details (Mẫu 07): another body, another e-mail. */
static const struct sig_csr_subject subject_moved = {
    .province = "Hà Nội",
    .organisation = "Bộ Tư pháp",
    .common_name = "Nguyễn Văn An",
    .id_kind = SIG_CSR_ID_CCCD,
    .id_number = "001012000001",
    .email = "an.nv@moj.gov.vn",
};

/* And without an e-mail, so without a subjectAltName. */
static const struct sig_csr_subject subject_no_email = {
    .province = "Hà Nội",
    .organisation = "Bộ Tài chính",
    .common_name = "Nguyễn Văn An",
    .id_kind = SIG_CSR_ID_CCCD,
    .id_number = "001012000001",
};

/* A finished SIM-signed request for key K ("sim-rsa", "sim-ec") and subject S; OPENSSL_free the result. */
static struct blob make_csr_for(const char *k, const struct sig_csr_subject *s)
{
    char name[64];
    struct blob pub, sig, der = {NULL, 0};
    struct sig_csr *csr = NULL;
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    char path[1024];

    snprintf(name, sizeof name, "%s.spki.der", k);
    pki_path(path, sizeof path, name);
    pub = tu_load(path);
    snprintf(name, sizeof name, "%s.key.pem", k);
    if (sig_csr_prepare(s, pub.p, pub.n, &csr, digest, NULL, 0) != SIG_CSR_OK) {
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

static struct blob make_csr(const char *k)
{
    return make_csr_for(k, &subject_an);
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

/* Renew: request k replacing certificate fixture OLD, as enrol() does. */
static enum sig_cmp_err renew(struct sig_cmp *c, const char *k, const char *old, const char *label, struct blob *out)
{
    struct blob csr = make_csr(k);
    struct blob old_der = cert_der(old);
    uint8_t *cert = (uint8_t *)"x";
    size_t len = 1;
    char why[512] = "";
    enum sig_cmp_err rc = sig_cmp_renew(c, csr.p, csr.n, old_der.p, old_der.n, &cert, &len, why, sizeof why);

    printf("  %-28s %s%s%s\n", label, sig_cmp_strerror(rc), why[0] ? ": " : "", why);
    if (rc != SIG_CMP_OK)
        CHECK(cert == NULL && len == 0 && strstr(why, "renewal (kur)") != NULL);
    if (out != NULL) {
        out->p = cert;
        out->n = len;
    } else {
        OPENSSL_free(rc == SIG_CMP_OK ? cert : NULL);
    }
    OPENSSL_free(old_der.p);
    OPENSSL_free(csr.p);
    return rc;
}

/*
 * Lines of mock NAME's log that contain s: the mocks run with -verbosity 7
 * and log "received KUR", "received P10CR", ... for each request.  -1 when
 * the log cannot be read, which fails the checks that use it.
 */
static int mock_log_count(const char *name, const char *s)
{
    const char *dir = getenv("CMP_MOCK_LOGS");
    char path[1024], line[2048];
    FILE *f;
    int n = 0;

    if (dir == NULL)
        return -1;
    snprintf(path, sizeof path, "%s/%s.log", dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, s) != NULL)
            n++;
    fclose(f);
    return n;
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
    int p10cr_seen = mock_log_count("good", "received P10CR");
    int kur_seen;

    CHECK(p10cr_seen >= 0);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "enrol", &got), SIG_CMP_OK);
    CHECK(got.n == want.n && got.p != NULL && memcmp(got.p, want.p, want.n) == 0);
    OPENSSL_free(got.p);

    /* The mock saw the enrolment as a p10cr. */
    CHECK(p10cr_seen >= 0 && mock_log_count("good", "received P10CR") == p10cr_seen + 1);

    /* Renewal: a kur replacing the certificate; the mock logs the message type it received. */
    p10cr_seen = mock_log_count("good", "received P10CR");
    kur_seen = mock_log_count("good", "received KUR");
    CHECK(kur_seen >= 0);
    CHECK_EQ_INT(renew(c, "sim-rsa", "sim-rsa.crt.pem", "renew (kur)", &got), SIG_CMP_OK);
    CHECK(got.n == want.n && got.p != NULL && memcmp(got.p, want.p, want.n) == 0);
    OPENSSL_free(got.p);
    CHECK(kur_seen >= 0 && mock_log_count("good", "received KUR") == kur_seen + 1);
    CHECK(p10cr_seen >= 0 && mock_log_count("good", "received P10CR") == p10cr_seen);

    /*
     * The oldCertID control is on the wire and read: OpenSSL 3.0's mock takes
     * a kur only when it names the certificate the mock answers, and refuses
     * one naming another certificate (no such check for a p10cr).
     */
    CHECK_EQ_INT(renew(c, "sim-rsa", "other-rsa.crt.pem", "kur naming another cert", &got), SIG_CMP_ERR_REJECTED);
    CHECK(got.p == NULL);
    CHECK(kur_seen >= 0 && mock_log_count("good", "received KUR") == kur_seen + 2);
    CHECK(mock_log_count("good", "wrong certid") == 1);

    /*
     * A new key (sim-ec) replacing sim-rsa's certificate: this mock can only
     * answer the certificate it has, for the old key, and that is refused.
     */
    CHECK_EQ_INT(renew(c, "sim-ec", "sim-rsa.crt.pem", "kur, new key: old one back", NULL), SIG_CMP_ERR_WRONG_KEY);

    /* A change of details: another subject and e-mail, the same key. */
    csr = make_csr_for("sim-rsa", &subject_moved);
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n, want.p, want.n, &cert, &len, why, sizeof why), SIG_CMP_OK);
    printf("  %-28s %s\n", "change of details (kur)", why);
    CHECK(len == want.n && cert != NULL && memcmp(cert, want.p, want.n) == 0);
    OPENSSL_free(cert);
    CHECK(kur_seen >= 0 && mock_log_count("good", "received KUR") == kur_seen + 4);
    /* The replaced certificate must be one. */
    cert = (uint8_t *)"x";
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n, csr.p, csr.n, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);
    CHECK(cert == NULL && len == 0);

    /* Our own input is checked before anything is sent. */
    CHECK_EQ_INT(sig_cmp_enrol(c, csr.p, csr.n - 1, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n - 1, want.p, want.n, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);
    csr.p[csr.n - 1] ^= 1; /* inside the signature */
    CHECK_EQ_INT(sig_cmp_enrol(c, csr.p, csr.n, &cert, &len, NULL, 0), SIG_CMP_ERR_MALFORMED);
    CHECK(cert == NULL);
    why[0] = '\0';
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n, want.p, want.n, &cert, &len, why, sizeof why), SIG_CMP_ERR_MALFORMED);
    CHECK(cert == NULL && strstr(why, "does not verify") != NULL);
    /* Nothing went to the CA: the raVerified claim is never made for a request that does not verify. */
    CHECK(kur_seen >= 0 && mock_log_count("good", "received KUR") == kur_seen + 4);
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
    /* (OpenSSL 3.0's mock takes a kur only for the certificate it answers: see run_cmp_test.sh.) */
    CHECK_EQ_INT(renew(c, "sim-rsa", "other-rsa.crt.pem", "kur: another key", NULL), SIG_CMP_ERR_WRONG_KEY);
    sig_cmp_free(c);

    cfg = pbm_config(mock_port("stray"), secret);
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-ec", "untrusted issuer", NULL), SIG_CMP_ERR_UNTRUSTED);
    CHECK_EQ_INT(renew(c, "sim-ec", "stray-ec.crt.pem", "kur: untrusted issuer", NULL), SIG_CMP_ERR_UNTRUSTED);
    sig_cmp_free(c);

    cfg = pbm_config(mock_port("reject"), secret);
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "CA rejects", NULL), SIG_CMP_ERR_REJECTED);
    CHECK_EQ_INT(renew(c, "sim-rsa", "sim-rsa.crt.pem", "kur: CA rejects", NULL), SIG_CMP_ERR_REJECTED);
    CHECK_EQ_INT(sig_cmp_revoke(c, rsp.p, rsp.n, SIG_CMP_REASON_SUPERSEDED, why, sizeof why), SIG_CMP_ERR_REJECTED);
    printf("  %-28s %s\n", "CA rejects rr", why);
    sig_cmp_free(c);

    /* An rr for a certificate the CA revoked already (certRevoked): told apart from a refusal. */
    cfg = pbm_config(mock_port("revoked"), secret);
    c = connector(&cfg);
    CHECK_EQ_INT(sig_cmp_revoke(c, rsp.p, rsp.n, SIG_CMP_REASON_SUPERSEDED, why, sizeof why),
                 SIG_CMP_ERR_ALREADY_REVOKED);
    CHECK(strstr(why, "already revoked") != NULL);
    sig_cmp_free(c);

    /* The CA's answers are MACed with its secret, not ours: refused, whatever they say. */
    cfg = pbm_config(mock_port("good"), "not-the-secret");
    c = connector(&cfg);
    CHECK_EQ_INT(enrol(c, "sim-rsa", "wrong PBM secret", NULL), SIG_CMP_ERR_PROTECTION);
    CHECK_EQ_INT(renew(c, "sim-rsa", "sim-rsa.crt.pem", "kur: wrong PBM secret", NULL), SIG_CMP_ERR_PROTECTION);
    sig_cmp_free(c);
    OPENSSL_free(rsp.p);
}

/*
 * A CA that does not take the RA's word for the proof of possession (the
 * mock without -accept_raverified): the p10cr carries the SIM's own
 * signature and goes through; the kur, raVerified, is refused with badPOP.
 * So the renewal really is a CRMF request with raVerified, not a p10cr.
 */
static void test_ca_refuses_raverified(void)
{
    struct sig_cmp_config cfg = pbm_config(mock_port("norav"), secret);
    struct sig_cmp *c = connector(&cfg);
    struct blob csr = make_csr("sim-rsa");
    struct blob old = cert_der("sim-rsa.crt.pem");
    uint8_t *cert = NULL;
    size_t len = 0;
    char why[512] = "";
    int kur_seen = mock_log_count("norav", "received KUR");

    CHECK_EQ_INT(enrol(c, "sim-rsa", "p10cr, CA checks POP", NULL), SIG_CMP_OK);
    CHECK_EQ_INT(sig_cmp_renew(c, csr.p, csr.n, old.p, old.n, &cert, &len, why, sizeof why), SIG_CMP_ERR_REJECTED);
    printf("  %-28s %s\n", "kur, CA refuses raVerified", why);
    CHECK(cert == NULL && strstr(why, "badPOP") != NULL && strstr(why, "raverified") != NULL);
    CHECK(kur_seen >= 0 && mock_log_count("norav", "received KUR") == kur_seen + 1);
    OPENSSL_free(old.p);
    OPENSSL_free(csr.p);
    sig_cmp_free(c);
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
    /* The kur signed by the RA, not by the old key (which is on the SIM). */
    CHECK_EQ_INT(renew(c, "sim-rsa", "sim-rsa.crt.pem", "kur, RA signature", NULL), SIG_CMP_OK);
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

/* PKIBody kur is [7] (RFC 4210 section 5.1.2); OpenSSL 3.0 keeps its body type names private. */
#define PKIBODY_KUR 7
/* The certReqId OpenSSL 3.0 gives its one certificate request (also private there). */
#define CERTREQID 0

/* What the transfer callback saw: the DER and body type of the last request "sent". */
static unsigned char *sent;
static int sent_len;
static int sent_type = -1;

static OSSL_CMP_MSG *capture(OSSL_CMP_CTX *ctx, const OSSL_CMP_MSG *req)
{
    (void)ctx;
    OPENSSL_free(sent);
    sent = NULL;
    sent_len = i2d_OSSL_CMP_MSG(req, &sent);
    sent_type = OSSL_CMP_MSG_get_bodytype(req);
    return NULL; /* as if the CA were unreachable: nothing more to do */
}

/*
 * The CertReqMessages of a DER PKIMessage whose body has context tag `want`
 * (kur is [7]), decoded by hand so that the test does not trust OpenSSL's
 * CMP code to read back what it wrote; NULL when it is not there.
 * PKIMessage ::= SEQUENCE { header PKIHeader, body PKIBody, ... }.
 */
static OSSL_CRMF_MSGS *crmf_body(const unsigned char *der, long len, int want)
{
    const unsigned char *p = der;
    const unsigned char *end;
    long n;
    int tag, cls;

    if ((ASN1_get_object(&p, &n, &tag, &cls, len) & 0x80) != 0 || tag != V_ASN1_SEQUENCE)
        return NULL;
    end = p + n;
    if ((ASN1_get_object(&p, &n, &tag, &cls, end - p) & 0x80) != 0 || tag != V_ASN1_SEQUENCE)
        return NULL;
    p += n; /* past the header */
    if ((ASN1_get_object(&p, &n, &tag, &cls, end - p) & 0x80) != 0 || cls != V_ASN1_CONTEXT_SPECIFIC || tag != want)
        return NULL;
    return d2i_OSSL_CRMF_MSGS(NULL, &p, n);
}

/* The same extensions, in the same order, criticality and value. */
static int same_exts(const STACK_OF(X509_EXTENSION) * a, const STACK_OF(X509_EXTENSION) * b)
{
    int i;

    if (sk_X509_EXTENSION_num(a) != sk_X509_EXTENSION_num(b))
        return 0;
    for (i = 0; i < sk_X509_EXTENSION_num(a); i++) {
        X509_EXTENSION *x = sk_X509_EXTENSION_value(a, i);
        X509_EXTENSION *y = sk_X509_EXTENSION_value(b, i);

        if (OBJ_cmp(X509_EXTENSION_get_object(x), X509_EXTENSION_get_object(y)) != 0 ||
            X509_EXTENSION_get_critical(x) != X509_EXTENSION_get_critical(y) ||
            ASN1_OCTET_STRING_cmp(X509_EXTENSION_get_data(x), X509_EXTENSION_get_data(y)) != 0)
            return 0;
    }
    return 1;
}

static size_t count_mem(const unsigned char *hay, size_t n, const void *needle, size_t m)
{
    const unsigned char *p = hay;
    const unsigned char *q;
    size_t count = 0;

    while (n >= m && (q = memmem(p, n, needle, m)) != NULL) {
        count++;
        n -= (size_t)(q - p) + 1;
        p = q + 1;
    }
    return count;
}

/*
 * What setup_kur puts on the wire, taken from the transfer callback: a kur
 * whose one CRMF request has the SIM request's key, subject and extensions,
 * the replaced certificate in the oldCertID control (and nowhere else, no
 * generalInfo copy), and POPO raVerified.  Nothing is sent anywhere.
 */
static void kur_on_the_wire(const char *k, const struct sig_csr_subject *subj, const char *label)
{
    struct sig_cmp_config cfg = pbm_config(1, secret);
    struct sig_cmp *c = connector(&cfg);
    struct blob old = cert_der("sim-rsa.crt.pem");
    struct blob csr = make_csr_for(k, subj);
    const unsigned char *p = old.p;
    X509 *x = d2i_X509(NULL, &p, (long)old.n);
    X509_REQ *req = NULL;
    STACK_OF(X509_EXTENSION) *want_exts = NULL;
    unsigned char *spki = NULL;
    int spki_len;
    OSSL_CRMF_MSGS *msgs = NULL;
    OSSL_CMP_CTX *ctx = new_ctx(c);
    /* id-regCtrl-oldCertID, 1.3.6.1.5.5.7.5.1.5 */
    static const unsigned char oid[] = {0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x05, 0x01, 0x05};
    char why[256] = "";

    p = csr.p;
    req = d2i_X509_REQ(NULL, &p, (long)csr.n);
    want_exts = req == NULL ? NULL : X509_REQ_get_extensions(req);
    spki_len = req == NULL ? -1 : i2d_PUBKEY(X509_REQ_get0_pubkey(req), &spki);
    CHECK(ctx != NULL && req != NULL && x != NULL && want_exts != NULL && spki_len > 0);
    if (ctx == NULL || req == NULL || x == NULL || want_exts == NULL || spki_len <= 0)
        goto out;
    CHECK_EQ_INT(setup_kur(ctx, req, x, why, sizeof why), SIG_CMP_OK);
    CHECK(OSSL_CMP_CTX_set_transfer_cb(ctx, capture));
    CHECK(OSSL_CMP_exec_KUR_ses(ctx) == NULL);
    CHECK(sent_len > 0);
    if (sent_len <= 0)
        goto out;
    CHECK_EQ_INT(sent_type, PKIBODY_KUR);
    msgs = crmf_body(sent, sent_len, PKIBODY_KUR);
    CHECK(msgs != NULL && sk_OSSL_CRMF_MSG_num(msgs) == 1);
    if (msgs != NULL && sk_OSSL_CRMF_MSG_num(msgs) == 1) {
        OSSL_CRMF_MSG *crm = sk_OSSL_CRMF_MSG_value(msgs, 0);
        OSSL_CRMF_CERTTEMPLATE *tmpl = OSSL_CRMF_MSG_get0_tmpl(crm);
        OSSL_CRMF_CERTID *cid = OSSL_CRMF_MSG_get0_regCtrl_oldCertID(crm);
        const STACK_OF(X509_EXTENSION) *exts = OSSL_CRMF_CERTTEMPLATE_get0_extensions(tmpl);
        const unsigned char *key_at;

        printf("  %-28s %d octets, %d extensions\n", label, sent_len, sk_X509_EXTENSION_num(exts));
        /* The replaced certificate: CertId(issuer, serial) in the control. */
        CHECK(cid != NULL);
        CHECK(cid != NULL && X509_NAME_cmp(OSSL_CRMF_CERTID_get0_issuer(cid), X509_get_issuer_name(x)) == 0);
        CHECK(cid != NULL && ASN1_INTEGER_cmp(OSSL_CRMF_CERTID_get0_serialNumber(cid), X509_get0_serialNumber(x)) == 0);
        CHECK_EQ_INT(count_mem(sent, (size_t)sent_len, oid, sizeof oid), 1);
        /* The template: the request's subject, key and extensions; the old certificate's issuer. */
        CHECK(X509_NAME_cmp(OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl), X509_REQ_get_subject_name(req)) == 0);
        if (subj == &subject_moved) { /* a change of details carries the new name, not the old one */
            unsigned char *name = NULL;
            int name_len = i2d_X509_NAME(X509_get_subject_name(x), &name);

            CHECK(X509_NAME_cmp(OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl), X509_get_subject_name(x)) != 0);
            /* The old name is there once: as the header's sender, OpenSSL's choice with PBM (sig_cmp.h). */
            CHECK(name_len > 0 && count_mem(sent, (size_t)sent_len, name, (size_t)name_len) == 1);
            OPENSSL_free(name);
        }
        CHECK(X509_NAME_cmp(OSSL_CRMF_CERTTEMPLATE_get0_issuer(tmpl), X509_get_issuer_name(x)) == 0);
        CHECK(OSSL_CRMF_CERTTEMPLATE_get0_serialNumber(tmpl) == NULL);
        /* The key: the SPKI's content under the template's [6] IMPLICIT tag (0xa6), once. */
        CHECK_EQ_INT(count_mem(sent, (size_t)sent_len, spki + 1, (size_t)spki_len - 1), 1);
        key_at = memmem(sent, (size_t)sent_len, spki + 1, (size_t)spki_len - 1);
        CHECK(key_at != NULL && key_at > sent && key_at[-1] == 0xa6);
        CHECK(same_exts(exts, want_exts));
        CHECK(X509v3_get_ext_by_NID(exts, NID_key_usage, -1) >= 0);
        /* Nothing of the old certificate's subjectAltName (email:sim@simpki.test), with or without ours. */
        CHECK(memmem(sent, (size_t)sent_len, "sim@simpki.test", 15) == NULL);
        CHECK_EQ_INT(X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1) >= 0, subj->email != NULL);
        if (subj->email != NULL)
            CHECK(memmem(sent, (size_t)sent_len, subj->email, strlen(subj->email)) != NULL);
        /* POPO raVerified: refused unless the verifier accepts raVerified, then fine. */
        CHECK_EQ_INT(OSSL_CRMF_MSGS_verify_popo(msgs, CERTREQID, 0, NULL, NULL), 0);
        CHECK_EQ_INT(OSSL_CRMF_MSGS_verify_popo(msgs, CERTREQID, 1, NULL, NULL), 1);
    }
out:
    ERR_clear_error();
    OSSL_CRMF_MSGS_free(msgs);
    OSSL_CMP_CTX_free(ctx);
    OPENSSL_free(sent);
    sent = NULL;
    sent_len = 0;
    sent_type = -1;
    OPENSSL_free(spki);
    sk_X509_EXTENSION_pop_free(want_exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    X509_free(x);
    OPENSSL_free(csr.p);
    OPENSSL_free(old.p);
    sig_cmp_free(c);
}

static void test_kur_on_the_wire(void)
{
    kur_on_the_wire("sim-rsa", &subject_an, "kur on the wire");
    kur_on_the_wire("sim-rsa", &subject_moved, "kur, change of details");
    kur_on_the_wire("sim-rsa", &subject_no_email, "kur, no e-mail");
    /* A new key (a change with a new SIM): the template has it, not the old certificate's. */
    kur_on_the_wire("sim-ec", &subject_an, "kur, new key");
}

static void test_names(void)
{
    CHECK_EQ_STR(sig_cmp_reason_name(SIG_CMP_REASON_KEY_COMPROMISE), "keyCompromise");
    CHECK(sig_cmp_reason_name((enum sig_cmp_reason)2) == NULL);
    CHECK_EQ_INT(sig_cmp_reason_parse("cessationOfOperation"), SIG_CMP_REASON_CESSATION_OF_OPERATION);
    CHECK_EQ_INT(sig_cmp_reason_parse("cACompromise"), -1);
    CHECK(!sig_cmp_err_is_temporary(SIG_CMP_ERR_WRONG_KEY));
}

/* OpenSSL's CMP lines name certificates by subject: the holder's name and ID number never reach the log. */
static void test_redact(void)
{
    char out[200];

    cmp_redact("rejecting newly enrolled cert with subject: /C=VN/CN=Tran Minh Khoa/UID=CCCD:001060000182", out,
               sizeof out);
    CHECK_EQ_STR(out, "rejecting newly enrolled cert with subject: (name withheld)");
    cmp_redact("received CP with issuer: /C=VN/CN=CA and subject: /UID=CCCD:001060000182", out, sizeof out);
    CHECK_EQ_STR(out, "received CP with issuer: (name withheld)");
    cmp_redact("sending IR", out, sizeof out);
    CHECK_EQ_STR(out, "sending IR");
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
    test_redact();
    test_names();
    test_config();
    test_kur_on_the_wire();
    test_good();
    test_refusals();
    test_ca_refuses_raverified();
    test_poll_and_ra();
    test_unreachable();
    sig_trust_free(trust);
    return check_report("test_cmp");
}
