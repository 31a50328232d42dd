/*
 * mbox.c: per-worker mailbox (see mbox.h).  mb->in is guarded by mb->lock;
 * mb->efd is written by any thread and read by the owning worker.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "log.h"
#include "mbox.h"
#include "msg.h"
#include "wakeup.h"
#include "xmalloc.h"

/* Append e to a vector (no locking: the caller owns vec or holds its lock). */
void
mbox_vec_push(struct mbox_vec *vec, const struct mbox_entry *e)
{
    if (vec->len == vec->cap) {
        vec->cap = vec->cap ? vec->cap * 2 : 64;
        vec->v = xrealloc(vec->v, vec->cap * sizeof(*vec->v));
    }
    vec->v[vec->len++] = *e;
}

/*
 * Queue m (one reference, given away) for every client but `from`, with
 * wire, its form for the other nodes (NULL: this node only; one
 * reference, given away).  history: keep it in the replay ring.
 */
void
mbox_vec_broadcast(struct mbox_vec *vec, struct msg *m, uint64_t from,
                   int history, struct msg *wire)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = m,
                            .from = from, .history = history,
                            .wire = wire };
    mbox_vec_push(vec, &e);
}

/* The same for the members of room `room` (an id, or
 * MBOX_ROOM_DEFAULT). */
void
mbox_vec_room(struct mbox_vec *vec, struct msg *m, uint64_t from,
              uint32_t room, int history, struct msg *wire)
{
    struct mbox_entry e = { .kind = MBOX_BROADCAST, .msg = m,
                            .from = from, .history = history,
                            .room = room, .wire = wire };
    mbox_vec_push(vec, &e);
}

/* Queue m (one reference, given away) for client `to` of `worker`. */
void
mbox_vec_direct(struct mbox_vec *vec, struct msg *m, uint64_t to,
                int worker)
{
    struct mbox_entry e = { .kind = MBOX_DIRECT, .msg = m, .to = to,
                            .worker = worker };
    mbox_vec_push(vec, &e);
}

/* Drop the references the entries hold and free the vector. */
void
mbox_vec_free(struct mbox_vec *vec)
{
    for (size_t i = 0; i < vec->len; i++) {
        msg_unref(vec->v[i].msg);
        msg_unref(vec->v[i].wire);
        if (vec->v[i].kind == MBOX_HISTORY)
            history_answer_free(vec->v[i].hist);
    }
    free(vec->v);
    memset(vec, 0, sizeof(*vec));
}

int
mbox_init(struct mbox *mb)
{
    int rc;

    memset(mb, 0, sizeof(*mb));
    if ((rc = pthread_mutex_init(&mb->lock, NULL)) != 0) {
        errno = rc;
        return -1;
    }
    mb->efd = wakeup_open();
    if (mb->efd < 0) {
        pthread_mutex_destroy(&mb->lock);
        return -1;
    }
    return 0;
}

void
mbox_destroy(struct mbox *mb)
{
    mbox_vec_free(&mb->in);
    close(mb->efd);
    pthread_mutex_destroy(&mb->lock);
}

/* Lock the mailbox to append to mb->in with mbox_vec_push(). */
void
mbox_lock(struct mbox *mb)
{
    pthread_mutex_lock(&mb->lock);
}

/*
 * Unlock after appending, and wake the owner if `wake` is set.  Callers
 * pass whether the mailbox was empty before their batch, so a batch costs
 * one eventfd write, not one per entry.
 */
void
mbox_unlock(struct mbox *mb, int wake)
{
    pthread_mutex_unlock(&mb->lock);
    if (wake)
        mbox_wake(mb);
}

/* Wake the owning worker; any thread. */
void
mbox_wake(struct mbox *mb)
{
    wakeup_post(mb->efd);
}

/*
 * Append e (its references pass on) outside any broadcast order: answers
 * and settings for the owner, which is woken if the mailbox was empty.
 * Any thread.
 */
void
mbox_post(struct mbox *mb, const struct mbox_entry *e)
{
    int was_empty;

    mbox_lock(mb);
    was_empty = mb->in.len == 0;
    mbox_vec_push(&mb->in, e);
    mbox_unlock(mb, was_empty);
}

/*
 * Clear the wakeup (owner only).  Call it before looking at what the
 * wakeup is for (the mailbox, the worker's fd queue): anything added
 * after the clear wakes the owner again.
 */
void
mbox_clear(struct mbox *mb)
{
    wakeup_drain(mb->efd);
}

/*
 * Take every entry (owner only).  out must be empty; its storage is
 * swapped with the mailbox's.
 */
void
mbox_take(struct mbox *mb, struct mbox_vec *out)
{
    struct mbox_vec tmp;

    pthread_mutex_lock(&mb->lock);
    tmp = mb->in;
    mb->in = *out;
    *out = tmp;
    pthread_mutex_unlock(&mb->lock);
}
