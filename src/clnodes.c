/*
 * clnodes.c: the table of the other nodes (clnodes.h): their run ids and
 * sequence numbers, their rosters, lost and returned nodes.  No locks and
 * no globals: the caller serializes access (cluster.c holds cl.lock).
 * The lines for the clients go into the caller's batch.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clnodes.h"
#include "log.h"
#include "msg.h"
#include "proto.h"
#include "xmalloc.h"

/* Another node's user joined, left or was renamed: news for the default
 * room (the only one that spans nodes), kept to announce-limit. */
#define notice(batch, ...) \
    push_news((batch), msg_notice(__VA_ARGS__))

static void
push_news(struct mbox_vec *batch, struct msg *m)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = m,
                            .room = MBOX_ROOM_DEFAULT, .announce = 1 };

    mbox_vec_push(batch, &e);
}

/* An empty table for node self of run `run`. */
void
clnodes_init(struct clnodes *t, const char *self, uint64_t run)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->self, sizeof(t->self), "%s", self);
    t->run = run;
    t->clean = xmalloc(CLWIRE_MAX * 3 + 1);
}

void
clnodes_free(struct clnodes *t)
{
    for (size_t i = 0; i < t->n; i++) {
        roster_free(&t->v[i].users);
        roster_free(&t->v[i].pending);
    }
    free(t->v);
    free(t->lost);
    free(t->clean);
    memset(t, 0, sizeof(*t));
}

/* Sanitize m's text (at most max bytes of it) into t->clean; returns its
 * length. */
size_t
clnodes_clean(struct clnodes *t, const struct clwire *m, size_t max)
{
    return proto_sanitize(m->text, m->textlen < max ? m->textlen : max,
                          t->clean);
}

/* The node called name, added if new (a lost one returns); NULL when the
 * table is full. */
static struct clnode *
node_get(struct clnodes *t, const char *name, int64_t now)
{
    struct clnode *nd;

    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    if (t->n == CLNODES_MAX)
        return NULL;
    if (t->n == 0 || (t->n & (t->n - 1)) == 0)
        t->v = xrealloc(t->v, (t->n ? t->n * 2 : 4) * sizeof(*t->v));
    nd = &t->v[t->n++];
    memset(nd, 0, sizeof(*nd));
    snprintf(nd->name, sizeof(nd->name), "%s", name);
    nd->heard_ms = now;
    for (size_t i = 0; i < t->nlost; i++)
        if (strcmp(t->lost[i], name) == 0) {
            nd->returned = 1;
            memcpy(t->lost[i], t->lost[--t->nlost], sizeof(t->lost[i]));
            break;
        }
    log_info("node %s %s", name, nd->returned ? "is back" : "joined");
    return nd;
}

/*
 * Remove node i, announcing its users' leaves (and offering their keys to
 * release, if given).  A node lost (not shut down) is remembered, to
 * announce its users if it comes back.
 */
static void
drop_node(struct clnodes *t, size_t i, const char *reason, int lost,
          struct mbox_vec *batch, clnodes_release_fn *release, void *arg)
{
    struct clnode *nd = &t->v[i];

    for (size_t k = 0; k < nd->users.n; k++) {
        notice(batch, "%s has left (%s)", nd->users.v[k], reason);
        if (release != NULL)
            release(arg, nd->users.v[k], nd->name);
    }
    roster_free(&nd->users);
    roster_free(&nd->pending);
    if (lost && t->nlost < CLNODES_MAX) {
        if (t->lost == NULL)
            t->lost = xcalloc(CLNODES_MAX, sizeof(*t->lost));
        memcpy(t->lost[t->nlost++], nd->name, sizeof(nd->name));
    }
    t->v[i] = t->v[--t->n];
}

/* Take a roster part.  Returns -1 if it is malformed (then the parts so
 * far are dropped and the roster waits for the next heartbeat). */
static int
roster_part(struct clnode *nd, const struct clwire *m,
            struct mbox_vec *batch)
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
                notice(batch, "%s has joined", nd->pending.v[i]);
        nd->returned = 0;
        roster_free(&nd->users);
        nd->users = nd->pending;
        memset(&nd->pending, 0, sizeof(nd->pending));
    }
    return 0;
}

/*
 * Check a message's run and sequence number against nd's: a new run is a
 * restart (its users left); an old number a replay (-1); a number past
 * the next a gap (counted; a roster being assembled is dropped).
 */
static int
sequence(struct clnodes *t, struct clnode *nd, const struct clwire *m,
         struct mbox_vec *batch)
{
    if (nd->run != m->run) {
        if (nd->run != 0) {
            log_info("node %s restarted", nd->name);
            for (size_t k = 0; k < nd->users.n; k++)
                notice(batch, "%s has left (server restarted)",
                       nd->users.v[k]);
            roster_free(&nd->users);
            roster_free(&nd->pending);
        }
        nd->run = m->run;
        nd->last_seq = m->seq - 1;
    }
    if (m->seq <= nd->last_seq)
        return -1;
    if (m->seq != nd->last_seq + 1) {
        t->gaps += m->seq - nd->last_seq - 1;
        log_warnx("missed %llu messages from node %s",
                  (unsigned long long)(m->seq - nd->last_seq - 1),
                  nd->name);
        roster_free(&nd->pending);
    }
    nd->last_seq = m->seq;
    return 0;
}

/* Apply a message in sequence from node nd; -1 if it was malformed. */
static int
apply(struct clnodes *t, struct clnode *nd, const struct clwire *m,
      struct mbox_vec *batch)
{
    switch (m->type) {
    case 'P':
    case 'A':
        if (clnodes_clean(t, m, CLWIRE_MAX) > 0)
            mbox_vec_room(batch, msg_format(m->type == 'P'
                                            ? PROTO_PUBLIC : PROTO_ACTION,
                                            m->nick, t->clean),
                          0, MBOX_ROOM_DEFAULT, 1, NULL);
        roster_add(&nd->users, m->nick);
        break;
    case 'J':
        roster_add(&nd->users, m->nick);
        notice(batch, "%s has joined", m->nick);
        break;
    case 'L':
        roster_del(&nd->users, m->nick);
        clnodes_clean(t, m, CLNODES_REASON_MAX);
        notice(batch, "%s has left (%s)", m->nick, t->clean);
        break;
    case 'N':
        roster_del(&nd->users, m->nick);
        roster_add(&nd->users, m->nick2);
        notice(batch, "%s is now known as %s", m->nick, m->nick2);
        break;
    case 'H':
        return roster_part(nd, m, batch);
    case 'Q':
        log_info("node %s is shutting down", nd->name);
        drop_node(t, (size_t)(nd - t->v), "server shutting down", 0, batch,
                  NULL, NULL);
        break;
    default:                        /* M: the caller delivers it */
        break;
    }
    return 0;
}

/*
 * Take message m (checked by clwire_parse()) heard at `now`: our own
 * (CLNODES_OWN: the caller matches it with what it has in flight), one in
 * our name from another run (dropped), or another node's, checked and
 * applied, with what the clients must see appended to batch.
 */
enum clnodes_verdict
clnodes_take(struct clnodes *t, const struct clwire *m, int64_t now,
             struct mbox_vec *batch)
{
    struct clnode *nd;

    if (strcmp(m->node, t->self) == 0)
        return m->run == t->run ? CLNODES_OWN : CLNODES_FOREIGN;
    if ((nd = node_get(t, m->node, now)) == NULL ||
        sequence(t, nd, m, batch) < 0)
        return CLNODES_REPLAY;
    nd->heard_ms = now;
    return apply(t, nd, m, batch) < 0 ? CLNODES_BAD : CLNODES_TAKEN;
}

/*
 * Drop the nodes not heard from for more than timeout_ms, announcing
 * their users' leaves; release (if not NULL) is offered each user's
 * nickname.  Returns how many nodes were dropped.
 */
size_t
clnodes_expire(struct clnodes *t, int64_t now, int64_t timeout_ms,
               struct mbox_vec *batch, clnodes_release_fn *release,
               void *arg)
{
    size_t dropped = 0;

    for (size_t i = 0; i < t->n; i++) {
        struct clnode *nd = &t->v[i];
        char reason[CLWIRE_NAME_MAX + 32];
        if (now - nd->heard_ms <= timeout_ms)
            continue;
        log_warnx("node %s silent for %lld s: dropping its %zu user%s",
                  nd->name, (long long)(now - nd->heard_ms) / 1000,
                  nd->users.n, nd->users.n == 1 ? "" : "s");
        snprintf(reason, sizeof(reason), "lost server %s", nd->name);
        drop_node(t, i--, reason, 1, batch, release, arg);
        dropped++;
    }
    return dropped;
}

/*
 * Find nick among the other nodes' users: 0 with its spelling in real
 * (PROTO_NICK_MAX + 1 bytes) and its node's name in node, or -1.
 */
int
clnodes_lookup(const struct clnodes *t, const char *nick, char *real,
               char *node, size_t nodelen)
{
    for (size_t i = 0; i < t->n; i++) {
        ssize_t k = roster_find(&t->v[i].users, nick);
        if (k >= 0) {
            memcpy(real, t->v[i].users.v[k], PROTO_NICK_MAX + 1);
            snprintf(node, nodelen, "%s", t->v[i].name);
            return 0;
        }
    }
    return -1;
}

/* How many users the other nodes have. */
size_t
clnodes_users(const struct clnodes *t)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++)
        n += t->v[i].users.n;
    return n;
}

/*
 * One page of the other nodes' users: call add with at most max
 * nicknames from node *node, entry *pos on, and move the cursor past
 * them.  Returns 1 while more follow.
 */
int
clnodes_who_page(const struct clnodes *t, size_t *node, size_t *pos,
                 size_t max, void (*add)(void *arg, const char *nick),
                 void *arg)
{
    size_t n = 0;

    while (*node < t->n && n < max) {
        const struct roster *r = &t->v[*node].users;
        if (*pos >= r->n) {
            (*node)++;
            *pos = 0;
            continue;
        }
        add(arg, r->v[(*pos)++]);
        n++;
    }
    return *node < t->n;
}
