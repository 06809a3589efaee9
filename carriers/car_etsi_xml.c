/*
 * car_etsi_xml.c - reading an MSSP's answer (car_etsi_xml.h).
 *
 * The limits are enforced while libxml2 parses, through its SAX callbacks:
 * a DOCTYPE stops the parser as soon as its name is read (the internal
 * subset, where entities would be declared, is never parsed), and an
 * element past ETSI_MAX_DEPTH stops it before the tree grows deeper.  The
 * tree is then walked by namespace URI.
 */
#include "car_etsi_xml.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define XML_WS " \t\r\n"
/* What an mssURI may hold here: printable ASCII but the space (an anyURI's escaped form). */
#define URI_CHARS "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

/* What the SAX hooks found; reached through the parser context's _private. */
struct guard {
    int depth, max_depth;
    enum etsi_err rc; /* ETSI_ERR_FORBIDDEN / ETSI_ERR_TOO_LARGE, or ETSI_OK */
    char why[96];
    char first_error[96]; /* libxml2's first message, for a document that is not well-formed */
};

/* One parse: the outcome so far and where it is written. */
struct parse {
    enum etsi_err rc;
    char *why;
    size_t whylen;
    struct etsi_answer *a;
};

const char *etsi_strerror(enum etsi_err err)
{
    switch (err) {
    case ETSI_OK: return "ok";
    case ETSI_ERR_INVALID: return "invalid argument";
    case ETSI_ERR_MALFORMED: return "malformed answer";
    case ETSI_ERR_TOO_LARGE: return "answer too large or too deep";
    case ETSI_ERR_FORBIDDEN: return "forbidden XML construct";
    case ETSI_ERR_NAMESPACE: return "wrong XML namespace";
    case ETSI_ERR_NOMEM: return "out of memory";
    }
    return "unknown error";
}

/* Printable ASCII only: a UTF-8 character becomes one '?', control characters too. */
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

static void fail(struct parse *p, enum etsi_err rc, const char *what, const char *name)
{
    if (p->rc != ETSI_OK)
        return;
    p->rc = rc;
    if (p->why && p->whylen)
        snprintf(p->why, p->whylen, "%s%s%s", name ? name : "", name ? " " : "", what);
}

static struct guard *guard_of(void *ctx)
{
    return ((xmlParserCtxtPtr)ctx)->_private;
}

static void stop(void *ctx, enum etsi_err rc, const char *why)
{
    struct guard *g = guard_of(ctx);

    if (g->rc == ETSI_OK) {
        g->rc = rc;
        snprintf(g->why, sizeof g->why, "%s", why);
    }
    xmlStopParser(ctx);
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri, int nns,
                     const xmlChar **nss, int nattr, int ndef, const xmlChar **attrs)
{
    struct guard *g = guard_of(ctx);

    if (++g->depth > g->max_depth) {
        char why[32];
        snprintf(why, sizeof why, "depth over %d", g->max_depth);
        stop(ctx, ETSI_ERR_TOO_LARGE, why);
        return;
    }
    xmlSAX2StartElementNs(ctx, name, prefix, uri, nns, nss, nattr, ndef, attrs);
}

static void on_end(void *ctx, const xmlChar *name, const xmlChar *prefix, const xmlChar *uri)
{
    guard_of(ctx)->depth--;
    xmlSAX2EndElementNs(ctx, name, prefix, uri);
}

static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name, (void)ext, (void)sys;
    stop(ctx, ETSI_ERR_FORBIDDEN, "DOCTYPE not allowed");
}

static void on_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub, const xmlChar *sys,
                      xmlChar *content)
{
    (void)name, (void)type, (void)pub, (void)sys, (void)content;
    stop(ctx, ETSI_ERR_FORBIDDEN, "entity declaration not allowed");
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    (void)target, (void)data;
    stop(ctx, ETSI_ERR_FORBIDDEN, "processing instruction not allowed");
}

/* libxml2's errors go here, not to stderr: keep the first one for why. */
static void on_error(void *ctx, xmlErrorPtr e)
{
    struct guard *g = guard_of(ctx);
    size_t n;

    if (g->first_error[0] || !e || !e->message)
        return;
    sanitise(g->first_error, sizeof g->first_error, e->message);
    n = strlen(e->message);
    /* libxml2 ends its messages with a newline, which sanitise made a '?'. */
    if (n && e->message[n - 1] == '\n' && strlen(g->first_error) == n)
        g->first_error[n - 1] = '\0';
}

static int is_el(xmlNodePtr n)
{
    return n && n->type == XML_ELEMENT_NODE;
}

static xmlNodePtr first_el(xmlNodePtr parent)
{
    xmlNodePtr n = parent ? parent->children : NULL;
    while (n && !is_el(n))
        n = n->next;
    return n;
}

static int in_ns(xmlNodePtr n, const char *ns)
{
    return n->ns && n->ns->href && strcmp((const char *)n->ns->href, ns) == 0;
}

/*
 * The first child element called name: it must be in ns (the first of
 * ns_alt when given too).  A child of that name in another namespace is
 * ETSI_ERR_NAMESPACE.  NULL when absent; a required one is reported by the
 * caller.
 */
static xmlNodePtr get2(struct parse *p, xmlNodePtr parent, const char *ns, const char *ns_alt, const char *name)
{
    for (xmlNodePtr n = parent ? parent->children : NULL; n; n = n->next) {
        if (!is_el(n) || strcmp((const char *)n->name, name) != 0)
            continue;
        if (in_ns(n, ns) || (ns_alt && in_ns(n, ns_alt)))
            return n;
        fail(p, ETSI_ERR_NAMESPACE, "in the wrong namespace", name);
        return NULL;
    }
    return NULL;
}

static xmlNodePtr get(struct parse *p, xmlNodePtr parent, const char *name)
{
    return get2(p, parent, ETSI_NS_MSS, NULL, name);
}

/* The element's text with XML whitespace trimmed, into dst; 0 when it does not fit. */
static int text_of(xmlNodePtr n, char *dst, size_t cap)
{
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : "";
    size_t len;
    int ok;

    s += strspn(s, XML_WS);
    len = strlen(s);
    while (len && strchr(XML_WS, s[len - 1]))
        len--;
    ok = len < cap;
    if (ok) {
        memcpy(dst, s, len);
        dst[len] = '\0';
    }
    xmlFree(t);
    return ok;
}

/* 1..999 in at most 3 decimal digits, after trimming: the status codes are 3 digits. */
static int code_of(struct parse *p, const char *s, const char *what)
{
    size_t len;
    long v = 0;

    s += strspn(s, XML_WS);
    len = strspn(s, "0123456789");
    if (len == 0 || s[len + strspn(s + len, XML_WS)] != '\0') {
        fail(p, ETSI_ERR_MALFORMED, "not a number", what);
        return 0;
    }
    for (size_t i = 0; i < len && len <= 3; i++)
        v = v * 10 + (s[i] - '0');
    if (len > 3 || v == 0) {
        fail(p, ETSI_ERR_MALFORMED, "out of range", what);
        return 0;
    }
    return (int)v;
}

/* xs:base64Binary text t (taken: freed here): XML whitespace dropped, then decoded strictly into a malloc'd copy. */
static uint8_t *b64_take(struct parse *p, xmlChar *t, size_t *len, const char *what)
{
    size_t o = 0, cap;
    uint8_t *out = NULL;
    long got;

    if (!t) {
        fail(p, ETSI_ERR_NOMEM, "out of memory", what);
        return NULL;
    }
    for (xmlChar *s = t; *s; s++)
        if (!strchr(XML_WS, *s))
            t[o++] = *s;
    cap = o / 4 * 3;
    if (o == 0)
        fail(p, ETSI_ERR_MALFORMED, "empty", what);
    else if (!(out = malloc(cap)))
        fail(p, ETSI_ERR_NOMEM, "out of memory", what);
    else if ((got = util_b64_decode((const char *)t, o, out, cap)) <= 0)
        fail(p, ETSI_ERR_MALFORMED, "not base64", what);
    else
        *len = (size_t)got;
    if (p->rc != ETSI_OK) {
        free(out);
        out = NULL;
    }
    xmlFree(t);
    return out;
}

/* An element's xs:base64Binary content. */
static uint8_t *b64_of(struct parse *p, xmlNodePtr n, size_t *len, const char *what)
{
    return b64_take(p, xmlNodeGetContent(n), len, what);
}

static int ncname_ok(const char *s)
{
    return s[0] && (s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')) &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(s);
}

/* A transaction id attribute into dst (ETSI_ID_MAX); absent leaves "". */
static void trans_id(struct parse *p, xmlNodePtr n, const char *attr, char *dst)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, (const xmlChar *)attr) : NULL;

    if (v && (strlen((const char *)v) >= ETSI_ID_MAX || !ncname_ok((const char *)v)))
        fail(p, ETSI_ERR_MALFORMED, "not an NCName of at most 63 characters", attr);
    else if (v)
        memcpy(dst, v, strlen((const char *)v) + 1); /* length checked above */
    xmlFree(v);
}

/* A mssURIType child (<X><mss:mssURI>..</mss:mssURI></X>) into dst. */
static void uri_of(struct parse *p, xmlNodePtr n, char *dst, size_t cap, const char *what)
{
    xmlNodePtr u = get(p, n, "mssURI");

    if (n && !u)
        fail(p, ETSI_ERR_MALFORMED, "without mssURI", what);
    else if (u && !text_of(u, dst, cap))
        fail(p, ETSI_ERR_MALFORMED, "too long", what);
    else if (u && strspn(dst, URI_CHARS) != strlen(dst))
        fail(p, ETSI_ERR_MALFORMED, "not a URI in printable ASCII", what);
}

/*
 * The one place the WSDL's schema lets a ServiceResponse carry data: an
 * asc:SubscriberInfo of id/value Details.  A certificate there is the Detail
 * whose id is "X509Certificate", its value the base64 DER.
 */
static uint8_t *subscriber_info_cert(struct parse *p, xmlNodePtr sr, size_t *len)
{
    xmlNodePtr si = get2(p, sr, ETSI_NS_ASC, NULL, "SubscriberInfo");

    for (xmlNodePtr d = si ? si->children : NULL; d && p->rc == ETSI_OK; d = d->next) {
        xmlChar *id;
        int is_cert;
        if (!is_el(d) || strcmp((const char *)d->name, "Detail") != 0 || !in_ns(d, ETSI_NS_ASC))
            continue;
        id = xmlGetNoNsProp(d, (const xmlChar *)"id");
        is_cert = id && strcmp((const char *)id, "X509Certificate") == 0;
        xmlFree(id);
        if (is_cert) {
            xmlChar *v = xmlGetNoNsProp(d, (const xmlChar *)"value");
            if (!v) {
                fail(p, ETSI_ERR_MALFORMED, "without a value", "SubscriberInfo X509Certificate");
                return NULL;
            }
            return b64_take(p, v, len, "SubscriberInfo X509Certificate");
        }
    }
    return NULL;
}

/* StatusDetail/fi:ServiceResponses: the signing certificate, and whether validation answered. */
static void services(struct parse *p, xmlNodePtr detail)
{
    xmlNodePtr list = get2(p, detail, ETSI_NS_FICOM, NULL, "ServiceResponses");
    char uri[128];

    for (xmlNodePtr sr = list ? list->children : NULL; sr && p->rc == ETSI_OK; sr = sr->next) {
        if (!is_el(sr) || strcmp((const char *)sr->name, "ServiceResponse") != 0)
            continue;
        if (!in_ns(sr, ETSI_NS_FICOM)) {
            fail(p, ETSI_ERR_NAMESPACE, "in the wrong namespace", "ServiceResponse");
            return;
        }
        uri[0] = '\0';
        uri_of(p, get2(p, sr, ETSI_NS_FICOM, NULL, "Description"), uri, sizeof uri, "ServiceResponse Description");
        if (strcmp(uri, ETSI_SVC_VALIDATION) == 0)
            p->a->validated = p->a->status == 502;
        if (strcmp(uri, ETSI_SVC_SIGNING_CERT) == 0 && !p->a->cert) {
            /* The WSDL leaves its content open: an X509Certificate, bare or in a CertificateResponse. */
            xmlNodePtr c = get2(p, sr, ETSI_NS_MSS, ETSI_NS_FICOM, "X509Certificate");
            if (!c)
                c = get(p, get(p, sr, "CertificateResponse"), "X509Certificate");
            if (c)
                p->a->cert = b64_of(p, c, &p->a->cert_len, "X509Certificate");
            else
                p->a->cert = subscriber_info_cert(p, sr, &p->a->cert_len);
        }
    }
}

static void status(struct parse *p, xmlNodePtr resp)
{
    xmlNodePtr st = get(p, resp, "Status"), code = get(p, st, "StatusCode"), msg = get(p, st, "StatusMessage");
    xmlChar *v = code ? xmlGetNoNsProp(code, (const xmlChar *)"Value") : NULL;

    if (!code)
        fail(p, ETSI_ERR_MALFORMED, "missing", st ? "StatusCode" : "Status");
    else if (!v)
        fail(p, ETSI_ERR_MALFORMED, "without Value", "StatusCode");
    else
        p->a->status = code_of(p, (const char *)v, "StatusCode Value");
    xmlFree(v);
    if (msg) {
        xmlChar *t = xmlNodeGetContent(msg);
        sanitise(p->a->status_text, sizeof p->a->status_text, (const char *)t);
        xmlFree(t);
    }
    if (p->rc == ETSI_OK)
        services(p, get(p, st, "StatusDetail"));
}

static void msisdn(struct parse *p, xmlNodePtr resp)
{
    xmlNodePtr m = get(p, get(p, resp, "MobileUser"), "MSISDN");
    char v[32];
    const char *d = v;

    if (!m)
        return;
    if (!text_of(m, v, sizeof v))
        memcpy(v, "x", 2); /* too long: refused below */
    if (*d == '+')
        d++;
    if (strlen(d) == 0 || strlen(d) >= sizeof p->a->msisdn || strspn(d, "0123456789") != strlen(d))
        fail(p, ETSI_ERR_MALFORMED, "not a number of at most 15 digits", "MSISDN");
    else
        memcpy(p->a->msisdn, d, strlen(d) + 1);
}

static const struct {
    const char *name;
    enum etsi_kind kind;
} resps[] = {
    {"MSS_SignatureResp", ETSI_SIGNATURE},       {"MSS_StatusResp", ETSI_STATUS},   {"MSS_ReceiptResp", ETSI_RECEIPT},
    {"MSS_RegistrationResp", ETSI_REGISTRATION}, {"MSS_ProfileResp", ETSI_PROFILE},
};

static enum etsi_kind resp_kind(xmlNodePtr n)
{
    for (size_t i = 0; is_el(n) && i < sizeof resps / sizeof resps[0]; i++)
        if (strcmp((const char *)n->name, resps[i].name) == 0)
            return resps[i].kind;
    return 0;
}

static void resp(struct parse *p, xmlNodePtr r)
{
    struct etsi_answer *a = p->a;
    xmlNodePtr sig, ap;

    a->kind = resp_kind(r);
    if (r->ns && !in_ns(r, ETSI_NS_MSS)) {
        fail(p, ETSI_ERR_NAMESPACE, "in the wrong namespace", (const char *)r->name);
        return;
    }
    trans_id(p, r, "MSSP_TransID", a->mssp_trans_id);
    if (a->kind == ETSI_SIGNATURE && !a->mssp_trans_id[0])
        fail(p, ETSI_ERR_MALFORMED, "without MSSP_TransID", "MSS_SignatureResp");
    ap = get(p, r, "AP_Info");
    trans_id(p, ap, "AP_TransID", a->ap_trans_id);
    msisdn(p, r);
    uri_of(p, get(p, r, "MSS_Format"), a->mss_format, sizeof a->mss_format, "MSS_Format");
    sig = get(p, r, "MSS_Signature");
    if (sig) {
        xmlNodePtr b = get(p, sig, "Base64Signature");
        if (!b)
            fail(p, ETSI_ERR_MALFORMED, "without Base64Signature", "MSS_Signature");
        else
            a->signature = b64_of(p, b, &a->sig_len, "Base64Signature");
    }
    if (p->rc == ETSI_OK)
        status(p, r);
    if (p->rc == ETSI_OK && a->kind == ETSI_REGISTRATION) {
        xmlNodePtr c = get(p, get(p, r, "CertificateResponse"), "X509Certificate");
        if (c)
            a->cert = b64_of(p, c, &a->cert_len, "X509Certificate");
    }
}

/* A QName's namespace, resolved where it is written, and its local part. */
static const char *qname(xmlNodePtr at, const char *text, const char **local)
{
    const char *colon = strchr(text, ':');
    char prefix[64];
    xmlNsPtr ns;

    *local = colon ? colon + 1 : text;
    if (colon && (size_t)(colon - text) >= sizeof prefix)
        return NULL;
    if (colon) {
        memcpy(prefix, text, (size_t)(colon - text));
        prefix[colon - text] = '\0';
    }
    ns = xmlSearchNs(at->doc, at, colon ? (const xmlChar *)prefix : NULL);
    return ns ? (const char *)ns->href : NULL;
}

static void fault(struct parse *p, xmlNodePtr f)
{
    xmlNodePtr code = get2(p, f, ETSI_NS_SOAP, NULL, "Code");
    xmlNodePtr text = get2(p, get2(p, f, ETSI_NS_SOAP, NULL, "Reason"), ETSI_NS_SOAP, NULL, "Text");
    char v[64];
    const char *ns, *local;

    p->a->kind = ETSI_FAULT;
    if (!code || !get2(p, code, ETSI_NS_SOAP, NULL, "Value")) {
        fail(p, ETSI_ERR_MALFORMED, "without Code/Value", "Fault");
        return;
    }
    /* Subcodes nest; the first that is an ETSI code (mss:_NNN) is the status. */
    for (xmlNodePtr sc = get2(p, code, ETSI_NS_SOAP, NULL, "Subcode"); sc && p->rc == ETSI_OK && !p->a->status;
         sc = get2(p, sc, ETSI_NS_SOAP, NULL, "Subcode")) {
        xmlNodePtr val = get2(p, sc, ETSI_NS_SOAP, NULL, "Value");
        if (!val || !text_of(val, v, sizeof v))
            continue;
        ns = qname(val, v, &local);
        if (local[0] != '_' || strspn(local + 1, "0123456789") == 0)
            continue;
        if (!ns || strcmp(ns, ETSI_NS_MSS) != 0)
            fail(p, ETSI_ERR_NAMESPACE, "prefix not bound to the ETSI namespace", "Fault Subcode");
        else
            p->a->status = code_of(p, local + 1, "Fault Subcode");
    }
    if (text) {
        xmlChar *t = xmlNodeGetContent(text);
        sanitise(p->a->status_text, sizeof p->a->status_text, (const char *)t);
        xmlFree(t);
    }
}

static void walk(struct parse *p, xmlDocPtr doc)
{
    xmlNodePtr env = xmlDocGetRootElement(doc), body, c, r;

    if (!env || strcmp((const char *)env->name, "Envelope") != 0) {
        fail(p, ETSI_ERR_MALFORMED, "root is not a SOAP Envelope", NULL);
        return;
    }
    if (!in_ns(env, ETSI_NS_SOAP)) {
        fail(p, ETSI_ERR_NAMESPACE, "not in the SOAP 1.2 namespace", "Envelope");
        return;
    }
    body = get2(p, env, ETSI_NS_SOAP, NULL, "Body");
    c = first_el(body);
    if (p->rc != ETSI_OK)
        return;
    if (!c) {
        fail(p, ETSI_ERR_MALFORMED, "no Body or an empty one", NULL);
        return;
    }
    if (strcmp((const char *)c->name, "Fault") == 0) {
        if (!in_ns(c, ETSI_NS_SOAP))
            fail(p, ETSI_ERR_NAMESPACE, "in the wrong namespace", "Fault");
        else
            fault(p, c);
        return;
    }
    /* The *Resp itself (document style), or the part accessor in an rpc wrapper. */
    r = resp_kind(c) ? c : first_el(c);
    if (!resp_kind(r)) {
        fail(p, ETSI_ERR_MALFORMED, "no MSS_*Resp in the Body", NULL);
        return;
    }
    resp(p, r);
}

enum etsi_err etsi_xml_read(const uint8_t *body, size_t len, size_t max_len, int max_depth, struct _xmlDoc **out,
                            char *why, size_t whylen)
{
    struct parse p = {ETSI_OK, why, whylen, NULL};
    struct guard g;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;

    if (why && whylen)
        why[0] = '\0';
    if (!out)
        return ETSI_ERR_INVALID;
    *out = NULL;
    memset(&g, 0, sizeof g);
    g.max_depth = max_depth;
    if (!body || len == 0)
        fail(&p, ETSI_ERR_MALFORMED, "empty body", NULL);
    else if (len > max_len || len > INT_MAX) {
        char msg[48];
        snprintf(msg, sizeof msg, "body over %zu octets", max_len);
        fail(&p, ETSI_ERR_TOO_LARGE, msg, NULL);
    }
    if (p.rc != ETSI_OK)
        return p.rc;
    xmlInitParser();
    /* Not xmlCtxtReadMemory: it resets the context, hooks included. */
    ctxt = xmlCreateMemoryParserCtxt((const char *)body, (int)len);
    if (!ctxt) {
        fail(&p, ETSI_ERR_NOMEM, "out of memory", NULL);
        return p.rc;
    }
    ctxt->_private = &g;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->internalSubset = on_doctype;
    ctxt->sax->externalSubset = on_doctype;
    ctxt->sax->entityDecl = on_entity;
    ctxt->sax->processingInstruction = on_pi;
    ctxt->sax->serror = on_error;
    ctxt->sax->error = NULL;
    ctxt->sax->warning = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    /* NONET only: never NOENT, DTDLOAD, DTDATTR or HUGE. */
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET);
    xmlParseDocument(ctxt);
    doc = ctxt->myDoc;
    ctxt->myDoc = NULL;
    if (g.rc != ETSI_OK)
        fail(&p, g.rc, g.why, NULL);
    else if (!doc || !ctxt->wellFormed)
        fail(&p, ctxt->errNo == XML_ERR_NO_MEMORY ? ETSI_ERR_NOMEM : ETSI_ERR_MALFORMED,
             g.first_error[0] ? g.first_error : "not well-formed XML", "XML:");
    xmlFreeParserCtxt(ctxt);
    if (p.rc != ETSI_OK)
        xmlFreeDoc(doc);
    else
        *out = doc;
    return p.rc;
}

enum etsi_err etsi_parse_answer(const uint8_t *body, size_t len, struct etsi_answer *out, char *why, size_t whylen)
{
    struct parse p = {ETSI_OK, why, whylen, out};
    xmlDocPtr doc = NULL;

    if (why && whylen)
        why[0] = '\0';
    if (!out)
        return ETSI_ERR_INVALID;
    memset(out, 0, sizeof *out);
    p.rc = etsi_xml_read(body, len, ETSI_MAX_BODY, ETSI_MAX_DEPTH, &doc, why, whylen);
    if (p.rc == ETSI_OK)
        walk(&p, doc);
    xmlFreeDoc(doc);
    if (p.rc != ETSI_OK)
        etsi_answer_clear(out);
    return p.rc;
}

void etsi_answer_clear(struct etsi_answer *a)
{
    if (!a)
        return;
    if (a->signature)
        OPENSSL_cleanse(a->signature, a->sig_len);
    if (a->cert)
        OPENSSL_cleanse(a->cert, a->cert_len);
    free(a->signature);
    free(a->cert);
    OPENSSL_cleanse(a, sizeof *a);
}
