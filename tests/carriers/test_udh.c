/*
 * test_udh.c - splitting exactly as the vectors, and reassembly of what a
 * network really delivers: reordered, duplicated, 16-bit references, sets
 * that never complete, and more senders than the reassembler holds.
 */
#include "car_udh.h"

#include <string.h>

#include "car_ota.h"
#include "check.h"
#include "vectors.h"

static const char *sub = "84912345678";

static void test_split_vectors(json_t *v)
{
    static const struct {
        const char *name, *pkt_key;
        enum udh_kind kind;
        uint8_t ref;
    } cases[] = {
        {"sign_command", "secured_packet", UDH_COMMAND, 0x2a},
        {"sign_por_ok", "response_packet", UDH_RESPONSE, 0x07},
        {"sign_por_user_cancel", "response_packet", UDH_RESPONSE, 0x00},
    };
    uint8_t pkt[OTA_MAX_PACKET], ud[200];
    struct udh_segments segs;

    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        long pl = vec_hex(v, cases[c].name, cases[c].pkt_key, pkt, sizeof pkt);
        CHECK_EQ_INT(udh_split(pkt, (size_t)pl, cases[c].kind, cases[c].ref, &segs), CAR_OK);
        CHECK_EQ_INT(segs.count, vec_count(v, cases[c].name, "sms_user_data"));
        for (size_t i = 0; i < segs.count; i++) {
            long l = vec_hex_at(v, cases[c].name, "sms_user_data", i, ud, sizeof ud);
            CHECK_EQ_INT(segs.len[i], l);
            CHECK_MEM(segs.ud[i], ud, (size_t)l);
        }
    }
}

static void test_split_limits(void)
{
    static uint8_t pkt[1200];
    struct udh_segments segs;

    CHECK_EQ_INT(udh_split(pkt, 137, UDH_COMMAND, 1, &segs), CAR_OK);
    CHECK_EQ_INT(segs.count, 1);
    CHECK_EQ_INT(segs.len[0], 140);
    CHECK_EQ_INT(udh_split(pkt, 138, UDH_COMMAND, 1, &segs), CAR_OK);
    CHECK_EQ_INT(segs.count, 2);
    CHECK_EQ_INT(udh_split(pkt, 1070, UDH_COMMAND, 1, &segs), CAR_OK);
    CHECK_EQ_INT(segs.count, 8);
    CHECK_EQ_INT(segs.len[7], 140);
    CHECK_EQ_INT(udh_split(pkt, 1071, UDH_COMMAND, 1, &segs), CAR_ERR_TOO_LONG); /* 9 segments */
    CHECK_EQ_INT(udh_split(pkt, 0, UDH_COMMAND, 1, &segs), CAR_ERR_INVALID);
    CHECK_EQ_INT(udh_split(pkt, 10, (enum udh_kind)0x72, 1, &segs), CAR_ERR_INVALID);
}

static int feed_hex(struct udh_reasm *r, const char *from, const char *hex, uint64_t now, uint8_t *out, size_t *n,
                    int *kind)
{
    uint8_t ud[300];
    long l = check_unhex(hex, ud, sizeof ud);

    CHECK(l >= 0);
    return udh_reasm_feed(r, from, ud, (size_t)l, now, out, OTA_MAX_PACKET, n, kind);
}

static void test_parse_errors(void)
{
    static const char *bad[] = {
        "",           /* nothing */
        "05000301",   /* UDHL overruns */
        "0500030102", /* still overruns */
        "03000301aa", /* IE overruns UDH */
        "0500030100"
        "01aa", /* total 0 */
        "0500030102"
        "03aa", /* seq > total */
        "0500030102"
        "00aa", /* seq 0 */
        "0500030109"
        "01aa",           /* total 9 */
        "050803000102aa", /* 16-bit IE of 3 octets */
        "0a000301020100030102"
        "02aa", /* two concatenation IEs */
        "01"
        "00", /* IE header cut */
    };
    struct udh_info in;
    uint8_t ud[64];

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        long l = check_unhex(bad[i], ud, sizeof ud);
        CHECK_EQ_INT(udh_parse(ud, (size_t)l, &in), CAR_ERR_MALFORMED);
    }
    /* Unknown IEs are skipped; a 16-bit reference is read whole. */
    CHECK_EQ_INT(check_unhex("0c2402aabb0804123402027100cafe", ud, sizeof ud), 15);
    CHECK_EQ_INT(udh_parse(ud, 15, &in), CAR_OK);
    CHECK_EQ_INT(in.concat, 1);
    CHECK_EQ_INT(in.ref, 0x1234);
    CHECK_EQ_INT(in.total, 2);
    CHECK_EQ_INT(in.seq, 2);
    CHECK_EQ_INT(in.kind, 0x71);
    CHECK_EQ_INT(in.payload_len, 2);
}

static void test_reasm_vectors(json_t *v)
{
    uint8_t ud[3][200], pkt[OTA_MAX_PACKET], out[OTA_MAX_PACKET];
    long l[3];
    long pl = vec_hex(v, "sign_por_ok", "response_packet", pkt, sizeof pkt);
    struct udh_reasm *r = udh_reasm_new(4, 30000);
    size_t n = 0;
    int kind = 0;

    for (size_t i = 0; i < 3; i++)
        l[i] = vec_hex_at(v, "sign_por_ok", "sms_user_data", i, ud[i], sizeof ud[i]);
    /* Out of order with a duplicate: 3, 1, 3, 2. */
    CHECK_EQ_INT(udh_reasm_feed(r, sub, ud[2], (size_t)l[2], 10, out, sizeof out, &n, &kind), UDH_FEED_PARTIAL);
    CHECK_EQ_INT(udh_reasm_feed(r, sub, ud[0], (size_t)l[0], 11, out, sizeof out, &n, &kind), UDH_FEED_PARTIAL);
    CHECK_EQ_INT(udh_reasm_feed(r, sub, ud[2], (size_t)l[2], 12, out, sizeof out, &n, &kind), UDH_FEED_DUP);
    /* The same reference from another sender is another set. */
    CHECK_EQ_INT(udh_reasm_feed(r, "84987654321", ud[1], (size_t)l[1], 12, out, sizeof out, &n, &kind),
                 UDH_FEED_PARTIAL);
    CHECK_EQ_INT(udh_reasm_pending(r), 2);
    CHECK_EQ_INT(udh_reasm_feed(r, sub, ud[1], (size_t)l[1], 13, out, sizeof out, &n, &kind), UDH_FEED_DONE);
    CHECK_EQ_INT(n, pl);
    CHECK_MEM(out, pkt, (size_t)pl);
    CHECK_EQ_INT(kind, UDH_RESPONSE);
    CHECK_EQ_INT(udh_reasm_pending(r), 1);
    /* Too small an output buffer: refused, and the set is not kept. */
    udh_reasm_feed(r, sub, ud[0], (size_t)l[0], 20, out, sizeof out, &n, &kind);
    udh_reasm_feed(r, sub, ud[1], (size_t)l[1], 20, out, sizeof out, &n, &kind);
    CHECK_EQ_INT(udh_reasm_feed(r, sub, ud[2], (size_t)l[2], 20, out, 100, &n, &kind), -CAR_ERR_TOO_LONG);
    udh_reasm_free(r);
}

static void test_reasm_16bit_expire_evict(void)
{
    struct udh_reasm *r = udh_reasm_new(2, 1000);
    uint8_t out[OTA_MAX_PACKET];
    size_t n = 0;
    int kind = 0;

    /* 16-bit reference, second part first. */
    CHECK_EQ_INT(feed_hex(r, sub, "0608041234020203", 0, out, &n, &kind), UDH_FEED_PARTIAL);
    CHECK_EQ_INT(feed_hex(r, sub, "0808041234020171000102", 5, out, &n, &kind), UDH_FEED_DONE);
    CHECK_EQ_INT(n, 3);
    CHECK_MEM(out, "\x01\x02\x03", 3);
    CHECK_EQ_INT(kind, UDH_RESPONSE);

    /* An incomplete set is dropped by expire, after the timeout only. */
    CHECK_EQ_INT(feed_hex(r, sub, "0500035502017100aa", 100, out, &n, &kind), UDH_FEED_PARTIAL);
    CHECK_EQ_INT(udh_reasm_expire(r, 1100), 0);
    CHECK_EQ_INT(udh_reasm_pending(r), 1);
    CHECK_EQ_INT(udh_reasm_expire(r, 1101), 1);
    CHECK_EQ_INT(udh_reasm_pending(r), 0);
    /* The late second half now starts a new set instead of completing junk. */
    CHECK_EQ_INT(feed_hex(r, sub, "050003550202bb", 1200, out, &n, &kind), UDH_FEED_PARTIAL);

    /* Bounded memory: a third set evicts the oldest. */
    CHECK_EQ_INT(feed_hex(r, "841", "05000301020100", 1300, out, &n, &kind), UDH_FEED_PARTIAL);
    CHECK_EQ_INT(udh_reasm_pending(r), 2);
    CHECK_EQ_INT(feed_hex(r, "842", "05000301020100", 1400, out, &n, &kind), UDH_FEED_PARTIAL);
    CHECK_EQ_INT(udh_reasm_pending(r), 2);
    /* The evicted set was sub's ref 0x55: its first half starts over. */
    CHECK_EQ_INT(feed_hex(r, sub, "0500035502017100aa", 1500, out, &n, &kind), UDH_FEED_PARTIAL);

    /* Errors come back negated. */
    CHECK_EQ_INT(feed_hex(r, sub, "0500030100aa", 1600, out, &n, &kind), -CAR_ERR_MALFORMED);
    CHECK_EQ_INT(feed_hex(r, sub, "0500030103aa", 1600, out, &n, &kind), -CAR_ERR_MALFORMED);
    CHECK_EQ_INT(udh_reasm_feed(r, NULL, out, 1, 0, out, sizeof out, &n, &kind), -CAR_ERR_INVALID);
    /* A single message passes straight through. */
    CHECK_EQ_INT(feed_hex(r, sub, "027000c0ffee", 1700, out, &n, &kind), UDH_FEED_DONE);
    CHECK_EQ_INT(kind, UDH_COMMAND);
    CHECK_EQ_INT(n, 3);
    udh_reasm_free(r);
    udh_reasm_free(NULL);
    CHECK(udh_reasm_new(0, 1000) == NULL);
}

int main(void)
{
    json_t *v = vec_load();

    CHECK(v != NULL);
    if (v) {
        test_split_vectors(v);
        test_reasm_vectors(v);
    }
    test_split_limits();
    test_parse_errors();
    test_reasm_16bit_expire_evict();
    json_decref(v);
    return check_report("test_udh");
}
