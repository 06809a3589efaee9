/*
 * sim_scen.h - the simulator's scenario file: carriers (one SMSC each) and
 * the virtual SIMs they host.
 *
 *   { "carriers": [ {"name":"viettel", "port":27751, "system_id":"simpki",
 *                    "password":"vt-test", "master_key":"<32 hex>",
 *                    "service_number":"9191"}, ... ],
 *     "defaults": {"delay_ms": 300},
 *     "pki": "dir of mkpki.sh output, relative to this file or absolute",
 *     "subscribers": [ {"msisdn":"84960000001", "carrier":"viettel",
 *                       "iccid":"8984040000960000001", "kv":1,
 *                       "key":"subs/84960000001.key.pem",
 *                       "cert":"subs/84960000001.crt.der",
 *                       "behaviour":"confirm", "delay_ms":300}, ... ] }
 *
 * "key"/"cert" are relative to "pki" (or absolute) and optional: a card
 * without a key ("key" absent or "") answers SIGN with NO_KEY and accepts
 * GENKEY; the key of a "no_key" subscriber is not loaded, for the same
 * reason.  "genkey_key" (optional, same paths) is the PEM key the card's
 * first GENKEY on key ref 0x01 answers instead of a random one
 * (sim_card_preset_genkey), so that a CA answering one fixed certificate can
 * certify it; behaviours apply as usual (wrong_key then signs the CSR with
 * another key).  "behaviour" is
 * a name of sim_card.h ("confirm", "cancel", ...) or its two-digit code;
 * "delay_ms" defaults to defaults.delay_ms (5000 for "slow").  A port of 0
 * takes an ephemeral port (printed in the ready line).
 *
 * "mssp" (optional) adds the ETSI TS 102 204 front (sim_mssp.h):
 *
 *     "mssp": {"port": 27760, "cert": "mssp/server.crt.pem",
 *              "key": "mssp/server.key.pem", "client_ca": "mssp/ca.pem",
 *              "ap_id": "http://ap.simpki.test", "ap_pwd": "ap-test",
 *              "mssp_id": "http://hmssp.mobile-id.vn", "keep_s": 300}
 *
 * with cert/key/client_ca relative to "pki" (or absolute), like the
 * subscribers' keys.  "keep_s" (optional, 1..86400, default 300): how long
 * a transaction is kept after its answer is known and after the last
 * request about it (sim_mssp_txn.h).  A subscriber may carry "fault": NNN (100..999, default
 * 900), the code the soap_fault behaviour answers.
 *
 * Loading is all-or-nothing and the error names the offending entry.  The
 * scenario owns its cards; master keys are wiped by sim_scen_free().
 */
#ifndef SIMPKI_SIM_SCEN_H
#define SIMPKI_SIM_SCEN_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"
#include "sim_card.h"

#define SIM_MAX_CARRIERS 8

/* A carrier's SMSC as the scenario declares it.  Plain data, read-only after load. */
struct sim_carrier_cfg {
    char name[16];
    uint16_t port;
    char system_id[16]; /* SMPP 3.4: 15 + NUL */
    char password[9];   /* 8 + NUL; a test value, but still never logged */
    uint8_t master_key[16];
    char service_number[21];
};

/* The MSSP front as the scenario declares it; paths resolved.  Read-only after load. */
struct sim_mssp_cfg {
    uint16_t port;
    char cert[1024];      /* PEM server certificate chain */
    char key[1024];       /* PEM server key */
    char client_ca[1024]; /* PEM CA(s) a client certificate must chain to */
    char ap_id[256];
    char ap_pwd[128]; /* a test value, but still never logged; wiped by sim_scen_free */
    char mssp_id[256];
    unsigned keep_s; /* transactions are forgotten keep_s after their answer and their last request */
};

struct sim_scen;

/* Load and validate; on failure *out is NULL and err holds "file: where: what". */
enum car_err sim_scen_load(const char *path, struct sim_scen **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* sim_scen_free(NULL) does nothing. */
void sim_scen_free(struct sim_scen *s);

size_t sim_scen_n_carriers(const struct sim_scen *s);
const struct sim_carrier_cfg *sim_scen_carrier(const struct sim_scen *s, size_t i);
size_t sim_scen_n_cards(const struct sim_scen *s);
/* The "mssp" section, or NULL when the scenario has none. */
const struct sim_mssp_cfg *sim_scen_mssp(const struct sim_scen *s);
/* The subscriber's "fault" (soap_fault behaviour): 900 when not given or unknown number. */
unsigned sim_scen_fault(const struct sim_scen *s, const char *msisdn);

/*
 * The card with this msisdn and the index of its carrier, or NULL.  The card
 * stays owned by the scenario.
 */
struct sim_card *sim_scen_find(const struct sim_scen *s, const char *msisdn, size_t *carrier);

#endif /* SIMPKI_SIM_SCEN_H */
