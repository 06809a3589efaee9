/*
 * car_udh.h - 3GPP TS 23.040 user data header for SPKA/1 packets:
 * single messages with IEI 0x70 (command) / 0x71 (response) and
 * concatenation with IEI 0x00 (8-bit reference) or 0x08 (16-bit reference).
 *
 * Splitting (shared/specs/sim-applet-ota.md section 2):
 *   fits in 137 octets:   02 70 00 | packet
 *   first of several:     07 00 03 ref total 01 70 00 | up to 132 octets
 *   later segments:       05 00 03 ref total seq | up to 134 octets
 * A packet never exceeds 8 segments.
 *
 * Reassembly accepts segments out of order and duplicated, either reference
 * size, and drops incomplete sets after a timeout.  Memory per reassembler is
 * bounded (max_sets); the oldest set is evicted when it is full.
 */
#ifndef SIMPKI_CAR_UDH_H
#define SIMPKI_CAR_UDH_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"

#define UDH_MAX_SEGMENTS 8
#define UDH_SEGMENT_MAX  140 /* octets of user data in one SMS, UDH included */

enum udh_kind { UDH_COMMAND = 0x70, UDH_RESPONSE = 0x71 };

struct udh_segments {
    size_t count;
    size_t len[UDH_MAX_SEGMENTS];
    uint8_t ud[UDH_MAX_SEGMENTS][UDH_SEGMENT_MAX];
};

/* Split a packet into SMS user data.  CAR_ERR_TOO_LONG above 8 segments. */
enum car_err udh_split(const uint8_t *pkt, size_t len, enum udh_kind kind, uint8_t ref, struct udh_segments *out)
    __attribute__((warn_unused_result));

/* What a single message's UDH says; pointers into the input. */
struct udh_info {
    int concat;          /* 1 when a concatenation IE was present */
    unsigned ref;        /* 8- or 16-bit reference */
    unsigned total, seq; /* 1-based */
    int kind;            /* 0x70, 0x71, or 0 when no SPKA IE is present */
    const uint8_t *payload;
    size_t payload_len;
};

/*
 * Parse one message's user data (UDHI set).  Unknown IEs are skipped.
 * CAR_ERR_MALFORMED when UDHL or an IE overruns, total is 0 or above 8, or
 * seq is 0 or above total.
 */
enum car_err udh_parse(const uint8_t *ud, size_t len, struct udh_info *out) __attribute__((warn_unused_result));

struct udh_reasm;

/*
 * max_sets bounds memory (all sets are allocated here, about 1.2 KB each);
 * timeout_ms is how long an incomplete set is kept.  NULL when max_sets is 0
 * or out of memory.  Sets are keyed by originator + reference + total.
 */
struct udh_reasm *udh_reasm_new(size_t max_sets, uint64_t timeout_ms);
/* udh_reasm_free(NULL) does nothing. */
void udh_reasm_free(struct udh_reasm *r);

enum udh_feed {
    UDH_FEED_DONE = 0,    /* a whole packet is in out */
    UDH_FEED_PARTIAL = 1, /* kept, waiting for more segments */
    UDH_FEED_DUP = 2,     /* a segment already held: ignored */
};

/*
 * Feed one message from `from` (the originator's number) at time now_ms.
 * On UDH_FEED_DONE, out (cap octets; OTA_MAX_PACKET is enough for a
 * conforming sender) holds the packet, *outlen its length and *kind the
 * SPKA IE of the first segment.
 * Returns a negative enum car_err negated on error, e.g. -CAR_ERR_MALFORMED
 * (bad UDH), -CAR_ERR_TOO_LONG (out too small; the set is dropped),
 * -CAR_ERR_INVALID (NULL argument, `from` of 24 characters or more).
 * A message without concatenation IE (or with total 1) is DONE at once.
 * Sets past their timeout are expired first, so a late segment never joins
 * a stale set; when every slot is taken the oldest set is evicted.
 */
int udh_reasm_feed(struct udh_reasm *r, const char *from, const uint8_t *ud, size_t len, uint64_t now_ms, uint8_t *out,
                   size_t cap, size_t *outlen, int *kind);

/* Drop sets whose first segment is more than timeout_ms old; returns how many. */
size_t udh_reasm_expire(struct udh_reasm *r, uint64_t now_ms);

/* Sets currently held. */
size_t udh_reasm_pending(const struct udh_reasm *r);

#endif /* SIMPKI_CAR_UDH_H */
