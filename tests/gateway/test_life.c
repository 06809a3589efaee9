/*
 * test_life.c - the lifecycle engine's pure rules (gw_life_rules.h): the
 * revocation reason map, the certificate subject built from a request, the
 * "progress" a confirming call hands over, the step table.  The engine
 * itself runs end to end in tests/integration/e2e_life.sh.
 *
 * Includes the .c to reach its static helpers (h2o's t/00unit habit).
 */
#include "../../gateway/life/gw_life_rules.c"

#include <openssl/ec.h>

#include "check.h"

static void test_reasons(void)
{
    static const struct {
        const char *text;
        enum sig_cmp_reason want;
    } cases[] = {
        {"Mất thiết bị lưu khóa", SIG_CMP_REASON_KEY_COMPROMISE},
        {"MẤT SIM", SIG_CMP_REASON_KEY_COMPROMISE},
        {"Thiết bị bị thất lạc", SIG_CMP_REASON_KEY_COMPROMISE},
        {"Lộ mã PIN", SIG_CMP_REASON_KEY_COMPROMISE},
        {"lo khoa bi mat", SIG_CMP_REASON_KEY_COMPROMISE},
        {"device lost", SIG_CMP_REASON_KEY_COMPROMISE},
        {"keyCompromise", SIG_CMP_REASON_KEY_COMPROMISE},
        {"Thôi giữ chức vụ lãnh đạo", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"Đã nghỉ hưu", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"Cơ quan giải thể", SIG_CMP_REASON_CESSATION_OF_OPERATION},
        {"Chuyển công tác ra ngoài khu vực nhà nước", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"Thay đổi vị trí công tác", SIG_CMP_REASON_AFFILIATION_CHANGED},
        {"Đơn vị sáp nhập, thu hồi chứng thư số dư thừa", SIG_CMP_REASON_SUPERSEDED},
        {"superseded", SIG_CMP_REASON_SUPERSEDED},
        {"Tạm dừng sử dụng", SIG_CMP_REASON_CERTIFICATE_HOLD},
        /* "khóa bí mật" (private key) is not a loss by itself */
        {"Bàn giao thiết bị lưu khóa bí mật", SIG_CMP_REASON_UNSPECIFIED},
        {"Lý do khác", SIG_CMP_REASON_UNSPECIFIED},
        {"", SIG_CMP_REASON_UNSPECIFIED},
        {NULL, SIG_CMP_REASON_UNSPECIFIED},
        {"certificateHold", SIG_CMP_REASON_CERTIFICATE_HOLD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum sig_cmp_reason got = gw_life_revoke_reason(cases[i].text);
        if (got != cases[i].want)
            fprintf(stderr, "reason \"%s\": %d, want %d\n", cases[i].text ? cases[i].text : "(null)", (int)got,
                    (int)cases[i].want);
        CHECK_EQ_INT(got, cases[i].want);
    }
}

static void test_fold(void)
{
    char out[64];
    fold("Nguyễn Đức THẮNG", out, sizeof(out));
    CHECK_EQ_STR(out, "nguyen duc thang");
    fold("abc", out, 3);
    CHECK_EQ_STR(out, "ab");
}

static void test_utf8_prefix(void)
{
    char out[64];
    utf8_prefix(out, sizeof(out), "ĐỖ QUANG VINH", 4);
    CHECK_EQ_STR(out, "ĐỖ Q");
    utf8_prefix(out, 7, "ĐỖĐỖĐỖĐỖ", 100); /* cut by the buffer, never inside a character */
    CHECK_EQ_STR(out, "ĐỖ");
    utf8_prefix(out, sizeof(out), NULL, 4);
    CHECK_EQ_STR(out, "");
}

static json_t *person(void)
{
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}, s:s}", "form", "person_new", "unit",
                     "Sở Nội vụ", "place", "Bắc Ninh", "subscriber", "full_name", "NGUYỄN THỊ HỒNG NHUNG", "id_number",
                     "027186004512", "organisation", "Sở Nội vụ tỉnh Bắc Ninh", "province", "Bắc Ninh", "email",
                     "nhungnth@bacninh.gov.vn", "phone", "0960000001", "sim_pki", "Viettel/cs");
}

static void test_subject(void)
{
    struct sig_csr_subject s;
    struct gw_life_subject_buf buf;
    char why[200];
    json_t *r = person(), *org;

    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.common_name, "NGUYỄN THỊ HỒNG NHUNG");
    CHECK_EQ_STR(s.organisation, "Sở Nội vụ tỉnh Bắc Ninh");
    CHECK_EQ_STR(s.province, "Bắc Ninh");
    CHECK_EQ_INT(s.id_kind, SIG_CSR_ID_CCCD);
    CHECK_EQ_STR(s.id_number, "027186004512");
    CHECK_EQ_STR(s.email, "nhungnth@bacninh.gov.vn");

    /* No organisation: the unit; no province: the place. */
    json_object_del(json_object_get(r, "subscriber"), "organisation");
    json_object_del(json_object_get(r, "subscriber"), "province");
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.organisation, "Sở Nội vụ");
    CHECK_EQ_STR(s.province, "Bắc Ninh");

    /* A passport is no CCCD: refused, and the message does not repeat the number. */
    json_object_set_new(json_object_get(r, "subscriber"), "id_number", json_string("B1234567"));
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "subscriber.id_number") != NULL);
    CHECK(strstr(why, "B1234567") == NULL);
    json_object_del(r, "place");
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "province") != NULL);
    json_decref(r);

    org = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:s}", "form", "org_new", "unit",
                    "Sở Nội vụ", "place", "Bắc Ninh", "organisation", "name", "SỞ NỘI VỤ TỈNH BẮC NINH", "code",
                    "0100047516", "province", "Bắc Ninh", "email", "snv@bacninh.gov.vn", "subscriber", "full_name",
                    "LÊ VĂN TÁM", "phone", "0960000001", "sim_pki", "Viettel");
    CHECK_EQ_INT(gw_life_subject(org, NULL, 0, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.common_name, "SỞ NỘI VỤ TỈNH BẮC NINH");
    CHECK_EQ_STR(s.organisation, "SỞ NỘI VỤ TỈNH BẮC NINH");
    CHECK_EQ_INT(s.id_kind, SIG_CSR_ID_MST);
    CHECK_EQ_STR(s.id_number, "0100047516");
    CHECK_EQ_STR(s.email, "snv@bacninh.gov.vn");
    /* An electronic identifier or a budget code cannot be the UID. */
    json_object_set_new(json_object_get(org, "organisation"), "code", json_string("H27.12"));
    CHECK_EQ_INT(gw_life_subject(org, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    json_object_set_new(json_object_get(org, "organisation"), "code", json_string("1234567"));
    CHECK_EQ_INT(gw_life_subject(org, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "MST") != NULL);
    json_decref(org);
}

/* A self-signed certificate with ST, O and uid, for the change request's fallback. */
static int make_cert(unsigned char **der, const char *uid)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *n = X509_get_subject_name(x);
    int len;

    X509_NAME_add_entry_by_NID(n, NID_stateOrProvinceName, MBSTRING_UTF8, (const unsigned char *)"Hà Nội", -1, -1, 0);
    X509_NAME_add_entry_by_NID(n, NID_organizationName, MBSTRING_UTF8, (const unsigned char *)"Văn phòng", -1, -1, 0);
    X509_NAME_add_entry_by_NID(n, NID_userId, MBSTRING_UTF8, (const unsigned char *)uid, -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    *der = NULL;
    len = i2d_X509(x, der);
    X509_free(x);
    EVP_PKEY_free(k);
    return len;
}

static void test_subject_fallback(void)
{
    struct sig_csr_subject s;
    struct gw_life_subject_buf buf;
    char why[200];
    unsigned char *der = NULL;
    int len = make_cert(&der, "CCCD:001086012345");
    /* A change request names the person and what changes; the rest comes from the old certificate. */
    json_t *r = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s}}", "form", "change", "unit", "Sở Tư pháp", "subscriber",
                          "full_name", "TRẦN VĂN AN", "phone", "0960000001", "certificate", "serial", "0A");

    CHECK(len > 0);
    CHECK_EQ_INT(gw_life_subject(r, der, (size_t)len, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.province, "Hà Nội");
    CHECK_EQ_STR(s.organisation, "Văn phòng");
    CHECK_EQ_STR(s.id_number, "001086012345");
    CHECK_EQ_STR(s.common_name, "TRẦN VĂN AN");
    /* Without the certificate the UID is missing. */
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    OPENSSL_free(der);
    json_decref(r);
}

/*
 * A change of an organisation's certificate (the merger's O1, O3): the
 * organisation's subject as org_new's, never a person's, whatever the
 * subscriber (the key keeper) says; what the request leaves out comes from
 * the old certificate.
 */
static void test_subject_org_change(void)
{
    struct sig_csr_subject s;
    struct gw_life_subject_buf buf;
    char why[200];
    unsigned char *der = NULL, *der_cccd = NULL;
    int len = make_cert(&der, "MST:0100047516"), len_cccd = make_cert(&der_cccd, "CCCD:001086012345");
    json_t *r = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s}}", "form", "change", "unit",
                          "UBND TP. Thủ Đức", "place", "Thành phố Hồ Chí Minh", "organisation", "name",
                          "Ủy ban nhân dân Phường 5", "code", "5000111220", "subscriber", "full_name", "LÊ VĂN TÁM",
                          "organisation", "Văn phòng UBND", "province", "Hà Giang", "id_number", "001086012345",
                          "certificate", "serial", "0A");

    CHECK(len > 0 && len_cccd > 0);
    CHECK_EQ_INT(gw_life_subject(r, der, (size_t)len, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.common_name, "Ủy ban nhân dân Phường 5"); /* as written: a body's name is not upper-cased */
    CHECK_EQ_STR(s.organisation, "Ủy ban nhân dân Phường 5");
    CHECK_EQ_INT(s.id_kind, SIG_CSR_ID_MST);
    CHECK_EQ_STR(s.id_number, "5000111220");
    CHECK_EQ_STR(s.province, "Hà Nội"); /* the old certificate's, not the key keeper's */

    /* The organisation's own province; no code, or one that is no tax code: the old certificate's MST. */
    json_object_set_new(json_object_get(r, "organisation"), "province", json_string("Thành phố Hồ Chí Minh"));
    json_object_del(json_object_get(r, "organisation"), "code");
    CHECK_EQ_INT(gw_life_subject(r, der, (size_t)len, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.province, "Thành phố Hồ Chí Minh");
    CHECK_EQ_STR(s.id_number, "0100047516");
    CHECK_EQ_INT(s.id_kind, SIG_CSR_ID_MST);
    json_object_set_new(json_object_get(r, "organisation"), "code", json_string("1234567"));
    CHECK_EQ_INT(gw_life_subject(r, der, (size_t)len, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.id_number, "0100047516");
    json_object_set_new(json_object_get(r, "organisation"), "code", json_string("H27.12"));
    CHECK_EQ_INT(gw_life_subject(r, der, (size_t)len, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.id_number, "0100047516");

    /* An old certificate without a tax code (a person's UID, or none): refused, no CCCD taken for it. */
    CHECK_EQ_INT(gw_life_subject(r, der_cccd, (size_t)len_cccd, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "organisation.code") != NULL);
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "MST") != NULL);

    /* Nothing of the key keeper is needed: a change naming only the organisation. */
    json_object_del(r, "subscriber");
    json_object_del(json_object_get(r, "organisation"), "province");
    json_object_set_new(json_object_get(r, "organisation"), "code", json_string("5000111220"));
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), 0);
    CHECK_EQ_STR(s.common_name, "Ủy ban nhân dân Phường 5");
    CHECK_EQ_STR(s.province, "Thành phố Hồ Chí Minh"); /* no fallback: the place */
    json_object_del(r, "place");
    CHECK_EQ_INT(gw_life_subject(r, NULL, 0, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "organisation.province") != NULL);
    json_object_del(json_object_get(r, "organisation"), "name");
    CHECK_EQ_INT(gw_life_subject(r, der, (size_t)len, &s, &buf, why, sizeof(why)), -1);
    CHECK(strstr(why, "organisation.name") != NULL);

    /* The PIN prompt names the organisation when no key keeper is named. */
    {
        char text[256];
        json_object_set_new(json_object_get(r, "organisation"), "name", json_string("UBND TP. Thủ Đức"));
        gw_life_display_text(r, "Ký yêu cầu cấp chứng thư số cho", text, sizeof(text));
        CHECK(strstr(text, "UBND TP. Thủ Đức") != NULL);
    }

    OPENSSL_free(der);
    OPENSSL_free(der_cccd);
    json_decref(r);
}

static json_t *progress(const json_t *req, const char *sim_json, char *field, enum gw_life_err *err)
{
    char why[200];
    json_t *sim = sim_json ? json_loads(sim_json, 0, NULL) : NULL;
    json_t *p = gw_life_progress_new(req, sim, CFG_KEY_RSA2048, err, field, 48, why, sizeof(why));
    json_decref(sim);
    return p;
}

static void test_progress(void)
{
    json_t *r = person(), *p, *rev, *chg;
    enum gw_life_err err;
    char field[48];

    p = progress(r, "{\"iccid\":\"8984040000960000001\"}", field, &err);
    CHECK(p != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(p, "step")), "read");
    CHECK_EQ_INT(json_integer_value(json_object_get(p, "kv")), 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(p, "key_alg")), CFG_KEY_RSA2048);
    json_decref(p);
    p = progress(r, "{\"iccid\":\"89840400009600000019\",\"kv\":3,\"key_alg\":\"ecp256\"}", field, &err);
    CHECK(p != NULL && json_integer_value(json_object_get(p, "kv")) == 3 &&
          json_integer_value(json_object_get(p, "key_alg")) == CFG_KEY_ECP256);
    json_decref(p);

    static const struct {
        const char *sim, *field;
    } bad[] = {
        {NULL, "sim"}, /* a new SIM is required for Mẫu 01 */
        {"{\"iccid\":\"123\"}", "sim.iccid"},
        {"{\"iccid\":\"1984040000960000001\"}", "sim.iccid"},
        {"{\"iccid\":\"8984040000960000001\",\"kv\":16}", "sim.kv"},
        {"{\"iccid\":\"8984040000960000001\",\"kv\":\"1\"}", "sim.kv"},
        {"{\"iccid\":\"8984040000960000001\",\"key_alg\":\"rsa4096\"}", "sim.key_alg"},
        {"{\"iccid\":\"8984040000960000001\",\"imsi\":\"1\"}", "sim"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = progress(r, bad[i].sim, field, &err);
        CHECK(p == NULL);
        CHECK_EQ_INT(err, GW_LIFE_ERR_INVALID);
        CHECK_EQ_STR(field, bad[i].field);
    }
    json_object_del(json_object_get(r, "subscriber"), "phone");
    CHECK(progress(r, "{\"iccid\":\"8984040000960000001\"}", field, &err) == NULL);
    CHECK_EQ_STR(field, "subscriber.phone");
    json_decref(r);

    /* A revocation takes no SIM; a change keeps the SIM unless it says otherwise. */
    rev = json_pack("{s:s, s:{s:s}, s:s}", "form", "revoke", "subscriber", "phone", "0960000001", "reason", "x");
    p = progress(rev, NULL, field, &err);
    CHECK(p != NULL && !json_object_get(p, "iccid"));
    json_decref(p);
    CHECK(progress(rev, "{\"iccid\":\"8984040000960000001\"}", field, &err) == NULL);
    json_decref(rev);
    chg = json_pack("{s:s, s:{s:s}, s:s}", "form", "change", "subscriber", "phone", "0960000001", "sim_pki", "Viettel");
    p = progress(chg, NULL, field, &err);
    CHECK(p != NULL);
    json_decref(p);
    json_object_set_new(chg, "sim_pki", json_string("Viettel/cs")); /* a /cs change needs the new SIM */
    CHECK(progress(chg, NULL, field, &err) == NULL);
    json_decref(chg);
    chg = json_pack("{s:s}", "form", "handover");
    CHECK(progress(chg, NULL, field, &err) == NULL);
    json_decref(chg);
}

static void test_tables(void)
{
    CHECK(gw_life_drives_form("person_new") && gw_life_drives_form("org_new") && gw_life_drives_form("change") &&
          gw_life_drives_form("revoke"));
    CHECK(!gw_life_drives_form("handover") && !gw_life_drives_form("mau99") && !gw_life_drives_form(NULL));
    CHECK(gw_life_engine_state("sent_to_ca") && gw_life_engine_state("issued") && gw_life_engine_state("installed") &&
          gw_life_engine_state("done"));
    CHECK(!gw_life_engine_state("failed") && !gw_life_engine_state("rejected") && !gw_life_engine_state("confirmed"));
    /* Step names are stored in Redis: distinct, and "finished" is none of them. */
    for (int a = 0; a < GW_LIFE_STEP_COUNT; a++) {
        CHECK(step_names[a] != NULL && strcmp(step_names[a], "finished") != 0);
        CHECK_EQ_INT(gw_life_step_parse(gw_life_step_name(a)), a);
        for (int b = a + 1; b < GW_LIFE_STEP_COUNT; b++)
            CHECK(strcmp(step_names[a], step_names[b]) != 0);
    }
    CHECK_EQ_INT(gw_life_step_parse("finished"), GW_LIFE_STEP_COUNT);
    CHECK_EQ_INT(gw_life_step_parse(NULL), GW_LIFE_STEP_COUNT);
    CHECK_EQ_STR(gw_life_step_name(GW_LIFE_STEP_COUNT), "?");
    CHECK(!gw_life_sim_result_temporary("USER_CANCEL") && !gw_life_sim_result_temporary("KEY_EXISTS") &&
          gw_life_sim_result_temporary("EXPIRED") && gw_life_sim_result_temporary("DELIVERY_ERROR"));
    CHECK(gw_life_serial_eq("00AB12", "ab12") && !gw_life_serial_eq("AB12", "AB13"));
    CHECK(iccid_ok("8984040000960000001") && !iccid_ok("898404000096000000") && !iccid_ok("89840400009600000x1"));
}

/* The PIN prompt must fit one SIM screen: 90 UCS2 characters. */
static void test_display_text(void)
{
    json_t *r = json_pack("{s:{s:s}}", "subscriber", "full_name",
                          "TÔN NỮ HOÀNG THỊ PHƯƠNG THẢO NGUYỄN PHÚC VĨNH THỤY BẢO ĐẠI HOÀNG ĐẾ");
    char text[256];
    size_t chars = 0;

    gw_life_display_text(r, "Ký yêu cầu cấp chứng thư số cho", text, sizeof(text));
    for (const char *p = text; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    CHECK(chars <= 90);
    CHECK(strstr(text, "Nhập PIN để đồng ý") != NULL);
    json_decref(r);
}

int main(void)
{
    test_reasons();
    test_fold();
    test_utf8_prefix();
    test_subject();
    test_subject_fallback();
    test_subject_org_change();
    test_progress();
    test_tables();
    test_display_text();
    return check_report("test_life");
}
