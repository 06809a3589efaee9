/*
 * sim_mssp.h - the simulator's mobile signature service (MSSP): ETSI TS 102
 * 204 with the Government CA's profile (docs/vgca/), over HTTPS, in front of
 * the same virtual cards as the SMSCs (sim_card.h), so every subscriber of the
 * scenario is reachable through either transport.
 *
 * One listener on 127.0.0.1 (evhttp over bufferevent_openssl, on the
 * simulator's event_base): TLS 1.2+, the scenario's server certificate, and a
 * client certificate chaining to "client_ca" is required (a handshake without
 * one fails).  Paths:
 *
 *   POST /soap/services/MSS_SignaturePort      MSS_Signature (synch, asynchClientServer)
 *   POST /soap/services/MSS_StatusQueryPort    MSS_StatusQuery
 *   POST /soap/services/MSS_ReceiptPort        MSS_Receipt
 *   POST /soap/services/MSS_ProfileQueryPort   MSS_ProfileQuery
 *   POST /soap/services/MSS_RegistrationPort   MSS_Registration
 *   GET  /sim/prompts/<msisdn>                 {"etsi": n}: new MSS_Signature
 *                                              requests that reached the card
 *
 * AP_Info must carry the scenario's ap_id/ap_pwd (else fault 104); a repeated
 * AP_TransID of the same AP_ID is the same transaction (same MSSP_TransID,
 * no second prompt).  The behaviours of the number plan map to their MSSP
 * form as tests/sim/README.md says ("over ETSI 204").  Synchronous holds,
 * the slow drip and the 100 MB body are timers and write callbacks: the loop
 * never blocks.
 */
#ifndef SIMPKI_SIM_MSSP_H
#define SIMPKI_SIM_MSSP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct sim_scen;
struct sim_mssp;

/*
 * Listen as the scenario's "mssp" section says (sim_scen_mssp() must not be
 * NULL).  The scenario must outlive the MSSP.  NULL on failure, err (may be
 * NULL) saying why (a certificate that does not load, a port in use...).
 */
struct sim_mssp *sim_mssp_new(struct event_base *base, struct sim_scen *scen, char *err, size_t errlen);
/* Drop held requests and transactions, close every connection.  sim_mssp_free(NULL) does nothing. */
void sim_mssp_free(struct sim_mssp *m);

/* The port actually listened on. */
uint16_t sim_mssp_port(const struct sim_mssp *m);

#endif /* SIMPKI_SIM_MSSP_H */
