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
