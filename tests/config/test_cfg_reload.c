/*
 * test_cfg_reload.c - config/cfg_reload.c and "api_keys_file" (cfg_rp.c):
 * what a reload takes, what it leaves for a restart, the interned names that
 * survive it, and the key file's refusals worded as the loader's.
 *
 *   test_cfg_reload       (writes its files under a temporary directory)
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_reload.h"
#include "check.h"

static char dir[256];

/* dir/name, written with text; returns the path (static, one at a time per slot). */
static const char *put(int slot, const char *name, const char *text)
{
    static char paths[4][512];
    FILE *f;

    snprintf(paths[slot], sizeof paths[slot], "%s/%s", dir, name);
    f = fopen(paths[slot], "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return paths[slot];
}

#define HASH_A "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
#define HASH_B "\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\""
#define HASH_C "\"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\""

/* A main file: its top-level members after the fixed ones (keys inline or a key file). */
static const char *main_file(int slot, const char *name, const char *rest)
{
    char text[2048];
    snprintf(text, sizeof text, "{\"trust_anchors\": \"/x/trust.pem\", \"redis\": {\"host\": \"127.0.0.1\"}, %s}",
             rest);
    return put(slot, name, text);
}

static enum cfg_err load(const char *path, struct cfg **out, char *err, size_t errlen)
{
    return cfg_load(path, out, err, errlen);
}

static void test_take(void)
{
    char err[512];
    struct cfg *live = NULL, *fresh = NULL;
    const char *keys, *a, *b;
    const char *rp_a, *rp_c;

    a = main_file(0, "a.json",
                  "\"log_level\": \"info\", \"listen_port\": 8080, \"api_keys\": ["
                  "{\"name\": \"rp-a\", \"sha256\": " HASH_A "}, {\"name\": \"rp-c\", \"sha256\": " HASH_C
                  ", \"roles\": [\"sign\"]}]");
    keys = put(1, "keys.json",
               "[{\"name\": \"rp-c\", \"sha256\": " HASH_C ", \"roles\": [\"sign\", \"lookup\"]},"
               " {\"name\": \"rp-b\", \"sha256\": " HASH_B "}]");
    {
        char rest[1024];
        snprintf(rest, sizeof rest,
                 "\"log_level\": \"debug\", \"listen_port\": 9090, \"intermediates\": \"/x/int.pem\", "
                 "\"api_keys_file\": \"%s\"",
                 keys);
        b = main_file(2, "b.json", rest);
    }
    CHECK_EQ_INT(load(a, &live, err, sizeof err), CFG_OK);
    CHECK_EQ_INT(load(b, &fresh, err, sizeof err), CFG_OK);
    if (!live || !fresh) {
        fprintf(stderr, "%s\n", err);
        cfg_free(live);
        cfg_free(fresh);
        return;
    }
    /* Interned: the pointer is the entry's name's twin, one per name. */
    CHECK_EQ_STR(live->apikeys[0].rp, "rp-a");
    CHECK(live->apikeys[0].rp != live->apikeys[0].name);
    rp_a = live->apikeys[0].rp;
    rp_c = live->apikeys[1].rp;
    CHECK_EQ_INT(fresh->n_apikeys, 2);
    CHECK_EQ_STR(fresh->apikeys[1].name, "rp-b");

    CHECK_EQ_INT(cfg_reload_take(live, fresh), CFG_OK);
    cfg_free(fresh); /* the former table goes here; rp_a must survive it (ASan watches) */
    CHECK_EQ_INT(live->n_apikeys, 2);
    CHECK(cfg_apikey_by_name(live, "rp-a") == NULL);
    CHECK(cfg_apikey_by_name(live, "rp-b") != NULL);
    CHECK(cfg_apikey_by_name(live, "rp-c") != NULL);
    /* Every setting of a key comes with it. */
    CHECK_EQ_INT(cfg_apikey_by_name(live, "rp-c")->roles, CFG_ROLE_SIGN | CFG_ROLE_LOOKUP);
    /* A name present before and after keeps its pointer; a removed one stays readable. */
    CHECK(cfg_apikey_by_name(live, "rp-c")->rp == rp_c);
    CHECK_EQ_STR(rp_a, "rp-a");
    CHECK_EQ_STR(cfg_apikey_by_name(live, "rp-b")->rp, "rp-b");
    /* The reloadable settings are taken; the others stay as they were at start. */
    CHECK_EQ_INT(live->log_level, 3);
    CHECK_EQ_STR(live->intermediates, "/x/int.pem");
    CHECK_EQ_INT(live->listen_port, 8080);

    /* A second reload back to a: rp-a gets its old pointer again. */
    CHECK_EQ_INT(load(a, &fresh, err, sizeof err), CFG_OK);
    if (fresh) {
        CHECK_EQ_INT(cfg_reload_take(live, fresh), CFG_OK);
        cfg_free(fresh);
        CHECK(cfg_apikey_by_name(live, "rp-a") != NULL && cfg_apikey_by_name(live, "rp-a")->rp == rp_a);
        CHECK(cfg_apikey_by_name(live, "rp-b") == NULL);
    }
    cfg_free(live);
}

/* Loading must fail with code and the message must hold every one of the words. */
static void refused(const char *what, const char *path, enum cfg_err code, const char *w1, const char *w2)
{
    char err[512] = "";
    struct cfg *cfg = NULL;
    enum cfg_err rc = load(path, &cfg, err, sizeof err);

    if (rc != code || !strstr(err, w1) || (w2 && !strstr(err, w2)))
        fprintf(stderr, "%s: got %d \"%s\"\n", what, (int)rc, err);
    CHECK_EQ_INT(rc, code);
    CHECK(strstr(err, w1) != NULL);
    CHECK(!w2 || strstr(err, w2) != NULL);
    CHECK(cfg == NULL);
    cfg_free(cfg);
}

static void with_key_file(const char *what, const char *keys_text, enum cfg_err code, const char *w1, const char *w2)
{
    char rest[1024];
    const char *keys = put(1, "bad-keys.json", keys_text);

    snprintf(rest, sizeof rest, "\"api_keys_file\": \"%s\"", keys);
    refused(what, main_file(0, "main.json", rest), code, w1, w2);
}

static void test_key_file_refusals(void)
{
    char keys[512], rest[1024];

    snprintf(keys, sizeof keys, "%s/bad-keys.json", dir);
    with_key_file("syntax", "[{\"name\": \"rp-a\", \"sha256\": " HASH_A "},", CFG_ERR_SYNTAX, keys, ":1:");
    with_key_file("bad hex", "[{\"name\": \"rp-a\", \"sha256\": " HASH_A "}, {\"name\": \"rp-b\", \"sha256\": \"zz\"}]",
                  CFG_ERR_INVALID, "bad-keys.json: api_keys[1].sha256: must be 64 hex digits", NULL);
    with_key_file("duplicate name",
                  "[{\"name\": \"rp-a\", \"sha256\": " HASH_A "}, {\"name\": \"rp-a\", \"sha256\": " HASH_B "}]",
                  CFG_ERR_INVALID, "bad-keys.json: api_keys[1].name: \"rp-a\" is used by api_keys[0] too", NULL);
    with_key_file("unknown member", "[{\"name\": \"rp-a\", \"sha256\": " HASH_A ", \"colour\": 1}]", CFG_ERR_INVALID,
                  "bad-keys.json: api_keys[0].colour: unknown setting", NULL);
    with_key_file("empty", "[]", CFG_ERR_INVALID, "bad-keys.json: must be a non-empty JSON array", NULL);
    with_key_file("an object", "{\"api_keys\": []}", CFG_ERR_INVALID, "bad-keys.json: must be a non-empty JSON array",
                  NULL);
    snprintf(rest, sizeof rest, "\"api_keys_file\": \"%s/none.json\"", dir);
    refused("missing", main_file(0, "main.json", rest), CFG_ERR_INVALID, "main.json: api_keys_file: cannot open",
            "none.json");
    snprintf(rest, sizeof rest, "\"api_keys_file\": \"%s\", \"api_keys\": [{\"name\": \"x\", \"sha256\": " HASH_A "}]",
             keys);
    refused("both", main_file(0, "main.json", rest), CFG_ERR_INVALID,
            "main.json: api_keys_file: give either api_keys or api_keys_file", NULL);
    refused("not a path", main_file(0, "main.json", "\"api_keys_file\": 7"), CFG_ERR_INVALID,
            "main.json: api_keys_file: must be a path", NULL);
}

/* The names cfg_snapshot_diff reports, joined by spaces. */
static void collect(void *arg, const char *setting)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%s", n ? " " : "", setting);
}

static void test_diff(void)
{
    char err[512], got[512] = "";
    struct cfg_snapshot *was = NULL, *now = NULL;
    const char *a, *b;

    a = main_file(0, "da.json",
                  "\"listen_port\": 8080, \"log_level\": \"info\", \"soap_mssp_id\": \"x\", "
                  "\"api_keys\": [{\"name\": \"rp-a\", \"sha256\": " HASH_A "}], \"merge\": {\"tick_ms\": 100}, "
                  "\"archive\": {\"conninfo\": \"dbname=a\", \"batch\": 10}");
    b = main_file(1, "db.json",
                  "\"listen_port\": 8081, \"log_level\": \"debug\", \"intermediates\": \"/x/i.pem\", "
                  "\"api_keys_file\": \"/x/k.json\", \"limits\": {\"max_in_flight\": 5}, "
                  "\"merge\": {\"tick_ms\": 100, \"lease_s\": 9}, "
                  "\"archive\": {\"conninfo\": \"dbname=b\", \"batch\": 10}");
    CHECK_EQ_INT(cfg_snapshot_read(a, &was, err, sizeof err), CFG_OK);
    CHECK_EQ_INT(cfg_snapshot_read(b, &now, err, sizeof err), CFG_OK);
    if (was && now) {
        /*
         * redis is equal, the reloadable ones (log_level, intermediates, api_keys,
         * api_keys_file) are not reported; a section member is named with its section.
         * The archive's connection waits for a restart (the archiver's one connection).
         */
        CHECK_EQ_INT(cfg_snapshot_diff(was, now, collect, got), 5);
        CHECK_EQ_STR(got, "listen_port soap_mssp_id merge.lease_s archive.conninfo limits");
        got[0] = '\0';
        CHECK_EQ_INT(cfg_snapshot_diff(was, was, collect, got), 0);
        CHECK_EQ_STR(got, "");
    }
    cfg_snapshot_free(was);
    cfg_snapshot_free(now);
    cfg_snapshot_free(NULL);
    CHECK_EQ_INT(cfg_snapshot_read(put(2, "broken.json", "{\"a\": "), &was, err, sizeof err), CFG_ERR_SYNTAX);
    CHECK(was == NULL && strstr(err, "broken.json:1:") != NULL);
    CHECK_EQ_INT(cfg_reload_applies("api_keys_file"), 1);
    CHECK_EQ_INT(cfg_reload_applies("listen_port"), 0);
    CHECK_EQ_INT(cfg_reload_applies("archive"), 0);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_cfg_reload.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_take();
    test_key_file_refusals();
    test_diff();
    nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    return check_report("test_cfg_reload");
}
