/*
 * test_engine.c - the transaction engine (gateway/txn) driven through a fake
 * transport, against a real, throwaway redis-server.
 *
 * The transport is this file's own `struct car_ops` ("fake"), handed to the
 * engine in gw_engine_deps.transports: nothing in gateway/ or carriers/
 * names it, which is the point (docs/design.md "Transports by name").  It
 * records every request it is given and never answers by itself; the test
 * plays the carrier and the SIM: it reports `sent`, sends answers through
 * `mo` in a trivial encoding of its own that the fake decode() turns into a
 * struct car_reply, and makes real signatures (RSA PKCS#1 v1.5, ECDSA, CMS)
 * with the demo PKI's subscriber keys (tests/sim/mkdemo.sh).
 *
 * Past 1,000 lines on purpose: the fake transport, the harness and the
 * scenarios share one engine, one server and one PKI, and the scenarios are
 * the engine's specification read top to bottom.
 *
 * Every scenario asserts what Redis stores (q_txn_get), never a log line:
 *   sign (RSA and EC), cancel, expiry, resubmission after a crash, a wrong
 *   signature, CMS answers (good, and over another digest), the OTA counter
 *   resync, a far end's own id kept across a crash, failover between links.
 *
 *   test_engine [DEMO_DIR]   DEMO_DIR: where mkdemo.sh builds (or finds, up to
 *                            date) the demo PKI; default SIMPKI_DEMO_DIR, in
 *                            the build tree (the first build takes a minute)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "car.h"
#include "cfg.h"
#include "check.h"
#include "loop_test.h"
#include "gw_metrics.h"
#include "gw_sign_check.h"
#include "gw_txn.h"
#include "gw_util.h"
#include "log.h"
#include "q.h"
#include "q_ev.h"
#include "redis_test.h"
#include "sig.h"

#if !defined(SIMPKI_SRC_DIR) || !defined(SIMPKI_DEMO_DIR)
#error "SIMPKI_SRC_DIR (the repository root, for tests/sim/mkdemo.sh) and SIMPKI_DEMO_DIR must be defined"
#endif

#define RP          "eoffice-test"
#define TXN_TIMEOUT 5 /* s; the loader's floor is 10, set in memory to keep the expiry short */
#define LEASE_S     2 /* resubmit_lease_s, the loader's floor */
#define WAIT_MS     4000
#define MAX_SUBMITS 64
#define BLOB_HDR    21
#define MAX_SIG     1024

static char demo[512];
static struct event_base *base;

/* The demo PKI: mkdemo.sh skips what is up to date, so a second run is cheap. */
static int make_demo(void)
{
    char script[600];
    pid_t pid;
    int st = 0;

    snprintf(script, sizeof script, "%s/tests/sim/mkdemo.sh", SIMPKI_SRC_DIR);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execlp("bash", "bash", script, demo, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

/* ---- the loop ----------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the fake transport ------------------------------------------------- */

/* What the engine asked of the "carrier", one entry per submit. */
struct fake_submit {
    enum car_op op;
    uint64_t cntr;
    uint8_t txn_ref[8];
    enum dg_alg digest_alg;
    uint8_t digest[64];
    size_t digest_len;
    char msisdn[16];
    char iccid[24];
    char txn_id[32];  /* car_request.txn_id: what car_events.answer() names */
    char far_ref[64]; /* car_request.far_ref: a far end's id handed back */
    char link[32];    /* the link the engine chose */
    void *handle;     /* the engine's; valid until sent() is reported */
};

struct car_link {
    struct car_link_base base; /* first: car.h dispatches through it */
    int up;
};

static struct fake_submit submits[MAX_SUBMITS];
static int n_submits;
static struct car_events fake_ev;      /* the engine's events, from the last open() */
static struct car_link *fake_link;     /* the last opened */
static struct car_link *fake_links[2]; /* fake-1, fake-2: failover between them */
static int n_decoded;
static const struct car_ops fake_ops;
static char decoded_for[16]; /* the subscriber decode() was given: the engine's lookup */

static enum car_err fake_open(struct event_base *b, const struct cfg_carrier *carrier, const struct cfg_link *lc,
                              const struct car_events *ev, struct car_link **out)
{
    struct car_link *l;

    (void)b;
    *out = NULL;
    if (strcmp(lc->transport, "fake") != 0)
        return CAR_ERR_INVALID;
    l = calloc(1, sizeof(*l));
    if (!l)
        return CAR_ERR_NOMEM;
    l->base.ops = &fake_ops;
    l->base.carrier = carrier;
    snprintf(l->base.name, sizeof(l->base.name), "%s", lc->name);
    fake_ev = *ev;
    fake_link = l;
    fake_links[strcmp(lc->name, "fake-2") == 0] = l;
    *out = l;
    return CAR_OK;
}

static enum car_err fake_submit(struct car_link *l, const struct car_request *req, void *handle)
{
    struct fake_submit *s;

    if (n_submits == MAX_SUBMITS || req->digest_len > sizeof(s->digest))
        return CAR_ERR_AGAIN;
    s = &submits[n_submits++];
    memset(s, 0, sizeof(*s));
    s->op = req->op;
    s->cntr = req->cntr;
    memcpy(s->txn_ref, req->txn_ref, sizeof(s->txn_ref));
    s->digest_alg = req->digest_alg;
    s->digest_len = req->digest ? req->digest_len : 0;
    if (s->digest_len)
        memcpy(s->digest, req->digest, s->digest_len);
    snprintf(s->msisdn, sizeof(s->msisdn), "%s", req->sub.msisdn);
    snprintf(s->iccid, sizeof(s->iccid), "%s", req->sub.iccid);
    snprintf(s->txn_id, sizeof(s->txn_id), "%s", req->txn_id);
    snprintf(s->far_ref, sizeof(s->far_ref), "%s", req->far_ref);
    snprintf(s->link, sizeof(s->link), "%s", l->base.name);
    s->handle = handle;
    return CAR_OK; /* sent() is the test's to report */
}

/*
 * The answer's encoding, this transport's own:
 *   outcome(1) sig_format(1) has_ref(1) cntr(8, big endian) txn_ref(8)
 *   sig_len(2, big endian) signature(sig_len)
 */
static size_t blob_make(uint8_t *b, enum car_outcome outcome, enum car_sig_format fmt, uint64_t cntr,
                        const uint8_t *ref, const uint8_t *sig, size_t sig_len)
{
    b[0] = (uint8_t)outcome;
    b[1] = (uint8_t)fmt;
    b[2] = ref != NULL;
    for (int i = 0; i < 8; i++)
        b[3 + i] = (uint8_t)(cntr >> (56 - 8 * i));
    memset(b + 11, 0, 8);
    if (ref)
        memcpy(b + 11, ref, 8);
    b[19] = (uint8_t)(sig_len >> 8);
    b[20] = (uint8_t)sig_len;
    if (sig_len)
        memcpy(b + BLOB_HDR, sig, sig_len);
    return BLOB_HDR + sig_len;
}

static enum car_err fake_decode(struct car_link *l, const struct car_subscriber *sub, const uint8_t *d, size_t len,
                                struct car_reply *out)
{
    size_t sig_len;

    (void)l;
    n_decoded++;
    snprintf(decoded_for, sizeof(decoded_for), "%s", sub->msisdn);
    if (len < BLOB_HDR)
        return CAR_ERR_MALFORMED;
    sig_len = (size_t)d[19] << 8 | d[20];
    if (len != BLOB_HDR + sig_len || sig_len > sizeof(out->buf) || d[0] >= CAR_OUT_COUNT || d[1] > CAR_SIG_CMS)
        return CAR_ERR_MALFORMED;
    memset(out, 0, sizeof(*out));
    out->outcome = (enum car_outcome)d[0];
    out->sig_format = (enum car_sig_format)d[1];
    out->op = CAR_OP_SIGN;
    out->corr.has_ref = d[2];
    for (int i = 0; i < 8; i++)
        out->corr.cntr = out->corr.cntr << 8 | d[3 + i];
    memcpy(out->corr.txn_ref, d + 11, 8);
    if (sig_len) {
        memcpy(out->buf, d + BLOB_HDR, sig_len);
        out->signature = out->buf;
        out->sig_len = sig_len;
    }
    return CAR_OK;
}

static void fake_stats(const struct car_link *l, struct car_link_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->up = l->up;
}

static void fake_close(struct car_link *l)
{
    if (l == fake_link)
        fake_link = NULL;
    for (int k = 0; k < 2; k++)
        if (fake_links[k] == l)
            fake_links[k] = NULL;
    free(l);
}

/* A far end that shows at most 20 octets: the front ends ask it through gw_txn_check_text. */
static enum car_err fake_check_text(const char *text, char *why, size_t whylen)
{
    if (strlen(text) <= 20)
        return CAR_OK;
    snprintf(why, whylen, "the fake device shows 20 octets, not %zu", strlen(text));
    return CAR_ERR_TOO_LONG;
}

static const struct car_ops fake_ops = {
    .name = "fake",
    .resubmit_safe = 1,
    .check_text = fake_check_text,
    .open = fake_open,
    .submit = fake_submit,
    .decode = fake_decode,
    .stats = fake_stats,
    .close = fake_close,
};
static const struct car_ops *const fake_transports[] = {&fake_ops};

/* The carrier reports what became of the submit (car_events.sent). */
static void report_sent(int i)
{
    fake_ev.sent(fake_ev.arg, submits[i].handle, CAR_OK, NULL, 0, NULL);
    submits[i].handle = NULL;
}

/* ... with its own id for it, or refusing it for now (CAR_ERR_AGAIN: it reached nobody). */
static void report_sent_as(int i, enum car_err st, const char *far_ref)
{
    fake_ev.sent(fake_ev.arg, submits[i].handle, st, st == CAR_OK ? NULL : "busy", 0, far_ref);
    submits[i].handle = NULL;
}

static void link_state(int k, int up)
{
    if (fake_links[k]) {
        fake_links[k]->up = up;
        fake_ev.state(fake_ev.arg, fake_links[k], up);
    }
}

/* The SIM answers submit i: the outcome, echoing its counter (and txn_ref when with_ref). */
static void answer(int i, enum car_outcome outcome, int with_ref, enum car_sig_format fmt, const uint8_t *sig,
                   size_t sig_len)
{
    uint8_t blob[BLOB_HDR + MAX_SIG];
    size_t n;

    if (sig_len > MAX_SIG) {
        CHECK(sig_len <= MAX_SIG);
        return;
    }
    n = blob_make(blob, outcome, fmt, submits[i].cntr, with_ref ? submits[i].txn_ref : NULL, sig, sig_len);
    fake_ev.mo(fake_ev.arg, fake_link, submits[i].msisdn, blob, n);
}

/* ---- the demo PKI: subscribers' certificates and keys ---------------------- */

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)n;
    }
    fclose(f);
    return buf;
}

struct subscriber {
    const char *msisdn;
    uint8_t *cert_der;
    size_t cert_len;
    X509 *cert;
    EVP_PKEY *key;
};

static int sub_load(struct subscriber *s, const char *msisdn)
{
    char path[700];
    const uint8_t *p;
    FILE *f;

    memset(s, 0, sizeof(*s));
    s->msisdn = msisdn;
    snprintf(path, sizeof path, "%s/pki/subs/%s.crt.der", demo, msisdn);
    s->cert_der = read_file(path, &s->cert_len);
    p = s->cert_der;
    s->cert = s->cert_der ? d2i_X509(NULL, &p, (long)s->cert_len) : NULL;
    snprintf(path, sizeof path, "%s/pki/subs/%s.key.pem", demo, msisdn);
    f = fopen(path, "r");
    s->key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return s->cert && s->key ? 0 : -1;
}

static void sub_free(struct subscriber *s)
{
    free(s->cert_der);
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
}

/* Into the registry, as simpki-admin import puts it (fresh: counter 0, no pin). */
static void sub_register(const struct cfg_redis *rc, const struct subscriber *s)
{
    struct q_sync *qs = NULL;
    struct q_sub qsub = {.net = 1, .kv = 1, .cert = s->cert_der, .cert_len = s->cert_len};
    char why[128] = "";

    snprintf(qsub.msisdn, sizeof qsub.msisdn, "%s", s->msisdn);
    snprintf(qsub.iccid, sizeof qsub.iccid, "898404000%s", s->msisdn + 2);
    snprintf(qsub.status, sizeof qsub.status, "active");
    CHECK_EQ_INT(q_sync_connect(rc, &qs, why, sizeof why), Q_OK);
    if (qs)
        CHECK_EQ_INT(q_sync_sub_put(qs, &qsub), Q_OK);
    q_sync_free(qs);
}

/* What a SIM does: PKCS#1 v1.5 (RSA) or DER ECDSA over the digest it was given. */
static size_t sim_sign(EVP_PKEY *key, const uint8_t *digest, size_t dlen, uint8_t *sig, size_t cap)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(key, NULL);
    size_t n = cap;
    int ok = c && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1;

    if (ok && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_PKEY_sign(c, sig, &n, digest, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? n : 0;
}

/* OpenSSL alone, not simpki's signer: does sig verify over digest with cert's key? */
static int openssl_verifies(const uint8_t *cert_der, size_t cert_len, const uint8_t *digest, size_t dlen,
                            const uint8_t *sig, size_t sig_len)
{
    const uint8_t *p = cert_der;
    X509 *x = d2i_X509(NULL, &p, (long)cert_len);
    EVP_PKEY_CTX *c = x ? EVP_PKEY_CTX_new(X509_get0_pubkey(x), NULL) : NULL;
    int ok = c && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()) == 1;

    if (ok && EVP_PKEY_get_base_id(X509_get0_pubkey(x)) == EVP_PKEY_RSA)
        ok = EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1;
    ok = ok && EVP_PKEY_verify(c, sig, sig_len, digest, dlen) == 1;
    EVP_PKEY_CTX_free(c);
    X509_free(x);
    return ok;
}

/*
 * What a signature service answers with MSS_Format CMS: a detached
 * SignedData over `doc` (its messageDigest is SHA-256(doc)), signed with the
 * subscriber's key, no certificates embedded (the registered one is used).
 */
static size_t cms_sign(const struct subscriber *s, const char *doc, uint8_t *out, size_t cap)
{
    BIO *in = BIO_new_mem_buf(doc, (int)strlen(doc));
    CMS_ContentInfo *cms =
        in ? CMS_sign(s->cert, s->key, NULL, in, CMS_BINARY | CMS_DETACHED | CMS_NOCERTS | CMS_NOSMIMECAP) : NULL;
    int n = cms ? i2d_CMS_ContentInfo(cms, NULL) : -1;
    uint8_t *p = out;

    if (n <= 0 || (size_t)n > cap || i2d_CMS_ContentInfo(cms, &p) != n)
        n = 0;
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    return (size_t)n;
}

static void sha256_of(const char *doc, uint8_t md[32])
{
    SHA256((const unsigned char *)doc, strlen(doc), md);
}

/* ---- the engine ------------------------------------------------------------ */

static struct cfg *cfg;
static struct sig_trust *trust;
static struct gw_metrics metrics;
static struct q *q;
static struct gw_engine *engine;

/*
 * The engine as gw_main wires it, but with this file's transport table: the
 * configured link names "fake", and only the table knows it.
 */
static int engine_up(void)
{
    struct gw_engine_deps deps = {.cfg = cfg,
                                  .base = base,
                                  .trust = trust,
                                  .metrics = &metrics,
                                  .transports = fake_transports,
                                  .n_transports = sizeof fake_transports / sizeof fake_transports[0]};
    int64_t end = now_ms() + 3000;

    if (q_new(base, &cfg->redis, &q) != Q_OK)
        return -1;
    q_set_retention(q, (int64_t)cfg->txn_retention_s * 1000);
    while (!q_connected(q) && now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    deps.q = q;
    if (!q_connected(q) || gw_engine_new(&deps, &engine) != GW_OK || !fake_links[0] || !fake_links[1])
        return -1;
    link_state(0, 1);
    link_state(1, 1);
    return gw_engine_links_up(engine) ? 0 : -1;
}

/* gw_main's order: Redis first (its callbacks answered while the engine exists), then the engine. */
static void engine_down(void)
{
    q_free(q);
    q = NULL;
    gw_engine_free(engine);
    engine = NULL;
    event_base_loop(base, EVLOOP_NONBLOCK);
}

struct started {
    int n;
    enum gw_err err;
    char id[Q_ID_LEN];
    uint64_t cntr;
};

static void on_started(void *arg, enum gw_err err, const struct q_txn *txn, int existed)
{
    struct started *s = arg;

    s->err = err;
    if (txn) {
        memcpy(s->id, txn->id, sizeof s->id);
        s->cntr = txn->cntr;
    }
    CHECK_EQ_INT(existed, 0);
    s->n++;
}

/*
 * The display text limit is the routed transport's (car_ops.check_text), asked
 * before anything is written: the fake's 20 octets for a number its carrier
 * serves, nothing for a network no link serves (the request fails on routing).
 */
static void scenario_text(const struct subscriber *s)
{
    char why[160] = "";

    CHECK_EQ_INT(gw_txn_check_text(engine, s->msisdn, "Ký công văn 12", why, sizeof why), GW_OK);
    CHECK_EQ_INT(gw_txn_check_text(engine, s->msisdn, "Ký công văn số 123/QĐ-UBND", why, sizeof why),
                 GW_ERR_TEXT_TOO_LONG);
    CHECK(strstr(why, "20 octets") != NULL);
    CHECK_EQ_STR(
        gw_sign_check_text(gw_txn_check_text, engine, s->msisdn, "Ký công văn số 123/QĐ-UBND", why, sizeof why),
        "TEXT_TOO_LONG");
    CHECK(gw_sign_check_text(gw_txn_check_text, engine, s->msisdn, "Ký", why, sizeof why) == NULL);
    /* Vinaphone: no link here serves it, so no transport is asked. */
    CHECK_EQ_INT(gw_txn_check_text(engine, "84910000001", "Ký công văn số 123/QĐ-UBND", why, sizeof why), GW_OK);
}

/* Start a raw SHA-256 signature of `doc` for msisdn; the stored id in st. */
static void start(const char *msisdn, const char *doc, struct started *st)
{
    uint8_t md[32];
    char hash[65];
    struct gw_sign_req req = {.rp = RP,
                              .msisdn = msisdn,
                              .digest_alg = DG_SHA256,
                              .digest = md,
                              .digest_len = sizeof md,
                              .display_text = "Ký văn bản số 123/QĐ-UBND",
                              .format = Q_FORMAT_RAW};

    sha256_of(doc, md);
    for (size_t i = 0; i < sizeof md; i++)
        snprintf(hash + 2 * i, 3, "%02x", md[i]);
    req.req_hash = hash;
    memset(st, 0, sizeof(*st));
    gw_txn_start(engine, &req, on_started, st);
    CHECK(loop_test_pump(base, &st->n, 1, WAIT_MS));
    CHECK_EQ_INT(st->err, GW_OK);
}

/* Run the loop until the engine has made n submits in all (ms at most): 0, or -1 (a failed check) if not n. */
static int pump_submits(int n, int ms)
{
    CHECK(loop_test_pump(base, &n_submits, n, ms));
    if (n_submits != n) {
        CHECK_EQ_INT(n_submits, n);
        return -1;
    }
    return 0;
}

/* start(), then the engine's submit: its index in submits[], or -1 (a failed check) when none came. */
static int start_submitted(const char *msisdn, const char *doc, struct started *st)
{
    int i = n_submits;

    start(msisdn, doc, st);
    if (pump_submits(i + 1, WAIT_MS) < 0)
        return -1;
    return i;
}

/* A transaction as Redis stores it. */
struct stored {
    int n;
    enum q_err err;
    enum q_state state;
    char result[32];
    int etsi;
    char detail[160];
    uint64_t cntr;
    unsigned resent;
    int resync;
    char far_link[Q_FAR_LINK_LEN], far_ref[Q_FAR_REF_LEN];
    uint8_t sig[2048];
    size_t sig_len;
    uint8_t cert[4096];
    size_t cert_len;
};

static void on_got(void *arg, enum q_err err, const struct q_txn *t)
{
    struct stored *s = arg;

    s->err = err;
    if (err == Q_OK && t) {
        s->state = t->state;
        snprintf(s->result, sizeof s->result, "%s", t->result);
        s->etsi = t->etsi_status;
        snprintf(s->detail, sizeof s->detail, "%s", t->detail);
        s->cntr = t->cntr;
        s->resent = t->resent;
        s->resync = t->resync;
        snprintf(s->far_link, sizeof s->far_link, "%s", t->far_link);
        snprintf(s->far_ref, sizeof s->far_ref, "%s", t->far_ref);
        s->sig_len = t->sig_len <= sizeof s->sig ? t->sig_len : 0;
        if (s->sig_len)
            memcpy(s->sig, t->signature, s->sig_len);
        s->cert_len = t->cert_len <= sizeof s->cert ? t->cert_len : 0;
        if (s->cert_len)
            memcpy(s->cert, t->cert, s->cert_len);
    }
    s->n++;
}

static void get(const char *id, struct stored *s)
{
    memset(s, 0, sizeof(*s));
    q_txn_get(q, id, on_got, s);
    CHECK(loop_test_pump(base, &s->n, 1, WAIT_MS));
    CHECK_EQ_INT(s->err, Q_OK);
}

/*
 * A field of the stored txn hash that struct q_txn does not carry (transport
 * and link, written by finish for the evidence archive), read behind the
 * engine's back; "" when absent.
 */
static void txn_field(const char *id, const char *field, char *out, size_t cap)
{
    redisContext *c = redis_test_connect();
    redisReply *r = c ? redisCommand(c, "HGET spk:{%u}:txn:%s %s",
                                     (unsigned)strtoul((char[3]){id[0], id[1], 0}, NULL, 16), id, field)
                      : NULL;

    snprintf(out, cap, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    if (c)
        redisFree(c);
}

#define CHECK_TXN_FIELD(id, field, want)     \
    do {                                     \
        char v_[64];                         \
        txn_field(id, field, v_, sizeof v_); \
        CHECK_EQ_STR(v_, want);              \
    } while (0)

/* Read the transaction until it is no longer pending (or ms pass). */
static void get_final(const char *id, int ms, struct stored *s)
{
    int64_t end = now_ms() + ms;

    for (;;) {
        memset(s, 0, sizeof(*s));
        q_txn_get(q, id, on_got, s);
        loop_test_pump(base, &s->n, 1, WAIT_MS);
        if (s->n == 0 || s->err != Q_OK || s->state != Q_PENDING || now_ms() >= end)
            break;
        loop_test_pump(base, NULL, 0, 50);
    }
    CHECK_EQ_INT(s->err, Q_OK);
}

/* Submit i is the SIGN the engine should have given the transport for this transaction. */
static void check_submit(int i, const char *msisdn, uint64_t cntr, const char *doc)
{
    uint8_t md[32];

    sha256_of(doc, md);
    CHECK_EQ_INT(submits[i].op, CAR_OP_SIGN);
    CHECK_EQ_INT(submits[i].cntr, cntr);
    CHECK_EQ_STR(submits[i].msisdn, msisdn);
    CHECK_EQ_INT(submits[i].digest_alg, DG_SHA256);
    CHECK_EQ_INT(submits[i].digest_len, 32);
    CHECK_MEM(submits[i].digest, md, 32);
    CHECK(submits[i].handle != NULL);
}

/* ---- scenarios ---------------------------------------------------------------- */

/* 1. start -> submit (counter 1, the digest) -> sent -> OK with a valid signature -> completed. */
/*
 * A transport that correlates answers itself (an MSSP answering by its own
 * transaction id): car_events.answer(txn_id, reply), no mo()/decode().  The
 * engine finds the transaction by id, checks it is still the subscriber's
 * pending one, verifies and finishes; an answer for an id that is not
 * pending, or a malformed id, changes nothing.
 */
static void scenario_answer_by_id(const struct subscriber *s)
{
    const char *doc = "Giấy mời 88/GM-UBND";
    struct started st;
    struct stored t;
    struct car_reply *r = calloc(1, sizeof(*r));
    size_t sig_len;
    int i = n_submits, decoded = n_decoded;

    start(s->msisdn, doc, &st);
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    if (!r || n_submits != i + 1) {
        CHECK_EQ_INT(n_submits, i + 1);
        free(r);
        return;
    }
    CHECK_EQ_STR(submits[i].txn_id, st.id); /* the transport is told the id it answers by */
    report_sent(i);
    sig_len = sim_sign(s->key, submits[i].digest, submits[i].digest_len, r->buf, sizeof r->buf);
    CHECK(sig_len > 0);
    r->outcome = CAR_OUT_OK;
    r->sig_format = CAR_SIG_RAW;
    r->signature = r->buf;
    r->sig_len = sig_len;
    fake_ev.answer(fake_ev.arg, "not-an-id", r); /* ignored */
    fake_ev.answer(fake_ev.arg,
                   "00"
                   "0123456789abcdef01234567",
                   r); /* no such transaction */
    fake_ev.answer(fake_ev.arg, st.id, r);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(n_decoded, decoded); /* no decode: the transport decoded it already */
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
    CHECK_EQ_INT(t.sig_len, sig_len);
    CHECK_MEM(t.sig, r->buf, sig_len);
    CHECK(openssl_verifies(t.cert, t.cert_len, submits[i].digest, 32, t.sig, t.sig_len));
    /* Which link answered is not said (car_events.answer): the carrier stands for it, with its links' transport. */
    CHECK_TXN_FIELD(st.id, "transport", "fake");
    CHECK_TXN_FIELD(st.id, "link", "viettel");

    /* A late second answer (USER_CANCEL) for the finished transaction changes nothing. */
    r->outcome = CAR_OUT_USER_CANCEL;
    r->signature = NULL;
    r->sig_len = 0;
    fake_ev.answer(fake_ev.arg, st.id, r);
    loop_test_pump(base, NULL, 0, 300);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
}

static void scenario_sign(const struct subscriber *s)
{
    const char *doc = "Quyết định 123/QĐ-UBND";
    struct started st;
    struct stored t;
    uint8_t sig[512], ref[8];
    size_t sig_len;
    int i = n_submits, decoded;

    start(s->msisdn, doc, &st);
    CHECK_EQ_INT(st.cntr, 1); /* a fresh subscriber's first command */
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    CHECK_EQ_INT(n_submits, i + 1);
    if (n_submits != i + 1)
        return;
    check_submit(i, s->msisdn, 1, doc);
    CHECK_EQ_INT(gw_txn_ref_from_id(st.id, ref), 0);
    CHECK_MEM(submits[i].txn_ref, ref, 8);
    report_sent(i);

    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_PENDING);

    sig_len = sim_sign(s->key, submits[i].digest, submits[i].digest_len, sig, sizeof sig);
    CHECK(sig_len > 0);
    decoded = n_decoded;
    answer(i, CAR_OUT_OK, 1, CAR_SIG_RAW, sig, sig_len);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(n_decoded, decoded + 1); /* decoded by the transport, with the subscriber the engine looked up */
    CHECK_EQ_STR(decoded_for, s->msisdn);
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
    CHECK_EQ_INT(t.etsi, 502);
    CHECK_EQ_INT(t.sig_len, sig_len);
    CHECK_MEM(t.sig, sig, sig_len);
    CHECK_EQ_INT(t.cert_len, s->cert_len);
    CHECK_MEM(t.cert, s->cert_der, s->cert_len);
    CHECK(openssl_verifies(t.cert, t.cert_len, submits[i].digest, 32, t.sig, t.sig_len));
    CHECK_EQ_INT(n_submits, i + 1); /* one command, one submit */
    /* The evidence archive's: the transport and link the SIM's answer came in on. */
    CHECK_TXN_FIELD(st.id, "transport", "fake");
    CHECK_TXN_FIELD(st.id, "link", car_link_name(fake_link));
}

/* 2. The subscriber refuses: failed USER_CANCEL, ETSI 401, no signature. */
static void scenario_cancel(const struct subscriber *s)
{
    struct started st;
    struct stored t;
    int i = n_submits;

    if (start_submitted(s->msisdn, "Công văn 45/UBND-VP", &st) < 0)
        return;
    report_sent(i);
    answer(i, CAR_OUT_USER_CANCEL, 1, CAR_SIG_RAW, NULL, 0);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_FAILED);
    CHECK_EQ_STR(t.result, "USER_CANCEL");
    CHECK_EQ_INT(t.etsi, 401);
    CHECK_EQ_INT(t.sig_len, 0);
}

/* 3. No answer: after the deadline the sweep stores failed EXPIRED (208). */
static void scenario_expiry(const struct subscriber *s)
{
    struct started st;
    struct stored t;
    int64_t t0 = now_ms();
    int i = n_submits;

    if (start_submitted(s->msisdn, "Tờ trình 7/TTr", &st) < 0)
        return;
    report_sent(i);
    loop_test_pump(base, NULL, 0, 1000);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_PENDING); /* not before its time */
    get_final(st.id, TXN_TIMEOUT * 1000 + WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_FAILED);
    CHECK_EQ_STR(t.result, "EXPIRED");
    CHECK_EQ_INT(t.etsi, 208);
    CHECK_TXN_FIELD(st.id, "link", ""); /* no answer carried it */
    CHECK(now_ms() - t0 >= TXN_TIMEOUT * 1000 - 200);
    CHECK_EQ_INT(n_submits, i + 1); /* sent once: never resubmitted */
}

/*
 * The evidence archive's bound (q_ev.h): while the shard's stream holds
 * max_backlog events a new signature is refused (GW_ERR_BACKLOG, counted),
 * and once it drains one is taken again, and its outcome appended.
 */
static void scenario_backlog(const struct subscriber *s)
{
    unsigned shard = q_shard_of(s->msisdn, cfg->redis.shards);
    redisContext *c = redis_test_connect();
    redisReply *r;
    struct started st;
    struct stored t;
    uint64_t refused = metrics.c[GW_M_SIGN_BACKLOG_REFUSED];
    uint8_t md[32] = {1};
    struct gw_sign_req req = {.rp = RP,
                              .msisdn = s->msisdn,
                              .digest_alg = DG_SHA256,
                              .digest = md,
                              .digest_len = sizeof md,
                              .display_text = "Ký văn bản",
                              .req_hash = "h",
                              .format = Q_FORMAT_RAW};
    int i = n_submits;

    CHECK(c != NULL);
    if (!c)
        return;
    q_ev_enable(q, 2);
    freeReplyObject(redisCommand(c, "XADD spk:{%u}:ev * eid a", shard));
    freeReplyObject(redisCommand(c, "XADD spk:{%u}:ev * eid b", shard));
    memset(&st, 0, sizeof(st));
    gw_txn_start(engine, &req, on_started, &st);
    CHECK(loop_test_pump(base, &st.n, 1, WAIT_MS));
    CHECK_EQ_INT(st.err, GW_ERR_BACKLOG);
    CHECK_EQ_INT(metrics.c[GW_M_SIGN_BACKLOG_REFUSED], refused + 1);
    CHECK_EQ_INT(n_submits, i); /* nothing sent */
    freeReplyObject(redisCommand(c, "DEL spk:{%u}:ev", shard));
    start(s->msisdn, "Quyết định 9/QĐ", &st);
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    if (n_submits == i + 1) {
        report_sent(i);
        answer(i, CAR_OUT_USER_CANCEL, 1, CAR_SIG_RAW, NULL, 0);
        get_final(st.id, WAIT_MS, &t);
        CHECK_EQ_STR(t.result, "USER_CANCEL");
    }
    r = redisCommand(c, "XLEN spk:{%u}:ev", shard);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1); /* the outcome's signature event */
    freeReplyObject(r);
    redisFree(c);
}

/*
 * 4. The instance dies between handing the command to the link and hearing
 * `sent`: the transaction stays in the outbox.  A new engine (a new link)
 * resubmits it after the lease with the SAME counter, and its answer completes.
 */
static void scenario_resubmit(const struct subscriber *s)
{
    const char *doc = "Hợp đồng 9/HĐ";
    struct started st;
    struct stored t;
    uint8_t sig[512];
    size_t sig_len;
    int64_t t0 = now_ms();
    int i = n_submits, up;

    if (start_submitted(s->msisdn, doc, &st) < 0)
        return;
    check_submit(i, s->msisdn, st.cntr, doc);
    submits[i].handle = NULL; /* dies with the engine, unreported */
    engine_down();            /* the crash */
    CHECK(fake_link == NULL);

    up = engine_up();
    CHECK_EQ_INT(up, 0);
    if (up != 0)
        return;
    if (pump_submits(i + 2, LEASE_S * 1000 + WAIT_MS) < 0)
        return;
    CHECK(now_ms() - t0 >= LEASE_S * 1000 - 200); /* not before the lease */
    check_submit(i + 1, s->msisdn, st.cntr, doc); /* the same counter */
    CHECK_MEM(submits[i + 1].txn_ref, submits[i].txn_ref, 8);
    report_sent(i + 1);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_PENDING);
    CHECK_EQ_INT(t.cntr, st.cntr);
    CHECK_EQ_INT(t.resent, 1); /* the copy is counted: its CNTR low would read as a duplicate */

    sig_len = sim_sign(s->key, submits[i + 1].digest, 32, sig, sizeof sig);
    answer(i + 1, CAR_OUT_OK, 1, CAR_SIG_RAW, sig, sig_len);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
    CHECK_EQ_INT(t.sig_len, sig_len);
    CHECK_MEM(t.sig, sig, sig_len);
    CHECK_EQ_INT(n_submits, i + 2);
}

/* 5. Signed with a key that is not the certified one: failed INVALID_SIGNATURE (503), never completed. */
static void scenario_wrong_key(const struct subscriber *s, const struct subscriber *other)
{
    struct started st;
    struct stored t;
    uint8_t sig[512];
    size_t sig_len;
    int i = n_submits;

    if (start_submitted(s->msisdn, "Báo cáo 12/BC", &st) < 0)
        return;
    report_sent(i);
    sig_len = sim_sign(other->key, submits[i].digest, 32, sig, sizeof sig);
    CHECK(sig_len > 0);
    answer(i, CAR_OUT_OK, 1, CAR_SIG_RAW, sig, sig_len);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_FAILED);
    CHECK_EQ_STR(t.result, "INVALID_SIGNATURE");
    CHECK_EQ_INT(t.etsi, 503);
    CHECK_EQ_INT(t.sig_len, 0);
    loop_test_pump(base, NULL, 0, 300);
    get(st.id, &t); /* and it stays so */
    CHECK_EQ_INT(t.state, Q_FAILED);
}

/*
 * 6. The transport answers a CMS SignedData (sig_format CMS) over the digest
 * it was given: completed, the SignedData stored.  One whose messageDigest
 * is of another document: failed.
 */
static void scenario_cms(const struct subscriber *s, int good)
{
    const char *doc = good ? "Nghị quyết 5/NQ-HĐND" : "Thông báo 3/TB";
    struct started st;
    struct stored t;
    uint8_t cms[MAX_SIG];
    size_t cms_len;
    int i = n_submits;

    if (start_submitted(s->msisdn, doc, &st) < 0)
        return;
    check_submit(i, s->msisdn, st.cntr, doc);
    report_sent(i);
    cms_len = cms_sign(s, good ? doc : "another document", cms, sizeof cms);
    CHECK(cms_len > 0);
    answer(i, CAR_OUT_OK, 1, CAR_SIG_CMS, cms, cms_len);
    get_final(st.id, WAIT_MS, &t);
    if (good) {
        CHECK_EQ_INT(t.state, Q_COMPLETED);
        CHECK_EQ_STR(t.result, "OK");
        CHECK_EQ_INT(t.etsi, 502);
        CHECK_EQ_INT(t.sig_len, cms_len);
        CHECK_MEM(t.sig, cms, cms_len);
        CHECK_EQ_INT(t.cert_len, s->cert_len);
    } else {
        CHECK_EQ_INT(t.state, Q_FAILED);
        CHECK_EQ_STR(t.result, "INVALID_SIGNATURE");
        CHECK_EQ_INT(t.etsi, 503);
        CHECK(strstr(t.detail, "messageDigest") != NULL);
        CHECK_EQ_INT(t.sig_len, 0);
    }
}

/*
 * 7. CNTR low echoing the counter of a command sent once: the SIM is ahead.
 * The engine moves the counter Q_CNTR_RESYNC_STEP forward and sends the
 * command again; its answer completes.
 */
static void scenario_resync(const struct subscriber *s)
{
    const char *doc = "Quyết định 77/QĐ";
    struct started st;
    struct stored t;
    uint8_t sig[512];
    size_t sig_len;
    int i = n_submits;

    if (start_submitted(s->msisdn, doc, &st) < 0)
        return;
    report_sent(i);
    answer(i, CAR_OUT_COUNTER_LOW, 0, CAR_SIG_RAW, NULL, 0); /* a PoR refusal: no application answer */
    if (pump_submits(i + 2, WAIT_MS) < 0)
        return;
    check_submit(i + 1, s->msisdn, st.cntr + Q_CNTR_RESYNC_STEP, doc);
    CHECK_MEM(submits[i + 1].txn_ref, submits[i].txn_ref, 8);
    report_sent(i + 1);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_PENDING);
    CHECK_EQ_INT(t.cntr, st.cntr + Q_CNTR_RESYNC_STEP);
    CHECK_EQ_INT(t.resync, 1);

    sig_len = sim_sign(s->key, submits[i + 1].digest, 32, sig, sizeof sig);
    answer(i + 1, CAR_OUT_OK, 1, CAR_SIG_RAW, sig, sig_len);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
    CHECK_EQ_INT(t.cntr, st.cntr + Q_CNTR_RESYNC_STEP);
    CHECK_MEM(t.sig, sig, sig_len);
    CHECK_EQ_INT(n_submits, i + 2);
}

/*
 * 8. The transition table's answers at work: a CNTR low after a resync
 * (RESYNCED) ends the transaction at once with OTA_ERROR (209); a late
 * answer for it changes nothing (FINISHED).
 */
static void scenario_resync_fails(const struct subscriber *s)
{
    struct started st;
    struct stored t;
    uint8_t sig[512];
    size_t sig_len;
    int i = n_submits;

    if (start_submitted(s->msisdn, "Quyết định 78/QĐ", &st) < 0)
        return;
    report_sent(i);
    answer(i, CAR_OUT_COUNTER_LOW, 0, CAR_SIG_RAW, NULL, 0);
    if (pump_submits(i + 2, WAIT_MS) < 0)
        return;
    report_sent(i + 1);
    answer(i + 1, CAR_OUT_COUNTER_LOW, 0, CAR_SIG_RAW, NULL, 0); /* still behind: no second resync */
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_FAILED);
    CHECK_EQ_STR(t.result, "OTA_ERROR");
    CHECK_EQ_INT(t.etsi, 209);
    CHECK_EQ_INT(t.cntr, st.cntr + Q_CNTR_RESYNC_STEP);

    sig_len = sim_sign(s->key, submits[i + 1].digest, 32, sig, sizeof sig);
    answer(i + 1, CAR_OUT_OK, 1, CAR_SIG_RAW, sig, sig_len); /* late: finished */
    loop_test_pump(base, NULL, 0, 300);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_FAILED);
    CHECK_EQ_STR(t.result, "OTA_ERROR");
    CHECK_EQ_INT(n_submits, i + 2);
}

/*
 * 9. A command sent twice (RESENT): the SIM's CNTR low answers the copy and
 * is ignored; the first copy's answer completes the transaction.
 */
static void scenario_copy_refused(const struct subscriber *s)
{
    const char *doc = "Công văn 46/UBND-VP";
    struct started st;
    struct stored t;
    uint8_t sig[512];
    size_t sig_len;
    int i = n_submits;

    if (start_submitted(s->msisdn, doc, &st) < 0)
        return;
    /* The link resent it after a lost connection: it says so in its report. */
    fake_ev.sent(fake_ev.arg, submits[i].handle, CAR_OK, NULL, 1, NULL);
    submits[i].handle = NULL;
    loop_test_pump(base, NULL, 0, 300);
    get(st.id, &t);
    CHECK_EQ_INT(t.resent, 1);
    answer(i, CAR_OUT_COUNTER_LOW, 0, CAR_SIG_RAW, NULL, 0);
    loop_test_pump(base, NULL, 0, 300);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_PENDING); /* ignored: not resynced, not failed */
    CHECK_EQ_INT(t.resync, 0);
    CHECK_EQ_INT(t.cntr, st.cntr);
    CHECK_EQ_INT(n_submits, i + 1);

    sig_len = sim_sign(s->key, submits[i].digest, 32, sig, sizeof sig);
    answer(i, CAR_OUT_OK, 1, CAR_SIG_RAW, sig, sig_len);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
}

/* An OK raw answer to submit i, correlated by the transport (car_events.answer). */
static size_t answer_by_id(const struct subscriber *s, int i)
{
    struct car_reply *r = calloc(1, sizeof(*r));
    size_t n;

    if (!r)
        return 0;
    n = sim_sign(s->key, submits[i].digest, submits[i].digest_len, r->buf, sizeof r->buf);
    r->outcome = CAR_OUT_OK;
    r->sig_format = CAR_SIG_RAW;
    r->signature = r->buf;
    r->sig_len = n;
    fake_ev.answer(fake_ev.arg, submits[i].txn_id, r);
    OPENSSL_cleanse(r, sizeof(*r));
    free(r);
    return n;
}

/*
 * A far end that answers only when asked (an MSSP, asynchronous): sent() with
 * its own id.  The engine stores link and id with the transaction and keeps it
 * leased in the outbox; after a crash the next instance hands it back to the
 * same link with the id (car_request.far_ref), not as a new request.
 */
static void scenario_far(const struct subscriber *s)
{
    struct started st;
    struct stored t;
    int64_t t0;
    int i, up;

    i = start_submitted(s->msisdn, "Công văn 5/CV", &st);
    if (i < 0)
        return;
    CHECK_EQ_STR(submits[i].far_ref, ""); /* a new request */
    t0 = now_ms();
    report_sent_as(i, CAR_OK, "MSSP-4711");
    loop_test_pump(base, NULL, 0, 300);
    get(st.id, &t);
    CHECK_EQ_INT(t.state, Q_PENDING);
    CHECK_EQ_STR(t.far_link, submits[i].link);
    CHECK_EQ_STR(t.far_ref, "MSSP-4711");

    engine_down(); /* the crash: whoever asked the far end is gone */
    up = engine_up();
    CHECK_EQ_INT(up, 0);
    if (up != 0)
        return;
    /* Both links are up; only the one holding it may get it back. */
    if (pump_submits(i + 2, LEASE_S * 1000 + WAIT_MS) < 0)
        return;
    CHECK(now_ms() - t0 >= LEASE_S * 1000 - 200); /* the lease q_txn_track set */
    CHECK_EQ_STR(submits[i + 1].txn_id, st.id);
    CHECK_EQ_STR(submits[i + 1].far_ref, "MSSP-4711");
    CHECK_EQ_STR(submits[i + 1].link, submits[i].link);
    report_sent_as(i + 1, CAR_OK, "MSSP-4711");
    answer_by_id(s, i + 1);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_COMPLETED);
    CHECK_EQ_STR(t.result, "OK");
}

/*
 * Failover between a carrier's links (fake-1 priority 0, fake-2 priority 1):
 * the lower priority while it is up; a refusal that reached nobody
 * (CAR_ERR_AGAIN) goes to the other link at once, same transaction and
 * counter; a link down is skipped; back up, it takes traffic again; a number
 * no link serves (CAR_ERR_NOT_FOUND) is tried once per link, then fails.
 */
static void scenario_failover(const struct subscriber *a, const struct subscriber *b, const struct subscriber *c)
{
    struct started st;
    struct stored t;
    int i = n_submits;

    start(a->msisdn, "Tờ trình 1/TTr", &st);
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    CHECK_EQ_STR(submits[i].link, "fake-1");
    report_sent_as(i, CAR_ERR_AGAIN, NULL);
    if (pump_submits(i + 2, 1000) < 0) /* at once, not after the lease */
        return;
    CHECK_EQ_STR(submits[i + 1].link, "fake-2");
    CHECK_EQ_STR(submits[i + 1].txn_id, st.id);
    CHECK_EQ_INT(submits[i + 1].cntr, submits[i].cntr);
    report_sent(i + 1);
    answer_by_id(a, i + 1);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_STR(t.result, "OK");
    CHECK_EQ_INT(n_submits, i + 2); /* never a third copy */

    link_state(0, 0); /* fake-1 down: fake-2 takes new requests */
    i = n_submits;
    start(b->msisdn, "Tờ trình 2/TTr", &st);
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    CHECK_EQ_STR(submits[i].link, "fake-2");
    report_sent(i);
    answer_by_id(b, i);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_STR(t.result, "OK");

    /* Neither link serves the number (CAR_ERR_NOT_FOUND from each): each tried once, then DELIVERY_ERROR. */
    i = n_submits;
    start(b->msisdn, "Tờ trình 4/TTr", &st);
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    CHECK_EQ_STR(submits[i].link, "fake-2");
    link_state(0, 1);
    report_sent_as(i, CAR_ERR_NOT_FOUND, NULL);
    if (pump_submits(i + 2, 1000) < 0)
        return;
    CHECK_EQ_STR(submits[i + 1].link, "fake-1");
    report_sent_as(i + 1, CAR_ERR_NOT_FOUND, NULL);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_INT(t.state, Q_FAILED);
    CHECK_EQ_STR(t.result, "DELIVERY_ERROR");
    CHECK_EQ_INT(n_submits, i + 2); /* no third try */

    link_state(0, 1); /* back: the lower priority again */
    i = n_submits;
    start(c->msisdn, "Tờ trình 3/TTr", &st);
    CHECK(loop_test_pump(base, &n_submits, i + 1, WAIT_MS));
    CHECK_EQ_STR(submits[i].link, "fake-1");
    report_sent(i);
    answer_by_id(c, i);
    get_final(st.id, WAIT_MS, &t);
    CHECK_EQ_STR(t.result, "OK");
}

/* ---- main ------------------------------------------------------------------------ */

static int write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    /* The loader knows no "fake" transport (its settings would be one line in cfg.c's table): the link is
     * added in memory below.  A carrier without links needs no OTA master key. */
    ok = fprintf(f,
                 "{\"listen_host\": \"127.0.0.1\", \"log_level\": \"warn\",\n"
                 " \"transaction_timeout_s\": 10, \"sweep_interval_ms\": 100, \"resubmit_lease_s\": %d,\n"
                 " \"user_timeout_s\": 20, \"revocation_check\": false,\n"
                 " \"trust_anchors\": \"%s/pki/trust.pem\", \"intermediates\": \"%s/pki/intermediates.pem\",\n"
                 " \"redis\": {\"host\": \"127.0.0.1\", \"port\": %d, \"shards\": 4, \"connect_timeout_ms\": 500},\n"
                 " \"api_keys\": [{\"name\": \"" RP "\", \"sha256\": "
                 "\"0000000000000000000000000000000000000000000000000000000000000000\"}],\n"
                 " \"carriers\": [{\"name\": \"viettel\", \"service_number\": \"9191\", \"links\": []}]}\n",
                 LEASE_S, demo, demo, redis_test_port()) > 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    static const char *const names[] = {"84960000001", "84960000002", "84960000011", "84960000021", "84960000031",
                                        "84960000041", "84960000051", "84960000061", "84960000071", "84960000081",
                                        "84960000091", "84960000101", "84960000121", "84960000131"};
    enum { N_SUBS = sizeof names / sizeof names[0] };
    struct subscriber subs[N_SUBS];
    struct event *tk = NULL;
    char path[600], why[512] = "";
    int loaded = 0;

    snprintf(demo, sizeof demo, "%s", argc > 1 ? argv[1] : SIMPKI_DEMO_DIR);
    if (make_demo() != 0) {
        fprintf(stderr, "test_engine: %s/tests/sim/mkdemo.sh %s failed\n", SIMPKI_SRC_DIR, demo);
        return 1;
    }
    alarm(120); /* a hung test dies, and PDEATHSIG takes the server with it */
    if (redis_test_start("test_engine") != 0)
        return 1;
    snprintf(path, sizeof path, "%s/simpki.json", redis_test_dir());
    if (write_config(path) != 0 || cfg_load(path, &cfg, why, sizeof why) != CFG_OK) {
        fprintf(stderr, "test_engine: config: %s\n", why);
        return 1;
    }
    log_setup(LOG_WARN, LOG_FMT_TEXT);
    cfg->txn_timeout_s = TXN_TIMEOUT;
    cfg->carriers[0].n_links = 2;
    for (int k = 0; k < 2; k++) {
        struct cfg_link *l = &cfg->carriers[0].links[k];
        snprintf(l->name, sizeof l->name, "fake-%d", k + 1);
        snprintf(l->transport, sizeof l->transport, "fake");
        l->priority = (unsigned)k; /* fake-2 only when fake-1 cannot */
    }
    CHECK_EQ_INT(sig_trust_load(cfg->trust_anchors, cfg->intermediates, &trust, why, sizeof why), SIG_OK);

    for (int k = 0; k < N_SUBS; k++) {
        CHECK_EQ_INT(sub_load(&subs[k], names[k]), 0);
        sub_register(&cfg->redis, &subs[k]);
        loaded++;
    }
    base = event_base_new();
    tk = loop_test_ticker(base);
    CHECK_EQ_INT(engine_up(), 0);
    if (engine && trust && check_failed_ == 0) {
        scenario_text(&subs[0]);                /* the routed transport's text limit */
        scenario_sign(&subs[0]);                /* RSA PKCS#1 v1.5 */
        scenario_sign(&subs[1]);                /* ECDSA P-256 */
        scenario_answer_by_id(&subs[1]);        /* car_events.answer: correlated by the transport */
        scenario_cancel(&subs[2]);              /* USER_CANCEL */
        scenario_wrong_key(&subs[5], &subs[6]); /* INVALID_SIGNATURE */
        scenario_cms(&subs[7], 1);              /* CMS answer */
        scenario_cms(&subs[8], 0);              /* CMS over another digest */
        scenario_resync(&subs[9]);              /* CNTR low, sent once */
        scenario_resync_fails(&subs[9]);        /* CNTR low again after the resync */
        scenario_copy_refused(&subs[2]);        /* CNTR low for a copy */
        scenario_expiry(&subs[3]);              /* EXPIRED */
        scenario_resubmit(&subs[4]);            /* a crash before `sent` */
        scenario_far(&subs[10]);                /* a far end holding it: asked again after a crash */
        scenario_failover(&subs[11], &subs[12], &subs[13]);
        CHECK(metrics.c[GW_M_TXN_COMPLETED] >= 1);
        scenario_backlog(&subs[0]); /* last: it turns the archive's events on */
    }
    if (engine)
        engine_down();
    for (int k = 0; k < loaded; k++)
        sub_free(&subs[k]);
    sig_trust_free(trust);
    if (tk)
        event_free(tk);
    if (base)
        event_base_free(base);
    cfg_free(cfg);
    return check_report("test_engine");
}
