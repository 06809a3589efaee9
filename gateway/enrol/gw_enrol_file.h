/*
 * gw_enrol_file.h - file a certificate request under an id the caller
 * fixes, and confirm it, exactly as POST /v1/requests followed by a
 * transition to "confirmed" would (the same checks, the same document, the
 * lifecycle engine's hand-over): for callers that file in bulk, the merger
 * batch (gateway/merge/gw_plan.h).
 *
 * Idempotent by id: when a request with that id exists already (a rerun, or
 * a crash between filing and recording it), it is not filed again; one
 * still "submitted" is confirmed, one in any other state is left as it is
 * and reported with that state.  So a batch that files the same id twice
 * never makes two requests.
 */
#ifndef SIMPKI_GW_ENROL_FILE_H
#define SIMPKI_GW_ENROL_FILE_H

#include <jansson.h>

struct cfg;
struct q;

enum gw_enrol_file_result {
    GW_ENROL_FILE_OK = 0,      /* filed (or found); state says where it is */
    GW_ENROL_FILE_AGAIN = 1,   /* the request storage is unavailable: try again later */
    GW_ENROL_FILE_REFUSED = 2, /* the request is not valid, or cannot be confirmed: why says so */
};

/* state and why live only during the call; state is NULL unless OK. */
typedef void gw_enrol_file_cb(void *arg, enum gw_enrol_file_result r, const char *state, const char *why);

/*
 * File request (a gw_forms.h request object; copied, never changed) as id
 * (gw_enrol_import.h's form: "r" + 20 hex), created by relying party rp,
 * and with confirm (a form the lifecycle engine drives) confirm it as
 * `by` with note.  A handover record (Mẫu 14) is only filed: it is closed
 * by hand when the devices are received.
 *
 * Returns 0 when under way: cb is then called once, never inside the call.
 * Returns -1 when refused at once, nothing stored and cb never called: the
 * request is not valid (why names the first finding), the lifecycle engine
 * would not take it when confirmed (why names the field: a "/cs" request
 * without a new SIM, no subscriber.phone), or out of memory.
 * cfg and q are borrowed and must outlive the call.
 */
int gw_enrol_file(const struct cfg *cfg, struct q *q, const char *id, const json_t *request, const char *rp,
                  const char *by, const char *note, int confirm, gw_enrol_file_cb *cb, void *arg, char *why,
                  size_t whylen) __attribute__((warn_unused_result));

#endif /* SIMPKI_GW_ENROL_FILE_H */
