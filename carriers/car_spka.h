/*
 * car_spka.h - SPKA/1 application data (shared/specs/sim-applet-ota.md s.4).
 *
 *   command:  version=0x01 command txn_ref(8) TLV...
 *   response: version=0x01 command txn_ref(8) result TLV...
 *
 * TLV = tag(1) BER definite length (00-7F, 81 xx, 82 xx xx) value.  Unknown
 * tags are skipped.  Decoders never read past `len`, reject lengths that
 * overrun the buffer, non-minimal is accepted, indefinite (0x80) and longer
 * forms are refused.  Decoded pointers point into the input buffer.
 */
#ifndef SIMPKI_CAR_SPKA_H
#define SIMPKI_CAR_SPKA_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"

#define SPKA_VERSION  0x01
#define SPKA_MAX_TEXT 180 /* octets of display text after the coding octet */

enum spka_cmd { SPKA_SIGN = 0x01, SPKA_GENKEY = 0x02, SPKA_PUTCERT = 0x03, SPKA_INFO = 0x04 };

enum spka_result {
    SPKA_OK = 0x00,
    SPKA_USER_CANCEL = 0x01,
    SPKA_USER_TIMEOUT = 0x02,
    SPKA_PIN_BLOCKED = 0x03,
    SPKA_CARD_BLOCKED = 0x04,
    SPKA_NO_KEY = 0x05,
    SPKA_KEY_EXISTS = 0x06,
    SPKA_BAD_COMMAND = 0x07,
    SPKA_UNSUPPORTED = 0x08,
    SPKA_STORAGE_FULL = 0x09,
    SPKA_INTERNAL_ERROR = 0x0F,
};

enum spka_tag {
    SPKA_T_KEY_REF = 0x80,
    SPKA_T_DIGEST_ALG = 0x81,
    SPKA_T_DIGEST = 0x82,
    SPKA_T_TEXT = 0x83,
    SPKA_T_VC = 0x84,
    SPKA_T_TIMEOUT = 0x85,
    SPKA_T_KEY_ALG = 0x86,
    SPKA_T_CERT = 0x87,
    SPKA_T_SIGNATURE = 0x90,
    SPKA_T_SPKI = 0x91,
    SPKA_T_VERSION = 0x92,
    SPKA_T_PIN_TRIES = 0x93,
    SPKA_T_KEY_REFS = 0x94,
};

enum spka_digest { SPKA_SHA256 = 1, SPKA_SHA384 = 2, SPKA_SHA512 = 3 };

/* Digest length for an spka_digest code, 0 when unknown. */
size_t spka_digest_len(uint8_t alg);

/* The SPKA/1 code of a model digest, 0 when SPKA/1 has none; and back (DG_NONE). */
uint8_t spka_digest_code(enum dg_alg alg);
enum dg_alg spka_digest_alg(uint8_t code);

/*
 * What a SIM's answer means for the gateway: the PoR status of the secured
 * packet (TS 102 225), then, when it is OK, the SPKA/1 result.  PoR
 * CNTR_LOW -> CAR_OUT_COUNTER_LOW, MORE_TIME -> CAR_OUT_MORE_TIME, any other
 * refusal -> CAR_OUT_OTA_ERROR; results one to one, INTERNAL_ERROR and
 * undefined codes -> CAR_OUT_INTERNAL_ERROR.  detail (may be NULL with
 * detail_len 0) receives the reason for a failure: the PoR status in words,
 * or the result's name (spka_result_name), "" for OK and the two non-answers.
 */
enum car_outcome spka_outcome(uint8_t por_status, uint8_t result, char *detail, size_t detail_len);

/* Name of a result ("USER_CANCEL"), "UNKNOWN" for other values. */
const char *spka_result_name(uint8_t result);

/*
 * A decoded command or the fields of a command to encode.  For encoding, a
 * field left 0/NULL is not emitted (except those SIGN requires).
 */
struct spka_command {
    uint8_t cmd;
    uint8_t txn_ref[8];
    uint8_t key_ref;
    uint8_t digest_alg;
    const uint8_t *digest;
    size_t digest_len;
    const uint8_t *text;
    size_t text_len; /* coding octet + text, as on the wire */
    const uint8_t *vc;
    size_t vc_len; /* 4 ASCII digits or absent */
    uint16_t timeout_s;
    int has_timeout;
    uint8_t key_alg;
    const uint8_t *cert;
    size_t cert_len;
};

struct spka_response {
    uint8_t cmd;
    uint8_t txn_ref[8];
    uint8_t result;
    const uint8_t *signature;
    size_t sig_len;
    const uint8_t *spki;
    size_t spki_len;
    const uint8_t *version;
    size_t version_len;
    int pin_tries; /* -1 when absent */
    const uint8_t *key_refs;
    size_t key_refs_len;
};

/*
 * Encode a command.  Validates what the spec constrains: digest length must
 * match digest_alg, text at most 1 + SPKA_MAX_TEXT octets with a known coding
 * octet (0x04 or 0x08), vc exactly 4 ASCII digits.  Tags are emitted in
 * ascending order (80, 81, 82, 83, 84, 85, ...), which is what the vectors use.
 */
enum car_err spka_encode_command(const struct spka_command *c, uint8_t *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));
/*
 * Errors of spka_encode_command: CAR_ERR_UNSUPPORTED for an unknown command,
 * CAR_ERR_INVALID for a SIGN without key ref/alg/digest/text, a digest length
 * that contradicts digest_alg, a bad coding octet or vc, CAR_ERR_TOO_LONG for
 * text over 1 + SPKA_MAX_TEXT or when cap is too small.
 *
 * spka_decode_command: CAR_ERR_MALFORMED for a truncated header or TLV, a
 * length overrunning the input, 0x80/0x83+ length forms, a known tag seen
 * twice or of the wrong size, a digest length contradicting the algorithm,
 * a bad text coding or vc.  CAR_ERR_UNSUPPORTED for a version other than 1,
 * or an unknown command code: then cmd and txn_ref are still filled in so
 * the SIM can answer UNSUPPORTED for that transaction.
 */
enum car_err spka_decode_command(const uint8_t *in, size_t len, struct spka_command *out)
    __attribute__((warn_unused_result));

/*
 * Responses: tags 90-94 are emitted when their pointer is set; 93 (PIN
 * tries) only for SPKA_INFO with pin_tries >= 0, so a zeroed struct encodes
 * no TLVs.  The decoder refuses what the command decoder refuses (duplicate
 * tags included) and sets pin_tries to -1 when 93 is absent.
 */
enum car_err spka_encode_response(const struct spka_response *r, uint8_t *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));
enum car_err spka_decode_response(const uint8_t *in, size_t len, struct spka_response *out)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_CAR_SPKA_H */
