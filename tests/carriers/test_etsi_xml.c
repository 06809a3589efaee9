/*
 * test_etsi_xml.c - the ETSI TS 102 204 binding (car_etsi_xml.h): every
 * request built and read back with libxml2/XPath (escaping, namespaces,
 * element order), answers written by hand from the WSDL, hostile answers
 * (billion laughs, XXE, depth, size, namespaces, junk base64), and the
 * status table against vgca/README.md's list.
 */
#include "car_etsi_xml.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "etsi_fixture.h"

/* A request parsed back for XPath, with s: (SOAP 1.2) and m: (ETSI) bound. */
struct xp {
    xmlDocPtr doc;
    xmlXPathContextPtr ctx;
};

static int xp_open(struct xp *x, const char *xml, size_t len)
{
    x->doc = xmlReadMemory(xml, (int)len, NULL, NULL, XML_PARSE_NONET);
    x->ctx = x->doc ? xmlXPathNewContext(x->doc) : NULL;
    if (!x->ctx)
        return -1;
    xmlXPathRegisterNs(x->ctx, (const xmlChar *)"s", (const xmlChar *)ETSI_NS_SOAP);
    xmlXPathRegisterNs(x->ctx, (const xmlChar *)"m", (const xmlChar *)ETSI_NS_MSS);
    return 0;
}

static void xp_close(struct xp *x)
{
    xmlXPathFreeContext(x->ctx);
    xmlFreeDoc(x->doc);
}

/* The string value of an XPath expression ("" when it selects nothing), in a static buffer. */
static const char *xs(struct xp *x, const char *expr)
{
    static char buf[512];
    xmlXPathObjectPtr o = x->ctx ? xmlXPathEvalExpression((const xmlChar *)expr, x->ctx) : NULL;
    xmlChar *s = o ? xmlXPathCastToString(o) : NULL;

    snprintf(buf, sizeof buf, "%s", s ? (const char *)s : "(error)");
    xmlFree(s);
    xmlXPathFreeObject(o);
    return buf;
}

#define REQ "/s:Envelope/s:Body/MSS_Signature/MSS_SignatureReq"

static void test_build_signature(void)
{
    struct etsi_sig_req r = etsi_fx_sig_req();
    char *out = NULL;
    size_t len = 0;
    struct xp x;

    CHECK_EQ_INT(etsi_build_signature(&r, &out, &len), ETSI_OK);
    CHECK(out && strlen(out) == len);
    CHECK(xp_open(&x, out, len) == 0);
    CHECK_EQ_STR(xs(&x, REQ "/@MajorVersion"), "1");
    CHECK_EQ_STR(xs(&x, REQ "/@MinorVersion"), "1");
    CHECK_EQ_STR(xs(&x, REQ "/@TimeOut"), "300");
    CHECK_EQ_STR(xs(&x, REQ "/@MessagingMode"), "synch");
    CHECK_EQ_STR(xs(&x, REQ "/m:AP_Info/@AP_ID"), etsi_fx_ap.ap_id);
    CHECK_EQ_STR(xs(&x, REQ "/m:AP_Info/@AP_PWD"), etsi_fx_ap.ap_pwd); /* escaped by libxml2, read back intact */
    CHECK_EQ_STR(xs(&x, REQ "/m:AP_Info/@AP_TransID"), "AP_1.a-b");
    CHECK_EQ_STR(xs(&x, REQ "/m:AP_Info/@Instant"), "2026-12-05T19:40:00Z");
    CHECK_EQ_STR(xs(&x, REQ "/m:MSSP_Info/m:MSSP_ID/m:URI"), etsi_fx_ap.mssp_id);
    CHECK_EQ_STR(xs(&x, REQ "/m:MobileUser/m:MSISDN"), "84912345678");
    CHECK_EQ_STR(xs(&x, REQ "/m:DataToBeSigned"), "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==");
    CHECK_EQ_STR(xs(&x, REQ "/m:DataToBeSigned/@MimeType"), "application/octet-stream");
    CHECK_EQ_STR(xs(&x, REQ "/m:DataToBeSigned/@Encoding"), "base64");
    CHECK_EQ_STR(xs(&x, REQ "/m:DataToBeDisplayed"), r.display);
    CHECK_EQ_STR(xs(&x, REQ "/m:DataToBeDisplayed/@MimeType"), "text/plain");
    CHECK_EQ_STR(xs(&x, REQ "/m:MSS_Format/m:mssURI"), ETSI_NS_FMT_PKCS1);
    CHECK_EQ_STR(xs(&x, REQ "/m:SignatureProfile/m:mssURI"), ETSI_PROFILE_VGCA);
    CHECK_EQ_STR(xs(&x, REQ "/m:AdditionalServices/m:Service[1]/m:Description/m:mssURI"), ETSI_SVC_SIGNING_CERT);
    CHECK_EQ_STR(xs(&x, REQ "/m:AdditionalServices/m:Service[2]/m:Description/m:mssURI"), ETSI_SVC_VALIDATION);
    /* The WSDL's sequence order: the 8 children, in order. */
    CHECK_EQ_STR(xs(&x, "count(" REQ "/*)"), "8");
    CHECK_EQ_STR(xs(&x, "local-name(" REQ "/*[1])"), "AP_Info");
    CHECK_EQ_STR(xs(&x, "local-name(" REQ "/*[4])"), "DataToBeSigned");
    CHECK_EQ_STR(xs(&x, "local-name(" REQ "/*[8])"), "AdditionalServices");
    xp_close(&x);
    free(out);

    /* Asynch, no optional parts. */
    r.mode = ETSI_MODE_ASYNCH_CS;
    r.timeout_s = 0;
    r.mss_format = r.profile = NULL;
    r.want_cert = r.want_validation = 0;
    CHECK_EQ_INT(etsi_build_signature(&r, &out, &len), ETSI_OK);
    CHECK(xp_open(&x, out, len) == 0);
    CHECK_EQ_STR(xs(&x, REQ "/@MessagingMode"), "asynchClientServer");
    CHECK_EQ_STR(xs(&x, "count(" REQ "/@TimeOut)"), "0");
    CHECK_EQ_STR(xs(&x, "count(" REQ "/*)"), "5");
    xp_close(&x);
    free(out);
}

/* Each bad value alone is ETSI_ERR_INVALID with *out NULL. */
static void test_build_invalid(void)
{
    struct etsi_sig_req ok = {.h = {&etsi_fx_ap, "T1", 1796499600},
                              .msisdn = "84912345678",
                              .dtbs = etsi_fx_dtbs,
                              .dtbs_len = sizeof etsi_fx_dtbs,
                              .display = "x"};
    struct etsi_ap bad_ap = etsi_fx_ap;
    struct etsi_sig_req r;
    char *out = (char *)1;
    size_t len = 7;

#define BAD(field, value)                                                     \
    do {                                                                      \
        r = ok;                                                               \
        r.field = value;                                                      \
        out = (char *)1;                                                      \
        CHECK_EQ_INT(etsi_build_signature(&r, &out, &len), ETSI_ERR_INVALID); \
        CHECK(out == NULL && len == 0);                                       \
    } while (0)
    BAD(msisdn, "8491234567a");
    BAD(msisdn, "");
    BAD(msisdn, "1234567890123456");
    BAD(msisdn, NULL);
    BAD(dtbs, NULL);
    BAD(dtbs_len, 0);
    BAD(dtbs_len, ETSI_DTBS_MAX + 1);
    BAD(display, "bell\a");
    BAD(display, "\xc3(");
    BAD(display, "");
    BAD(display, NULL);
    BAD(mss_format, "http://x y");
    BAD(h.ap_trans_id, "1starts-with-digit");
    BAD(h.ap_trans_id, "has:colon");
    BAD(h.ap_trans_id, "");
    BAD(h.ap_trans_id, "a123456789012345678901234567890123456789012345678901234567890123");
    BAD(h.instant, 0);
    BAD(h.ap, NULL);
    BAD(mode, 7);
    bad_ap.ap_pwd = NULL;
    BAD(h.ap, &bad_ap);
#undef BAD
    r = ok;
    CHECK_EQ_INT(etsi_build_signature(&r, &out, &len), ETSI_OK);
    free(out);
    CHECK_EQ_INT(etsi_build_status(&ok.h, "9bad", NULL, &out, &len), ETSI_ERR_INVALID);
    CHECK_EQ_INT(etsi_build_receipt(&ok.h, "M1", "84912345678", "\x01", &out, &len), ETSI_ERR_INVALID);
    CHECK_EQ_INT(etsi_build_registration(&ok.h, "+8491", &out, &len), ETSI_ERR_INVALID);
    CHECK(out == NULL);
}

static void test_build_others(void)
{
    struct etsi_head h = {&etsi_fx_ap, "T2", 1796499600};
    char *out = NULL;
    size_t len = 0;
    struct xp x;

    CHECK_EQ_INT(etsi_build_status(&h, "MSSP_42", "84912345678", &out, &len), ETSI_OK);
    CHECK(xp_open(&x, out, len) == 0);
    CHECK_EQ_STR(xs(&x, "/s:Envelope/s:Body/MSS_StatusQuery/MSS_StatusReq/@MSSP_TransID"), "MSSP_42");
    CHECK_EQ_STR(xs(&x, "/s:Envelope/s:Body/MSS_StatusQuery/MSS_StatusReq/m:AP_Info/@AP_TransID"), "T2");
    CHECK_EQ_STR(xs(&x, "count(//m:MobileUser)"), "0"); /* not in the WSDL's MSS_StatusReq */
    xp_close(&x);
    free(out);

    CHECK_EQ_INT(etsi_build_receipt(&h, "MSSP_42", "84912345678", "Đã ký <ok>", &out, &len), ETSI_OK);
    CHECK(xp_open(&x, out, len) == 0);
    CHECK_EQ_STR(xs(&x, "/s:Envelope/s:Body/MSS_Receipt/MSS_ReceiptReq/@MSSP_TransID"), "MSSP_42");
    CHECK_EQ_STR(xs(&x, "//MSS_ReceiptReq/m:MobileUser/m:MSISDN"), "84912345678");
    CHECK_EQ_STR(xs(&x, "//MSS_ReceiptReq/m:Message"), "Đã ký <ok>");
    xp_close(&x);
    free(out);

    CHECK_EQ_INT(etsi_build_registration(&h, "84912345678", &out, &len), ETSI_OK);
    CHECK(xp_open(&x, out, len) == 0);
    CHECK_EQ_STR(xs(&x, "/s:Envelope/s:Body/MSS_Registration/MSS_RegistrationReq/m:MobileUser/m:MSISDN"),
                 "84912345678");
    xp_close(&x);
    free(out);

    CHECK_EQ_INT(etsi_build_profile(&h, "84912345678", &out, &len), ETSI_OK);
    CHECK(xp_open(&x, out, len) == 0);
    CHECK_EQ_STR(xs(&x, "/s:Envelope/s:Body/MSS_ProfileQuery/MSS_ProfileReq/m:MobileUser/m:MSISDN"), "84912345678");
    xp_close(&x);
    free(out);

    CHECK_EQ_STR(etsi_action(ETSI_SIGNATURE), "");
    CHECK(etsi_action(ETSI_FAULT) == NULL);
    CHECK_EQ_STR(etsi_port(ETSI_PROFILE), "MSS_ProfileQueryPort");
    CHECK_EQ_STR(etsi_port(ETSI_STATUS), "MSS_StatusQueryPort");
}

#define ENV_OPEN                                   \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
    "<soapenv:Envelope xmlns:soapenv=\"http://www.w3.org/2003/05/soap-envelope\"><soapenv:Body>"
#define ENV_CLOSE "</soapenv:Body></soapenv:Envelope>"
#define MSS       "xmlns:mss=\"http://uri.etsi.org/TS102204/v1.1.2#\""
#define FI        "xmlns:fi=\"http://mss.ficom.fi/TS102204/v1.0.0#\""
#define HEAD                                                                         \
    "<mss:AP_Info AP_ID=\"http://simpki.example/ap\" AP_PWD=\"\" AP_TransID=\"T1\" " \
    "Instant=\"2026-12-05T19:40:00Z\"/>"                                             \
    "<mss:MSSP_Info><mss:MSSP_ID><mss:URI>http://hmssp.mobile-id.vn</mss:URI></mss:MSSP_ID></mss:MSSP_Info>"
#define USER "<mss:MobileUser><mss:MSISDN>84912345678</mss:MSISDN></mss:MobileUser>"
/* "signature!" in base64 with line breaks, as Java encoders write it. */
#define SIG \
    "<mss:MSS_Signature><mss:Base64Signature>c2ln\n bmF0\r\n\tdXJl\nIQ==</mss:Base64Signature></mss:MSS_Signature>"
#define CERT_B64 "MIIBAA=="

static const char sig_502[] =
    ENV_OPEN "<MSS_SignatureResponse><mss:MSS_SignatureResp MajorVersion=\"1\" MinorVersion=\"1\" "
             "MSSP_TransID=\"h29ah1\" " MSS " " FI ">" HEAD USER SIG
             "<mss:MSS_Format><mss:mssURI>http://uri.etsi.org/TS102204/v1.1.2#PKCS1</mss:mssURI></mss:MSS_Format>"
             "<mss:Status><mss:StatusCode Value=\"502\"/><mss:StatusMessage>VALID_SIGNATURE</mss:StatusMessage>"
             "<mss:StatusDetail><fi:ServiceResponses>"
             "<fi:ServiceResponse><fi:Description><mss:mssURI>" ETSI_SVC_SIGNING_CERT "</mss:mssURI></fi:Description>"
             "<mss:X509Certificate>" CERT_B64 "</mss:X509Certificate></fi:ServiceResponse>"
             "<fi:ServiceResponse><fi:Description><mss:mssURI>" ETSI_SVC_VALIDATION "</mss:mssURI></fi:Description>"
             "</fi:ServiceResponse>"
             "</fi:ServiceResponses></mss:StatusDetail></mss:Status>"
             "</mss:MSS_SignatureResp></MSS_SignatureResponse>" ENV_CLOSE;

/* The certificate where the WSDL's schema allows data: asc:SubscriberInfo/Detail id="X509Certificate". */
static const char status_500_asc[] =
    ENV_OPEN "<MSS_StatusQueryResponse><MSS_StatusResp MajorVersion=\"1\" MinorVersion=\"1\">" HEAD USER SIG
             "<mss:Status " MSS " " FI "><mss:StatusCode Value=\"500\"/>"
             "<mss:StatusDetail><fi:ServiceResponses><fi:ServiceResponse>"
             "<fi:Description><mss:mssURI>" ETSI_SVC_SIGNING_CERT "</mss:mssURI></fi:Description>"
             "<a:SubscriberInfo xmlns:a=\"http://mid.ae.mobile-id.vn/TS102204/as/v1.0\">"
             "<a:Detail id=\"lang\" value=\"vi\"/><a:Detail id=\"X509Certificate\" value=\"" CERT_B64 "\"/>"
             "</a:SubscriberInfo></fi:ServiceResponse></fi:ServiceResponses></mss:StatusDetail></mss:Status>"
             "</MSS_StatusResp></MSS_StatusQueryResponse>" ENV_CLOSE;

/* rpc style as zeep and JAX-WS write it: unqualified part, another prefix, no XML declaration. */
static const char sig_100[] =
    "<e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\"><e:Body><MSS_SignatureResponse>"
    "<MSS_SignatureResp MajorVersion=\"1\" MinorVersion=\"1\" MSSP_TransID=\"_MSSP-7\">"
    "<n:AP_Info xmlns:n=\"http://uri.etsi.org/TS102204/v1.1.2#\" AP_ID=\"http://a\" AP_PWD=\"\" AP_TransID=\"T1\" "
    "Instant=\"2026-12-05T19:40:00Z\"/>"
    "<n:MobileUser xmlns:n=\"http://uri.etsi.org/TS102204/v1.1.2#\"><n:MSISDN>+84912345678</n:MSISDN></n:MobileUser>"
    "<n:Status xmlns:n=\"http://uri.etsi.org/TS102204/v1.1.2#\"><n:StatusCode Value=\" 100 \"/>"
    "<n:StatusMessage>REQUEST_OK</n:StatusMessage></n:Status>"
    "</MSS_SignatureResp></MSS_SignatureResponse></e:Body></e:Envelope>";

static const char status_504[] = ENV_OPEN "<mss:MSS_StatusResp MajorVersion=\"1\" MinorVersion=\"1\" " MSS ">" HEAD USER
                                          "<mss:Status><mss:StatusCode Value=\"504\"/></mss:Status>"
                                          "</mss:MSS_StatusResp>" ENV_CLOSE;

static const char status_502[] = ENV_OPEN "<MSS_StatusQueryResponse><mss:MSS_StatusResp MajorVersion=\"1\" "
                                          "MinorVersion=\"1\" " MSS ">" HEAD USER SIG
                                          "<mss:Status><mss:StatusCode Value=\"502\"/><mss:StatusMessage>\xe1\xbb\x93"
                                          "k\t</mss:StatusMessage></mss:Status>"
                                          "</mss:MSS_StatusResp></MSS_StatusQueryResponse>" ENV_CLOSE;

static const char receipt[] = ENV_OPEN "<mss:MSS_ReceiptResp MajorVersion=\"1\" MinorVersion=\"1\" " MSS ">" HEAD
                                       "<mss:Status><mss:StatusCode Value=\"100\"/></mss:Status>"
                                       "</mss:MSS_ReceiptResp>" ENV_CLOSE;

static const char registration[] =
    ENV_OPEN "<mss:MSS_RegistrationResp MajorVersion=\"1\" MinorVersion=\"1\" " MSS ">" HEAD
             "<mss:Status><mss:StatusCode Value=\"408\"/><mss:StatusMessage>REGISTRATION_OK</mss:StatusMessage>"
             "</mss:Status><mss:CertificateResponse><mss:X509Certificate>\n" CERT_B64
             "\n</mss:X509Certificate></mss:CertificateResponse>"
             "</mss:MSS_RegistrationResp>" ENV_CLOSE;

#define FAULT(ns_decl, subcode)                                                                          \
    ENV_OPEN "<soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:Receiver</soapenv:Value>"              \
             "<soapenv:Subcode><soapenv:Value " ns_decl ">" subcode "</soapenv:Value></soapenv:Subcode>" \
             "</soapenv:Code><soapenv:Reason><soapenv:Text xml:lang=\"en\">USER_CANCEL</soapenv:Text>"   \
             "</soapenv:Reason><soapenv:Detail><ns1:detail xmlns:ns1=\"http://kiuru.methics.fi/mssp\">"  \
             "User cancelled</ns1:detail></soapenv:Detail></soapenv:Fault>" ENV_CLOSE

static enum etsi_err parse(const char *s, struct etsi_answer *a, char *why)
{
    return etsi_parse_answer((const uint8_t *)s, strlen(s), a, why, 96);
}

static void test_answers(void)
{
    struct etsi_answer a;
    char why[96];

    CHECK_EQ_INT(parse(sig_502, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_SIGNATURE);
    CHECK_EQ_INT(a.status, 502);
    CHECK_EQ_STR(a.status_text, "VALID_SIGNATURE");
    CHECK_EQ_STR(a.mssp_trans_id, "h29ah1");
    CHECK_EQ_STR(a.ap_trans_id, "T1");
    CHECK_EQ_STR(a.msisdn, "84912345678");
    CHECK_EQ_STR(a.mss_format, ETSI_NS_FMT_PKCS1);
    CHECK(a.sig_len == 10 && a.signature && memcmp(a.signature, "signature!", 10) == 0);
    CHECK(a.cert_len == 4 && a.cert && memcmp(a.cert, "\x30\x82\x01\x00", 4) == 0);
    CHECK_EQ_INT(a.validated, 1);
    etsi_answer_clear(&a);
    CHECK(a.signature == NULL && a.cert == NULL && a.status == 0);

    CHECK_EQ_INT(parse(sig_100, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_SIGNATURE);
    CHECK_EQ_INT(a.status, 100);
    CHECK_EQ_STR(a.mssp_trans_id, "_MSSP-7");
    CHECK_EQ_STR(a.msisdn, "84912345678");
    CHECK(a.signature == NULL && a.cert == NULL && a.validated == 0);
    etsi_answer_clear(&a);

    CHECK_EQ_INT(parse(status_504, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_STATUS);
    CHECK_EQ_INT(a.status, 504);
    CHECK(!etsi_status_find(a.status)->final);
    etsi_answer_clear(&a);

    CHECK_EQ_INT(parse(status_502, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_STATUS);
    CHECK_EQ_INT(a.status, 502);
    CHECK_EQ_STR(a.status_text, "?k?"); /* one '?' per UTF-8 character and per control character */
    CHECK(a.sig_len == 10);
    etsi_answer_clear(&a);

    CHECK_EQ_INT(parse(status_500_asc, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.status, 500);
    CHECK(a.cert_len == 4 && a.cert && memcmp(a.cert, "\x30\x82\x01\x00", 4) == 0);
    etsi_answer_clear(&a);

    CHECK_EQ_INT(parse(receipt, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_RECEIPT);
    CHECK_EQ_INT(a.status, 100);
    etsi_answer_clear(&a);

    CHECK_EQ_INT(parse(registration, &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_REGISTRATION);
    CHECK_EQ_INT(a.status, 408);
    CHECK(a.cert_len == 4 && a.cert && memcmp(a.cert, "\x30\x82\x01\x00", 4) == 0);
    etsi_answer_clear(&a);
}

static void test_faults(void)
{
    struct etsi_answer a;
    char why[96];

    CHECK_EQ_INT(parse(FAULT(MSS, "mss:_401"), &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_FAULT);
    CHECK_EQ_INT(a.status, 401);
    CHECK_EQ_STR(a.status_text, "USER_CANCEL");
    CHECK_EQ_INT(etsi_status_find(a.status)->outcome, CAR_OUT_USER_CANCEL);
    etsi_answer_clear(&a);
    /* Any prefix bound to the ETSI namespace. */
    CHECK_EQ_INT(parse(FAULT("xmlns:q=\"http://uri.etsi.org/TS102204/v1.1.2#\"", "q:_401"), &a, why), ETSI_OK);
    CHECK_EQ_INT(a.status, 401);
    etsi_answer_clear(&a);
    /* An unknown code is still a fault; the table has no line for it. */
    CHECK_EQ_INT(parse(FAULT(MSS, " mss:_999 "), &a, why), ETSI_OK);
    CHECK_EQ_INT(a.status, 999);
    CHECK(etsi_status_find(999) == NULL);
    etsi_answer_clear(&a);
    /* A subcode that is no ETSI code (a proxy's): a fault with status 0. */
    CHECK_EQ_INT(parse(FAULT("xmlns:w=\"urn:x\"", "w:Busy"), &a, why), ETSI_OK);
    CHECK_EQ_INT(a.kind, ETSI_FAULT);
    CHECK_EQ_INT(a.status, 0);
    etsi_answer_clear(&a);
    /* mss: bound elsewhere, or not at all. */
    CHECK_EQ_INT(parse(FAULT("xmlns:mss=\"urn:not-etsi\"", "mss:_401"), &a, why), ETSI_ERR_NAMESPACE);
    CHECK_EQ_INT(parse(FAULT("", "zz:_401"), &a, why), ETSI_ERR_NAMESPACE);
    CHECK_EQ_INT(parse(FAULT(MSS, "mss:_40100"), &a, why), ETSI_ERR_MALFORMED);
    CHECK_EQ_STR(why, "Fault Subcode out of range");
}

static char *deep(size_t levels)
{
    size_t n = strlen(ENV_OPEN ENV_CLOSE) + levels * 7 + 1;
    char *s = malloc(n), *p = s;

    if (!s)
        return NULL;
    p += sprintf(p, "%s", ENV_OPEN);
    for (size_t i = 0; i < levels; i++)
        p += sprintf(p, "<a>");
    for (size_t i = 0; i < levels; i++)
        p += sprintf(p, "</a>");
    sprintf(p, "%s", ENV_CLOSE);
    return s;
}

/* Hostile answers: each is its error, with a reason, and leaves the answer empty. */
static void test_hostile(void)
{
    static const struct {
        const char *body;
        enum etsi_err rc;
        const char *why;
    } cases[] = {
        {"<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
         "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><soapenv:Envelope xmlns:soapenv=\"" ETSI_NS_SOAP
         "\"><soapenv:Body>&c;</soapenv:Body></soapenv:Envelope>",
         ETSI_ERR_FORBIDDEN, "DOCTYPE not allowed"},
        {"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>", ETSI_ERR_FORBIDDEN,
         "DOCTYPE not allowed"},
        {"<!DOCTYPE soapenv:Envelope><soapenv:Envelope xmlns:soapenv=\"" ETSI_NS_SOAP "\"/>", ETSI_ERR_FORBIDDEN,
         "DOCTYPE not allowed"},
        {"<?xml version=\"1.0\"?><?xml-stylesheet href=\"x\"?><x/>", ETSI_ERR_FORBIDDEN,
         "processing instruction not allowed"},
        /* An undeclared entity without a DTD is not well-formed. */
        {ENV_OPEN "&e;" ENV_CLOSE, ETSI_ERR_MALFORMED, NULL},
        {"", ETSI_ERR_MALFORMED, "empty body"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS ">" HEAD, ETSI_ERR_MALFORMED, NULL}, /* truncated */
        {"<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body/>"
         "</soapenv:Envelope>",
         ETSI_ERR_NAMESPACE, "Envelope not in the SOAP 1.2 namespace"},
        {"<Envelope><Body/></Envelope>", ETSI_ERR_NAMESPACE, "Envelope not in the SOAP 1.2 namespace"},
        {"<x/>", ETSI_ERR_MALFORMED, "root is not a SOAP Envelope"},
        {ENV_OPEN ENV_CLOSE, ETSI_ERR_MALFORMED, "no Body or an empty one"},
        {ENV_OPEN "<x:MSS_StatusResp xmlns:x=\"urn:other\"/>" ENV_CLOSE, ETSI_ERR_NAMESPACE,
         "MSS_StatusResp in the wrong namespace"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS
                  "><Status><StatusCode Value=\"502\"/></Status></mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_NAMESPACE, "Status in the wrong namespace"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "/>" ENV_CLOSE, ETSI_ERR_MALFORMED, "Status missing"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:Status><mss:StatusCode Value=\"99999999999999999999\"/>"
                  "</mss:Status></mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "StatusCode Value out of range"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:Status><mss:StatusCode Value=\"000\"/>"
                  "</mss:Status></mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "StatusCode Value out of range"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:MSS_Format><mss:mssURI>http://x/\xc3\xa9</mss:mssURI>"
                  "</mss:MSS_Format></mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "MSS_Format not a URI in printable ASCII"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:Status><mss:StatusCode Value=\"-1\"/>"
                  "</mss:Status></mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "StatusCode Value not a number"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:MSS_Signature><mss:Base64Signature>c2ln*bmF0</mss:Base64Signature>"
                  "</mss:MSS_Signature><mss:Status><mss:StatusCode Value=\"502\"/></mss:Status>"
                  "</mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "Base64Signature not base64"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:MSS_Signature><mss:Base64Signature> </mss:Base64Signature>"
                  "</mss:MSS_Signature><mss:Status><mss:StatusCode Value=\"502\"/></mss:Status>"
                  "</mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "Base64Signature empty"},
        {ENV_OPEN "<mss:MSS_SignatureResp " MSS "><mss:Status><mss:StatusCode Value=\"100\"/></mss:Status>"
                  "</mss:MSS_SignatureResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "MSS_SignatureResp without MSSP_TransID"},
        {ENV_OPEN "<mss:MSS_SignatureResp MSSP_TransID=\"a b\" " MSS "/>" ENV_CLOSE, ETSI_ERR_MALFORMED,
         "MSSP_TransID not an NCName of at most 63 characters"},
        {ENV_OPEN "<mss:MSS_StatusResp " MSS "><mss:MobileUser><mss:MSISDN>0912 345</mss:MSISDN></mss:MobileUser>"
                  "</mss:MSS_StatusResp>" ENV_CLOSE,
         ETSI_ERR_MALFORMED, "MSISDN not a number of at most 15 digits"},
    };
    struct etsi_answer a;
    char why[96];
    char *big, *d;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&a, 0x5A, sizeof a);
        enum etsi_err rc = parse(cases[i].body, &a, why);
        if (rc != cases[i].rc || (cases[i].why && strcmp(why, cases[i].why) != 0))
            fprintf(stderr, "hostile case %zu: %d \"%s\"\n", i, rc, why);
        CHECK_EQ_INT(rc, cases[i].rc);
        if (cases[i].why)
            CHECK_EQ_STR(why, cases[i].why);
        CHECK(why[0] != '\0');
        CHECK(a.kind == 0 && a.signature == NULL && a.cert == NULL);
    }

    d = deep(10000);
    CHECK(d != NULL);
    CHECK_EQ_INT(parse(d, &a, why), ETSI_ERR_TOO_LARGE);
    CHECK_EQ_STR(why, "depth over 32");
    free(d);
    d = deep(ETSI_MAX_DEPTH - 2); /* Envelope and Body plus these: exactly the limit */
    CHECK_EQ_INT(parse(d, &a, why), ETSI_ERR_MALFORMED);
    CHECK_EQ_STR(why, "no MSS_*Resp in the Body");
    free(d);

    big = malloc(ETSI_MAX_BODY + 2);
    CHECK(big != NULL);
    if (big) {
        memset(big, ' ', ETSI_MAX_BODY + 1);
        memcpy(big, sig_502, strlen(sig_502));
        big[ETSI_MAX_BODY + 1] = '\0';
        CHECK_EQ_INT(etsi_parse_answer((uint8_t *)big, ETSI_MAX_BODY + 1, &a, why, sizeof why), ETSI_ERR_TOO_LARGE);
        CHECK_EQ_INT(etsi_parse_answer((uint8_t *)big, ETSI_MAX_BODY, &a, why, sizeof why), ETSI_OK);
        etsi_answer_clear(&a);
        free(big);
    }
    /* why may be NULL. */
    CHECK_EQ_INT(etsi_parse_answer((const uint8_t *)"<x", 2, &a, NULL, 0), ETSI_ERR_MALFORMED);
}

static void test_status_table(void)
{
    static const int readme[] = {100, 101, 102, 103, 104, 105, 107, 108, 109, 208, 209, 401, 402, 403,
                                 404, 406, 407, 408, 422, 423, 424, 425, 500, 501, 502, 503, 504, 900};
    size_t n = 0;
    const struct etsi_status *t = etsi_status_table(&n);
    char *md = NULL;
    size_t mdlen = 0;
    FILE *f;

    CHECK_EQ_INT(n, sizeof readme / sizeof readme[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_INT(t[i].code, readme[i]); /* every README code, in order, once */
        CHECK(t[i].name && t[i].meaning && t[i].meaning[0]);
        CHECK(!t[i].failover || t[i].final);
    }
    CHECK_EQ_INT(etsi_status_find(401)->outcome, CAR_OUT_USER_CANCEL);
    CHECK_EQ_INT(etsi_status_find(402)->outcome, CAR_OUT_PIN_BLOCKED);
    CHECK_EQ_INT(etsi_status_find(403)->outcome, CAR_OUT_CARD_BLOCKED);
    CHECK_EQ_INT(etsi_status_find(404)->outcome, CAR_OUT_NO_KEY);
    CHECK_EQ_INT(etsi_status_find(208)->outcome, CAR_OUT_EXPIRED);
    CHECK_EQ_INT(etsi_status_find(209)->outcome, CAR_OUT_OTA_ERROR);
    CHECK_EQ_INT(etsi_status_find(422)->outcome, CAR_OUT_NO_CERTIFICATE);
    CHECK_EQ_INT(etsi_status_find(500)->outcome, CAR_OUT_OK);
    CHECK_EQ_INT(etsi_status_find(502)->outcome, CAR_OUT_OK);
    CHECK_EQ_INT(etsi_status_find(101)->outcome, CAR_OUT_BAD_COMMAND);
    CHECK_EQ_INT(etsi_status_find(109)->outcome, CAR_OUT_UNSUPPORTED);
    CHECK(!etsi_status_find(100)->final && !etsi_status_find(504)->final);
    CHECK(etsi_status_find(104)->failover && etsi_status_find(105)->failover);
    CHECK(!etsi_status_find(101)->failover && !etsi_status_find(900)->failover);
    CHECK(etsi_status_find(106) == NULL);

    f = open_memstream(&md, &mdlen);
    CHECK(f != NULL);
    if (f) {
        etsi_status_markdown(f);
        fclose(f);
        CHECK(strstr(md, "| 401 | USER_CANCEL | USER_CANCEL | yes | no |") != NULL);
        CHECK(strstr(md, "| 504 | OUTSTANDING_TRANSACTION | - | no | no |") != NULL);
        free(md);
    }
}

int main(void)
{
    test_build_signature();
    test_build_invalid();
    test_build_others();
    test_answers();
    test_faults();
    test_hostile();
    test_status_table();
    xmlCleanupParser();
    return check_report("test_etsi_xml");
}
