/*
 * workq.h: a mutex-guarded FIFO of file descriptors, the hand-off from the
 * acceptor to a worker.  Knows nothing about chat.  The acceptor pushes
 * (and wakes the worker itself); the worker takes what is there without
 * waiting; once closed, the queue refuses pushes.
 */
#ifndef CHATD_WORKQ_H
#define CHATD_WORKQ_H

#include <pthread.h>
#include <stddef.h>

struct workq {
    pthread_mutex_t lock;
    int            *fds;        /* ring, lock */
    size_t          cap;        /* lock */
    size_t          head;       /* next to pop, lock */
    size_t          count;      /* lock */
    int             closed;     /* lock */
};

void   workq_init(struct workq *q);
void   workq_destroy(struct workq *q);
int    workq_push(struct workq *q, int fd);
int    workq_trypop(struct workq *q);
void   workq_close(struct workq *q);

#endif
