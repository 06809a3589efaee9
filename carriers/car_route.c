/*
 * car_route.c - Vietnamese mobile numbers: normalisation to 84XXXXXXXXX and
 * the default carrier by prefix (the post-2018 numbering plan).
 *
 * Numbers arrive from API clients typed by people, so separators are
 * tolerated; anything that does not end up as 84 + a 9-digit mobile NSN is
 * refused with a reason, because a wrong number here means an SMS to a
 * stranger.
 */
#include "car_route.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define DIGITS_MAX 20 /* longer input is junk whatever it holds */
#define NSN_LEN    9  /* national significant number of a mobile */

/* The 2018 conversion of 11-digit numbers: old 3-digit NSN prefix -> new 2-digit. */
static const struct {
    char old_prefix[4];
    char new_prefix[3];
} old_map[] = {
    /* Viettel */
    {"162", "32"},
    {"163", "33"},
    {"164", "34"},
    {"165", "35"},
    {"166", "36"},
    {"167", "37"},
    {"168", "38"},
    {"169", "39"},
    /* Vinaphone */
    {"123", "83"},
    {"124", "84"},
    {"125", "85"},
    {"127", "81"},
    {"129", "82"},
    /* Mobifone */
    {"120", "70"},
    {"121", "79"},
    {"122", "77"},
    {"126", "76"},
    {"128", "78"},
    /* Vietnamobile */
    {"186", "56"},
    {"188", "58"},
    /* Gmobile */
    {"199", "59"},
};

/* Default network by the first two digits of the NSN. */
static const struct {
    char prefix[3];
    enum car_net net;
} prefix_map[] = {
    {"86", CAR_NET_VIETTEL},   {"96", CAR_NET_VIETTEL},   {"97", CAR_NET_VIETTEL},   {"98", CAR_NET_VIETTEL},
    {"32", CAR_NET_VIETTEL},   {"33", CAR_NET_VIETTEL},   {"34", CAR_NET_VIETTEL},   {"35", CAR_NET_VIETTEL},
    {"36", CAR_NET_VIETTEL},   {"37", CAR_NET_VIETTEL},   {"38", CAR_NET_VIETTEL},   {"39", CAR_NET_VIETTEL},
    {"88", CAR_NET_VINAPHONE}, {"91", CAR_NET_VINAPHONE}, {"94", CAR_NET_VINAPHONE}, {"81", CAR_NET_VINAPHONE},
    {"82", CAR_NET_VINAPHONE}, {"83", CAR_NET_VINAPHONE}, {"84", CAR_NET_VINAPHONE}, {"85", CAR_NET_VINAPHONE},
    {"89", CAR_NET_MOBIFONE},  {"90", CAR_NET_MOBIFONE},  {"93", CAR_NET_MOBIFONE},  {"70", CAR_NET_MOBIFONE},
    {"76", CAR_NET_MOBIFONE},  {"77", CAR_NET_MOBIFONE},  {"78", CAR_NET_MOBIFONE},  {"79", CAR_NET_MOBIFONE},
};

static void set_why(char *why, size_t whylen, const char *msg)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", msg);
}

static int is_sep(char c)
{
    return c == ' ' || c == '.' || c == '-';
}

/*
 * Keep the digits of `in`, allowing one leading '+' and separators only
 * between digits (so "--" or a trailing dot is refused as junk).
 */
static enum car_err collect_digits(const char *in, char *digits, int *plus, const char **why)
{
    size_t n = 0;
    const char *p = in;

    *plus = 0;
    if (*p == '+') {
        *plus = 1;
        p++;
    }
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n == DIGITS_MAX) {
                *why = "too many digits";
                return CAR_ERR_MALFORMED;
            }
            digits[n++] = *p;
        } else if (is_sep(*p) && n > 0 && p[1] >= '0' && p[1] <= '9') {
            continue;
        } else {
            *why = "only digits, '+', spaces, dots and dashes are allowed";
            return CAR_ERR_MALFORMED;
        }
    }
    digits[n] = '\0';
    if (n == 0) {
        *why = "no digits";
        return CAR_ERR_MALFORMED;
    }
    return CAR_OK;
}

/* Strip the country or trunk prefix: what remains is the NSN. */
static const char *national_part(const char *digits, int plus, const char **why)
{
    if (plus) {
        if (strncmp(digits, "84", 2) != 0) {
            *why = "not a Vietnamese number";
            return NULL;
        }
        return digits + 2;
    }
    if (strncmp(digits, "0084", 4) == 0)
        return digits + 4;
    if (strncmp(digits, "00", 2) == 0) {
        *why = "not a Vietnamese number";
        return NULL;
    }
    if (digits[0] == '0')
        return digits + 1;
    if (strncmp(digits, "84", 2) == 0)
        return digits + 2;
    *why = "a national number starts with 0, an international one with 84";
    return NULL;
}

/* Convert a 10-digit old NSN (1xx + 7 digits) in place to the 9-digit plan. */
static enum car_err convert_old(char *nsn, const char **why)
{
    for (size_t i = 0; i < sizeof old_map / sizeof old_map[0]; i++) {
        if (strncmp(nsn, old_map[i].old_prefix, 3) == 0) {
            nsn[0] = old_map[i].new_prefix[0];
            nsn[1] = old_map[i].new_prefix[1];
            memmove(nsn + 2, nsn + 3, strlen(nsn + 3) + 1);
            return CAR_OK;
        }
    }
    *why = "old 11-digit prefix is not in the 2018 conversion";
    return CAR_ERR_MALFORMED;
}

static enum car_err check_mobile(const char *nsn, const char **why)
{
    if (nsn[0] == '2') {
        *why = "a landline number, not a mobile";
        return CAR_ERR_MALFORMED;
    }
    /* Mobile blocks of the 2018 plan are 03x, 05x, 07x, 08x and 09x. */
    if (!strchr("35789", nsn[0])) {
        *why = "not a Vietnamese mobile prefix";
        return CAR_ERR_MALFORMED;
    }
    return CAR_OK;
}

enum car_err car_msisdn_normalise(const char *in, char out[CAR_MSISDN_LEN], char *why, size_t whylen)
{
    char digits[DIGITS_MAX + 1];
    char nsn[DIGITS_MAX + 1];
    const char *reason = NULL;
    const char *national;
    int plus;
    enum car_err rc;

    if (!in || !out) {
        set_why(why, whylen, "no number");
        return CAR_ERR_INVALID;
    }
    out[0] = '\0';
    rc = collect_digits(in, digits, &plus, &reason);
    if (rc != CAR_OK)
        goto out;
    national = national_part(digits, plus, &reason);
    if (!national) {
        rc = CAR_ERR_MALFORMED;
        goto out;
    }
    snprintf(nsn, sizeof nsn, "%s", national);
    if (strlen(nsn) == NSN_LEN + 1 && nsn[0] == '1') {
        rc = convert_old(nsn, &reason);
        if (rc != CAR_OK)
            goto out;
    }
    if (strlen(nsn) != NSN_LEN) {
        reason = "a mobile number has 10 digits (0 + 9)";
        rc = CAR_ERR_MALFORMED;
        goto out;
    }
    rc = check_mobile(nsn, &reason);
    if (rc != CAR_OK)
        goto out;
    out[0] = '8';
    out[1] = '4';
    memcpy(out + 2, nsn, NSN_LEN + 1);
out:
    if (rc != CAR_OK)
        set_why(why, whylen, reason ? reason : car_strerror(rc));
    else
        set_why(why, whylen, "");
    return rc;
}

enum car_net car_route_prefix(const char *msisdn)
{
    if (!msisdn || strlen(msisdn) != CAR_MSISDN_LEN - 1 || strncmp(msisdn, "84", 2) != 0)
        return CAR_NET_NONE;
    for (size_t i = 0; i < sizeof prefix_map / sizeof prefix_map[0]; i++) {
        if (strncmp(msisdn + 2, prefix_map[i].prefix, 2) == 0)
            return prefix_map[i].net;
    }
    return CAR_NET_NONE;
}

const char *car_net_name(enum car_net net)
{
    switch (net) {
    case CAR_NET_VIETTEL: return "viettel";
    case CAR_NET_VINAPHONE: return "vinaphone";
    case CAR_NET_MOBIFONE: return "mobifone";
    case CAR_NET_NONE: break;
    }
    return "none";
}

enum car_net car_net_parse(const char *name)
{
    static const enum car_net nets[] = {CAR_NET_VIETTEL, CAR_NET_VINAPHONE, CAR_NET_MOBIFONE};

    if (!name)
        return CAR_NET_NONE;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
        if (strcasecmp(name, car_net_name(nets[i])) == 0)
            return nets[i];
    }
    return CAR_NET_NONE;
}
