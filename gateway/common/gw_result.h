/*
 * gw_result.h - every result a signature request can have, defined once.
 *
 * A result is a stable code ("USER_CANCEL", "BUSY"...).  This table says,
 * for each, what the JSON API answers (HTTP status; "error" for a refusal,
 * "result" for a transaction's outcome), what ETSI TS 102 204 status it is
 * (the etsi_status stored with a transaction, and the status or fault
 * subcode of the SOAP endpoint) and which SOAP 1.2 fault carries it.  The
 * engine stores the ETSI code this table gives; the JSON API and the SOAP
 * endpoint take status and fault from it; docs/results.md is generated from
 * it (`simpkid --results-markdown`), and a test fails when they differ.
 *
 * Three kinds of rows:
 *   REFUSAL   the request was refused before any transaction existed
 *             (HTTP 4xx/5xx; SOAP fault)
 *   OUTCOME   a transaction finished with this result (HTTP 200 with the
 *             transaction; SOAP: success in Status, a failure as a fault)
 *   PROGRESS  a transaction is under way (202 / ETSI 100 or 504)
 * INTERNAL_ERROR and NO_CERTIFICATE are both a refusal and an outcome
 * (GW_RES_REFUSAL | GW_RES_OUTCOME): their HTTP status is the refusal's
 * (NO_CERTIFICATE: a certificate lookup of a number without one); as an
 * outcome, like every other, a finished transaction is HTTP 200.
 */
#ifndef SIMPKI_GW_RESULT_H
#define SIMPKI_GW_RESULT_H

#include <stddef.h>
#include <stdio.h>

#define GW_RES_REFUSAL  0x1u
#define GW_RES_OUTCOME  0x2u
#define GW_RES_PROGRESS 0x4u

struct gw_result {
    const char *code;    /* stable code */
    unsigned kinds;      /* GW_RES_* bits */
    int http;            /* HTTP status the JSON API answers with */
    int etsi;            /* ETSI TS 102 204 status code */
    const char *meaning; /* one line, for the docs */
};

/* The row of code; NULL when there is none (a bug: every code the gateway emits has a row). */
const struct gw_result *gw_result_find(const char *code);

/* The ETSI status of code: 900 (INTERNAL_ERROR) for a code without a row. */
int gw_result_etsi(const char *code);

/* The HTTP status of code: 500 for a code without a row. */
int gw_result_http(const char *code);

/*
 * The SOAP 1.2 fault code a failure travels in: "Sender" for the client's
 * own mistakes (ETSI 101..109), "Receiver" for everything else; NULL for a
 * success or progress (which travel in Status, not in a fault).
 */
const char *gw_result_soap_fault(const struct gw_result *r);

/* The whole table, in documentation order. */
const struct gw_result *gw_result_table(size_t *n);

/* The table as docs/results.md's Markdown (the ETSI names from carriers' status table). */
void gw_result_markdown(FILE *f);

#endif /* SIMPKI_GW_RESULT_H */
