/*
 * gw_admin_fetch.h - simpki-admin fetch-cert: fill or refresh the registry
 * from the mobile signature service (MSSP) that serves a number.
 *
 * Each number is routed as the gateway routes it (the registry's carrier for
 * a ported number, else its prefix), then asked of that carrier's links that
 * can look a subscriber up (car_ops.lookup: etsi204's MSS_Registration), in
 * priority order, on a private event loop; a link that cannot answer now
 * (AGAIN) passes to the next, an answer "no such subscriber / no
 * certificate" ends the number.  The certificate goes through the import's
 * checks and write (gw_admin_import_cert), so there is one way into the
 * registry.  One line per number on stdout ("ok ...") or stderr ("error:
 * ..."); numbers are masked.
 */
#ifndef SIMPKI_GW_ADMIN_FETCH_H
#define SIMPKI_GW_ADMIN_FETCH_H

#include "gw_admin.h"

struct cfg;

/* GW_ADMIN_FAIL when any number failed (the others are still written). */
enum gw_admin_exit gw_admin_fetch_cert(const struct cfg *cfg, int argc, char **argv);

#endif /* SIMPKI_GW_ADMIN_FETCH_H */
