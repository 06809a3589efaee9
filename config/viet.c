/*
 * viet.c - see viet.h.
 */
#include "viet.h"

#include <stddef.h>

const uint16_t viet_vowel_lower[VIET_ROWS][6] = {
    {0x0061, 0x00E0, 0x00E1, 0x1EA3, 0x00E3, 0x1EA1}, /* a à á ả ã ạ */
    {0x0103, 0x1EB1, 0x1EAF, 0x1EB3, 0x1EB5, 0x1EB7}, /* ă ằ ắ ẳ ẵ ặ */
    {0x00E2, 0x1EA7, 0x1EA5, 0x1EA9, 0x1EAB, 0x1EAD}, /* â ầ ấ ẩ ẫ ậ */
    {0x0065, 0x00E8, 0x00E9, 0x1EBB, 0x1EBD, 0x1EB9}, /* e è é ẻ ẽ ẹ */
    {0x00EA, 0x1EC1, 0x1EBF, 0x1EC3, 0x1EC5, 0x1EC7}, /* ê ề ế ể ễ ệ */
    {0x0069, 0x00EC, 0x00ED, 0x1EC9, 0x0129, 0x1ECB}, /* i ì í ỉ ĩ ị */
    {0x006F, 0x00F2, 0x00F3, 0x1ECF, 0x00F5, 0x1ECD}, /* o ò ó ỏ õ ọ */
    {0x00F4, 0x1ED3, 0x1ED1, 0x1ED5, 0x1ED7, 0x1ED9}, /* ô ồ ố ổ ỗ ộ */
    {0x01A1, 0x1EDD, 0x1EDB, 0x1EDF, 0x1EE1, 0x1EE3}, /* ơ ờ ớ ở ỡ ợ */
    {0x0075, 0x00F9, 0x00FA, 0x1EE7, 0x0169, 0x1EE5}, /* u ù ú ủ ũ ụ */
    {0x01B0, 0x1EEB, 0x1EE9, 0x1EED, 0x1EEF, 0x1EF1}, /* ư ừ ứ ử ữ ự */
    {0x0079, 0x1EF3, 0x00FD, 0x1EF7, 0x1EF9, 0x1EF5}, /* y ỳ ý ỷ ỹ ỵ */
};

const uint16_t viet_vowel_upper[VIET_ROWS][6] = {
    {0x0041, 0x00C0, 0x00C1, 0x1EA2, 0x00C3, 0x1EA0}, /* A À Á Ả Ã Ạ */
    {0x0102, 0x1EB0, 0x1EAE, 0x1EB2, 0x1EB4, 0x1EB6}, /* Ă Ằ Ắ Ẳ Ẵ Ặ */
    {0x00C2, 0x1EA6, 0x1EA4, 0x1EA8, 0x1EAA, 0x1EAC}, /* Â Ầ Ấ Ẩ Ẫ Ậ */
    {0x0045, 0x00C8, 0x00C9, 0x1EBA, 0x1EBC, 0x1EB8}, /* E È É Ẻ Ẽ Ẹ */
    {0x00CA, 0x1EC0, 0x1EBE, 0x1EC2, 0x1EC4, 0x1EC6}, /* Ê Ề Ế Ể Ễ Ệ */
    {0x0049, 0x00CC, 0x00CD, 0x1EC8, 0x0128, 0x1ECA}, /* I Ì Í Ỉ Ĩ Ị */
    {0x004F, 0x00D2, 0x00D3, 0x1ECE, 0x00D5, 0x1ECC}, /* O Ò Ó Ỏ Õ Ọ */
    {0x00D4, 0x1ED2, 0x1ED0, 0x1ED4, 0x1ED6, 0x1ED8}, /* Ô Ồ Ố Ổ Ỗ Ộ */
    {0x01A0, 0x1EDC, 0x1EDA, 0x1EDE, 0x1EE0, 0x1EE2}, /* Ơ Ờ Ớ Ở Ỡ Ợ */
    {0x0055, 0x00D9, 0x00DA, 0x1EE6, 0x0168, 0x1EE4}, /* U Ù Ú Ủ Ũ Ụ */
    {0x01AF, 0x1EEA, 0x1EE8, 0x1EEC, 0x1EEE, 0x1EF0}, /* Ư Ừ Ứ Ử Ữ Ự */
    {0x0059, 0x1EF2, 0x00DD, 0x1EF6, 0x1EF8, 0x1EF4}, /* Y Ỳ Ý Ỷ Ỹ Ỵ */
};

/* Combining tone marks (NFD) by column; U+0340/U+0341 are the deprecated grave/acute NFC maps too. */
int viet_tone_of_mark(uint32_t cp)
{
    switch (cp) {
    case 0x0300:
    case 0x0340: return 1;
    case 0x0301:
    case 0x0341: return 2;
    case 0x0309: return 3;
    case 0x0303: return 4;
    case 0x0323: return 5;
    default: return 0;
    }
}

/* Combining circumflex, breve and horn: the row a plain vowel moves to, or -1. */
int viet_row_with_modifier(int row, uint32_t cp)
{
    static const struct {
        int from;
        uint32_t mark;
        int to;
    } moves[] = {
        {VIET_A, 0x0306, VIET_A_BREVE}, {VIET_A, 0x0302, VIET_A_CIRC}, {VIET_E, 0x0302, VIET_E_CIRC},
        {VIET_O, 0x0302, VIET_O_CIRC},  {VIET_O, 0x031B, VIET_O_HORN}, {VIET_U, 0x031B, VIET_U_HORN},
    };

    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
        if (moves[i].from == row && moves[i].mark == cp)
            return moves[i].to;
    }
    return -1;
}

int viet_is_modifier_mark(uint32_t cp)
{
    return cp == 0x0302 || cp == 0x0306 || cp == 0x031B;
}

int viet_find_vowel(uint32_t cp, int *row, int *tone)
{
    for (int r = 0; r < VIET_ROWS; r++) {
        for (int t = 0; t < 6; t++) {
            if (viet_vowel_lower[r][t] == cp || viet_vowel_upper[r][t] == cp) {
                *row = r;
                *tone = t;
                return 1;
            }
        }
    }
    return 0;
}
