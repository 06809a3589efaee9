/*
 * test_ota.c - secured packets: the vectors byte for byte (keys, command
 * packet, PoRs), the RSA signature in the OK PoR, and every way a packet or
 * a key can be wrong.
 */
#include "car_ota.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "car_spka.h"
#include "car_udh.h"
#include "check.h"
#include "vectors.h"

static struct ota_keys keys;

static void test_diversify(json_t *v)
{
    uint8_t mk[16], kic[16], kid[16];
    struct ota_keys k;

    CHECK_EQ_INT(vec_hex(v, NULL, "master_key", mk, sizeof mk), 16);
    CHECK_EQ_INT(vec_hex(v, NULL, "kic", kic, sizeof kic), 16);
    CHECK_EQ_INT(vec_hex(v, NULL, "kid", kid, sizeof kid), 16);
    CHECK_EQ_INT(ota_diversify(mk, json_string_value(json_object_get(v, "iccid")), 1, &keys), CAR_OK);
    CHECK_MEM(keys.kic, kic, 16);
    CHECK_MEM(keys.kid, kid, 16);
    CHECK_EQ_INT(keys.kv, 1);

    CHECK_EQ_INT(ota_diversify(mk, "", 1, &k), CAR_ERR_INVALID);
    CHECK_EQ_INT(ota_diversify(mk, "89840400000000000x9", 1, &k), CAR_ERR_INVALID);
    CHECK_EQ_INT(ota_diversify(mk, "8984040000000000019", 0, &k), CAR_ERR_INVALID);
    CHECK_EQ_INT(ota_diversify(mk, "8984040000000000019", 16, &k), CAR_ERR_INVALID);
    CHECK_EQ_INT(k.kv, 0); /* wiped on failure */
    ota_keys_wipe(&k);
    ota_keys_wipe(NULL);
}

static void test_command_vector(json_t *v)
{
    uint8_t data[512], want[OTA_MAX_PACKET], pkt[OTA_MAX_PACKET], plain[OTA_MAX_PACKET];
    long dl = vec_hex(v, "sign_command", "application_data", data, sizeof data);
    long wl = vec_hex(v, "sign_command", "secured_packet", want, sizeof want);
    struct ota_command cmd;
    size_t n = 0;

    CHECK_EQ_INT(ota_wrap_command(&keys, 1, data, (size_t)dl, pkt, sizeof pkt, &n), CAR_OK);
    CHECK_EQ_INT(n, wl);
    CHECK_MEM(pkt, want, (size_t)wl);
    CHECK_EQ_INT(ota_wrap_command(&keys, 1, data, (size_t)dl, pkt, (size_t)wl - 1, &n), CAR_ERR_TOO_LONG);
    CHECK_EQ_INT(ota_wrap_command(&keys, OTA_CNTR_MAX + 1, data, 4, pkt, sizeof pkt, &n), CAR_ERR_INVALID);

    /* The SIM side recovers the application data. */
    CHECK_EQ_INT(ota_unwrap_command(&keys, want, (size_t)wl, plain, sizeof plain, &cmd), CAR_OK);
    CHECK_EQ_INT(cmd.cntr, 1);
    CHECK_EQ_INT(cmd.kic, 0x12);
    CHECK_EQ_INT(cmd.data_len, dl);
    CHECK_MEM(cmd.data, data, (size_t)dl);

    for (size_t len = 0; len < (size_t)wl; len++)
        CHECK(ota_unwrap_command(&keys, want, len, plain, sizeof plain, &cmd) != CAR_OK);
}

/* reassemble the vector's SMS user data, as the gateway receives it */
static size_t reassemble(json_t *v, const char *name, uint8_t *pkt)
{
    struct udh_reasm *r = udh_reasm_new(4, 60000);
    uint8_t ud[200];
    size_t n = 0;
    int kind = 0;
    int rc = -1;

    for (size_t i = 0; i < vec_count(v, name, "sms_user_data"); i++) {
        long l = vec_hex_at(v, name, "sms_user_data", i, ud, sizeof ud);
        rc = udh_reasm_feed(r, "84912345678", ud, (size_t)l, 1000, pkt, OTA_MAX_PACKET, &n, &kind);
    }
    CHECK_EQ_INT(rc, UDH_FEED_DONE);
    CHECK_EQ_INT(kind, UDH_RESPONSE);
    udh_reasm_free(r);
    return n;
}

/* RSASSA-PKCS1-v1_5 over DigestInfo(SHA-256, digest) with the SIM's public key. */
static int verify_sig(const uint8_t *sig, size_t sig_len, const uint8_t *digest)
{
    FILE *f = fopen(TEST_DATA_DIR "/sim-rsa2048.key.pem", "r");
    EVP_PKEY *pkey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    EVP_PKEY_CTX *ctx = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
    int ok = 0;

    if (ctx && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)
        ok = EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    if (f)
        fclose(f);
    return ok;
}

static void test_por(json_t *v, const char *name, uint8_t result)
{
    uint8_t pkt[OTA_MAX_PACKET], want[OTA_MAX_PACKET], app[512], plain[OTA_MAX_PACKET], again[OTA_MAX_PACKET];
    uint8_t digest[32];
    long wl = vec_hex(v, name, "response_packet", want, sizeof want);
    long al = vec_hex(v, name, "application_data", app, sizeof app);
    size_t n = reassemble(v, name, pkt);
    struct ota_response res;
    struct spka_response r;

    CHECK_EQ_INT(n, wl);
    CHECK_MEM(pkt, want, (size_t)wl);
    CHECK_EQ_INT(ota_unwrap_response(&keys, pkt, n, plain, sizeof plain, &res), CAR_OK);
    CHECK_EQ_INT(res.cntr, 1);
    CHECK_EQ_INT(res.status, OTA_POR_OK);
    CHECK_EQ_INT(res.data_len, al);
    CHECK_MEM(res.data, app, (size_t)al);
    CHECK_EQ_INT(spka_decode_response(res.data, res.data_len, &r), CAR_OK);
    CHECK_EQ_INT(r.result, result);
    if (result == SPKA_OK) {
        check_unhex("c0d7eb3292f5117f04e6b3fc5de6431be34c65988db0e20f7d1635b8aee6e471", digest, 32);
        CHECK(verify_sig(r.signature, r.sig_len, digest));
        digest[0] ^= 1;
        CHECK(!verify_sig(r.signature, r.sig_len, digest));
    }
    /* The SIM side's wrap reproduces the vector packet. */
    CHECK_EQ_INT(ota_wrap_response(&keys, 1, 0, app, (size_t)al, again, sizeof again, &n), CAR_OK);
    CHECK_EQ_INT(n, wl);
    CHECK_MEM(again, want, (size_t)wl);
}

static void test_negative(json_t *v)
{
    uint8_t pkt[OTA_MAX_PACKET], bad[OTA_MAX_PACKET], plain[OTA_MAX_PACKET];
    long wl = vec_hex(v, "sign_por_ok", "response_packet", pkt, sizeof pkt);
    struct ota_keys wrong = keys;
    struct ota_response res;
    uint8_t tar[3];
    size_t claimed = 0;

    /* A wrong key is an AUTH failure, whichever half is wrong, and never data. */
    wrong.kid[0] ^= 1;
    CHECK_EQ_INT(ota_unwrap_response(&wrong, pkt, (size_t)wl, plain, sizeof plain, &res), CAR_ERR_AUTH);
    CHECK(res.data == NULL);
    wrong = keys;
    wrong.kic[15] ^= 0x80;
    CHECK_EQ_INT(ota_unwrap_response(&wrong, pkt, (size_t)wl, plain, sizeof plain, &res), CAR_ERR_AUTH);
    CHECK(res.data == NULL);
    ota_keys_wipe(&wrong);

    /* Any flipped bit in the ciphered CC block (and the rest) fails the CC. */
    for (size_t bit = 0; bit < 8 * 32; bit++) {
        memcpy(bad, pkt, (size_t)wl);
        bad[6 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        CHECK_EQ_INT(ota_unwrap_response(&keys, bad, (size_t)wl, plain, sizeof plain, &res), CAR_ERR_AUTH);
    }
    memcpy(bad, pkt, (size_t)wl);
    bad[(size_t)wl - 1] ^= 0x01; /* last block: data and padding */
    CHECK_EQ_INT(ota_unwrap_response(&keys, bad, (size_t)wl, plain, sizeof plain, &res), CAR_ERR_AUTH);

    memcpy(bad, pkt, (size_t)wl);
    bad[5] = 'X';
    CHECK_EQ_INT(ota_unwrap_response(&keys, bad, (size_t)wl, plain, sizeof plain, &res), CAR_ERR_NOT_FOUND);
    memcpy(bad, pkt, (size_t)wl);
    bad[2] = 0x11;
    CHECK_EQ_INT(ota_unwrap_response(&keys, bad, (size_t)wl, plain, sizeof plain, &res), CAR_ERR_MALFORMED);
    CHECK_EQ_INT(ota_unwrap_response(&keys, pkt, (size_t)wl, plain, 16, &res), CAR_ERR_INVALID);

    /* Every truncation: no crash, never OK. */
    for (size_t len = 0; len < (size_t)wl; len++)
        CHECK(ota_unwrap_response(&keys, pkt, len, plain, sizeof plain, &res) != CAR_OK);

    CHECK_EQ_INT(ota_peek(pkt, (size_t)wl, 1, tar, &claimed), CAR_OK);
    CHECK_MEM(tar, "SPK", 3);
    CHECK_EQ_INT(claimed, wl);
    CHECK_EQ_INT(ota_peek(pkt, 5, 1, tar, &claimed), CAR_ERR_MALFORMED);
}

static void test_command_negative(json_t *v)
{
    uint8_t pkt[OTA_MAX_PACKET], bad[OTA_MAX_PACKET], plain[OTA_MAX_PACKET];
    long wl = vec_hex(v, "sign_command", "secured_packet", pkt, sizeof pkt);
    struct ota_keys wrong = keys;
    struct ota_command cmd;

    wrong.kid[3] ^= 4;
    CHECK_EQ_INT(ota_unwrap_command(&wrong, pkt, (size_t)wl, plain, sizeof plain, &cmd), CAR_ERR_AUTH);
    CHECK(cmd.data == NULL);
    wrong.kv = 2;
    CHECK_EQ_INT(ota_unwrap_command(&wrong, pkt, (size_t)wl, plain, sizeof plain, &cmd), CAR_ERR_NOT_FOUND);
    ota_keys_wipe(&wrong);
    memcpy(bad, pkt, (size_t)wl);
    bad[9] = 'L';
    CHECK_EQ_INT(ota_unwrap_command(&keys, bad, (size_t)wl, plain, sizeof plain, &cmd), CAR_ERR_NOT_FOUND);
    memcpy(bad, pkt, (size_t)wl);
    bad[4] = 0x21; /* SPI without ciphering */
    CHECK_EQ_INT(ota_unwrap_command(&keys, bad, (size_t)wl, plain, sizeof plain, &cmd), CAR_ERR_UNSUPPORTED);
    for (size_t i = 10; i < (size_t)wl; i++) {
        memcpy(bad, pkt, (size_t)wl);
        bad[i] ^= 0x40;
        CHECK_EQ_INT(ota_unwrap_command(&keys, bad, (size_t)wl, plain, sizeof plain, &cmd), CAR_ERR_AUTH);
    }
}

static void test_roundtrip_sizes(void)
{
    uint8_t data[OTA_MAX_PACKET], pkt[OTA_MAX_PACKET], plain[OTA_MAX_PACKET];
    struct ota_response res;
    struct ota_command cmd;
    size_t n = 0;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    for (size_t len = 0; len <= 1041; len += 37) {
        CHECK_EQ_INT(ota_wrap_command(&keys, OTA_CNTR_MAX, data, len, pkt, sizeof pkt, &n), CAR_OK);
        CHECK_EQ_INT((n - 10) % 16, 0);
        CHECK_EQ_INT(ota_unwrap_command(&keys, pkt, n, plain, sizeof plain, &cmd), CAR_OK);
        CHECK_EQ_INT(cmd.cntr, OTA_CNTR_MAX);
        CHECK_EQ_INT(cmd.data_len, len);
        CHECK(len == 0 || memcmp(cmd.data, data, len) == 0);
        CHECK_EQ_INT(ota_wrap_response(&keys, 77, OTA_POR_CNTR_LOW, data, len, pkt, sizeof pkt, &n), CAR_OK);
        CHECK_EQ_INT(ota_unwrap_response(&keys, pkt, n, plain, sizeof plain, &res), CAR_OK);
        CHECK_EQ_INT(res.status, OTA_POR_CNTR_LOW);
        CHECK_EQ_INT(res.cntr, 77);
        CHECK_EQ_INT(res.data_len, len);
    }
    /* The largest command that fits 8 segments, and one octet more. */
    CHECK_EQ_INT(ota_wrap_command(&keys, 1, data, 1042, pkt, sizeof pkt, &n), CAR_OK);
    CHECK(n <= OTA_MAX_PACKET);
    CHECK_EQ_INT(ota_wrap_command(&keys, 1, data, 1043, pkt, sizeof pkt, &n), CAR_ERR_TOO_LONG);
}

int main(void)
{
    json_t *v = vec_load();

    CHECK(v != NULL);
    if (v) {
        test_diversify(v);
        test_command_vector(v);
        test_por(v, "sign_por_ok", SPKA_OK);
        test_por(v, "sign_por_user_cancel", SPKA_USER_CANCEL);
        test_negative(v);
        test_command_negative(v);
        test_roundtrip_sizes();
    }
    ota_keys_wipe(&keys);
    json_decref(v);
    return check_report("test_ota");
}
