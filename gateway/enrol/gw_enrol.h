/*
 * gw_enrol.h - certificate requests of the provincial process as API
 * resources: new certificate for a person (Mẫu 01) or an organisation
 * (Mẫu 03), change or renewal (Mẫu 07), revocation (Mẫu 09), key-device
 * handover record (Mẫu 14).
 *
 *   POST /v1/requests                       file a request        -> 201
 *   GET  /v1/requests?unit=&state=&form=&limit=&offset=
 *   GET  /v1/requests/{id}
 *   POST /v1/requests/{id}/transitions      {"to": STATE, "by": NAME, "note": TEXT}
 *   GET  /v1/requests/{id}/form             the filled-in A4 form (HTML)
 *   GET  /v1/requests/export?format=csv|json&state=&unit=&form=   for the CA
 *
 * A stored request is {"id", "state", "rev", "created_at", "updated_at",
 * "created_by", "history": [{"state", "at", "by", "note"}...], "warnings": [...],
 * "request": {...}} where "request" is exactly the object gw_forms.h
 * describes, so what is filed is what prints.
 *
 * States and the transitions allowed (one table in gw_enrol.c):
 *
 *   submitted  -> confirmed (by the managing body) | rejected
 *   confirmed  -> sent_to_ca | rejected | failed
 *   sent_to_ca -> issued | done (revocation) | failed | rejected
 *   issued     -> installed (on the SIM) | failed
 *   installed  -> done
 *   handover:  submitted -> done (devices received) | rejected
 *
 * Every transition is recorded with who (the API key's relying party and the
 * "by" named in the call) and when.  A transition is a compare-and-set on the
 * request's revision in one Lua script, so two operators (or instances)
 * cannot both move the same request.
 */
#ifndef SIMPKI_GW_ENROL_H
#define SIMPKI_GW_ENROL_H

struct evhttp_request;
struct q;
struct cfg;
struct gw_enrol;

struct gw_enrol *gw_enrol_new(const struct cfg *cfg, struct q *q);
/* gw_enrol_free(NULL) does nothing. */
void gw_enrol_free(struct gw_enrol *en);

/*
 * Handle a request whose path starts with /v1/requests, already
 * authenticated as relying party rp.  Returns 1 when handled (answered now
 * or later), 0 when the path is not ours.
 */
int gw_enrol_handle(struct gw_enrol *en, struct evhttp_request *req, const char *path, const char *rp);

/* Exposed for unit tests: 1 when `from` may move to `to` for this form. */
int gw_enrol_transition_allowed(const char *form, const char *from, const char *to);

#endif /* SIMPKI_GW_ENROL_H */
