/*
 * hubroom.c: what users do with rooms, on the hub's side: joining,
 * parting, topics, the lists of members and of rooms, and news of a user
 * for everyone who shares a room with them.  Part of the hub (hub_int.h):
 * functions named hub_*_locked and the helpers below run with hub.lock
 * held; the public ones take it.  Called by the worker that owns the
 * user's client.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clwire.h"
#include "hub_int.h"
#include "msg.h"
#include "rooms.h"
#include "xmalloc.h"

/* ------------------------------------------------------------------ */
/* Memberships (hub.lock held)                                         */
/* ------------------------------------------------------------------ */

/* u's membership of room `room`, or NULL. */
struct room_member *
hub_member_of(struct hub_user *u, uint32_t room)
{
    for (size_t i = 0; i < u->nrooms; i++)
        if (u->rooms[i]->room->id == room)
            return u->rooms[i];
    return NULL;
}

/* r's members in the whole cluster. */
size_t
hub_room_size(struct room *r)
{
    if (hub.relay.members == NULL)
        return r->count;
    return r->count + hub.relay.members(r->name);
}

void
hub_add_member(struct hub_user *u, struct room *r)
{
    char topic[PROTO_TOPIC_MAX + 1];

    if (r->count == 0 && r != rooms_default() && hub.relay.room != NULL) {
        hub.relay.room(r->name, r->id, 1, topic);
        if (topic[0] != '\0')
            memcpy(r->topic, topic, sizeof(r->topic));
    }
    if (u->nrooms == u->caprooms) {
        u->caprooms = u->caprooms ? u->caprooms * 2 : 4;
        u->rooms = xrealloc(u->rooms, u->caprooms * sizeof(*u->rooms));
    }
    u->rooms[u->nrooms++] = rooms_add(r, u, u->worker);
}

/* End u's i-th membership, keeping the others in join order. */
void
hub_drop_member(struct hub_user *u, size_t i)
{
    struct room *r = u->rooms[i]->room;

    if (r->count == 1 && r != rooms_default() && hub.relay.room != NULL)
        hub.relay.room(r->name, r->id, 0, NULL);
    rooms_remove(u->rooms[i], u->worker);
    memmove(u->rooms + i, u->rooms + i + 1,
            (u->nrooms - i - 1) * sizeof(*u->rooms));
    u->nrooms--;
}

/*
 * The rooms of u that hear of its leave (leave: those not over
 * announce-limit) or of its new name (all of them: a rename is no join
 * nor leave, and SPEC "Rooms" has it reach everyone sharing a room).
 */
void
hub_collect_news(struct hub_user *u, struct hub_news *news, int leave)
{
    news->n = 0;
    news->leave = leave;
    for (size_t i = 0; i < u->nrooms && news->n < HUB_JOINS_MAX; i++)
        if (!leave ||
            (long)hub_room_size(u->rooms[i]->room) <= hub.announce_limit)
            news->rooms[news->n++] = u->rooms[i]->room->id;
}

/* ------------------------------------------------------------------ */
/* Queueing (no lock: the caller's outbox)                             */
/* ------------------------------------------------------------------ */

/* Queue m (given away), a join or leave in room `room`, for its members
 * but `from` (dropped at publishing if the room is over announce-limit),
 * with wire for the other nodes. */
void
hub_announce(struct mbox_vec *outbox, struct msg *m, uint64_t from,
             uint32_t room, struct msg *wire)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = m, .from = from,
                            .room = room, .announce = 1, .wire = wire };

    mbox_vec_push(outbox, &e);
}

/*
 * In a cluster: news of u as one MBOX_USER entry per room of news, the
 * first with wire (the relay makes them one item, delivered here when it
 * comes back); with no room here to tell, an entry only for the others.
 */
static void
cluster_news(struct hub_user *u, const struct hub_news *news,
             struct msg *m, struct msg *wire, struct mbox_vec *outbox)
{
    struct mbox_entry e = { .kind = MBOX_USER, .msg = m, .from = u->id,
                            .wire = wire };

    if (news->n == 0) {
        msg_unref(m);
        e.kind = MBOX_BROADCAST;
        e.msg = NULL;
        e.room = MBOX_ROOM_DEFAULT;
        mbox_vec_push(outbox, &e);
        return;
    }
    msg_ref(m, (unsigned)news->n - 1);
    for (size_t i = 0; i < news->n; i++) {
        e.room = news->rooms[i];
        e.wire = i == 0 ? wire : NULL;
        mbox_vec_push(outbox, &e);
    }
}

/*
 * Queue news of u (m, a v1 notice: a leave or a new name; given away)
 * once for every client that shares one of news's rooms with it, and in
 * a cluster for the other nodes (wire, given away).
 */
void
hub_user_news(struct hub_user *u, const struct hub_news *news,
              struct msg *m, struct msg *wire, struct mbox_vec *outbox)
{
    struct mbox_entry one = { .kind = MBOX_BROADCAST, .msg = m,
                              .from = u->id, .announce = news->leave };

    if (wire != NULL) {
        cluster_news(u, news, m, wire, outbox);
        return;
    }
    if (news->n == 1) {
        /* Only a leave is dropped over announce-limit (number()). */
        one.room = news->rooms[0];
        mbox_vec_push(outbox, &one);
        return;
    }
    if (news->n == 0) {
        msg_unref(m);
        return;
    }
    msg_ref(m, (unsigned)news->n - 1);
    for (size_t i = 0; i < news->n; i++) {
        struct mbox_entry e = { .kind = MBOX_USER, .msg = m,
                                .from = u->id, .room = news->rooms[i] };
        mbox_vec_push(outbox, &e);
    }
}

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */

/* Fill in what the client is told about room r; hub.lock held. */
static void
describe(struct room *r, struct hub_joined *j)
{
    j->room = r->id;
    j->is_default = r == rooms_default();
    memcpy(j->name, r->name, sizeof(j->name));
    memcpy(j->topic, r->topic, sizeof(j->topic));
    j->members = hub_room_size(r);
}

/*
 * Join u to the room named name (made if it is new).  Returns 0 with j
 * filled in (the room, its members with u, its topic, u's first
 * broadcast in it and references to its history) after queueing the join
 * notice, 1 when u is in it already (j describes it), or -1 with *why
 * (bad name, too many rooms, max-joins).
 */
int
hub_room_join(struct hub_user *u, const char *name, struct hub_joined *j,
              struct mbox_vec *outbox, const char **why)
{
    struct room *r;

    memset(j, 0, sizeof(*j));
    pthread_mutex_lock(&hub.lock);
    if ((r = rooms_find(name)) != NULL && hub_member_of(u, r->id)) {
        describe(r, j);
        pthread_mutex_unlock(&hub.lock);
        return 1;
    }
    if ((long)u->nrooms >= hub.max_joins) {
        pthread_mutex_unlock(&hub.lock);
        *why = "you are in as many rooms as max-joins allows; /part one";
        return -1;
    }
    if ((r = rooms_open(name, why)) == NULL) {
        pthread_mutex_unlock(&hub.lock);
        return -1;
    }
    hub_add_member(u, r);
    describe(r, j);
    j->join_seq = hub.seq;
    j->nhistory = rooms_history(r, 0, &j->history, &j->history_times);
    pthread_mutex_unlock(&hub.lock);

    hub_announce(outbox, msg_notice_in(HUB_PREFIX(j), "%s has joined",
                                       u->nick), u->id, j->room,
                 WIRE(clwire_room_join(j->name, u->id, u->nick)));
    return 0;
}

/*
 * u leaves room `room` (one of its own), for reason (sanitized; "" for
 * none); the room is told.  Returns 0, or -1 if u is not in it.
 */
int
hub_room_part(struct hub_user *u, uint32_t room, const char *reason,
              struct mbox_vec *outbox)
{
    struct hub_joined j;
    size_t i;
    int quiet;

    pthread_mutex_lock(&hub.lock);
    for (i = 0; i < u->nrooms && u->rooms[i]->room->id != room; i++)
        ;
    if (i == u->nrooms) {
        pthread_mutex_unlock(&hub.lock);
        return -1;
    }
    describe(u->rooms[i]->room, &j);
    /* Over announce-limit with u still in it, as for a join or a leave
     * (hub_collect_news()): number() would see the room without u. */
    quiet = (long)j.members > hub.announce_limit;
    hub_drop_member(u, i);
    pthread_mutex_unlock(&hub.lock);

    /* Quiet here, the other nodes still hear of it (their rosters). */
    hub_announce(outbox, quiet ? NULL : reason[0] ?
                 msg_notice_in(HUB_PREFIX(&j), "%s has left (%s)", u->nick,
                               reason) :
                 msg_notice_in(HUB_PREFIX(&j), "%s has left", u->nick),
                 u->id, room,
                 WIRE(clwire_room_part(j.name, u->id, u->nick, reason)));
    return 0;
}

/*
 * Room `room`'s topic (u is a member): with text NULL, copy it to j;
 * else set it to text (sanitized, at most PROTO_TOPIC_MAX bytes) and tell
 * the room.  Returns 0, or -1 if the room has gone.
 */
int
hub_topic(struct hub_user *u, uint32_t room, const char *text,
          struct hub_joined *j, struct mbox_vec *outbox)
{
    struct room *r;

    pthread_mutex_lock(&hub.lock);
    if ((r = rooms_by_id(room)) == NULL) {
        pthread_mutex_unlock(&hub.lock);
        return -1;
    }
    if (text != NULL)
        snprintf(r->topic, sizeof(r->topic), "%s", text);
    describe(r, j);
    pthread_mutex_unlock(&hub.lock);

    if (text != NULL)
        mbox_vec_room(outbox, msg_notice_in(HUB_PREFIX(j),
                                            "%s set the topic: %s",
                                            u->nick, j->topic),
                      0, room, 0,
                      WIRE(clwire_room_topic(j->name, u->nick, j->topic)));
    return 0;
}

/*
 * Set room `room`'s topic (MBOX_ROOM_DEFAULT: the default room's) to
 * topic (sanitized), as another node says (if_none: only if it has none);
 * the notice comes apart.  Returns 0, or -1 if there is no such room
 * here.  The cluster thread.
 */
int
hub_room_set_topic(uint32_t room, const char *topic, int if_none)
{
    struct room *r;

    pthread_mutex_lock(&hub.lock);
    r = room == MBOX_ROOM_DEFAULT ? rooms_default() : rooms_by_id(room);
    if (r != NULL && (!if_none || r->topic[0] == '\0'))
        snprintf(r->topic, sizeof(r->topic), "%s", topic);
    pthread_mutex_unlock(&hub.lock);
    return r != NULL ? 0 : -1;
}

/* The default room's name, as configured.  Any thread. */
void
hub_default_room(char name[PROTO_ROOM_MAX + 1])
{
    pthread_mutex_lock(&hub.lock);
    memcpy(name, rooms_default()->name, PROTO_ROOM_MAX + 1);
    pthread_mutex_unlock(&hub.lock);
}

/*
 * For the cluster's heartbeat: call fn with each room that has members
 * here (the default room first, without its members), then with each of
 * its members here (j NULL), then once with both NULL; all with hub.lock
 * held (fn may take the cluster's locks, must not call the hub).
 */
void
hub_each_room(void (*fn)(void *arg, const struct hub_joined *j,
                         const char *nick), void *arg)
{
    struct hub_joined j;

    pthread_mutex_lock(&hub.lock);
    for (struct room *r = rooms_after(0); r != NULL; r = r->next) {
        if (r->count == 0)
            continue;
        memset(&j, 0, sizeof(j));
        j.is_default = r == rooms_default();
        memcpy(j.name, r->name, sizeof(j.name));
        memcpy(j.topic, r->topic, sizeof(j.topic));
        fn(arg, &j, NULL);
        for (struct room_member *m = r->first; !j.is_default && m != NULL;
             m = m->next)
            fn(arg, NULL, m->user->nick);
    }
    fn(arg, NULL, NULL);
    pthread_mutex_unlock(&hub.lock);
}

/* The room named name: its id and details in j; 0, or -1 if none. */
int
hub_room_find(const char *name, struct hub_joined *j)
{
    struct room *r;

    memset(j, 0, sizeof(*j));
    pthread_mutex_lock(&hub.lock);
    if ((r = rooms_find(name)) != NULL)
        describe(r, j);
    pthread_mutex_unlock(&hub.lock);
    return r != NULL ? 0 : -1;
}

/*
 * /history: the room with id `room` in j (its name) with references to
 * the last max lines of its history and their times.  Returns 0, or -1
 * if the room has gone.
 */
int
hub_room_history(uint32_t room, size_t max, struct hub_joined *j)
{
    struct room *r;

    memset(j, 0, sizeof(*j));
    pthread_mutex_lock(&hub.lock);
    if ((r = rooms_by_id(room)) != NULL) {
        describe(r, j);
        j->nhistory = rooms_history(r, max, &j->history, &j->history_times);
    }
    pthread_mutex_unlock(&hub.lock);
    return r != NULL ? 0 : -1;
}

/*
 * One page of room `room`'s members for /who (see hub_who_page() of the
 * past: the same contract): at most max nicknames of members who joined
 * after *after, in join order.  Returns 1 while more follow, 0 when done
 * or the room has gone.  add runs with hub.lock held.
 */
int
hub_room_who_page(uint32_t room, uint64_t *after, size_t max,
                  void (*add)(void *arg, const char *nick), void *arg)
{
    struct room_member *m = NULL;
    struct room *r;
    size_t n = 0;

    pthread_mutex_lock(&hub.lock);
    if ((r = rooms_by_id(room)) != NULL)
        for (m = rooms_member_after(r, *after); m != NULL && n < max;
             m = m->next, n++) {
            add(arg, m->user->nick);
            *after = m->order;
        }
    pthread_mutex_unlock(&hub.lock);
    return m != NULL;
}

/*
 * One page of /rooms: call add for at most max rooms made after the room
 * with id *after, in the order they were made.  Returns 1 while more
 * follow.  add runs with hub.lock held.
 */
int
hub_rooms_page(uint32_t *after, size_t max,
               void (*add)(void *arg, const struct hub_joined *j), void *arg)
{
    struct hub_joined j;
    struct room *r;
    size_t n = 0;

    pthread_mutex_lock(&hub.lock);
    for (r = rooms_after(*after); r != NULL && n < max; r = r->next, n++) {
        describe(r, &j);
        add(arg, &j);
        *after = r->id;
    }
    pthread_mutex_unlock(&hub.lock);
    return r != NULL;
}

/* Rooms now, for the stats line and /metrics; any thread. */
size_t
hub_rooms(void)
{
    size_t n;

    pthread_mutex_lock(&hub.lock);
    n = rooms_count();
    pthread_mutex_unlock(&hub.lock);
    return n;
}

/*
 * Set the rooms up from the settings (main thread, after hub_init() and
 * before any worker starts): the default room, the permanent ones and the
 * limits.  Returns 0, or -1 with err set.
 */
int
hub_set_rooms(const struct hub_rooms_conf *c, char *err, size_t errlen)
{
    rooms_destroy();
    hub.max_joins = c->max_joins;
    hub.announce_limit = c->announce_limit;
    return rooms_init(hub.nworkers, c->history, c->max_rooms, c->deflt,
                      c->permanent, err, errlen);
}
