/*
 * test_merge_rules.c - the merger review's rules (gw_merge_rules.h,
 * gw_merge_forms.h) on a hand-made province: a merge of three communes
 * with a seat, a merge without one (D1), a split (D2), a rename (O1), an
 * unchanged ward (O2), and a staff list with a person for every P rule and
 * every D case.  Every row is checked field by field, every request it files
 * goes through gw_enrol_validate() (the API's own check), and the bundle is
 * rendered.  Last, gw_merge_plan_build() is timed on 100,000 certificates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cfg.h"
#include "check.h"
#include "gw_enrol_import.h"
#include "gw_life_rules.h"
#include "gw_merge_rules.h"

/* Units (old_parent of the first merge written three ways: one receiving body). */
#define A   "UBND xã An Khang"
#define B   "UBND xã An Tường"
#define C   "UBND TP. Thủ Đức" /* a body's name with a dot, never a person's (gw_valid_name) */
#define D   "UBND xã Mỹ Bằng"
#define E   "UBND xã Kim Phú"
#define F   "UBND xã Thái Bình"
#define G   "UBND Phường 5" /* and with a digit */
#define GN  "Ủy ban nhân dân Phường 5"
#define GT  "5000111220" /* GN's tax code (check digit 0) */
#define H   "UBND phường Minh Xuân"
#define YS  "UBND huyện Yên Sơn"
#define SD  "UBND huyện Sơn Dương"
#define SNV "Sở Nội vụ tỉnh Tuyên Quang"

static const struct gw_reorg_row reorg[] = {
    /* old, new, new_parent, locality, province, old_parent, tax, budget, basis, date, effective, source, seat, line */
    {A, B, "UBND tỉnh Tuyên Quang", "", "Tuyên Quang", YS, "", "1234567", "NQ 1684", "2025-06-16", "2025-07-01", "", 1,
     2},
    {B, B, "UBND tỉnh Tuyên Quang", "", "Tuyên Quang", "UBND Huyện Yên Sơn", "", "", "NQ 1684", "2025-06-16",
     "2025-07-01", "", 0, 3},
    {C, B, "UBND tỉnh Tuyên Quang", "", "Tuyên Quang", "ubnd  huyện yên sơn ", "", "", "NQ 1684", "2025-06-16",
     "2025-07-01", "", 0, 4},
    {D, "UBND xã Kim Bình", "", "", "Tuyên Quang", "", "", "", "NQ 1684", "2025-06-16", "2025-07-01", "", 0, 5},
    {E, "UBND xã Kim Bình", "", "", "Tuyên Quang", "", "", "", "NQ 1684", "2025-06-16", "2025-07-01", "", 0, 6},
    {F, "UBND xã Tân Trào", "", "", "Tuyên Quang", SD, "", "", "NQ 1684", "2025-06-16", "2025-07-01", "", 0, 7},
    {F, "UBND xã Phú Thịnh", "", "", "Tuyên Quang", SD, "", "", "NQ 1684", "2025-06-16", "2025-07-01", "", 0, 8},
    {G, GN, "", "", "Tuyên Quang", "", GT, "", "NQ 1684", "2025-06-16", "2025-07-01", "", 0, 9},
    {H, H, "", "", "Tuyên Quang", "", "", "", "NQ 1684", "2025-06-16", "2025-07-01", "", 0, 10},
};
#define NREORG (sizeof(reorg) / sizeof(reorg[0]))

static const struct gw_staff_row staff[] = {
    /* id, serial, name, old, new, post, leader, state, keeps, line */
    {"008085000101", "", "Nguyễn Văn Một", A, B, "Phó Chủ tịch UBND xã", 1, 1, 1, 2},    /* P1 */
    {"", "2A02", "Trần Thị Hai", B, "UBND xã Kim Bình", "Chủ tịch UBND xã", 1, 1, 0, 3}, /* P2 by serial */
    {"008085000103", "", "Lê Văn Ba", C, B, "", 0, 1, 0, 4},                             /* P3 */
    {"008085000104", "", "Phạm Thị Bốn", D, "", "", 1, 0, 0, 5},                         /* P4 */
    {"008085000105", "", "Hoàng Văn Năm", H, H, "Chủ tịch UBND phường", 1, 1, 0, 6},     /* P5 */
    {"008085000106", "", "Vũ Thị Sáu", A, B, "", 1, 1, 0, 7},                            /* D3 */
    {"008085000107", "", "Đặng Văn Bảy", G, GN, "", 1, 1, 0, 8},                         /* D5 */
    {"008085000108", "", "Bùi Thị Tám", A, B, "", 1, 1, 1, 9},                           /* D6: cert says C */
    {"008085000109", "", "Đỗ Văn Chín", SNV, B, "Chủ tịch UBND xã", 1, 1, 1, 10},        /* P1, unit not merged */
    {"008085000110", "", "Ngô Thị Mười", F, "UBND xã Tân Trào", "", 1, 1, 0, 11},        /* P2 in a split unit */
};
#define NSTAFF (sizeof(staff) / sizeof(staff[0]))

#define T2030 (1893456000 - 3600) /* 2029-12-31T23:00Z: 2030-01-01 in Việt Nam */

static const struct gw_merge_cert certs[] = {
    /* msisdn, serial, cn, o, st, uid, email, subject, carrier, not_after, cs */
    {"84961000001", "1A01", A, A, "Tuyên Quang", "MST:5000111222", "", "CN=" A ",O=" A, "Viettel", T2030, 0},
    {"84961000002", "1A02", "Nguyễn Văn Một", A, "Tuyên Quang", "CCCD:008085000101", "mot@tuyenquang.gov.vn",
     "CN=Nguyễn Văn Một,O=" A, "Viettel", T2030, 0},
    /* B's O in other case and spacing: matched by the name key */
    {"84961000003", "2A01", "UBND XÃ AN TƯỜNG", " UBND  XÃ AN TƯỜNG", "Tuyên Quang", "", "", "CN=UBND XÃ AN TƯỜNG",
     "Vinaphone", T2030, 0},
    {"84961000004", "2A02", "Trần Thị Hai", B, "Tuyên Quang", "CCCD:008085000999", "", "CN=Trần Thị Hai", "Viettel",
     T2030, 0},
    {"84961000005", "3A01", C, C, "Tuyên Quang", "", "", "CN=" C, "Mobifone", T2030, 0},
    {"84961000006", "3A02", "Lê Văn Ba", C, "Tuyên Quang", "CCCD:008085000103", "", "CN=Lê Văn Ba", "Viettel", T2030,
     0},
    {"84961000007", "3A03", "Bùi Thị Tám", C, "Tuyên Quang", "CCCD:008085000108", "", "CN=Bùi Thị Tám", "Viettel",
     T2030, 0},
    {"84961000008", "4A01", D, D, "Tuyên Quang", "MST:5000333444", "", "CN=" D, "Viettel", T2030, 0},
    {"84961000009", "4A02", "Phạm Thị Bốn", D, "Tuyên Quang", "CCCD:008085000104", "", "CN=Phạm Thị Bốn", "Viettel",
     T2030, 0},
    {"84961000010", "5A01", E, E, "Tuyên Quang", "", "", "CN=" E, "Viettel", T2030, 0},
    {"84961000011", "5A02", "Lý Văn Lạ", E, "Tuyên Quang", "CCCD:008085000777", "", "CN=Lý Văn Lạ", "Viettel", T2030,
     0}, /* D4 */
    {"84961000012", "6A01", F, F, "Tuyên Quang", "", "", "CN=" F, "Viettel", T2030, 0},
    {"84961000013", "6A02", "Ngô Thị Mười", F, "Tuyên Quang", "CCCD:008085000110", "", "CN=Ngô Thị Mười", "Viettel",
     T2030, 0},
    {"84961000014", "7A01", G, G, "Tuyên Quang", "", "", "CN=" G, "Viettel", T2030, 0},
    {"84961000015", "7A02", "Đặng Văn Bảy", G, "Tuyên Quang", "CCCD:008085000107", "", "CN=Đặng Văn Bảy", "Viettel",
     T2030, 1}, /* D5 */
    {"84961000016", "8A01", H, H, "Tuyên Quang", "", "", "CN=" H, "Viettel", T2030, 0},
    {"84961000017", "8A02", "Hoàng Văn Năm", H, "Tuyên Quang", "CCCD:008085000105", "", "CN=Hoàng Văn Năm", "Viettel",
     T2030, 0},
    {"84961000018", "9A01", "Đỗ Văn Chín", SNV, "Tuyên Quang", "CCCD:008085000109", "", "CN=Đỗ Văn Chín", "Viettel",
     T2030, 0},
    /* Not a row: a person and an organisation of units outside the reorganisation and the list. */
    {"84961000019", "9A02", "Người Khác", SNV, "Tuyên Quang", "CCCD:008085000555", "", "CN=Người Khác", "Viettel",
     T2030, 0},
    {"84961000020", "9A03", SNV, SNV, "Tuyên Quang", "", "", "CN=" SNV, "Viettel", T2030, 0},
};
#define NCERTS (sizeof(certs) / sizeof(certs[0]))

struct want {
    const char *unit, *serial, *kind, *action, *rule, *reason, *to, *changes;
    int code; /* reason_code, -1: null */
    const char *new_unit;
};

static const char r_sup[] = "Sáp nhập đơn vị hành chính: chứng thư số tổ chức được thay thế bằng chứng thư số của "
                            "đơn vị mới";
static const char r_moved[] = "Chuyển công tác sang đơn vị mới, không giữ lại thiết bị";
static const char r_post[] = "Thôi giữ chức vụ lãnh đạo";
static const char r_sector[] = "Chuyển ra ngoài khu vực cơ quan hành chính nhà nước";

/* clang-format off */
static const struct want want[] = {
    /* 1 */ {A, "1A01", "organisation", "change", "O3", NULL, NULL,
             "[{\"field\":\"organisation\",\"old\":\"" A "\",\"new\":\"" B "\"},"
             "{\"field\":\"common_name\",\"old\":\"" A "\",\"new\":\"" B "\"},"
             "{\"field\":\"budget_code\",\"old\":\"\",\"new\":\"1234567\"}]", -1, B},
    /* 2 */ {A, "1A02", "person", "change", "P1", NULL, NULL,
             "[{\"field\":\"organisation\",\"old\":\"" A "\",\"new\":\"" B "\"},"
             "{\"field\":\"position\",\"old\":\"\",\"new\":\"Phó Chủ tịch UBND xã\"}]", -1, B},
    /* 3 */ {A, NULL, "person", "decide", "D3", NULL, NULL, "[]", -1, B},
    /* 4 */ {B, "2A01", "organisation", "revoke", "O4", r_sup, "UBND Huyện Yên Sơn", "[]", 4, B},
    /* 5 */ {B, "2A02", "person", "revoke", "P2", r_moved, "UBND Huyện Yên Sơn", "[]", 3, "UBND xã Kim Bình"},
    /* 6 */ {C, "3A01", "organisation", "revoke", "O4", r_sup, "ubnd  huyện yên sơn ", "[]", 4, B},
    /* 7 */ {C, "3A02", "person", "revoke", "P3", r_post, "ubnd  huyện yên sơn ", "[]", 5, B},
    /* 8 */ {C, "3A03", "person", "decide", "D6", NULL, NULL,
             "[{\"field\":\"organisation\",\"old\":\"" C "\",\"new\":\"" B "\"}]", -1, B},
    /* 9 */ {D, "4A01", "organisation", "decide", "D1", NULL, NULL, "[]", -1, "UBND xã Kim Bình"},
    /* 10 */ {D, "4A02", "person", "revoke", "P4", r_sector, D, "[]", 3, ""},
    /* 11 */ {E, "5A01", "organisation", "decide", "D1", NULL, NULL, "[]", -1, "UBND xã Kim Bình"},
    /* 12 */ {E, "5A02", "person", "decide", "D4", NULL, NULL, "[]", -1, "UBND xã Kim Bình"},
    /* 13 */ {F, "6A01", "organisation", "decide", "D2", NULL, NULL, "[]", -1, ""},
    /* 14 */ {F, "6A02", "person", "revoke", "P2", r_moved, SD, "[]", 3, "UBND xã Tân Trào"},
    /* 15 */ {G, "7A01", "organisation", "change", "O1", NULL, NULL,
              "[{\"field\":\"organisation\",\"old\":\"" G "\",\"new\":\"" GN "\"},"
              "{\"field\":\"common_name\",\"old\":\"" G "\",\"new\":\"" GN "\"},"
              "{\"field\":\"tax_code\",\"old\":\"\",\"new\":\"" GT "\"}]", -1, GN},
    /* 16 */ {G, "7A02", "person", "decide", "D5", r_moved, G, "[]", 3, GN},
    /* 17 */ {H, "8A01", "organisation", "keep", "O2", NULL, NULL, "[]", -1, H},
    /* 18 */ {H, "8A02", "person", "keep", "P5", NULL, NULL, "[]", -1, H},
    /* 19 */ {SNV, "9A01", "person", "change", "P1", NULL, NULL,
              "[{\"field\":\"organisation\",\"old\":\"" SNV "\",\"new\":\"" B "\"},"
              "{\"field\":\"position\",\"old\":\"\",\"new\":\"Chủ tịch UBND xã\"}]", -1, B},
};
/* clang-format on */
#define NWANT (sizeof(want) / sizeof(want[0]))

static const char plan_json[] = "{\"id\": \"p0123456789ab\", \"name\": \"Sắp xếp xã 2025\", \"state\": \"review\","
                                " \"basis\": \"Nghị quyết 1684/NQ-UBTVQH15\", \"effective\": \"2025-07-01\"}";

static const char *s_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void check_str_or_null(const json_t *row, const char *key, const char *want_s, size_t no)
{
    const json_t *v = json_object_get(row, key);

    if (want_s) {
        if (!json_is_string(v) || strcmp(json_string_value(v), want_s) != 0)
            fprintf(stderr, "row %zu: %s\n", no, key);
        CHECK(json_is_string(v) && strcmp(json_string_value(v), want_s) == 0);
    } else {
        if (!json_is_null(v))
            fprintf(stderr, "row %zu: %s should be null\n", no, key);
        CHECK(json_is_null(v));
    }
}

static void test_rows(const json_t *rows)
{
    CHECK_EQ_INT(json_array_size(rows), NWANT);
    for (size_t i = 0; i < NWANT && i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        const struct want *w = &want[i];
        json_t *changes = json_loads(w->changes, 0, NULL);

        CHECK_EQ_INT(json_integer_value(json_object_get(row, "no")), i + 1);
        CHECK_EQ_STR(s_of(row, "unit"), w->unit);
        CHECK_EQ_STR(s_of(row, "kind"), w->kind);
        CHECK_EQ_STR(s_of(row, "action"), w->action);
        CHECK_EQ_STR(s_of(row, "rule"), w->rule);
        CHECK_EQ_STR(s_of(row, "new_unit"), w->new_unit);
        check_str_or_null(row, "serial", w->serial, i + 1);
        check_str_or_null(row, "reason", w->reason, i + 1);
        check_str_or_null(row, "handover_to", w->to, i + 1);
        if (w->code < 0)
            CHECK(json_is_null(json_object_get(row, "reason_code")));
        else
            CHECK_EQ_INT(json_integer_value(json_object_get(row, "reason_code")), w->code);
        CHECK(changes != NULL);
        if (!json_equal(changes, json_object_get(row, "changes"))) {
            char *got = json_dumps(json_object_get(row, "changes"), JSON_ENSURE_ASCII);
            fprintf(stderr, "row %zu changes: %s\n", i + 1, got);
            free(got);
        }
        CHECK(json_equal(changes, json_object_get(row, "changes")));
        /* The wording of every reason gives the rule's RFC 5280 code. */
        if (w->reason)
            CHECK_EQ_INT(gw_life_revoke_reason(w->reason), w->code);
        json_decref(changes);
    }
    /* The rest of a row, on two of them. */
    {
        const json_t *r = json_array_get(rows, 1);
        CHECK_EQ_STR(s_of(r, "holder"), "Nguyễn Văn Một");
        CHECK_EQ_STR(s_of(r, "msisdn"), "84961000002");
        CHECK_EQ_STR(s_of(r, "valid_to"), "2030-01-01");
        CHECK_EQ_STR(s_of(r, "carrier"), "Viettel");
        CHECK_EQ_STR(s_of(r, "id_number"), "008085000101");
        CHECK_EQ_STR(s_of(r, "email"), "mot@tuyenquang.gov.vn");
        CHECK_EQ_STR(s_of(r, "new_post"), "Phó Chủ tịch UBND xã");
        CHECK_EQ_INT(json_integer_value(json_object_get(r, "staff_line")), 2);
        CHECK_EQ_INT(json_integer_value(json_object_get(r, "reorg_line")), 2);
        CHECK(json_is_true(json_object_get(r, "keeps_device")));
        CHECK(json_is_false(json_object_get(r, "cs")));
        r = json_array_get(rows, 2); /* D3: no certificate */
        CHECK_EQ_STR(s_of(r, "holder"), "Vũ Thị Sáu");
        CHECK(json_is_null(json_object_get(r, "msisdn")));
        CHECK(json_is_null(json_object_get(r, "valid_to")));
        CHECK_EQ_INT(json_integer_value(json_object_get(r, "staff_line")), 7);
        r = json_array_get(rows, 15); /* D5 names the rule it would have had */
        CHECK(json_is_true(json_object_get(r, "cs")));
        CHECK(strstr(s_of(r, "detail"), "P2") != NULL);
        r = json_array_get(rows, 7); /* D6 likewise */
        CHECK(strstr(s_of(r, "detail"), "P1") != NULL);
        r = json_array_get(rows, 18); /* a unit outside the reorganisation */
        CHECK(json_is_null(json_object_get(r, "reorg_line")));
    }
}

static void test_summary(const json_t *sum)
{
    const json_t *ba = json_object_get(sum, "by_action"), *br = json_object_get(sum, "by_rule");

    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "rows")), 19);
    CHECK_EQ_INT(json_integer_value(json_object_get(sum, "units")), 9);
    CHECK_EQ_INT(json_integer_value(json_object_get(ba, "change")), 4);
    CHECK_EQ_INT(json_integer_value(json_object_get(ba, "revoke")), 6);
    CHECK_EQ_INT(json_integer_value(json_object_get(ba, "keep")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(ba, "decide")), 7);
    CHECK_EQ_INT(json_integer_value(json_object_get(br, "D1")), 2);
    CHECK_EQ_INT(json_integer_value(json_object_get(br, "P2")), 2);
    CHECK_EQ_INT(json_array_size(json_object_get(sum, "rules")), 15);
}

static void test_rule_table(void)
{
    json_t *t = gw_merge_rules_json(), *r;
    size_t i;

    CHECK_EQ_INT(json_array_size(t), 15);
    json_array_foreach(t, i, r)
    {
        CHECK(s_of(r, "id") && s_of(r, "action") && s_of(r, "en") && s_of(r, "vi"));
        CHECK(strlen(s_of(r, "vi")) > 10 && strcmp(s_of(r, "vi"), s_of(r, "en")) != 0);
    }
    CHECK_EQ_STR(s_of(json_array_get(t, 3), "id"), "O4");
    CHECK_EQ_STR(s_of(json_array_get(t, 3), "action"), "revoke");
    json_decref(t);
}

static void override(json_t *row, const char *action, const char *reason)
{
    json_object_set_new(row, "override",
                        json_pack("{s:s, s:s, s:s, s:s, s:i}", "action", action, "reason", reason, "by", "op", "at",
                                  "2025-07-02T00:00:00Z", "version", 2));
}

/* Every request passes the API's own check, and a revocation's reason gives the row's code. */
/* The lifecycle engine confirms it as it is (gw_life_progress_new: the number, no new SIM asked for). */
static int engine_takes(const json_t *req)
{
    enum gw_life_err err;
    char field[64], why[200];
    json_t *p = gw_life_progress_new(req, NULL, CFG_KEY_ECP256, &err, field, sizeof(field), why, sizeof(why));

    if (!p)
        fprintf(stderr, "engine refuses: %s: %s\n", field, why);
    json_decref(p);
    return p != NULL;
}

static int validates(json_t *req, const char *what)
{
    struct gw_date today = {2025, 7, 2};
    json_t *errors = json_array(), *warnings = json_array();
    char why[128] = "";
    enum gw_enrol_verdict v = gw_enrol_validate(req, &today, errors, warnings, why, sizeof(why));

    if (v != GW_ENROL_VALID) {
        char *e = json_dumps(errors, JSON_ENSURE_ASCII);
        fprintf(stderr, "%s: %s %s\n", what, why, e);
        free(e);
    }
    json_decref(errors);
    json_decref(warnings);
    return v == GW_ENROL_VALID;
}

static void test_requests(const json_t *plan, json_t *rows)
{
    size_t i, filed = 0;
    json_t *row, *req;
    char what[32];

    json_array_foreach(rows, i, row)
    {
        req = gw_merge_row_request(plan, row);
        snprintf(what, sizeof(what), "row %zu", i + 1);
        if (strcmp(s_of(row, "action"), "change") != 0 && strcmp(s_of(row, "action"), "revoke") != 0) {
            CHECK(req == NULL);
            continue;
        }
        CHECK(req != NULL);
        if (!req)
            continue;
        filed++;
        CHECK_EQ_STR(s_of(req, "form"), s_of(row, "action"));
        CHECK_EQ_STR(s_of(req, "date"), "2025-07-01");
        CHECK_EQ_STR(s_of(json_object_get(req, "certificate"), "serial"), s_of(row, "serial"));
        if (strcmp(s_of(row, "action"), "revoke") == 0)
            CHECK_EQ_INT(gw_life_revoke_reason(s_of(req, "reason")),
                         json_integer_value(json_object_get(row, "reason_code")));
        else
            CHECK_EQ_INT(json_array_size(json_object_get(req, "changes")),
                         json_array_size(json_object_get(row, "changes")));
        /* The engine finds the number by subscriber.phone (gw_life_progress_new refuses a request without). */
        if (s_of(row, "msisdn")[0]) {
            char phone[16];
            snprintf(phone, sizeof(phone), "0%s", s_of(row, "msisdn") + 2);
            CHECK_EQ_STR(s_of(json_object_get(req, "subscriber"), "phone"), phone);
        }
        CHECK(validates(req, what));
        CHECK(engine_takes(req));
        json_decref(req);
    }
    CHECK_EQ_INT(filed, 10);

    /* A serial with a leading zero dropped (as rows match them) is written in whole octets again. */
    row = json_deep_copy(json_array_get(rows, 1));
    json_object_set_new(row, "serial", json_string("ABC"));
    req = gw_merge_row_request(plan, row);
    CHECK_EQ_STR(s_of(json_object_get(req, "certificate"), "serial"), "0ABC");
    CHECK(validates(req, "odd serial"));
    json_decref(req);
    json_decref(row);

    /* Row 2 in detail: a change form as gw_forms.h has it. */
    req = gw_merge_row_request(plan, json_array_get(rows, 1));
    CHECK_EQ_STR(s_of(req, "action"), "change");
    CHECK_EQ_STR(s_of(req, "unit"), A);
    CHECK_EQ_STR(s_of(req, "sim_pki"), "Viettel");
    CHECK_EQ_STR(s_of(req, "reason"), "Chuyển công tác theo Nghị quyết 1684/NQ-UBTVQH15");
    CHECK_EQ_STR(s_of(json_object_get(req, "subscriber"), "full_name"), "Nguyễn Văn Một");
    CHECK_EQ_STR(s_of(json_object_get(req, "subscriber"), "id_number"), "008085000101");
    /* The new certificate's O is the new unit (gw_life_subject takes subscriber.organisation). */
    CHECK_EQ_STR(s_of(json_object_get(req, "subscriber"), "organisation"),
                 s_of(json_array_get(json_object_get(json_array_get(rows, 1), "changes"), 0), "new"));
    CHECK(strcmp(s_of(json_object_get(req, "subscriber"), "organisation"), A) != 0);
    CHECK_EQ_STR(s_of(json_object_get(req, "certificate"), "valid_to"), "2030-01-01");
    json_decref(req);

    /*
     * Organisation rows: the organisation's form, no person.  Row 15 (O1) renamed to GN with its tax code, row 1
     * (O3) to B (a budget code is no tax code: not organisation.code), row 6 (O4) revoked under its current name;
     * the changes still name every field that changes.  C and G hold a dot and a digit: as a person's name
     * (subscriber.full_name) they were refused.
     */
    {
        static const struct {
            size_t row;
            const char *name, *code, *changes;
        } orgs[] = {
            {15, GN, GT, "Cơ quan, đơn vị (O)|Tên chứng thư (CN)|Mã số thuế"},
            {1, B, NULL, "Cơ quan, đơn vị (O)|Tên chứng thư (CN)|Mã quan hệ ngân sách"},
            {6, C, NULL, ""},
            {4, "UBND XÃ AN TƯỜNG", NULL, ""}, /* the certificate's CN, as written there */
        };
        for (size_t k = 0; k < sizeof(orgs) / sizeof(orgs[0]); k++) {
            const json_t *o, *c;
            char fields[256] = "";
            size_t j;

            req = gw_merge_row_request(plan, json_array_get(rows, orgs[k].row - 1));
            o = json_object_get(req, "organisation");
            snprintf(what, sizeof(what), "row %zu", orgs[k].row);
            CHECK(req && json_is_object(o));
            /* The key keeper is unknown: the subscriber holds only the number the engine works on. */
            CHECK_EQ_INT(json_object_size(json_object_get(req, "subscriber")),
                         s_of(json_array_get(rows, orgs[k].row - 1), "msisdn")[0] ? 1 : 0);
            CHECK_EQ_STR(s_of(o, "name"), orgs[k].name);
            if (orgs[k].code)
                CHECK_EQ_STR(s_of(o, "code"), orgs[k].code);
            else
                CHECK(json_object_get(o, "code") == NULL);
            json_array_foreach(json_object_get(req, "changes"), j, c)
            {
                snprintf(fields + strlen(fields), sizeof(fields) - strlen(fields), "%s%s", j ? "|" : "",
                         s_of(c, "field"));
            }
            CHECK_EQ_STR(fields, orgs[k].changes);
            CHECK(req && validates(req, what));
            if (req && orgs[k].row == 15) { /* the API's check refuses a bad tax code, and a missing name */
                json_t *errors = json_array(), *warnings = json_array();
                struct gw_date today = {2025, 7, 2};
                char why[128];
                json_object_set_new(json_object_get(req, "organisation"), "code", json_string("5000111222"));
                CHECK_EQ_INT(gw_enrol_validate(req, &today, errors, warnings, why, sizeof(why)), GW_ENROL_INVALID);
                CHECK_EQ_STR(s_of(json_array_get(errors, 0), "field"), "organisation.code");
                json_object_del(json_object_get(req, "organisation"), "code");
                json_object_del(json_object_get(req, "organisation"), "name");
                json_array_clear(errors);
                CHECK(gw_enrol_validate(req, &today, errors, warnings, why, sizeof(why)) != GW_ENROL_VALID);
                json_decref(errors);
                json_decref(warnings);
            }
            json_decref(req);
        }
        /* A person's row still names the person: row 6's neighbour, P3 of C. */
        req = gw_merge_row_request(plan, json_array_get(rows, 6));
        CHECK(req && json_object_get(req, "organisation") == NULL);
        CHECK_EQ_STR(s_of(json_object_get(req, "subscriber"), "full_name"), "Lê Văn Ba");
        CHECK_EQ_STR(s_of(json_object_get(req, "subscriber"), "organisation"), C);
        json_decref(req);
    }

    /*
     * Overrides: D5 to revoke keeps the P2 wording, and the carrier without "/cs" (on a request that asks for a
     * new SIM: the lifecycle engine would refuse to confirm it); a keep revoked in the operator's words.
     */
    override(json_array_get(rows, 15), "revoke", "Đã xác nhận với cán bộ");
    req = gw_merge_row_request(plan, json_array_get(rows, 15));
    CHECK_EQ_STR(s_of(req, "sim_pki"), "Viettel");
    CHECK_EQ_STR(s_of(req, "reason"), r_moved);
    CHECK(req && validates(req, "row 16 overridden"));
    CHECK(req && engine_takes(req));
    json_decref(req);
    override(json_array_get(rows, 17), "revoke", "Nghỉ hưu");
    req = gw_merge_row_request(plan, json_array_get(rows, 17));
    CHECK_EQ_STR(s_of(req, "reason"), "Nghỉ hưu");
    CHECK_EQ_INT(gw_life_revoke_reason(s_of(req, "reason")), 5);
    CHECK(req && validates(req, "row 18 overridden"));
    json_decref(req);
    override(json_array_get(rows, 8), "change", "Giữ chứng thư của xã Mỹ Bằng");
    req = gw_merge_row_request(plan, json_array_get(rows, 8));
    CHECK_EQ_STR(s_of(req, "form"), "change");
    CHECK_EQ_STR(s_of(req, "reason"), "Giữ chứng thư của xã Mỹ Bằng");
    CHECK(req && validates(req, "row 9 overridden"));
    json_decref(req);
    /* A row without a certificate files nothing, whatever the override says. */
    override(json_array_get(rows, 2), "revoke", "x");
    CHECK(gw_merge_row_request(plan, json_array_get(rows, 2)) == NULL);
    json_object_del(json_array_get(rows, 2), "override");
    CHECK_EQ_STR(gw_merge_row_action(json_array_get(rows, 15)), "revoke");
    CHECK_EQ_STR(gw_merge_row_action(json_array_get(rows, 14)), "change");
}

static void test_handovers(const json_t *plan, const json_t *rows)
{
    json_t *h = gw_merge_handovers(plan, rows), *g, *devs;
    size_t i;
    char what[32];

    /* After test_requests' overrides: row 16 (G) too; row 18 (a keep revoked) has no handover to give. */
    CHECK_EQ_INT(json_array_size(h), 4);
    g = json_array_get(h, 0);
    CHECK_EQ_STR(s_of(g, "group"), "1");
    CHECK_EQ_STR(s_of(g, "receiver"), "UBND Huyện Yên Sơn"); /* as first written: the three spellings are one body */
    {
        json_t *want_rows = json_loads("[4, 5, 6, 7]", 0, NULL);
        CHECK(json_equal(json_object_get(g, "rows"), want_rows));
        json_decref(want_rows);
    }
    devs = json_object_get(json_object_get(g, "request"), "devices");
    CHECK_EQ_INT(json_array_size(devs), 4);
    CHECK_EQ_STR(s_of(json_array_get(devs, 0), "cert_name"), "UBND XÃ AN TƯỜNG");
    CHECK_EQ_STR(s_of(json_array_get(devs, 0), "serial"), "2A01");
    CHECK_EQ_STR(s_of(json_array_get(devs, 0), "organisation"), B);
    CHECK_EQ_STR(s_of(json_array_get(devs, 3), "serial"), "3A02");
    CHECK_EQ_STR(s_of(json_object_get(json_object_get(g, "request"), "receiver"), "unit"), "UBND Huyện Yên Sơn");
    /* Two old units give to it: no one giver. */
    CHECK(json_object_get(json_object_get(g, "request"), "giver") == NULL);
    g = json_array_get(h, 1);
    CHECK_EQ_STR(s_of(g, "group"), "2");
    CHECK_EQ_STR(s_of(g, "receiver"), D);
    CHECK_EQ_STR(s_of(json_object_get(json_object_get(g, "request"), "giver"), "unit"), D);
    CHECK_EQ_STR(s_of(json_array_get(h, 2), "receiver"), SD);
    CHECK_EQ_STR(s_of(json_array_get(h, 3), "receiver"), G);
    json_array_foreach(h, i, g)
    {
        snprintf(what, sizeof(what), "handover %zu", i + 1);
        CHECK_EQ_STR(s_of(json_object_get(g, "request"), "form"), "handover");
        CHECK(validates(json_object_get(g, "request"), what));
    }
    json_decref(h);
}

static void test_diff(const json_t *rows)
{
    json_t *b = json_deep_copy(rows), *d, *want_d;

    /* rows already carries overrides on 9, 16 and 18; b turns 9 to keep and drops 19 */
    override(json_array_get(b, 8), "keep", "Giữ cả hai");
    json_array_remove(b, 18);
    d = gw_merge_diff(rows, b);
    want_d = json_loads("[{\"no\": 9, \"from\": \"change\", \"to\": \"keep\", \"rule\": \"D1\", \"reason\": \"Giữ cả "
                        "hai\"}, {\"no\": 19, \"from\": \"change\", \"to\": null, \"rule\": \"P1\", \"reason\": null}]",
                        0, NULL);
    if (!json_equal(d, want_d)) {
        char *s = json_dumps(d, JSON_ENSURE_ASCII);
        fprintf(stderr, "diff: %s\n", s);
        free(s);
    }
    CHECK(json_equal(d, want_d));
    json_decref(d);
    d = gw_merge_diff(b, rows); /* the other way: 19 appears */
    CHECK_EQ_INT(json_array_size(d), 2);
    CHECK(json_is_null(json_object_get(json_array_get(d, 1), "from")));
    CHECK_EQ_STR(s_of(json_array_get(d, 1), "to"), "change");
    json_decref(d);
    d = gw_merge_diff(rows, rows);
    CHECK_EQ_INT(json_array_size(d), 0);
    json_decref(d);
    json_decref(want_d);
    json_decref(b);
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_bundle(const json_t *plan, const json_t *rows)
{
    char err[256];
    size_t len = 0;
    char *html = gw_merge_bundle_html(plan, rows, "ubnd xã an tường", &len, err, sizeof(err));

    CHECK(html != NULL);
    if (!html) {
        fprintf(stderr, "bundle: %s\n", err);
        return;
    }
    CHECK_EQ_INT(strlen(html), len);
    /* B: its two Mẫu 09 and the handover record holding its devices, after a cover page. */
    CHECK_EQ_INT(count_of(html, "<h1>ĐỀ NGHỊ THU HỒI CHỨNG THƯ SỐ</h1>"), 2);
    CHECK_EQ_INT(count_of(html, "<h1>BIÊN BẢN BÀN GIAO THIẾT BỊ LƯU KHÓA BÍ MẬT</h1>"), 1);
    CHECK_EQ_INT(count_of(html, "<h1>HỒ SƠ SẮP XẾP ĐƠN VỊ HÀNH CHÍNH</h1>"), 1);
    CHECK_EQ_INT(count_of(html, "<section class=\"page"), 4);
    CHECK_EQ_INT(count_of(html, "<html"), 1);
    CHECK_EQ_INT(count_of(html, "<body"), 1);
    CHECK_EQ_INT(count_of(html, "</body>"), 1);
    CHECK_EQ_INT(count_of(html, "</html>"), 1);
    CHECK_EQ_INT(count_of(html, "<style>"), 1);
    CHECK(strstr(html, "page-break-after: always") != NULL);
    CHECK(strstr(html, "size: A4") != NULL);
    {
        /* The ids the runner files (gw_merge_request_id): row 4's and handover group 1's. */
        char r4[GW_MERGE_REQUEST_ID_LEN], h1[GW_MERGE_REQUEST_ID_LEN];
        gw_merge_request_id("p0123456789ab", "r4", r4);
        gw_merge_request_id("p0123456789ab", "h1", h1);
        CHECK(strstr(html, r4) != NULL && strstr(html, h1) != NULL);
        /* Stored ids never change meaning: the formula of gw_merge_forms.h, checked with sha256sum. */
        CHECK_EQ_STR(r4, "r6e866b45ffcb8062a0fc");
        CHECK(strcmp(r4, h1) != 0);
    }
    CHECK(strstr(html, "http") == NULL && strstr(html, "src=") == NULL && strstr(html, "href=") == NULL &&
          strstr(html, "@import") == NULL && strstr(html, "<script") == NULL);
    free(html);

    /* A: its Mẫu 07 (O3 and P1). */
    html = gw_merge_bundle_html(plan, rows, A, NULL, err, sizeof(err));
    CHECK(html && count_of(html, "<h1>ĐỀ NGHỊ GIA HẠN, THAY ĐỔI NỘI DUNG THÔNG TIN CHỨNG THƯ SỐ</h1>") == 2);
    CHECK(html && strstr(html, "http") == NULL);
    free(html);
    /* E: nothing to file (two decisions), a cover page all the same. */
    html = gw_merge_bundle_html(plan, rows, E, NULL, err, sizeof(err));
    CHECK(html && strstr(html, "Gồm 0 biểu mẫu") != NULL);
    free(html);
    html = gw_merge_bundle_html(plan, rows, "UBND xã Không Có", NULL, err, sizeof(err));
    CHECK(html == NULL);
    CHECK(strstr(err, "no rows") != NULL);
}

/* 100,000 registry entries over 2,000 units, 1,000 of them merged two by two; half the people listed. */
static void time_build(void)
{
    enum { N = 100000, UNITS = 2000, MERGED = 1000 };
    struct gw_merge_cert *c = calloc(N, sizeof(*c));
    struct gw_reorg_row *r = calloc(MERGED, sizeof(*r));
    struct gw_staff_row *s = calloc(N / 2, sizeof(*s));
    char(*names)[48] = calloc(UNITS + MERGED / 2, sizeof(*names));
    char(*serials)[16] = calloc(N, sizeof(*serials));
    char(*uids)[24] = calloc(N, sizeof(*uids));
    size_t ns = 0;
    json_t *rows = NULL, *sum = NULL;
    struct timespec t0, t1, c0, c1;

    if (!c || !r || !s || !names || !serials || !uids)
        exit(2);
    for (size_t u = 0; u < UNITS; u++)
        snprintf(names[u], sizeof(names[u]), "UBND xã Số %zu", u);
    for (size_t u = 0; u < MERGED / 2; u++)
        snprintf(names[UNITS + u], sizeof(names[0]), "UBND xã Mới %zu", u);
    for (size_t u = 0; u < MERGED; u++)
        r[u] =
            (struct gw_reorg_row){names[u],     names[UNITS + u / 2], "", "",         "Tuyên Quang",  "", "", "", "NQ",
                                  "2025-06-16", "2025-07-01",         "", u % 2 == 0, (unsigned)u + 2};
    for (size_t i = 0; i < N; i++) {
        size_t u = i % UNITS;
        int org = i < UNITS;
        snprintf(serials[i], sizeof(serials[i]), "%zX", 0x100000 + i);
        snprintf(uids[i], sizeof(uids[i]), org ? "MST:%010zu" : "CCCD:008085%06zu", i);
        c[i] = (struct gw_merge_cert){"84961000000",
                                      serials[i],
                                      org ? names[u] : "Nguyễn Văn A",
                                      names[u],
                                      "Tuyên Quang",
                                      uids[i],
                                      "",
                                      "CN=x",
                                      "Viettel",
                                      T2030,
                                      0};
        if (!org && i % 2 == 0)
            s[ns++] = (struct gw_staff_row){uids[i] + 5,
                                            "",
                                            "Nguyễn Văn A",
                                            names[u],
                                            names[UNITS + (u / 2) % 500],
                                            "",
                                            (int)(i % 3 != 0),
                                            (int)(i % 7 != 0),
                                            (int)(i % 4 == 0),
                                            (unsigned)ns + 2};
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    CHECK_EQ_INT(gw_merge_plan_build(r, MERGED, s, ns, c, N, &rows, &sum), GW_MERGE_OK);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Both clocks: on a shared machine the wall clock says more about the neighbours than about the code. */
    printf("gw_merge_plan_build: %d certificates, %zu staff rows, %d reorganisation rows -> %zu rows in %.3f s "
           "(%.3f s CPU)\n",
           N, ns, MERGED, json_array_size(rows), (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
           (double)(c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9);
    json_decref(rows);
    json_decref(sum);
    free(c);
    free(r);
    free(s);
    free(names);
    free(serials);
    free(uids);
}

int main(void)
{
    json_t *rows = NULL, *sum = NULL, *plan = json_loads(plan_json, 0, NULL);

    test_rule_table();
    CHECK_EQ_INT(gw_merge_plan_build(reorg, NREORG, staff, NSTAFF, certs, NCERTS, &rows, &sum), GW_MERGE_OK);
    if (!rows || !plan)
        return check_report("test_merge_rules");
    test_rows(rows);
    test_summary(sum);
    test_requests(plan, rows);
    test_handovers(plan, rows);
    test_diff(rows);
    test_bundle(plan, rows);
    json_decref(rows);
    json_decref(sum);
    json_decref(plan);
    time_build();
    return check_report("test_merge_rules");
}
