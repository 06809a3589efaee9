/*
 * gw_admin_plan.h - simpki-admin plan: the operator's command line for
 * merger plans (issue 14), a thin client of the daemon's /v1/plans
 * resource (gateway/merge/gw_plan.h holds the API and its documents).
 *
 *   plan build --reorg FILE --staff FILE --name TEXT --deadline YYYY-MM-DD [--by NAME]
 *   plan list
 *   plan show ID [--unit U] [--action A] [--csv]
 *   plan override ID ROW --action A --reason TEXT [--by NAME]
 *   plan approve ID [--by NAME]
 *   plan follow ID
 *   plan open ID [--csv]
 *   plan bundle ID --unit U -o FILE
 *   plan export ID --format csv|json -o FILE
 *
 * Every command also takes --api URL and --key-file FILE (gw_admin_api.h:
 * where the daemon is, and the operator key, which is never taken from the
 * command line; SIMPKI_API_KEY otherwise).
 *
 * build reads both files as they are (CSV or JSON, at most 64 MiB each,
 * UTF-8: a file that is not is refused here, with its line), posts them,
 * then polls the plan while the daemon matches it against the registry
 * (a progress bar of build.read / build.total on stderr) and prints the
 * plan's id and summary.  Findings of a refused file are printed one a line,
 * named by the file the operator gave:
 *   staff.csv line 12 column id_number: INVALID: must be 12 digits
 *   warning: reorg.csv line 3 column old_unit: SPLIT: ...
 * override and approve read the plan's version first and send it, so a
 * change made in between (by another operator, or on the review page) is
 * refused by the daemon (409 VERSION_CONFLICT) rather than overwritten.
 * follow polls the running plan until it is finished, then prints the
 * report; its exit status says whether any request failed.
 *
 * Output: tables on stdout, aligned in terminal columns (gw_admin_out.h),
 * numbers masked (8491***678), no ID numbers.  show --csv writes every row
 * in full (RFC 4180 with gw_form_csv_field's formula guard; a UTF-8 byte
 * order mark when stdout is a regular file, for spreadsheet programs).
 * Errors on stderr, one line each, "error: ...".
 *
 * Exit status: 0 ok; 1 refused or failed (daemon unreachable, 401/403, 404,
 * 409, findings, a failed request in follow); 2 a wrong command line.
 */
#ifndef SIMPKI_GW_ADMIN_PLAN_H
#define SIMPKI_GW_ADMIN_PLAN_H

#include "gw_admin.h"

#define GW_ADMIN_PLAN_FILE_MAX (64u << 20) /* each input file */

/* argv: what follows "plan"; cfg_path (-c, may be NULL) only locates the daemon. */
enum gw_admin_exit gw_admin_plan(const char *cfg_path, int argc, char **argv);

/* The usage lines of the plan commands, for simpki-admin help. */
extern const char gw_admin_plan_usage[];

#endif /* SIMPKI_GW_ADMIN_PLAN_H */
