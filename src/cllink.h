/*
 * cllink.h: the cluster's link to Redis (hiredis): a subscriber context
 * and one for commands, opened with a timeout and AUTH; SUBSCRIBE and
 * reading what the channel brings; the command pipeline (append many,
 * then read their replies in order); and the node-name claim.
 *
 * A struct cllink belongs to one thread (the cluster thread; at start,
 * the main thread's one-off check).  No locks; every call may block for
 * up to CLLINK_TIMEOUT_S seconds on the network.
 */
#ifndef CHATD_CLLINK_H
#define CHATD_CLLINK_H

#include <stddef.h>
#include <stdint.h>

#include "clwire.h"

#define CLLINK_TIMEOUT_S    2       /* connect and command timeout */
/* A channel's name: CHANNEL, CHANNEL:rooms or CHANNEL:room:#FOLD. */
#define CLLINK_CHAN_MAX     (CLWIRE_NAME_MAX + PROTO_ROOM_MAX + 8)

struct redisContext;

struct cllink {
    struct clwire_url    url;
    char                 channel[CLWIRE_NAME_MAX + 1];  /* v1's */
    char                 rooms[CLLINK_CHAN_MAX + 1];    /* CHANNEL:rooms */
    struct redisContext *pub;       /* commands, pipelined */
    struct redisContext *sub;       /* SUBSCRIBE channel */
};

/* One reply of the pipeline. */
struct cllink_reply {
    int         integer_ok;         /* it was an integer: */
    long long   integer;
    char        err[160];           /* else what it was */
};

/* What cllink_read() reports for a channel. */
enum cllink_event {
    CLLINK_MESSAGE,                 /* data, len: a message on it */
    CLLINK_SUBSCRIBED,              /* SUBSCRIBE confirmed */
    CLLINK_UNSUBSCRIBED,            /* UNSUBSCRIBE confirmed */
    CLLINK_REFUSED                  /* data, len: an error (an ACL?) */
};

typedef void cllink_message_fn(void *arg, enum cllink_event ev,
                               const char *channel, const char *data,
                               size_t len);

int  cllink_connect(const struct cllink *l, struct redisContext **out,
                    char *err, size_t errlen);
int  cllink_open(struct cllink *l, char *err, size_t errlen);
void cllink_close(struct cllink *l);
int  cllink_fd(const struct cllink *l);
int  cllink_read(struct cllink *l, cllink_message_fn *fn, void *arg,
                 char *err, size_t errlen);
int  cllink_publish(struct cllink *l, const char *data, size_t len);
int  cllink_publish_to(struct cllink *l, const char *channel,
                       const char *data, size_t len);
int  cllink_subscribe(struct cllink *l, const char *channel, int on,
                      char *err, size_t errlen);
int  cllink_eval(struct cllink *l, const char *script, const char *key,
                 const char *arg1, const char *arg2);
int  cllink_reply(struct cllink *l, struct cllink_reply *r);
const char *cllink_error(const struct cllink *l);
int  cllink_append_claim_node(struct cllink *l, const char *key,
                              uint64_t run, long ttl_ms);
long long cllink_incrby_now(struct redisContext *c, const char *key,
                            long long n, char *err, size_t errlen);
void cllink_free_context(struct redisContext *c);
long long cllink_claim_node(struct redisContext *c, const char *key,
                            uint64_t run, long ttl_ms, char *err,
                            size_t errlen);

#endif
