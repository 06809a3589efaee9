/*
 * gw_admin.h - what the modules of simpki-admin share.
 *
 * simpki-admin's modules: gw_admin.c (command line, show, delete,
 * hash-key), gw_admin_import.c (registry import, and the one write path
 * every certificate takes into the registry), gw_admin_fetch.c (fetch-cert:
 * certificates from a signature service), gw_admin_decode.c (the PDU and
 * SMS decoders), gw_admin_requests.c (import-requests), gw_admin_archive.c
 * (verify-archive: the evidence archive in PostgreSQL), and the commands
 * that go through the daemon's API: gw_admin_plan.c (merger plans) over
 * gw_admin_api.c (the client), with gw_admin_out.c (tables, progress); and
 * gw_admin_events.c (events, archive-export, archive-drop: the evidence
 * archive in PostgreSQL, through ar_db.h).  Each command returns one of the exit codes
 * below; main() hands it to exit() as is, so scripts can tell a refused input (1) from a mistyped command line (2).
 *
 * Output conventions: results go to stdout, errors and warnings to stderr,
 * one line each, starting with "error: " or "warning: ".  Subscriber
 * numbers are masked (log_msisdn) unless the operator asked for the record.
 * Nothing prints key material or API tokens, except hash-key's freshly
 * generated token, once, on purpose.
 */
#ifndef SIMPKI_GW_ADMIN_H
#define SIMPKI_GW_ADMIN_H

#include <stddef.h>
#include <stdint.h>

enum gw_admin_exit {
    GW_ADMIN_OK = 0,
    GW_ADMIN_FAIL = 1,  /* the command ran and failed: bad input, Redis down, not found */
    GW_ADMIN_USAGE = 2, /* the command line itself is wrong */
};

struct cfg;

/*
 * Load the configuration given with -c (path NULL: a usage error "this
 * command needs -c CONFIG").  Problems are printed; on GW_ADMIN_OK *cfg
 * owns it (cfg_free), else *cfg is NULL.
 */
enum gw_admin_exit gw_admin_load_cfg(const char *path, struct cfg **cfg);

/*
 * Parse hex digits (upper or lower case; spaces, tabs, newlines and ':'
 * between octets are ignored) into out[0..cap).  Returns the number of
 * octets, or -1 on an odd digit count, a non-hex character or more than cap
 * octets.  Never reads past the NUL of `hex`.
 */
long gw_admin_hex_parse(const char *hex, uint8_t *out, size_t cap);

/* Print `n` octets as lowercase hex, `per_line` octets a line, each line
 * starting with `indent`; per_line 0 prints one line. */
void gw_admin_hex_print(const char *indent, const uint8_t *p, size_t n, size_t per_line);

#endif /* SIMPKI_GW_ADMIN_H */
