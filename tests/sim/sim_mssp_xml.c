/* sim_mssp_xml.c - see sim_mssp_xml.h. */
#include "sim_mssp_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "util.h"

static const struct {
    int code;
    const char *name;
} status_names[] = {
    {100, "REQUEST_OK"},
    {101, "WRONG_PARAM"},
    {102, "MISSING_PARAM"},
    {103, "WRONG_DATA_LENGTH"},
    {104, "UNAUTHORIZED_ACCESS"},
    {105, "UNKNOWN_CLIENT"},
    {107, "INAPPROPRIATE_DATA"},
    {108, "INCOMPATIBLE_INTERFACE"},
    {109, "UNSUPPORTED_PROFILE"},
    {208, "EXPIRED_TRANSACTION"},
    {209, "OTA_ERROR"},
    {401, "USER_CANCEL"},
    {402, "PIN_NR_BLOCKED"},
    {403, "CARD_BLOCKED"},
    {404, "NO_KEY_FOUND"},
    {406, "PB_SIGNATURE_PROCESS"},
    {407, "REGISTRATION_NOK"},
    {408, "REGISTRATION_OK"},
    {422, "NO_CERT_FOUND"},
    {423, "CRL_PB"},
    {424, "CRL_EXPIRED"},
    {425, "ERROR_CERTIFICATE"},
    {500, "SIGNATURE"},
    {501, "REVOKED_CERTIFICATE"},
    {502, "VALID_SIGNATURE"},
    {503, "INVALID_SIGNATURE"},
    {504, "OUTSTANDING_TRANSACTION"},
    {900, "INTERNAL_ERROR"},
};

const char *mssp_status_name(int code)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
        if (status_names[i].code == code)
            return status_names[i].name;
    return "UNKNOWN_ERROR";
}

/* Per operation: its port, the request part and the answer's wrapper and part. */
static const struct {
    const char *port, *op, *req, *wrap, *resp;
} ops[MSSP_OP_COUNT_] = {
    [MSSP_OP_SIGNATURE] = {"MSS_SignaturePort", "MSS_Signature", "MSS_SignatureReq", "MSS_SignatureResponse",
                           "MSS_SignatureResp"},
    [MSSP_OP_STATUS] = {"MSS_StatusQueryPort", "MSS_StatusQuery", "MSS_StatusReq", "MSS_StatusQueryResponse",
                        "MSS_StatusResp"},
    [MSSP_OP_RECEIPT] = {"MSS_ReceiptPort", "MSS_Receipt", "MSS_ReceiptReq", "MSS_ReceiptResponse", "MSS_ReceiptResp"},
    [MSSP_OP_PROFILE] = {"MSS_ProfileQueryPort", "MSS_ProfileQuery", "MSS_ProfileReq", "MSS_ProfileQueryResponse",
                         "MSS_ProfileResp"},
    [MSSP_OP_REGISTRATION] = {"MSS_RegistrationPort", "MSS_Registration", "MSS_RegistrationReq",
                              "MSS_RegistrationResponse", "MSS_RegistrationResp"},
};

const char *mssp_op_port(enum mssp_op op)
{
    return (unsigned)op < MSSP_OP_COUNT_ ? ops[op].port : "unknown";
}

int mssp_op_from_port(const char *port)
{
    for (int i = 0; i < MSSP_OP_COUNT_; i++)
        if (strcmp(port, ops[i].port) == 0)
            return i;
    return -1;
}

void mssp_req_wipe(struct mssp_req *r)
{
    OPENSSL_cleanse(r->ap_pwd, sizeof(r->ap_pwd));
}

/* ---- reading ----------------------------------------------------------- */

static int is(const xmlNode *n, const char *ns, const char *name)
{
    if (!n || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return 0;
    if (!ns)
        return n->ns == NULL || n->ns->href == NULL || n->ns->href[0] == '\0';
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

static xmlNode *first_elem(xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

static xmlNode *child(xmlNode *parent, const char *ns, const char *name)
{
    if (!parent)
        return NULL;
    for (xmlNode *n = parent->children; n; n = n->next)
        if (is(n, ns, name))
            return n;
    return NULL;
}

/* Copy a libxml2 string (freed here) into dst: 0, 102 when absent, 101 when too long. */
static int take(xmlChar *v, char *dst, size_t cap)
{
    size_t n;

    if (!v)
        return MSSP_MISSING_PARAM;
    n = strlen((const char *)v);
    if (n >= cap) {
        OPENSSL_cleanse(v, n);
        xmlFree(v);
        return MSSP_WRONG_PARAM;
    }
    memcpy(dst, v, n + 1);
    OPENSSL_cleanse(v, n);
    xmlFree(v);
    return 0;
}

static int attr(xmlNode *n, const char *name, char *dst, size_t cap)
{
    return n ? take(xmlGetNoNsProp(n, (const xmlChar *)name), dst, cap) : MSSP_MISSING_PARAM;
}

static int text(xmlNode *n, char *dst, size_t cap)
{
    return n ? take(xmlNodeGetContent(n), dst, cap) : MSSP_MISSING_PARAM;
}

/* The mssURI inside an mss:mssURIType element; 0 / 101 / 102 as take(). */
static int uri_of(xmlNode *n, char *dst, size_t cap)
{
    return text(child(n, MSSP_NS_ETSI, "mssURI"), dst, cap);
}

/*
 * xs:base64Binary: whitespace is allowed between the characters, so the
 * EVP_Decode* stream functions (which skip it) rather than a strict block
 * decoder.  0, 101 when not base64, 103 when over cap.
 */
static int b64_decode(const char *in, uint8_t *out, size_t cap, size_t *outlen)
{
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    size_t inlen = strlen(in);
    uint8_t *tmp = NULL;
    int n1 = 0, n2 = 0, rc = MSSP_WRONG_PARAM;

    if (!ctx || inlen > 0x7fff0000)
        goto out;
    tmp = malloc(inlen / 4 * 3 + 4);
    if (!tmp)
        goto out;
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, tmp, &n1, (const unsigned char *)in, (int)inlen) < 0 ||
        EVP_DecodeFinal(ctx, tmp + n1, &n2) != 1)
        goto out;
    if ((size_t)(n1 + n2) > cap) {
        rc = MSSP_WRONG_DATA_LENGTH;
        goto out;
    }
    memcpy(out, tmp, (size_t)(n1 + n2));
    *outlen = (size_t)(n1 + n2);
    rc = 0;
out:
    free(tmp);
    EVP_ENCODE_CTX_free(ctx);
    return rc;
}

/* The children every request has (MessageAbstractType) and the per-operation ones. */
static int read_part(xmlNode *part, enum mssp_op op, struct mssp_req *r, const char **why)
{
    char v[64], *b64 = NULL;
    xmlNode *ap = child(part, MSSP_NS_ETSI, "AP_Info"), *n, *svc;
    int rc;

    *why = "MajorVersion/MinorVersion";
    if ((rc = attr(part, "MajorVersion", v, sizeof(v))) != 0 || (rc = attr(part, "MinorVersion", v, sizeof(v))) != 0)
        return rc;
    *why = "AP_Info";
    if ((rc = attr(ap, "AP_ID", r->ap_id, sizeof(r->ap_id))) != 0 ||
        (rc = attr(ap, "AP_PWD", r->ap_pwd, sizeof(r->ap_pwd))) != 0 ||
        (rc = attr(ap, "AP_TransID", r->ap_transid, sizeof(r->ap_transid))) != 0 ||
        (rc = attr(ap, "Instant", v, sizeof(v))) != 0)
        return rc;
    *why = "MSSP_Info";
    if (!child(part, MSSP_NS_ETSI, "MSSP_Info"))
        return MSSP_MISSING_PARAM;
    if (op == MSSP_OP_STATUS || op == MSSP_OP_RECEIPT) {
        *why = "MSSP_TransID";
        if ((rc = attr(part, "MSSP_TransID", r->mssp_transid, sizeof(r->mssp_transid))) != 0)
            return rc;
    }
    if (op != MSSP_OP_STATUS) {
        *why = "MobileUser/MSISDN";
        if ((rc = text(child(child(part, MSSP_NS_ETSI, "MobileUser"), MSSP_NS_ETSI, "MSISDN"), r->msisdn,
                       sizeof(r->msisdn))) != 0)
            return rc;
        if (r->msisdn[0] == '\0')
            return MSSP_MISSING_PARAM;
    }
    if (op != MSSP_OP_SIGNATURE)
        return 0;

    *why = "MessagingMode";
    if ((rc = attr(part, "MessagingMode", v, sizeof(v))) != 0)
        return rc;
    if (strcmp(v, "synch") == 0)
        r->synch = 1;
    else if (strcmp(v, "asynchClientServer") != 0)
        return MSSP_WRONG_PARAM;
    *why = "TimeOut";
    rc = attr(part, "TimeOut", v, sizeof(v));
    if (rc == 0) {
        char *end = NULL;
        unsigned long t = strtoul(v, &end, 10);
        if (end == v || *end || t == 0 || t > 86400)
            return MSSP_WRONG_PARAM;
        r->timeout_s = (unsigned)t;
    } else if (rc != MSSP_MISSING_PARAM) {
        return rc;
    }
    *why = "DataToBeDisplayed";
    if (!child(part, MSSP_NS_ETSI, "DataToBeDisplayed"))
        return MSSP_MISSING_PARAM;
    *why = "DataToBeSigned";
    n = child(part, MSSP_NS_ETSI, "DataToBeSigned");
    if ((rc = attr(n, "Encoding", v, sizeof(v))) == 0 && strcmp(v, "base64") != 0)
        return MSSP_WRONG_PARAM;
    b64 = n ? (char *)xmlNodeGetContent(n) : NULL;
    if (!b64 || b64[strspn(b64, " \t\r\n")] == '\0')
        rc = MSSP_MISSING_PARAM;
    else
        rc = b64_decode(b64, r->dtbs, sizeof(r->dtbs), &r->dtbs_len);
    xmlFree(b64);
    if (rc != 0)
        return rc;
    *why = "MSS_Format";
    n = child(part, MSSP_NS_ETSI, "MSS_Format");
    if (n && (rc = uri_of(n, r->format, sizeof(r->format))) != 0)
        return rc;
    *why = "SignatureProfile";
    n = child(part, MSSP_NS_ETSI, "SignatureProfile");
    if (n && (rc = uri_of(n, r->profile, sizeof(r->profile))) != 0)
        return rc;
    *why = "AdditionalServices";
    n = child(part, MSSP_NS_ETSI, "AdditionalServices");
    for (svc = n ? n->children : NULL; svc; svc = svc->next) {
        if (!is(svc, MSSP_NS_ETSI, "Service"))
            continue;
        if ((rc = uri_of(child(svc, MSSP_NS_ETSI, "Description"), v, sizeof(v))) != 0)
            return rc;
        if (strcmp(v, MSSP_URI_SIGNING_CERT) == 0)
            r->want_cert = 1;
        else if (strcmp(v, MSSP_URI_VALIDATION) == 0)
            r->want_validation = 1;
    }
    return 0;
}

int mssp_xml_parse(const char *body, size_t len, enum mssp_op op, struct mssp_req *r, const char **why)
{
    xmlDoc *doc = NULL;
    xmlNode *root, *wrap, *part;
    int rc = MSSP_WRONG_PARAM;

    memset(r, 0, sizeof(*r));
    r->op = op;
    *why = "not a SOAP 1.2 envelope";
    if ((unsigned)op >= MSSP_OP_COUNT_ || len == 0 || len > 0x7fffffff)
        return MSSP_WRONG_PARAM;
    /* Entities are where XML bombs live: no DTD at all, refused before parsing.
     * The encoding is forced to UTF-8, so this byte search sees every DOCTYPE. */
    if (memmem(body, len, "<!DOCTYPE", 9)) {
        *why = "a DOCTYPE";
        return MSSP_WRONG_PARAM;
    }
    doc = xmlReadMemory(body, (int)len, NULL, "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
    if (!doc) {
        *why = "not well-formed XML";
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (doc->intSubset || doc->extSubset || !is(root, MSSP_NS_SOAP12, "Envelope"))
        goto out;
    wrap = first_elem(child(root, MSSP_NS_SOAP12, "Body") ? child(root, MSSP_NS_SOAP12, "Body")->children : NULL);
    if (!wrap || strcmp((const char *)wrap->name, ops[op].op) != 0) {
        *why = "the Body does not hold this port's operation";
        goto out;
    }
    part = child(wrap, NULL, ops[op].req);
    if (!part) {
        *why = "no (unqualified) request part in the operation";
        rc = MSSP_MISSING_PARAM;
        goto out;
    }
    rc = read_part(part, op, r, why);
out:
    xmlFreeDoc(doc);
    if (rc != 0)
        mssp_req_wipe(r);
    return rc;
}

/* ---- writing ----------------------------------------------------------- */

static char *b64_encode(const uint8_t *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);

    if (out)
        EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

/*
 * An element in no namespace: the rpc wrapper and part (xmlNewChild with a
 * NULL namespace would put it in its parent's, env:).
 */
static xmlNode *add_unqualified(xmlNode *parent, const char *name)
{
    xmlNode *n = xmlNewDocNode(parent->doc, NULL, (const xmlChar *)name, NULL);

    if (n && !xmlAddChild(parent, n)) {
        xmlFreeNode(n);
        n = NULL;
    }
    return n;
}

/* An mss:mssURIType element holding uri. */
static xmlNode *add_uri(xmlNode *parent, xmlNs *mss, const char *name, const char *uri)
{
    xmlNode *n = xmlNewChild(parent, mss, (const xmlChar *)name, NULL);

    if (n)
        xmlNewTextChild(n, mss, (const xmlChar *)"mssURI", (const xmlChar *)uri);
    return n;
}

/* Serialize doc (freed here) onto out. */
static int dump(xmlDoc *doc, struct evbuffer *out)
{
    xmlChar *mem = NULL;
    int size = 0, rc = -1;

    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (mem && size > 0 && evbuffer_add(out, mem, (size_t)size) == 0)
        rc = 0;
    xmlFree(mem);
    xmlFreeDoc(doc);
    return rc;
}

/* A document with env:Envelope/env:Body; *body set, the other namespaces declared on the root. */
static xmlDoc *envelope(int unusual, xmlNode **body, xmlNs **mss, xmlNs **fi, xmlNs **asc)
{
    xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNode *root, *hdr;
    xmlNs *env, *x;

    if (!doc)
        return NULL;
    root = xmlNewNode(NULL, (const xmlChar *)"Envelope");
    if (!root) {
        xmlFreeDoc(doc);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    /* "unusual": prefixes nobody hard-codes, a Header with a foreign element, comments. */
    env = xmlNewNs(root, (const xmlChar *)MSSP_NS_SOAP12, (const xmlChar *)(unusual ? "S" : "env"));
    *mss = xmlNewNs(root, (const xmlChar *)MSSP_NS_ETSI, (const xmlChar *)(unusual ? "ns7" : "mss"));
    *fi = xmlNewNs(root, (const xmlChar *)MSSP_NS_FICOM, (const xmlChar *)"fi");
    *asc = xmlNewNs(root, (const xmlChar *)MSSP_NS_ASC, (const xmlChar *)"asc");
    xmlSetNs(root, env);
    if (unusual) {
        xmlAddChild(root, xmlNewDocComment(doc, (const xmlChar *)" simpki-sim: an unusual but valid answer "));
        hdr = xmlNewChild(root, env, (const xmlChar *)"Header", NULL);
        x = hdr ? xmlNewNs(hdr, (const xmlChar *)"urn:simpki:sim:trace", (const xmlChar *)"t") : NULL;
        if (hdr)
            xmlNewTextChild(hdr, x, (const xmlChar *)"Trace", (const xmlChar *)"hostile");
    }
    *body = xmlNewChild(root, env, (const xmlChar *)"Body", NULL);
    if (!*body || !*mss || !*fi || !*asc || !env) {
        xmlFreeDoc(doc);
        return NULL;
    }
    return doc;
}

static void add_status(xmlNode *part, xmlNs *mss, xmlNs *fi, xmlNs *asc, const struct mssp_answer *a)
{
    char code[16];
    xmlNode *st = xmlNewChild(part, mss, (const xmlChar *)"Status", NULL), *sc, *det, *srs, *sr, *si, *d;
    char *b64;

    if (!st)
        return;
    snprintf(code, sizeof(code), "%d", a->status);
    sc = xmlNewChild(st, mss, (const xmlChar *)"StatusCode", NULL);
    if (sc)
        xmlSetProp(sc, (const xmlChar *)"Value", (const xmlChar *)code);
    xmlNewTextChild(st, mss, (const xmlChar *)"StatusMessage", (const xmlChar *)mssp_status_name(a->status));
    if (a->op == MSSP_OP_REGISTRATION || !a->cert)
        return;
    det = xmlNewChild(st, mss, (const xmlChar *)"StatusDetail", NULL);
    srs = det ? xmlNewChild(det, fi, (const xmlChar *)"ServiceResponses", NULL) : NULL;
    sr = srs ? xmlNewChild(srs, fi, (const xmlChar *)"ServiceResponse", NULL) : NULL;
    if (!sr)
        return;
    d = xmlNewChild(sr, fi, (const xmlChar *)"Description", NULL);
    if (d)
        xmlNewTextChild(d, mss, (const xmlChar *)"mssURI", (const xmlChar *)MSSP_URI_SIGNING_CERT);
    si = xmlNewChild(sr, asc, (const xmlChar *)"SubscriberInfo", NULL);
    d = si ? xmlNewChild(si, asc, (const xmlChar *)"Detail", NULL) : NULL;
    b64 = b64_encode(a->cert, a->cert_len);
    if (d && b64) {
        xmlSetProp(d, (const xmlChar *)"id", (const xmlChar *)"X509Certificate");
        xmlSetProp(d, (const xmlChar *)"value", (const xmlChar *)b64);
    }
    free(b64);
}

int mssp_xml_answer(const struct mssp_answer *a, struct evbuffer *out)
{
    xmlNs *mss, *fi, *asc;
    xmlNode *body, *wrap, *part, *n;
    xmlDoc *doc;
    char now[32], *b64;

    if ((unsigned)a->op >= MSSP_OP_COUNT_)
        return -1;
    doc = envelope(a->unusual, &body, &mss, &fi, &asc);
    if (!doc)
        return -1;
    util_iso8601(time(NULL), now);
    wrap = add_unqualified(body, ops[a->op].wrap);
    part = wrap ? add_unqualified(wrap, ops[a->op].resp) : NULL;
    if (!part) {
        xmlFreeDoc(doc);
        return -1;
    }
    xmlSetProp(part, (const xmlChar *)"MajorVersion", (const xmlChar *)"1");
    xmlSetProp(part, (const xmlChar *)"MinorVersion", (const xmlChar *)"1");
    if (a->op == MSSP_OP_SIGNATURE)
        xmlSetProp(part, (const xmlChar *)"MSSP_TransID", (const xmlChar *)(a->mssp_transid ? a->mssp_transid : ""));
    n = xmlNewChild(part, mss, (const xmlChar *)"AP_Info", NULL);
    if (n) {
        xmlSetProp(n, (const xmlChar *)"AP_ID", (const xmlChar *)a->req->ap_id);
        xmlSetProp(n, (const xmlChar *)"AP_PWD", (const xmlChar *)"");
        xmlSetProp(n, (const xmlChar *)"AP_TransID", (const xmlChar *)a->req->ap_transid);
        xmlSetProp(n, (const xmlChar *)"Instant", (const xmlChar *)now);
    }
    n = xmlNewChild(part, mss, (const xmlChar *)"MSSP_Info", NULL);
    if (n) {
        xmlSetProp(n, (const xmlChar *)"Instant", (const xmlChar *)now);
        n = xmlNewChild(n, mss, (const xmlChar *)"MSSP_ID", NULL);
        if (n)
            xmlNewTextChild(n, mss, (const xmlChar *)"URI", (const xmlChar *)a->mssp_id);
    }
    if (a->unusual)
        xmlAddChild(part, xmlNewDocComment(doc, (const xmlChar *)" the signature follows "));
    if (a->op == MSSP_OP_SIGNATURE || a->op == MSSP_OP_STATUS) {
        n = xmlNewChild(part, mss, (const xmlChar *)"MobileUser", NULL);
        if (n)
            xmlNewTextChild(n, mss, (const xmlChar *)"MSISDN", (const xmlChar *)(a->msisdn ? a->msisdn : ""));
        if (a->sig) {
            b64 = b64_encode(a->sig, a->sig_len);
            n = xmlNewChild(part, mss, (const xmlChar *)"MSS_Signature", NULL);
            if (n && b64)
                xmlNewTextChild(n, mss, (const xmlChar *)"Base64Signature", (const xmlChar *)b64);
            free(b64);
            add_uri(part, mss, "MSS_Format", a->format ? a->format : MSSP_URI_PKCS1);
            if (a->op == MSSP_OP_SIGNATURE)
                add_uri(part, mss, "SignatureProfile", MSSP_URI_PROFILE);
        }
    }
    if (a->op == MSSP_OP_PROFILE)
        add_uri(part, mss, "SignatureProfile", MSSP_URI_PROFILE);
    add_status(part, mss, fi, asc, a);
    if (a->op == MSSP_OP_REGISTRATION && a->cert) {
        n = xmlNewChild(part, mss, (const xmlChar *)"CertificateResponse", NULL);
        b64 = b64_encode(a->cert, a->cert_len);
        if (n && b64)
            xmlNewTextChild(n, mss, (const xmlChar *)"X509Certificate", (const xmlChar *)b64);
        free(b64);
    }
    return dump(doc, out);
}

int mssp_xml_fault(int code, struct evbuffer *out)
{
    xmlNs *mss, *fi, *asc;
    xmlNode *body, *f, *c, *sub, *r, *t;
    xmlDoc *doc = envelope(0, &body, &mss, &fi, &asc);
    char v[32];

    if (!doc)
        return -1;
    f = xmlNewChild(body, body->ns, (const xmlChar *)"Fault", NULL);
    c = f ? xmlNewChild(f, body->ns, (const xmlChar *)"Code", NULL) : NULL;
    sub = c ? xmlNewChild(c, body->ns, (const xmlChar *)"Subcode", NULL) : NULL;
    r = c ? xmlNewChild(f, body->ns, (const xmlChar *)"Reason", NULL) : NULL;
    if (!sub || !r) {
        xmlFreeDoc(doc);
        return -1;
    }
    /* Value must come before Subcode: add it first, then move Subcode behind it. */
    xmlUnlinkNode(sub);
    xmlNewTextChild(c, body->ns, (const xmlChar *)"Value",
                    (const xmlChar *)(code >= 101 && code <= 109 ? "env:Sender" : "env:Receiver"));
    xmlAddChild(c, sub);
    snprintf(v, sizeof(v), "mss:_%d", code);
    xmlNewTextChild(sub, body->ns, (const xmlChar *)"Value", (const xmlChar *)v);
    t = xmlNewTextChild(r, body->ns, (const xmlChar *)"Text", (const xmlChar *)mssp_status_name(code));
    if (t)
        xmlNodeSetLang(t, (const xmlChar *)"en");
    return dump(doc, out);
}
