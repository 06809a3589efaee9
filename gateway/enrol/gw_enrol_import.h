/*
 * gw_enrol_import.h - certificate requests from a spreadsheet export (CSV),
 * and the one "validate and normalise a request" step that POST /v1/requests
 * and the importer share, so a request is accepted or refused the same way
 * whichever door it comes in by.
 *
 * THE FILE.  RFC 4180 CSV in UTF-8, with or without a byte order mark, CRLF
 * or LF line ends, fields quoted when they hold a comma, a quote (doubled) or
 * a line break.  The first record is the header: each column names a field
 * of the request object of gw_forms.h by its path, dots going into objects
 * and [N] (0-based) into arrays:
 *
 *   form,unit,place,date,subscriber.full_name,subscriber.birth_date,
 *   subscriber.id_number,subscriber.email,subscriber.phone,sim_pki,
 *   organisation.name,organisation.code,certificate.serial,reason,
 *   devices[0].serial,devices[0].cert_name,...
 *
 * An empty cell leaves the field out (the form prints a blank, and a
 * required field is reported missing).  A column no form has is refused with
 * the header, before any row is read.  `default_form` (simpki-admin's --form)
 * is the form of every row whose form cell is empty or that has no form
 * column; a row naming another form is an error (FORM_MISMATCH).
 *
 * Every row then goes through gw_enrol_validate(), exactly what the API runs,
 * and every finding is handed to the report callback: nothing is printed
 * here.  Rows are numbered from 1 not counting the header; lines are the
 * file's physical lines from 1 (a quoted line break starts a new line), so a
 * record's line is where it starts.  A record that cannot be framed (a quote
 * inside an unquoted field, text after a closing quote, a quoted field never
 * closed, a NUL byte) or has another number of fields than the header is
 * reported by its line and counted as an invalid row; framing resumes on the
 * next line, except after a quote never closed, which swallows the rest of
 * the file.  Messages never repeat a cell's content, so they can be shown
 * and logged: no ID number or phone number ever reaches a report.
 */
#ifndef SIMPKI_GW_ENROL_IMPORT_H
#define SIMPKI_GW_ENROL_IMPORT_H

#include <stddef.h>

#include <jansson.h>

#include "gw_valid.h"

/* A request's id.  Where requests live in Redis is queue/'s alone (q_docs.h, q_sync_docs_put). */
#define GW_ENROL_ID_LEN 22 /* "r" + 20 hex + NUL */

/* ---- one request -------------------------------------------------------- */

enum gw_enrol_verdict {
    GW_ENROL_VALID = 0,        /* errors is empty; warnings may not be */
    GW_ENROL_INVALID = 1,      /* errors holds one entry per finding */
    GW_ENROL_UNKNOWN_FORM = 2, /* "form" is missing or not one of the five; why says which */
};

/*
 * What POST /v1/requests does before it stores a request: drop "id" (ours to
 * give), run the content checks of gw_enrol_check.h (which normalise request
 * in place), then the shape check of gw_forms.h, whose error is added to
 * errors unless the content checks already named that field.  Findings are
 * appended as {"field", "error", "message"} objects to errors and warnings.
 * today: the date age checks use; NULL means today in Việt Nam.  why gets
 * the text of GW_ENROL_UNKNOWN_FORM.
 */
enum gw_enrol_verdict gw_enrol_validate(json_t *request, const struct gw_date *today, json_t *errors, json_t *warnings,
                                        char *why, size_t whylen) __attribute__((warn_unused_result));

/* A new request id, "r" + 20 hex digits from the CSPRNG.  0, or -1 without randomness. */
int gw_enrol_new_id(char id[GW_ENROL_ID_LEN]) __attribute__((warn_unused_result));

/*
 * The stored document of a new request, revision 1 in state "submitted":
 * {"id", "state", "rev", "created_at", "updated_at", "created_by",
 *  "history": [{"state": "submitted", "at", "by"}], "warnings", "request"}.
 * now is "YYYY-MM-DDTHH:MM:SSZ".  Takes the references to warnings and
 * request (also on failure).  NULL on out of memory.
 */
json_t *gw_enrol_doc_new(const char *id, const char *now, const char *created_by, json_t *warnings, json_t *request);

/* ---- a CSV file of requests --------------------------------------------- */

/*
 * One finding.  row is 0 for a finding about the file (the header) or a
 * record that could not be framed; line is then where it is.  field is ""
 * when no one field is at fault.  warning is 1 for something to review that
 * does not stop the import.  All strings live only during the call.
 */
struct gw_enrol_finding {
    size_t row, line;
    const char *field, *code, *message;
    int warning;
};
typedef void gw_enrol_report_fn(void *arg, const struct gw_enrol_finding *f);

struct gw_enrol_import;

/*
 * default_form may be NULL; today as for gw_enrol_validate() (copied).
 * report is called for every finding.  NULL on out of memory or when
 * default_form is not a form (gw_form_lookup()).
 */
struct gw_enrol_import *gw_enrol_import_new(const char *default_form, const struct gw_date *today,
                                            gw_enrol_report_fn *report, void *arg);
/* gw_enrol_import_free(NULL) does nothing. */
void gw_enrol_import_free(struct gw_enrol_import *im);

/*
 * Frame the whole file: check the header, split every record into cells.
 * buf is unquoted in place and must stay alive, unchanged, as long as im;
 * it must have room for len + 1 octets: buf[len] need not be anything on
 * entry, but the last cell of a file without a final line end is
 * terminated there.  Returns 0 when the rows can be looked at
 * (malformed records among them are reported and counted as bad), -1 when
 * the file cannot be used at all (empty, a bad header, out of memory;
 * reported).  Call once.
 */
int gw_enrol_import_csv(struct gw_enrol_import *im, char *buf, size_t len) __attribute__((warn_unused_result));

/* Data rows framed, bad ones included: the total for a progress bar. */
size_t gw_enrol_import_rows(const struct gw_enrol_import *im);

/* Rows found invalid so far (framing and validation). */
size_t gw_enrol_import_bad_rows(const struct gw_enrol_import *im);

/*
 * Build row i (0-based) into a request object and validate it with
 * gw_enrol_validate().  On 0 *request is the normalised request and
 * *warnings its warnings (both new references for the caller; warnings were
 * reported too).  -1 when the row is invalid (reported; nothing returned) or
 * on out of memory (reported with code "NOMEM").
 */
int gw_enrol_import_row(struct gw_enrol_import *im, size_t i, json_t **request, json_t **warnings)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_GW_ENROL_IMPORT_H */
