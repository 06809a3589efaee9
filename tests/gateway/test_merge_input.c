/*
 * test_merge_input.c - gateway/merge/gw_merge_input.c: the reorganisation
 * and the staff list, CSV and JSON, English and Vietnamese headers; every
 * column, every finding code with its line, all or nothing; a 100,000-row
 * staff list with broken lines, duplicates and formula cells (refused, the
 * lines reported, nothing taken) and a clean one timed; name keys; and the
 * shipped 2025 province-level reorganisation (argv[1]).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "gw_merge_input.h"

static const char reorg_head[] = "old_unit,new_unit,new_parent,locality,province,old_parent,seat,tax_code,budget_code,"
                                 "basis,basis_date,effective,source\n";

/* The first finding with code (and line, unless 0), or NULL. */
static const struct gw_merge_finding *find(const struct gw_merge_input *in, const char *code, unsigned line)
{
    for (size_t i = 0; i < gw_merge_finding_count(in); i++) {
        const struct gw_merge_finding *f = gw_merge_finding_at(in, i);
        if (strcmp(f->code, code) == 0 && (line == 0 || f->line == line))
            return f;
    }
    return NULL;
}

static struct gw_merge_input *reorg(const char *text, enum gw_merge_err expect)
{
    struct gw_merge_input *in = gw_merge_input_new();
    CHECK_EQ_INT(gw_merge_read_reorg(in, text, strlen(text)), expect);
    return in;
}

static struct gw_merge_input *staff(const char *text, enum gw_merge_err expect)
{
    struct gw_merge_input *in = gw_merge_input_new();
    CHECK_EQ_INT(gw_merge_read_staff(in, text, strlen(text)), expect);
    return in;
}

/* One finding of code on line for column, the file refused and nothing taken. */
static void expect_staff_error(const char *text, const char *code, unsigned line, const char *column)
{
    struct gw_merge_input *in = staff(text, GW_MERGE_ERR_INVALID);
    const struct gw_merge_finding *f = find(in, code, line);
    size_t n = 9;

    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "  expected %s on line %u in: %s\n", code, line, text);
    } else {
        CHECK_EQ_STR(f->column, column);
        CHECK_EQ_STR(f->file, "staff");
        CHECK_EQ_INT(f->warning, 0);
        CHECK(strstr(f->message, "001234567890") == NULL);
    }
    CHECK(gw_merge_has_errors(in));
    CHECK(gw_merge_staff(in, &n) == NULL);
    CHECK_EQ_INT(n, 0);
    gw_merge_input_free(in);
}

static void test_reorg_columns(void)
{
    char text[2048];
    struct gw_merge_input *in;
    const struct gw_reorg_row *r;
    size_t n = 0;

    snprintf(text, sizeof(text), "%s%s", reorg_head,
             "Ủy ban nhân dân xã A,Ủy ban nhân dân xã Tân Lập,UBND TỈNH TUYÊN QUANG,xã Tân Lập,Tuyên Quang,"
             "UBND huyện B,có,0101234567-001,1234567,Nghị quyết 1/2025,12/06/2025,1/7/2025,https://example.vn/nq1\r\n"
             "\"Ủy ban nhân dân xã \"\"C\"\"\",\"Ủy ban nhân dân xã Tân Lập\",,,Tuyên Quang,,,,,NQ 1,2025-06-12,"
             "2025-07-01,\n");
    in = reorg(text, GW_MERGE_OK);
    r = gw_merge_reorg(in, &n);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(gw_merge_finding_count(in), 0);
    if (n == 2) {
        CHECK_EQ_STR(r[0].old_unit, "Ủy ban nhân dân xã A");
        CHECK_EQ_STR(r[0].new_unit, "Ủy ban nhân dân xã Tân Lập");
        CHECK_EQ_STR(r[0].new_parent, "UBND TỈNH TUYÊN QUANG");
        CHECK_EQ_STR(r[0].locality, "xã Tân Lập");
        CHECK_EQ_STR(r[0].province, "Tuyên Quang");
        CHECK_EQ_STR(r[0].old_parent, "UBND huyện B");
        CHECK_EQ_INT(r[0].seat, 1);
        CHECK_EQ_STR(r[0].tax_code, "0101234567-001");
        CHECK_EQ_STR(r[0].budget_code, "1234567");
        CHECK_EQ_STR(r[0].basis, "Nghị quyết 1/2025");
        CHECK_EQ_STR(r[0].basis_date, "2025-06-12");
        CHECK_EQ_STR(r[0].effective, "2025-07-01");
        CHECK_EQ_STR(r[0].source, "https://example.vn/nq1");
        CHECK_EQ_INT(r[0].line, 2);
        CHECK_EQ_STR(r[1].old_unit, "Ủy ban nhân dân xã \"C\"");
        CHECK_EQ_STR(r[1].new_parent, "");
        CHECK_EQ_INT(r[1].seat, 0);
        CHECK_EQ_STR(r[1].effective, "2025-07-01");
        CHECK_EQ_INT(r[1].line, 3);
    }
    /* Read once. */
    CHECK_EQ_INT(gw_merge_read_reorg(in, text, strlen(text)), GW_MERGE_ERR_INVALID);
    gw_merge_input_free(in);
}

static void test_staff_columns(void)
{
    /* Vietnamese headers with and without diacritics, any case, underscores, in another order. */
    static const char text[] = "\xEF\xBB\xBF"
                               "Họ và tên,SO_CCCD,số hiệu chứng thư,Đơn vị cũ,don vi moi,CHỨC VỤ MỚI,Lãnh đạo,"
                               "khu vuc nha nuoc,Giữ thiết bị\n"
                               "Nguyễn Văn A,001234567890,,UBND xã A,UBND xã B,Chủ tịch,x,có,1\n"
                               "  Trần Thị B  ,,00:0a:Bc:12,UBND xã A,,,0,không,no\n"
                               "Lê C,079123456789,7f,UBND xã A,UBND xã B,,Yes,TRUE,\n";
    struct gw_merge_input *in = staff(text, GW_MERGE_OK);
    const struct gw_staff_row *s;
    size_t n = 0;

    s = gw_merge_staff(in, &n);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(gw_merge_finding_count(in), 0);
    if (n == 3) {
        CHECK_EQ_STR(s[0].full_name, "Nguyễn Văn A");
        CHECK_EQ_STR(s[0].id_number, "001234567890");
        CHECK_EQ_STR(s[0].cert_serial, "");
        CHECK_EQ_STR(s[0].old_unit, "UBND xã A");
        CHECK_EQ_STR(s[0].new_unit, "UBND xã B");
        CHECK_EQ_STR(s[0].new_post, "Chủ tịch");
        CHECK_EQ_INT(s[0].leader, 1);
        CHECK_EQ_INT(s[0].state_sector, 1);
        CHECK_EQ_INT(s[0].keeps_device, 1);
        CHECK_EQ_INT(s[0].line, 2);
        CHECK_EQ_STR(s[1].full_name, "Trần Thị B");
        CHECK_EQ_STR(s[1].cert_serial, "ABC12");
        CHECK_EQ_STR(s[1].new_unit, "");
        CHECK_EQ_INT(s[1].leader, 0);
        CHECK_EQ_INT(s[1].state_sector, 0);
        CHECK_EQ_INT(s[1].keeps_device, 0);
        CHECK_EQ_STR(s[2].cert_serial, "7F");
        CHECK_EQ_INT(s[2].leader, 1);
        CHECK_EQ_INT(s[2].keeps_device, 0);
        CHECK_EQ_INT(s[2].line, 4);
    }
    gw_merge_input_free(in);
}

static void test_json(void)
{
    static const char st[] = "\n[\n  {\"full_name\": \"A\", \"id_number\": \"001234567890\", \"old_unit\": \"X\",\n"
                             "   \"leader\": true, \"state_sector\": 1, \"keeps_device\": null},\n"
                             "  {\"Họ và tên\": \"B, \\\"b\\\"\", \"cert_serial\": \"0a\", \"Đơn vị cũ\": \"X\",\n"
                             "   \"Lãnh đạo\": \"không\", \"Khu vực nhà nước\": false, \"Đơn vị mới\": \"Y\"}\n]\n";
    static const char bad[] = "[{\"full_name\": \"A\", \"id_number\": 1234567890, \"old_unit\": \"X\", \"leader\": 1,"
                              " \"state_sector\": 1},\n"
                              " {\"full_name\": \"B\", \"id_number\": \"001234567890\", \"leader\": 1,"
                              " \"state_sector\": 1, \"colour\": \"red\"},\n"
                              " 7\n]";
    static const char rg[] = "[{\"Đơn vị cũ\": \"A\", \"Đơn vị mới\": \"B\", \"Tỉnh\": \"P\", \"Căn cứ\": \"NQ\","
                             " \"Ngày ban hành\": \"12/06/2025\", \"Ngày hiệu lực\": \"2025-07-01\", \"seat\": \"x\"}]";
    struct gw_merge_input *in = staff(st, GW_MERGE_OK);
    const struct gw_staff_row *s;
    const struct gw_reorg_row *r;
    size_t n = 0;

    s = gw_merge_staff(in, &n);
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_INT(s[0].line, 3);
        CHECK_EQ_INT(s[0].leader, 1);
        CHECK_EQ_INT(s[0].state_sector, 1);
        CHECK_EQ_INT(s[0].keeps_device, 0);
        CHECK_EQ_INT(s[1].line, 5);
        CHECK_EQ_STR(s[1].full_name, "B, \"b\"");
        CHECK_EQ_STR(s[1].cert_serial, "A");
        CHECK_EQ_STR(s[1].new_unit, "Y");
        CHECK_EQ_INT(s[1].leader, 0);
    }
    gw_merge_input_free(in);

    in = staff(bad, GW_MERGE_ERR_INVALID);
    CHECK(find(in, "INVALID", 1) != NULL); /* a CCCD as a number */
    CHECK(find(in, "MISSING", 2) != NULL); /* old_unit */
    CHECK(find(in, "HEADER", 2) != NULL);  /* colour */
    CHECK(find(in, "FRAMING", 3) != NULL); /* 7 */
    gw_merge_input_free(in);
    in = staff("[{\"full_name\": ", GW_MERGE_ERR_INVALID);
    CHECK(find(in, "FRAMING", 1) != NULL);
    gw_merge_input_free(in);

    in = reorg(rg, GW_MERGE_OK);
    r = gw_merge_reorg(in, &n);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_EQ_STR(r[0].basis_date, "2025-06-12");
        CHECK_EQ_INT(r[0].seat, 1);
        CHECK_EQ_STR(r[0].source, "");
    }
    gw_merge_input_free(in);
}

#define SH "full_name,id_number,cert_serial,old_unit,leader,state_sector\n"

/* A row-number column (STT, TT, Số TT, No., #) is read past in both files; other unknown columns stay errors. */
static void test_row_number(void)
{
    static const char *const heads[] = {"STT",       "stt", "TT",  "Số TT", "SỐ TT", "so_tt",
                                        "Số thứ tự", "No",  "No.", "#",     " # ",   "S.T.T"};
    static const char *const not_heads[] = {"Số", "Number", "N", "##", "STT2"};
    struct gw_merge_input *in;
    const struct gw_staff_row *s;
    const struct gw_reorg_row *r;
    char text[512];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        snprintf(text, sizeof(text), "%s,%s1,A,001234567890,,X,1,1\n2,B,001234567891,,X,0,0\n", heads[i], SH);
        in = staff(text, GW_MERGE_OK);
        s = gw_merge_staff(in, &n);
        CHECK_EQ_INT(n, 2);
        CHECK_EQ_INT(gw_merge_finding_count(in), 0);
        if (n != 2 || gw_merge_finding_count(in))
            fprintf(stderr, "  row-number column %s not read past\n", heads[i]);
        else
            CHECK(strcmp(s[0].full_name, "A") == 0 && strcmp(s[1].id_number, "001234567891") == 0 && s[1].line == 3);
        gw_merge_input_free(in);
    }
    for (size_t i = 0; i < sizeof(not_heads) / sizeof(not_heads[0]); i++) {
        snprintf(text, sizeof(text), "%s,%s1,A,001234567890,,X,1,1\n", not_heads[i], SH);
        expect_staff_error(text, "HEADER", 1, "");
    }
    /* In the middle, any cell (a formula is never taken as data anyway); a row numbered and nothing else is blank. */
    in = staff("full_name,id_number,cert_serial,Số TT,old_unit,leader,state_sector\n"
               "A,001234567890,,=ROW()-1,X,1,1\n"
               ",,,2,,,\n"
               ",,,3,,,\n",
               GW_MERGE_OK);
    s = gw_merge_staff(in, &n);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(gw_merge_finding_count(in), 0);
    gw_merge_input_free(in);
    /* The reorganisation too, and JSON (any value). */
    snprintf(text, sizeof(text), "STT,%s1,A,B,,,P,,,,,NQ,2025-06-12,2025-07-01,\n", reorg_head);
    in = reorg(text, GW_MERGE_OK);
    r = gw_merge_reorg(in, &n);
    CHECK_EQ_INT(n, 1);
    CHECK(r && strcmp(r[0].old_unit, "A") == 0);
    gw_merge_input_free(in);
    in = staff("[{\"STT\": 1, \"full_name\": \"A\", \"id_number\": \"001234567890\", \"old_unit\": \"X\","
               " \"leader\": 1, \"state_sector\": 0, \"#\": [\"x\"]}]",
               GW_MERGE_OK);
    gw_merge_staff(in, &n);
    CHECK_EQ_INT(n, 1);
    gw_merge_input_free(in);
}

static void test_findings(void)
{
    char big[1200];
    struct gw_merge_input *in;
    const struct gw_merge_finding *f;
    json_t *j;

    /* FRAMING: a stray quote, text after a closing quote, a field count; the other lines still read. */
    expect_staff_error(SH "A,001234567890,,X,1,1\nB,\"0012\"3,,X,1,1\nC,001234567891,,X,1,1\n", "FRAMING", 3, "");
    expect_staff_error(SH "A,001234567890,,X,1,1\nB\"b,001234567891,,X,1,1\n", "FRAMING", 3, "");
    expect_staff_error(SH "A,001234567890,,X,1\n", "FRAMING", 2, "");
    expect_staff_error(SH "\"A\n\",001234567890,,X,1,1\nB,\"001234567891,,X,1,1\n", "FRAMING", 4, "");
    /* HEADER: unknown, repeated, required missing; none with an ID number in the header either. */
    expect_staff_error("full_name,id_number,colour,old_unit,leader,state_sector\n", "HEADER", 1, "");
    expect_staff_error("full_name,id_number,Số CCCD,old_unit,leader,state_sector\n", "HEADER", 1, "id_number");
    expect_staff_error("full_name,id_number,old_unit,leader\n", "HEADER", 1, "state_sector");
    expect_staff_error("full_name,old_unit,leader,state_sector\nA,X,1,1\n", "HEADER", 1, "id_number");
    expect_staff_error("001234567890,A,X\n", "HEADER", 1, "");
    expect_staff_error("", "HEADER", 0, "");
    /* MISSING */
    expect_staff_error(SH "A,001234567890,,X,1,1\n,001234567891,,X,1,1\n", "MISSING", 3, "full_name");
    expect_staff_error(SH "A,,,X,1,1\n", "MISSING", 2, "id_number");
    /* A required boolean has no default: empty is not "no" (it would revoke the certificate). */
    expect_staff_error(SH "A,001234567890,,X,1,1\nB,001234567891,,X,,1\n", "MISSING", 3, "leader");
    expect_staff_error(SH "A,001234567890,,X,1,\n", "MISSING", 2, "state_sector");
    expect_staff_error(SH "A,001234567890,,X,  ,0\n", "MISSING", 2, "leader");
    expect_staff_error(SH "A,001234567890,,X,\"\",0\n", "MISSING", 2, "leader");
    expect_staff_error("[{\"full_name\": \"A\", \"id_number\": \"001234567890\", \"old_unit\": \"X\","
                       " \"leader\": null, \"state_sector\": true}]",
                       "MISSING", 1, "leader");
    expect_staff_error("[{\"full_name\": \"A\", \"id_number\": \"001234567890\", \"old_unit\": \"X\","
                       " \"leader\": true, \"state_sector\": \"\"}]",
                       "MISSING", 1, "state_sector");
    /* INVALID */
    expect_staff_error(SH "A,01234567890,,X,1,1\n", "INVALID", 2, "id_number");
    expect_staff_error(SH "A,00123456789a,,X,1,1\n", "INVALID", 2, "id_number");
    expect_staff_error(SH "A,,12:G4,X,1,1\n", "INVALID", 2, "cert_serial");
    expect_staff_error(SH "A,,00:00,X,1,1\n", "INVALID", 2, "cert_serial");
    expect_staff_error(SH "A,001234567890,,X,maybe,1\n", "INVALID", 2, "leader");
    expect_staff_error(SH "A,001234567890,,X\xC3,1,1\n", "INVALID", 2, "old_unit");
    /* FORMULA, with every starting character, quoted or not, after spaces */
    expect_staff_error(SH "\"=HYPERLINK(\"\"http://x\"\")\",001234567890,,X,1,1\n", "FORMULA", 2, "full_name");
    expect_staff_error(SH "A,+84912345678,,X,1,1\n", "FORMULA", 2, "id_number");
    expect_staff_error(SH "A,001234567890,,-X,1,1\n", "FORMULA", 2, "old_unit");
    expect_staff_error(SH "A,001234567890,,@SUM(1),1,1\n", "FORMULA", 2, "old_unit");
    expect_staff_error(SH "\"\tA\",001234567890,,X,1,1\n", "FORMULA", 2, "full_name");
    expect_staff_error(SH "\"\rA\",001234567890,,X,1,1\n", "FORMULA", 2, "full_name");
    expect_staff_error(SH "  =1+1,001234567890,,X,1,1\n", "FORMULA", 2, "full_name");
    /* DUPLICATE by CCCD and by serial (any case, colons, leading zeros) */
    expect_staff_error(SH "A,001234567890,,X,1,1\nB,001234567891,,X,1,1\nC,001234567890,,Y,0,0\n", "DUPLICATE", 4,
                       "id_number");
    expect_staff_error(SH "A,,0A:BC,X,1,1\nB,,abc,X,1,1\n", "DUPLICATE", 3, "cert_serial");
    in = staff(SH "A,001234567890,,X,1,1\nB,001234567891,,X,1,1\nC,001234567890,,Y,0,0\n", GW_MERGE_ERR_INVALID);
    f = find(in, "DUPLICATE", 4);
    CHECK(f && strstr(f->message, "line 2") != NULL);
    gw_merge_input_free(in);
    /* TOO_LARGE: a cell */
    memset(big, 'a', sizeof(big));
    memcpy(big, SH "A,001234567890,,", strlen(SH "A,001234567890,,"));
    memcpy(big + 600, ",1,1\n", 6);
    expect_staff_error(big, "TOO_LARGE", 2, "old_unit");

    /* Reorganisation: dates, seat, codes, duplicates; SPLIT and SEAT are warnings. */
    in = reorg("old_unit,new_unit,province,basis,basis_date,effective\nA,B,P,NQ,31/02/2025,2025-07-01\n",
               GW_MERGE_ERR_INVALID);
    f = find(in, "INVALID", 2);
    CHECK(f && strcmp(f->column, "basis_date") == 0 && strcmp(f->file, "reorg") == 0);
    gw_merge_input_free(in);
    in = reorg("old_unit,new_unit,province,basis,basis_date,effective,budget_code,tax_code\n"
               "A,B,P,NQ,2025-06-12,2025-13-01,123456,0101\n",
               GW_MERGE_ERR_INVALID);
    CHECK_EQ_INT(gw_merge_finding_count(in), 3);
    gw_merge_input_free(in);
    in = reorg("old_unit,new_unit,province,basis,basis_date,effective\n"
               "UBND xã A,UBND xã B,P,NQ,2025-06-12,2025-07-01\n"
               "ubnd  XÃ A ,UBND XÃ B,P,NQ,2025-06-12,2025-07-01\n",
               GW_MERGE_ERR_INVALID);
    f = find(in, "DUPLICATE", 3);
    CHECK(f && strstr(f->message, "line 2") != NULL);
    gw_merge_input_free(in);

    in = reorg("old_unit,new_unit,province,basis,basis_date,effective,seat\n"
               "UBND xã A,UBND xã Mới 1,P,NQ,2025-06-12,2025-07-01,1\n"
               "UBND xã A,UBND xã Mới 2,P,NQ,2025-06-12,2025-07-01,0\n"
               "UBND xã C,UBND xã Mới 1,P,NQ,2025-06-12,2025-07-01,1\n"
               "UBND xã D,UBND xã Mới 2,P,NQ,2025-06-12,2025-07-01,1\n",
               GW_MERGE_OK);
    {
        size_t n = 0;
        const struct gw_reorg_row *r = gw_merge_reorg(in, &n);
        CHECK_EQ_INT(n, 4);
        CHECK(!gw_merge_has_errors(in));
        f = find(in, "SPLIT", 3);
        CHECK(f && f->warning == 1 && strcmp(f->column, "old_unit") == 0 && strstr(f->message, "line 2"));
        f = find(in, "SEAT", 4);
        CHECK(f && f->warning == 1 && strcmp(f->column, "seat") == 0);
        CHECK_EQ_INT(gw_merge_finding_count(in), 2);
        if (n == 4) {
            CHECK_EQ_INT(r[0].seat, 0); /* two seats for Mới 1: none is taken */
            CHECK_EQ_INT(r[2].seat, 0);
            CHECK_EQ_INT(r[3].seat, 1); /* the one seat of Mới 2 stands */
        }
    }
    j = gw_merge_findings_json(in);
    CHECK(json_array_size(j) == 2);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(j, 0), "code")), "SPLIT");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_array_get(j, 0), "line")), 3);
    CHECK(json_is_true(json_object_get(json_array_get(j, 0), "warning")));
    json_decref(j);
    gw_merge_input_free(in);
    CHECK_EQ_STR(gw_merge_strerror(GW_MERGE_ERR_INVALID), "the file has errors");
    gw_merge_input_free(NULL);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the machine running the tests may be busy */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 generated rows; bad: a broken line every 9,973, a duplicate every 10,007, a formula every 12,011. */
static char *gen_staff(size_t rows, int bad, size_t *len)
{
    size_t cap = rows * 160 + 256, o = 0;
    char *buf = malloc(cap);

    o += (size_t)snprintf(buf + o, cap - o,
                          "Họ và tên,Số CCCD,Số hiệu chứng thư,Đơn vị cũ,Đơn vị mới,Chức vụ mới,Lãnh đạo,"
                          "Khu vực nhà nước,Giữ thiết bị\r\n");
    for (size_t i = 0; i < rows; i++) {
        size_t id = i;
        const char *name = "\"Nguyễn Văn \"\"Tư\"\", Phó\"";
        if (bad && i % 10007 == 10006)
            id = i - 5000; /* the same person as 5,000 rows before */
        if (bad && i % 12011 == 12010)
            name = "\"=HYPERLINK(\"\"x\"\")\"";
        if (bad && i % 9973 == 9972) {
            o += (size_t)snprintf(buf + o, cap - o, "Broken \"quote\",%012zu,,UBND xã A,,,1,1,0\r\n", 100000000000 + i);
            continue;
        }
        o += (size_t)snprintf(buf + o, cap - o,
                              "%s,%012zu,%zX,Ủy ban nhân dân xã Tân Lập %zu,UBND xã Mới %zu,"
                              "Chủ tịch,%s,có,%s\r\n",
                              name, 100000000000 + id, 0x10000 + i, i % 300, i % 100, i % 3 ? "x" : "0",
                              i % 2 ? "không" : "có");
    }
    *len = o;
    return buf;
}

static void test_big(void)
{
    size_t len, n = 9, errors = 0, framing = 0, dup = 0, formula = 0, lines_ok = 1;
    char *buf = gen_staff(100000, 1, &len);
    struct gw_merge_input *in = gw_merge_input_new();
    double t0, t1;

    t0 = now_s();
    CHECK_EQ_INT(gw_merge_read_staff(in, buf, len), GW_MERGE_ERR_INVALID);
    t1 = now_s();
    CHECK(gw_merge_staff(in, &n) == NULL);
    CHECK_EQ_INT(n, 0);
    for (size_t i = 0; i < gw_merge_finding_count(in); i++) {
        const struct gw_merge_finding *f = gw_merge_finding_at(in, i);
        size_t row = f->line - 2; /* line 1 is the header; one line a row */
        errors += !f->warning;
        if (strcmp(f->code, "FRAMING") == 0) {
            framing++;
            lines_ok &= row % 9973 == 9972;
        } else if (strcmp(f->code, "DUPLICATE") == 0) {
            dup++;
            lines_ok &= row % 10007 == 10006 && strstr(f->message, "line ") != NULL;
        } else if (strcmp(f->code, "FORMULA") == 0) {
            formula++;
            lines_ok &= row % 12011 == 12010 && strcmp(f->column, "full_name") == 0;
        } else {
            lines_ok = 0;
        }
    }
    /* 100000/9973 -> 10 broken, 100000/10007 -> 9 duplicates (one of them on a broken or formula row? none),
     * 100000/12011 -> 8 formulas. */
    CHECK_EQ_INT(framing, 10);
    CHECK_EQ_INT(dup, 9);
    CHECK_EQ_INT(formula, 8);
    CHECK_EQ_INT(errors, 27);
    CHECK(lines_ok);
    CHECK_EQ_INT(gw_merge_findings_more(in), 0);
    printf("100,000 staff rows with errors (%zu octets): %.3f s CPU\n", len, t1 - t0);
    gw_merge_input_free(in);
    free(buf);

    buf = gen_staff(100000, 0, &len);
    in = gw_merge_input_new();
    t0 = now_s();
    CHECK_EQ_INT(gw_merge_read_staff(in, buf, len), GW_MERGE_OK);
    t1 = now_s();
    CHECK(gw_merge_staff(in, &n) != NULL);
    CHECK_EQ_INT(n, 100000);
    if (n == 100000) {
        const struct gw_staff_row *s = gw_merge_staff(in, &n);
        CHECK_EQ_STR(s[99999].full_name, "Nguyễn Văn \"Tư\", Phó");
        CHECK_EQ_STR(s[99999].id_number, "100000099999");
        CHECK_EQ_INT(s[99999].line, 100001);
    }
    printf("100,000 clean staff rows (%zu octets): %.3f s CPU\n", len, t1 - t0);
#if !defined(__SANITIZE_ADDRESS__)
    CHECK(t1 - t0 < 1.0); /* under ASan it is several times slower, and says nothing of the real speed */
#endif
    gw_merge_input_free(in);
    free(buf);

    /* Past GW_MERGE_MAX_ROWS: TOO_LARGE on the first row too many. */
    {
        size_t cap = (GW_MERGE_MAX_ROWS + 2) * 40, o = 0;
        buf = malloc(cap);
        o += (size_t)snprintf(buf, cap, "%s", SH);
        for (size_t i = 0; i <= GW_MERGE_MAX_ROWS; i++)
            o += (size_t)snprintf(buf + o, cap - o, "A,%012zu,,X,1,1\n", 100000000000 + i);
        in = gw_merge_input_new();
        CHECK_EQ_INT(gw_merge_read_staff(in, buf, o), GW_MERGE_ERR_INVALID);
        CHECK(find(in, "TOO_LARGE", GW_MERGE_MAX_ROWS + 2) != NULL);
        gw_merge_input_free(in);
        free(buf);
    }
    /* More findings than are kept. */
    {
        size_t o = 0, cap = 300 * 40;
        buf = malloc(cap);
        o += (size_t)snprintf(buf, cap, "%s", SH);
        for (size_t i = 0; i < 250; i++)
            o += (size_t)snprintf(buf + o, cap - o, "A,123,,X,1,1\n");
        in = gw_merge_input_new();
        CHECK_EQ_INT(gw_merge_read_staff(in, buf, o), GW_MERGE_ERR_INVALID);
        CHECK_EQ_INT(gw_merge_finding_count(in), GW_MERGE_MAX_FINDINGS);
        CHECK_EQ_INT(gw_merge_findings_more(in), 50);
        gw_merge_input_free(in);
        free(buf);
    }
}

static void test_name_key(void)
{
    char a[256], b[256];

    gw_merge_name_key("  UBND  Xã Tân Lập ", a, sizeof(a));
    CHECK_EQ_STR(a, "ubnd xã tân lập");
    gw_merge_name_key("ubnd xã tân lập", b, sizeof(b));
    CHECK_EQ_STR(a, b);
    gw_merge_name_key("ỦY BAN NHÂN DÂN TỈNH ĐẮK LẮK", a, sizeof(a));
    CHECK_EQ_STR(a, "ủy ban nhân dân tỉnh đắk lắk");
    gw_merge_name_key("ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ", a, sizeof(a));
    CHECK_EQ_STR(a, "ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ");
    gw_merge_name_key("ÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝĂĐĨŨƠƯ", a, sizeof(a));
    CHECK_EQ_STR(a, "àáâãèéêìíòóôõùúýăđĩũơư");
    gw_merge_name_key("TP. Hồ Chí Minh\t\n", a, sizeof(a));
    CHECK_EQ_STR(a, "tp. hồ chí minh");
    /* Truncated at cap - 1 octets, never inside a character. */
    gw_merge_name_key("ĐĐĐ", a, 4);
    CHECK_EQ_STR(a, "đ");
    gw_merge_name_key("", a, sizeof(a));
    CHECK_EQ_STR(a, "");
}

/* Both keys, and whether they are the same. */
static int same_key(const char *x, const char *y)
{
    char a[256], b[256];

    gw_merge_name_key(x, a, sizeof(a));
    gw_merge_name_key(y, b, sizeof(b));
    if (strcmp(a, b) != 0)
        return 0;
    return 1;
}

/* Old-style and new-style tone placement on oa, oe, uy give one key; different tones do not. */
static void test_name_key_tone(void)
{
    static const char *const pairs[][2] = {
        {"Ủy ban nhân dân tỉnh Khánh Hòa", "UỶ BAN NHÂN DÂN TỈNH KHÁNH HOÀ"},
        {"Thanh Hóa", "Thanh Hoá"},
        {"Ủy ban", "Uỷ ban"},
        {"Thủy", "Thuỷ"},
        {"xã Tùy Hòa", "xã Tuỳ Hoà"},
        {"Hòe Nhai", "Hoè Nhai"},
        {"phường Khỏe, Họa.", "phường Khoẻ, Hoạ."},
        {"Sở Thủy lợi (Thủy)", "Sở Thuỷ lợi (Thuỷ)"},
        {"xã Hòa	Bình", "xã Hoà  Bình"},
        {"Thạch Hõa", "Thạch Hoã"},
        {"Đắk Lắk - Ủy", "Đắk Lắk - Uỷ"},
        {"Ụy", "Uỵ"},
    };
    char a[256];

    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        CHECK(same_key(pairs[i][0], pairs[i][1]));
        if (!same_key(pairs[i][0], pairs[i][1]))
            fprintf(stderr, "  different keys: %s / %s\n", pairs[i][0], pairs[i][1]);
    }
    /* The tone goes on the first vowel. */
    gw_merge_name_key("Khánh Hoà", a, sizeof(a));
    CHECK_EQ_STR(a, "khánh hòa");
    gw_merge_name_key("THUỶ", a, sizeof(a));
    CHECK_EQ_STR(a, "thủy");
    gw_merge_name_key("Uỳ", a, sizeof(a)); /* ỳ (3 octets) becomes ù (2): the key gets shorter */
    CHECK_EQ_STR(a, "ùy");
    /* Different tones stay different. */
    CHECK(!same_key("Hòa", "Hóa"));
    CHECK(!same_key("Hoà", "Hoá"));
    CHECK(!same_key("Thủy", "Thúy"));
    CHECK(!same_key("Hòa", "Hoa"));
    /* With a final consonant (or another vowel) after the pair nothing moves. */
    CHECK(same_key("Hoàng", "hoàng"));
    gw_merge_name_key("Hoàng Toán Khuyến Ngoáy Khoèo", a, sizeof(a));
    CHECK_EQ_STR(a, "hoàng toán khuyến ngoáy khoèo");
    CHECK(!same_key("Hoàng", "Hòang"));
    /* Cut at cap: the tone still moves, and never half a character. */
    gw_merge_name_key("Thuỷ Nguyên", a, 8);
    CHECK_EQ_STR(a, "thủy ");
    gw_merge_name_key("Hoàng", a, 5); /* "hoà" fits, the "n" after it does not: it is still a final */
    CHECK_EQ_STR(a, "hoà");
    gw_merge_name_key("Hoàn", a, 5); /* likewise when the letter cut off is the last */
    CHECK_EQ_STR(a, "hoà");
    gw_merge_name_key("Hoà", a, 5);
    CHECK_EQ_STR(a, "hòa");
}

/* Decomposed input (a base letter and combining marks, in either order) has the key of the precomposed. */
static void test_name_key_nfd(void)
{
    char a[256];

    CHECK(same_key("Khánh Hòa", "Kha\xCC\x81nh Ho\xCC\x80"
                                "a"));                         /* a + U+0301, o + U+0300 */
    CHECK(same_key("Khánh Hòa", "Kha\xCC\x81nh Hoa\xCC\x80")); /* and new-style on the a */
    CHECK(same_key("Ủy ban", "U\xCC\x89y ban"));               /* U+0309 */
    CHECK(same_key("Tuyên Quang", "Tuye\xCC\x82n Quang"));     /* U+0302 */
    CHECK(same_key("Đắk Lắk", "\xC4\x90"
                              "a\xCC\x86\xCC\x81k La\xCC\x81\xCC\x86k")); /* breve+acute, acute+breve */
    CHECK(same_key("Nghệ An", "Nghe\xCC\xA3\xCC\x82 An"));                /* NFD order: dot below, circumflex */
    CHECK(same_key("Nghệ An", "Nghê\xCC\xA3 An"));                        /* ê + U+0323 */
    CHECK(same_key("Thừa Thiên", "Thu\xCC\x9B\xCC\x80"
                                 "a Thiên"));                              /* horn, grave */
    CHECK(same_key("Hồ Chí Minh", "HO\xCC\x82\xCC\x80 Chi\xCC\x81 Minh")); /* upper case base */
    CHECK(same_key("Bà Rịa", "Ba\xCC\x80 Ri\xCC\xA3"
                             "a"));
    CHECK(same_key("Quãng", "Qua\xCC\x83ng"));
    /* Marks that make no Vietnamese letter are kept as they are. */
    gw_merge_name_key("a\xCC\x81\xCC\x80", a, sizeof(a)); /* two tones */
    CHECK_EQ_STR(a, "a\xCC\x81\xCC\x80");
    gw_merge_name_key("b\xCC\x81", a, sizeof(a));
    CHECK_EQ_STR(a, "b\xCC\x81");
    gw_merge_name_key("e\xCC\x9B", a, sizeof(a)); /* a horn on e */
    CHECK_EQ_STR(a, "e\xCC\x9B");
    gw_merge_name_key("\xCC\x81x", a, sizeof(a)); /* a mark with nothing before it */
    CHECK_EQ_STR(a, "\xCC\x81x");
}

/* The shipped reorganisation: 52 old provinces into 23 new ones, one seat each, no findings. */
static void test_shipped(const char *path)
{
    FILE *fp = fopen(path, "rb");
    static char buf[1 << 16];
    size_t len, n = 0, units = 0;
    struct gw_merge_input *in = gw_merge_input_new();
    const struct gw_reorg_row *r;
    char keys[64][128];
    int seats[64] = {0};

    CHECK(fp != NULL);
    if (!fp) {
        gw_merge_input_free(in);
        return;
    }
    len = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    CHECK(len > 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0);
    CHECK_EQ_INT(gw_merge_read_reorg(in, buf, len), GW_MERGE_OK);
    CHECK_EQ_INT(gw_merge_finding_count(in), 0);
    r = gw_merge_reorg(in, &n);
    CHECK_EQ_INT(n, 52);
    for (size_t i = 0; i < n; i++) {
        char k[128];
        size_t u;
        gw_merge_name_key(r[i].new_unit, k, sizeof(k));
        for (u = 0; u < units && strcmp(keys[u], k) != 0; u++)
            ;
        if (u == units && units < 64)
            snprintf(keys[units++], sizeof(keys[0]), "%s", k);
        if (u < 64)
            seats[u] += r[i].seat;
        CHECK_EQ_STR(r[i].basis, "Nghị quyết 202/2025/QH15");
        CHECK_EQ_STR(r[i].basis_date, "2025-06-12");
        CHECK_EQ_STR(r[i].effective, "2025-07-01");
        CHECK(strncmp(r[i].source, "http", 4) == 0 && strstr(r[i].source, "://") != NULL);
        CHECK(strncmp(r[i].old_unit, "Ủy ban nhân dân ", strlen("Ủy ban nhân dân ")) == 0);
    }
    CHECK_EQ_INT(units, 23);
    for (size_t u = 0; u < units; u++) {
        CHECK_EQ_INT(seats[u], 1);
        if (seats[u] != 1)
            fprintf(stderr, "  %s: %d seats\n", keys[u], seats[u]);
    }
    gw_merge_input_free(in);
}

int main(int argc, char **argv)
{
    test_reorg_columns();
    test_staff_columns();
    test_json();
    test_findings();
    test_row_number();
    test_name_key();
    test_name_key_tone();
    test_name_key_nfd();
    test_big();
    if (argc > 1)
        test_shipped(argv[1]);
    else
        CHECK(!"usage: test_merge_input deploy/data/reorg-2025-provinces.csv");
    return check_report("test_merge_input");
}
