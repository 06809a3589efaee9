/*
 * sim_main.c - simpki-sim: the carrier simulator.
 *
 *   simpki-sim --scenario FILE [--log-level error|warn|info|debug]
 *
 * One SMSC per carrier of the scenario on 127.0.0.1, all on one event_base.
 * Once every port listens, one line goes to stderr:
 *
 *   simpki-sim ready viettel=27751 vinaphone=27752 mobifone=27753 mssp=27760
 *
 * (mssp=PORT when the scenario has an "mssp" section: the ETSI TS 102 204
 * front, sim_mssp.h, on the same loop).
 * Tests wait for "simpki-sim ready" and read the ports from it (a scenario
 * port of 0 takes an ephemeral port).  SIGTERM / SIGINT end the loop; every
 * object is freed and secrets wiped before exit (ASan-clean).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <libxml/parser.h>

#include "log.h"
#include "sim_mssp.h"
#include "sim_scen.h"
#include "sim_smsc.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: simpki-sim --scenario FILE [--log-level error|warn|info|debug]\n"
               "The number plan and the scenario format: tests/sim/README.md\n");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct event_base *base = arg;

    (void)what;
    LOGP(LOG_INFO, "sim", NULL, "signal %d: stopping", (int)sig);
    event_base_loopexit(base, NULL);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"scenario", required_argument, NULL, 's'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *scenario = NULL;
    struct sim_scen *scen = NULL;
    struct sim_smsc *smsc[SIM_MAX_CARRIERS] = {0};
    struct sim_mssp *mssp = NULL;
    struct event_base *base = NULL;
    struct event *sigterm = NULL, *sigint = NULL;
    char err[512], ready[512];
    size_t off, n = 0;
    int opt, level, rc = 1;

    for (;;) {
        opt = getopt_long(argc, argv, "s:l:h", opts, NULL);
        if (opt == -1)
            break;
        switch (opt) {
        case 's': scenario = optarg; break;
        case 'l':
            level = log_level_parse(optarg);
            if (level < 0) {
                usage(stderr);
                return 2;
            }
            log_setup((enum log_level)level, LOG_FMT_TEXT);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!scenario || optind != argc) {
        usage(stderr);
        return 2;
    }
    /* A gateway that vanishes mid-write must not kill the simulator. */
    signal(SIGPIPE, SIG_IGN);

    if (sim_scen_load(scenario, &scen, err, sizeof(err)) != CAR_OK) {
        fprintf(stderr, "simpki-sim: %s\n", err);
        goto out;
    }
    base = event_base_new();
    if (!base)
        goto out;
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
        goto out;
    n = sim_scen_n_carriers(scen);
    off = (size_t)snprintf(ready, sizeof(ready), "simpki-sim ready");
    for (size_t i = 0; i < n; i++) {
        smsc[i] = sim_smsc_new(base, scen, i, err, sizeof(err));
        if (!smsc[i]) {
            fprintf(stderr, "simpki-sim: %s\n", err);
            goto out;
        }
        if (off < sizeof(ready))
            off += (size_t)snprintf(ready + off, sizeof(ready) - off, " %s=%u", sim_scen_carrier(scen, i)->name,
                                    (unsigned)sim_smsc_port(smsc[i]));
    }
    if (sim_scen_mssp(scen)) {
        mssp = sim_mssp_new(base, scen, err, sizeof(err));
        if (!mssp) {
            fprintf(stderr, "simpki-sim: %s\n", err);
            goto out;
        }
        if (off < sizeof(ready))
            off += (size_t)snprintf(ready + off, sizeof(ready) - off, " mssp=%u", (unsigned)sim_mssp_port(mssp));
    }
    LOGP(LOG_INFO, "sim", NULL, "%zu carriers, %zu SIMs loaded from %s", n, sim_scen_n_cards(scen), scenario);
    fprintf(stderr, "%s\n", ready);
    fflush(stderr);
    if (event_base_dispatch(base) < 0)
        goto out;
    rc = 0;
out:
    sim_mssp_free(mssp);
    for (size_t i = 0; i < SIM_MAX_CARRIERS; i++)
        sim_smsc_free(smsc[i]);
    if (sigterm)
        event_free(sigterm);
    if (sigint)
        event_free(sigint);
    if (base)
        event_base_free(base);
    sim_scen_free(scen);
    xmlCleanupParser();
    return rc;
}
