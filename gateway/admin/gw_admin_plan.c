/*
 * gw_admin_plan.c - simpki-admin plan; see gw_admin_plan.h.
 *
 * Each subcommand is one function over an open API client; options are
 * parsed once from a table and each subcommand says which it takes.
 */
#include "gw_admin_plan.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gw_admin_api.h"
#include "gw_admin_out.h"
#include "gw_forms.h"
#include "log.h"

#define PAGE        "500" /* rows asked for per call */
#define BUILD_POLL  500   /* ms between polls while the daemon matches */
#define FOLLOW_POLL 1000  /* ms between polls while the plan runs */
#define DOWN_MAX_S  60.0  /* how long a poll tolerates the daemon being away (a restart) */
#define PATH_MAX_   2048

const char gw_admin_plan_usage[] =
    "  plan build --reorg FILE --staff FILE --name TEXT --deadline YYYY-MM-DD [--by NAME]\n"
    "                            send the reorganisation and the staff list (CSV or JSON, at most\n"
    "                            64 MB each), watch the daemon match them against the registry,\n"
    "                            print the plan's id and its rows by action and by rule\n"
    "  plan list                 every plan: id, name, state, version, deadline\n"
    "  plan show ID [--unit U] [--action keep|change|revoke|decide] [--csv]\n"
    "                            the plan and its rows (a table, or every field as CSV)\n"
    "  plan override ID ROW --action keep|change|revoke --reason TEXT [--by NAME]\n"
    "                            give a row another action (the plan's version is checked)\n"
    "  plan approve ID [--by NAME]\n"
    "                            approve the plan as it stands; refused while a row needs a decision\n"
    "  plan follow ID            a progress bar while the plan runs, then the report; exit 1 when\n"
    "                            a request failed\n"
    "  plan open ID [--csv]      what is still open, by unit (deadline reminders)\n"
    "  plan bundle ID --unit U -o FILE\n"
    "                            the unit's printable forms and handover record (HTML)\n"
    "  plan export ID --format csv|json -o FILE\n"
    "                            the plan's requests for the CA\n"
    "  Every plan command takes --api URL (default: -c CONFIG's listen address) and the operator\n"
    "  key from --key-file FILE or SIMPKI_API_KEY (never on the command line).\n";

/* ---- options */

enum {
    O_REORG = 1u << 0,
    O_STAFF = 1u << 1,
    O_NAME = 1u << 2,
    O_DEADLINE = 1u << 3,
    O_BY = 1u << 4,
    O_UNIT = 1u << 5,
    O_ACTION = 1u << 6,
    O_REASON = 1u << 7,
    O_OUT = 1u << 8,
    O_FORMAT = 1u << 9,
    O_CSV = 1u << 10,
};

struct opts {
    const char *api, *key_file, *reorg, *staff, *name, *deadline, *by, *unit, *action, *reason, *out, *format;
    int csv;
    const char *pos[2];
    int npos;
    unsigned given;
};

#define OPT(f) offsetof(struct opts, f)
static const struct optdef {
    const char *name, *alt;
    unsigned bit; /* 0: every subcommand takes it */
    size_t off;
} optdefs[] = {
    {"--api", NULL, 0, OPT(api)},
    {"--key-file", NULL, 0, OPT(key_file)},
    {"--reorg", NULL, O_REORG, OPT(reorg)},
    {"--staff", NULL, O_STAFF, OPT(staff)},
    {"--name", NULL, O_NAME, OPT(name)},
    {"--deadline", NULL, O_DEADLINE, OPT(deadline)},
    {"--by", NULL, O_BY, OPT(by)},
    {"--unit", NULL, O_UNIT, OPT(unit)},
    {"--action", NULL, O_ACTION, OPT(action)},
    {"--reason", NULL, O_REASON, OPT(reason)},
    {"--output", "-o", O_OUT, OPT(out)},
    {"--format", NULL, O_FORMAT, OPT(format)},
};

struct sub {
    const char *name;
    enum gw_admin_exit (*fn)(struct gw_admin_api *a, const struct opts *o);
    unsigned takes, needs; /* option bits */
    int npos;              /* positional arguments after the subcommand */
    const char *usage;
};

static enum gw_admin_exit usage(const struct sub *s, const char *msg, const char *arg)
{
    fprintf(stderr, "error: plan%s%s: %s%s%s\n", s ? " " : "", s ? s->name : "", msg, arg ? " " : "", arg ? arg : "");
    if (s)
        fprintf(stderr, "usage: simpki-admin plan %s\n", s->usage);
    else
        fprintf(stderr, "(simpki-admin help shows the commands)\n");
    return GW_ADMIN_USAGE;
}

/* ---- small helpers */

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long jint(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? (long long)json_number_value(v) : 0;
}

/* The number of a plan's figure as text ("" when absent), for table cells. */
static const char *jnum(const json_t *o, const char *key, char buf[24])
{
    json_t *v = json_object_get(o, key);
    buf[0] = '\0';
    if (json_is_number(v))
        snprintf(buf, 24, "%lld", (long long)json_number_value(v));
    return buf;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A plan id as the daemon makes them ("p" + 12 hex): anything else is a typing mistake, caught before a call. */
static int plan_id_ok(const char *id)
{
    if (id[0] != 'p' || strlen(id) != 13)
        return 0;
    for (int i = 1; i < 13; i++)
        if (!strchr("0123456789abcdef", id[i]))
            return 0;
    return 1;
}

static int action_ok(const char *a, int decide)
{
    return strcmp(a, "keep") == 0 || strcmp(a, "change") == 0 || strcmp(a, "revoke") == 0 ||
           (decide && strcmp(a, "decide") == 0);
}

/* Who the operator is, for "by": --by, else the login name. */
static const char *who(const struct opts *o)
{
    struct passwd *pw;
    if (o->by)
        return o->by;
    pw = getpwuid(geteuid());
    if (pw && pw->pw_name && pw->pw_name[0])
        return pw->pw_name;
    return "operator";
}

/* A row's action after any override. */
static const char *final_action(const json_t *row)
{
    const char *o = json_string_value(json_object_get(json_object_get(row, "override"), "action"));
    return o && o[0] ? o : jstr(row, "action");
}

/* Append "&key=value" (value percent-encoded) to the path in p (cap octets); -1 when it does not fit. */
static int add_query(char *p, size_t cap, const char *key, const char *value)
{
    char *enc;
    size_t n = strlen(p);
    int w;

    if (!value)
        return 0;
    enc = curl_easy_escape(NULL, value, 0);
    if (!enc)
        return -1;
    w = snprintf(p + n, cap - n, "%s%s=%s", strchr(p, '?') ? "&" : "?", key, enc);
    curl_free(enc);
    return w < 0 || (size_t)w >= cap - n ? -1 : 0;
}

static enum gw_admin_exit get_plan(struct gw_admin_api *a, const char *id, json_t **plan)
{
    char path[64], what[32];
    snprintf(path, sizeof(path), "/v1/plans/%s", id);
    snprintf(what, sizeof(what), "plan %s", id);
    return gw_admin_api_get_json(a, path, what, plan);
}

/*
 * One poll of a plan that may take long: 1 with *plan, 0 when the daemon
 * is away for now (a restart: tolerated for DOWN_MAX_S), -1 when it failed
 * (printed).
 */
static int poll_plan(struct gw_admin_api *a, const char *id, json_t **plan, double *down_since,
                     struct gw_admin_progress *pg)
{
    struct gw_admin_reply r = {0};
    char path[64], what[32];
    int ret = -1;

    *plan = NULL;
    snprintf(path, sizeof(path), "/v1/plans/%s", id);
    snprintf(what, sizeof(what), "plan %s", id);
    if (gw_admin_api_call(a, path, NULL, 0, &r) == 0 && gw_admin_reply_ok(&r) && json_is_object(r.json)) {
        *plan = json_incref(r.json);
        *down_since = 0;
        ret = 1;
    } else if (r.status == 0 || r.status == 502 || r.status == 503 || r.status == 504) {
        if (*down_since == 0) {
            *down_since = now_s();
            gw_admin_progress_clear(pg);
            fprintf(stderr, "warning: %s: the daemon does not answer (%s); trying again for %.0f s\n", what,
                    r.status ? "busy" : "unreachable", DOWN_MAX_S);
            ret = 0;
        } else if (now_s() - *down_since < DOWN_MAX_S) {
            ret = 0;
        } else {
            gw_admin_progress_clear(pg);
            gw_admin_api_fail(a, what, &r);
        }
    } else {
        gw_admin_progress_clear(pg);
        if (gw_admin_reply_ok(&r))
            fprintf(stderr, "error: %s: the daemon's answer is not a JSON object\n", what);
        else
            gw_admin_api_fail(a, what, &r);
    }
    gw_admin_reply_clear(&r);
    return ret;
}

/* Called for each row as its page arrives; the row lives during the call.  0 goes on, -1 stops (printed). */
typedef int row_fn(void *arg, const json_t *row);

/*
 * Every row of a plan matching the query (unit, action; NULL = any), page
 * by page, each handed to fn: a plan of 100,000 rows is never held whole.
 * Printed failure otherwise.
 */
static enum gw_admin_exit each_row(struct gw_admin_api *a, const char *id, const char *unit, const char *action,
                                   row_fn *fn, void *arg)
{
    char what[32];
    long long offset = 0, matched;

    snprintf(what, sizeof(what), "plan %s rows", id);
    for (;;) {
        char path[PATH_MAX_], num[24];
        json_t *page = NULL, *arr, *row;
        size_t n, i;
        enum gw_admin_exit ret;

        snprintf(path, sizeof(path), "/v1/plans/%s/rows", id);
        snprintf(num, sizeof(num), "%lld", offset);
        if (add_query(path, sizeof(path), "unit", unit) != 0 || add_query(path, sizeof(path), "action", action) != 0 ||
            add_query(path, sizeof(path), "offset", num) != 0 || add_query(path, sizeof(path), "limit", PAGE) != 0) {
            fprintf(stderr, "error: --unit is too long\n");
            return GW_ADMIN_FAIL;
        }
        ret = gw_admin_api_get_json(a, path, what, &page);
        if (ret != GW_ADMIN_OK)
            return ret;
        arr = json_object_get(page, "rows");
        if (!json_is_array(arr)) {
            fprintf(stderr, "error: %s: the answer has no \"rows\"\n", what);
            json_decref(page);
            return GW_ADMIN_FAIL;
        }
        matched = jint(page, "matched");
        n = json_array_size(arr);
        json_array_foreach(arr, i, row)
        {
            if (fn(arg, row) != 0) {
                json_decref(page);
                return GW_ADMIN_FAIL;
            }
        }
        json_decref(page);
        offset += (long long)n;
        /* The daemon may give fewer than asked (its own page limit): go on until all matched are here. */
        if (n == 0 || offset >= matched)
            return GW_ADMIN_OK;
    }
}

/* Write len octets to path ("-": stdout) whole or not at all: a temporary file beside it, renamed. */
static enum gw_admin_exit write_out(const char *path, const char *buf, size_t len)
{
    char *tmp;
    size_t n;
    int fd;
    FILE *f;

    if (strcmp(path, "-") == 0) {
        if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "error: cannot write to stdout\n");
            return GW_ADMIN_FAIL;
        }
        return GW_ADMIN_OK;
    }
    n = strlen(path) + 16;
    tmp = malloc(n);
    if (!tmp)
        return GW_ADMIN_FAIL;
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
        free(tmp);
        return GW_ADMIN_FAIL;
    }
    f = fdopen(fd, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fflush(f) != 0 || fsync(fd) != 0 || fchmod(fd, 0644) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        else
            close(fd);
        unlink(tmp);
        free(tmp);
        return GW_ADMIN_FAIL;
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return GW_ADMIN_FAIL;
    }
    free(tmp);
    return GW_ADMIN_OK;
}

/* GET path and write the answer to out; what names it in messages and on success. */
static enum gw_admin_exit download(struct gw_admin_api *a, const char *path, const char *what, const char *out)
{
    struct gw_admin_reply r = {0};
    enum gw_admin_exit ret;

    if (gw_admin_api_call(a, path, NULL, 0, &r) != 0 || !gw_admin_reply_ok(&r)) {
        ret = gw_admin_api_fail(a, what, &r);
        gw_admin_reply_clear(&r);
        return ret;
    }
    ret = write_out(out, r.body, r.len);
    if (ret == GW_ADMIN_OK && strcmp(out, "-") != 0)
        printf("wrote %s: %s (%zu octets)\n", what, out, r.len);
    gw_admin_reply_clear(&r);
    return ret;
}

/* ---- what a plan looks like */

/* "staff.csv line 12 column id_number: INVALID: ..." one a line; the count of errors among them. */
static size_t print_findings(const json_t *findings, const char *reorg_name, const char *staff_name, int warnings_only)
{
    size_t i, errors = 0;
    json_t *f;

    json_array_foreach(findings, i, f)
    {
        int warning = json_is_true(json_object_get(f, "warning"));
        const char *file = jstr(f, "file");
        char *msg = gw_admin_text_safe(jstr(f, "message"));
        char *col = gw_admin_text_safe(jstr(f, "column"));
        char *code = gw_admin_text_safe(jstr(f, "code"));
        long long line = jint(f, "line");

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
static long days_until(const char *date, int *ok)
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
    long days = days_until(deadline, &ok);

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

    printf("rows       %lld", jint(summary, "rows"));
    for (size_t i = 0; i < 4; i++) {
        if (!json_object_get(by, actions[i]))
            continue;
        printf("%s%lld %s", first ? ": " : ", ", jint(by, actions[i]), actions[i]);
        first = 0;
    }
    printf("\n");
}

static void print_progress_line(const json_t *pr)
{
    printf("progress   %lld rows: %lld done, %lld failed, %lld waiting for PIN, %lld waiting for device, %lld in "
           "progress, %lld to file\n",
           jint(pr, "rows"), jint(pr, "done"), jint(pr, "failed"), jint(pr, "waiting_pin"), jint(pr, "waiting_device"),
           jint(pr, "in_progress"), jint(pr, "to_file"));
}

/* The plan's header, key by key; full adds the history. */
static void print_header(const json_t *plan, int full)
{
    const json_t *appr = json_object_get(plan, "approved"), *h;
    char *name = gw_admin_text_safe(jstr(plan, "name"));
    char *by = gw_admin_text_safe(jstr(plan, "created_by"));
    char *basis = gw_admin_text_safe(jstr(plan, "basis"));
    size_t i;

    printf("plan       %s\n", jstr(plan, "id"));
    printf("name       %s\n", name ? name : "");
    printf("state      %s (version %lld)\n", jstr(plan, "state"), jint(plan, "version"));
    print_deadline(jstr(plan, "deadline"), jstr(plan, "state"));
    printf("created    %s by %s\n", jstr(plan, "created_at"), by ? by : "");
    if (basis && basis[0])
        printf("basis      %s, effective %s\n", basis, jstr(plan, "effective"));
    if (json_is_object(appr)) {
        char *aby = gw_admin_text_safe(jstr(appr, "by"));
        printf("approved   %s by %s (version %lld)\n", jstr(appr, "at"), aby ? aby : "", jint(appr, "version"));
        free(aby);
    }
    if (json_is_object(json_object_get(plan, "summary")))
        print_by_action_line(json_object_get(plan, "summary"));
    if (json_is_object(json_object_get(plan, "progress")) && strcmp(jstr(plan, "state"), "review") != 0 &&
        strcmp(jstr(plan, "state"), "building") != 0)
        print_progress_line(json_object_get(plan, "progress"));
    free(name);
    free(by);
    free(basis);
    if (!full)
        return;
    json_array_foreach(json_object_get(plan, "history"), i, h)
    {
        char *hby = gw_admin_text_safe(jstr(h, "by"));
        char *reason = gw_admin_text_safe(jstr(h, "reason"));
        printf("%s v%-4lld %s %s by %s", i ? "          " : "history   ", jint(h, "version"), jstr(h, "at"),
               jstr(h, "what"), hby ? hby : "");
        if (strcmp(jstr(h, "what"), "override") == 0)
            printf(": row %lld %s -> %s (%s)", jint(h, "row"), jstr(h, "from"), jstr(h, "to"), reason ? reason : "");
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
static void print_summary(const json_t *summary)
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
        const char *cells[2] = {actions[i], jnum(by_action, actions[i], num)};
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
        const char *cells[4] = {jstr(r, "id"), jstr(r, "action"), jnum(by_rule, jstr(r, "id"), num), jstr(r, "en")};
        if (num[0] && jint(by_rule, jstr(r, "id")) > 0)
            bad |= gw_admin_table_add(t, cells);
    }
    if (!json_is_array(rules)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)by_rule, k, v)
        {
            char num[24];
            const char *cells[4] = {k, "", jnum(by_rule, k, num), ""};
            bad |= gw_admin_table_add(t, cells);
        }
    }
    printf("\n");
    table_print_free(t);
    if (bad)
        fprintf(stderr, "error: out of memory\n");
}

/* The rows as a table: masked numbers, long cells cut; overrides marked "*". */
struct rows_table {
    struct gw_admin_table *t;
    int overridden;
};

static int rows_table_init(struct rows_table *rt)
{
    static const char *const h[] = {"NO", "UNIT", "HOLDER", "NUMBER", "SERIAL", "ACTION", "RULE", "STATE", "DETAIL"};

    rt->overridden = 0;
    rt->t = gw_admin_table_new(9, h);
    if (!rt->t) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    gw_admin_table_column(rt->t, 0, 0, 1);
    gw_admin_table_column(rt->t, 1, 28, 0);
    gw_admin_table_column(rt->t, 2, 24, 0);
    gw_admin_table_column(rt->t, 4, 20, 0);
    gw_admin_table_column(rt->t, 8, 48, 0);
    return 0;
}

static int rows_table_add(void *arg, const json_t *row)
{
    struct rows_table *rt = arg;
    char no[24], masked[LOG_MSISDN_BUFSZ], action[16];
    const char *msisdn = jstr(row, "msisdn");
    int ov = json_is_object(json_object_get(row, "override"));
    const char *cells[9];

    rt->overridden |= ov;
    snprintf(action, sizeof(action), "%s%s", final_action(row), ov ? "*" : "");
    cells[0] = jnum(row, "no", no);
    cells[1] = jstr(row, "unit");
    cells[2] = jstr(row, "holder");
    cells[3] = msisdn[0] ? log_msisdn(msisdn, masked) : "";
    cells[4] = jstr(row, "serial");
    cells[5] = action;
    cells[6] = jstr(row, "rule");
    cells[7] = jstr(row, "state");
    cells[8] = jstr(row, "detail");
    if (gw_admin_table_add(rt->t, cells) != 0) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    return 0;
}

/* Print (when it has rows) and free. */
static void rows_table_done(struct rows_table *rt)
{
    if (rt->t && gw_admin_table_rows(rt->t) > 0) {
        gw_admin_table_print(rt->t, stdout);
        if (rt->overridden)
            printf("* overridden by an operator (plan show --csv gives the reason)\n");
    }
    gw_admin_table_free(rt->t);
    rt->t = NULL;
}

static const char *const csv_cols[] = {
    "no",       "unit",        "new_unit",   "kind", "holder",      "msisdn",          "serial",
    "valid_to", "carrier",     "action",     "rule", "rule_action", "override_reason", "override_by",
    "detail",   "handover_to", "request_id", "state"};
#define CSV_NCOLS (sizeof(csv_cols) / sizeof(csv_cols[0]))

static void csv_header(void)
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
static int csv_row(void *arg, const json_t *row)
{
    const json_t *ov = json_object_get(row, "override");

    (void)arg;
    for (size_t c = 0; c < CSV_NCOLS; c++) {
        char num[24];
        const char *v;
        char *field;
        if (strcmp(csv_cols[c], "no") == 0)
            v = jnum(row, "no", num);
        else if (strcmp(csv_cols[c], "action") == 0)
            v = final_action(row);
        else if (strcmp(csv_cols[c], "rule_action") == 0)
            v = jstr(row, "action");
        else if (strcmp(csv_cols[c], "override_reason") == 0)
            v = jstr(ov, "reason");
        else if (strcmp(csv_cols[c], "override_by") == 0)
            v = jstr(ov, "by");
        else
            v = jstr(row, csv_cols[c]);
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

/* ---- the commands */

/* Read a whole input file, at most GW_ADMIN_PLAN_FILE_MAX octets and UTF-8; problems printed. */
static enum gw_admin_exit read_input(const char *opt, const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    size_t bad, n = 0;
    char *b = NULL;

    *buf = NULL;
    if (!f) {
        fprintf(stderr, "error: %s %s: %s\n", opt, path, strerror(errno));
        return GW_ADMIN_FAIL;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "error: %s %s: not a regular file\n", opt, path);
        goto fail;
    }
    if ((unsigned long long)st.st_size > GW_ADMIN_PLAN_FILE_MAX) {
        fprintf(stderr, "error: %s %s: %lld octets, more than the %u MB a plan takes (nothing was sent)\n", opt, path,
                (long long)st.st_size, GW_ADMIN_PLAN_FILE_MAX >> 20);
        goto fail;
    }
    b = malloc((size_t)st.st_size + 1);
    if (!b) {
        fprintf(stderr, "error: out of memory reading %s\n", path);
        goto fail;
    }
    n = fread(b, 1, (size_t)st.st_size + 1, f);
    if (ferror(f) || n > (size_t)st.st_size) {
        fprintf(stderr, "error: %s %s: %s\n", opt, path, ferror(f) ? "read error" : "the file grew while read");
        goto fail;
    }
    fclose(f);
    f = NULL;
    if (n == 0) {
        fprintf(stderr, "error: %s %s: the file is empty\n", opt, path);
        goto fail;
    }
    if (!gw_admin_utf8_valid(b, n, &bad)) {
        size_t line = 1;
        for (size_t i = 0; i < bad; i++)
            line += b[i] == '\n';
        fprintf(stderr, "error: %s %s line %zu: not UTF-8 text (save it as \"CSV UTF-8\"; nothing was sent)\n", opt,
                path, line);
        goto fail;
    }
    *buf = b;
    *len = n;
    return GW_ADMIN_OK;
fail:
    if (f)
        fclose(f);
    free(b);
    return GW_ADMIN_FAIL;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Poll a building plan until it is built (or failed), with a bar of registry entries read. */
static enum gw_admin_exit wait_built(struct gw_admin_api *a, const char *id, json_t **out)
{
    struct gw_admin_progress pg;
    double down = 0;
    json_t *plan = NULL;

    *out = NULL;
    gw_admin_progress_init(&pg, "matching");
    for (;;) {
        const json_t *b;
        int got = poll_plan(a, id, &plan, &down, &pg);
        if (got < 0)
            return GW_ADMIN_FAIL;
        if (got == 0) {
            sleep_ms(BUILD_POLL);
            continue;
        }
        b = json_object_get(plan, "build");
        if (strcmp(jstr(plan, "state"), "building") != 0) {
            if (json_is_object(b))
                gw_admin_progress_show(&pg, (size_t)jint(b, "total"), (size_t)jint(b, "total"), "registry entries");
            break;
        }
        gw_admin_progress_show(&pg, (size_t)jint(b, "read"), (size_t)jint(b, "total"), "registry entries");
        json_decref(plan);
        plan = NULL;
        sleep_ms(BUILD_POLL);
    }
    gw_admin_progress_clear(&pg);
    if (pg.tty)
        fprintf(stderr, "matched\n");
    *out = plan;
    return GW_ADMIN_OK;
}

/* A build refused with findings, or a plan that could not be built: what the daemon said about it. */
static void print_build_error(const json_t *plan)
{
    const json_t *e = json_object_get(plan, "error");
    char *m = gw_admin_text_safe(json_is_string(e) ? json_string_value(e) : jstr(e, "message"));
    fprintf(stderr, "error: plan %s: the build failed%s%s\n", jstr(plan, "id"), m && m[0] ? ": " : "", m ? m : "");
    free(m);
}

static enum gw_admin_exit cmd_build(struct gw_admin_api *a, const struct opts *o)
{
    char *reorg = NULL, *staff = NULL;
    size_t rlen = 0, slen = 0;
    json_t *body = NULL, *plan = NULL;
    struct gw_admin_reply r = {0};
    const char *id;
    enum gw_admin_exit ret;
    int ok;

    days_until(o->deadline, &ok);
    if (!ok)
        return usage(NULL, "--deadline is a date YYYY-MM-DD, not", o->deadline);
    if (!o->name[0])
        return usage(NULL, "--name is empty", NULL);
    ret = read_input("--reorg", o->reorg, &reorg, &rlen);
    if (ret == GW_ADMIN_OK)
        ret = read_input("--staff", o->staff, &staff, &slen);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    body = json_pack("{s:s, s:s, s:s, s:s%, s:s%}", "name", o->name, "deadline", o->deadline, "by", who(o), "reorg",
                     reorg, rlen, "staff", staff, slen);
    if (!body) {
        fprintf(stderr, "error: --name or --by is not UTF-8 text, or out of memory\n");
        goto out;
    }
    free(reorg);
    free(staff);
    reorg = staff = NULL;
    fprintf(stderr, "sending %zu + %zu octets to %s\n", rlen, slen, gw_admin_api_url(a));
    if (gw_admin_api_call(a, "/v1/plans", body, GW_ADMIN_API_LONG, &r) != 0) {
        ret = gw_admin_api_fail(a, "plan build", &r);
        goto out;
    }
    if (r.status == 400 && json_is_array(json_object_get(r.json, "findings"))) {
        size_t errors =
            print_findings(json_object_get(r.json, "findings"), base_name(o->reorg), base_name(o->staff), 0);
        long long more = jint(r.json, "more");
        if (more > 0)
            fprintf(stderr, "... and %lld more findings\n", more);
        fprintf(stderr, "error: plan build: %zu error%s in the files; nothing was stored\n", errors,
                errors == 1 ? "" : "s");
        goto out;
    }
    if (!gw_admin_reply_ok(&r)) {
        ret = gw_admin_api_fail(a, "plan build", &r);
        goto out;
    }
    id = jstr(r.json, "id");
    if (!plan_id_ok(id)) {
        fprintf(stderr, "error: plan build: the daemon's answer names no plan\n");
        goto out;
    }
    fprintf(stderr, "plan %s: the daemon is matching it against the registry (Ctrl-C stops watching, not the build)\n",
            id);
    ret = wait_built(a, id, &plan);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    if (strcmp(jstr(plan, "state"), "failed") == 0) {
        print_build_error(plan);
        goto out;
    }
    print_findings(json_object_get(plan, "findings"), base_name(o->reorg), base_name(o->staff), 1);
    print_header(plan, 0);
    print_summary(json_object_get(plan, "summary"));
    printf("\nnext: simpki-admin plan show %s --action decide; plan override; plan approve %s\n", id, id);
    ret = GW_ADMIN_OK;
out:
    free(reorg);
    free(staff);
    json_decref(body);
    json_decref(plan);
    gw_admin_reply_clear(&r);
    return ret;
}

static enum gw_admin_exit cmd_list(struct gw_admin_api *a, const struct opts *o)
{
    static const char *const h[] = {"ID", "NAME", "STATE", "VERSION", "DEADLINE", "ROWS", "CREATED", "BY"};
    json_t *doc = NULL, *p;
    struct gw_admin_table *t = NULL;
    enum gw_admin_exit ret;
    size_t i;

    (void)o;
    ret = gw_admin_api_get_json(a, "/v1/plans", "plans", &doc);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = GW_ADMIN_FAIL;
    t = gw_admin_table_new(8, h);
    if (!t)
        goto out;
    gw_admin_table_column(t, 1, 40, 0);
    gw_admin_table_column(t, 3, 0, 1);
    gw_admin_table_column(t, 5, 0, 1);
    json_array_foreach(json_object_get(doc, "plans"), i, p)
    {
        char v[24], n[24];
        const char *cells[8] = {jstr(p, "id"),         jstr(p, "name"),
                                jstr(p, "state"),      jnum(p, "version", v),
                                jstr(p, "deadline"),   jnum(json_object_get(p, "summary"), "rows", n),
                                jstr(p, "created_at"), jstr(p, "created_by")};
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
    json_decref(doc);
    return ret;
}

static enum gw_admin_exit cmd_show(struct gw_admin_api *a, const struct opts *o)
{
    const char *id = o->pos[0];
    json_t *plan = NULL;
    struct rows_table rt = {0};
    enum gw_admin_exit ret;

    if (o->action && !action_ok(o->action, 1))
        return usage(NULL, "--action is keep, change, revoke or decide, not", o->action);
    ret = get_plan(a, id, &plan);
    if (ret != GW_ADMIN_OK)
        return ret;
    if (o->csv) {
        /* Row by row as the pages come: a spreadsheet of the whole plan without holding it. */
        csv_header();
        ret = each_row(a, id, o->unit, o->action, csv_row, NULL);
        goto out;
    }
    ret = GW_ADMIN_FAIL;
    if (rows_table_init(&rt) != 0)
        goto out;
    ret = each_row(a, id, o->unit, o->action, rows_table_add, &rt);
    if (ret != GW_ADMIN_OK)
        goto out;
    print_header(plan, 1);
    print_findings(json_object_get(plan, "findings"), "reorg", "staff", 1);
    printf("\n");
    if (gw_admin_table_rows(rt.t) == 0)
        printf("no rows%s%s%s%s\n", o->unit ? " of unit " : "", o->unit ? o->unit : "",
               o->action ? " with action " : "", o->action ? o->action : "");
    rows_table_done(&rt);
out:
    gw_admin_table_free(rt.t);
    json_decref(plan);
    return ret;
}

/* The plan's current version, read just before a change is sent with it. */
static enum gw_admin_exit current_version(struct gw_admin_api *a, const char *id, long long *version)
{
    json_t *plan = NULL;
    enum gw_admin_exit ret = get_plan(a, id, &plan);

    if (ret == GW_ADMIN_OK) {
        *version = jint(plan, "version");
        json_decref(plan);
    }
    return ret;
}

static void explain_conflict(const struct gw_admin_reply *r, const char *id)
{
    const char *code = gw_admin_reply_code(r);
    if (strcmp(code, "VERSION_CONFLICT") == 0)
        fprintf(stderr,
                "  the plan changed after it was read (another operator, or the review page): look at it again "
                "(simpki-admin plan show %s), then repeat the command if it still holds\n",
                id);
    else if (strcmp(code, "PLAN_APPROVED") == 0)
        fprintf(stderr, "  an approved plan is no longer changed\n");
}

static enum gw_admin_exit cmd_override(struct gw_admin_api *a, const struct opts *o)
{
    const char *id = o->pos[0];
    char path[96], what[64], *end;
    unsigned long long no;
    long long version;
    json_t *body = NULL;
    struct gw_admin_reply r = {0};
    enum gw_admin_exit ret;

    errno = 0;
    no = strtoull(o->pos[1], &end, 10);
    if (errno || *end || no == 0 || o->pos[1][0] == '-' || no > 100000000ull)
        return usage(NULL, "ROW is a row number (plan show lists them), not", o->pos[1]);
    if (!action_ok(o->action, 0))
        return usage(NULL, "--action is keep, change or revoke, not", o->action);
    if (!o->reason[0])
        return usage(NULL, "--reason must say why", NULL);
    snprintf(what, sizeof(what), "plan %s row %llu", id, no);
    ret = current_version(a, id, &version);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = GW_ADMIN_FAIL;
    body = json_pack("{s:s, s:s, s:s, s:I}", "action", o->action, "reason", o->reason, "by", who(o), "version",
                     (json_int_t)version);
    if (!body) {
        fprintf(stderr, "error: --reason or --by is not UTF-8 text, or out of memory\n");
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/plans/%s/rows/%llu", id, no);
    if (gw_admin_api_call(a, path, body, 0, &r) != 0 || !gw_admin_reply_ok(&r)) {
        ret = gw_admin_api_fail(a, what, &r);
        explain_conflict(&r, id);
        goto out;
    }
    {
        /* What changed, from the history entry the override added. */
        const json_t *h =
            json_array_get(json_object_get(r.json, "history"), json_array_size(json_object_get(r.json, "history")) - 1);
        if (strcmp(jstr(h, "what"), "override") == 0 && (unsigned long long)jint(h, "row") == no)
            printf("row %llu: %s -> %s; plan %s is at version %lld\n", no, jstr(h, "from"), jstr(h, "to"), id,
                   jint(r.json, "version"));
        else
            printf("row %llu: %s; plan %s is at version %lld\n", no, o->action, id, jint(r.json, "version"));
    }
    ret = GW_ADMIN_OK;
out:
    json_decref(body);
    gw_admin_reply_clear(&r);
    return ret;
}

static enum gw_admin_exit cmd_approve(struct gw_admin_api *a, const struct opts *o)
{
    const char *id = o->pos[0];
    char path[64], what[32];
    long long version;
    json_t *body = NULL;
    struct gw_admin_reply r = {0};
    enum gw_admin_exit ret = current_version(a, id, &version);

    if (ret != GW_ADMIN_OK)
        return ret;
    ret = GW_ADMIN_FAIL;
    snprintf(what, sizeof(what), "plan %s", id);
    body = json_pack("{s:s, s:I}", "by", who(o), "version", (json_int_t)version);
    if (!body) {
        fprintf(stderr, "error: --by is not UTF-8 text, or out of memory\n");
        goto out;
    }
    snprintf(path, sizeof(path), "/v1/plans/%s/approve", id);
    if (gw_admin_api_call(a, path, body, 0, &r) != 0 || !gw_admin_reply_ok(&r)) {
        gw_admin_api_fail(a, what, &r);
        explain_conflict(&r, id);
        if (strcmp(gw_admin_reply_code(&r), "DECISIONS_PENDING") == 0) {
            /* The rows themselves, so the operator sees what to decide without another command. */
            struct rows_table rt = {0};
            if (rows_table_init(&rt) == 0 && each_row(a, id, NULL, "decide", rows_table_add, &rt) == GW_ADMIN_OK &&
                gw_admin_table_rows(rt.t) > 0) {
                printf("rows that need a decision (plan override %s ROW --action ... --reason ...):\n", id);
                rows_table_done(&rt);
            } else {
                size_t i;
                json_t *n;
                fprintf(stderr, "  rows:");
                json_array_foreach(json_object_get(r.json, "rows"), i, n) fprintf(
                    stderr, " %lld", (long long)json_number_value(json_is_object(n) ? json_object_get(n, "no") : n));
                fprintf(stderr, "\n");
            }
            gw_admin_table_free(rt.t);
        }
        goto out;
    }
    printf("plan %s approved at version %lld by %s: state %s\n", id, jint(r.json, "version"),
           jstr(json_object_get(r.json, "approved"), "by"), jstr(r.json, "state"));
    printf("follow it with: simpki-admin plan follow %s\n", id);
    ret = GW_ADMIN_OK;
out:
    json_decref(body);
    gw_admin_reply_clear(&r);
    return ret;
}

/* What the report gathers row by row: requests by state, and the rows whose request did not end well. */
struct report {
    json_t *states;
    struct rows_table bad;
};

static int report_row(void *arg, const json_t *row)
{
    struct report *rep = arg;
    const char *st = jstr(row, "state");

    if (!jstr(row, "request_id")[0])
        return 0;
    if (!st[0])
        st = "not yet";
    if (json_object_set_new(rep->states, st, json_integer(jint(rep->states, st) + 1)) != 0) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    if (strcmp(st, "failed") == 0 || strcmp(st, "rejected") == 0)
        return rows_table_add(&rep->bad, row);
    return 0;
}

/* After a run: requests by state, the rows that did not end well, the handover records. */
static enum gw_admin_exit print_report(struct gw_admin_api *a, const json_t *plan, int *any_failed)
{
    static const char *const sh[] = {"STATE", "ROWS"};
    static const char *const hh[] = {"GROUP", "RECEIVER", "ROWS", "REQUEST"};
    const char *id = jstr(plan, "id");
    struct report rep = {.states = json_object()};
    struct gw_admin_table *t = NULL;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    const char *k;
    json_t *v;
    size_t i;

    if (!rep.states || rows_table_init(&rep.bad) != 0)
        goto out;
    ret = each_row(a, id, NULL, NULL, report_row, &rep);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    *any_failed = gw_admin_table_rows(rep.bad.t) > 0 || jint(json_object_get(plan, "progress"), "failed") > 0;
    t = gw_admin_table_new(2, sh);
    if (!t)
        goto out;
    gw_admin_table_column(t, 1, 0, 1);
    json_object_foreach(rep.states, k, v)
    {
        char n[24];
        const char *cells[2] = {k, jnum(rep.states, k, n)};
        if (gw_admin_table_add(t, cells) != 0)
            goto out;
    }
    printf("\n");
    gw_admin_table_print(t, stdout);
    if (gw_admin_table_rows(rep.bad.t) > 0) {
        printf("\nrows whose request failed or was rejected (their requests: GET /v1/requests/ID):\n");
        rows_table_done(&rep.bad);
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
            const char *cells[4] = {jstr(h, "group"), jstr(h, "receiver"), n, jstr(h, "request_id")};
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
    gw_admin_table_free(rep.bad.t);
    json_decref(rep.states);
    return ret;
}

static enum gw_admin_exit cmd_follow(struct gw_admin_api *a, const struct opts *o)
{
    const char *id = o->pos[0];
    struct gw_admin_progress build, run;
    double down = 0;
    json_t *plan = NULL;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    int any_failed = 0;

    gw_admin_progress_init(&build, "matching");
    gw_admin_progress_init(&run, "running");
    for (;;) {
        const char *state;
        const json_t *p;
        char tail[160];
        int got = poll_plan(a, id, &plan, &down, &run);

        if (got < 0)
            goto out;
        if (got == 0) {
            sleep_ms(FOLLOW_POLL);
            continue;
        }
        state = jstr(plan, "state");
        if (strcmp(state, "finished") == 0)
            break;
        if (strcmp(state, "failed") == 0) {
            gw_admin_progress_clear(&build);
            print_build_error(plan);
            goto out;
        }
        if (strcmp(state, "review") == 0) {
            gw_admin_progress_clear(&build);
            fprintf(stderr,
                    "error: plan %s is in review: nothing runs until it is approved (simpki-admin plan approve %s)\n",
                    id, id);
            goto out;
        }
        if (strcmp(state, "building") == 0) {
            p = json_object_get(plan, "build");
            gw_admin_progress_show(&build, (size_t)jint(p, "read"), (size_t)jint(p, "total"), "registry entries");
        } else {
            gw_admin_progress_clear(&build);
            p = json_object_get(plan, "progress");
            snprintf(tail, sizeof(tail), "%lld done, %lld failed, %lld waiting for PIN, %lld waiting for device",
                     jint(p, "done"), jint(p, "failed"), jint(p, "waiting_pin"), jint(p, "waiting_device"));
            gw_admin_progress_show(&run, (size_t)(jint(p, "done") + jint(p, "failed")), (size_t)jint(p, "rows"), tail);
        }
        json_decref(plan);
        plan = NULL;
        sleep_ms(FOLLOW_POLL);
    }
    gw_admin_progress_clear(&run);
    print_header(plan, 0);
    ret = print_report(a, plan, &any_failed);
    if (ret == GW_ADMIN_OK && any_failed) {
        fprintf(stderr, "error: plan %s finished with failed requests\n", id);
        ret = GW_ADMIN_FAIL;
    }
out:
    gw_admin_progress_clear(&run);
    json_decref(plan);
    return ret;
}

static enum gw_admin_exit cmd_open(struct gw_admin_api *a, const struct opts *o)
{
    static const char *const h[] = {"UNIT", "NEW UNIT", "ROWS", "OPEN"};
    const char *id = o->pos[0];
    char path[96], what[48];
    json_t *plan = NULL, *units = NULL, *arr, *u;
    struct gw_admin_table *t = NULL;
    enum gw_admin_exit ret;
    long long open_total = 0;
    size_t i;

    if (o->csv) {
        snprintf(path, sizeof(path), "/v1/plans/%s/open?format=csv", id);
        snprintf(what, sizeof(what), "plan %s open", id);
        return download(a, path, what, "-");
    }
    ret = get_plan(a, id, &plan);
    if (ret != GW_ADMIN_OK)
        return ret;
    snprintf(path, sizeof(path), "/v1/plans/%s/units", id);
    snprintf(what, sizeof(what), "plan %s units", id);
    ret = gw_admin_api_get_json(a, path, what, &units);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
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
        long long open = json_is_array(ov) ? (long long)json_array_size(ov) : jint(u, "open");
        const char *cells[4] = {jstr(u, "unit"), jstr(u, "new_unit"), jnum(u, "rows", n), op};
        if (open == 0)
            continue;
        snprintf(op, sizeof(op), "%lld", open);
        open_total += open;
        if (gw_admin_table_add(t, cells) != 0)
            goto out;
    }
    printf("plan       %s\n", id);
    print_deadline(jstr(plan, "deadline"), jstr(plan, "state"));
    printf("open       %lld row%s in %zu unit%s\n", open_total, open_total == 1 ? "" : "s", gw_admin_table_rows(t),
           gw_admin_table_rows(t) == 1 ? "" : "s");
    if (gw_admin_table_rows(t) > 0) {
        printf("\n");
        gw_admin_table_print(t, stdout);
    }
    ret = GW_ADMIN_OK;
out:
    gw_admin_table_free(t);
    json_decref(plan);
    json_decref(units);
    return ret;
}

static enum gw_admin_exit cmd_bundle(struct gw_admin_api *a, const struct opts *o)
{
    char path[PATH_MAX_], what[64];

    snprintf(path, sizeof(path), "/v1/plans/%s/bundle", o->pos[0]);
    if (add_query(path, sizeof(path), "unit", o->unit) != 0)
        return usage(NULL, "--unit is too long", NULL);
    snprintf(what, sizeof(what), "plan %s bundle", o->pos[0]);
    return download(a, path, what, o->out);
}

static enum gw_admin_exit cmd_export(struct gw_admin_api *a, const struct opts *o)
{
    char path[96], what[64];

    if (strcmp(o->format, "csv") != 0 && strcmp(o->format, "json") != 0)
        return usage(NULL, "--format is csv or json, not", o->format);
    snprintf(path, sizeof(path), "/v1/plans/%s/export?format=%s", o->pos[0], o->format);
    snprintf(what, sizeof(what), "plan %s export (%s)", o->pos[0], o->format);
    return download(a, path, what, o->out);
}

static const struct sub subs[] = {
    {"build", cmd_build, O_REORG | O_STAFF | O_NAME | O_DEADLINE | O_BY, O_REORG | O_STAFF | O_NAME | O_DEADLINE, 0,
     "build --reorg FILE --staff FILE --name TEXT --deadline YYYY-MM-DD [--by NAME]"},
    {"list", cmd_list, 0, 0, 0, "list"},
    {"show", cmd_show, O_UNIT | O_ACTION | O_CSV, 0, 1, "show ID [--unit U] [--action A] [--csv]"},
    {"override", cmd_override, O_ACTION | O_REASON | O_BY, O_ACTION | O_REASON, 2,
     "override ID ROW --action keep|change|revoke --reason TEXT [--by NAME]"},
    {"approve", cmd_approve, O_BY, 0, 1, "approve ID [--by NAME]"},
    {"follow", cmd_follow, 0, 0, 1, "follow ID"},
    {"open", cmd_open, O_CSV, 0, 1, "open ID [--csv]"},
    {"bundle", cmd_bundle, O_UNIT | O_OUT, O_UNIT | O_OUT, 1, "bundle ID --unit U -o FILE"},
    {"export", cmd_export, O_FORMAT | O_OUT, O_FORMAT | O_OUT, 1, "export ID --format csv|json -o FILE"},
};

/* Options into o, the subcommand into *sub; a usage error printed otherwise. */
static enum gw_admin_exit parse(int argc, char **argv, struct opts *o, const struct sub **sub)
{
    *sub = NULL;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const struct optdef *d = NULL;

        if (strcmp(arg, "--csv") == 0) {
            o->csv = 1;
            o->given |= O_CSV;
            continue;
        }
        if (strcmp(arg, "--key") == 0 || strncmp(arg, "--key=", 6) == 0 || strcmp(arg, "--token") == 0) {
            /* Wipe it: /proc/PID/cmdline would show it for as long as this runs. */
            if (strcmp(arg, "--key") == 0 && i + 1 < argc)
                memset(argv[i + 1], 'x', strlen(argv[i + 1]));
            return usage(*sub,
                         "the API key is never taken from the command line (ps shows it to every user): use "
                         "--key-file FILE or SIMPKI_API_KEY",
                         NULL);
        }
        for (size_t k = 0; k < sizeof(optdefs) / sizeof(optdefs[0]); k++)
            if (strcmp(arg, optdefs[k].name) == 0 || (optdefs[k].alt && strcmp(arg, optdefs[k].alt) == 0))
                d = &optdefs[k];
        if (d) {
            const char **slot = (const char **)((char *)o + d->off);
            if (i + 1 == argc)
                return usage(*sub, "this option needs a value:", arg);
            if (*slot)
                return usage(*sub, "given twice:", arg);
            *slot = argv[++i];
            o->given |= d->bit;
            continue;
        }
        if (arg[0] == '-' && arg[1])
            return usage(*sub, "unknown option", arg);
        if (!*sub) {
            for (size_t s = 0; s < sizeof(subs) / sizeof(subs[0]); s++)
                if (strcmp(arg, subs[s].name) == 0)
                    *sub = &subs[s];
            if (!*sub)
                return usage(NULL, "unknown command", arg);
            continue;
        }
        if (o->npos == (*sub)->npos)
            return usage(*sub, "unexpected argument", arg);
        o->pos[o->npos++] = arg;
    }
    if (!*sub)
        return usage(NULL, "which command? build, list, show, override, approve, follow, open, bundle or export", NULL);
    if (o->given & ~(*sub)->takes) {
        for (size_t k = 0; k < sizeof(optdefs) / sizeof(optdefs[0]); k++)
            if (optdefs[k].bit & o->given & ~(*sub)->takes)
                return usage(*sub, "does not take", optdefs[k].name);
        return usage(*sub, "does not take", "--csv");
    }
    if (((*sub)->needs & o->given) != (*sub)->needs) {
        for (size_t k = 0; k < sizeof(optdefs) / sizeof(optdefs[0]); k++)
            if (optdefs[k].bit & (*sub)->needs & ~o->given)
                return usage(*sub, "missing", optdefs[k].name);
    }
    if (o->npos < (*sub)->npos)
        return usage(*sub, (*sub)->npos == 2 && o->npos == 1 ? "which ROW?" : "which plan ID?", NULL);
    if ((*sub)->npos > 0 && !plan_id_ok(o->pos[0]))
        return usage(*sub, "a plan id is p and 12 hex digits (plan list shows them), not", o->pos[0]);
    return GW_ADMIN_OK;
}

enum gw_admin_exit gw_admin_plan(const char *cfg_path, int argc, char **argv)
{
    struct opts o;
    const struct sub *sub;
    struct gw_admin_api *a = NULL;
    enum gw_admin_exit ret;

    memset(&o, 0, sizeof(o));
    ret = parse(argc, argv, &o, &sub);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = gw_admin_api_open(cfg_path, o.api, o.key_file, &a);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = sub->fn(a, &o);
    gw_admin_api_free(a);
    fflush(stdout);
    return ret;
}
