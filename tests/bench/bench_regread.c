/*
 * bench_regread.c - the time to read the whole registry once: the floor
 * under building a merger plan (gateway/merge/gw_plan.h reads it the same
 * way, q_plan.h's q_reg_scan).
 *
 *   bench_regread PORT [COUNT]
 *
 * SCAN over spk:{*}:sub:* (COUNT per step, default 1000), and for each step
 * the entries' fields (HMGET net status cs cert) pipelined, then the
 * certificates decoded and their subjects read (O, CN, UID: what the rules
 * look at).  Prints one JSON object:
 *
 *   {"entries": N, "cert_bytes": B, "read_s": s, "decode_s": s, "subject_only_s": s,
 *    "scan_steps": k, "undecodable": 0}
 *
 * read_s is Redis alone (SCAN + HMGET round trips and the replies), decode_s
 * d2i_X509 and the subject's attributes on top, subject_only_s the same
 * attributes from the subject Name alone (decode_subject; both must agree,
 * else the entry counts as undecodable); repeats SCAN may return are counted
 * as read (the plan drops them by msisdn).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/x509.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The subject attributes the rules read; 0 when the certificate parses. */
static int decode(const char *der, size_t len, char *o, char *cn, char *uid, size_t cap)
{
    const unsigned char *p = (const unsigned char *)der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    X509_NAME *n = x ? X509_get_subject_name(x) : NULL;
    if (!n) {
        X509_free(x);
        return -1;
    }
    X509_NAME_get_text_by_NID(n, NID_organizationName, o, (int)cap);
    X509_NAME_get_text_by_NID(n, NID_commonName, cn, (int)cap);
    X509_NAME_get_text_by_NID(n, NID_userId, uid, (int)cap);
    X509_free(x);
    return 0;
}

/*
 * The same attributes from the subject alone: the DER walked with
 * ASN1_get_object to tbsCertificate's sixth field and only that Name
 * decoded.  OpenSSL 3.0's d2i_X509 also decodes the public key through its
 * provider decoders, which costs most of the time above.
 */
static int decode_subject(const char *der, size_t len, char *o, char *cn, char *uid, size_t cap)
{
    const unsigned char *p = (const unsigned char *)der, *end = p + len, *q;
    long l;
    int tag, cls;
    X509_NAME *n;

    /* Certificate SEQUENCE, tbsCertificate SEQUENCE: step into both */
    for (int i = 0; i < 2; i++)
        if (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80 || tag != V_ASN1_SEQUENCE)
            return -1;
    /* [0] version (optional), serial, signature, issuer, validity: step over */
    for (int field = 0; field < 5; field++) {
        q = p;
        if (ASN1_get_object(&q, &l, &tag, &cls, end - p) & 0x80)
            return -1;
        if (field == 0 && cls != V_ASN1_CONTEXT_SPECIFIC)
            field++; /* no version: this is the serial */
        p = q + l;
    }
    q = p;
    n = d2i_X509_NAME(NULL, &q, end - p);
    if (!n)
        return -1;
    X509_NAME_get_text_by_NID(n, NID_organizationName, o, (int)cap);
    X509_NAME_get_text_by_NID(n, NID_commonName, cn, (int)cap);
    X509_NAME_get_text_by_NID(n, NID_userId, uid, (int)cap);
    X509_NAME_free(n);
    return 0;
}

int main(int argc, char **argv)
{
    redisContext *c;
    unsigned long long cursor = 0, entries = 0, bytes = 0, steps = 0, bad = 0;
    unsigned count = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 1000;
    double t0, t_read = 0, t_dec = 0, t_subj = 0;
    char o[256], cn[256], uid[64], o2[256], cn2[256], uid2[64];

    if (argc < 2 || !count) {
        fprintf(stderr, "usage: bench_regread PORT [COUNT]\n");
        return 2;
    }
    c = redisConnect("127.0.0.1", (int)strtol(argv[1], NULL, 10));
    if (!c || c->err) {
        fprintf(stderr, "bench_regread: cannot connect: %s\n", c ? c->errstr : "out of memory");
        return 1;
    }
    do {
        redisReply *r, *keys, **fields;
        size_t n;
        t0 = now_s();
        r = redisCommand(c, "SCAN %llu MATCH spk:{*}:sub:* COUNT %u", cursor, count);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            fprintf(stderr, "bench_regread: SCAN failed\n");
            return 1;
        }
        cursor = strtoull(r->element[0]->str, NULL, 10);
        keys = r->element[1];
        n = keys->elements;
        for (size_t i = 0; i < n; i++)
            redisAppendCommand(c, "HMGET %s net status cs cert", keys->element[i]->str);
        fields = calloc(n ? n : 1, sizeof *fields);
        for (size_t i = 0; i < n; i++)
            if (redisGetReply(c, (void **)&fields[i]) != REDIS_OK) {
                fprintf(stderr, "bench_regread: HMGET failed\n");
                return 1;
            }
        t_read += now_s() - t0;
        for (size_t i = 0; i < n; i++) {
            redisReply *cert = fields[i] && fields[i]->elements == 4 ? fields[i]->element[3] : NULL;
            if (cert && cert->type == REDIS_REPLY_STRING) {
                bytes += cert->len;
                double t1 = now_s();
                if (decode(cert->str, cert->len, o, cn, uid, sizeof uid) != 0)
                    bad++;
                t_dec += now_s() - t1;
                t1 = now_s();
                if (decode_subject(cert->str, cert->len, o2, cn2, uid2, sizeof uid2) != 0 || strcmp(o, o2) != 0 ||
                    strcmp(cn, cn2) != 0 || strcmp(uid, uid2) != 0)
                    bad++;
                t_subj += now_s() - t1;
            }
            entries++;
            freeReplyObject(fields[i]);
        }
        free(fields);
        freeReplyObject(r);
        steps++;
    } while (cursor != 0);
    printf("{\"entries\": %llu, \"cert_bytes\": %llu, \"read_s\": %.3f, \"decode_s\": %.3f, "
           "\"subject_only_s\": %.3f, \"scan_steps\": %llu, \"undecodable\": %llu}\n",
           entries, bytes, t_read, t_dec, t_subj, steps, bad);
    redisFree(c);
    return 0;
}
