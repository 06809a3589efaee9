/* gw_reload.c - see gw_reload.h. */
#include "gw_reload.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cfg.h"
#include "cfg_reload.h"
#include "gw_metrics.h"
#include "log.h"
#include "sig.h"

struct gw_reload {
    struct gw_reload_deps d;
    struct event *sighup;
    /* The file as read at start: what restart-only settings are running with. */
    struct cfg_snapshot *running;
    uint64_t ok, failed;
    int last_ok;       /* the last reload succeeded (1 before any) */
    time_t last_ok_at; /* when; the start before any */
    /* metrics->extra before us: called first, so both series appear. */
    void (*prev_extra)(const void *arg, struct evbuffer *out);
    const void *prev_arg;
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void refuse(struct gw_reload *r, const char *why)
{
    r->failed++;
    r->last_ok = 0;
    LOGP(LOG_ERR, "reload", NULL, "new configuration refused, the one in use is kept: %s", why);
}

static void changed(void *arg, const char *setting)
{
    const struct gw_reload *r = arg;
    LOGP(LOG_WARN, "reload", NULL, "%s changed in %s, takes effect at restart", setting, r->d.path);
}

int gw_reload_now(struct gw_reload *r)
{
    struct cfg *fresh = NULL;
    struct sig_trust *trust = NULL;
    struct cfg_snapshot *now = NULL;
    char err[512], why[256];
    int rc = -1;
    unsigned level;

    LOGP(LOG_INFO, "reload", NULL, "SIGHUP: reading %s again", r->d.path);
    /* Everything is read and checked before anything changes: a refusal leaves no trace. */
    if (cfg_load(r->d.path, &fresh, err, sizeof err) != CFG_OK) {
        refuse(r, err);
        goto out;
    }
    if (cfg_snapshot_read(r->d.path, &now, err, sizeof err) != CFG_OK) {
        refuse(r, err);
        goto out;
    }
    if (sig_trust_load(fresh->trust_anchors, fresh->intermediates, &trust, why, sizeof why) != SIG_OK) {
        snprintf(err, sizeof err, "%s: trust_anchors: %s", r->d.path, why);
        refuse(r, err);
        goto out;
    }
    if (cfg_reload_take(r->d.cfg, fresh) != CFG_OK) {
        refuse(r, "out of memory");
        goto out;
    }
    /* From here on nothing fails. */
    sig_trust_replace(r->d.trust, trust);
    trust = NULL;
    cfg_snapshot_diff(r->running, now, changed, r);
    level = (unsigned)r->d.cfg->log_level;
    LOGP(LOG_INFO, "reload", NULL, "configuration reloaded: %zu relying parties, trust anchors from %s, log level %s",
         r->d.cfg->n_apikeys, r->d.cfg->trust_anchors, level < 4 ? level_names[level] : "?");
    log_setup((enum log_level)r->d.cfg->log_level, (enum log_format)r->d.cfg->log_format);
    r->ok++;
    r->last_ok = 1;
    r->last_ok_at = time(NULL);
    rc = 0;
out:
    sig_trust_free(trust);
    cfg_snapshot_free(now);
    cfg_free(fresh); /* after cfg_reload_take: the former relying parties, wiped */
    return rc;
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)gw_reload_now(arg);
}

static void render(const void *arg, struct evbuffer *out)
{
    const struct gw_reload *r = arg;

    if (r->prev_extra)
        r->prev_extra(r->prev_arg, out);
    evbuffer_add_printf(out,
                        "# HELP simpki_config_reloads_total configuration reloads (SIGHUP): ok = taken, failed = "
                        "refused with the configuration in use kept\n"
                        "# TYPE simpki_config_reloads_total counter\n"
                        "simpki_config_reloads_total{result=\"ok\"} %" PRIu64 "\n"
                        "simpki_config_reloads_total{result=\"failed\"} %" PRIu64 "\n",
                        r->ok, r->failed);
    gw_metrics_gauge(out, "config_last_reload_successful", "1 when the last reload was taken (or none was tried)", NULL,
                     r->last_ok);
    gw_metrics_gauge(out, "config_last_reload_success_timestamp_seconds",
                     "when the configuration in use was loaded (Unix time): the last reload taken, else the start",
                     NULL, (double)r->last_ok_at);
}

struct gw_reload *gw_reload_new(const struct gw_reload_deps *deps)
{
    struct gw_reload *r = calloc(1, sizeof *r);
    char err[512];

    if (!r)
        return NULL;
    r->d = *deps;
    r->last_ok = 1;
    r->last_ok_at = time(NULL);
    if (cfg_snapshot_read(deps->path, &r->running, err, sizeof err) != CFG_OK) {
        LOGP(LOG_ERR, "reload", NULL, "%s", err);
        free(r);
        return NULL;
    }
    r->sighup = evsignal_new(deps->base, SIGHUP, on_sighup, r);
    if (!r->sighup || evsignal_add(r->sighup, NULL) != 0) {
        if (r->sighup)
            event_free(r->sighup);
        cfg_snapshot_free(r->running);
        free(r);
        return NULL;
    }
    r->prev_extra = deps->metrics->extra;
    r->prev_arg = deps->metrics->extra_arg;
    deps->metrics->extra = render;
    deps->metrics->extra_arg = r;
    return r;
}

void gw_reload_free(struct gw_reload *r)
{
    if (!r)
        return;
    r->d.metrics->extra = r->prev_extra;
    r->d.metrics->extra_arg = r->prev_arg;
    event_free(r->sighup);
    cfg_snapshot_free(r->running);
    free(r);
}
