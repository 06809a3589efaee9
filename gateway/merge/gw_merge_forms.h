/*
 * gw_merge_forms.h - what an approved merger plan files and prints: the
 * certificate request of each row (Mẫu 07, Mẫu 09), the device handover
 * records (Mẫu 14) grouped per receiving body, and one unit's printable
 * bundle.  Pure like gw_merge_rules.h (which includes this header): the
 * rows are gw_merge_plan_build's, the requests gw_forms.h's, and every
 * request built here passes gw_enrol_validate() (test_merge_rules checks it).
 *
 * What the requests hold: unit (the old unit, which files them), date (the
 * plan's "effective"), subscriber {full_name: the holder, organisation: the
 * old unit, id_number for a person}, certificate {serial, subject,
 * valid_to}, sim_pki (the carrier, "/cs" when the number was moved onto the
 * SIM PKI).  doc_no, place and the head of the unit are left blank, to be
 * written by hand: the plan does not know them.  The subscriber's e-mail
 * and phone are left out too: the API refuses a personal e-mail domain or a
 * number on another network, and a certificate already issued is not the
 * place to argue about either.
 */
#ifndef SIMPKI_GW_MERGE_FORMS_H
#define SIMPKI_GW_MERGE_FORMS_H

#include <stddef.h>

#include <jansson.h>

/*
 * The id of the request a plan files for key ("r17" for row 17, "h2" for
 * handover group 2): "r" + the first 20 hex digits of
 * SHA-256("simpki-plan:" plan_id ":" key), a certificate request id as
 * gw_enrol_import.h's, fixed by the plan and the row so that a rerun or a
 * crash between filing and recording finds the request instead of filing
 * it twice.
 */
#define GW_MERGE_REQUEST_ID_LEN 22 /* "r" + 20 hex + NUL: GW_ENROL_ID_LEN */
void gw_merge_request_id(const char *plan_id, const char *key, char out[GW_MERGE_REQUEST_ID_LEN]);

/*
 * The certificate request a row files when the plan runs (the request
 * object of gw_forms.h): "change" -> Mẫu 07, "revoke" -> Mẫu 09; NULL for
 * keep and decide, and for a row without a certificate.  plan is the plan
 * document: its "effective" is the date, its "basis" goes into the wording
 * of a change's reason.  A revocation's reason is the row's (the rule's
 * wording, which gw_life_revoke_reason() maps to the row's reason_code),
 * else the override's.  New reference; NULL also on out of memory.
 */
json_t *gw_merge_row_request(const json_t *plan, const json_t *row);

/*
 * The handover records (Mẫu 14) of the rows: one per receiving body, the
 * devices of every row whose final action is revoke with a handover, in
 * row order; each is {"group": "<n>", "receiver": ..., "rows": [no...],
 * "request": {...}} with group numbers stable for the same rows (groups
 * are numbered from "1" in the order of their first row).  Receivers are
 * matched by gw_merge_name_key().  The request: unit and receiver.unit the
 * receiving body, giver.unit the old unit when every device is from one,
 * devices [{cert_name: holder, organisation: old unit, serial, note}].
 * New reference; NULL on out of memory.
 */
json_t *gw_merge_handovers(const json_t *plan, const json_t *rows);

/*
 * One printable bundle for one old unit: every request the unit's rows
 * file (Mẫu 07, 09) and its handover records (Mẫu 14), each rendered by
 * gw_form_render_body() and joined as one A4 HTML document with a page
 * break between forms and a cover page listing them.  malloc'd; NULL with
 * err set when the unit has no rows, when a request does not render (err
 * names the row and the field) or on out of memory.  unit is matched by
 * gw_merge_name_key().  Each form carries its request id at its foot
 * (gw_merge_request_id), as gw_plan.h files them.
 */
char *gw_merge_bundle_html(const json_t *plan, const json_t *rows, const char *unit, size_t *outlen, char *err,
                           size_t errlen);

#endif /* SIMPKI_GW_MERGE_FORMS_H */
