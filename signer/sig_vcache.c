/*
 * sig_vcache.c - verdict cache (see sig_vcache.h): two bounded hash tables
 * with an LRU list each, keyed by SHA-256 (certificate DER; OCSP CertID DER).
 *
 * Hot path of sig_verify_digest_cached: SHA-256 of the DER with a reused
 * EVP_MD_CTX, bucket walk, the signature checks of sig_check_signature with
 * the entry's key and ready EVP_PKEY_CTX, the path verdict if `at` is inside
 * its window.  Nothing is parsed or allocated.
 */
#include "sig_vcache.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "sig_priv.h"
#include "sig_revoc_priv.h"

#define VC_DEFAULT_CERTS    4096
#define VC_DEFAULT_REVOCS   4096
#define VC_DEFAULT_AGE_S    3600
#define VC_NO_NEXT_UPDATE_S 300         /* as sig_revoc's Redis TTL for a response without nextUpdate */
#define VC_LEEWAY_S         300         /* sig_revoc_check.c's thisUpdate leeway */
#define VC_MAX_DER          (64 * 1024) /* OCSP responses larger than this are not kept */

struct vc_node {
    uint8_t key[32];
    struct vc_node *hnext;         /* bucket chain */
    struct vc_node *lprev, *lnext; /* LRU list, most recent first */
};

struct vc_table {
    struct vc_node **b;
    size_t mask, n, cap;
    struct vc_node *head, *tail;
    void (*free_node)(struct vc_node *);
};

struct vc_cert {
    struct vc_node node; /* first: a vc_node * is a vc_cert * */
    enum sig_err key_rc; /* sig_check_key_type's verdict */
    char key_why[96];
    EVP_PKEY *pkey;        /* up-referenced; NULL unless key_rc == SIG_OK */
    EVP_PKEY_CTX *vctx[4]; /* by enum dg_alg (1..3, checked first), made on first use */
    int has_path;
    enum sig_err path_rc; /* sig_check_path at any `at` in [lo, hi) */
    time_t lo, hi;
    time_t path_until; /* wall clock */
    char path_why[200];
    int has_certid;
    uint8_t certid[32];
};

struct vc_revoc {
    struct vc_node node;
    struct sig_revoc_status st; /* as the check returned it (before any `at` rule) */
    const char *source;         /* "ocsp" or "crl" */
    time_t from, until;         /* usable for now in [from, until) */
    uint8_t *der;               /* the OCSP response; NULL for a CRL decision */
    size_t der_len;
};

struct sig_vcache {
    const struct sig_trust *t;
    unsigned gen; /* sig_trust_gen(t) the entries were made under */
    struct sig_vcache_cfg cfg;
    struct vc_table certs, revocs;
    time_t *bounds; /* sorted notBefore/notAfter of every anchor and intermediate */
    size_t nbounds;
    int paths_ok; /* 0: a trust certificate's time did not convert; never cache paths */
    EVP_MD *sha256;
    EVP_MD_CTX *mdctx;
    struct sig_vcache_stats st;
};

/* ---- the tables ---- */

static int table_init(struct vc_table *tb, size_t cap, void (*free_node)(struct vc_node *))
{
    size_t nb = 16;

    while (nb < cap && nb < ((size_t)1 << 30))
        nb <<= 1;
    memset(tb, 0, sizeof *tb);
    tb->b = calloc(nb, sizeof *tb->b);
    if (tb->b == NULL)
        return -1;
    tb->mask = nb - 1;
    tb->cap = cap;
    tb->free_node = free_node;
    return 0;
}

static size_t bucket_of(const struct vc_table *tb, const uint8_t key[32])
{
    size_t h;

    memcpy(&h, key, sizeof h); /* SHA-256 output: any 8 octets are uniform */
    return h & tb->mask;
}

static void lru_unlink(struct vc_table *tb, struct vc_node *n)
{
    if (n->lprev != NULL)
        n->lprev->lnext = n->lnext;
    else
        tb->head = n->lnext;
    if (n->lnext != NULL)
        n->lnext->lprev = n->lprev;
    else
        tb->tail = n->lprev;
    n->lprev = n->lnext = NULL;
}

static void lru_front(struct vc_table *tb, struct vc_node *n)
{
    n->lprev = NULL;
    n->lnext = tb->head;
    if (tb->head != NULL)
        tb->head->lprev = n;
    tb->head = n;
    if (tb->tail == NULL)
        tb->tail = n;
}

static struct vc_node *table_get(struct vc_table *tb, const uint8_t key[32])
{
    struct vc_node *n;

    for (n = tb->b[bucket_of(tb, key)]; n != NULL; n = n->hnext) {
        if (memcmp(n->key, key, 32) == 0) {
            if (tb->head != n) {
                lru_unlink(tb, n);
                lru_front(tb, n);
            }
            return n;
        }
    }
    return NULL;
}

static void table_remove(struct vc_table *tb, struct vc_node *n)
{
    struct vc_node **pp = &tb->b[bucket_of(tb, n->key)];

    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    lru_unlink(tb, n);
    tb->n--;
    tb->free_node(n);
}

/* Insert n (key set, not present); evicts the least recently used at the bound.  Returns evictions. */
static unsigned table_put(struct vc_table *tb, struct vc_node *n)
{
    size_t i = bucket_of(tb, n->key);
    unsigned ev = 0;

    while (tb->n >= tb->cap && tb->tail != NULL) {
        table_remove(tb, tb->tail);
        ev++;
    }
    n->hnext = tb->b[i];
    tb->b[i] = n;
    lru_front(tb, n);
    tb->n++;
    return ev;
}

static void table_clear(struct vc_table *tb)
{
    while (tb->head != NULL)
        table_remove(tb, tb->head);
}

static void cert_free(struct vc_node *n)
{
    struct vc_cert *e = (struct vc_cert *)n;

    for (int i = 0; i < 4; i++)
        EVP_PKEY_CTX_free(e->vctx[i]);
    EVP_PKEY_free(e->pkey);
    free(e);
}

static void revoc_free(struct vc_node *n)
{
    struct vc_revoc *e = (struct vc_revoc *)n;

    free(e->der);
    free(e);
}

/* ---- life cycle ---- */

static int cmp_time(const void *a, const void *b)
{
    time_t x = *(const time_t *)a, y = *(const time_t *)b;

    return (x > y) - (x < y);
}

static int add_bounds(struct sig_vcache *vc, X509 *x, size_t *cap)
{
    time_t nb, na;

    if (sig_asn1_time(X509_get0_notBefore(x), &nb) != SIG_OK || sig_asn1_time(X509_get0_notAfter(x), &na) != SIG_OK) {
        vc->paths_ok = 0;
        return 0;
    }
    if (vc->nbounds + 2 > *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        time_t *p = realloc(vc->bounds, nc * sizeof *p);

        if (p == NULL)
            return -1;
        vc->bounds = p;
        *cap = nc;
    }
    vc->bounds[vc->nbounds++] = nb;
    vc->bounds[vc->nbounds++] = na;
    return 0;
}

/* Every instant at which a trust certificate becomes valid or stops being valid. */
static int collect_bounds(struct sig_vcache *vc)
{
    X509_STORE *store = sig_trust_store(vc->t);
    STACK_OF(X509) *inter = sig_trust_intermediates(vc->t);
    STACK_OF(X509_OBJECT) *objs = store != NULL ? X509_STORE_get0_objects(store) : NULL;
    size_t cap = 0;

    vc->paths_ok = 1;
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));

        if (x != NULL && add_bounds(vc, x, &cap) != 0)
            return -1;
    }
    for (int i = 0; i < sk_X509_num(inter); i++) {
        if (add_bounds(vc, sk_X509_value(inter, i), &cap) != 0)
            return -1;
    }
    if (vc->nbounds > 0)
        qsort(vc->bounds, vc->nbounds, sizeof *vc->bounds, cmp_time);
    return 0;
}

enum sig_err sig_vcache_new(const struct sig_trust *t, const struct sig_vcache_cfg *cfg, struct sig_vcache **out)
{
    enum sig_err rc = SIG_ERR_NOMEM;
    struct sig_vcache *vc = NULL;

    if (out == NULL || t == NULL)
        return SIG_ERR_MALFORMED;
    *out = NULL;
    ERR_set_mark();
    vc = calloc(1, sizeof *vc);
    if (vc == NULL)
        goto out;
    vc->t = t;
    vc->gen = sig_trust_gen(t);
    if (cfg != NULL)
        vc->cfg = *cfg;
    if (vc->cfg.max_certs == 0)
        vc->cfg.max_certs = VC_DEFAULT_CERTS;
    if (vc->cfg.max_revoc == 0)
        vc->cfg.max_revoc = VC_DEFAULT_REVOCS;
    if (vc->cfg.max_age_s == 0)
        vc->cfg.max_age_s = VC_DEFAULT_AGE_S;
    if (table_init(&vc->certs, vc->cfg.max_certs, cert_free) != 0 ||
        table_init(&vc->revocs, vc->cfg.max_revoc, revoc_free) != 0)
        goto out;
    vc->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    vc->mdctx = EVP_MD_CTX_new();
    if (vc->sha256 == NULL || vc->mdctx == NULL || collect_bounds(vc) != 0)
        goto out;
    *out = vc;
    vc = NULL;
    rc = SIG_OK;
out:
    sig_vcache_free(vc);
    ERR_pop_to_mark();
    return rc;
}

void sig_vcache_clear(struct sig_vcache *vc)
{
    if (vc == NULL)
        return;
    if (vc->certs.b != NULL)
        table_clear(&vc->certs);
    if (vc->revocs.b != NULL)
        table_clear(&vc->revocs);
}

void sig_vcache_free(struct sig_vcache *vc)
{
    if (vc == NULL)
        return;
    sig_vcache_clear(vc);
    free(vc->certs.b);
    free(vc->revocs.b);
    free(vc->bounds);
    EVP_MD_CTX_free(vc->mdctx);
    EVP_MD_free(vc->sha256);
    free(vc);
}

void sig_vcache_get_stats(const struct sig_vcache *vc, struct sig_vcache_stats *out)
{
    if (vc == NULL || out == NULL)
        return;
    *out = vc->st;
    out->certs = vc->certs.n;
    out->revocs = vc->revocs.n;
}

/* ---- certificates ---- */

static int sha256(struct sig_vcache *vc, const uint8_t *p, size_t n, uint8_t out[32])
{
    return EVP_DigestInit_ex2(vc->mdctx, vc->sha256, NULL) == 1 && EVP_DigestUpdate(vc->mdctx, p, n) == 1 &&
           EVP_DigestFinal_ex(vc->mdctx, out, NULL) == 1;
}

/* A cache usable with t: made for it, and its profile unchanged since (else emptied). */
static int usable(struct sig_vcache *vc, const struct sig_trust *t)
{
    if (vc == NULL || t == NULL || vc->t != t)
        return 0;
    if (vc->gen != sig_trust_gen(t)) {
        sig_vcache_clear(vc);
        vc->gen = sig_trust_gen(t);
        /* The anchors may be others (sig_trust_replace): their validity bounds too. */
        vc->nbounds = 0;
        if (collect_bounds(vc) != 0)
            vc->paths_ok = 0;
    }
    return 1;
}

/*
 * The entry for cert: found, or made by parsing it (*x then holds the parse,
 * for the path check).  NULL with *rc set when the certificate does not
 * parse (not cached) or on memory failure.
 */
static struct vc_cert *cert_entry(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, X509 **x,
                                  enum sig_err *rc, char *why, size_t whylen)
{
    uint8_t key[32];
    struct vc_cert *e;
    EVP_PKEY *pkey = NULL;

    if (cert == NULL || cert_len == 0 || cert_len > LONG_MAX) {
        *rc = sig_parse_cert(cert, cert_len, x, why, whylen); /* the uncached reason */
        return NULL;
    }
    if (!sha256(vc, cert, cert_len, key)) {
        sig_set_why(why, whylen, "%s", "out of memory");
        *rc = SIG_ERR_NOMEM;
        return NULL;
    }
    e = (struct vc_cert *)table_get(&vc->certs, key);
    if (e != NULL) {
        vc->st.cert_hits++;
        return e;
    }
    vc->st.cert_misses++;
    *rc = sig_parse_cert(cert, cert_len, x, why, whylen);
    if (*rc != SIG_OK)
        return NULL;
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        sig_set_why(why, whylen, "%s", "out of memory");
        *rc = SIG_ERR_NOMEM;
        return NULL;
    }
    memcpy(e->node.key, key, 32);
    e->key_rc = sig_check_key_type(*x, &pkey, e->key_why, sizeof e->key_why);
    if (e->key_rc == SIG_OK) {
        e->pkey = pkey;
        EVP_PKEY_up_ref(pkey);
    }
    vc->st.evictions += table_put(&vc->certs, &e->node);
    return e;
}

/* The verdict window around at: the nearest trust or leaf boundaries below (<=) and above (>) it. */
static int path_window(const struct sig_vcache *vc, X509 *x, time_t at, time_t *lo, time_t *hi)
{
    time_t leaf[2];

    if (!vc->paths_ok || sig_asn1_time(X509_get0_notBefore(x), &leaf[0]) != SIG_OK ||
        sig_asn1_time(X509_get0_notAfter(x), &leaf[1]) != SIG_OK)
        return 0;
    *lo = (time_t)LONG_MIN;
    *hi = (time_t)LONG_MAX;
    for (size_t i = 0; i < vc->nbounds + 2; i++) {
        time_t b = i < vc->nbounds ? vc->bounds[i] : leaf[i - vc->nbounds];

        if (b <= at && b > *lo)
            *lo = b;
        if (b > at && b < *hi)
            *hi = b;
    }
    return 1;
}

static void certid_of(struct sig_vcache *vc, struct vc_cert *e, X509 *x, X509 *iss)
{
    OCSP_CERTID *id = OCSP_cert_to_id(NULL, x, iss);
    unsigned char *der = NULL;
    int len = id != NULL ? i2d_OCSP_CERTID(id, &der) : -1;

    e->has_certid = len > 0 && sha256(vc, der, (size_t)len, e->certid);
    OPENSSL_free(der);
    OCSP_CERTID_free(id);
}

/* sig_check_path through the entry.  *x: the parse if already made (else parsed here), freed by the caller. */
static enum sig_err cached_path(struct sig_vcache *vc, struct vc_cert *e, const uint8_t *cert, size_t cert_len,
                                X509 **x, time_t at, char *why, size_t whylen)
{
    STACK_OF(X509) *chain = NULL;
    enum sig_err rc;
    time_t lo, hi, wall = time(NULL);

    if (e->has_path && at >= e->lo && at < e->hi && wall < e->path_until) {
        vc->st.path_hits++;
        if (e->path_rc != SIG_OK)
            sig_set_why(why, whylen, "%s", e->path_why);
        return e->path_rc;
    }
    vc->st.path_misses++;
    if (*x == NULL) {
        rc = sig_parse_cert(cert, cert_len, x, why, whylen);
        if (rc != SIG_OK)
            return rc;
    }
    e->path_why[0] = '\0';
    rc = sig_check_path(vc->t, *x, at, &chain, e->path_why, sizeof e->path_why);
    if (rc != SIG_OK)
        sig_set_why(why, whylen, "%s", e->path_why);
    e->has_path = 0;
    if (rc != SIG_ERR_NOMEM && path_window(vc, *x, at, &lo, &hi)) {
        e->has_path = 1;
        e->path_rc = rc;
        e->lo = lo;
        e->hi = hi;
        e->path_until = wall + (time_t)vc->cfg.max_age_s;
        if (rc == SIG_OK && sk_X509_num(chain) >= 2)
            certid_of(vc, e, *x, sk_X509_value(chain, 1));
    }
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

enum sig_err sig_verify_digest_cached(const struct sig_trust *t, struct sig_vcache *vc, const uint8_t *cert,
                                      size_t cert_len, enum dg_alg digest_alg, const uint8_t *digest, size_t digest_len,
                                      const uint8_t *sig, size_t sig_len, time_t at, char *why, size_t whylen)
{
    enum sig_err rc;
    struct vc_cert *e;
    const EVP_MD *md = NULL;
    X509 *x = NULL;

    if (!usable(vc, t))
        return sig_verify_digest(t, cert, cert_len, digest_alg, digest, digest_len, sig, sig_len, at, why, whylen);
    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    e = cert_entry(vc, cert, cert_len, &x, &rc, why, whylen);
    if (e == NULL)
        goto out;
    rc = sig_check_digest_arg(digest_alg, digest, digest_len, &md, why, whylen);
    if (rc != SIG_OK)
        goto out;
    if (e->key_rc != SIG_OK) {
        rc = e->key_rc;
        sig_set_why(why, whylen, "%s", e->key_why);
        goto out;
    }
    rc = sig_check_sig_form(e->pkey, sig, sig_len, why, whylen);
    if (rc != SIG_OK)
        goto out;
    if (e->vctx[digest_alg] == NULL) {
        rc = sig_verify_ctx_new(e->pkey, md, &e->vctx[digest_alg], why, whylen);
        if (rc != SIG_OK)
            goto out;
    }
    rc = sig_verify_with_ctx(e->vctx[digest_alg], digest, digest_len, sig, sig_len, why, whylen);
    if (rc != SIG_OK) {
        /* A failed operation should leave the context reusable; not worth betting on. */
        EVP_PKEY_CTX_free(e->vctx[digest_alg]);
        e->vctx[digest_alg] = NULL;
        goto out;
    }
    rc = cached_path(vc, e, cert, cert_len, &x, at, why, whylen);
out:
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_check_cert_cached(const struct sig_trust *t, struct sig_vcache *vc, const uint8_t *cert,
                                   size_t cert_len, time_t at, char *why, size_t whylen)
{
    enum sig_err rc;
    struct vc_cert *e;
    X509 *x = NULL;

    if (!usable(vc, t))
        return sig_check_cert(t, cert, cert_len, at, why, whylen);
    ERR_set_mark();
    sig_set_why(why, whylen, "%s", "");
    e = cert_entry(vc, cert, cert_len, &x, &rc, why, whylen);
    if (e == NULL)
        goto out;
    if (e->key_rc != SIG_OK) {
        rc = e->key_rc;
        sig_set_why(why, whylen, "%s", e->key_why);
        goto out;
    }
    rc = cached_path(vc, e, cert, cert_len, &x, at, why, whylen);
out:
    X509_free(x);
    ERR_pop_to_mark();
    return rc;
}

/* ---- revocation decisions ---- */

/* The first trust boundary after now (the responder's chain may change validity there). */
static time_t next_bound(const struct sig_vcache *vc, time_t now)
{
    for (size_t i = 0; i < vc->nbounds; i++) {
        if (vc->bounds[i] > now)
            return vc->bounds[i];
    }
    return (time_t)LONG_MAX;
}

static time_t min_t(time_t a, time_t b)
{
    return a < b ? a : b;
}

static time_t responder_not_after(const uint8_t *resp, size_t resp_len, X509 *iss);

const struct sig_trust *sig_vcache_trust(const struct sig_vcache *vc)
{
    return vc != NULL ? vc->t : NULL;
}

void sig_vcache_revoc_put(struct sig_vcache *vc, X509 *x, X509 *iss, const struct sig_revoc_status *st,
                          const uint8_t *ocsp, size_t ocsp_len, time_t now, unsigned ocsp_max_age_s)
{
    time_t not_after;
    OCSP_CERTID *id;
    unsigned char *idder = NULL;
    uint8_t key[32];
    struct vc_revoc *e;
    struct vc_node *old;
    time_t until;
    int len;

    if (vc == NULL || st == NULL || (st->result != SIG_OK && st->result != SIG_ERR_REVOKED))
        return;
    ERR_set_mark();
    not_after = ocsp != NULL ? responder_not_after(ocsp, ocsp_len, iss) : (time_t)LONG_MAX;
    id = OCSP_cert_to_id(NULL, x, iss);
    len = id != NULL ? i2d_OCSP_CERTID(id, &idder) : -1;
    OCSP_CERTID_free(id);
    if (len <= 0 || !sha256(vc, idder, (size_t)len, key)) {
        OPENSSL_free(idder);
        ERR_pop_to_mark();
        return;
    }
    OPENSSL_free(idder);
    ERR_pop_to_mark();

    until = min_t(now + (time_t)vc->cfg.max_age_s, next_bound(vc, now));
    until = min_t(until, st->next_update != 0 ? st->next_update : now + VC_NO_NEXT_UPDATE_S);
    if (ocsp_max_age_s > 0)
        until = min_t(until, st->this_update + (time_t)ocsp_max_age_s);
    until = min_t(until, not_after);
    if (until <= now || (ocsp != NULL && ocsp_len > VC_MAX_DER))
        return;
    e = calloc(1, sizeof *e);
    if (e == NULL)
        return;
    if (ocsp != NULL) {
        e->der = malloc(ocsp_len ? ocsp_len : 1);
        if (e->der == NULL) {
            free(e);
            return;
        }
        memcpy(e->der, ocsp, ocsp_len);
        e->der_len = ocsp_len;
    }
    memcpy(e->node.key, key, 32);
    e->st = *st;
    e->source = ocsp != NULL ? "ocsp" : "crl";
    e->from = st->this_update - VC_LEEWAY_S;
    e->until = until;
    old = table_get(&vc->revocs, key);
    if (old != NULL)
        table_remove(&vc->revocs, old);
    vc->st.evictions += table_put(&vc->revocs, &e->node);
}

/* The OCSP responder certificate's notAfter; LONG_MIN (do not remember) when it cannot be told. */
static time_t responder_not_after(const uint8_t *resp, size_t resp_len, X509 *iss)
{
    const unsigned char *p = resp;
    OCSP_RESPONSE *r = NULL;
    OCSP_BASICRESP *bs = NULL;
    STACK_OF(X509) *extra = NULL;
    X509 *signer = NULL;
    time_t na = (time_t)LONG_MIN;

    if (resp_len == 0 || resp_len > LONG_MAX)
        return na;
    r = d2i_OCSP_RESPONSE(NULL, &p, (long)resp_len);
    bs = r != NULL ? OCSP_response_get1_basic(r) : NULL;
    extra = sk_X509_new_null();
    /* Where OCSP_basic_verify looks: the response's certificates, then the issuer. */
    if (bs != NULL && extra != NULL && sk_X509_push(extra, iss) > 0 && OCSP_resp_get0_signer(bs, &signer, extra) == 1 &&
        signer != NULL && sig_asn1_time(X509_get0_notAfter(signer), &na) != SIG_OK)
        na = (time_t)LONG_MIN;
    sk_X509_free(extra); /* iss is not ours */
    OCSP_BASICRESP_free(bs);
    OCSP_RESPONSE_free(r);
    return na;
}

enum sig_err sig_ocsp_check_cached(const struct sig_trust *t, struct sig_vcache *vc, const uint8_t *cert,
                                   size_t cert_len, const uint8_t *issuer, size_t issuer_len, const uint8_t *nonce,
                                   const uint8_t *resp, size_t resp_len, time_t now, unsigned max_age_s,
                                   struct sig_revoc_status *st, char *why, size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL, *iss = NULL;

    rc = sig_ocsp_check(t, cert, cert_len, issuer, issuer_len, nonce, resp, resp_len, now, max_age_s, st, why, whylen);
    if ((rc != SIG_OK && rc != SIG_ERR_REVOKED) || !usable(vc, t))
        return rc;
    ERR_set_mark();
    if (sig_parse_cert(cert, cert_len, &x, NULL, 0) == SIG_OK &&
        sig_parse_cert(issuer, issuer_len, &iss, NULL, 0) == SIG_OK)
        sig_vcache_revoc_put(vc, x, iss, st, resp, resp_len, now, max_age_s);
    X509_free(x);
    X509_free(iss);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_crl_check_cached(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, const uint8_t *issuer,
                                  size_t issuer_len, const uint8_t *crl, size_t crl_len, time_t now,
                                  struct sig_revoc_status *st, char *why, size_t whylen)
{
    enum sig_err rc;
    X509 *x = NULL, *iss = NULL;

    rc = sig_crl_check(cert, cert_len, issuer, issuer_len, crl, crl_len, now, st, why, whylen);
    if ((rc != SIG_OK && rc != SIG_ERR_REVOKED) || vc == NULL)
        return rc;
    ERR_set_mark();
    if (sig_parse_cert(cert, cert_len, &x, NULL, 0) == SIG_OK &&
        sig_parse_cert(issuer, issuer_len, &iss, NULL, 0) == SIG_OK)
        sig_vcache_revoc_put(vc, x, iss, st, NULL, 0, now, 0);
    X509_free(x);
    X509_free(iss);
    ERR_pop_to_mark();
    return rc;
}

enum sig_err sig_vcache_revoc_find(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, time_t at, time_t now,
                                   struct sig_revoc_status *st, const char **source, const uint8_t **der,
                                   size_t *der_len)
{
    uint8_t key[32];
    struct vc_cert *c;
    struct vc_revoc *r;
    time_t wall = time(NULL);

    if (vc == NULL || st == NULL || cert == NULL || cert_len == 0 || !usable(vc, vc->t) ||
        !sha256(vc, cert, cert_len, key))
        return SIG_ERR_AGAIN;
    c = (struct vc_cert *)table_get(&vc->certs, key);
    /* Only for a certificate whose path is known valid at `at`: the CertID's issuer is that path's. */
    if (c == NULL || !c->has_certid || !c->has_path || c->path_rc != SIG_OK || at < c->lo || at >= c->hi ||
        wall >= c->path_until) {
        vc->st.revoc_misses++;
        return SIG_ERR_AGAIN;
    }
    r = (struct vc_revoc *)table_get(&vc->revocs, c->certid);
    if (r == NULL || now < r->from || now >= r->until) {
        vc->st.revoc_misses++;
        return SIG_ERR_AGAIN;
    }
    vc->st.revoc_hits++;
    *st = r->st;
    /* As sig_revoc_check: a revocation after `at` did not stop the signature made at `at`. */
    if (st->result == SIG_ERR_REVOKED && st->revoked_at > at)
        st->result = SIG_OK;
    if (source != NULL)
        *source = r->source;
    if (der != NULL) {
        *der = r->der;
        *der_len = r->der_len;
    }
    return st->result;
}

enum sig_err sig_vcache_revoc_get(struct sig_vcache *vc, const uint8_t *cert, size_t cert_len, time_t at, time_t now,
                                  struct sig_revoc_status *st, const char **source)
{
    return sig_vcache_revoc_find(vc, cert, cert_len, at, now, st, source, NULL, NULL);
}
