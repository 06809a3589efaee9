/*
 * gw_api_evidence.h - the JSON API's door to the evidence archive:
 *
 *   GET /v1/signatures/{id}/evidence
 *
 * answers the transaction's evidence bundle (gateway/archive/ar_evidence.h;
 * its members are docs/evidence.md's), which a person verifies offline with
 * docs/evidence/verify-evidence.sh.
 *
 * Who may ask: the relying party that owns the transaction (role "sign":
 * another relying party's id reads exactly like an unknown one, 404
 * NOT_FOUND), and an auditor (role "audit", CFG_ROLE_AUDIT: any relying
 * party's).  The router checks that the key holds one of the two.
 *
 * Answers: 200 the bundle ("anchor": null with a "note" while the row waits
 * for its timestamp); 404 NOT_FOUND (not archived yet, or not yours), 404
 * NOT_CONFIGURED (no "archive" section); 405 METHOD_NOT_ALLOWED (GET only);
 * 503 UNAVAILABLE with Retry-After (PostgreSQL away).
 */
#ifndef SIMPKI_GW_API_EVIDENCE_H
#define SIMPKI_GW_API_EVIDENCE_H

struct ar;
struct evhttp_request;

/* Path suffix after "/v1/signatures/{id}". */
#define GW_EVIDENCE_SUFFIX "/evidence"

/*
 * Handle a request for "/v1/signatures/{id}/evidence" (id given, not
 * NUL-terminated: id_len octets), authenticated as relying party rp with
 * roles (CFG_ROLE_* bits).  a is the archive (NULL: off).  Answers now or
 * once PostgreSQL answers; the client may go away meanwhile.
 */
void gw_api_evidence_handle(struct ar *a, struct evhttp_request *req, const char *id, unsigned long id_len,
                            const char *rp, unsigned roles);

#endif /* SIMPKI_GW_API_EVIDENCE_H */
