/*
 * fuzz_merge_input.c - the merger review's input files
 * (gw_merge_read_reorg / gw_merge_read_staff, CSV or JSON) and, under them,
 * config/csv's framer.  The first octet picks the file; the rest is its
 * text.  Whatever the text: no crash or leak, nothing read past size (the
 * buffer is copied to exactly size octets), all or nothing (rows only when
 * the file has no error), every row and finding well formed: lines within
 * the file, dates as YYYY-MM-DD, CCCDs of 12 digits, serials in upper-case
 * hex without leading zeros, booleans 0 or 1, a unit's name key its own
 * key and no longer than the name, at most
 * GW_MERGE_MAX_FINDINGS findings kept, and the findings as JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_merge_input.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static int is_date(const char *s)
{
    return s[0] == '\0' || (strlen(s) == 10 && s[4] == '-' && s[7] == '-');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct gw_merge_input *in = gw_merge_input_new();
    int staff = size && (data[0] & 1);
    size_t n = 0, lines = 1;
    char *buf;
    enum gw_merge_err rc;
    json_t *j;

    REQUIRE(in != NULL);
    if (size) {
        data++;
        size--;
    }
    /* Lines as config/csv counts them: LF, CRLF and a lone CR each end one. */
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
    buf = malloc(size ? size : 1); /* exactly size octets: a read past them is ASan's to see */
    REQUIRE(buf != NULL);
    memcpy(buf, data, size);
    rc = staff ? gw_merge_read_staff(in, buf, size) : gw_merge_read_reorg(in, buf, size);
    REQUIRE(rc == GW_MERGE_OK || rc == GW_MERGE_ERR_INVALID);
    REQUIRE((rc == GW_MERGE_ERR_INVALID) == gw_merge_has_errors(in));
    if (staff) {
        const struct gw_staff_row *s = gw_merge_staff(in, &n);
        REQUIRE(rc == GW_MERGE_OK || (s == NULL && n == 0));
        for (size_t i = 0; i < n; i++) {
            size_t k = strlen(s[i].cert_serial);
            REQUIRE(s[i].line >= 2 && s[i].line <= lines);
            REQUIRE(s[i].id_number[0] || k);
            REQUIRE(!s[i].id_number[0] || strspn(s[i].id_number, "0123456789") == 12);
            REQUIRE(strspn(s[i].cert_serial, "0123456789ABCDEF") == k && s[i].cert_serial[0] != '0');
            REQUIRE(s[i].full_name[0] && s[i].old_unit[0]);
            REQUIRE((s[i].leader | s[i].state_sector | s[i].keeps_device) <= 1);
        }
    } else {
        const struct gw_reorg_row *r = gw_merge_reorg(in, &n);
        char k1[600], k2[600]; /* a cell is at most 512 octets, and its key no longer */
        REQUIRE(rc == GW_MERGE_OK || (r == NULL && n == 0));
        for (size_t i = 0; i < n; i++) {
            REQUIRE(r[i].line >= 2 && r[i].line <= lines);
            REQUIRE(r[i].old_unit[0] && r[i].new_unit[0] && r[i].province[0] && r[i].basis[0]);
            REQUIRE(is_date(r[i].basis_date) && r[i].basis_date[0] && is_date(r[i].effective));
            REQUIRE(r[i].seat == 0 || r[i].seat == 1);
            REQUIRE(strchr("=+-@\t\r", r[i].old_unit[0]) == NULL);
            /* A name key is its own key: composing, lower-casing and moving tones happen once. */
            gw_merge_name_key(r[i].old_unit, k1, sizeof(k1));
            gw_merge_name_key(k1, k2, sizeof(k2));
            REQUIRE(strlen(k1) <= strlen(r[i].old_unit) && strcmp(k1, k2) == 0);
        }
    }
    REQUIRE(gw_merge_finding_count(in) <= GW_MERGE_MAX_FINDINGS);
    for (size_t i = 0; i < gw_merge_finding_count(in); i++) {
        const struct gw_merge_finding *f = gw_merge_finding_at(in, i);
        REQUIRE(f->file && f->column && f->code && f->message && f->message[0]);
        REQUIRE(f->line <= lines);
        REQUIRE(f->warning == 0 || f->warning == 1);
    }
    REQUIRE(gw_merge_finding_at(in, gw_merge_finding_count(in)) == NULL);
    j = gw_merge_findings_json(in);
    REQUIRE(j != NULL && json_array_size(j) == gw_merge_finding_count(in));
    json_decref(j);
    /* Each file once. */
    REQUIRE((staff ? gw_merge_read_staff(in, buf, size) : gw_merge_read_reorg(in, buf, size)) == GW_MERGE_ERR_INVALID);
    gw_merge_input_free(in);
    free(buf);
    return 0;
}
