/* ar_evidence.c - see ar_evidence.h; the bundle's members are docs/evidence.md's. */
#include "ar_evidence.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ar.h"
#include "ar_pg.h"
#include "cfg.h"
#include "log.h"
#include "sig.h"
#include "util.h"

#define TXN_ID_MAX 64
#define OOM_BODY   "{\"error\":\"INTERNAL_ERROR\",\"message\":\"out of memory\"}"

/*
 * One round trip: the signature event (of rp, unless NULL), its certificate,
 * the first anchor at or after its row, and (seq, SHA-256(body)) of every
 * row after it up to that anchor, as "seq:hex,seq:hex,...".  Binary columns
 * as hex (text results).  No row: not archived, or another relying party's.
 */
static const char SQL[] =
    "WITH ev AS (SELECT chain, seq, body, prev_hash, row_hash, cert_sha256 FROM archive_events"
    "             WHERE txn_id = $1 AND etype = 'signature' AND kind = 'sign'"
    "               AND ($2::text IS NULL OR rp = $2::text)"
    "             ORDER BY at LIMIT 1),"
    " an AS (SELECT a.seq, a.head, a.tst, a.gen_time FROM archive_anchors a, ev"
    "         WHERE a.chain = ev.chain AND a.seq >= ev.seq ORDER BY a.seq LIMIT 1)"
    " SELECT ev.chain, ev.seq, encode(ev.body, 'hex'), encode(ev.prev_hash, 'hex'), encode(ev.row_hash, 'hex'),"
    "        (SELECT encode(c.der, 'hex') FROM archive_certs c WHERE c.sha256 = ev.cert_sha256),"
    "        an.seq, encode(an.head, 'hex'), encode(an.tst, 'hex'),"
    "        to_char(an.gen_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    "        (SELECT string_agg(f.seq || ':' || encode(sha256(f.body), 'hex'), ',' ORDER BY f.seq)"
    "           FROM archive_events f"
    "          WHERE an.seq IS NOT NULL AND f.kind = 'sign' AND f.chain = ev.chain"
    "            AND f.seq > ev.seq AND f.seq <= an.seq)"
    "   FROM ev LEFT JOIN an ON true";

enum { C_CHAIN, C_SEQ, C_BODY, C_PREV, C_ROW, C_CERT, C_ASEQ, C_HEAD, C_TST, C_GEN, C_FOLLOW };

struct ev_req {
    struct ar *a;
    ar_evidence_cb *cb;
    void *arg;
    char txn_id[TXN_ID_MAX + 1];
};

static void answer_error(ar_evidence_cb *cb, void *arg, int status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", msg);
    char *txt = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (txt)
        cb(arg, status, txt, strlen(txt));
    else
        cb(arg, 500, OOM_BODY, sizeof(OOM_BODY) - 1);
    free(txt);
    json_decref(o);
}

/* Hex text (PostgreSQL's encode(.., 'hex'), lower case) into a malloc'd buffer; NULL on a bad digit or OOM. */
static uint8_t *unhex(const char *h, size_t *n)
{
    size_t len = strlen(h);
    uint8_t *out;

    if (len % 2)
        return NULL;
    out = malloc(len / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len / 2; i++) {
        int hi = util_hexval(h[2 * i]), lo = util_hexval(h[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *n = len / 2;
    return out;
}

/* A new JSON string of the base64 of p[0..n); NULL on OOM. */
static json_t *b64_json(const uint8_t *p, size_t n)
{
    char *s = util_b64_encode(p, n);
    json_t *j = s ? json_string(s) : NULL;

    free(s);
    return j;
}

/* Column col of the one row, hex, as a base64 JSON string; json null when SQL NULL; NULL on error. */
static json_t *col_b64(const PGresult *res, int col)
{
    size_t n = 0;
    uint8_t *p;
    json_t *j;

    if (PQgetisnull(res, 0, col))
        return json_null();
    p = unhex(PQgetvalue(res, 0, col), &n);
    if (!p)
        return NULL;
    j = b64_json(p, n);
    free(p);
    return j;
}

/*
 * The certificates of the path from der (leaf) to its trust anchor, issuer
 * first, anchor last, base64 DER; as the gateway checks them (sig_chain_der)
 * at the time of the signature.  *why is set and NULL returned when there
 * is none (the trust anchors changed since, the certificate is missing).
 */
static json_t *path_json(const struct sig_trust *t, const uint8_t *der, size_t der_len, time_t at, char *why,
                         size_t whylen)
{
    uint8_t *buf = NULL;
    size_t len = 0, n = 0, off = 0;
    json_t *arr = NULL;

    if (!t || !der) {
        snprintf(why, whylen, "%s", !t ? "no trust anchors configured" : "no certificate archived");
        return NULL;
    }
    if (sig_chain_der(t, der, der_len, at, &buf, &len, &n, why, whylen) != SIG_OK)
        return NULL;
    arr = json_array();
    for (size_t i = 0; arr && i < n && off + 4 <= len; i++) {
        size_t l = (size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 | (size_t)buf[off + 2] << 8 | buf[off + 3];
        if (off + 4 + l > len)
            break;
        if (i > 0 && json_array_append_new(arr, b64_json(buf + off + 4, l)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
        off += 4 + l;
    }
    free(buf);
    if (!arr)
        snprintf(why, whylen, "out of memory");
    return arr;
}

/* The certificates of a PEM file as base64 DER (the TSA's trust anchors); [] when path is "" or unreadable. */
static json_t *pem_certs_json(const char *path)
{
    json_t *arr = json_array();
    BIO *bio;
    X509 *x;

    if (!arr || !path || !*path)
        return arr;
    bio = BIO_new_file(path, "r");
    if (!bio) {
        LOGP(LOG_WARN, "archive", NULL, "evidence: cannot read tsa_trust %s", path);
        return arr;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        unsigned char *der = NULL;
        int l = i2d_X509(x, &der);
        if (l > 0)
            json_array_append_new(arr, b64_json(der, (size_t)l));
        OPENSSL_free(der);
        X509_free(x);
    }
    BIO_free(bio);
    return arr;
}

/* "seq:hex,seq:hex" into [{"seq": n, "body_sha256": hex}, ...]; NULL when it does not parse. */
static json_t *following_json(const char *s)
{
    json_t *arr = json_array();

    while (arr && s && *s) {
        char *end;
        long long seq = strtoll(s, &end, 10);
        const char *h = end + 1;
        char hex[65];

        if (end == s || *end != ':' || strspn(h, "0123456789abcdef") != 64 || (h[64] != ',' && h[64] != '\0')) {
            json_decref(arr);
            return NULL;
        }
        memcpy(hex, h, 64);
        hex[64] = '\0';
        if (json_array_append_new(arr, json_pack("{s:I, s:s}", "seq", (json_int_t)seq, "body_sha256", hex)) != 0) {
            json_decref(arr);
            return NULL;
        }
        s = h[64] ? h + 65 : h + 64;
    }
    return arr;
}

/* The bundle from the query's one row; NULL with why on a row that does not parse (or OOM). */
static json_t *bundle(struct ev_req *r, const PGresult *res, char *why, size_t whylen)
{
    const struct cfg *cfg = ar_cfg_of(r->a);
    uint8_t *body = NULL, *der = NULL;
    size_t body_len = 0, der_len = 0;
    json_t *b = NULL, *event = NULL, *path, *v;
    json_error_t jerr;
    char pwhy[256] = "";

    body = unhex(PQgetvalue(res, 0, C_BODY), &body_len);
    event = body ? json_loadb((const char *)body, body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(event)) {
        snprintf(why, whylen, "the archived body does not parse");
        goto out;
    }
    if (!PQgetisnull(res, 0, C_CERT))
        der = unhex(PQgetvalue(res, 0, C_CERT), &der_len);
    v = json_object_get(event, "at_ms");
    path = path_json(ar_trust_of(r->a), der, der_len, json_is_integer(v) ? (time_t)(json_integer_value(v) / 1000) : 0,
                     pwhy, sizeof(pwhy));
    b = json_pack("{s:i, s:s, s:O, s:o, s:O?, s:O?, s:O?, s:O?, s:O?, s:o, s:o, s:O?}", "version", AR_EVIDENCE_VERSION,
                  "txn_id", r->txn_id, "event", event, "body_b64", b64_json(body, body_len), "signature",
                  json_object_get(event, "signature"), "digest_alg", json_object_get(event, "digest_alg"), "digest",
                  json_object_get(event, "digest"), "doc_digest", json_object_get(event, "doc_digest"), "format",
                  json_object_get(event, "format"), "certificate", der ? b64_json(der, der_len) : json_null(), "path",
                  path ? path : json_null(), "ocsp", json_object_get(event, "ocsp"));
    if (!b) {
        snprintf(why, whylen, "out of memory");
        goto out;
    }
    if (!path)
        json_object_set_new(b, "path_note", json_string(pwhy));
    v = json_pack("{s:s, s:I, s:s, s:s}", "chain", PQgetvalue(res, 0, C_CHAIN), "seq",
                  (json_int_t)strtoll(PQgetvalue(res, 0, C_SEQ), NULL, 10), "prev_hash", PQgetvalue(res, 0, C_PREV),
                  "row_hash", PQgetvalue(res, 0, C_ROW));
    if (json_object_set_new(b, "link", v) != 0)
        goto oom;
    if (PQgetisnull(res, 0, C_ASEQ)) {
        if (json_object_set_new(b, "following", json_array()) != 0 || json_object_set_new(b, "anchor", json_null()) ||
            json_object_set_new(b, "note",
                                json_string("not anchored yet: the chain head after this row gets its timestamp "
                                            "within archive.anchor_interval_s; ask again then")) != 0)
            goto oom;
    } else {
        json_t *tst = col_b64(res, C_TST), *f = following_json(PQgetvalue(res, 0, C_FOLLOW));
        if (!f) {
            json_decref(tst);
            snprintf(why, whylen, "the following rows do not parse");
            goto fail;
        }
        if (json_object_set_new(b, "following", f) != 0 ||
            json_object_set_new(b, "anchor",
                                json_pack("{s:I, s:s, s:o, s:s}", "seq",
                                          (json_int_t)strtoll(PQgetvalue(res, 0, C_ASEQ), NULL, 10), "head",
                                          PQgetvalue(res, 0, C_HEAD), "tst", tst ? tst : json_null(), "gen_time",
                                          PQgetvalue(res, 0, C_GEN))) != 0)
            goto oom;
    }
    if (json_object_set_new(b, "tsa_certs", pem_certs_json(cfg ? cfg->tsa_trust : NULL)) != 0)
        goto oom;
    goto out;
oom:
    snprintf(why, whylen, "out of memory");
fail:
    json_decref(b);
    b = NULL;
out:
    json_decref(event);
    free(body);
    free(der);
    return b;
}

static void answered(void *arg, const PGresult *res, const char *err)
{
    struct ev_req *r = arg;
    char why[256] = "";
    json_t *b;
    char *txt;

    if (!res) {
        LOGP_RL(LOG_WARN, 1, "archive", NULL, "evidence: %s", err ? err : "query failed");
        answer_error(r->cb, r->arg, 503, "UNAVAILABLE", "the evidence archive is unreachable: try again");
        goto out;
    }
    if (PQntuples(res) != 1 || PQnfields(res) != C_FOLLOW + 1) {
        answer_error(r->cb, r->arg, 404, "NOT_FOUND", "no archived signature with this id (yet)");
        goto out;
    }
    b = bundle(r, res, why, sizeof(why));
    txt = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!txt) {
        LOGP(LOG_ERR, "archive", NULL, "evidence of %s: %s", r->txn_id, *why ? why : "out of memory");
        answer_error(r->cb, r->arg, 500, "INTERNAL_ERROR", *why ? why : "out of memory");
        goto out;
    }
    r->cb(r->arg, 200, txt, strlen(txt));
    free(txt);
out:
    free(r);
}

void ar_evidence_get(struct ar *a, const char *txn_id, const char *rp, ar_evidence_cb *cb, void *arg)
{
    struct ar_pg *pg = ar_pg_of(a);
    struct ev_req *r;
    const char *params[2];
    size_t n = txn_id ? strlen(txn_id) : 0;

    if (!a || !pg) {
        answer_error(cb, arg, 404, "NOT_CONFIGURED",
                     "the evidence archive is not configured on this gateway (no \"archive\" section)");
        return;
    }
    if (n == 0 || n > TXN_ID_MAX || strspn(txn_id, "0123456789abcdef") != n) {
        answer_error(cb, arg, 404, "NOT_FOUND", "no archived signature with this id (yet)");
        return;
    }
    if (!ar_pg_up(pg)) {
        answer_error(cb, arg, 503, "UNAVAILABLE", "the evidence archive is unreachable: try again");
        return;
    }
    r = calloc(1, sizeof(*r));
    if (!r) {
        answer_error(cb, arg, 500, "INTERNAL_ERROR", "out of memory");
        return;
    }
    r->a = a;
    r->cb = cb;
    r->arg = arg;
    memcpy(r->txn_id, txn_id, n + 1);
    params[0] = r->txn_id;
    params[1] = rp;
    if (ar_pg_query(pg, SQL, 2, params, 0, answered, r) != 0) {
        free(r);
        answer_error(cb, arg, 503, "UNAVAILABLE", "the evidence archive is busy: try again");
    }
}
