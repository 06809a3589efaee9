/*
 * test_gw_callback.c - the pure parts of callback delivery: the backoff
 * schedule, the JSON writer's nested object, and the transaction JSON's
 * "callback" member (gw_txn_json, the callback body).  Delivery itself runs
 * end to end in tests/integration/e2e_callback.sh.
 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gw_callback.h"
#include "gw_txn_json.h"
#include "gw_util.h"
#include "q.h"

static void test_backoff(void)
{
    CHECK_EQ_INT(gw_callback_backoff_ms(2000, 1), 2000);
    CHECK_EQ_INT(gw_callback_backoff_ms(2000, 2), 4000);
    CHECK_EQ_INT(gw_callback_backoff_ms(2000, 3), 8000);
    CHECK_EQ_INT(gw_callback_backoff_ms(2000, 9), 512000);
    CHECK_EQ_INT(gw_callback_backoff_ms(2000, 10), 600000); /* capped at 10 min */
    CHECK_EQ_INT(gw_callback_backoff_ms(2000, 4000000000u), 600000);
    CHECK_EQ_INT(gw_callback_in_flight(NULL), 0);
}

static void test_nested(void)
{
    struct gw_json j;
    gw_json_begin(&j);
    gw_json_str(&j, "a", "1");
    int outer = gw_json_obj_begin(&j, "o");
    gw_json_str(&j, "b", "x\"y");
    gw_json_int(&j, "c", 3);
    gw_json_obj_end(&j, outer);
    gw_json_int(&j, "d", 4);
    CHECK_EQ_INT(gw_json_end(&j), 0);
    CHECK_EQ_STR(j.buf, "{\"a\":\"1\",\"o\":{\"b\":\"x\\\"y\",\"c\":3},\"d\":4}\n");
    free(j.buf);
    gw_json_begin(&j);
    outer = gw_json_obj_begin(&j, "o");
    gw_json_obj_end(&j, outer);
    CHECK_EQ_INT(gw_json_end(&j), 0);
    CHECK_EQ_STR(j.buf, "{\"o\":{}}\n");
    free(j.buf);
}

static void test_txn_callback(void)
{
    struct q_txn t;
    struct gw_json j;
    struct evbuffer *b = evbuffer_new();
    const char *ctype = NULL;

    memset(&t, 0, sizeof t);
    memcpy(t.id, "0b4f2a9c1d3e5f60718293a4b5", Q_ID_LEN);
    t.state = Q_FAILED;
    snprintf(t.result, sizeof t.result, "USER_CANCEL");
    t.etsi_status = 401;
    /* Without a callback: no member (the API's answers are as before). */
    CHECK_EQ_INT(gw_txn_json(&t, &j), 0);
    CHECK(strstr(j.buf, "callback") == NULL);
    free(j.buf);
    snprintf(t.cb_url, sizeof t.cb_url, "https://rp.test/cb");
    t.cb_tries = 2;
    CHECK_EQ_INT(gw_txn_json(&t, &j), 0);
    CHECK(strstr(j.buf, ",\"callback\":{\"url\":\"https://rp.test/cb\",\"state\":\"pending\",\"attempts\":2}}\n") !=
          NULL);
    free(j.buf);
    t.cb_state = Q_CB_DELIVERED;
    CHECK_EQ_INT(gw_txn_json(&t, &j), 0);
    CHECK(strstr(j.buf, "\"state\":\"delivered\"") != NULL);
    /* The JSON callback's body is the same text. */
    CHECK_EQ_INT(gw_txn_json_body(NULL, &t, b, &ctype), 0);
    CHECK_EQ_STR(ctype, "application/json");
    CHECK_EQ_INT(evbuffer_get_length(b), j.len);
    CHECK(memcmp(evbuffer_pullup(b, -1), j.buf, j.len) == 0);
    free(j.buf);
    t.cb_state = Q_CB_FAILED;
    CHECK_EQ_INT(gw_txn_json(&t, &j), 0);
    CHECK(strstr(j.buf, "\"state\":\"failed\"") != NULL);
    free(j.buf);
    evbuffer_free(b);
}

int main(void)
{
    test_backoff();
    test_nested();
    test_txn_callback();
    return check_report("test_gw_callback");
}
