/*
 * test_sig.c - the signer against signatures made by the openssl command line.
 *
 *   test_sig PKI_DIR
 *
 * PKI_DIR is what tests/signer/mksigs.sh builds: trust.pem, intermediates.pem,
 * other-root.pem, other-ca.pem and cases/ (certificates, digests, signatures).
 * Nothing here signs; every signature comes from `openssl dgst -sign`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "check.h"
#include "sig.h"

#define DAY (24 * 60 * 60)

struct blob {
    unsigned char *p;
    size_t n;
};

static const char *pki_dir;

static void path_of(char *dst, size_t cap, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", pki_dir, name);

    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "path too long: %s/%s\n", pki_dir, name);
        exit(2);
    }
}

/* Whole file, or exit: a missing fixture is a broken test, not a failed check. */
static struct blob load(const char *name)
{
    char path[1024];
    struct blob b = {NULL, 0};
    FILE *f;
    long len;

    path_of(path, sizeof path, name);
    f = fopen(path, "rb");
    len = -1;
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    b.n = (size_t)len;
    b.p = malloc(b.n + 1);
    if (b.p == NULL || fread(b.p, 1, b.n, f) != b.n) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    b.p[b.n] = '\0';
    fclose(f);
    return b;
}

static void blob_free(struct blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static struct sig_trust *trust_main, *trust_noint, *trust_other;
static struct blob dg[4]; /* digests of cases/msg.txt by SPKA code: 1 sha256, 2 sha384, 3 sha512 */
static const char *const md_name[4] = {NULL, "sha256", "sha384", "sha512"};
static time_t now;

/* Verify cases/<cert>.crt.der with cases/<signer>.<md>.sig over the digest of code alg. */
static enum sig_err verify_case(const struct sig_trust *t, const char *cert, const char *signer, uint8_t alg, time_t at)
{
    char name[256];
    struct blob c, s;
    enum sig_err rc;
    char why[160];

    snprintf(name, sizeof name, "cases/%s.crt.der", cert);
    c = load(name);
    snprintf(name, sizeof name, "cases/%s.%s.sig", signer, md_name[alg]);
    s = load(name);
    rc = sig_verify_digest(t, c.p, c.n, alg, dg[alg].p, dg[alg].n, s.p, s.n, at, why, sizeof why);
    if (rc != SIG_OK)
        printf("  %s / %s / %s: %s (%s)\n", cert, signer, md_name[alg], sig_result_name(rc), why);
    /* No call may leave anything on OpenSSL's error queue. */
    CHECK_EQ_INT(ERR_peek_error(), 0);
    blob_free(&c);
    blob_free(&s);
    return rc;
}

static void test_good(void)
{
    for (uint8_t alg = 1; alg <= 3; alg++) {
        CHECK_EQ_INT(verify_case(trust_main, "good-rsa", "good-rsa", alg, now), SIG_OK);
        CHECK_EQ_INT(verify_case(trust_main, "good-ec", "good-ec", alg, now), SIG_OK);
        CHECK_EQ_INT(verify_case(trust_main, "good-rsa3072", "good-rsa3072", alg, now), SIG_OK);
        CHECK_EQ_INT(verify_case(trust_main, "good-ec384", "good-ec384", alg, now), SIG_OK);
    }
}

static void test_bad_signatures(void)
{
    CHECK_EQ_INT(verify_case(trust_main, "good-rsa", "stranger-rsa", 1, now), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_case(trust_main, "good-ec", "stranger-ec", 1, now), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_case(trust_main, "good-ec", "stranger-ec", 3, now), SIG_ERR_BAD_SIGNATURE);
    /* Another subscriber's genuine signature is still not this one's. */
    CHECK_EQ_INT(verify_case(trust_main, "good-rsa", "noku-rsa", 1, now), SIG_ERR_BAD_SIGNATURE);
    /* A signature of the wrong kind for the key never parses as the right one. */
    CHECK(verify_case(trust_main, "good-rsa", "good-ec", 1, now) != SIG_OK);
    CHECK(verify_case(trust_main, "good-ec", "good-rsa", 1, now) != SIG_OK);
    /* A signature made over SHA-256 is not one over SHA-384 of the same message. */
    {
        struct blob c = load("cases/good-rsa.crt.der"), s = load("cases/good-rsa.sha256.sig");
        struct blob d384 = load("cases/msg.sha384.bin");
        CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 2, d384.p, d384.n, s.p, s.n, now, NULL, 0),
                     SIG_ERR_BAD_SIGNATURE);
        blob_free(&c);
        blob_free(&s);
        blob_free(&d384);
    }
}

/* Mangle a good signature or digest in every way a wire might. */
static void test_mangled(const char *name)
{
    char path[256];
    struct blob c, s;
    unsigned char d[64], sig[1024];
    enum sig_err rc;
    char why[160];

    snprintf(path, sizeof path, "cases/%s.crt.der", name);
    c = load(path);
    snprintf(path, sizeof path, "cases/%s.sha256.sig", name);
    s = load(path);
    CHECK(s.n + 1 <= sizeof sig);
    memcpy(d, dg[1].p, 32);

    /* Truncated by one octet, by half, to one octet: refused, never OK. */
    size_t cuts[] = {s.n - 1, s.n / 2, 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        rc = sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, s.p, cuts[i], now, why, sizeof why);
        CHECK(rc == SIG_ERR_BAD_SIGNATURE || rc == SIG_ERR_MALFORMED);
        CHECK(why[0] != '\0');
    }
    /* Empty, and one trailing octet. */
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, s.p, 0, now, NULL, 0), SIG_ERR_MALFORMED);
    memcpy(sig, s.p, s.n);
    sig[s.n] = 0;
    rc = sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, sig, s.n + 1, now, NULL, 0);
    CHECK(rc == SIG_ERR_BAD_SIGNATURE || rc == SIG_ERR_MALFORMED);

    /* Every flipped bit of the digest's first and last octet. */
    for (int bit = 0; bit < 8; bit++) {
        d[0] ^= (unsigned char)(1u << bit);
        CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, s.p, s.n, now, NULL, 0), SIG_ERR_BAD_SIGNATURE);
        d[0] ^= (unsigned char)(1u << bit);
        d[31] ^= (unsigned char)(1u << bit);
        CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, s.p, s.n, now, NULL, 0), SIG_ERR_BAD_SIGNATURE);
        d[31] ^= (unsigned char)(1u << bit);
    }
    /* A flipped bit in the last octet of the signature (inside r/s for EC, the value for RSA). */
    memcpy(sig, s.p, s.n);
    sig[s.n - 1] ^= 0x01;
    rc = sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, sig, s.n, now, NULL, 0);
    CHECK(rc == SIG_ERR_BAD_SIGNATURE || rc == SIG_ERR_MALFORMED);
    /* Still good after all that: nothing above changed state. */
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 1, d, 32, s.p, s.n, now, NULL, 0), SIG_OK);

    /* Digest length must match the algorithm code. */
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 1, d, 31, s.p, s.n, now, NULL, 0), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 2, d, 32, s.p, s.n, now, NULL, 0), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 3, d, 48, s.p, s.n, now, NULL, 0), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 1, NULL, 32, s.p, s.n, now, NULL, 0), SIG_ERR_MALFORMED);
    /* Unknown algorithm codes. */
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 0, d, 32, s.p, s.n, now, NULL, 0), SIG_ERR_UNSUPPORTED);
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n, 4, d, 32, s.p, s.n, now, NULL, 0), SIG_ERR_UNSUPPORTED);
    CHECK_EQ_INT(ERR_peek_error(), 0);

    blob_free(&c);
    blob_free(&s);
}

static void test_certificates(void)
{
    CHECK_EQ_INT(verify_case(trust_main, "expired-rsa", "expired-rsa", 1, now), SIG_ERR_CERT_EXPIRED);
    CHECK_EQ_INT(verify_case(trust_main, "expired-ec", "expired-ec", 1, now), SIG_ERR_CERT_EXPIRED);
    CHECK_EQ_INT(verify_case(trust_main, "notyet-rsa", "notyet-rsa", 1, now), SIG_ERR_CERT_NOT_YET_VALID);
    CHECK_EQ_INT(verify_case(trust_main, "notyet-ec", "notyet-ec", 1, now), SIG_ERR_CERT_NOT_YET_VALID);
    CHECK_EQ_INT(verify_case(trust_main, "noku-rsa", "noku-rsa", 1, now), SIG_ERR_KEY_USAGE);
    CHECK_EQ_INT(verify_case(trust_main, "noku-ec", "noku-ec", 1, now), SIG_ERR_KEY_USAGE);
    CHECK_EQ_INT(verify_case(trust_main, "untrusted-rsa", "untrusted-rsa", 1, now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(verify_case(trust_main, "untrusted-ec", "untrusted-ec", 1, now), SIG_ERR_UNTRUSTED);

    /* `at` is honoured: inside their validity these are fine (the CAs start three years back). */
    CHECK_EQ_INT(verify_case(trust_main, "expired-rsa", "expired-rsa", 1, now - 500 * DAY), SIG_OK);
    CHECK_EQ_INT(verify_case(trust_main, "notyet-ec", "notyet-ec", 1, now + 400 * DAY), SIG_OK);
    CHECK_EQ_INT(verify_case(trust_main, "good-rsa", "good-rsa", 1, now - 2 * DAY), SIG_ERR_CERT_NOT_YET_VALID);
    CHECK_EQ_INT(verify_case(trust_main, "good-ec", "good-ec", 1, now + 3 * 365 * DAY), SIG_ERR_CERT_EXPIRED);

    /* Order: the signature is checked before validity, chain and key usage. */
    CHECK_EQ_INT(verify_case(trust_main, "expired-rsa", "stranger-rsa", 1, now), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_case(trust_main, "untrusted-ec", "stranger-ec", 1, now), SIG_ERR_BAD_SIGNATURE);
    CHECK_EQ_INT(verify_case(trust_main, "noku-rsa", "stranger-rsa", 1, now), SIG_ERR_BAD_SIGNATURE);
    /* ... and the chain before key usage. */
    CHECK_EQ_INT(verify_case(trust_noint, "noku-ec", "noku-ec", 1, now), SIG_ERR_UNTRUSTED);

    /* Without the intermediates nothing chains. */
    CHECK_EQ_INT(verify_case(trust_noint, "good-rsa", "good-rsa", 1, now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(verify_case(trust_noint, "good-ec", "good-ec", 1, now), SIG_ERR_UNTRUSTED);
    /* Trust is per anchor, not per look-alike name: the other PKI's CA has our CA's CN. */
    CHECK_EQ_INT(verify_case(trust_other, "untrusted-rsa", "untrusted-rsa", 1, now), SIG_OK);
    CHECK_EQ_INT(verify_case(trust_other, "good-rsa", "good-rsa", 1, now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(verify_case(NULL, "good-rsa", "good-rsa", 1, now), SIG_ERR_UNTRUSTED);

    /* Keys we do not take, even when everything else is right. */
    CHECK_EQ_INT(verify_case(trust_main, "good-rsa1024", "good-rsa1024", 1, now), SIG_ERR_UNSUPPORTED);
}

static void test_malformed_certs(void)
{
    struct blob g = load("cases/garbage.crt.der"), c = load("cases/good-ec.crt.der");
    struct blob s = load("cases/good-ec.sha256.sig");
    unsigned char *longer = malloc(c.n + 1);
    char why[160];

    CHECK_EQ_INT(sig_verify_digest(trust_main, g.p, g.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, why, sizeof why),
                 SIG_ERR_MALFORMED);
    CHECK(strstr(why, "certificate") != NULL);
    /* The PEM form is not DER. */
    {
        struct blob pem = load("cases/good-ec.crt.pem");
        CHECK_EQ_INT(sig_verify_digest(trust_main, pem.p, pem.n, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                     SIG_ERR_MALFORMED);
        blob_free(&pem);
    }
    /* Truncated DER, and DER with a trailing octet. */
    CHECK_EQ_INT(sig_verify_digest(trust_main, c.p, c.n - 1, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_MALFORMED);
    CHECK(longer != NULL);
    memcpy(longer, c.p, c.n);
    longer[c.n] = 0;
    CHECK_EQ_INT(sig_verify_digest(trust_main, longer, c.n + 1, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_verify_digest(trust_main, NULL, 0, 1, dg[1].p, dg[1].n, s.p, s.n, now, NULL, 0),
                 SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_check_cert(trust_main, g.p, g.n, now, NULL, 0), SIG_ERR_MALFORMED);
    {
        struct sig_cert_info info;
        CHECK_EQ_INT(sig_cert_info(g.p, g.n, &info), SIG_ERR_MALFORMED);
    }
    CHECK_EQ_INT(ERR_peek_error(), 0);
    free(longer);
    blob_free(&g);
    blob_free(&c);
    blob_free(&s);
}

static enum sig_err check_case(const char *name, time_t at)
{
    char path[256];
    struct blob c;
    enum sig_err rc;

    snprintf(path, sizeof path, "cases/%s.crt.der", name);
    c = load(path);
    rc = sig_check_cert(trust_main, c.p, c.n, at, NULL, 0);
    blob_free(&c);
    return rc;
}

static void test_check_cert(void)
{
    CHECK_EQ_INT(check_case("good-rsa", now), SIG_OK);
    CHECK_EQ_INT(check_case("good-ec", now), SIG_OK);
    CHECK_EQ_INT(check_case("expired-ec", now), SIG_ERR_CERT_EXPIRED);
    CHECK_EQ_INT(check_case("notyet-rsa", now), SIG_ERR_CERT_NOT_YET_VALID);
    CHECK_EQ_INT(check_case("noku-ec", now), SIG_ERR_KEY_USAGE);
    CHECK_EQ_INT(check_case("untrusted-rsa", now), SIG_ERR_UNTRUSTED);
    CHECK_EQ_INT(check_case("good-rsa1024", now), SIG_ERR_UNSUPPORTED);
}

static void info_case(const char *name, const char *subject, const char *key_type)
{
    char path[256];
    struct blob c;
    struct sig_cert_info info;

    snprintf(path, sizeof path, "cases/%s.crt.der", name);
    c = load(path);
    CHECK_EQ_INT(sig_cert_info(c.p, c.n, &info), SIG_OK);
    printf("  %s: subject %s | issuer %s | serial %s | %s\n", name, info.subject, info.issuer, info.serial_hex,
           info.key_type);
    if (subject != NULL)
        CHECK_EQ_STR(info.subject, subject);
    CHECK_EQ_STR(info.issuer, "CN=Test Issuing CA SIM PKI (simpki),O=Ban Cơ yếu Chính phủ,C=VN");
    CHECK_EQ_STR(info.key_type, key_type);
    /*
     * Good certificates run from yesterday for two years (plus a day): 731
     * or 732 days, as the two years hold a 29 February or not; mkpki.sh
     * reads the clock once per end, so a second may tick in between.
     */
    CHECK(info.not_before < now && info.not_before > now - 2 * DAY);
    CHECK(info.not_after - info.not_before >= 730 * DAY && info.not_after - info.not_before <= 732 * DAY + 60);
    snprintf(path, sizeof path, "cases/%s.serial", name);
    if (strcmp(name, "good-rsa") == 0 || strcmp(name, "good-ec") == 0) {
        struct blob ser = load(path);
        ser.p[strcspn((char *)ser.p, "\r\n")] = '\0';
        CHECK_EQ_STR(info.serial_hex, (char *)ser.p);
        blob_free(&ser);
    }
    blob_free(&c);
}

static void test_cert_info(void)
{
    info_case("good-rsa",
              "UID=CCCD:001012000001,CN=Nguyễn Văn An,OU=Văn phòng,O=Bộ Tài chính,L=Quận Ba Đình,ST=Hà Nội,C=VN",
              "RSA-2048");
    info_case("good-ec",
              "UID=CCCD:001012000002,CN=Trần Thị Bích Ngọc,OU=Văn phòng,O=Ủy ban nhân dân thành phố Hà Nội,"
              "L=Quận Ba Đình,ST=Hà Nội,C=VN",
              "EC-P256");
    info_case("good-ec384", NULL, "EC-P384");
    info_case("good-rsa3072", NULL, "RSA-3072");
    info_case("good-rsa1024", NULL, "RSA-1024");
    {
        /* The "/" in an O is data, and RFC 2253 does not escape it. */
        struct blob c = load("cases/untrusted-rsa.crt.der");
        struct sig_cert_info info;
        CHECK_EQ_INT(sig_cert_info(c.p, c.n, &info), SIG_OK);
        CHECK(strstr(info.subject, "O=Sở Nội vụ / Văn thư,") != NULL);
        CHECK(strstr(info.subject, "CN=Đỗ Mạnh Cường,") != NULL);
        CHECK_EQ_STR(info.issuer, "CN=Test Issuing CA SIM PKI (simpki),O=Other Test PKI,C=VN");
        blob_free(&c);
    }
    {
        struct blob c = load("cases/expired-rsa.crt.der");
        struct sig_cert_info info;
        CHECK_EQ_INT(sig_cert_info(c.p, c.n, &info), SIG_OK);
        CHECK(info.not_after < now);
        blob_free(&c);
    }
}

/* A self-signed certificate whose subject is built entry by entry, DER into *der (malloc'd). */
static size_t make_named_cert(X509_NAME *name, unsigned char **der)
{
    X509 *x = X509_new();
    EVP_PKEY *k = EVP_EC_gen("P-256");
    int len;

    *der = NULL;
    if (x == NULL || k == NULL || !X509_set_version(x, 2) || !ASN1_INTEGER_set(X509_get_serialNumber(x), 7) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), 0) || !X509_gmtime_adj(X509_getm_notAfter(x), DAY) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, k) ||
        !X509_sign(x, k, EVP_sha256())) {
        fprintf(stderr, "cannot build a test certificate\n");
        exit(2);
    }
    len = i2d_X509(x, der);
    X509_free(x);
    EVP_PKEY_free(k);
    if (len <= 0)
        exit(2);
    return (size_t)len;
}

static void add_utf8(X509_NAME *n, int nid, const char *v)
{
    if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)v, -1, -1, 0))
        exit(2);
}

/* sig_cert_names: each attribute alone, as UTF-8, whatever string type the CA chose. */
static void test_cert_names(void)
{
    struct sig_cert_names nm;
    struct blob c = load("cases/good-rsa.crt.der");
    /* "Đỗ Văn" as a BMPString (UTF-16BE), as some CAs still write names. */
    static const unsigned char bmp[] = {0x01, 0x10, 0x1E, 0xD7, 0x00, 0x20, 0x00, 0x56};
    X509_NAME *n = X509_NAME_new();
    unsigned char *der = NULL;
    size_t len;
    char longname[400];

    CHECK_EQ_INT(sig_cert_names(c.p, c.n, &nm), SIG_OK);
    CHECK_EQ_STR(nm.cn, "Nguyễn Văn An");
    CHECK_EQ_STR(nm.o, "Bộ Tài chính");
    CHECK_EQ_STR(nm.ou, "Văn phòng");
    CHECK_EQ_STR(nm.l, "Quận Ba Đình");
    CHECK_EQ_STR(nm.st, "Hà Nội");
    CHECK_EQ_STR(nm.uid, "CCCD:001012000001");
    CHECK_EQ_STR(nm.email, "");
    CHECK_EQ_STR(nm.serial_number, "");
    blob_free(&c);

    /* Every attribute, a BMPString CN, a second OU (the first is taken), an O longer than its field. */
    memset(longname, 0, sizeof longname);
    for (size_t i = 0; i + 3 < sizeof longname; i += 3)
        memcpy(longname + i, "Ủ", 3); /* 3 octets each: the cut must fall between two */
    if (n == NULL || !X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_BMPSTRING, bmp, sizeof bmp, -1, 0))
        exit(2);
    /* Raw UTF8String: past ub-organization-name, which MBSTRING input would refuse. */
    if (!X509_NAME_add_entry_by_NID(n, NID_organizationName, V_ASN1_UTF8STRING, (unsigned char *)longname,
                                    (int)strlen(longname), -1, 0))
        exit(2);
    add_utf8(n, NID_organizationalUnitName, "Phòng Một");
    add_utf8(n, NID_organizationalUnitName, "Phòng Hai");
    add_utf8(n, NID_localityName, "Xã Tân Lập");
    add_utf8(n, NID_stateOrProvinceName, "Tuyên Quang");
    add_utf8(n, NID_userId, "MST:0100109106");
    add_utf8(n, NID_pkcs9_emailAddress, "vanthu@tuyenquang.gov.vn");
    add_utf8(n, NID_serialNumber, "CMND:012345678");
    len = make_named_cert(n, &der);
    CHECK_EQ_INT(sig_cert_names(der, len, &nm), SIG_OK);
    CHECK_EQ_STR(nm.cn, "Đỗ V");
    CHECK_EQ_INT((int)strlen(nm.o), 255); /* 85 whole characters of 3 octets */
    CHECK(strncmp(nm.o, longname, 255) == 0);
    CHECK_EQ_STR(nm.ou, "Phòng Một");
    CHECK_EQ_STR(nm.l, "Xã Tân Lập");
    CHECK_EQ_STR(nm.st, "Tuyên Quang");
    CHECK_EQ_STR(nm.uid, "MST:0100109106");
    CHECK_EQ_STR(nm.email, "vanthu@tuyenquang.gov.vn");
    CHECK_EQ_STR(nm.serial_number, "CMND:012345678");
    /* Not a certificate: refused, and nothing half-filled is left behind. */
    CHECK_EQ_INT(sig_cert_names(der, len - 1, &nm), SIG_ERR_MALFORMED);
    CHECK_EQ_STR(nm.cn, "");
    CHECK_EQ_INT(sig_cert_names(NULL, 0, &nm), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    OPENSSL_free(der);
    X509_NAME_free(n);
}

/*
 * sig_cert_summary: the light read gives what sig_cert_info and sig_cert_names give, for every
 * certificate at hand (RSA and EC leaves, CAs, the one built above with every attribute), and
 * refuses what is not exactly one certificate.
 */
static void summary_agrees(const uint8_t *der, size_t len, const char *what)
{
    struct sig_cert_summary s;
    struct sig_cert_info info;
    struct sig_cert_names nm;

    CHECK_EQ_INT(sig_cert_summary(der, len, &s), SIG_OK);
    CHECK_EQ_INT(sig_cert_info(der, len, &info), SIG_OK);
    CHECK_EQ_INT(sig_cert_names(der, len, &nm), SIG_OK);
    if (strcmp(s.serial_hex, info.serial_hex) != 0 || s.not_after != info.not_after ||
        strcmp(s.subject, info.subject) != 0 || memcmp(&s.names, &nm, sizeof nm) != 0)
        fprintf(stderr, "sig_cert_summary differs on %s\n", what);
    CHECK_EQ_STR(s.serial_hex, info.serial_hex);
    CHECK(s.not_after == info.not_after);
    CHECK_EQ_STR(s.subject, info.subject);
    CHECK(memcmp(&s.names, &nm, sizeof nm) == 0);
}

static void test_cert_summary(void)
{
    static const char *const files[] = {
        "cases/good-rsa.crt.der",   "cases/good-ec.crt.der",  "cases/good-ec384.crt.der",
        "cases/ca2-ec.crt.der",     "cases/g1-rsa.crt.der",   "cases/expired-rsa.crt.der",
        "cases/badname-ec.crt.der", "cases/noku-rsa.crt.der", "cases/untrusted-ec.crt.der"};
    struct sig_cert_summary s;
    unsigned char *der = NULL, *longer;
    X509_NAME *n = X509_NAME_new();
    size_t len;
    int seen = 0;

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[256];
        FILE *f;
        snprintf(path, sizeof(path), "%s/%s", pki_dir, files[i]);
        if ((f = fopen(path, "rb")) == NULL)
            continue; /* not every PKI has every file */
        fclose(f);
        struct blob c = load(files[i]);
        summary_agrees(c.p, c.n, files[i]);
        blob_free(&c);
        seen++;
    }
    CHECK_EQ_INT(seen, (int)(sizeof(files) / sizeof(files[0])));
    if (n == NULL)
        exit(2);
    add_utf8(n, NID_commonName, "Ủy ban nhân dân xã Tân Lập");
    add_utf8(n, NID_organizationName, "Ủy ban nhân dân xã Tân Lập");
    add_utf8(n, NID_stateOrProvinceName, "Tuyên Quang");
    add_utf8(n, NID_userId, "MST:0100109106");
    len = make_named_cert(n, &der);
    summary_agrees(der, len, "built");
    CHECK_EQ_INT(sig_cert_summary(der, len, &s), SIG_OK);
    CHECK_EQ_STR(s.names.uid, "MST:0100109106");
    /* Not one certificate: cut short, one octet more, nothing. */
    CHECK_EQ_INT(sig_cert_summary(der, len - 1, &s), SIG_ERR_MALFORMED);
    CHECK_EQ_STR(s.subject, "");
    longer = malloc(len + 1);
    if (!longer)
        exit(2);
    memcpy(longer, der, len);
    longer[len] = 0;
    CHECK_EQ_INT(sig_cert_summary(longer, len + 1, &s), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_cert_summary(NULL, 0, &s), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(ERR_peek_error(), 0);
    free(longer);
    OPENSSL_free(der);
    X509_NAME_free(n);
}

static void test_trust_load(void)
{
    char a[1024], i[1024], bad[1024], why[256];
    struct sig_trust *t = NULL;

    path_of(a, sizeof a, "trust.pem");
    path_of(i, sizeof i, "no-such-intermediates.pem");
    /* A named intermediates file that is missing is a configuration error. */
    CHECK_EQ_INT(sig_trust_load(a, i, &t, why, sizeof why), SIG_ERR_IO);
    CHECK(t == NULL);
    CHECK(strstr(why, "intermediates") != NULL);
    CHECK_EQ_INT(sig_trust_load(i, NULL, &t, why, sizeof why), SIG_ERR_IO);
    CHECK_EQ_INT(sig_trust_load(NULL, NULL, &t, why, sizeof why), SIG_ERR_IO);
    /* Not PEM at all, and an empty "" for intermediates meaning none. */
    path_of(bad, sizeof bad, "cases/garbage.crt.der");
    CHECK_EQ_INT(sig_trust_load(bad, NULL, &t, why, sizeof why), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_trust_load(a, bad, &t, why, sizeof why), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(sig_trust_load(a, "", &t, NULL, 0), SIG_OK);
    sig_trust_free(t);
    sig_trust_free(NULL);
    CHECK_EQ_INT(ERR_peek_error(), 0);

    /* The caller's own errors survive a call. */
    ERR_raise(ERR_LIB_USER, 42);
    CHECK_EQ_INT(sig_trust_load(bad, NULL, &t, NULL, 0), SIG_ERR_MALFORMED);
    CHECK_EQ_INT(ERR_GET_REASON(ERR_peek_error()), 42);
    ERR_clear_error();
}

static void test_names(void)
{
    CHECK_EQ_STR(sig_result_name(SIG_OK), "OK");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_BAD_SIGNATURE), "INVALID_SIGNATURE");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_CERT_EXPIRED), "CERT_EXPIRED");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_CERT_NOT_YET_VALID), "CERT_NOT_YET_VALID");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_UNTRUSTED), "UNTRUSTED_CHAIN");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_KEY_USAGE), "WRONG_KEY_USAGE");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_MALFORMED), "INVALID_SIGNATURE");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_UNSUPPORTED), "INTERNAL_ERROR");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_IO), "INTERNAL_ERROR");
    CHECK_EQ_STR(sig_result_name(SIG_ERR_NOMEM), "INTERNAL_ERROR");
    CHECK_EQ_STR(sig_result_name((enum sig_err)99), "INTERNAL_ERROR");
    for (int e = SIG_OK; e <= SIG_ERR_NOMEM; e++)
        CHECK(strcmp(sig_strerror((enum sig_err)e), "unknown error") != 0);
    CHECK_EQ_STR(sig_strerror((enum sig_err)99), "unknown error");
}

/* sig_cert_to_der: a certificate as an operator hands it over (PEM, DER, base64 with line breaks). */
static void test_cert_to_der(void)
{
    struct blob c = load("cases/good-rsa.crt.der");
    const uint8_t *p = c.p;
    X509 *x = d2i_X509(NULL, &p, (long)c.n);
    BIO *mem = BIO_new(BIO_s_mem());
    char *pem = NULL, why[160];
    long pem_len = 0;
    size_t b64_cap = 4 * (c.n / 3 + 1) + 1, n = 0, der_len = 0;
    char *b64 = malloc(b64_cap), *wrapped = malloc(2 * b64_cap);
    uint8_t *der = NULL;

    CHECK(x != NULL && mem != NULL && b64 != NULL && wrapped != NULL);
    if (!x || !mem || !b64 || !wrapped)
        goto out;
    /* PEM, after some text, as openssl x509 -text writes it: the same DER. */
    BIO_puts(mem, "Certificate:\n    Data: ...\n");
    CHECK_EQ_INT(PEM_write_bio_X509(mem, x), 1);
    pem_len = BIO_get_mem_data(mem, &pem);
    CHECK_EQ_INT(sig_cert_to_der((const uint8_t *)pem, (size_t)pem_len, SIG_CERT_FILE, &der, &der_len, why, sizeof why),
                 SIG_OK);
    CHECK(der && der_len == c.n && memcmp(der, c.p, c.n) == 0);
    free(der);
    /* DER is taken as is. */
    CHECK_EQ_INT(sig_cert_to_der(c.p, c.n, SIG_CERT_FILE, &der, &der_len, why, sizeof why), SIG_OK);
    CHECK(der && der_len == c.n && memcmp(der, c.p, c.n) == 0);
    free(der);
    /* A PEM marker over garbage. */
    CHECK_EQ_INT(sig_cert_to_der((const uint8_t *)"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 59,
                                 SIG_CERT_FILE, &der, &der_len, why, sizeof why),
                 SIG_ERR_MALFORMED);
    CHECK(der == NULL && strstr(why, "PEM") != NULL);
    /* base64 with line breaks every 64 characters, as pasted. */
    EVP_EncodeBlock((unsigned char *)b64, c.p, (int)c.n);
    for (size_t i = 0; b64[i]; i++) {
        wrapped[n++] = b64[i];
        if (i % 64 == 63)
            wrapped[n++] = '\n';
    }
    wrapped[n] = '\0';
    CHECK_EQ_INT(sig_cert_to_der((const uint8_t *)wrapped, n, SIG_CERT_BASE64, &der, &der_len, why, sizeof why),
                 SIG_OK);
    CHECK(der && der_len == c.n && memcmp(der, c.p, c.n) == 0);
    free(der);
    CHECK_EQ_INT(sig_cert_to_der((const uint8_t *)"AAA", 3, SIG_CERT_BASE64, &der, &der_len, why, sizeof why),
                 SIG_ERR_MALFORMED);
    CHECK(der == NULL && strstr(why, "multiple of 4") != NULL);
    CHECK_EQ_INT(sig_cert_to_der((const uint8_t *)"A*==", 4, SIG_CERT_BASE64, &der, &der_len, why, sizeof why),
                 SIG_ERR_MALFORMED);
    CHECK(der == NULL && strstr(why, "not valid base64") != NULL);
out:
    free(b64);
    free(wrapped);
    BIO_free(mem);
    X509_free(x);
    blob_free(&c);
}

int main(int argc, char **argv)
{
    char a[1024], i[1024], why[256];

    if (argc != 2) {
        fprintf(stderr, "usage: %s PKI_DIR\n", argv[0]);
        return 2;
    }
    pki_dir = argv[1];
    now = time(NULL);
    for (uint8_t alg = 1; alg <= 3; alg++) {
        char name[64];
        snprintf(name, sizeof name, "cases/msg.%s.bin", md_name[alg]);
        dg[alg] = load(name);
    }

    path_of(a, sizeof a, "trust.pem");
    path_of(i, sizeof i, "intermediates.pem");
    CHECK_EQ_INT(sig_trust_load(a, i, &trust_main, why, sizeof why), SIG_OK);
    CHECK_EQ_INT(sig_trust_load(a, NULL, &trust_noint, why, sizeof why), SIG_OK);
    path_of(a, sizeof a, "other-root.pem");
    path_of(i, sizeof i, "other-ca.pem");
    CHECK_EQ_INT(sig_trust_load(a, i, &trust_other, why, sizeof why), SIG_OK);
    if (trust_main == NULL || trust_noint == NULL || trust_other == NULL) {
        fprintf(stderr, "cannot load trust: %s\n", why);
        return check_report("test_sig");
    }

    test_names();
    test_good();
    test_bad_signatures();
    test_mangled("good-rsa");
    test_mangled("good-ec");
    test_certificates();
    test_malformed_certs();
    test_check_cert();
    test_cert_info();
    test_cert_names();
    test_cert_summary();
    test_cert_to_der();
    test_trust_load();

    sig_trust_free(trust_main);
    sig_trust_free(trust_noint);
    sig_trust_free(trust_other);
    for (int k = 1; k <= 3; k++)
        blob_free(&dg[k]);
    return check_report("test_sig");
}
