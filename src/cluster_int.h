/*
 * cluster_int.h: what cluster.c (the worker-facing API, the outgoing
 * queue, guest numbers, start and stop) and clthread.c (the cluster
 * thread: the link's life, the pipeline, heartbeats, receiving) share.
 * Private to those two files.
 *
 * Which lock guards what is said by each field of struct cl_state:
 * "fixed" fields are set by cluster_start() before the thread starts;
 * "lock" fields are guarded by cl.lock; "thread" fields belong to the
 * cluster thread.  Lock order: hub.lock, then cl.lock, then mbox.lock; no
 * lock is held across a Redis call.
 */
#ifndef CHATD_CLUSTER_INT_H
#define CHATD_CLUSTER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cllink.h"
#include "clnodes.h"
#include "cluster.h"
#include "mbox.h"

#define CL_TICK_MS          100     /* timer resolution */
#define CL_BACKOFF_MIN_MS   250
#define CL_BACKOFF_MAX_MS   4000
#define CL_NICK_TTL_S       30      /* expiry of a nickname key */
#define CL_NICK_REFRESH_MS  10000
#define CL_CHUNK            8000    /* roster bytes per message */
#define CL_OUT_WARN_MS      30000   /* "name in use" warnings, at most */
#define CL_GUEST_BLOCK      1000    /* guest numbers taken at a time */
/* Guest numbers made up here when no block is at hand: above any block
 * (2^40), 2^20 of them per node in a slot picked by its run id. */
#define CL_GUEST_LOCAL      (UINT64_C(1) << 40)

enum item_kind {
    ITEM_BCAST,         /* a broadcast to relay; in flight until its echo */
    ITEM_RAW,           /* a message to publish: roster, private, quit */
    ITEM_CLAIM,         /* a client asks for a nickname */
    ITEM_REFRESH,       /* keep a local user's nickname key */
    ITEM_RELEASE,       /* delete a nickname key if `owner` has it */
    ITEM_NODE,          /* keep this node's name key */
    ITEM_UNNODE,        /* delete it (stopping) */
    ITEM_GUESTS         /* take a block of guest numbers */
};

struct cl_room;

struct cl_item {
    struct cl_item *next;
    enum item_kind  kind;
    int             sent;       /* a command is waiting for its reply */
    int             result;     /* claim: CLUSTER_CLAIM_* once answered */
    int             answered;
    uint64_t        seq;        /* BCAST, RAW */
    struct msg     *wire;       /* BCAST, RAW: body (clwire.h) */
    struct msg     *line;       /* BCAST: the line for local clients */
    uint64_t        from;       /* BCAST: sender, excluded */
    int             history;    /* BCAST */
    uint32_t        room;       /* BCAST: its room (mbox.h) */
    uint32_t       *rooms;      /* BCAST: news of a user for these rooms
                                   (MBOX_USER entries), nrooms of them */
    size_t          nrooms;
    struct cl_room *croom;      /* BCAST, RAW: on this room's channel */
    int             dir;        /* BCAST, RAW: on CHANNEL:rooms */
    int             nowait;     /* BCAST: no echo will come (its room has
                                   nobody here): delivered when sent */
    int             announce;   /* BCAST: a join or leave */
    uint64_t        client;     /* CLAIM */
    int             worker;     /* CLAIM */
    char            nick[PROTO_NICK_MAX + 1];
    char            owner[CLWIRE_NAME_MAX + 1];     /* RELEASE */
};

/*
 * A room this node has (or had) members in, and its channel.  The hub
 * sets `want` (members here or not) through cluster_room(); the thread
 * subscribes while it is set and unsubscribes when it is not and nothing
 * of the room is queued, held or in flight (refs).  Until the room's
 * SUBSCRIBE is confirmed its broadcasts wait in `held` (their echo would
 * never come), in their order; other rooms' go on.
 */
struct cl_room {
    struct cl_room *hnext;                      /* lock: the table */
    char            fold[PROTO_ROOM_MAX + 1];   /* fixed */
    char            name[PROTO_ROOM_MAX + 1];   /* lock: as shown here */
    char            chan[CLLINK_CHAN_MAX + 1];  /* fixed */
    uint32_t        id;                         /* lock: local room id */
    int             want;                       /* lock */
    uint64_t        seq;                        /* lock: its channel's */
    struct cl_item *held, **held_tail;          /* lock */
    int             refs;                       /* lock: items for it */
    int             sub;        /* lock: last sent: 1 SUBSCRIBE */
    int             pending;    /* lock: sent, not yet confirmed */
};

#define CL_ROOM_BUCKETS 256

/* Guest numbers: the block in use [next, end] and the one fetched next. */
struct cl_guests {
    uint64_t        next, end;
    uint64_t        spare_next, spare_end;  /* 0: none yet */
    int             asked;                  /* an ITEM_GUESTS is out */
    uint64_t        local;                  /* made up here so far */
};

struct cl_state {
    int             enabled;            /* fixed */
    char            node[CLWIRE_NAME_MAX + 1];      /* fixed */
    char            nodekey[2 * CLWIRE_NAME_MAX + 8];   /* fixed */
    char            guestkey[CLWIRE_NAME_MAX + 8];      /* fixed */
    char            where[300];         /* fixed: redis://HOST:PORT */
    uint64_t        run;                /* fixed */
    int64_t         timeout_ms, hb_ms, node_ttl_ms;     /* fixed */
    pthread_t       thread;             /* fixed */
    int             efd;                /* fixed: wakes the thread */

    pthread_mutex_t lock;
    int             up;                 /* lock: relay broadcasts */
    int             stopping;           /* lock */
    struct cl_item *outq, **outq_tail;  /* lock */
    uint64_t        seq;                /* lock: last number given */
    uint64_t        dir_seq;            /* lock: CHANNEL:rooms's */
    struct cl_room *rooms[CL_ROOM_BUCKETS];     /* lock */
    char            deflt[PROTO_ROOM_MAX + 1];  /* fixed: default room,
                                                   folded */
    struct clnodes  nodes;              /* lock; written by the thread */
    struct cl_guests guests;            /* lock */

    atomic_int      link;               /* == up, for quick looks */
    atomic_int      told_down;          /* clients were told "down" */
    atomic_ulong    relay_out, relay_in, dropped, reconnects, conflicts,
                    foreign;

    struct cllink   redis;              /* thread (url, channel: fixed) */
    int             ever_up, fails;     /* thread */
    int64_t         next_try, backoff, next_hb, next_refresh;   /* thread */
    int64_t         last_rx, up_since, warn_ms, out_warn_ms;    /* thread */
    int             name_lost;          /* thread: our name key is not
                                           ours: take the link down */
    uint64_t        echo_seq;           /* thread: last own message back */
    struct cl_item *infl, **infl_tail;  /* thread: awaiting their echo */
    char           *buf;                /* thread: CLWIRE_MAX + 1 */
};

extern struct cl_state cl;

/* cluster.c: the outgoing queue (lock: cl.lock where it says so). */
struct cl_item *cl_item_new(enum item_kind kind);
void cl_item_free(struct cl_item *it);
void cl_enqueue_locked(struct cl_item *it);
int  cl_enqueue_raw(struct msg *wire);
void cl_release_locked(const char *nick, const char *owner);
void cl_guests_got_locked(long long end);
uint64_t cl_guests_floor(void);
uint64_t cluster_guest(void);
void cl_guests_link_up(void);
void cl_heartbeat(void);
void cl_refresh_nicks(void);
void cl_goodbye(void);

int  cl_enqueue_dir(struct msg *wire);

/* clrooms.c: rooms.  cl.lock held: */
struct cl_room *cl_room_find(const char *fold);
struct cl_room *cl_room_get(const char *fold);
void cl_room_unref(struct cl_room *r);
void cl_room_gc(void);
void cl_room_free_all(void);
size_t cl_room_channels(void);
void cl_room_channel(struct cl_item *it);
uint32_t cl_room_local_id(void *arg, const char *fold,
                          char name[PROTO_ROOM_MAX + 1]);
struct cl_item *cl_room_hold_back(struct cl_item *list);
struct cl_item *cl_room_unhold_all(void);
/* ... the hub's hooks (hub.lock held; they take cl.lock): */
void   cl_room_hook(const char *name, uint32_t id, int want, char *topic);
size_t cl_room_members(const char *name);
/* ... the cluster thread (no lock held): */
void cl_heartbeat_rooms(void);
void cl_room_confirmed(const char *chan);
int  cl_rooms_sync(char *err, size_t errlen);

/* The channels a message may come on. */
enum cl_chan { CL_CHAN_MAIN, CL_CHAN_DIR, CL_CHAN_ROOM, CL_CHAN_OTHER };
enum cl_chan cl_chan_kind(const char *chan, const char **fold);

/* clthread.c: the cluster thread. */
void *cl_thread_main(void *arg);

#endif
