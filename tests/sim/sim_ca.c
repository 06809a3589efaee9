/*
 * sim_ca.c - simpki-sim-ca: a small CMP CA for tests, one that really issues
 * and really revokes (OpenSSL's `openssl cmp -port` mock answers one fixed
 * certificate and keeps no state).
 *
 * Past 1,000 lines on purpose: one test program (HTTP, the CMP callbacks, the
 * index file), none of it linked into anything else.
 *
 *   simpki-sim-ca --ca-cert ca.pem --ca-key ca.key.pem --index index.txt
 *                 --ref REF --secret-file FILE [--port 0] [--bind 127.0.0.1]
 *                 [--path pkix/] [--ocsp-url URL] [--policy OID]
 *                 [--days 730] [--log-level info]
 *
 * CMP (RFC 4210) over HTTP (RFC 6712): POST application/pkixcmp on PATH,
 * served by libevent's evhttp; every message goes through OpenSSL's public
 * CMP server (OSSL_CMP_SRV_process_request) with our callbacks:
 *   - ir / cr / p10cr / kur: a certificate for the requested public key and
 *     subject, a fresh random serial, valid --days days, signed by the CA of
 *     --ca-cert/--ca-key, with the demo PKI's subscriber profile (tests/pki/
 *     mkpki.sh v3_sub_good: keyUsage critical digitalSignature +
 *     nonRepudiation, the policy, SKI/AKI, the request's subjectAltName, the
 *     OCSP URL), so that sig_cert_admit accepts it.  POPO raVerified is
 *     accepted (the gateway's kur, signer/sig_cmp.h); implicitConfirm is
 *     granted when asked; a negative certConf revokes what was issued.
 *   - rr: the certificate is marked revoked, with the reason of the request's
 *     crlEntryDetails, in the index; an rr for a revoked serial is rejected
 *     with failInfo certRevoked, one naming another issuer with badCertId.
 * Protection: PBM with --ref (senderKID) and the secret of --secret-file, in
 * both directions (what lib.sh's CMP_REF / CMP_SECRET_FILE hold).
 *
 * State: the index file is OpenSSL's CA database (`openssl ca` index.txt,
 * read and written with TXT_DB): one line per issued or revoked
 * certificate.  It is read at start (so a restart keeps the revocations, and
 * a copy of another CA database -- the demo's state/ca/index.txt -- makes
 * its certificates known), rewritten through a new file and rename(2) after
 * every change, and INDEX.attr says "unique_subject = no" (a renewal keeps
 * its subject).  `openssl ocsp -index INDEX` (3.0) notices the new file
 * (another inode) and reloads it without a restart, but only before it waits
 * for a request: the answer to the first request after a change is still
 * the old database's, so ask twice (lib.sh ca_revoked does).  An rr for a serial the index does not hold, issued by
 * this CA, is recorded too: OpenSSL 3.0's client sends only issuer and
 * serial, so its line has the expiry 99991231235959Z (RFC 5280's "no
 * well-defined expiration date") and the subject "/CN=unknown" unless the
 * template names one.
 *
 * Transactions: OpenSSL's server context follows one transaction at a time
 * (its transactionID and nonces), while the gateway runs many at once; so
 * each transactionID gets its own server context, dropped when the
 * transaction ends or after TXN_IDLE_S idle.
 *
 * Output: one log line per CMP message (type, serial, CN, result) and, once
 * listening, "simpki-sim-ca listening on PORT" on stderr (--port 0 lets the
 * kernel pick).  SIGTERM / SIGINT stop it; the secret is wiped.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <openssl/bn.h>
#include <openssl/cmp.h>
#include <openssl/conf.h>
#include <openssl/crmf.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/txt_db.h>
#include <openssl/x509v3.h>

#include "log.h"

/* PKIBody choices (RFC 4210 section 5.1.2); OpenSSL 3.0 keeps its names internal. */
enum {
    BODY_IR = 0,
    BODY_IP = 1,
    BODY_CR = 2,
    BODY_CP = 3,
    BODY_P10CR = 4,
    BODY_KUR = 7,
    BODY_KUP = 8,
    BODY_RR = 11,
    BODY_RP = 12,
    BODY_PKICONF = 19,
    BODY_GENM = 21,
    BODY_GENP = 22,
    BODY_ERROR = 23,
    BODY_CERTCONF = 24,
    BODY_POLLREQ = 25,
};

/* The columns of an `openssl ca` database line. */
enum { DB_TYPE, DB_EXP, DB_REV, DB_SERIAL, DB_FILE, DB_NAME, DB_NUM };

#define MAX_BODY   (256u << 10) /* a CMP request is a few KiB */
#define TXN_IDLE_S 120          /* a transaction left without certConf is forgotten after this */
#define MAX_TXNS   4096
#define NO_EXPIRY  "99991231235959Z"

struct ca;

/* One CMP transaction: its own OpenSSL server context. */
struct txn {
    struct txn *next;
    struct ca *ca;
    ASN1_OCTET_STRING *tid;
    OSSL_CMP_SRV_CTX *srv;
    time_t last;
    char serial[80]; /* what this transaction issued, for a negative certConf */
    char cn[128];
    int logged; /* a callback logged this message's line */
};

struct ca {
    X509 *cert;
    EVP_PKEY *key;
    const char *index_path;
    TXT_DB *db;
    const char *ref;
    unsigned char *secret;
    size_t secret_len;
    const char *ocsp_url;
    const char *policy;
    int days;
    char path[256]; /* "/pkix/" */
    struct txn *txns;
    int ntxns;
};

static const char *body_name(int t)
{
    switch (t) {
    case BODY_IR: return "ir";
    case BODY_CR: return "cr";
    case BODY_P10CR: return "p10cr";
    case BODY_KUR: return "kur";
    case BODY_RR: return "rr";
    case BODY_GENM: return "genm";
    case BODY_ERROR: return "error";
    case BODY_CERTCONF: return "certConf";
    case BODY_POLLREQ: return "pollReq";
    default: return "other";
    }
}

/* The last OpenSSL error as text (the queue is cleared). */
static const char *ossl_why(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();

    if (e == 0)
        snprintf(buf, len, "unknown error");
    else
        ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

/* ---- the index (an `openssl ca` database) ---------------------------------------------- */

static unsigned long row_serial_hash(const void *a)
{
    const char *const *row = a;

    return OPENSSL_LH_strhash(row[DB_SERIAL]);
}

static int row_serial_cmp(const void *a, const void *b)
{
    const char *const *ra = a, *const *rb = b;

    return strcmp(ra[DB_SERIAL], rb[DB_SERIAL]);
}

static int index_reindex(struct ca *ca)
{
    return TXT_DB_create_index(ca->db, DB_SERIAL, NULL, row_serial_hash, row_serial_cmp);
}

static int index_load(struct ca *ca)
{
    BIO *in = BIO_new_file(ca->index_path, "r");
    FILE *attr;
    char attr_path[PATH_MAX];

    if (in == NULL) {
        ERR_clear_error();
        in = BIO_new_mem_buf("", 0); /* a new CA: an empty database */
    }
    ca->db = in != NULL ? TXT_DB_read(in, DB_NUM) : NULL;
    BIO_free(in);
    if (ca->db == NULL || !index_reindex(ca)) {
        LOGP(LOG_ERR, "ca", NULL, "%s: not an openssl ca database (duplicate serial?)", ca->index_path);
        return -1;
    }
    /* openssl ocsp indexes subjects as unique unless told otherwise, and a renewal keeps its subject. */
    snprintf(attr_path, sizeof(attr_path), "%s.attr", ca->index_path);
    attr = fopen(attr_path, "w");
    if (attr == NULL || fputs("unique_subject = no\n", attr) == EOF || fclose(attr) != 0) {
        LOGP(LOG_ERR, "ca", NULL, "cannot write %s: %s", attr_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Rewrite the database through a new file, so a reader sees the old one or the new one whole. */
static int index_save(struct ca *ca)
{
    char tmp[PATH_MAX];
    BIO *out;
    long n;

    snprintf(tmp, sizeof(tmp), "%s.new", ca->index_path);
    out = BIO_new_file(tmp, "w");
    n = out != NULL ? TXT_DB_write(out, ca->db) : -1;
    if (out == NULL || n < 0 || BIO_flush(out) <= 0) {
        BIO_free(out);
        LOGP(LOG_ERR, "ca", NULL, "cannot write %s", tmp);
        ERR_clear_error();
        return -1;
    }
    BIO_free(out);
    if (rename(tmp, ca->index_path) != 0) {
        LOGP(LOG_ERR, "ca", NULL, "cannot rename %s: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

static char **index_find(struct ca *ca, const char *serial)
{
    const char *key[DB_NUM + 1] = {0};

    key[DB_SERIAL] = serial;
    return TXT_DB_get_by_index(ca->db, DB_SERIAL, (OPENSSL_STRING *)key);
}

/*
 * A row we make: DB_NUM malloc'd strings and a NULL end marker, which is how
 * TXT_DB_free tells it from a row TXT_DB_read made (one block).
 */
static int index_add(struct ca *ca, const char *type, const char *exp, const char *rev, const char *serial,
                     const char *name)
{
    const char *v[DB_NUM] = {type, exp, rev, serial, "unknown", name};
    char **row = OPENSSL_zalloc(sizeof(*row) * (DB_NUM + 1));
    int i;

    if (row == NULL)
        return -1;
    for (i = 0; i < DB_NUM; i++) {
        row[i] = OPENSSL_strdup(v[i]);
        if (row[i] == NULL)
            goto fail;
    }
    if (!TXT_DB_insert(ca->db, row))
        goto fail;
    return index_save(ca);
fail:
    for (i = 0; i < DB_NUM; i++)
        OPENSSL_free(row[i]);
    OPENSSL_free(row);
    return -1;
}

/* Replace a field of a row: only our own strings are freed (see index_add). */
static int row_set(char **row, int field, const char *value)
{
    char *s = OPENSSL_strdup(value);
    char *block_end = row[DB_NUM];

    if (s == NULL)
        return -1;
    if (block_end == NULL || row[field] < (char *)row || row[field] > block_end)
        OPENSSL_free(row[field]);
    row[field] = s;
    return 0;
}

/* RFC 5280 CRLReason as `openssl ca` spells it in the database; NULL for those it cannot read. */
static const char *reason_name(int r)
{
    static const char *const names[] = {"unspecified",  "keyCompromise",        "CACompromise",    "affiliationChanged",
                                        "superseded",   "cessationOfOperation", "certificateHold", NULL,
                                        "removeFromCRL"};

    return r >= 0 && r < (int)(sizeof(names) / sizeof(names[0])) ? names[r] : NULL;
}

/* "YYMMDDHHMMSSZ[,reason]" now, as `openssl ca -revoke` writes it. */
static int revinfo_now(int reason, char *buf, size_t len)
{
    ASN1_TIME *now = X509_gmtime_adj(NULL, 0);
    const char *rn = reason_name(reason);

    if (now == NULL)
        return -1;
    snprintf(buf, len, "%s%s%s", (const char *)ASN1_STRING_get0_data(now), rn != NULL ? "," : "", rn != NULL ? rn : "");
    ASN1_TIME_free(now);
    return 0;
}

static int serial_hex(const ASN1_INTEGER *ai, char *buf, size_t len)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
    char *hex = NULL;

    /* As openssl ocsp looks a serial up: BN_bn2hex, "00" for zero. */
    if (bn != NULL)
        hex = BN_is_zero(bn) ? OPENSSL_strdup("00") : BN_bn2hex(bn);
    BN_free(bn);
    if (hex == NULL)
        return -1;
    snprintf(buf, len, "%s", hex);
    OPENSSL_free(hex);
    return 0;
}

static void name_cn(const X509_NAME *name, char *buf, size_t len)
{
    int i = name != NULL ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
    const ASN1_STRING *s = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)) : NULL;

    snprintf(buf, len, "-");
    if (s != NULL)
        snprintf(buf, len, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
}

/* ---- what OpenSSL 3.0's server API does not hand over ------------------------------------ */

/*
 * The public key of a CRMF certTemplate.  OpenSSL 3.2 has an accessor; 3.0
 * does not, so the template is re-read as a generic SEQUENCE and its
 * publicKey [6] IMPLICIT SubjectPublicKeyInfo re-tagged as the SEQUENCE it is.
 */
static EVP_PKEY *tmpl_pubkey(const OSSL_CRMF_CERTTEMPLATE *tmpl)
{
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    X509_PUBKEY *xp = OSSL_CRMF_CERTTEMPLATE_get0_publicKey(tmpl);

    return xp != NULL ? X509_PUBKEY_get(xp) : NULL;
#else
    unsigned char *der = NULL, *spki = NULL;
    int der_len = i2d_OSSL_CRMF_CERTTEMPLATE((OSSL_CRMF_CERTTEMPLATE *)tmpl, &der);
    const unsigned char *p = der;
    STACK_OF(ASN1_TYPE) *fields = der_len > 0 ? d2i_ASN1_SEQUENCE_ANY(NULL, &p, der_len) : NULL;
    EVP_PKEY *pkey = NULL;
    int i;

    for (i = 0; i < sk_ASN1_TYPE_num(fields) && pkey == NULL; i++) {
        ASN1_TYPE *f = sk_ASN1_TYPE_value(fields, i);
        const unsigned char *q, *c;
        long clen;
        int tag, cls, n;
        unsigned char *w;

        if (f->type != V_ASN1_OTHER)
            continue;
        q = ASN1_STRING_get0_data(f->value.asn1_string);
        c = q;
        if ((ASN1_get_object(&c, &clen, &tag, &cls, ASN1_STRING_length(f->value.asn1_string)) & 0x80) != 0 ||
            cls != V_ASN1_CONTEXT_SPECIFIC || tag != 6)
            continue;
        n = ASN1_object_size(1, (int)clen, V_ASN1_SEQUENCE);
        spki = n > 0 ? OPENSSL_malloc((size_t)n) : NULL;
        if (spki == NULL)
            break;
        w = spki;
        ASN1_put_object(&w, 1, (int)clen, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
        memcpy(w, c, (size_t)clen);
        p = spki;
        pkey = d2i_PUBKEY(NULL, &p, n);
        OPENSSL_free(spki);
    }
    sk_ASN1_TYPE_pop_free(fields, ASN1_TYPE_free);
    OPENSSL_free(der);
    return pkey;
#endif
}

/*
 * The rr's first RevDetails: its certDetails (*tmpl, may stay NULL) and the
 * CRLReason of its crlEntryDetails (-1 when absent).  The server callback
 * gets issuer and serial only, so the message is read again:
 * PKIMessage ::= SEQUENCE { header, body [11] RevReqContent, ... },
 * RevReqContent ::= SEQUENCE OF RevDetails,
 * RevDetails ::= SEQUENCE { certDetails CertTemplate, crlEntryDetails Extensions OPTIONAL }.
 */
static int rr_details(const OSSL_CMP_MSG *req, OSSL_CRMF_CERTTEMPLATE **tmpl)
{
    unsigned char *der = NULL;
    int der_len = i2d_OSSL_CMP_MSG((OSSL_CMP_MSG *)req, &der);
    const unsigned char *p = der, *c;
    STACK_OF(ASN1_TYPE) *msg = der_len > 0 ? d2i_ASN1_SEQUENCE_ANY(NULL, &p, der_len) : NULL;
    STACK_OF(ASN1_TYPE) *rrc = NULL, *rd = NULL;
    ASN1_TYPE *body = sk_ASN1_TYPE_value(msg, 1), *first, *t;
    X509_EXTENSIONS *exts = NULL;
    ASN1_ENUMERATED *reason = NULL;
    long clen;
    int tag, cls, r = -1;

    *tmpl = NULL;
    if (body == NULL || body->type != V_ASN1_OTHER)
        goto out;
    c = ASN1_STRING_get0_data(body->value.asn1_string);
    if ((ASN1_get_object(&c, &clen, &tag, &cls, ASN1_STRING_length(body->value.asn1_string)) & 0x80) != 0 ||
        cls != V_ASN1_CONTEXT_SPECIFIC || tag != BODY_RR)
        goto out;
    rrc = d2i_ASN1_SEQUENCE_ANY(NULL, &c, clen);
    first = sk_ASN1_TYPE_value(rrc, 0);
    if (first == NULL || first->type != V_ASN1_SEQUENCE)
        goto out;
    p = ASN1_STRING_get0_data(first->value.sequence);
    rd = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(first->value.sequence));
    t = sk_ASN1_TYPE_value(rd, 0);
    if (t != NULL && t->type == V_ASN1_SEQUENCE) {
        p = ASN1_STRING_get0_data(t->value.sequence);
        *tmpl = d2i_OSSL_CRMF_CERTTEMPLATE(NULL, &p, ASN1_STRING_length(t->value.sequence));
    }
    t = sk_ASN1_TYPE_value(rd, 1);
    if (t != NULL && t->type == V_ASN1_SEQUENCE) {
        p = ASN1_STRING_get0_data(t->value.sequence);
        exts = d2i_X509_EXTENSIONS(NULL, &p, ASN1_STRING_length(t->value.sequence));
        reason = exts != NULL ? X509V3_get_d2i(exts, NID_crl_reason, NULL, NULL) : NULL;
        if (reason != NULL)
            r = (int)ASN1_ENUMERATED_get(reason);
    }
out:
    ASN1_ENUMERATED_free(reason);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    sk_ASN1_TYPE_pop_free(rd, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(rrc, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(msg, ASN1_TYPE_free);
    OPENSSL_free(der);
    ERR_clear_error();
    return r;
}

/* ---- issuing ----------------------------------------------------------------------------- */

static int add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1);

    if (!ok)
        LOGP(LOG_WARN, "ca", NULL, "cannot make the extension %s = %s", OBJ_nid2sn(nid), value);
    X509_EXTENSION_free(e);
    return ok;
}

/*
 * A certificate for `pub` and `subject`, the demo's subscriber profile
 * (mkpki.sh v3_sub_good); the subjectAltName of `req_exts` is copied.
 */
static X509 *issue(struct ca *ca, const X509_NAME *subject, EVP_PKEY *pub, const X509_EXTENSIONS *req_exts,
                   char *serial, size_t serial_len, char *why, size_t whylen)
{
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    ASN1_INTEGER *ai = NULL;
    X509V3_CTX v3;
    CONF *conf = NCONF_new(NULL); /* certificatePolicies wants a config database, even an empty one */
    char aia[600], ebuf[256];
    int i, ok;

    /* 127 random bits, the top one set: positive, 16 octets, never a duplicate in practice. */
    ok = x != NULL && bn != NULL && conf != NULL && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) &&
         (ai = BN_to_ASN1_INTEGER(bn, NULL)) != NULL && X509_set_version(x, X509_VERSION_3) &&
         X509_set_serialNumber(x, ai) && X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) &&
         X509_set_subject_name(x, subject) && X509_set_pubkey(x, pub) &&
         X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
         X509_time_adj_ex(X509_getm_notAfter(x), ca->days, 0, NULL) != NULL && serial_hex(ai, serial, serial_len) == 0;
    if (ok) {
        X509V3_set_ctx(&v3, ca->cert, x, NULL, NULL, 0);
        X509V3_set_nconf(&v3, conf);
        ok = add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, &v3, NID_key_usage, "critical,digitalSignature,nonRepudiation") &&
             add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
             add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") &&
             (ca->policy[0] == '\0' || add_ext(x, &v3, NID_certificate_policies, ca->policy));
    }
    if (ok && ca->ocsp_url != NULL) {
        snprintf(aia, sizeof(aia), "OCSP;URI:%s", ca->ocsp_url);
        ok = add_ext(x, &v3, NID_info_access, aia);
    }
    i = req_exts != NULL ? X509v3_get_ext_by_NID(req_exts, NID_subject_alt_name, -1) : -1;
    if (ok && i >= 0)
        ok = X509_add_ext(x, X509v3_get_ext(req_exts, i), -1);
    if (ok)
        ok = X509_sign(x, ca->key, EVP_sha256()) > 0;
    if (!ok) {
        snprintf(why, whylen, "cannot issue: %s", ossl_why(ebuf, sizeof(ebuf)));
        X509_free(x);
        x = NULL;
    }
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    NCONF_free(conf);
    return x;
}

static OSSL_CMP_PKISI *refuse(int fail_bit, const char *text)
{
    return OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_rejection, 1 << fail_bit, text);
}

/* Is the certificate named issuer/serial one of ours, and not revoked?  NULL when it may be used. */
static const char *check_old(struct ca *ca, const X509_NAME *issuer, const ASN1_INTEGER *serial, int *fail_bit)
{
    char hex[80];
    char **row;

    *fail_bit = OSSL_CMP_PKIFAILUREINFO_badCertId;
    if (issuer == NULL || serial == NULL || X509_NAME_cmp(issuer, X509_get_subject_name(ca->cert)) != 0)
        return "not issued by this CA";
    if (serial_hex(serial, hex, sizeof(hex)) != 0)
        return "bad serial";
    row = index_find(ca, hex);
    if (row != NULL && row[DB_TYPE][0] == 'R') {
        *fail_bit = OSSL_CMP_PKIFAILUREINFO_certRevoked;
        return "already revoked";
    }
    return NULL;
}

static OSSL_CMP_PKISI *on_cert_request(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int certReqId,
                                       const OSSL_CRMF_MSG *crm, const X509_REQ *p10cr, X509 **certOut,
                                       STACK_OF(X509) * *chainOut, STACK_OF(X509) * *caPubs)
{
    struct txn *t = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    struct ca *ca = t->ca;
    int type = OSSL_CMP_MSG_get_bodytype(req), fail_bit = OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
    const X509_NAME *subject = NULL;
    const X509_EXTENSIONS *exts = NULL;
    STACK_OF(X509_EXTENSION) *p10_exts = NULL;
    EVP_PKEY *pub = NULL;
    const char *bad = NULL;
    char why[300] = "", exp[32];
    X509 *x = NULL;
    OSSL_CMP_PKISI *si;

    (void)certReqId;
    t->logged = 1;
    *certOut = NULL;
    *chainOut = NULL;
    *caPubs = NULL;
    if (p10cr != NULL) {
        subject = X509_REQ_get_subject_name(p10cr);
        pub = X509_REQ_get_pubkey((X509_REQ *)p10cr);
        p10_exts = X509_REQ_get_extensions((X509_REQ *)p10cr);
        exts = p10_exts;
        if (pub == NULL || X509_REQ_verify((X509_REQ *)p10cr, pub) <= 0)
            bad = "the PKCS#10 self-signature does not verify";
    } else if (crm != NULL) {
        OSSL_CRMF_CERTTEMPLATE *tmpl = OSSL_CRMF_MSG_get0_tmpl(crm);
        OSSL_CRMF_CERTID *old = OSSL_CRMF_MSG_get0_regCtrl_oldCertID(crm);

        subject = OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl);
        exts = OSSL_CRMF_CERTTEMPLATE_get0_extensions(tmpl);
        pub = tmpl_pubkey(tmpl);
        if (type == BODY_KUR && old == NULL)
            bad = "kur without oldCertID";
        else if (type == BODY_KUR)
            bad = check_old(ca, OSSL_CRMF_CERTID_get0_issuer(old), OSSL_CRMF_CERTID_get0_serialNumber(old), &fail_bit);
    }
    if (bad == NULL && (pub == NULL || subject == NULL || X509_NAME_entry_count(subject) == 0)) {
        fail_bit = OSSL_CMP_PKIFAILUREINFO_badCertTemplate;
        bad = "no public key or no subject in the request";
    }
    name_cn(subject, t->cn, sizeof(t->cn));
    if (bad == NULL)
        x = issue(ca, subject, pub, exts, t->serial, sizeof(t->serial), why, sizeof(why));
    else
        snprintf(why, sizeof(why), "%s", bad);
    if (x != NULL) {
        char *name = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
        const ASN1_TIME *na = X509_get0_notAfter(x);

        snprintf(exp, sizeof(exp), "%.*s", ASN1_STRING_length(na), (const char *)ASN1_STRING_get0_data(na));
        if (name == NULL || index_add(ca, "V", exp, "", t->serial, name) != 0) {
            snprintf(why, sizeof(why), "cannot record the certificate in the index");
            X509_free(x);
            x = NULL;
            fail_bit = OSSL_CMP_PKIFAILUREINFO_systemFailure;
        }
        OPENSSL_free(name);
    }
    if (x != NULL) {
        *certOut = x;
        si = OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
        LOGP(LOG_INFO, "ca", NULL, "%s serial=%s cn=%s result=issued", body_name(type), t->serial, t->cn);
    } else {
        t->serial[0] = '\0';
        si = refuse(fail_bit, why);
        LOGP(LOG_INFO, "ca", NULL, "%s serial=- cn=%s result=rejected (%s)", body_name(type), t->cn, why);
    }
    EVP_PKEY_free(pub);
    sk_X509_EXTENSION_pop_free(p10_exts, X509_EXTENSION_free);
    return si;
}

/* ---- revoking ------------------------------------------------------------------------------ */

static OSSL_CMP_PKISI *on_rr(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const X509_NAME *issuer,
                             const ASN1_INTEGER *serial)
{
    struct txn *t = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    struct ca *ca = t->ca;
    OSSL_CRMF_CERTTEMPLATE *tmpl = NULL;
    int reason = rr_details(req, &tmpl), fail_bit;
    const char *bad = check_old(ca, issuer, serial, &fail_bit);
    char hex[80] = "-", rev[64], cn[128] = "-";
    char **row;
    OSSL_CMP_PKISI *si;

    t->logged = 1;
    if (serial != NULL)
        serial_hex(serial, hex, sizeof(hex));
    row = index_find(ca, hex);
    if (row != NULL) {
        /* The CN of the recorded subject (X509_NAME_oneline form), for the log only. */
        const char *cnp = strstr(row[DB_NAME], "/CN=");

        snprintf(cn, sizeof(cn), "%s", cnp != NULL ? cnp + 4 : "-");
        cn[strcspn(cn, "/")] = '\0';
    } else if (tmpl != NULL) {
        name_cn(OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl), cn, sizeof(cn));
    }
    if (bad == NULL && revinfo_now(reason, rev, sizeof(rev)) != 0)
        bad = "out of memory";
    if (bad == NULL && row != NULL) {
        if (row_set(row, DB_TYPE, "R") != 0 || row_set(row, DB_REV, rev) != 0 || index_save(ca) != 0)
            bad = "cannot record the revocation in the index";
    } else if (bad == NULL) {
        /* Issued by us before this index: record it from what the rr says. */
        const X509_NAME *sn = tmpl != NULL ? OSSL_CRMF_CERTTEMPLATE_get0_subject(tmpl) : NULL;
        char *name = sn != NULL ? X509_NAME_oneline(sn, NULL, 0) : NULL;

        if (index_add(ca, "R", NO_EXPIRY, rev, hex, name != NULL ? name : "/CN=unknown") != 0)
            bad = "cannot record the revocation in the index";
        OPENSSL_free(name);
    }
    if (bad != NULL) {
        si = refuse(fail_bit, bad);
        LOGP(LOG_INFO, "ca", NULL, "rr serial=%s cn=%s result=rejected (%s)", hex, cn, bad);
    } else {
        si = OSSL_CMP_STATUSINFO_new(OSSL_CMP_PKISTATUS_accepted, 0, NULL);
        LOGP(LOG_INFO, "ca", NULL, "rr serial=%s cn=%s result=revoked (%s)%s", hex, cn,
             reason_name(reason) != NULL ? reason_name(reason) : "no reason", row == NULL ? " (not in the index)" : "");
    }
    OSSL_CRMF_CERTTEMPLATE_free(tmpl);
    return si;
}

static int on_cert_conf(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int certReqId,
                        const ASN1_OCTET_STRING *certHash, const OSSL_CMP_PKISI *si)
{
    struct txn *t = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    char text[OSSL_CMP_PKISI_BUFLEN] = "accepted", rev[64];
    char **row = t->serial[0] != '\0' ? index_find(t->ca, t->serial) : NULL;

    (void)req;
    (void)certReqId;
    (void)certHash;
    t->logged = 1;
    if (si != NULL && OSSL_CMP_snprint_PKIStatusInfo(si, text, sizeof(text)) == NULL)
        snprintf(text, sizeof(text), "unreadable status");
    /* RFC 4210 5.3.18: a certificate its holder refused must not stay valid. */
    if (si != NULL && strstr(text, "rejection") != NULL && row != NULL && row[DB_TYPE][0] == 'V') {
        if (revinfo_now(0, rev, sizeof(rev)) != 0 || row_set(row, DB_TYPE, "R") != 0 ||
            row_set(row, DB_REV, rev) != 0 || index_save(t->ca) != 0)
            LOGP(LOG_ERR, "ca", NULL, "certConf serial=%s: cannot revoke the refused certificate", t->serial);
    }
    LOGP(LOG_INFO, "ca", NULL, "certConf serial=%s cn=%s result=%s", t->serial[0] ? t->serial : "-", t->cn, text);
    return 1;
}

static int on_genm(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const STACK_OF(OSSL_CMP_ITAV) * in,
                   STACK_OF(OSSL_CMP_ITAV) * *out)
{
    struct txn *t = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);

    (void)req;
    (void)in;
    t->logged = 1;
    *out = sk_OSSL_CMP_ITAV_new_null(); /* nothing to tell: an empty genp */
    LOGP(LOG_INFO, "ca", NULL, "genm serial=- cn=- result=empty genp");
    return *out != NULL;
}

static void on_error(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, const OSSL_CMP_PKISI *si,
                     const ASN1_INTEGER *errorCode, const OSSL_CMP_PKIFREETEXT *errDetails)
{
    struct txn *t = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);
    char text[OSSL_CMP_PKISI_BUFLEN] = "-";

    (void)req;
    (void)errorCode;
    (void)errDetails;
    t->logged = 1;
    if (si != NULL && OSSL_CMP_snprint_PKIStatusInfo(si, text, sizeof(text)) == NULL)
        snprintf(text, sizeof(text), "unreadable status");
    LOGP(LOG_INFO, "ca", NULL, "error serial=%s cn=%s result=%s", t->serial[0] ? t->serial : "-", t->cn, text);
}

static int on_poll_req(OSSL_CMP_SRV_CTX *srv, const OSSL_CMP_MSG *req, int certReqId, OSSL_CMP_MSG **certReq,
                       int64_t *check_after)
{
    struct txn *t = OSSL_CMP_SRV_CTX_get0_custom_ctx(srv);

    (void)req;
    (void)certReqId;
    (void)check_after;
    t->logged = 1;
    *certReq = NULL; /* we never answer "waiting", so there is nothing to poll for */
    LOGP(LOG_INFO, "ca", NULL, "pollReq serial=- cn=- result=refused (nothing pending)");
    return 0;
}

/* ---- transactions ---------------------------------------------------------------------------- */

static int cmp_log(const char *func, const char *file, int line, OSSL_CMP_severity level, const char *msg)
{
    (void)func;
    (void)file;
    (void)line;
    LOGP(level <= OSSL_CMP_LOG_ERR ? LOG_WARN : LOG_DEBUG, "cmp", NULL, "%s", msg);
    return 1;
}

static void txn_free(struct txn *t)
{
    if (t == NULL)
        return;
    OSSL_CMP_SRV_CTX_free(t->srv);
    ASN1_OCTET_STRING_free(t->tid);
    free(t);
}

static struct txn *txn_new(struct ca *ca, const ASN1_OCTET_STRING *tid)
{
    struct txn *t = calloc(1, sizeof(*t));
    OSSL_CMP_CTX *ctx;

    if (t == NULL)
        return NULL;
    t->ca = ca;
    t->cn[0] = '-';
    t->srv = OSSL_CMP_SRV_CTX_new(NULL, NULL);
    t->tid = tid != NULL ? ASN1_OCTET_STRING_dup(tid) : NULL;
    ctx = t->srv != NULL ? OSSL_CMP_SRV_CTX_get0_cmp_ctx(t->srv) : NULL;
    if (ctx == NULL || (tid != NULL && t->tid == NULL) ||
        !OSSL_CMP_SRV_CTX_init(t->srv, t, on_cert_request, on_rr, on_genm, on_error, on_cert_conf, on_poll_req) ||
        !OSSL_CMP_SRV_CTX_set_accept_raverified(t->srv, 1) || !OSSL_CMP_SRV_CTX_set_grant_implicit_confirm(t->srv, 1) ||
        !OSSL_CMP_CTX_set_log_cb(ctx, cmp_log) ||
        !OSSL_CMP_CTX_set1_referenceValue(ctx, (const unsigned char *)ca->ref, (int)strlen(ca->ref)) ||
        !OSSL_CMP_CTX_set1_secretValue(ctx, ca->secret, (int)ca->secret_len)) {
        txn_free(t);
        return NULL;
    }
    return t;
}

/* Unlink and free t (it must be in the list). */
static void txn_drop(struct ca *ca, struct txn *t)
{
    struct txn **pp = &ca->txns;

    while (*pp != NULL && *pp != t)
        pp = &(*pp)->next;
    if (*pp == t) {
        *pp = t->next;
        ca->ntxns--;
    }
    txn_free(t);
}

static void txn_expire(struct ca *ca, time_t now)
{
    struct txn **pp = &ca->txns, *t;

    while ((t = *pp) != NULL) {
        if (now - t->last > TXN_IDLE_S) {
            *pp = t->next;
            ca->ntxns--;
            txn_free(t);
        } else {
            pp = &t->next;
        }
    }
}

/* The transaction req belongs to: found, or a new one (in the list when it has an ID). */
static struct txn *txn_for(struct ca *ca, const OSSL_CMP_MSG *req)
{
    const ASN1_OCTET_STRING *tid = OSSL_CMP_HDR_get0_transactionID(OSSL_CMP_MSG_get0_header(req));
    struct txn *t;

    for (t = ca->txns; t != NULL && tid != NULL; t = t->next)
        if (t->tid != NULL && ASN1_OCTET_STRING_cmp(t->tid, tid) == 0)
            return t;
    if (ca->ntxns >= MAX_TXNS)
        return NULL;
    t = txn_new(ca, tid);
    /* Without a transactionID nothing can follow it: not listed, freed after its answer (cmp_handle). */
    if (t != NULL && tid != NULL) {
        t->next = ca->txns;
        ca->txns = t;
        ca->ntxns++;
    }
    return t;
}

/* One CMP message in, its answer out (NULL: OpenSSL could not even make an error message). */
static OSSL_CMP_MSG *cmp_handle(struct ca *ca, const OSSL_CMP_MSG *req)
{
    time_t now = time(NULL);
    struct txn *t;
    OSSL_CMP_MSG *rsp;
    int rt;

    txn_expire(ca, now);
    t = txn_for(ca, req);
    if (t == NULL)
        return NULL;
    t->last = now;
    t->logged = 0;
    rsp = OSSL_CMP_SRV_process_request(t->srv, req);
    rt = rsp != NULL ? OSSL_CMP_MSG_get_bodytype(rsp) : BODY_ERROR;
    /* Refused before any callback (protection, nonces, POPO): OpenSSL's reason went out as a "cmp" warning. */
    if (!t->logged)
        LOGP(LOG_INFO, "ca", NULL, "%s serial=- cn=- result=%s", body_name(OSSL_CMP_MSG_get_bodytype(req)),
             rt == BODY_ERROR ? "error answer" : "answered");
    /* Over unless a certificate awaits its certConf (ip/cp/kup): kept till then, or TXN_IDLE_S. */
    if (t->tid == NULL)
        txn_free(t);
    else if (!(rt == BODY_IP || rt == BODY_CP || rt == BODY_KUP))
        txn_drop(ca, t);
    ERR_clear_error();
    return rsp;
}

/* ---- HTTP ------------------------------------------------------------------------------------ */

static void reply_text(struct evhttp_request *r, int code, const char *reason, const char *text)
{
    struct evbuffer *b = evbuffer_new();

    if (b != NULL)
        evbuffer_add_printf(b, "%s\n", text);
    evhttp_add_header(evhttp_request_get_output_headers(r), "Content-Type", "text/plain");
    evhttp_send_reply(r, code, reason, b);
    evbuffer_free(b);
}

static void on_http(struct evhttp_request *r, void *arg)
{
    struct ca *ca = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(r));
    const char *ctype = evhttp_find_header(evhttp_request_get_input_headers(r), "Content-Type");
    struct evbuffer *in = evhttp_request_get_input_buffer(r), *out;
    size_t len = evbuffer_get_length(in);
    const unsigned char *p;
    OSSL_CMP_MSG *req = NULL, *rsp = NULL;
    unsigned char *der = NULL;
    int der_len;

    if (path == NULL || strcmp(path, ca->path) != 0) {
        reply_text(r, HTTP_NOTFOUND, "Not Found", "no CMP endpoint here");
        return;
    }
    if (evhttp_request_get_command(r) != EVHTTP_REQ_POST) {
        reply_text(r, HTTP_BADMETHOD, "Method Not Allowed", "POST a CMP message");
        return;
    }
    if (ctype == NULL || strncasecmp(ctype, "application/pkixcmp", 19) != 0) {
        reply_text(r, 415, "Unsupported Media Type", "Content-Type must be application/pkixcmp");
        return;
    }
    p = len > 0 ? evbuffer_pullup(in, -1) : NULL;
    if (p != NULL)
        req = d2i_OSSL_CMP_MSG(NULL, &p, (long)len);
    if (req == NULL) {
        /* Nothing to answer in CMP: no header to take transactionID and nonces from. */
        ERR_clear_error();
        LOGP(LOG_INFO, "ca", NULL, "garbage serial=- cn=- result=HTTP 400 (%zu octets, not a PKIMessage)", len);
        reply_text(r, HTTP_BADREQUEST, "Bad Request", "not a DER PKIMessage");
        return;
    }
    rsp = cmp_handle(ca, req);
    der_len = rsp != NULL ? i2d_OSSL_CMP_MSG(rsp, &der) : -1;
    out = der_len > 0 ? evbuffer_new() : NULL;
    if (out == NULL || evbuffer_add(out, der, (size_t)der_len) != 0) {
        ERR_clear_error();
        LOGP(LOG_WARN, "ca", NULL, "%s serial=- cn=- result=HTTP 500 (no CMP answer)",
             body_name(OSSL_CMP_MSG_get_bodytype(req)));
        reply_text(r, HTTP_INTERNAL, "Internal Server Error", "no CMP answer");
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(r), "Content-Type", "application/pkixcmp");
        evhttp_send_reply(r, HTTP_OK, "OK", out);
    }
    evbuffer_free(out);
    OPENSSL_free(der);
    OSSL_CMP_MSG_free(req);
    OSSL_CMP_MSG_free(rsp);
}

/* ---- start and stop -------------------------------------------------------------------------- */

static int load_secret(struct ca *ca, const char *file)
{
    FILE *f = fopen(file, "rb");
    unsigned char buf[1025];
    size_t n;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    /* As lib.sh writes it: the secret itself, no newline; one trailing newline is forgiven. */
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n == 0 || n > 1024) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return -1;
    }
    ca->secret = OPENSSL_malloc(n);
    if (ca->secret != NULL) {
        memcpy(ca->secret, buf, n);
        ca->secret_len = n;
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return ca->secret != NULL ? 0 : -1;
}

static int load_ca(struct ca *ca, const char *cert_file, const char *key_file)
{
    BIO *b = BIO_new_file(cert_file, "r");

    ca->cert = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    b = BIO_new_file(key_file, "r");
    ca->key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (ca->cert == NULL || ca->key == NULL)
        return -1;
    return X509_check_private_key(ca->cert, ca->key) == 1 ? 0 : -1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    LOGP(LOG_INFO, "ca", NULL, "signal %d: stopping", (int)sig);
    event_base_loopexit(arg, NULL);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: simpki-sim-ca --ca-cert PEM --ca-key PEM --index FILE --ref REF --secret-file FILE\n"
               "         [--port N (0: any)] [--bind ADDR] [--path pkix/] [--ocsp-url URL]\n"
               "         [--policy OID (\"\": none)] [--days 730] [--log-level error|warn|info|debug]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca-cert", required_argument, NULL, 'c'},
        {"ca-key", required_argument, NULL, 'k'},
        {"index", required_argument, NULL, 'i'},
        {"ref", required_argument, NULL, 'r'},
        {"secret-file", required_argument, NULL, 's'},
        {"port", required_argument, NULL, 'p'},
        {"bind", required_argument, NULL, 'b'},
        {"path", required_argument, NULL, 'P'},
        {"ocsp-url", required_argument, NULL, 'o'},
        {"policy", required_argument, NULL, 'y'},
        {"days", required_argument, NULL, 'd'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ca ca = {.policy = "2.16.704.1.1.1.1.1", .days = 730};
    const char *cert_file = NULL, *key_file = NULL, *secret_file = NULL, *bind_addr = "127.0.0.1", *path = "pkix/";
    long port = 0;
    struct event_base *base = NULL;
    struct evhttp *http = NULL;
    struct evhttp_bound_socket *sock;
    struct event *sigterm = NULL, *sigint = NULL;
    struct sockaddr_storage ss;
    ev_socklen_t sslen = sizeof(ss);
    char *end;
    int opt, lvl, rc = 1;

    log_setup(LOG_INFO, LOG_FMT_TEXT);
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c': cert_file = optarg; break;
        case 'k': key_file = optarg; break;
        case 'i': ca.index_path = optarg; break;
        case 'r': ca.ref = optarg; break;
        case 's': secret_file = optarg; break;
        case 'p':
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || port < 0 || port > 65535) {
                fprintf(stderr, "simpki-sim-ca: --port: 0..65535\n");
                return 2;
            }
            break;
        case 'b': bind_addr = optarg; break;
        case 'P': path = optarg; break;
        case 'o': ca.ocsp_url = optarg; break;
        case 'y': ca.policy = optarg; break;
        case 'd':
            errno = 0;
            ca.days = (int)strtol(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || ca.days < 1 || ca.days > 36500) {
                fprintf(stderr, "simpki-sim-ca: --days: 1..36500\n");
                return 2;
            }
            break;
        case 'l':
            lvl = log_level_parse(optarg);
            if (lvl < 0) {
                fprintf(stderr, "simpki-sim-ca: --log-level: error, warn, info or debug\n");
                return 2;
            }
            log_setup((enum log_level)lvl, LOG_FMT_TEXT);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (cert_file == NULL || key_file == NULL || ca.index_path == NULL || ca.ref == NULL || secret_file == NULL ||
        optind != argc) {
        usage(stderr);
        return 2;
    }
    snprintf(ca.path, sizeof(ca.path), "%s%s", path[0] == '/' ? "" : "/", path);
    if (load_secret(&ca, secret_file) != 0) {
        fprintf(stderr, "simpki-sim-ca: %s: cannot read a secret of 1..1024 octets\n", secret_file);
        goto out;
    }
    if (load_ca(&ca, cert_file, key_file) != 0) {
        fprintf(stderr, "simpki-sim-ca: cannot load the CA certificate and its key (%s, %s)\n", cert_file, key_file);
        goto out;
    }
    if (index_load(&ca) != 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    http = base != NULL ? evhttp_new(base) : NULL;
    if (http == NULL)
        goto out;
    evhttp_set_max_body_size(http, MAX_BODY);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
    evhttp_set_gencb(http, on_http, &ca);
    sock = evhttp_bind_socket_with_handle(http, bind_addr, (ev_uint16_t)port);
    if (sock == NULL || getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sslen) != 0) {
        fprintf(stderr, "simpki-sim-ca: cannot listen on %s:%ld\n", bind_addr, port);
        goto out;
    }
    port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                          : ((struct sockaddr_in *)&ss)->sin_port);
    sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    sigint = evsignal_new(base, SIGINT, on_signal, base);
    if (sigterm == NULL || sigint == NULL || event_add(sigterm, NULL) != 0 || event_add(sigint, NULL) != 0)
        goto out;
    LOGP(LOG_INFO, "ca", NULL, "issuing as %s, index %s, path %s, %d certificates known", cert_file, ca.index_path,
         ca.path, (int)sk_OPENSSL_PSTRING_num(ca.db->data));
    fprintf(stderr, "simpki-sim-ca listening on %ld\n", port);
    fflush(stderr);
    event_base_dispatch(base);
    rc = 0;
out:
    while (ca.txns != NULL)
        txn_drop(&ca, ca.txns);
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    if (http != NULL)
        evhttp_free(http);
    if (base != NULL)
        event_base_free(base);
    if (ca.db != NULL)
        TXT_DB_free(ca.db);
    X509_free(ca.cert);
    EVP_PKEY_free(ca.key);
    OPENSSL_clear_free(ca.secret, ca.secret_len);
    return rc;
}
