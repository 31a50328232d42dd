/*
 * worker.h: the worker threads.  Each worker owns an epoll set, the
 * clients in it, its sendlog and its outbox; other threads talk to it only
 * through worker_handoff() (the acceptor) and its mailbox (the hub).
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mbox.h"
#include "sendlog.h"
#include "workq.h"

struct client;
struct msg;

/*
 * Settings the workers read; read-only once published.  On SIGHUP the main
 * thread publishes a new one (hub_post_conf()); each worker switches to it
 * and drops its reference to the old one, and the last reference frees it.
 */
struct worker_conf {
    atomic_int  refs;           /* one per worker using it */
    long        max_line;
    long        sendq;
    long        rate;
    long        burst;
    struct msg **motd;          /* the MOTD's notices, formatted once */
    size_t      nmotd;
};

/* Counters: written by the owner, read by anyone (relaxed atomics). */
struct worker_stats {
    atomic_ulong connections;   /* clients accepted */
    atomic_ulong lines_in;      /* lines received */
    atomic_ulong lines_out;     /* lines delivered */
    atomic_ulong bytes_in;
    atomic_ulong bytes_out;
    atomic_ulong slow;          /* cut for falling behind */
};

struct worker {
    int                 index;
    char                name[16];
    pthread_t           thread;
    int                 epfd;
    struct mbox        *mb;             /* hub_mbox(index) */
    struct workq        q;              /* accepted sockets */
    atomic_long         load;           /* clients handed to it, live */
    struct worker_stats stats;
    const struct worker_conf *conf;

    /* Owner thread only from here on. */
    struct sendlog      log;
    struct mbox_vec     outbox;         /* to publish through the hub */
    struct mbox_vec     inbox;          /* taken from the mailbox */
    struct client      *clients;
    size_t              nclients;
    struct client     **byid;           /* id hash */
    size_t              byid_cap;
    struct client      *throttled;
    struct client      *flushq;         /* clients with direct lines */
    struct client      *closeq;         /* clients to close */
    int                 flush_all;      /* broadcasts logged */
    int                 stopping;
    int64_t             stop_deadline;
    char                scratch[16384];
};

void worker_start(struct worker *w, int index, const struct worker_conf *c);
void worker_conf_release(const struct worker_conf *c);
void worker_join(struct worker *w);
void worker_handoff(struct worker *w, int fd);

/* For command.c: owner thread. */
void worker_reply(struct worker *w, struct client *c, struct msg *m);
void worker_notice(struct worker *w, struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void worker_error(struct worker *w, struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void worker_close(struct worker *w, struct client *c, const char *reason);
int64_t worker_now_ms(void);

#endif
