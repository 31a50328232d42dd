/*
 * cluster.h: scale-out through Redis pub/sub (cluster.c, clthread.c).
 * One cluster thread owns the Redis link; workers and the hub call the
 * functions below, which never block on the network.  cluster_start(),
 * cluster_run() and cluster_stop(): main thread only.
 */
#ifndef CHATD_CLUSTER_H
#define CHATD_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "clwire.h"

/* Told to clients when the link goes down, and when it is back. */
#define CLUSTER_DOWN_TEXT \
    "cluster link down: only users on this server can see your messages"
#define CLUSTER_BACK_TEXT \
    "cluster link is back: users on every server can see your messages"

/* Answers to cluster_claim(), in a MBOX_CLAIM entry's result. */
enum {
    CLUSTER_CLAIM_OK,           /* the nickname is this node's */
    CLUSTER_CLAIM_TAKEN,        /* another node has it */
    CLUSTER_CLAIM_DOWN,         /* the link went down: try again later */
    CLUSTER_CLAIM_LOST          /* a name in use here turned out to be
                                   another node's (after a split): the
                                   local user must give it up */
};

struct cluster_conf {
    const char *url;            /* redis://[[USER]:PASSWORD@]HOST[:PORT] */
    const char *node;           /* this node's name; NULL: HOSTNAME:PORT */
    int         port;           /* the port chatd listens on */
    const char *channel;        /* Redis channel; key prefix */
    long        timeout;        /* seconds without news: a node is gone */
};

int    cluster_check_conf(const struct cluster_conf *conf, char *err,
                          size_t errlen);
int    cluster_start(const struct cluster_conf *conf, char *err,
                     size_t errlen);
void   cluster_run(void);
void   cluster_stop(void);
int    cluster_enabled(void);
int    cluster_link_up(void);
void   cluster_told_down(void);
int    cluster_claim(const char *nick, uint64_t client, int worker);
void   cluster_release(const char *nick);
int    cluster_lookup(const char *nick, char *real, char *node,
                      size_t nodelen);
int    cluster_private(const char *from, const char *to, const char *node,
                       const char *text);
size_t cluster_remote_count(void);
int    cluster_who_page(size_t *node, size_t *pos, size_t max,
                        void (*add)(void *arg, const char *nick),
                        void *arg);
void   cluster_stats(char *buf, size_t len);

/* The cluster's numbers for /metrics; any thread. */
struct cluster_metrics {
    int           enabled;      /* --cluster given */
    int           link_up;
    size_t        nodes;        /* this one included */
    unsigned long relay_out, relay_in, gaps, dropped, reconnects;
};
void   cluster_metrics(struct cluster_metrics *m);

#endif
