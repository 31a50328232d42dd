/*
 * storethr.h: the store thread: the only user of the store (store.h)
 * while chatd runs, and where passwords are hashed and verified.
 * Workers post requests (storethr_post(), which never blocks on the
 * store) and carry on; the answer comes back to the asking worker's
 * mailbox as an MBOX_STORE entry for the client (see acctcmd.c).  A
 * failed login makes the next requests from that address wait, doubling
 * per failure: the store thread answers them later, no worker waits.
 * Lock: storethr.lock (its queue), never held with another lock.
 */
#ifndef CHATD_STORETHR_H
#define CHATD_STORETHR_H

#include <stddef.h>
#include <stdint.h>

#include "acctrule.h"
#include "bans.h"
#include "net.h"
#include "proto.h"

struct store;

/* What a request asks, and what an MBOX_STORE entry answers. */
enum store_op {
    STORE_OP_REGISTER,      /* name, pw: make an account */
    STORE_OP_LOGIN,         /* name, pw */
    STORE_OP_PASSWORD,      /* name, pw (old), pw2 (new) */
    STORE_OP_NICK,          /* name: registered? (for /nick) */
    STORE_OP_BAN,           /* ban */
    STORE_OP_UNBAN,         /* ban.id */
    STORE_OP_MUTE,          /* mute; name: the nick as typed */
    STORE_OP_UNMUTE,        /* mute.name */
    /* Between workers only, never to the store thread: */
    STORE_OP_BANNED,        /* a new ban: close whom it covers */
    STORE_OP_EVICT,         /* to: give up name, from: wants it */
    STORE_OP_TAKE,          /* to: name is free now, take it */
    STORE_OP_KICK           /* to: closed by an operator; msg: why */
};

/* Answers' result codes. */
enum store_result {
    STORE_R_OK,             /* done; msg: the account's name (login,
                               register) or a notice's text */
    STORE_R_NO,             /* refused; msg: the error's text */
    STORE_R_FREE,           /* STORE_OP_NICK: not registered */
    STORE_R_TAKEN           /* STORE_OP_NICK: registered */
};

struct store_req {
    enum store_op     op;
    uint64_t          client;       /* who asked */
    int               worker;       /* its worker */
    char              name[PROTO_NICK_MAX + 1];
    char              addr[NET_ADDRSTRLEN];     /* its peer address */
    char              pw[ACCT_PASSWORD_MAX + 1];
    char              pw2[ACCT_PASSWORD_MAX + 1];
    struct ban        ban;
    struct mute       mute;
    char              what[96];     /* ban: how long; unban: what the
                                       ban covered */
    int64_t           due;          /* clock_ms(): not before */
    struct store_req *next;
};

struct storethr_conf {
    int         workers;            /* how many mailboxes to tell */
    long        login_delay;        /* ms after a failed login */
    const char *opers;              /* space-separated names, or NULL */
    const char *registration;       /* "open" or "closed" */
};

/* Main thread. */
int  storethr_start(struct store *st, const struct storethr_conf *c);
void storethr_stop(void);

/* Any thread. */
int  storethr_enabled(void);
int  storethr_registration_open(void);
struct store_req *storethr_req(enum store_op op, uint64_t client,
                               int worker, const char *addr);
void storethr_post(struct store_req *r);
void storethr_free(struct store_req *r);

#endif
