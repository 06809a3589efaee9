/* sigtest.h - fixture helpers shared by test_cms and test_revoc (header-only, static). */
#ifndef SIMPKI_SIGTEST_H
#define SIMPKI_SIGTEST_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

struct blob {
    unsigned char *p;
    size_t n;
};

static const char *pki_dir;

static void path_of(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void path_of(char *dst, size_t cap, const char *fmt, ...)
{
    char rel[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof rel || snprintf(dst, cap, "%s/%s", pki_dir, rel) >= (int)cap) {
        fprintf(stderr, "path too long\n");
        exit(2);
    }
}

/* Whole file at PKI_DIR/<name>, or exit(2). */
static struct blob load(const char *name)
{
    char path[1024];
    struct blob b = {NULL, 0};
    FILE *f;
    long len = -1;

    path_of(path, sizeof path, "%s", name);
    f = fopen(path, "rb");
    if (f != NULL && fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (f == NULL || len < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    b.n = (size_t)len;
    b.p = malloc(b.n + 1);
    if (b.p == NULL || fread(b.p, 1, b.n, f) != b.n) {
        fprintf(stderr, "cannot read fixture %s\n", path);
        exit(2);
    }
    fclose(f);
    return b;
}

static void save(const char *name, const void *p, size_t n)
{
    char path[1024];
    FILE *f;

    path_of(path, sizeof path, "%s", name);
    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static void blob_free(struct blob *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

/* Run a shell command in PKI_DIR; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    char full[4600];
    va_list ap;
    int n, st;

    va_start(ap, fmt);
    n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd ||
        snprintf(full, sizeof full, "cd '%s' && %s", pki_dir, cmd) >= (int)sizeof full) {
        fprintf(stderr, "command too long\n");
        exit(2);
    }
    st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static const char *openssl_cli(void)
{
    const char *o = getenv("OPENSSL");

    return o != NULL && o[0] != '\0' ? o : "openssl";
}

#endif
