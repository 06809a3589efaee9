/*
 * test_gw_valid.c - gateway/enrol/gw_valid.c: one table per form rule, valid and
 * invalid examples; every refusal is checked for its code and for the field
 * it names, every acceptance for its normalised output.  "Today" is fixed
 * at 15/06/2025.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "gw_valid.h"

#define OK   GW_VALID_OK
#define ERR  GW_VALID_ERROR
#define WARN GW_VALID_WARN

static const struct gw_date today = {2025, 6, 15};

/* The checks every result gets; names the case when one fails. */
static void expect(const char *what, int rc, const struct gw_valid_err *e, const char *field, int want_rc,
                   const char *want_code)
{
    unsigned before = check_failed_;

    CHECK_EQ_INT(rc, want_rc);
    CHECK_EQ_STR(e->field, field);
    CHECK_EQ_STR(e->code, want_code ? want_code : "");
    CHECK_EQ_INT(e->warning, want_rc == WARN);
    if (want_rc != OK)
        CHECK(e->message[0] != '\0');
    if (check_failed_ != before)
        fprintf(stderr, "  in case [%s]\n", what ? what : "(null)");
}

/* ------------------------------------------------------------ msisdn */

static void test_msisdn(void)
{
    static const struct {
        const char *in;
        enum car_net declared;
        int rc;
        const char *code;
        const char *msisdn;
        enum car_net net;
        int converted;
    } cases[] = {
        {"0912345678", CAR_NET_NONE, OK, NULL, "84912345678", CAR_NET_VINAPHONE, 0},
        {"+84 96 123 4567", CAR_NET_NONE, OK, NULL, "84961234567", CAR_NET_VIETTEL, 0},
        {"84981234567", CAR_NET_VIETTEL, OK, NULL, "84981234567", CAR_NET_VIETTEL, 0},
        {"0084 90 123 4567", CAR_NET_MOBIFONE, OK, NULL, "84901234567", CAR_NET_MOBIFONE, 0},
        {" 0868.123.456 ", CAR_NET_NONE, OK, NULL, "84868123456", CAR_NET_VIETTEL, 0},
        /* Old 11-digit numbers, converted by the 2018 map. */
        {"01681234567", CAR_NET_NONE, OK, NULL, "84381234567", CAR_NET_VIETTEL, 1},
        {"+84 168 123 4567", CAR_NET_NONE, OK, NULL, "84381234567", CAR_NET_VIETTEL, 1},
        {"01231234567", CAR_NET_NONE, OK, NULL, "84831234567", CAR_NET_VINAPHONE, 1},
        {"01291234567", CAR_NET_NONE, OK, NULL, "84821234567", CAR_NET_VINAPHONE, 1},
        {"01201234567", CAR_NET_NONE, OK, NULL, "84701234567", CAR_NET_MOBIFONE, 1},
        {"01211234567", CAR_NET_NONE, OK, NULL, "84791234567", CAR_NET_MOBIFONE, 1},
        /* Declared carrier disagrees with the prefix: accepted, flagged (ported numbers). */
        {"0912345678", CAR_NET_VIETTEL, WARN, "CARRIER_MISMATCH", "84912345678", CAR_NET_VINAPHONE, 0},
        {"0381234567", CAR_NET_MOBIFONE, WARN, "CARRIER_MISMATCH", "84381234567", CAR_NET_VIETTEL, 0},
        /* Networks without SIM PKI. */
        {"0921234567", CAR_NET_NONE, ERR, "NOT_SIM_PKI_NETWORK"}, /* Vietnamobile */
        {"0521234567", CAR_NET_NONE, ERR, "NOT_SIM_PKI_NETWORK"}, /* Vietnamobile */
        {"0561234567", CAR_NET_VIETTEL, ERR, "NOT_SIM_PKI_NETWORK"},
        {"0591234567", CAR_NET_NONE, ERR, "NOT_SIM_PKI_NETWORK"},  /* Gmobile */
        {"0991234567", CAR_NET_NONE, ERR, "NOT_SIM_PKI_NETWORK"},  /* Gmobile */
        {"0871234567", CAR_NET_NONE, ERR, "NOT_SIM_PKI_NETWORK"},  /* Itelecom */
        {"01861234567", CAR_NET_NONE, ERR, "NOT_SIM_PKI_NETWORK"}, /* old Vietnamobile -> 056 */
        /* Not a mobile number at all. */
        {"091234567", CAR_NET_NONE, ERR, "INVALID_MSISDN"},
        {"09123456789", CAR_NET_NONE, ERR, "INVALID_MSISDN"},
        {"02438256686", CAR_NET_NONE, ERR, "INVALID_MSISDN"}, /* Hà Nội landline */
        {"+1 212 555 0100", CAR_NET_NONE, ERR, "INVALID_MSISDN"},
        {"09l2345678", CAR_NET_NONE, ERR, "INVALID_MSISDN"},
        {"01951234567", CAR_NET_NONE, ERR, "INVALID_MSISDN"}, /* not in the 2018 map */
        {"0912--345678", CAR_NET_NONE, ERR, "INVALID_MSISDN"},
        {"", CAR_NET_NONE, ERR, "REQUIRED"},
        {"   ", CAR_NET_NONE, ERR, "REQUIRED"},
        {NULL, CAR_NET_NONE, ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_valid_msisdn m;
        struct gw_valid_err e;
        int rc = gw_valid_msisdn("subscriber.phone", cases[i].in, cases[i].declared, &m, &e);

        expect(cases[i].in, rc, &e, "subscriber.phone", cases[i].rc, cases[i].code);
        if (cases[i].rc == ERR)
            continue;
        CHECK_EQ_STR(m.msisdn, cases[i].msisdn);
        CHECK_EQ_STR(m.national + 1, cases[i].msisdn + 2);
        CHECK_EQ_INT(m.national[0], '0');
        CHECK_EQ_INT(m.net, cases[i].net);
        CHECK_EQ_INT(m.converted, cases[i].converted);
    }
}

/*
 * The prefix plan the issue gives, against car_route: every 2-digit NSN
 * prefix 30..99 either belongs to the listed SIM PKI network or is refused.
 */
static void test_msisdn_prefix_plan(void)
{
    static const struct {
        const char *prefixes;
        enum car_net net;
    } plan[] = {
        {"86 96 97 98 32 33 34 35 36 37 38 39", CAR_NET_VIETTEL},
        {"88 91 94 81 82 83 84 85", CAR_NET_VINAPHONE},
        {"89 90 93 70 76 77 78 79", CAR_NET_MOBIFONE},
    };

    for (int p = 30; p <= 99; p++) {
        char num[16];
        char two[3] = {(char)('0' + p / 10), (char)('0' + p % 10), '\0'};
        enum car_net want = CAR_NET_NONE;
        struct gw_valid_msisdn m;
        struct gw_valid_err e;
        int rc;

        for (size_t k = 0; k < sizeof plan / sizeof plan[0]; k++) {
            if (strstr(plan[k].prefixes, two))
                want = plan[k].net;
        }
        snprintf(num, sizeof num, "0%s1234567", two);
        rc = gw_valid_msisdn("m", num, CAR_NET_NONE, &m, &e);
        if (want != CAR_NET_NONE) {
            expect(num, rc, &e, "m", OK, NULL);
            CHECK_EQ_INT(m.net, want);
        } else {
            CHECK_EQ_INT(rc, ERR);
            CHECK(strcmp(e.code, "NOT_SIM_PKI_NETWORK") == 0 || strcmp(e.code, "INVALID_MSISDN") == 0);
        }
    }
}

/* ------------------------------------------------------------ SIM PKI */

static void test_simpki(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *code;
        enum car_net net;
        int cs;
        const char *text;
    } cases[] = {
        {"Viettel", OK, NULL, CAR_NET_VIETTEL, 0, "Viettel"},
        {"viettel", OK, NULL, CAR_NET_VIETTEL, 0, "Viettel"},
        {"VINAPHONE", OK, NULL, CAR_NET_VINAPHONE, 0, "Vinaphone"},
        {"MobiFone", OK, NULL, CAR_NET_MOBIFONE, 0, "Mobifone"},
        {"  mobifone  ", OK, NULL, CAR_NET_MOBIFONE, 0, "Mobifone"},
        {"Viettel/cs", OK, NULL, CAR_NET_VIETTEL, 1, "Viettel/cs"},
        {"VINAPHONE/CS", OK, NULL, CAR_NET_VINAPHONE, 1, "Vinaphone/cs"},
        {"Mobifone / cs", OK, NULL, CAR_NET_MOBIFONE, 1, "Mobifone/cs"},
        {"Vietnamobile", ERR, "NOT_SIM_PKI_NETWORK"},
        {"gmobile/cs", ERR, "NOT_SIM_PKI_NETWORK"},
        {"ITELECOM", ERR, "NOT_SIM_PKI_NETWORK"},
        {"Viettell", ERR, "UNKNOWN_CARRIER"},
        {"Vina", ERR, "UNKNOWN_CARRIER"},
        {"/cs", ERR, "UNKNOWN_CARRIER"},
        {"Viettel/", ERR, "SIMPKI_SUFFIX"},
        {"Viettel/xx", ERR, "SIMPKI_SUFFIX"},
        {"Viettel/cs/cs", ERR, "SIMPKI_SUFFIX"},
        {"", ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_valid_simpki s;
        struct gw_valid_err e;
        int rc = gw_valid_simpki("sim_pki", cases[i].in, &s, &e);

        expect(cases[i].in, rc, &e, "sim_pki", cases[i].rc, cases[i].code);
        if (cases[i].rc == ERR)
            continue;
        CHECK_EQ_INT(s.net, cases[i].net);
        CHECK_EQ_INT(s.cs, cases[i].cs);
        CHECK_EQ_STR(s.text, cases[i].text);
    }
}

/* ------------------------------------------------------------ identity */

static void test_id(void)
{
    static const struct {
        enum gw_id_type type;
        const char *in;
        struct gw_date dob;
        enum gw_gender gender;
        int rc;
        const char *code;
        const char *related;
        enum gw_id_type type_out;
        const char *number;
        int birth_year;
    } cases[] = {
        /* CCCD: province, gender-and-century digit, year, 6 random digits. */
        {GW_ID_CCCD, "001087123456", {1987, 5, 12}, GW_GENDER_MALE, OK, NULL, NULL, GW_ID_CCCD, "001087123456", 1987},
        {GW_ID_CCCD, "079195123456", {1995, 1, 1}, GW_GENDER_FEMALE, OK, NULL, NULL, GW_ID_CCCD, "079195123456", 1995},
        {GW_ID_CCCD, "036203001234", {2003, 3, 3}, GW_GENDER_MALE, OK, NULL, NULL, GW_ID_CCCD, "036203001234", 2003},
        {GW_ID_CCCD, "096301123456", {2001, 9, 9}, GW_GENDER_FEMALE, OK, NULL, NULL, GW_ID_CCCD, "096301123456", 2001},
        {GW_ID_CCCD, "001 087 123456", {0}, GW_GENDER_UNKNOWN, OK, NULL, NULL, GW_ID_CCCD, "001087123456", 1987},
        {GW_ID_CCCD, "048090123456", {0}, GW_GENDER_UNKNOWN, OK, NULL, NULL, GW_ID_CCCD, "048090123456", 1990},
        {GW_ID_AUTO, "077170123456", {1970, 2, 2}, GW_GENDER_FEMALE, OK, NULL, NULL, GW_ID_CCCD, "077170123456", 1970},
        {GW_ID_CCCD, "00108712345", {0}, 0, ERR, "CCCD_FORMAT"},
        {GW_ID_CCCD, "00108712345a", {0}, 0, ERR, "CCCD_FORMAT"},
        {GW_ID_CCCD, "0010871234567", {0}, 0, ERR, "CCCD_FORMAT"},
        {GW_ID_CCCD, "003087123456", {0}, 0, ERR, "CCCD_PROVINCE"},
        {GW_ID_CCCD, "097087123456", {0}, 0, ERR, "CCCD_PROVINCE"},
        {GW_ID_CCCD, "000087123456", {0}, 0, ERR, "CCCD_PROVINCE"},
        {GW_ID_AUTO, "099087123456", {0}, 0, ERR, "CCCD_PROVINCE"},
        /* Cross-checks name the field that disagrees. */
        {GW_ID_CCCD,
         "001087123456",
         {1988, 5, 12},
         GW_GENDER_MALE,
         ERR,
         "CCCD_BIRTH_YEAR_MISMATCH",
         "subscriber.birth_date"},
        {GW_ID_CCCD,
         "001287123456",
         {1987, 5, 12},
         GW_GENDER_MALE,
         ERR,
         "CCCD_BIRTH_YEAR_MISMATCH",
         "subscriber.birth_date"}, /* right year, wrong century digit */
        {GW_ID_CCCD,
         "001887123456",
         {1987, 5, 12},
         GW_GENDER_MALE,
         ERR,
         "CCCD_BIRTH_YEAR_MISMATCH",
         "subscriber.birth_date"},
        {GW_ID_CCCD, "001087123456", {1987, 5, 12}, GW_GENDER_FEMALE, ERR, "CCCD_GENDER_MISMATCH", "subscriber.gender"},
        {GW_ID_CCCD, "001187123456", {1987, 5, 12}, GW_GENDER_MALE, ERR, "CCCD_GENDER_MISMATCH", "subscriber.gender"},
        {GW_ID_CCCD, "001487123456", {0}, GW_GENDER_UNKNOWN, ERR, "CCCD_BIRTH_YEAR_FUTURE"},
        {GW_ID_CCCD, "001226123456", {0}, GW_GENDER_UNKNOWN, ERR, "CCCD_BIRTH_YEAR_FUTURE"},
        /* CMND: 9 or 12 digits. */
        {GW_ID_CMND, "012345678", {0}, 0, OK, NULL, NULL, GW_ID_CMND, "012345678"},
        {GW_ID_CMND, "012345678901", {0}, 0, OK, NULL, NULL, GW_ID_CMND, "012345678901"},
        {GW_ID_AUTO, "012 345 678", {0}, 0, OK, NULL, NULL, GW_ID_CMND, "012345678"},
        {GW_ID_CMND, "01234567", {0}, 0, ERR, "CMND_FORMAT"},
        {GW_ID_CMND, "0123456789", {0}, 0, ERR, "CMND_FORMAT"},
        {GW_ID_CMND, "01234567a", {0}, 0, ERR, "CMND_FORMAT"},
        /* Passports: Vietnamese letter + 7 digits; foreign 6-9 alphanumerics with a warning. */
        {GW_ID_PASSPORT, "B1234567", {0}, 0, OK, NULL, NULL, GW_ID_PASSPORT, "B1234567"},
        {GW_ID_PASSPORT, "c1234567", {0}, 0, OK, NULL, NULL, GW_ID_PASSPORT, "C1234567"},
        {GW_ID_AUTO, "N1234567", {0}, 0, OK, NULL, NULL, GW_ID_PASSPORT, "N1234567"},
        {GW_ID_PASSPORT, "AB123456", {0}, 0, WARN, "FOREIGN_PASSPORT", NULL, GW_ID_PASSPORT, "AB123456"},
        {GW_ID_PASSPORT, "123456789", {0}, 0, WARN, "FOREIGN_PASSPORT", NULL, GW_ID_PASSPORT, "123456789"},
        {GW_ID_AUTO, "x12345", {0}, 0, WARN, "FOREIGN_PASSPORT", NULL, GW_ID_PASSPORT, "X12345"},
        {GW_ID_PASSPORT, "A1234", {0}, 0, ERR, "PASSPORT_FORMAT"},
        {GW_ID_PASSPORT, "AB12345678", {0}, 0, ERR, "PASSPORT_FORMAT"},
        {GW_ID_PASSPORT, "B123-4567", {0}, 0, ERR, "PASSPORT_FORMAT"},
        /* AUTO with no shape. */
        {GW_ID_AUTO, "0123456", {0}, 0, ERR, "ID_FORMAT"},
        {GW_ID_AUTO, "12345678901", {0}, 0, ERR, "ID_FORMAT"},
        {GW_ID_CCCD, "", {0}, 0, ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_valid_holder h = {
            .dob = cases[i].dob,
            .dob_field = "subscriber.birth_date",
            .gender = cases[i].gender,
            .gender_field = "subscriber.gender",
            .today = today,
        };
        struct gw_valid_id id;
        struct gw_valid_err e;
        int rc = gw_valid_id("subscriber.id_number", cases[i].type, cases[i].in, &h, &id, &e);

        expect(cases[i].in, rc, &e, "subscriber.id_number", cases[i].rc, cases[i].code);
        CHECK_EQ_STR(e.related, cases[i].related ? cases[i].related : "");
        if (cases[i].rc == ERR)
            continue;
        CHECK_EQ_INT(id.type, cases[i].type_out);
        CHECK_EQ_STR(id.number, cases[i].number);
        if (id.type == GW_ID_CCCD)
            CHECK_EQ_INT(id.birth_year, cases[i].birth_year);
    }
}

static void test_id_details(void)
{
    struct gw_valid_id id;
    struct gw_valid_err e;
    int n = 0;

    /* Decoded fields of a CCCD; no holder at all is fine. */
    CHECK_EQ_INT(gw_valid_id(NULL, GW_ID_CCCD, "079195123456", NULL, &id, &e), OK);
    CHECK_EQ_STR(e.field, "id_number");
    CHECK_EQ_STR(id.province, "079");
    CHECK_EQ_STR(id.province_name, "Hồ Chí Minh");
    CHECK_EQ_INT(id.gender, GW_GENDER_FEMALE);
    CHECK_EQ_INT(id.birth_year, 1995);
    /* 8/9 are the 1800s; default related field names. */
    {
        struct gw_valid_holder h = {.dob = {1887, 1, 1}, .gender = GW_GENDER_MALE};
        CHECK_EQ_INT(gw_valid_id("id", GW_ID_CCCD, "001987123456", &h, &id, &e), ERR);
        CHECK_EQ_STR(e.code, "CCCD_GENDER_MISMATCH");
        CHECK_EQ_STR(e.related, "gender");
        h.gender = GW_GENDER_UNKNOWN;
        h.dob.y = 1987;
        CHECK_EQ_INT(gw_valid_id("id", GW_ID_CCCD, "001887123456", &h, &id, &e), ERR);
        CHECK_EQ_STR(e.related, "date_of_birth");
        h.dob.y = 1887;
        CHECK_EQ_INT(gw_valid_id("id", GW_ID_CCCD, "001887123456", &h, &id, &e), OK);
        CHECK_EQ_INT(id.birth_year, 1887);
    }
    /* The full table: exactly 63 codes, 001 Hà Nội ... 096 Cà Mau. */
    for (int c = 0; c < 1000; c++) {
        char code[4] = {(char)('0' + c / 100), (char)('0' + c / 10 % 10), (char)('0' + c % 10), '\0'};
        n += gw_valid_province_name(code) != NULL;
    }
    CHECK_EQ_INT(n, 63);
    CHECK_EQ_STR(gw_valid_province_name("001"), "Hà Nội");
    CHECK_EQ_STR(gw_valid_province_name("046"), "Thừa Thiên Huế");
    CHECK_EQ_STR(gw_valid_province_name("096"), "Cà Mau");
    CHECK(gw_valid_province_name("003") == NULL);
    CHECK(gw_valid_province_name("097") == NULL);
}

static void test_gender(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *code;
        enum gw_gender g;
    } cases[] = {
        {"Nam", OK, NULL, GW_GENDER_MALE},
        {"nam", OK, NULL, GW_GENDER_MALE},
        {"Nữ", OK, NULL, GW_GENDER_FEMALE},
        {"NỮ", OK, NULL, GW_GENDER_FEMALE},
        {"n\x75\xcc\x9b\xcc\x83", OK, NULL, GW_GENDER_FEMALE}, /* nữ in NFD */
        {"nu", OK, NULL, GW_GENDER_FEMALE},
        {"Female", OK, NULL, GW_GENDER_FEMALE},
        {"M", OK, NULL, GW_GENDER_MALE},
        {"f", OK, NULL, GW_GENDER_FEMALE},
        {"x", ERR, "GENDER_INVALID"},
        {"nam1", ERR, "GENDER_INVALID"},
        {"Nữa", ERR, "GENDER_INVALID"},
        {"", ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum gw_gender g = GW_GENDER_UNKNOWN;
        struct gw_valid_err e;
        int rc = gw_valid_gender("subscriber.gender", cases[i].in, &g, &e);

        expect(cases[i].in, rc, &e, "subscriber.gender", cases[i].rc, cases[i].code);
        if (cases[i].rc == OK)
            CHECK_EQ_INT(g, cases[i].g);
    }
}

/* ------------------------------------------------------- tax, budget */

static void test_mst(void)
{
    static const struct {
        const char *in;
        const char *id;
        int rc;
        const char *code;
        const char *out;
    } cases[] = {
        /* 010004751 -> 6: the worked example; 0100109106 and 0100684378 are real codes. */
        {"0100047516", NULL, OK, NULL, "0100047516"},
        {"0100109106", NULL, OK, NULL, "0100109106"},
        {"0100684378", NULL, OK, NULL, "0100684378"},
        {" 0100 109 106 ", NULL, OK, NULL, "0100109106"},
        {"0100109106-001", NULL, OK, NULL, "0100109106-001"},
        {"0100109106001", NULL, OK, NULL, "0100109106-001"},
        {"0100109106 - 999", NULL, OK, NULL, "0100109106-999"},
        /* 12 digits: the personal identification number, since 1 July 2025. */
        {"001087123456", NULL, WARN, "MST_PERSONAL_ID", "001087123456"},
        {"001087123456", "001087123456", WARN, "MST_PERSONAL_ID", "001087123456"},
        {"001087123456", "001087654321", ERR, "MST_ID_MISMATCH"},
        {"003087123456", NULL, ERR, "MST_FORMAT"},
        {"0100109107", NULL, ERR, "MST_CHECK_DIGIT"},
        {"0100047515", NULL, ERR, "MST_CHECK_DIGIT"},
        {"1000000080", NULL, ERR, "MST_CHECK_DIGIT"}, /* 100000008: remainder 0, no valid check digit */
        {"0000000000", NULL, ERR, "MST_CHECK_DIGIT"},
        {"0100109107-001", NULL, ERR, "MST_CHECK_DIGIT"},
        {"0100109106-000", NULL, ERR, "MST_BRANCH"},
        {"010010910", NULL, ERR, "MST_FORMAT"},
        {"01001091061", NULL, ERR, "MST_FORMAT"},
        {"0100109106-01", NULL, ERR, "MST_FORMAT"},
        {"0100109106/001", NULL, ERR, "MST_FORMAT"},
        {"01OO109106", NULL, ERR, "MST_FORMAT"},
        {"-0100109106", NULL, ERR, "MST_FORMAT"},
        {"", NULL, ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32] = "";
        struct gw_valid_err e;
        int rc = gw_valid_mst("organisation.code", cases[i].in, cases[i].id, out, sizeof out, &e);

        expect(cases[i].in, rc, &e, "organisation.code", cases[i].rc, cases[i].code);
        if (cases[i].rc != ERR)
            CHECK_EQ_STR(out, cases[i].out);
    }
}

static void test_budget_code(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *code;
        const char *out;
    } cases[] = {
        {"1234567", OK, NULL, "1234567"},
        {"123 4567", OK, NULL, "1234567"},
        {"123456", ERR, "BUDGET_CODE_FORMAT"},
        {"12345678", ERR, "BUDGET_CODE_FORMAT"},
        {"12345a7", ERR, "BUDGET_CODE_FORMAT"},
        {"123-4567", ERR, "BUDGET_CODE_FORMAT"},
        {NULL, ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16] = "";
        struct gw_valid_err e;
        int rc = gw_valid_budget_code("organisation.budget_code", cases[i].in, out, sizeof out, &e);

        expect(cases[i].in, rc, &e, "organisation.budget_code", cases[i].rc, cases[i].code);
        if (cases[i].rc == OK)
            CHECK_EQ_STR(out, cases[i].out);
    }
}

/* ------------------------------------------------------------ e-mail */

static void test_email(void)
{
    static char local65[80];
    static char label64[100];
    static const struct {
        const char *in;
        int rc;
        const char *code;
        const char *out;
    } cases[] = {
        {"nguyenvana@hanoi.gov.vn", OK, NULL, "nguyenvana@hanoi.gov.vn"},
        {"Nguyen.Van.A@MOF.GOV.VN", OK, NULL, "Nguyen.Van.A@mof.gov.vn"},
        {"vp@sotttt.hanoi.gov.vn", OK, NULL, "vp@sotttt.hanoi.gov.vn"},
        {"  tt-cntt+ca@ubnd-hcm.gov.vn ", OK, NULL, "tt-cntt+ca@ubnd-hcm.gov.vn"},
        /* Public mailboxes are refused. */
        {"a@gmail.com", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@GMAIL.COM", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@yahoo.com", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@yahoo.com.vn", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@hotmail.com", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@outlook.com", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@live.com", ERR, "EMAIL_PERSONAL_DOMAIN"},
        {"a@icloud.com", ERR, "EMAIL_PERSONAL_DOMAIN"},
        /* Anything else: accepted for review. */
        {"a@vnpt.vn", WARN, "EMAIL_DOMAIN_REVIEW", "a@vnpt.vn"},
        {"a@hus.edu.vn", WARN, "EMAIL_DOMAIN_REVIEW", "a@hus.edu.vn"},
        {"a@gov.vn", WARN, "EMAIL_DOMAIN_REVIEW", "a@gov.vn"},
        {"a@xgov.vn", WARN, "EMAIL_DOMAIN_REVIEW", "a@xgov.vn"},
        {"a@hanoi.gov.vn.evil.com", WARN, "EMAIL_DOMAIN_REVIEW", "a@hanoi.gov.vn.evil.com"},
        {"a@mail.gmail.com", WARN, "EMAIL_DOMAIN_REVIEW", "a@mail.gmail.com"},
        /* Syntax. */
        {"a.hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@b@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@", ERR, "EMAIL_SYNTAX"},
        {"a.@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {".a@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a..b@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a b@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a(b)@hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@hanoi..gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@.hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@hanoi.gov.vn.", ERR, "EMAIL_SYNTAX"},
        {"a@-hanoi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@hanoi-.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@ha_noi.gov.vn", ERR, "EMAIL_SYNTAX"},
        {"a@localhost", ERR, "EMAIL_SYNTAX"},
        {"a@1.2.3.4", ERR, "EMAIL_SYNTAX"},
        {"a@hanoi.gov.v", ERR, "EMAIL_SYNTAX"},
        {"a@hà-nội.gov.vn", ERR, "EMAIL_SYNTAX"},
        {local65, ERR, "EMAIL_SYNTAX"},
        {label64, ERR, "EMAIL_SYNTAX"},
        {"", ERR, "REQUIRED"},
    };

    memset(local65, 'a', 65);
    snprintf(local65 + 65, sizeof local65 - 65, "@hanoi.gov.vn");
    label64[0] = 'a';
    label64[1] = '@';
    memset(label64 + 2, 'b', 64);
    snprintf(label64 + 66, sizeof label64 - 66, ".gov.vn");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256] = "";
        struct gw_valid_err e;
        int rc = gw_valid_email("subscriber.email", cases[i].in, out, sizeof out, &e);

        expect(cases[i].in, rc, &e, "subscriber.email", cases[i].rc, cases[i].code);
        if (cases[i].rc != ERR)
            CHECK_EQ_STR(out, cases[i].out);
    }
    /* The limits themselves are fine: 64-octet local part, 63-octet label. */
    {
        char addr[200];
        char out[256];
        struct gw_valid_err e;

        memset(addr, 'a', 64);
        snprintf(addr + 64, sizeof addr - 64, "@%.63s.gov.vn", label64 + 2);
        CHECK_EQ_INT(gw_valid_email(NULL, addr, out, sizeof out, &e), OK);
        CHECK_EQ_STR(e.field, "email");
    }
}

/* --------------------------------------------------------------- name */

static void test_name(void)
{
    static char a64[65];
    static char a65[66];
    static const struct {
        const char *in;
        int rc;
        const char *code;
        const char *out;
    } cases[] = {
        {"nguyễn văn an", OK, NULL, "NGUYỄN VĂN AN"},
        {"  trần   thị \t bích  ngọc ", OK, NULL, "TRẦN THỊ BÍCH NGỌC"},
        {"Lê Thị Hằng", OK, NULL, "LÊ THỊ HẰNG"},
        {"đặng hữu phúc", OK, NULL, "ĐẶNG HỮU PHÚC"},
        {"ĐỖ MẠNH HÙNG", OK, NULL, "ĐỖ MẠNH HÙNG"},
        {"phạm ngọc ánh-dương", OK, NULL, "PHẠM NGỌC ÁNH-DƯƠNG"},
        {"hoàng\xc2\xa0yến", OK, NULL, "HOÀNG YẾN"}, /* no-break space */
        {"o'neil", OK, NULL, "O'NEIL"},
        {"O\xe2\x80\x99Neil", OK, NULL, "O'NEIL"}, /* U+2019 */
        {"Ksor H'Bia", OK, NULL, "KSOR H'BIA"},
        /* NFD input is composed. */
        {"\x4e\x67\x75\x79\x65\xcc\x82\xcc\x83\x6e", OK, NULL, "NGUYỄN"},
        {"\x61\xcc\x82\xcc\xa3", OK, NULL, "Ậ"}, /* circumflex before dot below */
        {"\x61\xcc\xa3\xcc\x82", OK, NULL, "Ậ"}, /* canonical order */
        {"\xc3\xa2\xcc\xa3", OK, NULL, "Ậ"},     /* precomposed â + dot below */
        {"\xe1\xba\xa1\xcc\x82", OK, NULL, "Ậ"}, /* precomposed ạ + circumflex */
        {"\x55\xcc\x9b\xcc\x81", OK, NULL, "Ứ"},
        {a64, OK, NULL, a64},
        /* Refused. */
        {"Nguyen Van 2", ERR, "NAME_DIGIT"},
        {"Nguyen@Van", ERR, "NAME_CHARACTER"},
        {"Nguyễn_Văn", ERR, "NAME_CHARACTER"},
        {"Nguyễn.Văn", ERR, "NAME_CHARACTER"},
        {"Müller", ERR, "NAME_CHARACTER"},
        {"\xf0\x9f\x98\x80", ERR, "NAME_CHARACTER"}, /* emoji */
        {"-An", ERR, "NAME_CHARACTER"},
        {"An'", ERR, "NAME_CHARACTER"},
        {"--", ERR, "NAME_CHARACTER"},
        {"An\x01", ERR, "NAME_CHARACTER"},
        {"\xff\xfe", ERR, "NAME_ENCODING"},
        {"\xc0\xaf", ERR, "NAME_ENCODING"},              /* overlong '/' */
        {"\xed\xa0\x80", ERR, "NAME_ENCODING"},          /* surrogate */
        {"Nguy\xe1\xbb", ERR, "NAME_ENCODING"},          /* truncated */
        {"\x65\xcc\x86", ERR, "NAME_COMBINING"},         /* e + breve */
        {"\xcc\x81\x61n", ERR, "NAME_COMBINING"},        /* mark first */
        {"\x61\xcc\x81\xcc\x80", ERR, "NAME_COMBINING"}, /* two tones */
        {"\x64\xcc\x81", ERR, "NAME_COMBINING"},         /* tone on a consonant */
        {"\x61 \xcc\x81", ERR, "NAME_COMBINING"},        /* tone after a space */
        {"\x6f\xcc\x88", ERR, "NAME_COMBINING"},         /* diaeresis */
        {a65, ERR, "NAME_TOO_LONG"},
        {"", ERR, "REQUIRED"},
    };

    memset(a64, 'A', 64);
    memset(a65, 'a', 65);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[GW_VALID_NAME_MAX] = "";
        struct gw_valid_err e;
        int rc = gw_valid_name("receiver.full_name", cases[i].in, out, sizeof out, &e);

        expect(cases[i].in, rc, &e, "receiver.full_name", cases[i].rc, cases[i].code);
        if (cases[i].rc == OK)
            CHECK_EQ_STR(out, cases[i].out);
    }
}

/* Every precomposed Vietnamese vowel, and its NFD form, maps to the precomposed capital. */
static void test_name_vowels(void)
{
    static const struct {
        const char *nfc, *nfd, *upper;
    } rows[] = {
        {"aàáảãạ", "\x61\x61\xcc\x80\x61\xcc\x81\x61\xcc\x89\x61\xcc\x83\x61\xcc\xa3", "AÀÁẢÃẠ"},
        {"ăằắẳẵặ",
         "\x61\xcc\x86\x61\xcc\x86\xcc\x80\x61\xcc\x86\xcc\x81\x61\xcc\x86\xcc\x89\x61\xcc\x86\xcc\x83\x61\xcc\xa3\xcc"
         "\x86",
         "ĂẰẮẲẴẶ"},
        {"âầấẩẫậ",
         "\x61\xcc\x82\x61\xcc\x82\xcc\x80\x61\xcc\x82\xcc\x81\x61\xcc\x82\xcc\x89\x61\xcc\x82\xcc\x83\x61\xcc\xa3\xcc"
         "\x82",
         "ÂẦẤẨẪẬ"},
        {"eèéẻẽẹ", "\x65\x65\xcc\x80\x65\xcc\x81\x65\xcc\x89\x65\xcc\x83\x65\xcc\xa3", "EÈÉẺẼẸ"},
        {"êềếểễệ",
         "\x65\xcc\x82\x65\xcc\x82\xcc\x80\x65\xcc\x82\xcc\x81\x65\xcc\x82\xcc\x89\x65\xcc\x82\xcc\x83\x65\xcc\xa3\xcc"
         "\x82",
         "ÊỀẾỂỄỆ"},
        {"iìíỉĩị", "\x69\x69\xcc\x80\x69\xcc\x81\x69\xcc\x89\x69\xcc\x83\x69\xcc\xa3", "IÌÍỈĨỊ"},
        {"oòóỏõọ", "\x6f\x6f\xcc\x80\x6f\xcc\x81\x6f\xcc\x89\x6f\xcc\x83\x6f\xcc\xa3", "OÒÓỎÕỌ"},
        {"ôồốổỗộ",
         "\x6f\xcc\x82\x6f\xcc\x82\xcc\x80\x6f\xcc\x82\xcc\x81\x6f\xcc\x82\xcc\x89\x6f\xcc\x82\xcc\x83\x6f\xcc\xa3\xcc"
         "\x82",
         "ÔỒỐỔỖỘ"},
        {"ơờớởỡợ",
         "\x6f\xcc\x9b\x6f\xcc\x9b\xcc\x80\x6f\xcc\x9b\xcc\x81\x6f\xcc\x9b\xcc\x89\x6f\xcc\x9b\xcc\x83\x6f\xcc\x9b\xcc"
         "\xa3",
         "ƠỜỚỞỠỢ"},
        {"uùúủũụ", "\x75\x75\xcc\x80\x75\xcc\x81\x75\xcc\x89\x75\xcc\x83\x75\xcc\xa3", "UÙÚỦŨỤ"},
        {"ưừứửữự",
         "\x75\xcc\x9b\x75\xcc\x9b\xcc\x80\x75\xcc\x9b\xcc\x81\x75\xcc\x9b\xcc\x89\x75\xcc\x9b\xcc\x83\x75\xcc\x9b\xcc"
         "\xa3",
         "ƯỪỨỬỮỰ"},
        {"yỳýỷỹỵ", "\x79\x79\xcc\x80\x79\xcc\x81\x79\xcc\x89\x79\xcc\x83\x79\xcc\xa3", "YỲÝỶỸỴ"},
    };

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[GW_VALID_NAME_MAX];
        struct gw_valid_err e;

        CHECK_EQ_INT(gw_valid_name("n", rows[i].nfc, out, sizeof out, &e), OK);
        CHECK_EQ_STR(out, rows[i].upper);
        CHECK_EQ_INT(gw_valid_name("n", rows[i].nfd, out, sizeof out, &e), OK);
        CHECK_EQ_STR(out, rows[i].upper);
        /* Capitals are left alone. */
        CHECK_EQ_INT(gw_valid_name("n", rows[i].upper, out, sizeof out, &e), OK);
        CHECK_EQ_STR(out, rows[i].upper);
    }
    /* An output buffer too small is refused, not overrun. */
    {
        char small[8];
        struct gw_valid_err e;
        CHECK_EQ_INT(gw_valid_name("n", "NGUYỄN VĂN AN", small, sizeof small, &e), ERR);
        CHECK_EQ_STR(e.code, "NAME_TOO_LONG");
    }
}

/* -------------------------------------------------------------- dates */

static void test_date(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *code;
        const char *text;
    } cases[] = {
        {"01/01/2000", OK, NULL, "01/01/2000"},
        {"1/2/2000", OK, NULL, "01/02/2000"},
        {"29/02/2024", OK, NULL, "29/02/2024"},
        {"29/02/2000", OK, NULL, "29/02/2000"}, /* divisible by 400 */
        {"31/12/1999", OK, NULL, "31/12/1999"},
        {"30/04/2075", OK, NULL, "30/04/2075"}, /* any date may be in the future */
        {"29/02/2023", ERR, "DATE_INVALID"},
        {"29/02/1900", ERR, "DATE_INVALID"}, /* divisible by 100 */
        {"31/04/2020", ERR, "DATE_INVALID"},
        {"00/01/2020", ERR, "DATE_INVALID"},
        {"32/01/2020", ERR, "DATE_INVALID"},
        {"01/13/2020", ERR, "DATE_INVALID"},
        {"01/00/2020", ERR, "DATE_INVALID"},
        {"31/12/1899", ERR, "DATE_INVALID"},
        {"2020-01-01", ERR, "DATE_FORMAT"},
        {"01/01/20", ERR, "DATE_FORMAT"},
        {"01-01-2020", ERR, "DATE_FORMAT"},
        {"1/1/2020x", ERR, "DATE_FORMAT"},
        {"001/01/2020", ERR, "DATE_FORMAT"},
        {"01/01/02020", ERR, "DATE_FORMAT"},
        {"/01/2020", ERR, "DATE_FORMAT"},
        {"", ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[11] = "";
        struct gw_date d;
        struct gw_valid_err e;
        int rc = gw_valid_date("certificate.valid_to", cases[i].in, &d, text, &e);

        expect(cases[i].in, rc, &e, "certificate.valid_to", cases[i].rc, cases[i].code);
        if (cases[i].rc == OK)
            CHECK_EQ_STR(text, cases[i].text);
    }
}

static void test_birth_date(void)
{
    static const struct {
        const char *in;
        struct gw_date today;
        int rc;
        const char *code;
    } cases[] = {
        {"15/06/2007", {2025, 6, 15}, OK, NULL}, /* 18 today */
        {"14/06/2007", {2025, 6, 15}, OK, NULL},
        {"01/01/1960", {2025, 6, 15}, OK, NULL},
        {"29/02/2008", {2026, 2, 28}, OK, NULL}, /* leap-day birthday */
        {"29/02/2008", {2026, 3, 1}, OK, NULL},
        {"29/02/2008", {2026, 2, 27}, ERR, "UNDER_AGE"},
        {"16/06/2007", {2025, 6, 15}, ERR, "UNDER_AGE"},
        {"15/07/2007", {2025, 6, 15}, ERR, "UNDER_AGE"},
        {"15/06/2025", {2025, 6, 15}, ERR, "UNDER_AGE"},
        {"16/06/2025", {2025, 6, 15}, ERR, "DATE_IN_FUTURE"},
        {"01/01/2030", {2025, 6, 15}, ERR, "DATE_IN_FUTURE"},
        {"31/02/1980", {2025, 6, 15}, ERR, "DATE_INVALID"},
        {"1980", {2025, 6, 15}, ERR, "DATE_FORMAT"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_date d;
        struct gw_valid_err e;
        int rc = gw_valid_birth_date("subscriber.birth_date", cases[i].in, &cases[i].today, 18, &d, NULL, &e);

        expect(cases[i].in, rc, &e, "subscriber.birth_date", cases[i].rc, cases[i].code);
    }
}

static void test_date_order(void)
{
    struct gw_date a = {2020, 1, 1}, b = {2023, 1, 1};
    struct gw_valid_err e;

    expect("from<to", gw_valid_date_order("certificate.valid_from", &a, "certificate.valid_to", &b, &e), &e,
           "certificate.valid_to", OK, NULL);
    expect("from==to", gw_valid_date_order("certificate.valid_from", &a, "certificate.valid_to", &a, &e), &e,
           "certificate.valid_to", ERR, "DATE_ORDER");
    CHECK_EQ_STR(e.related, "certificate.valid_from");
    expect("from>to", gw_valid_date_order("certificate.valid_from", &b, "certificate.valid_to", &a, &e), &e,
           "certificate.valid_to", ERR, "DATE_ORDER");
    CHECK_EQ_STR(e.related, "certificate.valid_from");
}

static void test_date_from_unix(void)
{
    static const struct {
        long long t;
        int off;
        struct gw_date d;
    } cases[] = {
        {0, 0, {1970, 1, 1}},
        {-1, 0, {1969, 12, 31}},
        {-1, 7 * 3600, {1970, 1, 1}},
        {1750000000, 7 * 3600, {2025, 6, 15}},
        {1750006799, 7 * 3600, {2025, 6, 15}},
        {1750006800, 7 * 3600, {2025, 6, 16}}, /* midnight in Hà Nội */
        {951782400, 0, {2000, 2, 29}},
        {4102444800LL, 7 * 3600, {2100, 1, 1}},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gw_date d;
        gw_date_from_unix(cases[i].t, cases[i].off, &d);
        CHECK_EQ_INT(gw_date_cmp(&d, &cases[i].d), 0);
    }
}

/* ------------------------------------------------------------- serial */

static void test_serial(void)
{
    static const struct {
        const char *in;
        int rc;
        const char *code;
        const char *out;
    } cases[] = {
        {"0A1B", OK, NULL, "0A1B"},
        {"0a:1b:2c:3d", OK, NULL, "0A1B2C3D"},
        {"0a 1b 2c", OK, NULL, "0A1B2C"},
        {"01", OK, NULL, "01"},
        {"54:6f:e8:12:34:56:78:9a:bc:de:f0:01:23:45:67:89:ab:cd:ef:01", OK, NULL,
         "546FE8123456789ABCDEF00123456789ABCDEF01"},
        {"1", ERR, "SERIAL_LENGTH"},
        {"::", ERR, "SERIAL_LENGTH"},
        {"123", ERR, "SERIAL_ODD_LENGTH"},
        {"546FE8123456789ABCDEF00123456789ABCDEF0", ERR, "SERIAL_ODD_LENGTH"},
        {"546FE8123456789ABCDEF00123456789ABCDEF012", ERR, "SERIAL_LENGTH"},
        {"546FE8123456789ABCDEF00123456789ABCDEF0123", ERR, "SERIAL_LENGTH"},
        {"0x1234", ERR, "SERIAL_FORMAT"},
        {"12G4", ERR, "SERIAL_FORMAT"},
        {"12-34", ERR, "SERIAL_FORMAT"},
        {"", ERR, "REQUIRED"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[GW_VALID_SERIAL_MAX] = "";
        struct gw_valid_err e;
        int rc = gw_valid_cert_serial("certificate.serial", cases[i].in, out, sizeof out, &e);

        expect(cases[i].in, rc, &e, "certificate.serial", cases[i].rc, cases[i].code);
        if (cases[i].rc == OK)
            CHECK_EQ_STR(out, cases[i].out);
    }
}

/* ------------------------------------------------------------ hostile */

static void test_limits(void)
{
    static char big[GW_VALID_INPUT_MAX + 2];
    char out[GW_VALID_NAME_MAX];
    struct gw_valid_msisdn m;
    struct gw_valid_err e;

    memset(big, '9', sizeof big - 1);
    expect("big msisdn", gw_valid_msisdn("x", big, CAR_NET_NONE, &m, &e), &e, "x", ERR, "TOO_LONG");
    expect("big name", gw_valid_name("x", big, out, sizeof out, &e), &e, "x", ERR, "TOO_LONG");
    expect("big serial", gw_valid_cert_serial("x", big, out, sizeof out, &e), &e, "x", ERR, "TOO_LONG");
    /* err may be NULL; the result still tells. */
    CHECK_EQ_INT(gw_valid_msisdn("x", "0921234567", CAR_NET_NONE, &m, NULL), ERR);
    CHECK_EQ_INT(gw_valid_email("x", "a@vnpt.vn", out, sizeof out, NULL), WARN);
    /* Default field names. */
    CHECK_EQ_INT(gw_valid_msisdn(NULL, "", CAR_NET_NONE, &m, &e), ERR);
    CHECK_EQ_STR(e.field, "msisdn");
    CHECK_EQ_INT(gw_valid_simpki(NULL, "x", NULL, &e), ERR);
    CHECK_EQ_STR(e.field, "sim_pki");
    CHECK_EQ_INT(gw_valid_mst(NULL, "x", NULL, NULL, 0, &e), ERR);
    CHECK_EQ_STR(e.field, "tax_code");
    CHECK_EQ_INT(gw_valid_name(NULL, "x1", out, sizeof out, &e), ERR);
    CHECK_EQ_STR(e.field, "full_name");
    /* A field name longer than the slot is cut, not overrun. */
    CHECK_EQ_INT(gw_valid_date("a.very.long.path.to.a.field.that.does.not.fit.in.forty.eight", "x", NULL, NULL, &e),
                 ERR);
    CHECK_EQ_INT(strlen(e.field), sizeof e.field - 1);
}

int main(void)
{
    test_msisdn();
    test_msisdn_prefix_plan();
    test_simpki();
    test_id();
    test_id_details();
    test_gender();
    test_mst();
    test_budget_code();
    test_email();
    test_name();
    test_name_vowels();
    test_date();
    test_birth_date();
    test_date_order();
    test_date_from_unix();
    test_serial();
    test_limits();
    return check_report("test_gw_valid");
}
