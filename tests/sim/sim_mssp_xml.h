/*
 * sim_mssp_xml.h - the simulator's own reading of the Government CA's WSDL
 * (docs/vgca/MSS_SignaturePort.wsdl, ETSI TS 102 204 v1.1.2, SOAP 1.2):
 * requests parsed with libxml2, answers and faults written with it.
 *
 * Deliberately independent of the gateway's binding in carriers/: two
 * readings of one WSDL, checked against each other and against zeep.
 *
 * The WSDL's bindings are rpc/literal with type parts and no namespace on
 * soap:body, so on the wire (what zeep sends):
 *
 *   <env:Body>
 *     <MSS_Signature>                          operation name, no namespace
 *       <MSS_SignatureReq MajorVersion=.. MessagingMode=..>   part, no namespace
 *         <mss:AP_Info AP_ID=.. AP_PWD=.. AP_TransID=.. Instant=../>
 *         <mss:MSSP_Info>...  <mss:MobileUser><mss:MSISDN>...
 *
 * (mss = http://uri.etsi.org/TS102204/v1.1.2#, elementFormDefault qualified,
 * attributes unqualified).  Answers mirror it: <MSS_SignatureResponse>
 * (the WS-I name; zeep takes whatever element comes first) holding
 * <MSS_SignatureResp MSSP_TransID=..> with mss-qualified children.
 *
 * Where this WSDL leaves a choice, the choice made here:
 *   - signingCertificate: the certificate goes in
 *     Status/StatusDetail/fi:ServiceResponses/fi:ServiceResponse, whose
 *     fi:Description/mss:mssURI is the service URI, as
 *     asc:SubscriberInfo/asc:Detail id="X509Certificate" value="<base64 DER>"
 *     (the only slot the schema gives a ServiceResponse);
 *   - MSS_Registration: mss:CertificateResponse/mss:X509Certificate after Status;
 *   - AP_Info in answers echoes AP_ID and AP_TransID, AP_PWD="" (never echoed);
 *   - faults: Code/Value env:Sender for 101-109 (the request is wrong),
 *     env:Receiver otherwise; Subcode/Value mss:_NNN; Reason/Text the name.
 *
 * Parsing is defensive: XML_PARSE_NONET, no entity substitution, forced
 * UTF-8, a document carrying a DOCTYPE is refused before libxml2 sees it.
 * No state; every function is safe to call with any input.
 */
#ifndef SIMPKI_SIM_MSSP_XML_H
#define SIMPKI_SIM_MSSP_XML_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define MSSP_NS_SOAP12 "http://www.w3.org/2003/05/soap-envelope"
#define MSSP_NS_ETSI   "http://uri.etsi.org/TS102204/v1.1.2#"
#define MSSP_NS_FICOM  "http://mss.ficom.fi/TS102204/v1.0.0#"
#define MSSP_NS_ASC    "http://mid.ae.mobile-id.vn/TS102204/as/v1.0"

#define MSSP_URI_PKCS1        "http://uri.etsi.org/TS102204/v1.1.2#PKCS1"
#define MSSP_URI_PKCS7        "http://uri.etsi.org/TS102204/v1.1.2#PKCS7"
#define MSSP_URI_CMS          "http://uri.etsi.org/TS102204/v1.1.2#CMS-Signature"
#define MSSP_URI_PROFILE      "http://mobile-id.vn/digitalSignature"
#define MSSP_URI_SIGNING_CERT "http://mobile-id.vn/MSSP/v1.0.0#signingCertificate"
#define MSSP_URI_VALIDATION   "http://mobile-id.vn/MSSP/v1.0.0#signatureValidation"

/* ETSI TS 102 204 status codes this simulator uses (the list: docs/vgca/README.md). */
enum mssp_status {
    MSSP_REQUEST_OK = 100,
    MSSP_WRONG_PARAM = 101,
    MSSP_MISSING_PARAM = 102,
    MSSP_WRONG_DATA_LENGTH = 103,
    MSSP_UNAUTHORIZED_ACCESS = 104,
    MSSP_UNKNOWN_CLIENT = 105,
    MSSP_UNSUPPORTED_PROFILE = 109,
    MSSP_EXPIRED_TRANSACTION = 208,
    MSSP_OTA_ERROR = 209,
    MSSP_USER_CANCEL = 401,
    MSSP_PIN_NR_BLOCKED = 402,
    MSSP_CARD_BLOCKED = 403,
    MSSP_NO_KEY_FOUND = 404,
    MSSP_REGISTRATION_OK = 408,
    MSSP_NO_CERT_FOUND = 422,
    MSSP_SIGNATURE = 500,
    MSSP_VALID_SIGNATURE = 502,
    MSSP_OUTSTANDING_TRANSACTION = 504,
    MSSP_INTERNAL_ERROR = 900,
};

/* The name of a status code ("USER_CANCEL"), "UNKNOWN_ERROR" for a code not in the list. */
const char *mssp_status_name(int code);

/* The five operations, one per port. */
enum mssp_op {
    MSSP_OP_SIGNATURE = 0,
    MSSP_OP_STATUS,
    MSSP_OP_RECEIPT,
    MSSP_OP_PROFILE,
    MSSP_OP_REGISTRATION,
    MSSP_OP_COUNT_
};

/* The port's path below /soap/services/ ("MSS_SignaturePort"), and back (-1 for none). */
const char *mssp_op_port(enum mssp_op op);
int mssp_op_from_port(const char *port);

/* A request as read.  Strings are NUL-terminated; "" when absent. */
struct mssp_req {
    enum mssp_op op;
    char ap_id[256];
    char ap_pwd[128]; /* wiped by mssp_req_wipe */
    char ap_transid[128];
    char msisdn[32];
    char mssp_transid[64]; /* StatusQuery, Receipt */
    int synch;             /* MessagingMode: 1 synch, 0 asynchClientServer */
    unsigned timeout_s;    /* TimeOut, 0 when not given */
    uint8_t dtbs[512];     /* DataToBeSigned, base64-decoded */
    size_t dtbs_len;
    char format[128];  /* MSS_Format/mssURI, "" when absent */
    char profile[128]; /* SignatureProfile/mssURI */
    int want_cert;     /* AdditionalServices: signingCertificate */
    int want_validation;
};

/*
 * Read one SOAP 1.2 request for op.  Returns 0, or the ETSI code to answer
 * as a fault with *why a static explanation for the log: 101 WRONG_PARAM
 * (not XML, a DOCTYPE, not a SOAP 1.2 envelope, wrong operation, a value
 * too long or not base64, an unknown MessagingMode), 102 MISSING_PARAM (a
 * required element or attribute absent), 103 WRONG_DATA_LENGTH
 * (DataToBeSigned over 512 octets).  DataToBeSigned is only decoded here;
 * what it must hold is the caller's business.
 */
int mssp_xml_parse(const char *body, size_t len, enum mssp_op op, struct mssp_req *r, const char **why)
    __attribute__((warn_unused_result));
void mssp_req_wipe(struct mssp_req *r);

/* What an answer carries.  Pointers are borrowed for the call. */
struct mssp_answer {
    enum mssp_op op;
    int status;                 /* Status/StatusCode/@Value */
    const struct mssp_req *req; /* AP_ID, AP_TransID echoed */
    const char *mssp_id;
    const char *mssp_transid; /* MSS_SignatureResp only */
    const char *msisdn;       /* MobileUser (Signature, Status) */
    const uint8_t *sig;       /* MSS_Signature/Base64Signature, or NULL */
    const char *format;       /* MSS_Format/mssURI with a signature; NULL = PKCS1 */
    size_t sig_len;
    const uint8_t *cert; /* signingCertificate (Signature, Status) or the registered one (Registration) */
    size_t cert_len;
    int unusual; /* "hostile" behaviour: valid but surprising XML (other prefixes, a Header, comments) */
};

/* Append the SOAP envelope of the answer to out; 0, or -1 out of memory. */
int mssp_xml_answer(const struct mssp_answer *a, struct evbuffer *out) __attribute__((warn_unused_result));
/* Append a SOAP 1.2 fault for ETSI code `code`; 0, or -1 out of memory. */
int mssp_xml_fault(int code, struct evbuffer *out) __attribute__((warn_unused_result));

#endif /* SIMPKI_SIM_MSSP_XML_H */
