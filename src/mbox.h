/*
 * mbox.h: a worker's mailbox, and the entry vectors ("outboxes") that
 * fill it.  Each worker owns its mailbox (worker.c creates and frees it);
 * the hub appends broadcasts in their global order (on any thread, under
 * hub.lock), others post answers and settings with mbox_post(), and the
 * owner takes everything at once.  An eventfd in the worker's epoll set
 * wakes it.  Lock order: hub.lock before mbox.lock.
 */
#ifndef CHATD_MBOX_H
#define CHATD_MBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct hist_answer;
struct msg;
struct worker_conf;

/* An entry's room: 0 is every client; MBOX_ROOM_DEFAULT is the default
 * room, whatever its id (the cluster does not know it). */
#define MBOX_ROOM_DEFAULT UINT32_MAX

enum mbox_kind {
    MBOX_BROADCAST,     /* msg to the members of `room` (0: everyone) but
                           `from`, from their join on */
    MBOX_USER,          /* news of user `from` (left, renamed) for the
                           members of `room`: consecutive entries with
                           one msg reach each client once */
    MBOX_DIRECT,        /* msg to client `to` only */
    MBOX_STOP,          /* shut down: flush and close every client */
    MBOX_CONF,          /* switch to conf (SIGHUP) */
    MBOX_CLAIM,         /* cluster: answer to client `to`'s nick claim */
    MBOX_STORE,         /* accounts: the store thread's answer to client
                           `to`, or a worker's hand-off (op says which:
                           a STORE_OP_* of storethr.h) */
    MBOX_HISTORY        /* the history thread's replay (hist) for
                           client `to` */
};

struct mbox_entry {
    enum mbox_kind kind;
    struct msg    *msg;         /* one reference, owned by the entry */
    uint64_t       seq;         /* global order of a broadcast */
    uint64_t       from;        /* sender excluded from a broadcast */
    uint64_t       to;          /* recipient of a direct message */
    int            worker;      /* recipient's worker (direct; hub use) */
    int            history;     /* broadcast: keep in the history ring */
    uint32_t       room;        /* broadcast, user: the room's id */
    int            announce;    /* broadcast: a join or leave, dropped
                                   in a room over announce-limit */
    struct worker_conf *conf;   /* MBOX_CONF: one reference, given away */
    int            result;      /* claim: a CLUSTER_CLAIM_* code; msg
                                   holds the nickname, NUL included */
    int            op;          /* store: a STORE_OP_* */
    int            oper;        /* store: a login's account is an
                                   operator */
    uint64_t       back;        /* store: the client waiting for an
                                   eviction, on worker back_worker */
    int            back_worker;
    struct hist_answer *hist;   /* MBOX_HISTORY: given away */
    struct msg    *wire;        /* outbox only: what to relay to the
                                   cluster, or NULL (one reference) */
};

struct mbox_vec {
    struct mbox_entry *v;
    size_t             len, cap;
};

struct mbox {
    pthread_mutex_t lock;
    struct mbox_vec in;         /* lock */
    int             efd;        /* eventfd; written by anyone */
};

void mbox_vec_push(struct mbox_vec *vec, const struct mbox_entry *e);
void mbox_vec_broadcast(struct mbox_vec *vec, struct msg *m, uint64_t from,
                        int history, struct msg *wire);
void mbox_vec_room(struct mbox_vec *vec, struct msg *m, uint64_t from,
                   uint32_t room, int history, struct msg *wire);
void mbox_vec_direct(struct mbox_vec *vec, struct msg *m, uint64_t to,
                     int worker);
void mbox_vec_free(struct mbox_vec *vec);
int  mbox_init(struct mbox *mb);
void mbox_destroy(struct mbox *mb);
void mbox_lock(struct mbox *mb);
void mbox_unlock(struct mbox *mb, int wake);
void mbox_wake(struct mbox *mb);
void mbox_post(struct mbox *mb, const struct mbox_entry *e);
void mbox_clear(struct mbox *mb);
void mbox_take(struct mbox *mb, struct mbox_vec *out);

#endif
