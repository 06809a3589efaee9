/*
 * csv.h - one RFC 4180 record at a time from a buffer: the framer every CSV
 * reader of simpki uses (spreadsheet exports: request lists, registry files,
 * merger inputs), so that quoting, line numbers and the refusals are the
 * same whatever the file.
 *
 * THE TEXT.  UTF-8 with or without a byte order mark (skipped), CRLF, LF or
 * a lone CR ending a record; fields separated by commas; a field may be
 * quoted ("..."), and then holds commas, line breaks (kept as written) and
 * doubled quotes ("" -> ").  Nothing is trimmed and no field is refused for
 * its content: what a field means is the caller's.
 *
 * LINES.  The physical lines of the file from 1 (a line break inside a
 * quoted field starts a new one), so a record's line is where it starts and
 * a reader can point a person at it in a text editor or a spreadsheet.
 *
 * REFUSALS.  A record that cannot be framed - a quote inside an unquoted
 * field, text after a closing quote, a NUL byte, more fields than the caller
 * allows - is CSV_BAD; a quote never closed is CSV_UNTERMINATED.  Either way
 * framing resumes at the start of the next line (after CSV_UNTERMINATED: the
 * line after the one the quote opened on), so one broken line does not hide
 * the problems of the others; a caller that would rather stop, stops.
 *
 * MEMORY.  Fields are unquoted in place (the text only ever shrinks), so
 * buf is written and must stay alive as long as the fields are used; it
 * needs room for len + 1 octets, buf[len] being where the last field of a
 * file without a final line end is terminated.  Linear in len: a quoted
 * field is scanned once for its closing quote and once to unquote it.
 */
#ifndef SIMPKI_CSV_H
#define SIMPKI_CSV_H

#include <stddef.h>

enum csv_err {
    CSV_OK = 0,           /* a record: *fields, *nf */
    CSV_END = 1,          /* no more records */
    CSV_BAD = 2,          /* a record that cannot be framed (csv_why says why); skipped */
    CSV_UNTERMINATED = 3, /* a quoted field is never closed; framing resumes on the next line */
    CSV_NOMEM = 4,        /* out of memory; the reader cannot go on */
};

struct csv;

/*
 * A reader over buf[0..len) (see MEMORY), at most max_fields fields a record
 * (0: no limit).  buf is borrowed.  NULL on out of memory.
 */
struct csv *csv_new(char *buf, size_t len, size_t max_fields);
void csv_free(struct csv *c); /* NULL does nothing */

/*
 * The next record.  On CSV_OK *fields is an array of *nf NUL-terminated
 * fields (at least one: a blank line is one empty field), owned by the
 * reader and valid until the next call; the fields point into buf.  *line is
 * where the record starts, for every result but CSV_END and CSV_NOMEM.
 */
enum csv_err csv_next(struct csv *c, char ***fields, size_t *nf, size_t *line) __attribute__((warn_unused_result));

/* Why the last CSV_BAD or CSV_UNTERMINATED: a fixed English sentence that never quotes the text. */
const char *csv_why(const struct csv *c);

/* 1 when every field of a record is empty (a blank line, or a row of commas). */
int csv_blank(char *const *fields, size_t nf);

#endif /* SIMPKI_CSV_H */
