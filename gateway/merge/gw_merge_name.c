/*
 * gw_merge_name.c - see gw_merge_name.h.
 *
 * The Vietnamese text half of the merger's input reading, split from
 * gw_merge_input.c to keep each file a size one can read whole: the name key
 * units and people are matched by (case folding, composing decomposed
 * letters, moving a tone on oa/oe/uy to the first vowel) and the ASCII key
 * column headings and yes/no cells are matched by.  Both fold letters to
 * their base with one table (viet_base), which is why they live together;
 * the vowel table itself is config/viet's.  Pure functions, no state.
 */
#include "gw_merge_name.h"

#include <stdint.h>
#include <string.h>

#include "util.h"
#include "viet.h"

/* The base letter of U+00C0..U+00DD (and U+00E0..U+00FD, their lower case); 0: not a letter we fold. */
static const char latin1_base[30] = "aaaaaa\0ceeeeiiiidnooooo\0ouuuuy";
/* The base letter of each upper/lower pair U+1EA0..U+1EF9 (ạ ả ấ ... ỹ). */
static const char viet_ext_base[45] = "aaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy";

/* The ASCII letter a Vietnamese letter is written with (đ -> d, ầ -> a), or 0. */
static char viet_base(uint32_t cp)
{
    if (cp >= 0xC0 && cp <= 0xDD)
        return latin1_base[cp - 0xC0];
    if (cp >= 0xE0 && cp <= 0xFD)
        return latin1_base[cp - 0xE0];
    if (cp >= 0x1EA0 && cp <= 0x1EF9)
        return viet_ext_base[(cp - 0x1EA0) / 2];
    switch (cp) {
    case 0x102:
    case 0x103: return 'a';
    case 0x110:
    case 0x111: return 'd';
    case 0x128:
    case 0x129: return 'i';
    case 0x168:
    case 0x169:
    case 0x1AF:
    case 0x1B0: return 'u';
    case 0x1A0:
    case 0x1A1: return 'o';
    default: return 0;
    }
}

/* The lower case of a Vietnamese (or ASCII) letter; anything else as it is. */
static uint32_t viet_lower(uint32_t cp)
{
    if (cp >= 'A' && cp <= 'Z')
        return cp + 32;
    if (cp >= 0xC0 && cp <= 0xDD && cp != 0xD7)
        return cp + 0x20;
    if (cp >= 0x1EA0 && cp <= 0x1EF9)
        return cp | 1;
    if (cp == 0x102 || cp == 0x110 || cp == 0x128 || cp == 0x168 || cp == 0x1A0 || cp == 0x1AF)
        return cp + 1;
    return cp;
}

void gw_merge_name_ascii_key(const char *s, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, o = 0;

    while (i < n) {
        uint32_t cp;
        char b;
        if (util_utf8_next(u, n, &i, &cp) != 0) {
            o = 0;
            break;
        }
        if (cp < 0x80)
            b = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        else
            b = viet_base(cp);
        if (((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) && o + 1 < cap)
            out[o++] = b;
    }
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
}

/* The row (VIET_*) and tone (0..5) of a lower-case vowel; -1 when cp is not one. */
static int vowel_of(uint32_t cp, int *tone)
{
    int row;

    if (cp < 0x80 ? !(cp && strchr("aeiouy", (int)cp)) : viet_base(cp) == 0)
        return -1; /* most characters: no table to search */
    if (!viet_find_vowel(cp, &row, tone) || viet_vowel_lower[row][*tone] != cp)
        return -1;
    return row;
}

/*
 * A lower-case letter and the combining marks after it at *i (U+0300,
 * U+0301, U+0303, U+0309, U+0323 tones, and U+0340/U+0341 as config/viet
 * reads them; U+0302, U+0306, U+031B; in any order)
 * as one precomposed letter, *i moved past the marks.  When they make no
 * Vietnamese letter (two tones, a horn on e, a mark on a consonant), cp is
 * returned as it is and the marks stay in the text.
 */
static uint32_t compose(const unsigned char *u, size_t n, size_t *i, uint32_t cp)
{
    int tone = 0, v = vowel_of(cp, &tone), marks = 0;
    size_t j = *i;

    if (v < 0)
        return cp;
    while (j < n && (u[j] == 0xCC || u[j] == 0xCD)) { /* U+0300..U+037F */
        size_t k = j;
        uint32_t m;
        if (util_utf8_next(u, n, &k, &m) != 0)
            break;
        if (viet_tone_of_mark(m)) {
            if (tone)
                return cp;
            tone = viet_tone_of_mark(m);
        } else if (viet_is_modifier_mark(m)) {
            v = viet_row_with_modifier(v, m);
            if (v < 0)
                return cp;
        } else {
            break;
        }
        j = k;
        marks++;
    }
    if (!marks)
        return cp;
    *i = j;
    return viet_vowel_lower[v][tone];
}

static int is_letter(uint32_t cp)
{
    return (cp < 0x80 && ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')) || viet_base(cp) != 0 ||
           (cp >= 0x300 && cp <= 0x36F); /* a mark left uncomposed still belongs to its syllable */
}

/* The last two characters written to a key: where each starts, and what it is (a space, an octet: not a vowel). */
struct key_tail {
    size_t at[2];
    uint32_t cp[2];
};

static void tail_push(struct key_tail *t, size_t at, uint32_t cp)
{
    t->at[0] = t->at[1];
    t->cp[0] = t->cp[1];
    t->at[1] = at;
    t->cp[1] = cp;
}

/*
 * The syllable ended (what follows is not a letter): when it ended in oa,
 * oe or uy with the tone on the second vowel (new style: hoà, thuỷ), move it
 * to the first (old style: hòa, thủy).  Returns the key's new length; the
 * first vowel never takes more octets than the second gave up.
 */
static size_t tone_first(char *out, size_t o, struct key_tail *t)
{
    int t1, t2, v1 = vowel_of(t->cp[0], &t1), v2 = vowel_of(t->cp[1], &t2);
    size_t k;

    if (o < 2 || t1 != 0 || t2 == 0 ||
        !((v1 == VIET_O && (v2 == VIET_A || v2 == VIET_E)) || (v1 == VIET_U && v2 == VIET_Y)))
        return o;
    t->cp[0] = viet_vowel_lower[v1][t2];
    t->cp[1] = viet_vowel_lower[v2][0];
    k = util_utf8_put(t->cp[0], out + t->at[0]);
    t->at[1] = t->at[0] + k;
    return t->at[1] + util_utf8_put(t->cp[1], out + t->at[1]);
}

void gw_merge_name_key(const char *name, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)name;
    size_t n = strlen(name), i = 0, o = 0;
    struct key_tail t = {{0, 0}, {0, 0}};
    int space = 0, cut = 0;

    if (cap == 0)
        return;
    while (i < n) {
        uint32_t cp;
        char enc[4];
        size_t k;
        int raw = util_utf8_next(u, n, &i, &cp) != 0;
        if (raw)
            cp = u[i++]; /* not UTF-8: the octet as it is, so that different text keeps different keys */
        else
            cp = compose(u, n, &i, viet_lower(cp));
        if (raw || !is_letter(cp))
            o = tone_first(out, o, &t);
        if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\n' || cp == 0xA0) {
            space = o > 0;
            continue;
        }
        if (space) {
            cut = o + 1 >= cap;
            if (cut)
                break;
            tail_push(&t, o, ' ');
            out[o++] = ' ';
            space = 0;
        }
        if (raw) {
            enc[0] = (char)cp;
            k = 1;
        } else {
            k = util_utf8_put(cp, enc);
        }
        cut = o + k >= cap;
        if (cut)
            break;
        memcpy(out + o, enc, k);
        tail_push(&t, o, raw ? 0xFFFFFFFFu : cp);
        o += k;
    }
    if (!cut)
        o = tone_first(out, o, &t); /* the end of the name ends its last syllable */
    out[o] = '\0';
}
