/*
 * sig_cmp.h - the CA connector: CMP (RFC 4210 / RFC 9480) over HTTP with
 * OpenSSL's own client.
 *
 * Three operations, one CMP transaction each:
 *   - sig_cmp_enrol:  p10cr carrying the SIM-signed PKCS#10 (sig_csr.h) as
 *                     it is; the CA checks its self-signature itself;
 *   - sig_cmp_renew:  kur (key update request, RFC 4210 section 5.3.5) for a
 *                     renewal or a change of details, with the same key or a
 *                     new one: a CRMF template built from a new SIM-signed
 *                     PKCS#10, the replaced certificate named in its
 *                     oldCertID control, proof of possession raVerified (see
 *                     "Renewal as KUR" below);
 *   - sig_cmp_revoke: rr with an RFC 5280 reason code.
 *
 * An issued certificate is accepted only when
 *   - its public key is the request's public key (a CA that answers with a
 *     certificate for another key is refused: SIG_CMP_ERR_WRONG_KEY), and
 *   - sig_check_cert passes at the current time: it chains to the configured
 *     trust anchors, is within its validity and allows signing.
 * Both checks run in the certConf callback, so a refused certificate is
 * also refused *to the CA* (certConf with a failInfo) and the CA can revoke
 * it; nothing is handed back, so nothing gets installed on the SIM.
 *
 * Protection of our requests, from the configuration, exactly one of:
 *   - PBM (password-based MAC): a reference (senderKID) and a shared secret,
 *     as the CA hands them out per RA; the CA's answers are then checked with
 *     the same secret;
 *   - signature with an RA certificate and key; the CA's answers must then
 *     be signed by a pinned CMP server certificate or one that chains to
 *     configured CMP trust anchors.
 * Unprotected or wrongly protected answers are refused
 * (SIG_CMP_ERR_PROTECTION) -- also error answers: we never relax that.  One
 * exception in the code, not the policy: an answer signed by another sender
 * than the pinned srv_cert is refused as SIG_CMP_ERR_PROTOCOL with "does not
 * match expected sender" in why, because OpenSSL 3.0 only logs that case.
 *
 * Errors: every call starts by clearing the thread's OpenSSL error queue and
 * leaves it empty (OpenSSL's CMP client itself prints and clears the queue
 * before each transfer, so it cannot be preserved for the caller).  CMP
 * progress goes to log.h as "cmp" lines (debug; warnings as warn).
 *
 * BLOCKING.  OpenSSL's CMP client is synchronous: each call blocks the
 * calling thread for up to `timeout_s` seconds (the whole transaction,
 * including certConf and any polling the CA asks for).  Do not call it on
 * the event loop thread; run it on a worker thread.  A struct sig_cmp is
 * read-only after sig_cmp_new, and every call builds its own OSSL_CMP_CTX,
 * so one object may serve several worker threads at once.
 *
 * Plain HTTP only for now: CMP messages are protected end to end, so TLS
 * adds confidentiality of the subject data, not authenticity.  Run it on the
 * CA's private network (or through a TLS tunnel) until TLS is added.
 *
 * Renewal as KUR.  A KUR is a CRMF request, not a PKCS#10, so the SIM's
 * signature cannot travel in it; and RFC 4210 expects the end entity to sign
 * the proof of possession with the new key and protect the message with the
 * old one.  Both keys are on the SIM, minutes away behind an SMS and a PIN
 * prompt, and OpenSSL's client would want an EVP_PKEY to sign with while it
 * blocks.  So the gateway takes the part of the RA, as CMP provides:
 *   - proof of possession: the SIM signed the PKCS#10 over the very key and
 *     subject requested, and sig_cmp_renew checks that self-signature before
 *     anything is sent (a request that does not verify is
 *     SIG_CMP_ERR_MALFORMED).  Having verified it, the RA sends the CRMF
 *     request with POPO raVerified, the choice RFC 4211 section 4 and RFC
 *     4210 section 5.2.8 define for exactly this ("the RA has already
 *     verified that the requester is in possession of the private key");
 *   - protection: the RA's, as configured above (PBM or the RA certificate),
 *     not the old key's: RFC 9483 section 5 lets an RA protect requests it
 *     makes on behalf of end entities with its own credentials.  The CA
 *     authenticates the RA by that protection and must be configured to
 *     accept raVerified from it, and only from it: an RA's raVerified is a
 *     claim the CA cannot check, so it is only as good as the RA's key or
 *     PBM secret (the `openssl cmp` mock needs -accept_raverified);
 *   - the template: the request's public key (public part only), its subject
 *     (a change of details carries the new name) and its requested
 *     extensions (keyUsage, the e-mail subjectAltName) -- and nothing from the
 *     old certificate: OpenSSL would otherwise copy the old subjectAltName
 *     into a template without one, which we switch off;
 *   - the replaced certificate: OpenSSL puts CertId(issuer, serial) of it in
 *     the template's id-regCtrl-oldCertID control (RFC 4211 section 6.5),
 *     where a CA reads it for a kur; the template's issuer is the old
 *     certificate's issuer.  With PBM the header's sender is the old
 *     certificate's subject and the senderKID names the RA (OpenSSL's
 *     choice); with RA protection the sender is the RA.
 * The issued certificate goes through the same two checks as an enrolment's.
 */
#ifndef SIMPKI_SIG_CMP_H
#define SIMPKI_SIG_CMP_H

#include <stddef.h>
#include <stdint.h>

struct sig_trust;

enum sig_cmp_err {
    SIG_CMP_OK = 0,
    SIG_CMP_ERR_CONFIG = 1,     /* bad configuration: missing server, unreadable RA key, ... */
    SIG_CMP_ERR_CONNECT = 2,    /* the CA cannot be reached (refused, no route, HTTP error): try again */
    SIG_CMP_ERR_TIMEOUT = 3,    /* no complete answer within timeout_s: try again */
    SIG_CMP_ERR_PROTECTION = 4, /* an answer not protected as configured (wrong secret, unknown signer) */
    SIG_CMP_ERR_REJECTED = 5,   /* the CA refused the request; why has its PKIStatusInfo */
    SIG_CMP_ERR_WRONG_KEY = 6,  /* the issued certificate is for another public key */
    SIG_CMP_ERR_UNTRUSTED = 7,  /* the issued certificate fails sig_check_cert (why says how) */
    SIG_CMP_ERR_MALFORMED = 8,  /* our input (CSR, certificate) does not parse */
    SIG_CMP_ERR_PROTOCOL = 9,   /* any other CMP failure: unexpected message, nonce, ... */
    SIG_CMP_ERR_NOMEM = 10,
    /*
     * sig_cmp_revoke: the CA refused because the certificate is revoked
     * already (PKIFailureInfo certRevoked).  The state asked for holds: a
     * caller repeating a revocation whose answer it lost (a crash after the
     * CA revoked) takes it as done.
     */
    SIG_CMP_ERR_ALREADY_REVOKED = 11,
};

const char *sig_cmp_strerror(enum sig_cmp_err err);

/* 1 for the errors worth retrying later as they are (CONNECT, TIMEOUT). */
int sig_cmp_err_is_temporary(enum sig_cmp_err err);

/*
 * RFC 5280 CRLReason values a subscriber's revocation may carry.  The CA-only
 * ones (cACompromise 2, removeFromCRL 8, aACompromise 10) are refused by
 * sig_cmp_revoke with SIG_CMP_ERR_CONFIG.
 */
enum sig_cmp_reason {
    SIG_CMP_REASON_UNSPECIFIED = 0,
    SIG_CMP_REASON_KEY_COMPROMISE = 1,         /* the SIM was lost or the PIN disclosed */
    SIG_CMP_REASON_AFFILIATION_CHANGED = 3,    /* moved to another body, name or title changed */
    SIG_CMP_REASON_SUPERSEDED = 4,             /* replaced by a renewed certificate */
    SIG_CMP_REASON_CESSATION_OF_OPERATION = 5, /* left office; organisation dissolved */
    SIG_CMP_REASON_CERTIFICATE_HOLD = 6,       /* suspended */
    SIG_CMP_REASON_PRIVILEGE_WITHDRAWN = 9,
};

/* "keyCompromise", ... (RFC 5280 spelling); NULL for a value not in the enum. */
const char *sig_cmp_reason_name(enum sig_cmp_reason r);

/* The reverse, for configuration and API input: -1 when unknown. */
int sig_cmp_reason_parse(const char *name);

struct sig_cmp_config {
    const char *server; /* CA host name or IP address, required */
    int port;           /* 1..65535 */
    const char *path;   /* HTTP path of the CMP endpoint; NULL or "" means "/" */
    int timeout_s;      /* whole transaction, 1..600 */

    /* PBM protection: both, or neither. */
    const char *pbm_ref;       /* reference value (senderKID), not secret */
    const uint8_t *pbm_secret; /* copied by sig_cmp_new; the caller wipes its own copy */
    size_t pbm_secret_len;     /* 1..1024 */

    /* Or signature protection: both PEM files, or neither. */
    const char *ra_cert_pem;  /* the RA's certificate */
    const char *ra_key_pem;   /* its private key, unencrypted PEM (keep the file 0600) */
    const char *ra_chain_pem; /* optional: intermediates sent along in extraCerts */

    /*
     * Checking signed answers from the CA (required with RA protection,
     * optional with PBM where the CA answers with the same MAC):
     */
    const char *srv_cert_pem;  /* the CA's CMP signing certificate, pinned; or */
    const char *srv_trust_pem; /* trust anchors its CMP signing certificate chains to */
};

struct sig_cmp;

/*
 * Check the configuration and load its files.  `trust` is what issued
 * certificates are checked against; it is borrowed and must outlive the
 * connector.  On success *out owns a new connector.  why (may be NULL) gets
 * a one-line reason naming the setting; it never contains the secret.
 */
enum sig_cmp_err sig_cmp_new(const struct sig_cmp_config *cfg, const struct sig_trust *trust, struct sig_cmp **out,
                             char *why, size_t whylen) __attribute__((warn_unused_result));

/* Wipes the PBM secret and the RA key.  sig_cmp_free(NULL) does nothing. */
void sig_cmp_free(struct sig_cmp *c);

/*
 * Send the DER PKCS#10 `csr` (as sig_csr_finish made it) in a p10cr and
 * wait for the certificate.  On success *cert is a new buffer with the DER
 * certificate, freed by the caller with OPENSSL_free; on failure *cert is
 * NULL.  why (may be NULL) gets a one-line reason fit for an operator: the
 * CA's status text, the OpenSSL reason, or what our check found.
 */
enum sig_cmp_err sig_cmp_enrol(struct sig_cmp *c, const uint8_t *csr, size_t csr_len, uint8_t **cert, size_t *cert_len,
                               char *why, size_t whylen) __attribute__((warn_unused_result));

/*
 * Renewal or change of details: a kur replacing `old_cert` (DER), built from
 * the DER PKCS#10 `csr` (as sig_csr_finish made it; the same key as the old
 * certificate or a new one), as the top of this file describes.  Results,
 * ownership and why as for sig_cmp_enrol; SIG_CMP_ERR_MALFORMED, with
 * nothing sent, when `csr` does not parse or verify or `old_cert` does not
 * parse.  Revoking the old certificate, if the CA does not, is the caller's
 * next step (reason superseded).
 */
enum sig_cmp_err sig_cmp_renew(struct sig_cmp *c, const uint8_t *csr, size_t csr_len, const uint8_t *old_cert,
                               size_t old_len, uint8_t **cert, size_t *cert_len, char *why, size_t whylen)
    __attribute__((warn_unused_result));

/*
 * Ask the CA to revoke `cert` (DER) for `reason`.  SIG_CMP_OK when the CA
 * answers accepted (or grantedWithMods / revocationWarning /
 * revocationNotification).
 */
enum sig_cmp_err sig_cmp_revoke(struct sig_cmp *c, const uint8_t *cert, size_t cert_len, enum sig_cmp_reason reason,
                                char *why, size_t whylen) __attribute__((warn_unused_result));

#endif /* SIMPKI_SIG_CMP_H */
