/*
 * test_route.c - number normalisation and prefix routing, as a table: one
 * row per accepted form or prefix rule, one per kind of junk.
 */
#include "car_route.h"

#include <string.h>

#include "check.h"

struct row {
    const char *in;
    const char *norm; /* NULL: must be refused as malformed */
    enum car_net net;
};

static const struct row rows[] = {
    /* Normalisation forms. */
    {"0912345678", "84912345678", CAR_NET_VINAPHONE},
    {"84912345678", "84912345678", CAR_NET_VINAPHONE},
    {"+84912345678", "84912345678", CAR_NET_VINAPHONE},
    {"0084912345678", "84912345678", CAR_NET_VINAPHONE},
    {"+84 91 234 5678", "84912345678", CAR_NET_VINAPHONE},
    {"091.234.5678", "84912345678", CAR_NET_VINAPHONE},
    {"0912-345-678", "84912345678", CAR_NET_VINAPHONE},
    {"0084 912 345 678", "84912345678", CAR_NET_VINAPHONE},
    /* Viettel: 086, 096, 097, 098, 032-039. */
    {"0861234567", "84861234567", CAR_NET_VIETTEL},
    {"0961234567", "84961234567", CAR_NET_VIETTEL},
    {"0971234567", "84971234567", CAR_NET_VIETTEL},
    {"0981234567", "84981234567", CAR_NET_VIETTEL},
    {"0321234567", "84321234567", CAR_NET_VIETTEL},
    {"0331234567", "84331234567", CAR_NET_VIETTEL},
    {"0341234567", "84341234567", CAR_NET_VIETTEL},
    {"0351234567", "84351234567", CAR_NET_VIETTEL},
    {"0361234567", "84361234567", CAR_NET_VIETTEL},
    {"0371234567", "84371234567", CAR_NET_VIETTEL},
    {"0381234567", "84381234567", CAR_NET_VIETTEL},
    {"0391234567", "84391234567", CAR_NET_VIETTEL},
    /* Vinaphone: 088, 091, 094, 081-085. */
    {"0881234567", "84881234567", CAR_NET_VINAPHONE},
    {"0911234567", "84911234567", CAR_NET_VINAPHONE},
    {"0941234567", "84941234567", CAR_NET_VINAPHONE},
    {"0811234567", "84811234567", CAR_NET_VINAPHONE},
    {"0821234567", "84821234567", CAR_NET_VINAPHONE},
    {"0831234567", "84831234567", CAR_NET_VINAPHONE},
    {"0841234567", "84841234567", CAR_NET_VINAPHONE},
    {"0851234567", "84851234567", CAR_NET_VINAPHONE},
    /* Mobifone: 089, 090, 093, 070, 076-079. */
    {"0891234567", "84891234567", CAR_NET_MOBIFONE},
    {"0901234567", "84901234567", CAR_NET_MOBIFONE},
    {"0931234567", "84931234567", CAR_NET_MOBIFONE},
    {"0701234567", "84701234567", CAR_NET_MOBIFONE},
    {"0761234567", "84761234567", CAR_NET_MOBIFONE},
    {"0771234567", "84771234567", CAR_NET_MOBIFONE},
    {"0781234567", "84781234567", CAR_NET_MOBIFONE},
    {"0791234567", "84791234567", CAR_NET_MOBIFONE},
    /* Other networks: valid numbers, no default route. */
    {"0521234567", "84521234567", CAR_NET_NONE},
    {"0561234567", "84561234567", CAR_NET_NONE},
    {"0581234567", "84581234567", CAR_NET_NONE},
    {"0591234567", "84591234567", CAR_NET_NONE},
    {"0991234567", "84991234567", CAR_NET_NONE},
    /* The 2018 conversion of 11-digit numbers. */
    {"01621234567", "84321234567", CAR_NET_VIETTEL},
    {"01651234567", "84351234567", CAR_NET_VIETTEL},
    {"01681234567", "84381234567", CAR_NET_VIETTEL},
    {"01691234567", "84391234567", CAR_NET_VIETTEL},
    {"01231234567", "84831234567", CAR_NET_VINAPHONE},
    {"01241234567", "84841234567", CAR_NET_VINAPHONE},
    {"01251234567", "84851234567", CAR_NET_VINAPHONE},
    {"01271234567", "84811234567", CAR_NET_VINAPHONE},
    {"01291234567", "84821234567", CAR_NET_VINAPHONE},
    {"01201234567", "84701234567", CAR_NET_MOBIFONE},
    {"01211234567", "84791234567", CAR_NET_MOBIFONE},
    {"01221234567", "84771234567", CAR_NET_MOBIFONE},
    {"01261234567", "84761234567", CAR_NET_MOBIFONE},
    {"01281234567", "84781234567", CAR_NET_MOBIFONE},
    {"01861234567", "84561234567", CAR_NET_NONE},
    {"01881234567", "84581234567", CAR_NET_NONE},
    {"01991234567", "84591234567", CAR_NET_NONE},
    {"+84 168 123 4567", "84381234567", CAR_NET_VIETTEL},
    {"841681234567", "84381234567", CAR_NET_VIETTEL},
    /* Junk and landlines. */
    {"", NULL, CAR_NET_NONE},
    {"abc", NULL, CAR_NET_NONE},
    {"+1 202 555 0143", NULL, CAR_NET_NONE},
    {"0012025550143", NULL, CAR_NET_NONE},
    {"09123456", NULL, CAR_NET_NONE},     /* 8 digits */
    {"091234567890", NULL, CAR_NET_NONE}, /* 12 digits */
    {"02438251234", NULL, CAR_NET_NONE},  /* Ha Noi landline */
    {"0112345678", NULL, CAR_NET_NONE},   /* 01 + 8 digits */
    {"01301234567", NULL, CAR_NET_NONE},  /* 11 digits, unmapped old prefix */
    {"0912 345 678x", NULL, CAR_NET_NONE},
    {"0912--345678", NULL, CAR_NET_NONE},
    {"0912345678.", NULL, CAR_NET_NONE},
    {"++84912345678", NULL, CAR_NET_NONE},
    {"912345678", NULL, CAR_NET_NONE},
    {"0612345678", NULL, CAR_NET_NONE},
    {"0912345678901234567890123", NULL, CAR_NET_NONE},
};

static void check_row(const struct row *r)
{
    char out[CAR_MSISDN_LEN];
    char why[96];
    enum car_err rc = car_msisdn_normalise(r->in, out, why, sizeof why);

    if (r->norm) {
        CHECK_EQ_INT(rc, CAR_OK);
        CHECK_EQ_STR(out, r->norm);
        CHECK_EQ_INT(car_route_prefix(out), r->net);
        if (rc != CAR_OK)
            fprintf(stderr, "  input \"%s\": %s\n", r->in, why);
    } else {
        CHECK_EQ_INT(rc, CAR_ERR_MALFORMED);
        CHECK(why[0] != '\0');
        if (rc == CAR_OK)
            fprintf(stderr, "  input \"%s\" accepted as %s\n", r->in, out);
    }
}

int main(void)
{
    char out[CAR_MSISDN_LEN];

    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        check_row(&rows[i]);

    /* NULL arguments and a NULL why are tolerated. */
    CHECK_EQ_INT(car_msisdn_normalise(NULL, out, NULL, 0), CAR_ERR_INVALID);
    CHECK_EQ_INT(car_msisdn_normalise("0912345678", out, NULL, 0), CAR_OK);
    CHECK_EQ_INT(car_msisdn_normalise("abc", out, NULL, 0), CAR_ERR_MALFORMED);

    /* Routing refuses what is not normalised. */
    CHECK_EQ_INT(car_route_prefix("0912345678"), CAR_NET_NONE);
    CHECK_EQ_INT(car_route_prefix("849123456789"), CAR_NET_NONE);
    CHECK_EQ_INT(car_route_prefix(NULL), CAR_NET_NONE);

    CHECK_EQ_STR(car_net_name(CAR_NET_VIETTEL), "viettel");
    CHECK_EQ_STR(car_net_name(CAR_NET_VINAPHONE), "vinaphone");
    CHECK_EQ_STR(car_net_name(CAR_NET_MOBIFONE), "mobifone");
    CHECK_EQ_STR(car_net_name(CAR_NET_NONE), "none");
    CHECK_EQ_INT(car_net_parse("VinaPhone"), CAR_NET_VINAPHONE);
    CHECK_EQ_INT(car_net_parse("viettel"), CAR_NET_VIETTEL);
    CHECK_EQ_INT(car_net_parse("MOBIFONE"), CAR_NET_MOBIFONE);
    CHECK_EQ_INT(car_net_parse("gmobile"), CAR_NET_NONE);
    CHECK_EQ_INT(car_net_parse(NULL), CAR_NET_NONE);

    CHECK_EQ_STR(car_strerror(CAR_ERR_AUTH), "authentication failed");
    CHECK_EQ_STR(car_strerror((enum car_err)99), "unknown error");
    return check_report("test_route");
}
