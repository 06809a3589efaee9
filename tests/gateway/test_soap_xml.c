/*
 * test_soap_xml.c - gateway/api/gw_soap_xml.c: every request kind parsed
 * from envelopes exactly as zeep writes them (the files in data/soap/, made by
 * soap_zeep_requests.py from the vGCA WSDL), with and without the rpc
 * wrapper and with the *Req in the ETSI namespace; every refusal with its
 * status; every answer read back by simpki's own client parser.
 *
 *   test_soap_xml DATA_DIR          the checks
 *   test_soap_xml DATA_DIR write D  also writes each answer, fault and
 *                                   notification into D for soap_zeep.sh
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gw_soap_xml.h"

#define NS_MSS_ATTR "xmlns:mss=\"" ETSI_NS_MSS "\""

static const char *data_dir;

static char *load(const char *name)
{
    char path[512];
    FILE *f;
    long n;
    char *s;

    snprintf(path, sizeof path, "%s/%s.xml", data_dir, name);
    f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* s (freed) with every `from` replaced by `to`; the test fails when from is not there. */
static char *sub(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *out, *o;
    const char *p;

    for (p = s; (p = strstr(p, from)); p += fl)
        n++;
    CHECK(n > 0);
    if (n == 0)
        fprintf(stderr, "  (no \"%s\" to replace)\n", from);
    out = malloc(strlen(s) + n * tl + 1);
    if (!out)
        exit(1);
    o = out;
    for (p = s; *p;) {
        if (strncmp(p, from, fl) == 0) {
            memcpy(o, to, tl);
            o += tl;
            p += fl;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    free(s);
    return out;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7E)
            return 0;
    return 1;
}

/* Parse s (freed) for port: must succeed; *r is the caller's to clear. */
static void ok(char *s, const char *port, struct gw_soap_req *r)
{
    int st = -1;
    char why[128];
    enum etsi_err rc = gw_soap_parse((const uint8_t *)s, strlen(s), port, r, &st, why, sizeof why);

    CHECK_EQ_INT(rc, ETSI_OK);
    if (rc != ETSI_OK)
        fprintf(stderr, "  refused %d: %s\n", st, why);
    free(s);
}

/* Parse len octets for port: refused with status `want`, why holding `says`, never the password. */
static void refused_n(const char *what, const uint8_t *b, size_t len, const char *port, int want, const char *says)
{
    struct gw_soap_req r;
    int st = -1;
    char why[128];
    enum etsi_err rc = gw_soap_parse(b, len, port, &r, &st, why, sizeof why);
    static const struct gw_soap_req zero;

    CHECK(rc != ETSI_OK);
    CHECK_EQ_INT(st, want);
    CHECK(strstr(why, says) != NULL);
    CHECK(printable(why) && why[0]);
    CHECK(strstr(why, "s3cr") == NULL);
    CHECK(memcmp(&r, &zero, sizeof r) == 0);
    if (st != want || !strstr(why, says))
        fprintf(stderr, "  %s: got %d \"%s\", want %d \"%s\"\n", what, st, why, want, says);
    gw_soap_req_clear(&r);
}

static void refused(const char *what, char *s, const char *port, int want, const char *says)
{
    refused_n(what, (const uint8_t *)s, strlen(s), port, want, says);
    free(s);
}

static void test_signature(void)
{
    static const uint8_t want_dtbs[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                        0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 0xff, 0xfe, 0xfd};
    struct gw_soap_req r;
    char *s;

    ok(load("signature"), "MSS_SignaturePort", &r);
    CHECK_EQ_INT(r.kind, ETSI_SIGNATURE);
    CHECK_EQ_STR(r.major, "1");
    CHECK_EQ_STR(r.minor, "1");
    CHECK_EQ_STR(r.ap_id, "http://eoffice.example/ap");
    CHECK_EQ_STR(r.ap_pwd, "s3cr&t<pwd>");
    CHECK_EQ_INT(r.has_pwd, 1);
    CHECK_EQ_STR(r.ap_trans_id, "AP_0001");
    CHECK_EQ_STR(r.instant, "2026-12-05T19:40:00+00:00");
    CHECK_EQ_STR(r.ap_url, "");
    CHECK_EQ_STR(r.mssp_id, "http://hmssp.mobile-id.vn");
    CHECK_EQ_STR(r.msisdn, "84912345678");
    CHECK_EQ_INT(r.dtbs_len, sizeof want_dtbs);
    CHECK(r.dtbs && memcmp(r.dtbs, want_dtbs, sizeof want_dtbs) == 0);
    CHECK_EQ_STR(r.dtbs_mime, "application/octet-stream");
    CHECK_EQ_STR(r.dtbs_encoding, "base64");
    CHECK_EQ_STR(r.display, "K\xc3\xbd h\xe1\xbb\x93 s\xc6\xa1 <12> & \"x\"");
    CHECK_EQ_STR(r.display_mime, "text/plain");
    CHECK_EQ_STR(r.display_encoding, "UTF-8");
    CHECK_EQ_STR(r.mss_format, ETSI_NS_FMT_PKCS1);
    CHECK_EQ_STR(r.profile, ETSI_PROFILE_VGCA);
    CHECK_EQ_INT(r.mode, GW_SOAP_SYNCH);
    CHECK_EQ_INT(r.timeout_s, 300);
    CHECK_EQ_INT(r.want_cert, 1);
    CHECK_EQ_INT(r.want_validation, 1);
    CHECK_EQ_STR(r.unknown_service, "");
    CHECK(r.message == NULL);
    gw_soap_req_clear(&r);
    CHECK(r.dtbs == NULL && r.ap_pwd[0] == '\0');

    /* Any port (NULL), no wrapper (document/literal), *Req in the ETSI namespace, other prefixes. */
    ok(load("signature"), NULL, &r);
    CHECK_EQ_INT(r.kind, ETSI_SIGNATURE);
    gw_soap_req_clear(&r);
    s = sub(sub(load("signature"), "<MSS_Signature>", ""), "</MSS_Signature>", "");
    ok(s, "MSS_SignaturePort", &r);
    CHECK_EQ_INT(r.kind, ETSI_SIGNATURE);
    CHECK_EQ_INT(r.dtbs_len, sizeof want_dtbs);
    gw_soap_req_clear(&r);
    s = sub(sub(load("signature"), "<MSS_SignatureReq ", "<mss:MSS_SignatureReq " NS_MSS_ATTR " "),
            "</MSS_SignatureReq>", "</mss:MSS_SignatureReq>");
    ok(s, "MSS_SignaturePort", &r);
    CHECK_EQ_STR(r.msisdn, "84912345678");
    gw_soap_req_clear(&r);
    s = sub(sub(sub(sub(load("signature"), "<MSS_SignatureReq ", "<mss:MSS_SignatureReq " NS_MSS_ATTR " "),
                    "</MSS_SignatureReq>", "</mss:MSS_SignatureReq>"),
                "<MSS_Signature>", ""),
            "</MSS_Signature>", "");
    ok(s, "MSS_SignaturePort", &r);
    CHECK_EQ_INT(r.timeout_s, 300);
    gw_soap_req_clear(&r);
    ok(sub(sub(load("signature"), "soap-env:", "S:"), "xmlns:soap-env=", "xmlns:S="), "MSS_SignaturePort", &r);
    CHECK_EQ_INT(r.kind, ETSI_SIGNATURE);
    gw_soap_req_clear(&r);

    /* asynch modes, AP_URL, an unknown service, no TimeOut. */
    s = sub(sub(load("signature"), "\"synch\"", "\"asynchServerServer\""),
            "AP_TransID=", "AP_URL=\"https://eoffice.example/notify?a=1&amp;b=2\" AP_TransID=");
    ok(s, "MSS_SignaturePort", &r);
    CHECK_EQ_INT(r.mode, GW_SOAP_ASYNCH_SS);
    CHECK_EQ_STR(r.ap_url, "https://eoffice.example/notify?a=1&b=2");
    gw_soap_req_clear(&r);
    s = sub(sub(sub(load("signature"), "\"synch\"", "\"asynchClientServer\""), " TimeOut=\"300\"", ""),
            "#signatureValidation", "#somethingElse");
    ok(s, "MSS_SignaturePort", &r);
    CHECK_EQ_INT(r.mode, GW_SOAP_ASYNCH_CS);
    CHECK_EQ_INT(r.timeout_s, 0);
    CHECK_EQ_INT(r.want_validation, 0);
    CHECK_EQ_STR(r.unknown_service, "http://mobile-id.vn/MSSP/v1.0.0#somethingElse");
    gw_soap_req_clear(&r);
}

static void test_other_kinds(void)
{
    struct gw_soap_req r;

    ok(load("status"), "MSS_StatusQueryPort", &r);
    CHECK_EQ_INT(r.kind, ETSI_STATUS);
    CHECK_EQ_STR(r.mssp_trans_id, "MSSP_T9");
    CHECK_EQ_STR(r.ap_trans_id, "AP_0001");
    CHECK_EQ_STR(r.msisdn, "");
    gw_soap_req_clear(&r);
    ok(load("receipt"), "MSS_ReceiptPort", &r);
    CHECK_EQ_INT(r.kind, ETSI_RECEIPT);
    CHECK_EQ_STR(r.mssp_trans_id, "MSSP_T9");
    CHECK_EQ_STR(r.msisdn, "84912345678");
    CHECK_EQ_STR(r.message, "OK <done>");
    gw_soap_req_clear(&r);
    ok(load("registration"), "MSS_RegistrationPort", &r);
    CHECK_EQ_INT(r.kind, ETSI_REGISTRATION);
    CHECK_EQ_STR(r.msisdn, "84912345678");
    CHECK_EQ_STR(r.ap_pwd, "s3cr&t<pwd>");
    gw_soap_req_clear(&r);
    ok(load("profile"), "MSS_ProfileQueryPort", &r);
    CHECK_EQ_INT(r.kind, ETSI_PROFILE);
    CHECK_EQ_STR(r.msisdn, "84912345678");
    gw_soap_req_clear(&r);
    ok(load("profile"), "MSS_ProfilePort", &r); /* the WSDL's port name */
    CHECK_EQ_INT(r.kind, ETSI_PROFILE);
    gw_soap_req_clear(&r);
    ok(sub(sub(load("status"), "<MSS_StatusQuery>", ""), "</MSS_StatusQuery>", ""), "MSS_StatusQueryPort", &r);
    CHECK_EQ_STR(r.mssp_trans_id, "MSSP_T9");
    gw_soap_req_clear(&r);
}

static void test_refusals(void)
{
    static const char soap11[] = "http://schemas.xmlsoap.org/soap/envelope/";
    char big[1500], *s;
    size_t n;
    uint8_t *huge;

    refused("SOAP 1.1", sub(load("signature"), ETSI_NS_SOAP, soap11), "MSS_SignaturePort", 108, "SOAP 1.1");
    refused("envelope in no namespace",
            sub(load("status"), "xmlns:soap-env=\"" ETSI_NS_SOAP "\"", "xmlns:soap-env=\"urn:other\""), NULL, 108,
            "SOAP 1.2");
    refused(
        "content in the wrong namespace",
        sub(load("signature"), "\"http://uri.etsi.org/TS102204/v1.1.2#\"", "\"http://uri.etsi.org/TS102204/v1.1.1#\""),
        "MSS_SignaturePort", 108, "namespace");
    refused("*Req in a foreign namespace",
            sub(sub(load("status"), "<MSS_StatusReq ", "<x:MSS_StatusReq xmlns:x=\"urn:x\" "), "</MSS_StatusReq>",
                "</x:MSS_StatusReq>"),
            "MSS_StatusQueryPort", 108, "MSS_StatusReq");
    refused("wrong port", load("status"), "MSS_SignaturePort", 108, "posted to MSS_SignaturePort");
    refused("wrong port, no wrapper", sub(sub(load("receipt"), "<MSS_Receipt>", ""), "</MSS_Receipt>", ""),
            "MSS_RegistrationPort", 108, "MSS_ReceiptReq");
    refused(
        "wrapper and part disagree",
        sub(sub(load("signature"), "<MSS_Signature>", "<MSS_StatusQuery>"), "</MSS_Signature>", "</MSS_StatusQuery>"),
        NULL, 108, "another operation");
    refused("unknown operation",
            sub(sub(load("status"), "<MSS_StatusQuery>", "<Hack\x01>"), "</MSS_StatusQuery>", "</Hack\x01>"), NULL, 101,
            "XML");
    refused("unknown operation",
            sub(sub(load("status"), "<MSS_StatusQuery>", "<Hack>"), "</MSS_StatusQuery>", "</Hack>"), NULL, 108,
            "Hack is not an MSS operation");
    refused("MajorVersion 2", sub(load("profile"), "MajorVersion=\"1\"", "MajorVersion=\"2\""), NULL, 108,
            "MajorVersion");
    refused("no MinorVersion", sub(load("profile"), " MinorVersion=\"1\"", ""), NULL, 102, "MinorVersion missing");
    refused("no AP_PWD", sub(load("signature"), " AP_PWD=\"s3cr&amp;t&lt;pwd&gt;\"", ""), "MSS_SignaturePort", 102,
            "AP_PWD missing");
    refused("no AP_Info", sub(load("registration"), "<ns0:AP_Info", "<ns0:AP_Infx"), NULL, 102, "AP_Info missing");
    refused("bad AP_TransID", sub(load("registration"), "\"AP_0001\"", "\"1 bad\""), NULL, 101, "AP_TransID");
    refused("bad Instant", sub(load("registration"), "2026-12-05T19:40:00+00:00", "yesterday"), NULL, 101, "Instant");
    refused("no MSISDN", sub(load("signature"), "<ns2:MSISDN>84912345678</ns2:MSISDN>", ""), NULL, 102,
            "MSISDN missing");
    refused("empty MSISDN", sub(load("registration"), ">84912345678<", "><"), NULL, 102, "MSISDN empty");
    refused("no MobileUser", sub(load("profile"), "MobileUser", "MobileUsex"), NULL, 102, "MobileUser missing");
    refused("no MSSP_TransID", sub(load("status"), " MSSP_TransID=\"MSSP_T9\"", ""), NULL, 102, "MSSP_TransID");
    refused("bad base64", sub(load("signature"), "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==", "MDEw!!!="), NULL, 101,
            "DataToBeSigned not base64");
    refused("empty DataToBeSigned", sub(load("signature"), "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==", " "), NULL, 102,
            "DataToBeSigned empty");
    refused("Encoding hex", sub(load("signature"), "Encoding=\"base64\"", "Encoding=\"hex\""), NULL, 101, "Encoding");
    memset(big, 'A', 1500);
    big[1400] = '\0'; /* 1050 octets */
    refused("DTBS over 1024", sub(load("signature"), "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==", big), NULL, 103, "over 1024");
    big[1368] = '\0'; /* 1026 octets */
    refused("DTBS 1026", sub(load("signature"), "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==", big), NULL, 103, "over 1024");
    refused("display over 1024", sub(load("signature"), "K\xc3\xbd h\xe1\xbb\x93", big), NULL, 103,
            "DataToBeDisplayed");
    refused("no display", sub(load("signature"), "DataToBeDisplayed", "DataToBeDisplayes"), NULL, 102,
            "DataToBeDisplayed missing");
    refused("TimeOut 0", sub(load("signature"), "TimeOut=\"300\"", "TimeOut=\"0\""), NULL, 101, "TimeOut");
    refused("TimeOut 3601", sub(load("signature"), "TimeOut=\"300\"", "TimeOut=\"3601\""), NULL, 101, "TimeOut");
    refused("TimeOut -1", sub(load("signature"), "TimeOut=\"300\"", "TimeOut=\"-1\""), NULL, 101, "TimeOut");
    refused("MessagingMode", sub(load("signature"), "\"synch\"", "\"fast\""), NULL, 101, "MessagingMode");
    refused("no MessagingMode", sub(load("signature"), " MessagingMode=\"synch\"", ""), NULL, 102, "MessagingMode");
    refused("asynchServerServer without AP_URL", sub(load("signature"), "\"synch\"", "\"asynchServerServer\""), NULL,
            102, "AP_URL");
    refused("mustUnderstand header",
            sub(load("status"), "<soap-env:Body>",
                "<soap-env:Header><t:Sec xmlns:t=\"urn:t\" soap-env:mustUnderstand=\"true\"/></soap-env:Header>"
                "<soap-env:Body>"),
            NULL, 108, "mustUnderstand");
    refused("empty Body", strdup("<e:Envelope xmlns:e=\"" ETSI_NS_SOAP "\"><e:Header/><e:Body> </e:Body></e:Envelope>"),
            NULL, 102, "empty");
    refused("no Body", strdup("<e:Envelope xmlns:e=\"" ETSI_NS_SOAP "\"><e:Header/></e:Envelope>"), NULL, 102,
            "no Body");
    refused("not XML", strdup("hello"), NULL, 101, "XML");
    refused_n("empty", (const uint8_t *)"", 0, NULL, 101, "empty");

    /* Hostile input. */
    refused("billion laughs",
            sub(load("status"), "<soap-env:Envelope",
                "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]><soap-env:Envelope"),
            NULL, 101, "DOCTYPE");
    refused("external entity",
            sub(sub(load("profile"), "<soap-env:Envelope",
                    "<!DOCTYPE e [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><soap-env:Envelope"),
                ">84912345678<", ">&x;<"),
            NULL, 101, "DOCTYPE");
    refused("processing instruction", sub(load("status"), "<soap-env:Envelope", "<?evil run?><soap-env:Envelope"), NULL,
            101, "processing instruction");
    /* 10,000 open elements (30 kB; closing them would pass the size limit): the depth limit stops the parser first. */
    n = 10000;
    s = malloc(n * 3 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * 3, "<a>", 3);
    s[n * 3] = '\0';
    refused("depth 10,000", sub(load("status"), "<MSS_StatusQuery>", s), NULL, 101, "depth over 32");
    free(s);
    n = 50u * 1024 * 1024;
    huge = malloc(n);
    memset(huge, ' ', n);
    memcpy(huge, "<a>", 3);
    refused_n("50 MB", huge, n, NULL, 101, "body over 65536");
    free(huge);
    refused("not UTF-8", sub(load("signature"), "K\xc3\xbd", "K\xfd"), NULL, 101, "UTF-8");
    refused("ISO-8859-1 declared", sub(load("status"), "encoding='UTF-8'", "encoding='ISO-8859-1'"), NULL, 101,
            "UTF-8");
    refused("control character", sub(load("status"), "MSSP_T9", "MS\x01"), NULL, 101, "XML");
}

/* ---- answers -------------------------------------------------------------- */

static const uint8_t sig[] = {0x01, 0x02, 0xfe, 0xff, 0x00, 0x7f};
static const uint8_t cert[] = {0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x01};
static const char *const profiles[] = {ETSI_PROFILE_VGCA, "http://simpki.example/profile<&>"};

struct built {
    const char *file;
    enum etsi_kind kind; /* 0: notification, ETSI_FAULT: fault */
    struct gw_soap_resp r;
};

static void answers(const char *dir)
{
    struct gw_soap_req q;
    struct built b[] = {
        {"signature_502",
         ETSI_SIGNATURE,
         {.mssp_id = "http://simpki.example/mssp",
          .instant = 1796500800,
          .mssp_trans_id = "SP_42",
          .status = 502,
          .signature = sig,
          .sig_len = sizeof sig,
          .mss_format = ETSI_NS_FMT_PKCS1,
          .profile = ETSI_PROFILE_VGCA,
          .cert = cert,
          .cert_len = sizeof cert,
          .validated = 1}},
        {"signature_100", ETSI_SIGNATURE, {.mssp_trans_id = "SP_43", .status = 100}},
        {"status_504", ETSI_STATUS, {.status = 504, .status_message = "still waiting <for> you & me"}},
        {"status_500",
         ETSI_STATUS,
         {.status = 500,
          .signature = sig,
          .sig_len = sizeof sig,
          .mss_format = ETSI_NS_FMT_CMS,
          .cert = cert,
          .cert_len = sizeof cert}},
        {"receipt", ETSI_RECEIPT, {.status = 100}},
        {"registration_408", ETSI_REGISTRATION, {.status = 408, .cert = cert, .cert_len = sizeof cert}},
        {"profile", ETSI_PROFILE, {.status = 100, .profiles = profiles, .n_profiles = 2}},
        {"notification", 0, {.status = 502, .signature = sig, .sig_len = sizeof sig, .validated = 1}},
    };
    static const struct {
        const char *file;
        int status;
        const char *why;
    } faults[] = {{"fault_101", 101, "TimeOut not 1..3600 seconds"},
                  {"fault_900", 900, NULL},
                  {"fault_104", 104, "AP <unknown> & \x01\xc3\xbd"}};
    char *out, path[512];
    size_t len;
    struct etsi_answer a;
    char why[96];

    ok(load("signature"), NULL, &q);
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        enum etsi_err rc;
        b[i].r.req = &q;
        rc = b[i].kind ? gw_soap_build_resp(b[i].kind, &b[i].r, &out, &len)
                       : gw_soap_build_notification(&b[i].r, &out, &len);
        CHECK_EQ_INT(rc, ETSI_OK);
        if (rc != ETSI_OK)
            continue;
        CHECK(strlen(out) == len);
        CHECK(strstr(out, "s3cr") == NULL); /* the password is never echoed */
        CHECK(strstr(out, "AP_PWD=\"\"") != NULL);
        /* simpki's own client reads it back (the notification is a status answer in another wrapper). */
        CHECK_EQ_INT(etsi_parse_answer((const uint8_t *)out, len, &a, why, sizeof why), ETSI_OK);
        CHECK_EQ_INT(a.kind, b[i].kind ? b[i].kind : ETSI_STATUS);
        CHECK_EQ_INT(a.status, b[i].r.status);
        CHECK_EQ_STR(a.ap_trans_id, "AP_0001");
        CHECK_EQ_INT(a.sig_len, b[i].r.sig_len);
        CHECK(b[i].r.sig_len == 0 || (a.signature && memcmp(a.signature, sig, sizeof sig) == 0));
        CHECK_EQ_INT(a.cert_len, b[i].r.cert_len);
        CHECK(b[i].r.cert_len == 0 || (a.cert && memcmp(a.cert, cert, sizeof cert) == 0));
        CHECK_EQ_STR(a.mssp_trans_id, b[i].r.mssp_trans_id ? b[i].r.mssp_trans_id : "");
        if (b[i].kind == ETSI_SIGNATURE || b[i].kind == ETSI_STATUS)
            CHECK_EQ_STR(a.msisdn, "84912345678");
        CHECK_EQ_INT(a.validated, b[i].r.validated);
        etsi_answer_clear(&a);
        if (dir) {
            FILE *f;
            snprintf(path, sizeof path, "%s/%s.xml", dir, b[i].file);
            f = fopen(path, "wb");
            CHECK(f && fwrite(out, 1, len, f) == len && fclose(f) == 0);
        }
        free(out);
    }
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        CHECK_EQ_INT(gw_soap_build_fault(faults[i].status, faults[i].why, &out, &len), ETSI_OK);
        CHECK_EQ_INT(etsi_parse_answer((const uint8_t *)out, len, &a, why, sizeof why), ETSI_OK);
        CHECK_EQ_INT(a.kind, ETSI_FAULT);
        CHECK_EQ_INT(a.status, faults[i].status);
        CHECK(strncmp(a.status_text, etsi_status_find(faults[i].status)->name,
                      strlen(etsi_status_find(faults[i].status)->name)) == 0);
        CHECK(strstr(out, faults[i].status < 200 ? ">env:Sender<" : ">env:Receiver<") != NULL);
        CHECK(strstr(out, "xml:lang=\"en\"") != NULL);
        etsi_answer_clear(&a);
        if (dir) {
            FILE *f;
            snprintf(path, sizeof path, "%s/%s.xml", dir, faults[i].file);
            f = fopen(path, "wb");
            CHECK(f && fwrite(out, 1, len, f) == len && fclose(f) == 0);
        }
        free(out);
    }
    CHECK_EQ_INT(gw_soap_build_fault(101, "x", &out, &len), ETSI_OK);
    CHECK(strstr(out, "WRONG_PARAM: x<") != NULL);
    free(out);

    /* What the WSDL cannot carry. */
    b[0].r.mssp_trans_id = NULL;
    CHECK_EQ_INT(gw_soap_build_resp(ETSI_SIGNATURE, &b[0].r, &out, &len), ETSI_ERR_INVALID);
    CHECK(out == NULL && len == 0);
    b[0].r.mssp_trans_id = "1bad";
    CHECK_EQ_INT(gw_soap_build_resp(ETSI_SIGNATURE, &b[0].r, &out, &len), ETSI_ERR_INVALID);
    b[0].r.mssp_trans_id = "SP_42";
    b[0].r.status = 1000;
    CHECK_EQ_INT(gw_soap_build_resp(ETSI_SIGNATURE, &b[0].r, &out, &len), ETSI_ERR_INVALID);
    b[0].r.status = 502;
    CHECK_EQ_INT(gw_soap_build_resp(ETSI_FAULT, &b[0].r, &out, &len), ETSI_ERR_INVALID);
    b[0].r.req = NULL;
    CHECK_EQ_INT(gw_soap_build_resp(ETSI_SIGNATURE, &b[0].r, &out, &len), ETSI_ERR_INVALID);
    CHECK_EQ_INT(gw_soap_build_fault(99, "x", &out, &len), ETSI_ERR_INVALID);
    gw_soap_req_clear(&q);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_soap_xml DATA_DIR [write DIR]\n");
        return 2;
    }
    data_dir = argv[1];
    test_signature();
    test_other_kinds();
    test_refusals();
    answers(argc == 4 && strcmp(argv[2], "write") == 0 ? argv[3] : NULL);
    return check_report("test_soap_xml");
}
