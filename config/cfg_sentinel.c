/*
 * cfg_sentinel.c - "redis.sentinels": the one redis setting the table in
 * cfg.c cannot hold (an array of "host:port"), and the checks that tie the
 * Sentinel and WAIT settings together.  queue/q_sentinel.h uses them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_priv.h"

/* "host:port" or "[v6]:port" into hp; -1 with nothing written when malformed. */
static int parse_hostport(const char *s, struct cfg_hostport *hp)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    char *end;
    unsigned long port;

    if (!colon || !colon[1])
        return -1;
    hlen = (size_t)(colon - s);
    if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
        h = s + 1;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof hp->host || memchr(h, '[', hlen) || memchr(h, ']', hlen))
        return -1;
    errno = 0;
    port = strtoul(colon + 1, &end, 10);
    if (errno || *end || colon[1] < '0' || colon[1] > '9' || port < 1 || port > 65535)
        return -1;
    memcpy(hp->host, h, hlen);
    hp->host[hlen] = '\0';
    hp->port = (uint16_t)port;
    return 0;
}

enum cfg_err cfg_load_sentinels(struct cfg_ctx *c, json_t *arr, struct cfg_redis *r)
{
    size_t i;
    json_t *v;

    r->n_sentinels = 0;
    if (arr && !json_is_array(arr))
        return cfg_fail(c, "redis", "sentinels", "must be an array of \"host:port\"");
    if (arr && json_array_size(arr) > CFG_MAX_SENTINELS)
        return cfg_fail(c, "redis", "sentinels", "too many (at most %d)", CFG_MAX_SENTINELS);
    json_array_foreach(arr, i, v)
    {
        struct cfg_hostport *hp = &r->sentinels[i];
        if (!json_is_string(v) || parse_hostport(json_string_value(v), hp) != 0)
            return cfg_fail(c, "redis", "sentinels", "entry %zu is not \"host:port\" (port 1..65535)", i);
        for (size_t k = 0; k < i; k++)
            if (r->sentinels[k].port == hp->port && strcmp(r->sentinels[k].host, hp->host) == 0)
                return cfg_fail(c, "redis", "sentinels", "entry %zu repeats entry %zu", i, k);
        r->n_sentinels = (unsigned)i + 1;
    }
    if (r->n_sentinels > 0 && !r->master_name[0])
        return cfg_fail(c, "redis", "master_name", "is required with sentinels");
    if (r->n_sentinels == 0 && r->master_name[0])
        return cfg_fail(c, "redis", "master_name", "needs sentinels");
    if (r->n_sentinels == 0 && r->sentinel_password[0])
        return cfg_fail(c, "redis", "sentinel_password", "needs sentinels");
    if (r->n_sentinels > 0 && r->unix_socket[0])
        return cfg_fail(c, "redis", "unix_socket", "cannot be used with sentinels (they name a host and port)");
    /* The master name goes on the wire as one argument and into logs: keep it plain. */
    for (const char *p = r->master_name; *p; p++)
        if (*p <= ' ' || *p > '~')
            return cfg_fail(c, "redis", "master_name", "must be printable ASCII without spaces");
    return CFG_OK;
}

void cfg_print_sentinels(FILE *f)
{
    fprintf(f, "  %-24s %s\n      %s\n", "sentinels", "array of at most 8 \"host:port\" strings",
            "Redis Sentinel: find the master through these (with master_name) instead of host/port; "
            "failovers are followed");
}
