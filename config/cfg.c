/*
 * cfg.c - the configuration table and its JSON loader.
 *
 * Each section is an array of struct cfg_opt rows; the loader and the
 * reference printer both walk the same rows, so a setting cannot be
 * documented but not parsed, or parsed but not bounded.
 */
#include "cfg.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_priv.h"
#include "log.h"

enum opt_type {
    OPT_STR,    /* char[size] */
    OPT_UINT,   /* unsigned, bounded */
    OPT_PORT,   /* uint16_t, 1..65535 */
    OPT_KEY16,  /* uint8_t[16] from 32 hex digits */
    OPT_LEVEL,  /* int: log level name */
    OPT_FORMAT, /* int: "text" | "json" */
    OPT_BOOL,   /* int: JSON true | false */
    OPT_U64,    /* uint64_t, bounded */
};

#define OPT_SECRET   0x1 /* may come from "<name>_file"; never printed */
#define OPT_REQUIRED 0x2

struct cfg_opt {
    const char *name;
    enum opt_type type;
    size_t off, size;
    unsigned long min, max;
    const char *def; /* textual default, NULL = none */
    int flags;
    const char *help;
};

#define S(st, f) offsetof(struct st, f), sizeof(((struct st *)0)->f)

static const struct cfg_opt top_opts[] = {
    {"listen_host", OPT_STR, S(cfg, listen_host), 0, 0, "127.0.0.1", 0, "address the HTTP API listens on"},
    {"listen_port", OPT_PORT, S(cfg, listen_port), 1, 65535, "8080", 0, "port of the HTTP API"},
    {"soap_mssp_id", OPT_STR, S(cfg, soap_mssp_id), 0, 0, "http://simpki.invalid/mssp", 0,
     "MSSP_ID the SOAP endpoint sends in notifications (answers echo the request's)"},
    {"max_body_bytes", OPT_UINT, S(cfg, max_body_bytes), 1024, 1048576, "16384", 0, "largest request body accepted"},
    {"long_poll_max_s", OPT_UINT, S(cfg, long_poll_max_s), 0, 60, "60", 0, "upper bound of GET ?wait=N"},
    {"log_level", OPT_LEVEL, S(cfg, log_level), 0, 0, "info", 0, "error, warn, info or debug"},
    {"log_format", OPT_FORMAT, S(cfg, log_format), 0, 0, "text", 0, "text or json (one object per line)"},
    {"instance", OPT_STR, S(cfg, instance), 0, 0, "", 0,
     "name of this instance (\"gw-1\") in JSON logs and metrics; empty = none"},
    {"transaction_timeout_s", OPT_UINT, S(cfg, txn_timeout_s), 10, 3600, "180", 0,
     "time the official has to answer before the transaction is EXPIRED"},
    {"transaction_retention_s", OPT_UINT, S(cfg, txn_retention_s), 60, 2592000, "86400", 0,
     "how long a finished transaction stays readable"},
    {"sweep_interval_ms", OPT_UINT, S(cfg, sweep_interval_ms), 50, 60000, "500", 0,
     "how often expiries and resubmissions are checked"},
    {"user_timeout_s", OPT_UINT, S(cfg, user_timeout_s), 10, 600, "120", 0,
     "time the SIM gives the official to enter the PIN (SPKA/1 tag 85)"},
    {"resubmit_lease_s", OPT_UINT, S(cfg, resubmit_lease_s), 2, 600, "30", 0,
     "a command no SMSC has accepted after this long is resubmitted by any instance"},
    {"trust_anchors", OPT_STR, S(cfg, trust_anchors), 0, 0, NULL, OPT_REQUIRED,
     "PEM file of the root certificates signatures must chain to"},
    {"intermediates", OPT_STR, S(cfg, intermediates), 0, 0, "", 0, "PEM file of issuing CA certificates"},
    {"revocation_check", OPT_BOOL, S(cfg, revocation_check), 0, 0, "true", 0,
     "check every signing certificate with OCSP (CRL as fallback); false only for certificates that carry neither"},
    {"revocation_timeout_ms", OPT_UINT, S(cfg, revocation_timeout_ms), 100, 60000, "5000", 0, "per OCSP or CRL fetch"},
    {"tsa_url", OPT_STR, S(cfg, tsa_url), 0, 0, "", 0,
     "RFC 3161 timestamp authority (http:// or https://): CMS signatures get a verified token (CAdES-B-T); "
     "empty = none. Unreachable or bad token: TIMESTAMP_FAILED"},
    {"tsa_trust", OPT_STR, S(cfg, tsa_trust), 0, 0, "", 0, "PEM file of the TSA's root certificates (with tsa_url)"},
    {"tsa_timeout_ms", OPT_UINT, S(cfg, tsa_timeout_ms), 100, 60000, "5000", 0, "per timestamp request"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt redis_opts[] = {
    {"host", OPT_STR, S(cfg_redis, host), 0, 0, "127.0.0.1", 0, "Redis host"},
    {"port", OPT_PORT, S(cfg_redis, port), 1, 65535, "6379", 0, "Redis port"},
    {"unix_socket", OPT_STR, S(cfg_redis, unix_socket), 0, 0, "", 0, "Redis unix socket (instead of host:port)"},
    {"password", OPT_STR, S(cfg_redis, password), 0, 0, "", OPT_SECRET, "Redis AUTH password"},
    {"db", OPT_UINT, S(cfg_redis, db), 0, 15, "0", 0, "Redis database number"},
    {"shards", OPT_UINT, S(cfg_redis, shards), 1, 256, "16", 0,
     "hash-tag shards of per-subscriber keys; fixed for the life of a deployment"},
    {"connect_timeout_ms", OPT_UINT, S(cfg_redis, connect_timeout_ms), 10, 60000, "2000", 0, "Redis connect timeout"},
    {"master_name", OPT_STR, S(cfg_redis, master_name), 0, 0, "", 0,
     "with sentinels: the name the sentinels monitor the master under (required with them)"},
    {"sentinel_password", OPT_STR, S(cfg_redis, sentinel_password), 0, 0, "", OPT_SECRET,
     "AUTH password of the sentinels (password is the master's)"},
    {"wait_replicas", OPT_UINT, S(cfg_redis, wait_replicas), 0, 16, "0", 0,
     "0 = off; N: a state-changing call is answered only after WAIT N acknowledged it (else 503, retry)"},
    {"wait_timeout_ms", OPT_UINT, S(cfg_redis, wait_timeout_ms), 10, 10000, "500", 0,
     "how long WAIT waits for wait_replicas replicas"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt carrier_opts[] = {
    {"name", OPT_STR, S(cfg_carrier, name), 0, 0, NULL, OPT_REQUIRED,
     "viettel, vinaphone or mobifone; any name (an MSSP's) when route is given"},
    {"route", OPT_STR, S(cfg_carrier, route), 0, 0, "", 0,
     "networks routed to this carrier, comma-separated (\"viettel,vinaphone\"); default: the name"},
    {"service_number", OPT_STR, S(cfg_carrier, service_number), 0, 0, "", 0,
     "source address of messages to SIMs (required by transport smpp)"},
    {"ota_master_key", OPT_KEY16, S(cfg_carrier, ota_master_key), 0, 0, NULL, OPT_SECRET,
     "OTA master key MK, 32 hex digits; per-SIM keys are diversified from it (required by transport smpp)"},
    {"reassembly_timeout_s", OPT_UINT, S(cfg_carrier, reassembly_timeout_s), 1, 600, "60", 0,
     "how long an incomplete concatenated answer is kept (transport smpp)"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

/* What every link has, whatever its transport ("links": [...] entries). */
static const struct cfg_opt link_opts[] = {
    {"name", OPT_STR, S(cfg_link, name), 0, 0, NULL, 0, "link name for logs and metrics (default carrier-N)"},
    {"transport", OPT_STR, S(cfg_link, transport), 0, 0, "smpp", 0,
     "how the link reaches SIMs: smpp (SIM OTA through an SMSC) or etsi204 (a mobile signature service); "
     "its settings sit beside this key"},
    {"priority", OPT_UINT, S(cfg_link, priority), 0, 100, "0", 0,
     "failover order among a carrier's links: lower first; links of equal priority share the load"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt etsi_opts[] = {
    {"url", OPT_STR, S(cfg_etsi, url), 0, 0, NULL, OPT_REQUIRED,
     "the service's base URL (https://host:port/soap/services/); MSS_SignaturePort etc. are appended"},
    {"ap_id", OPT_STR, S(cfg_etsi, ap_id), 0, 0, NULL, OPT_REQUIRED, "AP_ID: who simpki is to the service"},
    {"ap_pwd", OPT_STR, S(cfg_etsi, ap_pwd), 0, 0, "", OPT_SECRET, "AP_PWD"},
    {"mssp_id", OPT_STR, S(cfg_etsi, mssp_id), 0, 0, "http://hmssp.mobile-id.vn", 0, "MSSP_ID"},
    {"signature_profile", OPT_STR, S(cfg_etsi, profile), 0, 0, "http://mobile-id.vn/digitalSignature", 0,
     "SignatureProfile"},
    {"mode", OPT_STR, S(cfg_etsi, mode_name), 0, 0, "asynch", 0,
     "asynch (asynchClientServer + MSS_StatusQuery: the service's id is kept in Redis, any instance "
     "finishes) or synch (one HTTP request held until the answer)"},
    {"format", OPT_STR, S(cfg_etsi, format_name), 0, 0, "pkcs1", 0, "MSS_Format asked: pkcs1 or cms"},
    {"ca_file", OPT_STR, S(cfg_etsi, ca_file), 0, 0, "", 0,
     "PEM roots the service's TLS certificate must chain to (required for https)"},
    {"cert_file", OPT_STR, S(cfg_etsi, cert_file), 0, 0, "", 0, "PEM client certificate for mutual TLS"},
    {"key_file", OPT_STR, S(cfg_etsi, key_file), 0, 0, "", 0, "PEM key of cert_file (default: in cert_file)"},
    {"timeout_ms", OPT_UINT, S(cfg_etsi, timeout_ms), 100, 600000, "10000", 0,
     "one HTTP request (synch mode adds the transaction's own time)"},
    {"poll_min_ms", OPT_UINT, S(cfg_etsi, poll_min_ms), 50, 600000, "1000", 0, "first MSS_StatusQuery delay"},
    {"poll_max_ms", OPT_UINT, S(cfg_etsi, poll_max_ms), 50, 600000, "5000", 0, "largest MSS_StatusQuery delay"},
    {"max_in_flight", OPT_UINT, S(cfg_etsi, max_in_flight), 1, 10000, "64", 0, "HTTP requests under way"},
    {"receipt", OPT_BOOL, S(cfg_etsi, receipt), 0, 0, "false", 0, "send MSS_Receipt after a final answer"},
    {"signature_validation", OPT_BOOL, S(cfg_etsi, want_validation), 0, 0, "false", 0,
     "ask the signatureValidation service (informative: simpki verifies every signature itself)"},
    {"breaker_errors", OPT_UINT, S(cfg_etsi, breaker_errors), 1, 1000, "5", 0,
     "consecutive connection errors or HTTP 5xx that open the circuit (the link is skipped)"},
    {"breaker_open_ms", OPT_UINT, S(cfg_etsi, breaker_open_ms), 100, 600000, "10000", 0,
     "how long an open circuit skips the link before one request tries it again"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt smpp_opts[] = {
    {"host", OPT_STR, S(cfg_smpp, host), 0, 0, NULL, OPT_REQUIRED, "SMSC host"},
    {"port", OPT_PORT, S(cfg_smpp, port), 1, 65535, "2775", 0, "SMSC port"},
    {"system_id", OPT_STR, S(cfg_smpp, system_id), 0, 0, NULL, OPT_REQUIRED, "bind system_id (15 chars max)"},
    {"password", OPT_STR, S(cfg_smpp, password), 0, 0, "", OPT_SECRET, "bind password (8 chars max)"},
    {"system_type", OPT_STR, S(cfg_smpp, system_type), 0, 0, "", 0, "bind system_type"},
    {"window", OPT_UINT, S(cfg_smpp, window), 1, 1024, "10", 0, "submit_sm outstanding without a response"},
    {"rate", OPT_UINT, S(cfg_smpp, rate), 0, 100000, "0", 0, "submit_sm per second, 0 = unlimited"},
    {"enquire_link_s", OPT_UINT, S(cfg_smpp, enquire_link_s), 1, 3600, "30", 0, "enquire_link interval"},
    {"response_timeout_s", OPT_UINT, S(cfg_smpp, response_timeout_s), 1, 600, "10", 0,
     "a PDU without a response after this is resent (submit) or the link is dropped"},
    {"reconnect_min_ms", OPT_UINT, S(cfg_smpp, reconnect_min_ms), 10, 600000, "500", 0, "first reconnect delay"},
    {"reconnect_max_ms", OPT_UINT, S(cfg_smpp, reconnect_max_ms), 10, 600000, "30000", 0, "largest reconnect delay"},
    {"throttle_backoff_ms", OPT_UINT, S(cfg_smpp, throttle_backoff_ms), 1, 600000, "1000", 0,
     "pause after ESME_RTHROTTLED or ESME_RMSGQFUL"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt ca_opts[] = {
    {"key_alg", OPT_STR, S(cfg_ca, key_alg_name), 0, 0, "rsa2048", 0,
     "key the SIM generates for a new certificate: rsa2048 or ecp256 (a request may ask for the other)"},
    {"sim_timeout_s", OPT_UINT, S(cfg_ca, sim_timeout_s), 10, 3600, "180", 0,
     "time the official has to answer one SIM step (key generation, request signature)"},
    {"tick_ms", OPT_UINT, S(cfg_ca, tick_ms), 50, 60000, "500", 0,
     "how often each instance looks for enrolment requests due for their next step"},
    {"lease_s", OPT_UINT, S(cfg_ca, lease_s), 2, 3600, "60", 0,
     "a request an instance is working on is left alone by the others this long (longer than cmp.timeout_s)"},
    {"max_attempts", OPT_UINT, S(cfg_ca, max_attempts), 1, 1000, "10", 0,
     "tries of one step that fails for a temporary reason (CA unreachable, SIM busy) before the request fails"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt merge_opts[] = {
    {"max_in_flight", OPT_UINT, S(cfg_merge, max_in_flight), 1, 10000, "50", 0,
     "requests of one merger plan filed and not yet finished, at most (the CA and the carriers are not flooded)"},
    {"per_tick", OPT_UINT, S(cfg_merge, per_tick), 1, 1000, "20", 0, "requests one instance files per tick, at most"},
    {"tick_ms", OPT_UINT, S(cfg_merge, tick_ms), 50, 60000, "1000", 0,
     "how often each instance looks for approved merger plans to run"},
    {"lease_s", OPT_UINT, S(cfg_merge, lease_s), 2, 3600, "30", 0,
     "a plan an instance is running is left alone by the others this long"},
    {"max_input_bytes", OPT_UINT, S(cfg_merge, max_input_bytes), 65536, 268435456, "33554432", 0,
     "POST /v1/plans: the reorganisation and the staff list together, at most"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

/* "archive": the evidence archive (docs/archive.md); retention_years and the tsa_url rule are cfg_archive.c's. */
static const struct cfg_opt archive_opts[] = {
    {"conninfo", OPT_STR, S(cfg_archive, conninfo), 0, 0, NULL, OPT_REQUIRED,
     "libpq connection string of the archive's PostgreSQL (\"host=/run/postgresql dbname=simpki user=simpki\"); "
     "the password belongs in password_file, not here"},
    {"password", OPT_STR, S(cfg_archive, password), 0, 0, "", OPT_SECRET,
     "PostgreSQL password; empty = libpq's own ways (peer, ~/.pgpass, PGPASSWORD)"},
    {"batch", OPT_UINT, S(cfg_archive, batch), 1, 10000, "500", 0, "events per database call, at most"},
    {"poll_ms", OPT_UINT, S(cfg_archive, poll_ms), 10, 60000, "200", 0,
     "an archiver that found nothing to archive reads the streams again after this"},
    {"claim_idle_s", OPT_UINT, S(cfg_archive, claim_idle_s), 1, 86400, "30", 0,
     "events another instance read and did not archive for this long are taken over"},
    {"max_backlog", OPT_U64, S(cfg_archive, max_backlog), 1, 1000000000000UL, "1000000", 0,
     "events waiting in one shard's stream from which new signature requests are refused (503 ARCHIVE_BACKLOG)"},
    {"anchor_interval_s", OPT_UINT, S(cfg_archive, anchor_interval_s), 0, 604800, "600", 0,
     "RFC 3161 timestamp over every chain head that moved, this often (needs tsa_url); 0 = never. "
     "Without tsa_url and not given: 0"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt tls_opts[] = {
    {"cert_file", OPT_STR, S(cfg_tls, cert_file), 0, 0, NULL, OPT_REQUIRED,
     "PEM file: the API's server certificate, then its intermediates; with this section the API speaks "
     "TLS 1.2+ only (https)"},
    {"key_file", OPT_STR, S(cfg_tls, key_file), 0, 0, NULL, OPT_REQUIRED,
     "PEM file: the private key of cert_file, unencrypted, mode 0600"},
    {"client_ca_file", OPT_STR, S(cfg_tls, client_ca_file), 0, 0, "", 0,
     "PEM file of CAs: clients are asked for a certificate (optional for them) verified against these; "
     "needed by api_keys[].client_cert_sha256"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

/*
 * Default max_in_flight, by Little's law (in flight = rate x time in flight):
 * 10,000 is 2 s of the measured maximum of one instance (~5,000 signatures/s,
 * EC, 2 cores, SIMs answering at once), so queueing beyond ~2 s is refused
 * instead of waited (the open-loop run at 90 % queued 12 s); and with
 * officials taking ~30 s to enter their PIN it still carries ~330
 * signatures/s per instance.  A transaction waiting for its official costs
 * ~100 octets here and ~700 in Redis.  Long polls each hold a socket: 4,096
 * stays well inside deploy/simpki.service's LimitNOFILE=65536.
 */
static const struct cfg_opt limits_opts[] = {
    {"max_in_flight", OPT_UINT, S(cfg_limits, max_in_flight), 1, 10000000, "10000", 0,
     "signature requests this instance accepted and that are not finished, at most; beyond, 503 OVERLOADED "
     "with Retry-After (nothing is written to Redis)"},
    {"max_in_flight_per_rp", OPT_UINT, S(cfg_limits, max_in_flight_per_rp), 0, 10000000, "0", 0,
     "the same per relying party, for a key without its own api_keys[].max_in_flight (0 = none); beyond, "
     "429 RATE_LIMITED with Retry-After"},
    {"retry_after_s", OPT_UINT, S(cfg_limits, retry_after_s), 1, 3600, "1", 0,
     "Retry-After of OVERLOADED and RATE_LIMITED refusals"},
    {"max_long_polls", OPT_UINT, S(cfg_limits, max_long_polls), 0, 10000000, "4096", 0,
     "GET ?wait=N held at once by this instance, at most; beyond, answered at once with the transaction as it "
     "is (200, Retry-After as a hint)"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

static const struct cfg_opt cmp_opts[] = {
    {"server", OPT_STR, S(cfg_ca, server), 0, 0, NULL, OPT_REQUIRED, "CA (RA) CMP server host name or address"},
    {"port", OPT_PORT, S(cfg_ca, port), 1, 65535, NULL, OPT_REQUIRED, "CMP server port"},
    {"path", OPT_STR, S(cfg_ca, path), 0, 0, "/", 0, "HTTP path of the CMP endpoint"},
    {"timeout_s", OPT_UINT, S(cfg_ca, timeout_s), 1, 600, "30", 0, "one whole CMP transaction"},
    {"pbm_ref", OPT_STR, S(cfg_ca, pbm_ref), 0, 0, "", 0, "PBM reference value (senderKID) the CA gave the RA"},
    {"pbm_secret", OPT_STR, S(cfg_ca, pbm_secret), 0, 0, "", OPT_SECRET, "PBM shared secret (with pbm_ref)"},
    {"ra_cert", OPT_STR, S(cfg_ca, ra_cert), 0, 0, "", 0, "PEM file: the RA certificate (signature protection)"},
    {"ra_key", OPT_STR, S(cfg_ca, ra_key), 0, 0, "", 0, "PEM file: the RA private key, unencrypted, mode 0600"},
    {"ra_chain", OPT_STR, S(cfg_ca, ra_chain), 0, 0, "", 0, "PEM file: intermediates sent with our requests"},
    {"srv_cert", OPT_STR, S(cfg_ca, srv_cert), 0, 0, "", 0, "PEM file: the CA's CMP signing certificate, pinned"},
    {"srv_trust", OPT_STR, S(cfg_ca, srv_trust), 0, 0, "", 0,
     "PEM file: trust anchors of the CA's CMP signing certificate (instead of srv_cert)"},
    {NULL, 0, 0, 0, 0, 0, NULL, 0, NULL},
};

const char *cfg_strerror(enum cfg_err err)
{
    switch (err) {
    case CFG_OK: return "ok";
    case CFG_ERR_IO: return "cannot read file";
    case CFG_ERR_SYNTAX: return "not valid JSON";
    case CFG_ERR_INVALID: return "invalid setting";
    case CFG_ERR_NOMEM: return "out of memory";
    }
    return "unknown error";
}

enum cfg_err cfg_fail(struct cfg_ctx *c, const char *where, const char *name, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    /* "where.name", or whichever of the two is not empty ("carriers[1]: must be an object"). */
    snprintf(c->err, c->errlen, "%s: %s%s%s%s%s", c->file, where, *where && *name ? "." : "", name,
             *where || *name ? ": " : "", what);
    return CFG_ERR_INVALID;
}

/*
 * First line of a secret file, without the newline.  Wiped by the caller.
 * CFG_ERR_INVALID when the line does not fit in cap: a truncated secret
 * would be a different secret.
 */
enum cfg_err cfg_read_secret_file(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    size_t n;
    int more;
    if (!f)
        return CFG_ERR_IO;
    if (!fgets(out, (int)cap, f)) {
        fclose(f);
        return CFG_ERR_IO;
    }
    n = strcspn(out, "\r\n");
    more = 0;
    if (out[n] == '\0') { /* no end of line yet: is there more of it? */
        int ch = fgetc(f);
        more = ch != EOF && ch != '\n' && ch != '\r';
    }
    fclose(f);
    out[n] = '\0';
    if (more) {
        OPENSSL_cleanse(out, cap);
        return CFG_ERR_INVALID;
    }
    return CFG_OK;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Exactly 2n hex digits, either case; nothing else (strtoul would skip white space). */
int cfg_parse_hex(const char *hex, uint8_t *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Apply one textual value (from JSON or a default) to the row's field. */
static enum cfg_err set_value(struct cfg_ctx *c, const char *where, const struct cfg_opt *o, void *base,
                              const char *sval, json_t *jv)
{
    char *field = (char *)base + o->off;
    if (o->type == OPT_STR) {
        if (!sval)
            return cfg_fail(c, where, o->name, "must be a string");
        if (strlen(sval) >= o->size)
            return cfg_fail(c, where, o->name, "is longer than %zu characters", o->size - 1);
        memcpy(field, sval, strlen(sval) + 1);
        return CFG_OK;
    }
    if (o->type == OPT_UINT || o->type == OPT_PORT || o->type == OPT_U64) {
        unsigned long v;
        char num[32];
        if (jv && json_is_integer(jv)) {
            json_int_t i = json_integer_value(jv);
            if (i < 0)
                return cfg_fail(c, where, o->name, "must not be negative");
            v = (unsigned long)i;
        } else if (sval && !jv) {
            char *end;
            errno = 0;
            v = strtoul(sval, &end, 10);
            if (errno || *end || !*sval)
                return cfg_fail(c, where, o->name, "\"%s\" is not a whole number", sval);
        } else {
            return cfg_fail(c, where, o->name, "must be a whole number");
        }
        if (v < o->min || v > o->max) {
            snprintf(num, sizeof(num), "%lu..%lu", o->min, o->max);
            return cfg_fail(c, where, o->name, "out of range %s", num);
        }
        if (o->type == OPT_PORT)
            *(uint16_t *)(void *)field = (uint16_t)v;
        else if (o->type == OPT_U64)
            *(uint64_t *)(void *)field = (uint64_t)v;
        else
            *(unsigned *)(void *)field = (unsigned)v;
        return CFG_OK;
    }
    if (o->type == OPT_KEY16) {
        if (!sval || cfg_parse_hex(sval, (uint8_t *)field, 16) != 0)
            return cfg_fail(c, where, o->name, "must be 32 hex digits");
        return CFG_OK;
    }
    if (o->type == OPT_LEVEL) {
        int lv = sval ? log_level_parse(sval) : -1;
        if (!sval)
            return cfg_fail(c, where, o->name, "must be one of error, warn, info, debug");
        if (lv < 0)
            return cfg_fail(c, where, o->name, "\"%s\" is not one of error, warn, info, debug", sval);
        *(int *)(void *)field = lv;
        return CFG_OK;
    }
    if (o->type == OPT_FORMAT) {
        if (sval && strcmp(sval, "text") == 0)
            *(int *)(void *)field = LOG_FMT_TEXT;
        else if (sval && strcmp(sval, "json") == 0)
            *(int *)(void *)field = LOG_FMT_JSON;
        else if (sval)
            return cfg_fail(c, where, o->name, "\"%s\" is not text or json", sval);
        else
            return cfg_fail(c, where, o->name, "must be text or json");
        return CFG_OK;
    }
    if (o->type == OPT_BOOL) {
        if (jv && json_is_boolean(jv))
            *(int *)(void *)field = json_is_true(jv);
        else if (sval && !jv && (strcmp(sval, "true") == 0 || strcmp(sval, "false") == 0))
            *(int *)(void *)field = strcmp(sval, "true") == 0;
        else
            return cfg_fail(c, where, o->name, "must be true or false");
        return CFG_OK;
    }
    return cfg_fail(c, where, o->name, "internal: unknown type");
}

static int known_key(const struct cfg_opt *opts, const char *key, const char *const *extra)
{
    char base[64];
    size_t n = strlen(key);
    for (const struct cfg_opt *o = opts; o->name; o++) {
        if (strcmp(o->name, key) == 0)
            return 1;
        /* "<secret>_file" */
        if ((o->flags & OPT_SECRET) && n > 5 && strcmp(key + n - 5, "_file") == 0 && n - 5 < sizeof(base)) {
            memcpy(base, key, n - 5);
            base[n - 5] = '\0';
            if (strcmp(o->name, base) == 0)
                return 1;
        }
    }
    for (; extra && *extra; extra++)
        if (strcmp(*extra, key) == 0)
            return 1;
    return 0;
}

/* Fill `base` from JSON object `obj` per `opts`; unknown keys are errors (typos must not pass). */
static enum cfg_err load_section(struct cfg_ctx *c, const char *where, const struct cfg_opt *opts, json_t *obj,
                                 void *base, const char *const *extra)
{
    const char *key;
    json_t *v;
    enum cfg_err rc;

    if (!json_is_object(obj))
        return cfg_fail(c, where, "", "must be an object");
    json_object_foreach(obj, key, v)
    {
        if (!known_key(opts, key, extra))
            return cfg_fail(c, where, key, "unknown setting (see simpkid --help-config)");
    }
    for (const struct cfg_opt *o = opts; o->name; o++) {
        char fkey[80], secret[256];
        json_t *jv = json_object_get(obj, o->name);
        const char *sval = NULL;

        snprintf(fkey, sizeof(fkey), "%s_file", o->name);
        if ((o->flags & OPT_SECRET) && json_object_get(obj, fkey)) {
            json_t *fv = json_object_get(obj, fkey);
            if (jv)
                return cfg_fail(c, where, o->name, "give either it or %s_file, not both", o->name);
            if (!json_is_string(fv))
                return cfg_fail(c, where, fkey, "must be a path");
            rc = cfg_read_secret_file(json_string_value(fv), secret, sizeof(secret));
            if (rc == CFG_ERR_INVALID)
                return cfg_fail(c, where, fkey, "first line of %s is too long", json_string_value(fv));
            if (rc != CFG_OK)
                return cfg_fail(c, where, fkey, "cannot read %s", json_string_value(fv));
            rc = set_value(c, where, o, base, secret, NULL);
            OPENSSL_cleanse(secret, sizeof(secret));
            if (rc != CFG_OK)
                return rc;
            continue;
        }
        if (jv && json_is_string(jv))
            sval = json_string_value(jv);
        else if (jv && !json_is_integer(jv) && !(o->type == OPT_BOOL && json_is_boolean(jv)))
            return cfg_fail(c, where, o->name, "has the wrong type");
        if (!jv) {
            if (o->flags & OPT_REQUIRED)
                return cfg_fail(c, where, o->name, "is required");
            if (!o->def)
                continue;
            sval = o->def;
        }
        rc = set_value(c, where, o, base, sval, jv);
        if (rc != CFG_OK)
            return rc;
    }
    return CFG_OK;
}

/* A network name as carriers/car_route.h numbers it (enum car_net), 0 when unknown. */
static int net_by_name(const char *name, size_t len)
{
    static const char *const nets[] = {"viettel", "vinaphone", "mobifone"};
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if (strlen(nets[i]) == len && strncmp(nets[i], name, len) == 0)
            return (int)i + 1;
    return 0;
}

/*
 * The route: the networks whose numbers this carrier serves.  Without a
 * "route" the name is the network (the configurations written before MSSPs).
 */
static enum cfg_err load_route(struct cfg_ctx *c, const char *where, struct cfg *cfg, size_t i)
{
    struct cfg_carrier *car = &cfg->carriers[i];
    int given = car->route[0] != '\0';
    const char *key = given ? "route" : "name";
    const char *p;

    if (!given)
        memcpy(car->route, car->name, sizeof car->name);
    for (p = car->route;;) {
        size_t len = strcspn(p, ",");
        int net = net_by_name(p, len);
        if (!net && !given)
            return cfg_fail(c, where, key, "\"%s\" is not viettel, vinaphone or mobifone", car->name);
        if (!net)
            return cfg_fail(c, where, key, "\"%.*s\" is not viettel, vinaphone or mobifone", (int)len, p);
        for (size_t k = 0; k < i; k++)
            if (cfg->carriers[k].route_nets & (1u << net)) {
                if (!given)
                    return cfg_fail(c, where, key, "carrier \"%s\" is configured twice", car->name);
                return cfg_fail(c, where, key, "network \"%.*s\" is already routed to carrier \"%s\"", (int)len, p,
                                cfg->carriers[k].name);
            }
        if (car->route_nets & (1u << net))
            return cfg_fail(c, where, key, "names \"%.*s\" twice", (int)len, p);
        if (!car->net)
            car->net = net;
        car->route_nets |= 1u << net;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    return CFG_OK;
}

/* The section of one transport: the settings read beside "name" and "transport". */
struct transport_opts {
    const char *name;
    enum cfg_transport kind;
    const struct cfg_opt *opts;
    size_t off; /* of the section inside struct cfg_link */
};

static const struct transport_opts transports[] = {
    {"smpp", CFG_TRANSPORT_SMPP, smpp_opts, offsetof(struct cfg_link, u.smpp)},
    {"etsi204", CFG_TRANSPORT_ETSI204, etsi_opts, offsetof(struct cfg_link, u.etsi)},
};

/* One link: its common keys, then its transport's section from the same object. */
static enum cfg_err load_link(struct cfg_ctx *c, const char *lwhere, json_t *jl, struct cfg_link *l)
{
    const struct transport_opts *t = NULL;
    enum cfg_err rc;

    if (!json_is_object(jl))
        return cfg_fail(c, lwhere, "", "must be an object");
    /* Common keys first, so that an unknown transport is named before its settings. */
    for (const struct cfg_opt *o = link_opts; o->name; o++) {
        json_t *jv = json_object_get(jl, o->name);
        const char *sval = jv ? json_string_value(jv) : o->def;
        if (jv && !sval && !(o->type == OPT_UINT && json_is_integer(jv)))
            return cfg_fail(c, lwhere, o->name, o->type == OPT_UINT ? "must be a number" : "must be a string");
        if ((sval || jv) && (rc = set_value(c, lwhere, o, l, sval, jv)) != CFG_OK)
            return rc;
    }
    for (size_t i = 0; i < sizeof transports / sizeof transports[0]; i++)
        if (strcmp(transports[i].name, l->transport) == 0)
            t = &transports[i];
    if (!t)
        return cfg_fail(c, lwhere, "transport", "unknown transport \"%s\" (known: smpp, etsi204)", l->transport);
    l->kind = t->kind;
    {
        /* load_section checks keys against one table: hand it a copy without the common ones. */
        json_t *own = json_deep_copy(jl);
        if (!own)
            return CFG_ERR_NOMEM;
        for (const struct cfg_opt *o = link_opts; o->name; o++)
            json_object_del(own, o->name);
        rc = load_section(c, lwhere, t->opts, own, (char *)l + t->off, NULL);
        json_decref(own);
    }
    return rc;
}

/* What the etsi204 table cannot say alone: names to modes, https's CA, the poll bounds. */
static enum cfg_err check_etsi(struct cfg_ctx *c, const char *where, struct cfg_etsi *e)
{
    if (strcmp(e->mode_name, "asynch") == 0)
        e->mode = CFG_ETSI_ASYNCH;
    else if (strcmp(e->mode_name, "synch") == 0)
        e->mode = CFG_ETSI_SYNCH;
    else
        return cfg_fail(c, where, "mode", "\"%s\" is not asynch or synch", e->mode_name);
    if (strcmp(e->format_name, "pkcs1") == 0)
        e->format = CFG_ETSI_PKCS1;
    else if (strcmp(e->format_name, "cms") == 0)
        e->format = CFG_ETSI_CMS;
    else
        return cfg_fail(c, where, "format", "\"%s\" is not pkcs1 or cms", e->format_name);
    if (strncmp(e->url, "https://", 8) != 0 && strncmp(e->url, "http://", 7) != 0)
        return cfg_fail(c, where, "url", "must start with https:// (or http:// on loopback tests)");
    /* The service's certificate is always checked: against the roots given, never the system's by default. */
    if (strncmp(e->url, "https://", 8) == 0 && !e->ca_file[0])
        return cfg_fail(c, where, "ca_file", "is required with an https url");
    if (e->key_file[0] && !e->cert_file[0])
        return cfg_fail(c, where, "key_file", "needs cert_file");
    if (e->poll_max_ms < e->poll_min_ms)
        return cfg_fail(c, where, "poll_max_ms", "is below poll_min_ms");
    return CFG_OK;
}

static enum cfg_err load_carriers(struct cfg_ctx *c, json_t *arr, struct cfg *cfg)
{
    static const char *const extra[] = {"smpp", "links", NULL};
    size_t i;
    json_t *jc;
    enum cfg_err rc;

    if (!arr)
        return CFG_OK;
    if (!json_is_array(arr))
        return cfg_fail(c, "", "carriers", "must be an array");
    if (json_array_size(arr) > CFG_MAX_CARRIERS)
        return cfg_fail(c, "", "carriers", "too many (at most 8)");
    json_array_foreach(arr, i, jc)
    {
        struct cfg_carrier *car = &cfg->carriers[i];
        char where[64];
        /* "links" is the transport-neutral list; "smpp" the older one, every link SMPP. */
        json_t *links = json_object_get(jc, "links");
        const char *lkey = "links";
        int needs_ota = 0;
        size_t j;
        json_t *jl;

        snprintf(where, sizeof(where), "carriers[%zu]", i);
        rc = load_section(c, where, carrier_opts, jc, car, extra);
        if (rc != CFG_OK)
            return rc;
        for (size_t k = 0; k < i; k++) /* names are the carriers' keys (logs, cfg_carrier_by_name) */
            if (strcmp(cfg->carriers[k].name, car->name) == 0)
                return cfg_fail(c, where, "name", "carrier \"%s\" is configured twice", car->name);
        if ((rc = load_route(c, where, cfg, i)) != CFG_OK)
            return rc;
        if (json_object_get(jc, "smpp")) {
            if (links)
                return cfg_fail(c, where, "links", "give either links or smpp, not both");
            links = json_object_get(jc, "smpp");
            lkey = "smpp";
        }
        if (links && !json_is_array(links))
            return cfg_fail(c, where, lkey, "must be an array of links");
        if (json_array_size(links) > CFG_MAX_LINKS)
            return cfg_fail(c, where, lkey, "too many links (at most 8)");
        json_array_foreach(links, j, jl)
        {
            struct cfg_link *l = &car->links[j];
            char lwhere[96];
            snprintf(lwhere, sizeof(lwhere), "%s.%s[%zu]", where, lkey, j);
            if (strcmp(lkey, "smpp") == 0 && json_is_object(jl) && json_object_get(jl, "transport"))
                return cfg_fail(c, lwhere, "transport", "goes in \"links\"; every \"smpp\" link is transport smpp");
            rc = load_link(c, lwhere, jl, l);
            if (rc != CFG_OK)
                return rc;
            if (!l->name[0]) {
                char def[sizeof(l->name)];
                snprintf(def, sizeof(def), "%.16s-%u", car->name, (unsigned)(j + 1) % 10u);
                memcpy(l->name, def, sizeof(def));
            }
            if (l->kind == CFG_TRANSPORT_SMPP) {
                needs_ota = 1;
                if (l->u.smpp.reconnect_max_ms < l->u.smpp.reconnect_min_ms)
                    return cfg_fail(c, lwhere, "reconnect_max_ms", "is below reconnect_min_ms");
            }
            if (l->kind == CFG_TRANSPORT_ETSI204 && (rc = check_etsi(c, lwhere, &l->u.etsi)) != CFG_OK)
                return rc;
            car->n_links = j + 1;
        }
        /* The OTA master key is the SIM OTA transport's; a carrier without it needs none. */
        if (needs_ota && !json_object_get(jc, "ota_master_key") && !json_object_get(jc, "ota_master_key_file"))
            return cfg_fail(c, where, "ota_master_key", "is required");
        if (needs_ota && !car->service_number[0])
            return cfg_fail(c, where, "service_number", "is required");
        cfg->n_carriers = i + 1;
    }
    return CFG_OK;
}

/*
 * "ca": the lifecycle engine and its CMP connector.  What can be checked
 * without reading files is checked here; sig_cmp_new() loads the files at
 * start (and for --check-config).
 */
static enum cfg_err load_ca(struct cfg_ctx *c, json_t *obj, struct cfg_ca *ca)
{
    static const char *const extra[] = {"cmp", NULL};
    json_t *cmp = json_object_get(obj, "cmp");
    enum cfg_err rc;
    int pbm, ra;

    if (!obj)
        return CFG_OK;
    if ((rc = load_section(c, "ca", ca_opts, obj, ca, extra)) != CFG_OK)
        return rc;
    if (!cmp)
        return cfg_fail(c, "ca", "cmp", "is required (the CA's CMP endpoint)");
    if ((rc = load_section(c, "ca.cmp", cmp_opts, cmp, ca, NULL)) != CFG_OK)
        return rc;
    if (strcmp(ca->key_alg_name, "rsa2048") == 0)
        ca->key_alg = CFG_KEY_RSA2048;
    else if (strcmp(ca->key_alg_name, "ecp256") == 0)
        ca->key_alg = CFG_KEY_ECP256;
    else
        return cfg_fail(c, "ca", "key_alg", "\"%s\" is not rsa2048 or ecp256", ca->key_alg_name);
    pbm = ca->pbm_ref[0] || ca->pbm_secret[0];
    ra = ca->ra_cert[0] || ca->ra_key[0];
    if (pbm && (!ca->pbm_ref[0] || !ca->pbm_secret[0]))
        return cfg_fail(c, "ca.cmp", ca->pbm_ref[0] ? "pbm_secret" : "pbm_ref", "is needed with the other PBM setting");
    if (ra && (!ca->ra_cert[0] || !ca->ra_key[0]))
        return cfg_fail(c, "ca.cmp", ca->ra_cert[0] ? "ra_key" : "ra_cert", "is needed with the other RA setting");
    if (pbm == ra)
        return cfg_fail(c, "ca.cmp", "", "give exactly one protection: pbm_ref + pbm_secret, or ra_cert + ra_key");
    if (ra && !ca->srv_cert[0] && !ca->srv_trust[0])
        return cfg_fail(c, "ca.cmp", "srv_cert", "is needed with RA protection (or srv_trust)");
    /* A claim that ends while the CA call still runs would let a second instance enrol again. */
    if (ca->lease_s <= ca->timeout_s)
        return cfg_fail(c, "ca", "lease_s", "must be longer than ca.cmp.timeout_s (%u)", ca->timeout_s);
    ca->enabled = 1;
    return CFG_OK;
}

/* An optional section whose every setting has a default ("merge", "limits"). */
static enum cfg_err load_optional(struct cfg_ctx *c, const char *name, const struct cfg_opt *opts, json_t *obj,
                                  void *base)
{
    json_t *empty = obj ? NULL : json_object();
    enum cfg_err rc;

    if (!obj && !empty)
        return CFG_ERR_NOMEM;
    rc = load_section(c, name, opts, obj ? obj : empty, base, NULL);
    json_decref(empty);
    return rc;
}

enum cfg_err cfg_load(const char *path, struct cfg **out, char *err, size_t errlen)
{
    static const char *const extra[] = {"redis", "carriers", "api_keys", "api_keys_file", "ca",
                                        "merge", "tls",      "limits",   "archive",       NULL};
    static const char *const archive_extra[] = {"retention_years", NULL};
    static const char *const redis_extra[] = {"sentinels", NULL};
    struct cfg_ctx c = {path, err, errlen};
    struct cfg *cfg = NULL;
    json_error_t jerr;
    json_t *root = NULL, *redis, *empty = NULL;
    enum cfg_err rc;

    *out = NULL;
    err[0] = '\0';
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            return CFG_ERR_IO;
        }
        fclose(f);
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return CFG_ERR_SYNTAX;
    }
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        rc = CFG_ERR_NOMEM;
        goto out;
    }
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    if ((rc = load_section(&c, "", top_opts, root, cfg, extra)) != CFG_OK)
        goto out;
    redis = json_object_get(root, "redis");
    if (!redis) {
        empty = json_object(); /* all defaults */
        redis = empty;
        if (!redis) {
            rc = CFG_ERR_NOMEM;
            goto out;
        }
    }
    if ((rc = load_section(&c, "redis", redis_opts, redis, &cfg->redis, redis_extra)) != CFG_OK)
        goto out;
    if ((rc = cfg_load_sentinels(&c, json_object_get(redis, "sentinels"), &cfg->redis)) != CFG_OK)
        goto out;
    if ((rc = load_carriers(&c, json_object_get(root, "carriers"), cfg)) != CFG_OK)
        goto out;
    if ((rc = cfg_load_apikeys_from(&c, root, cfg)) != CFG_OK)
        goto out;
    if ((rc = load_ca(&c, json_object_get(root, "ca"), &cfg->ca)) != CFG_OK)
        goto out;
    if ((rc = load_optional(&c, "merge", merge_opts, json_object_get(root, "merge"), &cfg->merge)) != CFG_OK)
        goto out;
    if ((rc = load_optional(&c, "limits", limits_opts, json_object_get(root, "limits"), &cfg->limits)) != CFG_OK)
        goto out;
    if (json_object_get(root, "tls")) {
        if ((rc = load_section(&c, "tls", tls_opts, json_object_get(root, "tls"), &cfg->tls, NULL)) != CFG_OK)
            goto out;
        cfg->tls.enabled = 1;
    }
    if ((rc = cfg_tls_check(&c, cfg)) != CFG_OK)
        goto out;
    if (cfg->n_apikeys == 0) {
        rc = cfg_fail(&c, "", "api_keys", "at least one relying party key is needed");
        goto out;
    }
    if (cfg->tsa_url[0] && strncmp(cfg->tsa_url, "http://", 7) != 0 && strncmp(cfg->tsa_url, "https://", 8) != 0) {
        rc = cfg_fail(&c, "", "tsa_url", "must start with http:// or https://");
        goto out;
    }
    if (cfg->tsa_url[0] && !cfg->tsa_trust[0]) {
        rc = cfg_fail(&c, "", "tsa_trust", "is needed with tsa_url (the TSA's root certificates)");
        goto out;
    }
    if (json_object_get(root, "archive")) {
        json_t *ar = json_object_get(root, "archive");
        if ((rc = load_section(&c, "archive", archive_opts, ar, &cfg->archive, archive_extra)) != CFG_OK)
            goto out;
        if ((rc = cfg_load_archive(&c, ar, cfg)) != CFG_OK)
            goto out;
    }
out:
    json_decref(empty);
    json_decref(root);
    if (rc != CFG_OK) {
        if (rc == CFG_ERR_NOMEM)
            snprintf(err, errlen, "%s: out of memory", path);
        cfg_free(cfg);
        return rc;
    }
    *out = cfg;
    return CFG_OK;
}

void cfg_free(struct cfg *cfg)
{
    if (!cfg)
        return;
    cfg_free_apikeys(cfg);
    cfg_rp_names_free(cfg);
    OPENSSL_cleanse(cfg, sizeof(*cfg));
    free(cfg);
}

const struct cfg_carrier *cfg_carrier_by_name(const struct cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_carriers; i++)
        if (strcmp(cfg->carriers[i].name, name) == 0)
            return &cfg->carriers[i];
    return NULL;
}

const struct cfg_carrier *cfg_carrier_by_net(const struct cfg *cfg, int net)
{
    for (size_t i = 0; i < cfg->n_carriers; i++)
        if (net > 0 && net < CFG_NET_MAX && (cfg->carriers[i].route_nets & (1u << net)))
            return &cfg->carriers[i];
    return NULL;
}

static void print_opts(FILE *f, const char *section, const struct cfg_opt *opts)
{
    static const char *const tnames[] = {"string", "integer", "port",    "32 hex digits",
                                         "level",  "format",  "boolean", "integer"};
    fprintf(f, "\n[%s]\n", section);
    for (const struct cfg_opt *o = opts; o->name; o++) {
        char bounds[48] = "";
        if (o->type == OPT_UINT || o->type == OPT_U64)
            snprintf(bounds, sizeof(bounds), " %lu..%lu", o->min, o->max);
        fprintf(f, "  %-24s %s%s%s%s%s\n      %s%s\n", o->name, tnames[o->type], bounds,
                o->def && *o->def ? ", default " : "", o->def && *o->def ? o->def : "",
                (o->flags & OPT_REQUIRED) ? ", required" : "", o->help,
                (o->flags & OPT_SECRET) ? " (secret: may be given as <name>_file)" : "");
    }
}

void cfg_print_reference(void *file)
{
    FILE *f = file;
    fprintf(f, "simpki configuration: a JSON object with these settings.\n");
    print_opts(f, "top level", top_opts);
    print_opts(f, "redis", redis_opts);
    cfg_print_sentinels(f);
    print_opts(f, "carriers[] (one per network, or one per MSSP serving the networks of its route)", carrier_opts);
    print_opts(f, "carriers[].links[] (one per link; or carriers[].smpp[]: every link transport smpp)", link_opts);
    print_opts(f, "carriers[].links[] with transport smpp (one per SMSC bind)", smpp_opts);
    print_opts(f, "carriers[].links[] with transport etsi204 (one per mobile signature service endpoint)", etsi_opts);
    print_opts(f, "ca (optional: drives enrolment requests through the SIM and the CA)", ca_opts);
    print_opts(f, "ca.cmp (the CA's CMP endpoint, RFC 4210 / 9480)", cmp_opts);
    print_opts(f, "merge (optional: the merger review's batch runner, gateway/merge/gw_plan.h)", merge_opts);
    print_opts(f, "tls (optional: the API listener speaks https, TLS 1.2+ only)", tls_opts);
    print_opts(f, "limits (optional: overload control of each instance, gateway/api/gw_admit.h)", limits_opts);
    print_opts(f, "archive (optional: the evidence archive in PostgreSQL, docs/archive.md)", archive_opts);
    cfg_print_archive(f);
    cfg_print_apikeys(f);
}
