/*
 * gw_life_rules.h - the lifecycle engine's rules (gw_life.h), as pure
 * functions: which forms and states are the engine's, the progress a
 * confirming call hands over, the step table, the certificate subject of a
 * request, the revocation reason, which SIM answers are worth a retry, and
 * the PIN prompt.  No I/O, no event loop, no Redis, no globals: gw_enrol.c
 * asks them on the API side, gw_life.c in the engine, and
 * tests/gateway/test_life.c checks them without either.
 *
 * Strings returned point into the arguments or into static tables; nothing
 * here allocates except gw_life_progress_new (a new jansson reference).
 */
#ifndef SIMPKI_GW_LIFE_RULES_H
#define SIMPKI_GW_LIFE_RULES_H

#include <stddef.h>

#include <jansson.h>

#include "sig_cmp.h"
#include "sig_csr.h"

enum gw_life_err {
    GW_LIFE_OK = 0,
    GW_LIFE_ERR_CONFIG = 1,  /* the "ca" section cannot be used (why says which setting) */
    GW_LIFE_ERR_NOMEM = 2,   /* out of memory */
    GW_LIFE_ERR_THREAD = 3,  /* the worker thread or its pipe could not be made */
    GW_LIFE_ERR_INVALID = 4, /* a request or "sim" object the engine cannot take */
};

const char *gw_life_strerror(enum gw_life_err err);

/*
 * The steps a request goes through (gw_life.h says what each does).  Their
 * names are stored in Redis (progress.step), so a name never changes; the
 * values are this build's only and never stored.
 */
enum gw_life_step {
    GW_LIFE_STEP_READ,
    GW_LIFE_STEP_REGISTER,
    GW_LIFE_STEP_GENKEY,
    GW_LIFE_STEP_CSR,
    GW_LIFE_STEP_CMP,
    GW_LIFE_STEP_RETIRE,
    GW_LIFE_STEP_PUTCERT,
    GW_LIFE_STEP_ACTIVATE,
    GW_LIFE_STEP_REVOKE,
    GW_LIFE_STEP_DEACTIVATE,
    GW_LIFE_STEP_COUNT,
};

/* "read", "register", ...; "?" for a value out of range.  None is "finished". */
const char *gw_life_step_name(enum gw_life_step s);

/* The step named `name`; GW_LIFE_STEP_COUNT when none is (NULL, "finished", junk). */
enum gw_life_step gw_life_step_parse(const char *name);

/* ---- what gw_enrol asks ---------------------------------------------- */

/* 1 when the engine drives requests of this form ("person_new", ...). */
int gw_life_drives_form(const char *form);

/* 1 when `state` is one only the engine may move a request into. */
int gw_life_engine_state(const char *state);

/*
 * The "progress" object a confirmed request starts with, from the confirming
 * call's "sim" object (may be NULL) and the stored request: {"step": "read",
 * "attempts": 0, "iccid", "kv", "key_alg"} (the last three only with a new
 * SIM).  default_key_alg is CFG_KEY_*.  On GW_LIFE_ERR_INVALID, field and why
 * name what is wrong ("sim.iccid", "subscriber.phone").  A new reference on
 * success, NULL otherwise.
 */
json_t *gw_life_progress_new(const json_t *request, const json_t *sim, int default_key_alg, enum gw_life_err *err,
                             char *field, size_t fieldlen, char *why, size_t whylen);

/* ---- the certificate ------------------------------------------------ */

/*
 * The RFC 5280 reason code for a revocation request's free-text "reason"
 * (Mẫu 09, Vietnamese or English; an RFC 5280 name like "keyCompromise"
 * is taken as is):
 *
 *   device lost, stolen, PIN or key disclosed   keyCompromise (1)
 *   moved to another body, title/name changed,
 *     moved outside the state sector            affiliationChanged (3)
 *   unit merged, its extra certificates retired,
 *     replaced by a new certificate             superseded (4)
 *   left a leadership post, retired, dissolved  cessationOfOperation (5)
 *   suspended                                   certificateHold (6)
 *   anything else                               unspecified (0)
 *
 * Matching is on lower-cased words, with or without diacritics.
 */
enum sig_cmp_reason gw_life_revoke_reason(const char *text);

/*
 * The certificate subject of a request, per the Government CA profile:
 *   person_new/change: CN = subscriber.full_name, O = subscriber.organisation
 *     (else the unit), ST = subscriber.province (else the place), UID =
 *     CCCD:subscriber.id_number, e-mail = subscriber.email;
 *   org_new: CN = O = organisation.name, ST = organisation.province (else
 *     subscriber.province, else the place), UID = MST:organisation.code
 *     when it is a tax code, e-mail = organisation.email (else subscriber.email);
 *   change with an organisation (an organisation's certificate renamed,
 *     gw_forms.h): as org_new, CN = O = organisation.name, ST =
 *     organisation.province (else the fallback's, else the place), UID =
 *     MST:organisation.code when it is a tax code, else the fallback's MST
 *     UID; never a person's subject, whatever subscriber says.
 * `fallback` (may be NULL): a DER certificate whose ST, O and UID fill what
 * the request leaves out (a change request names only what changes).  The
 * strings point into `request` or into `buf`, which must outlive *out.
 * 0, or -1 with why naming the missing field (never its value).
 */
struct gw_life_subject_buf {
    char st[256], o[256], uid[64];
};
int gw_life_subject(const json_t *request, const unsigned char *fallback, size_t fallback_len,
                    struct sig_csr_subject *out, struct gw_life_subject_buf *buf, char *why, size_t whylen);

/* ---- the SIM ---------------------------------------------------------- */

/*
 * 1 when a SIM command that ended with `result` (q_txn.result) is worth a
 * fresh command: nobody said no, the message just did not get through
 * (EXPIRED, DELIVERY_ERROR, OTA_ERROR, INTERNAL_ERROR).  A refusal
 * (USER_CANCEL, KEY_EXISTS, ...) is 0: the request fails.
 */
int gw_life_sim_result_temporary(const char *result);

/*
 * 1 when two hex serial numbers are the same number: leading zeros and case
 * do not count (an operator types "0a", a certificate prints "0A").
 */
int gw_life_serial_eq(const char *a, const char *b);

/*
 * The PIN prompt for a SIM command: "<what> <full name>? Nhập PIN để đồng
 * ý", the name (request's subscriber.full_name) cut to 36 whole UTF-8
 * characters so that a prompt whose `what` is at most 32 characters fits
 * one SIM screen (90 characters).  Always NUL-terminated in out[cap].
 */
void gw_life_display_text(const json_t *request, const char *what, char *out, size_t cap);

#endif /* SIMPKI_GW_LIFE_RULES_H */
