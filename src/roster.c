/*
 * roster.c: a set of nicknames with O(1) lookup in any case (roster.h).
 * No locks and no globals: the caller serializes access to a roster.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster.h"
#include "xmalloc.h"

/* Put entry i into the index (there is room). */
static void
roster_index(struct roster *r, size_t i)
{
    size_t j = proto_nick_hash(r->v[i]) & (r->icap - 1);

    while (r->idx[j] != 0)
        j = (j + 1) & (r->icap - 1);
    r->idx[j] = (uint32_t)i + 1;
}

/* Rebuild the index with room for at least twice the entries. */
static void
roster_reindex(struct roster *r)
{
    size_t icap = 64;

    while (icap < 2 * (r->n + 1))
        icap *= 2;
    free(r->idx);
    r->idx = xcalloc(icap, sizeof(*r->idx));
    r->icap = icap;
    for (size_t i = 0; i < r->n; i++)
        roster_index(r, i);
}

/* Index of nick (any case) in r, or -1.  O(1) on average. */
ssize_t
roster_find(const struct roster *r, const char *nick)
{
    if (r->icap == 0)
        return -1;
    for (size_t j = proto_nick_hash(nick) & (r->icap - 1); r->idx[j] != 0;
         j = (j + 1) & (r->icap - 1))
        if (proto_nick_equal(r->v[r->idx[j] - 1], nick))
            return (ssize_t)r->idx[j] - 1;
    return -1;
}

/*
 * Add nick, or take its new spelling if r has it in another case.
 * Returns 1 if it was added, 0 if it was there, -1 if r is full.
 */
int
roster_add(struct roster *r, const char *nick)
{
    ssize_t i = roster_find(r, nick);

    if (i >= 0) {
        snprintf(r->v[i], sizeof(r->v[i]), "%s", nick);
        return 0;
    }
    if (r->n >= ROSTER_MAX)
        return -1;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    snprintf(r->v[r->n++], sizeof(r->v[0]), "%s", nick);
    if (2 * r->n > r->icap)
        roster_reindex(r);
    else
        roster_index(r, r->n - 1);
    return 1;
}

/*
 * Remove nick: the last entry takes its place and the index is rebuilt
 * (a leave costs O(n); finding and adding stay O(1)).  Returns 1 if it
 * was there, else 0.
 */
int
roster_del(struct roster *r, const char *nick)
{
    ssize_t i = roster_find(r, nick);

    if (i < 0)
        return 0;
    memcpy(r->v[i], r->v[--r->n], sizeof(r->v[0]));
    roster_reindex(r);
    return 1;
}

void
roster_free(struct roster *r)
{
    free(r->v);
    free(r->idx);
    memset(r, 0, sizeof(*r));
}
