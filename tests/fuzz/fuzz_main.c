/*
 * fuzz_main.c - replay driver so the fuzz targets build and run with any
 * compiler: feeds every file named on the command line (a directory means
 * each regular file in it) to LLVMFuzzerTestOneInput, or a few built-in
 * seeds when given nothing.  A target signals a bug by crashing (abort or a
 * sanitizer report), so reaching the end means every input passed.
 */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (1u << 20)

static int run_file(const char *path)
{
    static uint8_t buf[FUZZ_MAX_INPUT];
    FILE *f = fopen(path, "rb");
    uint8_t *copy;
    size_t n;

    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    /* A copy of exactly n octets, so ASan sees a read past the input. */
    copy = malloc(n ? n : 1);
    if (!copy)
        return 1;
    memcpy(copy, buf, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
    return 0;
}

static int run_path(const char *path, unsigned *count)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    char sub[4096];
    int rc = 0;

    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: no such file\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        (*count)++;
        return run_file(path);
    }
    d = opendir(path);
    if (!d)
        return 1;
    for (;;) {
        e = readdir(d);
        if (!e)
            break;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
            (*count)++;
            rc |= run_file(sub);
        }
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    static const uint8_t seeds[][8] = {{0}, {0x01}, {0x02, 0x71, 0x00}, {0xff, 0xff, 0xff, 0xff}};
    unsigned count = 0;
    int rc = 0;

    if (argc < 2) {
        LLVMFuzzerTestOneInput(NULL, 0);
        for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
            LLVMFuzzerTestOneInput(seeds[i], sizeof seeds[i]);
        printf("replayed built-in seeds\n");
        return 0;
    }
    for (int i = 1; i < argc; i++)
        rc |= run_path(argv[i], &count);
    printf("replayed %u inputs\n", count);
    return rc || count == 0;
}
