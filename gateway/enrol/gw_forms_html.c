/*
 * gw_forms_html.c - the printable HTML of each form (see gw_forms.h): one
 * renderer per form, called by gw_forms.c's table once the request is
 * checked, so nothing here checks again.  Split from gw_forms.c; the
 * output buffer and the field accessors are in gw_forms_priv.h.
 */
#include <stdio.h>
#include <string.h>

#include "gw_forms.h"
#include "gw_forms_priv.h"

/* --- HTML */

static const char css[] =
    "@page { size: A4; margin: 20mm; }\n"
    "html { background: #fff; }\n"
    "body { margin: 0; color: #000; font-family: \"Times New Roman\", Times, \"Liberation Serif\", Tinos,"
    " \"DejaVu Serif\", serif; font-size: 13pt; line-height: 1.3; }\n"
    "@media screen { body { width: 210mm; min-height: 297mm; padding: 20mm; box-sizing: border-box;"
    " margin: 0 auto; } }\n"
    ".formno { text-align: right; font-weight: bold; font-size: 12pt; margin: 0 0 6pt; }\n"
    "table { border-collapse: collapse; width: 100%; }\n"
    ".hdr td { vertical-align: top; text-align: center; padding: 0; font-size: 12.5pt; }\n"
    ".hdr td.left { width: 42%; }\n"
    ".upper { text-transform: uppercase; }\n"
    ".b { font-weight: bold; }\n"
    ".rule { width: 40%; margin: 2pt auto 4pt; border-top: 1px solid #000; }\n"
    ".rule.wide { width: 62%; }\n"
    "h1 { font-size: 14pt; text-align: center; margin: 16pt 0 4pt; }\n"
    ".to { text-align: center; margin: 0 0 10pt; }\n"
    "p { margin: 6pt 0; text-align: justify; }\n"
    ".fields th, .fields td, .list th, .list td { border: 1px solid #000; padding: 2pt 6pt;"
    " vertical-align: top; font-size: 12pt; line-height: 1.25; }\n"
    ".fields th { width: 40%; text-align: left; font-weight: normal; }\n"
    ".fields td.sect, .list td.sect { font-weight: bold; background: #eee; }\n"
    ".list th { text-align: center; }\n"
    ".list td.n { text-align: center; width: 8%; }\n"
    ".note { font-style: italic; font-size: 11pt; }\n"
    ".blank { display: inline-block; min-width: 45mm; border-bottom: 1px dotted #000; }\n"
    ".blank.short { min-width: 10mm; }\n"
    ".sign td.date { font-style: italic; padding-bottom: 4pt; }\n"
    ".sign { margin-top: 10pt; page-break-inside: avoid; }\n"
    ".sign td { width: 50%; text-align: center; vertical-align: top; padding: 0 4pt; }\n"
    ".role { font-weight: bold; }\n"
    ".hint { font-style: italic; font-size: 11.5pt; }\n"
    ".signame { margin-top: 54pt; font-weight: bold; }\n"
    ".foot { margin-top: 12pt; font-size: 9.5pt; color: #444; }\n";

static void esc(struct buf *b, const char *s)
{
    gw_fm_esc(b, s, strlen(s), 1);
}

/* s escaped, or a dotted blank to write on. */
static void val_or_blank(struct buf *b, const char *s, int shortblank)
{
    if (s)
        esc(b, s);
    else
        gw_fm_puts(b, shortblank ? "<span class=\"blank short\"></span>" : "<span class=\"blank\"></span>");
}

/* "ngày 05 tháng 3 năm 2025" (Nghị định 30/2020: 0 before days < 10 and months 1, 2). */
static void date_words(struct buf *b, const char *iso)
{
    int y, m, d;
    if (!iso || gw_fm_date_parse(iso, &y, &m, &d) != 0) {
        gw_fm_puts(b, "ngày <span class=\"blank short\"></span> tháng <span class=\"blank short\"></span> năm "
                      "<span class=\"blank short\"></span>");
        return;
    }
    gw_fm_printf(b, "ngày %02d tháng %0*d năm %d", d, m <= 2 ? 2 : 1, m, y);
}

/* "14/03/2021" for a table cell. */
static void date_cell(struct buf *b, const char *iso)
{
    int y, m, d;
    if (iso && gw_fm_date_parse(iso, &y, &m, &d) == 0)
        gw_fm_printf(b, "%02d/%02d/%04d", d, m, y);
}

static void row(struct buf *b, const char *label, const char *value)
{
    gw_fm_puts(b, "<tr><th>");
    gw_fm_puts(b, label);
    gw_fm_puts(b, "</th><td>");
    if (value)
        esc(b, value);
    gw_fm_puts(b, "</td></tr>\n");
}

static void row_date(struct buf *b, const char *label, const char *iso)
{
    gw_fm_puts(b, "<tr><th>");
    gw_fm_puts(b, label);
    gw_fm_puts(b, "</th><td>");
    date_cell(b, iso);
    gw_fm_puts(b, "</td></tr>\n");
}

static void row_sect(struct buf *b, const char *label)
{
    gw_fm_puts(b, "<tr><td class=\"sect\" colspan=\"2\">");
    gw_fm_puts(b, label);
    gw_fm_puts(b, "</td></tr>\n");
}

static void row_sim(struct buf *b, const json_t *req)
{
    const char *s = gw_fm_str(req, "sim_pki");
    const char *carrier;
    int keep;
    gw_fm_puts(b, "<tr><th>SIM PKI (nhà mạng/cs)</th><td>");
    if (s && gw_fm_sim_parse(s, &carrier, &keep) == 0) {
        gw_fm_printf(b, "<b>%s%s</b>", carrier, keep ? "/cs" : "");
        gw_fm_puts(b, keep ? " <span class=\"note\">(chuyển số thuê bao đang dùng sang SIM PKI)</span>"
                           : " <span class=\"note\">(cấp SIM PKI số mới)</span>");
    }
    gw_fm_puts(b, "</td></tr>\n");
}

/* The ID number; its date and place of issue always on Mẫu 01, elsewhere when given. */
static void row_id(struct buf *b, const json_t *req, int full)
{
    const char *num = gw_fm_str(req, "subscriber.id_number");
    const char *date = gw_fm_str(req, "subscriber.id_issued_date");
    const char *place = gw_fm_str(req, "subscriber.id_issued_place");
    row(b, "Số CCCD/CMND", num);
    if (!full && !date && !place)
        return;
    gw_fm_puts(b, "<tr><th>Ngày cấp, nơi cấp</th><td>");
    date_cell(b, date);
    if (date && place)
        gw_fm_puts(b, ", ");
    if (place)
        esc(b, place);
    gw_fm_puts(b, "</td></tr>\n");
}

static void person_rows(struct buf *b, const json_t *req, int full)
{
    row(b, "Họ và tên", gw_fm_str(req, "subscriber.full_name"));
    if (full)
        row_date(b, "Ngày sinh", gw_fm_str(req, "subscriber.birth_date"));
    row_id(b, req, full);
    row(b, "Chức vụ", gw_fm_str(req, "subscriber.position"));
    row(b, "Cơ quan, đơn vị công tác", gw_fm_str(req, "subscriber.organisation"));
    if (full)
        row(b, "Tỉnh, thành phố", gw_fm_str(req, "subscriber.province"));
    row(b, "Thư điện tử", gw_fm_str(req, "subscriber.email"));
    row(b, "Số điện thoại di động", gw_fm_str(req, "subscriber.phone"));
    row_sim(b, req);
}

/*
 * The certificate's holder, from section I: an organisation (org_new, and a
 * change or revocation of an organisation's certificate) and the person who
 * keeps its key, else the subscriber.  Returns the number of sections used.
 */
static int holder_rows(struct buf *b, const json_t *req, int org)
{
    if (!org) {
        row_sect(b, "I. Thông tin thuê bao");
        person_rows(b, req, 0);
        return 1;
    }
    row_sect(b, "I. Thông tin cơ quan, tổ chức");
    row(b, "Tên cơ quan, tổ chức", gw_fm_str(req, "organisation.name"));
    row(b, "Mã định danh", gw_fm_str(req, "organisation.code"));
    row(b, "Địa chỉ", gw_fm_str(req, "organisation.address"));
    row(b, "Tỉnh, thành phố", gw_fm_str(req, "organisation.province"));
    row(b, "Thư điện tử", gw_fm_str(req, "organisation.email"));
    row(b, "Số điện thoại", gw_fm_str(req, "organisation.phone"));
    row_sect(b, "II. Người quản lý chứng thư số");
    person_rows(b, req, 0);
    return 2;
}

/* Section n's numeral (1..4). */
static const char *roman(int n)
{
    static const char *const r[] = {"I", "II", "III", "IV"};
    return n >= 1 && n <= 4 ? r[n - 1] : "";
}

static void cert_rows(struct buf *b, const json_t *req, int with_validity)
{
    row(b, "Số hiệu (serial) chứng thư số", gw_fm_str(req, "certificate.serial"));
    row(b, "Tên chứng thư số", gw_fm_str(req, "certificate.subject"));
    if (with_validity)
        row_date(b, "Có hiệu lực đến ngày", gw_fm_str(req, "certificate.valid_to"));
}

static void head(struct buf *b, const json_t *req, const struct form_def *def)
{
    const char *parent = gw_fm_str(req, "parent_unit");
    const char *doc_no = gw_fm_str(req, "doc_no");
    if (!b->body_only) {
        gw_fm_puts(b, "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        gw_fm_printf(b, "Mẫu %s (Mẫu %s) - %s", def->info.no, def->info.no_2024, def->info.title);
        gw_fm_puts(b, "</title>\n<style>\n");
        gw_fm_puts(b, css);
        gw_fm_puts(b, "</style>\n</head>\n<body>\n");
    }
    gw_fm_printf(b, "<div class=\"formno\">Mẫu %s (Mẫu %s)</div>\n", def->info.no, def->info.no_2024);
    gw_fm_puts(b, "<table class=\"hdr\"><tr>\n<td class=\"left\">");
    if (parent) {
        gw_fm_puts(b, "<div class=\"upper\">");
        esc(b, parent);
        gw_fm_puts(b, "</div>");
    }
    gw_fm_puts(b, "<div class=\"upper b\">");
    esc(b, gw_fm_str(req, "unit"));
    gw_fm_puts(b, "</div><div class=\"rule\"></div>");
    gw_fm_puts(b, "<div>Số: ");
    val_or_blank(b, doc_no, 0);
    gw_fm_puts(b, "</div></td>\n<td><div class=\"b\">CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</div>"
                  "<div class=\"b\">Độc lập - Tự do - Hạnh phúc</div><div class=\"rule wide\"></div></td>\n"
                  "</tr></table>\n");
    gw_fm_printf(b, "<h1>%s</h1>\n", def->info.title);
}

static void addressee(struct buf *b, const json_t *req)
{
    const char *to = gw_fm_str(req, "addressee");
    gw_fm_puts(b, "<div class=\"to\">Kính gửi: ");
    esc(b, to ? to : "Cục Chứng thực số và Bảo mật thông tin - Ban Cơ yếu Chính phủ");
    gw_fm_puts(b, "</div>\n");
}

static void date_line(struct buf *b, const json_t *req)
{
    gw_fm_puts(b, "<td class=\"date\">");
    val_or_blank(b, gw_fm_str(req, "place"), 1);
    gw_fm_puts(b, ", ");
    date_words(b, gw_fm_str(req, "date"));
    gw_fm_puts(b, "</td>");
}

static void sign_cell(struct buf *b, const char *role, const char *hint, const char *name)
{
    gw_fm_printf(b, "<td><div class=\"role\">%s</div><div class=\"hint\">%s</div><div class=\"signame\">", role, hint);
    if (name)
        esc(b, name);
    gw_fm_puts(b, "</div></td>\n");
}

static void signatures(struct buf *b, const json_t *req, const char *left_name)
{
    gw_fm_puts(b, "<table class=\"sign\"><tr><td></td>");
    date_line(b, req);
    gw_fm_puts(b, "</tr><tr>\n");
    sign_cell(b, "NGƯỜI ĐỀ NGHỊ", "(Ký, ghi rõ họ tên)", left_name);
    sign_cell(b, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", "(Ký, ghi rõ họ tên, đóng dấu)", gw_fm_str(req, "head_name"));
    gw_fm_puts(b, "</tr></table>\n");
}

static void foot(struct buf *b, const json_t *req)
{
    const char *id = gw_fm_str(req, "id");
    if (id) {
        gw_fm_puts(b, "<div class=\"foot\">Mã hồ sơ: ");
        esc(b, id);
        gw_fm_puts(b, "</div>\n");
    }
    if (!b->body_only)
        gw_fm_puts(b, "</body>\n</html>\n");
}

static const char pledge[] = "<p>Chúng tôi cam kết các thông tin trên là đúng sự thật và chịu trách nhiệm quản lý, "
                             "sử dụng chứng thư số, SIM PKI theo đúng quy định.</p>\n";

void gw_fm_render_person_new(struct buf *b, const json_t *req, const struct form_def *def)
{
    head(b, req, def);
    addressee(b, req);
    gw_fm_puts(b, "<p>Cơ quan, đơn vị đề nghị cấp chứng thư số chuyên dùng Chính phủ lưu trên SIM PKI cho cá nhân "
                  "có thông tin sau:</p>\n<table class=\"fields\">\n");
    person_rows(b, req, 1);
    gw_fm_puts(b, "</table>\n");
    gw_fm_puts(b, pledge);
    signatures(b, req, gw_fm_str(req, "subscriber.full_name"));
    foot(b, req);
}

void gw_fm_render_org_new(struct buf *b, const json_t *req, const struct form_def *def)
{
    head(b, req, def);
    addressee(b, req);
    gw_fm_puts(b, "<p>Cơ quan, đơn vị đề nghị cấp chứng thư số chuyên dùng Chính phủ lưu trên SIM PKI cho cơ quan, "
                  "tổ chức có thông tin sau:</p>\n<table class=\"fields\">\n");
    holder_rows(b, req, 1);
    gw_fm_puts(b, "</table>\n");
    gw_fm_puts(b, pledge);
    signatures(b, req, gw_fm_str(req, "subscriber.full_name"));
    foot(b, req);
}

void gw_fm_render_change(struct buf *b, const json_t *req, const struct form_def *def)
{
    int renew = strcmp(gw_fm_str(req, "action"), "renew") == 0;
    const json_t *changes = json_object_get(req, "changes");
    int sect;
    head(b, req, def);
    addressee(b, req);
    gw_fm_printf(b, "<p>Nội dung đề nghị: %s Gia hạn chứng thư số &nbsp;&nbsp; %s Thay đổi nội dung thông tin</p>\n",
                 renew ? "&#9746;" : "&#9744;", renew ? "&#9744;" : "&#9746;");
    gw_fm_puts(b, "<table class=\"fields\">\n");
    sect = holder_rows(b, req, gw_fm_str(req, "organisation.name") != NULL) + 1;
    gw_fm_printf(b, "<tr><td class=\"sect\" colspan=\"2\">%s. Chứng thư số</td></tr>\n", roman(sect));
    cert_rows(b, req, 1);
    row(b, "Lý do", gw_fm_str(req, "reason"));
    gw_fm_puts(b, "</table>\n");
    if (!renew) {
        size_t i, n = json_array_size(changes);
        const json_t *c;
        gw_fm_printf(b,
                     "<table class=\"list\">\n<tr><td class=\"sect\" colspan=\"4\">%s. Nội dung thay "
                     "đổi</td></tr>\n<tr><th>STT</th>"
                     "<th>Thông tin</th><th>Nội dung cũ</th><th>Nội dung mới</th></tr>\n",
                     roman(sect + 1));
        json_array_foreach(changes, i, c)
        {
            gw_fm_printf(b, "<tr><td class=\"n\">%zu</td><td>", i + 1);
            if (gw_fm_str(c, "field"))
                esc(b, gw_fm_str(c, "field"));
            gw_fm_puts(b, "</td><td>");
            if (gw_fm_str(c, "old"))
                esc(b, gw_fm_str(c, "old"));
            gw_fm_puts(b, "</td><td>");
            if (gw_fm_str(c, "new"))
                esc(b, gw_fm_str(c, "new"));
            gw_fm_puts(b, "</td></tr>\n");
        }
        for (i = n; i < 2; i++) /* rows to fill in by hand */
            gw_fm_printf(b, "<tr><td class=\"n\">%zu</td><td>&nbsp;</td><td></td><td></td></tr>\n", i + 1);
        gw_fm_puts(b, "</table>\n");
    }
    gw_fm_puts(b, pledge);
    signatures(b, req, gw_fm_str(req, "subscriber.full_name"));
    foot(b, req);
}

void gw_fm_render_revoke(struct buf *b, const json_t *req, const struct form_def *def)
{
    int sect;

    head(b, req, def);
    addressee(b, req);
    gw_fm_puts(b, "<p>Cơ quan, đơn vị đề nghị thu hồi chứng thư số chuyên dùng Chính phủ lưu trên SIM PKI "
                  "có thông tin sau:</p>\n<table class=\"fields\">\n");
    sect = holder_rows(b, req, gw_fm_str(req, "organisation.name") != NULL) + 1;
    gw_fm_printf(b, "<tr><td class=\"sect\" colspan=\"2\">%s. Chứng thư số đề nghị thu hồi</td></tr>\n", roman(sect));
    cert_rows(b, req, 0);
    gw_fm_puts(b, "<tr><th>Lý do thu hồi</th><td class=\"b\">");
    esc(b, gw_fm_str(req, "reason"));
    gw_fm_puts(b, "</td></tr>\n</table>\n");
    gw_fm_puts(b, "<p>Đề nghị thu hồi chứng thư số nêu trên kể từ ngày ký đề nghị này. Thiết bị lưu khóa bí mật "
                  "được bàn giao lại theo biên bản bàn giao (Mẫu 14, Mẫu 07/2024).</p>\n");
    signatures(b, req, gw_fm_str(req, "subscriber.full_name"));
    foot(b, req);
}

static void party(struct buf *b, const json_t *req, const char *who, const char *key)
{
    char path[32];
    gw_fm_printf(b, "<p><b>%s:</b> Ông/Bà ", who);
    snprintf(path, sizeof path, "%s.full_name", key);
    val_or_blank(b, gw_fm_str(req, path), 0);
    gw_fm_puts(b, "; chức vụ: ");
    snprintf(path, sizeof path, "%s.position", key);
    val_or_blank(b, gw_fm_str(req, path), 0);
    gw_fm_puts(b, "; đơn vị: ");
    snprintf(path, sizeof path, "%s.unit", key);
    val_or_blank(b, gw_fm_str(req, path), 0);
    gw_fm_puts(b, ".</p>\n");
}

void gw_fm_render_handover(struct buf *b, const json_t *req, const struct form_def *def)
{
    const json_t *devices = json_object_get(req, "devices");
    const json_t *dev;
    size_t i;
    head(b, req, def);
    gw_fm_puts(b, "<p>Hôm nay, ");
    date_words(b, gw_fm_str(req, "date"));
    gw_fm_puts(b, ", tại ");
    val_or_blank(b, gw_fm_str(req, "place"), 0);
    gw_fm_puts(b, ", chúng tôi gồm:</p>\n");
    party(b, req, "Bên giao", "giver");
    party(b, req, "Bên nhận", "receiver");
    gw_fm_puts(b, "<p>Hai bên tiến hành bàn giao các thiết bị lưu khóa bí mật (SIM PKI) sau:</p>\n"
                  "<table class=\"list\">\n<tr><th>STT</th><th>Tên chứng thư số</th><th>Cơ quan, tổ chức</th>"
                  "<th>Số hiệu thiết bị</th><th>Ghi chú</th></tr>\n");
    json_array_foreach(devices, i, dev)
    {
        static const char *const keys[] = {"cert_name", "organisation", "serial", "note"};
        gw_fm_printf(b, "<tr><td class=\"n\">%zu</td>", i + 1);
        for (size_t k = 0; k < 4; k++) {
            gw_fm_puts(b, "<td>");
            if (gw_fm_str(dev, keys[k]))
                esc(b, gw_fm_str(dev, keys[k]));
            gw_fm_puts(b, "</td>");
        }
        gw_fm_puts(b, "</tr>\n");
    }
    gw_fm_printf(b,
                 "</table>\n<p>Tổng số: %zu thiết bị. Biên bản được lập thành 02 bản có giá trị như nhau, "
                 "mỗi bên giữ 01 bản.</p>\n",
                 json_array_size(devices));
    gw_fm_puts(b, "<table class=\"sign\"><tr>\n");
    sign_cell(b, "BÊN GIAO", "(Ký, ghi rõ họ tên)", gw_fm_str(req, "giver.full_name"));
    sign_cell(b, "BÊN NHẬN", "(Ký, ghi rõ họ tên)", gw_fm_str(req, "receiver.full_name"));
    gw_fm_puts(b, "</tr></table>\n");
    foot(b, req);
}

static enum gw_form_err render(const json_t *req, int body_only, char **out, size_t *outlen, char *err, size_t errlen)
{
    struct vctx v = {err, errlen, ""};
    const struct form_def *def;
    struct buf b = {0};
    enum gw_form_err rc;

    *out = NULL;
    b.body_only = body_only;
    if ((rc = gw_fm_validate(req, &def, &v)) != GW_FORM_OK)
        goto out;
    def->render(&b, req, def);
    rc = gw_fm_finish(&b, out, outlen, err, errlen);
out:
    return rc;
}

enum gw_form_err gw_form_render_html(const json_t *req, char **out, size_t *outlen, char *err, size_t errlen)
{
    return render(req, 0, out, outlen, err, errlen);
}

enum gw_form_err gw_form_render_body(const json_t *req, char **out, size_t *outlen, char *err, size_t errlen)
{
    return render(req, 1, out, outlen, err, errlen);
}

const char *gw_form_css(void)
{
    return css;
}
