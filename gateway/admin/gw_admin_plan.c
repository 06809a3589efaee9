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
#include "gw_admin_plan_show.h"

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
    "  key from --key-file FILE or SIMPKI_API_KEY (never on the command line). Over https:\n"
    "  --cacert FILE (PEM roots of the daemon's certificate; default: the system's), and\n"
    "  --client-cert FILE [--client-key FILE] for a client certificate when the operator's key\n"
    "  requires one (api_keys[].client_cert_sha256).\n";

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
    const char *api, *key_file, *cacert, *cert, *key, *reorg, *staff, *name, *deadline, *by, *unit, *action, *reason,
        *out, *format;
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
    {"--cacert", NULL, 0, OPT(cacert)},
    {"--client-cert", NULL, 0, OPT(cert)},
    {"--client-key", NULL, 0, OPT(key)}, /* not "--key": that spelling is refused as an API key on the command line */
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
        matched = gw_admin_plan_show_jint(page, "matched");
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
        if (strcmp(gw_admin_plan_show_jstr(plan, "state"), "building") != 0) {
            if (json_is_object(b))
                gw_admin_progress_show(&pg, (size_t)gw_admin_plan_show_jint(b, "total"),
                                       (size_t)gw_admin_plan_show_jint(b, "total"), "registry entries");
            break;
        }
        gw_admin_progress_show(&pg, (size_t)gw_admin_plan_show_jint(b, "read"),
                               (size_t)gw_admin_plan_show_jint(b, "total"), "registry entries");
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
    char *m = gw_admin_text_safe(json_is_string(e) ? json_string_value(e) : gw_admin_plan_show_jstr(e, "message"));
    fprintf(stderr, "error: plan %s: the build failed%s%s\n", gw_admin_plan_show_jstr(plan, "id"),
            m && m[0] ? ": " : "", m ? m : "");
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

    gw_admin_plan_show_days_until(o->deadline, &ok);
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
        size_t errors = gw_admin_plan_show_findings(json_object_get(r.json, "findings"), base_name(o->reorg),
                                                    base_name(o->staff), 0);
        long long more = gw_admin_plan_show_jint(r.json, "more");
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
    id = gw_admin_plan_show_jstr(r.json, "id");
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
    if (strcmp(gw_admin_plan_show_jstr(plan, "state"), "failed") == 0) {
        print_build_error(plan);
        goto out;
    }
    gw_admin_plan_show_findings(json_object_get(plan, "findings"), base_name(o->reorg), base_name(o->staff), 1);
    gw_admin_plan_show_header(plan, 0);
    gw_admin_plan_show_summary(json_object_get(plan, "summary"));
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
    json_t *doc = NULL;
    enum gw_admin_exit ret;

    (void)o;
    ret = gw_admin_api_get_json(a, "/v1/plans", "plans", &doc);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = gw_admin_plan_show_list(doc);
    json_decref(doc);
    return ret;
}

static enum gw_admin_exit cmd_show(struct gw_admin_api *a, const struct opts *o)
{
    const char *id = o->pos[0];
    json_t *plan = NULL;
    struct gw_admin_plan_show_rows *rt = NULL;
    enum gw_admin_exit ret;

    if (o->action && !action_ok(o->action, 1))
        return usage(NULL, "--action is keep, change, revoke or decide, not", o->action);
    ret = get_plan(a, id, &plan);
    if (ret != GW_ADMIN_OK)
        return ret;
    if (o->csv) {
        /* Row by row as the pages come: a spreadsheet of the whole plan without holding it. */
        gw_admin_plan_show_csv_header();
        ret = each_row(a, id, o->unit, o->action, gw_admin_plan_show_csv_row, NULL);
        goto out;
    }
    ret = GW_ADMIN_FAIL;
    rt = gw_admin_plan_show_rows_new();
    if (!rt)
        goto out;
    ret = each_row(a, id, o->unit, o->action, gw_admin_plan_show_rows_add, rt);
    if (ret != GW_ADMIN_OK)
        goto out;
    gw_admin_plan_show_plan(plan, rt, o->unit, o->action);
out:
    gw_admin_plan_show_rows_free(rt);
    json_decref(plan);
    return ret;
}

/* The plan's current version, read just before a change is sent with it. */
static enum gw_admin_exit current_version(struct gw_admin_api *a, const char *id, long long *version)
{
    json_t *plan = NULL;
    enum gw_admin_exit ret = get_plan(a, id, &plan);

    if (ret == GW_ADMIN_OK) {
        *version = gw_admin_plan_show_jint(plan, "version");
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
        if (strcmp(gw_admin_plan_show_jstr(h, "what"), "override") == 0 &&
            (unsigned long long)gw_admin_plan_show_jint(h, "row") == no)
            printf("row %llu: %s -> %s; plan %s is at version %lld\n", no, gw_admin_plan_show_jstr(h, "from"),
                   gw_admin_plan_show_jstr(h, "to"), id, gw_admin_plan_show_jint(r.json, "version"));
        else
            printf("row %llu: %s; plan %s is at version %lld\n", no, o->action, id,
                   gw_admin_plan_show_jint(r.json, "version"));
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
            struct gw_admin_plan_show_rows *rt = gw_admin_plan_show_rows_new();
            if (rt && each_row(a, id, NULL, "decide", gw_admin_plan_show_rows_add, rt) == GW_ADMIN_OK &&
                gw_admin_plan_show_rows_count(rt) > 0) {
                printf("rows that need a decision (plan override %s ROW --action ... --reason ...):\n", id);
                gw_admin_plan_show_rows_print(rt);
            } else {
                size_t i;
                json_t *n;
                fprintf(stderr, "  rows:");
                json_array_foreach(json_object_get(r.json, "rows"), i, n) fprintf(
                    stderr, " %lld", (long long)json_number_value(json_is_object(n) ? json_object_get(n, "no") : n));
                fprintf(stderr, "\n");
            }
            gw_admin_plan_show_rows_free(rt);
        }
        goto out;
    }
    printf("plan %s approved at version %lld by %s: state %s\n", id, gw_admin_plan_show_jint(r.json, "version"),
           gw_admin_plan_show_jstr(json_object_get(r.json, "approved"), "by"),
           gw_admin_plan_show_jstr(r.json, "state"));
    printf("follow it with: simpki-admin plan follow %s\n", id);
    ret = GW_ADMIN_OK;
out:
    json_decref(body);
    gw_admin_reply_clear(&r);
    return ret;
}

/* After a run: gather the report row by row, then print it. */
static enum gw_admin_exit report(struct gw_admin_api *a, const json_t *plan, int *any_failed)
{
    struct gw_admin_plan_show_report *rep = gw_admin_plan_show_report_new();
    enum gw_admin_exit ret = GW_ADMIN_FAIL;

    if (rep)
        ret = each_row(a, gw_admin_plan_show_jstr(plan, "id"), NULL, NULL, gw_admin_plan_show_report_row, rep);
    if (ret == GW_ADMIN_OK)
        ret = gw_admin_plan_show_report_print(rep, plan, any_failed);
    gw_admin_plan_show_report_free(rep);
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
        state = gw_admin_plan_show_jstr(plan, "state");
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
            gw_admin_progress_show(&build, (size_t)gw_admin_plan_show_jint(p, "read"),
                                   (size_t)gw_admin_plan_show_jint(p, "total"), "registry entries");
        } else {
            gw_admin_progress_clear(&build);
            p = json_object_get(plan, "progress");
            snprintf(tail, sizeof(tail), "%lld done, %lld failed, %lld waiting for PIN, %lld waiting for device",
                     gw_admin_plan_show_jint(p, "done"), gw_admin_plan_show_jint(p, "failed"),
                     gw_admin_plan_show_jint(p, "waiting_pin"), gw_admin_plan_show_jint(p, "waiting_device"));
            gw_admin_progress_show(&run,
                                   (size_t)(gw_admin_plan_show_jint(p, "done") + gw_admin_plan_show_jint(p, "failed")),
                                   (size_t)gw_admin_plan_show_jint(p, "to_file"), tail);
        }
        json_decref(plan);
        plan = NULL;
        sleep_ms(FOLLOW_POLL);
    }
    gw_admin_progress_clear(&run);
    gw_admin_plan_show_header(plan, 0);
    ret = report(a, plan, &any_failed);
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
    const char *id = o->pos[0];
    char path[96], what[48];
    json_t *plan = NULL, *units = NULL;
    enum gw_admin_exit ret;

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
    if (ret == GW_ADMIN_OK)
        ret = gw_admin_plan_show_open(id, plan, units);
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
    ret = gw_admin_api_open(cfg_path, o.api, o.key_file,
                            &(struct gw_admin_api_tls){.cacert = o.cacert, .cert = o.cert, .key = o.key}, &a);
    if (ret != GW_ADMIN_OK)
        return ret;
    ret = sub->fn(a, &o);
    gw_admin_api_free(a);
    fflush(stdout);
    return ret;
}
