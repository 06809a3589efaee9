/*
 * test_log.c - config/log.h: every JSON line is one object that jansson
 * parses back to the text that was logged, whatever the bytes (quotes,
 * backslashes, every control character, invalid UTF-8, a message past the
 * 1,023 octets kept, a peer of only escapes), with the fields a collector
 * expects; the text format is unchanged; log_msisdn masks.
 *
 * stderr is sent to a temporary file for the emitting part and read back.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static FILE *cap_file;
static int saved_stderr;

static void capture_start(void)
{
    cap_file = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(cap_file), STDERR_FILENO);
}

/* The captured lines, one per element; NULL-terminated, caller frees. */
static char **capture_end(size_t *n)
{
    char **lines = NULL, *l = NULL;
    size_t cap = 0;
    ssize_t k;

    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    rewind(cap_file);
    *n = 0;
    while ((k = getline(&l, &cap, cap_file)) > 0) {
        lines = realloc(lines, (*n + 2) * sizeof(*lines));
        lines[(*n)++] = strdup(l);
        lines[*n] = NULL;
    }
    free(l);
    fclose(cap_file);
    return lines;
}

static int ts_ok(const char *ts)
{
    /* 2026-11-24T10:41:02.123Z */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (strlen(ts) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (ts[i] < '0' || ts[i] > '9') : ts[i] != shape[i])
            return 0;
    return 1;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

int main(void)
{
    char ctl[40], big[3000], peer[300], mask[LOG_MSISDN_BUFSZ];
    char **lines;
    size_t n;
    json_error_t jerr;

    /* Every control character, a quote and a backslash. */
    for (int c = 1; c < 32; c++)
        ctl[c - 1] = (char)c;
    memcpy(ctl + 31, "\"\\\x7f", 4);
    memset(big, '\n', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memset(peer, '"', sizeof(peer) - 1);
    peer[sizeof(peer) - 1] = '\0';

    log_setup(LOG_INFO, LOG_FMT_JSON);
    capture_start();
    LOGP(LOG_INFO, "smpp", "viettel-1", "bound as %s", "transceiver");
    LOGP(LOG_WARN, "http", NULL, "ctl [%s]", ctl);
    LOGP(LOG_ERR, "x\xff", "p\xc3", "bad utf-8 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 end %s", "Ký văn bản");
    LOGP(LOG_INFO, "big", peer, "%s", big);
    LOGP(LOG_DEBUG, "off", NULL, "not written at info");
    log_set_instance("gw-1");
    LOGP(LOG_INFO, "q", NULL, "with instance");
    log_set_instance(NULL);
    LOGP(LOG_INFO, "q", NULL, "without again");
    lines = capture_end(&n);

    CHECK_EQ_INT(n, 6);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_loads(lines[i], 0, &jerr);
        const char *lv;
        CHECK(o != NULL && json_is_object(o));
        if (!o) {
            fprintf(stderr, "line %zu: %s: %s", i, jerr.text, lines[i]);
            continue;
        }
        CHECK(strchr(lines[i], '\n') == lines[i] + strlen(lines[i]) - 1);
        CHECK(str(o, "ts") && ts_ok(str(o, "ts")));
        lv = str(o, "level");
        CHECK(lv && (!strcmp(lv, "error") || !strcmp(lv, "warn") || !strcmp(lv, "info") || !strcmp(lv, "debug")));
        CHECK(str(o, "subsys") != NULL);
        CHECK(str(o, "msg") != NULL);
        switch (i) {
        case 0:
            CHECK(strncmp(lines[i], "{\"ts\":\"", 7) == 0);
            CHECK(strstr(lines[i], "\",\"level\":\"info\",\"subsys\":\"smpp\",\"peer\":\"viettel-1\","
                                   "\"msg\":\"bound as transceiver\"}\n") != NULL);
            break;
        case 1: {
            char want[64];
            snprintf(want, sizeof want, "ctl [%s]", ctl);
            CHECK_EQ_STR(str(o, "msg"), want);
            CHECK(json_object_get(o, "peer") == NULL);
            break;
        }
        case 2:
            /* Each invalid octet is U+FFFD; the valid text around it is kept. */
            CHECK_EQ_STR(str(o, "subsys"), "x\xef\xbf\xbd");
            CHECK_EQ_STR(str(o, "peer"), "p\xef\xbf\xbd");
            CHECK(strstr(str(o, "msg"), "bad utf-8 \xef\xbf\xbd( ") != NULL);
            CHECK(strstr(str(o, "msg"), "end Ký văn bản") != NULL);
            CHECK_EQ_STR(lv, "error");
            break;
        case 3:
            CHECK_EQ_INT(strlen(str(o, "msg")), 1023);
            CHECK_EQ_INT(strlen(str(o, "peer")), 255);
            break;
        case 4: CHECK_EQ_STR(str(o, "instance"), "gw-1"); break;
        case 5: CHECK(json_object_get(o, "instance") == NULL); break;
        }
        json_decref(o);
    }
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);

    /* The text format as before. */
    log_setup(LOG_INFO, LOG_FMT_TEXT);
    capture_start();
    LOGP(LOG_INFO, "smpp", "viettel-1", "bound");
    lines = capture_end(&n);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
        CHECK(strstr(lines[0], "Z INFO  smpp[viettel-1] bound\n") != NULL);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);

    CHECK_EQ_STR(log_msisdn("84912345678", mask), "8491****678");
    CHECK_EQ_STR(log_msisdn("0912345678", mask), "0912***678");
    CHECK_EQ_STR(log_msisdn("123", mask), "***");
    CHECK_EQ_STR(log_msisdn(NULL, mask), "***");
    return check_report("test_log");
}
