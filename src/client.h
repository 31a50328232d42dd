/*
 * client.h: one connection.  A struct client is created, used, closed and
 * freed by the worker thread that owns it and by no other thread; other
 * threads reach a client only through the hub, by id.
 */
#ifndef CHATD_CLIENT_H
#define CHATD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "linebuf.h"
#include "net.h"
#include "proto.h"

struct feed;
struct hub_user;
struct wmember;
struct msg;
struct sendlog;
struct sendlog_entry;
struct transport;

struct client {
    uint64_t          id;           /* unique for the server's life */
    int               fd;           /* the transport's socket */
    struct transport *tp;           /* moves its bytes (transport.h) */
    struct hub_user  *user;         /* registry entry; NULL until joined */
    char              nick[PROTO_NICK_MAX + 1];
    char              addr[NET_ADDRSTRLEN];
    struct linebuf    in;           /* input framing */

    /* Output: first the replies, the server's lines for this client
     * alone, in a ring of references; then, from a cursor into the
     * worker's sendlog, broadcasts and other users' private lines. */
    struct msg      **rq;           /* replies, oldest at rq_head */
    size_t            rq_cap, rq_head, rq_len;
    uint32_t          rq_off;       /* bytes of the oldest already sent */
    uint64_t          rq_bytes;     /* bytes of the replies queued */
    struct feed      *feed;         /* a long reply still being made */
    uint64_t          cur;          /* next entry to send */
    uint32_t          off;          /* bytes of entry cur already sent */
    uint64_t          join_seq;     /* first broadcast it receives */
    uint64_t          owed;         /* bytes of log lines counted for it
                                       (its rooms', its private ones),
                                       not passed yet */
    uint64_t          stamp;        /* the last user news it was given */
    struct wmember  **rooms;        /* its rooms, in join order */
    size_t            nrooms, caprooms;
    int               current;      /* index in rooms, or -1: none */

    /* Flood control: a token bucket. */
    double            tokens;
    int64_t           refill_ms;    /* when tokens were last refilled */
    int64_t           wake_ms;      /* throttled: when a token is due */

    unsigned          events;       /* epoll events registered */
    unsigned          reading:1;    /* wants EPOLLIN */
    unsigned          blocked:1;    /* socket full: waits for EPOLLOUT */
    unsigned          throttled:1;  /* out of tokens */
    unsigned          dirty:1;      /* on the worker's flush list */
    unsigned          claiming:1;   /* waits for the cluster's answer to
                                       /nick; reads nothing meanwhile */
    unsigned          storing:1;    /* waits for the store thread's
                                       answer (/login, /nick...) */
    unsigned          oper:1;       /* logged in to an operator account */
    unsigned          replay_wait:1;/* waits for the history thread's
                                       replay; reads nothing meanwhile */
    unsigned          replaying:1;  /* a replay is on its way: no live
                                       lines until its frame is sent */
    uint64_t          replay_id;    /* the replay waited for */
    int64_t           replay_due;   /* clock_ms(): then it gives up */
    struct client    *rprev, *rnext;/* the worker's waiting list */
    char              account[PROTO_NICK_MAX + 1];  /* logged in to, or
                                       "" */
    const char       *closing;      /* reason, once marked for close */
    char              reason[96];   /* storage for a built reason */

    struct client    *prev, *next;  /* the worker's clients */
    struct client    *hnext;        /* id hash chain */
    struct client    *tprev, *tnext;/* throttled list */
    struct client    *dnext;        /* flush list, or close list */
};

struct client *client_new(struct transport *tp, uint64_t id,
                          size_t max_line);
void     client_free(struct client *c);
void     client_reply(struct client *c, struct msg *m);
int      client_flush(struct client *c, struct sendlog *log,
                      uint64_t *lines, uint64_t *bytes);
void     client_pass_all(struct client *c, struct sendlog *log);
uint64_t client_backlog(struct client *c, struct sendlog *log);
uint64_t client_pinned(struct client *c, struct sendlog *log);
void     client_count(struct client *c, struct sendlog_entry *e);
void     client_release_room(struct client *c, struct sendlog *log,
                             uint32_t room, uint64_t join_seq);
int      client_take_token(struct client *c, int64_t now_ms, long rate,
                           long burst);

#endif
