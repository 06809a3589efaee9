/* test_gw_idtab.c - the intrusive id table (gateway/common/gw_idtab.h). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gw_idtab.h"

struct item {
    int tag;
    struct gw_idtab_node node; /* not first: GW_IDTAB_ENTRY must subtract the offset */
    char id[8];
};

static struct item *item_of(struct gw_idtab_node *n)
{
    return n ? GW_IDTAB_ENTRY(n, struct item, node) : NULL;
}

static int drained_tags;

static void drained(struct gw_idtab_node *n, void *arg)
{
    drained_tags += item_of(n)->tag;
    (*(int *)arg)++;
}

/* buckets 1: every key collides, so the chains' key checks are what is tested. */
static void test_table(size_t buckets)
{
    struct gw_idtab *t = gw_idtab_new(buckets);
    struct item it[5] = {{1, {0}, "aaa"}, {2, {0}, "bbb"}, {3, {0}, "aaa"}, {4, {0}, "ccc"}, {5, {0}, "aaa"}};
    struct gw_idtab_node *n;
    int seen = 0, calls = 0;

    CHECK(t != NULL);
    if (!t)
        return;
    for (int i = 0; i < 5; i++)
        gw_idtab_add(t, &it[i].node, it[i].id);
    CHECK_EQ_INT(gw_idtab_count(t), 5);
    CHECK(gw_idtab_find(t, "zzz") == NULL);
    CHECK(item_of(gw_idtab_find(t, "bbb")) == &it[1]);
    CHECK(gw_idtab_next(gw_idtab_find(t, "bbb")) == NULL);
    /* Several under one key: newest first, each once. */
    for (n = gw_idtab_find(t, "aaa"); n; n = gw_idtab_next(n))
        seen = seen * 10 + item_of(n)->tag;
    CHECK_EQ_INT(seen, 531);
    /* Removing the one a walk stands on: the walk goes on. */
    n = gw_idtab_find(t, "aaa");
    CHECK_EQ_INT(gw_idtab_remove(t, n), 1);
    CHECK(item_of(gw_idtab_next(n)) == &it[2]);
    CHECK_EQ_INT(gw_idtab_remove(t, n), 0); /* not there any more */
    CHECK_EQ_INT(gw_idtab_count(t), 4);
    CHECK(item_of(gw_idtab_find(t, "aaa")) == &it[2]);
    CHECK_EQ_INT(gw_idtab_remove(t, &it[0].node), 1);
    CHECK(item_of(gw_idtab_find(t, "aaa")) == &it[2]);
    CHECK(gw_idtab_next(gw_idtab_find(t, "aaa")) == NULL);
    drained_tags = 0;
    gw_idtab_drain(t, drained, &calls);
    CHECK_EQ_INT(calls, 3);
    CHECK_EQ_INT(drained_tags, 2 + 3 + 4);
    CHECK_EQ_INT(gw_idtab_count(t), 0);
    CHECK(gw_idtab_find(t, "bbb") == NULL);
    gw_idtab_free(t);
}

int main(void)
{
    test_table(1);
    test_table(1024);
    CHECK(gw_idtab_new(0) == NULL);
    gw_idtab_free(NULL);
    return check_report("test_gw_idtab");
}
