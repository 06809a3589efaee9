/*
 * gw_forms.h - the paper forms of the provincial SIM PKI process, rendered
 * from a request, and the request lists the CA imports (CSV, JSON).
 *
 * A request is a jansson object, so this module knows nothing of where
 * requests are stored.  Each request renders as its official form, filled
 * in, as one self-contained A4 HTML5 page (UTF-8, inline print CSS, no
 * external resources, no script) that a person prints, signs and stamps.
 *
 *   form          paper number  since 2024   title
 *   "person_new"  Mẫu 01        Mẫu 01/2024  ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN
 *   "org_new"     Mẫu 03        Mẫu 02/2024  ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CƠ QUAN, TỔ CHỨC
 *   "change"      Mẫu 07        Mẫu 04/2024  ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ
 *   "revoke"      Mẫu 09        Mẫu 05/2024  ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ
 *   "handover"    Mẫu 14        Mẫu 07/2024  BIÊN BẢN BÀN GIAO THIẾT BỊ LƯU KHÓA BÍ MẬT
 *
 * The form number top right shows both numberings: "Mẫu 01 (Mẫu 01/2024)".
 * (Mẫu 03/2024, device or service certificates, is not part of this process.)
 *
 * THE REQUEST (every value a JSON string unless said otherwise; a field
 * that is absent, null or "" prints as a blank to fill in by hand; a key
 * not listed here is refused with GW_FORM_ERR_UNKNOWN_FIELD, so a typo
 * cannot silently print a blank):
 *
 *   every form
 *     form          required, one of the five names above
 *     id            the request's id, printed small at the foot ("Mã hồ sơ")
 *     parent_unit   governing body, top left above the unit ("UBND TỈNH BẮC NINH")
 *     unit          required: the requesting body, top left ("SỞ NỘI VỤ")
 *     doc_no        the unit's document number ("Số: 12/SNV-VP")
 *     addressee     "Kính gửi"; default "Cục Chứng thực số và Bảo mật thông
 *                   tin - Ban Cơ yếu Chính phủ" (not printed on the handover record)
 *     place         place name of the date line ("Bắc Ninh")
 *     date          "YYYY-MM-DD", printed "Bắc Ninh, ngày 05 tháng 3 năm 2025"
 *                   (day below 10 and months 1 and 2 take a leading zero, as
 *                   Nghị định 30/2020 asks)
 *     head_name     the head of the unit, under "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ"
 *
 *   subscriber (object): the person the certificate is for; on "org_new",
 *   and on "change"/"revoke" with an organisation, the person who keeps the
 *   organisation's key
 *     full_name     required on person_new, and on change and revoke
 *                   without an organisation
 *     birth_date    "YYYY-MM-DD"
 *     id_number     CCCD number, id_issued_date ("YYYY-MM-DD"), id_issued_place
 *     position      chức vụ;  organisation  cơ quan, đơn vị công tác
 *     province, email, phone
 *
 *   sim_pki         the carrier as the official writes it: "Viettel",
 *                   "Vinaphone" or "Mobifone" (any case), with "/cs" when the
 *                   number already in use moves onto the SIM PKI
 *                   ("Viettel/cs"); printed in canonical case.
 *
 *   "org_new":  organisation (object): name (required), code (mã định danh),
 *               address, province, email, phone; subscriber; sim_pki
 *   "change":   action (required) "renew" | "change"; organisation; subscriber;
 *               sim_pki; certificate (object): serial, subject, valid_to
 *               ("YYYY-MM-DD"); changes (array of {field, old, new}); reason
 *   "revoke":   organisation; subscriber; certificate; sim_pki; reason (required)
 *
 *   organisation on "change" and "revoke" (optional, as org_new's; name then
 *   required): the certificate is the organisation's, not a person's.  The
 *   form prints the organisation as the certificate's holder and the
 *   subscriber as the person who keeps its key (a blank to fill in when
 *   absent).  Without it the certificate is the subscriber's, as before.
 *   "handover": giver, receiver (objects: full_name, position, unit);
 *               devices (array, at least one, of {cert_name, organisation,
 *               serial, note}); the date line reads "Hôm nay, ngày …, tại …"
 *
 * Errors name the field: "subscriber.birth_date: not a date YYYY-MM-DD".
 */
#ifndef SIMPKI_GW_FORMS_H
#define SIMPKI_GW_FORMS_H

#include <stddef.h>

#include <jansson.h>

enum gw_form_err {
    GW_FORM_OK = 0,
    GW_FORM_ERR_NOMEM = 1,         /* out of memory: try again */
    GW_FORM_ERR_MALFORMED = 2,     /* not an object, or a field of the wrong type or shape */
    GW_FORM_ERR_UNKNOWN_FORM = 3,  /* "form" missing or not one of the five */
    GW_FORM_ERR_MISSING_FIELD = 4, /* a required field is absent or empty */
    GW_FORM_ERR_UNKNOWN_FIELD = 5, /* a key this form does not use */
};

/* A stable English description of err ("unknown field"). */
const char *gw_form_strerror(enum gw_form_err err);

enum gw_form_kind {
    GW_FORM_PERSON_NEW = 0,
    GW_FORM_ORG_NEW = 1,
    GW_FORM_CHANGE = 2,
    GW_FORM_REVOKE = 3,
    GW_FORM_HANDOVER = 4,
};

/* One form's names, all static strings. */
struct gw_form_info {
    enum gw_form_kind kind;
    const char *name;    /* the request's "form": "person_new" */
    const char *no;      /* the paper number: "01" */
    const char *no_2024; /* since 2024: "01/2024" */
    const char *title;   /* "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN" */
};

/* The form called name ("revoke"), or NULL. */
const struct gw_form_info *gw_form_lookup(const char *name);

/*
 * Render req as a complete HTML5 document.  On GW_FORM_OK *out is a
 * malloc'd NUL-terminated string the caller frees and *outlen (if not NULL)
 * its length; on error *out is NULL and err (if not NULL) holds a message
 * naming the field.  The output depends on req alone (no clock, no locale),
 * so it can be compared byte for byte.
 */
enum gw_form_err gw_form_render_html(const json_t *req, char **out, size_t *outlen, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The same form without the document around it (no doctype, <head>, <style>
 * or <body>): from the form number line to the foot, for a document that
 * joins several forms (the merger review's bundle, gw_merge_rules.h) under
 * one <head> carrying gw_form_css().  Ownership and errors as gw_form_render_html().
 */
enum gw_form_err gw_form_render_body(const json_t *req, char **out, size_t *outlen, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The print CSS (A4, 20 mm margins) every rendered form carries; a static string. */
const char *gw_form_css(void);

/* Check req as gw_form_render_html() does, without rendering. */
enum gw_form_err gw_form_validate(const json_t *req, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The CA's CSV of a list of requests (a JSON array): RFC 4180, a header row
 * then one row per request, CRLF line ends, a field quoted when it holds a
 * comma, a quote, CR or LF (quotes doubled), UTF-8.  Columns:
 *
 *   id,form,form_no,form_no_2024,unit,place,date,full_name,birth_date,
 *   id_number,position,organisation,email,phone,sim_pki,carrier,keep_number,
 *   org_name,org_code,action,cert_serial,reason,devices
 *
 * sim_pki is in canonical case ("Viettel/cs"), keep_number "1" for "/cs",
 * "0" otherwise, "" with no sim_pki; devices
 * (handover) lists "serial (cert_name)" joined by "; ".  Every request is
 * validated first; the error names its index ("[2].unit: required").
 * GW_FORM_CSV_BOM starts the file with a UTF-8 byte order mark, which
 * spreadsheet programs need to read Vietnamese correctly.  Ownership as
 * gw_form_render_html().
 */
#define GW_FORM_CSV_BOM 0x1u
enum gw_form_err gw_form_export_csv(const json_t *requests, unsigned flags, char **out, size_t *outlen, char *err,
                                    size_t errlen) __attribute__((warn_unused_result));

/*
 * The CA's JSON of a list of requests: {"format": "simpki-forms/1",
 * "requests": [...]}, each request as given plus "form_no", "form_no_2024",
 * "title" and, with sim_pki, "carrier" and "keep_number" (boolean), sim_pki
 * itself in canonical case; keys sorted, two-space indent, UTF-8 unescaped.  Ownership as above.
 */
enum gw_form_err gw_form_export_json(const json_t *requests, char **out, size_t *outlen, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * HTML-escape len octets of s for text or a quoted attribute value:
 * & < > " ' become entities, a control character other than TAB, LF and CR
 * and every octet that is not valid UTF-8 become U+FFFD.  Returns a malloc'd
 * NUL-terminated string the caller frees, NULL on out of memory.
 */
char *gw_form_escape_html(const char *s, size_t len);

/*
 * One CSV field per RFC 4180: quoted when it holds , " CR or LF, quotes
 * doubled; otherwise as is.  A field starting with = + - @ TAB or CR, which
 * a spreadsheet would run as a formula, is written '<field>, quoted (the
 * export goes to a CA officer's spreadsheet).  malloc'd, caller frees; NULL
 * on out of memory.
 */
char *gw_form_csv_field(const char *s, size_t len);

#endif /* SIMPKI_GW_FORMS_H */
