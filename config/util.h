/*
 * util.h - small low-level helpers every library may use (config/ sits below
 * carriers/, signer/, queue/ and gateway/), kept here so that each exists once:
 * hex digits, the FNV-1a string hash used for shards and hash tables, UTF-8
 * decoding,
 * strict base64 through OpenSSL's EVP encoder, and UTC timestamps as ISO 8601.
 *
 * Pure functions, no state; safe from any thread.  Only the base64 functions
 * allocate (say so below).
 */
#ifndef SIMPKI_UTIL_H
#define SIMPKI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * The 2*n lower-case hex digits of d[0..n) into out, then a NUL: out holds
 * at least 2*n + 1 chars.  Returns out.
 */
char *util_hex(const uint8_t *d, size_t n, char *out);

/* The value of a lower-case hex digit ('0'-'9', 'a'-'f'), or -1: our ids are lower case. */
int util_hexval(char c);

/* The same, accepting either case (input typed or pasted by people). */
int util_hexval_any(char c);

/*
 * 32-bit FNV-1a of the NUL-terminated string s (NULL hashes as "").  Stable:
 * queue/ derives a subscriber's shard from it, so it must never change.
 */
uint32_t util_fnv1a(const char *s);

/*
 * The code point of the UTF-8 sequence at s[*i] (s holds n octets), *i moved
 * past it.  0, or -1 (nothing moved) on anything RFC 3629 forbids: a stray
 * or missing continuation octet, an overlong form, a surrogate, past U+10FFFF.
 */
int util_utf8_next(const unsigned char *s, size_t n, size_t *i, uint32_t *cp);

/* The UTF-8 of code point cp (at most U+10FFFF, not a surrogate) into out; returns its length, 1 to 4. */
size_t util_utf8_put(uint32_t cp, char out[4]);

/*
 * Strict base64 decode (RFC 4648, padding required, no whitespace, and the
 * unused bits before the padding must be zero, so each value has one
 * encoding) into out.  "" decodes to 0 octets.  Returns the decoded length,
 * or -1 when the input is not base64 or would not fit in cap.
 */
long util_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap);

/* base64 of in, malloc'd and NUL-terminated; caller frees.  NULL on OOM. */
char *util_b64_encode(const uint8_t *in, size_t len);

/*
 * t as "2026-12-05T19:44:27Z" (UTC, seconds, xs:dateTime and RFC 3339) into
 * out, which holds at least 21 chars.  Returns out.
 */
char *util_iso8601(time_t t, char out[21]);

#endif /* SIMPKI_UTIL_H */
