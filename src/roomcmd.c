/*
 * roomcmd.c: the commands about rooms (/join, /part, /rooms, /topic,
 * /who), run for a client by the worker thread that owns it, through the
 * session interface.  The hub (hubroom.c) keeps the rooms; the session
 * keeps the worker's side of the client's memberships.
 *
 * In a cluster every room spans the nodes (the cluster keeps their
 * members and topics, cluster.c); every client stays in the default room,
 * whose members chatd 0.1 nodes count on, so /part of it is refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cluster.h"
#include "command.h"
#include "feed.h"
#include "hub.h"
#include "msg.h"
#include "proto.h"
#include "session.h"
#include "worker.h"
#include "wreplay.h"
#include "wrooms.h"

#define CLUSTER_PART_TEXT \
    "in a cluster everyone stays in the default room"

/* The client's membership of the room named name, or -1. */
static int
member_index(const struct client *c, const char *name)
{
    for (size_t i = 0; i < c->nrooms; i++)
        if (strcasecmp(c->rooms[i]->name, name) == 0)
            return (int)i;
    return -1;
}

/* "#dev: 3 users; topic: ..." for room j. */
static void
describe(char *out, size_t len, const struct hub_joined *j)
{
    snprintf(out, len, "%s: %zu user%s; %s%s", j->name, j->members,
             j->members == 1 ? "" : "s", j->topic[0] ? "topic: " :
             "no topic", j->topic);
}

/* A name from the client: valid, or an error says why. */
static int
valid_room(struct session *s, const char *name)
{
    const char *why;
    char safe[PROTO_ROOM_MAX * 3 + 1];

    if (proto_room_valid(name, &why))
        return 1;
    proto_sanitize(name, strnlen(name, PROTO_ROOM_MAX), safe);
    session_error(s, "%s: %s", why, safe);
    return 0;
}

/* /join #room: join it (made if new) and make it current. */
void
roomcmd_join(struct session *s, const char *name)
{
    struct client *c = session_client(s);
    struct hub_joined j;
    char line[PROTO_TOPIC_MAX + 128];
    const char *why;
    int rc;

    if (!valid_room(s, name))
        return;
    rc = hub_room_join(c->user, name, &j, session_outbox(s), &why);
    if (rc < 0) {
        session_error(s, "%s: %s", why, name);
        return;
    }
    describe(line, sizeof(line), &j);
    if (rc > 0) {
        c->current = member_index(c, j.name);
        session_notice(s, "you are in %s", line);
        return;
    }
    session_enter(s, &j);
    session_notice(s, "you joined %s", line);
    if (j.nhistory > 0) {
        struct feed *f = feed_list(NULL, 0);
        feed_add_history(f, j.name, j.history, j.history_times,
                         j.nhistory);
        session_feed(s, f);
    } else {
        free(j.history);
        free(j.history_times);
        /* Stored: the last lines, or what a logged-in user missed. */
        wreplay_ask(s, j.name, j.join_seq,
                    (size_t)session_conf(s)->history, 1, WREPLAY_QUIET);
    }
}

/* /history [N]: replay the current room's last N lines (default and at
 * most PROTO_HISTORY_MAX), framed, as the client reads. */
void
roomcmd_history(struct session *s, const char *count)
{
    struct client *c = session_client(s);
    size_t max = count ? (size_t)atol(count) : PROTO_HISTORY_MAX;
    struct hub_joined j;
    struct feed *f;

    if (c->current < 0) {
        session_error(s, "you are in no room; /join one");
        return;
    }
    /* Publish what this worker's clients said before (this client's
     * lines in the same read too), so that the replay has them. */
    hub_publish(session_outbox(s), session_worker(s));
    if (wreplay_ask(s, c->rooms[c->current]->name, hub_seq(), max, 0,
                    WREPLAY_FRAMED))
        return;                     /* stored: the history thread's */
    if (hub_room_history(c->rooms[c->current]->id, max, &j) < 0) {
        session_error(s, "no such room: %s", c->rooms[c->current]->name);
        return;
    }
    f = feed_list(NULL, 0);
    feed_add_history(f, j.name, j.history, j.history_times, j.nhistory);
    session_feed(s, f);
}

/* /part [#room] [reason]: leave the named room, or the current one. */
void
roomcmd_part(struct session *s, const char *name, const char *reason)
{
    struct client *c = session_client(s);
    char clean[96 * 3 + 1], room[PROTO_ROOM_MAX + 1];
    int i;

    if (name != NULL && !valid_room(s, name))
        return;
    i = name != NULL ? member_index(c, name) : c->current;
    if (i < 0) {
        if (name != NULL)
            session_error(s, "you are not in %s", name);
        else
            session_error(s, "you are in no room; /join one");
        return;
    }
    if (cluster_enabled() && c->rooms[i]->is_default) {
        session_error(s, "%s: %s", CLUSTER_PART_TEXT, c->rooms[i]->name);
        return;
    }
    proto_sanitize_max(reason, strlen(reason), clean, 96);
    snprintf(room, sizeof(room), "%s", c->rooms[i]->name);
    if (hub_room_part(c->user, c->rooms[i]->id, clean,
                      session_outbox(s)) < 0)
        return;
    wreplay_left(c, room);
    session_leave(s, (size_t)i);
    session_notice(s, "you left %s", room);
}

/* /rooms */
void
roomcmd_rooms(struct session *s)
{
    session_feed(s, feed_rooms());
}

/* /topic [text]: show, or set and announce, the current room's topic. */
void
roomcmd_topic(struct session *s, const char *text)
{
    struct client *c = session_client(s);
    char clean[PROTO_TOPIC_MAX + 1];
    struct hub_joined j;
    struct wmember *m;

    if (c->current < 0) {
        session_error(s, "you are in no room; /join one");
        return;
    }
    m = c->rooms[c->current];
    if (text[0] == '\0') {
        if (hub_topic(c->user, m->id, NULL, &j, session_outbox(s)) == 0)
            session_notice(s, j.topic[0] ? "topic of %s: %s" :
                           "%s has no topic%s", j.name, j.topic);
        return;
    }
    /* At most PROTO_TOPIC_MAX bytes, and no longer than a line. */
    proto_sanitize_max(text, strlen(text), clean,
                       (size_t)session_conf(s)->max_line < PROTO_TOPIC_MAX ?
                       (size_t)session_conf(s)->max_line : PROTO_TOPIC_MAX);
    hub_topic(c->user, m->id, clean, &j, session_outbox(s));
}

/* /who [#room]: the members of the named room, or of the current one. */
void
roomcmd_who(struct session *s, const char *name)
{
    struct client *c = session_client(s);
    struct hub_joined j;

    if (name == NULL) {
        if (c->current < 0) {
            session_error(s, "you are in no room; /join one, or "
                          "/who #room");
            return;
        }
        name = c->rooms[c->current]->name;
    } else if (!valid_room(s, name)) {
        return;
    }
    if (hub_room_find(name, &j) < 0) {
        session_error(s, "no such room: %s", name);
        return;
    }
    session_feed(s, feed_who(j.room, j.is_default, j.name, j.members));
}
