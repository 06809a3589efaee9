/*
 * gw_life.c - see gw_life.h.  The engine: the tick and the claim, the steps
 * against Redis and the SIM, the CMP worker thread.  What it decides without
 * I/O (step table, subject, reasons, the confirming call's checks) is in
 * gw_life_rules.c.
 *
 * The CMP worker thread and the CA steps are in gw_life_cmp.c; what the two
 * share (the job, the engine's struct, the job's moves) is in gw_life_priv.h.
 */
#include "gw_life.h"
#include "gw_life_priv.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "gw_enrol_import.h"
#include "gw_forms.h"
#include "gw_metrics.h"
#include "gw_txn.h"
#include "gw_util.h"
#include "gw_valid.h"
#include "log.h"
#include "q.h"
#include "q_docs.h"
#include "q_life.h"
#include "sig.h"
#include "util.h"

#define CLAIM_MAX      16   /* requests taken per tick */
#define POLL_MS        1000 /* how often a pending SIM command is looked at */
#define BACKOFF_MAX_MS (300 * 1000)
#define ENGINE_BY      "simpki"
#define SIM_RP         "enrol"

/* ---- steps ------------------------------------------------------------- */

static const char *const outcome_names[O_COUNT] = {"advanced", "waiting", "retry", "failed", "dropped"};
const char *const gw_lf_kind_names[K_COUNT] = {"enrol", "renew", "revoke"};

/* ---- small helpers ----------------------------------------------------- */

const char *gw_lf_jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

/* base64 of a progress field into a new buffer; NULL when absent or not base64. */
uint8_t *gw_lf_b64_field(const json_t *o, const char *k, size_t *len)
{
    const char *s = gw_lf_jstr(o, k);
    size_t n = s ? strlen(s) : 0;
    uint8_t *out = n ? malloc(n) : NULL;
    long got = out ? util_b64_decode(s, n, out, n) : -1;
    if (got <= 0) {
        free(out);
        return NULL;
    }
    *len = (size_t)got;
    return out;
}

void gw_lf_set_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
    char *s = util_b64_encode(p, n);
    json_object_set_new(o, k, s ? json_string(s) : json_null());
    free(s);
}

/* ---- the job: read, save, reschedule, fail ------------------------------ */

void gw_lf_job_free(struct job *j)
{
    struct job **pp;
    if (!j)
        return;
    for (pp = &j->l->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    json_decref(j->doc);
    free(j);
}

static void count(struct job *j, enum outcome o)
{
    j->l->looks[j->step][o]++;
}

static void saved(void *arg, enum q_err err)
{
    struct job *j = arg;
    if (err == Q_ERR_NOT_FOUND || err == Q_ERR_CONFLICT)
        LOGP(LOG_INFO, "life", j->id, "step %s not saved: the request changed meanwhile (aborted?)",
             gw_life_step_name(j->step));
    else if (err != Q_OK)
        LOGP(LOG_WARN, "life", j->id, "step %s not saved (%s): resumed after the lease", gw_life_step_name(j->step),
             q_strerror(err));
    gw_lf_job_free(j);
}

/*
 * Write the document's next revision with a compare-and-set: state `to`
 * (NULL = unchanged, with a history entry by the engine), next look at
 * due_ms (0 = finished: leave the index).
 */
static void job_save(struct job *j, const char *to, const char *note, int64_t due_ms)
{
    char now[32];
    char *text;

    util_iso8601(time(NULL), now);
    if (to) {
        json_object_set_new(j->doc, "state", json_string(to));
        json_array_append_new(json_object_get(j->doc, "history"), json_pack("{s:s, s:s, s:s, s:s?}", "state", to, "at",
                                                                            now, "by", ENGINE_BY, "note", note));
    }
    json_object_set_new(j->doc, "rev", json_integer(j->rev + 1));
    json_object_set_new(j->doc, "updated_at", json_string(now));
    if (!due_ms)
        json_object_set_new(j->progress, "step", json_string("finished"));
    text = json_dumps(j->doc, JSON_COMPACT);
    if (!text) {
        gw_lf_job_free(j); /* out of memory: the lease brings it back */
        return;
    }
    q_life_save(j->l->d.q, j->id, (int64_t)j->rev, text, strlen(text), due_ms, saved, j);
    free(text);
}

/* Move to step s (attempts and the SIM transaction start afresh), look again at once. */
void gw_lf_job_next(struct job *j, enum gw_life_step s, const char *to, const char *note)
{
    count(j, O_DONE);
    LOGP(LOG_INFO, "life", j->id, "%s done -> %s%s%s", gw_life_step_name(j->step), gw_life_step_name(s),
         to ? ", now " : "", to ? to : "");
    json_object_set_new(j->progress, "step", json_string(gw_life_step_name(s)));
    json_object_set_new(j->progress, "attempts", json_integer(0));
    json_object_del(j->progress, "txn");
    job_save(j, to, note, gw_now_ms());
}

static void job_done(struct job *j, const char *note)
{
    count(j, O_DONE);
    LOGP(LOG_INFO, "life", j->id, "%s done: request done", gw_life_step_name(j->step));
    json_object_del(j->progress, "txn");
    job_save(j, "done", note, 0);
}

void gw_lf_job_fail(struct job *j, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    count(j, O_FAILED);
    LOGP(LOG_WARN, "life", j->id, "step %s failed: %s", gw_life_step_name(j->step), why);
    json_object_set_new(j->progress, "reason", json_string(why));
    job_save(j, "failed", why, 0);
}

static void rescheduled(void *arg, enum q_err err)
{
    (void)err;
    gw_lf_job_free(arg);
}

/* Nothing to write: only look again at due_ms (XX: an entry removed meanwhile stays removed). */
static void job_wait(struct job *j, int64_t due_ms)
{
    count(j, O_WAIT);
    q_life_wait(j->l->d.q, j->id, due_ms, rescheduled, j);
}

/* A temporary failure: try the step again later, up to max_attempts times. */
void gw_lf_job_retry(struct job *j, const char *why)
{
    json_int_t a = json_integer_value(json_object_get(j->progress, "attempts")) + 1;
    int64_t delay = 1000;

    if (a >= (json_int_t)j->l->ca->max_attempts) {
        gw_lf_job_fail(j, "%s (gave up after %lld attempts)", why, (long long)a);
        return;
    }
    for (json_int_t i = 1; i < a && delay < BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > BACKOFF_MAX_MS)
        delay = BACKOFF_MAX_MS;
    count(j, O_RETRY);
    LOGP(LOG_WARN, "life", j->id, "step %s: %s; attempt %lld in %lld ms", gw_life_step_name(j->step), why,
         (long long)a + 1, (long long)delay);
    json_object_set_new(j->progress, "attempts", json_integer(a));
    json_object_set_new(j->progress, "last_error", json_string(why));
    json_object_del(j->progress, "txn");
    job_save(j, NULL, NULL, gw_now_ms() + delay);
}

/* Redis away mid-step: drop the job; the claim's lease brings the request back. */
static void job_lost(struct job *j, enum q_err err)
{
    count(j, O_LOST);
    LOGP(LOG_WARN, "life", j->id, "step %s: storage unavailable (%s); resumed after the lease",
         gw_life_step_name(j->step), q_strerror(err));
    gw_lf_job_free(j);
}

void gw_lf_warn(struct job *j, const char *code, const char *msg)
{
    json_t *w = json_object_get(j->doc, "warnings");
    if (!json_is_array(w)) {
        w = json_array();
        json_object_set_new(j->doc, "warnings", w);
    }
    json_array_append_new(w, json_pack("{s:s, s:s, s:s}", "field", "certificate", "error", code, "message", msg));
    LOGP(LOG_WARN, "life", j->id, "%s: %s", code, msg);
}

/* ---- SIM steps ---------------------------------------------------------- */

static void step_run(struct job *j);

static void sim_started(void *arg, enum gw_err err, const struct q_txn *txn, int existed)
{
    struct job *j = arg;
    char why[160];

    if (err == GW_ERR_UNAVAILABLE) {
        job_lost(j, Q_ERR_AGAIN);
        return;
    }
    if (err == GW_ERR_BACKLOG) {
        gw_lf_job_retry(j, "the evidence archive is behind");
        return;
    }
    if (err == GW_ERR_BUSY) {
        gw_lf_job_retry(j, "the SIM has another command pending");
        return;
    }
    if (err != GW_OK) {
        snprintf(why, sizeof(why), "the SIM command could not be sent: %s", gw_strerror(err));
        gw_lf_job_fail(j, "%s", why);
        return;
    }
    LOGP(LOG_INFO, "life", j->id, "%s: SIM command %s %s", gw_life_step_name(j->step), txn->id,
         existed ? "found" : "sent");
    json_object_set_new(j->progress, "txn", json_string(txn->id));
    count(j, O_WAIT);
    job_save(j, NULL, NULL, gw_now_ms() + POLL_MS);
}

static void sim_start(struct job *j, int op, const uint8_t *data, size_t len, const char *text)
{
    char idem[96];
    const json_t *alg = json_object_get(j->progress, "key_alg");
    struct gw_sim_req r = {
        .rp = SIM_RP,
        .msisdn = j->msisdn,
        .idem_key = idem,
        .client_ref = j->id,
        .op = op,
        .key_alg = (uint8_t)(alg ? json_integer_value(alg) : j->l->ca->key_alg),
        .display_text = text,
        .timeout_s = (int)j->l->ca->sim_timeout_s,
    };
    snprintf(idem, sizeof(idem), "%s:%s:%lld", j->id, gw_life_step_name(j->step),
             (long long)json_integer_value(json_object_get(j->progress, "attempts")));
    if (op == Q_OP_CSR) {
        r.digest = data;
        r.digest_len = len;
    } else if (op == Q_OP_PUTCERT) {
        r.cert = data;
        r.cert_len = len;
    }
    gw_txn_start_sim(j->l->d.engine, &r, sim_started, j);
}

typedef void sim_done_fn(struct job *j, const struct q_txn *txn);

struct sim_poll {
    struct job *j;
    sim_done_fn *done;
};

static void sim_got(void *arg, enum q_err err, const struct q_txn *txn)
{
    struct sim_poll *p = arg;
    struct job *j = p->j;
    sim_done_fn *done = p->done;
    char why[256];

    free(p);
    if (err == Q_ERR_NOT_FOUND) {
        gw_lf_job_retry(j, "the SIM command is no longer stored");
        return;
    }
    if (err != Q_OK) {
        job_lost(j, err);
        return;
    }
    if (txn->state == Q_PENDING) {
        job_wait(j, gw_now_ms() + POLL_MS);
        return;
    }
    if (txn->state == Q_COMPLETED && strcmp(txn->result, "OK") == 0) {
        done(j, txn);
        return;
    }
    snprintf(why, sizeof(why), "the SIM answered %s%s%s", txn->result, txn->detail[0] ? ": " : "", txn->detail);
    if (gw_life_sim_result_temporary(txn->result))
        gw_lf_job_retry(j, why);
    else
        gw_lf_job_fail(j, "%s", why);
}

/* A SIM step: send its command once, then look at it until it finishes. */
static void sim_step(struct job *j, int op, const uint8_t *data, size_t len, const char *text, sim_done_fn *done)
{
    const char *txn = gw_lf_jstr(j->progress, "txn");
    struct sim_poll *p;

    if (!txn) {
        sim_start(j, op, data, len, text);
        return;
    }
    p = malloc(sizeof(*p));
    if (!p) {
        gw_lf_job_free(j);
        return;
    }
    p->j = j;
    p->done = done;
    q_txn_get(j->l->d.q, txn, sim_got, p);
}

static void genkey_done(struct job *j, const struct q_txn *txn)
{
    const unsigned char *p = txn->signature;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, (long)txn->sig_len);
    int want = (int)json_integer_value(json_object_get(j->progress, "key_alg"));
    int ok = k && p == txn->signature + txn->sig_len &&
             (want == CFG_KEY_ECP256 ? EVP_PKEY_base_id(k) == EVP_PKEY_EC && EVP_PKEY_bits(k) == 256
                                     : EVP_PKEY_base_id(k) == EVP_PKEY_RSA && EVP_PKEY_bits(k) == 2048);
    EVP_PKEY_free(k);
    if (!ok) {
        gw_lf_job_fail(j, "the SIM answered key generation with a key that is not the %s asked for",
                       want == CFG_KEY_ECP256 ? "ECDSA P-256" : "RSA-2048");
        return;
    }
    gw_lf_set_b64(j->progress, "spki", txn->signature, txn->sig_len);
    gw_lf_job_next(j, GW_LIFE_STEP_CSR, NULL, NULL);
}

static void run_genkey(struct job *j)
{
    char text[256];
    gw_life_display_text(j->req, "Tạo khóa ký số cho", text, sizeof(text));
    sim_step(j, Q_OP_GENKEY, NULL, 0, text, genkey_done);
}

/* The request info for this request and key; the caller frees *csr. */
static int csr_prepare(struct job *j, struct sig_csr **csr, uint8_t digest[SIG_CSR_DIGEST_LEN])
{
    struct sig_csr_subject subj;
    struct gw_life_subject_buf buf;
    size_t spki_len = 0, old_len = 0;
    uint8_t *spki = gw_lf_b64_field(j->progress, "spki", &spki_len),
            *old = gw_lf_b64_field(j->progress, "old_cert", &old_len);
    char why[256];
    enum sig_csr_err rc = SIG_CSR_ERR_SUBJECT;

    *csr = NULL;
    if (!spki)
        snprintf(why, sizeof(why), "no public key recorded for the request");
    else if (gw_life_subject(j->req, old, old_len, &subj, &buf, why, sizeof(why)) == 0)
        rc = sig_csr_prepare(&subj, spki, spki_len, csr, digest, why, sizeof(why));
    free(spki);
    free(old);
    if (rc != SIG_CSR_OK) {
        gw_lf_job_fail(j, "the certificate request cannot be built: %s", why);
        return -1;
    }
    return 0;
}

static void csr_done(struct job *j, const struct q_txn *txn)
{
    struct sig_csr *csr;
    uint8_t digest[SIG_CSR_DIGEST_LEN], *der = NULL;
    size_t der_len = 0;
    char why[256];
    enum sig_csr_err rc;

    if (csr_prepare(j, &csr, digest) != 0)
        return;
    if (txn->digest_len != sizeof(digest) || memcmp(txn->digest, digest, sizeof(digest)) != 0) {
        sig_csr_free(csr);
        gw_lf_job_fail(j, "the SIM signed another certificate request than this one");
        return;
    }
    rc = sig_csr_finish(csr, txn->signature, txn->sig_len, &der, &der_len, why, sizeof(why));
    sig_csr_free(csr);
    if (rc == SIG_CSR_ERR_BAD_SIGNATURE) {
        gw_lf_job_fail(j, "the CSR signature does not verify with the key the SIM %s",
                       json_object_get(j->progress, "iccid") ? "generated" : "holds (the registered certificate's)");
        return;
    }
    if (rc != SIG_CSR_OK) {
        gw_lf_job_fail(j, "the certificate request is not valid: %s", why);
        return;
    }
    gw_lf_set_b64(j->progress, "csr", der, der_len);
    OPENSSL_free(der);
    gw_lf_job_next(j, GW_LIFE_STEP_CMP, "sent_to_ca", NULL);
}

static void run_csr(struct job *j)
{
    struct sig_csr *csr = NULL;
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    char text[256];

    if (gw_lf_jstr(j->progress, "txn")) { /* checked when the answer is in */
        sim_step(j, Q_OP_CSR, NULL, 0, NULL, csr_done);
        return;
    }
    if (csr_prepare(j, &csr, digest) != 0)
        return;
    sig_csr_free(csr);
    gw_life_display_text(j->req, "Ký yêu cầu cấp chứng thư số cho", text, sizeof(text));
    sim_step(j, Q_OP_CSR, digest, sizeof(digest), text, csr_done);
}

static void putcert_done(struct job *j, const struct q_txn *txn)
{
    (void)txn;
    gw_lf_job_next(j, GW_LIFE_STEP_ACTIVATE, "installed", NULL);
}

static void run_putcert(struct job *j)
{
    size_t len = 0;
    uint8_t *cert = gw_lf_b64_field(j->progress, "cert", &len);
    char msg[200];

    if (!cert) {
        gw_lf_job_fail(j, "no issued certificate recorded for the request");
        return;
    }
    if (len > GW_LIFE_PUTCERT_MAX) {
        snprintf(msg, sizeof(msg),
                 "the certificate (%zu octets) is larger than an SPKA/1 PUTCERT carries (%d): "
                 "kept in the registry only",
                 len, GW_LIFE_PUTCERT_MAX);
        gw_lf_warn(j, "CERT_NOT_ON_SIM", msg);
        free(cert);
        gw_lf_job_next(j, GW_LIFE_STEP_ACTIVATE, "installed", msg);
        return;
    }
    sim_step(j, Q_OP_PUTCERT, cert, len, NULL, putcert_done);
    free(cert);
}

/* ---- registry steps ----------------------------------------------------- */

/* 0 when the request's certificate.serial (if any) is the registered certificate's. */
static int serial_matches(struct job *j, const struct q_sub *g)
{
    const char *want = gw_lf_jstr(json_object_get(j->req, "certificate"), "serial");
    struct sig_cert_info ci;

    if (sig_cert_info(g->cert, g->cert_len, &ci) != SIG_OK) {
        gw_lf_job_fail(j, "the registered certificate does not parse");
        return -1;
    }
    if (want && !gw_life_serial_eq(want, ci.serial_hex)) {
        gw_lf_job_fail(j, "certificate.serial is not the number's registered certificate (registered serial %s)",
                       ci.serial_hex);
        return -1;
    }
    return 0;
}

static void spki_of_cert(json_t *progress, const uint8_t *cert, size_t len)
{
    const unsigned char *p = cert;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    unsigned char *der = NULL;
    int n = x ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der) : -1;
    if (n > 0)
        gw_lf_set_b64(progress, "spki", der, (size_t)n);
    OPENSSL_free(der);
    X509_free(x);
}

/* What to do with the number's registry entry (g NULL: it has none), per form. */
static void read_decide(struct job *j, const struct q_sub *g)
{
    const char *sp = gw_lf_jstr(j->req, "sim_pki");
    int cs = sp && strstr(sp, "/cs") != NULL, new_sim = json_object_get(j->progress, "iccid") != NULL;
    int active_cert = g && strcmp(g->status, "active") == 0 && g->cert_len > 0;

    if (j->form == GW_FORM_PERSON_NEW || j->form == GW_FORM_ORG_NEW) {
        if (active_cert && !cs) {
            gw_lf_job_fail(
                j,
                "the number already has an active certificate; file it as %s/cs to move it onto the new SIM, "
                "or a change request (Mẫu 07)",
                sp ? sp : "<carrier>");
            return;
        }
    } else if (!g || !g->cert_len) {
        gw_lf_job_fail(j, "the number has no registered certificate to %s",
                       j->form == GW_FORM_REVOKE ? "revoke" : "renew or change");
        return;
    } else if (serial_matches(j, g) != 0) {
        return;
    }
    if (g && g->iccid[0])
        json_object_set_new(j->progress, "old_iccid", json_string(g->iccid));
    if (g && g->cert_len)
        gw_lf_set_b64(j->progress, "old_cert", g->cert, g->cert_len);
    if (j->form == GW_FORM_REVOKE)
        gw_lf_job_next(j, GW_LIFE_STEP_REVOKE, "sent_to_ca", NULL);
    else if (new_sim)
        gw_lf_job_next(j, GW_LIFE_STEP_REGISTER, NULL, NULL);
    else {
        spki_of_cert(j->progress, g->cert, g->cert_len);
        gw_lf_job_next(j, GW_LIFE_STEP_CSR, NULL, NULL);
    }
}

static void read_got(void *arg, enum q_err err, const struct q_sub *sub)
{
    struct job *j = arg;

    if (err != Q_OK && err != Q_ERR_NOT_FOUND) {
        job_lost(j, err);
        return;
    }
    read_decide(j, err == Q_OK ? sub : NULL);
}

static void run_read(struct job *j)
{
    q_life_sub_get(j->l->d.q, j->msisdn, read_got, j);
}

static void registered(void *arg, enum q_err err)
{
    struct job *j = arg;
    if (err == Q_ERR_NOT_FOUND || err == Q_ERR_INVALID) {
        gw_lf_job_fail(j, "the registry entry could not be written");
        return;
    }
    if (err != Q_OK) {
        job_lost(j, err);
        return;
    }
    if (j->step == GW_LIFE_STEP_REGISTER)
        gw_lf_job_next(j, GW_LIFE_STEP_GENKEY, NULL, NULL);
    else
        job_done(j, NULL); /* GW_LIFE_STEP_ACTIVATE */
}

static void run_register(struct job *j)
{
    struct gw_valid_simpki sp;
    struct gw_valid_err e;
    const char *iccid = gw_lf_jstr(j->progress, "iccid");

    if (gw_valid_simpki(NULL, gw_lf_jstr(j->req, "sim_pki") ? gw_lf_jstr(j->req, "sim_pki") : "", &sp, &e) !=
        GW_VALID_OK)
        sp.net = CAR_NET_NONE;
    q_life_register(j->l->d.q, j->msisdn, (int)sp.net, iccid,
                    (unsigned)json_integer_value(json_object_get(j->progress, "kv")), registered, j);
}

/* A request filed "<carrier>/cs" moved the number onto the SIM PKI: the registry says so from now on. */
static void run_activate(struct job *j)
{
    size_t len = 0;
    uint8_t *cert = gw_lf_b64_field(j->progress, "cert", &len);
    const char *iccid = gw_lf_jstr(j->progress, "iccid");
    const char *simpki = gw_lf_jstr(j->req, "sim_pki");
    struct gw_valid_simpki sp;
    struct gw_valid_err e;
    int cs = simpki && gw_valid_simpki(NULL, simpki, &sp, &e) == GW_VALID_OK && sp.cs;

    if (!cert) {
        gw_lf_job_fail(j, "no issued certificate recorded for the request");
        return;
    }
    q_life_activate(j->l->d.q, j->msisdn, iccid, (unsigned)json_integer_value(json_object_get(j->progress, "kv")), cert,
                    len, cs, registered, j);
    free(cert);
}

static void deactivated(void *arg, enum q_err err)
{
    struct job *j = arg;
    if (err != Q_OK) {
        job_lost(j, err);
        return;
    }
    job_done(j, NULL);
}

/* The record stays, so the number's history can still be read. */
static void run_deactivate(struct job *j)
{
    q_life_deactivate(j->l->d.q, j->msisdn, deactivated, j);
}

/* ---- dispatch and the tick ---------------------------------------------- */

static void step_run(struct job *j)
{
    static void (*const run[GW_LIFE_STEP_COUNT])(struct job *) = {
        [GW_LIFE_STEP_READ] = run_read,           [GW_LIFE_STEP_REGISTER] = run_register,
        [GW_LIFE_STEP_GENKEY] = run_genkey,       [GW_LIFE_STEP_CSR] = run_csr,
        [GW_LIFE_STEP_CMP] = gw_lf_run_cmp,       [GW_LIFE_STEP_RETIRE] = gw_lf_run_retire,
        [GW_LIFE_STEP_PUTCERT] = run_putcert,     [GW_LIFE_STEP_ACTIVATE] = run_activate,
        [GW_LIFE_STEP_REVOKE] = gw_lf_run_revoke, [GW_LIFE_STEP_DEACTIVATE] = run_deactivate,
    };
    run[j->step](j);
}

/* Not ours (any more): finished, aborted by an operator, or never handed over. */
static void unindex(struct gw_life *l, const char *id)
{
    q_life_drop(l->d.q, id, NULL, NULL);
}

static struct job *job_of_doc(struct gw_life *l, const char *raw, size_t len)
{
    struct job *j = calloc(1, sizeof(*j));
    const char *phone, *step, *id, *state;
    const struct gw_form_info *fi;

    if (!j)
        return NULL;
    j->l = l;
    j->doc = json_loadb(raw, len, 0, NULL);
    id = gw_lf_jstr(j->doc, "id");
    state = gw_lf_jstr(j->doc, "state");
    j->progress = json_object_get(j->doc, "progress");
    j->req = json_object_get(j->doc, "request");
    fi = gw_form_lookup(gw_lf_jstr(j->req, "form") ? gw_lf_jstr(j->req, "form") : "");
    phone = gw_lf_jstr(json_object_get(j->req, "subscriber"), "phone");
    step = gw_lf_jstr(j->progress, "step");
    if (!id || strlen(id) >= sizeof(j->id)) {
        gw_lf_job_free(j);
        return NULL;
    }
    snprintf(j->id, sizeof(j->id), "%s", id);
    j->step = gw_life_step_parse(step);
    if (!fi || !phone || strlen(phone) != 10 || j->step == GW_LIFE_STEP_COUNT || !state ||
        strcmp(state, "failed") == 0 || strcmp(state, "rejected") == 0 || strcmp(state, "done") == 0) {
        unindex(l, j->id);
        gw_lf_job_free(j);
        return NULL;
    }
    j->form = fi->kind;
    j->rev = json_integer_value(json_object_get(j->doc, "rev"));
    snprintf(j->msisdn, sizeof(j->msisdn), "84%s", phone + 1);
    return j;
}

/* Already being stepped here (a step longer than the lease): leave it to that job. */
static int job_active(const struct gw_life *l, const struct job *nj)
{
    for (const struct job *j = l->jobs; j; j = j->next)
        if (strcmp(j->id, nj->id) == 0)
            return 1;
    return 0;
}

static void claimed(void *arg, enum q_err err, const struct q_doc *docs, size_t n)
{
    struct gw_life *l = arg;

    l->claiming = 0;
    if (err != Q_OK)
        return; /* Redis away: the next tick tries again */
    for (size_t i = 0; i < n; i++) {
        struct job *j = job_of_doc(l, docs[i].text, docs[i].len);
        if (!j)
            continue;
        if (job_active(l, j)) {
            gw_lf_job_free(j);
            continue;
        }
        j->next = l->jobs;
        l->jobs = j;
        LOGP(LOG_DEBUG, "life", j->id, "step %s", gw_life_step_name(j->step));
        step_run(j);
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct gw_life *l = arg;
    int64_t t = gw_now_ms();

    (void)fd;
    (void)what;
    if (l->claiming || !q_connected(l->d.q))
        return;
    l->claiming = 1;
    q_life_claim(l->d.q, t, t + (int64_t)l->ca->lease_s * 1000, CLAIM_MAX, claimed, l);
}

/* ---- set-up -------------------------------------------------------------- */

static enum gw_life_err cmp_new(const struct cfg *cfg, const struct sig_trust *trust, struct sig_cmp **out, char *why,
                                size_t whylen)
{
    const struct cfg_ca *ca = &cfg->ca;
    char msg[256] = "";
    struct sig_cmp_config c = {
        .server = ca->server,
        .port = ca->port,
        .path = ca->path,
        .timeout_s = (int)ca->timeout_s,
        .pbm_ref = ca->pbm_ref[0] ? ca->pbm_ref : NULL,
        .pbm_secret = ca->pbm_secret[0] ? (const uint8_t *)ca->pbm_secret : NULL,
        .pbm_secret_len = strlen(ca->pbm_secret),
        .ra_cert_pem = ca->ra_cert[0] ? ca->ra_cert : NULL,
        .ra_key_pem = ca->ra_key[0] ? ca->ra_key : NULL,
        .ra_chain_pem = ca->ra_chain[0] ? ca->ra_chain : NULL,
        .srv_cert_pem = ca->srv_cert[0] ? ca->srv_cert : NULL,
        .srv_trust_pem = ca->srv_trust[0] ? ca->srv_trust : NULL,
    };
    if (!ca->enabled) {
        snprintf(why, whylen, "ca: not configured");
        return GW_LIFE_ERR_CONFIG;
    }
    if (sig_cmp_new(&c, trust, out, msg, sizeof(msg)) != SIG_CMP_OK) {
        snprintf(why, whylen, "ca.cmp: %s", msg);
        return GW_LIFE_ERR_CONFIG;
    }
    return GW_LIFE_OK;
}

int gw_life_check_config(const struct cfg *cfg, const struct sig_trust *trust, char *why, size_t whylen)
{
    struct sig_cmp *c = NULL;
    if (cmp_new(cfg, trust, &c, why, whylen) != GW_LIFE_OK)
        return -1;
    sig_cmp_free(c);
    return 0;
}

enum gw_life_err gw_life_new(const struct gw_life_deps *deps, struct gw_life **out, char *why, size_t whylen)
{
    struct gw_life *l = calloc(1, sizeof(*l));
    struct timeval tv;
    int fds[2] = {-1, -1};
    enum gw_life_err rc;

    *out = NULL;
    if (!l)
        return GW_LIFE_ERR_NOMEM;
    l->d = *deps;
    l->ca = &deps->cfg->ca;
    l->pipe_rd = l->pipe_wr = -1;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    if ((rc = cmp_new(deps->cfg, deps->trust, &l->cmp, why, whylen)) != GW_LIFE_OK)
        goto fail;
    rc = GW_LIFE_ERR_THREAD;
    snprintf(why, whylen, "cannot start the CMP worker");
    if (pipe(fds) != 0)
        goto fail;
    l->pipe_rd = fds[0];
    l->pipe_wr = fds[1];
    if (fcntl(l->pipe_rd, F_SETFL, O_NONBLOCK) != 0 || fcntl(l->pipe_wr, F_SETFL, O_NONBLOCK) != 0)
        goto fail;
    l->pipe_ev = event_new(deps->base, l->pipe_rd, EV_READ | EV_PERSIST, gw_lf_on_pipe, l);
    l->tick = event_new(deps->base, -1, EV_PERSIST, on_tick, l);
    tv.tv_sec = l->ca->tick_ms / 1000;
    tv.tv_usec = (l->ca->tick_ms % 1000) * 1000;
    if (!l->pipe_ev || !l->tick || event_add(l->pipe_ev, NULL) != 0 || event_add(l->tick, &tv) != 0)
        goto fail;
    if (pthread_create(&l->thr, NULL, gw_lf_worker_main, l) != 0)
        goto fail;
    l->thr_started = 1;
    why[0] = '\0';
    LOGP(LOG_INFO, "life", NULL, "lifecycle engine on: CA %s:%u, key %s", l->ca->server, (unsigned)l->ca->port,
         l->ca->key_alg_name);
    *out = l;
    return GW_LIFE_OK;
fail:
    gw_life_free(l);
    return rc;
}

void gw_life_free(struct gw_life *l)
{
    struct cmp_work *w, *next;

    if (!l)
        return;
    if (l->tick)
        event_free(l->tick);
    if (l->thr_started) {
        pthread_mutex_lock(&l->mu);
        if (l->todo || l->done)
            LOGP(LOG_INFO, "life", NULL, "stopping: CMP calls not handed back are resumed after the lease");
        l->stop = 1;
        pthread_cond_signal(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thr, NULL); /* at most one call in flight, bounded by ca.cmp.timeout_s */
    }
    for (w = l->todo; w; w = next) {
        next = w->next;
        gw_lf_work_free(w);
    }
    for (w = l->done; w; w = next) {
        next = w->next;
        gw_lf_work_free(w);
    }
    while (l->jobs)
        gw_lf_job_free(l->jobs);
    if (l->pipe_ev)
        event_free(l->pipe_ev);
    if (l->pipe_rd >= 0)
        close(l->pipe_rd);
    if (l->pipe_wr >= 0)
        close(l->pipe_wr);
    sig_cmp_free(l->cmp);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void gw_life_render_metrics(const struct gw_life *l, struct evbuffer *out)
{
    char labels[96];

    if (!l)
        return;
    evbuffer_add_printf(out, "# HELP simpki_life_steps_total looks at enrolment requests, by step and outcome\n"
                             "# TYPE simpki_life_steps_total counter\n");
    for (int s = 0; s < GW_LIFE_STEP_COUNT; s++)
        for (int o = 0; o < O_COUNT; o++)
            evbuffer_add_printf(out, "simpki_life_steps_total{step=\"%s\",outcome=\"%s\"} %llu\n", gw_life_step_name(s),
                                outcome_names[o], (unsigned long long)l->looks[s][o]);
    evbuffer_add_printf(out, "# HELP simpki_cmp_calls_total CMP transactions with the CA\n"
                             "# TYPE simpki_cmp_calls_total counter\n");
    for (int k = 0; k < K_COUNT; k++)
        evbuffer_add_printf(out, "simpki_cmp_calls_total{op=\"%s\"} %llu\n", gw_lf_kind_names[k],
                            (unsigned long long)l->cmp_calls[k]);
    evbuffer_add_printf(out, "# HELP simpki_cmp_errors_total CMP transactions that did not succeed\n"
                             "# TYPE simpki_cmp_errors_total counter\n");
    for (int k = 0; k < K_COUNT; k++)
        evbuffer_add_printf(out, "simpki_cmp_errors_total{op=\"%s\"} %llu\n", gw_lf_kind_names[k],
                            (unsigned long long)l->cmp_errors[k]);
    evbuffer_add_printf(out, "# HELP simpki_cmp_seconds_total time spent in CMP transactions\n"
                             "# TYPE simpki_cmp_seconds_total counter\n");
    for (int k = 0; k < K_COUNT; k++) {
        snprintf(labels, sizeof(labels), "simpki_cmp_seconds_total{op=\"%s\"}", gw_lf_kind_names[k]);
        evbuffer_add_printf(out, "%s %.6f\n", labels, l->cmp_seconds[k]);
    }
}
