/*
 * car_ota.c - SPKA/1 secured packets (TS 102 225 profile of spec section 3).
 *
 * Order of checks on receipt: header and lengths first (cheap, no keys), then
 * decipher and check the CC over everything deciphered, and only then look at
 * PCNTR and padding.  Checking the CC before trusting any deciphered octet is
 * what makes a wrong key come out as CAR_ERR_AUTH instead of a plausible
 * "malformed" (or worse, garbage data).
 */
#include "car_ota.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define CHL      0x15
#define RHL      0x12
#define SPI1     0x16
#define SPI2     0x39
#define CMD_HDR  10 /* CPL(2) CHL SPI(2) KIc KID TAR(3) */
#define RESP_HDR 6  /* RPL(2) RHL TAR(3) */
#define CMD_SEC  14 /* CNTR(5) PCNTR CC(8) */
#define RESP_SEC 15 /* CNTR(5) PCNTR status CC(8) */
#define CC_LEN   8
#define BLOCK    16

static const uint8_t por_udh[3] = {0x02, 0x71, 0x00};

/* One input to the CMAC: the CC covers several non-contiguous fields. */
struct part {
    const uint8_t *p;
    size_t n;
};

/*
 * The CMAC and cipher contexts, made once per thread and reused: fetching the
 * algorithms from the provider and building a context for each of the six
 * CMACs and two ciphers of a signature was 4% of the gateway's CPU.  A
 * context is re-keyed for every use and scrubbed after it (CMAC re-keyed with
 * zeros, the cipher context reset), so no key schedule outlives its call.
 */
struct ota_ctx {
    EVP_MAC_CTX *mac;
    EVP_CIPHER *aes; /* AES-128-CBC, fetched once */
    EVP_CIPHER_CTX *cbc;
};

static __thread struct ota_ctx tls_ctx;

static const uint8_t zero_key[16];

static struct ota_ctx *ota_ctx(void)
{
    struct ota_ctx *c = &tls_ctx;
    OSSL_PARAM params[2];
    EVP_MAC *m;

    if (c->mac)
        return c;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-CBC", 0);
    params[1] = OSSL_PARAM_construct_end();
    m = EVP_MAC_fetch(NULL, "CMAC", NULL);
    c->mac = m ? EVP_MAC_CTX_new(m) : NULL;
    EVP_MAC_free(m); /* the context holds its own reference */
    c->aes = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
    c->cbc = EVP_CIPHER_CTX_new();
    if (!c->mac || !c->aes || !c->cbc || EVP_MAC_init(c->mac, zero_key, sizeof zero_key, params) != 1) {
        /* Nothing else can work either; try again on the next call. */
        EVP_MAC_CTX_free(c->mac);
        EVP_CIPHER_free(c->aes);
        EVP_CIPHER_CTX_free(c->cbc);
        memset(c, 0, sizeof *c);
        return NULL;
    }
    return c;
}

static enum car_err aes_cmac(const uint8_t key[16], const struct part *parts, size_t nparts, uint8_t mac[16])
{
    struct ota_ctx *c = ota_ctx();
    size_t maclen = 0;
    enum car_err rc = CAR_ERR_INVALID;

    if (!c)
        return CAR_ERR_NOMEM;
    if (EVP_MAC_init(c->mac, key, 16, NULL) != 1)
        goto out;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].n && EVP_MAC_update(c->mac, parts[i].p, parts[i].n) != 1)
            goto out;
    }
    if (EVP_MAC_final(c->mac, mac, &maclen, 16) != 1 || maclen != 16)
        goto out;
    rc = CAR_OK;
out:
    /* Scrub: the context keeps the schedule of the last key it was given. */
    (void)EVP_MAC_init(c->mac, zero_key, sizeof zero_key, NULL);
    return rc;
}

/* AES-128-CBC, zero IV, no padding; len is a multiple of 16. */
static enum car_err aes_cbc(const uint8_t key[16], int enc, const uint8_t *in, size_t len, uint8_t *out)
{
    static const uint8_t iv[16];
    struct ota_ctx *c = ota_ctx();
    int n1 = 0;
    int n2 = 0;
    enum car_err rc = CAR_ERR_INVALID;

    if (!c)
        return CAR_ERR_NOMEM;
    if (len % BLOCK || len > OTA_MAX_PACKET)
        return CAR_ERR_INVALID;
    if (EVP_CipherInit_ex2(c->cbc, c->aes, key, iv, enc, NULL) != 1)
        goto out;
    EVP_CIPHER_CTX_set_padding(c->cbc, 0);
    if (EVP_CipherUpdate(c->cbc, out, &n1, in, (int)len) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c->cbc, out + n1, &n2) != 1 || (size_t)(n1 + n2) != len)
        goto out;
    rc = CAR_OK;
out:
    EVP_CIPHER_CTX_reset(c->cbc); /* frees (and cleanses) the key schedule */
    return rc;
}

static void put_cntr(uint8_t *p, uint64_t cntr)
{
    for (int i = 4; i >= 0; i--) {
        p[i] = (uint8_t)cntr;
        cntr >>= 8;
    }
}

static uint64_t get_cntr(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 5; i++)
        v = (v << 8) | p[i];
    return v;
}

static int keys_ok(const struct ota_keys *k)
{
    return k && k->kv >= 1 && k->kv <= 15;
}

static uint8_t key_octet(const struct ota_keys *k)
{
    return (uint8_t)((k->kv << 4) | 0x2);
}

enum car_err ota_diversify(const uint8_t mk[16], const char *iccid, uint8_t kv, struct ota_keys *out)
{
    uint8_t msg[1 + 32];
    size_t n;
    struct part part = {msg, 0};
    enum car_err rc = CAR_ERR_INVALID;

    if (!mk || !iccid || !out)
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    n = strlen(iccid);
    if (n == 0 || n > sizeof msg - 1 || kv < 1 || kv > 15)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if (iccid[i] < '0' || iccid[i] > '9')
            goto out;
    }
    memcpy(msg + 1, iccid, n);
    part.n = n + 1;
    msg[0] = 0x01;
    rc = aes_cmac(mk, &part, 1, out->kic);
    if (rc != CAR_OK)
        goto out;
    msg[0] = 0x02;
    rc = aes_cmac(mk, &part, 1, out->kid);
    if (rc != CAR_OK)
        goto out;
    out->kv = kv;
out:
    if (rc != CAR_OK)
        ota_keys_wipe(out);
    return rc;
}

void ota_keys_wipe(struct ota_keys *k)
{
    if (k)
        OPENSSL_cleanse(k, sizeof *k);
}

static size_t pad_for(size_t n)
{
    return (BLOCK - n % BLOCK) % BLOCK;
}

/*
 * The last steps of every outgoing packet: the CC (AES-CMAC over `parts`,
 * truncated) goes into its field at plain + cc_off, then the secured part
 * (clen octets) is enciphered into dst.
 */
static enum car_err seal(const struct ota_keys *k, const struct part *parts, size_t nparts, uint8_t *plain,
                         size_t cc_off, size_t clen, uint8_t *dst)
{
    uint8_t mac[16];
    enum car_err rc = aes_cmac(k->kid, parts, nparts, mac);

    if (rc == CAR_OK) {
        memcpy(plain + cc_off, mac, CC_LEN);
        rc = aes_cbc(k->kic, 1, plain, clen, dst);
    }
    OPENSSL_cleanse(mac, sizeof mac);
    return rc;
}

enum car_err ota_wrap_command(const struct ota_keys *k, uint64_t cntr, const uint8_t *data, size_t len, uint8_t *out,
                              size_t cap, size_t *outlen)
{
    uint8_t plain[OTA_MAX_PACKET];
    size_t pad, clen, total;
    enum car_err rc = CAR_ERR_INVALID;

    if (!keys_ok(k) || (!data && len) || !out || !outlen || cntr > OTA_CNTR_MAX)
        return CAR_ERR_INVALID;
    *outlen = 0;
    if (len > OTA_MAX_PACKET)
        return CAR_ERR_TOO_LONG;
    pad = pad_for(CMD_SEC + len);
    clen = CMD_SEC + len + pad;
    total = CMD_HDR + clen;
    if (total > OTA_MAX_PACKET || total > cap)
        return CAR_ERR_TOO_LONG;
    out[0] = (uint8_t)((total - 2) >> 8);
    out[1] = (uint8_t)(total - 2);
    out[2] = CHL;
    out[3] = SPI1;
    out[4] = SPI2;
    out[5] = key_octet(k);
    out[6] = key_octet(k);
    memcpy(out + 7, OTA_TAR_SPK, 3);
    put_cntr(plain, cntr);
    plain[5] = (uint8_t)pad;
    if (len)
        memcpy(plain + CMD_SEC, data, len);
    memset(plain + CMD_SEC + len, 0, pad);
    {
        /* CC over CPL..TAR, CNTR PCNTR, data padding: everything but the CC field. */
        struct part all[3] = {{out, CMD_HDR}, {plain, 6}, {plain + CMD_SEC, len + pad}};
        rc = seal(k, all, 3, plain, 6, clen, out + CMD_HDR);
    }
    if (rc == CAR_OK)
        *outlen = total;
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
}

enum car_err ota_wrap_response(const struct ota_keys *k, uint64_t cntr, uint8_t status, const uint8_t *data, size_t len,
                               uint8_t *out, size_t cap, size_t *outlen)
{
    uint8_t plain[OTA_MAX_PACKET];
    size_t pad, clen, total;
    enum car_err rc = CAR_ERR_INVALID;

    if (!keys_ok(k) || (!data && len) || !out || !outlen || cntr > OTA_CNTR_MAX)
        return CAR_ERR_INVALID;
    *outlen = 0;
    if (len > OTA_MAX_PACKET)
        return CAR_ERR_TOO_LONG;
    pad = pad_for(RESP_SEC + len);
    clen = RESP_SEC + len + pad;
    total = RESP_HDR + clen;
    if (total > OTA_MAX_PACKET || total > cap)
        return CAR_ERR_TOO_LONG;
    out[0] = (uint8_t)((total - 2) >> 8);
    out[1] = (uint8_t)(total - 2);
    out[2] = RHL;
    memcpy(out + 3, OTA_TAR_SPK, 3);
    put_cntr(plain, cntr);
    plain[5] = (uint8_t)pad;
    plain[6] = status;
    if (len)
        memcpy(plain + RESP_SEC, data, len);
    memset(plain + RESP_SEC + len, 0, pad);
    {
        /* The PoR CC always starts with 02 71 00, whatever UDH carried it. */
        struct part all[4] = {{por_udh, 3}, {out, RESP_HDR}, {plain, 7}, {plain + RESP_SEC, len + pad}};
        rc = seal(k, all, 4, plain, 7, clen, out + RESP_HDR);
    }
    if (rc == CAR_OK)
        *outlen = total;
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
}

/* Constant-time CC check of the computed MAC against the deciphered CC. */
static enum car_err cc_check(const uint8_t mac[16], const uint8_t *cc)
{
    return CRYPTO_memcmp(mac, cc, CC_LEN) == 0 ? CAR_OK : CAR_ERR_AUTH;
}

/* After the CC: PCNTR must fit and the padding must be the zeros we expect. */
static enum car_err check_padding(const uint8_t *plain, size_t clen, size_t sec, uint8_t pcntr)
{
    if (pcntr >= BLOCK || pcntr > clen - sec)
        return CAR_ERR_MALFORMED;
    for (size_t i = clen - pcntr; i < clen; i++) {
        if (plain[i])
            return CAR_ERR_MALFORMED;
    }
    return CAR_OK;
}

/*
 * The part both directions share once the header is checked: decipher the
 * clen octets after the hdr-octet header into plain, then authenticate.  The
 * CMAC covers the PoR UDH (responses only, with_por), the header, the first
 * cc_at octets of the deciphered security header (the CC sits right after
 * them) and the data after the sec-octet security header; then the padding
 * count (plain[5]) is checked.
 */
static enum car_err open_sealed(const struct ota_keys *k, const uint8_t *pkt, size_t hdr, size_t clen, size_t cc_at,
                                size_t sec, int with_por, uint8_t *plain)
{
    uint8_t mac[16];
    struct part all[4];
    size_t n = 0;
    enum car_err rc = aes_cbc(k->kic, 0, pkt + hdr, clen, plain);

    if (rc == CAR_OK) {
        if (with_por)
            all[n++] = (struct part){por_udh, 3};
        all[n++] = (struct part){pkt, hdr};
        all[n++] = (struct part){plain, cc_at};
        all[n++] = (struct part){plain + sec, clen - sec};
        rc = aes_cmac(k->kid, all, n, mac);
    }
    if (rc == CAR_OK)
        rc = cc_check(mac, plain + cc_at);
    if (rc == CAR_OK)
        rc = check_padding(plain, clen, sec, plain[5]);
    OPENSSL_cleanse(mac, sizeof mac);
    return rc;
}

enum car_err ota_unwrap_command(const struct ota_keys *k, const uint8_t *pkt, size_t len, uint8_t *plain, size_t cap,
                                struct ota_command *out)
{
    size_t clen;
    enum car_err rc = CAR_ERR_MALFORMED;

    if (!keys_ok(k) || (!pkt && len) || !plain || !out)
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len < CMD_HDR + BLOCK || len > OTA_MAX_PACKET)
        return CAR_ERR_MALFORMED;
    clen = len - CMD_HDR;
    if ((((size_t)pkt[0] << 8) | pkt[1]) != len - 2 || pkt[2] != CHL || clen % BLOCK)
        return CAR_ERR_MALFORMED;
    if (pkt[3] != SPI1 || pkt[4] != SPI2 || (pkt[5] & 0x0F) != 0x2 || (pkt[6] & 0x0F) != 0x2)
        return CAR_ERR_UNSUPPORTED;
    if (memcmp(pkt + 7, OTA_TAR_SPK, 3) != 0)
        return CAR_ERR_NOT_FOUND;
    if (pkt[5] != key_octet(k) || pkt[6] != key_octet(k))
        return CAR_ERR_NOT_FOUND; /* no key of that version here */
    if (cap < clen)
        return CAR_ERR_INVALID;
    rc = open_sealed(k, pkt, CMD_HDR, clen, 6, CMD_SEC, 0, plain);
    if (rc != CAR_OK)
        goto out;
    out->cntr = get_cntr(plain);
    out->kic = pkt[5];
    out->kid = pkt[6];
    out->data = plain + CMD_SEC;
    out->data_len = clen - CMD_SEC - plain[5];
out:
    if (rc != CAR_OK)
        OPENSSL_cleanse(plain, cap < clen ? cap : clen);
    return rc;
}

enum car_err ota_unwrap_response(const struct ota_keys *k, const uint8_t *pkt, size_t len, uint8_t *plain, size_t cap,
                                 struct ota_response *out)
{
    size_t clen;
    enum car_err rc = CAR_ERR_MALFORMED;

    if (!keys_ok(k) || (!pkt && len) || !plain || !out)
        return CAR_ERR_INVALID;
    memset(out, 0, sizeof *out);
    if (len < RESP_HDR + BLOCK || len > OTA_MAX_PACKET)
        return CAR_ERR_MALFORMED;
    clen = len - RESP_HDR;
    if ((((size_t)pkt[0] << 8) | pkt[1]) != len - 2 || pkt[2] != RHL || clen % BLOCK)
        return CAR_ERR_MALFORMED;
    if (memcmp(pkt + 3, OTA_TAR_SPK, 3) != 0)
        return CAR_ERR_NOT_FOUND;
    if (cap < clen)
        return CAR_ERR_INVALID;
    rc = open_sealed(k, pkt, RESP_HDR, clen, 7, RESP_SEC, 1, plain);
    if (rc != CAR_OK)
        goto out;
    out->cntr = get_cntr(plain);
    out->status = plain[6];
    out->data = plain + RESP_SEC;
    out->data_len = clen - RESP_SEC - plain[5];
out:
    if (rc != CAR_OK)
        OPENSSL_cleanse(plain, cap < clen ? cap : clen);
    return rc;
}

enum car_err ota_peek(const uint8_t *pkt, size_t len, int is_response, uint8_t tar[3], size_t *claimed_len)
{
    size_t hdr = is_response ? RESP_HDR : CMD_HDR;

    if (!pkt || !tar || !claimed_len)
        return CAR_ERR_INVALID;
    if (len < hdr)
        return CAR_ERR_MALFORMED;
    memcpy(tar, pkt + hdr - 3, 3);
    *claimed_len = (((size_t)pkt[0] << 8) | pkt[1]) + 2;
    return CAR_OK;
}
