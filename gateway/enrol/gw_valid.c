/*
 * gw_valid.c - certificate request form fields: checks and normalisation.
 *
 * Every check reports one finding in a struct gw_valid_err named by the
 * caller's field, so the enrolment API can show all the mistakes of a form
 * at once.  Nothing here echoes ID numbers, names or birth dates into a
 * message: messages end up in logs.
 */
#include "gw_valid.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ reporting */

static void set_field(char *dst, size_t cap, const char *field)
{
    snprintf(dst, cap, "%s", field ? field : "");
}

static void err_clear(struct gw_valid_err *err, const char *field)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    set_field(err->field, sizeof err->field, field);
}

static int vreport(struct gw_valid_err *err, const char *field, int rc, const char *code, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static int vreport(struct gw_valid_err *err, const char *field, int rc, const char *code, const char *fmt, va_list ap)
{
    if (!err)
        return rc;
    err_clear(err, field);
    snprintf(err->code, sizeof err->code, "%s", code);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    err->warning = rc == GW_VALID_WARN;
    return rc;
}

static int fail(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vreport(err, field, GW_VALID_ERROR, code, fmt, ap);
    va_end(ap);
    return rc;
}

static int warn(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int warn(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vreport(err, field, GW_VALID_WARN, code, fmt, ap);
    va_end(ap);
    return rc;
}

static void set_related(struct gw_valid_err *err, const char *related)
{
    if (err)
        set_field(err->related, sizeof err->related, related);
}

/* ---------------------------------------------------------- input shape */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/*
 * The common prologue: present, not absurdly long, trimmed into buf (which
 * holds GW_VALID_INPUT_MAX + 1).  The length is bounded before anything
 * else looks at the input.
 */
static int take(const char *field, const char *in, char buf[GW_VALID_INPUT_MAX + 1], struct gw_valid_err *err)
{
    size_t n;
    size_t start = 0;

    if (!in)
        return fail(err, field, "REQUIRED", "%s is required", field);
    n = strnlen(in, GW_VALID_INPUT_MAX + 1);
    if (n > GW_VALID_INPUT_MAX)
        return fail(err, field, "TOO_LONG", "%s is longer than %d bytes", field, GW_VALID_INPUT_MAX);
    while (start < n && is_blank(in[start]))
        start++;
    while (n > start && is_blank(in[n - 1]))
        n--;
    if (n == start)
        return fail(err, field, "REQUIRED", "%s is required", field);
    memcpy(buf, in + start, n - start);
    buf[n - start] = '\0';
    err_clear(err, field);
    return GW_VALID_OK;
}

/* Copy s without spaces into out (cap bytes with the NUL); -1 when it does not fit. */
static int drop_spaces(const char *s, char *out, size_t cap)
{
    size_t n = 0;

    for (; *s; s++) {
        if (*s == ' ')
            continue;
        if (n + 1 >= cap)
            return -1;
        out[n++] = *s;
    }
    out[n] = '\0';
    return 0;
}

/* strlcpy: the callers' lengths are already checked, this only makes sure. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (!is_digit(*s))
            return 0;
    }
    return 1;
}

/* ----------------------------------------------------------------- dates */

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (m == 2 && is_leap(y))
        return 29;
    return days[m - 1];
}

int gw_date_cmp(const struct gw_date *a, const struct gw_date *b)
{
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->m != b->m)
        return a->m < b->m ? -1 : 1;
    if (a->d != b->d)
        return a->d < b->d ? -1 : 1;
    return 0;
}

/* Howard Hinnant's civil_from_days: exact for every day, no tables, no libc time. */
void gw_date_from_unix(int64_t t, int utc_offset_s, struct gw_date *out)
{
    int64_t secs = t + utc_offset_s;
    int64_t z = secs / 86400 - (secs % 86400 < 0);
    int64_t era;
    int64_t doe, yoe, doy, mp, y;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    out->d = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->m = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->y = (int)(y + (out->m <= 2));
}

/* Read 1..maxd digits at *p; -1 when there are none or too many. */
static int read_number(const char **p, int mind, int maxd)
{
    int v = 0;
    int n = 0;

    while (is_digit(**p)) {
        if (n == maxd)
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    return n < mind ? -1 : v;
}

/* Skip the expected separator; -1 when it is not there. */
static int expect_char(const char **p, char c)
{
    if (**p != c)
        return -1;
    (*p)++;
    return 0;
}

static int parse_dmy(const char *s, struct gw_date *out)
{
    const char *p = s;

    out->d = read_number(&p, 1, 2);
    if (out->d < 0 || expect_char(&p, '/') != 0)
        return -1;
    out->m = read_number(&p, 1, 2);
    if (out->m < 0 || expect_char(&p, '/') != 0)
        return -1;
    out->y = read_number(&p, 4, 4);
    if (out->y < 0 || *p != '\0')
        return -1;
    return 0;
}

int gw_valid_date(const char *field, const char *in, struct gw_date *out, char *text, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    struct gw_date d;
    int rc;

    if (!field)
        field = "date";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (parse_dmy(buf, &d) != 0)
        return fail(err, field, "DATE_FORMAT", "%s must be written dd/mm/yyyy", field);
    if (d.y < 1900)
        return fail(err, field, "DATE_INVALID", "%s: years before 1900 are not accepted", field);
    if (d.m < 1 || d.m > 12)
        return fail(err, field, "DATE_INVALID", "%s: there is no month %d", field, d.m);
    if (d.d < 1 || d.d > days_in_month(d.y, d.m))
        return fail(err, field, "DATE_INVALID", "%s: month %d of that year has no day %d", field, d.m, d.d);
    if (out)
        *out = d;
    if (text) {
        char tmp[32];

        /* Day, month and year are bounded by the parse: always 10 characters. */
        snprintf(tmp, sizeof tmp, "%02d/%02d/%04d", d.d, d.m, d.y);
        memcpy(text, tmp, 11);
    }
    return GW_VALID_OK;
}

/* Full years between dob and today; a 29/02 birthday falls on 28/02 in other years. */
static int age_on(const struct gw_date *dob, const struct gw_date *today)
{
    int years = today->y - dob->y;
    int bday = dob->d;

    if (dob->m == 2 && dob->d == 29 && !is_leap(today->y))
        bday = 28;
    if (today->m < dob->m || (today->m == dob->m && today->d < bday))
        years--;
    return years;
}

int gw_valid_birth_date(const char *field, const char *in, const struct gw_date *today, int min_age,
                        struct gw_date *out, char *text, struct gw_valid_err *err)
{
    struct gw_date d;
    int rc;

    if (!field)
        field = "date_of_birth";
    rc = gw_valid_date(field, in, &d, text, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (today && today->y) {
        if (gw_date_cmp(&d, today) > 0)
            return fail(err, field, "DATE_IN_FUTURE", "%s is in the future", field);
        if (age_on(&d, today) < min_age)
            return fail(err, field, "UNDER_AGE", "%s: the holder must be at least %d years old", field, min_age);
    }
    if (out)
        *out = d;
    return GW_VALID_OK;
}

int gw_valid_date_order(const char *from_field, const struct gw_date *from, const char *to_field,
                        const struct gw_date *to, struct gw_valid_err *err)
{
    if (!from_field)
        from_field = "valid_from";
    if (!to_field)
        to_field = "valid_to";
    err_clear(err, to_field);
    if (gw_date_cmp(from, to) >= 0) {
        fail(err, to_field, "DATE_ORDER", "%s must be after %s", to_field, from_field);
        set_related(err, from_field);
        return GW_VALID_ERROR;
    }
    return GW_VALID_OK;
}

/* ------------------------------------------------------- carrier, number */

const char *gw_valid_net_label(enum car_net net)
{
    switch (net) {
    case CAR_NET_VIETTEL: return "Viettel";
    case CAR_NET_VINAPHONE: return "Vinaphone";
    case CAR_NET_MOBIFONE: return "Mobifone";
    case CAR_NET_NONE: break;
    }
    return "";
}

/* Vietnamese networks and MVNOs that do not issue SIM PKI: named so the refusal says why. */
static const char *const no_simpki[] = {"Vietnamobile", "Gmobile", "Itelecom", "Reddi", "Wintel", "Local"};

/* Trim spaces off [s, s+n) in place of the pointers. */
static void trim_span(const char **s, size_t *n)
{
    while (*n && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_blank((*s)[*n - 1]))
        (*n)--;
}

static int span_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

static int simpki_suffix(const char *field, const char *slash, struct gw_valid_simpki *out, struct gw_valid_err *err)
{
    const char *s = slash + 1;
    size_t n = strlen(s);

    trim_span(&s, &n);
    if (!span_is(s, n, "cs"))
        return fail(err, field, "SIMPKI_SUFFIX", "%s: only \"/cs\" may follow the carrier", field);
    out->cs = 1;
    return GW_VALID_OK;
}

int gw_valid_simpki(const char *field, const char *in, struct gw_valid_simpki *out, struct gw_valid_err *err)
{
    static const enum car_net nets[] = {CAR_NET_VIETTEL, CAR_NET_VINAPHONE, CAR_NET_MOBIFONE};
    char buf[GW_VALID_INPUT_MAX + 1];
    struct gw_valid_simpki r = {0};
    const char *slash;
    const char *name = buf;
    size_t n;
    int rc;

    if (!field)
        field = "sim_pki";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    slash = strchr(buf, '/');
    n = slash ? (size_t)(slash - buf) : strlen(buf);
    trim_span(&name, &n);
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        if (span_is(name, n, gw_valid_net_label(nets[i])))
            r.net = nets[i];
    }
    for (size_t i = 0; r.net == CAR_NET_NONE && i < sizeof no_simpki / sizeof no_simpki[0]; i++) {
        if (span_is(name, n, no_simpki[i]))
            return fail(err, field, "NOT_SIM_PKI_NETWORK",
                        "%s: %s does not issue SIM PKI; use Viettel, Vinaphone or Mobifone", field, no_simpki[i]);
    }
    if (r.net == CAR_NET_NONE)
        return fail(err, field, "UNKNOWN_CARRIER", "%s must be Viettel, Vinaphone or Mobifone, optionally /cs", field);
    if (slash) {
        rc = simpki_suffix(field, slash, &r, err);
        if (rc != GW_VALID_OK)
            return rc;
    }
    snprintf(r.text, sizeof r.text, "%s%s", gw_valid_net_label(r.net), r.cs ? "/cs" : "");
    if (out)
        *out = r;
    return GW_VALID_OK;
}

/*
 * Was the number typed in the old 11-digit form?  A number that did not
 * need the 2018 conversion ends with its 9-digit NSN; a converted one never
 * does, because every old prefix differs from its new one in the digits
 * that survive.
 */
static int was_converted(const char *in, const char *msisdn)
{
    char digits[GW_VALID_INPUT_MAX + 1];
    size_t n = 0;

    for (; *in; in++) {
        if (is_digit(*in))
            digits[n++] = *in;
    }
    digits[n] = '\0';
    return n < 9 || strcmp(digits + n - 9, msisdn + 2) != 0;
}

int gw_valid_msisdn(const char *field, const char *in, enum car_net declared, struct gw_valid_msisdn *out,
                    struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    struct gw_valid_msisdn r = {0};
    char why[96];
    int rc;

    if (!field)
        field = "msisdn";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (car_msisdn_normalise(buf, r.msisdn, why, sizeof why) != CAR_OK)
        return fail(err, field, "INVALID_MSISDN", "%s: %s", field, why);
    r.national[0] = '0';
    memcpy(r.national + 1, r.msisdn + 2, CAR_MSISDN_LEN - 2); /* 9 digits and the NUL */
    r.converted = was_converted(buf, r.msisdn);
    r.net = car_route_prefix(r.msisdn);
    if (r.net == CAR_NET_NONE)
        return fail(err, field, "NOT_SIM_PKI_NETWORK",
                    "%s: prefix %.3s is not a Viettel, Vinaphone or Mobifone number; SIM PKI needs one", field,
                    r.national);
    if (out)
        *out = r;
    if (declared != CAR_NET_NONE && declared != r.net)
        return warn(err, field, "CARRIER_MISMATCH",
                    "%s: prefix %.3s is %s but %s was declared; accepted in case the number was ported", field,
                    r.national, gw_valid_net_label(r.net), gw_valid_net_label(declared));
    return GW_VALID_OK;
}

/* --------------------------------------------------------------- identity */

/*
 * Province codes of the 12-digit personal identification number: the place
 * where the birth was registered.  Circular 07/2016/TT-BCA, Appendix (codes
 * of the provinces and centrally-run cities), kept by Circular
 * 59/2021/TT-BCA.  They are the national administrative unit codes
 * (Decision 124/2004/QĐ-TTg) with a leading 0.  The 2025 merger of
 * provinces did not renumber people already registered, so all 63 stay.
 */
static const struct {
    char code[4];
    const char *name;
} provinces[63] = {
    {"001", "Hà Nội"},
    {"002", "Hà Giang"},
    {"004", "Cao Bằng"},
    {"006", "Bắc Kạn"},
    {"008", "Tuyên Quang"},
    {"010", "Lào Cai"},
    {"011", "Điện Biên"},
    {"012", "Lai Châu"},
    {"014", "Sơn La"},
    {"015", "Yên Bái"},
    {"017", "Hòa Bình"},
    {"019", "Thái Nguyên"},
    {"020", "Lạng Sơn"},
    {"022", "Quảng Ninh"},
    {"024", "Bắc Giang"},
    {"025", "Phú Thọ"},
    {"026", "Vĩnh Phúc"},
    {"027", "Bắc Ninh"},
    {"030", "Hải Dương"},
    {"031", "Hải Phòng"},
    {"033", "Hưng Yên"},
    {"034", "Thái Bình"},
    {"035", "Hà Nam"},
    {"036", "Nam Định"},
    {"037", "Ninh Bình"},
    {"038", "Thanh Hóa"},
    {"040", "Nghệ An"},
    {"042", "Hà Tĩnh"},
    {"044", "Quảng Bình"},
    {"045", "Quảng Trị"},
    {"046", "Thừa Thiên Huế"},
    {"048", "Đà Nẵng"},
    {"049", "Quảng Nam"},
    {"051", "Quảng Ngãi"},
    {"052", "Bình Định"},
    {"054", "Phú Yên"},
    {"056", "Khánh Hòa"},
    {"058", "Ninh Thuận"},
    {"060", "Bình Thuận"},
    {"062", "Kon Tum"},
    {"064", "Gia Lai"},
    {"066", "Đắk Lắk"},
    {"067", "Đắk Nông"},
    {"068", "Lâm Đồng"},
    {"070", "Bình Phước"},
    {"072", "Tây Ninh"},
    {"074", "Bình Dương"},
    {"075", "Đồng Nai"},
    {"077", "Bà Rịa - Vũng Tàu"},
    {"079", "Hồ Chí Minh"},
    {"080", "Long An"},
    {"082", "Tiền Giang"},
    {"083", "Bến Tre"},
    {"084", "Trà Vinh"},
    {"086", "Vĩnh Long"},
    {"087", "Đồng Tháp"},
    {"089", "An Giang"},
    {"091", "Kiên Giang"},
    {"092", "Cần Thơ"},
    {"093", "Hậu Giang"},
    {"094", "Sóc Trăng"},
    {"095", "Bạc Liêu"},
    {"096", "Cà Mau"},
};

const char *gw_valid_province_name(const char *code3)
{
    if (!code3)
        return NULL;
    for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++) {
        if (strncmp(code3, provinces[i].code, 3) == 0)
            return provinces[i].name;
    }
    return NULL;
}

/* Birth century by the 4th digit; even digits are men, odd women (Circular 07/2016/TT-BCA art. 7). */
static const int century_of[10] = {1900, 1900, 2000, 2000, 2100, 2100, 2200, 2200, 1800, 1800};

/*
 * The fixed structure of a 12-digit personal identification number, shared
 * by CCCD and the 2025 personal tax code.  NULL when it holds, else why not;
 * *code gets the CCCD_* code.
 */
static const char *cccd_decode(const char *s, struct gw_valid_id *out, const char **code)
{
    int digit;

    *code = "CCCD_FORMAT";
    if (strlen(s) != 12 || !all_digits(s))
        return "a CCCD number has 12 digits";
    out->province_name = gw_valid_province_name(s);
    if (!out->province_name) {
        *code = "CCCD_PROVINCE";
        return "the first 3 digits are not one of the 63 province codes";
    }
    memcpy(out->province, s, 3);
    out->province[3] = '\0';
    digit = s[3] - '0';
    out->birth_year = century_of[digit] + (s[4] - '0') * 10 + (s[5] - '0');
    out->gender = digit % 2 ? GW_GENDER_FEMALE : GW_GENDER_MALE;
    out->type = GW_ID_CCCD;
    copy_str(out->number, sizeof out->number, s);
    return NULL;
}

/* The CCCD against the other fields of the form: each disagreement names that field. */
static int cccd_cross_check(const char *field, const struct gw_valid_id *id, const struct gw_valid_holder *h,
                            struct gw_valid_err *err)
{
    const char *dob_field = h->dob_field ? h->dob_field : "date_of_birth";
    const char *gender_field = h->gender_field ? h->gender_field : "gender";

    if (h->dob.y && h->dob.y != id->birth_year) {
        fail(err, field, "CCCD_BIRTH_YEAR_MISMATCH", "%s: digits 4-6 encode a birth year that does not match %s", field,
             dob_field);
        set_related(err, dob_field);
        return GW_VALID_ERROR;
    }
    if (h->gender != GW_GENDER_UNKNOWN && h->gender != id->gender) {
        fail(err, field, "CCCD_GENDER_MISMATCH", "%s: digit 4 encodes a gender that does not match %s", field,
             gender_field);
        set_related(err, gender_field);
        return GW_VALID_ERROR;
    }
    /* Only reached without a date of birth, or with one the date checks refuse anyway. */
    if (h->today.y && id->birth_year > h->today.y)
        return fail(err, field, "CCCD_BIRTH_YEAR_FUTURE",
                    "%s: the gender-and-century digit and the next two give a birth year in the future", field);
    return GW_VALID_OK;
}

static int valid_cccd(const char *field, const char *s, const struct gw_valid_holder *h, struct gw_valid_id *out,
                      struct gw_valid_err *err)
{
    const char *code;
    const char *why = cccd_decode(s, out, &code);

    if (why)
        return fail(err, field, code, "%s: %s", field, why);
    return h ? cccd_cross_check(field, out, h, err) : GW_VALID_OK;
}

static int valid_cmnd(const char *field, const char *s, struct gw_valid_id *out, struct gw_valid_err *err)
{
    size_t n = strlen(s);

    if (!all_digits(s) || (n != 9 && n != 12))
        return fail(err, field, "CMND_FORMAT", "%s: a CMND number has 9 or 12 digits", field);
    out->type = GW_ID_CMND;
    copy_str(out->number, sizeof out->number, s);
    return GW_VALID_OK;
}

static int valid_passport(const char *field, const char *s, struct gw_valid_id *out, struct gw_valid_err *err)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        if (!is_alpha(s[i]) && !is_digit(s[i]))
            return fail(err, field, "PASSPORT_FORMAT", "%s: a passport number has only letters and digits", field);
    }
    if (n < 6 || n > 9)
        return fail(err, field, "PASSPORT_FORMAT", "%s: a passport number has 6 to 9 letters and digits", field);
    out->type = GW_ID_PASSPORT;
    for (size_t i = 0; i <= n; i++)
        out->number[i] = to_upper(s[i]);
    /* Vietnamese passports: one letter then 7 digits (B1234567, C1234567). */
    if (n == 8 && is_alpha(s[0]) && all_digits(s + 1))
        return GW_VALID_OK;
    return warn(err, field, "FOREIGN_PASSPORT",
                "%s: not a Vietnamese passport number (one letter and 7 digits); accepted as foreign, check it", field);
}

static enum gw_id_type guess_type(const char *s)
{
    size_t n = strlen(s);

    if (all_digits(s))
        return n == 12 ? GW_ID_CCCD : n == 9 ? GW_ID_CMND : GW_ID_AUTO;
    return GW_ID_PASSPORT;
}

int gw_valid_id(const char *field, enum gw_id_type type, const char *in, const struct gw_valid_holder *holder,
                struct gw_valid_id *out, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char s[GW_VALID_INPUT_MAX + 1];
    struct gw_valid_id r = {0};
    int rc;

    if (!field)
        field = "id_number";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    /* People group digits with spaces ("001 087 123456"); nothing else is dropped. */
    if (drop_spaces(buf, s, sizeof s) != 0)
        return fail(err, field, "TOO_LONG", "%s is too long", field);
    if (type == GW_ID_AUTO)
        type = guess_type(s);
    switch (type) {
    case GW_ID_CCCD: rc = valid_cccd(field, s, holder, &r, err); break;
    case GW_ID_CMND: rc = valid_cmnd(field, s, &r, err); break;
    case GW_ID_PASSPORT: rc = valid_passport(field, s, &r, err); break;
    case GW_ID_AUTO:
    default:
        return fail(err, field, "ID_FORMAT", "%s: expected a CCCD (12 digits), a CMND (9 digits) or a passport number",
                    field);
    }
    if (rc != GW_VALID_ERROR && out)
        *out = r;
    return rc;
}

static int gender_of(const char *upper, enum gw_gender *g)
{
    static const struct {
        const char *word;
        enum gw_gender g;
    } words[] = {
        {"NAM", GW_GENDER_MALE},  {"MALE", GW_GENDER_MALE},
        {"M", GW_GENDER_MALE},    {"N\xe1\xbb\xae", GW_GENDER_FEMALE}, /* NỮ */
        {"NU", GW_GENDER_FEMALE}, {"FEMALE", GW_GENDER_FEMALE},
        {"F", GW_GENDER_FEMALE},
    };

    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(upper, words[i].word) == 0) {
            *g = words[i].g;
            return 0;
        }
    }
    return -1;
}

int gw_valid_gender(const char *field, const char *in, enum gw_gender *out, struct gw_valid_err *err)
{
    char upper[GW_VALID_NAME_MAX];
    enum gw_gender g;
    int rc;

    if (!field)
        field = "gender";
    /* The name rules give case folding and NFC for free ("nữ", "NỮ", "nữ"). */
    rc = gw_valid_name(field, in, upper, sizeof upper, err);
    if (rc == GW_VALID_ERROR && err && strcmp(err->code, "REQUIRED") != 0 && strcmp(err->code, "TOO_LONG") != 0)
        return fail(err, field, "GENDER_INVALID", "%s must be Nam or Nữ", field);
    if (rc == GW_VALID_ERROR)
        return rc;
    if (gender_of(upper, &g) != 0)
        return fail(err, field, "GENDER_INVALID", "%s must be Nam or Nữ", field);
    if (out)
        *out = g;
    return GW_VALID_OK;
}

/* ------------------------------------------------------- tax, budget code */

/*
 * The tax code's check digit over its first 9 digits, or -1 when the
 * remainder is 0 (10 - 0 = 10 is not a digit, so no code has that prefix).
 * Weights and formula as python-stdnum / stdnum-js vn.mst; the worked
 * example 010004751 -> 6 (0100047516) is the one in the tax authority's
 * guidance.
 */
static int mst_check_digit(const char *d9)
{
    static const int weights[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
    int sum = 0;
    int check;

    for (int i = 0; i < 9; i++)
        sum += (d9[i] - '0') * weights[i];
    check = 10 - sum % 11;
    return check == 10 ? -1 : check;
}

static int mst_ten(const char *field, const char *s, struct gw_valid_err *err)
{
    int check = mst_check_digit(s);

    if (check < 0 || check != s[9] - '0')
        return fail(err, field, "MST_CHECK_DIGIT",
                    "%s: the 10th digit is not the check digit of the first 9; "
                    "check for a typing mistake",
                    field);
    return GW_VALID_OK;
}

static int mst_personal(const char *field, const char *s, const char *id_number, struct gw_valid_err *err)
{
    struct gw_valid_id id = {0};
    const char *code;
    const char *why = cccd_decode(s, &id, &code);

    if (why)
        return fail(err, field, "MST_FORMAT", "%s: a 12-digit tax code is a personal identification number: %s", field,
                    why);
    if (id_number && *id_number && strcmp(id_number, s) != 0)
        return fail(err, field, "MST_ID_MISMATCH",
                    "%s: a 12-digit tax code must equal the holder's identification number", field);
    return warn(err, field, "MST_PERSONAL_ID",
                "%s: 12-digit personal tax code (the identification number, used since 1 July 2025)", field);
}

int gw_valid_mst(const char *field, const char *in, const char *id_number, char *out, size_t outlen,
                 struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char s[GW_VALID_INPUT_MAX + 1];
    char branch[4] = "";
    size_t n;
    int rc;

    if (!field)
        field = "tax_code";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (drop_spaces(buf, s, sizeof s) != 0)
        return fail(err, field, "TOO_LONG", "%s is too long", field);
    n = strlen(s);
    /* 0123456789-001 and 0123456789001 are the same branch code. */
    if (n == 14 && s[10] == '-') {
        memmove(s + 10, s + 11, 4);
        n = 13;
    }
    if (!all_digits(s) || (n != 10 && n != 12 && n != 13))
        return fail(err, field, "MST_FORMAT", "%s: a tax code has 10 digits, 10-3 for a branch, or 12", field);
    if (n == 13) {
        memcpy(branch, s + 10, 4);
        s[10] = '\0';
        if (strcmp(branch, "000") == 0)
            return fail(err, field, "MST_BRANCH", "%s: branch numbers run from 001 to 999", field);
    }
    if (n == 12)
        rc = mst_personal(field, s, id_number, err);
    else
        rc = mst_ten(field, s, err);
    if (rc == GW_VALID_ERROR)
        return rc;
    if (out && outlen)
        snprintf(out, outlen, "%s%s%s", s, *branch ? "-" : "", branch);
    return rc;
}

int gw_valid_budget_code(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char s[GW_VALID_INPUT_MAX + 1];
    int rc;

    if (!field)
        field = "budget_code";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (drop_spaces(buf, s, sizeof s) != 0 || strlen(s) != 7 || !all_digits(s))
        return fail(err, field, "BUDGET_CODE_FORMAT", "%s: a budget relation code has 7 digits", field);
    if (out && outlen)
        snprintf(out, outlen, "%s", s);
    return GW_VALID_OK;
}

/* ----------------------------------------------------------------- e-mail */

/* Public mailbox providers: an official certificate must not hang on a private account. */
static const char *const personal_domains[] = {
    "gmail.com",      "googlemail.com", "yahoo.com", "yahoo.com.vn", "ymail.com", "hotmail.com", "outlook.com",
    "outlook.com.vn", "live.com",       "msn.com",   "icloud.com",   "me.com",    "aol.com",     "protonmail.com",
    "proton.me",      "zoho.com",       "mail.ru",   "yandex.com",   "gmx.com",   "qq.com",      "163.com",
};

static int is_atext(char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL);
}

/* RFC 5322 dot-atom for the local part: atext runs joined by single dots. */
static int local_ok(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' ? s[i + 1] == '.' : !is_atext(s[i]))
            return 0;
    }
    return 1;
}

/* RFC 1035 host name labels; the top label alphabetic so "a@1.2.3.4" is not a domain. */
static int domain_ok(const char *d)
{
    size_t n = strlen(d);
    size_t label = 0;
    int labels = 1;
    size_t last = 0;

    if (n == 0 || n > 253 || d[0] == '.' || d[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] == '.') {
            if (label == 0 || d[i - 1] == '-' || d[i + 1] == '-' || d[i + 1] == '.')
                return 0;
            labels++;
            label = 0;
            last = i + 1;
        } else if (is_alpha(d[i]) || is_digit(d[i]) || d[i] == '-') {
            label++;
            if (label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    if (d[0] == '-' || d[n - 1] == '-' || labels < 2 || n - last < 2)
        return 0;
    for (size_t i = last; i < n; i++) {
        if (!is_alpha(d[i]))
            return 0;
    }
    return 1;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s);
    size_t k = strlen(suffix);

    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int email_domain_policy(const char *field, const char *domain, struct gw_valid_err *err)
{
    /* Only a subdomain: "gov.vn" itself is the registry, nobody's mailbox. */
    if (ends_with(domain, ".gov.vn"))
        return GW_VALID_OK;
    for (size_t i = 0; i < sizeof personal_domains / sizeof personal_domains[0]; i++) {
        if (strcmp(domain, personal_domains[i]) == 0)
            return fail(err, field, "EMAIL_PERSONAL_DOMAIN",
                        "%s: %s is a personal mailbox; use the official address of the state body (*.gov.vn)", field,
                        domain);
    }
    return warn(err, field, "EMAIL_DOMAIN_REVIEW",
                "%s: %s is not a *.gov.vn domain; accepted for review by the registration officer", field, domain);
}

int gw_valid_email(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char *at;
    char *domain;
    int rc;

    if (!field)
        field = "email";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    at = strchr(buf, '@');
    if (strlen(buf) > 254 || !at || strchr(at + 1, '@'))
        return fail(err, field, "EMAIL_SYNTAX", "%s: an e-mail address has one @ and at most 254 characters", field);
    domain = at + 1;
    for (char *p = domain; *p; p++)
        *p = to_lower(*p);
    if (!local_ok(buf, (size_t)(at - buf)))
        return fail(err, field, "EMAIL_SYNTAX", "%s: the part before @ is not a valid mailbox name", field);
    if (!domain_ok(domain))
        return fail(err, field, "EMAIL_SYNTAX", "%s: the part after @ is not a valid domain name", field);
    rc = email_domain_policy(field, domain, err);
    if (rc != GW_VALID_ERROR && out && outlen)
        snprintf(out, outlen, "%s", buf);
    return rc;
}

/* ------------------------------------------------------------------- name */

/*
 * Every Vietnamese vowel: 12 letters (rows) by 6 tones (columns: none,
 * huyền grave, sắc acute, hỏi hook above, ngã tilde, nặng dot below), in
 * lower and upper case.  Upper case is the same cell of `vowel_upper`; NFD
 * input composes by moving along a row (tone) or between rows (modifier).
 */
enum {
    ROW_A,
    ROW_A_BREVE,
    ROW_A_CIRC,
    ROW_E,
    ROW_E_CIRC,
    ROW_I,
    ROW_O,
    ROW_O_CIRC,
    ROW_O_HORN,
    ROW_U,
    ROW_U_HORN,
    ROW_Y,
    ROWS
};

static const uint16_t vowel_lower[ROWS][6] = {
    {0x0061, 0x00E0, 0x00E1, 0x1EA3, 0x00E3, 0x1EA1}, /* a à á ả ã ạ */
    {0x0103, 0x1EB1, 0x1EAF, 0x1EB3, 0x1EB5, 0x1EB7}, /* ă ằ ắ ẳ ẵ ặ */
    {0x00E2, 0x1EA7, 0x1EA5, 0x1EA9, 0x1EAB, 0x1EAD}, /* â ầ ấ ẩ ẫ ậ */
    {0x0065, 0x00E8, 0x00E9, 0x1EBB, 0x1EBD, 0x1EB9}, /* e è é ẻ ẽ ẹ */
    {0x00EA, 0x1EC1, 0x1EBF, 0x1EC3, 0x1EC5, 0x1EC7}, /* ê ề ế ể ễ ệ */
    {0x0069, 0x00EC, 0x00ED, 0x1EC9, 0x0129, 0x1ECB}, /* i ì í ỉ ĩ ị */
    {0x006F, 0x00F2, 0x00F3, 0x1ECF, 0x00F5, 0x1ECD}, /* o ò ó ỏ õ ọ */
    {0x00F4, 0x1ED3, 0x1ED1, 0x1ED5, 0x1ED7, 0x1ED9}, /* ô ồ ố ổ ỗ ộ */
    {0x01A1, 0x1EDD, 0x1EDB, 0x1EDF, 0x1EE1, 0x1EE3}, /* ơ ờ ớ ở ỡ ợ */
    {0x0075, 0x00F9, 0x00FA, 0x1EE7, 0x0169, 0x1EE5}, /* u ù ú ủ ũ ụ */
    {0x01B0, 0x1EEB, 0x1EE9, 0x1EED, 0x1EEF, 0x1EF1}, /* ư ừ ứ ử ữ ự */
    {0x0079, 0x1EF3, 0x00FD, 0x1EF7, 0x1EF9, 0x1EF5}, /* y ỳ ý ỷ ỹ ỵ */
};

static const uint16_t vowel_upper[ROWS][6] = {
    {0x0041, 0x00C0, 0x00C1, 0x1EA2, 0x00C3, 0x1EA0}, /* A À Á Ả Ã Ạ */
    {0x0102, 0x1EB0, 0x1EAE, 0x1EB2, 0x1EB4, 0x1EB6}, /* Ă Ằ Ắ Ẳ Ẵ Ặ */
    {0x00C2, 0x1EA6, 0x1EA4, 0x1EA8, 0x1EAA, 0x1EAC}, /* Â Ầ Ấ Ẩ Ẫ Ậ */
    {0x0045, 0x00C8, 0x00C9, 0x1EBA, 0x1EBC, 0x1EB8}, /* E È É Ẻ Ẽ Ẹ */
    {0x00CA, 0x1EC0, 0x1EBE, 0x1EC2, 0x1EC4, 0x1EC6}, /* Ê Ề Ế Ể Ễ Ệ */
    {0x0049, 0x00CC, 0x00CD, 0x1EC8, 0x0128, 0x1ECA}, /* I Ì Í Ỉ Ĩ Ị */
    {0x004F, 0x00D2, 0x00D3, 0x1ECE, 0x00D5, 0x1ECC}, /* O Ò Ó Ỏ Õ Ọ */
    {0x00D4, 0x1ED2, 0x1ED0, 0x1ED4, 0x1ED6, 0x1ED8}, /* Ô Ồ Ố Ổ Ỗ Ộ */
    {0x01A0, 0x1EDC, 0x1EDA, 0x1EDE, 0x1EE0, 0x1EE2}, /* Ơ Ờ Ớ Ở Ỡ Ợ */
    {0x0055, 0x00D9, 0x00DA, 0x1EE6, 0x0168, 0x1EE4}, /* U Ù Ú Ủ Ũ Ụ */
    {0x01AF, 0x1EEA, 0x1EE8, 0x1EEC, 0x1EEE, 0x1EF0}, /* Ư Ừ Ứ Ử Ữ Ự */
    {0x0059, 0x1EF2, 0x00DD, 0x1EF6, 0x1EF8, 0x1EF4}, /* Y Ỳ Ý Ỷ Ỹ Ỵ */
};

/* Combining tone marks (NFD) by column; U+0340/U+0341 are the deprecated grave/acute NFC maps too. */
static int tone_of_mark(uint32_t cp)
{
    switch (cp) {
    case 0x0300:
    case 0x0340: return 1;
    case 0x0301:
    case 0x0341: return 2;
    case 0x0309: return 3;
    case 0x0303: return 4;
    case 0x0323: return 5;
    default: return 0;
    }
}

/* Combining circumflex, breve and horn: the row a plain vowel moves to, or -1. */
static int row_with_modifier(int row, uint32_t cp)
{
    static const struct {
        int from;
        uint32_t mark;
        int to;
    } moves[] = {
        {ROW_A, 0x0306, ROW_A_BREVE}, {ROW_A, 0x0302, ROW_A_CIRC}, {ROW_E, 0x0302, ROW_E_CIRC},
        {ROW_O, 0x0302, ROW_O_CIRC},  {ROW_O, 0x031B, ROW_O_HORN}, {ROW_U, 0x031B, ROW_U_HORN},
    };

    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        if (moves[i].from == row && moves[i].mark == cp)
            return moves[i].to;
    }
    return -1;
}

static int is_modifier_mark(uint32_t cp)
{
    return cp == 0x0302 || cp == 0x0306 || cp == 0x031B;
}

static int find_vowel(uint32_t cp, int *row, int *tone)
{
    for (int r = 0; r < ROWS; r++) {
        for (int t = 0; t < 6; t++) {
            if (vowel_lower[r][t] == cp || vowel_upper[r][t] == cp) {
                *row = r;
                *tone = t;
                return 1;
            }
        }
    }
    return 0;
}

/* One code point from s[*i..n); -1 on anything RFC 3629 forbids (overlong, surrogate, > U+10FFFF). */
static int utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp)
{
    static const uint32_t min_of[4] = {0, 0x80, 0x800, 0x10000};
    unsigned char c = s[*i];
    int more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    uint32_t v;

    if (more < 0 || (size_t)more >= n - *i)
        return -1;
    v = more ? c & (0x3F >> more) : c;
    for (int k = 1; k <= more; k++) {
        if ((s[*i + (size_t)k] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[*i + (size_t)k] & 0x3F);
    }
    if (v < min_of[more] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *i += (size_t)more + 1;
    *cp = v;
    return 0;
}

/* The upper-case name being built: NFC UTF-8, spaces collapsed, characters counted. */
struct name_out {
    char *buf;
    size_t cap;
    size_t len;
    int chars;
    int space; /* a space is owed before the next character */
    int row;   /* vowel waiting for combining marks, or -1 */
    int tone;
    int letters;
};

static int put_cp(struct name_out *o, uint32_t cp)
{
    unsigned char u[3];
    size_t k;

    if (o->space && o->len) {
        o->space = 0;
        if (put_cp(o, ' ') != 0)
            return -1;
    }
    o->space = 0;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        k = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | (cp >> 6));
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 2;
    } else {
        u[0] = (unsigned char)(0xE0 | (cp >> 12));
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        k = 3;
    }
    if (o->len + k >= o->cap || o->chars == GW_VALID_NAME_CHARS)
        return -1;
    memcpy(o->buf + o->len, u, k);
    o->len += k;
    o->buf[o->len] = '\0';
    o->chars++;
    return 0;
}

/* Emit the waiting vowel, now that no more combining marks can follow. */
static int flush_vowel(struct name_out *o)
{
    int rc = 0;

    if (o->row >= 0)
        rc = put_cp(o, vowel_upper[o->row][o->tone]);
    o->row = -1;
    return rc;
}

/* A combining mark after a vowel: set its tone, or its circumflex/breve/horn. */
static int combine(struct name_out *o, uint32_t cp)
{
    int tone = tone_of_mark(cp);
    int row;

    if (o->row < 0)
        return -1;
    if (tone) {
        if (o->tone)
            return -1;
        o->tone = tone;
        return 0;
    }
    row = is_modifier_mark(cp) ? row_with_modifier(o->row, cp) : -1;
    if (row < 0)
        return -1;
    o->row = row;
    return 0;
}

/* 0 ok; else the error code for cp. */
static const char *name_char(struct name_out *o, uint32_t cp)
{
    int row;
    int tone;

    if (cp >= 0x0300 && cp <= 0x036F)
        return combine(o, cp) == 0 ? NULL : "NAME_COMBINING";
    if (flush_vowel(o) != 0)
        return "NAME_TOO_LONG";
    if (cp == ' ' || cp == '\t' || cp == 0x00A0) {
        o->space = 1;
        return NULL;
    }
    if (cp >= '0' && cp <= '9')
        return "NAME_DIGIT";
    if (find_vowel(cp, &row, &tone)) {
        o->row = row;
        o->tone = tone;
        o->letters++;
        return NULL;
    }
    if (cp < 0x80 && is_alpha((char)cp))
        cp = (uint32_t)to_upper((char)cp);
    else if (cp == 0x0111 || cp == 0x0110)
        cp = 0x0110; /* đ Đ */
    else if (cp == 0x2019)
        cp = '\'';
    else if (cp != '-' && cp != '\'')
        return "NAME_CHARACTER";
    o->letters += cp != '-' && cp != '\'';
    return put_cp(o, cp) == 0 ? NULL : "NAME_TOO_LONG";
}

static int name_fail(const char *field, const char *code, uint32_t cp, struct gw_valid_err *err)
{
    if (strcmp(code, "NAME_TOO_LONG") == 0)
        return fail(err, field, code, "%s is longer than %d characters", field, GW_VALID_NAME_CHARS);
    if (strcmp(code, "NAME_DIGIT") == 0)
        return fail(err, field, code, "%s: a name has no digits", field);
    if (strcmp(code, "NAME_COMBINING") == 0)
        return fail(err, field, code,
                    "%s: combining mark U+%04X does not form a Vietnamese letter; send the name precomposed (NFC)",
                    field, (unsigned)cp);
    return fail(err, field, code, "%s: U+%04X is not allowed; only Vietnamese letters, spaces, '-' and ' are", field,
                (unsigned)cp);
}

int gw_valid_name(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    struct name_out o = {.buf = out, .cap = outlen, .row = -1};
    size_t n;
    size_t i = 0;
    uint32_t cp = 0;
    const char *code = NULL;
    int rc;

    if (!field)
        field = "full_name";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (!out || outlen == 0)
        return fail(err, field, "NAME_TOO_LONG", "%s: no room for the name", field);
    out[0] = '\0';
    n = strlen(buf);
    while (i < n && !code) {
        if (utf8_next((const unsigned char *)buf, n, &i, &cp) != 0)
            return fail(err, field, "NAME_ENCODING", "%s is not valid UTF-8", field);
        code = name_char(&o, cp);
    }
    if (!code && flush_vowel(&o) != 0)
        code = "NAME_TOO_LONG";
    if (code)
        return name_fail(field, code, cp, err);
    if (!o.letters || strchr("-'", out[0]) || strchr("-'", out[o.len - 1]))
        return fail(err, field, "NAME_CHARACTER", "%s must start and end with a letter", field);
    return GW_VALID_OK;
}

/* ----------------------------------------------------------------- serial */

int gw_valid_cert_serial(const char *field, const char *in, char *out, size_t outlen, struct gw_valid_err *err)
{
    char buf[GW_VALID_INPUT_MAX + 1];
    char hex[GW_VALID_INPUT_MAX + 1];
    size_t n = 0;
    int rc;

    if (!field)
        field = "old_cert_serial";
    rc = take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    for (const char *p = buf; *p; p++) {
        if (*p == ':' || *p == ' ')
            continue;
        if (!is_digit(*p) && !strchr("abcdefABCDEF", *p))
            return fail(err, field, "SERIAL_FORMAT", "%s: a serial number is written in hex (0-9, A-F)", field);
        hex[n++] = to_upper(*p);
    }
    hex[n] = '\0';
    if (n < 2 || n > 40)
        return fail(err, field, "SERIAL_LENGTH", "%s: a serial number has 2 to 40 hex digits (1 to 20 octets)", field);
    if (n % 2)
        return fail(err, field, "SERIAL_ODD_LENGTH",
                    "%s: a serial number has whole octets (an even number of hex "
                    "digits)",
                    field);
    if (out && outlen)
        snprintf(out, outlen, "%s", hex);
    return GW_VALID_OK;
}
