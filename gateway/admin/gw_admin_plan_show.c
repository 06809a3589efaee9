/*
 * gw_admin_plan_show.c - simpki-admin plan's printers; see gw_admin_plan_show.h.
 */
#include "gw_admin_plan_show.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gw_admin_out.h"
#include "gw_forms.h"
#include "log.h"

const char *gw_admin_plan_show_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long gw_admin_plan_show_jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

/* The number of a plan's figure as text ("" when absent), for table cells. */
const char *gw_admin_plan_show_jnum(const json_t *o, const char *key, char buf[24])
{
    json_t *v = json_object_get(o, key);
    buf[0] = '\0';
    if (json_is_number(v))
        snprintf(buf, 24, "%lld", (long long)json_number_value(v));
    return buf;
}

/* A row's action after any override. */
static const char *final_action(const json_t *row)
{
    const char *o = json_string_value(json_object_get(json_object_get(row, "override"), "action"));
    return o && o[0] ? o : gw_admin_plan_show_jstr(row, "action");
}

/* "staff.csv line 12 column id_number: INVALID: ..." one a line; the count of errors among them. */
size_t gw_admin_plan_show_findings(const json_t *findings, const char *reorg_name, const char *staff_name,
                                   int warnings_only)
{
    size_t i, errors = 0;
    json_t *f;

    json_array_foreach(findings, i, f)
    {
        int warning = json_is_true(json_object_get(f, "warning"));
        const char *file = gw_admin_plan_show_jstr(f, "file");
        char *msg = gw_admin_text_safe(gw_admin_plan_show_jstr(f, "message"));
        char *col = gw_admin_text_safe(gw_admin_plan_show_jstr(f, "column"));
        char *code = gw_admin_text_safe(gw_admin_plan_show_jstr(f, "code"));
        long long line = gw_admin_plan_show_jint(f, "line");

        if (strcmp(file, "reorg") == 0)
            file = reorg_name;
        else if (strcmp(file, "staff") == 0)
            file = staff_name;
        if (!warning)
            errors++;
        if ((warning || !warnings_only) && msg && col && code) {
            fprintf(stderr, "%s%s", warning ? "warning: " : "", file);
            if (line > 0)
                fprintf(stderr, " line %lld", line);
            if (col[0])
                fprintf(stderr, " column %s", col);
            fprintf(stderr, ": %s: %s\n", code, msg);
        }
        free(msg);
        free(col);
        free(code);
    }
    return errors;
}

/* Days from today (local date) to a YYYY-MM-DD date; 0 with *ok = 0 when it is not one. */
long gw_admin_plan_show_days_until(const char *date, int *ok)
{
    struct tm d = {0}, today;
    int y, m, dd;
    char tail;
    time_t now = time(NULL), a, b;

    *ok = 0;
    if (strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 || date[4] != '-' ||
        date[7] != '-')
        return 0;
    d.tm_year = y - 1900;
    d.tm_mon = m - 1;
    d.tm_mday = dd;
    d.tm_hour = 12;
    d.tm_isdst = -1;
    a = mktime(&d);
    if (a == (time_t)-1 || d.tm_year != y - 1900 || d.tm_mon != m - 1 || d.tm_mday != dd)
        return 0;
    localtime_r(&now, &today);
    today.tm_hour = 12;
    today.tm_min = today.tm_sec = 0;
    today.tm_isdst = -1;
    b = mktime(&today);
    *ok = 1;
    return (long)((a - b + (a >= b ? 43200 : -43200)) / 86400);
}

static void print_deadline(const char *deadline, const char *state)
{
    int ok;
    long days = gw_admin_plan_show_days_until(deadline, &ok);

    printf("deadline   %s", deadline);
    if (ok && strcmp(state, "finished") != 0) {
        if (days > 0)
            printf(" (%ld day%s left)", days, days == 1 ? "" : "s");
        else if (days == 0)
            printf(" (today)");
        else
            printf(" (overdue by %ld day%s)", -days, days == -1 ? "" : "s");
    }
    printf("\n");
}

/* "120 keep, 50 change, ..." from the summary's by_action, in the rules' order. */
static void print_by_action_line(const json_t *summary)
{
    static const char *const actions[] = {"keep", "change", "revoke", "decide"};
    const json_t *by = json_object_get(summary, "by_action");
    int first = 1;

    printf("rows       %lld", gw_admin_plan_show_jint(summary, "rows"));
    for (size_t i = 0; i < 4; i++) {
        if (!json_object_get(by, actions[i]))
            continue;
        printf("%s%lld %s", first ? ": " : ", ", gw_admin_plan_show_jint(by, actions[i]), actions[i]);
        first = 0;
    }
    printf("\n");
}

static void print_progress_line(const json_t *pr)
{
    printf("progress   %lld rows: %lld done, %lld failed, %lld waiting for PIN, %lld waiting for device, %lld in "
           "progress, %lld to file\n",
           gw_admin_plan_show_jint(pr, "rows"), gw_admin_plan_show_jint(pr, "done"),
           gw_admin_plan_show_jint(pr, "failed"), gw_admin_plan_show_jint(pr, "waiting_pin"),
           gw_admin_plan_show_jint(pr, "waiting_device"), gw_admin_plan_show_jint(pr, "in_progress"),
           gw_admin_plan_show_jint(pr, "to_file"));
}

/* The plan's header, key by key; full adds the history. */
void gw_admin_plan_show_header(const json_t *plan, int full)
{
    const json_t *appr = json_object_get(plan, "approved"), *h;
    char *name = gw_admin_text_safe(gw_admin_plan_show_jstr(plan, "name"));
    char *by = gw_admin_text_safe(gw_admin_plan_show_jstr(plan, "created_by"));
    char *basis = gw_admin_text_safe(gw_admin_plan_show_jstr(plan, "basis"));
    size_t i;

    printf("plan       %s\n", gw_admin_plan_show_jstr(plan, "id"));
    printf("name       %s\n", name ? name : "");
    printf("state      %s (version %lld)\n", gw_admin_plan_show_jstr(plan, "state"),
           gw_admin_plan_show_jint(plan, "version"));
    print_deadline(gw_admin_plan_show_jstr(plan, "deadline"), gw_admin_plan_show_jstr(plan, "state"));
    printf("created    %s by %s\n", gw_admin_plan_show_jstr(plan, "created_at"), by ? by : "");
    if (basis && basis[0])
        printf("basis      %s, effective %s\n", basis, gw_admin_plan_show_jstr(plan, "effective"));
    if (json_is_object(appr)) {
        char *aby = gw_admin_text_safe(gw_admin_plan_show_jstr(appr, "by"));
        printf("approved   %s by %s (version %lld)\n", gw_admin_plan_show_jstr(appr, "at"), aby ? aby : "",
               gw_admin_plan_show_jint(appr, "version"));
        free(aby);
    }
    if (json_is_object(json_object_get(plan, "summary")))
        print_by_action_line(json_object_get(plan, "summary"));
    if (json_is_object(json_object_get(plan, "progress")) &&
        strcmp(gw_admin_plan_show_jstr(plan, "state"), "review") != 0 &&
        strcmp(gw_admin_plan_show_jstr(plan, "state"), "building") != 0)
        print_progress_line(json_object_get(plan, "progress"));
    free(name);
    free(by);
    free(basis);
    if (!full)
        return;
    json_array_foreach(json_object_get(plan, "history"), i, h)
    {
        char *hby = gw_admin_text_safe(gw_admin_plan_show_jstr(h, "by"));
        char *reason = gw_admin_text_safe(gw_admin_plan_show_jstr(h, "reason"));
        printf("%s v%-4lld %s %s by %s", i ? "          " : "history   ", gw_admin_plan_show_jint(h, "version"),
               gw_admin_plan_show_jstr(h, "at"), gw_admin_plan_show_jstr(h, "what"), hby ? hby : "");
        if (strcmp(gw_admin_plan_show_jstr(h, "what"), "override") == 0)
            printf(": row %lld %s -> %s (%s)", gw_admin_plan_show_jint(h, "row"), gw_admin_plan_show_jstr(h, "from"),
                   gw_admin_plan_show_jstr(h, "to"), reason ? reason : "");
        printf("\n");
        free(hby);
        free(reason);
    }
}

static int table_print_free(struct gw_admin_table *t)
{
    if (!t)
        return -1;
    gw_admin_table_print(t, stdout);
    gw_admin_table_free(t);
    return 0;
}

/* The summary: rows by action and by rule (with what each rule means). */
void gw_admin_plan_show_summary(const json_t *summary)
{
    static const char *const ah[] = {"ACTION", "ROWS"};
    static const char *const rh[] = {"RULE", "ACTION", "ROWS", "WHAT IT MEANS"};
    static const char *const actions[] = {"keep", "change", "revoke", "decide"};
    const json_t *by_action = json_object_get(summary, "by_action"), *by_rule = json_object_get(summary, "by_rule");
    const json_t *rules = json_object_get(summary, "rules"), *r;
    struct gw_admin_table *t = gw_admin_table_new(2, ah);
    size_t i;
    int bad = 0;

    if (!t)
        return;
    gw_admin_table_column(t, 1, 0, 1);
    for (i = 0; i < 4; i++) {
        char num[24];
        const char *cells[2] = {actions[i], gw_admin_plan_show_jnum(by_action, actions[i], num)};
        if (num[0])
            bad |= gw_admin_table_add(t, cells);
    }
    printf("\n");
    table_print_free(t);
    t = gw_admin_table_new(4, rh);
    if (!t)
        return;
    gw_admin_table_column(t, 2, 0, 1);
    gw_admin_table_column(t, 3, 72, 0);
    /* In the rule table's order, which is the rules' own (O1..O4, P1..P5, D1..D6); rules no row took are left out. */
    json_array_foreach(rules, i, r)
    {
        char num[24];
        const char *cells[4] = {gw_admin_plan_show_jstr(r, "id"), gw_admin_plan_show_jstr(r, "action"),
                                gw_admin_plan_show_jnum(by_rule, gw_admin_plan_show_jstr(r, "id"), num),
                                gw_admin_plan_show_jstr(r, "en")};
        if (num[0] && gw_admin_plan_show_jint(by_rule, gw_admin_plan_show_jstr(r, "id")) > 0)
            bad |= gw_admin_table_add(t, cells);
    }
    if (!json_is_array(rules)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)by_rule, k, v)
        {
            char num[24];
            const char *cells[4] = {k, "", gw_admin_plan_show_jnum(by_rule, k, num), ""};
            bad |= gw_admin_table_add(t, cells);
        }
    }
    printf("\n");
    table_print_free(t);
    if (bad)
        fprintf(stderr, "error: out of memory\n");
}

enum gw_admin_exit gw_admin_plan_show_list(const json_t *doc)
{
    static const char *const h[] = {"ID", "NAME", "STATE", "VERSION", "DEADLINE", "ROWS", "CREATED", "BY"};
    struct gw_admin_table *t;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    const json_t *p;
    size_t i;

    t = gw_admin_table_new(8, h);
    if (!t)
        goto out;
    gw_admin_table_column(t, 1, 40, 0);
    gw_admin_table_column(t, 3, 0, 1);
    gw_admin_table_column(t, 5, 0, 1);
    json_array_foreach(json_object_get(doc, "plans"), i, p)
    {
        char v[24], n[24];
        const char *cells[8] = {
            gw_admin_plan_show_jstr(p, "id"),         gw_admin_plan_show_jstr(p, "name"),
            gw_admin_plan_show_jstr(p, "state"),      gw_admin_plan_show_jnum(p, "version", v),
            gw_admin_plan_show_jstr(p, "deadline"),   gw_admin_plan_show_jnum(json_object_get(p, "summary"), "rows", n),
            gw_admin_plan_show_jstr(p, "created_at"), gw_admin_plan_show_jstr(p, "created_by")};
        if (gw_admin_table_add(t, cells) != 0)
            goto out;
    }
    if (gw_admin_table_rows(t) == 0)
        printf("no plans\n");
    else
        gw_admin_table_print(t, stdout);
    ret = GW_ADMIN_OK;
out:
    gw_admin_table_free(t);
    return ret;
}

enum gw_admin_exit gw_admin_plan_show_open(const char *id, const json_t *plan, const json_t *units)
{
    static const char *const h[] = {"UNIT", "NEW UNIT", "ROWS", "OPEN"};
    const json_t *arr, *u;
    struct gw_admin_table *t;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    long long open_total = 0;
    size_t i;

    arr = json_is_array(units) ? units : json_object_get(units, "units");
    t = gw_admin_table_new(4, h);
    if (!t)
        goto out;
    gw_admin_table_column(t, 0, 36, 0);
    gw_admin_table_column(t, 1, 36, 0);
    gw_admin_table_column(t, 2, 0, 1);
    gw_admin_table_column(t, 3, 0, 1);
    json_array_foreach(arr, i, u)
    {
        char n[24], op[24];
        json_t *ov = json_object_get(u, "open");
        long long open = json_is_array(ov) ? (long long)json_array_size(ov) : gw_admin_plan_show_jint(u, "open");
        const char *cells[4] = {gw_admin_plan_show_jstr(u, "unit"), gw_admin_plan_show_jstr(u, "new_unit"),
                                gw_admin_plan_show_jnum(u, "rows", n), op};
        if (open == 0)
            continue;
        snprintf(op, sizeof(op), "%lld", open);
        open_total += open;
        if (gw_admin_table_add(t, cells) != 0)
            goto out;
    }
    printf("plan       %s\n", id);
    print_deadline(gw_admin_plan_show_jstr(plan, "deadline"), gw_admin_plan_show_jstr(plan, "state"));
    printf("open       %lld row%s in %zu unit%s\n", open_total, open_total == 1 ? "" : "s", gw_admin_table_rows(t),
           gw_admin_table_rows(t) == 1 ? "" : "s");
    if (gw_admin_table_rows(t) > 0) {
        printf("\n");
        gw_admin_table_print(t, stdout);
    }
    ret = GW_ADMIN_OK;
out:
    gw_admin_table_free(t);
    return ret;
}

/* ---- rows as a table */

struct gw_admin_plan_show_rows {
    struct gw_admin_table *t;
    int overridden;
};

struct gw_admin_plan_show_rows *gw_admin_plan_show_rows_new(void)
{
    static const char *const h[] = {"NO", "UNIT", "HOLDER", "NUMBER", "SERIAL", "ACTION", "RULE", "STATE", "DETAIL"};
    struct gw_admin_plan_show_rows *rt = calloc(1, sizeof(*rt));

    if (rt)
        rt->t = gw_admin_table_new(9, h);
    if (!rt || !rt->t) {
        free(rt);
        fprintf(stderr, "error: out of memory\n");
        return NULL;
    }
    gw_admin_table_column(rt->t, 0, 0, 1);
    gw_admin_table_column(rt->t, 1, 28, 0);
    gw_admin_table_column(rt->t, 2, 24, 0);
    gw_admin_table_column(rt->t, 4, 20, 0);
    gw_admin_table_column(rt->t, 8, 48, 0);
    return rt;
}

void gw_admin_plan_show_rows_free(struct gw_admin_plan_show_rows *rt)
{
    if (!rt)
        return;
    gw_admin_table_free(rt->t);
    free(rt);
}

int gw_admin_plan_show_rows_add(void *rows, const json_t *row)
{
    struct gw_admin_plan_show_rows *rt = rows;
    char no[24], masked[LOG_MSISDN_BUFSZ], action[16];
    const char *msisdn = gw_admin_plan_show_jstr(row, "msisdn");
    int ov = json_is_object(json_object_get(row, "override"));
    const char *cells[9];

    rt->overridden |= ov;
    snprintf(action, sizeof(action), "%s%s", final_action(row), ov ? "*" : "");
    cells[0] = gw_admin_plan_show_jnum(row, "no", no);
    cells[1] = gw_admin_plan_show_jstr(row, "unit");
    cells[2] = gw_admin_plan_show_jstr(row, "holder");
    cells[3] = msisdn[0] ? log_msisdn(msisdn, masked) : "";
    cells[4] = gw_admin_plan_show_jstr(row, "serial");
    cells[5] = action;
    cells[6] = gw_admin_plan_show_jstr(row, "rule");
    cells[7] = gw_admin_plan_show_jstr(row, "state");
    cells[8] = gw_admin_plan_show_jstr(row, "detail");
    if (gw_admin_table_add(rt->t, cells) != 0) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    return 0;
}

size_t gw_admin_plan_show_rows_count(const struct gw_admin_plan_show_rows *rt)
{
    return gw_admin_table_rows(rt->t);
}

void gw_admin_plan_show_rows_print(const struct gw_admin_plan_show_rows *rt)
{
    if (gw_admin_table_rows(rt->t) > 0) {
        gw_admin_table_print(rt->t, stdout);
        if (rt->overridden)
            printf("* overridden by an operator (plan show --csv gives the reason)\n");
    }
}

void gw_admin_plan_show_plan(const json_t *plan, const struct gw_admin_plan_show_rows *rt, const char *unit,
                             const char *action)
{
    gw_admin_plan_show_header(plan, 1);
    gw_admin_plan_show_findings(json_object_get(plan, "findings"), "reorg", "staff", 1);
    printf("\n");
    if (gw_admin_table_rows(rt->t) == 0)
        printf("no rows%s%s%s%s\n", unit ? " of unit " : "", unit ? unit : "", action ? " with action " : "",
               action ? action : "");
    gw_admin_plan_show_rows_print(rt);
}

/* ---- rows as CSV */

static const char *const csv_cols[] = {
    "no",       "unit",        "new_unit",   "kind", "holder",      "msisdn",          "serial",
    "valid_to", "carrier",     "action",     "rule", "rule_action", "override_reason", "override_by",
    "detail",   "handover_to", "request_id", "state"};
#define CSV_NCOLS (sizeof(csv_cols) / sizeof(csv_cols[0]))

void gw_admin_plan_show_csv_header(void)
{
    struct stat st;

    /* A file for a spreadsheet program gets the byte order mark it needs to read Vietnamese; a pipe does not. */
    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode))
        fputs("\xef\xbb\xbf", stdout);
    for (size_t c = 0; c < CSV_NCOLS; c++)
        printf("%s%s", c ? "," : "", csv_cols[c]);
    printf("\r\n");
}

/* One row in full as a CSV record on stdout. */
int gw_admin_plan_show_csv_row(void *arg, const json_t *row)
{
    const json_t *ov = json_object_get(row, "override");

    (void)arg;
    for (size_t c = 0; c < CSV_NCOLS; c++) {
        char num[24];
        const char *v;
        char *field;
        if (strcmp(csv_cols[c], "no") == 0)
            v = gw_admin_plan_show_jnum(row, "no", num);
        else if (strcmp(csv_cols[c], "action") == 0)
            v = final_action(row);
        else if (strcmp(csv_cols[c], "rule_action") == 0)
            v = gw_admin_plan_show_jstr(row, "action");
        else if (strcmp(csv_cols[c], "override_reason") == 0)
            v = gw_admin_plan_show_jstr(ov, "reason");
        else if (strcmp(csv_cols[c], "override_by") == 0)
            v = gw_admin_plan_show_jstr(ov, "by");
        else
            v = gw_admin_plan_show_jstr(row, csv_cols[c]);
        field = gw_form_csv_field(v, strlen(v));
        if (!field) {
            fprintf(stderr, "error: out of memory\n");
            return -1;
        }
        printf("%s%s", c ? "," : "", field);
        free(field);
    }
    printf("\r\n");
    return 0;
}

/* ---- the report after a run */

struct gw_admin_plan_show_report {
    json_t *states;
    struct gw_admin_plan_show_rows *bad;
};

struct gw_admin_plan_show_report *gw_admin_plan_show_report_new(void)
{
    struct gw_admin_plan_show_report *rep = calloc(1, sizeof(*rep));

    if (!rep)
        return NULL;
    rep->states = json_object();
    if (rep->states)
        rep->bad = gw_admin_plan_show_rows_new();
    if (!rep->bad) {
        gw_admin_plan_show_report_free(rep);
        return NULL;
    }
    return rep;
}

void gw_admin_plan_show_report_free(struct gw_admin_plan_show_report *rep)
{
    if (!rep)
        return;
    gw_admin_plan_show_rows_free(rep->bad);
    json_decref(rep->states);
    free(rep);
}

int gw_admin_plan_show_report_row(void *report, const json_t *row)
{
    struct gw_admin_plan_show_report *rep = report;
    const char *st = gw_admin_plan_show_jstr(row, "state");

    if (!gw_admin_plan_show_jstr(row, "request_id")[0])
        return 0;
    if (!st[0])
        st = "not yet";
    if (json_object_set_new(rep->states, st, json_integer(gw_admin_plan_show_jint(rep->states, st) + 1)) != 0) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    if (strcmp(st, "failed") == 0 || strcmp(st, "rejected") == 0)
        return gw_admin_plan_show_rows_add(rep->bad, row);
    return 0;
}

enum gw_admin_exit gw_admin_plan_show_report_print(const struct gw_admin_plan_show_report *rep, const json_t *plan,
                                                   int *any_failed)
{
    static const char *const sh[] = {"STATE", "ROWS"};
    static const char *const hh[] = {"GROUP", "RECEIVER", "ROWS", "REQUEST"};
    struct gw_admin_table *t = NULL;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    const char *k;
    json_t *v;
    size_t i;

    *any_failed = gw_admin_plan_show_rows_count(rep->bad) > 0 ||
                  gw_admin_plan_show_jint(json_object_get(plan, "progress"), "failed") > 0;
    t = gw_admin_table_new(2, sh);
    if (!t)
        goto out;
    gw_admin_table_column(t, 1, 0, 1);
    json_object_foreach(rep->states, k, v)
    {
        char n[24];
        const char *cells[2] = {k, gw_admin_plan_show_jnum(rep->states, k, n)};
        if (gw_admin_table_add(t, cells) != 0)
            goto out;
    }
    printf("\n");
    gw_admin_table_print(t, stdout);
    if (gw_admin_plan_show_rows_count(rep->bad) > 0) {
        printf("\nrows whose request failed or was rejected (their requests: GET /v1/requests/ID):\n");
        gw_admin_plan_show_rows_print(rep->bad);
    }
    gw_admin_table_free(t);
    t = NULL;
    if (json_array_size(json_object_get(plan, "handovers")) > 0) {
        const json_t *h;
        t = gw_admin_table_new(4, hh);
        if (!t)
            goto out;
        gw_admin_table_column(t, 1, 40, 0);
        json_array_foreach(json_object_get(plan, "handovers"), i, h)
        {
            char n[24];
            const char *cells[4] = {gw_admin_plan_show_jstr(h, "group"), gw_admin_plan_show_jstr(h, "receiver"), n,
                                    gw_admin_plan_show_jstr(h, "request_id")};
            snprintf(n, sizeof(n), "%zu", json_array_size(json_object_get(h, "rows")));
            if (gw_admin_table_add(t, cells) != 0)
                goto out;
        }
        printf("\nhandover records (Mẫu 14):\n");
        gw_admin_table_print(t, stdout);
    }
    ret = GW_ADMIN_OK;
out:
    gw_admin_table_free(t);
    return ret;
}
