/*
 * merge_fixture.c - a province-sized registry and the two files of a merger
 * review (issue 14), with the plan the rules must make of them.
 *
 * Past 1,000 lines on purpose: a test tool whose parts (the province's units
 * and people, issuing, the expected plan derived from the rules' text) only
 * make sense together; the data tables are merge_fixture_data.h.
 *
 *   merge_fixture [--all] [-i ISSUER] [-j JOBS] OUTDIR PKI_DIR N_CERTS SEED
 *
 * PKI_DIR is tests/pki/mkpki.sh's output (mkdemo.sh's OUTDIR/pki); the
 * certificates are issued by PKI_DIR/ISSUER.pem with ISSUER.key.pem (default
 * "ca", the demo's issuing CA; "ca-g1" signs RSA-2048, about eight times
 * faster, "ca2" ECDSA P-384) with the Government CA profile of mkpki.sh's
 * v3_sub_good; -j issues them in JOBS processes.  OUTDIR gets:
 *
 *   registry.csv        simpki-admin import: msisdn,carrier,iccid,kv,cert,status,cs
 *                       (cert base64 DER); N_CERTS active certificates and two
 *                       revoked ones (a staff row names one: D3)
 *   reorg.csv           the reorganisation, Vietnamese headings
 *   staff.csv           the staff list, Vietnamese headings, UTF-8 BOM, CRLF
 *   expected.tsv        every row the plan must have: key (certificate serial,
 *                       or staff:<line> for D3), msisdn, unit, kind, action, rule,
 *                       reason_code, reason, handover_to
 *   overrides.tsv       key, action, reason: the operator's choice for every
 *                       "decide" row
 *   expected-final.tsv  msisdn, status, certificate (same|new), serial: the
 *                       registry once the approved plan (with the overrides) ran
 *   keys/shared.key.pem the key most certificates share (speed: one P-256 key)
 *   keys/<msisdn>.key.pem, .crt.der  own keys of the numbers whose SIM signs
 *                       a CSR (final action change)
 *   sim-subscribers.json those numbers as simpki-sim subscribers (absolute paths)
 *   ca-index.txt        `openssl ca` index of the certificates, for `openssl ocsp`
 *   summary.txt         rows per rule
 *
 * The simulator serves the own-key numbers once they join the demo scenario:
 *   jq --slurpfile s OUTDIR/sim-subscribers.json '.subscribers += $s[0]' scenario.json
 * and an OCSP responder knows the certificates from the index:
 *   openssl ocsp -index OUTDIR/ca-index.txt -CA PKI_DIR/ca.pem -rsigner PKI_DIR/ocsp-ca.pem
 *       -rkey PKI_DIR/ocsp-ca.key.pem -port P
 * (mark a row R there, as `openssl ca -revoke` would, for the CA to report it revoked).
 *
 * Without --all the reorganisation touches three districts, 30 communes and
 * three district health centres (merge_fixture_data.h): ~240 plan rows
 * whatever N_CERTS.  With --all every other unit is in it too, mapped to
 * itself (the benchmark's plan of N_CERTS rows).  The same SEED makes the same
 * files (but for the certificates' dates, which follow the day it runs).
 *
 * The expected plan is derived here from the rules as gw_merge_rules.h words
 * them, independently of gw_merge_rules.c, and checked against what each
 * unit and special person was made for (merge_fixture_data.h); a mismatch,
 * or a rule reached fewer than twice, ends the run with an error.
 */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <wchar.h>
#include <wctype.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/conf.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "merge_fixture_data.h"

#define NUNITS    (sizeof(MF_UNITS) / sizeof(MF_UNITS[0]))
#define NSPECIALS (sizeof(MF_SPECIALS) / sizeof(MF_SPECIALS[0]))
#define N_EXTRA   2 /* revoked registry entries */
#define NAMECAP   160

enum rule { R_NONE, R_O1, R_O2, R_O3, R_O4, R_P1, R_P2, R_P3, R_P4, R_P5, R_D1, R_D2, R_D3, R_D4, R_D5, R_D6, R_N };
static const char *const RULE_ID[R_N] = {"",   "O1", "O2", "O3", "O4", "P1", "P2", "P3",
                                         "P4", "P5", "D1", "D2", "D3", "D4", "D5", "D6"};
static const char *const RULE_ACTION[R_N] = {"",       "change", "keep",   "change", "revoke", "change",
                                             "revoke", "revoke", "revoke", "keep",   "decide", "decide",
                                             "decide", "decide", "decide", "decide"};

struct cert {
    char msisdn[16], iccid[40], serial[40], cn[NAMECAP], uid[24], full_name[NAMECAP];
    const char *carrier;
    int unit, org, cs, revoked, own_key, person; /* person: index within the unit */
    int intent;                                  /* the rule this person or org was made for */
    int staff;                                   /* staff row index or -1 */
    int rule;                                    /* the rule the rules give */
    const char *final_action, *override_reason;
};

struct staff {
    char cccd[16], serial[64], full_name[NAMECAP], old_unit[NAMECAP], new_unit[NAMECAP], new_post[NAMECAP];
    int leader, state, keeps, cert; /* cert: the certificate it was made for, or -1 */
    int d3;                         /* the rules find no active certificate for it */
    unsigned line;
};

static struct {
    int all;
    struct cert *c;
    size_t n, cap;
    struct staff *s;
    size_t ns, caps;
    uint64_t rng;
    uint64_t *seen; /* numbers already handed out (msisdn, CCCD, tax code) */
    size_t seen_cap;
    int count[R_N];
} F;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("merge_fixture: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- numbers --------------------------------------------------------- */

static uint64_t rnd(void) /* splitmix64: the same stream for the same seed everywhere */
{
    uint64_t z = (F.rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned rndn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

#define PICK(a) ((a)[rndn(sizeof(a) / sizeof((a)[0]))])

/* 1 when v was new (and is now taken). */
static int take(uint64_t v)
{
    size_t i = (size_t)((v * 0x9E3779B97F4A7C15ull) >> 20) & (F.seen_cap - 1);
    for (; F.seen[i]; i = (i + 1) & (F.seen_cap - 1))
        if (F.seen[i] == v)
            return 0;
    F.seen[i] = v;
    return 1;
}

static char luhn(const char *digits)
{
    size_t n = strlen(digits);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = digits[n - 1 - i] - '0';
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return (char)('0' + (10 - sum % 10) % 10);
}

static void new_number(struct cert *c)
{
    static const struct {
        const char *prefix, *carrier;
        char iccid_digit;
    } nets[] = {{"96", "viettel", '4'}, {"96", "viettel", '4'}, {"91", "vinaphone", '2'}, {"90", "mobifone", '1'}};
    unsigned k, local;
    char body[32];

    do {
        k = rndn(4);
        local = 1000000u + rndn(9000000u); /* the demo plan uses 0000BBA: never below 1000000 */
    } while (!take(1000000000000ull + (uint64_t)(k == 1 ? 0 : k) * 10000000ull + local));
    snprintf(c->msisdn, sizeof c->msisdn, "84%s%07u", nets[k].prefix, local);
    c->carrier = nets[k].carrier;
    snprintf(body, sizeof body, "89840%c0000%s", nets[k].iccid_digit, c->msisdn + 2);
    snprintf(c->iccid, sizeof c->iccid, "%s%c", body, luhn(body));
}

/* A CCCD: province 008 (Tuyên Quang), century and sex, year of birth, six digits. */
static void new_cccd(char *out, size_t cap, int female, int born)
{
    unsigned tail;
    do
        tail = rndn(1000000u);
    while (!take(2000000000000ull + (uint64_t)(female * 100 + born % 100) * 1000000ull + tail));
    snprintf(out, cap, "008%d%02d%06u", female, born % 100, tail);
}

/* A tax code: 50 (Tuyên Quang) + 7 digits + the check digit mkpki.sh computes. */
static void new_tax_code(char *out, size_t cap)
{
    static const int w[9] = {31, 29, 23, 19, 17, 13, 7, 5, 3};
    char d9[10];
    int sum, c;
    for (;;) {
        snprintf(d9, sizeof d9, "50%07u", rndn(10000000u));
        sum = 0;
        for (int i = 0; i < 9; i++)
            sum += (d9[i] - '0') * w[i];
        c = 10 - sum % 11;
        if (c <= 9 && take(3000000000000ull + (uint64_t)strtoul(d9, NULL, 10)))
            break;
    }
    snprintf(out, cap, "%s%d", d9, c);
}

/* ---- names ----------------------------------------------------------- */

/* Case-map UTF-8 through the C.UTF-8 locale's tables (towupper / towlower). */
static void map_case(const char *in, char *out, size_t cap, int upper)
{
    mbstate_t a, b;
    size_t o = 0;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    while (*in) {
        wchar_t w;
        char buf[MB_LEN_MAX];
        size_t n = mbrtowc(&w, in, MB_LEN_MAX, &a), m;
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
            die("not UTF-8: %s", in);
        in += n;
        m = wcrtomb(buf, (wchar_t)(upper ? towupper((wint_t)w) : towlower((wint_t)w)), &b);
        if (m == (size_t)-1 || o + m >= cap)
            die("name too long");
        memcpy(out + o, buf, m);
        o += m;
    }
    out[o] = '\0';
}

/* gw_merge_name_key's key: lower case, spaces collapsed and trimmed. */
static void name_key(const char *name, char *out, size_t cap)
{
    char low[NAMECAP * 2];
    size_t o = 0;
    map_case(name, low, sizeof low, 0);
    for (const char *p = low; *p; p++) {
        if (*p == ' ' && (o == 0 || out[o - 1] == ' '))
            continue;
        if (o + 1 < cap)
            out[o++] = *p;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

static int same_name(const char *a, const char *b)
{
    char ka[NAMECAP * 2], kb[NAMECAP * 2];
    name_key(a, ka, sizeof ka);
    name_key(b, kb, sizeof kb);
    return strcmp(ka, kb) == 0;
}

/* "Ủy ban nhân dân xã Yên Sơn" -> "xã Yên Sơn" */
static const char *locality(const char *unit)
{
    const char *p = "Ủy ban nhân dân ";
    return strncmp(unit, p, strlen(p)) == 0 ? unit + strlen(p) : unit;
}

/* ---- the model: units, certificates, staff ----------------------------- */

static int affected(int u)
{
    return MF_UNITS[u].to != NULL || (F.all && MF_UNITS[u].weight > 0);
}
static const char *unit_to(int u)
{
    return MF_UNITS[u].to ? MF_UNITS[u].to : MF_UNITS[u].name;
}
static const char *unit_parent(int u)
{
    return MF_UNITS[u].parent ? MF_UNITS[u].parent : MF_PROV_UBND;
}
static const char *unit_old_parent(int u)
{
    const char *p = MF_UNITS[u].old_parent;
    return p && p[0] ? p : MF_UNITS[u].name;
}

static int unit_index(const char *name)
{
    for (size_t u = 0; u < NUNITS; u++)
        if (strcmp(MF_UNITS[u].name, name) == 0)
            return (int)u;
    die("no unit %s", name);
    return -1;
}

static struct cert *new_cert(int u)
{
    struct cert *c;
    if (F.n == F.cap)
        die("more certificates than N_CERTS");
    c = &F.c[F.n++];
    memset(c, 0, sizeof *c);
    c->unit = u;
    c->staff = -1;
    new_number(c);
    return c;
}

static void new_org(int u)
{
    struct cert *c = new_cert(u);
    char mst[16];
    c->org = 1;
    c->cs = MF_UNITS[u].org_cs;
    snprintf(c->cn, sizeof c->cn, "%s", MF_UNITS[u].name);
    new_tax_code(mst, sizeof mst);
    snprintf(c->uid, sizeof c->uid, "MST:%s", mst);
}

static struct cert *new_person(int u, int idx, char *cccd, size_t cccdcap)
{
    struct cert *c = new_cert(u);
    int female = rndn(3) == 0, born = 1962 + (int)rndn(34);
    c->person = idx;
    snprintf(c->full_name, sizeof c->full_name, "%s %s %s", PICK(MF_SURNAMES),
             female ? PICK(MF_MIDDLE_F) : PICK(MF_MIDDLE_M), female ? PICK(MF_GIVEN_F) : PICK(MF_GIVEN_M));
    map_case(c->full_name, c->cn, sizeof c->cn, 1);
    new_cccd(cccd, cccdcap, female, born);
    snprintf(c->uid, sizeof c->uid, "CCCD:%s", cccd);
    return c;
}

static struct staff *new_staff(void)
{
    if (F.ns == F.caps) {
        F.caps = F.caps ? F.caps * 2 : 1024;
        F.s = realloc(F.s, F.caps * sizeof *F.s);
        if (!F.s)
            die("out of memory");
    }
    memset(&F.s[F.ns], 0, sizeof F.s[0]);
    F.s[F.ns].cert = -1;
    return &F.s[F.ns++];
}

static const struct mf_special *special(int u, int idx, enum mf_sp what)
{
    for (size_t i = 0; i < NSPECIALS; i++)
        if (MF_SPECIALS[i].what == what && MF_SPECIALS[i].person == idx &&
            strcmp(MF_SPECIALS[i].unit, MF_UNITS[u].name) == 0)
            return &MF_SPECIALS[i];
    return NULL;
}

/* Serial as an operator types it: lower case with colons. */
static void serial_typed(const char *serial, char *out, size_t cap)
{
    size_t o = 0, n = strlen(serial);
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        if (i && (n - i) % 2 == 0)
            out[o++] = ':';
        out[o++] = (char)(serial[i] >= 'A' && serial[i] <= 'F' ? serial[i] + 32 : serial[i]);
    }
    out[o] = '\0';
}

/*
 * One person of an affected unit (or, with --all, of any unit): the
 * certificate, and unless D4 the staff row that makes them what `post`
 * and the specials say.
 */
static void affected_person(int u, int idx, const struct mf_post *post)
{
    const struct mf_unit *un = &MF_UNITS[u];
    char cccd[16];
    struct cert *c = new_person(u, idx, cccd, sizeof cccd);
    const struct mf_special *sp;
    const char *to = un->to2 && idx % 2 ? un->to2 : unit_to(u);
    int unchanged = same_name(un->name, to), intent;
    struct staff *s;

    if (post->leader == 0)
        intent = R_P3;
    else if (post->leader >= 2)
        intent = R_P4;
    else if (unchanged)
        intent = R_P5;
    else {
        unsigned r = rndn(20);
        intent = r < 13 ? R_P1 : r < 18 ? R_P2 : R_P3;
    }
    if (special(u, idx, SP_P1))
        intent = R_P1;
    if (special(u, idx, SP_P2))
        intent = R_P2;
    if (special(u, idx, SP_P3))
        intent = R_P3;
    c->cs = special(u, idx, SP_CS) != NULL || (F.all && !MF_UNITS[u].to && rndn(50) == 0);
    c->intent = intent;
    if (special(u, idx, SP_D4) || (F.all && !MF_UNITS[u].to && rndn(100) == 0)) {
        c->intent = R_D4;
        return;
    }
    s = new_staff();
    s->cert = (int)(c - F.c);
    c->staff = (int)F.ns - 1;
    if (!special(u, idx, SP_SERIAL)) /* else the serial alone, once it exists (make_serials) */
        snprintf(s->cccd, sizeof s->cccd, "%s", cccd);
    snprintf(s->full_name, sizeof s->full_name, "%s", c->full_name);
    snprintf(s->old_unit, sizeof s->old_unit, "%s", un->name);
    if (special(u, idx, SP_UPPER))
        map_case(un->name, s->old_unit, sizeof s->old_unit, 1);
    if (special(u, idx, SP_SPACES)) {
        const char *l = locality(un->name);
        snprintf(s->old_unit, sizeof s->old_unit, "Ủy ban nhân dân  %s ", l);
    }
    if ((sp = special(u, idx, SP_D6))) {
        snprintf(s->old_unit, sizeof s->old_unit, "%s", sp->arg);
        c->intent = R_D6;
    }
    s->state = 1;
    s->leader = 1;
    switch (intent) {
    case R_P1: s->keeps = 1; break;
    case R_P2: s->keeps = 0; break;
    case R_P3: s->leader = 0; break;
    case R_P4: s->state = 0; break;
    case R_P5: s->keeps = 1; break;
    default: break;
    }
    if (intent == R_P4 && post->leader == 3)
        snprintf(s->new_unit, sizeof s->new_unit, "Đảng ủy %s", locality(to));
    else if (intent == R_P4)
        s->new_unit[0] = '\0'; /* the police: a vertical sector, outside the units under review */
    else
        snprintf(s->new_unit, sizeof s->new_unit, "%s", to);
    if ((sp = special(u, idx, SP_NEWUNIT)))
        snprintf(s->new_unit, sizeof s->new_unit, "%s", sp->arg);
    snprintf(s->new_post, sizeof s->new_post, "%s",
             intent == R_P3   ? "Chuyên viên"
             : intent == R_P4 ? (post->leader == 3 ? "Bí thư Đảng ủy" : "Trưởng Công an xã")
                              : post->title);
    if (special(u, idx, SP_BOTH))
        s->serial[0] = '*'; /* both: make_serials() writes it */
    if (c->cs && (intent == R_P2 || intent == R_P3 || intent == R_P4) && c->intent != R_D6)
        c->intent = R_D5;
}

static void build_model(size_t n_certs)
{
    size_t fixed = 0, bulk_units = 0, wsum = 0, left;

    for (size_t u = 0; u < NUNITS; u++) {
        if (MF_UNITS[u].to)
            fixed += (size_t)MF_UNITS[u].people + (size_t)MF_UNITS[u].org;
        else {
            bulk_units++;
            wsum += (size_t)MF_UNITS[u].weight;
        }
    }
    if (n_certs < fixed + 3 * bulk_units)
        die("N_CERTS must be at least %zu", fixed + 3 * bulk_units);

    /* The affected units: their organisation certificate, then their people. */
    for (size_t u = 0; u < NUNITS; u++) {
        const struct mf_unit *un = &MF_UNITS[u];
        const struct mf_post *posts = un->kind == MF_DISTRICT ? MF_POSTS_DISTRICT
                                      : un->kind == MF_CENTRE ? MF_POSTS_CENTRE
                                                              : MF_POSTS_COMMUNE;
        if (!un->to)
            continue;
        if (un->org)
            new_org((int)u);
        for (int i = 0; i < un->people; i++)
            affected_person((int)u, i, &posts[i]);
    }
    /* Everyone else, by weight (largest remainder would be fairer; this is deterministic and close). */
    left = n_certs - F.n;
    for (size_t u = 0, done = 0; u < NUNITS; u++) {
        const struct mf_unit *un = &MF_UNITS[u];
        size_t share, k;
        if (un->to)
            continue;
        done += (size_t)un->weight;
        share = (left * done) / wsum - (left * (done - (size_t)un->weight)) / wsum;
        new_org((int)u);
        for (k = 1; k < share; k++) {
            const char *title = MF_TITLES_BULK[rndn(sizeof MF_TITLES_BULK / sizeof MF_TITLES_BULK[0])];
            struct mf_post post = {title, strncmp(title, "Chuyên viên", strlen("Chuyên viên")) != 0};
            if (F.all) {
                if (rndn(30) == 0)
                    post.leader = 2;
                affected_person((int)u, (int)(k - 1), &post);
            } else {
                char cccd[16];
                struct cert *c = new_person((int)u, (int)(k - 1), cccd, sizeof cccd);
                c->cs = rndn(40) == 0;
                if (special((int)u, (int)(k - 1), SP_D6)) {
                    struct staff *s = new_staff();
                    snprintf(s->cccd, sizeof s->cccd, "%s", cccd);
                    snprintf(s->full_name, sizeof s->full_name, "%s", c->full_name);
                    snprintf(s->old_unit, sizeof s->old_unit, "%s", special((int)u, (int)(k - 1), SP_D6)->arg);
                    snprintf(s->new_unit, sizeof s->new_unit, "%s", un->name);
                    snprintf(s->new_post, sizeof s->new_post, "Phó Giám đốc");
                    s->leader = s->state = s->keeps = 1;
                    s->cert = (int)(c - F.c);
                    c->staff = (int)F.ns - 1;
                    c->intent = R_D6;
                }
            }
        }
    }
    if (F.n != n_certs)
        die("made %zu certificates, not %zu", F.n, n_certs);
}

/* The staff rows that name nobody with an active certificate (D3), and the two revoked entries. */
static void add_d3(void)
{
    struct staff *s;
    struct cert *c;
    char cccd[16];
    int u = unit_index("Ủy ban nhân dân xã Minh Thanh");

    F.cap += N_EXTRA;
    /* a revoked certificate: the staff list names its holder (D3) */
    c = new_person(u, 90, cccd, sizeof cccd);
    c->revoked = 1;
    s = new_staff();
    snprintf(s->cccd, sizeof s->cccd, "%s", cccd);
    snprintf(s->full_name, sizeof s->full_name, "%s", c->full_name);
    snprintf(s->old_unit, sizeof s->old_unit, "%s", MF_UNITS[u].name);
    snprintf(s->new_unit, sizeof s->new_unit, "%s", N4);
    snprintf(s->new_post, sizeof s->new_post, "Phó Chủ tịch Ủy ban nhân dân");
    s->leader = s->state = s->keeps = 1;
    /* another, of an affected unit too, that nobody names: no row (not active) */
    c = new_person(unit_index("Ủy ban nhân dân xã Bình Xa"), 91, cccd, sizeof cccd);
    c->revoked = 1;
    /* two new leaders without a certificate yet */
    for (int i = 0; i < 2; i++) {
        s = new_staff();
        new_cccd(s->cccd, sizeof s->cccd, i, 1980 + i * 7);
        snprintf(s->full_name, sizeof s->full_name, "%s", i ? "Ma Thị Hồng Nhung" : "Nông Văn Thắng");
        snprintf(s->old_unit, sizeof s->old_unit, "%s", i ? "Ủy ban nhân dân xã Tú Thịnh" : DIST_YS);
        snprintf(s->new_unit, sizeof s->new_unit, "%s", i ? N5 : N1);
        snprintf(s->new_post, sizeof s->new_post, "Phó Chủ tịch Ủy ban nhân dân");
        s->leader = s->state = 1;
    }
    /* a serial nobody holds */
    s = new_staff();
    snprintf(s->serial, sizeof s->serial, "7e:00:%02x:5a:11:c0:de:f1:8a:2b:33:4c:5d:6e:7f:80", rndn(256));
    snprintf(s->full_name, sizeof s->full_name, "Triệu Văn Long");
    snprintf(s->old_unit, sizeof s->old_unit, "%s", "Ủy ban nhân dân xã Đội Bình");
    snprintf(s->new_unit, sizeof s->new_unit, "%s", N3);
    snprintf(s->new_post, sizeof s->new_post, "Phó Chủ tịch Ủy ban nhân dân");
    s->leader = s->state = 1;
}

/* Serials: 16 octets from the seed, first octet 0x10-0x7f (positive, no leading zero). */
static void make_serials(void)
{
    for (size_t i = 0; i < F.n; i++) {
        uint64_t a = rnd(), b = rnd();
        snprintf(F.c[i].serial, sizeof F.c[i].serial, "%02X%014llX%016llX", (unsigned)(0x10 + (a >> 56) % 0x70),
                 (unsigned long long)(a & 0x00FFFFFFFFFFFFFFull), (unsigned long long)b);
    }
    for (size_t i = 0; i < F.ns; i++) {
        struct staff *s = &F.s[i];
        if (s->cert >= 0 && (s->serial[0] == '*' || (!s->cccd[0] && !s->serial[0])))
            serial_typed(F.c[s->cert].serial, s->serial, sizeof s->serial);
        if (s->serial[0] == '*')
            s->serial[0] = '\0';
    }
}

/* ---- the rules, as gw_merge_rules.h words them ------------------------- */

/* A string -> index table (FNV-1a, open addressing) for the staff matching. */
struct strtab {
    const char **k;
    int *v;
    size_t cap;
};

static void strtab_init(struct strtab *t, size_t n)
{
    for (t->cap = 1024; t->cap < 4 * n; t->cap *= 2)
        ;
    t->k = calloc(t->cap, sizeof *t->k);
    t->v = calloc(t->cap, sizeof *t->v);
    if (!t->k || !t->v)
        die("out of memory");
}

static size_t strtab_slot(const struct strtab *t, const char *k)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (const char *p = k; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    for (i = h & (t->cap - 1); t->k[i] && strcmp(t->k[i], k) != 0; i = (i + 1) & (t->cap - 1))
        ;
    return i;
}

static void strtab_put(struct strtab *t, const char *k, int v)
{
    size_t i = strtab_slot(t, k);
    if (t->k[i])
        die("duplicate key in the fixture");
    t->k[i] = k;
    t->v[i] = v;
}

static int strtab_get(const struct strtab *t, const char *k)
{
    size_t i = strtab_slot(t, k);
    return t->k[i] ? t->v[i] : -1;
}

/* A typed serial as gw_merge_input.h keeps it: upper case, no colons, no leading zeros. */
static void serial_norm(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in; in++) {
        char ch = *in >= 'a' && *in <= 'f' ? (char)(*in - 32) : *in;
        if (ch == ':' || (o == 0 && ch == '0'))
            continue;
        if (o + 1 < cap)
            out[o++] = ch;
    }
    out[o] = '\0';
}

/* The organisation rule of unit u's certificate; splits: whether the split units count in a group. */
static int org_rule(int u, int cs, int splits)
{
    const struct mf_unit *un = &MF_UNITS[u];
    const char *to = unit_to(u);
    int group = 0, seats = 0, seat = -1, named = -1;

    if (un->to2)
        return R_D2;
    for (size_t v = 0; v < NUNITS; v++) {
        const struct mf_unit *vn = &MF_UNITS[v];
        int in = affected((int)v) && (same_name(unit_to((int)v), to) || (vn->to2 && same_name(vn->to2, to)));
        if (!in || (vn->to2 && !splits))
            continue;
        if (vn->org)
            group++;
        if (vn->seat && !vn->to2) {
            seats++;
            seat = (int)v;
        }
        if (same_name(vn->name, to))
            named = (int)v;
    }
    if (group == 1)
        return same_name(un->name, to) && !un->ask_codes ? R_O2 : R_O1;
    if (seats > 1) {
        if (named >= 0)
            die("%s: two seats and a unit of the new name: the rules do not say", to);
        seat = -1; /* SEAT: none is taken */
    } else if (seats == 0)
        seat = named;
    if (seat >= 0 && !MF_UNITS[seat].org)
        die("%s: the seat has no organisation certificate: the rules do not say", to);
    if (seat < 0)
        return R_D1;
    if (seat == u) {
        if (same_name(un->name, to) && !un->ask_codes)
            die("%s: the seat's certificate would not change: O3 or keep?", to);
        return R_O3;
    }
    return cs ? R_D5 : R_O4;
}

/* What the organisation certificates were made for (merge_fixture_data.h). */
static int org_intent(int u)
{
    static const struct {
        const char *unit;
        int rule;
    } want[] = {
        {"Ủy ban nhân dân xã Yên Thuận", R_O1},   {"Trung tâm Y tế huyện Yên Sơn", R_O1},
        {"Trung tâm Y tế huyện Sơn Dương", R_O1}, {"Ủy ban nhân dân xã Minh Dân", R_O2},
        {"Trung tâm Y tế huyện Hàm Yên", R_O2},   {DIST_YS, R_O3},
        {"Ủy ban nhân dân xã Tân Long", R_O3},    {"Ủy ban nhân dân xã Tân Trào", R_O3},
        {"Ủy ban nhân dân xã Tú Thịnh", R_O3},    {"Ủy ban nhân dân xã Tân Thành", R_O3},
        {"Ủy ban nhân dân xã Mỹ Bằng", R_O3},     {"Ủy ban nhân dân xã Thái Bình", R_D1},
        {"Ủy ban nhân dân xã Tiến Bộ", R_D1},     {"Ủy ban nhân dân xã Đội Bình", R_D1},
        {"Ủy ban nhân dân xã Phúc Ứng", R_D1},    {"Ủy ban nhân dân xã Kháng Nhật", R_D1},
        {"Ủy ban nhân dân xã Hợp Hòa", R_D1},     {DIST_SD, R_D2},
        {"Ủy ban nhân dân xã Vĩnh Lợi", R_D2},    {"Ủy ban nhân dân xã Chân Sơn", R_D5},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strcmp(want[i].unit, MF_UNITS[u].name) == 0)
            return want[i].rule;
    return MF_UNITS[u].to ? R_O4 : R_O2; /* with --all an unaffected unit maps to itself */
}

static int d3_count;

static void apply_rules(void)
{
    struct strtab by_cccd, by_serial;
    int *staff_hits = calloc(F.ns + 1, sizeof(int));
    char(*norm)[40] = calloc(F.ns + 1, sizeof *norm); /* the typed serials, normalised */
    if (!staff_hits || !norm)
        die("out of memory");

    strtab_init(&by_cccd, F.ns);
    strtab_init(&by_serial, F.ns);
    for (size_t i = 0; i < F.ns; i++) {
        if (F.s[i].cccd[0])
            strtab_put(&by_cccd, F.s[i].cccd, (int)i);
        else {
            serial_norm(F.s[i].serial, norm[i], sizeof norm[i]);
            strtab_put(&by_serial, norm[i], (int)i);
        }
    }
    for (size_t i = 0; i < F.n; i++) {
        struct cert *c = &F.c[i];
        int s;
        if (c->revoked)
            continue;
        if (c->org) {
            if (!affected(c->unit))
                continue;
            c->rule = org_rule(c->unit, c->cs, 0);
            if (org_rule(c->unit, c->cs, 1) != c->rule)
                die("%s: the rule depends on whether a split unit counts in the group", MF_UNITS[c->unit].name);
            c->intent = org_intent(c->unit);
        } else {
            s = strtab_get(&by_cccd, c->uid + 5);
            if (s < 0)
                s = strtab_get(&by_serial, c->serial);
            if (s < 0) {
                c->rule = affected(c->unit) ? R_D4 : R_NONE;
            } else {
                const struct staff *st = &F.s[s];
                staff_hits[s]++;
                if (!same_name(st->old_unit, MF_UNITS[c->unit].name))
                    c->rule = R_D6;
                else if (!st->state) {
                    if (!st->leader)
                        die("not a leader and outside the state sector: P3 or P4?");
                    c->rule = R_P4;
                } else if (!st->leader)
                    c->rule = R_P3;
                else if (same_name(st->new_unit, MF_UNITS[c->unit].name)) {
                    if (!st->keeps)
                        die("a leader staying in an unchanged unit hands the device back: P5 or P2?");
                    c->rule = R_P5;
                } else
                    c->rule = st->keeps ? R_P1 : R_P2;
                if (c->cs && (c->rule == R_P2 || c->rule == R_P3 || c->rule == R_P4))
                    c->rule = R_D5;
            }
        }
        if (c->rule != R_NONE && c->rule != c->intent && !(c->intent == 0 && c->rule == R_NONE))
            die("%s (position %d): the rules give %s, it was made for %s", MF_UNITS[c->unit].name, c->person,
                RULE_ID[c->rule], c->intent ? RULE_ID[c->intent] : "no row");
        F.count[c->rule]++;
    }
    for (size_t i = 0; i < F.ns; i++) {
        if (staff_hits[i] > 1)
            die("a staff row names two certificates");
        if (!staff_hits[i]) {
            F.s[i].d3 = 1;
            d3_count++;
        } else if (F.s[i].cert < 0 || F.c[F.s[i].cert].revoked)
            die("a staff row made for D3 names an active certificate");
    }
    F.count[R_D3] = d3_count;
    free(staff_hits);
    free(norm);
    free(by_cccd.k);
    free(by_cccd.v);
    free(by_serial.k);
    free(by_serial.v);
}

/* ---- the operator's overrides and the registry after the run ------------ */

static const char *REASON_SUPERSEDED = "Sáp nhập đơn vị, thu hồi chứng thư tổ chức thừa";

/* Every decide row's override (merge_fixture's choice, written to overrides.tsv). */
static void choose_overrides(void)
{
    const char *d1_kept[64];
    size_t nd1 = 0;
    int d4 = 0, d5 = 0, d6 = 0;

    for (size_t i = 0; i < F.n; i++) {
        struct cert *c = &F.c[i];
        const char *to = unit_to(c->unit);
        size_t k;
        c->final_action = c->rule == R_NONE ? "keep" : RULE_ACTION[c->rule];
        switch (c->rule) {
        case R_D1: /* the first candidate of each new unit is kept and renamed, the others retired */
            for (k = 0; k < nd1 && strcmp(d1_kept[k], to) != 0; k++)
                ;
            if (k == nd1 && nd1 < 64) {
                d1_kept[nd1++] = to;
                c->final_action = "change";
                c->override_reason = "Chọn chứng thư tổ chức của đơn vị này để giữ, thay đổi tên theo Mẫu 07";
            } else {
                c->final_action = "revoke";
                c->override_reason = REASON_SUPERSEDED;
            }
            break;
        case R_D2:
            c->final_action = "revoke";
            c->override_reason =
                MF_UNITS[c->unit].kind == MF_DISTRICT ? "Giải thể Ủy ban nhân dân cấp huyện" : REASON_SUPERSEDED;
            break;
        case R_D4:
            c->final_action = d4++ % 2 ? "revoke" : "keep";
            c->override_reason = d4 % 2 ? "Vẫn công tác tại đơn vị mới, bổ sung vào danh sách sau" : "Nghỉ hưu";
            break;
        case R_D5:
            if (c->org) {
                c->final_action = "revoke";
                c->override_reason = REASON_SUPERSEDED;
            } else {
                c->final_action = d5++ % 2 ? "revoke" : "keep";
                c->override_reason = d5 % 2 ? "Số /cs đang sử dụng, giữ lại đến khi có thiết bị mới"
                                            : "Chuyển công tác ngoài khu vực nhà nước";
            }
            break;
        case R_D6:
            c->final_action = d6++ ? "keep" : "change";
            c->override_reason = d6 > 1 ? "Giữ nguyên, đơn vị kiểm tra lại danh sách"
                                        : "Danh sách đúng: đã chuyển công tác, thay đổi thông tin theo Mẫu 07";
            break;
        default: break;
        }
        c->own_key = strcmp(c->final_action, "change") == 0;
    }
}

/* ---- output files ------------------------------------------------------ */

/* snprintf into a path buffer; a path that does not fit ends the run. */
__attribute__((format(printf, 3, 4))) static void pathf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        die("a path or value is too long");
}

static FILE *out_open(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;
    pathf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f)
        die("%s: %s", path, strerror(errno));
    return f;
}

static void out_close(FILE *f, const char *name)
{
    if (ferror(f) || fclose(f) != 0)
        die("%s: write error", name);
}

/* One CSV cell (RFC 4180 quoting when needed), then sep. */
static void csv(FILE *f, const char *v, const char *sep)
{
    size_t n = strlen(v);
    int q = strpbrk(v, ",\"\r\n") != NULL || (n && (v[0] == ' ' || v[n - 1] == ' '));
    if (!q) {
        fputs(v, f);
    } else {
        fputc('"', f);
        for (; *v; v++) {
            if (*v == '"')
                fputc('"', f);
            fputc(*v, f);
        }
        fputc('"', f);
    }
    fputs(sep, f);
}

static void write_reorg(const char *dir)
{
    FILE *f = out_open(dir, "reorg.csv");
    const char *basis = "Nghị quyết 1001/NQ-UBTVQH15 (dữ liệu thử nghiệm tổng hợp, không phải văn bản thật)";
    fputs("Đơn vị cũ,Đơn vị mới,Cơ quan chủ quản mới,Địa bàn,Tỉnh,Cơ quan quản lý cũ,Giữ chứng thư tổ chức,"
          "Mã số thuế,Mã quan hệ ngân sách,Căn cứ,Ngày ban hành,Ngày hiệu lực,Nguồn\n",
          f);
    for (size_t u = 0; u < NUNITS; u++) {
        const struct mf_unit *un = &MF_UNITS[u];
        for (int k = 0; k < (un->to2 ? 2 : 1) && affected((int)u); k++) {
            const char *to = k ? un->to2 : unit_to((int)u);
            char tax[16] = "", budget[16] = "";
            if (un->ask_codes) {
                new_tax_code(tax, sizeof tax);
                snprintf(budget, sizeof budget, "10%05u", rndn(100000));
            }
            csv(f, un->name, ",");
            csv(f, to, ",");
            csv(f, unit_parent((int)u), ",");
            csv(f, locality(to), ",");
            csv(f, MF_PROVINCE, ",");
            csv(f, un->old_parent ? un->old_parent : "", ","); /* "": the old unit itself */
            csv(f, un->seat ? "x" : "", ",");
            csv(f, tax, ",");
            csv(f, budget, ",");
            csv(f, basis, ",");
            csv(f, "16/06/2025", ",");
            csv(f, "01/07/2025", ",");
            csv(f, "tests/gateway/merge_fixture.c", "\n");
        }
    }
    out_close(f, "reorg.csv");
}

static const char *yesno(int v, int style)
{
    static const char *const yes[] = {"Có", "x", "1", "có"}, *const no[] = {"Không", "không", "0", "KHÔNG"};
    return v ? yes[style % 4] : no[style % 4];
}

static void write_staff(const char *dir)
{
    FILE *f = out_open(dir, "staff.csv");
    unsigned line = 2;
    int broke = 0;
    fputs("\xEF\xBB\xBFSố CCCD,Số hiệu chứng thư,Họ và tên,Đơn vị cũ,Đơn vị mới,Chức vụ mới,Lãnh đạo,"
          "Khu vực nhà nước,Giữ thiết bị\r\n",
          f);
    for (size_t i = 0; i < F.ns; i++) {
        struct staff *s = &F.s[i];
        int style = (int)(i % 7 == 3) + (int)(i % 11 == 5) * 2; /* mostly Có/Không, a few others */
        s->line = line;
        /* one cell with a line break (an address typed in a spreadsheet): records stop being lines */
        if (!broke && i > 10 && s->leader && s->state && s->cert >= 0 && F.c[s->cert].rule == R_P1) {
            broke = 1;
            strncat(s->new_post, "\n(phụ trách kinh tế)", sizeof s->new_post - strlen(s->new_post) - 1);
            line++;
        }
        csv(f, s->cccd, ",");
        csv(f, s->serial, ",");
        csv(f, s->full_name, ",");
        csv(f, s->old_unit, ",");
        csv(f, s->new_unit, ",");
        csv(f, s->new_post, ",");
        csv(f, yesno(s->leader, style), ",");
        csv(f, yesno(s->state, style), ",");
        csv(f, s->keeps ? yesno(1, style) : (style == 1 ? "" : yesno(0, style)), "\r\n");
        line++;
    }
    out_close(f, "staff.csv");
}

static void write_expected(const char *dir)
{
    FILE *e = out_open(dir, "expected.tsv"), *o = out_open(dir, "overrides.tsv");
    FILE *fin = out_open(dir, "expected-final.tsv"), *sum = out_open(dir, "summary.txt");
    fputs("key\tmsisdn\tunit\tkind\taction\trule\treason_code\treason\thandover_to\n", e);
    fputs("key\taction\treason\n", o);
    fputs("msisdn\tstatus\tcertificate\tserial\n", fin);
    for (size_t i = 0; i < F.n; i++) {
        const struct cert *c = &F.c[i];
        const char *rc = "", *rn = "", *ho = "";
        if (c->rule != R_NONE) {
            switch (c->rule) {
            case R_O4: rc = "4", rn = "superseded"; break;
            case R_P2:
            case R_P4: rc = "3", rn = "affiliationChanged"; break;
            case R_P3: rc = "5", rn = "cessationOfOperation"; break;
            default: break;
            }
            if (rc[0])
                ho = unit_old_parent(c->unit);
            fprintf(e, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c->serial, c->msisdn, MF_UNITS[c->unit].name,
                    c->org ? "organisation" : "person", RULE_ACTION[c->rule], RULE_ID[c->rule], rc, rn, ho);
            if (c->override_reason)
                fprintf(o, "%s\t%s\t%s\n", c->serial, c->final_action, c->override_reason);
        }
        fprintf(fin, "%s\t%s\t%s\t%s\n", c->msisdn,
                c->revoked || strcmp(c->final_action, "revoke") == 0 ? "revoked" : "active",
                c->own_key ? "new" : "same", c->serial);
    }
    /* D3: the staff rows that name no active certificate */
    for (size_t i = 0; i < F.ns; i++) {
        const struct staff *s = &F.s[i];
        if (!s->d3)
            continue;
        fprintf(e, "staff:%u\t\t%s\tperson\tdecide\tD3\t\t\t\n", s->line, s->old_unit);
        fprintf(o, "staff:%u\tkeep\t%s\n", s->line, "Chưa có chứng thư đang hoạt động; cấp mới theo Mẫu 01 riêng");
    }
    for (int r = 1; r < R_N; r++)
        fprintf(sum, "%s\t%s\t%d\n", RULE_ID[r], RULE_ACTION[r], F.count[r]);
    out_close(e, "expected.tsv");
    out_close(o, "overrides.tsv");
    out_close(fin, "expected-final.tsv");
    out_close(sum, "summary.txt");
}

/* ---- certificates -------------------------------------------------------- */

struct issuer {
    X509 *ca;
    EVP_PKEY *key, *shared;
    char ocsp[256], http[256], name[64];
    X509_EXTENSION *fixed[6], *shared_ski;
    EVP_MD *md; /* fetched once: an implicit fetch per signature costs more than an RSA-2048 signature's share */
    int nfixed;
};

static X509_EXTENSION *ext(X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *x = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!x) {
        ERR_print_errors_fp(stderr);
        die("cannot make extension %s = %s", OBJ_nid2sn(nid), value);
    }
    return x;
}

static void issuer_load(struct issuer *is, const char *pki, const char *name)
{
    char path[4096], line[1024], val[256];
    FILE *f;
    X509 *tmpl;
    CONF *conf;
    X509V3_CTX ctx;

    snprintf(is->name, sizeof is->name, "%s", name);
    pathf(path, sizeof path, "%s/%s.pem", pki, name);
    if (!(f = fopen(path, "r")) || !(is->ca = PEM_read_X509(f, NULL, NULL, NULL)))
        die("%s: cannot read the issuer's certificate", path);
    fclose(f);
    pathf(path, sizeof path, "%s/%s.key.pem", pki, name);
    if (!(f = fopen(path, "r")) || !(is->key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
        die("%s: cannot read the issuer's key", path);
    fclose(f);
    /* mkpki.sh's URLs (SIMPKI_PKI_PORT), so the certificates point where the demo's do */
    snprintf(is->ocsp, sizeof is->ocsp, "http://127.0.0.1:1/ocsp");
    snprintf(is->http, sizeof is->http, "http://127.0.0.1:1");
    pathf(path, sizeof path, "%s/urls", pki);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "ocsp %255s", val) == 1)
                snprintf(is->ocsp, sizeof is->ocsp, "%s", val);
            if (sscanf(line, "http %255s", val) == 1)
                snprintf(is->http, sizeof is->http, "%s", val);
        }
        fclose(f);
    }
    if (!(is->md = EVP_MD_fetch(NULL, "SHA256", NULL)))
        die("no SHA-256");
    if (!(is->shared = EVP_EC_gen("P-256")))
        die("cannot make a P-256 key");
    /* the extensions every certificate has alike (mkpki.sh's v3_sub_good) */
    tmpl = X509_new();
    conf = NCONF_new(NULL); /* certificatePolicies wants a config database, even an empty one */
    if (!tmpl || !conf)
        die("out of memory");
    X509_set_pubkey(tmpl, is->shared);
    X509V3_set_ctx(&ctx, is->ca, tmpl, NULL, NULL, 0);
    X509V3_set_nconf(&ctx, conf);
    is->fixed[is->nfixed++] = ext(&ctx, NID_basic_constraints, "critical,CA:FALSE");
    is->fixed[is->nfixed++] = ext(&ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation");
    is->fixed[is->nfixed++] = ext(&ctx, NID_authority_key_identifier, "keyid:always");
    is->fixed[is->nfixed++] = ext(&ctx, NID_certificate_policies, "2.16.704.1.1.1.1.1");
    pathf(line, sizeof line, "OCSP;URI:%s,caIssuers;URI:%s/%s.crt", is->ocsp, is->http, name);
    is->fixed[is->nfixed++] = ext(&ctx, NID_info_access, line);
    pathf(line, sizeof line, "URI:%s/%s.crl", is->http, name);
    is->fixed[is->nfixed++] = ext(&ctx, NID_crl_distribution_points, line);
    is->shared_ski = ext(&ctx, NID_subject_key_identifier, "hash");
    X509_free(tmpl);
    NCONF_free(conf);
}

static void add_name(X509_NAME *n, int nid, const char *v)
{
    if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)v, -1, -1, 0))
        die("cannot set %s", OBJ_nid2sn(nid));
}

/* One certificate, DER in *der (OPENSSL_free), its private key in *own when it has its own. */
static X509 *issue(struct issuer *is, const struct cert *c, time_t day, EVP_PKEY **own)
{
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn;
    X509V3_CTX ctx;
    char san[64];
    time_t nb = day - (time_t)(30 + strtoul(c->serial + 26, NULL, 16) % 600) * 86400; /* from the serial: any worker */

    *own = c->own_key ? EVP_EC_gen("P-256") : NULL;
    if (!x || !n || (c->own_key && !*own) || !BN_hex2bn(&bn, c->serial) || !(sn = BN_to_ASN1_INTEGER(bn, NULL)))
        die("out of memory");
    X509_set_version(x, X509_VERSION_3);
    X509_set_serialNumber(x, sn);
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    X509_set_issuer_name(x, X509_get_subject_name(is->ca));
    add_name(n, NID_countryName, "VN");
    add_name(n, NID_stateOrProvinceName, MF_PROVINCE);
    add_name(n, NID_organizationName, MF_UNITS[c->unit].name);
    add_name(n, NID_commonName, c->cn);
    add_name(n, NID_userId, c->uid);
    X509_set_subject_name(x, n);
    X509_NAME_free(n);
    if (!ASN1_TIME_set(X509_getm_notBefore(x), nb) || !ASN1_TIME_set(X509_getm_notAfter(x), nb + 3 * 365 * 86400))
        die("cannot set the validity");
    X509_set_pubkey(x, *own ? *own : is->shared);
    for (int i = 0; i < is->nfixed; i++)
        X509_add_ext(x, is->fixed[i], -1);
    X509V3_set_ctx(&ctx, is->ca, x, NULL, NULL, 0);
    if (*own) {
        X509_EXTENSION *ski = ext(&ctx, NID_subject_key_identifier, "hash");
        X509_add_ext(x, ski, -1);
        X509_EXTENSION_free(ski);
    } else {
        X509_add_ext(x, is->shared_ski, -1);
    }
    snprintf(san, sizeof san, "email:%s@sim.simpki.test", c->msisdn);
    {
        X509_EXTENSION *e = ext(&ctx, NID_subject_alt_name, san);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    if (!X509_sign(x, is->key, is->md))
        die("cannot sign a certificate");
    return x;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
        die("%s: cannot write", path);
}

/* Certificates lo .. hi - 1: registry rows to reg, CA index lines to idx, own keys to keys/. */
static void issue_range(const char *dir, struct issuer *is, size_t lo, size_t hi, FILE *reg, FILE *idx)
{
    time_t now = time(NULL), day = now - now % 86400;
    unsigned char *der = NULL, *b64 = NULL;
    size_t b64cap = 0;
    char path[4096], when[32], exp[32], oneline[1024];
    struct tm tm;
    FILE *kf;

    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y%m%d%H%M%SZ", &tm); /* the index wants UTCTime: from when + 2 */
    for (size_t i = lo; i < hi; i++) {
        const struct cert *c = &F.c[i];
        EVP_PKEY *own;
        X509 *x = issue(is, c, day, &own);
        int n = i2d_X509(x, &der);
        size_t need = 4 * (((size_t)n + 2) / 3) + 1;
        const ASN1_TIME *na = X509_get0_notAfter(x);
        if (n <= 0)
            die("cannot encode a certificate");
        if (need > b64cap && !(b64 = realloc(b64, b64cap = need * 2)))
            die("out of memory");
        EVP_EncodeBlock(b64, der, n);
        fprintf(reg, "%s,%s,%s,1,%s,%s,%d\n", c->msisdn, c->carrier, c->iccid, b64, c->revoked ? "revoked" : "active",
                c->cs);
        /* the CA database: V (or R, revoked) <notAfter> <revoked at> <serial> unknown <subject> */
        ASN1_TIME_to_tm(na, &tm);
        strftime(exp, sizeof exp, "%Y%m%d%H%M%SZ", &tm);
        X509_NAME_oneline(X509_get_subject_name(x), oneline, sizeof oneline);
        fprintf(idx, "%s\t%s\t%s%s\t%s\tunknown\t%s\n", c->revoked ? "R" : "V", exp + 2, c->revoked ? when + 2 : "",
                c->revoked ? ",superseded" : "", c->serial, oneline);
        if (own) {
            pathf(path, sizeof path, "%s/keys/%s.key.pem", dir, c->msisdn);
            if (!(kf = fopen(path, "w")) || !PEM_write_PrivateKey(kf, own, NULL, NULL, 0, NULL, NULL) || fclose(kf))
                die("%s: cannot write", path);
            pathf(path, sizeof path, "%s/keys/%s.crt.der", dir, c->msisdn);
            write_file(path, der, (size_t)n);
            EVP_PKEY_free(own);
        }
        OPENSSL_free(der);
        der = NULL;
        X509_free(x);
    }
    free(b64);
}

/* Append file `part` to f and remove it. */
static void append_part(FILE *f, const char *part)
{
    char buf[1 << 16];
    size_t n;
    FILE *p = fopen(part, "r");
    if (!p)
        die("%s: %s", part, strerror(errno));
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        if (fwrite(buf, 1, n, f) != n)
            die("write error");
    fclose(p);
    unlink(part);
}

/*
 * registry.csv, ca-index.txt, keys/ and sim-subscribers.json; jobs > 1
 * issues in that many processes (the signatures are most of the time), each
 * a contiguous slice, joined in order: the files are the same either way.
 */
static void write_registry(const char *dir, const char *absdir, struct issuer *is, int jobs)
{
    FILE *reg = out_open(dir, "registry.csv"), *idx = out_open(dir, "ca-index.txt"), *kf;
    json_t *subs = json_array();
    char path[4096], cpath[4096];

    if (!subs)
        die("out of memory");
    pathf(path, sizeof path, "%s/keys", dir);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        die("%s: %s", path, strerror(errno));
    pathf(path, sizeof path, "%s/keys/shared.key.pem", dir);
    if (!(kf = fopen(path, "w")) || !PEM_write_PrivateKey(kf, is->shared, NULL, NULL, 0, NULL, NULL) || fclose(kf))
        die("%s: cannot write", path);
    fputs("msisdn,carrier,iccid,kv,cert,status,cs\n", reg);
    if (jobs <= 1) {
        issue_range(dir, is, 0, F.n, reg, idx);
    } else {
        int failed = 0;
        fflush(reg);
        fflush(idx);
        for (int j = 0; j < jobs; j++) {
            pid_t pid = fork();
            if (pid < 0)
                die("fork: %s", strerror(errno));
            if (pid == 0) {
                char rp[4096], ip[4096];
                FILE *r, *x;
                pathf(rp, sizeof rp, "registry.part%d", j);
                pathf(ip, sizeof ip, "ca-index.part%d", j);
                r = out_open(dir, rp);
                x = out_open(dir, ip);
                issue_range(dir, is, F.n * (size_t)j / (size_t)jobs, F.n * (size_t)(j + 1) / (size_t)jobs, r, x);
                out_close(r, rp);
                out_close(x, ip);
                _exit(0);
            }
        }
        for (int j = 0; j < jobs; j++) {
            int st;
            if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                failed = 1;
        }
        if (failed)
            die("a certificate worker failed");
        for (int j = 0; j < jobs; j++) {
            pathf(path, sizeof path, "%s/registry.part%d", dir, j);
            append_part(reg, path);
            pathf(path, sizeof path, "%s/ca-index.part%d", dir, j);
            append_part(idx, path);
        }
    }
    for (size_t i = 0; i < F.n; i++) {
        const struct cert *c = &F.c[i];
        json_t *o;
        if (!c->own_key)
            continue;
        pathf(path, sizeof path, "%s/keys/%s.key.pem", absdir, c->msisdn);
        pathf(cpath, sizeof cpath, "%s/keys/%s.crt.der", absdir, c->msisdn);
        o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "msisdn", c->msisdn, "carrier", c->carrier, "iccid",
                      c->iccid, "kv", 1, "key", path, "cert", cpath, "behaviour", "confirm");
        if (!o || json_array_append_new(subs, o) != 0)
            die("out of memory");
    }
    pathf(path, sizeof path, "%s/sim-subscribers.json", dir);
    if (json_dump_file(subs, path, JSON_INDENT(1)) != 0)
        die("%s: cannot write", path);
    json_decref(subs);
    out_close(reg, "registry.csv");
    out_close(idx, "ca-index.txt");
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: merge_fixture [--all] [-i ISSUER] [-j JOBS] OUTDIR PKI_DIR N_CERTS SEED\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *issuer_name = "ca", *dir, *pki;
    char absdir[4096], *end;
    unsigned long long n, seed;
    struct issuer is;
    int a = 1, bad = 0, jobs = 1;

    for (; a < argc && argv[a][0] == '-'; a++) {
        if (strcmp(argv[a], "--all") == 0)
            F.all = 1;
        else if (strcmp(argv[a], "-i") == 0 && a + 1 < argc)
            issuer_name = argv[++a];
        else if (strcmp(argv[a], "-j") == 0 && a + 1 < argc) {
            long j = strtol(argv[++a], &end, 10);
            if (*end || j < 1 || j > 64)
                die("-j: want 1..64");
            jobs = (int)j;
        } else
            usage();
    }
    if (argc - a != 4)
        usage();
    dir = argv[a];
    pki = argv[a + 1];
    errno = 0;
    n = strtoull(argv[a + 2], &end, 10);
    if (errno || *end || n < 1 || n > 1000000)
        die("N_CERTS: want 1..1000000");
    seed = strtoull(argv[a + 3], &end, 10);
    if (errno || *end)
        die("SEED: want a number");
    if (!setlocale(LC_CTYPE, "C.UTF-8"))
        die("the C.UTF-8 locale is missing");
    if (!ASN1_STRING_set_default_mask_asc("utf8only"))
        die("cannot set the string mask");
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        die("%s: %s", dir, strerror(errno));
    if (!realpath(dir, absdir))
        die("%s: %s", dir, strerror(errno));

    F.rng = seed;
    for (F.seen_cap = 1 << 16; F.seen_cap < 8 * (n + 1000); F.seen_cap *= 2)
        ;
    F.seen = calloc(F.seen_cap, sizeof *F.seen);
    F.c = calloc(n + N_EXTRA, sizeof *F.c);
    if (!F.seen || !F.c)
        die("out of memory");
    F.cap = n;
    memset(&is, 0, sizeof is);
    issuer_load(&is, pki, issuer_name);

    build_model(n);
    add_d3();
    make_serials();
    apply_rules();
    choose_overrides();
    write_reorg(dir);
    write_staff(dir);
    write_expected(dir);
    for (int r = 1; r < R_N; r++)
        if (!F.all && F.count[r] < 2) {
            fprintf(stderr, "merge_fixture: rule %s reached %d times, not at least twice\n", RULE_ID[r], F.count[r]);
            bad = 1;
        }
    if (bad)
        return 1;
    write_registry(dir, absdir, &is, jobs);
    for (int i = 0; i < is.nfixed; i++)
        X509_EXTENSION_free(is.fixed[i]);
    X509_EXTENSION_free(is.shared_ski);
    X509_free(is.ca);
    EVP_PKEY_free(is.key);
    EVP_PKEY_free(is.shared);
    EVP_MD_free(is.md);
    free(F.c);
    free(F.s);
    free(F.seen);
    return 0;
}
