/*
 * store.h: where accounts, bans and mutes last: one interface, two
 * implementations chosen by configuration: SQLite in state-dir
 * (store_sqlite.c) or, clustered, the cluster's Redis (store_redis.c).
 * A store is used by one thread at a time: the store thread
 * (storethr.c) while chatd runs, main for --add-account.  Every call may
 * block (disk, network): never call one from a worker.
 */
#ifndef CHATD_STORE_H
#define CHATD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "bans.h"
#include "proto.h"

#define STORE_HASH_MAX 160          /* an encoded Argon2id hash, NUL */
#define STORE_VERSION  1            /* the schema this chatd writes */

struct store_account {
    char name[PROTO_NICK_MAX + 1];  /* as registered (case kept) */
    char hash[STORE_HASH_MAX];      /* Argon2id, encoded with its
                                       parameters and salt */
    int  oper;                      /* made with --oper */
};

/* How account_put() writes. */
enum store_put {
    STORE_CREATE,                   /* only if the name is free */
    STORE_REPLACE,                  /* create or overwrite all */
    STORE_PASSWORD                  /* only the hash, of an account */
};

/* Results of opening. */
enum store_open {
    STORE_OK = 0,
    STORE_UNUSABLE = -1,            /* cannot create or open: err says */
    STORE_FUTURE = -2               /* made by a newer chatd: refused */
};

struct store;

struct store_ops {
    /* 1 with *a filled, 0 if there is no such account, -1 on error. */
    int  (*account_get)(struct store *st, const char *name,
                        struct store_account *a);
    /* 1 written, 0 not (STORE_CREATE: taken; STORE_PASSWORD: no such
     * account), -1 on error. */
    int  (*account_put)(struct store *st, const struct store_account *a,
                        enum store_put how);
    /* 0 with b->id set, or -1. */
    int  (*ban_add)(struct store *st, struct ban *b);
    int  (*ban_del)(struct store *st, int64_t id);
    int  (*mute_set)(struct store *st, const struct mute *m);
    int  (*mute_del)(struct store *st, const char *name);
    /* Call fn for each ban and mute in force at now; 0 or -1. */
    int  (*load)(struct store *st, int64_t now,
                 void (*ban)(const struct ban *b),
                 void (*mute)(const struct mute *m));
    void (*close)(struct store *st);
    /* NULL for a store only this node writes; else 1 if the bans or
     * mutes changed (on any node) since the last call, 0 if not, -1 on
     * error: the store thread polls it and loads them again. */
    int  (*changed)(struct store *st);
};

struct store {
    const struct store_ops *ops;
    char err[256];                  /* the last error, for the log */
};

int store_sqlite_open(const char *dir, struct store **out, char *err,
                      size_t errlen);
int store_sqlite_path(const char *dir, const char *file, char *path,
                      size_t pathlen, char *err, size_t errlen);
int store_redis_open(const char *url, const char *prefix,
                     struct store **out, char *err, size_t errlen);

#endif
