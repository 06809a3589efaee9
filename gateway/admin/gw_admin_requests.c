/*
 * gw_admin_requests.c - simpki-admin import-requests; see gw_admin_requests.h.
 *
 * Three passes: frame the file (gw_enrol_import_csv), build and check every
 * row keeping its stored text while all is well, then one transaction.
 */
#include "gw_admin_requests.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "gw_enrol_import.h"
#include "q.h"
#include "util.h"

#define REQ_FILE_MAX (256u << 20) /* 256 MiB: about a million rows */
#define WARN_SHOWN   100          /* warnings are stored with each request; show the first ones */
#define PLAIN_EVERY  10000        /* rows between progress lines when stderr is not a terminal */

struct progress {
    int tty, drawn;
    size_t total;
    double t0, last;
};

struct job {
    struct progress pg;
    size_t errors, warnings;
};

/* One row ready to store. */
struct doc {
    char id[GW_ENROL_ID_LEN];
    char *text;
    size_t len;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress_clear(struct progress *pg)
{
    if (pg->tty && pg->drawn) {
        fputs("\r\033[K", stderr);
        pg->drawn = 0;
    }
}

static void progress_show(struct progress *pg, size_t done, int final)
{
    double t = now_s(), el = t - pg->t0;
    double rate = el > 0 ? (double)done / el : 0;

    if (pg->tty) {
        char bar[31];
        size_t fill;
        if (!final && t - pg->last < 0.1)
            return;
        fill = pg->total ? done * 30 / pg->total : 30;
        memset(bar, '#', fill);
        memset(bar + fill, '-', 30 - fill);
        bar[30] = '\0';
        fprintf(stderr, "\r\033[Kchecking [%s] %zu/%zu rows  %.0f rows/s", bar, done, pg->total, rate);
        pg->drawn = 1;
        if (final) {
            fputc('\n', stderr);
            pg->drawn = 0;
        }
        fflush(stderr);
    } else if ((done % PLAIN_EVERY == 0 && done) || (final && done % PLAIN_EVERY)) {
        fprintf(stderr, "checked %zu/%zu rows (%.0f rows/s)\n", done, pg->total, rate);
    }
    pg->last = t;
}

static void on_finding(void *arg, const struct gw_enrol_finding *f)
{
    struct job *job = arg;
    char where[96];

    if (f->warning) {
        if (job->warnings++ >= WARN_SHOWN)
            return;
    } else {
        job->errors++;
    }
    progress_clear(&job->pg);
    if (f->row)
        snprintf(where, sizeof(where), "row %zu", f->row);
    else
        snprintf(where, sizeof(where), "line %zu", f->line);
    fprintf(stderr, "%s%s%s%s%s: %s: %s\n", f->warning ? "warning: " : "", where, f->field[0] ? " (" : "", f->field,
            f->field[0] ? ")" : "", f->code, f->message);
}

static int read_whole(const char *path, char **out, size_t *outlen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    char *buf = NULL;
    size_t n;
    int ret = -1;

    *out = NULL;
    if (!f)
        return -1;
    if (fstat(fileno(f), &st) != 0)
        goto out;
    if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > REQ_FILE_MAX) {
        errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf)
        goto out;
    n = fread(buf, 1, (size_t)st.st_size + 1, f);
    if (ferror(f) || n > (size_t)st.st_size) {
        errno = ferror(f) ? EIO : EFBIG; /* it grew while we read it */
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;
    ret = 0;
out:
    free(buf);
    fclose(f);
    return ret;
}

static void free_docs(struct doc *docs, size_t n)
{
    for (size_t i = 0; docs && i < n; i++)
        free(docs[i].text);
    free(docs);
}

enum gw_admin_exit gw_admin_import_requests(const struct cfg *cfg, const char *path, const char *form, int dry_run)
{
    struct job job;
    struct gw_enrol_import *im = NULL;
    struct q_sync *qs = NULL;
    struct q_sync_doc *qd = NULL;
    struct doc *docs = NULL;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    const char *base = strrchr(path, '/');
    char *buf = NULL, why[256], now[32], by[256];
    size_t len = 0, rows, ndocs = 0;
    json_t *probe;
    double t_write;
    int64_t now_ms;
    enum q_err qe;

    memset(&job, 0, sizeof(job));
    job.pg.tty = isatty(STDERR_FILENO);
    job.pg.t0 = now_s();
    /* created_by names the file, not the path: "import:don-vi-2026.csv". */
    snprintf(by, sizeof(by), "import:%.200s", base ? base + 1 : path);
    probe = json_string(by);
    if (!probe)
        snprintf(by, sizeof(by), "import:(file name not UTF-8)");
    json_decref(probe);

    if (read_whole(path, &buf, &len) != 0) {
        fprintf(stderr, "error: cannot read %s: %s\n", path,
                errno == EFBIG    ? "larger than 256 MiB"
                : errno == EINVAL ? "not a regular file"
                                  : strerror(errno));
        goto out;
    }
    im = gw_enrol_import_new(form, NULL, on_finding, &job);
    if (!im) {
        fprintf(stderr, "error: %s\n",
                form ? "--form: not person_new, org_new, change, revoke or handover" : "out of memory");
        ret = form ? GW_ADMIN_USAGE : GW_ADMIN_FAIL;
        goto out;
    }
    if (gw_enrol_import_csv(im, buf, len) != 0) {
        fprintf(stderr, "error: %s cannot be imported; nothing was written\n", path);
        goto out;
    }
    rows = gw_enrol_import_rows(im);
    if (rows == 0) {
        fprintf(stderr, "error: %s holds no requests\n", path);
        goto out;
    }
    docs = calloc(rows, sizeof(*docs));
    if (!docs) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    util_iso8601(time(NULL), now);
    job.pg.total = rows;
    for (size_t i = 0; i < rows; i++) {
        json_t *request, *warnings, *doc;
        struct doc *d;

        if (gw_enrol_import_row(im, i, &request, &warnings) != 0 || gw_enrol_import_bad_rows(im) > 0) {
            /* Once a row is bad nothing will be written: check the rest, keep nothing. */
            json_decref(request);
            json_decref(warnings);
            free_docs(docs, ndocs);
            docs = NULL;
            ndocs = 0;
            progress_show(&job.pg, i + 1, 0);
            continue;
        }
        d = &docs[ndocs];
        if (gw_enrol_new_id(d->id) != 0) {
            json_decref(request);
            json_decref(warnings);
            progress_clear(&job.pg);
            fprintf(stderr, "error: no random numbers for request ids; nothing was written\n");
            goto out;
        }
        doc = gw_enrol_doc_new(d->id, now, by, warnings, request);
        d->text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (!d->text) {
            progress_clear(&job.pg);
            fprintf(stderr, "error: out of memory at row %zu; nothing was written\n", i + 1);
            goto out;
        }
        d->len = strlen(d->text);
        ndocs++;
        progress_show(&job.pg, i + 1, 0);
    }
    progress_show(&job.pg, rows, 1);
    if (job.warnings > WARN_SHOWN)
        fprintf(stderr, "warning: %zu more warnings not shown (each is stored with its request)\n",
                job.warnings - WARN_SHOWN);
    if (gw_enrol_import_bad_rows(im) > 0) {
        fprintf(stderr, "error: %zu of %zu rows are invalid (%zu problem%s); nothing was written\n",
                gw_enrol_import_bad_rows(im), rows, job.errors, job.errors == 1 ? "" : "s");
        goto out;
    }
    if (dry_run) {
        printf("%zu requests valid (%zu warnings) in %.1f s; dry run, nothing written\n", rows, job.warnings,
               now_s() - job.pg.t0);
        ret = GW_ADMIN_OK;
        goto out;
    }
    qd = calloc(ndocs, sizeof(*qd));
    if (!qd) {
        fprintf(stderr, "error: out of memory; nothing was written\n");
        goto out;
    }
    /* Scores a millisecond apart ending now: lists show the file's last row first, like newer filings. */
    now_ms = (int64_t)time(NULL) * 1000;
    for (size_t i = 0; i < ndocs; i++) {
        qd[i].id = docs[i].id;
        qd[i].val = docs[i].text;
        qd[i].vlen = docs[i].len;
        qd[i].score = now_ms - (int64_t)(ndocs - 1 - i);
        qd[i].rev = 1; /* a new document's (gw_enrol_import.c) */
    }
    if (q_sync_connect(&cfg->redis, &qs, why, sizeof(why)) != Q_OK) {
        fprintf(stderr, "error: redis: %s; nothing was written\n", why);
        goto out;
    }
    q_sync_events(qs, cfg->archive.enabled); /* as the daemon's scripts: the archive gets every request */
    fprintf(stderr, "writing %zu requests in one transaction...\n", ndocs);
    t_write = now_s();
    qe = q_sync_docs_put(qs, qd, ndocs);
    if (qe != Q_OK) {
        fprintf(stderr, "error: redis: %s; %s\n", q_strerror(qe),
                qe == Q_ERR_AGAIN ? "the connection was lost: the file was written entirely or not at all; "
                                    "list requests created_by \"import:FILE\" before importing it again"
                                  : "nothing was written");
        goto out;
    }
    printf("imported %zu requests from %s in %.1f s (checks %.1f s, write %.1f s)\n", ndocs, by + 7,
           now_s() - job.pg.t0, t_write - job.pg.t0, now_s() - t_write);
    ret = GW_ADMIN_OK;
out:
    progress_clear(&job.pg);
    q_sync_free(qs);
    free(qd);
    free_docs(docs, ndocs);
    gw_enrol_import_free(im);
    free(buf);
    return ret;
}
