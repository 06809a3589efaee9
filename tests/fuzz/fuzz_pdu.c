/*
 * fuzz_pdu.c - SMPP input as a carrier could send it: framing, pre-check and
 * the libsmpp34 unpack behind it, for every command id we know.  The input is
 * tried as a stream of PDUs, and its first PDU once more with each known
 * command_id written over its own, so every layout is reached.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "car_pdu.h"

static const uint32_t ids[] = {
    PDU_GENERIC_NACK,          PDU_BIND_RECEIVER, PDU_BIND_RECEIVER_RESP, PDU_BIND_TRANSMITTER,
    PDU_BIND_TRANSMITTER_RESP, PDU_SUBMIT_SM,     PDU_SUBMIT_SM_RESP,     PDU_DELIVER_SM,
    PDU_DELIVER_SM_RESP,       PDU_UNBIND,        PDU_UNBIND_RESP,        PDU_BIND_TRANSCEIVER,
    PDU_BIND_TRANSCEIVER_RESP, PDU_ENQUIRE_LINK,  PDU_ENQUIRE_LINK_RESP,
};

/* Big enough for any libsmpp34 PDU struct, aligned for its pointers. */
static union {
    submit_sm_t s;
    deliver_sm_t d;
    bind_transceiver_t b;
    uint8_t raw[4096];
} st;

static void one(const uint8_t *p, size_t n)
{
    struct pdu_header h;
    struct pdu_tlvs tl;
    struct pdu_sm sm;
    struct pdu_receipt rc;
    char why[128];
    char id[PDU_MSGID_MAX];
    size_t sz;
    int sink = 0;

    if (pdu_header(p, n, &h) != CAR_OK)
        return;
    /* Results are irrelevant here; summing them only silences warn_unused_result. */
    sink += pdu_precheck(p, n, why, sizeof(why));
    sz = pdu_struct_size(h.id);
    if (sz && sz <= sizeof(st))
        sink += pdu_unpack(p, n, &st, sz, &tl, why, sizeof(why));
    if (pdu_sm_decode(p, n, &sm, why, sizeof(why)) == CAR_OK) {
        sink += (int)pdu_mo_classify(&sm);
        sink += pdu_receipt_parse(&sm, &rc);
    }
    sink += pdu_submit_resp_decode(p, n, id, why, sizeof(why));
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pdu[PDU_MAX_LEN];
    size_t off = 0;
    size_t n = 0;
    int first = 1;

    while (off < size && pdu_frame(data + off, size - off, &n) == CAR_OK) {
        /* Own copy, exactly n octets: ASan sees any read past the PDU. */
        uint8_t *copy = pdu + sizeof(pdu) - n;
        memcpy(copy, data + off, n);
        one(copy, n);
        if (first) {
            for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
                copy[4] = (uint8_t)(ids[i] >> 24);
                copy[5] = (uint8_t)(ids[i] >> 16);
                copy[6] = (uint8_t)(ids[i] >> 8);
                copy[7] = (uint8_t)ids[i];
                one(copy, n);
            }
            first = 0;
        }
        off += n;
    }
    return 0;
}
