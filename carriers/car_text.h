/*
 * car_text.h - display text for the SIM (SPKA/1 tag 0x83).
 *
 * The first octet is the coding: 0x04 = GSM 7-bit default alphabet, one
 * character per octet (unpacked), with the extension table through ESC 0x1B;
 * 0x08 = UCS2 big-endian.  GSM-7 is used when every character fits it,
 * UCS2 otherwise (Vietnamese with diacritics is UCS2).  At most
 * SPKA_MAX_TEXT (180) octets follow the coding octet: 180 GSM characters or
 * 90 UCS2 characters.  Characters outside the BMP cannot be shown and are
 * refused.
 */
#ifndef SIMPKI_CAR_TEXT_H
#define SIMPKI_CAR_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"

#define TEXT_CODING_GSM7 0x04
#define TEXT_CODING_UCS2 0x08

/*
 * Encode UTF-8 `utf8` as coding octet + text into out (cap >= 181 suffices).
 * Errors: CAR_ERR_MALFORMED for invalid UTF-8 or a control character other
 * than LF/CR, CAR_ERR_TOO_LONG when over the limit (the message in `why` says
 * by how much), CAR_ERR_UNSUPPORTED outside the BMP.  why may be NULL.
 */
enum car_err text_encode(const char *utf8, size_t len, uint8_t *out, size_t cap, size_t *outlen, char *why,
                         size_t whylen) __attribute__((warn_unused_result));

/*
 * Decode coding octet + text back to UTF-8 (for the simulator and the admin
 * decoder).  out is always NUL-terminated (cap counts the NUL); *outlen
 * excludes it.  An ESC followed by an octet the extension table lacks shows
 * the basic character (TS 23.038).  Errors: CAR_ERR_UNSUPPORTED for a coding
 * other than 0x04/0x08, CAR_ERR_MALFORMED for an octet >= 0x80 or a dangling
 * ESC in GSM, an odd length, NUL or a surrogate in UCS2, CAR_ERR_TOO_LONG
 * when out is too small (out is then "").
 */
enum car_err text_decode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_CAR_TEXT_H */
