/*
 * gw_idtab.h - a small intrusive hash table keyed by a string (a
 * transaction id): the engine's in-flight commands and the completion hub's
 * waiters and own transactions.
 *
 * Intrusive: the caller embeds a struct gw_idtab_node in its own struct and
 * gets back to it with GW_IDTAB_ENTRY; the table allocates nothing per
 * entry and never frees one.  Several entries may share a key (the hub's
 * waiters on one id); gw_idtab_find and gw_idtab_next walk them.
 *
 *   struct waiter { struct gw_idtab_node node; char id[27]; ... };
 *   gw_idtab_add(t, &w->node, w->id);
 *   for (n = gw_idtab_find(t, id); n; n = gw_idtab_next(n))
 *       use(GW_IDTAB_ENTRY(n, struct waiter, node));
 *
 * One thread (the event loop); no locking.
 */
#ifndef SIMPKI_GW_IDTAB_H
#define SIMPKI_GW_IDTAB_H

#include <stddef.h>

/* Embedded in the caller's struct; the fields are the table's. */
struct gw_idtab_node {
    struct gw_idtab_node *next; /* chain */
    const char *key;            /* borrowed from the entry: lives as long as it is in the table */
};

/* The struct that holds node n as its member `member`. */
#define GW_IDTAB_ENTRY(n, type, member) ((type *)(void *)((char *)(n)-offsetof(type, member)))

struct gw_idtab;

/* A table of `buckets` chains (a power of two is not needed).  NULL when out of memory or buckets is 0. */
struct gw_idtab *gw_idtab_new(size_t buckets);
/* Frees the table, not its entries (gw_idtab_drain them first).  NULL does nothing. */
void gw_idtab_free(struct gw_idtab *t);

/* Adds n under key (borrowed, usually inside the entry).  An entry is in at most one table at a time. */
void gw_idtab_add(struct gw_idtab *t, struct gw_idtab_node *n, const char *key);
/* Removes n; 0 when it was not in the table (nothing changes), 1 when removed. */
int gw_idtab_remove(struct gw_idtab *t, struct gw_idtab_node *n);

/* The most recently added entry with key; NULL if none. */
struct gw_idtab_node *gw_idtab_find(const struct gw_idtab *t, const char *key);
/* The next entry (older) with n's key; NULL after the last.  n may have just been removed (not freed). */
struct gw_idtab_node *gw_idtab_next(const struct gw_idtab_node *n);

/* Entries in the table. */
size_t gw_idtab_count(const struct gw_idtab *t);

/*
 * Removes every entry, calling fn(entry, arg) after each is out of the table:
 * fn may free it, and may remove or add others.
 */
void gw_idtab_drain(struct gw_idtab *t, void (*fn)(struct gw_idtab_node *n, void *arg), void *arg);

#endif /* SIMPKI_GW_IDTAB_H */
