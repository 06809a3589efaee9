/*
 * car_ota.h - secured packets of 3GPP TS 31.115 / ETSI TS 102 225 as profiled
 * by SPKA/1 (shared/specs/sim-applet-ota.md section 3): AES-128-CBC with a
 * zero IV, AES-CMAC cryptographic checksum truncated to 8 octets, 5-octet
 * counter, TAR "SPK".
 *
 * Both directions and both sides are here: the gateway wraps commands and
 * unwraps responses (PoRs); the carrier simulator's SIM does the reverse.
 * All functions are pure (no I/O, no globals) and write into caller buffers.
 * Keys are wiped by ota_keys_wipe(); intermediate key material on the stack is
 * cleansed before return.
 */
#ifndef SIMPKI_CAR_OTA_H
#define SIMPKI_CAR_OTA_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"

#define OTA_TAR_SPK    "\x53\x50\x4B"
#define OTA_MAX_PACKET 1070            /* what 8 segments carry: 132 + 7 * 134 */
#define OTA_CNTR_MAX   0xFFFFFFFFFFULL /* 5 octets */

/* TS 102 225 table 5 response status codes. */
enum ota_status {
    OTA_POR_OK = 0,
    OTA_POR_CC_FAILED = 1,
    OTA_POR_CNTR_LOW = 2,
    OTA_POR_CNTR_HIGH = 3,
    OTA_POR_CNTR_BLOCKED = 4,
    OTA_POR_CIPHER_ERROR = 5,
    OTA_POR_SECURITY_ERROR = 6,
    OTA_POR_NO_MEMORY = 7,
    OTA_POR_MORE_TIME = 8,
    OTA_POR_TAR_UNKNOWN = 9,
    OTA_POR_INSUFFICIENT_SECURITY = 10,
};

struct ota_keys {
    uint8_t kic[16]; /* AES-128 ciphering key */
    uint8_t kid[16]; /* AES-128 CMAC key */
    uint8_t kv;      /* key version 1..15: KIc/KID octets are (kv << 4) | 0x2 */
};

/*
 * Diversify per-SIM keys from the carrier master key:
 *   KIc = AES-CMAC(MK, 0x01 || ICCID), KID = AES-CMAC(MK, 0x02 || ICCID)
 * with the ICCID as ASCII digits.  Fails with CAR_ERR_INVALID on a non-digit
 * or empty ICCID or kv outside 1..15.
 */
enum car_err ota_diversify(const uint8_t mk[16], const char *iccid, uint8_t kv, struct ota_keys *out)
    __attribute__((warn_unused_result));

void ota_keys_wipe(struct ota_keys *k);

/*
 * Gateway side: build a command packet
 *   CPL CHL=0x15 SPI=16 39 KIc KID TAR | enc(CNTR PCNTR CC data padding)
 * into out (cap octets).  *outlen receives its length.
 * CAR_ERR_TOO_LONG when the packet would exceed OTA_MAX_PACKET or cap.
 */
enum car_err ota_wrap_command(const struct ota_keys *k, uint64_t cntr, const uint8_t *data, size_t len, uint8_t *out,
                              size_t cap, size_t *outlen) __attribute__((warn_unused_result));

/* A parsed response packet; data points into the caller's `plain` buffer. */
struct ota_response {
    uint64_t cntr;
    uint8_t status;      /* enum ota_status */
    const uint8_t *data; /* response data (padding removed) */
    size_t data_len;
};

/*
 * Gateway side: check and decrypt a response packet (the PoR)
 *   RPL RHL=0x12 TAR | enc(CNTR PCNTR status CC data padding)
 * `plain` (cap octets, at least the packet length) receives the deciphered
 * part; out->data points into it.  Errors: CAR_ERR_MALFORMED (lengths,
 * RHL, padding), CAR_ERR_NOT_FOUND (TAR is not SPK), CAR_ERR_AUTH (CC).
 * Nothing in *out may be trusted unless CAR_OK is returned.
 */
enum car_err ota_unwrap_response(const struct ota_keys *k, const uint8_t *pkt, size_t len, uint8_t *plain, size_t cap,
                                 struct ota_response *out) __attribute__((warn_unused_result));

/*
 * SIM side (simulator): the reverse of the two above.  ota_unwrap_command's
 * errors: CAR_ERR_MALFORMED (lengths, CHL, padding), CAR_ERR_UNSUPPORTED
 * (SPI other than 16 39, KIc/KID algorithm not AES), CAR_ERR_NOT_FOUND (TAR
 * not SPK, or a key version other than k->kv), CAR_ERR_AUTH (CC),
 * CAR_ERR_INVALID when cap is below the ciphered length.  On any error the
 * deciphered octets in `plain` are wiped.
 */
struct ota_command {
    uint64_t cntr;
    uint8_t kic, kid;    /* the KIc/KID octets as sent */
    const uint8_t *data; /* points into `plain` */
    size_t data_len;
};
enum car_err ota_unwrap_command(const struct ota_keys *k, const uint8_t *pkt, size_t len, uint8_t *plain, size_t cap,
                                struct ota_command *out) __attribute__((warn_unused_result));
enum car_err ota_wrap_response(const struct ota_keys *k, uint64_t cntr, uint8_t status, const uint8_t *data, size_t len,
                               uint8_t *out, size_t cap, size_t *outlen) __attribute__((warn_unused_result));

/*
 * The tightest reading of a packet without keys: the TAR and the claimed
 * length, for logs and the admin decoder.  *claimed_len is the whole packet
 * length the header claims (CPL or RPL + 2), to compare with what arrived.
 * CAR_ERR_MALFORMED if too short for the header.
 */
enum car_err ota_peek(const uint8_t *pkt, size_t len, int is_response, uint8_t tar[3], size_t *claimed_len);

#endif /* SIMPKI_CAR_OTA_H */
