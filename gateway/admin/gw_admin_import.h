/*
 * gw_admin_import.h - load subscribers into the Redis registry.
 *
 * The file is JSON (an array of objects) or CSV (a header row naming the
 * columns, RFC 4180 quoting); it is JSON when its first non-blank character
 * is '['.  Fields:
 *
 *   msisdn     required; any form car_msisdn_normalise() takes
 *   carrier    viettel | vinaphone | mobifone, or empty to route by prefix;
 *              a warning is printed when it differs from the prefix (ported)
 *   iccid      18-20 digits; a bad Luhn check digit is a warning; required
 *              when the number's carrier has an SMPP link (OTA keys are
 *              diversified from it), optional for a carrier served only
 *              over an MSSP (etsi204)
 *   kv         OTA key version 1..15; required as iccid is
 *   cert_file  DER or PEM file (relative paths are taken from the import
 *              file's directory), or
 *   cert       base64 DER (exactly one of the two)
 *   status     active (default) | suspended | revoked
 *   cs         0 (default) | 1: the number in use was moved onto the SIM
 *              PKI (a "/cs" SIM; the registry's "cs" field, q.h).  Also
 *              given by writing the carrier with "/cs" ("viettel/cs"); a
 *              0 here with such a carrier is an error.  JSON: also an
 *              integer or a boolean.  A row without it clears the field.
 *
 * All rows are validated first, the certificate with sig_cert_admit()
 * against the configured trust anchors at the current time.  Nothing is
 * written unless every row is valid; errors are reported one line per
 * problem: "row 7 (msisdn 8496****001): iccid: must be 18-20 digits".
 * Rows are numbered from 1, not counting a CSV header.
 */
#ifndef SIMPKI_GW_ADMIN_IMPORT_H
#define SIMPKI_GW_ADMIN_IMPORT_H

#include "gw_admin.h"

struct cfg;
struct q_sub;
struct q_sync;
struct sig_trust;

/* dry_run: validate only, never connect to Redis. */
enum gw_admin_exit gw_admin_import(const struct cfg *cfg, const char *path, int dry_run);

/*
 * One subscriber's certificate (DER) through the same checks and write as
 * an import row, for simpki-admin fetch-cert: base gives the record as it
 * stands (msisdn required; net, iccid, kv, status may be 0/"" for a new
 * subscriber: routed by prefix, status active).  The certificate is checked
 * with sig_cert_admit against trust at the current time; an existing
 * subscriber whose certificate changes gets the import's repin.  Problems
 * go to stderr, one line each ("error: msisdn 8491***678: cert: ...").
 * trust and qs are borrowed.
 */
enum gw_admin_exit gw_admin_import_cert(const struct cfg *cfg, struct sig_trust *trust, struct q_sync *qs,
                                        const struct q_sub *base, const uint8_t *der, size_t len);

#endif /* SIMPKI_GW_ADMIN_IMPORT_H */
