/*
 * gw_admin_decode.c - decode-pdu and decode-ud; see gw_admin_decode.h.
 *
 * The SMPP body is walked with a table of each command's SMPP 3.4 layout
 * rather than through libsmpp34's structs, so that what is printed is the
 * wire order and every field is read through one bounded cursor.  It runs
 * only after pdu_precheck() accepted the PDU, and then pdu_sm_decode()
 * confirms the gateway's own path accepts it too.
 */
#include "gw_admin_decode.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "car_ota.h"
#include "car_pdu.h"
#include "car_spka.h"
#include "car_text.h"
#include "car_udh.h"
#include "log.h"
#include "util.h"

/* ---- hex ---------------------------------------------------------------- */

long gw_admin_hex_parse(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;

    for (const char *p = hex; *p; p++) {
        int v;
        if (hi < 0 && strchr(" \t\r\n:", *p))
            continue;
        v = util_hexval_any(*p);
        if (v < 0)
            return -1;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n == cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    if (hi >= 0)
        return -1;
    return (long)n;
}

void gw_admin_hex_print(const char *indent, const uint8_t *p, size_t n, size_t per_line)
{
    if (per_line == 0)
        per_line = n ? n : 1;
    for (size_t i = 0; i < n; i += per_line) {
        fputs(indent, stdout);
        for (size_t j = i; j < n && j < i + per_line; j++)
            printf("%02x", p[j]);
        putchar('\n');
    }
}

/* Print n octets of untrusted text quoted, escaping anything not printable ASCII. */
static void print_escaped(const uint8_t *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            printf("\\%c", s[i]);
        else if (s[i] == '\n')
            fputs("\\n", stdout);
        else if (s[i] < 0x20 || s[i] == 0x7f)
            printf("\\x%02x", s[i]);
        else
            putchar(s[i]);
    }
    putchar('"');
}

/* Same, but lets UTF-8 through: for display text already decoded by text_decode(). */
static void print_utf8(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_hex_field(const char *name, const uint8_t *p, size_t n)
{
    printf("    %-14s %zu octets\n", name, n);
    gw_admin_hex_print("      ", p, n, 32);
}

/* ---- UDH and secured packet header --------------------------------------- */

static const char *ie_name(uint8_t iei)
{
    switch (iei) {
    case 0x00: return "concatenation, 8-bit reference";
    case 0x08: return "concatenation, 16-bit reference";
    case 0x70: return "SPKA/1 command packet (TS 31.115 command packet identifier)";
    case 0x71: return "SPKA/1 response packet (TS 31.115 response packet identifier)";
    }
    return "unknown IE, skipped";
}

/* Print and check one message's UDH.  Returns 0, or -1 with a message on stderr. */
static int print_udh(const char *indent, const uint8_t *ud, size_t len, struct udh_info *info)
{
    size_t udhl, i;

    if (udh_parse(ud, len, info) != CAR_OK) {
        fprintf(stderr, "error: user data header refused: UDHL or an IE overruns the message, "
                        "or the concatenation total/sequence is out of range (1..8)\n");
        return -1;
    }
    udhl = ud[0];
    printf("%sUDH    UDHL %zu\n", indent, udhl);
    /* udh_parse() has checked that every IE fits inside UDHL. */
    for (i = 1; i + 2 <= 1 + udhl && i + 2 <= len;) {
        uint8_t iei = ud[i], iedl = ud[i + 1];
        const uint8_t *v = ud + i + 2;
        if (i + 2 + iedl > 1 + udhl)
            break;
        printf("%s  IE 0x%02x len %u: %s", indent, iei, iedl, ie_name(iei));
        if (iei == 0x00 && iedl == 3)
            printf(": ref %u, total %u, seq %u", v[0], v[1], v[2]);
        else if (iei == 0x08 && iedl == 4)
            printf(": ref %u, total %u, seq %u", (unsigned)v[0] << 8 | v[1], v[2], v[3]);
        putchar('\n');
        i += 2 + (size_t)iedl;
    }
    printf("%spayload %zu octets\n", indent, info->payload_len);
    return 0;
}

/* The header of a command (CPL CHL SPI KIc KID TAR) or response (RPL RHL TAR) packet. */
static int print_packet_header(const char *indent, const uint8_t *pkt, size_t len, int is_response)
{
    uint8_t tar[3];
    size_t claimed = 0;
    size_t hdr = is_response ? 6 : 10;

    if (ota_peek(pkt, len, is_response, tar, &claimed) != CAR_OK || len < hdr) {
        fprintf(stderr, "error: secured packet refused: %zu octets is too short for its header (%zu)\n", len, hdr);
        return -1;
    }
    printf("%ssecured %s packet (TS 102 225)\n", indent, is_response ? "response" : "command");
    printf("%s  %s    0x%02x%02x (%zu octets in all, %zu here)\n", indent, is_response ? "RPL" : "CPL", pkt[0], pkt[1],
           claimed, len);
    if (is_response) {
        printf("%s  RHL    0x%02x%s\n", indent, pkt[2], pkt[2] == 0x12 ? "" : " (SPKA/1 expects 0x12)");
    } else {
        printf("%s  CHL    0x%02x%s\n", indent, pkt[2], pkt[2] == 0x15 ? "" : " (SPKA/1 expects 0x15)");
        printf("%s  SPI    %02x %02x%s\n", indent, pkt[3], pkt[4],
               pkt[3] == 0x16 && pkt[4] == 0x39 ? " (cntr higher, ciphered, CC; PoR ciphered with CC)" : "");
        printf("%s  KIc    0x%02x (key version %u, %s)\n", indent, pkt[5], (unsigned)(pkt[5] >> 4),
               (pkt[5] & 0x0f) == 0x02 ? "AES-128-CBC" : "not the SPKA/1 algorithm");
        printf("%s  KID    0x%02x (key version %u, %s)\n", indent, pkt[6], (unsigned)(pkt[6] >> 4),
               (pkt[6] & 0x0f) == 0x02 ? "AES-CMAC" : "not the SPKA/1 algorithm");
    }
    printf("%s  TAR    %02x %02x %02x%s\n", indent, tar[0], tar[1], tar[2],
           memcmp(tar, OTA_TAR_SPK, 3) == 0 ? " (\"SPK\")" : " (not SPK: not for the SPKA/1 applet)");
    return 0;
}

/* ---- decode-pdu ----------------------------------------------------------- */

enum fld_type { F_U8, F_CSTR, F_ADDR, F_SECRET, F_SM };

struct fld {
    const char *name;
    enum fld_type type;
    size_t max; /* C-octet strings: size including the NUL */
};

/* SMPP 3.4 section 4 layouts, in wire order. */
static const struct fld l_bind[] = {
    {"system_id", F_CSTR, 16}, {"password", F_SECRET, 9}, {"system_type", F_CSTR, 13},   {"interface_version", F_U8, 0},
    {"addr_ton", F_U8, 0},     {"addr_npi", F_U8, 0},     {"address_range", F_CSTR, 41}, {NULL, 0, 0},
};
static const struct fld l_bind_resp[] = {{"system_id", F_CSTR, 16}, {NULL, 0, 0}};
static const struct fld l_sm_resp[] = {{"message_id", F_CSTR, 65}, {NULL, 0, 0}};
static const struct fld l_sm[] = {
    {"service_type", F_CSTR, 6},
    {"source_addr_ton", F_U8, 0},
    {"source_addr_npi", F_U8, 0},
    {"source_addr", F_ADDR, 21},
    {"dest_addr_ton", F_U8, 0},
    {"dest_addr_npi", F_U8, 0},
    {"destination_addr", F_ADDR, 21},
    {"esm_class", F_U8, 0},
    {"protocol_id", F_U8, 0},
    {"priority_flag", F_U8, 0},
    {"schedule_delivery_time", F_CSTR, 17},
    {"validity_period", F_CSTR, 17},
    {"registered_delivery", F_U8, 0},
    {"replace_if_present", F_U8, 0},
    {"data_coding", F_U8, 0},
    {"sm_default_msg_id", F_U8, 0},
    {"short_message", F_SM, 0},
    {NULL, 0, 0},
};
static const struct fld l_none[] = {{NULL, 0, 0}};

static const struct fld *layout_of(uint32_t id, int *has_tlvs)
{
    *has_tlvs = 0;
    switch (id) {
    case PDU_BIND_RECEIVER:
    case PDU_BIND_TRANSMITTER:
    case PDU_BIND_TRANSCEIVER: return l_bind;
    case PDU_BIND_RECEIVER_RESP:
    case PDU_BIND_TRANSMITTER_RESP:
    case PDU_BIND_TRANSCEIVER_RESP: *has_tlvs = 1; return l_bind_resp;
    case PDU_SUBMIT_SM:
    case PDU_DELIVER_SM: *has_tlvs = 1; return l_sm;
    case PDU_SUBMIT_SM_RESP:
    case PDU_DELIVER_SM_RESP: return l_sm_resp;
    }
    return l_none;
}

static const char *tlv_name(uint16_t tag)
{
    static const struct {
        uint16_t tag;
        const char *name;
    } names[] = {
        {0x0005, "dest_addr_subunit"},
        {0x0006, "dest_network_type"},
        {0x0007, "dest_bearer_type"},
        {0x0008, "dest_telematics_id"},
        {0x000D, "source_addr_subunit"},
        {0x000E, "source_network_type"},
        {0x000F, "source_bearer_type"},
        {0x0010, "source_telematics_id"},
        {0x0017, "qos_time_to_live"},
        {0x0019, "payload_type"},
        {0x001D, "additional_status_info_text"},
        {0x001E, "receipted_message_id"},
        {0x0030, "ms_msg_wait_facilities"},
        {0x0201, "privacy_indicator"},
        {0x0202, "source_subaddress"},
        {0x0203, "dest_subaddress"},
        {0x0204, "user_message_reference"},
        {0x0205, "user_response_code"},
        {0x020A, "source_port"},
        {0x020B, "destination_port"},
        {0x020C, "sar_msg_ref_num"},
        {0x020D, "language_indicator"},
        {0x020E, "sar_total_segments"},
        {0x020F, "sar_segment_seqnum"},
        {0x0210, "sc_interface_version"},
        {0x0302, "callback_num_pres_ind"},
        {0x0303, "callback_num_atag"},
        {0x0304, "number_of_messages"},
        {0x0381, "callback_num"},
        {0x0420, "dpf_result"},
        {0x0421, "set_dpf"},
        {0x0422, "ms_availability_status"},
        {0x0423, "network_error_code"},
        {0x0424, "message_payload"},
        {0x0425, "delivery_failure_reason"},
        {0x0426, "more_messages_to_send"},
        {0x0427, "message_state"},
        {0x0501, "ussd_service_op"},
        {0x1201, "display_time"},
        {0x1203, "sms_signal"},
        {0x1204, "ms_validity"},
        {0x130C, "alert_on_message_delivery"},
        {0x1380, "its_reply_type"},
        {0x1383, "its_session_info"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].tag == tag)
            return names[i].name;
    return "vendor-specific or unknown";
}

/* Print an address; a subscriber-like number is masked unless asked for. */
static void print_addr(const char *s, size_t n, int unmask)
{
    char buf[LOG_MSISDN_BUFSZ];
    if (!unmask && n >= 8 && strspn(s, "0123456789+") == n) {
        printf("%s (masked; --unmask shows it)", log_msisdn(s, buf));
        return;
    }
    print_escaped((const uint8_t *)s, n);
}

static void print_u8_note(const char *name, uint8_t v)
{
    if (strcmp(name, "esm_class") == 0) {
        if (v & PDU_ESM_UDHI)
            fputs(" UDHI", stdout);
        if (v & PDU_ESM_TYPE_MASK)
            fputs((v & PDU_ESM_TYPE_MASK) == PDU_ESM_RECEIPT ? " delivery-receipt" : " receipt/ack type", stdout);
    } else if (strcmp(name, "protocol_id") == 0 && v == PDU_SPKA_PID) {
        fputs(" SIM data download", stdout);
    } else if (strcmp(name, "data_coding") == 0 && v == PDU_SPKA_DCS) {
        fputs(" 8-bit, class 2 (SIM specific)", stdout);
    }
}

/* The UD of a submit_sm/deliver_sm with UDHI: UDH, then the packet header when present. */
static int print_sm_udh(const uint8_t *ud, size_t len)
{
    struct udh_info info;

    if (print_udh("    ", ud, len, &info) != 0)
        return -1;
    if (info.kind == UDH_COMMAND || info.kind == UDH_RESPONSE)
        return print_packet_header("    ", info.payload, info.payload_len, info.kind == UDH_RESPONSE);
    if (info.concat && info.seq > 1) {
        printf("    continuation segment %u of %u: the packet header is in segment 1\n", info.seq, info.total);
        return 0;
    }
    printf("    no SPKA/1 IE: not an SPKA/1 packet\n");
    return 0;
}

enum gw_admin_exit gw_admin_decode_pdu(const char *hex, int unmask)
{
    uint8_t pdu[PDU_MAX_LEN + 1];
    char why[256];
    struct pdu_header h;
    const struct fld *layout;
    const uint8_t *sm = NULL;
    size_t sm_len = 0, plen = 0, off;
    uint8_t esm = 0;
    int has_tlvs;
    unsigned ntlv = 0;
    long n;
    enum car_err rc;

    n = gw_admin_hex_parse(hex, pdu, sizeof(pdu));
    if (n < 0) {
        fprintf(stderr, "error: not a PDU in hex: odd digit count, a non-hex character, or over %d octets\n",
                PDU_MAX_LEN);
        return GW_ADMIN_FAIL;
    }
    rc = pdu_frame(pdu, (size_t)n, &plen);
    if (rc == CAR_ERR_AGAIN && n < 4) {
        fprintf(stderr, "error: refused: %ld octets, too short for command_length\n", n);
        return GW_ADMIN_FAIL;
    }
    if (rc == CAR_ERR_AGAIN) {
        fprintf(stderr, "error: refused: truncated: command_length is %zu but only %ld octets were given\n", plen, n);
        return GW_ADMIN_FAIL;
    }
    if (rc != CAR_OK) {
        fprintf(stderr, "error: refused: command_length %zu is impossible (%d..%d); a link would be dropped\n", plen,
                PDU_HEADER_LEN, PDU_MAX_LEN);
        return GW_ADMIN_FAIL;
    }
    if (plen < (size_t)n)
        fprintf(stderr, "warning: %zu octets after the PDU are ignored\n", (size_t)n - plen);
    if (pdu_header(pdu, plen, &h) != CAR_OK) {
        fprintf(stderr, "error: refused: no complete header\n");
        return GW_ADMIN_FAIL;
    }
    printf("header\n");
    printf("  command_length   %u\n", h.length);
    printf("  command_id       0x%08x %s\n", h.id, pdu_command_name(h.id));
    printf("  command_status   0x%08x %s\n", h.status, pdu_status_name(h.status));
    printf("  sequence_number  %u\n", h.seq);

    rc = pdu_precheck(pdu, plen, why, sizeof(why));
    if (rc == CAR_ERR_UNSUPPORTED) {
        fprintf(stderr,
                "error: refused: command_id 0x%08x is not one simpki handles (%s); "
                "it would be answered with generic_nack ESME_RINVCMDID\n",
                h.id, why);
        return GW_ADMIN_FAIL;
    }
    if (rc != CAR_OK) {
        fprintf(stderr, "error: refused by the pre-check: %s\n", why);
        return GW_ADMIN_FAIL;
    }
    if (plen == PDU_HEADER_LEN) {
        printf("body: none\n");
        return GW_ADMIN_OK;
    }

    layout = layout_of(h.id, &has_tlvs);
    printf("mandatory fields\n");
    off = PDU_HEADER_LEN;
    /* The pre-check has validated this layout; every read is bounded again anyway. */
    for (const struct fld *f = layout; f->name; f++) {
        if (f->type == F_U8) {
            if (off >= plen)
                goto short_body;
            printf("  %-24s 0x%02x", f->name, pdu[off]);
            print_u8_note(f->name, pdu[off]);
            putchar('\n');
            if (strcmp(f->name, "esm_class") == 0)
                esm = pdu[off];
            off++;
        } else if (f->type == F_SM) {
            if (off >= plen || pdu[off] > plen - off - 1)
                goto short_body;
            sm_len = pdu[off];
            sm = pdu + off + 1;
            printf("  %-24s %zu\n", "sm_length", sm_len);
            off += 1 + sm_len;
        } else {
            const uint8_t *nul = memchr(pdu + off, 0, plen - off);
            size_t len;
            if (!nul || (size_t)(nul - (pdu + off)) >= f->max)
                goto short_body;
            len = (size_t)(nul - (pdu + off));
            printf("  %-24s ", f->name);
            if (f->type == F_SECRET)
                printf("(%zu characters, not shown)", len);
            else if (f->type == F_ADDR)
                print_addr((const char *)pdu + off, len, unmask);
            else
                print_escaped(pdu + off, len);
            putchar('\n');
            off += len + 1;
        }
    }
    if (has_tlvs) {
        while (off < plen) {
            uint16_t tag, len;
            if (plen - off < 4)
                goto short_body;
            tag = (uint16_t)(pdu[off] << 8 | pdu[off + 1]);
            len = (uint16_t)(pdu[off + 2] << 8 | pdu[off + 3]);
            if (len > plen - off - 4)
                goto short_body;
            if (ntlv++ == 0)
                printf("TLVs\n");
            printf("  0x%04x %-28s len %u\n", tag, tlv_name(tag), len);
            if (len)
                gw_admin_hex_print("    ", pdu + off + 4, len, 32);
            off += 4 + (size_t)len;
        }
    } else if (off != plen) {
        goto short_body;
    }

    if (sm) {
        struct pdu_sm dec;
        printf("short_message (%zu octets)\n", sm_len);
        gw_admin_hex_print("  ", sm, sm_len, 32);
        if (esm & PDU_ESM_UDHI) {
            if (print_sm_udh(sm, sm_len) != 0)
                return GW_ADMIN_FAIL;
        } else if (sm_len) {
            printf("  text ");
            print_escaped(sm, sm_len);
            putchar('\n');
        }
        /* The gateway's own path must take it too: say so when libsmpp34 would not. */
        if (pdu_sm_decode(pdu, plen, &dec, why, sizeof(why)) != CAR_OK) {
            fprintf(stderr, "error: refused by the SMPP unpacker: %s\n", why);
            return GW_ADMIN_FAIL;
        }
    }
    return GW_ADMIN_OK;

short_body:
    /* Only reachable if pdu_precheck() and this table disagree. */
    fprintf(stderr, "error: refused: the body does not match the SMPP 3.4 layout of %s at offset %zu\n",
            pdu_command_name(h.id), off);
    return GW_ADMIN_FAIL;
}

/* ---- decode-ud ------------------------------------------------------------ */

static const char *por_status_name(uint8_t s)
{
    static const char *const names[] = {
        "PoR OK",
        "RC/CC/DS failed",
        "CNTR low",
        "CNTR high",
        "CNTR blocked",
        "ciphering error",
        "security error",
        "insufficient memory",
        "more time",
        "TAR unknown",
        "insufficient security level",
    };
    return s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

static const char *spka_cmd_name(uint8_t c)
{
    switch (c) {
    case SPKA_SIGN: return "SIGN";
    case SPKA_GENKEY: return "GENKEY";
    case SPKA_PUTCERT: return "PUTCERT";
    case SPKA_INFO: return "INFO";
    }
    return "unknown";
}

static const char *digest_name(uint8_t a)
{
    switch (a) {
    case SPKA_SHA256: return "SHA-256";
    case SPKA_SHA384: return "SHA-384";
    case SPKA_SHA512: return "SHA-512";
    }
    return "unknown";
}

static int print_spka_command(const uint8_t *d, size_t n)
{
    struct spka_command c;
    char text[1024];
    size_t tlen = 0;

    if (spka_decode_command(d, n, &c) != CAR_OK) {
        fprintf(stderr, "error: application data refused by the SPKA/1 command decoder (malformed)\n");
        return -1;
    }
    printf("SPKA/1 command %s (0x%02x)\n", spka_cmd_name(c.cmd), c.cmd);
    printf("    %-14s ", "txn_ref");
    gw_admin_hex_print("", c.txn_ref, sizeof(c.txn_ref), 0);
    if (c.key_ref)
        printf("    %-14s 0x%02x (%s)\n", "key_ref", c.key_ref,
               c.key_ref == 1   ? "non-repudiation key"
               : c.key_ref == 2 ? "authentication key"
                                : "unknown");
    if (c.digest_alg)
        printf("    %-14s 0x%02x (%s)\n", "digest_alg", c.digest_alg, digest_name(c.digest_alg));
    if (c.digest)
        print_hex_field("digest", c.digest, c.digest_len);
    if (c.text && c.text_len) {
        printf("    %-14s coding 0x%02x (%s), %zu octets\n", "text", c.text[0],
               c.text[0] == TEXT_CODING_GSM7   ? "GSM 7-bit"
               : c.text[0] == TEXT_CODING_UCS2 ? "UCS2"
                                               : "unknown",
               c.text_len - 1);
        if (text_decode(c.text, c.text_len, text, sizeof(text), &tlen) == CAR_OK) {
            printf("      ");
            print_utf8(text, tlen);
            putchar('\n');
        } else {
            printf("      (does not decode; raw octets follow)\n");
            gw_admin_hex_print("      ", c.text, c.text_len, 32);
        }
    }
    if (c.vc) {
        printf("    %-14s ", "vc");
        print_escaped(c.vc, c.vc_len);
        putchar('\n');
    }
    if (c.has_timeout)
        printf("    %-14s %u s\n", "timeout", c.timeout_s);
    if (c.key_alg)
        printf("    %-14s 0x%02x (%s)\n", "key_alg", c.key_alg,
               c.key_alg == 1   ? "RSA-2048"
               : c.key_alg == 2 ? "ECDSA P-256"
                                : "unknown");
    if (c.cert)
        print_hex_field("certificate", c.cert, c.cert_len);
    return 0;
}

static int print_spka_response(const uint8_t *d, size_t n)
{
    struct spka_response r;

    if (spka_decode_response(d, n, &r) != CAR_OK) {
        fprintf(stderr, "error: application data refused by the SPKA/1 response decoder (malformed)\n");
        return -1;
    }
    printf("SPKA/1 response to %s (0x%02x)\n", spka_cmd_name(r.cmd), r.cmd);
    printf("    %-14s ", "txn_ref");
    gw_admin_hex_print("", r.txn_ref, sizeof(r.txn_ref), 0);
    printf("    %-14s 0x%02x (%s)\n", "result", r.result, spka_result_name(r.result));
    if (r.signature)
        print_hex_field("signature", r.signature, r.sig_len);
    if (r.spki)
        print_hex_field("spki", r.spki, r.spki_len);
    if (r.version) {
        printf("    %-14s ", "version");
        print_escaped(r.version, r.version_len);
        putchar('\n');
    }
    if (r.pin_tries >= 0)
        printf("    %-14s %d\n", "pin_tries", r.pin_tries);
    if (r.key_refs)
        print_hex_field("key_refs", r.key_refs, r.key_refs_len);
    return 0;
}

/* Decrypt, check the CC and print everything inside.  Keys are the caller's to wipe. */
static int open_packet(const struct ota_keys *k, const uint8_t *pkt, size_t len, int is_response, uint8_t *plain,
                       size_t cap)
{
    const uint8_t *data;
    size_t data_len;
    enum car_err rc;

    if (is_response) {
        struct ota_response r = {0};
        rc = ota_unwrap_response(k, pkt, len, plain, cap, &r);
        if (rc == CAR_OK) {
            printf("  CC     ok\n");
            printf("  CNTR   %llu\n", (unsigned long long)r.cntr);
            printf("  status 0x%02x (%s)\n", r.status, por_status_name(r.status));
        }
        data = r.data;
        data_len = r.data_len;
    } else {
        struct ota_command c = {0};
        rc = ota_unwrap_command(k, pkt, len, plain, cap, &c);
        if (rc == CAR_OK) {
            printf("  CC     ok\n");
            printf("  CNTR   %llu\n", (unsigned long long)c.cntr);
        }
        data = c.data;
        data_len = c.data_len;
    }
    if (rc == CAR_ERR_AUTH) {
        fprintf(stderr, "error: cryptographic checksum does not match: wrong master key, ICCID or key version "
                        "(or the packet was altered)\n");
        return -1;
    }
    if (rc == CAR_ERR_NOT_FOUND) {
        fprintf(stderr, "error: TAR is not SPK: not a packet for the SPKA/1 applet\n");
        return -1;
    }
    if (rc != CAR_OK) {
        fprintf(stderr, "error: secured packet refused: %s (lengths, header or padding)\n", car_strerror(rc));
        return -1;
    }
    printf("application data (%zu octets)\n", data_len);
    gw_admin_hex_print("    ", data, data_len, 32);
    if (data_len == 0)
        return 0;
    return is_response ? print_spka_response(data, data_len) : print_spka_command(data, data_len);
}

enum gw_admin_exit gw_admin_decode_ud(const char *const *hex, int n, const uint8_t mk[16], const char *iccid,
                                      unsigned kv)
{
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    struct udh_reasm *r = NULL;
    struct ota_keys keys;
    uint8_t pkt[OTA_MAX_PACKET], plain[OTA_MAX_PACKET];
    size_t pkt_len = 0;
    int kind = 0, done = 0, is_response;
    unsigned total = 0;

    memset(&keys, 0, sizeof(keys));
    /* One set, never timed out: the operator gives every segment at once. */
    r = udh_reasm_new(1, UINT64_MAX / 2);
    if (!r) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    for (int i = 0; i < n; i++) {
        uint8_t ud[UDH_SEGMENT_MAX];
        struct udh_info info;
        long len = gw_admin_hex_parse(hex[i], ud, sizeof(ud));
        int fr;

        if (len < 0) {
            fprintf(stderr, "error: segment %d: not user data in hex (odd digits, non-hex, or over %d octets)\n", i + 1,
                    UDH_SEGMENT_MAX);
            goto out;
        }
        printf("segment %d: %ld octets\n", i + 1, len);
        if (print_udh("  ", ud, (size_t)len, &info) != 0)
            goto out;
        total = info.concat ? info.total : 1;
        if (done) {
            fprintf(stderr, "warning: segment %d: the packet was already complete; ignored\n", i + 1);
            continue;
        }
        fr = udh_reasm_feed(r, "admin", ud, (size_t)len, 0, pkt, sizeof(pkt), &pkt_len, &kind);
        if (fr < 0) {
            fprintf(stderr, "error: segment %d refused by reassembly: %s\n", i + 1, car_strerror((enum car_err) - fr));
            goto out;
        }
        if (fr == UDH_FEED_DUP)
            printf("  duplicate of a segment already given: ignored\n");
        if (fr == UDH_FEED_DONE)
            done = 1;
    }
    if (!done) {
        fprintf(stderr, "error: incomplete: the segments given do not make up the packet (%u expected)\n", total);
        goto out;
    }
    if (kind != UDH_COMMAND && kind != UDH_RESPONSE) {
        fprintf(stderr, "error: no SPKA/1 IE (0x70/0x71) in the first segment: not an SPKA/1 packet\n");
        goto out;
    }
    is_response = kind == UDH_RESPONSE;
    printf("reassembled: %zu octets\n", pkt_len);
    if (print_packet_header("", pkt, pkt_len, is_response) != 0)
        goto out;
    if (!mk) {
        printf("keys needed to go further: give --mk or --carrier (with -c CONFIG), and --iccid\n");
        ret = GW_ADMIN_OK;
        goto out;
    }
    if (kv == 0)
        kv = is_response ? 1 : pkt[5] >> 4;
    if (ota_diversify(mk, iccid, (uint8_t)kv, &keys) != CAR_OK) {
        fprintf(stderr, "error: cannot diversify keys: the ICCID must be digits and the key version 1..15\n");
        goto out;
    }
    printf("keys: diversified from the master key with the ICCID, key version %u\n", kv);
    if (open_packet(&keys, pkt, pkt_len, is_response, plain, sizeof(plain)) != 0)
        goto out;
    ret = GW_ADMIN_OK;
out:
    ota_keys_wipe(&keys);
    OPENSSL_cleanse(plain, sizeof(plain));
    udh_reasm_free(r);
    return ret;
}
