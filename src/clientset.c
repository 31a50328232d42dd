/*
 * clientset.c: a worker's clients (see clientset.h).  The owning worker
 * thread only.  Finding a client by id is O(1) on average: the hash
 * doubles when it holds as many clients as slots.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clientset.h"
#include "xmalloc.h"

#define CLIENTSET_MIN 256

static struct client **
slot(struct client **byid, size_t cap, uint64_t id)
{
    return &byid[(id * 0x9E3779B97F4A7C15ULL >> 20) & (cap - 1)];
}

void
clientset_init(struct clientset *set)
{
    memset(set, 0, sizeof(*set));
    set->cap = CLIENTSET_MIN;
    set->byid = xcalloc(set->cap, sizeof(*set->byid));
}

/* Free the table; the clients themselves are the caller's. */
void
clientset_free(struct clientset *set)
{
    free(set->byid);
    memset(set, 0, sizeof(*set));
}

static void
grow(struct clientset *set)
{
    size_t cap = set->cap * 2;
    struct client **byid = xcalloc(cap, sizeof(*byid));

    for (struct client *c = set->first; c != NULL; c = c->next) {
        struct client **s = slot(byid, cap, c->id);
        c->hnext = *s;
        *s = c;
    }
    free(set->byid);
    set->byid = byid;
    set->cap = cap;
}

/* Add c (its id not in set yet). */
void
clientset_add(struct clientset *set, struct client *c)
{
    struct client **s;

    if (set->n >= set->cap)
        grow(set);
    s = slot(set->byid, set->cap, c->id);
    c->hnext = *s;
    *s = c;
    c->prev = NULL;
    c->next = set->first;
    if (set->first)
        set->first->prev = c;
    set->first = c;
    set->n++;
}

/* Remove c, which is in set. */
void
clientset_remove(struct clientset *set, struct client *c)
{
    struct client **pp = slot(set->byid, set->cap, c->id);

    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    if (c->prev)
        c->prev->next = c->next;
    else
        set->first = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = c->hnext = NULL;
    set->n--;
}

struct client *
clientset_find(const struct clientset *set, uint64_t id)
{
    for (struct client *c = *slot(set->byid, set->cap, id); c != NULL;
         c = c->hnext)
        if (c->id == id)
            return c;
    return NULL;
}
