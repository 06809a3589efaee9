/*
 * gw_forms_render.c - drive gateway/enrol/gw_forms from the command line, for the
 * screenshot test and for looking at a form by hand.
 *
 *   gw_forms_render REQUEST.json [OUT.html]        one request -> its form
 *   gw_forms_render --csv [--bom] LIST.json [OUT]  an array of requests -> CSV
 *   gw_forms_render --json LIST.json [OUT]         an array of requests -> JSON
 *
 * "-" or no OUT writes to stdout.  Exit 0 on success, 1 on a refused
 * request (the message names the field), 2 on usage or I/O errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_forms.h"

static int usage(void)
{
    fprintf(stderr, "usage: gw_forms_render [--csv [--bom] | --json] IN.json [OUT]\n");
    return 2;
}

int main(int argc, char **argv)
{
    int csv = 0, json = 0;
    unsigned flags = 0;
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--csv") == 0)
            csv = 1;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--bom") == 0)
            flags |= GW_FORM_CSV_BOM;
        else
            return usage();
    }
    if (i >= argc || argc - i > 2 || (csv && json))
        return usage();
    const char *in = argv[i];
    const char *outpath = i + 1 < argc ? argv[i + 1] : "-";

    json_error_t jerr;
    json_t *req = json_load_file(in, JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        fprintf(stderr, "%s:%d: %s\n", in, jerr.line, jerr.text);
        return 2;
    }
    char err[256] = "";
    char *out = NULL;
    size_t len = 0;
    enum gw_form_err rc;
    if (csv)
        rc = gw_form_export_csv(req, flags, &out, &len, err, sizeof err);
    else if (json)
        rc = gw_form_export_json(req, &out, &len, err, sizeof err);
    else
        rc = gw_form_render_html(req, &out, &len, err, sizeof err);
    json_decref(req);
    if (rc != GW_FORM_OK) {
        fprintf(stderr, "%s: %s (%s)\n", in, err, gw_form_strerror(rc));
        return 1;
    }
    int status = 0;
    FILE *f = strcmp(outpath, "-") == 0 ? stdout : fopen(outpath, "wb");
    if (!f || fwrite(out, 1, len, f) != len || (f != stdout && fclose(f) != 0)) {
        perror(outpath);
        status = 2;
    }
    free(out);
    return status;
}
