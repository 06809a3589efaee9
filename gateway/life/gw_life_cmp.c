/*
 * gw_life_cmp.c - the lifecycle engine's CMP steps (see gw_life.h): the
 * blocking CMP client runs on one worker thread, fed by a queue under
 * gw_life's mutex and answering through a pipe that the event loop watches,
 * so a slow CA never stalls the loop.  Split from gw_life.c; what the two
 * share is in gw_life_priv.h.
 */
#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "gw_forms.h"
#include "gw_life.h"
#include "gw_life_priv.h"
#include "log.h"
#include "sig.h"

/* ---- the worker: CMP calls off the loop --------------------------------- */

void *gw_lf_worker_main(void *arg)
{
    struct gw_life *l = arg;
    struct timespec t0, t1;

    pthread_mutex_lock(&l->mu);
    for (;;) {
        struct cmp_work *w;
        while (!l->todo && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (l->stop)
            break;
        w = l->todo;
        l->todo = w->next;
        pthread_mutex_unlock(&l->mu);

        clock_gettime(CLOCK_MONOTONIC, &t0);
        if (w->kind == K_ENROL)
            w->rc = sig_cmp_enrol(l->cmp, w->csr, w->csr_len, &w->cert, &w->cert_len, w->why, sizeof(w->why));
        else if (w->kind == K_RENEW)
            w->rc = sig_cmp_renew(l->cmp, w->csr, w->csr_len, w->old, w->old_len, &w->cert, &w->cert_len, w->why,
                                  sizeof(w->why));
        else
            w->rc = sig_cmp_revoke(l->cmp, w->old, w->old_len, w->reason, w->why, sizeof(w->why));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        w->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;

        pthread_mutex_lock(&l->mu);
        w->next = l->done;
        l->done = w;
        /* One byte wakes the loop; a full pipe already means "look". */
        if (write(l->pipe_wr, "x", 1) < 0 && errno != EAGAIN)
            LOGP(LOG_ERR, "life", NULL, "cannot wake the event loop: %s", strerror(errno));
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

void gw_lf_work_free(struct cmp_work *w)
{
    if (!w)
        return;
    free(w->csr);
    free(w->old);
    OPENSSL_free(w->cert);
    free(w);
}

typedef void cmp_done_fn(struct job *j, struct cmp_work *w);

static void cmp_post(struct job *j, enum cmp_kind kind, const char *old_field, enum sig_cmp_reason reason)
{
    struct gw_life *l = j->l;
    struct cmp_work *w = calloc(1, sizeof(*w));

    if (!w) {
        gw_lf_job_free(j);
        return;
    }
    w->job = j;
    w->kind = kind;
    w->reason = reason;
    if (kind != K_REVOKE)
        w->csr = gw_lf_b64_field(j->progress, "csr", &w->csr_len);
    if (old_field)
        w->old = gw_lf_b64_field(j->progress, old_field, &w->old_len);
    if ((kind != K_REVOKE && !w->csr) || (old_field && !w->old)) {
        gw_lf_work_free(w);
        gw_lf_job_fail(j, "the %s to send to the CA is not recorded", kind == K_REVOKE ? "certificate" : "request");
        return;
    }
    LOGP(LOG_INFO, "life", j->id, "%s: CMP %s sent to the CA", gw_life_step_name(j->step), gw_lf_kind_names[kind]);
    pthread_mutex_lock(&l->mu);
    w->next = NULL;
    {
        struct cmp_work **pp = &l->todo;
        while (*pp)
            pp = &(*pp)->next;
        *pp = w;
    }
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* The issued certificate: progress.cert and the visible "result". */
static void issued(struct job *j, const uint8_t *cert, size_t len)
{
    struct sig_cert_info ci;
    const unsigned char *p = cert;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    BIO *b = BIO_new(BIO_s_mem());
    char na[32], *pem = NULL;
    long pemlen = 0;
    struct tm tm;
    int retire = json_object_get(j->progress, "old_cert") != NULL;

    if (!x || !b || !PEM_write_bio_X509(b, x) || sig_cert_info(cert, len, &ci) != SIG_OK) {
        X509_free(x);
        BIO_free(b);
        gw_lf_job_fail(j, "the CA's certificate could not be read back");
        return;
    }
    pemlen = BIO_get_mem_data(b, &pem);
    gmtime_r(&ci.not_after, &tm);
    strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
    gw_lf_set_b64(j->progress, "cert", cert, len);
    json_object_set_new(j->doc, "result",
                        json_pack("{s:s, s:s, s:s, s:s, s:s%}", "serial", ci.serial_hex, "not_after", na, "subject",
                                  ci.subject, "issuer", ci.issuer, "certificate", pem, (size_t)pemlen));
    X509_free(x);
    BIO_free(b);
    gw_lf_job_next(j, retire ? GW_LIFE_STEP_RETIRE : GW_LIFE_STEP_PUTCERT, "issued", NULL);
}

static void cmp_result(struct job *j, struct cmp_work *w)
{
    char why[320];

    snprintf(why, sizeof(why), "%s: %s", sig_cmp_strerror(w->rc), w->why);
    if (w->rc != SIG_CMP_OK && sig_cmp_err_is_temporary(w->rc)) {
        if (j->step == GW_LIFE_STEP_RETIRE &&
            json_integer_value(json_object_get(j->progress, "attempts")) + 1 >= (json_int_t)j->l->ca->max_attempts)
            goto retire_anyway;
        gw_lf_job_retry(j, why);
        return;
    }
    switch (j->step) {
    case GW_LIFE_STEP_CMP:
        if (w->rc == SIG_CMP_OK)
            issued(j, w->cert, w->cert_len);
        else if (w->rc == SIG_CMP_ERR_WRONG_KEY)
            gw_lf_job_fail(j, "the CA answered a certificate for another key; nothing installed (%s)", w->why);
        else
            gw_lf_job_fail(j, "the CA did not issue the certificate: %s", why);
        return;
    case GW_LIFE_STEP_RETIRE:
        /* Already revoked: this step's own rr, its answer lost to a crash, repeated after the lease. */
        if (w->rc == SIG_CMP_OK || w->rc == SIG_CMP_ERR_ALREADY_REVOKED) {
            json_object_set_new(j->progress, "old_revoked", json_string("superseded"));
            gw_lf_job_next(j, GW_LIFE_STEP_PUTCERT, NULL, NULL);
            return;
        }
    retire_anyway:
        /* The new certificate is issued: a refusal to revoke the old one is for the operator, not a failure. */
        gw_lf_warn(j, "OLD_CERT_NOT_REVOKED", why);
        gw_lf_job_next(j, GW_LIFE_STEP_PUTCERT, NULL, NULL);
        return;
    default: /* GW_LIFE_STEP_REVOKE */
        if (w->rc == SIG_CMP_OK || w->rc == SIG_CMP_ERR_ALREADY_REVOKED) {
            /* Already revoked: most often this step's own rr, answered before a crash and repeated after
             * the lease; the registry must follow the CA either way, and the operator is told. */
            if (w->rc == SIG_CMP_ERR_ALREADY_REVOKED)
                gw_lf_warn(j, "ALREADY_REVOKED", why);
            json_object_set_new(j->progress, "revoked_reason", json_string(sig_cmp_reason_name(w->reason)));
            gw_lf_job_next(j, GW_LIFE_STEP_DEACTIVATE, NULL, NULL);
        } else {
            gw_lf_job_fail(j, "the CA did not revoke the certificate: %s", why);
        }
        return;
    }
}

/* The loop side of the pipe: hand every finished call back to its job. */
void gw_lf_on_pipe(evutil_socket_t fd, short what, void *arg)
{
    struct gw_life *l = arg;
    struct cmp_work *w, *next;
    char buf[64];

    (void)what;
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&l->mu);
    w = l->done;
    l->done = NULL;
    pthread_mutex_unlock(&l->mu);
    for (; w; w = next) {
        next = w->next;
        l->cmp_calls[w->kind]++;
        l->cmp_seconds[w->kind] += w->seconds;
        if (w->rc != SIG_CMP_OK)
            l->cmp_errors[w->kind]++;
        LOGP(w->rc == SIG_CMP_OK ? LOG_INFO : LOG_WARN, "life", w->job->id, "CMP %s: %s in %.2f s%s%s",
             gw_lf_kind_names[w->kind], sig_cmp_strerror(w->rc), w->seconds, w->why[0] ? ": " : "", w->why);
        cmp_result(w->job, w);
        gw_lf_work_free(w);
    }
}

void gw_lf_run_cmp(struct job *j)
{
    int renew = j->form == GW_FORM_CHANGE && json_object_get(j->progress, "old_cert");
    cmp_post(j, renew ? K_RENEW : K_ENROL, renew ? "old_cert" : NULL, SIG_CMP_REASON_UNSPECIFIED);
}

void gw_lf_run_retire(struct job *j)
{
    cmp_post(j, K_REVOKE, "old_cert", SIG_CMP_REASON_SUPERSEDED);
}

void gw_lf_run_revoke(struct job *j)
{
    cmp_post(j, K_REVOKE, "old_cert", gw_life_revoke_reason(gw_lf_jstr(j->req, "reason")));
}
