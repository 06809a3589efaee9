/*
 * test_ar_evidence.c - ar_evidence_get against a live PostgreSQL, through
 * the stand-in for ar_pg.c (ar_pg_stub.h: blocking libpq, the callback
 * deferred to the event loop as ar_pg.h promises), so that the bundle's
 * query and JSON are tested on their own.  test_ar_evidence.sh fills the archive and checks
 * what this prints with docs/evidence/verify-evidence.sh.
 *
 *   test_ar_evidence CONNINFO|off TRUST.pem INTERMEDIATES.pem TSA_TRUST.pem TXN_ID RP|-
 *
 * prints the HTTP status on the first line, then the JSON answer.  "off":
 * the archive is off (a NULL struct ar); RP "-": an auditor.
 */
#include <event2/event.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "ar_evidence.h"
#include "ar_pg_stub.h"
#include "ar_priv.h"
#include "cfg.h"
#include "sig.h"

/* ---- the test ---- */

static void answered(void *arg, int status, const char *json, size_t len)
{
    int *done = arg;

    printf("%d\n%.*s\n", status, (int)len, json);
    *done = 1;
}

int main(int argc, char **argv)
{
    struct event_base *base = event_base_new();
    struct ar_pg pg = {.base = base};
    struct cfg *cfg = calloc(1, sizeof(*cfg));
    struct sig_trust *trust = NULL;
    struct ar a = {0};
    char why[256];
    int done = 0, off;

    if (argc != 7 || !base || !cfg) {
        fprintf(stderr, "usage: test_ar_evidence CONNINFO|off TRUST INTERMEDIATES TSA_TRUST TXN_ID RP|-\n");
        return 2;
    }
    off = strcmp(argv[1], "off") == 0;
    if (sig_trust_load(argv[2], argv[3], &trust, why, sizeof(why)) != SIG_OK) {
        fprintf(stderr, "trust: %s\n", why);
        return 2;
    }
    snprintf(cfg->tsa_trust, sizeof(cfg->tsa_trust), "%s", argv[4]);
    if (!off) {
        pg.db = PQconnectdb(argv[1]);
        a.pg = &pg;
        a.cfg = cfg;
        a.trust = trust;
    }
    ar_evidence_get(off ? NULL : &a, argv[5], strcmp(argv[6], "-") == 0 ? NULL : argv[6], answered, &done);
    while (!done && event_base_loop(base, EVLOOP_ONCE) == 0)
        ;
    if (pg.db)
        PQfinish(pg.db);
    sig_trust_free(trust);
    free(cfg);
    event_base_free(base);
    return done ? 0 : 1;
}
