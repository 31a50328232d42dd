/*
 * clnodes.h: the table of the other nodes of the cluster, as this node
 * hears them on the channel: each node's run id, its last sequence number
 * (gaps, replays, restarts), its roster (assembled from heartbeat parts),
 * and the nodes lost by silence (announced again when they come back).
 *
 * Pure: no Redis, no hub, no locks, no globals.  What the clients must be
 * told (lines and notices) is appended to the caller's batch, in order;
 * the caller hands the batch to the hub.  The caller serializes access
 * (cluster.c: cl.lock guards the table; the cluster thread is the only
 * writer).
 */
#ifndef CHATD_CLNODES_H
#define CHATD_CLNODES_H

#include <stddef.h>
#include <stdint.h>

#include "clwire.h"
#include "mbox.h"
#include "roster.h"

#define CLNODES_MAX         256
#define CLNODES_REASON_MAX  100     /* bytes of a remote leave reason */
#define CLNODES_ROOMS_MAX   65536   /* rooms of one node */

/* A room another node has members in, as it tells (R, T, j, l). */
struct clroom {
    char            name[PROTO_ROOM_MAX + 1];   /* as that node shows it */
    char            fold[PROTO_ROOM_MAX + 1];
    char            topic[PROTO_TOPIC_MAX + 1]; /* its last T or t */
    struct roster   users;
};

/* The rooms of one node. */
struct clrooms {
    struct clroom  *v;
    size_t          n, cap;
};

struct clnode {
    char            name[CLWIRE_NAME_MAX + 1];
    uint64_t        run;
    uint64_t        last_seq;
    int64_t         heard_ms;
    struct roster   users;
    struct roster   pending;    /* roster parts still coming */
    int             returned;   /* was lost: announce its users again */
    struct clrooms  rooms;      /* its rooms but the default one */
    struct clrooms  prooms;     /* rooms' roster parts still coming */
};

/* The local id of the room folded `fold` (MBOX_ROOM_DEFAULT for the
 * default room), or 0 when this node has no members in it; its name as
 * shown here into name.  Called with the table's lock held. */
typedef uint32_t clnodes_room_fn(void *arg, const char *fold,
                                 char name[PROTO_ROOM_MAX + 1]);

/* A room of the cluster, for /rooms. */
struct clnodes_room {
    char            name[PROTO_ROOM_MAX + 1];
    char            topic[PROTO_TOPIC_MAX + 1];
    size_t          members;
};

struct clnodes {
    char            self[CLWIRE_NAME_MAX + 1];
    uint64_t        run;                /* this node's run */
    struct clnode  *v;
    size_t          n;
    char          (*lost)[CLWIRE_NAME_MAX + 1];  /* nodes timed out */
    size_t          nlost;
    uint64_t        gaps;               /* messages missed, all nodes */
    char           *clean;              /* sanitized text of the last */
    clnodes_room_fn *room_id;           /* NULL: no local rooms */
    void           *room_arg;
};

/* What clnodes_take() made of a message. */
enum clnodes_verdict {
    CLNODES_TAKEN,          /* another node's, in sequence (or after a
                               gap, counted): taken */
    CLNODES_REPLAY,         /* an old number, or the table is full */
    CLNODES_BAD,            /* a malformed roster part */
    CLNODES_OWN,            /* our own echo, this run: for the caller */
    CLNODES_FOREIGN         /* in our name from another run: dropped */
};

/* Called for each user of a node dropped by silence whose nickname key
 * may be deleted (clnodes_expire()). */
typedef void clnodes_release_fn(void *arg, const char *nick,
                                const char *node);

void   clnodes_init(struct clnodes *t, const char *self, uint64_t run);
void   clnodes_free(struct clnodes *t);
enum clnodes_verdict clnodes_take(struct clnodes *t, const struct clwire *m,
                                  int64_t now, struct mbox_vec *batch);
size_t clnodes_clean(struct clnodes *t, const struct clwire *m, size_t max);
size_t clnodes_expire(struct clnodes *t, int64_t now, int64_t timeout_ms,
                      struct mbox_vec *batch, clnodes_release_fn *release,
                      void *arg);
int    clnodes_lookup(const struct clnodes *t, const char *nick, char *real,
                      char *node, size_t nodelen);
size_t clnodes_users(const struct clnodes *t);
enum clnodes_verdict clnodes_take_room(struct clnodes *t,
                                       const struct clwire *m, int64_t now,
                                       struct mbox_vec *batch);
size_t clnodes_room_count(const struct clnodes *t, const char *fold);
int    clnodes_room_topic(const struct clnodes *t, const char *fold,
                          char topic[PROTO_TOPIC_MAX + 1]);
int    clnodes_room_who_page(const struct clnodes *t, const char *fold,
                             size_t *node, size_t *pos, size_t max,
                             void (*add)(void *arg, const char *nick),
                             void *arg);
size_t clnodes_rooms_page(const struct clnodes *t, size_t *cursor,
                          struct clnodes_room *out, size_t max);
int    clnodes_who_page(const struct clnodes *t, size_t *node, size_t *pos,
                        size_t max, void (*add)(void *arg, const char *nick),
                        void *arg);

#endif
