/*
 * sig_csr.h - building a PKCS#10 certificate request whose key lives on a SIM.
 *
 * The SIM generates the key pair (SPKA/1 GENKEY gives us its
 * SubjectPublicKeyInfo) and never lets the private key out, so the request is
 * built in two phases around one signature made by the SIM:
 *
 *     struct sig_csr *csr;
 *     uint8_t digest[SIG_CSR_DIGEST_LEN];
 *     rc = sig_csr_prepare(&subject, spki, spki_len, &csr, digest, why, sizeof why);
 *     ... the SIM signs `digest` (SPKA/1 SIGN, SHA-256) ...
 *     rc = sig_csr_finish(csr, sig, sig_len, &der, &der_len, why, sizeof why);
 *     sig_csr_free(csr);
 *
 * prepare builds the CertificationRequestInfo (subject, public key, extension
 * request) and gives back the SHA-256 of its DER, which is exactly what the
 * SIM signs: RSA keys answer RSASSA-PKCS1-v1_5 over DigestInfo(SHA-256,
 * digest), EC P-256 keys a DER ECDSA-Sig-Value over the digest -- the same two
 * encodings sig_verify_digest takes.
 *
 * finish attaches the signature (sha256WithRSAEncryption or
 * ecdsa-with-SHA256), encodes the request, parses that encoding back and
 * checks what actually leaves, before anyone sends it to the CA:
 *   - the self-signature verifies with the request's own public key
 *     (X509_REQ_verify); a SIM that signed with another key, a truncated or
 *     corrupted signature, all end here as SIG_CSR_ERR_BAD_SIGNATURE;
 *   - the subject is the one requested, the key is the SPKI given;
 *   - the key is RSA 2048..4096 or EC P-256 (also checked by prepare).
 *
 * Subject, per the Government CA profile for SIM certificates, in this order:
 *   C=VN, ST=<province>, L=<locality, optional>, O=<organisation>,
 *   OU=<0..3 units>, CN=<name>, UID=CCCD:<12 digits> | MST:<tax code>
 * Every text value is a UTF8String (Vietnamese needs it), except C, which
 * X.520 and RFC 5280 define as a two-letter PrintableString.  Values must be
 * valid UTF-8 without control characters and within the X.520 upper bounds
 * (64 characters for O, OU, CN, UID; 128 for ST, L), counted in characters,
 * not octets.  The tax code (MST) is 10 digits, or 10 digits, '-' and a
 * 3-digit branch number.
 *
 * Requested extensions (PKCS#9 extensionRequest): keyUsage critical
 * {digitalSignature, nonRepudiation}, and subjectAltName rfc822Name when an
 * e-mail is given.  The CA decides what it really issues; sig_cmp checks the
 * result.
 *
 * A struct sig_csr belongs to one enrolment; it is not shared.  Nothing here
 * blocks or touches global state; OpenSSL errors are bracketed with
 * ERR_set_mark/ERR_pop_to_mark like sig.c.
 */
#ifndef SIMPKI_SIG_CSR_H
#define SIMPKI_SIG_CSR_H

#include <stddef.h>
#include <stdint.h>

#define SIG_CSR_DIGEST_LEN 32 /* SHA-256, the only digest the profile uses */
#define SIG_CSR_MAX_OU     3

enum sig_csr_err {
    SIG_CSR_OK = 0,
    SIG_CSR_ERR_MALFORMED = 1,       /* the SPKI or the signature does not parse */
    SIG_CSR_ERR_UNSUPPORTED_KEY = 2, /* not RSA 2048..4096 nor EC P-256 */
    SIG_CSR_ERR_SUBJECT = 3,         /* a subject field is missing, too long, not UTF-8, ... */
    SIG_CSR_ERR_BAD_SIGNATURE = 4,   /* the signature does not verify with the request's key */
    SIG_CSR_ERR_MISMATCH = 5,        /* the encoded request is not what was prepared (a bug) */
    SIG_CSR_ERR_STATE = 6,           /* finish called twice, or on a failed request */
    SIG_CSR_ERR_NOMEM = 7,
    SIG_CSR_ERR_INTERNAL = 8, /* another OpenSSL failure */
};

const char *sig_csr_strerror(enum sig_csr_err err);

enum sig_csr_id_kind {
    SIG_CSR_ID_CCCD = 1, /* a person: citizen identity card, 12 digits */
    SIG_CSR_ID_MST = 2,  /* an organisation: tax code (mã số thuế) */
};

/*
 * What the certificate should say.  Every string is UTF-8 and NUL-terminated;
 * the pointers are only read during sig_csr_prepare.
 */
struct sig_csr_subject {
    const char *province;              /* ST, required */
    const char *locality;              /* L, optional: NULL or "" leaves it out */
    const char *organisation;          /* O, required */
    const char *units[SIG_CSR_MAX_OU]; /* OU, the first n_units are used, in order */
    size_t n_units;                    /* 0..SIG_CSR_MAX_OU */
    const char *common_name;           /* CN, required */
    enum sig_csr_id_kind id_kind;
    const char *id_number; /* digits only (MST may have "-NNN"); becomes UID=CCCD:... or MST:... */
    const char *email;     /* subjectAltName rfc822Name; optional (NULL or "") */
};

struct sig_csr;

/*
 * Build the request info for `subj` and the key in `spki_der` (a DER
 * SubjectPublicKeyInfo, as GENKEY returns it, nothing trailing).  On success
 * *out owns a new request (free with sig_csr_free) and `digest` holds the
 * SHA-256 for the SIM to sign.  why (may be NULL) gets a one-line reason on
 * failure; it names the field but never repeats the ID number.
 */
enum sig_csr_err sig_csr_prepare(const struct sig_csr_subject *subj, const uint8_t *spki_der, size_t spki_len,
                                 struct sig_csr **out, uint8_t digest[SIG_CSR_DIGEST_LEN], char *why, size_t whylen)
    __attribute__((warn_unused_result));

/*
 * Attach the SIM's signature and check the result (see the top of this file).
 * On success *der is a new buffer holding the DER CertificationRequest, to be
 * freed by the caller with OPENSSL_free, and *der_len its length.  On failure
 * *der is NULL, and the request is spent: any later finish returns
 * SIG_CSR_ERR_STATE (ask the SIM again with a fresh prepare).
 */
enum sig_csr_err sig_csr_finish(struct sig_csr *csr, const uint8_t *sig, size_t sig_len, uint8_t **der, size_t *der_len,
                                char *why, size_t whylen) __attribute__((warn_unused_result));

/* "RSA-2048", "EC-P256": what prepare found in the SPKI. */
const char *sig_csr_key_type(const struct sig_csr *csr);

/* sig_csr_free(NULL) does nothing. */
void sig_csr_free(struct sig_csr *csr);

#endif /* SIMPKI_SIG_CSR_H */
