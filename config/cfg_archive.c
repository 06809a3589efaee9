/*
 * cfg_archive.c - the "archive" section's settings that the table in cfg.c
 * cannot hold ("retention_years": {"sign": N, "cert": N}) and the rules
 * across sections: anchoring needs a timestamp authority (top-level tsa_url).
 * gateway/archive uses them (docs/archive.md).
 */
#include <stdio.h>
#include <string.h>

#include "cfg_priv.h"

#define RETENTION_MAX_YEARS 100

/* retention_years.<kind> into *out: absent keeps the default, 0 = keep for ever. */
static enum cfg_err load_years(struct cfg_ctx *c, json_t *obj, const char *kind, unsigned *out)
{
    json_t *v = json_object_get(obj, kind);
    char name[40];

    if (!v)
        return CFG_OK;
    snprintf(name, sizeof name, "retention_years.%s", kind);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > RETENTION_MAX_YEARS)
        return cfg_fail(c, "archive", name, "must be a whole number of years 0..%d (0 = keep for ever)",
                        RETENTION_MAX_YEARS);
    *out = (unsigned)json_integer_value(v);
    return CFG_OK;
}

enum cfg_err cfg_load_archive(struct cfg_ctx *c, json_t *obj, struct cfg *cfg)
{
    struct cfg_archive *a = &cfg->archive;
    json_t *ry = json_object_get(obj, "retention_years");
    const char *key;
    json_t *v;
    enum cfg_err rc;

    if (!a->conninfo[0])
        return cfg_fail(c, "archive", "conninfo", "must not be empty");
    a->retention_sign_years = 10;
    a->retention_cert_years = 20;
    if (ry) {
        if (!json_is_object(ry))
            return cfg_fail(c, "archive", "retention_years", "must be an object {\"sign\": years, \"cert\": years}");
        json_object_foreach(ry, key, v)
        {
            if (strcmp(key, "sign") != 0 && strcmp(key, "cert") != 0)
                return cfg_fail(c, "archive", "retention_years", "\"%s\" is not sign or cert", key);
        }
        if ((rc = load_years(c, ry, "sign", &a->retention_sign_years)) != CFG_OK)
            return rc;
        if ((rc = load_years(c, ry, "cert", &a->retention_cert_years)) != CFG_OK)
            return rc;
    }
    /*
     * Anchors are timestamp tokens: without a TSA there is nothing to anchor
     * with.  The default (600) gives way to a missing tsa_url, so that an
     * archive without a TSA needs no extra setting; a value written out is
     * meant, and refused.
     */
    if (a->anchor_interval_s > 0 && !cfg->tsa_url[0]) {
        if (json_object_get(obj, "anchor_interval_s"))
            return cfg_fail(c, "archive", "anchor_interval_s",
                            "needs tsa_url (anchors are RFC 3161 timestamps); 0 turns anchoring off");
        a->anchor_interval_s = 0;
    }
    a->enabled = 1;
    return CFG_OK;
}

void cfg_print_archive(FILE *f)
{
    fprintf(f, "  %-24s %s\n      %s\n", "retention_years", "object {\"sign\": 0..100, \"cert\": 0..100}",
            "years each kind of evidence is kept before its monthly partitions are dropped; default "
            "{\"sign\": 10, \"cert\": 20}, 0 = keep for ever");
}
