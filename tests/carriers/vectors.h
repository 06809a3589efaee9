/*
 * vectors.h - the SPKA/1 test vectors (tests/data/spka1.json) for the
 * carriers tests.  Header-only so each test stays one binary from one .c.
 *
 *   json_t *v = vec_load();               // NULL (and a message) if missing
 *   long n = vec_hex(v, "sign_command", "secured_packet", buf, sizeof buf);
 *   long s = vec_hex_at(v, "sign_por_ok", "sms_user_data", 1, buf, sizeof buf);
 *   json_decref(v);
 *
 * Paths come from TEST_DATA_DIR, set by tests/carriers/CMakeLists.txt.
 */
#ifndef SIMPKI_TEST_VECTORS_H
#define SIMPKI_TEST_VECTORS_H

#include <jansson.h>
#include <stdio.h>

#include "check.h"

#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must point at tests/data"
#endif

static inline json_t *vec_load(void)
{
    json_error_t err;
    json_t *v = json_load_file(TEST_DATA_DIR "/spka1.json", 0, &err);

    if (!v)
        fprintf(stderr, "spka1.json: %s (line %d)\n", err.text, err.line);
    return v;
}

/* Hex string at v[obj][key] (obj NULL: v[key]) into out; -1 when absent. */
static inline long vec_hex(json_t *v, const char *obj, const char *key, unsigned char *out, size_t cap)
{
    json_t *o = obj ? json_object_get(v, obj) : v;
    const char *s = json_string_value(json_object_get(o, key));

    return s ? check_unhex(s, out, cap) : -1;
}

/* Hex string at v[obj][key][i]; -1 when absent. */
static inline long vec_hex_at(json_t *v, const char *obj, const char *key, size_t i, unsigned char *out, size_t cap)
{
    json_t *a = json_object_get(json_object_get(v, obj), key);
    const char *s = json_string_value(json_array_get(a, i));

    return s ? check_unhex(s, out, cap) : -1;
}

static inline size_t vec_count(json_t *v, const char *obj, const char *key)
{
    return json_array_size(json_object_get(json_object_get(v, obj), key));
}

#endif /* SIMPKI_TEST_VECTORS_H */
