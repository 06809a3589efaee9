/*
 * fuzz_csr.c - sig_csr_prepare() with the input as the SIM's
 * SubjectPublicKeyInfo (DER) and a fixed subject.  Whatever the octets: no
 * crash or leak, `why` is a terminated line, and a prepared request cannot be
 * finished with a signature the key did not make (the input's own octets),
 * leaves nothing in *der when refused, and refuses a second finish.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sig_csr.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct sig_csr_subject subj = {
        .province = "Bắc Ninh",
        .locality = "Thành phố Bắc Ninh",
        .organisation = "UBND tỉnh Bắc Ninh",
        .units = {"Sở Nội vụ", "Văn phòng"},
        .n_units = 2,
        .common_name = "NGUYỄN THỊ HỒNG NHUNG",
        .id_kind = SIG_CSR_ID_CCCD,
        .id_number = "027186004512",
        .email = "nhungnth@bacninh.gov.vn",
    };
    uint8_t digest[SIG_CSR_DIGEST_LEN];
    uint8_t *der = (uint8_t *)&der; /* anything but NULL: finish must clear it */
    size_t der_len = 0;
    struct sig_csr *csr = NULL;
    char why[256];
    enum sig_csr_err rc;
    const char *kt;

    memset(why, 'x', sizeof why);
    rc = sig_csr_prepare(&subj, data ? data : (const uint8_t *)"", size, &csr, digest, why, sizeof why);
    REQUIRE(sig_csr_strerror(rc) != NULL);
    if (rc != SIG_CSR_OK) {
        REQUIRE(memchr(why, '\0', sizeof why) != NULL);
        REQUIRE(rc == SIG_CSR_ERR_MALFORMED || rc == SIG_CSR_ERR_UNSUPPORTED_KEY || rc == SIG_CSR_ERR_NOMEM ||
                rc == SIG_CSR_ERR_INTERNAL);
        sig_csr_free(csr);
        return 0;
    }
    REQUIRE(csr != NULL);
    kt = sig_csr_key_type(csr);
    REQUIRE(kt && (strncmp(kt, "RSA-", 4) == 0 || strcmp(kt, "EC-P256") == 0));
    /* The SIM "answers" with the input itself: never a valid signature over this digest. */
    rc = sig_csr_finish(csr, data, size < 512 ? size : 512, &der, &der_len, why, sizeof why);
    REQUIRE(rc == SIG_CSR_ERR_BAD_SIGNATURE || rc == SIG_CSR_ERR_MALFORMED);
    REQUIRE(der == NULL);
    REQUIRE(memchr(why, '\0', sizeof why) != NULL);
    der = (uint8_t *)&der;
    rc = sig_csr_finish(csr, digest, sizeof digest, &der, &der_len, why, sizeof why);
    REQUIRE(rc == SIG_CSR_ERR_STATE && der == NULL);
    sig_csr_free(csr);
    return 0;
}
