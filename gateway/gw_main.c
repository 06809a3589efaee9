/*
 * gw_main.c - simpkid, the gateway daemon.
 *
 *   simpkid -c /etc/simpki/simpki.json     run
 *   simpkid -c FILE --check-config         validate the configuration and exit
 *   simpkid --help-config                  every setting, its type, default and help
 *   simpkid --help | --version
 *
 * One thread, one event loop: the HTTP API, Redis (queue/) and every SMPP
 * link share it.  SIGTERM/SIGINT stop gracefully: the API stops taking
 * requests, long polls are answered, links unbind, Redis calls finish.
 * Nothing pending is lost on any stop, graceful or not: it lives in Redis.
 */
#include <event2/event.h>
#include <libxml/parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ar.h"
#include "cfg.h"
#include "gw_admit.h"
#include "gw_api.h"
#include "gw_soap.h"
#include "gw_callback.h"
#include "gw_wait.h"
#include "gw_enrol.h"
#include "gw_plan.h"
#include "gw_life.h"
#include "gw_metrics.h"
#include "gw_reload.h"
#include "gw_txn_json.h"
#include "gw_txn.h"
#include "log.h"
#include "q.h"
#include "sig.h"

#ifndef SIMPKI_VERSION
#define SIMPKI_VERSION "unknown"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: simpkid -c CONFIG [--check-config]\n"
               "       simpkid --help-config | --help | --version\n");
}

/* What a first-time user needs: the options, where the configuration comes from and where
 * the documentation is (the README points here). */
static void help(void)
{
    usage(stdout);
    printf("\nsimpki gateway daemon: a JSON API for mobile signatures with SIM PKI cards, over SMPP.\n"
           "\n"
           "  -c CONFIG        the JSON configuration (deploy/local.sh writes .run/local/simpki.json;\n"
           "                   installed: /etc/simpki/simpki.json)\n"
           "  --check-config   validate CONFIG (and the files it names) and exit: 0 valid, 1 not\n"
           "  --help-config    every setting with its type, default and help\n"
           "  --version        print the version and exit\n"
           "  -h, --help       this text\n"
           "\n"
           "Runs in the foreground, logs to stderr; SIGTERM or SIGINT stop it gracefully;\n"
           "SIGHUP reloads the API keys, trust anchors and log level (README: Operating it).\n"
           "Docs: README.md (quick start, operating it), docs/openapi.yaml (the API),\n"
           "docs/design.md; the operator's CLI is simpki-admin.\n");
}

static void life_metrics(const void *life, struct evbuffer *out)
{
    gw_life_render_metrics(life, out);
}

/* Every finish, from any instance, to the long polls and to overload control. */
struct watchers {
    struct gw_wait *hub;
    struct gw_admit *admit;
};

static void on_done(void *arg, const char *id)
{
    const struct watchers *w = arg;
    gw_wait_notify(w->hub, id);
    gw_admit_notify(w->admit, id);
}

struct stopper {
    struct event_base *base;
    struct gw_api *api;
    int stopping;
};

/*
 * First signal: stop taking requests, answer long polls, and give the loop a
 * short grace period to write those answers.  A second signal stops at once.
 */
static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct stopper *st = arg;
    struct timeval grace = {0, 300 * 1000};
    (void)what;
    if (st->stopping++) {
        event_base_loopbreak(st->base);
        return;
    }
    LOGP(LOG_INFO, "main", NULL, "signal %d: stopping", (int)sig);
    gw_api_drain(st->api);
    event_base_loopexit(st->base, &grace);
}

/*
 * One event loop for everything.  With epoll, libevent's changelist folds
 * the add/delete pairs a loop iteration makes on one descriptor (a
 * bufferevent enabling and disabling writes, the Redis client doing the same) into at
 * most one epoll_ctl: measured 10.7 epoll_ctl per signature without it, half
 * of the gateway's system calls.  libevent's one caveat -- descriptors
 * cloned with dup() -- does not arise: nothing here dups a socket.
 */
static struct event_base *new_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base;

    if (!ec)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int check_only = 0, rc = 1;
    char err[512];
    struct cfg *cfg = NULL;
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    struct sig_trust *trust = NULL;
    struct q *q = NULL;
    struct gw_engine *engine = NULL;
    struct gw_api *api = NULL;
    struct gw_callback *callback = NULL;
    struct gw_wait *hub = NULL;
    struct gw_soap *soap = NULL;
    struct gw_enrol *enrol = NULL;
    struct gw_plan *plan = NULL;
    struct gw_life *life = NULL;
    struct gw_admit *admit = NULL;
    struct gw_reload *reload = NULL;
    struct ar *archive = NULL;
    struct ar_deps ar_deps;
    char consumer[320];
    struct gw_metrics metrics;
    struct stopper st = {0};
    struct watchers watchers;

    memset(&metrics, 0, sizeof(metrics));
    xmlInitParser(); /* once, before any thread: the ETSI transport's XML (carriers/car_etsi_xml.h) */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--check-config") == 0) {
            check_only = 1;
        } else if (strcmp(argv[i], "--help-config") == 0) {
            cfg_print_reference(stdout);
            return 0;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help();
            return 0;
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("simpkid %s\n", SIMPKI_VERSION);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    if (cfg_load(path, &cfg, err, sizeof(err)) != CFG_OK) {
        fprintf(stderr, "simpkid: %s\n", err);
        return 1;
    }
    log_setup((enum log_level)cfg->log_level, (enum log_format)cfg->log_format);
    log_set_instance(cfg->instance);
    if (sig_trust_load(cfg->trust_anchors, cfg->intermediates, &trust, err, sizeof(err)) != SIG_OK) {
        fprintf(stderr, "simpkid: %s: trust_anchors: %s\n", path, err);
        goto out;
    }
    if (cfg->ca.enabled && gw_life_check_config(cfg, trust, err, sizeof(err)) != 0) {
        fprintf(stderr, "simpkid: %s: %s\n", path, err);
        goto out;
    }
    if (check_only) {
        printf("%s: configuration is valid (%zu carrier(s), %zu API key(s)%s)\n", path, cfg->n_carriers, cfg->n_apikeys,
               cfg->ca.enabled ? ", CA connector" : "");
        rc = 0;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    base = new_base();
    if (!base)
        goto out;
    if (q_new(base, &cfg->redis, &q) != Q_OK) {
        LOGP(LOG_ERR, "main", NULL, "cannot set up Redis");
        goto out;
    }
    q_set_retention(q, (int64_t)cfg->txn_retention_s * 1000);
    /* The evidence archive (docs/archive.md), before any transaction: with it on, the scripts append events. */
    if (cfg->instance[0]) {
        snprintf(consumer, sizeof(consumer), "%s", cfg->instance);
    } else {
        char host[256] = "";
        gethostname(host, sizeof(host) - 1);
        snprintf(consumer, sizeof(consumer), "%s:%ld", host[0] ? host : "simpkid", (long)getpid());
    }
    ar_deps =
        (struct ar_deps){.cfg = cfg, .base = base, .q = q, .metrics = &metrics, .trust = trust, .consumer = consumer};
    if (ar_new(&ar_deps, &archive, err, sizeof(err)) != 0) {
        LOGP(LOG_ERR, "main", NULL, "cannot start the evidence archive: %s", err);
        goto out;
    }
    if (gw_engine_new(&(struct gw_engine_deps){.cfg = cfg, .base = base, .q = q, .trust = trust, .metrics = &metrics},
                      &engine) != GW_OK)
        goto out;
    enrol = gw_enrol_new(cfg, q);
    if (!enrol)
        goto out;
    /* Without a "ca" section enrolment requests are moved by hand, as before. */
    if (cfg->ca.enabled) {
        if (gw_life_new(&(struct gw_life_deps){.cfg = cfg, .base = base, .q = q, .engine = engine, .trust = trust},
                        &life, err, sizeof(err)) != GW_LIFE_OK) {
            LOGP(LOG_ERR, "main", NULL, "cannot start the lifecycle engine: %s", err);
            goto out;
        }
        metrics.extra = life_metrics;
        metrics.extra_arg = life;
    }
    /* Merger review plans (issue 14): any instance builds, serves and runs them. */
    plan = gw_plan_new(base, cfg, q, &metrics);
    if (!plan)
        goto out;
    hub = gw_wait_new(&(struct gw_wait_deps){.base = base, .q = q, .engine = engine, .metrics = &metrics});
    if (!hub)
        goto out;
    admit = gw_admit_new(&(struct gw_admit_deps){.cfg = cfg, .base = base, .q = q, .metrics = &metrics});
    if (!admit)
        goto out;
    soap = gw_soap_new(
        &(struct gw_soap_deps){.cfg = cfg, .q = q, .engine = engine, .wait = hub, .metrics = &metrics, .admit = admit});
    if (!soap)
        goto out;
    /* Callbacks on completion (issue 13): every instance delivers what any instance's transactions owe. */
    callback = gw_callback_new(&(struct gw_callback_deps){
        .cfg = cfg,
        .base = base,
        .q = q,
        .metrics = &metrics,
        .body = {[Q_CB_KIND_JSON] = gw_txn_json_body, [Q_CB_KIND_SOAP] = gw_soap_notification_body},
        .body_arg = {[Q_CB_KIND_SOAP] = (void *)cfg}});
    if (!callback)
        goto out;
    api = gw_api_new(&(struct gw_api_deps){.cfg = cfg,
                                           .base = base,
                                           .q = q,
                                           .engine = engine,
                                           .wait = hub,
                                           .enrol = enrol,
                                           .soap = soap,
                                           .trust = trust,
                                           .metrics = &metrics,
                                           .callback = callback,
                                           .plan = plan,
                                           .admit = admit});
    if (!api)
        goto out;
    watchers = (struct watchers){.hub = hub, .admit = admit};
    if (q_watch(q, on_done, &watchers) != Q_OK) {
        LOGP(LOG_ERR, "main", NULL, "cannot subscribe to transaction completions");
        goto out;
    }
    /* SIGHUP: after gw_life, whose metrics it chains to; gw_reload.h says what it reloads. */
    reload = gw_reload_new(
        &(struct gw_reload_deps){.base = base, .path = path, .cfg = cfg, .trust = trust, .metrics = &metrics});
    if (!reload)
        goto out;
    st.base = base;
    st.api = api;
    sigterm = evsignal_new(base, SIGTERM, on_signal, &st);
    sigint = evsignal_new(base, SIGINT, on_signal, &st);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
        goto out;
    LOGP(LOG_INFO, "main", NULL, "simpkid %s started", "0.1.0");
    event_base_dispatch(base);
    rc = 0;
out:
    /* Order matters: the API first (answers waiters), then Redis (its
     * callbacks fire with Q_ERR_AGAIN while the engine still exists), then links. */
    gw_api_free(api);
    gw_callback_free(callback); /* before q: attempts it still awaits are answered by q_free */
    gw_plan_free(plan);         /* before q likewise: its work under way ends on q_free's answers */
    ar_free(archive);           /* before q likewise: a read or ack under way is answered by q_free */
    q_free(q);                  /* before enrol and life: their pending calls are answered (dropped) here */
    gw_wait_free(hub);          /* after q: reads still in flight were answered; before the engine it watches */
    gw_soap_free(soap);         /* after q and the hub: their last answers reach its calls */
    gw_admit_free(admit);       /* after q: its lease calls were answered */
    gw_enrol_free(enrol);
    gw_life_free(life); /* joins the CMP worker; an unfinished step resumes after its lease */
    gw_engine_free(engine);
    gw_reload_free(reload);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    sig_trust_free(trust);
    if (base)
        event_base_free(base);
    cfg_free(cfg);
    xmlCleanupParser();
    return rc;
}
