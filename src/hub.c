/*
 * hub.c: the user registry and the ordering point of broadcasts.
 *
 * Ownership: everything in `hub` (hub_int.h) is guarded by hub.lock,
 * except what is fixed once the workers run (the mailbox pointers, the
 * relay, the room limits).  A struct hub_user is created by hub_join()
 * and freed by hub_leave(), both called by the worker that owns the
 * user's client, so that worker may keep a pointer to it.  The mailboxes
 * belong to their workers; the hub only appends to them.  Rooms
 * (rooms.c) are the hub's too; hubroom.c does what users do with them.
 *
 * Rooms and order: a room's lines go only to the workers with members in
 * it (each room counts its members per worker), in the one global order.
 * News of a user (a leave, a new nickname) reaches each client that
 * shares a room with them once: one entry per room, and the worker
 * delivers consecutive entries of one message once per client.
 *
 * Global order: every broadcast is given its sequence number and appended
 * to every worker's mailbox while hub.lock is held, so each mailbox
 * receives broadcasts in one and the same order.  Cross-thread work per
 * published batch is one hub.lock plus one mailbox lock per worker: it
 * grows with the number of workers, never with the number of clients.
 *
 * Clustering: when a relay is set (hub_set_relay()), hub_publish() first
 * offers it the broadcasts that carry a wire form; while the cluster link
 * is up it takes them and they come back, in the channel's order, through
 * hub_inject().  What it does not take is delivered here at once.
 *
 * Lock order: hub.lock before the cluster's locks before mbox.lock.  No
 * blocking call under any of them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clwire.h"
#include "history.h"
#include "hub_int.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

struct hub_state hub;

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

void
hub_init(int nworkers, long max_clients, long history)
{
    char err[256];
    int rc;

    memset(&hub, 0, sizeof(hub));
    if ((rc = pthread_mutex_init(&hub.lock, NULL)) != 0) {
        errno = rc;
        fatal("hub_init");
    }
    hub.nworkers = nworkers;
    hub.mboxes = xcalloc((size_t)nworkers, sizeof(*hub.mboxes));
    hub.nbuckets = 1024;
    hub.buckets = xcalloc(hub.nbuckets, sizeof(*hub.buckets));
    hub.max_clients = max_clients;
    hub.max_joins = HUB_MAX_JOINS;
    hub.announce_limit = HUB_ANNOUNCE_LIMIT;
    hub.seq = 1;
    if (rooms_init(nworkers, history, HUB_MAX_ROOMS, HUB_DEFAULT_ROOM, NULL,
                   err, sizeof(err)) < 0)
        fatalx("%s", err);
}

/* Worker `worker` receives through mb.  Its thread, before it serves. */
void
hub_attach(int worker, struct mbox *mb)
{
    pthread_mutex_lock(&hub.lock);
    hub.mboxes[worker] = mb;
    pthread_mutex_unlock(&hub.lock);
}

/* Free everything; main thread, after every worker has stopped. */
void
hub_destroy(void)
{
    struct hub_user *u, *next;

    hub.relay.room = NULL;          /* the cluster has stopped */
    for (u = hub.first; u != NULL; u = next) {
        next = u->next;
        while (u->nrooms > 0)
            hub_drop_member(u, u->nrooms - 1);
        free(u->rooms);
        free(u);
    }
    rooms_destroy();
    free(hub.buckets);
    free(hub.mboxes);
    pthread_mutex_destroy(&hub.lock);
    memset(&hub, 0, sizeof(hub));
}

void
hub_set_limits(long max_clients)
{
    pthread_mutex_lock(&hub.lock);
    hub.max_clients = max_clients;
    pthread_mutex_unlock(&hub.lock);
}

/*
 * Turn clustering on (see struct hub_relay).  Main thread, after
 * hub_init() and before any worker starts.
 */
void
hub_set_relay(const struct hub_relay *r)
{
    hub.relay = *r;
}

/* ------------------------------------------------------------------ */
/* Registry (hub.lock held)                                            */
/* ------------------------------------------------------------------ */

static struct hub_user *
find(const char *nick)
{
    for (struct hub_user *u =
             hub.buckets[proto_nick_hash(nick) & (hub.nbuckets - 1)];
         u != NULL; u = u->hnext)
        if (proto_nick_equal(u->nick, nick))
            return u;
    return NULL;
}

static void
hash_insert(struct hub_user *u)
{
    size_t i = proto_nick_hash(u->nick) & (hub.nbuckets - 1);

    u->hnext = hub.buckets[i];
    hub.buckets[i] = u;
}

static void
hash_remove(struct hub_user *u)
{
    struct hub_user **pp =
        &hub.buckets[proto_nick_hash(u->nick) & (hub.nbuckets - 1)];

    while (*pp != u)
        pp = &(*pp)->hnext;
    *pp = u->hnext;
}

/* Double the nickname table. */
static void
rehash(void)
{
    free(hub.buckets);
    hub.nbuckets *= 2;
    hub.buckets = xcalloc(hub.nbuckets, sizeof(*hub.buckets));
    for (struct hub_user *u = hub.first; u; u = u->next)
        hash_insert(u);
}

static void
link_user(struct hub_user *u)
{
    hash_insert(u);
    u->prev = hub.last;
    if (hub.last)
        hub.last->next = u;
    else
        hub.first = u;
    hub.last = u;
    if (++hub.count > hub.nbuckets)
        rehash();
}

static void
unlink_user(struct hub_user *u)
{
    hash_remove(u);
    if (u->prev)
        u->prev->next = u->next;
    else
        hub.first = u->next;
    if (u->next)
        u->next->prev = u->prev;
    else
        hub.last = u->prev;
    hub.count--;
}

/* Pick the next free "guestN": numbered by the cluster when there is
 * one, so that guests are unique across nodes. */
static void
guest_nick(char *nick)
{
    uint64_t n;

    do {
        n = hub.relay.guest != NULL ? hub.relay.guest() : 0;
        if (n == 0)
            n = ++hub.guest;
        snprintf(nick, PROTO_NICK_MAX + 1, "guest%llu",
                 (unsigned long long)n);
    } while (find(nick) != NULL);
}

/* ------------------------------------------------------------------ */
/* Users                                                               */
/* ------------------------------------------------------------------ */

/*
 * Register client `id` of `worker` under a guest nickname, in the default
 * room, and queue the join notice for the room in outbox.  Fills in w
 * (nickname, the default room, the sequence number of the first broadcast
 * the client must receive, and references to the room's history).
 * Returns NULL when max-clients are already connected or the server is
 * stopping; w->refused then says which.
 */
struct hub_user *
hub_join(uint64_t id, int worker, struct hub_welcome *w,
         struct mbox_vec *outbox)
{
    struct room *r = rooms_default();
    struct hub_user *u;

    memset(w, 0, sizeof(*w));
    pthread_mutex_lock(&hub.lock);
    if ((long)hub.count >= hub.max_clients || hub.stopping) {
        w->refused = hub.stopping ? "server shutting down" : "server full";
        pthread_mutex_unlock(&hub.lock);
        return NULL;
    }
    u = xcalloc(1, sizeof(*u));
    u->id = id;
    u->worker = worker;
    guest_nick(u->nick);
    link_user(u);
    hub_add_member(u, r);
    memcpy(w->nick, u->nick, sizeof(w->nick));
    w->join_seq = hub.seq;
    w->online = hub.count;
    w->room = r->id;
    memcpy(w->room_name, r->name, sizeof(w->room_name));
    w->nhistory = rooms_history(r, 0, &w->history, &w->history_times);
    pthread_mutex_unlock(&hub.lock);

    hub_announce(outbox, msg_notice("%s has joined", w->nick), id, r->id,
                 WIRE(clwire_join(id, w->nick)));
    return u;
}

/*
 * Unregister u and free it; queue "*** nick has left (reason)" for the
 * rooms it shared with others, unless the server is stopping.  Owner
 * worker only.
 */
void
hub_leave(struct hub_user *u, const char *reason, struct mbox_vec *outbox)
{
    struct hub_news news;
    int stopping;

    pthread_mutex_lock(&hub.lock);
    unlink_user(u);
    stopping = hub.stopping;
    hub_collect_news(u, &news, 1);
    while (u->nrooms > 0)
        hub_drop_member(u, u->nrooms - 1);
    pthread_mutex_unlock(&hub.lock);

    if (!stopping)
        hub_user_news(u, &news,
                      msg_notice("%s has left (%s)", u->nick, reason),
                      WIRE(clwire_leave(u->id, u->nick, reason)), outbox);
    free(u->rooms);
    free(u);
}

/*
 * Rename u to nick (already valid).  Returns 0 and copies the old name to
 * old (PROTO_NICK_MAX + 1 bytes) after queueing the notice for those who
 * share a room with u, 1 when nick is u's name already (nothing done), or
 * -1 with *why when the name is taken.  Owner worker only.
 */
int
hub_nick(struct hub_user *u, const char *nick, char *old,
         struct mbox_vec *outbox, const char **why)
{
    struct hub_user *other;
    struct hub_news news;

    pthread_mutex_lock(&hub.lock);
    other = find(nick);
    if (other != NULL && other != u) {
        pthread_mutex_unlock(&hub.lock);
        *why = "nickname is already in use";
        return -1;
    }
    if (strcmp(u->nick, nick) == 0) {
        pthread_mutex_unlock(&hub.lock);
        return 1;
    }
    memcpy(old, u->nick, PROTO_NICK_MAX + 1);
    hash_remove(u);
    snprintf(u->nick, sizeof(u->nick), "%s", nick);
    hash_insert(u);
    hub_collect_news(u, &news, 0);
    pthread_mutex_unlock(&hub.lock);

    hub_user_news(u, &news, msg_notice("%s is now known as %s", old, nick),
                  WIRE(clwire_rename(u->id, old, nick)), outbox);
    return 0;
}

/*
 * Queue u's public line or action (text sanitized, not empty) for the
 * other members of room `room` (u's; prefix: its name, NULL for the
 * default room), formatted once, and for the other nodes.  Owner worker.
 * No lock: u's nickname changes only on this thread, and a room's name
 * never does.
 */
void
hub_say(struct hub_user *u, enum proto_kind kind, uint32_t room,
        const char *prefix, const char *text, struct mbox_vec *outbox)
{
    struct msg *wire;

    wire = WIRE(prefix == NULL ? clwire_say(kind, u->id, u->nick, text)
                : clwire_room_say(kind, prefix, u->id, u->nick, text));
    mbox_vec_room(outbox, msg_format_in(prefix, kind, u->nick, text), u->id,
                  room, 1, wire);
}

/* A fresh guest name for a user who must give up theirs.  Any thread. */
void
hub_guest_name(char *nick)
{
    pthread_mutex_lock(&hub.lock);
    guest_nick(nick);
    pthread_mutex_unlock(&hub.lock);
}

/*
 * Find nick.  Returns 0 and sets *id, *worker and real (its spelling,
 * PROTO_NICK_MAX + 1 bytes), or -1 when nobody has that name.
 */
int
hub_lookup(const char *nick, uint64_t *id, int *worker, char *real)
{
    struct hub_user *u;
    int rc = -1;

    pthread_mutex_lock(&hub.lock);
    if ((u = find(nick)) != NULL) {
        *id = u->id;
        *worker = u->worker;
        memcpy(real, u->nick, PROTO_NICK_MAX + 1);
        rc = 0;
    }
    pthread_mutex_unlock(&hub.lock);
    return rc;
}

/*
 * Call fn with each local user's nickname, in join order, then once with
 * NULL, all with hub.lock held (fn must not call back into the hub; it may
 * take the cluster's locks).  What fn queues for the cluster is thus in
 * order with the joins, leaves and renames relayed by hub_publish().
 */
void
hub_each(void (*fn)(void *arg, const char *nick), void *arg)
{
    pthread_mutex_lock(&hub.lock);
    for (struct hub_user *u = hub.first; u; u = u->next)
        fn(arg, u->nick);
    fn(arg, NULL);
    pthread_mutex_unlock(&hub.lock);
}

size_t
hub_count(void)
{
    size_t n;

    pthread_mutex_lock(&hub.lock);
    n = hub.count;
    pthread_mutex_unlock(&hub.lock);
    return n;
}

/* ------------------------------------------------------------------ */
/* Publishing                                                          */
/* ------------------------------------------------------------------ */

/* Does worker w deliver entry e (room entries: members there)? */
static int
for_worker(const struct mbox_entry *e, int w)
{
    struct room *r;

    switch (e->kind) {
    case MBOX_DIRECT:
    case MBOX_CLAIM:
        return e->worker == w;
    case MBOX_BROADCAST:
    case MBOX_USER:
        if (e->room == 0)
            return 1;
        r = rooms_by_id(e->room);
        return r != NULL && r->per_worker[w] > 0;
    default:
        return 1;
    }
}

/* Append the entries of v meant for worker w to its mailbox. */
static void
deliver(int w, const struct mbox_vec *v, int self)
{
    struct mbox *mb = hub.mboxes[w];
    int was_empty, any = 0;

    mbox_lock(mb);
    was_empty = mb->in.len == 0;
    for (size_t i = 0; i < v->len; i++) {
        const struct mbox_entry *e = &v->v[i];
        if (!for_worker(e, w))
            continue;
        mbox_vec_push(&mb->in, e);
        any = 1;
    }
    mbox_unlock(mb, any && was_empty && w != self);
}

/*
 * Number a broadcast or user entry and take one reference per worker
 * that delivers it.  Returns 0, or -1 when nobody is to get it (a room
 * that has gone, or a join or leave in a room over announce-limit); the
 * caller drops it.
 */
static int
number(struct mbox_entry *e)
{
    struct room *r = NULL;
    unsigned n = 0;

    if (e->room == MBOX_ROOM_DEFAULT)
        e->room = rooms_default()->id;
    if (e->room != 0 && ((r = rooms_by_id(e->room)) == NULL ||
                         (e->announce && (long)hub_room_size(r) >
                                         hub.announce_limit)))
        return -1;
    e->seq = hub.seq++;
    if (e->history && r != NULL) {
        int64_t when = (int64_t)time(NULL);
        rooms_remember(r, e->msg, when);
        history_keep(r->fold, e->msg, e->seq, when);
    }
    for (int w = 0; w < hub.nworkers; w++)
        n += r == NULL || r->per_worker[w] > 0;
    if (n == 0)
        return -1;
    if (n > 1)
        msg_ref(e->msg, n - 1);
    return 0;
}

/* Number, remember and deliver v's entries; hub.lock held. */
static void
publish_locked(struct mbox_vec *outbox, int self)
{
    size_t j = 0;

    for (size_t i = 0; i < outbox->len; i++) {
        struct mbox_entry *e = &outbox->v[i];
        msg_unref(e->wire);         /* not relayed: this node only */
        e->wire = NULL;
        if ((e->kind == MBOX_BROADCAST || e->kind == MBOX_USER) &&
            e->msg == NULL)
            continue;               /* it was only for the other nodes */
        if ((e->kind == MBOX_BROADCAST || e->kind == MBOX_USER) &&
            number(e) < 0) {
            msg_unref(e->msg);
            continue;
        }
        outbox->v[j++] = *e;
    }
    outbox->len = j;
    for (int w = 0; w < hub.nworkers; w++)
        deliver(w, outbox, self);
    outbox->len = 0;
}

/*
 * Publish a worker's outbox: number the broadcasts, keep public ones in
 * the history, and hand every entry to the mailboxes of the workers that
 * deliver it, all under hub.lock so every worker sees one order.  The
 * entries' references pass to the mailboxes; outbox is left empty.  The
 * worker `self` is not woken: it drains its own mailbox next.  With a
 * cluster, the relay first takes the broadcasts it sends to the channel
 * (they are delivered when they come back, through hub_inject()).
 */
void
hub_publish(struct mbox_vec *outbox, int self)
{
    if (outbox->len == 0)
        return;
    pthread_mutex_lock(&hub.lock);
    if (hub.relay.relay != NULL)
        hub.relay.relay(outbox);
    publish_locked(outbox, self);
    pthread_mutex_unlock(&hub.lock);
}

/*
 * Deliver v (broadcasts and direct lines from the cluster, or for this
 * node only) to every worker, in one order with everything else: like
 * hub_publish(), but never relayed and every worker is woken.  If fill is
 * given it first adds to v with hub.lock held, so no worker's
 * hub_publish() comes between what fill decides and the delivery; fill
 * may take the cluster's locks but must not call into the hub.  Cluster
 * thread; v is left empty.
 */
void
hub_inject(struct mbox_vec *v, void (*fill)(void *arg, struct mbox_vec *v),
           void *arg)
{
    if (fill == NULL && v->len == 0)
        return;
    pthread_mutex_lock(&hub.lock);
    if (fill != NULL)
        fill(arg, v);
    if (v->len > 0)
        publish_locked(v, -1);
    pthread_mutex_unlock(&hub.lock);
}

/* The sequence number the next broadcast will have: every line numbered
 * so far is before it.  Any thread. */
uint64_t
hub_seq(void)
{
    uint64_t seq;

    pthread_mutex_lock(&hub.lock);
    seq = hub.seq;
    pthread_mutex_unlock(&hub.lock);
    return seq;
}

/*
 * Append e (its reference passes on) to the mailbox of worker e->worker,
 * outside the broadcast order: for answers to one client.  Any thread.
 */
void
hub_post(const struct mbox_entry *e)
{
    mbox_post(hub.mboxes[e->worker], e);
}

/*
 * Tell everyone the server is shutting down and ask every worker to stop.
 * Main thread.  Joins are refused from now on and leaves are not
 * announced.
 */
void
hub_shutdown(void)
{
    struct mbox_vec v = { 0 };
    struct mbox_entry stop = { .kind = MBOX_STOP };

    mbox_vec_broadcast(&v, msg_notice("server shutting down"), 0, 0, NULL);
    pthread_mutex_lock(&hub.lock);
    hub.stopping = 1;
    pthread_mutex_unlock(&hub.lock);
    mbox_vec_push(&v, &stop);
    hub_publish(&v, -1);
    mbox_vec_free(&v);
}
