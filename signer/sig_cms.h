/*
 * sig_cms.h - CMS / CAdES-B-B and B-T signatures whose private-key operation
 * happens on a SIM.
 *
 * The e-office system sends only the digest of its document; the SIM signs
 * only a digest.  So a CMS signature is made in two phases:
 *
 *   1. sig_cms_prepare(): checks the certificate path at the signing time,
 *      then builds the SignerInfo's signed attributes (RFC 5652 5.3, ETSI EN
 *      319 122-1 B-B):
 *          contentType          id-data
 *          signingTime          `signing_time` (UTCTime)
 *          messageDigest        the document digest as given
 *          signingCertificateV2 ESS (RFC 5035), hash of the signer's certificate
 *                               with issuerSerial
 *      sig_cms_tbs_digest() is what goes to the SIM (the digest, with the
 *      signature's digest algorithm, of the DER SET OF those attributes), and
 *      it is what the verification code must be computed from.
 *   2. sig_cms_finish(): verifies the SIM's signature over that digest with
 *      the certificate's key (sig.h rules: PKCS#1 v1.5 over DigestInfo, or DER
 *      ECDSA), optionally verifies and embeds an RFC 3161 timestamp token over
 *      the signature value as the unsigned attribute
 *      id-aa-signatureTimeStampToken (CAdES-B-T), and returns a detached
 *      SignedData (ContentInfo, DER) with the signer's certificate and the
 *      intermediates of its validated path (not the trust anchor).
 *
 * The result verifies with `openssl cms -verify -binary -content DOC -inform
 * DER -CAfile ROOTS` when the digest given was the document's.
 *
 * prepare is deterministic: the same certificate, trust, digest, algorithm
 * and signing time give the same attributes byte for byte.  A gateway
 * instance that receives the SIM's answer for a transaction another instance
 * created can therefore prepare again from what the transaction stores
 * (certificate, digest, algorithm, signing time) and finish.
 *
 * All OpenSSL built; no DER is written by hand.  Errors are enum sig_err; why
 * (may be NULL) receives one line fit for logs.
 */
#ifndef SIMPKI_SIG_CMS_H
#define SIMPKI_SIG_CMS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sig.h"

struct sig_cms;
struct sig_tsa;

/*
 * digest_alg (digest.h) is the
 * document digest's algorithm, also used for the signed attributes and the
 * ESS certificate hash.  The certificate is checked (sig_check_cert's rules
 * with t's profile) at signing_time; a refusal here means nothing is sent to
 * the SIM.  On success *out owns a new object: sig_cms_free().
 */
enum sig_err sig_cms_prepare(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, enum dg_alg digest_alg,
                             const uint8_t *doc_digest, size_t doc_digest_len, time_t signing_time,
                             struct sig_cms **out, char *why, size_t whylen) __attribute__((warn_unused_result));

/* The DER SET OF signed attributes (what the signature covers).  Borrowed from p. */
const uint8_t *sig_cms_signed_attrs(const struct sig_cms *p, size_t *len);

/* Digest of sig_cms_signed_attrs(): what the SIM signs.  Borrowed from p. */
const uint8_t *sig_cms_tbs_digest(const struct sig_cms *p, size_t *len);

/*
 * Assemble the SignedData.  sig is the SIM's answer over sig_cms_tbs_digest()
 * (SIG_ERR_BAD_SIGNATURE / SIG_ERR_MALFORMED when it does not verify).  tst
 * (may be NULL) is an RFC 3161 TimeStampToken (DER ContentInfo) over the
 * SHA-256 of sig, checked with tsa (sig_tsa_check_token) before it is
 * embedded; a token without a tsa to check it is refused (SIG_ERR_UNTRUSTED).
 * *der receives malloc'd DER (free()).  Call at most once per p.
 */
enum sig_err sig_cms_finish(struct sig_cms *p, const uint8_t *sig, size_t sig_len, const struct sig_tsa *tsa,
                            const uint8_t *tst, size_t tst_len, uint8_t **der, size_t *der_len, char *why,
                            size_t whylen) __attribute__((warn_unused_result));

/*
 * Verify a CMS SignedData made elsewhere (an ETSI TS 102 204 mobile signature
 * service answers so) over the transaction's `digest` (algorithm digest_alg)
 * against `cert`, the certificate registered for the subscriber (DER), and
 * check that certificate's path at `at` (sig_check_cert's rules).  The
 * SignedData must
 *   - be one DER ContentInfo of type signedData filling cms_der exactly
 *     (else SIG_ERR_MALFORMED), detached or with empty content (content is a
 *     document we did not ask to sign: SIG_ERR_MALFORMED);
 *   - have exactly one SignerInfo (SIG_ERR_MALFORMED);
 *   - name the registered certificate as its signer, and any embedded
 *     certificate that the signer identifier matches must be that very
 *     certificate (else SIG_ERR_CERT_MISMATCH); without one, the registered
 *     certificate is used;
 *   - use digest_alg as its digest algorithm, and carry signed attributes
 *     whose messageDigest equals `digest` (else SIG_ERR_DIGEST_MISMATCH;
 *     no signed attributes or no messageDigest: SIG_ERR_MALFORMED);
 *   - have a signature over those attributes that verifies with the
 *     registered certificate's key (SIG_ERR_BAD_SIGNATURE).
 * Nothing is allocated for the caller.  OpenSSL's CMS API parses; no ASN.1
 * is read by hand.
 */
enum sig_err sig_verify_cms(const struct sig_trust *t, const uint8_t *cert, size_t cert_len, enum dg_alg digest_alg,
                            const uint8_t *digest, size_t digest_len, const uint8_t *cms_der, size_t cms_len, time_t at,
                            char *why, size_t whylen) __attribute__((warn_unused_result));

/* sig_cms_free(NULL) does nothing. */
void sig_cms_free(struct sig_cms *p);

#endif /* SIMPKI_SIG_CMS_H */
