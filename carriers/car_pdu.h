/*
 * car_pdu.h - SMPP 3.4 PDUs: framing, hostile-input pre-checks, and safe
 * wrappers around libsmpp34, shared by the ESME (car_smpp.c) and the carrier
 * simulator (an SMSC).  The short-message PDUs of the hot path (submit_sm,
 * deliver_sm and their responses: the pdu_build_* and *_decode functions
 * below) are written and read directly, after the same pre-check, because
 * libsmpp34 formats a debug string for every field; pdu_pack/pdu_unpack
 * still give the libsmpp34 view of any of them (the unit test checks both
 * agree octet for octet).
 *
 * Why a layer in front of libsmpp34: the library is convenient for the field
 * layout but cannot be handed bytes from a peer as they come:
 *   - its global error buffer (smpp34_strerror[2048]) overflows when a PDU
 *     carries about 30 or more TLVs: a carrier could crash us;
 *   - unpack calls strlen() on C-octet strings, reading past unterminated
 *     input;
 *   - TLV lists come back reversed and are heap-allocated even when unpack
 *     then fails (they must be freed with destroy_tlv / destroy_udad);
 *   - its errors live only in process-wide globals (smpp34_errno,
 *     smpp34_strerror).
 * So every PDU read from a socket goes through
 *
 *     pdu_frame()     - is a whole PDU buffered?  rejects an impossible
 *                       command_length before anything is allocated;
 *     pdu_precheck()  - walks the body with the SMPP 3.4 layout of the
 *                       command: every C-octet string NUL-terminated within
 *                       its maximum and within the PDU, sm_length inside the
 *                       PDU, every TLV header and value inside the PDU,
 *                       at most PDU_MAX_TLVS TLVs;
 *     pdu_unpack()    - only then calls smpp34_unpack2, frees the library's
 *                       TLV/UDAD lists on every path, and turns its errors
 *                       into enum car_err plus a message.
 *
 * THREADING: libsmpp34 keeps its error state in process-wide globals and is
 * not thread-safe.  Every function here that packs or unpacks (pdu_pack,
 * pdu_unpack, pdu_build_*, pdu_sm_decode) must be called from ONE thread
 * only in the whole process -- in simpki, the carriers' event-loop thread.
 * pdu_frame, pdu_header, pdu_precheck and the name/receipt helpers are pure
 * and may be called from anywhere.
 *
 * Buffers: a PDU is at most PDU_MAX_LEN octets; an SMS PDU never needs more,
 * so build into `uint8_t buf[PDU_MAX_LEN]`.  Nothing here allocates memory
 * that outlives a call.
 *
 * Errors: every function that can fail returns enum car_err (car.h) and,
 * when `why` is not NULL, writes one NUL-terminated line about the cause
 * into why[0..whylen) (truncated if needed).  A message never contains
 * secrets (the bind password is never echoed).
 */
#ifndef SIMPKI_CAR_PDU_H
#define SIMPKI_CAR_PDU_H

#include <stddef.h>
#include <stdint.h>

/* The libsmpp34 structs (deliver_sm_t, tlv_t, ...) for pdu_unpack/pdu_pack;
 * its headers need stdint.h first and must come in this order. */
#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

#include "car.h"

#define PDU_HEADER_LEN    16          /* command_length, command_id, command_status, sequence_number */
#define PDU_MAX_LEN       2048        /* larger command_length is refused by pdu_frame() */
#define PDU_MAX_TLVS      16          /* more TLVs in one PDU is refused (libsmpp34 overflow) */
#define PDU_MAX_TLV_VALUE 1024        /* libsmpp34's MAX_TLV_SIZE */
#define PDU_SM_MAX        254         /* short_message octets (sm_length 0..254) */
#define PDU_ADDR_MAX      21          /* source_addr / destination_addr incl. NUL */
#define PDU_MSGID_MAX     65          /* message_id incl. NUL */
#define PDU_SEQ_MAX       0x7FFFFFFFu /* sequence numbers run 1..0x7FFFFFFF, then wrap to 1 */

/* Command ids and statuses: same values as libsmpp34's smpp34.h. */
#define PDU_GENERIC_NACK          0x80000000u
#define PDU_BIND_RECEIVER         0x00000001u
#define PDU_BIND_RECEIVER_RESP    0x80000001u
#define PDU_BIND_TRANSMITTER      0x00000002u
#define PDU_BIND_TRANSMITTER_RESP 0x80000002u
#define PDU_SUBMIT_SM             0x00000004u
#define PDU_SUBMIT_SM_RESP        0x80000004u
#define PDU_DELIVER_SM            0x00000005u
#define PDU_DELIVER_SM_RESP       0x80000005u
#define PDU_UNBIND                0x00000006u
#define PDU_UNBIND_RESP           0x80000006u
#define PDU_BIND_TRANSCEIVER      0x00000009u
#define PDU_BIND_TRANSCEIVER_RESP 0x80000009u
#define PDU_ENQUIRE_LINK          0x00000015u
#define PDU_ENQUIRE_LINK_RESP     0x80000015u
#define PDU_RESP_BIT              0x80000000u /* set in every response's command_id */

#define PDU_ESME_ROK              0x00u
#define PDU_ESME_RINVMSGLEN       0x01u
#define PDU_ESME_RINVCMDLEN       0x02u
#define PDU_ESME_RINVCMDID        0x03u
#define PDU_ESME_RINVBNDSTS       0x04u
#define PDU_ESME_RSYSERR          0x08u
#define PDU_ESME_RBINDFAIL        0x0Du
#define PDU_ESME_RMSGQFUL         0x14u /* transient: back off and retry the same submit */
#define PDU_ESME_RTHROTTLED       0x58u /* transient: back off and retry the same submit */
#define PDU_ESME_RX_P_APPN        0x65u /* receiver permanent application error */
#define PDU_ESME_RINVOPTPARSTREAM 0xC0u

/* SPKA/1 field values (shared/specs/sim-applet-ota.md section 1). */
#define PDU_ESM_UDHI       0x40u /* esm_class: user data starts with a UDH */
#define PDU_ESM_RECEIPT    0x04u /* esm_class: SMSC delivery receipt */
#define PDU_ESM_TYPE_MASK  0x3Cu /* esm_class message-type bits: receipt, acks, intermediate */
#define PDU_SPKA_ESM_CLASS 0x40u
#define PDU_SPKA_PID       0x7Fu /* SIM data download */
#define PDU_SPKA_DCS       0xF6u /* 8-bit, class 2 (SIM specific) */
#define PDU_SPKA_TON       1u    /* international */
#define PDU_SPKA_NPI       1u    /* E.164 */
/*
 * registered_delivery 2: a receipt only when delivery fails (SMPP 3.4
 * 5.2.17).  A delivered command shows as the SIM's PoR; a receipt for every
 * delivered segment was one more deliver_sm each way, per segment (2 per
 * SIGN with a Vietnamese text), that the gateway only counted.
 */
#define PDU_SPKA_REGDLV 2u

/* The four header fields, host order. */
struct pdu_header {
    uint32_t length;
    uint32_t id;
    uint32_t status;
    uint32_t seq;
};

/*
 * Framing.  buf holds `avail` octets received so far (a stream may hold
 * several PDUs back to back).  Returns
 *   CAR_OK            a whole PDU of *pdu_len octets starts at buf;
 *   CAR_ERR_AGAIN     fewer than 4 octets, or fewer than command_length;
 *   CAR_ERR_MALFORMED command_length < 16 or > PDU_MAX_LEN: the stream
 *                     cannot be resynchronised, drop the connection.
 * *pdu_len is set to the claimed length whenever 4 octets are there.
 */
enum car_err pdu_frame(const uint8_t *buf, size_t avail, size_t *pdu_len) __attribute__((warn_unused_result));

/* Read the 16-octet header.  CAR_ERR_MALFORMED when len < 16. */
enum car_err pdu_header(const uint8_t *pdu, size_t len, struct pdu_header *out) __attribute__((warn_unused_result));

/*
 * Validate a framed PDU (len must equal its command_length) against the
 * SMPP 3.4 layout of its command before any parser sees it.  Returns
 *   CAR_OK;
 *   CAR_ERR_UNSUPPORTED  command_id not in the list above: answer
 *                        generic_nack ESME_RINVCMDID and carry on;
 *   CAR_ERR_MALFORMED    a field overruns, a C-octet string is unterminated
 *                        or longer than SMPP 3.4 allows, sm_length > 254 or
 *                        past the end, a TLV overruns, more than PDU_MAX_TLVS
 *                        TLVs, trailing octets in a header-only PDU.  Answer
 *                        it (e.g. deliver_sm_resp ESME_RSYSERR or
 *                        generic_nack ESME_RINVCMDLEN); the stream itself is
 *                        still in sync because pdu_frame() bounded it.
 * A response whose command_status is not 0 may have an empty body (SMSCs
 * commonly send a bare header); that is accepted.
 * Pure function: no libsmpp34, no allocation.
 */
enum car_err pdu_precheck(const uint8_t *pdu, size_t len, char *why, size_t whylen) __attribute__((warn_unused_result));

/*
 * The libsmpp34 struct that holds a command's fields, so that callers can
 * size the `out` argument of pdu_unpack(): e.g. sizeof(deliver_sm_t).
 * Returns 0 for an unknown command id.
 */
size_t pdu_struct_size(uint32_t command_id);

/* TLVs in wire order, pointing into the PDU buffer given to pdu_unpack(). */
struct pdu_tlv {
    uint16_t tag;
    uint16_t len;
    const uint8_t *val;
};
struct pdu_tlvs {
    size_t n;
    struct pdu_tlv t[PDU_MAX_TLVS];
};

/*
 * Pre-check, then smpp34_unpack2 into `out`, which must be the libsmpp34
 * struct of the PDU's command (bind_transceiver_t, deliver_sm_t, ...;
 * out_size = sizeof it, checked against pdu_struct_size(), so a deliver_sm
 * is never unpacked into an enquire_link_t).  `out` is zeroed first.
 *
 * Ownership: the library's TLV/UDAD lists are ALWAYS freed before return
 * (success or failure) and their pointers in `out` set to NULL, so the caller
 * never frees anything.  When `tlvs` is not NULL it receives the TLVs in
 * wire order, pointing into `pdu` (valid as long as pdu is).
 *
 * A response with a non-zero status and an empty body is not given to
 * libsmpp34: only the header fields of `out` are filled.
 * Errors: those of pdu_precheck(), CAR_ERR_INVALID for a wrong out_size,
 * CAR_ERR_MALFORMED when libsmpp34 refuses (its message is copied to why).
 */
enum car_err pdu_unpack(const uint8_t *pdu, size_t len, void *out, size_t out_size, struct pdu_tlvs *tlvs, char *why,
                        size_t whylen) __attribute__((warn_unused_result));

/*
 * smpp34_pack2 of a filled libsmpp34 struct (command_id/status/seq set by the
 * caller; command_length is computed).  Every C-octet string of the struct
 * is checked for a NUL within its size first (libsmpp34 would strlen() past
 * it).  Ownership: pdu_pack CONSUMES any TLV list attached to `st` (`tlv`
 * field of submit_sm_t, deliver_sm_t, bind_*_resp_t): it is freed on every
 * path and the pointer set to NULL.  *outlen receives the PDU length.
 * Errors: CAR_ERR_INVALID (unknown command, unterminated field),
 * CAR_ERR_TOO_LONG (cap too small), CAR_ERR_MALFORMED (libsmpp34 refused).
 */
enum car_err pdu_pack(void *st, uint8_t *buf, size_t cap, size_t *outlen, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------------
 * Builders: each writes one whole PDU into buf (cap >= PDU_MAX_LEN is always
 * enough) and its length into *outlen.  seq is the sequence number: a request
 * takes a fresh one, a response echoes the request's.
 */

/* bind_transceiver, interface_version 0x34, addr TON/NPI 0, empty address_range.
 * Strings are truncated to nothing: CAR_ERR_INVALID when over the SMPP limits
 * (system_id 15, password 8, system_type 12 characters). */
enum car_err pdu_build_bind_trx(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, const char *system_id,
                                const char *password, const char *system_type) __attribute__((warn_unused_result));
/* bind_transceiver_resp with system_id (the SMSC's); with status != 0 a bare header. */
enum car_err pdu_build_bind_trx_resp(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, uint32_t status,
                                     const char *system_id) __attribute__((warn_unused_result));
/*
 * Header-only PDUs: enquire_link(_resp), unbind(_resp), generic_nack.  No
 * libsmpp34 involved.  command_id must be one of those five (CAR_ERR_INVALID
 * otherwise).  generic_nack echoes the offending PDU's sequence number (0 if
 * it could not be read).
 */
enum car_err pdu_build_header_only(uint8_t *buf, size_t cap, size_t *outlen, uint32_t command_id, uint32_t status,
                                   uint32_t seq) __attribute__((warn_unused_result));

/*
 * The fields of a submit_sm or deliver_sm that matter here.  Strings are
 * NUL-terminated.  Used in both directions: filled by the caller for
 * pdu_build_submit_sm/pdu_build_deliver_sm, filled by pdu_sm_decode.
 */
struct pdu_sm {
    uint8_t source_ton, source_npi;
    char source_addr[PDU_ADDR_MAX];
    uint8_t dest_ton, dest_npi;
    char dest_addr[PDU_ADDR_MAX];
    uint8_t esm_class, protocol_id, data_coding, registered_delivery;
    size_t ud_len;          /* 0..PDU_SM_MAX */
    uint8_t ud[PDU_SM_MAX]; /* short_message (UDH included when UDHI) */
    /* decode only, from TLVs (0x001E receipted_message_id, 0x0427 message_state) */
    char receipted_id[PDU_MSGID_MAX]; /* "" when absent */
    int message_state;                /* -1 when absent */
};

/*
 * Fill `sm` for an SPKA/1 MT (gateway -> SIM): source = service number
 * (TON 1 NPI 1 when it is all digits and longer than 8, else TON 6 / NPI 0
 * "abbreviated"), destination = msisdn with TON/NPI 1/1, esm_class 0x40,
 * protocol_id 0x7F, data_coding 0xF6, registered_delivery 2, ud copied.
 * The same helper serves the simulator's MO (SIM -> gateway): swap the
 * addresses (source = subscriber).  CAR_ERR_TOO_LONG when ud_len > 254 or
 * an address over 20 characters.
 */
enum car_err pdu_sm_spka(struct pdu_sm *sm, const char *source, const char *dest, const uint8_t *ud, size_t ud_len)
    __attribute__((warn_unused_result));

enum car_err pdu_build_submit_sm(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, const struct pdu_sm *sm)
    __attribute__((warn_unused_result));
/* submit_sm_resp; message_id is written only when status == 0 (else a bare header). */
enum car_err pdu_build_submit_sm_resp(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, uint32_t status,
                                      const char *message_id) __attribute__((warn_unused_result));
/* deliver_sm: schedule_delivery_time and validity_period are empty, as 3.4 requires.
 * Receipts: set esm_class PDU_ESM_RECEIPT and ud from pdu_receipt_format(); when
 * receipted_id is not "" the TLVs 0x001E and 0x0427 (message_state) are added. */
enum car_err pdu_build_deliver_sm(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, const struct pdu_sm *sm)
    __attribute__((warn_unused_result));
/* deliver_sm_resp; always answer a deliver_sm, with an error status if it was refused. */
enum car_err pdu_build_deliver_sm_resp(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, uint32_t status)
    __attribute__((warn_unused_result));

/* A submit_sm_resp: its message_id ("" on error or a bare header). */
enum car_err pdu_submit_resp_decode(const uint8_t *pdu, size_t len, char message_id[PDU_MSGID_MAX], char *why,
                                    size_t whylen) __attribute__((warn_unused_result));

/* Decode a submit_sm or deliver_sm (pre-checked, unpacked, lists freed). */
enum car_err pdu_sm_decode(const uint8_t *pdu, size_t len, struct pdu_sm *out, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* What a deliver_sm is, from its esm_class. */
enum pdu_mo_kind {
    PDU_MO_RECEIPT = 1, /* esm_class message type != 0 (0x04 receipt, acks): never an answer */
    PDU_MO_UDH = 2,     /* UDHI set: candidate SPKA/1 PoR segment, give it to udh_reasm */
    PDU_MO_PLAIN = 3,   /* plain text from a subscriber: not ours */
};
enum pdu_mo_kind pdu_mo_classify(const struct pdu_sm *sm);

/*
 * A delivery receipt, from the TLVs when present, otherwise from the SMPP 3.4
 * appendix B text "id:X sub:001 dlvrd:001 submit date:... done date:...
 * stat:DELIVRD err:000 text:...".
 */
struct pdu_receipt {
    char id[PDU_MSGID_MAX];
    char stat[8]; /* DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD */
    unsigned err;
};
enum car_err pdu_receipt_parse(const struct pdu_sm *sm, struct pdu_receipt *out) __attribute__((warn_unused_result));
/* Simulator side: write the appendix B text into sm->ud / sm->ud_len and
 * sm->receipted_id, and set esm_class to PDU_ESM_RECEIPT. */
enum car_err pdu_receipt_format(struct pdu_sm *sm, const char *id, const char *stat, unsigned err)
    __attribute__((warn_unused_result));

/* "submit_sm", "deliver_sm_resp", ..., "unknown". */
const char *pdu_command_name(uint32_t command_id);
/* "ESME_RTHROTTLED", ..., "ESME_R?" for values without a name here. */
const char *pdu_status_name(uint32_t status);

#endif /* SIMPKI_CAR_PDU_H */
