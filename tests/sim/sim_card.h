/*
 * sim_card.h - one virtual SIM PKI card: the SIM side of SPKA/1.
 *
 * A card takes a reassembled secured command packet (TS 102 225, profiled
 * by shared/specs/sim-applet-ota.md) and produces the response packet (PoR)
 * a real card would send, shaped by its scenario behaviour (cancel, PIN
 * blocked, corrupt checksum, wrong key...).  It does no I/O and knows nothing
 * of SMPP: the SMSC side (sim_smsc.h) decides when and how the PoR leaves,
 * and applies the transport behaviours (drop, throttle, replay, segments).
 *
 * What the card checks, in the order a real applet does:
 *   1. CC of the command with the KID diversified from the carrier master
 *      key and the ICCID - a failure is answered with PoR status 1;
 *   2. the counter, strictly higher than the last accepted - else status 2
 *      (CNTR_LOW), and the counter is not advanced;
 *   3. the SPKA/1 application data - BAD_COMMAND / UNSUPPORTED results.
 *
 * Keys: key ref 0x01 (signing) may be loaded from the PKI at start; GENKEY
 * creates keys in memory, or hands out a key preset from the PKI (so that a
 * CA with one fixed answer can certify it).  Secrets (OTA keys) are wiped by
 * sim_card_free().
 */
#ifndef SIMPKI_SIM_CARD_H
#define SIMPKI_SIM_CARD_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "car.h"
#include "car_ota.h"

/*
 * Behaviours of the number plan (tests/sim/README.md).  The value is the
 * two-digit BB of the national number 9P0000BBA.
 */
enum sim_behaviour {
    SIM_B_CONFIRM = 0,
    SIM_B_CANCEL = 1,
    SIM_B_NO_ANSWER = 2,
    SIM_B_PIN_BLOCKED = 3,
    SIM_B_CARD_BLOCKED = 4,
    SIM_B_NO_KEY = 5,
    SIM_B_USER_TIMEOUT = 6,
    SIM_B_CORRUPT_POR = 7,
    SIM_B_WRONG_KEY = 8,
    SIM_B_DROP_FIRST = 9,
    SIM_B_THROTTLE_FIRST = 10,
    SIM_B_PERMANENT_ERROR = 11,
    SIM_B_REPLAY = 12,
    SIM_B_HOSTILE = 13,
    SIM_B_SEGMENTS_SHUFFLED = 14,
    SIM_B_REF16 = 15,
    SIM_B_SLOW = 16,
    SIM_B_HOLD_FIRST = 17,
    SIM_B_LOST_RESP = 18,
    /* 19-21 are not behaviours: BB 18-21 also name the enrolment cards (README). */
    /* MSSP-only (ETSI TS 102 204, sim_mssp.h); over SMPP these numbers confirm. */
    SIM_B_SOAP_FAULT = 22,
    SIM_B_HTTP_500 = 23,
    SIM_B_SLOW_DRIP = 24,
    SIM_B_HUGE_BODY = 25,
    SIM_B_BILLION_LAUGHS = 26,
    SIM_B_MALFORMED_XML = 27,
    SIM_B_FORGED_502 = 28,
    SIM_B_OTHER_CERT = 29,
    SIM_B_DEAD_SOCKET = 30,
    SIM_B_COUNT_ = 31
};

/* "confirm", "cancel", ... as used in the scenario file; "unknown" for a code that names none (19-21). */
const char *sim_behaviour_name(enum sim_behaviour b);
/* Inverse of sim_behaviour_name, also accepts the two-digit code ("07"); -1 when unknown. */
int sim_behaviour_parse(const char *name);
/* The delay a behaviour uses when the scenario gives none for the subscriber. */
unsigned sim_behaviour_default_delay_ms(enum sim_behaviour b, unsigned scenario_default);

struct sim_card;

/*
 * Create a card.  The OTA keys are diversified here from mk and iccid.
 * Returns NULL on a bad ICCID / kv or out of memory; err (may be NULL)
 * says which.  The caller keeps mk; the card keeps only derived keys.
 */
struct sim_card *sim_card_new(const char *msisdn, const char *iccid, uint8_t kv, const uint8_t mk[16],
                              enum sim_behaviour b, unsigned delay_ms, char *err, size_t errlen);
/* sim_card_free(NULL) does nothing.  Wipes the OTA keys. */
void sim_card_free(struct sim_card *c);

/*
 * Load the signing key (ref 0x01) from a PEM private key and, optionally
 * (cert_path may be NULL), the DER certificate, which must carry the same
 * public key.  CAR_ERR_IO when a file cannot be read, CAR_ERR_INVALID when
 * the certificate does not match the key or the key is neither RSA-2048 nor
 * EC P-256.
 */
enum car_err sim_card_load_key(struct sim_card *c, const char *key_path, const char *cert_path, char *err,
                               size_t errlen) __attribute__((warn_unused_result));

/*
 * Preset what the first GENKEY on key ref 0x01 "generates": the PEM private
 * key at key_path (RSA-2048 or EC P-256).  It is used once: that GENKEY
 * stores it as the signing key and answers its SPKI; a later GENKEY finds
 * the key and answers KEY_EXISTS, as on a real card.  A GENKEY asking for
 * the other algorithm is answered UNSUPPORTED and leaves the preset in place
 * (a test asking for RSA on a card preset with EC is a mistake worth seeing
 * at once, not later as a certificate that does not match).  GENKEY on key
 * ref 0x02 still makes a random key.  Errors as sim_card_load_key.
 */
enum car_err sim_card_preset_genkey(struct sim_card *c, const char *key_path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

const char *sim_card_msisdn(const struct sim_card *c);
enum sim_behaviour sim_card_behaviour(const struct sim_card *c);
unsigned sim_card_delay_ms(const struct sim_card *c);

/*
 * Count a submit_sm addressed to this card and return how many came before
 * it (0 for the first): the "first submit" behaviours (drop, throttle) key
 * off it.
 */
unsigned sim_card_count_submit(struct sim_card *c);
/*
 * hold_first: 1 when a submit_sm to the card arriving on SMPP connection
 * conn_id (ids from 1, unique per simulator run and SMSC) must be left
 * unanswered.  The first connection that sends the card anything is
 * remembered and every submit on it is held; on any other connection the
 * card behaves as confirm.  0 for every other behaviour.
 */
int sim_card_hold(struct sim_card *c, unsigned long conn_id);
/*
 * lost_resp: 1 exactly once, for the submit_sm that completes the first
 * command packet delivered to the card (its submit_sm_resp is lost); 0 after
 * that and for every other behaviour.
 */
int sim_card_lose_resp(struct sim_card *c);

/*
 * The card's own certificate for key ref 0x01 (DER, as loaded or PUTCERT),
 * or NULL with *len 0.  Owned by the card: valid until the next PUTCERT or
 * sim_card_free().
 */
const uint8_t *sim_card_cert(const struct sim_card *c, size_t *len);

/*
 * The SIGN an ETSI TS 102 204 MSSP hands to the card: key ref 0x01, digest
 * digest_len octets of SHA-256/384/512 (spka_alg: SPKA_SHA256...), the card's
 * behaviour applied exactly as for an SPKA/1 SIGN (cancel, PIN blocked, no
 * key, wrong key...).  On CAR_OK, *result is the enum spka_result and, for
 * SPKA_OK, sig[0..*sig_len) the signature: RSA PKCS#1 v1.5 over the
 * DigestInfo, EC a DER ECDSA-Sig-Value over the digest.  CAR_ERR_INVALID
 * for an algorithm the card does not know or a digest of the wrong length.
 */
enum car_err sim_card_sign_digest(struct sim_card *c, uint8_t spka_alg, const uint8_t *digest, size_t digest_len,
                                  uint8_t *sig, size_t cap, size_t *sig_len, uint8_t *result)
    __attribute__((warn_unused_result));

/*
 * The key the card's last successful SIGN on key ref 0x01 used (the
 * impostor for wrong_key), or NULL before one: for an MSSP that wraps the
 * card's signature in CMS and has it sign the signed attributes.  Owned by
 * the card.
 */
EVP_PKEY *sim_card_signing_key(const struct sim_card *c);

/* What sim_card_handle() decided. */
struct sim_answer {
    int has_por; /* 0: nothing to send back (never-answer, undecodable packet) */
    uint8_t por[OTA_MAX_PACKET];
    size_t por_len;
    uint8_t ota_status; /* enum ota_status of the PoR */
    uint64_t cntr;
    int has_spka;   /* the SPKA/1 command was decoded */
    uint8_t cmd;    /* enum spka_cmd */
    uint8_t result; /* enum spka_result in the PoR */
    char text[512]; /* display text as UTF-8 (for the log), "" when none */
    char vc[5];     /* verification code, "" when none */
};

/*
 * Process one reassembled command packet.  On CAR_OK, *out says what to send
 * (has_por may still be 0).  Errors: CAR_ERR_MALFORMED when the packet cannot
 * even be read as a command packet (no PoR is possible: a real card drops
 * it), CAR_ERR_NOMEM.
 */
enum car_err sim_card_handle(struct sim_card *c, const uint8_t *pkt, size_t len, struct sim_answer *out)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_SIM_CARD_H */
