/*
 * worker.h: the pool of worker threads.  Each worker owns an epoll set,
 * its mailbox, the clients in it, its sendlog and its outbox; other
 * threads reach it only through worker_handoff() (the acceptor), its
 * mailbox (the hub and the cluster) and the pool calls of the main
 * thread.  struct worker itself is private to worker.c.
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include <stdatomic.h>
#include <stddef.h>

#include "transport.h"

struct msg;
struct transport;

/*
 * Settings the workers read; read-only once published.  On SIGHUP the main
 * thread publishes a new one (worker_pool_conf()); each worker switches to
 * it and drops its reference to the old one, and the last reference frees
 * it.
 */
struct worker_conf {
    atomic_int  refs;           /* one per worker using it */
    long        max_line;
    long        sendq;
    long        rate;
    long        burst;
    int         login_required; /* only logged-in users may talk */
    long        history;        /* lines replayed on joining a room */
    struct msg **motd;          /* the MOTD's notices, formatted once */
    size_t      nmotd;
};

/* Counters of all workers together, for the stats line. */
struct worker_totals {
    unsigned long connections;  /* clients accepted */
    unsigned long lines_in;     /* lines received */
    unsigned long lines_out;    /* lines delivered */
    unsigned long bytes_in;
    unsigned long bytes_out;
    unsigned long slow;         /* cut for falling behind */
    long          clients[TPORT_KINDS];   /* connected now, by transport */
};

/* Main thread. */
void worker_pool_start(int n, const struct worker_conf *conf);
void worker_pool_conf(struct worker_conf *conf);
void worker_pool_stop(void);
void worker_pool_totals(struct worker_totals *t);
int  worker_pool_loads(long *loads, int max);
void worker_conf_release(const struct worker_conf *c);

/* The acceptor thread; worker_handoff_tport() the TLS handshake and web
 * threads too. */
void worker_handoff(int fd);
void worker_handoff_tport(int fd, struct transport *tp);

#endif
