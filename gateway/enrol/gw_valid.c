/*
 * gw_valid.c - certificate request form fields: checks and normalisation.
 *
 * Every check reports one finding in a struct gw_valid_err named by the
 * caller's field, so the enrolment API can show all the mistakes of a form
 * at once.  Nothing here echoes ID numbers, names or birth dates into a
 * message: messages end up in logs.
 *
 * The free-text fields (e-mail, name, certificate serial) are in
 * gw_valid_text.c; what the two share is in gw_valid_priv.h.
 */
#include "gw_valid.h"
#include "gw_valid_priv.h"

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

int gw_vl_fail(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = vreport(err, field, GW_VALID_ERROR, code, fmt, ap);
    va_end(ap);
    return rc;
}

int gw_vl_warn(struct gw_valid_err *err, const char *field, const char *code, const char *fmt, ...)
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

/*
 * The common prologue: present, not absurdly long, trimmed into buf (which
 * holds GW_VALID_INPUT_MAX + 1).  The length is bounded before anything
 * else looks at the input.
 */
int gw_vl_take(const char *field, const char *in, char buf[GW_VALID_INPUT_MAX + 1], struct gw_valid_err *err)
{
    size_t n;
    size_t start = 0;

    if (!in)
        return gw_vl_fail(err, field, "REQUIRED", "%s is required", field);
    n = strnlen(in, GW_VALID_INPUT_MAX + 1);
    if (n > GW_VALID_INPUT_MAX)
        return gw_vl_fail(err, field, "TOO_LONG", "%s is longer than %d bytes", field, GW_VALID_INPUT_MAX);
    while (start < n && is_blank(in[start]))
        start++;
    while (n > start && is_blank(in[n - 1]))
        n--;
    if (n == start)
        return gw_vl_fail(err, field, "REQUIRED", "%s is required", field);
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
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (parse_dmy(buf, &d) != 0)
        return gw_vl_fail(err, field, "DATE_FORMAT", "%s must be written dd/mm/yyyy", field);
    if (d.y < 1900)
        return gw_vl_fail(err, field, "DATE_INVALID", "%s: years before 1900 are not accepted", field);
    if (d.m < 1 || d.m > 12)
        return gw_vl_fail(err, field, "DATE_INVALID", "%s: there is no month %d", field, d.m);
    if (d.d < 1 || d.d > days_in_month(d.y, d.m))
        return gw_vl_fail(err, field, "DATE_INVALID", "%s: month %d of that year has no day %d", field, d.m, d.d);
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
            return gw_vl_fail(err, field, "DATE_IN_FUTURE", "%s is in the future", field);
        if (age_on(&d, today) < min_age)
            return gw_vl_fail(err, field, "UNDER_AGE", "%s: the holder must be at least %d years old", field, min_age);
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
        gw_vl_fail(err, to_field, "DATE_ORDER", "%s must be after %s", to_field, from_field);
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
        return gw_vl_fail(err, field, "SIMPKI_SUFFIX", "%s: only \"/cs\" may follow the carrier", field);
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
    rc = gw_vl_take(field, in, buf, err);
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
            return gw_vl_fail(err, field, "NOT_SIM_PKI_NETWORK",
                              "%s: %s does not issue SIM PKI; use Viettel, Vinaphone or Mobifone", field, no_simpki[i]);
    }
    if (r.net == CAR_NET_NONE)
        return gw_vl_fail(err, field, "UNKNOWN_CARRIER", "%s must be Viettel, Vinaphone or Mobifone, optionally /cs",
                          field);
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
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (car_msisdn_normalise(buf, r.msisdn, why, sizeof why) != CAR_OK)
        return gw_vl_fail(err, field, "INVALID_MSISDN", "%s: %s", field, why);
    r.national[0] = '0';
    memcpy(r.national + 1, r.msisdn + 2, CAR_MSISDN_LEN - 2); /* 9 digits and the NUL */
    r.converted = was_converted(buf, r.msisdn);
    r.net = car_route_prefix(r.msisdn);
    if (r.net == CAR_NET_NONE)
        return gw_vl_fail(err, field, "NOT_SIM_PKI_NETWORK",
                          "%s: prefix %.3s is not a Viettel, Vinaphone or Mobifone number; SIM PKI needs one", field,
                          r.national);
    if (out)
        *out = r;
    if (declared != CAR_NET_NONE && declared != r.net)
        return gw_vl_warn(err, field, "CARRIER_MISMATCH",
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
        gw_vl_fail(err, field, "CCCD_BIRTH_YEAR_MISMATCH", "%s: digits 4-6 encode a birth year that does not match %s",
                   field, dob_field);
        set_related(err, dob_field);
        return GW_VALID_ERROR;
    }
    if (h->gender != GW_GENDER_UNKNOWN && h->gender != id->gender) {
        gw_vl_fail(err, field, "CCCD_GENDER_MISMATCH", "%s: digit 4 encodes a gender that does not match %s", field,
                   gender_field);
        set_related(err, gender_field);
        return GW_VALID_ERROR;
    }
    /* Only reached without a date of birth, or with one the date checks refuse anyway. */
    if (h->today.y && id->birth_year > h->today.y)
        return gw_vl_fail(err, field, "CCCD_BIRTH_YEAR_FUTURE",
                          "%s: the gender-and-century digit and the next two give a birth year in the future", field);
    return GW_VALID_OK;
}

static int valid_cccd(const char *field, const char *s, const struct gw_valid_holder *h, struct gw_valid_id *out,
                      struct gw_valid_err *err)
{
    const char *code;
    const char *why = cccd_decode(s, out, &code);

    if (why)
        return gw_vl_fail(err, field, code, "%s: %s", field, why);
    return h ? cccd_cross_check(field, out, h, err) : GW_VALID_OK;
}

static int valid_cmnd(const char *field, const char *s, struct gw_valid_id *out, struct gw_valid_err *err)
{
    size_t n = strlen(s);

    if (!all_digits(s) || (n != 9 && n != 12))
        return gw_vl_fail(err, field, "CMND_FORMAT", "%s: a CMND number has 9 or 12 digits", field);
    out->type = GW_ID_CMND;
    copy_str(out->number, sizeof out->number, s);
    return GW_VALID_OK;
}

static int valid_passport(const char *field, const char *s, struct gw_valid_id *out, struct gw_valid_err *err)
{
    size_t n = strlen(s);

    for (size_t i = 0; i < n; i++) {
        if (!is_alpha(s[i]) && !is_digit(s[i]))
            return gw_vl_fail(err, field, "PASSPORT_FORMAT", "%s: a passport number has only letters and digits",
                              field);
    }
    if (n < 6 || n > 9)
        return gw_vl_fail(err, field, "PASSPORT_FORMAT", "%s: a passport number has 6 to 9 letters and digits", field);
    out->type = GW_ID_PASSPORT;
    for (size_t i = 0; i <= n; i++)
        out->number[i] = to_upper(s[i]);
    /* Vietnamese passports: one letter then 7 digits (B1234567, C1234567). */
    if (n == 8 && is_alpha(s[0]) && all_digits(s + 1))
        return GW_VALID_OK;
    return gw_vl_warn(err, field, "FOREIGN_PASSPORT",
                      "%s: not a Vietnamese passport number (one letter and 7 digits); accepted as foreign, check it",
                      field);
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
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    /* People group digits with spaces ("001 087 123456"); nothing else is dropped. */
    if (drop_spaces(buf, s, sizeof s) != 0)
        return gw_vl_fail(err, field, "TOO_LONG", "%s is too long", field);
    if (type == GW_ID_AUTO)
        type = guess_type(s);
    switch (type) {
    case GW_ID_CCCD: rc = valid_cccd(field, s, holder, &r, err); break;
    case GW_ID_CMND: rc = valid_cmnd(field, s, &r, err); break;
    case GW_ID_PASSPORT: rc = valid_passport(field, s, &r, err); break;
    case GW_ID_AUTO:
    default:
        return gw_vl_fail(err, field, "ID_FORMAT",
                          "%s: expected a CCCD (12 digits), a CMND (9 digits) or a passport number", field);
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
        return gw_vl_fail(err, field, "GENDER_INVALID", "%s must be Nam or Nữ", field);
    if (rc == GW_VALID_ERROR)
        return rc;
    if (gender_of(upper, &g) != 0)
        return gw_vl_fail(err, field, "GENDER_INVALID", "%s must be Nam or Nữ", field);
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
        return gw_vl_fail(err, field, "MST_CHECK_DIGIT",
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
        return gw_vl_fail(err, field, "MST_FORMAT", "%s: a 12-digit tax code is a personal identification number: %s",
                          field, why);
    if (id_number && *id_number && strcmp(id_number, s) != 0)
        return gw_vl_fail(err, field, "MST_ID_MISMATCH",
                          "%s: a 12-digit tax code must equal the holder's identification number", field);
    return gw_vl_warn(err, field, "MST_PERSONAL_ID",
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
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (drop_spaces(buf, s, sizeof s) != 0)
        return gw_vl_fail(err, field, "TOO_LONG", "%s is too long", field);
    n = strlen(s);
    /* 0123456789-001 and 0123456789001 are the same branch code. */
    if (n == 14 && s[10] == '-') {
        memmove(s + 10, s + 11, 4);
        n = 13;
    }
    if (!all_digits(s) || (n != 10 && n != 12 && n != 13))
        return gw_vl_fail(err, field, "MST_FORMAT", "%s: a tax code has 10 digits, 10-3 for a branch, or 12", field);
    if (n == 13) {
        memcpy(branch, s + 10, 4);
        s[10] = '\0';
        if (strcmp(branch, "000") == 0)
            return gw_vl_fail(err, field, "MST_BRANCH", "%s: branch numbers run from 001 to 999", field);
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
    rc = gw_vl_take(field, in, buf, err);
    if (rc != GW_VALID_OK)
        return rc;
    if (drop_spaces(buf, s, sizeof s) != 0 || strlen(s) != 7 || !all_digits(s))
        return gw_vl_fail(err, field, "BUDGET_CODE_FORMAT", "%s: a budget relation code has 7 digits", field);
    if (out && outlen)
        snprintf(out, outlen, "%s", s);
    return GW_VALID_OK;
}
