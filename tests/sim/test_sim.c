/*
 * test_sim.c - sim_selftest: an ESME that talks to a running simpki-sim over
 * real TCP and checks what the SIMs answer.
 *
 *   test_sim SCENARIO.json carrier=PORT [carrier=PORT...]
 *
 * The ports are those of the simulator's ready line.  The client builds its
 * commands with the gateway-side functions (spka_encode_command,
 * ota_wrap_command, udh_split, pdu_build_*), so it checks the simulator and
 * those functions against each other; signatures are verified with OpenSSL
 * against the subscriber's certificate, an oracle independent of both.
 *
 * Blocking sockets with a receive timeout: a test client needs no event loop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "car_ota.h"
#include "car_pdu.h"
#include "car_spka.h"
#include "car_text.h"
#include "car_udh.h"
#include "check.h"

#define WAIT_S 15 /* longest wait for one PDU; the default delay is 300 ms */

struct carrier {
    char name[16];
    unsigned port;
    char system_id[16], password[9], service[21];
    uint8_t mk[16];
};

static struct carrier carriers[8];
static size_t n_carriers;
static json_t *scen;
static char pki_dir[1024];
static uint64_t cntr_base;
static uint8_t genkey_alg = 2; /* what build_command's GENKEY asks for: 1 RSA-2048, 2 ECDSA P-256 */

struct link {
    int fd;
    uint32_t seq;
    const struct carrier *car;
};

/* What one exchange produced. */
/* registered_delivery of the next commands: the gateway's (failures only), or 1 to see the simulator's receipts. */
static uint8_t regdlv = PDU_SPKA_REGDLV;

struct outcome {
    uint32_t submit_status; /* status of the last submit_sm_resp */
    int receipts;           /* delivery receipts with stat DELIVRD */
    int pors;               /* whole PoRs reassembled */
    enum car_err unwrap;    /* of the first PoR */
    struct ota_response rsp;
    uint8_t plain[OTA_MAX_PACKET];
    struct spka_response spka;
    int spka_ok;
    int closed; /* the simulator closed the link */
};

static const struct carrier *carrier_named(const char *name)
{
    for (size_t i = 0; i < n_carriers; i++)
        if (strcmp(carriers[i].name, name) == 0)
            return &carriers[i];
    return NULL;
}

static json_t *subscriber(const char *msisdn)
{
    size_t i;
    json_t *s;

    json_array_foreach(json_object_get(scen, "subscribers"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "msisdn")), msisdn) == 0) return s;
    return NULL;
}

static int load_scenario(const char *path)
{
    json_error_t jerr;
    json_t *c;
    size_t i;
    const char *slash, *pki;

    scen = json_load_file(path, 0, &jerr);
    if (!scen) {
        fprintf(stderr, "%s: %s\n", path, jerr.text);
        return -1;
    }
    json_array_foreach(json_object_get(scen, "carriers"), i, c)
    {
        struct carrier *k = &carriers[n_carriers];
        if (i >= 8)
            break;
        snprintf(k->name, sizeof(k->name), "%s", json_string_value(json_object_get(c, "name")));
        snprintf(k->system_id, sizeof(k->system_id), "%s", json_string_value(json_object_get(c, "system_id")));
        snprintf(k->password, sizeof(k->password), "%s", json_string_value(json_object_get(c, "password")));
        snprintf(k->service, sizeof(k->service), "%s", json_string_value(json_object_get(c, "service_number")));
        if (check_unhex(json_string_value(json_object_get(c, "master_key")), k->mk, 16) != 16)
            return -1;
        n_carriers++;
    }
    pki = json_string_value(json_object_get(scen, "pki"));
    slash = strrchr(path, '/');
    if (!pki)
        return -1;
    if (pki[0] == '/' || !slash)
        snprintf(pki_dir, sizeof(pki_dir), "%s", pki);
    else
        snprintf(pki_dir, sizeof(pki_dir), "%.*s/%s", (int)(slash - path), path, pki);
    return 0;
}

/* ---- SMPP over a blocking socket ------------------------------------ */

static int send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One PDU into buf; returns its length, 0 on timeout/close/garbage. */
static size_t read_pdu(struct link *l, uint8_t *buf)
{
    size_t len = 0;

    if (recv_all(l->fd, buf, 4) != 0)
        return 0;
    if (pdu_frame(buf, 4, &len) == CAR_ERR_MALFORMED)
        return 0;
    if (recv_all(l->fd, buf + 4, len - 4) != 0)
        return 0;
    return len;
}

static int link_open(struct link *l, const struct carrier *car)
{
    struct sockaddr_in sin;
    struct timeval tv = {WAIT_S, 0};
    uint8_t buf[PDU_MAX_LEN];
    size_t n = 0;
    struct pdu_header h;

    memset(l, 0, sizeof(*l));
    l->car = car;
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (l->fd < 0)
        return -1;
    setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)car->port);
    if (connect(l->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        goto fail;
    if (pdu_build_bind_trx(buf, sizeof(buf), &n, ++l->seq, car->system_id, car->password, "") != CAR_OK ||
        send_all(l->fd, buf, n) != 0)
        goto fail;
    n = read_pdu(l, buf);
    if (n == 0 || pdu_header(buf, n, &h) != CAR_OK || h.id != PDU_BIND_TRANSCEIVER_RESP || h.status != 0)
        goto fail;
    return 0;
fail:
    close(l->fd);
    l->fd = -1;
    return -1;
}

static void link_close(struct link *l)
{
    uint8_t buf[PDU_MAX_LEN];
    size_t n = 0;
    struct pdu_header h;

    if (l->fd < 0)
        return;
    if (pdu_build_header_only(buf, sizeof(buf), &n, PDU_UNBIND, 0, ++l->seq) == CAR_OK &&
        send_all(l->fd, buf, n) == 0) {
        /* Skip late deliveries until unbind_resp. */
        for (int i = 0; i < 50; i++) {
            n = read_pdu(l, buf);
            if (n == 0 || (pdu_header(buf, n, &h) == CAR_OK && h.id == PDU_UNBIND_RESP))
                break;
        }
    }
    close(l->fd);
    l->fd = -1;
}

/* ---- commands ------------------------------------------------------- */

static const uint8_t doc_digest_input[] = "Quyết định số 123/QĐ-UBND";

static int build_command(const char *msisdn, uint8_t cmdcode, uint64_t cntr, uint8_t *digest, uint8_t *pkt,
                         size_t *pktlen)
{
    json_t *sub = subscriber(msisdn);
    const struct carrier *car = sub ? carrier_named(json_string_value(json_object_get(sub, "carrier"))) : NULL;
    struct spka_command c = {0};
    struct ota_keys keys;
    uint8_t data[1024], text[200];
    size_t dlen = 0, tlen = 0;
    static const char *const display = "Ký văn bản: Quyết định số 123/QĐ-UBND";
    int rc = -1;

    if (!car)
        return -1;
    c.cmd = cmdcode;
    memcpy(c.txn_ref, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    c.key_ref = 1;
    if (cmdcode == SPKA_SIGN) {
        unsigned int mdlen = 0;
        EVP_Digest(doc_digest_input, sizeof(doc_digest_input) - 1, digest, &mdlen, EVP_sha256(), NULL);
        c.digest_alg = SPKA_SHA256;
        c.digest = digest;
        c.digest_len = mdlen;
        if (text_encode(display, strlen(display), text, sizeof(text), &tlen, NULL, 0) != CAR_OK)
            return -1;
        c.text = text;
        c.text_len = tlen;
        c.vc = (const uint8_t *)"4821";
        c.vc_len = 4;
        c.timeout_s = 120;
        c.has_timeout = 1;
    }
    if (cmdcode == SPKA_GENKEY) {
        c.key_alg = genkey_alg;
        if (text_encode("Tạo khóa ký", strlen("Tạo khóa ký"), text, sizeof(text), &tlen, NULL, 0) != CAR_OK)
            return -1;
        c.text = text;
        c.text_len = tlen;
    }
    if (spka_encode_command(&c, data, sizeof(data), &dlen) != CAR_OK)
        return -1;
    if (ota_diversify(car->mk, json_string_value(json_object_get(sub, "iccid")),
                      (uint8_t)json_integer_value(json_object_get(sub, "kv")), &keys) != CAR_OK)
        return -1;
    if (ota_wrap_command(&keys, cntr, data, dlen, pkt, OTA_MAX_PACKET, pktlen) == CAR_OK)
        rc = 0;
    ota_keys_wipe(&keys);
    return rc;
}

/*
 * Submit a command packet to msisdn over l and collect answers until a PoR
 * is reassembled (or want_por is 0 and the submit is answered).
 */
static void exchange(struct link *l, const char *msisdn, const uint8_t *pkt, size_t pktlen, int want_por,
                     struct outcome *o)
{
    json_t *sub = subscriber(msisdn);
    struct udh_segments seg;
    struct udh_reasm *r = udh_reasm_new(8, 60000);
    struct pdu_sm sm;
    struct pdu_header h;
    struct pdu_receipt rcpt;
    struct ota_keys keys;
    uint8_t buf[PDU_MAX_LEN], por[OTA_MAX_PACKET];
    size_t n = 0, porlen = 0, resps = 0;
    int kind = 0, fed;
    char why[160];

    memset(o, 0, sizeof(*o));
    o->unwrap = CAR_ERR_NOT_FOUND;
    if (!r || !sub || udh_split(pkt, pktlen, UDH_COMMAND, 0x2a, &seg) != CAR_OK) {
        udh_reasm_free(r);
        return;
    }
    for (size_t i = 0; i < seg.count; i++) {
        memset(&sm, 0, sizeof(sm));
        if (pdu_sm_spka(&sm, l->car->service, msisdn, seg.ud[i], seg.len[i]) != CAR_OK)
            goto out;
        sm.registered_delivery = regdlv;
        if (pdu_build_submit_sm(buf, sizeof(buf), &n, ++l->seq, &sm) != CAR_OK || send_all(l->fd, buf, n) != 0)
            goto out;
    }
    for (;;) {
        n = read_pdu(l, buf);
        if (n == 0) {
            o->closed = 1;
            break;
        }
        if (pdu_header(buf, n, &h) != CAR_OK)
            break;
        if (h.id == PDU_SUBMIT_SM_RESP) {
            o->submit_status = h.status;
            if (h.status != 0)
                break;
            if (++resps >= seg.count && !want_por)
                break;
            continue;
        }
        if (h.id == PDU_ENQUIRE_LINK) {
            if (pdu_build_header_only(buf, sizeof(buf), &n, PDU_ENQUIRE_LINK_RESP, 0, h.seq) == CAR_OK)
                send_all(l->fd, buf, n);
            continue;
        }
        if (h.id != PDU_DELIVER_SM)
            continue;
        if (pdu_sm_decode(buf, n, &sm, why, sizeof(why)) != CAR_OK) {
            fprintf(stderr, "test_sim: bad deliver_sm: %s\n", why);
            if (pdu_build_deliver_sm_resp(buf, sizeof(buf), &n, h.seq, PDU_ESME_RSYSERR) == CAR_OK)
                send_all(l->fd, buf, n);
            continue;
        }
        if (pdu_build_deliver_sm_resp(buf, sizeof(buf), &n, h.seq, 0) == CAR_OK)
            send_all(l->fd, buf, n);
        if (pdu_mo_classify(&sm) == PDU_MO_RECEIPT) {
            if (pdu_receipt_parse(&sm, &rcpt) == CAR_OK && strcmp(rcpt.stat, "DELIVRD") == 0)
                o->receipts++;
            continue;
        }
        CHECK_EQ_STR(sm.source_addr, msisdn);
        CHECK_EQ_STR(sm.dest_addr, l->car->service);
        CHECK_EQ_INT(sm.esm_class, 0x40);
        CHECK_EQ_INT(sm.protocol_id, 0x7F);
        CHECK_EQ_INT(sm.data_coding, 0xF6);
        fed = udh_reasm_feed(r, sm.source_addr, sm.ud, sm.ud_len, 0, por, sizeof(por), &porlen, &kind);
        if (fed != UDH_FEED_DONE)
            continue;
        o->pors++;
        CHECK_EQ_INT(kind, UDH_RESPONSE);
        if (ota_diversify(l->car->mk, json_string_value(json_object_get(sub, "iccid")),
                          (uint8_t)json_integer_value(json_object_get(sub, "kv")), &keys) != CAR_OK)
            break;
        o->unwrap = ota_unwrap_response(&keys, por, porlen, o->plain, sizeof(o->plain), &o->rsp);
        ota_keys_wipe(&keys);
        if (o->unwrap == CAR_OK && o->rsp.status == OTA_POR_OK)
            o->spka_ok = spka_decode_response(o->rsp.data, o->rsp.data_len, &o->spka) == CAR_OK;
        break;
    }
out:
    udh_reasm_free(r);
}

/* Verify a SPKA/1 signature (SHA-256 digest) with a public key. */
static int verify_pub(EVP_PKEY *pub, const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
    EVP_PKEY_CTX *ctx = pub ? EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL) : NULL;
    int ok = 0;

    if (!ctx || EVP_PKEY_verify_init(ctx) != 1)
        goto out;
    if (EVP_PKEY_is_a(pub, "RSA") && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
                                      EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1))
        goto out;
    ok = EVP_PKEY_verify(ctx, sig, siglen, digest, 32) == 1;
out:
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* ... with the certificate of msisdn from the PKI. */
static int verify_sig(const char *msisdn, const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
    char path[1200];
    FILE *f;
    X509 *x;
    int ok;

    snprintf(path, sizeof(path), "%s/subs/%s.crt.der", pki_dir, msisdn);
    f = fopen(path, "rb");
    if (!f)
        return 0;
    x = d2i_X509_fp(f, NULL);
    fclose(f);
    ok = x && verify_pub(X509_get0_pubkey(x), digest, sig, siglen);
    X509_free(x);
    return ok;
}

/* SIGN for msisdn on its carrier; returns the outcome in o. */
static void sign_once(const char *msisdn, uint64_t cntr, uint8_t digest[64], struct outcome *o)
{
    json_t *sub = subscriber(msisdn);
    const struct carrier *car = sub ? carrier_named(json_string_value(json_object_get(sub, "carrier"))) : NULL;
    struct link l;
    uint8_t pkt[OTA_MAX_PACKET];
    size_t pktlen = 0;

    memset(o, 0, sizeof(*o));
    CHECK(car != NULL);
    if (!car || build_command(msisdn, SPKA_SIGN, cntr, digest, pkt, &pktlen) != 0 || link_open(&l, car) != 0) {
        CHECK(!"cannot build the command or bind");
        return;
    }
    exchange(&l, msisdn, pkt, pktlen, 1, o);
    link_close(&l);
}

static void test_confirm(const char *msisdn)
{
    uint8_t digest[64];
    struct outcome *o = calloc(1, sizeof(*o));

    fprintf(stderr, "test_sim: confirm %s\n", msisdn);
    sign_once(msisdn, cntr_base + 1, digest, o);
    CHECK_EQ_INT(o->submit_status, 0);
    CHECK_EQ_INT(o->receipts, 0); /* asked for failures only, and it was delivered */
    CHECK_EQ_INT(o->unwrap, CAR_OK);
    CHECK_EQ_INT(o->rsp.status, OTA_POR_OK);
    CHECK_EQ_INT(o->rsp.cntr, cntr_base + 1);
    CHECK(o->spka_ok);
    CHECK_EQ_INT(o->spka.cmd, SPKA_SIGN);
    CHECK_EQ_INT(o->spka.result, SPKA_OK);
    CHECK_MEM(o->spka.txn_ref, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    CHECK(o->spka.signature && verify_sig(msisdn, digest, o->spka.signature, o->spka.sig_len));

    /* The same counter again: a real SIM refuses it with CNTR_LOW.  Asking for every receipt gets them. */
    regdlv = 1;
    sign_once(msisdn, cntr_base + 1, digest, o);
    regdlv = PDU_SPKA_REGDLV;
    CHECK(o->receipts >= 1);
    CHECK_EQ_INT(o->unwrap, CAR_OK);
    CHECK_EQ_INT(o->rsp.status, OTA_POR_CNTR_LOW);
    CHECK_EQ_INT(o->rsp.cntr, cntr_base + 1);
    free(o);
}

static void test_result(const char *msisdn, uint64_t cntr, uint8_t want)
{
    uint8_t digest[64];
    struct outcome *o = calloc(1, sizeof(*o));

    fprintf(stderr, "test_sim: %s %s\n", spka_result_name(want), msisdn);
    sign_once(msisdn, cntr, digest, o);
    CHECK_EQ_INT(o->unwrap, CAR_OK);
    CHECK_EQ_INT(o->rsp.status, OTA_POR_OK);
    CHECK(o->spka_ok);
    CHECK_EQ_INT(o->spka.result, want);
    if (want == SPKA_OK)
        CHECK(o->spka.signature && verify_sig(msisdn, digest, o->spka.signature, o->spka.sig_len));
    free(o);
}

static void test_corrupt(const char *msisdn)
{
    uint8_t digest[64];
    struct outcome *o = calloc(1, sizeof(*o));

    fprintf(stderr, "test_sim: corrupt PoR %s\n", msisdn);
    sign_once(msisdn, cntr_base + 1, digest, o);
    CHECK_EQ_INT(o->submit_status, 0);
    CHECK_EQ_INT(o->pors, 1);
    CHECK_EQ_INT(o->unwrap, CAR_ERR_AUTH);
    free(o);
}

static void test_wrong_key(const char *msisdn)
{
    uint8_t digest[64];
    struct outcome *o = calloc(1, sizeof(*o));

    fprintf(stderr, "test_sim: wrong key %s\n", msisdn);
    sign_once(msisdn, cntr_base + 1, digest, o);
    CHECK_EQ_INT(o->unwrap, CAR_OK);
    CHECK(o->spka_ok);
    CHECK_EQ_INT(o->spka.result, SPKA_OK);
    CHECK(o->spka.signature && !verify_sig(msisdn, digest, o->spka.signature, o->spka.sig_len));
    free(o);
}

/* Submit-level behaviours: a permanent error, a throttle then success, the wrong carrier. */
static void test_submit_status(const char *msisdn, const char *via, uint32_t want_first, int then_ok)
{
    uint8_t digest[64], pkt[OTA_MAX_PACKET];
    size_t pktlen = 0;
    struct outcome *o = calloc(1, sizeof(*o));
    struct link l;

    fprintf(stderr, "test_sim: submit status 0x%02x %s via %s\n", want_first, msisdn, via);
    if (build_command(msisdn, SPKA_SIGN, cntr_base + 1, digest, pkt, &pktlen) != 0 ||
        link_open(&l, carrier_named(via)) != 0) {
        CHECK(!"cannot build the command or bind");
        free(o);
        return;
    }
    exchange(&l, msisdn, pkt, pktlen, 0, o);
    CHECK_EQ_INT(o->submit_status, want_first);
    if (then_ok) {
        exchange(&l, msisdn, pkt, pktlen, 1, o);
        CHECK_EQ_INT(o->submit_status, 0);
        CHECK_EQ_INT(o->unwrap, CAR_OK);
        CHECK(o->spka_ok && o->spka.result == SPKA_OK);
        CHECK(o->spka.signature && verify_sig(msisdn, digest, o->spka.signature, o->spka.sig_len));
    }
    link_close(&l);
    free(o);
}

static void test_info(const char *msisdn)
{
    uint8_t digest[64], pkt[OTA_MAX_PACKET];
    size_t pktlen = 0;
    struct outcome *o = calloc(1, sizeof(*o));
    json_t *sub = subscriber(msisdn);
    struct link l;

    fprintf(stderr, "test_sim: INFO %s\n", msisdn);
    if (!sub || build_command(msisdn, SPKA_INFO, cntr_base + 2, digest, pkt, &pktlen) != 0 ||
        link_open(&l, carrier_named(json_string_value(json_object_get(sub, "carrier")))) != 0) {
        CHECK(!"cannot build the command or bind");
        free(o);
        return;
    }
    exchange(&l, msisdn, pkt, pktlen, 1, o);
    link_close(&l);
    CHECK(o->spka_ok);
    CHECK_EQ_INT(o->spka.result, SPKA_OK);
    CHECK(o->spka.version_len == 12 && memcmp(o->spka.version, "SPKA-SIM 1.0", 12) == 0);
    CHECK_EQ_INT(o->spka.pin_tries, 3);
    CHECK(o->spka.key_refs_len == 1 && o->spka.key_refs[0] == 1);
    free(o);
}

/* Send one command of any kind on a fresh link; the PoR lands in o. */
static void command_once(const char *msisdn, uint8_t cmdcode, uint64_t cntr, uint8_t digest[64], struct outcome *o)
{
    json_t *sub = subscriber(msisdn);
    const struct carrier *car = sub ? carrier_named(json_string_value(json_object_get(sub, "carrier"))) : NULL;
    uint8_t pkt[OTA_MAX_PACKET];
    size_t pktlen = 0;
    struct link l;

    memset(o, 0, sizeof(*o));
    if (!car || build_command(msisdn, cmdcode, cntr, digest, pkt, &pktlen) != 0 || link_open(&l, car) != 0) {
        CHECK(!"cannot build the command or bind");
        return;
    }
    exchange(&l, msisdn, pkt, pktlen, 1, o);
    link_close(&l);
}

/* GENKEY on the card without a key, then SIGN with the key it made. */
static void test_genkey(const char *msisdn)
{
    uint8_t digest[64], spki[512];
    size_t spki_len = 0;
    struct outcome *o = calloc(1, sizeof(*o));
    const unsigned char *p = spki;
    EVP_PKEY *pub = NULL;

    fprintf(stderr, "test_sim: GENKEY %s\n", msisdn);
    command_once(msisdn, SPKA_SIGN, cntr_base + 1, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_NO_KEY);
    command_once(msisdn, SPKA_GENKEY, cntr_base + 2, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_OK);
    CHECK(o->spka.spki && o->spka.spki_len > 0 && o->spka.spki_len <= sizeof(spki));
    if (o->spka.spki && o->spka.spki_len <= sizeof(spki)) {
        memcpy(spki, o->spka.spki, o->spka.spki_len);
        spki_len = o->spka.spki_len;
        pub = d2i_PUBKEY(NULL, &p, (long)spki_len);
    }
    CHECK(pub != NULL);
    command_once(msisdn, SPKA_GENKEY, cntr_base + 3, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_KEY_EXISTS);
    command_once(msisdn, SPKA_SIGN, cntr_base + 4, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_OK);
    CHECK(o->spka.signature && verify_pub(pub, digest, o->spka.signature, o->spka.sig_len));
    EVP_PKEY_free(pub);
    free(o);
}

/* The DER SPKI of the PEM private key subs/<msisdn>.key.pem in the PKI; its length, 0 on failure. */
static size_t preset_spki(const char *msisdn, uint8_t *out, size_t cap)
{
    char path[1200];
    FILE *f;
    EVP_PKEY *k;
    int len;
    unsigned char *p = out;

    snprintf(path, sizeof(path), "%s/subs/%s.key.pem", pki_dir, msisdn);
    f = fopen(path, "r");
    if (!f)
        return 0;
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    len = k ? i2d_PUBKEY(k, NULL) : -1;
    if (len <= 0 || (size_t)len > cap)
        len = 0;
    else
        len = i2d_PUBKEY(k, &p);
    EVP_PKEY_free(k);
    return len > 0 ? (size_t)len : 0;
}

/*
 * An enrolment card ("genkey_key" in the scenario): no key, GENKEY of the
 * other algorithm refused, GENKEY answers the preset key's SPKI once, then
 * KEY_EXISTS; SIGN signs with that key (the certificate mkpki issued for
 * it), or with another one when the card's behaviour is wrong_key.
 */
static void test_genkey_preset(const char *msisdn, uint8_t alg, int wrong_key)
{
    uint8_t digest[64], want[512];
    size_t want_len = preset_spki(msisdn, want, sizeof(want));
    struct outcome *o = calloc(1, sizeof(*o));

    fprintf(stderr, "test_sim: GENKEY preset %s\n", msisdn);
    CHECK(want_len > 0);
    command_once(msisdn, SPKA_SIGN, cntr_base + 1, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_NO_KEY);
    genkey_alg = alg == 1 ? 2 : 1;
    command_once(msisdn, SPKA_GENKEY, cntr_base + 2, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_UNSUPPORTED);
    genkey_alg = alg;
    command_once(msisdn, SPKA_GENKEY, cntr_base + 3, digest, o);
    genkey_alg = 2;
    CHECK(o->spka_ok && o->spka.result == SPKA_OK);
    CHECK(o->spka.spki && o->spka.spki_len == want_len && memcmp(o->spka.spki, want, want_len) == 0);
    command_once(msisdn, SPKA_GENKEY, cntr_base + 4, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_KEY_EXISTS);
    command_once(msisdn, SPKA_SIGN, cntr_base + 5, digest, o);
    CHECK(o->spka_ok && o->spka.result == SPKA_OK);
    CHECK(o->spka.signature && verify_sig(msisdn, digest, o->spka.signature, o->spka.sig_len) == !wrong_key);
    free(o);
}

/* The first submit kills the link unanswered; the same packet on a new link works. */
static void test_drop_first(const char *msisdn)
{
    uint8_t digest[64], pkt[OTA_MAX_PACKET];
    size_t pktlen = 0;
    struct outcome *o = calloc(1, sizeof(*o));
    json_t *sub = subscriber(msisdn);
    const struct carrier *car = sub ? carrier_named(json_string_value(json_object_get(sub, "carrier"))) : NULL;
    struct link l;

    fprintf(stderr, "test_sim: drop first %s\n", msisdn);
    if (!car || build_command(msisdn, SPKA_SIGN, cntr_base + 1, digest, pkt, &pktlen) != 0 || link_open(&l, car) != 0) {
        CHECK(!"cannot build the command or bind");
        free(o);
        return;
    }
    exchange(&l, msisdn, pkt, pktlen, 1, o);
    CHECK(o->closed);
    CHECK_EQ_INT(o->pors, 0);
    close(l.fd);
    CHECK(link_open(&l, car) == 0);
    exchange(&l, msisdn, pkt, pktlen, 1, o);
    link_close(&l);
    CHECK_EQ_INT(o->unwrap, CAR_OK);
    CHECK(o->spka_ok && o->spka.result == SPKA_OK);
    CHECK(o->spka.signature && verify_sig(msisdn, digest, o->spka.signature, o->spka.sig_len));
    free(o);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: test_sim SCENARIO.json carrier=PORT...\n");
        return 2;
    }
    if (load_scenario(argv[1]) != 0) {
        fprintf(stderr, "test_sim: cannot load %s\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        char *end = NULL;
        for (size_t k = 0; eq && k < n_carriers; k++)
            if (strlen(carriers[k].name) == (size_t)(eq - argv[i]) &&
                strncmp(carriers[k].name, argv[i], (size_t)(eq - argv[i])) == 0)
                carriers[k].port = (unsigned)strtoul(eq + 1, &end, 10);
    }
    /* Counters only go up, also across runs against a simulator left running. */
    cntr_base = (uint64_t)time(NULL) * 16u;

    test_confirm("84960000001"); /* Viettel, RSA */
    test_confirm("84960000002"); /* Viettel, EC */
    test_confirm("84910000001"); /* Vinaphone, RSA: another master key */
    test_result("84960000011", cntr_base + 1, SPKA_USER_CANCEL);
    test_result("84900000012", cntr_base + 1, SPKA_USER_CANCEL); /* Mobifone, EC */
    test_result("84960000031", cntr_base + 1, SPKA_PIN_BLOCKED);
    test_result("84960000061", cntr_base + 1, SPKA_USER_TIMEOUT);
    test_corrupt("84960000071");
    test_corrupt("84910000072");
    test_wrong_key("84960000081");
    test_result("84960000121", cntr_base + 1, SPKA_OK);      /* replayed PoR: the first one is good */
    test_result("84960000141", cntr_base + 1, SPKA_OK);      /* shuffled, duplicated segments */
    test_result("84960000151", cntr_base + 1, SPKA_OK);      /* 16-bit concatenation reference */
    test_submit_status("84960000111", "viettel", 0x0B, 0);   /* permanent error */
    test_submit_status("84960000101", "viettel", 0x58, 1);   /* throttled once, then fine */
    test_submit_status("84960000001", "vinaphone", 0x0B, 0); /* not that carrier's subscriber */
    test_info("84960000001");
    test_confirm("84900000001"); /* Mobifone, RSA */
    test_result("84960000041", cntr_base + 1, SPKA_CARD_BLOCKED);
    test_genkey("84960000051");
    test_drop_first("84960000091");
    test_result("84960000131", cntr_base + 1, SPKA_OK); /* hostile PDUs before the PoR */
    test_result("84910000161", cntr_base + 1, SPKA_OK); /* slow: 5 s */
    test_genkey_preset("84960000181", 1, 0);            /* enrolment: Viettel, RSA */
    test_genkey_preset("84910000182", 2, 0);            /* enrolment: Vinaphone, EC */
    test_genkey_preset("84960000201", 1, 1);            /* enrolment, CSR signed with another key */
    test_confirm("84960000281");                        /* forged_502, an MSSP-only behaviour: SMPP confirms */

    json_decref(scen);
    return check_report("sim_selftest");
}
