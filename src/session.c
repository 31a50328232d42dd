/*
 * session.c: the session interface (session.h), what a command may do
 * for the client it runs for.  The worker thread that owns the client.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "client.h"
#include "feed.h"
#include "hub.h"
#include "wrooms.h"
#include "msg.h"
#include "proto.h"
#include "session.h"
#include "worker_int.h"

struct client *
session_client(struct session *s)
{
    return s->c;
}

const struct worker_conf *
session_conf(struct session *s)
{
    return s->w->conf;
}

struct mbox_vec *
session_outbox(struct session *s)
{
    return &s->w->outbox;
}

int
session_worker(struct session *s)
{
    return s->w->index;
}

/* Queue m (one reference, given away) for the client alone. */
void
session_reply(struct session *s, struct msg *m)
{
    if (s->c->closing) {
        msg_unref(m);
        return;
    }
    client_reply(s->c, m);
    worker_mark_dirty(s->w, s->c);
}

static void
vreply(struct session *s, enum proto_kind kind, const char *fmt,
       va_list ap) __attribute__((format(printf, 3, 0)));

static void
vreply(struct session *s, enum proto_kind kind, const char *fmt, va_list ap)
{
    char text[1024];

    vsnprintf(text, sizeof(text), fmt, ap);
    session_reply(s, msg_format(kind, NULL, text));
}

/* "*** text" to the client alone. */
void
session_notice(struct session *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreply(s, PROTO_NOTICE, fmt, ap);
    va_end(ap);
}

/* "*** error: text" to the client alone. */
void
session_error(struct session *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreply(s, PROTO_ERROR, fmt, ap);
    va_end(ap);
}

/*
 * Send f (given away) to the client as it reads; its next lines wait
 * until f is done.
 */
void
session_feed(struct session *s, struct feed *f)
{
    if (s->c->closing || s->c->feed != NULL) {
        feed_free(f);
        return;
    }
    s->c->feed = f;
    if (feed_has_history(f))
        s->c->replaying = 1;
    worker_mark_dirty(s->w, s->c);
}

/* Close the client at the end of this loop iteration (see
 * worker_close_client()). */
void
session_close(struct session *s, const char *reason)
{
    worker_close_client(s->w, s->c, reason);
}

/* The client is now a member of room j (the hub said so): this worker's
 * side of it, and it is the client's current room. */
void
session_enter(struct session *s, const struct hub_joined *j)
{
    struct client *c = s->c;

    wrooms_join(&s->w->rooms, c, j->room, j->name, j->is_default,
                j->join_seq);
    c->current = (int)c->nrooms - 1;
}

/*
 * The client has left its i-th room (the hub said so): it passes the
 * room's lines still queued for it, unsent.  If that was its current
 * room, the last one it joined of those left is current now.
 */
void
session_leave(struct session *s, size_t i)
{
    struct client *c = s->c;
    struct wmember *m = c->rooms[i];

    client_release_room(c, &s->w->log, m->id, m->join_seq);
    wrooms_leave(&s->w->rooms, c, i);
    if (c->current == (int)i)
        c->current = (int)c->nrooms - 1;
    else if (c->current > (int)i)
        c->current--;
}
