/*
 * pool.c: the fixed pool of worker threads: starting and stopping them
 * and handing SIGHUP's settings to them (main thread), summing their
 * counters (any thread) and handing each accepted socket to the least
 * loaded one (the acceptor thread, or the TLS handshake or web thread
 * with the socket's transport).  The pool array is fixed from
 * worker_pool_start() to worker_pool_stop().
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "counter.h"
#include "hub.h"
#include "log.h"
#include "msg.h"
#include "transport.h"
#include "worker_int.h"
#include "xmalloc.h"

static struct {
    struct worker  *v;
    int             n;
} pool;

/* Set up worker `index` and start its thread. */
static void
start_one(struct worker *w, int index, const struct worker_conf *conf)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    int rc;

    w->index = index;
    w->conf = conf;
    snprintf(w->name, sizeof(w->name), "worker %d", index);
    if (mbox_init(&w->mb) < 0)
        fatal("mailbox");
    hub_attach(index, &w->mb);
    workq_init(&w->q);
    sendlog_init(&w->log);
    clientset_init(&w->clients);
    wrooms_init(&w->rooms);
    if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        fatal("epoll_create1");
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->mb.efd, &ev) < 0)
        fatal("epoll_ctl");
    if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
        errno = rc;
        fatal("pthread_create");
    }
}

/*
 * Start n workers sharing conf (which holds n references).  Main thread,
 * after hub_init() and before the acceptor starts.
 */
void
worker_pool_start(int n, const struct worker_conf *conf)
{
    pool.v = xcalloc((size_t)n, sizeof(*pool.v));
    pool.n = n;
    for (int i = 0; i < n; i++)
        start_one(&pool.v[i], i, conf);
}

/*
 * Give every worker conf (a new configuration, SIGHUP): each takes one of
 * its references when it drains its mailbox.  Main thread.
 */
void
worker_pool_conf(struct worker_conf *conf)
{
    struct mbox_entry e = { .kind = MBOX_CONF, .conf = conf };

    for (int i = 0; i < pool.n; i++)
        mbox_post(&pool.v[i].mb, &e);
}

/* Close what is left in a stopped worker's queue, transports too. */
static void
drop_queued(struct workq *q)
{
    void *tp;
    int fd;

    while ((fd = workq_trypop_data(q, &tp)) >= 0) {
        if (tp != NULL)
            tport_close(tp);
        else
            close(fd);
    }
}

/*
 * Wait for every worker to end (after hub_shutdown()) and free them.
 * All of them end before any is freed: a worker still closing its
 * clients publishes their leave notices into every mailbox.  Main
 * thread.
 */
void
worker_pool_stop(void)
{
    /* Join them all first: a worker still stopping may yet append to
     * another's mailbox, so none is freed before every thread is done. */
    for (int i = 0; i < pool.n; i++) {
        int rc;
        if ((rc = pthread_join(pool.v[i].thread, NULL)) != 0) {
            errno = rc;
            fatal("pthread_join");
        }
    }
    for (int i = 0; i < pool.n; i++) {
        struct worker *w = &pool.v[i];
        worker_conf_release(w->conf);
        drop_queued(&w->q);
        workq_destroy(&w->q);
        sendlog_free(&w->log);
        mbox_vec_free(&w->outbox);
        mbox_vec_free(&w->inbox);
        clientset_free(&w->clients);
        wrooms_free(&w->rooms);
        mbox_destroy(&w->mb);
        close(w->epfd);
    }
    free(pool.v);
    memset(&pool, 0, sizeof(pool));
}

/* Sum of every worker's counters; any thread while the pool runs. */
void
worker_pool_totals(struct worker_totals *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = 0; i < pool.n; i++) {
        struct worker_stats *st = &pool.v[i].stats;
        t->connections += counter_get(&st->connections);
        t->lines_in += counter_get(&st->lines_in);
        t->lines_out += counter_get(&st->lines_out);
        t->bytes_in += counter_get(&st->bytes_in);
        t->bytes_out += counter_get(&st->bytes_out);
        t->slow += counter_get(&st->slow);
        for (int k = 0; k < TPORT_KINDS; k++)
            t->clients[k] += atomic_load_explicit(&st->clients[k],
                                                  memory_order_relaxed);
    }
}

/* Each worker's clients (handed to it, live) into loads[0..max);
 * returns how many workers there are.  Any thread while the pool
 * runs. */
int
worker_pool_loads(long *loads, int max)
{
    for (int i = 0; i < pool.n && i < max; i++)
        loads[i] = atomic_load_explicit(&pool.v[i].load,
                                        memory_order_relaxed);
    return pool.n;
}

/*
 * Drop one reference to c; the last one frees it (and its MOTD).  Any
 * thread.  c was allocated by the main thread with refs set to the number
 * of workers it was given to.
 */
void
worker_conf_release(const struct worker_conf *c)
{
    struct worker_conf *mc = (struct worker_conf *)c;

    if (c != NULL &&
        atomic_fetch_sub_explicit(&mc->refs, 1, memory_order_acq_rel) == 1) {
        for (size_t i = 0; i < mc->nmotd; i++)
            msg_unref(mc->motd[i]);
        free(mc->motd);
        free(mc);
    }
}

/* Give the least loaded worker an accepted plain socket; see
 * worker_handoff_tport().  The acceptor thread. */
void
worker_handoff(int fd)
{
    worker_handoff_tport(fd, NULL);
}

/*
 * Give the least loaded worker a connection: fd, and tp its transport
 * (NULL: plain TCP, made by the worker).  The acceptor, the TLS
 * handshake or the web thread.  Returns with fd and tp owned by the worker (or
 * closed, if its queue is closed).
 */
void
worker_handoff_tport(int fd, struct transport *tp)
{
    struct worker *w = &pool.v[0];

    for (int i = 1; i < pool.n; i++)
        if (atomic_load(&pool.v[i].load) < atomic_load(&w->load))
            w = &pool.v[i];
    atomic_fetch_add(&w->load, 1);
    if (workq_push_data(&w->q, fd, tp) < 0) {
        atomic_fetch_sub(&w->load, 1);
        if (tp != NULL)
            tport_close(tp);
        else
            close(fd);
        return;
    }
    mbox_wake(&w->mb);
}

