/* gw_admin_out.c - tables and progress for simpki-admin; see gw_admin_out.h. */
#include "gw_admin_out.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/*
 * One code point at s[*i..len) into *cp, *i moved past it; at an octet that
 * is not UTF-8, '?' and one octet (*bad set): a terminal still gets a column for it.
 */
static void next_cp(const unsigned char *s, size_t len, size_t *i, uint32_t *cp, int *bad)
{
    *bad = util_utf8_next(s, len, i, cp) != 0;
    if (*bad) {
        *cp = '?';
        (*i)++;
    }
}

static int is_combining(uint32_t c)
{
    return (c >= 0x300 && c <= 0x36f) || (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) ||
           (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe20 && c <= 0xfe2f) || c == 0x200b || c == 0x200c || c == 0x200d ||
           c == 0xfeff;
}

/* What a terminal must not be handed: it could move the cursor, change colours or reverse the text. */
static int is_unsafe(uint32_t c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

int gw_admin_utf8_valid(const char *buf, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;
    uint32_t cp;

    while (i < len) {
        size_t at = i;
        /* ASCII runs are most of a CSV file: skip them without decoding. */
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if (util_utf8_next(s, len, &i, &cp) != 0) {
            *bad = at;
            return 0;
        }
    }
    return 1;
}

size_t gw_admin_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, w = 0;
    uint32_t cp;
    int bad;

    while (i < len) {
        next_cp(p, len, &i, &cp, &bad);
        if (bad || !is_combining(cp))
            w++;
    }
    return w;
}

/* s made safe for a terminal (see the header) and cut to max columns (0: never); malloc'd. */
static char *sanitise(const char *s, size_t max)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0, w = 0, total = gw_admin_text_width(s);
    char *out = malloc(len + 4);
    uint32_t cp;

    if (!out)
        return NULL;
    while (i < len) {
        size_t at = i;
        int comb, bad;
        next_cp(p, len, &i, &cp, &bad);
        comb = !bad && is_combining(cp);
        if (max && !comb && total > max && w == max - 1) {
            memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
            o += 3;
            break;
        }
        if (bad || is_unsafe(cp)) {
            out[o++] = '?';
        } else {
            memcpy(out + o, p + at, i - at);
            o += i - at;
        }
        w += !comb;
    }
    out[o] = '\0';
    return out;
}

char *gw_admin_text_safe(const char *s)
{
    return sanitise(s, 0);
}

struct col {
    size_t max, width;
    int right;
};

struct gw_admin_table {
    size_t ncols, nrows, cap;
    struct col *cols;
    char **cells; /* nrows + 1 rows of ncols (the first: headings) */
};

void gw_admin_table_free(struct gw_admin_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < (t->nrows + 1) * t->ncols && t->cells; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->cols);
    free(t);
}

/* Store one row (sanitised copies) after the last; -1 on out of memory. */
static int add_row(struct gw_admin_table *t, const char *const *cells, size_t at)
{
    if ((at + 1) * t->ncols > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
        char **nc = realloc(t->cells, cap * sizeof(*nc));
        if (!nc)
            return -1;
        t->cells = nc;
        t->cap = cap;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        char *s = sanitise(cells[c] ? cells[c] : "", at ? t->cols[c].max : 0);
        if (!s) {
            while (c--)
                free(t->cells[at * t->ncols + c]);
            return -1;
        }
        t->cells[at * t->ncols + c] = s;
    }
    return 0;
}

struct gw_admin_table *gw_admin_table_new(size_t ncols, const char *const *headings)
{
    struct gw_admin_table *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ncols = ncols;
    t->cols = calloc(ncols, sizeof(*t->cols));
    if (!t->cols || add_row(t, headings, 0) != 0) {
        gw_admin_table_free(t);
        return NULL;
    }
    return t;
}

void gw_admin_table_column(struct gw_admin_table *t, size_t col, size_t max, int right)
{
    if (col < t->ncols) {
        t->cols[col].max = max;
        t->cols[col].right = right;
    }
}

int gw_admin_table_add(struct gw_admin_table *t, const char *const *cells)
{
    if (add_row(t, cells, t->nrows + 1) != 0)
        return -1;
    t->nrows++;
    return 0;
}

size_t gw_admin_table_rows(const struct gw_admin_table *t)
{
    return t->nrows;
}

static void pad(FILE *f, size_t n, int c)
{
    while (n--)
        fputc(c, f);
}

void gw_admin_table_print(const struct gw_admin_table *t, FILE *f)
{
    size_t nc = t->ncols;

    for (size_t c = 0; c < nc; c++) {
        t->cols[c].width = 0;
        for (size_t r = 0; r <= t->nrows; r++) {
            size_t w = gw_admin_text_width(t->cells[r * nc + c]);
            if (w > t->cols[c].width)
                t->cols[c].width = w;
        }
    }
    for (size_t r = 0; r <= t->nrows; r++) {
        for (int dashes = 0; dashes <= (r == 0); dashes++) {
            /* Spaces are held back until text follows them, so no line ends in blanks. */
            size_t held = 0;
            for (size_t c = 0; c < nc; c++) {
                const char *s = dashes ? "" : t->cells[r * nc + c];
                size_t w = dashes ? t->cols[c].width : gw_admin_text_width(s), gap = t->cols[c].width - w;
                if (c)
                    held += 2;
                if (t->cols[c].right)
                    held += gap;
                if (w) {
                    pad(f, held, ' ');
                    held = 0;
                }
                if (dashes)
                    pad(f, w, '-');
                else
                    fputs(s, f);
                if (!t->cols[c].right)
                    held += gap;
            }
            fputc('\n', f);
        }
    }
}

/* ---- progress */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void gw_admin_progress_init(struct gw_admin_progress *pg, const char *what)
{
    memset(pg, 0, sizeof(*pg));
    pg->what = what;
    pg->tty = isatty(STDERR_FILENO);
    pg->decile = -1;
}

void gw_admin_progress_clear(struct gw_admin_progress *pg)
{
    if (pg->tty && pg->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        pg->drawn = 0;
    }
}

void gw_admin_progress_show(struct gw_admin_progress *pg, size_t done, size_t total, const char *tail)
{
    double t = now_s();
    size_t shown = total && done > total ? total : done;
    int pct = total ? (int)(shown * 100 / total) : 0;

    if (pg->tty) {
        char bar[31];
        size_t fill = total ? shown * 30 / total : 0;
        if (pg->started && t - pg->last < 0.1 && done != total)
            return;
        memset(bar, '#', fill);
        memset(bar + fill, '-', 30 - fill);
        bar[30] = '\0';
        if (total)
            fprintf(stderr, "\r\033[K%s [%s] %3d%% %zu/%zu%s%s", pg->what, bar, pct, done, total, tail ? "  " : "",
                    tail ? tail : "");
        else
            fprintf(stderr, "\r\033[K%s [%s] %zu/?%s%s", pg->what, bar, done, tail ? "  " : "", tail ? tail : "");
        fflush(stderr);
        pg->drawn = 1;
    } else if (total && pct / 10 > pg->decile) {
        pg->decile = pct / 10;
        fprintf(stderr, "%s: %d%% (%zu/%zu)%s%s\n", pg->what, pg->decile * 10, done, total, tail ? " " : "",
                tail ? tail : "");
    }
    pg->started = 1;
    pg->last = t;
}
