/*
 * gw_admin_decode.h - the operator's decoders: an SMPP PDU, or the user data
 * of SPKA/1 short messages, taken apart layer by layer as in
 * shared/specs/sim-applet-ota.md:
 *
 *   SMPP PDU -> mandatory fields, TLVs -> UDH -> secured packet header
 *            -> (with keys) CC check, CNTR, PoR status -> SPKA/1 fields
 *
 * Input is treated as hostile (it usually comes from a carrier's trace): a
 * PDU goes through car_pdu's framing and pre-check before anything else reads
 * it, every read is bounded, and a refusal says which layer refused and why.
 * Printed strings from the input are escaped, so a PDU cannot write control
 * sequences to the operator's terminal.
 *
 * Keys: per-SIM keys are diversified from a master key and wiped before
 * return; no key octet is ever printed.
 */
#ifndef SIMPKI_GW_ADMIN_DECODE_H
#define SIMPKI_GW_ADMIN_DECODE_H

#include <stdint.h>

#include "gw_admin.h"

/* decode-pdu: one PDU in hex.  Addresses are masked unless unmask is set. */
enum gw_admin_exit gw_admin_decode_pdu(const char *hex, int unmask);

/*
 * decode-ud: SMS user data segments (UDH included), in any order.
 * mk is the master key (NULL: no keys, stop at the packet header); iccid may
 * be NULL only when mk is; kv is the key version, 0 to take it from the
 * command packet's KIc (1 for a response).  The caller wipes mk.
 */
enum gw_admin_exit gw_admin_decode_ud(const char *const *hex, int n, const uint8_t mk[16], const char *iccid,
                                      unsigned kv);

#endif /* SIMPKI_GW_ADMIN_DECODE_H */
