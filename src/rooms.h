/*
 * rooms.h: the hub's rooms (rooms.c): names, topics, members in join
 * order, members per worker, history.  Part of the hub: every function
 * is called with hub.lock held (hub.c), and no other file touches a
 * struct room's fields.
 *
 * Memory: a room costs about 200 bytes plus its history ring and one
 * counter per worker; a membership costs one struct room_member (about 64
 * bytes) on the hub's side and one on the worker's (wrooms.c).  Both are
 * bounded by max-rooms and max-joins.
 */
#ifndef CHATD_ROOMS_H
#define CHATD_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct hub_user;
struct msg;

struct room_member {
    struct hub_user    *user;
    struct room        *room;
    uint64_t            order;          /* join order in the room */
    struct room_member *prev, *next;    /* the room's members */
};

struct room {
    uint32_t            id;             /* never reused */
    char                name[PROTO_ROOM_MAX + 1];   /* as first written */
    char                fold[PROTO_ROOM_MAX + 1];
    char                topic[PROTO_TOPIC_MAX + 1];
    int                 permanent;      /* default-room or rooms = */
    size_t              count;          /* members */
    uint32_t           *per_worker;     /* members on each worker */
    struct room_member *first, *last;
    uint64_t            orders;         /* last member's order */
    struct msg        **hist;           /* ring of its public lines */
    int64_t            *hist_time;      /* when each was sent (UTC s) */
    size_t              hist_len, hist_next;
    struct room        *hnext, *inext;  /* by name, by id */
    struct room        *prev, *next;    /* creation order */
};

int  rooms_init(int nworkers, long history, long max_rooms,
                const char *deflt, const char *permanent, char *err,
                size_t errlen);
void rooms_destroy(void);
int  rooms_check_list(const char *list, char *err, size_t errlen);

struct room *rooms_default(void);
struct room *rooms_find(const char *name);
struct room *rooms_by_id(uint32_t id);
struct room *rooms_open(const char *name, const char **why);
size_t       rooms_count(void);
struct room_member *rooms_add(struct room *r, struct hub_user *u,
                              int worker);
void rooms_remove(struct room_member *m, int worker);
void rooms_remember(struct room *r, struct msg *m, int64_t when);
size_t rooms_history(struct room *r, size_t max, struct msg ***out,
                     int64_t **times);
struct room_member *rooms_member_after(struct room *r, uint64_t order);
struct room *rooms_after(uint32_t id);

#endif
