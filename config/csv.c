/*
 * csv.c - see csv.h.
 *
 * A quoted field's closing quote is found before anything of it is
 * written, so a quote never closed is known while the rest of the text is
 * still as it came, and framing can resume on the next line.
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

struct csv {
    char *buf;
    size_t len, pos, line, max;
    char **f;
    size_t nf, cap;
    const char *why;
};

struct csv *csv_new(char *buf, size_t len, size_t max_fields)
{
    struct csv *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->buf = buf;
    c->len = len;
    c->line = 1;
    c->max = max_fields;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3; /* spreadsheets write one so that they can read the file back as UTF-8 */
    return c;
}

void csv_free(struct csv *c)
{
    if (!c)
        return;
    free(c->f);
    free(c);
}

const char *csv_why(const struct csv *c)
{
    return c->why ? c->why : "";
}

int csv_blank(char *const *fields, size_t nf)
{
    for (size_t i = 0; i < nf; i++)
        if (fields[i][0])
            return 0;
    return 1;
}

static int push(struct csv *c, char *p)
{
    if (c->nf == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        char **n = realloc(c->f, cap * sizeof(*n));
        if (!n)
            return -1;
        c->f = n;
        c->cap = cap;
    }
    c->f[c->nf++] = p;
    return 0;
}

/* From pos to just after the next line end (CRLF, LF or CR), counting it. */
static void skip_line(struct csv *c)
{
    while (c->pos < c->len && c->buf[c->pos] != '\n' && c->buf[c->pos] != '\r')
        c->pos++;
    if (c->pos == c->len)
        return;
    if (c->buf[c->pos] == '\r' && c->pos + 1 < c->len && c->buf[c->pos + 1] == '\n')
        c->pos++;
    c->pos++;
    c->line++;
}

static enum csv_err bad(struct csv *c, enum csv_err e, const char *why)
{
    c->why = why;
    skip_line(c);
    return e;
}

/* The closing quote of the field whose opening quote is at q, or 0 when there is none. */
static size_t closing_quote(const struct csv *c, size_t q)
{
    size_t i = q + 1;

    for (;;) {
        const char *p = memchr(c->buf + i, '"', c->len - i);
        if (!p)
            return 0;
        i = (size_t)(p - c->buf);
        if (i + 1 < c->len && c->buf[i + 1] == '"') {
            i += 2;
            continue;
        }
        return i;
    }
}

/* Unquote the field at c->pos (its opening quote) up to close into w; 0, or -1 on a NUL. */
static int unquote(struct csv *c, size_t close, char **w)
{
    size_t i = c->pos + 1;
    char *o = *w;

    while (i < close) {
        char ch = c->buf[i];
        if (ch == '\0') {
            c->pos = i;
            return -1;
        }
        if (ch == '"')
            i++; /* the first of a doubled quote */
        else if (ch == '\n')
            c->line++;
        *o++ = ch;
        i++;
    }
    c->pos = close + 1;
    *w = o;
    return 0;
}

enum csv_err csv_next(struct csv *c, char ***fields, size_t *nf, size_t *line)
{
    char *w, *field;

    *fields = NULL;
    *nf = 0;
    c->nf = 0;
    if (c->pos >= c->len)
        return CSV_END;
    *line = c->line;
    w = field = c->buf + c->pos;
    if (push(c, w) != 0)
        return CSV_NOMEM;
    for (;;) {
        char ch;
        if (c->pos == c->len) {
            *w = '\0';
            break;
        }
        ch = c->buf[c->pos];
        if (ch == '"' && w == field) {
            size_t close = closing_quote(c, c->pos);
            if (close == 0)
                return bad(c, CSV_UNTERMINATED, "a quoted field is never closed");
            if (unquote(c, close, &w) != 0)
                return bad(c, CSV_BAD, "a NUL byte: not a text file");
            if (c->pos < c->len && c->buf[c->pos] != ',' && c->buf[c->pos] != '\n' && c->buf[c->pos] != '\r')
                return bad(c, CSV_BAD, "text after the closing quote of a field");
            continue;
        }
        c->pos++;
        if (ch == ',') {
            *w++ = '\0';
            if (c->max && c->nf == c->max) {
                c->pos--;
                return bad(c, CSV_BAD, "more fields than the file can have");
            }
            field = w;
            if (push(c, w) != 0)
                return CSV_NOMEM;
        } else if (ch == '\n' || ch == '\r') {
            *w = '\0';
            if (ch == '\r' && c->pos < c->len && c->buf[c->pos] == '\n')
                c->pos++;
            c->line++;
            break;
        } else if (ch == '"') {
            c->pos--;
            return bad(c, CSV_BAD, "a quote inside an unquoted field (quote the field and double the quote)");
        } else if (ch == '\0') {
            c->pos--;
            return bad(c, CSV_BAD, "a NUL byte: not a text file");
        } else {
            *w++ = ch;
        }
    }
    *fields = c->f;
    *nf = c->nf;
    return CSV_OK;
}
