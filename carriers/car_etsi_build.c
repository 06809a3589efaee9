/*
 * car_etsi_build.c - the requests of car_etsi_xml.h, built as a libxml2 tree
 * and serialised by libxml2, so that every text and attribute is escaped by
 * the library.  Element order follows the WSDL's sequences exactly: zeep
 * (tests/carriers/etsi_wsdl_check.py) refuses anything else.
 */
#include "car_etsi_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlstring.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define URI_MAX 512

/* A request being built: the tree, the ETSI namespace, the part element, the secret to wipe. */
struct req {
    xmlDocPtr doc;
    xmlNsPtr mss;
    xmlNodePtr part;
    xmlAttrPtr pwd;
    int oom;
};

/* xs:NCName, narrowed to ASCII: a letter or '_', then letters, digits, '.', '-', '_'. */
static int ncname_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= ETSI_ID_MAX || !(s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
        return 0;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int msisdn_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 15 && strspn(s, "0123456789") == n;
}

/* An anyURI we are willing to write: printable ASCII, no spaces. */
static int uri_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > URI_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~')
            return 0;
    return 1;
}

/* Text XML 1.0 can carry: valid UTF-8 (libxml2's check), no control characters but tab, LF, CR. */
static int text_ok(const char *s)
{
    if (!s || !xmlCheckUTF8((const xmlChar *)s))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            return 0;
    return 1;
}

static xmlNodePtr child(struct req *q, xmlNodePtr parent, const char *name, const char *text)
{
    xmlNodePtr n = NULL;

    if (!q->oom && parent)
        n = xmlNewTextChild(parent, q->mss, (const xmlChar *)name, (const xmlChar *)text);
    if (!n)
        q->oom = 1;
    return n;
}

static xmlAttrPtr prop(struct req *q, xmlNodePtr node, const char *name, const char *value)
{
    xmlAttrPtr a = NULL;

    if (!q->oom && node)
        a = xmlNewProp(node, (const xmlChar *)name, (const xmlChar *)value);
    if (!a)
        q->oom = 1;
    return a;
}

/* <X><mss:mssURI>uri</mss:mssURI></X>: the WSDL's mssURIType. */
static void uri_child(struct req *q, xmlNodePtr parent, const char *name, const char *uri)
{
    child(q, child(q, parent, name, NULL), "mssURI", uri);
}

static enum etsi_err head_check(const struct etsi_head *h)
{
    if (!h || !h->ap || !uri_ok(h->ap->ap_id) || !h->ap->ap_pwd || !text_ok(h->ap->ap_pwd) || !uri_ok(h->ap->mssp_id) ||
        !ncname_ok(h->ap_trans_id) || h->instant <= 0)
        return ETSI_ERR_INVALID;
    return ETSI_OK;
}

/* Envelope, Body, the rpc wrapper `op` and the part `part` with AP_Info and MSSP_Info. */
static enum etsi_err begin(struct req *q, const struct etsi_head *h, const char *op, const char *part)
{
    xmlNodePtr env, body, wrap, ap, mssp;
    xmlNsPtr soap;
    struct tm tm;
    char instant[32];

    memset(q, 0, sizeof *q);
    if (head_check(h) != ETSI_OK)
        return ETSI_ERR_INVALID;
    if (!gmtime_r(&h->instant, &tm) || !strftime(instant, sizeof instant, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return ETSI_ERR_INVALID;
    xmlInitParser();
    q->doc = xmlNewDoc((const xmlChar *)"1.0");
    env = q->doc ? xmlNewDocNode(q->doc, NULL, (const xmlChar *)"Envelope", NULL) : NULL;
    if (!env)
        return ETSI_ERR_NOMEM;
    xmlDocSetRootElement(q->doc, env);
    soap = xmlNewNs(env, (const xmlChar *)ETSI_NS_SOAP, (const xmlChar *)"soap");
    q->mss = xmlNewNs(env, (const xmlChar *)ETSI_NS_MSS, (const xmlChar *)"mss");
    if (!soap || !q->mss)
        return ETSI_ERR_NOMEM;
    xmlSetNs(env, soap);
    body = xmlNewChild(env, soap, (const xmlChar *)"Body", NULL);
    /*
     * rpc/literal without a soap:body namespace: wrapper and part are
     * unqualified.  Not xmlNewChild(.., NULL, ..): that inherits soap:.
     */
    wrap = body ? xmlAddChild(body, xmlNewDocNode(q->doc, NULL, (const xmlChar *)op, NULL)) : NULL;
    q->part = wrap ? xmlAddChild(wrap, xmlNewDocNode(q->doc, NULL, (const xmlChar *)part, NULL)) : NULL;
    if (!q->part)
        return ETSI_ERR_NOMEM;
    prop(q, q->part, "MajorVersion", "1");
    prop(q, q->part, "MinorVersion", "1");
    ap = child(q, q->part, "AP_Info", NULL);
    prop(q, ap, "AP_ID", h->ap->ap_id);
    q->pwd = prop(q, ap, "AP_PWD", h->ap->ap_pwd);
    prop(q, ap, "AP_TransID", h->ap_trans_id);
    prop(q, ap, "Instant", instant);
    mssp = child(q, q->part, "MSSP_Info", NULL);
    child(q, child(q, mssp, "MSSP_ID", NULL), "URI", h->ap->mssp_id);
    return q->oom ? ETSI_ERR_NOMEM : ETSI_OK;
}

/* Serialise into a malloc'd copy, then wipe every copy of AP_PWD libxml2 holds. */
static enum etsi_err finish(struct req *q, enum etsi_err rc, char **out, size_t *len)
{
    xmlChar *mem = NULL;
    int size = 0;

    if (rc == ETSI_OK && q->oom)
        rc = ETSI_ERR_NOMEM;
    if (rc == ETSI_OK) {
        xmlDocDumpFormatMemoryEnc(q->doc, &mem, &size, "UTF-8", 0);
        if (!mem || size <= 0 || !(*out = malloc((size_t)size + 1))) {
            rc = ETSI_ERR_NOMEM;
        } else {
            memcpy(*out, mem, (size_t)size);
            (*out)[size] = '\0';
            *len = (size_t)size;
        }
        if (mem) {
            OPENSSL_cleanse(mem, (size_t)(size > 0 ? size : 0));
            xmlFree(mem);
        }
    }
    if (q->pwd && q->pwd->children && q->pwd->children->content)
        OPENSSL_cleanse(q->pwd->children->content, (size_t)xmlStrlen(q->pwd->children->content));
    xmlFreeDoc(q->doc);
    return rc;
}

/* The shared prologue of the builders: clear the outputs. */
static enum etsi_err start(char **out, size_t *len)
{
    if (!out || !len)
        return ETSI_ERR_INVALID;
    *out = NULL;
    *len = 0;
    return ETSI_OK;
}

enum etsi_err etsi_build_signature(const struct etsi_sig_req *r, char **out, size_t *len)
{
    struct req q;
    enum etsi_err rc = start(out, len);
    char *b64 = NULL, timeout[16];
    xmlNodePtr n, as;

    if (rc != ETSI_OK)
        return rc;
    if (!r || !msisdn_ok(r->msisdn) || !r->dtbs || r->dtbs_len == 0 || r->dtbs_len > ETSI_DTBS_MAX ||
        !text_ok(r->display) || r->display[0] == '\0' || (r->mss_format && !uri_ok(r->mss_format)) ||
        (r->profile && !uri_ok(r->profile)) || (r->mode != ETSI_MODE_SYNCH && r->mode != ETSI_MODE_ASYNCH_CS))
        return ETSI_ERR_INVALID;
    rc = begin(&q, &r->h, "MSS_Signature", "MSS_SignatureReq");
    if (rc == ETSI_OK && !(b64 = util_b64_encode(r->dtbs, r->dtbs_len)))
        rc = ETSI_ERR_NOMEM;
    if (rc == ETSI_OK) {
        if (r->timeout_s) {
            snprintf(timeout, sizeof timeout, "%u", r->timeout_s);
            prop(&q, q.part, "TimeOut", timeout);
        }
        prop(&q, q.part, "MessagingMode", r->mode == ETSI_MODE_SYNCH ? "synch" : "asynchClientServer");
        child(&q, child(&q, q.part, "MobileUser", NULL), "MSISDN", r->msisdn);
        n = child(&q, q.part, "DataToBeSigned", b64);
        prop(&q, n, "MimeType", "application/octet-stream");
        prop(&q, n, "Encoding", "base64");
        n = child(&q, q.part, "DataToBeDisplayed", r->display);
        prop(&q, n, "MimeType", "text/plain");
        prop(&q, n, "Encoding", "UTF-8");
        if (r->mss_format)
            uri_child(&q, q.part, "MSS_Format", r->mss_format);
        if (r->profile)
            uri_child(&q, q.part, "SignatureProfile", r->profile);
        if (r->want_cert || r->want_validation) {
            as = child(&q, q.part, "AdditionalServices", NULL);
            if (r->want_cert)
                uri_child(&q, child(&q, as, "Service", NULL), "Description", ETSI_SVC_SIGNING_CERT);
            if (r->want_validation)
                uri_child(&q, child(&q, as, "Service", NULL), "Description", ETSI_SVC_VALIDATION);
        }
    }
    free(b64);
    return finish(&q, rc, out, len);
}

enum etsi_err etsi_build_status(const struct etsi_head *h, const char *mssp_trans_id, const char *msisdn, char **out,
                                size_t *len)
{
    struct req q;
    enum etsi_err rc = start(out, len);

    if (rc != ETSI_OK)
        return rc;
    if (!ncname_ok(mssp_trans_id) || (msisdn && !msisdn_ok(msisdn)))
        return ETSI_ERR_INVALID;
    rc = begin(&q, h, "MSS_StatusQuery", "MSS_StatusReq");
    if (rc == ETSI_OK)
        prop(&q, q.part, "MSSP_TransID", mssp_trans_id);
    return finish(&q, rc, out, len);
}

enum etsi_err etsi_build_receipt(const struct etsi_head *h, const char *mssp_trans_id, const char *msisdn,
                                 const char *message, char **out, size_t *len)
{
    struct req q;
    enum etsi_err rc = start(out, len);
    xmlNodePtr n;

    if (rc != ETSI_OK)
        return rc;
    if (!ncname_ok(mssp_trans_id) || !msisdn_ok(msisdn) || (message && !text_ok(message)))
        return ETSI_ERR_INVALID;
    rc = begin(&q, h, "MSS_Receipt", "MSS_ReceiptReq");
    if (rc == ETSI_OK) {
        prop(&q, q.part, "MSSP_TransID", mssp_trans_id);
        child(&q, child(&q, q.part, "MobileUser", NULL), "MSISDN", msisdn);
        if (message) {
            n = child(&q, q.part, "Message", message);
            prop(&q, n, "MimeType", "text/plain");
            prop(&q, n, "Encoding", "UTF-8");
        }
    }
    return finish(&q, rc, out, len);
}

/* Registration and profile queries: the head and MobileUser, nothing else. */
static enum etsi_err build_user(const struct etsi_head *h, const char *msisdn, const char *op, const char *part,
                                char **out, size_t *len)
{
    struct req q;
    enum etsi_err rc = start(out, len);

    if (rc != ETSI_OK)
        return rc;
    if (!msisdn_ok(msisdn))
        return ETSI_ERR_INVALID;
    rc = begin(&q, h, op, part);
    if (rc == ETSI_OK)
        child(&q, child(&q, q.part, "MobileUser", NULL), "MSISDN", msisdn);
    return finish(&q, rc, out, len);
}

enum etsi_err etsi_build_registration(const struct etsi_head *h, const char *msisdn, char **out, size_t *len)
{
    return build_user(h, msisdn, "MSS_Registration", "MSS_RegistrationReq", out, len);
}

enum etsi_err etsi_build_profile(const struct etsi_head *h, const char *msisdn, char **out, size_t *len)
{
    return build_user(h, msisdn, "MSS_ProfileQuery", "MSS_ProfileReq", out, len);
}

const char *etsi_action(enum etsi_kind k)
{
    /* The WSDL's operations say soapActionRequired="false" and give no soapAction. */
    return etsi_port(k) ? "" : NULL;
}

const char *etsi_port(enum etsi_kind k)
{
    switch (k) {
    case ETSI_SIGNATURE: return "MSS_SignaturePort";
    case ETSI_STATUS: return "MSS_StatusQueryPort";
    case ETSI_RECEIPT: return "MSS_ReceiptPort";
    case ETSI_REGISTRATION: return "MSS_RegistrationPort";
    case ETSI_PROFILE: return "MSS_ProfileQueryPort";
    case ETSI_FAULT: return NULL;
    }
    return NULL;
}
