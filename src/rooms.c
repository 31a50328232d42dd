/*
 * rooms.c: the hub's rooms (see rooms.h).  Every function runs with
 * hub.lock held; the table below is the hub's and nobody else's.
 *
 * A room is found by its folded name (rooms_find()) or its id
 * (rooms_by_id(); ids are never reused, so a broadcast that names a room
 * that has gone meanwhile finds nothing rather than a newcomer).  A room
 * that is not permanent goes away, history and topic with it, when its
 * last member leaves.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "rooms.h"
#include "xmalloc.h"

#define ROOMS_BUCKETS 1024          /* per table; chains stay short */

static struct {
    struct room    *byname[ROOMS_BUCKETS];
    struct room    *byid[ROOMS_BUCKETS];
    struct room    *first, *last;   /* creation order */
    struct room    *deflt;
    size_t          count;
    long            max_rooms;
    size_t          history;
    int             nworkers;
    uint32_t        last_id;
} rt;

static size_t
name_slot(const char *fold)
{
    size_t h = 5381;

    for (const unsigned char *p = (const unsigned char *)fold; *p; p++)
        h = h * 33 + *p;
    return h & (ROOMS_BUCKETS - 1);
}

static size_t
id_slot(uint32_t id)
{
    return (id * 2654435761u >> 8) & (ROOMS_BUCKETS - 1);
}

struct room *
rooms_find(const char *name)
{
    char fold[PROTO_ROOM_MAX + 1];

    proto_room_fold(name, fold);
    for (struct room *r = rt.byname[name_slot(fold)]; r; r = r->hnext)
        if (strcmp(r->fold, fold) == 0)
            return r;
    return NULL;
}

struct room *
rooms_by_id(uint32_t id)
{
    for (struct room *r = rt.byid[id_slot(id)]; r; r = r->inext)
        if (r->id == id)
            return r;
    return NULL;
}

/* A new room named name (valid, not there yet), in both tables. */
static struct room *
create(const char *name, int permanent)
{
    struct room *r = xcalloc(1, sizeof(*r));
    size_t i;

    r->id = ++rt.last_id;
    snprintf(r->name, sizeof(r->name), "%s", name);
    proto_room_fold(name, r->fold);
    r->permanent = permanent;
    r->per_worker = xcalloc((size_t)rt.nworkers, sizeof(*r->per_worker));
    if (rt.history > 0) {
        r->hist = xcalloc(rt.history, sizeof(*r->hist));
        r->hist_time = xcalloc(rt.history, sizeof(*r->hist_time));
    }
    i = name_slot(r->fold);
    r->hnext = rt.byname[i];
    rt.byname[i] = r;
    i = id_slot(r->id);
    r->inext = rt.byid[i];
    rt.byid[i] = r;
    r->prev = rt.last;
    if (rt.last)
        rt.last->next = r;
    else
        rt.first = r;
    rt.last = r;
    rt.count++;
    return r;
}

static void
unchain(struct room **pp, struct room *r, int byname)
{
    while (*pp != r)
        pp = byname ? &(*pp)->hnext : &(*pp)->inext;
    *pp = byname ? r->hnext : r->inext;
}

/* Remove r (no members left) and free it. */
static void
destroy(struct room *r)
{
    unchain(&rt.byname[name_slot(r->fold)], r, 1);
    unchain(&rt.byid[id_slot(r->id)], r, 0);
    if (r->prev)
        r->prev->next = r->next;
    else
        rt.first = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        rt.last = r->prev;
    rt.count--;
    for (size_t i = 0; i < rt.history; i++)
        msg_unref(r->hist[i]);
    free(r->hist);
    free(r->hist_time);
    free(r->per_worker);
    free(r);
}

/*
 * Check a space-separated list of room names (the rooms key): 0, or -1
 * with err naming the bad one.
 */
int
rooms_check_list(const char *list, char *err, size_t errlen)
{
    char name[PROTO_ROOM_MAX + 2];
    const char *why;

    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " \t");
        if (n > 0) {
            snprintf(name, sizeof(name), "%.*s",
                     (int)(n < sizeof(name) - 1 ? n : sizeof(name) - 1), p);
            if (n > PROTO_ROOM_MAX || !proto_room_valid(name, &why)) {
                snprintf(err, errlen, "'%.*s': %s", (int)n, p,
                         n > PROTO_ROOM_MAX ? "a room name is # and 1-32 "
                         "of A-Z a-z 0-9 _ -" : why);
                return -1;
            }
        }
        p += n;
        p += strspn(p, " \t");
    }
    return 0;
}

/*
 * Set up the table: the default room and the permanent ones (a space-
 * separated list, checked).  Returns 0, or -1 with err set.  Main thread,
 * from hub_init().
 */
int
rooms_init(int nworkers, long history, long max_rooms, const char *deflt,
           const char *permanent, char *err, size_t errlen)
{
    const char *why;
    char name[PROTO_ROOM_MAX + 1];

    memset(&rt, 0, sizeof(rt));
    rt.nworkers = nworkers;
    rt.history = (size_t)history;
    rt.max_rooms = max_rooms;
    if (!proto_room_valid(deflt, &why)) {
        snprintf(err, errlen, "default-room: '%s': %s", deflt, why);
        return -1;
    }
    if (permanent && rooms_check_list(permanent, err, errlen) < 0)
        return -1;
    rt.deflt = create(deflt, 1);
    for (const char *p = permanent ? permanent : ""; *p;) {
        size_t n = strcspn(p, " \t");
        if (n > 0) {
            snprintf(name, sizeof(name), "%.*s", (int)n, p);
            if (rooms_find(name) == NULL)
                create(name, 1);
        }
        p += n;
        p += strspn(p, " \t");
    }
    return 0;
}

/* Free every room; main thread, with no member left. */
void
rooms_destroy(void)
{
    while (rt.first != NULL)
        destroy(rt.first);
    memset(&rt, 0, sizeof(rt));
}

struct room *
rooms_default(void)
{
    return rt.deflt;
}

size_t
rooms_count(void)
{
    return rt.count;
}

/*
 * The room named name, made if it is new and max-rooms allows.  Returns
 * NULL with *why when the name is bad or there are too many rooms.
 */
struct room *
rooms_open(const char *name, const char **why)
{
    struct room *r;

    if (!proto_room_valid(name, why))
        return NULL;
    if ((r = rooms_find(name)) != NULL)
        return r;
    if ((long)rt.count >= rt.max_rooms) {
        /* The error names the limit (SPEC "Rooms": Limits). */
        *why = "as many rooms exist as max-rooms allows";
        return NULL;
    }
    return create(name, 0);
}

/* Make u (of worker) a member of r; returns the membership. */
struct room_member *
rooms_add(struct room *r, struct hub_user *u, int worker)
{
    struct room_member *m = xcalloc(1, sizeof(*m));

    m->user = u;
    m->room = r;
    m->order = ++r->orders;
    m->prev = r->last;
    if (r->last)
        r->last->next = m;
    else
        r->first = m;
    r->last = m;
    r->count++;
    r->per_worker[worker]++;
    return m;
}

/* End membership m (of a user of worker) and free it; a room that is
 * not permanent goes when its last member leaves. */
void
rooms_remove(struct room_member *m, int worker)
{
    struct room *r = m->room;

    if (m->prev)
        m->prev->next = m->next;
    else
        r->first = m->next;
    if (m->next)
        m->next->prev = m->prev;
    else
        r->last = m->prev;
    r->count--;
    r->per_worker[worker]--;
    free(m);
    if (r->count == 0 && !r->permanent)
        destroy(r);
}

/* Keep m (one more reference) in r's history ring, sent at `when`
 * (seconds since the epoch, UTC). */
void
rooms_remember(struct room *r, struct msg *m, int64_t when)
{
    if (rt.history == 0)
        return;
    msg_unref(r->hist[r->hist_next]);
    msg_ref(m, 1);
    r->hist[r->hist_next] = m;
    r->hist_time[r->hist_next] = when;
    r->hist_next = (r->hist_next + 1) % rt.history;
    if (r->hist_len < rt.history)
        r->hist_len++;
}

/*
 * References to the last `max` lines of r's history (all: max 0),
 * oldest first, in a new array *out, and their times in a new array
 * *times; returns how many (0 and NULLs for none).
 */
size_t
rooms_history(struct room *r, size_t max, struct msg ***out,
              int64_t **times)
{
    size_t first, n = r->hist_len;

    *out = NULL;
    *times = NULL;
    if (max > 0 && n > max)
        n = max;
    if (n == 0)
        return 0;
    *out = xcalloc(n, sizeof(**out));
    *times = xcalloc(n, sizeof(**times));
    first = (r->hist_next + rt.history - n) % rt.history;
    for (size_t i = 0; i < n; i++) {
        size_t k = (first + i) % rt.history;
        msg_ref(r->hist[k], 1);
        (*out)[i] = r->hist[k];
        (*times)[i] = r->hist_time[k];
    }
    return n;
}

/* The first member of r who joined it after `order` (0: the first). */
struct room_member *
rooms_member_after(struct room *r, uint64_t order)
{
    struct room_member *m = r->first;

    while (m != NULL && m->order <= order)
        m = m->next;
    return m;
}

/* The first room made after the room with id `id` (0: the first). */
struct room *
rooms_after(uint32_t id)
{
    struct room *r = rt.first;

    while (r != NULL && r->id <= id)
        r = r->next;
    return r;
}
