/*
 * gw_enrol_check.h - the content checks of a certificate request: every
 * field of the gw_forms.h request object that gw_valid.h has a rule for is
 * checked and normalised in place, and every finding is reported at once.
 *
 * Normalisation, so that what is stored and printed is canonical: names in
 * capitals with diacritics kept, dates (dd/mm/yyyy as people write them, or
 * YYYY-MM-DD) stored as YYYY-MM-DD, mobile numbers as 0912345678, the SIM PKI
 * field as "Viettel/cs", e-mail domains in lower case, serials in hex.
 *
 * Fields each form requires for the SIM PKI process (beyond what gw_forms
 * itself requires): person_new: subscriber full_name, birth_date, id_number,
 * email, phone and sim_pki; org_new: organisation name and code (an
 * identifier code such as H27.12, a tax code or a budget relation code), the key
 * keeper's full_name, phone and sim_pki; change and revoke: subscriber
 * full_name and certificate serial, or for an organisation's certificate
 * (an organisation object) organisation name and certificate serial.
 * organisation.name is never checked as a person's name (gw_valid_name():
 * "UBND Phường 5", "TP. Thủ Đức"); organisation.code, when given, is
 * checked on every form as org_new's.
 */
#ifndef SIMPKI_GW_ENROL_CHECK_H
#define SIMPKI_GW_ENROL_CHECK_H

#include <jansson.h>

#include "gw_valid.h"

/*
 * Check request (a JSON object shaped as in gw_forms.h) and normalise it in
 * place.  Errors and warnings are appended to the two arrays as
 * {"field": "subscriber.phone", "error": "NOT_SIM_PKI_NETWORK", "message": "…"}.
 * today is the date age checks use (gw_date_from_unix(time(NULL), 7 * 3600)).
 */
void gw_enrol_check_at(json_t *request, const struct gw_date *today, json_t *errors, json_t *warnings);

/* gw_enrol_check_at() with today's date in Việt Nam. */
void gw_enrol_check(json_t *request, json_t *errors, json_t *warnings);

#endif /* SIMPKI_GW_ENROL_CHECK_H */
