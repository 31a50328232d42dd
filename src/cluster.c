/*
 * cluster.c: scale-out through Redis pub/sub (hiredis).
 *
 * Threads and ownership.  The cluster thread owns both Redis contexts (a
 * dedicated subscriber, and one for PUBLISH and nickname keys), the timers,
 * the in-flight list and the per-node sequence tracking.  Guarded by
 * cl.lock and shared with the workers and the hub: the outgoing queue, the
 * link state, the table of other nodes and their rosters.  Counters are
 * relaxed atomics; the settings in `cl` above "lock" are fixed after
 * cluster_start().
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
 * Failure.  Any error on either context, or silence on the channel for
 * three heartbeats (our own heartbeat should come back), drops both
 * contexts: the in-flight and queued broadcasts are delivered here, the
 * clients are told, and broadcasts stay local until a new pair of
 * contexts has subscribed again (backoff 250 ms doubling to 4 s, forever).
 * Then the nicknames are registered again and the clients told.
 *
 * Nicknames.  A nickname belongs to a node through the Redis key
 * CHANNEL:nick:LOWERCASE (value: node name, expiry 30 s, refreshed every
 * 10 s).  Workers ask with cluster_claim() and get the answer in their
 * mailbox (MBOX_CLAIM); the client's input waits meanwhile.  Guests need
 * no key: each node names them guestN-TAG, TAG from its name.
 *
 * Liveness.  Each node publishes its roster every timeout/4 (5 s by
 * default); a node not heard from for `timeout` seconds (20) is gone: its
 * users' leaves are announced here and its keys deleted.
 *
 * Lock order: hub.lock, then cl.lock, then mbox.lock.  The cluster thread
 * never calls into the hub with cl.lock held, and no lock is held across
 * a Redis call.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/types.h>
#include <sys/time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cluster.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "clock.h"
#include "counter.h"
#include "wakeup.h"
#include "xmalloc.h"

#define CL_TICK_MS          100     /* timer resolution */
#define CL_IO_TIMEOUT_S     2       /* connect and command timeout */
#define CL_BACKOFF_MIN_MS   250
#define CL_BACKOFF_MAX_MS   4000
#define CL_NICK_TTL_S       30      /* expiry of a nickname key */
#define CL_NICK_REFRESH_MS  10000
#define CL_NODES_MAX        256
#define CL_ROSTER_MAX       (1 << 20)   /* nicknames of one node */
#define CL_CHUNK            8000    /* roster bytes per message */
#define CL_REASON_MAX       100     /* bytes of a remote leave reason */

/* Set the key to the node unless another node has it: 1, else 0. */
static const char claim_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false or v == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end "
    "return 0";
/* Delete the key if the node ARGV[1] has it. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

enum item_kind {
    ITEM_BCAST,         /* a broadcast to relay; in flight until its echo */
    ITEM_RAW,           /* a message to publish: roster, private, quit */
    ITEM_CLAIM,         /* a client asks for a nickname */
    ITEM_REFRESH,       /* keep a local user's nickname key */
    ITEM_RELEASE        /* delete a nickname key if `owner` has it */
};

struct cl_item {
    struct cl_item *next;
    enum item_kind  kind;
    int             sent;       /* a command is waiting for its reply */
    int             result;     /* claim: CLUSTER_CLAIM_* once answered */
    int             answered;
    uint64_t        seq;        /* BCAST, RAW */
    struct msg     *wire;       /* BCAST, RAW: body (clwire.h) */
    struct msg     *line;       /* BCAST: the line for local clients */
    uint64_t        from;       /* BCAST: sender, excluded */
    int             history;    /* BCAST */
    uint64_t        client;     /* CLAIM */
    int             worker;     /* CLAIM */
    char            nick[PROTO_NICK_MAX + 1];
    char            owner[CLWIRE_NAME_MAX + 1];     /* RELEASE */
};

/* A node's nicknames: an array, and an index on the folded name. */
struct roster {
    char          (*v)[PROTO_NICK_MAX + 1];
    size_t          n, cap;
    uint32_t       *idx;        /* open addressing: 0 free, else i + 1 */
    size_t          icap;       /* power of two, at least 2 * n */
};

struct cl_node {
    char            name[CLWIRE_NAME_MAX + 1];
    uint64_t        run;
    uint64_t        last_seq;   /* cluster thread only */
    int64_t         heard_ms;
    struct roster   users;      /* lock */
    struct roster   pending;    /* roster parts still coming; thread */
    int             returned;   /* was lost: announce its users again */
};

static struct {
    int             enabled;
    char            host[256];
    int             port;
    char            node[CLWIRE_NAME_MAX + 1];
    char            channel[CLWIRE_NAME_MAX + 1];
    uint64_t        run;
    int64_t         timeout_ms, hb_ms;
    pthread_t       thread;
    int             efd;                /* wakes the cluster thread */

    pthread_mutex_t lock;
    int             up;                 /* lock: relay broadcasts */
    int             stopping;           /* lock */
    struct cl_item *outq, **outq_tail;  /* lock */
    uint64_t        seq;                /* lock: last number given */
    struct cl_node *nodes;              /* lock */
    size_t          nnodes;             /* lock */

    atomic_int      link;               /* == up, for quick looks */
    atomic_int      told_down;          /* clients were told "down" */
    atomic_ulong    relay_out, relay_in, gaps, dropped, reconnects,
                    conflicts;

    /* Cluster thread only. */
    redisContext   *pub, *sub;
    int             subscribed, ever_up, fails;
    int64_t         next_try, backoff, next_hb, next_refresh;
    int             twin;       /* another live node has our name */
    int64_t         last_rx, up_since, warn_ms;
    uint64_t        echo_seq;           /* last own message seen back */
    char          (*lost)[CLWIRE_NAME_MAX + 1];  /* nodes timed out */
    size_t          nlost;
    struct cl_item *infl, **infl_tail;  /* published, awaiting echo */
    struct mbox_vec batch;              /* for hub_inject() */
    char           *buf;                /* CLWIRE_MAX + 1 */
    char           *clean;              /* CLWIRE_MAX * 3 + 1 */
} cl = { .efd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------------ */
/* Rosters (lock held, or the node is the cluster thread's)            */
/* ------------------------------------------------------------------ */

static size_t
roster_hash(const char *nick)
{
    char fold[PROTO_NICK_MAX + 1];
    size_t h = 5381;

    proto_nick_fold(nick, fold);
    for (const unsigned char *p = (const unsigned char *)fold; *p; p++)
        h = h * 33 + *p;
    return h;
}

/* Put entry i into the index (there is room). */
static void
roster_index(struct roster *r, size_t i)
{
    size_t j = roster_hash(r->v[i]) & (r->icap - 1);

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
static ssize_t
roster_find(const struct roster *r, const char *nick)
{
    if (r->icap == 0)
        return -1;
    for (size_t j = roster_hash(nick) & (r->icap - 1); r->idx[j] != 0;
         j = (j + 1) & (r->icap - 1))
        if (proto_nick_equal(r->v[r->idx[j] - 1], nick))
            return (ssize_t)r->idx[j] - 1;
    return -1;
}

static void
roster_add(struct roster *r, const char *nick)
{
    ssize_t i = roster_find(r, nick);

    if (i >= 0) {
        snprintf(r->v[i], sizeof(r->v[i]), "%s", nick);
        return;
    }
    if (r->n >= CL_ROSTER_MAX)
        return;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 16;
        r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
    }
    snprintf(r->v[r->n++], sizeof(r->v[0]), "%s", nick);
    if (2 * r->n > r->icap)
        roster_reindex(r);
    else
        roster_index(r, r->n - 1);
}

/* Remove nick: the last entry takes its place and the index is rebuilt
 * (a leave costs O(n); finding and adding stay O(1)). */
static void
roster_del(struct roster *r, const char *nick)
{
    ssize_t i = roster_find(r, nick);

    if (i < 0)
        return;
    memcpy(r->v[i], r->v[--r->n], sizeof(r->v[0]));
    roster_reindex(r);
}

static void
roster_free(struct roster *r)
{
    free(r->v);
    free(r->idx);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ */
/* The outgoing queue                                                  */
/* ------------------------------------------------------------------ */

static struct cl_item *
item_new(enum item_kind kind)
{
    struct cl_item *it = xcalloc(1, sizeof(*it));

    it->kind = kind;
    return it;
}

static void
item_free(struct cl_item *it)
{
    msg_unref(it->wire);
    msg_unref(it->line);
    free(it);
}

/* Append it to the queue, numbering what is published; lock held. */
static void
enqueue_locked(struct cl_item *it)
{
    int was_empty = cl.outq == NULL;

    if (it->kind == ITEM_BCAST || it->kind == ITEM_RAW)
        it->seq = ++cl.seq;
    *cl.outq_tail = it;
    cl.outq_tail = &it->next;
    if (was_empty)
        wakeup_post(cl.efd);
}

/* Queue a message to publish while the link is up: 0, else -1. */
static int
enqueue_raw(struct msg *wire)
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
    it = item_new(ITEM_RAW);
    it->wire = wire;
    enqueue_locked(it);
    pthread_mutex_unlock(&cl.lock);
    return 0;
}

/*
 * The hub's relay: take the broadcasts of v that have a wire form, when
 * the link is up, and leave the rest in v, in order.  Returns how many
 * were taken.  Any worker thread, hub.lock held.
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
        if (e->kind == MBOX_BROADCAST && e->wire != NULL) {
            struct cl_item *it = item_new(ITEM_BCAST);
            it->line = e->msg;
            it->wire = e->wire;
            it->from = e->from;
            it->history = e->history;
            enqueue_locked(it);
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
    it = item_new(ITEM_CLAIM);
    snprintf(it->nick, sizeof(it->nick), "%s", nick);
    it->client = client;
    it->worker = worker;
    enqueue_locked(it);
    pthread_mutex_unlock(&cl.lock);
    return 0;
}

static void
release_locked(const char *nick, const char *owner)
{
    struct cl_item *it = item_new(ITEM_RELEASE);

    snprintf(it->nick, sizeof(it->nick), "%s", nick);
    snprintf(it->owner, sizeof(it->owner), "%s", owner);
    enqueue_locked(it);
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
        release_locked(nick, cl.node);
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
    int rc = -1;

    pthread_mutex_lock(&cl.lock);
    for (size_t i = 0; i < cl.nnodes && rc < 0; i++) {
        ssize_t k = roster_find(&cl.nodes[i].users, nick);
        if (k >= 0) {
            memcpy(real, cl.nodes[i].users.v[k], PROTO_NICK_MAX + 1);
            snprintf(node, nodelen, "%s", cl.nodes[i].name);
            rc = 0;
        }
    }
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
    return enqueue_raw(clwire_private(node, from, to, text));
}

/*
 * Users of the other nodes reachable now (none while the link is down),
 * for cluster_remote_count() and cluster_who_page(); cl.lock held.
 */
static size_t
reachable_users(void)
{
    size_t n = 0;

    if (!cl.up)
        return 0;
    for (size_t i = 0; i < cl.nnodes; i++)
        n += cl.nodes[i].users.n;
    return n;
}

size_t
cluster_remote_count(void)
{
    size_t n;

    pthread_mutex_lock(&cl.lock);
    n = reachable_users();
    pthread_mutex_unlock(&cl.lock);
    return n;
}

/*
 * One page of the other nodes' users reachable now, for /who (see
 * hub_who_page()): call add with at most max nicknames from node *node,
 * entry *pos on, and move the cursor past them.  Returns 1 while more
 * follow.  add runs with cl.lock held.  A roster that changes between
 * pages may have a user skipped or listed twice.  Any worker thread.
 */
int
cluster_who_page(size_t *node, size_t *pos, size_t max,
                 void (*add)(void *arg, const char *nick), void *arg)
{
    size_t n = 0;
    int more;

    pthread_mutex_lock(&cl.lock);
    if (!cl.up)
        *node = cl.nnodes;
    while (*node < cl.nnodes && n < max) {
        struct roster *r = &cl.nodes[*node].users;
        if (*pos >= r->n) {
            (*node)++;
            *pos = 0;
            continue;
        }
        add(arg, r->v[(*pos)++]);
        n++;
    }
    more = *node < cl.nnodes;
    pthread_mutex_unlock(&cl.lock);
    return more;
}

/* The cluster's part of the SIGUSR1 stats line; any thread. */
void
cluster_stats(char *buf, size_t len)
{
    size_t nodes, users = 0;

    if (!cl.enabled) {
        snprintf(buf, len, "cluster=off");
        return;
    }
    pthread_mutex_lock(&cl.lock);
    nodes = cl.nnodes;
    for (size_t i = 0; i < cl.nnodes; i++)
        users += cl.nodes[i].users.n;
    pthread_mutex_unlock(&cl.lock);
    snprintf(buf, len, "cluster=%s nodes=%zu remote_users=%zu "
             "cluster_out=%lu cluster_in=%lu cluster_gaps=%lu "
             "cluster_dropped=%lu cluster_reconnects=%lu "
             "nick_conflicts=%lu", cluster_link_up() ? "up" : "down",
             nodes + 1, users, atomic_load(&cl.relay_out),
             atomic_load(&cl.relay_in), atomic_load(&cl.gaps),
             atomic_load(&cl.dropped), atomic_load(&cl.reconnects),
             atomic_load(&cl.conflicts));
}

/* ------------------------------------------------------------------ */
/* Cluster thread: delivering                                          */
/* ------------------------------------------------------------------ */

static void
push_line(struct msg *line, uint64_t from, int history)
{
    mbox_vec_broadcast(&cl.batch, line, from, history, NULL);
}

#define push_notice(...) push_line(msg_notice(__VA_ARGS__), 0, 0)

/* Deliver an in-flight broadcast here and free the item. */
static void
deliver_item(struct cl_item *it)
{
    push_line(it->line, it->from, it->history);
    it->line = NULL;
    item_free(it);
}

/* Answer a claim in the asking worker's mailbox; frees nothing. */
static void
answer_claim(struct cl_item *it, int result)
{
    struct mbox_entry e = { .kind = MBOX_CLAIM, .to = it->client,
                            .worker = it->worker, .result = result,
                            .msg = msg_new(it->nick,
                                           strlen(it->nick) + 1) };
    hub_post(&e);
}

/*
 * Refreshing it->nick found the key held by another node: two nodes gave
 * out one name while split.  The other node keeps it; the local user who
 * has it is told, through its worker's mailbox, to take a guest name.
 * Cluster thread; no lock held.
 */
static void
give_up_nick(struct cl_item *it)
{
    char real[PROTO_NICK_MAX + 1];
    uint64_t id;
    int worker;

    if (hub_lookup(it->nick, &id, &worker, real) < 0)
        return;                     /* gone or renamed meanwhile */
    it->client = id;
    it->worker = worker;
    answer_claim(it, CLUSTER_CLAIM_LOST);
}

/* A warning, at most one a second (hostile input must not flood logs). */
static int
may_warn(void)
{
    int64_t now = clock_ms();

    if (now - cl.warn_ms < 1000)
        return 0;
    cl.warn_ms = now;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Cluster thread: the link                                            */
/* ------------------------------------------------------------------ */

static void
free_contexts(void)
{
    if (cl.pub)
        redisFree(cl.pub);
    if (cl.sub)
        redisFree(cl.sub);
    cl.pub = cl.sub = NULL;
    cl.subscribed = 0;
}

/*
 * hub_inject_with() callback for link_down(), hub.lock held: mark the link
 * down and put the broadcasts in flight or queued into v (cl.batch) for
 * local delivery, in their order; answer queued claims.  *arg: was the
 * link up.
 */
static void
take_down(void *arg, struct mbox_vec *v)
{
    struct cl_item *list, *it, *next;
    int *was_up = arg;

    (void)v;                        /* deliver_item() fills cl.batch */
    pthread_mutex_lock(&cl.lock);
    *was_up = cl.up;
    cl.up = 0;
    atomic_store(&cl.link, 0);
    list = cl.outq;
    cl.outq = NULL;
    cl.outq_tail = &cl.outq;
    pthread_mutex_unlock(&cl.lock);

    for (it = cl.infl; it != NULL; it = next) {
        next = it->next;
        deliver_item(it);
    }
    cl.infl = NULL;
    cl.infl_tail = &cl.infl;
    for (it = list; it != NULL; it = next) {
        next = it->next;
        if (it->kind == ITEM_BCAST) {
            deliver_item(it);
            continue;
        }
        if (it->kind == ITEM_CLAIM)
            answer_claim(it, CLUSTER_CLAIM_DOWN);
        item_free(it);
    }
}

/*
 * Take the link down (why: for the log, or NULL when stopping): deliver
 * here what was in flight or queued, fail pending claims, tell the clients
 * and schedule a reconnection.
 */
static void
link_down(const char *why, int64_t now)
{
    char reason[256];
    int was_up;

    snprintf(reason, sizeof(reason), "%s", why ? why : "stopping");
    hub_inject(&cl.batch, NULL, NULL);
    free_contexts();
    /* Going down and delivering what was in flight locally is one step
     * for the workers: none publishes a newer line in between, which
     * would go out locally ahead of an older one still in flight. */
    hub_inject(&cl.batch, take_down, &was_up);
    if (was_up && why != NULL) {
        log_warnx("link to redis://%s:%d lost (%s): serving "
                  "this server's users only, reconnecting", cl.host,
                  cl.port, reason);
        push_notice("%s", CLUSTER_DOWN_TEXT);
        atomic_store(&cl.told_down, 1);
    } else if (why != NULL && cl.fails++ % 30 == 0) {
        log_warnx("cannot reach redis://%s:%d (%s): serving "
                  "this server's users only, retrying", cl.host, cl.port,
                  reason);
    }
    hub_inject(&cl.batch, NULL, NULL);
    cl.next_try = now + cl.backoff;
    cl.backoff = cl.backoff * 2 > CL_BACKOFF_MAX_MS ? CL_BACKOFF_MAX_MS
                                                    : cl.backoff * 2;
}

/* Subscribed: relay from now on, register the nicknames again. */
static void
link_up(int64_t now)
{
    pthread_mutex_lock(&cl.lock);
    cl.up = 1;
    atomic_store(&cl.link, 1);
    cl.echo_seq = cl.seq;           /* all before was handled locally */
    pthread_mutex_unlock(&cl.lock);
    cl.subscribed = 1;
    cl.backoff = CL_BACKOFF_MIN_MS;
    cl.fails = 0;
    cl.up_since = now;
    cl.next_hb = now;
    cl.next_refresh = now;
    if (cl.ever_up)
        counter_add(&cl.reconnects, 1);
    cl.ever_up = 1;
    log_info("link up: redis://%s:%d channel %s, node %s",
             cl.host, cl.port, cl.channel, cl.node);
    if (atomic_exchange(&cl.told_down, 0)) {
        push_notice("%s", CLUSTER_BACK_TEXT);
        hub_inject(&cl.batch, NULL, NULL);
    }
}

static redisContext *
open_context(char *err, size_t errlen)
{
    struct timeval tv = { CL_IO_TIMEOUT_S, 0 };
    redisContext *c = redisConnectWithTimeout(cl.host, cl.port, tv);

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (c->err == 0 && redisSetTimeout(c, tv) != REDIS_OK)
        snprintf(c->errstr, sizeof(c->errstr), "cannot set timeout");
    if (c->err == 0)
        redisEnableKeepAlive(c);
    if (c->err != 0) {
        snprintf(err, errlen, "%s", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Open both contexts and send SUBSCRIBE; the link is up on its answer. */
static void
link_connect(int64_t now)
{
    char err[256];
    int done = 0;

    if ((cl.pub = open_context(err, sizeof(err))) == NULL ||
        (cl.sub = open_context(err, sizeof(err))) == NULL) {
        link_down(err, now);
        return;
    }
    if (redisAppendCommand(cl.sub, "SUBSCRIBE %b", cl.channel,
                           strlen(cl.channel)) != REDIS_OK) {
        link_down(cl.sub->errstr, now);
        return;
    }
    while (!done)
        if (redisBufferWrite(cl.sub, &done) != REDIS_OK) {
            link_down(cl.sub->errstr, now);
            return;
        }
    cl.last_rx = now;
}

/* ------------------------------------------------------------------ */
/* Cluster thread: publishing                                          */
/* ------------------------------------------------------------------ */

static int
append_publish(struct cl_item *it)
{
    int n = clwire_header(cl.buf, CLWIRE_MAX + 1, cl.node, cl.run, it->seq);

    if (n < 0 || (size_t)n + it->wire->len > CLWIRE_MAX)
        return 0;                   /* cannot happen: hub_wire() bounds */
    memcpy(cl.buf + n, it->wire->data, it->wire->len);
    return redisAppendCommand(cl.pub, "PUBLISH %b %b", cl.channel,
                              strlen(cl.channel), cl.buf,
                              (size_t)n + it->wire->len) == REDIS_OK;
}

static int
append_key(const char *script, const char *nick, const char *owner,
           int ttl)
{
    char fold[PROTO_NICK_MAX + 1], key[CLWIRE_NAME_MAX + 64], ttls[16];

    proto_nick_fold(nick, fold);
    snprintf(key, sizeof(key), "%s:nick:%s", cl.channel, fold);
    snprintf(ttls, sizeof(ttls), "%d", ttl);
    return redisAppendCommand(cl.pub, "EVAL %s 1 %s %s %s", script, key,
                              owner, ttls) == REDIS_OK;
}

/* 1 if another node's roster has nick. */
static int
remote_has(const char *nick)
{
    char real[PROTO_NICK_MAX + 1], node[CLWIRE_NAME_MAX + 1];

    return cluster_lookup(nick, real, node, sizeof(node)) == 0;
}

/* Append it's command to the pipeline; 0, or -1 on a context error. */
static int
append_item(struct cl_item *it)
{
    int ok = 1;

    switch (it->kind) {
    case ITEM_BCAST:
    case ITEM_RAW:
        ok = append_publish(it);
        break;
    case ITEM_CLAIM:
        if (remote_has(it->nick)) {
            it->result = CLUSTER_CLAIM_TAKEN;
            it->answered = 1;
            return 0;
        }
        /* FALLTHROUGH */
    case ITEM_REFRESH:
        ok = append_key(claim_lua, it->nick, cl.node, CL_NICK_TTL_S);
        break;
    case ITEM_RELEASE:
        ok = append_key(release_lua, it->nick, it->owner, 0);
        break;
    }
    it->sent = ok;
    return ok ? 0 : -1;
}

/* Take it's reply; 0, or -1 on a context error. */
static int
read_reply(struct cl_item *it)
{
    redisReply *r;
    int good;

    if (redisGetReply(cl.pub, (void **)&r) != REDIS_OK)
        return -1;
    good = r->type == REDIS_REPLY_INTEGER;
    if (!good && may_warn())
        log_warnx("unexpected reply from redis: %s",
                  r->type == REDIS_REPLY_ERROR ? r->str : "(not a number)");
    switch (it->kind) {
    case ITEM_BCAST:
    case ITEM_RAW:
        if (good)
            counter_add(&cl.relay_out, 1);
        break;
    case ITEM_CLAIM:
        it->result = good && r->integer == 1 ? CLUSTER_CLAIM_OK
                   : good ? CLUSTER_CLAIM_TAKEN : CLUSTER_CLAIM_DOWN;
        it->answered = 1;
        break;
    case ITEM_REFRESH:
        if (good && r->integer == 0) {
            counter_add(&cl.conflicts, 1);
            log_warnx("nickname %s is registered by another node: the "
                      "local user gives it up", it->nick);
            it->result = CLUSTER_CLAIM_LOST;
        }
        break;
    case ITEM_RELEASE:
        break;
    }
    freeReplyObject(r);
    return 0;
}

/*
 * Publish and run what the queue holds, pipelined: all commands, then all
 * replies.  Broadcasts move to the in-flight list; claims are answered.
 */
static void
process_queue(int64_t now)
{
    struct cl_item *list, *it, *next;
    char err[256] = "";

    pthread_mutex_lock(&cl.lock);
    list = cl.outq;
    cl.outq = NULL;
    cl.outq_tail = &cl.outq;
    pthread_mutex_unlock(&cl.lock);
    if (list == NULL)
        return;
    if (cl.pub == NULL) {           /* only while stopping */
        for (it = list; it != NULL; it = next) {
            next = it->next;
            if (it->kind == ITEM_BCAST) {
                deliver_item(it);
                continue;
            }
            if (it->kind == ITEM_CLAIM)
                answer_claim(it, CLUSTER_CLAIM_DOWN);
            item_free(it);
        }
        hub_inject(&cl.batch, NULL, NULL);
        return;
    }
    for (it = list; it != NULL && !err[0]; it = it->next)
        if (append_item(it) < 0)
            snprintf(err, sizeof(err), "%s", cl.pub->errstr);
    for (it = list; it != NULL && !err[0]; it = it->next)
        if (it->sent && read_reply(it) < 0)
            snprintf(err, sizeof(err), "%s", cl.pub->errstr);
    for (it = list; it != NULL; it = next) {
        next = it->next;
        if (it->kind == ITEM_BCAST) {
            it->next = NULL;
            *cl.infl_tail = it;
            cl.infl_tail = &it->next;
            continue;
        }
        if (it->kind == ITEM_CLAIM)
            answer_claim(it, it->answered ? it->result
                                          : CLUSTER_CLAIM_DOWN);
        if (it->kind == ITEM_REFRESH && it->result == CLUSTER_CLAIM_LOST)
            give_up_nick(it);
        item_free(it);
    }
    if (err[0])
        link_down(err, now);
}

/* ------------------------------------------------------------------ */
/* Cluster thread: heartbeats and nickname keys                        */
/* ------------------------------------------------------------------ */

struct chunk {
    char    buf[CL_CHUNK + PROTO_NICK_MAX + 8];
    size_t  len;
};

static void
chunk_flush(struct chunk *ch, int more)
{
    enqueue_raw(clwire_roster(more, ch->buf, ch->len));
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
    if (nick == NULL || proto_guest_name(nick))
        return;
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        release_locked(nick, cl.node);
    pthread_mutex_unlock(&cl.lock);
}

/* hub_each() callback: keep a user's key (hub.lock held). */
static void
refresh_add(void *arg, const char *nick)
{
    struct cl_item *it;

    if (nick == NULL || proto_guest_name(nick))
        return;
    it = item_new(ITEM_REFRESH);
    snprintf(it->nick, sizeof(it->nick), "%s", nick);
    pthread_mutex_lock(&cl.lock);
    if (cl.up)
        enqueue_locked(it);
    else
        item_free(it);
    pthread_mutex_unlock(&cl.lock);
}

/*
 * Remove node i, announcing its users' leaves; lock held.  A node lost
 * (not shut down) is remembered, to announce its users if it comes back.
 */
static void
drop_node_locked(size_t i, const char *reason, int delete_keys, int lost)
{
    struct cl_node *nd = &cl.nodes[i];

    for (size_t k = 0; k < nd->users.n; k++) {
        push_notice("%s has left (%s)", nd->users.v[k], reason);
        if (delete_keys && cl.up)
            release_locked(nd->users.v[k], nd->name);
    }
    roster_free(&nd->users);
    roster_free(&nd->pending);
    if (lost && cl.nlost < CL_NODES_MAX) {
        if (cl.lost == NULL)
            cl.lost = xcalloc(CL_NODES_MAX, sizeof(*cl.lost));
        memcpy(cl.lost[cl.nlost++], nd->name, sizeof(nd->name));
    }
    cl.nodes[i] = cl.nodes[--cl.nnodes];
}

/* Heartbeat, key refresh and liveness, as due. */
static void
timers(int64_t now)
{
    int up = cluster_link_up();

    if (up && now >= cl.next_hb) {
        struct chunk ch = { .len = 0 };
        hub_each(chunk_add, &ch);
        cl.next_hb = now + cl.hb_ms;
    }
    if (up && now >= cl.next_refresh) {
        hub_each(refresh_add, NULL);
        cl.next_refresh = now + CL_NICK_REFRESH_MS;
    }
    pthread_mutex_lock(&cl.lock);
    for (size_t i = 0; i < cl.nnodes; i++) {
        struct cl_node *nd = &cl.nodes[i];
        if (now - nd->heard_ms <= cl.timeout_ms)
            continue;
        /* Only delete its keys if we could have heard it all along. */
        int sure = up && now - cl.up_since > cl.timeout_ms;
        char reason[CLWIRE_NAME_MAX + 32];
        log_warnx("node %s silent for %lld s: dropping its %zu "
                  "users", nd->name, (long long)(now - nd->heard_ms) / 1000,
                  nd->users.n);
        snprintf(reason, sizeof(reason), "lost server %s", nd->name);
        drop_node_locked(i--, reason, sure, 1);
    }
    pthread_mutex_unlock(&cl.lock);
    hub_inject(&cl.batch, NULL, NULL);
    if (cl.sub != NULL && now - cl.last_rx > 3 * cl.hb_ms + 2000)
        link_down("no messages from redis", now);
}

/* ------------------------------------------------------------------ */
/* Cluster thread: receiving                                           */
/* ------------------------------------------------------------------ */

/* Our own message came back: deliver what it completes. */
static void
own_echo(const struct clwire *m)
{
    if (m->run != cl.run) {
        counter_add(&cl.dropped, 1);
        if (m->type != 'H') {
            if (may_warn())
                log_warnx("dropped a message in this node's name (%s) "
                          "from another run", cl.node);
            return;
        }
        /* A heartbeat: a live twin, not a replay.  Both nodes would
         * drop each other's messages as echoes and share nicknames.
         * Leave the cluster, loudly, and stay out: the clients are
         * told the link is down. */
        cl.twin = 1;
        log_warnx("another node calls itself %s: leaving the cluster; "
                  "give each node its own --node-name and restart",
                  cl.node);
        return;
    }
    if (m->seq <= cl.echo_seq)
        return;                     /* from before the link came back */
    if (m->seq != cl.echo_seq + 1) {
        counter_add(&cl.gaps, m->seq - cl.echo_seq - 1);
        log_warnx("%llu of our own messages did not come back",
                  (unsigned long long)(m->seq - cl.echo_seq - 1));
    }
    cl.echo_seq = m->seq;
    while (cl.infl != NULL && cl.infl->seq <= m->seq) {
        struct cl_item *it = cl.infl;
        cl.infl = it->next;
        if (cl.infl == NULL)
            cl.infl_tail = &cl.infl;
        deliver_item(it);
    }
}

static struct cl_node *
node_get(const char *name, int64_t now)
{
    for (size_t i = 0; i < cl.nnodes; i++)
        if (strcmp(cl.nodes[i].name, name) == 0)
            return &cl.nodes[i];
    if (cl.nnodes == CL_NODES_MAX)
        return NULL;
    if (cl.nnodes == 0 || (cl.nnodes & (cl.nnodes - 1)) == 0)
        cl.nodes = xrealloc(cl.nodes, (cl.nnodes ? cl.nnodes * 2 : 4) *
                            sizeof(*cl.nodes));
    struct cl_node *nd = &cl.nodes[cl.nnodes++];
    memset(nd, 0, sizeof(*nd));
    snprintf(nd->name, sizeof(nd->name), "%s", name);
    nd->heard_ms = now;
    for (size_t i = 0; i < cl.nlost; i++)
        if (strcmp(cl.lost[i], name) == 0) {
            nd->returned = 1;
            memcpy(cl.lost[i], cl.lost[--cl.nlost], sizeof(cl.lost[i]));
            break;
        }
    log_info("node %s %s", name, nd->returned ? "is back" : "joined");
    return nd;
}

/* Sanitize m's text into cl.clean; returns its length. */
static size_t
clean_text(const struct clwire *m, size_t max)
{
    return proto_sanitize(m->text, m->textlen < max ? m->textlen : max,
                          cl.clean);
}

/* Take a roster part; lock held.  Returns -1 if it is malformed. */
static int
roster_part(struct cl_node *nd, const struct clwire *m)
{
    const char *p = m->text, *end = m->text + m->textlen;
    char nick[PROTO_NICK_MAX + 1];
    int rc;

    while ((rc = clwire_next_nick(&p, end, nick)) == 1)
        roster_add(&nd->pending, nick);
    if (rc < 0) {
        roster_free(&nd->pending);
        return -1;
    }
    if (!m->more) {
        for (size_t i = 0; nd->returned && i < nd->pending.n; i++)
            if (roster_find(&nd->users, nd->pending.v[i]) < 0)
                push_notice("%s has joined", nd->pending.v[i]);
        nd->returned = 0;
        roster_free(&nd->users);
        nd->users = nd->pending;
        memset(&nd->pending, 0, sizeof(nd->pending));
    }
    return 0;
}

/* Check a remote message's sequence; lock held.  0: take it, -1: drop. */
static int
sequence(struct cl_node *nd, const struct clwire *m)
{
    if (nd->run != m->run) {
        if (nd->run != 0) {
            log_info("node %s restarted", nd->name);
            for (size_t k = 0; k < nd->users.n; k++)
                push_notice("%s has left (server restarted)",
                            nd->users.v[k]);
            roster_free(&nd->users);
            roster_free(&nd->pending);
        }
        nd->run = m->run;
        nd->last_seq = m->seq - 1;
    }
    if (m->seq <= nd->last_seq)
        return -1;                  /* a replay */
    if (m->seq != nd->last_seq + 1) {
        counter_add(&cl.gaps, m->seq - nd->last_seq - 1);
        log_warnx("missed %llu messages from node %s",
                  (unsigned long long)(m->seq - nd->last_seq - 1),
                  nd->name);
        roster_free(&nd->pending);
    }
    nd->last_seq = m->seq;
    return 0;
}

/* A message from another node (m checked by clwire_parse()). */
static void
remote(const struct clwire *m, int64_t now)
{
    struct cl_node *nd;
    int bad = 0;

    pthread_mutex_lock(&cl.lock);
    if ((nd = node_get(m->node, now)) == NULL || sequence(nd, m) < 0) {
        pthread_mutex_unlock(&cl.lock);
        counter_add(&cl.dropped, 1);
        return;
    }
    nd->heard_ms = now;
    switch (m->type) {
    case 'P':
    case 'A':
        if (clean_text(m, CLWIRE_MAX) > 0)
            push_line(msg_format(m->type == 'P' ? PROTO_PUBLIC
                                                : PROTO_ACTION,
                                 m->nick, cl.clean), 0, 1);
        roster_add(&nd->users, m->nick);
        break;
    case 'J':
        roster_add(&nd->users, m->nick);
        push_notice("%s has joined", m->nick);
        break;
    case 'L':
        roster_del(&nd->users, m->nick);
        clean_text(m, CL_REASON_MAX);
        push_notice("%s has left (%s)", m->nick, cl.clean);
        break;
    case 'N':
        roster_del(&nd->users, m->nick);
        roster_add(&nd->users, m->nick2);
        push_notice("%s is now known as %s", m->nick, m->nick2);
        break;
    case 'H':
        bad = roster_part(nd, m) < 0;
        break;
    case 'Q':
        log_info("node %s is shutting down", nd->name);
        drop_node_locked((size_t)(nd - cl.nodes), "server shutting down",
                         0, 0);
        break;
    default:
        break;
    }
    pthread_mutex_unlock(&cl.lock);
    if (bad)
        counter_add(&cl.dropped, 1);
    else
        counter_add(&cl.relay_in, 1);

    if (m->type == 'M' && strcmp(m->target, cl.node) == 0) {
        char real[PROTO_NICK_MAX + 1];
        uint64_t id;
        int worker;
        if (hub_lookup(m->nick2, &id, &worker, real) == 0 &&
            clean_text(m, CLWIRE_MAX) > 0) {
            struct mbox_entry e = {
                .kind = MBOX_DIRECT, .to = id, .worker = worker,
                .msg = msg_format(PROTO_PRIVATE, m->nick, cl.clean) };
            mbox_vec_push(&cl.batch, &e);
        }
    }
}

/* One message from the channel. */
static void
on_message(const char *data, size_t len, int64_t now)
{
    struct clwire m;

    if (clwire_parse(data, len, &m) < 0) {
        counter_add(&cl.dropped, 1);
        if (may_warn())
            log_warnx("dropped a malformed message (%zu bytes) "
                      "from channel %s", len, cl.channel);
        return;
    }
    if (strcmp(m.node, cl.node) == 0)
        own_echo(&m);
    else
        remote(&m, now);
}

static void
on_reply(redisReply *r, int64_t now)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(r->element[0]->str, "message") == 0 &&
        r->element[2]->type == REDIS_REPLY_STRING)
        on_message(r->element[2]->str, r->element[2]->len, now);
    else if (strcmp(r->element[0]->str, "subscribe") == 0 &&
             !cl.subscribed)
        link_up(now);
}

/* The subscriber socket is readable: take every complete reply. */
static void
read_sub(int64_t now)
{
    void *r;

    if (redisBufferRead(cl.sub) != REDIS_OK) {
        link_down(cl.sub->errstr, now);
        return;
    }
    cl.last_rx = now;
    for (;;) {
        if (redisGetReplyFromReader(cl.sub, &r) != REDIS_OK) {
            link_down(cl.sub->errstr, now);
            return;
        }
        if (r == NULL)
            break;
        on_reply(r, now);
        freeReplyObject(r);
    }
    hub_inject(&cl.batch, NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* Cluster thread: the loop                                            */
/* ------------------------------------------------------------------ */

static int
stopping(void)
{
    int s;

    pthread_mutex_lock(&cl.lock);
    s = cl.stopping;
    pthread_mutex_unlock(&cl.lock);
    return s;
}

static void *
cluster_main(void *arg)
{
    log_set_role("cluster");
    while (!stopping()) {
        int64_t now = clock_ms();
        struct pollfd pfd[2] = { { .fd = cl.efd, .events = POLLIN },
                                 { .fd = -1, .events = POLLIN } };
        if (cl.sub == NULL && now >= cl.next_try && !cl.twin)
            link_connect(now);
        if (cl.sub != NULL)
            pfd[1].fd = cl.sub->fd;
        if (poll(pfd, 2, CL_TICK_MS) < 0 && errno != EINTR)
            fatal("cluster: poll");
        if (pfd[0].revents & POLLIN)
            wakeup_drain(cl.efd);
        now = clock_ms();
        if (cl.sub != NULL && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
            read_sub(now);
        if (cl.twin && cl.sub != NULL)
            link_down("another node has this node's name", now);
        process_queue(now);
        timers(now);
    }
    /* Say goodbye, so that the others announce our users' leaves now,
     * and free our users' nicknames for them at once. */
    if (cluster_link_up()) {
        hub_each(release_add, NULL);
        enqueue_raw(clwire_quit());
        process_queue(clock_ms());
    }
    link_down(NULL, clock_ms());
    free_contexts();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Start and stop: main thread                                         */
/* ------------------------------------------------------------------ */

/*
 * Check the cluster settings: 0, or -1 with a message in err.  Main
 * thread, before anything starts.
 */
int
cluster_check_conf(const struct cluster_conf *conf, char *err,
                   size_t errlen)
{
    char host[256];
    int port;

    if (clwire_parse_url(conf->url, host, sizeof(host), &port) < 0) {
        snprintf(err, errlen, "cluster: '%s' is not redis://HOST:PORT",
                 conf->url);
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

/*
 * Start the cluster thread (conf checked by cluster_check_conf()).  Main
 * thread, after hub_init() and before the workers start.  The link comes
 * up in the background; chatd serves its own users meanwhile.
 */
void
cluster_start(const struct cluster_conf *conf)
{
    char host[256];
    int rc;

    clwire_parse_url(conf->url, cl.host, sizeof(cl.host), &cl.port);
    if (conf->node != NULL) {
        snprintf(cl.node, sizeof(cl.node), "%s", conf->node);
    } else {
        if (gethostname(host, sizeof(host)) < 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        for (char *p = host; *p; p++)
            if (!clwire_name_valid((char[]){ *p, '\0' }))
                *p = '-';
        snprintf(cl.node, sizeof(cl.node), "%.50s:%d", host, conf->port);
    }
    snprintf(cl.channel, sizeof(cl.channel), "%s", conf->channel);
    if (getrandom(&cl.run, sizeof(cl.run), 0) != sizeof(cl.run))
        cl.run = (uint64_t)getpid() << 32 ^ (uint64_t)clock_ms();
    cl.run |= 1;                    /* never 0 */
    cl.timeout_ms = conf->timeout * 1000;
    cl.hb_ms = cl.timeout_ms / 4 < 250 ? 250 : cl.timeout_ms / 4;
    cl.backoff = CL_BACKOFF_MIN_MS;
    cl.outq_tail = &cl.outq;
    cl.infl_tail = &cl.infl;
    cl.buf = xmalloc(CLWIRE_MAX + 1);
    cl.clean = xmalloc(CLWIRE_MAX * 3 + 1);
    if ((cl.efd = wakeup_open()) < 0)
        fatal("cluster: eventfd");
    cl.enabled = 1;
    hub_set_relay(&(struct hub_relay){ .relay = cluster_relay });
    log_info("cluster: node %s, redis://%s:%d, channel %s", cl.node,
             cl.host, cl.port, cl.channel);
    if ((rc = pthread_create(&cl.thread, NULL, cluster_main, NULL)) != 0) {
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
    for (size_t i = 0; i < cl.nnodes; i++) {
        roster_free(&cl.nodes[i].users);
        roster_free(&cl.nodes[i].pending);
    }
    free(cl.nodes);
    cl.nodes = NULL;
    cl.nnodes = 0;
    pthread_mutex_unlock(&cl.lock);
    mbox_vec_free(&cl.batch);
    free(cl.lost);
    free(cl.buf);
    free(cl.clean);
    cl.buf = cl.clean = NULL;
}
