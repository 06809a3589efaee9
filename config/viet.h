/*
 * viet.h - the Vietnamese vowels, kept here so that the table exists once:
 * 12 letters (rows) by 6 tones (columns: none, huyền grave, sắc acute, hỏi
 * hook above, ngã tilde, nặng dot below), in lower and upper case, and the
 * combining marks (NFD) that build them.  A decomposed vowel composes by
 * moving along its row (a tone mark) or between rows (a circumflex, breve
 * or horn).  Used by the enrolment name check (gateway/enrol/gw_valid_text.c)
 * and the merger's name key (gateway/merge/gw_merge_name.c).
 *
 * Constant tables and pure functions; safe from any thread.
 */
#ifndef SIMPKI_VIET_H
#define SIMPKI_VIET_H

#include <stdint.h>

enum viet_row {
    VIET_A,
    VIET_A_BREVE,
    VIET_A_CIRC,
    VIET_E,
    VIET_E_CIRC,
    VIET_I,
    VIET_O,
    VIET_O_CIRC,
    VIET_O_HORN,
    VIET_U,
    VIET_U_HORN,
    VIET_Y,
    VIET_ROWS
};

/* [row][tone]: "a à á ả ã ạ", ... "y ỳ ý ỷ ỹ ỵ"; the upper case in the same cell. */
extern const uint16_t viet_vowel_lower[VIET_ROWS][6];
extern const uint16_t viet_vowel_upper[VIET_ROWS][6];

/* 1 and *row, *tone when cp is a vowel of either case (tone 0: none); 0 otherwise. */
int viet_find_vowel(uint32_t cp, int *row, int *tone);

/* The tone (column, 1..5) a combining mark gives; U+0340/U+0341, the deprecated grave/acute, too.  0: not a tone mark.
 */
int viet_tone_of_mark(uint32_t cp);

/* 1 for the combining circumflex (U+0302), breve (U+0306) and horn (U+031B). */
int viet_is_modifier_mark(uint32_t cp);

/* The row a plain vowel's row moves to with a modifier mark (a + U+0306 -> ă), or -1. */
int viet_row_with_modifier(int row, uint32_t cp);

#endif /* SIMPKI_VIET_H */
