/*
 * cfg_priv.h - what the configuration's modules share (cfg.c: the table and
 * the loader; cfg_rp.c: the relying parties).  Not installed; nothing outside
 * config/ includes it.
 */
#ifndef SIMPKI_CFG_PRIV_H
#define SIMPKI_CFG_PRIV_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "cfg.h"

/* Error context: where we are, for messages like "carriers[1].smpp[0].port". */
struct cfg_ctx {
    const char *file;
    char *err;
    size_t errlen;
};

/* One line "file: where.name: what" into c->err; returns CFG_ERR_INVALID. */
enum cfg_err cfg_fail(struct cfg_ctx *c, const char *where, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * First line of a secret file, without the newline, into out (the caller
 * wipes it).  CFG_ERR_IO when unreadable, CFG_ERR_INVALID when the line does
 * not fit in cap: a truncated secret would be a different secret.
 */
enum cfg_err cfg_read_secret_file(const char *path, char *out, size_t cap);

/* Exactly 2n hex digits, either case, into out; -1 otherwise. */
int cfg_parse_hex(const char *hex, uint8_t *out, size_t n);

/* cfg_rp.c: "api_keys" into cfg->apikeys / n_apikeys (absent: none). */
enum cfg_err cfg_load_apikeys(struct cfg_ctx *c, json_t *arr, struct cfg *cfg);

/* cfg_rp.c: "api_keys" inline or from the file "api_keys_file" names (root: the whole configuration). */
enum cfg_err cfg_load_apikeys_from(struct cfg_ctx *c, json_t *root, struct cfg *cfg);

/*
 * cfg_reload.c: name as cfg_apikey.rp: the pointer cfg already holds for an
 * equal name, else a new copy, kept until cfg_free.  NULL when out of memory.
 */
const char *cfg_rp_intern(struct cfg *cfg, const char *name);

/* cfg_reload.c: free the interned names (cfg_free). */
void cfg_rp_names_free(struct cfg *cfg);

/* cfg_rp.c: the api_keys part of `simpkid --help-config`. */
void cfg_print_apikeys(FILE *f);

/* cfg_rp.c: wipe and free what the relying parties hold (cfg_free). */
void cfg_free_apikeys(struct cfg *cfg);

/*
 * cfg_sentinel.c: "redis.sentinels" (absent: none) into r->sentinels, and
 * the checks that tie it to master_name, unix_socket and the WAIT settings;
 * run after the redis table is loaded.
 */
enum cfg_err cfg_load_sentinels(struct cfg_ctx *c, json_t *arr, struct cfg_redis *r);

/* cfg_sentinel.c: the redis.sentinels line of `simpkid --help-config`. */
void cfg_print_sentinels(FILE *f);

/* cfg_tls.c: the "tls" section's files (readable, key matches certificate) and its rules across api_keys. */
enum cfg_err cfg_tls_check(struct cfg_ctx *c, struct cfg *cfg);

/* cfg_tls.c: api_keys[].client_cert_sha256 (v may be NULL: none) into k. */
enum cfg_err cfg_load_client_certs(struct cfg_ctx *c, const char *where, json_t *v, struct cfg_apikey *k);

/*
 * cfg_archive.c: what the "archive" table in cfg.c cannot hold or check
 * alone (retention_years, the anchor's need of tsa_url), run after the table
 * filled cfg->archive from obj and after the top level is loaded.  Sets
 * cfg->archive.enabled.
 */
enum cfg_err cfg_load_archive(struct cfg_ctx *c, json_t *obj, struct cfg *cfg);

/* cfg_archive.c: the archive.retention_years line of `simpkid --help-config`. */
void cfg_print_archive(FILE *f);

#endif /* SIMPKI_CFG_PRIV_H */
