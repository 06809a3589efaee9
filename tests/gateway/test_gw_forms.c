/*
 * test_gw_forms.c - gateway/enrol/gw_forms.c: every form against its golden HTML
 * (tests/gateway/forms/NAME.json -> NAME.html.ok, byte for byte), the CA
 * exports against golden CSV and JSON, the HTML escaper and the CSV quoting
 * with hostile input, and every refusal naming its field.
 *
 *   test_gw_forms FORMS_DIR
 *   SIMPKI_UPDATE_GOLDEN=1 test_gw_forms FORMS_DIR   rewrites the .ok files
 *                                                    (then read the diff)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gw_forms.h"

static const char *dir;
static int update;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *q = realloc(p, cap);
            if (!q) {
                free(p);
                fclose(f);
                return NULL;
            }
            p = q;
        }
        size_t got = fread(p + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

/* Compare out with DIR/name, or write it there in update mode. */
static void golden(const char *name, const char *out, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (update) {
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL);
        if (f) {
            CHECK(fwrite(out, 1, len, f) == len);
            fclose(f);
        }
        return;
    }
    size_t oklen = 0;
    char *ok = slurp(path, &oklen);
    if (!ok) {
        fprintf(stderr, "%s: missing (SIMPKI_UPDATE_GOLDEN=1 writes it)\n", path);
        CHECK(ok != NULL);
        return;
    }
    if (oklen != len || memcmp(ok, out, len) != 0) {
        size_t i = 0;
        while (i < len && i < oklen && ok[i] == out[i])
            i++;
        fprintf(stderr, "%s: differs at octet %zu (got %zu octets, expected %zu)\n", path, i, len, oklen);
    }
    CHECK(oklen == len && memcmp(ok, out, len) == 0);
    free(ok);
}

static json_t *load(const char *name)
{
    char path[1024];
    json_error_t jerr;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
    return j;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* Render NAME.json, compare with NAME.html.ok; returns the HTML (caller frees). */
static char *render_case(const char *name)
{
    char in[256], ok[256], err[256] = "";
    char *html = NULL;
    size_t len = 0;
    snprintf(in, sizeof in, "%s.json", name);
    snprintf(ok, sizeof ok, "%s.html.ok", name);
    json_t *req = load(in);
    CHECK(req != NULL);
    if (!req)
        return NULL;
    enum gw_form_err rc = gw_form_render_html(req, &html, &len, err, sizeof err);
    if (rc != GW_FORM_OK)
        fprintf(stderr, "%s: %s\n", in, err);
    CHECK_EQ_INT(rc, GW_FORM_OK);
    json_decref(req);
    if (html) {
        CHECK_EQ_INT(strlen(html), len);
        golden(ok, html, len);
    }
    return html;
}

/* gw_form_render_body: exactly what the whole page holds between <body> and </body>. */
static void body_case(const char *name, const char *html)
{
    char in[256];
    char *body = NULL;
    size_t len = 0;
    const char *start = strstr(html, "<body>\n"), *end = strstr(html, "</body>\n</html>\n");
    json_t *req;

    snprintf(in, sizeof in, "%s.json", name);
    req = load(in);
    CHECK(req != NULL && start != NULL && end != NULL);
    if (!req || !start || !end) {
        json_decref(req);
        return;
    }
    start += strlen("<body>\n");
    CHECK_EQ_INT(gw_form_render_body(req, &body, &len, NULL, 0), GW_FORM_OK);
    CHECK(body && len == (size_t)(end - start) && memcmp(body, start, len) == 0);
    free(body);
    json_decref(req);
}

static void test_goldens(void)
{
    static const struct {
        const char *name, *formno, *title;
    } cases[] = {
        {"mau01_person_new", "Mẫu 01 (Mẫu 01/2024)", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN"},
        {"minimal_person_new", "Mẫu 01 (Mẫu 01/2024)", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN"},
        {"mau03_org_new", "Mẫu 03 (Mẫu 02/2024)", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CƠ QUAN, TỔ CHỨC"},
        {"mau07_change", "Mẫu 07 (Mẫu 04/2024)", "ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ"},
        {"mau07_renew", "Mẫu 07 (Mẫu 04/2024)", "ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ"},
        {"mau09_revoke", "Mẫu 09 (Mẫu 05/2024)", "ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ"},
        {"mau07_org_change", "Mẫu 07 (Mẫu 04/2024)", "ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ"},
        {"mau09_org_revoke", "Mẫu 09 (Mẫu 05/2024)", "ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ"},
        {"mau14_handover", "Mẫu 14 (Mẫu 07/2024)", "BIÊN BẢN BÀN GIAO THIẾT BỊ LƯU KHÓA BÍ MẬT"},
        {"hostile_person_new", "Mẫu 01 (Mẫu 01/2024)", "ĐỀ NGHỊ CẤP CHỨNG THƯ SỐ CHO CÁ NHÂN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *html = render_case(cases[i].name);
        if (!html)
            continue;
        /* The parts every form must have, whatever the golden file says. */
        CHECK(strncmp(html, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">", 62) == 0);
        CHECK(strstr(html, "@page { size: A4; margin: 20mm; }") != NULL);
        CHECK(strstr(html, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") != NULL);
        CHECK(strstr(html, "Độc lập - Tự do - Hạnh phúc") != NULL);
        CHECK(strstr(html, cases[i].formno) != NULL);
        CHECK(strstr(html, cases[i].title) != NULL);
        CHECK(strstr(html, "(Ký, ghi rõ họ tên") != NULL);
        CHECK(strstr(html, "</body>\n</html>\n") != NULL);
        /* Self-contained: nothing fetched, nothing run. */
        CHECK_EQ_INT(count(html, "<script"), 0);
        if (strncmp(cases[i].name, "hostile", 7) != 0) { /* its escaped text says src= */
            CHECK_EQ_INT(count(html, "src="), 0);
            CHECK_EQ_INT(count(html, "href="), 0);
        }
        CHECK_EQ_INT(count(html, "<style>"), 1);
        CHECK(strstr(html, gw_form_css()) != NULL);
        body_case(cases[i].name, html);
        if (strcmp(cases[i].name, "mau01_person_new") == 0) {
            CHECK(strstr(html, "<b>Viettel/cs</b>") != NULL);
            CHECK(strstr(html, "Bắc Ninh, ngày 05 tháng 3 năm 2025") != NULL);
            CHECK(strstr(html, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ") != NULL);
            CHECK(strstr(html, "(Ký, ghi rõ họ tên, đóng dấu)") != NULL);
            CHECK(strstr(html, "NGƯỜI ĐỀ NGHỊ") != NULL);
            CHECK(strstr(html, "<td>21/09/1986</td>") != NULL);
        }
        if (strcmp(cases[i].name, "mau03_org_new") == 0) {
            CHECK(strstr(html, "<b>Vinaphone</b>") != NULL);
            CHECK(strstr(html, "ngày 09 tháng 01 năm 2025") != NULL);
        }
        if (strcmp(cases[i].name, "mau09_revoke") == 0) {
            CHECK(strstr(html, "Nghỉ hưu theo chế độ từ ngày 01/03/2025") != NULL);
            CHECK(strstr(html, "ngày 17 tháng 02 năm 2025") != NULL);
        }
        if (strcmp(cases[i].name, "mau07_change") == 0 || strcmp(cases[i].name, "mau09_revoke") == 0) {
            CHECK(strstr(html, "I. Thông tin thuê bao") != NULL); /* a person's certificate */
            CHECK(strstr(html, "Thông tin cơ quan, tổ chức") == NULL);
        }
        if (strncmp(cases[i].name, "mau07_org", 9) == 0 || strncmp(cases[i].name, "mau09_org", 9) == 0) {
            /* An organisation's certificate: the organisation is the holder, the key keeper follows. */
            CHECK(strstr(html, "I. Thông tin cơ quan, tổ chức") != NULL);
            CHECK(strstr(html, "II. Người quản lý chứng thư số") != NULL);
            CHECK(strstr(html, "Thông tin thuê bao") == NULL);
            CHECK(strstr(html, "<td>UBND Phường 6, Quận 3</td>") || strstr(html, "<td>Ủy ban nhân dân Phường 5</td>"));
        }
        if (strcmp(cases[i].name, "mau07_org_change") == 0) {
            CHECK(strstr(html, "<tr><th>Mã định danh</th><td>0100047516</td></tr>") != NULL);
            CHECK(strstr(html, "III. Chứng thư số</td>") != NULL);
            CHECK(strstr(html, "IV. Nội dung thay đổi") != NULL);
            CHECK(strstr(html, "<tr><th>Họ và tên</th><td>Lê Thị Thu Hà</td></tr>") != NULL);
        }
        if (strcmp(cases[i].name, "mau09_org_revoke") == 0) {
            CHECK(strstr(html, "III. Chứng thư số đề nghị thu hồi") != NULL);
            CHECK(strstr(html, "<tr><th>Họ và tên</th><td></td></tr>") != NULL); /* the keeper, by hand */
        }
        if (strcmp(cases[i].name, "mau14_handover") == 0) {
            CHECK(strstr(html, "8984048000123456789") != NULL);
            CHECK(strstr(html, "BÊN GIAO") != NULL);
            CHECK(strstr(html, "BÊN NHẬN") != NULL);
            CHECK(strstr(html, "Tổng số: 2 thiết bị") != NULL);
        }
        if (strcmp(cases[i].name, "minimal_person_new") == 0) {
            /* Blanks to fill in by hand, the default addressee. */
            CHECK(strstr(html, "ngày <span class=\"blank short\"></span> tháng") != NULL);
            CHECK(strstr(html, "Kính gửi: Cục Chứng thực số và Bảo mật thông tin - Ban Cơ yếu Chính phủ") != NULL);
            CHECK(strstr(html, "Mã hồ sơ") == NULL);
        }
        if (strcmp(cases[i].name, "hostile_person_new") == 0) {
            CHECK_EQ_INT(count(html, "<img"), 0);
            CHECK_EQ_INT(count(html, "<iframe"), 0);
            CHECK_EQ_INT(count(html, "<b>bold"), 0);
            CHECK(strstr(html, "&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;") != NULL);
            CHECK(strstr(html, "a@b.vn&quot; onmouseover=&quot;alert(1)") != NULL);
            CHECK(strstr(html, "&#39;single&#39; &quot;double&quot;") != NULL);
            CHECK(strstr(html, "&amp;amp; already escaped &amp;lt;") != NULL);
            CHECK(strstr(html, "line one<br>\nline two &lt;br&gt;") != NULL);
            CHECK(strstr(html, "ctrl \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD chars") != NULL);
            CHECK(strstr(html, "<b>Viettel/cs</b>") != NULL);
            CHECK(strstr(html, "ngày 29 tháng 02 năm 2024") != NULL);
        }
        free(html);
    }
}

static void test_exports(void)
{
    json_t *list = load("export_list.json");
    char err[256] = "";
    char *csv = NULL, *csvbom = NULL, *js = NULL;
    size_t len = 0, lenbom = 0, jlen = 0;
    CHECK(list != NULL);
    if (!list)
        return;
    CHECK_EQ_INT(gw_form_export_csv(list, 0, &csv, &len, err, sizeof err), GW_FORM_OK);
    CHECK_EQ_INT(gw_form_export_csv(list, GW_FORM_CSV_BOM, &csvbom, &lenbom, err, sizeof err), GW_FORM_OK);
    CHECK_EQ_INT(gw_form_export_json(list, &js, &jlen, err, sizeof err), GW_FORM_OK);
    if (csv && csvbom && js) {
        golden("export_list.csv.ok", csv, len);
        golden("export_list.json.ok", js, jlen);
        CHECK_EQ_INT(lenbom, len + 3);
        CHECK_MEM(csvbom, "\xEF\xBB\xBF", 3);
        CHECK(memcmp(csvbom + 3, csv, len) == 0);
        CHECK(csv[0] == 'i'); /* no BOM without the flag */
        /* Six records (header + 5), each ending CRLF; the quoted CRLF inside R4's reason is not a record end. */
        CHECK_EQ_INT(count(csv, "\r\n"), 7);
        CHECK(strstr(csv, ",Viettel/cs,Viettel,1,") != NULL);
        CHECK(strstr(csv, ",Vinaphone,Vinaphone,0,\"Sở Tài chính, tỉnh Bắc Ninh\",H27.12,") != NULL);
        CHECK(strstr(csv, "\"Văn phòng \"\"Sở\"\" Nội vụ\"") != NULL);
        CHECK(strstr(csv, "\"Phó Chánh Văn phòng, Sở Nội vụ\"") != NULL);
        CHECK(strstr(csv, "\"Nghỉ hưu\r\ntừ ngày 01/03/2025, \"\"theo chế độ\"\"\"") != NULL);
        CHECK(strstr(csv, ",8984048000123456789 (Đỗ Quang Vinh); 8984048000123450001\r\n") != NULL);

        json_error_t jerr;
        json_t *back = json_loads(js, 0, &jerr);
        CHECK(back != NULL);
        CHECK_EQ_STR(json_string_value(json_object_get(back, "format")), "simpki-forms/1");
        json_t *reqs = json_object_get(back, "requests");
        CHECK_EQ_INT(json_array_size(reqs), 5);
        json_t *r0 = json_array_get(reqs, 0);
        CHECK_EQ_STR(json_string_value(json_object_get(r0, "sim_pki")), "Viettel/cs");
        CHECK_EQ_STR(json_string_value(json_object_get(r0, "carrier")), "Viettel");
        CHECK(json_is_true(json_object_get(r0, "keep_number")));
        CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(reqs, 1), "form_no_2024")), "02/2024");
        CHECK(json_is_false(json_object_get(json_array_get(reqs, 1), "keep_number")));
        CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(reqs, 3), "form_no")), "09");
        CHECK(strstr(js, "Đỗ Quang Vinh") != NULL); /* UTF-8, not \u escapes */
        json_decref(back);
    }
    free(csv);
    free(csvbom);
    free(js);

    /* A list with a bad element: nothing is produced, the element is named. */
    json_t *bad = json_deep_copy(list);
    json_object_del(json_array_get(bad, 2), "unit");
    csv = (char *)1;
    CHECK_EQ_INT(gw_form_export_csv(bad, 0, &csv, &len, err, sizeof err), GW_FORM_ERR_MISSING_FIELD);
    CHECK(csv == NULL);
    CHECK_EQ_STR(err, "[2].unit: required");
    json_object_set_new(json_array_get(bad, 2), "unit", json_string("x"));
    json_object_set_new(json_array_get(json_object_get(json_array_get(bad, 4), "devices"), 1), "colour",
                        json_string("red"));
    CHECK_EQ_INT(gw_form_export_json(bad, &js, &len, err, sizeof err), GW_FORM_ERR_UNKNOWN_FIELD);
    CHECK(js == NULL);
    CHECK_EQ_STR(err, "[4].devices[1].colour: not a field of this form");
    CHECK_EQ_INT(gw_form_export_csv(json_array_get(bad, 0), 0, &csv, &len, err, sizeof err), GW_FORM_ERR_MALFORMED);
    CHECK_EQ_STR(err, "requests: not an array");

    /* An organisation's change and revocation: its name and code in org_name, org_code; no person. */
    json_t *orgs = json_array();
    CHECK_EQ_INT(json_array_append_new(orgs, load("mau07_org_change.json")), 0);
    CHECK_EQ_INT(json_array_append_new(orgs, load("mau09_org_revoke.json")), 0);
    CHECK_EQ_INT(gw_form_export_csv(orgs, 0, &csv, &len, err, sizeof err), GW_FORM_OK);
    CHECK(csv && strstr(csv, "\r\nREQ-2025-000131,change,07,04/2024,UBND TP. Thủ Đức,Thành phố Hồ Chí Minh,"
                             "2025-07-01,Lê Thị Thu Hà,,,Văn thư,,,0903 456 789,Viettel,Viettel,0,"
                             "Ủy ban nhân dân Phường 5,0100047516,change,5404FFFE2C3D1A05,") != NULL);
    CHECK(csv && strstr(csv, "\r\nREQ-2025-000132,revoke,09,05/2024,\"UBND Phường 6, Quận 3\","
                             "Thành phố Hồ Chí Minh,2025-07-01,,,,,,,,Mobifone,Mobifone,0,"
                             "\"UBND Phường 6, Quận 3\",,,5404FFFE2C3D1B17,") != NULL);
    free(csv);
    CHECK_EQ_INT(gw_form_export_json(orgs, &js, &len, err, sizeof err), GW_FORM_OK);
    CHECK(js && strstr(js, "\"name\": \"Ủy ban nhân dân Phường 5\"") != NULL);
    free(js);
    json_decref(orgs);

    /* An empty list is a header alone. */
    json_t *empty = json_array();
    CHECK_EQ_INT(gw_form_export_csv(empty, 0, &csv, &len, err, sizeof err), GW_FORM_OK);
    CHECK_EQ_INT(count(csv, "\r\n"), 1);
    free(csv);
    CHECK_EQ_INT(gw_form_export_json(empty, &js, &len, err, sizeof err), GW_FORM_OK);
    CHECK(js && strstr(js, "\"requests\": []") != NULL);
    free(js);
    json_decref(empty);
    json_decref(bad);
    json_decref(list);
}

static void check_esc(const char *in, size_t len, const char *want)
{
    char *got = gw_form_escape_html(in, len);
    CHECK_EQ_STR(got, want);
    free(got);
}

static void test_escape(void)
{
#define ESC(in, want) check_esc(in, sizeof in - 1, want)
    ESC("", "");
    ESC("plain text 123", "plain text 123");
    ESC("<script>alert(\"x\")</script>", "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    ESC("' onmouseover='alert(1)", "&#39; onmouseover=&#39;alert(1)");
    ESC("\" onfocus=\"x", "&quot; onfocus=&quot;x");
    ESC("a&b &amp; &#60;", "a&amp;b &amp;amp; &amp;#60;");
    ESC("Nguyễn Thị Hồng Nhung, Đỗ Quang Vinh", "Nguyễn Thị Hồng Nhung, Đỗ Quang Vinh");
    ESC("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM");
    ESC("tab\there\r\nnl", "tab\there\r\nnl");
    ESC("nul\0in", "nul\xEF\xBF\xBDin");
    ESC("\x01\x1b\x7f", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("emoji \xF0\x9F\x98\x80 ok", "emoji \xF0\x9F\x98\x80 ok");
    /* Not UTF-8: a lone lead, an overlong '<', a surrogate, past U+10FFFF, a stray continuation, truncated. */
    ESC("a\xC3z", "a\xEF\xBF\xBDz");
    ESC("\xC0\xBC", "\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("\xE0\x80\xBC", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    ESC("\x80<", "\xEF\xBF\xBD&lt;");
    ESC("end\xE1\xBB", "end\xEF\xBF\xBD\xEF\xBF\xBD");
#undef ESC
    /* Only len octets are read. */
    check_esc("<abc>", 2, "&lt;a");
}

static void check_csv(const char *in, const char *want)
{
    char *got = gw_form_csv_field(in, strlen(in));
    CHECK_EQ_STR(got, want);
    free(got);
}

static void test_csv(void)
{
    check_csv("", "");
    check_csv("plain", "plain");
    check_csv("Nguyễn Thị Hồng Nhung", "Nguyễn Thị Hồng Nhung");
    check_csv("a,b", "\"a,b\"");
    check_csv("Sở Tài chính, tỉnh Bắc Ninh", "\"Sở Tài chính, tỉnh Bắc Ninh\"");
    check_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
    check_csv("\"", "\"\"\"\"");
    check_csv("line\nbreak", "\"line\nbreak\"");
    check_csv("cr\ronly", "\"cr\ronly\"");
    check_csv("a,\"b\"\r\nc", "\"a,\"\"b\"\"\r\nc\"");
    check_csv(" spaces kept ", " spaces kept ");
    check_csv("semi;colon", "semi;colon");
    /* Formula injection: the CA officer opens the export in a spreadsheet. */
    check_csv("=HYPERLINK(\"http://x\",\"a\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\"");
    check_csv("+84986123456", "\"'+84986123456\"");
    check_csv("-1+2", "\"'-1+2\"");
    check_csv("@SUM(A1)", "\"'@SUM(A1)\"");
    check_csv("\t=1", "\"'\t=1\"");
    check_csv("\r=1", "\"'\r=1\"");
    check_csv("a=b", "a=b");
    check_csv("2026-03-05", "2026-03-05");
}

/* Build a request from JSON text and expect a refusal with this message. */
static void refuse(const char *text, enum gw_form_err want, const char *msg)
{
    json_error_t jerr;
    char err[256] = "";
    char *html = (char *)1;
    json_t *req = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!req) {
        fprintf(stderr, "bad test JSON: %s: %s\n", text, jerr.text);
        CHECK(req != NULL);
        return;
    }
    enum gw_form_err rc = gw_form_render_html(req, &html, NULL, err, sizeof err);
    CHECK_EQ_INT(rc, want);
    CHECK(html == NULL);
    CHECK_EQ_STR(err, msg);
    CHECK_EQ_INT(gw_form_validate(req, NULL, 0), want);
    json_decref(req);
}

#define P "{\"form\":\"person_new\",\"unit\":\"U\",\"subscriber\":{\"full_name\":\"N\""

static void test_refusals(void)
{
    refuse("[]", GW_FORM_ERR_MALFORMED, "request: not an object");
    refuse("\"person_new\"", GW_FORM_ERR_MALFORMED, "request: not an object");
    refuse("{}", GW_FORM_ERR_UNKNOWN_FORM, "form: required");
    refuse("{\"form\":\"person\"}", GW_FORM_ERR_UNKNOWN_FORM,
           "form: not person_new, org_new, change, revoke or handover");
    refuse("{\"form\":1}", GW_FORM_ERR_UNKNOWN_FORM, "form: not person_new, org_new, change, revoke or handover");
    refuse("{\"form\":\"01\"}", GW_FORM_ERR_UNKNOWN_FORM, "form: not person_new, org_new, change, revoke or handover");
    refuse(P "},\"nmae\":\"x\"}", GW_FORM_ERR_UNKNOWN_FIELD, "nmae: not a field of this form");
    refuse(P ",\"fullname\":\"x\"}}", GW_FORM_ERR_UNKNOWN_FIELD, "subscriber.fullname: not a field of this form");
    refuse(P "},\"reason\":\"x\"}", GW_FORM_ERR_UNKNOWN_FIELD, "reason: not a field of this form");
    refuse(P ",\"phone\":84912345678}}", GW_FORM_ERR_MALFORMED, "subscriber.phone: not a string");
    refuse(P "},\"unit\":[\"U\"]}", GW_FORM_ERR_MALFORMED, "unit: not a string");
    refuse("{\"form\":\"person_new\",\"unit\":\"U\",\"subscriber\":\"N\"}", GW_FORM_ERR_MALFORMED,
           "subscriber: not an object");
    refuse(P ",\"birth_date\":\"1986-9-21\"}}", GW_FORM_ERR_MALFORMED, "subscriber.birth_date: not a date YYYY-MM-DD");
    refuse(P "},\"date\":\"2025-02-29\"}", GW_FORM_ERR_MALFORMED, "date: not a date YYYY-MM-DD");
    refuse(P "},\"date\":\"2025-04-31\"}", GW_FORM_ERR_MALFORMED, "date: not a date YYYY-MM-DD");
    refuse(P "},\"date\":\"1900-02-29\"}", GW_FORM_ERR_MALFORMED, "date: not a date YYYY-MM-DD");
    refuse(P "},\"date\":\"05/03/2025\"}", GW_FORM_ERR_MALFORMED, "date: not a date YYYY-MM-DD");
    refuse(P "},\"date\":\"2025-03-05T00:00\"}", GW_FORM_ERR_MALFORMED, "date: not a date YYYY-MM-DD");
    refuse(P "},\"sim_pki\":\"Vietel\"}", GW_FORM_ERR_MALFORMED,
           "sim_pki: not Viettel, Vinaphone or Mobifone, with an optional /cs");
    refuse(P "},\"sim_pki\":\"Viettel/\"}", GW_FORM_ERR_MALFORMED,
           "sim_pki: not Viettel, Vinaphone or Mobifone, with an optional /cs");
    refuse(P "},\"sim_pki\":\"Viettel/cs/cs\"}", GW_FORM_ERR_MALFORMED,
           "sim_pki: not Viettel, Vinaphone or Mobifone, with an optional /cs");
    refuse(P "},\"sim_pki\":\"Viettelx/cs\"}", GW_FORM_ERR_MALFORMED,
           "sim_pki: not Viettel, Vinaphone or Mobifone, with an optional /cs");
    refuse(P ",\"email\":\"a\\u0000b\"}}", GW_FORM_ERR_MALFORMED, "subscriber.email: holds a NUL character");
    refuse("{\"form\":\"person_new\",\"subscriber\":{\"full_name\":\"N\"}}", GW_FORM_ERR_MISSING_FIELD,
           "unit: required");
    refuse("{\"form\":\"person_new\",\"unit\":\"\",\"subscriber\":{\"full_name\":\"N\"}}", GW_FORM_ERR_MISSING_FIELD,
           "unit: required");
    refuse("{\"form\":\"person_new\",\"unit\":\"U\"}", GW_FORM_ERR_MISSING_FIELD, "subscriber.full_name: required");
    refuse("{\"form\":\"person_new\",\"unit\":\"U\",\"subscriber\":{\"full_name\":null}}", GW_FORM_ERR_MISSING_FIELD,
           "subscriber.full_name: required");
    refuse("{\"form\":\"org_new\",\"unit\":\"U\",\"organisation\":{}}", GW_FORM_ERR_MISSING_FIELD,
           "organisation.name: required");
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"subscriber\":{\"full_name\":\"N\"}}", GW_FORM_ERR_MISSING_FIELD,
           "action: required");
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"action\":\"renewal\",\"subscriber\":{\"full_name\":\"N\"}}",
           GW_FORM_ERR_MALFORMED, "action: not \"renew\" or \"change\"");
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"action\":\"change\",\"subscriber\":{\"full_name\":\"N\"},"
           "\"changes\":[{\"field\":\"a\"},\"b\"]}",
           GW_FORM_ERR_MALFORMED, "changes[1]: not an object");
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"action\":\"change\",\"subscriber\":{\"full_name\":\"N\"},"
           "\"certificate\":{\"valid_to\":\"2027-13-01\"}}",
           GW_FORM_ERR_MALFORMED, "certificate.valid_to: not a date YYYY-MM-DD");
    refuse("{\"form\":\"revoke\",\"unit\":\"U\",\"subscriber\":{\"full_name\":\"N\"}}", GW_FORM_ERR_MISSING_FIELD,
           "reason: required");
    /* change/revoke: the organisation's name with an organisation, else the subscriber's. */
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"action\":\"change\"}", GW_FORM_ERR_MISSING_FIELD,
           "subscriber.full_name: required");
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"action\":\"change\",\"organisation\":null}",
           GW_FORM_ERR_MISSING_FIELD, "subscriber.full_name: required");
    refuse("{\"form\":\"change\",\"unit\":\"U\",\"action\":\"change\",\"organisation\":{},"
           "\"subscriber\":{\"full_name\":\"N\"}}",
           GW_FORM_ERR_MISSING_FIELD, "organisation.name: required");
    refuse("{\"form\":\"revoke\",\"unit\":\"U\",\"reason\":\"r\",\"organisation\":{\"name\":\"\"}}",
           GW_FORM_ERR_MISSING_FIELD, "organisation.name: required");
    refuse("{\"form\":\"revoke\",\"unit\":\"U\",\"reason\":\"r\",\"organisation\":\"O\"}", GW_FORM_ERR_MALFORMED,
           "organisation: not an object");
    refuse("{\"form\":\"revoke\",\"unit\":\"U\",\"reason\":\"r\",\"organisation\":{\"name\":\"O\",\"mst\":\"1\"}}",
           GW_FORM_ERR_UNKNOWN_FIELD, "organisation.mst: not a field of this form");
    refuse("{\"form\":\"person_new\",\"unit\":\"U\",\"subscriber\":{\"full_name\":\"N\"},\"organisation\":{}}",
           GW_FORM_ERR_UNKNOWN_FIELD, "organisation: not a field of this form");
    refuse("{\"form\":\"handover\",\"unit\":\"U\"}", GW_FORM_ERR_MISSING_FIELD, "devices: required");
    refuse("{\"form\":\"handover\",\"unit\":\"U\",\"devices\":[]}", GW_FORM_ERR_MISSING_FIELD, "devices: required");
    refuse("{\"form\":\"handover\",\"unit\":\"U\",\"devices\":{\"serial\":\"1\"}}", GW_FORM_ERR_MALFORMED,
           "devices: not an array");
    refuse("{\"form\":\"handover\",\"unit\":\"U\",\"devices\":[{\"serial\":1}]}", GW_FORM_ERR_MALFORMED,
           "devices[0].serial: not a string");
    refuse("{\"form\":\"handover\",\"unit\":\"U\",\"devices\":[{}],\"giver\":{\"name\":\"x\"}}",
           GW_FORM_ERR_UNKNOWN_FIELD, "giver.name: not a field of this form");

    /* An organisation's change or revocation needs no subscriber. */
    json_error_t jerr;
    json_t *org =
        json_loads("{\"form\":\"revoke\",\"unit\":\"U\",\"reason\":\"r\",\"organisation\":{\"name\":\"O\"}}", 0, &jerr);
    CHECK_EQ_INT(gw_form_validate(org, NULL, 0), GW_FORM_OK);
    json_object_set_new(org, "form", json_string("change"));
    json_object_set_new(org, "action", json_string("renew"));
    CHECK_EQ_INT(gw_form_validate(org, NULL, 0), GW_FORM_OK);
    json_decref(org);

    /* null and "" are blanks; a long value is fine. */
    json_t *ok = json_loads(P ",\"phone\":null,\"email\":\"\"},\"date\":null,\"sim_pki\":\"\"}", 0, &jerr);
    CHECK_EQ_INT(gw_form_validate(ok, NULL, 0), GW_FORM_OK);
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = '\0';
    json_object_set_new(json_object_get(ok, "subscriber"), "organisation", json_string(big));
    char *html = NULL;
    size_t len = 0;
    CHECK_EQ_INT(gw_form_render_html(ok, &html, &len, NULL, 0), GW_FORM_OK);
    CHECK(html && strstr(html, big) != NULL);
    free(html);
    free(big);
    json_decref(ok);
}

static void test_misc(void)
{
    CHECK(gw_form_lookup("revoke") != NULL);
    CHECK_EQ_STR(gw_form_lookup("revoke")->no, "09");
    CHECK_EQ_STR(gw_form_lookup("revoke")->no_2024, "05/2024");
    CHECK_EQ_STR(gw_form_lookup("handover")->no_2024, "07/2024");
    CHECK_EQ_INT(gw_form_lookup("org_new")->kind, GW_FORM_ORG_NEW);
    CHECK(gw_form_lookup("Revoke") == NULL);
    CHECK(gw_form_lookup(NULL) == NULL);
    CHECK_EQ_STR(gw_form_strerror(GW_FORM_OK), "ok");
    CHECK_EQ_STR(gw_form_strerror(GW_FORM_ERR_UNKNOWN_FIELD), "unknown field");
    CHECK_EQ_STR(gw_form_strerror((enum gw_form_err)99), "unknown error");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_gw_forms FORMS_DIR\n");
        return 2;
    }
    dir = argv[1];
    update = getenv("SIMPKI_UPDATE_GOLDEN") != NULL;
    test_goldens();
    test_exports();
    test_escape();
    test_csv();
    test_refusals();
    test_misc();
    return check_report("test_gw_forms");
}
