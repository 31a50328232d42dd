/*
 * hub_int.h: the hub's state, private to the hub (hub.c: the registry
 * and publishing; hubroom.c: what users do with rooms).  Every field is
 * guarded by hub.lock unless it says it is fixed once the workers run.
 */
#ifndef CHATD_HUB_INT_H
#define CHATD_HUB_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "rooms.h"

struct hub_user {
    uint64_t             id;
    int                  worker;
    char                 nick[PROTO_NICK_MAX + 1];
    struct room_member **rooms;         /* in join order */
    size_t               nrooms, caprooms;
    struct hub_user     *hnext;         /* by nick */
    struct hub_user     *prev, *next;   /* join order */
};

struct hub_state {
    pthread_mutex_t    lock;
    struct mbox      **mboxes;          /* fixed once the workers run */
    int                nworkers;        /* fixed after init */
    struct hub_relay   relay;           /* fixed once the workers run */
    struct hub_user  **buckets;         /* by folded nick */
    size_t             nbuckets;
    size_t             count;
    struct hub_user   *first, *last;
    long               max_clients;
    long               max_joins;       /* fixed once the workers run */
    long               announce_limit;  /* fixed once the workers run */
    uint64_t           seq;             /* next broadcast's number */
    uint64_t           guest;           /* last guest number */
    int                stopping;
};

extern struct hub_state hub;

/* The form of a broadcast for the other nodes: NULL without a cluster. */
#define WIRE(expr) (hub.relay.relay != NULL ? (expr) : NULL)

size_t hub_room_size(struct room *r);
struct room_member *hub_member_of(struct hub_user *u, uint32_t room);
void hub_add_member(struct hub_user *u, struct room *r);
void hub_drop_member(struct hub_user *u, size_t i);
void hub_collect_news(struct hub_user *u, struct hub_news *news, int leave);
void hub_user_news(struct hub_user *u, const struct hub_news *news,
                   struct msg *m, struct msg *wire, struct mbox_vec *outbox);

#endif
