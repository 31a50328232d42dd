/*
 * clrooms.c: the cluster's rooms (see "Rooms" in cluster.c): the table of
 * the rooms this node has members in (struct cl_room, cluster_int.h) and
 * their channels; the hub's hooks (cl_room_hook(), cl_room_members());
 * the rooms' part of the heartbeat (R, T); and, for the cluster thread,
 * holding a room's broadcasts until its subscription is confirmed and
 * keeping the subscriptions in step with the members (cl_rooms_sync()).
 *
 * Threads and locks: the table is guarded by cl.lock; the hooks run on
 * workers with hub.lock held (then cl.lock); the *_page() lookups on
 * workers; the rest on the cluster thread.  No lock is held across a
 * Redis call.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "hub.h"
#include "msg.h"
#include "wakeup.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* The table (cl.lock held)                                            */
/* ------------------------------------------------------------------ */

static size_t
room_slot(const char *fold)
{
    size_t h = 5381;

    for (const unsigned char *p = (const unsigned char *)fold; *p; p++)
        h = h * 33 + *p;
    return h % CL_ROOM_BUCKETS;
}

struct cl_room *
cl_room_find(const char *fold)
{
    for (struct cl_room *r = cl.rooms[room_slot(fold)]; r; r = r->hnext)
        if (strcmp(r->fold, fold) == 0)
            return r;
    return NULL;
}

/* The entry of room fold, made if new (not wanted yet). */
struct cl_room *
cl_room_get(const char *fold)
{
    struct cl_room *r = cl_room_find(fold);
    size_t i;

    if (r != NULL)
        return r;
    r = xcalloc(1, sizeof(*r));
    snprintf(r->fold, sizeof(r->fold), "%s", fold);
    snprintf(r->name, sizeof(r->name), "%s", fold);
    snprintf(r->chan, sizeof(r->chan), "%s:room:%s", cl.redis.channel,
             fold);
    r->held_tail = &r->held;
    i = room_slot(fold);
    r->hnext = cl.rooms[i];
    cl.rooms[i] = r;
    return r;
}

void
cl_room_unref(struct cl_room *r)
{
    r->refs--;
}

/* Free the entries of rooms nobody here is in and nothing is left of. */
void
cl_room_gc(void)
{
    for (size_t i = 0; i < CL_ROOM_BUCKETS; i++)
        for (struct cl_room **pp = &cl.rooms[i]; *pp != NULL;) {
            struct cl_room *r = *pp;
            if (r->want || r->refs > 0 || r->sub || r->pending > 0 ||
                r->held != NULL) {
                pp = &r->hnext;
                continue;
            }
            *pp = r->hnext;
            free(r);
        }
}

/* clnodes' room_id: the local id of room fold (see clnodes_room_fn). */
uint32_t
cl_room_local_id(void *arg, const char *fold, char name[PROTO_ROOM_MAX + 1])
{
    struct cl_room *r;

    (void)arg;
    if (strcmp(fold, cl.deflt) == 0)
        return MBOX_ROOM_DEFAULT;
    if ((r = cl_room_find(fold)) == NULL || !r->want || r->id == 0)
        return 0;
    memcpy(name, r->name, PROTO_ROOM_MAX + 1);
    return r->id;
}

/*
 * The hub's room hook: room `name` (id `id`) has its first member here
 * (want 1: subscribe; topic, if not NULL, gets the topic the other nodes
 * tell, or "") or lost its last (want 0: unsubscribe once its last
 * broadcasts are out).  hub.lock held; takes cl.lock.
 */
void
cl_room_hook(const char *name, uint32_t id, int want, char *topic)
{
    char fold[PROTO_ROOM_MAX + 1];
    struct cl_room *r;

    proto_room_fold(name, fold);
    pthread_mutex_lock(&cl.lock);
    if (cl.stopping) {              /* the table goes with the thread */
        pthread_mutex_unlock(&cl.lock);
        if (topic != NULL)
            topic[0] = '\0';
        return;
    }
    r = cl_room_get(fold);
    r->want = want;
    r->id = want ? id : 0;
    snprintf(r->name, sizeof(r->name), "%s", name);
    if (topic != NULL && !(cl.up &&
                           clnodes_room_topic(&cl.nodes, fold, topic)))
        topic[0] = '\0';
    pthread_mutex_unlock(&cl.lock);
    wakeup_post(cl.efd);
}

/* The hub's count hook: members of room name on the other nodes
 * reachable now (the default room: all their users).  hub.lock held (or
 * none); takes cl.lock. */
size_t
cl_room_members(const char *name)
{
    char fold[PROTO_ROOM_MAX + 1];
    size_t n = 0;

    proto_room_fold(name, fold);
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        n = strcmp(fold, cl.deflt) == 0 ? clnodes_users(&cl.nodes)
          : clnodes_room_count(&cl.nodes, fold);
    pthread_mutex_unlock(&cl.lock);
    return n;
}

/* One page of room name's members on the other nodes (see
 * cluster_who_page()).  Any worker thread. */
int
cluster_room_who_page(const char *name, size_t *node, size_t *pos,
                      size_t max, void (*add)(void *arg, const char *nick),
                      void *arg)
{
    char fold[PROTO_ROOM_MAX + 1];
    int more = 0;

    if (!cl.enabled)
        return 0;
    proto_room_fold(name, fold);
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        more = clnodes_room_who_page(&cl.nodes, fold, node, pos, max, add,
                                     arg);
    pthread_mutex_unlock(&cl.lock);
    return more;
}

/* One page of the rooms the other nodes have members in (each once, with
 * the members of all the other nodes): see clnodes_rooms_page().  Any
 * worker thread; no lock held. */
size_t
cluster_rooms_page(size_t *cursor, struct clnodes_room *out, size_t max)
{
    size_t n = 0;

    if (!cl.enabled || *cursor == SIZE_MAX) {
        *cursor = SIZE_MAX;
        return 0;
    }
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        n = clnodes_rooms_page(&cl.nodes, cursor, out, max);
    else
        *cursor = SIZE_MAX;
    pthread_mutex_unlock(&cl.lock);
    return n;
}


/* A broadcast's channel: a room's for p a j l t (CHANNEL:rooms for the
 * default room's topic), else CHANNEL.  cl.lock held. */
void
cl_room_channel(struct cl_item *it)
{
    char room[PROTO_ROOM_MAX + 1], fold[PROTO_ROOM_MAX + 1];

    if (!clwire_body_room(it->wire->data, it->wire->len, room))
        return;
    proto_room_fold(room, fold);
    if (strcmp(fold, cl.deflt) == 0)
        it->dir = 1;
    else
        it->croom = cl_room_get(fold);
}


/* The rooms' roster (R) being made, and the topics (T) to send after. */
struct rchunk {
    char            buf[CL_CHUNK + PROTO_ROOM_MAX + 8];
    size_t          len;
    struct msg    **topics;
    size_t          ntopics, cap;
};

static void
rchunk_put(struct rchunk *rc, const char *name)
{
    if (rc->len > CL_CHUNK) {
        cl_enqueue_dir(clwire_room_roster(1, rc->buf, rc->len));
        rc->len = 0;
    }
    rc->len += (size_t)snprintf(rc->buf + rc->len,
                                sizeof(rc->buf) - rc->len, " %s", name);
}

/*
 * hub_each_room() callback: a room (j), one of its members here (nick),
 * or the end (both NULL): then the last part and the topics go out.
 * hub.lock held.
 */
static void
rchunk_add(void *arg, const struct hub_joined *j, const char *nick)
{
    struct rchunk *rc = arg;

    if (j == NULL && nick == NULL) {
        cl_enqueue_dir(clwire_room_roster(0, rc->buf, rc->len));
        for (size_t i = 0; i < rc->ntopics; i++)
            cl_enqueue_dir(rc->topics[i]);
        free(rc->topics);
        return;
    }
    if (nick != NULL) {
        rchunk_put(rc, nick);
        return;
    }
    if (!j->is_default)
        rchunk_put(rc, j->name);
    if (j->topic[0] == '\0')
        return;
    if (rc->ntopics == rc->cap) {
        rc->cap = rc->cap ? rc->cap * 2 : 8;
        rc->topics = xrealloc(rc->topics, rc->cap * sizeof(*rc->topics));
    }
    rc->topics[rc->ntopics++] = clwire_room_state(j->name, j->topic);
}


/* Free every entry (stopping: the thread has ended).  cl.lock held. */
void
cl_room_free_all(void)
{
    for (size_t i = 0; i < CL_ROOM_BUCKETS; i++)
        while (cl.rooms[i] != NULL) {
            struct cl_room *r = cl.rooms[i];
            cl.rooms[i] = r->hnext;
            free(r);
        }
}

/* How many rooms' channels are subscribed now (stats).  cl.lock held. */
size_t
cl_room_channels(void)
{
    size_t n = 0;

    for (size_t i = 0; i < CL_ROOM_BUCKETS; i++)
        for (struct cl_room *r = cl.rooms[i]; r != NULL; r = r->hnext)
            n += r->sub && r->pending == 0;
    return n;
}

/* The rooms' part of a heartbeat: R parts, then T.  Cluster thread, no
 * lock held. */
void
cl_heartbeat_rooms(void)
{
    struct rchunk rc = { .len = 0 };

    hub_each_room(rchunk_add, &rc);
}

/* ------------------------------------------------------------------ */
/* The cluster thread's side                                           */
/* ------------------------------------------------------------------ */

/* What chan is; for a room's, *fold points to its folded name. */
enum cl_chan
cl_chan_kind(const char *chan, const char **fold)
{
    size_t n = strlen(cl.redis.channel);

    if (strcmp(chan, cl.redis.channel) == 0)
        return CL_CHAN_MAIN;
    if (strcmp(chan, cl.redis.rooms) == 0)
        return CL_CHAN_DIR;
    if (strncmp(chan, cl.redis.channel, n) == 0 &&
        strncmp(chan + n, ":room:", 6) == 0) {
        *fold = chan + n + 6;
        return CL_CHAN_ROOM;
    }
    return CL_CHAN_OTHER;
}


/*
 * Keep back the broadcasts of rooms whose subscription is not confirmed
 * yet (in their room's `held`, in order); those of a room nobody here is
 * in any more go out at once, marked `nowait` (no echo will come).
 * Returns what goes out now.  cl.lock held.
 */
struct cl_item *
cl_room_hold_back(struct cl_item *list)
{
    struct cl_item *out = NULL, **tail = &out, *it, *next;

    for (it = list; it != NULL; it = next) {
        struct cl_room *r = it->croom;
        next = it->next;
        it->next = NULL;
        if (it->kind == ITEM_BCAST && r != NULL && r->want &&
            (!r->sub || r->pending > 0 || r->held != NULL)) {
            *r->held_tail = it;
            r->held_tail = &it->next;
            continue;
        }
        if (it->kind == ITEM_BCAST && r != NULL && !r->want)
            it->nowait = 1;
        *tail = it;
        tail = &it->next;
    }
    return out;
}

/* Take every room's held broadcasts (in order per room) and forget the
 * rooms' subscriptions: the link is gone.  cl.lock held. */
struct cl_item *
cl_room_unhold_all(void)
{
    struct cl_item *list = NULL, **tail = &list;

    for (size_t i = 0; i < CL_ROOM_BUCKETS; i++)
        for (struct cl_room *r = cl.rooms[i]; r != NULL; r = r->hnext) {
            if (r->held != NULL) {
                *tail = r->held;
                tail = r->held_tail;
            }
            r->held = NULL;
            r->held_tail = &r->held;
            r->sub = 0;
            r->pending = 0;
        }
    return list;
}

/*
 * A room's (UN)SUBSCRIBE is confirmed: once its last one is, what it held
 * goes out first (before what came for it since).
 */
void
cl_room_confirmed(const char *chan)
{
    const char *fold = NULL;
    struct cl_room *r;

    if (cl_chan_kind(chan, &fold) != CL_CHAN_ROOM)
        return;
    pthread_mutex_lock(&cl.lock);
    if ((r = cl_room_find(fold)) != NULL && r->pending > 0)
        r->pending--;
    if (r != NULL && r->pending == 0 && r->sub && r->held != NULL) {
        *r->held_tail = cl.outq;
        if (cl.outq == NULL)
            cl.outq_tail = r->held_tail;
        cl.outq = r->held;
        r->held = NULL;
        r->held_tail = &r->held;
    }
    pthread_mutex_unlock(&cl.lock);
}

/* A (UN)SUBSCRIBE to send. */
struct subcmd {
    char    chan[CLLINK_CHAN_MAX + 1];
    int     on;
};

/*
 * Subscribe to the channels of the rooms with members here, unsubscribe
 * from those without whose last broadcasts are out, and forget rooms
 * nothing is left of.  0, or -1 with err set (the link is broken).
 */
int
cl_rooms_sync(char *err, size_t errlen)
{
    struct subcmd *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (cl.redis.sub == NULL)
        return 0;
    pthread_mutex_lock(&cl.lock);
    for (size_t i = 0; i < CL_ROOM_BUCKETS; i++)
        for (struct cl_room *r = cl.rooms[i]; r != NULL; r = r->hnext) {
            int on = r->want;
            if (on == r->sub || (!on && (r->refs > 0 || r->held)))
                continue;
            r->sub = on;
            r->pending++;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                v = xrealloc(v, cap * sizeof(*v));
            }
            memcpy(v[n].chan, r->chan, sizeof(v[n].chan));
            v[n++].on = on;
        }
    cl_room_gc();
    pthread_mutex_unlock(&cl.lock);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = cllink_subscribe(&cl.redis, v[i].chan, v[i].on, err, errlen);
    free(v);
    return rc;
}

