/*
 * workq.c: mutex-guarded fd FIFO (see workq.h).  Any thread; all fields
 * are guarded by q->lock, which is never held across a blocking call.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "workq.h"
#include "xmalloc.h"

void
workq_init(struct workq *q)
{
    int rc;

    if ((rc = pthread_mutex_init(&q->lock, NULL)) != 0) {
        errno = rc;
        fatal("workq_init");
    }
    q->cap = 16;
    q->fds = xcalloc(q->cap, sizeof(int));
    q->head = q->count = 0;
    q->closed = 0;
}

/*
 * Free the queue.  Descriptors still queued are closed: nobody will serve
 * them.  No other thread may use q any more.
 */
void
workq_destroy(struct workq *q)
{
    int fd;

    while ((fd = workq_trypop(q)) >= 0)
        close(fd);
    free(q->fds);
    q->fds = NULL;
    pthread_mutex_destroy(&q->lock);
}

static void
grow(struct workq *q)
{
    int *fds = xcalloc(q->cap * 2, sizeof(int));

    for (size_t i = 0; i < q->count; i++)
        fds[i] = q->fds[(q->head + i) % q->cap];
    free(q->fds);
    q->fds = fds;
    q->head = 0;
    q->cap *= 2;
}

/*
 * Append fd.  Returns 0, or -1 with errno EPIPE when the queue is closed
 * (the caller still owns fd then).
 */
int
workq_push(struct workq *q, int fd)
{
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        errno = EPIPE;
        return -1;
    }
    if (q->count == q->cap)
        grow(q);
    q->fds[(q->head + q->count) % q->cap] = fd;
    q->count++;
    pthread_mutex_unlock(&q->lock);
    return 0;
}

static int
take(struct workq *q)
{
    int fd = q->fds[q->head];

    q->head = (q->head + 1) % q->cap;
    q->count--;
    return fd;
}

/* Remove and return the oldest fd, or -1 when the queue is empty. */
int
workq_trypop(struct workq *q)
{
    int fd = -1;

    pthread_mutex_lock(&q->lock);
    if (q->count > 0)
        fd = take(q);
    pthread_mutex_unlock(&q->lock);
    return fd;
}

/* Refuse further pushes; what is queued can still be taken. */
void
workq_close(struct workq *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_mutex_unlock(&q->lock);
}
