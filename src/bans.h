/*
 * bans.h: the bans and mutes in force, in memory: a read-mostly copy of
 * what the store holds, loaded by the store thread at start and changed
 * by it when an operator bans, unbans or mutes.  Workers consult it (at
 * welcome, on /nick and /login, on every public line for mutes) under a
 * read lock that no one holds across anything slow.  Lock: bans.lock
 * (a rwlock), never held with another lock.
 */
#ifndef CHATD_BANS_H
#define CHATD_BANS_H

#include <stddef.h>
#include <stdint.h>

#include "acctrule.h"
#include "proto.h"

struct ban {
    int64_t          id;            /* the store's number */
    char             name[PROTO_NICK_MAX + 1];  /* folded; "" if none */
    int              has_mask;
    struct acct_mask mask;
    int64_t          until;         /* Unix seconds; 0: permanent */
    char             reason[ACCT_REASON_MAX + 1];
    char             by[PROTO_NICK_MAX + 1];    /* the operator */
};

struct mute {
    char             name[PROTO_NICK_MAX + 1];  /* folded */
    int64_t          until;         /* 0: until unmuted */
};

/* Store thread (and main, before and after it runs). */
void   bans_clear(void);
void   bans_replace(struct ban *v, size_t n, struct mute *m, size_t nm);
void   bans_add(const struct ban *b);
size_t bans_remove(int64_t id);
void   mutes_set(const struct mute *m);
int    mutes_remove(const char *name);

/* Any thread. */
int    bans_match_addr(const uint8_t addr[16], int64_t now, struct ban *out);
int    bans_match_name(const char *nick, int64_t now, struct ban *out);
int    bans_match_peer(const char *peer, int64_t now, struct ban *out);
size_t bans_list(struct ban *out, size_t max, int64_t now);
int    bans_find(const char *target, struct ban *out);
int    mutes_check(const char *nick, int64_t now, int64_t *until);
void   ban_describe(const struct ban *b, char *out, size_t cap);

#endif
