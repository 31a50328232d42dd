/*
 * clthread.c: the cluster thread.  It owns the Redis link (cllink.c), the
 * in-flight list and the timers; it runs the outgoing queue through the
 * pipeline, sends heartbeats and refreshes keys, and takes what the
 * channel brings into the node table (clnodes.c, under cl.lock).  What
 * its clients must be told goes into the loop's batch, handed to the hub
 * (hub_inject()) after each step.  Only this thread runs this file.
 *
 * Failure.  Any error on either context, or silence on the channel for
 * three heartbeats (our own heartbeat should come back), drops both
 * contexts: the in-flight and queued broadcasts are delivered here, the
 * clients are told, and broadcasts stay local until a new pair of
 * contexts has subscribed again (backoff 250 ms doubling to 4 s, forever).
 * Then the nicknames are registered again and the clients told.  So is a
 * node name found held by another run, but that is warned every 30 s.
 *
 * Rooms.  rooms_sync() subscribes to the channel of each room with
 * members here and unsubscribes from the others once nothing of theirs is
 * queued, held or in flight; a room's broadcasts are held until its
 * subscription is confirmed (confirmed()).  Echoes are matched per
 * channel (own_echo()): each channel numbers its own messages.
 *
 * Liveness.  Each node publishes its roster every timeout/4 (5 s by
 * default); a node not heard from for `timeout` seconds (20) is gone: its
 * users' leaves are announced here and its keys deleted.
 *
 * Locks: cl.lock around the queue, the link state and the node table; the
 * hub is never called with cl.lock held, no lock is held across Redis.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cluster_int.h"
#include "counter.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "wakeup.h"

/* Set the key to the node unless another node has it: 1, else 0. */
/* Raise the guest counter to at least ARGV[1] (a number this node holds:
 * Redis may have restarted without its data), then take a block. */
static const char guests_lua[] =
    "local v = tonumber(redis.call('GET', KEYS[1]) or '0') "
    "if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end "
    "return redis.call('INCRBY', KEYS[1], ARGV[2])";

static const char claim_lua[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false or v == ARGV[1] then "
    "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end "
    "return 0";
/* Delete the key if the node ARGV[1] has it. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "return redis.call('DEL', KEYS[1]) end return 0";

static void link_down(const char *why, int64_t now, struct mbox_vec *batch);

#define notice(batch, ...) \
    mbox_vec_broadcast((batch), msg_notice(__VA_ARGS__), 0, 0, NULL)

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
/* Delivering here                                                     */
/* ------------------------------------------------------------------ */

/* Deliver an in-flight broadcast here (into batch) and free the item:
 * news of a user as one MBOX_USER entry per room; one that was only for
 * the other nodes (no line) is done. */
static void
deliver_item(struct cl_item *it, struct mbox_vec *batch)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = it->line,
                            .from = it->from, .history = it->history,
                            .room = it->room, .announce = it->announce };

    if (it->line != NULL && it->nrooms == 0)
        mbox_vec_push(batch, &e);
    if (it->line != NULL && it->nrooms > 0) {
        e.kind = MBOX_USER;
        msg_ref(it->line, (unsigned)it->nrooms - 1);
        for (size_t i = 0; i < it->nrooms; i++) {
            e.room = it->rooms[i];
            mbox_vec_push(batch, &e);
        }
    }
    it->line = NULL;
    cl_item_free(it);
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

/* An item that will never be sent: broadcasts are delivered here, claims
 * told the link is down, the rest dropped. */
static void
abandon(struct cl_item *it, struct mbox_vec *batch)
{
    if (it->kind == ITEM_BCAST) {
        deliver_item(it, batch);
        return;
    }
    if (it->kind == ITEM_CLAIM)
        answer_claim(it, CLUSTER_CLAIM_DOWN);
    cl_item_free(it);
}

/*
 * Refreshing it->nick found the key held by another node: two nodes gave
 * out one name while split.  The other node keeps it; the local user who
 * has it is told, through its worker's mailbox, to take a guest name.
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

/* ------------------------------------------------------------------ */
/* The link                                                            */
/* ------------------------------------------------------------------ */

/*
 * hub_inject() callback for link_down(), hub.lock held: mark the link
 * down and put the broadcasts in flight or queued into v for local
 * delivery, in their order; answer queued claims.  *arg: was the link up.
 */
static void
take_down(void *arg, struct mbox_vec *v)
{
    struct cl_item *list, *held, *it, *next;
    int *was_up = arg;

    pthread_mutex_lock(&cl.lock);
    *was_up = cl.up;
    cl.up = 0;
    atomic_store(&cl.link, 0);
    cl.guests.asked = 0;            /* its request is dropped below */
    list = cl.outq;
    cl.outq = NULL;
    cl.outq_tail = &cl.outq;
    held = cl_room_unhold_all();
    pthread_mutex_unlock(&cl.lock);

    for (it = cl.infl; it != NULL; it = next) {
        next = it->next;
        deliver_item(it, v);
    }
    cl.infl = NULL;
    cl.infl_tail = &cl.infl;
    for (it = held; it != NULL; it = next) {
        next = it->next;
        deliver_item(it, v);
    }
    for (it = list; it != NULL; it = next) {
        next = it->next;
        abandon(it, v);
    }
}

/* Try again after the backoff, which doubles up to its maximum. */
static void
backoff(int64_t now)
{
    cl.next_try = now + cl.backoff;
    cl.backoff = cl.backoff * 2 > CL_BACKOFF_MAX_MS ? CL_BACKOFF_MAX_MS
                                                    : cl.backoff * 2;
}

/*
 * Take the link down (why: for the log, or NULL when stopping): deliver
 * here what was in flight or queued, fail pending claims, tell the clients
 * and schedule a reconnection.
 */
static void
link_down(const char *why, int64_t now, struct mbox_vec *batch)
{
    int was_up;

    hub_inject(batch, NULL, NULL);  /* what came before, first */
    cllink_close(&cl.redis);
    /* Going down and delivering what was in flight locally is one step
     * for the workers: none publishes a newer line in between, which
     * would go out locally ahead of an older one still in flight. */
    hub_inject(batch, take_down, &was_up);
    if (was_up && why != NULL) {
        log_warnx("link to %s lost (%s): serving this server's users "
                  "only, reconnecting", cl.where, why);
        notice(batch, "%s", CLUSTER_DOWN_TEXT);
        atomic_store(&cl.told_down, 1);
    } else if (why != NULL && cl.fails++ % 30 == 0) {
        log_warnx("cannot reach %s (%s): serving this server's users "
                  "only, retrying", cl.where, why);
    }
    backoff(now);
}

/* Subscribed: relay from now on, register the nicknames again. */
static void
link_up(int64_t now, struct mbox_vec *batch)
{
    pthread_mutex_lock(&cl.lock);
    cl.up = 1;
    atomic_store(&cl.link, 1);
    cl.echo_seq = cl.seq;           /* all before was handled locally */
    pthread_mutex_unlock(&cl.lock);
    cl.backoff = CL_BACKOFF_MIN_MS;
    cl.fails = 0;
    cl.up_since = now;
    cl.next_hb = now;
    cl.next_refresh = now;
    if (cl.ever_up)
        counter_add(&cl.reconnects, 1);
    cl.ever_up = 1;
    log_info("link up: %s channel %s, node %s", cl.where, cl.redis.channel,
             cl.node);
    if (atomic_exchange(&cl.told_down, 0))
        notice(batch, "%s", CLUSTER_BACK_TEXT);
    cl_guests_link_up();
}

/* Our name is another run's: stay out, say so every 30 s, retry. */
static void
name_in_use(int64_t now)
{
    if (cl.out_warn_ms == 0 || now - cl.out_warn_ms >= CL_OUT_WARN_MS) {
        log_warnx("node name %s is in use by another running node: "
                  "staying out of the cluster, retrying; give each node "
                  "its own --node-name", cl.node);
        cl.out_warn_ms = now;
    }
}

/* Open both contexts, claim our name and SUBSCRIBE; the link is up on
 * the answer to SUBSCRIBE. */
static void
link_connect(int64_t now, struct mbox_vec *batch)
{
    char err[256];
    long long held;

    if (cllink_open(&cl.redis, err, sizeof(err)) < 0) {
        link_down(err, now, batch);
        return;
    }
    held = cllink_claim_node(cl.redis.pub, cl.nodekey, cl.run,
                             (long)cl.node_ttl_ms, err, sizeof(err));
    if (held != 0) {
        if (held > 0)
            name_in_use(now);
        cllink_close(&cl.redis);
        if (held < 0)
            link_down(err, now, batch);
        else
            backoff(now);
        return;
    }
    cl.last_rx = now;
}

/* ------------------------------------------------------------------ */
/* The pipeline                                                        */
/* ------------------------------------------------------------------ */

/* Publish it on its channel: CHANNEL, CHANNEL:rooms or its room's. */
static int
append_publish(struct cl_item *it)
{
    int n = clwire_header(cl.buf, CLWIRE_MAX + 1, cl.node, cl.run, it->seq);
    const char *chan = it->croom != NULL ? it->croom->chan
                     : it->dir ? cl.redis.rooms : cl.redis.channel;

    if (n < 0 || (size_t)n + it->wire->len > CLWIRE_MAX)
        return -2;                  /* cannot happen: clwire bounds it */
    memcpy(cl.buf + n, it->wire->data, it->wire->len);
    return cllink_publish_to(&cl.redis, chan, cl.buf,
                             (size_t)n + it->wire->len);
}

static int
append_key(const char *script, const char *nick, const char *owner,
           int ttl)
{
    char fold[PROTO_NICK_MAX + 1], key[CLWIRE_NAME_MAX + 64], ttls[16];

    proto_nick_fold(nick, fold);
    snprintf(key, sizeof(key), "%s:nick:%s", cl.redis.channel, fold);
    snprintf(ttls, sizeof(ttls), "%d", ttl);
    return cllink_eval(&cl.redis, script, key, owner, ttls);
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
    char run[24], block[16];
    int rc = 0;

    switch (it->kind) {
    case ITEM_BCAST:
    case ITEM_RAW:
        rc = append_publish(it);
        break;
    case ITEM_CLAIM:
        if (remote_has(it->nick)) {
            it->result = CLUSTER_CLAIM_TAKEN;
            it->answered = 1;
            return 0;
        }
        /* FALLTHROUGH */
    case ITEM_REFRESH:
        rc = append_key(claim_lua, it->nick, cl.node, CL_NICK_TTL_S);
        break;
    case ITEM_RELEASE:
        rc = append_key(release_lua, it->nick, it->owner, 0);
        break;
    case ITEM_NODE:
        rc = cllink_append_claim_node(&cl.redis, cl.nodekey, cl.run,
                                      (long)cl.node_ttl_ms);
        break;
    case ITEM_UNNODE:
        snprintf(run, sizeof(run), "%llx", (unsigned long long)cl.run);
        rc = cllink_eval(&cl.redis, release_lua, cl.nodekey, run, "0");
        break;
    case ITEM_GUESTS:
        snprintf(run, sizeof(run), "%llu",
                 (unsigned long long)cl_guests_floor());
        snprintf(block, sizeof(block), "%d", CL_GUEST_BLOCK);
        rc = cllink_eval(&cl.redis, guests_lua, cl.guestkey, run, block);
        break;
    }
    it->sent = rc == 0;
    return rc == -1 ? -1 : 0;
}

/* What it's reply means; r is an integer (good) or not. */
static void
took_reply(struct cl_item *it, const struct cllink_reply *r)
{
    int good = r->integer_ok;

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
    case ITEM_NODE:
        if (good && r->integer != 0)
            cl.name_lost = 1;
        break;
    case ITEM_GUESTS:
        pthread_mutex_lock(&cl.lock);
        cl_guests_got_locked(good ? r->integer : -1);
        pthread_mutex_unlock(&cl.lock);
        break;
    case ITEM_RELEASE:
    case ITEM_UNNODE:
        break;
    }
}

/* Read it's reply; 0, or -1 on a context error. */
static int
read_reply(struct cl_item *it)
{
    struct cllink_reply r;

    if (cllink_reply(&cl.redis, &r) < 0)
        return -1;
    if (!r.integer_ok && may_warn())
        log_warnx("unexpected reply from redis: %s", r.err);
    took_reply(it, &r);
    return 0;
}

/* After the pipeline: broadcasts wait for their echo (but those of a
 * room nobody here is in: no echo comes), claims are answered, the rest
 * is done. */
static void
settle(struct cl_item *list, struct mbox_vec *batch)
{
    struct cl_item *it, *next;

    for (it = list; it != NULL; it = next) {
        next = it->next;
        if (it->kind == ITEM_BCAST && it->nowait) {
            deliver_item(it, batch);
            continue;
        }
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
        cl_item_free(it);
    }
}

/*
 * Publish and run what the queue holds, pipelined: all commands, then all
 * replies.  Broadcasts move to the in-flight list; claims are answered.
 */
static void
process_queue(int64_t now, struct mbox_vec *batch)
{
    struct cl_item *list, *it, *next;
    char err[256] = "";

    pthread_mutex_lock(&cl.lock);
    list = cl.outq;
    cl.outq = NULL;
    cl.outq_tail = &cl.outq;
    if (cl.redis.pub != NULL)
        list = cl_room_hold_back(list);
    pthread_mutex_unlock(&cl.lock);
    if (list == NULL)
        return;
    if (cl.redis.pub == NULL) {     /* only while stopping */
        for (it = list; it != NULL; it = next) {
            next = it->next;
            abandon(it, batch);
        }
        return;
    }
    for (it = list; it != NULL && !err[0]; it = it->next)
        if (append_item(it) < 0)
            snprintf(err, sizeof(err), "%s", cllink_error(&cl.redis));
    for (it = list; it != NULL && !err[0]; it = it->next)
        if (it->sent && read_reply(it) < 0)
            snprintf(err, sizeof(err), "%s", cllink_error(&cl.redis));
    settle(list, batch);
    if (err[0]) {
        link_down(err, now, batch);
    } else if (cl.name_lost) {
        cl.name_lost = 0;
        name_in_use(now);
        link_down("this node's name is held by another run", now, batch);
    }
}

/* ------------------------------------------------------------------ */
/* Heartbeats and keys                                                 */
/* ------------------------------------------------------------------ */

/* clnodes_expire() callback: delete a lost node's user's key (cl.lock
 * held; the link is up). */
static void
release_lost(void *arg, const char *nick, const char *node)
{
    (void)arg;
    cl_release_locked(nick, node);
}

/* Heartbeat, key refresh and liveness, as due. */
static void
timers(int64_t now, struct mbox_vec *batch)
{
    int up = cluster_link_up();
    /* Delete a lost node's keys only if we could have heard it all
     * along. */
    int sure = up && now - cl.up_since > cl.timeout_ms;

    if (up && now >= cl.next_hb) {
        cl_heartbeat();
        cl.next_hb = now + cl.hb_ms;
    }
    if (up && now >= cl.next_refresh) {
        cl_refresh_nicks();
        cl.next_refresh = now + CL_NICK_REFRESH_MS;
    }
    pthread_mutex_lock(&cl.lock);
    clnodes_expire(&cl.nodes, now, cl.timeout_ms, batch,
                   sure ? release_lost : NULL, NULL);
    pthread_mutex_unlock(&cl.lock);
    if (cl.redis.sub != NULL && now - cl.last_rx > 3 * cl.hb_ms + 2000)
        link_down("no messages from redis", now, batch);
}

/* ------------------------------------------------------------------ */
/* Receiving                                                           */
/* ------------------------------------------------------------------ */

/* Does message m belong on a channel of kind k (a room's: fold)? */
static int
fits(enum cl_chan k, const char *fold, const struct clwire *m)
{
    char mine[PROTO_ROOM_MAX + 1];

    if (k == CL_CHAN_MAIN)
        return strchr("PAJLNMHQ", m->type) != NULL;
    proto_room_fold(m->room, mine);
    if (k == CL_CHAN_DIR)
        return m->type == 'R' || m->type == 'T' ||
               (m->type == 't' && strcmp(mine, cl.deflt) == 0);
    return clwire_room_type(m->type) && strcmp(mine, fold) == 0;
}

/*
 * Our own message came back on the channel of (dir, r) (r NULL and dir 0:
 * CHANNEL): deliver what it completes, and what went out before it.
 * Redis hands one subscriber the messages of one publisher in the order
 * published, whatever their channels, and a room's broadcasts go out only
 * once it is subscribed; so one that is still in flight before it had its
 * echo lost.
 */
static void
own_echo(const struct clwire *m, int dir, const struct cl_room *r,
         struct mbox_vec *batch)
{
    struct cl_item *it, *last = NULL;

    if (!dir && r == NULL) {        /* CHANNEL: numbers without gaps */
        if (m->seq <= cl.echo_seq)
            return;                 /* from before the link came back */
        if (m->seq != cl.echo_seq + 1) {
            pthread_mutex_lock(&cl.lock);
            cl.nodes.gaps += m->seq - cl.echo_seq - 1;
            pthread_mutex_unlock(&cl.lock);
            log_warnx("%llu of our own messages did not come back",
                      (unsigned long long)(m->seq - cl.echo_seq - 1));
        }
        cl.echo_seq = m->seq;
    }
    for (it = cl.infl; it != NULL; it = it->next) {
        if (it->croom != r || it->dir != dir)
            continue;
        if (it->seq > m->seq)
            break;
        last = it;
    }
    while (last != NULL && cl.infl != NULL) {
        it = cl.infl;
        cl.infl = it->next;
        if (cl.infl == NULL)
            cl.infl_tail = &cl.infl;
        if (it == last)
            last = NULL;
        deliver_item(it, batch);
    }
}

/* A private message for one of our users (cl.lock not held). */
static void
private_here(const struct clwire *m, struct mbox_vec *batch)
{
    char real[PROTO_NICK_MAX + 1];
    uint64_t id;
    int worker;

    if (hub_lookup(m->nick2, &id, &worker, real) == 0 &&
        clnodes_clean(&cl.nodes, m, CLWIRE_MAX) > 0)
        mbox_vec_direct(batch, msg_format(PROTO_PRIVATE, m->nick,
                                          cl.nodes.clean), id, worker);
}

static void
count_verdict(enum clnodes_verdict v)
{
    switch (v) {
    case CLNODES_OWN:
        break;
    case CLNODES_FOREIGN:
        counter_add(&cl.foreign, 1);
        if (may_warn())
            log_warnx("dropped a message in this node's name (%s) from "
                      "another run", cl.node);
        break;
    case CLNODES_TAKEN:
        counter_add(&cl.relay_in, 1);
        break;
    default:
        counter_add(&cl.dropped, 1);
        break;
    }
}

/* A message of CHANNEL (v1). */
static void
main_message(const struct clwire *m, int64_t now, struct mbox_vec *batch)
{
    enum clnodes_verdict v;

    pthread_mutex_lock(&cl.lock);
    v = clnodes_take(&cl.nodes, m, now, batch);
    pthread_mutex_unlock(&cl.lock);
    count_verdict(v);
    if (v == CLNODES_OWN)
        own_echo(m, 0, NULL, batch);
    else if (v == CLNODES_TAKEN && m->type == 'M' &&
             strcmp(m->target, cl.node) == 0)
        private_here(m, batch);
}

/* A message of a room's channel (fold) or of CHANNEL:rooms (dir). */
static void
room_message(const struct clwire *m, int dir, const char *fold,
             int64_t now, struct mbox_vec *batch)
{
    char topic[PROTO_TOPIC_MAX + 1], mfold[PROTO_ROOM_MAX + 1];
    enum clnodes_verdict v;
    struct cl_room *r = NULL, *tr;
    uint32_t id = 0;

    proto_room_fold(m->room, mfold);
    pthread_mutex_lock(&cl.lock);
    v = clnodes_take_room(&cl.nodes, m, now, batch);
    if (!dir)
        r = cl_room_find(fold);
    if (m->type == 'T' && strcmp(mfold, cl.deflt) == 0) {
        /* The default room's, for a node that has none (it started
         * after the topic was set). */
        proto_sanitize_max(m->text, m->textlen, topic, PROTO_TOPIC_MAX);
        id = MBOX_ROOM_DEFAULT;
    }
    if (m->type == 't') {
        memcpy(topic, cl.nodes.clean, sizeof(topic));
        topic[PROTO_TOPIC_MAX] = '\0';
        if (dir)
            id = MBOX_ROOM_DEFAULT;
        else if ((tr = cl_room_find(mfold)) != NULL && tr->want)
            id = tr->id;
    }
    pthread_mutex_unlock(&cl.lock);
    count_verdict(v);
    if (v == CLNODES_OWN)
        own_echo(m, dir, r, batch);
    if (id != 0 && (v == CLNODES_OWN || v == CLNODES_TAKEN))
        hub_room_set_topic(id, topic, m->type == 'T');
}

/* One message from channel chan. */
static void
on_message(const char *chan, const char *data, size_t len, int64_t now,
           struct mbox_vec *batch)
{
    const char *fold = NULL;
    enum cl_chan k = cl_chan_kind(chan, &fold);
    struct clwire m;

    if (k == CL_CHAN_OTHER)
        return;                     /* unsubscribed meanwhile */
    if (clwire_parse(data, len, &m) < 0 || !fits(k, fold, &m)) {
        counter_add(&cl.dropped, 1);
        if (may_warn())
            log_warnx("dropped a malformed message (%zu bytes) "
                      "from channel %s", len, chan);
        return;
    }
    if (k == CL_CHAN_MAIN)
        main_message(&m, now, batch);
    else
        room_message(&m, k == CL_CHAN_DIR, fold, now, batch);
}

struct rx {
    int64_t          now;
    struct mbox_vec *batch;
};

/* cllink_read() callback: a message or a confirmation.  The link is up
 * when CHANNEL:rooms is subscribed (after CHANNEL: one SUBSCRIBE). */
static void
on_rx(void *arg, enum cllink_event ev, const char *chan, const char *data,
      size_t len)
{
    struct rx *rx = arg;

    if (ev == CLLINK_MESSAGE) {
        on_message(chan, data, len, rx->now, rx->batch);
    } else if (ev == CLLINK_REFUSED) {
        /* A room's lines then wait until the link is lost or taken down;
         * the operator must allow the channels (chatd(8)). */
        if (may_warn())
            log_warnx("redis refused a (un)subscription: %.*s: allow the "
                      "channels %s*", (int)(len < 200 ? len : 200), data,
                      cl.redis.channel);
    } else if (ev == CLLINK_SUBSCRIBED &&
               strcmp(chan, cl.redis.rooms) == 0) {
        if (!cluster_link_up())
            link_up(rx->now, rx->batch);
    } else {
        cl_room_confirmed(chan);
    }
}

/* The subscriber socket is readable: take every complete reply. */
static void
read_sub(int64_t now, struct mbox_vec *batch)
{
    struct rx rx = { now, batch };
    char err[256];

    cl.last_rx = now;
    if (cllink_read(&cl.redis, on_rx, &rx, err, sizeof(err)) < 0)
        link_down(err, now, batch);
}

/* ------------------------------------------------------------------ */
/* The loop                                                            */
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

/* Wait for the channel, a wake-up or the next tick, and take what came. */
static void
step(struct mbox_vec *batch)
{
    int64_t now = clock_ms();
    struct pollfd pfd[2] = { { .fd = cl.efd, .events = POLLIN },
                             { .fd = -1, .events = POLLIN } };
    char err[256];

    if (cl.redis.sub == NULL && now >= cl.next_try)
        link_connect(now, batch);
    pfd[1].fd = cllink_fd(&cl.redis);
    if (poll(pfd, 2, CL_TICK_MS) < 0 && errno != EINTR)
        fatal("cluster: poll");
    if (pfd[0].revents & POLLIN)
        wakeup_drain(cl.efd);
    now = clock_ms();
    if (pfd[1].fd >= 0 && (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
        read_sub(now, batch);
    hub_inject(batch, NULL, NULL);
    process_queue(now, batch);
    if (cl_rooms_sync(err, sizeof(err)) < 0)
        link_down(err, now, batch);
    hub_inject(batch, NULL, NULL);
    timers(now, batch);
    hub_inject(batch, NULL, NULL);
}

/* The cluster thread: see the top of the file. */
void *
cl_thread_main(void *arg)
{
    struct mbox_vec batch = { 0 };

    (void)arg;
    log_set_role("cluster");
    while (!stopping())
        step(&batch);
    /* Say goodbye, so that the others announce our users' leaves now,
     * and free our users' nicknames and our name for them at once. */
    if (cluster_link_up()) {
        cl_goodbye();
        process_queue(clock_ms(), &batch);
    }
    link_down(NULL, clock_ms(), &batch);
    hub_inject(&batch, NULL, NULL);
    mbox_vec_free(&batch);
    cllink_close(&cl.redis);
    return NULL;
}
