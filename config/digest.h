/*
 * digest.h - the gateway's digest algorithms, as the model knows them.
 *
 * One enum carried from the API through Redis to the signer and the
 * transports.  The numeric values are stored in Redis transaction records
 * (field "alg"), so they are stable: they were the SPKA/1 wire codes when
 * the field was first written, and records written before this enum existed
 * stay readable.  A transport maps the enum to its own code (car_spka.c for
 * SPKA/1); nothing else may assume the values equal any wire code.
 */
#ifndef SIMPKI_DIGEST_H
#define SIMPKI_DIGEST_H

#include <stddef.h>

enum dg_alg {
    DG_NONE = 0, /* unknown / not set */
    DG_SHA256 = 1,
    DG_SHA384 = 2,
    DG_SHA512 = 3,
};

/* Output length in octets; 0 for DG_NONE or an unknown value. */
size_t dg_len(enum dg_alg alg);
/* API name ("SHA-256", the JSON API's digest_alg); NULL for an unknown value. */
const char *dg_name(enum dg_alg alg);
/* OpenSSL's name ("SHA256"), for EVP_get_digestbyname / EVP_MD_fetch; NULL when unknown. */
const char *dg_openssl_name(enum dg_alg alg);
/* The enum for an API name (case-sensitive "SHA-256", "SHA-384", "SHA-512"); DG_NONE when unknown. */
enum dg_alg dg_from_name(const char *name);
/* The enum for a stored number (Redis "alg"); DG_NONE when out of range. */
enum dg_alg dg_from_int(long v);

/*
 * The DER DigestInfo (RFC 8017 §9.2) of a digest: what an RSA PKCS#1 v1.5
 * signature signs, and what ETSI TS 102 204's DataToBeSigned carries.
 * Written to out (cap octets); its length, or 0 when alg is unknown, len is
 * not alg's length, or cap is too small.  DigestInfo is at most 83 octets.
 */
#define DG_DIGESTINFO_MAX 96
size_t dg_digestinfo(enum dg_alg alg, const unsigned char *digest, size_t len, unsigned char *out, size_t cap);

/*
 * The other way: what a DER DigestInfo (an ETSI TS 102 204 DataToBeSigned
 * of MimeType application/x-sha256-digestinfo and the like) holds.  Only the
 * canonical encoding dg_digestinfo writes is taken (AlgorithmIdentifier with
 * parameters NULL, definite lengths, nothing after it), of SHA-256, SHA-384
 * or SHA-512: the SIM signs that encoding, so any other would give a
 * signature over octets the client did not send.
 *   0   *alg and *digest / *dlen (pointing into der) are set
 *  -1   not a DigestInfo of an algorithm we know: another or no OID,
 *       parameters absent or not NULL, not DER at all, empty (ETSI 101
 *       WRONG_PARAM)
 *  -2   it starts with a known algorithm's AlgorithmIdentifier but the
 *       digest is not that algorithm's length, is cut short, or octets
 *       follow it (ETSI 103 WRONG_DATA_LENGTH); *alg is set
 * The outputs are untouched on -1; *digest and *dlen on -2 too.
 */
int dg_digestinfo_parse(const unsigned char *der, size_t len, enum dg_alg *alg, const unsigned char **digest,
                        size_t *dlen) __attribute__((warn_unused_result));

#endif /* SIMPKI_DIGEST_H */
