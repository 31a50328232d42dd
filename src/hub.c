/*
 * hub.c: user registry and broadcast hub.
 *
 * Ownership: everything in `hub` is guarded by hub.lock, except the mailbox
 * array, which is fixed after hub_init().  A struct hub_user is created by
 * hub_join() and freed by hub_leave(), both called by the worker that owns
 * the user's client, so that worker may keep a pointer to it.
 *
 * Global order: every broadcast is given its sequence number and appended
 * to every worker's mailbox while hub.lock is held, so each mailbox
 * receives broadcasts in one and the same order.  Cross-thread work per
 * published batch is one hub.lock plus one mailbox lock per worker: it
 * grows with the number of workers, never with the number of clients.
 *
 * Clustering (cluster.c): when a relay is set, hub_publish() first offers
 * it the broadcasts that carry a wire form; while the cluster link is up
 * it takes them and they come back, in the channel's order, through
 * hub_inject().  What it does not take is delivered here, as without a
 * cluster.
 *
 * Lock order: hub.lock before cl.lock (cluster.c) before mbox.lock.  No
 * blocking call under any of them.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clwire.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "xmalloc.h"

struct hub_user {
    uint64_t          id;
    int               worker;
    char              nick[PROTO_NICK_MAX + 1];
    char              fold[PROTO_NICK_MAX + 1];     /* lower case */
    struct hub_user  *hnext;                        /* bucket chain */
    struct hub_user  *prev, *next;                  /* join order */
};

static struct {
    pthread_mutex_t    lock;
    struct mbox       *mboxes;          /* fixed after init */
    int                nworkers;        /* fixed after init */
    struct hub_user  **buckets;         /* lock: by folded nick */
    size_t             nbuckets;        /* lock */
    size_t             count;           /* lock */
    struct hub_user   *first, *last;    /* lock */
    long               max_clients;     /* lock */
    uint64_t           seq;             /* lock: next broadcast's number */
    uint64_t           guest;           /* lock: last guest number */
    struct msg       **hist;            /* lock: ring of public messages */
    size_t             hist_cap, hist_len, hist_next;   /* lock */
    int                stopping;        /* lock */
    int              (*relay)(struct mbox_vec *);   /* fixed after init */
    char               guest_tag[16];   /* fixed after init */
} hub;

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

void
hub_init(int nworkers, long max_clients, long history)
{
    int rc;

    memset(&hub, 0, sizeof(hub));
    if ((rc = pthread_mutex_init(&hub.lock, NULL)) != 0) {
        errno = rc;
        fatal("hub_init");
    }
    hub.nworkers = nworkers;
    hub.mboxes = xcalloc((size_t)nworkers, sizeof(struct mbox));
    for (int i = 0; i < nworkers; i++)
        if (mbox_init(&hub.mboxes[i]) < 0)
            fatal("mailbox");
    hub.nbuckets = 1024;
    hub.buckets = xcalloc(hub.nbuckets, sizeof(*hub.buckets));
    hub.max_clients = max_clients;
    hub.seq = 1;
    hub.hist_cap = (size_t)history;
    if (history > 0)
        hub.hist = xcalloc((size_t)history, sizeof(struct msg *));
}

/* Free everything; main thread, after every worker has stopped. */
void
hub_destroy(void)
{
    struct hub_user *u, *next;

    for (u = hub.first; u != NULL; u = next) {
        next = u->next;
        free(u);
    }
    for (size_t i = 0; i < hub.hist_cap; i++)
        msg_unref(hub.hist[i]);
    free(hub.hist);
    free(hub.buckets);
    for (int i = 0; i < hub.nworkers; i++)
        mbox_destroy(&hub.mboxes[i]);
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

struct mbox *
hub_mbox(int worker)
{
    return &hub.mboxes[worker];
}

/*
 * Turn clustering on: relay takes broadcasts with a wire form (see
 * hub_publish()), and guest names get the suffix tag ("-k3f9"), unique to
 * this node.  Main thread, after hub_init() and before any worker starts.
 */
void
hub_set_cluster(int (*relay)(struct mbox_vec *v), const char *tag)
{
    hub.relay = relay;
    snprintf(hub.guest_tag, sizeof(hub.guest_tag), "%s", tag);
}

/*
 * The wire form of a broadcast (see clwire.h, without the header): a new
 * message with one reference, or NULL when clustering is off.  Any
 * thread, no lock.
 */
struct msg *
hub_wire(const char *fmt, ...)
{
    char stackbuf[4096], *buf = stackbuf;
    struct msg *m = NULL;
    va_list ap;
    int n;

    if (hub.relay == NULL)
        return NULL;
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(stackbuf), fmt, ap);
    va_end(ap);
    if (n < 0 || n > CLWIRE_MAX - CLWIRE_HEADER_MAX)
        return NULL;                /* too long to relay: local only */
    if ((size_t)n >= sizeof(stackbuf)) {
        buf = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    m = msg_new(buf, (size_t)n);
    if (buf != stackbuf)
        free(buf);
    return m;
}

/* ------------------------------------------------------------------ */
/* Registry (hub.lock held)                                            */
/* ------------------------------------------------------------------ */

static size_t
bucket_of(const char *fold)
{
    size_t h = 5381;

    for (const unsigned char *p = (const unsigned char *)fold; *p; p++)
        h = h * 33 + *p;
    return h & (hub.nbuckets - 1);
}

static struct hub_user *
find(const char *nick)
{
    char fold[PROTO_NICK_MAX + 1];

    proto_nick_fold(nick, fold);
    for (struct hub_user *u = hub.buckets[bucket_of(fold)]; u; u = u->hnext)
        if (strcmp(u->fold, fold) == 0)
            return u;
    return NULL;
}

static void
rehash(void)
{
    size_t n = hub.nbuckets * 2;
    struct hub_user **b = xcalloc(n, sizeof(*b));

    hub.nbuckets = n;
    for (struct hub_user *u = hub.first; u; u = u->next) {
        size_t i = bucket_of(u->fold);
        u->hnext = b[i];
        b[i] = u;
    }
    free(hub.buckets);
    hub.buckets = b;
}

static void
hash_insert(struct hub_user *u)
{
    size_t i;

    proto_nick_fold(u->nick, u->fold);
    i = bucket_of(u->fold);
    u->hnext = hub.buckets[i];
    hub.buckets[i] = u;
}

static void
hash_remove(struct hub_user *u)
{
    struct hub_user **pp = &hub.buckets[bucket_of(u->fold)];

    while (*pp != u)
        pp = &(*pp)->hnext;
    *pp = u->hnext;
}

/* Pick the next free "guestN". */
static void
guest_nick(char *nick)
{
    do
        snprintf(nick, PROTO_NICK_MAX + 1, "guest%llu%s",
                 (unsigned long long)++hub.guest, hub.guest_tag);
    while (find(nick) != NULL);
}

static struct msg *
notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct msg *
notice(const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    return msg_format(PROTO_NOTICE, NULL, text);
}

/* ------------------------------------------------------------------ */
/* Outbox helpers: the caller's own vector, no lock                     */
/* ------------------------------------------------------------------ */

/* Queue m (one reference, given away) for every client but `from`. */
void
hub_outbox_broadcast(struct mbox_vec *outbox, struct msg *m, uint64_t from,
                     int history)
{
    hub_outbox_relay(outbox, m, from, history, NULL);
}

/*
 * The same, with wire, the form to relay to the other nodes (from
 * hub_wire(); NULL: this node only).  Both references are given away.
 */
void
hub_outbox_relay(struct mbox_vec *outbox, struct msg *m, uint64_t from,
                 int history, struct msg *wire)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = m,
                            .from = from, .history = history,
                            .wire = wire };
    mbox_vec_push(outbox, &e);
}

/* Queue m (one reference, given away) for client `to` on `worker`. */
void
hub_outbox_direct(struct mbox_vec *outbox, struct msg *m, uint64_t to,
                  int worker)
{
    struct mbox_entry e = { .kind = MBOX_DIRECT, .msg = m, .to = to,
                            .worker = worker };
    mbox_vec_push(outbox, &e);
}

/* ------------------------------------------------------------------ */
/* Users                                                               */
/* ------------------------------------------------------------------ */

/*
 * Register client `id` of `worker` under a guest nickname and queue the
 * join notice for the others in outbox.  Fills in w (nickname, the
 * sequence number of the first broadcast the client must receive, and
 * references to the history).  Returns NULL when max-clients are already
 * connected or the server is stopping; w->refused then says which.
 */
struct hub_user *
hub_join(uint64_t id, int worker, struct hub_welcome *w,
         struct mbox_vec *outbox)
{
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
    hash_insert(u);
    u->prev = hub.last;
    if (hub.last)
        hub.last->next = u;
    else
        hub.first = u;
    hub.last = u;
    if (++hub.count > hub.nbuckets)
        rehash();

    memcpy(w->nick, u->nick, sizeof(w->nick));
    w->join_seq = hub.seq;
    w->online = hub.count;
    if (hub.hist_len > 0) {
        w->history = xcalloc(hub.hist_len, sizeof(struct msg *));
        size_t first = (hub.hist_next + hub.hist_cap - hub.hist_len) %
                       hub.hist_cap;
        for (size_t i = 0; i < hub.hist_len; i++) {
            struct msg *m = hub.hist[(first + i) % hub.hist_cap];
            msg_ref(m, 1);
            w->history[w->nhistory++] = m;
        }
    }
    pthread_mutex_unlock(&hub.lock);

    hub_outbox_relay(outbox, notice("%s has joined", w->nick), id, 0,
                     hub_wire("J %llu %s", (unsigned long long)id, w->nick));
    return u;
}

/*
 * Unregister u and free it; queue "*** nick has left (reason)" unless the
 * server is stopping.  Owner worker only.
 */
void
hub_leave(struct hub_user *u, const char *reason, struct mbox_vec *outbox)
{
    int stopping;

    pthread_mutex_lock(&hub.lock);
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
    stopping = hub.stopping;
    pthread_mutex_unlock(&hub.lock);

    if (!stopping)
        hub_outbox_relay(outbox, notice("%s has left (%s)", u->nick, reason),
                         u->id, 0, hub_wire("L %llu %s %s",
                                            (unsigned long long)u->id,
                                            u->nick, reason));
    free(u);
}

/*
 * Rename u to nick (already valid).  Returns 0 and copies the old name to
 * old (PROTO_NICK_MAX + 1 bytes) after queueing the notice for the others,
 * 1 when nick is u's name already (nothing done), or -1 with *why when
 * the name is taken.  Owner worker only.
 */
int
hub_nick(struct hub_user *u, const char *nick, char *old,
         struct mbox_vec *outbox, const char **why)
{
    struct hub_user *other;

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
    pthread_mutex_unlock(&hub.lock);

    hub_outbox_relay(outbox, notice("%s is now known as %s", old, nick),
                     u->id, 0, hub_wire("N %llu %s %s",
                                        (unsigned long long)u->id, old,
                                        nick));
    return 0;
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
 * take cl.lock).  What fn queues for the cluster is thus in order with
 * the joins, leaves and renames relayed by hub_publish().
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

/*
 * Call emit with the text of each notice line of the /who reply: a count,
 * then the nicknames in join order, several per line.  emit runs with
 * hub.lock held: it must not call back into the hub.
 */
void
hub_who(void (*emit)(void *arg, const char *line), void *arg)
{
    hub_who_total(emit, arg, 0);
}

/*
 * The same, counting `extra` more users (on other nodes) in the first
 * line; the caller lists them after.
 */
void
hub_who_total(void (*emit)(void *arg, const char *line), void *arg,
              size_t extra)
{
    char line[512];
    size_t n, total;

    pthread_mutex_lock(&hub.lock);
    total = hub.count + extra;
    snprintf(line, sizeof(line), "%zu user%s online:", total,
             total == 1 ? "" : "s");
    emit(arg, line);
    n = 0;
    for (struct hub_user *u = hub.first; u; u = u->next) {
        size_t len = strlen(u->nick);
        if (n > 0 && n + len + 2 >= 400) {
            emit(arg, line);
            n = 0;
        }
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
                              n > 0 ? " " : "  ", u->nick);
    }
    if (n > 0)
        emit(arg, line);
    pthread_mutex_unlock(&hub.lock);
}

/* ------------------------------------------------------------------ */
/* Publishing                                                          */
/* ------------------------------------------------------------------ */

static void
remember(struct msg *m)
{
    if (hub.hist_cap == 0)
        return;
    msg_unref(hub.hist[hub.hist_next]);
    msg_ref(m, 1);
    hub.hist[hub.hist_next] = m;
    hub.hist_next = (hub.hist_next + 1) % hub.hist_cap;
    if (hub.hist_len < hub.hist_cap)
        hub.hist_len++;
}

/* Append the entries of v meant for worker w to its mailbox. */
static void
deliver(int w, const struct mbox_vec *v, int self)
{
    struct mbox *mb = &hub.mboxes[w];
    int was_empty, any = 0;

    mbox_lock(mb);
    was_empty = mb->in.len == 0;
    for (size_t i = 0; i < v->len; i++) {
        const struct mbox_entry *e = &v->v[i];
        if (e->kind == MBOX_DIRECT && e->worker != w)
            continue;
        mbox_vec_push(&mb->in, e);
        any = 1;
    }
    mbox_unlock(mb, any && was_empty && w != self);
}

/* Number, remember and deliver v's entries; hub.lock held. */
static void
publish_locked(struct mbox_vec *outbox, int self)
{
    for (size_t i = 0; i < outbox->len; i++) {
        struct mbox_entry *e = &outbox->v[i];
        msg_unref(e->wire);         /* not relayed: this node only */
        e->wire = NULL;
        if (e->kind != MBOX_BROADCAST)
            continue;
        e->seq = hub.seq++;
        if (e->history)
            remember(e->msg);
        if (hub.nworkers > 1)
            msg_ref(e->msg, (unsigned)hub.nworkers - 1);
    }
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
    if (hub.relay != NULL)
        hub.relay(outbox);
    publish_locked(outbox, self);
    pthread_mutex_unlock(&hub.lock);
}

/*
 * Deliver v (broadcasts and direct lines from the cluster, or for this
 * node only) to every worker, in one order with everything else: like
 * hub_publish(), but never relayed and every worker is woken.  Cluster
 * thread; v is left empty.
 */
void
hub_inject(struct mbox_vec *v)
{
    if (v->len == 0)
        return;
    pthread_mutex_lock(&hub.lock);
    publish_locked(v, -1);
    pthread_mutex_unlock(&hub.lock);
}

/*
 * Like hub_inject(), but fn first fills v while hub.lock is held, so no
 * worker's hub_publish() comes between what fn decides and the delivery
 * of v.  fn may take cl.lock (hub.lock before cl.lock) but must not call
 * into the hub.  Cluster thread.
 */
void
hub_inject_with(void (*fn)(void *arg, struct mbox_vec *v), void *arg,
                struct mbox_vec *v)
{
    pthread_mutex_lock(&hub.lock);
    fn(arg, v);
    if (v->len > 0)
        publish_locked(v, -1);
    pthread_mutex_unlock(&hub.lock);
}

/*
 * Append e (its reference passes on) to the mailbox of worker e->worker,
 * outside the broadcast order: for answers to one client.  Any thread; no
 * hub.lock needed.
 */
void
hub_post(const struct mbox_entry *e)
{
    struct mbox *mb = &hub.mboxes[e->worker];
    int was_empty;

    mbox_lock(mb);
    was_empty = mb->in.len == 0;
    mbox_vec_push(&mb->in, e);
    mbox_unlock(mb, was_empty);
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

    hub_outbox_broadcast(&v, notice("server shutting down"), 0, 0);
    pthread_mutex_lock(&hub.lock);
    hub.stopping = 1;
    pthread_mutex_unlock(&hub.lock);
    mbox_vec_push(&v, &stop);
    hub_publish(&v, -1);
    mbox_vec_free(&v);
}

/*
 * Give every worker conf (a new configuration, SIGHUP): each takes one of
 * its references when it drains its mailbox.  Main thread.
 */
void
hub_post_conf(struct worker_conf *conf)
{
    struct mbox_vec v = { 0 };
    struct mbox_entry e = { .kind = MBOX_CONF, .conf = conf };

    mbox_vec_push(&v, &e);
    hub_publish(&v, -1);
    mbox_vec_free(&v);
}
