/*
 * sim_smsc.h - one carrier's simulated SMSC: the SMSC side of SMPP 3.4 on a
 * loopback port, delivering submit_sm to the virtual SIMs of the scenario
 * and their PoRs back as deliver_sm.
 *
 * Per connection: bind_transmitter / bind_receiver / bind_transceiver
 * (system_id and password from the scenario), enquire_link, unbind,
 * submit_sm (answered with submit_sm_resp and, when registered_delivery asks
 * for it, a delivery receipt), deliver_sm_resp tracking, generic_nack for
 * unknown commands.  Several ESMEs may be bound at once; a deliver_sm goes
 * to the bound receiver/transceiver used least recently, and waits (up to
 * two minutes, like an SMSC's store and forward) while none is bound.
 *
 * Transport behaviours of the number plan are applied here (drop the link,
 * throttle, permanent error, replayed PoR, hostile PDUs, shuffled segments,
 * 16-bit concatenation reference); the card (sim_card.h) decides the PoR.
 *
 * Everything runs on the event_base given to sim_smsc_new(); one thread.
 */
#ifndef SIMPKI_SIM_SMSC_H
#define SIMPKI_SIM_SMSC_H

#include <stddef.h>
#include <stdint.h>

#include "car.h"

struct event_base;
struct sim_scen;
struct sim_smsc;

/*
 * Listen on 127.0.0.1 at the port of carrier `ci` of the scenario (0 = an
 * ephemeral port, see sim_smsc_port).  The scenario must outlive the SMSC.
 * Returns NULL on failure with err (may be NULL) saying why.
 */
struct sim_smsc *sim_smsc_new(struct event_base *base, struct sim_scen *scen, size_t ci, char *err, size_t errlen);
/* Close every connection, drop pending deliveries.  sim_smsc_free(NULL) does nothing. */
void sim_smsc_free(struct sim_smsc *s);

/* The port actually listened on. */
uint16_t sim_smsc_port(const struct sim_smsc *s);

#endif /* SIMPKI_SIM_SMSC_H */
