/*
 * workq.h: a mutex-guarded FIFO of file descriptors, the hand-off from the
 * acceptor (or the TLS handshake thread) to a worker.  Knows nothing
 * about chat.  Each descriptor may carry a pointer (a transport); its
 * ownership passes with it, and the lock orders the hand-off.  The
 * pusher wakes the worker itself; the worker takes what is there without
 * waiting; once closed, the queue refuses pushes.
 */
#ifndef CHATD_WORKQ_H
#define CHATD_WORKQ_H

#include <pthread.h>
#include <stddef.h>

struct workq_item {
    int             fd;
    void           *data;       /* NULL for a bare descriptor */
};

struct workq {
    pthread_mutex_t lock;
    struct workq_item *items;   /* ring, lock */
    size_t          cap;        /* lock */
    size_t          head;       /* next to pop, lock */
    size_t          count;      /* lock */
    int             closed;     /* lock */
};

void   workq_init(struct workq *q);
void   workq_destroy(struct workq *q);
int    workq_push(struct workq *q, int fd);
int    workq_push_data(struct workq *q, int fd, void *data);
int    workq_trypop(struct workq *q);
int    workq_trypop_data(struct workq *q, void **data);
void   workq_close(struct workq *q);

#endif
