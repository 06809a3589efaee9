/*
 * gw_reload.h - SIGHUP: reload the configuration without a restart.
 *
 * On SIGHUP (handled on the event loop, between two events, like SIGTERM)
 * the configuration file is read again whole.  When it, the key file it
 * names (api_keys_file), every key_file and the trust files are all good,
 * the running daemon takes (config/cfg_reload.h):
 *   - the relying parties with all their settings: from the next request on,
 *     a new key works and a removed one gets 401; requests already under way
 *     finish as they started (they keep the relying party's name, which
 *     stays valid: cfg.h);
 *   - the trust anchors and intermediates, re-read from their files
 *     (sig_trust_replace: every holder of the trust sees them, the
 *     verification cache empties itself);
 *   - the log level.
 * Anything else changed in the file is logged at WARN as "<setting> changed
 * in FILE, takes effect at restart" and otherwise ignored.  A bad file is
 * refused whole: the reason is logged at ERR as the loader words it (file,
 * key, problem) and the configuration in use is kept.  A second SIGHUP
 * during a reload waits for it (the reload is one event).  The file reads
 * block the loop for the time they take (milliseconds).
 *
 * On /metrics: simpki_config_reloads_total{result="ok"|"failed"},
 * simpki_config_last_reload_successful (1/0) and
 * simpki_config_last_reload_success_timestamp_seconds (the start, until a
 * reload succeeds).
 */
#ifndef SIMPKI_GW_RELOAD_H
#define SIMPKI_GW_RELOAD_H

struct event_base;
struct cfg;
struct sig_trust;
struct gw_metrics;

struct gw_reload_deps {
    struct event_base *base;
    const char *path;           /* the configuration file, as loaded at start (borrowed, outlives) */
    struct cfg *cfg;            /* the live configuration: its reloadable part is replaced in place */
    struct sig_trust *trust;    /* the live trust: its certificates are replaced in place */
    struct gw_metrics *metrics; /* the reload's series follow metrics->extra's (chained: set that first) */
};

struct gw_reload;

/* Watches SIGHUP on base.  NULL when it cannot (out of memory, the start file unreadable). */
struct gw_reload *gw_reload_new(const struct gw_reload_deps *deps);

/* Stops watching, gives metrics->extra back.  NULL does nothing.  Before the deps are freed. */
void gw_reload_free(struct gw_reload *r);

/* What SIGHUP does: 0 when the new configuration was taken, -1 when it was refused (logged). */
int gw_reload_now(struct gw_reload *r);

#endif /* SIMPKI_GW_RELOAD_H */
