/*
 * log.h - level-gated logging shared by every simpki subsystem.
 *
 * A log line carries a subsystem and, where there is one, a peer:
 *
 *     2026-11-24T10:41:02.123Z INFO  smpp[viettel-1] bound as transceiver
 *
 * or, with LOG_FMT_JSON, one object per line that any collector parses:
 *
 *     {"ts":"2026-11-24T10:41:02.123Z","level":"info","instance":"gw-1",
 *      "subsys":"smpp","peer":"viettel-1","msg":"bound as transceiver"}
 *
 * (ts RFC 3339 UTC with milliseconds; level error|warn|info|debug; instance
 * and peer only when set; every string valid UTF-8, escaped by jansson.)
 *
 * The LOGP() macro tests the level before it evaluates its arguments, so a
 * debug line costs one comparison when debug is off.  Messages are written
 * with a single write(2) so lines from several processes do not interleave.
 *
 * Personal data never goes into a log as is: pass numbers through
 * log_msisdn(), which masks the middle digits (8491***678).  ID numbers,
 * keys and passwords are never logged at all.
 *
 * The level, format and instance name are the only process-wide state here; they are set
 * once at start (from the configuration) and read afterwards.
 */
#ifndef SIMPKI_LOG_H
#define SIMPKI_LOG_H

#include <stddef.h>

enum log_level {
    LOG_ERR = 0,
    LOG_WARN = 1,
    LOG_INFO = 2,
    LOG_DEBUG = 3,
};

enum log_format {
    LOG_FMT_TEXT = 0, /* one human-readable line per event */
    LOG_FMT_JSON = 1, /* one JSON object per line, for collectors */
};

extern enum log_level log_current_level;

void log_setup(enum log_level level, enum log_format format);

/*
 * The name of this instance ("gw-1", the configuration's "instance"): JSON
 * lines carry it as "instance" when it is not empty.  Copied (at most 63
 * octets, invalid UTF-8 replaced); NULL or "" removes it.
 */
void log_set_instance(const char *name);

/* Parse "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *name);

/* Write one line.  subsys is a short word ("smpp", "http"), peer may be NULL. */
void log_emit(enum log_level level, const char *subsys, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LOGP(level, subsys, peer, ...)                        \
    do {                                                      \
        if ((level) <= log_current_level)                     \
            log_emit((level), (subsys), (peer), __VA_ARGS__); \
    } while (0)

/*
 * Rate-limited variant for errors that a misbehaving peer can repeat at line
 * rate: at most one line per `per_s` seconds per call site, with a count of
 * the lines suppressed in between.
 */
#define LOGP_RL(level, per_s, subsys, peer, fmt, ...)                                                             \
    do {                                                                                                          \
        static long log_rl_last_;                                                                                 \
        static unsigned long log_rl_skipped_;                                                                     \
        if ((level) <= log_current_level && log_ratelimit_pass(&log_rl_last_, &log_rl_skipped_, (per_s)))         \
            log_emit((level), (subsys), (peer), fmt " (%lu similar suppressed)", ##__VA_ARGS__, log_rl_skipped_); \
    } while (0)

/* Helper for LOGP_RL: nonzero when a line may be written now. */
int log_ratelimit_pass(long *last, unsigned long *skipped, int per_s);

/*
 * Mask a subscriber number for logging: keeps the first 4 and last 3 digits
 * ("84912345678" -> "8491****678").  Returns buf.  Short or NULL input gives
 * "***".
 */
#define LOG_MSISDN_BUFSZ 24
const char *log_msisdn(const char *msisdn, char buf[LOG_MSISDN_BUFSZ]);

#endif /* SIMPKI_LOG_H */
