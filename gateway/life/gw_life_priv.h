/*
 * gw_life_priv.h - what gw_life.c (the tick, the job, the SIM and registry
 * steps, set-up) and gw_life_cmp.c (the CMP worker and the CA steps) share.
 * Not installed; nothing outside gateway/life includes it.
 *
 * Everything here runs on the event loop's thread except gw_lf_worker_main;
 * the worker touches struct gw_life only through todo, done and stop, under mu.
 */
#ifndef SIMPKI_GW_LIFE_PRIV_H
#define SIMPKI_GW_LIFE_PRIV_H

#include <event2/util.h>
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gw_enrol_import.h"
#include "gw_forms.h"
#include "gw_life.h"
#include "sig_cmp.h"

/* Outcomes of one look at a request, for /metrics. */
enum outcome { O_DONE, O_WAIT, O_RETRY, O_FAILED, O_LOST, O_COUNT };

enum cmp_kind { K_ENROL, K_RENEW, K_REVOKE, K_COUNT };
extern const char *const gw_lf_kind_names[K_COUNT]; /* "enrol", "renew", "revoke" */

/* One request being stepped on this instance. */
struct job {
    struct gw_life *l;
    struct job *next;
    char id[GW_ENROL_ID_LEN];
    char msisdn[16];   /* international, from subscriber.phone */
    json_t *doc;       /* the stored document, changed in place for the save */
    json_t *progress;  /* borrowed from doc */
    const json_t *req; /* borrowed from doc */
    enum gw_form_kind form;
    enum gw_life_step step;
    json_int_t rev; /* the revision read: the save's compare-and-set */
};

/* A CMP call for the worker; results filled there, read on the loop. */
struct cmp_work {
    struct cmp_work *next;
    struct job *job;
    enum cmp_kind kind;
    uint8_t *csr, *old; /* inputs, owned */
    size_t csr_len, old_len;
    enum sig_cmp_reason reason;
    enum sig_cmp_err rc; /* outputs */
    uint8_t *cert;       /* OPENSSL_malloc'd by sig_cmp */
    size_t cert_len;
    double seconds;
    char why[256];
};

struct gw_life {
    struct gw_life_deps d;
    const struct cfg_ca *ca;
    struct sig_cmp *cmp;
    struct event *tick;
    int claiming; /* a claim is in flight: do not start another */
    struct job *jobs;

    /* the worker: todo and done guarded by mu; everything else is the loop's */
    pthread_t thr;
    int thr_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cmp_work *todo, *done;
    int stop;
    int pipe_rd, pipe_wr;
    struct event *pipe_ev;

    uint64_t looks[GW_LIFE_STEP_COUNT][O_COUNT];
    uint64_t cmp_calls[K_COUNT], cmp_errors[K_COUNT];
    double cmp_seconds[K_COUNT];
};

/* gw_life.c: helpers */

/* A non-empty string member of o, or NULL. */
const char *gw_lf_jstr(const json_t *o, const char *k);
/* base64 of a progress field into a new buffer (caller frees); NULL when absent or not base64. */
uint8_t *gw_lf_b64_field(const json_t *o, const char *k, size_t *len);
/* o[k] = base64 of p[0..n), or null when out of memory. */
void gw_lf_set_b64(json_t *o, const char *k, const uint8_t *p, size_t n);

/* gw_life.c: the job's moves.  next, fail and retry end the look at j: j is freed when the save answers. */

/* Unlink j from its engine and free it (NULL does nothing). */
void gw_lf_job_free(struct job *j);
/* Move to step s (attempts and the SIM transaction start afresh), look again at once. */
void gw_lf_job_next(struct job *j, enum gw_life_step s, const char *to, const char *note);
/* A permanent failure: the request becomes "failed" with the reason. */
void gw_lf_job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A temporary failure: try the step again later, up to max_attempts times. */
void gw_lf_job_retry(struct job *j, const char *why);
/* A warning on the document (saved with the job's next save), and logged; j stays. */
void gw_lf_warn(struct job *j, const char *code, const char *msg);

/* gw_life_cmp.c: the worker */

/* The worker thread's body: pthread_create's start routine, arg is the struct gw_life. */
void *gw_lf_worker_main(void *arg);
/* Free a CMP call and what it owns (NULL does nothing). */
void gw_lf_work_free(struct cmp_work *w);
/* The loop side of the worker's pipe (EV_READ | EV_PERSIST, arg the struct gw_life). */
void gw_lf_on_pipe(evutil_socket_t fd, short what, void *arg);

/* gw_life_cmp.c: the CA steps, GW_LIFE_STEP_CMP, _RETIRE and _REVOKE */
void gw_lf_run_cmp(struct job *j);
void gw_lf_run_retire(struct job *j);
void gw_lf_run_revoke(struct job *j);

#endif
