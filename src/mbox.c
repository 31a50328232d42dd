/*
 * mbox.c: per-worker mailbox (see mbox.h).  mb->in is guarded by mb->lock;
 * mb->efd is written by any thread and read by the owning worker.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "mbox.h"
#include "msg.h"
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

/* Drop the references the entries hold and free the vector. */
void
mbox_vec_free(struct mbox_vec *vec)
{
    for (size_t i = 0; i < vec->len; i++) {
        msg_unref(vec->v[i].msg);
        msg_unref(vec->v[i].wire);
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
    mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
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
 * Unlock after appending.  With wake set, the owner is woken if the
 * mailbox was empty before this batch (one eventfd write per batch, not
 * per message).
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
    uint64_t one = 1;

    while (write(mb->efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

/*
 * Clear the wakeup (owner only).  Call it before looking at what the
 * wakeup is for (the mailbox, the worker's fd queue): anything added
 * after the clear wakes the owner again.
 */
void
mbox_clear(struct mbox *mb)
{
    uint64_t n;

    while (read(mb->efd, &n, sizeof(n)) < 0 && errno == EINTR)
        ;
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
