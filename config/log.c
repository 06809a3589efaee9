/* log.c - see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_current_level = LOG_INFO;
static enum log_format log_fmt = LOG_FMT_TEXT;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_setup(enum log_level level, enum log_format format)
{
    log_current_level = level;
    log_fmt = format;
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

/* Append JSON-escaped s to buf at *off, never past cap. */
static void json_escape(char *buf, size_t cap, size_t *off, const char *s)
{
    for (; *s && *off + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[(*off)++] = '\\';
            buf[(*off)++] = (char)c;
        } else if (c < 0x20) {
            *off += (size_t)snprintf(buf + *off, cap - *off, "\\u%04x", c);
        } else {
            buf[(*off)++] = (char)c;
        }
    }
}

void log_emit(enum log_level level, const char *subsys, const char *peer, const char *fmt, ...)
{
    char msg[1024], line[2048], ts[32];
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
        off = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s.%03ldZ\",\"level\":\"%s\",\"subsys\":\"", ts,
                               now.tv_nsec / 1000000, level_names[level]);
        json_escape(line, sizeof(line), &off, subsys ? subsys : "");
        if (peer) {
            off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"peer\":\"");
            json_escape(line, sizeof(line), &off, peer);
        }
        off += (size_t)snprintf(line + off, sizeof(line) - off, "\",\"msg\":\"");
        json_escape(line, sizeof(line), &off, msg);
        n = snprintf(line + off, sizeof(line) - off, "\"}\n");
        off += n > 0 ? (size_t)n : 0;
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
