/*
 * cfg_reload.c - see cfg_reload.h.  Also the relying parties' interned names
 * (cfg_apikey.rp), which is what makes swapping their table safe.
 *
 * Why interned names, not copies or reference counts: the name a request was
 * authenticated as travels far -- into the engine, the long-poll hub's record
 * of the transactions this process created (kept until they finish, minutes),
 * the SOAP endpoint's calls, Redis keys -- and most of those holders borrow it.
 * Copying it into each would grow hot structures and need every future holder
 * to remember; counting references would need every holder to release.  A
 * name, once handed out, is instead never freed before the struct cfg: the
 * pool grows only with names never seen before (64 octets each, however often
 * the keys are reloaded), and the same name keeps the same pointer, so state
 * kept per relying party (by name or by this pointer) carries across reloads.
 * The entries themselves (hashes, roles, secrets) are swapped and freed at
 * once: nothing keeps a struct cfg_apikey past the current event (cfg.h).
 */
#include "cfg_reload.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_priv.h"

struct cfg_rp_name {
    struct cfg_rp_name *next;
    char name[];
};

const char *cfg_rp_intern(struct cfg *cfg, const char *name)
{
    struct cfg_rp_name *n;
    size_t len = strlen(name);

    for (n = cfg->rp_names; n; n = n->next)
        if (strcmp(n->name, name) == 0)
            return n->name;
    n = malloc(sizeof *n + len + 1);
    if (!n)
        return NULL;
    memcpy(n->name, name, len + 1);
    n->next = cfg->rp_names;
    cfg->rp_names = n;
    return n->name;
}

void cfg_rp_names_free(struct cfg *cfg)
{
    while (cfg->rp_names) {
        struct cfg_rp_name *n = cfg->rp_names;
        cfg->rp_names = n->next;
        free(n);
    }
}

enum cfg_err cfg_reload_take(struct cfg *live, struct cfg *fresh)
{
    struct cfg_apikey *keys;
    size_t n;

    /* Everything that can fail first: interning only adds to the pool, harmless if we stop. */
    for (size_t i = 0; i < fresh->n_apikeys; i++)
        if (!cfg_rp_intern(live, fresh->apikeys[i].name))
            return CFG_ERR_NOMEM;
    for (size_t i = 0; i < fresh->n_apikeys; i++)
        fresh->apikeys[i].rp = cfg_rp_intern(live, fresh->apikeys[i].name);
    keys = live->apikeys;
    n = live->n_apikeys;
    live->apikeys = fresh->apikeys;
    live->n_apikeys = fresh->n_apikeys;
    fresh->apikeys = keys;
    fresh->n_apikeys = n;
    live->log_level = fresh->log_level;
    memcpy(live->trust_anchors, fresh->trust_anchors, sizeof live->trust_anchors);
    memcpy(live->intermediates, fresh->intermediates, sizeof live->intermediates);
    return CFG_OK;
}

int cfg_reload_applies(const char *name)
{
    static const char *const names[] = {"api_keys",      "api_keys_file", "log_level",
                                        "trust_anchors", "intermediates", NULL};
    for (const char *const *n = names; *n; n++)
        if (strcmp(*n, name) == 0)
            return 1;
    return 0;
}

struct cfg_snapshot {
    json_t *root;
};

enum cfg_err cfg_snapshot_read(const char *path, struct cfg_snapshot **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root;

    *out = NULL;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return json_error_code(&jerr) == json_error_cannot_open_file ? CFG_ERR_IO : CFG_ERR_SYNTAX;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(err, errlen, "%s: must be a JSON object", path);
        return CFG_ERR_INVALID;
    }
    *out = malloc(sizeof **out);
    if (!*out) {
        json_decref(root);
        snprintf(err, errlen, "%s: out of memory", path);
        return CFG_ERR_NOMEM;
    }
    (*out)->root = root;
    return CFG_OK;
}

void cfg_snapshot_free(struct cfg_snapshot *s)
{
    if (!s)
        return;
    json_decref(s->root);
    free(s);
}

/* Members of a and b (objects) that differ, as "prefix.member"; a member in one only differs. */
static unsigned diff_members(const char *prefix, json_t *a, json_t *b, cfg_changed_cb *cb, void *arg)
{
    const char *key;
    json_t *v;
    unsigned n = 0;
    char name[160];

    json_object_foreach(a, key, v)
    {
        if (!json_equal(v, json_object_get(b, key))) {
            snprintf(name, sizeof name, "%s.%s", prefix, key);
            cb(arg, name);
            n++;
        }
    }
    json_object_foreach(b, key, v)
    {
        if (!json_object_get(a, key)) {
            snprintf(name, sizeof name, "%s.%s", prefix, key);
            cb(arg, name);
            n++;
        }
    }
    return n;
}

static unsigned diff_one(const char *key, json_t *a, json_t *b, cfg_changed_cb *cb, void *arg)
{
    if (cfg_reload_applies(key) || json_equal(a, b))
        return 0;
    if (json_is_object(a) && json_is_object(b))
        return diff_members(key, a, b, cb, arg);
    cb(arg, key);
    return 1;
}

unsigned cfg_snapshot_diff(const struct cfg_snapshot *was, const struct cfg_snapshot *now, cfg_changed_cb *cb,
                           void *arg)
{
    const char *key;
    json_t *v;
    unsigned n = 0;

    json_object_foreach(was->root, key, v) n += diff_one(key, v, json_object_get(now->root, key), cb, arg);
    json_object_foreach(now->root, key, v)
    {
        if (!json_object_get(was->root, key))
            n += diff_one(key, NULL, v, cb, arg);
    }
    return n;
}
