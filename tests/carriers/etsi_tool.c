/*
 * etsi_tool.c - car_etsi_xml.h from the command line, for docs and for
 * checks by independent tools:
 *
 *   etsi_tool markdown          the status code table (docs/etsi-status.md)
 *   etsi_tool requests DIR      one file per request kind into DIR, built
 *                               with fixed values etsi_zeep.py expects
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "car_etsi_xml.h"
#include "etsi_fixture.h"

static int put(const char *dir, const char *name, enum etsi_err rc, char *xml, size_t len)
{
    char path[512];
    FILE *f;
    int ok;

    if (rc != ETSI_OK) {
        fprintf(stderr, "etsi_tool: %s: %s\n", name, etsi_strerror(rc));
        return 1;
    }
    snprintf(path, sizeof path, "%s/%s.xml", dir, name);
    f = fopen(path, "wb");
    ok = f && fwrite(xml, 1, len, f) == len;
    if (f && fclose(f) != 0)
        ok = 0;
    free(xml);
    if (!ok)
        fprintf(stderr, "etsi_tool: cannot write %s\n", path);
    return !ok;
}

static int requests(const char *dir)
{
    struct etsi_sig_req r = etsi_fx_sig_req();
    char *x = NULL;
    size_t n = 0;
    enum etsi_err rc;
    int bad = 0;

    /* Built first, then handed over: argument evaluation order is unspecified. */
    rc = etsi_build_signature(&r, &x, &n);
    bad |= put(dir, "signature", rc, x, n);
    r.mode = ETSI_MODE_ASYNCH_CS;
    r.timeout_s = 0;
    r.mss_format = r.profile = NULL;
    r.want_cert = r.want_validation = 0;
    rc = etsi_build_signature(&r, &x, &n);
    bad |= put(dir, "signature_asynch", rc, x, n);
    rc = etsi_build_status(&r.h, "MSSP_T9", "84912345678", &x, &n);
    bad |= put(dir, "status", rc, x, n);
    rc = etsi_build_receipt(&r.h, "MSSP_T9", "84912345678", "OK <done>", &x, &n);
    bad |= put(dir, "receipt", rc, x, n);
    rc = etsi_build_registration(&r.h, "84912345678", &x, &n);
    bad |= put(dir, "registration", rc, x, n);
    rc = etsi_build_profile(&r.h, "84912345678", &x, &n);
    bad |= put(dir, "profile", rc, x, n);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "markdown") == 0) {
        etsi_status_markdown(stdout);
        return fflush(stdout) != 0;
    }
    if (argc == 3 && strcmp(argv[1], "requests") == 0)
        return requests(argv[2]);
    fprintf(stderr, "usage: etsi_tool markdown | etsi_tool requests DIR\n");
    return 2;
}
