/*
 * wrooms.c: a worker's rooms and its clients' memberships (see
 * wrooms.h).  The owning worker thread only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "wrooms.h"
#include "xmalloc.h"

static size_t
slot(const struct wrooms *set, uint32_t id)
{
    return (id * 2654435761u >> 4) & (set->cap - 1);
}

void
wrooms_init(struct wrooms *set)
{
    set->cap = 64;
    set->n = 0;
    set->b = xcalloc(set->cap, sizeof(*set->b));
}

/* Free the table (every client must have left its rooms). */
void
wrooms_free(struct wrooms *set)
{
    for (size_t i = 0; i < set->cap; i++) {
        struct wroom *r, *next;
        for (r = set->b[i]; r != NULL; r = next) {
            next = r->hnext;
            free(r);
        }
    }
    free(set->b);
    memset(set, 0, sizeof(*set));
}

struct wroom *
wrooms_find(const struct wrooms *set, uint32_t id)
{
    for (struct wroom *r = set->b[slot(set, id)]; r != NULL; r = r->hnext)
        if (r->id == id)
            return r;
    return NULL;
}

static void
grow(struct wrooms *set)
{
    struct wroom **old = set->b;
    size_t oldcap = set->cap;

    set->cap *= 2;
    set->b = xcalloc(set->cap, sizeof(*set->b));
    for (size_t i = 0; i < oldcap; i++) {
        struct wroom *r, *next;
        for (r = old[i]; r != NULL; r = next) {
            size_t k = slot(set, r->id);
            next = r->hnext;
            r->hnext = set->b[k];
            set->b[k] = r;
        }
    }
    free(old);
}

/* The room with id, made here if it has no members here yet. */
static struct wroom *
open_room(struct wrooms *set, uint32_t id)
{
    struct wroom *r = wrooms_find(set, id);
    size_t k;

    if (r != NULL)
        return r;
    if (set->n >= set->cap)
        grow(set);
    r = xcalloc(1, sizeof(*r));
    r->id = id;
    k = slot(set, id);
    r->hnext = set->b[k];
    set->b[k] = r;
    set->n++;
    return r;
}

static void
close_room(struct wrooms *set, struct wroom *r)
{
    struct wroom **pp = &set->b[slot(set, r->id)];

    while (*pp != r)
        pp = &(*pp)->hnext;
    *pp = r->hnext;
    set->n--;
    free(r);
}

/* c's membership of room id, or NULL. */
struct wmember *
wrooms_member(const struct client *c, uint32_t id)
{
    for (size_t i = 0; i < c->nrooms; i++)
        if (c->rooms[i]->id == id)
            return c->rooms[i];
    return NULL;
}

/* Make c a member of room id here (it is not one); returns it. */
struct wmember *
wrooms_join(struct wrooms *set, struct client *c, uint32_t id,
            const char *name, int is_default, uint64_t join_seq)
{
    struct wroom *r = open_room(set, id);
    struct wmember *m = xcalloc(1, sizeof(*m));

    m->c = c;
    m->room = r;
    m->id = id;
    m->is_default = is_default;
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->join_seq = join_seq;
    m->next = r->first;
    if (r->first)
        r->first->prev = m;
    r->first = m;
    r->n++;
    if (c->nrooms == c->caprooms) {
        c->caprooms = c->caprooms ? c->caprooms * 2 : 4;
        c->rooms = xrealloc(c->rooms, c->caprooms * sizeof(*c->rooms));
    }
    c->rooms[c->nrooms++] = m;
    return m;
}

/* End c's i-th membership (the others keep their join order). */
void
wrooms_leave(struct wrooms *set, struct client *c, size_t i)
{
    struct wmember *m = c->rooms[i];
    struct wroom *r = m->room;

    if (m->prev)
        m->prev->next = m->next;
    else
        r->first = m->next;
    if (m->next)
        m->next->prev = m->prev;
    if (--r->n == 0)
        close_room(set, r);
    free(m);
    memmove(c->rooms + i, c->rooms + i + 1,
            (c->nrooms - i - 1) * sizeof(*c->rooms));
    c->nrooms--;
}
