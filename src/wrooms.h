/*
 * wrooms.h: a worker's rooms: for each room with members among its
 * clients, the list of those members, so that a room's line reaches its
 * members without walking the worker's other clients; and each client's
 * own memberships, in join order.  Owned by one worker thread; no locks.
 */
#ifndef CHATD_WROOMS_H
#define CHATD_WROOMS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct client;

struct wmember {
    struct client  *c;
    struct wroom   *room;
    uint32_t        id;             /* the room's (hub) id */
    int             is_default;
    char            name[PROTO_ROOM_MAX + 1];
    uint64_t        join_seq;       /* first broadcast it receives */
    struct wmember *prev, *next;    /* the room's members here */
};

struct wroom {
    uint32_t        id;
    size_t          n;
    struct wmember *first;
    struct wroom   *hnext;
};

struct wrooms {
    struct wroom  **b;
    size_t          cap;            /* power of two */
    size_t          n;
};

void wrooms_init(struct wrooms *set);
void wrooms_free(struct wrooms *set);
struct wroom *wrooms_find(const struct wrooms *set, uint32_t id);
struct wmember *wrooms_join(struct wrooms *set, struct client *c,
                            uint32_t id, const char *name, int is_default,
                            uint64_t join_seq);
void wrooms_leave(struct wrooms *set, struct client *c, size_t i);
struct wmember *wrooms_member(const struct client *c, uint32_t id);

#endif
