/*
 * test_mssp_txn.c - the simulated MSSP's transaction index: found in O(1)
 * by AP_TransID and by MSSP_TransID after the tables grow, kept while used,
 * forgotten keep_s after the answer and the last request, prompts counted
 * per number.  Includes the .c to reach its static functions.
 */
#include "sim_mssp_txn.c"

#include "check.h"

#define N 5000

static struct mssp_txn *mk(struct mssp_txns *t, unsigned i, int64_t now, int64_t ready)
{
    struct mssp_txn *x = calloc(1, sizeof(*x));

    if (!x)
        abort();
    snprintf(x->ap_id, sizeof(x->ap_id), "%s", i % 2 ? "http://ap.simpki.test" : "http://other.ap");
    snprintf(x->ap_transid, sizeof(x->ap_transid), "T%u", i);
    snprintf(x->id, sizeof(x->id), "SIM%08u", i);
    x->ready_ms = ready;
    x->last_ms = now;
    txn_add(t, x);
    return x;
}

static const char *ap(unsigned i)
{
    return i % 2 ? "http://ap.simpki.test" : "http://other.ap";
}

int main(void)
{
    struct sim_mssp_cfg cfg = {.keep_s = 10};
    struct mssp_txns *t = mssp_txns_new(NULL, &cfg);
    char tid[32], id[32];

    if (!t)
        return 1;
    for (unsigned i = 0; i < N; i++)
        mk(t, i, 1000, i == 7 ? NEVER : 1000 + (i == 9 ? 30000 : 0));
    CHECK(t->n_txns == N && t->n_buckets >= N);
    for (unsigned i = 0; i < N; i++) {
        snprintf(tid, sizeof(tid), "T%u", i);
        snprintf(id, sizeof(id), "SIM%08u", i);
        CHECK(find_by_ap(t, ap(i), tid, 1000) && strcmp(find_by_ap(t, ap(i), tid, 1000)->id, id) == 0);
        CHECK(find_by_id(t, ap(i), id, 1000) && strcmp(find_by_id(t, ap(i), id, 1000)->ap_transid, tid) == 0);
        CHECK(!find_by_ap(t, ap(i + 1), tid, 1000)); /* another AP's AP_TransID space */
        CHECK(!find_by_id(t, ap(i + 1), id, 1000));
    }
    /* Kept keep_s after the answer and the last request; 5 is used again at 9000. */
    expire(t, 10999);
    CHECK(t->n_txns == N);
    CHECK(find_by_ap(t, ap(5), "T5", 9000));
    /*
     * 0-4, 6, 8 and 7 (never answered, not asked since 1000) go; 9 answers
     * at 31000 and, first in the age list now, holds back those behind it.
     */
    expire(t, 11000);
    CHECK(t->n_txns == N - 8);
    CHECK(!find_by_ap(t, ap(7), "T7", 11000) && !find_by_id(t, ap(0), "SIM00000000", 11000));
    CHECK(find_by_id(t, ap(5), "SIM00000005", 11000)); /* used now: kept until 21000 */
    expire(t, 40999);
    CHECK(t->n_txns == N - 8);
    expire(t, 41000);
    CHECK(t->n_txns == 0 && !t->oldest && !t->newest);
    for (unsigned i = 0; i < N; i++)
        CHECK(!t->by_ap[i & (t->n_buckets - 1)] && !t->by_id[i & (t->n_buckets - 1)]);
    /* New ones after everything expired. */
    mk(t, 1, 50000, 50000);
    CHECK(find_by_ap(t, ap(1), "T1", 50000) && t->n_txns == 1);

    for (unsigned i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "849600%05u", i);
        for (unsigned k = 0; k <= i % 3; k++)
            count_prompt(t, id);
    }
    CHECK(t->n_prompts == N && t->n_pbuckets >= N);
    for (unsigned i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "849600%05u", i);
        CHECK(mssp_txn_prompts(t, id) == i % 3 + 1);
    }
    CHECK(mssp_txn_prompts(t, "84960099999") == 0);
    mssp_txns_free(t);
    return check_report("test_mssp_txn");
}
