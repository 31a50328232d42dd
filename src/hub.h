/*
 * hub.h: the registry of connected users and the broadcast hub, the one
 * piece of state all workers share.  Every function takes hub.lock and may
 * be called from any worker thread (hub_init/hub_destroy: main thread, with
 * no worker running) and from the cluster thread.  Lock order: hub.lock,
 * then cl.lock (cluster.c), then an mbox lock.
 */
#ifndef CHATD_HUB_H
#define CHATD_HUB_H

#include <stddef.h>
#include <stdint.h>

#include "mbox.h"
#include "proto.h"

struct msg;
struct hub_user;
struct worker_conf;

/* What a joining client is told. */
struct hub_welcome {
    char          nick[PROTO_NICK_MAX + 1];
    uint64_t      join_seq;     /* first broadcast it receives */
    size_t        online;       /* users connected, itself included */
    struct msg  **history;      /* references, oldest first; caller frees */
    size_t        nhistory;
    const char   *refused;      /* why hub_join() said no: the error */
};

void hub_init(int nworkers, long max_clients, long history);
void hub_destroy(void);
void hub_set_limits(long max_clients);
struct mbox *hub_mbox(int worker);

struct hub_user *hub_join(uint64_t id, int worker, struct hub_welcome *w,
                          struct mbox_vec *outbox);
void hub_leave(struct hub_user *u, const char *reason,
               struct mbox_vec *outbox);
int  hub_nick(struct hub_user *u, const char *nick, char *old,
              struct mbox_vec *outbox, const char **why);
int  hub_lookup(const char *nick, uint64_t *id, int *worker, char *real);
void hub_guest_name(char *nick);
void hub_who(void (*emit)(void *arg, const char *line), void *arg);
size_t hub_count(void);
void hub_publish(struct mbox_vec *outbox, int self);
void hub_shutdown(void);
void hub_post_conf(struct worker_conf *conf);

void hub_outbox_broadcast(struct mbox_vec *outbox, struct msg *m,
                          uint64_t from, int history);
void hub_outbox_relay(struct mbox_vec *outbox, struct msg *m, uint64_t from,
                      int history, struct msg *wire);

/* Clustering (cluster.c). */
void hub_set_cluster(int (*relay)(struct mbox_vec *v), const char *tag);
struct msg *hub_wire(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
void hub_inject(struct mbox_vec *v);
void hub_inject_with(void (*fn)(void *arg, struct mbox_vec *v), void *arg,
                     struct mbox_vec *v);
void hub_post(const struct mbox_entry *e);
void hub_each(void (*fn)(void *arg, const char *nick), void *arg);
void hub_who_total(void (*emit)(void *arg, const char *line), void *arg,
                   size_t extra);
void hub_outbox_direct(struct mbox_vec *outbox, struct msg *m, uint64_t to,
                       int worker);

#endif
