/*
 * gw_merge_name.h - the keys Vietnamese text is matched by in a merger
 * review: the name key (units, people) and the ASCII key (column headings,
 * yes/no cells).  Split from gw_merge_input.h, which includes this header,
 * so its callers see gw_merge_name_key as before.
 * Pure functions: no state, no allocation; safe from any thread.
 */
#ifndef SIMPKI_GW_MERGE_NAME_H
#define SIMPKI_GW_MERGE_NAME_H

#include <stddef.h>

/*
 * The key two unit or person names are matched by: precomposed (NFC)
 * Vietnamese lower-cased (Đ->đ, Ầ->ầ, ...), spaces collapsed and trimmed,
 * "TP." / "Tp" left as written.
 * - Decomposed letters (a vowel followed by the combining marks U+0300,
 *   U+0301, U+0303, U+0309, U+0323, U+0302, U+0306, U+031B, in any order)
 *   are composed first; marks that make no Vietnamese letter (two tones, a
 *   mark on a consonant) are kept as they are.
 * - The tone's place on oa, oe, uy ending a syllable (nothing after the
 *   pair but a space, punctuation or the end) is made old-style, on the
 *   first vowel: "Hoà" and "Hòa", "Thuỷ" and "Thủy", "Uỷ ban" and "Ủy ban"
 *   have one key ("hòa", "thủy", "ủy ban").  With a final consonant or
 *   another vowel after the pair ("Hoàng", "Toán", "Ngoáy") nothing moves.
 *   Different tones stay different keys ("Hòa", "Hóa").
 * Octets that are not UTF-8 are kept as they are.  out gets at most
 * cap - 1 octets (never half a character), NUL-terminated; a key cut at cap
 * moves no tone onto a pair whose syllable the cut left open.
 * "  UBND  Xã Tân Lập " and "ubnd xã tân lập" have the same key.
 */
void gw_merge_name_key(const char *name, char *out, size_t cap);

/*
 * The ASCII key a column heading (and a yes/no cell) is matched by:
 * letters without diacritics, in lower case, and digits; everything else
 * (spaces, underscores, combining marks) dropped.  "Đơn vị cũ", "don vi cu", "DON_VI_CU" -> "donvicu".
 * Invalid UTF-8 gives "".  out gets at most cap - 1 octets, NUL-terminated.
 */
void gw_merge_name_ascii_key(const char *s, char *out, size_t cap);

#endif /* SIMPKI_GW_MERGE_NAME_H */
