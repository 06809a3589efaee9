/*
 * cfg_reload.h - what a reload of the configuration (SIGHUP) may change in a
 * running process, and what it leaves for a restart.  The gateway's side (the
 * signal, the trust anchors, the log, the metrics) is gateway/gw_reload.h.
 *
 * A reload reads the whole file again with cfg_load(), so a bad file -- or a
 * bad api_keys_file, key_file, ... -- is refused whole with the loader's
 * message and nothing changes.  From a good one it takes (cfg_reload_take):
 *   - the relying parties: "api_keys" or "api_keys_file", every per-key
 *     setting with them (roles, revocation, AP credentials, callbacks, and
 *     whatever a key gains later);
 *   - "log_level";
 *   - the paths "trust_anchors" and "intermediates" (the gateway re-reads
 *     the files, changed or not).
 * Every other setting that differs from the file read at start is named by
 * cfg_snapshot_diff(): it takes effect at the next restart.  Among them the
 * whole "archive" section: the archiver holds one PostgreSQL connection and
 * the backlog bound for the life of the process.
 *
 * Everything here runs on the thread that owns the live struct cfg (the
 * event loop); nothing else may read the relying parties concurrently.
 */
#ifndef SIMPKI_CFG_RELOAD_H
#define SIMPKI_CFG_RELOAD_H

#include <stddef.h>

#include "cfg.h"

/*
 * Move the reloadable part of fresh (a cfg_load() result) into live.  The
 * relying parties are swapped: afterwards fresh holds live's former table,
 * which the caller frees with cfg_free(fresh) -- so a struct cfg_apikey
 * pointer of before the call must not be used after it (cfg.h).  Each new
 * entry's rp is live's interned name: a name present before and after keeps
 * its pointer, a removed name stays valid (what asynchronous work holds).
 * CFG_ERR_NOMEM (nothing changed) or CFG_OK.
 */
enum cfg_err cfg_reload_take(struct cfg *live, struct cfg *fresh) __attribute__((warn_unused_result));

/*
 * The settings of a configuration file as written, to tell which changed.
 * Secrets given inline are compared, never printed: only setting names leave.
 */
struct cfg_snapshot;

/* Read path (JSON only: cfg_load judges it).  On failure *out is NULL and err says why. */
enum cfg_err cfg_snapshot_read(const char *path, struct cfg_snapshot **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* cfg_snapshot_free(NULL) does nothing. */
void cfg_snapshot_free(struct cfg_snapshot *s);

/* setting: "listen_port", "redis.host", "carriers", ...; lives during the call. */
typedef void cfg_changed_cb(void *arg, const char *setting);

/*
 * Call cb for every setting outside the reloadable ones above whose value
 * differs between was and now (present in one only counts): members of a
 * top-level object by "section.member", anything else by its top-level name.
 * Returns how many.
 */
unsigned cfg_snapshot_diff(const struct cfg_snapshot *was, const struct cfg_snapshot *now, cfg_changed_cb *cb,
                           void *arg);

/* 1 when a reload applies the top-level setting `name` (those listed at the top). */
int cfg_reload_applies(const char *name);

#endif /* SIMPKI_CFG_RELOAD_H */
