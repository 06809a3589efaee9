/*
 * gw_soap_xml.c - the ETSI TS 102 204 server side (gw_soap_xml.h): requests
 * read from the tree etsi_xml_read() gives, answers built as libxml2 trees
 * and serialised by libxml2.
 */
#include "gw_soap_xml.h"

#include <libxml/tree.h>
#include <libxml/xmlstring.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

#define XML_WS     " \t\r\n"
#define NS_SOAP11  "http://schemas.xmlsoap.org/soap/envelope/"
#define DIGITS     "0123456789"
#define NCNAME_SET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

/* One parse: the first refusal wins. */
struct rd {
    enum etsi_err rc;
    int status;
    char *why;
    size_t whylen;
    struct gw_soap_req *r;
};

/* Per kind: the operation wrapper, the request part, the answer's wrapper and part. */
static const struct {
    enum etsi_kind kind;
    const char *op, *req, *wrap, *resp;
} ops[] = {
    {ETSI_SIGNATURE, "MSS_Signature", "MSS_SignatureReq", "MSS_SignatureResponse", "MSS_SignatureResp"},
    {ETSI_STATUS, "MSS_StatusQuery", "MSS_StatusReq", "MSS_StatusQueryResponse", "MSS_StatusResp"},
    {ETSI_RECEIPT, "MSS_Receipt", "MSS_ReceiptReq", "MSS_ReceiptResponse", "MSS_ReceiptResp"},
    {ETSI_REGISTRATION, "MSS_Registration", "MSS_RegistrationReq", "MSS_RegistrationResponse", "MSS_RegistrationResp"},
    {ETSI_PROFILE, "MSS_ProfileQuery", "MSS_ProfileReq", "MSS_ProfileQueryResponse", "MSS_ProfileResp"},
};
#define N_OPS (sizeof ops / sizeof ops[0])

/* Printable ASCII only, at most cap-1 octets: a UTF-8 character becomes one '?', control characters too. */
static void sanitise(char *dst, size_t cap, const char *src)
{
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)src; p && *p && o + 1 < cap; p++) {
        if ((*p & 0xC0) == 0x80)
            continue;
        dst[o++] = *p >= 0x20 && *p < 0x7F ? (char)*p : '?';
    }
    if (cap)
        dst[o] = '\0';
}

/* Refuse with status; what and name are ours or sanitised, never the secret. */
static void refuse(struct rd *d, enum etsi_err rc, int status, const char *name, const char *what)
{
    if (d->rc != ETSI_OK)
        return;
    d->rc = rc;
    d->status = status;
    if (d->why && d->whylen)
        snprintf(d->why, d->whylen, "%s%s%s", name ? name : "", name ? " " : "", what);
}

static int is_el(xmlNodePtr n)
{
    return n && n->type == XML_ELEMENT_NODE;
}

static xmlNodePtr first_el(xmlNodePtr n)
{
    while (n && !is_el(n))
        n = n->next;
    return n;
}

static int in_ns(xmlNodePtr n, const char *ns)
{
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

/* The first child element called name, which must be in the ETSI namespace (108 otherwise); NULL when absent. */
static xmlNodePtr get(struct rd *d, xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next) {
        if (!is_el(n) || strcmp((const char *)n->name, name) != 0)
            continue;
        if (in_ns(n, ETSI_NS_MSS))
            return n;
        refuse(d, ETSI_ERR_NAMESPACE, 108, name, "not in the ETSI namespace");
        return NULL;
    }
    return NULL;
}

static xmlNodePtr need(struct rd *d, xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = get(d, parent, name);

    if (!n && parent)
        refuse(d, ETSI_ERR_MALFORMED, 102, name, "missing");
    return n;
}

/* Printable ASCII without space: a URI, a number, an id as a log can carry it. */
static int token_ok(const char *s)
{
    for (; *s; s++)
        if (*s <= ' ' || *s > '~')
            return 0;
    return 1;
}

static int ncname_ok(const char *s)
{
    return s[0] && (s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) &&
           strspn(s, NCNAME_SET) == strlen(s);
}

/*
 * Attribute `attr` of n into dst (cap): 102 when required and absent, 101
 * when too long or (token) not printable.  Returns 1 when present and taken.
 * The value is wiped before it is freed: AP_PWD goes through here.
 */
static int attr(struct rd *d, xmlNodePtr n, const char *name, char *dst, size_t cap, int required, int token)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, (const xmlChar *)name) : NULL;
    size_t len = v ? strlen((const char *)v) : 0;
    int ok = 0;

    if (!v) {
        if (required && n)
            refuse(d, ETSI_ERR_MALFORMED, 102, name, "missing");
    } else if (len >= cap) {
        refuse(d, ETSI_ERR_MALFORMED, 101, name, "too long");
    } else if (token && !token_ok((const char *)v)) {
        refuse(d, ETSI_ERR_MALFORMED, 101, name, "not printable ASCII without spaces");
    } else {
        memcpy(dst, v, len + 1);
        ok = 1;
    }
    if (v) {
        OPENSSL_cleanse(v, len);
        xmlFree(v);
    }
    return ok;
}

/* An element's text, XML whitespace trimmed, as a malloc'd string (NULL and a refusal on OOM). */
static char *text(struct rd *d, xmlNodePtr n)
{
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : NULL;
    char *out = NULL;
    size_t len;

    if (s) {
        s += strspn(s, XML_WS);
        len = strlen(s);
        while (len && strchr(XML_WS, s[len - 1]))
            len--;
        out = malloc(len + 1);
        if (out) {
            memcpy(out, s, len);
            out[len] = '\0';
        }
    }
    xmlFree(t);
    if (!out)
        refuse(d, ETSI_ERR_NOMEM, 900, NULL, "out of memory");
    return out;
}

/* A printable token element (MSISDN, URI) into dst. */
static void token_of(struct rd *d, xmlNodePtr n, char *dst, size_t cap, const char *what)
{
    char *t = n ? text(d, n) : NULL;

    if (!t)
        return;
    if (strlen(t) >= cap)
        refuse(d, ETSI_ERR_MALFORMED, 101, what, "too long");
    else if (!token_ok(t))
        refuse(d, ETSI_ERR_MALFORMED, 101, what, "not printable ASCII without spaces");
    else
        memcpy(dst, t, strlen(t) + 1);
    free(t);
}

/* A mssURIType child (<X><mss:mssURI>..</mss:mssURI></X>) into dst. */
static void uri_of(struct rd *d, xmlNodePtr n, char *dst, size_t cap, const char *what)
{
    xmlNodePtr u = n ? need(d, n, "mssURI") : NULL;

    if (u)
        token_of(d, u, dst, cap, what);
    if (u && d->rc == ETSI_OK && !dst[0])
        refuse(d, ETSI_ERR_MALFORMED, 102, what, "empty");
}

/* UTF-8 text (display, receipt message): at most GW_SOAP_DISPLAY_MAX octets, no control but tab/CR/LF. */
static char *utf8_text(struct rd *d, xmlNodePtr n, const char *what)
{
    char *t = text(d, n);

    if (!t)
        return NULL;
    /* libxml2 hands out UTF-8 whatever the input; checked again as the API promises it. */
    if (!xmlCheckUTF8((const xmlChar *)t))
        refuse(d, ETSI_ERR_MALFORMED, 101, what, "not UTF-8");
    else if (strlen(t) > GW_SOAP_DISPLAY_MAX)
        refuse(d, ETSI_ERR_TOO_LARGE, 103, what, "over 1024 octets");
    for (const unsigned char *p = (const unsigned char *)t; d->rc == ETSI_OK && *p; p++)
        if (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
            refuse(d, ETSI_ERR_MALFORMED, 101, what, "holds a control character");
    if (d->rc != ETSI_OK) {
        free(t);
        t = NULL;
    }
    return t;
}

/* xs:dateTime's shape, "2026-12-05T19:40:00" then fractions and a zone: enough to refuse garbage. */
static int datetime_ok(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t n = strlen(s);

    if (n < sizeof shape - 1)
        return 0;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !strchr(DIGITS, s[i]) || !s[i] : s[i] != shape[i])
            return 0;
    return strspn(s + sizeof shape - 1, DIGITS ".:+-Z") == n - (sizeof shape - 1);
}

/* MessageAbstractType: the versions, AP_Info, MSSP_Info. */
static void head(struct rd *d, xmlNodePtr part)
{
    struct gw_soap_req *r = d->r;
    xmlNodePtr ap, mssp;

    if (attr(d, part, "MajorVersion", r->major, sizeof r->major, 1, 1) && strspn(r->major, DIGITS) != strlen(r->major))
        refuse(d, ETSI_ERR_MALFORMED, 101, "MajorVersion", "not a number");
    else if (r->major[0] && strcmp(r->major + strspn(r->major, "0"), "1") != 0)
        refuse(d, ETSI_ERR_NAMESPACE, 108, "MajorVersion", "not 1");
    if (attr(d, part, "MinorVersion", r->minor, sizeof r->minor, 1, 1) && strspn(r->minor, DIGITS) != strlen(r->minor))
        refuse(d, ETSI_ERR_MALFORMED, 101, "MinorVersion", "not a number");
    ap = need(d, part, "AP_Info");
    attr(d, ap, "AP_ID", r->ap_id, sizeof r->ap_id, 1, 1);
    r->has_pwd = attr(d, ap, "AP_PWD", r->ap_pwd, sizeof r->ap_pwd, 1, 0);
    if (attr(d, ap, "AP_TransID", r->ap_trans_id, sizeof r->ap_trans_id, 1, 1) && !ncname_ok(r->ap_trans_id))
        refuse(d, ETSI_ERR_MALFORMED, 101, "AP_TransID", "not an NCName");
    if (attr(d, ap, "Instant", r->instant, sizeof r->instant, 1, 1) && !datetime_ok(r->instant))
        refuse(d, ETSI_ERR_MALFORMED, 101, "Instant", "not an xs:dateTime");
    attr(d, ap, "AP_URL", r->ap_url, sizeof r->ap_url, 0, 1);
    mssp = need(d, part, "MSSP_Info");
    token_of(d, get(d, get(d, mssp, "MSSP_ID"), "URI"), r->mssp_id, sizeof r->mssp_id, "MSSP_ID URI");
}

static void msisdn(struct rd *d, xmlNodePtr part, int required)
{
    xmlNodePtr mu = required ? need(d, part, "MobileUser") : get(d, part, "MobileUser");
    xmlNodePtr m = required ? need(d, mu, "MSISDN") : get(d, mu, "MSISDN");

    token_of(d, m, d->r->msisdn, sizeof d->r->msisdn, "MSISDN");
    if (m && required && d->rc == ETSI_OK && !d->r->msisdn[0])
        refuse(d, ETSI_ERR_MALFORMED, 102, "MSISDN", "empty");
}

/* DataToBeSigned: xs:base64Binary, XML whitespace dropped, then util_b64_decode (strict). */
static void dtbs(struct rd *d, xmlNodePtr part)
{
    struct gw_soap_req *r = d->r;
    xmlNodePtr n = need(d, part, "DataToBeSigned");
    char *t;
    size_t o = 0;
    long got;

    if (!n)
        return;
    attr(d, n, "MimeType", r->dtbs_mime, sizeof r->dtbs_mime, 0, 0);
    if (attr(d, n, "Encoding", r->dtbs_encoding, sizeof r->dtbs_encoding, 0, 1) &&
        strcasecmp(r->dtbs_encoding, "base64") != 0)
        refuse(d, ETSI_ERR_MALFORMED, 101, "DataToBeSigned Encoding", "not base64");
    if (d->rc != ETSI_OK || !(t = text(d, n)))
        return;
    for (char *s = t; *s; s++)
        if (!strchr(XML_WS, *s))
            t[o++] = *s;
    if (o == 0)
        refuse(d, ETSI_ERR_MALFORMED, 102, "DataToBeSigned", "empty");
    else if (o / 4 * 3 > ETSI_DTBS_MAX + 2)
        refuse(d, ETSI_ERR_TOO_LARGE, 103, "DataToBeSigned", "over 1024 octets");
    else if (!(r->dtbs = malloc(o / 4 * 3 + 3)))
        refuse(d, ETSI_ERR_NOMEM, 900, NULL, "out of memory");
    else if ((got = util_b64_decode(t, o, r->dtbs, o / 4 * 3 + 3)) <= 0)
        refuse(d, ETSI_ERR_MALFORMED, 101, "DataToBeSigned", "not base64");
    else if ((size_t)got > ETSI_DTBS_MAX)
        refuse(d, ETSI_ERR_TOO_LARGE, 103, "DataToBeSigned", "over 1024 octets");
    else
        r->dtbs_len = (size_t)got;
    free(t);
}

static void signature(struct rd *d, xmlNodePtr part)
{
    struct gw_soap_req *r = d->r;
    char v[32];
    xmlNodePtr n, as;

    msisdn(d, part, 1);
    if (attr(d, part, "MessagingMode", v, sizeof v, 1, 1)) {
        if (strcmp(v, "synch") == 0)
            r->mode = GW_SOAP_SYNCH;
        else if (strcmp(v, "asynchClientServer") == 0)
            r->mode = GW_SOAP_ASYNCH_CS;
        else if (strcmp(v, "asynchServerServer") == 0)
            r->mode = GW_SOAP_ASYNCH_SS;
        else
            refuse(d, ETSI_ERR_MALFORMED, 101, "MessagingMode", "not synch, asynchClientServer or asynchServerServer");
    }
    if (d->rc == ETSI_OK && r->mode == GW_SOAP_ASYNCH_SS && !r->ap_url[0])
        refuse(d, ETSI_ERR_MALFORMED, 102, "AP_URL", "missing (asynchServerServer notifies it)");
    if (attr(d, part, "TimeOut", v, sizeof v, 0, 1)) {
        size_t nd = strspn(v, DIGITS);
        unsigned long t = nd && nd == strlen(v) && nd <= 5 ? strtoul(v, NULL, 10) : 0;
        if (t == 0 || t > GW_SOAP_TIMEOUT_MAX)
            refuse(d, ETSI_ERR_MALFORMED, 101, "TimeOut", "not 1..3600 seconds");
        else
            r->timeout_s = (unsigned)t;
    }
    dtbs(d, part);
    n = need(d, part, "DataToBeDisplayed");
    if (n && d->rc == ETSI_OK) {
        attr(d, n, "MimeType", r->display_mime, sizeof r->display_mime, 0, 0);
        if (attr(d, n, "Encoding", r->display_encoding, sizeof r->display_encoding, 0, 1) &&
            strcasecmp(r->display_encoding, "UTF-8") != 0)
            refuse(d, ETSI_ERR_MALFORMED, 101, "DataToBeDisplayed Encoding", "not UTF-8");
        if (d->rc == ETSI_OK)
            r->display = utf8_text(d, n, "DataToBeDisplayed");
    }
    uri_of(d, get(d, part, "MSS_Format"), r->mss_format, sizeof r->mss_format, "MSS_Format");
    uri_of(d, get(d, part, "SignatureProfile"), r->profile, sizeof r->profile, "SignatureProfile");
    as = get(d, part, "AdditionalServices");
    for (xmlNodePtr s = as ? as->children : NULL; s && d->rc == ETSI_OK; s = s->next) {
        char uri[256] = "";
        if (!is_el(s))
            continue;
        if (strcmp((const char *)s->name, "Service") != 0 || !in_ns(s, ETSI_NS_MSS)) {
            refuse(d, ETSI_ERR_NAMESPACE, 108, "AdditionalServices", "holds an element that is not an mss:Service");
            break;
        }
        uri_of(d, need(d, s, "Description"), uri, sizeof uri, "Service Description");
        if (strcmp(uri, ETSI_SVC_SIGNING_CERT) == 0)
            r->want_cert = 1;
        else if (strcmp(uri, ETSI_SVC_VALIDATION) == 0)
            r->want_validation = 1;
        else if (uri[0] && !r->unknown_service[0])
            memcpy(r->unknown_service, uri, sizeof uri);
    }
}

static void part_body(struct rd *d, xmlNodePtr part)
{
    struct gw_soap_req *r = d->r;
    xmlNodePtr n;

    /* Every child of the part in the ETSI namespace (the registration's xs:any ##other aside). */
    for (n = first_el(part->children); n && d->rc == ETSI_OK; n = first_el(n->next))
        if (!in_ns(n, ETSI_NS_MSS) && r->kind != ETSI_REGISTRATION)
            refuse(d, ETSI_ERR_NAMESPACE, 108, NULL, "request content not in the ETSI namespace");
    head(d, part);
    if (d->rc != ETSI_OK)
        return;
    switch (r->kind) {
    case ETSI_SIGNATURE: signature(d, part); break;
    case ETSI_STATUS:
    case ETSI_RECEIPT:
        if (attr(d, part, "MSSP_TransID", r->mssp_trans_id, sizeof r->mssp_trans_id, 1, 1) &&
            !ncname_ok(r->mssp_trans_id))
            refuse(d, ETSI_ERR_MALFORMED, 101, "MSSP_TransID", "not an NCName");
        msisdn(d, part, r->kind == ETSI_RECEIPT);
        n = r->kind == ETSI_RECEIPT ? get(d, part, "Message") : NULL;
        if (n && d->rc == ETSI_OK)
            r->message = utf8_text(d, n, "Message");
        break;
    case ETSI_REGISTRATION:
    case ETSI_PROFILE: msisdn(d, part, 1); break;
    case ETSI_FAULT: break;
    }
}

/* Which request part (or with wrapper = 1, which operation wrapper) name is; -1 when none. */
static int op_index(xmlNodePtr n, int wrapper)
{
    for (size_t i = 0; is_el(n) && i < N_OPS; i++)
        if (strcmp((const char *)n->name, wrapper ? ops[i].op : ops[i].req) == 0)
            return (int)i;
    return -1;
}

static int port_ok(const char *port, enum etsi_kind kind)
{
    return !port || strcmp(port, etsi_port(kind)) == 0 ||
           (kind == ETSI_PROFILE && strcmp(port, "MSS_ProfilePort") == 0); /* the WSDL's port name */
}

/* Envelope, Header, Body, the wrapper and the part, as gw_soap_xml.h says. */
static void envelope(struct rd *d, xmlDocPtr doc, const char *port)
{
    xmlNodePtr env = xmlDocGetRootElement(doc), body = NULL, c, part;
    char name[48], what[80];
    int i;

    if (!env || strcmp((const char *)env->name, "Envelope") != 0) {
        refuse(d, ETSI_ERR_MALFORMED, 101, NULL, "root is not a SOAP Envelope");
        return;
    }
    if (in_ns(env, NS_SOAP11)) {
        refuse(d, ETSI_ERR_NAMESPACE, 108, NULL, "SOAP 1.1 envelope: this service speaks SOAP 1.2 only");
        return;
    }
    if (!in_ns(env, ETSI_NS_SOAP)) {
        refuse(d, ETSI_ERR_NAMESPACE, 108, "Envelope", "not in the SOAP 1.2 namespace");
        return;
    }
    for (c = first_el(env->children); c; c = first_el(c->next)) {
        if (in_ns(c, ETSI_NS_SOAP) && strcmp((const char *)c->name, "Header") == 0) {
            /* No header block is understood: one that must be is a fault (SOAP 1.2 part 1 s.5.2.3). */
            for (xmlNodePtr h = first_el(c->children); h; h = first_el(h->next)) {
                xmlChar *mu = xmlGetNsProp(h, (const xmlChar *)"mustUnderstand", (const xmlChar *)ETSI_NS_SOAP);
                int must = mu && (strcmp((const char *)mu, "true") == 0 || strcmp((const char *)mu, "1") == 0);
                xmlFree(mu);
                if (must) {
                    refuse(d, ETSI_ERR_MALFORMED, 108, NULL, "a Header block with mustUnderstand is not understood");
                    return;
                }
            }
        } else if (in_ns(c, ETSI_NS_SOAP) && strcmp((const char *)c->name, "Body") == 0) {
            body = c;
            break;
        }
    }
    c = body ? first_el(body->children) : NULL;
    if (!c) {
        refuse(d, ETSI_ERR_MALFORMED, 102, NULL, "no Body or an empty one");
        return;
    }
    if ((i = op_index(c, 0)) >= 0) {
        part = c; /* document/literal: the *Req itself */
    } else if ((i = op_index(c, 1)) >= 0) {
        if (c->ns && !in_ns(c, ETSI_NS_MSS)) {
            refuse(d, ETSI_ERR_NAMESPACE, 108, ops[i].op, "wrapper in a foreign namespace");
            return;
        }
        part = first_el(c->children);
        if (op_index(part, 0) != i) {
            refuse(d, ETSI_ERR_NAMESPACE, 108, ops[i].op, part ? "holds another operation's part" : "is empty");
            return;
        }
    } else {
        sanitise(name, sizeof name, (const char *)c->name);
        refuse(d, ETSI_ERR_NAMESPACE, 108, name, "is not an MSS operation");
        return;
    }
    if (part->ns && !in_ns(part, ETSI_NS_MSS)) {
        refuse(d, ETSI_ERR_NAMESPACE, 108, ops[i].req, "in a foreign namespace");
        return;
    }
    if (!port_ok(port, ops[i].kind)) {
        sanitise(name, sizeof name, port);
        snprintf(what, sizeof what, "posted to %s", name);
        refuse(d, ETSI_ERR_NAMESPACE, 108, ops[i].req, what);
        return;
    }
    d->r->kind = ops[i].kind;
    part_body(d, part);
}

/* The raw body is UTF-8 (libxml2's decoder, one character at a time), no NUL. */
static int body_utf8(const uint8_t *b, size_t len)
{
    while (len) {
        int l = (int)(len > 4 ? 4 : len);
        if (xmlGetUTF8Char(b, &l) <= 0 || l <= 0)
            return 0;
        b += l;
        len -= (size_t)l;
    }
    return 1;
}

enum etsi_err gw_soap_parse(const uint8_t *body, size_t len, const char *port, struct gw_soap_req *out,
                            int *fault_status, char *why, size_t whylen)
{
    struct rd d = {ETSI_OK, 0, why, whylen, out};
    xmlDocPtr doc = NULL;
    char msg[96];

    if (why && whylen)
        why[0] = '\0';
    if (!out || !fault_status)
        return ETSI_ERR_INVALID;
    memset(out, 0, sizeof *out);
    *fault_status = 0;
    if (body && len > GW_SOAP_MAX_BODY) {
        refuse(&d, ETSI_ERR_TOO_LARGE, 101, NULL, "body over 65536 octets");
    } else if (body && !body_utf8(body, len)) {
        refuse(&d, ETSI_ERR_MALFORMED, 101, NULL, "body not UTF-8");
    } else {
        d.rc = etsi_xml_read(body, len, GW_SOAP_MAX_BODY, GW_SOAP_MAX_DEPTH, &doc, msg, sizeof msg);
        if (d.rc != ETSI_OK) {
            enum etsi_err rc = d.rc;
            d.rc = ETSI_OK;
            refuse(&d, rc, rc == ETSI_ERR_NOMEM ? 900 : 101, NULL, msg);
        } else if (doc->encoding && strcasecmp((const char *)doc->encoding, "UTF-8") != 0) {
            /* Valid UTF-8 octets declared as another encoding were read as that encoding. */
            refuse(&d, ETSI_ERR_MALFORMED, 101, NULL, "encoding declared other than UTF-8");
        } else {
            envelope(&d, doc, port);
        }
    }
    xmlFreeDoc(doc);
    if (d.rc != ETSI_OK) {
        *fault_status = d.status;
        gw_soap_req_clear(out);
    }
    return d.rc;
}

void gw_soap_req_clear(struct gw_soap_req *r)
{
    if (!r)
        return;
    if (r->dtbs)
        OPENSSL_cleanse(r->dtbs, r->dtbs_len);
    free(r->dtbs);
    free(r->display);
    free(r->message);
    OPENSSL_cleanse(r, sizeof *r);
}

/* ---- writing ------------------------------------------------------------ */

/* An answer being built: its tree and namespaces; oom once any libxml2 call failed. */
struct wr {
    xmlDocPtr doc;
    xmlNsPtr env, mss, fi, asc;
    xmlNodePtr body;
    int oom;
};

static xmlNodePtr el(struct wr *w, xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *content)
{
    xmlNodePtr n = NULL;

    if (!w->oom && parent)
        n = xmlNewTextChild(parent, ns, (const xmlChar *)name, (const xmlChar *)content);
    if (!n)
        w->oom = 1;
    return n;
}

/* An element in no namespace: xmlNewChild with a NULL namespace would inherit the parent's. */
static xmlNodePtr el_bare(struct wr *w, xmlNodePtr parent, const char *name)
{
    xmlNodePtr n = NULL;

    if (!w->oom && parent)
        n = xmlAddChild(parent, xmlNewDocNode(w->doc, NULL, (const xmlChar *)name, NULL));
    if (!n)
        w->oom = 1;
    return n;
}

static void set(struct wr *w, xmlNodePtr n, const char *name, const char *value)
{
    if (!w->oom && n && !xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value))
        w->oom = 1;
}

static void uri_el(struct wr *w, xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *uri)
{
    el(w, el(w, parent, ns, name, NULL), w->mss, "mssURI", uri);
}

static void b64_el(struct wr *w, xmlNodePtr parent, const char *name, const uint8_t *b, size_t len)
{
    char *s = util_b64_encode(b, len);

    if (!s)
        w->oom = 1;
    el(w, parent, w->mss, name, s);
    free(s);
}

static enum etsi_err begin(struct wr *w)
{
    xmlNodePtr root;

    memset(w, 0, sizeof *w);
    xmlInitParser();
    w->doc = xmlNewDoc((const xmlChar *)"1.0");
    root = w->doc ? xmlNewDocNode(w->doc, NULL, (const xmlChar *)"Envelope", NULL) : NULL;
    if (!root)
        return ETSI_ERR_NOMEM;
    xmlDocSetRootElement(w->doc, root);
    w->env = xmlNewNs(root, (const xmlChar *)ETSI_NS_SOAP, (const xmlChar *)"env");
    w->mss = xmlNewNs(root, (const xmlChar *)ETSI_NS_MSS, (const xmlChar *)"mss");
    w->fi = xmlNewNs(root, (const xmlChar *)ETSI_NS_FICOM, (const xmlChar *)"fi");
    w->asc = xmlNewNs(root, (const xmlChar *)ETSI_NS_ASC, (const xmlChar *)"asc");
    if (!w->env || !w->mss || !w->fi || !w->asc)
        return ETSI_ERR_NOMEM;
    xmlSetNs(root, w->env);
    w->body = el(w, root, w->env, "Body", NULL);
    return w->oom ? ETSI_ERR_NOMEM : ETSI_OK;
}

static enum etsi_err finish(struct wr *w, enum etsi_err rc, char **out, size_t *len)
{
    xmlChar *mem = NULL;
    int size = 0;

    if (rc == ETSI_OK && w->oom)
        rc = ETSI_ERR_NOMEM;
    if (rc == ETSI_OK) {
        xmlDocDumpFormatMemoryEnc(w->doc, &mem, &size, "UTF-8", 0);
        if (!mem || size <= 0 || !(*out = malloc((size_t)size + 1))) {
            rc = ETSI_ERR_NOMEM;
        } else {
            memcpy(*out, mem, (size_t)size);
            (*out)[size] = '\0';
            *len = (size_t)size;
        }
        xmlFree(mem);
    }
    xmlFreeDoc(w->doc);
    return rc;
}

static enum etsi_err start(char **out, size_t *len)
{
    if (!out || !len)
        return ETSI_ERR_INVALID;
    *out = NULL;
    *len = 0;
    return ETSI_OK;
}

static int uri_ok(const char *s)
{
    return s && s[0] && strlen(s) < 512 && token_ok(s);
}

/* What a response's fields must be for the WSDL to carry them. */
static int resp_ok(enum etsi_kind kind, const struct gw_soap_resp *r)
{
    const struct gw_soap_req *q = r ? r->req : NULL;

    if (!q || r->status < 100 || r->status > 999 || !token_ok(q->ap_id) || !ncname_ok(q->ap_trans_id) ||
        !token_ok(q->instant) || (r->mssp_id ? !uri_ok(r->mssp_id) : !token_ok(q->mssp_id)))
        return 0;
    if (kind == ETSI_SIGNATURE &&
        (!r->mssp_trans_id || !ncname_ok(r->mssp_trans_id) || strlen(r->mssp_trans_id) >= ETSI_ID_MAX))
        return 0;
    if ((r->mss_format && !uri_ok(r->mss_format)) || (r->profile && !uri_ok(r->profile)) ||
        (r->msisdn && !token_ok(r->msisdn)) || (r->status_message && !xmlCheckUTF8((const xmlChar *)r->status_message)))
        return 0;
    for (size_t i = 0; i < r->n_profiles; i++)
        if (!r->profiles || !uri_ok(r->profiles[i]))
            return 0;
    return 1;
}

/* Status with StatusCode, StatusMessage and (Signature/Status) the ServiceResponses. */
static void status_el(struct wr *w, xmlNodePtr part, enum etsi_kind kind, const struct gw_soap_resp *r)
{
    const struct etsi_status *st = etsi_status_find(r->status);
    const char *msg = r->status_message ? r->status_message : st ? st->name : NULL;
    xmlNodePtr s = el(w, part, w->mss, "Status", NULL), list, sr, det;
    char code[8];
    char *b64;

    snprintf(code, sizeof code, "%d", r->status);
    set(w, el(w, s, w->mss, "StatusCode", NULL), "Value", code);
    if (msg)
        el(w, s, w->mss, "StatusMessage", msg);
    if ((kind != ETSI_SIGNATURE && kind != ETSI_STATUS) || (!r->cert && !r->validated))
        return;
    list = el(w, el(w, s, w->mss, "StatusDetail", NULL), w->fi, "ServiceResponses", NULL);
    if (r->cert) {
        sr = el(w, list, w->fi, "ServiceResponse", NULL);
        uri_el(w, sr, w->fi, "Description", ETSI_SVC_SIGNING_CERT);
        det = el(w, el(w, sr, w->asc, "SubscriberInfo", NULL), w->asc, "Detail", NULL);
        set(w, det, "id", "X509Certificate");
        b64 = util_b64_encode(r->cert, r->cert_len);
        if (!b64)
            w->oom = 1;
        set(w, det, "value", b64);
        free(b64);
    }
    if (r->validated)
        uri_el(w, el(w, list, w->fi, "ServiceResponse", NULL), w->fi, "Description", ETSI_SVC_VALIDATION);
}

/* The *Resp part under parent, its content in the WSDL's sequence order for kind. */
static void resp_part(struct wr *w, xmlNodePtr parent, const char *name, enum etsi_kind kind,
                      const struct gw_soap_resp *r)
{
    const struct gw_soap_req *q = r->req;
    xmlNodePtr part = el_bare(w, parent, name), n;
    char instant[32];
    struct tm tm;

    set(w, part, "MajorVersion", "1");
    set(w, part, "MinorVersion", "1");
    if (kind == ETSI_SIGNATURE)
        set(w, part, "MSSP_TransID", r->mssp_trans_id);
    n = el(w, part, w->mss, "AP_Info", NULL);
    set(w, n, "AP_ID", q->ap_id);
    set(w, n, "AP_PWD", ""); /* required by the WSDL; never the secret */
    set(w, n, "AP_TransID", q->ap_trans_id);
    set(w, n, "Instant", q->instant);
    n = el(w, part, w->mss, "MSSP_Info", NULL);
    if (r->instant > 0 && gmtime_r(&r->instant, &tm) && strftime(instant, sizeof instant, "%Y-%m-%dT%H:%M:%SZ", &tm))
        set(w, n, "Instant", instant);
    el(w, el(w, n, w->mss, "MSSP_ID", NULL), w->mss, "URI", r->mssp_id ? r->mssp_id : q->mssp_id);
    if (kind == ETSI_SIGNATURE || kind == ETSI_STATUS) {
        el(w, el(w, part, w->mss, "MobileUser", NULL), w->mss, "MSISDN", r->msisdn ? r->msisdn : q->msisdn);
        if (r->signature) {
            b64_el(w, el(w, part, w->mss, "MSS_Signature", NULL), "Base64Signature", r->signature, r->sig_len);
            if (r->mss_format)
                uri_el(w, part, w->mss, "MSS_Format", r->mss_format);
        }
        if (kind == ETSI_SIGNATURE && r->profile)
            uri_el(w, part, w->mss, "SignatureProfile", r->profile);
    }
    for (size_t i = 0; kind == ETSI_PROFILE && i < r->n_profiles; i++)
        uri_el(w, part, w->mss, "SignatureProfile", r->profiles[i]);
    status_el(w, part, kind, r);
    if (kind == ETSI_REGISTRATION && r->cert)
        b64_el(w, el(w, part, w->mss, "CertificateResponse", NULL), "X509Certificate", r->cert, r->cert_len);
}

enum etsi_err gw_soap_build_resp(enum etsi_kind kind, const struct gw_soap_resp *r, char **out, size_t *len)
{
    struct wr w;
    enum etsi_err rc = start(out, len);
    size_t i;

    if (rc != ETSI_OK)
        return rc;
    for (i = 0; i < N_OPS && ops[i].kind != kind; i++)
        ;
    if (i == N_OPS || !resp_ok(kind, r))
        return ETSI_ERR_INVALID;
    rc = begin(&w);
    if (rc == ETSI_OK)
        resp_part(&w, el_bare(&w, w.body, ops[i].wrap), ops[i].resp, kind, r);
    return finish(&w, rc, out, len);
}

enum etsi_err gw_soap_build_notification(const struct gw_soap_resp *r, char **out, size_t *len)
{
    struct wr w;
    enum etsi_err rc = start(out, len);

    if (rc != ETSI_OK)
        return rc;
    if (!resp_ok(ETSI_STATUS, r))
        return ETSI_ERR_INVALID;
    rc = begin(&w);
    if (rc == ETSI_OK)
        resp_part(&w, el_bare(&w, w.body, "MSS_Notification"), "MSS_StatusResp", ETSI_STATUS, r);
    return finish(&w, rc, out, len);
}

enum etsi_err gw_soap_build_fault(int status, const char *why, char **out, size_t *len)
{
    const struct etsi_status *st = etsi_status_find(status);
    struct wr w;
    enum etsi_err rc = start(out, len);
    xmlNodePtr f, code, text;
    char reason[256], clean[200], sub[16];

    if (rc != ETSI_OK)
        return rc;
    if (status < 100 || status > 999)
        return ETSI_ERR_INVALID;
    sanitise(clean, sizeof clean, why);
    snprintf(reason, sizeof reason, "%s%s%s", st ? st->name : "ERROR", clean[0] ? ": " : "", clean);
    snprintf(sub, sizeof sub, "mss:_%d", status);
    rc = begin(&w);
    if (rc != ETSI_OK)
        return finish(&w, rc, out, len);
    f = el(&w, w.body, w.env, "Fault", NULL);
    code = el(&w, f, w.env, "Code", NULL);
    /* QName values: the env and mss prefixes are bound on the Envelope. */
    el(&w, code, w.env, "Value", status < 200 ? "env:Sender" : "env:Receiver");
    el(&w, el(&w, code, w.env, "Subcode", NULL), w.env, "Value", sub);
    text = el(&w, el(&w, f, w.env, "Reason", NULL), w.env, "Text", reason);
    if (text)
        xmlNodeSetLang(text, (const xmlChar *)"en");
    return finish(&w, rc, out, len);
}
