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

/* Another node's user joined: news for the default room, kept to
 * announce-limit. */
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

/* ------------------------------------------------------------------ */
/* The rooms of a node                                                 */
/* ------------------------------------------------------------------ */

static void
clrooms_free(struct clrooms *rs)
{
    for (size_t i = 0; i < rs->n; i++)
        roster_free(&rs->v[i].users);
    free(rs->v);
    memset(rs, 0, sizeof(*rs));
}

static ssize_t
clrooms_find(const struct clrooms *rs, const char *fold)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->v[i].fold, fold) == 0)
            return (ssize_t)i;
    return -1;
}

/* The room named name (valid) in rs, added if new; NULL when rs has
 * CLNODES_ROOMS_MAX rooms already. */
static struct clroom *
clrooms_get(struct clrooms *rs, const char *name)
{
    char fold[PROTO_ROOM_MAX + 1];
    struct clroom *r;
    ssize_t i;

    proto_room_fold(name, fold);
    if ((i = clrooms_find(rs, fold)) >= 0)
        return &rs->v[i];
    if (rs->n == CLNODES_ROOMS_MAX)
        return NULL;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 4;
        rs->v = xrealloc(rs->v, rs->cap * sizeof(*rs->v));
    }
    r = &rs->v[rs->n++];
    memset(r, 0, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "%s", name);
    memcpy(r->fold, fold, sizeof(fold));
    return r;
}

/* Drop room i of rs (the last takes its place). */
static void
clrooms_drop(struct clrooms *rs, size_t i)
{
    roster_free(&rs->v[i].users);
    rs->v[i] = rs->v[--rs->n];
}

/* The local id of room fold (0: none here); its local name into name. */
static uint32_t
local_room(const struct clnodes *t, const char *fold, char *name)
{
    return t->room_id != NULL ? t->room_id(t->room_arg, fold, name) : 0;
}

/*
 * News m (given away) of nick, a user of nd: once for every client that
 * shares the default room or one of nd's rooms with it (consecutive
 * MBOX_USER entries of one message).  A leave (to NULL; the entries are
 * dropped over announce-limit) takes nick out of those rooms, unless
 * `all` (the caller drops every room of nd); to: nick is renamed.
 */
static void
user_news(struct clnodes *t, struct clnode *nd, const char *nick,
          const char *to, int all, struct msg *m, struct mbox_vec *batch)
{
    struct mbox_entry e = { .kind = MBOX_USER, .msg = m,
                            .room = MBOX_ROOM_DEFAULT,
                            .announce = to == NULL };
    char name[PROTO_ROOM_MAX + 1];

    mbox_vec_push(batch, &e);
    for (size_t i = 0; i < nd->rooms.n; i++) {
        struct clroom *r = &nd->rooms.v[i];
        if (all ? roster_find(&r->users, nick) < 0
                : !roster_del(&r->users, nick))
            continue;
        if (to != NULL)
            roster_add(&r->users, to);
        if ((e.room = local_room(t, r->fold, name)) != 0 &&
            e.room != MBOX_ROOM_DEFAULT) {
            msg_ref(m, 1);
            mbox_vec_push(batch, &e);
        }
        if (r->users.n == 0)
            clrooms_drop(&nd->rooms, i--);
    }
}

void
clnodes_free(struct clnodes *t)
{
    for (size_t i = 0; i < t->n; i++) {
        roster_free(&t->v[i].users);
        roster_free(&t->v[i].pending);
        clrooms_free(&t->v[i].rooms);
        clrooms_free(&t->v[i].prooms);
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
        user_news(t, nd, nd->users.v[k], NULL, 1,
                  msg_notice("%s has left (%s)", nd->users.v[k], reason),
                  batch);
        if (release != NULL)
            release(arg, nd->users.v[k], nd->name);
    }
    roster_free(&nd->users);
    roster_free(&nd->pending);
    clrooms_free(&nd->rooms);
    clrooms_free(&nd->prooms);
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
                user_news(t, nd, nd->users.v[k], NULL, 1,
                          msg_notice("%s has left (server restarted)",
                                     nd->users.v[k]), batch);
            roster_free(&nd->users);
            roster_free(&nd->pending);
            clrooms_free(&nd->rooms);
            clrooms_free(&nd->prooms);
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
        user_news(t, nd, m->nick, NULL, 0,
                  msg_notice("%s has left (%s)", m->nick, t->clean), batch);
        break;
    case 'N':
        roster_del(&nd->users, m->nick);
        roster_add(&nd->users, m->nick2);
        user_news(t, nd, m->nick, m->nick2, 0,
                  msg_notice("%s is now known as %s", m->nick, m->nick2),
                  batch);
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

/* ------------------------------------------------------------------ */
/* Rooms                                                               */
/* ------------------------------------------------------------------ */

static struct clnode *
node_find(struct clnodes *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    return NULL;
}

/* Take a part of nd's rooms' roster (R).  -1 if it is malformed (the
 * parts so far are dropped). */
static int
rooms_part(struct clnode *nd, const struct clwire *m)
{
    const char *p = m->text, *end = m->text + m->textlen;
    char name[PROTO_ROOM_MAX + 1];
    struct clroom *r = NULL;
    int rc;

    if (nd->prooms.n > 0)
        r = &nd->prooms.v[nd->prooms.n - 1];
    while ((rc = clwire_next_name(&p, end, name)) == 1) {
        if (name[0] == '#' && (r = clrooms_get(&nd->prooms, name)) == NULL)
            rc = -1;                /* too many rooms */
        else if (r == NULL)
            rc = -1;
        else if (name[0] != '#')
            roster_add(&r->users, name);
        if (rc < 0)
            break;
    }
    if (rc < 0) {
        clrooms_free(&nd->prooms);
        return -1;
    }
    if (!m->more) {
        for (size_t i = 0; i < nd->prooms.n; i++) {
            struct clroom *n = &nd->prooms.v[i];
            ssize_t k = clrooms_find(&nd->rooms, n->fold);
            if (k >= 0)             /* its topic comes after (T) */
                memcpy(n->topic, nd->rooms.v[k].topic, sizeof(n->topic));
        }
        clrooms_free(&nd->rooms);
        nd->rooms = nd->prooms;
        memset(&nd->prooms, 0, sizeof(nd->prooms));
    }
    return 0;
}

/* Set the topic every node's entry of room fold has. */
static void
set_topics(struct clnodes *t, const char *fold, const char *topic)
{
    for (size_t i = 0; i < t->n; i++) {
        ssize_t k = clrooms_find(&t->v[i].rooms, fold);
        if (k >= 0)
            snprintf(t->v[i].rooms.v[k].topic, PROTO_TOPIC_MAX + 1, "%s",
                     topic);
    }
}

/* Keep nd's room membership up to date with a p a j l message. */
static void
track(struct clnode *nd, const struct clwire *m)
{
    char fold[PROTO_ROOM_MAX + 1];
    ssize_t k;

    if (m->type != 'l') {
        struct clroom *r = clrooms_get(&nd->rooms, m->room);
        if (r != NULL)
            roster_add(&r->users, m->nick);
        return;
    }
    proto_room_fold(m->room, fold);
    if ((k = clrooms_find(&nd->rooms, fold)) >= 0) {
        roster_del(&nd->rooms.v[k].users, m->nick);
        if (nd->rooms.v[k].users.n == 0)
            clrooms_drop(&nd->rooms, (size_t)k);
    }
}

/* What a room message (p a j l t) shows the members here of room id. */
static void
room_line(struct clnodes *t, const struct clwire *m, uint32_t id,
          const char *name, struct mbox_vec *batch)
{
    const char *prefix = id == MBOX_ROOM_DEFAULT ? NULL : name;
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .room = id };

    switch (m->type) {
    case 'p':
    case 'a':
        if (clnodes_clean(t, m, CLWIRE_MAX) == 0)
            return;
        e.msg = msg_format_in(prefix, m->type == 'p' ? PROTO_PUBLIC
                              : PROTO_ACTION, m->nick, t->clean);
        e.history = 1;
        break;
    case 'j':
        e.msg = msg_notice_in(prefix, "%s has joined", m->nick);
        e.announce = 1;
        break;
    case 'l':
        e.announce = 1;
        e.msg = clnodes_clean(t, m, CLNODES_REASON_MAX) > 0 ?
                msg_notice_in(prefix, "%s has left (%s)", m->nick, t->clean)
                : msg_notice_in(prefix, "%s has left", m->nick);
        break;
    default:                        /* t */
        e.msg = msg_notice_in(prefix, "%s set the topic: %s", m->nick,
                              t->clean);
        break;
    }
    mbox_vec_push(batch, &e);
}

/*
 * Take a message of a room's channel or of CHANNEL:rooms (checked by
 * clwire_parse(); the caller checked it came on the right channel): our
 * own (CLNODES_OWN), one in our name from another run, or another node's
 * (no sequence check: a node hears a room only while it has members
 * there).  Its lines for the members here go into batch; after a t,
 * t->clean holds the topic (sanitized).  Lines of a node not heard on the
 * main channel yet are shown; they update no roster.
 */
enum clnodes_verdict
clnodes_take_room(struct clnodes *t, const struct clwire *m, int64_t now,
                  struct mbox_vec *batch)
{
    char fold[PROTO_ROOM_MAX + 1], name[PROTO_ROOM_MAX + 1];
    struct clnode *nd;
    uint32_t id;

    if (m->type == 't')
        proto_sanitize_max(m->text, m->textlen, t->clean, PROTO_TOPIC_MAX);
    if (strcmp(m->node, t->self) == 0)
        return m->run == t->run ? CLNODES_OWN : CLNODES_FOREIGN;
    if ((nd = node_find(t, m->node)) != NULL && nd->run != m->run)
        return CLNODES_REPLAY;
    if (nd != NULL)
        nd->heard_ms = now;
    if (m->type == 'R')
        return nd == NULL ? CLNODES_REPLAY
             : rooms_part(nd, m) < 0 ? CLNODES_BAD : CLNODES_TAKEN;
    proto_room_fold(m->room, fold);
    if (m->type == 'T') {
        ssize_t k = nd != NULL ? clrooms_find(&nd->rooms, fold) : -1;
        if (k >= 0)
            proto_sanitize_max(m->text, m->textlen, nd->rooms.v[k].topic,
                               PROTO_TOPIC_MAX);
        return CLNODES_TAKEN;
    }
    if (m->type == 't') {
        char topic[PROTO_TOPIC_MAX + 1];
        snprintf(topic, sizeof(topic), "%s", t->clean);
        set_topics(t, fold, topic);
    } else if (nd != NULL) {
        track(nd, m);
    }
    if ((id = local_room(t, fold, name)) != 0)
        room_line(t, m, id, name, batch);
    return CLNODES_TAKEN;
}

/* How many members the other nodes have in room fold. */
size_t
clnodes_room_count(const struct clnodes *t, const char *fold)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n; i++) {
        ssize_t k = clrooms_find(&t->v[i].rooms, fold);
        if (k >= 0)
            n += t->v[i].rooms.v[k].users.n;
    }
    return n;
}

/* Room fold's topic as the other nodes tell it: 1 with topic set (the
 * first node's that has one), else 0. */
int
clnodes_room_topic(const struct clnodes *t, const char *fold,
                   char topic[PROTO_TOPIC_MAX + 1])
{
    for (size_t i = 0; i < t->n; i++) {
        ssize_t k = clrooms_find(&t->v[i].rooms, fold);
        if (k >= 0 && t->v[i].rooms.v[k].topic[0] != '\0') {
            memcpy(topic, t->v[i].rooms.v[k].topic, PROTO_TOPIC_MAX + 1);
            return 1;
        }
    }
    return 0;
}

/* One page of the other nodes' members of room fold (as
 * clnodes_who_page()).  Returns 1 while more follow. */
int
clnodes_room_who_page(const struct clnodes *t, const char *fold,
                      size_t *node, size_t *pos, size_t max,
                      void (*add)(void *arg, const char *nick), void *arg)
{
    size_t n = 0;

    while (*node < t->n && n < max) {
        ssize_t k = clrooms_find(&t->v[*node].rooms, fold);
        const struct roster *r = k >= 0 ? &t->v[*node].rooms.v[k].users
                                        : NULL;
        if (r == NULL || *pos >= r->n) {
            (*node)++;
            *pos = 0;
            continue;
        }
        add(arg, r->v[(*pos)++]);
        n++;
    }
    return *node < t->n;
}

/* Is room k of node i the first mention of its room in the table? */
static int
first_mention(const struct clnodes *t, size_t i, size_t k)
{
    for (size_t j = 0; j < i; j++)
        if (clrooms_find(&t->v[j].rooms, t->v[i].rooms.v[k].fold) >= 0)
            return 0;
    return 1;
}

/*
 * One page of the rooms the other nodes have members in, each once: at
 * most max into out from *cursor (0 at first) on.  Returns how many;
 * fewer than max at the end.
 */
size_t
clnodes_rooms_page(const struct clnodes *t, size_t *cursor,
                   struct clnodes_room *out, size_t max)
{
    size_t got = 0, flat = 0;

    for (size_t i = 0; i < t->n && got < max; i++) {
        for (size_t k = 0; k < t->v[i].rooms.n && got < max; k++, flat++) {
            const struct clroom *r = &t->v[i].rooms.v[k];
            if (flat < *cursor || !first_mention(t, i, k))
                continue;
            snprintf(out[got].name, sizeof(out[got].name), "%s", r->name);
            out[got].members = clnodes_room_count(t, r->fold);
            if (!clnodes_room_topic(t, r->fold, out[got].topic))
                out[got].topic[0] = '\0';
            got++;
            *cursor = flat + 1;
        }
    }
    if (got < max)
        *cursor = SIZE_MAX;
    return got;
}
