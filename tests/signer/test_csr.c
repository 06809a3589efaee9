/*
 * test_csr.c - sig_csr against the openssl command line.
 *
 *   test_csr PKI_DIR WORK_DIR OPENSSL
 *
 * PKI_DIR is what tests/signer/cmp/mkcmp.sh builds (keys and their SPKIs).
 * The SIM is played by `openssl pkeyutl -sign -pkeyopt digest:sha256` over
 * the digest sig_csr_prepare returns -- RSASSA-PKCS1-v1_5 over DigestInfo
 * for RSA, a DER ECDSA-Sig-Value for EC, exactly what the SIM answers -- and
 * the finished request is judged by `openssl req -verify` and
 * `openssl req -subject -nameopt utf8`, never by our own code alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "cmp/testutil.h"
#include "sig_csr.h"

static const char *pki_dir, *work_dir, *openssl_cli;

static const struct sig_csr_subject person = {
    .province = "Hà Nội",
    .locality = "Quận Ba Đình",
    .organisation = "Bộ Tài chính",
    .units = {"Văn phòng Bộ", "Phòng Công nghệ thông tin"},
    .n_units = 2,
    .common_name = "Nguyễn Văn An",
    .id_kind = SIG_CSR_ID_CCCD,
    .id_number = "001012000001",
    .email = "an.nv@mof.gov.vn",
};

static const char person_subject[] = "subject=C=VN, ST=Hà Nội, L=Quận Ba Đình, O=Bộ Tài chính, OU=Văn phòng Bộ, "
                                     "OU=Phòng Công nghệ thông tin, CN=Nguyễn Văn An, UID=CCCD:001012000001\n";

static struct blob fixture(const char *name)
{
    char path[1024];

    tu_path(path, sizeof path, pki_dir, name);
    return tu_load(path);
}

static void work_path(char *dst, size_t cap, const char *name)
{
    tu_path(dst, cap, work_dir, name);
}

/* The SIM: `openssl pkeyutl -sign` with KEY over digest; the signature, or exit. */
static struct blob sim_sign(const char *key, const uint8_t digest[SIG_CSR_DIGEST_LEN])
{
    char keyp[1024], in[1024], out[1024];
    char *argv[] = {(char *)openssl_cli, "pkeyutl",       "-sign", "-inkey", keyp, "-in", in, "-out", out,
                    "-pkeyopt",          "digest:sha256", NULL};

    tu_path(keyp, sizeof keyp, pki_dir, key);
    work_path(in, sizeof in, "digest.bin");
    work_path(out, sizeof out, "sig.bin");
    tu_save(in, digest, SIG_CSR_DIGEST_LEN);
    if (tu_run(argv, NULL, NULL) != 0) {
        fprintf(stderr, "openssl pkeyutl -sign failed for %s\n", key);
        exit(2);
    }
    return tu_load(out);
}

/* prepare with SPKI file `spki`, sign with `key`, finish; the result code, *der on success. */
static enum sig_csr_err make_csr(const struct sig_csr_subject *s, const char *spki, const char *key, struct blob *der)
{
    struct blob pub = fixture(spki);
    struct blob sig;
    struct sig_csr *csr = NULL;
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    char why[256] = "";
    enum sig_csr_err rc;

    der->p = NULL;
    der->n = 0;
    rc = sig_csr_prepare(s, pub.p, pub.n, &csr, digest, why, sizeof why);
    tu_free(&pub);
    if (rc != SIG_CSR_OK) {
        printf("  prepare %s: %s (%s)\n", spki, sig_csr_strerror(rc), why);
        return rc;
    }
    sig = sim_sign(key, digest);
    rc = sig_csr_finish(csr, sig.p, sig.n, &der->p, &der->n, why, sizeof why);
    if (rc != SIG_CSR_OK)
        printf("  finish %s signed by %s: %s (%s)\n", spki, key, sig_csr_strerror(rc), why);
    tu_free(&sig);
    sig_csr_free(csr);
    return rc;
}

/* openssl req on the DER request in WORK_DIR/name, stdout into name.out; the exit status. */
static int openssl_req(const char *name, const char *opt1, const char *opt2, const char *opt3)
{
    char in[1024], out[1024], err[1024], base[256];
    char *argv[] = {(char *)openssl_cli, "req",        "-inform",    "DER", "-in", in, "-noout",
                    (char *)opt1,        (char *)opt2, (char *)opt3, NULL};

    work_path(in, sizeof in, name);
    snprintf(base, sizeof base, "%s.out", name);
    work_path(out, sizeof out, base);
    snprintf(base, sizeof base, "%s.err", name);
    work_path(err, sizeof err, base);
    return tu_run(argv, out, err);
}

static struct blob req_output(const char *name)
{
    char path[1024], base[256];

    snprintf(base, sizeof base, "%s.out", name);
    work_path(path, sizeof path, base);
    return tu_load(path);
}

/* Every subject value but C is a UTF8String; C a PrintableString. */
static void check_string_types(const struct blob *der)
{
    const unsigned char *p = der->p;
    X509_REQ *r = d2i_X509_REQ(NULL, &p, (long)der->n);
    X509_NAME *n = r == NULL ? NULL : X509_REQ_get_subject_name(r);
    int i;

    CHECK(n != NULL);
    for (i = 0; n != NULL && i < X509_NAME_entry_count(n); i++) {
        X509_NAME_ENTRY *e = X509_NAME_get_entry(n, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        int type = ASN1_STRING_type(X509_NAME_ENTRY_get_data(e));

        CHECK_EQ_INT(type, nid == NID_countryName ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING);
    }
    X509_REQ_free(r);
}

/* The digest prepare gave is SHA-256 over the CertificationRequestInfo of the result. */
static void check_digest_covers_tbs(const char *spki)
{
    struct blob pub = fixture(spki);
    struct blob sig;
    struct sig_csr *csr = NULL;
    uint8_t digest[SIG_CSR_DIGEST_LEN], again[SIG_CSR_DIGEST_LEN];
    uint8_t *der = NULL;
    size_t len = 0;
    const unsigned char *p;
    unsigned char *tbs = NULL;
    X509_REQ *r;
    int n;

    CHECK_EQ_INT(sig_csr_prepare(&person, pub.p, pub.n, &csr, digest, NULL, 0), SIG_CSR_OK);
    sig = sim_sign("sim-ec.key.pem", digest);
    CHECK_EQ_INT(sig_csr_finish(csr, sig.p, sig.n, &der, &len, NULL, 0), SIG_CSR_OK);
    p = der;
    r = d2i_X509_REQ(NULL, &p, (long)len);
    n = r == NULL ? -1 : i2d_re_X509_REQ_tbs(r, &tbs);
    CHECK(n > 0);
    CHECK(n > 0 && EVP_Digest(tbs, (size_t)n, again, NULL, EVP_sha256(), NULL));
    CHECK_MEM(digest, again, SIG_CSR_DIGEST_LEN);
    CHECK_EQ_STR(sig_csr_key_type(csr), "EC-P256");
    OPENSSL_free(der);
    /* One signature per prepare. */
    CHECK_EQ_INT(sig_csr_finish(csr, sig.p, sig.n, &der, &len, NULL, 0), SIG_CSR_ERR_STATE);
    CHECK(der == NULL);
    OPENSSL_free(tbs);
    X509_REQ_free(r);
    sig_csr_free(csr);
    tu_free(&sig);
    tu_free(&pub);
}

/* A good request for each key type, judged by openssl req. */
static void test_good(const char *k)
{
    char spki[64], key[64], name[64];
    struct blob der, out;

    snprintf(spki, sizeof spki, "%s.spki.der", k);
    snprintf(key, sizeof key, "%s.key.pem", k);
    snprintf(name, sizeof name, "%s.csr.der", k);
    CHECK_EQ_INT(make_csr(&person, spki, key, &der), SIG_CSR_OK);
    if (der.p == NULL)
        return;
    {
        char path[1024];

        work_path(path, sizeof path, name);
        tu_save(path, der.p, der.n);
    }
    CHECK_EQ_INT(openssl_req(name, "-verify", NULL, NULL), 0);
    CHECK_EQ_INT(openssl_req(name, "-subject", "-nameopt", "utf8"), 0);
    out = req_output(name);
    CHECK_EQ_STR((const char *)out.p, person_subject);
    tu_free(&out);
    CHECK_EQ_INT(openssl_req(name, "-text", NULL, NULL), 0);
    out = req_output(name);
    CHECK(strstr((const char *)out.p, "email:an.nv@mof.gov.vn") != NULL);
    CHECK(strstr((const char *)out.p, "X509v3 Key Usage: critical") != NULL);
    CHECK(strstr((const char *)out.p, "Digital Signature, Non Repudiation") != NULL);
    CHECK(strstr((const char *)out.p, strcmp(k, "sim-rsa") == 0 ? "sha256WithRSAEncryption" : "ecdsa-with-SHA256") !=
          NULL);
    tu_free(&out);
    check_string_types(&der);
    OPENSSL_free(der.p);
}

/* Optional parts left out: no L, no OU, no e-mail (so no subjectAltName); an organisation's MST. */
static void test_minimal_org(void)
{
    struct sig_csr_subject s = {
        .province = "Thành phố Hồ Chí Minh",
        .organisation = "Công ty Cổ phần Sông Hồng",
        .common_name = "Công ty Cổ phần Sông Hồng",
        .id_kind = SIG_CSR_ID_MST,
        .id_number = "0301234567-001",
    };
    struct blob der, out;
    char path[1024];

    CHECK_EQ_INT(make_csr(&s, "sim-rsa.spki.der", "sim-rsa.key.pem", &der), SIG_CSR_OK);
    if (der.p == NULL)
        return;
    work_path(path, sizeof path, "org.csr.der");
    tu_save(path, der.p, der.n);
    CHECK_EQ_INT(openssl_req("org.csr.der", "-verify", NULL, NULL), 0);
    CHECK_EQ_INT(openssl_req("org.csr.der", "-subject", "-nameopt", "utf8"), 0);
    out = req_output("org.csr.der");
    CHECK_EQ_STR((const char *)out.p, "subject=C=VN, ST=Thành phố Hồ Chí Minh, O=Công ty Cổ phần Sông Hồng, "
                                      "CN=Công ty Cổ phần Sông Hồng, UID=MST:0301234567-001\n");
    tu_free(&out);
    CHECK_EQ_INT(openssl_req("org.csr.der", "-text", NULL, NULL), 0);
    out = req_output("org.csr.der");
    CHECK(strstr((const char *)out.p, "Subject Alternative Name") == NULL);
    CHECK(strstr((const char *)out.p, "Digital Signature, Non Repudiation") != NULL);
    tu_free(&out);
    OPENSSL_free(der.p);
}

/* The SIM signed with another key than the one in the request. */
static void test_wrong_key(void)
{
    struct blob der;

    CHECK_EQ_INT(make_csr(&person, "sim-rsa.spki.der", "other-rsa.key.pem", &der), SIG_CSR_ERR_BAD_SIGNATURE);
    CHECK(der.p == NULL);
    CHECK_EQ_INT(make_csr(&person, "sim-ec.spki.der", "srv.key.pem", &der), SIG_CSR_ERR_BAD_SIGNATURE);
    CHECK(der.p == NULL);
}

/* Damaged signatures: truncated (shape refused), one bit flipped (verification refused). */
static void test_damaged_signature(const char *k, size_t cut, enum sig_csr_err want_cut)
{
    char spki[64], key[64];
    struct blob pub, sig;
    struct sig_csr *csr = NULL;
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    uint8_t *der = (uint8_t *)"x";
    size_t len = 1;
    char why[256] = "";

    snprintf(spki, sizeof spki, "%s.spki.der", k);
    snprintf(key, sizeof key, "%s.key.pem", k);
    pub = fixture(spki);
    CHECK_EQ_INT(sig_csr_prepare(&person, pub.p, pub.n, &csr, digest, NULL, 0), SIG_CSR_OK);
    sig = sim_sign(key, digest);
    CHECK_EQ_INT(sig_csr_finish(csr, sig.p, sig.n - cut, &der, &len, why, sizeof why), want_cut);
    CHECK(der == NULL && len == 0);
    printf("  %s truncated by %zu: %s\n", k, cut, why);
    sig_csr_free(csr);

    CHECK_EQ_INT(sig_csr_prepare(&person, pub.p, pub.n, &csr, digest, NULL, 0), SIG_CSR_OK);
    tu_free(&sig);
    sig = sim_sign(key, digest);
    sig.p[sig.n - 1] ^= 0x01;
    CHECK_EQ_INT(sig_csr_finish(csr, sig.p, sig.n, &der, &len, why, sizeof why), SIG_CSR_ERR_BAD_SIGNATURE);
    CHECK(der == NULL);
    printf("  %s bit flipped: %s\n", k, why);
    /* A failed finish spends the request. */
    CHECK_EQ_INT(sig_csr_finish(csr, sig.p, sig.n, &der, &len, NULL, 0), SIG_CSR_ERR_STATE);
    sig_csr_free(csr);
    tu_free(&sig);
    tu_free(&pub);
}

static enum sig_csr_err prepare_only(const struct sig_csr_subject *s, const uint8_t *spki, size_t n, char *why,
                                     size_t whylen)
{
    struct sig_csr *csr = (struct sig_csr *)1;
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    enum sig_csr_err rc = sig_csr_prepare(s, spki, n, &csr, digest, why, whylen);

    if (rc != SIG_CSR_OK)
        CHECK(csr == NULL);
    sig_csr_free(csr);
    return rc;
}

static void test_bad_spki(void)
{
    static const uint8_t garbage[] = "this is not a SubjectPublicKeyInfo";
    struct blob pub = fixture("sim-ec.spki.der");
    struct blob k;
    uint8_t *longer;

    CHECK_EQ_INT(prepare_only(&person, garbage, sizeof garbage, NULL, 0), SIG_CSR_ERR_MALFORMED);
    CHECK_EQ_INT(prepare_only(&person, pub.p, 0, NULL, 0), SIG_CSR_ERR_MALFORMED);
    CHECK_EQ_INT(prepare_only(&person, pub.p, pub.n - 1, NULL, 0), SIG_CSR_ERR_MALFORMED);
    longer = malloc(pub.n + 1);
    if (longer != NULL) {
        memcpy(longer, pub.p, pub.n);
        longer[pub.n] = 0;
        CHECK_EQ_INT(prepare_only(&person, longer, pub.n + 1, NULL, 0), SIG_CSR_ERR_MALFORMED);
        free(longer);
    }
    tu_free(&pub);
    k = fixture("rsa1024.spki.der");
    CHECK_EQ_INT(prepare_only(&person, k.p, k.n, NULL, 0), SIG_CSR_ERR_UNSUPPORTED_KEY);
    tu_free(&k);
    k = fixture("ec384.spki.der");
    CHECK_EQ_INT(prepare_only(&person, k.p, k.n, NULL, 0), SIG_CSR_ERR_UNSUPPORTED_KEY);
    tu_free(&k);
}

static void test_bad_subject(void)
{
    struct blob pub = fixture("sim-rsa.spki.der");
    struct sig_csr_subject s;
    char why[256];
    char longname[65 * 3 + 1];
    size_t i;

#define BAD(field, value)                                                                   \
    do {                                                                                    \
        s = person;                                                                         \
        s.field = value;                                                                    \
        why[0] = '\0';                                                                      \
        CHECK_EQ_INT(prepare_only(&s, pub.p, pub.n, why, sizeof why), SIG_CSR_ERR_SUBJECT); \
        CHECK(why[0] != '\0' && strstr(why, "001012000001") == NULL);                       \
    } while (0)

    BAD(common_name, NULL);
    BAD(common_name, "");
    BAD(province, NULL);
    BAD(organisation, "Bộ\nTài chính");
    BAD(common_name, "Nguy\xe1\xbb"); /* UTF-8 cut inside a character */
    BAD(common_name, "\xc3\x28");     /* not UTF-8 */
    BAD(common_name, "An\xc2\x85");   /* C1 control (NEL) */
    BAD(id_number, "00101200000");    /* 11 digits */
    BAD(id_number, "00101200000a");
    BAD(id_number, NULL);
    BAD(id_kind, (enum sig_csr_id_kind)7);
    BAD(email, "an@nv@mof.gov.vn");
    BAD(email, "an nv@mof.gov.vn");
    BAD(n_units, 4);
    s = person;
    s.id_kind = SIG_CSR_ID_MST;
    s.id_number = "030123456";
    CHECK_EQ_INT(prepare_only(&s, pub.p, pub.n, NULL, 0), SIG_CSR_ERR_SUBJECT);
    s.id_number = "0301234567-01";
    CHECK_EQ_INT(prepare_only(&s, pub.p, pub.n, NULL, 0), SIG_CSR_ERR_SUBJECT);

    /* 64 characters of three octets each fit (the bound is in characters), 65 do not. */
    for (i = 0; i < 64; i++)
        memcpy(longname + 3 * i, "Ạ", 3);
    longname[3 * 64] = '\0';
    s = person;
    s.common_name = longname;
    CHECK_EQ_INT(prepare_only(&s, pub.p, pub.n, NULL, 0), SIG_CSR_OK);
    memcpy(longname + 3 * 64, "Ạ", 3);
    longname[3 * 65] = '\0';
    CHECK_EQ_INT(prepare_only(&s, pub.p, pub.n, NULL, 0), SIG_CSR_ERR_SUBJECT);
    tu_free(&pub);
#undef BAD
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_csr PKI_DIR WORK_DIR OPENSSL\n");
        return 2;
    }
    pki_dir = argv[1];
    work_dir = argv[2];
    openssl_cli = argv[3];

    test_good("sim-rsa");
    test_good("sim-ec");
    test_minimal_org();
    check_digest_covers_tbs("sim-ec.spki.der");
    test_wrong_key();
    test_damaged_signature("sim-rsa", 1, SIG_CSR_ERR_MALFORMED);
    test_damaged_signature("sim-ec", 1, SIG_CSR_ERR_MALFORMED);
    test_bad_spki();
    test_bad_subject();
    CHECK(strcmp(sig_csr_strerror(SIG_CSR_ERR_BAD_SIGNATURE), "unknown error") != 0);
    return check_report("test_csr");
}
