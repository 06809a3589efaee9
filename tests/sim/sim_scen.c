/* sim_scen.c - see sim_scen.h. */
#include "sim_scen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "util.h"

struct sim_entry {
    struct sim_card *card;
    size_t carrier;
    unsigned fault; /* soap_fault: the code answered */
};

struct sim_scen {
    size_t n_carriers;
    struct sim_carrier_cfg carriers[SIM_MAX_CARRIERS];
    size_t n_cards;
    struct sim_entry *cards;
    size_t *index; /* open addressing over cards: slot -> card number + 1, 0 = empty */
    size_t index_mask;
    int has_mssp;
    struct sim_mssp_cfg mssp;
};

static size_t msisdn_hash(const char *m)
{
    return util_fnv1a(m);
}

static void index_add(struct sim_scen *s, size_t card)
{
    size_t i = msisdn_hash(sim_card_msisdn(s->cards[card].card)) & s->index_mask;
    while (s->index[i])
        i = (i + 1) & s->index_mask;
    s->index[i] = card + 1;
}

static void fail(char *err, size_t errlen, const char *file, const char *where, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s: %s", file, where, what);
}

/* Copy a required string member into dst (cap incl. NUL); 0 on success. */
static int get_str(json_t *obj, const char *key, char *dst, size_t cap, int required)
{
    json_t *v = json_object_get(obj, key);
    const char *s;
    size_t n;

    if (!v)
        return required ? -1 : 0;
    if (!json_is_string(v))
        return -1;
    s = json_string_value(v);
    n = strlen(s);
    if (n >= cap)
        return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

/* An unsigned integer member within [lo, hi], or def when absent; -1 when bad. */
static long long get_uint(json_t *obj, const char *key, long long lo, long long hi, long long def)
{
    json_t *v = json_object_get(obj, key);
    long long x;

    if (!v)
        return def;
    if (!json_is_integer(v))
        return -1;
    x = json_integer_value(v);
    return x < lo || x > hi ? -1 : x;
}

static int unhex16(const char *hex, uint8_t out[16])
{
    if (strlen(hex) != 32)
        return -1;
    for (size_t i = 0; i < 16; i++) {
        unsigned v = 0;
        for (size_t j = 0; j < 2; j++) {
            char ch = hex[2 * i + j];
            unsigned d;
            if (ch >= '0' && ch <= '9')
                d = (unsigned)(ch - '0');
            else if (ch >= 'a' && ch <= 'f')
                d = (unsigned)(ch - 'a' + 10);
            else if (ch >= 'A' && ch <= 'F')
                d = (unsigned)(ch - 'A' + 10);
            else
                return -1;
            v = (v << 4) | d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

/* dir/rel unless rel is absolute; 0 on success. */
static int join_path(char *out, size_t cap, const char *dir, const char *rel)
{
    int n;

    if (rel[0] == '/')
        n = snprintf(out, cap, "%s", rel);
    else
        n = snprintf(out, cap, "%s/%s", dir, rel);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static enum car_err load_carriers(struct sim_scen *s, json_t *root, const char *file, char *err, size_t errlen)
{
    json_t *arr = json_object_get(root, "carriers");
    json_t *c;
    size_t i;
    char where[64], mk[40];
    long long port;

    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > SIM_MAX_CARRIERS) {
        fail(err, errlen, file, "carriers", "must be an array of 1..8 carriers");
        return CAR_ERR_INVALID;
    }
    json_array_foreach(arr, i, c)
    {
        struct sim_carrier_cfg *cc = &s->carriers[i];
        snprintf(where, sizeof(where), "carriers[%zu]", i);
        port = get_uint(c, "port", 0, 65535, -1);
        if (!json_is_object(c) || get_str(c, "name", cc->name, sizeof(cc->name), 1) != 0 || cc->name[0] == '\0') {
            fail(err, errlen, file, where, "name missing or over 15 characters");
            return CAR_ERR_INVALID;
        }
        if (port < 0) {
            fail(err, errlen, file, where, "port missing or out of range 0..65535");
            return CAR_ERR_INVALID;
        }
        cc->port = (uint16_t)port;
        if (get_str(c, "system_id", cc->system_id, sizeof(cc->system_id), 1) != 0 ||
            get_str(c, "password", cc->password, sizeof(cc->password), 1) != 0) {
            fail(err, errlen, file, where, "system_id (<= 15) or password (<= 8) missing or too long");
            return CAR_ERR_INVALID;
        }
        if (get_str(c, "service_number", cc->service_number, sizeof(cc->service_number), 1) != 0) {
            fail(err, errlen, file, where, "service_number missing or over 20 characters");
            return CAR_ERR_INVALID;
        }
        if (get_str(c, "master_key", mk, sizeof(mk), 1) != 0 || unhex16(mk, cc->master_key) != 0) {
            OPENSSL_cleanse(mk, sizeof(mk));
            fail(err, errlen, file, where, "master_key must be 32 hex digits");
            return CAR_ERR_INVALID;
        }
        OPENSSL_cleanse(mk, sizeof(mk));
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->carriers[j].name, cc->name) == 0 || (cc->port && s->carriers[j].port == cc->port)) {
                fail(err, errlen, file, where, "duplicate carrier name or port");
                return CAR_ERR_INVALID;
            }
        s->n_carriers = i + 1;
    }
    return CAR_OK;
}

static enum car_err load_subscriber(struct sim_scen *s, json_t *sub, size_t i, const char *file, const char *pkidir,
                                    unsigned def_delay, char *err, size_t errlen)
{
    char where[48], msisdn[16], iccid[24], carrier[16], behaviour[32], key[512], cert[512], preset[512];
    char kpath[1024], cpath[1024], why[160];
    long long kv, delay, fault;
    int b;
    size_t ci;
    struct sim_card *card;

    snprintf(where, sizeof(where), "subscribers[%zu]", i);
    key[0] = cert[0] = preset[0] = '\0';
    snprintf(behaviour, sizeof(behaviour), "confirm");
    if (!json_is_object(sub) || get_str(sub, "msisdn", msisdn, sizeof(msisdn), 1) != 0 ||
        get_str(sub, "iccid", iccid, sizeof(iccid), 1) != 0 ||
        get_str(sub, "carrier", carrier, sizeof(carrier), 1) != 0 ||
        get_str(sub, "behaviour", behaviour, sizeof(behaviour), 0) != 0 ||
        get_str(sub, "key", key, sizeof(key), 0) != 0 || get_str(sub, "cert", cert, sizeof(cert), 0) != 0 ||
        get_str(sub, "genkey_key", preset, sizeof(preset), 0) != 0) {
        fail(err, errlen, file, where,
             "msisdn, iccid and carrier are required strings; behaviour, key, cert, genkey_key are strings");
        return CAR_ERR_INVALID;
    }
    for (ci = 0; ci < s->n_carriers; ci++)
        if (strcmp(s->carriers[ci].name, carrier) == 0)
            break;
    if (ci == s->n_carriers) {
        fail(err, errlen, file, where, "carrier is not declared in carriers");
        return CAR_ERR_INVALID;
    }
    if (sim_scen_find(s, msisdn, NULL)) {
        fail(err, errlen, file, where, "duplicate msisdn");
        return CAR_ERR_INVALID;
    }
    b = sim_behaviour_parse(behaviour);
    kv = get_uint(sub, "kv", 1, 15, 1);
    delay = get_uint(sub, "delay_ms", 0, 600000,
                     sim_behaviour_default_delay_ms((enum sim_behaviour)(b < 0 ? 0 : b), def_delay));
    fault = get_uint(sub, "fault", 100, 999, 900);
    if (b < 0 || kv < 0 || delay < 0 || fault < 0) {
        fail(err, errlen, file, where,
             "unknown behaviour, kv outside 1..15, delay_ms outside 0..600000 or fault outside 100..999");
        return CAR_ERR_INVALID;
    }
    card = sim_card_new(msisdn, iccid, (uint8_t)kv, s->carriers[ci].master_key, (enum sim_behaviour)b, (unsigned)delay,
                        why, sizeof(why));
    if (!card) {
        fail(err, errlen, file, where, why);
        return CAR_ERR_INVALID;
    }
    s->cards[s->n_cards].card = card;
    s->cards[s->n_cards].carrier = ci;
    s->cards[s->n_cards].fault = (unsigned)fault;
    index_add(s, s->n_cards);
    s->n_cards++;
    /* A no_key card really has no key, so that GENKEY can be tested on it. */
    if (key[0] && b != SIM_B_NO_KEY) {
        if (join_path(kpath, sizeof(kpath), pkidir, key) != 0 ||
            (cert[0] && join_path(cpath, sizeof(cpath), pkidir, cert) != 0)) {
            fail(err, errlen, file, where, "key or cert path too long");
            return CAR_ERR_INVALID;
        }
        if (sim_card_load_key(card, kpath, cert[0] ? cpath : NULL, why, sizeof(why)) != CAR_OK) {
            fail(err, errlen, file, where, why);
            return CAR_ERR_INVALID;
        }
    }
    if (preset[0]) {
        if (join_path(kpath, sizeof(kpath), pkidir, preset) != 0) {
            fail(err, errlen, file, where, "genkey_key path too long");
            return CAR_ERR_INVALID;
        }
        if (sim_card_preset_genkey(card, kpath, why, sizeof(why)) != CAR_OK) {
            snprintf(cpath, sizeof(cpath), "genkey_key: %s", why);
            fail(err, errlen, file, where, cpath);
            return CAR_ERR_INVALID;
        }
    }
    return CAR_OK;
}

static enum car_err load_mssp(struct sim_scen *s, json_t *m, const char *file, const char *pkidir, char *err,
                              size_t errlen)
{
    struct sim_mssp_cfg *c = &s->mssp;
    char cert[512], key[512], ca[512];
    long long port = get_uint(m, "port", 0, 65535, -1);
    long long keep = get_uint(m, "keep_s", 1, 86400, 300);

    if (!json_is_object(m) || port < 0) {
        fail(err, errlen, file, "mssp", "must be an object with a port 0..65535");
        return CAR_ERR_INVALID;
    }
    c->port = (uint16_t)port;
    if (get_str(m, "cert", cert, sizeof(cert), 1) != 0 || get_str(m, "key", key, sizeof(key), 1) != 0 ||
        get_str(m, "client_ca", ca, sizeof(ca), 1) != 0 || join_path(c->cert, sizeof(c->cert), pkidir, cert) != 0 ||
        join_path(c->key, sizeof(c->key), pkidir, key) != 0 ||
        join_path(c->client_ca, sizeof(c->client_ca), pkidir, ca) != 0) {
        fail(err, errlen, file, "mssp", "cert, key and client_ca are required path strings");
        return CAR_ERR_INVALID;
    }
    if (get_str(m, "ap_id", c->ap_id, sizeof(c->ap_id), 1) != 0 || c->ap_id[0] == '\0' ||
        get_str(m, "ap_pwd", c->ap_pwd, sizeof(c->ap_pwd), 1) != 0 ||
        get_str(m, "mssp_id", c->mssp_id, sizeof(c->mssp_id), 1) != 0) {
        fail(err, errlen, file, "mssp", "ap_id (non-empty), ap_pwd and mssp_id are required strings");
        return CAR_ERR_INVALID;
    }
    if (keep < 0) {
        fail(err, errlen, file, "mssp", "keep_s must be an integer 1..86400");
        return CAR_ERR_INVALID;
    }
    c->keep_s = (unsigned)keep;
    s->has_mssp = 1;
    return CAR_OK;
}

enum car_err sim_scen_load(const char *path, struct sim_scen **out, char *err, size_t errlen)
{
    enum car_err rc = CAR_ERR_INVALID;
    struct sim_scen *s = NULL;
    json_t *root = NULL, *subs, *sub, *defaults;
    json_error_t jerr;
    char dir[1024], pkidir[1024], pki[512], why[256];
    const char *slash;
    long long def_delay;
    size_t i;

    *out = NULL;
    root = json_load_file(path, 0, &jerr);
    if (!root) {
        snprintf(why, sizeof(why), "line %d: %s", jerr.line, jerr.text);
        fail(err, errlen, path, "json", why);
        rc = CAR_ERR_MALFORMED;
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = CAR_ERR_NOMEM;
        goto out;
    }
    rc = load_carriers(s, root, path, err, errlen);
    if (rc != CAR_OK)
        goto out;
    rc = CAR_ERR_INVALID;
    defaults = json_object_get(root, "defaults");
    def_delay = defaults ? get_uint(defaults, "delay_ms", 0, 600000, 300) : 300;
    if (def_delay < 0) {
        fail(err, errlen, path, "defaults.delay_ms", "must be 0..600000");
        goto out;
    }
    /* Paths in the scenario are relative to the scenario file's directory. */
    slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof(dir), ".");
    snprintf(pki, sizeof(pki), ".");
    if (get_str(root, "pki", pki, sizeof(pki), 0) != 0 || join_path(pkidir, sizeof(pkidir), dir, pki) != 0) {
        fail(err, errlen, path, "pki", "must be a path string");
        goto out;
    }
    subs = json_object_get(root, "subscribers");
    if (!json_is_array(subs)) {
        fail(err, errlen, path, "subscribers", "must be an array");
        goto out;
    }
    s->cards = calloc(json_array_size(subs) + 1, sizeof(*s->cards));
    s->index_mask = 15;
    while (s->index_mask < 2 * json_array_size(subs))
        s->index_mask = s->index_mask * 2 + 1;
    s->index = calloc(s->index_mask + 1, sizeof(*s->index));
    if (!s->cards || !s->index) {
        rc = CAR_ERR_NOMEM;
        goto out;
    }
    json_array_foreach(subs, i, sub)
    {
        rc = load_subscriber(s, sub, i, path, pkidir, (unsigned)def_delay, err, errlen);
        if (rc != CAR_OK)
            goto out;
    }
    if (json_object_get(root, "mssp")) {
        rc = load_mssp(s, json_object_get(root, "mssp"), path, pkidir, err, errlen);
        if (rc != CAR_OK)
            goto out;
    }
    *out = s;
    s = NULL;
    rc = CAR_OK;
out:
    sim_scen_free(s);
    json_decref(root);
    return rc;
}

void sim_scen_free(struct sim_scen *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_cards; i++)
        sim_card_free(s->cards[i].card);
    free(s->cards);
    free(s->index);
    OPENSSL_cleanse(s->carriers, sizeof(s->carriers));
    OPENSSL_cleanse(&s->mssp, sizeof(s->mssp));
    free(s);
}

size_t sim_scen_n_carriers(const struct sim_scen *s)
{
    return s->n_carriers;
}

const struct sim_carrier_cfg *sim_scen_carrier(const struct sim_scen *s, size_t i)
{
    return i < s->n_carriers ? &s->carriers[i] : NULL;
}

size_t sim_scen_n_cards(const struct sim_scen *s)
{
    return s->n_cards;
}

static const struct sim_entry *find_entry(const struct sim_scen *s, const char *msisdn)
{
    /* Hashed: a benchmark scenario holds 100k cards and this runs per submit_sm. */
    size_t i = msisdn_hash(msisdn) & s->index_mask;
    for (; s->index[i]; i = (i + 1) & s->index_mask) {
        const struct sim_entry *e = &s->cards[s->index[i] - 1];
        if (strcmp(sim_card_msisdn(e->card), msisdn) == 0)
            return e;
    }
    return NULL;
}

struct sim_card *sim_scen_find(const struct sim_scen *s, const char *msisdn, size_t *carrier)
{
    const struct sim_entry *e = find_entry(s, msisdn);

    if (!e)
        return NULL;
    if (carrier)
        *carrier = e->carrier;
    return e->card;
}

const struct sim_mssp_cfg *sim_scen_mssp(const struct sim_scen *s)
{
    return s->has_mssp ? &s->mssp : NULL;
}

unsigned sim_scen_fault(const struct sim_scen *s, const char *msisdn)
{
    const struct sim_entry *e = find_entry(s, msisdn);

    return e ? e->fault : 900;
}
