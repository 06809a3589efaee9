/*
 * gw_util.h - small helpers the gateway modules share: base64 through
 * OpenSSL's EVP encoder, the verification code, time.
 */
#ifndef SIMPKI_GW_UTIL_H
#define SIMPKI_GW_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the epoch (wall clock; deadlines are shared between hosts). */
int64_t gw_now_ms(void);

/*
 * Strict base64 decode (RFC 4648, padding required, no whitespace, and the
 * unused bits before the padding must be zero, so each value has one
 * encoding) into out.  "" decodes to 0 octets.  Returns the decoded length,
 * or -1 when the input is not base64 or would not fit in cap.
 */
long gw_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap);

/* base64 of in, malloc'd and NUL-terminated; caller frees.  NULL on OOM. */
char *gw_b64_encode(const uint8_t *in, size_t len);

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

#endif /* SIMPKI_GW_UTIL_H */
