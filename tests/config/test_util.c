/* test_util.c - config/util.h: hex digits both ways and FNV-1a's published vectors. */
#include <string.h>

#include "check.h"
#include "util.h"

int main(void)
{
    static const uint8_t d[] = {0x00, 0x0f, 0xa5, 0xff};
    char out[2 * sizeof d + 1], out21[21];

    memset(out, 'z', sizeof out);
    CHECK(util_hex(d, sizeof d, out) == out);
    CHECK_EQ_STR(out, "000fa5ff");
    CHECK_EQ_STR(util_hex(d, 0, out), "");

    CHECK_EQ_INT(util_hexval('0'), 0);
    CHECK_EQ_INT(util_hexval('9'), 9);
    CHECK_EQ_INT(util_hexval('a'), 10);
    CHECK_EQ_INT(util_hexval('f'), 15);
    CHECK_EQ_INT(util_hexval('A'), -1); /* ids are lower case */
    CHECK_EQ_INT(util_hexval('g'), -1);
    CHECK_EQ_INT(util_hexval('/'), -1);
    CHECK_EQ_INT(util_hexval(':'), -1);
    CHECK_EQ_INT(util_hexval('\x10'), -1);
    CHECK_EQ_INT(util_hexval_any('A'), 10);
    CHECK_EQ_INT(util_hexval_any('F'), 15);
    CHECK_EQ_INT(util_hexval_any('c'), 12);
    CHECK_EQ_INT(util_hexval_any('G'), -1);
    CHECK_EQ_INT(util_hexval_any('@'), -1);

    /* FNV-1a 32 test vectors (Fowler/Noll/Vo): the shard of every stored subscriber depends on them. */
    CHECK_EQ_INT(util_fnv1a(""), 0x811c9dc5u);
    CHECK_EQ_INT(util_fnv1a(NULL), 0x811c9dc5u);
    CHECK_EQ_INT(util_fnv1a("a"), 0xe40c292cu);
    CHECK_EQ_INT(util_fnv1a("foobar"), 0xbf9cf968u);

    /* xs:dateTime / RFC 3339 in UTC, as the MSSP simulator and the gateway write them. */
    CHECK_EQ_STR(util_iso8601(0, out21), "1970-01-01T00:00:00Z");
    CHECK_EQ_STR(util_iso8601(1796327067, out21), "2026-12-03T19:44:27Z");
    return check_report("test_util");
}
