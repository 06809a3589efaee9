/* sim_mssp_txn.c - see sim_mssp_txn.h. */
#include "sim_mssp_txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "car_spka.h"
#include "sim_scen.h"

#define NEVER       INT64_MAX
#define MIN_BUCKETS 256

/*
 * A transaction is in two hash chains (by AP_ID + AP_TransID, by
 * MSSP_TransID) and in the age list, least recently used first: every
 * request about it moves it to the end, and the oldest are forgotten keep_s
 * after both their answer and their last request (lazily, on new requests).
 */
struct mssp_txn {
    struct mssp_txn *by_ap_next, *by_id_next;
    struct mssp_txn *older, *newer;
    uint32_t ap_hash, id_hash;
    int64_t last_ms; /* the last request about it */
    char ap_id[256];
    char ap_transid[128];
    char id[24]; /* MSSP_TransID, an NCName */
    char msisdn[32];
    const char *mssp_id; /* the scenario's, which outlives the transaction */
    enum sim_behaviour b;
    int64_t ready_ms;  /* when the card's answer is known; NEVER for no_answer */
    int status;        /* the final one: 500/502, or the code of a fault */
    uint8_t sig[1024]; /* PKCS1: the card's signature */
    size_t sig_len;
    uint8_t *cms; /* CMS asked: the SignedData that goes out instead, or NULL */
    size_t cms_len;
    const char *format; /* the MSS_Format URI answered: a static string */
    uint8_t *cert;      /* signingCertificate to return, or NULL */
    size_t cert_len;
};

/* other_cert: a key and a self-issued certificate with the subscriber's subject. */
struct other {
    struct other *next;
    char msisdn[32];
    EVP_PKEY *key;
    uint8_t *cert;
    size_t cert_len;
};

/* Prompts per number, for the whole run: at most one per card of the scenario. */
struct prompt {
    struct prompt *next; /* hash chain */
    uint32_t hash;
    char msisdn[32];
    unsigned n;
};

struct mssp_txns {
    struct sim_scen *scen;
    const struct sim_mssp_cfg *cfg;
    struct mssp_txn **by_ap, **by_id; /* n_buckets each, a power of two */
    size_t n_buckets, n_txns;
    struct mssp_txn *oldest, *newest;
    unsigned long next_id;
    struct other *others;
    struct prompt **prompts; /* n_pbuckets, a power of two */
    struct prompt *regs;     /* MSS_Registration requests by number, known or not (few: a list) */
    size_t n_pbuckets, n_prompts;
};

/* FNV-1a over a string, continuing from h (start with 2166136261). */
static uint32_t fnv(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t ap_hash(const char *ap_id, const char *ap_transid)
{
    return fnv(fnv(2166136261u, ap_id) * 16777619u, ap_transid);
}

static void txn_free(struct mssp_txn *x)
{
    free(x->cert);
    free(x->cms);
    free(x);
}

struct mssp_txns *mssp_txns_new(struct sim_scen *scen, const struct sim_mssp_cfg *cfg)
{
    struct mssp_txns *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->scen = scen;
    t->cfg = cfg;
    t->n_buckets = t->n_pbuckets = MIN_BUCKETS;
    t->by_ap = calloc(MIN_BUCKETS, sizeof(*t->by_ap));
    t->by_id = calloc(MIN_BUCKETS, sizeof(*t->by_id));
    t->prompts = calloc(MIN_BUCKETS, sizeof(*t->prompts));
    if (!t->by_ap || !t->by_id || !t->prompts) {
        mssp_txns_free(t);
        return NULL;
    }
    return t;
}

void mssp_txns_free(struct mssp_txns *t)
{
    if (!t)
        return;
    while (t->oldest) {
        struct mssp_txn *x = t->oldest;
        t->oldest = x->newer;
        txn_free(x);
    }
    free(t->by_ap);
    free(t->by_id);
    while (t->others) {
        struct other *o = t->others;
        t->others = o->next;
        EVP_PKEY_free(o->key);
        free(o->cert);
        free(o);
    }
    for (size_t i = 0; t->prompts && i < t->n_pbuckets; i++)
        while (t->prompts[i]) {
            struct prompt *p = t->prompts[i];
            t->prompts[i] = p->next;
            free(p);
        }
    free(t->prompts);
    while (t->regs) {
        struct prompt *p = t->regs;
        t->regs = p->next;
        free(p);
    }
    free(t);
}

/* Doubles both transaction tables when they hold more than one per bucket (kept as they are when out of memory). */
static void grow_txns(struct mssp_txns *t)
{
    size_t n = t->n_buckets * 2;
    struct mssp_txn **ap = calloc(n, sizeof(*ap)), **id = calloc(n, sizeof(*id));

    if (!ap || !id) {
        free(ap);
        free(id);
        return;
    }
    for (struct mssp_txn *x = t->oldest; x; x = x->newer) {
        x->by_ap_next = ap[x->ap_hash & (n - 1)];
        ap[x->ap_hash & (n - 1)] = x;
        x->by_id_next = id[x->id_hash & (n - 1)];
        id[x->id_hash & (n - 1)] = x;
    }
    free(t->by_ap);
    free(t->by_id);
    t->by_ap = ap;
    t->by_id = id;
    t->n_buckets = n;
}

static void age_unlink(struct mssp_txns *t, struct mssp_txn *x)
{
    if (x->older)
        x->older->newer = x->newer;
    else
        t->oldest = x->newer;
    if (x->newer)
        x->newer->older = x->older;
    else
        t->newest = x->older;
    x->older = x->newer = NULL;
}

static void age_append(struct mssp_txns *t, struct mssp_txn *x)
{
    x->older = t->newest;
    x->newer = NULL;
    if (t->newest)
        t->newest->newer = x;
    else
        t->oldest = x;
    t->newest = x;
}

static void txn_add(struct mssp_txns *t, struct mssp_txn *x)
{
    size_t m;

    if (t->n_txns >= t->n_buckets)
        grow_txns(t);
    m = t->n_buckets - 1;
    x->ap_hash = ap_hash(x->ap_id, x->ap_transid);
    x->id_hash = fnv(2166136261u, x->id);
    x->by_ap_next = t->by_ap[x->ap_hash & m];
    t->by_ap[x->ap_hash & m] = x;
    x->by_id_next = t->by_id[x->id_hash & m];
    t->by_id[x->id_hash & m] = x;
    age_append(t, x);
    t->n_txns++;
}

static void txn_remove(struct mssp_txns *t, struct mssp_txn *x)
{
    size_t m = t->n_buckets - 1;
    struct mssp_txn **pp;

    for (pp = &t->by_ap[x->ap_hash & m]; *pp != x; pp = &(*pp)->by_ap_next)
        ;
    *pp = x->by_ap_next;
    for (pp = &t->by_id[x->id_hash & m]; *pp != x; pp = &(*pp)->by_id_next)
        ;
    *pp = x->by_id_next;
    age_unlink(t, x);
    t->n_txns--;
    txn_free(x);
}

/*
 * Forget the transactions kept keep_s past their answer and their last
 * request.  A held synchronous request (sim_mssp.c) uses its transaction
 * until the answer is ready, which is before that; a no_answer one never
 * uses it again.  The age list is in last-request order, so this stops at
 * the first one still kept (a slow answer may hold back those behind it by
 * its delay).
 */
static void expire(struct mssp_txns *t, int64_t now)
{
    int64_t keep = (int64_t)(t->cfg->keep_s ? t->cfg->keep_s : 300) * 1000;

    while (t->oldest) {
        struct mssp_txn *x = t->oldest;
        int64_t since = x->ready_ms != NEVER && x->ready_ms > x->last_ms ? x->ready_ms : x->last_ms;
        if (now - since < keep)
            break;
        txn_remove(t, x);
    }
}

enum sim_behaviour mssp_txn_behaviour(const struct mssp_txn *txn)
{
    return txn->b;
}

int mssp_txn_http_code(const struct mssp_txn *txn)
{
    return txn->status == MSSP_SIGNATURE || txn->status == MSSP_VALID_SIGNATURE ? 200 : 500;
}

static struct prompt *prompt_find(const struct mssp_txns *t, const char *msisdn, uint32_t h)
{
    for (struct prompt *p = t->prompts[h & (t->n_pbuckets - 1)]; p; p = p->next)
        if (p->hash == h && strcmp(p->msisdn, msisdn) == 0)
            return p;
    return NULL;
}

unsigned mssp_txn_prompts(const struct mssp_txns *t, const char *msisdn)
{
    const struct prompt *p = prompt_find(t, msisdn, fnv(2166136261u, msisdn));

    return p ? p->n : 0;
}

static void grow_prompts(struct mssp_txns *t)
{
    size_t n = t->n_pbuckets * 2;
    struct prompt **b = calloc(n, sizeof(*b));

    if (!b)
        return;
    for (size_t i = 0; i < t->n_pbuckets; i++)
        while (t->prompts[i]) {
            struct prompt *p = t->prompts[i];
            t->prompts[i] = p->next;
            p->next = b[p->hash & (n - 1)];
            b[p->hash & (n - 1)] = p;
        }
    free(t->prompts);
    t->prompts = b;
    t->n_pbuckets = n;
}

static void count_prompt(struct mssp_txns *t, const char *msisdn)
{
    uint32_t h = fnv(2166136261u, msisdn);
    struct prompt *p = prompt_find(t, msisdn, h);

    if (!p) {
        if (t->n_prompts >= t->n_pbuckets)
            grow_prompts(t);
        p = calloc(1, sizeof(*p));
        if (!p)
            return;
        snprintf(p->msisdn, sizeof(p->msisdn), "%s", msisdn);
        p->hash = h;
        p->next = t->prompts[h & (t->n_pbuckets - 1)];
        t->prompts[h & (t->n_pbuckets - 1)] = p;
        t->n_prompts++;
    }
    p->n++;
}

unsigned mssp_txn_registrations(const struct mssp_txns *t, const char *msisdn)
{
    for (const struct prompt *p = t->regs; p; p = p->next)
        if (strcmp(p->msisdn, msisdn) == 0)
            return p->n;
    return 0;
}

static void count_registration(struct mssp_txns *t, const char *msisdn)
{
    struct prompt *p;

    for (p = t->regs; p; p = p->next)
        if (strcmp(p->msisdn, msisdn) == 0)
            break;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p))))
            return;
        snprintf(p->msisdn, sizeof(p->msisdn), "%s", msisdn);
        p->next = t->regs;
        t->regs = p;
    }
    p->n++;
}

/* Constant time on the password: a test value, but the habit is the point. */
static int same_secret(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);

    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/*
 * DataToBeSigned must be the DER DigestInfo of a SHA-2 digest, exactly as
 * OpenSSL encodes it (NULL parameters): then the card's PKCS#1 v1.5
 * signature is over the DigestInfo as given.  0, 101 or 103.
 */
static int read_digest_info(const uint8_t *der, size_t len, uint8_t *alg, const uint8_t **dg, size_t *dglen)
{
    const unsigned char *p = der;
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
    const X509_ALGOR *a = NULL;
    const ASN1_OCTET_STRING *d = NULL;
    const ASN1_OBJECT *obj = NULL;
    unsigned char *re = NULL;
    int ptype = 0, relen, rc = MSSP_WRONG_PARAM;

    if (!sig || p != der + len)
        goto out;
    X509_SIG_get0(sig, &a, &d);
    X509_ALGOR_get0(&obj, &ptype, NULL, a);
    switch (OBJ_obj2nid(obj)) {
    case NID_sha256: *alg = SPKA_SHA256; break;
    case NID_sha384: *alg = SPKA_SHA384; break;
    case NID_sha512: *alg = SPKA_SHA512; break;
    default: goto out;
    }
    if (ptype != V_ASN1_NULL)
        goto out;
    if ((size_t)ASN1_STRING_length(d) != spka_digest_len(*alg)) {
        rc = MSSP_WRONG_DATA_LENGTH;
        goto out;
    }
    relen = i2d_X509_SIG(sig, &re);
    if (relen <= 0 || (size_t)relen != len || memcmp(re, der, len) != 0)
        goto out;                            /* BER, not DER */
    *dg = der + len - spka_digest_len(*alg); /* the OCTET STRING is last */
    *dglen = spka_digest_len(*alg);
    rc = 0;
out:
    OPENSSL_free(re);
    X509_SIG_free(sig);
    return rc;
}

/* The other_cert impostor for a card whose certificate is cert: made once per number. */
static struct other *other_for(struct mssp_txns *t, const char *msisdn, const uint8_t *cert, size_t cert_len)
{
    struct other *o;
    const unsigned char *p = cert;
    X509 *real = cert ? d2i_X509(NULL, &p, (long)cert_len) : NULL, *x = NULL;
    unsigned char *der = NULL;
    int n;

    for (o = t->others; o; o = o->next)
        if (strcmp(o->msisdn, msisdn) == 0)
            goto out;
    o = NULL;
    if (!real)
        goto out;
    o = calloc(1, sizeof(*o));
    x = X509_new();
    if (!o || !x)
        goto fail;
    snprintf(o->msisdn, sizeof(o->msisdn), "%s", msisdn);
    o->key = EVP_PKEY_is_a(X509_get0_pubkey(real), "RSA") ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
                                                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    /* Same subject, its own issuer: it verifies the signature, it is just not the registered one. */
    if (!o->key || X509_set_version(x, 2) != 1 || ASN1_INTEGER_set(X509_get_serialNumber(x), 0x51) != 1 ||
        X509_set_subject_name(x, X509_get_subject_name(real)) != 1 ||
        X509_set_issuer_name(x, X509_get_subject_name(real)) != 1 || !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) || X509_set_pubkey(x, o->key) != 1 ||
        X509_sign(x, o->key, EVP_sha256()) <= 0)
        goto fail;
    n = i2d_X509(x, &der);
    if (n <= 0)
        goto fail;
    o->cert = malloc((size_t)n);
    if (!o->cert)
        goto fail;
    memcpy(o->cert, der, (size_t)n);
    o->cert_len = (size_t)n;
    o->next = t->others;
    t->others = o;
    goto out;
fail:
    if (o) {
        EVP_PKEY_free(o->key);
        free(o->cert);
        free(o);
    }
    o = NULL;
out:
    OPENSSL_free(der);
    X509_free(x);
    X509_free(real);
    return o;
}

/* other_cert: RSA PKCS#1 v1.5 over the DigestInfo as given, EC over the digest. */
static int other_sign(EVP_PKEY *k, const struct mssp_req *rq, const uint8_t *dg, size_t dglen, uint8_t *sig,
                      size_t *siglen)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
    int rsa = EVP_PKEY_is_a(k, "RSA"), ok;

    ok = ctx && EVP_PKEY_sign_init(ctx) == 1 && (!rsa || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1) &&
         EVP_PKEY_sign(ctx, sig, siglen, rsa ? rq->dtbs : dg, rsa ? rq->dtbs_len : dglen) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? 0 : -1;
}

/*
 * MSS_Format CMS: a detached DER SignedData over the data whose digest the
 * AP sent, so messageDigest is that digest (the MSSP never sees the data);
 * the key (the card's) signs the signed attributes.  0, or -1.
 */
static int make_cms(EVP_PKEY *key, const uint8_t *cert, size_t cert_len, uint8_t alg, const uint8_t *dg, size_t dglen,
                    uint8_t **out, size_t *out_len)
{
    const unsigned char *p = cert;
    X509 *x = cert ? d2i_X509(NULL, &p, (long)cert_len) : NULL;
    CMS_ContentInfo *cms = NULL;
    CMS_SignerInfo *si;
    const EVP_MD *md = alg == SPKA_SHA512 ? EVP_sha512() : alg == SPKA_SHA384 ? EVP_sha384() : EVP_sha256();
    unsigned char *der = NULL;
    int n = -1;

    if (!x || !key)
        goto out;
    cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
    si = cms ? CMS_add1_signer(cms, x, key, md, CMS_PARTIAL | CMS_BINARY | CMS_NOSMIMECAP) : NULL;
    if (!si ||
        CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) != 1 ||
        CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, dg, (int)dglen) != 1 ||
        CMS_SignerInfo_sign(si) != 1)
        goto out;
    n = i2d_CMS_ContentInfo(cms, &der);
    if (n > 0) {
        *out = malloc((size_t)n);
        if (*out) {
            memcpy(*out, der, (size_t)n);
            *out_len = (size_t)n;
        }
    }
out:
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    X509_free(x);
    return n > 0 && *out ? 0 : -1;
}

static int status_of(uint8_t spka_result, int validation)
{
    switch (spka_result) {
    case SPKA_OK: return validation ? MSSP_VALID_SIGNATURE : MSSP_SIGNATURE;
    case SPKA_USER_CANCEL: return MSSP_USER_CANCEL;
    case SPKA_USER_TIMEOUT: return MSSP_EXPIRED_TRANSACTION;
    case SPKA_PIN_BLOCKED: return MSSP_PIN_NR_BLOCKED;
    case SPKA_CARD_BLOCKED: return MSSP_CARD_BLOCKED;
    case SPKA_NO_KEY: return MSSP_NO_KEY_FOUND;
    default: return MSSP_INTERNAL_ERROR;
    }
}

/* ETSI's PKCS7 URI, which public clients use, or CMS-Signature: both a CMS SignedData. */
static int is_cms(const char *format)
{
    return strcmp(format, MSSP_URI_PKCS7) == 0 || strcmp(format, MSSP_URI_CMS) == 0;
}

/* A transaction found is used now: kept keep_s from now, last in the age list. */
static struct mssp_txn *touch(struct mssp_txns *t, struct mssp_txn *x, int64_t now)
{
    if (x) {
        x->last_ms = now;
        age_unlink(t, x);
        age_append(t, x);
    }
    return x;
}

static struct mssp_txn *find_by_ap(struct mssp_txns *t, const char *ap_id, const char *ap_transid, int64_t now)
{
    uint32_t h = ap_hash(ap_id, ap_transid);
    struct mssp_txn *x;

    for (x = t->by_ap[h & (t->n_buckets - 1)]; x; x = x->by_ap_next)
        if (x->ap_hash == h && strcmp(x->ap_id, ap_id) == 0 && strcmp(x->ap_transid, ap_transid) == 0)
            break;
    return touch(t, x, now);
}

/* By MSSP_TransID, only among ap_id's transactions. */
static struct mssp_txn *find_by_id(struct mssp_txns *t, const char *ap_id, const char *id, int64_t now)
{
    uint32_t h = fnv(2166136261u, id);
    struct mssp_txn *x;

    for (x = t->by_id[h & (t->n_buckets - 1)]; x; x = x->by_id_next)
        if (x->id_hash == h && strcmp(x->id, id) == 0 && strcmp(x->ap_id, ap_id) == 0)
            break;
    return touch(t, x, now);
}

/* A new MSS_Signature: the card decides now; *code says the fault when NULL is returned. */
static struct mssp_txn *start(struct mssp_txns *t, const struct mssp_req *rq, struct sim_card *card, int64_t now,
                              int *code)
{
    enum sim_behaviour b = sim_card_behaviour(card);
    struct mssp_txn *x = calloc(1, sizeof(*x));
    const uint8_t *dg = NULL, *cert;
    size_t dglen = 0, cert_len = 0;
    uint8_t alg = 0, result = 0;
    struct other *o = NULL;

    *code = MSSP_INTERNAL_ERROR;
    if (!x)
        return NULL;
    *code = read_digest_info(rq->dtbs, rq->dtbs_len, &alg, &dg, &dglen);
    if (*code != 0) {
        free(x);
        return NULL;
    }
    snprintf(x->ap_id, sizeof(x->ap_id), "%s", rq->ap_id);
    snprintf(x->ap_transid, sizeof(x->ap_transid), "%s", rq->ap_transid);
    snprintf(x->id, sizeof(x->id), "SIM%08lu", ++t->next_id);
    snprintf(x->msisdn, sizeof(x->msisdn), "%s", rq->msisdn);
    x->mssp_id = t->cfg->mssp_id;
    x->b = b;
    cert = sim_card_cert(card, &cert_len);
    if (b == SIM_B_OTHER_CERT) {
        o = other_for(t, rq->msisdn, cert, cert_len);
        x->sig_len = sizeof(x->sig);
        x->status = o && other_sign(o->key, rq, dg, dglen, x->sig, &x->sig_len) == 0
                        ? (rq->want_validation ? MSSP_VALID_SIGNATURE : MSSP_SIGNATURE)
                        : MSSP_INTERNAL_ERROR;
        if (o) {
            cert = o->cert;
            cert_len = o->cert_len;
        }
    } else if (sim_card_sign_digest(card, alg, dg, dglen, x->sig, sizeof(x->sig), &x->sig_len, &result) != CAR_OK) {
        x->status = MSSP_INTERNAL_ERROR;
    } else {
        x->status = status_of(result, rq->want_validation);
    }
    x->format = MSSP_URI_PKCS1;
    if (is_cms(rq->format) && (x->status == MSSP_SIGNATURE || x->status == MSSP_VALID_SIGNATURE)) {
        x->format = strcmp(rq->format, MSSP_URI_PKCS7) == 0 ? MSSP_URI_PKCS7 : MSSP_URI_CMS; /* not rq's: it goes */
        if (make_cms(o ? o->key : sim_card_signing_key(card), cert, cert_len, alg, dg, dglen, &x->cms, &x->cms_len) !=
            0)
            x->status = MSSP_INTERNAL_ERROR;
    }
    if (b == SIM_B_FORGED_502 && x->cms)
        RAND_bytes(x->cms, (int)x->cms_len);
    if (b == SIM_B_FORGED_502 && x->sig_len > 0) {
        /* A "valid" signature that is noise: a gateway trusting 502 is fooled. */
        RAND_bytes(x->sig, (int)x->sig_len);
        x->status = MSSP_VALID_SIGNATURE;
    }
    if (b == SIM_B_CORRUPT_POR)
        x->status = MSSP_OTA_ERROR;
    if (b == SIM_B_SOAP_FAULT)
        x->status = (int)sim_scen_fault(t->scen, rq->msisdn);
    if (rq->want_cert && cert && (x->status == MSSP_SIGNATURE || x->status == MSSP_VALID_SIGNATURE)) {
        x->cert = malloc(cert_len);
        if (x->cert) {
            memcpy(x->cert, cert, cert_len);
            x->cert_len = cert_len;
        }
    }
    x->ready_ms = b == SIM_B_NO_ANSWER ? NEVER : now + (int64_t)sim_card_delay_ms(card);
    x->last_ms = now;
    txn_add(t, x);
    return x;
}

/* Where an existing transaction stands, for a Signature (again) or a StatusQuery. */
static enum mssp_verdict progress(const struct mssp_txn *x, const struct mssp_req *rq, int64_t now, int *code,
                                  unsigned *wait_ms)
{

    if (x->ready_ms != NEVER && now >= x->ready_ms)
        return rq->op == MSSP_OP_SIGNATURE && !rq->synch ? (*code = MSSP_REQUEST_OK, MSSP_V_ANSWER) : MSSP_V_FINAL;
    if (rq->op == MSSP_OP_STATUS) {
        *code = MSSP_OUTSTANDING_TRANSACTION;
        return MSSP_V_ANSWER;
    }
    if (!rq->synch) {
        *code = MSSP_REQUEST_OK;
        return MSSP_V_ANSWER;
    }
    *wait_ms = x->ready_ms == NEVER ? UINT32_MAX : (unsigned)(x->ready_ms - now);
    return MSSP_V_HOLD;
}

static enum mssp_verdict signature(struct mssp_txns *t, const struct mssp_req *rq, int64_t now, struct mssp_txn **txn,
                                   int *code, unsigned *wait_ms)
{
    struct sim_card *card;
    enum sim_behaviour b;
    unsigned n;

    *txn = find_by_ap(t, rq->ap_id, rq->ap_transid, now);
    if (*txn) /* the same AP_TransID again: the same transaction, no second prompt */
        return progress(*txn, rq, now, code, wait_ms);
    card = sim_scen_find(t->scen, rq->msisdn, NULL);
    if (!card)
        return (*code = MSSP_UNKNOWN_CLIENT, MSSP_V_FAULT);
    b = sim_card_behaviour(card);
    if (b == SIM_B_DEAD_SOCKET)
        return MSSP_V_CLOSE;
    if (b == SIM_B_PERMANENT_ERROR) /* the SMSC's "invalid destination": the MSSP does not know the user */
        return (*code = MSSP_UNKNOWN_CLIENT, MSSP_V_FAULT);
    if (rq->profile[0] && strcmp(rq->profile, MSSP_URI_PROFILE) != 0)
        return (*code = MSSP_UNSUPPORTED_PROFILE, MSSP_V_FAULT);
    if (rq->format[0] && strcmp(rq->format, MSSP_URI_PKCS1) != 0 && !is_cms(rq->format))
        return (*code = MSSP_WRONG_PARAM, MSSP_V_FAULT);
    n = sim_card_count_submit(card);
    if (n == 0 && b == SIM_B_DROP_FIRST)
        return MSSP_V_CLOSE;
    if (n == 0 && b == SIM_B_THROTTLE_FIRST)
        return MSSP_V_THROTTLE;
    if (n == 0 && b == SIM_B_HOLD_FIRST)
        return MSSP_V_HOLD_FOREVER;
    *txn = start(t, rq, card, now, code);
    if (!*txn)
        return MSSP_V_FAULT;
    count_prompt(t, rq->msisdn);
    /* lost_resp: the card has it and prompts; the answer is lost on the way.  A retry finds the transaction. */
    if (n == 0 && b == SIM_B_LOST_RESP)
        return MSSP_V_CLOSE;
    return progress(*txn, rq, now, code, wait_ms);
}

enum mssp_verdict mssp_txn_handle(struct mssp_txns *t, const struct mssp_req *rq, int64_t now_ms, struct mssp_txn **txn,
                                  int *code, unsigned *wait_ms)
{
    struct sim_card *card = NULL;
    size_t len = 0;

    *txn = NULL;
    *code = 0;
    *wait_ms = 0;
    expire(t, now_ms);
    if (strcmp(rq->ap_id, t->cfg->ap_id) != 0 || !same_secret(rq->ap_pwd, t->cfg->ap_pwd))
        return (*code = MSSP_UNAUTHORIZED_ACCESS, MSSP_V_FAULT);
    if (rq->op == MSSP_OP_SIGNATURE)
        return signature(t, rq, now_ms, txn, code, wait_ms);
    if (rq->op == MSSP_OP_STATUS || rq->op == MSSP_OP_RECEIPT) {
        *txn = find_by_id(t, rq->ap_id, rq->mssp_transid, now_ms);
        if (!*txn) /* not a transaction of this AP */
            return (*code = MSSP_WRONG_PARAM, MSSP_V_FAULT);
        if (rq->op == MSSP_OP_RECEIPT)
            return (*code = MSSP_REQUEST_OK, MSSP_V_ANSWER);
        return progress(*txn, rq, now_ms, code, wait_ms);
    }
    if (rq->op == MSSP_OP_REGISTRATION)
        count_registration(t, rq->msisdn); /* unknown numbers too: what a caller's negative cache saves */
    card = sim_scen_find(t->scen, rq->msisdn, NULL);
    if (!card)
        return (*code = MSSP_UNKNOWN_CLIENT, MSSP_V_FAULT);
    if (sim_card_behaviour(card) == SIM_B_DEAD_SOCKET)
        return MSSP_V_CLOSE;
    if (rq->op == MSSP_OP_PROFILE)
        return (*code = MSSP_REQUEST_OK, MSSP_V_ANSWER);
    /* Registration: the subscriber's certificate, when the card has one. */
    if (!sim_card_cert(card, &len))
        return (*code = MSSP_NO_CERT_FOUND, MSSP_V_FAULT);
    return (*code = MSSP_REGISTRATION_OK, MSSP_V_ANSWER);
}

int mssp_txn_answer(const struct mssp_txn *txn, const struct mssp_req *rq, struct evbuffer *out)
{
    struct mssp_answer a = {0};

    if (mssp_txn_http_code(txn) != 200)
        return mssp_xml_fault(txn->status, out);
    a.op = rq->op;
    a.status = txn->status;
    a.req = rq;
    a.mssp_id = txn->mssp_id;
    a.mssp_transid = txn->id;
    a.msisdn = txn->msisdn;
    a.sig = txn->cms ? txn->cms : txn->sig;
    a.sig_len = txn->cms ? txn->cms_len : txn->sig_len;
    a.format = txn->format;
    a.cert = txn->cert;
    a.cert_len = txn->cert_len;
    a.unusual = txn->b == SIM_B_HOSTILE;
    return mssp_xml_answer(&a, out);
}

int mssp_txn_answer_now(struct mssp_txns *t, const struct mssp_txn *txn, const struct mssp_req *rq, int code,
                        struct evbuffer *out)
{
    struct mssp_answer a = {0};
    struct sim_card *card;

    a.op = rq->op;
    a.status = code;
    a.req = rq;
    a.mssp_id = t->cfg->mssp_id;
    if (txn) {
        a.mssp_transid = txn->id;
        a.msisdn = txn->msisdn;
    }
    if (rq->op == MSSP_OP_REGISTRATION) {
        card = sim_scen_find(t->scen, rq->msisdn, NULL);
        if (card)
            a.cert = sim_card_cert(card, &a.cert_len);
    }
    return mssp_xml_answer(&a, out);
}
