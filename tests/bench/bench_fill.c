/*
 * bench_fill.c - Redis memory per pending transaction, and whether the hot
 * path slows down as pending transactions pile up.
 *
 *   bench_fill PORT SHARDS CERT_DER LEVELS [PROBES]
 *
 * LEVELS is a comma list of pending counts (e.g. 1000,10000,100000,1000000).
 * It registers one filler subscriber per pending transaction (numbers
 * 8497xxxxxxx, pipelined HSET in the registry layout of q.h, the given
 * certificate), then for each level creates pending transactions up to that
 * count through the gateway's own code (q_txn_create then q_txn_sent: the
 * state a transaction is in while its SIM thinks), reads INFO memory, and
 * times PROBES (default 2000) create + finish pairs, one at a time, on 100
 * probe subscribers.  Each level prints one JSON object on stdout:
 *
 *   {"pending":N,"used_memory":B,"bytes_per_pending":b,"create_us":{p50,p99},"finish_us":{p50,p99}}
 *
 * bytes_per_pending = (used_memory now - used_memory with the subscribers
 * registered and nothing pending) / N: the transaction hash, its due entry and
 * the subscriber's busy and counter fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "cfg.h"
#include "q.h"

#define FILL_WINDOW  2000
#define PROBE_SUBS   100
#define FILLER_FIRST 84970000000ull
#define PROBE_FIRST  84979900000ull

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

struct fill {
    struct event_base *base;
    struct q *q;
    uint64_t next, target, outstanding, errors;
    uint8_t digest[32];
    /* probe */
    uint64_t probe_i, probes;
    int64_t t_start;
    int64_t *create_us, *finish_us;
    char probe_id[Q_ID_LEN];
    uint64_t probe_cntr;
    int probing;
};

static void fill_more(struct fill *f);

static void new_txn(struct fill *f, uint64_t msisdn, q_create_cb *cb, void *arg)
{
    char m[16];
    int64_t now = wall_ms();
    struct q_txn_new n = {
        .rp = "bench",
        .msisdn = m,
        .req_hash = "",
        .digest_alg = 1,
        .digest = f->digest,
        .digest_len = 32,
        .vc = "1234",
        .display_text = "K\xc3\xbd v\xc4\x83n b\xe1\xba\xa3n s\xe1\xbb\x91 123/Q\xc4\x90-UBND",
        .net = 1,
        .now_ms = now,
        .deadline_ms = now + 3600 * 1000,
        .lease_ms = 3600 * 1000,
    };
    snprintf(m, sizeof(m), "%llu", (unsigned long long)msisdn);
    q_txn_create(f->q, &n, cb, arg);
}

static void sent_cb(void *arg, enum q_err err)
{
    struct fill *f = arg;
    if (err != Q_OK)
        f->errors++;
    f->outstanding--;
    fill_more(f);
}

static void created_cb(void *arg, enum q_err err, const struct q_txn *txn, const struct q_sub *sub, int existed)
{
    struct fill *f = arg;
    (void)sub;
    (void)existed;
    if (err != Q_OK) {
        f->errors++;
        f->outstanding--;
        fill_more(f);
        return;
    }
    q_txn_sent(f->q, txn->id, sent_cb, f);
}

static void fill_more(struct fill *f)
{
    while (f->next < f->target && f->outstanding < FILL_WINDOW) {
        f->outstanding++;
        new_txn(f, FILLER_FIRST + f->next++, created_cb, f);
    }
    if (f->next >= f->target && f->outstanding == 0)
        event_base_loopbreak(f->base);
}

static void probe_next(struct fill *f);

static void probe_finished(void *arg, enum q_err err, const struct q_txn *txn)
{
    struct fill *f = arg;
    (void)txn;
    if (err != Q_OK)
        f->errors++;
    f->finish_us[f->probe_i] = now_us() - f->t_start;
    f->probe_i++;
    probe_next(f);
}

static void probe_created(void *arg, enum q_err err, const struct q_txn *txn, const struct q_sub *sub, int existed)
{
    struct fill *f = arg;
    struct q_finish fin = {.state = Q_COMPLETED,
                           .result = "OK",
                           .etsi_status = 502,
                           .signature = f->digest,
                           .sig_len = 32,
                           .now_ms = wall_ms(),
                           .retention_ms = 60000};
    (void)sub;
    (void)existed;
    f->create_us[f->probe_i] = now_us() - f->t_start;
    if (err != Q_OK) {
        f->errors++;
        f->finish_us[f->probe_i] = 0;
        f->probe_i++;
        probe_next(f);
        return;
    }
    f->t_start = now_us();
    q_txn_finish(f->q, txn->id, txn->cntr, &fin, probe_finished, f);
}

static void probe_next(struct fill *f)
{
    if (f->probe_i >= f->probes) {
        event_base_loopbreak(f->base);
        return;
    }
    f->t_start = now_us();
    new_txn(f, PROBE_FIRST + f->probe_i % PROBE_SUBS, probe_created, f);
}

static long long used_memory(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO memory");
    long long v = -1;
    const char *p;
    if (r && r->type == REDIS_REPLY_STRING && (p = strstr(r->str, "used_memory:")) != NULL)
        v = strtoll(p + 12, NULL, 10);
    freeReplyObject(r);
    return v;
}

static int register_subs(redisContext *c, unsigned shards, const uint8_t *cert, size_t cert_len, uint64_t first,
                         uint64_t n)
{
    for (uint64_t i = 0; i < n; i += 1000) {
        uint64_t end = i + 1000 < n ? i + 1000 : n;
        for (uint64_t j = i; j < end; j++) {
            char m[16], key[64], iccid[24];
            snprintf(m, sizeof(m), "%llu", (unsigned long long)(first + j));
            snprintf(key, sizeof(key), "spk:{%u}:sub:%s", q_shard_of(m, shards), m);
            snprintf(iccid, sizeof(iccid), "8984040000%s", m + 2);
            redisAppendCommand(c, "HSET %s msisdn %s net 1 iccid %s kv 1 status active cert %b", key, m, iccid, cert,
                               cert_len);
        }
        for (uint64_t j = i; j < end; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type == REDIS_REPLY_ERROR) {
                fprintf(stderr, "bench_fill: HSET failed\n");
                freeReplyObject(r);
                return -1;
            }
            freeReplyObject(r);
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct cfg_redis rc = {.host = "127.0.0.1", .connect_timeout_ms = 2000};
    struct fill f = {0};
    redisContext *c;
    uint64_t levels[16], n_levels = 0, max = 0;
    uint8_t cert[8192];
    size_t cert_len;
    long long base_mem;
    FILE *fp;
    char *tok, *save = NULL;

    if (argc < 5) {
        fprintf(stderr, "usage: bench_fill PORT SHARDS CERT_DER LEVELS [PROBES]\n");
        return 2;
    }
    rc.port = (uint16_t)strtoul(argv[1], NULL, 10);
    rc.shards = (unsigned)strtoul(argv[2], NULL, 10);
    fp = fopen(argv[3], "rb");
    if (!fp)
        return 1;
    cert_len = fread(cert, 1, sizeof(cert), fp);
    fclose(fp);
    for (tok = strtok_r(argv[4], ",", &save); tok && n_levels < 16; tok = strtok_r(NULL, ",", &save)) {
        levels[n_levels] = strtoull(tok, NULL, 10);
        if (levels[n_levels] > max)
            max = levels[n_levels];
        n_levels++;
    }
    f.probes = argc > 5 ? strtoull(argv[5], NULL, 10) : 2000;
    f.create_us = calloc(f.probes, sizeof(int64_t));
    f.finish_us = calloc(f.probes, sizeof(int64_t));
    for (size_t i = 0; i < sizeof(f.digest); i++)
        f.digest[i] = (uint8_t)(i * 7 + 1);

    c = redisConnect("127.0.0.1", rc.port);
    if (!c || c->err) {
        fprintf(stderr, "bench_fill: cannot connect to Redis\n");
        return 1;
    }
    if (register_subs(c, rc.shards, cert, cert_len, FILLER_FIRST, max) != 0 ||
        register_subs(c, rc.shards, cert, cert_len, PROBE_FIRST, PROBE_SUBS) != 0)
        return 1;
    base_mem = used_memory(c);

    f.base = event_base_new();
    if (q_new(f.base, &rc, &f.q) != Q_OK)
        return 1;
    while (!q_connected(f.q))
        event_base_loop(f.base, EVLOOP_ONCE);

    for (uint64_t l = 0; l < n_levels; l++) {
        long long mem;
        int64_t t0 = now_us();
        f.target = levels[l];
        fill_more(&f);
        if (f.outstanding)
            event_base_dispatch(f.base);
        fprintf(stderr, "bench_fill: %llu pending (filled in %.1f s, %llu errors)\n", (unsigned long long)f.target,
                (double)(now_us() - t0) / 1e6, (unsigned long long)f.errors);
        mem = used_memory(c);
        f.probe_i = 0;
        probe_next(&f);
        event_base_dispatch(f.base);
        qsort(f.create_us, f.probes, sizeof(int64_t), cmp_i64);
        qsort(f.finish_us, f.probes, sizeof(int64_t), cmp_i64);
        printf("{\"pending\":%llu,\"used_memory\":%lld,\"base_memory\":%lld,\"bytes_per_pending\":%.1f,"
               "\"create_us\":{\"p50\":%lld,\"p99\":%lld},\"finish_us\":{\"p50\":%lld,\"p99\":%lld},\"errors\":%llu}\n",
               (unsigned long long)f.target, mem, base_mem, (double)(mem - base_mem) / (double)f.target,
               (long long)f.create_us[f.probes / 2], (long long)f.create_us[f.probes * 99 / 100],
               (long long)f.finish_us[f.probes / 2], (long long)f.finish_us[f.probes * 99 / 100],
               (unsigned long long)f.errors);
        fflush(stdout);
    }
    q_free(f.q);
    event_base_loop(f.base, EVLOOP_NONBLOCK);
    event_base_free(f.base);
    redisFree(c);
    free(f.create_us);
    free(f.finish_us);
    return 0;
}
