/*
 * worker_int.h: the worker's own state, private to the worker module
 * (worker.c: the loop; pool.c: start, stop and hand-off; session.c: what
 * commands may do).  Ownership is as worker.c says: everything below
 * "Owner thread only" is the worker thread's alone.
 */
#ifndef CHATD_WORKER_INT_H
#define CHATD_WORKER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "clientset.h"
#include "mbox.h"
#include "sendlog.h"
#include "transport.h"
#include "worker.h"
#include "workq.h"
#include "wrooms.h"

struct client;

struct worker_stats {
    atomic_ulong connections, lines_in, lines_out, bytes_in, bytes_out,
                 slow;
    atomic_long  clients[TPORT_KINDS];  /* connected now, by transport */
};

struct worker {
    int                 index;
    char                name[24];
    pthread_t           thread;
    int                 epfd;
    struct mbox         mb;             /* appended to by others */
    struct workq        q;              /* accepted sockets */
    atomic_long         load;           /* clients handed to it, live */
    struct worker_stats stats;
    const struct worker_conf *conf;

    /* Owner thread only from here on. */
    struct sendlog      log;
    struct mbox_vec     outbox;         /* to publish through the hub */
    struct mbox_vec     inbox;          /* taken from the mailbox */
    struct clientset    clients;
    struct wrooms       rooms;          /* rooms with members here */
    struct msg         *news_msg;       /* user news being delivered */
    uint64_t            news_stamp;     /* counts user news delivered */
    struct client      *throttled;      /* waiting for a token or to
                                           read again after a feed */
    struct client      *flushq;         /* clients with replies */
    struct client      *closeq;         /* clients to close */
    struct client      *rwait_first;    /* waiting for a replay, in */
    struct client      *rwait_last;     /* the order they asked */
    uint64_t            replay_ids;     /* the last replay asked */
    int                 flush_all;      /* broadcasts logged */
    int                 stopping;
    int64_t             stop_deadline;
    char                scratch[16384];
};

/* A command's view of one client (see session.h). */
struct session {
    struct worker *w;
    struct client *c;
};

void *worker_main(void *arg);
void  worker_drain(struct worker *w);
void  worker_run_lines(struct worker *w, struct client *c, int64_t now);
void  worker_start_stopping(struct worker *w);
void  worker_mark_dirty(struct worker *w, struct client *c);
void  worker_close_client(struct worker *w, struct client *c,
                          const char *reason);

#endif
