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
    q->items = xcalloc(q->cap, sizeof(*q->items));
    q->head = q->count = 0;
    q->closed = 0;
}

/*
 * Free the queue.  Bare descriptors still queued are closed: nobody will
 * serve them.  Ones with data must have been taken by the owner of what
 * the data is (it alone knows how to free it).  No other thread may use
 * q any more.
 */
void
workq_destroy(struct workq *q)
{
    int fd;

    while ((fd = workq_trypop(q)) >= 0)
        close(fd);
    free(q->items);
    q->items = NULL;
    pthread_mutex_destroy(&q->lock);
}

static void
grow(struct workq *q)
{
    struct workq_item *items = xcalloc(q->cap * 2, sizeof(*items));

    for (size_t i = 0; i < q->count; i++)
        items[i] = q->items[(q->head + i) % q->cap];
    free(q->items);
    q->items = items;
    q->head = 0;
    q->cap *= 2;
}

/* Append a bare fd; see workq_push_data(). */
int
workq_push(struct workq *q, int fd)
{
    return workq_push_data(q, fd, NULL);
}

/*
 * Append fd and data.  Returns 0, or -1 with errno EPIPE when the queue
 * is closed (the caller still owns fd and data then).
 */
int
workq_push_data(struct workq *q, int fd, void *data)
{
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        errno = EPIPE;
        return -1;
    }
    if (q->count == q->cap)
        grow(q);
    q->items[(q->head + q->count) % q->cap] =
        (struct workq_item){ .fd = fd, .data = data };
    q->count++;
    pthread_mutex_unlock(&q->lock);
    return 0;
}

static int
take(struct workq *q, void **data)
{
    struct workq_item it = q->items[q->head];

    q->head = (q->head + 1) % q->cap;
    q->count--;
    *data = it.data;
    return it.fd;
}

/* Remove and return the oldest bare fd, or -1 when the queue is empty.
 * (An entry with data would leak: use workq_trypop_data() then.) */
int
workq_trypop(struct workq *q)
{
    void *data;

    return workq_trypop_data(q, &data);
}

/* Remove and return the oldest fd, and in *data its data (NULL for a
 * bare one); -1 when the queue is empty. */
int
workq_trypop_data(struct workq *q, void **data)
{
    int fd = -1;

    *data = NULL;
    pthread_mutex_lock(&q->lock);
    if (q->count > 0)
        fd = take(q, data);
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
