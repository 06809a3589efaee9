/*
 * car_udh.c - TS 23.040 user data headers: split, parse, reassemble.
 *
 * Segments come from the network in any order, possibly twice, possibly
 * never complete; anyone can send us an MO, so the reassembler holds a fixed
 * number of sets allocated up front and evicts the oldest rather than grow.
 */
#include "car_udh.h"

#include <stdlib.h>
#include <string.h>

#define SINGLE_MAX   137 /* 140 - "02 70 00" */
#define FIRST_MAX    132 /* 140 - "07 00 03 ref total 01 70 00" */
#define LATER_MAX    134 /* 140 - "05 00 03 ref total seq" */
#define IEI_CONCAT8  0x00
#define IEI_CONCAT16 0x08
#define FROM_MAX     24

enum car_err udh_split(const uint8_t *pkt, size_t len, enum udh_kind kind, uint8_t ref, struct udh_segments *out)
{
    size_t total, off, n;

    if (!pkt || !len || !out || (kind != UDH_COMMAND && kind != UDH_RESPONSE))
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len <= SINGLE_MAX) {
        uint8_t *ud = out->ud[0];
        ud[0] = 0x02;
        ud[1] = (uint8_t)kind;
        ud[2] = 0x00;
        memcpy(ud + 3, pkt, len);
        out->len[0] = 3 + len;
        out->count = 1;
        return CAR_OK;
    }
    total = 1 + (len - FIRST_MAX + LATER_MAX - 1) / LATER_MAX;
    if (total > UDH_MAX_SEGMENTS)
        return CAR_ERR_TOO_LONG;
    off = 0;
    for (size_t seq = 1; seq <= total; seq++) {
        uint8_t *ud = out->ud[seq - 1];
        size_t h = 0;
        ud[h++] = seq == 1 ? 0x07 : 0x05;
        ud[h++] = IEI_CONCAT8;
        ud[h++] = 0x03;
        ud[h++] = ref;
        ud[h++] = (uint8_t)total;
        ud[h++] = (uint8_t)seq;
        if (seq == 1) {
            ud[h++] = (uint8_t)kind;
            ud[h++] = 0x00;
        }
        n = len - off;
        if (n > UDH_SEGMENT_MAX - h)
            n = UDH_SEGMENT_MAX - h;
        memcpy(ud + h, pkt + off, n);
        off += n;
        out->len[seq - 1] = h + n;
    }
    out->count = total;
    return CAR_OK;
}

/* One concatenation IE; a second one in the same header is malformed. */
static enum car_err parse_concat(const uint8_t *v, size_t n, int wide, struct udh_info *out)
{
    if (out->concat || n != (wide ? 4u : 3u))
        return CAR_ERR_MALFORMED;
    out->concat = 1;
    out->ref = wide ? ((unsigned)v[0] << 8) | v[1] : v[0];
    out->total = v[wide ? 2 : 1];
    out->seq = v[wide ? 3 : 2];
    if (out->total == 0 || out->total > UDH_MAX_SEGMENTS || out->seq == 0 || out->seq > out->total)
        return CAR_ERR_MALFORMED;
    return CAR_OK;
}

enum car_err udh_parse(const uint8_t *ud, size_t len, struct udh_info *out)
{
    size_t udhl, pos = 1;
    enum car_err rc = CAR_OK;

    if (!ud || !out)
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len < 1 || (size_t)ud[0] + 1 > len)
        return CAR_ERR_MALFORMED;
    udhl = ud[0];
    while (pos < 1 + udhl && rc == CAR_OK) {
        uint8_t iei;
        size_t iel;

        if (1 + udhl - pos < 2)
            return CAR_ERR_MALFORMED;
        iei = ud[pos];
        iel = ud[pos + 1];
        pos += 2;
        if (iel > 1 + udhl - pos)
            return CAR_ERR_MALFORMED;
        if (iei == IEI_CONCAT8 || iei == IEI_CONCAT16)
            rc = parse_concat(ud + pos, iel, iei == IEI_CONCAT16, out);
        else if (iei == UDH_COMMAND || iei == UDH_RESPONSE)
            out->kind = iei;
        pos += iel;
    }
    if (rc != CAR_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->payload = ud + 1 + udhl;
    out->payload_len = len - 1 - udhl;
    return CAR_OK;
}

/* ---- reassembly ---- */

struct udh_set {
    int used;
    char from[FROM_MAX];
    unsigned ref, total;
    int kind;
    uint64_t first_ms;
    unsigned have; /* bit (seq - 1) set when held */
    size_t len[UDH_MAX_SEGMENTS];
    uint8_t data[UDH_MAX_SEGMENTS][UDH_SEGMENT_MAX];
};

struct udh_reasm {
    size_t max_sets;
    uint64_t timeout_ms;
    struct udh_set *sets;
};

struct udh_reasm *udh_reasm_new(size_t max_sets, uint64_t timeout_ms)
{
    struct udh_reasm *r;

    if (max_sets == 0)
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->sets = calloc(max_sets, sizeof *r->sets);
    if (!r->sets) {
        free(r);
        return NULL;
    }
    r->max_sets = max_sets;
    r->timeout_ms = timeout_ms;
    return r;
}

void udh_reasm_free(struct udh_reasm *r)
{
    if (!r)
        return;
    free(r->sets);
    free(r);
}

size_t udh_reasm_expire(struct udh_reasm *r, uint64_t now_ms)
{
    size_t dropped = 0;

    if (!r)
        return 0;
    for (size_t i = 0; i < r->max_sets; i++) {
        struct udh_set *s = &r->sets[i];
        if (s->used && now_ms > s->first_ms && now_ms - s->first_ms > r->timeout_ms) {
            s->used = 0;
            dropped++;
        }
    }
    return dropped;
}

size_t udh_reasm_pending(const struct udh_reasm *r)
{
    size_t n = 0;

    if (!r)
        return 0;
    for (size_t i = 0; i < r->max_sets; i++)
        n += r->sets[i].used ? 1 : 0;
    return n;
}

static int set_matches(const struct udh_set *s, const char *from, const struct udh_info *in)
{
    return s->used && s->ref == in->ref && s->total == in->total && strcmp(s->from, from) == 0;
}

/* The set for this segment: existing, a free slot, or the oldest evicted. */
static struct udh_set *find_set(struct udh_reasm *r, const char *from, const struct udh_info *in, uint64_t now_ms)
{
    struct udh_set *victim = NULL;

    for (size_t i = 0; i < r->max_sets; i++) {
        if (set_matches(&r->sets[i], from, in))
            return &r->sets[i];
    }
    for (size_t i = 0; i < r->max_sets; i++) {
        struct udh_set *s = &r->sets[i];
        if (!s->used) {
            victim = s;
            break;
        }
        if (!victim || s->first_ms < victim->first_ms)
            victim = s;
    }
    memset(victim, 0, sizeof *victim);
    victim->used = 1;
    memcpy(victim->from, from, strlen(from) + 1);
    victim->ref = in->ref;
    victim->total = in->total;
    victim->first_ms = now_ms;
    return victim;
}

/* Concatenate a complete set into out and release it. */
static int emit_set(struct udh_set *s, uint8_t *out, size_t cap, size_t *outlen, int *kind)
{
    size_t n = 0;

    for (unsigned i = 0; i < s->total; i++)
        n += s->len[i];
    if (n > cap) {
        s->used = 0;
        return -CAR_ERR_TOO_LONG;
    }
    n = 0;
    for (unsigned i = 0; i < s->total; i++) {
        memcpy(out + n, s->data[i], s->len[i]);
        n += s->len[i];
    }
    *outlen = n;
    *kind = s->kind;
    s->used = 0;
    return UDH_FEED_DONE;
}

int udh_reasm_feed(struct udh_reasm *r, const char *from, const uint8_t *ud, size_t len, uint64_t now_ms, uint8_t *out,
                   size_t cap, size_t *outlen, int *kind)
{
    struct udh_info in;
    struct udh_set *s;
    unsigned bit;

    if (!r || !from || !out || !outlen || !kind || strlen(from) >= FROM_MAX)
        return -CAR_ERR_INVALID;
    *outlen = 0;
    *kind = 0;
    if (udh_parse(ud, len, &in) != CAR_OK || in.payload_len > UDH_SEGMENT_MAX)
        return -CAR_ERR_MALFORMED;
    if (!in.concat || in.total == 1) {
        if (in.payload_len > cap)
            return -CAR_ERR_TOO_LONG;
        memcpy(out, in.payload, in.payload_len);
        *outlen = in.payload_len;
        *kind = in.kind;
        return UDH_FEED_DONE;
    }
    /* A stale set must not absorb a new message that reuses its reference. */
    udh_reasm_expire(r, now_ms);
    s = find_set(r, from, &in, now_ms);
    bit = 1u << (in.seq - 1);
    if (s->have & bit)
        return UDH_FEED_DUP;
    s->have |= bit;
    s->len[in.seq - 1] = in.payload_len;
    memcpy(s->data[in.seq - 1], in.payload, in.payload_len);
    if (in.seq == 1)
        s->kind = in.kind;
    if (s->have != (1u << s->total) - 1)
        return UDH_FEED_PARTIAL;
    return emit_set(s, out, cap, outlen, kind);
}
