/*
 * gw_admin.c - simpki-admin: the operator's command line.
 *
 * Commands are dispatched from one table; each returns an exit code of
 * enum gw_admin_exit.  Registry commands talk to Redis synchronously through
 * q_sync; the decoders need no Redis and no configuration unless keys are
 * taken from a configured carrier.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "car_route.h"
#include "cfg.h"
#include "gw_admin.h"
#include "gw_admin_archive.h"
#include "gw_admin_decode.h"
#include "gw_admin_events.h"
#include "gw_admin_fetch.h"
#include "gw_admin_import.h"
#include "gw_admin_plan.h"
#include "gw_admin_requests.h"
#include "log.h"
#include "q.h"
#include "sig.h"
#include "util.h"

#ifndef SIMPKI_VERSION
#define SIMPKI_VERSION "unknown"
#endif

#define MAX_SEGMENTS_ARGS 16 /* 8 segments, each possibly given twice */

static const char usage_text[] =
    "usage: simpki-admin [-c CONFIG] COMMAND [ARGS]\n"
    "\n"
    "Registry (need -c CONFIG):\n"
    "  import [--dry-run] FILE   load subscribers from JSON or CSV; every row is\n"
    "                            validated first and nothing is written unless all are valid\n"
    "  show MSISDN               print a registry entry and its certificate\n"
    "  delete MSISDN             remove a registry entry\n"
    "  fetch-cert MSISDN [MSISDN...]\n"
    "                            ask the number's signature service (an etsi204 link of its\n"
    "                            carrier: MSS_Registration) for its certificate and write it\n"
    "                            with import's checks: a new subscriber is added, an existing\n"
    "                            one refreshed (a new certificate may re-pin); exit 1 when\n"
    "                            any number failed\n"
    "\n"
    "Certificate requests (need -c CONFIG):\n"
    "  import-requests [--dry-run] [--form FORM] FILE.csv\n"
    "                            file requests from a spreadsheet export: a header row of\n"
    "                            field paths (form,unit,subscriber.full_name,subscriber.phone,\n"
    "                            sim_pki,organisation.code,devices[0].serial,...); every row is\n"
    "                            checked as POST /v1/requests checks it and nothing is written\n"
    "                            unless all are valid; FORM (person_new, org_new, change,\n"
    "                            revoke, handover) is the form of rows that name none\n"
    "\n"
    "Decoders:\n"
    "  decode-pdu [--unmask] HEX one SMPP PDU, layer by layer (addresses masked\n"
    "                            unless --unmask)\n"
    "  decode-ud [--carrier NAME | --mk HEX32] [--iccid ICCID] [--kv N] HEX [HEX...]\n"
    "                            SMS user data segments (any order) down to SPKA/1;\n"
    "                            with keys (a configured carrier's master key, or --mk)\n"
    "                            and the ICCID, the packet is decrypted and its CC checked;\n"
    "                            --kv defaults to the command's KIc (1 for a response)\n"
    "\n"
    "Evidence archive (need -c CONFIG with an \"archive\" section; see docs/archive.md):\n"
    "  verify-archive [--chain NAME] [--json]\n"
    "                            check every chain row by row: seq without gaps, prev_hash\n"
    "                            and row_hash recomputed, search columns against the body,\n"
    "                            the head, every anchor's timestamp token (tsa_trust) and\n"
    "                            every certificate; names the first broken row of a chain;\n"
    "                            exit 1 when anything is broken\n"
    "\n"
    "Merger plans (through the daemon's API; see docs/merger.md):\n";

/* After the plan commands' lines (gw_admin_plan_usage). */
static const char usage_tail[] =
    "\n"
    "API keys:\n"
    "  hash-key [TOKEN|-]        SHA-256 of TOKEN for api_keys[].sha256 (- reads it from\n"
    "                            stdin); with no TOKEN, generate one\n"
    "  help                      this text (also -h, --help; --version prints the version)\n"
    "\n"
    "Import file fields: msisdn, carrier (viettel|vinaphone|mobifone, empty = by prefix),\n"
    "iccid (18-20 digits), kv (1..15) (both only for a carrier with an SMPP link), cert_file (DER or PEM, relative to "
    "the file) or\n"
    "cert (base64 DER), status (active|suspended|revoked, default active).\n"
    "\n"
    "Examples:\n"
    "  simpki-admin -c /etc/simpki/simpki.json import --dry-run officials.csv\n"
    "  simpki-admin -c /etc/simpki/simpki.json import officials.json\n"
    "  simpki-admin -c /etc/simpki/simpki.json import-requests --form person_new so-noi-vu.csv\n"
    "  simpki-admin -c /etc/simpki/simpki.json show 0961234567\n"
    "  simpki-admin -c /etc/simpki/simpki.json delete 84961234567\n"
    "  simpki-admin -c /etc/simpki/simpki.json fetch-cert 0961234567 0912345678\n"
    "  simpki-admin decode-pdu 0000001000000015000000000000002a\n"
    "  simpki-admin -c /etc/simpki/simpki.json decode-ud --carrier viettel \\\n"
    "      --iccid 8984040000000000019 0500032a0202cfc38cb1f9e0 0700032a0201...\n"
    "  simpki-admin decode-ud --mk 000102030405060708090a0b0c0d0e0f \\\n"
    "      --iccid 8984040000000000019 02710000241253504b...\n"
    "  SIMPKI_API_KEY=$(cat ~/.simpki-operator) simpki-admin -c /etc/simpki/simpki.json \\\n"
    "      plan build --reorg sap-nhap.csv --staff can-bo.csv --name \"Sáp nhập 2025\" --deadline 2026-03-31\n"
    "  simpki-admin plan --api https://gw.example/ --key-file ~/.simpki-operator show p0123456789ab --action decide\n"
    "  simpki-admin -c /etc/simpki/simpki.json verify-archive --chain sign/2026-12\n"
    "  simpki-admin -c /etc/simpki/simpki.json events --msisdn 0961234567 --from 2026-01-01 --to 2026-01-31\n"
    "  simpki-admin -c /etc/simpki/simpki.json events --serial 0a:1b:2c --csv > found.csv\n"
    "  simpki-admin -c /etc/simpki/simpki.json archive-export --kind sign --month 2016-01 --out sign-2016-01.csv\n"
    "  simpki-admin hash-key                # new token and its hash\n"
    "  printf %s \"$TOKEN\" | simpki-admin hash-key -\n"
    "\n"
    "Exit status: 0 ok, 1 failure, 2 usage error.\n";

/* "error: MSG ARG" and a pointer to the help; arg may be NULL. */
static void print_usage(FILE *f)
{
    fputs(usage_text, f);
    fputs(gw_admin_plan_usage, f);
    fputs(gw_admin_events_usage, f);
    fputs(usage_tail, f);
}

static enum gw_admin_exit usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "error: %s%s%s\n(simpki-admin help shows the commands)\n", msg, arg ? " " : "", arg ? arg : "");
    return GW_ADMIN_USAGE;
}

enum gw_admin_exit gw_admin_load_cfg(const char *path, struct cfg **cfg)
{
    char err[512];
    *cfg = NULL;
    if (!path)
        return usage_error("this command needs -c CONFIG", NULL);
    if (cfg_load(path, cfg, err, sizeof(err)) != CFG_OK) {
        fprintf(stderr, "error: %s\n", err);
        return GW_ADMIN_FAIL;
    }
    return GW_ADMIN_OK;
}

static enum gw_admin_exit normalise_arg(const char *in, char out[CAR_MSISDN_LEN])
{
    char why[128];
    if (car_msisdn_normalise(in, out, why, sizeof(why)) != CAR_OK) {
        fprintf(stderr, "error: not a subscriber number: %s\n", why);
        return GW_ADMIN_FAIL;
    }
    return GW_ADMIN_OK;
}

static void print_time(const char *name, time_t t)
{
    struct tm tm;
    char buf[32] = "?";
    if (gmtime_r(&t, &tm))
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("  %-12s %s\n", name, buf);
}

static enum gw_admin_exit cmd_import(const char *cfg_path, int argc, char **argv)
{
    struct cfg *cfg = NULL;
    const char *file = NULL;
    int dry_run = 0;
    enum gw_admin_exit ret;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = 1;
        else if (!file && argv[i][0] != '-')
            file = argv[i];
        else
            return usage_error("import: unexpected argument", argv[i]);
    }
    if (!file)
        return usage_error("import: which FILE?", NULL);
    ret = gw_admin_load_cfg(cfg_path, &cfg);
    if (ret == GW_ADMIN_OK)
        ret = gw_admin_import(cfg, file, dry_run);
    cfg_free(cfg);
    return ret;
}

static enum gw_admin_exit cmd_fetch_cert(const char *cfg_path, int argc, char **argv)
{
    struct cfg *cfg = NULL;
    enum gw_admin_exit ret;

    if (argc < 1)
        return usage_error("fetch-cert: which MSISDN?", NULL);
    ret = gw_admin_load_cfg(cfg_path, &cfg);
    if (ret == GW_ADMIN_OK)
        ret = gw_admin_fetch_cert(cfg, argc, argv);
    cfg_free(cfg);
    return ret;
}

static enum gw_admin_exit cmd_import_requests(const char *cfg_path, int argc, char **argv)
{
    struct cfg *cfg = NULL;
    const char *file = NULL, *form = NULL;
    int dry_run = 0;
    enum gw_admin_exit ret;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dry-run") == 0)
            dry_run = 1;
        else if (strcmp(argv[i], "--form") == 0 && i + 1 < argc && !form)
            form = argv[++i];
        else if (!file && argv[i][0] != '-')
            file = argv[i];
        else
            return usage_error("import-requests: unexpected argument", argv[i]);
    }
    if (!file)
        return usage_error("import-requests: which FILE.csv?", NULL);
    ret = gw_admin_load_cfg(cfg_path, &cfg);
    if (ret == GW_ADMIN_OK)
        ret = gw_admin_import_requests(cfg, file, form, dry_run);
    cfg_free(cfg);
    return ret;
}

/*
 * What show and delete start with: the number normalised, the configuration
 * loaded and the registry connected.  On failure the message is printed;
 * whatever was opened is left in *cfg / *qs for the caller to free.
 */
static enum gw_admin_exit open_registry(const char *cfg_path, const char *arg, char msisdn[CAR_MSISDN_LEN],
                                        struct cfg **cfg, struct q_sync **qs)
{
    char why[256];
    enum gw_admin_exit ret = normalise_arg(arg, msisdn);

    if (ret != GW_ADMIN_OK)
        return ret;
    ret = gw_admin_load_cfg(cfg_path, cfg);
    if (ret != GW_ADMIN_OK)
        return ret;
    if (q_sync_connect(&(*cfg)->redis, qs, why, sizeof(why)) != Q_OK) {
        fprintf(stderr, "error: redis: %s\n", why);
        return GW_ADMIN_FAIL;
    }
    return GW_ADMIN_OK;
}

static enum gw_admin_exit cmd_show(const char *cfg_path, int argc, char **argv)
{
    struct cfg *cfg = NULL;
    struct q_sync *qs = NULL;
    struct sig_trust *trust = NULL;
    struct q_sub sub;
    struct sig_cert_info ci;
    uint8_t *cert = NULL;
    char msisdn[CAR_MSISDN_LEN], why[256];
    enum gw_admin_exit ret;
    enum q_err qe;
    enum sig_err se;

    if (argc != 1)
        return usage_error("show takes one MSISDN", NULL);
    ret = open_registry(cfg_path, argv[0], msisdn, &cfg, &qs);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    qe = q_sync_sub_get(qs, msisdn, &sub, &cert);
    if (qe != Q_OK) {
        /* The operator typed this number and asked for it: echoing it is fine. */
        fprintf(stderr, "error: %s: %s\n", msisdn, qe == Q_ERR_NOT_FOUND ? "no such subscriber" : q_strerror(qe));
        goto out;
    }
    printf("msisdn         %s\n", sub.msisdn);
    if (sub.net != CAR_NET_NONE)
        printf("carrier        %s (set in the registry)\n", car_net_name((enum car_net)sub.net));
    else
        printf("carrier        %s (by prefix)\n", car_net_name(car_route_prefix(sub.msisdn)));
    printf("iccid          %s\n", sub.iccid[0] ? sub.iccid : "none (reached through a signature service)");
    printf("kv             %u\n", sub.kv);
    /* The counter the next command goes above: what a SIM answering CNTR low compares with. */
    printf("ota counter    %llu (last used for this SIM; never goes down, also across delete and import)\n",
           (unsigned long long)sub.cntr);
    printf("status         %s\n", sub.status);
    if (sub.pinned) {
        char spki[65];
        util_hex(sub.pin_spki, sizeof(sub.pin_spki), spki);
        printf("pinned         serial %s, key SHA-256 %s\n", sub.pin_serial, spki);
    } else {
        printf("pinned         no (the next signature pins its certificate)\n");
    }
    if (sub.repin)
        printf("repin          yes: the certificate was replaced; the next signature re-pins\n");
    if (sub.cs)
        printf("sim pki        yes (cs): the number in use was moved onto the SIM PKI\n");
    if (!cert || sub.cert_len == 0) {
        printf("certificate    none\n");
        ret = GW_ADMIN_OK;
        goto out;
    }
    se = sig_cert_info(cert, sub.cert_len, &ci);
    if (se != SIG_OK) {
        fprintf(stderr, "error: the stored certificate (%zu octets) does not parse: %s\n", sub.cert_len,
                sig_strerror(se));
        goto out;
    }
    printf("certificate    %zu octets, %s\n", sub.cert_len, ci.key_type);
    printf("  subject      %s\n", ci.subject);
    printf("  issuer       %s\n", ci.issuer);
    printf("  serial       %s\n", ci.serial_hex);
    print_time("not before", ci.not_before);
    print_time("not after", ci.not_after);
    /* Whether it would be accepted today: the usual reason to look a subscriber up. */
    se =
        sig_trust_load(cfg->trust_anchors, cfg->intermediates[0] ? cfg->intermediates : NULL, &trust, why, sizeof(why));
    if (se == SIG_OK)
        se = sig_check_cert(trust, cert, sub.cert_len, time(NULL), why, sizeof(why));
    if (se == SIG_OK)
        printf("  check now    ok\n");
    else
        printf("  check now    %s: %s\n", sig_strerror(se), why);
    ret = GW_ADMIN_OK;
out:
    free(cert);
    sig_trust_free(trust);
    q_sync_free(qs);
    cfg_free(cfg);
    return ret;
}

static enum gw_admin_exit cmd_delete(const char *cfg_path, int argc, char **argv)
{
    struct cfg *cfg = NULL;
    struct q_sync *qs = NULL;
    char msisdn[CAR_MSISDN_LEN], masked[LOG_MSISDN_BUFSZ];
    enum gw_admin_exit ret;
    enum q_err qe;

    if (argc != 1)
        return usage_error("delete takes one MSISDN", NULL);
    ret = open_registry(cfg_path, argv[0], msisdn, &cfg, &qs);
    if (ret != GW_ADMIN_OK)
        goto out;
    ret = GW_ADMIN_FAIL;
    log_msisdn(msisdn, masked);
    qe = q_sync_sub_del(qs, msisdn);
    if (qe != Q_OK) {
        fprintf(stderr, "error: %s: %s\n", masked, qe == Q_ERR_NOT_FOUND ? "no such subscriber" : q_strerror(qe));
        goto out;
    }
    printf("deleted %s\n", masked);
    ret = GW_ADMIN_OK;
out:
    q_sync_free(qs);
    cfg_free(cfg);
    return ret;
}

static enum gw_admin_exit cmd_decode_pdu(const char *cfg_path, int argc, char **argv)
{
    const char *hex = NULL;
    int unmask = 0;

    (void)cfg_path;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--unmask") == 0)
            unmask = 1;
        else if (!hex && argv[i][0] != '-')
            hex = argv[i];
        else
            return usage_error("decode-pdu: unexpected argument", argv[i]);
    }
    if (!hex)
        return usage_error("decode-pdu: which HEX?", NULL);
    return gw_admin_decode_pdu(hex, unmask);
}

static enum gw_admin_exit cmd_decode_ud(const char *cfg_path, int argc, char **argv)
{
    const char *seg[MAX_SEGMENTS_ARGS];
    const char *carrier = NULL, *iccid = NULL;
    struct cfg *cfg = NULL;
    uint8_t mk[16];
    int nseg = 0, have_mk = 0;
    unsigned long kv = 0;
    enum gw_admin_exit ret = GW_ADMIN_USAGE;

    for (int i = 0; i < argc; i++) {
        const char *opt = argv[i];
        if (strncmp(opt, "--", 2) != 0) {
            if (nseg == MAX_SEGMENTS_ARGS) {
                ret = usage_error("decode-ud: more than 16 segments", NULL);
                goto out;
            }
            seg[nseg++] = opt;
            continue;
        }
        if (i + 1 == argc) {
            ret = usage_error("decode-ud: this option needs a value:", opt);
            goto out;
        }
        if (strcmp(opt, "--carrier") == 0) {
            carrier = argv[++i];
        } else if (strcmp(opt, "--iccid") == 0) {
            iccid = argv[++i];
        } else if (strcmp(opt, "--kv") == 0) {
            char *end;
            kv = strtoul(argv[++i], &end, 10);
            if (*end || kv < 1 || kv > 15) {
                ret = usage_error("decode-ud: --kv must be a key version 1..15, not", argv[i]);
                goto out;
            }
        } else if (strcmp(opt, "--mk") == 0) {
            char *arg = argv[++i];
            long n = gw_admin_hex_parse(arg, mk, sizeof(mk));
            /* Wipe it from argv: it would otherwise stay readable in /proc/PID/cmdline. */
            OPENSSL_cleanse(arg, strlen(arg));
            if (n != 16) {
                ret = usage_error("decode-ud: --mk must be 32 hex digits", NULL);
                goto out;
            }
            have_mk = 1;
        } else {
            ret = usage_error("decode-ud: unknown option", opt);
            goto out;
        }
    }
    if (nseg == 0) {
        ret = usage_error("decode-ud: give at least one user data segment in hex", NULL);
        goto out;
    }
    if (carrier && have_mk) {
        ret = usage_error("decode-ud: give --carrier or --mk, not both", NULL);
        goto out;
    }
    if (carrier) {
        const struct cfg_carrier *c;
        ret = gw_admin_load_cfg(cfg_path, &cfg);
        if (ret != GW_ADMIN_OK)
            goto out;
        c = cfg_carrier_by_name(cfg, carrier);
        if (!c) {
            fprintf(stderr, "error: carrier \"%s\" is not configured in %s\n", carrier, cfg->path);
            ret = GW_ADMIN_FAIL;
            goto out;
        }
        memcpy(mk, c->ota_master_key, sizeof(mk));
        have_mk = 1;
    }
    if (have_mk && !iccid) {
        ret = usage_error("decode-ud: keys are diversified per SIM: give --iccid", NULL);
        goto out;
    }
    ret = gw_admin_decode_ud(seg, nseg, have_mk ? mk : NULL, iccid, (unsigned)kv);
out:
    OPENSSL_cleanse(mk, sizeof(mk));
    cfg_free(cfg);
    return ret;
}

static void sha256_hex(const char *s, size_t n, char hex[65])
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
    for (size_t i = 0; i < sizeof(md); i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static enum gw_admin_exit cmd_hash_key(const char *cfg_path, int argc, char **argv)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char token[512], hex[65];
    uint8_t raw[32];
    enum gw_admin_exit ret = GW_ADMIN_FAIL;

    (void)cfg_path;
    if (argc > 1)
        return usage_error("hash-key takes at most one TOKEN", NULL);
    if (argc == 1 && strcmp(argv[0], "-") == 0) {
        size_t n;
        if (!fgets(token, sizeof(token), stdin)) {
            fprintf(stderr, "error: no token on stdin\n");
            goto out;
        }
        n = strcspn(token, "\r\n");
        token[n] = '\0';
        if (n == 0) {
            fprintf(stderr, "error: the token on stdin is empty\n");
            goto out;
        }
        sha256_hex(token, n, hex);
        printf("%s\n", hex);
    } else if (argc == 1) {
        if (argv[0][0] == '\0') {
            fprintf(stderr, "error: the token is empty\n");
            goto out;
        }
        sha256_hex(argv[0], strlen(argv[0]), hex);
        printf("%s\n", hex);
    } else {
        size_t o = 0;
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            fprintf(stderr, "error: no random numbers from OpenSSL\n");
            goto out;
        }
        /* base64url without padding: 32 octets -> 43 characters. */
        for (size_t i = 0; i < sizeof(raw); i += 3) {
            uint32_t v = (uint32_t)raw[i] << 16;
            size_t left = sizeof(raw) - i;
            if (left > 1)
                v |= (uint32_t)raw[i + 1] << 8;
            if (left > 2)
                v |= raw[i + 2];
            token[o++] = b64url[v >> 18 & 63];
            token[o++] = b64url[v >> 12 & 63];
            if (left > 1)
                token[o++] = b64url[v >> 6 & 63];
            if (left > 2)
                token[o++] = b64url[v & 63];
        }
        token[o] = '\0';
        sha256_hex(token, o, hex);
        printf("token   %s\n", token);
        printf("sha256  %s\n", hex);
        fprintf(stderr,
                "note: the token is shown only this once. Give it to the relying party over a safe\n"
                "channel and store it safely; the configuration keeps only its sha256:\n"
                "  \"api_keys\": [{\"name\": \"...\", \"sha256\": \"%s\"}]\n",
                hex);
    }
    ret = GW_ADMIN_OK;
out:
    OPENSSL_cleanse(token, sizeof(token));
    OPENSSL_cleanse(raw, sizeof(raw));
    return ret;
}

static enum gw_admin_exit cmd_plan(const char *cfg_path, int argc, char **argv)
{
    return gw_admin_plan(cfg_path, argc, argv);
}

static enum gw_admin_exit cmd_verify_archive(const char *cfg_path, int argc, char **argv)
{
    return gw_admin_verify_archive(cfg_path, argc, argv);
}

static enum gw_admin_exit cmd_events(const char *cfg_path, int argc, char **argv)
{
    return gw_admin_events(cfg_path, argc, argv);
}

static enum gw_admin_exit cmd_archive_export(const char *cfg_path, int argc, char **argv)
{
    return gw_admin_archive_export(cfg_path, argc, argv);
}

static enum gw_admin_exit cmd_archive_drop(const char *cfg_path, int argc, char **argv)
{
    return gw_admin_archive_drop(cfg_path, argc, argv);
}

static const struct {
    const char *name;
    enum gw_admin_exit (*fn)(const char *cfg_path, int argc, char **argv);
} commands[] = {
    {"import", cmd_import},
    {"show", cmd_show},
    {"delete", cmd_delete},
    {"import-requests", cmd_import_requests},
    {"decode-pdu", cmd_decode_pdu},
    {"decode-ud", cmd_decode_ud},
    {"hash-key", cmd_hash_key},
    {"fetch-cert", cmd_fetch_cert},
    {"plan", cmd_plan},
    {"verify-archive", cmd_verify_archive},
    {"events", cmd_events},
    {"archive-export", cmd_archive_export},
    {"archive-drop", cmd_archive_drop},
};

int main(int argc, char **argv)
{
    const char *cfg_path = NULL;
    int i = 1;

    /* Library modules log through log.h: keep their chatter off stdout's results. */
    log_setup(LOG_WARN, LOG_FMT_TEXT);
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_usage(stdout);
            return GW_ADMIN_OK;
        }
        if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            printf("simpki-admin %s\n", SIMPKI_VERSION);
            return GW_ADMIN_OK;
        }
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            cfg_path = argv[i + 1];
            i += 2;
            continue;
        }
        return usage_error("unknown option", argv[i]);
    }
    if (i == argc) {
        print_usage(stderr);
        return GW_ADMIN_USAGE;
    }
    if (strcmp(argv[i], "help") == 0) {
        print_usage(stdout);
        return GW_ADMIN_OK;
    }
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
        if (strcmp(argv[i], commands[c].name) == 0)
            return commands[c].fn(cfg_path, argc - i - 1, argv + i + 1);
    return usage_error("unknown command", argv[i]);
}
