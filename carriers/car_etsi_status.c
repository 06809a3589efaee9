/*
 * car_etsi_status.c - the TS 102 204 status codes the vGCA MSSP answers
 * (vgca/README.md), what each means to the engine, and their Markdown.
 *
 * failover is 1 only where the MSSP refused the request before it could
 * reach a subscriber: bad credentials of this link (104) or a number this
 * MSSP does not serve (105).  Every other final code either may have
 * prompted the subscriber (2xx..5xx, 900) or describes the request itself,
 * which another link would refuse alike (101..109).
 */
#include "car_etsi_xml.h"

#include <stdio.h>

#define P 0 /* progress: keep polling */
#define F 1 /* final */

static const struct etsi_status table[] = {
    {100, "REQUEST_OK", CAR_OUT_MORE_TIME, P, 0, "asynch request accepted; poll with MSS_StatusQuery"},
    {101, "WRONG_PARAM", CAR_OUT_BAD_COMMAND, F, 0, "a parameter has a wrong value; would fail on any link"},
    {102, "MISSING_PARAM", CAR_OUT_BAD_COMMAND, F, 0, "a required parameter is missing; would fail on any link"},
    {103, "WRONG_DATA_LENGTH", CAR_OUT_BAD_COMMAND, F, 0, "DataToBeSigned or the display text is too long"},
    {104, "UNAUTHORIZED_ACCESS", CAR_OUT_INTERNAL_ERROR, F, 1,
     "this link's AP credentials (AP_ID/AP_PWD, TLS certificate) were refused before any subscriber was asked"},
    {105, "UNKNOWN_CLIENT", CAR_OUT_INTERNAL_ERROR, F, 1,
     "this MSSP does not serve the number (or the AP); no subscriber was asked, another MSSP may"},
    {107, "INAPPROPRIATE_DATA", CAR_OUT_BAD_COMMAND, F, 0, "the data to be signed does not fit the profile"},
    {108, "INCOMPATIBLE_INTERFACE", CAR_OUT_UNSUPPORTED, F, 0, "MajorVersion/MinorVersion not supported"},
    {109, "UNSUPPORTED_PROFILE", CAR_OUT_UNSUPPORTED, F, 0, "SignatureProfile or an additional service not supported"},
    {208, "EXPIRED_TRANSACTION", CAR_OUT_EXPIRED, F, 0, "the subscriber did not answer within TimeOut"},
    {209, "OTA_ERROR", CAR_OUT_OTA_ERROR, F, 0,
     "the MSSP could not complete the exchange with the SIM (the SIM may have shown the request)"},
    {401, "USER_CANCEL", CAR_OUT_USER_CANCEL, F, 0, "the subscriber refused"},
    {402, "PIN_NR_BLOCKED", CAR_OUT_PIN_BLOCKED, F, 0, "the signing PIN is blocked"},
    {403, "CARD_BLOCKED", CAR_OUT_CARD_BLOCKED, F, 0, "the SIM is blocked"},
    {404, "NO_KEY_FOUND", CAR_OUT_NO_KEY, F, 0, "the SIM has no signing key"},
    {406, "PB_SIGNATURE_PROCESS", CAR_OUT_INTERNAL_ERROR, F, 0, "the signature could not be made on the SIM"},
    {407, "REGISTRATION_NOK", CAR_OUT_INTERNAL_ERROR, F, 0, "MSS_Registration failed"},
    {408, "REGISTRATION_OK", CAR_OUT_OK, F, 0, "MSS_Registration succeeded; the answer carries the certificate"},
    {422, "NO_CERT_FOUND", CAR_OUT_NO_CERTIFICATE, F, 0, "the MSSP knows no certificate for the subscriber"},
    {423, "CRL_PB", CAR_OUT_INTERNAL_ERROR, F, 0, "the MSSP could not get the CRL to check the certificate"},
    {424, "CRL_EXPIRED", CAR_OUT_INTERNAL_ERROR, F, 0, "the MSSP's CRL is out of date"},
    {425, "ERROR_CERTIFICATE", CAR_OUT_INTERNAL_ERROR, F, 0, "the subscriber's certificate could not be used"},
    {500, "SIGNATURE", CAR_OUT_OK, F, 0, "signed (no signatureValidation asked)"},
    {501, "REVOKED_CERTIFICATE", CAR_OUT_INTERNAL_ERROR, F, 0,
     "signed, but the certificate is revoked: the signature is unusable"},
    {502, "VALID_SIGNATURE", CAR_OUT_OK, F, 0, "signed, and the MSSP's signatureValidation found it valid"},
    {503, "INVALID_SIGNATURE", CAR_OUT_INTERNAL_ERROR, F, 0, "signed, but the MSSP's signatureValidation failed"},
    {504, "OUTSTANDING_TRANSACTION", CAR_OUT_MORE_TIME, P, 0, "still waiting for the subscriber; poll again"},
    {900, "INTERNAL_ERROR", CAR_OUT_INTERNAL_ERROR, F, 0,
     "the MSSP failed; it may have prompted the subscriber, so no failover"},
};

const struct etsi_status *etsi_status_find(int code)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].code == code)
            return &table[i];
    return NULL;
}

const struct etsi_status *etsi_status_table(size_t *n)
{
    if (n)
        *n = sizeof table / sizeof table[0];
    return table;
}

void etsi_status_markdown(FILE *f)
{
    fprintf(f, "| code | name | outcome | final | failover | meaning |\n");
    fprintf(f, "|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const struct etsi_status *s = &table[i];
        fprintf(f, "| %d | %s | %s | %s | %s | %s |\n", s->code, s->name, s->final ? car_outcome_name(s->outcome) : "-",
                s->final ? "yes" : "no", s->failover ? "yes" : "no", s->meaning);
    }
}
