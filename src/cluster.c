/*
 * cluster.c: scale-out through Redis pub/sub: the worker-facing API
 * (cluster.h), the outgoing queue, guest numbers, start and stop.  The
 * cluster thread (clthread.c) owns the Redis link; the node table is
 * clnodes.c, the rosters roster.c, the hiredis calls cllink.c.
 *
 * Threads.  The API runs on any worker thread and on the hub's behalf
 * (cluster_relay() and cluster_guest() with hub.lock held); it never
 * blocks on the network: it queues items for the cluster thread and
 * wakes it.  cluster_start() and cluster_stop(): main thread.  Which lock
 * guards which field: cluster_int.h.
 *
 * Global order.  While the link is up the hub hands every broadcast that
 * has a wire form (public lines, actions, joins, leaves, nick changes) to
 * cluster_relay() instead of the mailboxes.  The cluster thread publishes
 * it with this node's name and next sequence number, and keeps it in the
 * in-flight list.  Redis sends a channel's messages to every subscriber in
 * publish order; every node, this one included, delivers a broadcast
 * (through hub_inject()) when it comes back from the channel, so all
 * clients of all nodes see one order.  Our own echo is not decoded: it
 * releases the in-flight copy, which is delivered with its sender
 * excluded.
 *
 * Rooms.  The default room is CHANNEL's, with v1's messages (a chatd 0.1
 * node takes part in it).  Every other room has its own channel,
 * CHANNEL:room:#FOLD; the hub tells cluster_room() when a room gets its
 * first member here and loses its last, and the thread subscribes and
 * unsubscribes (struct cl_room).  A room's broadcasts wait, in its
 * `held` list, until its SUBSCRIBE is confirmed (else their echo would
 * never come back); other rooms' go on.  The same one-order argument
 * holds per room: Redis hands one subscriber one publisher's messages in
 * the order published, whatever the channel.  CHANNEL:rooms, which every
 * 0.2 node subscribes to, carries each node's rooms and their members (R)
 * and topics (T) with its heartbeat, and the default room's topic changes
 * (t): the other nodes' members of a room come from there (clnodes.c).
 *
 * Names.  A node's name belongs to one running node through the key
 * CHANNEL:node:NAME (value: the run id, expiry two heartbeats + 1 s,
 * refreshed with each heartbeat).  At start chatd claims it (one bounded
 * try): a live other run has it: chatd exits 2.  Later, a name held by
 * another run keeps the link down (warned every 30 s, retried).  A
 * nickname belongs to a node through CHANNEL:nick:LOWERCASE (value: node
 * name, expiry 30 s, refreshed every 10 s); workers ask with
 * cluster_claim() and get the answer in their mailbox (MBOX_CLAIM).
 * Guests have no key: their numbers come in blocks from CHANNEL:guests.
 *
 * Lock order: hub.lock, then cl.lock, then mbox.lock.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "counter.h"
#include "cluster_int.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "wakeup.h"
#include "xmalloc.h"

struct cl_state cl = { .efd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------------ */
/* The outgoing queue                                                  */
/* ------------------------------------------------------------------ */

struct cl_item *
cl_item_new(enum item_kind kind)
{
    struct cl_item *it = xcalloc(1, sizeof(*it));

    it->kind = kind;
    return it;
}

/* Free it; takes cl.lock if it is a room's (never call it with cl.lock
 * held for one). */
void
cl_item_free(struct cl_item *it)
{
    if (it->croom != NULL) {
        pthread_mutex_lock(&cl.lock);
        cl_room_unref(it->croom);
        pthread_mutex_unlock(&cl.lock);
    }
    msg_unref(it->wire);
    msg_unref(it->line);
    free(it->rooms);
    free(it);
}

/* Append it to the queue, numbering what is published on its channel;
 * cl.lock held. */
void
cl_enqueue_locked(struct cl_item *it)
{
    int was_empty = cl.outq == NULL;

    if (it->croom != NULL)
        it->croom->refs++;
    if (it->kind == ITEM_BCAST || it->kind == ITEM_RAW)
        it->seq = it->croom != NULL ? ++it->croom->seq
                : it->dir ? ++cl.dir_seq : ++cl.seq;
    *cl.outq_tail = it;
    cl.outq_tail = &it->next;
    if (was_empty)
        wakeup_post(cl.efd);
}

/* Queue a message to publish while the link is up, on CHANNEL (dir 0)
 * or CHANNEL:rooms (dir 1): 0, else -1 (wire is released).  Any thread;
 * takes cl.lock. */
static int
enqueue_wire(struct msg *wire, int dir)
{
    struct cl_item *it;

    if (wire == NULL)
        return -1;
    pthread_mutex_lock(&cl.lock);
    if (!cl.up) {
        pthread_mutex_unlock(&cl.lock);
        msg_unref(wire);
        return -1;
    }
    it = cl_item_new(ITEM_RAW);
    it->wire = wire;
    it->dir = dir;
    cl_enqueue_locked(it);
    pthread_mutex_unlock(&cl.lock);
    return 0;
}

int
cl_enqueue_raw(struct msg *wire)
{
    return enqueue_wire(wire, 0);
}

int
cl_enqueue_dir(struct msg *wire)
{
    return enqueue_wire(wire, 1);
}

/* Queue the deletion of nick's key if owner has it; cl.lock held. */
void
cl_release_locked(const char *nick, const char *owner)
{
    struct cl_item *it = cl_item_new(ITEM_RELEASE);

    snprintf(it->nick, sizeof(it->nick), "%s", nick);
    snprintf(it->owner, sizeof(it->owner), "%s", owner);
    cl_enqueue_locked(it);
}

/*
 * News of a user (MBOX_USER entries of one message, the first at v[i]
 * with the wire form) becomes one item for all their rooms; returns the
 * index of the last entry taken.  The entries' references but one go.
 */
static size_t
take_news(struct mbox_vec *v, size_t i, struct cl_item *it)
{
    size_t k = i;

    while (k + 1 < v->len && v->v[k + 1].kind == MBOX_USER &&
           v->v[k + 1].msg == v->v[i].msg && v->v[k + 1].wire == NULL)
        k++;
    it->nrooms = k - i + 1;
    it->rooms = xcalloc(it->nrooms, sizeof(*it->rooms));
    for (size_t x = 0; x < it->nrooms; x++) {
        it->rooms[x] = v->v[i + x].room;
        if (x > 0)
            msg_unref(v->v[i + x].msg);
    }
    return k;
}

/*
 * The hub's relay: take the broadcasts of v that have a wire form, when
 * the link is up, and leave the rest in v, in order.  Returns how many
 * were taken.  Any worker thread, hub.lock held; takes cl.lock.
 */
static int
cluster_relay(struct mbox_vec *v)
{
    size_t j = 0;
    int taken = 0;

    pthread_mutex_lock(&cl.lock);
    if (!cl.up) {
        pthread_mutex_unlock(&cl.lock);
        return 0;
    }
    for (size_t i = 0; i < v->len; i++) {
        struct mbox_entry *e = &v->v[i];
        if ((e->kind == MBOX_BROADCAST || e->kind == MBOX_USER) &&
            e->wire != NULL) {
            struct cl_item *it = cl_item_new(ITEM_BCAST);
            it->line = e->msg;
            it->wire = e->wire;
            it->from = e->from;
            it->history = e->history;
            it->room = e->room;
            it->announce = e->announce;
            if (e->kind == MBOX_USER)
                i = take_news(v, i, it);
            cl_room_channel(it);
            cl_enqueue_locked(it);
            taken++;
        } else {
            v->v[j++] = *e;
        }
    }
    v->len = j;
    pthread_mutex_unlock(&cl.lock);
    return taken;
}

/* ------------------------------------------------------------------ */
/* Heartbeats and nickname keys: queued for the cluster thread         */
/* ------------------------------------------------------------------ */

struct chunk {
    char    buf[CL_CHUNK + PROTO_NICK_MAX + 8];
    size_t  len;
};

static void
chunk_flush(struct chunk *ch, int more)
{
    cl_enqueue_raw(clwire_roster(more, ch->buf, ch->len));
    ch->len = 0;
}

/*
 * hub_each() callback: add a nickname to the roster, or send the last
 * part (nick NULL).  hub.lock held.
 */
static void
chunk_add(void *arg, const char *nick)
{
    struct chunk *ch = arg;

    if (nick == NULL) {
        chunk_flush(ch, 0);
        return;
    }
    if (ch->len > CL_CHUNK)
        chunk_flush(ch, 1);
    ch->len += (size_t)snprintf(ch->buf + ch->len,
                                sizeof(ch->buf) - ch->len, " %s", nick);
}

/* hub_each() callback: give up a user's key on shutdown (hub.lock held;
 * the release script deletes it only while it is still ours). */
static void
release_add(void *arg, const char *nick)
{
    (void)arg;
    if (nick == NULL || proto_guest_name(nick))
        return;
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        cl_release_locked(nick, cl.node);
    pthread_mutex_unlock(&cl.lock);
}

/* hub_each() callback: keep a user's key (hub.lock held). */
static void
refresh_add(void *arg, const char *nick)
{
    struct cl_item *it;

    (void)arg;
    if (nick == NULL || proto_guest_name(nick))
        return;
    it = cl_item_new(ITEM_REFRESH);
    snprintf(it->nick, sizeof(it->nick), "%s", nick);
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        cl_enqueue_locked(it);
    else
        cl_item_free(it);
    pthread_mutex_unlock(&cl.lock);
}

/* A heartbeat: this node's roster, its rooms' and the claim of its name.
 * Cluster thread, no lock held. */
void
cl_heartbeat(void)
{
    struct chunk ch = { .len = 0 };

    hub_each(chunk_add, &ch);
    cl_heartbeat_rooms();
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        cl_enqueue_locked(cl_item_new(ITEM_NODE));
    pthread_mutex_unlock(&cl.lock);
}

/* Keep the keys of this node's users' nicknames.  Cluster thread. */
void
cl_refresh_nicks(void)
{
    hub_each(refresh_add, NULL);
}

/* Stopping: give up our users' nicknames and our name, and say goodbye,
 * so that the others announce our users' leaves now.  Cluster thread. */
void
cl_goodbye(void)
{
    hub_each(release_add, NULL);
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        cl_enqueue_locked(cl_item_new(ITEM_UNNODE));
    pthread_mutex_unlock(&cl.lock);
    cl_enqueue_raw(clwire_quit());
}

/* ------------------------------------------------------------------ */
/* API for the workers                                                 */
/* ------------------------------------------------------------------ */

int
cluster_enabled(void)
{
    return cl.enabled;
}

int
cluster_link_up(void)
{
    return atomic_load_explicit(&cl.link, memory_order_relaxed);
}

/* A client was told the link is down: tell it when it is back. */
void
cluster_told_down(void)
{
    atomic_store(&cl.told_down, 1);
}

/*
 * Ask for nick for client `client` of `worker`.  Returns 0 when asked (the
 * answer comes to the worker's mailbox as MBOX_CLAIM), -1 when the link
 * is down.  Any worker thread.
 */
int
cluster_claim(const char *nick, uint64_t client, int worker)
{
    struct cl_item *it;

    pthread_mutex_lock(&cl.lock);
    if (!cl.up) {
        pthread_mutex_unlock(&cl.lock);
        return -1;
    }
    it = cl_item_new(ITEM_CLAIM);
    snprintf(it->nick, sizeof(it->nick), "%s", nick);
    it->client = client;
    it->worker = worker;
    cl_enqueue_locked(it);
    pthread_mutex_unlock(&cl.lock);
    return 0;
}

/*
 * This node no longer uses nick: delete its key (if it is ours).  Guest
 * names have no key.  Any worker thread; nothing is done while the link
 * is down (the key expires).
 */
void
cluster_release(const char *nick)
{
    if (!cl.enabled || proto_guest_name(nick))
        return;
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        cl_release_locked(nick, cl.node);
    pthread_mutex_unlock(&cl.lock);
}

/*
 * Find nick among the other nodes' users.  Returns 0 and copies its
 * spelling to real (PROTO_NICK_MAX + 1 bytes) and its node's name to
 * node, or -1.  Any thread.
 */
int
cluster_lookup(const char *nick, char *real, char *node, size_t nodelen)
{
    int rc;

    pthread_mutex_lock(&cl.lock);
    rc = clnodes_lookup(&cl.nodes, nick, real, node, nodelen);
    pthread_mutex_unlock(&cl.lock);
    return rc;
}

/*
 * Send a private message (text sanitized) from `from` to `to` on `node`.
 * Returns 0 when queued, -1 when the link is down.  Any worker thread.
 */
int
cluster_private(const char *from, const char *to, const char *node,
                const char *text)
{
    return cl_enqueue_raw(clwire_private(node, from, to, text));
}

/* Users of the other nodes reachable now: none while the link is down. */
size_t
cluster_remote_count(void)
{
    size_t n;

    pthread_mutex_lock(&cl.lock);
    n = cl.up ? clnodes_users(&cl.nodes) : 0;
    pthread_mutex_unlock(&cl.lock);
    return n;
}

/*
 * One page of the other nodes' users reachable now (none while the link
 * is down), for /who (see hub_who_page() and clnodes_who_page()).  add
 * runs with cl.lock held.  A roster that changes between pages may have
 * a user skipped or listed twice.  Any worker thread.
 */
int
cluster_who_page(size_t *node, size_t *pos, size_t max,
                 void (*add)(void *arg, const char *nick), void *arg)
{
    int more = 0;

    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        more = clnodes_who_page(&cl.nodes, node, pos, max, add, arg);
    pthread_mutex_unlock(&cl.lock);
    return more;
}

/* The cluster's part of the SIGUSR1 stats line; any thread. */
void
cluster_stats(char *buf, size_t len)
{
    size_t nodes, users, chans;
    unsigned long gaps;

    if (!cl.enabled) {
        snprintf(buf, len, "cluster=off");
        return;
    }
    pthread_mutex_lock(&cl.lock);
    chans = cl_room_channels();
    nodes = cl.nodes.n;
    users = clnodes_users(&cl.nodes);
    gaps = (unsigned long)cl.nodes.gaps;
    pthread_mutex_unlock(&cl.lock);
    snprintf(buf, len, "cluster=%s nodes=%zu remote_users=%zu "
             "room_channels=%zu cluster_out=%lu cluster_in=%lu "
             "cluster_gaps=%lu cluster_dropped=%lu cluster_foreign=%lu "
             "cluster_reconnects=%lu nick_conflicts=%lu",
             cluster_link_up() ? "up" : "down", nodes + 1, users, chans,
             counter_get(&cl.relay_out), counter_get(&cl.relay_in), gaps,
             counter_get(&cl.dropped), counter_get(&cl.foreign),
             counter_get(&cl.reconnects), counter_get(&cl.conflicts));
}

/* The cluster's counters for /metrics (web thread): copied under
 * cl.lock only for the node table; formatted by the caller. */
void
cluster_metrics(struct cluster_metrics *m)
{
    memset(m, 0, sizeof(*m));
    if (!cl.enabled)
        return;
    m->enabled = 1;
    pthread_mutex_lock(&cl.lock);
    m->nodes = cl.nodes.n + 1;
    m->gaps = (unsigned long)cl.nodes.gaps;
    pthread_mutex_unlock(&cl.lock);
    m->link_up = cluster_link_up();
    m->relay_out = counter_get(&cl.relay_out);
    m->relay_in = counter_get(&cl.relay_in);
    m->dropped = counter_get(&cl.dropped);
    m->reconnects = counter_get(&cl.reconnects);
}

/* ------------------------------------------------------------------ */
/* Start and stop: main thread                                         */
/* ------------------------------------------------------------------ */

/*
 * Check the cluster settings: 0, or -1 with a message in err (the URL's
 * password hidden).  Main thread, before anything starts.
 */
int
cluster_check_conf(const struct cluster_conf *conf, char *err,
                   size_t errlen)
{
    struct clwire_url u;
    char shown[512];

    if (clwire_parse_url(conf->url, &u) < 0) {
        clwire_url_redact(conf->url, shown, sizeof(shown));
        snprintf(err, errlen, "cluster: '%s' is not "
                 "redis://[[USER]:PASSWORD@]HOST[:PORT]", shown);
        return -1;
    }
    if (conf->node && !clwire_name_valid(conf->node)) {
        snprintf(err, errlen, "node-name: '%s' is not 1-%d of A-Z a-z "
                 "0-9 . _ - :", conf->node, CLWIRE_NAME_MAX);
        return -1;
    }
    if (!clwire_name_valid(conf->channel)) {
        snprintf(err, errlen, "cluster-channel: '%s' is not 1-%d of "
                 "A-Z a-z 0-9 . _ - :", conf->channel, CLWIRE_NAME_MAX);
        return -1;
    }
    return 0;
}

/* This node's name: conf's, else HOSTNAME:PORT made valid. */
static void
pick_name(const struct cluster_conf *conf)
{
    char host[256];

    if (conf->node != NULL) {
        snprintf(cl.node, sizeof(cl.node), "%s", conf->node);
        return;
    }
    if (gethostname(host, sizeof(host)) < 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p; p++)
        if (!clwire_name_valid((char[]){ *p, '\0' }))
            *p = '-';
    snprintf(cl.node, sizeof(cl.node), "%.50s:%d", host, conf->port);
}

/* Set up everything but the thread (conf checked). */
static void
setup(const struct cluster_conf *conf)
{
    clwire_parse_url(conf->url, &cl.redis.url);
    snprintf(cl.where, sizeof(cl.where), "redis://%s:%d",
             cl.redis.url.host, cl.redis.url.port);
    pick_name(conf);
    {
        char deflt[PROTO_ROOM_MAX + 1];
        hub_default_room(deflt);
        proto_room_fold(deflt, cl.deflt);
    }
    snprintf(cl.redis.channel, sizeof(cl.redis.channel), "%s",
             conf->channel);
    snprintf(cl.nodekey, sizeof(cl.nodekey), "%s:node:%s", conf->channel,
             cl.node);
    snprintf(cl.guestkey, sizeof(cl.guestkey), "%s:guests", conf->channel);
    snprintf(cl.redis.rooms, sizeof(cl.redis.rooms), "%s:rooms",
             conf->channel);
    if (getrandom(&cl.run, sizeof(cl.run), 0) != sizeof(cl.run))
        cl.run = (uint64_t)getpid() << 32 ^ (uint64_t)clock_ms();
    cl.run |= 1;                    /* never 0 */
    cl.timeout_ms = conf->timeout * 1000;
    cl.hb_ms = cl.timeout_ms / 4 < 250 ? 250 : cl.timeout_ms / 4;
    cl.node_ttl_ms = 2 * cl.hb_ms + 1000;
    cl.backoff = CL_BACKOFF_MIN_MS;
    cl.outq_tail = &cl.outq;
    cl.infl_tail = &cl.infl;
    cl.guests.next = 1;             /* no block yet: next > end */
    cl.buf = xmalloc(CLWIRE_MAX + 1);
    clnodes_init(&cl.nodes, cl.node, cl.run);
    cl.nodes.room_id = cl_room_local_id;
    if ((cl.efd = wakeup_open()) < 0)
        fatal("cluster: eventfd");
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/*
 * Claim this node's name on context c.  A claim held by another run is
 * watched until it expires (its node is gone: ours) or is refreshed (its
 * node is alive).  Returns 0 (ours), 1 (a live node has it), -1 (Redis
 * failed: err set).
 */
static int
claim_name(struct redisContext *c, char *err, size_t errlen)
{
    long long left, prev = -1;
    int64_t end = clock_ms() + cl.node_ttl_ms + 1000;

    while ((left = cllink_claim_node(c, cl.nodekey, cl.run,
                                     (long)cl.node_ttl_ms, err,
                                     errlen)) > 0) {
        if (prev >= 0 && left > prev)
            return 1;               /* refreshed meanwhile: alive */
        if (prev < 0)
            end = clock_ms() + left + 500;
        if (clock_ms() > end)
            return 1;               /* no expiry: someone set it */
        prev = left;
        sleep_ms(left < 100 ? left : 100);
    }
    return left < 0 ? -1 : 0;
}

/*
 * The first, bounded try at start: reach Redis, claim the name and take
 * a first block of guest numbers.  Returns -1 (err set) only when a live
 * node has the name; Redis out of reach is only logged.
 */
static int
first_try(char *err, size_t errlen)
{
    struct redisContext *c;
    char why[256];
    long long end;
    int rc;

    if (cllink_connect(&cl.redis, &c, why, sizeof(why)) < 0) {
        log_warnx("cannot reach %s at start (%s): serving this server's "
                  "users only, retrying", cl.where, why);
        return 0;
    }
    if ((rc = claim_name(c, why, sizeof(why))) < 0)
        log_warnx("%s at start: %s: retrying", cl.where, why);
    if (rc == 0 && (end = cllink_incrby_now(c, cl.guestkey, CL_GUEST_BLOCK,
                                            why, sizeof(why))) > 0)
        cl_guests_got_locked(end);  /* no other thread yet */
    cllink_free_context(c);
    if (rc == 1) {
        snprintf(err, errlen, "node name %s is in use by another running "
                 "node: give each node its own --node-name", cl.node);
        return -1;
    }
    return 0;
}

/*
 * Join the cluster (conf checked by cluster_check_conf()): claim the node
 * name, set the hub's relay; cluster_run() starts the thread.  Main
 * thread, after hub_init() and before the workers start.  Returns 0, or
 * -1 with err set when another running node has this node's name (chatd
 * exits 2).  Redis out of reach is no error: the link comes up in the
 * background; chatd serves its own users meanwhile.
 */
int
cluster_start(const struct cluster_conf *conf, char *err, size_t errlen)
{
    setup(conf);
    log_info("cluster: node %s, %s, channel %s", cl.node, cl.where,
             conf->channel);
    if (first_try(err, errlen) < 0)
        return -1;
    cl.enabled = 1;
    hub_set_relay(&(struct hub_relay){ .relay = cluster_relay,
                                       .guest = cluster_guest,
                                       .room = cl_room_hook,
                                       .members = cl_room_members });
    return 0;
}

/*
 * Start the cluster thread.  Main thread, once the workers run (the
 * thread delivers to their mailboxes from its first message on).
 */
void
cluster_run(void)
{
    int rc;

    if (!cl.enabled)
        return;
    if ((rc = pthread_create(&cl.thread, NULL, cl_thread_main, NULL)) != 0) {
        errno = rc;
        fatal("pthread_create");
    }
}

/*
 * Leave the cluster: tell the other nodes, deliver what is in flight
 * here, stop the thread.  Main thread, while the workers still run.
 * From now on every broadcast stays on this node.
 */
void
cluster_stop(void)
{
    int rc;

    if (!cl.enabled)
        return;
    pthread_mutex_lock(&cl.lock);
    cl.stopping = 1;
    pthread_mutex_unlock(&cl.lock);
    wakeup_post(cl.efd);
    if ((rc = pthread_join(cl.thread, NULL)) != 0) {
        errno = rc;
        fatal("pthread_join");
    }
    pthread_mutex_lock(&cl.lock);
    clnodes_free(&cl.nodes);
    cl_room_free_all();
    pthread_mutex_unlock(&cl.lock);
    free(cl.buf);
    cl.buf = NULL;
}
