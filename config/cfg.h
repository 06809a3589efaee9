/*
 * cfg.h - simpki configuration: one JSON file, validated at start.
 *
 * Every setting is declared once, in a table in cfg.c (name, type, bounds,
 * default, help), in the manner of Redis's createIntConfig.  The loader walks
 * that table, so an error always names the key and what is wrong with it:
 *
 *     simpki.json: carriers[0].smpp[0].port: out of range 1..65535
 *
 * A carrier's links are listed under "links" (each with a "transport") or,
 * as before, under "smpp" (transport "smpp" implied).
 *
 * Secrets (SMPP passwords, OTA master keys, Redis password) may be given
 * inline or, better, as "<name>_file": a path whose first line is the secret.
 * API keys are never stored in clear: the file holds their SHA-256.
 *
 * A loaded struct cfg is read-only for the life of the process; it is the
 * only global-like object and is passed explicitly to whoever needs it.
 * One exception: a reload (SIGHUP, config/cfg_reload.h) replaces, on the
 * event loop thread and between two events, the relying parties (apikeys,
 * n_apikeys), log_level and the trust files' paths.  So a struct cfg_apikey
 * pointer is good only until the current event returns; asynchronous work
 * keeps the relying party's name (cfg_apikey.rp), never the entry.
 * cfg_free() wipes the secrets it holds.
 */
#ifndef SIMPKI_CFG_H
#define SIMPKI_CFG_H

#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_CARRIERS  8
#define CFG_MAX_LINKS     8
#define CFG_MAX_SENTINELS 8

enum cfg_err {
    CFG_OK = 0,
    CFG_ERR_IO = 1,      /* file missing or unreadable */
    CFG_ERR_SYNTAX = 2,  /* not JSON */
    CFG_ERR_INVALID = 3, /* a value is of the wrong type, out of range or missing */
    CFG_ERR_NOMEM = 4,
};

const char *cfg_strerror(enum cfg_err err);

/* The "smpp" transport's section of a link: one SMPP bind towards an SMSC. */
struct cfg_smpp {
    char host[256];
    uint16_t port;
    char system_id[16]; /* SMPP 3.4 limits: 15 + NUL */
    char password[9];   /* 8 + NUL; secret */
    char system_type[13];
    unsigned window; /* outstanding submit_sm without a response */
    unsigned rate;   /* submit_sm per second on this bind, 0 = unlimited */
    unsigned enquire_link_s;
    unsigned response_timeout_s; /* a submit_sm without submit_sm_resp is resent after this */
    unsigned reconnect_min_ms;
    unsigned reconnect_max_ms;
    unsigned throttle_backoff_ms; /* after ESME_RTHROTTLED / ESME_RMSGQFUL */
};

/*
 * The transports the loader can read a link section for.  The name in the
 * file ("transport": "smpp") is what carriers/car.h's car_transport_find()
 * looks up; the enum only says which member of the union below is filled.
 */
enum cfg_transport {
    CFG_TRANSPORT_SMPP = 1,    /* "smpp": SIM OTA over an SMSC bind (default) */
    CFG_TRANSPORT_ETSI204 = 2, /* "etsi204": a mobile signature service, ETSI TS 102 204 over SOAP */
};

/*
 * The "etsi204" transport's section: one mobile signature service (MSSP)
 * endpoint, vGCA profile (docs/vgca/README.md).
 */
#define CFG_ETSI_SYNCH  0 /* "synch": one HTTP request held until the answer */
#define CFG_ETSI_ASYNCH 1 /* "asynch": asynchClientServer, then MSS_StatusQuery polling (default) */
#define CFG_ETSI_PKCS1  0 /* "pkcs1": a raw signature (default) */
#define CFG_ETSI_CMS    1 /* "cms": a CMS SignedData */

struct cfg_etsi {
    char url[256];                     /* base: "https://mssp.example:18083/soap/services/"; port names are appended */
    char ap_id[128];                   /* AP_ID */
    char ap_pwd[128];                  /* AP_PWD; secret */
    char mssp_id[128];                 /* MSSP_ID */
    char profile[128];                 /* SignatureProfile */
    char mode_name[8];                 /* "asynch" | "synch" */
    int mode;                          /* CFG_ETSI_SYNCH / CFG_ETSI_ASYNCH */
    char format_name[8];               /* "pkcs1" | "cms" */
    int format;                        /* CFG_ETSI_PKCS1 / CFG_ETSI_CMS */
    char ca_file[512];                 /* PEM roots the MSSP's TLS certificate must chain to (https) */
    char cert_file[512];               /* PEM client certificate (mutual TLS), "" = none */
    char key_file[512];                /* PEM key of cert_file, "" = in cert_file */
    unsigned timeout_ms;               /* one HTTP request (synch: plus the transaction's time) */
    unsigned poll_min_ms, poll_max_ms; /* MSS_StatusQuery backoff */
    unsigned max_in_flight;            /* HTTP requests under way on this link */
    int receipt;                       /* send MSS_Receipt after a final answer */
    int want_validation;               /* ask signatureValidation (502); never trusted alone */
    unsigned breaker_errors;           /* consecutive transport errors that open the circuit */
    unsigned breaker_open_ms;          /* how long an open circuit skips the link */
};

/*
 * One link towards a carrier, transport-neutral: its name, its transport and
 * that transport's own section.  The carriers' car_ops.open() receives it.
 */
struct cfg_link {
    char name[32];      /* for logs and metrics: "viettel-1" */
    char transport[16]; /* "smpp" (default) or "etsi204" */
    enum cfg_transport kind;
    unsigned priority; /* failover order: lower first; equal priorities share the load */
    union {
        struct cfg_smpp smpp; /* kind == CFG_TRANSPORT_SMPP */
        struct cfg_etsi etsi; /* kind == CFG_TRANSPORT_ETSI204 */
    } u;
};

#define CFG_NET_MAX 8 /* enum car_net values fit below this (route bit mask) */

/*
 * One carrier: a mobile network operator, or a mobile signature service
 * (MSSP) serving several networks.  Numbers route to a network
 * (carriers/car_route.h); "route" maps networks to this carrier.
 */
struct cfg_carrier {
    char name[16];           /* "viettel", "vinaphone", "mobifone", or an MSSP's name */
    char route[64];          /* "viettel" or "viettel,vinaphone"; default: the name */
    unsigned route_nets;     /* bit (1u << enum car_net) per network routed here */
    int net;                 /* the first network of route (one-network carriers: the only one) */
    char service_number[21]; /* source_addr of MT messages */
    /* SIM OTA (transport "smpp"): required when a link uses it, else unused */
    uint8_t ota_master_key[16];    /* secret: MK for key diversification */
    unsigned reassembly_timeout_s; /* give up on an incomplete concatenated PoR */
    size_t n_links;
    struct cfg_link links[CFG_MAX_LINKS];
};

struct cfg_rp_name;

#define CFG_CB_ALLOW_MAX    16 /* callback_allow prefixes per relying party */
#define CFG_CLIENT_CERT_MAX 16 /* client_cert_sha256 fingerprints per relying party (room for rollovers) */

/* One relying party ("api_keys[]"); loaded by cfg_rp.c. */
struct cfg_apikey {
    char name[64];       /* the relying party: transactions are scoped by it */
    const char *rp;      /* the same name, interned: one pointer per name for the life of the struct cfg,
                            across reloads; what asynchronous work may keep (see the top of this file) */
    uint8_t sha256[32];  /* SHA-256 of the bearer token */
    int revocation_soft; /* "revocation": "soft": unknown status passes, with the reason */
    unsigned roles;      /* CFG_ROLE_* bits: what this key may do */
    /* ETSI TS 102 204 endpoint: "ap_id" and the SHA-256 of its AP_PWD (has_ap = 1 when set). */
    char ap_id[256];
    int has_ap;
    uint8_t ap_pwd_sha256[32];
    /*
     * Callbacks: the HMAC-SHA256 key (kept in clear because HMAC needs it;
     * never printed, wiped by cfg_free), the allowed URL prefixes (malloc'd,
     * n_cb_allow of them) and whether http:// is allowed.
     */
    uint8_t cb_secret[64];
    size_t cb_secret_len; /* 0 = no callback_secret */
    char (*cb_allow)[256];
    size_t n_cb_allow;
    int cb_http;
    /*
     * "client_cert_sha256": over TLS this relying party must present a client
     * certificate (verified against tls.client_ca_file) whose DER SHA-256 is
     * one of these (gateway/api/gw_tls.h).  n_client_cert == 0: no such rule.
     */
    uint8_t client_cert_sha256[CFG_CLIENT_CERT_MAX][32];
    size_t n_client_cert;
    /*
     * Overload control (gateway/api/gw_admit.h): signature requests of this
     * relying party accepted by one instance and unfinished, at most (0 =
     * limits.max_in_flight_per_rp); signature requests per second accepted by
     * all instances together (0 = unlimited; counted in Redis, q_rate.h).
     */
    unsigned max_in_flight;
    unsigned rate_per_s;
};

/* What an API key may do ("roles": ["sign", "enrol", "lookup", "operator", "audit"]; default ["sign"]). */
#define CFG_ROLE_SIGN  0x1u /* /v1/signatures: its own transactions */
#define CFG_ROLE_ENROL 0x2u /* /v1/requests: every certificate request (personal data) */
#define CFG_ROLE_LOOKUP                                                        \
    0x4u /* registered certificates: GET /v1/subscribers/{msisdn}/certificate, \
            SOAP MSS_Registration and MSS_ProfileQuery */
/* Merger review plans (/v1/plans, gateway/merge/gw_plan.h): every certificate of whole units. */
#define CFG_ROLE_OPERATOR 0x8u
/* Evidence bundles of every relying party's signatures (GET /v1/signatures/{id}/evidence, docs/archive.md). */
#define CFG_ROLE_AUDIT 0x10u

struct cfg_redis {
    char host[256];
    uint16_t port;
    char unix_socket[256]; /* used instead of host:port when set */
    char password[128];    /* secret; empty = no AUTH */
    unsigned db;
    unsigned shards; /* number of hash-tag shards for per-subscriber keys */
    unsigned connect_timeout_ms;
    /*
     * Redis Sentinel (queue/q_sentinel.h): with n_sentinels > 0 the master is
     * the one these sentinels name master_name; host/port/unix_socket are not
     * used.  sentinel_password: the sentinels' AUTH (secret), "" = none.
     */
    struct cfg_hostport {
        char host[256];
        uint16_t port;
    } sentinels[CFG_MAX_SENTINELS];
    unsigned n_sentinels;
    char master_name[64];
    char sentinel_password[128];
    /*
     * Durability: with wait_replicas N > 0 a state-changing script's answer
     * is given only after WAIT N wait_timeout_ms counted N replicas (else the
     * call fails with Q_ERR_AGAIN).  0 = off.
     */
    unsigned wait_replicas;
    unsigned wait_timeout_ms;
};

/*
 * The CA connector and the lifecycle engine (gateway/life/gw_life.h): present
 * only when the file has a "ca" section; without it enrolment requests are
 * moved by hand as before.  The "cmp" object is signer/sig_cmp.h's
 * configuration: PBM (pbm_ref + pbm_secret) or an RA certificate and key.
 */
#define CFG_KEY_RSA2048 1 /* SPKA/1 key algorithm codes */
#define CFG_KEY_ECP256  2

struct cfg_ca {
    int enabled; /* 1 when the file has a "ca" section */
    /* ca.cmp */
    char server[256];
    uint16_t port;
    char path[256];
    unsigned timeout_s;
    char pbm_ref[128];
    char pbm_secret[256]; /* secret */
    char ra_cert[512], ra_key[512], ra_chain[512];
    char srv_cert[512], srv_trust[512];
    /* ca */
    char key_alg_name[16];  /* "rsa2048" | "ecp256" */
    int key_alg;            /* CFG_KEY_*, from key_alg_name */
    unsigned sim_timeout_s; /* deadline of one SIM command (GENKEY, CSR, PUTCERT) */
    unsigned tick_ms;       /* how often each instance looks for due requests */
    unsigned lease_s;       /* a claimed request is left alone by others this long */
    unsigned max_attempts;  /* of one step failing for a temporary reason */
};

/*
 * "tls": when present, the API listener (listen_host:listen_port: the JSON
 * API, the SOAP endpoint, /healthz, /metrics) speaks TLS 1.2+ only
 * (gateway/api/gw_tls.h).  cfg_load checks the files (config/cfg_tls.c):
 * readable PEM, the key matches the certificate, client_ca_file holds CAs.
 */
struct cfg_tls {
    int enabled;              /* 1 when the file has a "tls" section */
    char cert_file[512];      /* PEM: the server certificate, then its intermediates */
    char key_file[512];       /* PEM: its private key, unencrypted */
    char client_ca_file[512]; /* PEM: CAs client certificates are verified against; "" = none asked */
};

/* The merger review's batch runner (gateway/merge/gw_plan.h): the "merge" section, all optional. */
struct cfg_merge {
    unsigned max_in_flight;   /* requests of one plan filed and not finished, at most */
    unsigned per_tick;        /* requests one runner files per tick, at most */
    unsigned tick_ms;         /* how often each instance looks for plans to run */
    unsigned lease_s;         /* a plan an instance runs is left alone by the others this long */
    unsigned max_input_bytes; /* POST /v1/plans: the two files together */
};

/*
 * Overload control, per instance (gateway/api/gw_admit.h): the "limits"
 * section, all optional.  Beyond max_in_flight a signature request is
 * refused at once (503 OVERLOADED); beyond its relying party's own bound
 * (api_keys[].max_in_flight, else max_in_flight_per_rp; 0 = none) with 429
 * RATE_LIMITED; both with Retry-After: retry_after_s.  Long polls beyond
 * max_long_polls are answered at once with the transaction as it is.
 */
struct cfg_limits {
    unsigned max_in_flight;
    unsigned max_in_flight_per_rp;
    unsigned retry_after_s;
    unsigned max_long_polls;
};

/*
 * "archive": the evidence archive in PostgreSQL (docs/archive.md).  Absent:
 * enabled 0, no events are written and nothing here is used.
 */
struct cfg_archive {
    int enabled;
    char conninfo[1024];   /* libpq connection string ("host=/run/postgresql dbname=simpki") */
    char password[128];    /* secret, from "password_file"; "" = libpq's own ways */
    unsigned batch;        /* events per database call, default 500 */
    unsigned poll_ms;      /* an idle archiver reads again after this, default 200 */
    unsigned claim_idle_s; /* another instance takes unacknowledged entries after this, default 30 */
    uint64_t max_backlog;  /* entries per stream before new signatures are refused, default 50000 (about 4 KB each) */
    unsigned anchor_interval_s; /* RFC 3161 over moved chain heads every this (needs tsa_url), 0 = never; default 600 */
    unsigned retention_sign_years; /* "retention_years": {"sign": 10, "cert": 20}; 0 = keep for ever */
    unsigned retention_cert_years;
};

struct cfg {
    char path[512]; /* where it was loaded from, for messages */

    /* HTTP API */
    char listen_host[64];
    char soap_mssp_id[256]; /* the MSSP_ID the SOAP endpoint notifies with (gateway/api/gw_soap.h) */
    uint16_t listen_port;
    unsigned max_body_bytes;
    unsigned long_poll_max_s;

    /* logging */
    int log_level;     /* enum log_level */
    int log_format;    /* enum log_format */
    char instance[64]; /* "instance": this instance's name in logs and metrics, "" = none */

    /* transactions */
    unsigned txn_timeout_s;   /* how long the official has to answer */
    unsigned txn_retention_s; /* how long a finished transaction stays readable */
    unsigned sweep_interval_ms;
    unsigned user_timeout_s;   /* SPKA/1 tag 85: time the SIM gives the official */
    unsigned resubmit_lease_s; /* a command no SMSC has accepted after this is resubmitted */

    /* signer */
    char trust_anchors[512];        /* PEM file of root certificates */
    char intermediates[512];        /* PEM file of issuing CAs, may be empty */
    int revocation_check;           /* 1: OCSP/CRL check of every signing certificate */
    unsigned revocation_timeout_ms; /* per fetch */
    char tsa_url[512];              /* RFC 3161 TSA (http/https) for CMS signatures (CAdES-B-T); "" = none */
    char tsa_trust[512];            /* PEM file of the TSA's trust anchors; required with tsa_url */
    unsigned tsa_timeout_ms;        /* per timestamp request */

    struct cfg_redis redis;

    size_t n_carriers;
    struct cfg_carrier carriers[CFG_MAX_CARRIERS];

    size_t n_apikeys;
    struct cfg_apikey *apikeys;
    struct cfg_rp_name *rp_names; /* the interned names (cfg_apikey.rp); cfg_reload.c */

    struct cfg_ca ca;
    struct cfg_merge merge;
    struct cfg_tls tls;
    struct cfg_limits limits;
    struct cfg_archive archive;
};

/*
 * Load and validate `path`.  On success *out owns a new struct cfg (free with
 * cfg_free).  On failure *out is NULL and err holds one line naming the file,
 * the key and the problem.
 */
enum cfg_err cfg_load(const char *path, struct cfg **out, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Wipe secrets and free.  cfg_free(NULL) does nothing. */
void cfg_free(struct cfg *cfg);

/* The carrier with this name, or NULL. */
const struct cfg_carrier *cfg_carrier_by_name(const struct cfg *cfg, const char *name);

/* The carrier whose route names enum car_net `net`, or NULL when none is configured. */
const struct cfg_carrier *cfg_carrier_by_net(const struct cfg *cfg, int net);

/* The relying party (API key) with this name, or NULL. */
const struct cfg_apikey *cfg_apikey_by_name(const struct cfg *cfg, const char *name);

/* The relying party whose "ap_id" is ap_id (exact), or NULL. */
const struct cfg_apikey *cfg_apikey_by_ap_id(const struct cfg *cfg, const char *ap_id);

/*
 * 1 when pwd is k's AP_PWD: its SHA-256 compared in constant time
 * (CRYPTO_memcmp).  0 for a relying party without ap_id.
 */
int cfg_ap_pwd_ok(const struct cfg_apikey *k, const char *pwd);

/*
 * May relying party k be called back at url?  NULL when it may; else a
 * static reason for the client ("callback_url must be https://", "...is
 * not on this relying party's callback_allow list", ...).  Allowed only when
 * k has callback_secret and callback_allow, url is at most 512 octets without
 * spaces or control characters, https:// (or http:// with callback_http), and
 * starts with one of the prefixes.
 */
const char *cfg_callback_check(const struct cfg_apikey *k, const char *url);

/* Print every setting with its type, default and help, for `simpkid --help-config`. */
void cfg_print_reference(void *file /* FILE* */);

#endif /* SIMPKI_CFG_H */
