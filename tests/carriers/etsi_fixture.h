/*
 * etsi_fixture.h - the signature request test_etsi_xml checks field by field
 * and etsi_tool writes for zeep (etsi_zeep.py expects these values): a
 * password and a display text that need escaping, non-ASCII text, every
 * optional part.
 */
#ifndef SIMPKI_TEST_ETSI_FIXTURE_H
#define SIMPKI_TEST_ETSI_FIXTURE_H

#include "car_etsi_xml.h"

static const struct etsi_ap etsi_fx_ap = {"http://simpki.example/ap", "p<&\"'>w", "http://hmssp.mobile-id.vn"};
/* A SHA-256 DigestInfo's header and 3 octets: base64 "MDEwDQYJYIZIAWUDBAIBBQAEIP/+/Q==". */
static const uint8_t etsi_fx_dtbs[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
                                       0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20, 0xff, 0xfe, 0xfd};

static inline struct etsi_sig_req etsi_fx_sig_req(void)
{
    struct etsi_sig_req r = {
        .h = {&etsi_fx_ap, "AP_1.a-b", 1796499600}, /* 2026-12-05T19:40:00Z */
        .msisdn = "84912345678",
        .dtbs = etsi_fx_dtbs,
        .dtbs_len = sizeof etsi_fx_dtbs,
        .display = "K\xc3\xbd h\xe1\xbb\x93 s\xc6\xa1 <12> & \"x\"",
        .mss_format = ETSI_NS_FMT_PKCS1,
        .profile = ETSI_PROFILE_VGCA,
        .timeout_s = 300,
        .mode = ETSI_MODE_SYNCH,
        .want_cert = 1,
        .want_validation = 1,
    };
    return r;
}

#endif
