/*
 * car_route.h - subscriber numbers: normalisation and the carrier a number
 * belongs to by the post-2018 Vietnamese prefix plan.
 *
 * Numbers are normalised to international form without '+': 84 followed by a
 * 9-digit national significant number (84912345678).  Accepted input:
 * 0912345678, 84912345678, +84912345678, with spaces, dots or dashes between
 * digits.  Old 11-digit numbers (01xx...) are converted by the 2018 map
 * (e.g. 0168 -> 038).
 *
 * Prefix routing is only the default: the registry may override the carrier
 * for a subscriber (ported numbers), which the gateway checks first.
 */
#ifndef SIMPKI_CAR_ROUTE_H
#define SIMPKI_CAR_ROUTE_H

#include <stddef.h>

#include "car.h"

enum car_net { CAR_NET_NONE = 0, CAR_NET_VIETTEL = 1, CAR_NET_VINAPHONE = 2, CAR_NET_MOBIFONE = 3 };

#define CAR_MSISDN_LEN 12 /* "84" + 9 digits + NUL */

/*
 * Normalise `in` into out.  CAR_ERR_MALFORMED for anything that is not a
 * Vietnamese mobile number (wrong length, letters, a landline); `why`
 * (may be NULL) receives a short reason for the API error message.
 */
enum car_err car_msisdn_normalise(const char *in, char out[CAR_MSISDN_LEN], char *why, size_t whylen)
    __attribute__((warn_unused_result));

/* The network of a normalised number by prefix; CAR_NET_NONE for others. */
enum car_net car_route_prefix(const char *msisdn);

/* "viettel", "vinaphone", "mobifone"; "none" for CAR_NET_NONE. */
const char *car_net_name(enum car_net net);
/* Case-insensitive inverse of car_net_name; CAR_NET_NONE when unknown. */
enum car_net car_net_parse(const char *name);

#endif /* SIMPKI_CAR_ROUTE_H */
