/*
 * loop_test.h - drive a test's event loop until something happens
 * (header-only, static; for tests that run the code on a real event_base).
 *
 *   struct event *tk = loop_test_ticker(base);    wakes the loop every 5 ms
 *   CHECK(loop_test_pump(base, &done, 1, 2000));   until done >= 1, 2 s at most
 *   loop_test_pump(base, NULL, 0, 300);            just run it 300 ms
 *   event_free(tk);
 */
#ifndef SIMPKI_TEST_LOOP_TEST_H
#define SIMPKI_TEST_LOOP_TEST_H

#include <stdint.h>
#include <time.h>

#include <event2/event.h>

static inline int64_t loop_test_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void loop_test_tick_(evutil_socket_t fd, short w, void *a)
{
    (void)fd;
    (void)w;
    (void)a;
}

/* A timer that makes EVLOOP_ONCE return at least every 5 ms, so pumps see their deadline. */
static inline struct event *loop_test_ticker(struct event_base *base)
{
    struct event *e = event_new(base, -1, EV_PERSIST, loop_test_tick_, NULL);
    struct timeval tv = {0, 5000};

    if (e)
        event_add(e, &tv);
    return e;
}

/* Run the loop until *flag >= want or ms pass (flag NULL: just ms); 1 when the flag got there. */
static inline int loop_test_pump(struct event_base *base, const int *flag, int want, int ms)
{
    int64_t end = loop_test_ms() + ms;

    while ((!flag || *flag < want) && loop_test_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    return !flag || *flag >= want;
}

#endif /* SIMPKI_TEST_LOOP_TEST_H */
