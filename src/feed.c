/*
 * feed.c: long replies a chunk at a time (see feed.h).  The worker that
 * owns the client only; the hub and the cluster are asked for one page
 * of users at a time, under their own locks.
 *
 * A /who reply is "N users online:" (the default room) or "N users in
 * #room:", and then the nicknames, several to a line, each line under
 * FEED_WHO_LINE bytes: the room's members here in join order and, for
 * the default room, those of the other nodes: one list, however many
 * nodes there are.  A /rooms reply is "N rooms:" and a line per room.
 *
 * A replay of a room's history (on joining it, on connecting, /history)
 * follows a list feed's lines (the MOTD) and is framed: "*** history of
 * #room: N lines", each line as it was sent prefixed with its UTC time
 * ("[2026-12-03 13:05] <alice> hi"), then "*** end of history".  The
 * prefixed copies are made as the client reads, one at a time.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "cluster.h"
#include "feed.h"
#include "hub.h"
#include "msg.h"
#include "xmalloc.h"

#define FEED_WHO_LINE   400     /* bytes of nicknames per line */
#define FEED_WHO_PAGE   64      /* users asked for at a time */
#define FEED_ROOMS_PAGE 16      /* rooms asked for at a time */

enum feed_kind { FEED_LIST, FEED_WHO, FEED_ROOMS };
enum who_phase { WHO_COUNT, WHO_LOCAL, WHO_REMOTE, WHO_DONE };
enum hist_phase { HIST_NONE, HIST_HEAD, HIST_LINES, HIST_END, HIST_DONE };

struct feed {
    enum feed_kind  kind;
    struct msg    **v;          /* FEED_LIST: references still to send */
    size_t          n, i;
    enum hist_phase hphase;     /* FEED_LIST: the framed replay after v */
    struct msg    **hv;         /* its lines (references) */
    int64_t        *ht;         /* their times */
    size_t          hn, hi;
    char            hroom[PROTO_ROOM_MAX + 1];
    enum who_phase  phase;      /* FEED_WHO, FEED_ROOMS */
    uint32_t        room;       /* FEED_WHO: whose members; FEED_ROOMS:
                                   the last room listed */
    int             is_default; /* FEED_WHO: the default room (its /who
                                   reads as v1's, other nodes' users in) */
    char            name[PROTO_ROOM_MAX + 1];
    size_t          members;    /* FEED_WHO: the count to announce (all
                                   nodes' members) */
    uint64_t        after;      /* local: last member listed */
    size_t          node, pos;  /* remote: where the next page starts */
    char            line[FEED_WHO_LINE + PROTO_NICK_MAX + 2];
    size_t          len;
    struct client  *c;          /* while filling */
};

/* A feed of n references (v and the references are given away). */
struct feed *
feed_list(struct msg **v, size_t n)
{
    struct feed *f = xcalloc(1, sizeof(*f));

    f->kind = FEED_LIST;
    f->v = v;
    f->n = n;
    return f;
}

/*
 * /who of room `room` (named name; is_default: the default room, whose
 * list is v1's and spans the cluster), which has `members` here.
 */
struct feed *
feed_who(uint32_t room, int is_default, const char *name, size_t members)
{
    struct feed *f = xcalloc(1, sizeof(*f));

    f->kind = FEED_WHO;
    f->room = room;
    f->is_default = is_default;
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->members = members;
    return f;
}

/* /rooms: every room, its member count and its topic. */
struct feed *
feed_rooms(void)
{
    struct feed *f = xcalloc(1, sizeof(*f));

    f->kind = FEED_ROOMS;
    return f;
}

/*
 * Follow list feed f's lines with a framed replay of room's history: n
 * references v (oldest first) sent at times t (both arrays and the
 * references are given away).  n may be 0: the frame says "0 lines".
 * Returns 0, or -1 (nothing taken) if f is not a list feed or already
 * has a replay.
 */
int
feed_add_history(struct feed *f, const char *room, struct msg **v,
                 int64_t *t, size_t n)
{
    if (f->kind != FEED_LIST || f->hphase != HIST_NONE)
        return -1;
    snprintf(f->hroom, sizeof(f->hroom), "%s", room);
    f->hv = v;
    f->ht = t;
    f->hn = n;
    f->hphase = HIST_HEAD;
    return 0;
}

/* Does f send a replay?  (Its client's live lines wait for its end.) */
int
feed_has_history(const struct feed *f)
{
    return f != NULL && f->kind == FEED_LIST && f->hphase != HIST_NONE &&
           f->hphase != HIST_DONE;
}

void
feed_free(struct feed *f)
{
    if (f == NULL)
        return;
    for (size_t i = f->i; i < f->n; i++)
        msg_unref(f->v[i]);
    for (size_t i = f->hi; i < f->hn; i++)
        msg_unref(f->hv[i]);
    free(f->v);
    free(f->hv);
    free(f->ht);
    free(f);
}

/* Line m of the replay as sent at `when`, prefixed with its UTC time. */
static struct msg *
stamped(const struct msg *m, int64_t when)
{
    char stamp[64];
    time_t tt = (time_t)when;
    struct tm tm;
    struct msg *out;
    size_t n;
    char *buf;

    if (gmtime_r(&tt, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    n = strftime(stamp, sizeof(stamp), "[%Y-%m-%d %H:%M] ", &tm);
    buf = xmalloc(n + m->len);
    memcpy(buf, stamp, n);
    memcpy(buf + n, m->data, m->len);
    out = msg_new(buf, n + m->len);
    free(buf);
    return out;
}

/* One line of a list feed's framed replay. */
static void
hist_step(struct feed *f)
{
    switch (f->hphase) {
    case HIST_HEAD:
        client_reply(f->c, msg_notice("history of %s: %zu line%s", f->hroom,
                                      f->hn, f->hn == 1 ? "" : "s"));
        f->hphase = HIST_LINES;
        break;
    case HIST_LINES:
        if (f->hi == f->hn) {
            f->hphase = HIST_END;
            break;
        }
        client_reply(f->c, stamped(f->hv[f->hi], f->ht[f->hi]));
        msg_unref(f->hv[f->hi++]);
        break;
    case HIST_END:
        client_reply(f->c, msg_notice("end of history"));
        f->hphase = HIST_DONE;
        break;
    default:
        f->hphase = HIST_DONE;
        break;
    }
}

/* One line of a list feed: its own, then its replay's; 0 when done. */
static int
list_step(struct feed *f)
{
    if (f->i < f->n) {
        client_reply(f->c, f->v[f->i++]);
        return 1;
    }
    if (f->hphase == HIST_NONE || f->hphase == HIST_DONE)
        return 0;
    hist_step(f);
    return 1;
}

/* Send the nicknames gathered so far as one notice. */
static void
who_flush(struct feed *f)
{
    if (f->len == 0)
        return;
    client_reply(f->c, msg_notice("%s", f->line));
    f->len = 0;
}

/* Page callback: add one nickname to the line, sending it when full. */
static void
who_add(void *arg, const char *nick)
{
    struct feed *f = arg;
    size_t len = strlen(nick);

    if (f->len > 0 && f->len + len + 2 >= FEED_WHO_LINE)
        who_flush(f);
    f->len += (size_t)snprintf(f->line + f->len, sizeof(f->line) - f->len,
                               "%s%s", f->len > 0 ? " " : "  ", nick);
}

/* One step of /who: the count, or a page of users. */
static void
who_step(struct feed *f)
{
    size_t total;

    switch (f->phase) {
    case WHO_COUNT:
        total = f->members;         /* the other nodes' included */
        client_reply(f->c, f->is_default ?
                     msg_notice("%zu user%s online:", total,
                                total == 1 ? "" : "s") :
                     msg_notice("%zu user%s in %s:", total,
                                total == 1 ? "" : "s", f->name));
        f->phase = WHO_LOCAL;
        break;
    case WHO_LOCAL:
        if (!hub_room_who_page(f->room, &f->after, FEED_WHO_PAGE, who_add,
                               f))
            f->phase = cluster_enabled() ? WHO_REMOTE : WHO_DONE;
        if (f->phase == WHO_DONE)
            who_flush(f);
        break;
    case WHO_REMOTE:
        if (!(f->is_default ?
              cluster_who_page(&f->node, &f->pos, FEED_WHO_PAGE, who_add, f)
              : cluster_room_who_page(f->name, &f->node, &f->pos,
                                      FEED_WHO_PAGE, who_add, f))) {
            who_flush(f);
            f->phase = WHO_DONE;
        }
        break;
    case WHO_DONE:
        break;
    }
}

/* Page callback of /rooms: one line per room. */
static void
rooms_add(void *arg, const struct hub_joined *j)
{
    struct feed *f = arg;

    if (j->topic[0] != '\0')
        client_reply(f->c, msg_notice("  %s  %zu user%s  %s", j->name,
                                      j->members,
                                      j->members == 1 ? "" : "s",
                                      j->topic));
    else
        client_reply(f->c, msg_notice("  %s  %zu user%s", j->name,
                                      j->members,
                                      j->members == 1 ? "" : "s"));
}

/*
 * A page of the rooms only other nodes have members in, from *cursor:
 * each shown (f not NULL) or counted.  Returns how many; *cursor is
 * SIZE_MAX at the end.
 */
static size_t
remote_rooms(struct feed *f, size_t *cursor)
{
    struct clnodes_room v[FEED_ROOMS_PAGE];
    struct hub_joined j;
    size_t n = cluster_rooms_page(cursor, v, FEED_ROOMS_PAGE), shown = 0;

    for (size_t i = 0; i < n; i++) {
        if (hub_room_find(v[i].name, &j) == 0)
            continue;               /* listed with the local ones */
        shown++;
        if (f == NULL)
            continue;
        memcpy(j.name, v[i].name, sizeof(j.name));
        memcpy(j.topic, v[i].topic, sizeof(j.topic));
        j.members = v[i].members;
        rooms_add(f, &j);
    }
    return shown;
}

/* One step of /rooms: the count, or a page of rooms. */
static void
rooms_step(struct feed *f)
{
    size_t n, cursor = 0;

    if (f->phase == WHO_COUNT) {
        n = hub_rooms();
        while (cluster_enabled() && cursor != SIZE_MAX)
            n += remote_rooms(NULL, &cursor);
        client_reply(f->c, msg_notice("%zu room%s:", n, n == 1 ? "" : "s"));
        f->phase = WHO_LOCAL;
    } else if (f->phase == WHO_LOCAL) {
        if (!hub_rooms_page(&f->room, FEED_ROOMS_PAGE, rooms_add, f))
            f->phase = cluster_enabled() ? WHO_REMOTE : WHO_DONE;
    } else {
        remote_rooms(f, &f->pos);
        if (f->pos == SIZE_MAX)
            f->phase = WHO_DONE;
    }
}

/*
 * Add f's next lines to c's replies while fewer than `low` bytes of them
 * wait.  Returns 1 while f has more to send, 0 when it is done (the
 * caller frees it).
 */
int
feed_fill(struct feed *f, struct client *c, size_t low)
{
    f->c = c;
    while (c->rq_bytes < low) {
        if (f->kind == FEED_LIST) {
            if (!list_step(f))
                return 0;
        } else {
            if (f->phase == WHO_DONE)
                return 0;
            if (f->kind == FEED_WHO)
                who_step(f);
            else
                rooms_step(f);
        }
    }
    if (f->kind == FEED_LIST)
        return f->i < f->n ||
               (f->hphase != HIST_NONE && f->hphase != HIST_DONE);
    return f->phase != WHO_DONE;
}
