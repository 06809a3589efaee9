/*
 * car.c - the carriers library's error strings.
 *
 * The strings go into API error details and logs, so they are short, stable
 * and never carry data (a number, a key) from the failing call.
 * Also the table of transports by name.
 */
#include "car.h"

#include <string.h>

/* One line per transport: what a link's "transport" names (car_ops.name). */
static const struct car_ops *const transports[] = {
    &car_smpp_ops,
    &car_etsi_ops,
};

const struct car_ops *car_transport_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof transports / sizeof transports[0]; i++)
        if (strcmp(transports[i]->name, name) == 0)
            return transports[i];
    return NULL;
}

const char *car_strerror(enum car_err err)
{
    switch (err) {
    case CAR_OK: return "ok";
    case CAR_ERR_AGAIN: return "try again later";
    case CAR_ERR_MALFORMED: return "malformed input";
    case CAR_ERR_TOO_LONG: return "too long";
    case CAR_ERR_AUTH: return "authentication failed";
    case CAR_ERR_UNSUPPORTED: return "unsupported";
    case CAR_ERR_NOMEM: return "out of memory";
    case CAR_ERR_IO: return "i/o error";
    case CAR_ERR_PERMANENT: return "refused permanently";
    case CAR_ERR_TIMEOUT: return "timed out";
    case CAR_ERR_INVALID: return "invalid argument";
    case CAR_ERR_NOT_FOUND: return "not found";
    }
    /* Not a default: label, so that -Wswitch flags a new enum value. */
    return "unknown error";
}

const char *car_outcome_name(enum car_outcome o)
{
    switch (o) {
    case CAR_OUT_OK: return "OK";
    case CAR_OUT_USER_CANCEL: return "USER_CANCEL";
    case CAR_OUT_EXPIRED: return "EXPIRED";
    case CAR_OUT_PIN_BLOCKED: return "PIN_BLOCKED";
    case CAR_OUT_CARD_BLOCKED: return "CARD_BLOCKED";
    case CAR_OUT_NO_KEY: return "NO_KEY";
    case CAR_OUT_KEY_EXISTS: return "KEY_EXISTS";
    case CAR_OUT_BAD_COMMAND: return "BAD_COMMAND";
    case CAR_OUT_UNSUPPORTED: return "UNSUPPORTED";
    case CAR_OUT_STORAGE_FULL: return "STORAGE_FULL";
    case CAR_OUT_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case CAR_OUT_NO_CERTIFICATE: return "NO_CERTIFICATE";
    case CAR_OUT_OTA_ERROR: return "OTA_ERROR";
    case CAR_OUT_COUNTER_LOW: return "COUNTER_LOW";
    case CAR_OUT_MORE_TIME: return "MORE_TIME";
    }
    return "?";
}
