/*
 * car_pdu.c - SMPP 3.4 framing, pre-checks, the short-message PDUs, and
 * libsmpp34 wrappers for the rest.
 *
 * One table describes the wire layout of every command we accept; the
 * pre-check walks it over the raw octets and the packer uses the same table
 * to check the struct's strings, so the two can never disagree.  submit_sm,
 * deliver_sm and their responses are written and read directly in that
 * layout (see "short messages" below); binds go through libsmpp34.
 */
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

/* libsmpp34's headers rely on stdint being already included. */
#include <smpp34.h>
#include <smpp34_structs.h>
#include <smpp34_params.h>

#include "car_pdu.h"

enum fld_type { F_END = 0, F_CSTR, F_U8, F_SM, F_TLVS };

struct fld {
    enum fld_type type;
    uint16_t max; /* F_CSTR: size including the NUL */
    uint16_t off; /* F_CSTR: offset in the libsmpp34 struct, for pdu_pack */
    const char *name;
};

#define CSTR(st, f, n)                             \
    {                                              \
        F_CSTR, (n), (uint16_t)offsetof(st, f), #f \
    }
#define U8(f)          \
    {                  \
        F_U8, 0, 0, #f \
    }

static const struct fld bind_flds[] = {
    CSTR(bind_transceiver_t, system_id, 16),
    CSTR(bind_transceiver_t, password, 9),
    CSTR(bind_transceiver_t, system_type, 13),
    U8(interface_version),
    U8(addr_ton),
    U8(addr_npi),
    CSTR(bind_transceiver_t, address_range, 41),
    {F_END, 0, 0, NULL},
};
static const struct fld bind_resp_flds[] = {
    CSTR(bind_transceiver_resp_t, system_id, 16),
    {F_TLVS, 0, 0, "tlv"},
    {F_END, 0, 0, NULL},
};
static const struct fld submit_flds[] = {
    CSTR(submit_sm_t, service_type, 6),
    U8(source_addr_ton),
    U8(source_addr_npi),
    CSTR(submit_sm_t, source_addr, 21),
    U8(dest_addr_ton),
    U8(dest_addr_npi),
    CSTR(submit_sm_t, destination_addr, 21),
    U8(esm_class),
    U8(protocol_id),
    U8(priority_flag),
    CSTR(submit_sm_t, schedule_delivery_time, 17),
    CSTR(submit_sm_t, validity_period, 17),
    U8(registered_delivery),
    U8(replace_if_present_flag),
    U8(data_coding),
    U8(sm_default_msg_id),
    {F_SM, 0, 0, "short_message"},
    {F_TLVS, 0, 0, "tlv"},
    {F_END, 0, 0, NULL},
};
static const struct fld deliver_flds[] = {
    CSTR(deliver_sm_t, service_type, 6),
    U8(source_addr_ton),
    U8(source_addr_npi),
    CSTR(deliver_sm_t, source_addr, 21),
    U8(dest_addr_ton),
    U8(dest_addr_npi),
    CSTR(deliver_sm_t, destination_addr, 21),
    U8(esm_class),
    U8(protocol_id),
    U8(priority_flag),
    CSTR(deliver_sm_t, schedule_delivery_time, 1),
    CSTR(deliver_sm_t, validity_period, 1),
    U8(registered_delivery),
    U8(replace_if_present_flag),
    U8(data_coding),
    U8(sm_default_msg_id),
    {F_SM, 0, 0, "short_message"},
    {F_TLVS, 0, 0, "tlv"},
    {F_END, 0, 0, NULL},
};
static const struct fld submit_resp_flds[] = {
    CSTR(submit_sm_resp_t, message_id, 65),
    {F_END, 0, 0, NULL},
};
static const struct fld deliver_resp_flds[] = {
    CSTR(deliver_sm_resp_t, message_id, 1),
    {F_END, 0, 0, NULL},
};
static const struct fld header_flds[] = {
    {F_END, 0, 0, NULL},
};

struct cmd_desc {
    uint32_t id;
    const char *name;
    const struct fld *flds;
    size_t st_size;
    size_t tlv_off; /* offset of the tlv_t * list in the struct, or SIZE_MAX */
};

#define NOTLV SIZE_MAX
static const struct cmd_desc cmds[] = {
    {PDU_GENERIC_NACK, "generic_nack", header_flds, sizeof(generic_nack_t), NOTLV},
    {PDU_BIND_RECEIVER, "bind_receiver", bind_flds, sizeof(bind_receiver_t), NOTLV},
    {PDU_BIND_RECEIVER_RESP, "bind_receiver_resp", bind_resp_flds, sizeof(bind_receiver_resp_t),
     offsetof(bind_receiver_resp_t, tlv)},
    {PDU_BIND_TRANSMITTER, "bind_transmitter", bind_flds, sizeof(bind_transmitter_t), NOTLV},
    {PDU_BIND_TRANSMITTER_RESP, "bind_transmitter_resp", bind_resp_flds, sizeof(bind_transmitter_resp_t),
     offsetof(bind_transmitter_resp_t, tlv)},
    {PDU_SUBMIT_SM, "submit_sm", submit_flds, sizeof(submit_sm_t), offsetof(submit_sm_t, tlv)},
    {PDU_SUBMIT_SM_RESP, "submit_sm_resp", submit_resp_flds, sizeof(submit_sm_resp_t), NOTLV},
    {PDU_DELIVER_SM, "deliver_sm", deliver_flds, sizeof(deliver_sm_t), offsetof(deliver_sm_t, tlv)},
    {PDU_DELIVER_SM_RESP, "deliver_sm_resp", deliver_resp_flds, sizeof(deliver_sm_resp_t), NOTLV},
    {PDU_UNBIND, "unbind", header_flds, sizeof(unbind_t), NOTLV},
    {PDU_UNBIND_RESP, "unbind_resp", header_flds, sizeof(unbind_resp_t), NOTLV},
    {PDU_BIND_TRANSCEIVER, "bind_transceiver", bind_flds, sizeof(bind_transceiver_t), NOTLV},
    {PDU_BIND_TRANSCEIVER_RESP, "bind_transceiver_resp", bind_resp_flds, sizeof(bind_transceiver_resp_t),
     offsetof(bind_transceiver_resp_t, tlv)},
    {PDU_ENQUIRE_LINK, "enquire_link", header_flds, sizeof(enquire_link_t), NOTLV},
    {PDU_ENQUIRE_LINK_RESP, "enquire_link_resp", header_flds, sizeof(enquire_link_resp_t), NOTLV},
};

/* The bind structs share one layout; make sure, since bind_flds assumes it. */
_Static_assert(offsetof(bind_transmitter_t, address_range) == offsetof(bind_transceiver_t, address_range),
               "bind layouts differ");
_Static_assert(offsetof(bind_receiver_t, address_range) == offsetof(bind_transceiver_t, address_range),
               "bind layouts differ");
_Static_assert(offsetof(bind_transmitter_resp_t, system_id) == offsetof(bind_transceiver_resp_t, system_id),
               "bind_resp layouts differ");
_Static_assert(offsetof(bind_receiver_resp_t, system_id) == offsetof(bind_transceiver_resp_t, system_id),
               "bind_resp layouts differ");

static const struct cmd_desc *cmd_find(uint32_t id)
{
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (cmds[i].id == id)
            return &cmds[i];
    }
    return NULL;
}

static void why_set(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (!why || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

const char *pdu_command_name(uint32_t command_id)
{
    const struct cmd_desc *d = cmd_find(command_id);
    return d ? d->name : "unknown";
}

const char *pdu_status_name(uint32_t status)
{
    switch (status) {
    case PDU_ESME_ROK: return "ESME_ROK";
    case PDU_ESME_RINVMSGLEN: return "ESME_RINVMSGLEN";
    case PDU_ESME_RINVCMDLEN: return "ESME_RINVCMDLEN";
    case PDU_ESME_RINVCMDID: return "ESME_RINVCMDID";
    case PDU_ESME_RINVBNDSTS: return "ESME_RINVBNDSTS";
    case 0x05: return "ESME_RALYBND";
    case PDU_ESME_RSYSERR: return "ESME_RSYSERR";
    case 0x0A: return "ESME_RINVSRCADR";
    case 0x0B: return "ESME_RINVDSTADR";
    case PDU_ESME_RBINDFAIL: return "ESME_RBINDFAIL";
    case 0x0E: return "ESME_RINVPASWD";
    case 0x0F: return "ESME_RINVSYSID";
    case PDU_ESME_RMSGQFUL: return "ESME_RMSGQFUL";
    case 0x45: return "ESME_RSUBMITFAIL";
    case PDU_ESME_RTHROTTLED: return "ESME_RTHROTTLED";
    case 0x64: return "ESME_RX_T_APPN";
    case PDU_ESME_RX_P_APPN: return "ESME_RX_P_APPN";
    case 0x66: return "ESME_RX_R_APPN";
    case PDU_ESME_RINVOPTPARSTREAM: return "ESME_RINVOPTPARSTREAM";
    case 0xFE: return "ESME_RDELIVERYFAILURE";
    case 0xFF: return "ESME_RUNKNOWNERR";
    default: return "ESME_R?";
    }
}

enum car_err pdu_frame(const uint8_t *buf, size_t avail, size_t *pdu_len)
{
    uint32_t n;

    *pdu_len = 0;
    if (avail < 4)
        return CAR_ERR_AGAIN;
    n = rd32(buf);
    *pdu_len = n;
    /* Bound before anyone allocates or waits for command_length octets. */
    if (n < PDU_HEADER_LEN || n > PDU_MAX_LEN)
        return CAR_ERR_MALFORMED;
    if (avail < n)
        return CAR_ERR_AGAIN;
    return CAR_OK;
}

enum car_err pdu_header(const uint8_t *pdu, size_t len, struct pdu_header *out)
{
    if (len < PDU_HEADER_LEN)
        return CAR_ERR_MALFORMED;
    out->length = rd32(pdu);
    out->id = rd32(pdu + 4);
    out->status = rd32(pdu + 8);
    out->seq = rd32(pdu + 12);
    return CAR_OK;
}

size_t pdu_struct_size(uint32_t command_id)
{
    const struct cmd_desc *d = cmd_find(command_id);
    return d ? d->st_size : 0;
}

/* Walk the body; on success fill tlvs (if not NULL) in wire order. */
static enum car_err precheck(const uint8_t *pdu, size_t len, struct pdu_tlvs *tlvs, char *why, size_t whylen)
{
    struct pdu_header h;
    const struct cmd_desc *d;
    size_t pos = PDU_HEADER_LEN;
    size_t ntlv = 0;

    if (pdu_header(pdu, len, &h) != CAR_OK || h.length != len || len > PDU_MAX_LEN) {
        why_set(why, whylen, "command_length does not match the %zu octets framed", len);
        return CAR_ERR_MALFORMED;
    }
    d = cmd_find(h.id);
    if (!d) {
        why_set(why, whylen, "unknown command_id 0x%08x", h.id);
        return CAR_ERR_UNSUPPORTED;
    }
    if (tlvs)
        tlvs->n = 0;
    /* Error responses are often a bare header (SMPP 3.4 section 3.3.2). */
    if ((h.id & PDU_RESP_BIT) && h.status != 0 && len == PDU_HEADER_LEN)
        return CAR_OK;

    for (const struct fld *f = d->flds; f->type != F_END; f++) {
        switch (f->type) {
        case F_CSTR: {
            size_t room = len - pos;
            size_t lim = room < f->max ? room : f->max;
            const uint8_t *nul = memchr(pdu + pos, 0, lim);
            if (!nul) {
                why_set(why, whylen, "%s: %s not NUL-terminated within %u octets", d->name, f->name, f->max);
                return CAR_ERR_MALFORMED;
            }
            pos += (size_t)(nul - (pdu + pos)) + 1;
            break;
        }
        case F_U8:
            if (pos >= len) {
                why_set(why, whylen, "%s: truncated at %s", d->name, f->name);
                return CAR_ERR_MALFORMED;
            }
            pos++;
            break;
        case F_SM: {
            size_t sm_len;
            if (pos >= len) {
                why_set(why, whylen, "%s: truncated at sm_length", d->name);
                return CAR_ERR_MALFORMED;
            }
            sm_len = pdu[pos++];
            if (sm_len > PDU_SM_MAX || sm_len > len - pos) {
                why_set(why, whylen, "%s: sm_length %zu overruns the PDU", d->name, sm_len);
                return CAR_ERR_MALFORMED;
            }
            pos += sm_len;
            break;
        }
        case F_TLVS:
            while (pos < len) {
                uint16_t tag, tl;
                if (len - pos < 4) {
                    why_set(why, whylen, "%s: truncated TLV header", d->name);
                    return CAR_ERR_MALFORMED;
                }
                tag = (uint16_t)(pdu[pos] << 8 | pdu[pos + 1]);
                tl = (uint16_t)(pdu[pos + 2] << 8 | pdu[pos + 3]);
                if (tl > len - pos - 4 || tl > PDU_MAX_TLV_VALUE) {
                    why_set(why, whylen, "%s: TLV 0x%04x length %u overruns the PDU", d->name, tag, tl);
                    return CAR_ERR_MALFORMED;
                }
                if (ntlv >= PDU_MAX_TLVS) {
                    why_set(why, whylen, "%s: more than %d TLVs", d->name, PDU_MAX_TLVS);
                    return CAR_ERR_MALFORMED;
                }
                if (tlvs) {
                    tlvs->t[ntlv].tag = tag;
                    tlvs->t[ntlv].len = tl;
                    tlvs->t[ntlv].val = pdu + pos + 4;
                    tlvs->n = ntlv + 1;
                }
                ntlv++;
                pos += 4 + (size_t)tl;
            }
            break;
        case F_END: break;
        }
    }
    if (pos != len) {
        why_set(why, whylen, "%s: %zu trailing octets", d->name, len - pos);
        return CAR_ERR_MALFORMED;
    }
    return CAR_OK;
}

enum car_err pdu_precheck(const uint8_t *pdu, size_t len, char *why, size_t whylen)
{
    return precheck(pdu, len, NULL, why, whylen);
}

/* Free whatever list libsmpp34 hung on the struct, and forget it. */
static void free_lists(const struct cmd_desc *d, void *st)
{
    tlv_t **tp;

    if (d->tlv_off == NOTLV)
        return;
    tp = (tlv_t **)(void *)((uint8_t *)st + d->tlv_off);
    if (*tp)
        destroy_tlv(*tp);
    *tp = NULL;
}

enum car_err pdu_unpack(const uint8_t *pdu, size_t len, void *out, size_t out_size, struct pdu_tlvs *tlvs, char *why,
                        size_t whylen)
{
    struct pdu_tlvs local;
    struct pdu_header h;
    const struct cmd_desc *d;
    enum car_err rc;
    int r;

    if (!tlvs)
        tlvs = &local;
    tlvs->n = 0;
    rc = precheck(pdu, len, tlvs, why, whylen);
    if (rc != CAR_OK)
        goto out;
    rc = pdu_header(pdu, len, &h);
    if (rc != CAR_OK)
        goto out;
    d = cmd_find(h.id);
    if (out_size != d->st_size) {
        why_set(why, whylen, "%s: wrong struct size %zu for unpack", d->name, out_size);
        rc = CAR_ERR_INVALID;
        goto out;
    }
    memset(out, 0, out_size);
    if (len == PDU_HEADER_LEN && d->flds[0].type != F_END) {
        /* A bare error response: libsmpp34 would refuse the missing body. */
        uint32_t *hdr = out;
        hdr[0] = h.length;
        hdr[1] = h.id;
        hdr[2] = h.status;
        hdr[3] = h.seq;
        goto out;
    }
    smpp34_errno = 0;
    r = smpp34_unpack2(out, pdu, (int)len);
    /* The library may have built a TLV list before failing: free either way. */
    free_lists(d, out);
    if (r != 0) {
        why_set(why, whylen, "%s: libsmpp34 unpack failed (%d): %.200s", d->name, smpp34_errno, smpp34_strerror);
        rc = CAR_ERR_MALFORMED;
        goto out;
    }
out:
    return rc;
}

enum car_err pdu_pack(void *st, uint8_t *buf, size_t cap, size_t *outlen, char *why, size_t whylen)
{
    const uint32_t *hdr = st;
    const struct cmd_desc *d = cmd_find(hdr[1]);
    enum car_err rc = CAR_OK;
    int n = 0;
    int r;

    *outlen = 0;
    if (!d) {
        why_set(why, whylen, "pack: unknown command_id 0x%08x", hdr[1]);
        rc = CAR_ERR_INVALID;
        goto out;
    }
    for (const struct fld *f = d->flds; f->type != F_END; f++) {
        if (f->type == F_CSTR && !memchr((const uint8_t *)st + f->off, 0, f->max)) {
            why_set(why, whylen, "%s: %s not NUL-terminated", d->name, f->name);
            rc = CAR_ERR_INVALID;
            goto out;
        }
        /* deliver_sm_t lays its fields out differently from submit_sm_t (its
         * time fields are one octet), so read sm_length through the right type. */
        if (f->type == F_SM && (hdr[1] == PDU_DELIVER_SM ? ((const deliver_sm_t *)st)->sm_length
                                                         : ((const submit_sm_t *)st)->sm_length) > PDU_SM_MAX) {
            why_set(why, whylen, "%s: sm_length over %d", d->name, PDU_SM_MAX);
            rc = CAR_ERR_INVALID;
            goto out;
        }
    }
    if (cap < PDU_HEADER_LEN) {
        rc = CAR_ERR_TOO_LONG;
        goto out;
    }
    if (cap > PDU_MAX_LEN)
        cap = PDU_MAX_LEN;
    smpp34_errno = 0;
    r = smpp34_pack2(buf, (int)cap, &n, st);
    if (r != 0 || n < PDU_HEADER_LEN || (size_t)n > cap) {
        why_set(why, whylen, "%s: libsmpp34 pack failed (%d): %.200s", d->name, smpp34_errno, smpp34_strerror);
        rc = CAR_ERR_MALFORMED;
        goto out;
    }
    *outlen = (size_t)n;
out:
    if (d)
        free_lists(d, st);
    return rc;
}

/* ---- builders ---------------------------------------------------------- */

static enum car_err cpy(uint8_t *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;

    if (n >= size)
        return CAR_ERR_INVALID;
    if (n)
        memcpy(dst, src, n);
    dst[n] = 0;
    return CAR_OK;
}

enum car_err pdu_build_header_only(uint8_t *buf, size_t cap, size_t *outlen, uint32_t command_id, uint32_t status,
                                   uint32_t seq)
{
    *outlen = 0;
    if (command_id != PDU_ENQUIRE_LINK && command_id != PDU_ENQUIRE_LINK_RESP && command_id != PDU_UNBIND &&
        command_id != PDU_UNBIND_RESP && command_id != PDU_GENERIC_NACK)
        return CAR_ERR_INVALID;
    if (cap < PDU_HEADER_LEN)
        return CAR_ERR_TOO_LONG;
    wr32(buf, PDU_HEADER_LEN);
    wr32(buf + 4, command_id);
    wr32(buf + 8, status);
    wr32(buf + 12, seq);
    *outlen = PDU_HEADER_LEN;
    return CAR_OK;
}

/* A bare header for an error response (no libsmpp34). */
static enum car_err bare(uint8_t *buf, size_t cap, size_t *outlen, uint32_t id, uint32_t status, uint32_t seq)
{
    if (cap < PDU_HEADER_LEN)
        return CAR_ERR_TOO_LONG;
    wr32(buf, PDU_HEADER_LEN);
    wr32(buf + 4, id);
    wr32(buf + 8, status);
    wr32(buf + 12, seq);
    *outlen = PDU_HEADER_LEN;
    return CAR_OK;
}

/*
 * The short-message PDUs (submit_sm, deliver_sm and their responses) are
 * written and read here directly, by the layout the pre-check walks: they
 * are the hot path (two submit_sm and one deliver_sm per signature), and
 * libsmpp34 formats a debug string with snprintf for every field it packs or
 * unpacks (measured: 8-15% of the gateway's CPU).  The binds stay with
 * libsmpp34.  tests/carriers/test_pdu.c checks both agree octet for octet.
 */
struct pdu_wr {
    uint8_t *buf;
    size_t pos, cap;
    int over; /* the PDU did not fit */
};

static void wr_u8(struct pdu_wr *w, uint8_t v)
{
    if (w->pos >= w->cap) {
        w->over = 1;
        return;
    }
    w->buf[w->pos++] = v;
}

static void wr_mem(struct pdu_wr *w, const void *p, size_t n)
{
    if (n > w->cap - w->pos) {
        w->over = 1;
        return;
    }
    if (n)
        memcpy(w->buf + w->pos, p, n);
    w->pos += n;
}

/* A C-octet string, NUL included. */
static void wr_cstr(struct pdu_wr *w, const char *s)
{
    wr_mem(w, s, strlen(s) + 1);
}

static void wr_begin(struct pdu_wr *w, uint8_t *buf, size_t cap, uint32_t id, uint32_t seq)
{
    w->buf = buf;
    w->pos = PDU_HEADER_LEN;
    w->cap = cap > PDU_MAX_LEN ? PDU_MAX_LEN : cap;
    w->over = cap < PDU_HEADER_LEN;
    if (!w->over) {
        wr32(buf + 4, id);
        wr32(buf + 8, 0);
        wr32(buf + 12, seq);
    }
}

static enum car_err wr_end(struct pdu_wr *w, size_t *outlen)
{
    if (w->over)
        return CAR_ERR_TOO_LONG;
    wr32(w->buf, (uint32_t)w->pos);
    *outlen = w->pos;
    return CAR_OK;
}

/* submit_sm and deliver_sm have one layout: service_type .. short_message. */
static void wr_sm(struct pdu_wr *w, const struct pdu_sm *sm)
{
    wr_u8(w, 0); /* service_type "" */
    wr_u8(w, sm->source_ton);
    wr_u8(w, sm->source_npi);
    wr_cstr(w, sm->source_addr);
    wr_u8(w, sm->dest_ton);
    wr_u8(w, sm->dest_npi);
    wr_cstr(w, sm->dest_addr);
    wr_u8(w, sm->esm_class);
    wr_u8(w, sm->protocol_id);
    wr_u8(w, 0); /* priority_flag */
    wr_u8(w, 0); /* schedule_delivery_time "" */
    wr_u8(w, 0); /* validity_period "" */
    wr_u8(w, sm->registered_delivery);
    wr_u8(w, 0); /* replace_if_present_flag */
    wr_u8(w, sm->data_coding);
    wr_u8(w, 0); /* sm_default_msg_id */
    wr_u8(w, (uint8_t)sm->ud_len);
    wr_mem(w, sm->ud, sm->ud_len);
}

static void wr_tlv(struct pdu_wr *w, uint16_t tag, const void *val, uint16_t len)
{
    wr_u8(w, (uint8_t)(tag >> 8));
    wr_u8(w, (uint8_t)tag);
    wr_u8(w, (uint8_t)(len >> 8));
    wr_u8(w, (uint8_t)len);
    wr_mem(w, val, len);
}

enum car_err pdu_build_bind_trx(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, const char *system_id,
                                const char *password, const char *system_type)
{
    bind_transceiver_t b;
    enum car_err rc;

    memset(&b, 0, sizeof(b));
    *outlen = 0;
    b.command_id = PDU_BIND_TRANSCEIVER;
    b.sequence_number = seq;
    b.interface_version = SMPP_VERSION;
    rc = cpy(b.system_id, sizeof(b.system_id), system_id);
    if (rc == CAR_OK)
        rc = cpy(b.password, sizeof(b.password), password);
    if (rc == CAR_OK)
        rc = cpy(b.system_type, sizeof(b.system_type), system_type);
    if (rc == CAR_OK)
        rc = pdu_pack(&b, buf, cap, outlen, NULL, 0);
    /* The password sat in a stack struct. */
    memset(&b, 0, sizeof(b));
    __asm__ __volatile__("" : : "r"(&b) : "memory");
    return rc;
}

enum car_err pdu_build_bind_trx_resp(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, uint32_t status,
                                     const char *system_id)
{
    bind_transceiver_resp_t b;
    enum car_err rc;

    *outlen = 0;
    if (status != 0)
        return bare(buf, cap, outlen, PDU_BIND_TRANSCEIVER_RESP, status, seq);
    memset(&b, 0, sizeof(b));
    b.command_id = PDU_BIND_TRANSCEIVER_RESP;
    b.sequence_number = seq;
    rc = cpy(b.system_id, sizeof(b.system_id), system_id);
    if (rc == CAR_OK)
        rc = pdu_pack(&b, buf, cap, outlen, NULL, 0);
    return rc;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
    }
    return 1;
}

enum car_err pdu_sm_spka(struct pdu_sm *sm, const char *source, const char *dest, const uint8_t *ud, size_t ud_len)
{
    memset(sm, 0, sizeof(*sm));
    sm->message_state = -1;
    if (ud_len > PDU_SM_MAX || strlen(source) >= PDU_ADDR_MAX || strlen(dest) >= PDU_ADDR_MAX)
        return CAR_ERR_TOO_LONG;
    memcpy(sm->source_addr, source, strlen(source) + 1);
    memcpy(sm->dest_addr, dest, strlen(dest) + 1);
    /* A short code is not an international number. */
    if (all_digits(source) && strlen(source) > 8) {
        sm->source_ton = PDU_SPKA_TON;
        sm->source_npi = PDU_SPKA_NPI;
    } else {
        sm->source_ton = 6;
        sm->source_npi = 0;
    }
    sm->dest_ton = PDU_SPKA_TON;
    sm->dest_npi = PDU_SPKA_NPI;
    sm->esm_class = PDU_SPKA_ESM_CLASS;
    sm->protocol_id = PDU_SPKA_PID;
    sm->data_coding = PDU_SPKA_DCS;
    sm->registered_delivery = PDU_SPKA_REGDLV;
    if (ud_len)
        memcpy(sm->ud, ud, ud_len);
    sm->ud_len = ud_len;
    return CAR_OK;
}

static enum car_err sm_check(const struct pdu_sm *sm)
{
    if (sm->ud_len > PDU_SM_MAX || !memchr(sm->source_addr, 0, sizeof(sm->source_addr)) ||
        !memchr(sm->dest_addr, 0, sizeof(sm->dest_addr)))
        return CAR_ERR_INVALID;
    return CAR_OK;
}

enum car_err pdu_build_submit_sm(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, const struct pdu_sm *sm)
{
    struct pdu_wr w;
    enum car_err rc;

    *outlen = 0;
    rc = sm_check(sm);
    if (rc != CAR_OK)
        return rc;
    wr_begin(&w, buf, cap, PDU_SUBMIT_SM, seq);
    wr_sm(&w, sm);
    return wr_end(&w, outlen);
}

enum car_err pdu_build_submit_sm_resp(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, uint32_t status,
                                      const char *message_id)
{
    struct pdu_wr w;

    *outlen = 0;
    if (status != 0)
        return bare(buf, cap, outlen, PDU_SUBMIT_SM_RESP, status, seq);
    if (!message_id)
        message_id = "";
    if (strlen(message_id) >= PDU_MSGID_MAX)
        return CAR_ERR_INVALID;
    wr_begin(&w, buf, cap, PDU_SUBMIT_SM_RESP, seq);
    wr_cstr(&w, message_id);
    return wr_end(&w, outlen);
}

enum car_err pdu_build_deliver_sm(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, const struct pdu_sm *sm)
{
    struct pdu_wr w;
    enum car_err rc;

    *outlen = 0;
    rc = sm_check(sm);
    if (rc != CAR_OK)
        return rc;
    if (!memchr(sm->receipted_id, 0, sizeof(sm->receipted_id)))
        return CAR_ERR_INVALID;
    wr_begin(&w, buf, cap, PDU_DELIVER_SM, seq);
    wr_sm(&w, sm);
    if (sm->receipted_id[0]) {
        /* In the order libsmpp34 wrote them (its list grows at the head). */
        if (sm->message_state >= 0) {
            uint8_t st = (uint8_t)sm->message_state;
            wr_tlv(&w, TLVID_message_state, &st, 1);
        }
        wr_tlv(&w, TLVID_receipted_message_id, sm->receipted_id, (uint16_t)(strlen(sm->receipted_id) + 1));
    }
    return wr_end(&w, outlen);
}

enum car_err pdu_build_deliver_sm_resp(uint8_t *buf, size_t cap, size_t *outlen, uint32_t seq, uint32_t status)
{
    struct pdu_wr w;

    *outlen = 0;
    if (status != 0)
        return bare(buf, cap, outlen, PDU_DELIVER_SM_RESP, status, seq);
    wr_begin(&w, buf, cap, PDU_DELIVER_SM_RESP, seq);
    wr_u8(&w, 0); /* message_id "" */
    return wr_end(&w, outlen);
}

/* ---- decoders ---------------------------------------------------------- */

enum car_err pdu_submit_resp_decode(const uint8_t *pdu, size_t len, char message_id[PDU_MSGID_MAX], char *why,
                                    size_t whylen)
{
    struct pdu_header h;
    enum car_err rc;

    message_id[0] = 0;
    rc = precheck(pdu, len, NULL, why, whylen);
    if (rc != CAR_OK)
        return rc;
    rc = pdu_header(pdu, len, &h);
    if (rc != CAR_OK)
        return rc;
    if (h.id != PDU_SUBMIT_SM_RESP)
        return CAR_ERR_INVALID;
    /* The pre-check found message_id's NUL within 65 octets; a bare header has none. */
    if (len > PDU_HEADER_LEN)
        memcpy(message_id, pdu + PDU_HEADER_LEN, strlen((const char *)pdu + PDU_HEADER_LEN) + 1);
    return CAR_OK;
}

static void sm_tlvs(struct pdu_sm *out, const struct pdu_tlvs *tl)
{
    for (size_t i = 0; i < tl->n; i++) {
        const struct pdu_tlv *t = &tl->t[i];
        if (t->tag == TLVID_receipted_message_id && t->len > 0) {
            size_t n = t->len < PDU_MSGID_MAX - 1 ? t->len : PDU_MSGID_MAX - 1;
            const uint8_t *nul = memchr(t->val, 0, n);
            if (nul)
                n = (size_t)(nul - t->val);
            memcpy(out->receipted_id, t->val, n);
            out->receipted_id[n] = 0;
        } else if (t->tag == TLVID_message_state && t->len == 1) {
            out->message_state = t->val[0];
        }
    }
}

/* Copy the C-octet string at pdu + *pos (NUL-checked by the pre-check) and step over it. */
static void rd_cstr(const uint8_t *pdu, size_t *pos, char *dst, size_t size)
{
    size_t n = strlen((const char *)pdu + *pos);
    if (dst) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, pdu + *pos, c);
        dst[c] = 0;
    }
    *pos += n + 1;
}

enum car_err pdu_sm_decode(const uint8_t *pdu, size_t len, struct pdu_sm *out, char *why, size_t whylen)
{
    struct pdu_tlvs tl;
    struct pdu_header h;
    enum car_err rc;
    size_t pos = PDU_HEADER_LEN;

    memset(out, 0, sizeof(*out));
    out->message_state = -1;
    rc = pdu_header(pdu, len, &h);
    if (rc != CAR_OK)
        return rc;
    if (h.id != PDU_SUBMIT_SM && h.id != PDU_DELIVER_SM) {
        why_set(why, whylen, "%s is not a short message", pdu_command_name(h.id));
        return CAR_ERR_INVALID;
    }
    /* Every field is inside the PDU and every string terminated within its limit. */
    rc = precheck(pdu, len, &tl, why, whylen);
    if (rc != CAR_OK)
        return rc;
    rd_cstr(pdu, &pos, NULL, 0); /* service_type */
    out->source_ton = pdu[pos++];
    out->source_npi = pdu[pos++];
    rd_cstr(pdu, &pos, out->source_addr, sizeof(out->source_addr));
    out->dest_ton = pdu[pos++];
    out->dest_npi = pdu[pos++];
    rd_cstr(pdu, &pos, out->dest_addr, sizeof(out->dest_addr));
    out->esm_class = pdu[pos++];
    out->protocol_id = pdu[pos++];
    pos++;                       /* priority_flag */
    rd_cstr(pdu, &pos, NULL, 0); /* schedule_delivery_time */
    rd_cstr(pdu, &pos, NULL, 0); /* validity_period */
    out->registered_delivery = pdu[pos++];
    pos++; /* replace_if_present_flag */
    out->data_coding = pdu[pos++];
    pos++; /* sm_default_msg_id */
    out->ud_len = pdu[pos++];
    memcpy(out->ud, pdu + pos, out->ud_len);
    sm_tlvs(out, &tl);
    return CAR_OK;
}

enum pdu_mo_kind pdu_mo_classify(const struct pdu_sm *sm)
{
    if (sm->esm_class & PDU_ESM_TYPE_MASK)
        return PDU_MO_RECEIPT;
    if (sm->esm_class & PDU_ESM_UDHI)
        return PDU_MO_UDH;
    return PDU_MO_PLAIN;
}

/* Copy the token after `key` in text (bounded by n) up to a space. */
static int receipt_field(const char *text, size_t n, const char *key, char *dst, size_t dstlen)
{
    size_t kl = strlen(key);

    for (size_t i = 0; i + kl <= n; i++) {
        if (memcmp(text + i, key, kl) == 0 && (i == 0 || text[i - 1] == ' ')) {
            size_t j = i + kl;
            size_t k = 0;
            while (j < n && text[j] != ' ' && k + 1 < dstlen)
                dst[k++] = text[j++];
            dst[k] = 0;
            return 1;
        }
    }
    return 0;
}

enum car_err pdu_receipt_parse(const struct pdu_sm *sm, struct pdu_receipt *out)
{
    const char *text = (const char *)sm->ud;
    char errs[8];
    unsigned err = 0;

    memset(out, 0, sizeof(*out));
    if (sm->receipted_id[0]) {
        memcpy(out->id, sm->receipted_id, sizeof(out->id));
    } else if (!receipt_field(text, sm->ud_len, "id:", out->id, sizeof(out->id))) {
        return CAR_ERR_MALFORMED;
    }
    if (!receipt_field(text, sm->ud_len, "stat:", out->stat, sizeof(out->stat)))
        memcpy(out->stat, "UNKNOWN", 8);
    if (receipt_field(text, sm->ud_len, "err:", errs, sizeof(errs))) {
        for (const char *p = errs; *p >= '0' && *p <= '9'; p++)
            err = err * 10 + (unsigned)(*p - '0');
    }
    out->err = err;
    return CAR_OK;
}

enum car_err pdu_receipt_format(struct pdu_sm *sm, const char *id, const char *stat, unsigned err)
{
    int n;

    if (strlen(id) >= PDU_MSGID_MAX)
        return CAR_ERR_INVALID;
    n = snprintf((char *)sm->ud, sizeof(sm->ud),
                 "id:%s sub:001 dlvrd:001 submit date:2601010000 done date:2601010000 stat:%.7s err:%03u text:", id,
                 stat, err % 1000);
    if (n < 0 || (size_t)n >= sizeof(sm->ud))
        return CAR_ERR_TOO_LONG;
    sm->ud_len = (size_t)n;
    memcpy(sm->receipted_id, id, strlen(id) + 1);
    sm->message_state = strcmp(stat, "DELIVRD") == 0 ? 2 : 5;
    sm->esm_class = PDU_ESM_RECEIPT;
    sm->protocol_id = 0;
    sm->data_coding = 0;
    sm->registered_delivery = 0;
    return CAR_OK;
}
