/*
 * gw_soap_xml.h - the server side of the ETSI TS 102 204 SOAP 1.2 binding,
 * vGCA profile (/work/shared/specs/vgca/: README.md, MSS_SignaturePort.wsdl):
 * reading the requests an e-office system (an AP) POSTs to simpki as if it
 * were the Government CA's MSSP, and writing the answers, faults and
 * asynchServerServer notifications.  No I/O: bytes in, bytes out; the HTTP
 * endpoint is gateway/api/gw_soap.c.  The client side (simpki as an AP) is
 * carriers/car_etsi_xml.h; this module shares its names (enum etsi_err,
 * enum etsi_kind, etsi_port(), the ETSI_* URIs and the status table) and its
 * hardened libxml2 read (etsi_xml_read: no DTD, no entity, no processing
 * instruction, no network, depth and size limits).
 *
 * Message shape.  The WSDL binds every port style="rpc" use="literal" with
 * no body namespace; zeep (the reference client, loading the WSDL unchanged)
 * sends
 *
 *   <env:Envelope><env:Body>
 *     <MSS_Signature>                   operation wrapper, no namespace
 *       <MSS_SignatureReq ..>           part accessor, no namespace
 *         <mss:AP_Info ../>             content: ETSI namespace
 *
 * The parser also takes the *Req without the wrapper and the *Req in the
 * ETSI namespace (document/literal clients); the content must be in the ETSI
 * namespace, checked by URI, never by prefix.  Answers are written the way
 * the WSDL binding says (and zeep reads): <MSS_SignatureResponse> around an
 * unqualified <MSS_SignatureResp>, content mss-qualified, every text and
 * attribute escaped by libxml2.
 *
 * All functions are reentrant (no state outside their arguments); the
 * process calls xmlInitParser() once from its main thread before any other
 * thread exists (car_etsi_xml.h says the same).
 */
#ifndef SIMPKI_GW_SOAP_XML_H
#define SIMPKI_GW_SOAP_XML_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "car_etsi_xml.h"

#define GW_SOAP_MAX_BODY    (64 * 1024) /* largest request parsed */
#define GW_SOAP_MAX_DEPTH   32
#define GW_SOAP_PORT_PREFIX "/soap/services/" /* + etsi_port(kind): "MSS_SignaturePort", ... */
#define GW_SOAP_DISPLAY_MAX 1024              /* DataToBeDisplayed / receipt Message, octets of UTF-8 */
#define GW_SOAP_TIMEOUT_MAX 3600              /* largest TimeOut accepted, seconds */

enum gw_soap_mode { GW_SOAP_SYNCH = 0, GW_SOAP_ASYNCH_CS = 1, GW_SOAP_ASYNCH_SS = 2 };

/*
 * One request, parsed (server side).  Strings NUL-terminated; "" when
 * absent.  Every string but display, message and ap_pwd is printable ASCII
 * (what is not is refused with 101), so it can be logged; display and
 * message are valid UTF-8 text; ap_pwd is UTF-8 and a secret.
 */
struct gw_soap_req {
    enum etsi_kind kind;           /* ETSI_SIGNATURE, ETSI_STATUS, ETSI_RECEIPT, ETSI_REGISTRATION, ETSI_PROFILE */
    char major[8], minor[8];       /* MajorVersion / MinorVersion as sent (digits; MajorVersion is "1") */
    char ap_id[256];               /* AP_Info/@AP_ID */
    char ap_pwd[256];              /* AP_Info/@AP_PWD: secret, wiped by gw_soap_req_clear */
    int has_pwd;                   /* the attribute was present (always 1 after ETSI_OK: absent is 102) */
    char ap_trans_id[ETSI_ID_MAX]; /* AP_Info/@AP_TransID: an NCName */
    char instant[40];              /* AP_Info/@Instant as sent (shape-checked as an xs:dateTime) */
    char ap_url[512];  /* AP_Info/@AP_URL (TS 102 204 allows it; the vGCA WSDL omits it): asynchServerServer's
                          notification address; required in that mode (102) */
    char mssp_id[256]; /* MSSP_Info/MSSP_ID/URI ("" when the optional URI is absent) */
    char msisdn[32];   /* MobileUser/MSISDN as sent; required but for ETSI_STATUS (102) */
    char mssp_trans_id[ETSI_ID_MAX]; /* Status/Receipt: @MSSP_TransID (required there) */
    /* ETSI_SIGNATURE */
    uint8_t *dtbs; /* DataToBeSigned, base64-decoded (malloc'd), 1..ETSI_DTBS_MAX octets */
    size_t dtbs_len;
    char dtbs_mime[64], dtbs_encoding[32];
    char *display; /* DataToBeDisplayed text, UTF-8, malloc'd, <= GW_SOAP_DISPLAY_MAX octets */
    char display_mime[64], display_encoding[32];
    char mss_format[256]; /* MSS_Format/mssURI */
    char profile[256];    /* SignatureProfile/mssURI: judged by the endpoint (109), not here */
    enum gw_soap_mode mode;
    unsigned timeout_s;             /* @TimeOut, 0 = absent */
    int want_cert, want_validation; /* AdditionalServices/Service/Description/mssURI */
    char unknown_service[256];      /* the first AdditionalService not understood, "" if none (endpoint: 109) */
    /* ETSI_RECEIPT */
    char *message; /* Message text (malloc'd, UTF-8, <= GW_SOAP_DISPLAY_MAX) or NULL */
};

/*
 * Parse a request POSTed to port `port` (the last path segment, e.g.
 * "MSS_SignaturePort"; the WSDL's port name "MSS_ProfilePort" is taken for
 * the profile query too; NULL = any).  ETSI_OK with *out filled; otherwise
 * *fault_status gets the ETSI status the fault must carry and why one
 * printable line (never the secret, never the input's bytes unsanitised):
 *
 *   101 WRONG_PARAM        malformed XML, a bad value, hostile input (DOCTYPE,
 *                          entity, processing instruction, depth over
 *                          GW_SOAP_MAX_DEPTH, body over GW_SOAP_MAX_BODY,
 *                          not UTF-8 or another encoding declared), an
 *                          unknown MessagingMode (TS 102 204 keeps 109 for
 *                          a SignatureProfile or service not supported, and
 *                          MessagingMode is a request argument: 101)
 *   102 MISSING_PARAM      a required element or attribute is missing (AP_PWD
 *                          too: the endpoint answers 104 for a wrong one; no
 *                          password is checked here), AP_URL in asynchServerServer
 *   103 WRONG_DATA_LENGTH  DataToBeSigned over ETSI_DTBS_MAX octets, display
 *                          text or receipt message over GW_SOAP_DISPLAY_MAX
 *   108 INCOMPATIBLE_INTERFACE  not SOAP 1.2 (a SOAP 1.1 envelope says so),
 *                          content in the wrong namespace, a *Req that is not
 *                          this port's, MajorVersion other than 1, a Header
 *                          block with mustUnderstand
 *   900 INTERNAL_ERROR     out of memory (ETSI_ERR_NOMEM)
 *
 * The return is ETSI_ERR_MALFORMED / _NAMESPACE / _FORBIDDEN / _TOO_LARGE /
 * _NOMEM after the cause; ETSI_ERR_INVALID for NULL arguments.  Always call
 * gw_soap_req_clear afterwards, success or not.
 */
enum etsi_err gw_soap_parse(const uint8_t *body, size_t len, const char *port, struct gw_soap_req *out,
                            int *fault_status, char *why, size_t whylen) __attribute__((warn_unused_result));
/* Frees dtbs/display/message, wipes ap_pwd and the rest, zeroes the struct.  NULL does nothing. */
void gw_soap_req_clear(struct gw_soap_req *r);

/* What a response carries.  Unset pointers = element omitted.  All borrowed. */
struct gw_soap_resp {
    const struct gw_soap_req *req; /* required: AP_Info echoes AP_ID, AP_TransID and Instant as sent; AP_PWD is
                                      written "" (the WSDL makes it required; zeep needs it present; never the
                                      secret); MSSP_Info/MSSP_ID/URI from mssp_id below */
    const char *mssp_id;           /* our MSSP_ID URI; NULL = echo req->mssp_id */
    time_t instant;                /* MSSP_Info/@Instant (UTC); 0 = omit */
    const char *mssp_trans_id;     /* Signature resp: @MSSP_TransID (required there: NULL is ETSI_ERR_INVALID) */
    const char *msisdn;            /* MobileUser/MSISDN (Signature/Status resp); NULL = echo req->msisdn */
    int status;                    /* Status/StatusCode/@Value, 100..999 */
    const char *status_message; /* Status/StatusMessage; NULL = etsi_status_find(status)->name (omitted if unknown) */
    const uint8_t *signature;   /* MSS_Signature/Base64Signature (Signature/Status resp) */
    size_t sig_len;
    const char *mss_format;      /* MSS_Format/mssURI (Signature/Status resp; written only with a signature) */
    const char *profile;         /* SignatureProfile/mssURI (Signature resp) */
    const char *const *profiles; /* MSS_ProfileResp: one SignatureProfile per entry */
    size_t n_profiles;
    /*
     * Signature/Status resp: the signing certificate (signingCertificate
     * asked) as StatusDetail/fi:ServiceResponses/fi:ServiceResponse with
     * Description ETSI_SVC_SIGNING_CERT and asc:SubscriberInfo/asc:Detail
     * id="X509Certificate" value=base64 DER: the only data the WSDL lets a
     * ServiceResponse carry (what car_etsi_xml.c reads).  Registration resp:
     * CertificateResponse/X509Certificate.
     */
    const uint8_t *cert;
    size_t cert_len;
    int validated; /* signatureValidation asked and passed: a ServiceResponse with Description ETSI_SVC_VALIDATION */
};

/*
 * Builders: a complete SOAP 1.2 envelope (XML declaration, UTF-8), malloc'd
 * and NUL-terminated in *out, its length in *len; the caller frees.  On
 * error *out is NULL, *len 0; ETSI_ERR_INVALID for a value the WSDL cannot
 * carry (a status outside 100..999, an MSSP_TransID that is not an NCName, a
 * URI that is not printable ASCII, a kind without an answer).
 */
/* The *Response wrapper around the *Resp part for `kind`, rpc/literal as the WSDL binding says. */
enum etsi_err gw_soap_build_resp(enum etsi_kind kind, const struct gw_soap_resp *r, char **out, size_t *len)
    __attribute__((warn_unused_result));
/*
 * A SOAP 1.2 Fault: Code/Value env:Sender (1xx: the request's fault) or
 * env:Receiver (others), Subcode/Value mss:_NNN (mss bound to ETSI_NS_MSS),
 * Reason/Text xml:lang="en" = status name + ": " + why (why NULL or "" =
 * the name alone; reduced to printable ASCII).  status 100..999.  The HTTP
 * status is the endpoint's: SOAP 1.2 says 400 for Sender, 500 for Receiver.
 */
enum etsi_err gw_soap_build_fault(int status, const char *why, char **out, size_t *len)
    __attribute__((warn_unused_result));
/*
 * asynchServerServer: the request simpki POSTs to the AP's AP_URL when the
 * transaction ends.  TS 102 204's WSDL gives the AP an MSS_Notification
 * operation, rpc/literal with an unqualified wrapper, whose one input part
 * is MSS_StatusResp (MSS_StatusRespType; the AP answers an MSS_ReceiptReq):
 * so <MSS_Notification><MSS_StatusResp ..> with the content of a status
 * answer (the vGCA WSDL has no such port; the AP matches it by AP_TransID).
 */
enum etsi_err gw_soap_build_notification(const struct gw_soap_resp *r, char **out, size_t *len)
    __attribute__((warn_unused_result));

#endif /* SIMPKI_GW_SOAP_XML_H */
