/*
 * fuzz_text.c - UTF-8 validation and display text coding.  Text that
 * encodes must decode to exactly the input; decoding never overruns.
 */
#include <stdlib.h>
#include <string.h>

#include "car_text.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t enc[200];
    char dec[800];
    char why[96];
    size_t n = 0;
    size_t m = 0;

    if (text_encode((const char *)data, size, enc, sizeof enc, &n, why, sizeof why) == CAR_OK) {
        REQUIRE(n >= 1 && n <= 181);
        REQUIRE(text_decode(enc, n, dec, sizeof dec, &m) == CAR_OK);
        REQUIRE(m == size && (size == 0 || memcmp(dec, data, size) == 0));
    }
    if (text_decode(data, size, dec, sizeof dec, &m) == CAR_OK)
        REQUIRE(m < sizeof dec && dec[m] == '\0');
    return 0;
}
