/*
 * fuzz_enrol_csv.c - the certificate-request CSV importer
 * (gw_enrol_import_csv, then gw_enrol_import_row on every framed row), the
 * code simpki-admin import-requests runs on a spreadsheet export.  Whatever
 * the file: no crash or leak, nothing read or written past len + 1 (the
 * buffer is the input and one octet that is not a NUL), every finding has its strings and a row within
 * the file, bad rows never outnumber rows, and a row either yields a request
 * object or is refused with nothing returned.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_enrol_import.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

struct seen {
    size_t findings, max_row;
};

static void report(void *arg, const struct gw_enrol_finding *f)
{
    struct seen *s = arg;

    REQUIRE(f->field != NULL && f->code != NULL && f->message != NULL);
    REQUIRE(strlen(f->code) > 0 && strlen(f->message) > 0);
    REQUIRE(f->warning == 0 || f->warning == 1);
    s->findings++;
    if (f->row > s->max_row)
        s->max_row = f->row;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct gw_date today = {2026, 3, 5};
    /* The first octet picks the --form default: none, or a form by name. */
    static const char *const forms[] = {NULL, "person_new", "revoke", "handover"};
    struct seen seen = {0, 0};
    struct gw_enrol_import *im;
    char *buf;
    const char *form = size ? forms[data[0] % 4] : NULL;

    if (size) {
        data++;
        size--;
    }
    im = gw_enrol_import_new(form, &today, report, &seen);
    if (!im)
        return 0; /* a form name the build does not know */
    /* len + 1 octets, as gw_enrol_import.h asks; the extra one is not a NUL. */
    buf = malloc(size + 1);
    REQUIRE(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = 'x';
    if (gw_enrol_import_csv(im, buf, size) == 0) {
        size_t rows = gw_enrol_import_rows(im);
        REQUIRE(gw_enrol_import_bad_rows(im) <= rows);
        for (size_t i = 0; i < rows; i++) {
            json_t *req = NULL, *warn = NULL;
            if (gw_enrol_import_row(im, i, &req, &warn) == 0) {
                REQUIRE(json_is_object(req));
                REQUIRE(warn != NULL);
            } else {
                REQUIRE(req == NULL && warn == NULL);
            }
            json_decref(req);
            json_decref(warn);
        }
        REQUIRE(gw_enrol_import_bad_rows(im) <= rows);
        REQUIRE(seen.max_row <= rows);
    } else {
        REQUIRE(seen.findings > 0);
    }
    gw_enrol_import_free(im);
    free(buf);
    return 0;
}
