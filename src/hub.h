/*
 * hub.h: the registry of connected users and the ordering point of every
 * broadcast.  Every function takes hub.lock and may be called from any
 * worker thread and from the cluster thread, unless it says otherwise.
 * Lock order: hub.lock, then the cluster's locks, then an mbox lock.
 */
#ifndef CHATD_HUB_H
#define CHATD_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "mbox.h"
#include "proto.h"

struct hub_user;

/* Room defaults (the keys default-room, max-rooms, max-joins,
 * announce-limit). */
#define HUB_DEFAULT_ROOM    "#lobby"
#define HUB_MAX_ROOMS       1000
#define HUB_MAX_JOINS       20
#define HUB_JOINS_MAX       100         /* the most max-joins may be */
#define HUB_ANNOUNCE_LIMIT  200

/* What a joining client is told. */
struct hub_welcome {
    char          nick[PROTO_NICK_MAX + 1];
    uint32_t      room;         /* the default room, which it is in */
    char          room_name[PROTO_ROOM_MAX + 1];
    uint64_t      join_seq;     /* first broadcast it receives */
    size_t        online;       /* users connected, itself included */
    struct msg  **history;      /* references, oldest first; caller frees */
    int64_t      *history_times;    /* when each was sent; caller frees */
    size_t        nhistory;
    const char   *refused;      /* why hub_join() said no: the error */
};

/* A room, as a client is told of it. */
struct hub_joined {
    uint32_t      room;
    int           is_default;
    char          name[PROTO_ROOM_MAX + 1];
    char          topic[PROTO_TOPIC_MAX + 1];
    size_t        members;
    uint64_t      join_seq;     /* /join: first broadcast it receives */
    struct msg  **history;      /* /join: references; caller frees */
    int64_t      *history_times;    /* /join: their times; caller frees */
    size_t        nhistory;
};

/* The prefix of a room's lines: none for the default room. */
#define HUB_PREFIX(j) ((j)->is_default ? NULL : (j)->name)

/* The rooms a user's news goes to. */
struct hub_news {
    uint32_t      rooms[HUB_JOINS_MAX];
    size_t        n;
    int           leave;        /* a leave: rooms over announce-limit
                                   hear nothing; a new name: all hear */
};

struct hub_rooms_conf {
    const char   *deflt;        /* default-room */
    const char   *permanent;    /* rooms: space-separated, or NULL */
    long          max_rooms, max_joins, announce_limit, history;
};

/* Setup and teardown: main thread (hub_attach(): worker_start()). */
void hub_init(int nworkers, long max_clients, long history);
void hub_attach(int worker, struct mbox *mb);
void hub_destroy(void);
void hub_set_limits(long max_clients);
void hub_shutdown(void);
int  hub_set_rooms(const struct hub_rooms_conf *c, char *err,
                   size_t errlen);

/* Users: the worker that owns the user's client. */
struct hub_user *hub_join(uint64_t id, int worker, struct hub_welcome *w,
                          struct mbox_vec *outbox);
void hub_leave(struct hub_user *u, const char *reason,
               struct mbox_vec *outbox);
int  hub_nick(struct hub_user *u, const char *nick, char *old,
              struct mbox_vec *outbox, const char **why);
void hub_say(struct hub_user *u, enum proto_kind kind, uint32_t room,
             const char *prefix, const char *text, struct mbox_vec *outbox);
int  hub_room_join(struct hub_user *u, const char *name,
                   struct hub_joined *j, struct mbox_vec *outbox,
                   const char **why);
int  hub_room_part(struct hub_user *u, uint32_t room, const char *reason,
                   struct mbox_vec *outbox);
int  hub_topic(struct hub_user *u, uint32_t room, const char *text,
               struct hub_joined *j, struct mbox_vec *outbox);
void hub_announce(struct mbox_vec *outbox, struct msg *m, uint64_t from,
                  uint32_t room, struct msg *wire);
void hub_publish(struct mbox_vec *outbox, int self);

/* Lookups: any thread. */
void   hub_guest_name(char *nick);
int    hub_lookup(const char *nick, uint64_t *id, int *worker, char *real);
size_t hub_count(void);
int    hub_room_find(const char *name, struct hub_joined *j);
int    hub_room_history(uint32_t room, size_t max, struct hub_joined *j);
int    hub_room_who_page(uint32_t room, uint64_t *after, size_t max,
                         void (*add)(void *arg, const char *nick),
                         void *arg);
int    hub_rooms_page(uint32_t *after, size_t max,
                      void (*add)(void *arg, const struct hub_joined *j),
                      void *arg);
size_t hub_rooms(void);

/*
 * The cluster's interface to the hub (cluster.c only).  relay() takes
 * from v the broadcasts it sends to the other nodes (they come back
 * through hub_inject()) and returns how many; guest() gives the next
 * guest number unique in the cluster, or 0 for none.  room() is told
 * when a room other than the default one gets its first member here
 * (want 1; topic, PROTO_TOPIC_MAX + 1 bytes, gets the topic the other
 * nodes know, or "") and loses its last (want 0; topic NULL); members()
 * counts a room's members on the other nodes.  All run with hub.lock
 * held and must not call back into the hub.
 */
struct hub_relay {
    int      (*relay)(struct mbox_vec *v);
    uint64_t (*guest)(void);
    void     (*room)(const char *name, uint32_t id, int want,
                     char *topic);
    size_t   (*members)(const char *name);
};

void hub_set_relay(const struct hub_relay *r);
void hub_inject(struct mbox_vec *v,
                void (*fill)(void *arg, struct mbox_vec *v), void *arg);
void hub_each(void (*fn)(void *arg, const char *nick), void *arg);
void hub_each_room(void (*fn)(void *arg, const struct hub_joined *j,
                              const char *nick), void *arg);
void hub_default_room(char name[PROTO_ROOM_MAX + 1]);
int  hub_room_set_topic(uint32_t room, const char *topic, int if_none);
void hub_post(const struct mbox_entry *e);
uint64_t hub_seq(void);

#endif
