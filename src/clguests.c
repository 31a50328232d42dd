/*
 * clguests.c: guest numbers unique across the cluster (part of the
 * cluster: cluster_int.h).  Numbers come from Redis in blocks (the
 * cluster thread asks, ITEM_GUESTS); the hub takes one per guest with
 * hub.lock held (cluster_guest(), the relay's guest()), under cl.lock.
 * See chatd(8) CLUSTER for the numbering and its fallback.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "cluster_int.h"

/* A block of guest numbers ending at `end` came from Redis; cl.lock. */
void
cl_guests_got_locked(long long end)
{
    struct cl_guests *g = &cl.guests;

    g->asked = 0;
    if (end < CL_GUEST_BLOCK || (uint64_t)end >= CL_GUEST_LOCAL)
        return;                     /* not ours to use: keep local ones */
    if (g->next > g->end) {
        g->next = (uint64_t)end - CL_GUEST_BLOCK + 1;
        g->end = (uint64_t)end;
    } else {
        g->spare_next = (uint64_t)end - CL_GUEST_BLOCK + 1;
        g->spare_end = (uint64_t)end;
    }
}

/*
 * The highest guest number this node holds from Redis, so that a Redis
 * that lost its data (restarted without it) never hands it out again:
 * the next block is asked for above it.  Cluster thread.
 */
uint64_t
cl_guests_floor(void)
{
    uint64_t end;

    pthread_mutex_lock(&cl.lock);
    end = cl.guests.spare_end > cl.guests.end ? cl.guests.spare_end
                                              : cl.guests.end;
    pthread_mutex_unlock(&cl.lock);
    return end;
}

/* Ask for the next block unless one is coming or the link is down. */
static void
guests_ask_locked(void)
{
    if (cl.guests.asked || !cl.up)
        return;
    cl.guests.asked = 1;
    cl_enqueue_locked(cl_item_new(ITEM_GUESTS));
}

/*
 * The link is (back) up: ask for a block at once, which also raises
 * Redis's counter above what this node holds.  Cluster thread.
 */
void
cl_guests_link_up(void)
{
    pthread_mutex_lock(&cl.lock);
    cl.guests.asked = 0;
    guests_ask_locked();
    pthread_mutex_unlock(&cl.lock);
}

/* The next guest number (see CL_GUEST_LOCAL when none); cl.lock held. */
static uint64_t
guest_take_locked(void)
{
    struct cl_guests *g = &cl.guests;

    if (g->next > g->end && g->spare_end != 0) {
        g->next = g->spare_next;
        g->end = g->spare_end;
        g->spare_next = g->spare_end = 0;
    }
    if (g->next <= g->end) {
        if (g->spare_end == 0 && g->end - g->next < CL_GUEST_BLOCK / 2)
            guests_ask_locked();
        return g->next++;
    }
    guests_ask_locked();
    g->local = (g->local + 1) & ((UINT64_C(1) << 20) - 1);
    return CL_GUEST_LOCAL + ((cl.run >> 12 & ((UINT64_C(1) << 20) - 1))
                             << 20) + g->local;
}

/*
 * The hub's guest numbers, unique in the cluster: from the blocks handed
 * out by Redis, skipping any another node's roster has.  hub.lock held;
 * takes cl.lock, never blocks.
 */
uint64_t
cluster_guest(void)
{
    char nick[PROTO_NICK_MAX + 1], real[PROTO_NICK_MAX + 1];
    char node[CLWIRE_NAME_MAX + 1];
    uint64_t n;
    int tries = 0;

    pthread_mutex_lock(&cl.lock);
    do {
        n = guest_take_locked();
        snprintf(nick, sizeof(nick), "guest%llu", (unsigned long long)n);
    } while (clnodes_lookup(&cl.nodes, nick, real, node, sizeof(node)) == 0
             && ++tries < 1000);
    pthread_mutex_unlock(&cl.lock);
    return n;
}
