/*
 * test_cfg.c - config/cfg.c, table-driven.
 *
 *   test_cfg CASES_DIR EXAMPLE_JSON
 *
 * Every cases/NAME.err is one invalid configuration, cases/NAME.json, and
 * what loading it must say.  The .err file's first line is
 *
 *     CODE SUBSTRING
 *
 * CODE is IO, SYNTAX or INVALID; the error text must contain SUBSTRING and
 * the path of the file loaded.  Each further line "!TEXT" is text the error
 * must NOT contain (a secret that must not be echoed).  "@DIR@" in a case is
 * replaced with a temporary directory holding the secret files written by
 * write_secrets().
 *
 * cases/ok-*.json are valid and checked field by field below.  The shipped
 * example config is loaded too, with its /etc/simpki secret paths pointed
 * at temporary files, so it cannot rot.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "check.h"
#include "log.h"

static char tmpdir[256];

/* buf = a/b<ext>; a test path never needs truncating, so that is fatal. */
static void mkpath(char *buf, size_t cap, const char *a, const char *b, const char *ext)
{
    int n = snprintf(buf, cap, "%s/%s%s", a, b, ext);
    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "path too long: %s/%s%s\n", a, b, ext);
        exit(1);
    }
}

static int write_file(const char *dir, const char *name, const char *data)
{
    char path[512];
    FILE *f;
    mkpath(path, sizeof path, dir, name, "");
    f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(data, f);
    return fclose(f);
}

/* The secret files the cases refer to as @DIR@/<name>. */
static void write_secrets(void)
{
    char longkey[302];
    memset(longkey, 'k', 300);
    longkey[300] = '\n';
    longkey[301] = '\0';
    CHECK(write_file(tmpdir, "redis.pass", "redis-secret\n") == 0);
    CHECK(write_file(tmpdir, "viettel.mk", "000102030405060708090a0b0c0d0e0f\r\n") == 0);
    CHECK(write_file(tmpdir, "smpp.pass", "pw8chars\nnot this line\n") == 0);
    CHECK(write_file(tmpdir, "rp.key", "token-of-rp-two\nsecond line is ignored\n") == 0);
    CHECK(write_file(tmpdir, "bad.mk", "not-a-key\n") == 0);
    CHECK(write_file(tmpdir, "empty", "") == 0);
    CHECK(write_file(tmpdir, "long.pass", "sup3rs3cr3t\n") == 0);
    CHECK(write_file(tmpdir, "long.key", longkey) == 0);
    CHECK(write_file(tmpdir, "ap.pwd", "ap-password\nnot this\n") == 0);
    CHECK(write_file(tmpdir, "cb.secret", "callback-secret-0123456789\n") == 0);
}

/* malloc'd contents of a file, NUL-terminated; NULL when unreadable. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            char *p;
            cap = cap ? 2 * cap : 8192;
            p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + n, 1, 4096, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Copy case `src` to `dst` with every "@DIR@" replaced by tmpdir. */
static int instantiate(const char *src, const char *dst)
{
    char *text = slurp(src);
    FILE *f;
    const char *p, *at;
    if (!text)
        return -1;
    f = fopen(dst, "w");
    if (!f) {
        free(text);
        return -1;
    }
    p = text;
    at = strstr(p, "@DIR@");
    while (at) {
        fwrite(p, 1, (size_t)(at - p), f);
        fputs(tmpdir, f);
        p = at + 5;
        at = strstr(p, "@DIR@");
    }
    fputs(p, f);
    free(text);
    return fclose(f);
}

static enum cfg_err code_of(const char *s)
{
    if (strcmp(s, "IO") == 0)
        return CFG_ERR_IO;
    if (strcmp(s, "SYNTAX") == 0)
        return CFG_ERR_SYNTAX;
    if (strcmp(s, "INVALID") == 0)
        return CFG_ERR_INVALID;
    return CFG_OK; /* never expected of a .err case */
}

static void run_error_case(const char *dir, const char *name)
{
    char errpath[512], src[512], dst[512], err[512];
    char *spec, *line, *next, *sp;
    struct cfg *cfg = (struct cfg *)1;
    enum cfg_err rc, want;

    mkpath(errpath, sizeof errpath, dir, name, ".err");
    mkpath(src, sizeof src, dir, name, ".json");
    mkpath(dst, sizeof dst, tmpdir, name, ".json");
    spec = slurp(errpath);
    CHECK(spec != NULL);
    if (!spec)
        return;
    CHECK(instantiate(src, dst) == 0);
    rc = cfg_load(dst, &cfg, err, sizeof err);
    CHECK(cfg == NULL);
    cfg_free(cfg); /* when the case wrongly loaded */
    line = spec;
    next = strchr(line, '\n');
    if (next)
        *next++ = '\0';
    sp = strchr(line, ' ');
    if (!sp) {
        fprintf(stderr, "%s: first line must be CODE SUBSTRING\n", errpath);
        CHECK(sp != NULL);
        free(spec);
        return;
    }
    *sp = '\0';
    want = code_of(line);
    if (rc != want || !strstr(err, sp + 1) || !strstr(err, dst)) {
        fprintf(stderr, "case %s: got %s \"%s\", want %s containing \"%s\" and the path\n", name, cfg_strerror(rc), err,
                line, sp + 1);
    }
    CHECK(want != CFG_OK);
    CHECK_EQ_INT(rc, want);
    CHECK(strstr(err, sp + 1) != NULL);
    CHECK(strstr(err, dst) != NULL);
    CHECK(strchr(err, '\n') == NULL); /* one line */
    while (next && *next) {
        line = next;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        if (line[0] != '!')
            continue;
        if (strstr(err, line + 1))
            fprintf(stderr, "case %s: error \"%s\" leaks \"%s\"\n", name, err, line + 1);
        CHECK(strstr(err, line + 1) == NULL);
    }
    free(spec);
    unlink(dst);
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void run_error_cases(const char *dir)
{
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, by_name);
    unsigned ran = 0;
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
        char name[256];
        size_t len = strlen(ents[i]->d_name);
        if (len > 4 && len - 4 < sizeof name && strcmp(ents[i]->d_name + len - 4, ".err") == 0) {
            memcpy(name, ents[i]->d_name, len - 4);
            name[len - 4] = '\0';
            run_error_case(dir, name);
            ran++;
        }
        free(ents[i]);
    }
    free(ents);
    CHECK(ran >= 60);
    printf("ran %u error cases\n", ran);
}

static struct cfg *load_ok(const char *dir, const char *name)
{
    char src[512], dst[512], err[512];
    struct cfg *cfg = NULL;
    enum cfg_err rc;
    mkpath(src, sizeof src, dir, name, ".json");
    mkpath(dst, sizeof dst, tmpdir, name, ".json");
    CHECK(instantiate(src, dst) == 0);
    rc = cfg_load(dst, &cfg, err, sizeof err);
    if (rc != CFG_OK)
        fprintf(stderr, "%s: %s\n", name, err);
    CHECK_EQ_INT(rc, CFG_OK);
    CHECK(rc != CFG_OK || cfg != NULL);
    CHECK(rc != CFG_OK || strcmp(cfg->path, dst) == 0);
    return rc == CFG_OK ? cfg : NULL;
}

static void sha256_of(const char *s, uint8_t md[32])
{
    unsigned int len = 0;
    CHECK(EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) == 1);
    CHECK_EQ_INT(len, 32);
}

static void test_full(const char *dir)
{
    static const uint8_t mk_viettel[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const uint8_t mk_vina[16] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
                                        0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
    uint8_t want[32], md[32];
    struct cfg *cfg = load_ok(dir, "ok-full");
    const struct cfg_carrier *vt, *vn, *mf;
    const struct cfg_smpp *l;
    const struct cfg_link *lk;

    if (!cfg)
        return;
    CHECK_EQ_STR(cfg->listen_host, "0.0.0.0");
    CHECK_EQ_INT(cfg->listen_port, 8443);
    CHECK_EQ_INT(cfg->max_body_bytes, 1048576);
    CHECK_EQ_INT(cfg->long_poll_max_s, 0);
    CHECK_EQ_INT(cfg->log_level, LOG_DEBUG);
    CHECK_EQ_INT(cfg->log_format, LOG_FMT_JSON);
    CHECK_EQ_INT(cfg->txn_timeout_s, 3600);
    CHECK_EQ_INT(cfg->txn_retention_s, 60);
    CHECK_EQ_INT(cfg->sweep_interval_ms, 50);
    CHECK_EQ_INT(cfg->user_timeout_s, 600);
    CHECK_EQ_INT(cfg->resubmit_lease_s, 2);
    CHECK_EQ_STR(cfg->trust_anchors, "/etc/simpki/trust/roots.pem");
    CHECK_EQ_STR(cfg->intermediates, "/etc/simpki/trust/issuing-cas.pem");

    CHECK_EQ_STR(cfg->redis.host, "redis.internal");
    CHECK_EQ_INT(cfg->redis.port, 6380);
    CHECK_EQ_STR(cfg->redis.unix_socket, "/run/redis/redis.sock");
    CHECK_EQ_STR(cfg->redis.password, "redis-secret"); /* first line, newline stripped */
    CHECK_EQ_INT(cfg->redis.db, 15);
    CHECK_EQ_INT(cfg->redis.shards, 256);
    CHECK_EQ_INT(cfg->redis.connect_timeout_ms, 10);

    CHECK_EQ_INT(cfg->n_apikeys, 2);
    CHECK_EQ_STR(cfg->apikeys[0].name, "eoffice-province");
    sha256_of("123", want); /* the config gives it in upper-case hex */
    CHECK_MEM(cfg->apikeys[0].sha256, want, 32);
    CHECK_EQ_STR(cfg->apikeys[1].name, "rp_2.test");
    sha256_of("token-of-rp-two", md); /* the first line of rp.key */
    CHECK_MEM(cfg->apikeys[1].sha256, md, 32);
    CHECK_EQ_INT(cfg->apikeys[0].revocation_soft, 0);
    CHECK_EQ_INT(cfg->apikeys[1].revocation_soft, 1);
    CHECK(cfg_apikey_by_name(cfg, "rp_2.test") == &cfg->apikeys[1]);
    CHECK(cfg_apikey_by_name(cfg, "nobody") == NULL);
    CHECK_EQ_INT(cfg->revocation_check, 0);
    CHECK_EQ_INT(cfg->revocation_timeout_ms, 2500);

    CHECK_EQ_INT(cfg->n_carriers, 3);
    vt = cfg_carrier_by_name(cfg, "viettel");
    vn = cfg_carrier_by_name(cfg, "vinaphone");
    mf = cfg_carrier_by_name(cfg, "mobifone");
    CHECK(vt == &cfg->carriers[0]);
    CHECK(vn == &cfg->carriers[1]);
    CHECK(mf == &cfg->carriers[2]);
    CHECK(cfg_carrier_by_name(cfg, "Viettel") == NULL);
    CHECK(cfg_carrier_by_name(cfg, "") == NULL);
    CHECK(cfg_carrier_by_net(cfg, 1) == vt); /* enum car_net */
    CHECK(cfg_carrier_by_net(cfg, 2) == vn);
    CHECK(cfg_carrier_by_net(cfg, 3) == mf);
    CHECK(cfg_carrier_by_net(cfg, 0) == NULL);
    CHECK(cfg_carrier_by_net(cfg, 4) == NULL);
    if (!vt || !vn || !mf) {
        cfg_free(cfg);
        return;
    }

    CHECK_EQ_STR(vt->service_number, "9191");
    CHECK_MEM(vt->ota_master_key, mk_viettel, 16); /* from a file ending in CRLF */
    CHECK_EQ_INT(vt->reassembly_timeout_s, 600);
    CHECK_EQ_INT(vt->n_links, 3);
    lk = &vt->links[0];
    l = &lk->u.smpp;
    CHECK_EQ_STR(lk->name, "viettel-a");
    CHECK_EQ_STR(lk->transport, "smpp"); /* the default */
    CHECK_EQ_INT(lk->kind, CFG_TRANSPORT_SMPP);
    CHECK_EQ_STR(l->host, "smsc1.viettel.example");
    CHECK_EQ_INT(l->port, 2775);
    CHECK_EQ_STR(l->system_id, "simpki");
    CHECK_EQ_STR(l->password, "pw8chars");
    CHECK_EQ_STR(l->system_type, "OTA");
    CHECK_EQ_INT(l->window, 1024);
    CHECK_EQ_INT(l->rate, 100000);
    CHECK_EQ_INT(l->enquire_link_s, 3600);
    CHECK_EQ_INT(l->response_timeout_s, 600);
    CHECK_EQ_INT(l->reconnect_min_ms, 600000);
    CHECK_EQ_INT(l->reconnect_max_ms, 600000);
    CHECK_EQ_INT(l->throttle_backoff_ms, 1);
    lk = &vt->links[1];
    l = &lk->u.smpp;
    CHECK_EQ_STR(lk->name, "viettel-2"); /* default: carrier-N */
    CHECK_EQ_INT(l->port, 65535);
    CHECK_EQ_STR(l->system_id, "abcdefghijklmno"); /* 15, the most that fits */
    CHECK_EQ_STR(l->password, "12345678");
    CHECK_EQ_STR(vt->links[2].name, "viettel-3");
    CHECK_EQ_INT(vt->links[2].u.smpp.port, 1);

    CHECK_EQ_STR(vn->service_number, "12345678901234567890");
    CHECK_MEM(vn->ota_master_key, mk_vina, 16);
    CHECK_EQ_INT(vn->n_links, 2);
    CHECK_EQ_STR(vn->links[1].name, "vina-2");
    CHECK_EQ_STR(vn->links[1].u.smpp.host, "10.0.0.2");
    CHECK_EQ_INT(mf->n_links, 1);
    CHECK_EQ_STR(mf->links[0].name, "mobifone-1");
    CHECK_EQ_INT(mf->links[0].u.smpp.reconnect_min_ms, 10);
    CHECK_EQ_INT(mf->links[0].u.smpp.reconnect_max_ms, 10);
    cfg_free(cfg);
}

/*
 * A carrier routed for several networks (an MSSP), links under "links" with a
 * transport, and a carrier without links that needs no OTA master key.
 */
static void test_route(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-route");
    const struct cfg_carrier *m;
    if (!cfg)
        return;
    CHECK_EQ_INT(cfg->n_carriers, 2);
    m = cfg_carrier_by_name(cfg, "mssp-a");
    CHECK(m != NULL);
    CHECK(cfg_carrier_by_net(cfg, 1) == m); /* viettel */
    CHECK(cfg_carrier_by_net(cfg, 2) == m); /* vinaphone */
    CHECK(cfg_carrier_by_net(cfg, 3) == cfg_carrier_by_name(cfg, "mobifone"));
    CHECK(cfg_carrier_by_net(cfg, 4) == NULL);
    if (m) {
        CHECK_EQ_INT(m->net, 1); /* the first network of the route */
        CHECK_EQ_INT(m->route_nets, (1u << 1) | (1u << 2));
        CHECK_EQ_INT(m->n_links, 1);
        CHECK_EQ_STR(m->links[0].name, "mssp-a-1");
        CHECK_EQ_STR(m->links[0].transport, "smpp");
        CHECK_EQ_INT(m->links[0].kind, CFG_TRANSPORT_SMPP);
        CHECK_EQ_STR(m->links[0].u.smpp.host, "10.0.0.9");
        CHECK_EQ_INT(m->links[0].u.smpp.port, 2775);
    }
    CHECK_EQ_INT(cfg->carriers[1].n_links, 0);
    cfg_free(cfg);
}

/* An MSSP carrier: two etsi204 links, every setting read, the second on defaults. */
static void test_etsi(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-etsi");
    const struct cfg_carrier *m;
    const struct cfg_etsi *a, *b;
    if (!cfg)
        return;
    m = cfg_carrier_by_name(cfg, "vgca");
    CHECK(m != NULL);
    if (!m) {
        cfg_free(cfg);
        return;
    }
    CHECK_EQ_INT(m->route_nets, (1u << 1) | (1u << 2) | (1u << 3));
    CHECK_EQ_STR(m->service_number, ""); /* only SMPP needs one */
    CHECK_EQ_INT(m->n_links, 2);
    CHECK_EQ_INT(m->links[0].kind, CFG_TRANSPORT_ETSI204);
    CHECK_EQ_STR(m->links[0].transport, "etsi204");
    CHECK_EQ_INT(m->links[0].priority, 1);
    CHECK_EQ_INT(m->links[1].priority, 2);
    a = &m->links[0].u.etsi;
    b = &m->links[1].u.etsi;
    CHECK_EQ_STR(a->url, "https://mssp.example:18083/soap/services/");
    CHECK_EQ_STR(a->ap_id, "http://simpki.example/ap");
    CHECK_EQ_STR(a->ap_pwd, "pw");
    CHECK_EQ_STR(a->ca_file, "/etc/simpki/mssp-ca.pem");
    CHECK_EQ_STR(a->cert_file, "/etc/simpki/ap.crt");
    CHECK_EQ_STR(a->key_file, "/etc/simpki/ap.key");
    CHECK_EQ_INT(a->mode, CFG_ETSI_SYNCH);
    CHECK_EQ_INT(a->format, CFG_ETSI_CMS);
    CHECK_EQ_INT(a->poll_min_ms, 200);
    CHECK_EQ_INT(a->poll_max_ms, 2000);
    CHECK_EQ_INT(a->receipt, 1);
    /* Defaults: asynch, PKCS#1, the vGCA profile and MSSP_ID, no receipt, http allowed without a CA. */
    CHECK_EQ_INT(b->mode, CFG_ETSI_ASYNCH);
    CHECK_EQ_INT(b->format, CFG_ETSI_PKCS1);
    CHECK_EQ_STR(b->mssp_id, "http://hmssp.mobile-id.vn");
    CHECK_EQ_STR(b->profile, "http://mobile-id.vn/digitalSignature");
    CHECK_EQ_INT(b->receipt, 0);
    CHECK_EQ_INT(b->max_in_flight, 64);
    CHECK_EQ_INT(b->breaker_errors, 5);
    CHECK_EQ_STR(b->ca_file, "");
    cfg_free(cfg);
}

/* Every key absent gets the default the reference documents. */
/* Relying parties (cfg_rp.c): defaults, AP credentials, callbacks and cfg_callback_check. */
static void test_rp(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-rp");
    const struct cfg_apikey *plain, *etsi, *filed, *in;
    uint8_t md[32];

    if (!cfg)
        return;
    CHECK_EQ_INT(cfg->n_apikeys, 4);
    plain = &cfg->apikeys[0];
    etsi = &cfg->apikeys[1];
    filed = &cfg->apikeys[2];
    in = &cfg->apikeys[3];
    /* Defaults: sign only, no AP, no callbacks. */
    CHECK_EQ_INT(plain->roles, CFG_ROLE_SIGN);
    CHECK_EQ_INT(plain->has_ap, 0);
    CHECK_EQ_STR(plain->ap_id, "");
    CHECK_EQ_INT(plain->cb_secret_len, 0);
    CHECK_EQ_INT(plain->n_cb_allow, 0);
    CHECK_EQ_INT(plain->cb_http, 0);
    CHECK_EQ_STR(cfg_callback_check(plain, "https://a.vn/"), "this relying party has no callback_allow");
    CHECK(cfg_apikey_by_ap_id(cfg, "") == NULL);
    CHECK(!cfg_ap_pwd_ok(plain, ""));
    /* Roles and AP credentials. */
    CHECK_EQ_INT(etsi->roles, CFG_ROLE_SIGN | CFG_ROLE_LOOKUP | CFG_ROLE_OPERATOR);
    CHECK_EQ_INT(etsi->has_ap, 1);
    CHECK(cfg_apikey_by_ap_id(cfg, "http://ap.simpki.test") == etsi);
    CHECK(cfg_apikey_by_ap_id(cfg, "ap-2") == filed);
    CHECK(cfg_apikey_by_ap_id(cfg, "AP-2") == NULL);
    CHECK(cfg_ap_pwd_ok(filed, "ap-password")); /* first line of ap.pwd, only its hash kept */
    CHECK(!cfg_ap_pwd_ok(filed, "ap-passwor"));
    CHECK(!cfg_ap_pwd_ok(filed, "ap-password\n"));
    sha256_of("ap-password", md);
    CHECK_MEM(filed->ap_pwd_sha256, md, 32);
    CHECK(!cfg_ap_pwd_ok(etsi, "ap-password"));
    /* Callbacks. */
    CHECK_EQ_INT(filed->cb_secret_len, strlen("callback-secret-0123456789"));
    CHECK_MEM(filed->cb_secret, "callback-secret-0123456789", filed->cb_secret_len);
    CHECK_EQ_INT(filed->n_cb_allow, 2);
    CHECK_EQ_INT(filed->cb_http, 1);
    CHECK_EQ_STR(filed->cb_allow[1], "http://10.0.0.1:8080/");
    CHECK(cfg_callback_check(filed, "https://a.vn/cb/x?y=1") == NULL);
    CHECK(cfg_callback_check(filed, "http://10.0.0.1:8080/hook") == NULL);
    CHECK_EQ_STR(cfg_callback_check(filed, "https://a.vn/other"),
                 "callback_url is not on this relying party's callback_allow list");
    CHECK_EQ_INT(in->cb_http, 0);
    CHECK(cfg_callback_check(in, "https://a.vn/x") == NULL);
    CHECK_EQ_STR(cfg_callback_check(in, "http://a.vn/x"), "callback_url must be https://");
    CHECK_EQ_STR(cfg_callback_check(in, "https://a.vn.evil.com/"),
                 "callback_url is not on this relying party's callback_allow list");
    CHECK_EQ_STR(cfg_callback_check(in, "https://a.vn/a b"),
                 "callback_url holds a space, a backslash or a control character");
    CHECK_EQ_STR(cfg_callback_check(in, "https://a.vn/\x01"),
                 "callback_url holds a space, a backslash or a control character");
    {
        char url[600];
        memset(url, 'x', sizeof url - 1);
        url[sizeof url - 1] = '\0';
        memcpy(url, "https://a.vn/", 13);
        CHECK_EQ_STR(cfg_callback_check(in, url), "callback_url is too long");
        url[512] = '\0'; /* 512 octets: the longest allowed */
        CHECK(cfg_callback_check(in, url) == NULL);
    }
    cfg_free(cfg);
}

/* redis.sentinels and the WAIT settings; without them, no sentinel and WAIT off (test_defaults). */
static void test_sentinel(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-sentinel");
    if (!cfg)
        return;
    CHECK_EQ_INT(cfg->redis.n_sentinels, 3);
    CHECK_EQ_STR(cfg->redis.sentinels[0].host, "127.0.0.1");
    CHECK_EQ_INT(cfg->redis.sentinels[0].port, 26379);
    CHECK_EQ_STR(cfg->redis.sentinels[1].host, "::1"); /* [v6]:port */
    CHECK_EQ_INT(cfg->redis.sentinels[1].port, 26380);
    CHECK_EQ_STR(cfg->redis.sentinels[2].host, "sentinel-3.internal");
    CHECK_EQ_INT(cfg->redis.sentinels[2].port, 26381);
    CHECK_EQ_STR(cfg->redis.master_name, "simpki");
    CHECK_EQ_STR(cfg->redis.sentinel_password, "redis-secret"); /* from sentinel_password_file */
    CHECK_EQ_INT(cfg->redis.wait_replicas, 1);
    CHECK_EQ_INT(cfg->redis.wait_timeout_ms, 250);
    cfg_free(cfg);
}

/* Overload control: "limits" and a key's own bounds (gateway/api/gw_admit.h). */
static void test_limits(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-limits");
    if (!cfg)
        return;
    CHECK_EQ_INT(cfg->limits.max_in_flight, 500);
    CHECK_EQ_INT(cfg->limits.max_in_flight_per_rp, 50);
    CHECK_EQ_INT(cfg->limits.retry_after_s, 3);
    CHECK_EQ_INT(cfg->limits.max_long_polls, 0);
    CHECK_EQ_INT(cfg->apikeys[0].max_in_flight, 20);
    CHECK_EQ_INT(cfg->apikeys[0].rate_per_s, 100);
    cfg_free(cfg);
}

/* "archive" (docs/archive.md): every setting, the defaults, and anchoring without a TSA. */
static void test_archive(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-archive");
    if (cfg) {
        const struct cfg_archive *a = &cfg->archive;
        CHECK_EQ_INT(a->enabled, 1);
        CHECK_EQ_STR(a->conninfo, "host=/run/postgresql dbname=simpki user=simpki");
        CHECK_EQ_STR(a->password, "redis-secret"); /* first line of password_file */
        CHECK_EQ_INT(a->batch, 200);
        CHECK_EQ_INT(a->poll_ms, 50);
        CHECK_EQ_INT(a->claim_idle_s, 5);
        CHECK(a->max_backlog == 5000000000ULL);  /* past 32 bits */
        CHECK_EQ_INT(a->anchor_interval_s, 600); /* the default, with a TSA */
        CHECK_EQ_INT(a->retention_sign_years, 7);
        CHECK_EQ_INT(a->retention_cert_years, 20);
        cfg_free(cfg);
    }
    /* Without tsa_url and without anchor_interval_s the default gives way: no anchors. */
    cfg = load_ok(dir, "ok-archive-no-tsa");
    if (cfg) {
        const struct cfg_archive *a = &cfg->archive;
        CHECK_EQ_INT(a->enabled, 1);
        CHECK_EQ_STR(a->password, "");
        CHECK_EQ_INT(a->batch, 500);
        CHECK_EQ_INT(a->poll_ms, 200);
        CHECK_EQ_INT(a->claim_idle_s, 30);
        CHECK(a->max_backlog == 1000000);
        CHECK_EQ_INT(a->anchor_interval_s, 0);
        CHECK_EQ_INT(a->retention_sign_years, 10);
        CHECK_EQ_INT(a->retention_cert_years, 20);
        cfg_free(cfg);
    }
    /* No section: off. */
    cfg = load_ok(dir, "ok-defaults");
    if (cfg) {
        CHECK_EQ_INT(cfg->archive.enabled, 0);
        cfg_free(cfg);
    }
}

static void test_defaults(const char *dir)
{
    struct cfg *cfg = load_ok(dir, "ok-defaults");
    const struct cfg_smpp *l;
    const struct cfg_link *lk;
    if (!cfg)
        return;
    CHECK_EQ_STR(cfg->listen_host, "127.0.0.1");
    CHECK_EQ_INT(cfg->listen_port, 8080);
    CHECK_EQ_INT(cfg->max_body_bytes, 16384);
    CHECK_EQ_INT(cfg->long_poll_max_s, 60);
    CHECK_EQ_INT(cfg->log_level, LOG_INFO);
    CHECK_EQ_INT(cfg->log_format, LOG_FMT_TEXT);
    CHECK_EQ_INT(cfg->txn_timeout_s, 180);
    CHECK_EQ_INT(cfg->txn_retention_s, 86400);
    CHECK_EQ_INT(cfg->sweep_interval_ms, 500);
    CHECK_EQ_INT(cfg->user_timeout_s, 120);
    CHECK_EQ_INT(cfg->resubmit_lease_s, 30);
    CHECK_EQ_INT(cfg->revocation_check, 1);
    CHECK_EQ_INT(cfg->revocation_timeout_ms, 5000);
    CHECK_EQ_STR(cfg->intermediates, "");
    CHECK_EQ_STR(cfg->redis.host, "127.0.0.1");
    CHECK_EQ_INT(cfg->redis.port, 6379);
    CHECK_EQ_STR(cfg->redis.unix_socket, "");
    CHECK_EQ_STR(cfg->redis.password, "");
    CHECK_EQ_INT(cfg->redis.db, 0);
    CHECK_EQ_INT(cfg->redis.shards, 16);
    CHECK_EQ_INT(cfg->redis.connect_timeout_ms, 2000);
    CHECK_EQ_INT(cfg->redis.n_sentinels, 0);
    CHECK_EQ_STR(cfg->redis.master_name, "");
    CHECK_EQ_INT(cfg->redis.wait_replicas, 0);
    CHECK_EQ_INT(cfg->redis.wait_timeout_ms, 500);
    CHECK_EQ_INT(cfg->limits.max_in_flight, 10000);
    CHECK_EQ_INT(cfg->limits.max_in_flight_per_rp, 0);
    CHECK_EQ_INT(cfg->limits.retry_after_s, 1);
    CHECK_EQ_INT(cfg->limits.max_long_polls, 4096);
    CHECK_EQ_INT(cfg->apikeys[0].max_in_flight, 0);
    CHECK_EQ_INT(cfg->apikeys[0].rate_per_s, 0);
    CHECK_EQ_INT(cfg->n_apikeys, 1);
    CHECK_EQ_INT(cfg->n_carriers, 1);
    CHECK_EQ_INT(cfg->carriers[0].net, 3);
    CHECK_EQ_INT(cfg->carriers[0].reassembly_timeout_s, 60);
    CHECK(cfg_carrier_by_net(cfg, 1) == NULL);
    CHECK(cfg_carrier_by_name(cfg, "viettel") == NULL);
    lk = &cfg->carriers[0].links[0];
    l = &lk->u.smpp;
    CHECK_EQ_STR(lk->name, "mobifone-1");
    CHECK_EQ_STR(lk->transport, "smpp");
    CHECK_EQ_STR(cfg->carriers[0].route, "mobifone"); /* default: the name */
    CHECK_EQ_INT(cfg->carriers[0].route_nets, 1u << 3);
    CHECK_EQ_INT(l->port, 2775);
    CHECK_EQ_STR(l->password, "");
    CHECK_EQ_STR(l->system_type, "");
    CHECK_EQ_INT(l->window, 10);
    CHECK_EQ_INT(l->rate, 0);
    CHECK_EQ_INT(l->enquire_link_s, 30);
    CHECK_EQ_INT(l->response_timeout_s, 10);
    CHECK_EQ_INT(l->reconnect_min_ms, 500);
    CHECK_EQ_INT(l->reconnect_max_ms, 30000);
    CHECK_EQ_INT(l->throttle_backoff_ms, 1000);
    cfg_free(cfg);
}

static void test_missing_file(void)
{
    char path[512], err[512];
    struct cfg *cfg = (struct cfg *)1;
    mkpath(path, sizeof path, tmpdir, "no-such-config.json", "");
    CHECK_EQ_INT(cfg_load(path, &cfg, err, sizeof err), CFG_ERR_IO);
    CHECK(cfg == NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(strstr(err, "No such file") != NULL);
    /* A directory is not a config file either. */
    cfg = (struct cfg *)1;
    CHECK(cfg_load(tmpdir, &cfg, err, sizeof err) != CFG_OK);
    CHECK(cfg == NULL);
    CHECK(strstr(err, tmpdir) != NULL);
}

/* A short error buffer truncates the message, never overruns it. */
static void test_short_errbuf(const char *dir)
{
    char src[512], dst[512], err[16];
    struct cfg *cfg = NULL;
    mkpath(src, sizeof src, dir, "port-out-of-range.json", "");
    mkpath(dst, sizeof dst, tmpdir, "short.json", "");
    CHECK(instantiate(src, dst) == 0);
    memset(err, 'x', sizeof err);
    CHECK_EQ_INT(cfg_load(dst, &cfg, err, sizeof err), CFG_ERR_INVALID);
    CHECK(memchr(err, '\0', sizeof err) != NULL);
    unlink(dst);
}

static void test_strerror(void)
{
    CHECK_EQ_STR(cfg_strerror(CFG_OK), "ok");
    CHECK(strlen(cfg_strerror(CFG_ERR_IO)) > 0);
    CHECK(strlen(cfg_strerror(CFG_ERR_SYNTAX)) > 0);
    CHECK(strlen(cfg_strerror(CFG_ERR_INVALID)) > 0);
    CHECK(strlen(cfg_strerror(CFG_ERR_NOMEM)) > 0);
    CHECK(cfg_strerror((enum cfg_err)99) != NULL);
}

/* The reference names every setting a config may hold. */
static void check_mentions(const char *ref, json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char want[80];
        size_t n = strlen(key);
        snprintf(want, sizeof want, "%s", key);
        /* "<secret>_file" is documented under the secret's own name. */
        if (n > 5 && n - 5 < sizeof want && strcmp(key + n - 5, "_file") == 0 && strcmp(key, "key_file") != 0)
            want[n - 5] = '\0';
        if (!strstr(ref, want))
            fprintf(stderr, "reference does not mention %s\n", want);
        CHECK(strstr(ref, want) != NULL);
        if (json_is_object(v))
            check_mentions(ref, v);
        if (json_is_array(v) && json_is_object(json_array_get(v, 0)))
            check_mentions(ref, json_array_get(v, 0));
    }
}

static void test_reference(const char *example, const char *dir)
{
    static const char *const top[] = {"listen_host",
                                      "listen_port",
                                      "max_body_bytes",
                                      "long_poll_max_s",
                                      "log_level",
                                      "log_format",
                                      "transaction_timeout_s",
                                      "transaction_retention_s",
                                      "sweep_interval_ms",
                                      "user_timeout_s",
                                      "resubmit_lease_s",
                                      "trust_anchors",
                                      "intermediates",
                                      "redis",
                                      "carriers",
                                      "api_keys",
                                      NULL};
    char *ref = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&ref, &len);
    char path[512];
    json_t *j;

    CHECK(f != NULL);
    if (!f)
        return;
    cfg_print_reference(f);
    fclose(f);
    CHECK(len > 500);
    for (const char *const *k = top; *k; k++) {
        if (!strstr(ref, *k))
            fprintf(stderr, "reference does not mention %s\n", *k);
        CHECK(strstr(ref, *k) != NULL);
    }
    /* ... and every key the shipped example and the full case use. */
    j = json_load_file(example, 0, NULL);
    CHECK(j != NULL);
    if (j)
        check_mentions(ref, j);
    json_decref(j);
    for (const char *const *ok = (const char *const[]){"ok-full.json", "ok-sentinel.json", "ok-archive.json", NULL};
         *ok; ok++) {
        mkpath(path, sizeof path, dir, *ok, "");
        j = json_load_file(path, 0, NULL);
        CHECK(j != NULL);
        if (j)
            check_mentions(ref, j);
        json_decref(j);
    }
    /* Secrets' defaults or values never appear; the reference says how to give them. */
    CHECK(strstr(ref, "_file") != NULL);
    free(ref);
}

/* Point every "*_file" of the example at a fresh secret file in tmpdir. */
static void repoint_secrets(json_t *obj, unsigned *n)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t klen = strlen(key);
        if (json_is_string(v) && klen > 5 && strcmp(key + klen - 5, "_file") == 0) {
            char name[64], path[512], token[48];
            const char *content = "s3cret\n"; /* fits an SMPP password */
            if (strcmp(key, "ota_master_key_file") == 0) {
                content = "0f0e0d0c0b0a09080706050403020100\n";
            } else if (strcmp(key, "key_file") == 0) {
                /* Each API key its own token: two keys with one hash are refused. */
                snprintf(token, sizeof token, "example-token-%u\n", *n);
                content = token;
            }
            snprintf(name, sizeof name, "example-%u", (*n)++);
            mkpath(path, sizeof path, tmpdir, name, "");
            CHECK(write_file(tmpdir, name, content) == 0);
            CHECK(json_object_set_new(obj, key, json_string(path)) == 0);
        } else if (json_is_object(v)) {
            repoint_secrets(v, n);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (json_is_object(e))
                    repoint_secrets(e, n);
            }
        }
    }
}

static void test_example(const char *example)
{
    json_error_t jerr;
    json_t *j = json_load_file(example, JSON_REJECT_DUPLICATES, &jerr);
    char path[512], err[512];
    struct cfg *cfg = NULL;
    unsigned n = 0;
    uint8_t md[32];
    enum cfg_err rc;

    if (!j)
        fprintf(stderr, "%s:%d: %s\n", example, jerr.line, jerr.text);
    CHECK(j != NULL);
    if (!j)
        return;
    repoint_secrets(j, &n);
    CHECK(n >= 5); /* redis, api key, and per carrier a key and a password */
    mkpath(path, sizeof path, tmpdir, "example.json", "");
    CHECK(json_dump_file(j, path, JSON_INDENT(2)) == 0);
    json_decref(j);
    rc = cfg_load(path, &cfg, err, sizeof err);
    if (rc != CFG_OK)
        fprintf(stderr, "example: %s\n", err);
    CHECK_EQ_INT(rc, CFG_OK);
    if (!cfg)
        return;
    CHECK_EQ_INT(cfg->n_carriers, 3);
    CHECK(cfg_carrier_by_name(cfg, "viettel") != NULL);
    CHECK(cfg_carrier_by_name(cfg, "vinaphone") != NULL);
    CHECK(cfg_carrier_by_name(cfg, "mobifone") != NULL);
    CHECK_EQ_INT(cfg->n_apikeys, 2);
    CHECK_EQ_STR(cfg->redis.password, "s3cret");
    /* The e-office key signs; the registration office's key handles requests. */
    CHECK_EQ_INT(cfg->apikeys[0].roles, CFG_ROLE_SIGN);
    CHECK_EQ_INT(cfg->apikeys[1].roles, CFG_ROLE_ENROL | CFG_ROLE_OPERATOR);
    {
        int found = 0;
        for (unsigned u = 0; u < n; u++) {
            char token[48];
            snprintf(token, sizeof token, "example-token-%u", u);
            sha256_of(token, md);
            found |= memcmp(cfg->apikeys[0].sha256, md, 32) == 0;
        }
        CHECK(found); /* the hash of the token in its key_file, nothing else */
    }
    for (size_t i = 0; i < cfg->n_carriers; i++) {
        CHECK(cfg->carriers[i].n_links >= 1);
        CHECK_EQ_STR(cfg->carriers[i].links[0].u.smpp.password, "s3cret");
        CHECK_EQ_INT(cfg->carriers[i].ota_master_key[0], 0x0f);
    }
    cfg_free(cfg);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* cfg_free(NULL) does nothing (cfg.h): run it in a child, so that a crash
 * there is one failed check rather than the end of the test. */
static void test_free_null(void)
{
    int status = -1;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        cfg_free(NULL);
        _exit(0);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s CASES_DIR EXAMPLE_JSON\n", argv[0]);
        return 2;
    }
    snprintf(tmpdir, sizeof tmpdir, "%s/test_cfg.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    write_secrets();
    run_error_cases(argv[1]);
    test_full(argv[1]);
    test_defaults(argv[1]);
    test_sentinel(argv[1]);
    test_archive(argv[1]);
    test_limits(argv[1]);
    test_route(argv[1]);
    test_etsi(argv[1]);
    test_rp(argv[1]);
    test_missing_file();
    test_short_errbuf(argv[1]);
    test_strerror();
    test_reference(argv[2], argv[1]);
    test_example(argv[2]);
    test_free_null();
    nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return check_report("test_cfg");
}
