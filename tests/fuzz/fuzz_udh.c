/*
 * fuzz_udh.c - UDH parsing and reassembly.  The input is a run of SMS user
 * data, each prefixed by one length octet, fed to one reassembler from two
 * senders; the whole input is also split and must reassemble to itself.
 */
#include <stdlib.h>
#include <string.h>

#include "car_ota.h"
#include "car_udh.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static void feed_all(const uint8_t *data, size_t size)
{
    struct udh_reasm *r = udh_reasm_new(3, 100);
    uint8_t out[OTA_MAX_PACKET];
    size_t pos = 0;
    uint64_t now = 0;

    REQUIRE(r != NULL);
    while (pos < size) {
        size_t len = data[pos++];
        struct udh_info in;
        size_t n = 0;
        int kind = 0;
        int rc;

        if (len > size - pos)
            len = size - pos;
        if (udh_parse(data + pos, len, &in) == CAR_OK)
            REQUIRE(in.payload + in.payload_len == data + pos + len);
        rc = udh_reasm_feed(r, (len & 1) ? "84912345678" : "84987654321", data + pos, len, now, out, sizeof out, &n,
                            &kind);
        REQUIRE(rc == UDH_FEED_DONE || rc == UDH_FEED_PARTIAL || rc == UDH_FEED_DUP || rc < 0);
        REQUIRE(rc != UDH_FEED_DONE || n <= sizeof out);
        REQUIRE(udh_reasm_pending(r) <= 3);
        now += 7;
        if (len % 5 == 0)
            udh_reasm_expire(r, now);
        pos += len;
    }
    udh_reasm_free(r);
}

static void split_join(const uint8_t *data, size_t size)
{
    static struct udh_segments segs;
    struct udh_reasm *r;
    uint8_t out[OTA_MAX_PACKET];
    size_t n = 0;
    int kind = 0;
    int rc = -1;

    if (udh_split(data, size, UDH_RESPONSE, (uint8_t)size, &segs) != CAR_OK)
        return;
    r = udh_reasm_new(1, 1000);
    REQUIRE(r != NULL);
    /* Last segment first, to exercise reordering. */
    for (size_t i = segs.count; i-- > 0;) {
        REQUIRE(segs.len[i] <= UDH_SEGMENT_MAX);
        rc = udh_reasm_feed(r, "84912345678", segs.ud[i], segs.len[i], 1, out, sizeof out, &n, &kind);
    }
    REQUIRE(rc == UDH_FEED_DONE && n == size && memcmp(out, data, size) == 0 && kind == UDH_RESPONSE);
    udh_reasm_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    feed_all(data, size);
    split_join(data, size);
    return 0;
}
