/*
 * gw_merge_rules.h - the merger review's rules, as pure functions: which
 * certificates a reorganisation touches, the one action each gets and the
 * rule that chose it, the certificate requests an approved plan files, the
 * difference between two versions of a plan.  No I/O, no Redis, no event
 * loop: gw_plan.c (the API resource) and the CLI use them, and
 * tests/gateway/test_merge_rules.c checks them row by row.
 *
 * THE RULES (the provincial letter's, one id each; ids are stored, never renamed):
 *
 *   organisation certificates (UID "MST:..." or CN equal to O), grouped by new unit:
 *     O1 change  the only organisation certificate of its new unit: Mẫu 07,
 *                O/CN to the new name (and tax/budget code when the
 *                reorganisation asks for them)
 *     O2 keep    the only one, and nothing in its subject changes
 *     O3 change  the new unit has two or more; this is the seat's (the
 *                reorganisation's seat column, else the old unit whose name
 *                is the new unit's): kept, renamed (Mẫu 07)
 *     O4 revoke  the new unit has two or more and this is not the seat's:
 *                Mẫu 09, superseded (4), device handed back (Mẫu 14) to the
 *                old unit's managing body
 *   people (matched to the staff list by CCCD, else by certificate serial):
 *     P1 change  moves to a new unit, keeps a leadership post, stays in the
 *                state sector, the old unit lets them keep the device:
 *                Mẫu 07 (organisation, position)
 *     P2 revoke  as P1 but the device goes back: Mẫu 09 affiliationChanged (3)
 *                + Mẫu 14 to the old managing body (a new certificate on a
 *                device of the new unit is a Mẫu 01 of its own)
 *     P3 revoke  no longer holds a leadership post: Mẫu 09
 *                cessationOfOperation (5) + Mẫu 14
 *     P4 revoke  leaves the state administrative sector (Party bodies,
 *                vertical sectors): Mẫu 09 affiliationChanged (3) + Mẫu 14
 *     P5 keep    stays in a unit whose name does not change, still a leader
 *   needs a decision (action "decide"; nothing is filed until an operator
 *   overrides the row with an action and a reason):
 *     D1  two or more candidates for the one organisation certificate to
 *         keep and no seat to choose by
 *     D2  the old unit splits into two or more new units (its organisation certificate)
 *     D3  a person in the staff list with no active certificate in the registry
 *     D4  a certificate of an affected unit that the staff list does not mention
 *     D5  a number on a "/cs" SIM (the number in use moved onto the SIM PKI)
 *         whose certificate would be revoked and device handed back
 *     D6  the staff list's old unit is not the certificate's (O)
 *
 * Revocation reasons are gw_life_revoke_reason()'s names and RFC 5280 codes.
 *
 * HOW A ROW IS MADE (the letter's rules, as read here):
 *   - Names (O, units, receiving bodies) are compared by gw_merge_name_key().
 *     A certificate belongs to an affected unit when its O is a
 *     reorganisation row's old_unit.  It is an organisation certificate when
 *     its UID starts "MST:" or its CN is its O; a person's CCCD is the UID
 *     "CCCD:<12 digits>".  Only active certificates are handed in.
 *   - A person is matched to the staff list by CCCD, else by serial (the
 *     file's first row wins).  A listed person whose certificate's O is not
 *     an affected unit is a row too (unit = the certificate's O, after the
 *     affected units, by name); a listed person with no certificate is D3.
 *   - The seat of a new unit: the one old unit marked seat, else (none or
 *     two marked) the old unit whose name is the new unit's.  O3 when the
 *     seat has exactly one organisation certificate; two there is D1.
 *   - A person stays (P5) when the staff list's new unit is the
 *     certificate's O and the reorganisation does not rename that unit; a
 *     new unit "" (left the units under review) is P2 even with keeps_device,
 *     as there is no new organisation to write.  The order of the tests:
 *     P4 (sector), P3 (post), P5, P1/P2.
 *   - D6 (the staff row's old unit is not the certificate's O, both given),
 *     else D5 (the rule would revoke a "/cs" number), replaces the P/O rule;
 *     the row keeps what that rule gave (changes, reason, reason_code,
 *     handover_to) and its detail names it ("...quy tắc P2 (revoke)"), so an
 *     operator's override to that action files what the rule would have.
 *   - handover_to: the reorganisation row's old_parent, else the old unit
 *     (for a person of an unaffected unit: the certificate's O).
 *   - changes[].field: "organisation", "common_name", "province", "tax_code"
 *     (old: the MST of the UID), "budget_code", "position" (old "": the
 *     certificate does not carry it).  Only fields that differ are listed;
 *     an O1 without any is O2.
 *   - Row values: "reason_code" an integer or null, "cs" and "keeps_device"
 *     booleans, "staff_line"/"reorg_line" integers or null, "valid_to" the
 *     date in Việt Nam (UTC+7), other absent values null ("" for unit,
 *     new_unit, holder, id_number).  new_unit of a split's organisation row
 *     is "" (several); the detail says so.  "detail" is Vietnamese (operators
 *     read it); the rule table has both languages.
 */
#ifndef SIMPKI_GW_MERGE_RULES_H
#define SIMPKI_GW_MERGE_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gw_merge_input.h"

/*
 * One registry entry as the rules see it (the reader fills it from the
 * registry and the certificate's subject).  Strings are the caller's.
 */
struct gw_merge_cert {
    const char *msisdn;                    /* normalised, 84... */
    const char *serial;                    /* uppercase hex, no leading zeros */
    const char *cn, *o, *st, *uid, *email; /* subject attributes, UTF-8, "" when absent */
    const char *subject;                   /* RFC 2253, for the forms */
    const char *carrier;                   /* "Viettel", "Vinaphone", "Mobifone" or "" */
    int64_t not_after;                     /* seconds since the epoch */
    int cs;                                /* 1: the number in use was moved onto the SIM PKI */
};

/*
 * The plan of a reorganisation: one row per certificate of an affected
 * unit and per certificate or person the staff list names (D3), in a
 * stable order (affected unit, then organisation before people, then
 * serial), numbered "no" from 1.  reorg and staff are gw_merge_input.h's
 * arrays (already checked); certs the active certificates of the whole
 * registry (n of them; only those that matter become rows).  On success
 * *rows is a new JSON array of row objects (the schema is gw_plan.h's) and
 * *summary {"rows", "by_action": {...}, "by_rule": {...}, "units": N,
 * "rules": [{"id","action","en","vi"}...]}.  GW_MERGE_ERR_NOMEM otherwise.
 * Linear in n (hash lookups, one sort of the rows).  Measured (test_merge_rules,
 * RelWithDebInfo, a loaded 2-core machine): 100,000 certificates giving 74,500
 * rows in about 2 s of CPU, nearly all of it jansson making the rows (a bare
 * loop making 74,500 objects of 26 strings takes as long there); the rules
 * themselves are a few per cent of it.
 */
enum gw_merge_err gw_merge_plan_build(const struct gw_reorg_row *reorg, size_t nreorg, const struct gw_staff_row *staff,
                                      size_t nstaff, const struct gw_merge_cert *certs, size_t n, json_t **rows,
                                      json_t **summary);

/* The rule table ({"id","action","en","vi"} objects), a new reference. */
json_t *gw_merge_rules_json(void);

/* The action a row ends with: its override's, else its own ("keep", "change", "revoke", "decide"). */
const char *gw_merge_row_action(const json_t *row);

/*
 * What changed between two versions of a plan's rows (matched by "no"):
 * [{"no", "from": action, "to": action, "rule", "reason"}...] for rows whose
 * final action differs, and rows present in one only.  New reference.
 */
json_t *gw_merge_diff(const json_t *rows_a, const json_t *rows_b);

/* The requests, handover records and printable bundle of a plan's rows: gw_merge_forms.h. */
#include "gw_merge_forms.h"

#endif /* SIMPKI_GW_MERGE_RULES_H */
