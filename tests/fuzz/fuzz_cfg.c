/*
 * fuzz_cfg.c - the configuration loader on hostile files.  The input is
 * written to a temporary file and loaded; whatever the outcome, the error
 * text is one terminated line and a success has its invariants.  Secret
 * "*_file" paths in an input may name real files; that is fine, they are
 * only read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static char path[64];

static void remove_tmp(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg *cfg = NULL;
    char err[512];
    enum cfg_err rc;
    FILE *f;

    if (!path[0]) {
        int fd;
        snprintf(path, sizeof path, "/tmp/fuzz_cfg.XXXXXX");
        fd = mkstemp(path);
        REQUIRE(fd >= 0);
        close(fd);
        atexit(remove_tmp);
    }
    f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(data, 1, size, f) == size);
    REQUIRE(fclose(f) == 0);

    memset(err, 'x', sizeof err);
    rc = cfg_load(path, &cfg, err, sizeof err);
    REQUIRE(memchr(err, '\0', sizeof err) != NULL);
    if (rc == CFG_OK) {
        REQUIRE(cfg != NULL);
        REQUIRE(cfg->n_apikeys >= 1 && cfg->apikeys != NULL);
        REQUIRE(cfg->n_carriers <= CFG_MAX_CARRIERS);
        for (size_t i = 0; i < cfg->n_carriers; i++) {
            const struct cfg_carrier *c = &cfg->carriers[i];
            REQUIRE(c->n_links <= CFG_MAX_LINKS);
            REQUIRE(cfg_carrier_by_name(cfg, c->name) == c);
            REQUIRE(cfg_carrier_by_net(cfg, c->net) == c);
            for (size_t j = 0; j < c->n_links; j++) {
                REQUIRE(c->links[j].kind == CFG_TRANSPORT_SMPP);
                REQUIRE(c->links[j].u.smpp.port >= 1);
                REQUIRE(c->links[j].name[0] != '\0');
                REQUIRE(c->links[j].u.smpp.reconnect_min_ms <= c->links[j].u.smpp.reconnect_max_ms);
            }
        }
    } else {
        REQUIRE(cfg == NULL);
        REQUIRE(err[0] != '\0');
        REQUIRE(strstr(err, path) != NULL);
    }
    cfg_free(cfg);
    return 0;
}
