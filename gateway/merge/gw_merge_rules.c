/* gw_merge_rules.c - see gw_merge_rules.h: the plan's rows, the rule table, the diff. */
#include "gw_merge_rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_idtab.h"
#include "sig_cmp.h"

#define KEY_CAP       1100 /* a 512-octet cell lower-cased: Vietnamese capitals and small letters are the same length */
#define NONE          SIZE_MAX
#define VN_UTC_OFFSET (7 * 3600)

/* ---- the rule table ---------------------------------------------------- */

struct rule {
    const char *id, *action, *en, *vi;
};

static const struct rule rules[] = {
    {"O1", "change", "The only organisation certificate of its new unit: renamed (Form 07)",
     "Chứng thư số tổ chức duy nhất của đơn vị mới: thay đổi tên (Mẫu 07)"},
    {"O2", "keep", "The only organisation certificate of its new unit, and nothing in it changes",
     "Chứng thư số tổ chức duy nhất của đơn vị mới, nội dung không thay đổi: giữ nguyên"},
    {"O3", "change", "The seat's organisation certificate of a merged unit: kept and renamed (Form 07)",
     "Chứng thư số tổ chức của đơn vị giữ trụ sở (đơn vị được giữ lại): giữ và đổi tên (Mẫu 07)"},
    {"O4", "revoke",
     "Another organisation certificate of a merged unit: revoked, superseded (Form 09), device handed back (Form 14)",
     "Chứng thư số tổ chức khác của đơn vị sáp nhập: thu hồi do được thay thế (Mẫu 09), bàn giao thiết bị (Mẫu 14)"},
    {"P1", "change", "Moves to a new unit, keeps a leadership post and the device: Form 07 (organisation, position)",
     "Chuyển sang đơn vị mới, vẫn giữ chức vụ lãnh đạo và được giữ thiết bị: Mẫu 07 (cơ quan, chức vụ)"},
    {"P2", "revoke", "Moves to a new unit, keeps a leadership post, the device goes back: Form 09 + Form 14",
     "Chuyển sang đơn vị mới, vẫn giữ chức vụ lãnh đạo, thiết bị trả lại: Mẫu 09 và Mẫu 14"},
    {"P3", "revoke", "No longer holds a leadership post: Form 09 (cessation of operation) + Form 14",
     "Thôi giữ chức vụ lãnh đạo: Mẫu 09 và Mẫu 14"},
    {"P4", "revoke", "Leaves the state administrative sector: Form 09 (affiliation changed) + Form 14",
     "Chuyển ra ngoài khu vực cơ quan hành chính nhà nước: Mẫu 09 và Mẫu 14"},
    {"P5", "keep", "Stays in a unit whose name does not change, still a leader",
     "Ở lại đơn vị không đổi tên, vẫn giữ chức vụ lãnh đạo: giữ nguyên"},
    {"D1", "decide", "Two or more organisation certificates to keep and no seat to choose by",
     "Có từ hai chứng thư số tổ chức trở lên nhưng không xác định được đơn vị giữ trụ sở: cần quyết định"},
    {"D2", "decide", "The old unit splits into two or more new units (its organisation certificate)",
     "Đơn vị cũ được chia tách thành nhiều đơn vị mới (chứng thư số tổ chức): cần quyết định"},
    {"D3", "decide", "A person in the staff list with no active certificate in the registry",
     "Người trong danh sách cán bộ nhưng không có chứng thư số đang hoạt động: cần quyết định"},
    {"D4", "decide", "A certificate of an affected unit that the staff list does not mention",
     "Chứng thư số của đơn vị bị ảnh hưởng nhưng không có trong danh sách cán bộ: cần quyết định"},
    {"D5", "decide", "A number moved onto the SIM PKI (/cs) whose certificate would be revoked",
     "Số thuê bao đang dùng đã chuyển sang SIM PKI (/cs) mà chứng thư số sẽ bị thu hồi: cần quyết định"},
    {"D6", "decide", "The staff list's old unit is not the certificate's organisation (O)",
     "Đơn vị cũ trong danh sách cán bộ khác với cơ quan (O) trên chứng thư số: cần quyết định"},
};
#define NRULES (sizeof(rules) / sizeof(rules[0]))

json_t *gw_merge_rules_json(void)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < NRULES; i++)
        if (json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "id", rules[i].id, "action", rules[i].action,
                                               "en", rules[i].en, "vi", rules[i].vi)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static const struct rule *rule_of(const char *id)
{
    for (size_t i = 0; i < NRULES; i++)
        if (strcmp(rules[i].id, id) == 0)
            return &rules[i];
    return &rules[0]; /* not reached: ids are ours */
}

const char *gw_merge_row_action(const json_t *row)
{
    const char *a = json_string_value(json_object_get(json_object_get(row, "override"), "action"));

    if (a && *a)
        return a;
    a = json_string_value(json_object_get(row, "action"));
    return a ? a : "decide";
}

/* ---- the reasons a revocation gives (gw_life_revoke_reason maps them) ----- */

/* Wording chosen so gw_life_revoke_reason gives the rule's code (test_merge_rules checks it). */
static const char reason_superseded[] =
    "Sáp nhập đơn vị hành chính: chứng thư số tổ chức được thay thế bằng chứng thư số của đơn vị mới";
static const char reason_moved[] = "Chuyển công tác sang đơn vị mới, không giữ lại thiết bị";
static const char reason_left_post[] = "Thôi giữ chức vụ lãnh đạo";
static const char reason_left_sector[] = "Chuyển ra ngoài khu vực cơ quan hành chính nhà nước";

/* ---- the build --------------------------------------------------------- */

struct unit { /* an old unit of the reorganisation */
    struct gw_idtab_node node;
    char *key;
    size_t reorg; /* its first row */
    size_t group; /* the new unit of that row */
    int split;    /* two or more new units */
};

struct group { /* a new unit */
    struct gw_idtab_node node;
    char *key;
    size_t seat;  /* unit index, NONE when no seat can be told */
    int seats;    /* rows marked seat */
    size_t norg;  /* organisation certificates of its (not split) old units */
    size_t nseat; /* of which the seat's */
};

struct staffent {
    struct gw_idtab_node by_id, by_serial;
    int used;
};

struct ent {                  /* a row to be */
    size_t cert, staff, unit; /* NONE when absent */
    int org;
    size_t rank;
    char *okey; /* the key of a unit outside the reorganisation (rows the staff list names) */
};

struct build {
    const struct gw_reorg_row *reorg;
    size_t nreorg;
    const struct gw_staff_row *staff;
    size_t nstaff;
    const struct gw_merge_cert *certs;
    struct unit *units;
    size_t nunits;
    struct group *groups;
    size_t ngroups;
    struct staffent *st;
    struct gw_idtab *tu, *tg, *tid, *tser;
    struct ent *ents;
    size_t nents, capents;
};

static int same_key(const char *a, const char *b)
{
    char ka[KEY_CAP], kb[KEY_CAP];

    gw_merge_name_key(a ? a : "", ka, sizeof(ka));
    gw_merge_name_key(b ? b : "", kb, sizeof(kb));
    return strcmp(ka, kb) == 0;
}

static int empty(const char *s)
{
    return s == NULL || *s == '\0';
}

/* The index in the array base of the entry (of type, its node member) found under key in t, or NONE. */
#define FIND(t, key, type, member, base)                                 \
    __extension__({                                                      \
        struct gw_idtab_node *n_ = gw_idtab_find((t), (key));            \
        n_ ? (size_t)(GW_IDTAB_ENTRY(n_, type, member) - (base)) : NONE; \
    })

static enum gw_merge_err index_reorg(struct build *b)
{
    char k[KEY_CAP];

    b->units = calloc(b->nreorg + 1, sizeof(*b->units));
    b->groups = calloc(b->nreorg + 1, sizeof(*b->groups));
    b->tu = gw_idtab_new(2 * b->nreorg + 1);
    b->tg = gw_idtab_new(2 * b->nreorg + 1);
    if (!b->units || !b->groups || !b->tu || !b->tg)
        return GW_MERGE_ERR_NOMEM;
    for (size_t i = 0; i < b->nreorg; i++) {
        const struct gw_reorg_row *r = &b->reorg[i];
        size_t u, g;

        gw_merge_name_key(r->new_unit, k, sizeof(k));
        g = FIND(b->tg, k, struct group, node, b->groups);
        if (g == NONE) {
            g = b->ngroups++;
            b->groups[g].key = strdup(k);
            if (!b->groups[g].key)
                return GW_MERGE_ERR_NOMEM;
            b->groups[g].seat = NONE;
            gw_idtab_add(b->tg, &b->groups[g].node, b->groups[g].key);
        }
        gw_merge_name_key(r->old_unit, k, sizeof(k));
        u = FIND(b->tu, k, struct unit, node, b->units);
        if (u == NONE) {
            u = b->nunits++;
            b->units[u].key = strdup(k);
            if (!b->units[u].key)
                return GW_MERGE_ERR_NOMEM;
            b->units[u].reorg = i;
            b->units[u].group = g;
            gw_idtab_add(b->tu, &b->units[u].node, b->units[u].key);
        } else if (b->units[u].group != g) {
            b->units[u].split = 1;
        }
        if (r->seat) {
            b->groups[g].seats++;
            b->groups[g].seat = u;
        }
    }
    /* Two seats is no seat (the input warned SEAT); without one, the old unit that gives its name. */
    for (size_t g = 0; g < b->ngroups; g++)
        if (b->groups[g].seats != 1)
            b->groups[g].seat = FIND(b->tu, b->groups[g].key, struct unit, node, b->units);
    return GW_MERGE_OK;
}

static enum gw_merge_err index_staff(struct build *b)
{
    b->st = calloc(b->nstaff + 1, sizeof(*b->st));
    b->tid = gw_idtab_new(2 * b->nstaff + 1);
    b->tser = gw_idtab_new(2 * b->nstaff + 1);
    if (!b->st || !b->tid || !b->tser)
        return GW_MERGE_ERR_NOMEM;
    /* Added last to first: gw_idtab_find gives the newest, so the file's first row wins. */
    for (size_t i = b->nstaff; i-- > 0;) {
        if (!empty(b->staff[i].id_number))
            gw_idtab_add(b->tid, &b->st[i].by_id, b->staff[i].id_number);
        if (!empty(b->staff[i].cert_serial))
            gw_idtab_add(b->tser, &b->st[i].by_serial, b->staff[i].cert_serial);
    }
    return GW_MERGE_OK;
}

static int is_org(const struct gw_merge_cert *c)
{
    return (c->uid && strncmp(c->uid, "MST:", 4) == 0) || (!empty(c->cn) && same_key(c->cn, c->o));
}

/* The 12 digits of a person certificate's "CCCD:..." UID into out, or "". */
static void cccd_of(const struct gw_merge_cert *c, char out[13])
{
    out[0] = '\0';
    if (c->uid && strncmp(c->uid, "CCCD:", 5) == 0 && strlen(c->uid + 5) == 12 &&
        strspn(c->uid + 5, "0123456789") == 12)
        memcpy(out, c->uid + 5, 13);
}

static struct ent *ent_add(struct build *b)
{
    if (b->nents == b->capents) {
        size_t cap = b->capents ? 2 * b->capents : 256;
        struct ent *e = realloc(b->ents, cap * sizeof(*e));
        if (!e)
            return NULL;
        b->ents = e;
        b->capents = cap;
    }
    memset(&b->ents[b->nents], 0, sizeof(b->ents[0]));
    return &b->ents[b->nents++];
}

/* The rows to be: every certificate of an affected unit, every person the staff list names. */
static enum gw_merge_err collect(struct build *b, size_t n)
{
    char k[KEY_CAP], id[13];

    for (size_t i = 0; i < n; i++) {
        const struct gw_merge_cert *c = &b->certs[i];
        size_t u, s = NONE;
        int org = is_org(c);
        struct ent *e;

        gw_merge_name_key(c->o ? c->o : "", k, sizeof(k));
        u = FIND(b->tu, k, struct unit, node, b->units);
        if (!org) {
            cccd_of(c, id);
            if (*id)
                s = FIND(b->tid, id, struct staffent, by_id, b->st);
            if (s == NONE && !empty(c->serial))
                s = FIND(b->tser, c->serial, struct staffent, by_serial, b->st);
        }
        if (u == NONE && s == NONE)
            continue;
        e = ent_add(b);
        if (!e)
            return GW_MERGE_ERR_NOMEM;
        e->cert = i;
        e->staff = s;
        e->unit = u;
        e->org = org;
        if (s != NONE)
            b->st[s].used = 1;
        e->okey = u == NONE ? strdup(k) : NULL;
        if (u == NONE && !e->okey)
            return GW_MERGE_ERR_NOMEM;
    }
    for (size_t s = 0; s < b->nstaff; s++) {
        struct ent *e;

        if (b->st[s].used)
            continue;
        e = ent_add(b);
        if (!e)
            return GW_MERGE_ERR_NOMEM;
        e->cert = NONE;
        e->staff = s;
        gw_merge_name_key(b->staff[s].old_unit, k, sizeof(k));
        e->unit = FIND(b->tu, k, struct unit, node, b->units);
        e->okey = e->unit == NONE ? strdup(k) : NULL;
        if (e->unit == NONE && !e->okey)
            return GW_MERGE_ERR_NOMEM;
    }
    return GW_MERGE_OK;
}

/* Serials are hex without leading zeros: the shorter is the smaller. */
static int serial_cmp(const char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;

    if (la == 0 || lb == 0) /* rows without a certificate (D3) last */
        return (la == 0) - (lb == 0);
    return la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
}

static int ent_cmp(const void *pa, const void *pb, void *arg)
{
    const struct ent *a = pa, *b = pb;
    const struct build *bd = arg;
    int c;

    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    c = a->okey && b->okey ? strcmp(a->okey, b->okey) : 0;
    if (c != 0)
        return c;
    if (a->org != b->org)
        return a->org ? -1 : 1;
    c = serial_cmp(a->cert != NONE ? bd->certs[a->cert].serial : NULL,
                   b->cert != NONE ? bd->certs[b->cert].serial : NULL);
    if (c != 0)
        return c;
    if (a->staff != b->staff)
        return a->staff < b->staff ? -1 : 1;
    return a->cert < b->cert ? -1 : a->cert > b->cert;
}

/* ---- one row ----------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return empty(s) ? json_null() : json_string(s);
}

static int add_change(json_t *changes, const char *field, const char *old, const char *new)
{
    if (strcmp(old ? old : "", new ? new : "") == 0)
        return 0;
    return json_array_append_new(changes,
                                 json_pack("{s:s, s:s, s:s}", "field", field, "old", old ? old : "", "new", new));
}

/* What an organisation certificate's subject becomes under reorg row r. */
static int org_changes(json_t *changes, const struct gw_merge_cert *c, const struct gw_reorg_row *r)
{
    const char *mst = c->uid && strncmp(c->uid, "MST:", 4) == 0 ? c->uid + 4 : "";

    if (add_change(changes, "organisation", c->o, r->new_unit) != 0 ||
        add_change(changes, "common_name", c->cn, r->new_unit) != 0)
        return -1;
    if (!empty(r->province) && add_change(changes, "province", c->st, r->province) != 0)
        return -1;
    if (!empty(r->tax_code) && add_change(changes, "tax_code", mst, r->tax_code) != 0)
        return -1;
    if (!empty(r->budget_code) && add_change(changes, "budget_code", "", r->budget_code) != 0)
        return -1;
    return 0;
}

struct verdict {
    const char *rule, *reason, *handover_to;
    char detail[320];
    int reason_code;
    int oom; /* a change could not be added */
};

static void set_revoke(struct verdict *v, const char *reason, int code, const char *to)
{
    v->reason = reason;
    v->reason_code = code;
    v->handover_to = to;
}

/* The rule of an organisation certificate of affected unit u; changes filled for O1 and O3. */
static void rule_org(const struct build *b, const struct ent *e, json_t *changes, const char *to, struct verdict *v)
{
    const struct unit *u = &b->units[e->unit];
    const struct group *g = &b->groups[u->group];
    const struct gw_merge_cert *c = &b->certs[e->cert];

    if (u->split) {
        v->rule = "D2";
        snprintf(v->detail, sizeof(v->detail), "Đơn vị cũ được chia tách thành nhiều đơn vị mới");
    } else if (g->norg == 1) {
        v->oom = org_changes(changes, c, &b->reorg[u->reorg]);
        v->rule = json_array_size(changes) ? "O1" : "O2";
    } else if (g->seat == NONE || (g->seat == e->unit && g->nseat > 1)) {
        v->rule = "D1";
        snprintf(v->detail, sizeof(v->detail), "%zu chứng thư số tổ chức cho một đơn vị mới, %s", g->norg,
                 g->seat == NONE ? "không xác định được đơn vị giữ trụ sở" : "đơn vị giữ trụ sở có nhiều hơn một");
    } else if (g->seat == e->unit) {
        v->oom = org_changes(changes, c, &b->reorg[u->reorg]);
        v->rule = "O3";
    } else {
        v->rule = "O4";
        set_revoke(v, reason_superseded, SIG_CMP_REASON_SUPERSEDED, to);
    }
}

/* The rule of a person with a certificate and a staff row; changes filled for P1. */
static void rule_person(const struct build *b, const struct ent *e, json_t *changes, const char *to, struct verdict *v)
{
    const struct gw_staff_row *s = &b->staff[e->staff];
    const struct gw_merge_cert *c = &b->certs[e->cert];
    int renamed =
        e->unit != NONE && (b->units[e->unit].split || !same_key(b->reorg[b->units[e->unit].reorg].new_unit, c->o));

    if (!s->state_sector) {
        v->rule = "P4";
        set_revoke(v, reason_left_sector, SIG_CMP_REASON_AFFILIATION_CHANGED, to);
    } else if (!s->leader) {
        v->rule = "P3";
        set_revoke(v, reason_left_post, SIG_CMP_REASON_CESSATION_OF_OPERATION, to);
    } else if (!empty(s->new_unit) && !renamed && same_key(s->new_unit, c->o)) {
        v->rule = "P5";
    } else if (s->keeps_device && !empty(s->new_unit)) {
        v->rule = "P1";
        v->oom = add_change(changes, "organisation", c->o, s->new_unit) != 0 ||
                 (!empty(s->new_post) && add_change(changes, "position", "", s->new_post) != 0);
    } else {
        v->rule = "P2";
        set_revoke(v, reason_moved, SIG_CMP_REASON_AFFILIATION_CHANGED, to);
    }
}

static void iso_date(int64_t t, char out[11])
{
    time_t vn = (time_t)(t + VN_UTC_OFFSET); /* the day in Việt Nam, as the forms print it */
    struct tm tm;

    if (!gmtime_r(&vn, &tm) || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
        out[0] = '\0';
}

static json_t *make_row(const struct build *b, const struct ent *e, size_t no)
{
    const struct gw_merge_cert *c = e->cert != NONE ? &b->certs[e->cert] : NULL;
    const struct gw_staff_row *s = e->staff != NONE ? &b->staff[e->staff] : NULL;
    const struct gw_reorg_row *r = e->unit != NONE ? &b->reorg[b->units[e->unit].reorg] : NULL;
    const char *unit = r ? r->old_unit : c ? c->o : s->old_unit;
    const char *to = r && !empty(r->old_parent) ? r->old_parent : unit;
    const char *new_unit = e->org ? (r ? r->new_unit : "") : s ? s->new_unit : r ? r->new_unit : "";
    json_t *changes = json_array(), *row;
    struct verdict v = {NULL, NULL, NULL, "", 0, 0};
    char valid_to[11] = "", id[13] = "";

    if (!changes)
        return NULL;
    if (e->org && r && b->units[e->unit].split)
        new_unit = ""; /* several: the detail says so, the operator decides */
    if (!c) {
        v.rule = "D3";
        snprintf(v.detail, sizeof(v.detail), "Không có chứng thư số đang hoạt động trong sổ đăng ký");
    } else if (e->org) {
        rule_org(b, e, changes, to, &v);
    } else if (!s) {
        v.rule = "D4";
        snprintf(v.detail, sizeof(v.detail), "Không có trong danh sách cán bộ");
    } else {
        rule_person(b, e, changes, to, &v);
        if (!empty(s->old_unit) && !empty(c->o) && !same_key(s->old_unit, c->o)) {
            snprintf(v.detail, sizeof(v.detail),
                     "Đơn vị cũ trong danh sách khác cơ quan trên chứng thư; nếu không, quy tắc %s (%s)", v.rule,
                     rule_of(v.rule)->action);
            v.rule = "D6";
        }
    }
    /* D5: a revocation of a number moved onto the SIM PKI is the official's to confirm. */
    if (c && c->cs && strcmp(rule_of(v.rule)->action, "revoke") == 0) {
        snprintf(v.detail, sizeof(v.detail), "Số đã chuyển sang SIM PKI (/cs); nếu không, quy tắc %s (revoke)", v.rule);
        v.rule = "D5";
    }
    if (v.oom) {
        json_decref(changes);
        return NULL;
    }
    if (c) {
        iso_date(c->not_after, valid_to);
        cccd_of(c, id);
    }
    row = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:s, s:o, s:o, s:o, s:o, s:s, s:s, s:s}",
                    "no", (json_int_t)no, "unit", unit ? unit : "", "new_unit", new_unit ? new_unit : "", "kind",
                    e->org ? "organisation" : "person", "holder", c ? (c->cn ? c->cn : "") : s->full_name, "msisdn",
                    str_or_null(c ? c->msisdn : NULL), "serial", str_or_null(c ? c->serial : NULL), "subject",
                    str_or_null(c ? c->subject : NULL), "valid_to", str_or_null(valid_to), "carrier",
                    str_or_null(c ? c->carrier : NULL), "cs", c ? c->cs != 0 : 0, "id_number",
                    s && !empty(s->id_number) ? s->id_number : id, "email", str_or_null(c ? c->email : NULL),
                    "new_post", str_or_null(s ? s->new_post : NULL), "staff_line",
                    s ? json_integer(s->line) : json_null(), "reorg_line", r ? json_integer(r->line) : json_null(),
                    "action", rule_of(v.rule)->action, "rule", v.rule, "detail", v.detail);
    if (!row) {
        json_decref(changes);
        return NULL;
    }
    if (json_object_set_new(row, "reason", str_or_null(v.reason)) != 0 ||
        json_object_set_new(row, "reason_code", v.reason ? json_integer(v.reason_code) : json_null()) != 0 ||
        json_object_set_new(row, "handover_to", str_or_null(v.handover_to)) != 0 ||
        json_object_set_new(row, "keeps_device", json_boolean(s && s->keeps_device)) != 0 ||
        json_object_set_new(row, "changes", changes) != 0) {
        json_decref(row);
        return NULL;
    }
    return row;
}

/* ---- the summary ------------------------------------------------------- */

static int count(json_t *obj, const char *key)
{
    json_int_t n = json_integer_value(json_object_get(obj, key));
    return json_object_set_new(obj, key, json_integer(n + 1));
}

static json_t *make_summary(const json_t *rows)
{
    json_t *sum = json_pack("{s:I, s:{}, s:{}, s:I, s:o}", "rows", (json_int_t)json_array_size(rows), "by_action",
                            "by_rule", "units", (json_int_t)0, "rules", gw_merge_rules_json());
    json_t *by_action = json_object_get(sum, "by_action"), *by_rule = json_object_get(sum, "by_rule");
    json_t *seen = json_object();
    size_t i;
    json_t *row;
    char k[KEY_CAP];

    if (!sum || !seen)
        goto fail;
    json_array_foreach(rows, i, row)
    {
        gw_merge_name_key(json_string_value(json_object_get(row, "unit")), k, sizeof(k));
        if (count(by_action, json_string_value(json_object_get(row, "action"))) != 0 ||
            count(by_rule, json_string_value(json_object_get(row, "rule"))) != 0 ||
            json_object_set_new(seen, k, json_true()) != 0)
            goto fail;
    }
    if (json_object_set_new(sum, "units", json_integer((json_int_t)json_object_size(seen))) != 0)
        goto fail;
    json_decref(seen);
    return sum;
fail:
    json_decref(seen);
    json_decref(sum);
    return NULL;
}

static void build_free(struct build *b)
{
    for (size_t i = 0; i < b->nunits; i++)
        free(b->units[i].key);
    for (size_t i = 0; i < b->ngroups; i++)
        free(b->groups[i].key);
    for (size_t i = 0; i < b->nents; i++)
        free(b->ents[i].okey);
    free(b->units);
    free(b->groups);
    free(b->st);
    free(b->ents);
    gw_idtab_free(b->tu);
    gw_idtab_free(b->tg);
    gw_idtab_free(b->tid);
    gw_idtab_free(b->tser);
}

enum gw_merge_err gw_merge_plan_build(const struct gw_reorg_row *reorg, size_t nreorg, const struct gw_staff_row *staff,
                                      size_t nstaff, const struct gw_merge_cert *certs, size_t n, json_t **rows,
                                      json_t **summary)
{
    struct build b;
    enum gw_merge_err rc;
    json_t *out = NULL;

    *rows = NULL;
    *summary = NULL;
    memset(&b, 0, sizeof(b));
    b.reorg = reorg;
    b.nreorg = nreorg;
    b.staff = staff;
    b.nstaff = nstaff;
    b.certs = certs;
    if ((rc = index_reorg(&b)) != GW_MERGE_OK || (rc = index_staff(&b)) != GW_MERGE_OK ||
        (rc = collect(&b, n)) != GW_MERGE_OK)
        goto out;
    rc = GW_MERGE_ERR_NOMEM;
    /* Organisation certificates per new unit: O1/O2 for one, the seat's O3 and the others O4 for more. */
    for (size_t i = 0; i < b.nents; i++) {
        struct ent *e = &b.ents[i];
        struct unit *u = e->unit != NONE ? &b.units[e->unit] : NULL;

        e->rank = u ? u->reorg : nreorg; /* affected units in file order, the others after, by name */
        if (!e->org || !u || u->split || e->cert == NONE)
            continue;
        b.groups[u->group].norg++;
        if (b.groups[u->group].seat == e->unit)
            b.groups[u->group].nseat++;
    }
    qsort_r(b.ents, b.nents, sizeof(b.ents[0]), ent_cmp, &b);
    out = json_array();
    if (!out)
        goto out;
    for (size_t i = 0; i < b.nents; i++)
        if (json_array_append_new(out, make_row(&b, &b.ents[i], i + 1)) != 0)
            goto out;
    *summary = make_summary(out);
    if (!*summary)
        goto out;
    *rows = out;
    out = NULL;
    rc = GW_MERGE_OK;
out:
    json_decref(out);
    build_free(&b);
    return rc;
}

/* ---- the diff ---------------------------------------------------------- */

static json_t *row_by_no(const json_t *rows, json_int_t no)
{
    size_t i;
    json_t *r;

    /* Rows are numbered from 1 in order, so the row is usually where its number says. */
    r = json_array_get(rows, (size_t)(no - 1));
    if (r && json_integer_value(json_object_get(r, "no")) == no)
        return r;
    json_array_foreach(rows, i, r) if (json_integer_value(json_object_get(r, "no")) == no) return r;
    return NULL;
}

static int diff_add(json_t *out, const json_t *row, const json_t *a, const json_t *b)
{
    const json_t *ov = json_object_get(b ? b : a, "override");
    const char *reason = json_string_value(json_object_get(ov, "reason"));

    if (!reason)
        reason = json_string_value(json_object_get(row, "reason"));
    return json_array_append_new(out, json_pack("{s:O, s:o, s:o, s:O?, s:o}", "no", json_object_get(row, "no"), "from",
                                                a ? json_string(gw_merge_row_action(a)) : json_null(), "to",
                                                b ? json_string(gw_merge_row_action(b)) : json_null(), "rule",
                                                json_object_get(row, "rule"), "reason", str_or_null(reason)));
}

json_t *gw_merge_diff(const json_t *rows_a, const json_t *rows_b)
{
    json_t *out = json_array(), *ra, *rb;
    size_t i;

    if (!out)
        return NULL;
    json_array_foreach(rows_a, i, ra)
    {
        rb = row_by_no(rows_b, json_integer_value(json_object_get(ra, "no")));
        if ((!rb || strcmp(gw_merge_row_action(ra), gw_merge_row_action(rb)) != 0) &&
            diff_add(out, rb ? rb : ra, ra, rb) != 0)
            goto fail;
    }
    json_array_foreach(rows_b, i, rb)
    {
        if (!row_by_no(rows_a, json_integer_value(json_object_get(rb, "no"))) && diff_add(out, rb, NULL, rb) != 0)
            goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}
