/*
 * sendlog.h: a worker's log of outgoing lines.  Every line a worker's
 * clients are to receive is appended once, in delivery order; each client
 * keeps a cursor into it instead of a queue of its own, so a broadcast
 * costs one entry per worker, not a copy or an allocation per recipient.
 * An entry is dropped once every client that had to pass it has.
 *
 * Owned by one worker thread; no locks.
 */
#ifndef CHATD_SENDLOG_H
#define CHATD_SENDLOG_H

#include <stddef.h>
#include <stdint.h>

struct msg;

struct sendlog_entry {
    struct msg *msg;            /* one reference */
    uint64_t    seq;            /* broadcast: global order; direct: 0 */
    uint64_t    from;           /* broadcast: sender, excluded */
    uint64_t    to;             /* direct: recipient; broadcast: 0 */
    uint32_t    room;           /* broadcast: its room; 0: everyone */
    uint64_t    acum;           /* bytes of all kinds logged before it */
    uint32_t    pending;        /* clients still to pass it */
};

struct sendlog {
    struct sendlog_entry *ring;
    size_t                cap;          /* power of two */
    uint64_t              tail;         /* oldest entry kept */
    uint64_t              head;         /* index of the next entry */
    uint64_t              acum;         /* all bytes ever logged */
};

void sendlog_init(struct sendlog *log);
void sendlog_free(struct sendlog *log);
struct sendlog_entry *sendlog_append(struct sendlog *log, struct msg *m,
                                     uint64_t seq, uint64_t from,
                                     uint64_t to, uint32_t room);
size_t sendlog_trim(struct sendlog *log);

/* Entry i (tail <= i < head).  Inline: on every recipient's hot path. */
static inline struct sendlog_entry *
sendlog_at(struct sendlog *log, uint64_t i)
{
    return &log->ring[i & (log->cap - 1)];
}

/* All bytes logged before entry i (i may be head). */
static inline uint64_t
sendlog_acum_at(struct sendlog *log, uint64_t i)
{
    return i < log->head ? sendlog_at(log, i)->acum : log->acum;
}

/* Bytes the log holds now. */
static inline uint64_t
sendlog_bytes(struct sendlog *log)
{
    return log->acum - sendlog_acum_at(log, log->tail);
}

#endif
