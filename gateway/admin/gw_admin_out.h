/*
 * gw_admin_out.h - what simpki-admin shows a person: aligned tables of
 * UTF-8 text, and a progress bar on stderr.
 *
 * Width: Vietnamese in a terminal takes one column per character, not per
 * octet ("Tân Lập" is 7 columns, 9 octets).  A cell's width is its count of
 * code points, less combining marks (U+0300-U+036F and the other combining
 * blocks), which a decomposed "Lập" (a + U+0323 + U+0302) draws on the
 * letter before; wide East Asian characters are not expected and count one.
 *
 * Text from the daemon (names from the operator's files, the registry's
 * subjects) is hostile to a terminal: a cell is stored with C0/C1 control
 * characters, DEL and the bidirectional overrides (U+202A-U+202E,
 * U+2066-U+2069) replaced by '?', and octets that are not UTF-8 by '?'.
 */
#ifndef SIMPKI_GW_ADMIN_OUT_H
#define SIMPKI_GW_ADMIN_OUT_H

#include <stddef.h>
#include <stdio.h>

/* Columns that s (NUL-terminated UTF-8) takes, as above. */
size_t gw_admin_text_width(const char *s);

/*
 * 1 when buf[0..len) is valid UTF-8 (shortest forms, no surrogates, at most
 * U+10FFFF); else 0 and *bad the offset of the first octet that is not.
 */
int gw_admin_utf8_valid(const char *buf, size_t len, size_t *bad);

/* s made safe for a terminal as a table cell is; malloc'd, the caller frees; NULL on out of memory. */
char *gw_admin_text_safe(const char *s);

/* ---- tables ---------------------------------------------------------- */

struct gw_admin_table;

/*
 * A table of ncols columns with these headings (copied).  NULL on out of
 * memory.  Free with gw_admin_table_free (NULL does nothing).
 */
struct gw_admin_table *gw_admin_table_new(size_t ncols, const char *const *headings);
void gw_admin_table_free(struct gw_admin_table *t);

/*
 * Column col's cells are cut to max columns ("…" takes the last one); 0
 * (the default) never cuts.  right: numbers, aligned on the right.
 */
void gw_admin_table_column(struct gw_admin_table *t, size_t col, size_t max, int right);

/* Append a row of ncols cells (NULL = ""), sanitised copies.  -1 on out of memory. */
int gw_admin_table_add(struct gw_admin_table *t, const char *const *cells) __attribute__((warn_unused_result));

size_t gw_admin_table_rows(const struct gw_admin_table *t);

/*
 * Print the headings, a line of dashes under each, then the rows; columns
 * two spaces apart, padded to the widest cell, no space at a line's end.
 */
void gw_admin_table_print(const struct gw_admin_table *t, FILE *f);

/* ---- progress -------------------------------------------------------- */

/*
 * A bar on stderr, redrawn in place at most ten times a second when stderr
 * is a terminal; otherwise one line each time the share done passes a
 * tenth (0%, 10%, ... 100%), so a log or a CI run shows the progress
 * without a wall of carriage returns.  Zero it, then set what (a static
 * label: "matching", "running").
 */
struct gw_admin_progress {
    const char *what;
    int tty, drawn, started, decile;
    double last;
};

void gw_admin_progress_init(struct gw_admin_progress *pg, const char *what);

/* done of total (total 0: not known yet) and tail (NULL, or a short text after the figures). */
void gw_admin_progress_show(struct gw_admin_progress *pg, size_t done, size_t total, const char *tail);

/* Erase the bar (before other text goes to stderr, and at the end); the plain lines stay. */
void gw_admin_progress_clear(struct gw_admin_progress *pg);

#endif /* SIMPKI_GW_ADMIN_OUT_H */
