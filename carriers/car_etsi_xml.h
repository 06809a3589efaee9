/*
 * car_etsi_xml.h - the ETSI TS 102 204 SOAP 1.2 binding, vGCA profile
 * (/work/shared/specs/vgca/README.md and MSS_SignaturePort.wsdl): building
 * the requests an application provider (AP) sends to a mobile signature
 * service (MSSP), and reading the MSSP's answers.  No I/O: bytes in, bytes
 * out; the transport (car_etsi.c) does HTTP.  Three modules share this
 * header: car_etsi_build.c (requests), car_etsi_xml.c (answers) and
 * car_etsi_status.c (the status code table).
 *
 * Message shape.  The WSDL binds every port style="rpc" use="literal" with
 * typed parts and no body namespace, so a request is
 *
 *   <soapenv:Envelope><soapenv:Body>
 *     <MSS_Signature>                      operation wrapper, no namespace
 *       <MSS_SignatureReq MajorVersion=..> part accessor, no namespace
 *         <mss:AP_Info .../>               content: mss-qualified
 *
 * exactly as zeep (an independent client) writes it from the WSDL
 * (tests/carriers/etsi_zeep.py checks every builder against it).  Answers
 * are read with or without the <MSS_SignatureResponse> wrapper, and with
 * the *Resp element in no namespace (rpc) or in the ETSI namespace (what
 * Methics/Swisscom-style servers send); its content must be in the ETSI
 * namespace.  Namespaces are checked by URI, never by prefix.
 *
 * Parsing is hardened (libxml2): no network, no DTD (a document with a
 * DOCTYPE is refused as soon as the parser meets it, before its internal
 * subset is read, so no entity of any kind is ever declared or expanded;
 * SOAP 1.2 part 1 s.5 forbids a DTD in a SOAP message anyway), a size limit
 * before parsing and a depth limit enforced while parsing.  A processing
 * instruction is refused too (ETSI_ERR_FORBIDDEN: SOAP 1.2 part 1 s.5 says a
 * message must not hold one and a receiver should fault).  libxml2
 * never prints: its first error message becomes the `why` of the answer.
 * A hostile or malformed answer is an error with a reason.
 *
 * libxml2 initialisation: the process calls xmlInitParser() once at start,
 * from the main thread before any other thread exists: simpkid's main must
 * do so when car_etsi.c is wired in (not done yet); a test's or fuzzer's
 * main need not.  Every function here calls it too, which is idempotent,
 * so single-threaded users need do nothing.  All functions are otherwise
 * reentrant: no state outside their arguments.
 */
#ifndef SIMPKI_CAR_ETSI_XML_H
#define SIMPKI_CAR_ETSI_XML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "car.h"

#define ETSI_NS_SOAP "http://www.w3.org/2003/05/soap-envelope"
#define ETSI_NS_MSS  "http://uri.etsi.org/TS102204/v1.1.2#"
/* FiCom's namespace: StatusDetail/ServiceResponses in answers. */
#define ETSI_NS_FICOM "http://mss.ficom.fi/TS102204/v1.0.0#"
/* The additional services' namespace (the WSDL's asc:SubscriberInfo). */
#define ETSI_NS_ASC "http://mid.ae.mobile-id.vn/TS102204/as/v1.0"
/* MSS_Format URIs (ETSI TS 102 204 / FiCom): a raw PKCS#1 value, or a CMS (PKCS#7) SignedData. */
#define ETSI_NS_FMT_PKCS1 "http://uri.etsi.org/TS102204/v1.1.2#PKCS1"
#define ETSI_NS_FMT_CMS   "http://uri.etsi.org/TS102204/v1.1.2#PKCS7"
/* vGCA's SignatureProfile and AdditionalServices (vgca/README.md). */
#define ETSI_PROFILE_VGCA     "http://mobile-id.vn/digitalSignature"
#define ETSI_SVC_SIGNING_CERT "http://mobile-id.vn/MSSP/v1.0.0#signingCertificate"
#define ETSI_SVC_VALIDATION   "http://mobile-id.vn/MSSP/v1.0.0#signatureValidation"
/* The HTTP Content-Type of a request (SOAP 1.2); see etsi_action() for the action parameter. */
#define ETSI_CONTENT_TYPE "application/soap+xml; charset=utf-8"

#define ETSI_MAX_BODY  (256 * 1024) /* largest answer parsed */
#define ETSI_MAX_DEPTH 32           /* deepest element nesting accepted (the deepest answer needs 9) */
#define ETSI_ID_MAX    64           /* AP_TransID / MSSP_TransID, NCName, NUL included */
#define ETSI_DTBS_MAX  1024         /* largest DataToBeSigned a builder accepts (a DigestInfo is < 100) */

enum etsi_err {
    ETSI_OK = 0,
    ETSI_ERR_INVALID = 1,   /* bad argument to a builder (a bug, or a value the profile cannot carry) */
    ETSI_ERR_MALFORMED = 2, /* not well-formed XML, or not the SOAP/ETSI shape expected */
    ETSI_ERR_TOO_LARGE = 3, /* body over ETSI_MAX_BODY, or nesting over ETSI_MAX_DEPTH */
    ETSI_ERR_FORBIDDEN = 4, /* a DOCTYPE / entity declaration / processing instruction the profile never needs */
    ETSI_ERR_NAMESPACE = 5, /* right local names in the wrong (or no) namespace */
    ETSI_ERR_NOMEM = 6,
};
const char *etsi_strerror(enum etsi_err err);

/* Who we are to the MSSP (AP_Info, MSSP_Info).  Borrowed strings. */
struct etsi_ap {
    const char *ap_id;   /* anyURI, e.g. "http://simpki.example/ap" (printable ASCII, no space) */
    const char *ap_pwd;  /* secret: UTF-8, no control characters; never in an error message */
    const char *mssp_id; /* e.g. "http://hmssp.mobile-id.vn" */
};

/* Fields common to every request: the per-request AP_TransID and Instant. */
struct etsi_head {
    const struct etsi_ap *ap;
    const char *ap_trans_id; /* NCName, unique per AP; reused on a retry of the same request */
    time_t instant;          /* written as xs:dateTime UTC, "2026-12-05T19:40:00Z" */
};

enum etsi_mode { ETSI_MODE_SYNCH = 0, ETSI_MODE_ASYNCH_CS = 1 /* asynchClientServer */ };

struct etsi_sig_req {
    struct etsi_head h;
    const char *msisdn;  /* "84912345678": 1..15 digits */
    const uint8_t *dtbs; /* DataToBeSigned: DER DigestInfo (written base64), 1..ETSI_DTBS_MAX octets */
    size_t dtbs_len;
    const char *display;    /* DataToBeDisplayed, UTF-8, text/plain; no control characters but \t \n \r */
    const char *mss_format; /* ETSI_NS_FMT_PKCS1 or ETSI_NS_FMT_CMS; NULL = omit */
    const char *profile;    /* SignatureProfile URI (ETSI_PROFILE_VGCA); NULL = omit */
    unsigned timeout_s;     /* TimeOut attribute; 0 = omit */
    enum etsi_mode mode;
    int want_cert;       /* AdditionalServices: signingCertificate */
    int want_validation; /* AdditionalServices: signatureValidation */
};

/*
 * Builders: a complete SOAP 1.2 envelope (with an XML declaration, UTF-8),
 * malloc'd, NUL-terminated, in *out (caller frees; holds AP_PWD: wipe with
 * OPENSSL_cleanse before free), its length in *len.  Every text and
 * attribute is escaped by libxml2 (never by hand).  On error *out is NULL
 * and *len 0.  ETSI_ERR_INVALID for a value the profile cannot carry: an id
 * that is not an NCName or is too long, a number that is not 1..15 digits,
 * text that is not UTF-8 or holds control characters, a NULL that is not
 * optional.
 *
 * etsi_build_status: the WSDL's MSS_StatusReq has no MobileUser, so msisdn
 * is never written; it may be NULL, and is checked when it is not (kept for
 * the caller's symmetry).
 * etsi_build_receipt: message (UTF-8 text/plain) NULL = no Message element.
 */
enum etsi_err etsi_build_signature(const struct etsi_sig_req *r, char **out, size_t *len);
enum etsi_err etsi_build_status(const struct etsi_head *h, const char *mssp_trans_id, const char *msisdn, char **out,
                                size_t *len);
enum etsi_err etsi_build_receipt(const struct etsi_head *h, const char *mssp_trans_id, const char *msisdn,
                                 const char *message, char **out, size_t *len);
enum etsi_err etsi_build_registration(const struct etsi_head *h, const char *msisdn, char **out, size_t *len);
enum etsi_err etsi_build_profile(const struct etsi_head *h, const char *msisdn, char **out, size_t *len);

enum etsi_kind {
    ETSI_SIGNATURE = 1,
    ETSI_STATUS = 2,
    ETSI_RECEIPT = 3,
    ETSI_REGISTRATION = 4,
    ETSI_PROFILE = 5,
    ETSI_FAULT = 6, /* only in answers */
};
/*
 * The SOAP 1.2 action parameter of the Content-Type for a request.  The
 * WSDL gives none (every operation is soapActionRequired="false" with no
 * soapAction), so this is "" for every kind: send no action parameter.
 * Kept so that a profile that names actions changes one table.
 */
const char *etsi_action(enum etsi_kind k);
/*
 * The port a request goes to, appended to the MSSP's base URL (the WSDL's
 * service addresses: base ".../soap/services/" + "MSS_SignaturePort").
 * NULL for ETSI_FAULT and unknown kinds.
 */
const char *etsi_port(enum etsi_kind k);

/*
 * An MSSP answer, parsed.  Byte fields are malloc'd copies owned by the
 * struct (etsi_answer_clear frees and wipes them); unset ones NULL/0.
 * Strings are NUL-terminated, printable ASCII only.
 */
struct etsi_answer {
    enum etsi_kind kind;  /* which *Resp element, or ETSI_FAULT */
    int status;           /* Status/StatusCode/@Value (1..999), or the fault's mss:_NNN subcode; 0 if none */
    char status_text[96]; /* StatusMessage or the fault Reason text, sanitised (printable ASCII), may be "" */
    char mssp_trans_id[ETSI_ID_MAX]; /* MSS_SignatureResp/@MSSP_TransID when present */
    char ap_trans_id[ETSI_ID_MAX];   /* AP_Info/@AP_TransID when present */
    char msisdn[16];                 /* MobileUser/MSISDN when present */
    char mss_format[128];            /* MSS_Format/mssURI when present */
    uint8_t *signature;              /* MSS_Signature/Base64Signature decoded (PKCS#1 value or CMS DER) */
    size_t sig_len;
    /*
     * The signing certificate (DER): MSS_RegistrationResp's first
     * CertificateResponse/X509Certificate, or in a signature answer the
     * certificate inside the ServiceResponse whose Description is
     * ETSI_SVC_SIGNING_CERT: an asc:SubscriberInfo Detail with
     * id="X509Certificate" and the base64 DER as value (the only data the
     * WSDL's schema allows there), or an X509Certificate element (ETSI or
     * FiCom namespace, bare or in an mss:CertificateResponse), as some MSSPs
     * send it.  Informative: the gateway verifies against the certificate it
     * holds, and one that differs is CERT_MISMATCH.
     */
    uint8_t *cert;
    size_t cert_len;
    int validated; /* the MSSP says the signature is valid (502): informative only, never trusted */
};

/*
 * Parse body (len octets).  On error *out is cleared (all zero) and why (may
 * be NULL) gets one line for logs/results ("DOCTYPE not allowed", "depth over
 * 32", "StatusCode Value not a number"...), never the answer's own bytes
 * unsanitised.  A SOAP fault is ETSI_OK with kind ETSI_FAULT.  Call
 * etsi_answer_clear() after any call, success or not.
 */
enum etsi_err etsi_parse_answer(const uint8_t *body, size_t len, struct etsi_answer *out, char *why, size_t whylen);
/* Frees and wipes the byte fields, zeroes the struct.  NULL does nothing. */
void etsi_answer_clear(struct etsi_answer *a);

/*
 * The hardened read under etsi_parse_answer, for any SOAP message (the
 * gateway's server side, gateway/api/gw_soap_xml.c, reads requests with it):
 * body (len octets, len <= max_len, else ETSI_ERR_TOO_LARGE before parsing)
 * becomes a libxml2 tree in *doc, which the caller frees with xmlFreeDoc().
 * Everything the header comment promises holds: no network, a DOCTYPE or
 * entity declaration refused before its internal subset is read and a
 * processing instruction refused (ETSI_ERR_FORBIDDEN), an element deeper
 * than max_depth stops the parser (ETSI_ERR_TOO_LARGE), not well-formed XML
 * (including bytes that are not UTF-8 when no other encoding is declared)
 * is ETSI_ERR_MALFORMED with libxml2's first message in why.  No check of
 * the SOAP or ETSI shape: that is the caller's.  On error *doc is NULL.
 * struct _xmlDoc is libxml2's xmlDoc, named so that this header does not
 * pull libxml2 into every includer.
 */
struct _xmlDoc;
enum etsi_err etsi_xml_read(const uint8_t *body, size_t len, size_t max_len, int max_depth, struct _xmlDoc **doc,
                            char *why, size_t whylen);

/*
 * The status codes: one table, the docs are generated from it
 * (etsi_status_markdown).  outcome is what a final code means to the
 * engine; final = 0 for progress codes (100 REQUEST_OK on an asynch request,
 * 504 OUTSTANDING_TRANSACTION; their outcome is CAR_OUT_MORE_TIME);
 * failover = 1 when the request certainly reached no subscriber, so another
 * link may be tried (101..103, 107..109 client errors are NOT failover: they
 * would fail there too; 900 is not either: the MSSP may have prompted).
 */
struct etsi_status {
    int code;
    const char *name;         /* "USER_CANCEL" */
    enum car_outcome outcome; /* for final codes */
    int final;
    int failover;
    const char *meaning; /* one line for the docs */
};
const struct etsi_status *etsi_status_find(int code); /* NULL when unknown */
const struct etsi_status *etsi_status_table(size_t *n);
/* The table as a Markdown table (code, name, final, failover, outcome, meaning) on f. */
void etsi_status_markdown(FILE *f);

#endif /* SIMPKI_CAR_ETSI_XML_H */
