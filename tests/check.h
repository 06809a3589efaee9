/*
 * check.h - the smallest test harness that does the job.
 *
 *   #include "check.h"
 *   int main(void) {
 *       CHECK(1 + 1 == 2);
 *       CHECK_EQ_INT(f(), 3);
 *       CHECK_MEM(buf, expected, n);
 *       return check_report("test_foo");
 *   }
 *
 * Every failing check prints file:line and the expression; check_report()
 * prints "N passed, N failed" and returns the exit status for ctest.
 * A test binary that runs zero checks fails, so a test cannot silently
 * test nothing.
 */
#ifndef SIMPKI_TEST_CHECK_H
#define SIMPKI_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned check_passed_, check_failed_;

#define CHECK(expr)                                                                  \
    do {                                                                             \
        if (expr) {                                                                  \
            check_passed_++;                                                         \
        } else {                                                                     \
            check_failed_++;                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
        }                                                                            \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                                          \
    do {                                                                                                            \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                                             \
        if (check_a_ == check_b_) {                                                                                 \
            check_passed_++;                                                                                        \
        } else {                                                                                                    \
            check_failed_++;                                                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, check_a_, \
                    check_b_);                                                                                      \
        }                                                                                                           \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                                    \
    do {                                                                                                      \
        const char *check_a_ = (a), *check_b_ = (b);                                                          \
        if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {                                        \
            check_passed_++;                                                                                  \
        } else {                                                                                              \
            check_failed_++;                                                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__, #a, #b, \
                    check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");                          \
        }                                                                                                     \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                                     \
    do {                                                                                                       \
        if (memcmp((a), (b), (n)) == 0) {                                                                      \
            check_passed_++;                                                                                   \
        } else {                                                                                               \
            check_failed_++;                                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s equals %s over %zu octets\n", __FILE__, __LINE__, #a, #b, \
                    (size_t)(n));                                                                              \
        }                                                                                                      \
    } while (0)

static inline int check_report(const char *name)
{
    if (check_passed_ + check_failed_ == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    printf("%s: %u passed, %u failed\n", name, check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}

/* Hex helpers for vectors.  Returns the number of octets, or -1 on bad hex. */
static inline long check_unhex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (long)(n / 2);
}

#endif /* SIMPKI_TEST_CHECK_H */
