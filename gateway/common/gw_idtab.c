/* gw_idtab.c - see gw_idtab.h. */
#include "gw_idtab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct gw_idtab {
    size_t n_buckets;
    size_t count;
    struct gw_idtab_node *b[]; /* chains, newest first */
};

struct gw_idtab *gw_idtab_new(size_t buckets)
{
    struct gw_idtab *t;

    if (buckets == 0 || buckets > (SIZE_MAX - sizeof(*t)) / sizeof(t->b[0]))
        return NULL;
    t = calloc(1, sizeof(*t) + buckets * sizeof(t->b[0]));
    if (t)
        t->n_buckets = buckets;
    return t;
}

void gw_idtab_free(struct gw_idtab *t)
{
    free(t);
}

static struct gw_idtab_node **chain_of(const struct gw_idtab *t, const char *key)
{
    return (struct gw_idtab_node **)&t->b[util_fnv1a(key) % t->n_buckets];
}

void gw_idtab_add(struct gw_idtab *t, struct gw_idtab_node *n, const char *key)
{
    struct gw_idtab_node **head = chain_of(t, key);

    n->key = key;
    n->next = *head;
    *head = n;
    t->count++;
}

int gw_idtab_remove(struct gw_idtab *t, struct gw_idtab_node *n)
{
    for (struct gw_idtab_node **pp = chain_of(t, n->key); *pp; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next; /* n->next kept: a walk standing on n goes on */
            t->count--;
            return 1;
        }
    }
    return 0;
}

/* The first entry from n on (n included) whose key is key. */
static struct gw_idtab_node *same_key(struct gw_idtab_node *n, const char *key)
{
    while (n && strcmp(n->key, key) != 0)
        n = n->next;
    return n;
}

struct gw_idtab_node *gw_idtab_find(const struct gw_idtab *t, const char *key)
{
    return same_key(*chain_of(t, key), key);
}

struct gw_idtab_node *gw_idtab_next(const struct gw_idtab_node *n)
{
    return same_key(n->next, n->key);
}

size_t gw_idtab_count(const struct gw_idtab *t)
{
    return t->count;
}

void gw_idtab_drain(struct gw_idtab *t, void (*fn)(struct gw_idtab_node *n, void *arg), void *arg)
{
    for (size_t i = 0; i < t->n_buckets; i++) {
        while (t->b[i]) {
            struct gw_idtab_node *n = t->b[i];
            t->b[i] = n->next;
            n->next = NULL;
            t->count--;
            fn(n, arg);
        }
    }
}
