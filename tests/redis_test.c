/* redis_test.c - see redis_test.h. */
#include "redis_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t redis_pid = -1;
static int redis_port;
static char tmpdir[64];

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

#define SPAWN_MAX 8
static pid_t spawned[SPAWN_MAX];
static unsigned n_spawned;

redisContext *redis_test_connect(void)
{
    return redis_test_connect_port(redis_port);
}

redisContext *redis_test_connect_port(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

    if (c && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static int answers(int port);

static int ping(void)
{
    return answers(redis_port);
}

void redis_test_stop(void)
{
    if (redis_pid > 0) {
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
        redis_pid = -1;
    }
}

int redis_test_restart(void)
{
    char port[16];
    pid_t pid;

    snprintf(port, sizeof port, "%d", redis_port);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan server when the test crashes */
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly",
               "no", "--dir", tmpdir, (char *)NULL);
        _exit(127);
    }
    redis_pid = pid;
    /* Polled, not timed: the first PING that answers ends the wait (500 tries, 10 ms apart). */
    for (int i = 0; i < 500; i++) {
        if (ping())
            return 0;
        usleep(10000);
    }
    return -1;
}

static void cleanup(void)
{
    DIR *d;
    struct dirent *e;

    for (unsigned i = 0; i < n_spawned; i++) {
        kill(spawned[i], SIGKILL);
        waitpid(spawned[i], NULL, 0);
    }
    n_spawned = 0;
    redis_test_stop();
    if (!tmpdir[0])
        return;
    d = opendir(tmpdir);
    for (e = d ? readdir(d) : NULL; e; e = readdir(d)) {
        char p[512];
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
}

int redis_test_start(const char *name)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%.40s.XXXXXX", name);
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        tmpdir[0] = '\0';
        return -1;
    }
    atexit(cleanup);
    redis_port = free_port();
    if (redis_port <= 0 || redis_test_restart() != 0) {
        fprintf(stderr, "%s: cannot start redis-server (is it in PATH?)\n", name);
        return -1;
    }
    return 0;
}

int redis_test_port(void)
{
    return redis_port;
}

pid_t redis_test_pid(void)
{
    return redis_pid;
}

const char *redis_test_dir(void)
{
    return tmpdir;
}

static int answers(int port)
{
    redisContext *c = redis_test_connect_port(port);
    redisReply *r = c ? redisCommand(c, "PING") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;

    freeReplyObject(r);
    if (c)
        redisFree(c);
    return ok;
}

/* Fork and exec argv (argv[0] from PATH) quietly; the pid once port answers PING, -1. */
static pid_t spawn(int port, char *const *argv)
{
    pid_t pid;

    if (n_spawned >= SPAWN_MAX)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    spawned[n_spawned++] = pid;
    for (int i = 0; i < 500; i++) {
        if (answers(port))
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid) /* the port was taken meanwhile */
            break;
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    spawned[--n_spawned] = 0;
    return -1;
}

/* Below 32768 (the kernel's ephemeral range starts there) and nothing answering now. */
static int low_port(void)
{
    for (int i = 0; i < 50; i++) {
        int p = 10000 + (int)(((unsigned)rand() ^ (unsigned)getpid()) % 22000u);
        redisContext *c = redis_test_connect_port(p);
        if (!c)
            return p;
        redisFree(c);
    }
    return -1;
}

pid_t redis_test_spawn_server(int *port, const char *const *extra)
{
    for (int tries = 0; tries < 5; tries++) {
        char ps[16], db[32];
        char *argv[32] = {"redis-server", "--port", ps,      "--bind", "127.0.0.1",    "--save", "",
                          "--appendonly", "no",     "--dir", tmpdir,   "--dbfilename", db};
        int n = 13, p = low_port();
        pid_t pid;

        if (p < 0)
            return -1;
        snprintf(ps, sizeof ps, "%d", p);
        snprintf(db, sizeof db, "dump-%d.rdb", p);
        for (; extra && *extra && n < 31; extra++)
            argv[n++] = (char *)*extra;
        argv[n] = NULL;
        if ((pid = spawn(p, argv)) > 0) {
            *port = p;
            return pid;
        }
    }
    return -1;
}

pid_t redis_test_spawn_sentinel(int *port, const char *conf)
{
    for (int tries = 0; tries < 5; tries++) {
        char path[128];
        char *argv[3] = {"redis-sentinel", path, NULL};
        int p = low_port();
        FILE *f;
        pid_t pid;

        if (p < 0)
            return -1;
        snprintf(path, sizeof path, "%s/sentinel-%d.conf", tmpdir, p);
        f = fopen(path, "w");
        if (!f)
            return -1;
        fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\n%s\n", p, tmpdir, conf);
        fclose(f);
        if ((pid = spawn(p, argv)) > 0) {
            *port = p;
            return pid;
        }
    }
    return -1;
}
