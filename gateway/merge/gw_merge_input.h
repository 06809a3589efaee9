/*
 * gw_merge_input.h - the two files an operator brings to a merger review:
 * the reorganisation (old unit -> new unit) and the staff list after it.
 * Pure: no I/O but the buffers handed in, no Redis, no event loop.
 *
 * FILES.  CSV (RFC 4180, UTF-8 with or without a byte order mark, CRLF or
 * LF, the first record a header) or JSON (an array of objects; the file is
 * JSON when its first non-blank character is '[').  A header cell or JSON
 * key may be the English column name below or its Vietnamese heading (any
 * case, with or without diacritics, spaces or underscores: "Đơn vị cũ",
 * "don vi cu", "DON_VI_CU" are all old_unit).  A row-number column (STT,
 * TT, Số TT, Số thứ tự, No, No., #; any case, with or without diacritics)
 * is read past in either file, whatever it holds; a CSV row with nothing
 * but a row number is blank.  Booleans: 1/0, yes/no, true/false,
 * có/không (any case, with or without diacritics); x/"" (empty is no) only
 * in the optional ones (seat, keeps_device): an empty cell in a required
 * boolean (leader, state_sector) is MISSING, never "no", since "no" there
 * revokes the person's certificate.
 *
 * REORGANISATION, one row per old unit:
 *   old_unit      required  Đơn vị cũ          the old unit's name, as its certificates' O
 *   new_unit      required  Đơn vị mới         the new unit's official name
 *   new_parent              Cơ quan chủ quản mới  the body above it ("UBND TỈNH TUYÊN QUANG")
 *   locality                Địa bàn            commune / ward / district of the new unit
 *   province      required  Tỉnh               the new unit's province or city (ST)
 *   old_parent              Cơ quan quản lý cũ the managing body that receives devices
 *                                              handed back (default: the old unit)
 *   seat                    Giữ chứng thư tổ chức  boolean: this old unit's organisation
 *                                              certificate is the one the new unit keeps
 *   tax_code                Mã số thuế         to add to the new unit's organisation certificate
 *   budget_code             Mã quan hệ ngân sách  likewise (7 digits)
 *   basis         required  Căn cứ             legal basis ("Nghị quyết 202/2025/QH15")
 *   basis_date    required  Ngày ban hành      YYYY-MM-DD or DD/MM/YYYY
 *   effective     required  Ngày hiệu lực      YYYY-MM-DD or DD/MM/YYYY
 *   source                  Nguồn              where the row can be checked (URL, gazette)
 *
 * STAFF LIST, one row per person after the change:
 *   id_number               Số CCCD            12 digits; this or cert_serial required
 *   cert_serial             Số hiệu chứng thư  hex, any case, optional colons
 *   full_name     required  Họ và tên
 *   old_unit      required  Đơn vị cũ
 *   new_unit                Đơn vị mới         "" = leaves the units under review
 *   new_post                Chức vụ mới
 *   leader        required  Lãnh đạo           boolean, no default: holds a leadership post after the change
 *   state_sector  required  Khu vực nhà nước   boolean, no default: stays in the state administrative
 *                                              sector (0: Party bodies, vertical sectors, elsewhere)
 *   keeps_device            Giữ thiết bị       boolean, default 0: the old unit agrees that
 *                                              the person keeps the key device
 *
 * FINDINGS.  Every problem is a finding with its file, line (the record's
 * first physical line, a JSON object's opening line; 0 for the file as a
 * whole), column and a code; a
 * message never repeats a cell's content (no ID number reaches a log).
 * Errors make the file unusable as a whole (nothing is half-taken):
 *   FRAMING        a record that cannot be framed (quote inside an unquoted
 *                  field, text after a closing quote, a NUL) or with another
 *                  number of fields than the header
 *   HEADER         an unknown or repeated column (a row-number column is
 *                  neither), a required column missing
 *   MISSING        a required cell is empty (a required boolean's too)
 *   INVALID        a cell is not what its column holds (date, boolean, CCCD, serial)
 *   FORMULA        a cell starts with = + - @ or TAB/CR (a spreadsheet formula,
 *                  e.g. =HYPERLINK(...)); never taken as data
 *   DUPLICATE      the same person twice in the staff list (by CCCD or by
 *                  serial), or the same old_unit -> new_unit twice
 *   TOO_LARGE      more than GW_MERGE_MAX_ROWS rows, or a cell over 512 octets
 * Warnings keep the file usable and are shown on the plan:
 *   SPLIT          an old unit maps to two or more new units (a split: its
 *                  organisation certificate needs a decision)
 *   SEAT           two seats for one new unit (none is taken)
 * At most GW_MERGE_MAX_FINDINGS findings are kept; `more` counts the rest.
 */
#ifndef SIMPKI_GW_MERGE_INPUT_H
#define SIMPKI_GW_MERGE_INPUT_H

#include <stddef.h>

#include <jansson.h>

#include "gw_merge_name.h" /* gw_merge_name_key, which the callers of this header match names by */

#define GW_MERGE_MAX_ROWS     200000u
#define GW_MERGE_MAX_FINDINGS 200u

enum gw_merge_err {
    GW_MERGE_OK = 0,
    GW_MERGE_ERR_NOMEM = 1,   /* out of memory */
    GW_MERGE_ERR_INVALID = 2, /* the file has errors (see the findings) */
};
const char *gw_merge_strerror(enum gw_merge_err err);

struct gw_reorg_row {
    const char *old_unit, *new_unit, *new_parent, *locality, *province, *old_parent;
    const char *tax_code, *budget_code, *basis, *basis_date, *effective, *source; /* dates YYYY-MM-DD */
    int seat;
    unsigned line;
};

struct gw_staff_row {
    const char *id_number;   /* 12 digits or "" */
    const char *cert_serial; /* uppercase hex without colons or leading zeros, or "" */
    const char *full_name, *old_unit, *new_unit, *new_post;
    int leader, state_sector, keeps_device;
    unsigned line;
};

struct gw_merge_finding {
    const char *file; /* "reorg" or "staff" */
    unsigned line;
    const char *column; /* English name, "" for none */
    const char *code;   /* "FRAMING", ... */
    const char *message;
    int warning;
};

/* The parsed inputs.  Strings are owned by it; everything lives until gw_merge_input_free. */
struct gw_merge_input;

struct gw_merge_input *gw_merge_input_new(void);
void gw_merge_input_free(struct gw_merge_input *in); /* NULL does nothing */

/*
 * Parse one file into in (reorg or staff; each once).  buf need not be
 * NUL-terminated and is not kept.  GW_MERGE_ERR_INVALID when the file had
 * an error (the rows taken are dropped again: all or nothing), and for a
 * second read of the same file (no finding is added then).  A CSV file is
 * framed by config/csv.h; cells are trimmed of spaces at both ends.  An
 * empty boolean cell is 0 (the x/"" convention) in an optional column, and
 * MISSING in a required one (leader, state_sector).
 */
enum gw_merge_err gw_merge_read_reorg(struct gw_merge_input *in, const char *buf, size_t len);
enum gw_merge_err gw_merge_read_staff(struct gw_merge_input *in, const char *buf, size_t len);

/* The rows taken, in file order, as one array (*n of them; NULL and 0 before a successful read). */
const struct gw_reorg_row *gw_merge_reorg(const struct gw_merge_input *in, size_t *n);
const struct gw_staff_row *gw_merge_staff(const struct gw_merge_input *in, size_t *n);

size_t gw_merge_finding_count(const struct gw_merge_input *in);
const struct gw_merge_finding *gw_merge_finding_at(const struct gw_merge_input *in, size_t i);
size_t gw_merge_findings_more(const struct gw_merge_input *in); /* findings not kept */
int gw_merge_has_errors(const struct gw_merge_input *in);

/* The findings as a JSON array of {"file","line","column","code","message","warning"}; new reference. */
json_t *gw_merge_findings_json(const struct gw_merge_input *in);

#endif /* SIMPKI_GW_MERGE_INPUT_H */
