/*
 * gw_admin.h - what the modules of simpki-admin share.
 *
 * simpki-admin is four modules: gw_admin.c (command line, show, delete,
 * hash-key), gw_admin_import.c (registry import, and the one write path
 * every certificate takes into the registry), gw_admin_fetch.c (fetch-cert:
 * certificates from a signature service) and gw_admin_decode.c (the PDU and
 * SMS decoders).  Each command returns one of the exit codes below;
 * main() hands it to exit() as is, so scripts can tell a refused input (1)
 * from a mistyped command line (2).
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
