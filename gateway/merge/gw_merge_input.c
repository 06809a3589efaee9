/*
 * gw_merge_input.c - see gw_merge_input.h.
 *
 * Both forms of a file end in the same place: a row of cells, one per
 * column of the file's table (NULL when the file has no such column), each
 * a NUL-terminated string the input owns and may rewrite in place (trimmed,
 * a date or serial normalised).  A CSV file is copied once and framed in
 * place by config/csv; JSON strings are copied into the arena.  Row strings
 * point into those, so a 100,000-row list costs two copies of its text.
 * Duplicates, splits and seats are found with hash tables as rows arrive.
 *
 * Past 1,000 lines on purpose: what is left is one job, reading the two
 * files (framing, the column tables of both, cell checks, findings); the
 * name keys went to gw_merge_name.c, and splitting the reorganisation from
 * the staff list would put their shared row and finding code in a third.
 */
#include "gw_merge_input.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "util.h"

#define CELL_MAX    512u /* octets; no name or code is longer */
#define COLS_MAX    16   /* columns of the larger table */
#define KEY_MAX     64   /* an ASCII column key */
#define ARENA_BLOCK (64u * 1024u)

/* ---- storage -------------------------------------------------------------- */

/* Blocks of text that live as long as the input; never freed one by one. */
struct arena {
    struct block {
        struct block *next;
        size_t used, cap;
        char data[];
    } * head;
};

static char *arena_alloc(struct arena *a, size_t n)
{
    struct block *b = a->head;

    if (!b || b->cap - b->used < n) {
        size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    b->used += n;
    return b->data + b->used - n;
}

static char *arena_dup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static void arena_free(struct arena *a)
{
    while (a->head) {
        struct block *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/* String -> row index, open addressing; keys are borrowed. */
struct map {
    struct slot {
        const char *key;
        uint32_t hash, val;
    } * s;
    size_t cap, n;
};

static void map_free(struct map *m);

/* Room for n keys without growing: a list of 100,000 people is sized once, not rehashed 10 times. */
static int map_reserve(struct map *m, size_t n)
{
    size_t cap = 256;

    while (cap < 2 * n + 2)
        cap *= 2;
    if (m->cap >= cap)
        return 0;
    map_free(m);
    m->s = calloc(cap, sizeof(*m->s));
    if (!m->s)
        return -1;
    m->cap = cap;
    return 0;
}

/* 1 and *val when key is there; else 0 after adding key -> val; -1 on out of memory. */
static int map_get_put(struct map *m, const char *key, uint32_t val, uint32_t *found)
{
    uint32_t h = util_fnv1a(key);
    size_t i;

    /* FNV's low bits, the ones masked below, mix poorly: keys that differ only at the end (serial
     * numbers, CCCDs) would cluster.  MurmurHash3's finaliser spreads every bit over all of them. */
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;

    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        struct slot *s = calloc(cap, sizeof(*s));
        if (!s)
            return -1;
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->s[j].key)
                continue;
            for (i = m->s[j].hash & (cap - 1); s[i].key; i = (i + 1) & (cap - 1))
                ;
            s[i] = m->s[j];
        }
        free(m->s);
        m->s = s;
        m->cap = cap;
    }
    for (i = h & (m->cap - 1); m->s[i].key; i = (i + 1) & (m->cap - 1)) {
        if (m->s[i].hash == h && strcmp(m->s[i].key, key) == 0) {
            *found = m->s[i].val;
            return 1;
        }
    }
    m->s[i].key = key;
    m->s[i].hash = h;
    m->s[i].val = val;
    m->n++;
    return 0;
}

static void map_free(struct map *m)
{
    free(m->s);
    memset(m, 0, sizeof(*m));
}

/* ---- the two tables --------------------------------------------------------- */

enum kind { K_TEXT, K_BOOL, K_DATE, K_CCCD, K_SERIAL, K_TAX, K_BUDGET };

struct coldef {
    const char *en, *vi;
    enum kind kind;
    int required; /* the column must be there and its cells must not be empty (a boolean's too) */
    size_t off;   /* of the const char * or int in the row */
};

#define RO(f) offsetof(struct gw_reorg_row, f)
#define SO(f) offsetof(struct gw_staff_row, f)

static const struct coldef reorg_cols[] = {
    {"old_unit", "Đơn vị cũ", K_TEXT, 1, RO(old_unit)},
    {"new_unit", "Đơn vị mới", K_TEXT, 1, RO(new_unit)},
    {"new_parent", "Cơ quan chủ quản mới", K_TEXT, 0, RO(new_parent)},
    {"locality", "Địa bàn", K_TEXT, 0, RO(locality)},
    {"province", "Tỉnh", K_TEXT, 1, RO(province)},
    {"old_parent", "Cơ quan quản lý cũ", K_TEXT, 0, RO(old_parent)},
    {"seat", "Giữ chứng thư tổ chức", K_BOOL, 0, RO(seat)},
    {"tax_code", "Mã số thuế", K_TAX, 0, RO(tax_code)},
    {"budget_code", "Mã quan hệ ngân sách", K_BUDGET, 0, RO(budget_code)},
    {"basis", "Căn cứ", K_TEXT, 1, RO(basis)},
    {"basis_date", "Ngày ban hành", K_DATE, 1, RO(basis_date)},
    {"effective", "Ngày hiệu lực", K_DATE, 1, RO(effective)},
    {"source", "Nguồn", K_TEXT, 0, RO(source)},
};

static const struct coldef staff_cols[] = {
    {"id_number", "Số CCCD", K_CCCD, 0, SO(id_number)},
    {"cert_serial", "Số hiệu chứng thư", K_SERIAL, 0, SO(cert_serial)},
    {"full_name", "Họ và tên", K_TEXT, 1, SO(full_name)},
    {"old_unit", "Đơn vị cũ", K_TEXT, 1, SO(old_unit)},
    {"new_unit", "Đơn vị mới", K_TEXT, 0, SO(new_unit)},
    {"new_post", "Chức vụ mới", K_TEXT, 0, SO(new_post)},
    {"leader", "Lãnh đạo", K_BOOL, 1, SO(leader)},
    {"state_sector", "Khu vực nhà nước", K_BOOL, 1, SO(state_sector)},
    {"keeps_device", "Giữ thiết bị", K_BOOL, 0, SO(keeps_device)},
};
enum { S_ID, S_SERIAL };

/* ---- the input ---------------------------------------------------------------- */

struct finding {
    struct gw_merge_finding f;
    char msg[200];
};

struct table {
    unsigned char *rows; /* rowsize each */
    size_t n, cap;
    int read, errors;
};

struct gw_merge_input {
    struct arena arena;
    char *texts[2]; /* the CSV copies the rows point into */
    struct table reorg, staff;
    struct finding findings[GW_MERGE_MAX_FINDINGS];
    size_t nfindings, more;
    int errors;
};

/* What reading one file needs. */
struct file {
    struct gw_merge_input *in;
    const char *name; /* "reorg" or "staff" */
    const struct coldef *cols;
    size_t ncols, rowsize;
    struct table *t;
    struct map m1, m2, m3;                  /* reorg: pair, old -> new, new -> seat; staff: CCCD, serial */
    unsigned char *split_told, *seat_clash; /* reorg, by row: SPLIT said for this old unit, SEAT clash */
    const char **newkey;                    /* reorg: each row's new unit key */
    int nomem;
};

const char *gw_merge_strerror(enum gw_merge_err err)
{
    switch (err) {
    case GW_MERGE_OK: return "ok";
    case GW_MERGE_ERR_NOMEM: return "out of memory";
    case GW_MERGE_ERR_INVALID: return "the file has errors";
    }
    return "unknown error";
}

struct gw_merge_input *gw_merge_input_new(void)
{
    return calloc(1, sizeof(struct gw_merge_input));
}

void gw_merge_input_free(struct gw_merge_input *in)
{
    if (!in)
        return;
    arena_free(&in->arena);
    free(in->texts[0]);
    free(in->texts[1]);
    free(in->reorg.rows);
    free(in->staff.rows);
    free(in);
}

static void finding(struct file *fl, unsigned line, const char *column, const char *code, int warning, const char *fmt,
                    ...) __attribute__((format(printf, 6, 7)));

static void finding(struct file *fl, unsigned line, const char *column, const char *code, int warning, const char *fmt,
                    ...)
{
    struct gw_merge_input *in = fl->in;
    struct finding *f;
    va_list ap;

    if (!warning) {
        in->errors = 1;
        fl->t->errors++;
    }
    if (in->nfindings == GW_MERGE_MAX_FINDINGS) {
        in->more++;
        return;
    }
    f = &in->findings[in->nfindings++];
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
    f->f.file = fl->name;
    f->f.line = line;
    f->f.column = column ? column : "";
    f->f.code = code;
    f->f.message = f->msg;
    f->f.warning = warning;
}

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* 1, 0, or -1 when the text is not a boolean. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"1", "yes", "true", "co", "x"};
    static const char *const no[] = {"", "0", "no", "false", "khong"};
    char k[16];

    if (strlen(s) >= sizeof(k) * 2)
        return -1;
    gw_merge_name_ascii_key(s, k, sizeof(k));
    if (!k[0] && s[0])
        return -1; /* punctuation only: not an empty cell */
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(k, yes[i]) == 0)
            return 1;
        if (strcmp(k, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* YYYY-MM-DD or D/M/YYYY (one or two digits) -> y, m, d of a real day; -1 otherwise. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t n = strlen(s);
    const char *s1, *s2;

    if (n == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4) && digits(s + 5, 2) && digits(s + 8, 2)) {
        *y = num(s, 4);
        *m = num(s + 5, 2);
        *d = num(s + 8, 2);
    } else {
        s1 = strchr(s, '/');
        s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (!s1 || !s2 || s1 - s < 1 || s1 - s > 2 || s2 - s1 < 2 || s2 - s1 > 3 || strlen(s2 + 1) != 4 ||
            !digits(s, (size_t)(s1 - s)) || !digits(s1 + 1, (size_t)(s2 - s1 - 1)) || !digits(s2 + 1, 4))
            return -1;
        *d = num(s, (size_t)(s1 - s));
        *m = num(s1 + 1, (size_t)(s2 - s1 - 1));
        *y = num(s2 + 1, 4);
    }
    if (*y < 1900 || *y > 2199 || *m < 1 || *m > 12 || *d < 1)
        return -1;
    return *d <= mdays[*m - 1] + (*m == 2 && ((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0)) ? 0 : -1;
}

/* "YYYY-MM-DD" and a NUL into v (11 octets). */
static void put_date(char *v, int y, int m, int d)
{
    const int parts[3][2] = {{y, 4}, {m, 2}, {d, 2}};
    size_t o = 0;

    for (int p = 0; p < 3; p++) {
        for (int k = parts[p][1]; k-- > 0;) {
            int div = k == 3 ? 1000 : k == 2 ? 100 : k == 1 ? 10 : 1;
            v[o++] = (char)('0' + parts[p][0] / div % 10);
        }
        v[o++] = p < 2 ? '-' : '\0';
    }
}

/* Hex with optional colons -> upper case without colons or leading zeros, in place; -1 if not a serial. */
static int norm_serial(char *s)
{
    size_t o = 0;

    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == ':')
            continue;
        if (c >= 'a' && c <= 'f')
            c = (char)(c - 32);
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            return -1;
        if (c == '0' && o == 0)
            continue;
        s[o++] = c;
    }
    s[o] = '\0';
    return o >= 1 && o <= 40 ? 0 : -1; /* RFC 5280: a positive serial of at most 20 octets */
}

/*
 * One cell: trimmed, checked and normalised for its column; *out is what
 * the row keeps.  0, or -1 after a finding.
 */
static int take_cell(struct file *fl, const struct coldef *c, char *v, unsigned line, const char **out, int *flag)
{
    size_t n = strlen(v);
    const char *col = c->en;

    *out = "";
    if (n > CELL_MAX) {
        finding(fl, line, col, "TOO_LARGE", 0, "longer than %u octets", CELL_MAX);
        return -1;
    }
    while (*v == ' ') {
        v++;
        n--;
    }
    while (n && strchr(" \t\r\n", v[n - 1]))
        v[--n] = '\0';
    if (n && strchr("=+-@\t\r", v[0])) {
        finding(fl, line, col, "FORMULA", 0,
                "starts with = + - @, a tab or a carriage return: a spreadsheet formula is never taken as data");
        return -1;
    }
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        if ((unsigned char)v[i] < 0x80) {
            i++;
            continue;
        }
        if (util_utf8_next((const unsigned char *)v, n, &i, &cp) != 0) {
            finding(fl, line, col, "INVALID", 0, "not UTF-8 text (save the file as UTF-8)");
            return -1;
        }
    }
    switch (c->kind) {
    case K_TEXT: break;
    case K_BOOL:
        if (!n && c->required) {
            /* leader and state_sector decide revocations (P3/P4): an empty cell is not taken as "no". */
            finding(fl, line, col, "MISSING", 0, "required, and empty: write 1 or 0 (có or không)");
            return -1;
        }
        *flag = parse_bool(v);
        if (*flag < 0) {
            *flag = 0;
            finding(fl, line, col, "INVALID", 0, "not a yes/no value (1/0, yes/no, true/false, có/không, x/empty)");
            return -1;
        }
        return 0;
    case K_DATE:
        if (n) {
            int y, m, d;
            if (parse_date(v, &y, &m, &d) != 0) {
                finding(fl, line, col, "INVALID", 0, "not a date (YYYY-MM-DD or DD/MM/YYYY)");
                return -1;
            }
            if (n < 10)
                v = arena_alloc(&fl->in->arena, 11); /* D/M/YYYY is shorter than what it becomes */
            if (!v) {
                fl->nomem = 1;
                return -1;
            }
            put_date(v, y, m, d);
        }
        break;
    case K_CCCD:
        if (n && (n != 12 || !digits(v, n))) {
            finding(fl, line, col, "INVALID", 0,
                    "a CCCD has 12 digits (a spreadsheet drops a leading 0 from a number: format the column as text)");
            return -1;
        }
        break;
    case K_SERIAL:
        if (n && norm_serial(v) != 0) {
            finding(fl, line, col, "INVALID", 0, "not a certificate serial (1 to 40 hex digits, colons allowed)");
            return -1;
        }
        break;
    case K_TAX:
        if (n && !((n == 10 && digits(v, 10)) || (n == 14 && digits(v, 10) && v[10] == '-' && digits(v + 11, 3)))) {
            finding(fl, line, col, "INVALID", 0, "a tax code has 10 digits, or 10-3 for a branch");
            return -1;
        }
        break;
    case K_BUDGET:
        if (n && (n != 7 || !digits(v, 7))) {
            finding(fl, line, col, "INVALID", 0, "a budget relation code has 7 digits");
            return -1;
        }
        break;
    }
    if (!v[0] && c->required) {
        finding(fl, line, col, "MISSING", 0, "required, and empty");
        return -1;
    }
    *out = v;
    return 0;
}

/*
 * Rows and hash tables sized for about n rows at once (the file's line
 * count for CSV, its array size for JSON): growing by doubling would touch
 * twice the memory, and fresh pages are most of what a large list costs.
 */
static void reserve(struct file *fl, size_t n)
{
    struct table *t = fl->t;

    if (n > GW_MERGE_MAX_ROWS)
        n = GW_MERGE_MAX_ROWS;
    if (n > t->cap) {
        unsigned char *r = realloc(t->rows, n * fl->rowsize);
        if (!r)
            return; /* new_row will grow it as it goes */
        t->rows = r;
        t->cap = n;
    }
    if (fl->t == &fl->in->staff && (map_reserve(&fl->m1, n) != 0 || map_reserve(&fl->m2, n) != 0))
        fl->nomem = 1;
}

static unsigned char *new_row(struct file *fl)
{
    struct table *t = fl->t;
    unsigned char *r;

    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        unsigned char *n = realloc(t->rows, cap * fl->rowsize);
        if (!n)
            return NULL;
        t->rows = n;
        t->cap = cap;
    }
    r = t->rows + t->n++ * fl->rowsize;
    memset(r, 0, fl->rowsize);
    return r;
}

static const char *name_key(struct file *fl, const char *name)
{
    char buf[CELL_MAX + 1];
    const char *k;

    gw_merge_name_key(name, buf, sizeof(buf));
    k = arena_dup(&fl->in->arena, buf, strlen(buf));
    if (!k)
        fl->nomem = 1;
    return k;
}

/* One more reorganisation row: the same pair twice, splits, seats. */
static void reorg_checks(struct file *fl, const struct gw_reorg_row *r, uint32_t idx)
{
    const struct gw_reorg_row *rows = (const struct gw_reorg_row *)fl->t->rows;
    const char *ko = name_key(fl, r->old_unit), *kn = name_key(fl, r->new_unit), *pair;
    char buf[2 * CELL_MAX + 2];
    uint32_t at;
    int rc;

    if (!ko || !kn)
        return;
    fl->newkey[idx] = kn;
    snprintf(buf, sizeof(buf), "%s\n%s", ko, kn);
    pair = arena_dup(&fl->in->arena, buf, strlen(buf));
    if (!pair || (rc = map_get_put(&fl->m1, pair, idx, &at)) < 0)
        goto nomem;
    if (rc == 1) {
        finding(fl, r->line, "old_unit", "DUPLICATE", 0, "the same old unit -> new unit as line %u", rows[at].line);
        return;
    }
    if ((rc = map_get_put(&fl->m2, ko, idx, &at)) < 0)
        goto nomem;
    if (rc == 1 && strcmp(fl->newkey[at], kn) != 0 && !fl->split_told[at]) {
        fl->split_told[at] = 1;
        finding(fl, r->line, "old_unit", "SPLIT", 1,
                "this old unit also goes to another new unit (line %u): a split; its organisation certificate "
                "needs a decision",
                rows[at].line);
    }
    if (!r->seat)
        return;
    if ((rc = map_get_put(&fl->m3, kn, idx, &at)) < 0)
        goto nomem;
    if (rc == 1) {
        fl->seat_clash[at] = 1;
        finding(fl, r->line, "seat", "SEAT", 1, "a second seat for this new unit (the first on line %u): none is taken",
                rows[at].line);
    }
    return;
nomem:
    fl->nomem = 1;
}

static void staff_checks(struct file *fl, const struct gw_staff_row *r, uint32_t idx)
{
    const struct gw_staff_row *rows = (const struct gw_staff_row *)fl->t->rows;
    uint32_t at;
    int rc;

    if (!r->id_number[0] && !r->cert_serial[0]) {
        finding(fl, r->line, "id_number", "MISSING", 0, "give the CCCD or the certificate serial");
        return;
    }
    if (r->id_number[0]) {
        rc = map_get_put(&fl->m1, r->id_number, idx, &at);
        if (rc < 0)
            goto nomem;
        if (rc == 1) {
            finding(fl, r->line, "id_number", "DUPLICATE", 0, "the same CCCD as line %u", rows[at].line);
            return;
        }
    }
    if (r->cert_serial[0]) {
        rc = map_get_put(&fl->m2, r->cert_serial, idx, &at);
        if (rc < 0)
            goto nomem;
        if (rc == 1)
            finding(fl, r->line, "cert_serial", "DUPLICATE", 0, "the same certificate serial as line %u",
                    rows[at].line);
    }
    return;
nomem:
    fl->nomem = 1;
}

/*
 * One record as cells by column (NULL: not in the file) -> a row.  A row
 * with an error is kept all the same, so that a later duplicate of it is
 * still found; the file is dropped as a whole at the end.
 */
static void take_row(struct file *fl, char **cells, unsigned line)
{
    unsigned char *row;
    int bad = 0;

    row = new_row(fl);
    if (!row) {
        fl->nomem = 1;
        return;
    }
    for (size_t i = 0; i < fl->ncols; i++) {
        const struct coldef *c = &fl->cols[i];
        const char *v = "";
        int flag = 0;
        if (take_cell(fl, c, cells[i] ? cells[i] : (char *)"", line, &v, &flag) != 0) {
            bad = 1;
            if (fl->nomem)
                return;
        }
        if (c->kind == K_BOOL)
            *(int *)(void *)(row + c->off) = flag;
        else
            *(const char **)(void *)(row + c->off) = v;
    }
    if (fl->t == &fl->in->reorg) {
        struct gw_reorg_row *r = (struct gw_reorg_row *)(void *)row;
        r->line = line;
        if (!bad)
            reorg_checks(fl, r, (uint32_t)(fl->t->n - 1));
    } else {
        struct gw_staff_row *r = (struct gw_staff_row *)(void *)row;
        r->line = line;
        if (!bad)
            staff_checks(fl, r, (uint32_t)(fl->t->n - 1));
    }
}

static int too_many(struct file *fl, unsigned line)
{
    if (fl->t->n < GW_MERGE_MAX_ROWS)
        return 0;
    finding(fl, line, "", "TOO_LARGE", 0, "more than %u rows; split the file", GW_MERGE_MAX_ROWS);
    return 1;
}

#define ROW_NUMBER (-2) /* column_of: a row-number column, read past */

/*
 * A spreadsheet's row-number column: STT (số thứ tự), TT, Số TT, Số thứ
 * tự, No, No., #.  Almost every Vietnamese list starts with one; it carries
 * nothing the review needs, so it is read past rather than refused.
 */
static int row_number_column(const char *name, const char *key)
{
    static const char *const keys[] = {"stt", "tt", "sott", "sothutu", "no"};
    size_t n = strlen(name);

    while (n && name[n - 1] == ' ')
        n--;
    while (n && *name == ' ') {
        name++;
        n--;
    }
    if (n == 1 && name[0] == '#')
        return 1;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* The column of the file's table a header cell or JSON key names, ROW_NUMBER, or -1. */
static int column_of(const struct file *fl, const char *name)
{
    char k[KEY_MAX], kc[KEY_MAX];

    if (strlen(name) > CELL_MAX)
        return -1;
    gw_merge_name_ascii_key(name, k, sizeof(k));
    if (row_number_column(name, k))
        return ROW_NUMBER;
    if (!k[0])
        return -1;
    for (size_t i = 0; i < fl->ncols; i++) {
        gw_merge_name_ascii_key(fl->cols[i].en, kc, sizeof(kc));
        if (strcmp(k, kc) == 0)
            return (int)i;
        gw_merge_name_ascii_key(fl->cols[i].vi, kc, sizeof(kc));
        if (strcmp(k, kc) == 0)
            return (int)i;
    }
    return -1;
}

/* The required columns a header (have[]) lacks; 0 when it lacks none. */
static int check_required(struct file *fl, const int *have, unsigned line)
{
    int bad = 0;

    for (size_t i = 0; i < fl->ncols; i++) {
        if (fl->cols[i].required && !have[i]) {
            finding(fl, line, fl->cols[i].en, "HEADER", 0, "a required column is missing (%s, \"%s\")", fl->cols[i].en,
                    fl->cols[i].vi);
            bad = 1;
        }
    }
    if (fl->cols == staff_cols && !have[S_ID] && !have[S_SERIAL]) {
        finding(fl, line, "id_number", "HEADER", 0, "the list needs id_number (Số CCCD) or cert_serial");
        bad = 1;
    }
    return bad;
}

/* ---- CSV ------------------------------------------------------------------------ */

static void read_csv(struct file *fl, char *text, size_t len)
{
    struct csv *c = csv_new(text, len, COLS_MAX * 4);
    int map[COLS_MAX * 4], have[COLS_MAX] = {0}, bad = 0, content;
    char **f, *cells[COLS_MAX];
    size_t nf, ncols, line = 1;
    enum csv_err e;

    if (!c) {
        fl->nomem = 1;
        return;
    }
    do
        e = csv_next(c, &f, &nf, &line);
    while (e == CSV_OK && csv_blank(f, nf));
    if (e == CSV_NOMEM) {
        fl->nomem = 1;
        goto out;
    }
    if (e != CSV_OK) {
        if (e == CSV_END)
            finding(fl, 0, "", "HEADER", 0, "the file is empty: the first row names the columns");
        else
            finding(fl, (unsigned)line, "", "FRAMING", 0, "the header row: %s", csv_why(c));
        goto out;
    }
    ncols = nf;
    for (size_t i = 0; i < nf; i++) {
        int k = column_of(fl, f[i]);
        map[i] = k;
        if (k == ROW_NUMBER)
            continue;
        if (k < 0) {
            finding(fl, (unsigned)line, "", "HEADER", 0, "column %zu is not a column of this file", i + 1);
            bad = 1;
        } else if (have[k]) {
            finding(fl, (unsigned)line, fl->cols[k].en, "HEADER", 0, "column %zu repeats column %d", i + 1, have[k]);
            bad = 1;
        } else {
            have[k] = (int)i + 1;
        }
    }
    if (check_required(fl, have, (unsigned)line) || bad)
        goto out;
    for (;;) {
        e = csv_next(c, &f, &nf, &line);
        if (e == CSV_END)
            break;
        if (e == CSV_NOMEM) {
            fl->nomem = 1;
            break;
        }
        if (e != CSV_OK) {
            finding(fl, (unsigned)line, "", "FRAMING", 0, "%s", csv_why(c));
            continue;
        }
        if (csv_blank(f, nf))
            continue;
        if (too_many(fl, (unsigned)line))
            break;
        if (nf != ncols) {
            finding(fl, (unsigned)line, "", "FRAMING", 0, "%zu fields, the header has %zu", nf, ncols);
            continue;
        }
        memset(cells, 0, sizeof(cells));
        content = 0;
        for (size_t i = 0; i < nf; i++) {
            if (map[i] >= 0) {
                cells[map[i]] = f[i];
                content |= f[i][0] != '\0';
            }
        }
        if (!content)
            continue; /* only a row number (a list numbered in advance): a blank row */
        take_row(fl, cells, (unsigned)line);
        if (fl->nomem)
            break;
    }
out:
    csv_free(c);
}

/* ---- JSON ----------------------------------------------------------------------- */

/*
 * The line each element of the top-level array starts on (jansson keeps no
 * positions).  The text has already parsed, so strings and nesting are all
 * this needs to follow.
 */
static void element_lines(const char *s, size_t len, unsigned line, unsigned *lines, size_t n)
{
    int depth = 0, in_str = 0, want = 0;
    size_t k = 0;

    for (size_t i = 0; i < len && k < n; i++) {
        char ch = s[i];
        if (ch == '\n')
            line++;
        if (in_str) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_str = 0;
            continue;
        }
        if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
            continue;
        if (want && depth == 1 && ch != ']') {
            lines[k++] = line;
            want = 0;
        }
        if (ch == '"')
            in_str = 1;
        else if (ch == '[' || ch == '{')
            want = ++depth == 1;
        else if (ch == ']' || ch == '}')
            depth--;
        else if (ch == ',' && depth == 1)
            want = 1;
    }
    while (k < n)
        lines[k++] = line;
}

/* A JSON value as cell text in the arena; NULL and a finding when it cannot be one. */
static char *json_cell(struct file *fl, const struct coldef *c, json_t *v, unsigned line)
{
    if (json_is_string(v))
        return arena_dup(&fl->in->arena, json_string_value(v), json_string_length(v));
    if (json_is_null(v))
        return arena_dup(&fl->in->arena, "", 0);
    if (c->kind == K_BOOL && json_is_boolean(v))
        return arena_dup(&fl->in->arena, json_is_true(v) ? "1" : "0", 1);
    if (c->kind == K_BOOL && json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
        return arena_dup(&fl->in->arena, json_integer_value(v) ? "1" : "0", 1);
    finding(fl, line, c->en, "INVALID", 0, "must be %s",
            c->kind == K_BOOL ? "true or false" : "a string (a JSON number loses leading zeros)");
    return NULL;
}

/* text starts on line first (blank lines before the '[' are not handed to jansson). */
static void read_json(struct file *fl, const char *text, size_t len, unsigned first)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr), *obj;
    unsigned *lines = NULL;
    size_t i;

    if (!root) {
        finding(fl, jerr.line > 0 ? (unsigned)jerr.line + first - 1 : 0, "", "FRAMING", 0, "not JSON: %s", jerr.text);
        return;
    }
    if (!json_is_array(root)) {
        finding(fl, first, "", "FRAMING", 0, "a JSON file is an array of objects, one per row");
        goto out;
    }
    lines = calloc(json_array_size(root) + 1, sizeof(*lines));
    if (!lines) {
        fl->nomem = 1;
        goto out;
    }
    element_lines(text, len, first, lines, json_array_size(root));
    reserve(fl, json_array_size(root));
    json_array_foreach(root, i, obj)
    {
        char *cells[COLS_MAX] = {NULL};
        int have[COLS_MAX] = {0}, bad = 0;
        const char *key;
        json_t *v;

        if (too_many(fl, lines[i]))
            break;
        if (!json_is_object(obj)) {
            finding(fl, lines[i], "", "FRAMING", 0, "element %zu is not an object", i + 1);
            continue;
        }
        json_object_foreach(obj, key, v)
        {
            int k = column_of(fl, key);
            if (k == ROW_NUMBER)
                continue;
            if (k < 0) {
                finding(fl, lines[i], "", "HEADER", 0, "a member that is not a column of this file");
                bad = 1;
            } else if (have[k]) {
                finding(fl, lines[i], fl->cols[k].en, "HEADER", 0, "the same column twice");
                bad = 1;
            } else {
                have[k] = 1;
                cells[k] = json_cell(fl, &fl->cols[k], v, lines[i]);
                if (!cells[k])
                    bad = 1;
            }
        }
        for (size_t c = 0; c < fl->ncols; c++) {
            if (fl->cols[c].required && !have[c]) {
                finding(fl, lines[i], fl->cols[c].en, "MISSING", 0, "required, and not in this object");
                bad = 1;
            }
        }
        if (bad)
            continue;
        take_row(fl, cells, lines[i]);
        if (fl->nomem)
            break;
    }
out:
    free(lines);
    json_decref(root);
}

/* ---- one file ---------------------------------------------------------------------- */

static size_t count_lines(const char *text, size_t len)
{
    size_t lines = 1;
    const char *q = memchr(text, '\n', len);

    while (q) {
        lines++;
        q = memchr(q + 1, '\n', len - (size_t)(q + 1 - text));
    }
    return lines;
}

static enum gw_merge_err read_file(struct gw_merge_input *in, int which, const char *buf, size_t len)
{
    struct file fl = {.in = in};
    const char *p = buf, *end = buf + len;
    enum gw_merge_err ret;

    fl.t = which == 0 ? &in->reorg : &in->staff;
    if (fl.t->read)
        return GW_MERGE_ERR_INVALID; /* each file once */
    fl.t->read = 1;
    fl.name = which == 0 ? "reorg" : "staff";
    fl.cols = which == 0 ? reorg_cols : staff_cols;
    fl.ncols = which == 0 ? sizeof(reorg_cols) / sizeof(reorg_cols[0]) : sizeof(staff_cols) / sizeof(staff_cols[0]);
    fl.rowsize = which == 0 ? sizeof(struct gw_reorg_row) : sizeof(struct gw_staff_row);

    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (p < end && *p && strchr(" \t\r\n", *p))
        p++;
    if (which == 0) {
        /* By row: a row takes at least two octets (a character and a line end or comma). */
        size_t cap = GW_MERGE_MAX_ROWS + 1;
        if (len / 2 + 2 < cap)
            cap = len / 2 + 2;
        fl.newkey = calloc(cap, sizeof(*fl.newkey));
        fl.split_told = calloc(cap, 1);
        fl.seat_clash = calloc(cap, 1);
        if (!fl.newkey || !fl.split_told || !fl.seat_clash) {
            fl.nomem = 1;
            goto done;
        }
    }
    if (p < end && *p == '[') {
        read_json(&fl, p, (size_t)(end - p), (unsigned)count_lines(buf, (size_t)(p - buf)));
    } else {
        char *text = malloc(len + 1);
        if (!text) {
            fl.nomem = 1;
            goto done;
        }
        memcpy(text, buf, len);
        in->texts[which] = text;
        reserve(&fl, count_lines(text, len));
        read_csv(&fl, text, len);
    }
    if (which == 0 && !fl.nomem) {
        /* Two seats for one new unit: neither is taken. */
        struct gw_reorg_row *rows = (struct gw_reorg_row *)(void *)in->reorg.rows;
        for (size_t i = 0; i < in->reorg.n; i++) {
            uint32_t first;
            /* Every seat row is in m3 (the first of its unit) or clashed with the one that is. */
            if (rows[i].seat && fl.newkey[i] && map_get_put(&fl.m3, fl.newkey[i], (uint32_t)i, &first) == 1 &&
                fl.seat_clash[first])
                rows[i].seat = 0;
        }
    }
done:
    if (fl.nomem) {
        ret = GW_MERGE_ERR_NOMEM;
        fl.t->n = 0;
    } else if (fl.t->errors) {
        ret = GW_MERGE_ERR_INVALID;
        fl.t->n = 0; /* all or nothing */
    } else {
        ret = GW_MERGE_OK;
    }
    map_free(&fl.m1);
    map_free(&fl.m2);
    map_free(&fl.m3);
    free(fl.newkey);
    free(fl.split_told);
    free(fl.seat_clash);
    return ret;
}

enum gw_merge_err gw_merge_read_reorg(struct gw_merge_input *in, const char *buf, size_t len)
{
    return read_file(in, 0, buf, len);
}

enum gw_merge_err gw_merge_read_staff(struct gw_merge_input *in, const char *buf, size_t len)
{
    return read_file(in, 1, buf, len);
}

const struct gw_reorg_row *gw_merge_reorg(const struct gw_merge_input *in, size_t *n)
{
    *n = in->reorg.n;
    return in->reorg.n ? (const struct gw_reorg_row *)(const void *)in->reorg.rows : NULL;
}

const struct gw_staff_row *gw_merge_staff(const struct gw_merge_input *in, size_t *n)
{
    *n = in->staff.n;
    return in->staff.n ? (const struct gw_staff_row *)(const void *)in->staff.rows : NULL;
}

size_t gw_merge_finding_count(const struct gw_merge_input *in)
{
    return in->nfindings;
}

const struct gw_merge_finding *gw_merge_finding_at(const struct gw_merge_input *in, size_t i)
{
    return i < in->nfindings ? &in->findings[i].f : NULL;
}

size_t gw_merge_findings_more(const struct gw_merge_input *in)
{
    return in->more;
}

int gw_merge_has_errors(const struct gw_merge_input *in)
{
    return in->errors;
}

json_t *gw_merge_findings_json(const struct gw_merge_input *in)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < in->nfindings; i++) {
        const struct gw_merge_finding *f = &in->findings[i].f;
        if (json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s, s:s, s:b}", "file", f->file, "line",
                                               (json_int_t)f->line, "column", f->column, "code", f->code, "message",
                                               f->message, "warning", f->warning)) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}
