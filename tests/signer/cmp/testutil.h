/*
 * testutil.h - what test_csr and test_cmp share: whole files in and out, and
 * running the openssl command line as an independent oracle (fork + execvp,
 * no shell, so no quoting of the Vietnamese arguments).
 */
#ifndef SIMPKI_TEST_CMP_UTIL_H
#define SIMPKI_TEST_CMP_UTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct blob {
    uint8_t *p;
    size_t n;
};

/* dir/name into dst, or exit: a path that does not fit is a broken test. */
static __attribute__((unused)) void tu_path(char *dst, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(dst, cap, "%s/%s", dir, name);

    if (n < 0 || (size_t)n >= cap) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
}

/* Whole file (NUL-terminated for text), or exit: a missing fixture is a broken test. */
static __attribute__((unused)) struct blob tu_load(const char *path)
{
    struct blob b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    long len = -1;

    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    b.n = (size_t)len;
    b.p = malloc(b.n + 1);
    if (b.p == NULL || fread(b.p, 1, b.n, f) != b.n) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    b.p[b.n] = '\0';
    fclose(f);
    return b;
}

static __attribute__((unused)) void tu_save(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static __attribute__((unused)) void tu_free(struct blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/*
 * Run argv (argv[0] looked up in PATH unless it has a '/'), stdout into
 * out_path when not NULL, stderr into err_path when not NULL.  The exit
 * status, or -1 when it did not run or died of a signal.
 */
static __attribute__((unused)) int tu_run(char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    int st;

    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd;

        if (out_path != NULL) {
            fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, 1) < 0)
                _exit(127);
            close(fd);
        }
        if (err_path != NULL) {
            fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (fd < 0 || dup2(fd, 2) < 0)
                _exit(127);
            close(fd);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

#endif /* SIMPKI_TEST_CMP_UTIL_H */
