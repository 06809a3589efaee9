/*
 * gw_util.h - small helpers the gateway modules share: the verification
 * code, time, and a JSON object writer for the responses on the hot path
 * (base64 is config/util.h's util_b64_*, shared with carriers/).
 */
#ifndef SIMPKI_GW_UTIL_H
#define SIMPKI_GW_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch (wall clock; deadlines are shared between hosts). */
int64_t gw_now_ms(void);

/*
 * The verification code both the e-office screen and the phone show, so the
 * official can tell this request from any other (after Estonian Mobile-ID):
 *
 *     code = ((digest[0] >> 2) << 7) | (digest[len - 1] & 0x7F)
 *
 * i.e. the 6 high bits of the first octet and the 7 low bits of the last,
 * a number 0..8191 written as 4 decimal digits with leading zeros.  It is
 * computed over the digest the SIM signs.
 */
void gw_verification_code(const uint8_t *digest, size_t len, char out[5]);

/* txn_ref for SPKA/1: the 8 octets in hex positions 2..17 of a transaction id. */
int gw_txn_ref_from_id(const char *id, uint8_t ref[8]);

/*
 * A flat JSON object written straight into a growing buffer: what every
 * POST and GET of a signature answers, without building a jansson tree and
 * dumping it (measured: that was 15% of the gateway's CPU).  The text is what
 * json_dumps(JSON_COMPACT) would print for the same members in the same
 * order: strings escaped as jansson does ('"', '\\', control characters;
 * UTF-8 kept), and a string that is not valid UTF-8 is left out, as
 * json_string() would refuse it.  Keys are literals the caller knows to need
 * no escaping.
 *
 *     struct gw_json j;
 *     gw_json_begin(&j);
 *     gw_json_str(&j, "id", id);
 *     gw_json_int(&j, "etsi_status", 502);
 *     if (gw_json_end(&j) == 0) ... j.buf, j.len ...  (then free(j.buf))
 *
 * Out of memory is sticky: later calls do nothing and gw_json_end() returns
 * -1 with buf freed.
 */
struct gw_json {
    char *buf; /* malloc'd, NUL-terminated once gw_json_end() succeeds; the caller frees it */
    size_t len, cap;
    int err;     /* out of memory */
    int members; /* written so far, in the object being written */
};

void gw_json_begin(struct gw_json *j);
void gw_json_str(struct gw_json *j, const char *key, const char *val);
void gw_json_int(struct gw_json *j, const char *key, long long val);
/* The base64 of p (as util_b64_encode), as a string member. */
void gw_json_b64(struct gw_json *j, const char *key, const uint8_t *p, size_t n);
/*
 * A member whose value is an object ("receipt": {"at": ..., "message": ...}):
 * gw_json_obj_begin writes the key and "{" and returns what gw_json_obj_end
 * needs to close it; the calls in between write the inner object's members.
 */
int gw_json_obj_begin(struct gw_json *j, const char *key);
void gw_json_obj_end(struct gw_json *j, int outer);
/* Close the object and append "\n".  0, or -1 on out of memory (buf freed). */
int gw_json_end(struct gw_json *j);

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
int gw_utf8_valid(const char *s, size_t n);

#endif /* SIMPKI_GW_UTIL_H */
