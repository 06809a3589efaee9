/*
 * test_pdu.c - SMPP framing, pre-checks and the libsmpp34 wrappers.
 * Hostile PDUs must be refused before libsmpp34 sees them; run under ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "car_pdu.h"
#include "check.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_frame(void)
{
    uint8_t b[32] = {0};
    size_t n = 0;

    CHECK_EQ_INT(pdu_frame(b, 3, &n), CAR_ERR_AGAIN);
    put32(b, 0);
    CHECK_EQ_INT(pdu_frame(b, 16, &n), CAR_ERR_MALFORMED);
    put32(b, 15);
    CHECK_EQ_INT(pdu_frame(b, 16, &n), CAR_ERR_MALFORMED);
    put32(b, 0xFFFFFFFFu);
    CHECK_EQ_INT(pdu_frame(b, 16, &n), CAR_ERR_MALFORMED);
    put32(b, PDU_MAX_LEN + 1);
    CHECK_EQ_INT(pdu_frame(b, 16, &n), CAR_ERR_MALFORMED);
    put32(b, 16);
    CHECK_EQ_INT(pdu_frame(b, 10, &n), CAR_ERR_AGAIN);
    CHECK_EQ_INT(pdu_frame(b, 32, &n), CAR_OK);
    CHECK_EQ_INT(n, 16);
}

/* A deliver_sm with `ntlv` TLVs of 1 octet, built by hand. */
static size_t hostile_deliver(uint8_t *b, size_t cap, unsigned ntlv)
{
    static const uint8_t body[] = {0,    1, 1, '8', '4', '9', 0,    1, 1, '9', 0,    0x40,
                                   0x7F, 0, 0, 0,   0,   0,   0xF6, 0, 3, 2,   0x71, 0};
    size_t pos = PDU_HEADER_LEN;

    memcpy(b + pos, body, sizeof(body));
    pos += sizeof(body);
    for (unsigned i = 0; i < ntlv && pos + 5 <= cap; i++) {
        b[pos++] = 0x14;
        b[pos++] = (uint8_t)i;
        b[pos++] = 0;
        b[pos++] = 1;
        b[pos++] = 0xAA;
    }
    put32(b, (uint32_t)pos);
    put32(b + 4, PDU_DELIVER_SM);
    put32(b + 8, 0);
    put32(b + 12, 9);
    return pos;
}

static void test_hostile(void)
{
    uint8_t b[PDU_MAX_LEN];
    char why[160];
    size_t n;
    deliver_sm_t d;
    struct pdu_tlvs tl;
    submit_sm_t s;

    n = hostile_deliver(b, sizeof(b), 100);
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_ERR_MALFORMED);
    CHECK(strstr(why, "TLVs") != NULL);
    CHECK_EQ_INT(pdu_unpack(b, n, &d, sizeof(d), NULL, why, sizeof(why)), CAR_ERR_MALFORMED);

    /* 16 TLVs is the limit and fine; TLVs come back in wire order. */
    n = hostile_deliver(b, sizeof(b), 16);
    CHECK_EQ_INT(pdu_unpack(b, n, &d, sizeof(d), &tl, why, sizeof(why)), CAR_OK);
    CHECK_EQ_INT(tl.n, 16);
    CHECK_EQ_INT(tl.t[0].tag, 0x1400);
    CHECK_EQ_INT(tl.t[15].tag, 0x140F);
    CHECK(d.tlv == NULL); /* the library's list was freed */
    CHECK_EQ_INT(d.sm_length, 3);

    /* Wrong struct for the command. */
    CHECK_EQ_INT(pdu_unpack(b, n, &s, sizeof(s), NULL, why, sizeof(why)), CAR_ERR_INVALID);

    /* TLV length past the end. */
    n = hostile_deliver(b, sizeof(b), 1);
    b[n - 2] = 9;
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_ERR_MALFORMED);

    /* sm_length past the end. */
    n = hostile_deliver(b, sizeof(b), 0);
    b[PDU_HEADER_LEN + 20] = 200;
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_ERR_MALFORMED);

    /* Unterminated C-octet string: the source_addr runs to the end of the PDU. */
    n = PDU_HEADER_LEN + 4;
    memset(b, '7', sizeof(b));
    put32(b, (uint32_t)n);
    put32(b + 4, PDU_DELIVER_SM);
    put32(b + 8, 0);
    put32(b + 12, 1);
    b[PDU_HEADER_LEN] = 0;
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(pdu_unpack(b, n, &d, sizeof(d), NULL, why, sizeof(why)), CAR_ERR_MALFORMED);

    /* system_id longer than 15 in a bind. */
    n = PDU_HEADER_LEN + 40;
    memset(b + PDU_HEADER_LEN, 'a', 40);
    put32(b, (uint32_t)n);
    put32(b + 4, PDU_BIND_TRANSCEIVER);
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_ERR_MALFORMED);

    /* Unknown command id; body on a header-only PDU. */
    put32(b, 16);
    put32(b + 4, 0x00000103);
    CHECK_EQ_INT(pdu_precheck(b, 16, why, sizeof(why)), CAR_ERR_UNSUPPORTED);
    put32(b, 20);
    put32(b + 4, PDU_ENQUIRE_LINK);
    CHECK_EQ_INT(pdu_precheck(b, 20, why, sizeof(why)), CAR_ERR_MALFORMED);
    /* command_length disagreeing with the framed length. */
    CHECK_EQ_INT(pdu_precheck(b, 16, why, sizeof(why)), CAR_ERR_MALFORMED);
}

static void test_round_trip(void)
{
    uint8_t b[PDU_MAX_LEN];
    uint8_t ud[140];
    char why[160];
    char id[PDU_MSGID_MAX];
    size_t n;
    struct pdu_header h;
    struct pdu_sm sm, out;
    struct pdu_receipt rc;
    bind_transceiver_t bt;
    bind_transceiver_resp_t br;
    static const uint32_t hdr_only[] = {PDU_ENQUIRE_LINK, PDU_ENQUIRE_LINK_RESP, PDU_UNBIND, PDU_UNBIND_RESP,
                                        PDU_GENERIC_NACK};

    CHECK_EQ_INT(pdu_build_bind_trx(b, sizeof(b), &n, 1, "simpki", "secret", "OTA"), CAR_OK);
    CHECK_EQ_INT(pdu_unpack(b, n, &bt, sizeof(bt), NULL, why, sizeof(why)), CAR_OK);
    CHECK_EQ_STR((char *)bt.system_id, "simpki");
    CHECK_EQ_STR((char *)bt.password, "secret");
    CHECK_EQ_INT(bt.interface_version, 0x34);
    CHECK_EQ_INT(pdu_build_bind_trx(b, sizeof(b), &n, 1, "a-much-too-long-system-id", "pw", ""), CAR_ERR_INVALID);

    CHECK_EQ_INT(pdu_build_bind_trx_resp(b, sizeof(b), &n, 1, 0, "smsc"), CAR_OK);
    CHECK_EQ_INT(pdu_unpack(b, n, &br, sizeof(br), NULL, why, sizeof(why)), CAR_OK);
    CHECK_EQ_STR((char *)br.system_id, "smsc");
    CHECK_EQ_INT(pdu_build_bind_trx_resp(b, sizeof(b), &n, 2, 0x0E, ""), CAR_OK);
    CHECK_EQ_INT(n, 16);
    CHECK_EQ_INT(pdu_unpack(b, n, &br, sizeof(br), NULL, why, sizeof(why)), CAR_OK);
    CHECK_EQ_INT(br.command_status, 0x0E);

    for (size_t i = 0; i < sizeof(hdr_only) / sizeof(hdr_only[0]); i++) {
        enquire_link_t e;
        CHECK_EQ_INT(pdu_build_header_only(b, sizeof(b), &n, hdr_only[i], 0, 77), CAR_OK);
        CHECK_EQ_INT(pdu_unpack(b, n, &e, sizeof(e), NULL, why, sizeof(why)), CAR_OK);
        CHECK_EQ_INT(e.command_id, hdr_only[i]);
        CHECK_EQ_INT(e.sequence_number, 77);
    }
    CHECK_EQ_INT(pdu_build_header_only(b, sizeof(b), &n, PDU_SUBMIT_SM, 0, 1), CAR_ERR_INVALID);

    for (size_t i = 0; i < sizeof(ud); i++)
        ud[i] = (uint8_t)i;
    CHECK_EQ_INT(pdu_sm_spka(&sm, "8088", "84912345678", ud, sizeof(ud)), CAR_OK);
    CHECK_EQ_INT(pdu_build_submit_sm(b, sizeof(b), &n, 5, &sm), CAR_OK);
    CHECK_EQ_INT(pdu_header(b, n, &h), CAR_OK);
    CHECK_EQ_INT(h.id, PDU_SUBMIT_SM);
    CHECK_EQ_INT(h.seq, 5);
    CHECK_EQ_INT(pdu_sm_decode(b, n, &out, why, sizeof(why)), CAR_OK);
    CHECK_EQ_STR(out.dest_addr, "84912345678");
    CHECK_EQ_INT(out.dest_ton, 1);
    CHECK_EQ_INT(out.dest_npi, 1);
    CHECK_EQ_INT(out.esm_class, 0x40);
    CHECK_EQ_INT(out.protocol_id, 0x7F);
    CHECK_EQ_INT(out.data_coding, 0xF6);
    CHECK_EQ_INT(out.registered_delivery, 2); /* receipts for failed deliveries only */
    CHECK_EQ_INT(out.ud_len, sizeof(ud));
    CHECK_MEM(out.ud, ud, sizeof(ud));

    CHECK_EQ_INT(pdu_build_submit_sm_resp(b, sizeof(b), &n, 5, 0, "MSG-42"), CAR_OK);
    CHECK_EQ_INT(pdu_submit_resp_decode(b, n, id, why, sizeof(why)), CAR_OK);
    CHECK_EQ_STR(id, "MSG-42");
    CHECK_EQ_INT(pdu_build_submit_sm_resp(b, sizeof(b), &n, 5, PDU_ESME_RTHROTTLED, NULL), CAR_OK);
    CHECK_EQ_INT(pdu_submit_resp_decode(b, n, id, why, sizeof(why)), CAR_OK);
    CHECK_EQ_STR(id, "");

    /* MO from the SIM: swap the addresses. */
    CHECK_EQ_INT(pdu_sm_spka(&sm, "84912345678", "8088", ud, 20), CAR_OK);
    CHECK_EQ_INT(pdu_build_deliver_sm(b, sizeof(b), &n, 6, &sm), CAR_OK);
    CHECK_EQ_INT(pdu_sm_decode(b, n, &out, why, sizeof(why)), CAR_OK);
    CHECK_EQ_INT(pdu_mo_classify(&out), PDU_MO_UDH);
    CHECK_EQ_STR(out.source_addr, "84912345678");

    /* Receipt with TLVs (the library builds a TLV list that pdu_pack frees). */
    CHECK_EQ_INT(pdu_sm_spka(&sm, "84912345678", "8088", NULL, 0), CAR_OK);
    CHECK_EQ_INT(pdu_receipt_format(&sm, "MSG-42", "DELIVRD", 0), CAR_OK);
    CHECK_EQ_INT(pdu_build_deliver_sm(b, sizeof(b), &n, 7, &sm), CAR_OK);
    CHECK_EQ_INT(pdu_sm_decode(b, n, &out, why, sizeof(why)), CAR_OK);
    CHECK_EQ_INT(pdu_mo_classify(&out), PDU_MO_RECEIPT);
    CHECK_EQ_STR(out.receipted_id, "MSG-42");
    CHECK_EQ_INT(out.message_state, 2);
    CHECK_EQ_INT(pdu_receipt_parse(&out, &rc), CAR_OK);
    CHECK_EQ_STR(rc.id, "MSG-42");
    CHECK_EQ_STR(rc.stat, "DELIVRD");

    CHECK_EQ_INT(pdu_build_deliver_sm_resp(b, sizeof(b), &n, 7, 0), CAR_OK);
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_OK);
    CHECK_EQ_INT(pdu_build_deliver_sm_resp(b, sizeof(b), &n, 7, PDU_ESME_RSYSERR), CAR_OK);
    CHECK_EQ_INT(pdu_precheck(b, n, why, sizeof(why)), CAR_OK);

    CHECK_EQ_STR(pdu_status_name(0x58), "ESME_RTHROTTLED");
    CHECK_EQ_STR(pdu_command_name(PDU_DELIVER_SM_RESP), "deliver_sm_resp");
}

/* pdu_pack frees a TLV list attached by the caller, also when it fails. */
static void test_pack_frees(void)
{
    uint8_t b[PDU_MAX_LEN];
    size_t n;
    submit_sm_t s;
    tlv_t t;

    memset(&s, 0, sizeof(s));
    memset(&t, 0, sizeof(t));
    s.command_id = PDU_SUBMIT_SM;
    s.sequence_number = 3;
    t.tag = 0x0204;
    t.length = 2;
    t.value.val16 = 7;
    CHECK_EQ_INT(build_tlv(&s.tlv, &t), 0);
    CHECK_EQ_INT(pdu_pack(&s, b, sizeof(b), &n, NULL, 0), CAR_OK);
    CHECK(s.tlv == NULL);
    CHECK_EQ_INT(pdu_precheck(b, n, NULL, 0), CAR_OK);

    CHECK_EQ_INT(build_tlv(&s.tlv, &t), 0);
    memset(s.source_addr, 'x', sizeof(s.source_addr)); /* unterminated */
    CHECK_EQ_INT(pdu_pack(&s, b, sizeof(b), &n, NULL, 0), CAR_ERR_INVALID);
    CHECK(s.tlv == NULL); /* LeakSanitizer checks the rest */
}

/*
 * Regression: the pack pre-check once read deliver_sm's sm_length through a
 * submit_sm_t cast, so about 1 in 250 PoRs with random user data failed to
 * build.  Every random 140-octet message must build and unpack, both ways.
 */
static void test_random_user_data(void)
{
    uint8_t buf[PDU_MAX_LEN], ud[140];
    unsigned seed = 12345, failed_build = 0, failed_unpack = 0;
    struct pdu_sm sm;
    size_t n;

    for (int i = 0; i < 5000; i++) {
        for (size_t k = 0; k < sizeof(ud); k++)
            ud[k] = (uint8_t)(rand_r(&seed) >> 7);
        if (pdu_sm_spka(&sm, "84960000081", "9191", ud, sizeof(ud)) != CAR_OK)
            failed_build++;
        if (pdu_build_deliver_sm(buf, sizeof(buf), &n, (uint32_t)i + 1, &sm) != CAR_OK) {
            failed_build++;
        } else {
            deliver_sm_t d;
            if (pdu_unpack(buf, n, &d, sizeof(d), NULL, NULL, 0) != CAR_OK || d.sm_length != sizeof(ud) ||
                memcmp(d.short_message, ud, sizeof(ud)) != 0)
                failed_unpack++;
        }
        if (pdu_build_submit_sm(buf, sizeof(buf), &n, (uint32_t)i + 1, &sm) != CAR_OK)
            failed_build++;
    }
    CHECK_EQ_INT(failed_build, 0);
    CHECK_EQ_INT(failed_unpack, 0);
}

/*
 * The short-message PDUs are written and read without libsmpp34: they must be
 * exactly what libsmpp34 packs for the same fields, and decode to what it
 * unpacks.
 */
static void test_direct_matches_libsmpp34(void)
{
    uint8_t a[PDU_MAX_LEN], b[PDU_MAX_LEN], ud[PDU_SM_MAX];
    unsigned seed = 777;
    size_t na, nb;
    struct pdu_sm sm, out;

    for (int i = 0; i < 2000; i++) {
        /* libsmpp34 refuses sm_length 254, which SMPP 3.4 allows: compare up to 253 (SMS use 140) */
        size_t udl = (size_t)rand_r(&seed) % PDU_SM_MAX;
        int mo = i % 2;
        submit_sm_t s;
        deliver_sm_t d;
        for (size_t k = 0; k < udl; k++)
            ud[k] = (uint8_t)(rand_r(&seed) >> 5);
        CHECK_EQ_INT(pdu_sm_spka(&sm, mo ? "84912345678" : "9191", mo ? "9191" : "84912345678", ud, udl), CAR_OK);
        sm.esm_class = (uint8_t)rand_r(&seed);
        if (i % 7 == 0)
            CHECK_EQ_INT(pdu_receipt_format(&sm, "MSG-7", "DELIVRD", 0), CAR_OK);

        CHECK_EQ_INT(pdu_build_submit_sm(a, sizeof(a), &na, (uint32_t)i + 1, &sm), CAR_OK);
        memset(&s, 0, sizeof(s));
        s.command_id = PDU_SUBMIT_SM;
        s.sequence_number = (uint32_t)i + 1;
        memcpy(s.source_addr, sm.source_addr, PDU_ADDR_MAX);
        memcpy(s.destination_addr, sm.dest_addr, PDU_ADDR_MAX);
        s.source_addr_ton = sm.source_ton;
        s.source_addr_npi = sm.source_npi;
        s.dest_addr_ton = sm.dest_ton;
        s.dest_addr_npi = sm.dest_npi;
        s.esm_class = sm.esm_class;
        s.protocol_id = sm.protocol_id;
        s.registered_delivery = sm.registered_delivery;
        s.data_coding = sm.data_coding;
        s.sm_length = (uint8_t)sm.ud_len;
        memcpy(s.short_message, sm.ud, sm.ud_len);
        CHECK_EQ_INT(pdu_pack(&s, b, sizeof(b), &nb, NULL, 0), CAR_OK);
        CHECK_EQ_INT(na, nb);
        CHECK_MEM(a, b, na);
        CHECK_EQ_INT(pdu_sm_decode(a, na, &out, NULL, 0), CAR_OK);
        CHECK_EQ_INT(out.ud_len, sm.ud_len);
        CHECK_MEM(out.ud, sm.ud, sm.ud_len);
        CHECK_EQ_STR(out.source_addr, sm.source_addr);
        CHECK_EQ_STR(out.dest_addr, sm.dest_addr);
        CHECK_EQ_INT(out.esm_class, sm.esm_class);

        CHECK_EQ_INT(pdu_build_deliver_sm(a, sizeof(a), &na, (uint32_t)i + 1, &sm), CAR_OK);
        CHECK_EQ_INT(pdu_unpack(a, na, &d, sizeof(d), NULL, NULL, 0), CAR_OK);
        CHECK_EQ_INT(d.sm_length, sm.ud_len);
        CHECK_MEM(d.short_message, sm.ud, sm.ud_len);
        CHECK_EQ_STR((char *)d.source_addr, sm.source_addr);
        CHECK_EQ_STR((char *)d.destination_addr, sm.dest_addr);
        CHECK_EQ_INT(d.esm_class, sm.esm_class);
        CHECK_EQ_INT(d.source_addr_ton, sm.source_ton);
        CHECK_EQ_INT(d.dest_addr_npi, sm.dest_npi);
        CHECK_EQ_INT(d.protocol_id, sm.protocol_id);
        CHECK_EQ_INT(d.data_coding, sm.data_coding);
        CHECK_EQ_INT(d.registered_delivery, sm.registered_delivery);
        if (sm.receipted_id[0]) { /* the TLVs as the libsmpp34 builder attached them (it prepends) */
            tlv_t t;
            memset(&t, 0, sizeof(t));
            t.tag = TLVID_receipted_message_id;
            t.length = (uint16_t)(strlen(sm.receipted_id) + 1);
            memcpy(t.value.octet, sm.receipted_id, t.length);
            CHECK_EQ_INT(build_tlv(&d.tlv, &t), 0);
            memset(&t, 0, sizeof(t));
            t.tag = TLVID_message_state;
            t.length = 1;
            t.value.val08 = (uint8_t)sm.message_state;
            CHECK_EQ_INT(build_tlv(&d.tlv, &t), 0);
        }
        {
            CHECK_EQ_INT(pdu_pack(&d, b, sizeof(b), &nb, NULL, 0), CAR_OK);
            CHECK_EQ_INT(na, nb);
            CHECK_MEM(a, b, na);
        }
        CHECK_EQ_INT(pdu_sm_decode(a, na, &out, NULL, 0), CAR_OK);
        CHECK_EQ_STR(out.receipted_id, sm.receipted_id);
        CHECK_EQ_INT(out.message_state, sm.receipted_id[0] ? sm.message_state : -1);
    }

    {
        submit_sm_resp_t r;
        deliver_sm_resp_t dr;
        char id[PDU_MSGID_MAX];
        CHECK_EQ_INT(pdu_build_submit_sm_resp(a, sizeof(a), &na, 9, 0, "abc-123"), CAR_OK);
        memset(&r, 0, sizeof(r));
        r.command_id = PDU_SUBMIT_SM_RESP;
        r.sequence_number = 9;
        memcpy(r.message_id, "abc-123", 8);
        CHECK_EQ_INT(pdu_pack(&r, b, sizeof(b), &nb, NULL, 0), CAR_OK);
        CHECK_EQ_INT(na, nb);
        CHECK_MEM(a, b, na);
        CHECK_EQ_INT(pdu_submit_resp_decode(b, nb, id, NULL, 0), CAR_OK);
        CHECK_EQ_STR(id, "abc-123");
        CHECK_EQ_INT(pdu_build_deliver_sm_resp(a, sizeof(a), &na, 10, 0), CAR_OK);
        memset(&dr, 0, sizeof(dr));
        dr.command_id = PDU_DELIVER_SM_RESP;
        dr.sequence_number = 10;
        CHECK_EQ_INT(pdu_pack(&dr, b, sizeof(b), &nb, NULL, 0), CAR_OK);
        CHECK_EQ_INT(na, nb);
        CHECK_MEM(a, b, na);
        CHECK_EQ_INT(pdu_sm_spka(&sm, "9191", "84912345678", ud, PDU_SM_MAX), CAR_OK);
        CHECK_EQ_INT(pdu_build_submit_sm(a, sizeof(a), &na, 1, &sm), CAR_OK);
        CHECK_EQ_INT(pdu_sm_decode(a, na, &out, NULL, 0), CAR_OK);
        CHECK_EQ_INT(out.ud_len, PDU_SM_MAX);
        /* Too small a buffer is refused, never overrun. */
        CHECK_EQ_INT(pdu_sm_spka(&sm, "9191", "84912345678", ud, 140), CAR_OK);
        CHECK_EQ_INT(pdu_build_submit_sm(a, 100, &na, 1, &sm), CAR_ERR_TOO_LONG);
        CHECK_EQ_INT(pdu_build_submit_sm_resp(a, sizeof(a), &na, 1, 0,
                                              "0123456789012345678901234567890123456789012345678901234567890123456789"),
                     CAR_ERR_INVALID);
    }
}

int main(void)
{
    test_frame();
    test_hostile();
    test_round_trip();
    test_pack_frees();
    test_random_user_data();
    test_direct_matches_libsmpp34();
    return check_report("test_pdu");
}
