/*
 * merge_fixture_data.h - the province the merger fixture (merge_fixture.c)
 * is made of: its units, what the reorganisation does to each, and the
 * people it singles out to reach every rule of gateway/merge/gw_merge_rules.h.
 * Tables only; the generator reads them.  Names are NFC UTF-8.
 *
 * The province is Tuyên Quang (names of real districts and communes, a
 * reorganisation that is made up: the basis cell of reorg.csv says so).
 * A unit name is at most 64 characters: the O and CN upper bound (RFC 5280).
 * Affected: the districts Yên Sơn, Sơn Dương and Hàm Yên are dissolved (the
 * district level is abolished) and their 30 communes merged three into one
 * into 10 new communes; their three district health centres move to the
 * provincial health department.  Every other unit is unaffected unless
 * merge_fixture runs with --all.
 */
#ifndef SIMPKI_MERGE_FIXTURE_DATA_H
#define SIMPKI_MERGE_FIXTURE_DATA_H

#define MF_PROVINCE  "Tuyên Quang"
#define MF_PROV_UBND "Ủy ban nhân dân tỉnh Tuyên Quang"
#define MF_HEALTH    "Sở Y tế tỉnh Tuyên Quang"
#define MF_HOME_AFF  "Sở Nội vụ tỉnh Tuyên Quang"
#define DIST_YS      "Ủy ban nhân dân huyện Yên Sơn"
#define DIST_SD      "Ủy ban nhân dân huyện Sơn Dương"
#define DIST_HY      "Ủy ban nhân dân huyện Hàm Yên"
#define N1           "Ủy ban nhân dân xã Yên Sơn"
#define N2           "Ủy ban nhân dân xã Tân Long"
#define N3           "Ủy ban nhân dân xã Nhữ Khê"
#define N4           "Ủy ban nhân dân xã Minh Thanh"
#define N5           "Ủy ban nhân dân xã Sơn Dương"
#define N6           "Ủy ban nhân dân xã Sơn Thủy"
#define N7           "Ủy ban nhân dân xã Hàm Yên"
#define N8           "Ủy ban nhân dân xã Bạch Xa"
#define N9           "Ủy ban nhân dân xã Minh Dân"
#define N10          "Ủy ban nhân dân xã Trung Môn"

enum mf_kind { MF_PROV, MF_DISTRICT, MF_CENTRE, MF_COMMUNE };

struct mf_unit {
    const char *name; /* the certificates' O */
    enum mf_kind kind;
    int weight;         /* unaffected: share of the bulk certificates */
    const char *to;     /* the new unit; NULL: unaffected */
    const char *to2;    /* a second new unit: the old unit splits */
    const char *parent; /* the new unit's managing body (reorg new_parent) */
    const char *old_parent;
    int seat;      /* the reorganisation names this unit's organisation certificate the one to keep */
    int org;       /* has an organisation certificate */
    int org_cs;    /* ... on a /cs SIM */
    int ask_codes; /* the reorganisation asks for a tax code and a budget code */
    int people;    /* affected: person certificates */
};

/* clang-format off */
static const struct mf_unit MF_UNITS[] = {
    /* ---- affected: district Yên Sơn ---- */
    {DIST_YS, MF_DISTRICT, 0, N1, 0, MF_PROV_UBND, MF_PROV_UBND, 1, 1, 0, 0, 10},
    {"Ủy ban nhân dân xã Chân Sơn", MF_COMMUNE, 0, N1, 0, MF_PROV_UBND, DIST_YS, 0, 1, 1, 0, 5},
    {"Ủy ban nhân dân xã Lang Quán", MF_COMMUNE, 0, N1, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Chiêu Yên", MF_COMMUNE, 0, N1, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Tân Long", MF_COMMUNE, 0, N2, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 1, 5},
    {"Ủy ban nhân dân xã Tân Tiến", MF_COMMUNE, 0, N2, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Trung Sơn", MF_COMMUNE, 0, N2, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Thái Bình", MF_COMMUNE, 0, N3, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Tiến Bộ", MF_COMMUNE, 0, N3, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Đội Bình", MF_COMMUNE, 0, N3, 0, MF_PROV_UBND, DIST_YS, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Mỹ Bằng", MF_COMMUNE, 0, N10, 0, MF_PROV_UBND, DIST_YS, 1, 1, 0, 0, 5},
    /* ---- affected: district Sơn Dương (splits between two new communes) ---- */
    {DIST_SD, MF_DISTRICT, 0, N4, N5, MF_PROV_UBND, MF_PROV_UBND, 0, 1, 0, 0, 10},
    {"Ủy ban nhân dân xã Tân Trào", MF_COMMUNE, 0, N4, 0, MF_PROV_UBND, DIST_SD, 1, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Minh Thanh", MF_COMMUNE, 0, N4, 0, MF_PROV_UBND, DIST_SD, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Bình Yên", MF_COMMUNE, 0, N4, 0, MF_PROV_UBND, DIST_SD, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Lương Thiện", MF_COMMUNE, 0, N5, 0, MF_PROV_UBND, DIST_SD, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Tú Thịnh", MF_COMMUNE, 0, N5, 0, MF_PROV_UBND, DIST_SD, 1, 1, 1, 0, 5},
    {"Ủy ban nhân dân xã Hợp Thành", MF_COMMUNE, 0, N5, 0, MF_PROV_UBND, DIST_SD, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Phúc Ứng", MF_COMMUNE, 0, N6, 0, MF_PROV_UBND, DIST_SD, 1, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Kháng Nhật", MF_COMMUNE, 0, N6, 0, MF_PROV_UBND, DIST_SD, 1, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Hợp Hòa", MF_COMMUNE, 0, N6, 0, MF_PROV_UBND, DIST_SD, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Vĩnh Lợi", MF_COMMUNE, 0, N5, N10, MF_PROV_UBND, DIST_SD, 0, 1, 0, 0, 5},
    /* ---- affected: district Hàm Yên ---- */
    {DIST_HY, MF_DISTRICT, 0, N7, 0, MF_PROV_UBND, MF_PROV_UBND, 0, 1, 0, 0, 10},
    {"Ủy ban nhân dân xã Tân Thành", MF_COMMUNE, 0, N7, 0, MF_PROV_UBND, DIST_HY, 1, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Bình Xa", MF_COMMUNE, 0, N7, 0, MF_PROV_UBND, DIST_HY, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Minh Hương", MF_COMMUNE, 0, N7, 0, MF_PROV_UBND, DIST_HY, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Yên Thuận", MF_COMMUNE, 0, N8, 0, MF_PROV_UBND, DIST_HY, 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Bạch Xa", MF_COMMUNE, 0, N8, 0, MF_PROV_UBND, DIST_HY, 0, 0, 0, 0, 5},
    {"Ủy ban nhân dân xã Minh Khương", MF_COMMUNE, 0, N8, 0, MF_PROV_UBND, DIST_HY, 0, 0, 0, 0, 5},
    {"Ủy ban nhân dân xã Phù Lưu", MF_COMMUNE, 0, N9, 0, MF_PROV_UBND, "", 0, 0, 0, 0, 5},
    {"Ủy ban nhân dân xã Minh Dân", MF_COMMUNE, 0, N9, 0, MF_PROV_UBND, "", 0, 1, 0, 0, 5},
    {"Ủy ban nhân dân xã Yên Phú", MF_COMMUNE, 0, N9, 0, MF_PROV_UBND, "", 0, 0, 0, 0, 5},
    {"Ủy ban nhân dân xã Thành Long", MF_COMMUNE, 0, N10, 0, MF_PROV_UBND, "", 0, 1, 0, 0, 5},
    /* ---- affected: the district health centres ---- */
    {"Trung tâm Y tế huyện Yên Sơn", MF_CENTRE, 0, "Trung tâm Y tế khu vực Yên Sơn", 0, MF_HEALTH, DIST_YS, 0, 1, 0, 1, 6},
    {"Trung tâm Y tế huyện Sơn Dương", MF_CENTRE, 0, "Trung tâm Y tế khu vực Sơn Dương", 0, MF_HEALTH, DIST_SD, 0, 1, 0, 0, 6},
    {"Trung tâm Y tế huyện Hàm Yên", MF_CENTRE, 0, "Trung tâm Y tế huyện Hàm Yên", 0, MF_HEALTH, DIST_HY, 0, 1, 0, 0, 6},
    /* ---- unaffected: the province ---- */
    {MF_PROV_UBND, MF_PROV, 300, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Văn phòng Ủy ban nhân dân tỉnh Tuyên Quang", MF_PROV, 250, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Văn phòng Đoàn ĐBQH và HĐND tỉnh Tuyên Quang", MF_PROV, 150, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {MF_HOME_AFF, MF_PROV, 250, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Tài chính tỉnh Tuyên Quang", MF_PROV, 250, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Kế hoạch và Đầu tư tỉnh Tuyên Quang", MF_PROV, 200, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Tư pháp tỉnh Tuyên Quang", MF_PROV, 180, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {MF_HEALTH, MF_PROV, 260, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Giáo dục và Đào tạo tỉnh Tuyên Quang", MF_PROV, 280, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Xây dựng tỉnh Tuyên Quang", MF_PROV, 200, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Giao thông vận tải tỉnh Tuyên Quang", MF_PROV, 180, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Nông nghiệp và Phát triển nông thôn tỉnh Tuyên Quang", MF_PROV, 260, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Tài nguyên và Môi trường tỉnh Tuyên Quang", MF_PROV, 220, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Công Thương tỉnh Tuyên Quang", MF_PROV, 180, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Khoa học và Công nghệ tỉnh Tuyên Quang", MF_PROV, 150, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Thông tin và Truyền thông tỉnh Tuyên Quang", MF_PROV, 150, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Văn hóa, Thể thao và Du lịch tỉnh Tuyên Quang", MF_PROV, 200, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Sở Lao động - Thương binh và Xã hội tỉnh Tuyên Quang", MF_PROV, 200, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Thanh tra tỉnh Tuyên Quang", MF_PROV, 120, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ban Dân tộc tỉnh Tuyên Quang", MF_PROV, 100, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ban Quản lý các khu công nghiệp tỉnh Tuyên Quang", MF_PROV, 100, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Đài Phát thanh và Truyền hình Tuyên Quang", MF_PROV, 120, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Bệnh viện Đa khoa tỉnh Tuyên Quang", MF_PROV, 260, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Trường Cao đẳng Tuyên Quang", MF_PROV, 120, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Kho bạc Nhà nước Tuyên Quang", MF_PROV, 200, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Cục Thuế tỉnh Tuyên Quang", MF_PROV, 220, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Bảo hiểm xã hội tỉnh Tuyên Quang", MF_PROV, 180, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ban Quản lý Khu du lịch quốc gia Tân Trào", MF_PROV, 60, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    /* ---- unaffected: the other districts, their centres, communes and wards ---- */
    {"Ủy ban nhân dân thành phố Tuyên Quang", MF_DISTRICT, 220, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân huyện Chiêm Hóa", MF_DISTRICT, 160, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân huyện Na Hang", MF_DISTRICT, 130, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân huyện Lâm Bình", MF_DISTRICT, 110, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Trung tâm Y tế thành phố Tuyên Quang", MF_CENTRE, 90, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Trung tâm Y tế huyện Chiêm Hóa", MF_CENTRE, 80, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Trung tâm Y tế huyện Na Hang", MF_CENTRE, 70, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Trung tâm Y tế huyện Lâm Bình", MF_CENTRE, 60, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân phường Phan Thiết", MF_COMMUNE, 40, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân phường Tân Quang", MF_COMMUNE, 40, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân phường Minh Xuân", MF_COMMUNE, 40, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân phường Ỷ La", MF_COMMUNE, 35, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân phường Hưng Thành", MF_COMMUNE, 35, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân phường Nông Tiến", MF_COMMUNE, 35, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã An Tường", MF_COMMUNE, 30, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Lưỡng Vượng", MF_COMMUNE, 30, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân thị trấn Vĩnh Lộc", MF_COMMUNE, 30, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Vĩnh Quang", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Kim Bình", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Hòa Phú", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Yên Nguyên", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Tân Mỹ", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân thị trấn Na Hang", MF_COMMUNE, 30, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Sơn Phú", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Yên Hoa", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Côn Lôn", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Khâu Tinh", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Lăng Can", MF_COMMUNE, 30, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Thượng Lâm", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Bình An", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Hồng Quang", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"Ủy ban nhân dân xã Thổ Bình", MF_COMMUNE, 25, 0, 0, 0, 0, 0, 1, 0, 0, 0},
};
/* clang-format on */

/* What the fixture does to one person (unit, position in it) beyond the default. */
enum mf_sp {
    SP_D4,      /* the staff list leaves the person out */
    SP_CS,      /* the number is on a /cs SIM */
    SP_P1,      /* forced outcome: moves, leader, keeps the device */
    SP_P2,      /* forced outcome: moves, leader, hands the device back */
    SP_P3,      /* forced outcome: no longer a leader */
    SP_D6,      /* the staff list's old unit is arg, not the certificate's */
    SP_SERIAL,  /* matched by certificate serial only (lower case, colons) */
    SP_BOTH,    /* CCCD and serial both given */
    SP_UPPER,   /* old unit written in capitals */
    SP_SPACES,  /* old unit written with doubled and trailing spaces */
    SP_NEWUNIT, /* the staff list's new unit is arg */
};

struct mf_special {
    const char *unit;
    int person;
    enum mf_sp what;
    const char *arg;
};

/* clang-format off */
static const struct mf_special MF_SPECIALS[] = {
    /* D4: certificates the staff list does not mention */
    {"Ủy ban nhân dân xã Lang Quán", 4, SP_D4, 0},
    {"Ủy ban nhân dân xã Bình Yên", 4, SP_D4, 0},
    {"Ủy ban nhân dân xã Bình Xa", 4, SP_D4, 0},
    {"Trung tâm Y tế huyện Sơn Dương", 5, SP_D4, 0},
    /* D5: /cs numbers whose certificate would be revoked (and the org one: Chân Sơn's) */
    {"Ủy ban nhân dân xã Tân Tiến", 1, SP_P2, 0},
    {"Ủy ban nhân dân xã Tân Tiến", 1, SP_CS, 0},
    {"Ủy ban nhân dân xã Lương Thiện", 2, SP_P3, 0},
    {"Ủy ban nhân dân xã Lương Thiện", 2, SP_CS, 0},
    {"Ủy ban nhân dân xã Minh Hương", 3, SP_CS, 0}, /* the commune police chief: P4 */
    /* /cs numbers that are not revoked keep their rule */
    {"Ủy ban nhân dân xã Trung Sơn", 0, SP_P1, 0},
    {"Ủy ban nhân dân xã Trung Sơn", 0, SP_CS, 0},
    {"Ủy ban nhân dân xã Minh Dân", 0, SP_CS, 0}, /* P5 */
    /* D6: the staff list names another old unit */
    {"Ủy ban nhân dân xã Chiêu Yên", 1, SP_D6, "Ủy ban nhân dân xã Lang Quán"},
    {"Ủy ban nhân dân xã Yên Phú", 2, SP_D6, "Ủy ban nhân dân xã Phù Lưu"},
    {MF_HOME_AFF, 0, SP_D6, DIST_YS},
    /* matching: by serial, by both, names written otherwise */
    {"Ủy ban nhân dân xã Trung Sơn", 1, SP_SERIAL, 0},
    {"Ủy ban nhân dân xã Hợp Thành", 2, SP_SERIAL, 0},
    {"Ủy ban nhân dân xã Yên Thuận", 0, SP_BOTH, 0},
    {"Ủy ban nhân dân xã Tân Tiến", 0, SP_UPPER, 0},
    {"Ủy ban nhân dân xã Hợp Hòa", 1, SP_SPACES, 0},
    /* P1 to another unit than the reorganisation's, P2 and P3 for sure */
    {DIST_YS, 1, SP_P1, 0},
    {DIST_YS, 1, SP_NEWUNIT, MF_HOME_AFF},
    {DIST_HY, 2, SP_P1, 0},
    {DIST_HY, 2, SP_NEWUNIT, N8},
    {"Ủy ban nhân dân xã Tân Trào", 1, SP_P2, 0},
    {"Ủy ban nhân dân xã Tân Thành", 1, SP_P2, 0},
    {"Ủy ban nhân dân xã Tân Long", 2, SP_P3, 0},
    {"Trung tâm Y tế huyện Yên Sơn", 1, SP_P3, 0},
};
/* clang-format on */

/* Positions by kind of unit: title, 1 = leadership post, 2 = a vertical sector (police). */
struct mf_post {
    const char *title;
    int leader;
};
static const struct mf_post MF_POSTS_COMMUNE[] = {
    {"Chủ tịch Ủy ban nhân dân", 1}, {"Phó Chủ tịch Ủy ban nhân dân", 1},  {"Phó Chủ tịch Ủy ban nhân dân", 1},
    {"Trưởng Công an xã", 2},        {"Công chức Tài chính - Kế toán", 0},
};
static const struct mf_post MF_POSTS_DISTRICT[] = {
    {"Chủ tịch Ủy ban nhân dân", 3}, /* becomes the new commune's Party secretary */
    {"Phó Chủ tịch Ủy ban nhân dân", 1},
    {"Phó Chủ tịch Ủy ban nhân dân", 1},
    {"Phó Chủ tịch Ủy ban nhân dân", 1},
    {"Trưởng phòng Nội vụ", 1},
    {"Trưởng phòng Tài chính - Kế hoạch", 1},
    {"Trưởng phòng Tư pháp", 1},
    {"Trưởng phòng Văn hóa và Thông tin", 1},
    {"Trưởng phòng Kinh tế và Hạ tầng", 1},
    {"Chánh Văn phòng Hội đồng nhân dân và Ủy ban nhân dân", 0},
};
static const struct mf_post MF_POSTS_CENTRE[] = {
    {"Giám đốc", 1}, {"Phó Giám đốc", 1}, {"Phó Giám đốc", 1}, {"Kế toán trưởng", 1}, {"Trưởng khoa", 0}, {"Bác sĩ", 0},
};
static const char *const MF_TITLES_BULK[] = {
    "Giám đốc",       "Phó Giám đốc",    "Chánh Văn phòng",   "Trưởng phòng", "Phó Trưởng phòng",
    "Kế toán trưởng", "Chánh Thanh tra", "Chuyên viên chính", "Chuyên viên",
};

/* Vietnamese names (NFC), the weights rough: Nguyễn is every third. */
static const char *const MF_SURNAMES[] = {
    "Nguyễn", "Nguyễn", "Nguyễn", "Nguyễn", "Trần",  "Trần", "Lê",    "Lê",  "Phạm", "Hoàng",
    "Hoàng",  "Vũ",     "Đặng",   "Bùi",    "Đỗ",    "Ngô",  "Dương", "Lý",  "Ma",   "Ma",
    "Nông",   "Hà",     "Triệu",  "Quan",   "Lương", "Đinh", "Phan",  "Chu", "Tạ",   "Mai",
};
static const char *const MF_MIDDLE_M[] = {"Văn",  "Văn",   "Văn",  "Đức",  "Minh", "Quang", "Hữu",
                                          "Xuân", "Thanh", "Ngọc", "Công", "Tiến", "Mạnh"};
static const char *const MF_MIDDLE_F[] = {"Thị", "Thị", "Thị", "Thu", "Thanh", "Ngọc", "Minh", "Kim", "Hồng", "Thúy"};
static const char *const MF_GIVEN_M[] = {"An",   "Bình",  "Cường", "Dũng", "Đạt",   "Đông", "Giang", "Hải",
                                         "Hùng", "Huy",   "Khánh", "Long", "Mạnh",  "Nam",  "Phong", "Quân",
                                         "Sơn",  "Thắng", "Thành", "Toàn", "Trung", "Tuấn", "Việt",  "Vinh"};
static const char *const MF_GIVEN_F[] = {"Anh",   "Chi",  "Dung",  "Hà",  "Hạnh", "Hằng",  "Hoa",
                                         "Hương", "Lan",  "Linh",  "Mai", "Nga",  "Nhung", "Phương",
                                         "Thảo",  "Thủy", "Trang", "Vân", "Yến",  "Huyền"};

#endif /* SIMPKI_MERGE_FIXTURE_DATA_H */
