/*
 * fuzz_enrol_json.c - the body of POST /v1/requests as the API takes it:
 * gw_http_parse_json() (what gw_http_body_json runs on the body), then
 * gw_enrol_validate() with a fixed today, as handle_create does.  Whatever
 * the input:
 *   - no crash or leak, nothing read past len (the buffer is exactly the
 *     input, not NUL-terminated);
 *   - a refused body has a reason; a parsed one is an object;
 *   - the verdict is valid, invalid or unknown form; valid exactly when no
 *     error was found; unknown form with a reason;
 *   - every finding is {"field", "error", "message"}, error and message
 *     non-empty strings;
 *   - a valid request, normalised in place, is a fixed point: validated
 *     again it is valid and unchanged (what is stored passes when re-filed).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gw_enrol_import.h"
#include "gw_http.h"

#define REQUIRE(x)   \
    do {             \
        if (!(x))    \
            abort(); \
    } while (0)

static const struct gw_date today = {2026, 3, 5};

static void findings_ok(json_t *list)
{
    size_t i;
    json_t *f;

    REQUIRE(json_is_array(list));
    json_array_foreach(list, i, f)
    {
        const char *e = json_string_value(json_object_get(f, "error"));
        const char *m = json_string_value(json_object_get(f, "message"));

        REQUIRE(json_is_object(f) && json_is_string(json_object_get(f, "field")));
        REQUIRE(e != NULL && e[0] != '\0' && m != NULL && m[0] != '\0');
    }
}

static enum gw_enrol_verdict validate(json_t *request)
{
    json_t *errors = json_array(), *warnings = json_array();
    char why[256];
    enum gw_enrol_verdict v;

    REQUIRE(errors != NULL && warnings != NULL);
    memset(why, 'x', sizeof why);
    v = gw_enrol_validate(request, &today, errors, warnings, why, sizeof why);
    REQUIRE(v == GW_ENROL_VALID || v == GW_ENROL_INVALID || v == GW_ENROL_UNKNOWN_FORM);
    findings_ok(errors);
    findings_ok(warnings);
    if (v == GW_ENROL_UNKNOWN_FORM)
        REQUIRE(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0');
    else
        REQUIRE((v == GW_ENROL_VALID) == (json_array_size(errors) == 0));
    json_decref(errors);
    json_decref(warnings);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1), why[256];
    json_t *request, *again;

    REQUIRE(copy != NULL);
    memcpy(copy, data, size);
    memset(why, 'x', sizeof why);
    request = gw_http_parse_json(copy, size, why, sizeof why);
    if (request == NULL) {
        REQUIRE(memchr(why, '\0', sizeof why) != NULL && why[0] != '\0');
    } else {
        REQUIRE(json_is_object(request));
        if (validate(request) == GW_ENROL_VALID) {
            again = json_deep_copy(request);
            REQUIRE(again != NULL);
            REQUIRE(validate(again) == GW_ENROL_VALID);
            REQUIRE(json_equal(again, request));
            json_decref(again);
        }
        json_decref(request);
    }
    free(copy);
    return 0;
}
