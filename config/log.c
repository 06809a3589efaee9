/* log.c - see log.h. */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum log_level log_current_level = LOG_INFO;
static enum log_format log_fmt = LOG_FMT_TEXT;

static char log_instance[64];

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
/* JSON logs name levels as the configuration does (log_level). */
static const char *const json_level_names[] = {"error", "warn", "info", "debug"};

void log_setup(enum log_level level, enum log_format format)
{
    log_current_level = level;
    log_fmt = format;
}

static const char *utf8_fix(const char *s, char *out, size_t cap);

void log_set_instance(const char *name)
{
    utf8_fix(name ? name : "", log_instance, sizeof(log_instance));
}

int log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

int log_ratelimit_pass(long *last, unsigned long *skipped, int per_s)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (*last != 0 && ts.tv_sec - *last < per_s) {
        (*skipped)++;
        return 0;
    }
    *last = ts.tv_sec;
    /* The count printed is the one accumulated before this line. */
    return 1;
}

/*
 * s as valid UTF-8 in out (cap > 3 octets): each octet that does not start a
 * valid sequence becomes U+FFFD, so that jansson, which refuses invalid UTF-8,
 * always takes the text (a peer's bytes or a message cut at 1,023 octets in
 * the middle of a character must not lose the line).  Cut at cap - 1.
 */
static const char *utf8_fix(const char *s, char *out, size_t cap)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, o = 0, j;
    uint32_t cp;

    while (i < n) {
        j = i;
        if (util_utf8_next(u, n, &j, &cp) != 0) {
            if (o + 3 >= cap)
                break;
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        if (o + (j - i) >= cap)
            break;
        memcpy(out + o, s + i, j - i);
        o += j - i;
        i = j;
    }
    out[o] = '\0';
    return out;
}

/*
 * One JSON object and its newline into line (cap octets); returns its length.
 * jansson escapes quotes, backslashes and every control character; when it
 * cannot (out of memory) or the object does not fit, a fixed line saying so
 * keeps the stream one valid object per line.
 */
static size_t json_line(char *line, size_t cap, const char *ts, enum log_level level, const char *subsys,
                        const char *peer, const char *msg)
{
    char subsys_u[64], peer_u[256], msg_u[1024];
    json_t *o = json_object();
    size_t n = 0;

    if (o && json_object_set_new(o, "ts", json_string(ts)) == 0 &&
        json_object_set_new(o, "level", json_string(json_level_names[level])) == 0 &&
        (log_instance[0] == '\0' || json_object_set_new(o, "instance", json_string(log_instance)) == 0) &&
        json_object_set_new(o, "subsys", json_string(utf8_fix(subsys ? subsys : "", subsys_u, sizeof(subsys_u)))) ==
            0 &&
        (!peer || json_object_set_new(o, "peer", json_string(utf8_fix(peer, peer_u, sizeof(peer_u)))) == 0) &&
        json_object_set_new(o, "msg", json_string(utf8_fix(msg, msg_u, sizeof(msg_u)))) == 0)
        n = json_dumpb(o, line, cap - 1, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (n == 0 || n >= cap - 1) {
        int k = snprintf(line, cap,
                         "{\"ts\":\"%s\",\"level\":\"error\",\"subsys\":\"log\",\"msg\":\"log line lost\"}\n", ts);
        return k > 0 ? (size_t)k : 0;
    }
    line[n++] = '\n';
    return n;
}

void log_emit(enum log_level level, const char *subsys, const char *peer, const char *fmt, ...)
{
    /* line: room for msg with every octet escaped as \u00XX, and the other fields. */
    char msg[1024], line[10240], ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;
    size_t off;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    if ((unsigned)level > LOG_DEBUG)
        level = LOG_DEBUG;

    if (log_fmt == LOG_FMT_JSON) {
        char tsms[64];
        snprintf(tsms, sizeof(tsms), "%s.%03dZ", ts, (int)(now.tv_nsec / 1000000));
        off = json_line(line, sizeof(line), tsms, level, subsys, peer, msg);
    } else {
        n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s %s%s%s%s %s\n", ts, now.tv_nsec / 1000000, level_names[level],
                     subsys ? subsys : "", peer ? "[" : "", peer ? peer : "", peer ? "]" : "", msg);
        off = n > 0 ? (size_t)n : 0;
    }
    if (off >= sizeof(line)) {
        off = sizeof(line) - 1;
        line[off - 1] = '\n';
    }
    /* One write per line; a short write to stderr is not worth retrying. */
    if (write(STDERR_FILENO, line, off) < 0)
        return;
}

const char *log_msisdn(const char *msisdn, char buf[LOG_MSISDN_BUFSZ])
{
    size_t n = msisdn ? strlen(msisdn) : 0;
    if (n < 8 || n > LOG_MSISDN_BUFSZ - 1) {
        snprintf(buf, LOG_MSISDN_BUFSZ, "***");
        return buf;
    }
    memcpy(buf, msisdn, n + 1);
    for (size_t i = 4; i < n - 3; i++)
        buf[i] = '*';
    return buf;
}
