/*
 * workq.h: a mutex-guarded FIFO of file descriptors, the hand-off from the
 * acceptor to a worker (memcached's cq_push/cq_pop).  Knows nothing about
 * chat.  Any thread may push; any thread may pop; workq_close() wakes every
 * waiter.
 */
#ifndef CHATD_WORKQ_H
#define CHATD_WORKQ_H

#include <pthread.h>
#include <stddef.h>

struct workq {
    pthread_mutex_t lock;
    pthread_cond_t  nonempty;
    int            *fds;        /* ring, lock */
    size_t          cap;        /* lock */
    size_t          head;       /* next to pop, lock */
    size_t          count;      /* lock */
    int             closed;     /* lock */
};

void   workq_init(struct workq *q);
void   workq_destroy(struct workq *q);
int    workq_push(struct workq *q, int fd);
int    workq_pop(struct workq *q);
int    workq_trypop(struct workq *q);
void   workq_close(struct workq *q);
size_t workq_len(struct workq *q);

#endif
