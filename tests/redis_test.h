/*
 * redis_test.h - a throwaway redis-server for tests that start the real
 * thing: on a free loopback port, no persistence, its files in a scratch
 * directory, killed at exit and by PR_SET_PDEATHSIG if the test dies.
 *
 *   if (redis_test_start("test_q") != 0) return 1;
 *   cfg.port = redis_test_port();
 *   ... redis_test_stop(); redis_test_restart(); ...   (an outage)
 *
 * One server per test program (the state below is this file's); the
 * directory and the server go at exit (atexit).
 */
#ifndef SIMPKI_TEST_REDIS_TEST_H
#define SIMPKI_TEST_REDIS_TEST_H

#include <sys/types.h>

#include <hiredis/hiredis.h>

/*
 * Make /tmp/<name>.XXXXXX, pick a free port and start the server there;
 * 0 once it answers PING, -1 (with why on stderr) if it does not in 5 s.
 */
int redis_test_start(const char *name);
/* Kill the server (SIGKILL: nothing is saved).  Idempotent. */
void redis_test_stop(void);
/* Start it again on the same port and directory, after redis_test_stop: 0 or -1. */
int redis_test_restart(void);

int redis_test_port(void);
pid_t redis_test_pid(void);       /* -1 when stopped; for SIGSTOP/SIGCONT */
const char *redis_test_dir(void); /* the scratch directory: a test may put its own files there */

/*
 * More servers beside the first (after redis_test_start), for replication and
 * Sentinel tests: a port below 32768 nothing answers on, files in
 * redis_test_dir(), killed at exit and by PR_SET_PDEATHSIG.  Both return the
 * pid once the server answers PING (*port set), -1 otherwise.
 *   redis_test_spawn_server: redis-server without persistence, then extra
 *     arguments (NULL-terminated, may be NULL), e.g. {"--replicaof", "127.0.0.1", "6379", NULL};
 *   redis_test_spawn_sentinel: redis-sentinel whose configuration file is
 *     "port/bind/dir" and then conf (lines such as "sentinel monitor ...").
 * A spawned server stopped with kill() stays in the at-exit list: harmless.
 */
pid_t redis_test_spawn_server(int *port, const char *const *extra);
pid_t redis_test_spawn_sentinel(int *port, const char *conf);

/* A blocking connection (1 s timeout) on port; NULL when it fails.  redisFree it. */
redisContext *redis_test_connect_port(int port);

/* A blocking connection (1 s timeout) for checks behind the code's back; NULL when it fails.  redisFree it. */
redisContext *redis_test_connect(void);

#endif /* SIMPKI_TEST_REDIS_TEST_H */
