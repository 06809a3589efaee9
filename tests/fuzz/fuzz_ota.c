/*
 * fuzz_ota.c - secured packet unwrapping with the vector keys (so the seeds
 * built from the vectors reach past the CC).  Anything accepted must
 * re-wrap to the very same octets: a packet has one valid form.
 */
#include <stdlib.h>
#include <string.h>

#include "car_ota.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static const uint8_t mk[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

static void response(const struct ota_keys *k, const uint8_t *data, size_t size)
{
    uint8_t plain[OTA_MAX_PACKET], again[OTA_MAX_PACKET];
    struct ota_response r;
    size_t n = 0;

    if (ota_unwrap_response(k, data, size, plain, sizeof plain, &r) != CAR_OK)
        return;
    REQUIRE(r.data >= plain && r.data + r.data_len <= plain + sizeof plain);
    REQUIRE(ota_wrap_response(k, r.cntr, r.status, r.data, r.data_len, again, sizeof again, &n) == CAR_OK);
    REQUIRE(n == size && memcmp(again, data, n) == 0);
}

static void command(const struct ota_keys *k, const uint8_t *data, size_t size)
{
    uint8_t plain[OTA_MAX_PACKET], again[OTA_MAX_PACKET];
    struct ota_command c;
    size_t n = 0;

    if (ota_unwrap_command(k, data, size, plain, sizeof plain, &c) != CAR_OK)
        return;
    REQUIRE(ota_wrap_command(k, c.cntr, c.data, c.data_len, again, sizeof again, &n) == CAR_OK);
    REQUIRE(n == size && memcmp(again, data, n) == 0);
}

/* The input as application data: wrap then unwrap gives it back. */
static void roundtrip(const struct ota_keys *k, const uint8_t *data, size_t size)
{
    uint8_t pkt[OTA_MAX_PACKET], plain[OTA_MAX_PACKET];
    struct ota_command c;
    size_t n = 0;

    if (ota_wrap_command(k, 42, data, size, pkt, sizeof pkt, &n) != CAR_OK)
        return;
    REQUIRE(ota_unwrap_command(k, pkt, n, plain, sizeof plain, &c) == CAR_OK);
    REQUIRE(c.cntr == 42 && c.data_len == size && (size == 0 || memcmp(c.data, data, size) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_keys k;
    uint8_t tar[3];
    size_t claimed;

    if (ota_diversify(mk, "8984040000000000019", 1, &k) != CAR_OK)
        abort();
    (void)ota_peek(data, size, 0, tar, &claimed);
    (void)ota_peek(data, size, 1, tar, &claimed);
    response(&k, data, size);
    command(&k, data, size);
    roundtrip(&k, data, size);
    ota_keys_wipe(&k);
    return 0;
}
