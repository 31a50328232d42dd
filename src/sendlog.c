/*
 * sendlog.c: a worker's outgoing log (see sendlog.h).  Owner thread only.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "sendlog.h"
#include "xmalloc.h"

void
sendlog_init(struct sendlog *log)
{
    memset(log, 0, sizeof(*log));
    log->cap = 64;
    log->ring = xcalloc(log->cap, sizeof(*log->ring));
}

void
sendlog_free(struct sendlog *log)
{
    for (uint64_t i = log->tail; i < log->head; i++)
        msg_unref(sendlog_at(log, i)->msg);
    free(log->ring);
    memset(log, 0, sizeof(*log));
}

static void
grow(struct sendlog *log)
{
    size_t cap = log->cap * 2;
    struct sendlog_entry *ring = xcalloc(cap, sizeof(*ring));

    for (uint64_t i = log->tail; i < log->head; i++)
        ring[i & (cap - 1)] = *sendlog_at(log, i);
    free(log->ring);
    log->ring = ring;
    log->cap = cap;
}

/*
 * Append m (its reference passes to the log) and return the entry.  A
 * broadcast has to 0 and its room (0: everyone).  The caller counts the
 * clients that must pass the entry before it can go (client_count()),
 * in entry->pending.
 */
struct sendlog_entry *
sendlog_append(struct sendlog *log, struct msg *m, uint64_t seq,
               uint64_t from, uint64_t to, uint32_t room)
{
    struct sendlog_entry *e;

    if (log->head - log->tail == log->cap)
        grow(log);
    e = sendlog_at(log, log->head);
    e->msg = m;
    e->seq = seq;
    e->from = from;
    e->to = to;
    e->room = room;
    e->acum = log->acum;
    e->pending = 0;
    log->acum += m->len;
    log->head++;
    return e;
}

/* Drop entries from the tail that nobody has left to pass; count them. */
size_t
sendlog_trim(struct sendlog *log)
{
    size_t n = 0;

    while (log->tail < log->head) {
        struct sendlog_entry *e = sendlog_at(log, log->tail);
        if (e->pending > 0)
            break;
        msg_unref(e->msg);
        e->msg = NULL;
        log->tail++;
        n++;
    }
    return n;
}
