/*
 * gw_admin_import.c - registry import; see gw_admin_import.h.
 *
 * JSON and CSV rows are both reduced to the same array of field strings, so
 * there is one validator and one error format whatever the file type.
 * Validation runs over every row before Redis is even contacted: an
 * operator fixing a file wants every problem in one pass, and a half-imported
 * file is worse than none.
 */
#include "gw_admin_import.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "car_route.h"
#include "cfg.h"
#include "csv.h"
#include "log.h"
#include "q.h"
#include "sig.h"
#include "util.h"

#define IMPORT_FILE_MAX (64u << 20) /* a registry file past this is a mistake */
#define CSV_MAX_COLS    16

enum col { C_MSISDN, C_CARRIER, C_ICCID, C_KV, C_CERT_FILE, C_CERT, C_STATUS, C_CS, C_COUNT };
static const char *const col_names[C_COUNT] = {"msisdn", "carrier", "iccid", "kv", "cert_file", "cert", "status", "cs"};
#define COL_LIST "msisdn, carrier, iccid, kv, cert_file, cert, status, cs"

struct row {
    unsigned no;
    struct q_sub sub;
    uint8_t *cert; /* DER, malloc'd */
    char label[LOG_MSISDN_BUFSZ];
    int bad;
};

struct import {
    const struct cfg *cfg;
    struct sig_trust *trust;
    char dir[512]; /* the import file's directory, for relative cert_file paths */
    struct row *rows;
    size_t n, cap;
    unsigned errors, warnings;
    time_t now;
};

static void row_msg(struct import *im, struct row *r, int is_error, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void row_msg(struct import *im, struct row *r, int is_error, const char *field, const char *fmt, ...)
{
    char what[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (r->no)
        fprintf(stderr, "%srow %u (msisdn %s): %s: %s\n", is_error ? "" : "warning: ", r->no, r->label, field, what);
    else
        fprintf(stderr, "%smsisdn %s: %s: %s\n", is_error ? "error: " : "warning: ", r->label, field, what);
    if (is_error) {
        r->bad = 1;
        im->errors++;
    } else {
        im->warnings++;
    }
}

static int read_file(const char *path, size_t max, char **out, size_t *outlen)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;
    int ret = -1;

    *out = NULL;
    if (!f)
        return -1;
    buf = malloc(max + 1);
    if (!buf)
        goto out;
    n = fread(buf, 1, max + 1, f);
    if (ferror(f))
        goto out;
    if (n > max) {
        errno = EFBIG;
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    buf = NULL;
    ret = 0;
out:
    free(buf);
    fclose(f);
    return ret;
}

/* Standard Luhn over every digit, check digit included. */
static int luhn_ok(const char *digits)
{
    size_t n = strlen(digits);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(digits[n - 1 - i] - '0');
        if (i % 2 == 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return sum % 10 == 0;
}

/* The DER of a certificate given as a file (DER or PEM) or as base64. */
static void load_cert(struct import *im, struct row *r, const char *file, const char *b64)
{
    char *data = NULL;
    size_t len = 0;
    char path[1024], why[160] = "";

    if (file) {
        if (file[0] == '/' || !im->dir[0])
            snprintf(path, sizeof(path), "%s", file);
        else
            snprintf(path, sizeof(path), "%s/%s", im->dir, file);
        if (read_file(path, SIG_CERT_MAX, &data, &len) != 0) {
            row_msg(im, r, 1, "cert_file", "cannot read %s: %s", path, strerror(errno));
            return;
        }
        /* PEM or DER: the signer's reading, as for every certificate an operator hands over. */
        if (sig_cert_to_der((const uint8_t *)data, len, SIG_CERT_FILE, &r->cert, &r->sub.cert_len, why, sizeof(why)) !=
            SIG_OK)
            row_msg(im, r, 1, "cert_file", "%s: %s", path, why);
        free(data);
        return;
    }
    if (sig_cert_to_der((const uint8_t *)b64, strlen(b64), SIG_CERT_BASE64, &r->cert, &r->sub.cert_len, why,
                        sizeof(why)) != SIG_OK)
        row_msg(im, r, 1, "cert", "%s", why);
}

/* Whether a carrier reaches some SIM by SMS (OTA keys needed): any SMPP link, or none of any kind. */
static int carrier_uses_ota(const struct cfg_carrier *c)
{
    if (!c || c->n_links == 0)
        return 1; /* not configured, or no link yet: nothing says the keys are not needed */
    for (size_t i = 0; i < c->n_links; i++)
        if (c->links[i].kind == CFG_TRANSPORT_SMPP)
            return 1;
    return 0;
}

/* The masked number that names a row in messages, from its raw msisdn field. */
static void set_label(struct row *r, const char *msisdn)
{
    char nbuf[CAR_MSISDN_LEN];

    if (!msisdn || !*msisdn)
        snprintf(r->label, sizeof(r->label), "%s", "(none)");
    else if (car_msisdn_normalise(msisdn, nbuf, NULL, 0) == CAR_OK)
        log_msisdn(nbuf, r->label);
    else
        log_msisdn(msisdn, r->label);
}

/* The cs column (0 | 1 | empty), after a "/cs" carrier has set r->sub.cs. */
static void cs_column(struct import *im, struct row *r, const char *cs)
{
    if (!cs || !*cs)
        return;
    if (strcmp(cs, "0") != 0 && strcmp(cs, "1") != 0)
        row_msg(im, r, 1, "cs", "must be 0 or 1 (1: the number in use moved onto the SIM PKI)");
    else if (r->sub.cs && cs[0] == '0')
        row_msg(im, r, 1, "cs", "is 0 but the carrier is written with /cs");
    else
        r->sub.cs = cs[0] == '1';
}

/* Validate one row's fields (NULL = absent) into r. */
static void check_row(struct import *im, struct row *r, const char *const v[C_COUNT])
{
    char why[256], nbuf[CAR_MSISDN_LEN], carrier[32];
    enum car_net prefix_net, net = CAR_NET_NONE;
    const char *s;
    int ota;

    set_label(r, v[C_MSISDN]);
    s = v[C_MSISDN];
    if (!s || !*s)
        row_msg(im, r, 1, "msisdn", "is required");
    else if (car_msisdn_normalise(s, nbuf, why, sizeof(why)) != CAR_OK)
        row_msg(im, r, 1, "msisdn", "%s", why);
    else
        snprintf(r->sub.msisdn, sizeof(r->sub.msisdn), "%s", nbuf);

    prefix_net = r->sub.msisdn[0] ? car_route_prefix(r->sub.msisdn) : CAR_NET_NONE;
    s = v[C_CARRIER];
    /* "viettel/cs": the carrier, and the number moved onto the SIM PKI (the cs column's 1). */
    if (s && strlen(s) >= 3 && strcasecmp(s + strlen(s) - 3, "/cs") == 0) {
        r->sub.cs = 1;
        snprintf(carrier, sizeof(carrier), "%.*s", (int)(strlen(s) - 3), s);
        s = carrier;
    }
    cs_column(im, r, v[C_CS]);
    if (s && *s) {
        net = car_net_parse(s);
        if (net == CAR_NET_NONE) {
            row_msg(im, r, 1, "carrier", "unknown carrier (viettel, vinaphone, mobifone, or empty to route by prefix)");
        } else if (r->sub.msisdn[0] && net != prefix_net) {
            row_msg(im, r, 0, "carrier", "%s differs from prefix routing (%s): treated as a ported number",
                    car_net_name(net), car_net_name(prefix_net));
        }
        r->sub.net = (int)net;
    } else if (r->sub.msisdn[0] && prefix_net == CAR_NET_NONE) {
        row_msg(im, r, 1, "carrier", "the prefix belongs to no supported network; give the carrier");
    }
    if (net == CAR_NET_NONE)
        net = prefix_net;
    if (net != CAR_NET_NONE && !cfg_carrier_by_net(im->cfg, (int)net))
        row_msg(im, r, 0, "carrier", "%s is not configured: the gateway cannot reach this subscriber yet",
                car_net_name(net));

    /* A SIM reached by SMS needs its ICCID and key version (OTA keys); one served by an MSSP has neither. */
    ota = net == CAR_NET_NONE || carrier_uses_ota(cfg_carrier_by_net(im->cfg, (int)net));
    s = v[C_ICCID];
    if ((!s || !*s) && !ota) {
        r->sub.iccid[0] = '\0';
    } else if (!s || !*s) {
        row_msg(im, r, 1, "iccid", "is required (the carrier reaches the SIM over SMPP)");
    } else if (strspn(s, "0123456789") != strlen(s) || strlen(s) < 18 || strlen(s) > 20) {
        row_msg(im, r, 1, "iccid", "must be 18-20 digits");
    } else {
        snprintf(r->sub.iccid, sizeof(r->sub.iccid), "%s", s);
        if (!luhn_ok(s))
            row_msg(im, r, 0, "iccid", "the Luhn check digit is wrong: a typo?");
    }

    s = v[C_KV];
    if ((!s || !*s) && !ota) {
        r->sub.kv = 0;
    } else if (!s || !*s) {
        row_msg(im, r, 1, "kv", "is required (the carrier reaches the SIM over SMPP)");
    } else {
        char *end;
        unsigned long kv;
        errno = 0;
        kv = strtoul(s, &end, 10);
        if (errno || *end || s[0] < '0' || s[0] > '9' || kv < 1 || kv > 15)
            row_msg(im, r, 1, "kv", "must be a key version 1..15");
        else
            r->sub.kv = (uint8_t)kv;
    }

    s = v[C_STATUS];
    if (!s || !*s)
        s = "active";
    if (strcmp(s, "active") != 0 && strcmp(s, "suspended") != 0 && strcmp(s, "revoked") != 0)
        row_msg(im, r, 1, "status", "must be active, suspended or revoked");
    else
        snprintf(r->sub.status, sizeof(r->sub.status), "%s", s);

    if (v[C_CERT_FILE] && *v[C_CERT_FILE] && v[C_CERT] && *v[C_CERT]) {
        row_msg(im, r, 1, "cert", "give either cert_file or cert, not both");
    } else if ((!v[C_CERT_FILE] || !*v[C_CERT_FILE]) && (!v[C_CERT] || !*v[C_CERT])) {
        row_msg(im, r, 1, "cert", "a certificate is required (cert_file or cert)");
    } else {
        load_cert(im, r, v[C_CERT_FILE] && *v[C_CERT_FILE] ? v[C_CERT_FILE] : NULL, v[C_CERT]);
        if (r->cert) {
            struct sig_pin pin;
            /* The new certificate's pin: a pinned subscriber whose pin differs is allowed to re-pin (q_sync_sub_put).
             */
            enum sig_err se = sig_cert_admit(im->trust, r->cert, r->sub.cert_len, im->now, &pin, why, sizeof(why));
            if (se != SIG_OK)
                row_msg(im, r, 1, "cert", "%s: %s", sig_strerror(se), why);
            else {
                memcpy(r->sub.pin_serial, pin.serial_hex, sizeof(r->sub.pin_serial));
                r->sub.pin_serial[sizeof(r->sub.pin_serial) - 1] = '\0';
                memcpy(r->sub.pin_spki, pin.spki_sha256, sizeof(r->sub.pin_spki));
                r->sub.pinned = 1;
            }
        }
    }
    r->sub.cert = r->cert;
}

static struct row *new_row(struct import *im)
{
    struct row *r;
    if (im->n == im->cap) {
        size_t cap = im->cap ? im->cap * 2 : 64;
        struct row *nr = realloc(im->rows, cap * sizeof(*nr));
        if (!nr)
            return NULL;
        im->rows = nr;
        im->cap = cap;
    }
    r = &im->rows[im->n++];
    memset(r, 0, sizeof(*r));
    r->no = (unsigned)im->n;
    return r;
}

static int load_json(struct import *im, const char *buf, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *obj;
    size_t i;
    int ret = -1;

    if (!root) {
        fprintf(stderr, "error: line %d column %d: %s\n", jerr.line, jerr.column, jerr.text);
        return -1;
    }
    if (!json_is_array(root)) {
        fprintf(stderr, "error: the JSON file must be an array of subscriber objects\n");
        goto out;
    }
    json_array_foreach(root, i, obj)
    {
        const char *v[C_COUNT] = {NULL};
        char kvbuf[24], csbuf[24];
        const char *key;
        json_t *jv;
        struct row *r = new_row(im);

        if (!r) {
            fprintf(stderr, "error: out of memory\n");
            goto out;
        }
        set_label(r, json_string_value(json_object_get(obj, "msisdn")));
        if (!json_is_object(obj)) {
            row_msg(im, r, 1, "row", "must be an object");
            continue;
        }
        json_object_foreach(obj, key, jv)
        {
            size_t c;
            for (c = 0; c < C_COUNT; c++)
                if (strcmp(key, col_names[c]) == 0)
                    break;
            if (c == C_COUNT) {
                /* A typo ("iccd") must not pass silently. */
                row_msg(im, r, 1, "row", "unknown field \"%.32s\" (" COL_LIST ")", key);
                continue;
            }
            if (json_is_string(jv)) {
                v[c] = json_string_value(jv);
            } else if ((c == C_KV || c == C_CS) && json_is_integer(jv)) {
                snprintf(c == C_KV ? kvbuf : csbuf, sizeof(kvbuf), "%lld", (long long)json_integer_value(jv));
                v[c] = c == C_KV ? kvbuf : csbuf;
            } else if (c == C_CS && json_is_boolean(jv)) {
                v[c] = json_is_true(jv) ? "1" : "0";
            } else if (!json_is_null(jv)) {
                row_msg(im, r, 1, col_names[c], "must be a string%s", c == C_KV || c == C_CS ? " or an integer" : "");
            }
        }
        check_row(im, r, v);
    }
    ret = 0;
out:
    json_decref(root);
    return ret;
}

/* buf has room for len + 1 octets (read_file), as config/csv wants. */
static int load_csv(struct import *im, char *buf, size_t len)
{
    struct csv *c = csv_new(buf, len, CSV_MAX_COLS);
    char **f;
    int colmap[CSV_MAX_COLS]; /* CSV column -> enum col */
    size_t nf, ncols, line;
    int have[C_COUNT] = {0}, ret = -1;
    enum csv_err e;

    if (!c) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    e = csv_next(c, &f, &nf, &line);
    if (e != CSV_OK) {
        fprintf(stderr, "error: the CSV file has no header row (msisdn,carrier,iccid,kv,cert_file,status)\n");
        goto out;
    }
    ncols = nf;
    for (size_t i = 0; i < nf; i++) {
        size_t k;
        for (k = 0; k < C_COUNT; k++)
            if (strcmp(f[i], col_names[k]) == 0)
                break;
        if (k == C_COUNT || have[k]) {
            fprintf(stderr, "error: CSV header column %zu: %s column (known: " COL_LIST ")\n", i + 1,
                    k == C_COUNT ? "unknown" : "duplicate");
            goto out;
        }
        have[k] = 1;
        colmap[i] = (int)k;
    }
    if (!have[C_MSISDN] || (!have[C_CERT_FILE] && !have[C_CERT])) {
        fprintf(stderr, "error: the CSV header needs msisdn and cert_file (or cert); iccid and kv for SMPP carriers\n");
        goto out;
    }
    for (;;) {
        const char *v[C_COUNT] = {NULL};
        struct row *r;

        e = csv_next(c, &f, &nf, &line);
        if (e == CSV_END)
            break;
        if (e == CSV_NOMEM) {
            fprintf(stderr, "error: out of memory\n");
            goto out;
        }
        if (e == CSV_OK && nf == 1 && f[0][0] == '\0')
            continue; /* blank line */
        r = new_row(im);
        if (!r) {
            fprintf(stderr, "error: out of memory\n");
            goto out;
        }
        set_label(r, NULL);
        for (size_t i = 0; e == CSV_OK && i < nf && i < ncols; i++)
            if (colmap[i] == C_MSISDN)
                set_label(r, f[i]);
        if (e == CSV_UNTERMINATED) {
            row_msg(im, r, 1, "row", "line %zu: a quote is unterminated", line);
            break; /* what follows is most likely the rest of that cell */
        }
        if (e == CSV_BAD) {
            row_msg(im, r, 1, "row", "line %zu: %s", line, csv_why(c));
            continue;
        }
        if (nf != ncols) {
            row_msg(im, r, 1, "row", "has %zu fields, the header has %zu", nf, ncols);
            continue;
        }
        for (size_t i = 0; i < nf; i++)
            v[colmap[i]] = f[i];
        check_row(im, r, v);
    }
    ret = 0;
out:
    csv_free(c);
    return ret;
}

static int cmp_row(const void *a, const void *b)
{
    const struct row *const *x = a, *const *y = b;
    int c = strcmp((*x)->sub.msisdn, (*y)->sub.msisdn);
    if (c)
        return c;
    return (*x)->no < (*y)->no ? -1 : 1;
}

/* A number twice in one file is an error on the later row: which one wins would be an accident. */
static int check_duplicates(struct import *im)
{
    struct row **idx = calloc(im->n ? im->n : 1, sizeof(*idx));
    size_t m = 0;

    if (!idx)
        return -1;
    for (size_t i = 0; i < im->n; i++)
        if (im->rows[i].sub.msisdn[0])
            idx[m++] = &im->rows[i];
    qsort(idx, m, sizeof(*idx), cmp_row);
    /* Sorted by number then row, so first is the earliest row of each run of equal numbers. */
    for (size_t i = 1, first = 0; i < m; i++) {
        if (strcmp(idx[i]->sub.msisdn, idx[first]->sub.msisdn) != 0) {
            first = i;
            continue;
        }
        row_msg(im, idx[i], 1, "msisdn", "duplicate of row %u", idx[first]->no);
    }
    free(idx);
    return 0;
}

enum gw_admin_exit gw_admin_import(const struct cfg *cfg, const char *path, int dry_run)
{
    struct import im;
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    struct q_sync *qs = NULL;
    char *buf = NULL, why[256];
    const char *slash, *p;
    size_t len = 0, written = 0, bad_rows = 0;
    enum sig_err se;

    memset(&im, 0, sizeof(im));
    im.cfg = cfg;
    im.now = time(NULL);
    slash = strrchr(path, '/');
    if (slash)
        snprintf(im.dir, sizeof(im.dir), "%.*s", (int)(slash - path == 0 ? 1 : slash - path), path);

    se = sig_trust_load(cfg->trust_anchors, cfg->intermediates[0] ? cfg->intermediates : NULL, &im.trust, why,
                        sizeof(why));
    if (se != SIG_OK) {
        fprintf(stderr, "error: trust anchors from %s: %s: %s\n", cfg->path, sig_strerror(se), why);
        goto out;
    }
    if (read_file(path, IMPORT_FILE_MAX, &buf, &len) != 0) {
        fprintf(stderr, "error: cannot read %s: %s\n", path, errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
        goto out;
    }
    for (p = buf; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
        ;
    if (*p == '[' || *p == '{') {
        if (load_json(&im, buf, len) != 0)
            goto out;
    } else if (load_csv(&im, buf, len) != 0) {
        goto out;
    }
    if (check_duplicates(&im) != 0) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    for (size_t i = 0; i < im.n; i++)
        bad_rows += im.rows[i].bad ? 1 : 0;
    if (im.n == 0) {
        fprintf(stderr, "error: %s holds no subscribers\n", path);
        goto out;
    }
    if (bad_rows) {
        fprintf(stderr, "error: %zu of %zu rows are invalid (%u problem%s); nothing was imported\n", bad_rows, im.n,
                im.errors, im.errors == 1 ? "" : "s");
        goto out;
    }
    if (dry_run) {
        printf("%zu subscribers valid (%u warnings); dry run, nothing written\n", im.n, im.warnings);
        ret = GW_ADMIN_OK;
        goto out;
    }
    if (q_sync_connect(&cfg->redis, &qs, why, sizeof(why)) != Q_OK) {
        fprintf(stderr, "error: redis: %s; nothing was imported\n", why);
        goto out;
    }
    for (size_t i = 0; i < im.n; i++) {
        enum q_err qe = q_sync_sub_put(qs, &im.rows[i].sub);
        if (qe != Q_OK) {
            /* Rows are independent: the file can simply be imported again. */
            fprintf(stderr, "error: row %u (msisdn %s): redis: %s; %zu of %zu rows were written before it\n",
                    im.rows[i].no, im.rows[i].label, q_strerror(qe), written, im.n);
            goto out;
        }
        written++;
    }
    printf("imported %zu subscribers\n", written);
    ret = GW_ADMIN_OK;
out:
    q_sync_free(qs);
    for (size_t i = 0; i < im.n; i++)
        free(im.rows[i].cert);
    free(im.rows);
    free(buf);
    sig_trust_free(im.trust);
    return ret;
}

enum gw_admin_exit gw_admin_import_cert(const struct cfg *cfg, struct sig_trust *trust, struct q_sync *qs,
                                        const struct q_sub *base, const uint8_t *der, size_t len)
{
    struct import im;
    struct row r;
    const char *v[C_COUNT] = {NULL};
    char kv[8], *b64 = util_b64_encode(der, len);
    enum gw_admin_exit ret = GW_ADMIN_FAIL;
    enum q_err qe;

    memset(&im, 0, sizeof(im));
    memset(&r, 0, sizeof(r));
    im.cfg = cfg;
    im.trust = trust;
    im.now = time(NULL);
    if (!b64) {
        fprintf(stderr, "error: out of memory\n");
        return GW_ADMIN_FAIL;
    }
    /* The record as a row of an import file: the same checks, the same messages (r.no 0: no row number). */
    snprintf(kv, sizeof(kv), "%u", (unsigned)base->kv);
    v[C_MSISDN] = base->msisdn;
    v[C_CARRIER] = base->net ? car_net_name((enum car_net)base->net) : NULL;
    v[C_ICCID] = base->iccid;
    v[C_KV] = base->kv ? kv : NULL;
    v[C_STATUS] = base->status[0] ? base->status : NULL;
    v[C_CS] = base->cs ? "1" : NULL; /* a new certificate does not move the number off the SIM PKI */
    v[C_CERT] = b64;
    check_row(&im, &r, v);
    if (r.bad)
        goto out;
    qe = q_sync_sub_put(qs, &r.sub);
    if (qe != Q_OK) {
        fprintf(stderr, "error: msisdn %s: redis: %s\n", r.label, q_strerror(qe));
        goto out;
    }
    ret = GW_ADMIN_OK;
out:
    free(r.cert);
    free(b64);
    return ret;
}
