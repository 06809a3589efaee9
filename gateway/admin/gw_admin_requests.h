/*
 * gw_admin_requests.h - simpki-admin import-requests: certificate requests
 * from a spreadsheet export (CSV, see gw_enrol_import.h for the columns).
 *
 * Every row is checked exactly as POST /v1/requests checks a request
 * (gw_enrol_validate()); the report names each row and field:
 *
 *   row 17 (subscriber.phone): NOT_SIM_PKI_NETWORK: Vietnamobile has no SIM PKI
 *   line 42: MALFORMED_LINE: 3 fields, the header has 14
 *   warning: row 9 (subscriber.email): EMAIL_DOMAIN_REVIEW: ...
 *
 * and never holds a cell's content (no ID number, no phone number).  Rows
 * count from 1 without the header; lines are the file's.  Nothing is written
 * unless every row is valid; then all rows are written in one MULTI/EXEC
 * (q_sync_docs_put()) as new requests in state "submitted", revision 1,
 * created_by "import:<file name>", indexed in file order just before now.
 *
 * Progress goes to stderr: a bar redrawn in place (rows done / total, rows
 * per second) when stderr is a terminal, otherwise one line every 10,000
 * rows.  The summary goes to stdout.
 */
#ifndef SIMPKI_GW_ADMIN_REQUESTS_H
#define SIMPKI_GW_ADMIN_REQUESTS_H

#include "gw_admin.h"

struct cfg;

/*
 * form (may be NULL): the form of rows that do not name one (--form).
 * dry_run: check only, never connect to Redis.
 */
enum gw_admin_exit gw_admin_import_requests(const struct cfg *cfg, const char *path, const char *form, int dry_run);

#endif /* SIMPKI_GW_ADMIN_REQUESTS_H */
