/*
 * gw_admin_plan_show.h - how simpki-admin plan prints a plan: the output
 * formatting of the daemon's plan documents (gateway/merge/gw_plan.h), split
 * from the commands (gw_admin_plan.c), which parse options, call the API and
 * hand what came back to these printers.  Here are the plan's header and
 * summary tables, the findings of its input files, its rows as a table or as
 * CSV, the report after a run (follow), the list of plans and the open rows
 * by unit (open).  Nothing here talks to the daemon: rows arrive one at a
 * time through a row callback (gw_admin_plan.c's page-by-page reader), so a
 * plan of 100,000 rows is never held whole.
 *
 * Output as gw_admin_plan.h says: tables on stdout (gw_admin_out.h), numbers
 * masked, no ID numbers; findings and errors on stderr.  Every json_t given
 * is borrowed for the call only.
 */
#ifndef SIMPKI_GW_ADMIN_PLAN_SHOW_H
#define SIMPKI_GW_ADMIN_PLAN_SHOW_H

#include <jansson.h>
#include <stddef.h>

#include "gw_admin.h"

/* ---- reading a plan document's fields -------------------------------- */

/* o's string key, "" when absent or not a string; the text belongs to o. */
const char *gw_admin_plan_show_jstr(const json_t *o, const char *key);

/* o's number key as an integer, 0 when absent or not a number. */
long long gw_admin_plan_show_jint(const json_t *o, const char *key);

/* o's number key as text in buf ("" when absent), for table cells; returns buf. */
const char *gw_admin_plan_show_jnum(const json_t *o, const char *key, char buf[24]);

/*
 * Days from today (local date) to a YYYY-MM-DD date; 0 with *ok = 0 when
 * it is not one (build checks --deadline with it).
 */
long gw_admin_plan_show_days_until(const char *date, int *ok);

/* ---- the plan --------------------------------------------------------- */

/*
 * The findings of a build, "staff.csv line 12 column id_number: INVALID:
 * ..." one a line on stderr, the files named reorg_name and staff_name;
 * warnings_only leaves out the errors.  Returns the count of errors among
 * them (printed or not).
 */
size_t gw_admin_plan_show_findings(const json_t *findings, const char *reorg_name, const char *staff_name,
                                   int warnings_only);

/* The plan's header, key by key (id, name, state, deadline, ...); full adds the history. */
void gw_admin_plan_show_header(const json_t *plan, int full);

/* A summary's rows by action and by rule (with what each rule means), two tables. */
void gw_admin_plan_show_summary(const json_t *summary);

/* plan list: doc is the answer of GET /v1/plans.  GW_ADMIN_FAIL on out of memory. */
enum gw_admin_exit gw_admin_plan_show_list(const json_t *doc);

/*
 * plan open: the deadline, then the units that still have open rows (units
 * is the answer of GET /v1/plans/ID/units).  GW_ADMIN_FAIL on out of memory.
 */
enum gw_admin_exit gw_admin_plan_show_open(const char *id, const json_t *plan, const json_t *units);

/* ---- rows as a table ------------------------------------------------- */

/*
 * The rows gathered into a table: masked numbers, long cells cut, overrides
 * marked "*".  new: NULL on out of memory (printed).  Free with
 * gw_admin_plan_show_rows_free (NULL does nothing).
 */
struct gw_admin_plan_show_rows;

struct gw_admin_plan_show_rows *gw_admin_plan_show_rows_new(void);
void gw_admin_plan_show_rows_free(struct gw_admin_plan_show_rows *rt);

/* A row callback (rows is a gw_admin_plan_show_rows); the row is copied.  -1 on out of memory (printed). */
int gw_admin_plan_show_rows_add(void *rows, const json_t *row);

size_t gw_admin_plan_show_rows_count(const struct gw_admin_plan_show_rows *rt);

/* The table (when it has rows), with a note under it when a row was overridden. */
void gw_admin_plan_show_rows_print(const struct gw_admin_plan_show_rows *rt);

/*
 * plan show: the full header, the warnings, then the rows gathered in rt,
 * or a line saying there are none of this unit and action (NULL = any).
 */
void gw_admin_plan_show_plan(const json_t *plan, const struct gw_admin_plan_show_rows *rt, const char *unit,
                             const char *action);

/* ---- rows as CSV ------------------------------------------------------ */

/*
 * plan show --csv: the header line (after a UTF-8 byte order mark when
 * stdout is a regular file), then each row in full as an RFC 4180 record
 * on stdout (gw_form_csv_field's formula guard).  csv_row is a row
 * callback; arg is unused; -1 on out of memory (printed).
 */
void gw_admin_plan_show_csv_header(void);
int gw_admin_plan_show_csv_row(void *arg, const json_t *row);

/* ---- the report after a run (follow) ---------------------------------- */

/*
 * What the report gathers row by row: requests by state, and the rows
 * whose request failed or was rejected.  new: NULL on out of memory.  Free
 * with gw_admin_plan_show_report_free (NULL does nothing).
 */
struct gw_admin_plan_show_report;

struct gw_admin_plan_show_report *gw_admin_plan_show_report_new(void);
void gw_admin_plan_show_report_free(struct gw_admin_plan_show_report *rep);

/* A row callback (report is a gw_admin_plan_show_report).  -1 on out of memory (printed). */
int gw_admin_plan_show_report_row(void *report, const json_t *row);

/*
 * Print the report of the finished plan: requests by state, the rows that
 * did not end well, the handover records.  *any_failed: 1 when a request
 * failed or was rejected.  GW_ADMIN_FAIL on out of memory.
 */
enum gw_admin_exit gw_admin_plan_show_report_print(const struct gw_admin_plan_show_report *rep, const json_t *plan,
                                                   int *any_failed);

#endif /* SIMPKI_GW_ADMIN_PLAN_SHOW_H */
