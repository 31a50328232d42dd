/*
 * wreplay.c: the worker's side of stored history (see wreplay.h).  The
 * owner worker thread only.
 *
 * A client waiting for a replay (c->replay_wait) reads no lines, and
 * from the request until its replay's frame is sent (c->replaying) it is
 * sent no live lines either: those wait in the sendlog and follow
 * "*** end of history", so no live line lands inside the frame and none
 * is lost.  The waiting clients are on the worker's list in the order
 * they asked, so the first one is always the next to give up.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "clock.h"
#include "feed.h"
#include "history.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "session.h"
#include "worker_int.h"
#include "wrooms.h"
#include "wreplay.h"
#include "xmalloc.h"

static void
unlink_waiting(struct worker *w, struct client *c)
{
    if (c->rprev)
        c->rprev->rnext = c->rnext;
    else
        w->rwait_first = c->rnext;
    if (c->rnext)
        c->rnext->rprev = c->rprev;
    else
        w->rwait_last = c->rprev;
    c->rprev = c->rnext = NULL;
    c->replay_wait = 0;
}

/*
 * Ask for a replay of room (as named to the client) for the client of
 * s: its last max lines numbered before `before` (this boot's hub
 * sequence) or, with missed and a logged-in client, what its account
 * missed since it last left the room.  Returns 1 if asked (the client
 * waits), 0 when there is no history store (the caller replays from
 * memory) or nothing to ask.
 */
int
wreplay_ask(struct session *s, const char *room, uint64_t before,
            size_t max, int missed, enum wreplay_empty empty)
{
    struct client *c = session_client(s);
    struct worker *w = s->w;
    struct hist_req *r;

    if (!history_enabled() || c->replay_wait ||
        (max == 0 && (!missed || c->account[0] == '\0')))
        return 0;
    r = xcalloc(1, sizeof(*r));
    r->kind = HIST_REPLAY;
    r->client = c->id;
    r->worker = w->index;
    r->id = c->replay_id = ++w->replay_ids;
    proto_room_fold(room, r->room);
    memcpy(r->name, room, strnlen(room, PROTO_ROOM_MAX));
    if (missed && c->account[0] != '\0')
        proto_nick_fold(c->account, r->account);
    r->max = max;
    r->pos.boot = history_boot();
    r->pos.seq = before;
    r->framed = empty == WREPLAY_FRAMED;
    c->replay_wait = 1;
    c->replaying = 1;
    c->replay_due = clock_ms() + WREPLAY_WAIT_MS;
    c->rprev = w->rwait_last;
    if (w->rwait_last)
        w->rwait_last->rnext = c;
    else
        w->rwait_first = c;
    w->rwait_last = c;
    history_ask(r);
    return 1;
}

/* c waits no more: with a feed to send, that releases it when done;
 * else its live lines and its input go on now. */
static void
resume(struct worker *w, struct client *c)
{
    if (c->feed == NULL)
        c->replaying = 0;
    worker_mark_dirty(w, c);
    if (c->feed == NULL && !c->closing)
        worker_run_lines(w, c, clock_ms());
}

/* Give a's lines to c's feed (the MOTD's, if it is still being sent). */
static void
attach(struct client *c, struct hist_answer *a)
{
    struct feed *f = c->feed ? c->feed : feed_list(NULL, 0);

    if (feed_add_history(f, a->name, a->rows.v, a->rows.t,
                         a->rows.n) < 0) {
        if (f != c->feed)
            feed_free(f);
        return;                     /* cannot happen: input waited */
    }
    memset(&a->rows, 0, sizeof(a->rows));   /* the feed's now */
    c->feed = f;
}

/* MBOX_HISTORY: the history thread's answer e->hist for client e->to. */
void
wreplay_answered(struct worker *w, struct mbox_entry *e)
{
    struct client *c = clientset_find(&w->clients, e->to);
    struct hist_answer *a = e->hist;

    e->hist = NULL;
    if (c == NULL || c->closing || !c->replay_wait ||
        c->replay_id != a->id) {
        history_answer_free(a);     /* it gave up, or left */
        return;
    }
    unlink_waiting(w, c);
    if (a->failed)
        client_reply(c, msg_notice("history unavailable"));
    else if (a->rows.n > 0 || a->framed)
        attach(c, a);
    history_answer_free(a);
    resume(w, c);
}

/*
 * Clients that have waited WREPLAY_WAIT_MS are told "*** history
 * unavailable" and go on (flushed by the loop's settle()).
 */
void
wreplay_expire(struct worker *w, int64_t now)
{
    struct client *c;

    while ((c = w->rwait_first) != NULL && c->replay_due <= now) {
        unlink_waiting(w, c);
        if (!w->stopping)
            log_warnx("client %llu (%s) %s: no history from the store in "
                  "%d ms", (unsigned long long)c->id, c->addr, c->nick,
                  WREPLAY_WAIT_MS);
        client_reply(c, msg_notice("history unavailable"));
        resume(w, c);
    }
}

/* Milliseconds until the next waiting client gives up, or -1. */
int
wreplay_timeout(const struct worker *w, int64_t now)
{
    const struct client *c = w->rwait_first;

    if (c == NULL)
        return -1;
    return c->replay_due > now ? (int)(c->replay_due - now) : 0;
}

/* The client of s has just logged in: replay what its account missed
 * in its current room since it last left it, if anything. */
void
wreplay_missed(struct session *s)
{
    struct client *c = session_client(s);
    const struct wmember *m;

    if (c->current < 0)
        return;
    m = c->rooms[c->current];
    wreplay_ask(s, m->name, m->join_seq, 0, 1, WREPLAY_QUIET);
}

/* c goes: off the waiting list. */
void
wreplay_forget(struct worker *w, struct client *c)
{
    if (c->replay_wait)
        unlink_waiting(w, c);
}

/* A logged-in c leaves room (as named): note where, for what it will
 * have missed when it comes back. */
void
wreplay_left(struct client *c, const char *room)
{
    struct hist_req *r;

    if (!history_enabled() || c->account[0] == '\0')
        return;
    r = xcalloc(1, sizeof(*r));
    r->kind = HIST_MARK;
    proto_room_fold(room, r->room);
    proto_nick_fold(c->account, r->account);
    r->pos.boot = history_boot();
    r->pos.seq = hub_seq();
    history_ask(r);
}

/* c closes: it leaves every room it is in. */
void
wreplay_left_all(struct client *c)
{
    for (size_t i = 0; i < c->nrooms; i++)
        wreplay_left(c, c->rooms[i]->name);
}
