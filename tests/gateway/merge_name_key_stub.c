/*
 * merge_name_key_stub.c - TEMPORARY: gw_merge_name_key() for test_merge_rules
 * until gateway/merge/gw_merge_input.c (another engineer's) is on main.
 * tests/gateway/CMakeLists.txt builds it only while that file is missing;
 * delete it then.  Enough of the key for the fixture: lower case for ASCII,
 * Latin-1, Latin Extended-A (Ă Đ Ĩ Ũ Ơ Ư) and the Vietnamese letters of
 * Latin Extended Additional; spaces collapsed and trimmed.  No NFC.
 */
#include <stddef.h>
#include <stdint.h>

#include "gw_merge_input.h"

static uint32_t lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if (c == 0x1AF) /* Ư */
        return 0x1B0;
    if (c >= 0x100 && c <= 0x1A0 && c % 2 == 0)
        return c + 1;
    if (c >= 0x1EA0 && c <= 0x1EF9 && c % 2 == 0)
        return c + 1;
    return c;
}

void gw_merge_name_key(const char *name, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)(name ? name : "");
    size_t n = 0;
    int space = 0;

    if (cap == 0)
        return;
    while (*s) {
        uint32_t c;
        int len;
        if (*s < 0x80) {
            c = *s;
            len = 1;
        } else if ((*s & 0xE0) == 0xC0 && s[1]) {
            c = ((uint32_t)(*s & 0x1F) << 6) | (s[1] & 0x3F);
            len = 2;
        } else if ((*s & 0xF0) == 0xE0 && s[1] && s[2]) {
            c = ((uint32_t)(*s & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
            len = 3;
        } else {
            c = 0xFFFD;
            len = 1;
        }
        s += len;
        if (c == ' ' || c == '\t') {
            space = n > 0;
            continue;
        }
        c = lower(c);
        if (n + 4 + space >= cap)
            break;
        if (space)
            out[n++] = ' ';
        space = 0;
        if (c < 0x80) {
            out[n++] = (char)c;
        } else if (c < 0x800) {
            out[n++] = (char)(0xC0 | (c >> 6));
            out[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            out[n++] = (char)(0xE0 | (c >> 12));
            out[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            out[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    out[n] = '\0';
}
