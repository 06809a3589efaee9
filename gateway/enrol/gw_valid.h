/*
 * gw_valid.h - field-by-field validation of certificate request forms.
 *
 * Officials ask for SIM PKI certificates on paper forms: a new certificate
 * for a person (Mẫu 01) or an organisation (Mẫu 03), change or renewal
 * (Mẫu 07), revocation (Mẫu 09), device handover (Mẫu 14).  The enrolment
 * API calls one function here per form field and turns every finding into
 *
 *     {"field": err.field, "error": err.code, "message": err.message}
 *
 * so that the official sees every mistake at once, each named by its field.
 *
 * Conventions shared by every gw_valid_* function:
 *
 *   - `field` is the name reported in err->field (the API's JSON path, e.g.
 *     "official.mobile"); NULL uses the default named in each comment.
 *   - Returns GW_VALID_OK (0), GW_VALID_ERROR (-1: refused, the output is
 *     unspecified) or GW_VALID_WARN (1: accepted and the output is filled,
 *     but err describes something a reviewer should look at).
 *   - err may be NULL; when given it is always written: cleared (code "")
 *     on GW_VALID_OK, filled otherwise.
 *   - NULL or empty-after-trimming input is GW_VALID_ERROR "REQUIRED":
 *     the API decides which fields a form requires and skips absent
 *     optional ones before calling.
 *   - Input longer than GW_VALID_INPUT_MAX bytes is "TOO_LONG".
 *   - err->code is a stable upper-case token (listed with each function);
 *     err->message is English text for people and may change.  Messages
 *     never repeat ID numbers, names or dates of birth, so they can be
 *     logged.
 *
 * Pure functions: no I/O, no clock, no globals, no allocation.  "Today" is
 * a parameter so tests can fix it; gw_date_from_unix() computes it without
 * gmtime.
 */
#ifndef SIMPKI_GW_VALID_H
#define SIMPKI_GW_VALID_H

#include <stddef.h>
#include <stdint.h>

#include "car_route.h"

#define GW_VALID_OK    0
#define GW_VALID_ERROR (-1)
#define GW_VALID_WARN  1

#define GW_VALID_INPUT_MAX 512 /* no form field is longer; more is junk or an attack */

struct gw_valid_err {
    char field[48];    /* the field at fault, as passed by the caller */
    char code[32];     /* stable token, e.g. "NOT_SIM_PKI_NETWORK"; "" when OK */
    char message[200]; /* for people; names the fields involved */
    char related[48];  /* the other field of a failed cross-check, else "" */
    int warning;       /* 1 when the return was GW_VALID_WARN */
};

/* ------------------------------------------------------------------ dates */

/* A calendar date; y == 0 means "not given" where a date is optional. */
struct gw_date {
    int y, m, d;
};

/* <0, 0, >0 as a is before, equal to, after b. */
int gw_date_cmp(const struct gw_date *a, const struct gw_date *b);

/*
 * The civil date of Unix time t at UTC offset utc_offset_s (Việt Nam:
 * 7 * 3600, no daylight saving).  For the "today" the checks below take.
 */
void gw_date_from_unix(int64_t t, int utc_offset_s, struct gw_date *out);

/*
 * A date written dd/mm/yyyy (day and month may have one digit: forms are
 * typed by people).  out gets the date; text (may be NULL, at least 11
 * bytes) gets it rewritten as dd/mm/yyyy.  Years before 1900 are refused.
 * Default field "date".  Codes: REQUIRED, TOO_LONG, DATE_FORMAT (not
 * dd/mm/yyyy), DATE_INVALID (no such day, e.g. 29/02/2023, 31/04, or a
 * year before 1900).
 */
int gw_valid_date(const char *field, const char *in, struct gw_date *out, char *text, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

/*
 * A date of birth: gw_valid_date() plus not after *today, and the person at
 * least min_age full years old on *today (18 for an official).  Someone
 * born on 29/02 comes of age on 28/02 in a year without one (the period
 * ends on the last day of the month, Civil Code 2015 art. 148 - our
 * reading).  With today NULL (or today->y 0) those two checks are skipped.
 * Default field "date_of_birth".  Codes: as gw_valid_date(),
 * DATE_IN_FUTURE, UNDER_AGE.
 */
int gw_valid_birth_date(const char *field, const char *in, const struct gw_date *today, int min_age,
                        struct gw_date *out, char *text, struct gw_valid_err *err) __attribute__((warn_unused_result));

/*
 * Two already validated dates that must be strictly ordered (an old
 * certificate's validity: from < to).  Reported on to_field with
 * from_field in err->related.  Code: DATE_ORDER.
 */
int gw_valid_date_order(const char *from_field, const struct gw_date *from, const char *to_field,
                        const struct gw_date *to, struct gw_valid_err *err) __attribute__((warn_unused_result));

/* ------------------------------------------------------- numbers, carrier */

/* The capitalised name forms use: "Viettel", "Vinaphone", "Mobifone"; "" for none. */
const char *gw_valid_net_label(enum car_net net);

struct gw_valid_simpki {
    enum car_net net; /* the SIM PKI carrier */
    int cs;           /* 1: "/cs", move the number already in use onto a SIM PKI */
    char text[16];    /* normalised: "Viettel" or "Viettel/cs" */
};

/*
 * The "SIM PKI" field: Viettel, Vinaphone or Mobifone in any case,
 * optionally followed by "/cs"; spaces around the parts are ignored.
 * Default field "sim_pki".  Codes: REQUIRED, TOO_LONG, NOT_SIM_PKI_NETWORK
 * (a Vietnamese network without SIM PKI: Vietnamobile, Gmobile, Itelecom,
 * Reddi, Wintel, Local), UNKNOWN_CARRIER, SIMPKI_SUFFIX (after '/' only
 * "cs" is allowed).
 */
int gw_valid_simpki(const char *field, const char *in, struct gw_valid_simpki *out, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

struct gw_valid_msisdn {
    char msisdn[CAR_MSISDN_LEN]; /* international without '+': 84912345678 */
    char national[11];           /* as people write it: 0912345678 */
    enum car_net net;            /* by prefix; never CAR_NET_NONE when accepted */
    int converted;               /* 1: an old 11-digit number converted by the 2018 map */
};

/*
 * A mobile number (0912345678, 84912345678, +84 912 345 678, old 11-digit
 * 0168xxxxxxx), normalised by car_msisdn_normalise().  Only the three SIM
 * PKI networks are accepted, by the post-2018 prefix (car_route_prefix()).
 * `declared` is the carrier from the SIM PKI field (CAR_NET_NONE: not
 * given); a different prefix is only a warning, because numbers are ported
 * between networks.  Default field "msisdn".  Codes: REQUIRED, TOO_LONG,
 * INVALID_MSISDN (message says why), NOT_SIM_PKI_NETWORK, and the warning
 * CARRIER_MISMATCH.
 */
int gw_valid_msisdn(const char *field, const char *in, enum car_net declared, struct gw_valid_msisdn *out,
                    struct gw_valid_err *err) __attribute__((warn_unused_result));

/* --------------------------------------------------------------- identity */

enum gw_gender { GW_GENDER_UNKNOWN = 0, GW_GENDER_MALE = 1, GW_GENDER_FEMALE = 2 };

/*
 * The gender field: "Nam"/"Nữ" (any case, with or without the diacritic),
 * "male"/"female", "M"/"F".  Default field "gender".  Codes: REQUIRED,
 * TOO_LONG, GENDER_INVALID.
 */
int gw_valid_gender(const char *field, const char *in, enum gw_gender *out, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

enum gw_id_type {
    GW_ID_AUTO = 0, /* guess from the shape: 12 digits CCCD, 9 CMND, else passport */
    GW_ID_CCCD = 1, /* căn cước (công dân): 12-digit personal identification number */
    GW_ID_CMND = 2, /* chứng minh nhân dân: 9 or 12 digits */
    GW_ID_PASSPORT = 3,
};

/*
 * What the other fields of the form say about the holder, to cross-check a
 * CCCD against.  Any member may be absent (dob.y == 0, GW_GENDER_UNKNOWN,
 * today.y == 0); field names NULL mean "date_of_birth" and "gender".
 */
struct gw_valid_holder {
    struct gw_date dob;
    const char *dob_field;
    enum gw_gender gender;
    const char *gender_field;
    struct gw_date today; /* refuses a CCCD whose encoded birth year is later */
};

struct gw_valid_id {
    enum gw_id_type type; /* the type found (never GW_ID_AUTO when accepted) */
    char number[16];      /* digits, or the passport number in upper case */
    /* CCCD only: */
    char province[4];          /* "001" */
    const char *province_name; /* "Hà Nội" (UTF-8, static) */
    int birth_year;            /* from the century digit and digits 5-6 */
    enum gw_gender gender;     /* from the century digit */
};

/*
 * An identity document number of `type` (spaces between digits are
 * ignored).  Default field "id_number".
 *
 * CCCD: 12 digits: the 3-digit province code of birth registration (one of
 * the 63 in gw_valid_province_name()), the gender-and-century digit (0/1
 * male/female born 1900-1999, 2/3 2000-2099, 4/5 2100-2199, 6/7 2200-2299,
 * 8/9 1800-1899), the last two digits of the birth year, 6 random digits
 * (so there is no check digit to verify).  Cross-checked against *holder
 * when given.  Codes: CCCD_FORMAT, CCCD_PROVINCE, CCCD_BIRTH_YEAR_MISMATCH
 * and CCCD_GENDER_MISMATCH (err->related names date_of_birth / gender),
 * CCCD_BIRTH_YEAR_FUTURE.
 * CMND: 9 or 12 digits.  Code: CMND_FORMAT.
 * Passport: Vietnamese, one letter and 7 digits (B1234567); a foreign one
 * of 6-9 letters and digits is accepted with the warning FOREIGN_PASSPORT.
 * Code: PASSPORT_FORMAT.
 * AUTO: ID_FORMAT when the shape fits none of them.
 * Always possible: REQUIRED, TOO_LONG.
 */
int gw_valid_id(const char *field, enum gw_id_type type, const char *in, const struct gw_valid_holder *holder,
                struct gw_valid_id *out, struct gw_valid_err *err) __attribute__((warn_unused_result));

/* The province of a CCCD province code ("001" -> "Hà Nội"); NULL when not one of the 63. */
const char *gw_valid_province_name(const char *code3);

/* ------------------------------------------------------- tax, budget code */

/*
 * Tax code (mã số thuế).  Forms:
 *   0100047516       10 digits, the last a check digit over the first 9
 *                    (weights 31 29 23 19 17 13 7 5 3, check = 10 - sum
 *                    mod 11; a remainder of 0 gives 10: no such code);
 *   0100047516-001   a branch (dependent unit): 10 digits, '-', 001..999
 *                    (13 digits without the dash are accepted too);
 *   001087123456     12 digits: since 1 July 2025 an individual's tax code
 *                    is the personal identification number (CCCD); accepted
 *                    with the warning MST_PERSONAL_ID, checked as a CCCD's
 *                    shape, and when id_number (normalised, may be NULL) is
 *                    given it must be equal (MST_ID_MISMATCH).
 * out (at least 15 bytes) gets the normalised code.  Default field "tax_code".
 * Codes: REQUIRED, TOO_LONG, MST_FORMAT, MST_CHECK_DIGIT, MST_BRANCH,
 * MST_ID_MISMATCH, warning MST_PERSONAL_ID.
 */
int gw_valid_mst(const char *field, const char *in, const char *id_number, char *out, size_t outlen,
                 struct gw_valid_err *err) __attribute__((warn_unused_result));

/*
 * Budget relation code (mã số đơn vị có quan hệ với ngân sách): 7 digits.
 * out at least 8 bytes.  Default field "budget_code".  Codes: REQUIRED,
 * TOO_LONG, BUDGET_CODE_FORMAT.
 */
int gw_valid_budget_code(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

/* ------------------------------------------------------ e-mail, name, serial */

/*
 * An official's e-mail address.  Syntax: one '@'; local part 1-64 of
 * letters, digits and !#$%&'*+/=?^_`{|}~.- with no leading, trailing or
 * doubled dot; domain at most 253 octets of at least two dot-separated
 * labels (1-63 letters, digits, '-', not at either end), the last
 * alphabetic; the whole at most 254.  The domain must be a state body's:
 * *.gov.vn is accepted, public mailboxes (gmail.com, yahoo.com,
 * yahoo.com.vn, hotmail.com, outlook.com, live.com, icloud.com, ...) are
 * refused, any other domain is accepted with a warning for review.  out
 * (at least 255 bytes) gets the address with the domain in lower case.
 * Default field "email".  Codes: REQUIRED, TOO_LONG, EMAIL_SYNTAX,
 * EMAIL_PERSONAL_DOMAIN, warning EMAIL_DOMAIN_REVIEW.
 */
int gw_valid_email(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

#define GW_VALID_NAME_CHARS 64  /* X.520 ub-common-name: the name goes into the certificate's CN */
#define GW_VALID_NAME_MAX   256 /* output bytes enough for any accepted name */

/*
 * A person's (or body's) name, as it is printed in capitals on the
 * certificate.  UTF-8 in any case; out gets it in UPPER CASE with the
 * Vietnamese diacritics kept (NFC), runs of spaces collapsed and the ends
 * trimmed.  Letters: ASCII and every Vietnamese letter (đ and the 12 vowels
 * with each of the 6 tones); decomposed input (NFD: a vowel followed by
 * combining circumflex/breve/horn and/or a tone mark, in either order) is
 * composed.  Also allowed: space, hyphen, apostrophe (U+2019 becomes ').
 * Default field "full_name".  Codes: REQUIRED, TOO_LONG, NAME_ENCODING
 * (not UTF-8), NAME_DIGIT, NAME_CHARACTER (a symbol, or a letter not used
 * in Vietnamese), NAME_COMBINING (a combining mark that does not make a
 * Vietnamese letter), NAME_TOO_LONG (over GW_VALID_NAME_CHARS characters
 * or outlen).
 */
int gw_valid_name(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

#define GW_VALID_SERIAL_MAX 41 /* 40 hex digits + NUL */

/*
 * An old certificate's serial number in hex, as tools print it: colons and
 * spaces are dropped, case is ignored; 2..40 hex digits (RFC 5280 4.1.2.2:
 * at most 20 octets), an even number of them.  out (at least
 * GW_VALID_SERIAL_MAX bytes) gets upper-case hex.  Default field
 * "old_cert_serial".  Codes: REQUIRED, TOO_LONG, SERIAL_FORMAT,
 * SERIAL_LENGTH, SERIAL_ODD_LENGTH.
 */
int gw_valid_cert_serial(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_GW_VALID_H */
