/* sim_card.c - see sim_card.h. */
#include "sim_card.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "car_spka.h"
#include "car_text.h"

#define SIM_KEY_REFS  2 /* 0x01 signing, 0x02 authentication */
#define SIM_PIN_TRIES 3
#define SIM_VERSION   "SPKA-SIM 1.0"

struct sim_card {
    char msisdn[16];
    struct ota_keys keys;
    enum sim_behaviour behaviour;
    unsigned delay_ms;
    uint64_t last_cntr; /* highest counter accepted */
    unsigned submits;
    unsigned long hold_conn;     /* hold_first: the connection whose submits are held, 0 before the first */
    int lost_resp;               /* lost_resp: the one response was lost already */
    EVP_PKEY *key[SIM_KEY_REFS]; /* index = key ref - 1 */
    uint8_t *cert[SIM_KEY_REFS]; /* DER, from the scenario or PUTCERT */
    size_t cert_len[SIM_KEY_REFS];
    EVP_PKEY *impostor; /* wrong-key behaviour: made on first use */
    EVP_PKEY *preset;   /* what the first GENKEY on ref 0x01 answers, or NULL */
};

static const char *const behaviour_names[SIM_B_COUNT_] = {
    "confirm",
    "cancel",
    "no_answer",
    "pin_blocked",
    "card_blocked",
    "no_key",
    "user_timeout",
    "corrupt_por",
    "wrong_key",
    "drop_first",
    "throttle_first",
    "permanent_error",
    "replay",
    "hostile",
    "segments_shuffled",
    "ref16",
    "slow",
    "hold_first",
    "lost_resp",
    /* 19-21: enrolment numbers, no behaviour of their own */
    NULL,
    NULL,
    NULL,
    "soap_fault",
    "http_500",
    "slow_drip",
    "huge_body",
    "billion_laughs",
    "malformed_xml",
    "forged_502",
    "other_cert",
    "dead_socket",
};

const char *sim_behaviour_name(enum sim_behaviour b)
{
    if ((unsigned)b >= SIM_B_COUNT_ || !behaviour_names[b])
        return "unknown";
    return behaviour_names[b];
}

int sim_behaviour_parse(const char *name)
{
    size_t n = strlen(name);

    for (int i = 0; i < SIM_B_COUNT_; i++)
        if (behaviour_names[i] && strcmp(name, behaviour_names[i]) == 0)
            return i;
    /* The two-digit code of the number plan, so a scenario can say "07". */
    if (n == 2 && name[0] >= '0' && name[0] <= '9' && name[1] >= '0' && name[1] <= '9') {
        int v = (name[0] - '0') * 10 + (name[1] - '0');
        if (v < SIM_B_COUNT_ && behaviour_names[v])
            return v;
    }
    return -1;
}

unsigned sim_behaviour_default_delay_ms(enum sim_behaviour b, unsigned scenario_default)
{
    /* lost_resp: the card is still waiting for the PIN when the ESME's copy arrives after its rebind. */
    if (b == SIM_B_LOST_RESP)
        return 4000;
    return b == SIM_B_SLOW ? 5000 : scenario_default;
}

static void set_err(char *err, size_t errlen, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", what);
}

struct sim_card *sim_card_new(const char *msisdn, const char *iccid, uint8_t kv, const uint8_t mk[16],
                              enum sim_behaviour b, unsigned delay_ms, char *err, size_t errlen)
{
    struct sim_card *c = NULL;

    if (strlen(msisdn) >= sizeof(c->msisdn) || (unsigned)b >= SIM_B_COUNT_) {
        set_err(err, errlen, "bad msisdn or behaviour");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(c->msisdn, msisdn, strlen(msisdn) + 1);
    c->behaviour = b;
    c->delay_ms = delay_ms;
    if (ota_diversify(mk, iccid, kv, &c->keys) != CAR_OK) {
        set_err(err, errlen, "bad iccid or key version");
        sim_card_free(c);
        return NULL;
    }
    return c;
}

void sim_card_free(struct sim_card *c)
{
    if (!c)
        return;
    ota_keys_wipe(&c->keys);
    for (int i = 0; i < SIM_KEY_REFS; i++) {
        EVP_PKEY_free(c->key[i]);
        free(c->cert[i]);
    }
    EVP_PKEY_free(c->impostor);
    EVP_PKEY_free(c->preset);
    free(c);
}

const char *sim_card_msisdn(const struct sim_card *c)
{
    return c->msisdn;
}

enum sim_behaviour sim_card_behaviour(const struct sim_card *c)
{
    return c->behaviour;
}

unsigned sim_card_delay_ms(const struct sim_card *c)
{
    return c->delay_ms;
}

unsigned sim_card_count_submit(struct sim_card *c)
{
    return c->submits++;
}

int sim_card_hold(struct sim_card *c, unsigned long conn_id)
{
    if (c->behaviour != SIM_B_HOLD_FIRST)
        return 0;
    if (c->hold_conn == 0)
        c->hold_conn = conn_id;
    return c->hold_conn == conn_id;
}

int sim_card_lose_resp(struct sim_card *c)
{
    if (c->behaviour != SIM_B_LOST_RESP || c->lost_resp)
        return 0;
    c->lost_resp = 1;
    return 1;
}

/* 1 RSA-2048, 2 EC P-256, 0 for anything a SPKA/1 card cannot hold. */
static int key_alg(const EVP_PKEY *k)
{
    char group[32];
    size_t glen = 0;

    if (EVP_PKEY_is_a(k, "RSA") && EVP_PKEY_get_bits(k) == 2048)
        return 1;
    if (EVP_PKEY_is_a(k, "EC") &&
        EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) == 1 &&
        (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
        return 2;
    return 0;
}

static uint8_t *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n;

    if (!f)
        return NULL;
    buf = malloc(max);
    if (!buf)
        goto out;
    n = fread(buf, 1, max, f);
    if (ferror(f) || n == max) {
        /* n == max: the file is larger than anything a card stores. */
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = n;
out:
    fclose(f);
    return buf;
}

/* A PEM private key a SPKA/1 card can hold, into *out; errors as sim_card_load_key. */
static enum car_err read_key(const char *key_path, EVP_PKEY **out, char *err, size_t errlen)
{
    BIO *bio = BIO_new_file(key_path, "r");
    EVP_PKEY *k = NULL;

    *out = NULL;
    if (!bio) {
        set_err(err, errlen, "cannot open key file");
        return CAR_ERR_IO;
    }
    k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (!k) {
        set_err(err, errlen, "cannot read private key");
        return CAR_ERR_IO;
    }
    if (key_alg(k) == 0) {
        EVP_PKEY_free(k);
        set_err(err, errlen, "key is neither RSA-2048 nor EC P-256");
        return CAR_ERR_INVALID;
    }
    *out = k;
    return CAR_OK;
}

enum car_err sim_card_load_key(struct sim_card *c, const char *key_path, const char *cert_path, char *err,
                               size_t errlen)
{
    enum car_err rc;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    const unsigned char *p;

    rc = read_key(key_path, &k, err, errlen);
    if (rc != CAR_OK)
        goto out;
    rc = CAR_ERR_INVALID;
    if (cert_path) {
        der = read_file(cert_path, 16384, &der_len);
        if (!der) {
            rc = CAR_ERR_IO;
            set_err(err, errlen, "cannot read certificate file");
            goto out;
        }
        p = der;
        x = d2i_X509(NULL, &p, (long)der_len);
        if (!x || p != der + der_len) {
            set_err(err, errlen, "certificate is not one DER X.509 certificate");
            goto out;
        }
        /* A card whose key does not match its certificate would make every
         * "confirm" test fail as a bad signature: refuse it at start. */
        if (EVP_PKEY_eq(X509_get0_pubkey(x), k) != 1) {
            set_err(err, errlen, "certificate does not carry the key's public key");
            goto out;
        }
    }
    EVP_PKEY_free(c->key[0]);
    c->key[0] = k;
    k = NULL;
    free(c->cert[0]);
    c->cert[0] = der;
    c->cert_len[0] = der_len;
    der = NULL;
    rc = CAR_OK;
out:
    X509_free(x);
    free(der);
    EVP_PKEY_free(k);
    return rc;
}

enum car_err sim_card_preset_genkey(struct sim_card *c, const char *key_path, char *err, size_t errlen)
{
    EVP_PKEY *k = NULL;
    enum car_err rc = read_key(key_path, &k, err, errlen);

    if (rc != CAR_OK)
        return rc;
    EVP_PKEY_free(c->preset);
    c->preset = k;
    return CAR_OK;
}

static EVP_PKEY *gen_key(int alg)
{
    if (alg == 1)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    if (alg == 2)
        return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    return NULL;
}

static const EVP_MD *spka_md(uint8_t alg)
{
    switch (alg) {
    case SPKA_SHA256: return EVP_sha256();
    case SPKA_SHA384: return EVP_sha384();
    case SPKA_SHA512: return EVP_sha512();
    default: return NULL;
    }
}

/*
 * RSA: RSASSA-PKCS1-v1_5 over DigestInfo(alg, digest) - setting the
 * signature md makes OpenSSL build the DigestInfo around the bare digest.
 * EC: DER ECDSA-Sig-Value over the digest.
 */
static enum car_err sign_digest(EVP_PKEY *k, uint8_t alg, const uint8_t *dg, size_t dglen, uint8_t *sig, size_t cap,
                                size_t *siglen)
{
    enum car_err rc = CAR_ERR_INVALID;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    size_t n = cap;

    if (!ctx)
        return CAR_ERR_NOMEM;
    if (EVP_PKEY_sign_init(ctx) != 1)
        goto out;
    if (EVP_PKEY_is_a(k, "RSA")) {
        if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(ctx, spka_md(alg)) != 1)
            goto out;
    }
    if (EVP_PKEY_sign(ctx, sig, &n, dg, dglen) != 1)
        goto out;
    *siglen = n;
    rc = CAR_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

/* The SIM-side handling of one decoded command: fills rsp (result, TLVs). */
static void run_command(struct sim_card *c, const struct spka_command *cmd, struct spka_response *rsp, uint8_t *scratch,
                        size_t scratch_cap)
{
    enum sim_behaviour b = c->behaviour;
    int ref = cmd->key_ref;
    int needs_pin = cmd->cmd == SPKA_SIGN || cmd->cmd == SPKA_GENKEY;
    EVP_PKEY *k;
    size_t n = 0;
    unsigned char *p;
    int len;

    rsp->result = SPKA_OK;
    if (cmd->cmd != SPKA_INFO && (ref < 1 || ref > SIM_KEY_REFS)) {
        rsp->result = SPKA_BAD_COMMAND;
        return;
    }
    /* The user-facing outcomes only come into play where the card asks for the PIN. */
    if (needs_pin && b == SIM_B_CARD_BLOCKED) {
        rsp->result = SPKA_CARD_BLOCKED;
        return;
    }
    if (needs_pin && b == SIM_B_PIN_BLOCKED) {
        rsp->result = SPKA_PIN_BLOCKED;
        return;
    }
    switch (cmd->cmd) {
    case SPKA_SIGN:
        k = c->key[ref - 1];
        if (!k) {
            rsp->result = SPKA_NO_KEY;
            return;
        }
        if (!spka_md(cmd->digest_alg) || cmd->digest_len != spka_digest_len(cmd->digest_alg)) {
            rsp->result = SPKA_BAD_COMMAND;
            return;
        }
        if (b == SIM_B_CANCEL) {
            rsp->result = SPKA_USER_CANCEL;
            return;
        }
        if (b == SIM_B_USER_TIMEOUT) {
            rsp->result = SPKA_USER_TIMEOUT;
            return;
        }
        if (b == SIM_B_WRONG_KEY) {
            if (!c->impostor)
                c->impostor = gen_key(key_alg(k));
            if (!c->impostor) {
                rsp->result = SPKA_INTERNAL_ERROR;
                return;
            }
            k = c->impostor;
        }
        if (sign_digest(k, cmd->digest_alg, cmd->digest, cmd->digest_len, scratch, scratch_cap, &n) != CAR_OK) {
            rsp->result = SPKA_INTERNAL_ERROR;
            return;
        }
        rsp->signature = scratch;
        rsp->sig_len = n;
        return;
    case SPKA_GENKEY:
        if (b == SIM_B_CANCEL || b == SIM_B_USER_TIMEOUT) {
            rsp->result = b == SIM_B_CANCEL ? SPKA_USER_CANCEL : SPKA_USER_TIMEOUT;
            return;
        }
        if (c->key[ref - 1]) {
            rsp->result = SPKA_KEY_EXISTS;
            return;
        }
        if (cmd->key_alg != 1 && cmd->key_alg != 2) {
            rsp->result = SPKA_UNSUPPORTED;
            return;
        }
        if (ref == 1 && c->preset && key_alg(c->preset) != cmd->key_alg) {
            rsp->result = SPKA_UNSUPPORTED;
            return;
        }
        if (ref == 1 && c->preset) {
            k = c->preset; /* used once: the card now holds it */
            c->preset = NULL;
        } else {
            k = gen_key(cmd->key_alg);
        }
        len = k ? i2d_PUBKEY(k, NULL) : -1;
        if (len <= 0 || (size_t)len > scratch_cap) {
            EVP_PKEY_free(k);
            rsp->result = SPKA_INTERNAL_ERROR;
            return;
        }
        p = scratch;
        len = i2d_PUBKEY(k, &p);
        c->key[ref - 1] = k;
        rsp->spki = scratch;
        rsp->spki_len = (size_t)len;
        return;
    case SPKA_PUTCERT:
        if (!cmd->cert || cmd->cert_len == 0) {
            rsp->result = SPKA_BAD_COMMAND;
            return;
        }
        p = malloc(cmd->cert_len);
        if (!p) {
            rsp->result = SPKA_STORAGE_FULL;
            return;
        }
        memcpy(p, cmd->cert, cmd->cert_len);
        free(c->cert[ref - 1]);
        c->cert[ref - 1] = p;
        c->cert_len[ref - 1] = cmd->cert_len;
        return;
    case SPKA_INFO:
        rsp->version = (const uint8_t *)SIM_VERSION;
        rsp->version_len = strlen(SIM_VERSION);
        rsp->pin_tries = b == SIM_B_PIN_BLOCKED ? 0 : SIM_PIN_TRIES;
        for (int i = 0; i < SIM_KEY_REFS && n < scratch_cap; i++)
            if (c->key[i])
                scratch[n++] = (uint8_t)(i + 1);
        rsp->key_refs = scratch;
        rsp->key_refs_len = n;
        return;
    default: rsp->result = SPKA_UNSUPPORTED; return;
    }
}

const uint8_t *sim_card_cert(const struct sim_card *c, size_t *len)
{
    *len = c->cert_len[0];
    return c->cert[0];
}

EVP_PKEY *sim_card_signing_key(const struct sim_card *c)
{
    return c->behaviour == SIM_B_WRONG_KEY ? c->impostor : c->key[0];
}

enum car_err sim_card_sign_digest(struct sim_card *c, uint8_t spka_alg, const uint8_t *digest, size_t digest_len,
                                  uint8_t *sig, size_t cap, size_t *sig_len, uint8_t *result)
{
    struct spka_command cmd = {0};
    struct spka_response rsp = {0};

    *sig_len = 0;
    if (!spka_md(spka_alg) || digest_len != spka_digest_len(spka_alg))
        return CAR_ERR_INVALID;
    cmd.cmd = SPKA_SIGN;
    cmd.key_ref = 1;
    cmd.digest_alg = spka_alg;
    cmd.digest = digest;
    cmd.digest_len = digest_len;
    run_command(c, &cmd, &rsp, sig, cap);
    *result = rsp.result;
    if (rsp.result == SPKA_OK)
        *sig_len = rsp.sig_len;
    return CAR_OK;
}

/*
 * The counter of a packet whose CC failed, to echo it in the PoR as a card
 * does: it sits in the first ciphered block (after CPL CHL SPI KIc KID TAR).
 */
static uint64_t peek_cntr(const struct ota_keys *k, const uint8_t *pkt, size_t len)
{
    uint8_t iv[16] = {0}, blk[16];
    EVP_CIPHER_CTX *ctx;
    int outl = 0;
    uint64_t v = 0;

    if (len < 10 + 16)
        return 0;
    ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return 0;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, k->kic, iv) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
        EVP_DecryptUpdate(ctx, blk, &outl, pkt + 10, 16) == 1 && outl == 16) {
        for (int i = 0; i < 5; i++)
            v = (v << 8) | blk[i];
    }
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(blk, sizeof(blk));
    return v;
}

enum car_err sim_card_handle(struct sim_card *c, const uint8_t *pkt, size_t len, struct sim_answer *out)
{
    enum car_err rc;
    uint8_t plain[OTA_MAX_PACKET];
    uint8_t data[OTA_MAX_PACKET];
    uint8_t scratch[1024];
    struct ota_command oc = {0};
    struct spka_command cmd = {0};
    struct spka_response rsp = {0};
    struct ota_keys wk;
    size_t dlen = 0, tlen = 0;

    memset(out, 0, sizeof(*out));
    rsp.pin_tries = -1;
    if (len > sizeof(plain))
        return CAR_ERR_MALFORMED;
    rc = ota_unwrap_command(&c->keys, pkt, len, plain, sizeof(plain), &oc);
    if (rc == CAR_ERR_AUTH) {
        out->ota_status = OTA_POR_CC_FAILED;
        out->cntr = peek_cntr(&c->keys, pkt, len);
        goto wrap;
    }
    if (rc == CAR_ERR_NOT_FOUND) {
        out->ota_status = OTA_POR_TAR_UNKNOWN;
        goto wrap;
    }
    if (rc != CAR_OK)
        goto out;
    out->cntr = oc.cntr;
    if (oc.cntr <= c->last_cntr) {
        /* A replayed or stale command: refused, the counter stays where it was. */
        out->ota_status = OTA_POR_CNTR_LOW;
        goto wrap;
    }
    c->last_cntr = oc.cntr;
    out->ota_status = OTA_POR_OK;

    if (spka_decode_command(oc.data, oc.data_len, &cmd) != CAR_OK) {
        /* Readable packet, unreadable application data: BAD_COMMAND with
         * whatever header octets there are, so the gateway can correlate. */
        rsp.cmd = oc.data_len > 1 ? oc.data[1] : 0;
        if (oc.data_len >= 10)
            memcpy(rsp.txn_ref, oc.data + 2, 8);
        rsp.result = SPKA_BAD_COMMAND;
    } else {
        out->has_spka = 1;
        rsp.cmd = cmd.cmd;
        memcpy(rsp.txn_ref, cmd.txn_ref, 8);
        if (cmd.text && text_decode(cmd.text, cmd.text_len, out->text, sizeof(out->text) - 1, &tlen) == CAR_OK)
            out->text[tlen] = '\0';
        if (cmd.vc && cmd.vc_len == 4) {
            memcpy(out->vc, cmd.vc, 4);
            out->vc[4] = '\0';
        }
        run_command(c, &cmd, &rsp, scratch, sizeof(scratch));
    }
    out->cmd = rsp.cmd;
    out->result = rsp.result;
    rc = spka_encode_response(&rsp, data, sizeof(data), &dlen);
    if (rc != CAR_OK)
        goto out;

wrap:
    wk = c->keys;
    if (c->behaviour == SIM_B_CORRUPT_POR)
        wk.kid[0] ^= 0x01; /* a PoR that deciphers but whose CC is wrong */
    rc = ota_wrap_response(&wk, out->cntr, out->ota_status, out->ota_status == OTA_POR_OK ? data : NULL,
                           out->ota_status == OTA_POR_OK ? dlen : 0, out->por, sizeof(out->por), &out->por_len);
    OPENSSL_cleanse(&wk, sizeof(wk));
    if (rc != CAR_OK)
        goto out;
    out->has_por = c->behaviour != SIM_B_NO_ANSWER;
out:
    OPENSSL_cleanse(plain, sizeof(plain));
    OPENSSL_cleanse(scratch, sizeof(scratch));
    return rc;
}
